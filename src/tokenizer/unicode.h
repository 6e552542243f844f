/* unicode.h — the Unicode facts the tokenizer needs: UTF-8 decoding and repair, the classes of
 * the GPT-2 split pattern, and NFC. The data come from utf8proc; a build without it has the
 * UTF-8 functions but no classes or NFC (uni_available says so and sets the message). */
#ifndef XLSTM_TOKENIZER_UNICODE_H
#define XLSTM_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* The classes of the split pattern: \p{L}, \p{N}, \s (Unicode's White_Space property), and
 * everything else. */
enum uni_class { UNI_OTHER, UNI_LETTER, UNI_NUMBER, UNI_SPACE };

/* 1 if this build has the Unicode data; else 0 with the message "built without utf8proc". */
int uni_available(void);

/* The class of code point cp (needs uni_available). */
enum uni_class uni_class_of(uint32_t cp);

/* The code point at s[0, n) (n >= 1, valid UTF-8) into *cp; returns its length in bytes. */
static inline size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80 || n < 2) { *cp = c; return 1; }
    if (c < 0xe0) { *cp = (c & 0x1fu) << 6 | (s[1] & 0x3fu); return 2; }
    if (c < 0xf0 || n < 4) { *cp = (c & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu); return 3; }
    *cp = (c & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
    return 4;
}

/* Writes cp (<= U+10FFFF) as UTF-8 into out (room for 4); returns the length. */
size_t utf8_encode(uint32_t cp, unsigned char *out);

/* Bytes s[0, n) as valid UTF-8: each maximal ill-formed subsequence (Unicode's "maximal subpart"
 * practice, as Rust's from_utf8_lossy and the WHATWG decoder) becomes U+FFFD. *out is NULL when
 * s is valid already; else a malloc'd copy (the caller frees) of *out_len bytes. */
int utf8_repair(const char *s, size_t n, char **out, size_t *out_len);

/* The NFC form of valid UTF-8 s[0, n): *out NULL when s is its own NFC; else malloc'd. */
int uni_nfc(const char *s, size_t n, char **out, size_t *out_len);

#endif
