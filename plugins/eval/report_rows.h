/*
 * report_rows.h - reading finished samples back from eval.jsonl (and
 * eval-baseline.jsonl) for the reports, one case at a time, so a report
 * over 100,000 cases never holds them all.
 *
 * Ownership: ev_rows_open's result is closed with ev_rows_close; strings
 * and JSON handed out are the caller's (free, json_decref,
 * ev_case_rows_clear).
 */
#ifndef EV_REPORT_ROWS_H
#define EV_REPORT_ROWS_H

#include "runner.h"

typedef struct ev_rows ev_rows;

ev_rows *ev_rows_open(const ev_config *cfg, const ev_results *res);
void ev_rows_close(ev_rows *rows);
/* The parsed line of (side, case, sample), or NULL when it did not finish. */
json_t *ev_rows_get(ev_rows *rows, int side, size_t c, int sample);
/* A case's id, from its rows or else from the dataset. Malloc'd. */
char *ev_rows_case_id(ev_rows *rows, size_t c);

/* A case's samples on one side, folded. */
typedef struct ev_case_rows {
    int done;
    ev_outcome outcome;
    double score;
    char *id;
    char *output;        /* the first sample's answer */
    char *first_message; /* the first failing assertion's message, or the error */
    char *messages;      /* every failing assertion and error, one per line, by sample */
    double latency_ms;   /* mean over samples */
    double cost_usd;     /* sum over samples */
} ev_case_rows;

void ev_rows_case(ev_rows *rows, int side, size_t c, ev_case_rows *out);
void ev_case_rows_clear(ev_case_rows *cr);

/* A report written as it is built: text collects in b and goes to a temporary
   file beside path whenever it passes 64 KiB; ev_sink_close writes the rest,
   fsyncs and renames the file into place (or removes it on failure). */
typedef struct ev_sink {
    sw_buf b;
    FILE *f;
    char *path, *tmp;
    int failed;
} ev_sink;

int ev_sink_open(ev_sink *s, const char *path, sw_err *err);
void ev_sink_spill(ev_sink *s);
int ev_sink_close(ev_sink *s, sw_err *err);

/* XML and HTML escaping (control characters XML cannot hold become '?'). */
void ev_xml_escape(sw_buf *b, const char *s);

#endif
