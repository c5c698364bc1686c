/* seccomp user notifications (denials, logged calls, connect reports, exec asks) and the
 * operator's decisions on the control fd. Notifications only observe and ask: a reply never
 * allows what Landlock, the mount view or the baseline filter refuse. */
#include "sandbox.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct pending pend[MAX_PENDING];
static long next_ask = 1;
int notify_fd = -1, control_fd = -1, control_closed;
pid_t workload_pid;
static int first_exec_done;
int verdict_state;
char verdict_reason[256];
char claim_msg[CLAIM_MAX];
size_t claim_len;
struct config *C;

long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void exe_of(pid_t pid, char *q, size_t qlen)
{
    char p[64], e[4096];
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(p, e, sizeof e - 1);
    if (n > 0) {
        e[n] = 0;
        json_str(q, qlen, e);
    } else {
        json_str(q, qlen, NULL);
    }
}

static void respond(uint64_t id, int err, int cont)
{
    struct seccomp_notif_resp r;
    memset(&r, 0, sizeof r);
    r.id = id;
    if (cont)
        r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
        r.error = -err;
    /* ENOENT: the caller died or was interrupted meanwhile; nothing to answer. */
    ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

static int id_valid(uint64_t id)
{
    return ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Target memory is attacker-controlled and may change after we read it: it only ever feeds
 * reports and asks, never a decision to widen access. */
static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
    return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -1;
}

static int read_str(pid_t pid, uint64_t addr, char *buf, size_t len)
{
    size_t o = 0;
    while (o + 1 < len) {
        size_t chunk = 4096 - ((addr + o) & 4095);
        if (chunk > len - 1 - o)
            chunk = len - 1 - o;
        if (read_mem(pid, addr + o, buf + o, chunk) < 0)
            return -1;
        void *z = memchr(buf + o, 0, chunk);
        if (z)
            return 0;
        o += chunk;
    }
    buf[len - 1] = 0;
    return 0;
}

static int glob_match(const char *pat, const char *s)
{
    /* '*' stays within a segment, '**' crosses them. */
    for (; *pat; pat++, s++) {
        if (pat[0] == '*' && pat[1] == '*') {
            pat += 2;
            for (const char *t = s;; t++) {
                if (glob_match(pat, t))
                    return 1;
                if (!*t)
                    return 0;
            }
        }
        if (*pat == '*') {
            pat++;
            for (const char *t = s;; t++) {
                if (glob_match(pat, t))
                    return 1;
                if (!*t || *t == '/')
                    return 0;
            }
        }
        if (*pat != *s)
            return 0;
    }
    return *s == 0;
}

/* The file an absolute exec path names inside the sandbox (symlinks such as /bin -> usr/bin
 * resolved in the sandbox's root), for allowlist matching only: the caller can still swap the
 * path after we looked, so this never widens anything Landlock does not already allow. */
static void resolve_in_sandbox(pid_t pid, const char *path, char *out, size_t len)
{
    out[0] = 0;
    char p[64], abs[8192];
    if (path[0] != '/') {
        /* Relative to the caller's cwd, which readlink shows as a path in the sandbox view. */
        char cwd[4096];
        snprintf(p, sizeof p, "/proc/%d/cwd", (int)pid);
        ssize_t k = readlink(p, cwd, sizeof cwd - 1);
        if (k <= 0 || cwd[0] != '/')
            return;
        cwd[k] = 0;
        snprintf(abs, sizeof abs, "%s/%s", k == 1 ? "" : cwd, path);
        path = abs;
    }
    snprintf(p, sizeof p, "/proc/%d/root", (int)pid);
    int root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return;
    struct open_how how = {0};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, root, path + 1, &how, sizeof how);
    close(root);
    if (fd < 0)
        return;
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, out, len - 1);
    out[n > 0 ? n : 0] = 0;
    close(fd);
}

void exec_decided(struct pending *p, int allow, const char *why)
{
    char q[8300];
    json_str(q, sizeof q, p->path);
    if (allow) {
        respond(p->notif_id, 0, 1);
        ev_emit("{\"type\":\"exec_allowed\",\"pid\":%d,\"path\":%s,\"via\":\"%s\"}", (int)p->pid, q, why);
    } else {
        respond(p->notif_id, EACCES, 0);
        ev_emit("{\"type\":\"exec_denied\",\"pid\":%d,\"path\":%s,\"reason\":\"%s\"}", (int)p->pid, q, why);
    }
    p->used = 0;
}

