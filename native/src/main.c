/* nemoclaw-sandbox: the monitor process. Prepares what must be done from outside (cgroup leaf,
 * idmapped workspace, id maps), clones the sandbox's init and then runs the monitor loop. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct config g_cfg;
char *g_args_start, *g_args_end;

static struct cgroup_state cg;
static pid_t monitor_pid;

/* die_setup() exits through here too: a failed start must not leave a cgroup leaf behind. */
static void cleanup_at_exit(void)
{
    if (getpid() == monitor_pid) {
        cgroup_cleanup(&cg);
        if (g_cfg.exec_socket)
            unlink(g_cfg.exec_socket); /* best effort: the supervisor removes it too */
    }
}

static void check_fd(int fd, const char *step)
{
    if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
        die_setup(step, errno);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* init is the only helper process left inside the sandbox: it keeps no fd it does not need
 * (whatever our parent leaked to us stays outside). */
static void close_all_but(struct setup *s)
{
    int keep[] = {2, s->chan, s->go_fd, s->ws_tree_fd, s->home_tree_fd, s->exec_listen};
    qsort(keep, 6, sizeof keep[0], cmp_int);
    unsigned lo = 3;
    for (int i = 0; i < 6; i++) {
        if (keep[i] < (int)lo)
            continue;
        if ((unsigned)keep[i] > lo)
            syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
}

int main(int argc, char **argv)
{
    struct config *c = &g_cfg;
    /* `nemoclaw doctor`'s probe: the kernel's Landlock ABI (0: none or disabled), which Node
     * cannot ask for (a raw syscall). Nothing else runs. */
    if (argc == 2 && !strcmp(argv[1], "--landlock-abi")) {
        if (printf("%d\n", landlock_abi()) < 0 || fflush(stdout) != 0)
            return 1;
        return 0;
    }
    g_args_start = argv[0];
    g_args_end = argv[argc - 1] + strlen(argv[argc - 1]);
    cli_parse(argc, argv, c);
    check_fd(c->events_fd, "--events-fd");
    ev_init(c->events_fd);
    check_fd(c->control_fd, "--control-fd");
    if (c->events_fd >= 0)
        fcntl(c->events_fd, F_SETFD, FD_CLOEXEC);
    if (c->control_fd >= 0)
        fcntl(c->control_fd, F_SETFD, FD_CLOEXEC);
    const char *badname = NULL;
    if (seccomp_prepare(c, &badname) < 0) {
        char step[300];
        snprintf(step, sizeof step, "unknown syscall name '%s'", badname);
        die_setup(step, EINVAL);
    }
    signal(SIGPIPE, SIG_IGN);

    pid_t parent = getppid();
    if (c->die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
            die_setup("prctl(PDEATHSIG)", errno);
        if (getppid() != parent)
            die_setup("parent exited during start-up", ESRCH);
    }

    struct setup s = {0};
    s.cfg = c;
    s.ws_tree_fd = -1;
    s.home_tree_fd = -1;
    s.tty_slave = -1;
    s.exec_listen = -1;
    s.rootless = geteuid() != 0;
    s.host_uid = s.rootless ? getuid() : c->host_uid;
    s.host_gid = s.rootless ? getgid() : (gid_t)c->host_uid;

    char degraded_cg[64] = "";
    monitor_pid = getpid();
    cgroup_setup(c, &cg, degraded_cg, sizeof degraded_cg);
    atexit(cleanup_at_exit);

    /* Root mode: only we (root in the initial userns) may create an idmapped mount (wstree.c). The
     * workspace first: where it cannot be idmapped, its owner becomes the workload's host id, and
     * the home is then mapped to that id. */
    if (c->workspace && !s.rootless)
        s.ws_tree_fd = ws_tree_open(&s, c->workspace, 1);
    if (c->home && !s.rootless)
        s.home_tree_fd = ws_tree_open(&s, c->home, 0);

    if (c->exec_socket) {
        s.exec_listen = execsrv_listen(c->exec_socket);
        if (s.exec_listen < 0)
            die_setup("exec socket (--exec-socket)", errno);
    }

    int chan[2], go[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0)
        die_setup("socketpair", errno);
    int one = 1;
    /* The kernel then tells us the workload's host pid with each message. */
    if (setsockopt(chan[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        die_setup("setsockopt(SO_PASSCRED)", errno);
    if (pipe2(go, O_CLOEXEC) < 0)
        die_setup("pipe2", errno);
    int master = -1; /* with --tty, init sends the master of a pty from the sandbox's devpts */
    s.chan = chan[1];
    /* A v1 leaf is joined by init itself, before anything else it does after "G" (limits.c says
     * why); a v2 one is attached from here before "G", as cgroup v2 has no such shortcut. */
    s.cg = cg.version == 1 ? &cg : NULL;
    s.go_fd = go[0];

    /* Signals the monitor forwards arrive through its signalfd, so block them before cloning;
     * the workload unblocks everything before exec. */
    sigset_t ss;
    sigemptyset(&ss);
    int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (int i = 0; i < 7; i++)
        sigaddset(&ss, fwd[i]);
    if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
        die_setup("sigprocmask", errno);

    fflush(NULL);
    long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid < 0)
        die_setup("clone(CLONE_NEWUSER|NEWNS|NEWPID|NEWNET|NEWIPC|NEWUTS)", errno);
    if (pid == 0) {
        close(chan[0]);
        close(go[1]);
        if (master >= 0)
            close(master);
        if (c->events_fd >= 0)
            close(c->events_fd);
        if (c->control_fd >= 0)
            close(c->control_fd);
        close_all_but(&s);
        _exit(ns_init_main(&s));
    }
    close(chan[1]);
    close(go[0]);
    if (s.tty_slave >= 0)
        close(s.tty_slave);
    if (s.ws_tree_fd >= 0)
        close(s.ws_tree_fd);
    if (s.home_tree_fd >= 0)
        close(s.home_tree_fd);
    if (s.exec_listen >= 0)
        close(s.exec_listen); /* only the exec server inside accepts on it */
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        die_setup("pidfd_open", errno);
    }
    if (ns_write_maps(pid, &s) < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        die_setup("write uid/gid maps", e);
    }
    if (cg.version == 2 && cgroup_attach(&cg, pid) < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        cgroup_cleanup(&cg);
        die_setup("attach to cgroup", e);
    }
    if (write(go[1], "G", 1) != 1) {
        int e = errno;
        kill(pid, SIGKILL);
        die_setup("start init", e);
    }
    close(go[1]);
    void *bpf = NULL;
    size_t bpf_len = 0;
    const char *bstep = "seccomp";
    int berr = seccomp_build(c, &bpf, &bpf_len, &bstep);
    if (berr) {
        kill(pid, SIGKILL);
        die_setup(bstep, berr);
    }
    /* A send failure means the sandbox side already gave up; the monitor loop reports why. */
    chan_send(chan[0], MSG_BPF, bpf, bpf_len, NULL, 0);
    free(bpf);
    ns_reap_idmap();
    int code = monitor_run(&s, pid, pidfd, chan[0], master, &cg, degraded_cg);
    cgroup_cleanup(&cg);
    return code;
}
