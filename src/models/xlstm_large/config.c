/* config.c — the official xLSTMLargeConfig as JSON: its fields by their official names and
 * defaults, "architecture": "xlstm_large", and our context_length. The sizes follow the official
 * code: qk_dim = int(D * qk_dim_factor), v_dim = int(D * v_dim_factor) (each divided among the
 * heads), the FFN width D * ffn_proj_factor rounded up to a multiple of
 * ffn_round_up_to_multiple_of. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "large.h"
#include "io/json.h"

#define MAX_DIM (1 << 24)
#define MAX_TENSOR 2147483647.0 /* elements of one weight matrix */

enum { F_INT, F_NUM, F_CAP, F_BOOL, F_STR, F_WEIGHT_MODE };

/* Every field, in the order the JSON is written. F_CAP: a number > 0, or null for no cap. */
static const struct {
    const char *name;
    int type;
    size_t off, size; /* size: of an F_STR buffer */
} FIELDS[] = {
#define FIELD(name, type) {#name, type, offsetof(large_config, name), 0}
#define STRING(name) {#name, F_STR, offsetof(large_config, name), sizeof(((large_config *)0)->name)}
    FIELD(embedding_dim, F_INT),
    FIELD(num_heads, F_INT),
    FIELD(num_blocks, F_INT),
    FIELD(vocab_size, F_INT),
    FIELD(use_bias, F_BOOL),
    FIELD(norm_eps, F_NUM),
    FIELD(norm_reduction_force_float32, F_BOOL),
    FIELD(add_out_norm, F_BOOL),
    FIELD(qk_dim_factor, F_NUM),
    FIELD(v_dim_factor, F_NUM),
    STRING(chunkwise_kernel),
    STRING(sequence_kernel),
    STRING(step_kernel),
    STRING(mode),
    FIELD(chunk_size, F_INT),
    FIELD(return_last_states, F_BOOL),
    STRING(autocast_kernel_dtype),
    FIELD(eps, F_NUM),
    STRING(inference_state_dtype),
    FIELD(ffn_proj_factor, F_NUM),
    FIELD(ffn_round_up_to_multiple_of, F_INT),
    FIELD(gate_soft_cap, F_CAP),
    FIELD(output_logit_soft_cap, F_CAP),
    {"weight_mode", F_WEIGHT_MODE, offsetof(large_config, fused), 0},
    FIELD(context_length, F_INT),
#undef FIELD
#undef STRING
};
#define NFIELDS (int)(sizeof FIELDS / sizeof FIELDS[0])

static void defaults(large_config *c)
{
    memset(c, 0, sizeof *c);
    c->embedding_dim = c->num_heads = c->num_blocks = c->vocab_size = -1;
    c->norm_eps = 1e-6;
    c->norm_reduction_force_float32 = 1;
    c->add_out_norm = 1;
    c->qk_dim_factor = 0.5;
    c->v_dim_factor = 1.0;
    strcpy(c->chunkwise_kernel, "chunkwise--triton_limit_chunk");
    strcpy(c->sequence_kernel, "native_sequence__triton");
    strcpy(c->step_kernel, "triton");
    strcpy(c->mode, "train");
    c->chunk_size = 64;
    strcpy(c->autocast_kernel_dtype, "bfloat16");
    c->eps = 1e-6;
    strcpy(c->inference_state_dtype, "float32");
    c->ffn_proj_factor = 2.6667;
    c->ffn_round_up_to_multiple_of = 64;
    c->gate_soft_cap = 15.0;
    c->output_logit_soft_cap = 30.0;
    c->context_length = -1;
}

static int set_field(large_config *c, int f, const json_value *v)
{
    const char *name = FIELDS[f].name;
    void *p = (char *)c + FIELDS[f].off;
    switch (FIELDS[f].type) {
    case F_INT:
        if (v->type != JSON_NUMBER || !v->is_integer || v->integer < -MAX_DIM || v->integer > MAX_DIM)
            return xlstm_fail("config: %s must be an integer in [%d, %d]", name, -MAX_DIM, MAX_DIM);
        *(int *)p = (int)v->integer;
        return 0;
    case F_CAP:
        if (v->type == JSON_NULL) {
            *(double *)p = 0;
            return 0;
        }
        if (v->type != JSON_NUMBER || !(v->number > 0) || !isfinite(v->number))
            return xlstm_fail("config: %s must be a number > 0, or null for none", name);
        *(double *)p = v->number;
        return 0;
    case F_NUM:
        if (v->type != JSON_NUMBER || !isfinite(v->number) || v->number < 0)
            return xlstm_fail("config: %s must be a finite number >= 0", name);
        *(double *)p = v->number;
        return 0;
    case F_BOOL:
        if (v->type != JSON_BOOL) return xlstm_fail("config: %s must be true or false", name);
        *(int *)p = v->boolean;
        return 0;
    case F_STR:
        if (!json_is_cstring(v) || v->len >= FIELDS[f].size)
            return xlstm_fail("config: %s must be a string of at most %zu bytes", name, FIELDS[f].size - 1);
        memcpy(p, v->str, v->len + 1);
        return 0;
    default: /* F_WEIGHT_MODE */
        if (!json_is_cstring(v) || (strcmp(v->str, "single") != 0 && strcmp(v->str, "fused") != 0))
            return xlstm_fail("config: weight_mode must be \"single\" or \"fused\"");
        *(int *)p = strcmp(v->str, "fused") == 0;
        return 0;
    }
}

