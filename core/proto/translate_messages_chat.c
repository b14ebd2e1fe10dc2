/*
 * translate_messages_chat.c - an Anthropic Messages client served by a Chat
 * Completions provider: the request into Chat terms, the completion and its
 * chunks back into a message and Messages events. As in the other direction,
 * every request field is a row of `fields`; a field no row names is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/xlate_dirs.h"

static const char *const text_types[] = {"text", NULL};

static int text_of(const json_t *content, sw_buf *buf, const char *where, sw_xlate_err *err)
{
    return sw_xlate_text(content, text_types, buf, where, err);
}

static int conv_stream(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)key, (void)err;
    json_object_set(out, "stream", (json_t *)v);
    if (json_is_true(v)) /* the usage Messages' message_delta carries */
        json_object_set_new(out, "stream_options", json_pack("{s:b}", "include_usage", 1));
    return 0;
}

static int conv_stop(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_array(v))
        return sw_xlate_refuse(err, key, "'stop_sequences' must be a list of texts");
    json_object_set(out, "stop", (json_t *)v);
    return 0;
}

static int conv_metadata(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)key, (void)err;
    const json_t *user = json_object_get(v, "user_id");
    if (json_is_string(user))
        json_object_set(out, "user", (json_t *)user);
    return 0;
}

static int conv_tools(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!name || (type && strcmp(type, "custom") != 0)) {
            json_decref(tools);
            return sw_xlate_refuse(err, key,
                                   "tools[%zu]: only custom tools (name, input_schema) translate "
                                   "to Chat Completions",
                                   i);
        }
        json_t *fn = json_pack("{s:s}", "name", name);
        if (json_is_string(json_object_get(t, "description")))
            json_object_set(fn, "description", json_object_get(t, "description"));
        const json_t *schema = json_object_get(t, "input_schema");
        json_object_set_new(fn, "parameters",
                            json_is_object(schema) ? json_deep_copy(schema)
                                                   : json_pack("{s:s}", "type", "object"));
        json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    json_object_set_new(out, "tools", tools);
    return 0;
}

static int conv_tool_choice(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    static const struct {
        const char *messages, *chat;
    } choices[] = {{"auto", "auto"}, {"none", "none"}, {"any", "required"}};
    const char *type = json_string_value(json_object_get(v, "type"));
    if (json_is_true(json_object_get(v, "disable_parallel_tool_use")))
        json_object_set_new(out, "parallel_tool_calls", json_false());
    for (size_t i = 0; type && i < sizeof choices / sizeof choices[0]; i++)
        if (strcmp(type, choices[i].messages) == 0) {
            json_object_set_new(out, "tool_choice", json_string(choices[i].chat));
            return 0;
        }
    const char *name = json_string_value(json_object_get(v, "name"));
    if (!type || strcmp(type, "tool") != 0 || !name)
        return sw_xlate_refuse(err, key, "'tool_choice' must be auto, any, none or a tool");
    json_object_set_new(out, "tool_choice",
                        json_pack("{s:s, s:{s:s}}", "type", "function", "function", "name", name));
    return 0;
}

static int conv_refuse(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)v, (void)out;
    return sw_xlate_refuse(err, key, "'%s' has no Chat Completions equivalent", key);
}

static int conv_system(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);
static int conv_messages(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);

/* Every Anthropic Messages request field, and what it becomes. */
static const sw_xlate_field fields[] = {
    {"model", sw_xlate_conv_copy},
    {"messages", conv_messages},
    {"system", conv_system},
    {"max_tokens", sw_xlate_conv_copy},
    {"temperature", sw_xlate_conv_copy},
    {"top_p", sw_xlate_conv_copy},
    {"stop_sequences", conv_stop},
    {"stream", conv_stream},
    {"metadata", conv_metadata},
    {"tools", conv_tools},
    {"tool_choice", conv_tool_choice},
    {"top_k", conv_refuse},
    {"thinking", conv_refuse},
    {"container", conv_refuse},
    {"mcp_servers", conv_refuse},
    {"service_tier", conv_refuse},
};

/* `system` comes before the messages in the request's order only by chance: it is put first
   in the list whenever it is met. */
