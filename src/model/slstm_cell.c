/* slstm_cell.c — the sLSTM cell: forward over a sequence, the recurrent step (the forward's
 * own step function) and the hand-written backward. See slstm_cell.h for the equations.
 *
 * Each time step is one gemm per head for the recurrent product (the recurrence is
 * block-diagonal over heads, so each head runs its own time loop, in parallel with the
 * others), then an elementwise pass. The gemm writes the pre-activations
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

/* Heads run on threads of their own above this many state elements over the sequence. */
#define SLSTM_PAR_ELEMS 16384

static dims dims_of(int B, int T, int NH, int DH)
{
    dims d = {B, T, NH, DH, NH * DH, (size_t)B * NH * DH};
    return d;
}

size_t slstm_cell_saved_floats(int B, int T, int D) { return ((size_t)12 * T + 7) * B * D; }

static real min1(real x) { return x < 1 ? x : 1; }

/* Gate values (i', f', z, o) from the pre-activations r, lfm = m_prev + logsigmoid(r_f) and
 * the new stabilizer. Shared by forward and backward so that the backward sees exactly the
 * forward's gates. */
static void gates_of(real g[4], const real r[4], real lfm, real m_new)
{
    g[0] = min1(exp_r(r[0] - m_new));
    g[1] = min1(exp_r(lfm - m_new));
    g[2] = tanh(r[2]);
    g[3] = sigmoid_r(r[3]);
}

/* One step of head hd for all rows. prev, next [4, B, D] (y, c, n, m): the state before and
 * after (may be the same buffer: the head's y_prev is consumed by the gemm before any of it is
 * written). pre [B, 4*D] (head-major) receives the pre-activations. Wx rows have stride
 * ldwx, h rows stride ldh. Touches only the head's columns, so heads can run in parallel. */
static void step_forward(real *h, size_t ldh, real *next, const real *prev, real *pre, const real *Wx, size_t ldwx,
                         const real *R, const real *bias, dims d, int hd)
{
    int DH = d.DH, D = d.D;
    size_t BD = d.BD, D4 = (size_t)4 * D;
    gemm(0, 1, d.B, 4 * DH, DH, 1, prev + hd * DH, D, R + (size_t)hd * 4 * DH * DH, DH, 0, pre + hd * 4 * DH, 4 * D);
    for (int b = 0; b < d.B; b++)
        for (int e = hd * DH; e < (hd + 1) * DH; e++) {
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

/* The recurrence is block-diagonal over heads: each head runs its whole time loop on its
 * own thread (no synchronization per step), when there is enough work. (Read only by the
 * OpenMP if() clauses.) */
#ifdef _OPENMP
static int heads_in_parallel(dims d) { return d.NH > 1 && (size_t)d.T * d.BD > SLSTM_PAR_ELEMS; }
#endif

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
#pragma omp parallel for schedule(static) if (heads_in_parallel(d))
        for (int hd = 0; hd < NH; hd++)
            for (int t = 0; t < T; t++)
                step_forward(h + t * D, T * D, saved + (t + 1) * S4, saved + t * S4, raw + t * S4, Wx + t * 4 * D,
                             T * 4 * D, R, bias, d, hd);
        if (state) memcpy(state, saved + T * S4, sizeof(real) * S4);
        return 0;
    }
    /* scratch for the pre-activations of one step, and a zero state if none was given */
    real *own = xlstm_alloc(state ? S4 : 2 * S4, sizeof(real), "slstm_cell_forward scratch");
    if (!own) return -1;
    real *st = state ? state : own + S4;
#pragma omp parallel for schedule(static) if (heads_in_parallel(d))
    for (int hd = 0; hd < NH; hd++)
        for (int t = 0; t < T; t++)
            step_forward(h + t * D, T * D, st, st, own, Wx + t * 4 * D, T * 4 * D, R, bias, d, hd);
    xlstm_free(own);
    return 0;
}

