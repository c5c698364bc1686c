/* The workload's last steps before execve: session, rlimits, capabilities, NoNewPrivs,
 * Landlock, seccomp, then a read-back of what the kernel says is in force for the ready event. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void drop_caps(void)
{
    /* Lock the uid-0 special cases away too, in case a mapping for 0 ever appears. */
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
        child_fail("prctl(SET_SECUREBITS)", errno);
    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past CAP_LAST_CAP */
            child_fail("prctl(CAPBSET_DROP)", errno);
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        child_fail("prctl(CAP_AMBIENT_CLEAR_ALL)", errno);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d) < 0)
        child_fail("capset", errno);
}

static const char *status_field(const char *st, const char *key, char *out, size_t len)
{
    const char *p = strstr(st, key);
    if (!p) {
        snprintf(out, len, "?");
        return out;
    }
    p += strlen(key);
    while (*p == '\t' || *p == ' ')
        p++;
    size_t n = strcspn(p, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

static void cap_hex(const char *st, const char *key, char *out, size_t len)
{
    char v[64];
    status_field(st, key, v, sizeof v);
    snprintf(out, len, "%llx", strtoull(v, NULL, 16));
}

/* An rlimit as the kernel now has it, as JSON (null: unlimited). */
static void rlim_json(int res, char *out, size_t len)
{
    struct rlimit rl;
    if (getrlimit(res, &rl) < 0)
        child_fail("getrlimit", errno);
    if (rl.rlim_cur == RLIM_INFINITY)
        snprintf(out, len, "null");
    else
        snprintf(out, len, "%llu", (unsigned long long)rl.rlim_cur);
}

/* Since Linux 5.14 RLIMIT_NPROC is counted per (user namespace, uid): the workload always has
 * its own user namespace, so --nproc bounds this sandbox alone, whatever host uid it maps to and
 * however many other processes that host uid has. Older kernels count the host uid. */
static const char *nproc_scope(void)
{
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return "unknown";
    return major > 5 || (major == 5 && minor >= 14) ? "user_namespace" : "host_uid";
}

static char **env_array(struct config *c)
{
    char **envp = calloc((size_t)c->env.n + 1, sizeof *envp);
    if (!envp)
        child_fail("calloc env", ENOMEM);
    for (int i = 0; i < c->env.n; i++)
        envp[i] = (char *)c->env.v[i];
    return envp;
}

static const char *resolve_cmd(const char *cmd, char **envp, char *buf, size_t len, int *err)
{
    if (strchr(cmd, '/'))
        return cmd;
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = envp; *e; e++)
        if (!strncmp(*e, "PATH=", 5))
            path = *e + 5;
    *err = ENOENT;
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", cmd);
        if (access(buf, X_OK) == 0)
            return buf;
        if (errno == EACCES)
            *err = EACCES;
        path += n;
        if (*path == ':')
            path++;
    }
    return NULL;
}

