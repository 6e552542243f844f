/* save.c — a tokenizer as a Hugging Face tokenizer.json (the form `tokenizers` 0.23 writes:
 * merges as ["a", "b"] pairs), written atomically. */
#include <string.h>

#include "common.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"

/* A token string as JSON; json_writer takes C strings, so a token holding a NUL is refused. */
static int write_token(json_writer *w, const char *s, size_t len)
{
    if (strlen(s) != len) return xlstm_fail("tokenizer: cannot save a token that holds a NUL character");
    jw_string(w, s);
    return 0;
}

static int write_added(json_writer *w, const xlstm_tokenizer *t)
{
    jw_raw(w, "\"added_tokens\": [");
    for (size_t i = 0; i < t->n_added; i++) {
        const added_token *a = &t->added[i];
        jw_printf(w, "%s\n  {\"id\": %d, \"content\": ", i ? "," : "", (int)a->id);
        if (write_token(w, a->content, a->len) != 0) return -1;
        jw_printf(w, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": %s, \"special\": %s}",
                  a->normalized ? "true" : "false", a->special ? "true" : "false");
    }
    jw_raw(w, "],\n");
    return 0;
}

static int write_model(json_writer *w, const xlstm_tokenizer *t)
{
    jw_raw(w, "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": ");
    if (t->unk_token) jw_string(w, t->unk_token);
    else jw_raw(w, "null");
    jw_printf(w, ", \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": %s, "
                 "\"byte_fallback\": false, \"ignore_merges\": false,\n\"vocab\": {",
              t->bpe.fuse_unk ? "true" : "false");
    int first = 1;
    for (int32_t id = 0; id < t->size; id++) {
        if (t->token_len[id] < 0) continue;
        jw_raw(w, first ? "\n  " : ",\n  ");
        first = 0;
        if (write_token(w, t->strings + t->token_off[id], (size_t)t->token_len[id]) != 0) return -1;
        jw_printf(w, ": %d", (int)id);
    }
    jw_raw(w, "},\n\"merges\": [");
    for (size_t i = 0; i < t->n_merges; i++) {
        int32_t a = t->merges[i][0], b = t->merges[i][1];
        jw_raw(w, i ? ",\n  [" : "\n  [");
        jw_string(w, t->strings + t->token_off[a]);
        jw_raw(w, ", ");
        jw_string(w, t->strings + t->token_off[b]);
        jw_raw(w, "]");
    }
    jw_raw(w, "]}}\n");
    return 0;
}

int xlstm_tokenizer_save(const xlstm_tokenizer *t, const char *path)
{
    json_writer w;
    jw_init(&w);
    jw_raw(&w, "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n");
    if (write_added(&w, t) != 0) {
        jw_free(&w);
        return -1;
    }
    jw_raw(&w, t->nfc ? "\"normalizer\": {\"type\": \"NFC\"},\n" : "\"normalizer\": null,\n");
    jw_printf(&w, "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": %s, \"trim_offsets\": true, "
                  "\"use_regex\": %s},\n\"post_processor\": null,\n"
                  "\"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
                  "\"use_regex\": true},\n",
              t->add_prefix_space ? "true" : "false", t->use_regex ? "true" : "false");
    if (write_model(&w, t) != 0) {
        jw_free(&w);
        return -1;
    }
    return jw_write_file(&w, path);
}
