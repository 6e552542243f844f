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
#include "matmul.h"

#define XLSTM_NORM_EPS 1e-5

/* A function marked AVX2_CLONES is compiled twice, for AVX2 and for baseline x86-64, and
 * the CPU's own version is chosen at load time (as OpenBLAS chooses its kernels), while the
 * build itself targets baseline x86-64 so that its binaries run on any x86-64. The choice is
 * made by glibc's ifunc, hence the guard. Used for the loops of batch-1 generation, which
 * run from cache or stream weights, where the vector width counts. Neither clone contracts
 * a*b+c into an FMA (C11 mode; "avx2" does not enable FMA), so elementwise loops give the
 * same bits in both. XLSTM_NO_CLONES (make CLONES=no) leaves only the baseline code, so that
 * the tests run it on any machine; XLSTM_CLONES says which was built (xlstm_build_info). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(XLSTM_NO_CLONES)
#define AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#define XLSTM_CLONES 1
#else
#define AVX2_CLONES
#define XLSTM_CLONES 0
#endif

/* Sums in explicit lanes (matmul.c's dot products, norm.c's slices): LANES partial sums, lane
 * j taking the terms k = j mod LANES in order of k, added at the end in a fixed tree. The
 * order is the code's, not the compiler's (as an `omp simd` reduction's would be: its lanes
 * are as wide as the clone's vectors), so the result has the same bits in either clone. */
#define LANES 8
#define LANES_TOTAL(a) ((((a)[0] + (a)[4]) + ((a)[1] + (a)[5])) + (((a)[2] + (a)[6]) + ((a)[3] + (a)[7])))

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

/* log1p_r: log(1 + x). tanh_r: tanh(x). In float both vectorize (no calls, no branches;
 * special cases by select_r); the double build keeps libm. Measured over dense sweeps in
 * tests/unit/test_ops_float_math.c: log1p_r within 1 ulp (0.84), tanh_r within 2 (1.33).
 * log1p_r: log(u) of u = fl(1 + x) by Cephes' logf (u = 2^e (1 + f), 1 + f in [sqrt(1/2),
 * sqrt(2)), a degree-8 polynomial in f, ln 2 in two parts), plus c / u for the rounding
 * error c = (1 + x) - u, which is exact (Sterbenz): log(1 + x) = log(u) + log1p(c / u)
 * and c / u < 2^-24. x = inf gives inf, -1 gives -inf, below -1 or NaN gives NaN.
 * tanh_r: Cephes' tanhf: an odd polynomial below |x| = 0.625, else 1 - 2 / (e^{2|x|} + 1)
 * with the sign of x (e^{2|x|} = inf gives 1). */
#ifdef XLSTM_DOUBLE
static inline real log1p_r(real x) { return log1p(x); }
static inline real tanh_r(real x) { return tanh(x); }
#else
static inline float log1p_r(float x)
{
    float u = 1 + x, c = (x - (u - 1)) / u;
    /* the exponent field of bits(u) + bits(1) - bits(sqrt(1/2)) is e + 127 for u / 2^e in
     * [sqrt(1/2), sqrt(2)); the mantissa field plus bits(sqrt(1/2)) is then u / 2^e */
    float_bits b = {u};
    uint32_t t = b.u + (0x3f800000u - 0x3f3504f3u);
    float e = (float)((int32_t)(t >> 23) - 127);
    b.u = (t & 0x007fffffu) + 0x3f3504f3u;
    float f = b.f - 1, z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    float y = p * f * z + e * -2.12194440e-4f + c - 0.5f * z;
    float r = (f + y) + e * 0.693359375f;
    r = select_r(x == INFINITY, x, r);
    r = select_r(x == -1, -INFINITY, r);
    return select_r(x < -1, NAN, r);
}

