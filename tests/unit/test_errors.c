/* test_errors.c — error messages of docs/errors.md that only a direct call can reach (the
 * library's checks on its callers, a checkpoint refused before it is written, a file that
 * shrinks while open, messages too long for their buffer), and a helper for
 * tests/cli_errors.sh, which damages files for the command-line tests:
 *
 *   --rewrite SRC DST EDIT...  copy the safetensors file SRC to DST (which may be SRC) with
 *                              the edits, each of which must apply:
 *        drop=NAME             leave tensor NAME out
 *        shape=NAME=D,D,..     give NAME that shape; its data is cut or padded with zeros
 *        set=NAME=I=X          element I of NAME becomes X (a number, nan or inf)
 *        meta=KEY=VALUE        set __metadata__ KEY
 *   --num-params MODEL         print the parameter count of a checkpoint's model (what an
 *                              optimizer state for it must hold) */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "io/safetensors.h"
#include "test.h"
#include "cli/error_line.c"
#include "cli/run_dir.c"

static const char *CONFIG = "{\"vocab_size\": 256, \"num_blocks\": 2, \"embedding_dim\": 16, \"slstm_at\": [1], "
                            "\"mlstm_block\": {\"mlstm\": {\"num_heads\": 2}}, "
                            "\"slstm_block\": {\"slstm\": {\"num_heads\": 2}, \"feedforward\": null}}";

static char tmpdir[64];

static xlstm_model *make_model(void)
{
    xlstm_config cfg;
    xlstm_model *m = NULL;
    if (xlstm_config_parse(&cfg, CONFIG, strlen(CONFIG)) != 0 || xlstm_model_create(&m, &cfg) != 0 ||
        xlstm_model_init(m, 1) != 0) {
        fprintf(stderr, "make_model: %s\n", xlstm_errmsg());
        exit(1);
    }
    return m;
}

/* ---------------------------------------------------------------- unit tests */

static void test_prefill_needs_tokens(void)
{
    xlstm_model *m = make_model();
    xlstm_state *s;
    int32_t tok = 65;
    xlstm_real logits[256];
    CHECK(xlstm_state_create(m, &s) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_prefill(m, s, &tok, 0, logits) == -1, "0 tokens refused");
    CHECK(strcmp(xlstm_errmsg(), "prefill: need at least one token, got 0") == 0, "message: %s", xlstm_errmsg());
    CHECK(xlstm_prefill(m, s, &tok, -3, logits) == -1 &&
              strcmp(xlstm_errmsg(), "prefill: need at least one token, got -3") == 0,
          "-3 tokens: %s", xlstm_errmsg());
    CHECK(xlstm_prefill(m, s, &tok, 1, logits) == 0, "one token: %s", xlstm_errmsg());
    xlstm_state_free(s);
    xlstm_model_free(m);
}

/* a state belongs to the model that made it, even one of the same config */
static void test_state_of_other_model(void)
{
    xlstm_model *a = make_model(), *b = make_model();
    xlstm_state *s;
    int32_t toks[3] = {1, 2, 3};
    CHECK(xlstm_state_create(a, &s) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_step(b, s, 1, NULL) == -1 && strcmp(xlstm_errmsg(), "state: made for a different model") == 0,
          "step: %s", xlstm_errmsg());
    CHECK(xlstm_prefill(b, s, toks, 3, NULL) == -1 && strcmp(xlstm_errmsg(), "state: made for a different model") == 0,
          "prefill: %s", xlstm_errmsg());
    CHECK(xlstm_step(a, s, 1, NULL) == 0 && xlstm_prefill(a, s, toks, 3, NULL) == 0, "own model: %s", xlstm_errmsg());
    xlstm_state_free(s);
    xlstm_model_free(a);
    xlstm_model_free(b);
}

/* run_save refuses a NaN parameter or an infinite moment: no file is written, and a
 * checkpoint already there stays as it was */
static void test_save_refuses_nonfinite(void)
{
    char dir[128], opt[160], model[160];
    snprintf(dir, sizeof dir, "%s/run", tmpdir);
    snprintf(opt, sizeof opt, "%s/optimizer.safetensors", dir);
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    xlstm_model *m = make_model();
    adamw o;
    run_position pos = {.step = 3, .args_json = "{}"};
    rng_seed(&pos.rng, 1);
    CHECK(adamw_init(&o, xlstm_model_num_params(m)) == 0, "%s", xlstm_errmsg());
    char want[256];
    snprintf(want, sizeof want, "%s: step 3: non-finite parameters or moments; checkpoint not written", dir);

    xlstm_model_params(m)[5] = NAN;
    CHECK(run_save(dir, m, &o, &pos) == -1 && strcmp(xlstm_errmsg(), want) == 0, "NaN parameter: %s", xlstm_errmsg());
    CHECK(access(model, F_OK) != 0 && access(opt, F_OK) != 0, "nothing written");

    xlstm_model_params(m)[5] = 0.5f;
    CHECK(run_save(dir, m, &o, &pos) == 0, "finite: %s", xlstm_errmsg());
    pos.step = 4;
    o.v[7] = INFINITY;
    snprintf(want, sizeof want, "%s: step 4: non-finite parameters or moments; checkpoint not written", dir);
    CHECK(run_save(dir, m, &o, &pos) == -1 && strcmp(xlstm_errmsg(), want) == 0, "infinite moment: %s", xlstm_errmsg());
    xlstm_model *back;
    adamw ob;
    run_position pb;
    CHECK(run_load(dir, &back, &ob, &pb) == 0 && pb.step == 3, "the step 3 checkpoint is intact: %s", xlstm_errmsg());
    if (back) {
        xlstm_model_free(back);
        adamw_free(&ob);
        free(pb.args_json);
    }
    adamw_free(&o);
    xlstm_model_free(m);
}

