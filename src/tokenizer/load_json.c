/* load_json.c — a Hugging Face tokenizer.json: a BPE model with the ByteLevel pre-tokenizer and
 * decoder, no normalizer or NFC, and its added tokens; anything that would encode or decode
 * differently is refused with a message naming it. Also the dispatch of a path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

#define GPT2_PATTERN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* The "type" of an object ("(none)" when it has none; NULL for JSON null). */
static const char *type_of(const json_value *v)
{
    if (v == NULL || v->type == JSON_NULL) return NULL;
    const json_value *t = json_get(v, "type");
    return json_is_cstring(t) ? t->str : "(none)";
}

static int is_type(const json_value *v, const char *type)
{
    const char *t = type_of(v);
    return t != NULL && strcmp(t, type) == 0;
}

/* A boolean member: absent or null gives dflt (-1: required). */
static int get_bool(const json_value *obj, const char *key, int dflt, int *out, const char *where, const char *field)
{
    const json_value *v = json_get(obj, key);
    if (v == NULL || v->type == JSON_NULL) {
        if (dflt < 0) return xlstm_fail("%s: %s.%s is missing", where, field, key);
        *out = dflt;
        return 0;
    }
    if (v->type != JSON_BOOL) return xlstm_fail("%s: %s.%s is not a boolean", where, field, key);
    *out = v->boolean;
    return 0;
}

/* A member that must be absent, null, false, 0 or "" (a feature that is not supported); field
 * names the object (NULL: the top level). */
static int must_be_off(const json_value *obj, const char *key, const char *where, const char *field)
{
    const json_value *v = json_get(obj, key);
    if (v == NULL || v->type == JSON_NULL || (v->type == JSON_BOOL && !v->boolean) ||
        (v->type == JSON_NUMBER && v->number == 0) || (v->type == JSON_STRING && v->len == 0))
        return 0;
    if (field == NULL) return xlstm_fail("%s: %s is set: not supported", where, key);
    return xlstm_fail("%s: %s.%s is set: not supported", where, field, key);
}

