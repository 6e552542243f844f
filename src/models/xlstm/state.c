/* state.c — recurrent inference: a state per sequence (each block's conv history and cell
 * state), one token at a time through the recurrent step in constant time and memory, or
 * a prompt at once through the chunkwise form, which leaves the same state. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct lm_state {
    const lm_model *model;
    lm_block_state *blocks; /* [num_blocks] */
    real *buffer;
    size_t size;            /* reals in buffer */
    lm_acts step;           /* activations of one token */
};

static void state_bind(const lm_model *m, lm_state *s, arena *ar)
{
    for (int i = 0; i < m->cfg.num_blocks; i++) {
        if (m->cfg.is_slstm[i])
            slstm_state_bind(&s->blocks[i].s, ar, m->sd, 1);
        else
            mlstm_state_bind(&s->blocks[i].m, ar, m->md, 1);
    }
}

int lm_state_create(const lm_model *m, lm_state **out)
{
    *out = NULL;
    lm_state *s = calloc(1, sizeof *s);
    if (!s || !(s->blocks = calloc((size_t)m->cfg.num_blocks, sizeof *s->blocks))) {
        free(s);
        return xlstm_fail("state: out of memory");
    }
    s->model = m;
    arena ar = {NULL, 0};
    state_bind(m, s, &ar);
    s->size = ar.used;
    if (!(s->buffer = xlstm_alloc(ar.used, sizeof(real), "recurrent state")) ||
        lm_acts_alloc(m, &s->step, 1, 1, 0) != 0) {
        lm_state_free(s);
        return -1;
    }
    ar.base = s->buffer;
    ar.used = 0;
    state_bind(m, s, &ar);
    *out = s;
    return 0;
}

void lm_state_free(lm_state *s)
{
    if (!s) return;
    lm_acts_free(s->model, &s->step);
    xlstm_free(s->buffer);
    free(s->blocks);
    free(s);
}

void lm_state_reset(lm_state *s) { memset(s->buffer, 0, s->size * sizeof(real)); }

void lm_state_copy(lm_state *dst, const lm_state *src) { memcpy(dst->buffer, src->buffer, src->size * sizeof(real)); }

size_t lm_state_bytes(const lm_state *s) { return s->size * sizeof(real); }

int lm_step(lm_model *m, lm_state *s, int32_t token, real *logits)
{
    if (lm_forward(m, &s->step, &token, 1, 1, s->blocks) != 0) return -1;
    if (logits) memcpy(logits, s->step.logits, (size_t)m->cfg.vocab_size * sizeof(real));
    return 0;
}

int lm_prefill(lm_model *m, lm_state *s, const int32_t *tokens, int n, real *logits)
{
    if (n == 1) return lm_step(m, s, tokens[0], logits);
    lm_acts a;
    if (lm_acts_alloc(m, &a, 1, n, 0) != 0) return -1;
    int rc = lm_forward(m, &a, tokens, 1, n, s->blocks);
    if (rc == 0 && logits)
        memcpy(logits, a.logits + (size_t)(n - 1) * m->cfg.vocab_size, (size_t)m->cfg.vocab_size * sizeof(real));
    lm_acts_free(m, &a);
    return rc;
}
