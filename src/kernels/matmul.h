/* matmul.h — the one matrix product everything uses (row-major, BLAS semantics). */
#ifndef XLSTM_MATMUL_H
#define XLSTM_MATMUL_H

#include "../common.h"
#include "tuning.h"

/* C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, all row-major.
 * op(A) = A ([M,K], lda) if !trans_a else A^T (A stored [K,M], lda).
 * op(B) = B ([K,N], ldb) if !trans_b else B^T (B stored [N,K], ldb).
 * With beta == 0, C is overwritten (its old contents may be NaN). */
void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc);

/* Products with a lower-triangular T [n, n] (row stride n) that skip most of the zeros above
 * its diagonal (3/4 of the full products' work is left at n = 64, about half at large n):
 * they run in blocks of rows, each only as wide as the diagonal reaches, so T's zeros must be
 * stored up to the end of each row's block (TRI_ROWS, tuning.h).
 * tri_outer: the rows [0, n) of T up to the end of each one's block = alpha A B^T (A, B
 * [n, K], row strides lda, ldb); the rest of T is left as it was.
 * tri_times: Y [n, N] (row stride ldy) = alpha op(T) Z + beta Y, op(T) = T (trans 0) or T^T
 * (trans 1). */
void tri_outer(real *T, int n, int K, real alpha, const real *A, int lda, const real *B, int ldb);
void tri_times(int trans, real *Y, int ldy, int n, int N, real alpha, const real *T, const real *Z, int ldz,
               real beta);

/* The level-1 pieces of the fused row passes, in AVX2 where the CPU has it (ops.h).
 * dot_product = sum_k a[k] b[k], summed in SIMD lanes: not in the order of a plain loop, but
 * in the same order in every call. axpy: y[k] += alpha x[k]. */
real dot_product(const real *a, const real *b, int n);
void axpy(real *y, real alpha, const real *x, int n);

/* The linear maps of the model, y = x W^T (+ bias), W stored [out, in] as in PyTorch. */
/* y[N, out] (row stride ldy) = x[N, in] (row stride ldx) W^T + bias (bias may be NULL). */
void linear_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int in, int out);
/* One row through several linear maps (batch-1 generation): each map's output rows are
 * split over the threads of one parallel region, so several maps of one input cost one
 * region. y[out] = W[out, in] x[in] + bias (bias may be NULL). */
typedef struct {
    real *y;
    const real *x, *W, *bias;
    int in, out;
} linear_map;
void linear_forward_one(const linear_map *maps, int n);
/* Batch-1 maps collected for one parallel region: linear_batch_add runs the waiting ones
 * when LINEAR_BATCH_MAX (tuning.h) wait; linear_batch_run runs the rest. Start with {.n = 0}. */
typedef struct {
    linear_map maps[LINEAR_BATCH_MAX];
    int n;
} linear_batch;
void linear_batch_add(linear_batch *batch, linear_map map);
void linear_batch_run(linear_batch *batch);
/* y[rows] = W[rows, cols] x (row stride ldw) on the calling thread, each row with the bits
 * that linear_forward_one gives it. */
void matvec_rows(real *y, const real *W, size_t ldw, const real *x, int rows, int cols);
/* y = x W^T + bias with W [2 out, in] (bias [2 out] or NULL): the first `out` outputs into
 * y0 [N, out], the rest into y1 [N, out] (the up-projections [x_m | z] and [gate | up]). */
void linear_forward_halves(real *y0, real *y1, const real *x, const real *W, const real *bias, int N, int in, int out);
/* dx += dy W (dx may be NULL); dW += dy^T x; dbias += column sums of dy (if not NULL). */
void linear_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                     const real *W, int N, int in, int out);

#endif
