/* mlstm_cell.c — the mLSTM cell. One chunk kernel serves both sequence forms: the parallel
 * form is a single chunk whose initial state has m = -inf (no state term), the chunkwise
 * form walks chunks of L rows carrying (C, n, m) like the recurrent step. Within a chunk
 * (rows t, j; b_t = cumsum of lf inside the chunk; u_j = ig_j - b_j; state (C, n, m) before):
 *   logD[t, j] = b_t + u_j (j <= t),  m_t = b_t + max(m, max_{j<=t} u_j)  (= the recurrent m_t),
 *   W[t, j] = (q_t . k'_j) e^{logD - m_t},  sc_t = e^{b_t + m - m_t},
 *   num_t = sc_t C^T q_t + sum_j W[t, j] v_j,  den_t = sc_t q_t . n + sum_j W[t, j],
 *   h_t = num_t / (max(|den_t|, e^{-m_t}) + eps).
 * After the chunk, with g = b_last: m' = g + max(m, max_j u_j),
 *   C' = e^{g + m - m'} C + sum_j e^{g + u_j - m'} k'_j v_j^T, n' likewise.
 * Every exponent above is <= 0 except the floor e^{-m_t}. */
#include "mlstm_cell.h"

#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/split.h"
#include "kernels/tuning.h"

typedef struct {
    int B, T, NH, DK, DV; /* head dims: DK of q and k, DV of v and h */
    int EK, EV;           /* NH*DK, NH*DV: the row strides of q, k and of v, h */
    int L, NC;           /* chunk length (the last chunk may be shorter) and chunk count */
    real m0;             /* stabilizer of the fresh state: 0 (chunkwise, as the step), -inf (parallel) */
    real kscale;         /* 1/sqrt(DK), the key pre-scaling */
    real eps;
} cell_dims;

/* One chunk of one (b, head): pointers to its first row, row stride EK for q, k, EV for v,
 * h, dh and NH for the gates. */
typedef struct {
    const real *q, *k, *v, *ig, *fg;
    int n; /* rows in this chunk */
} chunk_in;

/* Per-thread scratch. The forward uses the first group only. */
typedef struct {
    real *S;                            /* [L, L] q k'^T, then the weights W */
    real *bv, *u, *um, *sc, *mrow, *den; /* [L] */
    real *Ks;                           /* [L, DK] decay-scaled keys */
    real *Qs;                           /* [L, DK] forward: queries scaled by sc_t / denom_t */
    real *C, *n;                        /* [DK, DV], [DK]: running state, or (backward) its gradient */
    real *Dp, *P;                       /* [L, L] decay matrix e^{logD - m}; dW, then dS */
    real *qdq, *kdk;                    /* [L] q_t . dq_t, k'_j . dk'_j (for the gate gradients) */
    real *dHt, *Hs;                     /* [L, DV] */
    real *X, *Gv;                       /* [L, DK] */
    real *states;                       /* [NC-1] states (C, n, m) before chunks 1.., recomputed */
} scratch;

static size_t scratch_floats(const cell_dims *d, int backward)
{
    size_t L = (size_t)d->L, DK = (size_t)d->DK, DV = (size_t)d->DV;
    size_t fw = L * L + 6 * L + 2 * L * DK + DK * DV + DK;
    size_t states = d->NC > 1 ? (size_t)(d->NC - 1) * (DK * DV + DK + 1) : 0;
    return backward ? fw + 2 * L * L + 2 * L + 2 * L * (DK + DV) + states : fw;
}

static scratch carve_scratch(real *p, const cell_dims *d, int backward)
{
    size_t L = (size_t)d->L, DK = (size_t)d->DK, DV = (size_t)d->DV;
    scratch s = {0};
    s.S = p; p += L * L;
    s.bv = p; p += L;
    s.u = p; p += L;
    s.um = p; p += L;
    s.sc = p; p += L;
    s.mrow = p; p += L;
    s.den = p; p += L;
    s.Ks = p; p += L * DK;
    s.Qs = p; p += L * DK;
    s.C = p; p += DK * DV;
    s.n = p; p += DK;
    if (backward) {
        s.Dp = p; p += L * L;
        s.P = p; p += L * L;
        s.qdq = p; p += L;
        s.kdk = p; p += L;
        s.dHt = p; p += L * DV;
        s.Hs = p; p += L * DV;
        s.X = p; p += L * DK;
        s.Gv = p; p += L * DK;
        s.states = p;
    }
    return s;
}

