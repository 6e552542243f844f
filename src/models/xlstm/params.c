/* params.c — the official parameter list of the xLSTM LM and its layers: names as in
 * PyTorch's named_parameters(), shapes, and offsets into one contiguous buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The official optimizer groups (xlstm/utils.py): decay iff the name contains "weight"
 * and not "norm"; the token embedding only with weight_decay_on_embedding (set later). */
static int default_decay(const char *name) { return strstr(name, "weight") && !strstr(name, "norm"); }

static int table_grow(param_table *t, size_t name_len)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        xlstm_tensor *nt = realloc(t->tensors, (size_t)cap * sizeof *nt);
        if (!nt) return xlstm_fail("parameter table: out of memory");
        t->tensors = nt;
        t->cap = cap;
    }
    if (t->names_used + name_len + 1 > t->names_cap) {
        /* names are re-pointed after the pool moves */
        size_t cap = t->names_cap ? 2 * t->names_cap : 4096;
        while (cap < t->names_used + name_len + 1) cap *= 2;
        char *np = realloc(t->names, cap);
        if (!np) return xlstm_fail("parameter table: out of memory");
        for (int i = 0; i < t->n; i++) t->tensors[i].name = np + (t->tensors[i].name - t->names);
        t->names = np;
        t->names_cap = cap;
    }
    return 0;
}

/* Visit one tensor `prefix``name` of the given shape (dims after ndim; unused ones 0). */
static void visit(param_walk *w, real **slot, const char *prefix, const char *name, int ndim, int64_t s0, int64_t s1,
                  int64_t s2)
{
    if (w->failed) return;
    if (w->base) {
        *slot = w->base + w->t->tensors[w->idx++].offset;
        return;
    }
    char full[256];
    int len = snprintf(full, sizeof full, "%s%s", prefix, name);
    if (len < 0 || len >= (int)sizeof full || table_grow(w->t, (size_t)len) != 0) {
        if (len >= (int)sizeof full) xlstm_fail("parameter name too long: %s%s", prefix, name);
        w->failed = 1;
        return;
    }
    param_table *t = w->t;
    xlstm_tensor *x = &t->tensors[t->n++];
    memcpy(t->names + t->names_used, full, (size_t)len + 1);
    x->name = t->names + t->names_used;
    t->names_used += (size_t)len + 1;
    int64_t s[3] = {s0, s1, s2};
    x->ndim = ndim;
    x->numel = 1;
    for (int i = 0; i < 4; i++) x->shape[i] = i < ndim ? s[i] : 0;
    for (int i = 0; i < ndim; i++) x->numel *= (size_t)s[i];
    x->offset = t->n_params;
    x->weight_decay = default_decay(full);
    /* keep every tensor 64-byte aligned inside the buffer */
    size_t align = 64 / sizeof(real);
    t->n_params += (x->numel + align - 1) / align * align;
}

void walk_mlstm_layer(param_walk *w, const char *p, mlstm_dims d, mlstm_weights *o)
{
    int E = d.E, NP = d.E / d.bs;
    memset(o, 0, sizeof *o);
    visit(w, &o->skip, p, "learnable_skip", 1, E, 0, 0);
    visit(w, &o->proj_up_w, p, "proj_up.weight", 2, 2 * E, d.D, 0);
    if (d.bias) visit(w, &o->proj_up_b, p, "proj_up.bias", 1, 2 * E, 0, 0);
    visit(w, &o->q_w, p, "q_proj.weight", 3, NP, d.bs, d.bs);
    if (d.bias) visit(w, &o->q_b, p, "q_proj.bias", 1, E, 0, 0);
    visit(w, &o->k_w, p, "k_proj.weight", 3, NP, d.bs, d.bs);
    if (d.bias) visit(w, &o->k_b, p, "k_proj.bias", 1, E, 0, 0);
    visit(w, &o->v_w, p, "v_proj.weight", 3, NP, d.bs, d.bs);
    if (d.bias) visit(w, &o->v_b, p, "v_proj.bias", 1, E, 0, 0);
    visit(w, &o->conv_w, p, "conv1d.conv.weight", 3, E, 1, d.K);
    visit(w, &o->conv_b, p, "conv1d.conv.bias", 1, E, 0, 0);
    visit(w, &o->igate_w, p, "mlstm_cell.igate.weight", 2, d.NH, 3 * E, 0);
    visit(w, &o->igate_b, p, "mlstm_cell.igate.bias", 1, d.NH, 0, 0);
    visit(w, &o->fgate_w, p, "mlstm_cell.fgate.weight", 2, d.NH, 3 * E, 0);
    visit(w, &o->fgate_b, p, "mlstm_cell.fgate.bias", 1, d.NH, 0, 0);
    visit(w, &o->outnorm_w, p, "mlstm_cell.outnorm.weight", 1, E, 0, 0);
    visit(w, &o->proj_down_w, p, "proj_down.weight", 2, d.D, E, 0);
    if (d.bias) visit(w, &o->proj_down_b, p, "proj_down.bias", 1, d.D, 0, 0);
}

