/* params.c — xLSTM Large's parameters: the official names and order of named_parameters() in
 * either weight mode, one buffer laid out the same in both (q, k, v, o rows back to back, the
 * input gates before the forget gates, the FFN's gate rows before its up rows: "fused" names
 * such a run as one tensor, "single" each part), and the official initialization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "large.h"
#include "rng.h"

#define NAME_BYTES 96 /* "backbone.blocks.1023.mlstm_layer.multihead_norm.weight" and the like */

/* Offsets of one block's tensors in the buffer. */
typedef struct {
    size_t norm_mlstm, qkvo, if_w, if_b, head_norm, out_proj, norm_ffn, up, down;
} block_offsets;

/* n reals at *used, which moves on to the next 64-byte boundary. */
static size_t take(size_t *used, size_t n)
{
    size_t at = *used, align = 64 / sizeof(real);
    *used += (n + align - 1) / align * align;
    return at;
}

static block_offsets block_layout(size_t *used, large_dims d)
{
    size_t D = (size_t)d.D;
    block_offsets o;
    o.norm_mlstm = take(used, D);
    o.qkvo = take(used, (2 * (size_t)d.QK + 2 * (size_t)d.VD) * D);
    o.if_w = take(used, 2 * (size_t)d.NH * D);
    o.if_b = take(used, 2 * (size_t)d.NH);
    o.head_norm = take(used, (size_t)d.VD);
    o.out_proj = take(used, D * d.VD);
    o.norm_ffn = take(used, D);
    o.up = take(used, 2 * (size_t)d.F * D);
    o.down = take(used, D * d.F);
    return o;
}

/* Linear weights decay; biases, norm scales and the embedding do not (spec 8.7). */
static void add(large_table *t, const char *prefix, const char *name, size_t offset, int64_t rows, int64_t cols)
{
    xlstm_tensor *x = &t->tensors[t->n];
    char *nm = t->names + (size_t)t->n * NAME_BYTES;
    snprintf(nm, NAME_BYTES, "%s%s", prefix, name);
    size_t len = strlen(nm);
    x->name = nm;
    x->ndim = cols ? 2 : 1;
    x->shape[0] = rows;
    x->shape[1] = cols;
    x->numel = (size_t)rows * (size_t)(cols ? cols : 1);
    x->offset = offset;
    x->weight_decay = len > 7 && strcmp(nm + len - 7, ".weight") == 0 && !strstr(nm, "norm") && !strstr(nm, "embedding");
    t->n++;
}

/* The buffer holds the embedding, the blocks in order, the out norm and the head; the table
 * and the binding walk it the same way. */
int large_table_make(large_table *t, const large_config *c, large_dims d)
{
    memset(t, 0, sizeof *t);
    size_t cap = 15 * (size_t)d.L + 3, used = 0, D = (size_t)d.D;
    t->tensors = calloc(cap, sizeof *t->tensors);
    t->names = calloc(cap, NAME_BYTES);
    if (!t->tensors || !t->names) {
        large_table_free(t);
        return xlstm_fail("model: out of memory");
    }
    add(t, "", "embedding.weight", take(&used, (size_t)d.V * D), d.V, d.D);
    for (int i = 0; i < d.L; i++) {
        char p[64], m[80];
        block_offsets b = block_layout(&used, d);
        snprintf(p, sizeof p, "backbone.blocks.%d.", i);
        snprintf(m, sizeof m, "%smlstm_layer.", p);
        add(t, p, "norm_mlstm.weight", b.norm_mlstm, d.D, 0);
        if (c->fused) {
            add(t, m, "qkv_opreact.weight", b.qkvo, 2 * d.QK + 2 * d.VD, d.D);
            add(t, m, "ifgate_preact.weight", b.if_w, 2 * d.NH, d.D);
            add(t, m, "ifgate_preact.bias", b.if_b, 2 * d.NH, 0);
        } else {
            add(t, m, "q.weight", b.qkvo, d.QK, d.D);
            add(t, m, "k.weight", b.qkvo + d.QK * D, d.QK, d.D);
            add(t, m, "v.weight", b.qkvo + 2 * d.QK * D, d.VD, d.D);
            add(t, m, "ogate_preact.weight", b.qkvo + (2 * d.QK + d.VD) * D, d.VD, d.D);
            add(t, m, "igate_preact.weight", b.if_w, d.NH, d.D);
            add(t, m, "igate_preact.bias", b.if_b, d.NH, 0);
            add(t, m, "fgate_preact.weight", b.if_w + d.NH * D, d.NH, d.D);
            add(t, m, "fgate_preact.bias", b.if_b + d.NH, d.NH, 0);
        }
        add(t, m, "multihead_norm.weight", b.head_norm, d.VD, 0);
        add(t, m, "out_proj.weight", b.out_proj, d.D, d.VD);
        add(t, p, "norm_ffn.weight", b.norm_ffn, d.D, 0);
        if (c->fused) {
            add(t, p, "ffn.proj_up_gate_z.weight", b.up, 2 * d.F, d.D);
        } else {
            add(t, p, "ffn.proj_up_gate.weight", b.up, d.F, d.D);
            add(t, p, "ffn.proj_up.weight", b.up + d.F * D, d.F, d.D);
        }
        add(t, p, "ffn.proj_down.weight", b.down, d.D, d.F);
    }
    if (c->add_out_norm) add(t, "", "backbone.out_norm.weight", take(&used, D), d.D, 0);
    add(t, "", "lm_head.weight", take(&used, (size_t)d.V * D), d.V, d.D);
    t->n_params = used;
    return 0;
}