static int make_dims(cell_dims *d, const char *fn, mlstm_cell_dims s, mlstm_form form, real eps)
{
    if (s.B < 1 || s.T < 0 || s.NH < 1 || s.DK < 1 || s.DV < 1)
        return xlstm_fail("%s: bad shape B=%d T=%d NH=%d DK=%d DV=%d", fn, s.B, s.T, s.NH, s.DK, s.DV);
    if (!form.parallel && form.chunk < 1) return xlstm_fail("%s: chunk size %d must be >= 1", fn, form.chunk);
    d->B = s.B, d->T = s.T, d->NH = s.NH, d->DK = s.DK, d->DV = s.DV, d->EK = s.NH * s.DK, d->EV = s.NH * s.DV;
    d->L = form.parallel || form.chunk > s.T ? s.T : form.chunk;
    d->NC = s.T == 0 ? 0 : (s.T + d->L - 1) / d->L;
    d->m0 = form.parallel ? -INFINITY : 0;
    d->kscale = 1 / sqrt((real)s.DK);
    d->eps = eps;
    return 0;
}

/* ---- saved layout: per pair the rows (m_t, den_t) [B*NH, 2, T]. The states at the chunk
 * boundaries are not kept: the backward recomputes them (O(T/L DK DV) memory per thread
 * instead of per (b, head) pair and layer). */
static size_t state_floats(const cell_dims *d) { return (size_t)d->DK * d->DV + d->DK + 1; }

static real *saved_rows(const real *saved, const cell_dims *d, int pair)
{
    return (real *)saved + (size_t)pair * 2 * d->T;
}

size_t mlstm_cell_saved_floats(mlstm_cell_dims s, mlstm_form form)
{
    cell_dims d = {0};
    if (make_dims(&d, "mlstm_cell_saved_floats", s, form, MLSTM_EPS) != 0) return 0;
    return (size_t)s.B * s.NH * 2 * (size_t)s.T;
}

static chunk_in chunk_at(const mlstm_cell_in *in, const cell_dims *d, int b, int hd, int kc)
{
    int t0 = kc * d->L;
    size_t row = (size_t)b * d->T + t0, off = row * d->EK + (size_t)hd * d->DK, goff = row * d->NH + hd;
    chunk_in c = {in->q + off, in->k + off, in->v + row * d->EV + (size_t)hd * d->DV, in->ig + goff, in->fg + goff,
                  d->T - t0 < d->L ? d->T - t0 : d->L};
    return c;
}

/* The chunk's [n, n] matrices (S, W, D', dW, dS) are lower triangular: their products are
 * matmul.h's tri_outer and tri_times, which skip most of the zeros above the diagonal. */

/* bv_t = cumsum of logsigmoid(fg) in the chunk, u_j = ig_j - bv_j, um_t = max(m, u_0..u_t);
 * so logD[t, j] = bv_t + u_j and m_t = bv_t + um_t. */
static void chunk_gates(real *bv, real *u, real *um, const chunk_in *c, real m, const cell_dims *d)
{
    real acc = 0, run = m;
    for (int t = 0; t < c->n; t++) {
        acc += logsigmoid_r(c->fg[(size_t)t * d->NH]);
        bv[t] = acc;
        u[t] = c->ig[(size_t)t * d->NH] - acc;
        run = u[t] > run ? u[t] : run;
        um[t] = run;
    }
}

static real denom(real den, real mt, real eps)
{
    real floor_m = exp_r(-mt), a = fabs(den);
    return (a > floor_m ? a : floor_m) + eps;
}

/* Rows of h (row stride EV) for one chunk from the state (C, n, m) before it; has_state = 0
 * when C = n = 0 (skips those products). Writes mrow[t] = m_t, den[t] = den_t. The factor
 * 1/denom of each row is folded into that row of W and of Qs = sc q before the products, so
 * that they write h without passes over it afterwards. */
