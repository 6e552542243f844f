/* test_ref_cells.c — the cells' fast paths against the naive reference (tests/reference):
 *  - mLSTM chunkwise, chunk 1, 3, 16, 64 and 128 (> T) at T = 70 (a multiple of none), from no
 *    state, a zero state and a random one: h and the final (C, n, m) against reference steps;
 *  - mLSTM parallel against the reference's parallel form with its explicit D matrix;
 *  - mLSTM recurrent step, T steps against the reference's, small and with enough pairs to
 *    run threaded;
 *  - sLSTM sequence forward (with and without the saved values, from no state, a zero state
 *    and a random one) and T steps, small and large enough that heads (forward) and the batch
 *    of products (step) run threaded;
 * each in gate regimes: normal; +/-50 (the stabilizer decides everything); and for the mLSTM
 * input gates near -50 (the normalizer's floor exp(-m) wins), at 1, 2 and 3 threads.
 * Built in float (this file) and double (test_ref_cells_f64.c), with the tolerances below. */
#include <stdlib.h>
#include <string.h>

#include "models/xlstm/mlstm_cell.h"
#include "models/xlstm/slstm_cell.h"
#include "ref_check.h"
#include "test.h"

/* Errors are max |library - reference| / max |reference| per tensor (ref_check.h); the bounds
 * below are {normal, extreme regimes} for the mLSTM (TOL_M) and the sLSTM (TOL_S).
 * Double: the same function with sums in other orders: measured <= 1e-14 (mLSTM), 7e-16
 * (sLSTM); with +/-50 <= 9e-14 and 3e-15, the log-space exponents (sums of logsigmoid -50,
 * stabilizers m) then being ~1e3 (mLSTM) and ~1e2 (sLSTM) in size and rounding at that times
 * 2^-52 absolute: a relative error of that size in a decay factor e^{...}.
 * Float: every product, sum and exp rounds at 2^-24 = 6e-8, and the errors add over the sums
 * of DH and T terms and the recurrence: measured 7e-6 in the mLSTM (in rows whose normalizer
 * partly cancels, which amplifies its terms' errors) and 2.7e-7 in the sLSTM (whose
 * output c/n is an average). With +/-50 the exponents of ~1e3 round at 1e3 * 6e-8 = 6e-5
 * absolute: a relative error of that size in the decay factors of the chunkwise and parallel
 * forms, inherent to log-space stabilization in float (the official forms share it; the
 * step, whose m never accumulates, stays at 3e-6): measured 4e-5; in the sLSTM ~1e2 * 6e-8:
 * measured 2.6e-6. */
#ifdef XLSTM_DOUBLE
static const double TOL_M[2] = {1e-12, 1e-12}, TOL_S[2] = {1e-13, 1e-13};
#else
static const double TOL_M[2] = {2e-5, 1e-4}, TOL_S[2] = {1e-6, 1e-5};
#endif

static xrng rng = {{11, 22, 33, 44}};

enum { NORMAL, EXTREME, INPUT_LOW, REGIMES };
static const char *regime_name[REGIMES] = {"normal", "+/-50", "input gates -50"};
static double tol_of(const double tol[2], int regime) { return tol[regime != NORMAL]; }

/* Fresh (state pointers NULL), from a zero state given, from a random state. */
enum { INIT_NULL, INIT_ZERO, INIT_RANDOM, INITS };
static const char *init_name[INITS] = {"no state", "zero state", "random state"};

/* ================================================================ mLSTM */

/* In the +/-50 regime q and k are drawn >= 0, so that every q_t . k_s > 0 and the normalizer
 * sum_s C~_ts never cancels. With signs mixed, a row whose sum nearly cancels divides by a
 * small |sum|, which multiplies the (unavoidable) relative error of its terms by
 * sum |C~_ts| / |sum C~_ts|: on this problem that took the float error from 4e-5 to 2.6e-2 in
 * one row, a property of the problem, not of the implementation. The normal regime keeps the
 * signs mixed (and so tests |.| and the cancellation), at its smaller exponents. */

