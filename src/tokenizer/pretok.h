/* pretok.h — the GPT-2 split pattern, matched by hand over code points:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with Unicode categories for \p{L} and \p{N} and the White_Space property for \s, the first
 * alternative that matches winning (as in a backtracking regex engine). Every code point is a
 * letter, a number, white space or none of them, so the matches tile the text. */
#ifndef XLSTM_TOKENIZER_PRETOK_H
#define XLSTM_TOKENIZER_PRETOK_H

#include <stddef.h>

/* The end of the match that starts at s[i] (i < n, s valid UTF-8); always > i. */
size_t pretok_next(const unsigned char *s, size_t n, size_t i);

#endif
