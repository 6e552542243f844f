/* metrics.c — metrics.csv and the loss.svg plot of a training run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cli/metrics.h"
#include "io/atomic.h"
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
    char *text;
    size_t len;
    if (jw_finish(&kept, &text, &len) != 0) return -1;
    int rc = atomic_write_file(l->csv_path, text, len);
    xlstm_free(text);
    return rc;
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

/* ---------------------------------------------------------------- loss.svg */

/* Plot area inside a W x H canvas. */
enum { W = 720, H = 440, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 55 };

typedef struct {
    double x0, x1, y0, y1;
} plot_box;

/* Take y into the vertical range (a skipped update's NaN loss is left out). */
static void widen(plot_box *b, double y)
{
    if (!isfinite(y)) return;
    b->y0 = fmin(b->y0, y);
    b->y1 = fmax(b->y1, y);
}

static double px(const plot_box *b, double x) { return LEFT + (x - b->x0) / (b->x1 - b->x0) * (W - LEFT - RIGHT); }
static double py(const plot_box *b, double y) { return H - BOTTOM - (y - b->y0) / (b->y1 - b->y0) * (H - TOP - BOTTOM); }

/* A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about 6 ticks over span. */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

static void axes(json_writer *w, const plot_box *b)
{
    double xs = tick_step(b->x1 - b->x0), ys = tick_step(b->y1 - b->y0);
    jw_printf(w, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#444'/>\n", LEFT, TOP,
              W - LEFT - RIGHT, H - TOP - BOTTOM);
    for (double x = ceil(b->x0 / xs) * xs; x <= b->x1 + 1e-9 * xs; x += xs)
        jw_printf(w, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ddd'/><text x='%.1f' y='%d' "
                     "text-anchor='middle'>%g</text>\n", px(b, x), TOP, px(b, x), H - BOTTOM, px(b, x), H - BOTTOM + 18, x);
    for (double y = ceil(b->y0 / ys) * ys; y <= b->y1 + 1e-9 * ys; y += ys)
        jw_printf(w, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/><text x='%d' y='%.1f' "
                     "text-anchor='end'>%g</text>\n", LEFT, py(b, y), W - RIGHT, py(b, y), LEFT - 6, py(b, y) + 4, y);
    jw_printf(w, "<text x='%d' y='%d' text-anchor='middle'>step</text>\n", (LEFT + W - RIGHT) / 2, H - 15);
    jw_printf(w, "<text transform='translate(18,%d) rotate(-90)' text-anchor='middle'>loss (bits per byte)</text>\n",
              (TOP + H - BOTTOM) / 2);
}

static void curve(json_writer *w, const plot_box *b, const double *x, const double *y, long n, const char *color,
                  int dots)
{
    jw_printf(w, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
    for (long i = 0; i < n; i++)
        if (isfinite(y[i])) jw_printf(w, "%.1f,%.1f ", px(b, x[i]), py(b, y[i] / LN2)); /* skipped updates: NaN */
    jw_raw(w, "'/>\n");
    for (long i = 0; dots && i < n; i++)
        if (isfinite(y[i])) jw_printf(w, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px(b, x[i]), py(b, y[i] / LN2), color);
}

int metrics_plot(const metrics_log *l)
{
    plot_box b = {0, 1, INFINITY, -INFINITY};
    for (long i = 0; i < l->ntrain; i++) {
        b.x1 = fmax(b.x1, l->train_step[i]);
        widen(&b, l->train_loss[i] / LN2);
    }
    for (long i = 0; i < l->nval; i++) widen(&b, l->val_loss[i] / LN2);
    if (!(b.y1 > b.y0)) { /* no points yet, or a flat line */
        b.y0 = isfinite(b.y0) ? b.y0 - 1 : 0;
        b.y1 = b.y0 + 2;
    }
    b.y0 = floor(b.y0 * 2) / 2;
    json_writer w; /* used as a text buffer */
    jw_init(&w);
    jw_printf(&w, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
                  "font-size='12'>\n<rect width='100%%' height='100%%' fill='white'/>\n", W, H);
    jw_printf(&w, "<text x='%d' y='24' text-anchor='middle' font-size='15'>xlstm train: loss</text>\n", W / 2);
    axes(&w, &b);
    curve(&w, &b, l->train_step, l->train_loss, l->ntrain, "#1f77b4", 0);
    curve(&w, &b, l->val_step, l->val_loss, l->nval, "#ff7f0e", 1);
    jw_printf(&w, "<text x='%d' y='%d' fill='#1f77b4' text-anchor='end'>train (per step)</text>\n", W - RIGHT - 8,
              TOP + 18);
    jw_printf(&w, "<text x='%d' y='%d' fill='#ff7f0e' text-anchor='end'>validation</text>\n", W - RIGHT - 8, TOP + 34);
    jw_raw(&w, "</svg>\n");
    char *text;
    size_t len;
    if (jw_finish(&w, &text, &len) != 0) return -1;
    int rc = atomic_write_file(l->svg_path, text, len);
    xlstm_free(text);
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