typedef struct {
    int B, T, NH, DH, E;
    twin x;                      /* q, k, v [B, T, E], then ig, fg [B, T, NH] */
    twin s;                      /* initial state: C [B, NH, DH, DH], n [B, NH, DH], m [B, NH] */
    size_t q, k, v, ig, fg;      /* offsets into x */
    size_t C, n, m;              /* offsets into s */
} mproblem;

static mproblem mproblem_new(int B, int T, int NH, int DH, int regime, int init)
{
    mproblem p = {B, T, NH, DH, NH * DH, {0}, {0}, 0, 0, 0, 0, 0, 0, 0, 0};
    size_t ne = (size_t)B * T * p.E, ng = (size_t)B * T * NH;
    p.k = ne, p.v = 2 * ne, p.ig = 3 * ne, p.fg = 3 * ne + ng;
    p.x = twin_new(3 * ne + 2 * ng);
    twin_normal(&p.x, 0, 3 * ne, 0, 1, &rng);
    if (regime == EXTREME) {
        twin_extreme(&p.x, p.ig, 2 * ng, &rng);
        twin_abs(&p.x, 0, 2 * ne); /* q, k >= 0: see above */
    } else {
        twin_normal(&p.x, p.ig, ng, regime == INPUT_LOW ? -50 : 0, 1.5, &rng);
        twin_normal(&p.x, p.fg, ng, 2, 2, &rng);
    }
    size_t pairs = (size_t)B * NH;
    p.n = pairs * DH * DH, p.m = p.n + pairs * DH;
    p.s = twin_new(p.m + pairs);
    if (init == INIT_RANDOM) twin_normal(&p.s, 0, p.s.n, 0, 1, &rng);
    return p;
}

static void mproblem_free(mproblem *p) { twin_free(&p->x), twin_free(&p->s); }

/* The library cell's view of a problem: its inputs (in float) and its shape. */
static mlstm_cell_in mcell_in(const mproblem *p)
{
    const xlstm_real *x = p->x.r;
    return (mlstm_cell_in){x + p->q, x + p->k, x + p->v, x + p->ig, x + p->fg};
}
static mlstm_cell_dims mcell_dims(const mproblem *p) { return (mlstm_cell_dims){p->B, p->T, p->NH, p->DH, p->DH}; }

/* Columns [c0, c0 + w) of the rows (b, 0 .. T-1) of x [B, T, stride] into out [T, w]. */
static void gather(double *out, const double *x, int b, int T, int stride, int c0, int w)
{
    for (int t = 0; t < T; t++) memcpy(out + (size_t)t * w, x + ((size_t)b * T + t) * stride + c0, sizeof(double) * w);
}

/* The reference: h [B, T, E]; st (a copy of the initial state, layout of p->s) becomes the
 * final state. parallel: the parallel form (from a fresh state; st untouched). */
static void mlstm_reference(double *h, double *st, const mproblem *p, int parallel)
{
    int T = p->T, DH = p->DH, E = p->E, NH = p->NH;
    double *q = ref_alloc((size_t)T * DH), *k = ref_alloc((size_t)T * DH), *v = ref_alloc((size_t)T * DH);
    double *ig = ref_alloc(T), *fg = ref_alloc(T), *hh = ref_alloc((size_t)T * DH);
    for (int b = 0; b < p->B; b++)
        for (int hd = 0; hd < NH; hd++) {
            size_t pair = (size_t)b * NH + hd;
            gather(q, p->x.d + p->q, b, T, E, hd * DH, DH);
            gather(k, p->x.d + p->k, b, T, E, hd * DH, DH);
            gather(v, p->x.d + p->v, b, T, E, hd * DH, DH);
            gather(ig, p->x.d + p->ig, b, T, NH, hd, 1);
            gather(fg, p->x.d + p->fg, b, T, NH, hd, 1);
            if (parallel)
                ref_mlstm_parallel(hh, q, k, v, ig, fg, T, DH);
            else
                for (int t = 0; t < T; t++)
                    ref_mlstm_step(hh + (size_t)t * DH, st + pair * DH * DH, st + p->n + pair * DH, st + p->m + pair,
                                   q + (size_t)t * DH, k + (size_t)t * DH, v + (size_t)t * DH, ig[t], fg[t], DH);
            for (int t = 0; t < T; t++)
                memcpy(h + ((size_t)b * T + t) * E + hd * DH, hh + (size_t)t * DH, sizeof(double) * DH);
        }
    free(q), free(k), free(v), free(ig), free(fg), free(hh);
}

