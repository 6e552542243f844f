/* test_tokenizer_cases.c — the reference cases of ../shared/tokenizer/cases, made with Hugging
 * Face `tokenizers`: for GPT-NeoX-20B and GPT-2 every id, token and decoded text of each text,
 * and every decode-only case; GPT-2's original pair of files encodes as its tokenizer.json.
 * Also the load time of the NeoX file. */
#include <time.h>

#include "io/json.h"
#include "test.h"
#include "tok_util.h"


/* Calls fn on each line of a JSON-lines file; returns the number of lines (-1: unreadable). */
static int each_case(const char *path, void (*fn)(xlstm_tokenizer *, const json_value *, int), xlstm_tokenizer *t)
{
    size_t len;
    char *text = tok_read_file(path, &len);
    if (text == NULL) return -1;
    int line = 0;
    for (char *s = text, *end; *s; s = end + 1) {
        end = strchr(s, '\n');
        if (end == NULL) end = s + strlen(s);
        json_value v;
        line++;
        if (json_parse(&v, s, (size_t)(end - s)) != 0) {
            CHECK(0, "%s line %d: %s", path, line, xlstm_errmsg());
            continue;
        }
        fn(t, &v, line);
        json_free(&v);
        if (*end == '\0') break;
    }
    free(text);
    return line;
}

static int same_ids(const json_value *want, const int32_t *ids, size_t n)
{
    if (want == NULL || want->type != JSON_ARRAY || want->len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (want->items[i].integer != ids[i]) return 0;
    return 1;
}

static void check_decode(xlstm_tokenizer *t, const int32_t *ids, size_t n, const json_value *want, int skip, int line)
{
    char *text;
    size_t len;
    CHECK(xlstm_tokenizer_decode(t, ids, n, skip, &text, &len) == 0, "line %d: %s", line, xlstm_errmsg());
    if (text == NULL) return;
    CHECK(want && want->len == len && memcmp(want->str, text, len) == 0, "line %d: decoded (skip %d) '%s' wanted '%s'",
          line, skip, text, want ? want->str : "?");
    free(text);
}

static void encode_case(xlstm_tokenizer *t, const json_value *c, int line)
{
    const json_value *text = json_get(c, "text"), *want = json_get(c, "ids"), *tokens = json_get(c, "tokens");
    int32_t *ids;
    size_t n;
    CHECK(xlstm_tokenizer_encode(t, text->str, text->len, &ids, &n) == 0, "line %d: %s", line, xlstm_errmsg());
    CHECK(same_ids(want, ids, n), "line %d: ids of '%s' differ (%zu ids, %zu wanted)", line, text->str, n,
          want ? want->len : 0);
    for (size_t i = 0; tokens && i < n && i < tokens->len; i++) {
        const char *tok = xlstm_tokenizer_token(t, ids[i]);
        CHECK(tok && strcmp(tok, tokens->items[i].str) == 0, "line %d: token %zu", line, i);
    }
    check_decode(t, ids, n, json_get(c, "decoded"), 0, line);
    check_decode(t, ids, n, json_get(c, "decoded_skip_special"), 1, line);
    free(ids);
}

static void decode_case(xlstm_tokenizer *t, const json_value *c, int line)
{
    const json_value *ids = json_get(c, "ids");
    int32_t *v = malloc((ids->len + 1) * sizeof *v);
    for (size_t i = 0; i < ids->len; i++) v[i] = (int32_t)ids->items[i].integer;
    check_decode(t, v, ids->len, json_get(c, "text"), 0, line);
    check_decode(t, v, ids->len, json_get(c, "text_skip_special"), 1, line);
    free(v);
}

/* The encode and decode cases of one tokenizer. */
static void run_cases(const char *file, const char *prefix, const char *name)
{
    char path[512];
    xlstm_tokenizer *t = NULL;
    snprintf(path, sizeof path, SHARED_TOKENIZER "/%s", file);
    const char *why;
    int rc = tok_load_or_skip(&t, path, &why);
    if (rc < 0) SKIP(why);
    CHECK(rc == 0, "%s", xlstm_errmsg());
    if (t == NULL) return;
    snprintf(path, sizeof path, SHARED_TOKENIZER "/cases/%s_shared.jsonl", prefix);
    int n = each_case(path, encode_case, t);
    CHECK(n == 237, "%d encode cases in %s", n, path);
    snprintf(path, sizeof path, SHARED_TOKENIZER "/cases/%s_decode.jsonl", prefix);
    int m = each_case(path, decode_case, t);
    CHECK(m > 0, "%d decode cases in %s", m, path);
    printf("  %s: %d encode and %d decode cases\n", name, n, m);
    xlstm_tokenizer_free(t);
}

static void test_cases_neox(void) { run_cases("neox-20b/tokenizer.json", "neox", "test_cases_neox"); }
static void test_cases_gpt2(void) { run_cases("gpt2/tokenizer.json", "gpt2", "test_cases_gpt2"); }

/* GPT-2's encoder.json and vocab.bpe make the tokenizer of its tokenizer.json. */
static void test_gpt2_original_files(void)
{
    xlstm_tokenizer *json = NULL, *pair = NULL;
    const char *why;
    if (tok_load_or_skip(&json, SHARED_TOKENIZER "/gpt2/tokenizer.json", &why) < 0) SKIP(why);
    CHECK(xlstm_tokenizer_load(&pair, SHARED_TOKENIZER "/gpt2") == 0, "%s", xlstm_errmsg());
    size_t len;
    char *texts = tok_read_file(SHARED_TOKENIZER "/cases/texts_shared.json", &len);
    json_value list;
    CHECK(texts && json_parse(&list, texts, len) == 0, "texts_shared.json");
    for (size_t i = 0; pair && json && texts && i < list.len; i++) {
        const json_value *s = &list.items[i];
        int32_t *a, *b;
        size_t na, nb;
        CHECK(xlstm_tokenizer_encode(json, s->str, s->len, &a, &na) == 0, "%s", xlstm_errmsg());
        CHECK(xlstm_tokenizer_encode(pair, s->str, s->len, &b, &nb) == 0, "%s", xlstm_errmsg());
        CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0, "text %zu", i);
        free(a);
        free(b);
    }
    CHECK(pair && xlstm_tokenizer_vocab_size(pair) == xlstm_tokenizer_vocab_size(json), "vocabulary sizes");
    if (texts) json_free(&list);
    free(texts);
    xlstm_tokenizer_free(json);
    xlstm_tokenizer_free(pair);
}

/* The NeoX file (2.4 MB, 50,009 merges) loads, three times over; the time it took is
 * printed (the goal: under 100 ms of CPU time). */
static void test_neox_load(void)
{
    xlstm_tokenizer *t = NULL;
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        clock_t start = clock();
        const char *why;
        if (tok_load_or_skip(&t, SHARED_TOKENIZER "/neox-20b/tokenizer.json", &why) < 0) SKIP(why);
        double ms = 1e3 * (double)(clock() - start) / CLOCKS_PER_SEC;
        best = ms < best ? ms : best;
        CHECK(t != NULL && xlstm_tokenizer_vocab_size(t) == 50277, "%s", xlstm_errmsg());
        xlstm_tokenizer_free(t);
    }
    /* printed, not checked: speed is the bench's to measure (tools/bench_tokenizer.sh) */
    printf("  NeoX tokenizer.json loads in %.1f ms (CPU time, best of 3)\n", best);
}

int main(void)
{
    RUN(test_cases_neox);
    RUN(test_cases_gpt2);
    RUN(test_gpt2_original_files);
    RUN(test_neox_load);
    TEST_EXIT();
}
