/* mlstm_layer.c — the mLSTM layer of the "pre up-projection" block:
 *   [x_m | z] = proj_up(x); x_c = SiLU(conv(x_m)); q = Wq x_c, k = Wk x_c, v = Wv x_m
 *   (block-diagonal); i, f = Linear(concat(q, k, v)); h = outnorm(mLSTM(q, k, v, i, f));
 *   y = proj_down((h + skip * x_c) * SiLU(z)).
 * The forward and backward mirror each other step by step. */
#include <string.h>

#include "layers.h"
#include "mlstm_cell.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/split.h"
#include "kernels/tuning.h"

mlstm_dims mlstm_dims_of(const xlstm_config *cfg)
{
    mlstm_dims d;
    d.D = cfg->embedding_dim;
    d.E = cfg->mlstm.inner_dim;
    d.NH = cfg->mlstm.num_heads;
    d.DH = d.E / d.NH;
    d.K = cfg->mlstm.conv1d_kernel_size;
    d.bs = cfg->mlstm.qkv_proj_blocksize;
    d.bias = cfg->bias;
    return d;
}

void mlstm_state_bind(mlstm_state *s, arena *a, mlstm_dims d, int B)
{
    s->conv_hist = arena_take(a, (size_t)B * (d.K - 1) * d.E);
    s->cell.C = arena_take(a, (size_t)B * d.NH * d.DH * d.DH);
    s->cell.n = arena_take(a, (size_t)B * d.NH * d.DH);
    s->cell.m = arena_take(a, (size_t)B * d.NH);
}

static mlstm_cell_dims cell_dims(mlstm_dims d, int B, int T)
{
    mlstm_cell_dims c = {B, T, d.NH, d.DH};
    return c;
}

/* Per-thread partial sums of the backward's column reductions, [threads, PARTIAL_*]. */
enum { PARTIAL_SKIP, PARTIAL_NORM, PARTIAL_Q_W, PARTIAL_Q_B, PARTIAL_K_W, PARTIAL_K_B, PARTIAL_V_W, PARTIAL_V_B,
       PARTIAL_IGATE_W, PARTIAL_FGATE_W, PARTIAL_IGATE_B, PARTIAL_FGATE_B, PARTIALS }; /* each gate pair adjacent */

static size_t partial_floats(mlstm_dims d, size_t off[PARTIALS + 1])
{
    size_t nw = (size_t)(d.E / d.bs) * d.bs * d.bs, ngw = (size_t)d.NH * 3 * d.E,
           sizes[PARTIALS] = {d.E, d.E, nw, d.E, nw, d.E, nw, d.E, ngw, ngw, d.NH, d.NH};
    off[0] = 0;
    for (int i = 0; i < PARTIALS; i++) off[i + 1] = off[i] + sizes[i];
    return off[PARTIALS];
}

/* The cell's scratch: a forward with a carried state (prefill) runs chunkwise even when the
 * model trains in the parallel form, so the forward's is sized for either. */
static size_t cell_work_floats(mlstm_dims d, int T, mlstm_form form, int backward, int threads)
{
    mlstm_cell_dims cd = {1, T, d.NH, d.DH};
    size_t form_floats = mlstm_cell_work_floats(cd, form, backward);
    size_t chunkwise = backward ? 0 : mlstm_cell_work_floats(cd, (mlstm_form){0, form.chunk}, 0);
    return (size_t)threads * (form_floats > chunkwise ? form_floats : chunkwise);
}

size_t mlstm_shared_floats(mlstm_dims d, int B, int T, mlstm_form form, int threads)
{
    return MLSTM_TEMPS * (size_t)B * T * d.E + cell_work_floats(d, T, form, 0, threads);
}

