/* test_model.c — the float model as a user sees it: official checkpoints load in both sLSTM
 * layouts and give the reference logits; save/load round trips; bad checkpoints are
 * refused; recurrent step, prefill and the forward agree; init follows the official
 * schemes; a training step after a change of thread count equals one on a fresh model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "test.h"
#include "xlstm.h"
#include "../../src/io/safetensors.h"

#define REF "tests/data/ref/"

static char tmpdir[64];

static float *ref_tensor(const char *file, const char *name, size_t *n)
{
    *n = 0;
    st_file f;
    if (st_open(&f, file) != 0) return NULL;
    const st_entry *e = st_find(&f, name);
    float *p = e ? malloc(e->numel * sizeof *p) : NULL;
    if (p && st_read_real(&f, e, p, e->numel) != 0) p = (free(p), NULL);
    if (e) *n = e->numel;
    st_close(&f);
    return p;
}

static int32_t *ref_ids(const char *name, int *N)
{
    st_file f;
    if (st_open(&f, REF "lm_mixed_small.safetensors") != 0) return NULL;
    const st_entry *e = st_find(&f, name);
    int64_t *v = malloc(e->numel * sizeof *v);
    int32_t *out = malloc(e->numel * sizeof *out);
    st_read_i64(&f, e, v, e->numel);
    for (size_t i = 0; i < e->numel; i++) out[i] = (int32_t)v[i];
    *N = (int)e->numel;
    free(v);
    st_close(&f);
    return out;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

/* logits of a model for the reference batch (2 x 32), parallel form */
static float *logits_of(xlstm_model *m)
{
    int N;
    int32_t *ids = ref_ids("input.ids", &N);
    xlstm_model_set_chunk_size(m, 0);
    float *out = NULL;
    if (xlstm_forward(m, ids, NULL, 2, N / 2, NULL) == 0) {
        size_t n = (size_t)N * xlstm_model_config(m)->vocab_size;
        out = malloc(n * sizeof *out);
        memcpy(out, xlstm_logits(m), n * sizeof *out);
    }
    free(ids);
    return out;
}

static void test_official_state_dicts(void)
{
    size_t n;
    float *want = ref_tensor(REF "lm_mixed_small.safetensors", "output.logits", &n);
    const char *files[] = {REF "lm_mixed_small.state_dict.safetensors",
                           REF "lm_mixed_small.cuda_layout.state_dict.safetensors"};
    for (int i = 0; i < 2; i++) {
        xlstm_model *m;
        CHECK(xlstm_model_load(&m, files[i]) == 0, "%s: %s", files[i], xlstm_errmsg());
        if (!m) continue;
        float *got = logits_of(m);
        double e = max_rel(got, want, n);
        CHECK(e <= 1e-5, "%s: logits rel err %.2e", files[i], e);
        free(got);
        xlstm_model_free(m);
    }
    free(want);
}

/* save -> load gives the same parameters, in both sLSTM layouts; the saved cuda-layout file
 * has the official cuda shapes */
static void test_save_load_roundtrip(void)
{
    const char *files[] = {REF "lm_mixed_small.state_dict.safetensors",
                           REF "lm_mixed_small.cuda_layout.state_dict.safetensors"};
    for (int i = 0; i < 2; i++) {
        xlstm_model *m, *m2;
        CHECK(xlstm_model_load(&m, files[i]) == 0, "%s", xlstm_errmsg());
        if (!m) continue;
        char path[128];
        snprintf(path, sizeof path, "%s/rt%d.safetensors", tmpdir, i);
        const char *meta[] = {"note", "round trip", NULL};
        CHECK(xlstm_model_save(m, path, meta) == 0, "save: %s", xlstm_errmsg());
        CHECK(xlstm_model_load(&m2, path) == 0, "load: %s", xlstm_errmsg());
        if (!m2) continue;
        CHECK(xlstm_model_num_params(m) == xlstm_model_num_params(m2), "param count");
        CHECK(memcmp(xlstm_model_params(m), xlstm_model_params(m2), xlstm_model_num_params(m) * sizeof(float)) == 0,
              "parameters differ after round trip %d", i);
        st_file f;
        CHECK(st_open(&f, path) == 0, "%s", xlstm_errmsg());
        const st_entry *rk = st_find(&f, "xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_");
        CHECK(rk && rk->shape[1] == (i == 0 ? 64 : 16), "recurrent kernel layout of file %d", i);
        CHECK(st_meta(&f, "note") && strcmp(st_meta(&f, "note"), "round trip") == 0, "extra metadata");
        st_close(&f);
        /* the file written is byte-for-byte what it was read from, tensor by tensor */
        st_file a, b;
        st_open(&a, files[i]);
        st_open(&b, path);
        for (int t = 0; t < a.n; t++) {
            const st_entry *ea = &a.entries[t], *eb = st_find(&b, ea->name);
            CHECK(eb && eb->numel == ea->numel, "%s missing", ea->name);
            if (!eb) continue;
            float *x = malloc(ea->numel * sizeof *x), *y = malloc(ea->numel * sizeof *y);
            st_read_real(&a, ea, x, ea->numel);
            st_read_real(&b, eb, y, eb->numel);
            CHECK(memcmp(x, y, ea->numel * sizeof *x) == 0, "%s differs from the original", ea->name);
            free(x), free(y);
        }
        st_close(&a), st_close(&b);
        xlstm_model_free(m);
        xlstm_model_free(m2);
    }
}

