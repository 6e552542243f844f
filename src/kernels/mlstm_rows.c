/* mlstm_rows.c — the mLSTM layer's fused passes over rows (mlstm_rows.h). */
#include "mlstm_rows.h"

#include <string.h>

#include "matmul.h"
#include "ops.h"
#include "split.h"
#include "tuning.h"

/* The weight gradients' per-thread partial sums: those of the output's backward, then (in the
 * same buffer) those of the q/k/v and gates' backward, each gate pair adjacent. */
enum { SUM_SKIP, SUM_NORM, OUT_SUMS };
enum { SUM_Q_W, SUM_Q_B, SUM_K_W, SUM_K_B, SUM_V_W, SUM_V_B, SUM_IGATE_W, SUM_FGATE_W, SUM_IGATE_B, SUM_FGATE_B,
       QKV_SUMS };

static size_t out_sums(thread_sums *s, const mlstm_rows_acts *g, mlstm_rows_dims d)
{
    size_t sizes[OUT_SUMS] = {d.E, d.E};
    return thread_sums_init(s, g ? g->partial : NULL, g ? g->threads : 1, sizes, OUT_SUMS);
}

static size_t qkv_sums(thread_sums *s, const mlstm_rows_acts *g, mlstm_rows_dims d)
{
    size_t nw = (size_t)(d.E / d.bs) * d.bs * d.bs, ngw = (size_t)d.NH * 3 * d.E,
           sizes[QKV_SUMS] = {nw, d.E, nw, d.E, nw, d.E, ngw, ngw, d.NH, d.NH};
    return thread_sums_init(s, g ? g->partial : NULL, g ? g->threads : 1, sizes, QKV_SUMS);
}

size_t mlstm_rows_partial_floats(mlstm_rows_dims d)
{
    thread_sums s;
    size_t out = out_sums(&s, NULL, d), qkv = qkv_sums(&s, NULL, d);
    return out > qkv ? out : qkv;
}

/* ---- the input and forget gates. They read concat(q, k, v) [3E] through W [NH, 3E]: a
 * product with 2 NH output columns, which BLAS would run as a pass over all of q, k and v of
 * its own (and another for each gate's backward). Here each row's gates are done inside the
 * row passes, while the row's q, k, v are in cache. Gate row j of [2, NH] is (j / NH, j % NH):
 * the input gates, then the forget gates. */

/* Gate row j for row n: ig or fg [n, j % NH] = concat(q, k, v) W[j % NH, :]^T + b. */
static void gate_value(const mlstm_rows_weights *w, const mlstm_rows_acts *a, mlstm_rows_dims d, int n, int j)
{
    size_t r = (size_t)n * d.E;
    const real *qkv[3] = {a->q + r, a->k + r, a->v + r};
    int gate = j / d.NH, h = j % d.NH;
    const real *wh = w->gate_w[gate] + (size_t)h * 3 * d.E;
    real s = 0;
    for (int p = 0; p < 3; p++) s += dot_product(wh + (size_t)p * d.E, qkv[p], d.E);
    (gate ? a->fg : a->ig)[(size_t)n * d.NH + h] = s + w->gate_b[gate][h];
}

/* Rows [n0, n1) of the gates' backward: dq, dk, dv (rows of g) += dgates W, and into this
 * thread's partial sums dW [2, NH, 3E] += dgates^T concat(q, k, v), db [2, NH] += dgates. */
static void gates_rows_backward(real *dW, real *db, const mlstm_rows_weights *w, const mlstm_rows_acts *a,
                                const mlstm_rows_acts *g, mlstm_rows_dims d, int n0, int n1)
{
    size_t E = (size_t)d.E, E3 = 3 * E;
    const real *dgate[2] = {g->ig, g->fg}, *qkv[3] = {a->q, a->k, a->v};
    real *dqkv[3] = {g->q, g->k, g->v};
    for (int j = 0; j < 2 * d.NH; j++) {
        int gate = j / d.NH, h = j % d.NH;
        for (int n = n0; n < n1; n++) {
            real dz = dgate[gate][(size_t)n * d.NH + h];
            for (int p = 0; p < 3; p++) axpy(dqkv[p] + n * E, dz, w->gate_w[gate] + h * E3 + p * E, d.E);
            db[j] += dz;
        }
        for (int p = 0; p < 3; p++)
            for (int n = n0; n < n1; n++)
                axpy(dW + j * E3 + p * E, dgate[gate][(size_t)n * d.NH + h], qkv[p] + n * E, d.E);
    }
}

/* ---- the conv, SiLU and the q, k, v maps */

