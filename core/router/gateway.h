/*
 * gateway.h - applying a release to a request, for gateway agents.
 *
 * The release is applied by sw_proto_apply_release (proto/apply.h), in the
 * terms of the protocol the provider is called in. The client sends only its
 * conversation; it never sees the release's prompt.
 */
#ifndef SW_ROUTER_GATEWAY_H
#define SW_ROUTER_GATEWAY_H

#include <jansson.h>

#include "base/util.h"
#include "proto/apply.h"
#include "proto/proto.h"
#include "route.h"

/* The protocol a release's provider is called in for a client speaking `client`: the
   client's own when the provider serves it (an OpenAI-compatible provider, protocol chat,
   serves Responses too), else the provider's (the request is then translated). */
sw_proto_id sw_gateway_upstream(int provider_proto, sw_proto_id client);
/* The pricing of a manifest into p (unset when it has none). */
void sw_gateway_price(const json_t *manifest, sw_price *p);

#endif
