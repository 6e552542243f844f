/* fuzz_config.c — libFuzzer target: any byte string as a model config JSON. The model
 * interface's choice of architecture never crashes, and picks xlstm for every config the
 * xLSTM[a:b] parser takes; a config that parses must serialize and parse back to the same
 * config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"
#include "models/arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xlstm_config a, b;
    const model_arch *arch = NULL;
    int known = arch_of_config((const char *)data, size, &arch) == 0;
    if (xlstm_config_parse(&a, (const char *)data, size) != 0) return 0;
    if (!known || strcmp(arch->name, "xlstm") != 0) abort();
    char *json = NULL, *again = NULL;
    if (xlstm_config_to_json(&a, &json) != 0) abort();
    if (xlstm_config_parse(&b, json, strlen(json)) != 0) abort();
    if (xlstm_config_to_json(&b, &again) != 0 || strcmp(json, again) != 0) abort();
    if (a.mlstm.inner_dim != b.mlstm.inner_dim || a.ffn.up_dim != b.ffn.up_dim ||
        memcmp(a.is_slstm, b.is_slstm, sizeof a.is_slstm) != 0)
        abort();
    free(json);
    free(again);
    return 0;
}
