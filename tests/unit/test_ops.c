/* test_ops.c — forward values of src/kernels/ops.h in the float build, against known
 * constants (PyTorch / closed forms) and against direct formulas evaluated in double.
 * Tolerances are relative, a few float ulps (float eps = 1.2e-7) unless stated. */
#include <stdlib.h>
#include <string.h>

#include "kernels/ops.h"
#include "test.h"

#define TOL 5e-7 /* ~4 ulp: one rounding per operation of a short chain */

static int close_to(double got, double want, double tol) { return fabs(got - want) <= tol * (fabs(want) + 1e-30); }

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double urand(void) { return test_urand(&rng_state); } /* uniform in [-1, 1) */
static real *rand_array(size_t n, double scale)
{
    real *a = xlstm_alloc(n, sizeof(real), "test array");
    for (size_t i = 0; i < n; i++) a[i] = (real)(scale * urand());
    return a;
}
/* |a - ref| / |ref| over whole arrays (2-norms) */
static double rel_err(const real *a, const double *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - ref[i]) * (a[i] - ref[i]), den += ref[i] * ref[i];
    return sqrt(num / den);
}

/* Values from PyTorch's definitions evaluated in float64 (exact erf GeLU; SELU constants). */
static void test_activation_values(void)
{
    static const struct { int act; double x, y; } cases[] = {
        {XLSTM_ACT_GELU, 1, 0.8413447460685429},      {XLSTM_ACT_GELU, -1, -0.15865525393145707},
        {XLSTM_ACT_GELU, 2.5, 2.4844758366855597},    {XLSTM_ACT_GELU, 0, 0},
        {XLSTM_ACT_RELU, -2, 0},                      {XLSTM_ACT_RELU, 3, 3},
        {XLSTM_ACT_RELU2, 3, 9},                      {XLSTM_ACT_RELU2, -1, 0},
        {XLSTM_ACT_SIGMOID, 2, 0.8807970779778823},   {XLSTM_ACT_SIGMOID, -3, 0.04742587317756678},
        {XLSTM_ACT_SWISH, 1, 0.7310585786300049},     {XLSTM_ACT_SWISH, -2, -0.2384058440442351},
        {XLSTM_ACT_SELU, 1, 1.0507009873554805},      {XLSTM_ACT_SELU, -1, -1.1113307378125625},
        {XLSTM_ACT_SELU, -0.5, -0.6917581878028713},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        real x = (real)cases[i].x, y;
        act_forward(cases[i].act, &y, &x, 1);
        CHECK(close_to(y, cases[i].y, TOL), "act %d at %g: got %.9g want %.9g", cases[i].act, cases[i].x, y,
              cases[i].y);
    }
    /* gelu'(1) = Phi(1) + phi(1); silu'(1) = s (1 + 1 - s), s = sigmoid(1) */
    real x = 1, dy = 1, dx = 0;
    act_backward(XLSTM_ACT_GELU, &dx, &dy, &x, 1);
    CHECK(close_to(dx, 1.0833154705876864, TOL), "gelu'(1) = %.9g", dx);
    dx = 0;
    silu_backward(&dx, &dy, &x, 1);
    CHECK(close_to(dx, 0.9276705118714869, TOL), "silu'(1) = %.9g", dx);
    /* no overflow at the extremes */
    CHECK(sigmoid_r(-100) >= 0 && sigmoid_r(-100) < 1e-40 && sigmoid_r(100) == 1, "sigmoid extremes");
    CHECK(close_to(logsigmoid_r(-100), -100, TOL) && logsigmoid_r(100) <= 0 && logsigmoid_r(100) > -1e-40,
          "logsigmoid extremes: %g %g", logsigmoid_r(-100), logsigmoid_r(100));
    CHECK(close_to(logsigmoid_r(0), -0.6931471805599453, TOL), "logsigmoid(0) = %g", logsigmoid_r(0));
}

static void test_layernorm_values(void)
{
    /* mean 2.5, biased var 1.25, effective scale 1 + w */
    real x[4] = {1, 2, 3, 4}, w[4] = {0, 0.5f, -0.5f, 1}, y[4], mean, rstd;
    static const double want[4] = {-1.3416354199689269, -0.6708177099844634, 0.2236059033281545, 2.6832708399378538};
    groupnorm_forward(y, &mean, &rstd, x, w, 1, 1, 4);
    for (int i = 0; i < 4; i++) CHECK(close_to(y[i], want[i], TOL), "y[%d] = %.9g want %.9g", i, y[i], want[i]);
    CHECK(mean == 2.5f && close_to(rstd, 1 / sqrt(1.25 + 1e-5), TOL), "mean %g rstd %.9g", mean, rstd);
    /* variance 1e-6 is below eps: out = +-1e-3 / sqrt(1e-6 + 1e-5), not +-1 */
    real xs[2] = {0, 0.002f}, ys[2];
    groupnorm_forward(ys, &mean, &rstd, xs, NULL, 1, 1, 2);
    CHECK(close_to(ys[1], 1e-3 / sqrt(1.1e-5), 2e-6) && close_to(ys[0], -ys[1], TOL), "eps inside sqrt: %.9g %.9g",
          ys[0], ys[1]);
}

