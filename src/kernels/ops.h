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
static inline real sigmoid_r(real x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
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

/* ---- causal depthwise conv1d, x [B, T, C] (contiguous), w [C, K] (official [C, 1, K]),
 * bias [C]: y[b,t,c] = bias[c] + sum_k w[c,k] x[b, t-(K-1)+k, c]. Inputs before time 0
 * come from hist [B, K-1, C] (the previous K-1 inputs, oldest first; recurrent inference)
 * or are zero when hist is NULL (a fresh sequence). */
void causal_conv_forward(real *y, const real *x, const real *hist, const real *w, const real *bias, int B, int T,
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

/* ---- activations over arrays of n values */
void silu_forward(real *y, const real *x, size_t n);
void silu_backward(real *dx, const real *dy, const real *x, size_t n); /* dx += dy * silu'(x) */
/* FFN activation by enum xlstm_act_fn (gelu = exact erf form). */
void act_forward(int act, real *y, const real *x, size_t n);
void act_backward(int act, real *dx, const real *dy, const real *x, size_t n); /* dx += dy * act'(x) */

/* ---- softmax cross-entropy, logits [N, V]. targets[n] < 0 are ignored. Returns the mean
 * loss over counted rows (0 if none) and writes the count. */
double xent_forward(const real *logits, const int32_t *targets, int N, int V, int *count);
/* dlogits = (softmax(logits) - onehot(target)) * scale for counted rows, 0 for ignored rows
 * (overwrites dlogits; may alias logits). */
void xent_backward(real *dlogits, const real *logits, const int32_t *targets, int N, int V, real scale);

#endif