static void test_tied_roundtrip(void)
{
    const char *json = "{\"vocab_size\": 20, \"num_blocks\": 2, \"embedding_dim\": 16, \"tie_weights\": true,"
                       " \"mlstm_block\": {}}";
    xlstm_config cfg;
    xlstm_model *m = NULL, *m2 = NULL;
    CHECK(xlstm_config_parse(&cfg, json, strlen(json)) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_model_create(&m, &cfg) == 0, "%s", xlstm_errmsg());
    if (!m) return;
    xlstm_model_init(m, 1);
    CHECK(xlstm_model_find_tensor(m, "lm_head.weight") == NULL, "tied: no separate head parameter");
    char path[128];
    snprintf(path, sizeof path, "%s/tied.safetensors", tmpdir);
    CHECK(xlstm_model_save(m, path, NULL) == 0, "%s", xlstm_errmsg());
    st_file f;
    st_open(&f, path);
    CHECK(st_find(&f, "lm_head.weight") != NULL, "a tied state_dict lists lm_head.weight");
    st_close(&f);
    CHECK(xlstm_model_load(&m2, path) == 0, "%s", xlstm_errmsg());
    if (m2) CHECK(memcmp(xlstm_model_params(m), xlstm_model_params(m2), xlstm_model_num_params(m) * 4) == 0, "params");
    xlstm_model_free(m);
    xlstm_model_free(m2);
}

/* write a copy of the reference state_dict with one tensor changed by `edit` */
static void write_variant(const char *path, const char *skip, const char *rename_to, int reshape, int poison)
{
    st_file f;
    st_open(&f, REF "lm_mixed_small.state_dict.safetensors");
    st_out_tensor *out = calloc((size_t)f.n, sizeof *out);
    float **bufs = calloc((size_t)f.n, sizeof *bufs);
    int n = 0;
    for (int i = 0; i < f.n; i++) {
        const st_entry *e = &f.entries[i];
        int hit = strcmp(e->name, skip) == 0;
        if (hit && !rename_to && !reshape && !poison) continue;
        bufs[i] = malloc(e->numel * sizeof(float));
        st_read_real(&f, e, bufs[i], e->numel);
        st_out_tensor *o = &out[n++];
        o->name = hit && rename_to ? rename_to : e->name;
        o->dtype = ST_F32;
        o->ndim = e->ndim;
        memcpy(o->shape, e->shape, sizeof o->shape);
        if (hit && reshape) { o->ndim = 1; o->shape[0] = (int64_t)e->numel; }
        if (hit && poison) bufs[i][3] = NAN;
        o->data = bufs[i];
    }
    const char *meta[] = {"config", st_meta(&f, "config"), NULL};
    st_write(path, out, n, meta);
    for (int i = 0; i < f.n; i++) free(bufs[i]);
    free(bufs), free(out);
    st_close(&f);
}

