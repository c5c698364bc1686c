/* The filesystem view. Every host path is cloned into a detached mount (open_tree) while the
 * host tree is still visible, then attached by fd under a fresh tmpfs root, so nothing the
 * workload planted in a previous run can redirect where a mount lands or what it binds. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct strlist g_skipped;

#define NEWROOT "/tmp"

enum { B_RO, B_RW, B_WS, B_HOME, B_LINK };

/* Top-level names that merged-/usr hosts make symlinks into /usr (see add_merged_usr_links). */
static const char *const merged_usr[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
#define MERGED_USR_LINKS 6

struct bind {
    char path[PATH_MAX];
    int kind;
    int tree; /* detached mount, or -1 for B_LINK */
    int is_dir;
    char link[PATH_MAX];
};

static struct bind binds[MAX_LIST * 2 + 4 + MERGED_USR_LINKS];
static int nbinds;

static int openat2_nofollow(int dfd, const char *path, int flags, unsigned long long resolve)
{
    struct open_how how = {0};
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

static int setattr(int tree, unsigned long long set, int recursive, int userns)
{
    struct mount_attr a = {0};
    a.attr_set = set;
    if (userns >= 0) {
        a.attr_set |= MOUNT_ATTR_IDMAP;
        a.userns_fd = (unsigned long long)userns;
    }
    return mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/* Shared by the monitor (root mode, where only it can idmap) and init (rootless). */
int mounts_open_workspace_tree(const char *path, int idmap_userns)
{
    int fd = openat2_nofollow(AT_FDCWD, path, O_PATH | O_DIRECTORY,
                              RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0)
        return -1;
    /* Not recursive: mounts someone stacked inside the workspace stay out of the sandbox. */
    int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    int e = errno;
    close(fd);
    if (tree < 0) {
        errno = e;
        return -1;
    }
    if (setattr(tree, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, idmap_userns) < 0) {
        e = errno;
        close(tree);
        errno = e;
        return -1;
    }
    return tree;
}

static int beneath(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return 1;
    return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == 0);
}

static int requested_elsewhere(const char *real, const char *self, struct config *c)
{
    const struct strlist *ls[2] = {&c->ro, &c->rw};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < ls[l]->n; i++)
            if (strcmp(ls[l]->v[i], self) && beneath(real, ls[l]->v[i]))
                return 1;
    return c->workspace && beneath(real, c->workspace);
}

static void add_host_bind(const char *path, int kind, struct config *c)
{
    if (!strcmp(path, "/tmp") || !strcmp(path, "/var/tmp") || beneath(path, "/proc") ||
        beneath(path, "/dev"))
        return; /* private tmpfs / fresh proc / minimal dev: the host's are never bound */
    if (!strcmp(path, "/"))
        child_fail("bind /: refusing to expose the whole host filesystem", EINVAL);
    if (c->workspace && !strcmp(path, c->workspace))
        return; /* the workspace mount (maybe idmapped) must not be covered by a plain bind */
    for (int i = 0; i < nbinds; i++)
        if (!strcmp(binds[i].path, path))
            child_fail("bind: path given twice (--ro and --rw?)", EINVAL);
    struct bind *b = &binds[nbinds];
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            g_skipped.v[g_skipped.n++] = path;
            return;
        }
        child_fail("stat bind source", errno);
    }
    snprintf(b->path, sizeof b->path, "%s", path);
    b->kind = kind;
    b->tree = -1;
    if (S_ISLNK(st.st_mode)) {
        char real[PATH_MAX];
        /* Debian's merged /usr: /bin -> usr/bin stays a symlink when /usr is bound too. */
        if (realpath(path, real) && requested_elsewhere(real, path, c)) {
            ssize_t n = readlink(path, b->link, sizeof b->link - 1);
            if (n < 0)
                child_fail("readlink bind source", errno);
            b->link[n] = 0;
            b->kind = B_LINK;
            nbinds++;
            return;
        }
        if (stat(path, &st) < 0) {
            g_skipped.v[g_skipped.n++] = path;
            return;
        }
    }
    b->is_dir = S_ISDIR(st.st_mode);
    /* Writable binds, and anything inside the workspace or home, are places a sandbox may have
     * planted a symlink in an earlier run: those must be reached without following one.
     * Read-only system paths (/bin -> usr/bin) are host configuration and may be followed. */
    int strict = kind != B_RO || (c->workspace && beneath(path, c->workspace)) || (c->home && beneath(path, c->home));
    if (strict) {
        int fd = openat2_nofollow(AT_FDCWD, path, O_PATH, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
            child_fail("open bind source (openat2 RESOLVE_NO_SYMLINKS)", errno);
        b->tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
        close(fd);
    } else {
        b->tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    }
    if (b->tree < 0)
        child_fail("open_tree bind source", errno);
    unsigned long long set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (kind == B_RO)
        set |= MOUNT_ATTR_RDONLY;
    if (setattr(b->tree, set, 1, -1) < 0)
        child_fail(kind == B_RO ? "read-only bind (mount_setattr)" : "bind (mount_setattr)", errno);
    nbinds++;
}

