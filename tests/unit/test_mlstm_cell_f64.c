/* test_mlstm_cell_f64.c — the tests of test_mlstm_cell.c in double precision, plus:
 *  - the backward against central finite differences of sum(h * r), for chunk sizes
 *    1, 3, 4, >= T (T = 10) and the parallel form. The backward treats the stabilizers m as
 *    constants; with eps = 0 the function does not depend on m at all, so there the check
 *    is exact (norm-wise relative error per gradient tensor <= 1e-6). With the official
 *    eps = 1e-6 the true function has an O(eps / denominator) dependence through m, which
 *    the backward ignores by design; that case gets a looser bound (2e-5; 6.8e-6 measured
 *    on its fixed problem, in the gate gradients only).
 *  - the forward against a direct unstabilized long-double evaluation, also with gate
 *    pre-activations around +/-50. */
#define MLSTM_CELL_EXTRA_TESTS run_f64_tests
#include "test_mlstm_cell.c"

/* Direct unstabilized reference: h_t = sum_j w_tj v_j / (max(|sum_j w_tj|, 1) + eps e^{m_t}),
 * w_tj = (q_t . k_j / sqrt(DH)) e^{F_t - F_j + i_j}, m_t = max(F_t + m0, max_j (F_t - F_j + i_j))
 * with m0 = 0 (chunkwise / step) or -inf (parallel). */
static void reference_forward(real *h, const problem *p, int parallel, long double eps)
{
    int T = p->T, E = p->E, DH = p->DH, NH = p->NH;
    long double *F = malloc(sizeof(long double) * (T + 1));
    for (int b = 0; b < p->B; b++)
        for (int hd = 0; hd < NH; hd++) {
            F[0] = 0;
            for (int t = 0; t < T; t++) {
                long double f = p->fg[((size_t)b * T + t) * NH + hd];
                F[t + 1] = F[t] - log1pl(expl(-f));
            }
            for (int t = 0; t < T; t++) {
                const real *q = p->q + ((size_t)b * T + t) * E + hd * DH;
                long double num[64] = {0}, den = 0, m = parallel ? -INFINITY : F[t + 1];
                for (int j = 0; j <= t; j++) {
                    const real *k = p->k + ((size_t)b * T + j) * E + hd * DH, *v = p->v + ((size_t)b * T + j) * E + hd * DH;
                    long double logd = F[t + 1] - F[j + 1] + p->ig[((size_t)b * T + j) * NH + hd], s = 0;
                    for (int a = 0; a < DH; a++) s += (long double)q[a] * k[a];
                    long double w = s / sqrtl(DH) * expl(logd);
                    for (int e = 0; e < DH; e++) num[e] += w * v[e];
                    den += w;
                    m = logd > m ? logd : m;
                }
                long double dn = (fabsl(den) > 1 ? fabsl(den) : 1) + eps * expl(m);
                for (int e = 0; e < DH; e++) h[((size_t)b * T + t) * E + hd * DH + e] = (real)(num[e] / dn);
            }
        }
    free(F);
}

static void check_against_reference(problem *p, const char *what)
{
    size_t n = hsize(p);
    real *h = xlstm_alloc(n, sizeof(real), "h"), *ref = xlstm_alloc(n, sizeof(real), "ref");
    for (int parallel = 0; parallel <= 1; parallel++) {
        reference_forward(ref, p, parallel, MLSTM_EPS);
        int cs[] = {1, 3, 64};
        for (int ic = 0; ic < 3; ic++) {
            if (parallel && ic > 0) break;
            CHECK(forward(h, NULL, p, cs[ic], parallel, NULL) == 0, "%s", xlstm_errmsg());
            double e = rel_diff(h, ref, n);
            CHECK(e <= 1e-12, "%s: %s chunk %d vs long-double reference %.3g", what,
                  parallel ? "parallel" : "chunkwise", cs[ic], e);
        }
    }
    xlstm_free(h), xlstm_free(ref);
}

static void test_forward_vs_long_double(void)
{
    problem p = make_problem(2, 12, 2, 8, 0, 2, 2, 2);
    check_against_reference(&p, "normal gates");
    for (size_t i = 0; i < gsize(&p); i++) {
        p.ig[i] = (real)((urand() < 0.5 ? -50 : 50) + nrand());
        p.fg[i] = (real)((urand() < 0.5 ? -50 : 50) + nrand());
    }
    check_against_reference(&p, "gates +/-50");
    for (size_t i = 0; i < gsize(&p); i++) p.ig[i] = (real)(-50 + nrand()); /* the floor and the m0 term win */
    check_against_reference(&p, "input gates -50");
    free_problem(&p);
}

