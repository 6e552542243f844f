/* ref_mlstm.c — the reference mLSTM: the cell in its parallel form with the explicit decay
 * matrix D, its recurrent step, and the mLSTM layer (see xlstm_ref.h for the equations). */
#include <math.h>
#include <stdlib.h>

#include "xlstm_ref.h"

void ref_mlstm_parallel(double *h, const double *q, const double *k, const double *v, const double *i_tilde,
                        const double *f_tilde, int T, int d)
{
    double *F = ref_alloc(T), *logD = ref_alloc((size_t)T * T), *m = ref_alloc(T);
    double *D = ref_alloc((size_t)T * T), *Ctilde = ref_alloc((size_t)T * T);
    for (int t = 0; t < T; t++) F[t] = (t > 0 ? F[t - 1] : 0) + ref_logsigmoid(f_tilde[t]);
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++) logD[(size_t)t * T + s] = s <= t ? F[t] - F[s] + i_tilde[s] : -INFINITY;
    for (int t = 0; t < T; t++) {
        m[t] = -INFINITY;
        for (int s = 0; s < T; s++) m[t] = fmax(m[t], logD[(size_t)t * T + s]);
    }
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++) D[(size_t)t * T + s] = exp(logD[(size_t)t * T + s] - m[t]);
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++) {
            double qk = 0;
            for (int a = 0; a < d; a++) qk += q[(size_t)t * d + a] * k[(size_t)s * d + a] / sqrt(d);
            Ctilde[(size_t)t * T + s] = qk * D[(size_t)t * T + s];
        }
    for (int t = 0; t < T; t++) {
        double rowsum = 0;
        for (int s = 0; s < T; s++) rowsum += Ctilde[(size_t)t * T + s];
        double n_t = fmax(fabs(rowsum), exp(-m[t]));
        for (int e = 0; e < d; e++) {
            double acc = 0;
            for (int s = 0; s < T; s++) acc += Ctilde[(size_t)t * T + s] / (n_t + REF_MLSTM_EPS) * v[(size_t)s * d + e];
            h[(size_t)t * d + e] = acc;
        }
    }
    free(F), free(logD), free(m), free(D), free(Ctilde);
}

void ref_mlstm_step(double *h, double *C, double *n, double *m, const double *q, const double *k, const double *v,
                    double i_tilde, double f_tilde, int d)
{
    double log_f = ref_logsigmoid(f_tilde);
    double m_t = fmax(log_f + *m, i_tilde);
    double i_t = exp(i_tilde - m_t), f_t = exp(log_f + *m - m_t);
    for (int a = 0; a < d; a++) {
        double k_a = k[a] / sqrt(d);
        for (int b = 0; b < d; b++) C[(size_t)a * d + b] = f_t * C[(size_t)a * d + b] + i_t * k_a * v[b];
        n[a] = f_t * n[a] + i_t * k_a;
    }
    double nq = 0;
    for (int a = 0; a < d; a++) nq += n[a] * q[a];
    double denominator = fmax(fabs(nq), exp(-m_t)) + REF_MLSTM_EPS;
    for (int b = 0; b < d; b++) {
        double acc = 0;
        for (int a = 0; a < d; a++) acc += q[a] * C[(size_t)a * d + b];
        h[b] = acc / denominator;
    }
    *m = m_t;
}

ref_mlstm_state ref_mlstm_state_new(const ref_mlstm_layer *w)
{
    int DH = w->E / w->NH;
    ref_mlstm_state s = {ref_alloc((size_t)(w->K - 1) * w->E), ref_alloc((size_t)w->NH * DH * DH),
                         ref_alloc((size_t)w->E), ref_alloc((size_t)w->NH)};
    return s;
}

void ref_mlstm_state_free(ref_mlstm_state *s) { free(s->hist), free(s->C), free(s->n), free(s->m); }

/* Columns [c0, c0 + width) of x [T, stride] into out [T, width]. */
static void columns(double *out, const double *x, int T, int stride, int c0, int width)
{
    for (int t = 0; t < T; t++)
        for (int j = 0; j < width; j++) out[(size_t)t * width + j] = x[(size_t)t * stride + c0 + j];
}

