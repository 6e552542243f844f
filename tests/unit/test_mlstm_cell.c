/* test_mlstm_cell.c — the mLSTM cell forms agree: chunkwise (any chunk size) == recurrent
 * steps, parallel == chunkwise up to the eps term, a split prefill == one pass, and the
 * backward does not depend on the chunk size. Built in float (this file) and, through
 * test_mlstm_cell_f64.c which includes it and adds finite-difference checks, in double.
 * Tolerances are relative to the largest magnitude of the reference (max-abs). */
#include <stdlib.h>
#include <string.h>

#include "models/xlstm/mlstm_cell.h"
#include "test.h"

/* TOL_PAR: parallel vs chunkwise with the official eps. Their stabilizers differ in rows where
 * every i_j < F_j (then the chunkwise m_t = F_t wins, spec 3.4), so the eps term differs:
 * by up to eps = 1e-6 relative, a property of the two official forms, not rounding. With
 * eps = 0 they must agree to rounding (TOL_EQ). TOL_EXT: gates around +/-50 make the log-space
 * exponents (cumulative sums of logsigmoid) ~1e3 in size, so float rounds them at ~1e-4. */
#ifdef XLSTM_DOUBLE
#define TOL_EQ 1e-12   /* same function, rounding only */
#define TOL_PAR 1.5e-6
#define TOL_EXT 5e-12 /* exponents ~1e3 in size: rounding ~1e3 * 2^-52 */
#define TOL_GRAD 1e-11 /* backward for different chunk sizes */
#define TOL_GPAR 1e-5  /* backward parallel vs chunkwise: the eps term, O(eps / den) in gate grads */
#else
#define TOL_EQ 1e-5
#define TOL_PAR 1e-5
#define TOL_EXT 5e-4
#define TOL_GRAD 1e-5
#define TOL_GPAR 2e-5
#endif

/* ---- small helpers */
static unsigned long long rng_state = 42;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand()); }
static void fill(real *x, size_t n, double mean, double sd)
{
    for (size_t i = 0; i < n; i++) x[i] = (real)(mean + sd * nrand());
}
static double max_abs(const real *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs((double)a[i]) > m ? fabs((double)a[i]) : m;
    return m;
}
/* max |a - b| / max |b| */
static double rel_diff(const real *a, const real *b, size_t n)
{
    double m = 0, s = max_abs(b, n);
    for (size_t i = 0; i < n; i++) m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return s > 0 ? m / s : m;
}

/* One problem: inputs, and the sizes. */
typedef struct {
    int B, T, NH, DH, E;
    real *q, *k, *v, *ig, *fg;
} problem;

static problem make_problem(int B, int T, int NH, int DH, double ig_mean, double ig_sd, double fg_mean, double fg_sd)
{
    problem p = {B, T, NH, DH, NH * DH, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)B * T * p.E, g = (size_t)B * T * NH;
    p.q = xlstm_alloc(n, sizeof(real), "q");
    p.k = xlstm_alloc(n, sizeof(real), "k");
    p.v = xlstm_alloc(n, sizeof(real), "v");
    p.ig = xlstm_alloc(g, sizeof(real), "ig");
    p.fg = xlstm_alloc(g, sizeof(real), "fg");
    fill(p.q, n, 0, 1);
    fill(p.k, n, 0, 1);
    fill(p.v, n, 0, 1);
    fill(p.ig, g, ig_mean, ig_sd);
    fill(p.fg, g, fg_mean, fg_sd);
    return p;
}
static void free_problem(problem *p)
{
    xlstm_free(p->q), xlstm_free(p->k), xlstm_free(p->v), xlstm_free(p->ig), xlstm_free(p->fg);
}
static size_t hsize(const problem *p) { return (size_t)p->B * p->T * p->E; }
static size_t gsize(const problem *p) { return (size_t)p->B * p->T * p->NH; }
static mlstm_cell_in cell_in(const problem *p) { return (mlstm_cell_in){p->q, p->k, p->v, p->ig, p->fg}; }
static mlstm_cell_dims cell_dims(const problem *p) { return (mlstm_cell_dims){p->B, p->T, p->NH, p->DH, p->DH}; }