/* The library's h and final state against the reference's: h always, the state unless
 * st_got is NULL. */
static int mlstm_compare(const xlstm_real *h, const xlstm_real *st_got, const double *h_ref, const double *st_ref,
                         const mproblem *p, double tol, double *worst_seen, double err[4])
{
    err[0] = check_err(h, h_ref, (size_t)p->B * p->T * p->E);
    err[1] = st_got ? check_err(st_got, st_ref, p->n) : 0;
    err[2] = st_got ? check_err(st_got + p->n, st_ref + p->n, p->m - p->n) : 0;
    err[3] = st_got ? check_err(st_got + p->m, st_ref + p->m, p->s.n - p->m) : 0;
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= check_within(err[i], tol, worst_seen);
    return ok;
}

/* The largest errors seen, by path and regime (normal, or one of the extreme ones). */
enum { W_CHUNKWISE, W_PARALLEL, W_MSTEP, W_SFORWARD, W_SSTEP, WORSTS };
static double worst[WORSTS][2];
static double *worst_of(int path, int regime) { return &worst[path][regime != NORMAL]; }

static const int chunks[] = {1, 3, 16, 64, 128};

static void mlstm_chunkwise_case(int regime, int init)
{
    mproblem p = mproblem_new(2, 70, 3, 16, regime, init);
    size_t nh = (size_t)p.B * p.T * p.E;
    double *h_ref = ref_alloc(nh), *st_ref = ref_alloc(p.s.n);
    memcpy(st_ref, p.s.d, sizeof(double) * p.s.n);
    mlstm_reference(h_ref, st_ref, &p, 0);
    xlstm_real *h = calloc(nh, sizeof *h), *st = calloc(p.s.n, sizeof *st);
    for (size_t ic = 0; ic < sizeof chunks / sizeof *chunks; ic++)
        for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
            check_set_threads(check_threads[it]);
            memcpy(st, p.s.r, sizeof *st * p.s.n);
            int given = init != INIT_NULL;
            mlstm_cell_state s = {st, st + p.n, st + p.m};
            mlstm_form form = {0, chunks[ic]};
            CHECK(mlstm_cell_forward(h, NULL, mcell_in(&p), given ? &s : NULL, mcell_dims(&p), form, NULL) == 0, "%s",
                  xlstm_errmsg());
            double e[4];
            CHECK(mlstm_compare(h, given ? st : NULL, h_ref, st_ref, &p, tol_of(TOL_M, regime),
                                worst_of(W_CHUNKWISE, regime), e),
                  "%s, %s, chunk %d, %d threads: h %.2e C %.2e n %.2e m %.2e", regime_name[regime], init_name[init],
                  chunks[ic], check_threads[it], e[0], e[1], e[2], e[3]);
        }
    free(h), free(st), free(h_ref), free(st_ref), mproblem_free(&p);
}

static void test_mlstm_chunkwise(void)
{
    for (int regime = 0; regime < REGIMES; regime++)
        for (int init = 0; init < INITS; init++) mlstm_chunkwise_case(regime, init);
}

