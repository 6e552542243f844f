/*
 * xlstm.h — public API of libxlstm: xLSTM language models (Beck et al., arXiv 2405.04517)
 * in plain C, numerically equal to the official NX-AI PyTorch implementation.
 *
 * Error discipline (after SQLite): every function that can fail returns 0 on success and
 * -1 on failure; xlstm_errmsg() then returns a one-line message naming what was wrong.
 * The library never prints and never exits the process.
 *
 * Build variants: by default every tensor is float32. Compiled with -DXLSTM_DOUBLE the
 * same code runs in float64 (used by the finite-difference gradient tests).
 */
#ifndef XLSTM_H
#define XLSTM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef XLSTM_DOUBLE
typedef double xlstm_real;
#else
typedef float xlstm_real;
#endif

/* ---------------------------------------------------------------- errors */

/* The message of the last failure on this thread ("" if none). */
const char *xlstm_errmsg(void);
/* Build description: precision, BLAS backend, AVX2 clones, OpenMP threads. */
const char *xlstm_build_info(void);

/* ---------------------------------------------------------------- config */

#define XLSTM_MAX_BLOCKS 1024

enum xlstm_act_fn { XLSTM_ACT_GELU, XLSTM_ACT_RELU, XLSTM_ACT_RELU2, XLSTM_ACT_SIGMOID, XLSTM_ACT_SWISH, XLSTM_ACT_SELU };
enum xlstm_bias_init { XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT, XLSTM_BIAS_SMALL_INIT, XLSTM_BIAS_STANDARD, XLSTM_BIAS_ZEROS };
enum xlstm_recurrent_init { XLSTM_RECURRENT_ZEROS, XLSTM_RECURRENT_STANDARD };
/* Storage layout of the sLSTM `_recurrent_kernel_` and `_bias_` in checkpoints (see the spec). */
enum xlstm_slstm_backend { XLSTM_BACKEND_CUDA, XLSTM_BACKEND_VANILLA };

typedef struct {
    int conv1d_kernel_size;    /* default 4 (must be >= 1) */
    int qkv_proj_blocksize;    /* default 4 */
    int num_heads;             /* default 4 */
    double proj_factor;        /* default 2.0 */
    int round_proj_up_dim_up;  /* default 1 */
    int round_proj_up_to_multiple_of; /* default 64 */
    int inner_dim;             /* derived: E = proj_factor * D rounded to the multiple */
} xlstm_mlstm_config;

typedef struct {
    int num_heads;             /* default 4 */
    int conv1d_kernel_size;    /* default 4; 0 = no convolution */
    int bias_init;             /* enum xlstm_bias_init, default powerlaw_blockdependent */
    int recurrent_weight_init; /* enum xlstm_recurrent_init, default zeros */
    int backend;               /* enum xlstm_slstm_backend, default cuda */
} xlstm_slstm_config;

typedef struct {
    int enabled;               /* 0 when slstm_block.feedforward is null */
    double proj_factor;        /* default 1.3 */
    int act_fn;                /* enum xlstm_act_fn, default gelu */
    int bias;                  /* default 0 */
    int round_proj_up_dim_up;  /* default 1 */
    int round_proj_up_to_multiple_of; /* default 64 */
    int up_dim;                /* derived: F */
} xlstm_ffn_config;

typedef struct {
    int vocab_size;            /* required for an LM */
    int context_length;        /* default -1 (unset): used only as a default training length */
    int num_blocks;            /* default 1 */
    int embedding_dim;         /* default 128 */
    int add_post_blocks_norm;  /* default 1 */
    int bias;                  /* default 0: biases in the mLSTM layer's linear maps */
    int tie_weights;           /* default 0 */
    int weight_decay_on_embedding; /* default 0 */
    int has_mlstm_block;       /* the config had an mlstm_block entry */
    int has_slstm_block;       /* the config had an slstm_block entry */
    unsigned char is_slstm[XLSTM_MAX_BLOCKS]; /* block map derived from slstm_at */
    xlstm_mlstm_config mlstm;
    xlstm_slstm_config slstm;
    xlstm_ffn_config ffn;
} xlstm_config;

/* The official defaults (an xLSTMLMModelConfig with nothing set, vocab_size unset). */
void xlstm_config_default(xlstm_config *cfg);
/* Parse an official xLSTMLMModelConfig JSON text; fields left out take the official
 * defaults; invalid values are refused with a message naming the field. */
int xlstm_config_parse(xlstm_config *cfg, const char *json, size_t len);
/* Check a config built in C (the parser calls it too) and fill the derived fields. */
int xlstm_config_validate(xlstm_config *cfg);
/* Write the config as official JSON into a malloc'd string (caller frees). */
int xlstm_config_to_json(const xlstm_config *cfg, char **out);

