/*
 * report_html.h - report.html: a run's report (the JSON sw_run_report builds)
 * as one self-contained page: inline CSS, inline SVG charts, a small inline
 * script for the table filters only, and no external URL. Every string taken
 * from the report is HTML-escaped. Sections are rendered generically from the
 * contract in docs/reports.md; the page knows no plugin.
 */
#ifndef SW_RUN_REPORT_HTML_H
#define SW_RUN_REPORT_HTML_H

#include <jansson.h>

#include "base/util.h"

/* The page for report (borrowed); malloc'd, the caller frees it. */
char *sw_report_html(const json_t *report);

/* Append text to b with & < > " ' escaped: safe in element content and in
   quoted attribute values alike. NULL appends nothing. */
void sw_html_escape(sw_buf *b, const char *text);

#endif