/* The cell over all heads: h [T, E] from q, k, v [T, E] and the gates [T, NH]. */
static void cell(double *h, const double *q, const double *k, const double *v, const double *i_tilde,
                 const double *f_tilde, int T, const ref_mlstm_layer *w, ref_mlstm_state *s, int parallel)
{
    int E = w->E, NH = w->NH, d = E / NH;
    double *qh = ref_alloc((size_t)T * d), *kh = ref_alloc((size_t)T * d), *vh = ref_alloc((size_t)T * d);
    double *hh = ref_alloc((size_t)T * d), *ih = ref_alloc(T), *fh = ref_alloc(T);
    for (int hd = 0; hd < NH; hd++) {
        columns(qh, q, T, E, hd * d, d);
        columns(kh, k, T, E, hd * d, d);
        columns(vh, v, T, E, hd * d, d);
        columns(ih, i_tilde, T, NH, hd, 1);
        columns(fh, f_tilde, T, NH, hd, 1);
        if (parallel)
            ref_mlstm_parallel(hh, qh, kh, vh, ih, fh, T, d);
        else
            for (int t = 0; t < T; t++)
                ref_mlstm_step(hh + (size_t)t * d, s->C + (size_t)hd * d * d, s->n + (size_t)hd * d, s->m + hd,
                               qh + (size_t)t * d, kh + (size_t)t * d, vh + (size_t)t * d, ih[t], fh[t], d);
        for (int t = 0; t < T; t++)
            for (int e = 0; e < d; e++) h[(size_t)t * E + hd * d + e] = hh[(size_t)t * d + e];
    }
    free(qh), free(kh), free(vh), free(hh), free(ih), free(fh);
}

void ref_mlstm_layer_forward(double *y, const double *x, int T, const ref_mlstm_layer *w, ref_mlstm_state *s,
                             int parallel)
{
    int D = w->D, E = w->E, NH = w->NH, NB = E / w->bs;
    double *up = ref_alloc((size_t)T * 2 * E), *x_m = ref_alloc((size_t)T * E), *z = ref_alloc((size_t)T * E);
    double *x_c = ref_alloc((size_t)T * E), *q = ref_alloc((size_t)T * E), *k = ref_alloc((size_t)T * E);
    double *v = ref_alloc((size_t)T * E), *i_tilde = ref_alloc((size_t)T * NH), *f_tilde = ref_alloc((size_t)T * NH);
    double *h_tilde = ref_alloc((size_t)T * E), *h = ref_alloc((size_t)T * E);
    ref_linear(up, x, w->proj_up_w, w->proj_up_b, T, D, 2 * E);
    columns(x_m, up, T, 2 * E, 0, E);
    columns(z, up, T, 2 * E, E, E);
    ref_causal_conv(x_c, x_m, s->hist, w->conv_w, w->conv_b, T, E, w->K);
    for (size_t j = 0; j < (size_t)T * E; j++) x_c[j] = ref_silu(x_c[j]);
    ref_headwise(q, x_c, w->q_w, w->q_b, T, NB, w->bs, w->bs);
    ref_headwise(k, x_c, w->k_w, w->k_b, T, NB, w->bs, w->bs);
    ref_headwise(v, x_m, w->v_w, w->v_b, T, NB, w->bs, w->bs);
    for (int t = 0; t < T; t++)
        for (int hd = 0; hd < NH; hd++) {
            /* the gates read concat(q_t, k_t, v_t) */
            const double *qkv[3] = {q + (size_t)t * E, k + (size_t)t * E, v + (size_t)t * E};
            double si = w->igate_b[hd], sf = w->fgate_b[hd];
            for (int p = 0; p < 3; p++)
                for (int e = 0; e < E; e++) {
                    si += w->igate_w[(size_t)hd * 3 * E + (size_t)p * E + e] * qkv[p][e];
                    sf += w->fgate_w[(size_t)hd * 3 * E + (size_t)p * E + e] * qkv[p][e];
                }
            i_tilde[(size_t)t * NH + hd] = si;
            f_tilde[(size_t)t * NH + hd] = sf;
        }
    cell(h_tilde, q, k, v, i_tilde, f_tilde, T, w, s, parallel);
    ref_norm(h, h_tilde, w->outnorm_w, T, NH, E / NH);
    for (int t = 0; t < T; t++)
        for (int e = 0; e < E; e++) {
            size_t j = (size_t)t * E + e;
            h[j] = (h[j] + w->skip[e] * x_c[j]) * ref_silu(z[j]);
        }
    ref_linear(y, h, w->proj_down_w, w->proj_down_b, T, E, D);
    free(up), free(x_m), free(z), free(x_c), free(q), free(k), free(v), free(i_tilde), free(f_tilde), free(h_tilde);
    free(h);
}