static void chunk_output(real *h, real *mrow, real *den, const scratch *s, const chunk_in *c, const real *C,
                         const real *nv, real m, int has_state, const cell_dims *d)
{
    int n = c->n, DK = d->DK, DV = d->DV, EK = d->EK, EV = d->EV;
    real *S = s->S;
    tri_outer(S, n, DK, d->kscale, c->q, EK, c->k, EK); /* S = q k'^T [n, n] */
    for (int t = 0; t < n; t++) {
        const real *qt = c->q + (size_t)t * EK;
        real mt = s->bv[t] + s->um[t], sc = exp_r(s->bv[t] + m - mt), sum = 0, qn = 0, *row = S + (size_t)t * n;
        for (int j = 0; j <= t; j++) row[j] *= exp_r(s->bv[t] + s->u[j] - mt); /* (vectorizes apart from the sum) */
        for (int j = 0; j <= t; j++) sum += row[j];
        if (has_state) {
#pragma omp simd reduction(+ : qn)
            for (int a = 0; a < DK; a++) qn += qt[a] * nv[a];
        }
        mrow[t] = mt;
        den[t] = sum + sc * qn;
        real r = 1 / denom(den[t], mt, d->eps);
        for (int j = 0; j <= t; j++) row[j] *= r;
        for (int j = t + 1; j < n; j++) row[j] = 0;
        if (has_state)
            for (int a = 0; a < DK; a++) s->Qs[(size_t)t * DK + a] = r * sc * qt[a];
    }
    tri_times(0, h, EV, n, DV, 1, S, c->v, EV, 0);                        /* h = W v, rows / denom */
    if (has_state) gemm(0, 0, n, DV, DK, 1, s->Qs, DK, C, DV, 1, h, EV); /* + sc q^T C, rows / denom */
}

/* The state after the chunk, (C, n, m) <- (C', n', m') (see the file comment), from the state
 * before it, (Cprev, nprev, *m): NULL for zeros, or C and n themselves (in place). */
static void chunk_state_update(real *C, real *nv, real *m, const real *Cprev, const real *nprev, const scratch *s,
                               const chunk_in *c, const cell_dims *d)
{
    int n = c->n, DK = d->DK, DV = d->DV;
    real g = s->bv[n - 1], mnew = g + s->um[n - 1], decay = exp_r(g + *m - mnew), beta = Cprev ? decay : 0;
    if (Cprev && Cprev != C) { /* decayed while copied: one pass instead of a copy and the product's scaling */
        for (size_t i = 0; i < (size_t)DK * DV; i++) C[i] = decay * Cprev[i];
        beta = 1;
    }
    for (int a = 0; a < DK; a++) nv[a] = nprev ? decay * nprev[a] : 0;
    for (int j = 0; j < n; j++) {
        real w = exp_r(g + s->u[j] - mnew) * d->kscale, *ks = s->Ks + (size_t)j * DK;
        const real *kj = c->k + (size_t)j * d->EK;
        for (int a = 0; a < DK; a++) {
            ks[a] = w * kj[a];
            nv[a] += ks[a];
        }
    }
    gemm(1, 0, DK, DV, n, 1, s->Ks, DK, c->v, d->EV, beta, C, DV); /* C = decay C + Ks^T V */
    *m = mnew;
}

/* The whole sequence of one (b, head) pair. C, nv, m: that pair's state, or all NULL. */
static void pair_forward(real *h, real *saved, const mlstm_cell_in *in, real *C, real *nv, real *m, const scratch *s,
                         int b, int hd, const cell_dims *d)
{
    int DK = d->DK, DV = d->DV, pair = b * d->NH + hd, has_state = C != NULL;
    real mw = m ? *m : d->m0;
    if (C) {
        memcpy(s->C, C, sizeof(real) * DK * DV);
        memcpy(s->n, nv, sizeof(real) * DK);
    }
    for (int kc = 0; kc < d->NC; kc++) {
        chunk_in c = chunk_at(in, d, b, hd, kc);
        size_t t0 = (size_t)kc * d->L;
        real *mrow = saved ? saved_rows(saved, d, pair) + t0 : s->mrow;
        real *den = saved ? saved_rows(saved, d, pair) + d->T + t0 : s->den;
        chunk_gates(s->bv, s->u, s->um, &c, mw, d);
        chunk_output(h + ((size_t)b * d->T + t0) * d->EV + (size_t)hd * DV, mrow, den, s, &c, s->C, s->n, mw,
                     has_state, d);
        if (kc < d->NC - 1 || C) {
            chunk_state_update(s->C, s->n, &mw, has_state ? s->C : NULL, has_state ? s->n : NULL, s, &c, d);
            has_state = 1;
        }
    }
    if (C) {
        memcpy(C, s->C, sizeof(real) * DK * DV);
        memcpy(nv, s->n, sizeof(real) * DK);
        *m = mw;
    }
}

