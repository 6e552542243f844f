/* model.c — the public calls of the language-model interface: the checks every
 * architecture shares, then the architecture's own function (arch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/arch.h"
#include "models/models.h"

static int create(xlstm_model **out, const model_arch *a, const char *json, size_t len)
{
    xlstm_model *m = calloc(1, sizeof *m);
    if (!m) return xlstm_fail("model: out of memory");
    m->arch = a;
    if (a->create(&m->impl, &m->p, json, len) != 0) {
        free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int xlstm_model_create_json(xlstm_model **out, const char *json, size_t len)
{
    const model_arch *a;
    *out = NULL;
    if (arch_of_config(json, len, &a) != 0) return -1;
    return create(out, a, json, len);
}

void xlstm_model_free(xlstm_model *m)
{
    if (!m) return;
    m->arch->destroy(m->impl);
    free(m);
}

const char *xlstm_model_architecture(const xlstm_model *m) { return m->arch->name; }
int xlstm_model_config_json(const xlstm_model *m, char **out) { return m->arch->config_json(m->impl, out); }
int xlstm_model_vocab_size(const xlstm_model *m) { return m->arch->vocab_size(m->impl); }
int xlstm_model_context_length(const xlstm_model *m) { return m->arch->context_length(m->impl); }

int xlstm_model_set_context_length(xlstm_model *m, int T)
{
    if (T < 1) return xlstm_fail("context length: must be >= 1, got %d", T);
    m->arch->set_context_length(m->impl, T);
    return 0;
}

int xlstm_model_init(xlstm_model *m, uint64_t seed) { return m->arch->init(m->impl, seed); }

size_t xlstm_model_num_params(const xlstm_model *m) { return m->p.n_params; }

size_t xlstm_model_param_count(const xlstm_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->p.n; i++) n += m->p.tensors[i].numel;
    return n;
}

xlstm_real *xlstm_model_params(xlstm_model *m) { return m->p.params; }
xlstm_real *xlstm_model_grads(xlstm_model *m) { return m->p.grads; }
int xlstm_model_num_tensors(const xlstm_model *m) { return m->p.n; }

const xlstm_tensor *xlstm_model_tensor(const xlstm_model *m, int i)
{
    return i >= 0 && i < m->p.n ? &m->p.tensors[i] : NULL;
}

const xlstm_tensor *xlstm_model_find_tensor(const xlstm_model *m, const char *name)
{
    for (int i = 0; i < m->p.n; i++)
        if (strcmp(m->p.tensors[i].name, name) == 0) return &m->p.tensors[i];
    return NULL;
}

int xlstm_model_set_chunk_size(xlstm_model *m, int chunk)
{
    if (chunk < 0) return xlstm_fail("chunk size: must be >= 1 (or 0: the parallel form), got %d", chunk);
    return m->arch->set_chunk_size(m->impl, chunk);
}

int xlstm_forward(xlstm_model *m, const int32_t *tokens, const int32_t *targets, int B, int T, float *loss)
{
    if (B < 1 || T < 1) return xlstm_fail("forward: batch %d x length %d must both be >= 1", B, T);
    if ((int64_t)B * T > INT32_MAX)
        return xlstm_fail("forward: batch %d x length %d is more than 2^31 - 1 tokens in one pass", B, T);
    return m->arch->forward(m->impl, tokens, targets, B, T, loss);
}

double xlstm_model_forward_flops(const xlstm_model *m, int T) { return m->arch->forward_flops(m->impl, T); }
size_t xlstm_model_step_weight_bytes(const xlstm_model *m) { return m->arch->step_weight_bytes(m->impl); }

const xlstm_real *xlstm_logits(const xlstm_model *m) { return m->arch->logits(m->impl); }

const xlstm_real *xlstm_block_output(const xlstm_model *m, int block)
{
    return m->arch->block_output ? m->arch->block_output(m->impl, block) : NULL;
}

int xlstm_backward(xlstm_model *m) { return m->arch->backward(m->impl); }

void xlstm_zero_grad(xlstm_model *m) { memset(m->p.grads, 0, m->p.n_params * sizeof(real)); }

/* ---------------------------------------------------------------- recurrent state
 * (each architecture checks the tokens: it reads them only once its memory is bound) */