void large_table_free(large_table *t)
{
    free(t->tensors);
    free(t->names);
    memset(t, 0, sizeof *t);
}

void large_bind(large_weights *w, real *buffer, large_dims d, int add_out_norm)
{
    size_t used = 0;
    w->embedding = buffer + take(&used, (size_t)d.V * d.D);
    for (int i = 0; i < d.L; i++) {
        block_offsets b = block_layout(&used, d);
        large_block_weights *x = &w->blocks[i];
        x->norm_mlstm = buffer + b.norm_mlstm;
        x->qkvo = buffer + b.qkvo;
        x->if_w = buffer + b.if_w;
        x->if_b = buffer + b.if_b;
        x->head_norm = buffer + b.head_norm;
        x->out_proj = buffer + b.out_proj;
        x->norm_ffn = buffer + b.norm_ffn;
        x->ffn = (ffn_weights){buffer + b.up, NULL, buffer + b.down, NULL};
    }
    w->out_norm = add_out_norm ? buffer + take(&used, (size_t)d.D) : NULL;
    w->head = buffer + take(&used, (size_t)d.V * d.D);
}

/* ---------------------------------------------------------------- initialization (spec 8.7):
 * small_init N(0, sqrt(2 / (5 D))) for the embedding, q, k, v, the FFN's up-projections and the
 * head; wang_init N(0, 2 / (num_blocks sqrt(D))) for out_proj and proj_down; the output gate's
 * and the gates' weights zero; input-gate biases -10, forget-gate biases linspace(3, 6, NH);
 * norm scales 1. */

static void fill(real *p, size_t n, double mean, double std, xrng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (real)(mean + (std > 0 ? std * rng_normal(r) : 0));
}

void large_init_weights(const large_weights *w, large_dims d, uint64_t seed)
{
    xrng r;
    rng_seed(&r, seed);
    size_t D = (size_t)d.D, V = (size_t)d.V, F = (size_t)d.F;
    double small = sqrt(2.0 / (5.0 * d.D)), wang = 2.0 / d.L / sqrt((double)d.D);
    fill(w->embedding, V * D, 0, small, &r);
    for (int i = 0; i < d.L; i++) {
        const large_block_weights *b = &w->blocks[i];
        fill(b->norm_mlstm, D, 1, 0, &r);
        fill(b->qkvo, (2 * (size_t)d.QK + d.VD) * D, 0, small, &r);
        fill(b->qkvo + (2 * (size_t)d.QK + d.VD) * D, (size_t)d.VD * D, 0, 0, &r);
        fill(b->if_w, 2 * (size_t)d.NH * D, 0, 0, &r);
        for (int h = 0; h < d.NH; h++) {
            b->if_b[h] = -10;
            b->if_b[d.NH + h] = (real)(d.NH == 1 ? 3.0 : 3.0 + 3.0 * h / (d.NH - 1));
        }
        fill(b->head_norm, (size_t)d.VD, 1, 0, &r);
        fill(b->out_proj, D * d.VD, 0, wang, &r);
        fill(b->norm_ffn, D, 1, 0, &r);
        fill(b->ffn.up_w, 2 * F * D, 0, small, &r);
        fill(b->ffn.down_w, D * F, 0, wang, &r);
    }
    if (w->out_norm) fill(w->out_norm, D, 1, 0, &r);
    fill(w->head, V * D, 0, small, &r);
}
