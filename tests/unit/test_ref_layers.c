/* test_ref_layers.c — the layers' fast paths against the naive reference (tests/reference),
 * run per sequence:
 *  - the mLSTM layer (with biases) from a fresh state in the parallel form and chunkwise with
 *    chunk 1, 3, 16, 64 (T = 40); and with a carried state: a prompt in two pieces through the
 *    chunkwise form (chunks 16 and 3), then single tokens through the recurrent step;
 *  - the sLSTM layer from a fresh state, and with a carried state likewise (two pieces, then
 *    single tokens: at B = 1 the step's batched products, at B = 2 a sequence of one);
 *  - the gated feed-forward;
 * outputs and final states (conv history and cell), at 1, 2 and 3 threads, in sizes above the
 * thresholds where the row passes, the heads and the batch-1 products run threaded; with normal
 * gates and with the input and forget gate pre-activations around +/-50 (biases +/-50, and
 * gate weights large enough that the data moves the gates by tens). Built in float (this
 * file) and double (test_ref_layers_f64.c), with the tolerances below. */
#include <stdlib.h>
#include <string.h>

#include "models/xlstm/layers.h"
#include "ref_check.h"
#include "test.h"

/* Errors: max |library - reference| / max |reference| per tensor (ref_check.h); bounds by
 * layer (mLSTM, sLSTM, feed-forward) and regime (normal, +/-50).
 * Double: sums in other orders only: measured <= 4e-15 normal; with +/-50, log-space exponents
 * of ~1e3 in size round at 1e3 * 2^-52 absolute, a relative error of that size in the decay
 * factors: measured 3e-14 (mLSTM), 1.4e-14 (sLSTM).
 * Float: products over D = 128 .. 256 terms, norms and the cells, each rounding at 2^-24 =
 * 6e-8: measured 2.1e-6 (mLSTM), 4.3e-7 (sLSTM), 7.4e-7 (feed-forward). With +/-50 the
 * exponents round at ~1e3 * 6e-8 in the mLSTM's chunkwise and parallel forms (see
 * test_ref_cells.c) and ~1e2 * 6e-8 in the sLSTM's stabilizer: measured 1.1e-5 and 8.3e-6. */
#ifdef XLSTM_DOUBLE
static const double TOL[3][2] = {{1e-13, 2e-13}, {1e-13, 2e-13}, {1e-13, 0}};
#else
static const double TOL[3][2] = {{1e-5, 5e-5}, {2e-6, 3e-5}, {3e-6, 0}};
#endif

static xrng rng = {{5, 6, 7, 8}};

enum { NORMAL, EXTREME };
static const char *regime_name[2] = {"normal", "+/-50"};
static double worst[3][2]; /* mLSTM, sLSTM, FFN by regime */

/* A buffer of weights in both precisions, handed out in order. */
typedef struct {
    twin t;
    size_t used;
} weights;

static size_t take(weights *w, size_t n, double mean, double sd)
{
    size_t off = w->used;
    if (off + n > w->t.n) abort(); /* a size formula below is wrong */
    twin_normal(&w->t, off, n, mean, sd, &rng);
    w->used += n;
    return off;
}

/* Field f of the library's weights lw and of the reference's rw: the next n values of wb. */
#define BIND(f, n, mean, sd)                         \
    do {                                             \
        size_t o_ = take(&wb, (n), (mean), (sd));    \
        lw.f = wb.t.r + o_;                          \
        rw.f = wb.t.d + o_;                          \
    } while (0)

/* Gate biases: i and f at +/-50 in the extreme regime. */
static void make_extreme(weights *wb, size_t off, size_t n) { twin_extreme(&wb->t, off, n, &rng); }

/* buf = a buffer that `call` (a bind into the arena *ar) fills: measured first, then bound. */
#define ARENA_BIND(buf, call)                                              \
    do {                                                                   \
        arena ar_ = {NULL, 0}, *ar = &ar_;                                 \
        call;                                                              \
        (buf) = xlstm_alloc(ar_.used, sizeof(xlstm_real), "test buffers"); \
        ar_.base = (buf), ar_.used = 0;                                    \
        call;                                                              \
    } while (0)

