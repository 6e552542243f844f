/* ffn.c — the gated feed-forward of the sLSTM block:
 *   [gate | up] = proj_up(x); y = proj_down(act(gate) * up). */
#include "layers.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

ffn_dims ffn_dims_of(const xlstm_config *cfg)
{
    ffn_dims d;
    d.D = cfg->embedding_dim;
    d.F = cfg->ffn.up_dim;
    d.act = cfg->ffn.act_fn;
    d.bias = cfg->ffn.bias;
    return d;
}

void ffn_acts_bind(ffn_acts *a, arena *ar, ffn_dims d, int N)
{
    size_t NF = (size_t)N * d.F;
    a->gate = arena_take(ar, NF);
    a->up = arena_take(ar, NF);
    a->act = arena_take(ar, NF);
    a->out = arena_take(ar, NF);
}

void ffn_forward(real *y, const real *x, const ffn_weights *w, ffn_acts *a, ffn_dims d, int N)
{
    int F = d.F, D = d.D;
    size_t NF = (size_t)N * F;
    linear_forward_halves(a->gate, a->up, x, w->up_w, w->up_b, N, D, F);
    act_gate_forward(d.act, a->act, a->out, a->gate, a->up, NF);
    linear_forward(y, D, a->out, F, w->down_w, w->down_b, N, F, D);
}

void ffn_backward(real *dx, const real *dy, const real *x, const ffn_weights *w, ffn_weights *dw, const ffn_acts *a,
                  ffn_acts *g, ffn_dims d, int N)
{
    int F = d.F, D = d.D;
    size_t NF = (size_t)N * F;
    gemm(0, 0, N, F, D, 1, dy, D, w->down_w, F, 0, g->out, F); /* g->out = dy W_down */
    linear_backward(NULL, F, dw->down_w, dw->down_b, dy, D, a->out, F, w->down_w, N, F, D);
    act_gate_backward(d.act, g->gate, g->up, g->out, a->gate, a->up, a->act, NF);
    linear_backward(dx, D, dw->up_w, dw->up_b, g->gate, F, x, D, w->up_w, N, D, F);
    linear_backward(dx, D, dw->up_w + (size_t)F * D, dw->up_b ? dw->up_b + F : NULL, g->up, F, x, D,
                    w->up_w + (size_t)F * D, N, D, F);
}
