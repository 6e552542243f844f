/* train.c — learning a byte-level BPE from text (xlstm_tokenizer_train).
 *
 * The text (ill-formed UTF-8 repaired as for encoding) is cut by the GPT-2 pattern into words,
 * and equal words are counted once with their count. Every word starts as its bytes (ids 0-255).
 * Each step merges the adjacent pair that occurs most often in the text into a new token; of
 * pairs that occur equally often, the one of smallest left id, then smallest right id. The
 * counts live in a table of pairs, each with the words that hold it, and a max-heap whose
 * entries may be stale (the popped entry is checked against the table and pushed back with
 * the current count): a merge touches only the words that hold the pair. Training stops at
 * vocab_size - 1 tokens, or when no pair occurs twice; "<|endoftext|>" takes the next id. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/hash.h"
#include "tokenizer/pretok.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

static const char endoftext[] = "<|endoftext|>";

/* ---------------------------------------------------------------- distinct byte strings */

/* Byte strings (words, then tokens) numbered in order of first appearance. */
typedef struct {
    unsigned char *bytes;     /* all strings, back to back */
    size_t used, cap;
    size_t *off;              /* string i is bytes[off[i], off[i + 1]) */
    size_t n, n_cap;
    uint64_t *slot_hash;      /* the table: hash (0 free) and string number */
    int32_t *slot_id;
    size_t mask;
} string_set;

static int set_rehash(string_set *s, size_t slots)
{
    uint64_t *hash = xlstm_alloc(slots, sizeof *hash, "tokenizer training");
    int32_t *id = xlstm_alloc(slots, sizeof *id, "tokenizer training");
    if (hash == NULL || id == NULL) {
        xlstm_free(hash);
        xlstm_free(id);
        return -1;
    }
    for (size_t i = 0; s->slot_hash && i <= s->mask; i++) {
        if (s->slot_hash[i] == 0) continue;
        size_t j = (size_t)s->slot_hash[i] & (slots - 1);
        while (hash[j] != 0) j = (j + 1) & (slots - 1);
        hash[j] = s->slot_hash[i];
        id[j] = s->slot_id[i];
    }
    xlstm_free(s->slot_hash);
    xlstm_free(s->slot_id);
    s->slot_hash = hash;
    s->slot_id = id;
    s->mask = slots - 1;
    return 0;
}

/* The number of string w[0, n), added if new (*added = 1); -1 on failure. */
static int32_t set_add(string_set *s, const unsigned char *w, size_t n, int *added)
{
    *added = 0;
    if ((s->n + 1) * 2 > s->mask + 1 && set_rehash(s, 2 * (s->mask + 1)) != 0) return -1;
    uint64_t h = hash_bytes(w, n);
    size_t i = (size_t)h & s->mask;
    for (; s->slot_hash[i] != 0; i = (i + 1) & s->mask) {
        int32_t id = s->slot_id[i];
        if (s->slot_hash[i] == h && s->off[id + 1] - s->off[id] == n && memcmp(s->bytes + s->off[id], w, n) == 0)
            return id;
    }
    if (s->n >= INT32_MAX - 1 ||
        tok_grow((void **)&s->bytes, &s->cap, s->used, s->used + n, 1, "tokenizer training") != 0 ||
        tok_grow((void **)&s->off, &s->n_cap, s->n + 1, s->n + 2, sizeof *s->off, "tokenizer training") != 0)
        return -1;
    memcpy(s->bytes + s->used, w, n);
    s->used += n;
    s->slot_hash[i] = h;
    s->slot_id[i] = (int32_t)s->n;
    s->off[++s->n] = s->used;
    *added = 1;
    return (int32_t)(s->n - 1);
}

static int set_init(string_set *s)
{
    memset(s, 0, sizeof *s);
    s->mask = 1023;
    return set_rehash(s, 1024) != 0 ||
                   tok_grow((void **)&s->off, &s->n_cap, 0, 1, sizeof *s->off, "tokenizer training") != 0
               ? -1
               : 0;
}

static void set_free(string_set *s)
{
    xlstm_free(s->bytes);
    xlstm_free(s->off);
    xlstm_free(s->slot_hash);
    xlstm_free(s->slot_id);
}

/* ---------------------------------------------------------------- pairs */

typedef struct {
    uint64_t key;             /* a << 32 | b; UINT64_MAX where free */
    int64_t count;            /* occurrences in the text */
    int32_t *words;           /* words that held it when it was counted (may repeat, may be stale) */
    size_t n_words, cap_words;
    int32_t touched;          /* the last merge that added occurrences (+ 1) */
} pair_entry;

