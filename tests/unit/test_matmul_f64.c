/* test_matmul_f64.c — the tests of test_matmul.c in double precision. */
#include "test_matmul.c"
