/* trainer.c — one training step: micro-batches through forward and backward, their mean
 * gradient clipped and applied by AdamW at the scheduled learning rate. `xlstm train` and
 * `xlstm experiment` both train through it. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "train/trainer.h"

xlstm_train_opts xlstm_train_defaults(void)
{
    return (xlstm_train_opts){.lr = 3e-3, .min_lr = 3e-4, .warmup = 100, .steps = 1000, .weight_decay = 0.1,
                              .clip = 1.0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .batch = 16, .context = 128,
                              .accum = 1};
}

double xlstm_lr_at(const xlstm_train_opts *o, long step) { return lr_schedule(step, o->warmup, o->steps, o->lr, o->min_lr); }

int train_opts_check(const xlstm_train_opts *o)
{
    if (!(o->lr > 0) || !isfinite(o->lr)) return xlstm_fail("training: lr %g must be finite and > 0", o->lr);
    if (!(o->min_lr >= 0) || !isfinite(o->min_lr)) return xlstm_fail("training: min_lr %g must be finite and >= 0", o->min_lr);
    if (o->warmup < 0 || o->steps < 1) return xlstm_fail("training: warmup %ld must be >= 0 and steps %ld >= 1", o->warmup, o->steps);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay) || !isfinite(o->clip))
        return xlstm_fail("training: weight decay %g must be finite and >= 0, clip %g finite", o->weight_decay, o->clip);
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0))
        return xlstm_fail("training: betas (%g, %g) must be in [0, 1) and eps %g > 0", o->beta1, o->beta2, o->eps);
    if (o->batch < 1 || o->context < 1 || o->accum < 1)
        return xlstm_fail("training: batch %d, context %d and accum %d must be >= 1", o->batch, o->context, o->accum);
    if ((int64_t)o->batch * o->context > INT32_MAX / 2)
        return xlstm_fail("training: batch %d x context %d is too large", o->batch, o->context);
    return 0;
}

int xlstm_trainer_create(xlstm_trainer **out, xlstm_model *m, const xlstm_train_opts *o)
{
    *out = NULL;
    if (train_opts_check(o) != 0) return -1;
    xlstm_trainer *t = calloc(1, sizeof *t);
    if (!t) return xlstm_fail("trainer: out of memory");
    t->m = m;
    t->o = *o;
    const size_t n = (size_t)o->batch * (size_t)o->context;
    t->tokens = xlstm_alloc(n, sizeof *t->tokens, "batch tokens");
    t->targets = t->tokens ? xlstm_alloc(n, sizeof *t->targets, "batch targets") : NULL;
    if (!t->targets || adamw_init(&t->opt, xlstm_model_num_params(m)) != 0) {
        xlstm_trainer_free(t);
        return -1;
    }
    t->opt.beta1 = o->beta1;
    t->opt.beta2 = o->beta2;
    t->opt.eps = o->eps;
    *out = t;
    return 0;
}

void xlstm_trainer_free(xlstm_trainer *t)
{
    if (!t) return;
    adamw_free(&t->opt);
    xlstm_free(t->tokens);
    xlstm_free(t->targets);
    free(t);
}

long xlstm_trainer_steps_done(const xlstm_trainer *t) { return t->step; }

int xlstm_trainer_step(xlstm_trainer *t, xlstm_batch_fn fill, void *ctx, xlstm_step_result *r)
{
    const xlstm_train_opts *o = &t->o;
    r->lr = xlstm_lr_at(o, t->step);
    r->tokens = 0;
    double sum = 0;
    xlstm_zero_grad(t->m);
    for (int a = 0; a < o->accum; a++) {
        float loss;
        int T = fill(ctx, t->tokens, t->targets, o->batch, o->context);
        if (T < 1 || T > o->context)
            return T < 0 ? -1 : xlstm_fail("training: the batch source gave length %d, outside [1, %d]", T, o->context);
        if (xlstm_forward(t->m, t->tokens, t->targets, o->batch, T, &loss) != 0 || xlstm_backward(t->m) != 0) return -1;
        sum += loss;
        r->tokens += (long)o->batch * T;
    }
    r->loss = sum / o->accum;
    if (o->accum > 1) { /* the gradients summed over micro-batches: make them the mean's */
        const size_t n = xlstm_model_num_params(t->m);
        real *grads = xlstm_model_grads(t->m);
        for (size_t i = 0; i < n; i++) grads[i] /= (real)o->accum;
    }
    r->applied = optim_step(&t->opt, t->m, r->loss, r->lr, o->weight_decay, o->clip, &r->grad_norm);
    r->step = ++t->step;
    return 0;
}