/* The state of all (b, head) pairs. */
typedef mlstm_cell_state state;
static state make_state(const problem *p)
{
    state s;
    s.C = xlstm_alloc((size_t)p->B * p->NH * p->DH * p->DH, sizeof(real), "C");
    s.n = xlstm_alloc((size_t)p->B * p->NH * p->DH, sizeof(real), "n");
    s.m = xlstm_alloc((size_t)p->B * p->NH, sizeof(real), "m");
    return s;
}
static void free_state(state *s) { xlstm_free(s->C), xlstm_free(s->n), xlstm_free(s->m); }

/* h [B, T, E] by T recurrent steps from the state s (updated). */
static void run_steps(real *h, const problem *p, state *s)
{
    int E = p->E, NH = p->NH;
    real *buf = xlstm_alloc((size_t)p->B * (4 * E + 2 * NH), sizeof(real), "step buffers");
    real *q = buf, *k = q + p->B * E, *v = k + p->B * E, *hs = v + p->B * E, *ig = hs + p->B * E, *fg = ig + p->B * NH;
    for (int t = 0; t < p->T; t++) {
        for (int b = 0; b < p->B; b++) {
            size_t row = (size_t)b * p->T + t;
            memcpy(q + b * E, p->q + row * E, sizeof(real) * E);
            memcpy(k + b * E, p->k + row * E, sizeof(real) * E);
            memcpy(v + b * E, p->v + row * E, sizeof(real) * E);
            memcpy(ig + b * NH, p->ig + row * NH, sizeof(real) * NH);
            memcpy(fg + b * NH, p->fg + row * NH, sizeof(real) * NH);
        }
        mlstm_cell_step(hs, *s, (mlstm_cell_in){q, k, v, ig, fg}, cell_dims(p));
        for (int b = 0; b < p->B; b++) memcpy(h + ((size_t)b * p->T + t) * E, hs + b * E, sizeof(real) * E);
    }
    xlstm_free(buf);
}

/* Rows [t0, t1) of every batch entry of x [B, T, F] into out [B, t1 - t0, F]. */
static void slice_rows(real *out, const real *x, int B, int T, int F, int t0, int t1)
{
    for (int b = 0; b < B; b++)
        memcpy(out + (size_t)b * (t1 - t0) * F, x + ((size_t)b * T + t0) * F, sizeof(real) * (t1 - t0) * F);
}
static problem slice_problem(const problem *p, int t0, int t1)
{
    problem s = *p;
    s.T = t1 - t0;
    size_t n = (size_t)p->B * s.T * p->E, g = (size_t)p->B * s.T * p->NH;
    s.q = xlstm_alloc(n, sizeof(real), "q");
    s.k = xlstm_alloc(n, sizeof(real), "k");
    s.v = xlstm_alloc(n, sizeof(real), "v");
    s.ig = xlstm_alloc(g, sizeof(real), "ig");
    s.fg = xlstm_alloc(g, sizeof(real), "fg");
    slice_rows(s.q, p->q, p->B, p->T, p->E, t0, t1);
    slice_rows(s.k, p->k, p->B, p->T, p->E, t0, t1);
    slice_rows(s.v, p->v, p->B, p->T, p->E, t0, t1);
    slice_rows(s.ig, p->ig, p->B, p->T, p->NH, t0, t1);
    slice_rows(s.fg, p->fg, p->B, p->T, p->NH, t0, t1);
    return s;
}

static int forward_eps(real *h, real *saved, const problem *p, int chunk, int parallel, state *s, real eps)
{
    return mlstm_cell_forward_eps(h, saved, cell_in(p), s, cell_dims(p), (mlstm_form){parallel, chunk}, eps, NULL);
}
static int forward(real *h, real *saved, const problem *p, int chunk, int parallel, state *s)
{
    return mlstm_cell_forward(h, saved, cell_in(p), s, cell_dims(p), (mlstm_form){parallel, chunk}, NULL);
}

/* ---- forms agree */
static const int Ts[] = {1, 5, 16, 37};
static const int chunks[] = {1, 4, 7, 16, 64};

/* h from the steps, the chunkwise form (several chunk sizes, with and without a state) and
 * the parallel form, for one length T. */
