/*
 * translate_chat_messages.c - a Chat Completions client served by an Anthropic
 * Messages provider: the request into Messages terms, the message and its
 * stream back into Chat's. Every request field is a row of `fields` (its
 * converter, or a refusal); a field no row names is refused, so nothing the
 * client asked for is dropped unsaid.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/xlate_dirs.h"

static const char *const text_types[] = {"text", NULL};

static int text_of(const json_t *content, sw_buf *buf, const char *where, sw_xlate_err *err)
{
    return sw_xlate_text(content, text_types, buf, where, err);
}

/* ---- stop reasons (both directions) ---- */

static const struct {
    const char *finish, *stop;
} stops[] = {
    {"stop", "end_turn"},          {"length", "max_tokens"},  {"tool_calls", "tool_use"},
    {"content_filter", "refusal"}, {"stop", "stop_sequence"}, {"stop", "pause_turn"},
};

const char *sw_xlate_finish_to_stop(const char *finish_reason)
{
    for (size_t i = 0; finish_reason && i < sizeof stops / sizeof stops[0]; i++)
        if (strcmp(stops[i].finish, finish_reason) == 0)
            return stops[i].stop;
    return finish_reason ? "end_turn" : NULL;
}

const char *sw_xlate_stop_to_finish(const char *stop_reason)
{
    for (size_t i = 0; stop_reason && i < sizeof stops / sizeof stops[0]; i++)
        if (strcmp(stops[i].stop, stop_reason) == 0)
            return stops[i].finish;
    return stop_reason ? "stop" : NULL;
}

/* ---- the request ---- */

static int conv_drop(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)key, (void)v, (void)out, (void)err;
    return 0;
}

static int conv_max_tokens(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return sw_xlate_refuse(err, key, "'%s' must be a positive integer", key);
    json_object_set(out, "max_tokens", (json_t *)v);
    return 0;
}

static int conv_stop(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (json_is_null(v))
        return 0;
    json_t *list = json_array();
    if (json_is_string(v))
        json_array_append(list, (json_t *)v);
    else if (json_is_array(v))
        json_array_extend(list, (json_t *)v);
    else {
        json_decref(list);
        return sw_xlate_refuse(err, key, "'stop' must be a text or a list of texts");
    }
    json_object_set_new(out, "stop_sequences", list);
    return 0;
}

json_t *sw_xlate_tool_to_messages(const json_t *chat_tool)
{
    const char *type = json_string_value(json_object_get(chat_tool, "type"));
    const json_t *fn = json_object_get(chat_tool, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    if (!type || strcmp(type, "function") != 0 || !name)
        return NULL;
    json_t *t = json_pack("{s:s}", "name", name);
    const json_t *desc = json_object_get(fn, "description");
    if (json_is_string(desc))
        json_object_set(t, "description", (json_t *)desc);
    /* The schema is shared, not copied: nothing changes it on its way out, and the copy was
       a tenth of a translated gateway request's instructions (BENCHMARKS.md). */
    const json_t *params = json_object_get(fn, "parameters");
    json_object_set_new(t, "input_schema",
                        json_is_object(params) ? json_incref((json_t *)params)
                                               : json_pack("{s:s}", "type", "object"));
    return t;
}

static int conv_tools(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        json_t *m = sw_xlate_tool_to_messages(t);
        if (!m) {
            json_decref(tools);
            return sw_xlate_refuse(err, key,
                                   "tools[%zu]: only function tools translate to Anthropic "
                                   "Messages",
                                   i);
        }
        json_array_append_new(tools, m);
    }
    json_object_set_new(out, "tools", tools);
    return 0;
}

/* tool_choice into out's, keeping disable_parallel_tool_use if parallel_tool_calls came first. */
static json_t *choice_obj(json_t *out)
{
    json_t *c = json_object_get(out, "tool_choice");
    if (!json_is_object(c)) {
        c = json_pack("{s:s}", "type", "auto");
        json_object_set_new(out, "tool_choice", c);
    }
    return c;
}

