/* train.c — `xlstm train`: train a byte-level xLSTM language model on text, with AdamW,
 * warmup + cosine learning rate, gradient clipping and accumulation; evaluate, log, plot
 * and checkpoint into a run directory; continue exactly with --resume.
 *
 * A step: zero the gradients; for each of the --grad-accum micro-batches (--batch-size
 * random windows of --context + 1 bytes of the training split) forward and backward (the
 * backward adds into the gradients); scale by 1/accum; clip the global norm; AdamW. The
 * whole run is a function of the seed: the weights come from xlstm_model_init(seed), the
 * windows from an xoshiro stream seeded with it, whose state is checkpointed. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "common.h"
#include "cli/data.h"
#include "cli/metrics.h"
#include "cli/model_arg.h"
#include "train/optim.h"
#include "cli/presets.h"
#include "cli/progress.h"
#include "cli/run_dir.h"
#include "cli/text_out.h"
#include "io/json.h"
#include "train/trainer.h"
#include "rng.h"

#define LN2 0.69314718055994530942

/* ---------------------------------------------------------------- options */

typedef struct {
    const char *data, *out, *model, *config;
    long steps, tokens, batch, context, accum, warmup, chunk, eval_every, save_every, log_every, threads, sample;
    double lr, lr_decay_factor, weight_decay, clip;
    uint64_t seed;
    int resume, stop_on_nonfinite;
} train_opts;

/* The defaults train the tiny preset on 900 x 2048 bytes (1.6 passes over Moby-Dick): on a
 * 2-core machine about 6 minutes, to a validation loss near 2.15 bits per byte (a unigram
 * model: 4.53). */
static const train_opts defaults = {
    .data = NULL, .out = "runs/default", .model = "tiny", .config = NULL,
    .steps = 900, .tokens = 0, .batch = 16, .context = 128, .accum = 1, .warmup = 100, .chunk = 64,
    .eval_every = 150, .save_every = 150, .log_every = 50, .threads = 0, .sample = 200,
    .lr = 3e-3, .lr_decay_factor = 0.1, .weight_decay = 0.1, .clip = 1.0, .seed = 42, .resume = 0, .stop_on_nonfinite = 0,
};

enum opt_type { T_STR, T_LONG, T_REAL, T_SEED, T_SWITCH };
/* What --resume does with an option: KEEP takes the checkpoint's value unless given again;
 * FIXED (it shapes the model's numbers or the data stream) must not be given differently;
 * LOCAL belongs to this invocation only (--model and --config are checked against the
 * checkpoint's model instead). */
enum opt_resume { KEEP, FIXED, LOCAL };

typedef struct {
    const char *flag;
    enum opt_type type;
    enum opt_resume resume;
    size_t off;
    double min, max; /* T_LONG, T_REAL: the accepted range; T_REAL with min 0 and open_min: > 0 */
    int open_min;
    const char *arg, *help;
} opt_spec;

