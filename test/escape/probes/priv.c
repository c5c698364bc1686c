/* Privilege-gain and syscall-surface probes (red-team cases 11.2 #15-#27, docs/peers.md). Every privileged action is
 * either confined to this probe process (a new user namespace, a process keyring, a detached
 * mount tree) or stops at an argument check after the permission check (bad magic, bad fd), so
 * running it unsandboxed as root changes nothing on the host.
 *   priv status             /proc/self/status: capabilities, NoNewPrivs, Seccomp
 *   priv suid PATH          exec PATH (a setuid-root copy of this probe) and report its euid
 *   priv filecap PATH       exec PATH (a copy with file capabilities) and report its CapEff
 *   priv userns-unshare     unshare(CLONE_NEWUSER)
 *   priv userns-clone       clone(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET)
 *   priv clone3             clone3 with CLONE_NEWUSER (must be ENOSYS or denied)
 *   priv unshare-mount DIR  unshare(NEWUSER|NEWNS), map root, mount tmpfs on DIR and umount /proc
 *   priv setns PID          setns into PID's namespaces, then into our own netns
 *   priv mount DIR          mount(2) a tmpfs on DIR (unmounted again at once)
 *   priv newmount           fsopen("tmpfs"), open_tree(OPEN_TREE_CLONE)
 *   priv chroot DIR         chroot(DIR)
 *   priv keyctl             add_key into the process keyring; read the user keyring's id
 *   priv bpf | io-uring | userfaultfd | perf | personality | syslog | admin
 *   priv int80              32-bit syscalls through int 0x80: unshare(CLONE_NEWUSER), socket(AF_VSOCK)
 *   priv x32                an x32 syscall (nr | 0x40000000): unshare(CLONE_NEWUSER)
 *   priv exec-spellings TEXT PATH...  exec each PATH (spellings of an unlisted binary that a lexical
 *                           glob match could take for an allowlisted one); ESCAPED when one ran,
 *                           recognised by TEXT in its output
 *   priv memfd-exec         run a copy of this probe from a memfd (fexecve)
 *   priv exec-copy DIR...   copy this probe into each DIR and exec it there
 *   priv exec-tricks DIR    exec a copy in DIR under other spellings: /usr/bin/../.., /proc/self/cwd,
 *                           /proc/self/fd/N, /dev/fd/N, execveat(fd, "", AT_EMPTY_PATH), a symlink
 *   priv exec-race DIR [TARGET TEXT [MS]]  race a thread rewriting the execve path between an allowed
 *                           binary (/bin/false) and a copy in DIR, or the unlisted TARGET whose
 *                           output contains TEXT (seccomp-notify TOCTOU, case #56), for MS
 *                           milliseconds (default 4000) or MS/20 children
 *   priv seccomp-listener   install our own seccomp filter with a user-notification listener for
 *                           execve: with it a workload could answer its own exec asks (case #25)
 *   priv report             (exec target) print euid and CapEff */
#include "probe.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <linux/vm_sockets.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static void capline(const char *key, char *out, size_t cap) {
  char buf[8192];
  out[0] = 0;
  if (read_file("/proc/self/status", buf, sizeof buf) <= 0) return;
  char *p = strstr(buf, key);
  if (!p) return;
  p += strlen(key);
  while (*p == ' ' || *p == '\t') p++;
  size_t n = strcspn(p, "\n");
  if (n >= cap) n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

/* Runs argv, returns its stdout (first line) in out; status in *st. */
static int run_capture(char *const argv[], char *out, size_t cap, int *st) {
  int p[2];
  if (pipe(p) < 0) return -1;
  pid_t c = fork();
  if (c < 0) return -1;
  if (c == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execv(argv[0], argv);
    fprintf(stderr, "execv %s: %s\n", argv[0], strerror(errno));
    _exit(126);
  }
  close(p[1]);
  ssize_t n = read(p[0], out, cap - 1);
  out[n > 0 ? n : 0] = 0;
  close(p[0]);
  waitpid(c, st, 0);
  return 0;
}

