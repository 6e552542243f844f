/* json.c — strict RFC 8259 reader (recursive descent into a DOM) and a text writer. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io/atomic.h"
#include "io/json.h"

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
} parser;

static int parse_value(parser *p, json_value *out);

/* "unexpected character 'x'" or "unexpected end of input", at the current position. */
static int fail_here(const parser *p, const char *what)
{
    if (p->pos >= p->len) return xlstm_fail("json: unexpected end of input at byte %zu", p->pos);
    unsigned char c = (unsigned char)p->s[p->pos];
    if (what != NULL) return xlstm_fail("json: %s at byte %zu", what, p->pos);
    if (c >= 0x20 && c < 0x7f) return xlstm_fail("json: unexpected character '%c' at byte %zu", c, p->pos);
    return xlstm_fail("json: unexpected byte 0x%02x at byte %zu", c, p->pos);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Grow a vector of `elem` bytes per element to hold n + 1 elements; keeps it on failure. */
static int grow(void **vec, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t new_cap = *cap ? *cap * 2 : 4;
    void *bigger = xlstm_alloc(new_cap, elem, "json");
    if (bigger == NULL) return -1;
    if (n) memcpy(bigger, *vec, n * elem);
    xlstm_free(*vec);
    *vec = bigger;
    *cap = new_cap;
    return 0;
}

/* ---------------------------------------------------------------- strings */

/* Length of the valid UTF-8 sequence at s[0, n), or 0 (overlong, surrogate, > U+10FFFF, cut). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { k = 2; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { k = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { k = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return k;
}

static size_t utf8_put(char *dst, unsigned cp)
{
    if (cp < 0x80) { dst[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Four hex digits at p->pos (before `end`) into *cp; advances past them. */
static int hex4(parser *p, size_t end, unsigned *cp)
{
    *cp = 0;
    for (int i = 0; i < 4; i++, p->pos++) {
        if (p->pos >= end) return fail_here(p, "truncated \\u escape");
        char c = p->s[p->pos];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return fail_here(p, "bad hex digit in \\u escape");
        *cp = *cp * 16 + d;
    }
    return 0;
}

/* The escape after a backslash at p->pos (before `end`); writes UTF-8 to dst, *n bytes. */
static int parse_escape(parser *p, size_t end, char *dst, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char c = p->s[p->pos];
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit != NULL) {
        dst[0] = to[hit - from];
        *n = 1;
        p->pos++;
        return 0;
    }
    if (c != 'u') return fail_here(p, "bad escape in string");
    size_t at = p->pos - 1;
    unsigned cp, lo;
    p->pos++;
    if (hex4(p, end, &cp) != 0) return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff) return xlstm_fail("json: lone low surrogate \\u%04x at byte %zu", cp, at);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
            return xlstm_fail("json: high surrogate \\u%04x without a low surrogate at byte %zu", cp, at);
        p->pos += 2;
        if (hex4(p, end, &lo) != 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return xlstm_fail("json: high surrogate \\u%04x without a low surrogate at byte %zu", cp, at);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *n = utf8_put(dst, cp);
    return 0;
}

/* A string starting at the opening quote; *out is a NUL-terminated copy. */
static int parse_string(parser *p, char **out, size_t *out_len)
{
    /* Find the closing quote first: the decoded text is never longer than the raw text. */
    size_t end = p->pos + 1;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        p->pos = p->len;
        return fail_here(p, NULL);
    }
    /* malloc, not xlstm_alloc: a tokenizer.json has 150,000 short strings, and zeroed 64-byte
     * blocks took a third of its parse (xlstm_free releases either) */
    char *buf = malloc(end - p->pos);
    if (buf == NULL) return xlstm_fail("json: out of memory for a string of %zu bytes", end - p->pos);
    size_t n = 0;
    p->pos++;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '\\') {
            size_t k = 0;
            p->pos++;
            if (parse_escape(p, end, buf + n, &k) != 0) goto fail;
            n += k;
        } else if (c < 0x20) {
            fail_here(p, "control character in string");
            goto fail;
        } else {
            size_t k = utf8_seq_len((const unsigned char *)p->s + p->pos, end - p->pos);
            if (k == 0) {
                fail_here(p, "invalid UTF-8 in string");
                goto fail;
            }
            memcpy(buf + n, p->s + p->pos, k);
            n += k;
            p->pos += k;
        }
    }
    p->pos = end + 1;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
fail:
    xlstm_free(buf);
    return -1;
}

/* ---------------------------------------------------------------- numbers */

