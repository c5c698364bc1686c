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
#include <sys/socket.h>
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
 * maps the workspace owner (inside) to the workload's host id (outside); a short-lived child
 * holds it open long enough for us to grab /proc/<child>/ns/user. */
int ns_make_idmap_userns(uid_t in_uid, gid_t in_gid, uid_t out_uid, gid_t out_gid)
{
    int p[2], q[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(q, O_CLOEXEC) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        close(p[0]);
        close(q[1]);
        char ok = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'e';
        if (write(p[1], &ok, 1) != 1)
            _exit(1);
        char x;
        while (read(q[0], &x, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[1]);
    close(q[0]);
    char ok = 0;
    int fd = -1, err = 0;
    while (read(p[0], &ok, 1) < 0 && errno == EINTR)
        ;
    if (ok != 'u') {
        err = EPERM;
    } else {
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
    }
    close(q[1]);
    close(p[0]);
    while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        errno = err ? err : EPERM;
    return fd;
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
