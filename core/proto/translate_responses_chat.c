/*
 * translate_responses_chat.c - an OpenAI Responses client served by a Chat
 * Completions provider (and, chained through Chat in translate.c, by an
 * Anthropic Messages one): the request's input items into chat messages, the
 * completion and its chunks back into a response and its events. Every
 * request field is a row of `fields`; a field no row names is refused.
 * Responses the provider stores (previous_response_id, conversation) cannot
 * be translated: the provider is stateless.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/xlate_dirs.h"

static const char *const input_types[] = {"input_text", "output_text", NULL};

static int content_text(const json_t *content, sw_buf *buf, const char *where, sw_xlate_err *err)
{
    return sw_xlate_text(content, input_types, buf, where, err);
}

static int conv_stream(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)key, (void)err;
    json_object_set(out, "stream", (json_t *)v);
    if (json_is_true(v)) /* response.completed carries the usage */
        json_object_set_new(out, "stream_options", json_pack("{s:b}", "include_usage", 1));
    return 0;
}

static int conv_max(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)key, (void)err;
    json_object_set(out, "max_tokens", (json_t *)v);
    return 0;
}

static int conv_instructions(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return sw_xlate_refuse(err, key, "'instructions' must be a text");
    json_t *list = json_object_get(out, "messages");
    if (!list) {
        list = json_array();
        json_object_set_new(out, "messages", list);
    }
    json_array_insert_new(list, 0, json_pack("{s:s, s:O}", "role", "system", "content", v));
    return 0;
}

static int conv_tools(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!type || strcmp(type, "function") != 0 || !json_object_get(t, "name")) {
            json_decref(tools);
            return sw_xlate_refuse(err, key, "tools[%zu]: only function tools translate (not '%s')",
                                   i, type ? type : "untyped");
        }
        json_t *fn = json_deep_copy(t);
        json_object_del(fn, "type");
        json_object_del(fn, "strict");
        json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    json_object_set_new(out, "tools", tools);
    return 0;
}

static int conv_tool_choice(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (json_is_string(v)) {
        json_object_set(out, key, (json_t *)v);
        return 0;
    }
    const char *name = json_string_value(json_object_get(v, "name"));
    if (!name)
        return sw_xlate_refuse(err, key,
                               "'tool_choice' must be auto, none, required or a function");
    json_object_set_new(out, key,
                        json_pack("{s:s, s:{s:s}}", "type", "function", "function", "name", name));
    return 0;
}

static int conv_false_only(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    if (json_is_false(v) || json_is_null(v))
        return 0;
    return sw_xlate_refuse(err, key,
                           "'%s' cannot be translated: the provider does not store "
                           "responses",
                           key);
}

static int conv_refuse(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)v, (void)out;
    if (strcmp(key, "previous_response_id") == 0 || strcmp(key, "conversation") == 0)
        return sw_xlate_refuse(err, key,
                               "'%s' cannot be translated: this release's provider keeps no "
                               "conversations; send the whole input",
                               key);
    return sw_xlate_refuse(err, key, "'%s' has no Chat Completions equivalent", key);
}

static int conv_text(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    const char *type = json_string_value(json_object_get(json_object_get(v, "format"), "type"));
    if (!json_object_get(v, "format") || (type && strcmp(type, "text") == 0))
        return 0;
    return sw_xlate_refuse(err, key, "'text.format' %s cannot be translated",
                           type ? type : "(not text)");
}

static int conv_input(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);

static const sw_xlate_field fields[] = {
    {"model", sw_xlate_conv_copy},
    {"input", conv_input},
    {"instructions", conv_instructions},
    {"stream", conv_stream},
    {"max_output_tokens", conv_max},
    {"temperature", sw_xlate_conv_copy},
    {"top_p", sw_xlate_conv_copy},
    {"tools", conv_tools},
    {"tool_choice", conv_tool_choice},
    {"parallel_tool_calls", sw_xlate_conv_copy},
    {"user", sw_xlate_conv_copy},
    {"store", conv_false_only},
    {"text", conv_text},
    {"previous_response_id", conv_refuse},
    {"conversation", conv_refuse},
    {"reasoning", conv_refuse},
    {"include", conv_refuse},
    {"background", conv_false_only},
    {"truncation", conv_refuse},
    {"metadata", conv_refuse},
};

