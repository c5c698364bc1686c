/* Process-tree, signal, ptrace and cross-process memory probes (red-team cases 11.1 #4-#10, docs/peers.md).
 *   proc kill-pid PID RECEIPT     SIGURG to a host victim; the victim writes RECEIPT when hit
 *   proc kill-all RECEIPT         kill(-1, SIGURG) (run unsandboxed only as an unprivileged uid)
 *   proc see-pids HALF1 HALF2     find a host process by its argv marker HALF1HALF2; read its environ
 *   proc ptrace-child             PTRACE_ATTACH to a child of our own
 *   proc ptrace-pid PID           PTRACE_SEIZE (does not stop it) a host victim, then detach
 *   proc ptrace-parent            PTRACE_SEIZE our parent (inside: the sandbox's init/helper)
 *   proc mem-pid PID              open /proc/PID/mem read-write and read a mapped page
 *   proc mem-parent               the same on our parent and on pid 1 (read only, never write)
 *   proc vm-child                 process_vm_readv + process_vm_writev (same bytes) on a child
 *   proc vm-pid PID               the same on a host victim
 *   proc pidfd-getfd              pidfd_getfd: steal an fd from a child (ptrace-class access)
 *   proc mem-child-write          write into a child's memory through /proc/PID/mem
 *   proc daemon MARKER            double fork + setsid, the grandchild execs `sleep MARKER`; the
 *                                 verdict is the host's: `proc survivors` after the sandbox ended
 *   proc survivors MARKER         (host side) find and SIGKILL processes whose argv has MARKER
 *   proc victim RECEIPT SECS ...  (host side) the victim: writes RECEIPT on SIGURG, exits after SECS */
#include "probe.h"
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static int wait_receipt(const char *path, long ms) {
  long end = now_ms() + ms;
  while (now_ms() < end) {
    if (access(path, F_OK) == 0) return 1;
    sleep_ms(20);
  }
  return 0;
}

static const char *victim_receipt;
static void on_urg(int sig) {
  (void)sig;
  int fd = open(victim_receipt, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd >= 0) { (void)!write(fd, "hit\n", 4); close(fd); }
}

static void mode_victim(const char *receipt, int secs) {
  victim_receipt = receipt;
  signal(SIGURG, on_urg);
  printf("victim ready %d\n", getpid());
  fflush(stdout);
  long end = now_ms() + secs * 1000L;
  while (now_ms() < end) sleep_ms(50);
  _exit(0);
}

/* Returns the start address of the first readable (and writable) mapping of pid, or 0. */
static unsigned long first_mapping(pid_t pid, int writable) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long lo = 0, hi;
  char perms[8];
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' && (!writable || perms[1] == 'w') && !strstr(line, "[vvar") && !strstr(line, "[vsyscall")) break;
    else lo = 0;
  fclose(f);
  return lo;
}

static int mem_access(pid_t pid) {
  char path[64], buf[16];
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int fd = open(path, O_RDWR);
  if (fd < 0) { note("open %s O_RDWR: %s", path, E); fd = open(path, O_RDONLY); }
  if (fd < 0) { note("open %s O_RDONLY: %s", path, E); return 0; }
  unsigned long addr = first_mapping(pid, 0);
  if (!addr) { note("no readable mapping of pid %d found via /proc/%d/maps", pid, pid); close(fd); return 0; }
  ssize_t n = pread(fd, buf, sizeof buf, (off_t)addr);
  close(fd);
  if (n > 0) return 1;
  note("pread %s: %s", path, n < 0 ? E : "0 bytes");
  return 0;
}

static int vm_access(pid_t pid) {
  unsigned long addr = first_mapping(pid, 1);
  char buf[16];
  struct iovec local = { buf, sizeof buf }, remote = { (void *)addr, sizeof buf };
  if (!addr) {
    /* Without /proc of the target, try an address that exists in every process of ours. */
    remote.iov_base = (void *)&victim_receipt;
  }
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0) { note("process_vm_readv pid %d: %s", pid, E); return 0; }
  if (process_vm_writev(pid, &local, 1, &remote, 1, 0) < 0) { note("process_vm_writev pid %d: %s", pid, E); return 1; }
  return 2;
}

