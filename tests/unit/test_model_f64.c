/* test_model_f64.c — the whole language model in float64: every parameter tensor's
 * gradient against central finite differences of the loss, for the parallel and the
 * chunkwise mLSTM forms, on mixed configs (sLSTM blocks with and without FFN and conv,
 * mLSTM blocks with biases, tied and untied heads, ignored targets), and on xLSTM Large in
 * both weight modes, with its input gates near the soft cap too (where the stabilizer's part
 * of the gradient counts). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "xlstm.h"
#include "../../src/rng.h"

/* Tolerance: |FD - g.u| <= FD_TOL * ||g_t|| ||u|| per tensor t, for a direction u inside t.
 * Not 1e-10: the backward treats the mLSTM stabilizer as a constant (as the official
 * kernels do), which ignores an O(eps = 1e-6) dependence of the output on it, so gate
 * gradients differ from the exact ones by up to a few 1e-6 relative. */
#define FD_TOL 1e-5
/* xLSTM Large's backward includes the stabilizer's part (mlstm_cell_backward_stabilizer): exact
 * up to the differences' own error (4e-8 at the step below, falling with a larger step; without
 * that part the extreme-gates test measures 1.2e-6). */
#define FD_TOL_LARGE 2e-7
#define FD_H 1e-5

static const char *CONFIG_MIXED =
    "{\"vocab_size\": 11, \"num_blocks\": 3, \"embedding_dim\": 16, \"slstm_at\": [1], \"bias\": true,"
    " \"mlstm_block\": {\"mlstm\": {\"num_heads\": 2, \"conv1d_kernel_size\": 3, \"qkv_proj_blocksize\": 4}},"
    " \"slstm_block\": {\"slstm\": {\"num_heads\": 2, \"conv1d_kernel_size\": 2, \"recurrent_weight_init\": \"standard\"},"
    " \"feedforward\": {\"proj_factor\": 1.3, \"act_fn\": \"gelu\"}}}";
static const char *CONFIG_SLSTM_TIED =
    "{\"vocab_size\": 9, \"num_blocks\": 2, \"embedding_dim\": 8, \"tie_weights\": true, \"add_post_blocks_norm\": false,"
    " \"slstm_block\": {\"slstm\": {\"num_heads\": 2, \"conv1d_kernel_size\": 0, \"bias_init\": \"standard\"},"
    " \"feedforward\": null}}";
static const char *CONFIG_MLSTM =
    "{\"vocab_size\": 7, \"num_blocks\": 2, \"embedding_dim\": 8,"
    " \"mlstm_block\": {\"mlstm\": {\"num_heads\": 1, \"proj_factor\": 1.0, \"round_proj_up_to_multiple_of\": 4}}}";

/* xLSTM Large: D 16, 2 heads (DK 4, DV 8), FFN 48, soft caps 15 and 30 */
static const char *CONFIG_LARGE =
    "{\"architecture\": \"xlstm_large\", \"vocab_size\": 13, \"embedding_dim\": 16, \"num_heads\": 2,"
    " \"num_blocks\": 2, \"ffn_round_up_to_multiple_of\": 16, \"chunk_size\": 4}";
static const char *CONFIG_LARGE_FUSED =
    "{\"architecture\": \"xlstm_large\", \"vocab_size\": 13, \"embedding_dim\": 16, \"num_heads\": 2,"
    " \"num_blocks\": 2, \"ffn_round_up_to_multiple_of\": 16, \"weight_mode\": \"fused\","
    " \"output_logit_soft_cap\": 2.0}";

static xlstm_model *make_model(const char *json, uint64_t seed)
{
    xlstm_model *m = NULL;
    if (xlstm_model_create_json(&m, json, strlen(json)) != 0) {
        fprintf(stderr, "  config: %s\n", xlstm_errmsg());
        return NULL;
    }
    xlstm_model_init(m, seed);
    /* perturb every parameter so that no path is trivially zero or one (the official init
     * zeroes the gate weights and norm offsets) */
    xrng r;
    rng_seed(&r, seed + 1);
    double *p = xlstm_model_params(m);
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        for (size_t j = 0; j < t->numel; j++) p[t->offset + j] += 0.2 * rng_normal(&r);
    }
    return m;
}

static double loss_at(xlstm_model *m, const int32_t *tok, const int32_t *tgt, int B, int T)
{
    float unused;
    if (xlstm_forward(m, tok, tgt, B, T, &unused) != 0) return NAN;
    /* the float return rounds: recompute in double from the logits */
    const double *lg = xlstm_logits(m);
    int V = xlstm_model_vocab_size(m), count = 0;
    double sum = 0;
    for (int n = 0; n < B * T; n++) {
        if (tgt[n] < 0) continue;
        const double *row = lg + (size_t)n * V;
        double mx = row[0], s = 0;
        for (int v = 1; v < V; v++) mx = row[v] > mx ? row[v] : mx;
        for (int v = 0; v < V; v++) s += exp(row[v] - mx);
        sum += mx + log(s) - row[tgt[n]];
        count++;
    }
    return sum / count;
}

/* For every tensor: directions along the gradient and random, FD vs the analytic value.
 * igate_bias (unless 0): every input-gate bias of an xLSTM Large model set to it. */
