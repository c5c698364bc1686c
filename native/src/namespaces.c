/* User-namespace id maps, the helper userns behind the idmapped workspace, loopback bring-up. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_proc(pid_t pid, const char *file, const char *data)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    return write_file(path, data);
}

/* One id inside, one id outside: the workload never has a mapping for uid 0, so no process
 * in the sandbox can ever be root, not even root of its own user namespace after exec. */
int ns_write_maps(pid_t pid, struct setup *s)
{
    char line[64];
    if (s->rootless && write_proc(pid, "setgroups", "deny") < 0)
        return -1;
    snprintf(line, sizeof line, "%u %u 1\n", (unsigned)s->cfg->uid, (unsigned)s->host_uid);
    if (write_proc(pid, "uid_map", line) < 0)
        return -1;
    snprintf(line, sizeof line, "%u %u 1\n", (unsigned)s->cfg->gid, (unsigned)s->host_gid);
    if (write_proc(pid, "gid_map", line) < 0)
        return -1;
    return 0;
}

/* mount_setattr(MOUNT_ATTR_IDMAP) takes the mapping from a user namespace, so we need one that
 * maps the workspace owner (inside) to the workload's host id (outside). A child cloned straight
 * into a new user namespace holds it: its maps can be written and its ns link opened at once,
 * without waiting for it to run (an unshare() in the child cost a round trip through the
 * scheduler on every start). It is killed right after and reaped by ns_reap_idmap(), later, so
 * that no start waits for it to be scheduled just to die. */
static pid_t idmap_children[2]; /* workspace and --home */
static int n_idmap;

int ns_make_idmap_userns(uid_t in_uid, gid_t in_gid, uid_t out_uid, gid_t out_gid)
{
    pid_t parent = getpid();
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
    if (c < 0)
        return -1;
    if (c == 0) {
        /* Nothing survives its parent: if the helper dies before killing us, we die too. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(1);
        for (;;)
            pause();
    }
    int fd = -1, err = 0;
    char line[64];
    snprintf(line, sizeof line, "%u %u 1\n", (unsigned)in_uid, (unsigned)out_uid);
    if (write_proc(c, "uid_map", line) < 0)
        err = errno;
    snprintf(line, sizeof line, "%u %u 1\n", (unsigned)in_gid, (unsigned)out_gid);
    if (!err && write_proc(c, "gid_map", line) < 0)
        err = errno;
    if (!err) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            err = errno;
    }
    kill(c, SIGKILL);
    if (n_idmap < 2)
        idmap_children[n_idmap++] = c;
    else
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
            ;
    if (fd < 0)
        errno = err ? err : EPERM;
    return fd;
}

/* Reaps the idmap holders killed above (called once the start no longer waits on anything). */
void ns_reap_idmap(void)
{
    for (int i = 0; i < n_idmap; i++)
        while (waitpid(idmap_children[i], NULL, 0) < 0 && errno == EINTR)
            ;
    n_idmap = 0;
}

int ns_lo_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(s);
    errno = e;
    return r;
}
