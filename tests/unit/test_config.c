/* test_config.c — the official xLSTMLMModelConfig JSON: defaults, derived widths, round
 * trip through xlstm_config_to_json, and refusal of invalid configs naming the field. */
#include <string.h>

#include "common.h"
#include "test.h"

/* The `config` metadata of tests/data/ref/lm_mixed_small.safetensors. */
static const char *ref_config =
    "{\"vocab_size\": 64, \"context_length\": 32, \"num_blocks\": 4, \"embedding_dim\": 64, \"slstm_at\": [1], "
    "\"mlstm_block\": {\"mlstm\": {\"conv1d_kernel_size\": 4, \"qkv_proj_blocksize\": 4, \"num_heads\": 4, "
    "\"proj_factor\": 2.0}}, \"slstm_block\": {\"slstm\": {\"backend\": \"vanilla\", \"num_heads\": 4, "
    "\"conv1d_kernel_size\": 4, \"bias_init\": \"powerlaw_blockdependent\"}, \"feedforward\": {\"proj_factor\": 1.3, "
    "\"act_fn\": \"gelu\"}}}";

static int parse(xlstm_config *cfg, const char *json) { return xlstm_config_parse(cfg, json, strlen(json)); }

/* Every field, derived ones included (memcmp would also compare padding). */
static int same_config(const xlstm_config *a, const xlstm_config *b)
{
    const xlstm_mlstm_config *ma = &a->mlstm, *mb = &b->mlstm;
    const xlstm_slstm_config *sa = &a->slstm, *sb = &b->slstm;
    const xlstm_ffn_config *fa = &a->ffn, *fb = &b->ffn;
    return a->vocab_size == b->vocab_size && a->context_length == b->context_length &&
           a->num_blocks == b->num_blocks && a->embedding_dim == b->embedding_dim &&
           a->add_post_blocks_norm == b->add_post_blocks_norm && a->bias == b->bias &&
           a->tie_weights == b->tie_weights && a->weight_decay_on_embedding == b->weight_decay_on_embedding &&
           a->has_mlstm_block == b->has_mlstm_block && a->has_slstm_block == b->has_slstm_block &&
           memcmp(a->is_slstm, b->is_slstm, sizeof a->is_slstm) == 0 &&
           ma->conv1d_kernel_size == mb->conv1d_kernel_size && ma->qkv_proj_blocksize == mb->qkv_proj_blocksize &&
           ma->num_heads == mb->num_heads && ma->proj_factor == mb->proj_factor &&
           ma->round_proj_up_dim_up == mb->round_proj_up_dim_up &&
           ma->round_proj_up_to_multiple_of == mb->round_proj_up_to_multiple_of && ma->inner_dim == mb->inner_dim &&
           sa->num_heads == sb->num_heads && sa->conv1d_kernel_size == sb->conv1d_kernel_size &&
           sa->bias_init == sb->bias_init && sa->recurrent_weight_init == sb->recurrent_weight_init &&
           sa->backend == sb->backend && fa->enabled == fb->enabled && fa->proj_factor == fb->proj_factor &&
           fa->act_fn == fb->act_fn && fa->bias == fb->bias && fa->round_proj_up_dim_up == fb->round_proj_up_dim_up &&
           fa->round_proj_up_to_multiple_of == fb->round_proj_up_to_multiple_of && fa->up_dim == fb->up_dim;
}

static void check_round_trip(const xlstm_config *cfg, const char *what)
{
    char *json = NULL;
    xlstm_config back;
    CHECK(xlstm_config_to_json(cfg, &json) == 0, "%s: to_json: %s", what, xlstm_errmsg());
    if (json == NULL) return;
    CHECK(parse(&back, json) == 0, "%s: reparse: %s\n  %s", what, xlstm_errmsg(), json);
    CHECK(same_config(cfg, &back), "%s: round trip differs:\n  %s", what, json);
    xlstm_free(json);
}

