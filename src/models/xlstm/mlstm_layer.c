/* mlstm_layer.c — the mLSTM layer of the "pre up-projection" block:
 *   [x_m | z] = proj_up(x); x_c = SiLU(conv(x_m)); q = Wq x_c, k = Wk x_c, v = Wv x_m
 *   (block-diagonal); i, f = Linear(concat(q, k, v)); h = outnorm(mLSTM(q, k, v, i, f));
 *   y = proj_down((h + skip * x_c) * SiLU(z)).
 * The forward and backward mirror each other step by step. The elementwise operations
 * between the projections and the cell run fused, a few passes over rows
 * (kernels/mlstm_rows.h). */
#include "layers.h"
#include "mlstm_cell.h"
#include "kernels/matmul.h"
#include "kernels/mlstm_rows.h"
#include "kernels/ops.h"

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

/* The shapes, weights and activations as the cell and the row passes name them. */
static mlstm_cell_dims cell_dims(mlstm_dims d, int B, int T)
{
    mlstm_cell_dims c = {B, T, d.NH, d.DH, d.DH};
    return c;
}

static mlstm_cell_in cell_in(const mlstm_acts *a)
{
    mlstm_cell_in in = {a->q, a->k, a->v, a->ig, a->fg};
    return in;
}

static mlstm_rows_dims rows_dims(mlstm_dims d, int B, int T)
{
    mlstm_rows_dims r = {B, T, d.E, d.NH, d.K, d.bs};
    return r;
}

static mlstm_rows_weights rows_weights(const mlstm_weights *w)
{
    mlstm_rows_weights r = {w->conv_w, w->conv_b, {w->q_w, w->k_w, w->v_w}, {w->q_b, w->k_b, w->v_b},
                            {w->igate_w, w->fgate_w}, {w->igate_b, w->fgate_b}, w->outnorm_w, w->skip};
    return r;
}

static mlstm_rows_acts rows_acts(const mlstm_acts *a)
{
    mlstm_rows_acts r = {a->x_m, a->z, a->x_c, a->conv, a->q, a->k, a->v, a->ig, a->fg, a->h, a->gn_mean,
                         a->gn_rstd, a->out, a->qkv_wt, a->partial, a->threads};
    return r;
}

/* The cell's scratch: a forward with a carried state (prefill) runs chunkwise even when the
 * model trains in the parallel form, so the forward's is sized for either. */
static size_t cell_work_floats(mlstm_dims d, int T, mlstm_form form, int backward, int threads)
{
    mlstm_cell_dims cd = cell_dims(d, 1, T);
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
    size_t work = cell_work_floats(d, T, form, role == ACTS_GRADIENTS, threads);
    a->cell_work = !shared ? arena_take(ar, work) : ar->base ? shared + MLSTM_TEMPS * NE : NULL;
    a->partial =
        role == ACTS_GRADIENTS ? arena_take(ar, (size_t)threads * mlstm_rows_partial_floats(rows_dims(d, B, T))) : NULL;
    a->threads = threads;
}

int mlstm_layer_forward(real *y, const real *x, const mlstm_weights *w, mlstm_acts *a, mlstm_dims d, int B, int T,
                         mlstm_form form, mlstm_state *state)
{
    int N = B * T, E = d.E, D = d.D;
    mlstm_rows_dims rd = rows_dims(d, B, T);
    mlstm_rows_weights rw = rows_weights(w);
    mlstm_rows_acts ra = rows_acts(a);
    mlstm_cell_dims cd = cell_dims(d, B, T);
    mlstm_cell_work work = {a->cell_work, a->threads};
    mlstm_form chunkwise = {0, form.chunk};

    linear_forward_halves(a->x_m, a->z, x, w->proj_up_w, w->proj_up_b, N, D, E); /* [x_m | z] = proj_up(x) */
    mlstm_rows_qkv_forward(&ra, &rw, state ? state->conv_hist : NULL, rd);        /* x_c, q, k, v; i, f */
    if (state) causal_conv_push_hist(state->conv_hist, a->x_m, B, T, E, d.K);
    /* h = mLSTM(q, k, v, i, f). A carried state: one token through the recurrent step, several
     * through the chunkwise form (which continues the state exactly as the steps would). */
    if (state && T == 1)
        mlstm_cell_step(a->h, state->cell, cell_in(a), cd);
    else if (state && mlstm_cell_forward(a->h, NULL, cell_in(a), &state->cell, cd, chunkwise, &work) != 0)
        return -1;
    else if (!state && mlstm_cell_forward(a->h, a->cell_saved, cell_in(a), NULL, cd, form, &work) != 0)
        return -1;
    mlstm_rows_out_forward(&ra, &rw, rd); /* out = (outnorm(h) + skip * x_c) * SiLU(z) */
    linear_forward(y, D, a->out, E, w->proj_down_w, w->proj_down_b, N, E, D); /* y = proj_down(out) */
    return 0;
}

int mlstm_layer_backward(real *dx, const real *dy, const real *x, const mlstm_weights *w, mlstm_weights *dw,
                          const mlstm_acts *a, mlstm_acts *g, mlstm_dims d, int B, int T, mlstm_form form)
{
    int N = B * T, E = d.E, D = d.D;
    mlstm_rows_dims rd = rows_dims(d, B, T);
    mlstm_rows_weights rw = rows_weights(w), rdw = rows_weights(dw);
    mlstm_rows_acts ra = rows_acts(a), rg = rows_acts(g);
    mlstm_cell_work work = {g->cell_work, g->threads};
    mlstm_cell_grads dcell = {g->q, g->k, g->v, g->ig, g->fg};

    /* what the forward did not keep: x_c, q, k and out (into the shared temporaries),
     * SiLU'(conv) (into g->conv) and sigmoid(z) (into g->z) */
    mlstm_rows_recompute(&ra, &rg, &rw, rd);
    gemm(0, 0, N, E, D, 1, dy, D, w->proj_down_w, E, 0, g->out, E); /* g->out = dy W_down */
    linear_backward(NULL, E, dw->proj_down_w, dw->proj_down_b, dy, D, a->out, E, w->proj_down_w, N, E, D);
    mlstm_rows_out_backward(&rg, &rdw, &ra, &rw, rd); /* g->z, g->x_c (the skip), g->h (outnorm) */
    if (mlstm_cell_backward(dcell, g->h, a->cell_saved, cell_in(a), cell_dims(d, B, T), form, &work) != 0)
        return -1;
    mlstm_rows_qkv_backward(&rg, &rdw, &ra, &rw, rd); /* the gates, q, k, v: g->x_c, g->x_m, g->conv */
    causal_conv_backward(g->x_m, dw->conv_w, dw->conv_b, g->conv, a->x_m, w->conv_w, B, T, E, d.K);
    linear_backward(dx, D, dw->proj_up_w, dw->proj_up_b, g->x_m, E, x, D, w->proj_up_w, N, D, E);
    linear_backward(dx, D, dw->proj_up_w + (size_t)E * D, dw->proj_up_b ? dw->proj_up_b + E : NULL, g->z, E, x, D,
                    w->proj_up_w + (size_t)E * D, N, D, E);
    return 0;
}
