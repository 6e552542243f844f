/* test_tokenizer.c — the tokenizer on small files made here: refusals that name what is not
 * supported, both serializations of merges, the repair of ill-formed UTF-8, decoding's checks
 * of ids, and a trained tokenizer saved, loaded back and encoding the same.
 *
 * With --portable it is the differential test's helper instead: standard input to standard
 * output with '?' for each well-formed code point on which two Unicode versions may disagree:
 * those unassigned in utf8proc's data (Hugging Face `tokenizers` splits with Unicode 16, Debian
 * 12's utf8proc has 15.0) and combining marks outside U+0300-U+036F (`tokenizers` normalizes
 * with data older than Unicode 11, which lacks later marks' combining classes). */
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "common.h"
#include "io/json.h"
#include "test.h"
#include "tok_util.h"
#include "tokenizer/unicode.h"

#ifdef XLSTM_USE_UTF8PROC
#include <utf8proc.h>
#endif

/* A tokenizer.json of six tokens (a special <s>, a, b, ab, c, abc) with the model type, the
 * pre-tokenizer, the merges and more members (extra: "" or ", \"key\": value") given. */
static char *small_json(const char *model_type, const char *pre, const char *merges, const char *extra)
{
    json_writer w;
    jw_init(&w);
    jw_printf(&w, "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 0, \"content\": \"<s>\", \"special\": true}],"
                  " \"pre_tokenizer\": %s, \"decoder\": {\"type\": \"ByteLevel\"}%s,"
                  " \"model\": {\"type\": \"%s\", \"vocab\": {\"<s>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3, \"c\": 4,"
                  " \"abc\": 5}, \"merges\": %s}}",
              pre, extra, model_type, merges);
    char *text;
    jw_finish(&w, &text, NULL);
    return text;
}

static const char *byte_level = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false}";

/* Loads a small tokenizer.json; returns NULL with the message set on refusal. */
static xlstm_tokenizer *load_small(const char *model_type, const char *pre, const char *merges, const char *extra)
{
    char *json = small_json(model_type, pre, merges, extra);
    xlstm_tokenizer *t = NULL;
    xlstm_tokenizer_load_json(&t, json, strlen(json), "small.json");
    free(json);
    return t;
}

static void expect_refusal(const char *model_type, const char *pre, const char *extra, const char *want)
{
    xlstm_tokenizer *t = load_small(model_type, pre, "[\"a b\"]", extra);
    CHECK(t == NULL && strstr(xlstm_errmsg(), want) != NULL, "wanted '%s', got '%s'", want, xlstm_errmsg());
    xlstm_tokenizer_free(t);
}

