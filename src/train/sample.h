/* sample.h — drawing the next token from a model's logits: temperature, top-k, top-p
 * (nucleus) and a seeded RNG, so that a fixed seed reproduces a generation exactly.
 *
 * The distribution is built in double: softmax(logits / temperature); then only the k most
 * probable tokens are kept (top_k > 0); then, of those (renormalized), the smallest set of
 * most probable tokens whose mass reaches top_p (top_p < 1); the kept set is renormalized.
 * Ties are ordered by token id, so the kept set is deterministic. Temperature 0 is greedy:
 * the first token with the largest logit, and no random number is drawn. */
#ifndef XLSTM_TRAIN_SAMPLE_H
#define XLSTM_TRAIN_SAMPLE_H

#include <stdint.h>

#include "xlstm.h"
#include "rng.h"

typedef xlstm_sampler_opts sampler_opts;

typedef struct {
    double p;           /* probability */
    int id;             /* token */
} sample_cand;

typedef struct xlstm_sampler {
    sampler_opts opt;
    int V;
    xrng rng;
    sample_cand *cand;  /* [V] the tokens, most probable first */
    int kept;           /* how many of cand[] the last distribution kept */
} sampler;

/* Check the options; the message names the bad one. */
int sampler_check(const sampler_opts *opt);
/* Check the options and allocate for a vocabulary of V. */
int sampler_init(sampler *s, int V, sampler_opts opt, uint64_t seed);
void sampler_free(sampler *s);
/* Build the filtered distribution of the logits [V]: afterwards cand[0..kept) are the kept
 * tokens, most probable first, with probabilities summing to 1. Refuses non-finite logits. */
int sampler_distribution(sampler *s, const xlstm_real *logits);
/* Draw the next token from the logits [V] (one uniform draw unless greedy); -1 on bad logits. */
int sampler_next(sampler *s, const xlstm_real *logits);

#endif
