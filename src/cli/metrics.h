/* metrics.h — the training log of a run directory: metrics.csv (one line per step, the
 * validation columns filled at evaluations) and loss.svg (train and validation curves in
 * bits per byte), both kept in step with the checkpoint on --resume. */
#ifndef XLSTM_CLI_METRICS_H
#define XLSTM_CLI_METRICS_H

#include <stdio.h>

typedef struct {
    FILE *csv;
    char csv_path[4096], svg_path[4096];
    long cap, ntrain, nval;           /* history capacity and fill */
    double *train_step, *train_loss;  /* [cap] per step */
    double *val_step, *val_loss;      /* [cap] per evaluation */
} metrics_log;

/* Open the log of run directory `dir` for `max_steps` steps. keep_until < 0 starts a new
 * metrics.csv; otherwise the existing one is cut after step keep_until (the checkpoint's:
 * later lines belong to steps that are about to be redone) and its history is read back. */
int metrics_open(metrics_log *l, const char *dir, long max_steps, long keep_until);
/* Append one step (val_loss NaN: no evaluation at this step); losses in nats. */
int metrics_append(metrics_log *l, long step, long tokens, double lr, double loss, double grad_norm, double val_loss,
                   double tokens_per_s);
/* Rewrite loss.svg from the history. */
int metrics_plot(const metrics_log *l);
void metrics_close(metrics_log *l);

#endif
