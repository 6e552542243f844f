/* slstm_cell.c — the sLSTM cell: forward over a sequence, the recurrent step (the forward's
 * own step function) and the hand-written backward. See slstm_cell.h for the equations.
 *
 * The recurrence is block-diagonal over heads, so each head runs its own time loop, in
 * parallel with the others. A step of a head is the recurrent product (4*DH pre-activations
 * from each batch row's DH values of y) and an elementwise pass over each row's DH units. The
 * products are matmul.c's matrix-vector products rather than gemm: one step's
 * [B x 4DH x DH] is far too small for BLAS, which packs R again on every call, while R_h
 * (4*DH*DH reals) stays in cache over the steps; and a batch-1 step runs them as linear maps
 * in the layer's parallel region, with the bits the sequence forward gives them. The
 * elementwise loops run over contiguous units with restrict pointers and the branch-free
 * functions of ops.h, so that they vectorize in float, in AVX2 clones (ops.h).
 * Pre-activations are head-major, [B, NH, 4, DH]: a head's four gates of a row are one
 * [4*DH] block. */
#include "slstm_cell.h"

#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/tuning.h"

typedef struct {
    int B, T, NH, DH, D;
    size_t BD; /* one state component [B, D] */
} dims;

static dims dims_of(int B, int T, int NH, int DH)
{
    dims d = {B, T, NH, DH, NH * DH, (size_t)B * NH * DH};
    return d;
}

size_t slstm_cell_saved_floats(int B, int T, int D) { return ((size_t)12 * T + 7) * B * D; }

/* Gate values (i', f', z, o) from the pre-activations r, lfm = m_prev + logsigmoid(r_f) and
 * the new stabilizer. Shared by forward and backward so that the backward sees exactly the
 * forward's gates. m' is raw_i or lfm, so one of min(1, e^{raw_i - m'}) and
 * min(1, e^{lfm - m'}) is e^0 = 1 and the other e^-|raw_i - lfm|, or 1 where a zero state
 * took m' = raw_i below lfm: one exponential instead of two, the same values. */
static inline void gates_of(real g[4], const real r[4], real lfm, real m_new)
{
    real e = exp_r(-fabs(r[0] - lfm));
    int i_max = m_new == r[0];
    g[0] = select_r(i_max, 1, e);
    g[1] = select_r(i_max & (lfm <= r[0]), e, 1);
    g[2] = tanh_r(r[2]);
    g[3] = sigmoid_r(r[3]);
}

/* out [rows, N] (row stride ldo) = x [rows, K] (row stride ldx) A [K, N] (A row-major): a
 * contiguous update of all outputs per x[k], which vectorizes; four rows of A per pass over
 * out (a quarter of its loads and stores), applied to every row of x while they are in L1,
 * so A is read once for all rows. The backward's recurrent gradient draw R_h. */
AVX2_CLONES static void vecmat(real *restrict out, size_t ldo, const real *restrict x, size_t ldx,
                               const real *restrict A, int K, int N, int rows)
{
    for (int b = 0; b < rows; b++)
        for (int n = 0; n < N; n++) out[b * ldo + n] = 0;
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const real *a = A + (size_t)k * N;
        for (int b = 0; b < rows; b++) {
            const real *xb = x + b * ldx + k;
            real *o = out + b * ldo;
            for (int n = 0; n < N; n++)
                o[n] = (((o[n] + xb[0] * a[n]) + xb[1] * a[N + n]) + xb[2] * a[2 * N + n]) + xb[3] * a[3 * N + n];
        }
    }
    for (; k < K; k++)
        for (int b = 0; b < rows; b++)
            for (int n = 0; n < N; n++) out[b * ldo + n] += x[b * ldx + k] * A[(size_t)k * N + n];
}

/* The elementwise part of a step for one row of one head (DH units). raw [4, DH] holds R y
 * on entry and the pre-activations on return; y, c, n, m [DH] are the state, updated in
 * place; h [DH] the output; wx and bias hold gate k at k*D. */
AVX2_CLONES static void cell_forward_row(real *restrict h, real *restrict y, real *restrict c, real *restrict n, real *restrict m,
                             real *restrict raw, const real *restrict wx, const real *restrict bias, size_t D, int DH)
{
    for (int j = 0; j < DH; j++) {
        real r[4], g[4];
        for (int k = 0; k < 4; k++) {
            /* (Wx + Ry) + b, the official order of the additions */
            r[k] = (wx[k * D + j] + raw[k * DH + j]) + bias[k * D + j];
            raw[k * DH + j] = r[k];
        }
        real lfm = m[j] + logsigmoid_r(r[1]);
        /* from a zero state (n == 0: only before the first step) m' = raw_i */
        real m_new = select_r((n[j] == 0) | (r[0] > lfm), r[0], lfm);
        gates_of(g, r, lfm, m_new);
        c[j] = g[1] * c[j] + g[0] * g[2];
        n[j] = g[1] * n[j] + g[0];
        h[j] = y[j] = g[3] * c[j] / n[j];
        m[j] = m_new;
    }
}