static double loss_eps(const problem *p, const real *r, int chunk, int parallel, real eps)
{
    real *h = xlstm_alloc(hsize(p), sizeof(real), "h");
    mlstm_cell_forward_eps(h, NULL, cell_in(p), NULL, cell_dims(p), (mlstm_form){parallel, chunk}, eps, NULL);
    double s = 0;
    for (size_t i = 0; i < hsize(p); i++) s += (double)h[i] * r[i];
    xlstm_free(h);
    return s;
}

/* Each gradient tensor vs central differences: norm-wise relative error <= tol. */
static void fd_check(problem *p, const real *r, int chunk, int parallel, real eps, double tol, const char *what)
{
    grads g = make_grads(p, 0);
    CHECK(backward_eps(&g, r, p, chunk, parallel, eps) == 0, "%s", xlstm_errmsg());
    real *inputs[5] = {p->q, p->k, p->v, p->ig, p->fg}, *gi[5] = {g.dq, g.dk, g.dv, g.dig, g.dfg};
    size_t sizes[5] = {hsize(p), hsize(p), hsize(p), gsize(p), gsize(p)};
    const char *names[5] = {"dq", "dk", "dv", "dig", "dfg"};
    const double step = 1e-5;
    for (int a = 0; a < 5; a++) {
        double num = 0, den = 0;
        for (size_t i = 0; i < sizes[a]; i++) {
            real x = inputs[a][i];
            inputs[a][i] = x + step;
            double lp = loss_eps(p, r, chunk, parallel, eps);
            inputs[a][i] = x - step;
            double lm = loss_eps(p, r, chunk, parallel, eps);
            inputs[a][i] = x;
            double fd = (lp - lm) / (2 * step);
            num += (gi[a][i] - fd) * (gi[a][i] - fd);
            den += fd * fd;
        }
        double e = sqrt(num / (den > 0 ? den : 1));
        CHECK(den > 0 && e <= tol, "%s, chunk %d%s, eps %g: %s rel err %.3g (tol %g)", what, chunk,
              parallel ? " (parallel)" : "", (double)eps, names[a], e, tol);
    }
    xlstm_free(g.all);
}

static void fd_all_forms(problem *p, const char *what, real eps, double tol)
{
    real *r = xlstm_alloc(hsize(p), sizeof(real), "r");
    fill(r, hsize(p), 0, 1);
    const int cs[] = {1, 3, 4, 10, 64};
    for (size_t ic = 0; ic < sizeof cs / sizeof *cs; ic++) fd_check(p, r, cs[ic], 0, eps, tol, what);
    fd_check(p, r, 0, 1, eps, tol, what);
    xlstm_free(r);
}

static void test_backward_fd_eps0(void)
{
    problem p = make_problem(2, 10, 2, 4, 0, 2, 2, 2);
    fd_all_forms(&p, "normal gates", 0, 1e-6);
    free_problem(&p);
}

static void test_backward_fd_eps0_extreme(void)
{
    problem p = make_problem(2, 10, 2, 4, 0, 1, 0, 1);
    for (size_t i = 0; i < gsize(&p); i++) {
        p.ig[i] += urand() < 0.5 ? -50 : 50;
        p.fg[i] += urand() < 0.5 ? -50 : 50;
    }
    fd_all_forms(&p, "gates +/-50", 0, 1e-6);
    free_problem(&p);
}

/* The error here is the ignored dependence through m, so it depends on the instance: over
 * the problems of seeds 1 to 30 (chunk 3) the worst gradient's error ranged from 8e-7 to
 * 6.5e-5. Hence a problem of its own seed, whatever the tests before it drew. */
static void test_backward_fd_official_eps(void)
{
    rng_state = 1;
    problem p = make_problem(2, 10, 2, 4, 0, 2, 2, 2);
    fd_all_forms(&p, "normal gates", MLSTM_EPS, 2e-5); /* measured 6.8e-6 (dig, every form) */
    free_problem(&p);
}

static void run_f64_tests(void)
{
    RUN(test_forward_vs_long_double);
    RUN(test_backward_fd_eps0);
    RUN(test_backward_fd_eps0_extreme);
    RUN(test_backward_fd_official_eps);
}