/* Merged /usr (every current distribution): /bin, /sbin, /lib, /lib64 are symlinks into /usr,
 * and binaries name their ELF loader by the old path (/lib64/ld-linux-x86-64.so.2). OpenShell
 * applies Landlock over a container's whole root, so its policies list /usr and /lib but not
 * /lib64; here the root holds only what is listed. So whenever a link's target is visible, the
 * new root gets the same symlink: it shows nothing the policy does not already show (docs/design.md
 * invariant 7: the view is still exactly the listed paths) and lets those policies run unchanged. */
static void add_merged_usr_links(struct config *c)
{
    for (size_t i = 0; i < sizeof merged_usr / sizeof merged_usr[0]; i++) {
        const char *name = merged_usr[i];
        int listed = 0;
        for (int j = 0; j < nbinds; j++)
            listed |= beneath(binds[j].path, name) || beneath(name, binds[j].path);
        if (listed)
            continue; /* the policy said something about it (or above it): that wins */
        struct stat st;
        if (lstat(name, &st) < 0) {
            if (errno == ENOENT)
                continue;
            child_fail("stat merged /usr link", errno);
        }
        if (!S_ISLNK(st.st_mode))
            continue;
        char real[PATH_MAX];
        if (!realpath(name, real)) {
            if (errno == ENOENT)
                continue; /* dangling on the host: nothing to show */
            child_fail("realpath merged /usr link", errno);
        }
        if (!beneath(real, "/usr") || !requested_elsewhere(real, name, c))
            continue;
        struct bind *b = &binds[nbinds];
        ssize_t n = readlink(name, b->link, sizeof b->link - 1);
        if (n < 0)
            child_fail("readlink merged /usr link", errno);
        b->link[n] = 0;
        snprintf(b->path, sizeof b->path, "%s", name);
        b->kind = B_LINK;
        b->tree = -1;
        nbinds++;
    }
}

static int cmp_bind(const void *a, const void *b)
{
    return strcmp(((const struct bind *)a)->path, ((const struct bind *)b)->path);
}

/* mkdir -p below the new root without following anything: each component is opened with
 * O_NOFOLLOW relative to its parent, so a symlink inside a bound tree fails the setup. */
static int mkpath(int root, const char *rel, int last_is_dir, int *out)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", rel);
    int dfd = dup(root);
    if (dfd < 0)
        return -1;
    char *save = NULL;
    char *comp = strtok_r(buf, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        int want_dir = next || last_is_dir;
        int fd;
        if (want_dir) {
            if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
                goto fail;
            fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
            fd = openat(dfd, comp, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EISDIR))
                fd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
            goto fail;
        close(dfd);
        dfd = fd;
        comp = next;
    }
    *out = dfd;
    return 0;
fail:;
    int e = errno;
    close(dfd);
    errno = e;
    return -1;
}

void mounts_attach(int root, int tree, const char *path, int is_dir, const char *step)
{
    int t;
    if (mkpath(root, path + 1, is_dir, &t) < 0)
        child_fail(step, errno);
    if (move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        child_fail(step, errno);
    close(t);
    close(tree);
}

/* Whether something is mounted over part of the /proc we started with: a container runtime masks
 * /proc/keys, /proc/timer_list and more that way, and then the kernel refuses a fresh proc in a
 * new user namespace (it would reveal what the masks hide). Read before pivot_root, so /proc is
 * still the caller's. */
static int proc_has_overmounts(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* field 5 is the mount point: "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
        char *p = line;
        for (int i = 0; i < 4 && p; i++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        /* binfmt_misc sits on a directory proc keeps empty, which the kernel does not count */
        if (p && strncmp(p, "/proc/", 6) == 0 && strncmp(p, "/proc/sys/fs/binfmt_misc ", 25) != 0)
            found = 1;
    }
    fclose(f);
    return found;
}

static void tmpfs_at(const char *rel, const char *opts, unsigned long flags)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, NEWROOT "/%s", rel);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        child_fail("mkdir tmpfs mount point", errno);
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | flags, opts) < 0)
        child_fail("mount tmpfs", errno);
}

static int clone_dev(const char *name)
{
    char p[64];
    snprintf(p, sizeof p, "/dev/%s", name);
    int t = open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (t < 0)
        child_fail("open_tree /dev node", errno);
    if (setattr(t, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0, -1) < 0)
        child_fail("mount_setattr /dev node", errno);
    return t;
}

