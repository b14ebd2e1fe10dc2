/* request.c - validating a model request (each protocol's) and reducing it for matching. */
#include "request.h"

#include "proto/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(sw_mock_refusal *why, const char *param, const char *code, const char *fmt, ...)
    SW_PRINTF(4, 5);

static int refuse(sw_mock_refusal *why, const char *param, const char *code, const char *fmt, ...)
{
    why->status = 400;
    why->type = "invalid_request_error";
    why->code = code;
    snprintf(why->param, sizeof why->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof why->message, fmt, ap);
    va_end(ap);
    return -1;
}

int64_t sw_mock_tokens(uint64_t bytes)
{
    return (int64_t)((bytes + 3) / 4);
}

/* The text of a message's content: a string, or the text parts of an array. */
static void content_text(const json_t *content, sw_buf *out)
{
    if (json_is_string(content)) {
        sw_buf_append(out, json_string_value(content), json_string_length(content));
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part)
    {
        json_t *text = json_object_get(part, "text");
        if (json_is_string(text))
            sw_buf_append(out, json_string_value(text), json_string_length(text));
    }
    sw_buf_append(out, "", 0);
}

static const char *const chat_roles[] = {"system", "developer", "user", "assistant",
                                         "tool",   "function",  NULL};
static const char *const responses_roles[] = {"user", "assistant", "system", "developer", NULL};
static const char *const messages_roles[] = {"user", "assistant", NULL};

/* msg's role when msg is an object with one of roles, else NULL. */
static const char *known_role(const json_t *msg, const char *const *roles)
{
    const char *role = json_string_value(json_object_get(msg, "role"));
    for (size_t i = 0; json_is_object(msg) && role && roles[i]; i++)
        if (strcmp(role, roles[i]) == 0)
            return role;
    return NULL;
}

/* Refuse the request for the role of list[i] (the parser's two buffers are released). */
static int refuse_role(sw_mock_refusal *why, const char *list, size_t i, const char *expected,
                       sw_buf *system, sw_buf *text)
{
    sw_buf_free(system);
    sw_buf_free(text);
    char param[48];
    snprintf(param, sizeof param, "%s[%zu].role", list, i);
    return refuse(why, param, "invalid_value", "Invalid value for '%s': expected one of %s", param,
                  expected);
}

/* The name of the tool whose call has this id, searching back from message i. */
static const char *tool_name_for(const json_t *messages, size_t i, const char *id)
{
    while (i-- > 0) {
        json_t *calls = json_object_get(json_array_get(messages, i), "tool_calls");
        size_t k;
        json_t *call;
        json_array_foreach(calls, k, call)
        {
            const char *cid = json_string_value(json_object_get(call, "id"));
            if (cid && strcmp(cid, id) == 0)
                return json_string_value(
                    json_object_get(json_object_get(call, "function"), "name"));
        }
    }
    return NULL;
}

static int positive_int(const json_t *root, const char *key, int64_t *out, sw_mock_refusal *why)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return refuse(why, key, "invalid_value", "Invalid '%s': expected an integer of at least 1",
                      key);
    *out = json_integer_value(v);
    return 0;
}

/* What every protocol's request starts with: a JSON object naming a model, and `stream`. */
static int load_root(const char *body, size_t len, sw_proto_id proto, sw_mock_req *out,
                     sw_mock_refusal *why)
{
    memset(out, 0, sizeof *out);
    out->proto = proto;
    out->max_tokens = -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root)
        return refuse(why, NULL, "invalid_json",
                      "We could not parse the JSON body of your request: %s (line %d, column %d)",
                      je.text, je.line, je.column);
    out->root = root;
    if (!json_is_object(root))
        return refuse(why, NULL, "invalid_json", "The request body must be a JSON object");
    out->model = json_string_value(json_object_get(root, "model"));
    if (!out->model || !*out->model)
        return refuse(why, "model", "missing_required_parameter",
                      "You must provide a model parameter");
    json_t *stream = json_object_get(root, "stream");
    if (stream && !json_is_null(stream) && !json_is_boolean(stream))
        return refuse(why, "stream", "invalid_type",
                      "Invalid type for 'stream': expected a boolean");
    out->stream = json_is_true(stream);
    return 0;
}

