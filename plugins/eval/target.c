/* target.c - target settings, conversations, and what the targets share. */
#include "target.h"

#include <stdlib.h>
#include <string.h>

#include "proto/apply.h"

static int http_url(const char *what, const char *url, sw_err *err)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return sw_err_set(err, "%s '%s' is not an http:// or https:// URL", what, url);
    return 0;
}

static void endpoint_set(ev_endpoint *e, const char *base, sw_proto_id proto, const char *key)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    e->url = sw_xasprintf("%.*s%s", (int)n, base, sw_proto_get(proto)->path);
    if (key && *key) {
        e->key = sw_xstrdup(key);
        e->auth = sw_xasprintf(
            proto == SW_PROTO_MESSAGES ? "x-api-key: %s" : "Authorization: Bearer %s", key);
    }
}

int ev_target_init(ev_target *t, const ev_target_opts *o, sw_err *err)
{
    memset(t, 0, sizeof *t);
    t->kind = o->kind;
    t->proto = o->proto;
    t->max_steps = o->max_steps;
    if (o->kind == EV_TARGET_HTTP) {
        if (ev_http_cfg_parse(&t->http, o->http_json, err) < 0) {
            ev_target_clear(t);
            return -1;
        }
        t->ep[0].url = sw_xstrdup(t->http.url);
        if (o->api_key && *o->api_key) {
            t->ep[0].key = sw_xstrdup(o->api_key);
            t->ep[0].auth = sw_xasprintf("Authorization: Bearer %s", o->api_key);
        }
        return 0;
    }
    if (!o->base_url || !*o->base_url)
        return sw_err_set(err, "target %s needs base_url (e.g. http://127.0.0.1:8080/v1)",
                          o->proto == SW_PROTO_MESSAGES    ? "anthropic"
                          : o->proto == SW_PROTO_RESPONSES ? "openai-responses"
                                                           : "openai");
    if (http_url("base_url", o->base_url, err) < 0 ||
        (o->anthropic_base_url && http_url("anthropic_base_url", o->anthropic_base_url, err) < 0))
        return -1;
    if (o->max_steps < 1)
        return sw_err_set(err, "max_steps must be at least 1");
    for (int p = 0; p < SW_PROTO_COUNT; p++) {
        int own = p == SW_PROTO_MESSAGES;
        endpoint_set(&t->ep[p], own && o->anthropic_base_url ? o->anthropic_base_url : o->base_url,
                     (sw_proto_id)p,
                     own && o->anthropic_api_key ? o->anthropic_api_key : o->api_key);
    }
    t->anthropic_version = sw_xasprintf("anthropic-version: %s",
                                        o->anthropic_version ? o->anthropic_version : "2023-06-01");
    return 0;
}

static void secret_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

void ev_target_clear(ev_target *t)
{
    for (int p = 0; p < SW_PROTO_COUNT; p++) {
        free(t->ep[p].url);
        secret_free(t->ep[p].auth);
        secret_free(t->ep[p].key);
    }
    free(t->anthropic_version);
    ev_http_cfg_clear(&t->http);
    memset(t, 0, sizeof *t);
}

sw_proto_id ev_target_proto(const ev_target *t, const ev_release *rel)
{
    return t->proto >= 0 ? (sw_proto_id)t->proto : sw_proto_of_provider(rel->provider);
}