void workload_main(struct setup *s)
{
    struct config *c = s->cfg;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_fail("workload prctl(PDEATHSIG)", errno);
    if (getppid() != 1)
        _exit(EXIT_SETUP); /* init died before we armed the death signal */
    /* init is non-dumpable and we inherited that; execve would reset it anyway, but the
     * (possibly unprivileged) monitor must read our /proc/<pid>/ns before that. */
    if (prctl(PR_SET_DUMPABLE, 1) < 0)
        child_fail("prctl(DUMPABLE)", errno);
    for (int i = 1; i < _NSIG; i++)
        signal(i, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        child_fail("workload sigprocmask", errno);

    /* A new session has no controlling terminal: TIOCSTI on the host tty is out of reach. */
    if (setsid() < 0)
        child_fail("setsid", errno);
    if (s->tty_slave >= 0) {
        if (ioctl(s->tty_slave, TIOCSCTTY, 0) < 0)
            child_fail("ioctl(TIOCSCTTY)", errno);
        for (int i = 0; i < 3; i++)
            if (dup2(s->tty_slave, i) < 0)
                child_fail("dup2 tty", errno);
        close(s->tty_slave);
    }
    limits_rlimits(c);
    if (chdir(c->workspace ? c->workspace : "/home/sandbox") < 0)
        child_fail("chdir workspace", errno);
    /* Opened before Landlock (which does not grant /proc/self writes) and read after seccomp. */
    int status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (status_fd < 0)
        child_fail("open /proc/self/status", errno);

    char **envp = NULL;
    char pathbuf[4096];
    int rerr = 0;
    /* With --await-argv the command is not known yet: it is resolved after the claim, inside
     * everything below (cli.c refuses the one policy where Landlock needs it first). */
    const char *path = c->await_argv ? NULL : resolve_cmd(c->argv[0], envp = env_array(c), pathbuf, sizeof pathbuf, &rerr);
    drop_caps();
    struct ll_result ll;
    landlock_apply(c, &ll, path);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail("prctl(NO_NEW_PRIVS)", errno);

    /* Read back before the filter is in: a --deny-syscall'd uname or prlimit64 would otherwise
     * wait on the monitor, which is still waiting for ready. */
    char lnproc[32], lnofile[32], lfsize[32], lcore[32];
    rlim_json(RLIMIT_NPROC, lnproc, sizeof lnproc);
    rlim_json(RLIMIT_NOFILE, lnofile, sizeof lnofile);
    rlim_json(RLIMIT_FSIZE, lfsize, sizeof lfsize);
    rlim_json(RLIMIT_CORE, lcore, sizeof lcore);
    const char *nscope = nproc_scope();
    /* Additions: /tmp's size as mounted (the kernel rounds to pages), so the report shows what
     * holds rather than what was asked. */
    struct statvfs tv;
    if (statvfs("/tmp", &tv) < 0)
        child_fail("statvfs /tmp", errno);
    unsigned long long tmp_bytes = (unsigned long long)tv.f_blocks * tv.f_frsize;

    static char bpf[65536];
    ssize_t bl;
    do
        bl = recv(s->chan, bpf, sizeof bpf, 0);
    while (bl < 0 && errno == EINTR);
    if (bl < 1 || bpf[0] != MSG_BPF)
        _exit(EXIT_SETUP); /* the monitor is gone or failed; it reports why */
    int nfd = -1;
    seccomp_install(bpf + 1, (size_t)bl - 1, &nfd);

    char st[8192];
    ssize_t n = pread(status_fd, st, sizeof st - 1, 0);
    if (n < 0)
        child_fail("read /proc/self/status", errno);
    st[n] = 0;
    close(status_fd);
    char nnp[16], sc[16], scf[16], ce[32], cp[32], cb[32], ca[32];
    status_field(st, "NoNewPrivs:", nnp, sizeof nnp);
    status_field(st, "Seccomp:", sc, sizeof sc);
    status_field(st, "Seccomp_filters:", scf, sizeof scf);
    cap_hex(st, "CapEff:", ce, sizeof ce);
    cap_hex(st, "CapPrm:", cp, sizeof cp);
    cap_hex(st, "CapBnd:", cb, sizeof cb);
    cap_hex(st, "CapAmb:", ca, sizeof ca);

    char msg[8192];
    int m = snprintf(msg, sizeof msg,
                     "\"landlock\":{\"abi\":%d,\"fs_rights_handled\":%llu,\"net\":%s,\"scoped\":[%s%s%s],\"exec_restricted\":%s,\"exec_scope\":\"%s\"},"
                     "\"seccomp\":{\"mode\":\"%s\",\"filters\":%d,\"notify\":true},"
                     "\"no_new_privs\":%s,\"cap_eff\":\"%s\",\"cap_prm\":\"%s\",\"cap_bnd\":\"%s\",\"cap_amb\":\"%s\","
                     "\"uid\":%u,\"gid\":%u,"
                     "\"limits\":{\"nproc\":%s,\"nproc_scope\":\"%s\",\"nofile\":%s,\"fsize\":%s,\"core\":%s,\"tmp_size\":%llu}",
                     ll.abi, ll.fs_handled, ll.net ? "true" : "false",
                     ll.scoped_abstract ? "\"abstract_unix_socket\"" : "",
                     ll.scoped_abstract && ll.scoped_signal ? "," : "", ll.scoped_signal ? "\"signal\"" : "",
                     ll.exec_restricted ? "true" : "false",
                     ll.exec_restricted == 1 ? "allowlist" : ll.exec_restricted == 2 ? "allowlist_and_read_only" : "all",
                     atoi(sc) == 2 ? "filter" : "none", atoi(scf), atoi(nnp) == 1 ? "true" : "false",
                     ce, cp, cb, ca, (unsigned)getuid(), (unsigned)getgid(),
                     lnproc, nscope, lnofile, lfsize, lcore, tmp_bytes);
    msg[m++] = 0;
    m += snprintf(msg + m, sizeof msg - (size_t)m, "[");
    for (int i = 0; i < g_skipped.n; i++) {
        char q[4200];
        json_str(q, sizeof q, g_skipped.v[i]);
        m += snprintf(msg + m, sizeof msg - (size_t)m, "%s%s", i ? "," : "", q);
    }
    m += snprintf(msg + m, sizeof msg - (size_t)m, "]");
    msg[m++] = 0;
    m += snprintf(msg + m, sizeof msg - (size_t)m, "%s%s", ll.degraded,
                  g_memfd_exec_open ? (ll.degraded[0] ? ",\"memfd_exec\"" : "\"memfd_exec\"") : "");
    if (chan_send(s->chan, MSG_READY, msg, (size_t)m + 1, &nfd, 1) < 0)
        child_fail("send ready to monitor", errno);
    close(nfd);
    static char ack[CLAIM_MAX + 1];
    ssize_t ar;
    do
        ar = recv(s->chan, ack, sizeof ack, 0);
    while (ar < 0 && errno == EINTR);
    if (ar < 1 || ack[0] != MSG_ACK)
        _exit(EXIT_SETUP); /* monitor gone */
    if (c->await_argv) {
        /* The claim (claim.c): the command and its environment. The exec server, forked below,
         * uses the same environment for what it runs. */
        if (claim_unpack(ack + 1, (size_t)ar - 1, c) < 0)
            child_fail("claim: malformed argv from monitor", EINVAL);
        envp = env_array(c);
        path = resolve_cmd(c->argv[0], envp, pathbuf, sizeof pathbuf, &rerr);
    } else if (ar != 1) {
        _exit(EXIT_SETUP);
    }

    /* Additions: the exec server is forked here, with every restriction already in force, and
     * reparented to init (double fork) so the workload never sees it as its child. */
    if (s->exec_listen >= 0) {
        pid_t a = fork();
        if (a < 0)
            child_fail("fork exec server", errno);
        if (a == 0) {
            pid_t b = fork();
            if (b < 0)
                _exit(1);
            if (b == 0) {
                close(s->chan);
                if (s->tty_slave >= 0)
                    close(s->tty_slave);
                execsrv_main(s->exec_listen, c);
            }
            _exit(0);
        }
        int st;
        while (waitpid(a, &st, 0) < 0)
            if (errno != EINTR)
                child_fail("wait exec server launcher", errno);
        close(s->exec_listen);
    }
    /* Only 0-2 cross execve; the channel stays just long enough to report an exec failure. */
    if (s->chan > 3 && syscall(SYS_close_range, 3, s->chan - 1, 0) < 0)
        child_fail("close_range", errno);
    if (syscall(SYS_close_range, s->chan + 1, ~0U, 0) < 0)
        child_fail("close_range", errno);
    if (fcntl(s->chan, F_SETFD, FD_CLOEXEC) < 0)
        child_fail("fcntl(FD_CLOEXEC)", errno);
    int err = rerr;
    if (path) {
        execve(path, c->argv, envp);
        err = errno;
    }
    chan_send(s->chan, MSG_EXECFAIL, &err, sizeof err, NULL, 0);
    _exit(err == ENOENT ? 127 : 126);
}
