/* Filesystem probes (red-team cases 11.3 #28-#38, docs/peers.md). Host-side targets are planted by the test with a
 * random MARKER in them, so a probe can tell the host's object from a private copy.
 *   fs write DIR MARKER         create DIR/escaped-by-probe (DIR/canary holds MARKER on the host)
 *   fs read PATH MARKER         read PATH and look for MARKER
 *   fs read-any MARKER PATH...  the same for several paths
 *   fs symlink SECRET DIR MARKER  symlinks in cwd pointing at SECRET and DIR; read/write through them
 *   fs hardlink SECRET MARKER   hardlink SECRET and /etc/shadow into cwd and read them; hardlink /usr/bin/su
 *   fs planted LINK MARKER      LINK was planted by the test (-> a host dir): read LINK/secret, write LINK/
 *   fs procroot SECRET PID MARKER  /proc/self/root, /proc/1/root, /proc/PID/root|cwd
 *   fs procsys                  write /proc/sys/kernel/printk_ratelimit (same value); open sysrq-trigger, core_pattern for writing
 *   fs procread                 /proc/kcore, /proc/kallsyms addresses, /proc/kmsg
 *   fs syswrite                 open cgroup release_agent, /sys/power/state, ... for writing; mkdir a cgroup
 *   fs mknod                    mknod c 1 3 in cwd and use it
 *   fs devblock                 read a sector of the host's block devices
 *   fs devsens                  open /dev/mem, /dev/kmsg, /dev/kvm, /dev/fuse, ...
 *   fs devlist                  /dev holds more than the minimal set
 *   fs fds MARKER               any inherited fd beyond 0-2 (the test passes a secret file and a host dir)
 *   fs suid-plant               leave setuid/setgid executables in cwd (chmod 4755/6755, open(O_CREAT, 04755)):
 *                               on the host they keep the bits and the workspace owner's uid
 *   fs reopen-stdin MARKER      stdin is a write-only fd of a host file holding MARKER: reopen it for
 *                               reading through /proc/self/fd/0 (a magic link past the mount view)
 *   fs nemoclaw-home DIR        DIR is nemoclaw's own state (NEMOCLAW_HOME): read the audit signing
 *                               key, open the audit log for appending (never written)
 *   fs protected                write the workspace's code-execution hooks: .git/config (exists),
 *                               .git/hooks/pre-commit, .git/info/attributes, .vscode/tasks.json,
 *                               .envrc (missing; parents created as needed)
 *   fs protected-swap           move .git away (or replace it by a symlink to a decoy) and create
 *                               .git/hooks/pre-commit in the replacement
 *   fs fcap-plant               give an executable in cwd file capabilities (security.capability xattr)
 *   fs handle-print PATH        (host side) print PATH's file handle
 *   fs handle-open HANDLE MARKER  open_by_handle_at(cwd, HANDLE) and look for MARKER */
#include "probe.h"
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

static int has_marker(const char *path, const char *marker) {
  char buf[4096];
  ssize_t n = read_file(path, buf, sizeof buf);
  if (n < 0) { note("read %s: %s", path, E); return 0; }
  if (strstr(buf, marker)) return 1;
  note("%s has no marker", path);
  return 0;
}

static int try_create(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
  if (fd < 0) { note("create %s: %s", path, E); return 0; }
  (void)!write(fd, "escaped\n", 8);
  close(fd);
  return 1;
}

static void mode_write(const char *dir, const char *marker) {
  char p[600];
  snprintf(p, sizeof p, "%s/canary", dir);
  int host = has_marker(p, marker);
  snprintf(p, sizeof p, "%s/escaped-by-probe", dir);
  if (try_create(p)) {
    if (host) escaped("created %s in the host's directory", p);
    note("created %s, but the directory is not the host's (no canary); the test checks the host", p);
  }
  snprintf(p, sizeof p, "%s/canary", dir);
  int fd = open(p, O_WRONLY | O_APPEND);
  if (fd >= 0 && host) escaped("opened the host's %s for writing", p);
  if (fd < 0) note("open %s for append: %s", p, E);
  blocked();
}

