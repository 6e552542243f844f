/* config.c — the official xLSTMLMModelConfig JSON: defaults, parsing, validation, writing.
 *
 * Semantics follow the official dataclasses (xlstm_lm_model.py, xlstm_block_stack.py,
 * blocks/{mlstm,slstm}/{block,layer}.py, slstm/cell.py, components/feedforward.py,
 * utils.py): fields left out take their defaults, a missing mlstm_block makes every block
 * an sLSTM block, and the up-projection widths are rounded to a multiple. Fields that the
 * official stack overwrites, or that only tune the CUDA kernels, are accepted and ignored;
 * settings we do not implement (dropout, gradient clipping, ...) are refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "io/json.h"

#define MAX_DIM (1 << 24)     /* any single dimension */
#define MAX_KERNEL 1024
#define MAX_TENSOR 2147483647 /* elements in one weight matrix: int32 indexing stays safe */

static const char *const act_names[] = {"gelu", "relu", "relu^2", "sigmoid", "swish", "selu"};
static const char *const bias_init_names[] = {"powerlaw_blockdependent", "small_init", "standard", "zeros"};
static const char *const recurrent_init_names[] = {"zeros", "standard"};
static const char *const backend_names[] = {"cuda", "vanilla"};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

void xlstm_config_default(xlstm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = -1;
    cfg->context_length = -1;
    cfg->num_blocks = 1;
    cfg->embedding_dim = 128;
    cfg->add_post_blocks_norm = 1;
    cfg->mlstm = (xlstm_mlstm_config){.conv1d_kernel_size = 4, .qkv_proj_blocksize = 4, .num_heads = 4,
                                      .proj_factor = 2.0, .round_proj_up_dim_up = 1,
                                      .round_proj_up_to_multiple_of = 64};
    cfg->slstm = (xlstm_slstm_config){.num_heads = 4, .conv1d_kernel_size = 4,
                                      .bias_init = XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT,
                                      .recurrent_weight_init = XLSTM_RECURRENT_ZEROS,
                                      .backend = XLSTM_BACKEND_CUDA};
    cfg->ffn = (xlstm_ffn_config){.enabled = 1, .proj_factor = 1.3, .act_fn = XLSTM_ACT_GELU,
                                  .round_proj_up_dim_up = 1, .round_proj_up_to_multiple_of = 64};
}

/* ---------------------------------------------------------------- validation */

/* The official UpProjConfigMixin: proj_factor * D divided by the multiple, rounded up (or
 * down), times the multiple; computed in double exactly like the Python floats. */
static int up_proj_dim(const char *what, double factor, int round_up, int multiple, int D, int *out)
{
    if (!isfinite(factor) || factor <= 0)
        return xlstm_fail("config: %s.proj_factor must be a finite number > 0 (got %g)", what, factor);
    if (multiple < 1 || multiple > MAX_DIM)
        return xlstm_fail("config: %s.round_proj_up_to_multiple_of must be in [1, %d] (got %d)", what, MAX_DIM,
                          multiple);
    double q = factor * D / multiple;
    double dim = (round_up ? ceil(q) : floor(q)) * multiple;
    if (!(dim >= 1 && dim <= MAX_DIM))
        return xlstm_fail("config: %s.proj_factor %g with embedding_dim %d gives the width %g, outside [1, %d]",
                          what, factor, D, dim, MAX_DIM);
    *out = (int)dim;
    return 0;
}

/* a * b must stay a sane tensor size. */
static int check_product(const char *what, int64_t a, int64_t b)
{
    if (a * b > MAX_TENSOR) /* a, b <= 2^26 here, so the product cannot overflow */
        return xlstm_fail("config: %s = %lld x %lld is too large (limit %d elements)", what, (long long)a,
                          (long long)b, MAX_TENSOR);
    return 0;
}

static int check_range(const char *field, int v, int lo, int hi)
{
    if (v < lo || v > hi) return xlstm_fail("config: %s must be in [%d, %d] (got %d)", field, lo, hi, v);
    return 0;
}