#define O(field) offsetof(train_opts, field)
static const opt_spec specs[] = {
    {"--data", T_STR, FIXED, O(data), 0, 0, 0, "PATH",
     "text file, or directory of text files (with its subdirectories; hidden\n"
     "ones left out), read as bytes (default: the bundled data/moby_dick.txt,\n"
     "validated on chapters 131 to the end, about 5%; other data is validated on\n"
     "its last 5%)"},
    {"--out", T_STR, LOCAL, O(out), 0, 0, 0, "DIR", "run directory: checkpoint, metrics.csv, loss.svg"},
    {"--model", T_STR, LOCAL, O(model), 0, 0, 0, "NAME", "model preset (below)"},
    {"--config", T_STR, LOCAL, O(config), 0, 0, 0, "FILE", "official xLSTMLMModelConfig JSON instead of a preset"},
    {"--steps", T_LONG, KEEP, O(steps), 1, 1e9, 0, "N", "optimizer steps (the cosine decays until the last)"},
    {"--tokens", T_LONG, LOCAL, O(tokens), 0, 1e15, 0, "N",
     "train on N tokens instead: --steps = N / tokens per step, rounded up (0: use --steps)"},
    {"--batch-size", T_LONG, FIXED, O(batch), 1, 65536, 0, "N", "sequences per micro-batch"},
    {"--context", T_LONG, FIXED, O(context), 1, 1 << 20, 0, "N", "tokens per sequence"},
    {"--grad-accum", T_LONG, FIXED, O(accum), 1, 65536, 0, "N", "micro-batches per optimizer step"},
    {"--lr", T_REAL, KEEP, O(lr), 0, 10, 1, "X", "peak learning rate"},
    {"--lr-decay-factor", T_REAL, KEEP, O(lr_decay_factor), 0, 1, 0, "X", "final learning rate / peak"},
    {"--warmup", T_LONG, KEEP, O(warmup), 0, 1e9, 0, "N", "linear warmup steps"},
    {"--weight-decay", T_REAL, KEEP, O(weight_decay), 0, 10, 0, "X",
     "AdamW weight decay (of the official decay group)"},
    {"--clip", T_REAL, KEEP, O(clip), 0, 1e9, 0, "X", "clip the gradients' global norm to X (0: off)"},
    {"--seed", T_SEED, FIXED, O(seed), 0, 0, 0, "N", "seed of the initialization and the batch sampling"},
    {"--chunk", T_LONG, FIXED, O(chunk), 1, 1 << 20, 0, "N", "chunk size of the chunkwise mLSTM"},
    {"--eval-every", T_LONG, KEEP, O(eval_every), 0, 1e9, 0, "N", "validate every N steps (0: only at the end)"},
    {"--save-every", T_LONG, KEEP, O(save_every), 0, 1e9, 0, "N", "checkpoint every N steps (0: only at the end)"},
    {"--log-every", T_LONG, LOCAL, O(log_every), 1, 1e9, 0, "N", "progress line every N steps (not on a terminal)"},
    {"--sample", T_LONG, LOCAL, O(sample), 0, 1 << 20, 0, "N",
     "at the end, generate N bytes after the data's first line\n(temperature 0.8; 0: none)"},
    {"--threads", T_LONG, LOCAL, O(threads), 0, 1024, 0, "N", "OpenMP threads (0: the OpenMP default)"},
    {"--resume", T_SWITCH, LOCAL, O(resume), 0, 0, 0, "", "continue the run in --out from its checkpoint"},
    {"--stop-on-nonfinite", T_SWITCH, LOCAL, O(stop_on_nonfinite), 0, 0, 0, "",
     "stop (exit 1) at the first step whose loss or gradient norm is not finite,\n"
     "keeping the last checkpoint, instead of skipping that update"},
};
#define NSPECS ((int)(sizeof specs / sizeof specs[0]))

#define FIELD(o, s, type) ((type *)((char *)(o) + (s)->off))

static int spec_index(const char *flag)
{
    int k = 0;
    while (k < NSPECS && strcmp(flag, specs[k].flag) != 0) k++;
    return k;
}

/* Was this flag on the command line? */
static int was_given(const int given[NSPECS], const char *flag) { return given[spec_index(flag)]; }

static int in_range(const opt_spec *s, double x)
{
    return x >= s->min && x <= s->max && !(s->open_min && x <= s->min);
}

/* The value of option s in o, as text (for --help and messages). */
static void format_value(char *buf, size_t size, const train_opts *o, const opt_spec *s)
{
    switch (s->type) {
    case T_STR: snprintf(buf, size, "%s", *FIELD(o, s, const char *) ? *FIELD(o, s, const char *) : "(none)"); break;
    case T_LONG: snprintf(buf, size, "%ld", *FIELD(o, s, const long)); break;
    case T_REAL: snprintf(buf, size, "%g", *FIELD(o, s, const double)); break;
    case T_SEED: snprintf(buf, size, "%llu", (unsigned long long)*FIELD(o, s, const uint64_t)); break;
    case T_SWITCH: snprintf(buf, size, "%s", *FIELD(o, s, const int) ? "on" : "off"); break;
    }
}

