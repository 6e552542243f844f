/* models.h — calls of the model interface beyond the public API, for the verbs that read
 * files of reference vectors (xlstm verify): parameters under a prefix, and tensors in the
 * layout files store, and states in the official layout. */
#ifndef XLSTM_MODELS_MODELS_H
#define XLSTM_MODELS_MODELS_H

#include "common.h"
#include "io/safetensors.h"

/* Read every parameter of m from f under prefix + its official name. */
int model_load_params(xlstm_model *m, const st_file *f, const char *prefix);
/* Tensor i of buffer (m's parameters or gradients) in the layout checkpoints store, into
 * out (the tensor's numel reals). */
void model_tensor_to_file(const xlstm_model *m, int i, const real *buffer, real *out);
/* The state's tensor `name` in the official layout into out (unless NULL); its size, 0 when the
 * architecture has no such tensor. */
size_t model_state_tensor(const xlstm_state *s, const char *name, real *out);

#endif
