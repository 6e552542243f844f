/* metrics.c — metrics.csv and the loss.svg plot of a training run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cli/metrics.h"
#include "cli/svg_plot.h"
#include "io/json.h"

#define HEADER "step,tokens,lr,loss,grad_norm,val_loss,val_bpb,tokens_per_s\n"
#define LN2 0.69314718055994530942

static int path_in(char *out, size_t size, const char *dir, const char *name)
{
    int w = snprintf(out, size, "%s/%s", dir, name);
    return w > 0 && (size_t)w < size ? 0 : xlstm_fail("%s/%s: path too long", dir, name);
}

static void remember(metrics_log *l, long step, double loss, double val_loss)
{
    if (l->ntrain < l->cap) {
        l->train_step[l->ntrain] = (double)step;
        l->train_loss[l->ntrain++] = loss;
    }
    if (!isnan(val_loss) && l->nval < l->cap) {
        l->val_step[l->nval] = (double)step;
        l->val_loss[l->nval++] = val_loss;
    }
}

/* Keep the header and the lines of steps <= keep_until of an existing metrics.csv (rewritten
 * atomically), and read them into the history. A missing file is a fresh start. */
static int cut_existing(metrics_log *l, long keep_until)
{
    FILE *f = fopen(l->csv_path, "r");
    if (f == NULL) return errno == ENOENT ? 0 : xlstm_fail("cannot read %s: %s", l->csv_path, strerror(errno));
    json_writer kept; /* used as a text buffer */
    jw_init(&kept);
    jw_raw(&kept, HEADER);
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        long step;
        double loss, val_loss = NAN;
        char val[64] = "";
        /* step,tokens,lr,loss,grad_norm,val_loss,... */
        if (sscanf(line, "%ld,%*[^,],%*[^,],%lf,%*[^,],%63[^,]", &step, &loss, val) < 2) continue; /* the header */
        if (step > keep_until) break;
        if (val[0] != 0) val_loss = strtod(val, NULL);
        remember(l, step, loss, val_loss);
        jw_raw(&kept, line);
    }
    fclose(f);
    return jw_write_file(&kept, l->csv_path);
}

int metrics_open(metrics_log *l, const char *dir, long max_steps, long keep_until)
{
    memset(l, 0, sizeof *l);
    l->cap = max_steps + 1;
    l->train_step = xlstm_alloc((size_t)l->cap, sizeof(double), "metrics history");
    l->train_loss = xlstm_alloc((size_t)l->cap, sizeof(double), "metrics history");
    l->val_step = xlstm_alloc((size_t)l->cap, sizeof(double), "metrics history");
    l->val_loss = xlstm_alloc((size_t)l->cap, sizeof(double), "metrics history");
    if (!l->train_step || !l->train_loss || !l->val_step || !l->val_loss ||
        path_in(l->csv_path, sizeof l->csv_path, dir, "metrics.csv") ||
        path_in(l->svg_path, sizeof l->svg_path, dir, "loss.svg"))
        goto fail;
    if (keep_until >= 0 && cut_existing(l, keep_until) != 0) goto fail;
    l->csv = fopen(l->csv_path, keep_until >= 0 ? "a" : "w");
    if (l->csv == NULL) {
        xlstm_fail("cannot write %s: %s", l->csv_path, strerror(errno));
        goto fail;
    }
    if (fseek(l->csv, 0, SEEK_END) != 0 || (ftell(l->csv) == 0 && (fputs(HEADER, l->csv) < 0 || fflush(l->csv) != 0))) {
        xlstm_fail("cannot write %s: %s", l->csv_path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    metrics_close(l);
    return -1;
}

int metrics_append(metrics_log *l, long step, long tokens, double lr, double loss, double grad_norm, double val_loss,
                   double tokens_per_s)
{
    /* %.9g keeps every bit of a float: a resumed run's lines equal an uninterrupted run's */
    int rc = fprintf(l->csv, "%ld,%ld,%.9g,%.9g,%.9g,", step, tokens, lr, loss, grad_norm);
    if (rc >= 0) rc = isnan(val_loss) ? fprintf(l->csv, ",") : fprintf(l->csv, "%.9g,%.9g", val_loss, val_loss / LN2);
    if (rc >= 0) rc = fprintf(l->csv, ",%.0f\n", tokens_per_s);
    if (rc < 0 || fflush(l->csv) != 0) return xlstm_fail("cannot write %s: %s", l->csv_path, strerror(errno));
    remember(l, step, loss, val_loss);
    return 0;
}

/* loss.svg: the training loss of every step and the validation loss, in bits per byte */
int metrics_plot(const metrics_log *l)
{
    double *train = xlstm_alloc((size_t)l->ntrain + 1, sizeof(double), "loss plot");
    double *val = xlstm_alloc((size_t)l->nval + 1, sizeof(double), "loss plot");
    if (train == NULL || val == NULL) {
        xlstm_free(train);
        xlstm_free(val);
        return -1;
    }
    svg_plot p = {"xlstm train: loss", "step", "loss (bits per byte)", 0, 1, 0, NAN, NULL};
    for (long i = 0; i < l->ntrain; i++) {
        p.x1 = fmax(p.x1, l->train_step[i]);
        train[i] = l->train_loss[i] / LN2;
    }
    for (long i = 0; i < l->nval; i++) val[i] = l->val_loss[i] / LN2;
    const svg_series s[2] = {{"train (per step)", "#1f77b4", l->train_step, train, l->ntrain, 0},
                             {"validation", "#ff7f0e", l->val_step, val, l->nval, 1}};
    int rc = svg_plot_write(l->svg_path, &p, s, 2);
    xlstm_free(train);
    xlstm_free(val);
    return rc;
}

void metrics_close(metrics_log *l)
{
    if (l->csv != NULL) fclose(l->csv);
    l->csv = NULL;
    xlstm_free(l->train_step);
    xlstm_free(l->train_loss);
    xlstm_free(l->val_step);
    xlstm_free(l->val_loss);
    l->train_step = l->train_loss = l->val_step = l->val_loss = NULL;
}