static void help(void)
{
    printf("usage: xlstm train [options]\n\n"
           "Train a byte-level xLSTM language model (vocabulary 256) with AdamW (betas 0.9, 0.999),\n"
           "linear warmup then cosine decay to lr * lr-decay-factor, and gradient clipping. Progress\n"
           "goes to stderr; the run directory gets model.safetensors and optimizer.safetensors (the\n"
           "checkpoint), metrics.csv (losses in nats per byte, val_bpb in bits per byte) and loss.svg.\n"
           "A run is a function of its seed and options (and the thread count): --resume continues it\n"
           "exactly, bit for bit. On SIGINT (Ctrl-C) or SIGTERM it finishes the current step, writes\n"
           "the checkpoint and exits with status 130 (a second Ctrl-C stops at once, leaving the\n"
           "previous checkpoint).\n\noptions:\n");
    for (int i = 0; i < NSPECS; i++) {
        const opt_spec *s = &specs[i];
        char left[40];
        snprintf(left, sizeof left, "%s %s", s->flag, s->arg);
        printf("  %-22s ", left);
        for (const char *p = s->help; *p; p++) {
            if (*p == '\n') printf("\n%25s", "");
            else putchar(*p);
        }
        if (s->type != T_SWITCH && !(s->type == T_STR && *FIELD(&defaults, s, const char *) == NULL)) {
            char v[64];
            format_value(v, sizeof v, &defaults, s);
            printf(" (default %s)", v);
        }
        printf("\n");
    }
    printf("\nmodel presets (byte vocabulary; mLSTM: 4 heads, conv 4, q/k/v blocks of 4; sLSTM: 4 heads,\n"
           "conv 4, then a 1.3x GELU feed-forward):\n");
    preset_print_help(stdout, "  ");
}

/* Set option s from the command-line text v (dies on a bad value). */
static void set_option(train_opts *o, const opt_spec *s, const char *v)
{
    switch (s->type) {
    case T_STR:
        if (!*v) die("train: %s needs a non-empty value", s->flag);
        if (s->resume != LOCAL && !json_utf8_valid(v, strlen(v)))
            die("train: %s '%s' is not valid UTF-8 (the checkpoint keeps it as JSON text)", s->flag, v);
        *FIELD(o, s, const char *) = v;
        break;
    case T_LONG: *FIELD(o, s, long) = flag_long("train", s->flag, v, (long)s->min, (long)s->max); break;
    case T_SEED: *FIELD(o, s, uint64_t) = flag_u64("train", s->flag, v); break;
    case T_REAL: {
        double x = flag_double("train", s->flag, v);
        if (!in_range(s, x))
            die("train: %s %s is out of range %s%g, %g]", s->flag, v, s->open_min ? "(" : "[", s->min, s->max);
        *FIELD(o, s, double) = x;
        break;
    }
    case T_SWITCH: *FIELD(o, s, int) = 1; break;
    }
}

/* Parse argv into o (a flag given twice: the last one counts); given[i] records whether
 * specs[i] was on the command line. Returns 1 if --help was asked for. */
static int parse_args(train_opts *o, int given[NSPECS], int argc, char **argv)
{
    *o = defaults;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help();
            return 1;
        }
        int k = spec_index(argv[i]);
        if (k == NSPECS) die("train: unknown flag '%s' (see xlstm train --help)", argv[i]);
        given[k] = 1;
        set_option(o, &specs[k], specs[k].type == T_SWITCH ? "" : flag_value("train", argc, argv, &i));
    }
    if (was_given(given, "--model") && was_given(given, "--config")) die("train: give --model or --config, not both");
    return 0;
}

/* The KEEP and FIXED options as JSON, stored with the checkpoint (malloc'd). */
static char *options_json(const train_opts *o)
{
    json_writer w;
    jw_init(&w);
    jw_raw(&w, "{");
    for (int i = 0, first = 1; i < NSPECS; i++) {
        const opt_spec *s = &specs[i];
        if (s->resume == LOCAL) continue;
        jw_raw(&w, first ? "" : ", ");
        first = 0;
        jw_string(&w, s->flag + 2);
        jw_raw(&w, ": ");
        switch (s->type) {
        case T_STR:
            if (*FIELD(o, s, const char *)) jw_string(&w, *FIELD(o, s, const char *));
            else jw_raw(&w, "null");
            break;
        case T_LONG: jw_printf(&w, "%ld", *FIELD(o, s, const long)); break;
        case T_REAL: jw_double(&w, *FIELD(o, s, const double)); break;
        case T_SEED: jw_printf(&w, "\"%llu\"", (unsigned long long)*FIELD(o, s, const uint64_t)); break;
        case T_SWITCH: break;
        }
    }
    jw_raw(&w, "}");
    char *text, *copy;
    if (jw_finish(&w, &text, NULL) != 0) die("train: %s", xlstm_errmsg());
    if (!(copy = strdup(text))) die("train: out of memory");
    xlstm_free(text);
    return copy;
}

