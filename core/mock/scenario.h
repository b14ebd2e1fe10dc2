/*
 * scenario.h - the mock server's scenario: models, rules, latencies, faults.
 *
 * Parsed from YAML (see docs/mock.md) and validated once; every problem is a
 * diagnostic at its file:line:col. After parsing every rule is complete:
 * what a rule leaves out was filled in from `defaults`, so the server never
 * looks at the defaults again. The scenario is immutable and shared by the
 * server's threads.
 */
#ifndef SW_MOCK_SCENARIO_H
#define SW_MOCK_SCENARIO_H

#include <jansson.h>
#include <regex.h>
#include <stdint.h>

#include "base/diag.h"
#include "slipway/mock.h"

#define SW_MOCK_MAX_GROUPS 10 /* {{user.0}} .. {{user.9}} */

typedef enum sw_mock_lat_kind {
    SW_MOCK_LAT_FIXED,
    SW_MOCK_LAT_UNIFORM,
    SW_MOCK_LAT_LOGNORMAL
} sw_mock_lat_kind;

/* A latency distribution, in milliseconds. FIXED: a; UNIFORM: [a, b];
   LOGNORMAL: median a, sigma b, capped at max. */
typedef struct sw_mock_latency {
    sw_mock_lat_kind kind;
    double a, b, max;
} sw_mock_latency;

typedef enum sw_mock_fault_kind {
    SW_MOCK_FAULT_429,
    SW_MOCK_FAULT_500,
    SW_MOCK_FAULT_503,
    SW_MOCK_FAULT_DROP,  /* close the connection without a response */
    SW_MOCK_FAULT_STALL, /* streams: some chunks, then silence; others: no response */
    SW_MOCK_FAULT_KINDS
} sw_mock_fault_kind;

typedef struct sw_mock_fault {
    sw_mock_fault_kind kind;
    double rate;      /* in [0, 1] */
    int retry_after;  /* seconds for the Retry-After header; -1: none */
    int64_t stall_ms; /* STALL: the connection is closed this long after the request */
    char *message;    /* the error message (NULL: a standard one) */
} sw_mock_fault;

typedef enum sw_mock_text_kind {
    SW_MOCK_TEXT_ANY,
    SW_MOCK_TEXT_SUBSTR,
    SW_MOCK_TEXT_REGEX
} sw_mock_text_kind;

/* A condition on a text: a substring, or a /regex/ with optional flag i. */
typedef struct sw_mock_textmatch {
    sw_mock_text_kind kind;
    char *text; /* SUBSTR: the substring; REGEX: the pattern as written */
    regex_t re;
    size_t groups; /* REGEX: capture groups */
} sw_mock_textmatch;

/* Tri-state conditions: -1 means "not asked". */
typedef struct sw_mock_match {
    char *model; /* exact name or glob (fnmatch); NULL: any */
    sw_mock_textmatch system, user;
    int tools;       /* tools offered */
    int tool_result; /* the last message is a tool result */
    char *tool_name; /* ... of this tool (NULL: any) */
    int judge;       /* an LLM-as-judge call (see sw_mock_is_judge) */
} sw_mock_match;

typedef struct sw_mock_toolcall {
    char *name;
    json_t *arguments; /* an object whose strings are templates */
} sw_mock_toolcall;

/* The answer: text and/or tool calls, or a JSON value as the content. Every
   string in it is a template (see tmpl.h). */
typedef struct sw_mock_respond {
    char *text;
    sw_mock_toolcall *calls;
    size_t n_calls;
    json_t *json;
} sw_mock_respond;

typedef struct sw_mock_rule {
    char *name;
    size_t index; /* 0-based position; the fallback is n_rules */
    int line, col;
    sw_mock_match match;
    sw_mock_respond respond;
    sw_mock_latency latency;
    sw_mock_latency ttft; /* streams: time to the first chunk */
    int has_ttft;         /* else the first chunk comes at the latency */
    sw_mock_fault *faults;
    size_t n_faults;
    int64_t prompt_tokens, completion_tokens; /* fixed usage; -1: counted from text */
    int chunk_bytes;                          /* streamed content per chunk */
} sw_mock_rule;

/* A modifier applies on top of whichever rule answers a request it matches
   (rules are first-match; modifiers are all-match): that rule's latency and
   time to first chunk, and its usage, are multiplied by the scales. Several
   modifiers that match compose by product. So one candidate can be made
   slower or costlier without copying every rule it goes through. */
typedef struct sw_mock_modifier {
    char *name;
    int line, col;
    sw_mock_match match;
    double latency_scale; /* 1: unchanged */
    double usage_scale;   /* prompt and completion tokens; 1: unchanged */
} sw_mock_modifier;

struct sw_mock_scenario {
    char *file;
    uint64_t seed;
    char **models; /* named by `models` and by exact `match.model`s, then the default */
    size_t n_models;
    char **judge_markers;
    size_t n_judge_markers;
    sw_mock_rule *rules;
    size_t n_rules;
    sw_mock_rule fallback; /* answers what no rule matched: `defaults` */
    sw_mock_modifier *modifiers;
    size_t n_modifiers;
};

#define SW_MOCK_DEFAULT_MODEL "slipway-mock"
#define SW_MOCK_DEFAULT_TEXT  "This is a mock response."

/* Every rule, then the fallback: index i in [0, n_rules]. */
const sw_mock_rule *sw_mock_scenario_rule(const sw_mock_scenario *sc, size_t i);

/* Whether text fits m; fills caps[0..groups] (malloc'd, caller frees with
   sw_mock_caps_free) for a regex. A NULL text never fits a condition. */
int sw_mock_text_matches(const sw_mock_textmatch *m, const char *text, char **caps);
void sw_mock_caps_free(char **caps);

const char *sw_mock_fault_name(sw_mock_fault_kind kind); /* "429", ..., "drop", "stall" */

#endif
