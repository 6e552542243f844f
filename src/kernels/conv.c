/* conv.c — causal depthwise conv1d (official CausalConv1d: Conv1d with groups = channels,
 * padding K-1, output cut to the first T steps), its backward and a one-step form. */
#include <string.h>

#include "ops.h"
#include "split.h"
#include "tuning.h"

/* The dw/dbias reduction: each task owns a range of at most CONV_DW_COLS channels and sums
 * CONV_DW_TAPS taps at a time (tuning.h) into a stack buffer acc [taps, channels]
 * (contiguous loops; dw itself is [C, K], i.e. strided across channels). */

/* y[c] += w[c, k] * v[c] for n channels of a row: the one loop every conv path uses. */
static inline void conv_tap(real *y, const real *v, const real *w, int k, int K, int n)
{
    for (int c = 0; c < n; c++) y[c] += w[(size_t)c * K + k] * v[c];
}

/* Channels [c0, c1) of output row `row` (rows of C channels).
 * (an AVX2 clone, ops.h; static, with the exported wrapper below, for clang's sake) */
AVX2_CLONES static void conv_row(real *y, const real *x, const real *hist, const real *w, const real *bias, long row,
                                 int T, int C, int K, int c0, int c1)
{
    int t = (int)(row % T), n = c1 - c0;
    long b = row / T;
    y += c0, x += c0, w += (size_t)c0 * K;
    memcpy(y, bias + c0, (size_t)n * sizeof(real));
    /* tap k reads time t-(K-1)+k; times before 0 come from the history (or are zero) */
    for (int k = 0; k < K; k++) {
        int src = t - (K - 1) + k;
        if (src >= 0)
            conv_tap(y, x + (size_t)(row - t + src) * C, w, k, K, n);
        else if (hist)
            conv_tap(y, hist + c0 + ((size_t)b * (K - 1) + (size_t)(src + K - 1)) * C, w, k, K, n);
    }
}

void causal_conv_row(real *y, const real *x, const real *hist, const real *w, const real *bias, long row, int T,
                     int C, int K, int c0, int c1)
{
    conv_row(y, x, hist, w, bias, row, T, C, K, c0, c1);
}

/* y, x [B, T, C]; w [C, K]; bias [C]; hist [B, K-1, C] or NULL (zeros). */
void causal_conv_forward(real *y, const real *x, const real *hist, const real *w, const real *bias, int B, int T,
                         int C, int K)
{
    long R = (long)B * T;
#pragma omp parallel for schedule(static) if (R * C * K > PAR_MIN_MULADDS)
    for (long row = 0; row < R; row++) conv_row(y + (size_t)row * C, x, hist, w, bias, row, T, C, K, 0, C);
}

/* hist [B, K-1, C] := the last K-1 inputs of (hist followed by x [B, T, C]). */
void causal_conv_push_hist(real *hist, const real *x, int B, int T, int C, int K)
{
    int H = K - 1;
    for (int b = 0; b < B; b++) {
        real *h = hist + (size_t)b * H * C;
        const real *xb = x + (size_t)b * T * C;
        int keep = H > T ? H - T : 0; /* old rows that survive, moved to the front */
        if (keep) memmove(h, h + (size_t)(H - keep) * C, (size_t)keep * C * sizeof(real));
        for (int r = keep; r < H; r++) memcpy(h + (size_t)r * C, xb + (size_t)(T - H + r) * C, (size_t)C * sizeof(real));
    }
}

/* dw[c, k] += sum x[b, t-(K-1)+k, c] dy[b, t, c]; dbias[c] += sum dy[b, t, c]. */
static void causal_conv_dw(real *dw, real *dbias, const real *dy, const real *x, int B, int T, int C, int K)
{
    long R = (long)B * T;
    int cb = split_per_thread(C, CONV_DW_COLS);
#pragma omp parallel for schedule(static) if (R * C * K > PAR_MIN_MULADDS)
    for (int c0 = 0; c0 < C; c0 += cb) {
        int nc = c0 + cb < C ? cb : C - c0;
        real acc[CONV_DW_TAPS][CONV_DW_COLS];
        for (int k0 = 0; k0 < K; k0 += CONV_DW_TAPS) {
            int nk = K - k0 < CONV_DW_TAPS ? K - k0 : CONV_DW_TAPS;
            memset(acc, 0, sizeof acc);
            for (long row = 0; row < R; row++) {
                int t = (int)(row % T);
                const real *dyr = dy + (size_t)row * C + c0;
                if (k0 == 0)
                    for (int c = 0; c < nc; c++) dbias[c0 + c] += dyr[c];
                for (int j = 0; j < nk; j++) {
                    int src = t - (K - 1) + k0 + j; /* input time of tap k0 + j */
                    if (src < 0) continue;
                    const real *xr = x + (size_t)(row - t + src) * C + c0;
                    for (int c = 0; c < nc; c++) acc[j][c] += xr[c] * dyr[c];
                }
            }
            for (int c = 0; c < nc; c++)
                for (int j = 0; j < nk; j++) dw[(size_t)(c0 + c) * K + k0 + j] += acc[j][c];
        }
    }
}

void causal_conv_backward(real *dx, real *dw, real *dbias, const real *dy, const real *x, const real *w, int B,
                          int T, int C, int K)
{
    long R = (long)B * T;
    /* dx[b, s] += w[:, k] * dy[b, s+(K-1)-k]: gather form, so each thread owns its dx rows */
#pragma omp parallel for schedule(static) if (R * C * K > PAR_MIN_MULADDS)
    for (long row = 0; row < R; row++) {
        int s = (int)(row % T);
        for (int k = 0; k < K; k++)
            if (s + (K - 1) - k < T) conv_tap(dx + (size_t)row * C, dy + (size_t)(row + (K - 1) - k) * C, w, k, K, C);
    }
    causal_conv_dw(dw, dbias, dy, x, B, T, C, K);
}
