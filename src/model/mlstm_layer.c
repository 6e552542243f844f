/* mlstm_layer.c — the mLSTM layer of the "pre up-projection" block:
 *   [x_m | z] = proj_up(x); x_c = SiLU(conv(x_m)); q = Wq x_c, k = Wk x_c, v = Wv x_m
 *   (block-diagonal); i, f = Linear(concat(q, k, v)); h = outnorm(mLSTM(q, k, v, i, f));
 *   y = proj_down((h + skip * x_c) * SiLU(z)).
 * The forward and backward mirror each other step by step. */
#include <string.h>

#include "layers.h"
#include "mlstm_cell.h"
#include "../kernels/matmul.h"
#include "../kernels/ops.h"

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
    s->C = arena_take(a, (size_t)B * d.NH * d.DH * d.DH);
    s->n = arena_take(a, (size_t)B * d.NH * d.DH);
    s->m = arena_take(a, (size_t)B * d.NH);
}

void mlstm_acts_bind(mlstm_acts *a, arena *ar, mlstm_dims d, int B, int T, mlstm_form form, int train,
                     real *shared_x_c)
{
    size_t N = (size_t)B * T, NE = N * d.E;
    a->x_m = arena_take(ar, NE);
    a->z = arena_take(ar, NE);
    a->conv = arena_take(ar, NE);
    a->x_c = shared_x_c ? shared_x_c : arena_take(ar, NE);
    a->q = arena_take(ar, NE);
    a->k = arena_take(ar, NE);
    a->v = arena_take(ar, NE);
    a->ig = arena_take(ar, N * d.NH);
    a->fg = arena_take(ar, N * d.NH);
    a->h = arena_take(ar, NE);
    a->gn_mean = arena_take(ar, N * d.NH);
    a->gn_rstd = arena_take(ar, N * d.NH);
    a->out = arena_take(ar, NE);
    a->cell_saved = train ? arena_take(ar, mlstm_cell_saved_floats(B, T, d.NH, d.DH, form.chunk, form.parallel)) : NULL;
}

/* out[N, NH] = concat(q, k, v)[N, 3E] W^T + b, W [NH, 3E]: three products against the
 * column blocks of W instead of materializing the concatenation. */
static void qkv_gate_forward(real *out, const real *const qkv[3], const real *W, const real *b, int N, int E, int NH)
{
    for (int p = 0; p < 3; p++) gemm(0, 1, N, NH, E, 1, qkv[p], E, W + (size_t)p * E, 3 * E, p ? 1 : 0, out, NH);
    for (int n = 0; n < N; n++)
        for (int h = 0; h < NH; h++) out[(size_t)n * NH + h] += b[h];
}

static void qkv_gate_backward(real *const dqkv[3], real *dW, real *db, const real *dout, const real *const qkv[3],
                              const real *W, int N, int E, int NH)
{
    for (int p = 0; p < 3; p++) {
        gemm(0, 0, N, E, NH, 1, dout, NH, W + (size_t)p * E, 3 * E, 1, dqkv[p], E);
        gemm(1, 0, NH, E, N, 1, dout, NH, qkv[p], E, 1, dW + (size_t)p * E, 3 * E);
    }
    for (int n = 0; n < N; n++)
        for (int h = 0; h < NH; h++) db[h] += dout[(size_t)n * NH + h];
}

int mlstm_layer_forward(real *y, const real *x, const mlstm_weights *w, mlstm_acts *a, mlstm_dims d, int B, int T,
                         mlstm_form form, mlstm_state *state)
{
    int N = B * T, E = d.E, D = d.D, NP = E / d.bs;
    size_t NE = (size_t)N * E;
    linear_forward(a->x_m, E, x, D, w->proj_up_w, w->proj_up_b, N, D, E);
    linear_forward(a->z, E, x, D, w->proj_up_w + (size_t)E * D, w->proj_up_b ? w->proj_up_b + E : NULL, N, D, E);

    causal_conv_forward(a->conv, a->x_m, state ? state->conv_hist : NULL, w->conv_w, w->conv_b, B, T, E, d.K);
    if (state) causal_conv_push_hist(state->conv_hist, a->x_m, B, T, E, d.K);
    silu_forward(a->x_c, a->conv, NE);

    headwise_forward(a->q, E, a->x_c, E, w->q_w, w->q_b, N, NP, d.bs, d.bs);
    headwise_forward(a->k, E, a->x_c, E, w->k_w, w->k_b, N, NP, d.bs, d.bs);
    headwise_forward(a->v, E, a->x_m, E, w->v_w, w->v_b, N, NP, d.bs, d.bs);
    const real *qkv[3] = {a->q, a->k, a->v};
    qkv_gate_forward(a->ig, qkv, w->igate_w, w->igate_b, N, E, d.NH);
    qkv_gate_forward(a->fg, qkv, w->fgate_w, w->fgate_b, N, E, d.NH);

    /* a carried state: one token through the recurrent step, several through the chunkwise
     * form (which continues the state exactly as the steps would) */
    if (state && T == 1)
        mlstm_cell_step(a->h, state->C, state->n, state->m, a->q, a->k, a->v, a->ig, a->fg, B, d.NH, d.DH);
    else if (state) {
        if (mlstm_cell_forward(a->h, NULL, a->q, a->k, a->v, a->ig, a->fg, B, T, d.NH, d.DH, form.chunk, 0, state->C,
                               state->n, state->m) != 0)
            return -1;
    } else if (mlstm_cell_forward(a->h, a->cell_saved, a->q, a->k, a->v, a->ig, a->fg, B, T, d.NH, d.DH, form.chunk,
                                  form.parallel, NULL, NULL, NULL) != 0)
        return -1;

    /* out = (outnorm(h) + skip * x_c) * silu(z), built in place */
    groupnorm_forward(a->out, a->gn_mean, a->gn_rstd, a->h, w->outnorm_w, N, d.NH, d.DH);
#pragma omp parallel for schedule(static) if (NE > 65536)
    for (int n = 0; n < N; n++) {
        size_t r = (size_t)n * E;
        for (int e = 0; e < E; e++) a->out[r + e] = (a->out[r + e] + w->skip[e] * a->x_c[r + e]) * silu_r(a->z[r + e]);
    }
    linear_forward(y, D, a->out, E, w->proj_down_w, w->proj_down_b, N, E, D);
    return 0;
}

