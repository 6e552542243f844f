/* bpe.h — the BPE model on token ids: a word's bytes start as the tokens of single bytes, and
 * the adjacent pair of lowest rank (the leftmost of equals) merges until no pair has a merge,
 * as Hugging Face `tokenizers` does with a priority queue. */
#ifndef XLSTM_TOKENIZER_BPE_H
#define XLSTM_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t byte_id[256];  /* the token of each byte alone (its byte-level character); -1: none */
    int32_t unk_id;        /* the token of a byte without one; -1: such bytes are dropped */
    int fuse_unk;          /* consecutive unknown bytes are one unknown token */
    /* the merges: an open-addressing table from the pair (a, b) to its rank and the token made */
    uint64_t *keys;        /* a << 32 | b; BPE_EMPTY where free */
    int32_t *rank, *merged;
    size_t mask;           /* slots - 1 (a power of two at least twice the merges) */
} bpe_model;

/* Scratch of bpe_encode, kept between words. */
typedef struct {
    int32_t *id, *prev, *next; /* the symbols of the word as a linked list */
    uint64_t *heap;            /* (2 cap) rank << 32 | position of the pair's left symbol */
    size_t cap;
} bpe_scratch;

int bpe_init(bpe_model *m, size_t n_merges);
void bpe_free(bpe_model *m);
/* Adds the merge of rank `rank`: a later merge of the same pair replaces an earlier one. */
void bpe_add_merge(bpe_model *m, int32_t a, int32_t b, int32_t merged, int32_t rank);
/* The rank of the merge of (a, b), or -1; *merged its token. */
int32_t bpe_find(const bpe_model *m, int32_t a, int32_t b, int32_t *merged);

/* The tokens of the word w[0, n) (n >= 1) into out (room for n); returns how many. */
int bpe_encode(const bpe_model *m, bpe_scratch *s, const unsigned char *w, size_t n, int32_t *out);
void bpe_scratch_free(bpe_scratch *s);

#endif
