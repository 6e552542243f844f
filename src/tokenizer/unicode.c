/* unicode.c — UTF-8 repair and encoding, and utf8proc's categories and NFC. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/unicode.h"

#ifdef XLSTM_USE_UTF8PROC
#include <utf8proc.h>
#endif

size_t utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6) out[i] = (unsigned char)(0x80 | (cp & 0x3f));
    out[0] = (unsigned char)(lead[n] | cp);
    return n;
}

/* Length of the well-formed sequence at s[0, n) (Unicode's table 3-7), or 0 with *bad the
 * length of its maximal ill-formed prefix (at least 1). */
static size_t well_formed(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0];
    size_t k;
    unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < k; i++) {
        unsigned b = i < n ? s[i] : 0;
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) {
            *bad = i;
            return 0;
        }
    }
    return k;
}

int utf8_repair(const char *s, size_t n, char **out, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad = 0, k;
    *out = NULL;
    while (i < n && (k = well_formed(u + i, n - i, &bad)) > 0) i += k;
    if (i == n) return 0;
    /* U+FFFD (3 bytes) replaces at least one byte: the result is at most 3 times as long */
    char *r = malloc(n > SIZE_MAX / 3 ? SIZE_MAX : 3 * n);
    if (r == NULL) return xlstm_fail("tokenizer: out of memory repairing %zu bytes of UTF-8", n);
    memcpy(r, s, i);
    size_t m = i;
    while (i < n) {
        if ((k = well_formed(u + i, n - i, &bad)) > 0) {
            memcpy(r + m, s + i, k);
            m += k;
            i += k;
        } else {
            memcpy(r + m, "\xef\xbf\xbd", 3);
            m += 3;
            i += bad;
        }
    }
    *out = r;
    *out_len = m;
    return 0;
}

#ifdef XLSTM_USE_UTF8PROC

int uni_available(void) { return 1; }

enum uni_class uni_class_of(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return UNI_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return UNI_NUMBER;
    /* White_Space is exactly these three categories plus the controls U+0009-U+000D and U+0085 */
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return UNI_SPACE;
    default:
        return (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ? UNI_SPACE : UNI_OTHER;
    }
}

/* Appends b[0, n) to the buffer r (*len used of *cap); grows it. */
static int append(char **r, size_t *len, size_t *cap, const char *b, size_t n)
{
    if (*len + n > *cap) {
        size_t cap2 = *cap ? *cap : 256;
        while (cap2 < *len + n) cap2 *= 2;
        char *bigger = realloc(*r, cap2);
        if (bigger == NULL) return xlstm_fail("tokenizer: out of memory normalizing text");
        *r = bigger;
        *cap = cap2;
    }
    if (n) memcpy(*r + *len, b, n);
    *len += n;
    return 0;
}

/* Code points below U+0300 never change under NFC nor combine with the one before (their
 * combining class is 0 and none is the second of a composition): the text splits before each
 * into pieces that normalize on their own. So utf8proc sees only the pieces with a code point
 * from U+0300 on (a lead byte >= 0xcc), each with the code point before it (which may compose
 * with it), and a copy is made only when one of them changes. */
int uni_nfc(const char *s, size_t n, char **out, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    char *r = NULL;
    size_t len = 0, cap = 0, done = 0; /* s[0, done) is in r (when r exists) */
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0xcc) continue; /* ASCII, continuation bytes, and leads below U+0300 */
        size_t start = i, end = i;
        if (i > done) /* the code point before, whose lead is below 0xcc */
            for (start = i - 1; start > done && (u[start] & 0xc0) == 0x80; start--) continue;
        do /* to the next code point below U+0300 */
            end += u[end] < 0xe0 ? 2 : u[end] < 0xf0 ? 3 : 4;
        while (end < n && ((u[end] & 0xc0) == 0x80 || u[end] >= 0xcc));
        end = end < n ? end : n;
        utf8proc_uint8_t *m = NULL;
        utf8proc_ssize_t k = utf8proc_map(u + start, (utf8proc_ssize_t)(end - start), &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (k < 0) {
            free(r);
            return xlstm_fail("tokenizer: NFC failed: %s", utf8proc_errmsg(k));
        }
        int same = (size_t)k == end - start && memcmp(m, u + start, end - start) == 0;
        int rc = same ? 0 : append(&r, &len, &cap, s + done, start - done) != 0 ? -1 : append(&r, &len, &cap, (const char *)m, (size_t)k);
        free(m);
        if (rc != 0) {
            free(r);
            return -1;
        }
        if (!same) done = end;
        i = end - 1;
    }
    if (r != NULL && append(&r, &len, &cap, s + done, n - done) != 0) {
        free(r);
        return -1;
    }
    *out = r;
    *out_len = len;
    return 0;
}

#else

int uni_available(void)
{
    xlstm_fail("tokenizer: built without utf8proc (install libutf8proc-dev and rebuild)");
    return 0;
}

enum uni_class uni_class_of(uint32_t cp)
{
    (void)cp;
    return UNI_OTHER;
}

int uni_nfc(const char *s, size_t n, char **out, size_t *out_len)
{
    (void)s, (void)n, (void)out, (void)out_len;
    return uni_available() ? 0 : -1;
}

#endif
