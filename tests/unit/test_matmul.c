/* test_matmul.c — the batch-1 matrix-vector paths of src/kernels/matmul.c (gemm with one row
 * and a transposed B, linear_forward with N = 1, linear_forward_halves, linear_forward_one,
 * matvec_rows) against a plain loop accumulated in long double, on odd sizes (whole 8-row
 * blocks and tails, one column, sizes above the parallel threshold) and row strides ldb != K.
 * Tolerance: the standard bound of a dot product of length K, |got - ref| <=
 * (K + 2) eps sum_k |w_k x_k| (+ the bias and beta terms), with eps the unit roundoff of
 * `real`; the kernel's split sums stay well inside it (measured <= 0.36 of it). Run in float
 * (this file) and double (test_matmul_f64.c). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "test.h"

#ifdef XLSTM_DOUBLE
#define EPS DBL_EPSILON
#else
#define EPS FLT_EPSILON
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) { return test_urand(&rng_state); } /* uniform in [-1, 1) */
static real *rand_array(size_t n)
{
    real *a = xlstm_alloc(n, sizeof(real), "test array");
    for (size_t i = 0; i < n; i++) a[i] = (real)urand();
    return a;
}

/* Whether y[r] = alpha W[r, :K] x + beta y0[r] + bias[r] (W row stride ldw; bias may be NULL)
 * within the bound above, for every row; reports the worst row. */
static int check_rows(const real *y, const real *y0, const real *W, int ldw, const real *x, const real *bias,
                      double alpha, double beta, int rows, int K, const char *what)
{
    double worst = 0;
    for (int r = 0; r < rows; r++) {
        long double s = 0, mag = 0;
        for (int k = 0; k < K; k++) {
            long double p = (long double)W[(size_t)r * ldw + k] * x[k];
            s += p;
            mag += fabsl(p);
        }
        long double extra = beta * (long double)(beta == 0 ? 0 : y0[r]) + (bias ? bias[r] : 0);
        long double ref = alpha * s + extra;
        double bound = (double)((K + 2) * EPS * (fabs(alpha) * mag + fabsl(extra)));
        double ratio = (double)fabsl(y[r] - ref) / (bound > 0 ? bound : 1e-300);
        if (!(ratio <= worst)) worst = ratio; /* NaN sticks */
    }
    CHECK(worst <= 1, "%s: rows %d K %d: error %.3g of the bound", what, rows, K, worst);
    return worst <= 1;
}

static const int ROWS[] = {1, 3, 7, 8, 9, 17, 64, 129, 300};
static const int COLS[] = {1, 5, 8, 17, 64, 513};
#define NELEM(a) ((int)(sizeof a / sizeof *a))

/* gemm(0, 1, 1, N, K, alpha, x, ., W, ldb, beta, y): beta 0 (y starts as NaN), 1 and 0.5,
 * ldb = K and K + 3. */
static void test_gemm_one_row(void)
{
    const double betas[] = {0, 1, 0.5};
    for (int ri = 0; ri < NELEM(ROWS); ri++)
        for (int ci = 0; ci < NELEM(COLS); ci++)
            for (int pad = 0; pad <= 3; pad += 3)
                for (int bi = 0; bi < NELEM(betas); bi++) {
                    int N = ROWS[ri], K = COLS[ci], ldb = K + pad;
                    real *W = rand_array((size_t)N * ldb), *x = rand_array(K), *y0 = rand_array(N),
                         *y = rand_array(N);
                    for (int r = 0; r < N; r++) y[r] = betas[bi] == 0 ? (real)NAN : y0[r];
                    gemm(0, 1, 1, N, K, (real)0.75, x, K, W, ldb, (real)betas[bi], y, N);
                    check_rows(y, y0, W, ldb, x, NULL, 0.75, betas[bi], N, K, "gemm");
                    xlstm_free(W), xlstm_free(x), xlstm_free(y0), xlstm_free(y);
                }
}

/* linear_forward with N = 1 (with and without bias), and linear_forward_halves with N = 1
 * (one region, two maps) and N = 3 (through gemm) against the same loop. */
static void test_linear_one_row(void)
{
    for (int ri = 0; ri < NELEM(ROWS); ri++)
        for (int ci = 0; ci < NELEM(COLS); ci++) {
            int out = ROWS[ri], in = COLS[ci];
            real *W = rand_array((size_t)2 * out * in), *x = rand_array((size_t)3 * in), *b = rand_array(2 * (size_t)out);
            real *y = rand_array((size_t)3 * out), *y1 = rand_array((size_t)3 * out);
            for (int with_bias = 0; with_bias <= 1; with_bias++) {
                const real *bias = with_bias ? b : NULL;
                linear_forward(y, out, x, in, W, bias, 1, in, out);
                check_rows(y, NULL, W, in, x, bias, 1, 0, out, in, "linear_forward");
                for (int N = 1; N <= 3; N += 2) {
                    linear_forward_halves(y, y1, x, W, bias, N, in, out);
                    for (int n = 0; n < N; n++) {
                        const real *xn = x + (size_t)n * in;
                        check_rows(y + (size_t)n * out, NULL, W, in, xn, bias, 1, 0, out, in, "halves, first");
                        check_rows(y1 + (size_t)n * out, NULL, W + (size_t)out * in, in, xn,
                                   bias ? bias + out : NULL, 1, 0, out, in, "halves, second");
                    }
                }
            }
            xlstm_free(W), xlstm_free(x), xlstm_free(b), xlstm_free(y), xlstm_free(y1);
        }
}

