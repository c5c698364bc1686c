/* Terminal injection probes (red-team cases 11.1 #1-#3, docs/peers.md).
 *   tty tiocsti        TIOCSTI on fds 0-2 and /dev/tty: types "#nemoclaw-escape-sti" into the terminal
 *   tty tiocsti-high   the same with bits above 31 set in the ioctl cmd (CVE-2019-10063)
 *   tty tioclinux      TIOCLINUX on fds 0-2 and the virtual consoles; read /dev/vcs (screen dump)
 *   tty pts [HOSTDEV]  open the host's /dev/pts/N and /dev/console by path
 *   tty ldisc [HOSTDEV]  TIOCSETD on fds 0-2: switch the parent's terminal to another line discipline
 *                      (N_NULL here; on distribution kernels this autoloads n_gsm, n_hdlc, ... modules),
 *                      then switch it back to N_TTY
 * HOSTDEV is st_dev of the host's devpts: terminals of another devpts instance (the sandbox's own,
 * with sandbox run --tty) are not the host's and do not count. */
#include "probe.h"
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>

static const char INJECT[] = "#nemoclaw-escape-sti\n";

static int sti(int fd, const char *name, int high) {
  for (const char *p = INJECT; *p; p++) {
    long r = high ? syscall(SYS_ioctl, fd, (1UL << 32) | (unsigned long)TIOCSTI, p)
                  : ioctl(fd, TIOCSTI, p);
    if (r < 0) {
      note("TIOCSTI%s on %s: %s", high ? "|1<<32" : "", name, E);
      return 0;
    }
  }
  return 1;
}

static void mode_sti(int high) {
  const char *names[] = { "fd 0", "fd 1", "fd 2" };
  for (int fd = 0; fd < 3; fd++)
    if (isatty(fd) && sti(fd, names[fd], high)) escaped("TIOCSTI%s injected input via %s", high ? " (high bits)" : "", names[fd]);
    else if (!isatty(fd)) note("fd %d is not a tty", fd);
  int t = open("/dev/tty", O_RDWR | O_NOCTTY);
  if (t < 0) note("open /dev/tty: %s", E);
  else if (sti(t, "/dev/tty", high)) escaped("TIOCSTI%s injected input via /dev/tty", high ? " (high bits)" : "");
  blocked();
}

static int linux_ioctl(int fd, const char *name) {
  char sub = 6; /* TIOCL_GETSHIFTSTATE: a harmless query */
  int r = ioctl(fd, TIOCLINUX, &sub);
  if (r < 0) { note("TIOCLINUX on %s: %s", name, E); return 0; }
  return 1;
}

static void mode_tioclinux(void) {
  const char *names[] = { "fd 0", "fd 1", "fd 2" };
  for (int fd = 0; fd < 3; fd++)
    if (linux_ioctl(fd, names[fd])) escaped("TIOCLINUX accepted on %s", names[fd]);
  const char *paths[] = { "/dev/tty0", "/dev/console", "/dev/tty1", "/dev/tty2", "/dev/tty63" };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = open(paths[i], O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) { note("open %s: %s", paths[i], E); continue; }
    if (linux_ioctl(fd, paths[i])) escaped("TIOCLINUX accepted on %s", paths[i]);
    close(fd);
  }
  char buf[64];
  if (read_file("/dev/vcs", buf, sizeof buf) > 0) escaped("read the virtual console's screen via /dev/vcs");
  note("/dev/vcs: %s", E);
  blocked();
}

static unsigned long host_dev; /* 0: unknown, every terminal counts */

/* Whether fd (or path, when fd < 0) is a terminal of the host's devpts. */
static int on_host_devpts(int fd, const char *path) {
  if (!host_dev) return 1;
  struct stat st;
  if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) < 0) return 0;
  return (unsigned long)st.st_dev == host_dev;
}

static void mode_pts(void) {
  DIR *d = opendir("/dev/pts");
  if (!d) note("opendir /dev/pts: %s", E);
  else {
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      seen++;
      char p[300];
      snprintf(p, sizeof p, "/dev/pts/%s", e->d_name);
      /* Open only: never read or write another terminal. */
      int fd = open(p, O_RDONLY | O_NOCTTY | O_NONBLOCK);
      if (fd >= 0 && on_host_devpts(fd, NULL)) escaped("opened a host terminal %s by path", p);
      if (fd >= 0) { note("%s is the sandbox's own devpts", p); close(fd); }
      else note("open %s: %s", p, E);
    }
    closedir(d);
    if (!seen) note("/dev/pts lists no terminals");
  }
  int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_NONBLOCK);
  if (fd >= 0) escaped("opened /dev/console for writing");
  note("open /dev/console: %s", E);
  blocked();
}

static void mode_ldisc(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (!isatty(fd)) { note("fd %d is not a tty", fd); continue; }
    if (!on_host_devpts(fd, NULL)) { note("fd %d is a terminal of the sandbox's own devpts", fd); continue; }
    int cur = -1, want = 27 /* N_NULL */, back = 0 /* N_TTY */;
    ioctl(fd, TIOCGETD, &cur);
    int r = ioctl(fd, TIOCSETD, &want);
    int e = errno;
    int now = -1;
    ioctl(fd, TIOCGETD, &now);
    ioctl(fd, TIOCSETD, &back); /* restore before anything is printed */
    if (r == 0 && now == want) escaped("changed the line discipline of the parent's terminal (fd %d: %d -> %d, restored)", fd, cur, now);
    note("TIOCSETD on fd %d: %s", fd, r == 0 ? "no effect" : strerror(e));
  }
  blocked();
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: tty MODE");
  if (argc >= 3) host_dev = strtoul(argv[2], NULL, 10);
  if (!strcmp(argv[1], "tiocsti")) mode_sti(0);
  if (!strcmp(argv[1], "tiocsti-high")) mode_sti(1);
  if (!strcmp(argv[1], "tioclinux")) mode_tioclinux();
  if (!strcmp(argv[1], "pts")) mode_pts();
  if (!strcmp(argv[1], "ldisc")) mode_ldisc();
  probe_error("unknown mode %s", argv[1]);
}