typedef struct {
    pair_entry *e;
    size_t mask, n;
    int32_t merge;            /* the merge under way (+ 1; 0 while counting) */
    uint64_t *touched;        /* the pairs it added occurrences to */
    size_t n_touched, cap_touched;
} pair_table;

static inline size_t pair_hash(uint64_t key) { return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 29); }

static pair_entry *pair_get(pair_table *p, uint64_t key)
{
    size_t i = pair_hash(key) & p->mask;
    while (p->e[i].key != key && p->e[i].key != UINT64_MAX) i = (i + 1) & p->mask;
    return &p->e[i];
}

static int pairs_resize(pair_table *p, size_t slots)
{
    pair_entry *e = xlstm_alloc(slots, sizeof *e, "tokenizer training"), *old = p->e;
    if (e == NULL) return -1;
    for (size_t i = 0; i < slots; i++) e[i].key = UINT64_MAX;
    size_t old_slots = old ? p->mask + 1 : 0;
    p->e = e;
    p->mask = slots - 1;
    for (size_t i = 0; i < old_slots; i++)
        if (old[i].key != UINT64_MAX) *pair_get(p, old[i].key) = old[i];
    xlstm_free(old);
    return 0;
}

/* The entry of key, created (count 0) if new. */
static pair_entry *pair_at(pair_table *p, uint64_t key)
{
    if ((p->n + 1) * 2 > p->mask + 1 && pairs_resize(p, 2 * (p->mask + 1)) != 0) return NULL;
    pair_entry *e = pair_get(p, key);
    if (e->key == UINT64_MAX) {
        e->key = key;
        p->n++;
    }
    return e;
}

/* Adds delta occurrences of (a, b) in word w (noting w, and the pair for the merge under way,
 * when it gains some). */
static int pair_change(pair_table *p, int32_t a, int32_t b, int64_t delta, int32_t w)
{
    pair_entry *e = pair_at(p, (uint64_t)(uint32_t)a << 32 | (uint32_t)b);
    if (e == NULL) return -1;
    e->count += delta;
    if (delta <= 0) return 0;
    if (p->merge > 0 && e->touched != p->merge) {
        if (tok_grow((void **)&p->touched, &p->cap_touched, p->n_touched, p->n_touched + 1, sizeof *p->touched,
                     "tokenizer training") != 0)
            return -1;
        p->touched[p->n_touched++] = e->key;
        e->touched = p->merge;
    }
    if (tok_grow((void **)&e->words, &e->cap_words, e->n_words, e->n_words + 1, sizeof *e->words,
                 "tokenizer training") != 0)
        return -1;
    e->words[e->n_words++] = w;
    return 0;
}

/* ---------------------------------------------------------------- the heap of candidates */

typedef struct {
    int64_t count;
    uint64_t key;
} candidate;

/* a before b: more occurrences, then the smaller pair (left id, then right id) */
static inline int before(candidate a, candidate b) { return a.count != b.count ? a.count > b.count : a.key < b.key; }

typedef struct {
    candidate *c;
    size_t n, cap;
} heap;

