/* common.c - outcomes, outputs, prices and releases shared by the eval stage. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "store/canon.h"

const char *ev_outcome_name(ev_outcome o)
{
    return o == EV_PASS ? "PASS" : o == EV_FAIL ? "FAIL" : "ERROR";
}

double ev_cost(const ev_pricing *p, int64_t tokens_in, int64_t tokens_out, int64_t cached_in)
{
    if (!p->known)
        return 0;
    if (cached_in < 0 || cached_in > tokens_in)
        cached_in = 0;
    double cached_price = p->cached_input > 0 ? p->cached_input : p->input;
    return (double)(tokens_in - cached_in) * p->input + (double)cached_in * cached_price +
           (double)tokens_out * p->output;
}

static int price(const json_t *pricing, const char *key, double *out, sw_err *err)
{
    json_t *v = json_object_get(pricing, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < 0)
        return sw_err_set(err, "pricing.%s must be a number of USD per token, at least 0", key);
    *out = json_number_value(v);
    return 1;
}

int ev_pricing_parse(const json_t *pricing, ev_pricing *out, sw_err *err)
{
    memset(out, 0, sizeof *out);
    if (!pricing || json_is_null(pricing))
        return 0;
    if (!json_is_object(pricing))
        return sw_err_set(err, "pricing must be a mapping");
    const char *cur = json_string_value(json_object_get(pricing, "currency"));
    if (cur && strcmp(cur, "USD") != 0)
        return sw_err_set(err, "pricing.currency is '%s'; costs are kept in USD", cur);
    int a = price(pricing, "input_per_token", &out->input, err);
    int b = price(pricing, "output_per_token", &out->output, err);
    int c = price(pricing, "cached_input_per_token", &out->cached_input, err);
    if (a < 0 || b < 0 || c < 0)
        return -1;
    if (a == 0 || b == 0)
        return sw_err_set(err, "pricing needs input_per_token and output_per_token");
    out->known = 1;
    return 0;
}

void ev_output_add_call(ev_output *o, const char *id, const char *name, const char *arguments)
{
    o->calls = sw_xrealloc(o->calls, (o->n_calls + 1) * sizeof *o->calls);
    ev_call *c = &o->calls[o->n_calls++];
    c->id = sw_xstrdup(id);
    c->name = sw_xstrdup(name ? name : "");
    c->arguments = sw_xstrdup(arguments ? arguments : "");
    c->args = NULL;
    if (arguments && *arguments) {
        json_t *j = json_loads(arguments, JSON_DECODE_ANY, NULL);
        if (json_is_object(j))
            c->args = j;
        else
            json_decref(j);
    }
}

void ev_output_clear(ev_output *o)
{
    free(o->text);
    free(o->finish_reason);
    for (size_t i = 0; i < o->n_calls; i++) {
        free(o->calls[i].id);
        free(o->calls[i].name);
        free(o->calls[i].arguments);
        json_decref(o->calls[i].args);
    }
    free(o->calls);
    json_decref(o->missing_tools);
    free(o->error);
    memset(o, 0, sizeof *o);
}

json_t *ev_output_calls_json(const ev_output *o)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < o->n_calls; i++) {
        const ev_call *c = &o->calls[i];
        json_t *args = c->args ? json_incref(c->args) : json_string(c->arguments);
        json_array_append_new(arr, json_pack("{s:s, s:o}", "name", c->name, "arguments", args));
    }
    return arr;
}

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t ev_output_hash(const ev_output *o)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *t = o->text ? o->text : "";
    h = fnv(h, t, strlen(t) + 1);
    for (size_t i = 0; i < o->n_calls; i++) {
        const ev_call *c = &o->calls[i];
        h = fnv(h, c->name, strlen(c->name) + 1);
        sw_err err;
        char *canon = c->args ? sw_canon_json(c->args, &err) : NULL;
        const char *a = canon ? canon : c->arguments;
        h = fnv(h, a, strlen(a) + 1);
        free(canon);
    }
    return h;
}

int ev_release_from_manifest(const json_t *m, ev_release *r, sw_err *err)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(m))
        return sw_err_set(err, "a release manifest must be a JSON object");
    const char *model = json_string_value(json_object_get(json_object_get(m, "model"), "name"));
    if (!model || !*model)
        return sw_err_set(err, "the release manifest has no model.name");
    json_t *tools = json_object_get(m, "tools");
    if (tools && !json_is_array(tools))
        return sw_err_set(err, "the release manifest's tools must be a list");
    json_t *params = json_object_get(m, "parameters");
    if (params && !json_is_object(params))
        return sw_err_set(err, "the release manifest's parameters must be a mapping");
    ev_pricing pr;
    json_t *pricing = json_object_get(m, "pricing");
    if (ev_pricing_parse(pricing, &pr, err) < 0)
        return sw_err_prefix(err, "the release manifest's ");
    r->model = sw_xstrdup(model);
    r->id = sw_xstrdup(json_string_value(json_object_get(m, "id")));
    r->agent = sw_xstrdup(json_string_value(json_object_get(m, "agent")));
    r->provider =
        sw_xstrdup(json_string_value(json_object_get(json_object_get(m, "model"), "provider")));
    json_t *sys = json_object_get(json_object_get(m, "prompts"), "system");
    const char *text = json_is_string(sys) ? json_string_value(sys)
                                           : json_string_value(json_object_get(sys, "text"));
    r->system = sw_xstrdup(text);
    r->tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        /* The manifest keeps each tool's definition beside its side-effect class;
           a bare definition is accepted too. */
        json_t *def = json_object_get(t, "definition");
        if (!def)
            def = t;
        if (!json_is_object(def) || !json_is_object(json_object_get(def, "function"))) {
            ev_release_clear(r);
            return sw_err_set(err, "the release manifest's tools[%zu] is not a function tool", i);
        }
        json_array_append(r->tools, def);
    }
    r->params = params ? json_deep_copy(params) : json_object();
    r->pricing_json = pricing ? json_deep_copy(pricing) : NULL;
    r->pricing = pr;
    r->applied = json_pack("{s:{s:s}, s:[], s:O}", "model", "name", r->model, "tools", "parameters",
                           r->params);
    if (r->system)
        json_object_set_new(r->applied, "prompts",
                            json_pack("{s:{s:s}}", "system", "text", r->system));
    json_array_foreach(r->tools, i, t)
    {
        json_array_append_new(json_object_get(r->applied, "tools"),
                              json_pack("{s:O}", "definition", t));
    }
    if (ev_release_canon(r, err) < 0) {
        ev_release_clear(r);
        return -1;
    }
    return 0;
}

