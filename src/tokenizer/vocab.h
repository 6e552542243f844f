/* vocab.h — what the two loaders share: reading a file, a vocabulary object (token -> id) and
 * merges given as strings. */
#ifndef XLSTM_TOKENIZER_VOCAB_H
#define XLSTM_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "io/json.h"
#include "tokenizer/tokenizer.h"

/* The whole file (malloc'd, NUL-terminated); the message names the path. */
int vocab_read_file(const char *path, char **text, size_t *len);
/* The largest id of the vocabulary object + 1 into *size (at least as large as it was);
 * refuses ids that are not whole numbers in [0, TOKENIZER_MAX_IDS). */
int vocab_size(const json_value *vocab, int32_t *size, const char *where, const char *field);
/* Sets the tokens of the vocabulary object and indexes them (tok_index). */
int vocab_set_tokens(xlstm_tokenizer *t, const json_value *vocab, const char *where);
/* Appends the merge of tokens a and b (their concatenation must be a token too). A message
 * names it as item_fmt with index ("model.merges[%zu]", "line %zu"). */
int vocab_add_merge(xlstm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, const char *where,
                    const char *item_fmt, size_t index);

#endif
