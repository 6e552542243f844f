/* data.h — text data for the CLI verbs: files or directories read as bytes (byte-level
 * tokens, vocabulary 256), with clear refusals of what is not text. */
#ifndef XLSTM_CLI_DATA_H
#define XLSTM_CLI_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#include <limits.h>

/* What text_load_source read from a path. */
typedef struct {
    int is_dir;             /* the path is a directory */
    size_t files;           /* files read (empty ones included) */
    size_t hidden, other;   /* a directory's entries left out: names beginning with '.', and
                             * what is neither a file nor a directory (a FIFO, a broken link) */
    char names[256];        /* the first files' names below the directory, ", " between */
    size_t named;           /* how many of the files names holds (those that fit) */
    char last[PATH_MAX];    /* the last file's name */
} text_source;

/* The vocabulary of text read as bytes: a token per byte value. */
#define TEXT_VOCAB 256

/* 0 if a model of vocab_size reads the text's tokens and predicts them (vocab_size equals
 * TEXT_VOCAB), else -1 with the message "the model's vocab_size N differs from the data's
 * vocabulary M (bytes: 256)": a larger model would train on bytes and then sample ids
 * that are no byte. */
int text_vocab_check(int vocab_size);

/* Read `path`: a regular file, or every regular file inside a directory and its
 * subdirectories (in name order, depth first, concatenated; hidden entries left out).
 * Refuses (-1, message naming the path): missing or unreadable paths, empty data, binary
 * data (NUL bytes, or more than 1% control bytes other than tab, newline, carriage return
 * and form feed). *bytes is malloc'd; src (may be NULL) says what was read. */
int text_load_source(const char *path, uint8_t **bytes, size_t *n, text_source *src);
/* text_load_source without the account of what was read. */
int text_load(const char *path, uint8_t **bytes, size_t *n);
/* One line on what text_load_source read from path (n bytes): "PATH: N bytes" for a file;
 * for a directory also the files ("a.txt, b/c.txt", or the first ones, ..., the last) and
 * what was left out. */
void text_source_describe(char *buf, size_t size, const char *path, const text_source *src, size_t n);
/* The text test of text_load on bytes in memory: 0, or -1 with a message naming `label`. */
int text_check(const uint8_t *bytes, size_t n, const char *label);

/* Where the validation split of n bytes of text begins (training [0, start), validation
 * [start, n)): for the bundled corpus (bundled != 0) at "CHAPTER 131.", chapters 131 to the
 * end (about 5%); for other data, or the bundled one without that line, the last 5%. */
size_t text_val_start(const uint8_t *bytes, size_t n, int bundled);
/* How that start was chosen, in words: "chapters 131 to the end" or "the last 5%". */
const char *text_val_rule(const uint8_t *bytes, size_t n, size_t start);

/* Fill tokens and targets [B, T] with B windows of bytes[0, n) (n > T) at random offsets
 * drawn from r: tokens [off, off + T), targets one byte later (next-byte prediction). */
void text_windows(const uint8_t *bytes, size_t n, xrng *r, int32_t *tokens, int32_t *targets, int B, int T);

/* mkdir -p: create dir and its missing parents (0 or -1 with a message naming the path). */
int make_dirs(const char *dir);

/* The bundled corpus (Moby-Dick): data/moby_dick.txt, looked up in the working directory
 * and then next to the executable (and its parent). NULL if not found. */
const char *default_corpus_path(void);

#endif
