/* arch.c — xLSTM Large as the "xlstm_large" architecture of the model interface
 * (models/arch.h): its functions behind the interface's, its checkpoints (official names in
 * the config's weight mode), and its state in the official layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "large.h"
#include "models/arch.h"

static int create(void **impl, model_params *p, const char *json, size_t len)
{
    large_config c;
    large_model *m;
    if (large_config_parse(&c, json, len) != 0 || large_create(&m, &c) != 0) return -1;
    p->tensors = m->table.tensors;
    p->n = m->table.n;
    p->n_params = m->table.n_params;
    p->params = m->params;
    p->grads = m->grads;
    *impl = m;
    return 0;
}

static void destroy(void *m) { large_free(m); }
static int config_json(const void *m, char **out) { return large_config_to_json(&((const large_model *)m)->cfg, out); }
static int vocab_size(const void *m) { return ((const large_model *)m)->d.V; }
static int context_length(const void *m) { return ((const large_model *)m)->cfg.context_length; }
static void set_context_length(void *m, int T) { ((large_model *)m)->cfg.context_length = T; }

static int init(void *impl, uint64_t seed)
{
    large_model *m = impl;
    large_init_weights(&m->w, m->d, seed);
    return 0;
}

/* chunk 0: the parallel form; the chunk length is kept for prefill, which runs chunkwise */
static int set_chunk_size(void *impl, int chunk)
{
    large_model *m = impl;
    m->form.parallel = chunk == 0;
    if (chunk > 0) m->form.chunk = chunk;
    return 0;
}

static int forward(void *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss)
{
    return large_forward_batch(m, tokens, targets, B, T, loss);
}

static const real *logits(const void *m) { return ((const large_model *)m)->acts.logits; }

static const real *block_output(const void *impl, int block)
{
    const large_model *m = impl;
    if (!m->acts.buffer || block < 0 || block >= m->d.L) return NULL;
    return m->acts.res + (size_t)(block + 1) * m->acts.B * m->acts.T * m->d.D;
}

static int backward(void *m) { return large_backward(m); }

static int state_create(const void *m, void **s)
{
    large_state *st;
    if (large_state_create(m, &st) != 0) return -1;
    *s = st;
    return 0;
}

static void state_free(void *s) { large_state_free(s); }

static void state_reset(void *impl)
{
    large_state *s = impl;
    memset(s->buffer, 0, s->size * sizeof(real));
}

static void state_copy(void *dst, const void *src)
{
    const large_state *s = src;
    memcpy(((large_state *)dst)->buffer, s->buffer, s->size * sizeof(real));
}

static size_t state_bytes(const void *s) { return ((const large_state *)s)->size * sizeof(real); }
static int step(void *m, void *s, int32_t token, real *out) { return large_step(m, s, token, out); }
static int prefill(void *m, void *s, const int32_t *tokens, int n, real *out) { return large_prefill(m, s, tokens, n, out); }

/* "I.c", "I.n", "I.m": block I's C [NH, DK, DV], n [NH, DK], m [NH, 1] as the official kernels
 * keep them, from raw keys: our C and n, built from keys scaled by 1/sqrt(DK), times sqrt(DK). */
static size_t state_tensor(const void *impl, const void *state, const char *name, real *out)
{
    const large_model *m = impl;
    const large_state *s = state;
    int i, used = 0;
    char which;
    if (sscanf(name, "%d.%c%n", &i, &which, &used) != 2 || name[used] || i < 0 || i >= m->d.L) return 0;
    real scale = sqrt((real)m->d.DK);
    mlstm_cell_state st = large_state_block(m, s->buffer, i);
    size_t nc = (size_t)m->d.NH * m->d.DK * m->d.DV, nn = (size_t)m->d.NH * m->d.DK, nm = (size_t)m->d.NH;
    const real *src = which == 'c' ? st.C : which == 'n' ? st.n : which == 'm' ? st.m : NULL;
    size_t count = which == 'c' ? nc : which == 'n' ? nn : which == 'm' ? nm : 0;
    for (size_t j = 0; out && j < count; j++) out[j] = which == 'm' ? src[j] : scale * src[j];
    return count;
}

