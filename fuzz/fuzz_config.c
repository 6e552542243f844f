/* fuzz_config.c — libFuzzer target: any byte string as a model config JSON. A config that
 * parses must serialize and parse back to the same config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xlstm_config a, b;
    if (xlstm_config_parse(&a, (const char *)data, size) != 0) return 0;
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