static int validate_mlstm(xlstm_config *cfg)
{
    xlstm_mlstm_config *m = &cfg->mlstm;
    const char *at = "mlstm_block.mlstm";
    if (check_range("mlstm_block.mlstm.conv1d_kernel_size", m->conv1d_kernel_size, 1, MAX_KERNEL) != 0 ||
        check_range("mlstm_block.mlstm.num_heads", m->num_heads, 1, MAX_DIM) != 0 ||
        check_range("mlstm_block.mlstm.qkv_proj_blocksize", m->qkv_proj_blocksize, 1, MAX_DIM) != 0 ||
        up_proj_dim(at, m->proj_factor, m->round_proj_up_dim_up, m->round_proj_up_to_multiple_of,
                    cfg->embedding_dim, &m->inner_dim) != 0)
        return -1;
    int E = m->inner_dim;
    if (E % m->num_heads != 0)
        return xlstm_fail("config: mlstm_block.mlstm.num_heads %d does not divide the inner dim %d", m->num_heads, E);
    if (E % m->qkv_proj_blocksize != 0)
        return xlstm_fail("config: mlstm_block.mlstm.qkv_proj_blocksize %d does not divide the inner dim %d",
                          m->qkv_proj_blocksize, E);
    if (check_product("mlstm_block.mlstm: proj_up size 2*inner_dim x embedding_dim", 2 * (int64_t)E,
                      cfg->embedding_dim) != 0 ||
        check_product("mlstm_block.mlstm: inner_dim x inner_dim", E, E) != 0)
        return -1;
    return 0;
}

static int validate_slstm(xlstm_config *cfg)
{
    xlstm_slstm_config *s = &cfg->slstm;
    int D = cfg->embedding_dim;
    if (check_range("slstm_block.slstm.conv1d_kernel_size", s->conv1d_kernel_size, 0, MAX_KERNEL) != 0 ||
        check_range("slstm_block.slstm.num_heads", s->num_heads, 1, MAX_DIM) != 0 ||
        check_range("slstm_block.slstm.bias_init", s->bias_init, 0, COUNT(bias_init_names) - 1) != 0 ||
        check_range("slstm_block.slstm.recurrent_weight_init", s->recurrent_weight_init, 0,
                    COUNT(recurrent_init_names) - 1) != 0 ||
        check_range("slstm_block.slstm.backend", s->backend, 0, COUNT(backend_names) - 1) != 0)
        return -1;
    if (D % s->num_heads != 0)
        return xlstm_fail("config: slstm_block.slstm.num_heads %d does not divide embedding_dim %d", s->num_heads, D);
    /* the powerlaw forget-gate init divides by (head_dim - 1) */
    if (s->bias_init == XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT && D / s->num_heads < 2)
        return xlstm_fail("config: slstm_block.slstm.bias_init powerlaw_blockdependent needs a head dim > 1 "
                          "(embedding_dim %d / num_heads %d)", D, s->num_heads);
    if (check_product("slstm_block.slstm: gate weights 4*embedding_dim x head_dim", 4 * (int64_t)D,
                      D / s->num_heads) != 0)
        return -1;

    xlstm_ffn_config *f = &cfg->ffn;
    f->up_dim = 0;
    if (!f->enabled) return 0;
    if (check_range("slstm_block.feedforward.act_fn", f->act_fn, 0, COUNT(act_names) - 1) != 0 ||
        up_proj_dim("slstm_block.feedforward", f->proj_factor, f->round_proj_up_dim_up,
                    f->round_proj_up_to_multiple_of, D, &f->up_dim) != 0 ||
        check_product("slstm_block.feedforward: proj_up size 2*up_dim x embedding_dim", 2 * (int64_t)f->up_dim,
                      D) != 0)
        return -1;
    return 0;
}