size_t mlstm_cell_work_floats(mlstm_cell_dims s, mlstm_form form, int backward)
{
    cell_dims d = {0};
    mlstm_cell_dims one = {1, s.T, 1, s.DK, s.DV}; /* a thread's block serves one pair at a time */
    if (make_dims(&d, "mlstm_cell_work_floats", one, form, MLSTM_EPS) != 0) return 0;
    return scratch_floats(&d, backward);
}

/* The scratch of a call: one block of `per` floats for each thread that will run (at most
 * one per pair, and no more than the team a region gets now: a step's team can be smaller
 * than the one its scratch was sized for, thread_tuner.h), from work, or allocated for this
 * call (*own, to be freed) without it. */
static int thread_scratch(real **buf, real **own, int *nthr, size_t per, int pairs, const mlstm_cell_work *work,
                          const char *fn)
{
    int n = thread_count();
    if (work && work->threads < n) n = work->threads;
    if (n > pairs) n = pairs;
    if (n < 1) n = 1;
    *nthr = n;
    *own = NULL;
    if (work) {
        *buf = work->buf;
        return 0;
    }
    size_t total;
    if (xlstm_mul_size(per, (size_t)n, &total) != 0) return xlstm_fail("%s: scratch size overflows", fn);
    *buf = *own = xlstm_alloc(total, sizeof(real), fn);
    return *buf ? 0 : -1;
}

int mlstm_cell_forward_eps(real *h, real *saved, mlstm_cell_in in, const mlstm_cell_state *state, mlstm_cell_dims dims,
                           mlstm_form form, real eps, const mlstm_cell_work *work)
{
    static const char fn[] = "mlstm_cell_forward";
    cell_dims d = {0};
    if (make_dims(&d, fn, dims, form, eps) != 0) return -1;
    if (state && (!state->C || !state->n || !state->m)) return xlstm_fail("%s: a state needs all of C, n and m", fn);
    if (state && form.parallel) return xlstm_fail("%s: the parallel form takes no state", fn);
    if (state && saved) return xlstm_fail("%s: saved (for the backward) requires a fresh start (no state)", fn);
    if (d.T == 0) return 0;
    int pairs = d.B * d.NH, nthr = 1, NH = d.NH;
    size_t per = scratch_floats(&d, 0);
    real *buf = NULL, *own = NULL;
    if (thread_scratch(&buf, &own, &nthr, per, pairs, work, fn) != 0) return -1;
#pragma omp parallel for num_threads(nthr) schedule(dynamic, 1)
    for (int p = 0; p < pairs; p++) {
        scratch s = carve_scratch(buf + per * thread_num(), &d, 0);
        size_t ps = (size_t)p;
        pair_forward(h, saved, &in, state ? state->C + ps * d.DK * d.DV : NULL, state ? state->n + ps * d.DK : NULL,
                     state ? state->m + ps : NULL, &s, p / NH, p % NH, &d);
    }
    xlstm_free(own);
    return 0;
}

int mlstm_cell_forward(real *h, real *saved, mlstm_cell_in in, const mlstm_cell_state *state, mlstm_cell_dims d,
                       mlstm_form form, const mlstm_cell_work *work)
{
    return mlstm_cell_forward_eps(h, saved, in, state, d, form, MLSTM_EPS, work);
}

/* ---- backward. Per chunk kc, in reverse, with the state (C, n, m) before it (zeros and m0
 * for the first chunk), dh~_t = r_t dh_t (r_t = 1/denom) and
 * db_t = -sgn(den_t) r_t (num_t . dh~_t) on the |den| branch, else 0:
 *   dW[t, j] = dh~_t . v_j + db_t,  dS = D' * dW  ->  dq_t = sum_j dS k'_j,  dk'_j = sum_t dS q_t,
 *   dv_j = sum_t W[t, j] dh~_t,  dq_t += sc_t (C dh~_t + db_t n).
 * The gradient G, gn of the state after the chunk (stabilized by m_{kc+1}) adds, with
 * e_j = e^{g + u_j - m_{kc+1}}: dk'_j += e_j (G v_j + gn), dv_j += e_j G^T k'_j; then it is
 * carried back: G <- e^{g + m - m_{kc+1}} G + sum_t sc_t q_t dh~_t^T, gn likewise with db_t q_t.
 * All of those factors are <= 1.
 * The gate gradients need q_t . dq_t and k'_j . dk'_j. Their parts from within the chunk are
 * the row and column sums of W * dW (q_t . dS[t, j] k'_j = dS[t, j] S[t, j] = W[t, j] dW[t, j]),
 * so the products add dq, dk, dv straight into the outputs; only the state terms are dotted. */

