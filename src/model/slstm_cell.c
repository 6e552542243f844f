/* slstm_cell.c — the sLSTM cell: forward over a sequence, the recurrent step (the forward's
 * own step function) and the hand-written backward. See slstm_cell.h for the equations.
 *
 * Each time step is one gemm per head for the recurrent product (the recurrence is
 * block-diagonal over heads), then an elementwise pass. The gemm writes the pre-activations
 * head-major, [B, NH, 4, DH], so that a head's four gates are one [B, 4*DH] block:
 * pre[b, h, g, j] = sum_k y[b, h*DH + k] R[h][g*DH + j][k], i.e. y_h R[h]^T. */
#include "slstm_cell.h"

#include <string.h>

#include "../kernels/matmul.h"
#include "../kernels/ops.h"

typedef struct {
    int B, T, NH, DH, D;
    size_t BD; /* one state component [B, D] */
} dims;

/* Elementwise passes use threads above this many elements per step. */
#define SLSTM_PAR_ELEMS 2048

static dims dims_of(int B, int T, int NH, int DH)
{
    dims d = {B, T, NH, DH, NH * DH, (size_t)B * NH * DH};
    return d;
}

size_t slstm_cell_saved_floats(int B, int T, int D) { return ((size_t)8 * T + 11) * B * D; }

static real min1(real x) { return x < 1 ? x : 1; }

/* Gate values (i', f', z, o) from the pre-activations r, lfm = m_prev + logsigmoid(r_f) and
 * the new stabilizer. Shared by forward and backward so that the backward sees exactly the
 * forward's gates. */
static void gates_of(real g[4], const real r[4], real lfm, real m_new)
{
    g[0] = min1(exp(r[0] - m_new));
    g[1] = min1(exp(lfm - m_new));
    g[2] = tanh(r[2]);
    g[3] = sigmoid_r(r[3]);
}

/* One step for all rows. prev, next [4, B, D] (y, c, n, m): the state before and after (may
 * be the same buffer: y_prev is consumed by the gemm before anything is written).
 * pre [B, 4*D] (head-major) receives the pre-activations. Wx rows have stride ldwx, h rows
 * stride ldh. */
static void step_forward(real *h, size_t ldh, real *next, const real *prev, real *pre, const real *Wx, size_t ldwx,
                         const real *R, const real *bias, dims d)
{
    int DH = d.DH, D = d.D;
    size_t BD = d.BD, D4 = (size_t)4 * D;
    for (int hd = 0; hd < d.NH; hd++)
        gemm(0, 1, d.B, 4 * DH, DH, 1, prev + hd * DH, D, R + (size_t)hd * 4 * DH * DH, DH, 0, pre + hd * 4 * DH,
             4 * D);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (BD > SLSTM_PAR_ELEMS)
#endif
    for (int b = 0; b < d.B; b++)
        for (int e = 0; e < D; e++) {
            size_t s = (size_t)b * D + e;
            real *p = pre + b * D4 + (e / DH) * 4 * DH + e % DH; /* gate k at p[k * DH] */
            real r[4], g[4];
            for (int k = 0; k < 4; k++) {
                /* (Wx + Ry) + b, the official order of the additions */
                r[k] = (Wx[b * ldwx + k * D + e] + p[k * DH]) + bias[k * D + e];
                p[k * DH] = r[k];
            }
            real c = prev[BD + s], n = prev[2 * BD + s], m = prev[3 * BD + s];
            real lfm = m + logsigmoid_r(r[1]);
            real m_new = n == 0 ? r[0] : (r[0] > lfm ? r[0] : lfm);
            gates_of(g, r, lfm, m_new);
            c = g[1] * c + g[0] * g[2];
            n = g[1] * n + g[0];
            real y = g[3] * c / n;
            h[b * ldh + e] = next[s] = y;
            next[BD + s] = c, next[2 * BD + s] = n, next[3 * BD + s] = m_new;
        }
}

int slstm_cell_forward(real *h, real *saved, const real *Wx, const real *R, const real *bias, real *state, int B,
                       int T, int NH, int DH)
{
    if (B < 0 || T < 0 || NH <= 0 || DH <= 0)
        return xlstm_fail("slstm_cell_forward: bad sizes B=%d T=%d NH=%d DH=%d", B, T, NH, DH);
    dims d = dims_of(B, T, NH, DH);
    size_t S4 = 4 * d.BD, D = (size_t)d.D;
    if (saved) {
        /* states in slots 0 .. T of saved (slot 0 = the initial state), pre-activations after them */
        if (state)
            memcpy(saved, state, sizeof(real) * S4);
        else
            memset(saved, 0, sizeof(real) * S4);
        real *raw = saved + (T + 1) * S4;
        for (int t = 0; t < T; t++)
            step_forward(h + t * D, T * D, saved + (t + 1) * S4, saved + t * S4, raw + t * S4, Wx + t * 4 * D,
                         T * 4 * D, R, bias, d);
        if (state) memcpy(state, saved + T * S4, sizeof(real) * S4);
        return 0;
    }
    /* scratch for the pre-activations of one step, and a zero state if none was given */
    real *own = xlstm_alloc(state ? S4 : 2 * S4, sizeof(real), "slstm_cell_forward scratch");
    if (!own) return -1;
    real *st = state ? state : own + S4;
    for (int t = 0; t < T; t++) step_forward(h + t * D, T * D, st, st, own, Wx + t * 4 * D, T * 4 * D, R, bias, d);
    xlstm_free(own);
    return 0;
}

