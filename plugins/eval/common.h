/*
 * common.h - what every part of the eval stage shares: outcomes, a target's
 * output for one case, and a release as the openai target applies it.
 *
 * Ownership: an ev_output owns every string and JSON value in it
 * (ev_output_clear frees them); an ev_release likewise (ev_release_clear).
 */
#ifndef EV_COMMON_H
#define EV_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Three outcomes. ERROR means "not measured" (transport, timeout, a judge
   that cannot be parsed, a broken assertion): never flipped by `not-`. */
typedef enum ev_outcome { EV_PASS = 0, EV_FAIL = 1, EV_ERROR = 2 } ev_outcome;

const char *ev_outcome_name(ev_outcome o); /* "PASS", "FAIL", "ERROR" */

/* Prices per token in USD; `known` is 0 when the release gave none. */
typedef struct ev_pricing {
    int known;
    double input, output, cached_input;
} ev_pricing;

/* Cost of a call: cached prompt tokens at the cached price when there is one. */
double ev_cost(const ev_pricing *p, int64_t tokens_in, int64_t tokens_out, int64_t cached_in);
/* pricing: {"input_per_token", "output_per_token", "cached_input_per_token"}; NULL: unknown. */
int ev_pricing_parse(const json_t *pricing, ev_pricing *out, sw_err *err);

/* One tool call the agent made. */
typedef struct ev_call {
    char *id;
    char *name;
    char *arguments; /* as the model wrote them */
    json_t *args;    /* parsed, or NULL when they are not a JSON object */
} ev_call;

/* What a target produced for one sample of one case. */
typedef struct ev_output {
    char *text;          /* the final answer ("" when none) */
    char *finish_reason; /* of the last model call; NULL when unknown */
    ev_call *calls;      /* every tool call, in order, over every step */
    size_t n_calls;
    int64_t tokens_in, tokens_out, tokens_cached;
    double cost_usd;
    double latency_ms; /* sum over steps of the answering attempt's time */
    int steps;         /* model calls made */
    int max_steps_reached;
    int usage_missing;     /* a response had no usage: tokens and cost undercount */
    int cost_unknown;      /* no price table: cost_usd is 0 and means nothing */
    int replayed;          /* every response came from the cache */
    int attempts;          /* HTTP attempts, retries included (0 when replayed) */
    json_t *missing_tools; /* tools called with no canned result (array) or NULL */
    char *error;           /* set: the output could not be produced (ERROR) */
} ev_output;

void ev_output_add_call(ev_output *o, const char *id, const char *name, const char *arguments);
void ev_output_clear(ev_output *o);
/* The calls as [{"name", "arguments"}] (arguments parsed when they parse). New reference. */
json_t *ev_output_calls_json(const ev_output *o);
/* A 64-bit fingerprint of the text and the tool calls, to see an output changed. */
uint64_t ev_output_hash(const ev_output *o);

/* A release as the model target applies it. */
typedef struct ev_release {
    char *id; /* may be NULL for a manifest without one */
    char *agent;
    char *provider; /* model.provider, or NULL */
    char *model;
    char *system;         /* the system prompt text, or NULL */
    json_t *tools;        /* array of tool definitions ({"type": "function", ...}) */
    json_t *params;       /* object: temperature, max_tokens, ... as the manifest has them */
    json_t *pricing_json; /* as the manifest has it, or NULL */
    ev_pricing pricing;
    /* The request body's fixed parts as canonical JSON text, written once: every
       request of the release is these around its messages (see target_openai.c). */
    char *canon_head;   /* the members sorting before "messages", joined by ',' */
    char *canon_tail;   /* those after it */
    char *canon_system; /* the system message object, or NULL */
    /* The release as sw_proto_apply_release reads a manifest (model, prompts.system.text,
       tools[].definition, parameters), for the protocols other than Chat Completions. */
    json_t *applied;
} ev_release;

int ev_release_from_manifest(const json_t *manifest, ev_release *out, sw_err *err);
/* The request body without messages: model, tools (when any) and the release's
   parameters (tool settings dropped when there are no tools). New reference. */
json_t *ev_release_body(const ev_release *r);
/* Fill canon_head, canon_tail and canon_system (ev_release_from_manifest does). */
int ev_release_canon(ev_release *r, sw_err *err);
void ev_release_clear(ev_release *r);

/* Replace every occurrence of secret (when 4 bytes or longer) in text by "***". Malloc'd. */
char *ev_scrub(const char *text, const char *secret);

#endif
