/* bpe.c — merges by rank with a priority queue over the word's adjacent pairs. */
#include <string.h>

#include "common.h"
#include "tokenizer/bpe.h"

#define BPE_EMPTY UINT64_MAX /* no pair of ids >= 0 has this key */

static inline uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }
static inline size_t pair_slot(uint64_t key, size_t mask) { return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask; }

int bpe_init(bpe_model *m, size_t n_merges)
{
    size_t slots = 16;
    while (slots < 2 * n_merges) slots *= 2;
    m->keys = xlstm_alloc(slots, sizeof *m->keys, "tokenizer merges");
    m->rank = xlstm_alloc(slots, sizeof *m->rank, "tokenizer merges");
    m->merged = xlstm_alloc(slots, sizeof *m->merged, "tokenizer merges");
    if (m->keys == NULL || m->rank == NULL || m->merged == NULL) return -1;
    memset(m->keys, 0xff, slots * sizeof *m->keys);
    m->mask = slots - 1;
    return 0;
}

void bpe_free(bpe_model *m)
{
    xlstm_free(m->keys);
    xlstm_free(m->rank);
    xlstm_free(m->merged);
}

void bpe_add_merge(bpe_model *m, int32_t a, int32_t b, int32_t merged, int32_t rank)
{
    uint64_t key = pair_key(a, b);
    size_t i = pair_slot(key, m->mask);
    while (m->keys[i] != BPE_EMPTY && m->keys[i] != key) i = (i + 1) & m->mask;
    m->keys[i] = key;
    m->rank[i] = rank;
    m->merged[i] = merged;
}

int32_t bpe_find(const bpe_model *m, int32_t a, int32_t b, int32_t *merged)
{
    uint64_t key = pair_key(a, b);
    for (size_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        if (m->keys[i] == key) {
            *merged = m->merged[i];
            return m->rank[i];
        }
        if (m->keys[i] == BPE_EMPTY) return -1;
    }
}

/* ---------------------------------------------------------------- a min-heap of pairs */

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= last) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* Queues the pair whose left symbol is at `pos`, if it has a merge. */
static void queue_pair(const bpe_model *m, bpe_scratch *s, size_t *n_heap, int32_t pos)
{
    if (pos < 0 || s->next[pos] < 0) return;
    int32_t merged, right = s->next[pos];
    int32_t rank = bpe_find(m, s->id[pos], s->id[right], &merged);
    if (rank >= 0) heap_push(s->heap, n_heap, (uint64_t)(uint32_t)rank << 32 | (uint32_t)pos);
}

static int scratch_reserve(bpe_scratch *s, size_t n)
{
    if (n <= s->cap) return 0;
    bpe_scratch_free(s);
    size_t cap = n < 64 ? 64 : n * 2;
    s->id = xlstm_alloc(cap, sizeof *s->id, "tokenizer word");
    s->prev = xlstm_alloc(cap, sizeof *s->prev, "tokenizer word");
    s->next = xlstm_alloc(cap, sizeof *s->next, "tokenizer word");
    s->heap = xlstm_alloc(2 * cap, sizeof *s->heap, "tokenizer word");
    if (s->id == NULL || s->prev == NULL || s->next == NULL || s->heap == NULL) {
        bpe_scratch_free(s);
        return -1;
    }
    s->cap = cap;
    return 0;
}

void bpe_scratch_free(bpe_scratch *s)
{
    xlstm_free(s->id);
    xlstm_free(s->prev);
    xlstm_free(s->next);
    xlstm_free(s->heap);
    memset(s, 0, sizeof *s);
}

int bpe_encode(const bpe_model *m, bpe_scratch *s, const unsigned char *w, size_t n, int32_t *out)
{
    if (scratch_reserve(s, n) != 0) return -1;
    int32_t count = 0;
    int unknown_before = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = m->byte_id[w[i]];
        int unknown = id < 0;
        if (unknown && (m->unk_id < 0 || (m->fuse_unk && unknown_before))) {
            unknown_before = unknown;
            continue; /* dropped, or part of the unknown token before it */
        }
        unknown_before = unknown;
        s->id[count] = unknown ? m->unk_id : id;
        s->prev[count] = count - 1;
        s->next[count] = count + 1;
        count++;
    }
    if (count == 0) return 0;
    s->next[count - 1] = -1;
    /* the heap starts with fewer pairs than symbols, and each of the fewer merges than symbols
     * adds at most one entry: it holds fewer than twice the symbols */
    size_t n_heap = 0;
    for (int32_t i = 0; i + 1 < count; i++) queue_pair(m, s, &n_heap, i);
    while (n_heap > 0) {
        uint64_t top = heap_pop(s->heap, &n_heap);
        int32_t pos = (int32_t)(uint32_t)top, rank = (int32_t)(top >> 32), merged = -1;
        int32_t right = s->id[pos] < 0 ? -1 : s->next[pos];
        /* an entry is stale when a merge took one of its symbols */
        if (right < 0 || bpe_find(m, s->id[pos], s->id[right], &merged) != rank) continue;
        s->id[pos] = merged;
        s->id[right] = -1;
        s->next[pos] = s->next[right];
        if (s->next[pos] >= 0) s->prev[s->next[pos]] = pos;
        queue_pair(m, s, &n_heap, s->prev[pos]);
        queue_pair(m, s, &n_heap, pos);
    }
    int n_out = 0;
    for (int32_t i = 0; i >= 0; i = s->next[i]) out[n_out++] = s->id[i];
    return n_out;
}
