/* generate.c — `xlstm generate`: continue a prompt with a trained model. The prompt is fed
 * at once through the chunkwise form (xlstm_prefill); each new token then costs one
 * recurrent step (xlstm_step), constant time and memory however long the text grows. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "model_arg.h"
#include "progress.h"
#include "text_out.h"
#include "train/sample.h"

#define EMPTY_PROMPT_TOKEN 10 /* '\n': where a generation with no prompt starts */

static void usage(void)
{
    printf("usage: xlstm generate --model DIR|FILE [--prompt TEXT | --tokens ID,ID,...] [options]\n\n"
           "Continues a prompt and streams the new tokens to standard output as they are made.\n"
           "A byte-level model (vocabulary 256) reads the prompt's bytes from --prompt, or from standard\n"
           "input (up to the end of file, Ctrl-D on a terminal) when neither --prompt nor --tokens is\n"
           "given, and writes bytes. A model with another vocabulary takes the prompt only as --tokens\n"
           "and writes token ids separated by spaces. Only the continuation is written, not the\n"
           "prompt. An empty prompt starts from the single token %d ('\\n').\n"
           "When standard output is not a terminal (a file, a pipe) the bytes are written exactly as\n"
           "the model made them. On a terminal they are shown safely: control bytes other than newline\n"
           "and tab as escapes (\\x1b), bytes that are not valid UTF-8 as U+FFFD, and the text ends\n"
           "with a newline. Either way a UTF-8 character is written whole. At the end a summary (tokens,\n"
           "tokens per second) goes to standard error.\n\n"
           "  --model DIR|FILE  a run directory (its model.safetensors) or a safetensors checkpoint with\n"
           "                    its config in the metadata (ours, or an official PyTorch state_dict)\n"
           "  --config FILE     official config JSON to use instead of the checkpoint's own\n"
           "  --prompt TEXT     the prompt as text (byte-level models)\n"
           "  --tokens LIST     the prompt as comma-separated token ids\n"
           "  --max-tokens N    tokens to generate (default 256)\n"
           "  --temperature X   softmax temperature, >= 0; 0 = greedy (default 1)\n"
           "  --top-k N         sample among the N most probable tokens; 0 = all (default 0)\n"
           "  --top-p X         sample among the smallest set of most probable tokens whose mass\n"
           "                    reaches X (after top-k), in (0, 1]; 1 = all (default 1)\n"
           "  --seed N          random seed; the same seed gives the same output (default 1337)\n"
           "  --threads N       the most OpenMP threads (default: all cores); fewer run while other\n"
           "                    processes keep cores busy (measured as it goes)\n",
           EMPTY_PROMPT_TOKEN);
}

/* "12,5,7" -> ids in [0, V); *n = 0 for an empty list */
static int32_t *parse_token_list(const char *list, int V, int *n)
{
    size_t count = *list ? 1 : 0;
    for (const char *c = list; *c; c++) count += *c == ',';
    if (count > INT_MAX) die("generate: --tokens lists too many tokens");
    int32_t *ids = malloc((count ? count : 1) * sizeof *ids);
    if (!ids) die("generate: out of memory");
    const char *c = list;
    for (size_t i = 0; i < count; i++) {
        char *end;
        long v = strtol(c, &end, 10);
        if (end == c || (*end && *end != ',') || v < 0 || v >= V) {
            free(ids);
            die("generate: --tokens entry %zu is not a token id in [0, %d)", i + 1, V);
        }
        ids[i] = (int32_t)v;
        c = *end ? end + 1 : end;
    }
    *n = (int)count;
    return ids;
}

static int32_t *bytes_to_tokens(const unsigned char *bytes, size_t len, int *n)
{
    if (len > INT_MAX) die("generate: the prompt is longer than %d bytes", INT_MAX);
    int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    if (!ids) die("generate: out of memory");
    for (size_t i = 0; i < len; i++) ids[i] = bytes[i];
    *n = (int)len;
    return ids;
}

static int32_t *stdin_tokens(int *n)
{
    if (isatty(0))
        fprintf(stderr, "generate: reading the prompt from standard input until end of file (Ctrl-D); "
                        "or give --prompt TEXT\n");
    size_t len = 0, cap = 1 << 16;
    unsigned char *buf = malloc(cap);
    if (!buf) die("generate: out of memory");
    /* A short read is the end (or an error): a terminal's end of file is one Ctrl-D, and the
     * terminal can be read again after it, so reading on until a read returns nothing would
     * wait for a second one. */
    for (;;) {
        const size_t want = cap - len, got = fread(buf + len, 1, want, stdin);
        len += got;
        if (got < want) break;
        if (!(buf = realloc(buf, cap *= 2))) die("generate: out of memory");
    }
    if (ferror(stdin)) die("generate: cannot read the prompt from standard input");
    int32_t *ids = bytes_to_tokens(buf, len, n);
    free(buf);
    return ids;
}

static void flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) die("generate: cannot write to standard output");
}