static void mode_status(void) {
  const char *zero[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
  char v[64], bad[512] = "";
  for (int i = 0; i < 5; i++) {
    capline(zero[i], v, sizeof v);
    if (!v[0]) probe_error("no %s in /proc/self/status", zero[i]);
    if (strspn(v, "0") != strlen(v)) { strcat(bad, zero[i]); strcat(bad, v); strcat(bad, " "); }
  }
  capline("NoNewPrivs:", v, sizeof v);
  if (strcmp(v, "1")) { strcat(bad, "NoNewPrivs:"); strcat(bad, v); strcat(bad, " "); }
  capline("Seccomp:", v, sizeof v);
  if (strcmp(v, "2")) { strcat(bad, "Seccomp:"); strcat(bad, v); strcat(bad, " "); }
  if (bad[0]) escaped("privileged or unconfined process state: %s", bad);
  note("capability sets empty, NoNewPrivs 1, Seccomp 2");
  blocked();
}

static void mode_exec_gain(const char *path, int filecap) {
  if (getuid() == 0) probe_error("run this probe as an unprivileged uid (it is uid 0)");
  char out[256];
  int st;
  char *const argv[] = { (char *)path, "report", NULL };
  if (run_capture(argv, out, sizeof out, &st) < 0) probe_error("fork/pipe: %s", E);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { note("exec %s failed (status %d)", path, st); blocked(); }
  int euid = -1;
  char capeff[64] = "";
  sscanf(out, "euid=%d capeff=%63s", &euid, capeff);
  if (euid < 0) probe_error("unexpected report from %s: %s", path, out);
  if (!filecap && euid == 0) escaped("a setuid-root binary gave euid 0 (uid %d)", getuid());
  if (filecap && capeff[0] && strspn(capeff, "0") != strlen(capeff)) escaped("a file-capability binary ran with CapEff %s", capeff);
  note("%s ran with euid %d CapEff %s", path, euid, capeff);
  blocked();
}

static pid_t raw_clone(unsigned long flags) {
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

static int child_ok(pid_t c) {
  int st;
  if (waitpid(c, &st, 0) < 0) return 0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int write_str(const char *path, const char *s) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  ssize_t n = write(fd, s, strlen(s));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void mode_unshare_mount(const char *dir) {
  int p[2];
  if (pipe(p) < 0) probe_error("pipe: %s", E);
  pid_t c = fork();
  if (c == 0) {
    char msg[256] = "ok";
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) snprintf(msg, sizeof msg, "unshare(NEWUSER|NEWNS): %s", E);
    else {
      write_str("/proc/self/setgroups", "deny");
      snprintf(map, sizeof map, "0 %d 1", uid);
      if (write_str("/proc/self/uid_map", map) < 0) snprintf(msg, sizeof msg, "uid_map: %s", E);
      snprintf(map, sizeof map, "0 %d 1", gid);
      write_str("/proc/self/gid_map", map);
      if (!strcmp(msg, "ok")) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) snprintf(msg, sizeof msg, "make / private: %s", E);
        else if (mount("none", dir, "tmpfs", 0, "size=64k") < 0) snprintf(msg, sizeof msg, "mount tmpfs: %s", E);
        else { umount2(dir, MNT_DETACH); umount2("/proc", MNT_DETACH); }
      }
    }
    (void)!write(p[1], msg, strlen(msg));
    _exit(strcmp(msg, "ok") ? 1 : 0);
  }
  close(p[1]);
  char msg[256];
  ssize_t n = read(p[0], msg, sizeof msg - 1);
  msg[n > 0 ? n : 0] = 0;
  if (child_ok(c)) escaped("gained CAP_SYS_ADMIN in a nested user namespace and mounted a tmpfs");
  note("%s", msg);
  blocked();
}

static void mode_setns(const char *pid) {
  const char *kinds[] = { "mnt", "net", "uts", "ipc", "pid", "cgroup", "user" };
  char path[128];
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kinds[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { note("open %s: %s", path, E); continue; }
    pid_t c = fork();
    if (c == 0) _exit(setns(fd, 0) == 0 ? 0 : 1);
    if (child_ok(c)) escaped("setns into %s worked", path);
    if (setns(fd, 0) < 0) note("setns %s: %s", path, E);
    close(fd);
  }
  int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) note("open /proc/self/ns/net: %s", E);
  else if (setns(fd, CLONE_NEWNET) == 0) escaped("setns(2) with CAP_SYS_ADMIN is available (own netns)");
  else note("setns own netns: %s", E);
  blocked();
}