static int conv_system(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    sw_buf t = {0};
    if (text_of(v, &t, key, err) < 0) {
        sw_buf_free(&t);
        return -1;
    }
    json_t *list = json_object_get(out, "messages");
    if (!list) {
        list = json_array();
        json_object_set_new(out, "messages", list);
    }
    json_array_insert_new(
        list, 0,
        json_pack("{s:s, s:s%}", "role", "system", "content", t.data ? t.data : "", t.len));
    sw_buf_free(&t);
    return 0;
}

static int user_message(const json_t *msg, json_t *list, size_t i, sw_xlate_err *err)
{
    const json_t *content = json_object_get(msg, "content");
    char where[64];
    snprintf(where, sizeof where, "messages[%zu].content", i);
    if (json_is_string(content)) {
        json_array_append_new(list, json_pack("{s:s, s:O}", "role", "user", "content", content));
        return 0;
    }
    json_t *parts = json_array();
    size_t j;
    json_t *b;
    json_array_foreach(content, j, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type && strcmp(type, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            json_array_append_new(
                parts, json_pack("{s:s, s:O}", "type", "text", "text", json_object_get(b, "text")));
        } else if (type && strcmp(type, "tool_result") == 0) {
            const char *id = json_string_value(json_object_get(b, "tool_use_id"));
            sw_buf t = {0};
            const json_t *c = json_object_get(b, "content");
            if (!id || (c && text_of(c, &t, where, err) < 0)) {
                sw_buf_free(&t);
                json_decref(parts);
                return err->msg[0] ? -1
                                   : sw_xlate_refuse(err, where,
                                                     "%s[%zu]: a tool_result needs "
                                                     "its tool_use_id",
                                                     where, j);
            }
            /* Tool results answer the assistant's calls: they come before the user's text. */
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s%}", "role", "tool", "tool_call_id", id,
                                            "content", t.data ? t.data : "", t.len));
            sw_buf_free(&t);
        } else {
            json_decref(parts);
            return sw_xlate_refuse(err, where,
                                   "%s[%zu]: a '%s' block cannot be translated to Chat "
                                   "Completions",
                                   where, j, type ? type : "(untyped)");
        }
    }
    if (json_array_size(parts))
        json_array_append_new(list, json_pack("{s:s, s:o}", "role", "user", "content", parts));
    else
        json_decref(parts);
    return 0;
}

static int assistant_message(const json_t *msg, json_t *list, size_t i, sw_xlate_err *err)
{
    const json_t *content = json_object_get(msg, "content");
    char where[64];
    snprintf(where, sizeof where, "messages[%zu].content", i);
    if (json_is_string(content)) {
        json_array_append_new(list,
                              json_pack("{s:s, s:O}", "role", "assistant", "content", content));
        return 0;
    }
    sw_buf text = {0};
    json_t *calls = json_array();
    size_t j;
    json_t *b;
    json_array_foreach(content, j, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type && strcmp(type, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            const json_t *t = json_object_get(b, "text");
            sw_buf_append(&text, json_string_value(t), json_string_length(t));
        } else if (type && strcmp(type, "tool_use") == 0) {
            const char *id = json_string_value(json_object_get(b, "id"));
            const char *name = json_string_value(json_object_get(b, "name"));
            char *args = json_dumps(json_object_get(b, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
            if (id && name)
                json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type",
                                                       "function", "function", "name", name,
                                                       "arguments", args ? args : "{}"));
            free(args);
            if (!id || !name) {
                sw_buf_free(&text);
                json_decref(calls);
                return sw_xlate_refuse(err, where, "%s[%zu]: a tool_use needs an id and a name",
                                       where, j);
            }
        } else {
            sw_buf_free(&text);
            json_decref(calls);
            return sw_xlate_refuse(err, where,
                                   "%s[%zu]: a '%s' block cannot be translated to Chat "
                                   "Completions",
                                   where, j, type ? type : "(untyped)");
        }
    }
    json_t *m = json_pack("{s:s}", "role", "assistant");
    json_object_set_new(m, "content", text.len ? json_stringn(text.data, text.len) : json_null());
    if (json_array_size(calls))
        json_object_set_new(m, "tool_calls", calls);
    else
        json_decref(calls);
    sw_buf_free(&text);
    json_array_append_new(list, m);
    return 0;
}