/* ---------------------------------------------------------------- the language-model interface
 *
 * Every architecture (xlstm_architecture_name) is a model of this one interface: a
 * parameter table with official names and weight-decay groups in one contiguous buffer,
 * forward with loss, backward, recurrent inference, and checkpoints. A model is created
 * from a config JSON whose "architecture" field names the architecture ("xlstm", the
 * paper's xLSTM[a:b], when the field is absent: an official xLSTMLMModelConfig). */

typedef struct xlstm_model xlstm_model;

/* One named parameter tensor inside the model's contiguous parameter buffer. */
typedef struct {
    const char *name;          /* official named_parameters() name */
    int ndim;
    int64_t shape[4];
    size_t offset;             /* in elements, into the parameter (and gradient) buffer */
    size_t numel;
    int weight_decay;          /* official optimizer group: 1 = decay */
} xlstm_tensor;

/* The registered architectures: how many, and the name of the i-th (NULL if out of range). */
int xlstm_architecture_count(void);
const char *xlstm_architecture_name(int i);
/* Create a model (parameters uninitialized) from a config JSON text; the message of a
 * refusal names the field. */
int xlstm_model_create_json(xlstm_model **out, const char *json, size_t len);
void xlstm_model_free(xlstm_model *m);
/* The architecture's registry name. */
const char *xlstm_model_architecture(const xlstm_model *m);
/* The config as JSON (malloc'd into *out; the caller frees): what a checkpoint stores. */
int xlstm_model_config_json(const xlstm_model *m, char **out);
int xlstm_model_vocab_size(const xlstm_model *m);
/* The training context length of the config (-1: unset); set records a run's context in the
 * config that checkpoints store (T >= 1). */
int xlstm_model_context_length(const xlstm_model *m);
int xlstm_model_set_context_length(xlstm_model *m, int T);
/* The architecture's official initialization, reproducible from the seed. */
int xlstm_model_init(xlstm_model *m, uint64_t seed);

/* Reals in the parameter buffer (the tensors plus alignment padding). */
size_t xlstm_model_num_params(const xlstm_model *m);
/* The number of parameters: the sum of the tensors' sizes. */
size_t xlstm_model_param_count(const xlstm_model *m);
xlstm_real *xlstm_model_params(xlstm_model *m);
xlstm_real *xlstm_model_grads(xlstm_model *m);
int xlstm_model_num_tensors(const xlstm_model *m);
const xlstm_tensor *xlstm_model_tensor(const xlstm_model *m, int i);
const xlstm_tensor *xlstm_model_find_tensor(const xlstm_model *m, const char *name);

/* How forward and backward compute a sequence, for architectures with a choice (others
 * accept any value and ignore it): chunk >= 1 in chunks of that length (the xLSTM mLSTM's
 * chunkwise form; default 64), 0 the parallel form. All forms give the same numbers up to
 * rounding. */
int xlstm_model_set_chunk_size(xlstm_model *m, int chunk);

/* The work of the model, for benchmarks: FLOPs of the forward per token over sequences of
 * T tokens in the current form (2 per multiply-add of every product; a backward does twice
 * as many), and bytes of weights one recurrent step reads (an embedding: its one row). */
double xlstm_model_forward_flops(const xlstm_model *m, int T);
size_t xlstm_model_step_weight_bytes(const xlstm_model *m);

/* Forward over a batch of B sequences of T tokens (row-major [B, T]). targets may be NULL
 * (no loss); a target of -1 is ignored. *loss (if not NULL) receives the mean cross-entropy. */
int xlstm_forward(xlstm_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss);
/* Logits [B, T, V] of the last forward. */
const xlstm_real *xlstm_logits(const xlstm_model *m);
/* Residual stream after block i, [B, T, D], of the last forward (NULL: no such block, or an
 * architecture without a residual stream). */
const xlstm_real *xlstm_block_output(const xlstm_model *m, int block);
/* Adds d(mean loss)/d(param) of the last forward (which had targets) into the gradients.
 * It reuses the logits buffer for their gradient: read xlstm_logits before it. A second
 * backward needs a new forward. */
int xlstm_backward(xlstm_model *m);
void xlstm_zero_grad(xlstm_model *m);

/* ---------------------------------------------------------------- recurrent state */

typedef struct xlstm_state xlstm_state;

int xlstm_state_create(const xlstm_model *m, xlstm_state **out);
void xlstm_state_free(xlstm_state *s);
void xlstm_state_reset(xlstm_state *s);
/* Copy src into dst (states of the same model): a snapshot to restore later. */
int xlstm_state_copy(xlstm_state *dst, const xlstm_state *src);
/* Bytes the state occupies: a sequence's memory beyond the model's, all of which each step
 * reads and rewrites (the mLSTM's matrix memories are most of it). */