/* x = SiLU(x) over n values, and SiLU'(x) into dx unless it is NULL. */
AVX2_CLONES static void silu_slice(real *restrict x, real *restrict dx, int n)
{
    if (dx)
        for (int e = 0; e < n; e++) {
            real c = x[e], s = sigmoid_r(c);
            x[e] = c * s;
            dx[e] = s * (1 + c * (1 - s)); /* silu_grad_r, from the same sigmoid */
        }
    else
        for (int e = 0; e < n; e++) x[e] = silu_r(x[e]);
}

/* The q, k, v maps' weights for a pass over rows: as stored, or (with rows enough to repay
 * it) transposed per block into wt [3, E, bs] for headwise_row_forward_t. */
typedef struct {
    const real *W[3]; /* q, k, v */
    int transposed;
} qkv_maps;

static qkv_maps qkv_maps_make(real *wt, const mlstm_rows_weights *w, mlstm_rows_dims d, int N)
{
    size_t per = (size_t)d.E * d.bs;
    qkv_maps m = {{w->qkv_w[0], w->qkv_w[1], w->qkv_w[2]}, N > 1}; /* batch-1 steps: the transposition would
                                                                     * cost more than it saves */
    for (int i = 0; m.transposed && i < 3; i++) {
        headwise_transpose(wt + i * per, w->qkv_w[i], d.E / d.bs, d.bs, d.bs);
        m.W[i] = wt + i * per;
    }
    return m;
}

/* Blocks [b0, b1) of map i (0 q, 1 k, 2 v) of the row x into the row y. */
static void qkv_map_slice(real *y, const real *x, const qkv_maps *m, int i, const mlstm_rows_weights *w,
                          mlstm_rows_dims d, int b0, int b1)
{
    size_t c0 = (size_t)b0 * d.bs, w0 = c0 * d.bs;
    const real *b = w->qkv_b[i] ? w->qkv_b[i] + c0 : NULL;
    if (m->transposed)
        headwise_row_forward_t(y + c0, x + c0, m->W[i] + w0, b, b1 - b0, d.bs, d.bs);
    else
        headwise_row_forward(y + c0, x + c0, m->W[i] + w0, b, b1 - b0, d.bs, d.bs);
}

/* The q/k/v blocks [b0, b1) of row n (channels [b0 bs, b1 bs)): x_c = SiLU(conv(x_m)), q and
 * k from x_c, and with with_v also v from x_m; conv history hist may be NULL. With dconv not
 * NULL (the backward's recomputation) SiLU'(conv) goes there. */
static void conv_qkv_slice(real *dconv, const real *hist, const qkv_maps *maps, const mlstm_rows_weights *w,
                           const mlstm_rows_acts *a, mlstm_rows_dims d, int n, int b0, int b1, int with_v)
{
    int E = d.E, c0 = b0 * d.bs, c1 = b1 * d.bs;
    size_t r = (size_t)n * E;
    real *xc = a->x_c + r;
    causal_conv_row(xc, a->x_m, hist, w->conv_w, w->conv_b, n, d.T, E, d.K, c0, c1);
    silu_slice(xc + c0, dconv ? dconv + r + c0 : NULL, c1 - c0);
    qkv_map_slice(a->q + r, xc, maps, 0, w, d, b0, b1);
    qkv_map_slice(a->k + r, xc, maps, 1, w, d, b0, b1);
    if (with_v) qkv_map_slice(a->v + r, a->x_m + r, maps, 2, w, d, b0, b1);
}

void mlstm_rows_qkv_forward(const mlstm_rows_acts *a, const mlstm_rows_weights *w, const real *hist,
                            mlstm_rows_dims d)
{
    int N = d.B * d.T, E = d.E, NP = E / d.bs, NG = 2 * d.NH;
    qkv_maps maps = qkv_maps_make(a->qkv_wt, w, d, N);
    if ((long)N * E > PAR_MIN_ELEMS) { /* rows in parallel, each whole: its gates read its q, k, v in cache */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            conv_qkv_slice(NULL, hist, &maps, w, a, d, n, 0, NP, 1);
            for (int j = 0; j < NG; j++) gate_value(w, a, d, n, j);
        }
    } else { /* few rows (generation): each row's channels, then its gates, split over the threads */
#pragma omp parallel if ((long)N * E >= MLSTM_SPLIT_ROW_ELEMS)
        {
#pragma omp for schedule(static)
            for (int u = 0; u < N * d.NH; u++)
                conv_qkv_slice(NULL, hist, &maps, w, a, d, u / d.NH, u % d.NH * NP / d.NH,
                               (u % d.NH + 1) * NP / d.NH, 1);
#pragma omp for schedule(static)
            for (int u = 0; u < N * NG; u++) gate_value(w, a, d, u / NG, u % NG);
        }
    }
}