/* Write token i of the continuation at once: the text streams as it is made. */
static void emit(text_out *out, int token, int bytes, long i)
{
    if (bytes)
        text_out_byte(out, (unsigned char)token);
    else
        printf(i ? " %d" : "%d", token);
    flush_stdout();
}

typedef struct {
    const char *model_path, *config, *prompt, *token_list;
    long max_tokens;
    uint64_t seed;
    sampler_opts sampler;
} generate_opts;

/* Parse and check the flags (dying on a bad one); returns 1 if --help was asked for. */
static int parse_args(generate_opts *o, int argc, char **argv)
{
    *o = (generate_opts){.max_tokens = 256, .seed = 1337, .sampler = xlstm_sampler_defaults()};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 1;
        } else if (strcmp(a, "--model") == 0) {
            o->model_path = flag_value("generate", argc, argv, &i);
        } else if (strcmp(a, "--config") == 0) {
            o->config = flag_value("generate", argc, argv, &i);
        } else if (strcmp(a, "--prompt") == 0) {
            o->prompt = flag_value("generate", argc, argv, &i);
        } else if (strcmp(a, "--tokens") == 0) {
            o->token_list = flag_value("generate", argc, argv, &i);
        } else if (strcmp(a, "--max-tokens") == 0) {
            o->max_tokens = flag_long("generate", a, flag_value("generate", argc, argv, &i), 0, LONG_MAX);
        } else if (strcmp(a, "--temperature") == 0) {
            o->sampler.temperature = flag_double("generate", a, flag_value("generate", argc, argv, &i));
        } else if (strcmp(a, "--top-k") == 0) {
            o->sampler.top_k = (int)flag_long("generate", a, flag_value("generate", argc, argv, &i), 0, INT_MAX);
        } else if (strcmp(a, "--top-p") == 0) {
            o->sampler.top_p = flag_double("generate", a, flag_value("generate", argc, argv, &i));
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = flag_u64("generate", a, flag_value("generate", argc, argv, &i));
        } else if (strcmp(a, "--threads") == 0) {
            flag_threads("generate", flag_value("generate", argc, argv, &i));
        } else {
            die("generate: unknown flag '%s' (see xlstm generate --help)", a);
        }
    }
    if (!o->model_path) die("generate: no --model given (see xlstm generate --help)");
    if (o->prompt && o->token_list) die("generate: give the prompt as --prompt or as --tokens, not both");
    if (sampler_check(&o->sampler) != 0) die("generate: %s", xlstm_errmsg());
    return 0;
}

int cmd_generate(int argc, char **argv)
{
    generate_opts o;
    if (parse_args(&o, argc, argv)) return 0;
    const char *token_list = o.token_list, *prompt = o.prompt;
    const long max_tokens = o.max_tokens;
    xlstm_model *m = open_model(o.model_path, o.config);
    int V = xlstm_model_vocab_size(m), bytes = text_vocab_check(V) == 0, n;
    if (!token_list && !bytes) die("generate: %s: give the prompt as --tokens ID,ID,...", xlstm_errmsg());
    int32_t *tokens = token_list ? parse_token_list(token_list, V, &n)
                      : prompt   ? bytes_to_tokens((const unsigned char *)prompt, strlen(prompt), &n)
                                 : stdin_tokens(&n);
    if (n == 0) {
        tokens[0] = V > EMPTY_PROMPT_TOKEN ? EMPTY_PROMPT_TOKEN : 0;
        n = 1;
    }

    sampler smp;
    xlstm_state *st;
    xlstm_real *logits = malloc((size_t)V * sizeof *logits);
    if (!logits) die("generate: out of memory");
    const double t0 = progress_now();
    if (sampler_init(&smp, V, o.sampler, o.seed) != 0 || xlstm_state_create(m, &st) != 0 ||
        xlstm_prefill(m, st, tokens, n, logits) != 0)
        die("generate: %s", xlstm_errmsg());
    const double t1 = progress_now();
    text_out out;
    text_out_init(&out, stdout, isatty(1));
    for (long i = 0; i < max_tokens; i++) {
        int next = sampler_next(&smp, logits);
        if (next < 0) die("generate: %s", xlstm_errmsg());
        emit(&out, next, bytes, i);
        if (i + 1 < max_tokens && xlstm_step(m, st, next, logits) != 0) die("generate: %s", xlstm_errmsg());
    }
    if (bytes)
        text_out_finish(&out);
    else
        putchar('\n');
    flush_stdout();
    const double t2 = progress_now();
    fprintf(stderr, "generate: %ld tokens in %.2f s (%.0f tokens/s) after a prompt of %d tokens (read in %.2f s)\n",
            max_tokens, t2 - t1, t2 > t1 ? (double)max_tokens / (t2 - t1) : 0.0, n, t1 - t0);
    sampler_free(&smp);
    xlstm_state_free(st);
    free(logits);
    free(tokens);
    xlstm_model_free(m);
    return 0;
}
