/* fuzz_cli_generate.c — libFuzzer target: `xlstm generate`'s flag parser and its --tokens
 * list parser. First two bytes: the vocabulary size for the token list; the rest: an argv
 * (NUL-separated). Every id the list parser accepts must lie in the vocabulary. */
#include <stdint.h>

#include "cli_harness.h"
#include "cli/generate.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    static harness_args args;
    static generate_opts opts;
    static int32_t *ids;
    const int V = 1 + (data[0] | data[1] << 8);
    harness_split(&args, data + 2, size - 2);
    ids = NULL;
    if (setjmp(harness_died) == 0 && parse_args(&opts, args.argc, args.argv) == 0 && opts.token_list) {
        int n;
        ids = parse_token_list(opts.token_list, V, &n);
        for (int i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= V) abort();
    }
    free(ids);
    free(args.text);
    return 0;
}
