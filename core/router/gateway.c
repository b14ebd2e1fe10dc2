/* gateway.c - a chat request rewritten by a release manifest. */
#include "gateway.h"

#include <stdio.h>
#include <string.h>

int sw_gateway_apply(const json_t *manifest, json_t *body, sw_err *err)
{
    const char *model =
        json_string_value(json_object_get(json_object_get(manifest, "model"), "name"));
    if (!model)
        return sw_err_set(err, "the release manifest names no model");
    json_t *messages = json_object_get(body, "messages");
    if (!json_is_array(messages))
        return sw_err_set(err, "'messages' must be a list");
    json_object_set_new(body, "model", json_string(model));
    const char *system = json_string_value(
        json_object_get(json_object_get(json_object_get(manifest, "prompts"), "system"), "text"));
    if (system)
        json_array_insert_new(messages, 0,
                              json_pack("{s:s, s:s}", "role", "system", "content", system));
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(manifest, "tools"), i, t)
    {
        json_t *def = json_object_get(t, "definition");
        if (json_is_object(def))
            json_array_append(tools, def);
    }
    if (json_array_size(tools) > 0) {
        json_object_set_new(body, "tools", tools);
    } else {
        json_decref(tools);
        json_object_del(body, "tools");
        json_object_del(body, "tool_choice");
        json_object_del(body, "parallel_tool_calls");
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(manifest, "parameters"), k, v)
    {
        if (strcmp(k, "extra") == 0) {
            const char *ek;
            json_t *ev;
            json_object_foreach(v, ek, ev) json_object_set(body, ek, ev);
        } else {
            json_object_set(body, k, v);
        }
    }
    return 0;
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