/* W, the decay matrix D' (in Dp), sc_t, r_t (in mrow) and dh~ of the chunk; with a state before
 * it also Hs_t = sc_t dh~_t, which serves both the C term of dq and the update of G. */
static void chunk_backward_weights(const scratch *s, const chunk_in *c, const real *dh, const real *mrow,
                                   const real *den, real m, int has_state, const cell_dims *d)
{
    int n = c->n, DV = d->DV, EV = d->EV;
    real *W = s->S, *Dp = s->Dp;
    tri_outer(W, n, d->DK, d->kscale, c->q, d->EK, c->k, d->EK);
    for (int t = 0; t < n; t++) {
        real mt = mrow[t], r = 1 / denom(den[t], mt, d->eps), sc = exp_r(s->bv[t] + m - mt);
        real *Wt = W + (size_t)t * n, *Dt = Dp + (size_t)t * n, *ht = s->dHt + (size_t)t * DV;
        for (int j = 0; j <= t; j++) {
            Dt[j] = exp_r(s->bv[t] + s->u[j] - mt);
            Wt[j] *= Dt[j];
        }
        for (int j = t + 1; j < n; j++) Dt[j] = Wt[j] = 0;
        s->sc[t] = sc;
        s->mrow[t] = r;
        for (int e = 0; e < DV; e++) ht[e] = r * dh[(size_t)t * EV + e];
        if (has_state)
            for (int e = 0; e < DV; e++) s->Hs[(size_t)t * DV + e] = sc * ht[e];
    }
}

/* The chunk's own terms: dS (in P), db (in den), qdq and the in-chunk part of kdk, dq, dk, dv
 * added into the outputs (row strides EK, EV), and with a state (C, n) before the chunk its dq term. */
static void chunk_backward_local(real *dq, real *dk, real *dv, const scratch *s, const chunk_in *c, const real *mrow,
                                 const real *den, const real *C, const real *nv, const cell_dims *d)
{
    int n = c->n, DK = d->DK, DV = d->DV, EK = d->EK, has_state = C != NULL;
    const real *W = s->S, *Dp = s->Dp;
    real *P = s->P, *db = s->den;
    tri_outer(P, n, DV, 1, s->dHt, DV, c->v, d->EV);                        /* P = dh~ v^T */
    if (has_state) gemm(0, 1, n, DK, DV, 1, s->Hs, DV, C, DV, 0, s->X, DK); /* X_t = sc_t C dh~_t */
    for (int j = 0; j < n; j++) s->kdk[j] = 0;
    for (int t = 0; t < n; t++) {
        const real *Wt = W + (size_t)t * n, *Dt = Dp + (size_t)t * n, *qt = c->q + (size_t)t * EK;
        const real *xt = s->X + (size_t)t * DK;
        real *Pt = P + (size_t)t * n, hd = 0, qx = 0, qn = 0, rowsum = 0, r = s->mrow[t];
        for (int j = 0; j <= t; j++) hd += Wt[j] * Pt[j];
        if (has_state) {
#pragma omp simd reduction(+ : qx, qn)
            for (int a = 0; a < DK; a++) {
                qx += qt[a] * xt[a];
                qn += qt[a] * nv[a];
            }
        }
        hd += qx;
        db[t] = fabs(den[t]) > exp_r(-mrow[t]) ? (den[t] > 0 ? -r * hd : r * hd) : 0;
        for (int j = 0; j <= t; j++) {
            real dw = Pt[j] + db[t], wdw = Wt[j] * dw;
            rowsum += wdw;
            s->kdk[j] += wdw;
            Pt[j] = Dt[j] * dw;
        }
        for (int j = t + 1; j < n; j++) Pt[j] = 0;
        real f = s->sc[t] * db[t];
        s->qdq[t] = rowsum + qx + f * qn;
        if (has_state) {
            real *dqt = dq + (size_t)t * EK;
            for (int a = 0; a < DK; a++) dqt[a] += xt[a] + f * nv[a];
        }
    }
    tri_times(0, dq, EK, n, DK, d->kscale, P, c->k, EK, 1); /* dq += dS k' */
    tri_times(1, dk, EK, n, DK, d->kscale, P, c->q, EK, 1); /* dk += dk' / sqrt(DK), dk' = dS^T q */
    tri_times(1, dv, d->EV, n, DV, 1, W, s->dHt, DV, 1);    /* dv += W^T dh~ */
}