static void test_mlstm_parallel(void)
{
    for (int regime = 0; regime < REGIMES; regime++) {
        mproblem p = mproblem_new(2, 70, 3, 16, regime, INIT_NULL);
        size_t nh = (size_t)p.B * p.T * p.E;
        double *h_ref = ref_alloc(nh);
        mlstm_reference(h_ref, NULL, &p, 1);
        xlstm_real *h = calloc(nh, sizeof *h);
        for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
            check_set_threads(check_threads[it]);
            CHECK(mlstm_cell_forward(h, NULL, mcell_in(&p), NULL, mcell_dims(&p), (mlstm_form){1, 0}, NULL) == 0,
                  "%s", xlstm_errmsg());
            double e[4];
            CHECK(mlstm_compare(h, NULL, h_ref, NULL, &p, tol_of(TOL_M, regime), worst_of(W_PARALLEL, regime), e),
                  "%s, %d threads: h %.2e", regime_name[regime], check_threads[it], e[0]);
        }
        free(h), free(h_ref), mproblem_free(&p);
    }
}

/* T library steps (one token of every (b, head) pair a call) against the reference's. */
static void mlstm_step_case(int B, int T, int NH, int DH, int regime, int init)
{
    mproblem p = mproblem_new(B, T, NH, DH, regime, init);
    int E = p.E;
    size_t nh = (size_t)B * T * E;
    double *h_ref = ref_alloc(nh), *st_ref = ref_alloc(p.s.n);
    memcpy(st_ref, p.s.d, sizeof(double) * p.s.n);
    mlstm_reference(h_ref, st_ref, &p, 0);
    xlstm_real *h = calloc(nh, sizeof *h), *st = calloc(p.s.n, sizeof *st);
    xlstm_real *tok = calloc((size_t)B * (4 * E + 2 * NH), sizeof *tok); /* one token: q, k, v, h, ig, fg */
    xlstm_real *q = tok, *k = q + B * E, *v = k + B * E, *ht = v + B * E, *ig = ht + B * E, *fg = ig + B * NH;
    for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
        check_set_threads(check_threads[it]);
        memcpy(st, p.s.r, sizeof *st * p.s.n);
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                size_t row = (size_t)b * T + t;
                memcpy(q + b * E, p.x.r + p.q + row * E, sizeof *q * E);
                memcpy(k + b * E, p.x.r + p.k + row * E, sizeof *k * E);
                memcpy(v + b * E, p.x.r + p.v + row * E, sizeof *v * E);
                memcpy(ig + b * NH, p.x.r + p.ig + row * NH, sizeof *ig * NH);
                memcpy(fg + b * NH, p.x.r + p.fg + row * NH, sizeof *fg * NH);
            }
            mlstm_cell_step(ht, (mlstm_cell_state){st, st + p.n, st + p.m}, (mlstm_cell_in){q, k, v, ig, fg},
                            (mlstm_cell_dims){B, 1, NH, DH, DH});
            for (int b = 0; b < B; b++) memcpy(h + ((size_t)b * T + t) * E, ht + b * E, sizeof *h * E);
        }
        double e[4];
        CHECK(mlstm_compare(h, st, h_ref, st_ref, &p, tol_of(TOL_M, regime), worst_of(W_MSTEP, regime), e),
              "B %d NH %d DH %d, %s, %s, %d threads: h %.2e C %.2e n %.2e m %.2e", B, NH, DH, regime_name[regime],
              init_name[init], check_threads[it], e[0], e[1], e[2], e[3]);
    }
    free(h), free(st), free(tok), free(h_ref), free(st_ref), mproblem_free(&p);
}

static void test_mlstm_step(void)
{
    for (int regime = 0; regime < REGIMES; regime++)
        for (int init = INIT_ZERO; init < INITS; init++) {
            mlstm_step_case(2, 70, 3, 16, regime, init);
            mlstm_step_case(3, 12, 2, 128, regime, init); /* 6 pairs of 128^2: the pairs run threaded */
        }
}

/* ================================================================ sLSTM */

typedef struct {
    int B, T, NH, DH, D;
    twin x;                      /* Wx [B, T, 4D] (gate, head, unit), R [NH, 4DH, DH], bias [4D] */
    twin s;                      /* initial state [4, B, D] (h, c, n, m); zeros unless random */
    size_t R, bias;              /* offsets into x */
} sproblem;

/* regime EXTREME: the i and f gate inputs +/-50, z and o normal (so that the output is not
 * just saturated). A random state is a reachable one: n in [0.5, 2], |c| < n, |h| < 1. */
