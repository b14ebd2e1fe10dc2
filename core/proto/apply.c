/* apply.c - a release manifest applied to a request, in one protocol's terms. */
#include "proto/apply.h"

#include <stdlib.h>
#include <string.h>

#include "proto/translate.h"

static void apply_system(sw_proto_id proto, const char *system, json_t *body)
{
    if (proto == SW_PROTO_CHAT) {
        json_array_insert_new(json_object_get(body, "messages"), 0,
                              json_pack("{s:s, s:s}", "role", "system", "content", system));
        return;
    }
    /* Responses' instructions and Messages' system: the release's first, then the client's. */
    const char *field = proto == SW_PROTO_RESPONSES ? "instructions" : "system";
    json_t *mine = json_object_get(body, field);
    if (json_is_array(mine)) {
        json_array_insert_new(mine, 0, json_pack("{s:s, s:s}", "type", "text", "text", system));
    } else if (json_is_string(mine) && json_string_length(mine)) {
        char *both = sw_xasprintf("%s\n\n%s", system, json_string_value(mine));
        json_object_set_new(body, field, json_string(both));
        free(both);
    } else {
        json_object_set_new(body, field, json_string(system));
    }
}

/* A release tool (its Chat definition) in the provider's terms. */
static json_t *tool_for(sw_proto_id proto, const json_t *def)
{
    if (proto == SW_PROTO_MESSAGES)
        return sw_xlate_tool_to_messages(def);
    if (proto == SW_PROTO_RESPONSES) {
        const json_t *fn = json_object_get(def, "function");
        if (!json_is_string(json_object_get(fn, "name")))
            return NULL;
        json_t *t = json_deep_copy(fn);
        json_object_set_new(t, "type", json_string("function"));
        return t;
    }
    return json_incref((json_t *)def);
}

/* parameters.extra: provider-specific fields, set on the body as they are in every protocol. */
static void apply_extra(const json_t *extra, json_t *body)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)extra, k, v) json_object_set(body, k, v);
}

/* Release parameters (Chat names) in Responses terms: renamed, or refused by name. */
static int responses_params(const json_t *params, json_t *body, sw_err *err)
{
    static const struct {
        const char *chat, *responses; /* NULL: no equivalent */
    } names[] = {
        {"max_tokens", "max_output_tokens"},
        {"max_completion_tokens", "max_output_tokens"},
        {"temperature", "temperature"},
        {"top_p", "top_p"},
        {"parallel_tool_calls", "parallel_tool_calls"},
        {"tool_choice", "tool_choice"},
        {"reasoning_effort", "reasoning"},
        {"seed", NULL},
        {"stop", NULL},
        {"frequency_penalty", NULL},
        {"presence_penalty", NULL},
    };
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        if (strcmp(k, "extra") == 0) {
            apply_extra(v, body);
            continue;
        }
        size_t i = 0, n = sizeof names / sizeof names[0];
        while (i < n && strcmp(names[i].chat, k) != 0)
            i++;
        if (i == n || !names[i].responses)
            return sw_err_set(err,
                              "the release's parameter '%s' has no OpenAI Responses equivalent "
                              "(set it under parameters.extra, or leave it out)",
                              k);
        const char *name = names[i].responses;
        const char *fn = json_string_value(json_object_get(json_object_get(v, "function"), "name"));
        if (strcmp(name, "reasoning") == 0)
            json_object_set_new(body, name, json_pack("{s:O}", "effort", v));
        else if (strcmp(name, "tool_choice") == 0 && fn)
            json_object_set_new(body, name,
                                json_pack("{s:s, s:s}", "type", "function", "name", fn));
        else
            json_object_set(body, name, v);
    }
    return 0;
}

static int apply_params(sw_proto_id proto, const json_t *params, json_t *body, sw_err *err)
{
    if (proto == SW_PROTO_RESPONSES)
        return responses_params(params, body, err);
    if (proto == SW_PROTO_MESSAGES) {
        sw_xlate_err xe = {{0}, {0}};
        if (sw_xlate_chat_params_to_messages(params, body, &xe) < 0)
            return sw_err_set(err, "the release's parameter %s", xe.msg);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        if (strcmp(k, "extra") == 0)
            apply_extra(v, body);
        else
            json_object_set(body, k, v);
    }
    return 0;
}

int sw_proto_apply_release(const json_t *manifest, sw_proto_id proto, long long max_tokens,
                           json_t *body, sw_err *err)
{
    const char *model =
        json_string_value(json_object_get(json_object_get(manifest, "model"), "name"));
    if (!model)
        return sw_err_set(err, "the release manifest names no model");
    if (proto != SW_PROTO_RESPONSES && !json_is_array(json_object_get(body, "messages")))
        return sw_err_set(err, "'messages' must be a list");
    json_object_set_new(body, "model", json_string(model));
    const char *system = json_string_value(
        json_object_get(json_object_get(json_object_get(manifest, "prompts"), "system"), "text"));
    if (system)
        apply_system(proto, system, body);
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(manifest, "tools"), i, t)
    {
        json_t *def = json_object_get(t, "definition");
        json_t *mine = json_is_object(def) ? tool_for(proto, def) : NULL;
        if (mine)
            json_array_append_new(tools, mine);
    }
    if (json_array_size(tools) > 0) {
        json_object_set_new(body, "tools", tools);
    } else {
        json_decref(tools);
        json_object_del(body, "tools");
        json_object_del(body, "tool_choice");
        json_object_del(body, "parallel_tool_calls");
    }
    if (apply_params(proto, json_object_get(manifest, "parameters"), body, err) < 0)
        return -1;
    if (proto == SW_PROTO_MESSAGES && !json_object_get(body, "max_tokens")) {
        if (max_tokens <= 0)
            return sw_err_set(err, "Anthropic Messages needs max_tokens, and neither the request "
                                   "nor the release sets it: set parameters.max_tokens in the "
                                   "release's agent.yaml (or max_tokens on the provider in "
                                   "router.yaml)");
        json_object_set_new(body, "max_tokens", json_integer(max_tokens));
    }
    return 0;
}