/* Rows [t0, t1) of every sequence of x [B, T, F] into out [B, t1 - t0, F]. */
static void rows(xlstm_real *out, const xlstm_real *x, int B, int T, int F, int t0, int t1)
{
    for (int b = 0; b < B; b++)
        memcpy(out + (size_t)b * (t1 - t0) * F, x + ((size_t)b * T + t0) * F, sizeof *out * (t1 - t0) * F);
}

/* The error of rows [t0, t1) of the library's y [B, t1 - t0, D] against the reference's
 * y_ref [B, T, D]: the largest over the sequences. */
static double rows_err(const xlstm_real *y, const double *y_ref, int B, int T, int D, int t0, int t1)
{
    double e = 0;
    for (int b = 0; b < B; b++) {
        size_t n = (size_t)(t1 - t0) * D;
        e = fmax(e, check_err(y + b * n, y_ref + ((size_t)b * T + t0) * D, n));
    }
    return e;
}

/* ================================================================ mLSTM layer */

typedef struct {
    mlstm_dims d;
    mlstm_weights lw;
    ref_mlstm_layer rw;
    weights wb;
} mlayer;

static mlayer mlayer_new(int regime)
{
    mlayer L;
    mlstm_dims d = {128, 256, 4, 64, 4, 4, 1};
    int D = d.D, E = d.E, NH = d.NH;
    size_t nw = (size_t)E / d.bs * d.bs * d.bs;
    L.d = d;
    L.wb.t = twin_new((size_t)2 * E * D + 2 * E + 3 * (nw + E) + (size_t)E * (d.K + 1) + 2 * (NH * 3 * E + NH) +
                      2 * E + (size_t)D * E + D);
    L.wb.used = 0;
    mlstm_weights lw = {0};
    ref_mlstm_layer rw = {.D = D, .E = E, .NH = NH, .K = d.K, .bs = d.bs};
    weights wb = L.wb;
    BIND(proj_up_w, 2 * E * D, 0, 1 / sqrt(D));
    BIND(proj_up_b, 2 * E, 0, 0.1);
    BIND(q_w, nw, 0, 0.5);
    BIND(q_b, E, 0, 0.1);
    BIND(k_w, nw, 0, 0.5);
    BIND(k_b, E, 0, 0.1);
    BIND(v_w, nw, 0, 0.5);
    BIND(v_b, E, 0, 0.1);
    BIND(conv_w, E * d.K, 0, 0.5);
    BIND(conv_b, E, 0, 0.1);
    double gate_sd = regime == EXTREME ? 2 : 0.02; /* extreme: the data's share of a gate is itself ~+/-30 */
    BIND(igate_w, NH * 3 * E, 0, gate_sd);
    BIND(igate_b, NH, 0, 1);
    if (regime == EXTREME) make_extreme(&wb, (size_t)(lw.igate_b - wb.t.r), NH);
    BIND(fgate_w, NH * 3 * E, 0, gate_sd);
    BIND(fgate_b, NH, 3, 1);
    if (regime == EXTREME) make_extreme(&wb, (size_t)(lw.fgate_b - wb.t.r), NH);
    BIND(outnorm_w, E, 0, 0.2);
    BIND(skip, E, 1, 0.2);
    BIND(proj_down_w, D * E, 0, 1 / sqrt(E));
    BIND(proj_down_b, D, 0, 0.1);
    L.lw = lw, L.rw = rw, L.wb = wb;
    return L;
}

/* y [B, T, D] of the library's layer on x [B, T, D], from state (NULL: fresh). */
static void mlstm_run(xlstm_real *y, const xlstm_real *x, const mlayer *L, int B, int T, mlstm_form form,
                      mlstm_state *state)
{
    mlstm_acts a;
    xlstm_real *buf;
    int threads = check_threads[CHECK_THREAD_COUNTS - 1];
    ARENA_BIND(buf, mlstm_acts_bind(&a, ar, L->d, B, T, form, ACTS_INFERENCE, NULL, threads));
    CHECK(mlstm_layer_forward(y, x, &L->lw, &a, L->d, B, T, form, state) == 0, "%s", xlstm_errmsg());
    xlstm_free(buf);
}

