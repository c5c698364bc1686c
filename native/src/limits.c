/* rlimits and the per-sandbox cgroup leaf (v2 when mounted, else the v1 pids/memory/cpu
 * controllers). The leaf is what makes a fork or memory bomb kill only its own sandbox. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Root here lacks CAP_SYS_RESOURCE: only ever lower, never raise a hard limit. */
static void lower(int res, long long v, const char *step)
{
    struct rlimit rl;
    if (getrlimit(res, &rl) < 0)
        child_fail(step, errno);
    rlim_t want = (rlim_t)v;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max;
    rl.rlim_cur = rl.rlim_max = want;
    if (setrlimit(res, &rl) < 0)
        child_fail(step, errno);
}

void limits_rlimits(struct config *c)
{
    lower(RLIMIT_CORE, 0, "setrlimit(CORE)");
    if (c->nofile >= 0)
        lower(RLIMIT_NOFILE, c->nofile, "setrlimit(NOFILE)");
    if (c->fsize >= 0)
        lower(RLIMIT_FSIZE, c->fsize, "setrlimit(FSIZE)");
    if (c->nproc >= 0)
        lower(RLIMIT_NPROC, c->nproc, "setrlimit(NPROC)");
}

/* Our own cgroup path for a v1 controller ("4:memory:/x") or v2 ("0::/x"). */
static int own_path(const char *ctrl, char *out, size_t len)
{
    char buf[4096];
    if (read_file("/proc/self/cgroup", buf, sizeof buf) < 0)
        return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *a = strchr(line, ':');
        char *b = a ? strchr(a + 1, ':') : NULL;
        if (!b)
            continue;
        *b = 0;
        const char *list = a + 1;
        int match = 0;
        if (!ctrl) {
            match = !*list && line[0] == '0';
        } else {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s", list);
            for (char *s, *t = strtok_r(tmp, ",", &s); t; t = strtok_r(NULL, ",", &s))
                if (!strcmp(t, ctrl))
                    match = 1;
        }
        if (match) {
            snprintf(out, len, "%s", strcmp(b + 1, "/") ? b + 1 : "");
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

static int put(const char *dir, const char *file, long long v, const char *raw)
{
    char p[640], val[64];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (raw)
        snprintf(val, sizeof val, "%s", raw);
    else
        snprintf(val, sizeof val, "%lld", v);
    return write_file(p, val);
}

/* A helper that was SIGKILLed could not remove its leaf; the next one sweeps empty leaves
 * whose monitor pid is gone (rmdir refuses non-empty cgroups, so live sandboxes are safe). */
static void sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid;
        if (sscanf(e->d_name, "nemoclaw-%d", &pid) != 1 || pid <= 0)
            continue;
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            rmdir(p);
        }
    }
    closedir(d);
}

/* The cgroup path a mount shows at its top (field 4 of /proc/self/mountinfo). In a container
 * without a cgroup namespace (Docker on cgroup v1) /proc/self/cgroup says /docker/ID while the
 * container's /sys/fs/cgroup/memory is that very cgroup, mounted with root /docker/ID: our path
 * below the mount is what follows that root. "/" (no prefix) when unknown. */
static void mount_root(const char *mnt, char *out, size_t len)
{
    snprintf(out, len, "/");
    char real[PATH_MAX];
    if (!realpath(mnt, real))
        return;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char root[1024], point[1024];
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, point) == 2 && !strcmp(point, real))
            snprintf(out, len, "%s", root); /* the last one mounted there wins, as the kernel shows it */
    }
    fclose(f);
}

static int mkleaf(char *out, size_t len, const char *mnt, const char *own_full)
{
    char root[1024];
    mount_root(mnt, root, sizeof root);
    size_t rl = strlen(root);
    const char *own = own_full;
    if (strcmp(root, "/") && !strncmp(own_full, root, rl) && (own_full[rl] == '/' || own_full[rl] == 0))
        own = own_full + rl;
    char parent[600];
    snprintf(parent, sizeof parent, "%s%s", mnt, own);
    sweep(parent);
    snprintf(out, len, "%s%s/nemoclaw-%d", mnt, own, (int)getpid());
    return mkdir(out, 0755);
}