/* --protect: paths inside writable binds (a repo's .git/hooks, agent config) that the
 * workload may read but not change, because the host will later act on them. Resolved inside
 * the new root without following symlinks, then covered by a read-only copy of themselves.
 * Renaming or removing a mount point fails (EBUSY), so the path cannot be swapped either. */
static void self_bind(int root, const char *path)
{
    int fd = openat2_nofollow(root, path + 1, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0) {
        if (errno == ENOENT)
            return;
        child_fail("--protect: open parent (openat2 RESOLVE_NO_SYMLINKS)", errno);
    }
    int t = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (t < 0 || move_mount(t, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        child_fail("--protect: pin parent (bind onto itself)", errno);
    close(t);
    close(fd);
}

/* The writable bind a protected path lives in (workspace, --rw, home), if any. */
static size_t writable_base(const char *p, struct config *c)
{
    size_t best = 0;
    const char *cands[MAX_LIST + 2];
    int n = 0;
    if (c->workspace)
        cands[n++] = c->workspace;
    cands[n++] = "/home/sandbox";
    for (int i = 0; i < c->rw.n && n < MAX_LIST + 2; i++)
        cands[n++] = c->rw.v[i];
    for (int i = 0; i < n; i++) {
        size_t l = strlen(cands[i]);
        if (l > best && strncmp(p, cands[i], l) == 0 && p[l] == '/')
            best = l;
    }
    return best;
}

static void protect_paths(int root, struct config *c)
{
    /* A mount point cannot be renamed or removed, but its parents can: `mv .git .git2` would
     * carry a read-only .git/hooks away and leave room for a new one. So every directory
     * between the writable bind and the protected path is pinned by binding it onto itself
     * (it stays writable). */
    static char pinned[MAX_LIST][PATH_MAX];
    int npinned = 0;
    for (int i = 0; i < c->protect.n; i++) {
        const char *p = c->protect.v[i];
        size_t base = writable_base(p, c);
        for (size_t k = base + 1; base && p[k]; k++) {
            if (p[k] != '/')
                continue;
            char anc[PATH_MAX];
            snprintf(anc, sizeof anc, "%.*s", (int)k, p);
            int seen = 0;
            for (int j = 0; j < npinned; j++)
                seen |= !strcmp(pinned[j], anc);
            if (seen || npinned >= MAX_LIST)
                continue;
            snprintf(pinned[npinned++], PATH_MAX, "%s", anc);
            self_bind(root, anc);
        }
    }
    for (int i = 0; i < c->protect.n; i++) {
        const char *p = c->protect.v[i];
        if (!strcmp(p, "/"))
            child_fail("--protect /: use --ro", EINVAL);
        int fd = openat2_nofollow(root, p + 1, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) {
            if (errno == ENOENT) {
                g_skipped.v[g_skipped.n++] = p;
                continue;
            }
            child_fail("--protect: open (openat2 RESOLVE_NO_SYMLINKS)", errno);
        }
        int t = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (t < 0)
            child_fail("--protect: open_tree", errno);
        if (setattr(t, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 1, -1) < 0)
            child_fail("--protect: read-only (mount_setattr)", errno);
        if (move_mount(t, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            child_fail("--protect: move_mount", errno);
        close(t);
        close(fd);
    }
}

void mounts_build(struct setup *s)
{
    struct config *c = s->cfg;
    /* Nothing we mount may propagate back to the host, nor host mounts into the sandbox. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail("make / rprivate", errno);

    for (int i = 0; i < c->ro.n; i++)
        add_host_bind(c->ro.v[i], B_RO, c);
    for (int i = 0; i < c->rw.n; i++)
        add_host_bind(c->rw.v[i], B_RW, c);
    add_merged_usr_links(c);
    if (c->workspace) {
        struct bind *b = &binds[nbinds++];
        snprintf(b->path, sizeof b->path, "%s", c->workspace);
        b->kind = B_WS;
        b->is_dir = 1;
        b->tree = s->ws_tree_fd >= 0 ? s->ws_tree_fd : mounts_open_workspace_tree(c->workspace, -1);
        if (b->tree < 0)
            child_fail("open workspace (openat2 RESOLVE_NO_SYMLINKS)", errno);
    }
    if (c->home) {
        struct bind *b = &binds[nbinds++];
        snprintf(b->path, sizeof b->path, "/home/sandbox");
        b->kind = B_HOME;
        b->is_dir = 1;
        b->tree = s->home_tree_fd >= 0 ? s->home_tree_fd : mounts_open_workspace_tree(c->home, -1);
        if (b->tree < 0)
            child_fail("open home (openat2 RESOLVE_NO_SYMLINKS)", errno);
    }
    const char *devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
    int devtree[6];
    for (int i = 0; i < 6; i++)
        devtree[i] = clone_dev(devs[i]);
    qsort(binds, (size_t)nbinds, sizeof binds[0], cmp_bind);
    init_become_mapped(s);

    /* Every source is held as a detached mount now; covering the host's /tmp is harmless. */
    if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0)
        child_fail("mount root tmpfs", errno);
    int root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        child_fail("open new root", errno);
    if (mkdirat(root, "var", 0755) < 0 || mkdirat(root, "home", 0755) < 0 ||
        mkdirat(root, "dev", 0755) < 0 || mkdirat(root, "proc", 0755) < 0)
        child_fail("mkdir in new root", errno);
    /* Each private tmpfs is capped at --tmp-size: its pages are host memory (charged to the
     * sandbox's memory cgroup where one applies), so a size relative to host RAM would let a
     * default sandbox pin gigabytes in files (docs/design.md, invariant 7). */
    char tmpopt[64], homeopt[64];
    snprintf(tmpopt, sizeof tmpopt, "mode=1777,size=%lld", c->tmp_size);
    snprintf(homeopt, sizeof homeopt, "mode=0700,size=%lld", c->tmp_size);
    tmpfs_at("tmp", tmpopt, 0);
    tmpfs_at("var/tmp", tmpopt, 0);
    if (!c->home)
        tmpfs_at("home/sandbox", homeopt, 0);

    for (int i = 0; i < nbinds; i++) {
        struct bind *b = &binds[i];
        if (b->kind == B_LINK) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", b->path);
            char *slash = strrchr(dir, '/');
            *slash = 0;
            int d;
            if (mkpath(root, dir[0] ? dir + 1 : ".", 1, &d) < 0 || symlinkat(b->link, d, slash + 1) < 0)
                child_fail("symlink in new root", errno);
            close(d);
            continue;
        }
        mounts_attach(root, b->tree, b->path, b->is_dir,
               b->kind == B_WS ? "mount workspace" : b->kind == B_HOME ? "mount home" : "bind mount");
    }

    etc_identity(root, c);
    protect_paths(root, c);

    for (int i = 0; i < 6; i++) {
        char p[32];
        snprintf(p, sizeof p, "/dev/%s", devs[i]);
        mounts_attach(root, devtree[i], p, 0, "bind /dev node");
    }
    const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                              {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
    int devd = openat(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (devd < 0)
        child_fail("open /dev in new root", errno);
    for (int i = 0; i < 4; i++)
        if (symlinkat(links[i][0], devd, links[i][1]) < 0)
            child_fail("symlink in /dev", errno);
    tmpfs_at("dev/shm", tmpopt, MS_NOEXEC);
    if (c->tty || c->exec_socket) { /* Additions: exec --tty opens its pty here too */
        tmpfs_at("dev/pts", "mode=0755", MS_NOEXEC); /* placeholder dir, devpts goes on top */
        if (mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620") < 0)
            child_fail("mount devpts", errno);
        if (symlinkat("pts/ptmx", devd, "ptmx") < 0)
            child_fail("symlink /dev/ptmx", errno);
    }
    close(devd);

    if (mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        int err = errno;
        if (err == EPERM && proc_has_overmounts())
            child_fail("mount proc: /proc has paths masked over it (a container's default) and the kernel "
                       "refuses a new one; run the container with --privileged or --security-opt "
                       "systempaths=unconfined (Kubernetes: procMount: Unmasked)",
                       err);
        child_fail("mount proc", err);
    }
    /* /proc/sys and friends stay read-only even for a future bug that grants a capability. */
    const char *ro_proc[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
    for (int i = 0; i < 5; i++) {
        char p[64];
        snprintf(p, sizeof p, NEWROOT "/proc/%s", ro_proc[i]);
        int t = open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (t < 0) {
            if (errno == ENOENT)
                continue;
            child_fail("open_tree /proc subtree", errno);
        }
        if (setattr(t, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 1, -1) < 0)
            child_fail("read-only /proc subtree", errno);
        if (move_mount(t, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            child_fail("move_mount /proc subtree", errno);
        close(t);
    }

    /* The root tmpfs only holds mount points; nobody inside needs to write it. */
    struct mount_attr ro = {0};
    ro.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(root, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
        child_fail("read-only root", errno);

    if (fchdir(root) < 0)
        child_fail("chdir new root", errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail("pivot_root", errno);
    /* The old root sits under the new one after pivot_root(".", "."): detach it. */
    if (umount2(".", MNT_DETACH) < 0)
        child_fail("detach old root", errno);
    if (chdir("/") < 0)
        child_fail("chdir /", errno);
    close(root);
}