static void mode_newmount(void) {
  int fd = (int)syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */);
  if (fd >= 0) escaped("fsopen(\"tmpfs\") returned a filesystem context");
  note("fsopen: %s", E);
  fd = (int)syscall(SYS_open_tree, AT_FDCWD, ".", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
  if (fd >= 0) escaped("open_tree(OPEN_TREE_CLONE) cloned a mount");
  note("open_tree: %s", E);
  fd = (int)syscall(SYS_fsmount, -1, 0, 0);
  if (fd >= 0 || (errno != EPERM && errno != ENOSYS && errno != EACCES)) note("fsmount(-1) reachable (%s)", E);
  if (syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno != EPERM && errno != ENOSYS) note("mount_setattr reachable (%s)", E);
  blocked();
}

static void mode_keyctl(void) {
  long k = syscall(SYS_add_key, "user", "nemoclaw-escape", "x", 1, -2 /* KEY_SPEC_PROCESS_KEYRING */);
  if (k >= 0) escaped("add_key created key %ld", k);
  note("add_key: %s", E);
  k = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* KEY_SPEC_USER_KEYRING */, 0);
  if (k >= 0) escaped("keyctl reached the (not namespaced) user keyring %ld", k);
  note("keyctl(GET_KEYRING_ID, user): %s", E);
  k = syscall(SYS_request_key, "user", "nemoclaw-escape-none", NULL, 0);
  if (k >= 0 || errno == ENOKEY) escaped("request_key searched the keyrings (%s)", k >= 0 ? "found" : "ENOKEY");
  note("request_key: %s", E);
  blocked();
}

static void mode_bpf(void) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  int fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
  if (fd >= 0) escaped("bpf(BPF_MAP_CREATE) returned a map");
  note("bpf(BPF_MAP_CREATE): %s", E);
  blocked();
}

static void mode_io_uring(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
  if (fd >= 0) escaped("io_uring_setup returned a ring");
  note("io_uring_setup: %s", E);
  if (syscall(SYS_io_uring_enter, 1000, 0, 0, 0, NULL, 0) < 0 && errno == EBADF) escaped("io_uring_enter reachable (EBADF on a bogus fd)");
  note("io_uring_enter: %s", E);
  blocked();
}

static void mode_userfaultfd(void) {
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
  if (fd >= 0) escaped("userfaultfd(UFFD_USER_MODE_ONLY) returned an fd");
  note("userfaultfd: %s", E);
  fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  if (fd >= 0) escaped("userfaultfd returned an fd");
  note("userfaultfd(kernel faults): %s", E);
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) note("open /dev/userfaultfd: %s", E);
  else if ((fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC)) >= 0) escaped("/dev/userfaultfd handed out a userfaultfd");
  else note("USERFAULTFD_IOC_NEW: %s", E);
  blocked();
}

static void mode_perf(void) {
  for (int user_only = 0; user_only < 2; user_only++) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.exclude_kernel = (unsigned)user_only;
    a.exclude_hv = 1;
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (fd >= 0) escaped("perf_event_open (%s) returned an event", user_only ? "user only" : "with kernel");
    note("perf_event_open(%s): %s", user_only ? "user only" : "with kernel", E);
  }
  blocked();
}

static void mode_personality(void) {
  int old = personality(0xffffffff);
  int r = personality(READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE);
  int now = personality(0xffffffff);
  personality((unsigned long)old);
  if (r >= 0 && (now & (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE))) escaped("personality(READ_IMPLIES_EXEC|ADDR_NO_RANDOMIZE) took effect");
  note("personality: %s (persona 0x%x)", r < 0 ? E : "unchanged", now);
  blocked();
}

static void mode_syslog(void) {
  long n = syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0);
  if (n < 0) note("syslog(SIZE_BUFFER): %s", E);
  char buf[4096];
  n = syscall(SYS_syslog, 3 /* READ_ALL */, buf, (long)sizeof buf);
  if (n > 0) escaped("read %ld bytes of the kernel log", n);
  note("syslog(READ_ALL): %s", n < 0 ? E : "empty");
  blocked();
}