static sproblem sproblem_new(int B, int T, int NH, int DH, int regime, int init)
{
    sproblem p = {B, T, NH, DH, NH * DH, {0}, {0}, 0, 0};
    size_t D = (size_t)p.D, nwx = (size_t)B * T * 4 * D;
    p.R = nwx, p.bias = nwx + (size_t)NH * 4 * DH * DH;
    p.x = twin_new(p.bias + 4 * D);
    twin_normal(&p.x, 0, nwx, 0, 1, &rng);
    for (size_t row = 0; regime == EXTREME && row < (size_t)B * T; row++) twin_extreme(&p.x, row * 4 * D, 2 * D, &rng);
    twin_normal(&p.x, p.R, p.bias - p.R, 0, 1 / sqrt(DH), &rng);
    twin_normal(&p.x, p.bias, 4 * D, 0, 1, &rng);
    size_t BD = (size_t)B * D;
    p.s = twin_new(4 * BD);
    for (size_t i = 0; init == INIT_RANDOM && i < BD; i++) {
        double n0 = 0.5 + 1.5 * rng_uniform(&rng);
        double values[4] = {2 * rng_uniform(&rng) - 1, n0 * (2 * rng_uniform(&rng) - 1), n0, rng_normal(&rng)};
        for (int c = 0; c < 4; c++) {
            p.s.r[c * BD + i] = (xlstm_real)values[c];
            p.s.d[c * BD + i] = p.s.r[c * BD + i];
        }
    }
    return p;
}

static void sproblem_free(sproblem *p) { twin_free(&p->x), twin_free(&p->s); }

/* The reference: h [B, T, D]; st (a copy of the initial state [4, B, D]) becomes the final one. */
static void slstm_reference(double *h, double *st, const sproblem *p)
{
    size_t D = (size_t)p->D, BD = (size_t)p->B * D;
    double *cell = ref_alloc(4 * D);
    for (int b = 0; b < p->B; b++) {
        for (int c = 0; c < 4; c++) memcpy(cell + c * D, st + c * BD + b * D, sizeof(double) * D);
        for (int t = 0; t < p->T; t++) {
            size_t row = (size_t)b * p->T + t;
            ref_slstm_step(cell, p->x.d + row * 4 * D, p->x.d + p->R, p->x.d + p->bias, p->NH, p->DH);
            memcpy(h + row * D, cell, sizeof(double) * D);
        }
        for (int c = 0; c < 4; c++) memcpy(st + c * BD + b * D, cell + c * D, sizeof(double) * D);
    }
    free(cell);
}

/* how the library runs the sequence: slstm_cell_forward without or with saved values, or steps */
enum { SEQ_PLAIN, SEQ_SAVED, SEQ_STEPS };
static const char *seq_name[] = {"forward", "forward with saved", "steps"};

static void slstm_run(xlstm_real *h, xlstm_real *st, const sproblem *p, int how, int init)
{
    int B = p->B, T = p->T, D = p->D;
    const xlstm_real *Wx = p->x.r, *R = p->x.r + p->R, *bias = p->x.r + p->bias;
    memcpy(st, p->s.r, sizeof *st * p->s.n);
    if (how != SEQ_STEPS) {
        xlstm_real *saved = how == SEQ_SAVED ? calloc(slstm_cell_saved_floats(B, T, D), sizeof *saved) : NULL;
        CHECK(slstm_cell_forward(h, saved, Wx, R, bias, init == INIT_NULL ? NULL : st, B, T, p->NH, p->DH, NULL) == 0,
              "%s", xlstm_errmsg());
        free(saved);
        return;
    }
    xlstm_real *work = calloc((size_t)B * 4 * D, sizeof *work), *wx = calloc((size_t)B * 4 * D, sizeof *wx);
    xlstm_real *ht = calloc((size_t)B * D, sizeof *ht);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++)
            memcpy(wx + (size_t)b * 4 * D, Wx + ((size_t)b * T + t) * 4 * D, sizeof *wx * 4 * D);
        slstm_cell_step(ht, st, work, wx, R, bias, B, p->NH, p->DH, NULL);
        for (int b = 0; b < B; b++) memcpy(h + ((size_t)b * T + t) * D, ht + (size_t)b * D, sizeof *h * D);
    }
    free(work), free(wx), free(ht);
}

