/* test_ops_f64.c — every backward of src/kernels/ (ops.h and matmul.h's linear map) against
 * central finite differences, in double precision, on random inputs.
 *
 * Each case maps its inputs to an output `out`; the scalar checked is L = sum(out * r) for a
 * fixed random r, so the backward is called with dout = r. For each input p:
 *  - accumulation: the backward, called twice on zeroed gradients, gives twice the single
 *    call (relative 1e-12), i.e. it adds (+=) rather than overwrites;
 *  - value: |g - g_fd| / |g_fd| <= 1e-7 (2-norms over the whole array), where g_fd is the
 *    central difference (L(p + h) - L(p - h)) / 2h with h = 1e-5 (truncation ~h^2 ~ 1e-10,
 *    rounding ~1e-16 |L| / h ~ 1e-10; worst seen ~5e-9).
 * The "large" cases are big enough to take the OpenMP paths of the kernels; there the finite
 * differences are taken on a random sample of the values (xent: see its large test).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "test.h"

#define FD_H 1e-5
#define FD_TOL 1e-7
#define ACCUM_TOL 1e-12
#define MAXP 4

static double worst_fd_err; /* reported at the end */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
/* uniform in [-1, 1) (xorshift64*) */
static double urand(void) { return test_urand(&rng_state); }

static real *rand_array(size_t n, double scale)
{
    real *a = xlstm_alloc(n, sizeof(real), "test array");
    for (size_t i = 0; i < n; i++) a[i] = (real)(scale * urand());
    return a;
}

/* One kernel under test: its inputs p[], their gradients g[], sizes, and the kernel's
 * arguments; forward fills out, backward adds d(sum(out * r))/dp into g[]. */
typedef struct fd_case fd_case;
struct fd_case {
    const char *name;
    void (*forward)(fd_case *c);
    void (*backward)(fd_case *c);
    int np;
    real *p[MAXP], *g[MAXP];
    size_t n[MAXP];
    real *out, *r, *save[2];
    size_t nout;
    size_t sample; /* 0: finite differences on every value; else on this many random ones */
    int N, G, C, B, T, K, H, din, dout, ldx, ldy, act, V;
    int32_t *targets;
};

static double loss_of(fd_case *c)
{
    c->forward(c);
    double L = 0;
    for (size_t i = 0; i < c->nout; i++) L += (double)c->out[i] * c->r[i];
    return L;
}