/* Each call carries an invalid argument that the kernel checks only after the permission check:
 * EPERM/ENOSYS/EACCES means stopped, anything else means the privileged code path was reached. */
static void mode_admin(void) {
  char reached[512] = "";
  struct { const char *name; long r; } calls[8];
  errno = 0;
  calls[0].name = "finit_module(-1)"; calls[0].r = syscall(SYS_finit_module, -1, "", 0);
  int e0 = errno;
  calls[1].name = "kexec_load(bad flags)"; calls[1].r = syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
  int e1 = errno;
  calls[2].name = "reboot(bad magic)"; calls[2].r = syscall(SYS_reboot, 0, 0, 0, NULL);
  int e2 = errno;
  calls[3].name = "swapon(NULL)"; calls[3].r = syscall(SYS_swapon, NULL, 0);
  int e3 = errno;
  calls[4].name = "init_module(NULL,0)"; calls[4].r = syscall(SYS_init_module, NULL, 0, "");
  int e4 = errno;
  calls[5].name = "pivot_root(missing paths)"; calls[5].r = syscall(SYS_pivot_root, "/nonexistent-nemoclaw-a", "/nonexistent-nemoclaw-b");
  int e5 = errno;
  calls[6].name = "acct(missing path)"; calls[6].r = syscall(SYS_acct, "/nonexistent-nemoclaw-acct");
  int e6 = errno;
  calls[7].name = "iopl(3)"; calls[7].r = syscall(SYS_iopl, 3);
  int e7 = errno;
  if (calls[7].r == 0) syscall(SYS_iopl, 0);
  int errs[8] = { e0, e1, e2, e3, e4, e5, e6, e7 };
  for (int i = 0; i < 8; i++) {
    if (calls[i].r >= 0 || (errs[i] != EPERM && errs[i] != ENOSYS && errs[i] != EACCES)) {
      strcat(reached, calls[i].name);
      strcat(reached, "=");
      strcat(reached, calls[i].r >= 0 ? "ok" : strerror(errs[i]));
      strcat(reached, " ");
    } else note("%s: %s", calls[i].name, strerror(errs[i]));
  }
  if (reached[0]) escaped("privileged syscalls passed their permission check: %s", reached);
  blocked();
}

static long int80(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

static void mode_int80(void) {
  pid_t c = fork();
  if (c == 0) _exit(int80(310 /* i386 unshare */, CLONE_NEWUSER, 0, 0) == 0 ? 0 : 1);
  if (child_ok(c)) escaped("32-bit unshare(CLONE_NEWUSER) via int 0x80 worked");
  long r = int80(359 /* i386 socket */, AF_VSOCK, SOCK_STREAM, 0);
  if (r >= 0) escaped("32-bit socket(AF_VSOCK) via int 0x80 worked");
  note("int 0x80 socket(AF_VSOCK): %s", strerror((int)-r));
  unsigned int *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (args == MAP_FAILED) probe_error("mmap MAP_32BIT: %s", E);
  args[0] = AF_VSOCK; args[1] = SOCK_STREAM; args[2] = 0;
  r = int80(102 /* socketcall */, 1 /* SYS_SOCKET */, (long)(unsigned long)args, 0);
  if (r >= 0) escaped("socketcall(SYS_SOCKET, AF_VSOCK) via int 0x80 worked");
  note("int 0x80 socketcall: %s", strerror((int)-r));
  note("int 0x80 unshare(CLONE_NEWUSER) failed in a child");
  blocked();
}

static void mode_x32(void) {
  pid_t c = fork();
  if (c == 0) _exit(syscall(0x40000000L | SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : 10 + (errno & 0x7f));
  int st;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped("x32 unshare(CLONE_NEWUSER) worked");
  if (WIFSIGNALED(st)) note("x32 syscall killed the caller (signal %d)", WTERMSIG(st));
  else note("x32 unshare: %s", strerror(WEXITSTATUS(st) - 10));
  blocked();
}

static int copy_self(int dst) {
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) return -1;
  struct stat s;
  fstat(src, &s);
  off_t off = 0;
  while (off < s.st_size) if (sendfile(dst, src, &off, (size_t)(s.st_size - off)) <= 0) { close(src); return -1; }
  close(src);
  return 0;
}

static int ran_report(const char *how, int fd, const char *path) {
  pid_t c = fork();
  if (c == 0) {
    int nul = open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, 1);
    char *const argv[] = { "priv", "report", NULL };
    char *const envp[] = { NULL };
    if (fd >= 0) fexecve(fd, argv, envp);
    else execve(path, argv, envp);
    _exit(126);
  }
  int st;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 1;
  note("%s: exec failed (status %d)", how, st);
  return 0;
}

