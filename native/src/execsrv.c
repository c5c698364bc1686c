/* The exec server (--exec-socket): forked by the workload after every restriction is in force
 * (namespaces, cgroup, uid, rlimits, capabilities dropped, Landlock, NoNewPrivs, seccomp with the
 * monitor's notifier), just before the workload's own execve. It inherits all of that and can
 * shed none of it, so every process it starts has exactly the workload's restrictions: there is
 * no path from the exec socket to an unrestricted process. Protocol: PROTOCOL.md "Exec socket". */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define REQ_MAX 65536
#define FRAME_MAX (1 << 20)

extern char **environ;

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int send_frame(int conn, char type, const void *data, uint32_t len)
{
    unsigned char h[5];
    h[0] = (unsigned char)type;
    put_be32(h + 1, len);
    if (write_full(conn, h, 5) < 0)
        return -1;
    return len ? write_full(conn, data, len) : 0;
}

static void fail(int conn, const char *what, int err)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
    send_frame(conn, 'f', msg, (uint32_t)n);
    _exit(1);
}

struct request {
    int tty;
    unsigned cols, rows;
    char **argv;
    char **envp;
};

/* Body: NUL-terminated strings tty, cols, rows, argc, argv..., then K=V entries. The sandbox's
 * configured environment comes first; a request entry with the same name replaces it. */
static int parse_request(char *body, size_t len, struct config *c, struct request *rq)
{
    if (len == 0 || body[len - 1] != 0)
        return -1;
    char *f[REQ_MAX / 2];
    size_t nf = 0;
    for (char *p = body; p < body + len && nf < sizeof f / sizeof f[0]; p += strlen(p) + 1)
        f[nf++] = p;
    if (nf < 5)
        return -1;
    rq->tty = atoi(f[0]) == 1;
    rq->cols = (unsigned)atoi(f[1]);
    rq->rows = (unsigned)atoi(f[2]);
    long argc = strtol(f[3], NULL, 10);
    if (argc < 1 || (size_t)argc > nf - 4)
        return -1;
    rq->argv = calloc((size_t)argc + 1, sizeof *rq->argv);
    size_t extra = nf - 4 - (size_t)argc;
    rq->envp = calloc((size_t)c->env.n + extra + 1, sizeof *rq->envp);
    if (!rq->argv || !rq->envp)
        return -1;
    for (long i = 0; i < argc; i++)
        rq->argv[i] = f[4 + i];
    size_t ne = 0;
    for (int i = 0; i < c->env.n; i++)
        rq->envp[ne++] = (char *)c->env.v[i];
    for (size_t i = 0; i < extra; i++) {
        char *kv = f[4 + argc + (long)i];
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
            return -1;
        size_t k = (size_t)(eq - kv) + 1;
        size_t j = 0;
        while (j < ne && strncmp(rq->envp[j], kv, k))
            j++;
        rq->envp[j] = kv;
        if (j == ne)
            ne++;
    }
    return 0;
}

static void set_winsize(int master, unsigned cols, unsigned rows)
{
    struct winsize ws = {0};
    ws.ws_col = (unsigned short)(cols ? cols : 80);
    ws.ws_row = (unsigned short)(rows ? rows : 24);
    ioctl(master, TIOCSWINSZ, &ws); /* best effort: a size is cosmetic */
}

