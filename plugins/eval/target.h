/*
 * target.h - what is evaluated, and how one case becomes requests.
 *
 * openai: the release applied as the router's gateway mode would apply it:
 *   its system prompt, pinned model, tool definitions and parameters, sent
 *   to an OpenAI-compatible base_url (.../v1). The agent loop: the model
 *   answers; when it calls tools, each call gets the case's canned result
 *   (tool_results[name]: a value, or a list taken in turn) and the model is
 *   asked again, up to max_steps model calls. A call with no canned result
 *   gets {"error": "no canned result for tool NAME"} and is noted.
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
 * Either way the API key, when given, is sent as "Authorization: Bearer"
 * and appears nowhere else: not in cache keys, logs or reports.
 *
 * Ownership: ev_target_init fills a target released with ev_target_clear;
 * a conversation is released with ev_convo_clear. Strings given are copied.
 */
#ifndef EV_TARGET_H
#define EV_TARGET_H

#include "common.h"
#include "dataset.h"
#include "scheduler.h"

typedef enum ev_target_kind { EV_TARGET_OPENAI = 0, EV_TARGET_HTTP } ev_target_kind;

typedef struct ev_http_cfg {
    char *url;
    json_t *headers;                                   /* object: name -> template text */
    json_t *body;                                      /* template */
    char *answer, *tool_calls, *finish_reason, *usage; /* dotted paths; NULL: not read */
    char *release_header;
} ev_http_cfg;

typedef struct ev_target {
    ev_target_kind kind;
    char *url;  /* openai: base_url + "/chat/completions"; http: the service */
    char *auth; /* "Authorization: Bearer KEY" or NULL (a secret) */
    char *key;  /* the API key alone, to scrub it from error texts; may be NULL */
    int max_steps;
    int keyed; /* compute cache keys (only when a cache is used) */
    ev_http_cfg http;
} ev_target;

/* http_json: the `http` parameter (NULL unless kind is http). */
int ev_target_init(ev_target *t, ev_target_kind kind, const char *base_url, const char *api_key,
                   int max_steps, const char *http_json, sw_err *err);
void ev_target_clear(ev_target *t);

#define EV_MAX_HEADERS 16

/* One sample of one case against one release, step by step. */
typedef struct ev_convo {
    const ev_target *t;
    const ev_release *rel;
    const ev_case *c;
    int sample;
    json_t *messages; /* openai: the whole conversation so far */
    json_t *used;     /* openai: how many results each tool has consumed */
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
int ev_openai_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
int ev_openai_take(ev_convo *cv, const ev_response *r);
int ev_http_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err);
int ev_http_take(ev_convo *cv, const ev_response *r);
int ev_http_cfg_parse(ev_http_cfg *h, const char *json_text, sw_err *err);
void ev_http_cfg_clear(ev_http_cfg *h);
/* The value at a dotted path ("a.0.b") in j, or NULL. */
const json_t *ev_json_path(const json_t *j, const char *path);
/* Account a usage object ({prompt_tokens, completion_tokens,
   prompt_tokens_details.cached_tokens} or {input_tokens, output_tokens}). */
void ev_output_add_usage(ev_output *o, const json_t *usage, const ev_pricing *p);
/* An HTTP status that is not 2xx as an error for the output, with an excerpt of the body. */
void ev_output_http_error(ev_output *o, const ev_response *r, const char *secret);

#endif
