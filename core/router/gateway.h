/*
 * gateway.h - applying a release to a request, for gateway agents.
 *
 * The release's system prompt is put before the client's own, its pinned model
 * replaces the client's `model`, its tools replace the client's, and its
 * sampling parameters are set (the `extra` ones at the top level), each in the
 * terms of the protocol the provider is called in. The client sends only its
 * conversation; it never sees the release's prompt.
 */
#ifndef SW_ROUTER_GATEWAY_H
#define SW_ROUTER_GATEWAY_H

#include <jansson.h>

#include "base/util.h"
#include "proto/proto.h"
#include "route.h"

/* The protocol a release's provider is called in for a client speaking `client`: the
   client's own when the provider serves it (an OpenAI-compatible provider, protocol chat,
   serves Responses too), else the provider's (the request is then translated). */
sw_proto_id sw_gateway_upstream(int provider_proto, sw_proto_id client);
/* Apply manifest to body, a request in protocol proto (changed in place): Chat, a system
   message first; Responses, `instructions` and flat function tools; Messages, `system`,
   tools with input_schema and max_tokens (the release's, else max_tokens when > 0, else an
   error). A release parameter the protocol has no name for is an error naming it. */
int sw_gateway_apply(const json_t *manifest, sw_proto_id proto, long long max_tokens, json_t *body,
                     sw_err *err);
/* The pricing of a manifest into p (unset when it has none). */
void sw_gateway_price(const json_t *manifest, sw_price *p);

#endif
