/* test_ref_model.c — the whole language model against the naive reference (tests/reference)
 * run per sequence, through the public API:
 *  - xlstm_forward over a batch of B = 3 sequences, in the parallel form and chunkwise with
 *    chunk 1, 3, 16, 64 (T = 48): the residual stream after every block and the logits;
 *  - xlstm_step token by token over one sequence, xlstm_prefill of another in pieces of
 *    1, 16, 20 and 11 tokens (chunks 3, 16, 64, 1), and xlstm_step_batch over all B: the logits;
 * at 1, 2 and 3 threads, for two configs (a mixed stack of D 128 with a gated FFN, above the
 * thresholds where the layers run threaded; and a small one with biases, tied head, no
 * post-blocks norm, an sLSTM block without conv and FFN), with the parameters perturbed and,
 * in the extreme regime, every input and forget gate pre-activation around +/-50 (biases
 * +/-50, gate weights scaled so that the data moves the gates by tens). Built in float
 * (this file) and double (test_ref_model_f64.c), with the tolerances below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_check.h"
#include "test.h"

/* Errors: max |library - reference| / max |reference| per tensor (ref_check.h), bounds
 * {normal, +/-50}. The model chains the layers of test_ref_layers.c (see its measurements).
 * Double: sums in other orders: measured 5e-15; with +/-50 the log-space exponents of ~1e3
 * round at 1e3 * 2^-52 = 2e-13 absolute, and the blocks carry that on: measured 7e-13.
 * Float: the layers' rounding (2^-24 = 6e-8 per operation over sums of D = 64 .. 256 terms)
 * through the blocks and the head: measured 2.3e-6; with +/-50 the decay factors' relative
 * error of ~1e3 * 6e-8 (the exponents' rounding): measured 1.9e-5 to 3e-5 (OpenBLAS builds)
 * and 5.5e-5 (the portable build). */
#ifdef XLSTM_DOUBLE
static const double TOL[2] = {1e-13, 2e-12};
#else
static const double TOL[2] = {1e-5, 1e-4};
#endif

static const char *CONFIGS[2] = {
    "{\"vocab_size\": 97, \"num_blocks\": 3, \"embedding_dim\": 128, \"slstm_at\": [1],"
    " \"mlstm_block\": {\"mlstm\": {\"num_heads\": 4}},"
    " \"slstm_block\": {\"slstm\": {\"num_heads\": 4}, \"feedforward\": {\"proj_factor\": 1.3, \"act_fn\": \"gelu\"}}}",
    "{\"vocab_size\": 53, \"num_blocks\": 2, \"embedding_dim\": 64, \"slstm_at\": [0], \"bias\": true,"
    " \"tie_weights\": true, \"add_post_blocks_norm\": false,"
    " \"mlstm_block\": {\"mlstm\": {\"num_heads\": 2, \"conv1d_kernel_size\": 2}},"
    " \"slstm_block\": {\"slstm\": {\"num_heads\": 2, \"conv1d_kernel_size\": 0}, \"feedforward\": null}}"};

enum { NORMAL, EXTREME };
static const char *regime_name[2] = {"normal", "+/-50"};
static double worst[2];

/* ---------------------------------------------------------------- the reference's weights
 * bound to a double copy of the model's parameters, tensor by tensor by official name */

typedef struct {
    const xlstm_model *m;
    const double *p;
    const char *prefix;
} namer;

/* prefix + name in the model's parameters, or NULL when the model has no such tensor */
static const double *param(const namer *n, const char *name)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", n->prefix, name);
    const xlstm_tensor *t = xlstm_model_find_tensor(n->m, full);
    return t ? n->p + t->offset : NULL;
}

static ref_mlstm_layer bind_mlstm(const namer *n, const xlstm_config *c)
{
    ref_mlstm_layer w = {
        .D = c->embedding_dim, .E = c->mlstm.inner_dim, .NH = c->mlstm.num_heads,
        .K = c->mlstm.conv1d_kernel_size, .bs = c->mlstm.qkv_proj_blocksize,
        .proj_up_w = param(n, "proj_up.weight"), .proj_up_b = param(n, "proj_up.bias"),
        .q_w = param(n, "q_proj.weight"), .q_b = param(n, "q_proj.bias"),
        .k_w = param(n, "k_proj.weight"), .k_b = param(n, "k_proj.bias"),
        .v_w = param(n, "v_proj.weight"), .v_b = param(n, "v_proj.bias"),
        .conv_w = param(n, "conv1d.conv.weight"), .conv_b = param(n, "conv1d.conv.bias"),
        .igate_w = param(n, "mlstm_cell.igate.weight"), .igate_b = param(n, "mlstm_cell.igate.bias"),
        .fgate_w = param(n, "mlstm_cell.fgate.weight"), .fgate_b = param(n, "mlstm_cell.fgate.bias"),
        .outnorm_w = param(n, "mlstm_cell.outnorm.weight"), .skip = param(n, "learnable_skip"),
        .proj_down_w = param(n, "proj_down.weight"), .proj_down_b = param(n, "proj_down.bias")};
    return w;
}