static void test_ref_config(void)
{
    xlstm_config c;
    CHECK(parse(&c, ref_config) == 0, "%s", xlstm_errmsg());
    CHECK(c.vocab_size == 64 && c.context_length == 32 && c.num_blocks == 4 && c.embedding_dim == 64, "sizes");
    CHECK(c.is_slstm[0] == 0 && c.is_slstm[1] == 1 && c.is_slstm[2] == 0 && c.is_slstm[3] == 0, "block map");
    CHECK(c.is_slstm[4] == 0, "no block 4");
    CHECK(c.has_mlstm_block && c.has_slstm_block, "both blocks");
    CHECK(c.mlstm.conv1d_kernel_size == 4 && c.mlstm.qkv_proj_blocksize == 4 && c.mlstm.num_heads == 4 &&
              c.mlstm.proj_factor == 2.0,
          "mlstm fields");
    CHECK(c.mlstm.inner_dim == 128, "mLSTM inner dim %d, want 128", c.mlstm.inner_dim);
    CHECK(c.slstm.num_heads == 4 && c.slstm.conv1d_kernel_size == 4 && c.slstm.backend == XLSTM_BACKEND_VANILLA &&
              c.slstm.bias_init == XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT &&
              c.slstm.recurrent_weight_init == XLSTM_RECURRENT_ZEROS,
          "slstm fields");
    CHECK(c.ffn.enabled && c.ffn.proj_factor == 1.3 && c.ffn.act_fn == XLSTM_ACT_GELU && !c.ffn.bias, "ffn fields");
    /* 1.3 * 64 = 83.2 -> rounded up to a multiple of 64 */
    CHECK(c.ffn.up_dim == 128, "FFN up dim %d, want 128", c.ffn.up_dim);
    CHECK(c.add_post_blocks_norm && !c.bias && !c.tie_weights && !c.weight_decay_on_embedding, "defaults");
    check_round_trip(&c, "ref config");
}

static void test_defaults(void)
{
    xlstm_config c;
    xlstm_config_default(&c);
    CHECK(c.vocab_size == -1 && c.context_length == -1 && c.num_blocks == 1 && c.embedding_dim == 128, "stack");
    CHECK(c.add_post_blocks_norm == 1 && c.bias == 0 && c.tie_weights == 0 && c.weight_decay_on_embedding == 0,
          "flags");
    CHECK(!c.has_mlstm_block && !c.has_slstm_block, "no blocks");
    CHECK(c.mlstm.conv1d_kernel_size == 4 && c.mlstm.qkv_proj_blocksize == 4 && c.mlstm.num_heads == 4 &&
              c.mlstm.proj_factor == 2.0 && c.mlstm.round_proj_up_dim_up == 1 &&
              c.mlstm.round_proj_up_to_multiple_of == 64,
          "mlstm defaults");
    CHECK(c.slstm.num_heads == 4 && c.slstm.conv1d_kernel_size == 4 &&
              c.slstm.bias_init == XLSTM_BIAS_POWERLAW_BLOCKDEPENDENT &&
              c.slstm.recurrent_weight_init == XLSTM_RECURRENT_ZEROS && c.slstm.backend == XLSTM_BACKEND_CUDA,
          "slstm defaults");
    CHECK(c.ffn.enabled == 1 && c.ffn.proj_factor == 1.3 && c.ffn.act_fn == XLSTM_ACT_GELU && c.ffn.bias == 0 &&
              c.ffn.round_proj_up_dim_up == 1 && c.ffn.round_proj_up_to_multiple_of == 64,
          "ffn defaults");
    CHECK(xlstm_config_validate(&c) != 0, "no block config: refused");

    /* mLSTM only: D = 128, E = 2 * 128 */
    CHECK(parse(&c, "{\"vocab_size\": 10, \"mlstm_block\": {}}") == 0, "%s", xlstm_errmsg());
    CHECK(c.mlstm.inner_dim == 256 && c.num_blocks == 1 && !c.is_slstm[0] && !c.has_slstm_block, "mLSTM only");
    CHECK(c.ffn.up_dim == 0, "no FFN width without an sLSTM block");
    check_round_trip(&c, "mLSTM only");

    /* no mlstm_block: every block is an sLSTM block; FFN 1.3 * 128 = 166.4 -> 192 */
    CHECK(parse(&c, "{\"vocab_size\": 10, \"num_blocks\": 3, \"slstm_at\": [], \"slstm_block\": {}}") == 0, "%s",
          xlstm_errmsg());
    CHECK(c.is_slstm[0] && c.is_slstm[1] && c.is_slstm[2] && !c.is_slstm[3], "all sLSTM");
    CHECK(c.ffn.up_dim == 192 && c.mlstm.inner_dim == 0, "ffn up %d", c.ffn.up_dim);
    CHECK(c.slstm.backend == XLSTM_BACKEND_CUDA, "backend default cuda");
    check_round_trip(&c, "sLSTM only");

    CHECK(parse(&c, "{\"vocab_size\": 10, \"num_blocks\": 3, \"slstm_at\": \"all\", \"mlstm_block\": {}, "
                    "\"slstm_block\": {\"feedforward\": null}}") == 0,
          "%s", xlstm_errmsg());
    CHECK(c.is_slstm[0] && c.is_slstm[1] && c.is_slstm[2] && !c.ffn.enabled && c.ffn.up_dim == 0, "\"all\", no FFN");
    check_round_trip(&c, "no FFN");

    /* rounding down: floor(1.3 * 128 / 64) * 64 = 128; a multiple of 32: ceil(2.0 * 100 / 32) * 32 = 224 */
    CHECK(parse(&c, "{\"vocab_size\": 10, \"embedding_dim\": 128, \"num_blocks\": 2, \"slstm_at\": [0], "
                    "\"mlstm_block\": {\"mlstm\": {\"round_proj_up_to_multiple_of\": 32, \"num_heads\": 2}}, "
                    "\"slstm_block\": {\"feedforward\": {\"round_proj_up_dim_up\": false, \"act_fn\": \"relu^2\", "
                    "\"bias\": true}, \"slstm\": {\"bias_init\": \"small_init\", \"recurrent_weight_init\": "
                    "\"standard\", \"conv1d_kernel_size\": 0}}, \"bias\": true, \"tie_weights\": true, "
                    "\"add_post_blocks_norm\": false, \"weight_decay_on_embedding\": true}") == 0,
          "%s", xlstm_errmsg());
    CHECK(c.ffn.up_dim == 128 && c.ffn.act_fn == XLSTM_ACT_RELU2 && c.ffn.bias, "ffn %d", c.ffn.up_dim);
    CHECK(c.slstm.bias_init == XLSTM_BIAS_SMALL_INIT && c.slstm.recurrent_weight_init == XLSTM_RECURRENT_STANDARD &&
              c.slstm.conv1d_kernel_size == 0,
          "slstm options");
    CHECK(c.bias && c.tie_weights && !c.add_post_blocks_norm && c.weight_decay_on_embedding, "top flags");
    CHECK(parse(&c, "{\"vocab_size\": 10, \"embedding_dim\": 100, \"mlstm_block\": {\"mlstm\": "
                    "{\"round_proj_up_to_multiple_of\": 32, \"num_heads\": 2}}}") == 0,
          "%s", xlstm_errmsg());
    CHECK(c.mlstm.inner_dim == 224, "inner %d", c.mlstm.inner_dim);
    check_round_trip(&c, "multiple of 32");

    /* a config built in C */
    xlstm_config_default(&c);
    c.vocab_size = 50;
    c.embedding_dim = 64;
    c.has_mlstm_block = 1;
    CHECK(xlstm_config_validate(&c) == 0 && c.mlstm.inner_dim == 128, "validate from C: %s", xlstm_errmsg());
    c.mlstm.num_heads = 5;
    CHECK(xlstm_config_validate(&c) != 0 && strstr(xlstm_errmsg(), "mlstm_block.mlstm.num_heads"), "%s",
          xlstm_errmsg());
}

