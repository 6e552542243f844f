/* fuzz_json.c — libFuzzer target: the JSON parser on any byte string (not NUL-terminated). */
#include <stdint.h>

#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_value v;
    if (json_parse(&v, (const char *)data, size) == 0) json_free(&v);
    return 0;
}
