/*
 * target.h - what is evaluated, and how one case becomes requests.
 *
 * model: the release applied as the router's gateway mode applies it (its
 *   system prompt, pinned model, tool definitions and parameters, through
 *   sw_proto_apply_release), in the protocol its provider speaks: Chat
 *   Completions (openai), the Responses API (openai-responses) or Anthropic
 *   Messages (anthropic); by default each release's model.provider decides
 *   (sw_proto_of_provider: anthropic is Messages, any other Chat Completions).
 *   The agent loop, the same in each: the model answers; when it calls tools
 *   (tool_calls; function_call items; tool_use blocks), each call gets the
 *   case's canned result (tool_results[name]: a value, or a list taken in
 *   turn), sent back in the protocol's terms (tool messages;
 *   function_call_output items; tool_result blocks), and the model is asked
 *   again, up to max_steps model calls. A call with no canned result gets
 *   {"error": "no canned result for tool NAME"} and is noted. Usage, text and
 *   tool calls are read by core/proto's readers; the finish reason is said in
 *   Chat Completions' words (stop, length, tool_calls) whatever the protocol,
 *   so the same assertions hold for every one.
 *
 * http: any agent service. A JSON body template whose strings may hold
 *   {{input}}, {{case_id}}, {{release_id}}, {{sample}} and the case's vars
 *   ({{name}}); a string that is exactly "{{messages}}", "{{vars}}" or
 *   "{{tool_results}}" becomes that JSON value. The answer, tool calls,
 *   finish reason and usage are read from the response by dotted paths
 *   ("output.text", "choices.0.message.content"). The release id goes in a
 *   header (X-Slipway-Release by default). One request per case: the service
 *   runs its own loop.
 *
 * The API key, when given, is sent as "Authorization: Bearer" (Messages:
 * "x-api-key", with "anthropic-version") and appears nowhere else: not in cache
 * keys, logs or reports.
 *
 * Ownership: ev_target_init fills a target released with ev_target_clear;
 * a conversation is released with ev_convo_clear. Strings given are copied.
 */
#ifndef EV_TARGET_H
#define EV_TARGET_H

#include "common.h"
#include "dataset.h"
#include "proto/proto.h"
#include "scheduler.h"

typedef enum ev_target_kind { EV_TARGET_MODEL = 0, EV_TARGET_HTTP } ev_target_kind;

/* Where one protocol is called, and the header that carries its key. */
typedef struct ev_endpoint {
    char *url;  /* base_url + the protocol's path ("/chat/completions", "/responses", ...) */
    char *auth; /* "Authorization: Bearer KEY", "x-api-key: KEY" or NULL (a secret) */
    char *key;  /* the API key alone, to scrub it from error texts; may be NULL */
} ev_endpoint;

typedef struct ev_target_opts {
    ev_target_kind kind;
    int proto; /* model: SW_PROTO_* for every release, or -1: each release's provider decides */
    const char *base_url, *api_key;
    /* Messages' own, when it is called elsewhere than base_url (NULL: base_url, api_key). */
    const char *anthropic_base_url, *anthropic_api_key;
    const char *anthropic_version; /* NULL: 2023-06-01 */
    int max_steps;
    const char *http_json; /* the `http` parameter (http only) */
} ev_target_opts;

typedef struct ev_http_cfg {
    char *url;
    json_t *headers;                                   /* object: name -> template text */
    json_t *body;                                      /* template */
    char *answer, *tool_calls, *finish_reason, *usage; /* dotted paths; NULL: not read */
    char *release_header;
} ev_http_cfg;

typedef struct ev_target {
    ev_target_kind kind;
    int proto;                      /* model: as in ev_target_opts */
    ev_endpoint ep[SW_PROTO_COUNT]; /* model: each protocol's; http: ep[0] is the service */
    char *anthropic_version;        /* the header line */
    int max_steps;
    int keyed; /* compute cache keys (only when a cache is used) */
    ev_http_cfg http;
} ev_target;

int ev_target_init(ev_target *t, const ev_target_opts *o, sw_err *err);
/* The protocol release rel is called in by target t. */
sw_proto_id ev_target_proto(const ev_target *t, const ev_release *rel);
/* Whether rel can be called by t, checked before any case runs: -1 and err naming the release
   and the field when not (a parameter its protocol has no name for; Messages without
   max_tokens). */
int ev_target_check(const ev_target *t, const ev_release *rel, sw_err *err);
void ev_target_clear(ev_target *t);

#define EV_MAX_HEADERS 16

/* One sample of one case against one release, step by step. */
typedef struct ev_convo {
    const ev_target *t;
    const ev_release *rel;
    const ev_case *c;
    int sample;
    sw_proto_id proto;     /* model: the protocol of this release */
    const ev_endpoint *ep; /* where requests go */
    json_t *messages;      /* model: the whole conversation so far, in the protocol's terms */
    json_t *fixed;         /* model: request members the case sets outside it (Messages: system) */
    json_t *used;          /* model: how many results each tool has consumed */
    ev_output out;
    int64_t est_tokens; /* of the request in flight */
    int all_replayed;
    char *hdr[EV_MAX_HEADERS]; /* the request's headers, owned; NULL-terminated */
    size_t n_hdr;
} ev_convo;

void ev_convo_init(ev_convo *cv, const ev_target *t, const ev_release *rel, const ev_case *c,
                   int sample);
void ev_convo_clear(ev_convo *cv);

/* The next request. Fills spec (url, headers, body, cache key in key,
   est_tokens); the headers are the conversation's (valid until the next call).
   -1 with err when it cannot be built (the case is then an ERROR). */
int ev_convo_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
/* Take a response: 1 when another request is needed, 0 when the output is
   final (cv->out.error set when it is an ERROR). */
int ev_convo_take(ev_convo *cv, const ev_response *r);

/* Shared by the targets. */
int ev_model_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
int ev_model_take(ev_convo *cv, const ev_response *r);
/* Chat Completions' body, from the release's canonical fragments (target_openai.c). */
int ev_openai_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
/* The largest answer the release's parameters allow (max_completion_tokens, max_tokens), or 0. */
int64_t ev_release_max_tokens(const ev_release *rel);
int ev_http_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
int ev_http_take(ev_convo *cv, const ev_response *r);
int ev_http_cfg_parse(ev_http_cfg *h, const char *json_text, sw_err *err);
void ev_http_cfg_clear(ev_http_cfg *h);
/* The value at a dotted path ("a.0.b") in j, or NULL. */
const json_t *ev_json_path(const json_t *j, const char *path);
/* Account what a protocol reader read (nothing when it found no usage). */
void ev_output_add_completion(ev_output *o, const sw_completion *c, const ev_pricing *p);
/* Account a usage object ({prompt_tokens, completion_tokens,
   prompt_tokens_details.cached_tokens} or {input_tokens, output_tokens}). */
void ev_output_add_usage(ev_output *o, const json_t *usage, const ev_pricing *p);
/* An HTTP status that is not 2xx as an error for the output, with an excerpt of the body. */
void ev_output_http_error(ev_output *o, const ev_response *r, const char *secret);

#endif
