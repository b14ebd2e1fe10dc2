/* target_http.c - any agent service over HTTP: a body template in, dotted paths out. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/canon.h"
#include "target.h"

static const char *const http_keys[] = {"url",        "headers",       "body",  "answer",
                                        "tool_calls", "finish_reason", "usage", "release_header"};

static char *opt_string(const json_t *cfg, const char *key, const char *def, int *bad)
{
    json_t *v = json_object_get(cfg, key);
    if (!v)
        return def ? sw_xstrdup(def) : NULL;
    if (json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return sw_xstrdup(json_string_value(v));
}

int ev_http_cfg_parse(ev_http_cfg *h, const char *json_text, sw_err *err)
{
    memset(h, 0, sizeof *h);
    json_t *cfg = json_text ? json_loads(json_text, 0, NULL) : NULL;
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return sw_err_set(err, "target http needs `http: {url, body, answer, ...}`");
    }
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        size_t i = 0, n = sizeof http_keys / sizeof *http_keys;
        while (i < n && strcmp(k, http_keys[i]) != 0)
            i++;
        if (i == n) {
            const char *hint = sw_did_you_mean(k, http_keys, n);
            sw_err_set(err, "http: unknown key '%s'%s%s%s", k, hint ? " (did you mean '" : "",
                       hint ? hint : "", hint ? "'?)" : "");
            json_decref(cfg);
            return -1;
        }
    }
    int bad = 0;
    h->url = opt_string(cfg, "url", NULL, &bad);
    h->answer = opt_string(cfg, "answer", "output", &bad);
    h->tool_calls = opt_string(cfg, "tool_calls", "tool_calls", &bad);
    h->finish_reason = opt_string(cfg, "finish_reason", NULL, &bad);
    h->usage = opt_string(cfg, "usage", "usage", &bad);
    h->release_header = opt_string(cfg, "release_header", "X-Slipway-Release", &bad);
    json_t *headers = json_object_get(cfg, "headers");
    json_t *body = json_object_get(cfg, "body");
    h->headers = headers ? json_incref(headers) : json_object();
    h->body = body ? json_incref(body) : json_pack("{s:s}", "input", "{{input}}");
    json_decref(cfg);
    if (bad) {
        ev_http_cfg_clear(h);
        return sw_err_set(err, "http: url, answer, tool_calls, finish_reason, usage and "
                               "release_header are strings");
    }
    if (!h->url || (strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0)) {
        ev_http_cfg_clear(h);
        return sw_err_set(err, "http.url must be an http:// or https:// URL");
    }
    if (!json_is_object(h->headers)) {
        ev_http_cfg_clear(h);
        return sw_err_set(err, "http.headers must be a mapping of names to values");
    }
    return 0;
}

void ev_http_cfg_clear(ev_http_cfg *h)
{
    free(h->url);
    free(h->answer);
    free(h->tool_calls);
    free(h->finish_reason);
    free(h->usage);
    free(h->release_header);
    json_decref(h->headers);
    json_decref(h->body);
    memset(h, 0, sizeof *h);
}

/* The text of a placeholder; NULL for an unknown name. */
static char *placeholder(const ev_convo *cv, const char *name)
{
    if (strcmp(name, "input") == 0)
        return sw_xstrdup(cv->c->input ? cv->c->input : "");
    if (strcmp(name, "case_id") == 0)
        return sw_xstrdup(cv->c->id);
    if (strcmp(name, "release_id") == 0)
        return sw_xstrdup(cv->rel->id ? cv->rel->id : "");
    if (strcmp(name, "sample") == 0)
        return sw_xasprintf("%d", cv->sample);
    const char *var = strncmp(name, "vars.", 5) == 0 ? name + 5 : name;
    json_t *v = json_object_get(cv->c->vars, var);
    return v ? ev_value_text(v) : NULL;
}

static json_t *whole(const ev_convo *cv, const char *s)
{
    if (strcmp(s, "{{messages}}") == 0)
        return json_incref(cv->c->messages);
    if (strcmp(s, "{{vars}}") == 0)
        return json_incref(cv->c->vars);
    if (strcmp(s, "{{tool_results}}") == 0)
        return json_incref(cv->c->tool_results);
    if (strcmp(s, "{{sample}}") == 0)
        return json_integer(cv->sample);
    return NULL;
}

static char *fill_text(const ev_convo *cv, const char *s, sw_err *err)
{
    sw_buf b = {0};
    const char *p = s;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open)
            break;
        const char *close = strstr(open + 2, "}}");
        if (!close)
            break;
        const char *a = open + 2, *z = close;
        while (a < z && isspace((unsigned char)*a))
            a++;
        while (z > a && isspace((unsigned char)z[-1]))
            z--;
        char *name = sw_xstrndup(a, (size_t)(z - a));
        char *val = placeholder(cv, name);
        if (!val) {
            sw_err_set(err, "http body: unknown placeholder '{{%s}}'", name);
            free(name);
            sw_buf_free(&b);
            return NULL;
        }
        sw_buf_append(&b, p, (size_t)(open - p));
        sw_buf_puts(&b, val);
        free(val);
        free(name);
        p = close + 2;
    }
    sw_buf_puts(&b, p);
    return sw_buf_steal(&b);
}

