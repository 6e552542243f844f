/* large.h — xLSTM Large, the architecture of xLSTM-7B (NX-AI/xlstm `xlstm_large`), as the
 * "xlstm_large" architecture of the model interface (arch.c). Per token x [D]:
 *
 *   x = embedding[token]                                   no positions, no scaling
 *   for each of num_blocks blocks:
 *     x = x + mLSTM(RMSNorm(x))                            pre-norm residual blocks
 *     x = x + proj_down(SiLU(proj_up_gate(u)) * proj_up(u)),  u = RMSNorm(x)   (SwiGLU)
 *   logits = cap_30(lm_head(RMSNorm(x)))                   cap_c(z) = c tanh(z / c)
 *
 *   mLSTM(u): q = W_q u [NH x DK], k = W_k u, v = W_v u [NH x DV], o = W_o u [NH x DV],
 *     i = cap_15(W_i u + b_i), f = cap_15(W_f u + b_f) [NH]  (one scalar gate per head);
 *     per head (the kernels' function; keys scaled by 1/sqrt(DK), logsigmoid forget gate):
 *       m_t = max(logsigmoid(f_t) + m_{t-1}, i_t),
 *       C_t = e^{logsigmoid(f_t) + m_{t-1} - m_t} C_{t-1} + e^{i_t - m_t} k_t v_t^T,  n_t likewise,
 *       h_t = (q_t^T C_t) / (max(|q_t . n_t|, e^{-m_t}) + eps)      eps = 1e-6, added to the
 *       stabilized denominator (= max(|.|, 1) + eps e^{m_t} in unstabilized units), C = n = m = 0 first;
 *     y = out_proj(sigmoid(o) * LayerNorm_head(h))  per-head LayerNorm over DV, plain scale, no bias.
 *
 * Norms: RMSNorm x / sqrt(mean(x^2) + norm_eps) * w; norm_eps 1e-6. The sequence forms of the
 * cell (chunkwise, parallel) and the recurrent step are src/models/xlstm/mlstm_cell.c's, whose
 * state holds keys pre-scaled by 1/sqrt(DK) (the official state holds raw keys: C, n are
 * sqrt(DK) times ours; state_tensor converts). weight_mode "fused" only renames and joins
 * tensors: the buffer lays q, k, v, o (and i, f, and the FFN's gate and up) back to back in both
 * modes, so that the two modes compute the same bits. */
#ifndef XLSTM_LARGE_H
#define XLSTM_LARGE_H

#include "common.h"
#include "models/xlstm/arena.h"
#include "models/xlstm/layers.h"

/* ---------------------------------------------------------------- config (config.c) */

/* The official xLSTMLargeConfig (fields with their official names and defaults) and our
 * context_length. Kernel and mode names only choose the official GPU kernels: kept to be
 * written back, except that a chunkwise_kernel "parallel--..." selects the parallel form. */
typedef struct {
    int embedding_dim, num_heads, num_blocks, vocab_size; /* required */
    int use_bias, add_out_norm, norm_reduction_force_float32, return_last_states, fused;
    double norm_eps, eps, qk_dim_factor, v_dim_factor, ffn_proj_factor;
    double gate_soft_cap, output_logit_soft_cap; /* 0: none (null in the JSON) */
    int ffn_round_up_to_multiple_of, chunk_size, context_length;
    char chunkwise_kernel[64], sequence_kernel[64], step_kernel[64], mode[32];
    char autocast_kernel_dtype[32], inference_state_dtype[32];
    int qk_dim, v_dim, ffn_dim; /* derived */
} large_config;

int large_config_parse(large_config *c, const char *json, size_t len);
int large_config_to_json(const large_config *c, char **out);

/* ---------------------------------------------------------------- parameters (params.c) */

typedef struct {
    int D, NH, DK, DV, QK, VD, F, V, L; /* QK = NH*DK, VD = NH*DV */
    real norm_eps, eps, gate_cap, logit_cap;
} large_dims;

typedef struct {
    real *norm_mlstm;      /* [D] */
    real *qkvo;            /* [2 QK + 2 VD, D]: the rows of q, k, v, o */
    real *if_w, *if_b;     /* [2 NH, D], [2 NH]: input gates, then forget gates */
    real *head_norm;       /* [VD] multihead_norm */
    real *out_proj;        /* [D, VD] */
    real *norm_ffn;        /* [D] */
    ffn_weights ffn;       /* up_w [2F, D] (gate rows, then up rows), down_w [D, F]; no biases */
} large_block_weights;

typedef struct {
    real *embedding;       /* [V, D] */
    large_block_weights *blocks;
    real *out_norm;        /* [D] or NULL */
    real *head;            /* [V, D] */
} large_weights;

