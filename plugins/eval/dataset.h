/*
 * dataset.h - golden datasets: JSONL (one case per line) or YAML.
 *
 * A case: {id, description, input, messages, vars, expected, assert, tags,
 * tool_results, threshold, metadata}. `input` is a user message (text) or a
 * list of chat messages; `messages` is the conversation so far, which
 * `input` (text), when given, continues; {{name}} placeholders in it and in assertion values
 * take the case's vars. `defaults` (a first JSONL line {"defaults": {...}},
 * or a YAML mapping {defaults, cases}) gives vars, assert, tool_results and
 * threshold to every case; a case's own come after (assertions) or over
 * them (vars, tool_results, threshold).
 *
 * Opening reads the whole file once: every case is checked (and its
 * assertions compiled) and every problem reported with file:line (and the
 * column, in YAML), so a broken case is found before anything runs. Only
 * where each selected case is in the file is kept: a case is read again
 * when it runs, so memory does not grow with the dataset.
 *
 * Ownership: ev_dataset_open's result is freed with ev_dataset_close. Cases
 * are reference-counted (several samples and the baseline share one):
 * ev_dataset_case returns one reference, ev_case_ref adds one,
 * ev_case_unref drops one.
 */
#ifndef EV_DATASET_H
#define EV_DATASET_H

#include "assertion.h"
#include "base/diag.h"

typedef struct ev_case {
    char *id;
    size_t index; /* 0-based position in the file */
    int line;
    char *description;    /* may be NULL */
    json_t *messages;     /* the input as chat messages, vars applied */
    char *input;          /* the last user message's text ("" when none) */
    json_t *vars;         /* object */
    json_t *expected;     /* may be NULL */
    json_t *tags;         /* array of strings */
    json_t *tool_results; /* object: tool name -> canned result(s) */
    json_t *metadata;     /* may be NULL */
    ev_assert *asserts;
    size_t n_asserts;
    size_t n_judged; /* llm-rubric assertions among them */
    int has_threshold;
    double threshold;
    int refs;
} ev_case;

typedef struct ev_dataset_opts {
    const json_t *tags; /* keep only cases carrying one of these tags; NULL: all */
    size_t limit;       /* keep at most this many cases; 0: all */
} ev_dataset_opts;

typedef struct ev_dataset ev_dataset;

ev_dataset *ev_dataset_open(const char *path, const ev_dataset_opts *opts, sw_diags *d);
void ev_dataset_close(ev_dataset *ds);

size_t ev_dataset_count(const ev_dataset *ds); /* cases selected */
size_t ev_dataset_total(const ev_dataset *ds); /* cases in the file */
const char *ev_dataset_path(const ev_dataset *ds);
const char *ev_dataset_sha256(const ev_dataset *ds); /* of the file's bytes, hex */
/* For the worst-case estimate: the largest and the total input size of the
   selected cases (bytes of message text), and their llm-rubric assertions. */
uint64_t ev_dataset_input_bytes_max(const ev_dataset *ds);
uint64_t ev_dataset_input_bytes_sum(const ev_dataset *ds);
size_t ev_dataset_judged(const ev_dataset *ds);

/* The i-th selected case (0 <= i < count), read again from the file. */
ev_case *ev_dataset_case(ev_dataset *ds, size_t i, sw_err *err);
ev_case *ev_case_ref(ev_case *c);
void ev_case_unref(ev_case *c);

/* Parse one case from JSON text (as a JSONL line holds it) with optional
   defaults (the object under "defaults"); for tests and tools. Problems go
   to d at file:line. */
ev_case *ev_case_from_text(const char *text, size_t len, const json_t *defaults, const char *file,
                           int line, size_t index, sw_diags *d);

#endif
