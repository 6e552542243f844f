/* build.c — a tokenizer's tables, filled by a loader or the trainer, and its release. */
#include <string.h>

#include "common.h"
#include "tokenizer/hash.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

/* GPT-2's bytes_to_unicode: the printable bytes of Latin-1 stand for themselves, the others
 * (controls, space, NBSP, soft hyphen) for 256, 257, ... in byte order. */
static int byte_is_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

uint32_t byte_char(unsigned b)
{
    if (byte_is_printable(b)) return b;
    uint32_t below = 0;
    for (unsigned x = 0; x < b; x++) below += !byte_is_printable(x);
    return 256 + below;
}

int tok_create(xlstm_tokenizer **out, int32_t size, size_t n_merges)
{
    *out = NULL;
    if (!uni_available()) return -1;
    xlstm_tokenizer *t = xlstm_alloc(1, sizeof *t, "tokenizer");
    if (t == NULL) return -1;
    t->size = size;
    t->use_regex = 1;
    size_t n = size > 0 ? (size_t)size : 1;
    t->token_off = xlstm_alloc(n, sizeof *t->token_off, "tokenizer vocabulary");
    t->bytes_off = xlstm_alloc(n, sizeof *t->bytes_off, "tokenizer vocabulary");
    t->token_len = xlstm_alloc(n, sizeof *t->token_len, "tokenizer vocabulary");
    t->bytes_len = xlstm_alloc(n, sizeof *t->bytes_len, "tokenizer vocabulary");
    t->added_of = xlstm_alloc(n, sizeof *t->added_of, "tokenizer vocabulary");
    t->merges = xlstm_alloc(n_merges ? n_merges : 1, sizeof *t->merges, "tokenizer merges");
    if (t->token_off == NULL || t->bytes_off == NULL || t->token_len == NULL || t->bytes_len == NULL ||
        t->added_of == NULL || t->merges == NULL || bpe_init(&t->bpe, n_merges) != 0) {
        xlstm_tokenizer_free(t);
        return -1;
    }
    for (size_t i = 0; i < n; i++) t->token_len[i] = t->bytes_len[i] = t->added_of[i] = -1;
    *out = t;
    return 0;
}

int tok_grow(void **buf, size_t *cap, size_t used, size_t need, size_t elem, const char *what)
{
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) cap2 *= 2;
    void *bigger = xlstm_alloc(cap2, elem, what);
    if (bigger == NULL) return -1;
    if (used) memcpy(bigger, *buf, used * elem);
    xlstm_free(*buf);
    *buf = bigger;
    *cap = cap2;
    return 0;
}

/* Copies s[0, len) into the string arena; *off its offset. */
static int store(xlstm_tokenizer *t, const char *s, size_t len, size_t *off)
{
    if (tok_grow((void **)&t->strings, &t->strings_cap, t->strings_used, t->strings_used + len + 1, 1,
             "tokenizer vocabulary") != 0)
        return -1;
    *off = t->strings_used;
    memcpy(t->strings + t->strings_used, s, len);
    t->strings[t->strings_used + len] = '\0';
    t->strings_used += len + 1;
    return 0;
}

int tok_set_token(xlstm_tokenizer *t, int32_t id, const char *s, size_t len, const char *where)
{
    if (t->token_len[id] >= 0)
        return xlstm_fail("%s: id %d is given to two tokens ('%.64s' and '%.64s')", where, (int)id,
                          t->strings + t->token_off[id], s);
    if (len > INT32_MAX) return xlstm_fail("%s: token of id %d is too long", where, (int)id);
    t->token_len[id] = (int32_t)len;
    return store(t, s, len, &t->token_off[id]);
}

int tok_index(xlstm_tokenizer *t)
{
    size_t slots = 16;
    while (slots < 2 * (size_t)t->size) slots *= 2;
    if ((t->index = xlstm_alloc(slots, sizeof *t->index, "tokenizer vocabulary")) == NULL) return -1;
    t->index_mask = slots - 1;
    for (int32_t id = 0; id < t->size; id++) {
        if (t->token_len[id] < 0) continue;
        size_t off = t->token_off[id];
        uint64_t h = hash_bytes((const unsigned char *)t->strings + off, (size_t)t->token_len[id]);
        size_t i = (size_t)h & t->index_mask;
        while (t->index[i].hash != 0) i = (i + 1) & t->index_mask;
        t->index[i] = (struct token_slot){h, off, id, t->token_len[id]};
    }
    return 0;
}

int32_t tok_find(const xlstm_tokenizer *t, const char *s, size_t n)
{
    uint64_t h = hash_bytes((const unsigned char *)s, n);
    for (size_t i = (size_t)h & t->index_mask; t->index[i].hash != 0; i = (i + 1) & t->index_mask) {
        const struct token_slot *e = &t->index[i];
        if (e->hash == h && (size_t)e->len == n && memcmp(t->strings + e->off, s, n) == 0) return e->id;
    }
    return -1;
}

static void drop_index(xlstm_tokenizer *t)
{
    xlstm_free(t->index);
    t->index = NULL;
}

