/*
 * readers.h - each protocol's readers, the rows of proto.c's table (internal to
 * core/proto; callers go through sw_proto). The signatures are sw_proto's.
 */
#ifndef SW_PROTO_READERS_H
#define SW_PROTO_READERS_H

#include "proto/completion.h"

/* responses.c: the OpenAI Responses API. */
void sw_responses_read(sw_completion *c, const json_t *resp);
void sw_responses_event(sw_completion *c, const char *name, const json_t *data);
int sw_responses_needed(const char *name, const char *data);
int sw_responses_first_token(const char *name);

/* messages.c: Anthropic Messages. */
void sw_messages_read(sw_completion *c, const json_t *msg);
void sw_messages_event(sw_completion *c, const char *name, const json_t *data);
int sw_messages_needed(const char *name, const char *data);
int sw_messages_first_token(const char *name);

#endif
