/* blas_core.c — the OpenBLAS kernel set for this CPU from its feature bits (blas_core.h). */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "blas_core.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

void cpu_features_detect(cpu_features *f)
{
    *f = (cpu_features){0};
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    f->x86 = 1;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    f->fma = c >> 12 & 1;
    f->avx = c >> 28 & 1;
    if (c >> 27 & 1) { /* OSXSAVE: XGETBV reads which registers the OS saves */
        unsigned xcr0, hi;
        __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
        f->os_ymm = (xcr0 & 0x6) == 0x6;    /* SSE and AVX state */
        f->os_zmm = (xcr0 & 0xe0) == 0xe0; /* opmask, upper halves of ZMM0-15, ZMM16-31 */
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    f->avx2 = b >> 5 & 1;
    f->avx512f = b >> 16 & 1;
    f->avx512dq = b >> 17 & 1;
    f->avx512cd = b >> 28 & 1;
    f->avx512bw = b >> 30 & 1;
    f->avx512vl = b >> 31 & 1;
#endif
}

/* OpenBLAS's Haswell kernels need FMA3 beside AVX2, and its SkylakeX kernels Skylake-X's
 * AVX-512 subsets; each also needs the OS to save the registers, or the first use faults. */
vec_level cpu_vec_level(const cpu_features *f)
{
    if (!f->x86) return VEC_NONE;
    if (!f->avx || !f->os_ymm) return VEC_SSE;
    if (!f->avx2 || !f->fma) return VEC_AVX;
    if (f->avx512f && f->avx512dq && f->avx512cd && f->avx512bw && f->avx512vl && f->os_zmm) return VEC_AVX512;
    return VEC_AVX2;
}

const char *vec_level_name(vec_level v)
{
    static const char *names[] = {"no x86 vectors", "SSE", "AVX", "AVX2", "AVX-512"};
    return names[v];
}

const char *blas_core_for_level(vec_level v)
{
    /* SkylakeX rather than Cooperlake (what OpenBLAS picks itself on AVX-512 CPUs with BF16):
     * Cooperlake adds only bfloat16 kernels to SkylakeX's, which nothing here calls */
    return v == VEC_AVX512 ? "SkylakeX" : v == VEC_AVX2 ? "Haswell" : v == VEC_AVX ? "Sandybridge" : NULL;
}

/* The x86 names of OpenBLAS 0.3.21's corename table (driver/others/dynamic.c) and
 * SapphireRapids (0.3.22 on), by the vectors of their kernels. */
static const struct {
    const char *name;
    vec_level level;
} CORES[] = {
    {"Katmai", VEC_SSE},       {"Coppermine", VEC_SSE},   {"Northwood", VEC_SSE},    {"Prescott", VEC_SSE},
    {"Banias", VEC_SSE},       {"Atom", VEC_SSE},         {"Core2", VEC_SSE},        {"Penryn", VEC_SSE},
    {"Dunnington", VEC_SSE},   {"Nehalem", VEC_SSE},      {"Athlon", VEC_SSE},       {"Opteron", VEC_SSE},
    {"Opteron_SSE3", VEC_SSE}, {"Barcelona", VEC_SSE},    {"Nano", VEC_SSE},         {"Bobcat", VEC_SSE},
    {"Sandybridge", VEC_AVX},  {"Bulldozer", VEC_AVX},    {"Piledriver", VEC_AVX},   {"Steamroller", VEC_AVX},
    {"Haswell", VEC_AVX2},     {"Excavator", VEC_AVX2},   {"Zen", VEC_AVX2},         {"SkylakeX", VEC_AVX512},
    {"Cooperlake", VEC_AVX512}, {"SapphireRapids", VEC_AVX512},
};

vec_level blas_core_level(const char *core)
{
    for (size_t i = 0; core && i < sizeof CORES / sizeof *CORES; i++)
        if (strcasecmp(core, CORES[i].name) == 0) return CORES[i].level;
    return VEC_NONE;
}

const char *blas_core_better(const cpu_features *f, const char *active)
{
    vec_level have = blas_core_level(active), can = cpu_vec_level(f);
    return have != VEC_NONE && have < can ? blas_core_for_level(can) : NULL;
}

/* OPENBLAS_CORETYPE as OpenBLAS reads it: an empty value counts as unset (0.3.21 then
 * detects the CPU itself, as seen here) */
static const char *user_coretype(void)
{
    const char *v = getenv("OPENBLAS_CORETYPE");
    return v && *v ? v : NULL;
}

const char *blas_core_override(const char *active)
{
    if (user_coretype()) return NULL;
    cpu_features f;
    cpu_features_detect(&f);
    return blas_core_better(&f, active);
}

void blas_core_describe(char *buf, size_t size, const char *active)
{
    cpu_features f;
    cpu_features_detect(&f);
    vec_level can = cpu_vec_level(&f);
    const char *user = user_coretype(), *detected = getenv(BLAS_CORE_DETECTED_ENV);
    const char *better = blas_core_better(&f, active), *ours = blas_core_for_level(can);
    char cpu[64] = "", advice[128] = "";
    if (can != VEC_NONE) snprintf(cpu, sizeof cpu, " for this CPU's %s", vec_level_name(can));
    if (better) snprintf(advice, sizeof advice, "; xlstm would choose %s%s", better, cpu);
    if (user && detected && ours && strcasecmp(user, ours) == 0)
        snprintf(buf, size, "%s kernels: chosen by xlstm%s, as OpenBLAS's own detection gave %s", active, cpu,
                 detected);
    else if (user)
        snprintf(buf, size, "%s kernels: OPENBLAS_CORETYPE=%s, the user's choice%s", active, user, advice);
    else
        snprintf(buf, size, "%s kernels: OpenBLAS's own choice%s", active, better ? advice : cpu);
}
