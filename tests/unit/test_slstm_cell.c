/* test_slstm_cell.c — the sLSTM cell's forms agree exactly: T recurrent steps == one forward,
 * a forward split at T1 with the carried state == one forward, with or without `saved`;
 * pre-activations of +/-1000 (the unstabilized exp overflows even in double) keep the
 * output finite with the cell's invariants (|y| <= 1, n >= 1 after the first step); the
 * backward adds into its outputs. All these are the same arithmetic in the same order,
 * so they are checked for exact equality, in float (this file) and in double (through
 * test_slstm_cell_f64.c, which includes it and adds the finite-difference checks and the
 * comparison with the unstabilized cell). */
#include <stdlib.h>
#include <string.h>

#include "models/xlstm/slstm_cell.h"
#include "../../src/rng.h"
#include "test.h"

#ifdef XLSTM_DOUBLE
#define TOL_SUM 1e-14
#else
#define TOL_SUM 1e-6
#endif

static xrng rng = {{1, 2, 3, 4}};

/* An sLSTM cell problem: inputs and sizes; s0 is an initial state [4, B, D] or NULL. */
typedef struct {
    int B, T, NH, DH, D;
    real *Wx, *R, *bias, *s0;
} problem;

static size_t wx_size(const problem *p) { return (size_t)p->B * p->T * 4 * p->D; }
static size_t h_size(const problem *p) { return (size_t)p->B * p->T * p->D; }
static size_t r_size(const problem *p) { return (size_t)p->NH * 4 * p->DH * p->DH; }
static size_t s_size(const problem *p) { return (size_t)4 * p->B * p->D; }

static void fill(real *x, size_t n, double sd)
{
    for (size_t i = 0; i < n; i++) x[i] = (real)(sd * rng_normal(&rng));
}

/* Wx ~ N(0, wx_sd), R ~ N(0, r_sd), bias ~ N(0, 1). with_state: a random valid initial
 * state: y0 in (-1, 1), n0 in [0.5, 2], c0 = n0 u with |u| < 1, m0 ~ N(0, 1). */
static problem make_problem(int B, int T, int NH, int DH, double wx_sd, double r_sd, int with_state)
{
    problem p = {B, T, NH, DH, NH * DH, NULL, NULL, NULL, NULL};
    p.Wx = xlstm_alloc(wx_size(&p), sizeof(real), "Wx");
    p.R = xlstm_alloc(r_size(&p), sizeof(real), "R");
    p.bias = xlstm_alloc(4 * (size_t)p.D, sizeof(real), "bias");
    fill(p.Wx, wx_size(&p), wx_sd);
    fill(p.R, r_size(&p), r_sd);
    fill(p.bias, 4 * (size_t)p.D, 1);
    if (with_state) {
        size_t BD = (size_t)B * p.D;
        p.s0 = xlstm_alloc(4 * BD, sizeof(real), "s0");
        for (size_t i = 0; i < BD; i++) {
            double n0 = 0.5 + 1.5 * rng_uniform(&rng);
            p.s0[i] = (real)(2 * rng_uniform(&rng) - 1);
            p.s0[BD + i] = (real)(n0 * (2 * rng_uniform(&rng) - 1));
            p.s0[2 * BD + i] = (real)n0;
            p.s0[3 * BD + i] = (real)rng_normal(&rng);
        }
    }
    return p;
}

static void free_problem(problem *p) { xlstm_free(p->Wx), xlstm_free(p->R), xlstm_free(p->bias), xlstm_free(p->s0); }

