/* The seccomp filter. Baseline denies go through user notification so the monitor can report
 * them and answer EPERM; if the monitor (and so the listener fd) is gone, the kernel answers
 * ENOSYS instead: a dead monitor never turns a notified syscall into an allowed one.
 * The BPF is a prefilter; seccomp_verdict() below is the one place that decides. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define TIOCSTI_ 0x5412
#define TIOCLINUX_ 0x541C
#define NETLINK_ROUTE_ 0

static const int baseline[] = {
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_bpf, SYS_perf_event_open,
    SYS_userfaultfd, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_mount, SYS_umount2,
    SYS_fsopen, SYS_fsmount, SYS_fsconfig, SYS_fspick, SYS_move_mount, SYS_open_tree,
    SYS_mount_setattr, SYS_pivot_root, SYS_chroot, SYS_setns, SYS_io_uring_setup,
    SYS_io_uring_enter, SYS_io_uring_register, SYS_kexec_load, SYS_kexec_file_load,
    SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_execveat, SYS_syslog, SYS_reboot,
    SYS_swapon, SYS_swapoff, SYS_acct, SYS_quotactl, 443 /* quotactl_fd */, SYS_iopl, SYS_ioperm,
    SYS_vhangup, SYS_uselib, SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_pidfd_getfd,
    SYS_kcmp, SYS_process_madvise, SYS_fanotify_init, SYS_settimeofday, SYS_clock_settime,
    SYS_clock_adjtime, SYS_adjtimex, SYS_modify_ldt, SYS_lookup_dcookie, SYS__sysctl,
    SYS_nfsservctl, 467 /* open_tree_attr */,
};
#define NBASE ((int)(sizeof baseline / sizeof baseline[0]))

static int extra_deny[MAX_LIST], n_extra;
static int logged[MAX_LIST], n_logged;
static int exec_notify;

static int resolve(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
        char *end;
        long v = strtol(name, &end, 10); /* raw numbers for syscalls newer than libseccomp */
        if (*name && !*end && v >= 0 && v < 1024)
            return (int)v;
        return -1;
    }
    return nr;
}

/* Runs in the monitor before clone(), so both sides share the resolved lists. On an unknown
 * name, *bad names it and -1 is returned. */
int seccomp_prepare(struct config *c, const char **bad)
{
    for (int i = 0; i < c->deny_syscall.n; i++)
        if ((extra_deny[n_extra++] = resolve(c->deny_syscall.v[i])) < 0) {
            *bad = c->deny_syscall.v[i];
            return -1;
        }
    for (int i = 0; i < c->log_syscall.n; i++)
        if ((logged[n_logged++] = resolve(c->log_syscall.v[i])) < 0) {
            *bad = c->log_syscall.v[i];
            return -1;
        }
    exec_notify = c->exec_allow.n > 0;
    return 0;
}

static int in(const int *a, int n, int nr)
{
    for (int i = 0; i < n; i++)
        if (a[i] == nr)
            return 1;
    return 0;
}

int seccomp_is_logged(int nr) { return in(logged, n_logged, nr); }

/* Which argument carries a file mode. A setuid/setgid bit made inside the sandbox would be real
 * on the host: through the idmapped workspace, a file the workload creates belongs to the
 * workspace's owner (often root), so chmod 4755 there would plant a setuid-root binary. */
static int mode_arg_of(int nr)
{
    switch (nr) {
    case SYS_chmod: case SYS_fchmod: case SYS_creat: case SYS_mknod:
        return 1;
    case SYS_fchmodat: case 452 /* fchmodat2 */: case SYS_open: case SYS_mknodat:
        return 2;
    case SYS_openat:
        return 3;
    }
    return -1;
}

