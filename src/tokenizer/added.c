/* added.c — the leftmost-longest search of added tokens. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/added.h"

static int by_first_byte_then_longest(const void *x, const void *y)
{
    const added_token *a = *(const added_token *const *)x, *b = *(const added_token *const *)y;
    unsigned ca = (unsigned char)a->content[0], cb = (unsigned char)b->content[0];
    if (ca != cb) return ca < cb ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int added_set_build(added_set *set, const added_token *all, size_t n, int normalized)
{
    memset(set, 0, sizeof *set);
    set->tok = xlstm_alloc(n ? n : 1, sizeof *set->tok, "tokenizer added tokens");
    if (set->tok == NULL) return -1;
    for (size_t i = 0; i < n; i++)
        if (all[i].normalized == normalized) set->tok[set->n++] = &all[i];
    qsort(set->tok, set->n, sizeof *set->tok, by_first_byte_then_longest);
    for (size_t i = 0, b = 0; b <= 256; b++) {
        while (i < set->n && (unsigned char)set->tok[i]->content[0] < b) i++;
        set->start[b] = (uint32_t)i;
    }
    set->first = set->n > 0 && set->tok[0]->content[0] == set->tok[set->n - 1]->content[0]
                     ? (unsigned char)set->tok[0]->content[0]
                     : -1;
    return 0;
}

void added_set_free(added_set *set)
{
    xlstm_free(set->tok);
    memset(set, 0, sizeof *set);
}

const added_token *added_find(const added_set *set, const char *s, size_t n, size_t from, size_t *at)
{
    if (set->n == 0) return NULL;
    for (size_t i = from; i < n; i++) {
        if (set->first >= 0) { /* NeoX's runs of spaces, GPT-2's <|endoftext|>: skip to the byte */
            const char *next = memchr(s + i, set->first, n - i);
            if (next == NULL) return NULL;
            i = (size_t)(next - s);
        }
        unsigned b = (unsigned char)s[i];
        for (uint32_t k = set->start[b]; k < set->start[b + 1]; k++) {
            const added_token *t = set->tok[k];
            /* the second byte first: most candidates fail there, without a call */
            if (t->len <= n - i && (t->len == 1 || s[i + 1] == t->content[1]) && memcmp(s + i, t->content, t->len) == 0) {
                *at = i;
                return t;
            }
        }
    }
    return NULL;
}
