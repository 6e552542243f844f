/* test_large.c — xLSTM Large through the model interface: its config (official fields and
 * sizes, refusals), the official init and optimizer groups, the sequence forms (parallel,
 * chunkwise at any chunk, the recurrent step, prefill in pieces) against one another, the two
 * weight modes computing the same bits, and a checkpoint's round trip. (The official vectors:
 * tests/cli_large.sh through xlstm verify; finite differences: test_model_f64.c.) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "xlstm.h"

#define CONFIG(extra)                                                                                        \
    "{\"architecture\": \"xlstm_large\", \"vocab_size\": 37, \"embedding_dim\": 32, \"num_heads\": 4,"      \
    " \"num_blocks\": 2" extra "}"

static xlstm_model *make(const char *json, uint64_t seed)
{
    xlstm_model *m = NULL;
    if (xlstm_model_create_json(&m, json, strlen(json)) != 0) {
        fprintf(stderr, "  %s\n", xlstm_errmsg());
        return NULL;
    }
    xlstm_model_init(m, seed);
    /* away from the init (zero gate weights, unit norms), reproducibly, in the order of the
     * buffer (which both weight modes lay out alike) */
    uint64_t r = seed * 7919 + 1;
    xlstm_real *p = xlstm_model_params(m);
    for (size_t j = 0; j < xlstm_model_num_params(m); j++) p[j] += (xlstm_real)(0.15 * test_urand(&r));
    return m;
}

