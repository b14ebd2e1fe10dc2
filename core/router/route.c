/* route.c - routes: parsing and checking their JSON form, rules, assignment. */
#include "route.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/regex.h"
#include "bucket.h"
#include "store/utf8.h"

static const char *const reason_names[] = {"pin", "rule", "split", "override", "migrate"};
static const char *const policy_names[] = {"drain", "migrate", "terminate"};
static const char *const op_names[] = {"eq", "in", "prefix", "regex"};

const char *sw_reason_name(sw_reason r)
{
    return (unsigned)r < 5 ? reason_names[r] : "?";
}

int sw_reason_parse(const char *s, sw_reason *out)
{
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, reason_names[i]) == 0) {
            *out = (sw_reason)i;
            return 0;
        }
    return -1;
}

const char *sw_policy_name(sw_policy p)
{
    return (unsigned)p < 3 ? policy_names[p] : "?";
}

int sw_policy_parse(const char *s, sw_policy *out)
{
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, policy_names[i]) == 0) {
            *out = (sw_policy)i;
            return 0;
        }
    return -1;
}

/* ---- freeing ---- */

static void free_cond(sw_cond *c)
{
    free(c->name);
    for (size_t i = 0; i < c->n_values; i++)
        free(c->values[i]);
    free(c->values);
    if (c->has_re)
        regfree(&c->re);
}

static void free_rule(sw_rule *r)
{
    free(r->name);
    free(r->version);
    for (size_t i = 0; i < r->n_conds; i++)
        free_cond(&r->conds[i]);
    free(r->conds);
}

static void free_version(sw_rversion *v)
{
    free(v->name);
    free(v->url);
    free(v->release);
    free(v->api_key_env);
    free(v->api_key);
    free(v->anthropic_version);
    json_decref(v->manifest);
}

static void route_free(sw_route *r)
{
    free(r->agent);
    free(r->stable);
    free(r->candidate);
    free(r->rollout_id);
    for (size_t i = 0; i < r->n_rules; i++)
        free_rule(&r->rules[i]);
    free(r->rules);
    free(r->shadow);
    for (size_t i = 0; i < r->n_versions; i++)
        free_version(&r->versions[i]);
    free(r->versions);
    json_decref(r->retired);
    free(r->updated_at);
    free(r);
}

sw_route *sw_route_ref(sw_route *r)
{
    if (r)
        r->refs++;
    return r;
}

void sw_route_unref(sw_route *r)
{
    if (r && --r->refs == 0)
        route_free(r);
}

/* ---- parsing ---- */

/* Names and values from a request, as an error quotes them: at most 128 bytes, cut
   on a character boundary, so the message stays valid UTF-8 (its JSON could not be
   made otherwise) and short of the sw_err buffer. Used as "%.*s", SHOWN(s). */
#define SHOWN(s) sw_utf8_clip((s), 128), (s)

static int check_keys(const json_t *o, const char *what, const char *const *known, size_t n,
                      sw_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(known[i], k) != 0)
            i++;
        if (i == n) {
            const char *hint = sw_did_you_mean(k, known, n);
            return sw_err_set(err, "%s: unknown key '%.*s'%s%s%s", what, SHOWN(k),
                              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        }
    }
    return 0;
}

/* NULL (absent or null) is fine; anything but a string is not. */
static int opt_string(const json_t *o, const char *key, const char *what, const char **out,
                      sw_err *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return sw_err_set(err, "%s: '%s' must be a non-empty string", what, key);
    *out = json_string_value(v);
    return 0;
}

