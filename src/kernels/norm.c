/* norm.c — LayerNorm (groups = 1) and MultiHeadLayerNorm (groups = heads) with the
 * official "residual weight": effective scale 1 + w, no bias, biased variance, eps 1e-5. */
#include "ops.h"
#include "split.h"

/* Most columns per task of the dw reduction. Each task owns a block of dw, so the threads
 * never write the same element and no scratch buffer is needed. */
#define NORM_DW_COLS 4096

/* x, out [N, G*C]; mean, rstd [N*G]. Each (row, group) slice of C values is independent. */
void groupnorm_forward(real *out, real *mean, real *rstd, const real *x, const real *w, int N, int G, int C)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > 16384)
    for (long s = 0; s < S; s++) {
        const real *xs = x + (size_t)s * C;
        real *os = out + (size_t)s * C;
        /* two passes (mean, then squared deviations): no cancellation for large means */
        real m = 0, v = 0;
        for (int c = 0; c < C; c++) m += xs[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (xs[c] - m) * (xs[c] - m);
        v /= C;
        real r = 1 / sqrt(v + (real)XLSTM_NORM_EPS);
        mean[s] = m;
        rstd[s] = r;
        if (w) {
            const real *ws = w + (size_t)(s % G) * C;
            for (int c = 0; c < C; c++) os[c] = (xs[c] - m) * r * (1 + ws[c]);
        } else {
            for (int c = 0; c < C; c++) os[c] = (xs[c] - m) * r;
        }
    }
}

/* dw[g*C + c] += sum_n dout[n, g*C + c] * xhat[n, g*C + c], parallel over column blocks. */
static void groupnorm_dw(real *dw, const real *dout, const real *x, const real *mean, const real *rstd, int N, int G,
                         int C)
{
    int cb = split_per_thread(C, NORM_DW_COLS), nb = (C + cb - 1) / cb; /* nb blocks per group */
    size_t D = (size_t)G * C;
#pragma omp parallel for schedule(static) if ((long)N * G * C > 16384)
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

/* dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * (1 + w);
 * dw += sum over rows of dout * xhat (skipped when w is NULL). */
void groupnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *mean,
                        const real *rstd, int N, int G, int C)
{
    long S = (long)N * G;
#pragma omp parallel for schedule(static) if (S * C > 16384)
    for (long s = 0; s < S; s++) {
        const real *xs = x + (size_t)s * C, *ds = dout + (size_t)s * C;
        const real *ws = w ? w + (size_t)(s % G) * C : NULL;
        real *dxs = dx + (size_t)s * C;
        real m = mean[s], r = rstd[s];
        real sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int c = 0; c < C; c++) {
            real dxhat = ws ? ds[c] * (1 + ws[c]) : ds[c];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += dxhat * (xs[c] - m) * r;
        }
        real a = sum_dxhat / C, b = sum_dxhat_xhat / C;
        for (int c = 0; c < C; c++) {
            real dxhat = ws ? ds[c] * (1 + ws[c]) : ds[c];
            dxs[c] += r * (dxhat - a - (xs[c] - m) * r * b);
        }
    }
    if (w && dw) groupnorm_dw(dw, dout, x, mean, rstd, N, G, C);
}
