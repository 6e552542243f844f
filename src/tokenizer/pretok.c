/* pretok.c — the GPT-2 split pattern (see pretok.h). */
#include "tokenizer/pretok.h"
#include "tokenizer/unicode.h"

/* The class of the code point at s[i]; *len its bytes. ASCII, most text, without a lookup. */
static inline enum uni_class class_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    unsigned c = s[i];
    if (c < 0x80) {
        *len = 1;
        if ((c | 0x20) - 'a' < 26) return UNI_LETTER;
        if (c - '0' < 10) return UNI_NUMBER;
        return c == ' ' || c - 9 < 5 ? UNI_SPACE : UNI_OTHER;
    }
    uint32_t cp;
    *len = utf8_next(s + i, n - i, &cp);
    return uni_class_of(cp);
}

/* The end of the run of class c that starts at s[i]. */
static size_t run(const unsigned char *s, size_t n, size_t i, enum uni_class c)
{
    size_t len;
    while (i < n && class_at(s, n, i, &len) == c) i += len;
    return i;
}

size_t pretok_next(const unsigned char *s, size_t n, size_t i)
{
    if (s[i] == '\'' && i + 1 < n) { /* the contractions, lower case only */
        unsigned a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    size_t len, next_len;
    enum uni_class c = class_at(s, n, i, &len);
    if (s[i] == ' ' && i + 1 < n) { /* " ?" joins a space to a following run that is not white space */
        enum uni_class next = class_at(s, n, i + 1, &next_len);
        if (next != UNI_SPACE) return run(s, n, i + 1 + next_len, next);
    }
    if (c != UNI_SPACE) return run(s, n, i + len, c);
    /* \s+(?!\S) backs off one code point so that the last white space before a non-space is
     * left to join it; a single one there is \s+ alone */
    size_t end = i + len, last = i;
    while (end < n && class_at(s, n, end, &next_len) == UNI_SPACE) {
        last = end;
        end += next_len;
    }
    return end == n || last == i ? end : last;
}