static int conv_messages(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_array(v))
        return sw_xlate_refuse(err, key, "'messages' must be a list of messages");
    json_t *list = json_object_get(out, "messages");
    if (!list) {
        list = json_array();
        json_object_set_new(out, "messages", list);
    }
    size_t i;
    json_t *msg;
    json_array_foreach(v, i, msg)
    {
        const char *role = json_string_value(json_object_get(msg, "role"));
        int rc;
        if (role && strcmp(role, "user") == 0)
            rc = user_message(msg, list, i, err);
        else if (role && strcmp(role, "assistant") == 0)
            rc = assistant_message(msg, list, i, err);
        else {
            char where[64];
            snprintf(where, sizeof where, "messages[%zu].role", i);
            rc = sw_xlate_refuse(err, where, "%s must be user or assistant", where);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

json_t *sw_xlate_mc_request(const json_t *req, sw_xlate_err *err)
{
    return sw_xlate_fields(fields, sizeof fields / sizeof fields[0], req, "Chat Completions", err);
}

/* ---- the answer ---- */

/* Messages' usage from Chat's: input_tokens are the ones not read from the cache. */
static json_t *messages_usage(const json_t *u)
{
    uint32_t prompt = sw_completion_u32(json_object_get(u, "prompt_tokens"));
    uint32_t cached = sw_completion_u32(
        json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
    if (cached > prompt)
        cached = prompt;
    return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", (json_int_t)(prompt - cached),
                     "output_tokens",
                     (json_int_t)sw_completion_u32(json_object_get(u, "completion_tokens")),
                     "cache_read_input_tokens", (json_int_t)cached, "cache_creation_input_tokens",
                     (json_int_t)0);
}

json_t *sw_xlate_mc_response(const json_t *resp)
{
    const json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
    const json_t *msg = json_object_get(choice, "message");
    json_t *content = json_array();
    const json_t *text = json_object_get(msg, "content");
    if (json_is_string(text) && json_string_length(text))
        json_array_append_new(content, json_pack("{s:s, s:O}", "type", "text", "text", text));
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        const json_t *fn = json_object_get(call, "function");
        const char *id = json_string_value(json_object_get(call, "id"));
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_t *input = args && *args ? json_loads(args, JSON_DECODE_ANY, NULL) : NULL;
        if (!json_is_object(input)) { /* a model's malformed arguments: kept, as text */
            json_decref(input);
            input = json_pack("{s:s}", "arguments", args ? args : "");
        }
        json_array_append_new(content,
                              json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                        id ? id : "", "name", name ? name : "", "input", input));
    }
    const char *stop =
        sw_xlate_finish_to_stop(json_string_value(json_object_get(choice, "finish_reason")));
    const char *id = json_string_value(json_object_get(resp, "id"));
    const char *model = json_string_value(json_object_get(resp, "model"));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:o}", "id", id ? id : "", "type",
                     "message", "role", "assistant", "model", model ? model : "", "content",
                     content, "stop_reason", stop ? stop : "end_turn", "stop_sequence", "usage",
                     messages_usage(json_object_get(resp, "usage")));
}

/* ---- the stream ---- */

struct sw_xlate_stream {
    int started, done;
    int block;          /* the open content block's index, -1 none */
    int block_tool;     /* the Chat tool call index of the open block, -1 a text block */
    int blocks;         /* blocks started */
    int *block_of_tool; /* a Chat tool call index's block */
    size_t n_tools;
    char stop[32];
    json_t *usage;
};

sw_xlate_stream *sw_xlate_mc_stream_new(const json_t *req)
{
    (void)req;
    sw_xlate_stream *s = sw_xcalloc(1, sizeof *s);
    s->block = -1;
    return s;
}

void sw_xlate_mc_stream_free(sw_xlate_stream *s)
{
    if (!s)
        return;
    free(s->block_of_tool);
    json_decref(s->usage);
    free(s);
}

static void start(sw_xlate_stream *s, const json_t *c, sw_buf *out)
{
    if (s->started)
        return;
    s->started = 1;
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *model = json_string_value(json_object_get(c, "model"));
    sw_xlate_emit(out, "message_start",
                  json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:{s:i, s:i}}}", "type",
                            "message_start", "message", "id", id ? id : "", "type", "message",
                            "role", "assistant", "model", model ? model : "", "content",
                            "stop_reason", "stop_sequence", "usage", "input_tokens", 0,
                            "output_tokens", 0));
}

