/* load_gpt2.c — GPT-2's original pair of files: encoder.json (or vocab.json), token -> id, and
 * vocab.bpe (or merges.txt), a "#version" line then one merge "a b" a line in rank order. The
 * pipeline is GPT-2's: no normalizer, the ByteLevel split; "<|endoftext|>", where the
 * vocabulary has it, is a special token (as in GPT-2's tokenizer.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

static const char endoftext[] = "<|endoftext|>";

/* The merge lines of text[0, len) (NUL-terminated) into the tokenizer. */
static int read_merges(xlstm_tokenizer *t, char *text, size_t len, const char *where)
{
    size_t line = 0;
    for (char *s = text, *end; s < text + len; s = end + 1) {
        end = memchr(s, '\n', (size_t)(text + len - s));
        if (end == NULL) end = text + len;
        line++;
        size_t n = (size_t)(end - s);
        if (n > 0 && s[n - 1] == '\r') n--;
        if (n >= 8 && memcmp(s, "#version", 8) == 0) continue;
        const char *space = memchr(s, ' ', n);
        if (space == NULL || memchr(space + 1, ' ', n - (size_t)(space - s) - 1) != NULL)
            return xlstm_fail("%s: line %zu is not two tokens with one space between them", where, line);
        if (vocab_add_merge(t, s, (size_t)(space - s), space + 1, n - (size_t)(space - s) - 1, where, "line %zu", line) != 0)
            return -1;
    }
    return 0;
}

/* Merge lines: at most one a line (an upper bound of the merges). */
static size_t count_lines(const char *text, size_t len)
{
    size_t n = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))) != NULL; p++) n++;
    return n;
}

int xlstm_tokenizer_load_gpt2(xlstm_tokenizer **out, const char *vocab_path, const char *merges_path)
{
    *out = NULL;
    if (!uni_available()) return -1;
    char *vocab_text = NULL, *merges_text = NULL;
    size_t vocab_len, merges_len;
    json_value vocab = {0};
    xlstm_tokenizer *t = NULL;
    int32_t size = 0;
    int rc = vocab_read_file(vocab_path, &vocab_text, &vocab_len) != 0 ||
                     vocab_read_file(merges_path, &merges_text, &merges_len) != 0
                 ? -1
                 : 0;
    if (rc == 0 && json_parse(&vocab, vocab_text, vocab_len) != 0) rc = xlstm_fail("%s: %s", vocab_path, xlstm_errmsg());
    if (rc == 0 && vocab_size(&vocab, &size, vocab_path, "the vocabulary") == 0 &&
        tok_create(&t, size, count_lines(merges_text, merges_len)) == 0) {
        const json_value *eot = json_get(&vocab, endoftext);
        rc = vocab_set_tokens(t, &vocab, vocab_path) != 0 ||
                     read_merges(t, merges_text, merges_len, merges_path) != 0 ||
                     (eot && tok_add_added(t, (int32_t)eot->integer, endoftext, strlen(endoftext), 1, 1, vocab_path) != 0) ||
                     tok_finish(t, NULL, 0, vocab_path) != 0
                 ? -1
                 : 0;
    } else {
        rc = -1;
    }
    json_free(&vocab);
    free(vocab_text);
    free(merges_text);
    if (rc != 0) {
        xlstm_tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
}
