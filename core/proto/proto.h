/*
 * proto.h - the wire protocols an agent speaks, as one table: OpenAI Chat
 * Completions, the OpenAI Responses API and Anthropic Messages.
 *
 * Everything the router and the mock need to know about a protocol and not
 * about its meaning is here: the path it is served on, the body fields that
 * name a conversation, how to read usage, text and tool calls from a whole
 * answer and from a stream's events, which stream event is the first token,
 * and the protocol's own error shape. The router and the mock switch on
 * nothing else; a fourth protocol is a fourth row.
 *
 * The readers take what the upstream said and never fail: a field that is
 * missing or of the wrong type reads as nothing (0 tokens, no text), so any
 * bytes an upstream sends are safe to feed them (tests/fuzz/fuzz_proto.c).
 */
#ifndef SW_PROTO_PROTO_H
#define SW_PROTO_PROTO_H

#include <jansson.h>

#include "proto/completion.h"

typedef enum sw_proto_id {
    SW_PROTO_CHAT = 0,  /* POST /v1/chat/completions */
    SW_PROTO_RESPONSES, /* POST /v1/responses */
    SW_PROTO_MESSAGES,  /* POST /v1/messages */
    SW_PROTO_COUNT
} sw_proto_id;

typedef struct sw_proto {
    sw_proto_id id;
    const char *name; /* "chat", "responses", "messages" (slipway traffic --protocol) */
    const char *path; /* appended to a version's base URL: "/chat/completions", ... */
    /* The list of messages a request must carry ("messages"; "input" for Responses, where
       it may also be a string), and whether it may be left out (Responses continuing with
       previous_response_id or a conversation). */
    const char *messages_field;
    int messages_optional;
    /* Body fields naming the conversation, tried after the configured ones (dotted paths,
       NULL-terminated). */
    const char *const *session_fields;
    /* Whether the stream's events are named (an "event:" line before each "data:"). */
    int named_events;
    /* A whole (non-streamed) answer. */
    void (*read_response)(sw_completion *c, const json_t *resp);
    /* One streamed event: its name (NULL when the protocol does not name events, or the
       event had no name: then the data's "type") and its data. */
    void (*read_event)(sw_completion *c, const char *name, const json_t *data);
    /* Whether an event must be parsed for what the metrics need (usage, tool calls, the
       response id): the others are passed on without a JSON parse. name may be NULL;
       data is the event's data text. With collect (shadow pairs) every event is parsed. */
    int (*event_needed)(const char *name, const char *data);
    /* Whether an event carries the first generated token (text, or tool call arguments):
       time to first token is measured to it. */
    int (*first_token)(const char *name);
} sw_proto;

const sw_proto *sw_proto_get(sw_proto_id id);
/* By name ("chat", "responses", "messages"); NULL when unknown. */
const sw_proto *sw_proto_named(const char *name);
/* The protocol a model provider speaks, known from its name alone (a release's model.provider,
   router.yaml's provider names): anthropic speaks Messages, any other name Chat Completions
   (OpenAI-compatible; such a provider serves Responses too). router.yaml may say otherwise for
   a provider it configures (`protocol:`). */
sw_proto_id sw_proto_of_provider(const char *provider);
/* By the end of a request path: "/chat/completions", "/responses", "/messages"; NULL when it
   is none of them. */
const sw_proto *sw_proto_for_path(const char *path);

/* An error body in the protocol's own shape (new reference). Chat Completions and Responses:
   {"error": {"message", "type", "param", "code"}}; Messages: {"type": "error", "error":
   {"type", "message"}}, its type from the status (invalid_request_error, not_found_error,
   rate_limit_error, api_error, overloaded_error, ...) since Anthropic has no codes. type and
   code are OpenAI's (code and param may be NULL). */
json_t *sw_proto_error(const sw_proto *p, int status, const char *type, const char *code,
                       const char *param, const char *message);
/* The same error as one stream event, ready to send ("data: ...\n\n", or with its "event:"
   line). Caller frees. */
char *sw_proto_stream_error(const sw_proto *p, int status, const char *type, const char *code,
                            const char *message);
/* Anthropic's error type for an HTTP status. */
const char *sw_proto_anthropic_error_type(int status);

#endif
