/* matmul.c — gemm through CBLAS (OpenBLAS) when built with it, else a portable blocked
 * loop; and the PyTorch-style linear map built on it. */
#include "matmul.h"

#ifdef XLSTM_USE_CBLAS
#include <cblas.h>
#endif

#ifndef XLSTM_USE_CBLAS
/* Portable path: C = alpha op(A) op(B) + beta C with the k-loop innermost over a
 * contiguous row of op(B) where possible, so that the compiler vectorizes it. */
static void gemm_portable(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
                          const real *B, int ldb, real beta, real *C, int ldc)
{
#pragma omp parallel for schedule(static) if ((long)M * N * K > 32768)
    for (int i = 0; i < M; i++) {
        real *c = C + (size_t)i * ldc;
        if (beta == 0) {
            for (int j = 0; j < N; j++) c[j] = 0;
        } else if (beta != 1) {
            for (int j = 0; j < N; j++) c[j] *= beta;
        }
        if (!tb) {
            for (int k = 0; k < K; k++) {
                real a = alpha * (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                const real *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else {
            for (int j = 0; j < N; j++) {
                const real *b = B + (size_t)j * ldb;
                real s = 0;
                if (!ta) {
                    const real *a = A + (size_t)i * lda;
                    for (int k = 0; k < K; k++) s += a[k] * b[k];
                } else {
                    for (int k = 0; k < K; k++) s += A[(size_t)k * lda + i] * b[k];
                }
                c[j] += alpha * s;
            }
        }
    }
}
#endif

void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
#ifdef XLSTM_USE_CBLAS
#ifdef XLSTM_DOUBLE
#define CBLAS_GEMM cblas_dgemm
#define CBLAS_GEMV cblas_dgemv
#else
#define CBLAS_GEMM cblas_sgemm
#define CBLAS_GEMV cblas_sgemv
#endif
    /* A product with one row or one column is a matrix-vector product: gemv streams the
     * matrix once, where gemm would first copy (pack) all of it — at batch 1 (generation)
     * that copy is most of the time. */
    if ((M == 1 || N == 1) && beta == 0) /* gemv would scale the old C by 0: NaN stays NaN */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = 0;
    if (M == 1) { /* the row C[1, N] = op(B)^T times the row op(A)[1, K], as a column */
        CBLAS_GEMV(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, trans_b ? N : K, trans_b ? K : N, alpha, B,
                   ldb, A, trans_a ? lda : 1, beta, C, 1);
        return;
    }
    if (N == 1) { /* C[M, 1] = op(A)[M, K] times the column op(B)[K, 1] */
        CBLAS_GEMV(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_a ? K : M, trans_a ? M : K, alpha, A,
                   lda, B, trans_b ? 1 : ldb, beta, C, ldc);
        return;
    }
    CBLAS_GEMM(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
               A, lda, B, ldb, beta, C, ldc);
#else
    gemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void linear_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int in, int out)
{
    gemm(0, 1, N, out, in, 1, x, ldx, W, in, 0, y, ldy);
    if (bias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) y[(size_t)n * ldy + o] += bias[o];
}

void linear_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                     const real *W, int N, int in, int out)
{
    if (dx) gemm(0, 0, N, in, out, 1, dy, lddy, W, in, 1, dx, lddx);
    gemm(1, 0, out, in, N, 1, dy, lddy, x, ldx, 1, dW, in);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) dbias[o] += dy[(size_t)n * lddy + o];
}
