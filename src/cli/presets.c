/* presets.c — the named model configs, in the official xLSTMLMModelConfig JSON form (so
 * that they go through the same parser and checks as --config FILE). All use bytes
 * (vocabulary 256), mLSTM blocks with 4 heads, causal conv 4 and q/k/v blocks of 4, and
 * sLSTM blocks with 4 heads followed by a 1.3x GELU feed-forward. */
#include <stdio.h>
#include <string.h>

#include "cli/presets.h"

#define LM_JSON(D, L, SLSTM_AT)                                                                        \
    "{\"vocab_size\": 256, \"embedding_dim\": " #D ", \"num_blocks\": " #L ", \"slstm_at\": " SLSTM_AT  \
    ", \"mlstm_block\": {\"mlstm\": {\"conv1d_kernel_size\": 4, \"qkv_proj_blocksize\": 4, "           \
    "\"num_heads\": 4}}, \"slstm_block\": {\"slstm\": {\"num_heads\": 4, \"conv1d_kernel_size\": 4}, " \
    "\"feedforward\": {\"proj_factor\": 1.3, \"act_fn\": \"gelu\"}}}"

static const struct {
    const char *name, *json, *about;
} presets[] = {
    {"tiny", LM_JSON(128, 4, "[1]"), "D 128, 4 blocks, sLSTM at block 1 (xLSTM[3:1]), ~0.5M parameters"},
    {"small", LM_JSON(256, 4, "[1]"), "D 256, 4 blocks, sLSTM at block 1 (xLSTM[3:1]), ~1.8M parameters"},
    {"medium", LM_JSON(512, 8, "[3]"), "D 512, 8 blocks, sLSTM at block 3 (xLSTM[7:1]), ~13M parameters"},
};

const char *preset_json(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) return presets[i].json;
    return NULL;
}

const char *preset_names(void)
{
    static char names[64];
    if (names[0] == 0)
        for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
            if (i > 0) strcat(names, ", ");
            strcat(names, presets[i].name);
        }
    return names;
}

void preset_print_help(FILE *out, const char *indent)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        fprintf(out, "%s%-7s %s\n", indent, presets[i].name, presets[i].about);
}