/* Runs the copy at path (or fd) with "report"; 1 when it ran (its output names euid). */
static int exec_variant(const char *label, const char *path, int fd, int empty_path) {
  int p[2];
  if (pipe(p) < 0) probe_error("pipe: %s", E);
  pid_t c = fork();
  if (c == 0) {
    dup2(p[1], 1);
    close(p[0]);
    char *const argv[] = { "priv", "report", NULL };
    char *const envp[] = { NULL };
    if (empty_path) syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
    else execve(path, argv, envp);
    printf("exec-errno=%d\n", errno);
    fflush(stdout);
    _exit(126);
  }
  close(p[1]);
  char out[256];
  ssize_t n = read(p[0], out, sizeof out - 1);
  out[n > 0 ? n : 0] = 0;
  close(p[0]);
  waitpid(c, NULL, 0);
  if (strstr(out, "euid=")) return 1;
  int e = 0;
  if (sscanf(out, "exec-errno=%d", &e) == 1) note("%s: %s", label, strerror(e));
  else note("%s: no report", label);
  return 0;
}

static void make_copy(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) probe_error("create %s: %s", path, E);
  if (copy_self(fd) < 0) probe_error("copy to %s: %s", path, E);
  close(fd);
}

static void mode_exec_tricks(const char *dir) {
  char evil[400], p[600];
  snprintf(evil, sizeof evil, "%s/evil-copy", dir);
  make_copy(evil);
  snprintf(p, sizeof p, "/usr/bin/../..%s", evil);
  if (exec_variant(p, p, -1, 0)) escaped("exec of an unlisted binary as %s", p);
  snprintf(p, sizeof p, "/bin/.%s", evil);
  if (exec_variant(p, p, -1, 0)) escaped("exec of an unlisted binary as %s", p);
  if (chdir(dir) == 0 && exec_variant("/proc/self/cwd/evil-copy", "/proc/self/cwd/evil-copy", -1, 0)) escaped("exec of an unlisted binary via /proc/self/cwd");
  int fd = open(evil, O_RDONLY);
  if (fd < 0) probe_error("open %s: %s", evil, E);
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  if (exec_variant(p, p, -1, 0)) escaped("exec of an unlisted binary via %s", p);
  snprintf(p, sizeof p, "/dev/fd/%d", fd);
  if (exec_variant(p, p, -1, 0)) escaped("exec of an unlisted binary via %s", p);
  if (exec_variant("execveat(fd, \"\", AT_EMPTY_PATH)", NULL, fd, 1)) escaped("exec of an unlisted binary via execveat(AT_EMPTY_PATH)");
  int pfd = open(evil, O_PATH);
  if (pfd >= 0 && exec_variant("execveat(O_PATH fd, AT_EMPTY_PATH)", NULL, pfd, 1)) escaped("exec of an unlisted binary via execveat on an O_PATH fd");
  snprintf(p, sizeof p, "%s/usr-bin-true", dir);
  unlink(p);
  if (symlink(evil, p) == 0 && exec_variant("symlink", p, -1, 0)) escaped("exec of an unlisted binary through a symlink %s", p);
  unlink(p);
  unlink(evil);
  blocked();
}

static void mode_exec_spellings(const char *text, int n, char **paths) {
  for (int i = 0; i < n; i++) {
    int p[2];
    if (pipe(p) < 0) probe_error("pipe: %s", E);
    pid_t c = fork();
    if (c == 0) {
      dup2(p[1], 1);
      dup2(p[1], 2);
      close(p[0]);
      char *const argv[] = { "x", NULL };
      char *const envp[] = { NULL };
      execve(paths[i], argv, envp);
      printf("exec-errno=%d\n", errno);
      fflush(stdout);
      _exit(126);
    }
    close(p[1]);
    char out[512];
    ssize_t r = read(p[0], out, sizeof out - 1);
    out[r > 0 ? r : 0] = 0;
    close(p[0]);
    waitpid(c, NULL, 0);
    if (strstr(out, text)) escaped("exec of %s ran the unlisted binary", paths[i]);
    int e = 0;
    if (sscanf(out, "exec-errno=%d", &e) == 1) note("%s: %s", paths[i], strerror(e));
    else note("%s: no output", paths[i]);
  }
  blocked();
}

