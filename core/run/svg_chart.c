/*
 * svg_chart.c - inline SVG for report.html: section charts and the stage strip.
 *
 * Coordinates are in a fixed viewBox; CSS scales the drawing to the page. Axes
 * get "nice" ticks (1, 2 or 5 times a power of ten) so labels read as round
 * numbers. Nothing here trusts the section: points that are not numbers are
 * skipped, and every string goes through sw_html_escape.
 */
#include "run/svg_chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run/report_html.h"

#define W        760.0
#define PLOT_L   64.0
#define PLOT_R   20.0
#define LEGEND_H 26.0
#define PLOT_H   200.0
#define AXIS_H   44.0

static const char *const palette[] = {"#0969da", "#e16f24", "#8250df",
                                      "#1b7c83", "#bf3989", "#6e7781"};
#define N_PALETTE (sizeof palette / sizeof *palette)

static const char *status_colour(const char *status)
{
    if (status && strcmp(status, "pass") == 0)
        return "#2da44e";
    if (status && strcmp(status, "fail") == 0)
        return "#cf222e";
    if (status && strcmp(status, "warn") == 0)
        return "#bf8700";
    return "#8c959f";
}

/* ---- axes ---- */

typedef struct axis {
    double lo, hi, step; /* in display units */
    double div;          /* raw value / div = display value (after subtracting origin) */
    double origin;       /* subtracted first (t0 on time axes) */
    double px0, px1;     /* pixel range lo..hi maps to */
} axis;

static double nice_step(double range, int target)
{
    if (!(range > 0))
        return 1;
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nf * mag;
}

/* Ticks cover [min, max] (display units); a flat range gets some room. */
static void axis_fit(axis *a, double min, double max, int target)
{
    /* Past this, the drawing means nothing anyway; keep the arithmetic finite. */
    min = fmax(min, -1e300);
    max = fmin(max, 1e300);
    if (!(max - min < 1e300)) {
        min /= 4;
        max /= 4;
    }
    if (!(max > min)) {
        double pad = fabs(min) > 0 ? fabs(min) * 0.5 : 1;
        min -= min == 0 ? 0 : pad;
        max += pad;
    }
    a->step = nice_step(max - min, target);
    a->lo = floor(min / a->step + 1e-9) * a->step;
    a->hi = ceil(max / a->step - 1e-9) * a->step;
    if (a->hi <= a->lo)
        a->hi = a->lo + a->step;
}

static double display(const axis *a, double raw)
{
    return (raw - a->origin) / a->div;
}

static double to_px(const axis *a, double raw)
{
    return a->px0 + (display(a, raw) - a->lo) / (a->hi - a->lo) * (a->px1 - a->px0);
}

static void fmt_tick(char *out, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (decimals > 6)
        decimals = 6;
    if (fabs(v) >= 1e7)
        snprintf(out, n, "%.3g", v);
    else
        snprintf(out, n, "%.*f", decimals, v);
}

/* A value shown in a tooltip or on a bar: short, without trailing zeros. */
static void fmt_value(char *out, size_t n, double v)
{
    snprintf(out, n, "%.4g", v);
}

/* Time axes use seconds, or minutes once the range passes three minutes. */
static void time_units(axis *a, double t0, double min_ms, double max_ms, const char **label)
{
    a->origin = t0;
    double span = fmax(fabs(max_ms - t0), fabs(min_ms - t0));
    int minutes = span > 180000;
    a->div = minutes ? 60000 : 1000;
    *label = minutes ? "min since run start" : "s since run start";
}

static void text_el(sw_buf *b, double x, double y, const char *anchor, const char *cls,
                    const char *text)
{
    sw_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor,
                  cls);
    sw_html_escape(b, text);
    sw_buf_puts(b, "</text>");
}

/* Ticks by index, never by adding the step: at large magnitudes lo + step can equal lo. */
static int n_ticks(const axis *a)
{
    double n = floor((a->hi - a->lo) / a->step + 0.5);
    return isfinite(n) && n >= 1 ? (n > 40 ? 40 : (int)n) : 1;
}

