/* verify.c — `xlstm verify FILE [--dump OUT]`: check this implementation against a file
 * of reference vectors in the format of tests/data/ref (made with the official PyTorch
 * code): the parallel forward, the chunkwise forward, the recurrent step, prefill, and
 * every gradient, each compared tensor by tensor with a stated tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "kernels/split.h"
#include "models/models.h"
#include "models/xlstm/checkpoint.h"
#include "models/xlstm/model.h"

/* Tolerances (norm-wise relative error, see rel_err): outputs, losses and activations, and
 * the step and chunkwise forms against the parallel one, within 1e-5; gradients within
 * 1e-4. A gradient that is zero up to rounding (the mLSTM input-gate bias: the per-head
 * out-norm makes the output invariant to a common shift of the input gates) is measured
 * against a floor of GRAD_FLOOR per element instead of its own tiny norm. */
#define TOL_OUT 1e-5
#define TOL_GRAD 1e-4
#define GRAD_FLOOR 1e-6

typedef struct {
    const st_file *ref;
    int checked, failed;
    st_out_tensor *keep; /* computed tensors for --dump (data owned here) */
    int nkeep, capkeep;
} report;

/* ||got - want|| / max(||want||, floor * sqrt(n)); also the max absolute error. */
static double rel_err(const real *got, const real *want, size_t n, double floor, double *max_abs)
{
    double d2 = 0, w2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        d2 += d * d;
        w2 += (double)want[i] * want[i];
        if (fabs(d) > mx || d != d) mx = d != d ? INFINITY : fabs(d);
    }
    *max_abs = mx;
    double den = sqrt(w2);
    if (den < floor * sqrt((double)n)) den = floor * sqrt((double)n);
    if (den == 0) return d2 == 0 ? 0 : INFINITY;
    return sqrt(d2) / den;
}