int cgroup_setup(struct config *c, struct cgroup_state *cg, char *degraded, size_t dlen)
{
    memset(cg, 0, sizeof *cg);
    cg->n = 0;
    cg->version = 0;
    int want = c->memory > 0 || c->pids > 0 || c->cpu > 0;
    /* No limit asked for: skip the leaf (six cgroupfs round trips per start); teardown does
     * not need it, since killing init empties the pid namespace. */
    if (!want) {
        snprintf(cg->json, sizeof cg->json, "null");
        return 0;
    }
    struct statfs sf;
    char own[512];
    int err = 0;
    if (statfs("/sys/fs/cgroup", &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
        if (own_path(NULL, own, sizeof own) == 0 && mkleaf(cg->path[0], sizeof cg->path[0], "/sys/fs/cgroup", own) == 0) {
            char parent[700];
            snprintf(parent, sizeof parent, "%s", cg->path[0]);
            char *slash = strrchr(parent, '/'); /* the leaf's parent, as mkleaf placed it */
            if (slash)
                snprintf(slash, sizeof parent - (size_t)(slash - parent), "/cgroup.subtree_control");
            if (want)
                write_file(parent, "+memory +pids +cpu"); /* best effort: checked by the writes below */
            cg->version = 2;
            cg->n = 1;
            cg->ctrl[0] = "unified";
            if ((c->memory > 0 && (put(cg->path[0], "memory.max", c->memory, NULL) < 0 ||
                                   (put(cg->path[0], "memory.swap.max", 0, NULL) < 0 && errno != ENOENT))) ||
                (c->pids > 0 && put(cg->path[0], "pids.max", c->pids, NULL) < 0))
                err = errno;
            if (!err && c->cpu > 0) {
                char q[64];
                snprintf(q, sizeof q, "%lld 100000", c->cpu * 1000);
                if (put(cg->path[0], "cpu.max", 0, q) < 0)
                    err = errno;
            }
        } else {
            err = errno;
        }
    } else {
        const char *ctrls[] = {"pids", "memory", "cpu"};
        for (int i = 0; i < 3; i++) {
            char mnt[64];
            snprintf(mnt, sizeof mnt, "/sys/fs/cgroup/%s", ctrls[i]);
            if (own_path(ctrls[i], own, sizeof own) < 0 || mkleaf(cg->path[cg->n], sizeof cg->path[0], mnt, own) < 0) {
                if (!err)
                    err = errno;
                continue;
            }
            const char *d = cg->path[cg->n];
            cg->ctrl[cg->n++] = ctrls[i];
            cg->version = 1;
            int r = 0;
            if (i == 0 && c->pids > 0)
                r = put(d, "pids.max", c->pids, NULL);
            if (i == 1 && c->memory > 0) {
                r = put(d, "memory.limit_in_bytes", c->memory, NULL);
                /* Without swap accounting the file is absent; with it, swap counts too. */
                if (r == 0 && put(d, "memory.memsw.limit_in_bytes", c->memory, NULL) < 0 && errno != ENOENT)
                    r = -1;
            }
            if (i == 2 && c->cpu > 0)
                r = put(d, "cpu.cfs_period_us", 100000, NULL) || put(d, "cpu.cfs_quota_us", c->cpu * 1000, NULL);
            if (r && !err)
                err = errno ? errno : EIO;
        }
        /* A controller we could not create is only a problem when its limit was asked for. */
        int have_p = 0, have_m = 0, have_c = 0;
        for (int i = 0; i < cg->n; i++) {
            have_p |= !strcmp(cg->ctrl[i], "pids");
            have_m |= !strcmp(cg->ctrl[i], "memory");
            have_c |= !strcmp(cg->ctrl[i], "cpu");
        }
        if ((c->pids <= 0 || have_p) && (c->memory <= 0 || have_m) && (c->cpu <= 0 || have_c) && cg->n)
            err = 0;
    }
    if (cg->version == 0 || (err && want)) {
        if (want)
            snprintf(degraded, dlen, "\"cgroup\"");
        cgroup_cleanup(cg);
        cg->version = 0;
        snprintf(cg->json, sizeof cg->json, "null");
        return err ? err : ENOENT;
    }
    char ctl[128] = "";
    for (int i = 0; i < cg->n; i++) {
        size_t l = strlen(ctl);
        snprintf(ctl + l, sizeof ctl - l, "%s\"%s\"", i ? "," : "", cg->version == 2 ? "memory\",\"pids\",\"cpu" : cg->ctrl[i]);
    }
    char pj[600];
    json_str(pj, sizeof pj, cg->path[0]);
    snprintf(cg->json, sizeof cg->json, "{\"version\":%d,\"path\":%s,\"controllers\":[%s]}", cg->version, pj, ctl);
    return 0;
}

int cgroup_attach(struct cgroup_state *cg, pid_t pid)
{
    for (int i = 0; i < cg->n; i++)
        if (put(cg->path[i], "cgroup.procs", pid, NULL) < 0)
            return -1;
    return 0;
}

/*
 * cgroup v1: the calling single-threaded process moves itself into every leaf by writing 0 to
 * its `tasks` file. Moving a given pid (cgroup.procs, what cgroup_attach does) takes the
 * kernel's global threadgroup lock for write, which waits for an RCU grace period: 11-16 ms per
 * sandbox start on a 2-CPU VM (the bulk of the helper's start there). Moving the current thread
 * alone skips that lock (cgroup_procs_write_start). Sets *failed to the leaf that refused.
 */
int cgroup_join_self(const struct cgroup_state *cg, const char **failed)
{
    for (int i = 0; i < cg->n; i++)
        if (put(cg->path[i], "tasks", 0, NULL) < 0) {
            *failed = cg->path[i];
            return -1;
        }
    return 0;
}

static long long field(const char *dir, const char *file, const char *key)
{
    char p[640], buf[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (read_file(p, buf, sizeof buf) < 0)
        return 0;
    if (!key)
        return atoll(buf);
    size_t kl = strlen(key);
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
        if (!strncmp(l, key, kl) && l[kl] == ' ')
            return atoll(l + kl + 1);
    return 0;
}

/* Cumulative counters: OOM kills and refused forks since the leaf was created. */
void cgroup_counters(struct cgroup_state *cg, long long *oom_kills, long long *pids_max)
{
    *oom_kills = *pids_max = 0;
    for (int i = 0; i < cg->n; i++) {
        const char *d = cg->path[i];
        if (cg->version == 2) {
            *oom_kills += field(d, "memory.events", "oom_kill");
            *pids_max += field(d, "pids.events", "max");
        } else if (!strcmp(cg->ctrl[i], "memory")) {
            *oom_kills += field(d, "memory.oom_control", "oom_kill");
        } else if (!strcmp(cg->ctrl[i], "pids")) {
            *pids_max += field(d, "pids.events", "max");
        }
    }
}

/* Tasks in the leaf now (pids.current), -1 without a pids controller. */
long long cgroup_pids_current(struct cgroup_state *cg)
{
    for (int i = 0; i < cg->n; i++)
        if (cg->version == 2 || !strcmp(cg->ctrl[i], "pids"))
            return field(cg->path[i], "pids.current", NULL);
    return -1;
}

void cgroup_kill(struct cgroup_state *cg)
{
    if (cg->version == 2) {
        char p[640];
        snprintf(p, sizeof p, "%s/cgroup.kill", cg->path[0]);
        write_file(p, "1");
    }
}

void cgroup_cleanup(struct cgroup_state *cg)
{
    for (int i = 0; i < cg->n; i++) {
        /* Dying tasks leave the cgroup a little after they are reaped: bounded retry. */
        for (int t = 0; t < 200; t++) {
            if (rmdir(cg->path[i]) == 0 || errno == ENOENT)
                break;
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    cg->n = 0;
}