/* On --resume: options not given take the checkpoint's values; FIXED ones given must agree.
 * The strings point into *doc, which the caller keeps. */
static void options_from_checkpoint(train_opts *o, const int given[NSPECS], const char *json, json_value *doc)
{
    if (json_parse(doc, json, strlen(json)) != 0) die("train: %s: bad train_args in optimizer.safetensors: %s", o->out, xlstm_errmsg());
    for (int i = 0; i < NSPECS; i++) {
        const opt_spec *s = &specs[i];
        if (s->resume == LOCAL) continue;
        const json_value *v = json_get(doc, s->flag + 2);
        train_opts saved = *o;
        int ok = v != NULL;
        switch (s->type) {
        case T_STR:
            ok = ok && (v->type == JSON_NULL || json_is_cstring(v));
            if (ok) *FIELD(&saved, s, const char *) = v->type == JSON_NULL ? NULL : v->str;
            break;
        case T_LONG:
            ok = ok && v->type == JSON_NUMBER && v->is_integer && in_range(s, (double)v->integer);
            if (ok) *FIELD(&saved, s, long) = (long)v->integer;
            break;
        case T_REAL:
            ok = ok && v->type == JSON_NUMBER && in_range(s, v->number);
            if (ok) *FIELD(&saved, s, double) = v->number;
            break;
        case T_SEED:
            ok = ok && json_is_cstring(v);
            if (ok) *FIELD(&saved, s, uint64_t) = strtoull(v->str, NULL, 10);
            break;
        case T_SWITCH: break;
        }
        if (!ok) die("train: %s: optimizer.safetensors: train_args has no valid \"%s\"", o->out, s->flag + 2);
        if (!given[i]) {
            *o = saved;
            continue;
        }
        if (s->resume != FIXED) continue;
        int same = s->type == T_STR    ? !strcmp(*FIELD(o, s, const char *) ? *FIELD(o, s, const char *) : "",
                                                 *FIELD(&saved, s, const char *) ? *FIELD(&saved, s, const char *) : "")
                   : s->type == T_LONG ? *FIELD(o, s, long) == *FIELD(&saved, s, long)
                                       : *FIELD(o, s, uint64_t) == *FIELD(&saved, s, uint64_t);
        if (!same) {
            char was[PATH_MAX];
            format_value(was, sizeof was, &saved, s);
            die("train: %s differs from the run in %s (which has %s); resume without it", s->flag, o->out, was);
        }
    }
}

/* ---------------------------------------------------------------- data and model */

/* The data are bytes: the model's vocabulary must be theirs. */
static void check_vocab(const xlstm_model *m, const char *what)
{
    if (text_vocab_check(xlstm_model_vocab_size(m)) != 0) die("train: %s: %s", what, xlstm_errmsg());
}

typedef struct {
    uint8_t *bytes;
    size_t n, ntrain; /* training split [0, ntrain), validation [ntrain, n) */
    char about[PATH_MAX + 512]; /* the files, bytes and split, for the log */
} corpus;

static void load_corpus(corpus *c, const train_opts *o)
{
    const char *path = o->data ? o->data : default_corpus_path();
    if (path == NULL) die("train: the bundled corpus data/moby_dick.txt was not found; give --data PATH");
    text_source src;
    if (text_load_source(path, &c->bytes, &c->n, &src) != 0) die("train: --data %s", xlstm_errmsg());
    c->ntrain = text_val_start(c->bytes, c->n, o->data == NULL);
    char files[PATH_MAX + 384];
    text_source_describe(files, sizeof files, path, &src, c->n);
    snprintf(c->about, sizeof c->about, "%s; training split %zu bytes, validation split %zu bytes (%.1f%%: %s)", files,
             c->ntrain, c->n - c->ntrain, 100.0 * (double)(c->n - c->ntrain) / (double)c->n,
             text_val_rule(c->bytes, c->n, c->ntrain));
    if (c->ntrain < (size_t)o->context + 1)
        die("train: %s: the training split has %zu bytes, too few for --context %ld (it needs %ld)", path, c->ntrain,
            o->context, o->context + 1);
    if (c->n - c->ntrain < 2)
        die("train: %s: the validation split (the last 5%%) has %zu bytes; it needs at least 2", path,
            c->n - c->ntrain);
}