/* a file cut short after it was opened (validated) fails when its tensor is read */
static void test_truncated_while_open(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/cut.safetensors", tmpdir);
    real x[64];
    for (int i = 0; i < 64; i++) x[i] = (real)i;
    st_out_tensor t = {"x", ST_F32, 1, {64}, x};
    CHECK(st_write(path, &t, 1, NULL) == 0, "%s", xlstm_errmsg());
    st_file f;
    CHECK(st_open(&f, path) == 0, "%s", xlstm_errmsg());
    CHECK(truncate(path, (off_t)(f.data_start + 100)) == 0, "truncate");
    const st_entry *e = st_find(&f, "x");
    char want[256];
    snprintf(want, sizeof want, "safetensors: %s: unexpected end of file (truncated while open?)", path);
    CHECK(e && st_read_real(&f, e, x, 64) == -1 && strcmp(xlstm_errmsg(), want) == 0, "message: %s", xlstm_errmsg());
    st_close(&f);
}

static void line(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(out, size, fmt, ap);
    va_end(ap);
}

/* A message quoting a path longer than the message buffer keeps its beginning and its end
 * (what was wrong), the middle elided: in the library's xlstm_errmsg (512 bytes) and in the
 * CLI's line (escapes counted). */
static void test_long_messages(void)
{
    static char path[4096], out[4096];
    memset(path, 'd', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = 0;
    xlstm_fail("%s: path too long", path);
    const char *msg = xlstm_errmsg();
    size_t n = strlen(msg);
    CHECK(n == 511, "errmsg fills its buffer: %zu", n);
    CHECK(n >= 20 && strncmp(msg, "/ddd", 4) == 0 && strstr(msg, "d...d") != NULL &&
              strcmp(msg + n - 15, ": path too long") == 0,
          "beginning, ..., end: %.20s ... %s", msg, n > 20 ? msg + n - 20 : msg);
    xlstm_fail("%s: short", "/a/b");
    CHECK(strcmp(xlstm_errmsg(), "/a/b: short") == 0, "a short message as it is: %s", xlstm_errmsg());

    path[10] = '\n'; /* escaped as 2 characters: the kept beginning still fits */
    line(out, sizeof out, "train: %s: path too long", path);
    n = strlen(out);
    CHECK(n == sizeof out - 1 || n == sizeof out - 2, "the line fills its buffer: %zu", n);
    CHECK(strncmp(out, "train: /ddddddddd\\nd", 20) == 0 && strstr(out, "d...d") != NULL &&
              strcmp(out + n - 15, ": path too long") == 0,
          "beginning, ..., end: %.24s ... %s", out, out + n - 20);
    line(out, 16, "%s", "abc\x1b\x7f\ndef");
    CHECK(strcmp(out, "abc...\\x7f\\ndef") == 0, "elided between escapes: %s", out);
    line(out, sizeof out, "%s", "abc\x1b\x7f\ndef");
    CHECK(strcmp(out, "abc\\x1b\\x7f\\ndef") == 0, "escapes: %s", out);
}

/* ---------------------------------------------------------------- helper */

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    void *data; /* real (float dtypes) or int64_t (integer dtypes) */
} held_tensor;

static int is_int(st_dtype d) { return d == ST_I64 || d == ST_I32; }

