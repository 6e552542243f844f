/* test_tasks.c — the task generators of `xlstm experiment` (src/cli/tasks.c, compiled in
 * here: the CLI modules are not part of the library). Every answer is recomputed from the
 * sample's input tokens by a different method than the generator's: parity by summing the
 * symbols, even pairs by counting the pairs, cycle navigation by walking the cycle, modular
 * arithmetic by a recursive-descent parser, MQAR by looking each query up in the pairs. Also
 * the token ranges, the lengths, the one supervised position of a formal sample, the power
 * law of the MQAR query slots, and that a seed gives the same samples. */
#include <string.h>

#include "cli/tasks.c"
#include "test.h"

#define TT 300 /* row length of the tests */

static int32_t tok[TT], tgt[TT];

/* ---------------------------------------------------------------- modarith, by parsing */

/* expr := term (('+' | '-') term)*;  term := number ('*' number)*; values mod 5 */
typedef struct {
    const int32_t *s;
    int pos, end;
} parser;

static int number(parser *p) { return p->s[p->pos++] - 5; }

static int term(parser *p)
{
    int v = number(p);
    while (p->pos < p->end && p->s[p->pos] == 3) {
        p->pos++;
        v = v * number(p) % 5;
    }
    return v;
}

static int expr(parser *p)
{
    int v = term(p);
    while (p->pos < p->end && (p->s[p->pos] == 1 || p->s[p->pos] == 2)) {
        int minus = p->s[p->pos++] == 2;
        int t = term(p);
        v = minus ? (v + 5 - t) % 5 : (v + t) % 5;
    }
    return v;
}

static int parse_mod5(const int32_t *s, int n)
{
    parser p = {s, 0, n};
    int v = expr(&p);
    return p.pos == n ? v : -1; /* -1: not all of it is an expression */
}

/* the parser itself, on expressions worked out by hand (tokens: 5 + digit, + 1, - 2, * 3) */
static void test_parser_by_hand(void)
{
    const int32_t a[] = {7, 1, 8, 3, 9}; /* 2 + 3 * 4 = 14 = 4 mod 5 */
    const int32_t b[] = {8, 2, 9, 3, 7}; /* 3 - 4 * 2 = -5 = 0 */
    const int32_t c[] = {9, 3, 9, 3, 9, 2, 6, 1, 7}; /* 64 - 1 + 2 = 65 = 0 */
    const int32_t d[] = {6, 2, 9}; /* 1 - 4 = -3 = 2 */
    CHECK(parse_mod5(a, 5) == 4, "2+3*4: %d", parse_mod5(a, 5));
    CHECK(parse_mod5(b, 5) == 0, "3-4*2: %d", parse_mod5(b, 5));
    CHECK(parse_mod5(c, 9) == 0, "4*4*4-1+2: %d", parse_mod5(c, 9));
    CHECK(parse_mod5(d, 3) == 2, "1-4: %d", parse_mod5(d, 3));
}

/* ---------------------------------------------------------------- formal languages */

/* The answer of the input symbols s[0, n) recomputed independently, or -1 if the symbols
 * are not a valid string of the task. */
static int recompute(int kind, const int32_t *s, int n)
{
    int x = 0;
    switch (kind) {
    case TASK_PARITY:
        for (int i = 0; i < n; i++) {
            if (s[i] < 1 || s[i] > 2) return -1;
            x += s[i];
        }
        return (x - n) % 2 + 1; /* the sum is n plus the number of 2s */
    case TASK_EVEN_PAIRS:
        for (int i = 0; i < n; i++)
            if (s[i] < 1 || s[i] > 2) return -1;
        for (int i = 0; i + 1 < n; i++) x += s[i] != s[i + 1]; /* a "12" or a "21" */
        return x % 2 == 0 ? 1 : 2;
    case TASK_CYCLE_NAV:
        for (int i = 0; i < n; i++) {
            if (s[i] == 2) x = x == 4 ? 0 : x + 1;
            else if (s[i] == 3) x = x == 0 ? 4 : x - 1;
            else if (s[i] != 1) return -1;
        }
        return x + 4;
    case TASK_MOD_ARITH:
        if (n % 2 != 0 || s[n - 1] != 4) return -1; /* numbers and operators alternate, then "=" */
        for (int i = 0; i < n - 1; i++)
            if (i % 2 == 0 ? s[i] < 5 || s[i] > 9 : s[i] < 1 || s[i] > 3) return -1;
        x = parse_mod5(s, n - 1);
        return x < 0 ? -1 : x + 5;
    }
    return -1;
}

