/* test_generate_eval.c — the model-level facts that `xlstm generate` and `xlstm eval` rely
 * on, for a byte-level (vocabulary 256) model, and a reference for tests/cli_generate.sh.
 *
 * Without arguments: unit tests. With arguments it is a helper for the shell test, which
 * checks the CLI against these direct computations with the library:
 *   --write-model FILE         save the test's seeded byte-level model (config in the metadata)
 *   --write-config FILE        write that model's config JSON
 *   --write-bare FILE          save its tensors only, without the config (as a PyTorch user's
 *                              save_file(model.state_dict()) would)
 *   --greedy MODEL N ID,ID,..  N greedy tokens by recurrent steps only (no prefill), written as
 *                              the CLI writes them: bytes for vocabulary 256, else ids
 *   --loss MODEL DATA T        mean loss over the full non-overlapping windows of T tokens of
 *                              DATA, from xlstm_forward's loss, one window at a time */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "rng.h"
#include "test.h"
#include "xlstm.h"

/* two blocks (mLSTM, then sLSTM with its feed-forward), byte vocabulary; the vanilla sLSTM
 * backend stores the parameters in our layout, so that write_bare can write them as they are */
static const char *CONFIG = "{\"vocab_size\": 256, \"context_length\": 48, \"num_blocks\": 2, \"embedding_dim\": 32, "
                            "\"slstm_at\": [1], \"mlstm_block\": {\"mlstm\": {\"num_heads\": 4}}, "
                            "\"slstm_block\": {\"slstm\": {\"num_heads\": 4, \"backend\": \"vanilla\"}, \"feedforward\": {}}}";

/* The same, wide enough (mLSTM inner dimension 512) that a step splits each token's mLSTM
 * channels and gates over the threads (mlstm_layer.c, MLSTM_SPLIT_ROW_ELEMS). */
static const char *WIDE_CONFIG =
    "{\"vocab_size\": 256, \"context_length\": 48, \"num_blocks\": 2, \"embedding_dim\": 256, "
    "\"slstm_at\": [1], \"mlstm_block\": {\"mlstm\": {\"num_heads\": 4}}, "
    "\"slstm_block\": {\"slstm\": {\"num_heads\": 4, \"backend\": \"vanilla\"}, \"feedforward\": {}}}";

/* The official init, then 0.1 * N(0, 1) noise on every parameter so that no gate or norm is
 * trivial and the logits are well spread (greedy choices are far from ties). */
static xlstm_model *make_model_of(const char *config)
{
    xlstm_config cfg;
    xlstm_model *m = NULL;
    if (xlstm_config_parse(&cfg, config, strlen(config)) != 0 || xlstm_model_create(&m, &cfg) != 0 ||
        xlstm_model_init(m, 42) != 0) {
        fprintf(stderr, "make_model: %s\n", xlstm_errmsg());
        exit(1);
    }
    xrng r;
    rng_seed(&r, 7);
    xlstm_real *p = xlstm_model_params(m);
    for (size_t i = 0; i < xlstm_model_num_params(m); i++) p[i] += (xlstm_real)(0.1 * rng_normal(&r));
    return m;
}

static xlstm_model *make_model(void) { return make_model_of(CONFIG); }

static const char *PROMPT = "Call me Ishmael. Some years ago, never mind how long precisely, having little or no "
                            "money in my purse, and nothing particular to interest me on shore";

/* Prefill of a byte prompt longer than one chunk (64) leaves the state that steps leave:
 * the next-token logits agree, and keep agreeing as both continue. Tolerance 1e-5 absolute
 * on logits of size ~1 (float32; the two forms sum in different orders). */
static void prefill_equals_steps(const char *config)
{
    xlstm_model *m = make_model_of(config);
    int V = 256, n = (int)strlen(PROMPT);
    CHECK(n > 64, "prompt must span two chunks, has %d bytes", n);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    xlstm_real *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b);
    for (int i = 0; i < n; i++) ids[i] = (unsigned char)PROMPT[i];
    xlstm_state *sp, *ss;
    CHECK(xlstm_state_create(m, &sp) == 0 && xlstm_state_create(m, &ss) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_prefill(m, sp, ids, n, a) == 0, "%s", xlstm_errmsg());
    for (int i = 0; i < n; i++) CHECK(xlstm_step(m, ss, ids[i], b) == 0, "%s", xlstm_errmsg());
    for (int k = 0; k < 8; k++) {
        double err = 0, spread = 0;
        for (int v = 0; v < V; v++) {
            err = fmax(err, fabs((double)a[v] - b[v]));
            spread = fmax(spread, fabs((double)b[v]));
        }
        CHECK(err < 1e-5, "continuation %d: max |prefill - steps| = %g", k, err);
        CHECK(spread > 0.5, "logits too flat to test (max |logit| %g)", spread);
        int32_t next = (int32_t)(k * 37 % V);
        CHECK(xlstm_step(m, sp, next, a) == 0 && xlstm_step(m, ss, next, b) == 0, "%s", xlstm_errmsg());
    }
    xlstm_state_free(sp);
    xlstm_state_free(ss);
    free(ids);
    free(a);
    free(b);
    xlstm_model_free(m);
}

