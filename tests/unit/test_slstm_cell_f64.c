/* test_slstm_cell_f64.c — the tests of test_slstm_cell.c in double precision, plus:
 *  - the forward against a direct unstabilized evaluation (c = sigmoid(f) c + e^i z,
 *    n likewise, y = o c / n), fresh and from an initial state (c0 e^m0, n0 e^m0):
 *    max |y - y_ref| <= 1e-12;
 *  - the backward against central finite differences of L = sum(h * r), for Wx, R, bias
 *    and the initial state (y0, c0, n0, m0), B=2, T=7, NH=2, DH=3, random nonzero R, with
 *    normal pre-activations and with pre-activations reaching +/-50: norm-wise relative
 *    error ||g - g_fd|| / ||g_fd|| <= 1e-6 per tensor. The finite differences see the true
 *    function, m-paths included; the backward holds m constant, which is exact because y
 *    does not depend on m. The function is smooth away from a zero state (the first-step
 *    special case, which only the fresh start hits, and not through any perturbed input). */
#define SLSTM_CELL_EXTRA_TESTS run_f64_tests
#include "test_slstm_cell.c"

static real *copy_of(const real *x, size_t n)
{
    real *y = xlstm_alloc(n, sizeof(real), "copy");
    memcpy(y, x, sizeof(real) * n);
    return y;
}

static double sigmoid_d(double x) { return 1 / (1 + exp(-x)); }

/* The paper's unstabilized cell, written out directly (no code shared with the library). */
static void unstabilized_forward(real *h, const problem *p)
{
    int B = p->B, T = p->T, NH = p->NH, DH = p->DH, D = p->D;
    size_t BD = (size_t)B * D;
    double *y = malloc(sizeof(double) * 3 * D), *c = y + D, *n = c + D, *raw = malloc(sizeof(double) * 4 * D);
    for (int b = 0; b < B; b++) {
        for (int e = 0; e < D; e++) {
            const real *s = p->s0 ? p->s0 + (size_t)b * D + e : NULL;
            y[e] = s ? s[0] : 0;
            c[e] = s ? s[BD] * exp(s[3 * BD]) : 0;
            n[e] = s ? s[2 * BD] * exp(s[3 * BD]) : 0;
        }
        for (int t = 0; t < T; t++) {
            const real *wx = p->Wx + ((size_t)b * T + t) * 4 * D;
            for (int g = 0; g < 4; g++)
                for (int hd = 0; hd < NH; hd++)
                    for (int j = 0; j < DH; j++) {
                        double r = wx[g * D + hd * DH + j] + p->bias[g * D + hd * DH + j];
                        for (int i = 0; i < DH; i++)
                            r += p->R[((size_t)hd * 4 * DH + g * DH + j) * DH + i] * y[hd * DH + i];
                        raw[g * D + hd * DH + j] = r;
                    }
            for (int e = 0; e < D; e++) {
                double ig = exp(raw[e]), fg = sigmoid_d(raw[D + e]);
                c[e] = fg * c[e] + ig * tanh(raw[2 * D + e]);
                n[e] = fg * n[e] + ig;
                y[e] = sigmoid_d(raw[3 * D + e]) * c[e] / n[e];
                h[((size_t)b * T + t) * D + e] = y[e];
            }
        }
    }
    free(y), free(raw);
}

static void test_forward_vs_unstabilized(void)
{
    for (int with_state = 0; with_state <= 1; with_state++) {
        problem p = make_problem(2, 30, 2, 4, 1.5, 0.5, with_state);
        size_t nh = h_size(&p);
        real *h = xlstm_alloc(nh, sizeof(real), "h"), *ref = xlstm_alloc(nh, sizeof(real), "ref");
        real *st = p.s0 ? copy_of(p.s0, s_size(&p)) : NULL;
        CHECK(slstm_cell_forward(h, NULL, p.Wx, p.R, p.bias, st, p.B, p.T, p.NH, p.DH, NULL) == 0, "%s", xlstm_errmsg());
        unstabilized_forward(ref, &p);
        double e = max_abs_diff(h, ref, nh);
        CHECK(e <= 1e-12, "%s: max |y - y_unstabilized| = %.3g", with_state ? "initial state" : "fresh", e);
        printf("  vs unstabilized (%s): max abs diff %.2e\n", with_state ? "initial state" : "fresh", e);
        xlstm_free(h), xlstm_free(ref), xlstm_free(st);
        free_problem(&p);
    }
}

