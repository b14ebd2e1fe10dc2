/* request.c - validating a chat completion request and reducing it for matching. */
#include "request.h"

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

static int is_role(const char *role)
{
    static const char *const roles[] = {"system",    "developer", "user",
                                        "assistant", "tool",      "function"};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
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

int sw_mock_req_parse(const char *body, size_t len, const sw_mock_scenario *sc, sw_mock_req *out,
                      sw_mock_refusal *why)
{
    memset(out, 0, sizeof *out);
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
    json_t *messages = json_object_get(root, "messages");
    if (!json_is_array(messages))
        return refuse(why, "messages", "missing_required_parameter",
                      "Missing required parameter: 'messages'");
    if (json_array_size(messages) == 0)
        return refuse(why, "messages", "empty_array",
                      "Invalid 'messages': empty array. Expected an array with at least 1 element");
    json_t *stream = json_object_get(root, "stream");
    if (stream && !json_is_null(stream) && !json_is_boolean(stream))
        return refuse(why, "stream", "invalid_type",
                      "Invalid type for 'stream': expected a boolean");
    out->stream = json_is_true(stream);
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
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (!json_is_object(msg) || !role || !is_role(role)) {
            sw_buf_free(&system);
            sw_buf_free(&text);
            char param[48];
            snprintf(param, sizeof param, "messages[%zu].role", i);
            return refuse(why, param, "invalid_value",
                          "Invalid value for '%s': expected one of system, developer, user, "
                          "assistant, tool",
                          param);
        }
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
            if (system.len)
                sw_buf_append(&system, "\n", 1);
            sw_buf_append(&system, text.data, text.len);
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
    out->system = system.len ? sw_buf_steal(&system) : NULL;
    sw_buf_free(&system);
    out->prompt_bytes = bytes;
    out->judge = sw_mock_is_judge(sc, out->model, out->system);
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