/* Reads what is available without blocking; returns 0 at EOF/EIO (pty closed), 1 otherwise. */
static int pump(int from, int conn, char type)
{
    char buf[16384];
    for (;;) {
        ssize_t r = read(from, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 1;
        if (r <= 0)
            return 0;
        if (send_frame(conn, type, buf, (uint32_t)r) < 0)
            _exit(1);
    }
}

/* After the exit frame: a client may still be writing (stdin, an EOF frame). Closing now would
 * make its write fail with EPIPE, and a client that treats that as the end may drop the exit frame
 * still unread in its socket. So read and discard until it closes too (bounded: 5 s). */
static void linger_until_eof(int conn)
{
    char buf[4096];
    for (int i = 0; i < 50; i++) {
        struct pollfd p = {conn, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR)
            return;
        if (r > 0) {
            ssize_t n = read(conn, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return;
        }
    }
}

static void child_exec(struct request *rq, int in, int out, int err, int slave)
{
    for (int i = 1; i < _NSIG; i++)
        signal(i, SIG_DFL);
    if (setsid() < 0)
        _exit(126);
    if (slave >= 0) {
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
            _exit(126);
        in = out = err = slave;
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    environ = rq->envp;
    execvp(rq->argv[0], rq->argv);
    int e = errno;
    dprintf(2, "nemoclaw exec: %s: %s\n", rq->argv[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

static void session(int conn, struct config *c) __attribute__((noreturn));
static void session(int conn, struct config *c)
{
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    unsigned char head[8];
    if (read_full(conn, head, 8) < 0 || memcmp(head, "NCX1", 4))
        fail(conn, "exec request: bad header", EPROTO);
    uint32_t len = get_be32(head + 4);
    if (len == 0 || len > REQ_MAX)
        fail(conn, "exec request: bad length", EPROTO);
    char *body = malloc(len);
    if (!body)
        fail(conn, "exec request: malloc", ENOMEM);
    if (read_full(conn, body, len) < 0)
        fail(conn, "exec request: short body", EPROTO);
    struct request rq = {0};
    if (parse_request(body, len, c, &rq) < 0)
        fail(conn, "exec request: malformed body", EPROTO);

    int master = -1, slave = -1, in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (rq.tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
            fail(conn, "open /dev/ptmx", errno);
        if (unlockpt(master) < 0)
            fail(conn, "unlockpt", errno);
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
        if (slave < 0)
            fail(conn, "open pty peer", errno);
        set_winsize(master, rq.cols, rq.rows);
    } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        fail(conn, "pipe2", errno);
    }
    pid_t child = fork();
    if (child < 0)
        fail(conn, "fork", errno);
    if (child == 0) {
        close(conn);
        child_exec(&rq, in[0], out[1], err[1], slave);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (pidfd < 0) {
        kill(child, SIGKILL);
        fail(conn, "pidfd_open", errno);
    }
    int to_child = rq.tty ? master : in[1];
    int from_out = rq.tty ? master : out[0];
    int from_err = rq.tty ? -1 : err[0];
    if (slave >= 0)
        close(slave);
    if (!rq.tty) {
        close(in[0]);
        close(out[1]);
        close(err[1]);
    }
    if (fcntl(from_out, F_SETFL, O_NONBLOCK) < 0 || (from_err >= 0 && fcntl(from_err, F_SETFL, O_NONBLOCK) < 0))
        fail(conn, "fcntl(O_NONBLOCK)", errno);
    unsigned char pidb[4];
    put_be32(pidb, (uint32_t)child);
    if (send_frame(conn, 'p', pidb, 4) < 0)
        goto gone;

    char *fbuf = malloc(FRAME_MAX);
    if (!fbuf)
        goto gone;
    for (;;) {
        struct pollfd pf[4] = {{conn, POLLIN, 0}, {pidfd, POLLIN, 0}, {from_out, POLLIN, 0}, {from_err, POLLIN, 0}};
        if (poll(pf, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            goto gone;
        }
        if (from_out >= 0 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(from_out, conn, 'o')) {
            if (!rq.tty)
                close(from_out);
            from_out = -1;
            if (rq.tty)
                to_child = -1; /* the pty is gone with its last slave holder */
        }
        if (from_err >= 0 && (pf[3].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(from_err, conn, 'r')) {
            close(from_err);
            from_err = -1;
        }
        if (pf[1].revents & POLLIN) {
            if (from_out >= 0)
                pump(from_out, conn, 'o');
            if (from_err >= 0)
                pump(from_err, conn, 'r');
            int st = 0;
            while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                ;
            unsigned char x[8];
            put_be32(x, WIFEXITED(st) ? (uint32_t)WEXITSTATUS(st) : 0xffffffffu);
            put_be32(x + 4, WIFSIGNALED(st) ? (uint32_t)WTERMSIG(st) : 0);
            send_frame(conn, 'x', x, 8);
            shutdown(conn, SHUT_WR);
            linger_until_eof(conn);
            _exit(0);
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char h[5];
            if (read_full(conn, h, 5) < 0)
                goto gone;
            uint32_t n = get_be32(h + 1);
            if (n > FRAME_MAX || (n && read_full(conn, fbuf, n) < 0))
                goto gone;
            if (h[0] == 'i' && to_child >= 0) {
                if (write_full(to_child, fbuf, n) < 0 && !rq.tty) {
                    close(to_child);
                    to_child = -1;
                }
            } else if (h[0] == 'e' && to_child >= 0) {
                if (rq.tty) {
                    char eof = 4; /* VEOF of a fresh pty */
                    write_full(to_child, &eof, 1);
                } else {
                    close(to_child);
                    to_child = -1;
                }
            } else if (h[0] == 'w' && n == 4 && master >= 0) {
                set_winsize(master, (unsigned)fbuf[0] << 8 | (unsigned char)fbuf[1], (unsigned)fbuf[2] << 8 | (unsigned char)fbuf[3]);
            } else if (h[0] == 'k' && n == 1 && fbuf[0] > 0 && fbuf[0] < 65) {
                kill(-child, fbuf[0]);
            }
        }
    }
gone:
    /* The client went away: its process group goes with it. */
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
    _exit(1);
}

void execsrv_main(int listen_fd, struct config *c)
{
    /* Out of the workload's process group and session: signals aimed at the workload's group
     * do not reach the server. Sessions are reaped automatically. */
    if (setsid() < 0)
        _exit(1);
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    /* The workload's stdio (its log pipes or pty) is not ours to hold open. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        _exit(1);
    for (int i = 0; i < 3; i++)
        if (dup2(null, i) < 0)
            _exit(1);
    close(null);
    for (;;) {
        int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                continue;
            _exit(1);
        }
        pid_t p = fork();
        if (p == 0) {
            close(listen_fd);
            session(conn, c);
        }
        close(conn); /* fork failure (pids limit): the client sees the connection close */
    }
}

/* Monitor side, before clone: the listening socket at PATH (0600; its directory should be 0700). */
int execsrv_listen(const char *path)
{
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        return -1;
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        close(l);
        errno = EEXIST; /* never remove anything but a stale socket */
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        int e = errno;
        close(l);
        errno = e;
        return -1;
    }
    mode_t old = umask(0177);
    int r = bind(l, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r < 0 || listen(l, 64) < 0) {
        int e = errno;
        close(l);
        errno = e;
        return -1;
    }
    return l;
}
