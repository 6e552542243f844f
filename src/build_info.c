/* build_info.c — what this build of libxlstm uses, for diagnostics and benchmarks. */
#include <stdio.h>

#include "blas_core.h"
#include "common.h"
#include "kernels/ops.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef XLSTM_USE_CBLAS
#include <cblas.h>
#endif

const char *xlstm_build_info(void)
{
    static char info[512];
    const char *blas = "portable C matmul (no BLAS)";
#ifdef XLSTM_USE_CBLAS
    static char blas_buf[320];
    char core[256];
    blas_core_describe(core, sizeof core, openblas_get_corename());
    snprintf(blas_buf, sizeof blas_buf, "OpenBLAS (%s)", core);
    blas = blas_buf;
#endif
    /* which code the loops marked AVX2_CLONES run (ops.h): the loader picks the clone by the
     * same test */
    const char *clones = "no AVX2 clones (baseline code)";
#if XLSTM_CLONES
    clones = __builtin_cpu_supports("avx2") ? "AVX2 clones (avx2 in use)" : "AVX2 clones (baseline in use: no AVX2)";
#endif
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    snprintf(info, sizeof info, "%s, %s, %s, %d thread%s, %s", sizeof(real) == 4 ? "float32" : "float64", blas,
             clones, threads, threads == 1 ? "" : "s",
#ifdef _OPENMP
             "OpenMP"
#else
             "no OpenMP"
#endif
    );
    return info;
}
