/* xlstm_ref.h — a naive xLSTM in the paper's notation (Beck et al. 2024, arXiv 2405.04517) and
 * the official code's arithmetic (NX-AI/xlstm 2.0.5, see shared/spec), for tests only: plain
 * loops in double precision, one sequence at a time, no threads, no blocking, no library code.
 * It is the oracle the library's fast paths are tested against (tests/unit/test_ref_*.c).
 *
 * Weights are the official tensors, in the layouts of src/models/xlstm/layers.h (which are the
 * official ones: sLSTM R in the vanilla layout [NH, 4*DH, DH], its bias (gate, head, unit)),
 * with the same field names, so that a test can fill both from one buffer. A bias pointer may
 * be NULL (no bias). Sequences are row-major [T, width]. */
#ifndef XLSTM_REF_H
#define XLSTM_REF_H

#include <stddef.h>
#include <stdint.h>

/* The official epsilons: of the mLSTM denominator (outside the max) and of the norms. */
#define REF_MLSTM_EPS 1e-6
#define REF_NORM_EPS 1e-5

/* ---------------------------------------------------------------- building blocks (ref_ops.c) */

double ref_sigmoid(double x);
double ref_logsigmoid(double x); /* log sigmoid(x), without overflow for any x */
double ref_silu(double x);       /* x sigmoid(x) */
double ref_gelu(double x);       /* exact: x Phi(x) */
/* Zeroed memory for n doubles; aborts the test program when there is none. */
double *ref_alloc(size_t n);

/* y [T, out] = x [T, in] W^T (+ b), W [out, in] (PyTorch's nn.Linear). */
void ref_linear(double *y, const double *x, const double *W, const double *b, int T, int in, int out);
/* Block-diagonal map: blocks of `in` inputs to `out` outputs, W [blocks, out, in]; y [T, blocks*out]. */
void ref_headwise(double *y, const double *x, const double *W, const double *b, int T, int blocks, int in, int out);
/* LayerNorm over groups of `width` values (G groups a row: G = 1 is LayerNorm, G = NH the
 * multi-head norm): (x - mean) / sqrt(var + eps) * (1 + w), biased variance, no bias. */
void ref_norm(double *y, const double *x, const double *w, int T, int G, int width);
/* Causal depthwise conv over C channels with K taps, w [C, 1, K], b [C]:
 * y_t[c] = b[c] + sum_k w[c][k] x_{t-(K-1)+k}[c], where x_{-K+1 .. -1} are hist [K-1, C] (the
 * inputs before this sequence, oldest first: zeros for a fresh one). hist then holds the last
 * K-1 inputs. */
void ref_causal_conv(double *y, const double *x, double *hist, const double *w, const double *b, int T, int C, int K);

/* ---------------------------------------------------------------- cells (ref_mlstm.c, ref_slstm.c) */

/* mLSTM, one head of head dim d, parallel form with the explicit decay matrix D (T x T):
 *   log f_t = logsigmoid(f~_t), F_t = sum_{r <= t} log f_r,
 *   log D_ts = F_t - F_s + i~_s (s <= t), -inf (s > t);  m_t = max_s log D_ts;  D = exp(log D - m),
 *   C~_ts = (q_t . k_s / sqrt(d)) D_ts,  n_t = max(|sum_s C~_ts|, exp(-m_t)),
 *   h_t = sum_s C~_ts / (n_t + eps) v_s.
 * q, k, v, h [T, d]; i_tilde, f_tilde [T] the raw gate pre-activations. */
void ref_mlstm_parallel(double *h, const double *q, const double *k, const double *v, const double *i_tilde,
                        const double *f_tilde, int T, int d);

/* mLSTM, one head, one recurrent step from (C, n, m) = (C_{t-1}, n_{t-1}, m_{t-1}), updated:
 *   m_t = max(log f_t + m_{t-1}, i~_t),  i_t = exp(i~_t - m_t),  f_t = exp(log f_t + m_{t-1} - m_t),
 *   C_t = f_t C_{t-1} + i_t k' v^T,  n_t = f_t n_{t-1} + i_t k'  (k' = k / sqrt(d)),
 *   h_t = q^T C_t / (max(|n_t . q|, exp(-m_t)) + eps).
 * C [d, d] is indexed [key][value]; a fresh state is C = n = 0, m = 0. */
void ref_mlstm_step(double *h, double *C, double *n, double *m, const double *q, const double *k, const double *v,
                    double i_tilde, double f_tilde, int d);

/* sLSTM, one step of all NH heads of DH units (D = NH*DH). state [4, D] = (h, c, n, m), updated.
 * wx [4, D]: the gate inputs W x_t in gate order (i, f, z, o). Per unit (head hd, unit j):
 *   g~ = (wx_g + sum_k R[hd][g*DH + j][k] h_{t-1}[hd*DH + k]) + b_g   (R mixes within a head),
 *   m_t = i~ if n_{t-1} = 0 (the first step; per unit, as the official CUDA kernel: the vanilla
 *         code tests all units at once, the same for a fresh state) else max(i~, m_{t-1} + logsigmoid(f~)),
 *   i_t = min(1, exp(i~ - m_t)),  f_t = min(1, exp(m_{t-1} + logsigmoid(f~) - m_t)),
 *   z_t = tanh(z~),  o_t = sigmoid(o~),
 *   c_t = f_t c_{t-1} + i_t z_t,  n_t = f_t n_{t-1} + i_t,  h_t = o_t c_t / n_t. */
