/* The sandbox's one way out: connections to 127.0.0.1:3128 inside the sandbox's netns are
 * accepted here, outside, and relayed to the supervisor's proxy socket behind a preamble line
 * naming the calling process. The caller is found from kernel tables (the netns's
 * /proc/net/tcp inode and /proc/<pid>/fd), never from anything the caller says. */
#include "relay.h"
#include "sandbox.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int lfd = -1, tcpfd = -1, spare_fd = -1;
static char netns[64];
static const char *sandbox_id, *proxy_path;

/* Digest cache key: everything an in-place rewrite changes. mtime can be put back (touch -r)
 * and size kept, but ctime is set by the kernel on every write or attribute change and cannot
 * be set from user space; nlink catches a name swapped in by link/unlink on the same inode. */
static struct {
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    nlink_t nlink;
    off_t size;
    char hex[65];
} cache[16];
static int ncache;

void relay_set_netns(const char *ns_id) { snprintf(netns, sizeof netns, "%s", ns_id); }

void relay_setup(int listen_fd, int tcp_fd, const char *id, const char *proxy)
{
    lfd = listen_fd;
    tcpfd = tcp_fd;
    sandbox_id = id;
    proxy_path = proxy;
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    /* A spliced tunnel holds seven descriptors. The sandbox is already cloned, so this raises the
     * monitor's limit only; the workload keeps the policy's nofile. Best effort. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fprintf(stderr, "nemoclaw-sandbox: setrlimit(NOFILE) for the relay: %s (errno %d)\n", strerror(errno), errno);
    }
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors, a pending connection would keep the listener readable and the loop spinning:
 * the spare descriptor makes room to accept it and close it at once. */
static void refuse_one(void)
{
    if (spare_fd < 0)
        return;
    close(spare_fd);
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0)
        close(c);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ev_emit("{\"type\":\"egress_refused\",\"pid\":0,\"exe\":null,\"reason\":\"too many connections\"}");
}

int relay_listen_fd(void) { return lfd; }

static unsigned long find_inode(unsigned port, unsigned *uid)
{
    static char buf[1 << 20];
    size_t o = 0;
    if (lseek(tcpfd, 0, SEEK_SET) < 0)
        return 0;
    for (;;) {
        ssize_t r = read(tcpfd, buf + o, sizeof buf - 1 - o);
        if (r <= 0)
            break;
        o += (size_t)r;
        if (o >= sizeof buf - 1)
            break;
    }
    buf[o] = 0;
    char *save;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        unsigned la, lp, ra, rp, st, u;
        unsigned long ino;
        if (sscanf(l, " %*d: %8X:%4X %8X:%4X %2X %*X:%*X %*X:%*X %*X %u %*d %lu", &la, &lp, &ra, &rp, &st, &u, &ino) == 7 &&
            lp == port && rp == PROXY_PORT) {
            *uid = u;
            return ino;
        }
    }
    return 0;
}

/* Every process holding the socket is considered: when they run different executables (a
 * child keeps talking while its parent execs an allowed binary) the caller is unknown. */
static pid_t find_owner(unsigned long ino)
{
    char want[64], first_exe[4096] = "";
    snprintf(want, sizeof want, "socket:[%lu]", ino);
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    int ambiguous = 0;
    struct dirent *e;
    while (!ambiguous && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char p[300], l[128];
        snprintf(p, sizeof p, "/proc/%s/ns/net", e->d_name);
        ssize_t n = readlink(p, l, sizeof l - 1);
        if (n <= 0)
            continue;
        l[n] = 0;
        if (!netns[0] || strcmp(l, netns))
            continue;
        snprintf(p, sizeof p, "/proc/%s/fd", e->d_name);
        DIR *fdd = opendir(p);
        if (!fdd)
            continue;
        struct dirent *f;
        int holds = 0;
        while (!holds && (f = readdir(fdd))) {
            char fp[600];
            snprintf(fp, sizeof fp, "/proc/%s/fd/%s", e->d_name, f->d_name);
            n = readlink(fp, l, sizeof l - 1);
            if (n <= 0)
                continue;
            l[n] = 0;
            holds = !strcmp(l, want);
        }
        closedir(fdd);
        if (!holds)
            continue;
        char exe[4096];
        snprintf(p, sizeof p, "/proc/%s/exe", e->d_name);
        n = readlink(p, exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        if (!found) {
            found = atoi(e->d_name);
            snprintf(first_exe, sizeof first_exe, "%s", exe);
        } else if (strcmp(first_exe, exe)) {
            ambiguous = 1;
        }
    }
    closedir(d);
    return ambiguous ? 0 : found;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static int cache_hit(const struct stat *st, int i)
{
    return cache[i].dev == st->st_dev && cache[i].ino == st->st_ino && cache[i].size == st->st_size &&
           cache[i].nlink == st->st_nlink && same_time(cache[i].mtime, st->st_mtim) &&
           same_time(cache[i].ctime, st->st_ctim);
}

static void cache_put(const struct stat *st, const char hex[65])
{
    int slot = ncache < 16 ? ncache++ : (int)(st->st_ino % 16);
    cache[slot].dev = st->st_dev;
    cache[slot].ino = st->st_ino;
    cache[slot].size = st->st_size;
    cache[slot].nlink = st->st_nlink;
    cache[slot].mtime = st->st_mtim;
    cache[slot].ctime = st->st_ctim;
    memcpy(cache[slot].hex, hex, 65);
}

/* Big binaries (node is ~100 MB) are hashed once per version of the file, not once per
 * connection. A failure leaves the caller without a digest (an unknown binary to the proxy). */
static int exe_sha(pid_t pid, char hex[65])
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1; /* the process is gone, or not ours to read: no digest */
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fprintf(stderr, "nemoclaw-sandbox: fstat %s: %s (errno %d)\n", p, strerror(errno), errno);
        close(fd);
        return -1;
    }
    for (int i = 0; i < ncache; i++)
        if (cache_hit(&st, i)) {
            memcpy(hex, cache[i].hex, 65);
            close(fd);
            return 0;
        }
    int r = sha256_fd(fd, hex);
    close(fd);
    if (r == 0)
        cache_put(&st, hex);
    return r;
}