static int conv_tool_choice(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    static const struct {
        const char *chat, *messages;
    } choices[] = {{"auto", "auto"}, {"none", "none"}, {"required", "any"}};
    json_t *c = choice_obj(out);
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < sizeof choices / sizeof choices[0]; i++)
        if (strcmp(s, choices[i].chat) == 0) {
            json_object_set_new(c, "type", json_string(choices[i].messages));
            return 0;
        }
    const char *name = json_string_value(json_object_get(json_object_get(v, "function"), "name"));
    if (!name)
        return sw_xlate_refuse(err, key,
                               "'tool_choice' must be auto, none, required or a function");
    json_object_set_new(c, "type", json_string("tool"));
    json_object_set_new(c, "name", json_string(name));
    return 0;
}

static int conv_parallel(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_boolean(v))
        return sw_xlate_refuse(err, key, "'parallel_tool_calls' must be true or false");
    if (json_is_false(v))
        json_object_set_new(choice_obj(out), "disable_parallel_tool_use", json_true());
    return 0;
}

static int conv_user(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_string(v))
        return sw_xlate_refuse(err, key, "'user' must be a text");
    json_object_set_new(out, "metadata", json_pack("{s:O}", "user_id", v));
    return 0;
}

/* Fields accepted only at their default (what Anthropic does anyway). */
static int conv_n(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    if (json_is_integer(v) && json_integer_value(v) == 1)
        return 0;
    return sw_xlate_refuse(err, key,
                           "n > 1 (several choices) cannot be translated to Anthropic "
                           "Messages, which answers once");
}

static int conv_false_only(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    if (json_is_false(v) || json_is_null(v))
        return 0;
    return sw_xlate_refuse(err, key, "'%s' cannot be translated to Anthropic Messages", key);
}

static int conv_zero_only(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    if (json_is_null(v) || (json_is_number(v) && json_number_value(v) == 0))
        return 0;
    return sw_xlate_refuse(err, key, "'%s' has no Anthropic Messages equivalent", key);
}

static int conv_refuse(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)v, (void)out;
    return sw_xlate_refuse(err, key, "'%s' has no Anthropic Messages equivalent", key);
}

static int conv_response_format(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    (void)out;
    const char *type = json_string_value(json_object_get(v, "type"));
    if (type && strcmp(type, "text") == 0)
        return 0;
    return sw_xlate_refuse(err, key,
                           "'response_format' %s cannot be translated to Anthropic Messages",
                           type ? type : "(not text)");
}

static int conv_messages(const char *key, const json_t *v, json_t *out, sw_xlate_err *err);

/* Every Chat Completions request field, and what it becomes. */
static const struct {
    const char *name;
    sw_xlate_conv conv;
    int is_param; /* may come from a release's parameters too */
} fields[] = {
    {"model", sw_xlate_conv_copy, 0},
    {"messages", conv_messages, 0},
    {"stream", sw_xlate_conv_copy, 0},
    {"stream_options", conv_drop, 0}, /* usage is always in a Messages stream */
    {"max_tokens", conv_max_tokens, 1},
    {"max_completion_tokens", conv_max_tokens, 1},
    {"temperature", sw_xlate_conv_copy, 1},
    {"top_p", sw_xlate_conv_copy, 1},
    {"stop", conv_stop, 1},
    {"tools", conv_tools, 0},
    {"tool_choice", conv_tool_choice, 1},
    {"parallel_tool_calls", conv_parallel, 1},
    {"user", conv_user, 0},
    {"n", conv_n, 0},
    {"logprobs", conv_false_only, 0},
    {"top_logprobs", conv_refuse, 0},
    {"logit_bias", conv_refuse, 0},
    {"frequency_penalty", conv_zero_only, 1},
    {"presence_penalty", conv_zero_only, 1},
    {"seed", conv_refuse, 1},
    {"reasoning_effort", conv_refuse, 1},
    {"response_format", conv_response_format, 0},
    {"audio", conv_refuse, 0},
    {"modalities", conv_refuse, 0},
    {"prediction", conv_refuse, 0},
    {"store", conv_false_only, 0},
    {"metadata", conv_drop,
     0}, /* Chat's metadata tags stored completions, which Messages has not */
    {"service_tier", conv_drop, 0},
};