void ref_slstm_step(double *state, const double *wx, const double *R, const double *b, int NH, int DH);

/* ---------------------------------------------------------------- layers */

typedef struct {
    int D, E, NH, K, bs;                     /* model dim, inner dim, heads, conv taps, q/k/v block */
    const double *proj_up_w, *proj_up_b;     /* [2E, D], [2E] */
    const double *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* [E/bs, bs, bs], [E] */
    const double *conv_w, *conv_b;           /* [E, 1, K], [E] */
    const double *igate_w, *igate_b;         /* [NH, 3E], [NH] */
    const double *fgate_w, *fgate_b;         /* [NH, 3E], [NH] */
    const double *outnorm_w, *skip;          /* [E], [E] */
    const double *proj_down_w, *proj_down_b; /* [D, E], [D] */
} ref_mlstm_layer;

typedef struct {
    int D, NH, K;                            /* K = 0: no conv */
    const double *conv_w, *conv_b;           /* [D, 1, K], [D] */
    const double *fgate_w, *igate_w, *zgate_w, *ogate_w; /* [NH, DH, DH] */
    const double *R, *bias;                  /* [NH, 4*DH, DH], [4*D] */
    const double *gn_w;                      /* [D] */
} ref_slstm_layer;

typedef struct {
    int D, F;                                /* GeLU only (the official default) */
    const double *up_w, *up_b;               /* [2F, D], [2F]: gate rows, then up rows */
    const double *down_w, *down_b;           /* [D, F], [D] */
} ref_ffn;

/* One sequence's recurrent state of a layer (zeros: fresh). */
typedef struct {
    double *hist;                            /* [K-1, E] the conv's last inputs */
    double *C, *n, *m;                       /* [NH, DH, DH], [NH, DH], [NH] */
} ref_mlstm_state;

typedef struct {
    double *hist;                            /* [K-1, D] (NULL when K <= 1) */
    double *cell;                            /* [4, D]: h, c, n, m */
} ref_slstm_state;

ref_mlstm_state ref_mlstm_state_new(const ref_mlstm_layer *w);
ref_slstm_state ref_slstm_state_new(const ref_slstm_layer *w);
void ref_mlstm_state_free(ref_mlstm_state *s);
void ref_slstm_state_free(ref_slstm_state *s);

/* The mLSTM layer ("pre up-projection"), y, x [T, D]:
 *   [x_m | z] = proj_up x;  x_c = silu(conv(x_m));  q = W_q x_c, k = W_k x_c, v = W_v x_m;
 *   i~, f~ = W_{i,f} [q, k, v] + b;  h~ = cell;  h = outnorm(h~) + skip * x_c;
 *   y = proj_down(h * silu(z)).
 * The cell runs from state s (updated) by recurrent steps, or with parallel != 0 in the
 * parallel form, which takes a fresh state (s is then updated except for the cell). */
void ref_mlstm_layer_forward(double *y, const double *x, int T, const ref_mlstm_layer *w, ref_mlstm_state *s,
                             int parallel);

/* The sLSTM layer, y, x [T, D]: x_c = silu(conv(x)) (x without a conv); gate inputs
 * (i, f, z, o) = (fgate x_c, igate x_c, zgate x, ogate x) (the official crosswise names);
 * h = cell from state s (updated); y = groupnorm(h). */
void ref_slstm_layer_forward(double *y, const double *x, int T, const ref_slstm_layer *w, ref_slstm_state *s);

/* The gated feed-forward, y, x [T, D]: [g | u] = up x; y = down(gelu(g) * u). */
void ref_ffn_forward(double *y, const double *x, int T, const ref_ffn *w);

/* ---------------------------------------------------------------- blocks and the LM (ref_lm.c) */

typedef struct {
    int is_slstm;
    const double *norm_w;                    /* [D] xlstm_norm */
    ref_mlstm_layer m;
    ref_slstm_layer s;
    const double *ffn_norm_w;                /* [D] sLSTM blocks with a feed-forward, else NULL */
    ref_ffn f;
} ref_block;

typedef struct {
    int V, D, L;
    const double *embedding;                 /* [V, D] */
    ref_block *blocks;                       /* [L] */
    const double *post_norm_w;               /* [D] or NULL (no post-blocks norm) */
    const double *head;                      /* [V, D] (the embedding when tied) */
} ref_lm;

typedef struct {
    ref_mlstm_state m;
    ref_slstm_state s;
} ref_block_state;

ref_block_state *ref_lm_state_new(const ref_lm *lm);
void ref_lm_state_free(ref_block_state *s, const ref_lm *lm);

/* One block, x [T, D] -> x: x += layer(LN(x)), then for an sLSTM block with one,
 * x += ffn(LN(x)). */
void ref_block_forward(double *x, int T, const ref_block *b, ref_block_state *s, int parallel);

/* logits [T, V] of one sequence of tokens from state s (updated): embedding, blocks, post-norm,
 * head. block_out: NULL, or [L, T, D] the residual stream after each block. parallel: the
 * mLSTM cells in the parallel form (fresh state), else recurrent steps. */
void ref_lm_forward(double *logits, double *block_out, const ref_lm *lm, const int32_t *tokens, int T,
                    ref_block_state *s, int parallel);

#endif