/* An official asdict() dump carries fields the stack overwrites or that tune CUDA kernels. */
static void test_ignored_fields(void)
{
    const char *full =
        "{\"vocab_size\": 64, \"context_length\": 32, \"num_blocks\": 4, \"embedding_dim\": 64, \"slstm_at\": [1, 1],"
        " \"add_post_blocks_norm\": true, \"bias\": false, \"dropout\": 0.0, \"_block_map\": \"0,1,0,0\","
        " \"tie_weights\": false, \"weight_decay_on_embedding\": false, \"add_embedding_dropout\": false,"
        " \"mlstm_block\": {\"_num_blocks\": 4, \"_block_idx\": null, \"mlstm\": {\"conv1d_kernel_size\": 4,"
        "  \"qkv_proj_blocksize\": 4, \"num_heads\": 4, \"proj_factor\": 2, \"round_proj_up_dim_up\": true,"
        "  \"round_proj_up_to_multiple_of\": 64, \"_proj_up_dim\": 128, \"embedding_dim\": 64, \"bias\": false,"
        "  \"dropout\": 0, \"context_length\": 32, \"_num_blocks\": 4, \"_inner_embedding_dim\": 128}},"
        " \"slstm_block\": {\"_num_blocks\": 4, \"_block_idx\": null, \"slstm\": {\"hidden_size\": 64,"
        "  \"num_heads\": 4, \"num_states\": 4, \"backend\": \"vanilla\", \"function\": \"slstm\","
        "  \"bias_init\": \"powerlaw_blockdependent\", \"recurrent_weight_init\": \"zeros\", \"_block_idx\": 0,"
        "  \"_num_blocks\": 4, \"num_gates\": 4, \"gradient_recurrent_cut\": false,"
        "  \"gradient_recurrent_clipval\": null, \"forward_clipval\": null, \"batch_size\": 8,"
        "  \"input_shape\": \"BSGNH\", \"internal_input_shape\": \"SBNGH\", \"output_shape\": \"BNSH\","
        "  \"constants\": {}, \"dtype\": \"bfloat16\", \"dtype_b\": \"float32\", \"dtype_r\": \"bfloat16\","
        "  \"dtype_w\": \"bfloat16\", \"dtype_g\": \"bfloat16\", \"dtype_s\": \"bfloat16\", \"dtype_a\": \"float32\","
        "  \"enable_automatic_mixed_precision\": true, \"initial_val\": 0.0, \"embedding_dim\": 64,"
        "  \"conv1d_kernel_size\": 4, \"group_norm_weight\": true, \"dropout\": 0.0},"
        "  \"feedforward\": {\"proj_factor\": 1.3, \"round_proj_up_dim_up\": true, \"round_proj_up_to_multiple_of\": 64,"
        "  \"_proj_up_dim\": 128, \"act_fn\": \"gelu\", \"embedding_dim\": 64, \"dropout\": 0.0, \"bias\": false,"
        "  \"ff_type\": \"ffn_gated\", \"_num_blocks\": 4}}}";
    xlstm_config a, b;
    CHECK(parse(&a, full) == 0, "%s", xlstm_errmsg());
    CHECK(parse(&b, ref_config) == 0, "%s", xlstm_errmsg());
    CHECK(same_config(&a, &b), "the full dump means the reference config");
}