/* The library's state of sequence b against the reference's. */
static double mlstm_state_err(const mlstm_state *s, const ref_mlstm_state *r, mlstm_dims d, int b)
{
    size_t nh = (size_t)(d.K - 1) * d.E, nC = (size_t)d.NH * d.DH * d.DH, nn = (size_t)d.NH * d.DH, nm = d.NH;
    double e = check_err(s->conv_hist + b * nh, r->hist, nh);
    e = fmax(e, check_err(s->cell.C + b * nC, r->C, nC));
    e = fmax(e, check_err(s->cell.n + b * nn, r->n, nn));
    return fmax(e, check_err(s->cell.m + b * nm, r->m, nm));
}

static void test_mlstm_layer(void)
{
    enum { B = 2, T = 40, STEPS = 3, TT = T + STEPS };
    for (int regime = NORMAL; regime <= EXTREME; regime++) {
        mlayer L = mlayer_new(regime);
        int D = L.d.D;
        twin x = twin_new((size_t)B * TT * D);
        twin_normal(&x, 0, x.n, 0, 1, &rng);
        /* the reference per sequence: the parallel form over T, recurrent steps over all TT */
        double *y_par = ref_alloc((size_t)B * T * D), *y_rec = ref_alloc((size_t)B * TT * D);
        ref_mlstm_state rs[B];
        for (int b = 0; b < B; b++) {
            ref_mlstm_state fresh = ref_mlstm_state_new(&L.rw);
            ref_mlstm_layer_forward(y_par + (size_t)b * T * D, x.d + (size_t)b * TT * D, T, &L.rw, &fresh, 1);
            ref_mlstm_state_free(&fresh);
            rs[b] = ref_mlstm_state_new(&L.rw);
            ref_mlstm_layer_forward(y_rec + (size_t)b * TT * D, x.d + (size_t)b * TT * D, TT, &L.rw, &rs[b], 0);
        }
        xlstm_real *xs = calloc((size_t)B * TT * D, sizeof *xs), *y = calloc((size_t)B * TT * D, sizeof *y);
        double *seen = &worst[0][regime];
        for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
            check_set_threads(check_threads[it]);
            /* fresh: the parallel form, then chunkwise */
            static const int chunks[] = {0, 1, 3, 16, 64};
            rows(xs, x.r, B, TT, D, 0, T);
            for (size_t ic = 0; ic < sizeof chunks / sizeof *chunks; ic++) {
                mlstm_form form = {chunks[ic] == 0, chunks[ic] ? chunks[ic] : 1};
                mlstm_run(y, xs, &L, B, T, form, NULL);
                double e = rows_err(y, form.parallel ? y_par : y_rec, B, form.parallel ? T : TT, D, 0, T);
                CHECK(check_within(e, TOL[0][regime], seen), "%s, %d threads, %s %d: y %.2e", regime_name[regime],
                      check_threads[it], form.parallel ? "parallel" : "chunk", chunks[ic], e);
            }
            /* a carried state: pieces [0, 25) and [25, T) chunkwise, then single tokens */
            mlstm_state s;
            xlstm_real *sbuf;
            ARENA_BIND(sbuf, mlstm_state_bind(&s, ar, L.d, B));
            const int cuts[] = {0, 25, T, T + 1, T + 2, TT}, piece_chunk[] = {16, 3, 1, 1, 1};
            for (int p = 0; p < 5; p++) {
                int t0 = cuts[p], t1 = cuts[p + 1];
                mlstm_form form = {0, piece_chunk[p]};
                rows(xs, x.r, B, TT, D, t0, t1);
                mlstm_run(y, xs, &L, B, t1 - t0, form, &s);
                double e = rows_err(y, y_rec, B, TT, D, t0, t1);
                CHECK(check_within(e, TOL[0][regime], seen), "%s, %d threads, state, rows %d-%d: y %.2e",
                      regime_name[regime], check_threads[it], t0, t1, e);
            }
            for (int b = 0; b < B; b++) {
                double e = mlstm_state_err(&s, &rs[b], L.d, b);
                CHECK(check_within(e, TOL[0][regime], seen), "%s, %d threads: final state of sequence %d: %.2e",
                      regime_name[regime], check_threads[it], b, e);
            }
            xlstm_free(sbuf);
        }
        for (int b = 0; b < B; b++) ref_mlstm_state_free(&rs[b]);
        free(xs), free(y), free(y_par), free(y_rec), twin_free(&x), twin_free(&L.wb.t);
    }
}