static void check_formal(const char *name, int min, int max, int count)
{
    const task *t = task_find(name);
    xrng r;
    rng_seed(&r, 7);
    int seen_min = max, seen_max = min, answers[16] = {0};
    for (int i = 0; i < count; i++) {
        int len = task_length(t, &r, min, max);
        CHECK(len >= min && len <= max, "%s: length %d outside [%d, %d]", name, len, min, max);
        if (len < min || len > max) return;
        if (t->kind == TASK_MOD_ARITH) CHECK(len % 2 == 1, "modarith: even length %d", len);
        seen_min = len < seen_min ? len : seen_min;
        seen_max = len > seen_max ? len : seen_max;
        int sup = task_sample(t, &r, len, tok, tgt, TT);
        CHECK(sup == 1, "%s: %d supervised positions reported", name, sup);
        int where = -1, n = 0;
        for (int p = 0; p < TT; p++)
            if (tgt[p] != -1) where = p, n++;
        CHECK(n == 1 && where == len - 2, "%s len %d: %d targets, one at %d; want one at %d", name, len, n, where,
              len - 2);
        for (int p = len - 1; p < TT; p++)
            CHECK(tok[p] == 0, "%s len %d: input %d at %d, want pad 0", name, len, tok[p], p);
        int want = recompute(t->kind, tok, len - 1);
        CHECK(want > 0 && tgt[len - 2] == want, "%s len %d: answer %d, recomputed %d", name, len, tgt[len - 2], want);
        CHECK(want >= 1 && want < t->vocab, "%s: answer %d outside the vocabulary", name, want);
        if (want > 0 && want < 16) answers[want]++;
    }
    /* lengths come from the whole range, and every answer occurs with about its chance */
    int lo = t->kind == TASK_MOD_ARITH ? min | 1 : min, hi = t->kind == TASK_MOD_ARITH ? (max - 1) | 1 : max;
    CHECK(seen_min == lo && seen_max == hi, "%s: lengths seen [%d, %d], want [%d, %d]", name, seen_min, seen_max, lo,
          hi);
    int first = t->kind == TASK_PARITY || t->kind == TASK_EVEN_PAIRS ? 1 : t->kind == TASK_CYCLE_NAV ? 4 : 5;
    for (int a = first; a < first + t->answers; a++)
        CHECK(answers[a] > count / t->answers / 4, "%s: answer %d only %d times in %d", name, a, answers[a], count);
}

static void test_parity(void) { check_formal("parity", 3, 256, 4000); }
static void test_even_pairs(void) { check_formal("evenpairs", 3, 256, 4000); }
static void test_cycle_nav(void) { check_formal("cyclenav", 3, 256, 4000); }
static void test_mod_arith(void) { check_formal("modarith", 3, 256, 4000); }

/* the short strings, where every case is seen: lengths [3, 5] of each task */
static void test_short_strings(void)
{
    check_formal("parity", 3, 5, 500);
    check_formal("evenpairs", 3, 5, 500);
    check_formal("cyclenav", 3, 5, 500);
    check_formal("modarith", 3, 5, 500);
}

/* ---------------------------------------------------------------- MQAR */

static void check_mqar(int pairs, int len, int count)
{
    task t = *task_find("mqar");
    t.pairs = pairs;
    CHECK(task_check_lengths(&t, len, len) == 0, "%d pairs, length %d: %s", pairs, len, xlstm_errmsg());
    xrng r;
    rng_seed(&r, 11);
    for (int i = 0; i < count; i++) {
        int n = task_sample(&t, &r, len, tok, tgt, TT);
        CHECK(n == pairs, "task_sample reported %d answers, want %d", n, pairs);
        int value_of[MQAR_VOCAB] = {0}, queried[MQAR_VOCAB] = {0}, answers = 0;
        for (int k = 0; k < pairs; k++) {
            int key = tok[2 * k], value = tok[2 * k + 1];
            CHECK(key >= 1 && key <= MQAR_KEYS, "pair %d: key %d", k, key);
            CHECK(value > MQAR_KEYS && value < MQAR_VOCAB, "pair %d: value %d", k, value);
            CHECK(tgt[2 * k] == -1 && tgt[2 * k + 1] == -1, "pair %d is supervised", k);
            if (key < 1 || key > MQAR_KEYS) return;
            CHECK(value_of[key] == 0, "key %d appears twice in the pairs", key);
            value_of[key] = value;
        }
        for (int p = 2 * pairs; p < len - 1; p++) {
            int x = tok[p];
            CHECK(x >= 1 && x < MQAR_VOCAB, "position %d: token %d", p, x);
            if (x >= 1 && x <= MQAR_KEYS) { /* a query: a key of the pairs, answered by its value */
                CHECK(value_of[x] != 0, "position %d queries key %d, which is not in the pairs", p, x);
                CHECK(tgt[p] == value_of[x], "position %d: key %d, target %d, want its value %d", p, x, tgt[p],
                      value_of[x]);
                CHECK((p - 2 * pairs) % 2 == 0, "query at %d is not at the start of a slot", p);
                CHECK(p + 1 >= len - 1 || tok[p + 1] == value_of[x], "query at %d: next input %d, want %d", p,
                      tok[p + 1], value_of[x]);
                queried[x]++;
            } else {
                CHECK(tgt[p] == -1, "position %d: a target after a non-key token %d", p, x);
            }
        }
        for (int p = 0; p < TT; p++) answers += tgt[p] != -1;
        for (int p = len - 1; p < TT; p++)
            CHECK(tok[p] == 0 && tgt[p] == -1, "position %d after the sample is not pad", p);
        CHECK(answers == pairs, "%d supervised positions, want %d", answers, pairs);
        for (int k = 0; k < pairs; k++)
            CHECK(queried[tok[2 * k]] == 1, "key %d queried %d times", tok[2 * k], queried[tok[2 * k]]);
    }
}