static void test_bad_checkpoints(void)
{
    struct { const char *skip, *rename; int reshape, poison; const char *expect; } cases[] = {
        {"lm_head.weight", NULL, 0, 0, "'lm_head.weight' is missing"},
        {"lm_head.weight", "lm_head.bias", 0, 0, "'lm_head.weight' is missing"},
        {"xlstm_block_stack.blocks.0.xlstm.proj_up.weight", NULL, 1, 0, "has shape [16384]"},
        {"token_embedding.weight", NULL, 0, 1, "non-finite"},
    };
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_variant(path, cases[i].skip, cases[i].rename, cases[i].reshape, cases[i].poison);
        xlstm_model *m = NULL;
        CHECK(xlstm_model_load(&m, path) != 0 && m == NULL, "case %zu loaded", i);
        CHECK(strstr(xlstm_errmsg(), cases[i].expect) != NULL, "case %zu: message '%s'", i, xlstm_errmsg());
    }
    /* an extra tensor the config does not have */
    write_variant(path, "lm_head.weight", "lm_head.weight", 0, 0);
    xlstm_model *m = NULL;
    CHECK(xlstm_model_load(&m, path) == 0, "unchanged copy loads: %s", xlstm_errmsg());
    xlstm_model_free(m);
    CHECK(xlstm_model_load(&m, REF "lm_mixed_small.safetensors") != 0, "a verify file is not a checkpoint");
    CHECK(strstr(xlstm_errmsg(), "missing") != NULL || strstr(xlstm_errmsg(), "not a parameter") != NULL, "%s",
          xlstm_errmsg());
}

/* stepping token by token, prefill in pieces of several sizes, and the chunkwise forward
 * all give the same logits */
static void test_step_prefill_forward_agree(void)
{
    xlstm_model *m;
    CHECK(xlstm_model_load(&m, REF "lm_mixed_small.state_dict.safetensors") == 0, "%s", xlstm_errmsg());
    if (!m) return;
    int N, T = 32, V = 64;
    int32_t *ids = ref_ids("input.ids", &N);
    float *fwd = logits_of(m), *step = malloc((size_t)T * V * sizeof *step), last[64];
    xlstm_state *s;
    CHECK(xlstm_state_create(m, &s) == 0, "%s", xlstm_errmsg());
    for (int t = 0; t < T; t++) xlstm_step(m, s, ids[t], step + (size_t)t * V);
    CHECK(max_rel(step, fwd, (size_t)T * V) <= 1e-5, "step vs forward %.2e", max_rel(step, fwd, (size_t)T * V));
    int pieces[][4] = {{32, 0, 0, 0}, {1, 31, 0, 0}, {5, 7, 13, 7}, {17, 1, 1, 13}};
    for (int p = 0; p < 4; p++) {
        xlstm_state_reset(s);
        int t0 = 0;
        for (int k = 0; k < 4 && pieces[p][k]; k++) {
            CHECK(xlstm_prefill(m, s, ids + t0, pieces[p][k], last) == 0, "%s", xlstm_errmsg());
            t0 += pieces[p][k];
            double e = max_rel(last, step + (size_t)(t0 - 1) * V, V);
            CHECK(e <= 1e-5, "pieces %d: logits at %d rel %.2e", p, t0 - 1, e);
        }
    }
    xlstm_state_free(s);
    free(ids), free(fwd), free(step);
    xlstm_model_free(m);
}

/* A model of D 64 with an mLSTM and an sLSTM block, the same each call. */
static xlstm_model *small_mixed_model(void)
{
    xlstm_model *m = NULL;
    xlstm_config c;
    xlstm_config_default(&c);
    c.vocab_size = 50, c.embedding_dim = 64, c.num_blocks = 2, c.context_length = 64;
    c.has_mlstm_block = c.has_slstm_block = 1, c.is_slstm[1] = 1;
    CHECK(xlstm_config_validate(&c) == 0 && xlstm_model_create(&m, &c) == 0 && xlstm_model_init(m, 3) == 0, "%s",
          xlstm_errmsg());
    return m;
}

/* The gradients of a training step of m on `threads` threads, over 3 x 64 tokens (enough
 * for the parallel row passes). */