static void keep(report *r, const char *name, const real *data, int ndim, const int64_t *shape)
{
    if (r->nkeep == r->capkeep) {
        r->capkeep = r->capkeep ? 2 * r->capkeep : 64;
        r->keep = realloc(r->keep, (size_t)r->capkeep * sizeof *r->keep);
        if (!r->keep) die("verify: out of memory");
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    real *copy = malloc((n ? n : 1) * sizeof *copy);
    char *nm = strdup(name);
    if (!copy || !nm) die("verify: out of memory");
    memcpy(copy, data, n * sizeof *copy);
    st_out_tensor *t = &r->keep[r->nkeep++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->dtype = ST_F32;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = copy;
}

/* Compare `got` with the reference tensor `ref_name`; print one line. dump_name (may be
 * NULL) keeps the computed tensor for --dump under that name. */
static void check(report *r, const char *label, const char *ref_name, const real *got, double tol, double floor,
                  const char *dump_name)
{
    const st_entry *e = st_find(r->ref, ref_name);
    if (!e) die("%s: reference tensor '%s' is missing", r->ref->label, ref_name);
    real *want = malloc((e->numel ? e->numel : 1) * sizeof *want);
    if (!want) die("verify: out of memory");
    if (st_read_real(r->ref, e, want, e->numel) != 0) die("%s", xlstm_errmsg());
    double max_abs, err = rel_err(got, want, e->numel, floor, &max_abs);
    int ok = err <= tol;
    r->checked++;
    r->failed += !ok;
    printf("%-4s %-66s rel %.2e  max|d| %.2e  (tol %.0e)\n", ok ? "ok" : "FAIL", label, err, max_abs, tol);
    if (dump_name) keep(r, dump_name, got, e->ndim, e->shape);
    free(want);
}

static real *read_ref(const st_file *f, const char *name, size_t want_numel)
{
    const st_entry *e = st_find(f, name);
    if (!e) die("%s: tensor '%s' is missing", f->label, name);
    if (want_numel && e->numel != want_numel)
        die("%s: tensor '%s' has %zu elements, expected %zu", f->label, name, e->numel, want_numel);
    real *p = malloc((e->numel ? e->numel : 1) * sizeof *p);
    if (!p) die("verify: out of memory");
    if (st_read_real(f, e, p, e->numel) != 0) die("%s", xlstm_errmsg());
    return p;
}

/* The gradient of tensor x (file_layout: already in the layout of the file) against the
 * file's "grad." + its name. */
static void check_grad(report *r, const xlstm_tensor *x, const real *file_layout, const char *form)
{
    char ref_name[320], label[360];
    snprintf(ref_name, sizeof ref_name, "grad.%s", x->name);
    snprintf(label, sizeof label, "%s %s", form, ref_name);
    check(r, label, ref_name, file_layout, TOL_GRAD, GRAD_FLOOR, form[0] == 'p' ? ref_name : NULL);
}

static real *grad_buffer(size_t n)
{
    real *g = malloc((n ? n : 1) * sizeof *g);
    if (!g) die("verify: out of memory");
    return g;
}

/* Every gradient of m, compared in the layout of the file (an official sLSTM `cuda` layout
 * stores its kernel and bias permuted). */
static void check_grads(report *r, xlstm_model *m, const char *form)
{
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *x = xlstm_model_tensor(m, i);
        real *g = grad_buffer(x->numel);
        model_tensor_to_file(m, i, xlstm_model_grads(m), g);
        check_grad(r, x, g, form);
        free(g);
    }
}

/* ---------------------------------------------------------------- whole LM */

/* The final states of the B sequences after prefill of all T tokens, against the file's
 * "state.<block>.<c|n|m>" [B, ...] (each sequence's tensors in the official layout). */
static void check_states(report *r, const st_file *f, xlstm_model *m, const int32_t *ids, int B, int T)
{
    xlstm_state *s;
    if (!st_find(f, "state.0.c")) return;
    if (xlstm_state_create(m, &s) != 0) die("verify: %s", xlstm_errmsg());
    char name[64];
    for (int i = 0; snprintf(name, sizeof name, "state.%d.c", i), st_find(f, name); i++)
        for (const char *x = "cnm"; *x; x++) {
            char sub[32];
            snprintf(name, sizeof name, "state.%d.%c", i, *x);
            snprintf(sub, sizeof sub, "%d.%c", i, *x);
            const st_entry *e = st_find(f, name);
            size_t per = model_state_tensor(s, sub, NULL);
            if (!e || per == 0 || e->numel != per * (size_t)B)
                die("%s: '%s' does not match the model's state (%zu values a sequence)", f->label, name, per);
            real *got = malloc(e->numel * sizeof *got);
            if (!got) die("verify: out of memory");
            for (int b = 0; b < B; b++) {
                xlstm_state_reset(s);
                if (xlstm_prefill(m, s, ids + (size_t)b * T, T, NULL) != 0) die("%s", xlstm_errmsg());
                model_state_tensor(s, sub, got + (size_t)b * per);
            }
            char label[96];
            snprintf(label, sizeof label, "prefill(%d) %s", T, name);
            check(r, label, name, got, TOL_OUT, 0, name);
            free(got);
        }
    xlstm_state_free(s);
}

/* Greedy tokens after each of the file's prompts (prefill, then a step per token) against
 * "output.generated" [B, K]: equal token for token. */
static void check_generated(report *r, const st_file *f, xlstm_model *m)
{
    const st_entry *pe = st_find(f, "input.prompt"), *ge = st_find(f, "output.generated");
    if (!pe || !ge) return;
    if (pe->ndim != 2 || ge->ndim != 2 || pe->shape[0] != ge->shape[0] || pe->shape[1] < 1)
        die("%s: 'input.prompt' [B, P] and 'output.generated' [B, K] do not match", f->label);
    int B = (int)pe->shape[0], P = (int)pe->shape[1], K = (int)ge->shape[1], V = xlstm_model_vocab_size(m), same = 0;
    int64_t *prompt = malloc(pe->numel * sizeof *prompt), *want = malloc((ge->numel + 1) * sizeof *want);
    int32_t *tok = malloc((size_t)P * sizeof *tok);
    real *logits = malloc((size_t)V * sizeof *logits);
    xlstm_state *s;
    if (!prompt || !want || !tok || !logits || xlstm_state_create(m, &s) != 0) die("verify: out of memory");
    if (st_read_i64(f, pe, prompt, pe->numel) != 0 || st_read_i64(f, ge, want, ge->numel) != 0)
        die("%s", xlstm_errmsg());
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < P; t++) {
            if (prompt[(size_t)b * P + t] < 0 || prompt[(size_t)b * P + t] >= V)
                die("%s: a token of input.prompt is outside the vocabulary", f->label);
            tok[t] = (int32_t)prompt[(size_t)b * P + t];
        }
        xlstm_state_reset(s);
        if (xlstm_prefill(m, s, tok, P, logits) != 0) die("%s", xlstm_errmsg());
        for (int k = 0; k < K; k++) {
            int32_t next = 0;
            for (int v = 1; v < V; v++) next = logits[v] > logits[next] ? v : next;
            same += next == want[(size_t)b * K + k];
            if (k + 1 < K && xlstm_step(m, s, next, logits) != 0) die("%s", xlstm_errmsg());
        }
    }
    int ok = same == B * K;
    r->checked++;
    r->failed += !ok;
    printf("%-4s %-66s %d of %d tokens equal\n", ok ? "ok" : "FAIL", "greedy after input.prompt output.generated", same,
           B * K);
    xlstm_state_free(s);
    free(prompt), free(want), free(tok), free(logits);
}

