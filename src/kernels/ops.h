/* ops.h — elementwise and small structured kernels of the xLSTM model, each forward
 * beside its backward. Conventions (as llm.c):
 *  - row-major; N = number of rows (B*T), shapes in comments;
 *  - a backward ADDS (+=) into every gradient it produces (inputs and parameters), so the
 *    caller zeroes gradient buffers once and residual branches just accumulate;
 *  - the forward saves exactly what the backward needs (mean, rstd, ...).
 */
#ifndef XLSTM_OPS_H
#define XLSTM_OPS_H

#include <tgmath.h>

#include "../common.h"

#define XLSTM_NORM_EPS 1e-5

/* ---- scalar activations (inline: used inside fused loops) */

/* exp_r: e^x. select_r: c ? a : b. In float both are written so that loops over them
 * vectorize: libm's expf is a call per element, and GCC does not if-convert a floating-point
 * ?: under its default -ftrapping-math. The float exp is Cephes' (range reduction by ln 2 in
 * two parts, a degree-7 polynomial): within 1 ulp of e^x (measured over every float in
 * [-110, 95]), e^x for x < -103.97 is 0, x > 88.73 gives inf, NaN stays NaN. */
#ifdef XLSTM_DOUBLE
static inline real exp_r(real x) { return exp(x); }
static inline real select_r(int c, real a, real b) { return c ? a : b; }
#else
typedef union { float f; uint32_t u; } float_bits;

static inline float select_r(int c, float a, float b)
{
    float_bits A = {a}, B = {b};
    uint32_t mask = 0u - (uint32_t)c;
    A.u = (A.u & mask) | (B.u & ~mask);
    return A.f;
}

static inline float exp_r(float x)
{
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = select_r(x > 89.0f, 89.0f, x);
    x = select_r(x < -104.0f, -104.0f, x);
    float n = (x * 1.44269504088896341f + shift) - shift; /* round(x / ln 2) */
    float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1;
    /* y * 2^n as y * 2^n1 * 2^n2 (n = n1 + n2, each in the normal exponent range, so that
     * overflow and underflow round once, at the end); 2^k from the bits of k + 127 + shift */
    float n1 = (n * 0.5f + shift) - shift, n2 = n - n1;
    float_bits s1 = {n1 + (127 + shift)}, s2 = {n2 + (127 + shift)};
    s1.u <<= 23;
    s2.u <<= 23;
    return y * s1.f * s2.f;
}
#endif

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: no overflow either way */
static inline real sigmoid_r(real x)
{
    real e = exp_r(x >= 0 ? -x : x), d = 1 + e;
    return select_r(x >= 0, 1 / d, e / d);
}
/* log(sigmoid(x)) = -softplus(-x), computed without overflow */
static inline real logsigmoid_r(real x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static inline real silu_r(real x) { return x * sigmoid_r(x); }
static inline real silu_grad_r(real x) { real s = sigmoid_r(x); return s * (1 + x * (1 - s)); }

/* ---- layer norm over groups (LayerNorm: groups = 1; MultiHeadLayerNorm: groups = NH).
 * x, out [N, G*C] (contiguous rows); each (row, group) of C values is
 * normalised with biased variance and eps 1e-5, then scaled by (1 + w[g*C + c])
 * (the official "residual weight"; w may be NULL for no affine). mean, rstd [N*G]. */
void groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C);
void groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                        const real *rstd, int N, int G, int C);

/* One row (G groups of C; mean, rstd [G]) of either, serial: for callers that fuse the norm
 * into a pass over rows of their own. The backward adds into dx and (if dw and w are not
 * NULL) into dw. */
void groupnorm_row_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int G, int C);
void groupnorm_row_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                            const real *rstd, int G, int C);

/* ---- causal depthwise conv1d, x [B, T, C] (contiguous), w [C, K] (official [C, 1, K]),
 * bias [C]: y[b,t,c] = bias[c] + sum_k w[c,k] x[b, t-(K-1)+k, c]. Inputs before time 0
 * come from hist [B, K-1, C] (the previous K-1 inputs, oldest first; recurrent inference)
 * or are zero when hist is NULL (a fresh sequence). */
void causal_conv_forward(real *y, const real *x, const real *hist, const real *w, const real *bias, int B, int T,
                         int C, int K);
/* One output row (row = b*T + t of the B*T rows) of the forward above, y [C]; serial, for
 * callers that fuse the conv into a pass over rows of their own. */
void causal_conv_row(real *y, const real *x, const real *hist, const real *w, const real *bias, long row, int T,
                     int C, int K);
/* Backward of the fresh-sequence forward (hist NULL). */
void causal_conv_backward(real *dx, real *dw, real *dbias, const real *dy, const real *x, const real *w, int B,
                          int T, int C, int K);
/* hist [B, K-1, C] := the last K-1 inputs of hist followed by x [B, T, C]. */
void causal_conv_push_hist(real *hist, const real *x, int B, int T, int C, int K);

/* ---- block-diagonal ("headwise") linear map, W [H, dout, din] (official
 * LinearHeadwiseExpand): y[n, h*dout + o] = sum_d x[n, h*din + d] W[h, o, d] (+ bias[h*dout+o]).
 * x has row stride ldx, y row stride ldy; bias may be NULL. The forward overwrites y. */
void headwise_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int H,
                      int dout, int din);
/* dx += ..., dW += ..., dbias += ... (dx and dbias may be NULL). */
void headwise_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                       const real *W, int N, int H, int dout, int din);

/* One row of either (serial: for callers that fuse it into a pass over rows of their own):
 * y [H*dout] = the map of x [H*din]; dx [H*din] += ..., dW += ..., dbias += ... (each may be
 * NULL; x is read only for dW). */
void headwise_row_forward(real *y, const real *x, const real *W, const real *bias, int H, int dout, int din);
void headwise_row_backward(real *dx, real *dW, real *dbias, const real *dy, const real *x, const real *W, int H,
                           int dout, int din);

/* ---- activations over arrays of n values */
void silu_forward(real *y, const real *x, size_t n);
void silu_backward(real *dx, const real *dy, const real *x, size_t n); /* dx += dy * silu'(x) */
/* FFN activation by enum xlstm_act_fn (gelu = exact erf form). */
void act_forward(int act, real *y, const real *x, size_t n);
void act_backward(int act, real *dx, const real *dy, const real *x, size_t n); /* dx += dy * act'(x) */
/* The gated feed-forward's y = act(gate) * up, keeping a = act(gate); its backward writes
 * (does not add) dgate = dy * up * act'(gate) and dup = dy * a. */
void act_gate_forward(int act, real *a, real *y, const real *gate, const real *up, size_t n);
void act_gate_backward(int act, real *dgate, real *dup, const real *dy, const real *gate, const real *up,
                       const real *a, size_t n);

/* ---- softmax cross-entropy, logits [N, V]. targets[n] < 0 are ignored. Returns the mean
 * loss over counted rows (0 if none) and writes the count. */
double xent_forward(const real *logits, const int32_t *targets, int N, int V, int *count);
/* dlogits = (softmax(logits) - onehot(target)) * scale for counted rows, 0 for ignored rows
 * (overwrites dlogits; may alias logits). */
void xent_backward(real *dlogits, const real *logits, const int32_t *targets, int N, int V, real scale);

#endif