static void mode_symlink(const char *secret, const char *dir, const char *marker) {
  unlink("link-secret");
  unlink("link-dir");
  if (symlink(secret, "link-secret") < 0) note("symlink: %s", E);
  else if (has_marker("link-secret", marker)) escaped("read %s through a symlink in the workspace", secret);
  if (symlink(dir, "link-dir") < 0) note("symlink: %s", E);
  else {
    int host = has_marker("link-dir/canary", marker);
    if (try_create("link-dir/escaped-by-probe") && host) escaped("wrote into %s through a symlink in the workspace", dir);
  }
  blocked();
}

static void mode_hardlink(const char *secret, const char *marker) {
  unlink("hl-secret");
  unlink("hl-shadow");
  if (link(secret, "hl-secret") < 0) note("link %s: %s", secret, E);
  else if (has_marker("hl-secret", marker)) escaped("read %s through a hardlink in the workspace", secret);
  if (link("/etc/shadow", "hl-shadow") < 0) note("link /etc/shadow: %s", E);
  else if (has_marker("hl-shadow", "root:")) escaped("read /etc/shadow through a hardlink in the workspace");
  unlink("hl-secret");
  unlink("hl-shadow");
  /* A hardlink to a setuid-root binary keeps its (possibly vulnerable) inode alive in the workspace. */
  unlink("hl-su");
  if (link("/usr/bin/su", "hl-su") == 0) {
    struct stat st;
    int suid = stat("hl-su", &st) == 0 && (st.st_mode & S_ISUID) && st.st_uid == 0;
    unlink("hl-su");
    if (suid) escaped("hardlinked the setuid-root /usr/bin/su into the workspace");
  } else note("link /usr/bin/su: %s", E);
  blocked();
}

static void mode_planted(const char *link, const char *marker) {
  char p[600];
  snprintf(p, sizeof p, "%s/secret", link);
  if (has_marker(p, marker)) escaped("read the host's secret through the planted link %s", link);
  snprintf(p, sizeof p, "%s/escaped-by-probe", link);
  if (try_create(p)) {
    snprintf(p, sizeof p, "%s/canary", link);
    if (has_marker(p, marker)) escaped("wrote into the host directory behind the planted link %s", link);
  }
  blocked();
}

static void mode_procroot(const char *secret, const char *pid, const char *marker) {
  char p[700];
  const char *roots[] = { "/proc/self/root", "/proc/1/root", NULL, NULL };
  char victim_root[64], victim_cwd[64];
  snprintf(victim_root, sizeof victim_root, "/proc/%s/root", pid);
  roots[2] = victim_root;
  for (int i = 0; roots[i]; i++) {
    snprintf(p, sizeof p, "%s%s", roots[i], secret);
    if (has_marker(p, marker)) escaped("read the host's secret via %s", p);
  }
  snprintf(victim_cwd, sizeof victim_cwd, "/proc/%s/cwd/secret", pid);
  if (has_marker(victim_cwd, marker)) escaped("read the host's secret via %s", victim_cwd);
  blocked();
}

static void mode_procsys(void) {
  char v[64];
  const char *rl = "/proc/sys/kernel/printk_ratelimit";
  if (read_file(rl, v, sizeof v) <= 0) note("read %s: %s", rl, E);
  else {
    int fd = open(rl, O_WRONLY);
    if (fd < 0) note("open %s for writing: %s", rl, E);
    else {
      ssize_t n = write(fd, v, strlen(v)); /* the same value: no change */
      close(fd);
      if (n > 0) escaped("wrote %s", rl);
      note("write %s: %s", rl, E);
    }
  }
  /* Opened for writing only, never written. */
  const char *paths[] = { "/proc/sysrq-trigger", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/vm/drop_caches" };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = open(paths[i], O_WRONLY);
    if (fd >= 0) { close(fd); escaped("opened %s for writing", paths[i]); }
    note("open %s for writing: %s", paths[i], E);
  }
  blocked();
}

static void mode_procread(void) {
  int fd = open("/proc/kcore", O_RDONLY);
  if (fd >= 0) escaped("opened /proc/kcore");
  note("/proc/kcore: %s", E);
  char buf[256];
  if (read_file("/proc/kallsyms", buf, sizeof buf) > 0) {
    if (strspn(buf, "0") < 16) escaped("/proc/kallsyms shows kernel addresses");
    note("/proc/kallsyms addresses are zeroed");
  } else note("/proc/kallsyms: %s", E);
  fd = open("/proc/kmsg", O_RDONLY | O_NONBLOCK);
  if (fd >= 0) escaped("opened /proc/kmsg");
  note("/proc/kmsg: %s", E);
  blocked();
}

