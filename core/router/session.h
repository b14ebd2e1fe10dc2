/*
 * session.h - which conversation a request belongs to.
 *
 * The session key comes from, in this order: a configured request header, a
 * cookie, then JSON body fields (by default `user`, then `metadata.session_id`).
 * A request with none gets a generated id, which the router returns in the
 * x-slipway-session header and a cookie so the client can send it back.
 * Keys from headers and cookies are visible ASCII; keys from the body may be
 * any text without control characters; all are at most SW_SESSION_MAX bytes.
 */
#ifndef SW_ROUTER_SESSION_H
#define SW_ROUTER_SESSION_H

#include <stddef.h>

#include "base/util.h"
#include "route.h"

#define SW_SESSION_MAX 256

typedef struct sw_session_cfg {
    char *header;       /* lowercased; NULL: none */
    char *cookie;       /* NULL: none */
    char **body_fields; /* dotted paths */
    size_t n_body_fields;
} sw_session_cfg;

typedef enum sw_session_source {
    SW_SESSION_HEADER = 0,
    SW_SESSION_COOKIE,
    SW_SESSION_BODY,
    SW_SESSION_GENERATED
} sw_session_source;

const char *sw_session_source_name(sw_session_source s);

/* The defaults: header x-slipway-session, cookie slipway_session, body user then
   metadata.session_id. */
void sw_session_cfg_default(sw_session_cfg *c);
void sw_session_cfg_copy(sw_session_cfg *dst, const sw_session_cfg *src);
void sw_session_cfg_free(sw_session_cfg *c);

/* The value of cookie `name` in a Cookie header's text, copied into out (NUL-terminated,
   at most outsize-1 bytes). Returns 0 when found, -1 otherwise. */
int sw_cookie_value(const char *cookie_header, const char *name, char *out, size_t outsize);

/* The session key of a request (malloc'd), and where it came from. `a` gives the
   headers (the Cookie header included) and the parsed body (may be NULL); after the
   configured body fields come the protocol's own (proto_fields, NULL-terminated, may be
   NULL: e.g. Anthropic's metadata.user_id). A key that is present but unusable is an
   error (NULL with err), not replaced. */
char *sw_session_key(const sw_session_cfg *c, const char *const *proto_fields, const sw_attrs *a,
                     sw_session_source *src, sw_err *err);
/* A new random id: 32 hex digits. */
void sw_session_generate(char out[33]);
/* The key as a header value: bytes outside visible ASCII and '%' percent-encoded. Caller frees. */
char *sw_session_header_value(const char *key);

#endif
