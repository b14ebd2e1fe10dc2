/*
 * store_impl.h - what the store's modules share; not part of the public API
 * (slipway/store.h).
 *
 * The store is one set of rules (release ids, channel compare-and-swap, the
 * history, rollback, tags, diffs: store.c, channels.c, release.c) over one of
 * two backends that keep the data: a folder (folder.c) or a PostgreSQL
 * database (pg.c). A backend only stores and loads; it decides nothing.
 */
#ifndef SW_STORE_STORE_IMPL_H
#define SW_STORE_STORE_IMPL_H

#include <jansson.h>

#include "base/util.h"
#include "bundle.h"
#include "slipway/store.h"

#define SW_RELEASE_ID_LEN  12
#define SW_CHANNELS_FORMAT 1

/* A change to one agent's channels document ({"stable", "candidate", "tags",
   "history"}), made in place. Sets *dirty when it changed anything. */
typedef sw_store_status (*sw_channel_fn)(sw_store *s, json_t *ch, void *ud, int *dirty,
                                         sw_store_error *err);

/* One file of a release, as stored; nonzero stops the walk. */
typedef int (*sw_file_fn)(const char *path, const char *data, size_t len, void *ud);

typedef struct sw_store_backend {
    const char *name; /* "folder", "postgres" */
    void (*close)(sw_store *s);
    /* Append the agents with releases or channels, sorted, to names. */
    int (*agents)(sw_store *s, json_t *names, sw_err *err);
    /* Append the ids of an agent's releases, sorted, to ids (none: nothing appended). */
    int (*release_ids)(sw_store *s, const char *agent, json_t *ids, sw_err *err);
    /* A stored manifest (new reference), or NULL with err (absent: *missing=1). */
    json_t *(*load_manifest)(sw_store *s, const char *agent, const char *id, int *missing,
                             sw_err *err);
    /* One file of a release, as stored (malloc'd), or NULL with err. */
    char *(*load_file)(sw_store *s, const char *agent, const char *id, const char *path,
                       size_t *len, sw_err *err);
    /* Every file of a release, as stored, to fn in path order, in one read (NULL: the
       caller reads them one by one with load_file). 0, or -1 with err. */
    int (*each_file)(sw_store *s, const char *agent, const char *id, sw_file_fn fn, void *ud,
                     sw_err *err);
    /* Store a release whole or not at all: the bundle's files and manifest_text (the
       canonical manifest with its id and record). *existed when that id was already
       stored with the same digest; another digest is an error. */
    int (*put)(sw_store *s, const sw_bundle *b, const char *agent, const char *id,
               const char *manifest_text, const char *digest, int *existed, sw_err *err);
    /* A folder holding the release's files and manifest.json (malloc'd path). */
    char *(*release_dir)(sw_store *s, const char *agent, const char *id, int *missing, sw_err *err);
    /* The channels document of an agent (new reference; the empty form when absent). */
    json_t *(*load_channels)(sw_store *s, const char *agent, sw_err *err);
    /* Run fn on the agent's channels document as one change: writers of the agent are
       excluded from load to save, and the document is saved when fn returns OK with
       *dirty set. Only appended history entries and new tags are saved: the history
       is append-only and tags do not move. */
    sw_store_status (*change_channels)(sw_store *s, const char *agent, sw_channel_fn fn, void *ud,
                                       sw_store_error *err);
} sw_store_backend;

struct sw_store {
    const sw_store_backend *backend;
    char *location;       /* what was opened: the state folder, or the URL as given */
    char *root;           /* the folder backend's <state>/releases; the cache for postgres */
    char *state_dir;      /* the folder backend's state folder */
    long lock_timeout_ms; /* how long a writer waits for another to finish */
    struct sw_pg_store *pg;
};

extern const sw_store_backend sw_folder_backend;
extern const sw_store_backend sw_pg_backend;

/* Open a backend on s (location and lock_timeout_ms set); 0, or -1 with err. */
int sw_folder_open(sw_store *s, sw_store_error *err);
int sw_pg_open(sw_store *s, sw_store_error *err);
/* A postgres:// or postgresql:// URL (else a folder). */
int sw_store_location_is_url(const char *location);

/* Fill err (may be NULL) and return st. */
sw_store_status sw_store_fail(sw_store_error *err, sw_store_status st, const char *fmt, ...)
    SW_PRINTF(3, 4);

/* The folder backend's writer lock: wait at most lock_timeout_ms for
   releases/<agent>/.lock (created with the folder). Returns the descriptor to
   pass to sw_store_unlock, or -1 with err. */
int sw_store_lock(sw_store *s, const char *agent, sw_err *err);
void sw_store_unlock(int fd);
/* Tests shorten the wait (both backends). */
void sw_store_set_lock_timeout(sw_store *s, long ms);
/* The message of a writer that gave up waiting, the same on both backends. */
int sw_store_locked_error(sw_err *err, const char *agent, long waited_ms, const char *what);

/* The folder backend's <root>/<agent>[/<id>] (malloc'd). */
char *sw_store_agent_dir(const sw_store *s, const char *agent);
char *sw_store_id_dir(const sw_store *s, const char *agent, const char *id);
int sw_release_id_valid(const char *id);

/* The manifest's content digest: SHA-256 hex of the canonical JSON of every key
   but the release record (id, digest, created_at, created_by, run_id). */
int sw_manifest_digest(const json_t *manifest, char digest[SW_SHA256_HEX_LEN + 1], sw_err *err);
/* Parse manifest text (new reference), or NULL with err naming where. */
json_t *sw_manifest_parse(const char *text, size_t len, const char *where, sw_err *err);
/* Load a stored manifest (new reference), or NULL with err (absent -> *missing=1). */
json_t *sw_store_load_manifest(sw_store *s, const char *agent, const char *id, int *missing,
                               sw_err *err);
/* Store a release: the bundle's files and the complete manifest (with id and
   record), excluding other writers of the agent. *existed is set when that id
   was already there (with the same digest; another digest is an error). */
int sw_store_put(sw_store *s, const sw_bundle *b, const json_t *manifest, int *existed,
                 sw_err *err);

/* The channels document of an agent (new reference; the empty form when absent). */
json_t *sw_channels_load(sw_store *s, const char *agent, sw_err *err);
json_t *sw_channels_empty(const char *agent);
/* Whether a channels document has the parts every reader relies on. */
int sw_channels_valid(const json_t *ch);
/* The user recorded for changes: info->by, $SLIPWAY_USER, $USER or "unknown". */
const char *sw_change_user(const sw_change_info *info);

#endif
