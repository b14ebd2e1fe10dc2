/*
 * responses.c - reading the OpenAI Responses API: a `response` object, and the
 * events of its stream.
 *
 * A stream ends with `response.completed` (or `.incomplete`, `.failed`), which
 * carries the whole response, usage included; so a stream is read as that one
 * response, and its deltas are only timed (the first `*.delta` is the first
 * token), never parsed. `response.created` gives the id early, so a stream cut
 * before its end still leaves an id the conversation can continue from.
 */
#include <string.h>

#include "proto/readers.h"

static void add_tool(sw_completion *c, const json_t *item)
{
    c->tool_calls++;
    if (!c->collect)
        return;
    const char *name = json_string_value(json_object_get(item, "name"));
    const char *args = json_string_value(json_object_get(item, "arguments"));
    json_array_append_new(
        c->tools, json_pack("{s:s, s:s}", "name", name ? name : "", "arguments", args ? args : ""));
}

void sw_responses_read(sw_completion *c, const json_t *resp)
{
    if (!json_is_object(resp))
        return;
    sw_completion_set_id(c, json_string_value(json_object_get(resp, "id")));
    const json_t *u = json_object_get(resp, "usage");
    if (json_is_object(u)) {
        c->has_usage = 1;
        c->tokens_in = sw_completion_u32(json_object_get(u, "input_tokens"));
        c->tokens_out = sw_completion_u32(json_object_get(u, "output_tokens"));
        c->cached_in = sw_completion_u32(
            json_object_get(json_object_get(u, "input_tokens_details"), "cached_tokens"));
    }
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(resp, "output"), i, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        if (!type)
            continue;
        if (strcmp(type, "function_call") == 0) {
            add_tool(c, item);
        } else if (strcmp(type, "message") == 0 && c->collect) {
            size_t k;
            json_t *part;
            json_array_foreach(json_object_get(item, "content"), k, part)
            {
                const json_t *text = json_object_get(part, "text");
                const char *pt = json_string_value(json_object_get(part, "type"));
                if (pt && strcmp(pt, "output_text") == 0 && json_is_string(text))
                    sw_buf_append(&c->text, json_string_value(text), json_string_length(text));
            }
        }
    }
}

/* The events that carry the whole response: where the stream ends. */
static int final_event(const char *name)
{
    return strcmp(name, "response.completed") == 0 || strcmp(name, "response.incomplete") == 0 ||
           strcmp(name, "response.failed") == 0;
}

void sw_responses_event(sw_completion *c, const char *name, const json_t *data)
{
    if (!name)
        name = json_string_value(json_object_get(data, "type"));
    if (!name)
        return;
    const json_t *resp = json_object_get(data, "response");
    if (strcmp(name, "response.created") == 0)
        sw_completion_set_id(c, json_string_value(json_object_get(resp, "id")));
    else if (final_event(name))
        sw_responses_read(c, resp);
}

int sw_responses_needed(const char *name, const char *data)
{
    (void)data;
    return !name || strcmp(name, "response.created") == 0 || final_event(name);
}

int sw_responses_first_token(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 6 && strcmp(name + n - 6, ".delta") == 0;
}
