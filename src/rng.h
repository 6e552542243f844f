/* rng.h — a small, fast, reproducible RNG (xoshiro256** seeded by splitmix64), with
 * uniform and normal draws. The state is plain data so that it can be checkpointed. */
#ifndef XLSTM_RNG_H
#define XLSTM_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } xrng;

static inline uint64_t rng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void rng_seed(xrng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = rng_splitmix64(&seed);
}

static inline uint64_t rng_next(xrng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
static inline double rng_uniform(xrng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* standard normal (Box-Muller; one draw per call keeps the stream simple to reason about) */
static inline double rng_normal(xrng *r)
{
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

#endif