void mlstm_acts_bind(mlstm_acts *a, arena *ar, mlstm_dims d, int B, int T, mlstm_form form, acts_role role,
                     real *shared, int threads)
{
    size_t N = (size_t)B * T, NE = N * d.E;
    a->x_m = arena_take(ar, NE);
    a->z = arena_take(ar, NE);
    a->v = arena_take(ar, NE);
    a->h = arena_take(ar, NE);
    a->ig = arena_take(ar, N * d.NH);
    a->fg = arena_take(ar, N * d.NH);
    a->gn_mean = arena_take(ar, N * d.NH);
    a->gn_rstd = arena_take(ar, N * d.NH);
    real **temps[MLSTM_TEMPS] = {&a->x_c, &a->q, &a->k, &a->out};
    for (int i = 0; i < MLSTM_TEMPS; i++) *temps[i] = !shared ? arena_take(ar, NE) : ar->base ? shared + (size_t)i * NE : NULL;
    a->conv = shared ? NULL : arena_take(ar, NE);
    a->cell_saved = role == ACTS_TRAINING ? arena_take(ar, mlstm_cell_saved_floats(cell_dims(d, B, T), form)) : NULL;
    a->qkv_wt = arena_take(ar, 3 * (size_t)d.E * d.bs);
    size_t work = cell_work_floats(d, T, form, role == ACTS_GRADIENTS, threads), off[PARTIALS + 1];
    a->cell_work = !shared ? arena_take(ar, work) : ar->base ? shared + MLSTM_TEMPS * NE : NULL;
    a->partial = role == ACTS_GRADIENTS ? arena_take(ar, (size_t)threads * partial_floats(d, off)) : NULL;
    a->threads = threads;
}

/* The input and forget gates read concat(q, k, v) [3E] through W [NH, 3E]: a product with
 * 2 NH output columns, which BLAS would run as a pass over all of q, k and v of its own (and
 * another for each gate's backward). Here each row's gates are done inside the row passes,
 * while the row's q, k, v are in cache. */
typedef struct {
    const real *W[2], *b[2]; /* input gate, forget gate */
} gate_weights;

static gate_weights gates_of(const mlstm_weights *w)
{
    gate_weights g = {{w->igate_w, w->fgate_w}, {w->igate_b, w->fgate_b}};
    return g;
}

/* Gate row j of [2, NH] (input gates, then forget gates) for row n: ig or fg [n, j % NH] =
 * concat(q, k, v) W[j % NH, :]^T + b. */
static void gate_value(const mlstm_weights *w, mlstm_acts *a, mlstm_dims d, int n, int j)
{
    size_t r = (size_t)n * d.E;
    const real *qkv[3] = {a->q + r, a->k + r, a->v + r};
    int gate = j / d.NH, h = j % d.NH;
    gate_weights gw = gates_of(w);
    const real *wh = gw.W[gate] + (size_t)h * 3 * d.E;
    real s = 0;
    for (int p = 0; p < 3; p++) s += dot_product(wh + (size_t)p * d.E, qkv[p], d.E);
    (gate ? a->fg : a->ig)[(size_t)n * d.NH + h] = s + gw.b[gate][h];
}

/* Rows [n0, n1) of the gates' backward: dq, dk, dv (rows of g) += dgates W, and into this
 * thread's partial sums dW [2, NH, 3E] += dgates^T concat(q, k, v), db [2, NH] += dgates.
 * Gate row j of [2, NH] is (j / NH, j % NH). */
static void gates_rows_backward(real *dW, real *db, const mlstm_weights *w, const mlstm_acts *a, mlstm_acts *g,
                                mlstm_dims d, int n0, int n1)
{
    size_t E = (size_t)d.E, E3 = 3 * E;
    gate_weights gw = gates_of(w);
    const real *dgate[2] = {g->ig, g->fg}, *qkv[3] = {a->q, a->k, a->v};
    real *dqkv[3] = {g->q, g->k, g->v};
    for (int j = 0; j < 2 * d.NH; j++) {
        int gate = j / d.NH, h = j % d.NH;
        for (int n = n0; n < n1; n++) {
            real dz = dgate[gate][(size_t)n * d.NH + h];
            for (int p = 0; p < 3; p++) axpy(dqkv[p] + n * E, dz, gw.W[gate] + h * E3 + p * E, d.E);
            db[j] += dz;
        }
        for (int p = 0; p < 3; p++)
            for (int n = n0; n < n1; n++)
                axpy(dW + j * E3 + p * E, dgate[gate][(size_t)n * d.NH + h], qkv[p] + n * E, d.E);
    }
}

/* The elementwise work runs in a few passes over rows (each row's pieces stay in cache from
 * one step to the next); the passes run in parallel above PAR_MIN_ELEMS. Below it, the
 * forward splits each row's channels and gates over the threads instead, from
 * MLSTM_SPLIT_ROW_ELEMS (tuning.h). */
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