static void slstm_case(int B, int T, int NH, int DH, int regime, int init, int how)
{
    sproblem p = sproblem_new(B, T, NH, DH, regime, init);
    size_t nh = (size_t)B * T * p.D;
    double *h_ref = ref_alloc(nh), *st_ref = ref_alloc(p.s.n);
    memcpy(st_ref, p.s.d, sizeof(double) * p.s.n);
    slstm_reference(h_ref, st_ref, &p);
    xlstm_real *h = calloc(nh, sizeof *h), *st = calloc(p.s.n, sizeof *st);
    double *seen = worst_of(how == SEQ_STEPS ? W_SSTEP : W_SFORWARD, regime);
    for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
        check_set_threads(check_threads[it]);
        slstm_run(h, st, &p, how, init);
        /* the forward returns no final state when it starts from none */
        int with_state = how == SEQ_STEPS || init != INIT_NULL;
        double eh = check_err(h, h_ref, nh), es[4] = {0};
        for (int c = 0; with_state && c < 4; c++)
            es[c] = check_err(st + c * p.s.n / 4, st_ref + c * p.s.n / 4, p.s.n / 4);
        int ok = check_within(eh, tol_of(TOL_S, regime), seen);
        for (int c = 0; c < 4; c++) ok &= check_within(es[c], tol_of(TOL_S, regime), seen);
        CHECK(ok, "B %d NH %d DH %d, %s, %s, %s, %d threads: h %.2e, state h %.2e c %.2e n %.2e m %.2e", B, NH, DH,
              regime_name[regime], init_name[init], seq_name[how], check_threads[it], eh, es[0], es[1], es[2], es[3]);
    }
    free(h), free(st), free(h_ref), free(st_ref), sproblem_free(&p);
}

/* sizes: small (one thread), and 2 x 40 x 256 state elements (above SLSTM_PAR_ELEMS: heads on
 * threads) whose step products (B NH 4 DH^2 = 131072 multiply-adds) run threaded */
static const int ssizes[2][4] = {{2, 30, 2, 8}, {2, 40, 4, 64}};

static void test_slstm_forward(void)
{
    for (int sz = 0; sz < 2; sz++)
        for (int regime = NORMAL; regime <= EXTREME; regime++)
            for (int init = 0; init < INITS; init++)
                for (int how = SEQ_PLAIN; how <= SEQ_SAVED; how++)
                    slstm_case(ssizes[sz][0], ssizes[sz][1], ssizes[sz][2], ssizes[sz][3], regime, init, how);
}

static void test_slstm_step(void)
{
    for (int sz = 0; sz < 2; sz++)
        for (int regime = NORMAL; regime <= EXTREME; regime++)
            for (int init = INIT_ZERO; init < INITS; init++)
                slstm_case(ssizes[sz][0], ssizes[sz][1], ssizes[sz][2], ssizes[sz][3], regime, init, SEQ_STEPS);
}

int main(void)
{
    RUN(test_mlstm_chunkwise);
    RUN(test_mlstm_parallel);
    RUN(test_mlstm_step);
    RUN(test_slstm_forward);
    RUN(test_slstm_step);
    static const char *path[WORSTS] = {"mLSTM chunkwise", "mLSTM parallel", "mLSTM step", "sLSTM forward",
                                       "sLSTM step"};
    for (int i = 0; i < WORSTS; i++) {
        const double *tol = i < W_SFORWARD ? TOL_M : TOL_S;
        printf("  %s: worst error %.2e normal (bound %.0e), %.2e extreme (bound %.0e)\n", path[i], worst[i][0], tol[0],
               worst[i][1], tol[1]);
    }
    TEST_EXIT();
}