static void mode_syswrite(void) {
  const char *paths[] = { "/sys/fs/cgroup/pids/release_agent", "/sys/fs/cgroup/memory/release_agent", "/sys/fs/cgroup/release_agent",
                          "/sys/kernel/uevent_helper", "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled",
                          "/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/pids/cgroup.procs" };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = open(paths[i], O_WRONLY); /* never written */
    if (fd >= 0) { close(fd); escaped("opened %s for writing", paths[i]); }
    note("open %s for writing: %s", paths[i], E);
  }
  char d[128];
  snprintf(d, sizeof d, "/sys/fs/cgroup/pids/nemoclaw-escape-%d", getpid());
  if (mkdir(d, 0755) == 0) { rmdir(d); escaped("created cgroup %s", d); }
  note("mkdir %s: %s", d, E);
  blocked();
}

static void mode_mknod(void) {
  unlink("nod-null");
  if (mknod("nod-null", S_IFCHR | 0666, makedev(1, 3)) < 0) { note("mknod c 1 3: %s", E); blocked(); }
  int fd = open("nod-null", O_RDWR);
  unlink("nod-null");
  if (fd >= 0 && write(fd, "x", 1) == 1) escaped("created and used a character device node");
  note("open/write the node: %s", E);
  blocked();
}

static void mode_devblock(void) {
  const char *devs[] = { "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda", "/dev/hda", "/dev/mmcblk0", "/dev/dm-0", "/dev/md0", "/dev/loop0", "/dev/zram0" };
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    char buf[512];
    int fd = open(devs[i], O_RDONLY | O_NONBLOCK);
    if (fd < 0) { if (errno != ENOENT) note("open %s: %s", devs[i], E); continue; }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0) escaped("read a raw sector of %s", devs[i]);
    escaped("opened the block device %s (read: %s)", devs[i], n < 0 ? E : "0 bytes");
  }
  note("no host block device could be opened (missing ones not listed)");
  blocked();
}

static void mode_devsens(void) {
  /* Opening these is harmless; /dev/watchdog and /dev/snapshot are left out on purpose. */
  const char *devs[] = { "/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/kvm", "/dev/fuse", "/dev/vsock",
                         "/dev/userfaultfd", "/dev/loop-control", "/dev/btrfs-control", "/dev/hwrng", "/dev/cpu/0/msr",
                         "/dev/net/tun", "/dev/autofs", "/dev/vga_arbiter", "/dev/vhost-net", "/dev/mapper/control", "/dev/uinput" };
  char got[1024] = "";
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    int fd = open(devs[i], O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd >= 0) { close(fd); strcat(got, devs[i]); strcat(got, " "); }
    else if (errno != ENOENT) note("open %s: %s", devs[i], E);
  }
  if (got[0]) escaped("opened sensitive devices: %s", got);
  note("none of the sensitive devices exist or open");
  blocked();
}

static void mode_devlist(void) {
  const char *ok[] = { ".", "..", "null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr", "ptmx", "pts", "shm", "mqueue", "core", NULL };
  DIR *d = opendir("/dev");
  if (!d) { note("opendir /dev: %s", E); blocked(); }
  struct dirent *e;
  char extra[1024] = "";
  int n = 0;
  while ((e = readdir(d))) {
    int allowed = 0;
    for (int i = 0; ok[i]; i++) if (!strcmp(ok[i], e->d_name)) allowed = 1;
    if (allowed) continue;
    if (n++ < 12) { strcat(extra, e->d_name); strcat(extra, " "); }
  }
  closedir(d);
  if (n) escaped("/dev has %d entries beyond the minimal set: %s", n, extra);
  note("/dev holds only the minimal set");
  blocked();
}

