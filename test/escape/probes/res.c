/* Resource probes (red-team cases 11.1 #11-#14, docs/peers.md). Every loop is bounded: run unsandboxed, a probe stops
 * at its bound, cleans up and reports ESCAPED ("the bound was reached, nothing stopped it").
 *   res forkbomb N     hold N live processes at once (children die with the probe); the bound is the
 *                      count, not a clock: the line says how long this host took
 *   res memory MIB     allocate and touch MIB MiB
 *   res fds N          hold N open fds (raising the soft limit up to the hard one first)
 *   res fsize MIB      write a MIB MiB file in cwd (SIGXFSZ ignored, so EFBIG is visible)
 *   res tmpfs MIB      fill a fresh directory under /tmp with MIB MiB in 8 MiB files (removed again)
 *   res walltime SECS  ignore SIGTERM/SIGINT/SIGHUP and stay alive SECS seconds
 *   res cpuspin SECS   burn CPU for SECS seconds
 *   res core 1         raise RLIMIT_CORE to its hard limit: core dumps are possible when it is > 0 */
#include "probe.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static void mode_forkbomb(int n) {
  pid_t *kids = calloc((size_t)n, sizeof *kids);
  if (!kids) probe_error("calloc");
  int made = 0, err = 0;
  pid_t me = getpid();
  long start = now_ms();
  while (made < n) {
    pid_t c = fork();
    if (c < 0) { err = errno; break; }
    if (c == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != me) _exit(0);
      /* Park without waking up: children polling a clock (5000 of them, 10 times a second) ate
       * the CPU the parent needed to fork, so a slower host never reached the count. SIGALRM
       * ends a child that somehow outlives the probe after 60 s. */
      alarm(60);
      for (;;) pause();
    }
    kids[made++] = c;
  }
  for (int i = 0; i < made; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < made; i++) waitpid(kids[i], NULL, 0);
  if (made >= n) escaped("held %d processes at once (%ld ms)", n, now_ms() - start);
  errno = err;
  note("fork failed after %d processes (%ld ms): %s", made, now_ms() - start, E);
  blocked();
}

static void mode_memory(int mib) {
  long chunk = 16L << 20;
  int got = 0;
  while (got < mib) {
    char *p = mmap(NULL, (size_t)chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { note("mmap after %d MiB: %s", got, E); blocked(); }
    memset(p, 0x5a, (size_t)chunk);
    got += 16;
  }
  escaped("allocated and touched %d MiB", got);
}

static void mode_fds(int n) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)n + 16) {
    rl.rlim_cur = rl.rlim_max < (rlim_t)n + 16 ? rl.rlim_max : (rlim_t)n + 16;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int base = open("/dev/null", O_RDONLY);
  if (base < 0) probe_error("open /dev/null: %s", E);
  int held = 1;
  while (held < n) {
    if (dup(base) < 0) { note("dup failed with %d fds open (limit %lu): %s", held + 3, (unsigned long)rl.rlim_cur, E); blocked(); }
    held++;
  }
  escaped("held %d open fds", held);
}

static void mode_fsize(int mib) {
  signal(SIGXFSZ, SIG_IGN);
  char *buf = malloc(1 << 20);
  if (!buf) probe_error("malloc");
  memset(buf, 'x', 1 << 20);
  const char *path = "res-bigfile";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) probe_error("create %s: %s", path, E);
  for (int i = 0; i < mib; i++) {
    ssize_t w = write(fd, buf, 1 << 20);
    if (w != 1 << 20) { note("write failed at %d MiB: %s", i, w < 0 ? E : "short write"); close(fd); unlink(path); blocked(); }
  }
  close(fd);
  unlink(path);
  escaped("wrote a %d MiB file", mib);
}

static char fill_dir[128];
static int fill_files;

static void fill_cleanup(void) {
  char p[256];
  for (int i = 0; i < fill_files; i++) { snprintf(p, sizeof p, "%s/f%d", fill_dir, i); unlink(p); }
  rmdir(fill_dir);
}

static void mode_tmpfs(int mib) {
  signal(SIGXFSZ, SIG_IGN);
  snprintf(fill_dir, sizeof fill_dir, "/tmp/nemoclaw-escape-fill-%d", getpid());
  if (mkdir(fill_dir, 0700) < 0) probe_error("mkdir %s: %s", fill_dir, E);
  char *buf = malloc(1 << 20);
  if (!buf) probe_error("malloc");
  memset(buf, 'f', 1 << 20);
  int written = 0;
  while (written < mib) {
    char p[256];
    snprintf(p, sizeof p, "%s/f%d", fill_dir, fill_files);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { note("create %s after %d MiB: %s", p, written, E); fill_cleanup(); blocked(); }
    fill_files++;
    for (int i = 0; i < 8 && written < mib; i++, written++)
      if (write(fd, buf, 1 << 20) != 1 << 20) { note("write after %d MiB: %s", written, E); close(fd); fill_cleanup(); blocked(); }
    close(fd);
  }
  fill_cleanup();
  escaped("stored %d MiB in /tmp", written);
}

static void mode_walltime(int secs) {
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  long end = now_ms() + secs * 1000L;
  while (now_ms() < end) sleep_ms(50);
  escaped("stayed alive for %d s while ignoring SIGTERM", secs);
}

static void mode_cpuspin(int secs) {
  volatile unsigned long x = 0;
  long end = now_ms() + secs * 1000L;
  while (now_ms() < end) for (int i = 0; i < 100000; i++) x += (unsigned long)i;
  escaped("burned CPU for %d s", secs);
}

static void mode_core(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_CORE, &rl);
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_CORE, &rl) < 0) note("setrlimit(RLIMIT_CORE): %s", E);
  getrlimit(RLIMIT_CORE, &rl);
  if (rl.rlim_cur > 0) escaped("core dumps enabled (RLIMIT_CORE soft %ld hard %ld)", (long)rl.rlim_cur, (long)rl.rlim_max);
  note("RLIMIT_CORE is 0 and cannot be raised (hard %ld)", (long)rl.rlim_max);
  blocked();
}

int main(int argc, char **argv) {
  if (argc < 3) probe_error("usage: res MODE N");
  const char *m = argv[1];
  int n = atoi(argv[2]);
  if (n <= 0 || n > 100000) probe_error("bound out of range: %s", argv[2]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(m, "forkbomb")) mode_forkbomb(n);
  if (!strcmp(m, "memory")) mode_memory(n);
  if (!strcmp(m, "fds")) mode_fds(n);
  if (!strcmp(m, "fsize")) mode_fsize(n);
  if (!strcmp(m, "walltime")) mode_walltime(n);
  if (!strcmp(m, "tmpfs")) mode_tmpfs(n);
  if (!strcmp(m, "core")) mode_core();
  if (!strcmp(m, "cpuspin")) mode_cpuspin(n);
  probe_error("unknown mode %s", m);
}
