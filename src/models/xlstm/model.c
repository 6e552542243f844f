/* model.c — the xLSTM language model (xLSTMLMModel): create/free, activations, and the
 * forward and backward, which read like the architecture:
 *   x = E[tokens]; for each block: x += layer(LN(x)) [; x += ffn(LN(x))];
 *   logits = head(post_norm(x)); loss = mean cross-entropy. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/split.h"
#include "kernels/tuning.h"

static void walk_lm_cb(param_walk *w, void *ctx)
{
    lm_model *m = ctx;
    walk_lm(w, &m->cfg, &m->w);
}

int lm_create(lm_model **out, const xlstm_config *cfg_in)
{
    *out = NULL;
    lm_model *m = calloc(1, sizeof *m);
    if (!m) return xlstm_fail("model: out of memory");
    m->cfg = *cfg_in;
    if (xlstm_config_validate(&m->cfg) != 0) goto fail;
    m->md = mlstm_dims_of(&m->cfg);
    m->sd = slstm_dims_of(&m->cfg);
    m->fd = ffn_dims_of(&m->cfg);
    m->form.parallel = 0;
    m->form.chunk = MLSTM_CHUNK_DEFAULT;
    int L = m->cfg.num_blocks;
    m->w.blocks = calloc((size_t)L, sizeof *m->w.blocks);
    m->g.blocks = calloc((size_t)L, sizeof *m->g.blocks);
    if (!m->w.blocks || !m->g.blocks) {
        xlstm_fail("model: out of memory");
        goto fail;
    }
    if (param_table_record(&m->table, walk_lm_cb, m) != 0) goto fail;
    for (int i = 0; i < m->table.n; i++)
        if (strcmp(m->table.tensors[i].name, "token_embedding.weight") == 0)
            m->table.tensors[i].weight_decay = m->cfg.weight_decay_on_embedding;
    if (xlstm_check_fits(2.0 * (double)m->table.n_params * sizeof(real), "model parameters and gradients") != 0)
        goto fail;
    m->params = xlstm_alloc(m->table.n_params, sizeof(real), "model parameters");
    m->grads = m->params ? xlstm_alloc(m->table.n_params, sizeof(real), "model gradients") : NULL;
    if (!m->grads) goto fail;
    param_walk pw = {&m->table, m->params, 0, 0};
    walk_lm(&pw, &m->cfg, &m->w);
    param_walk gw = {&m->table, m->grads, 0, 0};
    walk_lm(&gw, &m->cfg, &m->g);
    *out = m;
    return 0;
fail:
    lm_free(m);
    return -1;
}

static void lm_scratch_free(lm_grad_scratch *s)
{
    xlstm_free(s->buffer);
    memset(s, 0, sizeof *s);
}

void lm_free(lm_model *m)
{
    if (!m) return;
    lm_acts_free(m, &m->acts);
    lm_scratch_free(&m->scratch);
    xlstm_free(m->params);
    xlstm_free(m->grads);
    free(m->w.blocks);
    free(m->g.blocks);
    param_table_free(&m->table);
    free(m);
}

int lm_set_chunk_size(lm_model *m, int chunk)
{
    if (m->form.parallel != (chunk == 0) || m->form.chunk != chunk)
        lm_acts_free(m, &m->acts); /* the cells' saved sizes depend on the form */
    m->form.parallel = chunk == 0;
    m->form.chunk = chunk == 0 ? 1 : chunk;
    return 0;
}

/* ---------------------------------------------------------------- activations */