static int parse_price(const json_t *j, sw_price *p, const char *what, sw_err *err)
{
    static const char *const known[] = {"currency", "input_per_token", "output_per_token",
                                        "cached_input_per_token"};
    if (!json_is_object(j))
        return sw_err_set(err, "%s: 'pricing' must be an object", what);
    if (check_keys(j, what, known, 4, err) < 0)
        return -1;
    memset(p, 0, sizeof *p);
    double *slots[] = {NULL, &p->input, &p->output, &p->cached_input};
    for (int i = 1; i < 4; i++) {
        const json_t *v = json_object_get(j, known[i]);
        if (!v)
            continue;
        if (!json_is_number(v) || json_number_value(v) < 0)
            return sw_err_set(err, "%s: pricing '%s' must be a number >= 0", what, known[i]);
        *slots[i] = json_number_value(v);
    }
    const char *cur = json_string_value(json_object_get(j, "currency"));
    snprintf(p->currency, sizeof p->currency, "%s", cur && strlen(cur) == 3 ? cur : "USD");
    p->set = 1;
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._:-", *p))
            return 0;
    return 1;
}

static sw_rversion *add_version(sw_route *r, const char *name)
{
    r->versions = sw_xrealloc(r->versions, (r->n_versions + 1) * sizeof *r->versions);
    sw_rversion *v = &r->versions[r->n_versions++];
    memset(v, 0, sizeof *v);
    v->name = sw_xstrdup(name);
    return v;
}

static int parse_versions(sw_route *r, const json_t *vs, const sw_route_ctx *ctx, sw_err *err)
{
    if (vs && !json_is_object(vs))
        return sw_err_set(err, "'versions' must be an object of version name to upstream");
    const char *name;
    json_t *spec;
    json_object_foreach((json_t *)vs, name, spec)
    {
        char what[200];
        snprintf(what, sizeof what, "version '%.*s'", SHOWN(name));
        if (!valid_name(name))
            return sw_err_set(err, "%s: a name is 1 to 128 letters, digits, '.', '_', ':' or '-'",
                              what);
        if (!json_is_object(spec))
            return sw_err_set(err, "%s: expected an object with 'url' or 'release'", what);
        static const char *const known[] = {"url", "release", "pricing"};
        if (check_keys(spec, what, known, 3, err) < 0)
            return -1;
        const char *url, *release;
        if (opt_string(spec, "url", what, &url, err) < 0 ||
            opt_string(spec, "release", what, &release, err) < 0)
            return -1;
        sw_rversion *v = add_version(r, name);
        if (ctx->mode == SW_MODE_SERVICE) {
            if (!url)
                return sw_err_set(err, "%s: a service agent's version needs a 'url'", what);
            if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                return sw_err_set(err, "%s: url '%.*s' must start with http:// or https://", what,
                                  SHOWN(url));
            v->url = sw_xstrdup(url);
            size_t n = strlen(v->url);
            while (n > 0 && v->url[n - 1] == '/') /* "…/v1/" and "…/v1" are one base */
                v->url[--n] = '\0';
        } else {
            if (url)
                return sw_err_set(err,
                                  "%s: a gateway agent's version is a release ('release'), not "
                                  "a url: the provider's url comes from 'providers'",
                                  what);
            v->release = sw_xstrdup(release ? release : name);
        }
        const json_t *pr = json_object_get(spec, "pricing");
        if (pr && !json_is_null(pr) && parse_price(pr, &v->price, what, err) < 0)
            return -1;
    }
    return 0;
}

const sw_rversion *sw_route_find(const sw_route *r, const char *name)
{
    for (size_t i = 0; name && i < r->n_versions; i++)
        if (strcmp(r->versions[i].name, name) == 0)
            return &r->versions[i];
    return NULL;
}