static void forms_agree(int T)
{
    problem p = make_problem(2, T, 3, 8, 0, 1, 3, 1.5);
    size_t n = hsize(&p);
    real *hs = xlstm_alloc(n, sizeof(real), "hs"), *hc = xlstm_alloc(n, sizeof(real), "hc");
    real *hp = xlstm_alloc(n, sizeof(real), "hp");
    state ss = make_state(&p), sc = make_state(&p);
    run_steps(hs, &p, &ss);
    CHECK(forward(hp, NULL, &p, 0, 1, NULL) == 0, "%s", xlstm_errmsg());
    for (size_t ic = 0; ic < sizeof chunks / sizeof *chunks; ic++) {
        memset(sc.C, 0, sizeof(real) * p.B * p.NH * p.DH * p.DH);
        memset(sc.n, 0, sizeof(real) * p.B * p.NH * p.DH);
        memset(sc.m, 0, sizeof(real) * p.B * p.NH);
        CHECK(forward(hc, NULL, &p, chunks[ic], 0, &sc) == 0, "%s", xlstm_errmsg());
        double e = rel_diff(hc, hs, n), eC = rel_diff(sc.C, ss.C, (size_t)p.B * p.NH * p.DH * p.DH);
        double en = rel_diff(sc.n, ss.n, (size_t)p.B * p.NH * p.DH), em = rel_diff(sc.m, ss.m, p.B * p.NH);
        double ep = rel_diff(hp, hc, n);
        CHECK(e <= TOL_EQ && eC <= TOL_EQ && en <= TOL_EQ && em <= TOL_EQ,
              "T=%d chunk=%d: chunkwise vs steps h %.3g C %.3g n %.3g m %.3g", p.T, chunks[ic], e, eC, en, em);
        CHECK(ep <= TOL_PAR, "T=%d chunk=%d: parallel vs chunkwise %.3g", p.T, chunks[ic], ep);
        /* without a state pointer the chunkwise output is the same */
        real *h2 = xlstm_alloc(n, sizeof(real), "h2"), *h3 = xlstm_alloc(n, sizeof(real), "h3");
        CHECK(forward(h2, NULL, &p, chunks[ic], 0, NULL) == 0, "%s", xlstm_errmsg());
        CHECK(rel_diff(h2, hc, n) == 0, "T=%d chunk=%d: fresh start differs from zero state", p.T, chunks[ic]);
        /* with eps = 0 the stabilizers cancel exactly: parallel == chunkwise to rounding */
        CHECK(forward_eps(h2, NULL, &p, chunks[ic], 0, NULL, 0) == 0, "%s", xlstm_errmsg());
        CHECK(forward_eps(h3, NULL, &p, 0, 1, NULL, 0) == 0, "%s", xlstm_errmsg());
        CHECK(rel_diff(h3, h2, n) <= TOL_EQ, "T=%d chunk=%d: eps 0: parallel vs chunkwise %.3g", p.T, chunks[ic],
              rel_diff(h3, h2, n));
        xlstm_free(h2), xlstm_free(h3);
    }
    xlstm_free(hs), xlstm_free(hc), xlstm_free(hp);
    free_state(&ss), free_state(&sc), free_problem(&p);
}

static void test_chunkwise_equals_steps_and_parallel(void)
{
    for (size_t it = 0; it < sizeof Ts / sizeof *Ts; it++) forms_agree(Ts[it]);
}

/* Extreme gates (pre-activations around +/-50, mixed): all forms stay finite and agree. */
static void test_extreme_gates(void)
{
    problem p = make_problem(2, 23, 2, 8, 0, 1, 0, 1);
    for (size_t i = 0; i < gsize(&p); i++) {
        p.ig[i] += urand() < 0.5 ? -50 : 50;
        p.fg[i] += urand() < 0.5 ? -50 : 50;
    }
    size_t n = hsize(&p);
    real *hs = xlstm_alloc(n, sizeof(real), "hs"), *hc = xlstm_alloc(n, sizeof(real), "hc");
    real *hp = xlstm_alloc(n, sizeof(real), "hp");
    state ss = make_state(&p);
    run_steps(hs, &p, &ss);
    CHECK(forward(hp, NULL, &p, 0, 1, NULL) == 0, "%s", xlstm_errmsg());
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(hs[i]) && isfinite(hp[i]);
    CHECK(finite, "non-finite output");
    for (int c = 1; c <= 8; c *= 2) {
        CHECK(forward(hc, NULL, &p, c, 0, NULL) == 0, "%s", xlstm_errmsg());
        CHECK(rel_diff(hc, hs, n) <= TOL_EXT, "chunk %d vs steps %.3g", c, rel_diff(hc, hs, n));
        CHECK(rel_diff(hp, hc, n) <= TOL_EXT, "parallel vs chunk %d %.3g", c, rel_diff(hp, hc, n));
    }
    xlstm_free(hs), xlstm_free(hc), xlstm_free(hp), free_state(&ss), free_problem(&p);
}