static int read_model(const json_value *model, int *fuse_unk, const char **unk, const char *where)
{
    const char *type = type_of(model);
    if (type == NULL) return xlstm_fail("%s: no model", where);
    if (strcmp(type, "BPE") != 0) return xlstm_fail("%s: model type '%.64s' is not supported (only BPE)", where, type);
    static const char *const off[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback",
                                      "ignore_merges"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (must_be_off(model, off[i], where, "model") != 0) return -1;
    const json_value *u = json_get(model, "unk_token");
    if (u != NULL && u->type != JSON_NULL && !json_is_cstring(u))
        return xlstm_fail("%s: model.unk_token is not a string", where);
    *unk = u != NULL && u->type != JSON_NULL ? u->str : NULL;
    return get_bool(model, "fuse_unk", 0, fuse_unk, where, "model");
}

static int read_normalizer(xlstm_tokenizer *t, const json_value *n, const char *where)
{
    const char *type = type_of(n);
    t->nfc = type != NULL;
    if (type == NULL || strcmp(type, "NFC") == 0) return 0;
    return xlstm_fail("%s: normalizer type '%.64s' is not supported (only NFC or none)", where, type);
}

/* A Split of the GPT-2 pattern that keeps its matches as pieces: what ByteLevel's own split does. */
static int is_gpt2_split(const json_value *p)
{
    const json_value *pattern = json_get(json_get(p, "pattern"), "Regex"), *behavior = json_get(p, "behavior");
    int invert = 0;
    return is_type(p, "Split") && json_is_cstring(pattern) && strcmp(pattern->str, GPT2_PATTERN) == 0 &&
           json_is_cstring(behavior) && strcmp(behavior->str, "Isolated") == 0 &&
           get_bool(p, "invert", 0, &invert, "", "") == 0 && !invert;
}

static int read_pre_tokenizer(xlstm_tokenizer *t, const json_value *p, const char *where)
{
    const char *type = type_of(p);
    if (type != NULL && strcmp(type, "ByteLevel") == 0)
        return get_bool(p, "add_prefix_space", -1, &t->add_prefix_space, where, "pre_tokenizer") != 0 ||
                       get_bool(p, "use_regex", 1, &t->use_regex, where, "pre_tokenizer") != 0
                   ? -1
                   : 0;
    const json_value *list = json_get(p, "pretokenizers");
    if (type != NULL && strcmp(type, "Sequence") == 0 && list != NULL && list->type == JSON_ARRAY) {
        /* newer files split with the pattern first, then ByteLevel without its own split */
        const json_value *split = json_at(list, 0), *bl = json_at(list, 1);
        int regex = 1, prefix = 1;
        if (list->len == 2 && is_gpt2_split(split) && is_type(bl, "ByteLevel") &&
            get_bool(bl, "use_regex", 1, &regex, where, "pre_tokenizer") == 0 && !regex &&
            get_bool(bl, "add_prefix_space", -1, &prefix, where, "pre_tokenizer") == 0 && !prefix)
            return 0;
        for (size_t i = 0; i < list->len; i++)
            if (is_type(&list->items[i], "Split") && !is_gpt2_split(&list->items[i]))
                return xlstm_fail("%s: pre_tokenizer Split with another pattern or behavior than GPT-2's "
                                  "is not supported", where);
        return xlstm_fail("%s: pre_tokenizer Sequence is supported only as [Split (the GPT-2 pattern), ByteLevel "
                          "(use_regex false, add_prefix_space false)]", where);
    }
    return xlstm_fail("%s: pre_tokenizer type '%.64s' is not supported (only ByteLevel)", where, type ? type : "null");
}

static int read_added(xlstm_tokenizer *t, const json_value *list, const char *where)
{
    char field[64];
    for (size_t i = 0; i < list->len; i++) {
        const json_value *a = &list->items[i], *content = json_get(a, "content"), *id = json_get(a, "id");
        snprintf(field, sizeof field, "added_tokens[%zu]", i);
        if (!json_is_cstring(content)) return xlstm_fail("%s: %s.content is not a string", where, field);
        int special = 0, normalized = 0;
        if (get_bool(a, "special", 0, &special, where, field) != 0 ||
            get_bool(a, "normalized", !special, &normalized, where, field) != 0 ||
            must_be_off(a, "single_word", where, field) != 0 || must_be_off(a, "lstrip", where, field) != 0 ||
            must_be_off(a, "rstrip", where, field) != 0 ||
            tok_add_added(t, (int32_t)id->integer, content->str, content->len, special, normalized, where) != 0)
            return -1;
    }
    return 0;
}

/* The size of the id space: the vocabulary's and the added tokens' largest id + 1. */
static int id_space(const json_value *vocab, const json_value *added, int32_t *size, const char *where)
{
    *size = 0;
    if (vocab_size(vocab, size, where, "model.vocab") != 0) return -1;
    for (size_t i = 0; i < added->len; i++) {
        const json_value *id = json_get(&added->items[i], "id");
        if (id == NULL || id->type != JSON_NUMBER || !id->is_integer || id->integer < 0 || id->integer >= TOKENIZER_MAX_IDS)
            return xlstm_fail("%s: added_tokens[%zu].id is not a whole number in [0, %d)", where, i, TOKENIZER_MAX_IDS);
        if (id->integer >= *size) *size = (int32_t)id->integer + 1;
    }
    return 0;
}

static int read_merges(xlstm_tokenizer *t, const json_value *merges, const char *where)
{
    for (size_t i = 0; i < merges->len; i++) {
        const json_value *m = &merges->items[i];
        const char *a, *b;
        size_t na, nb;
        if (m->type == JSON_STRING) { /* "a b": one space between two tokens */
            const char *space = memchr(m->str, ' ', m->len);
            if (space == NULL || memchr(space + 1, ' ', m->len - (size_t)(space - m->str) - 1) != NULL)
                return xlstm_fail("%s: model.merges[%zu] is not two tokens with one space between them", where, i);
            a = m->str, na = (size_t)(space - m->str), b = space + 1, nb = m->len - na - 1;
        } else if (m->type == JSON_ARRAY && m->len == 2 && m->items[0].type == JSON_STRING &&
                   m->items[1].type == JSON_STRING) {
            a = m->items[0].str, na = m->items[0].len, b = m->items[1].str, nb = m->items[1].len;
        } else {
            return xlstm_fail("%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", where, i);
        }
        if (vocab_add_merge(t, a, na, b, nb, where, "model.merges[%zu]", i) != 0) return -1;
    }
    return 0;
}

static int from_json(xlstm_tokenizer **out, const json_value *root, const char *where)
{
    if (root->type != JSON_OBJECT) return xlstm_fail("%s: not a JSON object", where);
    const json_value *model = json_get(root, "model"), *empty_list = &(json_value){.type = JSON_ARRAY};
    const json_value *added = json_get(root, "added_tokens");
    if (added == NULL || added->type == JSON_NULL) added = empty_list;
    if (added->type != JSON_ARRAY) return xlstm_fail("%s: added_tokens is not an array", where);
    int fuse_unk = 0;
    const char *unk = NULL;
    if (read_model(model, &fuse_unk, &unk, where) != 0 || must_be_off(root, "truncation", where, NULL) != 0 ||
        must_be_off(root, "padding", where, NULL) != 0)
        return -1;
    const json_value *decoder = json_get(root, "decoder"), *vocab = json_get(model, "vocab");
    const json_value *merges = json_get(model, "merges");
    if (!is_type(decoder, "ByteLevel"))
        return xlstm_fail("%s: decoder type '%.64s' is not supported (only ByteLevel)", where,
                          type_of(decoder) ? type_of(decoder) : "null");
    if (merges == NULL || merges->type != JSON_ARRAY) return xlstm_fail("%s: model.merges is not an array", where);
    int32_t size;
    if (id_space(vocab, added, &size, where) != 0) return -1;
    xlstm_tokenizer *t;
    if (tok_create(&t, size, merges->len) != 0) return -1;
    if (read_normalizer(t, json_get(root, "normalizer"), where) != 0 ||
        read_pre_tokenizer(t, json_get(root, "pre_tokenizer"), where) != 0 || vocab_set_tokens(t, vocab, where) != 0 ||
        read_merges(t, merges, where) != 0 || read_added(t, added, where) != 0 ||
        tok_finish(t, unk, fuse_unk, where) != 0) {
        xlstm_tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int xlstm_tokenizer_load_json(xlstm_tokenizer **out, const char *json, size_t len, const char *name)
{
    *out = NULL;
    if (!uni_available()) return -1;
    json_value root;
    if (json_parse(&root, json, len) != 0) return xlstm_fail("%s: %s", name, xlstm_errmsg());
    int rc = from_json(out, &root, name);
    json_free(&root);
    return rc;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/name if it is a file, into buf. */
static const char *file_in(char *buf, size_t size, const char *dir, const char *name)
{
    return snprintf(buf, size, "%s/%s", dir, name) < (int)size && is_file(buf) ? buf : NULL;
}

int xlstm_tokenizer_load(xlstm_tokenizer **out, const char *path)
{
    *out = NULL;
    if (!uni_available()) return -1;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char json[4096], vocab[4096], merges[4096];
        const char *j = file_in(json, sizeof json, path, "tokenizer.json");
        if (j != NULL) return xlstm_tokenizer_load(out, j);
        const char *v = file_in(vocab, sizeof vocab, path, "encoder.json");
        const char *m = file_in(merges, sizeof merges, path, "vocab.bpe");
        if (v == NULL) v = file_in(vocab, sizeof vocab, path, "vocab.json");
        if (m == NULL) m = file_in(merges, sizeof merges, path, "merges.txt");
        if (v == NULL || m == NULL)
            return xlstm_fail("%s: no tokenizer.json, nor encoder.json or vocab.json with vocab.bpe or merges.txt", path);
        return xlstm_tokenizer_load_gpt2(out, v, m);
    }
    char *text;
    size_t len;
    if (vocab_read_file(path, &text, &len) != 0) return -1;
    int rc = xlstm_tokenizer_load_json(out, text, len, path);
    free(text);
    return rc;
}