static void handle_exec(struct seccomp_notif *n)
{
    if ((pid_t)n->pid == workload_pid && !first_exec_done) {
        first_exec_done = 1; /* the helper's own execve of CMD, issued before any workload code */
        respond(n->id, 0, 1);
        return;
    }
    struct pending tmp = {1, n->id, 0, (pid_t)n->pid, 0, ""};
    if (read_str(n->pid, n->data.args[0], tmp.path, sizeof tmp.path) < 0 || !id_valid(n->id)) {
        respond(n->id, EACCES, 0);
        return;
    }
    /* Globs match text, and a globstar under /usr/bin matches "/usr/bin/../sbin/x" as text: the
     * path as requested is matched only when it is absolute and canonical in form (no ".", "..",
     * "//", trailing slash). Any path is also resolved by the kernel inside the sandbox's root
     * (relative ones from the caller's cwd) and that canonical result is matched: it is the
     * file execve would run ("/usr/bin/../sbin/x" -> /usr/sbin/x, "/bin/true" -> /usr/bin/true
     * when /bin -> usr/bin). A resolution that is not canonical (a deleted file) is not used. */
    char canon[4096] = "";
    int plain = canonical_abs(tmp.path);
    resolve_in_sandbox(n->pid, tmp.path, canon, sizeof canon);
    if (!canonical_abs(canon))
        canon[0] = 0;
    for (int i = 0; i < C->exec_allow.n; i++)
        if ((plain && glob_match(C->exec_allow.v[i], tmp.path)) || (canon[0] && glob_match(C->exec_allow.v[i], canon))) {
            exec_decided(&tmp, 1, "allowlist");
            return;
        }
    if (C->exec_unmatched == EXEC_ALLOW) {
        exec_decided(&tmp, 1, "unmatched_allow");
        return;
    }
    if (C->exec_unmatched == EXEC_DENY) {
        exec_decided(&tmp, 0, "not_allowed");
        return;
    }
    if (control_fd < 0 || control_closed) {
        exec_decided(&tmp, 0, "no_operator");
        return;
    }
    struct pending *slot = NULL;
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pend[i].used) {
            slot = &pend[i];
            break;
        }
    if (!slot) {
        exec_decided(&tmp, 0, "not_allowed"); /* bounded: a flood of asks cannot grow memory */
        return;
    }
    *slot = tmp;
    slot->ask_id = next_ask++;
    slot->deadline_ms = C->ask_timeout_ms > 0 ? now_ms() + C->ask_timeout_ms : 0;
    char q[8300];
    json_str(q, sizeof q, slot->path);
    ev_emit("{\"type\":\"exec_ask\",\"id\":%ld,\"pid\":%d,\"path\":%s}", slot->ask_id, (int)slot->pid, q);
}

static int rate_ok(void);
static const char *suppressed_field(char *buf, size_t len);

static void handle_connect(struct seccomp_notif *n)
{
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof sa);
    size_t len = n->data.args[2] < sizeof sa ? (size_t)n->data.args[2] : sizeof sa;
    int ok = len >= sizeof(sa_family_t) && read_mem(n->pid, n->data.args[1], &sa, len) == 0 && id_valid(n->id);
    if (ok && (sa.ss_family == AF_INET || sa.ss_family == AF_INET6))
        relay_note_connect((pid_t)n->pid, (int)n->data.args[0]); /* before the connection can exist */
    respond(n->id, 0, 1); /* Landlock and the empty netns decide; we only report */
    if (!ok)
        return;
    char addr[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    int loop = 0;
    if (sa.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        port = ntohs(a->sin_port);
        loop = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        port = ntohs(a->sin6_port);
        loop = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    } else {
        return;
    }
    int allowed = loop && port == PROXY_PORT;
    for (int i = 0; loop && i < C->tcp_connect.n; i++)
        allowed |= C->tcp_connect.v[i] == port;
    if (allowed)
        return;
    if (!rate_ok())
        return;
    char q[4200], sup[64];
    exe_of(n->pid, q, sizeof q);
    ev_emit("{\"type\":\"egress_direct\",\"pid\":%d,\"exe\":%s,\"addr\":\"%s\",\"port\":%u%s}", (int)n->pid, q, addr, port,
            suppressed_field(sup, sizeof sup));
}

/* A workload looping on a denied call must not flood the supervisor: at most 200 observation
 * events per second; the next one that gets through says how many were dropped. */
static long long window_start;
static int window_count;
static long suppressed;

static int rate_ok(void)
{
    long long now = now_ms();
    if (now - window_start >= 1000) {
        window_start = now;
        window_count = 0;
    }
    if (window_count >= 200) {
        suppressed++;
        return 0;
    }
    window_count++;
    return 1;
}

static const char *suppressed_field(char *buf, size_t len)
{
    buf[0] = 0;
    if (suppressed) {
        snprintf(buf, len, ",\"suppressed_before\":%ld", suppressed);
        suppressed = 0;
    }
    return buf;
}