/* A reference to a version: must exist (gateway: added as a release and resolved). */
static int need_version(sw_route *r, const char *name, const char *what, const sw_route_ctx *ctx,
                        sw_err *err)
{
    if (sw_route_find(r, name))
        return 0;
    if (ctx->mode == SW_MODE_GATEWAY && valid_name(name)) {
        sw_rversion *v = add_version(r, name);
        v->release = sw_xstrdup(name);
        return 0;
    }
    size_t n = r->n_versions;
    const char **names = sw_xmalloc((n ? n : 1) * sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = r->versions[i].name;
    const char *hint = sw_did_you_mean(name, names, n);
    sw_err_set(err, "%s '%.*s' is not one of the route's versions%s%s%s", what, SHOWN(name),
               hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    free(names);
    return -1;
}

static int parse_cond(const json_t *j, sw_cond *c, const char *what, sw_err *err)
{
    memset(c, 0, sizeof *c);
    const char *header = json_string_value(json_object_get(j, "header"));
    const char *attr = json_string_value(json_object_get(j, "attr"));
    if (!!header == !!attr || (header && !*header) || (attr && !*attr))
        return sw_err_set(err,
                          "%s: give exactly one of 'header' or 'attr' (a body attribute "
                          "path such as 'metadata.tenant')",
                          what);
    c->header = header != NULL;
    c->name = sw_xstrdup(header ? header : attr);
    if (header)
        for (char *p = c->name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    const char *op = json_string_value(json_object_get(j, "op"));
    int found = -1;
    for (int i = 0; op && i < 4; i++)
        if (strcmp(op, op_names[i]) == 0)
            found = i;
    if (found < 0)
        return sw_err_set(err, "%s: 'op' must be one of eq, in, prefix, regex", what);
    c->op = (sw_cond_op)found;
    const json_t *value = json_object_get(j, "value");
    const json_t *values = json_object_get(j, "values");
    if (c->op == SW_OP_IN) {
        if (!json_is_array(values) || json_array_size(values) == 0 || value)
            return sw_err_set(err, "%s: op 'in' takes 'values', a non-empty list of strings", what);
        c->values = sw_xcalloc(json_array_size(values), sizeof *c->values);
        size_t i;
        json_t *e;
        json_array_foreach(values, i, e)
        {
            if (!json_is_string(e))
                return sw_err_set(err, "%s: 'values' must hold strings only", what);
            c->values[c->n_values++] = sw_xstrdup(json_string_value(e));
        }
        return 0;
    }
    if (!json_is_string(value) || values)
        return sw_err_set(err, "%s: op '%s' takes 'value', a string", what, op_names[c->op]);
    c->values = sw_xcalloc(1, sizeof *c->values);
    c->values[c->n_values++] = sw_xstrdup(json_string_value(value));
    if (c->op == SW_OP_REGEX) {
        sw_err why;
        if (sw_regex_compile(&c->re, c->values[0], REG_EXTENDED | REG_NOSUB, &why) < 0)
            return sw_err_set(err, "%s: bad regex '%.*s': %s", what, SHOWN(c->values[0]), why.msg);
        c->has_re = 1;
    }
    return 0;
}

static int parse_rules(sw_route *r, const json_t *rules, const sw_route_ctx *ctx, sw_err *err)
{
    if (!rules || json_is_null(rules))
        return 0;
    if (!json_is_array(rules))
        return sw_err_set(err, "'rules' must be a list");
    r->rules = sw_xcalloc(json_array_size(rules) + 1, sizeof *r->rules);
    size_t i;
    json_t *j;
    json_array_foreach(rules, i, j)
    {
        char what[160];
        snprintf(what, sizeof what, "rule %zu", i + 1);
        if (!json_is_object(j))
            return sw_err_set(err, "%s: expected an object", what);
        static const char *const known[] = {"name", "version", "all",   "header",
                                            "attr", "op",      "value", "values"};
        if (check_keys(j, what, known, 8, err) < 0)
            return -1;
        sw_rule *rule = &r->rules[r->n_rules++];
        const char *name = json_string_value(json_object_get(j, "name"));
        rule->name = sw_xstrdup(name ? name : what);
        snprintf(what, sizeof what, "rule '%.*s'", SHOWN(rule->name));
        const char *version = json_string_value(json_object_get(j, "version"));
        if (!version)
            return sw_err_set(err, "%s: missing 'version' (where matching requests go)", what);
        rule->version = sw_xstrdup(version);
        if (need_version(r, version, what, ctx, err) < 0)
            return -1;
        const json_t *all = json_object_get(j, "all");
        if (all) {
            if (!json_is_array(all) || json_array_size(all) == 0)
                return sw_err_set(err, "%s: 'all' must be a non-empty list of conditions", what);
            if (json_object_get(j, "op"))
                return sw_err_set(err, "%s: give either 'all' or one condition, not both", what);
            rule->conds = sw_xcalloc(json_array_size(all), sizeof *rule->conds);
            size_t k;
            json_t *c;
            json_array_foreach(all, k, c)
            {
                if (!json_is_object(c))
                    return sw_err_set(err, "%s: condition %zu must be an object", what, k + 1);
                static const char *const ck[] = {"header", "attr", "op", "value", "values"};
                if (check_keys(c, what, ck, 5, err) < 0)
                    return -1;
                rule->n_conds++;
                if (parse_cond(c, &rule->conds[k], what, err) < 0)
                    return -1;
            }
        } else {
            rule->conds = sw_xcalloc(1, sizeof *rule->conds);
            rule->n_conds = 1;
            if (parse_cond(j, &rule->conds[0], what, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_percent(const json_t *v, const char *what, double *out, sw_err *err)
{
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_number(v))
        return sw_err_set(err, "%s must be a number from 0 to 100", what);
    double d = json_number_value(v);
    if (!(d >= 0 && d <= 100))
        return sw_err_set(err, "%s must be from 0 to 100, got %g", what, d);
    if (fabs(d * 100 - round(d * 100)) > 1e-6)
        return sw_err_set(err, "%s has a resolution of 0.01, got %g", what, d);
    *out = round(d * 100) / 100;
    return 0;
}

static sw_route *parse(const char *agent, const json_t *j, const sw_route_ctx *ctx, sw_err *err)
{
    if (!json_is_object(j)) {
        sw_err_set(err, "a route must be a JSON object");
        return NULL;
    }
    /* "agent" and "mode" are what GET shows; they are read back and ignored. */
    static const char *const known[] = {
        "agent",    "version",  "stable",  "candidate",  "weight",     "rules", "shadow",
        "sessions", "versions", "retired", "rollout_id", "updated_at", "mode"};
    if (check_keys(j, "route", known, sizeof known / sizeof *known, err) < 0)
        return NULL;
    sw_route *r = sw_xcalloc(1, sizeof *r);
    r->refs = 1;
    r->agent = sw_xstrdup(agent);
    r->mode = ctx->mode;
    r->retired = json_object();
    const json_t *v = json_object_get(j, "version");
    if (v && !json_is_integer(v)) {
        sw_err_set(err, "'version' (the route's version number) must be an integer");
        goto fail;
    }
    r->version = v ? json_integer_value(v) : 0;
    if (parse_versions(r, json_object_get(j, "versions"), ctx, err) < 0)
        goto fail;
    const char *stable, *candidate, *rollout;
    if (opt_string(j, "stable", "route", &stable, err) < 0 ||
        opt_string(j, "candidate", "route", &candidate, err) < 0 ||
        opt_string(j, "rollout_id", "route", &rollout, err) < 0)
        goto fail;
    if (!stable) {
        sw_err_set(err, "route: missing 'stable' (the version every session goes to by default)");
        goto fail;
    }
    if (need_version(r, stable, "stable", ctx, err) < 0)
        goto fail;
    r->stable = sw_xstrdup(stable);
    if (candidate) {
        if (need_version(r, candidate, "candidate", ctx, err) < 0)
            goto fail;
        r->candidate = sw_xstrdup(candidate);
    }
    if (parse_percent(json_object_get(j, "weight"), "'weight'", &r->weight, err) < 0)
        goto fail;
    if (r->weight > 0 && !r->candidate) {
        sw_err_set(err, "route: 'weight' is %g but there is no 'candidate'", r->weight);
        goto fail;
    }
    /* One rollout id per candidate unless told otherwise: ramping the weight of
       one candidate keeps every session it already had. */
    r->rollout_id = sw_xstrdup(rollout ? rollout : r->candidate ? r->candidate : r->stable);
    if (parse_rules(r, json_object_get(j, "rules"), ctx, err) < 0)
        goto fail;
    const json_t *sh = json_object_get(j, "shadow");
    if (sh && !json_is_null(sh)) {
        static const char *const sk[] = {"version", "percent"};
        if (!json_is_object(sh) || check_keys(sh, "shadow", sk, 2, err) < 0) {
            if (!json_is_object(sh))
                sw_err_set(err, "'shadow' must be an object {version, percent} or null");
            goto fail;
        }
        const char *sv;
        if (opt_string(sh, "version", "shadow", &sv, err) < 0)
            goto fail;
        if (!sv) {
            sw_err_set(err, "shadow: missing 'version'");
            goto fail;
        }
        if (need_version(r, sv, "shadow version", ctx, err) < 0)
            goto fail;
        r->shadow = sw_xstrdup(sv);
        if (parse_percent(json_object_get(sh, "percent"), "shadow 'percent'", &r->shadow_percent,
                          err) < 0)
            goto fail;
    }
    const json_t *sess = json_object_get(j, "sessions");
    if (sess && !json_is_null(sess)) {
        static const char *const sk[] = {"on_change", "ttl_s"};
        if (!json_is_object(sess)) {
            sw_err_set(err, "'sessions' must be an object {on_change, ttl_s}");
            goto fail;
        }
        if (check_keys(sess, "sessions", sk, 2, err) < 0)
            goto fail;
        const json_t *oc = json_object_get(sess, "on_change");
        if (oc && sw_policy_parse(json_string_value(oc), &r->on_change) < 0) {
            sw_err_set(err, "sessions: 'on_change' must be drain, migrate or terminate");
            goto fail;
        }
        const json_t *ttl = json_object_get(sess, "ttl_s");
        if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 0)) {
            sw_err_set(err, "sessions: 'ttl_s' must be an integer >= 0 (0: the router's default)");
            goto fail;
        }
        r->ttl_s = ttl ? (long)json_integer_value(ttl) : 0;
    }
    const json_t *ret = json_object_get(j, "retired");
    if (ret && !json_is_null(ret)) {
        const char *k;
        json_t *pv;
        if (!json_is_object(ret)) {
            sw_err_set(err, "'retired' must be an object of version to policy");
            goto fail;
        }
        json_object_foreach((json_t *)ret, k, pv)
        {
            sw_policy p;
            if (sw_policy_parse(json_string_value(pv), &p) < 0 || p == SW_POLICY_MIGRATE) {
                sw_err_set(err, "retired version '%.*s': policy must be drain or terminate",
                           SHOWN(k));
                goto fail;
            }
            if (!sw_route_find(r, k))
                continue; /* a version since removed: nothing to keep */
            json_object_set_new(r->retired, k, json_string(sw_policy_name(p)));
        }
    }
    const char *upd = json_string_value(json_object_get(j, "updated_at"));
    r->updated_at = sw_xstrdup(upd);
    if (ctx->mode == SW_MODE_GATEWAY) {
        for (size_t i = 0; i < r->n_versions; i++) {
            sw_rversion *ver = &r->versions[i];
            if (!ctx->resolve) {
                continue;
            }
            if (ctx->resolve(ctx->ud, agent, ver, err) < 0) {
                sw_err_prefix(err, "version '%s': ", ver->name);
                goto fail;
            }
        }
    }
    return r;
fail:
    route_free(r);
    return NULL;
}

sw_route *sw_route_from_json(const char *agent, const json_t *j, const sw_route_ctx *ctx,
                             sw_err *err)
{
    return parse(agent, j, ctx, err);
}

static json_t *cond_json(const sw_cond *c)
{
    json_t *o = json_object();
    json_object_set_new(o, c->header ? "header" : "attr", json_string(c->name));
    json_object_set_new(o, "op", json_string(op_names[c->op]));
    if (c->op == SW_OP_IN) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_values; i++)
            json_array_append_new(a, json_string(c->values[i]));
        json_object_set_new(o, "values", a);
    } else {
        json_object_set_new(o, "value", json_string(c->values[0]));
    }
    return o;
}

static json_t *price_json(const sw_price *p)
{
    return json_pack("{s:s, s:f, s:f, s:f}", "currency", p->currency, "input_per_token", p->input,
                     "output_per_token", p->output, "cached_input_per_token", p->cached_input);
}

sw_mode sw_route_json_mode(const json_t *j)
{
    const char *m = json_string_value(json_object_get(j, "mode"));
    return m && strcmp(m, "gateway") == 0 ? SW_MODE_GATEWAY : SW_MODE_SERVICE;
}

json_t *sw_route_to_json(const sw_route *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "agent", json_string(r->agent));
    json_object_set_new(o, "mode", json_string(r->mode == SW_MODE_GATEWAY ? "gateway" : "service"));
    json_object_set_new(o, "version", json_integer(r->version));
    json_object_set_new(o, "stable", json_string(r->stable));
    json_object_set_new(o, "candidate", r->candidate ? json_string(r->candidate) : json_null());
    json_object_set_new(o, "weight", json_real(r->weight));
    json_object_set_new(o, "rollout_id", json_string(r->rollout_id));
    json_t *rules = json_array();
    for (size_t i = 0; i < r->n_rules; i++) {
        const sw_rule *ru = &r->rules[i];
        json_t *jr = json_pack("{s:s, s:s}", "name", ru->name, "version", ru->version);
        if (ru->n_conds == 1) {
            json_t *c = cond_json(&ru->conds[0]);
            json_object_update(jr, c);
            json_decref(c);
        } else {
            json_t *all = json_array();
            for (size_t k = 0; k < ru->n_conds; k++)
                json_array_append_new(all, cond_json(&ru->conds[k]));
            json_object_set_new(jr, "all", all);
        }
        json_array_append_new(rules, jr);
    }
    json_object_set_new(o, "rules", rules);
    json_object_set_new(
        o, "shadow",
        r->shadow ? json_pack("{s:s, s:f}", "version", r->shadow, "percent", r->shadow_percent)
                  : json_null());
    json_object_set_new(o, "sessions",
                        json_pack("{s:s, s:I}", "on_change", sw_policy_name(r->on_change), "ttl_s",
                                  (json_int_t)r->ttl_s));
    json_t *vs = json_object();
    for (size_t i = 0; i < r->n_versions; i++) {
        const sw_rversion *v = &r->versions[i];
        json_t *jv = json_object();
        if (r->mode == SW_MODE_SERVICE)
            json_object_set_new(jv, "url", json_string(v->url));
        else
            json_object_set_new(jv, "release", json_string(v->release));
        if (v->price.set)
            json_object_set_new(jv, "pricing", price_json(&v->price));
        json_object_set_new(vs, v->name, jv);
    }
    json_object_set_new(o, "versions", vs);
    json_object_set(o, "retired", r->retired);
    if (r->updated_at)
        json_object_set_new(o, "updated_at", json_string(r->updated_at));
    return o;
}

int sw_route_is_active(const sw_route *r, const char *name)
{
    if (!name)
        return 0;
    if (strcmp(r->stable, name) == 0 || (r->candidate && strcmp(r->candidate, name) == 0))
        return 1;
    for (size_t i = 0; i < r->n_rules; i++)
        if (strcmp(r->rules[i].version, name) == 0)
            return 1;
    return 0;
}

int sw_route_leaving(const sw_route *old, const sw_route *nr, const char *v)
{
    if (sw_route_is_active(nr, v))
        return 0;
    int was_live = sw_route_is_active(old, v) || json_object_get(old->retired, v);
    return was_live && sw_route_find(nr, v);
}

void sw_route_set_retired(sw_route *nr, const char *v, sw_policy policy)
{
    if (policy == SW_POLICY_MIGRATE)
        json_object_del(nr->retired, v);
    else
        json_object_set_new(nr->retired, v, json_string(sw_policy_name(policy)));
}

void sw_route_retire_leaving(const sw_route *old, sw_route *nr, sw_policy policy)
{
    for (size_t i = 0; i < old->n_versions; i++)
        if (sw_route_leaving(old, nr, old->versions[i].name))
            sw_route_set_retired(nr, old->versions[i].name, policy);
}

/* ---- matching ---- */

const char *sw_attr_text(const json_t *body, const char *path, char tmp[64])
{
    const json_t *cur = body;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur) || n == 0 || n >= 128)
            return NULL;
        char key[128];
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p = dot ? dot + 1 : p + n;
    }
    if (json_is_string(cur))
        return json_string_value(cur);
    if (json_is_integer(cur)) {
        snprintf(tmp, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
        return tmp;
    }
    if (json_is_boolean(cur))
        return json_is_true(cur) ? "true" : "false";
    return NULL;
}