/* ================================================================ sLSTM layer */

typedef struct {
    slstm_dims d;
    slstm_weights lw;
    ref_slstm_layer rw;
    weights wb;
} slayer;

static slayer slayer_new(int regime)
{
    slayer L;
    slstm_dims d = {256, 4, 64, 4};
    int D = d.D, DH = d.DH;
    size_t nh = (size_t)d.NH * DH * DH;
    L.d = d;
    L.wb.t = twin_new((size_t)D * (d.K + 1) + 8 * nh + 4 * (size_t)D + D);
    L.wb.used = 0;
    slstm_weights lw = {0};
    ref_slstm_layer rw = {.D = D, .NH = d.NH, .K = d.K};
    weights wb = L.wb;
    BIND(conv_w, D * d.K, 0, 0.5);
    BIND(conv_b, D, 0, 0.1);
    double gate_sd = regime == EXTREME ? 4 : 1 / sqrt(DH); /* extreme: the data's share of i, f is ~+/-15 */
    BIND(fgate_w, nh, 0, gate_sd); /* feeds the input gate */
    BIND(igate_w, nh, 0, gate_sd); /* feeds the forget gate */
    BIND(zgate_w, nh, 0, 1 / sqrt(DH));
    BIND(ogate_w, nh, 0, 1 / sqrt(DH));
    BIND(R, 4 * nh, 0, 1 / sqrt(DH));
    BIND(bias, 4 * D, 0, 1);
    if (regime == EXTREME) make_extreme(&wb, (size_t)(lw.bias - wb.t.r), 2 * (size_t)D); /* i and f */
    BIND(gn_w, D, 0, 0.2);
    L.lw = lw, L.rw = rw, L.wb = wb;
    return L;
}

static void slstm_run(xlstm_real *y, const xlstm_real *x, const slayer *L, int B, int T, slstm_state *state)
{
    slstm_acts a;
    xlstm_real *buf;
    ARENA_BIND(buf, slstm_acts_bind(&a, ar, L->d, B, T, ACTS_INFERENCE));
    CHECK(slstm_layer_forward(y, x, &L->lw, &a, L->d, B, T, state) == 0, "%s", xlstm_errmsg());
    xlstm_free(buf);
}

static double slstm_state_err(const slstm_state *s, const ref_slstm_state *r, slstm_dims d, int B, int b)
{
    size_t nh = (size_t)(d.K - 1) * d.D, BD = (size_t)B * d.D;
    double e = check_err(s->conv_hist + b * nh, r->hist, nh);
    for (int c = 0; c < 4; c++) e = fmax(e, check_err(s->cell + c * BD + (size_t)b * d.D, r->cell + c * d.D, d.D));
    return e;
}

/* B sequences: fresh over T, and with a carried state in pieces [0, 25), [25, T) and three
 * single tokens. */
