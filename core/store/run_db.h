/*
 * run_db.h - runs kept in a database store (pg_runs.c), for the runner and the run
 * listings (core/run/run_db.c). The run folder stays the working copy; the database
 * holds what every machine reads: each run's row, its files (pipeline snapshot, run.json,
 * checkpoint, reports, artifacts up to a size cap), its journal one line a row, and the
 * lease of the process running it (owner and expiry, renewed by a heartbeat).
 *
 * Every function works on a store opened on a postgres:// URL; on a folder store it fails
 * with "runs are kept in the database only with a postgres:// store".
 */
#ifndef SW_STORE_RUN_DB_H
#define SW_STORE_RUN_DB_H

#include <stddef.h>

#include <jansson.h>

#include "base/util.h"
#include "sha256.h"
#include "slipway/store.h"

typedef struct sw_run_file {
    const char *name; /* relative to the run folder: "context.json", "artifacts/eval/junit.xml" */
    const char *sha256;
    const char *data;
    size_t len;
} sw_run_file;

/* The files of a run folder to write through (run_folder.c): every regular file but
   journal.jsonl, each at most sw_run_file_cap() bytes ($SLIPWAY_RUN_FILE_CAP, default
   4 MiB) unless the run cannot be shown or resumed without it (pipeline.yaml, run.json,
   context.json, report.json), at most SW_RUN_MAX_FILES of them. */
#define SW_RUN_MAX_FILES 4096
typedef struct sw_run_file_set {
    sw_run_file *files; /* borrowing from owned */
    size_t n, cap;
    char **owned;                       /* each file's name and data */
    char (*sha)[SW_SHA256_HEX_LEN + 1]; /* each file's SHA-256 */
} sw_run_file_set;
long sw_run_file_cap(void);
/* Add to fs the files of the run folder dir whose SHA-256 differs from the one sent
   (name -> sha256; NULL: every file). 0, or -1 with err. */
int sw_run_folder_collect(const char *dir, const json_t *sent, sw_run_file_set *fs, sw_err *err);
void sw_run_file_set_free(sw_run_file_set *fs);

/* Whether the store keeps runs (a database store). */
int sw_store_keeps_runs(const sw_store *s);

/* Take the lease of run_id for owner for ttl_ms, creating the run's row when absent.
   0 taken (free, expired, or owner's already); 1 held by another, with err naming the
   holder and when its lease expires; -1 a database error in err. */
int sw_store_run_lease(sw_store *s, const char *run_id, const char *owner, long ttl_ms,
                       sw_err *err);
/* Extend owner's lease by ttl_ms. 0 renewed; 1 no longer owner's (err says whose);
   -1 a database error. */
int sw_store_run_renew(sw_store *s, const char *run_id, const char *owner, long ttl_ms,
                       sw_err *err);
/* Give the lease up (best effort: an unreleased lease expires anyway). */
void sw_store_run_release(sw_store *s, const char *run_id, const char *owner);

/* Write a run through as one transaction, if owner holds its lease (renewed by ttl_ms):
   the row (pipeline, name, started_at from summary), the files given (inserted or
   replaced), and the lines of the journal text past those already stored (the stored
   journal is always a prefix of the local one). 1 when the lease is another's (err says
   whose); -1 a database error. */
int sw_store_run_save(sw_store *s, const char *run_id, const char *owner, long ttl_ms,
                      const json_t *summary, const sw_run_file *files, size_t n_files,
                      const char *journal, size_t journal_len, sw_err *err);

/* The ids of every run, newest first (a JSON array, new reference), or NULL with err. */
json_t *sw_store_run_ids(sw_store *s, sw_err *err);
/* Whether a run is stored: 1 yes, 0 no, -1 error. *journal_bytes (may be NULL) gets the
   length of its stored journal. */
int sw_store_run_exists(sw_store *s, const char *run_id, long long *journal_bytes, sw_err *err);
/* Call fn for each of a run's files (every file when name is NULL, else only that one),
   in name order; fn returns nonzero to stop with that error. 0, or -1 with err. */
typedef int (*sw_run_file_fn)(void *ud, const char *name, const char *data, size_t len,
                              sw_err *err);
int sw_store_run_files(sw_store *s, const char *run_id, const char *name, sw_run_file_fn fn,
                       void *ud, sw_err *err);
/* Set digests[name] = sha256 for every stored file of the run (as stored with it).
   0, or -1 with err. */
int sw_store_run_digests(sw_store *s, const char *run_id, json_t *digests, sw_err *err);
/* The run's stored journal as the text of journal.jsonl (malloc'd, *len), or NULL. */
char *sw_store_run_journal(sw_store *s, const char *run_id, size_t *len, sw_err *err);

#endif
