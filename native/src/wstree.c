/* The workspace (and --home) as a detached mount, root mode: idmapped to the workload's host id
 * when the owner differs, so what the workload creates belongs to the owner and nothing is
 * chowned. Some filesystems cannot take an idmapped mount (overlayfs, as in containers and CI
 * runners; NFS; most FUSE): mount_setattr(MOUNT_ATTR_IDMAP) fails with EINVAL there. Then, for a
 * workspace whose owner is not root, the workload's host id becomes that owner (the same result
 * without an idmap: what it creates belongs to the owner); a root-owned one is refused with the
 * filesystem's name and the fixes, since the workload must never map to host root (docs/design.md
 * invariant 7). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *fs_name(long type, char *buf, size_t len)
{
    static const struct { long type; const char *name; } known[] = {
        {0x794c7630, "overlayfs"}, {0x6969, "nfs"}, {0x65735546, "fuse"}, {0xff534d42, "cifs"},
        {0xfe534d42, "smb2"}, {0x01021997, "9p"}, {0x61756673, "aufs"}, {0x2fc12fc1, "zfs"},
        {0x786f4256, "vboxsf"}, {0xf15f, "ecryptfs"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].type == type)
            return known[i].name;
    snprintf(buf, len, "filesystem type 0x%lx", type);
    return buf;
}

/* Returns the detached tree; may_remap: whether the owner may become the workload's host id. */
int ws_tree_open(struct setup *s, const char *path, int may_remap)
{
    struct open_how how = {0};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0)
        die_setup("open workspace (openat2 RESOLVE_NO_SYMLINKS)", errno);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die_setup("stat workspace", errno);
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        die_setup("statfs workspace", errno);
    close(fd);
    if (st.st_uid == s->host_uid && st.st_gid == s->host_gid) {
        int tree = mounts_open_workspace_tree(path, -1);
        if (tree < 0)
            die_setup("workspace mount", errno);
        return tree;
    }
    int userns = ns_make_idmap_userns(st.st_uid, st.st_gid, s->host_uid, s->host_gid);
    if (userns < 0)
        die_setup("idmap user namespace for workspace", errno);
    int tree = mounts_open_workspace_tree(path, userns);
    int e = errno;
    close(userns);
    if (tree >= 0)
        return tree;
    if (e != EINVAL && e != EOPNOTSUPP)
        die_setup("idmapped workspace mount (mount_setattr MOUNT_ATTR_IDMAP)", e);
    char buf[64], step[512];
    const char *fs = fs_name((long)sf.f_type, buf, sizeof buf);
    if (!may_remap || st.st_uid == 0) {
        snprintf(step, sizeof step,
                 "%s on %s cannot be idmapped and belongs to %s; give it a non-root owner, or use a "
                 "filesystem that supports idmapped mounts (ext4, xfs, btrfs, tmpfs on Linux >= 6.3) "
                 "(mount_setattr MOUNT_ATTR_IDMAP)",
                 path, fs, st.st_uid == 0 ? "root" : "another user than the workspace's");
        die_setup(step, e);
    }
    /* The owner becomes the workload's host id: no idmap needed, and never root (checked above;
     * a root group is replaced by the owner's own number). */
    s->host_uid = st.st_uid;
    s->host_gid = st.st_gid != 0 ? st.st_gid : (gid_t)st.st_uid;
    tree = mounts_open_workspace_tree(path, -1);
    if (tree < 0)
        die_setup("workspace mount", errno);
    return tree;
}