static void test_refusals(void)
{
    expect_refusal("WordPiece", byte_level, "", "small.json: model type 'WordPiece' is not supported");
    expect_refusal("Unigram", byte_level, "", "model type 'Unigram' is not supported");
    expect_refusal("BPE", "{\"type\": \"Metaspace\"}", "", "pre_tokenizer type 'Metaspace' is not supported");
    expect_refusal("BPE", "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                          "{\"Regex\": \"\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": "
                          "\"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}",
                   "", "pre_tokenizer Split with another pattern");
    expect_refusal("BPE", byte_level, ", \"normalizer\": {\"type\": \"NFKC\"}", "normalizer type 'NFKC' is not supported");
    expect_refusal("BPE", byte_level, ", \"truncation\": {\"max_length\": 5}", "truncation is set: not supported");
    xlstm_tokenizer *t = load_small("BPE", byte_level, "[\"a x\"]", "");
    CHECK(t == NULL && strstr(xlstm_errmsg(), "small.json: model.merges[0]: 'x' is not in the vocabulary"), "%s",
          xlstm_errmsg());
    t = load_small("BPE", byte_level, "[\"a  b\"]", "");
    CHECK(t == NULL && strstr(xlstm_errmsg(), "model.merges[0] is not two tokens"), "%s", xlstm_errmsg());
    CHECK(xlstm_tokenizer_load(&t, "/nonexistent/tokenizer.json") != 0 &&
              strstr(xlstm_errmsg(), "/nonexistent/tokenizer.json: cannot open"),
          "%s", xlstm_errmsg());
}

static void encode_str(xlstm_tokenizer *t, const char *s, size_t len, int32_t **ids, size_t *n)
{
    CHECK(xlstm_tokenizer_encode(t, s, len, ids, n) == 0, "%s", xlstm_errmsg());
}

/* "a b" strings and ["a", "b"] pairs are the same merges; ranks decide ("ab c" after "a b"). */
static void test_merge_serializations(void)
{
    xlstm_tokenizer *s = load_small("BPE", byte_level, "[\"a b\", \"ab c\"]", "");
    xlstm_tokenizer *p = load_small("BPE", byte_level, "[[\"a\", \"b\"], [\"ab\", \"c\"]]", "");
    CHECK(s && p, "%s", xlstm_errmsg());
    if (!s || !p) return;
    int32_t *a, *b;
    size_t na, nb;
    encode_str(s, "abc<s>ba", 8, &a, &na);
    encode_str(p, "abc<s>ba", 8, &b, &nb);
    int32_t want[] = {5, 0, 2, 1};
    CHECK(na == 4 && nb == 4 && memcmp(a, want, sizeof want) == 0 && memcmp(b, want, sizeof want) == 0,
          "%zu and %zu ids", na, nb);
    char *text;
    size_t len;
    CHECK(xlstm_tokenizer_decode(s, a, na, 1, &text, &len) == 0 && strcmp(text, "abcba") == 0, "skip special");
    free(text);
    CHECK(xlstm_tokenizer_is_special(s, 0) && !xlstm_tokenizer_is_special(s, 1), "special flags");
    free(a);
    free(b);
    xlstm_tokenizer_free(s);
    xlstm_tokenizer_free(p);
}

/* Each maximal ill-formed subsequence is one U+FFFD (Unicode's practice, as Rust and WHATWG). */
static void test_utf8_repair(void)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"a\xff" "b", "a\xef\xbf\xbd" "b"},
        {"\xe2\x82", "\xef\xbf\xbd"},                       /* a cut sequence: one */
        {"\xe2\x82" "A", "\xef\xbf\xbd" "A"},
        {"\xe0\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong: each byte */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate: each byte */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98", "\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"ok \xe2\x82\xac", NULL}, /* valid: no copy */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out;
        size_t len;
        CHECK(utf8_repair(cases[i].in, strlen(cases[i].in), &out, &len) == 0, "case %zu", i);
        if (cases[i].out == NULL) CHECK(out == NULL, "case %zu copied", i);
        else CHECK(out && len == strlen(cases[i].out) && memcmp(out, cases[i].out, len) == 0, "case %zu", i);
        free(out);
    }
}

/* Encoding bytes repairs them first; decoding checks each id. */
static void test_invalid_input(void)
{
    xlstm_tokenizer *t = NULL;
    CHECK(xlstm_tokenizer_train(&t, "hello hello world", 17, 300) == 0, "%s", xlstm_errmsg());
    if (t == NULL) return;
    int32_t *a, *b;
    size_t na, nb;
    encode_str(t, "x\xff\xfey", 4, &a, &na);
    encode_str(t, "x\xef\xbf\xbd\xef\xbf\xbdy", 8, &b, &nb);
    CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0, "ill-formed bytes encode as U+FFFD");
    char *text;
    int32_t bad[] = {104, 100000}, missing[] = {-1};
    CHECK(xlstm_tokenizer_decode(t, bad, 2, 0, &text, NULL) != 0 &&
              strstr(xlstm_errmsg(), "id 100000 (token 1) is out of range [0, "),
          "%s", xlstm_errmsg());
    CHECK(xlstm_tokenizer_decode(t, missing, 1, 0, &text, NULL) != 0 && strstr(xlstm_errmsg(), "id -1"), "%s",
          xlstm_errmsg());
    xlstm_tokenizer *none;
    CHECK(xlstm_tokenizer_train(&none, "x", 1, 256) != 0 && strstr(xlstm_errmsg(), "vocab_size 256 is out of range"),
          "%s", xlstm_errmsg());
    free(a);
    free(b);
    xlstm_tokenizer_free(t);
}