static int validate(large_config *c)
{
    static const char *const required[] = {"embedding_dim", "num_heads", "num_blocks", "vocab_size"};
    const int *req[] = {&c->embedding_dim, &c->num_heads, &c->num_blocks, &c->vocab_size};
    for (int i = 0; i < 4; i++)
        if (*req[i] < 1) return xlstm_fail("config: %s (an integer >= 1) is required", required[i]);
    if (c->num_blocks > XLSTM_MAX_BLOCKS)
        return xlstm_fail("config: num_blocks must be at most %d (got %d)", XLSTM_MAX_BLOCKS, c->num_blocks);
    if (c->use_bias) return xlstm_fail("config: use_bias true is not supported (only false, as in xLSTM-7B)");
    if (!(c->norm_eps > 0)) return xlstm_fail("config: norm_eps must be > 0");
    if (c->chunk_size < 1) return xlstm_fail("config: chunk_size must be >= 1 (got %d)", c->chunk_size);
    if (c->context_length != -1 && c->context_length < 1)
        return xlstm_fail("config: context_length must be >= 1, or -1 for unset (got %d)", c->context_length);
    if (c->ffn_round_up_to_multiple_of < 1)
        return xlstm_fail("config: ffn_round_up_to_multiple_of must be >= 1 (got %d)", c->ffn_round_up_to_multiple_of);
    double D = c->embedding_dim, qk = floor(D * c->qk_dim_factor), v = floor(D * c->v_dim_factor);
    double mult = c->ffn_round_up_to_multiple_of, ffn = floor((D * c->ffn_proj_factor + mult - 1) / mult) * mult;
    const char *names[3] = {"qk_dim_factor", "v_dim_factor", "ffn_proj_factor"};
    double dims[3] = {qk, v, ffn};
    for (int i = 0; i < 3; i++)
        if (!(dims[i] >= 1 && dims[i] <= MAX_DIM))
            return xlstm_fail("config: %s gives the width %g with embedding_dim %d, outside [1, %d]", names[i], dims[i],
                              c->embedding_dim, MAX_DIM);
    c->qk_dim = (int)qk, c->v_dim = (int)v, c->ffn_dim = (int)ffn;
    if (c->qk_dim % c->num_heads || c->v_dim % c->num_heads)
        return xlstm_fail("config: num_heads %d must divide qk_dim %d and v_dim %d", c->num_heads, c->qk_dim, c->v_dim);
    if (D * (2.0 * qk + 2.0 * v) > MAX_TENSOR || D * 2 * ffn > MAX_TENSOR || D * c->vocab_size > MAX_TENSOR)
        return xlstm_fail("config: a weight matrix would exceed %.0f elements", MAX_TENSOR);
    return 0;
}

int large_config_parse(large_config *c, const char *json, size_t len)
{
    defaults(c);
    json_value doc;
    if (json_parse(&doc, json, len) != 0) return -1;
    int rc = doc.type == JSON_OBJECT ? 0 : xlstm_fail("config: a JSON object is needed");
    for (size_t i = 0; rc == 0 && i < doc.len; i++) {
        const json_member *mb = &doc.members[i];
        int f = 0;
        while (f < NFIELDS && strcmp(FIELDS[f].name, mb->key) != 0) f++;
        if (f < NFIELDS)
            rc = set_field(c, f, &mb->value);
        else if (strcmp(mb->key, "architecture") == 0)
            rc = json_is_cstring(&mb->value) && strcmp(mb->value.str, "xlstm_large") == 0
                     ? 0
                     : xlstm_fail("config: architecture must be \"xlstm_large\" here");
        else
            rc = xlstm_fail("config: unknown field '%s' (not an xLSTMLargeConfig field)", mb->key);
    }
    json_free(&doc);
    return rc == 0 ? validate(c) : -1;
}

int large_config_to_json(const large_config *c, char **out)
{
    json_writer w;
    jw_init(&w);
    jw_raw(&w, "{\"architecture\": \"xlstm_large\"");
    for (int f = 0; f < NFIELDS; f++) {
        const void *p = (const char *)c + FIELDS[f].off;
        jw_printf(&w, ", \"%s\": ", FIELDS[f].name);
        switch (FIELDS[f].type) {
        case F_INT: jw_printf(&w, "%d", *(const int *)p); break;
        case F_NUM: jw_double(&w, *(const double *)p); break;
        case F_CAP:
            if (*(const double *)p > 0) jw_double(&w, *(const double *)p);
            else jw_raw(&w, "null");
            break;
        case F_BOOL: jw_raw(&w, *(const int *)p ? "true" : "false"); break;
        case F_STR: jw_string(&w, (const char *)p); break;
        default: jw_string(&w, *(const int *)p ? "fused" : "single"); break;
        }
    }
    jw_raw(&w, "}");
    return jw_finish(&w, out, NULL);
}