/* Row n back through q, k (added into dx_c) and v (into dx_m, written), their weights'
 * gradients into this thread's partial sums sum[SUM_Q_W ..]; then dconv = dx_c SiLU'(conv). */
static void qkv_row_backward(real *const *sum, const mlstm_rows_weights *w, const mlstm_rows_acts *a,
                             const mlstm_rows_acts *g, mlstm_rows_dims d, int n)
{
    int E = d.E, NP = E / d.bs;
    size_t r = (size_t)n * E;
    const real *x[3] = {a->x_c + r, a->x_c + r, a->x_m + r};
    const real *dy[3] = {g->q + r, g->k + r, g->v + r};
    real *dx[3] = {g->x_c + r, g->x_c + r, g->x_m + r};
    memset(g->x_m + r, 0, (size_t)E * sizeof(real));
    for (int i = 0; i < 3; i++)
        headwise_row_backward(dx[i], sum[SUM_Q_W + 2 * i], w->qkv_b[i] ? sum[SUM_Q_B + 2 * i] : NULL, dy[i], x[i],
                              w->qkv_w[i], NP, d.bs, d.bs);
    for (int e = 0; e < E; e++) g->conv[r + e] *= g->x_c[r + e];
}

void mlstm_rows_qkv_backward(const mlstm_rows_acts *g, const mlstm_rows_weights *dw, const mlstm_rows_acts *a,
                             const mlstm_rows_weights *w, mlstm_rows_dims d)
{
    int N = d.B * d.T, par = (long)N * d.E > PAR_MIN_ELEMS;
    (void)par; /* read only by the OpenMP if() clause */
    thread_sums sums;
    qkv_sums(&sums, g, d);
#pragma omp parallel if (par) num_threads(g->threads)
    {
        real *mine[QKV_SUMS];
        for (int i = 0; i < QKV_SUMS; i++) mine[i] = thread_sums_mine(&sums, i);
#pragma omp for schedule(static)
        for (int n0 = 0; n0 < N; n0 += MLSTM_GATE_BLOCK) {
            int n1 = n0 + MLSTM_GATE_BLOCK < N ? n0 + MLSTM_GATE_BLOCK : N;
            gates_rows_backward(mine[SUM_IGATE_W], mine[SUM_IGATE_B], w, a, g, d, n0, n1);
            for (int n = n0; n < n1; n++) qkv_row_backward(mine, w, a, g, d, n);
        }
    }
    real *dst[QKV_SUMS] = {dw->qkv_w[0], dw->qkv_b[0], dw->qkv_w[1], dw->qkv_b[1], dw->qkv_w[2], dw->qkv_b[2],
                           dw->gate_w[0], dw->gate_w[1], dw->gate_b[0], dw->gate_b[1]};
    thread_sums_add(&sums, dst);
}

/* ---- the output: out = (outnorm(h) + skip * x_c) * SiLU(z) */

/* out = (out + skip * x_c) * SiLU(z) over n values (out holds outnorm(h)); sigmoid(z) also
 * into sz unless NULL. */
AVX2_CLONES static void skip_gate_slice(real *restrict out, real *restrict sz, const real *restrict xc,
                                        const real *restrict z, const real *restrict skip, int n)
{
    if (sz)
        for (int e = 0; e < n; e++) {
            real s = sigmoid_r(z[e]);
            sz[e] = s;
            out[e] = (out[e] + skip[e] * xc[e]) * (z[e] * s); /* silu_r(z) */
        }
    else
        for (int e = 0; e < n; e++) out[e] = (out[e] + skip[e] * xc[e]) * silu_r(z[e]);
}

/* Row n of out; the forward computes the norm's mean and rstd (norm 1), the backward reuses
 * them and keeps sigmoid(z) in sz. The same operations either way, so the backward sees the
 * forward's values. */
static void out_row(real *sz, int norm, const mlstm_rows_weights *w, const mlstm_rows_acts *a, mlstm_rows_dims d,
                    int n)
{
    size_t r = (size_t)n * d.E;
    int DH = d.E / d.NH;
    real *o = a->out + r;
    const real *h = a->h + r, *mean = a->mean + (size_t)n * d.NH, *rstd = a->rstd + (size_t)n * d.NH;
    if (norm)
        groupnorm_row_forward(o, a->mean + (size_t)n * d.NH, a->rstd + (size_t)n * d.NH, h, w->norm_w, d.NH, DH);
    else
        for (int hd = 0; hd < d.NH; hd++)
            for (int e = hd * DH; e < (hd + 1) * DH; e++) o[e] = (h[e] - mean[hd]) * rstd[hd] * (1 + w->norm_w[e]);
    skip_gate_slice(o, sz ? sz + r : NULL, a->x_c + r, a->z + r, w->skip, d.E);
}

