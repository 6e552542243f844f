/* atomic.c — atomic file replacement (temporary file, fsync, rename, fsync the directory). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "io/atomic.h"

/* A temporary file is named target TMP_INFIX pid. */
#define TMP_INFIX ".tmp."

static void release(atomic_file *f)
{
    xlstm_free(f->path);
    xlstm_free(f->tmp);
    f->path = f->tmp = NULL;
}

int atomic_open(atomic_file *f, const char *path)
{
    size_t n = strlen(path);
    f->fd = -1;
    f->err = 0;
    f->path = xlstm_alloc(n + 1, 1, "atomic write path");
    f->tmp = xlstm_alloc(n + 32, 1, "atomic write path");
    if (f->path == NULL || f->tmp == NULL) {
        release(f);
        return -1;
    }
    memcpy(f->path, path, n + 1);
    snprintf(f->tmp, n + 32, "%s" TMP_INFIX "%ld", path, (long)getpid());
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f->fd < 0) {
        int err = errno;
        xlstm_fail("cannot write %s: %s", path, strerror(err));
        release(f);
        return -1;
    }
    return 0;
}

int atomic_write(atomic_file *f, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (f->err == 0 && n > 0) {
        ssize_t put = write(f->fd, p, n);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) f->err = put == 0 ? ENOSPC : errno;
        else {
            p += put;
            n -= (size_t)put;
        }
    }
    return f->err ? -1 : 0;
}

/* fsync the directory holding the target, so that the rename is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = xlstm_alloc(n + 1, 1, "atomic write dir");
    if (dir == NULL) return -1;
    memcpy(dir, slash == NULL ? "." : path, n);
    int fd = open(dir, O_RDONLY), rc = fd >= 0 ? fsync(fd) : -1, err = errno;
    if (fd >= 0) close(fd);
    if (rc != 0) rc = xlstm_fail("%s written, but syncing directory %s failed: %s", path, dir, strerror(err));
    xlstm_free(dir);
    return rc;
}

int atomic_commit(atomic_file *f)
{
    /* err keeps the first failure's errno: later cleanup calls may overwrite errno */
    int err = f->err;
    if (!err && fsync(f->fd) != 0) err = errno;
    if (close(f->fd) != 0 && !err) err = errno;
    f->fd = -1;
    if (!err && rename(f->tmp, f->path) != 0) err = errno;
    int rc;
    if (err) {
        unlink(f->tmp);
        rc = xlstm_fail("cannot write %s: %s", f->path, strerror(err));
    } else {
        rc = sync_dir(f->path);
    }
    release(f);
    return rc;
}

void atomic_abort(atomic_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp != NULL) unlink(f->tmp);
    release(f);
}

int atomic_write_file(const char *path, const void *buf, size_t n)
{
    atomic_file f;
    if (atomic_open(&f, path) != 0) return -1;
    atomic_write(&f, buf, n);
    return atomic_commit(&f);
}

int atomic_temp_of(const char *name, const char *target, long *pid)
{
    size_t n = strlen(target), k = strlen(TMP_INFIX);
    if (strncmp(name, target, n) != 0 || strncmp(name + n, TMP_INFIX, k) != 0) return 0;
    const char *d = name + n + k;
    long v = 0;
    if (*d < '1' || *d > '9') return 0; /* getpid() is positive, printed without leading zeros */
    for (; *d >= '0' && *d <= '9'; d++) {
        if (v > (LONG_MAX - 9) / 10) return 0;
        v = 10 * v + (*d - '0');
    }
    if (*d != 0) return 0;
    *pid = v;
    return 1;
}
