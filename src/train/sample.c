/* sample.c — temperature, top-k and top-p sampling of the next token. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "sample.h"

sampler_opts xlstm_sampler_defaults(void) { return (sampler_opts){.temperature = 1.0, .top_k = 0, .top_p = 1.0}; }

int sampler_check(const sampler_opts *opt)
{
    if (!isfinite(opt->temperature) || opt->temperature < 0)
        return xlstm_fail("temperature %g must be finite and >= 0", opt->temperature);
    if (opt->top_k < 0) return xlstm_fail("top-k %d must be >= 0 (0 = off)", opt->top_k);
    if (!(opt->top_p > 0 && opt->top_p <= 1)) return xlstm_fail("top-p %g must be in (0, 1]", opt->top_p);
    return 0;
}

int sampler_init(sampler *s, int V, sampler_opts opt, uint64_t seed)
{
    s->cand = NULL;
    if (V < 1) return xlstm_fail("sampler: vocabulary size %d must be >= 1", V);
    if (sampler_check(&opt) != 0) return -1;
    s->opt = opt;
    s->V = V;
    s->kept = 0;
    rng_seed(&s->rng, seed);
    s->cand = malloc((size_t)V * sizeof *s->cand);
    return s->cand ? 0 : xlstm_fail("sampler: out of memory for %d tokens", V);
}

void sampler_free(sampler *s)
{
    free(s->cand);
    s->cand = NULL;
}

/* most probable first; equal probabilities by token id, so that the order is total */
static int cand_cmp(const void *a, const void *b)
{
    const sample_cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int sampler_distribution(sampler *s, const xlstm_real *logits)
{
    int V = s->V, best = 0;
    for (int i = 0; i < V; i++) {
        if (!isfinite(logits[i])) return xlstm_fail("sampler: logit of token %d is not finite (%g)", i, (double)logits[i]);
        if (logits[i] > logits[best]) best = i;
    }
    if (s->opt.temperature == 0) {
        s->cand[0] = (sample_cand){1.0, best};
        s->kept = 1;
        return 0;
    }
    /* softmax(logits / T), shifted by the max so that exp cannot overflow */
    double max = logits[best];
    for (int i = 0; i < V; i++) {
        s->cand[i] = (sample_cand){exp(((double)logits[i] - max) / s->opt.temperature), i};
    }
    qsort(s->cand, (size_t)V, sizeof *s->cand, cand_cmp);
    int kept = s->opt.top_k > 0 && s->opt.top_k < V ? s->opt.top_k : V;
    double mass = 0;
    for (int i = 0; i < kept; i++) mass += s->cand[i].p;
    if (s->opt.top_p < 1) {
        /* the smallest prefix whose share of the top-k mass reaches top_p */
        double cum = 0, goal = s->opt.top_p * mass;
        int n = 0;
        while (n < kept && cum < goal) cum += s->cand[n++].p;
        kept = n;
        mass = cum;
    }
    for (int i = 0; i < kept; i++) s->cand[i].p /= mass;
    s->kept = kept;
    return 0;
}

int sampler_next(sampler *s, const xlstm_real *logits)
{
    if (sampler_distribution(s, logits) != 0) return -1;
    if (s->opt.temperature == 0) return s->cand[0].id;
    double u = rng_uniform(&s->rng), cum = 0;
    for (int i = 0; i < s->kept; i++) {
        cum += s->cand[i].p;
        if (u < cum) return s->cand[i].id;
    }
    return s->cand[s->kept - 1].id; /* u just below 1 and the sum rounded below it */
}

int xlstm_sampler_create(xlstm_sampler **out, int vocab_size, const xlstm_sampler_opts *o, uint64_t seed)
{
    *out = malloc(sizeof **out);
    if (!*out) return xlstm_fail("sampler: out of memory");
    if (sampler_init(*out, vocab_size, *o, seed) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void xlstm_sampler_free(xlstm_sampler *s)
{
    if (!s) return;
    sampler_free(s);
    free(s);
}

int xlstm_sampler_next(xlstm_sampler *s, const xlstm_real *logits) { return sampler_next(s, logits); }