/* The model (parameters uninitialized) of the config named by --config or --model. */
static xlstm_model *model_from_config(const train_opts *o)
{
    xlstm_model *m;
    if (o->config) {
        uint8_t *text;
        size_t len;
        if (text_load(o->config, &text, &len) != 0) die("train: --config %s", xlstm_errmsg());
        if (xlstm_model_create_json(&m, (const char *)text, len) != 0) die("train: --config %s: %s", o->config, xlstm_errmsg());
        free(text);
    } else {
        const char *json = preset_json(o->model);
        if (json == NULL) die("train: --model '%s' is not a preset (%s)", o->model, preset_names());
        if (xlstm_model_create_json(&m, json, strlen(json)) != 0) die("train: preset %s: %s", o->model, xlstm_errmsg());
    }
    check_vocab(m, o->config ? o->config : o->model);
    return m;
}

/* On --resume with --model or --config: it must describe the checkpoint's model. */
static void check_same_model(const train_opts *o, const xlstm_model *have)
{
    xlstm_model *want = model_from_config(o);
    /* the context was set from --context when the run began */
    if (xlstm_model_set_context_length(want, xlstm_model_context_length(have)) != 0) die("train: %s", xlstm_errmsg());
    char *a, *b;
    if (xlstm_model_config_json(want, &a) != 0 || xlstm_model_config_json(have, &b) != 0) die("train: %s", xlstm_errmsg());
    xlstm_model_free(want);
    if (strcmp(a, b) != 0)
        die("train: %s %s differs from the model of the run in %s; resume without it", o->config ? "--config" : "--model",
            o->config ? o->config : o->model, o->out);
    free(a);
    free(b);
}

/* mkdir -p */
/* Check --out: a new run needs a directory without a checkpoint (or none yet); --resume
 * needs one with a checkpoint. */
static void check_run_dir(const train_opts *o)
{
    struct stat st;
    int exists = stat(o->out, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) die("train: --out %s exists and is not a directory", o->out);
    if (o->resume) {
        if (!exists) die("train: --resume: %s does not exist", o->out);
        if (!run_has_checkpoint(o->out))
            die("train: --resume: %s holds no checkpoint (no optimizer.safetensors)", o->out);
        return;
    }
    char model[PATH_MAX];
    snprintf(model, sizeof model, "%s/model.safetensors", o->out);
    if (exists && (run_has_checkpoint(o->out) || access(model, F_OK) == 0))
        die("train: %s already holds a checkpoint: continue it with --resume, or choose another --out", o->out);
}

/* ---------------------------------------------------------------- training */

typedef struct {
    train_opts o;
    corpus data;
    xlstm_model *m;
    xlstm_trainer *t;          /* its tokens and targets [B, T] hold the validation batches too */
    run_position pos;
    metrics_log log;
    int tty;                   /* progress on a terminal: one line rewritten in place */
    double train_seconds;      /* spent in steps by this invocation */
    long steps_here;           /* steps done by this invocation */
    long long saved_step;      /* step of the checkpoint on disk; -1: none yet */
} trainer;

/* Die with a message after ending the progress line. */
#define FAIL(tr, ...)                                        \
    do {                                                     \
        if ((tr)->tty) fputs("\r\033[K", stderr);            \
        die(__VA_ARGS__);                                    \
    } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The trainer's batch source: B random windows of the training split, tokens [off, off + T)
 * and targets shifted by one. */
static int training_batch(void *ctx, int32_t *tokens, int32_t *targets, int B, int T)
{
    trainer *tr = ctx;
    text_windows(tr->data.bytes, tr->data.ntrain, &tr->pos.rng, tokens, targets, B, T);
    return T;
}

/* Mean loss (nats) over every next-byte prediction of the validation split, read as
 * consecutive windows of T (the last one padded with ignored targets), B windows a batch. */