static ref_slstm_layer bind_slstm(const namer *n, const xlstm_config *c)
{
    ref_slstm_layer w = {
        .D = c->embedding_dim, .NH = c->slstm.num_heads, .K = c->slstm.conv1d_kernel_size,
        .conv_w = param(n, "conv1d.conv.weight"), .conv_b = param(n, "conv1d.conv.bias"),
        .fgate_w = param(n, "fgate.weight"), .igate_w = param(n, "igate.weight"),
        .zgate_w = param(n, "zgate.weight"), .ogate_w = param(n, "ogate.weight"),
        .R = param(n, "slstm_cell._recurrent_kernel_"), .bias = param(n, "slstm_cell._bias_"),
        .gn_w = param(n, "group_norm.weight")};
    return w;
}

/* lm->blocks is allocated here (free it). */
static ref_lm bind_lm(const xlstm_model *m, const double *p)
{
    const xlstm_config *c = xlstm_model_config(m);
    namer top = {m, p, ""};
    ref_lm lm = {c->vocab_size, c->embedding_dim, c->num_blocks, param(&top, "token_embedding.weight"),
                 calloc((size_t)c->num_blocks, sizeof(ref_block)),
                 param(&top, "xlstm_block_stack.post_blocks_norm.weight"), NULL};
    lm.head = c->tie_weights ? lm.embedding : param(&top, "lm_head.weight");
    for (int i = 0; i < c->num_blocks; i++) {
        char block[64], layer[80];
        snprintf(block, sizeof block, "xlstm_block_stack.blocks.%d.", i);
        snprintf(layer, sizeof layer, "%sxlstm.", block);
        namer nb = {m, p, block}, nl = {m, p, layer};
        ref_block *b = &lm.blocks[i];
        b->is_slstm = c->is_slstm[i];
        b->norm_w = param(&nb, "xlstm_norm.weight");
        if (b->is_slstm)
            b->s = bind_slstm(&nl, c);
        else
            b->m = bind_mlstm(&nl, c);
        b->ffn_norm_w = param(&nb, "ffn_norm.weight");
        ref_ffn f = {.D = c->embedding_dim, .F = c->ffn.up_dim, .up_w = param(&nb, "ffn.proj_up.weight"),
                     .up_b = param(&nb, "ffn.proj_up.bias"), .down_w = param(&nb, "ffn.proj_down.weight"),
                     .down_b = param(&nb, "ffn.proj_down.bias")};
        b->f = f;
    }
    return lm;
}

/* ---------------------------------------------------------------- the model */

static xrng rng = {{9, 10, 11, 12}};

/* Every parameter perturbed by N(0, 0.1) (the official init zeroes the gate weights, the norm
 * offsets and the recurrent kernel); in the extreme regime the gate pre-activations are then
 * pushed out to around +/-50 (all blocks' i and f biases, and their weights scaled up). */
static void tensor_map(xlstm_model *m, const char *name, double scale, int extreme_bias, size_t count)
{
    const xlstm_tensor *t = xlstm_model_find_tensor(m, name);
    if (!t) return; /* a block of the other kind */
    xlstm_real *p = xlstm_model_params(m) + t->offset;
    for (size_t j = 0; j < (count ? count : t->numel); j++)
        p[j] = extreme_bias ? (xlstm_real)((rng_uniform(&rng) < 0.5 ? -50 : 50) + rng_normal(&rng))
                            : (xlstm_real)(scale * p[j]);
}