static double rel_diff(const xlstm_real *a, const xlstm_real *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* Every tensor of a and b (models of one config) holds the same bits. */
static int same_tensors(xlstm_model *a, xlstm_model *b)
{
    for (int i = 0; i < xlstm_model_num_tensors(a); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(a, i);
        if (memcmp(xlstm_model_params(a) + t->offset, xlstm_model_params(b) + t->offset, t->numel * sizeof(xlstm_real)))
            return 0;
    }
    return 1;
}

static void test_config(void)
{
    xlstm_model *m = NULL;
    /* the 7B's FFN rounding at D = 512 (spec 8.1): 512 * 2.6667 -> 1408; qk 256, v 512 */
    const char *d512 = "{\"architecture\": \"xlstm_large\", \"vocab_size\": 10, \"embedding_dim\": 512, \"num_heads\": 8,"
                       " \"num_blocks\": 1}";
    CHECK(xlstm_model_create_json(&m, d512, strlen(d512)) == 0, "%s", xlstm_errmsg());
    const xlstm_tensor *t = m ? xlstm_model_find_tensor(m, "backbone.blocks.0.ffn.proj_up_gate.weight") : NULL;
    CHECK(t && t->shape[0] == 1408 && t->shape[1] == 512, "FFN width %lld", t ? (long long)t->shape[0] : -1LL);
    t = m ? xlstm_model_find_tensor(m, "backbone.blocks.0.mlstm_layer.k.weight") : NULL;
    CHECK(t && t->shape[0] == 256, "qk_dim %lld", t ? (long long)t->shape[0] : -1LL);
    /* per block 2 D (norms) + (2 256 + 2 512) 512 + 2 8 512 + 2 8 + 512 + 512 512 + 3 1408 512; embedding, head,
     * out norm */
    size_t block = 2 * 512 + 1536 * 512 + 16 * 512 + 16 + 512 + 512 * 512 + 3 * 1408 * 512;
    CHECK(m && xlstm_model_param_count(m) == block + 2 * 10 * 512 + 512, "count %zu",
          m ? xlstm_model_param_count(m) : 0);
    char *json = NULL;
    CHECK(m && xlstm_model_config_json(m, &json) == 0 && strstr(json, "\"weight_mode\": \"single\"") &&
              strstr(json, "\"gate_soft_cap\": 15.0"),
          "config json %s", json ? json : "");
    xlstm_model *again = NULL;
    CHECK(json && xlstm_model_create_json(&again, json, strlen(json)) == 0 &&
              xlstm_model_param_count(again) == xlstm_model_param_count(m),
          "the written config rebuilds the model: %s", xlstm_errmsg());
    free(json);
    xlstm_model_free(again);
    xlstm_model_free(m);

    static const struct {
        const char *json, *why;
    } bad[] = {
        {CONFIG(", \"use_bias\": true"), "use_bias"},
        {CONFIG(", \"bogus\": 1"), "unknown field 'bogus'"},
        {CONFIG(", \"weight_mode\": \"split\""), "weight_mode"},
        {CONFIG(", \"qk_dim_factor\": 0.3"), "must divide"},
        {CONFIG(", \"chunk_size\": 0"), "chunk_size"},
        {CONFIG(", \"gate_soft_cap\": -1"), "gate_soft_cap"},
        {"{\"architecture\": \"xlstm_large\", \"embedding_dim\": 8, \"num_heads\": 2, \"num_blocks\": 1}", "vocab_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = NULL;
        CHECK(xlstm_model_create_json(&m, bad[i].json, strlen(bad[i].json)) != 0 && strstr(xlstm_errmsg(), bad[i].why),
              "%s: %s", bad[i].json, xlstm_errmsg());
        xlstm_model_free(m);
    }
}

/* spec 8.7: gate weights and the output gate zero, input-gate biases -10, forget-gate biases
 * linspace(3, 6), norm scales 1; weight decay on the linear weights only */
static void test_init_and_groups(void)
{
    xlstm_model *m = NULL;
    const char *json = CONFIG("");
    CHECK(xlstm_model_create_json(&m, json, strlen(json)) == 0 && xlstm_model_init(m, 3) == 0, "%s", xlstm_errmsg());
    if (!m) return;
    const xlstm_real *p = xlstm_model_params(m);
    const xlstm_tensor *ib = xlstm_model_find_tensor(m, "backbone.blocks.1.mlstm_layer.igate_preact.bias");
    const xlstm_tensor *fb = xlstm_model_find_tensor(m, "backbone.blocks.1.mlstm_layer.fgate_preact.bias");
    const xlstm_tensor *og = xlstm_model_find_tensor(m, "backbone.blocks.0.mlstm_layer.ogate_preact.weight");
    const xlstm_tensor *nm = xlstm_model_find_tensor(m, "backbone.blocks.0.mlstm_layer.multihead_norm.weight");
    CHECK(ib && fb && og && nm, "tensors");
    if (!ib || !fb || !og || !nm) return;
    for (int h = 0; h < 4; h++) {
        CHECK(p[ib->offset + h] == -10, "igate bias %g", p[ib->offset + h]);
        CHECK(fabs(p[fb->offset + h] - (3 + h)) < 1e-6, "fgate bias %g", p[fb->offset + h]);
    }
    int zero = 1, one = 1;
    for (size_t j = 0; j < og->numel; j++) zero &= p[og->offset + j] == 0;
    for (size_t j = 0; j < nm->numel; j++) one &= p[nm->offset + j] == 1;
    CHECK(zero && one, "output gate zero %d, norm one %d", zero, one);
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        int linear = t->ndim == 2 && strcmp(t->name, "embedding.weight") != 0;
        CHECK(t->weight_decay == linear, "%s decay %d", t->name, t->weight_decay);
    }
    xlstm_model_free(m);
}

/* The forward's logits in every form: parallel, chunkwise at chunks that do and do not divide
 * T, one token at a time through the step, and prefill in two pieces then steps. */
static void test_forms_agree(void)
{
    xlstm_model *m = make(CONFIG(""), 11);
    if (!m) return;
    enum { B = 2, T = 23, V = 37 };
    int32_t tok[B * T];
    uint64_t r = 5;
    for (int n = 0; n < B * T; n++) tok[n] = (int32_t)((test_urand(&r) + 1) * 18);
    static xlstm_real ref[B * T * V], step[B * T * V];
    CHECK(xlstm_model_set_chunk_size(m, 0) == 0 && xlstm_forward(m, tok, NULL, B, T, NULL) == 0, "%s", xlstm_errmsg());
    memcpy(ref, xlstm_logits(m), sizeof ref);
    const int chunks[] = {1, 4, 7, 16, 23, 64};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        CHECK(xlstm_model_set_chunk_size(m, chunks[c]) == 0 && xlstm_forward(m, tok, NULL, B, T, NULL) == 0, "%s",
              xlstm_errmsg());
        double e = rel_diff(xlstm_logits(m), ref, sizeof ref / sizeof ref[0]);
        CHECK(e < 1e-5, "chunk %d vs parallel: %.2e", chunks[c], e);
    }
    xlstm_state *s = NULL, *snap = NULL;
    CHECK(xlstm_state_create(m, &s) == 0 && xlstm_state_create(m, &snap) == 0, "%s", xlstm_errmsg());
    if (!s || !snap) return;
    CHECK(xlstm_state_bytes(s) == 2 * 4 * (4 * 8 + 4 + 1) * sizeof(xlstm_real), "state bytes %zu", xlstm_state_bytes(s));
    for (int b = 0; b < B; b++) {
        xlstm_state_reset(s);
        for (int t = 0; t < T; t++) xlstm_step(m, s, tok[b * T + t], step + ((size_t)b * T + t) * V);
    }
    double e = rel_diff(step, ref, sizeof ref / sizeof ref[0]);
    CHECK(e < 1e-5, "step vs parallel: %.2e", e);
    /* prefill 9 + 5 tokens, a snapshot, the rest by steps; the snapshot continues the same */
    xlstm_real last[V], again[V];
    xlstm_state_reset(s);
    CHECK(xlstm_prefill(m, s, tok, 9, NULL) == 0 && xlstm_prefill(m, s, tok + 9, 5, last) == 0, "%s", xlstm_errmsg());
    e = rel_diff(last, step + 13 * V, V);
    CHECK(e < 1e-5, "prefill(9)+prefill(5) vs steps: %.2e", e);
    CHECK(xlstm_state_copy(snap, s) == 0, "copy");
    for (int t = 14; t < T; t++) xlstm_step(m, s, tok[t], last);
    for (int t = 14; t < T; t++) xlstm_step(m, snap, tok[t], again);
    CHECK(memcmp(last, again, sizeof last) == 0, "the snapshot continues bit for bit");
    xlstm_state_free(s);
    xlstm_state_free(snap);
    xlstm_model_free(m);
}