static int conv_input(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    json_t *list = json_object_get(out, "messages");
    if (!list) {
        list = json_array();
        json_object_set_new(out, "messages", list);
    }
    if (json_is_string(v)) {
        json_array_append_new(list, json_pack("{s:s, s:O}", "role", "user", "content", v));
        return 0;
    }
    if (!json_is_array(v))
        return sw_xlate_refuse(err, key, "'input' must be a text or a list of input items");
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char where[64];
        snprintf(where, sizeof where, "input[%zu]", i);
        const char *type = json_string_value(json_object_get(item, "type"));
        const char *role = json_string_value(json_object_get(item, "role"));
        if (!type || strcmp(type, "message") == 0) {
            if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 &&
                          strcmp(role, "system") != 0 && strcmp(role, "developer") != 0))
                return sw_xlate_refuse(err, where, "%s: a message needs a role", where);
            sw_buf t = {0};
            if (content_text(json_object_get(item, "content"), &t, where, err) < 0) {
                sw_buf_free(&t);
                return -1;
            }
            json_array_append_new(list, json_pack("{s:s, s:s%}", "role", role, "content",
                                                  t.data ? t.data : "", t.len));
            sw_buf_free(&t);
        } else if (strcmp(type, "function_call") == 0) {
            const char *id = json_string_value(json_object_get(item, "call_id"));
            const char *name = json_string_value(json_object_get(item, "name"));
            const char *args = json_string_value(json_object_get(item, "arguments"));
            if (!id || !name)
                return sw_xlate_refuse(err, where, "%s: a function_call needs call_id and name",
                                       where);
            json_t *call = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function",
                                     "function", "name", name, "arguments", args ? args : "");
            /* Calls in a row are one assistant message. */
            json_t *last = json_array_get(list, json_array_size(list) - 1);
            json_t *calls = json_object_get(last, "tool_calls");
            if (calls && !json_object_get(last, "tool_call_id")) {
                json_array_append_new(calls, call);
            } else {
                json_array_append_new(list, json_pack("{s:s, s:n, s:[o]}", "role", "assistant",
                                                      "content", "tool_calls", call));
            }
        } else if (strcmp(type, "function_call_output") == 0) {
            const char *id = json_string_value(json_object_get(item, "call_id"));
            sw_buf t = {0};
            if (!id || content_text(json_object_get(item, "output"), &t, where, err) < 0) {
                sw_buf_free(&t);
                return err->msg[0]
                           ? -1
                           : sw_xlate_refuse(err, where, "%s: a function_call_output needs call_id",
                                             where);
            }
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s%}", "role", "tool", "tool_call_id", id,
                                            "content", t.data ? t.data : "", t.len));
            sw_buf_free(&t);
        } else {
            return sw_xlate_refuse(err, where, "%s: a '%s' item cannot be translated", where, type);
        }
    }
    return 0;
}

json_t *sw_xlate_rc_request(const json_t *req, sw_xlate_err *err)
{
    return sw_xlate_fields(fields, sizeof fields / sizeof fields[0], req, "Chat Completions", err);
}

/* ---- the answer ---- */

static json_t *responses_usage(const json_t *u)
{
    uint32_t in = sw_completion_u32(json_object_get(u, "prompt_tokens"));
    uint32_t out = sw_completion_u32(json_object_get(u, "completion_tokens"));
    uint32_t cached = sw_completion_u32(
        json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
    return json_pack("{s:I, s:{s:I}, s:I, s:{s:i}, s:I}", "input_tokens", (json_int_t)in,
                     "input_tokens_details", "cached_tokens", (json_int_t)cached, "output_tokens",
                     (json_int_t)out, "output_tokens_details", "reasoning_tokens", 0,
                     "total_tokens", (json_int_t)in + out);
}

static json_t *response_shell(const char *id, const char *model, const char *status)
{
    char *rid = sw_xasprintf("resp_%s", id && *id ? id : "translated");
    json_t *r =
        json_pack("{s:s, s:s, s:I, s:s, s:n, s:n, s:s, s:[], s:n}", "id", rid, "object", "response",
                  "created_at", (json_int_t)time(NULL), "status", status, "error",
                  "incomplete_details", "model", model ? model : "", "output", "usage");
    free(rid);
    return r;
}

static void set_finish(json_t *r, const char *finish)
{
    int cut = finish && strcmp(finish, "length") == 0;
    json_object_set_new(r, "status", json_string(cut ? "incomplete" : "completed"));
    if (cut)
        json_object_set_new(r, "incomplete_details",
                            json_pack("{s:s}", "reason", "max_output_tokens"));
}

static json_t *message_item(size_t n, const char *text, size_t len, const char *status)
{
    char *id = sw_xasprintf("msg_%zu", n);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s%, s:[]}]}", "id", id, "type",
                             "message", "status", status, "role", "assistant", "content", "type",
                             "output_text", "text", text ? text : "", len, "annotations");
    free(id);
    return item;
}

static json_t *call_item(size_t n, const char *call_id, const char *name, const char *args,
                         const char *status)
{
    char *id = sw_xasprintf("fc_%zu", n);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "type", "function_call",
                             "status", status, "call_id", call_id ? call_id : "", "name",
                             name ? name : "", "arguments", args ? args : "");
    free(id);
    return item;
}

