/* svg_plot.c — line plots as SVG. */
#include <math.h>

#include "common.h"
#include "cli/svg_plot.h"
#include "io/json.h"

/* Plot area inside a W x H canvas. */
enum { W = 720, H = 440, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 55 };

typedef struct {
    double x0, x1, y0, y1;
    int log_x;
} plot_box;

/* Take y into the vertical range (a non-finite y, such as a skipped update's loss, is left out). */
static void widen(plot_box *b, double y)
{
    if (!isfinite(y)) return;
    b->y0 = fmin(b->y0, y);
    b->y1 = fmax(b->y1, y);
}

static double px(const plot_box *b, double x)
{
    double f = b->log_x ? log(x / b->x0) / log(b->x1 / b->x0) : (x - b->x0) / (b->x1 - b->x0);
    return LEFT + f * (W - LEFT - RIGHT);
}

static double py(const plot_box *b, double y)
{
    return H - BOTTOM - (y - b->y0) / (b->y1 - b->y0) * (H - TOP - BOTTOM);
}

/* A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about 6 ticks over span. */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

static void x_tick(json_writer *w, const plot_box *b, double x)
{
    jw_printf(w, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ddd'/><text x='%.1f' y='%d' "
                 "text-anchor='middle'>%g</text>\n", px(b, x), TOP, px(b, x), H - BOTTOM, px(b, x), H - BOTTOM + 18, x);
}

static void axes(json_writer *w, const plot_box *b, const svg_plot *p)
{
    double ys = tick_step(b->y1 - b->y0);
    jw_printf(w, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#444'/>\n", LEFT, TOP,
              W - LEFT - RIGHT, H - TOP - BOTTOM);
    if (b->log_x) {
        for (double x = exp2(ceil(log2(b->x0))); x <= b->x1 * (1 + 1e-9); x *= 2) x_tick(w, b, x);
    } else {
        double xs = tick_step(b->x1 - b->x0);
        for (double x = ceil(b->x0 / xs) * xs; x <= b->x1 + 1e-9 * xs; x += xs) x_tick(w, b, x);
    }
    for (double y = ceil(b->y0 / ys) * ys; y <= b->y1 + 1e-9 * ys; y += ys)
        jw_printf(w, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/><text x='%d' y='%.1f' "
                     "text-anchor='end'>%g</text>\n", LEFT, py(b, y), W - RIGHT, py(b, y), LEFT - 6, py(b, y) + 4, y);
    jw_printf(w, "<text x='%d' y='%d' text-anchor='middle'>", (LEFT + W - RIGHT) / 2, H - 15);
    jw_raw(w, p->xlabel);
    jw_printf(w, "</text>\n<text transform='translate(18,%d) rotate(-90)' text-anchor='middle'>",
              (TOP + H - BOTTOM) / 2);
    jw_raw(w, p->ylabel);
    jw_raw(w, "</text>\n");
}

static void mark(json_writer *w, const plot_box *b, const svg_plot *p)
{
    double x = px(b, p->mark_x);
    jw_printf(w, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#888' stroke-dasharray='5,4'/>\n", x, TOP, x,
              H - BOTTOM);
    jw_printf(w, "<text x='%.1f' y='%d' fill='#666'>", x + 4, H - BOTTOM - 8);
    jw_raw(w, p->mark_label);
    jw_raw(w, "</text>\n");
}

static void curve(json_writer *w, const plot_box *b, const svg_series *s)
{
    jw_printf(w, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", s->color);
    for (long i = 0; i < s->n; i++)
        if (isfinite(s->y[i])) jw_printf(w, "%.1f,%.1f ", px(b, s->x[i]), py(b, s->y[i]));
    jw_raw(w, "'/>\n");
    for (long i = 0; s->dots && i < s->n; i++)
        if (isfinite(s->y[i]))
            jw_printf(w, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px(b, s->x[i]), py(b, s->y[i]), s->color);
}

int svg_plot_write(const char *path, const svg_plot *p, const svg_series *s, int ns)
{
    plot_box b = {p->x0, p->x1, INFINITY, -INFINITY, p->log_x};
    for (int k = 0; k < ns; k++)
        for (long i = 0; i < s[k].n; i++) widen(&b, s[k].y[i]);
    if (!(b.y1 > b.y0)) { /* no points yet, or a flat line */
        b.y0 = isfinite(b.y0) ? b.y0 - 1 : 0;
        b.y1 = b.y0 + 2;
    }
    b.y0 = floor(b.y0 * 2) / 2;
    json_writer w; /* used as a text buffer */
    jw_init(&w);
    jw_printf(&w, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
                  "font-size='12'>\n<rect width='100%%' height='100%%' fill='white'/>\n", W, H);
    jw_printf(&w, "<text x='%d' y='24' text-anchor='middle' font-size='15'>", W / 2);
    jw_raw(&w, p->title);
    jw_raw(&w, "</text>\n");
    axes(&w, &b, p);
    if (!isnan(p->mark_x)) mark(&w, &b, p);
    for (int k = 0; k < ns; k++) curve(&w, &b, &s[k]);
    for (int k = 0; k < ns; k++) {
        jw_printf(&w, "<text x='%d' y='%d' fill='%s' text-anchor='end'>", W - RIGHT - 8, TOP + 18 + 16 * k, s[k].color);
        jw_raw(&w, s[k].label);
        jw_raw(&w, "</text>\n");
    }
    jw_raw(&w, "</svg>\n");
    return jw_write_file(&w, path);
}