static qkv_maps qkv_maps_make(real *wt, const mlstm_weights *w, mlstm_dims d, int N)
{
    const real *W[3] = {w->q_w, w->k_w, w->v_w};
    size_t per = (size_t)d.E * d.bs;
    qkv_maps m = {{W[0], W[1], W[2]}, N > 1}; /* batch-1 steps: the transposition would cost more than it saves */
    for (int i = 0; m.transposed && i < 3; i++) {
        headwise_transpose(wt + i * per, W[i], d.E / d.bs, d.bs, d.bs);
        m.W[i] = wt + i * per;
    }
    return m;
}

/* Blocks [b0, b1) of map i (0 q, 1 k, 2 v) of the row x into the row y. */
static void qkv_map_slice(real *y, const real *x, const qkv_maps *m, int i, const mlstm_weights *w, mlstm_dims d,
                          int b0, int b1)
{
    const real *bias[3] = {w->q_b, w->k_b, w->v_b};
    size_t c0 = (size_t)b0 * d.bs, w0 = c0 * d.bs;
    const real *b = bias[i] ? bias[i] + c0 : NULL;
    if (m->transposed)
        headwise_row_forward_t(y + c0, x + c0, m->W[i] + w0, b, b1 - b0, d.bs, d.bs);
    else
        headwise_row_forward(y + c0, x + c0, m->W[i] + w0, b, b1 - b0, d.bs, d.bs);
}

/* The q/k/v blocks [b0, b1) of row n (channels [b0 bs, b1 bs)): x_c = SiLU(conv(x_m)), q and
 * k from x_c, and with with_v also v from x_m; conv history hist may be NULL. With dconv not
 * NULL (the backward's recomputation) SiLU'(conv) goes there. */
static void conv_qkv_slice(real *dconv, const real *hist, const qkv_maps *maps, const mlstm_weights *w,
                           const mlstm_acts *a, mlstm_dims d, int n, int T, int b0, int b1, int with_v)
{
    int E = d.E, c0 = b0 * d.bs, c1 = b1 * d.bs;
    size_t r = (size_t)n * E;
    real *xc = a->x_c + r;
    causal_conv_row(xc, a->x_m, hist, w->conv_w, w->conv_b, n, T, E, d.K, c0, c1);
    silu_slice(xc + c0, dconv ? dconv + r + c0 : NULL, c1 - c0);
    qkv_map_slice(a->q + r, xc, maps, 0, w, d, b0, b1);
    qkv_map_slice(a->k + r, xc, maps, 1, w, d, b0, b1);
    if (with_v) qkv_map_slice(a->v + r, a->x_m + r, maps, 2, w, d, b0, b1);
}

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

/* Row n of the proj_down input out = (outnorm(h) + skip * x_c) * SiLU(z); the forward
 * computes the norm's mean and rstd (norm 1), the backward reuses them and keeps sigmoid(z)
 * in sz. The same operations either way, so the backward sees the forward's values. */
static void out_row(real *sz, int norm, const mlstm_weights *w, const mlstm_acts *a, mlstm_dims d, int n)
{
    size_t r = (size_t)n * d.E;
    real *o = a->out + r;
    const real *h = a->h + r, *mean = a->gn_mean + (size_t)n * d.NH, *rstd = a->gn_rstd + (size_t)n * d.NH;
    if (norm)
        groupnorm_row_forward(o, a->gn_mean + (size_t)n * d.NH, a->gn_rstd + (size_t)n * d.NH, h, w->outnorm_w, d.NH,
                              d.DH);
    else
        for (int hd = 0; hd < d.NH; hd++)
            for (int e = hd * d.DH; e < (hd + 1) * d.DH; e++) o[e] = (h[e] - mean[hd]) * rstd[hd] * (1 + w->outnorm_w[e]);
    skip_gate_slice(o, sz ? sz + r : NULL, a->x_c + r, a->z + r, w->skip, d.E);
}