static int convert_field(const char *key, const json_t *v, json_t *out, int params_only,
                         sw_xlate_err *err)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].name, key) == 0) {
            if (params_only && !fields[i].is_param)
                break;
            return fields[i].conv(key, v, out, err);
        }
    return sw_xlate_refuse(err, key, "'%s' has no Anthropic Messages equivalent", key);
}

int sw_xlate_chat_params_to_messages(const json_t *params, json_t *body, sw_xlate_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        if (strcmp(k, "extra") == 0) {
            const char *ek;
            json_t *ev;
            json_object_foreach(v, ek, ev) json_object_set(body, ek, ev);
        } else if (convert_field(k, v, body, 1, err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* An image_url part as a Messages image block (a data: URL is base64). */
static json_t *image_block(const json_t *part)
{
    const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
    if (!url)
        return NULL;
    if (strncmp(url, "data:", 5) == 0) {
        const char *semi = strstr(url, ";base64,");
        if (!semi)
            return NULL;
        char *mt = sw_xstrndup(url + 5, (size_t)(semi - url - 5));
        json_t *b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type",
                              "base64", "media_type", mt, "data", semi + 8);
        free(mt);
        return b;
    }
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url", url);
}

static int user_blocks(const json_t *content, json_t *blocks, size_t i, sw_xlate_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "messages[%zu].content", i);
    if (json_is_string(content)) {
        json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "text", "text", content));
        return 0;
    }
    if (!json_is_array(content))
        return sw_xlate_refuse(err, where, "%s must be a text or a list of parts", where);
    size_t j;
    json_t *part;
    json_array_foreach(content, j, part)
    {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *b = NULL;
        if (type && strcmp(type, "text") == 0 && json_is_string(json_object_get(part, "text")))
            b = json_pack("{s:s, s:O}", "type", "text", "text", json_object_get(part, "text"));
        else if (type && strcmp(type, "image_url") == 0)
            b = image_block(part);
        if (!b)
            return sw_xlate_refuse(err, where,
                                   "%s[%zu]: a '%s' part cannot be translated to Anthropic "
                                   "Messages",
                                   where, j, type ? type : "(untyped)");
        json_array_append_new(blocks, b);
    }
    return 0;
}

static int assistant_blocks(const json_t *msg, json_t *blocks, size_t i, sw_xlate_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "messages[%zu].content", i);
    const json_t *content = json_object_get(msg, "content");
    if (content && !json_is_null(content)) {
        sw_buf t = {0};
        if (text_of(content, &t, where, err) < 0) {
            sw_buf_free(&t);
            return -1;
        }
        if (t.len)
            json_array_append_new(blocks,
                                  json_pack("{s:s, s:s%}", "type", "text", "text", t.data, t.len));
        sw_buf_free(&t);
    }
    size_t k;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), k, call)
    {
        const json_t *fn = json_object_get(call, "function");
        const char *id = json_string_value(json_object_get(call, "id"));
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        snprintf(where, sizeof where, "messages[%zu].tool_calls[%zu]", i, k);
        if (!id || !name)
            return sw_xlate_refuse(err, where, "%s needs an id and a function name", where);
        json_t *input = args && *args ? json_loads(args, JSON_DECODE_ANY, NULL) : json_object();
        if (!json_is_object(input)) {
            json_decref(input);
            return sw_xlate_refuse(err, where,
                                   "%s: the arguments must be a JSON object for Anthropic "
                                   "Messages",
                                   where);
        }
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                                id, "name", name, "input", input));
    }
    return 0;
}

static int tool_block(const json_t *msg, json_t *blocks, size_t i, sw_xlate_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "messages[%zu]", i);
    const char *id = json_string_value(json_object_get(msg, "tool_call_id"));
    if (!id)
        return sw_xlate_refuse(err, where, "%s: a tool message needs its tool_call_id", where);
    sw_buf t = {0};
    if (text_of(json_object_get(msg, "content"), &t, where, err) < 0) {
        sw_buf_free(&t);
        return -1;
    }
    json_array_append_new(blocks,
                          json_pack("{s:s, s:s, s:s%}", "type", "tool_result", "tool_use_id", id,
                                    "content", t.data ? t.data : "", t.len));
    sw_buf_free(&t);
    return 0;
}

