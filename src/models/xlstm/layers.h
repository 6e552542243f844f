/* layers.h — the xLSTM layers (mLSTM layer, sLSTM layer, gated feed-forward): their
 * weights, the activations their forward saves for the backward, and forward/backward
 * side by side. Weights structs hold pointers into the model's contiguous parameter
 * buffer (or, bound to the gradient buffer, into the gradients). N = B*T rows. */
#ifndef XLSTM_LAYERS_H
#define XLSTM_LAYERS_H

#include "common.h"
#include "arena.h"
#include "mlstm_cell.h"

/* ---------------------------------------------------------------- shapes */

typedef struct {
    int D, E, NH, DH, K, bs, bias; /* model dim, inner dim, heads, head dim, conv, qkv block, biases */
} mlstm_dims;

typedef struct {
    int D, NH, DH, K;              /* K = 0: no convolution */
} slstm_dims;

typedef struct {
    int D, F, act, bias;           /* F = up-projection width */
} ffn_dims;

mlstm_dims mlstm_dims_of(const xlstm_config *cfg);
slstm_dims slstm_dims_of(const xlstm_config *cfg);
ffn_dims ffn_dims_of(const xlstm_config *cfg);

/* ---------------------------------------------------------------- weights */

typedef struct {
    real *proj_up_w, *proj_up_b;          /* [2E, D], [2E] (bias only if dims.bias) */
    real *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* [E/bs, bs, bs], [E] */
    real *conv_w, *conv_b;                /* [E, 1, K], [E] */
    real *igate_w, *igate_b;              /* [NH, 3E], [NH] */
    real *fgate_w, *fgate_b;              /* [NH, 3E], [NH] */
    real *outnorm_w;                      /* [E] */
    real *skip;                           /* [E] learnable_skip */
    real *proj_down_w, *proj_down_b;      /* [D, E], [D] */
} mlstm_weights;

typedef struct {
    real *conv_w, *conv_b;                /* [D, 1, K], [D]; NULL when K == 0 */
    real *fgate_w, *igate_w, *zgate_w, *ogate_w; /* [NH, DH, DH] each */
    real *R;                              /* [NH, 4*DH, DH], the official vanilla layout */
    real *bias;                           /* [4*D] ordered (gate, head, unit) */
    real *gn_w;                           /* [D] group norm */
} slstm_weights;

typedef struct {
    real *up_w, *up_b;                    /* [2F, D], [2F]: first F rows = gate, next F = up */
    real *down_w, *down_b;                /* [D, F], [D] */
} ffn_weights;

/* ---------------------------------------------------------------- recurrent state */

/* Per-sequence state of one layer (B sequences). conv_hist [B, K-1, width] holds the
 * last K-1 inputs of the causal conv, oldest first. */
typedef struct {
    real *conv_hist;                      /* [B, K-1, E] */
    mlstm_cell_state cell;                /* C [B, NH, DH, DH], n [B, NH, DH], m [B, NH] */
} mlstm_state;

typedef struct {
    real *conv_hist;                      /* [B, K-1, D] (NULL when K == 0) */
    real *cell;                           /* [4, B, D]: y, c, n, m */
} slstm_state;

void mlstm_state_bind(mlstm_state *s, arena *a, mlstm_dims d, int B);
void slstm_state_bind(slstm_state *s, arena *a, slstm_dims d, int B);

/* ---------------------------------------------------------------- activations */

/* What a set of activations is bound for: a forward alone, a forward that a backward follows
 * (which also keeps the cells' saved values), or the activation gradients of a backward. */
typedef enum { ACTS_INFERENCE, ACTS_TRAINING, ACTS_GRADIENTS } acts_role;

/* What the mLSTM layer forward keeps for its backward. The same struct, bound to scratch,
 * holds the gradients of these activations during the backward. */
