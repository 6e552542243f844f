/* tokenizer.h — the byte-level BPE tokenizer inside: its tables, and the calls with which the
 * loaders and the trainer build one (create, set the tokens, add merges and added tokens,
 * finish). */
#ifndef XLSTM_TOKENIZER_TOKENIZER_H
#define XLSTM_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/added.h"
#include "tokenizer/bpe.h"
#include "tokenizer/cache.h"

#define TOKENIZER_MAX_IDS (1 << 24) /* ids are below this: tables are indexed by id */

/* A slot of the index of tokens: all a lookup reads but the string itself (hash 0: free). */
struct token_slot {
    uint64_t hash;
    size_t off;
    int32_t id, len;
};

struct xlstm_tokenizer {
    int32_t size;             /* ids are in [0, size); some may have no token */
    /* the model's tokens as the file writes them (byte-level characters), and the bytes each
     * decodes to: offsets into `strings`, len -1 for an id without a token */
    size_t *token_off, *bytes_off;
    int32_t *token_len, *bytes_len;
    char *strings;
    size_t strings_used, strings_cap;
    added_token *added;       /* the added tokens, in the file's order */
    size_t n_added, added_cap;
    int32_t *added_of;        /* id -> index into added, or -1 */
    added_set raw, normalized;
    /* the pipeline's settings */
    int nfc;                  /* the normalizer: NFC, or none */
    int add_prefix_space;     /* the ByteLevel pre-tokenizer's: a space before each piece */
    int use_regex;            /* the ByteLevel pre-tokenizer splits with the GPT-2 pattern */
    char *unk_token;          /* the BPE model's unknown token (NULL: none), for saving */
    size_t n_merges;
    int32_t (*merges)[2];     /* in rank order, for saving */
    bpe_model bpe;
    struct token_slot *index; /* while loading: the model tokens by their string (tok_find) */
    size_t index_mask;
    /* encoding's working memory (so encode is not reentrant on one tokenizer) */
    word_cache cache;
    bpe_scratch scratch;
};

/* The 256 byte-level characters of GPT-2: byte b is written as the code point byte_char(b). */
uint32_t byte_char(unsigned b);

/* Grows a buffer of `elem`-byte elements to hold `need` of them (the first `used` kept). */
int tok_grow(void **buf, size_t *cap, size_t used, size_t need, size_t elem, const char *what);

/* An empty tokenizer for ids [0, size) with room for n_merges merges; the pipeline's defaults
 * (no normalizer, no prefix space, the pattern). */
int tok_create(xlstm_tokenizer **out, int32_t size, size_t n_merges);
/* Sets the model token of id (copied; refused if the id has one). `where` names the file. */
int tok_set_token(xlstm_tokenizer *t, int32_t id, const char *s, size_t len, const char *where);
/* Indexes the model tokens set so far by their string, for tok_find (until tok_finish). */
int tok_index(xlstm_tokenizer *t);
/* The id of the model token s[0, n), or -1. */
int32_t tok_find(const xlstm_tokenizer *t, const char *s, size_t n);
/* Appends the merge (a, b) -> merged, of the next rank. */
void tok_add_merge(xlstm_tokenizer *t, int32_t a, int32_t b, int32_t merged);
/* Adds an added token (content copied). */
int tok_add_added(xlstm_tokenizer *t, int32_t id, const char *s, size_t len, int special, int normalized,
                  const char *where);
/* Derives the byte tables, the decoded bytes and the added-token search; unk: the unknown
 * token's string or NULL. */
int tok_finish(xlstm_tokenizer *t, const char *unk, int fuse_unk, const char *where);

#endif