static double max_abs_diff(const real *a, const real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

/* Rows [t0, t1) of every batch entry of x [B, T, F] into out [B, t1 - t0, F] ... */
static void get_rows(real *out, const real *x, int B, int T, int F, int t0, int t1)
{
    for (int b = 0; b < B; b++)
        memcpy(out + (size_t)b * (t1 - t0) * F, x + ((size_t)b * T + t0) * F, sizeof(real) * (t1 - t0) * F);
}
/* ... and back. */
static void put_rows(real *x, const real *in, int B, int T, int F, int t0, int t1)
{
    for (int b = 0; b < B; b++)
        memcpy(x + ((size_t)b * T + t0) * F, in + (size_t)b * (t1 - t0) * F, sizeof(real) * (t1 - t0) * F);
}

/* h and the final state of one forward from p->s0 (zeros when NULL); saved may be NULL. */
static int run_forward(real *h, real *final, real *saved, const problem *p)
{
    if (p->s0)
        memcpy(final, p->s0, sizeof(real) * s_size(p));
    else
        memset(final, 0, sizeof(real) * s_size(p));
    return slstm_cell_forward(h, saved, p->Wx, p->R, p->bias, final, p->B, p->T, p->NH, p->DH, NULL);
}

static void check_forms(const problem *p, const char *what)
{
    int B = p->B, T = p->T, D = p->D;
    size_t nh = h_size(p), ns = s_size(p);
    real *h = xlstm_alloc(nh, sizeof(real), "h"), *h2 = xlstm_alloc(nh, sizeof(real), "h2");
    real *fin = xlstm_alloc(ns, sizeof(real), "final"), *fin2 = xlstm_alloc(ns, sizeof(real), "final2");
    real *saved = xlstm_alloc(slstm_cell_saved_floats(B, T, D), sizeof(real), "saved");
    CHECK(run_forward(h, fin, NULL, p) == 0, "%s", xlstm_errmsg());

    /* with saved: same h and final state */
    CHECK(run_forward(h2, fin2, saved, p) == 0, "%s", xlstm_errmsg());
    CHECK(max_abs_diff(h2, h, nh) == 0, "%s: forward with saved differs by %.3g", what, max_abs_diff(h2, h, nh));
    CHECK(max_abs_diff(fin2, fin, ns) == 0, "%s: final state with saved differs", what);
    if (!p->s0) { /* state NULL means zeros */
        CHECK(slstm_cell_forward(h2, NULL, p->Wx, p->R, p->bias, NULL, B, T, p->NH, p->DH, NULL) == 0, "%s", xlstm_errmsg());
        CHECK(max_abs_diff(h2, h, nh) == 0, "%s: state NULL differs from a zero state", what);
        CHECK(slstm_cell_forward(h2, saved, p->Wx, p->R, p->bias, NULL, B, T, p->NH, p->DH, NULL) == 0, "%s", xlstm_errmsg());
        CHECK(max_abs_diff(h2, h, nh) == 0, "%s: state NULL with saved differs", what);
    }

    /* T recurrent steps */
    real *st = xlstm_alloc(ns, sizeof(real), "state"), *wx1 = xlstm_alloc((size_t)B * 4 * D, sizeof(real), "wx1");
    real *h1 = xlstm_alloc((size_t)B * D, sizeof(real), "h1"), *work = xlstm_alloc((size_t)B * 4 * D, sizeof(real), "work");
    if (p->s0) memcpy(st, p->s0, sizeof(real) * ns);
    for (int t = 0; t < T; t++) {
        get_rows(wx1, p->Wx, B, T, 4 * D, t, t + 1);
        slstm_cell_step(h1, st, work, wx1, p->R, p->bias, B, p->NH, p->DH, NULL);
        put_rows(h2, h1, B, T, D, t, t + 1);
    }
    CHECK(max_abs_diff(h2, h, nh) == 0, "%s: steps differ from forward by %.3g", what, max_abs_diff(h2, h, nh));
    CHECK(max_abs_diff(st, fin, ns) == 0, "%s: state after steps differs by %.3g", what, max_abs_diff(st, fin, ns));

    /* split at T1: [0, T1) without saved, then [T1, T) with saved, from the carried state */
    int cuts[] = {1, T / 2, T - 1};
    for (int ic = 0; ic < 3; ic++) {
        int T1 = cuts[ic], T2 = T - T1;
        real *wa = xlstm_alloc((size_t)B * T1 * 4 * D, sizeof(real), "wa"), *wb = xlstm_alloc((size_t)B * T2 * 4 * D, sizeof(real), "wb");
        real *ha = xlstm_alloc((size_t)B * T1 * D, sizeof(real), "ha"), *hb = xlstm_alloc((size_t)B * T2 * D, sizeof(real), "hb");
        get_rows(wa, p->Wx, B, T, 4 * D, 0, T1);
        get_rows(wb, p->Wx, B, T, 4 * D, T1, T);
        if (p->s0)
            memcpy(st, p->s0, sizeof(real) * ns);
        else
            memset(st, 0, sizeof(real) * ns);
        CHECK(slstm_cell_forward(ha, NULL, wa, p->R, p->bias, st, B, T1, p->NH, p->DH, NULL) == 0, "%s", xlstm_errmsg());
        CHECK(slstm_cell_forward(hb, saved, wb, p->R, p->bias, st, B, T2, p->NH, p->DH, NULL) == 0, "%s", xlstm_errmsg());
        put_rows(h2, ha, B, T, D, 0, T1);
        put_rows(h2, hb, B, T, D, T1, T);
        CHECK(max_abs_diff(h2, h, nh) == 0, "%s: split at %d differs by %.3g", what, T1, max_abs_diff(h2, h, nh));
        CHECK(max_abs_diff(st, fin, ns) == 0, "%s: final state of split at %d differs", what, T1);
        xlstm_free(wa), xlstm_free(wb), xlstm_free(ha), xlstm_free(hb);
    }
    xlstm_free(h), xlstm_free(h2), xlstm_free(fin), xlstm_free(fin2), xlstm_free(saved);
    xlstm_free(st), xlstm_free(wx1), xlstm_free(h1), xlstm_free(work);
}

static void test_steps_and_split_equal_forward(void)
{
    problem p = make_problem(2, 7, 2, 3, 1, 0.5, 0);
    check_forms(&p, "small, fresh");
    free_problem(&p);
    p = make_problem(2, 7, 2, 3, 1, 0.5, 1);
    check_forms(&p, "small, initial state");
    free_problem(&p);
    p = make_problem(3, 19, 4, 32, 1, 0.2, 1);
    check_forms(&p, "4 heads of 32");
    free_problem(&p);
    /* B*D above SLSTM_PAR_ELEMS: the elementwise passes run threaded */
    p = make_problem(8, 5, 2, 160, 1, 0.1, 1);
    check_forms(&p, "2 heads of 160");
    free_problem(&p);
}

/* Pre-activations ~ +/-1000: e^1000 overflows even in double, the stabilized cell must not. */
static void test_extreme_preactivations(void)
{
    problem p = make_problem(2, 12, 2, 4, 1000, 1, 0);
    int B = p.B, T = p.T, D = p.D;
    size_t nh = h_size(&p), BD = (size_t)B * D;
    real *h = xlstm_alloc(nh, sizeof(real), "h"), *saved = xlstm_alloc(slstm_cell_saved_floats(B, T, D), sizeof(real), "saved");
    CHECK(slstm_cell_forward(h, saved, p.Wx, p.R, p.bias, NULL, B, T, p.NH, p.DH, NULL) == 0, "%s", xlstm_errmsg());
    int bad_y = 0, bad_n = 0;
    for (size_t i = 0; i < nh; i++) bad_y += !(fabs((double)h[i]) <= 1);
    for (int t = 1; t <= T; t++)
        for (size_t i = 0; i < BD; i++) {
            const real *s = saved + (size_t)t * 4 * BD;
            bad_n += !(s[2 * BD + i] >= 1 && isfinite((double)s[BD + i]) && isfinite((double)s[3 * BD + i]));
        }
    CHECK(bad_y == 0, "%d outputs not finite with |y| <= 1", bad_y);
    CHECK(bad_n == 0, "%d states with n < 1 or non-finite c, m", bad_n);

    real *dh = xlstm_alloc(nh, sizeof(real), "dh"), *dWx = xlstm_alloc(wx_size(&p), sizeof(real), "dWx");
    real *dR = xlstm_alloc(r_size(&p), sizeof(real), "dR"), *db = xlstm_alloc(4 * (size_t)D, sizeof(real), "db");
    fill(dh, nh, 1);
    slstm_cell_backward(dWx, dR, db, NULL, dh, saved, p.R, B, T, p.NH, p.DH);
    int bad_g = 0;
    for (size_t i = 0; i < wx_size(&p); i++) bad_g += !isfinite((double)dWx[i]);
    for (size_t i = 0; i < r_size(&p); i++) bad_g += !isfinite((double)dR[i]);
    CHECK(bad_g == 0, "%d non-finite gradients", bad_g);
    xlstm_free(h), xlstm_free(saved), xlstm_free(dh), xlstm_free(dWx), xlstm_free(dR), xlstm_free(db);
    free_problem(&p);
}

/* The backward adds: two calls give twice one call (exactly for dWx and dstate, one
 * addition each; dR and dbias sum over t and b, so the second call rounds differently: up
 * to TOL_SUM relative to the largest gradient), which also shows that it does not depend on
 * what the previous call left in the work part of saved. */
static void test_backward_adds(void)
{
    problem p = make_problem(2, 7, 2, 3, 1, 0.5, 1);
    int B = p.B, T = p.T, D = p.D;
    size_t nh = h_size(&p), ns = s_size(&p);
    size_t n = wx_size(&p) + r_size(&p) + 4 * (size_t)D + ns;
    real *h = xlstm_alloc(nh, sizeof(real), "h"), *fin = xlstm_alloc(ns, sizeof(real), "final");
    real *saved = xlstm_alloc(slstm_cell_saved_floats(B, T, D), sizeof(real), "saved");
    real *dh = xlstm_alloc(nh, sizeof(real), "dh"), *g1 = xlstm_alloc(n, sizeof(real), "g1"), *g2 = xlstm_alloc(n, sizeof(real), "g2");
    fill(dh, nh, 1);
    CHECK(run_forward(h, fin, saved, &p) == 0, "%s", xlstm_errmsg());
    real *g[2] = {g1, g2};
    for (int k = 0; k < 2; k++)
        for (int rep = 0; rep <= k; rep++) {
            real *w = g[k];
            slstm_cell_backward(w, w + wx_size(&p), w + wx_size(&p) + r_size(&p), w + n - ns, dh, saved, p.R, B, T,
                                p.NH, p.DH);
        }
    double gmax = 0, dmax = 0;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)g2[i] - 2 * (double)g1[i]);
        gmax = fabs((double)g1[i]) > gmax ? fabs((double)g1[i]) : gmax;
        dmax = diff > dmax ? diff : dmax;
        nonzero += g1[i] != 0;
    }
    CHECK(dmax <= TOL_SUM * gmax, "second call does not double the gradients: max diff %.3g of %.3g", dmax, gmax);
    for (size_t i = 0; i < wx_size(&p); i++) CHECK(g2[i] == 2 * g1[i], "dWx[%zu] not exactly doubled", i);
    CHECK(nonzero > (int)(n * 3 / 4), "only %d of %zu gradients nonzero", nonzero, n);
    xlstm_free(h), xlstm_free(fin), xlstm_free(saved), xlstm_free(dh), xlstm_free(g1), xlstm_free(g2);
    free_problem(&p);
}

static void test_bad_sizes(void)
{
    real x = 0;
    CHECK(slstm_cell_forward(&x, NULL, &x, &x, &x, &x, 1, 1, 0, 1, NULL) == -1, "NH = 0 accepted");
    CHECK(strstr(xlstm_errmsg(), "NH=0") != NULL, "message: %s", xlstm_errmsg());
    CHECK(slstm_cell_forward(&x, NULL, &x, &x, &x, &x, -1, 1, 1, 1, NULL) == -1, "B = -1 accepted");
}

#ifdef SLSTM_CELL_EXTRA_TESTS
static void SLSTM_CELL_EXTRA_TESTS(void);
#endif

int main(void)
{
    RUN(test_steps_and_split_equal_forward);
    RUN(test_extreme_preactivations);
    RUN(test_backward_adds);
    RUN(test_bad_sizes);
#ifdef SLSTM_CELL_EXTRA_TESTS
    SLSTM_CELL_EXTRA_TESTS();
#endif
    TEST_EXIT();
}