static void test_mqar_samples(void)
{
    check_mqar(8, 65, 300);
    check_mqar(8, 257, 100);
    check_mqar(16, 257, 100);
    check_mqar(4, 16, 200);  /* the shortest: every slot a query */
    check_mqar(63, 252, 20); /* every key */
    check_mqar(3, 20, 200);  /* an odd query region: the last input is noise */
}

/* One query among 10 slots: slot s (1-based) with probability s^-0.99 / sum; 40000 draws,
 * each frequency within 5 standard deviations. */
static void test_mqar_power_law(void)
{
    task t = *task_find("mqar");
    t.pairs = 1;
    const int slots = 10, len = 2 + 2 * slots, draws = 40000;
    double w[10], total = 0;
    int count[10] = {0};
    for (int s = 0; s < slots; s++) total += w[s] = pow(s + 1, -0.99);
    xrng r;
    rng_seed(&r, 3);
    for (int i = 0; i < draws; i++) {
        task_sample(&t, &r, len, tok, tgt, TT);
        for (int s = 0; s < slots; s++)
            if (tok[2 + 2 * s] == tok[0]) count[s]++;
    }
    for (int s = 0; s < slots; s++) {
        double p = w[s] / total, sd = sqrt(draws * p * (1 - p));
        CHECK(fabs(count[s] - draws * p) < 5 * sd, "slot %d: %d queries, expected %.0f +- %.0f", s + 1, count[s],
              draws * p, sd);
    }
}

/* ---------------------------------------------------------------- lengths and seeds */

static void test_lengths_refused(void)
{
    task mqar = *task_find("mqar");
    mqar.pairs = 8;
    CHECK(task_check_lengths(task_find("parity"), 3, 40) == 0, "parity [3, 40]: %s", xlstm_errmsg());
    CHECK(task_check_lengths(task_find("parity"), 2, 40) != 0, "parity [2, 40] accepted");
    CHECK(task_check_lengths(task_find("parity"), 9, 8) != 0, "parity [9, 8] accepted");
    CHECK(task_check_lengths(task_find("modarith"), 4, 4) != 0, "modarith [4, 4] (no odd length) accepted");
    CHECK(task_check_lengths(task_find("modarith"), 4, 5) == 0, "modarith [4, 5]: %s", xlstm_errmsg());
    CHECK(task_check_lengths(&mqar, 31, 31) != 0, "8 pairs in length 31 accepted");
    CHECK(task_check_lengths(&mqar, 32, 32) == 0, "8 pairs in length 32: %s", xlstm_errmsg());
    mqar.pairs = 64;
    CHECK(task_check_lengths(&mqar, 300, 300) != 0, "64 pairs (more than the keys) accepted");
    CHECK(task_find("nosuchtask") == NULL, "an unknown task found");
    double c = task_chance(task_find("cyclenav")), m = task_chance(task_find("mqar"));
    CHECK(fabs(c - 0.2) < 1e-15, "cyclenav chance %g", c);
    CHECK(fabs(m - 1.0 / 64) < 1e-15, "mqar chance %g", m);
}

/* the same seed gives the same samples; another seed others */
static void test_seeds(void)
{
    const char *names[] = {"parity", "evenpairs", "cyclenav", "modarith", "mqar"};
    static int32_t first[20][TT]; /* seed 1's inputs */
    for (int k = 0; k < 5; k++) {
        task t = *task_find(names[k]);
        t.pairs = 8;
        int differ = 0;
        for (int seed = 1; seed <= 2; seed++) {
            xrng r1, r2;
            rng_seed(&r1, (uint64_t)seed);
            rng_seed(&r2, (uint64_t)seed);
            for (int i = 0; i < 20; i++) {
                int32_t a[2][TT], b[2][TT];
                int l1 = task_length(&t, &r1, 33, 129), l2 = task_length(&t, &r2, 33, 129);
                task_sample(&t, &r1, l1, a[0], a[1], TT);
                task_sample(&t, &r2, l2, b[0], b[1], TT);
                CHECK(l1 == l2 && !memcmp(a, b, sizeof a), "%s seed %d sample %d differs between two streams",
                      names[k], seed, i);
                if (seed == 1) memcpy(first[i], a[0], sizeof first[i]);
                else differ += memcmp(first[i], a[0], sizeof first[i]) != 0;
            }
        }
        CHECK(differ >= 19, "%s: seeds 1 and 2 give %d of 20 samples alike", names[k], 20 - differ);
    }
}

int main(void)
{
    RUN(test_parser_by_hand);
    RUN(test_parity);
    RUN(test_even_pairs);
    RUN(test_cycle_nav);
    RUN(test_mod_arith);
    RUN(test_short_strings);
    RUN(test_mqar_samples);
    RUN(test_mqar_power_law);
    RUN(test_lengths_refused);
    RUN(test_seeds);
    TEST_EXIT();
}
