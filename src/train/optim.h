/* optim.h — the training optimizer: AdamW (PyTorch's torch.optim.AdamW, as the official
 * experiments use it), the official LinearWarmupCosineAnnealing learning-rate schedule, and
 * gradient clipping by global norm. */
#ifndef XLSTM_CLI_OPTIM_H
#define XLSTM_CLI_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "xlstm.h"

/* Learning rate of update `step` (0-based, the official scheduler's last_epoch):
 *   step < warmup:                 max_lr * step / warmup
 *   warmup <= step < decay_until:  min_lr + 0.5 (1 + cos(pi (step - warmup) / (decay_until - warmup))) (max_lr - min_lr)
 *   otherwise:                     min_lr */
double lr_schedule(long step, long warmup, long decay_until, double max_lr, double min_lr);

typedef struct {
    double beta1, beta2, eps;  /* PyTorch defaults 0.9, 0.999, 1e-8 */
    int64_t t;                 /* updates done (the bias corrections use t after increment) */
    size_t n;                  /* elements of m and v */
    xlstm_real *m, *v;         /* [n] first and second moments */
} adamw;

/* Zeroed moments for n parameters; defaults for the betas and eps. */
int adamw_init(adamw *o, size_t n);
void adamw_free(adamw *o);
/* Begin one update: t += 1 (call once per step, before the adamw_update calls). */
void adamw_begin(adamw *o);
/* One AdamW update of params[i], i in [offset, offset + count), from grads[i]:
 *   p *= 1 - lr wd;  m += (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2;
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
void adamw_update(adamw *o, xlstm_real *params, const xlstm_real *grads, size_t offset, size_t count, double lr,
                  double weight_decay);

/* Global L2 norm of g[0, n), accumulated in double. */
double grad_norm(const xlstm_real *g, size_t n);
/* Scale g so that its norm is at most max_norm (given its current norm); max_norm <= 0
 * means no clipping. As torch.nn.utils.clip_grad_norm_: g *= max_norm / (norm + 1e-6). */
void grad_clip(xlstm_real *g, size_t n, double norm, double max_norm);

/* One optimizer step of model m from the gradients in its gradient buffer (the mean over the
 * batch): global norm into *norm, clipping to clip (<= 0: none), then AdamW at learning rate
 * lr with weight_decay on the tensors of the official decay group. When the loss or the norm
 * is not finite nothing is changed and 0 is returned (the caller reports it); 1 otherwise. */
int optim_step(adamw *o, xlstm_model *m, double loss, double lr, double weight_decay, double clip, double *norm);

#endif