static void lm_acts_bind(const lm_model *m, lm_acts *a, arena *ar, int B, int T, int train, int threads)
{
    const xlstm_config *c = &m->cfg;
    size_t N = (size_t)B * T, ND = N * c->embedding_dim;
    int L = c->num_blocks;
    a->res = arena_take(ar, (size_t)(L + 1) * ND);
    a->ln1 = arena_take(ar, ND);
    a->ln1_mean = arena_take(ar, (size_t)L * N);
    a->ln1_rstd = arena_take(ar, (size_t)L * N);
    a->ln2_mean = arena_take(ar, (size_t)L * N);
    a->ln2_rstd = arena_take(ar, (size_t)L * N);
    a->post = arena_take(ar, ND);
    a->post_mean = arena_take(ar, N);
    a->post_rstd = arena_take(ar, N);
    a->logits = arena_take(ar, N * c->vocab_size);
    a->y = arena_take(ar, ND);
    /* the mLSTM layers' temporaries live only during one layer's forward (or backward): one
     * set serves all */
    int any_mlstm = 0;
    for (int i = 0; i < L; i++) any_mlstm |= !c->is_slstm[i];
    real *shared = any_mlstm ? arena_take(ar, mlstm_shared_floats(m->md, B, T, m->form, threads)) : NULL;
    static real measuring; /* arena_take gives NULL while measuring: the layers must still see a shared buffer */
    acts_role role = train ? ACTS_TRAINING : ACTS_INFERENCE;
    if (any_mlstm && !ar->base) shared = &measuring;
    for (int i = 0; i < L; i++) {
        if (c->is_slstm[i]) {
            slstm_acts_bind(&a->s[i], ar, m->sd, B, T, role);
            if (c->ffn.enabled) {
                ffn_acts_bind(&a->f[i], ar, m->fd, (int)N);
                a->res_mid[i] = arena_take(ar, ND);
                a->ln2[i] = arena_take(ar, ND);
            }
        } else {
            mlstm_acts_bind(&a->m[i], ar, m->md, B, T, m->form, role, shared, threads);
        }
    }
}

int lm_acts_alloc(const lm_model *m, lm_acts *a, int B, int T, int train)
{
    int L = m->cfg.num_blocks;
    memset(a, 0, sizeof *a);
    a->m = calloc((size_t)L, sizeof *a->m);
    a->s = calloc((size_t)L, sizeof *a->s);
    a->f = calloc((size_t)L, sizeof *a->f);
    a->res_mid = calloc((size_t)L, sizeof *a->res_mid);
    a->ln2 = calloc((size_t)L, sizeof *a->ln2);
    if (!a->m || !a->s || !a->f || !a->res_mid || !a->ln2) {
        lm_acts_free(m, a);
        return xlstm_fail("activations: out of memory");
    }
    /* A lower bound of the buffer (every block's residual stream and the logits), in double:
     * a batch far beyond memory is refused here, before the sizing pass could wrap size_t. */
    const double floor_bytes =
        (double)B * T * ((double)(L + 1) * m->cfg.embedding_dim + m->cfg.vocab_size) * sizeof(real);
    if (xlstm_check_fits(floor_bytes, "activations") != 0) {
        lm_acts_free(m, a);
        return -1;
    }
    int threads = thread_count();
    arena ar = {NULL, 0};
    lm_acts_bind(m, a, &ar, B, T, train, threads);
    a->buffer = xlstm_alloc(ar.used, sizeof(real), "activations");
    if (train && a->buffer) {
        a->tokens = xlstm_alloc((size_t)B * T, sizeof *a->tokens, "activations");
        a->targets = a->tokens ? xlstm_alloc((size_t)B * T, sizeof *a->targets, "activations") : NULL;
    }
    if (!a->buffer || (train && !a->targets)) {
        lm_acts_free(m, a);
        return -1;
    }
    ar.base = a->buffer;
    ar.used = 0;
    lm_acts_bind(m, a, &ar, B, T, train, threads);
    a->B = B;
    a->T = T;
    a->train = train;
    a->threads = threads;
    return 0;
}

void lm_acts_free(const lm_model *m, lm_acts *a)
{
    (void)m;
    free(a->m);
    free(a->s);
    free(a->f);
    free(a->res_mid);
    free(a->ln2);
    xlstm_free(a->tokens);
    xlstm_free(a->targets);
    xlstm_free(a->buffer);
    memset(a, 0, sizeof *a);
}

static int lm_scratch_alloc(const lm_model *m, lm_grad_scratch *s, int B, int T, int threads)
{
    size_t ND = (size_t)B * T * m->cfg.embedding_dim;
    for (int pass = 0; pass < 2; pass++) {
        arena ar = {s->buffer, 0};
        s->dres = arena_take(&ar, ND);
        s->dln = arena_take(&ar, ND);
        s->ln = arena_take(&ar, ND);
        mlstm_acts_bind(&s->m, &ar, m->md, B, T, m->form, ACTS_GRADIENTS, NULL, threads);
        slstm_acts_bind(&s->s, &ar, m->sd, B, T, ACTS_GRADIENTS);
        ffn_acts_bind(&s->f, &ar, m->fd, B * T);
        if (pass == 0 && !(s->buffer = xlstm_alloc(ar.used, sizeof(real), "backward scratch"))) return -1;
    }
    s->B = B, s->T = T, s->chunk = m->form.chunk, s->parallel = m->form.parallel, s->threads = threads;
    return 0;
}

