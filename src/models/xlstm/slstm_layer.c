/* slstm_layer.c — the sLSTM layer of the "post up-projection" block:
 *   x_c = SiLU(conv(x)); gate inputs (i, f, z, o) = (Wfgate x_c, Wigate x_c, Wz x, Wo x)
 *   (block-diagonal per head; note the official crosswise naming: the module called
 *   `fgate` feeds the input gate and `igate` the forget gate); h = sLSTM cell; y = groupnorm(h).
 * The block adds the gated feed-forward (ffn.c) after it. */
#include <string.h>

#include "layers.h"
#include "slstm_cell.h"
#include "kernels/ops.h"

slstm_dims slstm_dims_of(const xlstm_config *cfg)
{
    slstm_dims d;
    d.D = cfg->embedding_dim;
    d.NH = cfg->slstm.num_heads;
    d.DH = d.D / d.NH;
    d.K = cfg->slstm.conv1d_kernel_size;
    return d;
}

void slstm_state_bind(slstm_state *s, arena *a, slstm_dims d, int B)
{
    s->conv_hist = d.K > 1 ? arena_take(a, (size_t)B * (d.K - 1) * d.D) : NULL;
    s->cell = arena_take(a, (size_t)4 * B * d.D);
}

void slstm_acts_bind(slstm_acts *a, arena *ar, slstm_dims d, int B, int T, acts_role role)
{
    size_t N = (size_t)B * T;
    a->conv = d.K > 0 ? arena_take(ar, N * d.D) : NULL;
    a->x_c = d.K > 0 ? arena_take(ar, N * d.D) : NULL;
    a->wx = arena_take(ar, N * 4 * d.D);
    a->h = arena_take(ar, N * d.D);
    a->gn_mean = arena_take(ar, N * d.NH);
    a->gn_rstd = arena_take(ar, N * d.NH);
    a->cell_saved = role == ACTS_TRAINING ? arena_take(ar, slstm_cell_saved_floats(B, T, d.D)) : NULL;
    a->cell_work = role != ACTS_GRADIENTS ? arena_take(ar, slstm_cell_work_floats(B, d.NH, d.DH)) : NULL;
}

int slstm_layer_forward(real *y, const real *x, const slstm_weights *w, slstm_acts *a, slstm_dims d, int B, int T,
                         slstm_state *state)
{
    int N = B * T, D = d.D;
    const real *x_c = x;
    if (d.K > 0) {
        causal_conv_forward(a->conv, x, state ? state->conv_hist : NULL, w->conv_w, w->conv_b, B, T, D, d.K);
        if (state) causal_conv_push_hist(state->conv_hist, x, B, T, D, d.K);
        silu_forward(a->x_c, a->conv, (size_t)N * D);
        x_c = a->x_c;
    }
    /* gate slots in cell order (i, f, z, o) */
    const real *gate_w[4] = {w->fgate_w, w->igate_w, w->zgate_w, w->ogate_w}, *gate_x[4] = {x_c, x_c, x, x};
    if (state && N == 1) { /* a generation step: the gates' products and the recurrent ones in one region */
        linear_batch gates = {.n = 0};
        for (int g = 0; g < 4; g++)
            headwise_forward_maps(&gates, a->wx + g * D, gate_x[g], gate_w[g], NULL, d.NH, d.DH, d.DH);
        slstm_cell_step(a->h, state->cell, a->cell_work, a->wx, w->R, w->bias, 1, d.NH, d.DH, &gates);
    } else {
        for (int g = 0; g < 4; g++)
            headwise_forward(a->wx + g * D, 4 * D, gate_x[g], D, gate_w[g], NULL, N, d.NH, d.DH, d.DH);
        if (slstm_cell_forward(a->h, a->cell_saved, a->wx, w->R, w->bias, state ? state->cell : NULL, B, T, d.NH, d.DH,
                               a->cell_work) != 0)
            return -1;
    }

    groupnorm_forward(y, a->gn_mean, a->gn_rstd, a->h, w->gn_w, N, d.NH, d.DH);
    return 0;
}

void slstm_layer_backward(real *dx, const real *dy, const real *x, const slstm_weights *w, slstm_weights *dw,
                          const slstm_acts *a, slstm_acts *g, slstm_dims d, int B, int T)
{
    int N = B * T, D = d.D;
    size_t ND = (size_t)N * D;
    memset(g->h, 0, ND * sizeof(real));
    memset(g->wx, 0, 4 * ND * sizeof(real));
    if (d.K > 0) {
        memset(g->x_c, 0, ND * sizeof(real));
        memset(g->conv, 0, ND * sizeof(real));
    }

    groupnorm_backward(g->h, dw->gn_w, dy, a->h, w->gn_w, a->gn_mean, a->gn_rstd, N, d.NH, d.DH);
    slstm_cell_backward(g->wx, dw->R, dw->bias, NULL, g->h, a->cell_saved, w->R, B, T, d.NH, d.DH);

    const real *x_c = d.K > 0 ? a->x_c : x;
    real *dx_c = d.K > 0 ? g->x_c : dx;
    headwise_backward(dx_c, D, dw->fgate_w, NULL, g->wx + 0 * D, 4 * D, x_c, D, w->fgate_w, N, d.NH, d.DH, d.DH);
    headwise_backward(dx_c, D, dw->igate_w, NULL, g->wx + 1 * D, 4 * D, x_c, D, w->igate_w, N, d.NH, d.DH, d.DH);
    headwise_backward(dx, D, dw->zgate_w, NULL, g->wx + 2 * D, 4 * D, x, D, w->zgate_w, N, d.NH, d.DH, d.DH);
    headwise_backward(dx, D, dw->ogate_w, NULL, g->wx + 3 * D, 4 * D, x, D, w->ogate_w, N, d.NH, d.DH, d.DH);
    if (d.K > 0) {
        silu_backward(g->conv, g->x_c, a->conv, ND);
        causal_conv_backward(dx, dw->conv_w, dw->conv_b, g->conv, x, w->conv_w, B, T, D, d.K);
    }
}
