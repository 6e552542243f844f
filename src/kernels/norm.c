/* norm.c — LayerNorm (groups = 1) and MultiHeadLayerNorm (groups = heads) with the
 * official "residual weight": effective scale 1 + w, no bias, biased variance, eps 1e-5; and
 * xLSTM Large's norms, RMSNorm and the per-head LayerNorm, with a plain scale w and a given eps.
 * One slice kernel serves all: `off` is the scale's offset (1 or 0) and `center` 0 leaves the
 * mean out (RMSNorm: x / sqrt(mean(x^2) + eps)). */
#include "ops.h"
#include "split.h"
#include "tuning.h"

/* The dw reduction: each task owns a block of at most NORM_DW_COLS columns of dw (tuning.h),
 * so the threads never write the same element and no scratch buffer is needed. */

/* The slices run in AVX2 clones (ops.h) and their sums in explicit lanes (ops.h: a plain
 * running sum is one chain of dependent adds, which cannot be vectorized), so that both
 * clones, and builds with and without OpenMP, give the same bits. Each sum is a loop over
 * whole groups of LANES, whose lanes the compiler turns into vectors, and the tail. */

/* One (row, group) slice of C values: out, mean (unless NULL), rstd of x with scale off + w
 * (w may be NULL). */
AVX2_CLONES static void slice_forward(real *restrict out, real *mean, real *rstd, const real *restrict x,
                                      const real *restrict w, int C, real off, int center, real eps)
{
    /* two passes (mean, then squared deviations): no cancellation for large means */
    real m = 0, vs[LANES] = {0};
    int c = 0;
    if (center) {
        real ms[LANES] = {0};
        for (; c + LANES <= C; c += LANES)
            for (int j = 0; j < LANES; j++) ms[j] += x[c + j];
        for (int j = 0; c + j < C; j++) ms[j] += x[c + j];
        m = LANES_TOTAL(ms) / C;
    }
    for (c = 0; c + LANES <= C; c += LANES)
        for (int j = 0; j < LANES; j++) vs[j] += (x[c + j] - m) * (x[c + j] - m);
    for (int j = 0; c + j < C; j++) vs[j] += (x[c + j] - m) * (x[c + j] - m);
    real v = LANES_TOTAL(vs) / C;
    real r = 1 / sqrt(v + eps);
    if (mean) *mean = m;
    *rstd = r;
    if (w) {
        for (int c = 0; c < C; c++) out[c] = (x[c] - m) * r * (off + w[c]);
    } else {
        for (int c = 0; c < C; c++) out[c] = (x[c] - m) * r;
    }
}

void groupnorm_row_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int G, int C)
{
    for (int g = 0; g < G; g++)
        slice_forward(out + (size_t)g * C, mean + g, rstd + g, x + (size_t)g * C, w ? w + (size_t)g * C : NULL, C, 1,
                      1, (real)XLSTM_NORM_EPS);
}

/* x, out [N, G*C]; mean (unless center is 0), rstd [N*G]. Each (row, group) slice of C values
 * is independent. */
static void norm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C,
                         real off, int center, real eps)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > PAR_MIN_ELEMS)
    for (long s = 0; s < S; s++)
        slice_forward(out + (size_t)s * C, center ? mean + s : NULL, rstd + s, x + (size_t)s * C,
                      w ? w + (size_t)(s % G) * C : NULL, C, off, center, eps);
}

void groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C)
{
    norm_forward(out, mean, rstd, x, w, N, G, C, 1, 1, (real)XLSTM_NORM_EPS);
}

void scaled_groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C,
                              real eps)
{
    norm_forward(out, mean, rstd, x, w, N, G, C, 0, 1, eps);
}

void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int C, real eps)
{
    norm_forward(out, NULL, rstd, x, w, N, 1, C, 0, 0, eps);
}

/* dw[g*C + c] += sum_n dout[n, g*C + c] * xhat[n, g*C + c], parallel over column blocks (mean
 * NULL: zero). */
