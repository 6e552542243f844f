/* tasks.c — the synthetic tasks of `xlstm experiment`: formal languages and MQAR. */
#include <math.h>
#include <string.h>

#include "common.h"
#include "cli/tasks.h"

/* Zoology's power_a: slot s of the query region is chosen with weight s^(a - 1) */
#define MQAR_POWER_A 0.01

static const task TASKS[] = {
    {"parity", TASK_PARITY, 3, 2, 0},
    {"evenpairs", TASK_EVEN_PAIRS, 3, 2, 0},
    {"cyclenav", TASK_CYCLE_NAV, 9, 5, 0},
    {"modarith", TASK_MOD_ARITH, 10, 5, 0},
    {"mqar", TASK_MQAR, MQAR_VOCAB, MQAR_VALUES, 0},
};

const task *task_find(const char *name)
{
    for (size_t i = 0; i < sizeof TASKS / sizeof TASKS[0]; i++)
        if (strcmp(TASKS[i].name, name) == 0) return &TASKS[i];
    return NULL;
}

double task_chance(const task *t) { return 1.0 / t->answers; }

int task_min_length(const task *t) { return t->kind == TASK_MQAR ? 4 * t->pairs : 3; }

/* uniform in [0, n) (the modulo bias of a 64-bit draw is below 2^-40 for these n) */
static int draw(xrng *r, int n) { return (int)(rng_next(r) % (uint64_t)n); }

/* modarith lengths are 2 n - 1 for n in [lo, hi]: the odd lengths in [min, max] */
static void odd_range(int min, int max, int *lo, int *hi)
{
    *lo = (min + 2) / 2;
    *hi = (max + 1) / 2;
}

int task_check_lengths(const task *t, int min, int max)
{
    int lo = min, hi = max;
    if (t->kind == TASK_MQAR && (t->pairs < 1 || t->pairs > MQAR_KEYS))
        return xlstm_fail("%s: %d key-value pairs; expected 1 to %d", t->name, t->pairs, MQAR_KEYS);
    if (t->kind == TASK_MOD_ARITH) odd_range(min, max, &lo, &hi);
    if (min < task_min_length(t) || lo > hi)
        return xlstm_fail("%s: lengths [%d, %d] hold no valid sample length (the shortest is %d%s)", t->name, min, max,
                          task_min_length(t), t->kind == TASK_MOD_ARITH ? ", and lengths are odd" : "");
    return 0;
}

int task_length(const task *t, xrng *r, int min, int max)
{
    if (t->kind != TASK_MOD_ARITH) return min + draw(r, max - min + 1);
    int lo, hi;
    odd_range(min, max, &lo, &hi);
    return 2 * (lo + draw(r, hi - lo + 1)) - 1;
}

/* Row position pos holds token tok: it is the input at pos (if pos < len - 1, the inputs
 * being the row without its last token) and, when it is an answer, the target at pos - 1. */
static void put(int32_t *tokens, int32_t *targets, int len, int pos, int tok, int answer)
{
    if (pos < len - 1) tokens[pos] = tok;
    if (answer) targets[pos - 1] = tok;
}

/* Formal languages: symbols at 0 .. len - 2 (modarith: its "=" at len - 2), the answer at
 * len - 1. The answer is computed on the fly, symbol by symbol. */
static void formal_sample(const task *t, xrng *r, int len, int32_t *tokens, int32_t *targets)
{
    const int n = len - 1; /* input symbols */
    int first = 0, sym = 0, twos = 0, pos5 = 0;
    int total = 0, sign = 1, term = 0; /* modarith mod 5: total + sign * term, term a product */
    for (int i = 0; i < n; i++) {
        switch (t->kind) {
        case TASK_PARITY:
            sym = 1 + draw(r, 2);
            twos ^= sym == 2;
            break;
        case TASK_EVEN_PAIRS:
            sym = 1 + draw(r, 2);
            if (i == 0) first = sym;
            break;
        case TASK_CYCLE_NAV: /* 1: stay, 2: +1, 3: -1 (as +4) */
            sym = 1 + draw(r, 3);
            pos5 = (pos5 + (sym == 1 ? 0 : sym == 2 ? 1 : 4)) % 5;
            break;
        case TASK_MOD_ARITH:
            if (i == n - 1) {
                sym = 4; /* "=" */
            } else if (i % 2 == 0) { /* a number 0..4 joins the current product */
                sym = 5 + draw(r, 5);
                term = i == 0 ? sym - 5 : term * (sym - 5) % 5;
            } else { /* + and - close the product; * continues it */
                sym = 1 + draw(r, 3);
                if (sym != 3) {
                    total = (total + sign * term + 5) % 5;
                    sign = sym == 2 ? -1 : 1;
                    term = 1;
                }
            }
            break;
        }
        put(tokens, targets, len, i, sym, 0);
    }
    int answer = 0;
    switch (t->kind) {
    case TASK_PARITY: answer = twos + 1; break;
    case TASK_EVEN_PAIRS: answer = sym == first ? 1 : 2; break; /* each change of symbol is one pair */
    case TASK_CYCLE_NAV: answer = pos5 + 4; break;
    case TASK_MOD_ARITH: answer = (total + sign * term + 5) % 5 + 5; break;
    }
    put(tokens, targets, len, n, answer, 1);
}

/* MQAR: pairs, then the query region (see tasks.h). */
static int mqar_sample(const task *t, xrng *r, int len, int32_t *tokens, int32_t *targets)
{
    const int np = t->pairs, start = 2 * np, slots = (len - start) / 2;
    int keys[MQAR_KEYS], values[MQAR_KEYS];
    for (int k = 0; k < MQAR_KEYS; k++) keys[k] = k + 1;
    for (int i = 0; i < np; i++) { /* partial Fisher-Yates: np distinct keys */
        int j = i + draw(r, MQAR_KEYS - i), k = keys[j];
        keys[j] = keys[i];
        keys[i] = k;
        values[i] = MQAR_KEYS + 1 + draw(r, MQAR_VALUES);
        put(tokens, targets, len, 2 * i, keys[i], 0);
        put(tokens, targets, len, 2 * i + 1, values[i], 0);
    }
    /* key i goes to a free slot drawn with weight (slot + 1)^(a - 1); a slot is taken once its
     * key position holds a token (keys are never 0, and a key position is always an input) */
    for (int i = 0; i < np; i++) {
        double total = 0;
        for (int s = 0; s < slots; s++)
            if (tokens[start + 2 * s] == 0) total += pow(s + 1, MQAR_POWER_A - 1);
        double u = rng_uniform(r) * total;
        int chosen = -1;
        for (int s = 0; s < slots && u >= 0; s++)
            if (tokens[start + 2 * s] == 0) {
                chosen = s;
                u -= pow(s + 1, MQAR_POWER_A - 1);
            }
        put(tokens, targets, len, start + 2 * chosen, keys[i], 0);
        put(tokens, targets, len, start + 2 * chosen + 1, values[i], 1);
    }
    /* noise in the other inputs of the region: values, never keys (the row's last token is no
     * input: a query's value, or nothing) */
    for (int p = start; p < len - 1; p++)
        if (tokens[p] == 0) tokens[p] = MQAR_KEYS + 1 + draw(r, MQAR_VALUES);
    return np;
}

int task_sample(const task *t, xrng *r, int len, int32_t *tokens, int32_t *targets, int T)
{
    for (int i = 0; i < T; i++) {
        tokens[i] = 0;
        targets[i] = -1;
    }
    if (t->kind == TASK_MQAR) return mqar_sample(t, r, len, tokens, targets);
    formal_sample(t, r, len, tokens, targets);
    return 1;
}
