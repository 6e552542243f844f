/* position_loss.c — loss by position in a window, in buckets doubling in size. */
#include <math.h>

#include "cli/position_loss.h"

void add_position_losses(const xlstm_real *logits, const int32_t *targets, int B, int T, int V, double *pos_loss)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const xlstm_real *l = logits + ((size_t)b * T + t) * V;
            double max = l[0], sum = 0;
            for (int v = 1; v < V; v++) max = l[v] > max ? l[v] : max;
            for (int v = 0; v < V; v++) sum += exp((double)l[v] - max);
            pos_loss[t] += max + log(sum) - (double)l[targets[(size_t)b * T + t]];
        }
}

int bucket_edges(int T, int *edges)
{
    int n = 0;
    edges[n++] = 0;
    for (long e = POSITION_FIRST_BUCKET; e < T; e *= 2) edges[n++] = (int)e;
    edges[n] = T;
    return n;
}