/* Three maps of different sizes in one region, one of them above the parallel threshold:
 * the same rows as each map alone (deterministic: each row is one thread's sum). */
static void test_linear_forward_one_maps(void)
{
    int in[3] = {300, 7, 513}, out[3] = {257, 3, 130};
    real *W[3], *x[3], *y[3], *alone[3];
    linear_map maps[3];
    for (int i = 0; i < 3; i++) {
        W[i] = rand_array((size_t)in[i] * out[i]), x[i] = rand_array(in[i]);
        y[i] = rand_array(out[i]), alone[i] = rand_array(out[i]);
        maps[i] = (linear_map){y[i], x[i], W[i], NULL, in[i], out[i]};
    }
    linear_forward_one(maps, 3);
    for (int i = 0; i < 3; i++) {
        check_rows(y[i], NULL, W[i], in[i], x[i], NULL, 1, 0, out[i], in[i], "linear_forward_one");
        linear_forward(alone[i], out[i], x[i], in[i], W[i], NULL, 1, in[i], out[i]);
        CHECK(memcmp(alone[i], y[i], sizeof(real) * out[i]) == 0, "map %d: alone and together differ", i);
        xlstm_free(W[i]), xlstm_free(x[i]), xlstm_free(y[i]), xlstm_free(alone[i]);
    }
}

enum { MANY_MAPS = LINEAR_BATCH_MAX + 5, MANY_IN = 260, MANY_OUT = 300 };

/* y = the MANY_MAPS maps of W ([MANY_MAPS][MANY_OUT][MANY_IN]) on x in one linear_forward_one
 * on `threads` threads: more maps than one region takes (they go in groups), each above the
 * parallel threshold. */
static void many_maps_forward(real *y, const real *W, const real *x, int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    linear_map maps[MANY_MAPS];
    for (int i = 0; i < MANY_MAPS; i++)
        maps[i] = (linear_map){y + (size_t)i * MANY_OUT, x, W + (size_t)i * MANY_OUT * MANY_IN, NULL, MANY_IN, MANY_OUT};
    linear_forward_one(maps, MANY_MAPS);
}

static void test_linear_forward_one_many_maps(void)
{
    real *W = rand_array((size_t)MANY_MAPS * MANY_OUT * MANY_IN), *x = rand_array(MANY_IN);
    real *y = rand_array((size_t)MANY_MAPS * MANY_OUT);
    many_maps_forward(y, W, x, 1);
    for (int i = 0; i < MANY_MAPS; i++)
        check_rows(y + (size_t)i * MANY_OUT, NULL, W + (size_t)i * MANY_OUT * MANY_IN, MANY_IN, x, NULL, 1, 0, MANY_OUT,
                   MANY_IN, "many maps");
    xlstm_free(W), xlstm_free(x), xlstm_free(y);
}

/* The same with one thread and with three (blocks handed out as threads come free): the
 * same bits. */
static void test_linear_forward_one_many_maps_threads(void)
{
#ifndef _OPENMP
    SKIP("this build has no OpenMP (one thread)");
#endif
    real *W = rand_array((size_t)MANY_MAPS * MANY_OUT * MANY_IN), *x = rand_array(MANY_IN);
    real *y1 = rand_array((size_t)MANY_MAPS * MANY_OUT), *y3 = rand_array((size_t)MANY_MAPS * MANY_OUT);
    many_maps_forward(y1, W, x, 1);
    many_maps_forward(y3, W, x, 3);
    CHECK(memcmp(y1, y3, sizeof(real) * MANY_MAPS * MANY_OUT) == 0, "1 and 3 threads differ");
    xlstm_free(W), xlstm_free(x), xlstm_free(y1), xlstm_free(y3);
}

/* A row's value has the same bits however the rows around it are grouped (the sLSTM step's
 * recurrent products must equal the sequence forward's): matvec_rows over all rows, and
 * linear_forward_one on maps starting 1 to 7 rows further, where each row falls in another
 * 8-row block or in a map's tail; K = 37 leaves a partial group of lanes. */
static void test_row_bits_independent_of_grouping(void)
{
    enum { R = 29, K = 37 };
    real *W = rand_array((size_t)R * K), *x = rand_array(K), *all = rand_array(R), *y = rand_array(R);
    matvec_rows(all, W, K, x, R, K);
    check_rows(all, NULL, W, K, x, NULL, 1, 0, R, K, "matvec_rows");
    for (int off = 1; off < 8; off++) {
        linear_map map = {y, x, W + (size_t)off * K, NULL, K, R - off};
        linear_forward_one(&map, 1);
        CHECK(memcmp(y, all + off, sizeof(real) * (R - off)) == 0, "rows from %d: other bits", off);
    }
    xlstm_free(W), xlstm_free(x), xlstm_free(all), xlstm_free(y);
}

int main(void)
{
    RUN(test_gemm_one_row);
    RUN(test_linear_one_row);
    RUN(test_linear_forward_one_maps);
    RUN(test_linear_forward_one_many_maps);
    RUN(test_linear_forward_one_many_maps_threads);
    RUN(test_row_bits_independent_of_grouping);
    TEST_EXIT();
}