/* Chat's list of messages: system and developer ones become `system`; tool results become
   tool_result blocks of a user turn; turns of one role in a row are merged, as Messages
   wants them alternating. */
static int conv_messages(const char *key, const json_t *v, json_t *out, sw_xlate_err *err)
{
    if (!json_is_array(v))
        return sw_xlate_refuse(err, key, "'messages' must be a list of chat messages");
    json_t *list = json_array();
    sw_buf system = {0};
    int rc = 0;
    size_t i;
    json_t *msg;
    json_array_foreach(v, i, msg)
    {
        const char *role = json_string_value(json_object_get(msg, "role"));
        char where[64];
        snprintf(where, sizeof where, "messages[%zu]", i);
        if (!role) {
            rc = sw_xlate_refuse(err, where, "%s has no role", where);
            break;
        }
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            if (system.len)
                sw_buf_append(&system, "\n\n", 2);
            if ((rc = text_of(json_object_get(msg, "content"), &system, where, err)) < 0)
                break;
            continue;
        }
        const char *as = strcmp(role, "assistant") == 0 ? "assistant" : "user";
        json_t *last = json_array_get(list, json_array_size(list) - 1);
        json_t *blocks;
        if (last && strcmp(json_string_value(json_object_get(last, "role")), as) == 0) {
            blocks = json_object_get(last, "content");
        } else {
            blocks = json_array();
            json_array_append_new(list, json_pack("{s:s, s:o}", "role", as, "content", blocks));
        }
        if (strcmp(role, "user") == 0)
            rc = user_blocks(json_object_get(msg, "content"), blocks, i, err);
        else if (strcmp(role, "assistant") == 0)
            rc = assistant_blocks(msg, blocks, i, err);
        else if (strcmp(role, "tool") == 0)
            rc = tool_block(msg, blocks, i, err);
        else
            rc = sw_xlate_refuse(err, where, "%s: role '%s' cannot be translated", where, role);
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        json_object_set_new(out, "messages", list);
        if (system.len)
            json_object_set_new(out, "system", json_stringn(system.data, system.len));
    } else {
        json_decref(list);
    }
    sw_buf_free(&system);
    return rc;
}

json_t *sw_xlate_cm_request(const json_t *req, sw_xlate_err *err)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v)
    {
        if (convert_field(k, v, out, 0, err) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- the answer ---- */

/* Chat's usage from Anthropic's counts: prompt tokens are all three input parts. */
static json_t *chat_usage(uint32_t input, uint32_t cache_read, uint32_t cache_write,
                          uint32_t output)
{
    json_int_t prompt = (json_int_t)input + cache_read + cache_write;
    return json_pack("{s:I, s:I, s:I, s:{s:I}}", "prompt_tokens", prompt, "completion_tokens",
                     (json_int_t)output, "total_tokens", prompt + output, "prompt_tokens_details",
                     "cached_tokens", (json_int_t)cache_read);
}

json_t *sw_xlate_cm_response(const json_t *resp)
{
    json_t *message = json_pack("{s:s, s:n}", "role", "assistant", "content");
    json_t *calls = json_array();
    sw_buf text = {0};
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(resp, "content"), i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!type)
            continue;
        if (strcmp(type, "text") == 0) {
            const json_t *t = json_object_get(b, "text");
            sw_buf_append(&text, json_string_value(t), json_string_length(t));
        } else if (strcmp(type, "tool_use") == 0) {
            char *args = json_dumps(json_object_get(b, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
            const char *id = json_string_value(json_object_get(b, "id"));
            const char *name = json_string_value(json_object_get(b, "name"));
            json_array_append_new(calls,
                                  json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id ? id : "", "type",
                                            "function", "function", "name", name ? name : "",
                                            "arguments", args ? args : "{}"));
            free(args);
        }
    }
    if (text.len || json_array_size(calls) == 0)
        json_object_set_new(message, "content", json_stringn(text.data ? text.data : "", text.len));
    sw_buf_free(&text);
    if (json_array_size(calls))
        json_object_set_new(message, "tool_calls", calls);
    else
        json_decref(calls);
    const char *finish =
        sw_xlate_stop_to_finish(json_string_value(json_object_get(resp, "stop_reason")));
    const json_t *u = json_object_get(resp, "usage");
    const char *id = json_string_value(json_object_get(resp, "id"));
    const char *model = json_string_value(json_object_get(resp, "model"));
    json_t *out = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}]}", "id", id ? id : "",
                            "object", "chat.completion", "created", (json_int_t)time(NULL), "model",
                            model ? model : "", "choices", "index", 0, "message", message,
                            "logprobs", "finish_reason", finish ? finish : "stop");
    json_object_set_new(
        out, "usage",
        chat_usage(sw_completion_u32(json_object_get(u, "input_tokens")),
                   sw_completion_u32(json_object_get(u, "cache_read_input_tokens")),
                   sw_completion_u32(json_object_get(u, "cache_creation_input_tokens")),
                   sw_completion_u32(json_object_get(u, "output_tokens"))));
    return out;
}