json_t *sw_xlate_rc_response(const json_t *resp)
{
    const json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
    const json_t *msg = json_object_get(choice, "message");
    json_t *r = response_shell(json_string_value(json_object_get(resp, "id")),
                               json_string_value(json_object_get(resp, "model")), "completed");
    json_t *output = json_object_get(r, "output");
    const json_t *text = json_object_get(msg, "content");
    if (json_is_string(text) && json_string_length(text))
        json_array_append_new(output, message_item(0, json_string_value(text),
                                                   json_string_length(text), "completed"));
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        const json_t *fn = json_object_get(call, "function");
        json_array_append_new(output, call_item(i, json_string_value(json_object_get(call, "id")),
                                                json_string_value(json_object_get(fn, "name")),
                                                json_string_value(json_object_get(fn, "arguments")),
                                                "completed"));
    }
    set_finish(r, json_string_value(json_object_get(choice, "finish_reason")));
    json_object_set_new(r, "usage", responses_usage(json_object_get(resp, "usage")));
    return r;
}

/* ---- the stream ---- */

struct sw_xlate_stream {
    json_t *resp;     /* the response as it grows: response.completed sends it whole */
    int msg_open;     /* output index of the open message item, -1 none */
    int *out_of_tool; /* a Chat tool call index's output index */
    size_t n_tools;
    json_int_t seq;
    int started, done;
    char finish[32];
    json_t *usage;
};

sw_xlate_stream *sw_xlate_rc_stream_new(const json_t *req)
{
    (void)req;
    sw_xlate_stream *s = sw_xcalloc(1, sizeof *s);
    s->msg_open = -1;
    return s;
}

void sw_xlate_rc_stream_free(sw_xlate_stream *s)
{
    if (!s)
        return;
    json_decref(s->resp);
    json_decref(s->usage);
    free(s->out_of_tool);
    free(s);
}

static void send(sw_xlate_stream *s, const char *type, json_t *data, sw_buf *out)
{
    json_t *e = json_pack("{s:s}", "type", type);
    json_object_update(e, data);
    json_decref(data);
    json_object_set_new(e, "sequence_number", json_integer(s->seq++));
    sw_xlate_emit(out, type, e);
}

static json_t *output(sw_xlate_stream *s)
{
    return json_object_get(s->resp, "output");
}

static void close_message(sw_xlate_stream *s, sw_buf *out)
{
    if (s->msg_open < 0)
        return;
    int oi = s->msg_open;
    s->msg_open = -1;
    json_t *item = json_array_get(output(s), (size_t)oi);
    json_object_set_new(item, "status", json_string("completed"));
    const char *id = json_string_value(json_object_get(item, "id"));
    json_t *part = json_array_get(json_object_get(item, "content"), 0);
    send(s, "response.output_text.done",
         json_pack("{s:s, s:i, s:i, s:O, s:[]}", "item_id", id, "output_index", oi, "content_index",
                   0, "text", json_object_get(part, "text"), "logprobs"),
         out);
    send(s, "response.content_part.done",
         json_pack("{s:s, s:i, s:i, s:O}", "item_id", id, "output_index", oi, "content_index", 0,
                   "part", part),
         out);
    send(s, "response.output_item.done", json_pack("{s:i, s:O}", "output_index", oi, "item", item),
         out);
}

static void text_delta(sw_xlate_stream *s, const json_t *text, sw_buf *out)
{
    if (s->msg_open < 0) {
        size_t oi = json_array_size(output(s));
        json_t *item = message_item(oi, "", 0, "in_progress");
        json_t *part = json_deep_copy(json_array_get(json_object_get(item, "content"), 0));
        json_t *empty = json_deep_copy(item);
        json_array_clear(json_object_get(empty, "content"));
        json_array_append_new(output(s), item);
        s->msg_open = (int)oi;
        send(s, "response.output_item.added",
             json_pack("{s:I, s:o}", "output_index", (json_int_t)oi, "item", empty), out);
        send(s, "response.content_part.added",
             json_pack("{s:O, s:I, s:i, s:o}", "item_id", json_object_get(item, "id"),
                       "output_index", (json_int_t)oi, "content_index", 0, "part", part),
             out);
    }
    json_t *item = json_array_get(output(s), (size_t)s->msg_open);
    json_t *part = json_array_get(json_object_get(item, "content"), 0);
    char *joined = sw_xasprintf("%s%s", json_string_value(json_object_get(part, "text")),
                                json_string_value(text));
    json_object_set_new(part, "text", json_string(joined));
    free(joined);
    send(s, "response.output_text.delta",
         json_pack("{s:O, s:i, s:i, s:O, s:[]}", "item_id", json_object_get(item, "id"),
                   "output_index", s->msg_open, "content_index", 0, "delta", text, "logprobs"),
         out);
}