static void test_invalid(void)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        {"{}", "config: neither mlstm_block nor slstm_block is given"},
        {"{\"mlstm_block\": {}}", "config: vocab_size is required"},
        {"{\"vocab_size\": 0, \"mlstm_block\": {}}", "vocab_size must be in [1, "},
        {"{\"vocab_size\": \"64\", \"mlstm_block\": {}}", "config: vocab_size must be an integer (got string)"},
        {"{\"vocab_size\": 5000000000, \"mlstm_block\": {}}", "vocab_size = 5000000000 is out of range"},
        {"{\"vocab_size\": 64.0, \"mlstm_block\": {}}", "vocab_size must be an integer"},
        {"{\"vocab_size\": 8, \"num_blocks\": 0, \"mlstm_block\": {}}", "num_blocks must be in [1, 1024]"},
        {"{\"vocab_size\": 8, \"num_blocks\": 1025, \"mlstm_block\": {}}", "num_blocks must be in [1, 1024]"},
        {"{\"vocab_size\": 8, \"embedding_dim\": 0, \"mlstm_block\": {}}", "embedding_dim must be in"},
        {"{\"vocab_size\": 8, \"embedding_dim\": 16777217, \"mlstm_block\": {}}", "embedding_dim must be in"},
        {"{\"vocab_size\": 8, \"context_length\": 0, \"mlstm_block\": {}}", "context_length"},
        {"{\"vocab_size\": 16777216, \"embedding_dim\": 1024, \"mlstm_block\": {}}", "vocab_size x embedding_dim"},
        {"{\"vocab_size\": 8, \"embedding_dim\": 65536, \"mlstm_block\": {}}", "mlstm_block.mlstm: proj_up"},
        {"{\"vocab_size\": 8, \"num_blocks\": 2, \"slstm_at\": [2], \"mlstm_block\": {}, \"slstm_block\": {}}",
         "config: slstm_at[0] = 2 is not a block index in [0, 2)"},
        {"{\"vocab_size\": 8, \"num_blocks\": 2, \"slstm_at\": [0, -1], \"mlstm_block\": {}, \"slstm_block\": {}}",
         "slstm_at[1] = -1"},
        {"{\"vocab_size\": 8, \"num_blocks\": 2, \"slstm_at\": [0.5], \"mlstm_block\": {}, \"slstm_block\": {}}",
         "slstm_at[0] must be an integer"},
        {"{\"vocab_size\": 8, \"slstm_at\": \"some\", \"mlstm_block\": {}}", "slstm_at must be a list"},
        {"{\"vocab_size\": 8, \"num_blocks\": 2, \"slstm_at\": [1], \"mlstm_block\": {}}",
         "slstm_at names block 1 but there is no slstm_block"},
        {"{\"vocab_size\": 8, \"mlstm_block\": 3}", "mlstm_block must be an object or null (got number)"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": null}}", "mlstm_block.mlstm must be an object"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"num_heads\": 3}}}", "mlstm_block.mlstm.num_heads 3"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"num_heads\": 4.0}}}",
         "mlstm_block.mlstm.num_heads must be an integer (got number)"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"qkv_proj_blocksize\": 3}}}",
         "mlstm_block.mlstm.qkv_proj_blocksize 3"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"conv1d_kernel_size\": 0}}}",
         "mlstm_block.mlstm.conv1d_kernel_size must be in [1, 1024]"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"conv1d_kernel_size\": 1025}}}",
         "mlstm_block.mlstm.conv1d_kernel_size"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"proj_factor\": 0}}}", "mlstm_block.mlstm.proj_factor"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"proj_factor\": 1e300}}}",
         "mlstm_block.mlstm.proj_factor"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"round_proj_up_to_multiple_of\": 0}}}",
         "mlstm_block.mlstm.round_proj_up_to_multiple_of"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"proj_factor\": 0.1, \"round_proj_up_dim_up\": false}}}",
         "mlstm_block.mlstm.proj_factor 0.1 with embedding_dim 128 gives the width 0"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"mlstm\": {\"round_proj_up_dim_up\": 1}}}",
         "mlstm_block.mlstm.round_proj_up_dim_up must be true or false"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {\"slstm\": {}}}", "config: unknown field 'mlstm_block.slstm'"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"conv1d_kernel_size\": -1}}}",
         "slstm_block.slstm.conv1d_kernel_size must be in [0, 1024]"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"num_heads\": 3}}}", "slstm_block.slstm.num_heads 3"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"num_heads\": 0}}}", "slstm_block.slstm.num_heads"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"num_heads\": 128}}}", "powerlaw_blockdependent"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"backend\": \"triton\"}}}",
         "slstm_block.slstm.backend \"triton\" is not one of \"cuda\", \"vanilla\""},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"bias_init\": 0}}}",
         "slstm_block.slstm.bias_init must be a string"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"foo\": 1}}}",
         "config: unknown field 'slstm_block.slstm.foo'"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"function\": \"lstm\"}}}",
         "slstm_block.slstm.function \"lstm\" not supported (only \"slstm\")"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"group_norm_weight\": false}}}",
         "slstm_block.slstm.group_norm_weight false not supported (only true)"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"gradient_recurrent_cut\": true}}}",
         "slstm_block.slstm.gradient_recurrent_cut"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"forward_clipval\": 1.0}}}",
         "slstm_block.slstm.forward_clipval 1 not supported (only null)"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"num_gates\": 3}}}", "slstm_block.slstm.num_gates"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"dtype\": 3}}}",
         "slstm_block.slstm.dtype must be a string or null"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"slstm\": {\"dropout\": 0.1}}}",
         "config: slstm_block.slstm.dropout 0.1 not supported (only 0)"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"feedforward\": {\"proj_factor\": \"x\"}}}",
         "slstm_block.feedforward.proj_factor must be a number (got string)"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"feedforward\": {\"act_fn\": \"tanh\"}}}",
         "slstm_block.feedforward.act_fn \"tanh\" is not one of"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"feedforward\": {\"ff_type\": \"ffn\"}}}",
         "slstm_block.feedforward.ff_type"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"feedforward\": {\"proj_factor\": -1.3}}}",
         "slstm_block.feedforward.proj_factor must be a finite number > 0"},
        {"{\"vocab_size\": 8, \"slstm_block\": {\"feedforward\": 1}}", "slstm_block.feedforward must be an object"},
        {"{\"vocab_size\": 8, \"dropout\": 0.1, \"mlstm_block\": {}}", "config: dropout 0.1 not supported (only 0)"},
        {"{\"vocab_size\": 8, \"vocab\": 8, \"mlstm_block\": {}}", "config: unknown field 'vocab'"},
        {"{\"vocab_size\": 8, \"tie_weights\": null, \"mlstm_block\": {}}", "tie_weights must be true or false"},
        {"{\"vocab_size\": 8, \"mlstm_block\": {}", "config: not valid JSON: json: unexpected end of input"},
        {"[]", "the config must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xlstm_config c;
        int rc = parse(&c, cases[i].json);
        CHECK(rc != 0, "accepted: %s", cases[i].json);
        CHECK(strstr(xlstm_errmsg(), cases[i].message) != NULL, "case %zu: message \"%s\" lacks \"%s\"", i,
              xlstm_errmsg(), cases[i].message);
    }
}

int main(void)
{
    RUN(test_ref_config);
    RUN(test_defaults);
    RUN(test_ignored_fields);
    RUN(test_invalid);
    TEST_EXIT();
}