int mlstm_layer_forward(real *y, const real *x, const mlstm_weights *w, mlstm_acts *a, mlstm_dims d, int B, int T,
                         mlstm_form form, mlstm_state *state)
{
    int N = B * T, E = d.E, D = d.D;
    qkv_maps maps = qkv_maps_make(a->qkv_wt, w, d, N);
    linear_forward_halves(a->x_m, a->z, x, w->proj_up_w, w->proj_up_b, N, D, E);

    const real *hist = state ? state->conv_hist : NULL;
    int NP = E / d.bs, NG = 2 * d.NH;
    if ((long)N * E > PAR_MIN_ELEMS) { /* rows in parallel, each whole: its gates read its q, k, v in cache */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            conv_qkv_slice(NULL, hist, &maps, w, a, d, n, T, 0, NP, 1);
            for (int j = 0; j < NG; j++) gate_value(w, a, d, n, j);
        }
    } else { /* few rows (generation): each row's channels, then its gates, split over the threads */
#pragma omp parallel if ((long)N * E >= MLSTM_SPLIT_ROW_ELEMS)
        {
#pragma omp for schedule(static)
            for (int u = 0; u < N * d.NH; u++)
                conv_qkv_slice(NULL, hist, &maps, w, a, d, u / d.NH, T, u % d.NH * NP / d.NH,
                               (u % d.NH + 1) * NP / d.NH, 1);
#pragma omp for schedule(static)
            for (int u = 0; u < N * NG; u++) gate_value(w, a, d, u / NG, u % NG);
        }
    }
    if (state) causal_conv_push_hist(state->conv_hist, a->x_m, B, T, E, d.K);

    mlstm_cell_work work = {a->cell_work, a->threads};
    mlstm_cell_in in = {a->q, a->k, a->v, a->ig, a->fg};
    /* a carried state: one token through the recurrent step, several through the chunkwise
     * form (which continues the state exactly as the steps would) */
    if (state && T == 1)
        mlstm_cell_step(a->h, state->cell, in, cell_dims(d, B, T));
    else if (state) {
        if (mlstm_cell_forward(a->h, NULL, in, &state->cell, cell_dims(d, B, T), (mlstm_form){0, form.chunk}, &work) != 0)
            return -1;
    } else if (mlstm_cell_forward(a->h, a->cell_saved, in, NULL, cell_dims(d, B, T), form, &work) != 0)
        return -1;

#pragma omp parallel for schedule(static) if ((long)N * E > PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) out_row(NULL, 1, w, a, d, n);
    linear_forward(y, D, a->out, E, w->proj_down_w, w->proj_down_b, N, E, D);
    return 0;
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

/* Row n of the gradients at z, at x_c through the skip (written, not added), and at h through
 * the out-norm (added), given dout = g->out (overwritten with the gradient at outnorm(h) +
 * skip * x_c) and sigmoid(z) in g->z (overwritten with the gradient at z). The skip's and
 * the norm weight's gradients are added into dskip, dnorm [E]. */
static void out_row_backward(real *dskip, real *dnorm, const mlstm_weights *w, const mlstm_acts *a, mlstm_acts *g,
                             mlstm_dims d, int n)
{
    size_t r = (size_t)n * d.E;
    const real *mean = a->gn_mean + (size_t)n * d.NH, *rstd = a->gn_rstd + (size_t)n * d.NH;
    for (int hd = 0; hd < d.NH; hd++) {
        size_t o = (size_t)hd * d.DH;
        out_slice_backward(dskip + o, g->out + r + o, g->z + r + o, g->x_c + r + o, a->h + r + o, a->x_c + r + o,
                           a->z + r + o, w->outnorm_w + o, w->skip + o, mean[hd], rstd[hd], d.DH);
    }
    groupnorm_row_backward(g->h + r, dnorm, g->out + r, a->h + r, w->outnorm_w, mean, rstd, d.NH, d.DH);
}

/* Row n back through q, k (added into dx_c) and v (into dx_m, written), their weights'
 * gradients into this thread's partial sums mine (offsets off); then dconv = dx_c SiLU'(conv). */
static void qkv_row_backward(real *mine, const size_t *off, const mlstm_weights *w, const mlstm_acts *a, mlstm_acts *g,
                             mlstm_dims d, int n)
{
    int E = d.E, NP = E / d.bs, has_b = w->q_b != NULL;
    size_t r = (size_t)n * E;
    headwise_row_backward(g->x_c + r, mine + off[PARTIAL_Q_W], has_b ? mine + off[PARTIAL_Q_B] : NULL, g->q + r,
                          a->x_c + r, w->q_w, NP, d.bs, d.bs);
    headwise_row_backward(g->x_c + r, mine + off[PARTIAL_K_W], has_b ? mine + off[PARTIAL_K_B] : NULL, g->k + r,
                          a->x_c + r, w->k_w, NP, d.bs, d.bs);
    memset(g->x_m + r, 0, (size_t)E * sizeof(real));
    headwise_row_backward(g->x_m + r, mine + off[PARTIAL_V_W], has_b ? mine + off[PARTIAL_V_B] : NULL, g->v + r,
                          a->x_m + r, w->v_w, NP, d.bs, d.bs);
    for (int e = 0; e < E; e++) g->conv[r + e] *= g->x_c[r + e];
}

