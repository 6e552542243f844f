/* mlstm_cell.h — the mLSTM cell (matrix memory) of xLSTM, NeurIPS semantics, in three forms:
 * parallel (quadratic in T, the official training forward `parallel_stabilized_simple`),
 * chunkwise (linear in T, carries a state; used for prefill) and the recurrent step.
 *
 * Per batch b and head h (DK = head dim of queries and keys, DV = that of values; the paper's
 * xLSTM has DK = DV = DH, xLSTM Large DK = DV / 2; k' = k / sqrt(DK): keys pre-scaled, queries
 * not; lf_t = logsigmoid(fg_t); the input gate ig_t is used raw, i.e. exponential):
 *   m_t = max(lf_t + m_{t-1}, ig_t),  C_t = e^{lf_t + m_{t-1} - m_t} C_{t-1} + e^{ig_t - m_t} k'_t v_t^T,
 *   n_t likewise with k'_t,  h_t = (q_t^T C_t) / (max(|q_t . n_t|, e^{-m_t}) + MLSTM_EPS).
 * C is [DK, DV] indexed [key dim][value dim]; a fresh state is C = n = 0, m = 0.
 * The chunkwise form is the same function (identical m, so identical eps term) for any chunk
 * size; the parallel form is one chunk with no initial-state term (m_t = max_j logD[t, j]),
 * so it differs from the others only through the eps term (relative size ~eps / denominator).
 *
 * Layouts: q, k [B, T, EK] and v, h [B, T, EV] contiguous with EK = NH*DK, EV = NH*DV and
 * head h at features h*DK .. h*DK+DK-1 (h*DV .. of v, h); ig, fg [B, T, NH] raw gate
 * pre-activations. State (prefill / step): C [B, NH, DK, DV], n [B, NH, DK], m [B, NH].
 */
#ifndef XLSTM_MLSTM_CELL_H
#define XLSTM_MLSTM_CELL_H

#include "common.h"

/* Added to the stabilized denominator, outside the max (official value). */
#define MLSTM_EPS 1e-6

/* The shape of a call: B sequences of T steps, NH heads with DK features of queries and keys
 * and DV of values (DK = DV = DH in the paper's xLSTM). */
typedef struct {
    int B, T, NH, DK, DV;
} mlstm_cell_dims;

/* How a sequence is computed: chunkwise with `chunk` (>= 1; the last chunk may be shorter),
 * or (parallel != 0) the official parallel (quadratic) form, which ignores chunk. */
typedef struct {
    int parallel, chunk;
} mlstm_form;

/* The inputs (q, k [B, T, EK]; v [B, T, EV]; ig, fg [B, T, NH]), and their gradients, which
 * the backward adds into. */
typedef struct {
    const real *q, *k, *v, *ig, *fg;
} mlstm_cell_in;
typedef struct {
    real *q, *k, *v, *ig, *fg;
} mlstm_cell_grads;

/* A carried state: C [B, NH, DK, DV], n [B, NH, DK], m [B, NH]. */
typedef struct {
    real *C, *n, *m;
} mlstm_cell_state;

/* Floats the forward saves for the backward: per (b, head) the row stabilizers m_t and
 * denominators den_t [2, T], so B*NH*2T (the backward recomputes the chunk-boundary states
 * (C, n, m) one (b, head) at a time instead of keeping them for every pair). */
size_t mlstm_cell_saved_floats(mlstm_cell_dims d, mlstm_form form);

/* Scratch for the two sequence forms below: `threads` blocks of mlstm_cell_work_floats()
 * each, so that a call allocates nothing; the call then runs on at most that many threads.
 * Passing NULL instead, each call allocates its own for omp_get_max_threads() threads. */
typedef struct {
    real *buf;
    int threads;
} mlstm_cell_work;
/* Floats of one thread's block (they depend on d.T, d.DK and d.DV only): for the forward, or
 * (backward != 0) the backward. */
size_t mlstm_cell_work_floats(mlstm_cell_dims d, mlstm_form form, int backward);
/* h [B, T, EV] = the cell over the sequence. state: NULL for a fresh start, or the initial
 * state, which receives the final one (chunkwise form only). saved: NULL when no backward
 * follows, else mlstm_cell_saved_floats() floats; requires a fresh start. work: see above.
 * Returns 0, or -1 with a message (bad arguments, out of memory). */
int mlstm_cell_forward(real *h, real *saved, mlstm_cell_in in, const mlstm_cell_state *state, mlstm_cell_dims d,
                       mlstm_form form, const mlstm_cell_work *work);

/* Gradients of the forward above (same form and inputs; saved filled by it), ADDED into dx.
 * Every stabilizer m is treated as a constant (as the official kernels do); the normalizer
 * max(|den|, e^{-m}) is differentiated. Gate gradients use the closed forms
 * dig_j = k'_j . dk'_j and dfg_t = sigmoid(-fg_t) sum_{s >= t} (q_s . dq_s - k'_s . dk'_s).
 * Returns 0 or -1. */
int mlstm_cell_backward(mlstm_cell_grads dx, const real *dh, const real *saved, mlstm_cell_in in, mlstm_cell_dims d,
                        mlstm_form form, const mlstm_cell_work *work);

/* The same two with the denominator eps as a parameter (the tests use eps = 0, where the
 * function does not depend on the stabilizers at all, to check the backward exactly). */
int mlstm_cell_forward_eps(real *h, real *saved, mlstm_cell_in in, const mlstm_cell_state *state, mlstm_cell_dims d,
                           mlstm_form form, real eps, const mlstm_cell_work *work);
int mlstm_cell_backward_eps(mlstm_cell_grads dx, const real *dh, const real *saved, mlstm_cell_in in,
                            mlstm_cell_dims d, mlstm_form form, real eps, const mlstm_cell_work *work);

/* One token (d.T is not read): q, k [B, EK]; v, h [B, EV]; ig, fg [B, NH]; the state is
 * updated in place. The _eps form takes the denominator eps as a parameter (xLSTM Large's
 * config names its own). */
void mlstm_cell_step(real *h, mlstm_cell_state state, mlstm_cell_in in, mlstm_cell_dims d);
void mlstm_cell_step_eps(real *h, mlstm_cell_state state, mlstm_cell_in in, mlstm_cell_dims d, real eps);

/* What mlstm_cell_backward leaves out: the gradient through the stabilizers m_t, which enter
 * the output only with eps (eps e^{m_t} beside a denominator >= 1 in unstabilized units), added
 * into dx.ig, dx.fg [B, T, NH] (the other gradients are not touched, of the inputs only in.ig and
 * in.fg are read); with it the gradient is the exact one of the forward's function (the one
 * autograd gives through the official native kernels). It matters where e^{m_t} is near 1/eps:
 * input gates near 14 (xLSTM Large's gates are soft-capped at 15). h: the forward's output, dh
 * its gradient [B, T, EV]; saved, form and eps as in that forward; dF: scratch [B, T, NH].
 * Returns 0 or -1. */
int mlstm_cell_backward_stabilizer(mlstm_cell_grads dx, real *dF, const real *dh, const real *h, const real *saved,
                                   mlstm_cell_in in, mlstm_cell_dims d, mlstm_form form, real eps);

#endif
