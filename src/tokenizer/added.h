/* added.h — added tokens (special or not), found in the text before anything else. Like the
 * Aho-Corasick search of Hugging Face `tokenizers` (leftmost-longest), the leftmost match wins
 * and, of those that start there, the longest; the search goes on after it. */
#ifndef XLSTM_TOKENIZER_ADDED_H
#define XLSTM_TOKENIZER_ADDED_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    int special;    /* decoding can skip it */
    int normalized; /* matched in the normalized text (else in the text as given) */
} added_token;

/* The tokens of one kind (normalized or not), grouped by their first byte, longest first. */
typedef struct {
    const added_token **tok;
    size_t n;
    uint32_t start[257]; /* tok[start[b], start[b + 1]) begin with byte b */
    int first;           /* the first byte of every token when they share it (memchr finds it), else -1 */
} added_set;

int added_set_build(added_set *set, const added_token *all, size_t n, int normalized);
void added_set_free(added_set *set);
/* The first match in s[from, n): its token (NULL: none) and *at its start. */
const added_token *added_find(const added_set *set, const char *s, size_t n, size_t from, size_t *at);

#endif
