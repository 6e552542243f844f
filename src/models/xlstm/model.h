/* model.h — the paper's xLSTM[a:b] language model, the "xlstm" architecture of the
 * model interface (arch.c): parameter table (official names, one contiguous buffer), block
 * structure, activations, and the internals shared by model.c (forward and backward),
 * params.c (names and layout), init.c, state.c (recurrent inference) and checkpoint.c. */
#ifndef XLSTM_MODEL_H
#define XLSTM_MODEL_H

#include "common.h"
#include "arena.h"
#include "layers.h"

typedef struct {
    real *xlstm_norm_w;     /* [D] pre-norm of the layer */
    mlstm_weights m;        /* mLSTM block */
    slstm_weights s;        /* sLSTM block ... */
    real *ffn_norm_w;       /* ... with its feed-forward (NULL when the config has none) */
    ffn_weights f;
} block_weights;

typedef struct {
    real *embedding;        /* [V, D] token_embedding.weight */
    block_weights *blocks;  /* [num_blocks] */
    real *post_norm_w;      /* [D] or NULL */
    real *head;             /* [V, D] lm_head.weight (== embedding when tied) */
} lm_weights;

/* Activations of one forward over B x T tokens (training keeps the backward's needs too). */
typedef struct {
    int B, T, train;
    int threads;            /* the most threads its layers' scratch was sized for */
    real *res;              /* [(L + 1), N, D] residual stream: input, then after each block */
    real *ln1;              /* [N, D] the current block's pre-norm output, its layer's input
                             * (the backward recomputes it from the residual) */
    real **res_mid, **ln2;  /* [L] -> [N, D] for blocks with an FFN (else NULL): the residual
                             * after the layer, and the FFN's pre-norm output */
    real *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd; /* [L, N] */
    real *post;             /* [N, D] post-blocks norm output */
    real *post_mean, *post_rstd; /* [N] */
    real *logits;           /* [N, V] */
    real *y;                /* [N, D] a layer's output before it joins the residual */
    mlstm_acts *m;          /* [L] per block (only mLSTM blocks bound) */
    slstm_acts *s;          /* [L] */
    ffn_acts *f;            /* [L] */
    int32_t *tokens;        /* [N] (training) copy of the forward's tokens: the embedding backward */
    int32_t *targets;       /* [N] (training) copy of the forward's targets */
    real *buffer;
} lm_acts;

/* Scratch for the backward: gradients of one layer's activations at a time. */
typedef struct {
    int B, T, chunk, parallel, threads; /* the shape, mLSTM form and threads it was sized for */
    real *dres, *dln;       /* [N, D] gradients at the residual and at a pre-norm output */
    real *ln;               /* [N, D] a block's recomputed pre-norm output */
    mlstm_acts m;
    slstm_acts s;
    ffn_acts f;
    real *buffer;
} lm_grad_scratch;

/* The official parameter list: names, shapes and offsets into one buffer. */
typedef struct {
    xlstm_tensor *tensors;
    char *names;            /* storage for the tensor names */
    size_t names_used, names_cap;
    int n, cap;
    size_t n_params;
} param_table;

/* Walks a parameter list in the official order. In record mode (base == NULL) each
 * visited tensor is appended to the table; in bind mode each weight pointer is set to
 * base + the tensor's offset. Both modes visit the same sequence, so they agree. */
typedef struct {
    param_table *t;
    real *base;
    int idx;
    int failed;
} param_walk;

void walk_mlstm_layer(param_walk *w, const char *prefix, mlstm_dims d, mlstm_weights *out);
void walk_slstm_layer(param_walk *w, const char *prefix, slstm_dims d, slstm_weights *out);
void walk_lm(param_walk *w, const xlstm_config *cfg, lm_weights *out);
/* Record: build the table with `fn`; returns -1 (message set) on failure. */
int param_table_record(param_table *t, void (*fn)(param_walk *, void *), void *ctx);
void param_table_free(param_table *t);
const xlstm_tensor *param_table_find(const param_table *t, const char *name);

typedef struct lm_model lm_model;

struct lm_model {
    xlstm_config cfg;
    mlstm_dims md;
    slstm_dims sd;
    ffn_dims fd;
    mlstm_form form;
    param_table table;      /* official named_parameters(), in the official order */
    real *params, *grads;
    lm_weights w, g;        /* bound to params and to grads */
    lm_acts acts;           /* for the last forward's (B, T) */
    lm_grad_scratch scratch;
    int has_targets;        /* the last forward had targets, and no backward has used them */
};

/* model.c */
int lm_create(lm_model **out, const xlstm_config *cfg);
void lm_free(lm_model *m);
/* chunk >= 1: the chunkwise mLSTM in chunks of that length; 0: the parallel form */
int lm_set_chunk_size(lm_model *m, int chunk);
/* The forward of the interface (xlstm_forward; tokens checked) into m->acts. */
int lm_forward_batch(lm_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss);
const real *lm_logits(const lm_model *m);
const real *lm_block_output(const lm_model *m, int block);
int lm_backward(lm_model *m);
int lm_acts_alloc(const lm_model *m, lm_acts *a, int B, int T, int train);
void lm_acts_free(const lm_model *m, lm_acts *a);
/* The forward over tokens [B, T] into a->logits; states (one per block, B sequences) may be
 * NULL (fresh sequences) or carried recurrent states. */
typedef struct lm_block_state { mlstm_state m; slstm_state s; } lm_block_state;
int lm_forward(const lm_model *m, lm_acts *a, const int32_t *tokens, int B, int T, lm_block_state *states);

/* init.c: the official initialization from the seed */
int lm_init(lm_model *m, uint64_t seed);

/* state.c: one sequence's recurrent state */
typedef struct lm_state lm_state;
int lm_state_create(const lm_model *m, lm_state **out);
void lm_state_free(lm_state *s);
void lm_state_reset(lm_state *s);
void lm_state_copy(lm_state *dst, const lm_state *src);
size_t lm_state_bytes(const lm_state *s);
int lm_step(lm_model *m, lm_state *s, int32_t token, real *logits);
int lm_prefill(lm_model *m, lm_state *s, const int32_t *tokens, int n, real *logits);

/* checkpoint.c: write the parameters with official names and layouts, and the metadata */
int lm_save(const lm_model *m, const char *path, const char *const *meta);
/* Tensor t of buffer (the parameters or their gradients) in the checkpoint's layout. */
void lm_tensor_to_file(const lm_model *m, const xlstm_tensor *t, const real *buffer, real *out);

#endif