static void verify_lm(report *r, const st_file *f, const char *cfg_json)
{
    xlstm_model *m;
    if (xlstm_model_create_json(&m, cfg_json, strlen(cfg_json)) != 0) die("%s: %s", f->label, xlstm_errmsg());
    if (model_load_params(m, f, "param.") != 0) die("%s", xlstm_errmsg());
    const char *ids_name = st_find(f, "input.ids") ? "input.ids" : "input.tokens";
    const st_entry *ids_e = st_find(f, ids_name);
    if (!ids_e || ids_e->ndim != 2) die("%s: '%s' must be a [B, T] tensor", f->label, ids_name);
    int B = (int)ids_e->shape[0], T = (int)ids_e->shape[1], N = B * T, V = xlstm_model_vocab_size(m);
    int64_t *ids64 = malloc((size_t)N * 2 * sizeof *ids64);
    int32_t *ids = malloc((size_t)N * 2 * sizeof *ids), *targets = ids + N;
    if (!ids64 || !ids) die("verify: out of memory");
    if (st_read_i64(f, ids_e, ids64, (size_t)N) != 0 || !st_find(f, "input.targets") ||
        st_read_i64(f, st_find(f, "input.targets"), ids64 + N, (size_t)N) != 0)
        die("%s: %s", f->label, st_find(f, "input.targets") ? xlstm_errmsg() : "'input.targets' is missing");
    for (int i = 0; i < 2 * N; i++) {
        if (ids64[i] < (i < N ? 0 : -1) || ids64[i] >= V)
            die("%s: token %lld in input.%s is outside the vocabulary", f->label, (long long)ids64[i],
                i < N ? ids_name + 6 : "targets");
        ids[i] = (int32_t)ids64[i];
    }
    int64_t logit_shape[3] = {B, T, V};
    real *parallel_logits = malloc((size_t)N * V * sizeof *parallel_logits);
    if (!parallel_logits) die("verify: out of memory");

    /* the official training forward: the parallel form (chunk 0); then chunkwise with a
     * chunk that divides T and one that does not */
    const int chunks[3] = {0, T >= 4 ? T / 4 : 1, T > 6 ? 5 : 2};
    for (int pass = 0; pass < 3; pass++) {
        char form[32];
        if (xlstm_model_set_chunk_size(m, chunks[pass]) != 0) die("verify: %s", xlstm_errmsg());
        if (pass == 0) snprintf(form, sizeof form, "parallel");
        else snprintf(form, sizeof form, "chunkwise(%d)", chunks[pass]);
        float loss;
        xlstm_zero_grad(m);
        if (xlstm_forward(m, ids, targets, B, T, &loss) != 0) die("%s", xlstm_errmsg());
        char label[128];
        snprintf(label, sizeof label, "%s output.logits", form);
        check(r, label, "output.logits", xlstm_logits(m), TOL_OUT, 0, pass == 0 ? "output.logits" : NULL);
        real loss_r = loss;
        snprintf(label, sizeof label, "%s output.loss", form);
        check(r, label, "output.loss", &loss_r, TOL_OUT, 0, pass == 0 ? "output.loss" : NULL);
        if (pass == 0 && st_find(f, "output.logits_parallel"))
            check(r, "parallel output.logits_parallel", "output.logits_parallel", xlstm_logits(m), TOL_OUT, 0, NULL);
        if (pass == 0) {
            memcpy(parallel_logits, xlstm_logits(m), (size_t)N * V * sizeof(real));
            char name[64];
            for (int i = 0; snprintf(name, sizeof name, "act.block.%d", i), st_find(f, name); i++) {
                const real *out = xlstm_block_output(m, i);
                if (!out) die("%s: the model has no block %d, which '%s' describes", f->label, i, name);
                check(r, name, name, out, TOL_OUT, 0, name);
            }
        }
        if (xlstm_backward(m) != 0) die("%s", xlstm_errmsg());
        check_grads(r, m, form);
    }

    /* the recurrent step, token by token; and prefill of the first half then steps */
    real *step_logits = malloc((size_t)N * V * sizeof *step_logits);
    real *prefill_logits = malloc((size_t)N * V * sizeof *prefill_logits);
    xlstm_state *s;
    if (!step_logits || !prefill_logits || xlstm_state_create(m, &s) != 0) die("verify: %s", xlstm_errmsg());
    int half = T / 2 > 0 ? T / 2 : 1;
    for (int b = 0; b < B; b++) {
        xlstm_state_reset(s);
        for (int t = 0; t < T; t++)
            if (xlstm_step(m, s, ids[b * T + t], step_logits + ((size_t)b * T + t) * V) != 0) die("%s", xlstm_errmsg());
        xlstm_state_reset(s);
        /* positions before the end of the prompt are not observed by a prefill: take them
         * from the step run, the prompt's last position from the prefill */
        memcpy(prefill_logits + (size_t)b * T * V, step_logits + (size_t)b * T * V, (size_t)half * V * sizeof(real));
        if (xlstm_prefill(m, s, ids + b * T, half, prefill_logits + ((size_t)b * T + half - 1) * V) != 0)
            die("%s", xlstm_errmsg());
        for (int t = half; t < T; t++)
            if (xlstm_step(m, s, ids[b * T + t], prefill_logits + ((size_t)b * T + t) * V) != 0)
                die("%s", xlstm_errmsg());
    }
    check(r, "step output.step_logits", "output.step_logits", step_logits, TOL_OUT, 0, "output.step_logits");
    char label[96];
    snprintf(label, sizeof label, "prefill(%d)+step output.step_logits", half);
    check(r, label, "output.step_logits", prefill_logits, TOL_OUT, 0, NULL);
    check(r, "step vs parallel output.logits", "output.logits", step_logits, TOL_OUT, 0, NULL);
    keep(r, "output.prefill_step_logits", prefill_logits, 3, logit_shape);
    xlstm_state_free(s);
    check_states(r, f, m, ids, B, T);
    check_generated(r, f, m);
    free(step_logits);
    free(prefill_logits);
    free(parallel_logits);
    free(ids64);
    free(ids);
    xlstm_model_free(m);
}