static size_t skip_digits(parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    return p->pos - start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? ; the double via strtod, plus the exact
 * int64 when the literal is an integer in range. */
static int parse_number(parser *p, json_value *v)
{
    size_t start = p->pos;
    int neg = 0, integral = 1;
    if (p->s[p->pos] == '-') { neg = 1; p->pos++; }
    size_t int_start = p->pos;
    size_t nd = skip_digits(p);
    if (nd == 0) return fail_here(p, NULL);
    if (nd > 1 && p->s[int_start] == '0') return xlstm_fail("json: leading zero in number at byte %zu", start);
    if (p->pos < p->len && p->s[p->pos] == '.') {
        integral = 0;
        p->pos++;
        if (skip_digits(p) == 0) return fail_here(p, NULL);
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integral = 0;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (skip_digits(p) == 0) return fail_here(p, NULL);
    }
    size_t n = p->pos - start;
    char small[64], *text = small;
    if (n >= sizeof small && (text = xlstm_alloc(n + 1, 1, "json number")) == NULL) return -1;
    memcpy(text, p->s + start, n);
    text[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(text, NULL);
    if (text != small) xlstm_free(text);
    if (!isfinite(v->number)) return xlstm_fail("json: number out of range at byte %zu", start);
    if (integral) {
        uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        int fits = 1;
        for (size_t i = int_start; i < int_start + nd && fits; i++) {
            unsigned d = (unsigned)(p->s[i] - '0');
            if (mag > (limit - d) / 10) fits = 0;
            else mag = mag * 10 + d;
        }
        if (fits) {
            v->is_integer = 1;
            v->integer = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- containers */

static int expect(parser *p, char c)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return 0;
    }
    return fail_here(p, NULL);
}

/* After an element: 1 if another follows (','), 0 at `close`, -1 on anything else. */
static int next_element(parser *p, char close)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; return 1; }
    if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; return 0; }
    return fail_here(p, NULL);
}

static int parse_array(parser *p, json_value *v)
{
    size_t cap = 0;
    v->type = JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 0; }
    for (;;) {
        if (grow((void **)&v->items, &cap, v->len, sizeof *v->items) != 0) return -1;
        v->len++; /* owned before parsing, so json_free releases a partial element */
        if (parse_value(p, &v->items[v->len - 1]) != 0) return -1;
        int more = next_element(p, ']');
        if (more <= 0) return more;
    }
}

/* Bytewise, shorter first among equal prefixes. A loop rather than memcmp: keys are short and
 * differ early, and sorting a tokenizer's 50,000 keys spent most of its time in the calls. */
static int cmp_keys(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    return (na > nb) - (na < nb);
}

static int cmp_members(const void *x, const void *y)
{
    const json_member *a = x, *b = y;
    return cmp_keys(a->key, a->key_len, b->key, b->key_len);
}

static int parse_object(parser *p, json_value *v)
{
    size_t cap = 0;
    v->type = JSON_OBJECT;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; return 0; }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') return fail_here(p, NULL);
        if (grow((void **)&v->members, &cap, v->len, sizeof *v->members) != 0) return -1;
        json_member *m = &v->members[v->len];
        m->key_offset = p->pos;
        if (parse_string(p, &m->key, &m->key_len) != 0) return -1;
        v->len++; /* owned from here on, so json_free releases the key on a later error */
        if (expect(p, ':') != 0 || parse_value(p, &m->value) != 0) return -1;
        int more = next_element(p, '}');
        if (more < 0) return -1;
        if (more == 0) break;
    }
    /* Sorted members give lookups in O(log n) and make duplicates adjacent. */
    qsort(v->members, v->len, sizeof *v->members, cmp_members);
    for (size_t i = 1; i < v->len; i++) {
        const json_member *a = &v->members[i - 1], *b = &v->members[i];
        if (cmp_members(a, b) == 0)
            return xlstm_fail("json: duplicate key \"%.64s\" at byte %zu", b->key,
                              a->key_offset > b->key_offset ? a->key_offset : b->key_offset);
    }
    return 0;
}

static int parse_literal(parser *p, const char *word, json_value *v)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        /* point at the first byte that differs */
        size_t i = 0;
        while (p->pos + i < p->len && i < n && p->s[p->pos + i] == word[i]) i++;
        p->pos += i;
        return fail_here(p, NULL);
    }
    p->pos += n;
    v->type = word[0] == 'n' ? JSON_NULL : JSON_BOOL;
    v->boolean = word[0] == 't';
    return 0;
}

static int parse_value(parser *p, json_value *v)
{
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->pos >= p->len) return fail_here(p, NULL);
    v->offset = p->pos;
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (p->depth >= JSON_MAX_DEPTH)
            return xlstm_fail("json: nesting deeper than %d at byte %zu", JSON_MAX_DEPTH, p->pos);
        p->depth++;
        int rc = c == '{' ? parse_object(p, v) : parse_array(p, v);
        p->depth--;
        return rc;
    }
    if (c == '"') {
        v->type = JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    }
    if (c == 't') return parse_literal(p, "true", v);
    if (c == 'f') return parse_literal(p, "false", v);
    if (c == 'n') return parse_literal(p, "null", v);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    return fail_here(p, NULL);
}

