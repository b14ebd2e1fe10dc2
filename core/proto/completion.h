/*
 * completion.h - what a model's answer said: usage, text and tool calls, read
 * from a whole response or from its stream's events. The readers of Chat
 * Completions are here; proto.h has the table that picks the reader of each
 * protocol (responses.c, messages.c fill the same struct).
 *
 * Text and tool calls are kept only when `collect` is set (for shadow pairs);
 * usage, the tool call count and the response id always. sw_completion_free
 * releases it.
 */
#ifndef SW_PROTO_COMPLETION_H
#define SW_PROTO_COMPLETION_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"

typedef struct sw_completion {
    int collect;
    int has_usage;
    uint32_t tokens_in, tokens_out, cached_in; /* tokens_in includes the cached ones */
    uint32_t tool_calls;
    sw_buf text;
    json_t *tools;     /* collect only: [{"name", "arguments"}] */
    char *response_id; /* Responses: the answer's id, which a next request may continue */
} sw_completion;

/* A token count read from JSON: 0 when absent, not an integer or negative; capped at
   UINT32_MAX. */
uint32_t sw_completion_u32(const json_t *j);
void sw_completion_init(sw_completion *c, int collect);
void sw_completion_free(sw_completion *c);
/* A non-streaming response body. */
void sw_completion_response(sw_completion *c, const json_t *resp);
/* One streamed chunk (the JSON of an event's data). */
void sw_completion_chunk(sw_completion *c, const json_t *chunk);
/* Whether a chunk's data text has a "usage" object (not null) or tool calls: the chunks
   the router parses when it does not collect. */
int sw_chunk_needed(const char *data);
/* Whether a chunk carries only usage (no choices): the one include_usage adds. */
int sw_chunk_usage_only(const json_t *chunk);
/* Tool calls of a completion as [{"name", "arguments"}] (collect only; new reference). */
json_t *sw_completion_tools(const sw_completion *c);

/* Append to a collected tool call's arguments (the last call when at is out of range). */
void sw_completion_tool_append(sw_completion *c, size_t at, const char *args, size_t len);
/* Set the response id (copied; a later one replaces it). */
void sw_completion_set_id(sw_completion *c, const char *id);

#endif
