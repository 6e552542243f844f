/* tok_util.h — what the tokenizer tests share: the third-party files in ../shared/tokenizer
 * (never committed: a test without them, or a build without utf8proc, says SKIP) and reading
 * a file whole. */
#ifndef XLSTM_TEST_TOK_UTIL_H
#define XLSTM_TEST_TOK_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

#define SHARED_TOKENIZER "../shared/tokenizer"

/* The whole file, NUL-terminated (NULL if it cannot be read). */
static inline char *tok_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 20, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0)
        if ((n += got) + 1 == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Loads path into *t: 0; or -1 with *why set where the file is absent or the build has no
 * utf8proc (the caller SKIPs); 1 on any other failure (a failed check of the caller's). */
static inline int tok_load_or_skip(xlstm_tokenizer **t, const char *path, const char **why)
{
    static char reason[600];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(reason, sizeof reason, "%s is absent", path);
        *why = reason;
        return -1;
    }
    fclose(f);
    if (xlstm_tokenizer_load(t, path) == 0) return 0;
    if (strstr(xlstm_errmsg(), "built without utf8proc")) {
        snprintf(reason, sizeof reason, "%s", xlstm_errmsg());
        *why = reason;
        return -1;
    }
    return 1;
}

#endif
