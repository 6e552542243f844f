/* norm.c — LayerNorm (groups = 1) and MultiHeadLayerNorm (groups = heads) with the
 * official "residual weight": effective scale 1 + w, no bias, biased variance, eps 1e-5. */
#include "ops.h"
#include "split.h"
#include "tuning.h"

/* The dw reduction: each task owns a block of at most NORM_DW_COLS columns of dw (tuning.h),
 * so the threads never write the same element and no scratch buffer is needed. */

/* The slices' sums run in SIMD lanes (omp simd reductions: a plain running sum is one chain
 * of dependent adds, which cannot be vectorized) and the slices in AVX2 clones (ops.h). */

/* One (row, group) slice of C values: out, mean, rstd of x with scale 1 + w (w may be NULL). */
AVX2_CLONES static void slice_forward(real *restrict out, real *mean, real *rstd, const real *restrict x,
                                      const real *restrict w, int C)
{
    /* two passes (mean, then squared deviations): no cancellation for large means */
    real m = 0, v = 0;
#pragma omp simd reduction(+ : m)
    for (int c = 0; c < C; c++) m += x[c];
    m /= C;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    v /= C;
    real r = 1 / sqrt(v + (real)XLSTM_NORM_EPS);
    *mean = m;
    *rstd = r;
    if (w) {
        for (int c = 0; c < C; c++) out[c] = (x[c] - m) * r * (1 + w[c]);
    } else {
        for (int c = 0; c < C; c++) out[c] = (x[c] - m) * r;
    }
}

void groupnorm_row_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int G, int C)
{
    for (int g = 0; g < G; g++)
        slice_forward(out + (size_t)g * C, mean + g, rstd + g, x + (size_t)g * C, w ? w + (size_t)g * C : NULL, C);
}

/* x, out [N, G*C]; mean, rstd [N*G]. Each (row, group) slice of C values is independent. */
void groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > PAR_MIN_ELEMS)
    for (long s = 0; s < S; s++)
        slice_forward(out + (size_t)s * C, mean + s, rstd + s, x + (size_t)s * C, w ? w + (size_t)(s % G) * C : NULL,
                      C);
}

/* dw[g*C + c] += sum_n dout[n, g*C + c] * xhat[n, g*C + c], parallel over column blocks. */
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
            real m = mean[(size_t)n * G + g], r = rstd[(size_t)n * G + g];
            for (int c = c0; c < c1; c++) dwg[c] += ds[c] * (xs[c] - m) * r;
        }
    }
}

/* One slice of the dx part: dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
 * dxhat = dout * (1 + w) (w may be NULL). */
AVX2_CLONES static void slice_backward_x(real *restrict dx, const real *restrict dout, const real *restrict x,
                                         const real *restrict w, real m, real r, int C)
{
    real sum_dxhat = 0, sum_dxhat_xhat = 0;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
    for (int c = 0; c < C; c++) {
        real dxhat = w ? dout[c] * (1 + w[c]) : dout[c];
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * (x[c] - m) * r;
    }
    real a = sum_dxhat / C, b = sum_dxhat_xhat / C;
    for (int c = 0; c < C; c++) {
        real dxhat = w ? dout[c] * (1 + w[c]) : dout[c];
        dx[c] += r * (dxhat - a - (x[c] - m) * r * b);
    }
}

void groupnorm_row_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                            const real *rstd, int G, int C)
{
    for (int g = 0; g < G; g++) {
        size_t o = (size_t)g * C;
        slice_backward_x(dx + o, dout + o, x + o, w ? w + o : NULL, mean[g], rstd[g], C);
        if (w && dw)
            for (int c = 0; c < C; c++) dw[o + c] += dout[o + c] * (x[o + c] - mean[g]) * rstd[g];
    }
}

/* dx as slice_backward_x; dw += sum over rows of dout * xhat (skipped when w is NULL). */
void groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                        const real *rstd, int N, int G, int C)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > PAR_MIN_ELEMS)
    for (long s = 0; s < S; s++)
        slice_backward_x(dx + (size_t)s * C, dout + (size_t)s * C, x + (size_t)s * C,
                         w ? w + (size_t)(s % G) * C : NULL, mean[s], rstd[s], C);
    if (w && dw) groupnorm_dw(dw, dout, x, mean, rstd, N, G, C);
}
