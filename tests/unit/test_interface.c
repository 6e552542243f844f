/* test_interface.c — the language-model interface as a program that does not know the
 * architecture sees it: the registry and the config's "architecture" field, the config and
 * context length, state snapshots (copy), the batched step against single steps, and a
 * checkpoint that names its architecture. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "xlstm.h"
#include "io/safetensors.h"

static const char *CONFIG = "{\"vocab_size\": 40, \"num_blocks\": 2, \"embedding_dim\": 16, \"slstm_at\": [1], "
                            "\"mlstm_block\": {\"mlstm\": {\"num_heads\": 2}}, "
                            "\"slstm_block\": {\"slstm\": {\"num_heads\": 2}}}";

static xlstm_model *make(const char *json)
{
    xlstm_model *m = NULL;
    if (xlstm_model_create_json(&m, json, strlen(json)) != 0 || xlstm_model_init(m, 5) != 0) {
        fprintf(stderr, "  %s\n", xlstm_errmsg());
        xlstm_model_free(m);
        return NULL;
    }
    return m;
}

static void test_registry(void)
{
    CHECK(xlstm_architecture_count() >= 1, "%d", xlstm_architecture_count());
    CHECK(xlstm_architecture_name(0) && strcmp(xlstm_architecture_name(0), "xlstm") == 0, "first is xlstm");
    CHECK(xlstm_architecture_name(xlstm_architecture_count()) == NULL, "past the end");
    xlstm_model *m = make(CONFIG);
    CHECK(m && strcmp(xlstm_model_architecture(m), "xlstm") == 0, "no field: the paper's xLSTM");
    CHECK(m && xlstm_model_config(m) != NULL, "its own config");
    xlstm_model_free(m);
    char named[512];
    snprintf(named, sizeof named, "{\"architecture\": \"xlstm\", %s", CONFIG + 1);
    m = make(named);
    CHECK(m != NULL, "architecture xlstm named");
    xlstm_model_free(m);
    snprintf(named, sizeof named, "{\"architecture\": \"gpt5\", %s", CONFIG + 1);
    CHECK(xlstm_model_create_json(&m, named, strlen(named)) != 0 && strstr(xlstm_errmsg(), "'gpt5' is not one of xlstm"),
          "%s", xlstm_errmsg());
    snprintf(named, sizeof named, "{\"architecture\": 3, %s", CONFIG + 1);
    CHECK(xlstm_model_create_json(&m, named, strlen(named)) != 0 && strstr(xlstm_errmsg(), "must be a string"), "%s",
          xlstm_errmsg());
    CHECK(xlstm_model_create_json(&m, "[1]", 3) != 0 && strstr(xlstm_errmsg(), "JSON object"), "%s", xlstm_errmsg());
}

static void test_config_and_sizes(void)
{
    xlstm_model *m = make(CONFIG);
    CHECK(m != NULL, "model");
    if (!m) return;
    CHECK(xlstm_model_vocab_size(m) == 40, "vocab %d", xlstm_model_vocab_size(m));
    CHECK(xlstm_model_context_length(m) == -1, "unset context %d", xlstm_model_context_length(m));
    CHECK(xlstm_model_set_context_length(m, 0) != 0, "context 0 refused");
    CHECK(xlstm_model_set_context_length(m, 77) == 0 && xlstm_model_context_length(m) == 77, "context 77");
    char *json;
    CHECK(xlstm_model_config_json(m, &json) == 0 && strstr(json, "\"context_length\": 77"), "config json");
    xlstm_model *copy = make(json);
    CHECK(copy && xlstm_model_param_count(copy) == xlstm_model_param_count(m), "the config rebuilds the model");
    free(json);
    xlstm_model_free(copy);
    size_t sum = 0;
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) sum += xlstm_model_tensor(m, i)->numel;
    CHECK(xlstm_model_param_count(m) == sum && sum <= xlstm_model_num_params(m), "count %zu, buffer %zu",
          xlstm_model_param_count(m), xlstm_model_num_params(m));
    xlstm_model_free(m);
}

static int same(const xlstm_real *a, const xlstm_real *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* A snapshot taken mid-sequence continues exactly as the original does. */
static void test_state_copy(void)
{
    xlstm_model *m = make(CONFIG);
    CHECK(m != NULL, "model");
    if (!m) return;
    const int V = 40;
    xlstm_state *s, *snap, *other = NULL;
    xlstm_real a[40], b[40];
    CHECK(xlstm_state_create(m, &s) == 0 && xlstm_state_create(m, &snap) == 0, "states");
    for (int t = 0; t < 5; t++) xlstm_step(m, s, (t * 7) % V, NULL);
    CHECK(xlstm_state_copy(snap, s) == 0, "copy");
    xlstm_step(m, s, 3, a);
    xlstm_step(m, s, 9, NULL); /* the original moves on; the snapshot does not */
    xlstm_step(m, snap, 3, b);
    CHECK(same(a, b, V), "the snapshot continues as the original did");
    xlstm_model *m2 = make(CONFIG);
    CHECK(m2 && xlstm_state_create(m2, &other) == 0, "other model's state");
    CHECK(other && xlstm_state_copy(other, s) != 0 && strstr(xlstm_errmsg(), "different models"), "%s",
          xlstm_errmsg());
    xlstm_state_free(other);
    xlstm_state_free(s);
    xlstm_state_free(snap);
    xlstm_model_free(m2);
    xlstm_model_free(m);
}