/* ---- the stream ---- */

struct sw_xlate_stream {
    char *id, *model;
    json_int_t created;
    int include_usage, done;
    int *tool_of_block; /* a content block's Chat tool call index; -1 text, -2 skipped */
    size_t n_blocks;
    int tools;
    uint32_t input, cache_read, cache_write, output;
};

sw_xlate_stream *sw_xlate_cm_stream_new(const json_t *req)
{
    sw_xlate_stream *s = sw_xcalloc(1, sizeof *s);
    s->created = (json_int_t)time(NULL);
    s->include_usage =
        json_is_true(json_object_get(json_object_get(req, "stream_options"), "include_usage"));
    return s;
}

void sw_xlate_cm_stream_free(sw_xlate_stream *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->model);
    free(s->tool_of_block);
    free(s);
}

static json_t *chunk(sw_xlate_stream *s, json_t *choices)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:o}", "id", s->id ? s->id : "", "object",
                     "chat.completion.chunk", "created", s->created, "model",
                     s->model ? s->model : "", "choices", choices);
}

static void emit_delta(sw_xlate_stream *s, json_t *delta, const char *finish, sw_buf *out)
{
    json_t *choice = json_pack("{s:i, s:o, s:n}", "index", 0, "delta", delta, "logprobs");
    json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
    sw_xlate_emit(out, NULL, chunk(s, json_pack("[o]", choice)));
}

static int block_tool(const sw_xlate_stream *s, const json_t *index)
{
    json_int_t i = json_integer_value(index);
    return json_is_integer(index) && i >= 0 && (size_t)i < s->n_blocks ? s->tool_of_block[i] : -2;
}

static void block_start(sw_xlate_stream *s, const json_t *data, sw_buf *out)
{
    const json_t *index = json_object_get(data, "index");
    json_int_t i = json_integer_value(index);
    if (!json_is_integer(index) || i < 0 || i > 4096)
        return;
    if ((size_t)i >= s->n_blocks) {
        s->tool_of_block = sw_xrealloc(s->tool_of_block, ((size_t)i + 1) * sizeof(int));
        for (size_t k = s->n_blocks; k <= (size_t)i; k++)
            s->tool_of_block[k] = -2;
        s->n_blocks = (size_t)i + 1;
    }
    const json_t *b = json_object_get(data, "content_block");
    const char *type = json_string_value(json_object_get(b, "type"));
    if (type && strcmp(type, "text") == 0) {
        s->tool_of_block[i] = -1;
    } else if (type && strcmp(type, "tool_use") == 0) {
        int t = s->tools++;
        s->tool_of_block[i] = t;
        const char *id = json_string_value(json_object_get(b, "id"));
        const char *name = json_string_value(json_object_get(b, "name"));
        emit_delta(s,
                   json_pack("{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index", t, "id",
                             id ? id : "", "type", "function", "function", "name", name ? name : "",
                             "arguments", ""),
                   NULL, out);
    }
}

