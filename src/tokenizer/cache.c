/* cache.c — an open-addressing table of words in one arena. */
#include <string.h>

#include "common.h"
#include "tokenizer/cache.h"
#include "tokenizer/hash.h"

#define CACHE_SLOTS (1u << 16)
#define CACHE_ARENA ((size_t)CACHE_SLOTS / 2 * (CACHE_MAX_WORD / 4 + 16)) /* room for average words */

int cache_init(word_cache *c)
{
    memset(c, 0, sizeof *c);
    c->slots = xlstm_alloc(CACHE_SLOTS, sizeof *c->slots, "tokenizer cache");
    c->arena = xlstm_alloc(CACHE_ARENA, 1, "tokenizer cache");
    if (c->slots == NULL || c->arena == NULL) {
        cache_free(c);
        return -1;
    }
    c->mask = CACHE_SLOTS - 1;
    c->size = CACHE_ARENA;
    return 0;
}

void cache_free(word_cache *c)
{
    xlstm_free(c->slots);
    xlstm_free(c->arena);
    memset(c, 0, sizeof *c);
}

/* A loop, not memcmp: words are short, and the calls were a fifth of encoding. */
static inline int same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

int cache_get(const word_cache *c, const unsigned char *w, size_t n, int32_t *out)
{
    uint64_t h = hash_bytes(w, n);
    for (size_t i = (size_t)h & c->mask; c->slots[i].hash != 0; i = (i + 1) & c->mask) {
        const cache_slot *s = &c->slots[i];
        if (s->hash == h && s->len == n && same_bytes(c->arena + s->offset, w, n)) {
            memcpy(out, c->arena + s->offset + n, s->n_ids * sizeof *out);
            return s->n_ids;
        }
    }
    return -1;
}

void cache_put(word_cache *c, const unsigned char *w, size_t n, const int32_t *ids, int n_ids)
{
    size_t bytes = n + (size_t)n_ids * sizeof *ids;
    if (c->count >= CACHE_SLOTS / 2 || c->used + bytes > c->size) { /* full: start again */
        memset(c->slots, 0, CACHE_SLOTS * sizeof *c->slots);
        c->count = c->used = 0;
    }
    uint64_t h = hash_bytes(w, n);
    size_t i = (size_t)h & c->mask;
    while (c->slots[i].hash != 0) i = (i + 1) & c->mask;
    c->slots[i] = (cache_slot){h, (uint32_t)c->used, (uint8_t)n, (uint8_t)n_ids};
    memcpy(c->arena + c->used, w, n);
    memcpy(c->arena + c->used + n, ids, (size_t)n_ids * sizeof *ids);
    c->used += bytes;
    c->count++;
}