static double evaluate(trainer *tr)
{
    const long B = tr->o.batch, T = tr->o.context;
    const uint8_t *v = tr->data.bytes + tr->data.ntrain;
    const size_t nv = tr->data.n - tr->data.ntrain, npred = nv - 1;
    double sum = 0;
    progress_meter shown; /* the medium preset's validation takes most of a minute */
    progress_begin(&shown, stderr, tr->tty, "validation", (long)((npred + (size_t)(B * T) - 1) / (size_t)(B * T)));
    for (size_t pos = 0; pos < npred;) {
        progress_update(&shown, (long)(pos / (size_t)(B * T)));
        size_t count = 0;
        for (long i = 0; i < B * T; i++, pos += pos < npred) {
            int valid = pos < npred;
            tr->t->tokens[i] = valid ? v[pos] : 0;
            tr->t->targets[i] = valid ? v[pos + 1] : -1;
            count += (size_t)valid;
        }
        float loss;
        if (xlstm_forward(tr->m, tr->t->tokens, tr->t->targets, (int)B, (int)T, &loss) != 0)
            FAIL(tr, "train: %s", xlstm_errmsg());
        sum += (double)loss * (double)count;
    }
    progress_end(&shown);
    return sum / (double)npred;
}

/* "1h02m", "4m05s", "12s" */
static void format_duration(char *buf, size_t size, double s)
{
    long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    if (t >= 3600) snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, size, "%lds", t);
}

