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

#include "cli.h"
#include "data.h"
#include "model_arg.h"
#include "position_loss.h"
#include "progress.h"

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
           "  --context N       window length, may exceed the training context (default: the config's\n"
           "                    context_length)\n"
           "  --batch-size N    windows per forward pass (default 8)\n"
           "  --max-bytes N     use only the first N bytes of the data\n"
           "  --csv FILE        also write the position table as CSV (start,end,tokens,loss,bpb)\n"
           "  --threads N       OpenMP threads (default: all cores)\n",
           POSITION_FIRST_BUCKET, POSITION_FIRST_BUCKET, 2 * POSITION_FIRST_BUCKET, 2 * POSITION_FIRST_BUCKET,
           4 * POSITION_FIRST_BUCKET);
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *config = NULL, *data = NULL, *csv = NULL;
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
    if (!data && !(data = default_corpus_path())) die("eval: no --data given and the bundled corpus was not found");

    xlstm_model *m = open_model(model_path, config);
    const xlstm_config *cfg = xlstm_model_config(m);
    int V = cfg->vocab_size;
    if (text_vocab_check(V) != 0) die("eval: %s", xlstm_errmsg());
    if (!context) {
        if (cfg->context_length < 1) die("eval: the model's config sets no context_length; give --context N");
        context = cfg->context_length;
    }
    uint8_t *text;
    size_t nbytes;
    if (text_load(data, &text, &nbytes) != 0) die("%s", xlstm_errmsg());
    if (max_bytes && (size_t)max_bytes < nbytes) nbytes = (size_t)max_bytes;
    int T = (int)context;
    size_t windows = (nbytes - 1) / (size_t)T;
    if (windows == 0) die("eval: %s: %zu bytes hold no window of --context %d (it needs %d bytes)", data, nbytes, T, T + 1);
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
    double n = (double)windows * T, loss = total / n;
    printf("eval: %s on %s: %zu windows of %d tokens (%.0f predictions)\n", model_path, data, windows, T, n);
    printf("loss %.8f perplexity %.6f bpb %.8f\n", loss, exp(loss), loss / log(2.0));
    printf("%-20s %12s %12s %12s\n", "positions", "tokens", "loss", "bpb");
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
    free(text);
    xlstm_model_free(m);
    return 0;
}