/* The elementwise part of a step of head hd for all rows, after its products: pre [B, 4*D]
 * (head-major) holds R y and receives the pre-activations; the state st [4, B, D]
 * (y, c, n, m) is updated in place. Wx rows have stride ldwx, h rows stride ldh. Touches only
 * the head's columns, so heads can run in parallel. */
static void head_update(real *h, size_t ldh, real *st, real *pre, const real *Wx, size_t ldwx, const real *bias, dims d,
                        int hd)
{
    size_t D = (size_t)d.D, BD = d.BD, col = (size_t)hd * d.DH;
    for (int b = 0; b < d.B; b++) {
        real *y = st + b * D + col;
        cell_forward_row(h + b * ldh + col, y, y + BD, y + 2 * BD, y + 3 * BD, pre + b * 4 * D + 4 * col,
                         Wx + b * ldwx + col, bias + col, D, d.DH);
    }
}

/* One step of head hd for all rows: each row's product R_h y reads only that row's y, so the
 * products come before the updates. */
static void step_forward(real *h, size_t ldh, real *st, real *pre, const real *Wx, size_t ldwx, const real *R,
                         const real *bias, dims d, int hd)
{
    size_t D = (size_t)d.D, col = (size_t)hd * d.DH;
    for (int b = 0; b < d.B; b++)
        matvec_rows(pre + b * 4 * D + 4 * col, R + col * 4 * d.DH, d.DH, st + b * D + col, 4 * d.DH, d.DH);
    head_update(h, ldh, st, pre, Wx, ldwx, bias, d, hd);
}

/* The head's columns of a state src [4, B, D] into dst. */
static void copy_head_state(real *dst, const real *src, dims d, int hd)
{
    size_t col = (size_t)hd * d.DH;
    for (size_t row = 0; row < 4 * (size_t)d.B; row++)
        memcpy(dst + row * d.D + col, src + row * d.D + col, sizeof(real) * d.DH);
}

/* The recurrence is block-diagonal over heads: each head runs its whole time loop on its
 * own thread (no synchronization per step), above SLSTM_PAR_ELEMS (tuning.h). (Read only by
 * the OpenMP if() clauses.) */
#ifdef _OPENMP
static int heads_in_parallel(dims d) { return d.NH > 1 && (size_t)d.T * d.BD > SLSTM_PAR_ELEMS; }
#endif

/* the pre-activations of one step and a zero state */
size_t slstm_cell_work_floats(int B, int NH, int DH) { return (size_t)8 * B * NH * DH; }

int slstm_cell_forward(real *h, real *saved, const real *Wx, const real *R, const real *bias, real *state, int B,
                       int T, int NH, int DH, real *work)
{
    if (B < 0 || T < 0 || NH <= 0 || DH <= 0)
        return xlstm_fail("slstm_cell_forward: bad sizes B=%d T=%d NH=%d DH=%d", B, T, NH, DH);
    dims d = dims_of(B, T, NH, DH);
    size_t S4 = 4 * d.BD, D = (size_t)d.D;
    real *own = work ? NULL : xlstm_alloc(slstm_cell_work_floats(B, NH, DH), sizeof(real), "slstm_cell_forward scratch");
    if (!work && !own) return -1;
    real *pre = work ? work : own, *st = state;
    if (saved) {
        /* states in slots 0 .. T of saved (slot 0 = the initial state), pre-activations after them */
        if (state)
            memcpy(saved, state, sizeof(real) * S4);
        else
            memset(saved, 0, sizeof(real) * S4);
    } else if (!state) {
        st = pre + S4;
        memset(st, 0, sizeof(real) * S4);
    }
#pragma omp parallel for schedule(static) if (heads_in_parallel(d))
    for (int hd = 0; hd < NH; hd++) {
        for (int t = 0; t < T; t++) {
            real *s = st, *p = pre;
            if (saved) { /* step t updates a copy of state t in slot t + 1 */
                s = saved + (t + 1) * S4, p = saved + (T + 1 + t) * S4;
                copy_head_state(s, s - S4, d, hd);
            }
            step_forward(h + t * D, T * D, s, p, Wx + t * 4 * D, T * 4 * D, R, bias, d, hd);
        }
    }
    if (saved && state) memcpy(state, saved + T * S4, sizeof(real) * S4);
    xlstm_free(own);
    return 0;
}

