/* cache.h — the tokens of words already encoded. Text repeats its words, and a lookup costs
 * less than the merges; the cache is emptied when it is full, so it never grows past its size. */
#ifndef XLSTM_TOKENIZER_CACHE_H
#define XLSTM_TOKENIZER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_MAX_WORD 64 /* longer words are not cached: they rarely repeat */

typedef struct {
    uint64_t hash;        /* 0: a free slot */
    uint32_t offset;      /* of the word's bytes in the arena, its tokens after them */
    uint8_t len, n_ids;
} cache_slot;

typedef struct {
    cache_slot *slots;
    size_t mask, count;
    unsigned char *arena;
    size_t used, size;
} word_cache;

int cache_init(word_cache *c);
void cache_free(word_cache *c);
/* The tokens of w[0, n) (n <= CACHE_MAX_WORD) into out, and how many; -1 if not cached. */
int cache_get(const word_cache *c, const unsigned char *w, size_t n, int32_t *out);
/* Records the tokens of w[0, n). */
void cache_put(word_cache *c, const unsigned char *w, size_t n, const int32_t *ids, int n_ids);

#endif
