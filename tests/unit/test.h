/* test.h — the smallest useful test harness. Each test is a function; RUN(fn) runs it and
 * prints "PASS name", "FAIL name" or "SKIP name: why"; tests/run.sh counts these lines over
 * all programs. */
#ifndef XLSTM_TEST_H
#define XLSTM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static int test_failed_checks;
static int test_total_failed;
static const char *test_skip_reason;

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            test_failed_checks++;                                        \
            fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
        }                                                                \
    } while (0)

/* SKIP(why): leave the test (a void function) here, because what it tests cannot run in
 * this build or on this machine (no OpenMP threads, a file that is absent), so that it is
 * counted as skipped rather than passed; a check that failed before still makes it FAIL. */
#define SKIP(why)                                                        \
    do {                                                                 \
        test_skip_reason = (why);                                        \
        return;                                                          \
    } while (0)

#define RUN(fn)                                                          \
    do {                                                                 \
        test_failed_checks = 0;                                          \
        test_skip_reason = NULL;                                         \
        fn();                                                            \
        if (test_failed_checks)                                          \
            printf("FAIL %s\n", #fn);                                    \
        else if (test_skip_reason)                                       \
            printf("SKIP %s: %s\n", #fn, test_skip_reason);              \
        else                                                             \
            printf("PASS %s\n", #fn);                                    \
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
