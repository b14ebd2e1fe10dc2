/*
 * report.h - the parts of report.json read from files, apart from the run
 * itself so they can be tested on plain JSON: the sections stages wrote
 * (<run>/artifacts/<stage>/report-section.json, see docs/reports.md) and the
 * timeline merged from the journal and those sections.
 *
 * Every function returns a new reference the caller owns; arguments are borrowed.
 */
#ifndef SW_RUN_REPORT_H
#define SW_RUN_REPORT_H

#include <jansson.h>
#include <stdint.h>

/* The largest report-section.json read; a bigger one is reported unreadable. */
#define SW_REPORT_SECTION_MAX (16u * 1024 * 1024)

/* An ISO 8601 UTC time as written by sw_iso8601_now ("2026-11-26T08:00:00.123Z",
   fraction optional) in milliseconds since the epoch; -1 when text is not one. */
int64_t sw_report_time_ms(const char *text);

/* For every stage record of stages (the report's "stages" array: objects with
   "id" and "uses", in pipeline order) whose section file exists under run_dir:
   {"stage", "uses", "section": <object>} or {"stage", "uses", "error": "<file>:
   line N: <why>"} when the file cannot be read or parsed. */
json_t *sw_report_sections(const char *run_dir, const json_t *stages);

/* The run's timeline: the journal events worth showing (runs, stages, gates,
   warnings, crashes) and every section's "events", as objects
   {"t": epoch ms, "stage"?, "event", "label", "status": pass|fail|warn|info},
   sorted by t; entries with the same t keep journal order, then section order.
   stages (the report's "stages") names on_failure handlers in labels; may be NULL. */
json_t *sw_report_timeline(const json_t *journal, const json_t *stages, const json_t *sections);

#endif
