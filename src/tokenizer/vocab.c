/* vocab.c — vocabulary objects and merges by strings, for the loaders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer/vocab.h"

int vocab_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return xlstm_fail("%s: cannot open (%s)", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    int rc = buf ? 0 : xlstm_fail("%s: out of memory", path);
    while (rc == 0 && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 < cap) continue;
        char *bigger = xlstm_check_fits(2.0 * (double)cap, path) == 0 ? realloc(buf, 2 * cap) : NULL;
        if (bigger == NULL) rc = xlstm_fail("%s: out of memory reading it", path);
        else buf = bigger, cap *= 2;
    }
    if (rc == 0 && ferror(f)) rc = xlstm_fail("%s: read error (%s)", path, strerror(errno));
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int vocab_size(const json_value *vocab, int32_t *size, const char *where, const char *field)
{
    if (vocab == NULL || vocab->type != JSON_OBJECT) return xlstm_fail("%s: %s is not an object", where, field);
    for (size_t i = 0; i < vocab->len; i++) {
        const json_value *v = &vocab->members[i].value;
        if (v->type != JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer >= TOKENIZER_MAX_IDS)
            return xlstm_fail("%s: %s: the id of '%.64s' is not a whole number in [0, %d)", where, field,
                              vocab->members[i].key, TOKENIZER_MAX_IDS);
        if (v->integer >= *size) *size = (int32_t)v->integer + 1;
    }
    return 0;
}

int vocab_set_tokens(xlstm_tokenizer *t, const json_value *vocab, const char *where)
{
    for (size_t i = 0; i < vocab->len; i++) {
        const json_member *m = &vocab->members[i];
        if (tok_set_token(t, (int32_t)m->value.integer, m->key, m->key_len, where) != 0) return -1;
    }
    return tok_index(t);
}

/* The id of token s[0, n) into *id. */
static int lookup(const xlstm_tokenizer *t, const char *s, size_t n, int32_t *id, const char *where,
                  const char *item_fmt, size_t index)
{
    if ((*id = tok_find(t, s, n)) >= 0) return 0;
    char item[64];
    snprintf(item, sizeof item, item_fmt, index);
    return xlstm_fail("%s: %s: '%.*s' is not in the vocabulary", where, item, n > 64 ? 64 : (int)n, s);
}

int vocab_add_merge(xlstm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, const char *where,
                    const char *item_fmt, size_t index)
{
    int32_t ia, ib, merged;
    if (lookup(t, a, na, &ia, where, item_fmt, index) != 0 || lookup(t, b, nb, &ib, where, item_fmt, index) != 0)
        return -1;
    char small[256], *ab = na + nb < sizeof small ? small : malloc(na + nb);
    if (ab == NULL) return xlstm_fail("%s: out of memory", where);
    memcpy(ab, a, na);
    memcpy(ab + na, b, nb);
    int rc = lookup(t, ab, na + nb, &merged, where, item_fmt, index);
    if (ab != small) free(ab);
    if (rc == 0) tok_add_merge(t, ia, ib, merged);
    return rc;
}