static float *train_step_grads(xlstm_model *m, int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    enum { B = 3, T = 64 };
    int32_t ids[B * T + 1];
    for (int i = 0; i <= B * T; i++) ids[i] = (i * 17 + 5) % 50;
    float loss;
    xlstm_zero_grad(m);
    CHECK(xlstm_forward(m, ids, ids + 1, B, T, &loss) == 0 && xlstm_backward(m) == 0, "%s", xlstm_errmsg());
    size_t n = xlstm_model_num_params(m);
    float *g = malloc(n * sizeof *g);
    memcpy(g, xlstm_model_grads(m), n * sizeof *g);
    return g;
}

/* The layers' scratch is sized for a thread count when the activations are allocated: when
 * the count changes, a step must size it again, and then equals a fresh model's bit for bit
 * (the per-thread partial sums are added in thread order). */
static void test_thread_count_change(void)
{
#ifndef _OPENMP
    SKIP("this build has no OpenMP (the thread count cannot change)");
#endif
    xlstm_model *m = small_mixed_model();
    size_t n = xlstm_model_num_params(m);
    int counts[] = {1, 3, 2};
    for (int i = 0; i < 3; i++) {
        xlstm_model *fresh_model = small_mixed_model();
        float *kept = train_step_grads(m, counts[i]), *fresh = train_step_grads(fresh_model, counts[i]);
        CHECK(memcmp(kept, fresh, n * sizeof *kept) == 0, "%d threads after %d: gradients differ from a fresh model's",
              counts[i], i ? counts[i - 1] : counts[i]);
        free(kept), free(fresh);
        xlstm_model_free(fresh_model);
    }
#ifdef _OPENMP
    omp_set_num_threads(omp_get_num_procs());
#endif
    xlstm_model_free(m);
}

/* The state's size: each mLSTM block's conv history, matrix memories, normalizers and
 * stabilizers, each sLSTM block's conv history and 4 cell states, each buffer rounded up
 * to 64 bytes. */
static void test_state_bytes(void)
{
    xlstm_model *m = small_mixed_model();
    const xlstm_config *c = xlstm_model_config(m);
    size_t E = (size_t)c->mlstm.inner_dim, NH = (size_t)c->mlstm.num_heads, DH = E / NH, D = (size_t)c->embedding_dim;
    int Ks = c->slstm.conv1d_kernel_size;
    size_t floats = (size_t)(c->mlstm.conv1d_kernel_size - 1) * E + NH * DH * DH + E + NH /* block 0: mLSTM */
                    + (Ks > 1 ? (size_t)(Ks - 1) * D : 0) + 4 * D;          /* block 1: sLSTM */
    xlstm_state *s;
    CHECK(xlstm_state_create(m, &s) == 0, "%s", xlstm_errmsg());
    /* 6 buffers, each padded by less than 64 bytes */
    size_t bytes = xlstm_state_bytes(s), lo = floats * sizeof(xlstm_real), hi = lo + 6 * 60;
    CHECK(bytes >= lo && bytes <= hi, "state of %zu bytes, want %zu to %zu", bytes, lo, hi);
    xlstm_state_free(s);
    xlstm_model_free(m);
}

