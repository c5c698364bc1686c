/* argv parsing. Every malformed option is a setup failure (exit 125): a policy that cannot be
 * expressed must never silently run with less than it asked for. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_RO = 256, O_RW, O_WS, O_HOME, O_UID, O_GID, O_LANDLOCK, O_TBIND, O_TCONN, O_EXALLOW,
    O_EXUNM, O_DENY, O_LOG, O_NOFILE, O_FSIZE, O_NPROC, O_MEM, O_PIDS, O_CPU, O_WALL, O_PROXY,
    O_EVFD, O_CTLFD, O_TTY, O_ENV, O_HOSTNAME, O_ID, O_HOSTUID, O_ASKTO, O_NODWP, O_PROTECT, O_EXECSOCK, O_VERDICT,
    O_TMPSIZE, O_AWAITARGV, O_SCCACHE,
};

static const struct option opts[] = {
    {"ro", required_argument, 0, O_RO},
    {"rw", required_argument, 0, O_RW},
    {"workspace", required_argument, 0, O_WS},
    {"home", required_argument, 0, O_HOME},
    {"uid", required_argument, 0, O_UID},
    {"gid", required_argument, 0, O_GID},
    {"landlock", required_argument, 0, O_LANDLOCK},
    {"tcp-bind", required_argument, 0, O_TBIND},
    {"tcp-connect", required_argument, 0, O_TCONN},
    {"exec-allow", required_argument, 0, O_EXALLOW},
    {"exec-unmatched", required_argument, 0, O_EXUNM},
    {"deny-syscall", required_argument, 0, O_DENY},
    {"log-syscall", required_argument, 0, O_LOG},
    {"nofile", required_argument, 0, O_NOFILE},
    {"fsize", required_argument, 0, O_FSIZE},
    {"nproc", required_argument, 0, O_NPROC},
    {"memory", required_argument, 0, O_MEM},
    {"pids", required_argument, 0, O_PIDS},
    {"cpu", required_argument, 0, O_CPU},
    {"wall-time", required_argument, 0, O_WALL},
    {"proxy-socket", required_argument, 0, O_PROXY},
    {"events-fd", required_argument, 0, O_EVFD},
    {"control-fd", required_argument, 0, O_CTLFD},
    {"tty", no_argument, 0, O_TTY},
    {"env", required_argument, 0, O_ENV},
    {"hostname", required_argument, 0, O_HOSTNAME},
    {"sandbox-id", required_argument, 0, O_ID},
    {"host-uid", required_argument, 0, O_HOSTUID},
    {"ask-timeout", required_argument, 0, O_ASKTO},
    {"no-die-with-parent", no_argument, 0, O_NODWP},
    {"protect", required_argument, 0, O_PROTECT},
    {"exec-socket", required_argument, 0, O_EXECSOCK},
    {"await-verdict", no_argument, 0, O_VERDICT},
    {"tmp-size", required_argument, 0, O_TMPSIZE},
    {"await-argv", no_argument, 0, O_AWAITARGV},
    {"seccomp-cache", required_argument, 0, O_SCCACHE},
    {0, 0, 0, 0},
};

static struct config *cur;

static void bad(const char *opt, const char *val)
{
    /* An --events-fd seen before the bad option still gets its error event. */
    if (cur && cur->events_fd >= 0 && fcntl(cur->events_fd, F_GETFD) >= 0)
        ev_init(cur->events_fd);
    char step[512];
    snprintf(step, sizeof step, "argv: invalid value for %s: '%s'", opt, val ? val : "");
    die_setup(step, EINVAL);
}

static long long num(const char *opt, const char *s, long long min, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        bad(opt, s);
    return v;
}

static void push(struct strlist *l, const char *opt, const char *v)
{
    if (l->n >= MAX_LIST)
        bad(opt, "too many");
    l->v[l->n++] = v;
}

/* Paths are compared as strings later (prefixes, duplicates, exec allowlist globs), so they
 * must be canonical in form: absolute, no "." or ".." components, no doubled or trailing slash. */
int canonical_abs(const char *v)
{
    size_t n = strlen(v);
    if (v[0] != '/' || n >= PATH_MAX || (n > 1 && v[n - 1] == '/') || strstr(v, "//"))
        return 0;
    for (const char *p = v; (p = strstr(p, "/.")); p++)
        if (p[2] == '/' || p[2] == 0 || (p[2] == '.' && (p[3] == '/' || p[3] == 0)))
            return 0;
    return 1;
}

/* A trailing slash is harmless spelling (Node's path.normalize keeps it): drop it. */
static const char *strip_slash(const char *v)
{
    size_t n = strlen(v);
    if (n <= 1 || v[n - 1] != '/')
        return v;
    char *c = strdup(v);
    if (!c)
        bad("path", v);
    while (n > 1 && c[n - 1] == '/')
        c[--n] = 0;
    return c;
}

static void push_abs(struct strlist *l, const char *opt, const char *v)
{
    v = strip_slash(v);
    if (!canonical_abs(v))
        bad(opt, v);
    push(l, opt, v);
}

