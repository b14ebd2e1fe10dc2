/*
 * cache.h - record and replay of model responses.
 *
 * A response is keyed by the SHA-256 of the canonical JSON (RFC 8785 as
 * core/store/canon.h writes it) of {"v": 1, "kind", "request", "sample"}:
 * the request body as sent (model, messages, tools, parameters), never the
 * URL, headers or API key, and the sample index, so repeat: k records k
 * answers. The same request gives the same key on any machine, whatever
 * the order of its keys or the port of the server.
 *
 * Each entry is a file <dir>/<key[0..1]>/<key>.json:
 *   {"key", "status", "latency_ms", "body"}  (body: the response text).
 * Entries are written to a temporary file and renamed (no fsync: a cache
 * entry lost in a crash is recorded again). Only 2xx answers are recorded.
 *
 * Modes: off; record (every request goes out, answers are stored);
 * replay (nothing goes out; a missing entry is an error).
 * Ownership: ev_cache_open's result is freed with ev_cache_close.
 */
#ifndef EV_CACHE_H
#define EV_CACHE_H

#include <jansson.h>

#include "base/util.h"
#include "store/sha256.h"

typedef enum ev_cache_mode { EV_CACHE_OFF = 0, EV_CACHE_RECORD, EV_CACHE_REPLAY } ev_cache_mode;

typedef struct ev_cache ev_cache;

int ev_cache_mode_parse(const char *text, ev_cache_mode *out); /* "off", "record", "replay" */
const char *ev_cache_mode_name(ev_cache_mode m);

/* The key of a request; -1 with err when it cannot be written canonically. */
int ev_cache_key(const char *kind, const json_t *request, int sample,
                 char out[SW_SHA256_HEX_LEN + 1], sw_err *err);

/* The same key from the request's canonical text (kind: [a-z]+), without
   writing it again: the wrapper's members sort as kind, request, sample, v. */
void ev_cache_key_canon(const char *kind, const char *request_canon, int sample,
                        char out[SW_SHA256_HEX_LEN + 1]);

ev_cache *ev_cache_open(const char *dir, ev_cache_mode mode, sw_err *err);
void ev_cache_close(ev_cache *c);
ev_cache_mode ev_cache_get_mode(const ev_cache *c);
const char *ev_cache_dir(const ev_cache *c);

/* 1 with the entry (body malloc'd), 0 when absent, -1 with err for a damaged one. */
int ev_cache_get(ev_cache *c, const char *key, long *status, char **body, size_t *len,
                 double *latency_ms, sw_err *err);
int ev_cache_put(ev_cache *c, const char *key, long status, const char *body, size_t len,
                 double latency_ms, sw_err *err);

#endif