static int load_params(void *impl, const st_file *f, const char *prefix)
{
    const large_model *m = impl;
    size_t plen = strlen(prefix);
    char name[320];
    for (int i = 0; i < m->table.n; i++) {
        const xlstm_tensor *x = &m->table.tensors[i];
        snprintf(name, sizeof name, "%s%s", prefix, x->name);
        const st_entry *e = st_find(f, name);
        if (!e) return xlstm_fail("%s: tensor '%s' is missing (the config expects it)", f->label, name);
        if (e->ndim != x->ndim || e->shape[0] != x->shape[0] || (x->ndim == 2 && e->shape[1] != x->shape[1]))
            return xlstm_fail("%s: tensor '%s' has the wrong shape (the config expects [%lld%s%lld])", f->label, name,
                              (long long)x->shape[0], x->ndim == 2 ? ", " : "",
                              x->ndim == 2 ? (long long)x->shape[1] : 0LL);
        real *dst = m->params + x->offset;
        if (st_read_real(f, e, dst, x->numel) != 0) return -1;
        for (size_t j = 0; j < x->numel; j++)
            if (!isfinite(dst[j]))
                return xlstm_fail("%s: tensor '%s' holds a non-finite value at element %zu", f->label, name, j);
    }
    for (int i = 0; i < f->n; i++) { /* every tensor under the prefix must be one of ours */
        const char *nm = f->entries[i].name;
        if (strncmp(nm, prefix, plen) != 0) continue;
        int known = 0;
        for (int j = 0; j < m->table.n && !known; j++) known = strcmp(m->table.tensors[j].name, nm + plen) == 0;
        if (!known) return xlstm_fail("%s: tensor '%s' is not a parameter of the model its config describes", f->label, nm);
    }
    return 0;
}

static int save(const void *impl, const char *path, const char *const *meta)
{
    const large_model *m = impl;
    st_out_tensor *out = calloc((size_t)m->table.n, sizeof *out);
    if (!out) return xlstm_fail("%s: out of memory", path);
    for (int i = 0; i < m->table.n; i++) {
        const xlstm_tensor *x = &m->table.tensors[i];
        out[i] = (st_out_tensor){x->name, ST_F32, x->ndim, {x->shape[0], x->shape[1]}, m->params + x->offset};
    }
    int rc = st_write(path, out, m->table.n, meta);
    free(out);
    return rc;
}

static void tensor_to_file(const void *m, const xlstm_tensor *t, const real *buffer, real *out)
{
    (void)m;
    memcpy(out, buffer + t->offset, t->numel * sizeof(real));
}

/* 2 m n k for every product: the projections, the head, and the cell's chunkwise products
 * (q k^T and the weights times v inside a chunk, q^T C and the state update across chunks;
 * the parallel form: one chunk of T). */
static double forward_flops(const void *impl, int T)
{
    const large_model *m = impl;
    large_dims d = m->d;
    double L = !m->form.parallel && m->form.chunk < T ? m->form.chunk : T;
    double block = 2.0 * d.D * (2 * d.QK + 2 * d.VD + 2 * d.NH) + 2.0 * d.VD * d.D + 2.0 * d.D * 3 * d.F +
                   d.NH * (2 * L * d.DK + 2 * L * d.DV + 2.0 * 2 * d.DK * d.DV);
    return d.L * block + 2.0 * d.D * d.V;
}

/* A step reads every weight once, of the embedding one row. */
static size_t step_weight_bytes(const void *impl)
{
    const large_model *m = impl;
    return (m->table.n_params - (size_t)(m->d.V - 1) * m->d.D) * sizeof(real);
}

const model_arch xlstm_large_arch = {
    .name = "xlstm_large",
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
    .tensor_to_file = tensor_to_file,
    .forward_flops = forward_flops,
    .step_weight_bytes = step_weight_bytes,
    .state_tensor = state_tensor,
};
