/* Moving a relayed connection's bytes. The proxy gets the preamble and the client's first
 * request head, nothing more, and answers with one control line before anything else it sends:
 *   PASS              the proxy serves this connection (plain HTTP, inspected TLS, refusals);
 *   DIAL <ip> <port>  a byte relay the policy allowed, to the address the proxy resolved and
 *                     checked: the helper connects to exactly that address and moves the bytes
 *                     itself, so a tunnel's data never crosses the proxy.
 * The proxy keeps the decision and the kill switch: when it closes its connection (a policy
 * reload took the rule away, the supervisor stops) the tunnel ends. See PROTOCOL.md, "Handoff". */
#include "relay.h"
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_ROUNDS 8 /* reads per direction per wake-up: throughput without starving the monitor */
#define CONTROL_MAX 128
#define PIPE_WANT (1 << 20) /* the unprivileged pipe-max-size default */

struct conn *conns[MAX_CONN];

static const char ESTABLISHED[] = "HTTP/1.1 200 Connection Established\r\n\r\n";

struct conn *conn_new(int c, int p)
{
    struct conn *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->c = c;
    k->p = p;
    k->u = -1;
    k->pipe_up[0] = k->pipe_up[1] = k->pipe_down[0] = k->pipe_down[1] = -1;
    k->mode = M_HEAD;
    return k;
}

