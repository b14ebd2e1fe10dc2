/*
 * request.h - a model request, reduced to what rules match on: a Chat
 * Completions request, an OpenAI Responses request or an Anthropic Messages
 * request all become the same sw_mock_req, so one scenario answers all three.
 *
 * Responses: `instructions` and system/developer items are the system text;
 * `input` is a text (one user message) or items; a `function_call_output` last
 * is a tool result (its tool found through `call_id` among the input's
 * `function_call` items). Messages: `system` is the system text; a user
 * message whose last block is a `tool_result` is a tool result (its tool found
 * through `tool_use_id`); a user message of tool results only is not the
 * "last user message" (as a `tool` message is not in chat).
 *
 * Token counts are deterministic and need no tokenizer: a text of B bytes is
 * ceil(B / 4) tokens. The prompt is every message's text (string content or
 * the text parts of a content array) plus the name and arguments of every
 * tool call in the messages; tool definitions are not counted.
 */
#ifndef SW_MOCK_REQUEST_H
#define SW_MOCK_REQUEST_H

#include <jansson.h>
#include <stdint.h>

#include "scenario.h"

typedef struct sw_mock_req {
    json_t *root; /* the parsed body; the strings below point into it unless said */
    int proto;    /* the sw_proto_id it came in */
    const char *model;
    int stream;
    int include_usage;     /* stream_options.include_usage */
    char *system;          /* system and developer messages joined by "\n" (owned; NULL: none) */
    char *user;            /* the last user message's text (owned; NULL: none) */
    int has_tools;         /* a non-empty `tools` (or legacy `functions`) */
    int last_is_tool;      /* the last message has role tool (or function) */
    const char *tool_name; /* the tool that result is for, when known */
    char *tool_result;     /* that message's text (owned) */
    int judge;
    uint64_t prompt_bytes;
    int64_t max_tokens; /* max_completion_tokens, max_tokens or max_output_tokens; -1: none */
} sw_mock_req;

/* Why a request was refused: an OpenAI-style error. */
typedef struct sw_mock_refusal {
    int status;
    const char *type; /* "invalid_request_error" */
    const char *code; /* may be NULL */
    char param[64];   /* "" when the error is about no parameter */
    char message[512];
} sw_mock_refusal;

/* Parse a request body. 0, or -1 with why (a 400) filled in. A chat completion: */
int sw_mock_req_parse(const char *body, size_t len, const sw_mock_scenario *sc, sw_mock_req *out,
                      sw_mock_refusal *why);
/* A Responses API request (POST /v1/responses). */
int sw_mock_req_parse_responses(const char *body, size_t len, const sw_mock_scenario *sc,
                                sw_mock_req *out, sw_mock_refusal *why);
/* An Anthropic Messages request (POST /v1/messages); `max_tokens` is required, as there. */
int sw_mock_req_parse_messages(const char *body, size_t len, const sw_mock_scenario *sc,
                               sw_mock_req *out, sw_mock_refusal *why);
void sw_mock_req_free(sw_mock_req *req);

/* ceil(bytes / 4) */
int64_t sw_mock_tokens(uint64_t bytes);

/* A request is a judge call when a system message contains one of the
   scenario's judge markers (case-insensitive; default "judge", "grader",
   "grading"), or when the model name contains "judge". */
int sw_mock_is_judge(const sw_mock_scenario *sc, const char *model, const char *system);

/* The first rule that fits (or the fallback); caps receives the capture
   groups of the rule's user and system regexes (caller frees both). */
const sw_mock_rule *sw_mock_select(const sw_mock_scenario *sc, const sw_mock_req *req,
                                   char ***user_caps, char ***system_caps);

/* The product of the scales of every modifier that matches req (1 and 1
   when none does). */
void sw_mock_scales(const sw_mock_scenario *sc, const sw_mock_req *req, double *latency_scale,
                    double *usage_scale);

#endif
