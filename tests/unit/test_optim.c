/* test_optim.c — the training optimizer of libxlstm (src/train/optim.c): the warmup + cosine schedule, two
 * AdamW steps and a decay-only step against values worked out by hand from the formulas,
 * and clipping by global norm. */
#include <math.h>
#include <string.h>

#include "test.h"
#include "common.h"
#include "train/optim.h"

/* warmup 10, cosine from step 10 to 110, 1e-3 down to 1e-4 */
static void test_lr_schedule(void)
{
    const double max = 1e-3, min = 1e-4;
    const struct {
        long step;
        double want;
    } cases[] = {
        {0, 0},          /* the official scheduler starts at 0 */
        {5, 5e-4},       /* max * 5 / 10 */
        {10, 1e-3},      /* the peak */
        {35, 1e-4 + 0.5 * (1 + 0.70710678118654752) * 9e-4}, /* a quarter of the cosine */
        {60, 5.5e-4},    /* half way: min + (max - min) / 2 */
        {110, 1e-4},     /* decay_until: min */
        {500, 1e-4},     /* and after */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = lr_schedule(cases[i].step, 10, 110, max, min);
        CHECK(fabs(got - cases[i].want) <= 1e-15, "step %ld: lr %.17g, want %.17g", cases[i].step, got, cases[i].want);
    }
    CHECK(lr_schedule(0, 0, 100, max, min) == max, "no warmup: starts at the peak");
}

/* One parameter p = 1 with weight decay 0.01, lr 0.1, gradients 0.5 then -1:
 *   t=1: p = 0.999; m = 0.05; v = 0.00025; step lr/0.1 = 1; denom sqrt(0.00025/0.001) + 1e-8 = 0.5 + 1e-8
 *        p = 0.999 - 0.05 / (0.5 + 1e-8) = 0.899000002
 *   t=2: p = 0.899000002 * 0.999; m = 0.05 + 0.1 (-1 - 0.05) = -0.055; v = 0.00025 * 0.999 + 0.001 = 0.00124975
 *        p -= 0.1 / 0.19 * (-0.055) / (sqrt(0.00124975 / 0.001999) + 1e-8)  ->  0.93471135424
 * A second parameter without weight decay and a third left out of the update stay as they
 * should. Float arithmetic: tolerance 1e-6 relative. */
static void test_adamw(void)
{
    adamw o;
    CHECK(adamw_init(&o, 3) == 0, "init: %s", xlstm_errmsg());
    CHECK(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8, "PyTorch defaults");
    real p[3] = {1, 1, 1}, g[3];
    const double want_p[2] = {0.899000002, 0.9347113542385653}, want_m[2] = {0.05, -0.055},
                 want_v[2] = {0.00025, 0.00124975};
    const real grads[2] = {0.5f, -1.0f};
    for (int t = 0; t < 2; t++) {
        g[0] = g[1] = g[2] = grads[t];
        adamw_begin(&o);
        adamw_update(&o, p, g, 0, 1, 0.1, 0.01);
        adamw_update(&o, p, g, 1, 1, 0.1, 0.0);
        CHECK(o.t == t + 1, "t = %lld", (long long)o.t);
        CHECK(fabs(p[0] - want_p[t]) <= 1e-6 * want_p[t], "t=%d: p %.9g, want %.9g", t + 1, p[0], want_p[t]);
        CHECK(fabs(o.m[0] - want_m[t]) <= 1e-6 * fabs(want_m[t]), "t=%d: m %.9g, want %.9g", t + 1, o.m[0], want_m[t]);
        CHECK(fabs(o.v[0] - want_v[t]) <= 1e-6 * want_v[t], "t=%d: v %.9g, want %.9g", t + 1, o.v[0], want_v[t]);
        CHECK(o.m[0] == o.m[1] && o.v[0] == o.v[1], "the moments do not depend on the decay");
        CHECK(p[2] == 1 && o.m[2] == 0 && o.v[2] == 0, "element 2 was not in the update");
    }
    /* without decay: p[1] = 1 - 0.1 (0.5 + 1e-8)^-1 0.05 ... = p[0] without the decay factors */
    const double nodecay = 1 - 0.05 / (0.5 + 1e-8) - 0.1 / 0.19 * (-0.055) / (sqrt(0.00124975 / 0.001999) + 1e-8);
    CHECK(fabs(p[1] - nodecay) <= 1e-6, "no decay: p %.9g, want %.9g", p[1], nodecay);
    adamw_free(&o);

    /* a zero gradient from fresh moments moves p only by the decay: p (1 - lr wd) */
    CHECK(adamw_init(&o, 1) == 0, "init");
    real q = 2, zero = 0;
    adamw_begin(&o);
    adamw_update(&o, &q, &zero, 0, 1, 0.5, 0.1);
    CHECK(fabs(q - 2 * 0.95) <= 1e-7, "decay only: %.9g, want 1.9", q);
    adamw_free(&o);
}

static void test_clip(void)
{
    real g[2] = {3, 4};
    double n = grad_norm(g, 2);
    CHECK(n == 5, "norm %.17g, want 5", n);
    grad_clip(g, 2, n, 10); /* below the limit: untouched */
    CHECK(g[0] == 3 && g[1] == 4, "unclipped: %g %g", g[0], g[1]);
    grad_clip(g, 2, n, 0); /* 0: no clipping */
    CHECK(g[0] == 3 && g[1] == 4, "clip 0: %g %g", g[0], g[1]);
    grad_clip(g, 2, n, 1); /* scaled by 1 / (5 + 1e-6), as torch.nn.utils.clip_grad_norm_ */
    CHECK(fabs(g[0] - 3 / (5 + 1e-6)) <= 1e-7 && fabs(g[1] - 4 / (5 + 1e-6)) <= 1e-7, "clipped: %.9g %.9g", g[0], g[1]);
    CHECK(fabs(grad_norm(g, 2) - 1) <= 1e-6, "clipped norm %.9g", grad_norm(g, 2));
}

int main(void)
{
    RUN(test_lr_schedule);
    RUN(test_adamw);
    RUN(test_clip);
    TEST_EXIT();
}
