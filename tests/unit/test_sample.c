/* test_sample.c — the next-token sampler of libxlstm (src/train/sample.c): top-k, top-p,
 * temperature, greedy, seeds, and the frequencies of many draws. */
#include <stdlib.h>
#include <string.h>

#include "train/sample.h"
#include "test.h"

/* probabilities 0.5, 0.2, 0.15, 0.1, 0.05 as logits (log p + 3, in a shuffled order) */
#define NV 5
static const double P[NV] = {0.15, 0.5, 0.05, 0.2, 0.1};
static const int RANK[NV] = {1, 3, 0, 4, 2}; /* token ids from most to least probable */

static void set_logits(xlstm_real *l)
{
    for (int i = 0; i < NV; i++) l[i] = (xlstm_real)(log(P[i]) + 3);
}

static sampler make(double temperature, int top_k, double top_p, uint64_t seed)
{
    sampler s;
    sampler_opts o = {temperature, top_k, top_p};
    if (sampler_init(&s, NV, o, seed) != 0) {
        fprintf(stderr, "sampler_init: %s\n", xlstm_errmsg());
        exit(1);
    }
    return s;
}

/* softmax(l / T) over the tokens ids[0..n), in double: the expected distribution */
static void expected(const xlstm_real *l, double T, const int *ids, int n, double *out)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += out[i] = exp((double)l[ids[i]] / T);
    for (int i = 0; i < n; i++) out[i] /= sum;
}

/* Kept tokens are ids[0..n) in that order with the expected probabilities (1e-12: the same
 * double arithmetic up to summation order). */
static void check_kept(const sampler *s, const xlstm_real *l, double T, const int *ids, int n, const char *what)
{
    double want[NV];
    expected(l, T, ids, n, want);
    CHECK(s->kept == n, "%s: kept %d tokens, want %d", what, s->kept, n);
    for (int i = 0; i < n && i < s->kept; i++) {
        CHECK(s->cand[i].id == ids[i], "%s: rank %d is token %d, want %d", what, i, s->cand[i].id, ids[i]);
        CHECK(fabs(s->cand[i].p - want[i]) < 1e-12, "%s: rank %d p=%.15g want %.15g", what, i, s->cand[i].p, want[i]);
    }
}

static void test_top_k_keeps_k(void)
{
    xlstm_real l[NV];
    set_logits(l);
    for (int k = 1; k <= NV + 2; k++) {
        sampler s = make(1, k, 1, 1);
        CHECK(sampler_distribution(&s, l) == 0, "%s", xlstm_errmsg());
        char what[32];
        snprintf(what, sizeof what, "top-k %d", k);
        check_kept(&s, l, 1, RANK, k < NV ? k : NV, what);
        sampler_free(&s);
    }
}

/* the smallest most-probable set with mass >= p; with top-k, the mass is the share of the
 * top-k set. The values of p stay clear of the cumulative sums 0.5, 0.7, 0.85, 0.95. */
