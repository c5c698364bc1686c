/* pid 1 of the sandbox: finishes the namespaces, builds the filesystem view, hands the proxy
 * listener to the monitor, forks the workload, reaps, forwards signals. Its exit tears the
 * whole pid namespace down, so it never outlives the workload nor the monitor. */
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

void workload_main(struct setup *s) __attribute__((noreturn));
int g_memfd_exec_open;

/* getppid() is 0 for a pid-ns init whoever the parent is, so the death re-check after
 * PR_SET_PDEATHSIG looks at the channel instead: the monitor's end closes when it dies. */
static void monitor_alive_or_exit(int chan)
{
    struct pollfd p = {chan, POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
        _exit(EXIT_SETUP);
}

static int make_listener(void)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        child_fail("proxy listener socket", errno);
    int one = 1;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        child_fail("proxy listener setsockopt", errno);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(PROXY_PORT);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
        child_fail("proxy listener bind 127.0.0.1:3128", errno);
    if (listen(l, 128) < 0)
        child_fail("proxy listener listen", errno);
    return l;
}

/* Root mode: our host creds are uid 0, unmapped in this userns. Bind sources are opened while
 * we still are (so a root-only path can be bound read-only), then we become the mapped workload
 * id before creating anything on tmpfs, where an unmapped owner cannot be represented. */
void init_become_mapped(struct setup *s)
{
    if (s->rootless)
        return;
    if (prctl(PR_SET_KEEPCAPS, 1) < 0)
        child_fail("init prctl(KEEPCAPS)", errno);
    if (setgroups(0, NULL) < 0)
        child_fail("init setgroups", errno);
    if (setresgid(s->cfg->gid, s->cfg->gid, s->cfg->gid) < 0)
        child_fail("init setresgid", errno);
    if (setresuid(s->cfg->uid, s->cfg->uid, s->cfg->uid) < 0)
        child_fail("init setresuid", errno);
    /* A credential change clears the death signal: set it again and re-check. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_fail("init prctl(PDEATHSIG)", errno);
    monitor_alive_or_exit(s->chan);
    /* The credential change also reset dumpability. */
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        child_fail("init prctl(DUMPABLE)", errno);
}

int ns_init_main(void *arg)
{
    struct setup *s = arg;
    child_set_chan(s->chan);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_fail("init prctl(PDEATHSIG)", errno);
    char go = 0;
    ssize_t r;
    do
        r = read(s->go_fd, &go, 1);
    while (r < 0 && errno == EINTR);
    if (r != 1 || go != 'G')
        _exit(EXIT_SETUP); /* the monitor is gone or gave up; it already said why */
    close(s->go_fd);
    /* Into the cgroup leaf first: nothing has forked yet, so everything init starts is inside. */
    const char *leaf = NULL;
    if (s->cg && cgroup_join_self(s->cg, &leaf) < 0) {
        char step[600];
        snprintf(step, sizeof step, "join cgroup %s", leaf);
        child_fail(step, errno);
    }
    /* Landlock cannot see memfds (kernel-internal mount), so make them non-executable for the
     * whole pid namespace (per-pidns since Linux 6.3): this closes memfd_create + execve. */
    if (write_file("/proc/sys/vm/memfd_noexec", "2") < 0)
        g_memfd_exec_open = 1;

    /* The workload shares our uid in rootless mode: keep it from reading our memory. */
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        child_fail("init prctl(DUMPABLE)", errno);
    /* After joining the cgroup leaf, so the leaf is the namespace root. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        child_fail("unshare(CLONE_NEWCGROUP)", errno);
    if (sethostname(s->cfg->hostname, strlen(s->cfg->hostname)) < 0)
        child_fail("sethostname", errno);
    if (ns_lo_up() < 0)
        child_fail("bring up lo", errno);
    int listener = make_listener();

    mounts_build(s);

    int tcp = open("/proc/self/net/tcp", O_RDONLY | O_CLOEXEC);
    if (tcp < 0)
        child_fail("open /proc/self/net/tcp", errno);
    /* The pty comes from the sandbox's own devpts instance, so ttyname() resolves inside and
     * no host pty is ever reachable; the monitor holds the master. */
    int fds[3] = {listener, tcp, -1};
    if (s->cfg->tty) {
        fds[2] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fds[2] < 0 || unlockpt(fds[2]) < 0)
            child_fail("open /dev/ptmx (sandbox devpts)", errno);
        s->tty_slave = ioctl(fds[2], TIOCGPTPEER, O_RDWR | O_NOCTTY);
        if (s->tty_slave < 0)
            child_fail("open pty peer", errno);
    }
    if (chan_send(s->chan, MSG_NETFDS, NULL, 0, fds, s->cfg->tty ? 3 : 2) < 0)
        child_fail("send listener to monitor", errno);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);

    sigset_t all;
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, NULL) < 0)
        child_fail("init sigprocmask", errno);
    pid_t w = fork();
    if (w < 0)
        child_fail("fork workload", errno);
    if (w == 0)
        workload_main(s);
    if (s->tty_slave >= 0)
        close(s->tty_slave);
    if (s->exec_listen >= 0)
        close(s->exec_listen); /* the workload forks the exec server, which keeps it */
    /* /proc/1/cmdline is readable by the workload: our argv (policy paths, socket names) has no
     * business there once the workload has its own copy. */
    if (g_args_start && g_args_end > g_args_start) {
        size_t n = (size_t)(g_args_end - g_args_start);
        memset(g_args_start, 0, n);
        if (n > 14)
            memcpy(g_args_start, "nemoclaw-init", 13);
    }

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int st;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == w) {
                    chan_send(s->chan, MSG_STATUS, &st, sizeof st, NULL, 0);
                    _exit(0);
                }
            }
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT || sig == SIGUSR1 ||
            sig == SIGUSR2 || sig == SIGWINCH || sig == SIGCONT)
            kill(w, sig);
    }
}
