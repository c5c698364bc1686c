/* The compiled seccomp filter, cached on disk per policy (--seccomp-cache DIR, issue 23): a start
 * with the same syscall lists, helper build and libseccomp loads the program instead of compiling
 * it. The cache decides what the kernel enforces, so it is trusted only as far as its owner: the
 * directory and each file must belong to our euid and be writable by nobody else (files 0600), a
 * file is opened without following links and read whole, and it must have our magic, a length
 * that is whole BPF instructions, and the SHA-256 of its instructions in its header. Anything else
 * is a miss and the filter is compiled (and the entry rewritten). Writes go to a temp file in the
 * same directory, renamed into place: a reader sees a whole entry or none. The directory is in
 * nemoclaw's state, which no sandbox can bind writable (src/sandbox/paths.ts). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'N', 'C', 'B', 'P', 'F', '1', '\n', 0};
#define HEADER (sizeof MAGIC + 65) /* magic, hex SHA-256 of the instructions, newline */
#define MAX_INSNS 60000            /* as seccomp_build accepts */

/* The cache directory, if it is ours alone; -1 otherwise (then nothing is read or written). */
static int open_dir(const char *dir, int create)
{
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return -1;
    struct stat st;
    if (fstat(d, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
        close(d);
        return -1;
    }
    return d;
}

int bpfcache_load(const char *dir, const char *key, void **out, size_t *outlen)
{
    int d = open_dir(dir, 0);
    if (d < 0)
        return -1;
    int fd = openat(d, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(d);
    if (fd < 0)
        return -1;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) ||
        st.st_size <= (off_t)HEADER || st.st_size > (off_t)(HEADER + MAX_INSNS) ||
        (st.st_size - (off_t)HEADER) % 8)
        goto miss;
    buf = malloc((size_t)st.st_size);
    if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size || memcmp(buf, MAGIC, sizeof MAGIC) ||
        buf[HEADER - 1] != '\n')
        goto miss;
    size_t len = (size_t)st.st_size - HEADER;
    char hex[65];
    sha256_buf(buf + HEADER, len, hex);
    if (memcmp(hex, buf + sizeof MAGIC, 64))
        goto miss;
    close(fd);
    memmove(buf, buf + HEADER, len);
    *out = buf;
    *outlen = len;
    return 0;
miss:
    free(buf);
    close(fd);
    return -1;
}

void bpfcache_store(const char *dir, const char *key, const void *insns, size_t len)
{
    int d = open_dir(dir, 1);
    if (d < 0)
        return;
    char tmp[128];
    snprintf(tmp, sizeof tmp, ".%.64s.%d", key, (int)getpid());
    int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        close(d);
        return;
    }
    char head[HEADER];
    memcpy(head, MAGIC, sizeof MAGIC);
    sha256_buf(insns, len, head + sizeof MAGIC);
    head[HEADER - 1] = '\n';
    int ok = write(fd, head, sizeof head) == (ssize_t)sizeof head && write(fd, insns, len) == (ssize_t)len;
    /* No fsync: a torn entry after a crash fails the checksum and is compiled again. */
    if (close(fd) < 0 || !ok || renameat(d, tmp, d, key) < 0)
        unlinkat(d, tmp, 0);
    close(d);
}