static void x_axis_ticks(sw_buf *b, const axis *x, double y_top, double y_bottom)
{
    int n = n_ticks(x);
    for (int i = 0; i <= n; i++) {
        double v = x->lo + (x->hi - x->lo) * i / n;
        double px = x->px0 + (v - x->lo) / (x->hi - x->lo) * (x->px1 - x->px0);
        char label[48];
        fmt_tick(label, sizeof label, v, x->step);
        sw_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                      px, y_top, px, y_bottom);
        sw_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                      px, y_bottom, px, y_bottom + 4);
        text_el(b, px, y_bottom + 16, "middle", "tick", label);
    }
}

/* ---- charts ---- */

typedef struct series_view {
    const char *name;
    const json_t *points;
    size_t n_valid;
} series_view;

static int point_xy(const json_t *p, double *x, double *y)
{
    if (!json_is_array(p) || json_array_size(p) < 2)
        return 0;
    json_t *jx = json_array_get(p, 0), *jy = json_array_get(p, 1);
    if (!json_is_number(jx) || !json_is_number(jy))
        return 0;
    *x = json_number_value(jx);
    *y = json_number_value(jy);
    return isfinite(*x) && isfinite(*y);
}

static int point_bar(const json_t *p, char *cat, size_t n, double *y)
{
    if (!json_is_array(p) || json_array_size(p) < 2)
        return 0;
    json_t *jc = json_array_get(p, 0), *jy = json_array_get(p, 1);
    if (!json_is_number(jy))
        return 0;
    if (json_is_string(jc))
        snprintf(cat, n, "%s", json_string_value(jc));
    else if (json_is_number(jc))
        fmt_value(cat, n, json_number_value(jc));
    else
        return 0;
    *y = json_number_value(jy);
    return isfinite(*y);
}

static void legend(sw_buf *b, const series_view *sv, size_t n)
{
    double x = PLOT_L;
    for (size_t i = 0; i < n; i++) {
        const char *name = sv[i].name ? sv[i].name : "";
        if (x > W - 120) {
            /* No room for the rest: their values still have tooltips. */
            text_el(b, x, 18, "start", "legend", "...");
            break;
        }
        char *text = sv[i].n_valid ? sw_xstrdup(name) : sw_xasprintf("%s (no data)", name);
        sw_buf_printf(b, "<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" fill=\"%s\"/>", x,
                      palette[i % N_PALETTE]);
        text_el(b, x + 16, 18, "start", "legend", text);
        x += 30 + 7.0 * (double)strlen(text);
        free(text);
    }
}

static void no_data(sw_buf *b, const char *title, double height)
{
    sw_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W,
                  height);
    sw_html_escape(b, title);
    sw_buf_printf(b, "\"><rect class=\"frame\" x=\"%.1f\" y=\"4\" width=\"%.1f\" height=\"%.1f\"/>",
                  PLOT_L, W - PLOT_L - PLOT_R, height - 8);
    text_el(b, W / 2, height / 2 + 5, "middle", "nodata", "no data");
    sw_buf_puts(b, "</svg>");
}

static void y_axis(sw_buf *b, const axis *y, double x_left, double x_right, const char *unit)
{
    int n = n_ticks(y);
    for (int i = 0; i <= n; i++) {
        double v = y->lo + (y->hi - y->lo) * i / n;
        double py = y->px0 + (v - y->lo) / (y->hi - y->lo) * (y->px1 - y->px0);
        char label[48];
        fmt_tick(label, sizeof label, v, y->step);
        sw_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                      x_left, py, x_right, py);
        text_el(b, x_left - 6, py + 4, "end", "tick", label);
    }
    sw_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  x_left, y->px1, x_left, y->px0);
    if (unit && *unit) {
        double cy = (y->px0 + y->px1) / 2;
        sw_buf_printf(b,
                      "<text class=\"axis-title\" text-anchor=\"middle\" "
                      "transform=\"translate(14 %.1f) rotate(-90)\">",
                      cy);
        sw_html_escape(b, unit);
        sw_buf_puts(b, "</text>");
    }
}

static void y_range(axis *y, double min, double max)
{
    /* The y axis starts at 0 unless values are negative. */
    if (min > 0)
        min = 0;
    if (max < 0)
        max = 0;
    y->origin = 0;
    y->div = 1;
    axis_fit(y, min, max, 5);
}

