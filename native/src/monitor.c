/* The monitor: stays outside the sandbox, owns the seccomp listener, the proxy relay, the wall
 * clock, the operator's decisions and the exit status, all in one poll loop. */
#include "sandbox.h"
#include "notify.h"
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>



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

/* limit_hit as it happens (a fork refused, a process OOM-killed), not only at exit. */
static long long seen_oom, seen_pids;
static void report_limits(struct cgroup_state *cg)
{
    if (!cg->version)
        return;
    long long oom, pids;
    cgroup_counters(cg, &oom, &pids);
    if (oom > seen_oom)
        ev_emit("{\"type\":\"limit_hit\",\"limit\":\"memory\",\"detail\":\"cgroup memory limit: %lld process(es) OOM-killed\"}", oom);
    if (pids > seen_pids)
        ev_emit("{\"type\":\"limit_hit\",\"limit\":\"pids\",\"detail\":\"cgroup pids limit: %lld fork(s) refused\"}", pids);
    if (oom > seen_oom)
        seen_oom = oom;
    if (pids > seen_pids)
        seen_pids = pids;
    /* RLIMIT_NPROC (--nproc, counted per sandbox) refuses forks before the cgroup's pids.max
     * when it is the lower or equal bound, and leaves no counter: the leaf's task count at the
     * bound stands for it, reported once each time it is reached. */
    static int at_nproc;
    long long cur = C->nproc > 0 ? cgroup_pids_current(cg) : -1;
    if (cur >= C->nproc && !at_nproc)
        ev_emit("{\"type\":\"limit_hit\",\"limit\":\"pids\",\"detail\":\"RLIMIT_NPROC: %lld processes (--nproc)\"}", cur);
    at_nproc = cur >= 0 && cur >= C->nproc;
}

/* Host terminal input that was already queued while the terminal was still canonical. Switching
 * it to raw would turn a pending end-of-file (a ^D typed early, or `script` forwarding its
 * stdin's EOF) into a stray NUL byte, so such input is read first with canonical meaning:
 * lines are kept for the workload's pty, an EOF becomes the pty's own VEOF. */
static char early_in[4096];
static size_t early_len;
static int early_eof;

static void drain_canonical_input(void)
{
    for (int i = 0; i < 64 && early_len < sizeof early_in && !early_eof; i++) {
        struct pollfd p = {0, POLLIN, 0};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
            return; /* canonical mode: readable only once a whole line or an EOF is queued */
        ssize_t r = read(0, early_in + early_len, sizeof early_in - early_len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (r == 0)
            early_eof = 1;
        early_len += (size_t)r;
    }
}

/* End of input for the workload: its pty's EOF character (meaningful while the workload keeps
 * the pty canonical, as a terminal would deliver it). */
static void pty_send_eof(int tty_master)
{
    struct termios t;
    char eof = tcgetattr(tty_master, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
    if (write(tty_master, &eof, 1) < 0) {} /* the workload may have closed its pty: nothing to tell */
}

/* --await-verdict: the workload's execve waits for the supervisor's "go" on the control fd
 * (it has checked the ready event by then); a refusal or a closed control fd ends the sandbox
 * before any workload code runs. */
static int wall_tfd = -1;

/* The wall-time limit counts the command's time: from the start, or with --await-argv from the
 * claim (a pooled sandbox's wait in the pool is not the command's time). */
static int arm_wall_time(void)
{
    struct itimerspec it = {{0, 0}, {C->wall_ms / 1000, (C->wall_ms % 1000) * 1000000}};
    return timerfd_settime(wall_tfd, 0, &it, NULL);
}

static void apply_verdict(int chan, int init_pidfd, int *failed)
{
    if (verdict_state == VERDICT_GO) {
        verdict_state = VERDICT_DONE;
        if (C->await_argv && wall_tfd >= 0 && arm_wall_time() < 0) {
            *failed = 1;
            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
            fprintf(stderr, "nemoclaw-sandbox: timerfd (wall time): %s\n", strerror(errno));
            return;
        }
        /* With --await-argv the command and its environment travel with the go (claim.c). */
        if (chan_send(chan, MSG_ACK, C->await_argv ? claim_msg : NULL, C->await_argv ? claim_len : 0, NULL, 0) < 0) {
            *failed = 1; /* the workload cannot be told to go: it must not be left waiting */
            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
        }
    } else if (verdict_state == VERDICT_REFUSED) {
        verdict_state = VERDICT_DONE;
        *failed = 1;
        pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
        char m[400];
        char full[300];
        snprintf(full, sizeof full, "refused: %s", verdict_reason);
        json_str(m, sizeof m, full);
        fprintf(stderr, "nemoclaw-sandbox: verdict: %s\n", full);
        ev_emit("{\"type\":\"error\",\"step\":\"verdict\",\"errno\":0,\"message\":%s}", m);
    }
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
        tfd = wall_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (tfd < 0 || (!C->await_argv && arm_wall_time() < 0)) {
            pidfd_send_signal(init_pidfd, SIGKILL, NULL, 0);
            die_setup("timerfd (wall time)", errno);
        }
    }
    int have_status = 0, wstatus = 0, exec_err = 0, failed = 0, wall_hit = 0, init_done = 0;
    struct termios saved;
    int raw = 0;
    if (C->tty && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        drain_canonical_input();
        cfmakeraw(&t);
        raw = tcsetattr(0, TCSANOW, &t) == 0;
    }
    int stdin_open = 0;
    long long next_limits_check = 0;
    if (C->await_verdict)
        verdict_state = VERDICT_EARLY;

    while (!init_done) {
        apply_verdict(chan, init_pidfd, &failed);
        struct pollfd pf[16 + 3 * MAX_CONN]; /* fixed slots + three per relayed connection */
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
        if (cg->version) {
            if (now >= next_limits_check) {
                report_limits(cg);
                next_limits_check = now + 250;
            }
            long long d = next_limits_check - now;
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
                        if (early_len && write(tty_master, early_in, early_len) < 0) {}
                        if (early_eof)
                            pty_send_eof(tty_master);
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
                        if (!C->await_verdict) {
                            chan_send(chan, MSG_ACK, NULL, 0, NULL, 0); /* the workload execs only after ready is out */
                        } else if (verdict_state == VERDICT_EARLY) {
                            verdict_state = VERDICT_WAIT;
                            if (control_closed) {
                                snprintf(verdict_reason, sizeof verdict_reason, "control fd closed before a verdict");
                                verdict_state = VERDICT_REFUSED;
                            }
                        }
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
                        report_limits(cg); /* last look at the leaf while the sandbox still stands */
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
            tfd = wall_tfd = -1;
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
            } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                stdin_open = 0;
                if (r == 0 && tty_master >= 0)
                    pty_send_eof(tty_master); /* stdin was a pipe or file: the workload reads EOF */
            }
        }
        relay_handle(pf);
        if (pf[1].revents & POLLIN)
            init_done = 1;
    }
    relay_shutdown();
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
    report_limits(cg);
    int oom_hit = seen_oom > 0;
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
        } else if (oom_hit && sig == SIGKILL) {
            reason = "memory";
        } else if (sig == SIGXFSZ) {
            ev_emit("{\"type\":\"limit_hit\",\"limit\":\"fsize\",\"detail\":\"SIGXFSZ\"}");
        }
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