void slstm_cell_step(real *h, real *state, real *work, const real *Wx, const real *R, const real *bias, int B, int NH,
                     int DH)
{
    dims d = dims_of(B, 1, NH, DH);
    for (int hd = 0; hd < NH; hd++) step_forward(h, d.D, state, state, work, Wx, 4 * (size_t)d.D, R, bias, d, hd);
}

/* The elementwise part of step t of the backward, for head hd and all rows: from dh_t, the
 * recurrent dy (dyp) and the carried dc, dn, the pre-activation gradients draw [B, 4*D]
 * (head-major) are written and added into dWx; dc, dn become those of step t-1. */
static void step_backward_pointwise(real *draw, real *dWx, real *dc, real *dn, const real *dyp, const real *dh,
                                    const real *prev, const real *next, const real *raw, int t, dims d, int hd)
{
    int B = d.B, T = d.T, DH = d.DH, D = d.D;
    size_t BD = d.BD, D4 = (size_t)4 * D;
    for (int e = hd * DH; e < (hd + 1) * DH; e++) {
        size_t off = (size_t)hd * 4 * DH + e % DH; /* gate k of unit e at off + k*DH in a head-major row */
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
            }
        }
    }
}

/* The backward of head hd: the time loop (one gemm per step for the recurrent gradient),
 * then dR and dbias from all steps' pre-activation gradients at once. */
static void head_backward(real *dWx, real *dR, real *dbias, const real *dh, const real *saved, const real *R, dims d,
                          int hd)
{
    int B = d.B, T = d.T, DH = d.DH, D = d.D;
    size_t BD = d.BD, S4 = 4 * BD, D4 = (size_t)4 * D;
    const real *raw = saved + (T + 1) * S4, *Rh = R + (size_t)hd * 4 * DH * DH;
    real *draw = (real *)saved + (2 * (size_t)T + 1) * S4, *dyp = draw + T * S4, *dc = dyp + BD, *dn = dc + BD;
    for (int t = T - 1; t >= 0; t--) {
        const real *prev = saved + t * S4;
        real *dr = draw + t * S4;
        step_backward_pointwise(dr, dWx, dc, dn, dyp, dh, prev, prev + S4, raw + t * S4, t, d, hd);
        /* dy_{t-1} = draw R (this head's block) */
        gemm(0, 0, B, DH, 4 * DH, 1, dr + hd * 4 * DH, 4 * D, Rh, DH, 0, dyp + hd * DH, D);
    }
    /* dR += sum over t and b of draw_t^T y_{t-1}: per row b one product over the T steps
     * (draw rows of b are B*4D apart, its states 4*B*D) */
    for (int b = 0; b < B; b++)
        gemm(1, 0, 4 * DH, DH, T, 1, draw + b * D4 + hd * 4 * DH, B * D4, saved + (size_t)b * D + hd * DH, S4, 1,
             dR + (size_t)hd * 4 * DH * DH, DH);
    for (size_t row = 0; row < (size_t)T * B; row++)
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < DH; j++) dbias[k * D + hd * DH + j] += draw[row * D4 + hd * 4 * DH + k * DH + j];
}

void slstm_cell_backward(real *dWx, real *dR, real *dbias, real *dstate, const real *dh, real *saved, const real *R,
                         int B, int T, int NH, int DH)
{
    dims d = dims_of(B, T, NH, DH);
    size_t BD = d.BD, S4 = 4 * BD;
    real *dyp = saved + (3 * (size_t)T + 1) * S4, *dc = dyp + BD, *dn = dc + BD;
    memset(dyp, 0, sizeof(real) * 3 * BD);
#pragma omp parallel for schedule(static) if (heads_in_parallel(d))
    for (int hd = 0; hd < NH; hd++) head_backward(dWx, dR, dbias, dh, saved, R, d, hd);
    if (dstate)
        for (size_t s = 0; s < BD; s++) {
            dstate[s] += dyp[s];
            dstate[BD + s] += dc[s];
            dstate[2 * BD + s] += dn[s];
            dstate[3 * BD + s] += saved[BD + s] * dc[s] + saved[2 * BD + s] * dn[s];
        }
}
