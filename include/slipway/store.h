/*
 * slipway/store.h - the release store: immutable agent releases and the
 * channels that point at them.
 *
 * A release is everything that makes an agent version (model, prompts, tool
 * schemas, sampling parameters, the code commit) as one content-addressed,
 * immutable folder. Channels name the releases in use: `stable` (what serves
 * traffic) and `candidate` (what is being rolled out). Every channel change
 * and tag is appended to a history with who, when, why and the run id.
 *
 * Two backends keep the same data under the same rules (docs/versioning.md): a
 * state folder (the default) or a PostgreSQL database (docs/scale-out.md).
 *
 * Layout under a state folder (see docs/versioning.md):
 *   releases/<agent>/<id>/manifest.json   the manifest (canonical JSON)
 *   releases/<agent>/<id>/agent.yaml, prompts/..., tools/...   the bundle's files
 *   releases/<agent>/channels.json        stable, candidate, tags, history
 *   releases/<agent>/.lock                held (flock) by every writer
 * An id is the first 12 hex digits of the SHA-256 of the canonical manifest
 * content, so the same content gives the same id on any machine.
 *
 * Writes are atomic: a release is written to a temporary folder and renamed
 * into place; channels.json is replaced with write, fsync, rename, fsync of
 * the folder. A crash at any instant leaves the store readable, with a
 * release either absent or whole. Writers of one agent exclude each other
 * through the lock, so two pipelines cannot interleave channel changes; a
 * channel change is a compare-and-swap on the value the caller last saw.
 *
 * Ownership
 *   sw_store_open's result is closed with sw_store_close. Every char **out
 *   parameter receives malloc'd text (JSON unless said otherwise) that the
 *   caller frees with sw_free; it is set to NULL on failure. Input strings
 *   are borrowed for the call.
 *
 * Errors
 *   Functions return an sw_store_status; on anything but SW_STORE_OK the
 *   sw_store_error (which may be NULL) holds the same status and a message.
 *
 * Threading
 *   One sw_store is used by one thread at a time, and by the process that
 *   opened it (a forked child opens its own). Any number of stores, in any
 *   number of processes and machines, may work on one folder or database at
 *   once.
 */
#ifndef SLIPWAY_STORE_H
#define SLIPWAY_STORE_H

#include <stddef.h>

#include "slipway.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_store_status {
    SW_STORE_OK = 0,
    SW_STORE_ERROR,     /* I/O failure or a damaged store */
    SW_STORE_NOT_FOUND, /* no such agent, release, channel value or tag */
    SW_STORE_CONFLICT,  /* compare-and-swap lost: the channel held another value; a tag exists */
    SW_STORE_INVALID, /* bad input: a bundle that does not validate, a bad name, an ambiguous id */
    SW_STORE_REFUSED  /* policy: a floating model alias, a dirty work tree */
} sw_store_status;

typedef struct sw_store_error {
    sw_store_status status;
    char message[1024];
} sw_store_error;

typedef struct sw_store sw_store;

/* Who made a change and why, for the history. Any field may be NULL: `by`
   defaults to $SLIPWAY_USER, else $USER, else "unknown". */
typedef struct sw_change_info {
    const char *by;
    const char *reason;
    const char *run_id;
} sw_change_info;

/* Open the store at `location`: a state folder (its releases/ is created on first
   write) or a postgres:// / postgresql:// URL (libpq's conninfo). A URL may not hold
   a password: libpq reads it from $PGPASSWORD or ~/.pgpass (or $PGPASSFILE). Opening
   a database connects, creates the schema on first use and refuses a schema newer
   than this build knows; release files are read through a local content-addressed
   cache ($SLIPWAY_STORE_CACHE, else $XDG_CACHE_HOME/slipway/releases, else
   ~/.cache/slipway/releases). */
SW_API sw_store *sw_store_open(const char *location, sw_store_error *err);
SW_API void sw_store_close(sw_store *store);
/* Where releases' folders are: state_dir/releases, or the cache of a database
   store. Owned by the store. */
SW_API const char *sw_store_dir(const sw_store *store);
/* The location as opened (a folder or a URL without password), for messages. Owned
   by the store. */
SW_API const char *sw_store_location(const sw_store *store);
/* The backend's name: "folder" or "postgres". */
SW_API const char *sw_store_backend_name(const sw_store *store);

/* ---- reading ---- */

/* The agents with releases or channels, as a sorted JSON array of names. */
SW_API sw_store_status sw_store_agents(sw_store *store, char **json, sw_store_error *err);
/* The releases of an agent, oldest first, as a JSON array of summaries:
   {"id", "agent", "model", "created_at", "created_by", "run_id", "source",
    "channels": [...], "tags": [...]}. NOT_FOUND when the agent has none. */
SW_API sw_store_status sw_store_releases(sw_store *store, const char *agent, char **json,
                                         sw_store_error *err);
/* Resolve a reference to (agent, id). A reference is an id or a unique prefix of
   at least 4 hex digits (searched in every agent, or in `agent` when not NULL),
   or "AGENT:NAME" where NAME is a channel (stable, candidate), a tag or an id
   prefix. *agent_out and *id_out are malloc'd (free with sw_free). */
SW_API sw_store_status sw_store_resolve(sw_store *store, const char *agent, const char *ref,
                                        char **agent_out, char **id_out, sw_store_error *err);
