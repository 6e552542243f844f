/* xent.c — softmax cross-entropy over the vocabulary (the LM loss), ignoring targets < 0. */
#include "ops.h"
#include "tuning.h"

/* Returns sum_v exp(l[v] - max) (in double) and writes max: log-sum-exp = max + log(sum). */
static double row_expsum(const real *l, int V, real *max)
{
    real mx = l[0];
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp(l[v] - mx);
    *max = mx;
    return s;
}

/* logits [N, V]; loss = mean over counted rows of logsumexp(row) - row[target]. */
double xent_forward(const real *logits, const int32_t *targets, int N, int V, int *count)
{
    double loss = 0;
    int counted = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, counted) if ((long)N * V > PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) continue;
        const real *l = logits + (size_t)n * V;
        real mx;
        double s = row_expsum(l, V, &mx);
        loss += (double)mx + log(s) - (double)l[targets[n]];
        counted++;
    }
    if (count) *count = counted;
    return counted ? loss / counted : 0;
}

/* Every row is read (max, sum) before its first write, so dlogits may alias logits. */
void xent_backward(real *dlogits, const real *logits, const int32_t *targets, int N, int V, real scale)
{
#pragma omp parallel for schedule(static) if ((long)N * V > PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) {
        const real *l = logits + (size_t)n * V;
        real *d = dlogits + (size_t)n * V;
        int t = targets[n];
        if (t < 0) {
            for (int v = 0; v < V; v++) d[v] = 0;
            continue;
        }
        real mx;
        real k = (real)(scale / row_expsum(l, V, &mx)); /* softmax = exp(l - max) / sum */
        for (int v = 0; v < V; v++) d[v] = exp(l[v] - mx) * k;
        d[t] -= scale;
    }
}