static void close_block(sw_xlate_stream *s, sw_buf *out)
{
    if (s->block < 0)
        return;
    sw_xlate_emit(out, "content_block_stop",
                  json_pack("{s:s, s:i}", "type", "content_block_stop", "index", s->block));
    s->block = -1;
}

static void open_block(sw_xlate_stream *s, json_t *block, int tool, sw_buf *out)
{
    close_block(s, out);
    s->block = s->blocks++;
    s->block_tool = tool;
    sw_xlate_emit(out, "content_block_start",
                  json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index", s->block,
                            "content_block", block));
}

static void delta(sw_xlate_stream *s, int index, json_t *d, sw_buf *out)
{
    sw_xlate_emit(
        out, "content_block_delta",
        json_pack("{s:s, s:i, s:o}", "type", "content_block_delta", "index", index, "delta", d));
}

static void tool_delta(sw_xlate_stream *s, const json_t *call, sw_buf *out)
{
    const json_t *fn = json_object_get(call, "function");
    json_int_t ti = json_integer_value(json_object_get(call, "index"));
    if (ti < 0 || ti > 4096)
        return;
    const char *id = json_string_value(json_object_get(call, "id"));
    if (id) {
        const char *name = json_string_value(json_object_get(fn, "name"));
        open_block(s,
                   json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id", id, "name",
                             name ? name : "", "input"),
                   (int)ti, out);
        if ((size_t)ti >= s->n_tools) {
            s->block_of_tool = sw_xrealloc(s->block_of_tool, ((size_t)ti + 1) * sizeof(int));
            for (size_t k = s->n_tools; k <= (size_t)ti; k++)
                s->block_of_tool[k] = -1;
            s->n_tools = (size_t)ti + 1;
        }
        s->block_of_tool[ti] = s->block;
    }
    const json_t *args = json_object_get(fn, "arguments");
    if (json_is_string(args) && json_string_length(args) && (size_t)ti < s->n_tools &&
        s->block_of_tool[ti] >= 0)
        delta(s, s->block_of_tool[ti],
              json_pack("{s:s, s:O}", "type", "input_json_delta", "partial_json", args), out);
}

static void stream_finish(sw_xlate_stream *s, sw_buf *out)
{
    if (s->done || !s->started)
        return;
    s->done = 1;
    close_block(s, out);
    json_t *u = messages_usage(s->usage);
    sw_xlate_emit(out, "message_delta",
                  json_pack("{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta",
                            "stop_reason", s->stop[0] ? s->stop : "end_turn", "stop_sequence",
                            "usage", u));
    sw_xlate_emit(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

static void on_error(sw_xlate_stream *s, const char *message, sw_buf *out)
{
    (void)s;
    sw_xlate_emit(out, "error",
                  json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", "api_error",
                            "message", message));
}

static void on_text(sw_xlate_stream *s, const json_t *text, sw_buf *out)
{
    if (s->block < 0 || s->block_tool >= 0)
        open_block(s, json_pack("{s:s, s:s}", "type", "text", "text", ""), -1, out);
    delta(s, s->block, json_pack("{s:s, s:O}", "type", "text_delta", "text", text), out);
}

static void on_finish(sw_xlate_stream *s, const char *finish)
{
    snprintf(s->stop, sizeof s->stop, "%s", sw_xlate_finish_to_stop(finish));
}

static void on_usage(sw_xlate_stream *s, const json_t *u)
{
    json_decref(s->usage);
    s->usage = json_deep_copy(u);
}

static const sw_xlate_chunk_fns chunk_fns = {stream_finish, on_error,  start,   on_text,
                                             tool_delta,    on_finish, on_usage};

void sw_xlate_mc_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out)
{
    (void)name;
    if (!s->done)
        sw_xlate_read_chunk(&chunk_fns, s, data, len, out);
}

void sw_xlate_mc_stream_end(sw_xlate_stream *s, sw_buf *out)
{
    stream_finish(s, out);
}
