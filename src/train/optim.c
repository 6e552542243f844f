/* optim.c — AdamW, the warmup + cosine schedule, and gradient clipping. */
#include <tgmath.h>

#include "common.h"
#include "kernels/tuning.h"
#include "train/optim.h"

#define PI 3.14159265358979323846

double lr_schedule(long step, long warmup, long decay_until, double max_lr, double min_lr)
{
    if (step < warmup) return max_lr * (double)step / (double)warmup;
    if (step >= decay_until) return min_lr;
    double ratio = (double)(step - warmup) / (double)(decay_until - warmup);
    return min_lr + 0.5 * (1.0 + cos(PI * ratio)) * (max_lr - min_lr);
}

int adamw_init(adamw *o, size_t n)
{
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->t = 0;
    o->n = n;
    o->m = xlstm_alloc(n, sizeof(real), "AdamW first moments");
    o->v = xlstm_alloc(n, sizeof(real), "AdamW second moments");
    if (o->m == NULL || o->v == NULL) {
        adamw_free(o);
        return -1;
    }
    return 0;
}

void adamw_free(adamw *o)
{
    xlstm_free(o->m);
    xlstm_free(o->v);
    o->m = o->v = NULL;
}

void adamw_begin(adamw *o) { o->t++; }

void adamw_update(adamw *o, real *params, const real *grads, size_t offset, size_t count, double lr,
                  double weight_decay)
{
    /* the per-update constants in double, the per-element arithmetic in real, in the order of
     * PyTorch's single-tensor AdamW on float32 tensors (m moves by lerp toward g) */
    const real b2 = (real)o->beta2, one_b1 = (real)(1.0 - o->beta1), one_b2 = (real)(1.0 - o->beta2);
    const double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    const real step_size = (real)(lr / bc1), bc2_sqrt = (real)sqrt(bc2), eps = (real)o->eps;
    const real decay = (real)(1.0 - lr * weight_decay);
    real *restrict p = params + offset, *restrict m = o->m + offset, *restrict v = o->v + offset;
    const real *restrict g = grads + offset;
    /* elementwise, so the same bits on any number of threads; sqrt of real is correctly
     * rounded, as the float sqrt of PyTorch */
#pragma omp parallel for simd schedule(static) if (count > ADAMW_PAR_MIN)
    for (size_t i = 0; i < count; i++) {
        p[i] *= decay;
        m[i] += one_b1 * (g[i] - m[i]);
        v[i] = v[i] * b2 + one_b2 * g[i] * g[i];
        p[i] -= step_size * (m[i] / (sqrt(v[i]) / bc2_sqrt + eps));
    }
}

double grad_norm(const real *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

void grad_clip(real *g, size_t n, double norm, double max_norm)
{
    if (max_norm <= 0 || !(norm > max_norm)) return;
    const real scale = (real)(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; i++) g[i] *= scale;
}

int optim_step(adamw *o, xlstm_model *m, double loss, double lr, double weight_decay, double clip, double *norm)
{
    const size_t n = xlstm_model_num_params(m);
    real *params = xlstm_model_params(m), *grads = xlstm_model_grads(m);
    *norm = grad_norm(grads, n);
    if (!isfinite(loss) || !isfinite(*norm)) return 0;
    grad_clip(grads, n, *norm, clip);
    adamw_begin(o);
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        adamw_update(o, params, grads, t->offset, t->numel, lr, t->weight_decay ? weight_decay : 0.0);
    }
    return 1;
}
