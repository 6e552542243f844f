/* ref_ops.c — the reference's building blocks: scalar activations, linear and block-diagonal
 * maps, the norms and the causal conv, as the plainest loops (see xlstm_ref.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm_ref.h"

double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* -log(1 + e^-x), written for each sign so that the exponential never overflows */
double ref_logsigmoid(double x) { return x > 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }

double ref_silu(double x) { return x * ref_sigmoid(x); }

double ref_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }

double *ref_alloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "reference: out of memory for %zu doubles\n", n);
        abort();
    }
    return p;
}

void ref_linear(double *y, const double *x, const double *W, const double *b, int T, int in, int out)
{
    ref_headwise(y, x, W, b, T, 1, in, out); /* a dense map is one block */
}

void ref_headwise(double *y, const double *x, const double *W, const double *b, int T, int blocks, int in, int out)
{
    for (int t = 0; t < T; t++)
        for (int h = 0; h < blocks; h++)
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++)
                    s += W[((size_t)h * out + o) * in + i] * x[(size_t)t * blocks * in + h * in + i];
                int e = h * out + o;
                y[(size_t)t * blocks * out + e] = s + (b ? b[e] : 0);
            }
}

void ref_norm(double *y, const double *x, const double *w, int T, int G, int width)
{
    for (int t = 0; t < T; t++)
        for (int g = 0; g < G; g++) {
            size_t o = ((size_t)t * G + g) * width;
            double mean = 0, var = 0;
            for (int j = 0; j < width; j++) mean += x[o + j];
            mean /= width;
            for (int j = 0; j < width; j++) var += (x[o + j] - mean) * (x[o + j] - mean);
            var /= width;
            for (int j = 0; j < width; j++)
                y[o + j] = (x[o + j] - mean) / sqrt(var + REF_NORM_EPS) * (1 + w[(size_t)g * width + j]);
        }
}

void ref_causal_conv(double *y, const double *x, double *hist, const double *w, const double *b, int T, int C, int K)
{
    /* the history and the sequence one after the other: row r of xs is x_{r-(K-1)} */
    int H = K - 1;
    double *xs = ref_alloc((size_t)(H + T) * C);
    if (H > 0) memcpy(xs, hist, sizeof(double) * H * C);
    memcpy(xs + (size_t)H * C, x, sizeof(double) * T * C);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double s = b[c];
            for (int k = 0; k < K; k++) s += w[(size_t)c * K + k] * xs[(size_t)(t + k) * C + c];
            y[(size_t)t * C + c] = s;
        }
    if (H > 0) memcpy(hist, xs + (size_t)T * C, sizeof(double) * H * C);
    free(xs);
}