int json_parse(json_value *out, const char *text, size_t len)
{
    parser p = {text, len, 0, 0};
    if (parse_value(&p, out) == 0) {
        skip_ws(&p);
        if (p.pos == len) return 0;
        fail_here(&p, NULL);
    }
    json_free(out);
    return -1;
}

void json_free(json_value *v)
{
    if (v->type == JSON_ARRAY)
        for (size_t i = 0; i < v->len; i++) json_free(&v->items[i]);
    if (v->type == JSON_OBJECT)
        for (size_t i = 0; i < v->len; i++) {
            xlstm_free(v->members[i].key);
            json_free(&v->members[i].value);
        }
    xlstm_free(v->str);
    xlstm_free(v->items);
    xlstm_free(v->members);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- lookup */

const json_value *json_get(const json_value *v, const char *key)
{
    if (v == NULL || v->type != JSON_OBJECT) return NULL;
    size_t nk = strlen(key), lo = 0, hi = v->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const json_member *m = &v->members[mid];
        int c = cmp_keys(m->key, m->key_len, key, nk);
        if (c == 0) return &m->value;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const json_value *json_at(const json_value *v, size_t i)
{
    if (v == NULL || v->type != JSON_ARRAY || i >= v->len) return NULL;
    return &v->items[i];
}

const char *json_type_name(enum json_type t)
{
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int json_is_cstring(const json_value *v)
{
    return v != NULL && v->type == JSON_STRING && strlen(v->str) == v->len;
}

/* ---------------------------------------------------------------- writer */

void jw_init(json_writer *w) { memset(w, 0, sizeof *w); }

/* Room for n more bytes plus the terminating NUL. */
static int jw_reserve(json_writer *w, size_t n)
{
    if (w->failed) return -1;
    if (n >= SIZE_MAX / 2 - w->len) {
        w->failed = 1;
        return xlstm_fail("json writer: text too large");
    }
    if (w->len + n + 1 <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1) cap *= 2;
    char *bigger = xlstm_alloc(cap, 1, "json writer");
    if (bigger == NULL) {
        w->failed = 1;
        return -1;
    }
    if (w->len) memcpy(bigger, w->data, w->len);
    xlstm_free(w->data);
    w->data = bigger;
    w->cap = cap;
    return 0;
}

static void jw_bytes(json_writer *w, const char *s, size_t n)
{
    if (jw_reserve(w, n) != 0) return;
    memcpy(w->data + w->len, s, n);
    w->len += n;
    w->data[w->len] = '\0';
}

void jw_raw(json_writer *w, const char *s) { jw_bytes(w, s, strlen(s)); }

void jw_printf(json_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (!w->failed) xlstm_fail("json writer: bad format '%s'", fmt);
        w->failed = 1;
        return;
    }
    if (jw_reserve(w, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(w->data + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
}

int json_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_seq_len((const unsigned char *)s + i, n - i)) == 0) return 0;
    return 1;
}

void jw_string(json_writer *w, const char *s)
{
    if (!json_utf8_valid(s, strlen(s))) { /* JSON text is Unicode: the reader would refuse it */
        if (!w->failed) xlstm_fail("json writer: cannot write a string that is not valid UTF-8");
        w->failed = 1;
        return;
    }
    jw_raw(w, "\"");
    while (*s) {
        size_t run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
        jw_bytes(w, s, run); /* plain bytes go through as they are */
        s += run;
        if (*s == '\0') break;
        unsigned char c = (unsigned char)*s++;
        if (c == '"' || c == '\\') jw_printf(w, "\\%c", c);
        else if (c == '\n') jw_raw(w, "\\n");
        else if (c == '\t') jw_raw(w, "\\t");
        else if (c == '\r') jw_raw(w, "\\r");
        else jw_printf(w, "\\u%04x", c);
    }
    jw_raw(w, "\"");
}

void jw_double(json_writer *w, double x)
{
    if (!isfinite(x)) {
        if (!w->failed) xlstm_fail("json writer: cannot write the non-finite number %g", x);
        w->failed = 1;
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    jw_raw(w, buf);
    if (strpbrk(buf, ".e") == NULL) jw_raw(w, ".0");
}

int jw_finish(json_writer *w, char **out, size_t *len)
{
    jw_reserve(w, 0); /* an empty text still gets its NUL */
    if (w->failed) {
        jw_free(w);
        return -1;
    }
    *out = w->data;
    if (len) *len = w->len;
    w->data = NULL;
    jw_free(w);
    return 0;
}

void jw_free(json_writer *w)
{
    xlstm_free(w->data);
    jw_init(w);
}

int jw_write_file(json_writer *w, const char *path)
{
    char *text;
    size_t len;
    if (jw_finish(w, &text, &len) != 0) return -1;
    int rc = atomic_write_file(path, text, len);
    xlstm_free(text);
    return rc;
}