static void helper_die(const char *fmt, const char *arg)
{
    fprintf(stderr, "test_errors: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static held_tensor *find_held(held_tensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (t[i].name && strcmp(t[i].name, name) == 0) return &t[i];
    helper_die("no tensor '%s'", name);
    return NULL;
}

/* "NAME=REST": NAME's tensor; *rest points after the '=' */
static held_tensor *edit_target(held_tensor *t, int n, char *arg, char **rest)
{
    char *eq = strchr(arg, '=');
    if (!eq) helper_die("edit '%s' needs NAME=...", arg);
    *eq = 0;
    *rest = eq + 1;
    return find_held(t, n, arg);
}

static void reshape(held_tensor *h, char *dims)
{
    size_t numel = 1, esize = is_int(h->dtype) ? sizeof(int64_t) : sizeof(real);
    h->ndim = 0;
    for (char *d = strtok(dims, ","); d; d = strtok(NULL, ",")) {
        if (h->ndim == ST_MAX_DIMS) helper_die("too many dims in '%s'", dims);
        h->shape[h->ndim++] = atoll(d);
        numel *= (size_t)atoll(d);
    }
    void *data = calloc(numel ? numel : 1, esize);
    memcpy(data, h->data, (numel < h->numel ? numel : h->numel) * esize);
    free(h->data);
    h->data = data;
    h->numel = numel;
}

static int rewrite(int argc, char **argv)
{
    if (argc < 2) helper_die("%s", "--rewrite SRC DST EDIT...");
    st_file f;
    if (st_open(&f, argv[0]) != 0) helper_die("%s", xlstm_errmsg());
    held_tensor *t = calloc((size_t)f.n + 1, sizeof *t);
    for (int i = 0; i < f.n; i++) {
        const st_entry *e = &f.entries[i];
        held_tensor *h = &t[i];
        h->name = strdup(e->name);
        h->dtype = e->dtype;
        h->ndim = e->ndim;
        memcpy(h->shape, e->shape, sizeof h->shape);
        h->numel = e->numel;
        h->data = malloc((e->numel ? e->numel : 1) * (is_int(e->dtype) ? sizeof(int64_t) : sizeof(real)));
        int rc = is_int(e->dtype) ? st_read_i64(&f, e, h->data, e->numel) : st_read_real(&f, e, h->data, e->numel);
        if (rc != 0) helper_die("%s", xlstm_errmsg());
    }
    /* metadata: the file's pairs, then room for one more per edit */
    int nmeta = f.nmeta;
    char **meta = calloc((size_t)(2 * (f.nmeta + argc) + 1), sizeof *meta);
    for (int i = 0; i < f.nmeta; i++) {
        meta[2 * i] = strdup(f.meta_keys[i]);
        meta[2 * i + 1] = strdup(f.meta_values[i]);
    }
    int n = f.n;
    st_close(&f);

    for (int a = 2; a < argc; a++) {
        char *rest, *arg = argv[a];
        if (strncmp(arg, "drop=", 5) == 0) {
            held_tensor *h = find_held(t, n, arg + 5);
            free(h->name);
            h->name = NULL;
        } else if (strncmp(arg, "shape=", 6) == 0) {
            held_tensor *h = edit_target(t, n, arg + 6, &rest);
            reshape(h, rest);
        } else if (strncmp(arg, "set=", 4) == 0) {
            held_tensor *h = edit_target(t, n, arg + 4, &rest);
            char *eq = strchr(rest, '=');
            if (!eq || (size_t)atoll(rest) >= h->numel) helper_die("set '%s' needs an index in range and =X", rest);
            double x = strtod(eq + 1, NULL);
            if (is_int(h->dtype)) ((int64_t *)h->data)[atoll(rest)] = (int64_t)x;
            else ((real *)h->data)[atoll(rest)] = (real)x;
        } else if (strncmp(arg, "meta=", 5) == 0) {
            char *key = arg + 5, *eq = strchr(key, '=');
            if (!eq) helper_die("meta '%s' needs KEY=VALUE", key);
            *eq = 0;
            int k = 0;
            while (k < nmeta && strcmp(meta[2 * k], key) != 0) k++;
            if (k == nmeta) meta[2 * nmeta++] = strdup(key);
            else free(meta[2 * k + 1]);
            meta[2 * k + 1] = strdup(eq + 1);
        } else {
            helper_die("unknown edit '%s'", arg);
        }
    }

    st_out_tensor *out = calloc((size_t)n + 1, sizeof *out);
    int nout = 0;
    for (int i = 0; i < n; i++)
        if (t[i].name) {
            out[nout] = (st_out_tensor){t[i].name, t[i].dtype, t[i].ndim, {0}, t[i].data};
            memcpy(out[nout++].shape, t[i].shape, sizeof t[i].shape);
        }
    if (st_write(argv[1], out, nout, (const char *const *)meta) != 0) helper_die("%s", xlstm_errmsg());
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].data);
    }
    for (int i = 0; i < 2 * nmeta; i++) free(meta[i]);
    free(meta);
    free(out);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--rewrite") == 0) return rewrite(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "--num-params") == 0) {
        xlstm_model *m;
        if (xlstm_model_load(&m, argv[2]) != 0) helper_die("%s", xlstm_errmsg());
        printf("%zu\n", xlstm_model_num_params(m));
        xlstm_model_free(m);
        return 0;
    }
    if (argc > 1) helper_die("unknown arguments (see %s)", __FILE__);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xlstm_test_errors_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_prefill_needs_tokens);
    RUN(test_state_of_other_model);
    RUN(test_save_refuses_nonfinite);
    RUN(test_truncated_while_open);
    RUN(test_long_messages);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_EXIT();
}