static void slstm_layer_case(int regime, int B)
{
    enum { T = 40, STEPS = 3, TT = T + STEPS };
    slayer L = slayer_new(regime);
    int D = L.d.D;
    twin x = twin_new((size_t)B * TT * D);
    twin_normal(&x, 0, x.n, 0, 1, &rng);
    double *y_ref = ref_alloc((size_t)B * TT * D);
    ref_slstm_state *rs = calloc((size_t)B, sizeof *rs);
    for (int b = 0; b < B; b++) {
        rs[b] = ref_slstm_state_new(&L.rw);
        ref_slstm_layer_forward(y_ref + (size_t)b * TT * D, x.d + (size_t)b * TT * D, TT, &L.rw, &rs[b]);
    }
    xlstm_real *xs = calloc((size_t)B * TT * D, sizeof *xs), *y = calloc((size_t)B * TT * D, sizeof *y);
    double *seen = &worst[1][regime];
    for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
        check_set_threads(check_threads[it]);
        rows(xs, x.r, B, TT, D, 0, T);
        slstm_run(y, xs, &L, B, T, NULL);
        double e = rows_err(y, y_ref, B, TT, D, 0, T);
        CHECK(check_within(e, TOL[1][regime], seen), "%s, B %d, %d threads, fresh: y %.2e", regime_name[regime], B,
              check_threads[it], e);
        slstm_state s;
        xlstm_real *sbuf;
        ARENA_BIND(sbuf, slstm_state_bind(&s, ar, L.d, B));
        const int cuts[] = {0, 25, T, T + 1, T + 2, TT};
        for (int p = 0; p < 5; p++) {
            rows(xs, x.r, B, TT, D, cuts[p], cuts[p + 1]);
            slstm_run(y, xs, &L, B, cuts[p + 1] - cuts[p], &s);
            e = rows_err(y, y_ref, B, TT, D, cuts[p], cuts[p + 1]);
            CHECK(check_within(e, TOL[1][regime], seen), "%s, B %d, %d threads, state, rows %d-%d: y %.2e",
                  regime_name[regime], B, check_threads[it], cuts[p], cuts[p + 1], e);
        }
        for (int b = 0; b < B; b++) {
            e = slstm_state_err(&s, &rs[b], L.d, B, b);
            CHECK(check_within(e, TOL[1][regime], seen), "%s, B %d, %d threads: final state of sequence %d: %.2e",
                  regime_name[regime], B, check_threads[it], b, e);
        }
        xlstm_free(sbuf);
    }
    for (int b = 0; b < B; b++) ref_slstm_state_free(&rs[b]);
    free(rs), free(xs), free(y), free(y_ref), twin_free(&x), twin_free(&L.wb.t);
}

static void test_slstm_layer(void)
{
    for (int regime = NORMAL; regime <= EXTREME; regime++)
        for (int B = 1; B <= 2; B++) slstm_layer_case(regime, B);
}

/* ================================================================ feed-forward */

static void test_ffn(void)
{
    enum { N = 80 };
    ffn_dims d = {128, 192, XLSTM_ACT_GELU, 1};
    weights wb = {twin_new((size_t)2 * d.F * d.D + 2 * d.F + (size_t)d.D * d.F + d.D), 0};
    ffn_weights lw = {0};
    ref_ffn rw = {.D = d.D, .F = d.F};
    BIND(up_w, 2 * d.F * d.D, 0, 1 / sqrt(d.D));
    BIND(up_b, 2 * d.F, 0, 0.1);
    BIND(down_w, d.D * d.F, 0, 1 / sqrt(d.F));
    BIND(down_b, d.D, 0, 0.1);
    twin x = twin_new((size_t)N * d.D);
    twin_normal(&x, 0, x.n, 0, 1, &rng);
    double *y_ref = ref_alloc((size_t)N * d.D);
    ref_ffn_forward(y_ref, x.d, N, &rw);
    xlstm_real *y = calloc((size_t)N * d.D, sizeof *y), *buf;
    ffn_acts a;
    ARENA_BIND(buf, ffn_acts_bind(&a, ar, d, N));
    for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
        check_set_threads(check_threads[it]);
        ffn_forward(y, x.r, &lw, &a, d, N);
        double e = check_err(y, y_ref, (size_t)N * d.D);
        CHECK(check_within(e, TOL[2][NORMAL], &worst[2][NORMAL]), "%d threads: y %.2e", check_threads[it], e);
    }
    xlstm_free(buf), free(y), free(y_ref), twin_free(&x), twin_free(&wb.t);
}

int main(void)
{
    RUN(test_mlstm_layer);
    RUN(test_slstm_layer);
    RUN(test_ffn);
    static const char *what[2] = {"mLSTM layer", "sLSTM layer"};
    for (int i = 0; i < 2; i++)
        printf("  %s: worst error %.2e normal (bound %.0e), %.2e with +/-50 gates (bound %.0e)\n", what[i],
               worst[i][0], TOL[i][0], worst[i][1], TOL[i][1]);
    printf("  feed-forward: worst error %.2e (bound %.0e)\n", worst[2][0], TOL[2][0]);
    TEST_EXIT();
}