/* Body members the eval sets itself; a release's parameters never override them. */
static int reserved(const char *k)
{
    return strcmp(k, "model") == 0 || strcmp(k, "messages") == 0 || strcmp(k, "tools") == 0 ||
           strcmp(k, "stream") == 0 || strcmp(k, "stream_options") == 0;
}

json_t *ev_release_body(const ev_release *r)
{
    json_t *body = json_pack("{s:s}", "model", r->model);
    int tools = json_array_size(r->tools) > 0;
    if (tools)
        json_object_set(body, "tools", r->tools);
    const char *k;
    json_t *v;
    json_object_foreach(r->params, k, v)
    {
        /* OpenAI refuses tool settings on a request without tools. */
        if (reserved(k) ||
            (!tools && (strcmp(k, "parallel_tool_calls") == 0 || strcmp(k, "tool_choice") == 0)))
            continue;
        if (strcmp(k, "extra") == 0 && json_is_object(v)) {
            /* Provider-specific fields go at the top level, as the gateway sets them. */
            const char *ek;
            json_t *ev;
            json_object_foreach(v, ek, ev)
            {
                if (!reserved(ek))
                    json_object_set(body, ek, ev);
            }
            continue;
        }
        json_object_set(body, k, v);
    }
    return body;
}

int ev_release_canon(ev_release *r, sw_err *err)
{
    json_t *body = ev_release_body(r);
    size_t n = json_object_size(body), i = 0;
    const char **keys = sw_xcalloc(n + 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        keys[i++] = k;
    }
    /* Insertion sort by RFC 8785 key order: a handful of keys. */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && sw_canon_keycmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *t = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = t;
        }
    sw_buf head = {0}, tail = {0};
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        sw_buf *b = sw_canon_keycmp(keys[i], "messages") < 0 ? &head : &tail;
        if (b->len)
            sw_buf_puts(b, ",");
        json_t *key = json_string(keys[i]);
        rc = sw_canon_append(b, key, err);
        json_decref(key);
        sw_buf_puts(b, ":");
        if (rc == 0)
            rc = sw_canon_append(b, json_object_get(body, keys[i]), err);
    }
    free(keys);
    json_decref(body);
    if (rc == 0 && r->system) {
        json_t *sys = json_pack("{s:s, s:s}", "role", "system", "content", r->system);
        r->canon_system = sw_canon_json(sys, err);
        json_decref(sys);
        if (!r->canon_system)
            rc = -1;
    }
    sw_buf_append(&head, "", 0);
    sw_buf_append(&tail, "", 0);
    r->canon_head = sw_buf_steal(&head);
    r->canon_tail = sw_buf_steal(&tail);
    return rc < 0 ? sw_err_prefix(err, "the release's request: ") : 0;
}

void ev_release_clear(ev_release *r)
{
    free(r->id);
    free(r->agent);
    free(r->provider);
    free(r->model);
    free(r->system);
    json_decref(r->tools);
    json_decref(r->params);
    json_decref(r->pricing_json);
    free(r->canon_head);
    free(r->canon_tail);
    free(r->canon_system);
    json_decref(r->applied);
    memset(r, 0, sizeof *r);
}

char *ev_scrub(const char *text, const char *secret)
{
    if (!text)
        return NULL;
    size_t n = secret ? strlen(secret) : 0;
    if (n < 4)
        return sw_xstrdup(text);
    sw_buf b = {0};
    const char *p = text, *hit;
    while ((hit = strstr(p, secret)) != NULL) {
        sw_buf_append(&b, p, (size_t)(hit - p));
        sw_buf_puts(&b, "***");
        p = hit + n;
    }
    sw_buf_puts(&b, p);
    return sw_buf_steal(&b);
}
