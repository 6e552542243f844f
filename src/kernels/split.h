/* split.h — how the column-parallel reductions (dw of norms, conv, headwise) cut their
 * columns into tasks, and the per-thread partial sums of the fused row passes (mlstm_rows.c). */
#ifndef XLSTM_SPLIT_H
#define XLSTM_SPLIT_H

#include <string.h>

#include "../common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Threads a parallel region started here would get, and this thread's number in its team. */
static inline int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static inline int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Column sums of a pass over rows in parallel (schedule static): each thread adds into its
 * own slice of buf [threads, stride], which holds n sums back to back (sum i at off[i]);
 * thread_sums_add then adds every slice into the sums' destinations in thread order, so the
 * result depends on the thread count only, not on timing. */
#define THREAD_SUMS_MAX 16
typedef struct {
    real *buf;
    int threads, n;
    size_t stride, off[THREAD_SUMS_MAX + 1];
} thread_sums;

/* The layout of n sums of the given sizes; with buf, also zeroes it (all of it: a team of
 * fewer threads leaves slices unwritten). Returns the stride, the floats of one thread. */
static inline size_t thread_sums_init(thread_sums *s, real *buf, int threads, const size_t *sizes, int n)
{
    s->buf = buf, s->threads = threads, s->n = n, s->off[0] = 0;
    for (int i = 0; i < n; i++) s->off[i + 1] = s->off[i] + sizes[i];
    s->stride = s->off[n];
    if (buf) memset(buf, 0, (size_t)threads * s->stride * sizeof(real));
    return s->stride;
}

/* Sum i's slice of the calling thread. */
static inline real *thread_sums_mine(const thread_sums *s, int i)
{
    return s->buf + (size_t)thread_num() * s->stride + s->off[i];
}

/* dst[i] += sum i over the threads' slices, for each dst[i] that is not NULL. */
static inline void thread_sums_add(const thread_sums *s, real *const *dst)
{
    for (int i = 0; i < s->n; i++) {
        if (!dst[i]) continue;
        for (int t = 0; t < s->threads; t++) {
            const real *p = s->buf + (size_t)t * s->stride + s->off[i];
            for (size_t k = 0; k < s->off[i + 1] - s->off[i]; k++) dst[i][k] += p[k];
        }
    }
}

/* Columns per task when n columns are reduced over many rows: one contiguous range per
 * thread (each thread then streams long pieces of every row; short pieces a row apart
 * defeat the prefetcher, measured 3x slower), at most max_block (a stack buffer or L1). */
static inline int split_per_thread(int n, int max_block)
{
    int threads = thread_count();
    int b = (n + threads - 1) / threads;
    b = b < max_block ? b : max_block;
    return b > 0 ? b : 1;
}

#endif
