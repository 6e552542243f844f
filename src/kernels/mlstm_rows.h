/* mlstm_rows.h — the mLSTM layer's elementwise work as a few fused passes over rows: the
 * causal conv and SiLU, the block-diagonal q, k, v maps and the input and forget gates in
 * one pass; the out-norm, the learnable skip and the output gate in another; and their
 * backwards. Each row's pieces stay in cache from one operation to the next. A pass runs
 * its rows in parallel above PAR_MIN_ELEMS (tuning.h); with fewer (a generation step) the
 * forward splits each row's channels and gates over the threads instead. The backward adds
 * its weight gradients into per-thread partial sums (split.h), so that its result depends
 * on the thread count, not on timing. As in ops.h, a backward adds into the weight
 * gradients.
 *
 * N = B*T rows of E = NH*DH channels; the q/k/v maps have blocks of bs x bs; the gates read
 * concat(q, k, v) [3E]. */
#ifndef XLSTM_MLSTM_ROWS_H
#define XLSTM_MLSTM_ROWS_H

#include "../common.h"

typedef struct {
    int B, T;         /* sequences, steps */
    int E, NH, K, bs; /* channels, heads, conv taps, q/k/v block size */
} mlstm_rows_dims;

/* The weights the passes read, or (bound to the gradients) where the backward adds. */
typedef struct {
    real *conv_w, *conv_b;       /* [E, K], [E] */
    real *qkv_w[3], *qkv_b[3];   /* q, k, v: [E/bs, bs, bs], [E] (NULL: no bias) */
    real *gate_w[2], *gate_b[2]; /* input, forget gate: [NH, 3E], [NH] */
    real *norm_w, *skip;         /* the out-norm's weight, the learnable skip: [E] */
} mlstm_rows_weights;

/* The activations, [N, E] unless said; in the backward, bound to scratch, their gradients. */
typedef struct {
    real *x_m, *z;     /* the up-projection's two halves */
    real *x_c;         /* SiLU(conv(x_m)) */
    real *conv;        /* gradients only: SiLU'(conv), then the gradient at the conv's output */
    real *q, *k, *v;   /* q, k from x_c; v from x_m */
    real *ig, *fg;     /* [N, NH] the gates' pre-activations */
    real *h;           /* the cell's output */
    real *mean, *rstd; /* [N, NH] the out-norm's statistics */
    real *out;         /* (outnorm(h) + skip * x_c) * SiLU(z), the input of proj_down */
    real *qkv_wt;      /* scratch [3, E, bs]: the q, k, v weights transposed per block */
    real *partial;     /* gradients only: [threads, mlstm_rows_partial_floats()] */
    int threads;       /* gradients only: the most threads a backward pass runs on */
} mlstm_rows_acts;

/* Floats of one thread's partial sums in the backward. */
size_t mlstm_rows_partial_floats(mlstm_rows_dims d);

/* x_c = SiLU(conv(x_m)) (inputs before the first step from hist [B, K-1, E], or zeros when
 * hist is NULL), q = Wq x_c, k = Wk x_c, v = Wv x_m (+ biases), and the gates
 * ig, fg [n, h] = concat(q, k, v)[n] . W_{i,f}[h] + b_{i,f}[h]. */
void mlstm_rows_qkv_forward(const mlstm_rows_acts *a, const mlstm_rows_weights *w, const real *hist,
                            mlstm_rows_dims d);

/* out = (outnorm(h) + skip * x_c) * SiLU(z), keeping the norm's mean and rstd. */
void mlstm_rows_out_forward(const mlstm_rows_acts *a, const mlstm_rows_weights *w, mlstm_rows_dims d);

/* For the backward, what the forward did not keep (from a fresh sequence): x_c, q, k and out
 * again into a (the same values: the same operations), SiLU'(conv) into g->conv and
 * sigmoid(z) into g->z. */
void mlstm_rows_recompute(const mlstm_rows_acts *a, const mlstm_rows_acts *g, const mlstm_rows_weights *w,
                          mlstm_rows_dims d);

/* Back through the output: from the gradient at out in g->out and sigmoid(z) in g->z (from
 * the recomputation), the gradient at z into g->z, at x_c through the skip into g->x_c and at
 * h through the norm into g->h (all written); dw->skip and dw->norm_w += theirs. It also
 * zeroes g->q, k, v, ig, fg, which the cell's backward adds into. */
void mlstm_rows_out_backward(const mlstm_rows_acts *g, const mlstm_rows_weights *dw, const mlstm_rows_acts *a,
                             const mlstm_rows_weights *w, mlstm_rows_dims d);

/* Back through the gates (into g->q, k, v) and the q, k, v maps, given the gradients at
 * q, k, v, ig, fg: g->x_c += through q and k, g->x_m = through v (written), then
 * g->conv = g->x_c SiLU'(conv); the maps' and the gates' weight gradients added into dw. */
void mlstm_rows_qkv_backward(const mlstm_rows_acts *g, const mlstm_rows_weights *dw, const mlstm_rows_acts *a,
                             const mlstm_rows_weights *w, mlstm_rows_dims d);

#endif
