/* hash.h — a 64-bit hash of short byte strings (words, tokens) for the open-addressing tables. */
#ifndef XLSTM_TOKENIZER_HASH_H
#define XLSTM_TOKENIZER_HASH_H

#include <stdint.h>
#include <string.h>

/* Never 0, which marks a free slot. */
static inline uint64_t hash_bytes(const unsigned char *w, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, w + i, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, w + i, n - i);
    /* MurmurHash3's finalizer: every input bit reaches the low bits that index the tables */
    h ^= tail;
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h | 1;
}

#endif
