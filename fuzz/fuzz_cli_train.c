/* fuzz_cli_train.c — libFuzzer target: `xlstm train`'s flag parser and the train_args JSON
 * that a checkpoint stores and --resume reads back. First byte odd: the rest is train_args
 * as found in an optimizer.safetensors (untrusted); even: the rest is an argv (NUL-separated),
 * and the options it gives must survive the checkpoint's JSON round trip exactly. */
#include <stdint.h>

#include "cli_harness.h"
#include "cli/train.c"

/* 0 if the options that a checkpoint keeps (KEEP and FIXED) are equal in a and b */
static int same_saved_options(const train_opts *a, const train_opts *b)
{
    for (int i = 0; i < NSPECS; i++) {
        const opt_spec *s = &specs[i];
        if (s->resume == LOCAL) continue;
        int same = 1;
        switch (s->type) {
        case T_STR: {
            const char *x = *FIELD(a, s, const char *const), *y = *FIELD(b, s, const char *const);
            same = (x == NULL) == (y == NULL) && (x == NULL || strcmp(x, y) == 0);
            break;
        }
        case T_LONG: same = *FIELD(a, s, const long) == *FIELD(b, s, const long); break;
        case T_REAL: same = *FIELD(a, s, const double) == *FIELD(b, s, const double); break;
        case T_SEED: same = *FIELD(a, s, const uint64_t) == *FIELD(b, s, const uint64_t); break;
        case T_SWITCH: break;
        }
        if (!same) return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    static harness_args args;
    static train_opts opts, back;
    static int given[NSPECS];
    static const int none[NSPECS];
    static json_value doc;
    static char *saved;
    harness_split(&args, data + 1, size - 1);
    memset(given, 0, sizeof given);
    memset(&doc, 0, sizeof doc);
    saved = NULL;
    if (setjmp(harness_died) == 0) {
        if (data[0] & 1) {
            opts = defaults;
            opts.out = "fuzz";
            options_from_checkpoint(&opts, none, args.text, &doc);
        } else if (parse_args(&opts, given, args.argc, args.argv) == 0) {
            steps_from_tokens(&opts, given);
            saved = options_json(&opts);
            back = defaults;
            options_from_checkpoint(&back, none, saved, &doc);
            if (same_saved_options(&opts, &back) != 0) abort(); /* a resume would train another run */
        }
    } else if (!(data[0] & 1) && saved != NULL) {
        abort(); /* the JSON we wrote was refused when read back */
    }
    json_free(&doc);
    free(saved);
    free(args.text);
    return 0;
}
