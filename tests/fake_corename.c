/* fake_corename.c — preloaded by tests/cli_blas.sh in front of OpenBLAS: its
 * openblas_get_corename() answers as Debian's OpenBLAS 0.3.21 does on a CPU it does not
 * recognize (the Intel Xeon of shared/spec/machine.md): Prescott, unless OPENBLAS_CORETYPE
 * names a set. The kernels that run are OpenBLAS's own. */
#include <stdlib.h>

char *openblas_get_corename(void)
{
    char *forced = getenv("OPENBLAS_CORETYPE");
    return forced && *forced ? forced : "Prescott";
}