static int heap_push(heap *h, candidate v)
{
    if (tok_grow((void **)&h->c, &h->cap, h->n, h->n + 1, sizeof *h->c, "tokenizer training") != 0) return -1;
    size_t i = h->n++;
    while (i > 0 && before(v, h->c[(i - 1) / 2])) {
        h->c[i] = h->c[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->c[i] = v;
    return 0;
}

static candidate heap_pop(heap *h)
{
    candidate top = h->c[0], last = h->c[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(h->c[c + 1], h->c[c])) c++;
        if (!before(h->c[c], last)) break;
        h->c[i] = h->c[c];
        i = c;
    }
    h->c[i] = last;
    return top;
}

/* ---------------------------------------------------------------- training */

typedef struct {
    string_set words, tokens;  /* distinct words; tokens by their bytes */
    int64_t *word_count;
    int32_t *sym;              /* each word's symbols, at sym_off[w], sym_len[w] of them */
    size_t *sym_off;
    int32_t *sym_len, *stamp;  /* stamp: the last merge that visited the word */
    pair_table pairs;
    heap queue;
    int32_t (*merges)[3];      /* a, b, merged */
    size_t n_merges;
} trainer;

/* Counts the words of text[0, n) (valid UTF-8). */
static int count_words(trainer *tr, const unsigned char *s, size_t n)
{
    size_t cap = 0;
    for (size_t i = 0, end; i < n; i = end) {
        end = pretok_next(s, n, i);
        int added;
        int32_t w = set_add(&tr->words, s + i, end - i, &added);
        if (w < 0 || tok_grow((void **)&tr->word_count, &cap, tr->words.n - added, tr->words.n,
                              sizeof *tr->word_count, "tokenizer training") != 0)
            return -1;
        if (added) tr->word_count[w] = 0;
        tr->word_count[w]++;
    }
    return 0;
}

/* Every word as its bytes, and the counts of their pairs. */
static int start_symbols(trainer *tr)
{
    size_t nw = tr->words.n, total = tr->words.used;
    tr->sym = xlstm_alloc(total ? total : 1, sizeof *tr->sym, "tokenizer training");
    tr->sym_off = xlstm_alloc(nw ? nw : 1, sizeof *tr->sym_off, "tokenizer training");
    tr->sym_len = xlstm_alloc(nw ? nw : 1, sizeof *tr->sym_len, "tokenizer training");
    tr->stamp = xlstm_alloc(nw ? nw : 1, sizeof *tr->stamp, "tokenizer training");
    if (tr->sym == NULL || tr->sym_off == NULL || tr->sym_len == NULL || tr->stamp == NULL) return -1;
    for (size_t w = 0; w < nw; w++) {
        size_t off = tr->words.off[w], len = tr->words.off[w + 1] - off;
        tr->sym_off[w] = off;
        tr->sym_len[w] = (int32_t)len;
        tr->stamp[w] = -1;
        for (size_t i = 0; i < len; i++) tr->sym[off + i] = tr->words.bytes[off + i];
        for (size_t i = 0; i + 1 < len; i++)
            if (pair_change(&tr->pairs, tr->sym[off + i], tr->sym[off + i + 1], tr->word_count[w], (int32_t)w) != 0)
                return -1;
    }
    for (size_t i = 0; i <= tr->pairs.mask; i++) {
        const pair_entry *e = &tr->pairs.e[i];
        if (e->key != UINT64_MAX && e->count > 0 && heap_push(&tr->queue, (candidate){e->count, e->key}) != 0) return -1;
    }
    return 0;
}

/* Replaces each (a, b) in word w by m, left to right, with the changes of the pair counts. */
static int merge_word(trainer *tr, int32_t w, int32_t a, int32_t b, int32_t m)
{
    int32_t *s = tr->sym + tr->sym_off[w], len = tr->sym_len[w], out = 0;
    int64_t c = tr->word_count[w];
    for (int32_t i = 0; i < len; i++) {
        if (i + 1 < len && s[i] == a && s[i + 1] == b) {
            if (out > 0 && (pair_change(&tr->pairs, s[out - 1], a, -c, w) != 0 ||
                            pair_change(&tr->pairs, s[out - 1], m, c, w) != 0))
                return -1;
            if (i + 2 < len && (pair_change(&tr->pairs, b, s[i + 2], -c, w) != 0 ||
                                pair_change(&tr->pairs, m, s[i + 2], c, w) != 0))
                return -1;
            if (pair_change(&tr->pairs, a, b, -c, w) != 0) return -1;
            s[out++] = m;
            i++;
        } else {
            s[out++] = s[i];
        }
    }
    tr->sym_len[w] = out;
    return 0;
}

/* The token of a + b: a new id, or the one that has those bytes already. */
static int32_t merged_token(trainer *tr, int32_t a, int32_t b)
{
    const string_set *t = &tr->tokens;
    size_t na = t->off[a + 1] - t->off[a], nb = t->off[b + 1] - t->off[b];
    unsigned char small[512], *ab = na + nb <= sizeof small ? small : malloc(na + nb);
    if (ab == NULL) return xlstm_fail("tokenizer training: out of memory");
    memcpy(ab, t->bytes + t->off[a], na);
    memcpy(ab + na, t->bytes + t->off[b], nb);
    int added;
    int32_t m = set_add(&tr->tokens, ab, na + nb, &added);
    if (ab != small) free(ab);
    return m;
}

static int learn(trainer *tr, int vocab_size)
{
    size_t merges_cap = 0;
    while ((int)tr->tokens.n < vocab_size - 1 && tr->queue.n > 0) {
        candidate top = heap_pop(&tr->queue);
        pair_entry *e = pair_get(&tr->pairs, top.key);
        if (e->count != top.count) { /* stale: back with its count */
            if (e->count > 0 && heap_push(&tr->queue, (candidate){e->count, top.key}) != 0) return -1;
            continue;
        }
        if (top.count < 2) break;
        int32_t a = (int32_t)(top.key >> 32), b = (int32_t)(uint32_t)top.key, m = merged_token(tr, a, b);
        if (m < 0 || tok_grow((void **)&tr->merges, &merges_cap, tr->n_merges, tr->n_merges + 1, sizeof *tr->merges,
                              "tokenizer training") != 0)
            return -1;
        tr->merges[tr->n_merges][0] = a;
        tr->merges[tr->n_merges][1] = b;
        tr->merges[tr->n_merges][2] = m;
        /* the word list grows while merging: take it first (stamps skip repeated words) */
        int32_t *words = e->words;
        size_t n_words = e->n_words;
        tr->pairs.merge = (int32_t)tr->n_merges + 1;
        e->words = NULL;
        e->n_words = e->cap_words = 0;
        for (size_t i = 0; i < n_words; i++) {
            int32_t w = words[i];
            if (tr->stamp[w] == (int32_t)tr->n_merges) continue;
            tr->stamp[w] = (int32_t)tr->n_merges;
            if (merge_word(tr, w, a, b, m) != 0) {
                xlstm_free(words);
                return -1;
            }
        }
        xlstm_free(words);
        /* the pairs that gained occurrences (the new ones, around m) go on the heap with their counts */
        for (size_t i = 0; i < tr->pairs.n_touched; i++) {
            const pair_entry *t = pair_get(&tr->pairs, tr->pairs.touched[i]);
            if (t->count > 0 && heap_push(&tr->queue, (candidate){t->count, t->key}) != 0) return -1;
        }
        tr->pairs.n_touched = 0;
        tr->n_merges++;
    }
    return 0;
}

/* The tokenizer of the learned tokens and merges. */
static int build(xlstm_tokenizer **out, const trainer *tr)
{
    const string_set *t = &tr->tokens;
    int32_t eot = (int32_t)t->n;
    xlstm_tokenizer *tok;
    if (tok_create(&tok, eot + 1, tr->n_merges) != 0) return -1;
    int rc = 0;
    for (int32_t id = 0; id < eot && rc == 0; id++) {
        /* a token's bytes written as byte-level characters */
        size_t n = t->off[id + 1] - t->off[id], len = 0;
        unsigned char small[1024], *chars = 2 * n <= sizeof small ? small : malloc(2 * n);
        if (chars == NULL) rc = xlstm_fail("tokenizer training: out of memory");
        for (size_t i = 0; rc == 0 && i < n; i++) len += utf8_encode(byte_char(t->bytes[t->off[id] + i]), chars + len);
        if (rc == 0) rc = tok_set_token(tok, id, (const char *)chars, len, "tokenizer training");
        if (chars != small) free(chars);
    }
    for (size_t i = 0; rc == 0 && i < tr->n_merges; i++) tok_add_merge(tok, tr->merges[i][0], tr->merges[i][1], tr->merges[i][2]);
    if (rc != 0 || tok_add_added(tok, eot, endoftext, strlen(endoftext), 1, 0, "tokenizer training") != 0 ||
        tok_finish(tok, NULL, 0, "tokenizer training") != 0) {
        xlstm_tokenizer_free(tok);
        return -1;
    }
    *out = tok;
    return 0;
}

static void trainer_free(trainer *tr)
{
    set_free(&tr->words);
    set_free(&tr->tokens);
    xlstm_free(tr->word_count);
    xlstm_free(tr->sym);
    xlstm_free(tr->sym_off);
    xlstm_free(tr->sym_len);
    xlstm_free(tr->stamp);
    for (size_t i = 0; tr->pairs.e && i <= tr->pairs.mask; i++) xlstm_free(tr->pairs.e[i].words);
    xlstm_free(tr->pairs.e);
    xlstm_free(tr->pairs.touched);
    xlstm_free(tr->queue.c);
    xlstm_free(tr->merges);
}

int xlstm_tokenizer_train(xlstm_tokenizer **out, const char *text, size_t len, int vocab_size)
{
    *out = NULL;
    if (!uni_available()) return -1;
    if (vocab_size < 257 || vocab_size > TOKENIZER_MAX_IDS)
        return xlstm_fail("tokenizer training: vocab_size %d is out of range [257, %d]", vocab_size, TOKENIZER_MAX_IDS);
    char *valid = NULL;
    size_t n_valid;
    if (utf8_repair(text, len, &valid, &n_valid) != 0) return -1;
    trainer tr = {0};
    int rc = set_init(&tr.words) != 0 || set_init(&tr.tokens) != 0 || pairs_resize(&tr.pairs, 1024) != 0 ? -1 : 0;
    for (int b = 0; rc == 0 && b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        int added;
        if (set_add(&tr.tokens, &byte, 1, &added) < 0) rc = -1;
    }
    if (rc == 0) rc = valid ? count_words(&tr, (const unsigned char *)valid, n_valid)
                            : count_words(&tr, (const unsigned char *)text, len);
    free(valid);
    if (rc == 0) rc = start_symbols(&tr);
    if (rc == 0) rc = learn(&tr, vocab_size);
    if (rc == 0) rc = build(out, &tr);
    trainer_free(&tr);
    return rc;
}
