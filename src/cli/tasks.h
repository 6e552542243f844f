/* tasks.h — generators of the synthetic tasks of `xlstm experiment`: the formal languages of
 * the xLSTM paper (App. B.1.1, in the token format of the official repository's
 * experiments/data/formal_language) and multi-query associative recall (MQAR, App. B.1.2).
 *
 * A sample of length L is a row of L tokens whose supervised tokens are answers. It is
 * handed to the model as in the official dataset with enable_mask and shift 1: the inputs
 * are the row's first L - 1 tokens (then pad 0), the targets are the next tokens where they
 * are answers and -1 (ignored) elsewhere. For the formal languages the answer is the row's
 * last token, so the one supervised position is L - 2: the model gives the answer after
 * reading the last input symbol.
 *
 *   parity     (vocab 3)   symbols 1, 2; answer (number of 2s mod 2) + 1
 *   evenpairs  (vocab 3)   symbols 1, 2; answer 1 if the adjacent pairs "12" and "21" are
 *                          even in number, else 2
 *   cyclenav   (vocab 9)   symbols 1, 2, 3 = steps 0, +1, -1 on a cycle of 5 starting at 0;
 *                          answer (final position) + 4
 *   modarith   (vocab 10)  numbers 0..4 as tokens 5..9 at even positions, + - * as 1 2 3 at
 *                          odd positions, "=" (4) at L - 2, answer (value mod 5) + 5, * binding
 *                          before + and -; L is odd
 *   mqar       (vocab 128) associative recall, below
 *
 * MQAR: keys are tokens 1..63, values 64..127. A row holds `pairs` key-value pairs (distinct
 * keys, values drawn with replacement), then a query region of L - 2 pairs tokens cut into
 * two-token slots. Each key is queried once, in a slot drawn (without replacement) with
 * probability proportional to slot^-0.99 (slot 1 right after the pairs: the power law of
 * Zoology's multiquery_ar), as the key followed by its value; every value of a query is an
 * answer. Slots without a query hold two noise tokens drawn from the values, so that every
 * key token after the pairs is a query. */
#ifndef XLSTM_CLI_TASKS_H
#define XLSTM_CLI_TASKS_H

#include <stdint.h>

#include "rng.h"

enum task_kind { TASK_PARITY, TASK_EVEN_PAIRS, TASK_CYCLE_NAV, TASK_MOD_ARITH, TASK_MQAR };

#define MQAR_VOCAB 128
#define MQAR_KEYS 63 /* keys 1..63; values MQAR_KEYS + 1 .. MQAR_VOCAB - 1 */
#define MQAR_VALUES (MQAR_VOCAB - 1 - MQAR_KEYS)

typedef struct {
    const char *name;
    int kind;    /* enum task_kind */
    int vocab;   /* tokens 0 .. vocab - 1, 0 = pad */
    int answers; /* possible answers: a random guess is right with probability 1 / answers */
    int pairs;   /* MQAR: key-value pairs per sample (<= MQAR_KEYS); 0 otherwise */
} task;

/* The task called `name` (pairs: the MQAR default 0 until set), or NULL. */
const task *task_find(const char *name);

/* Accuracy of a random guess (the paper's s_rand). */
double task_chance(const task *t);

/* The shortest valid sample length (formal: 3; MQAR: 4 pairs). */
int task_min_length(const task *t);

/* A sample length drawn uniformly from the valid lengths in [min, max] (modarith: the odd
 * ones, drawn as the official generator does). Requires task_check_lengths(t, min, max). */
int task_length(const task *t, xrng *r, int min, int max);

/* 0 if [min, max] holds a valid length, at least task_min_length; -1 (message) otherwise. */
int task_check_lengths(const task *t, int min, int max);

/* Draw one sample of length len (valid for t, len <= T + 1) from r into a row of T positions:
 * tokens [T] (inputs, pad 0 after the first len - 1) and targets [T] (answers at supervised
 * positions, -1 elsewhere). Returns the number of supervised positions (formal: 1; MQAR:
 * pairs). */
int task_sample(const task *t, xrng *r, int len, int32_t *tokens, int32_t *targets, int T);

#endif