/* A prompt fed in two pieces with the state carried equals one pass and T steps. */
static void test_prefill_split(void)
{
    problem p = make_problem(2, 37, 2, 8, 0, 1.5, 2, 2);
    size_t n = hsize(&p);
    real *hfull = xlstm_alloc(n, sizeof(real), "hfull"), *hs = xlstm_alloc(n, sizeof(real), "hs");
    real *hsplit = xlstm_alloc(n, sizeof(real), "hsplit");
    state ss = make_state(&p);
    run_steps(hs, &p, &ss);
    CHECK(forward(hfull, NULL, &p, 16, 0, NULL) == 0, "%s", xlstm_errmsg());
    const int splits[] = {1, 7, 16, 30, 36};
    for (size_t is = 0; is < sizeof splits / sizeof *splits; is++) {
        int T1 = splits[is];
        problem a = slice_problem(&p, 0, T1), b = slice_problem(&p, T1, p.T);
        real *ha = xlstm_alloc(hsize(&a), sizeof(real), "ha"), *hb = xlstm_alloc(hsize(&b), sizeof(real), "hb");
        state s = make_state(&p);
        CHECK(forward(ha, NULL, &a, 7, 0, &s) == 0, "%s", xlstm_errmsg());
        CHECK(forward(hb, NULL, &b, 5, 0, &s) == 0, "%s", xlstm_errmsg());
        for (int bb = 0; bb < p.B; bb++) {
            memcpy(hsplit + (size_t)bb * p.T * p.E, ha + (size_t)bb * T1 * p.E, sizeof(real) * T1 * p.E);
            memcpy(hsplit + ((size_t)bb * p.T + T1) * p.E, hb + (size_t)bb * (p.T - T1) * p.E,
                   sizeof(real) * (p.T - T1) * p.E);
        }
        CHECK(rel_diff(hsplit, hfull, n) <= TOL_EQ, "split at %d vs one pass %.3g", T1, rel_diff(hsplit, hfull, n));
        CHECK(rel_diff(hsplit, hs, n) <= TOL_EQ, "split at %d vs steps %.3g", T1, rel_diff(hsplit, hs, n));
        CHECK(rel_diff(s.C, ss.C, (size_t)p.B * p.NH * p.DH * p.DH) <= TOL_EQ, "split at %d: final C", T1);
        CHECK(rel_diff(s.m, ss.m, (size_t)p.B * p.NH) <= TOL_EQ, "split at %d: final m", T1);
        xlstm_free(ha), xlstm_free(hb), free_state(&s), free_problem(&a), free_problem(&b);
    }
    xlstm_free(hfull), xlstm_free(hs), xlstm_free(hsplit), free_state(&ss), free_problem(&p);
}

/* ---- backward: gradients [dq, dk, dv | dig, dfg] of sum(h * r) in one buffer. */
typedef struct {
    real *all, *dq, *dk, *dv, *dig, *dfg;
    size_t n;
} grads;

static grads make_grads(const problem *p, real init)
{
    grads g;
    size_t n = hsize(p), m = gsize(p);
    g.n = 3 * n + 2 * m;
    g.all = xlstm_alloc(g.n, sizeof(real), "grads");
    for (size_t i = 0; i < g.n; i++) g.all[i] = init;
    g.dq = g.all, g.dk = g.dq + n, g.dv = g.dk + n, g.dig = g.dv + n, g.dfg = g.dig + m;
    return g;
}

