/* fuzz_data.c — libFuzzer target: the text-data checks of `--data` (train and eval) on any
 * bytes. Text is accepted only without NUL bytes; a refusal is one line naming the data;
 * the train/validation split point of accepted text lies inside it. First byte: bit 0
 * selects the bundled corpus' split rule; the rest is the data. (Reading files is plain
 * fread: the content is what can be hostile.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cli/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const uint8_t *text = data + 1;
    const size_t n = size - 1;
    if (text_check(text, n, "fuzz.txt") != 0) {
        const char *msg = xlstm_errmsg();
        if (strncmp(msg, "fuzz.txt: ", 10) != 0 || strchr(msg, '\n') != NULL) abort();
        return 0;
    }
    if (n == 0 || memchr(text, 0, n) != NULL) abort();
    size_t start = text_val_start(text, n, data[0] & 1);
    if (start > n) abort();
    return 0;
}
