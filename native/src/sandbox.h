/* Shared declarations of the nemoclaw-sandbox helper. See ../PROTOCOL.md for the interface. */
#ifndef NEMOCLAW_SANDBOX_H
#define NEMOCLAW_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXIT_SETUP 125
#define PROXY_PORT 3128
/* Host uid/gid the workload gets when the helper runs as root (documented in PROTOCOL.md). */
#define ROOT_MODE_HOST_ID 64000
#define MAX_LIST 256

struct strlist {
    const char *v[MAX_LIST];
    int n;
};

struct portlist {
    uint16_t v[MAX_LIST];
    int n;
};

struct config {
    struct strlist ro, rw, env, exec_allow, deny_syscall, log_syscall, protect;
    struct portlist tcp_bind, tcp_connect;
    const char *workspace, *home, *proxy_socket, *hostname, *sandbox_id;
    const char *exec_socket; /* Additions: exec server socket path, or NULL */
    uid_t uid;
    gid_t gid;
    uid_t host_uid; /* root mode only */
    int landlock_hard;
    int exec_unmatched; /* EXEC_ALLOW/ASK/DENY */
    long long nofile, fsize, nproc, memory, pids, cpu, wall_ms, ask_timeout_ms;
    int events_fd, control_fd;
    int tty;
    int die_with_parent;
    int await_verdict; /* Additions: exec only after {"verdict":"go"} on the control fd */
    int await_argv;    /* Additions: no CMD; it comes in the go verdict (warm pool, claim.c) */
    const char *seccomp_cache; /* Additions: directory of compiled filters (bpfcache.c), or NULL */
    long long tmp_size; /* Additions: bytes per private tmpfs (/tmp, /var/tmp, /dev/shm, HOME) */
    char **argv; /* CMD ARGS..., NULL-terminated */
};

enum { EXEC_ALLOW, EXEC_ASK, EXEC_DENY };

/* Size of each private tmpfs when --tmp-size is absent (the policy default, limits.tmp_size). */
#define DEFAULT_TMP_SIZE (512LL << 20)

/* Messages on the SOCK_SEQPACKET channel from init/workload to the monitor. */
enum {
    MSG_NETFDS = 'N',   /* init: listener + /proc/net/tcp fds */
    MSG_READY = 'R',    /* workload: enforcement JSON fragments + notify fd */
    MSG_FAIL = 'F',     /* init/workload: step\0errno */
    MSG_STATUS = 'W',   /* init: workload's wait status */
    MSG_EXECFAIL = 'X', /* workload: execve errno */
    MSG_BPF = 'B',      /* monitor -> workload: the compiled seccomp program */
    MSG_ACK = 'A',      /* monitor -> workload: ready is out, go ahead and exec */
};

/* Everything the sandbox side needs, prepared before clone(). */
struct setup {
    struct config *cfg;
    int chan;           /* child end of the seqpacket channel */
    int go_fd;          /* read end: monitor says the uid/gid maps (and a v2 cgroup) are in place */
    int ws_tree_fd;     /* detached (maybe idmapped) workspace mount, root mode; -1 otherwise */
    int home_tree_fd;   /* same for --home */
    int tty_slave;      /* -1 without --tty */
    int exec_listen;    /* --exec-socket listener, -1 without */
    int rootless;       /* helper is not root: unprivileged user namespace */
    uid_t host_uid;
    gid_t host_gid;
    const struct cgroup_state *cg; /* a v1 leaf init joins itself (cgroup_join_self); else NULL */
};

extern struct config g_cfg;
extern char *g_args_start, *g_args_end; /* our argv strings, scrubbed by init */

/* cli.c */
int cli_parse(int argc, char **argv, struct config *cfg);
int canonical_abs(const char *path);

/* events.c */
void ev_init(int fd);
void ev_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void json_str(char *out, size_t outsz, const char *s); /* writes a quoted JSON string or null */
void die_setup(const char *step, int err) __attribute__((noreturn));
void child_fail(const char *step, int err) __attribute__((noreturn));
void child_set_chan(int fd);
int chan_send(int chan, char type, const void *data, size_t len, const int *fds, int nfds);
ssize_t chan_recv(int chan, char *buf, size_t len, int *fds, int *nfds, pid_t *sender);