/* ---------------------------------------------------------------- forward */

int lm_forward(const lm_model *m, lm_acts *a, const int32_t *tokens, int B, int T, lm_block_state *states)
{
    const xlstm_config *c = &m->cfg;
    int D = c->embedding_dim, V = c->vocab_size, N = B * T;
    size_t ND = (size_t)N * D;
    for (int n = 0; n < N; n++) {
        if (tokens[n] < 0 || tokens[n] >= V)
            return xlstm_fail("forward: token %d at position %d is outside the vocabulary [0, %d)", tokens[n], n, V);
        memcpy(a->res + (size_t)n * D, m->w.embedding + (size_t)tokens[n] * D, (size_t)D * sizeof(real));
    }
    for (int i = 0; i < c->num_blocks; i++) {
        const block_weights *bw = &m->w.blocks[i];
        real *x = a->res + (size_t)i * ND, *ln1 = a->ln1;
        real *mid = a->res_mid[i] ? a->res_mid[i] : a->res + (size_t)(i + 1) * ND;
        groupnorm_forward(ln1, a->ln1_mean + (size_t)i * N, a->ln1_rstd + (size_t)i * N, x, bw->xlstm_norm_w, N, 1, D);
        int rc = c->is_slstm[i]
                     ? slstm_layer_forward(a->y, ln1, &bw->s, &a->s[i], m->sd, B, T, states ? &states[i].s : NULL)
                     : mlstm_layer_forward(a->y, ln1, &bw->m, &a->m[i], m->md, B, T, m->form,
                                           states ? &states[i].m : NULL);
        if (rc != 0) return -1;
        residual_add(mid, x, a->y, ND);
        if (c->is_slstm[i] && c->ffn.enabled) {
            real *ln2 = a->ln2[i], *out = a->res + (size_t)(i + 1) * ND;
            groupnorm_forward(ln2, a->ln2_mean + (size_t)i * N, a->ln2_rstd + (size_t)i * N, mid, bw->ffn_norm_w, N, 1,
                              D);
            ffn_forward(a->y, ln2, &bw->f, &a->f[i], m->fd, N);
            residual_add(out, mid, a->y, ND);
        }
    }
    const real *top = a->res + (size_t)c->num_blocks * ND;
    if (c->add_post_blocks_norm)
        groupnorm_forward(a->post, a->post_mean, a->post_rstd, top, m->w.post_norm_w, N, 1, D);
    else
        memcpy(a->post, top, ND * sizeof(real));
    linear_forward(a->logits, V, a->post, D, m->w.head, NULL, N, D, V);
    return 0;
}

int lm_forward_batch(lm_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss)
{ /* B, T >= 1 and B * T < 2^31: the interface checked them */
    int N = B * T, V = m->cfg.vocab_size, count;
    /* a failed or target-less forward leaves nothing for the backward */
    m->has_targets = 0;
    for (int n = 0; targets && n < N; n++)
        if (targets[n] >= V || targets[n] < -1)
            return xlstm_fail("forward: target %d at position %d is outside the vocabulary [0, %d) (or -1 to ignore)",
                              targets[n], n, V);
    int need_train = targets != NULL;
    if (!m->acts.buffer || m->acts.B != B || m->acts.T != T || m->acts.train != need_train ||
        m->acts.threads != thread_count()) {
        lm_acts_free(m, &m->acts);
        if (lm_acts_alloc(m, &m->acts, B, T, need_train) != 0) return -1;
    }
    if (lm_forward(m, &m->acts, tokens, B, T, NULL) != 0) return -1;
    if (!targets) return 0;
    memcpy(m->acts.tokens, tokens, (size_t)N * sizeof *tokens);
    memcpy(m->acts.targets, targets, (size_t)N * sizeof *targets);
    m->has_targets = 1;
    double mean = xent_forward(m->acts.logits, m->acts.targets, N, V, &count);
    if (loss) *loss = (float)mean;
    return 0;
}

const real *lm_logits(const lm_model *m) { return m->acts.logits; }

