/* common.h — internal definitions shared by every module of libxlstm. */
#ifndef XLSTM_COMMON_H
#define XLSTM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "xlstm.h"

typedef xlstm_real real;

/* Record a one-line error message for xlstm_errmsg(); always returns -1 so that
 * callers can write `return xlstm_fail("...")`. */
int xlstm_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Checked allocation: returns NULL and records an error naming `what` on failure.
 * Memory is zeroed and 64-byte aligned; release with xlstm_free. A request larger than the
 * machine's physical memory is refused before allocating (xlstm_check_fits): with Linux's
 * overcommit such a malloc can succeed, and zeroing it would end in the OOM killer. */
void *xlstm_alloc(size_t count, size_t elem_size, const char *what);
void xlstm_free(void *p);

/* a * b (and a * b * c) with overflow detection: return 0 and set *out, or -1. */
int xlstm_mul_size(size_t a, size_t b, size_t *out);

/* 0 if `bytes` (a double, so that a size computed from absurd dimensions cannot wrap) fit in
 * the machine's physical memory (or it is unknown); else -1 with a message naming `what`. */
int xlstm_check_fits(double bytes, const char *what);

#endif