static void mode_fds(const char *marker) {
  char leaks[1024] = "";
  for (int fd = 3; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    char lp[64], target[256] = "";
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    ssize_t tl = readlink(lp, target, sizeof target - 1);
    if (tl > 0) target[tl] = 0;
    struct stat s;
    fstat(fd, &s);
    char buf[4096];
    if (S_ISREG(s.st_mode)) {
      ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      if (n > 0) { buf[n] = 0; if (strstr(buf, marker)) escaped("inherited fd %d (%s) reads the host's secret", fd, target); }
    } else if (S_ISDIR(s.st_mode)) {
      int f = openat(fd, "secret", O_RDONLY);
      if (f >= 0) {
        ssize_t n = read(f, buf, sizeof buf - 1);
        if (n > 0) { buf[n] = 0; if (strstr(buf, marker)) escaped("inherited directory fd %d (%s) opens the host's secret", fd, target); }
      }
    }
    size_t len = strlen(leaks);
    snprintf(leaks + len, sizeof leaks - len, "%d->%s ", fd, target[0] ? target : "?");
  }
  if (leaks[0]) escaped("fds beyond 0-2 were inherited: %s", leaks);
  note("only fds 0-2 are open");
  blocked();
}

static int copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (in < 0 || out < 0) return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) return -1;
  close(in);
  close(out);
  return 0;
}

/* Creates name as a copy of this probe through one syscall route that asks for mode bits 06755. */
static int plant_via(const char *route, const char *name) {
  unlink(name);
  int fd = -1;
  if (!strcmp(route, "fchmod")) {
    if (copy_file("/proc/self/exe", name, 0755) < 0) return -1;
    fd = open(name, O_RDONLY);
    int r = fd < 0 ? -1 : fchmod(fd, 06755);
    if (fd >= 0) close(fd);
    return r;
  }
  if (!strcmp(route, "fchmodat2")) {
    if (copy_file("/proc/self/exe", name, 0755) < 0) return -1;
    return (int)syscall(452 /* fchmodat2 */, AT_FDCWD, name, 06755, 0);
  }
  if (!strcmp(route, "openat2")) {
    struct { unsigned long long flags, mode, resolve; } how = { O_WRONLY | O_CREAT | O_TRUNC, 06755, 0 };
    fd = (int)syscall(437 /* openat2 */, AT_FDCWD, name, &how, sizeof how);
    if (fd < 0) return -1;
    close(fd);
    return 0;
  }
  if (!strcmp(route, "mknod")) return mknod(name, S_IFREG | 06755, 0);
  if (!strcmp(route, "creat")) {
    fd = creat(name, 06755);
    if (fd < 0) return -1;
    close(fd);
    return 0;
  }
  if (!strcmp(route, "mkdir-setgid")) { rmdir(name); return mkdir(name, 02777) < 0 ? -1 : chmod(name, 02777); }
  errno = EINVAL;
  return -1;
}

static void mode_suid_plant(void) {
  char got[512] = "";
  struct stat st;
  umask(0);
  const char *routes[] = { "fchmod", "fchmodat2", "openat2", "mknod", "creat", "mkdir-setgid" };
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    char name[64];
    snprintf(name, sizeof name, "planted-%s", routes[i]);
    if (plant_via(routes[i], name) < 0) { note("%s: %s", routes[i], E); continue; }
    if (stat(name, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID))) { strcat(got, routes[i]); strcat(got, " "); }
    else note("%s: bits dropped", routes[i]);
  }
  unlink("planted-chmod");
  if (copy_file("/proc/self/exe", "planted-chmod", 0755) < 0) probe_error("copy: %s", E);
  if (chmod("planted-chmod", 06755) < 0) note("chmod 6755: %s", E);
  if (stat("planted-chmod", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID))) strcat(got, "chmod(6755) ");
  unlink("planted-create");
  if (copy_file("/proc/self/exe", "planted-create", 04755) < 0) note("open(O_CREAT, 04755): %s", E);
  if (stat("planted-create", &st) == 0 && (st.st_mode & S_ISUID)) strcat(got, "open(O_CREAT,04755) ");
  if (syscall(SYS_fchmodat, AT_FDCWD, "planted-create", 04755) == 0 && stat("planted-create", &st) == 0 && (st.st_mode & S_ISUID) && !strstr(got, "O_CREAT")) strcat(got, "fchmodat(04755) ");
  if (got[0]) escaped("left setuid/setgid executables in the workspace via %s(owner on the host: the workspace's)", got);
  blocked();
}

static void mode_reopen_stdin(const char *marker) {
  int fl = fcntl(0, F_GETFL);
  if (fl < 0 || (fl & O_ACCMODE) != O_WRONLY) probe_error("stdin should be a write-only fd (flags 0x%x)", fl);
  if (has_marker("/proc/self/fd/0", marker)) escaped("reopened a write-only inherited fd for reading through /proc/self/fd/0 and read the host file");
  if (has_marker("/dev/stdin", marker)) escaped("reopened a write-only inherited fd for reading through /dev/stdin");
  blocked();
}

