/* test_ref_layers_f64.c — test_ref_layers.c against the library's double-precision build. */
#include "test_ref_layers.c"
