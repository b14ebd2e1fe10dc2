/* proto.c - the table of wire protocols, and each one's error shape. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "proto/readers.h"
#include "store/utf8.h"

static void chat_event(sw_completion *c, const char *name, const json_t *data)
{
    (void)name;
    sw_completion_chunk(c, data);
}

static int chat_needed(const char *name, const char *data)
{
    (void)name;
    return sw_chunk_needed(data);
}

/* A chat stream's first event is its first token: the role chunk comes when the model
   starts to answer. */
static int chat_first_token(const char *name)
{
    (void)name;
    return 1;
}

static const char *const chat_fields[] = {NULL};
static const char *const responses_fields[] = {"conversation", "conversation.id", NULL};
static const char *const messages_fields[] = {"metadata.user_id", NULL};

static const sw_proto protos[SW_PROTO_COUNT] = {
    {SW_PROTO_CHAT, "chat", "/chat/completions", "messages", 0, chat_fields, 0,
     sw_completion_response, chat_event, chat_needed, chat_first_token},
    {SW_PROTO_RESPONSES, "responses", "/responses", "input", 1, responses_fields, 1,
     sw_responses_read, sw_responses_event, sw_responses_needed, sw_responses_first_token},
    {SW_PROTO_MESSAGES, "messages", "/messages", "messages", 0, messages_fields, 1,
     sw_messages_read, sw_messages_event, sw_messages_needed, sw_messages_first_token},
};

const sw_proto *sw_proto_get(sw_proto_id id)
{
    return (unsigned)id < SW_PROTO_COUNT ? &protos[id] : &protos[SW_PROTO_CHAT];
}

const sw_proto *sw_proto_named(const char *name)
{
    for (size_t i = 0; name && i < SW_PROTO_COUNT; i++)
        if (strcmp(protos[i].name, name) == 0)
            return &protos[i];
    return NULL;
}

sw_proto_id sw_proto_of_provider(const char *provider)
{
    return provider && strcmp(provider, "anthropic") == 0 ? SW_PROTO_MESSAGES : SW_PROTO_CHAT;
}

const sw_proto *sw_proto_for_path(const char *path)
{
    for (size_t i = 0; path && i < SW_PROTO_COUNT; i++)
        if (strcmp(protos[i].path, path) == 0)
            return &protos[i];
    return NULL;
}

const char *sw_proto_anthropic_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503:
    case 529:
        return "overloaded_error";
    case 504:
        return "timeout_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

json_t *sw_proto_error(const sw_proto *p, int status, const char *type, const char *code,
                       const char *param, const char *message)
{
    /* Messages quote names from paths, headers and bodies: whatever bytes a client sent
       must not keep the answer from being JSON. */
    char *msg = sw_utf8_scrub(message ? message : "");
    json_t *j;
    if (p->id == SW_PROTO_MESSAGES) {
        j = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                      sw_proto_anthropic_error_type(status), "message", msg);
    } else {
        json_t *e = json_pack("{s:s, s:s}", "message", msg, "type", type ? type : "error");
        json_object_set_new(e, "param", param && *param ? json_string(param) : json_null());
        json_object_set_new(e, "code", code && *code ? json_string(code) : json_null());
        j = json_pack("{s:o}", "error", e);
    }
    free(msg);
    return j;
}

char *sw_proto_stream_error(const sw_proto *p, int status, const char *type, const char *code,
                            const char *message)
{
    json_t *j;
    if (p->id == SW_PROTO_RESPONSES) {
        /* The Responses stream's own error event: flat, with its code. */
        char *msg = sw_utf8_scrub(message ? message : "");
        j = json_pack("{s:s, s:s, s:s, s:n}", "type", "error", "code", code ? code : "error",
                      "message", msg, "param");
        free(msg);
    } else {
        j = sw_proto_error(p, status, type, code, NULL, message);
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *ev = p->named_events ? sw_xasprintf("event: error\ndata: %s\n\n", text)
                               : sw_xasprintf("data: %s\n\n", text);
    free(text);
    return ev;
}