int mlstm_layer_backward(real *dx, const real *dy, const real *x, const mlstm_weights *w, mlstm_weights *dw,
                          const mlstm_acts *a, mlstm_acts *g, mlstm_dims d, int B, int T, mlstm_form form)
{
    int N = B * T, E = d.E, D = d.D, threads = g->threads;
    size_t off[PARTIALS + 1], np = partial_floats(d, off);
    qkv_maps maps = qkv_maps_make(g->qkv_wt, w, d, N);
    real *partial = g->partial;
    memset(partial, 0, (size_t)threads * np * sizeof(real)); /* a team of fewer threads leaves slices unwritten */
    int par = (long)N * E > PAR_MIN_ELEMS;
    (void)par; /* read only by the OpenMP if() clauses */

    /* what the forward did not keep: x_c, q, k and out (into the shared temporaries),
     * SiLU'(conv) (into g->conv) and sigmoid(z) (into g->z) */
#pragma omp parallel for schedule(static) if (par)
    for (int n = 0; n < N; n++) {
        conv_qkv_slice(g->conv, NULL, &maps, w, a, d, n, T, 0, E / d.bs, 0);
        out_row(g->z, 0, w, a, d, n);
    }

    gemm(0, 0, N, E, D, 1, dy, D, w->proj_down_w, E, 0, g->out, E); /* g->out = dy W_down */
    linear_backward(NULL, E, dw->proj_down_w, dw->proj_down_b, dy, D, a->out, E, w->proj_down_w, N, E, D);
#pragma omp parallel if (par) num_threads(threads)
    {
        real *mine = partial + (size_t)thread_num() * np;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            /* the norm, then the cell and the gates add into these: zeroed here, a row at a
             * time on all threads, rather than in passes of their own */
            real *zero_rows[] = {g->h, g->q, g->k, g->v};
            for (int i = 0; i < 4; i++) memset(zero_rows[i] + (size_t)n * E, 0, (size_t)E * sizeof(real));
            out_row_backward(mine + off[PARTIAL_SKIP], mine + off[PARTIAL_NORM], w, a, g, d, n);
        }
    }
    mlstm_cell_work work = {g->cell_work, threads};
    memset(g->ig, 0, (size_t)N * d.NH * sizeof(real));
    memset(g->fg, 0, (size_t)N * d.NH * sizeof(real));
    mlstm_cell_grads dcell = {g->q, g->k, g->v, g->ig, g->fg};
    mlstm_cell_in in = {a->q, a->k, a->v, a->ig, a->fg};
    if (mlstm_cell_backward(dcell, g->h, a->cell_saved, in, cell_dims(d, B, T), form, &work) != 0)
        return -1;

    /* back through the gates (into dq, dk, dv), then through q, k and v */
#pragma omp parallel if (par) num_threads(threads)
    {
        real *mine = partial + (size_t)thread_num() * np;
#pragma omp for schedule(static)
        for (int n0 = 0; n0 < N; n0 += MLSTM_GATE_BLOCK) {
            int n1 = n0 + MLSTM_GATE_BLOCK < N ? n0 + MLSTM_GATE_BLOCK : N;
            gates_rows_backward(mine + off[PARTIAL_IGATE_W], mine + off[PARTIAL_IGATE_B], w, a, g, d, n0, n1);
            for (int n = n0; n < n1; n++) qkv_row_backward(mine, off, w, a, g, d, n);
        }
    }
    real *sums[PARTIALS] = {dw->skip,    dw->outnorm_w, dw->q_w,    dw->q_b,    dw->k_w,    dw->k_b,
                            dw->v_w,     dw->v_b,       dw->igate_w, dw->fgate_w, dw->igate_b, dw->fgate_b};
    for (int i = 0; i < PARTIALS; i++)
        if (sums[i]) partial_sums_add(sums[i], partial + off[i], threads, np, off[i + 1] - off[i]);
    causal_conv_backward(g->x_m, dw->conv_w, dw->conv_b, g->conv, a->x_m, w->conv_w, B, T, E, d.K);

    linear_backward(dx, D, dw->proj_up_w, dw->proj_up_b, g->x_m, E, x, D, w->proj_up_w, N, D, E);
    linear_backward(dx, D, dw->proj_up_w + (size_t)E * D, dw->proj_up_b ? dw->proj_up_b + E : NULL, g->z, E, x, D,
                    w->proj_up_w + (size_t)E * D, N, D, E);
    return 0;
}