static void check_grads_gates(const char *json, int chunk, int B, int T, double igate_bias, double tol,
                              double *worst)
{
    xlstm_model *m = make_model(json, 7);
    CHECK(m != NULL, "model");
    if (!m) return;
    CHECK(xlstm_model_set_chunk_size(m, chunk) == 0, "%s", xlstm_errmsg());
    for (int i = 0; igate_bias != 0 && i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        if (strstr(t->name, "igate_preact.bias"))
            for (size_t j = 0; j < t->numel; j++) xlstm_model_params(m)[t->offset + j] = igate_bias + 0.3 * j;
    }
    int V = xlstm_model_vocab_size(m), N = B * T;
    int32_t *tok = malloc(N * sizeof *tok), *tgt = malloc(N * sizeof *tgt);
    xrng r;
    rng_seed(&r, 3);
    for (int n = 0; n < N; n++) {
        tok[n] = (int32_t)(rng_next(&r) % V);
        tgt[n] = n % 5 == 4 ? -1 : (int32_t)(rng_next(&r) % V); /* some ignored targets */
    }
    xlstm_zero_grad(m);
    float loss;
    CHECK(xlstm_forward(m, tok, tgt, B, T, &loss) == 0 && xlstm_backward(m) == 0, "%s", xlstm_errmsg());
    size_t P = xlstm_model_num_params(m);
    double *g = malloc(P * sizeof *g), *u = malloc(P * sizeof *u);
    memcpy(g, xlstm_model_grads(m), P * sizeof *g);
    double *p = xlstm_model_params(m);
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        double gn = 0;
        for (size_t j = 0; j < t->numel; j++) gn += g[t->offset + j] * g[t->offset + j];
        gn = sqrt(gn);
        for (int dir = 0; dir < 2; dir++) {
            double un = 0, gu = 0;
            for (size_t j = 0; j < t->numel; j++) {
                double x = dir == 0 && gn > 0 ? g[t->offset + j] / gn : rng_normal(&r);
                u[j] = x;
                un += x * x;
                gu += x * g[t->offset + j];
            }
            un = sqrt(un);
            for (size_t j = 0; j < t->numel; j++) p[t->offset + j] += FD_H * u[j];
            double lp = loss_at(m, tok, tgt, B, T);
            for (size_t j = 0; j < t->numel; j++) p[t->offset + j] -= 2 * FD_H * u[j];
            double lm = loss_at(m, tok, tgt, B, T);
            for (size_t j = 0; j < t->numel; j++) p[t->offset + j] += FD_H * u[j];
            double fd = (lp - lm) / (2 * FD_H);
            double scale = gn * un > 1e-9 ? gn * un : 1e-9;
            double err = fabs(fd - gu) / scale;
            if (err > *worst) *worst = err;
            CHECK(err <= tol, "%s (chunk %d, dir %d): fd %.10g vs analytic %.10g (rel %.2e)", t->name, chunk,
                  dir, fd, gu, err);
        }
    }
    free(g), free(u), free(tok), free(tgt);
    xlstm_model_free(m);
}

static void check_model_grads(const char *json, int chunk, int B, int T, double *worst)
{
    check_grads_gates(json, chunk, B, T, 0, strstr(json, "xlstm_large") ? FD_TOL_LARGE : FD_TOL, worst);
}

static double worst_err, worst_large;

static void test_mixed_parallel(void) { check_model_grads(CONFIG_MIXED, 0, 2, 9, &worst_err); }
static void test_mixed_chunkwise(void) { check_model_grads(CONFIG_MIXED, 4, 2, 9, &worst_err); }
static void test_slstm_tied_no_conv(void) { check_model_grads(CONFIG_SLSTM_TIED, 64, 3, 6, &worst_err); }
static void test_mlstm_only_chunk1(void) { check_model_grads(CONFIG_MLSTM, 1, 1, 7, &worst_err); }
static void test_large_parallel(void) { check_model_grads(CONFIG_LARGE, 0, 2, 9, &worst_large); }
static void test_large_chunkwise(void) { check_model_grads(CONFIG_LARGE, 4, 2, 9, &worst_large); }
static void test_large_fused_chunk1(void) { check_model_grads(CONFIG_LARGE_FUSED, 1, 1, 7, &worst_large); }
/* input gates near the cap: e^m reaches ~1e6 = 1 / eps, where the stabilizer's part of the
 * gradient exceeds FD_TOL_LARGE */
static void test_large_extreme_gates(void)
{
    check_grads_gates(CONFIG_LARGE, 4, 2, 9, 14.0, FD_TOL_LARGE, &worst_large);
    check_grads_gates(CONFIG_LARGE, 0, 1, 9, 14.0, FD_TOL_LARGE, &worst_large);
}

int main(void)
{
    RUN(test_mixed_parallel);
    RUN(test_mixed_chunkwise);
    RUN(test_slstm_tied_no_conv);
    RUN(test_mlstm_only_chunk1);
    RUN(test_large_parallel);
    RUN(test_large_chunkwise);
    RUN(test_large_fused_chunk1);
    RUN(test_large_extreme_gates);
    printf("  worst model finite-difference error: %.2e (bound %.0e); xLSTM Large: %.2e (bound %.0e)\n", worst_err,
           FD_TOL, worst_large, FD_TOL_LARGE);
    TEST_EXIT();
}