void walk_slstm_layer(param_walk *w, const char *p, slstm_dims d, slstm_weights *o)
{
    memset(o, 0, sizeof *o);
    if (d.K > 0) {
        visit(w, &o->conv_w, p, "conv1d.conv.weight", 3, d.D, 1, d.K);
        visit(w, &o->conv_b, p, "conv1d.conv.bias", 1, d.D, 0, 0);
    }
    visit(w, &o->fgate_w, p, "fgate.weight", 3, d.NH, d.DH, d.DH);
    visit(w, &o->igate_w, p, "igate.weight", 3, d.NH, d.DH, d.DH);
    visit(w, &o->zgate_w, p, "zgate.weight", 3, d.NH, d.DH, d.DH);
    visit(w, &o->ogate_w, p, "ogate.weight", 3, d.NH, d.DH, d.DH);
    visit(w, &o->R, p, "slstm_cell._recurrent_kernel_", 3, d.NH, 4 * d.DH, d.DH);
    visit(w, &o->bias, p, "slstm_cell._bias_", 1, 4 * d.D, 0, 0);
    visit(w, &o->gn_w, p, "group_norm.weight", 1, d.D, 0, 0);
}

static void walk_ffn(param_walk *w, const char *p, ffn_dims d, ffn_weights *o)
{
    memset(o, 0, sizeof *o);
    visit(w, &o->up_w, p, "ffn.proj_up.weight", 2, 2 * d.F, d.D, 0);
    if (d.bias) visit(w, &o->up_b, p, "ffn.proj_up.bias", 1, 2 * d.F, 0, 0);
    visit(w, &o->down_w, p, "ffn.proj_down.weight", 2, d.D, d.F, 0);
    if (d.bias) visit(w, &o->down_b, p, "ffn.proj_down.bias", 1, d.D, 0, 0);
}

void walk_lm(param_walk *w, const xlstm_config *cfg, lm_weights *o)
{
    mlstm_dims md = mlstm_dims_of(cfg);
    slstm_dims sd = slstm_dims_of(cfg);
    ffn_dims fd = ffn_dims_of(cfg);
    int D = cfg->embedding_dim, V = cfg->vocab_size;
    char prefix[96], layer_prefix[128];
    for (int i = 0; i < cfg->num_blocks; i++) {
        block_weights *b = &o->blocks[i];
        snprintf(prefix, sizeof prefix, "xlstm_block_stack.blocks.%d.", i);
        snprintf(layer_prefix, sizeof layer_prefix, "%sxlstm.", prefix);
        b->ffn_norm_w = NULL;
        visit(w, &b->xlstm_norm_w, prefix, "xlstm_norm.weight", 1, D, 0, 0);
        if (cfg->is_slstm[i]) {
            walk_slstm_layer(w, layer_prefix, sd, &b->s);
            if (cfg->ffn.enabled) {
                visit(w, &b->ffn_norm_w, prefix, "ffn_norm.weight", 1, D, 0, 0);
                walk_ffn(w, prefix, fd, &b->f);
            }
        } else {
            walk_mlstm_layer(w, layer_prefix, md, &b->m);
        }
    }
    o->post_norm_w = NULL;
    if (cfg->add_post_blocks_norm) visit(w, &o->post_norm_w, "", "xlstm_block_stack.post_blocks_norm.weight", 1, D, 0, 0);
    visit(w, &o->embedding, "", "token_embedding.weight", 2, V, D, 0);
    if (cfg->tie_weights)
        o->head = o->embedding;
    else
        visit(w, &o->head, "", "lm_head.weight", 2, V, D, 0);
}

int param_table_record(param_table *t, void (*fn)(param_walk *, void *), void *ctx)
{
    param_walk w = {t, NULL, 0, 0};
    fn(&w, ctx);
    return w.failed ? -1 : 0;
}

void param_table_free(param_table *t)
{
    free(t->tensors);
    free(t->names);
    memset(t, 0, sizeof *t);
}

const xlstm_tensor *param_table_find(const param_table *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->tensors[i].name, name) == 0) return &t->tensors[i];
    return NULL;
}