static void test_top_p_smallest_set(void)
{
    xlstm_real l[NV];
    set_logits(l);
    struct { int k; double p; int want; } cases[] = {
        {0, 0.3, 1}, {0, 0.6, 2}, {0, 0.75, 3}, {0, 0.9, 4}, {0, 0.97, 5}, {0, 1.0, 5},
        {2, 0.75, 2},  /* shares 0.714, 1.0 */
        {3, 0.75, 2},  /* shares 0.588, 0.824, 1.0 */
        {3, 0.55, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sampler s = make(1, cases[c].k, cases[c].p, 1);
        CHECK(sampler_distribution(&s, l) == 0, "%s", xlstm_errmsg());
        char what[48];
        snprintf(what, sizeof what, "top-k %d top-p %g", cases[c].k, cases[c].p);
        check_kept(&s, l, 1, RANK, cases[c].want, what);
        sampler_free(&s);
    }
}

static void test_temperature_scaling(void)
{
    xlstm_real l[NV];
    set_logits(l);
    double temps[] = {0.25, 0.5, 2.0, 10.0};
    for (int i = 0; i < 4; i++) {
        sampler s = make(temps[i], 0, 1, 1);
        CHECK(sampler_distribution(&s, l) == 0, "%s", xlstm_errmsg());
        char what[32];
        snprintf(what, sizeof what, "temperature %g", temps[i]);
        check_kept(&s, l, temps[i], RANK, NV, what);
        sampler_free(&s);
    }
    /* a tiny temperature underflows every other token to probability 0: still a distribution */
    sampler s = make(1e-30, 0, 1, 1);
    int tok = sampler_next(&s, l);
    CHECK(tok == RANK[0], "temperature 1e-30 drew %d, want %d", tok, RANK[0]);
    sampler_free(&s);
}

/* temperature 0: the first largest logit, without drawing a random number */
static void test_greedy(void)
{
    xlstm_real l[NV] = {1, 4, -2, 4, 3};
    sampler s = make(0, 0, 1, 99);
    xrng before = s.rng;
    for (int i = 0; i < 10; i++) CHECK(sampler_next(&s, l) == 1, "greedy must pick token 1 (first of the tie)");
    CHECK(memcmp(&before, &s.rng, sizeof before) == 0, "greedy consumed random numbers");
    sampler_free(&s);
    /* top-k 1 at any temperature is greedy too */
    s = make(1.7, 1, 1, 99);
    for (int i = 0; i < 10; i++) CHECK(sampler_next(&s, l) == 1, "top-k 1 must pick token 1");
    sampler_free(&s);
}

static void test_seed_reproducible(void)
{
    xlstm_real l[NV];
    set_logits(l);
    sampler a = make(1, 0, 1, 1234), b = make(1, 0, 1, 1234), c = make(1, 0, 1, 1235);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        int x = sampler_next(&a, l), y = sampler_next(&b, l), z = sampler_next(&c, l);
        same &= x == y;
        differ |= x != z;
    }
    CHECK(same, "the same seed gave different draws");
    CHECK(differ, "seeds 1234 and 1235 gave the same 1000 draws");
    sampler_free(&a);
    sampler_free(&b);
    sampler_free(&c);
}

/* Frequencies of 200000 draws with a fixed seed: within 0.005 of the probabilities (over 4
 * standard deviations for p = 0.5, sd = 0.0011). */
static void test_draw_frequencies(void)
{
    xlstm_real l[NV];
    set_logits(l);
    struct { int k; double p; } cases[] = {{0, 1.0}, {2, 1.0}, {0, 0.75}};
    const int N = 200000;
    for (int c = 0; c < 3; c++) {
        sampler s = make(1, cases[c].k, cases[c].p, 2024);
        CHECK(sampler_distribution(&s, l) == 0, "%s", xlstm_errmsg());
        double want[NV] = {0};
        for (int i = 0; i < s.kept; i++) want[s.cand[i].id] = s.cand[i].p;
        int count[NV] = {0};
        for (int i = 0; i < N; i++) count[sampler_next(&s, l)]++;
        for (int v = 0; v < NV; v++) {
            double f = (double)count[v] / N;
            CHECK(fabs(f - want[v]) < 0.005, "top-k %d top-p %g: token %d drawn %.4f of the time, p = %.4f",
                  cases[c].k, cases[c].p, v, f, want[v]);
            if (want[v] == 0) CHECK(count[v] == 0, "token %d outside the kept set was drawn", v);
        }
        sampler_free(&s);
    }
}

static void test_refusals(void)
{
    sampler s;
    sampler_opts bad[] = {{-1, 0, 1}, {NAN, 0, 1}, {INFINITY, 0, 1}, {1, -1, 1}, {1, 0, 0}, {1, 0, 1.5}, {1, 0, NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(sampler_init(&s, NV, bad[i], 1) != 0, "options %zu accepted", i);
    CHECK(sampler_init(&s, 0, xlstm_sampler_defaults(), 1) != 0, "vocabulary 0 accepted");
    s = make(1, 0, 1, 1);
    xlstm_real l[NV] = {0, 1, NAN, 0, 0};
    CHECK(sampler_next(&s, l) == -1, "a NaN logit was accepted");
    CHECK(strstr(xlstm_errmsg(), "token 2") != NULL, "message '%s' should name token 2", xlstm_errmsg());
    sampler_free(&s);
}

int main(void)
{
    RUN(test_top_k_keeps_k);
    RUN(test_top_p_smallest_set);
    RUN(test_temperature_scaling);
    RUN(test_greedy);
    RUN(test_seed_reproducible);
    RUN(test_draw_frequencies);
    RUN(test_refusals);
    TEST_EXIT();
}