/* ---------------------------------------------------------------- single layers */

typedef struct {
    int is_mlstm;
    mlstm_dims md;
    slstm_dims sd;
    mlstm_weights mw, mg;
    slstm_weights sw, sg;
} layer;

typedef struct {
    mlstm_acts m;
    slstm_acts s;
    mlstm_state ms;
    slstm_state ss;
} layer_acts;

static void layer_walk_cb(param_walk *w, void *ctx)
{
    layer *l = ctx;
    if (l->is_mlstm)
        walk_mlstm_layer(w, "", l->md, &l->mw);
    else
        walk_slstm_layer(w, "", l->sd, &l->sw);
}

static void layer_acts_bind(const layer *l, layer_acts *a, arena *ar, int B, int T, mlstm_form form, acts_role role)
{
    if (l->is_mlstm) {
        mlstm_acts_bind(&a->m, ar, l->md, B, T, form, role, NULL, thread_count());
        mlstm_state_bind(&a->ms, ar, l->md, B);
    } else {
        slstm_acts_bind(&a->s, ar, l->sd, B, T, role);
        slstm_state_bind(&a->ss, ar, l->sd, B);
    }
}

static real *layer_acts_alloc(const layer *l, layer_acts *a, int B, int T, mlstm_form form, acts_role role)
{
    arena ar = {NULL, 0};
    layer_acts_bind(l, a, &ar, B, T, form, role);
    real *buf = xlstm_alloc(ar.used, sizeof(real), "layer activations");
    if (!buf) die("verify: %s", xlstm_errmsg());
    ar.base = buf;
    ar.used = 0;
    layer_acts_bind(l, a, &ar, B, T, form, role);
    return buf;
}