static json_t *render_body(const ev_convo *cv, const json_t *t, sw_err *err)
{
    if (json_is_string(t)) {
        json_t *w = whole(cv, json_string_value(t));
        if (w)
            return w;
        char *s = fill_text(cv, json_string_value(t), err);
        if (!s)
            return NULL;
        json_t *r = json_string(s);
        free(s);
        return r;
    }
    if (json_is_array(t)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(t, i, x)
        {
            json_t *y = render_body(cv, x, err);
            if (!y) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, y);
        }
        return a;
    }
    if (json_is_object(t)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)t, k, x)
        {
            json_t *y = render_body(cv, x, err);
            if (!y) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, k, y);
        }
        return o;
    }
    return json_incref((json_t *)t);
}

int ev_http_next(ev_convo *cv, ev_req_spec *spec, char key[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    const ev_http_cfg *h = &cv->t->http;
    if (cv->rel->id && h->release_header)
        cv->hdr[cv->n_hdr++] = sw_xasprintf("%s: %s", h->release_header, cv->rel->id);
    const char *k;
    json_t *v;
    json_object_foreach(h->headers, k, v)
    {
        if (cv->n_hdr >= EV_MAX_HEADERS - 2)
            return sw_err_set(err, "http.headers: at most %d headers", EV_MAX_HEADERS - 3);
        char *val = json_is_string(v) ? fill_text(cv, json_string_value(v), err) : ev_value_text(v);
        if (!val)
            return -1;
        cv->hdr[cv->n_hdr++] = sw_xasprintf("%s: %s", k, val);
        free(val);
    }
    json_t *body = render_body(cv, h->body, err);
    if (!body)
        return -1;
    char *text = sw_canon_json(body, err);
    json_decref(body);
    if (!text)
        return sw_err_prefix(err, "http body: ");
    /* The release is part of the request: the service answers per release. */
    if (cv->t->keyed) {
        char *keyed =
            sw_xasprintf("{\"body\":%s,\"release\":\"%s\"}", text, cv->rel->id ? cv->rel->id : "");
        ev_cache_key_canon("http", keyed, cv->sample, key);
        free(keyed);
        spec->cache_key = key;
    }
    spec->body = text;
    spec->body_len = strlen(text);
    spec->est_tokens = (int64_t)(spec->body_len / 4);
    return 0;
}

int ev_http_take(ev_convo *cv, const ev_response *r)
{
    const ev_http_cfg *h = &cv->t->http;
    ev_output *o = &cv->out;
    if (r->error) {
        free(o->error);
        o->error = ev_scrub(r->error, cv->ep->key);
        return 0;
    }
    o->steps = 1;
    o->latency_ms += r->latency_ms;
    if (r->status < 200 || r->status > 299) {
        ev_output_http_error(o, r, cv->ep->key);
        return 0;
    }
    json_t *root = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    if (!root) {
        free(o->error);
        char *ex = ev_excerpt(r->body, 200);
        o->error = sw_xasprintf("the service's answer is not JSON: %s", ex);
        free(ex);
        return 0;
    }
    const json_t *ans = ev_json_path(root, h->answer);
    if (!ans) {
        free(o->error);
        o->error = sw_xasprintf("no answer at '%s' in the service's response", h->answer);
        json_decref(root);
        return 0;
    }
    free(o->text);
    o->text = ev_value_text(ans);
    const json_t *calls = h->tool_calls ? ev_json_path(root, h->tool_calls) : NULL;
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const json_t *fn = json_object_get(c, "function") ? json_object_get(c, "function") : c;
        json_t *args = json_object_get(fn, "arguments");
        char *atext = json_is_string(args) ? sw_xstrdup(json_string_value(args))
                      : args               ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY)
                                           : sw_xstrdup("{}");
        ev_output_add_call(o, json_string_value(json_object_get(c, "id")),
                           json_string_value(json_object_get(fn, "name")), atext);
        free(atext);
    }
    const json_t *fr = h->finish_reason ? ev_json_path(root, h->finish_reason) : NULL;
    free(o->finish_reason);
    o->finish_reason = sw_xstrdup(json_string_value(fr));
    const json_t *usage = h->usage ? ev_json_path(root, h->usage) : NULL;
    if (usage)
        ev_output_add_usage(o, usage, &cv->rel->pricing);
    else
        o->usage_missing = 1;
    json_decref(root);
    return 0;
}