static xlstm_model *make_model(const char *json, int regime)
{
    xlstm_model *m = NULL;
    if (xlstm_model_create_json(&m, json, strlen(json)) != 0 || xlstm_model_init(m, 1) != 0) {
        fprintf(stderr, "  model: %s\n", xlstm_errmsg());
        xlstm_model_free(m);
        return NULL;
    }
    const xlstm_config *cfg = xlstm_model_config(m);
    xlstm_real *p = xlstm_model_params(m);
    for (int i = 0; i < xlstm_model_num_tensors(m); i++) {
        const xlstm_tensor *t = xlstm_model_tensor(m, i);
        for (size_t j = 0; j < t->numel; j++) p[t->offset + j] += (xlstm_real)(0.1 * rng_normal(&rng));
    }
    size_t D = (size_t)cfg->embedding_dim;
    for (int i = 0; regime == EXTREME && i < cfg->num_blocks; i++) {
        char f[160];
        static const char *mlstm_gates[2] = {"mlstm_cell.igate", "mlstm_cell.fgate"};
        static const char *slstm_gates[2] = {"fgate", "igate"}; /* they feed i and f */
        for (int g = 0; g < 2; g++) {
            snprintf(f, sizeof f, "xlstm_block_stack.blocks.%d.xlstm.%s.weight", i, mlstm_gates[g]);
            tensor_map(m, f, 10, 0, 0);
            snprintf(f, sizeof f, "xlstm_block_stack.blocks.%d.xlstm.%s.bias", i, mlstm_gates[g]);
            tensor_map(m, f, 0, 1, 0);
            snprintf(f, sizeof f, "xlstm_block_stack.blocks.%d.xlstm.%s.weight", i, slstm_gates[g]);
            tensor_map(m, f, 30, 0, 0);
        }
        snprintf(f, sizeof f, "xlstm_block_stack.blocks.%d.xlstm.slstm_cell._bias_", i);
        tensor_map(m, f, 0, 1, 2 * D); /* (gate, head, unit): i and f come first */
    }
    return m;
}

/* ---------------------------------------------------------------- the checks */

typedef struct {
    int B, T, V, D, L;
    int32_t *tokens;             /* [B, T] */
    double *logits[2];           /* parallel, recurrent: [B, T, V] */
    double *blocks[2];           /* [B, L, T, D] */
} expected;

static expected reference_of(const ref_lm *lm, int B, int T)
{
    expected x = {B, T, lm->V, lm->D, lm->L, calloc((size_t)B * T, sizeof(int32_t)), {NULL, NULL}, {NULL, NULL}};
    for (int n = 0; n < B * T; n++) x.tokens[n] = (int32_t)(rng_next(&rng) % (uint64_t)lm->V);
    for (int par = 0; par < 2; par++) {
        x.logits[par] = ref_alloc((size_t)B * T * lm->V);
        x.blocks[par] = ref_alloc((size_t)B * lm->L * T * lm->D);
        for (int b = 0; b < B; b++) {
            ref_block_state *s = ref_lm_state_new(lm);
            ref_lm_forward(x.logits[par] + (size_t)b * T * lm->V, x.blocks[par] + (size_t)b * lm->L * T * lm->D, lm,
                           x.tokens + (size_t)b * T, T, s, par == 0);
            ref_lm_state_free(s, lm);
        }
    }
    return x;
}

static void expected_free(expected *x)
{
    free(x->tokens);
    for (int i = 0; i < 2; i++) free(x->logits[i]), free(x->blocks[i]);
}

/* The last forward's logits and residual streams against the reference's (form 0 parallel,
 * 1 recurrent); the largest error. */
static double forward_err(const xlstm_model *m, const expected *x, int form)
{
    size_t TV = (size_t)x->T * x->V, TD = (size_t)x->T * x->D;
    double e = check_err(xlstm_logits(m), x->logits[form], (size_t)x->B * TV);
    for (int i = 0; i < x->L; i++)
        for (int b = 0; b < x->B; b++)
            e = fmax(e, check_err(xlstm_block_output(m, i) + b * TD, x->blocks[form] + ((size_t)b * x->L + i) * TD,
                                  TD));
    return e;
}

/* Every sequence a token at a time through the batched step, one state each; the largest
 * logits error. */
static double step_batch_err(xlstm_model *m, const expected *x)
{
    xlstm_state **s = calloc((size_t)x->B, sizeof *s);
    xlstm_real *logits = calloc((size_t)x->B * x->V, sizeof *logits);
    int32_t *tok = calloc((size_t)x->B, sizeof *tok);
    double e = 0;
    for (int b = 0; b < x->B; b++) CHECK(xlstm_state_create(m, &s[b]) == 0, "%s", xlstm_errmsg());
    for (int t = 0; t < x->T; t++) {
        for (int b = 0; b < x->B; b++) tok[b] = x->tokens[(size_t)b * x->T + t];
        CHECK(xlstm_step_batch(m, s, tok, x->B, logits) == 0, "%s", xlstm_errmsg());
        for (int b = 0; b < x->B; b++)
            e = fmax(e, check_err(logits + (size_t)b * x->V, x->logits[1] + ((size_t)b * x->T + t) * x->V, x->V));
    }
    for (int b = 0; b < x->B; b++) xlstm_state_free(s[b]);
    free(s), free(logits), free(tok);
    return e;
}