int xlstm_state_create(const xlstm_model *m, xlstm_state **out)
{
    *out = NULL;
    xlstm_state *s = calloc(1, sizeof *s);
    if (!s) return xlstm_fail("state: out of memory");
    s->model = m;
    if (m->arch->state_create(m->impl, &s->impl) != 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void xlstm_state_free(xlstm_state *s)
{
    if (!s) return;
    s->model->arch->state_free(s->impl);
    free(s);
}

void xlstm_state_reset(xlstm_state *s) { s->model->arch->state_reset(s->impl); }

int xlstm_state_copy(xlstm_state *dst, const xlstm_state *src)
{
    if (dst->model != src->model) return xlstm_fail("state copy: the states belong to different models");
    if (dst != src) src->model->arch->state_copy(dst->impl, src->impl);
    return 0;
}

size_t xlstm_state_bytes(const xlstm_state *s) { return s->model->arch->state_bytes(s->impl); }

static int check_state(const xlstm_model *m, const xlstm_state *s)
{
    return s->model == m ? 0 : xlstm_fail("state: made for a different model");
}

int xlstm_step(xlstm_model *m, xlstm_state *s, int32_t token, xlstm_real *logits)
{
    if (check_state(m, s) != 0) return -1;
    thread_tuner_begin(&s->tuner);
    int rc = m->arch->step(m->impl, s->impl, token, logits);
    thread_tuner_end(&s->tuner);
    return rc;
}

int xlstm_step_batch(xlstm_model *m, xlstm_state *const *states, const int32_t *tokens, int n, xlstm_real *logits)
{
    if (n < 1) return xlstm_fail("step batch: need at least one sequence, got %d", n);
    for (int i = 0; i < n; i++) {
        if (check_state(m, states[i]) != 0) return -1;
        for (int j = 0; j < i; j++)
            if (states[j] == states[i]) return xlstm_fail("step batch: sequences %d and %d share a state", j, i);
    }
    const size_t V = (size_t)xlstm_model_vocab_size(m);
    if (!m->arch->step_batch) {
        for (int i = 0; i < n; i++)
            if (m->arch->step(m->impl, states[i]->impl, tokens[i], logits ? logits + (size_t)i * V : NULL) != 0)
                return -1;
        return 0;
    }
    void *impls[64];
    for (int done = 0; done < n; done += 64) { /* the architecture's batches of at most 64 */
        const int k = n - done < 64 ? n - done : 64;
        for (int i = 0; i < k; i++) impls[i] = states[done + i]->impl;
        if (m->arch->step_batch(m->impl, impls, tokens + done, k, logits ? logits + (size_t)done * V : NULL) != 0)
            return -1;
    }
    return 0;
}

int xlstm_prefill(xlstm_model *m, xlstm_state *s, const int32_t *tokens, int n, xlstm_real *logits)
{
    if (check_state(m, s) != 0) return -1;
    if (n < 1) return xlstm_fail("prefill: need at least one token, got %d", n);
    return m->arch->prefill(m->impl, s->impl, tokens, n, logits);
}

/* ---------------------------------------------------------------- checkpoints */

/* Create the model a config describes and read its parameters from the open file f; the
 * messages name the file (a refused config: when it came from the file's metadata). */
static int load_from(xlstm_model **out, st_file *f, const char *json, size_t len, int config_in_file)
{
    char msg[512];
    if (xlstm_model_create_json(out, json, len) != 0) {
        if (!config_in_file) return -1;
        snprintf(msg, sizeof msg, "%s", xlstm_errmsg());
        return xlstm_fail("%s: %s", f->label, msg);
    }
    if ((*out)->arch->load_params((*out)->impl, f, "") != 0) {
        xlstm_model_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int xlstm_model_load(xlstm_model **out, const char *path)
{
    *out = NULL;
    st_file f;
    if (st_open(&f, path) != 0) return -1;
    const char *json = st_meta(&f, "config");
    int rc = json ? load_from(out, &f, json, strlen(json), 1)
                  : xlstm_fail("%s: no __metadata__ \"config\" (a checkpoint needs its model config)", path);
    st_close(&f);
    return rc;
}

int xlstm_model_load_with_config(xlstm_model **out, const char *path, const char *json, size_t len)
{
    *out = NULL;
    st_file f;
    if (st_open(&f, path) != 0) return -1;
    int rc = load_from(out, &f, json, len, 0);
    st_close(&f);
    return rc;
}

int xlstm_model_save(const xlstm_model *m, const char *path, const char *const *extra_meta)
{
    char *json;
    if (xlstm_model_config_json(m, &json) != 0) return -1;
    int nextra = 0;
    while (extra_meta && extra_meta[nextra]) nextra++;
    const char **meta = calloc((size_t)nextra + 5, sizeof *meta);
    int rc = -1;
    if (!meta) {
        xlstm_fail("%s: out of memory", path);
    } else {
        meta[0] = "config";
        meta[1] = json;
        meta[2] = "architecture";
        meta[3] = m->arch->name;
        for (int i = 0; i < nextra; i++) meta[4 + i] = extra_meta[i];
        rc = m->arch->save(m->impl, path, meta);
    }
    free(meta);
    free(json);
    return rc;
}

int model_load_params(xlstm_model *m, const st_file *f, const char *prefix)
{
    return m->arch->load_params(m->impl, f, prefix);
}

void model_tensor_to_file(const xlstm_model *m, int i, const real *buffer, real *out)
{
    m->arch->tensor_to_file(m->impl, &m->p.tensors[i], buffer, out);
}

size_t model_state_tensor(const xlstm_state *s, const char *name, real *out)
{
    const model_arch *a = s->model->arch;
    return a->state_tensor ? a->state_tensor(s->model->impl, s->impl, name, out) : 0;
}