static inline float tanh_r(float x)
{
    float a = fabs(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float big = 1 - 2 / (exp_r(2 * a) + 1);
    return select_r(a < 0.625f, p * z * x + x, copysign(big, x));
}
#endif

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: no overflow either way */
static inline real sigmoid_r(real x)
{
    real e = exp_r(x >= 0 ? -x : x), d = 1 + e;
    return select_r(x >= 0, 1 / d, e / d);
}
/* log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(e^-|x|), without overflow and without
 * a branch, so that float loops over it vectorize (log1p_r, exp_r; within 2 ulp, 1.62
 * measured in tests/unit/test_ops_float_math.c) */
static inline real logsigmoid_r(real x) { return select_r(x < 0, x, 0) - log1p_r(exp_r(-fabs(x))); }
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

/* ---- xLSTM Large's norms: a plain scale w [G*C] (out = xhat * w, not 1 + w; w may be NULL) and
 * a given eps. The per-head LayerNorm is groupnorm with that scale; RMSNorm (x, out [N, C],
 * rstd [N]) is out = x / sqrt(mean(x^2) + eps) * w. The backwards add into dx and dw. */
void scaled_groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C,
                              real eps);
void scaled_groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                               const real *rstd, int N, int G, int C);
void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int C, real eps);
void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *rstd, int N,
                      int C);

/* ---- causal depthwise conv1d, x [B, T, C] (contiguous), w [C, K] (official [C, 1, K]),
 * bias [C]: y[b,t,c] = bias[c] + sum_k w[c,k] x[b, t-(K-1)+k, c]. Inputs before time 0
 * come from hist [B, K-1, C] (the previous K-1 inputs, oldest first; recurrent inference)
 * or are zero when hist is NULL (a fresh sequence). */
void causal_conv_forward(real *y, const real *x, const real *hist, const real *w, const real *bias, int B, int T,
                         int C, int K);
/* Channels [c0, c1) of one output row (row = b*T + t of the B*T rows) of the forward above,
 * y [C] (only those channels written); serial, for callers that fuse the conv into passes
 * of their own. */
void causal_conv_row(real *y, const real *x, const real *hist, const real *w, const real *bias, long row, int T,
                     int C, int K, int c0, int c1);
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
/* One row's map (batch-1 generation) as H maps of x [H*din] into y [H*dout] added to batch
 * (matmul.h): they run in one parallel region with the caller's other maps. */
void headwise_forward_maps(linear_batch *batch, real *y, const real *x, const real *W, const real *bias, int H, int dout,
                           int din);
/* dx += ..., dW += ..., dbias += ... (dx and dbias may be NULL). */
void headwise_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                       const real *W, int N, int H, int dout, int din);

/* One row of either (serial: for callers that fuse it into a pass over rows of their own):
 * y [H*dout] = the map of x [H*din]; dx [H*din] += ..., dW += ..., dbias += ... (each may be
 * NULL; x is read only for dW). */
void headwise_row_forward(real *y, const real *x, const real *W, const real *bias, int H, int dout, int din);
void headwise_row_backward(real *dx, real *dW, real *dbias, const real *dy, const real *x, const real *W, int H,
                           int dout, int din);
/* The row forward from the weights transposed per block, WT [H, din, dout] (from
 * headwise_transpose): the same bits as headwise_row_forward, and for the mLSTM's 4x4 blocks
 * 5x faster, for callers with rows enough to repay the transposition. */
void headwise_transpose(real *WT, const real *W, int H, int dout, int din);
void headwise_row_forward_t(real *y, const real *x, const real *WT, const real *bias, int H, int dout, int din);

/* out = x + y over n values: a residual connection (out may be x or y). */
void residual_add(real *out, const real *x, const real *y, size_t n);

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

/* ---- soft cap y = cap tanh(x / cap) over n values (xLSTM Large's gates and logits); its backward
 * from the output writes (not adds) dx = dy (1 - (y / cap)^2); dx may be dy. */
void softcap_forward(real *y, const real *x, size_t n, real cap);
void softcap_backward(real *dx, const real *dy, const real *y, size_t n, real cap);

/* ---- softmax cross-entropy, logits [N, V]. targets[n] < 0 are ignored. Returns the mean
 * loss over counted rows (0 if none) and writes the count. */
double xent_forward(const real *logits, const int32_t *targets, int N, int V, int *count);
/* dlogits = (softmax(logits) - onehot(target)) * scale for counted rows, 0 for ignored rows
 * (overwrites dlogits; may alias logits). */
void xent_backward(real *dlogits, const real *logits, const int32_t *targets, int N, int V, real scale);

#endif
