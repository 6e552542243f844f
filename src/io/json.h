/* json.h — a small strict RFC 8259 JSON reader (DOM) and a JSON text writer.
 *
 * The reader never reads past `len` (the text need not be NUL-terminated), limits nesting
 * to JSON_MAX_DEPTH, requires valid UTF-8, and refuses duplicate object keys. Errors return
 * -1 with an xlstm_fail message naming the byte offset ("json: unexpected character 'x' at
 * byte 17"). */
#ifndef XLSTM_JSON_H
#define XLSTM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
    enum json_type type;
    int boolean;            /* JSON_BOOL */
    int is_integer;         /* JSON_NUMBER: the literal has no fraction/exponent and fits int64 */
    size_t offset;          /* byte offset of the value in the text, for messages */
    double number;          /* JSON_NUMBER (nearest double) */
    int64_t integer;        /* JSON_NUMBER with is_integer: the exact value */
    char *str;              /* JSON_STRING: decoded UTF-8, NUL-terminated (may hold \u0000) */
    size_t len;             /* JSON_STRING: bytes of str; JSON_ARRAY / JSON_OBJECT: element count */
    json_value *items;      /* JSON_ARRAY: len values in document order */
    json_member *members;   /* JSON_OBJECT: len members sorted by key (bytewise) */
};

struct json_member {
    char *key;              /* decoded, NUL-terminated */
    size_t key_len;
    size_t key_offset;      /* byte offset of the key in the text */
    json_value value;
};

/* Parse exactly one JSON value spanning text[0, len) (surrounding whitespace allowed). */
int json_parse(json_value *out, const char *text, size_t len);
void json_free(json_value *v);

/* Member `key` of an object (NULL if absent or v is not an object). */
const json_value *json_get(const json_value *v, const char *key);
/* Element i of an array (NULL if out of range or v is not an array). */
const json_value *json_at(const json_value *v, size_t i);
/* "null", "boolean", "number", "string", "array", "object". */
const char *json_type_name(enum json_type t);
/* The string has no embedded NUL, so it can be used as a C string. */
int json_is_cstring(const json_value *v);
/* 1 if s[0, n) is valid UTF-8 (no overlong forms, surrogates or code points > U+10FFFF). */
int json_utf8_valid(const char *s, size_t n);

/* ---------------------------------------------------------------- writer
 * Appends build a NUL-terminated text; the first failure (out of memory, non-finite
 * number) is sticky and reported by jw_finish. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} json_writer;

void jw_init(json_writer *w);
void jw_raw(json_writer *w, const char *s);
void jw_printf(json_writer *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A quoted, escaped JSON string. */
void jw_string(json_writer *w, const char *s);
/* The shortest decimal that reads back as exactly x, always with a '.' or exponent. */
void jw_double(json_writer *w, double x);
/* On success *out owns the text (xlstm_free it) and *len its length (may be NULL). */
int jw_finish(json_writer *w, char **out, size_t *len);
void jw_free(json_writer *w);
/* Finish the text and write it to path atomically (io/atomic.h); the writer is consumed. */
int jw_write_file(json_writer *w, const char *path);

#endif