void slstm_cell_step(real *h, real *state, real *work, const real *Wx, const real *R, const real *bias, int B, int NH,
                     int DH)
{
    dims d = dims_of(B, 1, NH, DH);
    step_forward(h, d.D, state, state, work, Wx, 4 * (size_t)d.D, R, bias, d);
}

/* The elementwise part of step t of the backward, for all rows: from dh_t, the recurrent
 * dy (dyp) and the carried dc, dn, the pre-activation gradients draw [B, 4*D] (head-major)
 * are written and added into dWx and dbias; dc, dn become those of step t-1. */
static void step_backward_pointwise(real *draw, real *dWx, real *dbias, real *dc, real *dn, const real *dyp,
                                    const real *dh, const real *prev, const real *next, const real *raw, int t,
                                    dims d)
{
    int B = d.B, T = d.T, DH = d.DH, D = d.D;
    size_t BD = d.BD, D4 = (size_t)4 * D;
    /* over units, so that each thread owns its dbias entries */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (BD > SLSTM_PAR_ELEMS)
#endif
    for (int e = 0; e < D; e++) {
        size_t off = (size_t)(e / DH) * 4 * DH + e % DH; /* gate k of unit e at off + k*DH in a head-major row */
        for (int b = 0; b < B; b++) {
            size_t s = (size_t)b * D + e, row = (size_t)b * T + t;
            real r[4], g[4], dr[4];
            for (int k = 0; k < 4; k++) r[k] = raw[b * D4 + off + k * DH];
            gates_of(g, r, prev[3 * BD + s] + logsigmoid_r(r[1]), next[3 * BD + s]);
            real c_new = next[BD + s], n_new = next[2 * BD + s];
            real dy = dh[row * D + e] + dyp[s];
            real q = dy / n_new;
            real dct = dc[s] + q * g[3], dnt = dn[s] - q * next[s];
            dr[0] = g[0] * (g[2] * dct + dnt);
            dr[1] = g[1] * (dct * prev[BD + s] + dnt * prev[2 * BD + s]) * sigmoid_r(-r[1]);
            dr[2] = dct * g[0] * (1 - g[2] * g[2]);
            dr[3] = dy * (c_new / n_new) * g[3] * (1 - g[3]);
            dc[s] = g[1] * dct;
            dn[s] = g[1] * dnt;
            for (int k = 0; k < 4; k++) {
                draw[b * D4 + off + k * DH] = dr[k];
                dWx[row * D4 + k * D + e] += dr[k];
                dbias[k * D + e] += dr[k];
            }
        }
    }
}

void slstm_cell_backward(real *dWx, real *dR, real *dbias, real *dstate, const real *dh, real *saved, const real *R,
                         int B, int T, int NH, int DH)
{
    dims d = dims_of(B, T, NH, DH);
    int D = d.D;
    size_t BD = d.BD, S4 = 4 * BD;
    const real *raw = saved + (T + 1) * S4;
    real *draw = saved + (2 * (size_t)T + 1) * S4, *dyp = draw + S4, *dc = dyp + BD, *dn = dc + BD;
    memset(dyp, 0, sizeof(real) * 3 * BD);
    for (int t = T - 1; t >= 0; t--) {
        const real *prev = saved + t * S4;
        step_backward_pointwise(draw, dWx, dbias, dc, dn, dyp, dh, prev, prev + S4, raw + t * S4, t, d);
        for (int hd = 0; hd < NH; hd++) {
            const real *dr = draw + hd * 4 * DH, *Rh = R + (size_t)hd * 4 * DH * DH;
            /* dy_{t-1} = draw R (per head); dR += draw^T y_{t-1} */
            gemm(0, 0, B, DH, 4 * DH, 1, dr, 4 * D, Rh, DH, 0, dyp + hd * DH, D);
            gemm(1, 0, 4 * DH, DH, B, 1, dr, 4 * D, prev + hd * DH, D, 1, dR + (size_t)hd * 4 * DH * DH, DH);
        }
    }
    if (dstate)
        for (size_t s = 0; s < BD; s++) {
            dstate[s] += dyp[s];
            dstate[BD + s] += dc[s];
            dstate[2 * BD + s] += dn[s];
            dstate[3 * BD + s] += saved[BD + s] * dc[s] + saved[2 * BD + s] * dn[s];
        }
}