static char race_path[512];
static const char *race_evil;
static volatile int race_stop;

static volatile int race_started;

static void *race_flipper(void *arg) {
  (void)arg;
  race_started = 1;
  while (!race_stop) {
    strcpy(race_path, race_evil);
    for (volatile int i = 0; i < 50; i++) {}
    strcpy(race_path, "/bin/false");
    for (volatile int i = 0; i < 50; i++) {}
  }
  return NULL;
}

/* target: NULL for a fresh copy of this probe in dir (recognised by its "euid=" report), or an
 * unlisted binary elsewhere recognised by the text expect in its output. */
static void mode_exec_race(const char *dir, const char *target, const char *expect, long budget_ms) {
  char evil[400];
  if (target) snprintf(evil, sizeof evil, "%s", target);
  else {
    snprintf(evil, sizeof evil, "%s/evil-copy", dir);
    make_copy(evil);
    expect = "euid=";
  }
  race_evil = evil;
  long end = now_ms() + budget_ms;
  int children = 0, allowed_runs = 0;
  while (now_ms() < end && children < budget_ms / 20) {
    int p[2];
    if (pipe(p) < 0) probe_error("pipe: %s", E);
    pid_t c = fork();
    if (c == 0) {
      dup2(p[1], 1);
      dup2(p[1], 2);
      close(p[0]);
      strcpy(race_path, "/bin/false");
      pthread_t t;
      if (pthread_create(&t, NULL, race_flipper, NULL)) _exit(125);
      for (long w = now_ms() + 500; !race_started && now_ms() < w;) {}
      char *const argv[] = { "priv", "report", NULL };
      char *const envp[] = { NULL };
      for (int i = 0; i < 3000; i++) execve(race_path, argv, envp);
      _exit(124);
    }
    close(p[1]);
    children++;
    char out[256];
    ssize_t n = read(p[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = 0;
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    if (strstr(out, expect)) { if (!target) unlink(evil); escaped("won the execve path race: the unlisted %s ran (after %d tries)", evil, children); }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1) allowed_runs++;
  }
  if (!target) unlink(evil);
  note("%d racing children, %d ran only the allowed /bin/false, none ran the unlisted copy", children, allowed_runs);
  blocked();
}

static void mode_seccomp_listener(void) {
  struct sock_filter prog[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fp = { (unsigned short)(sizeof prog / sizeof *prog), prog };
  pid_t c = fork();
  if (c == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    if (fd >= 0) _exit(0);
    _exit(10 + (errno & 0x7f));
  }
  int st;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped("installed an own seccomp user-notification listener for execve");
  note("seccomp(NEW_LISTENER): %s", WIFEXITED(st) ? strerror(WEXITSTATUS(st) - 10) : "killed");
  blocked();
}

static void mode_memfd_exec(void) {
  int fd = (int)syscall(SYS_memfd_create, "nemoclaw-escape", 0);
  if (fd < 0) { note("memfd_create: %s", E); blocked(); }
  if (copy_self(fd) < 0) probe_error("copy into memfd: %s", E);
  if (ran_report("fexecve(memfd)", fd, NULL)) escaped("executed a binary from an anonymous memfd");
  blocked();
}

static void mode_exec_copy(int n, char **dirs) {
  for (int i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/priv-copy-%d", dirs[i], getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0) { note("create %s: %s", path, E); continue; }
    int r = copy_self(fd);
    close(fd);
    if (r < 0) { note("copy to %s: %s", path, E); unlink(path); continue; }
    int ok = ran_report(path, -1, path);
    unlink(path);
    if (ok) escaped("executed a freshly written copy at %s", path);
  }
  blocked();
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: priv MODE ...");
  const char *m = argv[1];
  if (!strcmp(m, "report")) {
    char cap[64];
    capline("CapEff:", cap, sizeof cap);
    printf("euid=%d capeff=%s\n", geteuid(), cap);
    return 0;
  }
  if (!strcmp(m, "status")) mode_status();
  if (!strcmp(m, "suid") && argc >= 3) mode_exec_gain(argv[2], 0);
  if (!strcmp(m, "filecap") && argc >= 3) mode_exec_gain(argv[2], 1);
  if (!strcmp(m, "userns-unshare")) {
    if (unshare(CLONE_NEWUSER) == 0) escaped("unshare(CLONE_NEWUSER) created a user namespace");
    note("unshare(CLONE_NEWUSER): %s", E);
    if (unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWCGROUP) == 0) escaped("unshare of other namespaces worked");
    note("unshare(other namespaces): %s", E);
    if (unshare(0x80 /* CLONE_NEWTIME */) == 0) escaped("unshare(CLONE_NEWTIME) worked");
    note("unshare(CLONE_NEWTIME): %s", E);
    blocked();
  }
  if (!strcmp(m, "userns-clone")) {
    unsigned long flags[] = { CLONE_NEWUSER, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET, CLONE_NEWNET, CLONE_NEWNS };
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
      pid_t c = raw_clone(flags[i]);
      if (c == 0) _exit(0);
      if (c > 0 && child_ok(c)) escaped("clone(0x%lx) created namespaces", flags[i]);
      note("clone(0x%lx): %s", flags[i], c < 0 ? E : "child failed");
    }
    blocked();
  }
  if (!strcmp(m, "clone3")) {
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_NEWUSER;
    ca.exit_signal = SIGCHLD;
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0) _exit(0);
    if (c > 0 && child_ok((pid_t)c)) escaped("clone3(CLONE_NEWUSER) created a user namespace");
    note("clone3(CLONE_NEWUSER): %s", c < 0 ? E : "child failed");
    blocked();
  }
  if (!strcmp(m, "unshare-mount") && argc >= 3) mode_unshare_mount(argv[2]);
  if (!strcmp(m, "setns") && argc >= 3) mode_setns(argv[2]);
  if (!strcmp(m, "mount") && argc >= 3) {
    if (mount("none", argv[2], "tmpfs", 0, "size=64k") == 0) { umount2(argv[2], MNT_DETACH); escaped("mount(2) of a tmpfs worked"); }
    note("mount tmpfs: %s", E);
    blocked();
  }
  if (!strcmp(m, "newmount")) mode_newmount();
  if (!strcmp(m, "chroot") && argc >= 3) {
    if (chroot(argv[2]) == 0) escaped("chroot(2) worked");
    note("chroot: %s", E);
    blocked();
  }
  if (!strcmp(m, "keyctl")) mode_keyctl();
  if (!strcmp(m, "bpf")) mode_bpf();
  if (!strcmp(m, "io-uring")) mode_io_uring();
  if (!strcmp(m, "userfaultfd")) mode_userfaultfd();
  if (!strcmp(m, "perf")) mode_perf();
  if (!strcmp(m, "personality")) mode_personality();
  if (!strcmp(m, "syslog")) mode_syslog();
  if (!strcmp(m, "admin")) mode_admin();
  if (!strcmp(m, "int80")) mode_int80();
  if (!strcmp(m, "x32")) mode_x32();
  if (!strcmp(m, "memfd-exec")) mode_memfd_exec();
  if (!strcmp(m, "seccomp-listener")) mode_seccomp_listener();
  if (!strcmp(m, "exec-copy") && argc >= 3) mode_exec_copy(argc - 2, argv + 2);
  if (!strcmp(m, "exec-tricks") && argc >= 3) mode_exec_tricks(argv[2]);
  if (!strcmp(m, "exec-spellings") && argc >= 4) mode_exec_spellings(argv[2], argc - 3, argv + 3);
  if (!strcmp(m, "exec-race") && argc >= 3) mode_exec_race(argv[2], argc >= 5 ? argv[3] : NULL, argc >= 5 ? argv[4] : NULL, argc >= 6 ? atol(argv[5]) : 4000);
  probe_error("unknown mode or missing args: %s", m);
}
