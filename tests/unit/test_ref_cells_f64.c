/* test_ref_cells_f64.c — test_ref_cells.c against the library's double-precision build. */
#include "test_ref_cells.c"