/* the official init: recognisable values and distributions */
static void test_init(void)
{
    const char *json = "{\"vocab_size\": 256, \"num_blocks\": 4, \"embedding_dim\": 128, \"slstm_at\": [1],"
                       " \"mlstm_block\": {}, \"slstm_block\": {}}";
    xlstm_config cfg;
    xlstm_model *m = NULL, *m2 = NULL;
    xlstm_config_parse(&cfg, json, strlen(json));
    CHECK(xlstm_model_create(&m, &cfg) == 0 && xlstm_model_create(&m2, &cfg) == 0, "%s", xlstm_errmsg());
    if (!m || !m2) {
        xlstm_model_free(m);
        xlstm_model_free(m2);
        return;
    }
    xlstm_model_init(m, 42);
    xlstm_model_init(m2, 42);
    CHECK(memcmp(xlstm_model_params(m), xlstm_model_params(m2), xlstm_model_num_params(m) * 4) == 0,
          "same seed, same init");
    const float *p = xlstm_model_params(m);
    const xlstm_tensor *fb = xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.0.xlstm.mlstm_cell.fgate.bias");
    CHECK(fb && p[fb->offset] == 3.0f && p[fb->offset + 3] == 6.0f && p[fb->offset + 1] == 4.0f, "fgate linspace");
    const xlstm_tensor *sb = xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_");
    /* powerlaw_blockdependent forget bias (gate 1), block 1 of 4: unit 0 = 5, last unit = -7 */
    int D = 128, DH = 32;
    CHECK(sb && fabsf(p[sb->offset + D] - 5.0f) < 1e-6f && fabsf(p[sb->offset + D + DH - 1] + 7.0f) < 1e-5f,
          "powerlaw forget bias %g %g", p[sb->offset + D], p[sb->offset + D + DH - 1]);
    double r = 1.0 / 3, j = 10.0 / (DH - 1), want = -(-5.0 + 12.0 * pow(j, 0.3 + 1.3 * r));
    CHECK(fabs(p[sb->offset + D + 10] - want) < 1e-5, "powerlaw unit 10: %g vs %g", p[sb->offset + D + 10], want);
    CHECK(p[sb->offset] == 0 && p[sb->offset + 2 * D] == 0, "i and z biases zero");
    const xlstm_tensor *emb = xlstm_model_find_tensor(m, "token_embedding.weight");
    double s2 = 0;
    for (size_t i = 0; i < emb->numel; i++) s2 += (double)p[emb->offset + i] * p[emb->offset + i];
    double std = sqrt(s2 / emb->numel), want_std = sqrt(2.0 / (5 * 128));
    CHECK(fabs(std - want_std) < 0.03 * want_std, "small_init std %g vs %g", std, want_std);
    const xlstm_tensor *pd = xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.2.xlstm.proj_down.weight");
    s2 = 0;
    for (size_t i = 0; i < pd->numel; i++) s2 += (double)p[pd->offset + i] * p[pd->offset + i];
    std = sqrt(s2 / pd->numel), want_std = 2.0 / 4 / sqrt(128.0);
    CHECK(fabs(std - want_std) < 0.03 * want_std, "wang_init std %g vs %g", std, want_std);
    /* official decay groups */
    CHECK(xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.0.xlstm.proj_up.weight")->weight_decay == 1, "decay");
    CHECK(xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.0.xlstm_norm.weight")->weight_decay == 0, "norm");
    CHECK(xlstm_model_find_tensor(m, "xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_")->weight_decay == 0,
          "recurrent kernel");
    CHECK(emb->weight_decay == 0, "embedding");
    xlstm_model_free(m);
    xlstm_model_free(m2);
}

static void test_bad_inputs(void)
{
    xlstm_model *m;
    CHECK(xlstm_model_load(&m, REF "lm_mixed_small.state_dict.safetensors") == 0, "%s", xlstm_errmsg());
    if (!m) return;
    int32_t tok[4] = {1, 2, 64, 3}, tgt[4] = {1, 2, 3, -2};
    CHECK(xlstm_forward(m, tok, NULL, 1, 4, NULL) != 0 && strstr(xlstm_errmsg(), "token 64"), "%s", xlstm_errmsg());
    tok[2] = 5;
    CHECK(xlstm_forward(m, tok, tgt, 1, 4, NULL) != 0 && strstr(xlstm_errmsg(), "target -2"), "%s", xlstm_errmsg());
    CHECK(xlstm_forward(m, tok, NULL, 0, 4, NULL) != 0, "B = 0");
    /* refused before the tokens are read: tok holds only 4 */
    CHECK(xlstm_forward(m, tok, NULL, 65536, 65536, NULL) != 0 && strstr(xlstm_errmsg(), "2^31 - 1 tokens"), "%s",
          xlstm_errmsg());
    CHECK(xlstm_forward(m, tok, NULL, 1 << 20, 1 << 10, NULL) != 0 && strstr(xlstm_errmsg(), "activations: needs"),
          "%s", xlstm_errmsg());
    CHECK(xlstm_backward(m) != 0, "backward without a forward with targets");
    CHECK(xlstm_model_set_chunk_size(m, -1) != 0 && strstr(xlstm_errmsg(), "chunk size"), "%s", xlstm_errmsg());
    xlstm_model_free(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xlstm_test_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_official_state_dicts);
    RUN(test_save_load_roundtrip);
    RUN(test_tied_roundtrip);
    RUN(test_bad_checkpoints);
    RUN(test_step_prefill_forward_agree);
    RUN(test_thread_count_change);
    RUN(test_state_bytes);
    RUN(test_init);
    RUN(test_bad_inputs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}
