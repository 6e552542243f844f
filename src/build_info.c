/* build_info.c — what this build of libxlstm uses, for diagnostics and benchmarks. */
#include <stdio.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef XLSTM_USE_CBLAS
#include <cblas.h>
#endif

const char *xlstm_build_info(void)
{
    static char info[256];
    const char *blas = "portable C matmul (no BLAS)";
#ifdef XLSTM_USE_CBLAS
    static char blas_buf[128];
    snprintf(blas_buf, sizeof blas_buf, "OpenBLAS (%s kernels)", openblas_get_corename());
    blas = blas_buf;
#endif
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    snprintf(info, sizeof info, "%s, %s, %d thread%s, %s", sizeof(real) == 4 ? "float32" : "float64", blas, threads,
             threads == 1 ? "" : "s",
#ifdef _OPENMP
             "OpenMP"
#else
             "no OpenMP"
#endif
    );
    return info;
}
