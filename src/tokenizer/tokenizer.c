/* tokenizer.c — encoding and decoding, in the order of Hugging Face `tokenizers`: the added
 * tokens matched in the text as given, then in each remaining piece normalized, the normalized
 * added tokens, then the split pattern and the merges of each word. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/pretok.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

typedef struct {
    int32_t *ids;
    size_t n, cap;
} id_vec;

/* realloc, not tok_grow: the ids of a long text grow past the sizes that xlstm_alloc zeroes in
 * huge pages, which took a tenth of encoding */
static int reserve(id_vec *v, size_t more)
{
    if (v->n + more <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < v->n + more) cap *= 2;
    int32_t *bigger = realloc(v->ids, cap * sizeof *bigger);
    if (bigger == NULL) return xlstm_fail("tokenizer: out of memory for %zu ids", cap);
    v->ids = bigger;
    v->cap = cap;
    return 0;
}

/* The tokens of one word of the split pattern. */
static int encode_word(xlstm_tokenizer *t, const unsigned char *w, size_t n, id_vec *out)
{
    if (reserve(out, n) != 0) return -1; /* a word has at most one token a byte */
    int32_t *dst = out->ids + out->n;
    int k = n <= CACHE_MAX_WORD ? cache_get(&t->cache, w, n, dst) : -1;
    if (k < 0) {
        if ((k = bpe_encode(&t->bpe, &t->scratch, w, n, dst)) < 0) return -1;
        if (n <= CACHE_MAX_WORD) cache_put(&t->cache, w, n, dst, k);
    }
    out->n += (size_t)k;
    return 0;
}

static int encode_words(xlstm_tokenizer *t, const unsigned char *s, size_t n, id_vec *out)
{
    if (!t->use_regex) return encode_word(t, s, n, out);
    for (size_t i = 0, end; i < n; i = end) {
        end = pretok_next(s, n, i);
        if (encode_word(t, s + i, end - i, out) != 0) return -1;
    }
    return 0;
}

/* A piece free of added tokens: the ByteLevel pre-tokenizer (with its prefix space) and BPE. */
static int encode_piece(xlstm_tokenizer *t, const char *s, size_t n, id_vec *out)
{
    if (n == 0) return 0;
    if (!t->add_prefix_space || s[0] == ' ') return encode_words(t, (const unsigned char *)s, n, out);
    unsigned char *spaced = malloc(n + 1);
    if (spaced == NULL) return xlstm_fail("tokenizer: out of memory");
    spaced[0] = ' ';
    memcpy(spaced + 1, s, n);
    int rc = encode_words(t, spaced, n + 1, out);
    free(spaced);
    return rc;
}

typedef int (*piece_fn)(xlstm_tokenizer *t, const char *s, size_t n, id_vec *out);

/* The added tokens of `set` in s[0, n), and `rest` on the pieces between them. */
static int split_added(xlstm_tokenizer *t, const added_set *set, const char *s, size_t n, id_vec *out, piece_fn rest)
{
    size_t from = 0, at;
    const added_token *a;
    while ((a = added_find(set, s, n, from, &at)) != NULL) {
        if (rest(t, s + from, at - from, out) != 0 || reserve(out, 1) != 0) return -1;
        out->ids[out->n++] = a->id;
        from = at + a->len;
    }
    return rest(t, s + from, n - from, out);
}

/* A piece between tokens that are not normalized: normalized, then split at those that are. */
static int encode_normalized(xlstm_tokenizer *t, const char *s, size_t n, id_vec *out)
{
    char *nfc = NULL;
    size_t n_nfc;
    if (n == 0) return 0;
    if (t->nfc && uni_nfc(s, n, &nfc, &n_nfc) != 0) return -1;
    int rc = nfc ? split_added(t, &t->normalized, nfc, n_nfc, out, encode_piece)
                 : split_added(t, &t->normalized, s, n, out, encode_piece);
    free(nfc);
    return rc;
}

int xlstm_tokenizer_encode(xlstm_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    char *valid = NULL;
    size_t n_valid;
    if (utf8_repair(text, len, &valid, &n_valid) != 0) return -1;
    id_vec out = {0};
    /* the cache is made by the first encoding: a tokenizer only loaded to decode needs none */
    int rc = t->cache.slots == NULL ? cache_init(&t->cache) : 0;
    if (rc == 0) rc = reserve(&out, len / 4 + 16);
    if (rc == 0)
        rc = valid ? split_added(t, &t->raw, valid, n_valid, &out, encode_normalized)
                   : split_added(t, &t->raw, text, len, &out, encode_normalized);
    free(valid);
    if (rc != 0) {
        free(out.ids);
        return -1;
    }
    *ids = out.ids;
    *n = out.n;
    return 0;
}

/* ---------------------------------------------------------------- decoding */

typedef struct {
    char *s;
    size_t n, cap;
} byte_vec;

static int append(byte_vec *v, const char *s, size_t n)
{
    if (tok_grow((void **)&v->s, &v->cap, v->n, v->n + n + 1, 1, "tokenizer text") != 0) return -1;
    if (n) memcpy(v->s + v->n, s, n);
    v->n += n;
    return 0;
}

/* The bytes of a run of model tokens as text: ill-formed UTF-8 becomes U+FFFD. */
static int flush(byte_vec *run, byte_vec *out)
{
    char *fixed = NULL;
    size_t n_fixed;
    if (utf8_repair(run->s, run->n, &fixed, &n_fixed) != 0) return -1;
    int rc = fixed ? append(out, fixed, n_fixed) : append(out, run->s, run->n);
    free(fixed);
    run->n = 0;
    return rc;
}

/* Like `tokenizers`: each run of model tokens goes through the ByteLevel decoder on its own and
 * an added token is its text, so a character split by an added token is two U+FFFD; a skipped
 * special token does not end the run. */
int xlstm_tokenizer_decode(const xlstm_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                           size_t *len)
{
    *text = NULL;
    if (len) *len = 0;
    byte_vec run = {0}, out = {0};
    int rc = append(&out, "", 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->size) {
            rc = xlstm_fail("tokenizer: id %ld (token %zu) is out of range [0, %d)", (long)id, i, (int)t->size);
        } else if (t->added_of[id] >= 0) {
            const added_token *a = &t->added[t->added_of[id]];
            if (!(skip_special && a->special)) rc = flush(&run, &out) != 0 ? -1 : append(&out, a->content, a->len);
        } else if (t->bytes_len[id] < 0) {
            rc = xlstm_fail("tokenizer: id %ld (token %zu) has no token", (long)id, i);
        } else {
            rc = append(&run, t->strings + t->bytes_off[id], (size_t)t->bytes_len[id]);
        }
    }
    if (rc == 0) rc = flush(&run, &out);
    xlstm_free(run.s);
    if (rc != 0) {
        xlstm_free(out.s);
        return -1;
    }
    out.s[out.n] = '\0';
    *text = out.s;
    if (len) *len = out.n;
    return 0;
}

const char *xlstm_tokenizer_token(const xlstm_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->size) return NULL;
    if (t->added_of[id] >= 0) return t->added[t->added_of[id]].content;
    return t->token_len[id] < 0 ? NULL : t->strings + t->token_off[id];
}

int xlstm_tokenizer_is_special(const xlstm_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->size && t->added_of[id] >= 0 && t->added[t->added_of[id]].special;
}