static void groupnorm_dw(real *dw, const real *dout, const real *x, const real *mean, const real *rstd, int N, int G,
                         int C)
{
    int cb = split_per_thread(C, NORM_DW_COLS), nb = (C + cb - 1) / cb; /* nb blocks per group */
    size_t D = (size_t)G * C;
#pragma omp parallel for schedule(static) if ((long)N * G * C > PAR_MIN_ELEMS)
    for (int task = 0; task < G * nb; task++) {
        int g = task / nb, c0 = (task % nb) * cb;
        int c1 = c0 + cb < C ? c0 + cb : C;
        real *dwg = dw + (size_t)g * C;
        for (int n = 0; n < N; n++) {
            const real *xs = x + n * D + (size_t)g * C, *ds = dout + n * D + (size_t)g * C;
            real m = mean ? mean[(size_t)n * G + g] : 0, r = rstd[(size_t)n * G + g];
            for (int c = c0; c < c1; c++) dwg[c] += ds[c] * (xs[c] - m) * r;
        }
    }
}

/* dxhat = dout * (off + w) at c (w may be NULL) */
static inline real dxhat_at(const real *dout, const real *w, real off, int c)
{
    return w ? dout[c] * (off + w[c]) : dout[c];
}

/* mean(dxhat) into *a, mean(dxhat * xhat) into *b. Inline: called with w and with NULL, each
 * copy is a loop without the test of w, which vectorizes. */
static inline void dxhat_means(real *a, real *b, const real *dout, const real *x, const real *w, real off, real m,
                               real r, int C)
{
    real sa[LANES] = {0}, sb[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int j = 0; j < LANES; j++) sa[j] += dxhat_at(dout, w, off, c + j);
    for (int j = 0; c + j < C; j++) sa[j] += dxhat_at(dout, w, off, c + j);
    for (c = 0; c + LANES <= C; c += LANES)
        for (int j = 0; j < LANES; j++) sb[j] += dxhat_at(dout, w, off, c + j) * (x[c + j] - m) * r;
    for (int j = 0; c + j < C; j++) sb[j] += dxhat_at(dout, w, off, c + j) * (x[c + j] - m) * r;
    *a = LANES_TOTAL(sa) / C;
    *b = LANES_TOTAL(sb) / C;
}

/* One slice of the dx part: dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat));
 * without center no mean(dxhat) term. */
AVX2_CLONES static void slice_backward_x(real *restrict dx, const real *restrict dout, const real *restrict x,
                                         const real *restrict w, real m, real r, int C, real off, int center)
{
    real a, b;
    if (w)
        dxhat_means(&a, &b, dout, x, w, off, m, r, C);
    else
        dxhat_means(&a, &b, dout, x, NULL, off, m, r, C);
    if (!center) a = 0;
    for (int c = 0; c < C; c++) dx[c] += r * (dxhat_at(dout, w, off, c) - a - (x[c] - m) * r * b);
}

void groupnorm_row_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                            const real *rstd, int G, int C)
{
    for (int g = 0; g < G; g++) {
        size_t o = (size_t)g * C;
        slice_backward_x(dx + o, dout + o, x + o, w ? w + o : NULL, mean[g], rstd[g], C, 1, 1);
        if (w && dw)
            for (int c = 0; c < C; c++) dw[o + c] += dout[o + c] * (x[o + c] - mean[g]) * rstd[g];
    }
}

/* dx as slice_backward_x; dw += sum over rows of dout * xhat (skipped when w is NULL); mean
 * NULL: RMSNorm. */
static void norm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                          const real *rstd, int N, int G, int C, real off)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > PAR_MIN_ELEMS)
    for (long s = 0; s < S; s++)
        slice_backward_x(dx + (size_t)s * C, dout + (size_t)s * C, x + (size_t)s * C,
                         w ? w + (size_t)(s % G) * C : NULL, mean ? mean[s] : 0, rstd[s], C, off, mean != NULL);
    if (w && dw) groupnorm_dw(dw, dout, x, mean, rstd, N, G, C);
}

void groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                        const real *rstd, int N, int G, int C)
{
    norm_backward(dx, dw, dout, x, w, mean, rstd, N, G, C, 1);
}

void scaled_groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                               const real *rstd, int N, int G, int C)
{
    norm_backward(dx, dw, dout, x, w, mean, rstd, N, G, C, 0);
}

void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *rstd, int N,
                      int C)
{
    norm_backward(dx, dw, dout, x, w, NULL, rstd, N, 1, C, 0);
}