static void layer_forward(const layer *l, layer_acts *a, real *y, const real *x, int B, int T, mlstm_form form,
                          int with_state)
{
    int rc = l->is_mlstm ? mlstm_layer_forward(y, x, &l->mw, &a->m, l->md, B, T, form, with_state ? &a->ms : NULL)
                         : slstm_layer_forward(y, x, &l->sw, &a->s, l->sd, B, T, with_state ? &a->ss : NULL);
    if (rc != 0) die("verify: %s", xlstm_errmsg());
}

/* Wrap a layer config (sLSTMLayerConfig / mLSTMLayerConfig JSON) in a one-block model
 * config so that the one config parser validates it. */
static void layer_config(xlstm_config *cfg, const st_file *f, const char *cfg_json, int is_mlstm)
{
    json_value v;
    if (json_parse(&v, cfg_json, strlen(cfg_json)) != 0) die("%s: config: %s", f->label, xlstm_errmsg());
    const json_value *ed = json_get(&v, "embedding_dim");
    if (!ed || !ed->is_integer) die("%s: config: embedding_dim (an integer) is required", f->label);
    size_t len = strlen(cfg_json) + 256;
    char *wrapped = malloc(len);
    if (!wrapped) die("verify: out of memory");
    if (is_mlstm)
        snprintf(wrapped, len, "{\"vocab_size\": 1, \"num_blocks\": 1, \"embedding_dim\": %lld, \"mlstm_block\": {\"mlstm\": %s}}",
                 (long long)ed->integer, cfg_json);
    else
        snprintf(wrapped, len,
                 "{\"vocab_size\": 1, \"num_blocks\": 1, \"embedding_dim\": %lld, \"slstm_block\": {\"slstm\": %s, "
                 "\"feedforward\": null}}",
                 (long long)ed->integer, cfg_json);
    const json_value *bias = json_get(&v, "bias");
    int has_bias = bias && bias->type == JSON_BOOL && bias->boolean;
    json_free(&v);
    int rc = xlstm_config_parse(cfg, wrapped, strlen(wrapped));
    free(wrapped); /* before a refusal too: LeakSanitizer reported it at die's exit */
    if (rc != 0) die("%s: %s", f->label, xlstm_errmsg());
    cfg->bias = has_bias; /* the layer config's own bias (the stack would overwrite it) */
}

