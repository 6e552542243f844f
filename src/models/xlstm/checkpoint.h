/* checkpoint.h — moving parameters between a model and safetensors files with the official
 * names and layouts. */
#ifndef XLSTM_CHECKPOINT_H
#define XLSTM_CHECKPOINT_H

#include "model.h"
#include "io/safetensors.h"

/* Read every tensor of the table from f under `prefix` + official name into base
 * (converting the sLSTM layouts of the given backend into ours). Missing tensors, wrong
 * shapes, unknown extra tensors under the prefix and non-finite values are refused with a
 * message naming the file and tensor. tied_head: an extra "lm_head.weight" is accepted
 * (a tied model's state_dict lists it). */
int params_load(const param_table *t, real *base, const st_file *f, const char *prefix, int backend, int slstm_heads,
                int tied_head);

/* Tensor t of buffer (parameters or gradients) in the layout of the backend's files. */
void tensor_to_file(const xlstm_tensor *t, const real *buffer, int backend, int slstm_heads, real *out);

/* Is this tensor an sLSTM recurrent kernel or bias, whose layout depends on the backend? */
int is_slstm_recurrent_kernel(const char *name);
int is_slstm_bias(const char *name);
/* Convert one tensor between our layout (vanilla) and the cuda layout: the kernel
 * [NH, 4*DH, DH] (NH read from its shape) or the bias [4*D] with NH heads. */
void slstm_layout_convert(real *dst, const real *src, const xlstm_tensor *t, int NH, int to_cuda);

#endif
