/* ref_check.h — what the tests against the naive reference (test_ref_*.c) share: inputs drawn
 * in double and rounded to the library's precision, kept in both (so the reference sees
 * exactly the library's inputs, and any difference is the library's arithmetic); the error
 * measure; the thread counts every fast path is run at. */
#ifndef XLSTM_REF_CHECK_H
#define XLSTM_REF_CHECK_H

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "xlstm.h"
#include "../../src/rng.h"
#include "../reference/xlstm_ref.h"

/* 1 and 2 threads, and 3 (on this 2-core machine, and for every split: uneven shares). */
static const int check_threads[] = {1, 2, 3};
#define CHECK_THREAD_COUNTS (int)(sizeof check_threads / sizeof *check_threads)

static inline void check_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n; /* without OpenMP every count is one thread: the runs repeat */
#endif
}

/* The same n values in the library's precision (r) and in double (d). */
typedef struct {
    xlstm_real *r;
    double *d;
    size_t n;
} twin;

static inline twin twin_new(size_t n)
{
    twin t = {calloc(n ? n : 1, sizeof(xlstm_real)), calloc(n ? n : 1, sizeof(double)), n};
    if (!t.r || !t.d) abort();
    return t;
}

static inline void twin_free(twin *t) { free(t->r), free(t->d); }

/* Entries [off, off + n) = mean + sd N(0, 1), rounded to the library's precision. */
static inline void twin_normal(twin *t, size_t off, size_t n, double mean, double sd, xrng *rng)
{
    for (size_t i = off; i < off + n; i++) {
        t->r[i] = (xlstm_real)(mean + sd * rng_normal(rng));
        t->d[i] = t->r[i];
    }
}

/* Entries [off, off + n) = +-50 (random sign) + N(0, 1): gate pre-activations whose
 * unstabilized exponentials (e^50, e^-50) are far outside what the stabilizer lets through. */
static inline void twin_extreme(twin *t, size_t off, size_t n, xrng *rng)
{
    for (size_t i = off; i < off + n; i++) {
        t->r[i] = (xlstm_real)((rng_uniform(rng) < 0.5 ? -50 : 50) + rng_normal(rng));
        t->d[i] = t->r[i];
    }
}

/* Entries [off, off + n) = their magnitudes. */
static inline void twin_abs(twin *t, size_t off, size_t n)
{
    for (size_t i = off; i < off + n; i++) {
        t->r[i] = (xlstm_real)fabs((double)t->r[i]);
        t->d[i] = t->r[i];
    }
}

/* Error of got against the reference want, n values at strides gs and ws: max |got - want| /
 * max |want|, relative to the largest magnitude (single values near zero carry no relative
 * meaning; an error relative to the tensor's scale does). */
static inline double check_err_strided(const xlstm_real *got, size_t gs, const double *want, size_t ws, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i * gs] - want[i * ws]);
        d = e > d || isnan(e) ? e : d; /* a NaN is the worst error */
        s = fmax(s, fabs(want[i * ws]));
    }
    return s > 0 ? d / s : d;
}

static inline double check_err(const xlstm_real *got, const double *want, size_t n)
{
    return check_err_strided(got, 1, want, 1, n);
}

/* Keeps the largest error seen (to print) and checks one against its bound. */
static inline int check_within(double err, double tol, double *worst)
{
    if (isnan(err) || err > *worst) *worst = err;
    return err <= tol;
}

#endif
