/* test.h — the smallest useful test harness. Each test is a function; RUN(fn) runs it and
 * prints "PASS name" or "FAIL name"; tests/run.sh counts these lines over all programs. */
#ifndef XLSTM_TEST_H
#define XLSTM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static int test_failed_checks;
static int test_total_failed;

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            test_failed_checks++;                                        \
            fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
        }                                                                \
    } while (0)

#define RUN(fn)                                                          \
    do {                                                                 \
        test_failed_checks = 0;                                          \
        fn();                                                            \
        printf("%s %s\n", test_failed_checks ? "FAIL" : "PASS", #fn);    \
        fflush(stdout);                                                  \
        if (test_failed_checks) test_total_failed++;                     \
    } while (0)

#define TEST_EXIT() return test_total_failed ? 1 : 0

/* Random numbers for test inputs: xorshift64*, uniform in [-1, 1); advances *state. */
static inline double test_urand(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 0x2545F4914F6CDD1Dull) >> 11) / 4503599627370496.0 - 1.0;
}

#endif