static void xy_chart(sw_buf *b, const json_t *chart, series_view *sv, size_t n, double t0, int step)
{
    const char *title = json_string_value(json_object_get(chart, "title"));
    const char *unit = json_string_value(json_object_get(chart, "unit"));
    const char *xkind = json_string_value(json_object_get(chart, "x"));
    int is_time = xkind ? strcmp(xkind, "time") == 0 : -1;
    const json_t *marks = json_object_get(chart, "marks");

    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *p;
        json_array_foreach(sv[i].points, k, p)
        {
            double x, y;
            if (!point_xy(p, &x, &y))
                continue;
            sv[i].n_valid++;
            total++;
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
    }
    double height = LEGEND_H + PLOT_H + AXIS_H;
    if (total == 0) {
        no_data(b, title, 120);
        return;
    }
    size_t k;
    json_t *m;
    json_array_foreach(marks, k, m)
    {
        json_t *mx = json_object_get(m, "x");
        if (json_is_number(mx) && isfinite(json_number_value(mx))) {
            xmin = fmin(xmin, json_number_value(mx));
            xmax = fmax(xmax, json_number_value(mx));
        }
    }

    /* No "x": epoch milliseconds are recognisable (after 1973), anything else is a number. */
    if (is_time < 0)
        is_time = xmin > 1e11;
    axis x = {.div = 1, .origin = 0};
    const char *xlabel = NULL;
    if (is_time)
        time_units(&x, t0 > 0 ? t0 : xmin, xmin, xmax, &xlabel);
    axis_fit(&x, display(&x, xmin), display(&x, xmax), 8);
    x.px0 = PLOT_L;
    x.px1 = W - PLOT_R;
    axis y = {0};
    y_range(&y, ymin, ymax);
    y.px0 = LEGEND_H + PLOT_H; /* lo at the bottom */
    y.px1 = LEGEND_H;

    sw_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W,
                  height);
    sw_html_escape(b, title);
    sw_buf_puts(b, "\">");
    legend(b, sv, n);
    y_axis(b, &y, PLOT_L, W - PLOT_R, unit);
    x_axis_ticks(b, &x, LEGEND_H, LEGEND_H + PLOT_H);
    sw_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  PLOT_L, LEGEND_H + PLOT_H, W - PLOT_R, LEGEND_H + PLOT_H);
    if (xlabel)
        text_el(b, (PLOT_L + W - PLOT_R) / 2, height - 6, "middle", "axis-title", xlabel);

    for (size_t i = 0; i < n; i++) {
        if (!sv[i].n_valid)
            continue;
        const char *colour = palette[i % N_PALETTE];
        sw_buf_printf(b, "<path class=\"series\" stroke=\"%s\" d=\"", colour);
        int first = 1;
        json_t *p;
        json_array_foreach(sv[i].points, k, p)
        {
            double px, py;
            if (!point_xy(p, &px, &py))
                continue;
            double X = to_px(&x, px), Y = to_px(&y, py);
            if (first)
                sw_buf_printf(b, "M%.1f %.1f", X, Y);
            else if (step)
                sw_buf_printf(b, " H%.1f V%.1f", X, Y);
            else
                sw_buf_printf(b, " L%.1f %.1f", X, Y);
            first = 0;
        }
        sw_buf_puts(b, "\"/>");
        if (sv[i].n_valid > 60)
            continue;
        /* Few points: show each, with its value as a tooltip. */
        json_array_foreach(sv[i].points, k, p)
        {
            double px, py;
            if (!point_xy(p, &px, &py))
                continue;
            char xs[48], ys[48];
            fmt_value(xs, sizeof xs, display(&x, px));
            fmt_value(ys, sizeof ys, py);
            sw_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>",
                          to_px(&x, px), to_px(&y, py), colour);
            sw_html_escape(b, sv[i].name);
            sw_buf_printf(b, ": %s%s, %s", xs, is_time ? (x.div > 1000 ? " min" : " s") : "", ys);
            sw_buf_puts(b, unit ? " " : "");
            sw_html_escape(b, unit);
            sw_buf_puts(b, "</title></circle>");
        }
    }

    json_array_foreach(marks, k, m)
    {
        json_t *mx = json_object_get(m, "x");
        if (!json_is_number(mx) || !isfinite(json_number_value(mx)))
            continue;
        double X = to_px(&x, json_number_value(mx));
        sw_buf_printf(b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                      X, LEGEND_H, X, LEGEND_H + PLOT_H);
        const char *label = json_string_value(json_object_get(m, "label"));
        if (label) {
            /* Labels near the right edge go left of their line. */
            int left = X > W - 160;
            text_el(b, left ? X - 4 : X + 4, LEGEND_H + 12 + 12.0 * (double)(k % 3),
                    left ? "end" : "start", "mark-label", label);
        }
    }
    sw_buf_puts(b, "</svg>");
}