/* With a state after this chunk (its gradient G, gn in s->C, s->n; stabilizer mnext): its
 * terms of dk' and dv added into the outputs, and their k'_j . dk'_j into kdk. */
static void chunk_backward_state_in(real *dk, real *dv, const scratch *s, const chunk_in *c, real mnext,
                                    const cell_dims *d)
{
    int n = c->n, DK = d->DK, DV = d->DV, EK = d->EK;
    real g = s->bv[n - 1];
    for (int j = 0; j < n; j++) {
        real w = exp_r(g + s->u[j] - mnext) * d->kscale, *ks = s->Ks + (size_t)j * DK;
        const real *kj = c->k + (size_t)j * EK;
        for (int a = 0; a < DK; a++) ks[a] = w * kj[a];
    }
    gemm(0, 0, n, DV, DK, 1, s->Ks, DK, s->C, DV, 1, dv, d->EV);   /* dv_j += e_j G^T k'_j */
    gemm(0, 1, n, DK, DV, 1, c->v, d->EV, s->C, DV, 0, s->Gv, DK); /* G v_j (e_j applied below) */
    for (int j = 0; j < n; j++) {
        const real *kj = c->k + (size_t)j * EK, *gv = s->Gv + (size_t)j * DK;
        real w = exp_r(g + s->u[j] - mnext) * d->kscale, *dkj = dk + (size_t)j * EK, kd = 0;
#pragma omp simd reduction(+ : kd)
        for (int a = 0; a < DK; a++) {
            real y = gv[a] + s->n[a];
            kd += kj[a] * y;
            dkj[a] += w * y;
        }
        s->kdk[j] += w * kd;
    }
}

/* The gate gradients of the chunk's rows; *suffix carries sum_{s > this chunk}
 * (q_s . dq_s - k'_s . dk'_s) for the forget-gate revcumsum. */
static void chunk_backward_gates(real *dig, real *dfg, real *suffix, const scratch *s, const chunk_in *c,
                                 const cell_dims *d)
{
    int NH = d->NH;
    for (int t = c->n - 1; t >= 0; t--) {
        *suffix += s->qdq[t] - s->kdk[t];
        dig[(size_t)t * NH] += s->kdk[t];
        dfg[(size_t)t * NH] += *suffix * sigmoid_r(-c->fg[(size_t)t * NH]);
    }
}

/* G, gn <- the gradient of the state before this chunk (m = its stabilizer; decay 0 when
 * this is the last chunk, whose following gradient is zero). */
static void chunk_backward_state_out(const scratch *s, const chunk_in *c, real m, real mnext, int last,
                                     const cell_dims *d)
{
    int n = c->n, DK = d->DK;
    real decay = last ? 0 : exp_r(s->bv[n - 1] + m - mnext);
    gemm(1, 0, DK, d->DV, n, 1, c->q, d->EK, s->Hs, d->DV, decay, s->C, d->DV); /* G = decay G + q^T Hs */
    for (int a = 0; a < DK; a++) s->n[a] *= decay;
    for (int t = 0; t < n; t++) {
        real f = s->sc[t] * s->den[t]; /* sc_t db_t */
        const real *qt = c->q + (size_t)t * d->EK;
        for (int a = 0; a < DK; a++) s->n[a] += f * qt[a];
    }
}

