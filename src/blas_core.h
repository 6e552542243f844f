/* blas_core.h — which of OpenBLAS's kernel sets ("core types") suits this CPU, decided from
 * its cpuid feature bits, and whether the set OpenBLAS chose for itself falls short of it.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its set once, in a library constructor
 * before main(), from OPENBLAS_CORETYPE or else from the CPU's family and model numbers. A
 * CPU newer than the library is not recognized and gets generic SSE3 kernels (Debian's
 * 0.3.21 on an Intel Xeon of family 6 model 207, with AVX-512: "Prescott", sgemm at 65
 * GFLOP/s against 317 with OPENBLAS_CORETYPE=SkylakeX; shared/spec/machine.md). The
 * feature bits say what the CPU can run whatever its name. */
#ifndef XLSTM_BLAS_CORE_H
#define XLSTM_BLAS_CORE_H

#include <stddef.h>

/* The widest vectors a CPU (with its OS) can run, or that a kernel set uses. */
typedef enum { VEC_NONE, VEC_SSE, VEC_AVX, VEC_AVX2, VEC_AVX512 } vec_level;

/* cpuid's answers that the choice reads (all 0 off x86) */
typedef struct {
    int x86;
    int avx, fma, avx2;                                /* leaf 1 ecx, leaf 7 ebx */
    int avx512f, avx512dq, avx512cd, avx512bw, avx512vl; /* leaf 7 ebx: Skylake-X's set */
    int os_ymm, os_zmm; /* XCR0: the OS saves the AVX, and the AVX-512, registers */
} cpu_features;

void cpu_features_detect(cpu_features *f);
vec_level cpu_vec_level(const cpu_features *f);
const char *vec_level_name(vec_level v);

/* The kernel set for a level: SkylakeX, Haswell or Sandybridge; NULL below AVX, where
 * OpenBLAS's own choice is as good as any. */
const char *blas_core_for_level(vec_level v);

/* The vectors a kernel set named by openblas_get_corename() or OPENBLAS_CORETYPE uses
 * (any case); VEC_NONE for a name not known here. */
vec_level blas_core_level(const char *core);

/* The set to force instead of `active` on a CPU with features f: the one for the CPU's
 * level when active's is known and lower; else NULL (active suits it, or is a set newer
 * than this table, which is left alone). */
const char *blas_core_better(const cpu_features *f, const char *active);

/* The environment variable through which the program, when it re-executes itself with
 * OPENBLAS_CORETYPE set to blas_core_better()'s choice, tells its new image what OpenBLAS's
 * own detection had chosen (src/cli/main.c). */
#define BLAS_CORE_DETECTED_ENV "XLSTM_OPENBLAS_DETECTED"

/* The set to re-execute with, OpenBLAS running `active` (openblas_get_corename()):
 * blas_core_better() for this CPU where OPENBLAS_CORETYPE is unset or empty (else it is the
 * user's choice, and a re-executed image finds it set: no loop); else NULL. */
const char *blas_core_override(const char *active);

/* "<active> kernels: <how they were chosen>" for xlstm_build_info(), into buf. */
void blas_core_describe(char *buf, size_t size, const char *active);

#endif