/* The last steps of every parser: the system text, the prompt's size, the judge flag. */
static void finish(sw_mock_req *out, const sw_mock_scenario *sc, sw_buf *system, uint64_t bytes)
{
    out->system = system->len ? sw_buf_steal(system) : NULL;
    sw_buf_free(system);
    out->prompt_bytes = bytes;
    out->judge = sw_mock_is_judge(sc, out->model, out->system);
}

static void add_system(sw_buf *system, const char *text, size_t len)
{
    if (system->len)
        sw_buf_append(system, "\n", 1);
    sw_buf_append(system, text, len);
}

int sw_mock_req_parse(const char *body, size_t len, const sw_mock_scenario *sc, sw_mock_req *out,
                      sw_mock_refusal *why)
{
    if (load_root(body, len, SW_PROTO_CHAT, out, why) < 0)
        return -1;
    json_t *root = out->root;
    json_t *messages = json_object_get(root, "messages");
    if (!json_is_array(messages))
        return refuse(why, "messages", "missing_required_parameter",
                      "Missing required parameter: 'messages'");
    if (json_array_size(messages) == 0)
        return refuse(why, "messages", "empty_array",
                      "Invalid 'messages': empty array. Expected an array with at least 1 element");
    json_t *usage = json_object_get(json_object_get(root, "stream_options"), "include_usage");
    out->include_usage = json_is_true(usage);
    if (positive_int(root, "max_tokens", &out->max_tokens, why) < 0 ||
        positive_int(root, "max_completion_tokens", &out->max_tokens, why) < 0)
        return -1;
    out->has_tools = json_array_size(json_object_get(root, "tools")) > 0 ||
                     json_array_size(json_object_get(root, "functions")) > 0;

    sw_buf system = {0}, text = {0};
    uint64_t bytes = 0;
    size_t n = json_array_size(messages);
    for (size_t i = 0; i < n; i++) {
        json_t *msg = json_array_get(messages, i);
        const char *role = known_role(msg, chat_roles);
        if (!role)
            return refuse_role(why, "messages", i, "system, developer, user, assistant, tool",
                               &system, &text);
        json_t *content = json_object_get(msg, "content");
        text.len = 0;
        content_text(content, &text);
        bytes += text.len;
        size_t k;
        json_t *call;
        json_array_foreach(json_object_get(msg, "tool_calls"), k, call)
        {
            json_t *fn = json_object_get(call, "function");
            bytes += json_string_length(json_object_get(fn, "name"));
            bytes += json_string_length(json_object_get(fn, "arguments"));
        }
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            add_system(&system, text.data, text.len);
        } else if (strcmp(role, "user") == 0) {
            free(out->user);
            out->user = sw_xstrndup(text.data, text.len);
        }
        if (i == n - 1 && (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0)) {
            out->last_is_tool = 1;
            out->tool_result = sw_xstrndup(text.data, text.len);
            out->tool_name = json_string_value(json_object_get(msg, "name"));
            const char *id = json_string_value(json_object_get(msg, "tool_call_id"));
            if (!out->tool_name && id)
                out->tool_name = tool_name_for(messages, i, id);
        }
    }
    sw_buf_free(&text);
    finish(out, sc, &system, bytes);
    return 0;
}

/* ---- the OpenAI Responses API ---- */

/* The tool of the function_call item with this call_id, searching back from item i. */
static const char *function_name_for(const json_t *items, size_t i, const char *call_id)
{
    while (i-- > 0) {
        const json_t *it = json_array_get(items, i);
        const char *cid = json_string_value(json_object_get(it, "call_id"));
        const char *type = json_string_value(json_object_get(it, "type"));
        if (cid && type && strcmp(type, "function_call") == 0 && strcmp(cid, call_id) == 0)
            return json_string_value(json_object_get(it, "name"));
    }
    return NULL;
}

