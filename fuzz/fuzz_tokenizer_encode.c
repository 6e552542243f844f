/* fuzz_tokenizer_encode.c — libFuzzer target: any byte string encoded, then decoded, by a
 * tokenizer trained at start-up (no normalizer: decoding gives back the text with ill-formed
 * UTF-8 as U+FFFD) and by GPT-NeoX-20B's where ../shared/tokenizer has it (NFC, added runs of
 * spaces: the ids must be in range and decode). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/unicode.h"
#include "xlstm.h"

static xlstm_tokenizer *trained, *neox;

static const char corpus[] =
    "Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse, "
    "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery "
    "part of the world. It's a way I have of driving off the spleen, and regulating the circulation. 1851 "
    "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xd0\xa0\xd1\x83\xd1\x81\xd1\x8c <|endoftext|>  \t\n\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (xlstm_tokenizer_train(&trained, corpus, sizeof corpus - 1, 400) != 0) {
        fprintf(stderr, "fuzz_tokenizer_encode: %s\n", xlstm_errmsg());
        exit(1);
    }
    if (xlstm_tokenizer_load(&neox, "../shared/tokenizer/neox-20b/tokenizer.json") != 0) neox = NULL;
    return 0;
}

/* The ids of the input, in range; returns the decoded text (malloc'd), *len its length. */
static char *round_trip(xlstm_tokenizer *t, const uint8_t *data, size_t size, size_t *len)
{
    int32_t *ids;
    size_t n;
    char *text;
    if (xlstm_tokenizer_encode(t, (const char *)data, size, &ids, &n) != 0) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= xlstm_tokenizer_vocab_size(t)) abort();
    if (xlstm_tokenizer_decode(t, ids, n, 0, &text, len) != 0) abort();
    free(ids);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len, fixed_len;
    char *text = round_trip(trained, data, size, &len), *fixed;
    if (utf8_repair((const char *)data, size, &fixed, &fixed_len) != 0) abort();
    const char *want = fixed ? fixed : (const char *)data;
    size_t want_len = fixed ? fixed_len : size;
    if (len != want_len || memcmp(text, want, len) != 0) abort();
    free(fixed);
    free(text);
    if (neox != NULL) free(round_trip(neox, data, size, &len));
    return 0;
}
