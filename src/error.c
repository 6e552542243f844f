/* error.c — per-thread error messages and checked allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static _Thread_local char errmsg[512];

const char *xlstm_errmsg(void) { return errmsg; }

int xlstm_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return -1;
}

int xlstm_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

void *xlstm_alloc(size_t count, size_t elem_size, const char *what)
{
    size_t bytes;
    if (xlstm_mul_size(count, elem_size, &bytes) != 0 || bytes > SIZE_MAX - 64) {
        xlstm_fail("%s: size overflows (%zu x %zu bytes)", what, count, elem_size);
        return NULL;
    }
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p == NULL) {
        xlstm_fail("%s: out of memory allocating %zu bytes", what, rounded);
        return NULL;
    }
    memset(p, 0, rounded);
    return p;
}

void xlstm_free(void *p) { free(p); }
