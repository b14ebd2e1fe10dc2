/* gateway.c - a request rewritten by a release manifest, in its provider's protocol. */
#include "gateway.h"

#include <stdio.h>
#include <string.h>

sw_proto_id sw_gateway_upstream(int provider_proto, sw_proto_id client)
{
    /* An OpenAI-compatible provider serves Chat Completions and Responses both. */
    if (provider_proto == SW_PROTO_CHAT && client == SW_PROTO_RESPONSES)
        return SW_PROTO_RESPONSES;
    return (sw_proto_id)provider_proto;
}

void sw_gateway_price(const json_t *manifest, sw_price *p)
{
    memset(p, 0, sizeof *p);
    const json_t *pr = json_object_get(manifest, "pricing");
    if (!json_is_object(pr))
        return;
    p->set = 1;
    p->input = json_number_value(json_object_get(pr, "input_per_token"));
    p->output = json_number_value(json_object_get(pr, "output_per_token"));
    p->cached_input = json_number_value(json_object_get(pr, "cached_input_per_token"));
    const char *cur = json_string_value(json_object_get(pr, "currency"));
    snprintf(p->currency, sizeof p->currency, "%s", cur ? cur : "USD");
}
