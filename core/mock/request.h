/*
 * request.h - a chat completion request, reduced to what rules match on.
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
    int64_t max_tokens; /* max_completion_tokens or max_tokens; -1: none */
} sw_mock_req;

/* Why a request was refused: an OpenAI-style error. */
typedef struct sw_mock_refusal {
    int status;
    const char *type; /* "invalid_request_error" */
    const char *code; /* may be NULL */
    char param[64];   /* "" when the error is about no parameter */
    char message[512];
} sw_mock_refusal;

/* Parse a request body. 0, or -1 with why (a 400) filled in. */
int sw_mock_req_parse(const char *body, size_t len, const sw_mock_scenario *sc, sw_mock_req *out,
                      sw_mock_refusal *why);
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
