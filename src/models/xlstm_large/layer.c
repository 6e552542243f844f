/* layer.c — xLSTM Large's mLSTM layer, input u [N, D] (already RMS-normed):
 *   q = W_q u, k = W_k u, v = W_v u, o = W_o u;  i = cap(W_i u + b_i), f = cap(W_f u + b_f);
 *   h = mLSTM cell(q, k, v, i, f);  y = out_proj(sigmoid(o) * LayerNorm_head(h)).
 * The backward mirrors it step by step; the cell's is the exact gradient of its function (the
 * stabilizers' small part included), as autograd gives through the official native kernels. */
#include <string.h>

#include "large.h"
#include "models/xlstm/mlstm_cell.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

/* The shape of the layer's cell. */
static mlstm_cell_dims cell_dims(large_dims d, int B, int T)
{
    mlstm_cell_dims c = {B, T, d.NH, d.DK, d.DV};
    return c;
}

void large_layer_bind(large_layer_acts *a, arena *ar, large_dims d, int B, int T, mlstm_form form, large_role role,
                      int threads)
{
    size_t N = (size_t)B * T, NQ = N * d.QK, NV = N * d.VD, NG = N * d.NH;
    int backward = role == LARGE_GRADIENTS;
    a->q = arena_take(ar, NQ);
    a->k = arena_take(ar, NQ);
    a->v = arena_take(ar, NV);
    a->o = arena_take(ar, NV);
    a->so = arena_take(ar, NV);
    a->ig = arena_take(ar, NG);
    a->fg = arena_take(ar, NG);
    a->h = arena_take(ar, NV);
    a->hn_mean = arena_take(ar, NG);
    a->hn_rstd = arena_take(ar, NG);
    a->hn = arena_take(ar, NV);
    a->out = arena_take(ar, NV);
    a->cell_saved = role == LARGE_TRAINING ? arena_take(ar, mlstm_cell_saved_floats(cell_dims(d, B, T), form)) : NULL;
    a->dF = backward ? arena_take(ar, NG) : NULL;
    /* a forward with a carried state (prefill) runs chunkwise whatever the form */
    size_t work = mlstm_cell_work_floats(cell_dims(d, 1, T), form, backward);
    size_t chunkwise = backward ? 0 : mlstm_cell_work_floats(cell_dims(d, 1, T), (mlstm_form){0, form.chunk}, 0);
    a->cell_work = arena_take(ar, (size_t)threads * (work > chunkwise ? work : chunkwise));
    a->threads = threads;
}

/* Where the rows of W_q, W_k, W_v, W_o start inside w->qkvo, and their counts. */
static void qkvo_rows(large_dims d, size_t off[4], int rows[4])
{
    rows[0] = rows[1] = d.QK;
    rows[2] = rows[3] = d.VD;
    off[0] = 0;
    for (int i = 1; i < 4; i++) off[i] = off[i - 1] + (size_t)rows[i - 1] * d.D;
}