size_t xlstm_state_bytes(const xlstm_state *s);
/* Feed one token; logits [V] (may be NULL) receive the next-token logits. Constant time
 * and memory per token. */
int xlstm_step(xlstm_model *m, xlstm_state *s, int32_t token, xlstm_real *logits);
/* Feed one token to each of n sequences (states[i] gets tokens[i]; distinct states);
 * logits [n, V] (may be NULL). Equal to n calls of xlstm_step. */
int xlstm_step_batch(xlstm_model *m, xlstm_state *const *states, const int32_t *tokens, int n, xlstm_real *logits);
/* Feed n tokens at once through the sequence form (equal to n steps); logits [V] of the
 * last token (may be NULL). */
int xlstm_prefill(xlstm_model *m, xlstm_state *s, const int32_t *tokens, int n, xlstm_real *logits);

/* ---------------------------------------------------------------- checkpoints */

/* Load a safetensors checkpoint with official names and the config JSON in
 * __metadata__["config"] (ours, or an official state_dict). */
int xlstm_model_load(xlstm_model **out, const char *path);
/* The same for a checkpoint saved without its config (an official state_dict): the config
 * JSON text is given. */
int xlstm_model_load_with_config(xlstm_model **out, const char *path, const char *json, size_t len);
/* Write atomically (temporary file, fsync, rename) with official names and layouts, the
 * config JSON in __metadata__["config"] and the architecture in ["architecture"].
 * extra_meta: optional NULL-terminated key, value, key, value ... list for __metadata__. */
int xlstm_model_save(const xlstm_model *m, const char *path, const char *const *extra_meta);

/* ---------------------------------------------------------------- the paper's xLSTM[a:b] */

/* Create an xLSTM[a:b] model from a config built in C. */
int xlstm_model_create(xlstm_model **out, const xlstm_config *cfg);
/* Its config; NULL for a model of another architecture. */
const xlstm_config *xlstm_model_config(const xlstm_model *m);

/* ---------------------------------------------------------------- training
 *
 * AdamW (PyTorch's torch.optim.AdamW, decoupled weight decay on the tensors of the official
 * decay group), the official LinearWarmupCosineAnnealing schedule, clipping by global norm
 * and gradient accumulation. One step: zero the gradients; for each of `accum`
 * micro-batches forward and backward; average; clip; AdamW at the step's learning rate. An
 * update whose loss or gradient norm is not finite is skipped (and reported). */

typedef struct {
    double lr;           /* peak learning rate (> 0) */
    double min_lr;       /* the cosine's end, >= 0 */
    long warmup;         /* linear warmup steps, >= 0 */
    long steps;          /* the cosine decays until this step (>= 1) */
    double weight_decay; /* on the decay group, >= 0 */
    double clip;         /* clip the global gradient norm to this; <= 0: no clipping */
    double beta1, beta2, eps;
    int batch, context;  /* a micro-batch: batch sequences of up to context tokens */
    int accum;           /* micro-batches per step, >= 1 */
} xlstm_train_opts;

/* The defaults of `xlstm train`: lr 3e-3 to 3e-4, 100 warmup of 1000 steps, weight decay
 * 0.1, clip 1, betas (0.9, 0.999), eps 1e-8, batch 16 x 128, accum 1. */
xlstm_train_opts xlstm_train_defaults(void);
/* The learning rate after `step` updates (0-based, the official scheduler's epoch):
 * linear warmup from 0 to lr, then a cosine to min_lr at opts->steps, then min_lr. */
double xlstm_lr_at(const xlstm_train_opts *o, long step);

/* Fills a micro-batch: tokens and targets [B, T] (row-major; a target of -1 is ignored).
 * Returns the length t in [1, T] it used (rows [B, t], packed) or -1 to stop with an error
 * (message set with xlstm_errmsg's conventions, or none). */
typedef int (*xlstm_batch_fn)(void *ctx, int32_t *tokens, int32_t *targets, int B, int T);

typedef struct xlstm_trainer xlstm_trainer;

typedef struct {
    long step;           /* updates done, this one included */
    double lr;           /* the learning rate it used */
    double loss;         /* mean over its micro-batches (nats per token) */
    double grad_norm;    /* global norm before clipping */
    long tokens;         /* tokens it trained on */
    int applied;         /* 0: not finite, the update was skipped */
} xlstm_step_result;

