/* target.c - target settings, conversations, and what the targets share. */
#include "target.h"

#include <stdlib.h>
#include <string.h>

int ev_target_init(ev_target *t, ev_target_kind kind, const char *base_url, const char *api_key,
                   int max_steps, const char *http_json, sw_err *err)
{
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->max_steps = max_steps;
    if (api_key && *api_key) {
        t->key = sw_xstrdup(api_key);
        t->auth = sw_xasprintf("Authorization: Bearer %s", api_key);
    }
    if (kind == EV_TARGET_OPENAI) {
        if (!base_url || !*base_url) {
            ev_target_clear(t);
            return sw_err_set(err, "target openai needs base_url (e.g. http://127.0.0.1:8080/v1)");
        }
        if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
            ev_target_clear(t);
            return sw_err_set(err, "base_url '%s' is not an http:// or https:// URL", base_url);
        }
        size_t n = strlen(base_url);
        while (n && base_url[n - 1] == '/')
            n--;
        t->url = sw_xasprintf("%.*s/chat/completions", (int)n, base_url);
        if (max_steps < 1) {
            ev_target_clear(t);
            return sw_err_set(err, "max_steps must be at least 1");
        }
        return 0;
    }
    if (ev_http_cfg_parse(&t->http, http_json, err) < 0) {
        ev_target_clear(t);
        return -1;
    }
    t->url = sw_xstrdup(t->http.url);
    return 0;
}

void ev_target_clear(ev_target *t)
{
    free(t->url);
    if (t->auth)
        memset(t->auth, 0, strlen(t->auth));
    free(t->auth);
    if (t->key)
        memset(t->key, 0, strlen(t->key));
    free(t->key);
    ev_http_cfg_clear(&t->http);
    memset(t, 0, sizeof *t);
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
    cv->all_replayed = 1;
    cv->out.cost_unknown = !rel->pricing.known;
}

void ev_convo_clear(ev_convo *cv)
{
    free_headers(cv);
    json_decref(cv->messages);
    json_decref(cv->used);
    ev_output_clear(&cv->out);
    memset(cv, 0, sizeof *cv);
}

int ev_convo_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    memset(spec, 0, sizeof *spec);
    free_headers(cv);
    if (cv->t->auth)
        cv->hdr[cv->n_hdr++] = sw_xstrdup(cv->t->auth);
    spec->headers = (const char *const *)cv->hdr;
    spec->url = cv->t->url;
    spec->pool = EV_POOL_TARGET;
    int rc = cv->t->kind == EV_TARGET_OPENAI ? ev_openai_next(cv, spec, key, err)
                                             : ev_http_next(cv, spec, key, err);
    cv->est_tokens = spec->est_tokens;
    return rc;
}

int ev_convo_take(ev_convo *cv, const ev_response *r)
{
    cv->out.attempts += r->attempts;
    if (!r->replayed)
        cv->all_replayed = 0;
    int more = cv->t->kind == EV_TARGET_OPENAI ? ev_openai_take(cv, r) : ev_http_take(cv, r);
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
    int64_t ti = json_integer_value(in), to = json_integer_value(out);
    int64_t cached = json_integer_value(
        json_object_get(json_object_get(usage, "prompt_tokens_details"), "cached_tokens"));
    o->tokens_in += ti;
    o->tokens_out += to;
    o->tokens_cached += cached;
    o->cost_usd += ev_cost(p, ti, to, cached);
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