static double rel_err(const real *a, const real *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i] > a[i] * a[i] ? b[i] * b[i] : a[i] * a[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Runs both checks for every input of c, then frees c's arrays. */
static void fd_check(fd_case *c)
{
    real *once[MAXP];
    for (int j = 0; j < c->np; j++) memset(c->g[j], 0, c->n[j] * sizeof(real));
    c->forward(c);
    c->backward(c);
    for (int j = 0; j < c->np; j++) {
        once[j] = xlstm_alloc(c->n[j], sizeof(real), "grad copy");
        memcpy(once[j], c->g[j], c->n[j] * sizeof(real));
    }
    c->backward(c);
    for (int j = 0; j < c->np; j++) {
        for (size_t i = 0; i < c->n[j]; i++) once[j][i] *= 2;
        double e = rel_err(c->g[j], once[j], c->n[j]);
        CHECK(e <= ACCUM_TOL, "%s: input %d: two backward calls are not twice one (rel %.3g)", c->name, j, e);
        for (size_t i = 0; i < c->n[j]; i++) once[j][i] /= 2;
    }
    for (int j = 0; j < c->np; j++) {
        size_t m = c->sample ? c->sample : c->n[j];
        real *fd = xlstm_alloc(m, sizeof(real), "fd grad"), *an = xlstm_alloc(m, sizeof(real), "grad sample");
        for (size_t s = 0; s < m; s++) {
            size_t i = c->sample ? (size_t)((urand() + 1) / 2 * c->n[j]) : s;
            real keep = c->p[j][i];
            c->p[j][i] = keep + FD_H;
            double lp = loss_of(c);
            c->p[j][i] = keep - FD_H;
            double lm = loss_of(c);
            c->p[j][i] = keep;
            fd[s] = (real)((lp - lm) / (2 * FD_H));
            an[s] = once[j][i];
        }
        double e = rel_err(an, fd, m);
        printf("  %-30s input %d (%5zu of %6zu): fd rel err %.2e\n", c->name, j, m, c->n[j], e);
        if (e > worst_fd_err) worst_fd_err = e;
        CHECK(e <= FD_TOL, "%s: input %d: gradient vs finite differences rel err %.3g", c->name, j, e);
        xlstm_free(fd);
        xlstm_free(an);
        xlstm_free(once[j]);
    }
    for (int j = 0; j < c->np; j++) {
        xlstm_free(c->p[j]);
        xlstm_free(c->g[j]);
    }
    xlstm_free(c->out);
    xlstm_free(c->r);
    xlstm_free(c->save[0]);
    xlstm_free(c->save[1]);
    xlstm_free(c->targets);
}

/* Adds input j of n values drawn uniformly from [-scale, scale]. */
static void add_input(fd_case *c, size_t n, double scale)
{
    c->p[c->np] = rand_array(n, scale);
    c->g[c->np] = xlstm_alloc(n, sizeof(real), "grad");
    c->n[c->np] = n;
    c->np++;
}

static void set_output(fd_case *c, size_t n)
{
    c->out = xlstm_alloc(n, sizeof(real), "out");
    c->r = rand_array(n, 1.0);
    c->nout = n;
}

/* ---- group norm: inputs x [N, G*C], w [G*C] (or none) */
static void gn_fwd(fd_case *c)
{
    groupnorm_forward(c->out, c->save[0], c->save[1], c->p[0], c->np > 1 ? c->p[1] : NULL, c->N, c->G, c->C);
}
static void gn_bwd(fd_case *c)
{
    groupnorm_backward(c->g[0], c->np > 1 ? c->g[1] : NULL, c->r, c->p[0], c->np > 1 ? c->p[1] : NULL, c->save[0],
                       c->save[1], c->N, c->G, c->C);
}
static void check_groupnorm(const char *name, int N, int G, int C, int affine, size_t sample)
{
    fd_case c = {.name = name, .forward = gn_fwd, .backward = gn_bwd, .N = N, .G = G, .C = C, .sample = sample};
    add_input(&c, (size_t)N * G * C, 2.0);
    for (size_t i = 0; i < c.n[0]; i++) c.p[0][i] += 3; /* a nonzero mean */
    if (affine) add_input(&c, (size_t)G * C, 0.5);
    set_output(&c, (size_t)N * G * C);
    c.save[0] = xlstm_alloc((size_t)N * G, sizeof(real), "mean");
    c.save[1] = xlstm_alloc((size_t)N * G, sizeof(real), "rstd");
    fd_check(&c);
}
static void test_groupnorm_grad(void)
{
    check_groupnorm("layernorm G=1", 5, 1, 7, 1, 0);
    check_groupnorm("groupnorm G=3", 4, 3, 5, 1, 0);
    check_groupnorm("groupnorm G=2 no weight", 3, 2, 6, 0, 0);
    check_groupnorm("groupnorm C=300 (2 dw blocks)", 3, 2, 300, 1, 0);
    check_groupnorm("large groupnorm G=4 C=160", 28, 4, 160, 1, 60);
}

/* ---- causal conv: inputs x [B, T, C], w [C, K], bias [C] */
static void conv_fwd(fd_case *c) { causal_conv_forward(c->out, c->p[0], NULL, c->p[1], c->p[2], c->B, c->T, c->C, c->K); }
static void conv_bwd(fd_case *c)
{
    causal_conv_backward(c->g[0], c->g[1], c->g[2], c->r, c->p[0], c->p[1], c->B, c->T, c->C, c->K);
}
static void check_conv(const char *name, int B, int T, int C, int K, size_t sample)
{
    fd_case c = {.name = name, .forward = conv_fwd, .backward = conv_bwd, .B = B, .T = T, .C = C, .K = K,
                 .sample = sample};
    add_input(&c, (size_t)B * T * C, 1.0);
    add_input(&c, (size_t)C * K, 1.0);
    add_input(&c, (size_t)C, 1.0);
    set_output(&c, (size_t)B * T * C);
    fd_check(&c);
}
static void test_conv_grad(void)
{
    check_conv("conv K=1", 2, 5, 3, 1, 0);
    check_conv("conv K=4", 2, 6, 5, 4, 0);
    check_conv("conv K=4 T=2 (T<K)", 3, 2, 4, 4, 0);
    check_conv("conv K=3 C=130 (2 dw blocks)", 1, 4, 130, 3, 0);
    check_conv("conv K=6 C=600 (2 tap groups)", 2, 3, 600, 6, 0);
    check_conv("large conv K=4 C=300", 2, 40, 300, 4, 60);
}

/* ---- headwise linear: inputs x [N, ldx], W [H, dout, din], bias [H*dout] (optional);
 * the columns of x beyond H*din and of out beyond H*dout are padding that must stay out. */
static void hw_fwd(fd_case *c)
{
    headwise_forward(c->out, c->ldy, c->p[0], c->ldx, c->p[1], c->np > 2 ? c->p[2] : NULL, c->N, c->H, c->dout,
                     c->din);
}
static void hw_bwd(fd_case *c)
{
    headwise_backward(c->g[0], c->ldx, c->g[1], c->np > 2 ? c->g[2] : NULL, c->r, c->ldy, c->p[0], c->ldx, c->p[1],
                      c->N, c->H, c->dout, c->din);
}
static void check_headwise(const char *name, int N, int H, int dout, int din, int pad, int bias, size_t sample)
{
    fd_case c = {.name = name, .forward = hw_fwd, .backward = hw_bwd, .N = N, .H = H, .dout = dout, .din = din,
                 .ldx = H * din + pad, .ldy = H * dout + pad, .sample = sample};
    add_input(&c, (size_t)N * c.ldx, 1.0);
    add_input(&c, (size_t)H * dout * din, 1.0);
    if (bias) add_input(&c, (size_t)H * dout, 1.0);
    set_output(&c, (size_t)N * c.ldy);
    fd_check(&c);
}
static void test_headwise_grad(void)
{
    check_headwise("headwise 4x4 H=6", 5, 6, 4, 4, 0, 1, 0);
    check_headwise("headwise 5x3 H=3 strided", 4, 3, 5, 3, 3, 0, 0);
    check_headwise("headwise 24x20 H=2 (gemm)", 4, 2, 24, 20, 0, 1, 0);
    check_headwise("headwise 17x16 H=2 strided", 3, 2, 17, 16, 5, 0, 0);
    check_headwise("large headwise 4x4 H=64 strd", 160, 64, 4, 4, 8, 1, 60);
}

/* ---- linear map of matmul.c: inputs x [N, ldx], W [out, in], bias [out] */
static void lin_fwd(fd_case *c)
{
    linear_forward(c->out, c->ldy, c->p[0], c->ldx, c->p[1], c->p[2], c->N, c->din, c->dout);
}
static void lin_bwd(fd_case *c)
{
    linear_backward(c->g[0], c->ldx, c->g[1], c->g[2], c->r, c->ldy, c->p[0], c->ldx, c->p[1], c->N, c->din,
                    c->dout);
}
static void test_linear_grad(void)
{
    fd_case c = {.name = "linear 7->9 strided", .forward = lin_fwd, .backward = lin_bwd, .N = 6, .din = 7,
                 .dout = 9, .ldx = 10, .ldy = 11};
    add_input(&c, (size_t)c.N * c.ldx, 1.0);
    add_input(&c, (size_t)c.dout * c.din, 1.0);
    add_input(&c, (size_t)c.dout, 1.0);
    set_output(&c, (size_t)c.N * c.ldy);
    fd_check(&c);
}

/* ---- activations: input x [n]; act = -1 stands for silu_forward/backward */
static void act_fwd(fd_case *c)
{
    if (c->act < 0) silu_forward(c->out, c->p[0], c->nout);
    else act_forward(c->act, c->out, c->p[0], c->nout);
}
static void act_bwd(fd_case *c)
{
    if (c->act < 0) silu_backward(c->g[0], c->r, c->p[0], c->nout);
    else act_backward(c->act, c->g[0], c->r, c->p[0], c->nout);
}
static void test_act_grad(void)
{
    static const char *names[] = {"silu", "act gelu", "act relu", "act relu^2", "act sigmoid", "act swish", "act selu"};
    for (int large = 0; large <= 1; large++)
        for (int a = -1; a <= XLSTM_ACT_SELU; a++) {
            size_t n = large ? 20000 : 64;
            fd_case c = {.name = names[a + 1], .forward = act_fwd, .backward = act_bwd, .act = a,
                         .sample = large ? 40 : 0};
            add_input(&c, n, 4.0);
            /* keep clear of the kinks at 0 (relu, relu^2's second derivative, selu) */
            for (size_t i = 0; i < n; i++)
                if (fabs(c.p[0][i]) < 0.01) c.p[0][i] = 0.5;
            set_output(&c, n);
            fd_check(&c);
        }
}

/* ---- cross-entropy: input logits [N, V]; out = the mean loss (a scalar) */
static void xent_fwd(fd_case *c)
{
    int count;
    c->out[0] = (real)xent_forward(c->p[0], c->targets, c->N, c->V, &count);
}
static void xent_bwd(fd_case *c)
{
    /* xent_backward overwrites, so go through a scratch buffer to accumulate */
    int count;
    xent_forward(c->p[0], c->targets, c->N, c->V, &count);
    xent_backward(c->save[0], c->p[0], c->targets, c->N, c->V, c->r[0] / count);
    for (size_t i = 0; i < c->n[0]; i++) c->g[0][i] += c->save[0][i];
}
static void check_xent(const char *name, int N, int V, size_t sample)
{
    fd_case c = {.name = name, .forward = xent_fwd, .backward = xent_bwd, .N = N, .V = V, .sample = sample};
    add_input(&c, (size_t)N * V, 3.0);
    set_output(&c, 1);
    c.save[0] = xlstm_alloc(c.n[0], sizeof(real), "dlogits");
    c.targets = xlstm_alloc((size_t)N, sizeof(int32_t), "targets");
    static const int32_t t[6] = {3, -1, 0, 10, -100, 7}; /* rows 1 and 4 ignored */
    for (int n = 0; n < N; n++) c.targets[n] = t[n % 6];
    fd_check(&c);
}
static void test_xent_grad(void) { check_xent("xent (2 of 6 rows ignored)", 6, 11, 0); }

/* Large xent (parallel path): finite differences cannot resolve its gradient entries (each
 * is ~1 / (rows * V) against a loss of ~log V), so check instead that the rows are handled
 * independently: the whole call equals one call per row (serial path), exactly for dlogits. */
static void test_xent_large_equals_rows(void)
{
    enum { N = 40, V = 1000 };
    real *l = rand_array((size_t)N * V, 5.0), *d = xlstm_alloc((size_t)N * V, sizeof(real), "dlogits");
    real *drow = xlstm_alloc(V, sizeof(real), "dlogits row");
    int32_t t[N];
    for (int n = 0; n < N; n++) t[n] = n % 7 == 3 ? -1 : (n * 37) % V;
    int count, cn, total = 0;
    double loss = xent_forward(l, t, N, V, &count), sum = 0;
    xent_backward(d, l, t, N, V, (real)0.3);
    int same = 1;
    for (int n = 0; n < N; n++) {
        sum += xent_forward(l + (size_t)n * V, t + n, 1, V, &cn);
        total += cn;
        xent_backward(drow, l + (size_t)n * V, t + n, 1, V, (real)0.3);
        same &= memcmp(drow, d + (size_t)n * V, V * sizeof(real)) == 0;
    }
    CHECK(count == total && count == N - 6, "count %d, rows counted %d", count, total);
    CHECK(fabs(loss - sum / total) <= 1e-14 * fabs(loss), "loss %.17g vs per-row mean %.17g", loss, sum / total);
    CHECK(same, "dlogits of the whole call differ from per-row calls");
    xlstm_free(l), xlstm_free(d), xlstm_free(drow);
}

/* The forward split into pieces (one token at a time, or 2 then the rest) with the history
 * carried between them equals one forward over the whole sequence. */
static void test_conv_history_matches_forward(void)
{
    for (int K = 1; K <= 4; K++) {
        int B = 2, T = 6, C = 5;
        real *x = rand_array((size_t)B * T * C, 1.0), *w = rand_array((size_t)C * K, 1.0), *b = rand_array(C, 1.0);
        real *y = rand_array((size_t)B * T * C, 1.0), *ys = rand_array((size_t)B * T * C, 1.0);
        real *hist = xlstm_alloc((size_t)B * (K > 1 ? K - 1 : 1) * C, sizeof(real), "hist");
        real *piece = xlstm_alloc((size_t)B * T * C, sizeof(real), "piece");
        real *out = xlstm_alloc((size_t)B * T * C, sizeof(real), "out");
        causal_conv_forward(y, x, NULL, w, b, B, T, C, K);
        for (int split = 1; split <= 2; split++) {
            memset(hist, 0, (size_t)B * (K > 1 ? K - 1 : 1) * C * sizeof(real));
            for (int t0 = 0; t0 < T;) {
                int n = t0 == 0 ? split : (split == 1 ? 1 : T - t0);
                for (int bb = 0; bb < B; bb++)
                    memcpy(piece + (size_t)bb * n * C, x + ((size_t)bb * T + t0) * C, (size_t)n * C * sizeof(real));
                causal_conv_forward(out, piece, hist, w, b, B, n, C, K);
                causal_conv_push_hist(hist, piece, B, n, C, K);
                for (int bb = 0; bb < B; bb++)
                    memcpy(ys + ((size_t)bb * T + t0) * C, out + (size_t)bb * n * C, (size_t)n * C * sizeof(real));
                t0 += n;
            }
            double e = rel_err(ys, y, (size_t)B * T * C);
            CHECK(e <= 1e-15, "K=%d split=%d: pieces vs forward rel err %.3g", K, split, e);
            /* the history now holds the last K-1 inputs, oldest first */
            for (int bb = 0; bb < B; bb++)
                for (int k = 0; k < K - 1; k++)
                    CHECK(memcmp(hist + ((size_t)bb * (K - 1) + k) * C, x + ((size_t)bb * T + T - (K - 1) + k) * C,
                                 C * sizeof(real)) == 0,
                          "K=%d: history row %d", K, k);
        }
        xlstm_free(x), xlstm_free(w), xlstm_free(b), xlstm_free(y), xlstm_free(ys), xlstm_free(hist);
        xlstm_free(piece), xlstm_free(out);
    }
}

int main(void)
{
    RUN(test_groupnorm_grad);
    RUN(test_conv_grad);
    RUN(test_headwise_grad);
    RUN(test_linear_grad);
    RUN(test_act_grad);
    RUN(test_xent_grad);
    RUN(test_xent_large_equals_rows);
    RUN(test_conv_history_matches_forward);
    printf("  worst finite-difference rel err: %.2e (bound %.0e)\n", worst_fd_err, FD_TOL);
    TEST_EXIT();
}