int xlstm_config_validate(xlstm_config *cfg)
{
    if (!cfg->has_mlstm_block && !cfg->has_slstm_block)
        return xlstm_fail("config: neither mlstm_block nor slstm_block is given");
    if (cfg->vocab_size == -1) return xlstm_fail("config: vocab_size is required");
    if (check_range("vocab_size", cfg->vocab_size, 1, MAX_DIM) != 0 ||
        check_range("embedding_dim", cfg->embedding_dim, 1, MAX_DIM) != 0 ||
        check_range("num_blocks", cfg->num_blocks, 1, XLSTM_MAX_BLOCKS) != 0 ||
        check_product("vocab_size x embedding_dim", cfg->vocab_size, cfg->embedding_dim) != 0)
        return -1;
    if (cfg->context_length != -1 && check_range("context_length (or -1)", cfg->context_length, 1, MAX_DIM) != 0)
        return -1;

    /* The block map: without an mLSTM block every block is an sLSTM block ("all"). */
    int uses_m = 0, uses_s = 0;
    for (int i = 0; i < XLSTM_MAX_BLOCKS; i++) {
        if (i >= cfg->num_blocks) cfg->is_slstm[i] = 0;
        else if (!cfg->has_mlstm_block) cfg->is_slstm[i] = 1;
        else cfg->is_slstm[i] = cfg->is_slstm[i] != 0;
        if (i < cfg->num_blocks) {
            uses_s |= cfg->is_slstm[i];
            uses_m |= !cfg->is_slstm[i];
        }
        if (cfg->is_slstm[i] && !cfg->has_slstm_block)
            return xlstm_fail("config: slstm_at names block %d but there is no slstm_block", i);
    }
    /* As in the official code, only the block configs that some block uses must make sense. */
    cfg->mlstm.inner_dim = 0;
    cfg->ffn.up_dim = 0;
    if (uses_m && validate_mlstm(cfg) != 0) return -1;
    if (uses_s && validate_slstm(cfg) != 0) return -1;
    return 0;
}

/* ---------------------------------------------------------------- parsing */

/* "prefix.key" (or "key" at the top) for messages. */
static const char *field_name(char *buf, size_t n, const char *prefix, const char *key)
{
    int k = snprintf(buf, n, "%s%s%s", prefix, *prefix ? "." : "", key);
    if (k < 0 || (size_t)k >= n) memcpy(buf + n - 4, "...", 4); /* n >= 4: show the cut */
    return buf;
}

static int wrong_type(const char *field, const char *expected, const json_value *v)
{
    return xlstm_fail("config: %s must be %s (got %s)", field, expected, json_type_name(v->type));
}

static int want_int(const char *field, const json_value *v, int *out)
{
    if (v->type != JSON_NUMBER || !v->is_integer) return wrong_type(field, "an integer", v);
    if (v->integer < -2147483647 || v->integer > 2147483647)
        return xlstm_fail("config: %s = %lld is out of range", field, (long long)v->integer);
    *out = (int)v->integer;
    return 0;
}

static int want_bool(const char *field, const json_value *v, int *out)
{
    if (v->type != JSON_BOOL) return wrong_type(field, "true or false", v);
    *out = v->boolean;
    return 0;
}

static int want_number(const char *field, const json_value *v, double *out)
{
    if (v->type != JSON_NUMBER) return wrong_type(field, "a number", v);
    *out = v->number;
    return 0;
}

static int want_enum(const char *field, const json_value *v, const char *const *names, int n, int *out)
{
    if (v->type != JSON_STRING) return wrong_type(field, "a string", v);
    for (int i = 0; i < n; i++)
        if (strcmp(v->str, names[i]) == 0 && strlen(names[i]) == v->len) {
            *out = i;
            return 0;
        }
    char list[160] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "", names[i]);
    return xlstm_fail("config: %s \"%.64s\" is not one of %s", field, v->str, list);
}

/* Fields accepted and ignored: the official stack overwrites them, or they only tune the
 * CUDA kernels. Those that would change the computation must hold their neutral value. */