static int walk_keys(const char *dir, int depth, char *found, size_t cap) {
  DIR *d = opendir(dir);
  if (!d) { note("opendir %s: %s", dir, E); return 0; }
  struct dirent *e;
  int hit = 0;
  while (!hit && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) < 0) continue;
    if (S_ISDIR(st.st_mode) && depth < 4) hit = walk_keys(p, depth + 1, found, cap);
    else if (S_ISREG(st.st_mode)) {
      char buf[4096];
      if (read_file(p, buf, sizeof buf) > 0 && strstr(buf, "PRIVATE KEY")) { snprintf(found, cap, "%s", p); hit = 1; }
    }
  }
  closedir(d);
  return hit;
}

static void mode_nemoclaw_home(const char *dir) {
  char found[1024] = "", p[1024];
  snprintf(p, sizeof p, "%s/keys", dir);
  if (walk_keys(p, 0, found, sizeof found)) escaped("read nemoclaw's private signing key %s", found);
  snprintf(p, sizeof p, "%s/audit", dir);
  DIR *d = opendir(p);
  if (!d) note("opendir %s: %s", p, E);
  else {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strncmp(e->d_name, "seg-", 4)) continue;
      char f[1400];
      snprintf(f, sizeof f, "%s/%s", p, e->d_name);
      int fd = open(f, O_WRONLY | O_APPEND);
      if (fd >= 0) { close(fd); closedir(d); escaped("opened nemoclaw's audit log %s for appending", f); }
      note("open %s for append: %s", f, E);
    }
    closedir(d);
  }
  blocked();
}

static void mode_protected(void) {
  const char *paths[] = { ".git/config", ".git/hooks/pre-commit", ".git/info/attributes", ".vscode/tasks.json", ".envrc" };
  char got[512] = "";
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s", paths[i]);
    char *slash = strrchr(dir, '/');
    if (slash) { *slash = 0; if (mkdir(dir, 0755) < 0 && errno != EEXIST) { note("mkdir %s: %s", dir, E); continue; } }
    int fd = open(paths[i], O_WRONLY | O_CREAT | O_APPEND, 0755);
    if (fd < 0) { note("open %s: %s", paths[i], E); continue; }
    ssize_t n = write(fd, "\n# nemoclaw-escape\n", 19);
    close(fd);
    if (n > 0) { strcat(got, paths[i]); strcat(got, " "); }
    else note("write %s: %s", paths[i], E);
  }
  if (got[0]) escaped("wrote code-execution hooks the host runs later: %s", got);
  blocked();
}

static void mode_protected_swap(void) {
  if (rename(".git", ".git-moved-away") < 0) note("rename .git: %s", E);
  else {
    if (mkdir(".git", 0755) == 0 && mkdir(".git/hooks", 0755) == 0) {
      int fd = open(".git/hooks/pre-commit", O_WRONLY | O_CREAT | O_TRUNC, 0755);
      if (fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10) escaped("moved .git away and planted .git/hooks/pre-commit in a fresh one");
      note("create .git/hooks/pre-commit in the fresh .git: %s", E);
    } else note("recreate .git: %s", E);
  }
  if (mkdir("decoy", 0755) == 0 && mkdir("decoy/hooks", 0755) == 0) {
    int fd = open("decoy/hooks/pre-commit", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd >= 0) close(fd);
    rename(".git", ".git-moved-again");
    if (symlink("decoy", ".git") == 0) escaped("replaced .git by a symlink to a decoy with hooks");
    note("symlink .git -> decoy: %s", E);
  }
  blocked();
}

static void mode_fcap_plant(void) {
  unlink("planted-fcap");
  if (copy_file("/proc/self/exe", "planted-fcap", 0755) < 0) probe_error("copy: %s", E);
  /* struct vfs_cap_data, revision 2: CAP_DAC_READ_SEARCH (bit 2) permitted, effective flag set. */
  unsigned int cap[5] = { 0x02000000 | 0x1, 1u << 2, 0, 0, 0 };
  if (setxattr("planted-fcap", "security.capability", cap, sizeof cap, 0) < 0) { note("setxattr security.capability: %s", E); unlink("planted-fcap"); blocked(); }
  unsigned int back[5] = { 0 };
  ssize_t n = getxattr("planted-fcap", "security.capability", back, sizeof back);
  if (n > 0 && (back[1] & (1u << 2))) escaped("gave an executable in the workspace file capabilities (cap_dac_read_search)");
  note("the capability did not stick (%zd)", n);
  blocked();
}