/* The decision for one notified call, from register values only (never target memory). */
int seccomp_verdict(int nr, const uint64_t *a)
{
    if (in(baseline, NBASE, nr) || in(extra_deny, n_extra, nr))
        return SV_DENY;
    int mode_arg = mode_arg_of(nr);
    if (mode_arg >= 0 && (a[mode_arg] & (S_ISUID | S_ISGID)))
        return SV_DENY;
    switch (nr) {
    case SYS_clone:
        if (a[0] & NS_FLAGS)
            return SV_DENY;
        break;
    case SYS_unshare:
        if (a[0] & (NS_FLAGS | CLONE_NEWTIME))
            return SV_DENY;
        break;
    case SYS_ioctl:
        if ((uint32_t)a[1] == TIOCSTI_ || (uint32_t)a[1] == TIOCLINUX_)
            return SV_DENY;
        break;
    case SYS_personality:
        if ((uint32_t)a[0] != 0 && (uint32_t)a[0] != 0xffffffffu)
            return SV_DENY;
        break;
    case SYS_socket: {
        uint64_t fam = a[0], type = a[1] & 0xf;
        /* Raw netlink stays: getifaddrs() (Node's os.networkInterfaces) opens it that way. */
        if ((fam == AF_INET || fam == AF_INET6) && (type == SOCK_RAW || type == SOCK_PACKET))
            return SV_DENY;
        if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6)
            break;
        if (fam == AF_NETLINK && a[2] == NETLINK_ROUTE_)
            break;
        return SV_DENY;
    }
    case SYS_execve:
        if (exec_notify)
            return SV_EXEC;
        break;
    case SYS_connect:
        return SV_CONNECT;
    }
    return SV_CONTINUE;
}

