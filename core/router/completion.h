/*
 * completion.h - what a chat completion said: usage, text and tool calls,
 * read from a whole response or from its stream's chunks.
 *
 * Text and tool calls are kept only when `collect` is set (for shadow pairs);
 * usage and the tool call count always. sw_completion_free releases it.
 */
#ifndef SW_ROUTER_COMPLETION_H
#define SW_ROUTER_COMPLETION_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"

typedef struct sw_completion {
    int collect;
    int has_usage;
    uint32_t tokens_in, tokens_out, cached_in;
    uint32_t tool_calls;
    sw_buf text;
    json_t *tools; /* collect only: [{"name", "arguments"}] */
} sw_completion;

void sw_completion_init(sw_completion *c, int collect);
void sw_completion_free(sw_completion *c);
/* A non-streaming response body. */
void sw_completion_response(sw_completion *c, const json_t *resp);
/* One streamed chunk (the JSON of an event's data). */
void sw_completion_chunk(sw_completion *c, const json_t *chunk);
/* Whether a chunk carries only usage (no choices): the one include_usage adds. */
int sw_chunk_usage_only(const json_t *chunk);
/* Tool calls of a completion as [{"name", "arguments"}] (collect only; new reference). */
json_t *sw_completion_tools(const sw_completion *c);

#endif