/* namespaces.c */
int ns_init_main(void *arg);
void init_become_mapped(struct setup *s);
extern int g_memfd_exec_open;
int ns_write_maps(pid_t pid, struct setup *s);
int ns_make_idmap_userns(uid_t inside_uid, gid_t inside_gid, uid_t out_uid, gid_t out_gid);
void ns_reap_idmap(void);
int ns_lo_up(void);

/* mounts.c */
int mounts_open_workspace_tree(const char *path, int idmap_userns);
void mounts_build(struct setup *s);
void mounts_attach(int root, int tree, const char *path, int is_dir, const char *step);
extern struct strlist g_skipped;

/* wstree.c */
int ws_tree_open(struct setup *s, const char *path, int may_remap);

/* etc.c */
void etc_identity(int root, struct config *c);

/* landlock.c */
struct ll_result {
    int abi;
    unsigned long long fs_handled;
    int net, scoped_signal, scoped_abstract, exec_restricted;
    char degraded[512];
};
void landlock_apply(struct config *cfg, struct ll_result *r, const char *cmd_path);
int landlock_abi(void);

/* seccomp.c */
int seccomp_build(struct config *cfg, void **out, size_t *outlen, const char **step);
void seccomp_install(void *insns, size_t len, int *notify_fd);
const char *seccomp_name(int nr, char *buf, size_t len);
int seccomp_is_logged(int nr);
int seccomp_prepare(struct config *cfg, const char **bad);
enum { SV_CONTINUE, SV_DENY, SV_EXEC, SV_CONNECT };
int seccomp_verdict(int nr, const uint64_t *args);

/* limits.c */
void limits_rlimits(struct config *cfg);
struct cgroup_state {
    int version;
    char path[4][512]; /* v1: one dir per controller; v2: path[0] */
    const char *ctrl[4];
    int n;
    char json[1024];
};
int cgroup_setup(struct config *cfg, struct cgroup_state *cg, char *degraded, size_t dlen);
int cgroup_attach(struct cgroup_state *cg, pid_t pid);
int cgroup_join_self(const struct cgroup_state *cg, const char **failed);
void cgroup_counters(struct cgroup_state *cg, long long *oom_kills, long long *pids_max);
long long cgroup_pids_current(struct cgroup_state *cg);
void cgroup_kill(struct cgroup_state *cg);
void cgroup_cleanup(struct cgroup_state *cg);

/* relay.c */
struct pollfd;
void relay_setup(int listen_fd, int tcp_fd, const char *id, const char *proxy);
void relay_set_netns(const char *ns_id);
void relay_note_connect(pid_t pid, int fd);
int relay_listen_fd(void);
void relay_accept(void);
int relay_fill(struct pollfd *pf, int n, int max);
void relay_handle(struct pollfd *pf);
void relay_shutdown(void);

/* monitor.c */
int monitor_run(struct setup *s, pid_t init_pid, int init_pidfd, int chan, int tty_master, struct cgroup_state *cg,
                const char *degraded_cg);

/* execsrv.c */
int execsrv_listen(const char *path);
void execsrv_main(int listen_fd, struct config *cfg) __attribute__((noreturn));

/* claim.c */
int claim_parse(const char *line, char *out, size_t cap, size_t *len, const char **why);
int claim_unpack(char *buf, size_t len, struct config *c);
#define CLAIM_MAX 65536

/* sha256.c */
int sha256_fd(int fd, char hex[65]);
void sha256_buf(const void *data, size_t len, char hex[65]);

/* bpfcache.c */
int bpfcache_load(const char *dir, const char *key, void **out, size_t *outlen);
void bpfcache_store(const char *dir, const char *key, const void *insns, size_t len);

/* util */
int read_file(const char *path, char *buf, size_t len);
int write_file(const char *path, const char *data);

#endif