static void pair_backward(const mlstm_cell_grads *dx, const real *dh, const real *saved, const mlstm_cell_in *in,
                          const scratch *s, int b, int hd, const cell_dims *d)
{
    int CS = d->DK * d->DV, pair = b * d->NH + hd; /* C's size; n follows it in a saved state */
    const real *rows = saved_rows(saved, d, pair), *prev = NULL;
    real suffix = 0, mnext = 0, mw = d->m0;
    /* the states before chunks 1 .. NC-1, by the forward's own recurrence (same operations,
     * so the same values), each one written into its slot from the one before */
    for (int kc = 0; kc < d->NC - 1; kc++) {
        chunk_in c = chunk_at(in, d, b, hd, kc);
        real *st = s->states + (size_t)kc * state_floats(d);
        chunk_gates(s->bv, s->u, s->um, &c, mw, d);
        chunk_state_update(st, st + CS, &mw, prev, prev ? prev + CS : NULL, s, &c, d);
        st[CS + d->DK] = mw;
        prev = st;
    }
    memset(s->C, 0, sizeof(real) * CS);
    memset(s->n, 0, sizeof(real) * d->DK);
    for (int kc = d->NC - 1; kc >= 0; kc--) {
        chunk_in c = chunk_at(in, d, b, hd, kc);
        const real *st = kc > 0 ? s->states + (size_t)(kc - 1) * state_floats(d) : NULL;
        real m = st ? st[CS + d->DK] : d->m0;
        size_t t0 = (size_t)kc * d->L, row = (size_t)b * d->T + t0, off = row * d->EK + (size_t)hd * d->DK,
               offv = row * d->EV + (size_t)hd * d->DV, goff = row * d->NH + hd;
        chunk_gates(s->bv, s->u, s->um, &c, m, d);
        chunk_backward_weights(s, &c, dh + offv, rows + t0, rows + d->T + t0, m, st != NULL, d);
        chunk_backward_local(dx->q + off, dx->k + off, dx->v + offv, s, &c, rows + t0, rows + d->T + t0, st,
                             st ? st + CS : NULL, d);
        if (kc < d->NC - 1) chunk_backward_state_in(dx->k + off, dx->v + offv, s, &c, mnext, d);
        chunk_backward_gates(dx->ig + goff, dx->fg + goff, &suffix, s, &c, d);
        if (kc > 0) chunk_backward_state_out(s, &c, m, mnext, kc == d->NC - 1, d);
        mnext = m;
    }
}

int mlstm_cell_backward_eps(mlstm_cell_grads dx, const real *dh, const real *saved, mlstm_cell_in in,
                            mlstm_cell_dims dims, mlstm_form form, real eps, const mlstm_cell_work *work)
{
    static const char fn[] = "mlstm_cell_backward";
    cell_dims d = {0};
    if (make_dims(&d, fn, dims, form, eps) != 0) return -1;
    if (d.T == 0) return 0;
    int pairs = d.B * d.NH, nthr = 1, NH = d.NH;
    size_t per = scratch_floats(&d, 1);
    real *buf = NULL, *own = NULL;
    if (thread_scratch(&buf, &own, &nthr, per, pairs, work, fn) != 0) return -1;
#pragma omp parallel for num_threads(nthr) schedule(dynamic, 1)
    for (int p = 0; p < pairs; p++) {
        scratch s = carve_scratch(buf + per * thread_num(), &d, 1);
        pair_backward(&dx, dh, saved, &in, &s, p / NH, p % NH, &d);
    }
    xlstm_free(own);
    return 0;
}

int mlstm_cell_backward(mlstm_cell_grads dx, const real *dh, const real *saved, mlstm_cell_in in, mlstm_cell_dims d,
                        mlstm_form form, const mlstm_cell_work *work)
{
    return mlstm_cell_backward_eps(dx, dh, saved, in, d, form, MLSTM_EPS, work);
}

/* ---- recurrent step, one token per (b, head); O(DK DV) each, no scratch. */

/* One row of the matrix memory, C[a, :] = fp C[a, :] + ka v, and its share of the output,
 * h += q_a C[a, :]. The AVX2 clone (ops.h) measured 1.65x faster with the state in cache
 * and 1.2x from memory (7 medium layers: 451 -> 273 and 546 -> 453 us a token, Zen 3). */
AVX2_CLONES static void state_row(real *restrict row, real *restrict h, const real *restrict v, real fp, real ka,
                                  real qa, int DV)
{
    for (int e = 0; e < DV; e++) {
        row[e] = fp * row[e] + ka * v[e];
        h[e] += qa * row[e];
    }
}

static void pair_step(real *h, real *C, real *nv, real *m, const real *q, const real *k, const real *v, real ig,
                      real fg, int DK, int DV, real eps)
{
    real kscale = 1 / sqrt((real)DK), lf = logsigmoid_r(fg);
    real mnew = lf + *m > ig ? lf + *m : ig;
    real fp = exp_r(lf + *m - mnew), ip = exp_r(ig - mnew) * kscale; /* ip includes the key scaling */
    for (int e = 0; e < DV; e++) h[e] = 0;
    for (int a = 0; a < DK; a++) {
        real ka = ip * k[a];
        state_row(C + (size_t)a * DV, h, v, fp, ka, q[a], DV);
        nv[a] = fp * nv[a] + ka;
    }
    real r = 1 / denom(dot_product(q, nv, DK), mnew, eps);
    for (int e = 0; e < DV; e++) h[e] *= r;
    *m = mnew;
}

