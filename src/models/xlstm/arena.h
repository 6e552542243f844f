/* arena.h — carve many buffers out of one allocation. A first pass with base == NULL
 * only measures (llm.c's "compute sizes from the config, allocate once"); a second pass
 * with the real base hands out the same layout. Every buffer is 64-byte aligned. */
#ifndef XLSTM_ARENA_H
#define XLSTM_ARENA_H

#include "common.h"

typedef struct {
    real *base;   /* NULL while measuring */
    size_t used;  /* in reals */
} arena;

static inline real *arena_take(arena *a, size_t n)
{
    real *p = a->base ? a->base + a->used : NULL;
    size_t align = 64 / sizeof(real);
    a->used += (n + align - 1) / align * align;
    return p;
}

#endif