/* Training is deterministic, its file loads back to the same tokenizer, and decoding gives the
 * text back. */
static void test_train_save_load(void)
{
    size_t len;
    char *text = tok_read_file("data/moby_dick.txt", &len);
    CHECK(text != NULL, "data/moby_dick.txt");
    if (text == NULL) return;
    len = len > 200000 ? 200000 : len;
    xlstm_tokenizer *a = NULL, *b = NULL, *c = NULL;
    CHECK(xlstm_tokenizer_train(&a, text, len, 1000) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_tokenizer_train(&b, text, len, 1000) == 0, "%s", xlstm_errmsg());
    char path[] = "/tmp/xlstm_tok_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && a && xlstm_tokenizer_save(a, path) == 0, "%s", xlstm_errmsg());
    CHECK(xlstm_tokenizer_load(&c, path) == 0, "%s", xlstm_errmsg());
    if (fd >= 0) unlink(path);
    if (a && b && c) {
        CHECK(xlstm_tokenizer_vocab_size(a) == 1000 && xlstm_tokenizer_vocab_size(c) == 1000, "sizes");
        CHECK(strcmp(xlstm_tokenizer_token(c, 999), "<|endoftext|>") == 0 && xlstm_tokenizer_is_special(c, 999), "eot");
        int32_t *ia, *ib, *ic;
        size_t na, nb, nc;
        encode_str(a, text, len, &ia, &na);
        encode_str(b, text, len, &ib, &nb);
        encode_str(c, text, len, &ic, &nc);
        CHECK(na == nb && na == nc && memcmp(ia, ib, na * 4) == 0 && memcmp(ia, ic, na * 4) == 0, "same ids");
        CHECK(na < len / 2, "%zu ids for %zu bytes", na, len);
        char *back;
        size_t n_back;
        CHECK(xlstm_tokenizer_decode(c, ic, nc, 0, &back, &n_back) == 0 && n_back == len && memcmp(back, text, len) == 0,
              "decode(encode(text)) == text");
        free(back);
        free(ia);
        free(ib);
        free(ic);
    }
    xlstm_tokenizer_free(a);
    xlstm_tokenizer_free(b);
    xlstm_tokenizer_free(c);
    free(text);
}

/* 1 if Unicode 10 and 16 agree on cp's class and normalization (as far as the tests need). */
static int portable(uint32_t cp)
{
#ifdef XLSTM_USE_UTF8PROC
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category != UTF8PROC_CATEGORY_CN && (p->combining_class == 0 || (cp >= 0x300 && cp <= 0x36f));
#else
    return cp < 0x80;
#endif
}

/* The differential test's filter (see the opening comment). */
static int portable_only(void)
{
    size_t cap = 1 << 20, n = 0, got;
    unsigned char *s = malloc(cap);
    while (s && (got = fread(s + n, 1, cap - n, stdin)) > 0)
        if ((n += got) == cap) s = realloc(s, cap *= 2);
    if (s == NULL) return 1;
    for (size_t i = 0; i < n;) {
        char *fixed;
        size_t k = 1, fixed_len;
        /* a well-formed sequence is one that repair leaves alone */
        while (k < 4 && i + k < n && (s[i + k] & 0xc0) == 0x80) k++;
        for (; k > 1; k--)
            if (utf8_repair((const char *)s + i, k, &fixed, &fixed_len) == 0 && fixed == NULL) break;
            else free(fixed);
        uint32_t cp;
        utf8_next(s + i, k, &cp);
        if (s[i] >= 0x80 && k > 1 && !portable(cp)) putchar('?');
        else fwrite(s + i, 1, k, stdout);
        i += k;
    }
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--portable") == 0) return portable_only();
    if (!uni_available()) {
        printf("SKIP test_tokenizer: %s\n", xlstm_errmsg());
        return 0;
    }
    RUN(test_refusals);
    RUN(test_merge_serializations);
    RUN(test_utf8_repair);
    RUN(test_invalid_input);
    RUN(test_train_save_load);
    TEST_EXIT();
}