static void test_groupnorm_values(void)
{
    /* two rows of G = 2 groups of C = 2; each group normalised on its own */
    real x[8] = {1, 3, 10, 20, -4, -2, 7, 7}, y[8], mean[4], rstd[4];
    double a = 1 / sqrt(1 + 1e-5), b = 5 / sqrt(25 + 1e-5);
    double want[8] = {-a, a, -b, b, -a, a, 0, 0};
    groupnorm_forward(y, mean, rstd, x, NULL, 2, 2, 2);
    for (int i = 0; i < 8; i++) CHECK(fabs(y[i] - want[i]) <= TOL * fabs(want[i]), "y[%d] = %.9g", i, y[i]);
    CHECK(mean[0] == 2 && mean[1] == 15 && mean[2] == -3 && mean[3] == 7, "means");
    CHECK(close_to(rstd[3], 1 / sqrt(1e-5), TOL), "rstd of a constant group = 1/sqrt(eps): %g", rstd[3]);
}

static void test_conv_values(void)
{
    /* C = 1, K = 3: y_t = 0.5 + 1 x_{t-2} + 2 x_{t-1} + 3 x_t */
    real x[4] = {1, 2, 3, 4}, w[3] = {1, 2, 3}, b = 0.5f, y[4];
    causal_conv_forward(y, x, NULL, w, &b, 1, 4, 1, 3);
    CHECK(y[0] == 3.5f && y[1] == 8.5f && y[2] == 14.5f && y[3] == 20.5f, "y = %g %g %g %g", y[0], y[1], y[2], y[3]);

    /* random sizes against the defining sum in double, including T < K */
    static const int shapes[][4] = {{2, 7, 5, 4}, {3, 2, 6, 4}, {1, 5, 200, 1}};
    for (int s = 0; s < 3; s++) {
        int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], K = shapes[s][3];
        size_t n = (size_t)B * T * C;
        real *xr = rand_array(n, 1), *wr = rand_array((size_t)C * K, 1), *br = rand_array(C, 1);
        real *yr = xlstm_alloc(n, sizeof(real), "y");
        double *ref = xlstm_alloc(n, sizeof(double), "ref");
        for (int bb = 0; bb < B; bb++)
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++) {
                    double acc = br[c];
                    for (int k = 0; k < K; k++) {
                        int tt = t - (K - 1) + k;
                        if (tt >= 0) acc += (double)wr[c * K + k] * xr[((size_t)bb * T + tt) * C + c];
                    }
                    ref[((size_t)bb * T + t) * C + c] = acc;
                }
        causal_conv_forward(yr, xr, NULL, wr, br, B, T, C, K);
        double e = rel_err(yr, ref, n);
        CHECK(e <= 1e-6, "B%d T%d C%d K%d: rel err %.3g", B, T, C, K, e);
        xlstm_free(xr), xlstm_free(wr), xlstm_free(br), xlstm_free(yr), xlstm_free(ref);
    }
}

/* All paths (direct loops, gemm per head, and at N = 1 the heads' matrix-vector products in
 * shared parallel regions: more heads than one region takes, and a region above the parallel
 * threshold) against the block-diagonal formula; the padding columns of a strided y must be
 * left untouched. */
static void test_headwise_values(void)
{
    static const int shapes[][5] = {{5, 8, 4, 4, 3}, {4, 3, 2, 6, 0}, {6, 2, 24, 20, 5}, {1, 18, 24, 20, 5},
                                    {1, 3, 161, 160, 2}};
    for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++) {
        int N = shapes[s][0], H = shapes[s][1], dout = shapes[s][2], din = shapes[s][3], pad = shapes[s][4];
        int ldx = H * din + pad, ldy = H * dout + pad;
        real *x = rand_array((size_t)N * ldx, 1), *W = rand_array((size_t)H * dout * din, 1);
        real *bias = rand_array((size_t)H * dout, 1), *y = xlstm_alloc((size_t)N * ldy, sizeof(real), "y");
        double *ref = xlstm_alloc((size_t)N * H * dout, sizeof(double), "ref");
        real *got = xlstm_alloc((size_t)N * H * dout, sizeof(real), "got");
        for (size_t i = 0; i < (size_t)N * ldy; i++) y[i] = 7;
        headwise_forward(y, ldy, x, ldx, W, bias, N, H, dout, din);
        int untouched = 1;
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                for (int o = 0; o < dout; o++) {
                    double acc = bias[h * dout + o];
                    for (int d = 0; d < din; d++)
                        acc += (double)x[(size_t)n * ldx + h * din + d] * W[((size_t)h * dout + o) * din + d];
                    ref[((size_t)n * H + h) * dout + o] = acc;
                    got[((size_t)n * H + h) * dout + o] = y[(size_t)n * ldy + h * dout + o];
                }
        for (int n = 0; n < N; n++)
            for (int j = H * dout; j < ldy; j++) untouched &= y[(size_t)n * ldy + j] == 7;
        double e = rel_err(got, ref, (size_t)N * H * dout);
        CHECK(e <= 1e-6, "N%d H%d %dx%d: rel err %.3g", N, H, dout, din, e);
        CHECK(untouched, "N%d H%d %dx%d: wrote into the padding of y", N, H, dout, din);
        xlstm_free(x), xlstm_free(W), xlstm_free(bias), xlstm_free(y), xlstm_free(ref), xlstm_free(got);
    }
}