void tok_add_merge(xlstm_tokenizer *t, int32_t a, int32_t b, int32_t merged)
{
    bpe_add_merge(&t->bpe, a, b, merged, (int32_t)t->n_merges);
    t->merges[t->n_merges][0] = a;
    t->merges[t->n_merges][1] = b;
    t->n_merges++;
}

int tok_add_added(xlstm_tokenizer *t, int32_t id, const char *s, size_t len, int special, int normalized,
                  const char *where)
{
    if (len == 0) return xlstm_fail("%s: added token of id %d is empty", where, (int)id);
    if (t->added_of[id] >= 0) return xlstm_fail("%s: two added tokens have id %d", where, (int)id);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].len == len && memcmp(t->added[i].content, s, len) == 0)
            return xlstm_fail("%s: added token '%.64s' appears twice", where, s);
    if (tok_grow((void **)&t->added, &t->added_cap, t->n_added, t->n_added + 1, sizeof *t->added,
             "tokenizer added tokens") != 0)
        return -1;
    added_token *a = &t->added[t->n_added];
    if ((a->content = xlstm_alloc(len + 1, 1, "tokenizer added tokens")) == NULL) return -1;
    memcpy(a->content, s, len);
    a->len = len;
    a->id = id;
    a->special = special;
    a->normalized = normalized;
    t->added_of[id] = (int32_t)t->n_added++;
    return 0;
}

/* The byte-level decoding of a token: each character back to its byte; a token with any other
 * character decodes to its own UTF-8 (as the ByteLevel decoder does). Byte b's token, a single
 * byte-level character, goes into byte_id. char_byte: code point -> byte, -1 for none. */
static int decode_token(xlstm_tokenizer *t, int32_t id, const int16_t *char_byte)
{
    const unsigned char *s = (const unsigned char *)t->strings + t->token_off[id];
    size_t len = (size_t)t->token_len[id], n = 0;
    unsigned char small[256], *bytes = len <= sizeof small ? small : xlstm_alloc(len, 1, "tokenizer");
    if (bytes == NULL) return -1;
    int mapped = 1;
    for (size_t i = 0; i < len && mapped;) {
        uint32_t cp;
        i += utf8_next(s + i, len - i, &cp);
        mapped = cp < 512 && char_byte[cp] >= 0;
        if (mapped) bytes[n++] = (unsigned char)char_byte[cp];
    }
    if (mapped && n == 1 && t->bpe.byte_id[bytes[0]] < 0) t->bpe.byte_id[bytes[0]] = id;
    /* unmapped, it decodes to its own string: no copy (store may move the arena under s) */
    int rc = mapped ? store(t, (const char *)bytes, n, &t->bytes_off[id]) : 0;
    if (!mapped) t->bytes_off[id] = t->token_off[id];
    t->bytes_len[id] = mapped ? (int32_t)n : (int32_t)len;
    if (bytes != small) xlstm_free(bytes);
    return rc;
}

int tok_finish(xlstm_tokenizer *t, const char *unk, int fuse_unk, const char *where)
{
    drop_index(t);
    int16_t char_byte[512];
    for (int c = 0; c < 512; c++) char_byte[c] = -1;
    for (unsigned b = 0; b < 256; b++) char_byte[byte_char(b)] = (int16_t)b;
    for (int b = 0; b < 256; b++) t->bpe.byte_id[b] = -1;
    t->bpe.unk_id = -1;
    t->bpe.fuse_unk = fuse_unk;
    for (int32_t id = 0; id < t->size; id++) {
        if (t->token_len[id] < 0) continue;
        if (decode_token(t, id, char_byte) != 0) return -1;
        if (unk != NULL && t->bpe.unk_id < 0 && strcmp(t->strings + t->token_off[id], unk) == 0) t->bpe.unk_id = id;
    }
    if (unk != NULL) {
        if (t->bpe.unk_id < 0) return xlstm_fail("%s: unk_token '%.64s' is not in the vocabulary", where, unk);
        if ((t->unk_token = xlstm_alloc(strlen(unk) + 1, 1, "tokenizer")) == NULL) return -1;
        memcpy(t->unk_token, unk, strlen(unk));
    }
    if (added_set_build(&t->raw, t->added, t->n_added, 0) != 0 ||
        added_set_build(&t->normalized, t->added, t->n_added, 1) != 0)
        return -1;
    return 0;
}

void xlstm_tokenizer_free(xlstm_tokenizer *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->n_added; i++) xlstm_free(t->added[i].content);
    xlstm_free(t->added);
    xlstm_free(t->token_off);
    xlstm_free(t->bytes_off);
    xlstm_free(t->token_len);
    xlstm_free(t->bytes_len);
    xlstm_free(t->added_of);
    xlstm_free(t->strings);
    xlstm_free(t->unk_token);
    xlstm_free(t->merges);
    drop_index(t);
    added_set_free(&t->raw);
    added_set_free(&t->normalized);
    bpe_free(&t->bpe);
    cache_free(&t->cache);
    bpe_scratch_free(&t->scratch);
    xlstm_free(t);
}

int xlstm_tokenizer_vocab_size(const xlstm_tokenizer *t) { return t->size; }