static void verify_layer(report *r, const st_file *f, const char *cfg_json, int is_mlstm)
{
    xlstm_config cfg;
    layer_config(&cfg, f, cfg_json, is_mlstm);
    layer l;
    memset(&l, 0, sizeof l);
    l.is_mlstm = is_mlstm;
    l.md = mlstm_dims_of(&cfg);
    l.sd = slstm_dims_of(&cfg);
    param_table t;
    memset(&t, 0, sizeof t);
    if (param_table_record(&t, layer_walk_cb, &l) != 0) die("verify: %s", xlstm_errmsg());
    real *params = xlstm_alloc(t.n_params, sizeof(real), "parameters");
    real *grads = xlstm_alloc(t.n_params, sizeof(real), "gradients");
    if (!params || !grads) die("verify: %s", xlstm_errmsg());
    param_walk pw = {&t, params, 0, 0}, gw = {&t, grads, 0, 0};
    layer lg = l;
    if (is_mlstm) {
        walk_mlstm_layer(&pw, "", l.md, &l.mw);
        walk_mlstm_layer(&gw, "", l.md, &lg.mw);
        l.mg = lg.mw;
    } else {
        walk_slstm_layer(&pw, "", l.sd, &l.sw);
        walk_slstm_layer(&gw, "", l.sd, &lg.sw);
        l.sg = lg.sw;
    }
    if (params_load(&t, params, f, "param.", cfg.slstm.backend, cfg.slstm.num_heads, 0) != 0) die("%s", xlstm_errmsg());

    const st_entry *xe = st_find(f, "input.x");
    if (!xe || xe->ndim != 3) die("%s: 'input.x' must be a [B, T, D] tensor", f->label);
    int B = (int)xe->shape[0], T = (int)xe->shape[1], D = cfg.embedding_dim, N = B * T;
    if (xe->shape[2] != D) die("%s: 'input.x' has width %lld, the config says %d", f->label, (long long)xe->shape[2], D);
    real *x = read_ref(f, "input.x", (size_t)N * D), *dy = read_ref(f, "input.dy", (size_t)N * D);
    real *y = xlstm_alloc((size_t)N * D, sizeof(real), "y"), *dx = xlstm_alloc((size_t)N * D, sizeof(real), "dx");
    if (!y || !dx) die("verify: %s", xlstm_errmsg());

    int npass = is_mlstm ? 3 : 1;
    int chunks[2] = {T >= 4 ? T / 4 : 1, T > 6 ? 5 : 2};
    for (int pass = 0; pass < npass; pass++) {
        mlstm_form form = {pass == 0, pass == 0 ? 1 : chunks[pass - 1]};
        char fname[32], label[96];
        if (!is_mlstm)
            snprintf(fname, sizeof fname, "sequence");
        else if (pass == 0)
            snprintf(fname, sizeof fname, "parallel");
        else
            snprintf(fname, sizeof fname, "chunkwise(%d)", form.chunk);
        layer_acts a, g;
        real *abuf = layer_acts_alloc(&l, &a, B, T, form, ACTS_TRAINING),
             *gbuf = layer_acts_alloc(&l, &g, B, T, form, ACTS_GRADIENTS);
        layer_forward(&l, &a, y, x, B, T, form, 0);
        snprintf(label, sizeof label, "%s output.y", fname);
        check(r, label, "output.y", y, TOL_OUT, 0, pass == 0 ? "output.y" : NULL);
        /* the loss sum(y * dy) cancels: measure its error against the size of its terms */
        double loss = 0, terms = 0;
        for (int i = 0; i < N * D; i++) {
            loss += (double)y[i] * dy[i];
            terms += fabs((double)y[i] * dy[i]);
        }
        real loss_r = (real)loss;
        snprintf(label, sizeof label, "%s output.loss", fname);
        check(r, label, "output.loss", &loss_r, TOL_OUT, terms, pass == 0 ? "output.loss" : NULL);
        memset(grads, 0, t.n_params * sizeof(real));
        memset(dx, 0, (size_t)N * D * sizeof(real));
        int rc = 0;
        if (is_mlstm)
            rc = mlstm_layer_backward(dx, dy, x, &l.mw, &l.mg, &a.m, &g.m, l.md, B, T, form);
        else
            slstm_layer_backward(dx, dy, x, &l.sw, &l.sg, &a.s, &g.s, l.sd, B, T);
        if (rc != 0) die("verify: %s", xlstm_errmsg());
        snprintf(label, sizeof label, "%s grad.input.x", fname);
        check(r, label, "grad.input.x", dx, TOL_GRAD, GRAD_FLOOR, pass == 0 ? "grad.input.x" : NULL);
        for (int i = 0; i < t.n; i++) {
            real *gx = grad_buffer(t.tensors[i].numel);
            tensor_to_file(&t.tensors[i], grads, cfg.slstm.backend, cfg.slstm.num_heads, gx);
            check_grad(r, &t.tensors[i], gx, fname);
            free(gx);
        }
        xlstm_free(abuf);
        xlstm_free(gbuf);
    }

    /* the recurrent step over the B sequences at once */
    layer_acts a;
    mlstm_form step_form = {0, 1};
    real *abuf = layer_acts_alloc(&l, &a, B, 1, step_form, ACTS_INFERENCE);
    real *xt = malloc((size_t)B * D * sizeof *xt), *yt = malloc((size_t)B * D * sizeof *yt);
    if (!xt || !yt) die("verify: out of memory");
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) memcpy(xt + (size_t)b * D, x + ((size_t)b * T + t) * D, (size_t)D * sizeof(real));
        layer_forward(&l, &a, yt, xt, B, 1, step_form, 1);
        for (int b = 0; b < B; b++) memcpy(y + ((size_t)b * T + t) * D, yt + (size_t)b * D, (size_t)D * sizeof(real));
    }
    check(r, "step output.step_y", "output.step_y", y, TOL_OUT, 0, "output.step_y");
    check(r, "step vs parallel output.y", "output.y", y, TOL_OUT, 0, NULL);
    free(xt);
    free(yt);
    xlstm_free(abuf);
    xlstm_free(x);
    xlstm_free(dy);
    xlstm_free(y);
    xlstm_free(dx);
    xlstm_free(params);
    xlstm_free(grads);
    param_table_free(&t);
}

