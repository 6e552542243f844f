/* ref_slstm.c — the reference sLSTM: the cell step, the sLSTM layer, and the gated feed-forward
 * of the sLSTM block (see xlstm_ref.h for the equations). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm_ref.h"

void ref_slstm_step(double *state, const double *wx, const double *R, const double *b, int NH, int DH)
{
    int D = NH * DH;
    double *h = state, *c = state + D, *n = state + 2 * D, *m = state + 3 * D;
    double *pre = ref_alloc((size_t)4 * D); /* i~, f~, z~, o~ */
    for (int g = 0; g < 4; g++)
        for (int hd = 0; hd < NH; hd++)
            for (int j = 0; j < DH; j++) {
                double Rh = 0; /* the recurrent input from h_{t-1}, within the head */
                for (int k = 0; k < DH; k++) Rh += R[((size_t)hd * 4 * DH + g * DH + j) * DH + k] * h[hd * DH + k];
                int e = g * D + hd * DH + j;
                pre[e] = (wx[e] + Rh) + b[e];
            }
    for (int e = 0; e < D; e++) {
        double i_tilde = pre[e], f_tilde = pre[D + e], z_tilde = pre[2 * D + e], o_tilde = pre[3 * D + e];
        double log_f_plus_m = m[e] + ref_logsigmoid(f_tilde);
        double m_t = n[e] == 0 ? i_tilde : fmax(i_tilde, log_f_plus_m);
        double i_t = fmin(1, exp(i_tilde - m_t)), f_t = fmin(1, exp(log_f_plus_m - m_t));
        double z_t = tanh(z_tilde), o_t = ref_sigmoid(o_tilde);
        c[e] = f_t * c[e] + i_t * z_t;
        n[e] = f_t * n[e] + i_t;
        m[e] = m_t;
        h[e] = o_t * c[e] / n[e]; /* h_{t-1} is no longer needed: pre holds its products */
    }
    free(pre);
}

ref_slstm_state ref_slstm_state_new(const ref_slstm_layer *w)
{
    ref_slstm_state s = {w->K > 1 ? ref_alloc((size_t)(w->K - 1) * w->D) : NULL, ref_alloc((size_t)4 * w->D)};
    return s;
}

void ref_slstm_state_free(ref_slstm_state *s) { free(s->hist), free(s->cell); }

void ref_slstm_layer_forward(double *y, const double *x, int T, const ref_slstm_layer *w, ref_slstm_state *s)
{
    int D = w->D, NH = w->NH, DH = D / NH;
    double *x_c = ref_alloc((size_t)T * D), *gate_in = ref_alloc((size_t)4 * T * D), *h = ref_alloc((size_t)T * D);
    double *wx = ref_alloc((size_t)4 * D);
    if (w->K > 0) {
        ref_causal_conv(x_c, x, s->hist, w->conv_w, w->conv_b, T, D, w->K);
        for (size_t j = 0; j < (size_t)T * D; j++) x_c[j] = ref_silu(x_c[j]);
    } else
        memcpy(x_c, x, sizeof(double) * T * D);
    /* gate order (i, f, z, o): the official layer feeds i from `fgate` and f from `igate` */
    const double *W[4] = {w->fgate_w, w->igate_w, w->zgate_w, w->ogate_w}, *in[4] = {x_c, x_c, x, x};
    for (int g = 0; g < 4; g++) ref_headwise(gate_in + (size_t)g * T * D, in[g], W[g], NULL, T, NH, DH, DH);
    for (int t = 0; t < T; t++) {
        for (int g = 0; g < 4; g++) memcpy(wx + (size_t)g * D, gate_in + ((size_t)g * T + t) * D, sizeof(double) * D);
        ref_slstm_step(s->cell, wx, w->R, w->bias, NH, DH);
        memcpy(h + (size_t)t * D, s->cell, sizeof(double) * D);
    }
    ref_norm(y, h, w->gn_w, T, NH, DH);
    free(x_c), free(gate_in), free(h), free(wx);
}

void ref_ffn_forward(double *y, const double *x, int T, const ref_ffn *w)
{
    int D = w->D, F = w->F;
    double *up = ref_alloc((size_t)T * 2 * F), *a = ref_alloc((size_t)T * F);
    ref_linear(up, x, w->up_w, w->up_b, T, D, 2 * F);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < F; j++)
            a[(size_t)t * F + j] = ref_gelu(up[(size_t)t * 2 * F + j]) * up[(size_t)t * 2 * F + F + j];
    ref_linear(y, a, w->down_w, w->down_b, T, F, D);
    free(up), free(a);
}