/* A release's manifest.json text. */
SW_API sw_store_status sw_store_manifest(sw_store *store, const char *agent, const char *id,
                                         char **json, sw_store_error *err);
/* The folder of a release (malloc'd path). */
SW_API sw_store_status sw_store_release_dir(sw_store *store, const char *agent, const char *id,
                                            char **path, sw_store_error *err);
/* Check a release is whole: the manifest parses, hashes to its id, and every
   file listed is present with its SHA-256. ERROR with the first problem. */
SW_API sw_store_status sw_store_verify(sw_store *store, const char *agent, const char *id,
                                       sw_store_error *err);
/* channels.json of an agent: {"agent", "stable", "candidate", "tags": {name: id},
   "history": [...]}; an agent with no channel change yet gets the empty form. */
SW_API sw_store_status sw_store_channels(sw_store *store, const char *agent, char **json,
                                         sw_store_error *err);
/* One channel's release id (malloc'd), or *id = NULL when unset. */
SW_API sw_store_status sw_store_channel(sw_store *store, const char *agent, const char *channel,
                                        char **id, sw_store_error *err);

/* ---- channels ---- */

/* Point `channel` ("stable" or "candidate") at release `id` (NULL clears it),
   provided it still holds `expected` (NULL: must be unset). CONFLICT, with the
   current value in the message, when it does not; NOT_FOUND when id is not a
   release of the agent. Setting the value it already has succeeds and writes
   nothing. */
SW_API sw_store_status sw_store_set_channel(sw_store *store, const char *agent, const char *channel,
                                            const char *id, const char *expected,
                                            const sw_change_info *info, sw_store_error *err);
/* Roll back: `stable` := to_id (NULL: the release stable held before its current
   value, from the history) and `candidate` cleared, in one write, provided stable
   still holds expected_stable (NULL: skip that check). *result (may be NULL)
   receives {"agent", "from", "to", "candidate_cleared"}. */
SW_API sw_store_status sw_store_rollback(sw_store *store, const char *agent, const char *to_id,
                                         const char *expected_stable, const sw_change_info *info,
                                         char **result, sw_store_error *err);
/* Give release `id` the human-readable name `tag` ([A-Za-z0-9][A-Za-z0-9._-]*,
   not a channel name). Tags do not move: CONFLICT when the tag names another
   release; tagging the same release again succeeds. */
SW_API sw_store_status sw_store_tag(sw_store *store, const char *agent, const char *id,
                                    const char *tag, const sw_change_info *info,
                                    sw_store_error *err);

/* ---- diffs ---- */

/* What changed from release A to release B (agent_a/id_a may be NULL: from
   nothing). The diff object is described in docs/versioning.md; *text (may be
   NULL) receives a human-readable rendering. */
SW_API sw_store_status sw_store_diff(sw_store *store, const char *agent_a, const char *id_a,
                                     const char *agent_b, const char *id_b, char **json,
                                     char **text, sw_store_error *err);

/* ---- creating releases ---- */

typedef struct sw_release_options {
    const char *agent;            /* overrides agent.yaml's name; NULL to keep it */
    int allow_dirty;              /* accept a bundle in a work tree with uncommitted changes */
    int allow_floating_alias;     /* accept a floating model alias (recorded in the manifest) */
    const char *deny_models_json; /* JSON array of fnmatch patterns; NULL: [] */
    const char *vars_json;        /* JSON object of template values over agent.yaml's; NULL: {} */
    size_t max_bundle_bytes;      /* 0: 10 MiB */
    int set_candidate;            /* point `candidate` at the release (compare-and-swap) */
    sw_change_info info;          /* recorded as created_by / run_id and in the history */
} sw_release_options;

/* Validate the bundle in bundle_dir, build its manifest, store the release
   (a no-op when that content is already stored) and diff it against `stable`.
   Bundle problems go to diags with file:line:col (status INVALID; REFUSED for
   a floating alias or a dirty tree); nothing is written then. *result receives
   {"id", "agent", "model", "manifest", "previous", "changed",
    "breaking_changes", "diff", "dir", "candidate"}: previous is the stable id or
   null, changed is false when the release already existed, candidate is the
   candidate channel afterwards. Warnings (an allowed floating alias, a tool
   file agent.yaml does not list) go to diags on success too. */
SW_API sw_store_status sw_store_create_release(sw_store *store, const char *bundle_dir,
                                               const sw_release_options *opts, sw_diags *diags,
                                               char **result, sw_store_error *err);

/* ---- moving a store ---- */

/* Copy the state folder from_dir (its releases, channels with their whole history, tags
   and runs) into the database store `to` (a postgres:// URL), then read every copied
   release and run back and check it against its SHA-256. Every release of the folder
   is checked before anything is written: a damaged one (ERROR, naming it) copies
   nothing; so does a channel history in the database that is not the folder's
   (CONFLICT). What the database holds already is not copied again, so a second run
   copies nothing. *result (may be NULL) receives {"from", "to", "copied_anything",
   "releases": {"copied", "present"}, "channels": {"agents", "history_copied",
   "tags_copied"}, "runs": {"copied", "present"}, "notes": [...]}. */
SW_API sw_store_status sw_store_migrate(const char *from_dir, const char *to, char **result,
                                        sw_store_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_STORE_H */
