/*
 * messages.c - reading Anthropic Messages: a `message` object, and the events
 * of its stream.
 *
 * Anthropic counts input in three parts: `input_tokens` (not cached),
 * `cache_read_input_tokens` and `cache_creation_input_tokens`; Slipway's
 * tokens_in is their sum and cached_in the cache reads, so cost is priced the
 * same way for every protocol. A stream gives the input usage in
 * `message_start` and the output count, cumulative, in `message_delta`. Its
 * content blocks come one after the other (never interleaved), so a tool
 * call's `input_json_delta` pieces belong to the last tool_use block started.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/readers.h"

static uint32_t sum(uint32_t a, uint32_t b)
{
    return a > 0xffffffffu - b ? 0xffffffffu : a + b;
}

static void usage(sw_completion *c, const json_t *u, int input)
{
    if (!json_is_object(u))
        return;
    c->has_usage = 1;
    if (input) {
        c->cached_in = sw_completion_u32(json_object_get(u, "cache_read_input_tokens"));
        c->tokens_in = sum(sum(sw_completion_u32(json_object_get(u, "input_tokens")), c->cached_in),
                           sw_completion_u32(json_object_get(u, "cache_creation_input_tokens")));
    }
    if (json_object_get(u, "output_tokens"))
        c->tokens_out = sw_completion_u32(json_object_get(u, "output_tokens"));
}

/* A tool_use block; its input as compact JSON text when whole (a response), or the
   empty text a stream's deltas then add to. */
static void add_tool(sw_completion *c, const json_t *block, int whole)
{
    c->tool_calls++;
    if (!c->collect)
        return;
    const char *name = json_string_value(json_object_get(block, "name"));
    const json_t *input = json_object_get(block, "input");
    char *args = whole && input ? json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_array_append_new(
        c->tools, json_pack("{s:s, s:s}", "name", name ? name : "", "arguments", args ? args : ""));
    free(args);
}

static int is_type(const json_t *j, const char *type)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    return t && strcmp(t, type) == 0;
}

void sw_messages_read(sw_completion *c, const json_t *msg)
{
    if (!json_is_object(msg))
        return;
    usage(c, json_object_get(msg, "usage"), 1);
    size_t i;
    json_t *block;
    json_array_foreach(json_object_get(msg, "content"), i, block)
    {
        if (is_type(block, "tool_use")) {
            add_tool(c, block, 1);
        } else if (is_type(block, "text") && c->collect) {
            const json_t *text = json_object_get(block, "text");
            if (json_is_string(text))
                sw_buf_append(&c->text, json_string_value(text), json_string_length(text));
        }
    }
}

void sw_messages_event(sw_completion *c, const char *name, const json_t *data)
{
    if (!name)
        name = json_string_value(json_object_get(data, "type"));
    if (!name)
        return;
    if (strcmp(name, "message_start") == 0) {
        usage(c, json_object_get(json_object_get(data, "message"), "usage"), 1);
    } else if (strcmp(name, "message_delta") == 0) {
        /* Its usage is cumulative, and may restate the input (a translated stream's does). */
        const json_t *u = json_object_get(data, "usage");
        usage(c, u, json_object_get(u, "input_tokens") != NULL);
    } else if (strcmp(name, "content_block_start") == 0) {
        const json_t *block = json_object_get(data, "content_block");
        if (is_type(block, "tool_use"))
            add_tool(c, block, 0);
    } else if (strcmp(name, "content_block_delta") == 0 && c->collect) {
        const json_t *delta = json_object_get(data, "delta");
        if (is_type(delta, "text_delta")) {
            const json_t *text = json_object_get(delta, "text");
            if (json_is_string(text))
                sw_buf_append(&c->text, json_string_value(text), json_string_length(text));
        } else if (is_type(delta, "input_json_delta")) {
            const json_t *part = json_object_get(delta, "partial_json");
            if (json_is_string(part))
                sw_completion_tool_append(c, (size_t)-1, json_string_value(part),
                                          json_string_length(part));
        }
    }
}

/* The deltas, most of a stream, are passed on unparsed; a block's start is parsed (one per
   block) to count tool calls. */
int sw_messages_needed(const char *name, const char *data)
{
    (void)data;
    return !name || strcmp(name, "message_start") == 0 || strcmp(name, "message_delta") == 0 ||
           strcmp(name, "content_block_start") == 0;
}

int sw_messages_first_token(const char *name)
{
    return name && strcmp(name, "content_block_delta") == 0;
}
