/* The sandbox's own /etc/passwd and /etc/group: the sandbox user, root and nobody, nothing of
 * the host's accounts (docs/design.md invariant 7: the workload sees little). With the host's
 * files, `id` inside showed the name of whichever host account has uid 1000, and every host
 * account name and home was readable. The files are written on the new root's tmpfs, bound
 * read-only over whatever the policy shows at those paths, and their source names removed, so
 * the only way to them is the bind. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Writes data to a new file NAME in dir; a short write is an error (ENOSPC on a 16m tmpfs). */
static void write_new(int dir, const char *name, const char *data)
{
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        child_fail("create sandbox passwd/group", errno);
    size_t len = strlen(data);
    ssize_t n = write(fd, data, len);
    if (n < 0 || (size_t)n != len)
        child_fail("write sandbox passwd/group", n < 0 ? errno : ENOSPC);
    if (fchmod(fd, 0644) < 0)
        child_fail("chmod sandbox passwd/group", errno);
    if (close(fd) < 0)
        child_fail("close sandbox passwd/group", errno);
}

/* The place to bind over: /etc/NAME inside the new root. Where the policy shows a host /etc
 * (read-only or not) the existing file is covered; nothing is ever created in a host bind: when
 * /etc comes from the host and lacks NAME, it is left alone (returns -1). */
static int target(int root, const char *name)
{
    struct open_how how = {0};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int etc = (int)syscall(SYS_openat2, root, "etc", &how, sizeof how);
    if (etc < 0 && errno == ENOENT) {
        if (mkdirat(root, "etc", 0755) < 0)
            child_fail("mkdir /etc in new root", errno);
        etc = (int)syscall(SYS_openat2, root, "etc", &how, sizeof how);
    }
    if (etc < 0)
        child_fail("open /etc in new root (openat2 RESOLVE_NO_SYMLINKS)", errno);
    int fd = openat(etc, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        struct stat es, rs;
        if (fstat(etc, &es) < 0 || fstat(root, &rs) < 0)
            child_fail("stat /etc in new root", errno);
        if (es.st_dev == rs.st_dev) { /* our own tmpfs: a mount point costs nothing */
            fd = openat(etc, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        } else {
            close(etc);
            return -1;
        }
    }
    if (fd < 0)
        child_fail("open /etc passwd/group in new root", errno);
    close(etc);
    return fd;
}

static void bind_over(int root, const char *src, const char *name)
{
    int t = open_tree(root, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (t < 0)
        child_fail("open_tree sandbox passwd/group", errno);
    struct mount_attr a = {0};
    a.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
        child_fail("read-only sandbox passwd/group (mount_setattr)", errno);
    int to = target(root, name);
    if (to >= 0) {
        if (move_mount(t, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            child_fail("bind sandbox passwd/group", errno);
        close(to);
    }
    close(t);
    if (unlinkat(root, src, 0) < 0)
        child_fail("unlink sandbox passwd/group source", errno);
}

void etc_identity(int root, struct config *c)
{
    char passwd[512], group[256];
    snprintf(passwd, sizeof passwd,
             "root:x:0:0:root:/root:/usr/sbin/nologin\n"
             "sandbox:x:%u:%u:sandbox:/home/sandbox:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
             (unsigned)c->uid, (unsigned)c->gid);
    snprintf(group, sizeof group, "root:x:0:\nsandbox:x:%u:\nnogroup:x:65534:\n", (unsigned)c->gid);
    write_new(root, ".passwd", passwd);
    write_new(root, ".group", group);
    bind_over(root, ".passwd", "passwd");
    bind_over(root, ".group", "group");
    /* Readable under Landlock whatever the policy lists (the rules are added in the workload,
     * after pivot_root, by path): both names now lead to these files only. */
    const char *names[] = {"/etc/passwd", "/etc/group"};
    for (int i = 0; i < 2; i++) {
        int seen = 0;
        for (int j = 0; j < c->ro.n; j++)
            seen |= !strcmp(c->ro.v[j], names[i]);
        if (!seen && c->ro.n < MAX_LIST)
            c->ro.v[c->ro.n++] = names[i];
    }
}