int64_t ev_release_max_tokens(const ev_release *rel)
{
    json_t *v = json_object_get(rel->params, "max_completion_tokens");
    if (!json_is_integer(v))
        v = json_object_get(rel->params, "max_tokens");
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

int ev_target_check(const ev_target *t, const ev_release *rel, sw_err *err)
{
    if (t->kind != EV_TARGET_MODEL)
        return 0;
    sw_proto_id proto = ev_target_proto(t, rel);
    const char *name = rel->id ? rel->id : rel->model;
    if (proto == SW_PROTO_MESSAGES && ev_release_max_tokens(rel) <= 0)
        return sw_err_set(err,
                          "release %s (%s over Anthropic Messages): parameters.max_tokens is "
                          "missing, and Messages requires it: set it in the release's agent.yaml",
                          name, rel->model);
    if (proto == SW_PROTO_CHAT)
        return 0;
    /* The release applied to an empty conversation: what every request will need. */
    json_t *body = json_pack("{s:[]}", sw_proto_get(proto)->messages_field);
    int rc = sw_proto_apply_release(rel->applied, proto, 0, body, err);
    json_decref(body);
    if (rc < 0)
        return sw_err_prefix(err, "release %s (%s over %s): ", name, rel->model,
                             proto == SW_PROTO_MESSAGES ? "Anthropic Messages"
                                                        : "the OpenAI Responses API");
    return 0;
}

static void free_headers(ev_convo *cv)
{
    for (size_t i = 0; i < cv->n_hdr; i++) {
        if (cv->hdr[i])
            memset(cv->hdr[i], 0, strlen(cv->hdr[i])); /* may hold the API key */
        free(cv->hdr[i]);
    }
    memset(cv->hdr, 0, sizeof cv->hdr);
    cv->n_hdr = 0;
}

void ev_convo_init(ev_convo *cv, const ev_target *t, const ev_release *rel, const ev_case *c,
                   int sample)
{
    memset(cv, 0, sizeof *cv);
    cv->t = t;
    cv->rel = rel;
    cv->c = c;
    cv->sample = sample;
    cv->proto = t->kind == EV_TARGET_MODEL ? ev_target_proto(t, rel) : SW_PROTO_CHAT;
    cv->ep = &t->ep[t->kind == EV_TARGET_MODEL ? cv->proto : 0];
    cv->all_replayed = 1;
    cv->out.cost_unknown = !rel->pricing.known;
}

void ev_convo_clear(ev_convo *cv)
{
    free_headers(cv);
    json_decref(cv->messages);
    json_decref(cv->fixed);
    json_decref(cv->used);
    ev_output_clear(&cv->out);
    memset(cv, 0, sizeof *cv);
}

int ev_convo_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    memset(spec, 0, sizeof *spec);
    free_headers(cv);
    if (cv->ep->auth)
        cv->hdr[cv->n_hdr++] = sw_xstrdup(cv->ep->auth);
    if (cv->t->kind == EV_TARGET_MODEL && cv->proto == SW_PROTO_MESSAGES)
        cv->hdr[cv->n_hdr++] = sw_xstrdup(cv->t->anthropic_version);
    spec->headers = (const char *const *)cv->hdr;
    spec->url = cv->ep->url;
    spec->pool = EV_POOL_TARGET;
    int rc = cv->t->kind == EV_TARGET_MODEL ? ev_model_next(cv, spec, key, err)
                                            : ev_http_next(cv, spec, key, err);
    cv->est_tokens = spec->est_tokens;
    return rc;
}

int ev_convo_take(ev_convo *cv, const ev_response *r)
{
    cv->out.attempts += r->attempts;
    if (!r->replayed)
        cv->all_replayed = 0;
    int more = cv->t->kind == EV_TARGET_MODEL ? ev_model_take(cv, r) : ev_http_take(cv, r);
    if (!more)
        cv->out.replayed = cv->all_replayed && cv->out.steps > 0;
    return more;
}

const json_t *ev_json_path(const json_t *j, const char *path)
{
    if (!path || !*path)
        return j;
    const char *p = path;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *seg = sw_xstrndup(p, n);
        if (json_is_array(j)) {
            char *end;
            long i = strtol(seg, &end, 10);
            j = (*seg && !*end && i >= 0) ? json_array_get(j, (size_t)i) : NULL;
        } else {
            j = json_object_get(j, seg);
        }
        free(seg);
        p = dot ? dot + 1 : p + n;
    }
    return j;
}

void ev_output_add_usage(ev_output *o, const json_t *usage, const ev_pricing *p)
{
    if (!json_is_object(usage)) {
        o->usage_missing = 1;
        return;
    }
    json_t *in = json_object_get(usage, "prompt_tokens");
    json_t *out = json_object_get(usage, "completion_tokens");
    if (!in)
        in = json_object_get(usage, "input_tokens");
    if (!out)
        out = json_object_get(usage, "output_tokens");
    if (!json_is_integer(in) || !json_is_integer(out)) {
        o->usage_missing = 1;
        return;
    }
    sw_completion c;
    sw_completion_init(&c, 0);
    c.has_usage = 1;
    c.tokens_in = sw_completion_u32(in);
    c.tokens_out = sw_completion_u32(out);
    c.cached_in = sw_completion_u32(
        json_object_get(json_object_get(usage, "prompt_tokens_details"), "cached_tokens"));
    ev_output_add_completion(o, &c, p);
    sw_completion_free(&c);
}

void ev_output_add_completion(ev_output *o, const sw_completion *c, const ev_pricing *p)
{
    if (!c->has_usage) {
        o->usage_missing = 1;
        return;
    }
    o->tokens_in += c->tokens_in;
    o->tokens_out += c->tokens_out;
    o->tokens_cached += c->cached_in;
    o->cost_usd += ev_cost(p, c->tokens_in, c->tokens_out, c->cached_in);
}

void ev_output_http_error(ev_output *o, const ev_response *r, const char *secret)
{
    char *ex = ev_excerpt(r->body, 300);
    /* An OpenAI-style error says what went wrong in error.message. */
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    char note[96] = "";
    if (r->attempts > 1 || r->budget_out)
        snprintf(note, sizeof note, " (%d attempt%s%s)", r->attempts, r->attempts == 1 ? "" : "s",
                 r->budget_out ? "; retry budget exhausted" : "");
    char *raw = sw_xasprintf("HTTP %ld%s: %s", r->status, note, msg ? msg : ex);
    free(o->error);
    o->error = ev_scrub(raw, secret);
    free(raw);
    json_decref(j);
    free(ex);
}