static pid_t spawn_idle_child(void) {
  pid_t c = fork();
  if (c < 0) probe_error("fork: %s", E);
  if (c == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int i = 0; i < 200; i++) sleep_ms(50);
    _exit(0);
  }
  sleep_ms(50);
  return c;
}

static void reap(pid_t c) { kill(c, SIGKILL); waitpid(c, NULL, 0); }

static int scan_marker(const char *marker, int killit, char *found, size_t cap) {
  DIR *d = opendir("/proc");
  if (!d) { note("opendir /proc: %s", E); return 0; }
  struct dirent *e;
  int hits = 0;
  while ((e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    ssize_t n = read_file(path, buf, sizeof buf);
    if (n <= 0) continue;
    for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
    if (!strstr(buf, marker)) continue;
    if (strstr(buf, "survivors")) continue; /* another checker */
    hits++;
    if (found && !found[0]) snprintf(found, cap, "pid %d: %.200s", pid, buf);
    if (killit) kill(pid, SIGKILL);
  }
  closedir(d);
  return hits;
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: proc MODE ...");
  const char *m = argv[1];
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (!strcmp(m, "victim") && argc >= 4) mode_victim(argv[2], atoi(argv[3]));

  if (!strcmp(m, "kill-pid") && argc >= 4) {
    pid_t pid = atoi(argv[2]);
    if (kill(pid, SIGURG) < 0) note("kill(%d, SIGURG): %s", pid, E);
    if (wait_receipt(argv[3], 1500)) escaped("signalled host process %d", pid);
    note("the host victim never received a signal");
    blocked();
  }
  if (!strcmp(m, "kill-all") && argc >= 3) {
    if (kill(-1, SIGURG) < 0) note("kill(-1, SIGURG): %s", E);
    if (wait_receipt(argv[2], 1500)) escaped("kill(-1) reached a host process");
    note("the host victim never received a signal");
    blocked();
  }
  if (!strcmp(m, "see-pids") && argc >= 4) {
    /* The marker comes in two halves so that it never appears in our own (or our launcher's) argv. */
    char marker[256], found[300] = "";
    snprintf(marker, sizeof marker, "%s%s", argv[2], argv[3]);
    if (scan_marker(marker, 0, found, sizeof found)) {
      int pid = atoi(found + 4);
      char path[64], env[8192];
      snprintf(path, sizeof path, "/proc/%d/environ", pid);
      ssize_t n = read_file(path, env, sizeof env);
      for (ssize_t i = 0; i < n; i++) if (!env[i]) env[i] = ' ';
      if (n > 0 && strstr(env, "NEMOCLAW_ESCAPE_SECRET=")) escaped("saw host process (%s) and read its environ", found);
      escaped("saw host process %s", found);
    }
    note("no process with the host victim's marker is visible in /proc");
    blocked();
  }
  if (!strcmp(m, "ptrace-child")) {
    pid_t c = spawn_idle_child();
    if (ptrace(PTRACE_ATTACH, c, 0, 0) == 0) {
      waitpid(c, NULL, __WALL);
      ptrace(PTRACE_DETACH, c, 0, 0);
      reap(c);
      escaped("ptrace(PTRACE_ATTACH) of a child worked");
    }
    note("PTRACE_ATTACH child: %s", E);
    if (ptrace(PTRACE_SEIZE, c, 0, 0) == 0) { reap(c); escaped("ptrace(PTRACE_SEIZE) of a child worked"); }
    note("PTRACE_SEIZE child: %s", E);
    reap(c);
    blocked();
  }
  if ((!strcmp(m, "ptrace-pid") && argc >= 3) || !strcmp(m, "ptrace-parent")) {
    pid_t pids[2] = { argc >= 3 ? atoi(argv[2]) : getppid(), 0 };
    if (!strcmp(m, "ptrace-parent")) pids[0] = getppid();
    for (int i = 0; pids[i]; i++) {
      if (ptrace(PTRACE_SEIZE, pids[i], 0, 0) == 0) {
        ptrace(PTRACE_DETACH, pids[i], 0, 0);
        escaped("ptrace(PTRACE_SEIZE) of pid %d (%s) worked", pids[i], m);
      }
      note("PTRACE_SEIZE %d: %s", pids[i], E);
    }
    blocked();
  }
  if (!strcmp(m, "mem-pid") && argc >= 3) {
    pid_t pid = atoi(argv[2]);
    if (mem_access(pid)) escaped("read /proc/%d/mem of a host process", pid);
    blocked();
  }
  if (!strcmp(m, "mem-parent")) {
    if (mem_access(getppid())) escaped("read /proc/%d/mem of our parent", getppid());
    if (getppid() != 1 && mem_access(1)) escaped("read /proc/1/mem");
    blocked();
  }
  if (!strcmp(m, "vm-child")) {
    pid_t c = spawn_idle_child();
    int r = vm_access(c);
    reap(c);
    if (r == 2) escaped("process_vm_readv and process_vm_writev on a child worked");
    if (r == 1) escaped("process_vm_readv on a child worked");
    blocked();
  }
  if (!strcmp(m, "vm-pid") && argc >= 3) {
    pid_t pid = atoi(argv[2]);
    int r = vm_access(pid);
    if (r) escaped("process_vm_%s on host process %d worked", r == 2 ? "writev" : "readv", pid);
    blocked();
  }
  if (!strcmp(m, "pidfd-getfd")) {
    pid_t c = spawn_idle_child();
    int pfd = (int)syscall(SYS_pidfd_open, c, 0);
    if (pfd < 0) note("pidfd_open: %s", E);
    else {
      int fd = (int)syscall(SYS_pidfd_getfd, pfd, 1, 0);
      if (fd >= 0) { reap(c); escaped("pidfd_getfd took fd 1 of another process"); }
      note("pidfd_getfd: %s", E);
    }
    reap(c);
    blocked();
  }
  if (!strcmp(m, "mem-child-write")) {
    static volatile long flag = 1111;
    pid_t c = fork();
    if (c < 0) probe_error("fork: %s", E);
    if (c == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (int i = 0; i < 100 && flag == 1111; i++) sleep_ms(20);
      _exit(flag == 2222 ? 0 : 1);
    }
    sleep_ms(50);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", c);
    int fd = open(path, O_RDWR);
    long v = 2222;
    if (fd < 0) note("open %s: %s", path, E);
    else if (pwrite(fd, &v, sizeof v, (off_t)(unsigned long)&flag) != sizeof v) note("pwrite %s: %s", path, E);
    int st;
    waitpid(c, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped("wrote into another process's memory through %s", path);
    blocked();
  }
  if (!strcmp(m, "daemon") && argc >= 3) {
    pid_t c = fork();
    if (c < 0) probe_error("fork: %s", E);
    if (c == 0) {
      if (setsid() < 0) _exit(3);
      pid_t g = fork();
      if (g != 0) _exit(g < 0 ? 3 : 0);
      int nul = open("/dev/null", O_RDWR);
      if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); dup2(nul, 2); }
      execlp("sleep", "sleep", argv[2], (char *)NULL);
      _exit(4);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) probe_error("could not start the daemon (status %d)", st);
    sleep_ms(200); /* let the grandchild exec */
    printf("daemon started; the host checks for survivors\n");
    _exit(0);
  }
  if (!strcmp(m, "survivors") && argc >= 3) {
    char found[300] = "";
    long end = now_ms() + (argc >= 4 ? atol(argv[3]) : 0);
    int hits;
    do {
      hits = scan_marker(argv[2], 0, found, sizeof found);
      if (!hits) break;
      sleep_ms(50);
    } while (now_ms() < end);
    if (hits) { scan_marker(argv[2], 1, NULL, 0); escaped("%d process(es) outlived the sandbox (%s); killed them now", hits, found); }
    note("no process with the marker is left on the host");
    blocked();
  }
  probe_error("unknown mode or missing args: %s", m);
}