/* L = sum(h * r) from the (unchanged) problem. */
static double loss(const problem *p, const real *r)
{
    size_t nh = h_size(p);
    real *h = xlstm_alloc(nh, sizeof(real), "h");
    real *st = p->s0 ? copy_of(p->s0, s_size(p)) : NULL;
    slstm_cell_forward(h, NULL, p->Wx, p->R, p->bias, st, p->B, p->T, p->NH, p->DH, NULL);
    double L = 0;
    for (size_t i = 0; i < nh; i++) L += (double)h[i] * r[i];
    xlstm_free(h), xlstm_free(st);
    return L;
}

/* ||g - fd|| / ||fd|| over the n entries of x, fd by central differences with step eps. */
static double fd_error(problem *p, real *x, const real *g, size_t n, const real *r, double eps)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        real x0 = x[i];
        x[i] = x0 + eps;
        double Lp = loss(p, r);
        x[i] = x0 - eps;
        double Lm = loss(p, r);
        x[i] = x0;
        double fd = (Lp - Lm) / (2 * eps);
        num += (g[i] - fd) * (g[i] - fd);
        den += fd * fd;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void gradcheck(problem *p, const char *what)
{
    int B = p->B, T = p->T, D = p->D;
    size_t nh = h_size(p), ns = s_size(p);
    real *h = xlstm_alloc(nh, sizeof(real), "h"), *r = xlstm_alloc(nh, sizeof(real), "r");
    real *saved = xlstm_alloc(slstm_cell_saved_floats(B, T, D), sizeof(real), "saved");
    real *dWx = xlstm_alloc(wx_size(p), sizeof(real), "dWx"), *dR = xlstm_alloc(r_size(p), sizeof(real), "dR");
    real *db = xlstm_alloc(4 * (size_t)D, sizeof(real), "db"), *ds = xlstm_alloc(ns, sizeof(real), "ds");
    real *st = p->s0 ? copy_of(p->s0, ns) : NULL;
    fill(r, nh, 1);
    CHECK(slstm_cell_forward(h, saved, p->Wx, p->R, p->bias, st, B, T, p->NH, p->DH, NULL) == 0, "%s", xlstm_errmsg());
    slstm_cell_backward(dWx, dR, db, ds, r, saved, p->R, B, T, p->NH, p->DH);

    const double eps = 1e-5, tol = 1e-6;
    struct { const char *name; real *x, *g; size_t n; } t[] = {
        {"Wx", p->Wx, dWx, wx_size(p)}, {"R", p->R, dR, r_size(p)}, {"bias", p->bias, db, 4 * (size_t)D},
        {"state0", p->s0, ds, ns}};
    for (int k = 0; k < 4; k++) {
        if (!t[k].x) continue;
        double e = fd_error(p, t[k].x, t[k].g, t[k].n, r, eps);
        CHECK(e <= tol, "%s: d%s relative error %.3g", what, t[k].name, e);
        printf("  %s: d%s rel err %.2e\n", what, t[k].name, e);
    }
    xlstm_free(h), xlstm_free(r), xlstm_free(saved), xlstm_free(dWx), xlstm_free(dR), xlstm_free(db), xlstm_free(ds);
    xlstm_free(st);
}

/* Pre-activations mixed from the offsets {-50, 0, +50} plus N(0, 2) noise: saturated gates,
 * input gates whose unstabilized e^i spans e^{+-50}, and near-ties between steps (the
 * offsets repeat) so that the gate gradients are not all negligible. */
static void make_extreme(problem *p)
{
    static const double offset[3] = {-50, 0, 50};
    for (size_t i = 0; i < wx_size(p); i++)
        p->Wx[i] = (real)(offset[(int)(3 * rng_uniform(&rng))] + 2 * rng_normal(&rng));
}

static void test_gradcheck(void)
{
    for (int with_state = 0; with_state <= 1; with_state++) {
        problem p = make_problem(2, 7, 2, 3, 1, 0.5, with_state);
        gradcheck(&p, with_state ? "normal, initial state" : "normal, fresh");
        make_extreme(&p);
        gradcheck(&p, with_state ? "+/-50, initial state" : "+/-50, fresh");
        free_problem(&p);
    }
}

static void run_f64_tests(void)
{
    RUN(test_forward_vs_unstabilized);
    RUN(test_gradcheck);
}
