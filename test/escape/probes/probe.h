/* Shared helpers of the escape probes (test/escape). Convention:
 *   exit 0 + "ESCAPED: <what>"  the escape worked
 *   exit 1 + "BLOCKED: <how>"   every attempt failed
 *   exit 2 + "PROBE-ERROR: ..."  the probe itself is broken (the test fails)
 * A probe tries several routes; note() records why each failed, and the first success wins. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

static char probe_notes[4096];

__attribute__((format(printf, 1, 2), noreturn)) static void escaped(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ESCAPED: ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
  _exit(0);
}

__attribute__((format(printf, 1, 2), noreturn)) static void probe_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("PROBE-ERROR: ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
  _exit(2);
}

/* Records one failed route, e.g. note("open /etc/shadow: %s", strerror(errno)). */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...) {
  size_t len = strlen(probe_notes);
  if (len + 8 >= sizeof probe_notes) return;
  if (len) { strcat(probe_notes, "; "); len += 2; }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(probe_notes + len, sizeof probe_notes - len, fmt, ap);
  va_end(ap);
}

__attribute__((noreturn)) static void blocked(void) {
  printf("BLOCKED: %s\n", probe_notes[0] ? probe_notes : "(no route worked)");
  fflush(stdout);
  _exit(1);
}

__attribute__((unused)) static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

__attribute__((unused)) static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* Reads up to cap-1 bytes of a file into buf; returns bytes read or -1 (errno set). */
__attribute__((unused)) static ssize_t read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  int e = errno;
  close(fd);
  errno = e;
  if (n >= 0) buf[n] = 0;
  return n;
}

#define E strerror(errno)
