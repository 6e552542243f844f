/* split.h — how the column-parallel reductions (dw of norms, conv, headwise) cut their
 * columns into tasks, and the per-thread partial sums of the fused row passes (src/models/xlstm). */
#ifndef XLSTM_SPLIT_H
#define XLSTM_SPLIT_H

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

/* A pass over rows in parallel (schedule static) adds its column sums into its own thread's
 * slice of partial [threads, stride]; this adds the n sums at partial[0, n) of every slice
 * into dst in thread order, so the result depends on the thread count only, not on timing. */
static inline void partial_sums_add(real *dst, const real *partial, int threads, size_t stride, size_t n)
{
    for (int t = 0; t < threads; t++)
        for (size_t i = 0; i < n; i++) dst[i] += partial[(size_t)t * stride + i];
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