int mlstm_layer_backward(real *dx, const real *dy, const real *x, const mlstm_weights *w, mlstm_weights *dw,
                          const mlstm_acts *a, mlstm_acts *g, mlstm_dims d, int B, int T, mlstm_form form)
{
    int N = B * T, E = d.E, D = d.D, NP = E / d.bs;
    size_t NE = (size_t)N * E;
    /* the gradient buffers of every activation start at zero: backwards accumulate */
    real *zero_list[] = {g->x_m, g->z, g->x_c, g->q, g->k, g->v, g->h, g->out};
    for (size_t i = 0; i < sizeof zero_list / sizeof *zero_list; i++) memset(zero_list[i], 0, NE * sizeof(real));
    memset(g->ig, 0, (size_t)N * d.NH * sizeof(real));
    memset(g->fg, 0, (size_t)N * d.NH * sizeof(real));
    /* x_c is not kept by the forward: recompute it into the (not yet used) conv gradient */
    real *x_c = g->conv;
    silu_forward(x_c, a->conv, NE);

    linear_backward(g->out, E, dw->proj_down_w, dw->proj_down_b, dy, D, a->out, E, w->proj_down_w, N, E, D);
    /* out = h_skip * silu(z), h_skip = outnorm(h) + skip * x_c (recomputed, as the forward did);
     * g->out becomes the gradient of h_skip */
#pragma omp parallel for schedule(static) if (NE > 65536)
    for (int n = 0; n < N; n++) {
        size_t r = (size_t)n * E;
        for (int e = 0; e < E; e++) {
            size_t i = r + e, grp = (size_t)n * d.NH + e / d.DH;
            real hs = (a->h[i] - a->gn_mean[grp]) * a->gn_rstd[grp] * (1 + w->outnorm_w[e]) + w->skip[e] * x_c[i];
            real dhs = g->out[i] * silu_r(a->z[i]);
            g->z[i] = g->out[i] * hs * silu_grad_r(a->z[i]);
            g->x_c[i] += dhs * w->skip[e];
            g->out[i] = dhs;
        }
    }
    for (int n = 0; n < N; n++) /* the skip weight's gradient: a sum over rows */
        for (int e = 0; e < E; e++) dw->skip[e] += g->out[(size_t)n * E + e] * x_c[(size_t)n * E + e];
    groupnorm_backward(g->h, dw->outnorm_w, g->out, a->h, w->outnorm_w, a->gn_mean, a->gn_rstd, N, d.NH, d.DH);

    if (mlstm_cell_backward(g->q, g->k, g->v, g->ig, g->fg, g->h, a->cell_saved, a->q, a->k, a->v, a->ig, a->fg, B, T,
                            d.NH, d.DH, form.chunk, form.parallel) != 0)
        return -1;

    const real *qkv[3] = {a->q, a->k, a->v};
    real *dqkv[3] = {g->q, g->k, g->v};
    qkv_gate_backward(dqkv, dw->igate_w, dw->igate_b, g->ig, qkv, w->igate_w, N, E, d.NH);
    qkv_gate_backward(dqkv, dw->fgate_w, dw->fgate_b, g->fg, qkv, w->fgate_w, N, E, d.NH);

    headwise_backward(g->x_c, E, dw->q_w, dw->q_b, g->q, E, x_c, E, w->q_w, N, NP, d.bs, d.bs);
    headwise_backward(g->x_c, E, dw->k_w, dw->k_b, g->k, E, x_c, E, w->k_w, N, NP, d.bs, d.bs);
    headwise_backward(g->x_m, E, dw->v_w, dw->v_b, g->v, E, a->x_m, E, w->v_w, N, NP, d.bs, d.bs);

    memset(g->conv, 0, NE * sizeof(real)); /* done with the recomputed x_c */
    silu_backward(g->conv, g->x_c, a->conv, NE);
    causal_conv_backward(g->x_m, dw->conv_w, dw->conv_b, g->conv, a->x_m, w->conv_w, B, T, E, d.K);

    linear_backward(dx, D, dw->proj_up_w, dw->proj_up_b, g->x_m, E, x, D, w->proj_up_w, N, D, E);
    linear_backward(dx, D, dw->proj_up_w + (size_t)E * D, dw->proj_up_b ? dw->proj_up_b + E : NULL, g->z, E, x, D,
                    w->proj_up_w + (size_t)E * D, N, D, E);
    return 0;
}
