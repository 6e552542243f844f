/* eval.c — `xlstm eval`: loss, perplexity and bits per byte of a byte-level model on a text,
 * over non-overlapping windows of `context` tokens, with the loss broken down by position
 * in the window. Contexts beyond the training length measure length extrapolation (the
 * chunkwise form is linear in T, so long windows cost no more per token). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli.h"
#include "data.h"
#include "model_arg.h"
#include "position_loss.h"
#include "progress.h"
#include "run_dir.h"

static void usage(void)
{
    printf("usage: xlstm eval --model DIR|FILE [--data PATH] [options]\n\n"
           "Loss (mean cross-entropy in nats), perplexity and bits per byte of a byte-level model\n"
           "(vocabulary 256) on a text file or directory, over non-overlapping windows of --context\n"
           "tokens, each token predicting the next byte; bytes after the last full window are not\n"
           "used. Then a table of the loss by position in the window: [0, %d), [%d, %d), [%d, %d), ...\n"
           "doubling up to the context.\n\n"
           "  --model DIR|FILE  a run directory (its model.safetensors) or a safetensors checkpoint\n"
           "  --config FILE     official config JSON to use instead of the checkpoint's own\n"
           "  --data PATH       text file, or directory of text files (with its subdirectories; hidden\n"
           "                    ones left out) (default: the bundled corpus)\n"
           "  --split S         the part of the data to measure: val (the part train validates on:\n"
           "                    chapters 131 to the end of the bundled corpus, the last 5%% of other\n"
           "                    data), train (the part before it) or all. Default: val for the bundled\n"
           "                    corpus and for the training data of the run given as --model DIR (its\n"
           "                    checkpoint says which --data it used); all for other data\n"
           "  --context N       window length, may exceed the training context (default: the config's\n"
           "                    context_length)\n"
           "  --batch-size N    windows per forward pass (default 8)\n"
           "  --max-bytes N     use only the first N bytes of the split\n"
           "  --csv FILE        also write the position table as CSV (start,end,tokens,loss,bpb: loss in\n"
           "                    nats per byte, bpb in bits per byte)\n"
           "  --threads N       OpenMP threads (default: all cores)\n",
           POSITION_FIRST_BUCKET, POSITION_FIRST_BUCKET, 2 * POSITION_FIRST_BUCKET, 2 * POSITION_FIRST_BUCKET,
           4 * POSITION_FIRST_BUCKET);
}

/* Do paths a and b name the same file? (the same file by any path, when both exist) */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return strcmp(a, b) == 0;
}

enum split { SPLIT_DEFAULT, SPLIT_VAL, SPLIT_TRAIN, SPLIT_ALL };

static enum split parse_split(const char *v)
{
    if (strcmp(v, "val") == 0) return SPLIT_VAL;
    if (strcmp(v, "train") == 0) return SPLIT_TRAIN;
    if (strcmp(v, "all") == 0) return SPLIT_ALL;
    die("eval: --split '%s' is not one of val, train, all", v);
}

/* The bytes to measure, [*start, *end) of text[0, n) (the data at path `data`; given: it
 * came from --data), and in *about which they are and why, for the report. The split is
 * the one train makes; for the training data of the run at model_path, as that run made it. */