static void tool_delta(sw_xlate_stream *s, const json_t *call, sw_buf *out)
{
    json_int_t ti = json_integer_value(json_object_get(call, "index"));
    if (ti < 0 || ti > 4096)
        return;
    const json_t *fn = json_object_get(call, "function");
    const char *id = json_string_value(json_object_get(call, "id"));
    if (id) {
        close_message(s, out);
        size_t oi = json_array_size(output(s));
        json_t *item = call_item((size_t)ti, id, json_string_value(json_object_get(fn, "name")), "",
                                 "in_progress");
        json_array_append_new(output(s), item);
        if ((size_t)ti >= s->n_tools) {
            s->out_of_tool = sw_xrealloc(s->out_of_tool, ((size_t)ti + 1) * sizeof(int));
            for (size_t k = s->n_tools; k <= (size_t)ti; k++)
                s->out_of_tool[k] = -1;
            s->n_tools = (size_t)ti + 1;
        }
        s->out_of_tool[ti] = (int)oi;
        send(s, "response.output_item.added",
             json_pack("{s:I, s:O}", "output_index", (json_int_t)oi, "item", item), out);
    }
    const json_t *args = json_object_get(fn, "arguments");
    if (!json_is_string(args) || !json_string_length(args) || (size_t)ti >= s->n_tools ||
        s->out_of_tool[ti] < 0)
        return;
    int oi = s->out_of_tool[ti];
    json_t *item = json_array_get(output(s), (size_t)oi);
    char *joined = sw_xasprintf("%s%s", json_string_value(json_object_get(item, "arguments")),
                                json_string_value(args));
    json_object_set_new(item, "arguments", json_string(joined));
    free(joined);
    send(s, "response.function_call_arguments.delta",
         json_pack("{s:O, s:i, s:O}", "item_id", json_object_get(item, "id"), "output_index", oi,
                   "delta", args),
         out);
}

static void stream_finish(sw_xlate_stream *s, sw_buf *out)
{
    if (s->done || !s->started)
        return;
    s->done = 1;
    close_message(s, out);
    size_t i;
    json_t *item;
    json_array_foreach(output(s), i, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        if (!type || strcmp(type, "function_call") != 0)
            continue;
        json_object_set_new(item, "status", json_string("completed"));
        send(s, "response.function_call_arguments.done",
             json_pack("{s:O, s:I, s:O}", "item_id", json_object_get(item, "id"), "output_index",
                       (json_int_t)i, "arguments", json_object_get(item, "arguments")),
             out);
        send(s, "response.output_item.done",
             json_pack("{s:I, s:O}", "output_index", (json_int_t)i, "item", item), out);
    }
    set_finish(s->resp, s->finish[0] ? s->finish : NULL);
    json_object_set_new(s->resp, "usage", responses_usage(s->usage));
    const char *status = json_string_value(json_object_get(s->resp, "status"));
    send(s, strcmp(status, "incomplete") == 0 ? "response.incomplete" : "response.completed",
         json_pack("{s:O}", "response", s->resp), out);
}

static void on_error(sw_xlate_stream *s, const char *message, sw_buf *out)
{
    send(s, "error",
         json_pack("{s:s, s:s, s:n}", "code", "upstream_error", "message", message, "param"), out);
}

static void on_start(sw_xlate_stream *s, const json_t *c, sw_buf *out)
{
    if (s->started)
        return;
    s->started = 1;
    s->resp = response_shell(json_string_value(json_object_get(c, "id")),
                             json_string_value(json_object_get(c, "model")), "in_progress");
    send(s, "response.created", json_pack("{s:O}", "response", s->resp), out);
    send(s, "response.in_progress", json_pack("{s:O}", "response", s->resp), out);
}

static void on_finish(sw_xlate_stream *s, const char *finish)
{
    snprintf(s->finish, sizeof s->finish, "%s", finish);
}

static void on_usage(sw_xlate_stream *s, const json_t *u)
{
    json_decref(s->usage);
    s->usage = json_deep_copy(u);
}

static const sw_xlate_chunk_fns chunk_fns = {stream_finish, on_error,  on_start, text_delta,
                                             tool_delta,    on_finish, on_usage};

void sw_xlate_rc_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out)
{
    (void)name;
    if (!s->done)
        sw_xlate_read_chunk(&chunk_fns, s, data, len, out);
}

void sw_xlate_rc_stream_end(sw_xlate_stream *s, sw_buf *out)
{
    stream_finish(s, out);
}
