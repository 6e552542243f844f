/* mlstm_cell.h — the mLSTM cell (matrix memory) of xLSTM, NeurIPS semantics, in three forms:
 * parallel (quadratic in T, the official training forward `parallel_stabilized_simple`),
 * chunkwise (linear in T, carries a state; used for prefill) and the recurrent step.
 *
 * Per batch b and head h (DH = head dim, k' = k / sqrt(DH): keys pre-scaled, queries not;
 * lf_t = logsigmoid(fg_t); the input gate ig_t is used raw, i.e. exponential):
 *   m_t = max(lf_t + m_{t-1}, ig_t),  C_t = e^{lf_t + m_{t-1} - m_t} C_{t-1} + e^{ig_t - m_t} k'_t v_t^T,
 *   n_t likewise with k'_t,  h_t = (q_t^T C_t) / (max(|q_t . n_t|, e^{-m_t}) + MLSTM_EPS).
 * C is [DH, DH] indexed [key dim][value dim]; a fresh state is C = n = 0, m = 0.
 * The chunkwise form is the same function (identical m, so identical eps term) for any chunk
 * size; the parallel form is one chunk with no initial-state term (m_t = max_j logD[t, j]),
 * so it differs from the others only through the eps term (relative size ~eps / denominator).
 *
 * Layouts: q, k, v, h [B, T, E] contiguous with E = NH*DH and head h at features
 * h*DH .. h*DH+DH-1; ig, fg [B, T, NH] raw gate pre-activations.
 * State (prefill / step): C [B, NH, DH, DH], n [B, NH, DH], m [B, NH].
 */
#ifndef XLSTM_MLSTM_CELL_H
#define XLSTM_MLSTM_CELL_H

#include "common.h"

/* Added to the stabilized denominator, outside the max (official value). */
#define MLSTM_EPS 1e-6

/* Floats the forward saves for the backward: per (b, head) the row stabilizers m_t and
 * denominators den_t [2, T], so B*NH*2T (the backward recomputes the chunk-boundary states
 * (C, n, m) one (b, head) at a time instead of keeping them for every pair). */
size_t mlstm_cell_saved_floats(int B, int T, int NH, int DH, int chunk, int parallel);

/* Scratch for the two sequence forms below: `threads` blocks of mlstm_cell_work_floats()
 * each, so that a call allocates nothing; the call then runs on at most that many threads.
 * Passing NULL instead, each call allocates its own for omp_get_max_threads() threads. */
typedef struct {
    real *buf;
    int threads;
} mlstm_cell_work;
/* Floats of one thread's block: for the forward, or (backward != 0) the backward. */
size_t mlstm_cell_work_floats(int T, int DH, int chunk, int parallel, int backward);
/* h [B, T, E] = the cell over the sequence. parallel != 0: the parallel form (chunk is
 * ignored, state pointers must be NULL); else chunkwise with chunk length `chunk` >= 1 (the
 * last chunk may be shorter). state_C/n/m: all NULL for a fresh start, or all given: they
 * hold the initial state and receive the final one. saved: NULL when no backward follows,
 * else mlstm_cell_saved_floats() floats; requires a fresh start. work: see above. Returns 0,
 * or -1 with a message (bad arguments, out of memory). */
int mlstm_cell_forward(real *h, real *saved, const real *q, const real *k, const real *v, const real *ig,
                       const real *fg, int B, int T, int NH, int DH, int chunk, int parallel, real *state_C,
                       real *state_n, real *state_m, const mlstm_cell_work *work);

/* Gradients of the forward above (same chunk, parallel and inputs; saved filled by it),
 * ADDED into dq, dk, dv [B, T, E] and dig, dfg [B, T, NH]. Every stabilizer m is treated as
 * a constant (as the official kernels do); the normalizer max(|den|, e^{-m}) is
 * differentiated. Gate gradients use the closed forms dig_j = k'_j . dk'_j and
 * dfg_t = sigmoid(-fg_t) sum_{s >= t} (q_s . dq_s - k'_s . dk'_s). Returns 0 or -1. */
int mlstm_cell_backward(real *dq, real *dk, real *dv, real *dig, real *dfg, const real *dh, const real *saved,
                        const real *q, const real *k, const real *v, const real *ig, const real *fg, int B, int T,
                        int NH, int DH, int chunk, int parallel, const mlstm_cell_work *work);

/* The same two with the denominator eps as a parameter (the tests use eps = 0, where the
 * function does not depend on the stabilizers at all, to check the backward exactly). */
int mlstm_cell_forward_eps(real *h, real *saved, const real *q, const real *k, const real *v, const real *ig,
                           const real *fg, int B, int T, int NH, int DH, int chunk, int parallel, real *state_C,
                           real *state_n, real *state_m, real eps, const mlstm_cell_work *work);
int mlstm_cell_backward_eps(real *dq, real *dk, real *dv, real *dig, real *dfg, const real *dh, const real *saved,
                            const real *q, const real *k, const real *v, const real *ig, const real *fg, int B,
                            int T, int NH, int DH, int chunk, int parallel, real eps, const mlstm_cell_work *work);

/* One token: q, k, v, h [B, E]; ig, fg [B, NH]; the state C, n, m is updated in place. */
void mlstm_cell_step(real *h, real *C, real *n, real *m, const real *q, const real *k, const real *v,
                     const real *ig, const real *fg, int B, int NH, int DH);

/* The cell with the head dim DK of queries and keys apart from DV of values (xLSTM Large:
 * DK = DV / 2): q, k [B, T, NH*DK], v, h [B, T, NH*DV]; the state C [B, NH, DK, DV], n [B, NH, DK];
 * keys scaled by 1/sqrt(DK). The functions above are these with DK = DV = DH. */
size_t mlstm_cell_work_floats_dkv(int T, int DK, int DV, int chunk, int parallel, int backward);
int mlstm_cell_forward_dkv(real *h, real *saved, const real *q, const real *k, const real *v, const real *ig,
                           const real *fg, int B, int T, int NH, int DK, int DV, int chunk, int parallel,
                           real *state_C, real *state_n, real *state_m, real eps, const mlstm_cell_work *work);
int mlstm_cell_backward_dkv(real *dq, real *dk, real *dv, real *dig, real *dfg, const real *dh, const real *saved,
                            const real *q, const real *k, const real *v, const real *ig, const real *fg, int B,
                            int T, int NH, int DK, int DV, int chunk, int parallel, real eps,
                            const mlstm_cell_work *work);
void mlstm_cell_step_dkv(real *h, real *C, real *n, real *m, const real *q, const real *k, const real *v,
                         const real *ig, const real *fg, int B, int NH, int DK, int DV, real eps);

/* What mlstm_cell_backward leaves out: the gradient through the stabilizers m_t, which enter
 * the output only with eps (eps e^{m_t} beside a denominator >= 1 in unstabilized units), added
 * into dig, dfg [B, T, NH]; with it the gradient is the exact one of the forward's function (the
 * one autograd gives through the official native kernels). It matters where e^{m_t} is near
 * 1/eps: input gates near 14 (xLSTM Large's gates are soft-capped at 15). h: the forward's output,
 * dh its gradient [B, T, NH*DV]; saved, parallel and eps as in that forward; dF: scratch
 * [B, T, NH]. Returns 0 or -1. */
int mlstm_cell_backward_stabilizer(real *dig, real *dfg, real *dF, const real *dh, const real *h, const real *saved,
                                   const real *ig, const real *fg, int B, int T, int NH, int DV, int parallel,
                                   real eps);

#endif