/* The parameter table (official names in the official order, in either weight mode) over one
 * buffer, and the weights bound to a buffer. */
typedef struct {
    xlstm_tensor *tensors;
    char *names;
    int n;
    size_t n_params;
} large_table;

int large_table_make(large_table *t, const large_config *c, large_dims d);
void large_table_free(large_table *t);
void large_bind(large_weights *w, real *buffer, large_dims d, int add_out_norm);
/* The official initialization (spec 8.7). */
void large_init_weights(const large_weights *w, large_dims d, uint64_t seed);

/* ---------------------------------------------------------------- the mLSTM layer (layer.c) */

/* A layer's activations over N = B*T rows; the forward keeps what its backward reads. In a
 * gradient set the same names hold those activations' gradients. */
typedef struct {
    real *q, *k;           /* [N, QK] */
    real *v, *o, *so;      /* [N, VD] o: the output gate's pre-activation, so = sigmoid(o) */
    real *ig, *fg;         /* [N, NH] capped gate pre-activations */
    real *h;               /* [N, VD] cell output */
    real *hn_mean, *hn_rstd; /* [N * NH] */
    real *hn;              /* [N, VD] LayerNorm_head(h) */
    real *out;             /* [N, VD] sigmoid(o) * hn, the input of out_proj */
    real *cell_saved;      /* training only */
    real *dF;              /* gradient set only: [N, NH] scratch of the stabilizer's gradient */
    real *cell_work;       /* scratch of the cell for `threads` threads */
    int threads;
} large_layer_acts;

typedef enum { LARGE_INFERENCE, LARGE_TRAINING, LARGE_GRADIENTS } large_role;

void large_layer_bind(large_layer_acts *a, arena *ar, large_dims d, int B, int T, mlstm_form form, large_role role,
                      int threads);
/* y [N, D] = mLSTM(x [N, D]); state: NULL (fresh), or C [B, NH, DK, DV], n [B, NH, DK], m [B, NH]
 * carried (T == 1: the recurrent step). Returns 0 or -1. */
int large_layer_forward(real *y, const real *x, const large_block_weights *w, large_layer_acts *a, large_dims d,
                        int B, int T, mlstm_form form, const mlstm_cell_state *state);
/* dx += d/dx, dw += d/dweights given dy; g: a gradient set. Returns 0 or -1. */
int large_layer_backward(real *dx, const real *dy, const real *x, const large_block_weights *w,
                         large_block_weights *dw, const large_layer_acts *a, large_layer_acts *g, large_dims d, int B,
                         int T, mlstm_form form);

/* ---------------------------------------------------------------- the model (model.c) */

typedef struct {
    real *xn1, *rstd1;     /* [N, D], [N]: norm_mlstm output and its rstd */
    real *xn2, *rstd2;     /* the same for norm_ffn */
    large_layer_acts m;
    ffn_acts f;
} large_block_acts;

typedef struct {
    int B, T, train, threads;
    real *res;             /* [(L + 1), N, D] the residual stream: input, then after each block */
    real *mid;             /* [L, N, D] (training; else [1, N, D]) after each block's mLSTM */
    large_block_acts *blocks; /* [L] (inference: all the same set) */
    real *post, *post_rstd; /* [N, D], [N] */
    real *logits;          /* [N, V] capped */
    real *y;               /* [N, D] a layer's output before the residual */
    int32_t *tokens, *targets; /* training copies */
    real *buffer;
} large_acts;

typedef struct {
    int B, T, threads;
    mlstm_form form;
    real *dres, *dxn;      /* [N, D] */
    real *dlogits;         /* [N, V] */
    large_layer_acts m;
    ffn_acts f;
    real *buffer;
} large_grad_scratch;

typedef struct {
    large_config cfg;
    large_dims d;
    mlstm_form form;
    large_table table;
    real *params, *grads;
    large_weights w, g;
    large_acts acts;
    large_grad_scratch scratch;
    int has_targets;
} large_model;

int large_create(large_model **out, const large_config *c);
void large_free(large_model *m);
int large_forward_batch(large_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss);
int large_backward(large_model *m);

/* One sequence's recurrent state: each block's C, n, m, and the activations of one token. */
typedef struct {
    const large_model *model;
    real *buffer;          /* per block C [NH, DK, DV], n [NH, DK], m [NH] */
    size_t size;
    large_acts step;
} large_state;

int large_state_create(const large_model *m, large_state **out);
void large_state_free(large_state *s);
int large_step(large_model *m, large_state *s, int32_t token, real *logits);
int large_prefill(large_model *m, large_state *s, const int32_t *tokens, int n, real *logits);
/* Block i's C, n, m inside a state buffer. */
mlstm_cell_state large_state_block(const large_model *m, real *buffer, int i);

#endif