/* Steps over sequence 0 and a prefill of sequence 1 in pieces; the largest logits error. */
static double recurrent_err(xlstm_model *m, const expected *x)
{
    xlstm_state *s;
    CHECK(xlstm_state_create(m, &s) == 0, "%s", xlstm_errmsg());
    if (!s) return INFINITY;
    xlstm_real *logits = calloc((size_t)x->V, sizeof *logits);
    double e = 0;
    for (int t = 0; t < x->T; t++) {
        CHECK(xlstm_step(m, s, x->tokens[t], logits) == 0, "%s", xlstm_errmsg());
        e = fmax(e, check_err(logits, x->logits[1] + (size_t)t * x->V, x->V));
    }
    xlstm_state_reset(s);
    static const int pieces[] = {1, 16, 20, 11}, piece_chunk[] = {3, 16, 64, 1};
    const int32_t *seq = x->tokens + x->T;
    for (int p = 0, t0 = 0; p < 4; t0 += pieces[p++]) {
        CHECK(xlstm_model_set_chunk_size(m, piece_chunk[p]) == 0, "%s", xlstm_errmsg());
        CHECK(xlstm_prefill(m, s, seq + t0, pieces[p], logits) == 0, "%s", xlstm_errmsg());
        e = fmax(e, check_err(logits, x->logits[1] + ((size_t)x->T + t0 + pieces[p] - 1) * x->V, x->V));
    }
    free(logits);
    xlstm_state_free(s);
    return e;
}

static void model_case(const char *json, int regime)
{
    enum { B = 3, T = 48 };
    xlstm_model *m = make_model(json, regime);
    CHECK(m != NULL, "model");
    if (!m) return;
    size_t P = xlstm_model_num_params(m);
    double *p = ref_alloc(P);
    for (size_t i = 0; i < P; i++) p[i] = xlstm_model_params(m)[i];
    ref_lm lm = bind_lm(m, p);
    expected x = reference_of(&lm, B, T);
    double tol = TOL[regime], *seen = &worst[regime];
    for (int it = 0; it < CHECK_THREAD_COUNTS; it++) {
        check_set_threads(check_threads[it]);
        static const int chunks[] = {0, 1, 3, 16, 64};
        for (size_t ic = 0; ic < sizeof chunks / sizeof *chunks; ic++) {
            CHECK(xlstm_model_set_chunk_size(m, chunks[ic]) == 0, "%s", xlstm_errmsg()); /* 0: parallel */
            CHECK(xlstm_forward(m, x.tokens, NULL, B, T, NULL) == 0, "%s", xlstm_errmsg());
            double e = forward_err(m, &x, chunks[ic] != 0);
            CHECK(check_within(e, tol, seen), "%s, %d threads, forward %s %d: %.2e", regime_name[regime],
                  check_threads[it], chunks[ic] ? "chunk" : "parallel", chunks[ic], e);
        }
        double e = recurrent_err(m, &x);
        CHECK(check_within(e, tol, seen), "%s, %d threads, step and prefill: %.2e", regime_name[regime],
              check_threads[it], e);
        e = step_batch_err(m, &x);
        CHECK(check_within(e, tol, seen), "%s, %d threads, batched step: %.2e", regime_name[regime],
              check_threads[it], e);
    }
    expected_free(&x);
    free(lm.blocks), free(p);
    xlstm_model_free(m);
}

static void test_mixed_d128(void)
{
    for (int regime = NORMAL; regime <= EXTREME; regime++) model_case(CONFIGS[0], regime);
}

static void test_small_variants(void)
{
    for (int regime = NORMAL; regime <= EXTREME; regime++) model_case(CONFIGS[1], regime);
}

int main(void)
{
    RUN(test_mixed_d128);
    RUN(test_small_variants);
    printf("  LM: worst error %.2e normal (bound %.0e), %.2e with +/-50 gates (bound %.0e)\n", worst[0], TOL[0],
           worst[1], TOL[1]);
    TEST_EXIT();
}