void slstm_cell_step(real *h, real *state, real *work, const real *Wx, const real *R, const real *bias, int B, int NH,
                     int DH, linear_batch *pending)
{
    dims d = dims_of(B, 1, NH, DH);
    linear_batch own = {.n = 0}, *batch = pending ? pending : &own;
    for (int b = 0; b < B; b++)
        for (int hd = 0; hd < NH; hd++) {
            size_t col = (size_t)hd * DH;
            linear_batch_add(batch, (linear_map){work + b * 4 * (size_t)d.D + 4 * col, state + b * d.D + col,
                                                 R + col * 4 * DH, NULL, DH, 4 * DH});
        }
    linear_batch_run(batch);
    for (int hd = 0; hd < NH; hd++) head_update(h, d.D, state, work, Wx, 4 * (size_t)d.D, bias, d, hd);
}

/* The elementwise part of step t of the backward for one row of one head (DH units): from dh
 * and the recurrent dy [DH] and the carried dc, dn [DH], the pre-activation gradients draw
 * [4, DH] are written and added into dwx and dbias (gate k at k*D); dc, dn become those of
 * step t-1.
 * prev, next: the states before and after the step (component k at k*BD); raw [4, DH]. */
AVX2_CLONES static void cell_backward_row(real *restrict draw, real *restrict dwx, real *restrict dbias, real *restrict dc,
                              real *restrict dn, const real *restrict dy, const real *restrict dh,
                              const real *restrict prev, const real *restrict next, const real *restrict raw, size_t D,
                              size_t BD, int DH)
{
    for (int j = 0; j < DH; j++) {
        real r[4], g[4], dr[4];
        for (int k = 0; k < 4; k++) r[k] = raw[k * DH + j];
        gates_of(g, r, prev[3 * BD + j] + logsigmoid_r(r[1]), next[3 * BD + j]);
        real c_new = next[BD + j], n_new = next[2 * BD + j];
        real dyt = dh[j] + dy[j];
        real q = dyt / n_new;
        real dct = dc[j] + q * g[3], dnt = dn[j] - q * next[j];
        dr[0] = g[0] * (g[2] * dct + dnt);
        dr[1] = g[1] * (dct * prev[BD + j] + dnt * prev[2 * BD + j]) * sigmoid_r(-r[1]);
        dr[2] = dct * g[0] * (1 - g[2] * g[2]);
        dr[3] = dyt * (c_new / n_new) * g[3] * (1 - g[3]);
        dc[j] = g[1] * dct;
        dn[j] = g[1] * dnt;
        for (int k = 0; k < 4; k++) draw[k * DH + j] = dr[k];
    }
    /* a pass of its own: inside the loop above, the run-time alias checks of dwx's four
     * gates against each other would exceed GCC's limit and keep the loop scalar */
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < DH; j++) {
            dwx[k * D + j] += draw[k * DH + j];
            dbias[k * D + j] += draw[k * DH + j];
        }
}

/* The backward of head hd: the time loop (per row, the elementwise part and then the
 * recurrent gradient dy_{t-1} = draw_t R_h, which needs only that row), then dR from all
 * steps' pre-activation gradients at once. */
static void head_backward(real *dWx, real *dR, real *dbias, const real *dh, const real *saved, const real *R, dims d,
                          int hd)
{
    int B = d.B, T = d.T, DH = d.DH;
    size_t D = (size_t)d.D, BD = d.BD, S4 = 4 * BD, D4 = 4 * D, col = (size_t)hd * DH;
    const real *raw = saved + (T + 1) * S4, *Rh = R + col * 4 * DH;
    real *draw = (real *)saved + (2 * (size_t)T + 1) * S4, *dyp = draw + T * S4, *dc = dyp + BD, *dn = dc + BD;
    for (int t = T - 1; t >= 0; t--) {
        const real *prev = saved + t * S4;
        for (int b = 0; b < B; b++) {
            size_t s = b * D + col, row = (size_t)b * T + t, g = t * S4 + b * D4 + 4 * col;
            cell_backward_row(draw + g, dWx + row * D4 + col, dbias + col, dc + s, dn + s, dyp + s, dh + row * D + col,
                              prev + s, prev + S4 + s, raw + g, D, BD, DH);
        }
        vecmat(dyp + col, D, draw + t * S4 + 4 * col, D4, Rh, 4 * DH, DH, B);
    }
    /* dR += sum over t and b of draw_t^T y_{t-1}: per row b one product over the T steps
     * (draw rows of b are B*4D apart, its states 4*B*D) */
    for (int b = 0; b < B; b++)
        gemm(1, 0, 4 * DH, DH, T, 1, draw + b * D4 + 4 * col, B * D4, saved + b * D + col, S4, 1, dR + col * 4 * DH,
             DH);
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