void mlstm_cell_step_eps(real *h, mlstm_cell_state st, mlstm_cell_in in, mlstm_cell_dims d, real eps)
{
    int pairs = d.B * d.NH, NH = d.NH, DK = d.DK, DV = d.DV;
#pragma omp parallel for schedule(static) if ((long)pairs * DK * DV > MLSTM_STEP_PAR_MIN)
    for (int p = 0; p < pairs; p++) {
        size_t offk = (size_t)(p / NH) * NH * DK + (size_t)(p % NH) * DK;
        size_t offv = (size_t)(p / NH) * NH * DV + (size_t)(p % NH) * DV;
        pair_step(h + offv, st.C + (size_t)p * DK * DV, st.n + (size_t)p * DK, st.m + p, in.q + offk, in.k + offk,
                  in.v + offv, in.ig[p], in.fg[p], DK, DV, eps);
    }
}

void mlstm_cell_step(real *h, mlstm_cell_state st, mlstm_cell_in in, mlstm_cell_dims d)
{
    mlstm_cell_step_eps(h, st, in, d, MLSTM_EPS);
}

/* ---- the gradient through the stabilizers. In unstabilized units h_t = num_t / (max(|den_t|, 1)
 * + eps e^{m_t}) (every form, with its own m_t), so dL/dm_t = -(eps / denom_t) (dh_t . h_t), with
 * denom_t the stabilized denominator. Unrolled, m_t = F_t + max(m0, max_{j<=t} (ig_j - F_j)) with
 * F_t = sum_{l<=t} logsigmoid(fg_l): dm_t goes to F_t, and to ig_j and -F_j of the j that attains
 * the max (nothing when m0 does); dfg_l = sigmoid(-fg_l) sum_{t>=l} dF_t. */
static void pair_backward_stabilizer(real *dig, real *dfg, real *dF, const real *dh, const real *h, const real *rows,
                                     const real *ig, const real *fg, const cell_dims *d)
{
    int T = d->T, NH = d->NH, arg = -1;
    real F = 0, best = d->m0, suffix = 0;
    for (int t = 0; t < T; t++) dF[(size_t)t * NH] = 0;
    for (int t = 0; t < T; t++) {
        size_t g = (size_t)t * NH;
        F += logsigmoid_r(fg[g]);
        if (ig[g] - F > best) best = ig[g] - F, arg = t;
        real dm = -d->eps / denom(rows[T + t], rows[t], d->eps) *
                  dot_product(dh + (size_t)t * d->EV, h + (size_t)t * d->EV, d->DV);
        dF[g] += dm;
        if (arg >= 0) {
            dig[(size_t)arg * NH] += dm;
            dF[(size_t)arg * NH] -= dm;
        }
    }
    for (int t = T - 1; t >= 0; t--) {
        suffix += dF[(size_t)t * NH];
        dfg[(size_t)t * NH] += suffix * sigmoid_r(-fg[(size_t)t * NH]);
    }
}

int mlstm_cell_backward_stabilizer(mlstm_cell_grads dx, real *dF, const real *dh, const real *h, const real *saved,
                                   mlstm_cell_in in, mlstm_cell_dims dims, mlstm_form form, real eps)
{
    cell_dims d = {0};
    if (make_dims(&d, "mlstm_cell_backward_stabilizer", dims, form, eps) != 0) return -1;
    int NH = d.NH, DV = d.DV;
#pragma omp parallel for schedule(static) if ((long)d.B * NH * d.T * DV > MLSTM_STABILIZER_PAR_MIN)
    for (int p = 0; p < d.B * NH; p++) {
        size_t row = (size_t)(p / NH) * d.T, goff = row * NH + (size_t)(p % NH);
        pair_backward_stabilizer(dx.ig + goff, dx.fg + goff, dF + goff, dh + row * d.EV + (size_t)(p % NH) * DV,
                                 h + row * d.EV + (size_t)(p % NH) * DV, saved_rows(saved, &d, p), in.ig + goff,
                                 in.fg + goff, &d);
    }
    return 0;
}
