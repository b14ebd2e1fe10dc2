/*
 * translate.h - an application speaking one protocol served by a provider
 * speaking another (gateway mode): the request, the whole answer, the answer's
 * stream event by event, and the upstream's errors, each rewritten into the
 * other protocol's terms.
 *
 * The pairs are rows of one table (translate.c); each direction is one module
 * whose field mappings are tables too (translate_chat_messages.c: a Chat
 * Completions client, an Anthropic Messages provider; translate_messages_chat.c:
 * the reverse). What one protocol says and the other cannot is refused, with
 * the field named (err->msg, and the param), never dropped in silence. The
 * mapping is docs/router.md's "Translation" table.
 *
 * A stream is translated as it comes: each upstream event gives at once the
 * client events it means (none, one or several), so time to first token is
 * the upstream's.
 */
#ifndef SW_PROTO_TRANSLATE_H
#define SW_PROTO_TRANSLATE_H

#include <jansson.h>

#include "base/util.h"
#include "proto/proto.h"

/* A refusal: the message, and the client request's field it names. */
typedef struct sw_xlate_err {
    char param[96];
    char msg[400];
} sw_xlate_err;

typedef struct sw_xlate_stream sw_xlate_stream;

typedef struct sw_translator {
    sw_proto_id client, upstream;
    /* The client's request in the upstream's terms (new reference), or NULL and err. */
    json_t *(*request)(const json_t *req, sw_xlate_err *err);
    /* The upstream's whole answer in the client's terms (new reference; never NULL). */
    json_t *(*response)(const json_t *resp);
    /* A stream's state; include_usage: the client asked for the usage chunk (Chat). */
    sw_xlate_stream *(*stream_new)(const json_t *req);
    /* One upstream event (its name, or NULL, and its data text): the client's events are
       appended to out, framed ("data: ...\n\n", with "event:" lines where named). */
    void (*stream_event)(sw_xlate_stream *s, const char *name, const char *data, size_t len,
                         sw_buf *out);
    /* The upstream's stream ended cleanly: what the client still needs (its closing events). */
    void (*stream_end)(sw_xlate_stream *s, sw_buf *out);
    void (*stream_free)(sw_xlate_stream *s);
} sw_translator;

/* The translator from a client protocol to an upstream one; NULL when the pair is not
   translated (and for client == upstream, which needs none). */
const sw_translator *sw_translator_find(sw_proto_id client, sw_proto_id upstream);

/* An upstream's error body (any protocol's shape) in the client protocol's shape, with the
   same status (new reference). */
json_t *sw_xlate_error(const sw_proto *client, int status, const json_t *upstream_error);

/* Release parameters (Chat Completions names, as agent.yaml writes them) set on a request in
   Anthropic Messages terms; -1 and err naming the parameter when one has no equivalent. */
int sw_xlate_chat_params_to_messages(const json_t *params, json_t *body, sw_xlate_err *err);
/* A tool definition in Chat form ({"type": "function", "function": {...}}) in Messages form
   ({"name", "description", "input_schema"}); NULL when it is not a function tool. */
json_t *sw_xlate_tool_to_messages(const json_t *chat_tool);

/* The stop reasons, both ways: Chat's finish_reason and Messages' stop_reason (one table,
   translate_chat_messages.c; the eval says every protocol's in Chat's words). */
const char *sw_xlate_finish_to_stop(const char *finish_reason);
const char *sw_xlate_stop_to_finish(const char *stop_reason);

/* Shared by the direction modules: one event framed onto out (name NULL: unnamed). */
void sw_xlate_emit(sw_buf *out, const char *name, json_t *data);
int sw_xlate_refuse(sw_xlate_err *err, const char *param, const char *fmt, ...) SW_PRINTF(3, 4);

#endif
