/*
 * release_cache.h - a local folder of releases' files keyed by manifest digest, for
 * backends that keep releases elsewhere (PostgreSQL): callers of sw_store_release_dir
 * get a folder laid out like the folder backend's release (manifest.json and the
 * bundle's files).
 *
 * An entry is <cache>/<digest>/: the digest covers every byte of content, agent name
 * included, so an entry never changes and any number of stores, processes and state
 * folders may share one cache. Entries are written to a temporary folder and renamed
 * into place, so a reader sees a whole entry or none.
 */
#ifndef SW_STORE_RELEASE_CACHE_H
#define SW_STORE_RELEASE_CACHE_H

#include <stddef.h>

#include "base/util.h"

typedef struct sw_cache_file {
    const char *path; /* relative, '/'-separated */
    const char *sha256;
    const char *data;
    size_t len;
} sw_cache_file;

/* The cache folder: $SLIPWAY_STORE_CACHE, else $XDG_CACHE_HOME/slipway/releases, else
   $HOME/.cache/slipway/releases (malloc'd), or NULL with err when none is known. */
char *sw_release_cache_default(sw_err *err);
/* <cache>/<digest> when that entry is whole (malloc'd), else NULL. */
char *sw_release_cache_lookup(const char *cache, const char *digest);
/* Write the entry for digest (each file checked against its SHA-256, paths that
   leave the folder refused) and return its folder (malloc'd), or NULL with err. */
char *sw_release_cache_fill(const char *cache, const char *digest, const char *manifest_text,
                            const sw_cache_file *files, size_t n_files, sw_err *err);

#endif