enum { AT_TOP = 1, AT_BLOCK = 2, AT_LAYER = 4, AT_SLSTM = 8 };
enum { ANY_INT, ANY_BOOL, ANY_STRING, ANY_OBJECT, ANY_NUMBERS, ONLY };
static const struct {
    const char *name;
    int where;
    int rule;
    const char *only; /* for ONLY: the one accepted value, as JSON */
} ignored_fields[] = {
    {"architecture", AT_TOP, ONLY, "\"xlstm\""}, /* the model interface's name of this config's architecture */
    {"_block_map", AT_TOP, ANY_STRING, NULL},
    {"add_embedding_dropout", AT_TOP, ANY_BOOL, NULL}, /* harmless: dropout must be 0 */
    {"dropout", AT_TOP | AT_LAYER | AT_SLSTM, ONLY, "0"},
    {"_num_blocks", AT_BLOCK | AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"_block_idx", AT_BLOCK | AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"embedding_dim", AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"context_length", AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"bias", AT_LAYER | AT_SLSTM, ANY_BOOL, NULL},
    {"num_blocks", AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"_inner_embedding_dim", AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"_proj_up_dim", AT_LAYER | AT_SLSTM, ANY_INT, NULL},
    {"hidden_size", AT_SLSTM, ANY_INT, NULL},
    {"num_states", AT_SLSTM, ANY_INT, NULL},
    {"batch_size", AT_SLSTM, ANY_INT, NULL},
    {"input_shape", AT_SLSTM, ANY_STRING, NULL},
    {"internal_input_shape", AT_SLSTM, ANY_STRING, NULL},
    {"output_shape", AT_SLSTM, ANY_STRING, NULL},
    {"dtype", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_b", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_r", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_w", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_g", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_s", AT_SLSTM, ANY_STRING, NULL},
    {"dtype_a", AT_SLSTM, ANY_STRING, NULL},
    {"enable_automatic_mixed_precision", AT_SLSTM, ANY_BOOL, NULL},
    {"initial_val", AT_SLSTM, ANY_NUMBERS, NULL},
    {"constants", AT_SLSTM, ANY_OBJECT, NULL},
    {"num_gates", AT_SLSTM, ONLY, "4"},
    {"function", AT_SLSTM, ONLY, "\"slstm\""},
    {"group_norm_weight", AT_SLSTM, ONLY, "true"},
    {"gradient_recurrent_cut", AT_SLSTM, ONLY, "false"},
    {"gradient_recurrent_clipval", AT_SLSTM, ONLY, "null"},
    {"forward_clipval", AT_SLSTM, ONLY, "null"},
};

/* v equals the JSON text `want` (a number, literal, or string without escapes). */
static int json_equals(const json_value *v, const char *want)
{
    json_value w;
    if (json_parse(&w, want, strlen(want)) != 0) return 0;
    int eq = v->type == w.type;
    if (eq && v->type == JSON_NUMBER) eq = v->number == w.number;
    if (eq && v->type == JSON_BOOL) eq = v->boolean == w.boolean;
    if (eq && v->type == JSON_STRING) eq = v->len == w.len && memcmp(v->str, w.str, w.len) == 0;
    json_free(&w);
    return eq;
}

static int all_numbers(const json_value *v)
{
    if (v->type == JSON_NUMBER) return 1;
    if (v->type != JSON_ARRAY) return 0;
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i].type != JSON_NUMBER) return 0;
    return 1;
}

/* An ignored or unknown field: 0 if acceptable, else -1 with a message. */
static int other_field(const char *field, const char *key, const json_value *v, int where)
{
    for (int i = 0; i < COUNT(ignored_fields); i++) {
        if (strcmp(ignored_fields[i].name, key) != 0 || !(ignored_fields[i].where & where)) continue;
        int ok;
        switch (ignored_fields[i].rule) {
        case ANY_INT: ok = v->type == JSON_NULL || (v->type == JSON_NUMBER && v->is_integer); break;
        case ANY_BOOL: ok = v->type == JSON_BOOL; break;
        case ANY_STRING: ok = v->type == JSON_NULL || v->type == JSON_STRING; break;
        case ANY_OBJECT: ok = v->type == JSON_OBJECT; break;
        case ANY_NUMBERS: ok = all_numbers(v); break;
        default:
            if (json_equals(v, ignored_fields[i].only)) return 0;
            char shown[80];
            if (v->type == JSON_NUMBER) snprintf(shown, sizeof shown, "%g", v->number);
            else if (v->type == JSON_BOOL) snprintf(shown, sizeof shown, "%s", v->boolean ? "true" : "false");
            else if (v->type == JSON_STRING) snprintf(shown, sizeof shown, "\"%.64s\"", v->str);
            else snprintf(shown, sizeof shown, "%s", json_type_name(v->type));
            return xlstm_fail("config: %s %s not supported (only %s)", field, shown, ignored_fields[i].only);
        }
        if (ok) return 0;
        static const char *const expected[] = {"an integer or null", "true or false", "a string or null",
                                               "an object", "a number or a list of numbers"};
        return wrong_type(field, expected[ignored_fields[i].rule], v);
    }
    return xlstm_fail("config: unknown field '%s'", field);
}