/* n sequences stepped together equal each stepped alone, bit for bit. */
static void test_step_batch(void)
{
    enum { N = 3, T = 6, V = 40 };
    xlstm_model *m = make(CONFIG);
    CHECK(m != NULL, "model");
    if (!m) return;
    xlstm_state *batch[N], *alone;
    xlstm_real lb[N * V], la[V];
    int ok = xlstm_state_create(m, &alone) == 0;
    for (int i = 0; i < N; i++) ok = ok && xlstm_state_create(m, &batch[i]) == 0;
    CHECK(ok, "states");
    int32_t tok[T][N];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N; i++) tok[t][i] = (int32_t)((t * 13 + i * 5) % V);
    for (int t = 0; t < T; t++) CHECK(xlstm_step_batch(m, batch, tok[t], N, lb) == 0, "%s", xlstm_errmsg());
    for (int i = 0; i < N; i++) {
        xlstm_state_reset(alone);
        for (int t = 0; t < T; t++) xlstm_step(m, alone, tok[t][i], la);
        CHECK(same(la, lb + i * V, V), "sequence %d", i);
    }
    xlstm_state *dup[2] = {batch[0], batch[0]};
    CHECK(xlstm_step_batch(m, dup, tok[0], 2, NULL) != 0 && strstr(xlstm_errmsg(), "share a state"), "%s",
          xlstm_errmsg());
    CHECK(xlstm_step_batch(m, batch, tok[0], 0, NULL) != 0, "n = 0");
    for (int i = 0; i < N; i++) xlstm_state_free(batch[i]);
    xlstm_state_free(alone);
    xlstm_model_free(m);
}

/* A checkpoint names its architecture; one saved without a config loads with a given one. */
static void test_checkpoint_architecture(void)
{
    xlstm_model *m = make(CONFIG), *back = NULL;
    CHECK(m != NULL, "model");
    if (!m) return;
    char path[] = "/tmp/xlstm_iface_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    close(fd);
    CHECK(xlstm_model_save(m, path, NULL) == 0, "%s", xlstm_errmsg());
    st_file f;
    CHECK(st_open(&f, path) == 0 && st_meta(&f, "architecture") && strcmp(st_meta(&f, "architecture"), "xlstm") == 0,
          "architecture in the metadata");
    st_close(&f);
    CHECK(xlstm_model_load_with_config(&back, path, CONFIG, strlen(CONFIG)) == 0, "%s", xlstm_errmsg());
    CHECK(back && same(xlstm_model_params(back), xlstm_model_params(m), xlstm_model_num_params(m)), "same weights");
    xlstm_model_free(back);
    CHECK(xlstm_model_load_with_config(&back, path, "{", 1) != 0 && strstr(xlstm_errmsg(), "not valid JSON"), "%s",
          xlstm_errmsg());
    unlink(path);
    xlstm_model_free(m);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_config_and_sizes);
    RUN(test_state_copy);
    RUN(test_step_batch);
    RUN(test_checkpoint_architecture);
    TEST_EXIT();
}
