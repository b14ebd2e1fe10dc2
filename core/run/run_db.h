/*
 * run_db.h - a run written through to a database store (docs/scale-out.md).
 *
 * With a postgres:// store, the run folder stays the working copy and the database gets
 * the run's record at every checkpoint and report: its files (pipeline snapshot, run.json,
 * context.json, report.json, and report.html, junit.xml and other artifacts up to a size
 * cap, $SLIPWAY_RUN_FILE_CAP bytes, default 4 MiB) and its journal lines. A lease (an owner
 * and an expiry, $SLIPWAY_RUN_LEASE_MS, default 30 s, renewed by a heartbeat thread every
 * third of it) keeps two processes from running one run at once; every write is fenced by
 * it. With a folder store all of this is a no-op.
 */
#ifndef SW_RUN_RUN_DB_H
#define SW_RUN_RUN_DB_H

#include <jansson.h>

#include "base/util.h"
#include "slipway/slipway.h"

typedef struct sw_run_db sw_run_db;
struct sw_run;

/* Take run_id's lease in the engine's database store. NULL with *failed=0: the store is
   a folder (nothing to do). NULL with *failed=1: err says why (the database cannot be
   reached, or another process holds the lease: its owner and expiry). */
sw_run_db *sw_run_db_claim(sw_engine *e, const char *run_id, int *failed, sw_err *err);
/* Bring the run folder dir up to the database's record when the database holds more
   of the run than dir (dir absent, or its journal shorter: resumed elsewhere).
   0 (nothing to do or restored), -1 with err. */
int sw_run_db_restore(sw_run_db *db, const char *run_id, const char *dir, sw_err *err);
/* Renew the lease from a thread of its own until sw_run_db_release; a lease lost to
   another process stops the run (as a signal would). */
void sw_run_db_heartbeat(sw_run_db *db, struct sw_run *run);
/* Write the run's folder and journal through (run->db NULL: nothing). 0, or -1 with err
   naming the database. */
int sw_run_db_save(struct sw_run *run, sw_err *err);
/* Stop the heartbeat, give the lease up, close. NULL is fine. */
void sw_run_db_release(sw_run_db *db);

/* For listings on any machine: the ids of the database's runs, newest first (NULL: a
   folder store, or an error in err with *failed=1). */
json_t *sw_run_db_ids(sw_engine *e, int *failed, sw_err *err);
/* A stored run's report.json and context.json (new references or NULL) and its journal
   events. 1 found, 0 not stored (or a folder store), -1 error. */
int sw_run_db_load(sw_engine *e, const char *run_id, json_t **report, json_t **ckpt,
                   json_t **events, sw_err *err);

#endif
