/* svg_plot.h — line plots as SVG files, for the CLI's figures: the training curves of
 * `xlstm train` (loss.svg) and the loss by position of `xlstm experiment extrapolation`. */
#ifndef XLSTM_CLI_SVG_PLOT_H
#define XLSTM_CLI_SVG_PLOT_H

typedef struct {
    const char *label, *color; /* legend text; an SVG color */
    const double *x, *y;       /* [n]; points whose y is not finite are left out */
    long n;
    int dots;                  /* mark each point with a dot */
} svg_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    double x0, x1;          /* the horizontal range (x0 > 0 with log_x) */
    int log_x;              /* logarithmic x axis, ticks at the powers of two */
    double mark_x;          /* a dashed vertical line there, labelled mark_label (NaN: none) */
    const char *mark_label;
} svg_plot;

/* Write the series as lines over axes into the SVG file `path` (atomically). The vertical
 * range covers every finite y, its bottom rounded down to a multiple of 0.5. */
int svg_plot_write(const char *path, const svg_plot *p, const svg_series *s, int ns);

#endif