int large_layer_forward(real *y, const real *x, const large_block_weights *w, large_layer_acts *a, large_dims d,
                        int B, int T, mlstm_form form, const mlstm_cell_state *state)
{
    int N = B * T, D = d.D, NH = d.NH;
    size_t NG = (size_t)N * NH, NV = (size_t)N * d.VD;
    real *out[4] = {a->q, a->k, a->v, a->o};
    size_t off[4];
    int rows[4];
    qkvo_rows(d, off, rows);
    for (int i = 0; i < 4; i++) linear_forward(out[i], rows[i], x, D, w->qkvo + off[i], NULL, N, D, rows[i]);
    linear_forward(a->ig, NH, x, D, w->if_w, w->if_b, N, D, NH);
    linear_forward(a->fg, NH, x, D, w->if_w + (size_t)NH * D, w->if_b + NH, N, D, NH);
    if (d.gate_cap > 0) {
        softcap_forward(a->ig, a->ig, NG, d.gate_cap);
        softcap_forward(a->fg, a->fg, NG, d.gate_cap);
    }

    mlstm_cell_work work = {a->cell_work, a->threads};
    mlstm_cell_in in = {a->q, a->k, a->v, a->ig, a->fg};
    mlstm_cell_dims cd = cell_dims(d, B, T);
    mlstm_form chunkwise = {0, form.chunk};
    if (state && T == 1)
        mlstm_cell_step_eps(a->h, *state, in, cd, d.eps);
    else if (mlstm_cell_forward_eps(a->h, state ? NULL : a->cell_saved, in, state, cd, state ? chunkwise : form, d.eps,
                                    &work) != 0)
        return -1;

    scaled_groupnorm_forward(a->hn, a->hn_mean, a->hn_rstd, a->h, w->head_norm, N, NH, d.DV, d.norm_eps);
    act_gate_forward(XLSTM_ACT_SIGMOID, a->so, a->out, a->o, a->hn, NV); /* out = sigmoid(o) * hn */
    linear_forward(y, D, a->out, d.VD, w->out_proj, NULL, N, d.VD, D);
    return 0;
}

int large_layer_backward(real *dx, const real *dy, const real *x, const large_block_weights *w,
                         large_block_weights *dw, const large_layer_acts *a, large_layer_acts *g, large_dims d, int B,
                         int T, mlstm_form form)
{
    int N = B * T, D = d.D, NH = d.NH;
    size_t NG = (size_t)N * NH, NV = (size_t)N * d.VD;
    gemm(0, 0, N, d.VD, D, 1, dy, D, w->out_proj, d.VD, 0, g->out, d.VD); /* g->out = dy W_out */
    linear_backward(NULL, d.VD, dw->out_proj, NULL, dy, D, a->out, d.VD, w->out_proj, N, d.VD, D);
    act_gate_backward(XLSTM_ACT_SIGMOID, g->o, g->hn, g->out, a->o, a->hn, a->so, NV);
    memset(g->h, 0, NV * sizeof(real));
    scaled_groupnorm_backward(g->h, dw->head_norm, g->hn, a->h, w->head_norm, a->hn_mean, a->hn_rstd, N, NH, d.DV);

    real *zero[5] = {g->q, g->k, g->v, g->ig, g->fg};
    size_t sizes[5] = {(size_t)N * d.QK, (size_t)N * d.QK, NV, NG, NG};
    for (int i = 0; i < 5; i++) memset(zero[i], 0, sizes[i] * sizeof(real));
    mlstm_cell_work work = {g->cell_work, g->threads};
    mlstm_cell_in in = {a->q, a->k, a->v, a->ig, a->fg};
    mlstm_cell_grads dcell = {g->q, g->k, g->v, g->ig, g->fg};
    mlstm_cell_dims cd = cell_dims(d, B, T);
    if (mlstm_cell_backward_eps(dcell, g->h, a->cell_saved, in, cd, form, d.eps, &work) != 0 ||
        mlstm_cell_backward_stabilizer(dcell, g->dF, g->h, a->h, a->cell_saved, in, cd, form, d.eps) != 0)
        return -1;
    if (d.gate_cap > 0) {
        softcap_backward(g->ig, g->ig, a->ig, NG, d.gate_cap);
        softcap_backward(g->fg, g->fg, a->fg, NG, d.gate_cap);
    }

    const real *dout[4] = {g->q, g->k, g->v, g->o};
    size_t off[4];
    int rows[4];
    qkvo_rows(d, off, rows);
    for (int i = 0; i < 4; i++)
        linear_backward(dx, D, dw->qkvo + off[i], NULL, dout[i], rows[i], x, D, w->qkvo + off[i], N, D, rows[i]);
    linear_backward(dx, D, dw->if_w, dw->if_b, g->ig, NH, x, D, w->if_w, N, D, NH);
    linear_backward(dx, D, dw->if_w + (size_t)NH * D, dw->if_b + NH, g->fg, NH, x, D, w->if_w + (size_t)NH * D, N, D,
                    NH);
    return 0;
}
