/*
 * svg_chart.h - the inline SVG drawings of report.html: a section's chart
 * (line, step or bar; axes with ticks and labels, a legend, vertical marks)
 * and the run's Gantt-like strip of stage spans. Output is SVG elements
 * appended to a buffer, every string escaped with sw_html_escape.
 *
 * Times are epoch milliseconds; time axes are drawn relative to t0 (the run's
 * start) in seconds or minutes.
 */
#ifndef SW_RUN_SVG_CHART_H
#define SW_RUN_SVG_CHART_H

#include <jansson.h>

#include "base/util.h"

/* One chart of a report section (borrowed; see docs/reports.md). A chart
   without any point draws a "no data" box. */
void sw_svg_chart(sw_buf *out, const json_t *chart, double t0);

/* One row of the Gantt strip: a span [start, end] in epoch ms; status is
   pass, fail, warn or info and picks the colour. */
typedef struct sw_svg_span {
    const char *label;
    double start;
    double end;
    const char *status;
} sw_svg_span;

/* A dot on the strip's event row, at t (epoch ms), coloured by status. */
typedef struct sw_svg_dot {
    double t;
    const char *status;
    const char *title; /* shown as a tooltip */
} sw_svg_dot;

/* The strip: one row per span over [t0, t1], with a row of event dots on top. */
void sw_svg_gantt(sw_buf *out, const sw_svg_span *spans, size_t n_spans, const sw_svg_dot *dots,
                  size_t n_dots, double t0, double t1);

#endif
