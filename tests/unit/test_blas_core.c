/* test_blas_core.c — the OpenBLAS kernel set chosen from cpuid feature bits (blas_core.h),
 * for the CPUs of these machines and for the partial feature sets that must not get a set
 * whose instructions would fault. */
#include <string.h>

#include "blas_core.h"
#include "test.h"

/* What cpuid reports on each CPU of shared/spec/machine.md: the AMD Zen 3 (AVX2), and the
 * Intel Xeon and AMD Zen 4/5 (AVX-512, Skylake-X's subsets among others). */
static const cpu_features AVX2_CPU = {.x86 = 1, .avx = 1, .fma = 1, .avx2 = 1, .os_ymm = 1};
static const cpu_features AVX512_CPU = {.x86 = 1,        .avx = 1,      .fma = 1,      .avx2 = 1,
                                        .avx512f = 1,    .avx512dq = 1, .avx512cd = 1, .avx512bw = 1,
                                        .avx512vl = 1,   .os_ymm = 1,   .os_zmm = 1};

static int same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static void test_level_from_features(void)
{
    CHECK(cpu_vec_level(&AVX512_CPU) == VEC_AVX512, "AVX-512 CPU");
    CHECK(cpu_vec_level(&AVX2_CPU) == VEC_AVX2, "AVX2 CPU");
    cpu_features f = AVX512_CPU;
    f.os_zmm = 0; /* an OS that does not save the ZMM registers: AVX-512 would fault */
    CHECK(cpu_vec_level(&f) == VEC_AVX2, "AVX-512 without the OS's support");
    f = AVX512_CPU;
    f.avx512bw = 0; /* AVX-512F without Skylake-X's byte/word subset (Knights Landing) */
    CHECK(cpu_vec_level(&f) == VEC_AVX2, "AVX-512 without BW");
    f = AVX2_CPU;
    f.fma = 0; /* OpenBLAS's Haswell kernels use FMA3 */
    CHECK(cpu_vec_level(&f) == VEC_AVX, "AVX2 without FMA");
    f = AVX2_CPU;
    f.os_ymm = 0;
    CHECK(cpu_vec_level(&f) == VEC_SSE, "AVX without the OS's support");
    CHECK(cpu_vec_level(&(cpu_features){.x86 = 1}) == VEC_SSE, "bare x86-64");
    CHECK(cpu_vec_level(&(cpu_features){0}) == VEC_NONE, "not x86");
}

static void test_core_levels(void)
{
    CHECK(blas_core_level("Prescott") == VEC_SSE, "Prescott");
    CHECK(blas_core_level("Katmai") == VEC_SSE, "Katmai");
    CHECK(blas_core_level("Sandybridge") == VEC_AVX, "Sandybridge");
    CHECK(blas_core_level("haswell") == VEC_AVX2, "OpenBLAS reads OPENBLAS_CORETYPE in any case");
    CHECK(blas_core_level("Zen") == VEC_AVX2, "Zen");
    CHECK(blas_core_level("Cooperlake") == VEC_AVX512, "Cooperlake");
    CHECK(blas_core_level("SkylakeX") == VEC_AVX512, "SkylakeX");
    CHECK(blas_core_level("Neoverse") == VEC_NONE && blas_core_level(NULL) == VEC_NONE, "unknown names");
    /* the sets chosen are ones OpenBLAS knows at the level they are chosen for */
    for (vec_level v = VEC_AVX; v <= VEC_AVX512; v++)
        CHECK(blas_core_level(blas_core_for_level(v)) == v, "the set for %s", vec_level_name(v));
    CHECK(blas_core_for_level(VEC_SSE) == NULL && blas_core_for_level(VEC_NONE) == NULL, "no set below AVX");
}

static void test_better_core(void)
{
    /* the case: a generic fallback on an AVX-512 CPU, and the same on an AVX2 one */
    CHECK(same(blas_core_better(&AVX512_CPU, "Prescott"), "SkylakeX"), "Prescott on AVX-512");
    CHECK(same(blas_core_better(&AVX2_CPU, "Prescott"), "Haswell"), "Prescott on AVX2");
    CHECK(same(blas_core_better(&AVX512_CPU, "Haswell"), "SkylakeX"), "Haswell on AVX-512");
    /* OpenBLAS's own choices on the CPUs it recognizes are kept */
    CHECK(blas_core_better(&AVX512_CPU, "Cooperlake") == NULL, "Cooperlake on Zen 5");
    CHECK(blas_core_better(&AVX2_CPU, "Zen") == NULL, "Zen on Zen 3");
    CHECK(blas_core_better(&AVX512_CPU, "SapphireRapids") == NULL, "SapphireRapids");
    /* a set not in the table may be newer than it: left alone */
    CHECK(blas_core_better(&AVX512_CPU, "Unknown") == NULL, "an unknown set");
    /* nothing better exists for a CPU without AVX, or off x86 */
    CHECK(blas_core_better(&(cpu_features){.x86 = 1}, "Prescott") == NULL, "SSE only");
    CHECK(blas_core_better(&(cpu_features){0}, "Prescott") == NULL, "not x86");
}

/* the detection reads this machine's cpuid: whatever it finds, at least SSE on x86 */
static void test_detect_here(void)
{
    cpu_features f;
    cpu_features_detect(&f);
#if defined(__x86_64__)
    CHECK(cpu_vec_level(&f) >= VEC_SSE, "x86-64 has SSE2");
#endif
    CHECK(!f.os_zmm || f.os_ymm, "the OS saves ZMM registers only with YMM ones");
}

int main(void)
{
    RUN(test_level_from_features);
    RUN(test_core_levels);
    RUN(test_better_core);
    RUN(test_detect_here);
    TEST_EXIT();
}
