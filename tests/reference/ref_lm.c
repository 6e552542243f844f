/* ref_lm.c — the reference blocks and language model over one sequence (see xlstm_ref.h). */
#include <stdlib.h>
#include <string.h>

#include "xlstm_ref.h"

ref_block_state *ref_lm_state_new(const ref_lm *lm)
{
    ref_block_state *s = calloc((size_t)lm->L, sizeof *s);
    if (!s) abort();
    for (int i = 0; i < lm->L; i++) {
        if (lm->blocks[i].is_slstm)
            s[i].s = ref_slstm_state_new(&lm->blocks[i].s);
        else
            s[i].m = ref_mlstm_state_new(&lm->blocks[i].m);
    }
    return s;
}

void ref_lm_state_free(ref_block_state *s, const ref_lm *lm)
{
    for (int i = 0; i < lm->L; i++) {
        if (lm->blocks[i].is_slstm)
            ref_slstm_state_free(&s[i].s);
        else
            ref_mlstm_state_free(&s[i].m);
    }
    free(s);
}

void ref_block_forward(double *x, int T, const ref_block *b, ref_block_state *s, int parallel)
{
    int D = b->is_slstm ? b->s.D : b->m.D;
    size_t n = (size_t)T * D;
    double *u = ref_alloc(n), *y = ref_alloc(n);
    ref_norm(u, x, b->norm_w, T, 1, D);
    if (b->is_slstm)
        ref_slstm_layer_forward(y, u, T, &b->s, &s->s);
    else
        ref_mlstm_layer_forward(y, u, T, &b->m, &s->m, parallel);
    for (size_t j = 0; j < n; j++) x[j] += y[j];
    if (b->is_slstm && b->ffn_norm_w) {
        ref_norm(u, x, b->ffn_norm_w, T, 1, D);
        ref_ffn_forward(y, u, T, &b->f);
        for (size_t j = 0; j < n; j++) x[j] += y[j];
    }
    free(u), free(y);
}

void ref_lm_forward(double *logits, double *block_out, const ref_lm *lm, const int32_t *tokens, int T,
                    ref_block_state *s, int parallel)
{
    int D = lm->D;
    size_t n = (size_t)T * D;
    double *x = ref_alloc(n), *top = ref_alloc(n);
    for (int t = 0; t < T; t++) memcpy(x + (size_t)t * D, lm->embedding + (size_t)tokens[t] * D, sizeof(double) * D);
    for (int i = 0; i < lm->L; i++) {
        ref_block_forward(x, T, &lm->blocks[i], &s[i], parallel);
        if (block_out) memcpy(block_out + (size_t)i * n, x, sizeof(double) * n);
    }
    if (lm->post_norm_w)
        ref_norm(top, x, lm->post_norm_w, T, 1, D);
    else
        memcpy(top, x, sizeof(double) * n);
    ref_linear(logits, top, lm->head, NULL, T, D, lm->V);
    free(x), free(top);
}