static void bar_chart(sw_buf *b, const json_t *chart, series_view *sv, size_t n)
{
    const char *title = json_string_value(json_object_get(chart, "title"));
    const char *unit = json_string_value(json_object_get(chart, "unit"));
    char **cats = NULL;
    size_t n_cats = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *p;
        json_array_foreach(sv[i].points, k, p)
        {
            char cat[256];
            double y;
            if (!point_bar(p, cat, sizeof cat, &y))
                continue;
            sv[i].n_valid++;
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
            size_t c = 0;
            while (c < n_cats && strcmp(cats[c], cat) != 0)
                c++;
            if (c == n_cats) {
                cats = sw_xrealloc(cats, (n_cats + 1) * sizeof *cats);
                cats[n_cats++] = sw_xstrdup(cat);
            }
        }
    }
    if (n_cats == 0) {
        no_data(b, title, 120);
        return;
    }
    double band = (W - PLOT_L - PLOT_R) / (double)n_cats;
    int slanted = band < 64;
    double axis_h = slanted ? 90 : AXIS_H;
    double height = LEGEND_H + PLOT_H + axis_h;
    axis y = {0};
    y_range(&y, ymin, ymax);
    y.px0 = LEGEND_H + PLOT_H;
    y.px1 = LEGEND_H;

    sw_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W,
                  height);
    sw_html_escape(b, title);
    sw_buf_puts(b, "\">");
    legend(b, sv, n);
    y_axis(b, &y, PLOT_L, W - PLOT_R, unit);
    double base = to_px(&y, 0);
    sw_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  PLOT_L, base, W - PLOT_R, base);

    size_t n_drawn = 0;
    for (size_t i = 0; i < n; i++)
        n_drawn += sv[i].n_valid > 0;
    double bar_w = band * 0.8 / (double)(n_drawn ? n_drawn : 1);
    for (size_t c = 0; c < n_cats; c++) {
        double cx = PLOT_L + band * ((double)c + 0.5);
        double bx = PLOT_L + band * (double)c + band * 0.1;
        for (size_t i = 0, slot = 0; i < n; i++) {
            if (!sv[i].n_valid)
                continue;
            size_t k;
            json_t *p;
            json_array_foreach(sv[i].points, k, p)
            {
                char cat[256];
                double v;
                if (!point_bar(p, cat, sizeof cat, &v) || strcmp(cat, cats[c]) != 0)
                    continue;
                double top = to_px(&y, v);
                double x0 = bx + bar_w * (double)slot;
                char vs[48];
                fmt_value(vs, sizeof vs, v);
                sw_buf_printf(b,
                              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                              "fill=\"%s\"><title>",
                              x0, fmin(top, base), fmax(bar_w - 1, 1), fabs(base - top),
                              palette[i % N_PALETTE]);
                sw_html_escape(b, sv[i].name);
                sw_buf_puts(b, ", ");
                sw_html_escape(b, cats[c]);
                sw_buf_printf(b, ": %s</title></rect>", vs);
                if (bar_w >= 28)
                    text_el(b, x0 + bar_w / 2, v >= 0 ? top - 4 : top + 12, "middle", "bar-value",
                            vs);
                break;
            }
            slot++;
        }
        /* Category labels: slanted when the bands are narrow, cut when very long. */
        char label[40];
        size_t max_chars = slanted ? 16 : (size_t)(band / 7.0);
        if (max_chars < 3)
            max_chars = 3;
        if (max_chars > sizeof label - 4)
            max_chars = sizeof label - 4;
        if (strlen(cats[c]) > max_chars)
            snprintf(label, sizeof label, "%.*s...", (int)(max_chars - 1), cats[c]);
        else
            snprintf(label, sizeof label, "%s", cats[c]);
        double ly = LEGEND_H + PLOT_H + 16;
        if (band < 6) {
            free(cats[c]);
            continue; /* too narrow for any label: the tooltips name the bars */
        }
        if (slanted) {
            sw_buf_printf(b,
                          "<text class=\"tick\" text-anchor=\"end\" "
                          "transform=\"translate(%.1f %.1f) rotate(-40)\"><title>",
                          cx + 4, ly);
            sw_html_escape(b, cats[c]);
            sw_buf_puts(b, "</title>");
            sw_html_escape(b, label);
            sw_buf_puts(b, "</text>");
        } else {
            text_el(b, cx, ly, "middle", "tick", label);
        }
        free(cats[c]);
    }
    free(cats);
    sw_buf_puts(b, "</svg>");
}