static void block_delta(sw_xlate_stream *s, const json_t *data, sw_buf *out)
{
    const json_t *d = json_object_get(data, "delta");
    const char *type = json_string_value(json_object_get(d, "type"));
    int t = block_tool(s, json_object_get(data, "index"));
    if (!type)
        return;
    if (strcmp(type, "text_delta") == 0 && t == -1) {
        const json_t *text = json_object_get(d, "text");
        if (json_is_string(text))
            emit_delta(s, json_pack("{s:O}", "content", text), NULL, out);
    } else if (strcmp(type, "input_json_delta") == 0 && t >= 0) {
        const json_t *part = json_object_get(d, "partial_json");
        if (json_is_string(part))
            emit_delta(s,
                       json_pack("{s:[{s:i, s:{s:O}}]}", "tool_calls", "index", t, "function",
                                 "arguments", part),
                       NULL, out);
    }
}

static void input_usage(sw_xlate_stream *s, const json_t *u)
{
    if (json_object_get(u, "input_tokens"))
        s->input = sw_completion_u32(json_object_get(u, "input_tokens"));
    if (json_object_get(u, "cache_read_input_tokens"))
        s->cache_read = sw_completion_u32(json_object_get(u, "cache_read_input_tokens"));
    if (json_object_get(u, "cache_creation_input_tokens"))
        s->cache_write = sw_completion_u32(json_object_get(u, "cache_creation_input_tokens"));
    if (json_object_get(u, "output_tokens"))
        s->output = sw_completion_u32(json_object_get(u, "output_tokens"));
}

static void stream_finish(sw_xlate_stream *s, sw_buf *out)
{
    if (s->done)
        return;
    s->done = 1;
    if (s->include_usage) {
        json_t *c = chunk(s, json_array());
        json_object_set_new(c, "usage",
                            chat_usage(s->input, s->cache_read, s->cache_write, s->output));
        sw_xlate_emit(out, NULL, c);
    }
    sw_buf_puts(out, "data: [DONE]\n\n");
}

void sw_xlate_cm_stream_event(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                              sw_buf *out)
{
    json_t *d = json_loadb(data, len, 0, NULL);
    if (!json_is_object(d) || s->done) {
        json_decref(d);
        return;
    }
    if (!name)
        name = json_string_value(json_object_get(d, "type"));
    if (!name)
        name = "";
    if (strcmp(name, "message_start") == 0) {
        const json_t *m = json_object_get(d, "message");
        free(s->id);
        free(s->model);
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *model = json_string_value(json_object_get(m, "model"));
        s->id = id ? sw_xstrdup(id) : NULL;
        s->model = model ? sw_xstrdup(model) : NULL;
        input_usage(s, json_object_get(m, "usage"));
        emit_delta(s, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL, out);
    } else if (strcmp(name, "content_block_start") == 0) {
        block_start(s, d, out);
    } else if (strcmp(name, "content_block_delta") == 0) {
        block_delta(s, d, out);
    } else if (strcmp(name, "message_delta") == 0) {
        input_usage(s, json_object_get(d, "usage"));
        const char *stop =
            json_string_value(json_object_get(json_object_get(d, "delta"), "stop_reason"));
        if (stop)
            emit_delta(s, json_object(), sw_xlate_stop_to_finish(stop), out);
    } else if (strcmp(name, "message_stop") == 0) {
        stream_finish(s, out);
    } else if (strcmp(name, "error") == 0) {
        const json_t *e = json_object_get(d, "error");
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *type = json_string_value(json_object_get(e, "type"));
        sw_xlate_emit(out, NULL,
                      json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message",
                                msg ? msg : "the provider's stream failed", "type",
                                type ? type : "api_error", "param", "code"));
    }
    json_decref(d);
}

void sw_xlate_cm_stream_end(sw_xlate_stream *s, sw_buf *out)
{
    stream_finish(s, out);
}
