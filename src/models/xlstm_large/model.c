/* model.c — the xLSTM Large language model (large.h has the equations): create, the forward
 *   x = embedding[tokens]; per block: x += mLSTM(RMSNorm(x)); x += FFN(RMSNorm(x));
 *   logits = cap(head(RMSNorm(x))); loss = mean cross-entropy of the capped logits,
 * its backward beside it, and recurrent inference (a state per sequence, step and prefill). */
#include <stdlib.h>
#include <string.h>

#include "large.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/split.h"

static large_dims dims_of(const large_config *c)
{
    large_dims d;
    d.D = c->embedding_dim, d.NH = c->num_heads, d.L = c->num_blocks, d.V = c->vocab_size;
    d.QK = c->qk_dim, d.VD = c->v_dim, d.DK = d.QK / d.NH, d.DV = d.VD / d.NH, d.F = c->ffn_dim;
    d.norm_eps = (real)c->norm_eps, d.eps = (real)c->eps;
    d.gate_cap = (real)c->gate_soft_cap, d.logit_cap = (real)c->output_logit_soft_cap;
    return d;
}

static ffn_dims ffn_of(large_dims d) { return (ffn_dims){d.D, d.F, XLSTM_ACT_SWISH, 0}; }

int large_create(large_model **out, const large_config *c)
{
    *out = NULL;
    large_model *m = calloc(1, sizeof *m);
    if (!m) return xlstm_fail("model: out of memory");
    m->cfg = *c;
    m->d = dims_of(c);
    m->form.parallel = strncmp(c->chunkwise_kernel, "parallel", 8) == 0;
    m->form.chunk = c->chunk_size;
    m->w.blocks = calloc((size_t)m->d.L, sizeof *m->w.blocks);
    m->g.blocks = calloc((size_t)m->d.L, sizeof *m->g.blocks);
    if (!m->w.blocks || !m->g.blocks) {
        xlstm_fail("model: out of memory");
        goto fail;
    }
    if (large_table_make(&m->table, c, m->d) != 0 ||
        xlstm_check_fits(2.0 * (double)m->table.n_params * sizeof(real), "model parameters and gradients") != 0)
        goto fail;
    m->params = xlstm_alloc(m->table.n_params, sizeof(real), "model parameters");
    m->grads = m->params ? xlstm_alloc(m->table.n_params, sizeof(real), "model gradients") : NULL;
    if (!m->grads) goto fail;
    large_bind(&m->w, m->params, m->d, c->add_out_norm);
    large_bind(&m->g, m->grads, m->d, c->add_out_norm);
    *out = m;
    return 0;
fail:
    large_free(m);
    return -1;
}

static void acts_free(large_acts *a)
{
    free(a->blocks);
    xlstm_free(a->tokens);
    xlstm_free(a->targets);
    xlstm_free(a->buffer);
    memset(a, 0, sizeof *a);
}

static void scratch_free(large_grad_scratch *s)
{
    xlstm_free(s->buffer);
    memset(s, 0, sizeof *s);
}

void large_free(large_model *m)
{
    if (!m) return;
    acts_free(&m->acts);
    scratch_free(&m->scratch);
    xlstm_free(m->params);
    xlstm_free(m->grads);
    free(m->w.blocks);
    free(m->g.blocks);
    large_table_free(&m->table);
    free(m);
}

/* ---------------------------------------------------------------- activations */

/* Training keeps every block's activations; inference binds one set that all blocks share. */
static void acts_bind(const large_model *m, large_acts *a, arena *ar, int B, int T, int train, int threads)
{
    large_dims d = m->d;
    size_t N = (size_t)B * T, ND = N * d.D;
    a->res = arena_take(ar, (size_t)(d.L + 1) * ND);
    a->mid = arena_take(ar, (train ? (size_t)d.L : 1) * ND);
    for (int i = 0; i < d.L; i++) {
        large_block_acts *b = &a->blocks[i];
        if (!train && i > 0) {
            *b = a->blocks[0];
            continue;
        }
        b->xn1 = arena_take(ar, ND);
        b->rstd1 = arena_take(ar, N);
        b->xn2 = arena_take(ar, ND);
        b->rstd2 = arena_take(ar, N);
        large_layer_bind(&b->m, ar, d, B, T, m->form, train ? LARGE_TRAINING : LARGE_INFERENCE, threads);
        ffn_acts_bind(&b->f, ar, ffn_of(d), (int)N);
    }
    a->post = arena_take(ar, ND);
    a->post_rstd = arena_take(ar, N);
    a->logits = arena_take(ar, N * d.V);
    a->y = arena_take(ar, ND);
}

