/* matmul.h — the one matrix product everything uses (row-major, BLAS semantics). */
#ifndef XLSTM_MATMUL_H
#define XLSTM_MATMUL_H

#include "../common.h"

/* C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, all row-major.
 * op(A) = A ([M,K], lda) if !trans_a else A^T (A stored [K,M], lda).
 * op(B) = B ([K,N], ldb) if !trans_b else B^T (B stored [N,K], ldb).
 * With beta == 0, C is overwritten (its old contents may be NaN). */
void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc);

/* The linear maps of the model, y = x W^T (+ bias), W stored [out, in] as in PyTorch. */
/* y[N, out] (row stride ldy) = x[N, in] (row stride ldx) W^T + bias (bias may be NULL). */
void linear_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int in, int out);
/* dx += dy W (dx may be NULL); dW += dy^T x; dbias += column sums of dy (if not NULL). */
void linear_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                     const real *W, int N, int in, int out);

#endif
