/* test_json.c — the strict JSON reader and the writer. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io/json.h"
#include "test.h"

static int parse(json_value *v, const char *text) { return json_parse(v, text, strlen(text)); }

static void test_values(void)
{
    json_value v;
    const char *doc = " {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"x\"}, \"\": 0} ";
    CHECK(parse(&v, doc) == 0, "%s", xlstm_errmsg());
    CHECK(v.type == JSON_OBJECT && v.len == 3, "object of 3");
    const json_value *a = json_get(&v, "a");
    CHECK(a && a->type == JSON_ARRAY && a->len == 5, "a is an array of 5");
    CHECK(json_at(a, 0)->is_integer && json_at(a, 0)->integer == 1, "1");
    CHECK(json_at(a, 1)->number == -2500.0 && !json_at(a, 1)->is_integer, "-2.5e3");
    CHECK(json_at(a, 2)->type == JSON_BOOL && json_at(a, 2)->boolean == 1, "true");
    CHECK(json_at(a, 3)->type == JSON_BOOL && json_at(a, 3)->boolean == 0, "false");
    CHECK(json_at(a, 4)->type == JSON_NULL, "null");
    CHECK(json_at(a, 5) == NULL, "out of range index");
    CHECK(json_get(a, "x") == NULL, "json_get on an array");
    const json_value *c = json_get(json_get(&v, "b"), "c");
    CHECK(c && c->type == JSON_STRING && strcmp(c->str, "x") == 0, "b.c");
    CHECK(json_get(&v, "")->is_integer, "empty key");
    CHECK(json_get(&v, "zz") == NULL, "missing key");
    CHECK(json_get(&v, "a")->offset == 7, "offset of a's value: %zu", json_get(&v, "a")->offset);
    json_free(&v);
    CHECK(parse(&v, "\"only\"") == 0 && v.type == JSON_STRING, "a scalar document");
    json_free(&v);
}

static void test_numbers(void)
{
    json_value v;
    CHECK(parse(&v, "9223372036854775807") == 0 && v.is_integer && v.integer == INT64_MAX, "int64 max");
    json_free(&v);
    CHECK(parse(&v, "-9223372036854775808") == 0 && v.is_integer && v.integer == INT64_MIN, "int64 min");
    json_free(&v);
    CHECK(parse(&v, "9223372036854775808") == 0 && !v.is_integer && v.number == 9223372036854775808.0,
          "2^63 is only a double");
    json_free(&v);
    CHECK(parse(&v, "9007199254740993") == 0 && v.integer == 9007199254740993LL, "2^53+1 exact as int64");
    json_free(&v);
    CHECK(parse(&v, "-0") == 0 && v.is_integer && v.integer == 0, "-0");
    json_free(&v);
    CHECK(parse(&v, "0.1") == 0 && v.number == 0.1, "0.1 correctly rounded");
    json_free(&v);
    CHECK(parse(&v, "1E+2") == 0 && v.number == 100.0 && !v.is_integer, "1E+2");
    json_free(&v);
    CHECK(parse(&v, "4.9e-324") == 0 && v.number > 0, "smallest subnormal");
    json_free(&v);
    const char *bad[] = {"01", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "0x10", "1.5.2", "1e400", "-1e400",
                         "NaN", "Infinity"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(parse(&v, bad[i]) != 0, "refused %s", bad[i]);
        CHECK(strstr(xlstm_errmsg(), "json: ") == xlstm_errmsg(), "message: %s", xlstm_errmsg());
    }
}

static void test_strings(void)
{
    json_value v;
    CHECK(parse(&v, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"") == 0, "%s", xlstm_errmsg());
    CHECK(v.len == 12 && memcmp(v.str, "a\"b\\c/d\b\f\n\r\t", 12) == 0, "simple escapes");
    json_free(&v);
    /* U+00E9, U+20AC, U+1F600 (surrogate pair) and raw UTF-8 */
    CHECK(parse(&v, "\"\\u00e9\\u20AC\\ud83d\\ude00\xc3\xa9\"") == 0, "%s", xlstm_errmsg());
    CHECK(v.len == 11 && memcmp(v.str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9", 11) == 0, "utf-8 out");
    json_free(&v);
    CHECK(json_parse(&v, "\"a\\u0000b\"", 10) == 0 && v.len == 3 && !json_is_cstring(&v), "embedded NUL");
    json_free(&v);
    const char *bad[] = {"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud83d\"", "\"\\ud83d\\u0041\"",
                         "\"\\ude00\"", "\"a\tb\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
                         "\"\xf4\x90\x80\x80\"", "\"\xff\"", "\"\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(parse(&v, bad[i]) != 0, "refused string %zu", i);
}

static void test_errors(void)
{
    json_value v;
    CHECK(parse(&v, "{\"a\": 1, \"b\": x}") != 0, "bad value");
    CHECK(strcmp(xlstm_errmsg(), "json: unexpected character 'x' at byte 14") == 0, "message: %s", xlstm_errmsg());
    CHECK(parse(&v, "[1, 2") != 0, "unterminated");
    CHECK(strcmp(xlstm_errmsg(), "json: unexpected end of input at byte 5") == 0, "message: %s", xlstm_errmsg());
    CHECK(parse(&v, "{\"k\": 1, \"k\": 2}") != 0 && strstr(xlstm_errmsg(), "duplicate key \"k\" at byte 9"),
          "duplicate key: %s", xlstm_errmsg());
    const char *bad[] = {"", " ", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "[1 2]", "tru",
                         "nul", "truex", "[] []", "{\"a\":1}}", "'a'", "[\"a\" : 1]", "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(parse(&v, bad[i]) != 0, "refused '%s'", bad[i]);
    /* the length bound is honoured: "[1]" cut to "[1" */
    CHECK(json_parse(&v, "[1]", 2) != 0, "length bound");
}

static void test_depth(void)
{
    char buf[2 * (JSON_MAX_DEPTH + 1) + 1];
    json_value v;
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        int rc = json_parse(&v, buf, 2 * (size_t)depth);
        if (depth == JSON_MAX_DEPTH) {
            CHECK(rc == 0, "depth %d accepted: %s", depth, xlstm_errmsg());
            json_free(&v);
        } else {
            CHECK(rc != 0 && strstr(xlstm_errmsg(), "nesting deeper"), "depth %d refused: %s", depth,
                  xlstm_errmsg());
        }
    }
}

/* Every proper prefix of a valid document is invalid and must fail cleanly (ASan build
 * catches any read past the bound: the prefix is copied to an exact-size buffer). */
static void test_truncation(void)
{
    const char *doc = "{\"name\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
                      "\"s\": \"\\u00e9\\ud83d\\ude00\\n\xc3\xa9\", \"n\": -1.5e-3, \"t\": [true, false, null]}";
    size_t n = strlen(doc);
    json_value v;
    CHECK(json_parse(&v, doc, n) == 0, "full document: %s", xlstm_errmsg());
    json_free(&v);
    int accepted = 0;
    for (size_t k = 0; k < n; k++) {
        char *cut = malloc(k ? k : 1);
        memcpy(cut, doc, k);
        if (json_parse(&v, cut, k) == 0) {
            accepted++;
            json_free(&v);
        }
        free(cut);
    }
    CHECK(accepted == 0, "%d prefixes accepted", accepted);
}

static void test_writer(void)
{
    json_writer w;
    char *out;
    size_t len;
    jw_init(&w);
    jw_raw(&w, "[");
    jw_string(&w, "q\"b\\n\n\t\x01\xc3\xa9");
    jw_printf(&w, ", %d, ", 42);
    jw_double(&w, 1.3);
    jw_raw(&w, ", ");
    jw_double(&w, 2.0);
    jw_raw(&w, ", ");
    jw_double(&w, 0.1 + 0.2);
    jw_raw(&w, "]");
    CHECK(jw_finish(&w, &out, &len) == 0, "%s", xlstm_errmsg());
    const char *want = "[\"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9\", 42, 1.3, 2.0, 0.30000000000000004]";
    CHECK(strcmp(out, want) == 0 && len == strlen(want), "writer output: %s", out);
    json_value v;
    CHECK(json_parse(&v, out, len) == 0, "reads back");
    CHECK(strcmp(json_at(&v, 0)->str, "q\"b\\n\n\t\x01\xc3\xa9") == 0, "string round trip");
    CHECK(json_at(&v, 4)->number == 0.1 + 0.2, "double round trip");
    json_free(&v);
    xlstm_free(out);

    jw_init(&w);
    jw_double(&w, INFINITY);
    jw_raw(&w, "x");
    CHECK(jw_finish(&w, &out, &len) != 0 && strstr(xlstm_errmsg(), "non-finite"), "inf refused: %s",
          xlstm_errmsg());

    /* a string the reader would refuse is not written (found by fuzz_cli_train: a --data path
     * with a 0xff byte made a checkpoint whose train_args could not be read back) */
    const char *bad[] = {"t\xff.txt", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!json_utf8_valid(bad[i], strlen(bad[i])), "invalid UTF-8 %zu accepted", i);
        jw_init(&w);
        jw_string(&w, bad[i]);
        CHECK(jw_finish(&w, &out, &len) != 0 && strstr(xlstm_errmsg(), "not valid UTF-8"), "%zu written: %s", i,
              xlstm_errmsg());
    }
    CHECK(json_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), "valid UTF-8 refused");
}

int main(void)
{
    RUN(test_values);
    RUN(test_numbers);
    RUN(test_strings);
    RUN(test_errors);
    RUN(test_depth);
    RUN(test_truncation);
    RUN(test_writer);
    TEST_EXIT();
}