/* Who called connect() on which socket, noted while that connect() waited in the seccomp
 * notification: the process that made the connection, not whoever holds it later. */
static struct {
    unsigned long ino;
    pid_t pid;
    int have_exe, have_hex;
    char exe[4096], hex[65];
} recs[32];
static int nrec;

void relay_note_connect(pid_t pid, int fd)
{
    char p[64], l[128];
    snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(p, l, sizeof l - 1);
    unsigned long ino;
    if (n <= 0)
        return;
    l[n] = 0;
    if (sscanf(l, "socket:[%lu]", &ino) != 1)
        return;
    int slot = nrec++ % 32;
    recs[slot].ino = ino;
    recs[slot].pid = pid;
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    n = readlink(p, recs[slot].exe, sizeof recs[slot].exe - 1);
    recs[slot].have_exe = n > 0;
    recs[slot].exe[n > 0 ? n : 0] = 0;
    recs[slot].have_hex = exe_sha(pid, recs[slot].hex) == 0;
}

static int take_record(unsigned long ino, pid_t *pid, char *exe, size_t elen, int *have_exe, char hex[65], int *have_hex)
{
    for (int i = 0; i < 32; i++)
        if (recs[i].ino == ino && ino) {
            *pid = recs[i].pid;
            snprintf(exe, elen, "%s", recs[i].exe);
            memcpy(hex, recs[i].hex, 65);
            *have_exe = recs[i].have_exe;
            *have_hex = recs[i].have_hex;
            recs[i].ino = 0;
            return 1;
        }
    return 0;
}

void relay_accept(void)
{
    for (int loops = 0; loops < 16; loops++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int c = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE)
                refuse_one();
            return;
        }
        unsigned port = ntohs(peer.sin_port), uid = 0;
        unsigned long ino = find_inode(port, &uid);
        char exe[4096] = "", hex[65] = "", qexe[8300], qid[600], qhex[80];
        int have_exe = 0, have_hex = 0;
        pid_t pid = 0;
        if (ino && take_record(ino, &pid, exe, sizeof exe, &have_exe, hex, &have_hex)) {
            /* attributed at connect() time */
        } else if ((pid = ino ? find_owner(ino) : 0)) {
            char p[64];
            snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
            ssize_t n = readlink(p, exe, sizeof exe - 1);
            if (n > 0) {
                exe[n] = 0;
                have_exe = 1;
            }
            have_hex = exe_sha(pid, hex) == 0;
        }
        json_str(qexe, sizeof qexe, have_exe ? exe : NULL);
        json_str(qhex, sizeof qhex, have_hex ? hex : NULL);
        int slot = -1;
        for (int i = 0; i < MAX_CONN; i++)
            if (!conns[i]) {
                slot = i;
                break;
            }
        const char *refuse = !proxy_path ? "no proxy configured" : slot < 0 ? "too many connections" : NULL;
        int p = -1;
        if (!refuse) {
            p = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un ua = {0};
            ua.sun_family = AF_UNIX;
            snprintf(ua.sun_path, sizeof ua.sun_path, "%s", proxy_path);
            if (p < 0 || connect(p, (struct sockaddr *)&ua, sizeof ua) < 0) {
                refuse = "proxy unreachable";
                if (p >= 0)
                    close(p);
                p = -1;
            }
        }
        if (refuse) {
            close(c);
            ev_emit("{\"type\":\"egress_refused\",\"pid\":%d,\"exe\":%s,\"reason\":\"%s\"}", (int)pid, qexe, refuse);
            continue;
        }
        fcntl(p, F_SETFL, O_NONBLOCK);
        /* The relay forwards what the proxy wrote as it arrives: a response head and its body are
         * separate sends, and with Nagle the second waits for the client's delayed ACK (40 ms). */
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *k = conn_new(c, p);
        if (!k) {
            close(c);
            close(p);
            continue;
        }
        json_str(qid, sizeof qid, sandbox_id);
        int n = snprintf(k->c2p, sizeof k->c2p, "NEMOCLAW/1 {\"sandbox\":%s,\"pid\":%d,\"exe\":%s,\"sha256\":%s,\"uid\":%u,\"handoff\":1}\n",
                         qid, (int)pid, qexe, qhex, uid);
        k->c2p_len = n > 0 && n < BUF ? (size_t)n : 0;
        conns[slot] = k;
        ev_emit("{\"type\":\"egress_connection\",\"pid\":%d,\"exe\":%s,\"sha256\":%s,\"port\":%u}", (int)pid, qexe, qhex, port);
    }
}