void sw_svg_chart(sw_buf *out, const json_t *chart, double t0)
{
    const char *kind = json_string_value(json_object_get(chart, "kind"));
    const json_t *series = json_object_get(chart, "series");
    size_t n = json_is_array(series) ? json_array_size(series) : 0;
    series_view *sv = sw_xcalloc(n + 1, sizeof *sv);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(series, i);
        if (!json_is_object(s))
            continue;
        sv[m].name = json_string_value(json_object_get(s, "name"));
        if (!sv[m].name)
            sv[m].name = "";
        sv[m].points = json_object_get(s, "points");
        m++;
    }
    if (kind && strcmp(kind, "bar") == 0)
        bar_chart(out, chart, sv, m);
    else
        xy_chart(out, chart, sv, m, t0, kind && strcmp(kind, "step") == 0);
    free(sv);
}

/* ---- the stage strip ---- */

#define G_LABEL_W 150.0
#define G_ROW     24.0

void sw_svg_gantt(sw_buf *out, const sw_svg_span *spans, size_t n_spans, const sw_svg_dot *dots,
                  size_t n_dots, double t0, double t1)
{
    double lo = t0, hi = t1 > t0 ? t1 : t0 + 1000;
    for (size_t i = 0; i < n_spans; i++) {
        lo = fmin(lo, spans[i].start);
        hi = fmax(hi, spans[i].end);
    }
    for (size_t i = 0; i < n_dots; i++) {
        lo = fmin(lo, dots[i].t);
        hi = fmax(hi, dots[i].t);
    }
    const char *xlabel;
    axis x = {0};
    time_units(&x, t0, lo, hi, &xlabel);
    axis_fit(&x, display(&x, lo), display(&x, hi), 8);
    x.px0 = G_LABEL_W;
    x.px1 = W - PLOT_R;
    double rows_h = G_ROW * (double)(n_spans + 1);
    double top = 6, bottom = top + rows_h;
    double height = bottom + AXIS_H;
    sw_buf_printf(out,
                  "<svg class=\"chart gantt\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                  "aria-label=\"stages over time\">",
                  W, height);
    x_axis_ticks(out, &x, top, bottom);
    sw_buf_printf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  G_LABEL_W, bottom, W - PLOT_R, bottom);
    text_el(out, (G_LABEL_W + W - PLOT_R) / 2, height - 6, "middle", "axis-title", xlabel);

    text_el(out, G_LABEL_W - 8, top + G_ROW / 2 + 4, "end", "row-label", "events");
    for (size_t i = 0; i < n_dots; i++) {
        sw_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>",
                      to_px(&x, dots[i].t), top + G_ROW / 2, status_colour(dots[i].status));
        sw_html_escape(out, dots[i].title);
        sw_buf_puts(out, "</title></circle>");
    }
    for (size_t i = 0; i < n_spans; i++) {
        double y = top + G_ROW * (double)(i + 1);
        char label[24];
        const char *name = spans[i].label ? spans[i].label : "";
        if (strlen(name) > 20)
            snprintf(label, sizeof label, "%.18s...", name);
        else
            snprintf(label, sizeof label, "%s", name);
        text_el(out, G_LABEL_W - 8, y + G_ROW / 2 + 4, "end", "row-label", label);
        double x0 = to_px(&x, spans[i].start), x1 = to_px(&x, spans[i].end);
        char secs[48];
        fmt_value(secs, sizeof secs, (spans[i].end - spans[i].start) / 1000.0);
        sw_buf_printf(out,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\" "
                      "fill=\"%s\"><title>",
                      x0, y + 4, fmax(x1 - x0, 2), G_ROW - 8, status_colour(spans[i].status));
        sw_html_escape(out, name);
        sw_buf_printf(out, ": %s s</title></rect>", secs);
    }
    sw_buf_puts(out, "</svg>");
}