static int acts_alloc(const large_model *m, large_acts *a, int B, int T, int train)
{
    memset(a, 0, sizeof *a);
    const double floor_bytes = (double)B * T * ((double)(m->d.L + 1) * m->d.D + m->d.V) * sizeof(real);
    if (xlstm_check_fits(floor_bytes, "activations") != 0) return -1;
    if (!(a->blocks = calloc((size_t)m->d.L, sizeof *a->blocks))) return xlstm_fail("activations: out of memory");
    int threads = thread_count();
    arena ar = {NULL, 0};
    acts_bind(m, a, &ar, B, T, train, threads);
    a->buffer = xlstm_alloc(ar.used, sizeof(real), "activations");
    if (train && a->buffer) {
        a->tokens = xlstm_alloc((size_t)B * T, sizeof *a->tokens, "activations");
        a->targets = a->tokens ? xlstm_alloc((size_t)B * T, sizeof *a->targets, "activations") : NULL;
    }
    if (!a->buffer || (train && !a->targets)) {
        acts_free(a);
        return -1;
    }
    ar.base = a->buffer;
    ar.used = 0;
    acts_bind(m, a, &ar, B, T, train, threads);
    a->B = B, a->T = T, a->train = train, a->threads = threads;
    return 0;
}

static int scratch_alloc(const large_model *m, large_grad_scratch *s, int B, int T, int threads)
{
    size_t N = (size_t)B * T;
    for (int pass = 0; pass < 2; pass++) {
        arena ar = {s->buffer, 0};
        s->dres = arena_take(&ar, N * m->d.D);
        s->dxn = arena_take(&ar, N * m->d.D);
        s->dlogits = arena_take(&ar, N * m->d.V);
        large_layer_bind(&s->m, &ar, m->d, B, T, m->form, LARGE_GRADIENTS, threads);
        ffn_acts_bind(&s->f, &ar, ffn_of(m->d), (int)N);
        if (pass == 0 && !(s->buffer = xlstm_alloc(ar.used, sizeof(real), "backward scratch"))) return -1;
    }
    s->B = B, s->T = T, s->threads = threads, s->form = m->form;
    return 0;
}

/* ---------------------------------------------------------------- forward */

/* The forward over tokens [B, T] into a->logits; state: NULL (fresh sequences), or one
 * sequence's state buffer (B == 1), read and updated. */
static int forward(const large_model *m, large_acts *a, const int32_t *tokens, int B, int T, real *state)
{
    large_dims d = m->d;
    int N = B * T, D = d.D;
    size_t ND = (size_t)N * D;
    for (int n = 0; n < N; n++) {
        if (tokens[n] < 0 || tokens[n] >= d.V)
            return xlstm_fail("forward: token %d at position %d is outside the vocabulary [0, %d)", tokens[n], n, d.V);
        memcpy(a->res + (size_t)n * D, m->w.embedding + (size_t)tokens[n] * D, (size_t)D * sizeof(real));
    }
    for (int i = 0; i < d.L; i++) {
        const large_block_weights *w = &m->w.blocks[i];
        large_block_acts *b = &a->blocks[i];
        real *x = a->res + (size_t)i * ND, *mid = a->mid + (a->train ? (size_t)i * ND : 0);
        mlstm_cell_state cell = state ? large_state_block(m, state, i) : (mlstm_cell_state){0};
        rmsnorm_forward(b->xn1, b->rstd1, x, w->norm_mlstm, N, D, d.norm_eps);
        if (large_layer_forward(a->y, b->xn1, w, &b->m, d, B, T, m->form, state ? &cell : NULL) != 0) return -1;
        residual_add(mid, x, a->y, ND);
        rmsnorm_forward(b->xn2, b->rstd2, mid, w->norm_ffn, N, D, d.norm_eps);
        ffn_forward(a->y, b->xn2, &w->ffn, &b->f, ffn_of(d), N);
        residual_add(a->res + (size_t)(i + 1) * ND, mid, a->y, ND);
    }
    const real *top = a->res + (size_t)d.L * ND;
    if (m->w.out_norm) rmsnorm_forward(a->post, a->post_rstd, top, m->w.out_norm, N, D, d.norm_eps);
    else memcpy(a->post, top, ND * sizeof(real));
    linear_forward(a->logits, d.V, a->post, D, m->w.head, NULL, N, D, d.V);
    if (d.logit_cap > 0) softcap_forward(a->logits, a->logits, (size_t)N * d.V, d.logit_cap);
    return 0;
}

int large_forward_batch(large_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss)
{
    int N = B * T, V = m->d.V, count;
    m->has_targets = 0;
    for (int n = 0; targets && n < N; n++)
        if (targets[n] >= V || targets[n] < -1)
            return xlstm_fail("forward: target %d at position %d is outside the vocabulary [0, %d) (or -1 to ignore)",
                              targets[n], n, V);
    int train = targets != NULL;
    large_acts *a = &m->acts;
    if (!a->buffer || a->B != B || a->T != T || a->train != train || a->threads != thread_count()) {
        acts_free(a);
        if (acts_alloc(m, a, B, T, train) != 0) return -1;
    }
    if (forward(m, a, tokens, B, T, NULL) != 0) return -1;
    if (!targets) return 0;
    memcpy(a->tokens, tokens, (size_t)N * sizeof *tokens);
    memcpy(a->targets, targets, (size_t)N * sizeof *targets);
    m->has_targets = 1;
    double mean = xent_forward(a->logits, a->targets, N, V, &count);
    if (loss) *loss = (float)mean;
    return 0;
}

/* ---------------------------------------------------------------- backward */