typedef struct {
    real *x_m, *z;          /* [N, E] the two halves of the up-projection */
    real *v;                /* [N, E] */
    real *h;                /* [N, E] cell output (before the out-norm) */
    real *ig, *fg;          /* [N, NH] gate pre-activations */
    real *gn_mean, *gn_rstd;/* [N * NH] */
    /* Temporaries (MLSTM_TEMPS of [N, E]), which only the forward and then the backward's
     * recomputation use, so that all layers of a model can share them: */
    real *x_c;              /* SiLU(conv(x_m)) */
    real *q, *k;            /* from x_c */
    real *out;              /* (outnorm(h) + skip * x_c) * SiLU(z), the input of proj_down */
    real *conv;             /* [N, E] bound only when the temporaries are not shared: in a
                             * gradient scratch, the gradient at the conv output */
    real *cell_saved;       /* what the cell forward saves (NULL in inference) */
    real *qkv_wt;           /* [3, E, bs] scratch: the q, k, v weights transposed per block */
    /* Scratch for up to `threads` threads (bound for that many, so that no call allocates):
     * the cell's (its forward's, or in a gradient set its backward's) and, in a gradient
     * set, the per-thread partial sums of the weight gradients. */
    real *cell_work, *partial;
    int threads;
} mlstm_acts;
#define MLSTM_TEMPS 4

typedef struct {
    real *conv, *x_c;       /* [N, D] (unused when K == 0: x_c then aliases the input) */
    real *wx;               /* [N, 4D] gate inputs, (gate, head, unit) */
    real *h;                /* [N, D] cell output */
    real *gn_mean, *gn_rstd;/* [N * NH] */
    real *cell_saved;
    real *cell_work;        /* scratch of the cell's forward and step (NULL in a gradient set) */
} slstm_acts;

typedef struct {
    real *gate, *up;        /* [N, F] */
    real *act;              /* [N, F] act(gate) */
    real *out;              /* [N, F] act(gate) * up, the input of proj_down */
} ffn_acts;

/* shared: NULL, or mlstm_shared_floats() reals for the mLSTM temporaries and the cell's
 * forward scratch (one such buffer can serve every layer of a model; while the arena only
 * measures, any non-NULL pointer). threads: the most threads the layer calls will run on. */
size_t mlstm_shared_floats(mlstm_dims d, int B, int T, mlstm_form form, int threads);
void mlstm_acts_bind(mlstm_acts *a, arena *ar, mlstm_dims d, int B, int T, mlstm_form form, acts_role role,
                     real *shared, int threads);
void slstm_acts_bind(slstm_acts *a, arena *ar, slstm_dims d, int B, int T, acts_role role);
void ffn_acts_bind(ffn_acts *a, arena *ar, ffn_dims d, int N);

/* ---------------------------------------------------------------- forward / backward
 * The forwards and the mLSTM backward allocate nothing (their scratch is in the acts); they
 * return 0, or -1 (message set) when a cell refuses its sizes. */

/* y [N, D] = mLSTM layer (x [N, D]). state: NULL for a fresh sequence (training), else the
 * carried state, read and updated (T == 1 uses the recurrent step). */
int mlstm_layer_forward(real *y, const real *x, const mlstm_weights *w, mlstm_acts *a, mlstm_dims d, int B, int T,
                         mlstm_form form, mlstm_state *state);
/* dx += d/dx, dw += d/dweights, given dy; g is scratch activation-gradient storage
 * (bound like the acts, zeroed here). */
int mlstm_layer_backward(real *dx, const real *dy, const real *x, const mlstm_weights *w, mlstm_weights *dw,
                          const mlstm_acts *a, mlstm_acts *g, mlstm_dims d, int B, int T, mlstm_form form);

int slstm_layer_forward(real *y, const real *x, const slstm_weights *w, slstm_acts *a, slstm_dims d, int B, int T,
                         slstm_state *state);
void slstm_layer_backward(real *dx, const real *dy, const real *x, const slstm_weights *w, slstm_weights *dw,
                          const slstm_acts *a, slstm_acts *g, slstm_dims d, int B, int T);

void ffn_forward(real *y, const real *x, const ffn_weights *w, ffn_acts *a, ffn_dims d, int N);
void ffn_backward(real *dx, const real *dy, const real *x, const ffn_weights *w, ffn_weights *dw, const ffn_acts *a,
                  ffn_acts *g, ffn_dims d, int N);

#endif