static void mode_handle_print(const char *path) {
  struct { struct file_handle fh; unsigned char data[128]; } h;
  h.fh.handle_bytes = sizeof h.data;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0) probe_error("name_to_handle_at %s: %s", path, E);
  printf("%d:", h.fh.handle_type);
  for (unsigned i = 0; i < h.fh.handle_bytes; i++) printf("%02x", h.fh.f_handle[i]);
  printf("\n");
  exit(0);
}

static void mode_handle_open(const char *hex, const char *marker) {
  struct { struct file_handle fh; unsigned char data[128]; } h;
  int type = atoi(hex);
  const char *p = strchr(hex, ':');
  if (!p) probe_error("bad handle %s", hex);
  p++;
  unsigned n = 0;
  while (p[0] && p[1] && n < sizeof h.data) { unsigned b; sscanf(p, "%2x", &b); h.fh.f_handle[n++] = (unsigned char)b; p += 2; }
  h.fh.handle_bytes = n;
  h.fh.handle_type = type;
  int mfd = open(".", O_RDONLY | O_DIRECTORY);
  if (mfd < 0) probe_error("open .: %s", E);
  int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY);
  if (fd < 0) { note("open_by_handle_at: %s", E); blocked(); }
  char buf[4096];
  ssize_t r = read(fd, buf, sizeof buf - 1);
  if (r > 0) { buf[r] = 0; if (strstr(buf, marker)) escaped("open_by_handle_at opened the host's secret outside the workspace"); }
  escaped("open_by_handle_at opened a file by handle (CAP_DAC_READ_SEARCH)");
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: fs MODE ...");
  const char *m = argv[1];
  if (!strcmp(m, "write") && argc >= 4) mode_write(argv[2], argv[3]);
  if (!strcmp(m, "read") && argc >= 4) {
    if (has_marker(argv[2], argv[3])) escaped("read %s", argv[2]);
    blocked();
  }
  if (!strcmp(m, "read-any") && argc >= 4) {
    for (int i = 3; i < argc; i++)
      if (has_marker(argv[i], argv[2])) escaped("read %s", argv[i]);
    blocked();
  }
  if (!strcmp(m, "symlink") && argc >= 5) mode_symlink(argv[2], argv[3], argv[4]);
  if (!strcmp(m, "hardlink") && argc >= 4) mode_hardlink(argv[2], argv[3]);
  if (!strcmp(m, "planted") && argc >= 4) mode_planted(argv[2], argv[3]);
  if (!strcmp(m, "procroot") && argc >= 5) mode_procroot(argv[2], argv[3], argv[4]);
  if (!strcmp(m, "procsys")) mode_procsys();
  if (!strcmp(m, "procread")) mode_procread();
  if (!strcmp(m, "syswrite")) mode_syswrite();
  if (!strcmp(m, "mknod")) mode_mknod();
  if (!strcmp(m, "devblock")) mode_devblock();
  if (!strcmp(m, "devsens")) mode_devsens();
  if (!strcmp(m, "devlist")) mode_devlist();
  if (!strcmp(m, "fds") && argc >= 3) mode_fds(argv[2]);
  if (!strcmp(m, "handle-print") && argc >= 3) mode_handle_print(argv[2]);
  if (!strcmp(m, "suid-plant")) mode_suid_plant();
  if (!strcmp(m, "fcap-plant")) mode_fcap_plant();
  if (!strcmp(m, "protected")) mode_protected();
  if (!strcmp(m, "protected-swap")) mode_protected_swap();
  if (!strcmp(m, "nemoclaw-home") && argc >= 3) mode_nemoclaw_home(argv[2]);
  if (!strcmp(m, "reopen-stdin") && argc >= 3) mode_reopen_stdin(argv[2]);
  if (!strcmp(m, "handle-open") && argc >= 4) mode_handle_open(argv[2], argv[3]);
  probe_error("unknown mode or missing args: %s", m);
}