static void choose_split(enum split split, const char *model_path, const char *data, int given, const uint8_t *text,
                         size_t n, size_t *start, size_t *end, char *about, size_t size)
{
    const char *bundled = default_corpus_path();
    const int is_bundled = !given || (bundled && same_file(data, bundled));
    char *run_data; /* the run's --data; NULL: the bundled corpus */
    const int trained_on = run_train_data(model_path, &run_data) && (run_data ? same_file(data, run_data) : is_bundled);
    /* train validates the bundled corpus on its last chapters only when it took it by default */
    const size_t val = text_val_start(text, n, trained_on ? run_data == NULL : is_bundled);
    free(run_data);
    const char *why = split != SPLIT_DEFAULT ? "chosen by --split"
                      : trained_on           ? "the default for the run's training data"
                      : is_bundled           ? "the default for the bundled corpus"
                                             : "the default for data other than the bundled corpus or the run's training data";
    if (split == SPLIT_DEFAULT) split = trained_on || is_bundled ? SPLIT_VAL : SPLIT_ALL;
    *start = split == SPLIT_VAL ? val : 0;
    *end = split == SPLIT_TRAIN ? val : n;
    if (split == SPLIT_ALL)
        snprintf(about, size, "all of it (%zu bytes; %s)", n, why);
    else
        snprintf(about, size, "the %s split (bytes [%zu, %zu) of %zu; validation: %s; %s)",
                 split == SPLIT_VAL ? "validation" : "training", *start, *end, n, text_val_rule(text, n, val), why);
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *config = NULL, *data = NULL, *csv = NULL;
    enum split split = SPLIT_DEFAULT;
    long context = 0, batch = 8, max_bytes = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else if (strcmp(a, "--model") == 0) {
            model_path = flag_value("eval", argc, argv, &i);
        } else if (strcmp(a, "--config") == 0) {
            config = flag_value("eval", argc, argv, &i);
        } else if (strcmp(a, "--data") == 0) {
            data = flag_value("eval", argc, argv, &i);
        } else if (strcmp(a, "--split") == 0) {
            split = parse_split(flag_value("eval", argc, argv, &i));
        } else if (strcmp(a, "--context") == 0) {
            context = flag_long("eval", a, flag_value("eval", argc, argv, &i), 1, INT_MAX);
        } else if (strcmp(a, "--batch-size") == 0) {
            batch = flag_long("eval", a, flag_value("eval", argc, argv, &i), 1, INT_MAX);
        } else if (strcmp(a, "--max-bytes") == 0) {
            max_bytes = flag_long("eval", a, flag_value("eval", argc, argv, &i), 2, LONG_MAX);
        } else if (strcmp(a, "--csv") == 0) {
            csv = flag_value("eval", argc, argv, &i);
        } else if (strcmp(a, "--threads") == 0) {
            flag_threads("eval", flag_value("eval", argc, argv, &i));
        } else {
            die("eval: unknown flag '%s' (see xlstm eval --help)", a);
        }
    }
    if (!model_path) die("eval: no --model given (see xlstm eval --help)");
    const int data_given = data != NULL;
    if (!data && !(data = default_corpus_path())) die("eval: no --data given and the bundled corpus was not found");

    xlstm_model *m = open_model(model_path, config);
    int V = xlstm_model_vocab_size(m);
    if (text_vocab_check(V) != 0) die("eval: %s", xlstm_errmsg());
    if (!context) {
        if (xlstm_model_context_length(m) < 1) die("eval: the model's config sets no context_length; give --context N");
        context = xlstm_model_context_length(m);
    }
    uint8_t *loaded, *text;
    size_t n, start, end, nbytes;
    char about[512];
    if (text_load(data, &loaded, &n) != 0) die("%s", xlstm_errmsg());
    choose_split(split, model_path, data, data_given, loaded, n, &start, &end, about, sizeof about);
    text = loaded + start;
    nbytes = end - start;
    if (max_bytes && (size_t)max_bytes < nbytes) nbytes = (size_t)max_bytes;
    int T = (int)context;
    size_t windows = nbytes ? (nbytes - 1) / (size_t)T : 0;
    if (windows == 0)
        die("eval: %s, %s: %zu bytes hold no window of --context %d (it needs %d bytes)", data, about, nbytes, T, T + 1);
    int B = windows < (size_t)batch ? (int)windows : (int)batch;
    if ((long long)B * T > INT_MAX) die("eval: --batch-size %d x --context %d is too many tokens per pass", B, T);

    /* opened first, so that an unwritable path fails before the work */
    FILE *out = NULL;
    if (csv && (!(out = fopen(csv, "w")) || fprintf(out, "start,end,tokens,loss,bpb\n") < 0))
        die("eval: cannot write %s", csv);

    /* window w: inputs text[w*T .. w*T + T), targets one byte later */
    int32_t *tokens = malloc((size_t)B * T * sizeof *tokens), *targets = malloc((size_t)B * T * sizeof *targets);
    double *pos_loss = calloc((size_t)T, sizeof *pos_loss);
    if (!tokens || !targets || !pos_loss) die("eval: out of memory for %d x %d tokens", B, T);
    progress_meter shown;
    progress_begin(&shown, stderr, isatty(2), "eval", (long)((windows + (size_t)B - 1) / (size_t)B));
    for (size_t w0 = 0; w0 < windows; w0 += (size_t)B) {
        progress_update(&shown, (long)(w0 / (size_t)B));
        int b = windows - w0 < (size_t)B ? (int)(windows - w0) : B;
        for (size_t k = 0; k < (size_t)b * T; k++) {
            tokens[k] = text[w0 * T + k];
            targets[k] = text[w0 * T + k + 1];
        }
        /* no targets: the inference forward keeps no training activations, and the losses are
         * taken per position from the logits */
        if (xlstm_forward(m, tokens, NULL, b, T, NULL) != 0) die("eval: %s", xlstm_errmsg());
        add_position_losses(xlstm_logits(m), targets, b, T, V, pos_loss);
    }
    progress_end(&shown);

    double total = 0;
    for (int t = 0; t < T; t++) total += pos_loss[t];
    double predictions = (double)windows * T, loss = total / predictions;
    char cut[64] = "";
    if (nbytes < end - start) snprintf(cut, sizeof cut, ", its first %zu bytes (--max-bytes)", nbytes);
    printf("eval: %s on %s, %s%s: %zu windows of %d tokens (%.0f predictions)\n", model_path, data, about, cut, windows,
           T, predictions);
    printf("loss %.8f nats/byte (%.8f bits/byte)  perplexity %.6f\n", loss, loss / log(2.0), exp(loss));
    printf("%-20s %12s %12s %12s\n", "positions", "tokens", "nats/byte", "bits/byte");
    int edges[POSITION_MAX_BUCKETS + 1], nb = bucket_edges(T, edges);
    for (int k = 0; k < nb; k++) {
        double sum = 0;
        for (int t = edges[k]; t < edges[k + 1]; t++) sum += pos_loss[t];
        double count = (double)windows * (edges[k + 1] - edges[k]), mean = sum / count;
        char range[32];
        snprintf(range, sizeof range, "[%d, %d)", edges[k], edges[k + 1]);
        printf("%-20s %12.0f %12.6f %12.6f\n", range, count, mean, mean / log(2.0));
        if (out && fprintf(out, "%d,%d,%.0f,%.9g,%.9g\n", edges[k], edges[k + 1], count, mean, mean / log(2.0)) < 0)
            die("eval: cannot write %s", csv);
    }
    if (out && fclose(out) != 0) die("eval: cannot write %s", csv);
    free(pos_loss);
    free(targets);
    free(tokens);
    free(loaded);
    xlstm_model_free(m);
    return 0;
}