static int cond_holds(const sw_cond *c, const sw_attrs *a)
{
    char tmp[64];
    const char *s = c->header ? (a->header ? a->header(a->ud, c->name) : NULL)
                              : sw_attr_text(a->body, c->name, tmp);
    if (!s)
        return 0;
    switch (c->op) {
    case SW_OP_EQ:
        return strcmp(s, c->values[0]) == 0;
    case SW_OP_IN:
        for (size_t i = 0; i < c->n_values; i++)
            if (strcmp(s, c->values[i]) == 0)
                return 1;
        return 0;
    case SW_OP_PREFIX:
        return strncmp(s, c->values[0], strlen(c->values[0])) == 0;
    case SW_OP_REGEX:
        return regexec(&c->re, s, 0, NULL, 0) == 0;
    }
    return 0;
}

const char *sw_route_assign(const sw_route *r, const char *session, const sw_attrs *a,
                            sw_reason *reason, const char **rule)
{
    if (rule)
        *rule = NULL;
    for (size_t i = 0; i < r->n_rules; i++) {
        const sw_rule *ru = &r->rules[i];
        size_t k = 0;
        while (k < ru->n_conds && cond_holds(&ru->conds[k], a))
            k++;
        if (k == ru->n_conds) {
            *reason = SW_REASON_RULE;
            if (rule)
                *rule = ru->name;
            return ru->version;
        }
    }
    *reason = SW_REASON_SPLIT;
    if (r->candidate && r->weight > 0 && sw_bucket_in(r->rollout_id, session, r->weight))
        return r->candidate;
    return r->stable;
}

const char *sw_route_shadow_for(const sw_route *r, const char *session, const char *version)
{
    if (!r->shadow || r->shadow_percent <= 0 || strcmp(r->shadow, version) == 0)
        return NULL;
    char group[160];
    snprintf(group, sizeof group, "shadow:%s", r->shadow);
    return sw_bucket_in(group, session, r->shadow_percent) ? r->shadow : NULL;
}

void sw_json_merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *cur = json_object_get(target, k);
        if (json_is_null(v))
            json_object_del(target, k);
        else if (json_is_object(v) && json_is_object(cur))
            sw_json_merge_patch(cur, v);
        else if (json_is_object(v)) {
            json_t *o = json_object(); /* nulls inside a new object delete nothing */
            sw_json_merge_patch(o, v);
            json_object_set_new(target, k, o);
        } else
            json_object_set(target, k, v);
    }
}
