/* The relay's per-connection state, shared by relay.c (accepting and attributing connections)
 * and tunnel.c (moving their bytes, and the handoff of byte-relay tunnels). */
#ifndef NEMOCLAW_RELAY_H
#define NEMOCLAW_RELAY_H

#include <poll.h>
#include <stddef.h>

/* Concurrent relayed connections per sandbox. A conn's buffers are allocated untouched (calloc of
 * this size is an mmap), so memory follows use: a spliced tunnel touches a few pages. */
#define MAX_CONN 1024
#define BUF 65536
/* The proxy refuses request heads of 16 KiB (431); past that the helper stops looking for one. */
#define HEAD_MAX 16384

/* HEAD: reading the first request head from the client, holding what follows it.
 * WAIT: the head went to the proxy; waiting for its control line (PASS or DIAL).
 * DIAL: the proxy allowed a byte relay and named the checked address; connecting to it.
 * PLAIN: client <-> proxy (the proxy parses, inspects, answers).
 * SPLICED: client <-> upstream; the proxy connection stays open as the tunnel's lifeline. */
enum conn_mode { M_HEAD, M_WAIT, M_DIAL, M_PLAIN, M_SPLICED };

struct conn {
    int c, p, u; /* client (inside the sandbox), proxy (unix socket), upstream (-1 until DIAL) */
    enum conn_mode mode;
    int stream;  /* no head boundary found: the client's bytes flow to the proxy, no handoff */
    int gone;    /* the client hung up while we waited on the proxy */
    char c2p[BUF], p2c[BUF]; /* toward the peer (proxy, or upstream once spliced); toward the client */
    size_t c2p_len, c2p_off, p2c_len, p2c_off;
    int c_eof, p_eof, closed_w_p, closed_w_c;
    char held[HEAD_MAX]; /* what the client sent after its first head, until the proxy decides */
    size_t held_len;
    unsigned long long up, down; /* bytes of a spliced tunnel, reported to the proxy at the end */
    int pipe_up[2], pipe_down[2]; /* splice(2) pipes of a spliced tunnel: bytes never enter our memory */
    size_t in_up, in_down, pipe_cap;
    int ci, pi, ui;              /* pollfd slots this round; 0 = none */
};

extern struct conn *conns[MAX_CONN];

struct conn *conn_new(int c, int p);
void conn_free(struct conn *k);

#endif