int large_backward(large_model *m)
{
    large_acts *a = &m->acts;
    if (!a->buffer || !a->train || !m->has_targets)
        return xlstm_fail("backward: no forward with targets to differentiate");
    large_dims d = m->d;
    int B = a->B, T = a->T, N = B * T, D = d.D, count = 0;
    size_t ND = (size_t)N * D;
    for (int n = 0; n < N; n++) count += a->targets[n] >= 0;
    if (count == 0) return 0; /* the mean over no tokens is constant */
    large_grad_scratch *s = &m->scratch;
    if (s->buffer && (s->B != B || s->T != T || s->threads != a->threads || s->form.chunk != m->form.chunk ||
                      s->form.parallel != m->form.parallel))
        scratch_free(s);
    if (!s->buffer && scratch_alloc(m, s, B, T, a->threads) != 0) return -1;

    xent_backward(s->dlogits, a->logits, a->targets, N, d.V, (real)1 / count);
    if (d.logit_cap > 0) softcap_backward(s->dlogits, s->dlogits, a->logits, (size_t)N * d.V, d.logit_cap);
    memset(s->dres, 0, ND * sizeof(real));
    memset(s->dxn, 0, ND * sizeof(real));
    real *dpost = m->w.out_norm ? s->dxn : s->dres;
    linear_backward(dpost, D, m->g.head, NULL, s->dlogits, d.V, a->post, D, m->w.head, N, D, d.V);
    if (m->w.out_norm)
        rmsnorm_backward(s->dres, m->g.out_norm, s->dxn, a->res + (size_t)d.L * ND, m->w.out_norm, a->post_rstd, N, D);

    /* dres: the gradient at block i's output, then (residual) at its mid, then at its input */
    for (int i = d.L - 1; i >= 0; i--) {
        const large_block_weights *w = &m->w.blocks[i];
        large_block_weights *gw = &m->g.blocks[i];
        const large_block_acts *b = &a->blocks[i];
        const real *x = a->res + (size_t)i * ND, *mid = a->mid + (size_t)i * ND;
        memset(s->dxn, 0, ND * sizeof(real));
        ffn_backward(s->dxn, s->dres, b->xn2, &w->ffn, &gw->ffn, &b->f, &s->f, ffn_of(d), N);
        rmsnorm_backward(s->dres, gw->norm_ffn, s->dxn, mid, w->norm_ffn, b->rstd2, N, D);
        memset(s->dxn, 0, ND * sizeof(real));
        if (large_layer_backward(s->dxn, s->dres, b->xn1, w, gw, &b->m, &s->m, d, B, T, m->form) != 0) return -1;
        rmsnorm_backward(s->dres, gw->norm_mlstm, s->dxn, x, w->norm_mlstm, b->rstd1, N, D);
    }
    for (int n = 0; n < N; n++) { /* the embedding's rows, in order: tokens repeat */
        real *ge = m->g.embedding + (size_t)a->tokens[n] * D;
        const real *gr = s->dres + (size_t)n * D;
        for (int j = 0; j < D; j++) ge[j] += gr[j];
    }
    m->has_targets = 0;
    return 0;
}

/* ---------------------------------------------------------------- recurrent inference */

static size_t state_block_floats(large_dims d) { return (size_t)d.NH * ((size_t)d.DK * d.DV + d.DK + 1); }

mlstm_cell_state large_state_block(const large_model *m, real *buffer, int i)
{
    large_dims d = m->d;
    mlstm_cell_state s;
    s.C = buffer + (size_t)i * state_block_floats(d);
    s.n = s.C + (size_t)d.NH * d.DK * d.DV;
    s.m = s.n + (size_t)d.NH * d.DK;
    return s;
}

int large_state_create(const large_model *m, large_state **out)
{
    *out = NULL;
    large_state *s = calloc(1, sizeof *s);
    if (!s) return xlstm_fail("state: out of memory");
    s->model = m;
    s->size = (size_t)m->d.L * state_block_floats(m->d);
    if (!(s->buffer = xlstm_alloc(s->size, sizeof(real), "recurrent state")) || acts_alloc(m, &s->step, 1, 1, 0) != 0) {
        large_state_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void large_state_free(large_state *s)
{
    if (!s) return;
    acts_free(&s->step);
    xlstm_free(s->buffer);
    free(s);
}

int large_step(large_model *m, large_state *s, int32_t token, real *logits)
{
    if (forward(m, &s->step, &token, 1, 1, s->buffer) != 0) return -1;
    if (logits) memcpy(logits, s->step.logits, (size_t)m->d.V * sizeof(real));
    return 0;
}

int large_prefill(large_model *m, large_state *s, const int32_t *tokens, int n, real *logits)
{
    if (n == 1) return large_step(m, s, tokens[0], logits);
    large_acts a;
    if (acts_alloc(m, &a, 1, n, 0) != 0) return -1;
    int rc = forward(m, &a, tokens, 1, n, s->buffer);
    if (rc == 0 && logits) memcpy(logits, a.logits + (size_t)(n - 1) * m->d.V, (size_t)m->d.V * sizeof(real));
    acts_free(&a);
    return rc;
}
