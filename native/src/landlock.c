/* Landlock at the highest ABI the kernel offers. Debian 12's UAPI header stops at ABI 2, so the
 * constants and structs for ABI 1-7 are spelled out here (values from the kernel UAPI). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */

#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)        /* ABI 6 */

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
    uint64_t allowed_access;
    uint64_t port;
};

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

int landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : (int)v;
}

static uint64_t fs_for_abi(int abi)
{
    uint64_t r = (LL_FS_MAKE_SYM << 1) - 1;
    if (abi >= 2)
        r |= LL_FS_REFER;
    if (abi >= 3)
        r |= LL_FS_TRUNCATE;
    if (abi >= 5)
        r |= LL_FS_IOCTL_DEV;
    return r;
}

static void degrade(struct ll_result *r, const char *what)
{
    size_t n = strlen(r->degraded);
    snprintf(r->degraded + n, sizeof r->degraded - n, "%s\"%s\"", n ? "," : "", what);
}

static void add_path(int rs, const char *path, uint64_t rights, uint64_t handled, int missing_ok)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (missing_ok && (errno == ENOENT || errno == ENOTDIR))
            return;
        child_fail("landlock open rule path", errno);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        child_fail("landlock fstat rule path", errno);
    /* Directory-only rights on a file make the rule invalid; keep what applies to files. */
    if (!S_ISDIR(st.st_mode))
        rights &= FILE_RIGHTS;
    struct ll_path_beneath_attr pb = {rights & handled, fd};
    if (pb.allowed_access && syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
        child_fail("landlock_add_rule(path)", errno);
    close(fd);
}

static void add_port(int rs, uint64_t right, uint16_t port)
{
    struct ll_net_port_attr np = {right, port};
    if (syscall(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &np, 0) < 0)
        child_fail("landlock_add_rule(port)", errno);
}

/* The directory (or file) an exec glob can match at most: its literal part up to the last
 * slash before the first wildcard ("/usr/bin/" + star gives "/usr/bin"; a literal path is kept). */
static int glob_literal_dir(const char *g, char *out, size_t len)
{
    if (g[0] != '/')
        return 0;
    size_t w = strcspn(g, "*?[");
    if (!g[w]) {
        snprintf(out, len, "%s", g);
        return 1;
    }
    size_t cut = w;
    while (cut > 0 && g[cut] != '/')
        cut--;
    snprintf(out, len, "%.*s", (int)(cut ? cut : 1), g);
    return 1;
}

static int script_interpreter(const char *path, char *out, size_t len)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 3 || buf[0] != '#' || buf[1] != '!')
        return 0;
    buf[n] = 0;
    char *p = buf + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t k = strcspn(p, " \t\n");
    if (!k || p[0] != '/')
        return 0;
    snprintf(out, len, "%.*s", (int)k, p);
    return 1;
}

/* Called in the workload after pivot_root, so paths are those of the sandbox view. cmd_path is
 * the resolved CMD, which stays executable whatever the allowlist says. */