/* "fused" names the same buffer differently: the same logits, loss and gradients, bit for bit,
 * and each mode's checkpoint loads back into it. */
static void test_weight_modes_and_checkpoint(void)
{
    xlstm_model *a = make(CONFIG(""), 4), *b = make(CONFIG(", \"weight_mode\": \"fused\""), 4);
    CHECK(a && b, "models");
    if (!a || !b) return;
    CHECK(xlstm_model_num_params(a) == xlstm_model_num_params(b) &&
              memcmp(xlstm_model_params(a), xlstm_model_params(b), xlstm_model_num_params(a) * sizeof(xlstm_real)) == 0,
          "the same buffer from the same seed");
    CHECK(xlstm_model_find_tensor(b, "backbone.blocks.0.mlstm_layer.qkv_opreact.weight") &&
              xlstm_model_find_tensor(b, "backbone.blocks.1.ffn.proj_up_gate_z.weight") &&
              !xlstm_model_find_tensor(b, "backbone.blocks.0.mlstm_layer.q.weight"),
          "fused names");
    enum { B = 2, T = 10 };
    int32_t tok[B * T], tgt[B * T];
    for (int n = 0; n < B * T; n++) tok[n] = (n * 7) % 37, tgt[n] = n % 4 == 3 ? -1 : (n * 5 + 1) % 37;
    float la, lb;
    xlstm_zero_grad(a);
    xlstm_zero_grad(b);
    CHECK(xlstm_forward(a, tok, tgt, B, T, &la) == 0 && xlstm_forward(b, tok, tgt, B, T, &lb) == 0 && la == lb,
          "loss %g vs %g", la, lb);
    CHECK(xlstm_backward(a) == 0 && xlstm_backward(b) == 0 &&
              memcmp(xlstm_model_grads(a), xlstm_model_grads(b), xlstm_model_num_params(a) * sizeof(xlstm_real)) == 0,
          "the same gradients");

    char path[] = "/tmp/test_large_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    if (fd >= 0) close(fd);
    xlstm_model *back = NULL;
    CHECK(xlstm_model_save(b, path, NULL) == 0 && xlstm_model_load(&back, path) == 0, "%s", xlstm_errmsg());
    CHECK(back && strcmp(xlstm_model_architecture(back), "xlstm_large") == 0 &&
              xlstm_model_find_tensor(back, "backbone.blocks.0.mlstm_layer.ifgate_preact.bias") &&
              same_tensors(back, b),
          "the fused checkpoint loads back");
    xlstm_model_free(back);
    unlink(path);
    xlstm_model_free(a);
    xlstm_model_free(b);
}

int main(void)
{
    RUN(test_config);
    RUN(test_init_and_groups);
    RUN(test_forms_agree);
    RUN(test_weight_modes_and_checkpoint);
    TEST_EXIT();
}
