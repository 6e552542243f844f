/* split.h — how the column-parallel reductions (dw of norms, conv, headwise) cut their
 * columns into tasks. Internal to src/kernels/. */
#ifndef XLSTM_SPLIT_H
#define XLSTM_SPLIT_H

#ifdef _OPENMP
#include <omp.h>
#endif

/* Columns per task when n columns are reduced over many rows: one contiguous range per
 * thread (each thread then streams long pieces of every row; short pieces a row apart
 * defeat the prefetcher, measured 3x slower), at most max_block (a stack buffer or L1). */
static inline int split_per_thread(int n, int max_block)
{
#ifdef _OPENMP
    int threads = omp_get_max_threads();
#else
    int threads = 1;
#endif
    int b = (n + threads - 1) / threads;
    b = b < max_block ? b : max_block;
    return b > 0 ? b : 1;
}

#endif
