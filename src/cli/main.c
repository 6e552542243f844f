/* main.c — the `xlstm` program: dispatches to a verb. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_core.h"
#include "cli.h"

#ifdef XLSTM_USE_CBLAS
#include <cblas.h>
#endif

void die(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    error_line(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "xlstm: %s\n", line);
    exit(1);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: xlstm VERB [options]   (xlstm VERB --help for each)\n\n"
                 "verbs:\n"
                 "  verify FILE   check against reference vectors from the official PyTorch code\n"
                 "  train         train a byte-level model on text (default: the bundled Moby-Dick)\n"
                 "  generate      continue a prompt with a model (sampling or greedy)\n"
                 "  eval          loss, perplexity and bits per byte on a text, by position\n"
                 "  experiment    the paper's claims at small scale: formal languages, MQAR, extrapolation\n"
                 "  bench         speed of named configurations (tokens/s, GFLOP/s, memory)\n"
                 "  tokenize      text to BPE token ids and back (a Hugging Face tokenizer.json)\n"
                 "  tokenizer     train a byte-level BPE tokenizer (xlstm tokenizer train)\n"
                 "  version       print the build (precision, BLAS, AVX2 clones, threads)\n");
}

/* OpenBLAS has chosen its kernels before main() (blas_core.h): where it chose a set narrower
 * than the CPU's vectors and the user set no OPENBLAS_CORETYPE, run this program again from
 * the start with the set for the CPU (at most once: the new image finds the variable set).
 * /proc/self/exe through readlink, which valgrind answers with the program it runs. If the
 * exec fails, the program goes on with OpenBLAS's choice, and `xlstm version` says which
 * set would suit. */
static void choose_blas_core(char **argv)
{
#if defined(XLSTM_USE_CBLAS) && defined(__linux__)
    const char *detected = openblas_get_corename(), *core = blas_core_override(detected);
    if (!core) return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    if (setenv(BLAS_CORE_DETECTED_ENV, detected, 1) != 0 || setenv("OPENBLAS_CORETYPE", core, 1) != 0)
        return;
    execv(exe, argv);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(BLAS_CORE_DETECTED_ENV);
#else
    (void)argv;
#endif
}

int main(int argc, char **argv)
{
    choose_blas_core(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "verify") == 0) return cmd_verify(argc - 2, argv + 2);
    if (strcmp(verb, "train") == 0) return cmd_train(argc - 2, argv + 2);
    if (strcmp(verb, "generate") == 0) return cmd_generate(argc - 2, argv + 2);
    if (strcmp(verb, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
    if (strcmp(verb, "experiment") == 0) return cmd_experiment(argc - 2, argv + 2);
    if (strcmp(verb, "bench") == 0) return cmd_bench(argc - 2, argv + 2);
    if (strcmp(verb, "tokenize") == 0) return cmd_tokenize(argc - 2, argv + 2);
    if (strcmp(verb, "tokenizer") == 0) return cmd_tokenizer(argc - 2, argv + 2);
    if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0) {
        printf("xlstm.c %s\n", xlstm_build_info());
        return 0;
    }
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "xlstm: unknown verb '%s' (see xlstm --help)\n", verb);
    return 2;
}