static int parse_mlstm_layer(xlstm_mlstm_config *m, const json_value *obj, const char *at)
{
    char f[128];
    if (obj->type != JSON_OBJECT) return wrong_type(at, "an object", obj);
    for (size_t i = 0; i < obj->len; i++) {
        const char *key = obj->members[i].key;
        const json_value *v = &obj->members[i].value;
        field_name(f, sizeof f, at, key);
        int rc;
        if (!strcmp(key, "conv1d_kernel_size")) rc = want_int(f, v, &m->conv1d_kernel_size);
        else if (!strcmp(key, "qkv_proj_blocksize")) rc = want_int(f, v, &m->qkv_proj_blocksize);
        else if (!strcmp(key, "num_heads")) rc = want_int(f, v, &m->num_heads);
        else if (!strcmp(key, "proj_factor")) rc = want_number(f, v, &m->proj_factor);
        else if (!strcmp(key, "round_proj_up_dim_up")) rc = want_bool(f, v, &m->round_proj_up_dim_up);
        else if (!strcmp(key, "round_proj_up_to_multiple_of")) rc = want_int(f, v, &m->round_proj_up_to_multiple_of);
        else rc = other_field(f, key, v, AT_LAYER);
        if (rc != 0) return -1;
    }
    return 0;
}

static int parse_slstm_layer(xlstm_slstm_config *s, const json_value *obj, const char *at)
{
    char f[128];
    if (obj->type != JSON_OBJECT) return wrong_type(at, "an object", obj);
    for (size_t i = 0; i < obj->len; i++) {
        const char *key = obj->members[i].key;
        const json_value *v = &obj->members[i].value;
        field_name(f, sizeof f, at, key);
        int rc;
        if (!strcmp(key, "num_heads")) rc = want_int(f, v, &s->num_heads);
        else if (!strcmp(key, "conv1d_kernel_size")) rc = want_int(f, v, &s->conv1d_kernel_size);
        else if (!strcmp(key, "bias_init"))
            rc = want_enum(f, v, bias_init_names, COUNT(bias_init_names), &s->bias_init);
        else if (!strcmp(key, "recurrent_weight_init"))
            rc = want_enum(f, v, recurrent_init_names, COUNT(recurrent_init_names), &s->recurrent_weight_init);
        else if (!strcmp(key, "backend")) rc = want_enum(f, v, backend_names, COUNT(backend_names), &s->backend);
        else rc = other_field(f, key, v, AT_SLSTM);
        if (rc != 0) return -1;
    }
    return 0;
}

static int parse_ffn(xlstm_ffn_config *ff, const json_value *obj, const char *at)
{
    char f[128];
    ff->enabled = obj->type != JSON_NULL;
    if (!ff->enabled) return 0;
    if (obj->type != JSON_OBJECT) return wrong_type(at, "an object or null", obj);
    for (size_t i = 0; i < obj->len; i++) {
        const char *key = obj->members[i].key;
        const json_value *v = &obj->members[i].value;
        field_name(f, sizeof f, at, key);
        int rc, ff_type;
        if (!strcmp(key, "proj_factor")) rc = want_number(f, v, &ff->proj_factor);
        else if (!strcmp(key, "act_fn")) rc = want_enum(f, v, act_names, COUNT(act_names), &ff->act_fn);
        else if (!strcmp(key, "bias")) rc = want_bool(f, v, &ff->bias);
        else if (!strcmp(key, "round_proj_up_dim_up")) rc = want_bool(f, v, &ff->round_proj_up_dim_up);
        else if (!strcmp(key, "round_proj_up_to_multiple_of")) rc = want_int(f, v, &ff->round_proj_up_to_multiple_of);
        else if (!strcmp(key, "ff_type")) rc = want_enum(f, v, (const char *const[]){"ffn_gated"}, 1, &ff_type);
        else rc = other_field(f, key, v, AT_LAYER);
        if (rc != 0) return -1;
    }
    return 0;
}

/* mlstm_block / slstm_block: {"mlstm"|"slstm": layer, "feedforward": ffn (sLSTM only)}. */
static int parse_block(xlstm_config *cfg, const json_value *obj, int slstm)
{
    const char *at = slstm ? "slstm_block" : "mlstm_block";
    char f[128];
    if (obj->type != JSON_OBJECT) return wrong_type(at, "an object or null", obj);
    for (size_t i = 0; i < obj->len; i++) {
        const char *key = obj->members[i].key;
        const json_value *v = &obj->members[i].value;
        field_name(f, sizeof f, at, key);
        int rc;
        if (!slstm && !strcmp(key, "mlstm")) rc = parse_mlstm_layer(&cfg->mlstm, v, f);
        else if (slstm && !strcmp(key, "slstm")) rc = parse_slstm_layer(&cfg->slstm, v, f);
        else if (slstm && !strcmp(key, "feedforward")) rc = parse_ffn(&cfg->ffn, v, f);
        else rc = other_field(f, key, v, AT_BLOCK);
        if (rc != 0) return -1;
    }
    return 0;
}