/* A file whose kind names an architecture holds a whole model of it, its config in the
 * architecture's official form (without our "architecture" field, which selects it here). */
static int is_architecture(const char *kind)
{
    for (int i = 0; i < xlstm_architecture_count(); i++)
        if (strcmp(xlstm_architecture_name(i), kind) == 0) return 1;
    return 0;
}

static char *config_of_architecture(const char *arch, const char *cfg_json)
{
    const char *rest = strchr(cfg_json, '{');
    if (!rest) die("verify: the file's config is not a JSON object");
    rest++;
    size_t len = strlen(arch) + strlen(rest) + 32;
    char *json = malloc(len);
    if (!json) die("verify: out of memory");
    snprintf(json, len, "{\"architecture\": \"%s\"%s%s", arch, strspn(rest, " \t\r\n") == strlen(rest) - 1 ? "" : ", ",
             rest);
    return json;
}

int cmd_verify(int argc, char **argv)
{
    const char *file = NULL, *dump = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xlstm verify FILE.safetensors [--dump OUT.safetensors]\n\n"
                   "Checks xlstm.c against reference vectors made with the official PyTorch code (kind lm,\n"
                   "slstm_layer, mlstm_layer or an architecture such as xlstm_large; formats in\n"
                   "tests/data/ref/README.md and tests/data/ref/large/README.md): parallel, chunkwise and\n"
                   "step-by-step forwards, every gradient, final states and greedy generation where the file\n"
                   "has them. Prints one line per tensor with its norm-wise\n"
                   "relative error; exits 0 only if all are within tolerance (outputs %.0e, gradients %.0e).\n"
                   "  --dump OUT   also write every computed tensor under the reference names\n",
                   TOL_OUT, TOL_GRAD);
            return 0;
        } else if (strcmp(argv[i], "--dump") == 0) {
            if (i + 1 >= argc) die("verify: --dump needs a file name");
            dump = argv[++i];
        } else if (argv[i][0] == '-') {
            die("verify: unknown flag '%s' (see xlstm verify --help)", argv[i]);
        } else if (!file) {
            file = argv[i];
        } else {
            die("verify: only one FILE is checked at a time ('%s' is extra)", argv[i]);
        }
    }
    if (!file) die("verify: no FILE given (see xlstm verify --help)");
    st_file f;
    if (st_open(&f, file) != 0) die("%s", xlstm_errmsg());
    const char *kind = st_meta(&f, "kind"), *cfg_json = st_meta(&f, "config");
    if (!kind || !cfg_json) die("%s: __metadata__ needs \"kind\" and \"config\" (see xlstm verify --help)", file);
    report r;
    memset(&r, 0, sizeof r);
    r.ref = &f;
    if (strcmp(kind, "lm") == 0) {
        verify_lm(&r, &f, cfg_json);
    } else if (strcmp(kind, "mlstm_layer") == 0 || strcmp(kind, "slstm_layer") == 0) {
        verify_layer(&r, &f, cfg_json, kind[0] == 'm');
    } else if (is_architecture(kind)) {
        char *json = config_of_architecture(kind, cfg_json);
        verify_lm(&r, &f, json);
        free(json);
    } else {
        die("%s: unknown kind '%s' (expected lm, slstm_layer or mlstm_layer), nor an architecture's name", file, kind);
    }
    printf("%s: %d of %d checks within tolerance\n", file, r.checked - r.failed, r.checked);
    int rc = r.failed ? 1 : 0;
    if (dump && st_write(dump, r.keep, r.nkeep, (const char *const[]){"kind", kind, "config", cfg_json, NULL}) != 0)
        die("%s", xlstm_errmsg());
    for (int i = 0; i < r.nkeep; i++) {
        free((char *)r.keep[i].name);
        free((void *)r.keep[i].data);
    }
    free(r.keep);
    st_close(&f);
    return rc;
}
