/*
 * journal.h - the run's append-only event log, journal.jsonl.
 *
 * One JSON object per line, each written with one write(2) on an O_APPEND
 * descriptor, so a crash leaves whole lines (and at worst one torn last line,
 * which readers skip). sw_journal_sync fsyncs; the runner calls it at every
 * stage boundary. Thread-safe.
 */
#ifndef SW_RUN_JOURNAL_H
#define SW_RUN_JOURNAL_H

#include <jansson.h>

#include "base/util.h"

typedef struct sw_journal sw_journal;

sw_journal *sw_journal_open(const char *path, sw_err *err);
void sw_journal_close(sw_journal *j);
/* Append event (borrowed; "ts" is added when absent). */
int sw_journal_append(sw_journal *j, json_t *event, sw_err *err);
int sw_journal_sync(sw_journal *j, sw_err *err);
/* The descriptor, for the crash handler's async-signal-safe last line. */
int sw_journal_fd(const sw_journal *j);
/* Every whole event of a journal file as a JSON array; a torn last line is
   skipped and counted in *torn (may be NULL). */
json_t *sw_journal_read(const char *path, size_t *torn, sw_err *err);

#endif