/* slstm_at: a list of block indices, or "all". */
static int parse_slstm_at(xlstm_config *cfg, const json_value *v)
{
    if (check_range("num_blocks", cfg->num_blocks, 1, XLSTM_MAX_BLOCKS) != 0) return -1;
    if (v->type == JSON_STRING && strcmp(v->str, "all") == 0 && v->len == 3) {
        memset(cfg->is_slstm, 1, (size_t)cfg->num_blocks);
        return 0;
    }
    if (v->type != JSON_ARRAY) return wrong_type("slstm_at", "a list of block indices or \"all\"", v);
    for (size_t i = 0; i < v->len; i++) {
        const json_value *e = &v->items[i];
        if (e->type != JSON_NUMBER || !e->is_integer)
            return xlstm_fail("config: slstm_at[%zu] must be an integer (got %s)", i, json_type_name(e->type));
        if (e->integer < 0 || e->integer >= cfg->num_blocks)
            return xlstm_fail("config: slstm_at[%zu] = %lld is not a block index in [0, %d)", i,
                              (long long)e->integer, cfg->num_blocks);
        cfg->is_slstm[e->integer] = 1;
    }
    return 0;
}

static int parse_top(xlstm_config *cfg, const json_value *root)
{
    const json_value *slstm_at = NULL;
    if (root->type != JSON_OBJECT) return wrong_type("the config", "a JSON object", root);
    for (size_t i = 0; i < root->len; i++) {
        const char *key = root->members[i].key;
        const json_value *v = &root->members[i].value;
        int rc = 0;
        if (!strcmp(key, "vocab_size")) rc = want_int(key, v, &cfg->vocab_size);
        else if (!strcmp(key, "context_length")) rc = want_int(key, v, &cfg->context_length);
        else if (!strcmp(key, "num_blocks")) rc = want_int(key, v, &cfg->num_blocks);
        else if (!strcmp(key, "embedding_dim")) rc = want_int(key, v, &cfg->embedding_dim);
        else if (!strcmp(key, "add_post_blocks_norm")) rc = want_bool(key, v, &cfg->add_post_blocks_norm);
        else if (!strcmp(key, "bias")) rc = want_bool(key, v, &cfg->bias);
        else if (!strcmp(key, "tie_weights")) rc = want_bool(key, v, &cfg->tie_weights);
        else if (!strcmp(key, "weight_decay_on_embedding")) rc = want_bool(key, v, &cfg->weight_decay_on_embedding);
        else if (!strcmp(key, "slstm_at")) slstm_at = v;
        else if (!strcmp(key, "mlstm_block")) {
            cfg->has_mlstm_block = v->type != JSON_NULL;
            if (cfg->has_mlstm_block) rc = parse_block(cfg, v, 0);
        } else if (!strcmp(key, "slstm_block")) {
            cfg->has_slstm_block = v->type != JSON_NULL;
            if (cfg->has_slstm_block) rc = parse_block(cfg, v, 1);
        } else rc = other_field(key, key, v, AT_TOP);
        if (rc != 0) return -1;
    }
    /* after the loop: slstm_at is checked against num_blocks wherever either appears */
    if (slstm_at != NULL && parse_slstm_at(cfg, slstm_at) != 0) return -1;
    return 0;
}

int xlstm_config_parse(xlstm_config *cfg, const char *json, size_t len)
{
    json_value root;
    xlstm_config_default(cfg);
    if (json_parse(&root, json, len) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", xlstm_errmsg());
        return xlstm_fail("config: not valid JSON: %s", why);
    }
    int rc = parse_top(cfg, &root);
    json_free(&root);
    if (rc != 0) return -1;
    return xlstm_config_validate(cfg);
}

/* ---------------------------------------------------------------- writing */

static const char *bool_text(int b) { return b ? "true" : "false"; }

