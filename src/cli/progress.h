/* progress.h — progress of long work that otherwise prints nothing (validation in train,
 * eval's windows): on a terminal one line rewritten in place; otherwise, for a log, a line
 * only every PROGRESS_LOG_SECONDS, so that the log of short work (the tests') stays the same
 * from run to run. */
#ifndef XLSTM_CLI_PROGRESS_H
#define XLSTM_CLI_PROGRESS_H

#include <stdio.h>

#define PROGRESS_LOG_SECONDS 10.0
#define PROGRESS_TTY_SECONDS 0.1 /* the terminal line is rewritten at most this often */

typedef struct {
    FILE *out;
    int tty;            /* out is a terminal */
    const char *what;   /* "validation", "eval" */
    long total;         /* units of work (batches) */
    double start, last; /* clock times: begin, the last line written */
    int showing;        /* a terminal line is on the screen */
    double (*clock)(void); /* seconds, monotonic (a test sets its own) */
} progress_meter;

/* Seconds of the monotonic clock. */
double progress_now(void);

void progress_begin(progress_meter *p, FILE *out, int tty, const char *what, long total);
/* `done` of the total units are done. */
void progress_update(progress_meter *p, long done);
/* Clear the terminal line, so that what comes next starts on an empty one. */
void progress_end(progress_meter *p);

#endif