const real *lm_block_output(const lm_model *m, int block)
{
    if (!m->acts.buffer || block < 0 || block >= m->cfg.num_blocks) return NULL;
    return m->acts.res + (size_t)(block + 1) * m->acts.B * m->acts.T * m->cfg.embedding_dim;
}

/* ---------------------------------------------------------------- backward */

int lm_backward(lm_model *m)
{
    lm_acts *a = &m->acts;
    if (!a->buffer || !a->train || !m->has_targets)
        return xlstm_fail("backward: no forward with targets to differentiate");
    const xlstm_config *c = &m->cfg;
    int B = a->B, T = a->T, N = B * T, D = c->embedding_dim, V = c->vocab_size, count = 0;
    size_t ND = (size_t)N * D;
    for (int n = 0; n < N; n++) count += a->targets[n] >= 0;
    if (count == 0) return 0; /* the mean over no tokens is constant */
    lm_grad_scratch *s = &m->scratch;
    if (s->buffer && (s->B != B || s->T != T || s->chunk != m->form.chunk || s->parallel != m->form.parallel ||
                      s->threads != a->threads))
        lm_scratch_free(s);
    if (!s->buffer && lm_scratch_alloc(m, s, B, T, a->threads) != 0) return -1;

    /* logits -> dlogits in place (the forward's logits are not needed afterwards) */
    real *dlogits = a->logits;
    xent_backward(dlogits, a->logits, a->targets, N, V, (real)1 / count);
    memset(s->dres, 0, ND * sizeof(real));
    memset(s->dln, 0, ND * sizeof(real));
    real *dpost = c->add_post_blocks_norm ? s->dln : s->dres;
    linear_backward(dpost, D, m->g.head, NULL, dlogits, V, a->post, D, m->w.head, N, D, V);
    const real *top = a->res + (size_t)c->num_blocks * ND;
    if (c->add_post_blocks_norm)
        groupnorm_backward(s->dres, m->g.post_norm_w, s->dln, top, m->w.post_norm_w, a->post_mean, a->post_rstd, N, 1, D);

    for (int i = c->num_blocks - 1; i >= 0; i--) {
        const block_weights *bw = &m->w.blocks[i];
        block_weights *bg = &m->g.blocks[i];
        const real *x = a->res + (size_t)i * ND;
        real *ln1 = s->ln; /* the same values as the forward's (same inputs and operations) */
        groupnorm_forward(ln1, a->ln1_mean + (size_t)i * N, a->ln1_rstd + (size_t)i * N, x, bw->xlstm_norm_w, N, 1, D);
        if (c->is_slstm[i] && c->ffn.enabled) {
            /* dres is the gradient at the block output = at mid (residual) + through the FFN */
            const real *mid = a->res_mid[i], *ln2 = a->ln2[i];
            memset(s->dln, 0, ND * sizeof(real));
            ffn_backward(s->dln, s->dres, ln2, &bw->f, &bg->f, &a->f[i], &s->f, m->fd, N);
            groupnorm_backward(s->dres, bg->ffn_norm_w, s->dln, mid, bw->ffn_norm_w, a->ln2_mean + (size_t)i * N,
                               a->ln2_rstd + (size_t)i * N, N, 1, D);
        }
        memset(s->dln, 0, ND * sizeof(real));
        if (c->is_slstm[i])
            slstm_layer_backward(s->dln, s->dres, ln1, &bw->s, &bg->s, &a->s[i], &s->s, m->sd, B, T);
        else if (mlstm_layer_backward(s->dln, s->dres, ln1, &bw->m, &bg->m, &a->m[i], &s->m, m->md, B, T, m->form) != 0)
            return -1;
        groupnorm_backward(s->dres, bg->xlstm_norm_w, s->dln, x, bw->xlstm_norm_w, a->ln1_mean + (size_t)i * N,
                           a->ln1_rstd + (size_t)i * N, N, 1, D);
    }
    /* the embedding gradient: scatter-add the rows (sequentially: tokens repeat) */
    const int32_t *tokens = a->tokens;
    for (int n = 0; n < N; n++) {
        real *ge = m->g.embedding + (size_t)tokens[n] * D;
        const real *gr = s->dres + (size_t)n * D;
        for (int j = 0; j < D; j++) ge[j] += gr[j];
    }
    /* the logits buffer now holds gradients: a second backward needs a new forward */
    m->has_targets = 0;
    return 0;
}
