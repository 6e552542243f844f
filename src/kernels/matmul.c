/* matmul.c — gemm through CBLAS (OpenBLAS) when built with it, else a portable blocked
 * loop; and the PyTorch-style linear map built on it. */
#include "matmul.h"
#include "ops.h"
#include "tuning.h"

#ifdef XLSTM_USE_CBLAS
#include <cblas.h>
#endif

#ifndef XLSTM_USE_CBLAS
/* Portable path: C = alpha op(A) op(B) + beta C with the k-loop innermost over a
 * contiguous row of op(B) where possible, so that the compiler vectorizes it. */
static void gemm_portable(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
                          const real *B, int ldb, real beta, real *C, int ldc)
{
#pragma omp parallel for schedule(static) if ((long)M * N * K > PAR_MIN_MULADDS)
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

/* ---- matrix-vector products: y[r] = alpha W[r, :] x + beta y[r] (+ bias[r]), one row of
 * output per row of W. Batch-1 generation is bound by streaming the weights once; BLAS gemv
 * starts a parallel region per product, and its own threshold leaves the small ones on one
 * thread. Here the threads share out blocks of rows (each row's value is the same whichever
 * thread computes it), and several products share one region. */

/* A product runs in parallel above GEMV_PAR_MIN multiply-adds; GEMV_ROWS rows are computed
 * side by side (tuning.h). */
_Static_assert(GEMV_ROWS == 8, "dot_rows is written out for 8 rows");

/* The dot products run in an AVX2 clone where the CPU has one (ops.h): twice the lanes of
 * SSE measured 20-30% faster, on weights from L3 and from memory alike (Zen 3).
 *
 * They sum in LANES partial sums, lane j taking the terms k = j mod LANES in order of k,
 * and add the lanes at the end in a fixed tree. The order is explicit, not the compiler's
 * choice, so a row's value has the same bits whichever function, clone or caller computes
 * it: the sLSTM step's recurrent product (in a batch-1 region) equals the sequence
 * forward's (matvec_rows). GCC's and clang's vector types keep the lanes in registers
 * (an array of lanes was kept on the stack by GCC, 40% slower from cache); other compilers
 * run the same arithmetic over arrays. Vectors only live inside the functions: passing them
 * by value would depend on the clone's ABI. */
#ifdef __GNUC__
typedef real lanes __attribute__((vector_size(LANES * sizeof(real))));
typedef real lanes_unaligned __attribute__((vector_size(LANES * sizeof(real)), aligned(sizeof(real)), may_alias));
#define LANES_AT(p) (*(const lanes_unaligned *)(p))

/* the n < LANES values at p, then zeros */
static inline void lanes_pad(real out[LANES], const real *p, int n)
{
    for (int j = 0; j < LANES; j++) out[j] = j < n ? p[j] : 0;
}

/* The GEMV_ROWS rows of W at w (row stride ldw) dotted with x[n] into s; next (or NULL): the
 * next block, GEMV_ROWS rows of n back to back, to prefetch meanwhile. */
AVX2_CLONES static void dot_rows(real s[GEMV_ROWS], const real *restrict w, size_t ldw, const real *restrict x, int n,
                                 const real *next)
{
    const real *w0 = w, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw, *w4 = w3 + ldw, *w5 = w4 + ldw,
               *w6 = w5 + ldw, *w7 = w6 + ldw;
    lanes a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    int k = 0;
    for (; k + LANES <= n; k += LANES) {
        if (next) { /* 4 of its lines an iteration: the whole next block by the end of this one */
            const real *p = next + GEMV_ROWS * k;
            __builtin_prefetch(p), __builtin_prefetch(p + 16), __builtin_prefetch(p + 32), __builtin_prefetch(p + 48);
        }
        lanes xk = LANES_AT(x + k);
        a0 += LANES_AT(w0 + k) * xk, a1 += LANES_AT(w1 + k) * xk, a2 += LANES_AT(w2 + k) * xk;
        a3 += LANES_AT(w3 + k) * xk, a4 += LANES_AT(w4 + k) * xk, a5 += LANES_AT(w5 + k) * xk;
        a6 += LANES_AT(w6 + k) * xk, a7 += LANES_AT(w7 + k) * xk;
    }
    if (k < n) { /* the tail, padded with zeros */
        real xt[LANES], wt[GEMV_ROWS][LANES];
        lanes_pad(xt, x + k, n - k);
        for (int r = 0; r < GEMV_ROWS; r++) lanes_pad(wt[r], w + r * ldw + k, n - k);
        lanes xk = LANES_AT(xt);
        a0 += LANES_AT(wt[0]) * xk, a1 += LANES_AT(wt[1]) * xk, a2 += LANES_AT(wt[2]) * xk;
        a3 += LANES_AT(wt[3]) * xk, a4 += LANES_AT(wt[4]) * xk, a5 += LANES_AT(wt[5]) * xk;
        a6 += LANES_AT(wt[6]) * xk, a7 += LANES_AT(wt[7]) * xk;
    }
    s[0] = LANES_TOTAL(a0), s[1] = LANES_TOTAL(a1), s[2] = LANES_TOTAL(a2), s[3] = LANES_TOTAL(a3);
    s[4] = LANES_TOTAL(a4), s[5] = LANES_TOTAL(a5), s[6] = LANES_TOTAL(a6), s[7] = LANES_TOTAL(a7);
}

/* The clones are static, with plain exported wrappers: clang emits the dispatch of an
 * exported clone only in a file that calls it. */
AVX2_CLONES static real dot_lanes(const real *restrict a, const real *restrict b, int n)
{
    lanes acc = {0};
    int k = 0;
    for (; k + LANES <= n; k += LANES) acc += LANES_AT(a + k) * LANES_AT(b + k);
    if (k < n) {
        real at[LANES], bt[LANES];
        lanes_pad(at, a + k, n - k);
        lanes_pad(bt, b + k, n - k);
        acc += LANES_AT(at) * LANES_AT(bt);
    }
    return LANES_TOTAL(acc);
}
#else
static real dot_lanes(const real *a, const real *b, int n)
{
    real acc[LANES] = {0};
    for (int k = 0; k < n; k++) acc[k % LANES] += a[k] * b[k];
    return LANES_TOTAL(acc);
}

static void dot_rows(real s[GEMV_ROWS], const real *w, size_t ldw, const real *x, int n, const real *next)
{
    (void)next;
    for (int r = 0; r < GEMV_ROWS; r++) s[r] = dot_lanes(w + r * ldw, x, n);
}
#endif

real dot_product(const real *a, const real *b, int n) { return dot_lanes(a, b, n); }

AVX2_CLONES static void axpy_lanes(real *restrict y, real alpha, const real *restrict x, int n)
{
    for (int k = 0; k < n; k++) y[k] += alpha * x[k];
}

void axpy(real *y, real alpha, const real *x, int n) { axpy_lanes(y, alpha, x, n); }

/* The first cache line of each row of the next block: each row is a new stream to the
 * hardware prefetcher (GEMV_SHORT_ROW, tuning.h). */
static void prefetch_rows(const real *w, size_t ldw)
{
#ifdef __GNUC__
    for (int r = 0; r < GEMV_ROWS; r++) __builtin_prefetch(w + r * ldw);
#else
    (void)w, (void)ldw;
#endif
}

/* The GEMV_ROWS rows from r0 (fewer at the end) of map mp: y = alpha W x + beta y + bias
 * (beta 0: y is overwritten; bias may be NULL), W with row stride ldw. The next block's rows
 * are prefetched, all of a block of short rows (GEMV_SHORT_ROW, tuning.h), else the start of
 * each: the thread usually takes it next. */
static void gemv_block(const linear_map *mp, size_t ldw, real alpha, real beta, int r0)
{
    real s[GEMV_ROWS];
    const real *W = mp->W + (size_t)r0 * ldw;
    int nr = mp->out - r0 < GEMV_ROWS ? mp->out - r0 : GEMV_ROWS;
    if (nr == GEMV_ROWS) {
        int more = r0 + 2 * GEMV_ROWS <= mp->out, short_dense = ldw == (size_t)mp->in && mp->in <= GEMV_SHORT_ROW;
        if (more && !short_dense) prefetch_rows(W + GEMV_ROWS * ldw, ldw);
        dot_rows(s, W, ldw, mp->x, mp->in, more && short_dense ? W + GEMV_ROWS * ldw : NULL);
    } else
        for (int j = 0; j < nr; j++) s[j] = dot_lanes(W + j * ldw, mp->x, mp->in);
    real *y = mp->y + r0;
    for (int j = 0; j < nr; j++) y[j] = alpha * s[j] + (beta == 0 ? 0 : beta * y[j]) + (mp->bias ? mp->bias[r0 + j] : 0);
}

/* Most maps in one region. */
#define GEMV_MAPS LINEAR_BATCH_MAX

/* Blocks of GEMV_ROWS rows of n maps, handed to the threads GEMV_GRAB at a time as they come
 * free (tuning.h), so that a thread slowed by the other work on its core or by its share of
 * the memory bus leaves its blocks to the others instead of making them wait at the end of
 * the region; each row's value does not depend on which thread computes it.
 * y = alpha W x + beta y + bias for each map, W with row stride ldw[i] (NULL: in). */
static void gemv_maps(const linear_map *maps, const size_t *ldw, int n, real alpha, real beta)
{
    int first[GEMV_MAPS + 1];
    long work = 0;
    first[0] = 0;
    for (int i = 0; i < n; i++) {
        first[i + 1] = first[i] + (maps[i].out + GEMV_ROWS - 1) / GEMV_ROWS;
        work += (long)maps[i].in * maps[i].out;
    }
    (void)work; /* read only by the OpenMP if() clause */
#pragma omp parallel for schedule(dynamic, GEMV_GRAB) if (work > GEMV_PAR_MIN)
    for (int blk = 0; blk < first[n]; blk++) {
        int i = 0;
        while (blk >= first[i + 1]) i++;
        gemv_block(&maps[i], ldw ? ldw[i] : (size_t)maps[i].in, alpha, beta, (blk - first[i]) * GEMV_ROWS);
    }
}

/* y[rows] = alpha W[rows, cols] x + beta y (W row stride ldw, x and y contiguous) */
static void gemv(real *y, const real *W, int ldw, const real *x, real alpha, real beta, int rows, int cols)
{
    linear_map map = {y, x, W, NULL, cols, rows};
    size_t stride = (size_t)ldw;
    gemv_maps(&map, &stride, 1, alpha, beta);
}

void matvec_rows(real *y, const real *W, size_t ldw, const real *x, int rows, int cols)
{
    linear_map map = {y, x, W, NULL, cols, rows};
    for (int r0 = 0; r0 < rows; r0 += GEMV_ROWS) gemv_block(&map, ldw, 1, 0, r0);
}

void linear_forward_one(const linear_map *maps, int n)
{
    for (int i = 0; i < n; i += GEMV_MAPS) gemv_maps(maps + i, NULL, n - i < GEMV_MAPS ? n - i : GEMV_MAPS, 1, 0);
}

void linear_batch_add(linear_batch *batch, linear_map map)
{
    if (batch->n == LINEAR_BATCH_MAX) linear_batch_run(batch);
    batch->maps[batch->n++] = map;
}

void linear_batch_run(linear_batch *batch)
{
    linear_forward_one(batch->maps, batch->n);
    batch->n = 0;
}

void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    if (M == 1 && trans_b && !trans_a) { /* the row C[1, N] = B[N, K] times the row A[1, K] */
        gemv(C, B, ldb, A, alpha, beta, N, K);
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

/* Blocks of TRI_ROWS rows (tuning.h), each only as wide as the diagonal reaches. */
void tri_outer(real *T, int n, int K, real alpha, const real *A, int lda, const real *B, int ldb)
{
    for (int r0 = 0; r0 < n; r0 += TRI_ROWS) {
        int r1 = r0 + TRI_ROWS < n ? r0 + TRI_ROWS : n;
        gemm(0, 1, r1 - r0, r1, K, alpha, A + (size_t)r0 * lda, lda, B, ldb, 0, T + (size_t)r0 * n, n);
    }
}

void tri_times(int trans, real *Y, int ldy, int n, int N, real alpha, const real *T, const real *Z, int ldz,
               real beta)
{
    for (int r0 = 0; r0 < n; r0 += TRI_ROWS) {
        int r1 = r0 + TRI_ROWS < n ? r0 + TRI_ROWS : n;
        real *y = Y + (size_t)r0 * ldy;
        if (!trans) /* row t of T reaches column t */
            gemm(0, 0, r1 - r0, N, r1, alpha, T + (size_t)r0 * n, n, Z, ldz, beta, y, ldy);
        else /* column j of T starts at row j */
            gemm(1, 0, r1 - r0, N, n - r0, alpha, T + (size_t)r0 * n + r0, n, Z + (size_t)r0 * ldz, ldz, beta, y, ldy);
    }
}

void linear_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int in, int out)
{
    if (N == 1) {
        linear_map map = {y, x, W, bias, in, out};
        linear_forward_one(&map, 1);
        return;
    }
    gemm(0, 1, N, out, in, 1, x, ldx, W, in, 0, y, ldy);
    if (bias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) y[(size_t)n * ldy + o] += bias[o];
}

void linear_forward_halves(real *y0, real *y1, const real *x, const real *W, const real *bias, int N, int in, int out)
{
    const real *W1 = W + (size_t)out * in, *bias1 = bias ? bias + out : NULL;
    if (N == 1) { /* both halves in one parallel region */
        linear_map maps[2] = {{y0, x, W, bias, in, out}, {y1, x, W1, bias1, in, out}};
        linear_forward_one(maps, 2);
        return;
    }
    linear_forward(y0, out, x, in, W, bias, N, in, out);
    linear_forward(y1, out, x, in, W1, bias1, N, in, out);
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
