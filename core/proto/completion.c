/* completion.c - the answer's summary, and reading it from chat completions. */
#include "completion.h"

#include <stdlib.h>
#include <string.h>

void sw_completion_init(sw_completion *c, int collect)
{
    memset(c, 0, sizeof *c);
    c->collect = collect;
    if (collect)
        c->tools = json_array();
}

void sw_completion_free(sw_completion *c)
{
    sw_buf_free(&c->text);
    json_decref(c->tools);
    c->tools = NULL;
    free(c->response_id);
    c->response_id = NULL;
}

void sw_completion_set_id(sw_completion *c, const char *id)
{
    if (!id)
        return;
    free(c->response_id);
    c->response_id = sw_xstrdup(id);
}

void sw_completion_tool_append(sw_completion *c, size_t at, const char *args, size_t len)
{
    size_t n = json_array_size(c->tools);
    if (!c->collect || n == 0 || !args)
        return;
    json_t *call = json_array_get(c->tools, at < n ? at : n - 1);
    const json_t *old = json_object_get(call, "arguments");
    sw_buf b = {0};
    sw_buf_append(&b, json_string_value(old), json_string_length(old));
    sw_buf_append(&b, args, len);
    json_object_set_new(call, "arguments", json_stringn(b.data ? b.data : "", b.len));
    sw_buf_free(&b);
}

uint32_t sw_completion_u32(const json_t *j)
{
    json_int_t v = json_integer_value(j);
    return v < 0 ? 0 : v > 0xffffffffLL ? 0xffffffffu : (uint32_t)v;
}

static void usage(sw_completion *c, const json_t *u)
{
    if (!json_is_object(u))
        return;
    c->has_usage = 1;
    c->tokens_in = sw_completion_u32(json_object_get(u, "prompt_tokens"));
    c->tokens_out = sw_completion_u32(json_object_get(u, "completion_tokens"));
    c->cached_in = sw_completion_u32(
        json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
}

void sw_completion_response(sw_completion *c, const json_t *resp)
{
    usage(c, json_object_get(resp, "usage"));
    const json_t *msg =
        json_object_get(json_array_get(json_object_get(resp, "choices"), 0), "message");
    const json_t *content = json_object_get(msg, "content");
    if (c->collect && json_is_string(content))
        sw_buf_append(&c->text, json_string_value(content), json_string_length(content));
    size_t k;
    const json_t *part;
    /* Content may also be a list of parts; their texts are the answer's text. */
    json_array_foreach(c->collect ? content : NULL, k, part)
    {
        const json_t *text = json_object_get(part, "text");
        if (json_is_string(text))
            sw_buf_append(&c->text, json_string_value(text), json_string_length(text));
    }
    const json_t *calls = json_object_get(msg, "tool_calls");
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        c->tool_calls++;
        if (!c->collect)
            continue;
        const json_t *fn = json_object_get(call, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_array_append_new(c->tools, json_pack("{s:s, s:s}", "name", name ? name : "",
                                                  "arguments", args ? args : ""));
    }
}

void sw_completion_chunk(sw_completion *c, const json_t *chunk)
{
    const json_t *u = json_object_get(chunk, "usage");
    if (json_is_object(u))
        usage(c, u);
    const json_t *delta =
        json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta");
    const json_t *content = json_object_get(delta, "content");
    if (c->collect && json_is_string(content))
        sw_buf_append(&c->text, json_string_value(content), json_string_length(content));
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, call)
    {
        /* A call's first delta carries its id; later ones add to its arguments. */
        const json_t *fn = json_object_get(call, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        if (json_object_get(call, "id")) {
            c->tool_calls++;
            if (c->collect)
                json_array_append_new(c->tools, json_pack("{s:s, s:s}", "name", name ? name : "",
                                                          "arguments", args ? args : ""));
        } else if (c->collect && args) {
            /* Parallel calls interleave their deltas by index. */
            const json_t *index = json_object_get(call, "index");
            size_t at = json_is_integer(index) && json_integer_value(index) >= 0
                            ? (size_t)json_integer_value(index)
                            : (size_t)-1;
            sw_completion_tool_append(c, at, args, strlen(args));
        }
    }
}

int sw_chunk_needed(const char *data)
{
    if (strstr(data, "\"tool_calls\""))
        return 1;
    const char *p = strstr(data, "\"usage\"");
    if (!p)
        return 0;
    p += 7;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':')
        p++;
    return *p == '{';
}

int sw_chunk_usage_only(const json_t *chunk)
{
    const json_t *choices = json_object_get(chunk, "choices");
    return json_is_object(json_object_get(chunk, "usage")) &&
           (!choices || (json_is_array(choices) && json_array_size(choices) == 0));
}

json_t *sw_completion_tools(const sw_completion *c)
{
    return c->tools ? json_deep_copy(c->tools) : json_array();
}