/* A trainer of model m (which it uses, not owns) with zeroed AdamW moments. */
int xlstm_trainer_create(xlstm_trainer **out, xlstm_model *m, const xlstm_train_opts *o);
void xlstm_trainer_free(xlstm_trainer *t);
/* One optimizer step on micro-batches from fill. */
int xlstm_trainer_step(xlstm_trainer *t, xlstm_batch_fn fill, void *ctx, xlstm_step_result *r);
/* Updates done so far. */
long xlstm_trainer_steps_done(const xlstm_trainer *t);

/* ---------------------------------------------------------------- sampling
 *
 * The next token from logits: softmax(logits / temperature) in double; then the top_k most
 * probable (top_k > 0); then, of those, the smallest most probable set whose mass reaches
 * top_p (top_p < 1); renormalized; one draw from a seeded generator, so a seed reproduces a
 * generation. Ties are ordered by token id. Temperature 0 is greedy (no draw). */

typedef struct {
    double temperature;  /* >= 0 and finite; 0 = greedy */
    int top_k;           /* >= 0; 0 = no cut */
    double top_p;        /* in (0, 1]; 1 = no cut */
} xlstm_sampler_opts;

typedef struct xlstm_sampler xlstm_sampler;

/* Temperature 1, no top-k, no top-p. */
xlstm_sampler_opts xlstm_sampler_defaults(void);
int xlstm_sampler_create(xlstm_sampler **out, int vocab_size, const xlstm_sampler_opts *o, uint64_t seed);
void xlstm_sampler_free(xlstm_sampler *s);
/* The next token drawn from logits [vocab_size]; -1 (message set) on non-finite logits. */
int xlstm_sampler_next(xlstm_sampler *s, const xlstm_real *logits);

/* ---------------------------------------------------------------- tokenizer
 *
 * Byte-level BPE equal to Hugging Face `tokenizers` (GPT-2, GPT-NeoX-20B and files like them):
 * added and special tokens are split out first, then the NFC normalizer (where the file has
 * one), the GPT-2 split pattern, the byte-to-unicode mapping and the merges by rank. Text that
 * is not valid UTF-8 is read as `tokenizers`' callers read bytes: each ill-formed sequence
 * becomes U+FFFD. Needs utf8proc: without it every call that makes a tokenizer fails with
 * "built without utf8proc". Ids are int32; buffers returned are malloc'd (the caller frees
 * them). Encoding keeps a cache of words in the tokenizer: calls on one tokenizer must not
 * run at the same time (decoding may). */

typedef struct xlstm_tokenizer xlstm_tokenizer;

/* Load a Hugging Face tokenizer.json (a BPE model with the ByteLevel pre-tokenizer and
 * decoder), a folder with one, or a folder with GPT-2's original encoder.json or vocab.json
 * and vocab.bpe or merges.txt. Anything else is refused with a message naming the type. */
int xlstm_tokenizer_load(xlstm_tokenizer **out, const char *path);
/* The same from the text of a tokenizer.json (name: for messages). */
int xlstm_tokenizer_load_json(xlstm_tokenizer **out, const char *json, size_t len, const char *name);
/* GPT-2's original pair: the vocabulary (token -> id, JSON) and the merges ("a b" lines). */
int xlstm_tokenizer_load_gpt2(xlstm_tokenizer **out, const char *vocab_path, const char *merges_path);
void xlstm_tokenizer_free(xlstm_tokenizer *t);
/* Ids are in [0, vocab_size) (the largest id + 1). */
int xlstm_tokenizer_vocab_size(const xlstm_tokenizer *t);
/* The token of id as the file writes it (NUL-terminated), or NULL (no such id). */
const char *xlstm_tokenizer_token(const xlstm_tokenizer *t, int32_t id);
/* 1 if id is a special token (decoding can skip it), else 0. */
int xlstm_tokenizer_is_special(const xlstm_tokenizer *t, int32_t id);
/* The ids of text[0, len) with no special tokens added (*ids malloc'd, *n of them). */
int xlstm_tokenizer_encode(xlstm_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n);
/* The text of ids (malloc'd, NUL-terminated, *len bytes); skip_special drops special tokens.
 * An id out of range, or without a token, is refused with a message naming it. */
int xlstm_tokenizer_decode(const xlstm_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                           size_t *len);
/* Learn a byte-level BPE of vocab_size ids from text: the 256 bytes (ids 0-255 in byte order),
 * merges of the most frequent adjacent pair within the GPT-2 pattern's pieces (ties: the pair
 * of smallest ids, left first), and "<|endoftext|>" (special) as the last id. */
int xlstm_tokenizer_train(xlstm_tokenizer **out, const char *text, size_t len, int vocab_size);
/* Write a tokenizer.json that Hugging Face `tokenizers` loads (atomically). */
int xlstm_tokenizer_save(const xlstm_tokenizer *t, const char *path);

#ifdef __cplusplus
}
#endif
#endif
