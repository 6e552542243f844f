/* arch.h — what an architecture implements to be a model of the language-model interface
 * (include/xlstm.h). The public calls (src/models/model.c) check what is common and
 * dispatch here; an architecture never knows which verb calls it, and a verb never asks
 * which architecture it holds.
 *
 * Adding an architecture: a folder src/models/NAME/ whose code defines a
 * `const model_arch NAME_arch` filled with its functions, and one line in registry.c. */
#ifndef XLSTM_MODELS_ARCH_H
#define XLSTM_MODELS_ARCH_H

#include "common.h"
#include "io/safetensors.h"
#include "thread_tuner.h"

/* The parameter buffers and table an architecture's create fills in, read by the common
 * calls (tensors, zero_grad, the optimizer). */
typedef struct {
    const xlstm_tensor *tensors; /* [n] in the official named_parameters() order */
    int n;
    size_t n_params;             /* reals in params and in grads (tensors plus padding) */
    real *params, *grads;
} model_params;

typedef struct model_arch {
    const char *name;  /* the config's "architecture" */
    /* Create from a config JSON text; *impl receives the architecture's model and *p its
     * parameter buffers. */
    int (*create)(void **impl, model_params *p, const char *json, size_t len);
    void (*destroy)(void *impl);
    int (*config_json)(const void *impl, char **out);
    int (*vocab_size)(const void *impl);
    int (*context_length)(const void *impl);
    void (*set_context_length)(void *impl, int T);
    int (*init)(void *impl, uint64_t seed);
    int (*set_chunk_size)(void *impl, int chunk);
    int (*forward)(void *impl, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss);
    const real *(*logits)(const void *impl);
    const real *(*block_output)(const void *impl, int block); /* NULL: no residual stream */
    int (*backward)(void *impl);
    /* Recurrent state of one sequence. */
    int (*state_create)(const void *impl, void **state);
    void (*state_free)(void *state);
    void (*state_reset)(void *state);
    void (*state_copy)(void *dst, const void *src);
    size_t (*state_bytes)(const void *state);
    int (*step)(void *impl, void *state, int32_t token, real *logits);
    /* n sequences one token each, the weights read once for all; NULL: n steps. */
    int (*step_batch)(void *impl, void *const *states, const int32_t *tokens, int n, real *logits);
    int (*prefill)(void *impl, void *state, const int32_t *tokens, int n, real *logits);
    /* Read every parameter from f under prefix + official name (official layouts). */
    int (*load_params)(void *impl, const st_file *f, const char *prefix);
    /* Write the parameters (official names and layouts) with the given metadata. */
    int (*save)(const void *impl, const char *path, const char *const *meta);
    /* Tensor t of buffer (the parameters or the gradients) in the layout files store. */
    void (*tensor_to_file)(const void *impl, const xlstm_tensor *t, const real *buffer, real *out);
    /* FLOPs of the forward per token over sequences of T, in the current form. */
    double (*forward_flops)(const void *impl, int T);
    /* Bytes of weights one recurrent step reads. */
    size_t (*step_weight_bytes)(const void *impl);
    /* Optional (NULL: none): the state's tensor `name` (as the reference files name it after
     * "state.") in the official layout into out (unless NULL); returns its size, 0 if unknown. */
    size_t (*state_tensor)(const void *impl, const void *state, const char *name, real *out);
} model_arch;

struct xlstm_model {
    const model_arch *arch;
    void *impl;
    model_params p;
};

struct xlstm_state {
    const xlstm_model *model;
    void *impl;
    thread_tuner tuner; /* the team of its steps on a shared machine */
};

/* registry.c: the architecture named `name` (NULL if none); the names, comma-separated,
 * into buf (returned). */
const model_arch *arch_find(const char *name);
const char *arch_names(char *buf, size_t size);

/* Which architecture a config JSON text describes: its "architecture" field, else "xlstm"
 * (an official xLSTMLMModelConfig has none). */
int arch_of_config(const char *json, size_t len, const model_arch **out);

#endif