/* names[i], or NULL (after a message) when the enum value is out of range. */
static const char *enum_name(const char *field, const char *const *names, int n, int i)
{
    if (i < 0 || i >= n) {
        xlstm_fail("config: %s = %d is not a valid value", field, i);
        return NULL;
    }
    return names[i];
}

static void write_up_proj(json_writer *w, double factor, int round_up, int multiple)
{
    jw_raw(w, "\"proj_factor\": ");
    jw_double(w, factor);
    jw_printf(w, ", \"round_proj_up_dim_up\": %s, \"round_proj_up_to_multiple_of\": %d", bool_text(round_up),
              multiple);
}

int xlstm_config_to_json(const xlstm_config *cfg, char **out)
{
    const xlstm_slstm_config *s = &cfg->slstm;
    const xlstm_ffn_config *f = &cfg->ffn;
    const char *bias_init = NULL, *rec_init = NULL, *backend = NULL, *act = NULL;
    if (cfg->num_blocks < 1 || cfg->num_blocks > XLSTM_MAX_BLOCKS)
        return xlstm_fail("config: num_blocks must be in [1, %d] (got %d)", XLSTM_MAX_BLOCKS, cfg->num_blocks);
    if (cfg->has_slstm_block) {
        bias_init = enum_name("slstm_block.slstm.bias_init", bias_init_names, COUNT(bias_init_names), s->bias_init);
        rec_init = enum_name("slstm_block.slstm.recurrent_weight_init", recurrent_init_names,
                             COUNT(recurrent_init_names), s->recurrent_weight_init);
        backend = enum_name("slstm_block.slstm.backend", backend_names, COUNT(backend_names), s->backend);
        act = f->enabled ? enum_name("slstm_block.feedforward.act_fn", act_names, COUNT(act_names), f->act_fn) : "";
        if (!bias_init || !rec_init || !backend || !act) return -1;
    }

    json_writer w;
    jw_init(&w);
    jw_printf(&w,
              "{\"vocab_size\": %d, \"context_length\": %d, \"num_blocks\": %d, \"embedding_dim\": %d, "
              "\"add_post_blocks_norm\": %s, \"bias\": %s, \"dropout\": 0.0, \"tie_weights\": %s, "
              "\"weight_decay_on_embedding\": %s, \"slstm_at\": [",
              cfg->vocab_size, cfg->context_length, cfg->num_blocks, cfg->embedding_dim,
              bool_text(cfg->add_post_blocks_norm), bool_text(cfg->bias), bool_text(cfg->tie_weights),
              bool_text(cfg->weight_decay_on_embedding));
    for (int i = 0, n = 0; i < cfg->num_blocks; i++)
        if (cfg->is_slstm[i]) jw_printf(&w, "%s%d", n++ ? ", " : "", i);
    jw_raw(&w, "]");
    if (cfg->has_mlstm_block) {
        const xlstm_mlstm_config *m = &cfg->mlstm;
        jw_printf(&w, ", \"mlstm_block\": {\"mlstm\": {\"conv1d_kernel_size\": %d, \"qkv_proj_blocksize\": %d, "
                      "\"num_heads\": %d, ",
                  m->conv1d_kernel_size, m->qkv_proj_blocksize, m->num_heads);
        write_up_proj(&w, m->proj_factor, m->round_proj_up_dim_up, m->round_proj_up_to_multiple_of);
        jw_raw(&w, "}}");
    }
    if (cfg->has_slstm_block) {
        jw_printf(&w, ", \"slstm_block\": {\"slstm\": {\"num_heads\": %d, \"conv1d_kernel_size\": %d, "
                      "\"bias_init\": \"%s\", \"recurrent_weight_init\": \"%s\", \"backend\": \"%s\"}, "
                      "\"feedforward\": ",
                  s->num_heads, s->conv1d_kernel_size, bias_init, rec_init, backend);
        if (f->enabled) {
            jw_printf(&w, "{\"act_fn\": \"%s\", \"bias\": %s, \"ff_type\": \"ffn_gated\", ", act, bool_text(f->bias));
            write_up_proj(&w, f->proj_factor, f->round_proj_up_dim_up, f->round_proj_up_to_multiple_of);
            jw_raw(&w, "}");
        } else {
            jw_raw(&w, "null");
        }
        jw_raw(&w, "}");
    }
    jw_raw(&w, "}");
    return jw_finish(&w, out, NULL);
}
