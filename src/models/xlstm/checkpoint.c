/* checkpoint.c — load and save the model as safetensors with the official names: an
 * official `safetensors.torch.save_file(model.state_dict(), ...)` file (config JSON in
 * __metadata__["config"]) loads, and ours loads back into PyTorch. The sLSTM
 * `_recurrent_kernel_` and `_bias_` are stored in the layout of the config's backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}
int is_slstm_recurrent_kernel(const char *name) { return ends_with(name, "slstm_cell._recurrent_kernel_"); }
int is_slstm_bias(const char *name) { return ends_with(name, "slstm_cell._bias_"); }

void slstm_layout_convert(real *dst, const real *src, const xlstm_tensor *t, int NH, int to_cuda)
{
    if (is_slstm_recurrent_kernel(t->name)) {
        /* ours (vanilla) [NH][4*DH out][DH in]; cuda [NH][DH in][4*DH out] */
        NH = (int)t->shape[0];
        int G = (int)t->shape[1], DH = (int)t->shape[2];
        for (int h = 0; h < NH; h++)
            for (int o = 0; o < G; o++)
                for (int i = 0; i < DH; i++) {
                    size_t ours = ((size_t)h * G + o) * DH + i, cuda = ((size_t)h * DH + i) * G + o;
                    if (to_cuda)
                        dst[cuda] = src[ours];
                    else
                        dst[ours] = src[cuda];
                }
    } else {
        /* ours (vanilla) [4][NH][DH]; cuda [NH][4][DH] */
        int DH = (int)(t->numel / 4 / NH);
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < NH; h++)
                for (int j = 0; j < DH; j++) {
                    size_t ours = ((size_t)g * NH + h) * DH + j, cuda = ((size_t)h * 4 + g) * DH + j;
                    if (to_cuda)
                        dst[cuda] = src[ours];
                    else
                        dst[ours] = src[cuda];
                }
    }
}

static int needs_layout(const xlstm_tensor *t, int backend)
{
    return backend == XLSTM_BACKEND_CUDA && (is_slstm_recurrent_kernel(t->name) || is_slstm_bias(t->name));
}

void tensor_to_file(const xlstm_tensor *t, const real *buffer, int backend, int slstm_heads, real *out)
{
    if (needs_layout(t, backend))
        slstm_layout_convert(out, buffer + t->offset, t, slstm_heads, 1);
    else
        memcpy(out, buffer + t->offset, t->numel * sizeof(real));
}

void lm_tensor_to_file(const lm_model *m, const xlstm_tensor *t, const real *buffer, real *out)
{
    tensor_to_file(t, buffer, m->cfg.slstm.backend, m->cfg.slstm.num_heads, out);
}

/* The stored shape of a tensor: the cuda kernel is [NH, DH, 4*DH]. */
static void stored_shape(const xlstm_tensor *t, int backend, int64_t shape[4])
{
    memcpy(shape, t->shape, 4 * sizeof *shape);
    if (backend == XLSTM_BACKEND_CUDA && is_slstm_recurrent_kernel(t->name)) {
        shape[1] = t->shape[2];
        shape[2] = t->shape[1];
    }
}

static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

int params_load(const param_table *t, real *base, const st_file *f, const char *prefix, int backend, int slstm_heads,
                int tied_head)
{
    size_t plen = strlen(prefix);
    char name[320];
    real *tmp = NULL;
    size_t tmp_size = 0;
    for (int i = 0; i < t->n; i++) {
        const xlstm_tensor *x = &t->tensors[i];
        snprintf(name, sizeof name, "%s%s", prefix, x->name);
        const st_entry *e = st_find(f, name);
        if (!e) {
            free(tmp);
            return xlstm_fail("%s: tensor '%s' is missing (the config expects it)", f->label, name);
        }
        int64_t shape[4];
        stored_shape(x, backend, shape);
        int same = e->ndim == x->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = e->shape[d] == shape[d];
        if (!same) {
            char want[96], got[96];
            format_shape(want, sizeof want, x->ndim, shape);
            format_shape(got, sizeof got, e->ndim, e->shape);
            free(tmp);
            return xlstm_fail("%s: tensor '%s' has shape %s, the config expects %s", f->label, name, got, want);
        }
        real *dst = base + x->offset;
        if (needs_layout(x, backend)) {
            if (tmp_size < x->numel) {
                free(tmp);
                tmp_size = x->numel;
                if (!(tmp = malloc(tmp_size * sizeof *tmp))) return xlstm_fail("%s: out of memory", f->label);
            }
            if (st_read_real(f, e, tmp, x->numel) != 0) {
                free(tmp);
                return -1;
            }
            slstm_layout_convert(dst, tmp, x, slstm_heads, 0);
        } else if (st_read_real(f, e, dst, x->numel) != 0) {
            free(tmp);
            return -1;
        }
        for (size_t j = 0; j < x->numel; j++)
            if (!isfinite(dst[j])) {
                free(tmp);
                return xlstm_fail("%s: tensor '%s' holds a non-finite value at element %zu", f->label, name, j);
            }
    }
    free(tmp);
    /* every tensor under the prefix must be one we know */
    for (int i = 0; i < f->n; i++) {
        const char *nm = f->entries[i].name;
        if (strncmp(nm, prefix, plen) != 0) continue;
        if (param_table_find(t, nm + plen)) continue;
        if (tied_head && strcmp(nm + plen, "lm_head.weight") == 0) continue;
        return xlstm_fail("%s: tensor '%s' is not a parameter of the model its config describes", f->label, nm);
    }
    return 0;
}

int lm_save(const lm_model *m, const char *path, const char *const *meta)
{
    const param_table *t = &m->table;
    int backend = m->cfg.slstm.backend, n = 0, rc = -1;
    st_out_tensor *out = calloc((size_t)t->n + 1, sizeof *out);
    real **converted = calloc((size_t)t->n, sizeof *converted);
    if (!out || !converted) {
        xlstm_fail("%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < t->n; i++) {
        const xlstm_tensor *x = &t->tensors[i];
        st_out_tensor *o = &out[n++];
        o->name = x->name;
        o->dtype = ST_F32;
        o->ndim = x->ndim;
        int64_t shape[4];
        stored_shape(x, backend, shape);
        memcpy(o->shape, shape, sizeof shape);
        o->data = m->params + x->offset;
        if (needs_layout(x, backend)) {
            if (!(converted[i] = malloc(x->numel * sizeof(real)))) {
                xlstm_fail("%s: out of memory", path);
                goto done;
            }
            lm_tensor_to_file(m, x, m->params, converted[i]);
            o->data = converted[i];
        }
        if (m->cfg.tie_weights && strcmp(x->name, "token_embedding.weight") == 0) {
            /* a tied model's state_dict lists the head too */
            st_out_tensor *h = &out[n++];
            *h = *o;
            h->name = "lm_head.weight";
        }
    }
    rc = st_write(path, out, n, meta);
done:
    for (int i = 0; converted && i < t->n; i++) free(converted[i]);
    free(converted);
    free(out);
    return rc;
}
