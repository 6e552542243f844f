/* arch.c — the paper's xLSTM[a:b] as the "xlstm" architecture of the model interface
 * (models/arch.h): its functions behind the interface's, and the two public calls that
 * are this architecture's own (a config built in C, and that config). */
#include <stdlib.h>
#include <string.h>

#include "models/arch.h"
#include "model.h"
#include "checkpoint.h"

extern const model_arch xlstm_arch;

static void view_params(const lm_model *m, model_params *p)
{
    p->tensors = m->table.tensors;
    p->n = m->table.n;
    p->n_params = m->table.n_params;
    p->params = m->params;
    p->grads = m->grads;
}

static int create(void **impl, model_params *p, const char *json, size_t len)
{
    xlstm_config cfg;
    lm_model *m;
    if (xlstm_config_parse(&cfg, json, len) != 0 || lm_create(&m, &cfg) != 0) return -1;
    view_params(m, p);
    *impl = m;
    return 0;
}

static void destroy(void *m) { lm_free(m); }
static int config_json(const void *m, char **out) { return xlstm_config_to_json(&((const lm_model *)m)->cfg, out); }
static int vocab_size(const void *m) { return ((const lm_model *)m)->cfg.vocab_size; }
static int context_length(const void *m) { return ((const lm_model *)m)->cfg.context_length; }
static void set_context_length(void *m, int T) { ((lm_model *)m)->cfg.context_length = T; }
static int init(void *m, uint64_t seed) { return lm_init(m, seed); }
static int set_chunk_size(void *m, int chunk) { return lm_set_chunk_size(m, chunk); }

static int forward(void *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss)
{
    return lm_forward_batch(m, tokens, targets, B, T, loss);
}

static const real *logits(const void *m) { return lm_logits(m); }
static const real *block_output(const void *m, int block) { return lm_block_output(m, block); }
static int backward(void *m) { return lm_backward(m); }

static int state_create(const void *m, void **s)
{
    lm_state *st;
    if (lm_state_create(m, &st) != 0) return -1;
    *s = st;
    return 0;
}

static void state_free(void *s) { lm_state_free(s); }
static void state_reset(void *s) { lm_state_reset(s); }
static void state_copy(void *dst, const void *src) { lm_state_copy(dst, src); }
static size_t state_bytes(const void *s) { return lm_state_bytes(s); }
static int step(void *m, void *s, int32_t token, real *out) { return lm_step(m, s, token, out); }

static int prefill(void *m, void *s, const int32_t *tokens, int n, real *out)
{
    return lm_prefill(m, s, tokens, n, out);
}

static int load_params(void *impl, const st_file *f, const char *prefix)
{
    lm_model *m = impl;
    return params_load(&m->table, m->params, f, prefix, m->cfg.slstm.backend, m->cfg.slstm.num_heads,
                       m->cfg.tie_weights);
}

/* FLOPs of the forward per token: 2 m n k for every matrix product, and the mLSTM's
 * chunkwise products (q k^T and weights x V inside a chunk, q^T C and the state update
 * across chunks; the parallel form: one chunk of T). */
static double forward_flops(const void *impl, int T)
{
    const lm_model *m = impl;
    const xlstm_config *c = &m->cfg;
    double D = c->embedding_dim, E = c->mlstm.inner_dim, NH = c->mlstm.num_heads, DHm = E / NH;
    double bs = c->mlstm.qkv_proj_blocksize, F = c->ffn.up_dim, DHs = D / c->slstm.num_heads;
    double L = !m->form.parallel && m->form.chunk < T ? m->form.chunk : T, f = 2 * D * c->vocab_size; /* head */
    for (int i = 0; i < c->num_blocks; i++) {
        if (c->is_slstm[i])
            f += 2 * D * DHs * 4 + 2 * DHs * 4 * DHs * c->slstm.num_heads /* gates, recurrence */
                 + (c->ffn.enabled ? 2 * D * 2 * F + 2 * F * D : 0);
        else
            f += 2 * D * 2 * E + 3 * 2 * E * bs + 2 * 2 * 3 * E * NH + 2 * E * D /* projections, gates */
                 + NH * (2 * L * DHm * 2 + 2 * DHm * DHm * 2);                  /* cell */
    }
    return f;
}

/* A step reads every weight once, of the embedding one row (unless it is also the head). */
static size_t step_weight_bytes(const void *impl)
{
    const lm_model *m = impl;
    size_t unread = m->cfg.tie_weights ? 0 : (size_t)(m->cfg.vocab_size - 1) * m->cfg.embedding_dim;
    return (m->table.n_params - unread) * sizeof(real);
}

static int save(const void *m, const char *path, const char *const *meta) { return lm_save(m, path, meta); }

static void file_layout(const void *m, const xlstm_tensor *t, const real *buffer, real *out)
{
    lm_tensor_to_file(m, t, buffer, out);
}

const model_arch xlstm_arch = {
    .name = "xlstm",
    .create = create,
    .destroy = destroy,
    .config_json = config_json,
    .vocab_size = vocab_size,
    .context_length = context_length,
    .set_context_length = set_context_length,
    .init = init,
    .set_chunk_size = set_chunk_size,
    .forward = forward,
    .logits = logits,
    .block_output = block_output,
    .backward = backward,
    .state_create = state_create,
    .state_free = state_free,
    .state_reset = state_reset,
    .state_copy = state_copy,
    .state_bytes = state_bytes,
    .step = step,
    .step_batch = NULL, /* the interface's loop of steps, for now */
    .prefill = prefill,
    .load_params = load_params,
    .save = save,
    .tensor_to_file = file_layout,
    .forward_flops = forward_flops,
    .step_weight_bytes = step_weight_bytes,
};

int xlstm_model_create(xlstm_model **out, const xlstm_config *cfg)
{
    *out = NULL;
    xlstm_model *m = calloc(1, sizeof *m);
    lm_model *impl;
    if (!m) return xlstm_fail("model: out of memory");
    if (lm_create(&impl, cfg) != 0) {
        free(m);
        return -1;
    }
    m->arch = &xlstm_arch;
    m->impl = impl;
    view_params(impl, &m->p);
    *out = m;
    return 0;
}

const xlstm_config *xlstm_model_config(const xlstm_model *m)
{
    return m->arch == &xlstm_arch ? &((const lm_model *)m->impl)->cfg : NULL;
}
