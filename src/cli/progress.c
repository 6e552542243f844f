/* progress.c — progress lines of long work (see progress.h). */
#include <time.h>

#include "cli/progress.h"

double progress_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void progress_begin(progress_meter *p, FILE *out, int tty, const char *what, long total)
{
    *p = (progress_meter){.out = out, .tty = tty, .what = what, .total = total, .clock = progress_now};
    p->start = p->last = p->clock();
}

void progress_update(progress_meter *p, long done)
{
    const double t = p->clock();
    /* on a terminal the first line at once (even short work shows what it is), then at most
     * every PROGRESS_TTY_SECONDS; in a log none before PROGRESS_LOG_SECONDS */
    const double wait = !p->tty ? PROGRESS_LOG_SECONDS : p->showing ? PROGRESS_TTY_SECONDS : 0;
    if (t - p->last < wait) return;
    const long percent = p->total > 0 ? 100 * done / p->total : 100;
    fprintf(p->out, "%s%s: %ld%% (%ld of %ld batches, %.0fs)%s", p->tty ? "\r\033[K" : "", p->what, percent, done,
            p->total, t - p->start, p->tty ? "" : "\n");
    fflush(p->out);
    p->showing = p->tty;
    p->last = t;
}

void progress_end(progress_meter *p)
{
    if (p->showing) fputs("\r\033[K", p->out);
    p->showing = 0;
}