/* The row forward from transposed weights must give the row forward's bits (the generation
 * step uses one, the sequence forward the other): 4x4 blocks (their own clone) and others,
 * with and without bias. */
static void test_headwise_transposed_same_bits(void)
{
    static const int shapes[][3] = {{256, 4, 4}, {5, 3, 7}, {2, 8, 1}};
    for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            int H = shapes[s][0], dout = shapes[s][1], din = shapes[s][2];
            size_t nw = (size_t)H * dout * din;
            real *x = rand_array((size_t)H * din, 1), *W = rand_array(nw, 1), *bias = rand_array((size_t)H * dout, 1);
            real *WT = xlstm_alloc(nw, sizeof(real), "WT"), *y = xlstm_alloc((size_t)H * dout, sizeof(real), "y");
            real *yt = xlstm_alloc((size_t)H * dout, sizeof(real), "yt");
            headwise_transpose(WT, W, H, dout, din);
            headwise_row_forward(y, x, W, with_bias ? bias : NULL, H, dout, din);
            headwise_row_forward_t(yt, x, WT, with_bias ? bias : NULL, H, dout, din);
            CHECK(memcmp(y, yt, (size_t)H * dout * sizeof(real)) == 0, "H%d %dx%d bias %d: transposed differs", H,
                  dout, din, with_bias);
            xlstm_free(x), xlstm_free(W), xlstm_free(bias), xlstm_free(WT), xlstm_free(y), xlstm_free(yt);
        }
}

static void test_xent_values(void)
{
    /* log(e + e^2 + e^3) - 1; the same after a shift by 1000 (stability); an ignored row */
    real logits[9] = {1, 2, 3, 1001, 1002, 1003, 5, -5, 0};
    int32_t targets[3] = {0, 0, -1};
    int count = -1;
    double loss = xent_forward(logits, targets, 3, 3, &count);
    CHECK(count == 2 && close_to(loss, 2.40760596444438, 1e-7), "loss %.12g count %d", loss, count);
    int32_t none[3] = {-1, -1, -100};
    CHECK(xent_forward(logits, none, 3, 3, &count) == 0 && count == 0, "all ignored: loss 0, count 0");

    /* random rows against log-sum-exp in double; backward = (softmax - onehot) * scale */
    enum { N = 5, V = 1000 };
    real *l = rand_array((size_t)N * V, 8), *d = xlstm_alloc((size_t)N * V, sizeof(real), "dlogits");
    int32_t t[N] = {17, -1, 999, 0, 500};
    double want = 0;
    for (int n = 0; n < N; n++) {
        if (t[n] < 0) continue;
        double s = 0;
        for (int v = 0; v < V; v++) s += exp((double)l[n * V + v]);
        want += log(s) - l[n * V + t[n]];
    }
    want /= 4;
    loss = xent_forward(l, t, N, V, &count);
    CHECK(count == 4 && close_to(loss, want, 1e-7), "loss %.12g want %.12g", loss, want);
    xent_backward(d, l, t, N, V, 0.25f);
    double maxerr = 0;
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int v = 0; v < V; v++) s += exp((double)l[n * V + v]);
        for (int v = 0; v < V; v++) {
            double g = t[n] < 0 ? 0 : 0.25 * (exp((double)l[n * V + v]) / s - (v == t[n]));
            double e = fabs(d[n * V + v] - g);
            maxerr = e > maxerr ? e : maxerr;
        }
    }
    CHECK(maxerr <= 3e-8, "dlogits max abs err %.3g (entries <= 0.25)", maxerr);
    /* in place (dlogits == logits) gives the same */
    xent_backward(l, l, t, N, V, 0.25f);
    CHECK(memcmp(l, d, sizeof(real) * N * V) == 0, "in-place backward differs");
    xlstm_free(l), xlstm_free(d);
}

int main(void)
{
    RUN(test_activation_values);
    RUN(test_layernorm_values);
    RUN(test_groupnorm_values);
    RUN(test_conv_values);
    RUN(test_headwise_values);
    RUN(test_headwise_transposed_same_bits);
    RUN(test_xent_values);
    TEST_EXIT();
}
