/* init.c — the official initialization schemes (xlstm/components/init.py and each
 * module's reset_parameters), reproducible from a seed. PyTorch's RNG stream cannot be
 * matched; the distributions are the official ones. */
#include <math.h>
#include <string.h>

#include "model.h"
#include "rng.h"

static void fill_normal(real *p, size_t n, double std, xrng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (real)(std * rng_normal(r));
}
static void fill_uniform(real *p, size_t n, double bound, xrng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (real)(bound * (2 * rng_uniform(r) - 1));
}
static void fill_const(real *p, size_t n, double v)
{
    for (size_t i = 0; i < n; i++) p[i] = (real)v;
}
/* torch.linspace(start, end, n) */
static void fill_linspace(real *p, int n, double start, double end)
{
    for (int i = 0; i < n; i++) p[i] = (real)(n == 1 ? start : start + (end - start) * i / (n - 1));
}

/* small_init: N(0, sqrt(2 / (5 dim))); wang_init: N(0, 2 / num_blocks / sqrt(dim)) */
static double small_init_std(int dim) { return sqrt(2.0 / (5.0 * dim)); }
static double wang_init_std(int dim, int num_blocks) { return 2.0 / num_blocks / sqrt((double)dim); }

static void init_mlstm(const mlstm_weights *w, mlstm_dims d, int num_blocks, xrng *r)
{
    size_t E = d.E, D = d.D;
    fill_normal(w->proj_up_w, 2 * E * D, small_init_std(d.D), r);
    fill_normal(w->q_w, E * d.bs, small_init_std(d.D), r); /* the embedding dim, as the official code */
    fill_normal(w->k_w, E * d.bs, small_init_std(d.D), r);
    fill_normal(w->v_w, E * d.bs, small_init_std(d.D), r);
    fill_normal(w->proj_down_w, D * E, wang_init_std(d.D, num_blocks), r);
    /* PyTorch Conv1d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = K (depthwise) */
    fill_uniform(w->conv_w, E * d.K, 1 / sqrt((double)d.K), r);
    fill_uniform(w->conv_b, E, 1 / sqrt((double)d.K), r);
    fill_const(w->igate_w, (size_t)d.NH * 3 * E, 0);
    fill_normal(w->igate_b, d.NH, 0.1, r);
    fill_const(w->fgate_w, (size_t)d.NH * 3 * E, 0);
    fill_linspace(w->fgate_b, d.NH, 3.0, 6.0);
    fill_const(w->outnorm_w, E, 0);
    fill_const(w->skip, E, 1);
    real *biases[] = {w->proj_up_b, w->q_b, w->k_b, w->v_b, w->proj_down_b};
    size_t sizes[] = {2 * E, E, E, E, D};
    for (int i = 0; i < 5; i++)
        if (biases[i]) fill_const(biases[i], sizes[i], 0);
}

static void init_slstm(const slstm_weights *w, slstm_dims d, int block_idx, int num_blocks, int bias_init,
                       int recurrent_init, xrng *r)
{
    size_t D = d.D, gate = (size_t)d.NH * d.DH * d.DH;
    if (d.K > 0) {
        fill_uniform(w->conv_w, D * d.K, 1 / sqrt((double)d.K), r);
        fill_uniform(w->conv_b, D, 1 / sqrt((double)d.K), r);
    }
    real *gates[] = {w->fgate_w, w->igate_w, w->zgate_w, w->ogate_w};
    for (int g = 0; g < 4; g++) fill_normal(gates[g], gate, small_init_std(d.D), r);
    if (recurrent_init == XLSTM_RECURRENT_STANDARD)
        fill_uniform(w->R, 4 * gate, 1 / sqrt((double)D), r);
    else
        fill_const(w->R, 4 * gate, 0);
    /* bias, (gate, head, unit); gate 1 is the forget gate */
    double ratio = num_blocks > 1 ? (double)block_idx / (num_blocks - 1) : 0.0;
    for (int g = 0; g < 4; g++)
        for (int h = 0; h < d.NH; h++) {
            real *b = w->bias + (size_t)g * D + (size_t)h * d.DH;
            if (bias_init == XLSTM_BIAS_STANDARD)
                fill_uniform(b, d.DH, 1 / sqrt((double)D), r);
            else if (g == 1 && bias_init == XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT)
                for (int j = 0; j < d.DH; j++)
                    b[j] = (real)-(-5.0 + 12.0 * pow((double)j / (d.DH - 1), 0.3 + 1.3 * ratio));
            else if (g == 1 && bias_init == XLSTM_BIAS_SMALL_INIT)
                fill_linspace(b, d.DH, 3.0, 6.0);
            else
                fill_const(b, d.DH, 0);
        }
    fill_const(w->gn_w, D, 0);
}

static void init_ffn(const ffn_weights *w, ffn_dims d, int num_blocks, xrng *r)
{
    fill_normal(w->up_w, (size_t)2 * d.F * d.D, small_init_std(d.D), r);
    fill_normal(w->down_w, (size_t)d.D * d.F, wang_init_std(d.D, num_blocks), r);
    if (w->up_b) fill_const(w->up_b, (size_t)2 * d.F, 0);
    if (w->down_b) fill_const(w->down_b, d.D, 0);
}

int lm_init(lm_model *m, uint64_t seed)
{
    const xlstm_config *c = &m->cfg;
    xrng r;
    rng_seed(&r, seed);
    size_t D = c->embedding_dim, V = c->vocab_size;
    for (int i = 0; i < c->num_blocks; i++) {
        const block_weights *b = &m->w.blocks[i];
        fill_const(b->xlstm_norm_w, D, 0);
        if (c->is_slstm[i]) {
            init_slstm(&b->s, m->sd, i, c->num_blocks, c->slstm.bias_init, c->slstm.recurrent_weight_init, &r);
            if (c->ffn.enabled) {
                fill_const(b->ffn_norm_w, D, 0);
                init_ffn(&b->f, m->fd, c->num_blocks, &r);
            }
        } else {
            init_mlstm(&b->m, m->md, c->num_blocks, &r);
        }
    }
    if (m->w.post_norm_w) fill_const(m->w.post_norm_w, D, 0);
    fill_normal(m->w.embedding, V * D, small_init_std(c->embedding_dim), &r);
    if (!c->tie_weights) fill_normal(m->w.head, V * D, small_init_std(c->embedding_dim), &r);
    return 0;
}