static void test_prefill_equals_steps_bytes(void) { prefill_equals_steps(CONFIG); }
static void test_prefill_equals_steps_wide(void) { prefill_equals_steps(WIDE_CONFIG); }

/* The model survives a save and load (what the shell test relies on): same logits. */
static void test_save_load_roundtrip(void)
{
    xlstm_model *m = make_model(), *l = NULL;
    char path[] = "/tmp/test_generate_eval_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    CHECK(xlstm_model_save(m, path, NULL) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_model_load(&l, path) == 0, "%s", xlstm_errmsg());
    remove(path);
    if (!l) return;
    int32_t ids[5] = {'a', 'b', 'c', '\n', ' '};
    float la = 0, lb = -1;
    CHECK(xlstm_forward(m, ids, ids, 1, 5, &la) == 0 && xlstm_forward(l, ids, ids, 1, 5, &lb) == 0, "%s",
          xlstm_errmsg());
    CHECK(la == lb, "loss %.9g before save, %.9g after load", la, lb);
    xlstm_model_free(m);
    xlstm_model_free(l);
}

static int write_bare(const char *path)
{
    xlstm_model *m = make_model();
    int n = xlstm_model_num_tensors(m);
    st_out_tensor *out = calloc((size_t)n, sizeof *out);
    for (int i = 0; i < n; i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        out[i] = (st_out_tensor){.name = t->name, .dtype = ST_F32, .ndim = t->ndim, .data = xlstm_model_params(m) + t->offset};
        for (int d = 0; d < t->ndim; d++) out[i].shape[d] = t->shape[d];
    }
    int rc = st_write(path, out, n, NULL);
    free(out);
    xlstm_model_free(m);
    return rc ? 1 : 0;
}

static xlstm_model *load_or_die(const char *path)
{
    xlstm_model *m;
    if (xlstm_model_load(&m, path) != 0) {
        fprintf(stderr, "%s\n", xlstm_errmsg());
        exit(1);
    }
    return m;
}

static int greedy(const char *model, int n, const char *list)
{
    xlstm_model *m = load_or_die(model);
    int V = xlstm_model_config(m)->vocab_size;
    xlstm_state *s;
    xlstm_real *logits = malloc((size_t)V * sizeof *logits);
    if (xlstm_state_create(m, &s) != 0) return 1;
    for (const char *c = list; *c;) {
        char *end;
        if (xlstm_step(m, s, (int32_t)strtol(c, &end, 10), logits) != 0) return 1;
        c = *end ? end + 1 : end;
    }
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int v = 1; v < V; v++) best = logits[v] > logits[best] ? v : best;
        if (V == 256)
            putchar(best);
        else
            printf(i ? " %d" : "%d", best);
        if (xlstm_step(m, s, best, logits) != 0) return 1;
    }
    if (V != 256) putchar('\n');
    xlstm_state_free(s);
    free(logits);
    xlstm_model_free(m);
    return 0;
}

static int window_loss(const char *model, const char *data, int T)
{
    xlstm_model *m = load_or_die(model);
    FILE *f = fopen(data, "rb");
    if (!f) return 1;
    static unsigned char text[1 << 20];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    int32_t *x = malloc((size_t)T * sizeof *x), *y = malloc((size_t)T * sizeof *y);
    double sum = 0;
    size_t windows = (n - 1) / (size_t)T;
    for (size_t w = 0; w < windows; w++) {
        for (int t = 0; t < T; t++) {
            x[t] = text[w * T + t];
            y[t] = text[w * T + t + 1];
        }
        float loss;
        if (xlstm_forward(m, x, y, 1, T, &loss) != 0) return 1;
        sum += loss;
    }
    printf("%.8f\n", sum / (double)windows);
    free(x);
    free(y);
    xlstm_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-model") == 0) {
        xlstm_model *m = make_model();
        int rc = xlstm_model_save(m, argv[2], NULL);
        xlstm_model_free(m);
        return rc ? 1 : 0;
    }
    if (argc == 3 && strcmp(argv[1], "--write-config") == 0) {
        FILE *f = fopen(argv[2], "w");
        return f && fputs(CONFIG, f) >= 0 && fclose(f) == 0 ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "--write-bare") == 0) return write_bare(argv[2]);
    if (argc == 5 && strcmp(argv[1], "--greedy") == 0) return greedy(argv[2], atoi(argv[3]), argv[4]);
    if (argc == 5 && strcmp(argv[1], "--loss") == 0) return window_loss(argv[2], argv[3], atoi(argv[4]));
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-model|--write-config|--write-bare FILE | --greedy MODEL N IDS | --loss MODEL DATA T]\n",
                argv[0]);
        return 2;
    }
    RUN(test_prefill_equals_steps_bytes);
    RUN(test_prefill_equals_steps_wide);
    RUN(test_save_load_roundtrip);
    TEST_EXIT();
}