int sw_mock_req_parse_responses(const char *body, size_t len, const sw_mock_scenario *sc,
                                sw_mock_req *out, sw_mock_refusal *why)
{
    if (load_root(body, len, SW_PROTO_RESPONSES, out, why) < 0)
        return -1;
    json_t *root = out->root;
    json_t *input = json_object_get(root, "input");
    if (input && !json_is_string(input) && !json_is_array(input))
        return refuse(why, "input", "invalid_type",
                      "Invalid type for 'input': expected a string or an array of input items");
    json_t *instructions = json_object_get(root, "instructions");
    if (instructions && !json_is_null(instructions) && !json_is_string(instructions))
        return refuse(why, "instructions", "invalid_type",
                      "Invalid type for 'instructions': expected a string");
    if (positive_int(root, "max_output_tokens", &out->max_tokens, why) < 0)
        return -1;
    out->has_tools = json_array_size(json_object_get(root, "tools")) > 0;
    sw_buf system = {0}, text = {0};
    uint64_t bytes = 0;
    if (json_is_string(instructions)) {
        add_system(&system, json_string_value(instructions), json_string_length(instructions));
        bytes += json_string_length(instructions);
    }
    if (json_is_string(input)) {
        out->user = sw_xstrdup(json_string_value(input));
        bytes += json_string_length(input);
    }
    size_t n = json_array_size(input);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(input, i);
        const char *type = json_string_value(json_object_get(item, "type"));
        text.len = 0;
        if (type && strcmp(type, "function_call") == 0) {
            bytes += json_string_length(json_object_get(item, "name"));
            bytes += json_string_length(json_object_get(item, "arguments"));
            continue;
        }
        if (type && strcmp(type, "function_call_output") == 0) {
            content_text(json_object_get(item, "output"), &text);
            bytes += text.len;
            if (i == n - 1) {
                out->last_is_tool = 1;
                out->tool_result = sw_xstrndup(text.data, text.len);
                const char *id = json_string_value(json_object_get(item, "call_id"));
                out->tool_name = id ? function_name_for(input, i, id) : NULL;
            }
            continue;
        }
        if (type && strcmp(type, "message") != 0)
            continue; /* reasoning, web search calls...: nothing a rule matches on */
        const char *role = known_role(item, responses_roles);
        if (!role)
            return refuse_role(why, "input", i, "user, assistant, system, developer", &system,
                               &text);
        content_text(json_object_get(item, "content"), &text);
        bytes += text.len;
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            add_system(&system, text.data, text.len);
        } else if (strcmp(role, "user") == 0) {
            free(out->user);
            out->user = sw_xstrndup(text.data, text.len);
        }
    }
    sw_buf_free(&text);
    finish(out, sc, &system, bytes);
    return 0;
}

/* ---- Anthropic Messages ---- */

static int is_block(const json_t *b, const char *type)
{
    const char *t = json_string_value(json_object_get(b, "type"));
    return t && strcmp(t, type) == 0;
}

/* The tool of the tool_use block with this id, searching back from message i. */
static const char *tool_use_name_for(const json_t *messages, size_t i, const char *id)
{
    while (i-- > 0) {
        size_t k;
        json_t *b;
        json_array_foreach(json_object_get(json_array_get(messages, i), "content"), k, b)
        {
            const char *bid = json_string_value(json_object_get(b, "id"));
            if (is_block(b, "tool_use") && bid && strcmp(bid, id) == 0)
                return json_string_value(json_object_get(b, "name"));
        }
    }
    return NULL;
}

/* One message's text blocks into text, the bytes of all its blocks counted into *bytes;
   the last block a tool_result gives *result. Returns whether it had any text. */
