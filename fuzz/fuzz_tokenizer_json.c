/* fuzz_tokenizer_json.c — libFuzzer target: any byte string as a tokenizer.json. A file that
 * loads must encode a text with every kind of piece into ids in range that decode, and be saved
 * and loaded back into a tokenizer that encodes the text the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xlstm.h"

static const char text[] = "Hello, world's 123 <|endoftext|>  e\xcc\x81\xe2\x80\x94 \xf0\x9f\x98\x80\n\x85x\xff";

static void encode(xlstm_tokenizer *t, int32_t **ids, size_t *n)
{
    if (xlstm_tokenizer_encode(t, text, sizeof text - 1, ids, n) != 0) abort();
    for (size_t i = 0; i < *n; i++)
        if ((*ids)[i] < 0 || (*ids)[i] >= xlstm_tokenizer_vocab_size(t)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xlstm_tokenizer *t, *again;
    if (xlstm_tokenizer_load_json(&t, (const char *)data, size, "fuzz.json") != 0) return 0;
    int32_t *ids, *ids2;
    size_t n, n2, len;
    char *decoded, path[64];
    encode(t, &ids, &n);
    if (xlstm_tokenizer_decode(t, ids, n, 0, &decoded, &len) != 0) abort();
    free(decoded);
    snprintf(path, sizeof path, "/dev/shm/fuzz_tokenizer_json.%d.json", (int)getpid()); /* memory: no disk per run */
    /* a token holding a NUL cannot be saved; anything else must come back the same */
    if (xlstm_tokenizer_save(t, path) == 0) {
        if (xlstm_tokenizer_load(&again, path) != 0) abort();
        encode(again, &ids2, &n2);
        if (n2 != n || memcmp(ids, ids2, n * sizeof *ids) != 0) abort();
        free(ids2);
        xlstm_tokenizer_free(again);
        unlink(path);
    }
    free(ids);
    xlstm_tokenizer_free(t);
    return 0;
}