#define RULE(act, nr, cnt, ...)                                                          \
    do {                                                                                 \
        int _r = seccomp_rule_add(ctx, act, nr, cnt, ##__VA_ARGS__);                     \
        if (_r < 0 && _r != -EEXIST) {                                                   \
            *step = "seccomp_rule_add";                                                  \
            seccomp_release(ctx);                                                        \
            return -_r;                                                                  \
        }                                                                                \
    } while (0)

/* Compiled by the monitor while init builds the mounts (the two run in parallel), then sent
 * to the workload, which only loads it. Returns 0 or an errno, with *step naming the call. */
/* The cache key (bpfcache.c): everything the program is compiled from. The rules are this file's
 * code, so its build time stands for them; the lists are the policy's; libseccomp's version and
 * the architecture decide the encoding. */
static void cache_key(char hex[65])
{
    char text[16384];
    const struct scmp_version *v = seccomp_version();
    int n = snprintf(text, sizeof text, "nemoclaw-sandbox seccomp 1 build %s %s libseccomp %u.%u.%u arch %u exec %d deny",
                     __DATE__, __TIME__, v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, seccomp_arch_native(), exec_notify);
    for (int i = 0; i < n_extra && n > 0 && (size_t)n < sizeof text; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, " %d", extra_deny[i]);
    if (n > 0 && (size_t)n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, " log");
    for (int i = 0; i < n_logged && n > 0 && (size_t)n < sizeof text; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, " %d", logged[i]);
    if (n < 0 || (size_t)n >= sizeof text)
        n = 0, text[0] = 0; /* cannot happen with MAX_LIST entries; an empty key never matches a real one */
    sha256_buf(text, (size_t)n, hex);
}

int seccomp_build(struct config *c, void **out, size_t *outlen, const char **step)
{
    char key[65];
    if (c->seccomp_cache) {
        cache_key(key);
        if (bpfcache_load(c->seccomp_cache, key, out, outlen) == 0)
            return 0;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    *step = "seccomp_init";
    if (!ctx)
        return ENOMEM;
    /* Foreign-arch (i386 int 0x80) and x32 calls die: no argument check can be trusted there. */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    *step = "seccomp badarch";
    if (r < 0) {
        seccomp_release(ctx);
        return -r;
    }
    const uint32_t N = SCMP_ACT_NOTIFY;
    for (int i = 0; i < NBASE; i++)
        RULE(N, baseline[i], 0);
    for (int i = 0; i < n_extra; i++)
        RULE(N, extra_deny[i], 0);
    for (int i = 0; i < n_logged; i++)
        RULE(N, logged[i], 0);
    /* glibc falls back to clone(2) on ENOSYS, whose flags we can inspect; clone3's are in memory. */
    RULE(SCMP_ACT_ERRNO(ENOSYS), SYS_clone3, 0);
    const uint64_t ns[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                           CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME};
    for (int i = 0; i < 8; i++) {
        if (ns[i] != CLONE_NEWTIME) /* 0x80 is part of the exit signal for clone(2) */
            RULE(N, SYS_clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
        RULE(N, SYS_unshare, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
    }
    RULE(N, SYS_ioctl, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI_));
    RULE(N, SYS_ioctl, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX_));
    RULE(N, SYS_personality, 0);
    const int inet[] = {AF_INET, AF_INET6}, bad_types[] = {SOCK_RAW, SOCK_PACKET};
    for (int f = 0; f < 2; f++)
        for (int t = 0; t < 2; t++)
            RULE(N, SYS_socket, 2, SCMP_A0(SCMP_CMP_EQ, (uint64_t)inet[f]),
                 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)bad_types[t]));
    /* Families as full 64-bit values: anything with high bits set is > AF_NETLINK and denied. */
    RULE(N, SYS_socket, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNSPEC));
    for (int f = 3; f < AF_NETLINK; f++)
        if (f != AF_INET6)
            RULE(N, SYS_socket, 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t)f));
    RULE(N, SYS_socket, 1, SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
    RULE(N, SYS_socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE_));
    const int moded[] = {SYS_chmod, SYS_fchmod, SYS_creat, SYS_mknod, SYS_fchmodat, 452, SYS_open, SYS_mknodat, SYS_openat};
    for (int i = 0; i < 9; i++) {
        unsigned arg = (unsigned)mode_arg_of(moded[i]);
        RULE(N, moded[i], 1, ((struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, S_ISUID, S_ISUID}));
        RULE(N, moded[i], 1, ((struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, S_ISGID, S_ISGID}));
    }
    /* openat2 keeps its mode in memory we cannot filter; libc never needs it. */
    RULE(SCMP_ACT_ERRNO(ENOSYS), SYS_openat2, 0);
    RULE(N, SYS_connect, 0);
    if (exec_notify)
        RULE(N, SYS_execve, 0);

    /* Exported and loaded by hand: we need NEW_LISTENER's fd and WAIT_KILLABLE_RECV. */
    *step = "seccomp export";
    int mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (mfd < 0) {
        seccomp_release(ctx);
        return errno;
    }
    r = seccomp_export_bpf(ctx, mfd);
    seccomp_release(ctx);
    off_t len = lseek(mfd, 0, SEEK_END);
    if (r < 0 || len <= 0 || len % (off_t)sizeof(struct sock_filter) || len > 60000) {
        close(mfd);
        return r < 0 ? -r : EINVAL;
    }
    void *insns = malloc((size_t)len);
    if (!insns || pread(mfd, insns, (size_t)len, 0) != len) {
        close(mfd);
        free(insns);
        return EIO;
    }
    close(mfd);
    *out = insns;
    *outlen = (size_t)len;
    if (c->seccomp_cache)
        bpfcache_store(c->seccomp_cache, key, insns, (size_t)len);
    return 0;
}

void seccomp_install(void *insns, size_t len, int *notify_fd)
{
    if (len % sizeof(struct sock_filter) || len == 0)
        child_fail("seccomp filter from monitor", EINVAL);
    struct sock_fprog prog = {(unsigned short)(len / sizeof(struct sock_filter)), insns};
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (fd < 0 && errno == EINVAL)
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0)
        child_fail("seccomp(SET_MODE_FILTER)", errno);
    *notify_fd = (int)fd;
}

const char *seccomp_name(int nr, char *buf, size_t len)
{
    char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (n) {
        snprintf(buf, len, "%s", n);
        free(n);
    } else {
        snprintf(buf, len, "syscall_%d", nr);
    }
    return buf;
}
