/* atomic.h — replacing a file atomically: the new content goes to a temporary file beside
 * the target (path.tmp.<pid>), which is fsync'ed and renamed over the target, and then the
 * directory is fsync'ed. A reader, or a crash at any moment, sees the old file or the new
 * one, never a mix; a failed write removes the temporary file and leaves the old one. */
#ifndef XLSTM_ATOMIC_H
#define XLSTM_ATOMIC_H

#include <stddef.h>

typedef struct {
    int fd;       /* the temporary file, -1 once closed */
    int err;      /* errno of the first failure, 0 while all is well */
    char *path;   /* the target */
    char *tmp;    /* the temporary file */
} atomic_file;

/* Create the temporary file. On failure (message set) nothing is left behind. */
int atomic_open(atomic_file *f, const char *path);
/* Append n bytes; a failure is remembered and reported by atomic_commit. */
int atomic_write(atomic_file *f, const void *buf, size_t n);
/* fsync, close, rename over the target, fsync the directory; on any failure (now or in an
 * earlier atomic_write) remove the temporary file and fail with "cannot write PATH: why". */
int atomic_commit(atomic_file *f);
/* Give up: close and remove the temporary file; the target is untouched. */
void atomic_abort(atomic_file *f);
/* The whole file at once. */
int atomic_write_file(const char *path, const void *buf, size_t n);
/* Is the file name `name` a temporary file of the target file name `target` (both without
 * a directory: "target.tmp.<pid>")? Then *pid is the process that wrote it: one killed
 * while writing leaves its temporary file behind, for its successor to remove. */
int atomic_temp_of(const char *name, const char *target, long *pid);

#endif
