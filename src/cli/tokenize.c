/* tokenize.c — the BPE tokenizer for scripts: `xlstm tokenize` turns standard input into ids
 * (or ids back into text), `xlstm tokenizer train` learns a tokenizer.json from text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "data.h"
#include "model_arg.h"

static void usage_tokenize(void)
{
    printf("usage: xlstm tokenize --tokenizer FILE [--decode [--skip-special] | --bench SECONDS]\n\n"
           "Encodes all of standard input as one text, without adding special tokens, and prints its\n"
           "ids on one line separated by spaces. With --decode, reads ids separated by white space and\n"
           "writes their text exactly (ill-formed UTF-8 from split characters becomes U+FFFD).\n\n"
           "  --tokenizer FILE  a Hugging Face tokenizer.json (byte-level BPE), or a folder with one or\n"
           "                    with GPT-2's encoder.json and vocab.bpe\n"
           "  --decode          ids to text\n"
           "  --skip-special    (with --decode) leave out special tokens such as <|endoftext|>\n"
           "  --bench SECONDS   encode the input again and again for SECONDS (after one encoding that\n"
           "                    fills the word cache) and print the speed in MB/s (one thread)\n");
}

static void usage_tokenizer(void)
{
    printf("usage: xlstm tokenizer train --data PATH --vocab-size N --out FILE\n\n"
           "Learns a byte-level BPE (the GPT-2 split pattern) from the text at PATH (a file, or the\n"
           "files of a folder) and writes it as a Hugging Face tokenizer.json. Ids 0-255 are the bytes;\n"
           "each merge joins the most frequent adjacent pair (ties: the smaller ids); training stops at\n"
           "N - 1 tokens or when no pair occurs twice; <|endoftext|> is the last id.\n\n"
           "  --data PATH       the training text\n"
           "  --vocab-size N    ids in all, 257 to 1000000\n"
           "  --out FILE        the tokenizer.json to write\n");
}

typedef struct {
    const char *tokenizer;
    int decode, skip_special;
    double bench_seconds;
} tokenize_opts;

/* Parse and check the flags (dying on a bad one); returns 1 if --help was asked for. */
static int parse_tokenize_args(tokenize_opts *o, int argc, char **argv)
{
    *o = (tokenize_opts){0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_tokenize();
            return 1;
        } else if (strcmp(a, "--tokenizer") == 0) {
            o->tokenizer = flag_value("tokenize", argc, argv, &i);
        } else if (strcmp(a, "--decode") == 0) {
            o->decode = 1;
        } else if (strcmp(a, "--skip-special") == 0) {
            o->skip_special = 1;
        } else if (strcmp(a, "--bench") == 0) {
            o->bench_seconds = flag_double("tokenize", a, flag_value("tokenize", argc, argv, &i));
            if (!(o->bench_seconds > 0 && o->bench_seconds <= 3600))
                die("tokenize: --bench %g is out of range (0, 3600]", o->bench_seconds);
        } else {
            die("tokenize: unknown flag '%s' (see xlstm tokenize --help)", a);
        }
    }
    if (o->tokenizer == NULL) die("tokenize: --tokenizer FILE is required");
    if (o->skip_special && !o->decode) die("tokenize: --skip-special goes with --decode");
    if (o->bench_seconds > 0 && o->decode) die("tokenize: --bench measures encoding, not --decode");
    return 0;
}