static int message_blocks(const json_t *content, sw_buf *text, uint64_t *bytes,
                          const json_t **result)
{
    *result = NULL;
    if (json_is_string(content)) {
        sw_buf_append(text, json_string_value(content), json_string_length(content));
        *bytes += json_string_length(content);
        return 1;
    }
    int has_text = 0;
    size_t k;
    json_t *b;
    json_array_foreach(content, k, b)
    {
        *result = NULL;
        if (is_block(b, "text")) {
            json_t *t = json_object_get(b, "text");
            sw_buf_append(text, json_string_value(t), json_string_length(t));
            *bytes += json_string_length(t);
            has_text = 1;
        } else if (is_block(b, "tool_use")) {
            *bytes += json_string_length(json_object_get(b, "name"));
            char *args = json_dumps(json_object_get(b, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
            *bytes += args ? strlen(args) : 0;
            free(args);
        } else if (is_block(b, "tool_result")) {
            sw_buf r = {0};
            content_text(json_object_get(b, "content"), &r);
            *bytes += r.len;
            sw_buf_free(&r);
            *result = b;
        }
    }
    return has_text;
}

int sw_mock_req_parse_messages(const char *body, size_t len, const sw_mock_scenario *sc,
                               sw_mock_req *out, sw_mock_refusal *why)
{
    if (load_root(body, len, SW_PROTO_MESSAGES, out, why) < 0)
        return -1;
    json_t *root = out->root;
    json_t *max = json_object_get(root, "max_tokens");
    if (!max)
        return refuse(why, "max_tokens", "missing_required_parameter",
                      "max_tokens: Field required");
    if (positive_int(root, "max_tokens", &out->max_tokens, why) < 0)
        return -1;
    json_t *messages = json_object_get(root, "messages");
    if (!json_is_array(messages))
        return refuse(why, "messages", "missing_required_parameter", "messages: Field required");
    if (json_array_size(messages) == 0)
        return refuse(why, "messages", "empty_array", "messages: at least one message is required");
    json_t *sys = json_object_get(root, "system");
    if (sys && !json_is_null(sys) && !json_is_string(sys) && !json_is_array(sys))
        return refuse(why, "system", "invalid_type",
                      "system: expected a string or a list of text blocks");
    out->has_tools = json_array_size(json_object_get(root, "tools")) > 0;
    sw_buf system = {0}, text = {0};
    uint64_t bytes = 0;
    if (sys) {
        content_text(sys, &text);
        add_system(&system, text.data, text.len);
        bytes += text.len;
    }
    size_t n = json_array_size(messages);
    for (size_t i = 0; i < n; i++) {
        json_t *msg = json_array_get(messages, i);
        const char *role = known_role(msg, messages_roles);
        if (!role)
            return refuse_role(why, "messages", i, "user, assistant", &system, &text);
        text.len = 0;
        const json_t *result;
        int has_text = message_blocks(json_object_get(msg, "content"), &text, &bytes, &result);
        if (strcmp(role, "user") != 0)
            continue;
        if (has_text) {
            free(out->user);
            out->user = sw_xstrndup(text.data ? text.data : "", text.len);
        }
        if (i == n - 1 && result) {
            sw_buf r = {0};
            content_text(json_object_get(result, "content"), &r);
            out->last_is_tool = 1;
            out->tool_result = sw_xstrndup(r.data ? r.data : "", r.len);
            sw_buf_free(&r);
            const char *id = json_string_value(json_object_get(result, "tool_use_id"));
            out->tool_name = id ? tool_use_name_for(messages, i, id) : NULL;
        }
    }
    sw_buf_free(&text);
    finish(out, sc, &system, bytes);
    return 0;
}

void sw_mock_req_free(sw_mock_req *req)
{
    json_decref(req->root);
    free(req->system);
    free(req->user);
    free(req->tool_result);
    memset(req, 0, sizeof *req);
}

int sw_mock_is_judge(const sw_mock_scenario *sc, const char *model, const char *system)
{
    if (model && strcasestr(model, "judge"))
        return 1;
    for (size_t i = 0; system && i < sc->n_judge_markers; i++)
        if (strcasestr(system, sc->judge_markers[i]))
            return 1;
    return 0;
}