void mlstm_rows_out_forward(const mlstm_rows_acts *a, const mlstm_rows_weights *w, mlstm_rows_dims d)
{
    int N = d.B * d.T;
#pragma omp parallel for schedule(static) if ((long)N * d.E > PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) out_row(NULL, 1, w, a, d, n);
}

void mlstm_rows_recompute(const mlstm_rows_acts *a, const mlstm_rows_acts *g, const mlstm_rows_weights *w,
                          mlstm_rows_dims d)
{
    int N = d.B * d.T;
    qkv_maps maps = qkv_maps_make(g->qkv_wt, w, d, N);
#pragma omp parallel for schedule(static) if ((long)N * d.E > PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) {
        conv_qkv_slice(g->conv, NULL, &maps, w, a, d, n, 0, d.E / d.bs, 0);
        out_row(g->z, 0, w, a, d, n);
    }
}

/* One head's slice of the row below (restrict: too many pointers for the compiler's alias
 * checks otherwise, and the loop would not vectorize). */
AVX2_CLONES static void out_slice_backward(real *restrict dskip, real *restrict dout, real *restrict sz,
                                           real *restrict dxc, const real *restrict h, const real *restrict xc,
                                           const real *restrict z, const real *restrict norm_w,
                                           const real *restrict skip, real mean, real rstd, int n)
{
    for (int e = 0; e < n; e++) {
        real hs = (h[e] - mean) * rstd * (1 + norm_w[e]) + skip[e] * xc[e];
        real s = sz[e], dhs = dout[e] * (z[e] * s);
        sz[e] = dout[e] * hs * (s * (1 + z[e] * (1 - s))); /* silu_grad_r(z) */
        dxc[e] = dhs * skip[e];
        dskip[e] += dhs * xc[e];
        dout[e] = dhs;
    }
}

/* Row n of the output's backward: dout = g->out is overwritten with the gradient at
 * outnorm(h) + skip * x_c, sigmoid(z) in g->z with the gradient at z; the gradient at h is
 * added into g->h, the skip's and the norm weight's into dskip, dnorm [E]. */
static void out_row_backward(real *dskip, real *dnorm, const mlstm_rows_weights *w, const mlstm_rows_acts *a,
                             const mlstm_rows_acts *g, mlstm_rows_dims d, int n)
{
    size_t r = (size_t)n * d.E;
    int DH = d.E / d.NH;
    const real *mean = a->mean + (size_t)n * d.NH, *rstd = a->rstd + (size_t)n * d.NH;
    for (int hd = 0; hd < d.NH; hd++) {
        size_t o = (size_t)hd * DH;
        out_slice_backward(dskip + o, g->out + r + o, g->z + r + o, g->x_c + r + o, a->h + r + o, a->x_c + r + o,
                           a->z + r + o, w->norm_w + o, w->skip + o, mean[hd], rstd[hd], DH);
    }
    groupnorm_row_backward(g->h + r, dnorm, g->out + r, a->h + r, w->norm_w, mean, rstd, d.NH, DH);
}

void mlstm_rows_out_backward(const mlstm_rows_acts *g, const mlstm_rows_weights *dw, const mlstm_rows_acts *a,
                             const mlstm_rows_weights *w, mlstm_rows_dims d)
{
    int N = d.B * d.T, E = d.E, par = (long)N * E > PAR_MIN_ELEMS;
    (void)par; /* read only by the OpenMP if() clause */
    thread_sums sums;
    out_sums(&sums, g, d);
#pragma omp parallel if (par) num_threads(g->threads)
    {
        real *dskip = thread_sums_mine(&sums, SUM_SKIP), *dnorm = thread_sums_mine(&sums, SUM_NORM);
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            /* the norm, then the cell add into these: zeroed here, a row at a time on all
             * threads, rather than in passes of their own */
            real *zero_rows[] = {g->h, g->q, g->k, g->v};
            for (int i = 0; i < 4; i++) memset(zero_rows[i] + (size_t)n * E, 0, (size_t)E * sizeof(real));
            out_row_backward(dskip, dnorm, w, a, g, d, n);
        }
    }
    real *dst[OUT_SUMS] = {dw->skip, dw->norm_w};
    thread_sums_add(&sums, dst);
    memset(g->ig, 0, (size_t)N * d.NH * sizeof(real));
    memset(g->fg, 0, (size_t)N * d.NH * sizeof(real));
}
