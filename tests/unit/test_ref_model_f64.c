/* test_ref_model_f64.c — test_ref_model.c against the library's double-precision build. */
#include "test_ref_model.c"
