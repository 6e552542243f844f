/* slstm_cell.h — the sLSTM cell (scalar memory) of xLSTM, semantics of the official vanilla
 * backend (xlstm/blocks/slstm/src/vanilla), backward of the official CUDA kernel.
 *
 * Per batch row b, head h, unit j (D = NH*DH, e = h*DH + j), gate g in (i, f, z, o):
 *   raw_g[e] = (Wx[g*D + e] + sum_k R[h][g*DH + j][k] y_prev[h*DH + k]) + bias[g*D + e]
 *   lfm = m + logsigmoid(raw_f)
 *   m'  = raw_i if n == 0 (per element: the first step from a zero state), else max(raw_i, lfm)
 *   i'  = min(1, e^{raw_i - m'}),  f' = min(1, e^{lfm - m'}),  z = tanh(raw_z),  o = sigmoid(raw_o)
 *   c'  = f' c + i' z,  n' = f' n + i',  y' = o c' / n'  (no eps; n' >= 1 after the first step)
 * The output is h_t = y_t. The stabilizer m never changes y: the cell equals the
 * unstabilized c_t = sigmoid(f) c + e^{raw_i} z, n_t likewise, y = o c / n.
 *
 * Layouts: Wx [B, T, 4*D], each row (gate, head, unit); h [B, T, D], row (head, unit);
 * R [NH, 4*DH, DH] indexed [head][gate*DH + out][in] (the official vanilla
 * `_recurrent_kernel_`); bias [4*D] (gate, head, unit); a state [4, B, D] = (y, c, n, m).
 *
 * Per step and head: the recurrent product (matmul.c's matrix-vector products; see
 * slstm_cell.c), then an elementwise pass; each head runs its time loop on its own thread
 * (OpenMP, when large). Nothing is allocated in the time loop.
 */
#ifndef XLSTM_SLSTM_CELL_H
#define XLSTM_SLSTM_CELL_H

#include "common.h"
#include "kernels/matmul.h"

/* Reals the forward saves for the backward (plus the backward's scratch), in this order:
 *   states [T+1, 4, B, D]  (y, c, n, m) before step 0 and after every step;
 *   raw    [T, B, NH, 4, DH] the gate pre-activations (head-major: a head's four gates are a block);
 *   draw   [T, B, NH, 4, DH] their gradients (the backward's: dR is one product over all steps);
 *   work   [3, B, D]       scratch of the backward.
 * In all (12T + 7) * B * D. */
size_t slstm_cell_saved_floats(int B, int T, int D);

/* h [B, T, D] = the cell over T steps.
 * state: NULL for a zero initial state (the final state is then not returned), or [4, B, D]
 *   holding the initial state, overwritten with the final one (prefill, and the step below).
 * saved: NULL when no backward follows, else slstm_cell_saved_floats() reals, written here.
 * work: slstm_cell_work_floats() reals of scratch (a [B, 4*D] step scratch and, without
 *   saved, a zero state), or NULL: the call allocates its own.
 * Returns 0, or -1 with a message (bad sizes, out of memory). */
int slstm_cell_forward(real *h, real *saved, const real *Wx, const real *R, const real *bias, real *state, int B,
                       int T, int NH, int DH, real *work);
size_t slstm_cell_work_floats(int B, int NH, int DH);

/* One token: h [B, D], Wx [B, 4*D]; state [4, B, D] read and updated in place; work [B, 4*D]
 * scratch. The recurrent products run as batch-1 maps in one parallel region, with the bits
 * of the forward's, so T steps equal one forward bit for bit; no allocation. pending: NULL,
 * or the caller's maps not yet run (the layer's gate maps, which write Wx), to share the
 * region. */
void slstm_cell_step(real *h, real *state, real *work, const real *Wx, const real *R, const real *bias, int B, int NH,
                     int DH, linear_batch *pending);

/* Gradients of the forward that filled `saved`, given dh [B, T, D], ADDED into
 * dWx [B, T, 4*D] (= d raw), dR [NH, 4*DH, DH], dbias [4*D] and, unless NULL, dstate
 * [4, B, D], the gradient of the initial state (y, c, n, m). As in the official CUDA kernel
 * the stabilizers are constants and the min(1, .) clamps are ignored; this is the exact
 * gradient, as y does not depend on m. The m component of dstate is c0 dc0 + n0 dn0 (exact
 * too: raising m0 by d scales the unstabilized c0, n0 by e^d; the CUDA kernel returns 0).
 * Only the draw and work parts of `saved` are written. */
void slstm_cell_backward(real *dWx, real *dR, real *dbias, real *dstate, const real *dh, real *saved, const real *R,
                         int B, int T, int NH, int DH);

#endif
