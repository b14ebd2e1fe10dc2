/*
 * gateway.h - applying a release to a request, for gateway agents.
 *
 * The release's system prompt is put before the client's messages, its pinned
 * model replaces the client's `model`, its tools replace the client's, and its
 * sampling parameters are set (the `extra` ones at the top level). The client
 * sends only its conversation; it never sees the release's prompt.
 */
#ifndef SW_ROUTER_GATEWAY_H
#define SW_ROUTER_GATEWAY_H

#include <jansson.h>

#include "base/util.h"
#include "route.h"

/* Apply manifest to body (a chat completion request, changed in place). */
int sw_gateway_apply(const json_t *manifest, json_t *body, sw_err *err);
/* The pricing of a manifest into p (unset when it has none). */
void sw_gateway_price(const json_t *manifest, sw_price *p);

#endif
