/* NDJSON events out, the parent<->child channel, and setup-failure reporting.
 * Only the monitor writes events: one writer keeps every line whole. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int ev_fd = -1;
static int child_chan = -1;

void ev_init(int fd) { ev_fd = fd; }

void ev_emit(const char *fmt, ...)
{
    if (ev_fd < 0)
        return;
    char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(ev_fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* A reader that went away must not take the sandbox's reporting down with it. */
            ev_fd = -1;
            return;
        }
        p += w;
        n -= (int)w;
    }
}

void json_str(char *out, size_t outsz, const char *s)
{
    if (!s) {
        snprintf(out, outsz, "null");
        return;
    }
    size_t o = 0;
    if (outsz < 8) {
        out[0] = 0;
        return;
    }
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 8 < outsz; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(out + o, outsz - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '"';
    out[o] = 0;
}

void die_setup(const char *step, int err)
{
    char st[256];
    json_str(st, sizeof st, step);
    fprintf(stderr, "nemoclaw-sandbox: %s: %s (errno %d)\n", step, strerror(err), err);
    char msg[300];
    json_str(msg, sizeof msg, strerror(err));
    ev_emit("{\"type\":\"error\",\"step\":%s,\"errno\":%d,\"message\":%s}", st, err, msg);
    ev_emit("{\"type\":\"exit\",\"code\":%d,\"signal\":null,\"reason\":\"setup_failed\"}", EXIT_SETUP);
    exit(EXIT_SETUP);
}

void child_set_chan(int fd) { child_chan = fd; }

/* Inside the sandbox the monitor reports the failure, so the stderr line and the event come
 * from one place; without a channel we still owe the operator the line. */
void child_fail(const char *step, int err)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "%s", step);
    if (n < 0 || n > 250)
        n = 250;
    buf[n++] = 0;
    memcpy(buf + n, &err, sizeof err);
    if (child_chan < 0 || chan_send(child_chan, MSG_FAIL, buf, (size_t)n + sizeof err, NULL, 0) < 0)
        fprintf(stderr, "nemoclaw-sandbox: %s: %s (errno %d)\n", step, strerror(err), err);
    _exit(EXIT_SETUP);
}

int chan_send(int chan, char type, const void *data, size_t len, const int *fds, int nfds)
{
    struct iovec iov[2] = {{&type, 1}, {(void *)data, len}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } u;
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = len ? 2 : 1;
    if (nfds > 0) {
        memset(&u, 0, sizeof u);
        m.msg_control = u.buf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t r;
    do
        r = sendmsg(chan, &m, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

ssize_t chan_recv(int chan, char *buf, size_t len, int *fds, int *nfds, pid_t *sender)
{
    struct iovec iov = {buf, len - 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    ssize_t r;
    do
        r = recvmsg(chan, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    int got = 0;
    if (r >= 0) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < k; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                    if (fds && got < *nfds)
                        fds[got++] = fd;
                    else
                        close(fd);
                }
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && sender) {
                struct ucred uc;
                memcpy(&uc, CMSG_DATA(c), sizeof uc);
                *sender = uc.pid;
            }
        }
        buf[r] = 0;
    }
    if (nfds)
        *nfds = got;
    return r;
}

int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t o = 0;
    while (o + 1 < len) {
        ssize_t r = read(fd, buf + o, len - 1 - o);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        o += (size_t)r;
    }
    buf[o] = 0;
    int e = errno;
    close(fd);
    errno = e;
    return (int)o;
}

int write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(data);
    ssize_t w = write(fd, data, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}