/* Print a line of the log; on a terminal it replaces the progress line. */
static void log_line(const trainer *tr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void log_line(const trainer *tr, const char *fmt, ...)
{
    va_list ap;
    if (tr->tty) fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void progress(trainer *tr, long step, double loss, double lr, double tok_s)
{
    char eta[32], took[32];
    format_duration(eta, sizeof eta, (double)(tr->o.steps - step) * tr->train_seconds / (double)tr->steps_here);
    format_duration(took, sizeof took, tr->train_seconds);
    if (tr->tty)
        fprintf(stderr, "\r\033[Kstep %ld/%ld  loss %.4f nats/byte (%.4f bits/byte)  lr %.2e  %.0f tok/s  ETA %s", step,
                tr->o.steps, loss, loss / LN2, lr, tok_s, eta);
    else if (step % tr->o.log_every == 0 || step == tr->o.steps)
        fprintf(stderr, "step %ld/%ld  loss %.4f nats/byte (%.4f bits/byte)  lr %.2e  %.0f tok/s  %s  ETA %s\n", step,
                tr->o.steps, loss, loss / LN2, lr, tok_s, took, eta);
}

static void save(trainer *tr)
{
    if (run_save(tr->o.out, tr->m, &tr->t->opt, &tr->pos) != 0) FAIL(tr, "train: %s", xlstm_errmsg());
    tr->saved_step = tr->pos.step;
}

/* Evaluate and log; returns the validation loss. */
static double validate(trainer *tr, long step)
{
    double val = evaluate(tr);
    log_line(tr, "step %ld  validation loss %.4f nats/byte (%.4f bits/byte)", step, val, val / LN2);
    return val;
}

/* Continue the first line of the training data (at most 64 bytes) by n sampled bytes. */
static void print_sample(trainer *tr, long n)
{
    const int V = xlstm_model_vocab_size(tr->m);
    int32_t prompt[64];
    int np = 0;
    while (np < 64 && (size_t)np < tr->data.ntrain && (np == 0 || tr->data.bytes[np] != '\n'))
        prompt[np] = tr->data.bytes[np], np++;
    xlstm_state *st;
    xlstm_sampler *s;
    xlstm_sampler_opts so = xlstm_sampler_defaults();
    so.temperature = 0.8;
    real *logits = xlstm_alloc((size_t)V, sizeof(real), "sample logits");
    if (!logits || xlstm_state_create(tr->m, &st) != 0 || xlstm_sampler_create(&s, V, &so, tr->o.seed) != 0)
        die("train: %s", xlstm_errmsg());
    if (xlstm_prefill(tr->m, st, prompt, np, logits) != 0) die("train: %s", xlstm_errmsg());
    fprintf(stderr, "sample (%ld bytes after the data's first line, temperature %g):\n", n, so.temperature);
    text_out out; /* on a terminal, shown safely (see xlstm generate) */
    text_out_init(&out, stdout, isatty(1));
    for (int i = 0; i < np; i++) text_out_byte(&out, (unsigned char)prompt[i]);
    for (long i = 0; i < n; i++) {
        int tok = xlstm_sampler_next(s, logits);
        if (tok < 0 || xlstm_step(tr->m, st, tok, logits) != 0) die("train: sampling: %s", xlstm_errmsg());
        text_out_byte(&out, (unsigned char)tok);
    }
    text_out_byte(&out, '\n');
    text_out_finish(&out);
    xlstm_sampler_free(s);
    xlstm_state_free(st);
    xlstm_free(logits);
}

/* Set by SIGINT or SIGTERM; the train loop stops after the step under way. The handler only
 * sets it (SA_RESETHAND: a second signal takes the default action and ends the process). */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        die("train: cannot install the signal handler: %s", strerror(errno));
}

/* --tokens N sets --steps to N tokens' worth of steps, rounded up. */
static void steps_from_tokens(train_opts *o, const int given[NSPECS])
{
    if (o->tokens == 0) return;
    if (was_given(given, "--steps")) die("train: give --steps or --tokens, not both");
    long per_step = o->batch * o->context * o->accum;
    if (o->tokens / per_step >= 1000000000L) die("train: --tokens %ld is more than 1e9 steps", o->tokens);
    o->steps = (o->tokens + per_step - 1) / per_step;
}

/* Build the trainer: a new run, or the checkpoint of --out with --resume. */
static void setup(trainer *tr, int given[NSPECS], json_value *saved_args)
{
    train_opts *o = &tr->o;
    if (run_clean(o->out) != 0) die("train: %s", xlstm_errmsg());
    check_run_dir(o);
    adamw saved = {0};
    if (o->resume) {
        if (run_load(o->out, &tr->m, &saved, &tr->pos) != 0) die("train: --resume: %s", xlstm_errmsg());
        options_from_checkpoint(o, given, tr->pos.args_json, saved_args);
        steps_from_tokens(o, given);
        if (was_given(given, "--model") || was_given(given, "--config")) check_same_model(o, tr->m);
        check_vocab(tr->m, o->out);
    } else {
        tr->m = model_from_config(o);
        if (!was_given(given, "--context") && xlstm_model_context_length(tr->m) > 0)
            o->context = xlstm_model_context_length(tr->m);
        steps_from_tokens(o, given);
        if (xlstm_model_set_context_length(tr->m, (int)o->context) != 0 || xlstm_model_init(tr->m, o->seed) != 0)
            die("train: %s", xlstm_errmsg());
        tr->pos.step = 0;
        rng_seed(&tr->pos.rng, o->seed);
        tr->pos.args_json = options_json(o);
    }
    if ((size_t)o->batch * (size_t)o->context > (size_t)INT_MAX / 2)
        die("train: --batch-size %ld x --context %ld is too large", o->batch, o->context);

    load_corpus(&tr->data, o);
    if (xlstm_model_set_chunk_size(tr->m, (int)o->chunk) != 0) die("train: %s", xlstm_errmsg());
    xlstm_train_opts to = {.lr = o->lr, .min_lr = o->lr * o->lr_decay_factor, .warmup = o->warmup, .steps = o->steps,
                           .weight_decay = o->weight_decay, .clip = o->clip, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                           .batch = (int)o->batch, .context = (int)o->context, .accum = (int)o->accum};
    if (xlstm_trainer_create(&tr->t, tr->m, &to) != 0) die("train: %s", xlstm_errmsg());
    if (o->resume) { /* continue from the checkpoint's moments and step */
        adamw_free(&tr->t->opt);
        tr->t->opt = saved;
        tr->t->step = (long)tr->pos.step;
    }
    /* only now that the options and the data are good */
    if (!o->resume && make_dirs(o->out) != 0) die("train: --out: %s", xlstm_errmsg());
    if (metrics_open(&tr->log, o->out, o->steps, o->resume ? (long)tr->pos.step : -1) != 0)
        die("train: %s", xlstm_errmsg());
    tr->tty = isatty(2);
}

static void teardown(trainer *tr)
{
    metrics_close(&tr->log);
    free(tr->data.bytes);
    free(tr->pos.args_json);
    xlstm_trainer_free(tr->t);
    xlstm_model_free(tr->m);
}

int cmd_train(int argc, char **argv)
{
    trainer tr = {0};
    int given[NSPECS] = {0};
    json_value saved_args = {0};
    if (parse_args(&tr.o, given, argc, argv)) return 0;
#ifdef _OPENMP
    if (tr.o.threads > 0) omp_set_num_threads((int)tr.o.threads);
#endif
    setup(&tr, given, &saved_args);
    const train_opts *o = &tr.o;
    tr.saved_step = o->resume ? tr.pos.step : -1;
    const long tokens_per_step = o->batch * o->context * o->accum;
    if (tr.pos.step >= o->steps) {
        fprintf(stderr, "%s is at step %lld, --steps is %ld: nothing to train\n", o->out, (long long)tr.pos.step, o->steps);
        teardown(&tr);
        json_free(&saved_args);
        return 0;
    }
    const size_t nparams = xlstm_model_param_count(tr.m);
    fprintf(stderr, "train: data %s\n", tr.data.about);
    fprintf(stderr, "train: %zu parameters, %ld steps of %ld tokens (batch %ld x context %ld x accum %ld)%s%s\n",
            nparams, o->steps, tokens_per_step, o->batch, o->context, o->accum,
            o->resume ? ", resuming from " : "", o->resume ? o->out : "");
    double val = NAN;
    long skipped = 0;
    catch_stop_signals();
    while (tr.pos.step < o->steps) {
        xlstm_step_result r;
        double t0 = now();
        if (xlstm_trainer_step(tr.t, training_batch, &tr, &r) != 0) FAIL(&tr, "train: %s", xlstm_errmsg());
        double dt = now() - t0;
        const long step = r.step;
        const double loss = r.loss, norm = r.grad_norm, lr = r.lr;
        const int applied = r.applied;
        tr.train_seconds += dt;
        tr.steps_here++;
        tr.pos.step = step;
        if (!applied && o->stop_on_nonfinite) {
            if (tr.saved_step < 0)
                FAIL(&tr, "train: step %ld: loss %g, gradient norm %g: not finite; stopped (--stop-on-nonfinite) before any checkpoint",
                     step, loss, norm);
            FAIL(&tr, "train: step %ld: loss %g, gradient norm %g: not finite; stopped (--stop-on-nonfinite), %s holds the checkpoint of step %lld",
                 step, loss, norm, o->out, tr.saved_step);
        }
        if (!applied) {
            skipped++;
            log_line(&tr, "step %ld: loss %g, gradient norm %g: not finite, update skipped", step, loss, norm);
        }
        progress(&tr, step, loss, lr, (double)tokens_per_step * (double)tr.steps_here / tr.train_seconds);
        int last = step == o->steps;
        val = (o->eval_every > 0 && step % o->eval_every == 0) || last ? validate(&tr, step) : NAN;
        if (metrics_append(&tr.log, step, step * tokens_per_step, lr, loss, norm, val, (double)tokens_per_step / dt) != 0)
            FAIL(&tr, "train: %s", xlstm_errmsg());
        if (!isnan(val) && metrics_plot(&tr.log) != 0) FAIL(&tr, "train: %s", xlstm_errmsg());
        const int stop = stop_requested; /* read once: the checkpoint is of the step we stop at */
        if ((o->save_every > 0 && step % o->save_every == 0) || last || stop) save(&tr);
        if (stop) break;
    }
    if (tr.pos.step < o->steps) { /* stopped by a signal, the checkpoint just written */
        log_line(&tr, "interrupted: stopped at step %lld of %ld, checkpoint in %s; continue with: xlstm train --resume --out %s",
                 (long long)tr.pos.step, o->steps, o->out, o->out);
        teardown(&tr);
        json_free(&saved_args);
        return 130;
    }
    char took[32];
    format_duration(took, sizeof took, tr.train_seconds);
    fprintf(stderr,
            "done: step %lld, validation loss %.4f nats/byte (%.4f bits/byte); %s of training at %.0f tokens/s%s; "
            "checkpoint in %s\n",
            (long long)tr.pos.step, val, val / LN2, took, (double)tokens_per_step * (double)tr.steps_here / tr.train_seconds,
            skipped ? " (some updates skipped: not finite)" : "", o->out);
    if (o->sample > 0 && !stop_requested) print_sample(&tr, o->sample);
    teardown(&tr);
    json_free(&saved_args);
    return 0;
}
