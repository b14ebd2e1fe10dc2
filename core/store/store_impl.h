/*
 * store_impl.h - what the store's modules (store.c, channels.c, release.c)
 * share; not part of the public API (slipway/store.h).
 */
#ifndef SW_STORE_STORE_IMPL_H
#define SW_STORE_STORE_IMPL_H

#include <jansson.h>

#include "base/util.h"
#include "bundle.h"
#include "slipway/store.h"

#define SW_RELEASE_ID_LEN  12
#define SW_CHANNELS_FORMAT 1

struct sw_store {
    char *root; /* <state>/releases */
    char *state_dir;
    long lock_timeout_ms; /* how long a writer waits for another to finish */
};

/* Fill err (may be NULL) and return st. */
sw_store_status sw_store_fail(sw_store_error *err, sw_store_status st, const char *fmt, ...)
    SW_PRINTF(3, 4);

/* Wait at most lock_timeout_ms for releases/<agent>/.lock (created with the folder).
   Returns the descriptor to pass to sw_store_unlock, or -1 with err. */
int sw_store_lock(sw_store *s, const char *agent, sw_err *err);
void sw_store_unlock(int fd);
/* Tests shorten the wait. */
void sw_store_set_lock_timeout(sw_store *s, long ms);

/* <root>/<agent>[/<id>] (malloc'd). */
char *sw_store_agent_dir(const sw_store *s, const char *agent);
char *sw_store_id_dir(const sw_store *s, const char *agent, const char *id);
int sw_release_id_valid(const char *id);

/* The manifest's content digest: SHA-256 hex of the canonical JSON of every key
   but the release record (id, digest, created_at, created_by, run_id). */
int sw_manifest_digest(const json_t *manifest, char digest[SW_SHA256_HEX_LEN + 1], sw_err *err);
/* Load a stored manifest (new reference), or NULL with err (ENOENT -> *missing=1). */
json_t *sw_store_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                               sw_err *err);
/* Store a release: the bundle's files and the complete manifest (with id and
   record), under the agent's lock. *existed is set when that id was already
   there (with the same digest; another digest is an error). */
int sw_store_put(sw_store *s, const sw_bundle *b, const json_t *manifest, int *existed,
                 sw_err *err);

/* channels.json of an agent (new reference; the empty form when absent). */
json_t *sw_channels_load(sw_store *s, const char *agent, sw_err *err);
/* The user recorded for changes: info->by, $SLIPWAY_USER, $USER or "unknown". */
const char *sw_change_user(const sw_change_info *info);

#endif