void landlock_apply(struct config *c, struct ll_result *r, const char *cmd_path)
{
    memset(r, 0, sizeof *r);
    int abi = landlock_abi();
    r->abi = abi;
    if (c->landlock_hard && abi < 6)
        child_fail(abi ? "landlock: ABI < 6 (network rules and scoping need 4 and 6)" : "landlock: not available",
                   abi ? EOPNOTSUPP : ENOSYS);
    if (abi < 1) {
        degrade(r, "landlock");
        return;
    }
    uint64_t fs = fs_for_abi(abi);
    struct ll_ruleset_attr ra = {0};
    ra.handled_access_fs = fs;
    if (abi < 2)
        degrade(r, "landlock_refer");
    if (abi < 3)
        degrade(r, "landlock_truncate");
    if (abi >= 4)
        ra.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    else
        degrade(r, "landlock_net");
    if (abi < 5)
        degrade(r, "landlock_ioctl_dev");
    if (abi >= 6)
        ra.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
    else
        degrade(r, "landlock_scope");
    size_t sz = abi >= 6 ? sizeof ra : abi >= 4 ? 16 : 8;
    int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sz, 0);
    if (rs < 0)
        child_fail("landlock_create_ruleset", errno);

    /* With an allowlist and no way to widen it (unmatched deny), Landlock's execute set is the
     * allowlist itself: the notification check on the execve path can be raced by another
     * thread, Landlock's check on the opened file cannot. */
    /* Under "ask", what the operator may approve stays executable, but only from read-only
     * binds: a file the workload wrote itself can never be the target of a raced execve. */
    const int exec_narrow = c->exec_allow.n > 0 && c->exec_unmatched == EXEC_DENY;
    const int exec_ro_only = c->exec_allow.n > 0 && c->exec_unmatched == EXEC_ASK;
    const uint64_t X = exec_narrow ? 0 : LL_FS_EXECUTE;
    const uint64_t RX = LL_FS_READ_FILE | LL_FS_READ_DIR | X;
    const uint64_t RW = (exec_narrow || exec_ro_only) ? fs & ~LL_FS_EXECUTE : fs;
    for (int i = 0; i < c->ro.n; i++)
        add_path(rs, c->ro.v[i], RX, fs, 1);
    for (int i = 0; i < c->rw.n; i++)
        add_path(rs, c->rw.v[i], RW, fs, 1);
    if (c->workspace)
        add_path(rs, c->workspace, RW, fs, 0);
    add_path(rs, "/home/sandbox", RW, fs, 0);
    add_path(rs, "/tmp", RW, fs, 0);
    add_path(rs, "/var/tmp", RW, fs, 0);
    if (exec_narrow || exec_ro_only) {
        for (int i = 0; i < c->exec_allow.n; i++) {
            char dir[4096];
            if (glob_literal_dir(c->exec_allow.v[i], dir, sizeof dir))
                add_path(rs, dir, LL_FS_EXECUTE, fs, 1);
        }
        /* execve also opens the ELF interpreter and a script's #! interpreter for execution. */
        const char *loaders[] = {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-x86_64.so.1"};
        for (int i = 0; i < 3; i++)
            add_path(rs, loaders[i], LL_FS_EXECUTE, fs, 1);
        if (cmd_path) {
            add_path(rs, cmd_path, LL_FS_EXECUTE, fs, 1);
            char interp[4096];
            if (script_interpreter(cmd_path, interp, sizeof interp))
                add_path(rs, interp, LL_FS_EXECUTE, fs, 1);
        }
        r->exec_restricted = exec_narrow ? 1 : 2;
    }
    add_path(rs, "/dev/shm", RW & ~LL_FS_EXECUTE, fs, 0);
    add_path(rs, "/dev", LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_READ_DIR | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV, fs, 0);
    /* Listing the root only shows mount points: the mount view, not Landlock, hides the host. */
    add_path(rs, "/", LL_FS_READ_DIR, fs, 0);
    add_path(rs, "/proc", LL_FS_READ_FILE | LL_FS_READ_DIR, fs, 0);

    if (abi >= 4) {
        add_port(rs, LL_NET_CONNECT_TCP, PROXY_PORT);
        for (int i = 0; i < c->tcp_connect.n; i++)
            add_port(rs, LL_NET_CONNECT_TCP, c->tcp_connect.v[i]);
        for (int i = 0; i < c->tcp_bind.n; i++)
            add_port(rs, LL_NET_BIND_TCP, c->tcp_bind.v[i]);
        r->net = 1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail("prctl(NO_NEW_PRIVS)", errno);
    if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
        child_fail("landlock_restrict_self", errno);
    close(rs);
    r->fs_handled = fs;
    r->scoped_signal = r->scoped_abstract = abi >= 6;
}