/* All of standard input (malloc'd, NUL-terminated). */
static char *read_stdin(size_t *len)
{
    size_t n = 0, cap = 1 << 16, got;
    char *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf == NULL) die("tokenize: out of memory reading standard input");
    if (ferror(stdin)) die("tokenize: cannot read standard input");
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Ids separated by white space, each in [0, V); dies naming the first bad one. */
static int32_t *parse_ids(const char *text, int V, size_t *n)
{
    size_t cap = 1024, count = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    for (const char *c = text; ids != NULL;) {
        c += strspn(c, " \t\r\n");
        if (*c == '\0') break;
        size_t len = strcspn(c, " \t\r\n");
        char *end;
        long v = strtol(c, &end, 10);
        if (end != c + len || len > 10 || c[0] == '-' || c[0] == '+') {
            free(ids);
            die("tokenize: entry %zu '%.*s' is not an id (a whole number)", count + 1, len > 32 ? 32 : (int)len, c);
        }
        if (v >= V) {
            free(ids);
            die("tokenize: id %ld (entry %zu) is out of range [0, %d)", v, count + 1, V);
        }
        if (count == cap) {
            int32_t *bigger = realloc(ids, (cap *= 2) * sizeof *ids);
            if (bigger == NULL) free(ids);
            ids = bigger;
        }
        if (ids != NULL) ids[count++] = (int32_t)v;
        c += len;
    }
    if (ids == NULL) die("tokenize: out of memory");
    *n = count;
    return ids;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* MB/s of encoding text[0, len) again and again for `seconds`, the word cache warm. */
static double encode_speed(xlstm_tokenizer *t, const char *text, size_t len, double seconds)
{
    double start = 0, elapsed = 0;
    for (long runs = -1;; runs++) {
        int32_t *ids;
        size_t n;
        if (xlstm_tokenizer_encode(t, text, len, &ids, &n) != 0) die("tokenize: %s", xlstm_errmsg());
        free(ids);
        if (runs < 0) start = now(); /* the first run fills the cache, as the first of a file would */
        else if ((elapsed = now() - start) >= seconds) return (double)(runs + 1) * (double)len / elapsed / 1e6;
    }
}

int cmd_tokenize(int argc, char **argv)
{
    tokenize_opts o;
    if (parse_tokenize_args(&o, argc, argv)) return 0;
    xlstm_tokenizer *t;
    if (xlstm_tokenizer_load(&t, o.tokenizer) != 0) die("tokenize: %s", xlstm_errmsg());
    size_t len, n;
    char *input = read_stdin(&len);
    if (o.bench_seconds > 0) {
        printf("%.2f\n", encode_speed(t, input, len, o.bench_seconds));
    } else if (o.decode) {
        int32_t *ids = parse_ids(input, xlstm_tokenizer_vocab_size(t), &n);
        char *text;
        if (xlstm_tokenizer_decode(t, ids, n, o.skip_special, &text, &len) != 0) die("tokenize: %s", xlstm_errmsg());
        fwrite(text, 1, len, stdout);
        free(text);
        free(ids);
    } else {
        int32_t *ids;
        if (xlstm_tokenizer_encode(t, input, len, &ids, &n) != 0) die("tokenize: %s", xlstm_errmsg());
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
        putchar('\n');
        free(ids);
    }
    free(input);
    xlstm_tokenizer_free(t);
    if (fflush(stdout) != 0 || ferror(stdout)) die("tokenize: cannot write to standard output");
    return 0;
}

typedef struct {
    const char *data, *out;
    long vocab_size;
} train_tokenizer_opts;

static int parse_train_args(train_tokenizer_opts *o, int argc, char **argv)
{
    *o = (train_tokenizer_opts){0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_tokenizer();
            return 1;
        } else if (strcmp(a, "--data") == 0) {
            o->data = flag_value("tokenizer train", argc, argv, &i);
        } else if (strcmp(a, "--out") == 0) {
            o->out = flag_value("tokenizer train", argc, argv, &i);
        } else if (strcmp(a, "--vocab-size") == 0) {
            o->vocab_size = flag_long("tokenizer train", a, flag_value("tokenizer train", argc, argv, &i), 257, 1000000);
        } else {
            die("tokenizer train: unknown flag '%s' (see xlstm tokenizer --help)", a);
        }
    }
    if (o->data == NULL || o->out == NULL || o->vocab_size == 0)
        die("tokenizer train: --data PATH, --vocab-size N and --out FILE are required");
    return 0;
}

int cmd_tokenizer(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage_tokenizer();
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "train") != 0) die("tokenizer: unknown command '%s' (see xlstm tokenizer --help)", argv[0]);
    train_tokenizer_opts o;
    if (parse_train_args(&o, argc - 1, argv + 1)) return 0;
    uint8_t *text;
    size_t len;
    if (text_load(o.data, &text, &len) != 0) die("tokenizer train: %s", xlstm_errmsg());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    xlstm_tokenizer *t;
    if (xlstm_tokenizer_train(&t, (const char *)text, len, (int)o.vocab_size) != 0)
        die("tokenizer train: %s", xlstm_errmsg());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(text);
    if (xlstm_tokenizer_save(t, o.out) != 0) die("tokenizer train: %s", xlstm_errmsg());
    fprintf(stderr, "tokenizer train: %d ids from %zu bytes in %.1f s -> %s\n", xlstm_tokenizer_vocab_size(t), len,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), o.out);
    xlstm_tokenizer_free(t);
    return 0;
}