void handle_notify(void)
{
    struct seccomp_notif n;
    memset(&n, 0, sizeof n);
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
        return;
    int v = seccomp_verdict(n.data.nr, (const uint64_t *)n.data.args);
    char name[64], q[4200];
    if (v == SV_DENY) {
        respond(n.id, EPERM, 0);
        if (!rate_ok())
            return;
        char sup[64];
        exe_of(n.pid, q, sizeof q);
        ev_emit("{\"type\":\"syscall_denied\",\"pid\":%d,\"syscall\":\"%s\",\"nr\":%d,\"exe\":%s,\"action\":\"errno\"%s}",
                (int)n.pid, seccomp_name(n.data.nr, name, sizeof name), n.data.nr, q, suppressed_field(sup, sizeof sup));
        return;
    }
    if (seccomp_is_logged(n.data.nr) && rate_ok()) {
        char sup[64];
        exe_of(n.pid, q, sizeof q);
        ev_emit("{\"type\":\"syscall_logged\",\"pid\":%d,\"syscall\":\"%s\",\"nr\":%d,\"exe\":%s%s}",
                (int)n.pid, seccomp_name(n.data.nr, name, sizeof name), n.data.nr, q, suppressed_field(sup, sizeof sup));
    }
    if (v == SV_EXEC)
        handle_exec(&n);
    else if (v == SV_CONNECT)
        handle_connect(&n);
    else
        respond(n.id, 0, 1);
}

void deny_all_pending(const char *why)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pend[i].used)
            exec_decided(&pend[i], 0, why);
}

/* The string value of "key" in one NDJSON line, unescaped just enough for one line of stderr
 * (control characters become spaces). Returns 0 when absent. */
static int json_get_str(const char *line, const char *key, char *out, size_t len)
{
    const char *p = strstr(line, key);
    if (!p || !(p = strchr(p + strlen(key), ':')))
        return 0;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '"')
        return 0;
    size_t o = 0;
    for (; *p && *p != '"' && o + 1 < len; p++) {
        char ch = *p;
        if (ch == '\\' && p[1])
            ch = *++p == 'n' || *p == 't' || *p == 'r' ? ' ' : *p;
        out[o++] = (unsigned char)ch < 0x20 ? ' ' : ch;
    }
    out[o] = 0;
    return 1;
}

/* Fail closed: anything but an explicit "go" after ready (a refusal, an unknown value, a verdict
 * sent before ready could have been checked) refuses. */
static void handle_verdict(const char *line)
{
    char v[32];
    if (verdict_state != VERDICT_EARLY && verdict_state != VERDICT_WAIT)
        return;
    if (!json_get_str(line, "\"verdict\"", v, sizeof v))
        return;
    if (verdict_state == VERDICT_EARLY) {
        snprintf(verdict_reason, sizeof verdict_reason, "verdict arrived before the ready event");
        verdict_state = VERDICT_REFUSED;
    } else if (!strcmp(v, "go")) {
        const char *why = NULL;
        verdict_state = VERDICT_GO;
        if (C->await_argv && claim_parse(line, claim_msg, sizeof claim_msg, &claim_len, &why) < 0) {
            snprintf(verdict_reason, sizeof verdict_reason, "bad argv in go verdict: %s", why);
            verdict_state = VERDICT_REFUSED;
        }
    } else {
        char why[200];
        if (!json_get_str(line, "\"reason\"", why, sizeof why) || !why[0])
            snprintf(why, sizeof why, "%s", strcmp(v, "refuse") ? "unknown verdict" : "no reason given");
        snprintf(verdict_reason, sizeof verdict_reason, "%s", why);
        verdict_state = VERDICT_REFUSED;
    }
}

void handle_control(void)
{
    static char buf[65536];
    static size_t len;
    ssize_t r = read(control_fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        control_closed = 1;
        deny_all_pending("no_operator");
        if (verdict_state == VERDICT_EARLY || verdict_state == VERDICT_WAIT) {
            snprintf(verdict_reason, sizeof verdict_reason, "control fd closed before a verdict");
            verdict_state = VERDICT_REFUSED;
        }
        return;
    }
    len += (size_t)r;
    buf[len] = 0;
    char *nl;
    while ((nl = memchr(buf, '\n', len))) {
        *nl = 0;
        handle_verdict(buf);
        const char *idp = strstr(buf, "\"id\"");
        const char *dp = strstr(buf, "\"decision\"");
        if (idp && dp) {
            idp = strchr(idp + 4, ':');
            dp = strchr(dp + 10, ':');
            long id = idp ? strtol(idp + 1, NULL, 10) : 0;
            while (dp && (*++dp == ' ' || *dp == '\t'))
                ;
            int allow = dp && !strncmp(dp, "\"allow\"", 7);
            int deny = dp && !strncmp(dp, "\"deny\"", 6);
            for (int i = 0; i < MAX_PENDING && (allow || deny); i++)
                if (pend[i].used && pend[i].ask_id == id) {
                    /* The caller may have died while we waited: a stale id is not answered. */
                    if (!id_valid(pend[i].notif_id)) {
                        pend[i].used = 0;
                        break;
                    }
                    exec_decided(&pend[i], allow, allow ? "operator" : "denied_by_operator");
                }
        }
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, len - used);
        len -= used;
    }
    if (len == sizeof buf - 1)
        len = 0; /* an endless line is dropped, not buffered */
}
