/*
 * apply.h - a release applied to a request, in the terms of the protocol its
 * provider is called in. The router's gateway mode applies a release to each
 * client request with it; the eval stage builds its requests with it, so a
 * release is evaluated exactly as production will call its model.
 *
 * The release's system prompt is put before the request's own, its pinned model
 * replaces `model`, its tools replace the request's, and its sampling parameters
 * are set (the `extra` ones at the top level): Chat Completions, a system message
 * first; Responses, `instructions` and flat function tools; Messages, `system`,
 * tools with `input_schema` and `max_tokens` (the request's, else the release's,
 * else max_tokens when > 0, else an error). A release parameter the protocol has
 * no name for is an error naming it.
 */
#ifndef SW_PROTO_APPLY_H
#define SW_PROTO_APPLY_H

#include <jansson.h>

#include "base/util.h"
#include "proto/proto.h"

/* Apply manifest (its model.name, prompts.system.text, tools[].definition in Chat form and
   parameters, as the store keeps them) to body, a request in protocol proto, in place. */
int sw_proto_apply_release(const json_t *manifest, sw_proto_id proto, long long max_tokens,
                           json_t *body, sw_err *err);

#endif
