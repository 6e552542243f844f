/* test.h — the smallest useful test harness. Each test is a function; RUN(fn) runs it and
 * prints "PASS name" or "FAIL name"; tests/run.sh counts these lines over all programs. */
#ifndef XLSTM_TEST_H
#define XLSTM_TEST_H

#include <math.h>
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

#endif