int cli_parse(int argc, char **argv, struct config *c)
{
    memset(c, 0, sizeof *c);
    cur = c;
    c->uid = 1000;
    c->gid = 1000;
    c->host_uid = ROOT_MODE_HOST_ID;
    c->landlock_hard = 1;
    c->exec_unmatched = EXEC_ASK;
    c->nofile = c->fsize = c->nproc = c->memory = c->pids = c->cpu = -1;
    c->events_fd = c->control_fd = -1;
    c->tmp_size = DEFAULT_TMP_SIZE;
    c->hostname = "nemoclaw";
    c->sandbox_id = "sandbox";
    c->die_with_parent = 1;
    int o;
    const long long big = LLONG_MAX / 2;
    optind = 1;
    opterr = 0; /* one line on stderr, ours */
    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        const char *a = optarg;
        const char *name = o >= 256 ? opts[o - 256].name : "?";
        switch (o) {
        case O_RO: push_abs(&c->ro, name, a); break;
        case O_RW: push_abs(&c->rw, name, a); break;
        case O_WS:
            a = strip_slash(a);
            if (!canonical_abs(a) || !strcmp(a, "/")) bad(name, a);
            c->workspace = a;
            break;
        case O_HOME:
            a = strip_slash(a);
            if (!canonical_abs(a) || !strcmp(a, "/")) bad(name, a);
            c->home = a;
            break;
        case O_UID: c->uid = (uid_t)num(name, a, 1, 0xfffffffeLL); break;
        case O_GID: c->gid = (gid_t)num(name, a, 1, 0xfffffffeLL); break;
        case O_HOSTUID: c->host_uid = (uid_t)num(name, a, 1, 0x7ffffffe); break;
        case O_LANDLOCK:
            if (!strcmp(a, "hard")) c->landlock_hard = 1;
            else if (!strcmp(a, "best-effort")) c->landlock_hard = 0;
            else bad(name, a);
            break;
        case O_TBIND:
            if (c->tcp_bind.n >= MAX_LIST) bad(name, a);
            c->tcp_bind.v[c->tcp_bind.n++] = (uint16_t)num(name, a, 1, 65535);
            break;
        case O_TCONN:
            if (c->tcp_connect.n >= MAX_LIST) bad(name, a);
            c->tcp_connect.v[c->tcp_connect.n++] = (uint16_t)num(name, a, 1, 65535);
            break;
        case O_EXALLOW: push(&c->exec_allow, name, a); break;
        case O_EXUNM:
            if (!strcmp(a, "allow")) c->exec_unmatched = EXEC_ALLOW;
            else if (!strcmp(a, "ask")) c->exec_unmatched = EXEC_ASK;
            else if (!strcmp(a, "deny")) c->exec_unmatched = EXEC_DENY;
            else bad(name, a);
            break;
        case O_DENY: push(&c->deny_syscall, name, a); break;
        case O_LOG: push(&c->log_syscall, name, a); break;
        case O_NOFILE: c->nofile = num(name, a, 1, big); break;
        case O_FSIZE: c->fsize = num(name, a, 0, big); break;
        case O_NPROC: c->nproc = num(name, a, 1, big); break;
        case O_MEM: c->memory = num(name, a, 1 << 20, big); break;
        case O_PIDS: c->pids = num(name, a, 1, big); break;
        case O_CPU: c->cpu = num(name, a, 1, 100000); break;
        case O_WALL: c->wall_ms = num(name, a, 0, big); break;
        case O_ASKTO: c->ask_timeout_ms = num(name, a, 0, big); break;
        case O_PROXY: c->proxy_socket = a; break;
        case O_EVFD: c->events_fd = (int)num(name, a, 0, 1 << 20); break;
        case O_CTLFD: c->control_fd = (int)num(name, a, 0, 1 << 20); break;
        case O_TTY: c->tty = 1; break;
        case O_ENV: if (!strchr(a, '=')) bad(name, a); push(&c->env, name, a); break;
        case O_HOSTNAME: if (strlen(a) > 64) bad(name, a); c->hostname = a; break;
        case O_ID: c->sandbox_id = a; break;
        case O_NODWP: c->die_with_parent = 0; break;
        case O_PROTECT: push_abs(&c->protect, name, a); break;
        case O_EXECSOCK: if (!canonical_abs(a)) bad(name, a); c->exec_socket = a; break;
        case O_VERDICT: c->await_verdict = 1; break;
        case O_AWAITARGV: c->await_argv = 1; break;
        case O_SCCACHE: a = strip_slash(a); if (!canonical_abs(a) || !strcmp(a, "/")) bad(name, a); c->seccomp_cache = a; break;
        /* Additions: a tmpfs below 1 MiB cannot hold a lock file; the kernel rounds to pages. */
        case O_TMPSIZE: c->tmp_size = num(name, a, 1 << 20, big); break;
        default: bad("unknown option", argv[optind - 1]);
        }
    }
    /* The verdict can only arrive on the control fd: without one nothing could ever say go. */
    if (c->await_verdict && c->control_fd < 0)
        bad("--await-verdict", "needs --control-fd");
    if (c->await_argv) {
        /* A warm-pool sandbox: the command arrives with the verdict (claim.c). */
        if (!c->await_verdict)
            bad("--await-argv", "needs --await-verdict");
        if (optind < argc)
            bad("--await-argv", "takes no CMD (it comes in the go verdict)");
        /* With an exec allowlist that cannot be widened, Landlock's execute set must include the
         * command itself, which is not known yet: such a sandbox cannot be pre-built. */
        if (c->exec_allow.n > 0 && c->exec_unmatched != EXEC_ALLOW)
            bad("--await-argv", "cannot be combined with --exec-allow under --exec-unmatched deny|ask");
        c->argv = NULL;
        return 0;
    }
    if (optind >= argc)
        bad("CMD", "missing (use -- CMD [ARGS...])");
    c->argv = &argv[optind];
    return 0;
}
