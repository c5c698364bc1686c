/* The monitor: stays outside the sandbox, owns the seccomp listener, the proxy relay, the wall
 * clock, the operator's decisions and the exit status, all in one poll loop. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 64

struct pending {
    int used;
    uint64_t notif_id;
    long ask_id;
    pid_t pid;
    long long deadline_ms;
    char path[4096];
};

static struct pending pend[MAX_PENDING];
static long next_ask = 1;
static int notify_fd = -1, control_fd = -1, control_closed;
static pid_t workload_pid;
static int first_exec_done;
static struct config *C;

static long long now_ms(void)
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
    if (path[0] != '/')
        return;
    char p[64];
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

static void exec_decided(struct pending *p, int allow, const char *why)
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
    char canon[4096] = "";
    resolve_in_sandbox(n->pid, tmp.path, canon, sizeof canon);
    for (int i = 0; i < C->exec_allow.n; i++)
        if (glob_match(C->exec_allow.v[i], tmp.path) || (canon[0] && glob_match(C->exec_allow.v[i], canon))) {
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

static void handle_connect(struct seccomp_notif *n)
{
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof sa);
    size_t len = n->data.args[2] < sizeof sa ? (size_t)n->data.args[2] : sizeof sa;
    int ok = len >= sizeof(sa_family_t) && read_mem(n->pid, n->data.args[1], &sa, len) == 0 && id_valid(n->id);
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
    char q[4200];
    exe_of(n->pid, q, sizeof q);
    ev_emit("{\"type\":\"egress_direct\",\"pid\":%d,\"exe\":%s,\"addr\":\"%s\",\"port\":%u}", (int)n->pid, q, addr, port);
}

static void handle_notify(void)
{
    struct seccomp_notif n;
    memset(&n, 0, sizeof n);
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
        return;
    int v = seccomp_verdict(n.data.nr, (const uint64_t *)n.data.args);
    char name[64], q[4200];
    if (v == SV_DENY) {
        respond(n.id, EPERM, 0);
        exe_of(n.pid, q, sizeof q);
        ev_emit("{\"type\":\"syscall_denied\",\"pid\":%d,\"syscall\":\"%s\",\"nr\":%d,\"exe\":%s,\"action\":\"errno\"}",
                (int)n.pid, seccomp_name(n.data.nr, name, sizeof name), n.data.nr, q);
        return;
    }
    if (seccomp_is_logged(n.data.nr)) {
        exe_of(n.pid, q, sizeof q);
        ev_emit("{\"type\":\"syscall_logged\",\"pid\":%d,\"syscall\":\"%s\",\"nr\":%d,\"exe\":%s}",
                (int)n.pid, seccomp_name(n.data.nr, name, sizeof name), n.data.nr, q);
    }
    if (v == SV_EXEC)
        handle_exec(&n);
    else if (v == SV_CONNECT)
        handle_connect(&n);
    else
        respond(n.id, 0, 1);
}

static void deny_all_pending(const char *why)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pend[i].used)
            exec_decided(&pend[i], 0, why);
}

static void handle_control(void)
{
    static char buf[65536];
    static size_t len;
    ssize_t r = read(control_fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        control_closed = 1;
        deny_all_pending("no_operator");
        return;
    }
    len += (size_t)r;
    buf[len] = 0;
    char *nl;
    while ((nl = memchr(buf, '\n', len))) {
        *nl = 0;
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

static void emit_ready(const char *msg, size_t len, pid_t pid, struct cgroup_state *cg, const char *degraded_cg)
{
    const char *frag = msg;
    const char *skipped = frag + strlen(frag) + 1;
    const char *degr = (size_t)(skipped - msg) < len ? skipped + strlen(skipped) + 1 : "";
    if ((size_t)(degr - msg) >= len)
        degr = "";
    const char *types[] = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"};
    char ns[128] = "";
    for (int i = 0; i < 7; i++) {
        char a[64], b[64], la[64], lb[64];
        snprintf(a, sizeof a, "/proc/%d/ns/%s", (int)pid, types[i]);
        snprintf(b, sizeof b, "/proc/self/ns/%s", types[i]);
        ssize_t x = readlink(a, la, sizeof la - 1), y = readlink(b, lb, sizeof lb - 1);
        if (x <= 0 || y <= 0)
            continue;
        la[x] = lb[y] = 0;
        if (strcmp(la, lb)) {
            size_t n = strlen(ns);
            snprintf(ns + n, sizeof ns - n, "%s\"%s\"", n ? "," : "", types[i]);
        }
    }
    char dg[1200];
    snprintf(dg, sizeof dg, "%s%s%s", degr, *degr && *degraded_cg ? "," : "", degraded_cg);
    ev_emit("{\"type\":\"ready\",\"enforcement\":{%s,\"namespaces\":[%s],\"cgroup\":%s},\"pid\":%d,\"skipped\":%s,\"degraded\":[%s]}",
            frag, ns, cg->json, (int)pid, skipped, dg);
}

static void sig_name(int sig, char *out, size_t len)
{
    const char *a = sigabbrev_np(sig);
    if (a)
        snprintf(out, len, "\"SIG%s\"", a);
    else
        snprintf(out, len, "\"%d\"", sig);
}

int monitor_run(struct setup *s, pid_t init_pid, int init_pidfd, int chan, int tty_master, struct cgroup_state *cg,
                const char *degraded_cg)
{
    C = s->cfg;
    control_fd = C->control_fd;
    if (control_fd >= 0)
        fcntl(control_fd, F_SETFL, fcntl(control_fd, F_GETFL) | O_NONBLOCK);
    sigset_t ss;
    sigemptyset(&ss);
    int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (int i = 0; i < 7; i++)
        sigaddset(&ss, fwd[i]);
    int sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
        die_setup("signalfd", errno);
    }
    int tfd = -1;
    if (C->wall_ms > 0) {
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        struct itimerspec it = {{0, 0}, {C->wall_ms / 1000, (C->wall_ms % 1000) * 1000000}};
        if (tfd < 0 || timerfd_settime(tfd, 0, &it, NULL) < 0) {
            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
            die_setup("timerfd (wall time)", errno);
        }
    }
    int have_status = 0, wstatus = 0, exec_err = 0, failed = 0, wall_hit = 0, init_done = 0;
    struct termios saved;
    int raw = 0;
    if (C->tty && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        raw = tcsetattr(0, TCSANOW, &t) == 0;
    }
    int stdin_open = 0;

    while (!init_done) {
        struct pollfd pf[16 + 2 * 64]; /* fixed slots + two per relayed connection */
        int n = 0;
        pf[n++] = (struct pollfd){chan, POLLIN, 0};
        pf[n++] = (struct pollfd){init_pidfd, POLLIN, 0};
        pf[n++] = (struct pollfd){sfd, POLLIN, 0};
        pf[n++] = (struct pollfd){notify_fd, POLLIN, 0};
        pf[n++] = (struct pollfd){relay_listen_fd(), POLLIN, 0};
        pf[n++] = (struct pollfd){control_closed ? -1 : control_fd, POLLIN, 0};
        pf[n++] = (struct pollfd){tfd, POLLIN, 0};
        pf[n++] = (struct pollfd){tty_master, POLLIN, 0};
        pf[n++] = (struct pollfd){stdin_open ? 0 : -1, POLLIN, 0};
        n = relay_fill(pf, n, (int)(sizeof pf / sizeof pf[0]));
        int timeout = -1;
        long long now = now_ms();
        for (int i = 0; i < MAX_PENDING; i++)
            if (pend[i].used && pend[i].deadline_ms) {
                long long d = pend[i].deadline_ms - now;
                if (d <= 0) {
                    exec_decided(&pend[i], 0, "timeout");
                    continue;
                }
                if (timeout < 0 || d < timeout)
                    timeout = (int)d;
            }
        if (poll(pf, (nfds_t)n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            die_setup("poll", errno);
        }
        if (pf[0].revents & POLLIN) {
            char msg[16384];
            int fds[4], nf = 4;
            pid_t sender = 0;
            ssize_t r = chan_recv(chan, msg, sizeof msg, fds, &nf, &sender);
            if (r > 0) {
                switch (msg[0]) {
                case MSG_NETFDS:
                    if (nf >= 2)
                        relay_setup(fds[0], fds[1], C->sandbox_id, C->proxy_socket);
                    if (nf == 3) {
                        tty_master = fds[2];
                        fcntl(tty_master, F_SETFL, O_NONBLOCK);
                        struct winsize ws;
                        if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0)
                            ioctl(tty_master, TIOCSWINSZ, &ws);
                        stdin_open = 1;
                    }
                    break;
                case MSG_READY:
                    if (nf == 1) {
                        notify_fd = fds[0];
                        workload_pid = sender;
                        /* From the workload, not init: a non-dumpable init hides its ns links
                         * from an unprivileged monitor. */
                        char p[64], ns[64] = "";
                        snprintf(p, sizeof p, "/proc/%d/ns/net", (int)sender);
                        ssize_t k = readlink(p, ns, sizeof ns - 1);
                        ns[k > 0 ? k : 0] = 0;
                        relay_set_netns(ns);
                        emit_ready(msg + 1, (size_t)r - 1, sender, cg, degraded_cg);
                        chan_send(chan, MSG_ACK, NULL, 0, NULL, 0); /* the workload execs only after ready is out */
                    }
                    break;
                case MSG_FAIL: {
                    int e = 0;
                    size_t sl = strlen(msg + 1);
                    if ((size_t)r >= sl + 2 + sizeof e)
                        memcpy(&e, msg + 1 + sl + 1, sizeof e);
                    failed = 1;
                    pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
                    char st[300], m[300];
                    json_str(st, sizeof st, msg + 1);
                    json_str(m, sizeof m, strerror(e));
                    fprintf(stderr, "nemoclaw-sandbox: %s: %s (errno %d)\n", msg + 1, strerror(e), e);
                    ev_emit("{\"type\":\"error\",\"step\":%s,\"errno\":%d,\"message\":%s}", st, e, m);
                    break;
                }
                case MSG_STATUS:
                    if ((size_t)r >= 1 + sizeof wstatus) {
                        memcpy(&wstatus, msg + 1, sizeof wstatus);
                        have_status = 1;
                        /* init exits right after this; the kernel's teardown of its namespaces
                         * (mount table, RCU grace periods) need not delay our answer. Without a
                         * cgroup leaf to remove there is nothing left to wait for. */
                        if (!cg->version) {
                            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
                            init_done = 2;
                        }
                    }
                    break;
                case MSG_EXECFAIL:
                    if ((size_t)r >= 1 + sizeof exec_err)
                        memcpy(&exec_err, msg + 1, sizeof exec_err);
                    break;
                }
                if (init_done)
                    break;
                continue; /* drain the channel before looking at init's exit */
            }
        }
        if (pf[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if ((int)si.ssi_signo == SIGWINCH && tty_master >= 0) {
                    struct winsize ws;
                    if (ioctl(0, TIOCGWINSZ, &ws) == 0)
                        ioctl(tty_master, TIOCSWINSZ, &ws);
                } else {
                    pidfd_send_signal(init_pidfd, (int)si.ssi_signo, NULL, 0);
                }
            }
        }
        if (pf[3].revents & POLLIN)
            handle_notify();
        if (pf[3].revents & (POLLHUP | POLLERR)) {
            close(notify_fd);
            notify_fd = -1;
        }
        if (pf[4].revents & POLLIN)
            relay_accept();
        if (pf[5].revents & (POLLIN | POLLHUP | POLLERR))
            handle_control();
        if (pf[6].revents & POLLIN) {
            wall_hit = 1;
            ev_emit("{\"type\":\"limit_hit\",\"limit\":\"wall_time\",\"detail\":\"%lld ms\"}", C->wall_ms);
            cgroup_kill(cg);
            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
            close(tfd);
            tfd = -1;
        }
        if (pf[7].revents & (POLLIN | POLLHUP | POLLERR)) {
            char b[4096];
            ssize_t r = read(tty_master, b, sizeof b);
            if (r > 0) {
                if (write(1, b, (size_t)r) < 0) {}
            } else if (r == 0 || errno != EAGAIN) {
                tty_master = -1; /* every slave closed: keep waiting for init */
            }
        }
        if (pf[8].revents & (POLLIN | POLLHUP)) {
            char b[4096];
            ssize_t r = read(0, b, sizeof b);
            if (r > 0 && tty_master >= 0) {
                if (write(tty_master, b, (size_t)r) < 0) {}
            } else if (r <= 0) {
                stdin_open = 0;
            }
        }
        relay_handle(pf);
        if (pf[1].revents & POLLIN)
            init_done = 1;
    }
    int ist = 0;
    while (init_done == 1 && waitpid(init_pid, &ist, __WALL) < 0 && errno == EINTR)
        ;
    /* Output the workload wrote just before exiting is still in the pty: bounded drain. */
    for (int i = 0; tty_master >= 0 && i < 256; i++) {
        char b[4096];
        ssize_t r = read(tty_master, b, sizeof b);
        if (r <= 0 || write(1, b, (size_t)r) < 0)
            break;
    }
    /* The last channel messages may have raced the exit notification. */
    for (;;) {
        char msg[16384];
        int nf = 0;
        ssize_t r = chan_recv(chan, msg, sizeof msg, NULL, &nf, NULL);
        if (r <= 0)
            break;
        if (msg[0] == MSG_STATUS && (size_t)r >= 1 + sizeof wstatus) {
            memcpy(&wstatus, msg + 1, sizeof wstatus);
            have_status = 1;
        } else if (msg[0] == MSG_EXECFAIL && (size_t)r >= 1 + sizeof exec_err) {
            memcpy(&exec_err, msg + 1, sizeof exec_err);
        } else if (msg[0] == MSG_FAIL && !failed) {
            int e = 0;
            size_t sl = strlen(msg + 1);
            if ((size_t)r >= sl + 2 + sizeof e)
                memcpy(&e, msg + 1 + sl + 1, sizeof e);
            failed = 1;
            char st[300], m[300];
            json_str(st, sizeof st, msg + 1);
            json_str(m, sizeof m, strerror(e));
            fprintf(stderr, "nemoclaw-sandbox: %s: %s (errno %d)\n", msg + 1, strerror(e), e);
            ev_emit("{\"type\":\"error\",\"step\":%s,\"errno\":%d,\"message\":%s}", st, e, m);
        }
    }
    deny_all_pending("no_operator");
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    if (!failed && !have_status && WIFEXITED(ist) && WEXITSTATUS(ist) == EXIT_SETUP)
        failed = 1; /* init gave up before it could tell us why (monitor channel lost) */

    int code, sig = 0;
    const char *reason = "exited";
    const char *lim = cgroup_check_limits(cg);
    if (failed) {
        code = EXIT_SETUP;
        reason = "setup_failed";
    } else {
        int st = have_status ? wstatus : ist;
        if (WIFEXITED(st)) {
            code = WEXITSTATUS(st);
        } else {
            sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
            code = 128 + sig;
            reason = "signaled";
        }
        if (wall_hit) {
            reason = "wall_time";
            if (!sig)
                sig = SIGKILL, code = 128 + SIGKILL;
        } else if (sig == SIGSYS) {
            reason = "seccomp_kill";
        } else if (lim && !strcmp(lim, "memory") && sig == SIGKILL) {
            reason = "memory";
        } else if (sig == SIGXFSZ) {
            ev_emit("{\"type\":\"limit_hit\",\"limit\":\"fsize\",\"detail\":\"SIGXFSZ\"}");
        }
        if (lim)
            ev_emit("{\"type\":\"limit_hit\",\"limit\":\"%s\",\"detail\":\"cgroup %s limit reached\"}", lim, lim);
    }
    char sn[32] = "null";
    if (sig)
        sig_name(sig, sn, sizeof sn);
    char cs[16];
    if (sig || failed)
        snprintf(cs, sizeof cs, "%s", failed ? "125" : "null");
    else
        snprintf(cs, sizeof cs, "%d", code);
    if (exec_err)
        ev_emit("{\"type\":\"exit\",\"code\":%s,\"signal\":%s,\"reason\":\"%s\",\"exec_errno\":%d}", cs, sn, reason, exec_err);
    else
        ev_emit("{\"type\":\"exit\",\"code\":%s,\"signal\":%s,\"reason\":\"%s\"}", cs, sn, reason);
    return code;
}