static int backward_eps(grads *g, const real *r, const problem *p, int chunk, int parallel, real eps)
{
    mlstm_form form = {parallel, chunk};
    size_t ns = mlstm_cell_saved_floats(cell_dims(p), form);
    real *saved = xlstm_alloc(ns, sizeof(real), "saved"), *h = xlstm_alloc(hsize(p), sizeof(real), "h");
    int rc = mlstm_cell_forward_eps(h, saved, cell_in(p), NULL, cell_dims(p), form, eps, NULL);
    if (rc == 0)
        rc = mlstm_cell_backward_eps((mlstm_cell_grads){g->dq, g->dk, g->dv, g->dig, g->dfg}, r, saved, cell_in(p),
                                     cell_dims(p), form, eps, NULL);
    xlstm_free(saved), xlstm_free(h);
    return rc;
}

static void backward_chunk_invariant(int T)
{
    problem p = make_problem(2, T, 2, 8, 0, 1.5, 2, 2);
    real *r = xlstm_alloc(hsize(&p), sizeof(real), "r");
    fill(r, hsize(&p), 0, 1);
    grads ref = make_grads(&p, 0), gp = make_grads(&p, 0);
    CHECK(backward_eps(&ref, r, &p, 1, 0, MLSTM_EPS) == 0, "%s", xlstm_errmsg());
    CHECK(backward_eps(&gp, r, &p, 0, 1, MLSTM_EPS) == 0, "%s", xlstm_errmsg());
    CHECK(rel_diff(gp.all, ref.all, ref.n) <= TOL_GPAR, "T=%d: parallel vs chunk 1 grads %.3g", T,
          rel_diff(gp.all, ref.all, ref.n));
    for (size_t ic = 1; ic < sizeof chunks / sizeof *chunks; ic++) {
        grads g = make_grads(&p, 0.5); /* the backward adds: start from 0.5 */
        CHECK(backward_eps(&g, r, &p, chunks[ic], 0, MLSTM_EPS) == 0, "%s", xlstm_errmsg());
        for (size_t i = 0; i < g.n; i++) g.all[i] -= (real)0.5;
        double e = rel_diff(g.all, ref.all, ref.n);
        CHECK(e <= TOL_GRAD, "T=%d: chunk %d vs chunk 1 grads %.3g", T, chunks[ic], e);
        xlstm_free(g.all);
    }
    xlstm_free(r), xlstm_free(ref.all), xlstm_free(gp.all), free_problem(&p);
}

static void test_backward_chunk_invariant(void) { backward_chunk_invariant(37); }

/* A length whose chunks (64 rows; the parallel form's single chunk of 100) span several
 * 32-row blocks of the cell's triangular products. Run last: the problems above draw from
 * the shared random sequence, and their bounds were set on those draws. */
static void test_long_chunks(void)
{
    forms_agree(100);
    backward_chunk_invariant(100);
}

static void test_bad_arguments(void)
{
    problem p = make_problem(1, 4, 1, 4, 0, 1, 3, 1);
    real h[16], saved[64];
    state s = make_state(&p);
    CHECK(forward(h, NULL, &p, 0, 0, NULL) == -1, "chunk 0 accepted");
    CHECK(strstr(xlstm_errmsg(), "chunk") != NULL, "message: %s", xlstm_errmsg());
    CHECK(forward(h, NULL, &p, 0, 1, &s) == -1, "parallel with a state accepted");
    CHECK(forward(h, saved, &p, 2, 0, &s) == -1, "saved with a state accepted");
    mlstm_cell_dims d = {1, 4, 1, 4, 4};
    CHECK(mlstm_cell_saved_floats(d, (mlstm_form){0, 2}) == 2 * 4, "saved size (the chunk states are recomputed)");
    CHECK(mlstm_cell_saved_floats(d, (mlstm_form){1, 2}) == 2 * 4, "saved size (parallel)");
    free_state(&s), free_problem(&p);
}

#ifdef MLSTM_CELL_EXTRA_TESTS
static void MLSTM_CELL_EXTRA_TESTS(void);
#endif

int main(void)
{
    RUN(test_chunkwise_equals_steps_and_parallel);
    RUN(test_extreme_gates);
    RUN(test_prefill_split);
    RUN(test_backward_chunk_invariant);
    RUN(test_bad_arguments);
#ifdef MLSTM_CELL_EXTRA_TESTS
    MLSTM_CELL_EXTRA_TESTS();
#endif
    RUN(test_long_chunks);
    TEST_EXIT();
}