void conn_free(struct conn *k)
{
    if (k->c >= 0)
        close(k->c);
    if (k->p >= 0)
        close(k->p);
    int fds[] = {k->u, k->pipe_up[0], k->pipe_up[1], k->pipe_down[0], k->pipe_down[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(k);
}

/* A control line is a few bytes on a socket that carries nothing else at that moment: a short or
 * failed send means the proxy is gone. */
static int tell_proxy(struct conn *k, const char *line)
{
    size_t n = strlen(line);
    return send(k->p, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}

static int violation(struct conn *k, const char *what)
{
    char q[CONTROL_MAX * 6 + 8];
    json_str(q, sizeof q, what);
    ev_emit("{\"type\":\"egress_refused\",\"pid\":0,\"exe\":null,\"reason\":\"proxy protocol violation\",\"detail\":%s}", q);
    return -1;
}

static int c2p_append(struct conn *k, const char *b, size_t n)
{
    if (k->c2p_off) {
        memmove(k->c2p, k->c2p + k->c2p_off, k->c2p_len - k->c2p_off);
        k->c2p_len -= k->c2p_off;
        k->c2p_off = 0;
    }
    if (n > BUF - k->c2p_len)
        return -1;
    memcpy(k->c2p + k->c2p_len, b, n);
    k->c2p_len += n;
    return 0;
}

/* No head boundary the proxy would accept: hand over everything and let the proxy refuse it. */
static int start_stream(struct conn *k)
{
    if (c2p_append(k, k->held, k->held_len) < 0)
        return -1;
    k->held_len = 0;
    k->stream = 1;
    k->mode = M_WAIT;
    return 0;
}

/* Reads toward the first head. The boundary rules are the proxy's (http1.ts): lines end in CRLF,
 * a bare CR or LF is an error, a head ends at the first CRLFCRLF, 16 KiB at most. */
static int read_head(struct conn *k)
{
    ssize_t r = read(k->c, k->held + k->held_len, HEAD_MAX - k->held_len);
    if (r < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (r == 0) {
        k->c_eof = 1;
        return start_stream(k);
    }
    size_t from = k->held_len;
    k->held_len += (size_t)r;
    for (size_t i = from ? from - 1 : 0; i < k->held_len; i++) {
        char ch = k->held[i];
        if (ch == '\r' && i + 1 < k->held_len && k->held[i + 1] != '\n')
            return start_stream(k);
        if (ch != '\n')
            continue;
        if (i == 0 || k->held[i - 1] != '\r')
            return start_stream(k);
        if (i >= 3 && k->held[i - 2] == '\n' && k->held[i - 3] == '\r') {
            size_t h = i + 1;
            if (c2p_append(k, k->held, h) < 0)
                return -1;
            memmove(k->held, k->held + h, k->held_len - h);
            k->held_len -= h;
            k->mode = M_WAIT;
            return 0;
        }
    }
    return k->held_len == HEAD_MAX ? start_stream(k) : 0;
}

static int to_plain(struct conn *k, int keep_held)
{
    k->mode = M_PLAIN;
    int r = keep_held ? c2p_append(k, k->held, k->held_len) : 0;
    k->held_len = 0;
    return r;
}

/* The proxy answers the client itself (502 with the reason) after FAIL. */
static int dial_failed(struct conn *k, int err)
{
    char line[32];
    snprintf(line, sizeof line, "FAIL %d\n", err);
    if (k->u >= 0)
        close(k->u);
    k->u = -1;
    return tell_proxy(k, line) < 0 ? -1 : to_plain(k, 0);
}

static int dial(const char *ip, unsigned port)
{
    struct sockaddr_in a4 = {0};
    struct sockaddr_in6 a6 = {0};
    struct sockaddr *sa;
    socklen_t sl;
    if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a4;
        sl = sizeof a4;
    } else if (inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a6;
        sl = sizeof a6;
    } else {
        errno = EINVAL;
        return -1;
    }
    int u = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u < 0)
        return -1;
    int one = 1;
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as the proxy's own relays do */
    if (connect(u, sa, sl) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(u);
        errno = e;
        return -1;
    }
    return u;
}

static int on_control(struct conn *k, const char *line)
{
    if (k->mode == M_DIAL) {
        if (strcmp(line, "ABORT"))
            return violation(k, line);
        close(k->u);
        k->u = -1;
        return to_plain(k, 0);
    }
    if (!strcmp(line, "PASS"))
        return to_plain(k, 1);
    char ip[INET6_ADDRSTRLEN + 1], extra;
    unsigned port;
    /* DIAL only for a connection whose head the proxy saw alone, and nothing after the line */
    if (!k->stream && k->p2c_len == 0 && sscanf(line, "DIAL %46s %u%c", ip, &port, &extra) == 2 && port > 0 && port < 65536) {
        k->u = dial(ip, port);
        if (k->u < 0)
            return dial_failed(k, errno);
        k->mode = M_DIAL;
        return 0;
    }
    return violation(k, line);
}

/* Reads the proxy's control line; what follows it stays in p2c, bound for the client. */
static int read_control(struct conn *k)
{
    ssize_t r = read(k->p, k->p2c + k->p2c_len, BUF - k->p2c_len);
    if (r == 0)
        return -1; /* the proxy closed before deciding: it has nothing more to say to the client */
    if (r < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    k->p2c_len += (size_t)r;
    char *nl = memchr(k->p2c, '\n', k->p2c_len);
    if (!nl) {
        if (k->p2c_len <= CONTROL_MAX)
            return 0;
        k->p2c[CONTROL_MAX] = 0;
        return violation(k, k->p2c);
    }
    char line[CONTROL_MAX + 1];
    size_t used = (size_t)(nl - k->p2c) + 1;
    snprintf(line, sizeof line, "%.*s", (int)(used - 1), k->p2c);
    memmove(k->p2c, k->p2c + used, k->p2c_len - used);
    k->p2c_len -= used;
    k->p2c_off = 0;
    return on_control(k, line);
}

static int dialled(struct conn *k)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(k->u, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err)
        return dial_failed(k, err);
    if (pipe2(k->pipe_up, O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(k->pipe_down, O_NONBLOCK | O_CLOEXEC) < 0)
        return dial_failed(k, errno);
    /* A larger pipe moves more per splice; the default (64 KiB) is kept where the limit refuses. */
    int cap = fcntl(k->pipe_up[1], F_SETPIPE_SZ, PIPE_WANT);
    if (cap < 0 || fcntl(k->pipe_down[1], F_SETPIPE_SZ, cap) < 0)
        cap = fcntl(k->pipe_down[1], F_GETPIPE_SZ);
    k->pipe_cap = cap > 0 ? (size_t)cap : 65536;
    if (tell_proxy(k, "UP\n") < 0)
        return -1;
    k->mode = M_SPLICED;
    memcpy(k->p2c, ESTABLISHED, sizeof ESTABLISHED - 1);
    k->p2c_len = sizeof ESTABLISHED - 1;
    k->p2c_off = 0;
    k->up = k->held_len;
    return c2p_append(k, k->held, k->held_len) < 0 ? -1 : (k->held_len = 0, 0);
}

/* One direction, a few rounds while bytes flow: returns -1 when the connection must be torn down. */
static int pump(int from, int to, char *buf, size_t *len, size_t *off, int *eof, int *wclosed, short rev_from, int may_read,
                unsigned long long *count)
{
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        int progress = 0;
        if (may_read && *len == 0 && !*eof && (round > 0 || (rev_from & (POLLIN | POLLHUP | POLLERR)))) {
            ssize_t r = read(from, buf, BUF);
            if (r > 0) {
                *len = (size_t)r, *off = 0, progress = 1;
                *count += (unsigned long long)r;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                *eof = 1;
            }
        }
        if (*len > *off) {
            ssize_t w = send(to, buf + *off, *len - *off, MSG_NOSIGNAL);
            if (w > 0)
                *off += (size_t)w, progress = 1;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (*off == *len)
                *len = *off = 0;
        }
        if (!progress || *len)
            break;
    }
    if (*eof && *len == 0 && !*wclosed) {
        shutdown(to, SHUT_WR);
        *wclosed = 1;
    }
    return 0;
}

/* One direction of a spliced tunnel: socket -> pipe -> socket, without copying through user space. */
static int splice_pump(int from, int to, int pipefd[2], size_t *in_pipe, size_t cap, int *eof, int *wclosed, short rev_from,
                       unsigned long long *count)
{
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        int progress = 0;
        if (!*eof && *in_pipe < cap && (round > 0 || (rev_from & (POLLIN | POLLHUP | POLLERR)))) {
            ssize_t r = splice(from, NULL, pipefd[1], NULL, cap - *in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                *in_pipe += (size_t)r, progress = 1;
                *count += (unsigned long long)r;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                *eof = 1;
            }
        }
        if (*in_pipe) {
            ssize_t w = splice(pipefd[0], NULL, to, NULL, *in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w > 0)
                *in_pipe -= (size_t)w, progress = 1;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
        }
        if (!progress)
            break;
    }
    if (*eof && !*in_pipe && !*wclosed) {
        shutdown(to, SHUT_WR);
        *wclosed = 1;
    }
    return 0;
}

/* A spliced tunnel first sends what was buffered (the 200 line, the client's early bytes). */
static int spliced_step(struct conn *k, short cr, short ur)
{
    int r = k->c2p_len ? pump(k->c, k->u, k->c2p, &k->c2p_len, &k->c2p_off, &k->c_eof, &k->closed_w_p, 0, 0, &k->up)
                       : splice_pump(k->c, k->u, k->pipe_up, &k->in_up, k->pipe_cap, &k->c_eof, &k->closed_w_p, cr, &k->up);
    if (r < 0)
        return -1;
    return k->p2c_len ? pump(k->u, k->c, k->p2c, &k->p2c_len, &k->p2c_off, &k->p_eof, &k->closed_w_c, 0, 0, &k->down)
                      : splice_pump(k->u, k->c, k->pipe_down, &k->in_down, k->pipe_cap, &k->p_eof, &k->closed_w_c, ur, &k->down);
}

int relay_fill(struct pollfd *pf, int n, int max)
{
    for (int i = 0; i < MAX_CONN && n + 3 <= max; i++) {
        struct conn *k = conns[i];
        if (!k)
            continue;
        short ce = 0, pe = 0, ue = 0;
        int to_peer = k->c2p_len > k->c2p_off, to_client = k->p2c_len > k->p2c_off;
        switch (k->mode) {
        case M_HEAD:
            ce = k->held_len < HEAD_MAX ? POLLIN : 0;
            pe = POLLIN | (to_peer ? POLLOUT : 0);
            break;
        case M_WAIT:
            ce = k->stream && !k->c_eof && !k->c2p_len ? POLLIN : 0;
            pe = POLLIN | (to_peer ? POLLOUT : 0);
            break;
        case M_DIAL:
            pe = POLLIN;
            ue = POLLOUT;
            break;
        case M_PLAIN:
            ce = (!k->c_eof && !k->c2p_len ? POLLIN : 0) | (to_client ? POLLOUT : 0);
            pe = (!k->p_eof && !k->p2c_len ? POLLIN : 0) | (to_peer ? POLLOUT : 0);
            break;
        case M_SPLICED:
            ce = (!k->c_eof && !k->c2p_len && k->in_up < k->pipe_cap ? POLLIN : 0) | (to_client || k->in_down ? POLLOUT : 0);
            ue = (!k->p_eof && !k->p2c_len && k->in_down < k->pipe_cap ? POLLIN : 0) | (to_peer || k->in_up ? POLLOUT : 0);
            pe = POLLIN; /* the lifeline: anything from the proxy ends the tunnel */
            break;
        }
        k->ci = n;
        pf[n++] = (struct pollfd){k->c, ce, 0};
        k->pi = n;
        pf[n++] = (struct pollfd){k->p, pe, 0};
        k->ui = n;
        pf[n++] = (struct pollfd){k->u, ue, 0};
    }
    return n;
}

static int step(struct conn *k, short cr, short pr, short ur)
{
    const short ready = POLLIN | POLLHUP | POLLERR;
    if (k->mode == M_HEAD && (cr & ready) && read_head(k) < 0)
        return -1;
    if (k->mode == M_HEAD || k->mode == M_WAIT) {
        int may_read = k->mode == M_WAIT && k->stream;
        if (pump(k->c, k->p, k->c2p, &k->c2p_len, &k->c2p_off, &k->c_eof, &k->closed_w_p, may_read ? cr : 0, may_read, &k->up) < 0)
            return -1;
        return (pr & ready) ? read_control(k) : 0;
    }
    if (k->mode == M_DIAL) {
        if (pr & ready)
            return read_control(k);
        return ur ? dialled(k) : 0;
    }
    if (k->mode == M_SPLICED)
        return (pr & ready) ? -1 /* the proxy ended the tunnel (reload, shutdown) */ : spliced_step(k, cr, ur);
    if (pump(k->c, k->p, k->c2p, &k->c2p_len, &k->c2p_off, &k->c_eof, &k->closed_w_p, cr, 1, &k->up) < 0 ||
        pump(k->p, k->c, k->p2c, &k->p2c_len, &k->p2c_off, &k->p_eof, &k->closed_w_c, pr, 1, &k->down) < 0)
        return -1;
    return 0;
}

static void report_done(struct conn *k)
{
    char line[64];
    snprintf(line, sizeof line, "DONE %llu %llu\n", k->up, k->down);
    tell_proxy(k, line);
}

void relay_handle(struct pollfd *pf)
{
    for (int i = 0; i < MAX_CONN; i++) {
        struct conn *k = conns[i];
        if (!k || !k->ci)
            continue;
        short cr = pf[k->ci].revents, pr = pf[k->pi].revents, ur = pf[k->ui].revents;
        k->ci = k->pi = k->ui = 0;
        if (!cr && !pr && !ur)
            continue;
        int bad = step(k, cr, pr, ur) < 0;
        int done = (k->mode == M_PLAIN || k->mode == M_SPLICED) && k->c_eof && k->p_eof && !k->c2p_len && !k->p2c_len &&
                   !k->in_up && !k->in_down;
        if (done && k->mode == M_SPLICED)
            report_done(k);
        if (bad || done) {
            conn_free(k);
            conns[i] = NULL;
        }
    }
}

/* The sandbox is gone: every tunnel ends, and the proxy learns what each one carried. */
void relay_shutdown(void)
{
    for (int i = 0; i < MAX_CONN; i++) {
        if (!conns[i])
            continue;
        if (conns[i]->mode == M_SPLICED)
            report_done(conns[i]);
        conn_free(conns[i]);
        conns[i] = NULL;
    }
}
