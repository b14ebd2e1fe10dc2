/* router.c - the router's life: loading config and state, routes, persistence, the public API. */
#include "router_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/fsutil.h"
#include "gateway.h"
#include "store/store_impl.h"
#include "store/utf8.h"

void sw_router_logf(sw_router *r, sw_log_level level, const char *fmt, ...)
{
    if (!r->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    r->log(r->log_ud, level, msg);
    free(msg);
}

json_t *sw_error_json(const char *type, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *raw = sw_xvasprintf(fmt, ap);
    va_end(ap);
    /* Messages quote names from paths, headers and bodies: whatever bytes a client sent
       must not keep the answer from being JSON. */
    char *msg = sw_utf8_scrub(raw);
    json_t *j = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", type,
                          "param", "code", code);
    free(msg);
    free(raw);
    return j;
}

const sw_agent_cfg *sw_router_agent_cfg(const sw_router *r, const char *agent)
{
    return sw_router_config_agent(r->cfg, agent);
}

const sw_session_cfg *sw_router_session_cfg(const sw_router *r, const char *agent)
{
    const sw_agent_cfg *a = sw_router_agent_cfg(r, agent);
    return a && a->has_sessions ? &a->sessions : &r->cfg->sessions;
}

sw_mode sw_router_agent_mode(const sw_router *r, const char *agent)
{
    const sw_agent_cfg *a = sw_router_agent_cfg(r, agent);
    if (a)
        return a->mode;
    const sw_route *route = sw_hmap_get(&r->routes, agent);
    return route ? route->mode : SW_MODE_SERVICE;
}

/* Gateway versions: the release from the store, the provider from the config. */
static int resolve_version(void *ud, const char *agent, sw_rversion *v, sw_err *err)
{
    sw_router *r = ud;
    if (!r->store)
        return sw_err_set(err, "gateway agents need the release store ('store' in router.yaml)");
    char *agent_out = NULL, *id = NULL, *text = NULL;
    sw_store_error se = {0};
    if (sw_store_resolve(r->store, agent, v->release, &agent_out, &id, &se) != SW_STORE_OK)
        return sw_err_set(err, "release '%s': %s", v->release, se.message);
    int rc = -1;
    if (strcmp(agent_out, agent) != 0) {
        sw_err_set(err, "release '%s' belongs to agent '%s', not '%s'", v->release, agent_out,
                   agent);
        goto out;
    }
    if (sw_store_manifest(r->store, agent, id, &text, &se) != SW_STORE_OK) {
        sw_err_set(err, "release '%s': %s", id, se.message);
        goto out;
    }
    json_error_t je;
    json_t *m = json_loads(text, 0, &je);
    if (!m) {
        sw_err_set(err, "release '%s': manifest is not JSON: %s", id, je.text);
        goto out;
    }
    const char *provider =
        json_string_value(json_object_get(json_object_get(m, "model"), "provider"));
    const sw_provider_cfg *p = sw_router_config_provider(r->cfg, provider ? provider : "");
    if (!p) {
        sw_err_set(err,
                   "release '%s' uses provider '%s', which router.yaml's 'providers' does "
                   "not configure",
                   id, provider ? provider : "(none)");
        json_decref(m);
        goto out;
    }
    free(v->release);
    v->release = sw_xstrdup(id); /* a channel or tag is frozen to the id it names now */
    free(v->url);
    v->url = sw_xstrdup(p->base_url);
    free(v->api_key_env);
    v->api_key_env = sw_xstrdup(p->api_key_env);
    if (p->api_key_env && !getenv(p->api_key_env))
        sw_router_logf(r, SW_LOG_WARN,
                       "provider '%s': $%s is not set; calls to it go without a key", p->name,
                       p->api_key_env);
    free(v->api_key);
    v->api_key = NULL;
    if (p->api_key_env && getenv(p->api_key_env) && *getenv(p->api_key_env))
        v->api_key = sw_xstrdup(getenv(p->api_key_env));
    if (p->api_key_file) {
        sw_err ke = {{0}};
        size_t klen = 0;
        char *key = sw_read_file(p->api_key_file, 64u << 10, &klen, &ke);
        while (key && klen &&
               (key[klen - 1] == '\n' || key[klen - 1] == '\r' || key[klen - 1] == ' '))
            key[--klen] = '\0';
        if (!key || !klen) {
            /* The file's path is said, never its content. */
            sw_err_set(err, "provider '%s': cannot read its key from api_key_file %s: %s", p->name,
                       p->api_key_file, key ? "the file is empty" : ke.msg);
            free(key);
            json_decref(m);
            goto out;
        }
        v->api_key = key;
    }
    v->proto = p->protocol;
    free(v->anthropic_version);
    v->anthropic_version = sw_xstrdup(p->anthropic_version ? p->anthropic_version : "2023-06-01");
    v->max_tokens = p->max_tokens;
    json_decref(v->manifest);
    v->manifest = m;
    if (!v->price.set)
        sw_gateway_price(m, &v->price);
    rc = 0;
out:
    sw_free(agent_out);
    sw_free(id);
    sw_free(text);
    return rc;
}

sw_route *sw_router_build_route(sw_router *r, const char *agent, sw_mode mode, const json_t *j,
                                sw_err *err)
{
    sw_route_ctx ctx = {mode, resolve_version, r};
    return sw_route_from_json(agent, j, &ctx, err);
}

void sw_router_publish(sw_router *r, sw_route *route)
{
    sw_route *old = sw_hmap_put(&r->routes, route->agent, route);
    sw_route_unref(old); /* requests still using it hold their own reference */
}

/* The routes for the state writer: a few agents, so the whole table every time. */
static char *routes_text(const sw_router *r)
{
    json_t *routes = json_object();
    for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e; e = sw_hmap_next(&r->routes, e))
        json_object_set_new(routes, e->key, sw_route_to_json(e->value));
    char *text = json_dumps(routes, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(routes);
    return text;
}

int sw_router_save_sync(sw_router *r, sw_err *err)
{
    sw_buf changes = sw_pins_take_changes(&r->pins);
    return sw_state_save_wait(&r->writer, routes_text(r), &changes, err);
}

size_t sw_router_retire(sw_router *r, const sw_route *old, sw_route *nr, sw_policy policy)
{
    size_t n = 0;
    for (size_t i = 0; old && i < old->n_versions; i++) {
        const char *v = old->versions[i].name;
        if (!sw_route_leaving(old, nr, v))
            continue;
        /* A version already retired under this policy was counted when it was retired:
           applying the policy again changes nothing, and counting it again would report
           an old stable's draining sessions as this rollback's. */
        const char *before = json_string_value(json_object_get(old->retired, v));
        size_t k = sw_pins_apply(&r->pins, nr->agent, v, policy, nr->stable);
        if (!before || strcmp(before, sw_policy_name(policy)) != 0)
            n += k;
        sw_route_set_retired(nr, v, policy);
    }
    return n;
}

static int64_t ttl_ms(void *ud, const char *agent)
{
    sw_router *r = ud;
    const sw_route *route = sw_hmap_get(&r->routes, agent);
    if (route && route->ttl_s > 0)
        return (int64_t)route->ttl_s * 1000;
    const sw_agent_cfg *a = sw_router_agent_cfg(r, agent);
    if (a && a->ttl_s > 0)
        return (int64_t)a->ttl_s * 1000;
    return (int64_t)r->cfg->ttl_s * 1000;
}

int64_t sw_router_ttl_ms(sw_router *r, const char *agent)
{
    return ttl_ms(r, agent);
}

/* Pins idle past their TTL, and periodic saves (pins change on every new session). */
void sw_router_tick(sw_router *r, double now)
{
    if (now >= r->next_sweep) {
        sw_pins_expire(&r->pins, sw_wall_ms(), ttl_ms, r);
        sw_respids_expire(&r->respids, sw_wall_ms());
        r->next_sweep = now + 5000;
    }
    if (now >= r->next_flush) {
        if (sw_pins_changed(&r->pins)) {
            sw_buf changes = sw_pins_take_changes(&r->pins);
            sw_state_save(&r->writer, routes_text(r), &changes);
        }
        r->next_flush = now + (double)r->cfg->flush_ms;
    }
}

static char *read_token(const sw_router_config *c, sw_diags *d)
{
    if (c->token_file) {
        sw_err err = {{0}};
        char *t = sw_read_file(c->token_file, 4096, NULL, &err);
        if (!t) {
            sw_diag_error(d, (sw_pos){c->file, 0, 0}, "admin token file: %s", err.msg);
            return NULL;
        }
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        if (n < 16) {
            sw_diag_error(d, (sw_pos){c->file, 0, 0},
                          "admin token file %s: the token must be at least 16 characters",
                          c->token_file);
            free(t);
            return NULL;
        }
        return t;
    }
    if (c->token_env) {
        const char *t = getenv(c->token_env);
        if (!t || strlen(t) < 16) {
            sw_diag_error(d, (sw_pos){c->file, 0, 0},
                          "admin token: $%s is %s (at least 16 characters are needed)",
                          c->token_env, t ? "too short" : "not set");
            return NULL;
        }
        return sw_xstrdup(t);
    }
    return NULL;
}

/* A saved route (the state file's, or another replica's from the database) built anew. */
static sw_route *route_from_saved(sw_router *r, const char *agent, const json_t *saved, sw_err *err)
{
    json_t *j = json_deep_copy(saved);
    const sw_agent_cfg *a = sw_router_agent_cfg(r, agent);
    /* Versions in router.yaml win over saved ones: the file is what the
       operator edits. */
    if (a && a->versions) {
        json_t *vs = json_object_get(j, "versions");
        if (!json_is_object(vs)) {
            vs = json_object();
            json_object_set_new(j, "versions", vs);
        }
        json_object_update(vs, a->versions);
    }
    sw_mode mode = a ? a->mode : sw_route_json_mode(j);
    sw_route *route = sw_router_build_route(r, agent, mode, j, err);
    json_decref(j);
    return route;
}

/* A route row of the database applied as a route change: built, the session policy of
   the change applied to this replica's pins, published, saved. Rows older than the
   route in use are skipped (a catch-up read after a notification already applied). */
static void apply_row(sw_router *r, const sw_shared_row *row, int force)
{
    sw_route *cur = sw_hmap_get(&r->routes, row->agent);
    if (cur && cur->version >= row->version && !force)
        return;
    json_error_t je;
    json_t *j = json_loads(row->route, 0, &je);
    sw_err err = {{0}};
    sw_route *next = j ? route_from_saved(r, row->agent, j, &err) : NULL;
    json_decref(j);
    if (!next) {
        sw_router_logf(r, SW_LOG_ERROR, "agent '%s': shared route version %lld not applied: %s",
                       row->agent, (long long)row->version, j ? err.msg : je.text);
        return;
    }
    sw_policy policy = SW_POLICY_DRAIN;
    sw_policy_parse(row->policy, &policy);
    if (cur)
        sw_route_ref(cur);
    sw_router_retire(r, cur, next, policy);
    sw_router_publish(r, next);
    sw_route_unref(cur);
    sw_router_logf(r, SW_LOG_INFO,
                   "agent '%s': route version %lld from the database: stable=%s candidate=%s "
                   "weight=%g",
                   next->agent, (long long)next->version, next->stable,
                   next->candidate ? next->candidate : "-", next->weight);
}

void sw_router_shared_apply(sw_router *r)
{
    if (!r->shared)
        return;
    int up = sw_shared_up(r->shared);
    if (up != r->shared_up_seen) {
        char why[SW_ERR_MAX];
        sw_shared_last_error(r->shared, why, sizeof why);
        if (up)
            sw_router_logf(r, SW_LOG_INFO,
                           "the state database is back: routes reloaded, route changes accepted");
        else
            sw_router_logf(r, SW_LOG_ERROR,
                           "the state database is unreachable (%s): serving with the last routes "
                           "and pins; route changes are refused until it is back",
                           why);
        r->shared_up_seen = up;
    }
    size_t n = 0;
    sw_shared_row *rows = sw_shared_take(r->shared, &n);
    for (size_t i = 0; i < n; i++)
        apply_row(r, &rows[i], 0);
    sw_shared_rows_free(rows, n);
    if (n && r->writer.started) {
        sw_buf changes = sw_pins_take_changes(&r->pins);
        sw_state_save(&r->writer, routes_text(r), &changes);
    }
}

void sw_router_share_pin(sw_router *r, const sw_pin *pin)
{
    if (!r->shared || !pin)
        return;
    int64_t ttl = ttl_ms(r, pin->agent);
    sw_shared_pin_put(r->shared, pin->agent, pin->session, pin->version,
                      sw_reason_name(pin->reason), pin->terminated, pin->created_ms, pin->last_ms,
                      ttl > 0 ? pin->last_ms + ttl : 0);
}

/* With a postgres:// store: the routes come from the database (they win over the state
   file's); routes it lacks (router.yaml's, a state file's) seed it. */
static int open_shared(sw_router *r, sw_diags *d)
{
    sw_err err = {{0}};
    r->shared = sw_shared_open(r->cfg->store_dir, &err);
    if (!r->shared) {
        sw_diag_error(d, (sw_pos){r->cfg->file, 0, 0}, "shared routes in %s: %s", r->cfg->store_dir,
                      err.msg);
        return -1;
    }
    r->shared_up_seen = 1;
    sw_shared_row *rows = NULL;
    size_t n = 0;
    if (sw_shared_load(r->shared, &rows, &n, &err) < 0) {
        sw_diag_error(d, (sw_pos){r->cfg->file, 0, 0}, "shared routes in %s: %s", r->cfg->store_dir,
                      err.msg);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        apply_row(r, &rows[i], 1);
    sw_shared_rows_free(rows, n);
    for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e; e = sw_hmap_next(&r->routes, e)) {
        const sw_route *route = e->value;
        json_t *j = sw_route_to_json(route);
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        int rc = sw_shared_seed(r->shared, e->key, route->version, text, &err);
        free(text);
        if (rc < 0) {
            sw_diag_error(d, (sw_pos){r->cfg->file, 0, 0}, "shared routes in %s: %s",
                          r->cfg->store_dir, err.msg);
            return -1;
        }
    }
    return 0;
}

static int load_state(sw_router *r, sw_diags *d)
{
    sw_err err = {{0}};
    int missing = 0;
    json_t *st = sw_state_load(r->cfg->state_file, &missing, &err);
    if (!st && !missing) {
        sw_diag_error(d, (sw_pos){r->cfg->state_file, 0, 0}, "%s", err.msg);
        return -1;
    }
    const char *agent;
    json_t *rj;
    json_object_foreach(json_object_get(st, "routes"), agent, rj)
    {
        sw_route *route = route_from_saved(r, agent, rj, &err);
        if (!route) {
            sw_diag_error(d, (sw_pos){r->cfg->state_file, 0, 0}, "saved route of agent '%s': %s",
                          agent, err.msg);
            json_decref(st);
            return -1;
        }
        sw_router_publish(r, route);
    }
    for (size_t i = 0; i < r->cfg->n_agents; i++) {
        const sw_agent_cfg *a = &r->cfg->agents[i];
        if (sw_hmap_get(&r->routes, a->name) || !a->route)
            continue;
        json_t *j = json_deep_copy(a->route);
        if (a->versions)
            json_object_set(j, "versions", a->versions);
        json_object_set_new(j, "version", json_integer(1));
        sw_route *route = sw_router_build_route(r, a->name, a->mode, j, &err);
        json_decref(j);
        if (!route) {
            sw_diag_error(d, a->pos, "agent '%s': route: %s", a->name, err.msg);
            json_decref(st);
            return -1;
        }
        sw_router_publish(r, route);
    }
    const json_t *pins = json_object_get(st, "pins");
    if (pins && sw_pins_load_json(&r->pins, pins, &err) < 0) {
        sw_diag_error(d, (sw_pos){r->cfg->state_file, 0, 0}, "%s", err.msg);
        json_decref(st);
        return -1;
    }
    /* Pins that went idle while the router was down go now. */
    sw_pins_expire(&r->pins, sw_wall_ms(), ttl_ms, r);
    json_decref(st);
    return 0;
}

sw_router *sw_router_load(const char *config_path, const sw_router_options *opts, sw_diags *d)
{
    sw_router_config *cfg = sw_router_config_load(config_path, d);
    if (!cfg)
        return NULL;
    sw_router *r = sw_xcalloc(1, sizeof *r);
    r->cfg = cfg;
    r->epfd = r->wakefd = r->pairs_fd = -1;
    r->curl_deadline = -1;
    r->pins_full_logged = -1e12;
    sw_hmap_init(&r->routes);
    sw_hmap_init(&r->pairs);
    sw_pair_ring_init(&r->ring, cfg->shadow_keep);
    sw_pins_init(&r->pins, cfg->max_pins);
    sw_pin_reads_init(r);
    sw_respids_init(&r->respids, cfg->max_pins);
    /* Tracked from the start, so the pins loaded reach the state writer's copy too. A pin
       merely used is saved at most every 30 s. */
    sw_pins_track(&r->pins, 30000);
    sw_metrics_init(&r->metrics, cfg->window_records);
    if (opts) {
        r->log = opts->log;
        r->log_ud = opts->log_userdata;
        if (opts->state_file) {
            free(cfg->state_file);
            cfg->state_file = sw_xstrdup(opts->state_file);
        }
        if (opts->store) {
            free(cfg->store_dir);
            cfg->store_dir = sw_xstrdup(opts->store);
        }
        if (opts->listen) {
            /* The same parser as the file's, for the same messages. */
            char *yaml = sw_xasprintf("listen: \"%s\"\n", opts->listen);
            sw_router_config *tmp = sw_router_config_parse(yaml, strlen(yaml), "--listen", d);
            free(yaml);
            if (!tmp) {
                sw_router_free(r);
                return NULL;
            }
            free(cfg->host);
            cfg->host = sw_xstrdup(tmp->host);
            cfg->port = tmp->port;
            sw_router_config_free(tmp);
        }
    }
    if (cfg->token_file || cfg->token_env) {
        r->token = read_token(cfg, d);
        if (!r->token) {
            sw_router_free(r);
            return NULL;
        }
    }
    if (cfg->store_dir) {
        sw_store_error se = {0};
        r->store = sw_store_open(cfg->store_dir, &se);
        if (!r->store) {
            sw_diag_error(d, (sw_pos){cfg->file, 0, 0}, "release store %s: %s", cfg->store_dir,
                          se.message);
            sw_router_free(r);
            return NULL;
        }
    }
    if (load_state(r, d) < 0 ||
        (cfg->store_dir && sw_store_location_is_url(cfg->store_dir) && open_shared(r, d) < 0)) {
        sw_router_free(r);
        return NULL;
    }
    return r;
}

int sw_router_start(sw_router *r, sw_diags *d)
{
    const sw_router_config *c = r->cfg;
    if (!sw_host_is_loopback(c->host) && !c->token_file) {
        sw_diag_error(d, (sw_pos){c->file, 0, 0},
                      "refusing to listen on %s, which is not a loopback address, without an "
                      "admin token file (admin.token_file): the admin API changes routes",
                      c->host);
        return -1;
    }
    sw_err err = {{0}};
    char *dir = sw_path_dirname(c->state_file);
    if (sw_mkdir_p(dir, 0755, &err) < 0) {
        sw_diag_error(d, (sw_pos){c->state_file, 0, 0}, "%s", err.msg);
        free(dir);
        return -1;
    }
    free(dir);
    if (c->pairs_file) {
        r->pairs_fd = open(c->pairs_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (r->pairs_fd < 0) {
            sw_diag_error(d, (sw_pos){c->pairs_file, 0, 0}, "cannot open the pairs file: %s",
                          strerror(errno));
            return -1;
        }
    }
    if (sw_state_writer_start(&r->writer, c->state_file, &err) < 0) {
        sw_diag_error(d, (sw_pos){c->state_file, 0, 0}, "%s", err.msg);
        return -1;
    }
    if (sw_server_start(r, d) < 0)
        return -1;
    if (r->shared && sw_shared_start(r->shared, r->wakefd, &err) < 0) {
        sw_diag_error(d, (sw_pos){c->file, 0, 0}, "%s", err.msg);
        return -1;
    }
    /* The state as loaded (with defaults from router.yaml) is durable before any request. */
    if (sw_router_save_sync(r, &err) < 0) {
        sw_diag_error(d, (sw_pos){c->state_file, 0, 0}, "%s", err.msg);
        return -1;
    }
    if (!r->token)
        sw_router_logf(r, SW_LOG_WARN,
                       "no admin token configured: any local process can change routes "
                       "(set admin.token_file or admin.token_env)");
    return 0;
}

int sw_router_port(const sw_router *r)
{
    return r->port;
}

int sw_router_run(sw_router *r)
{
    int rc = sw_server_loop(r);
    sw_err err = {{0}};
    if (r->writer.started && sw_router_save_sync(r, &err) < 0) {
        sw_router_logf(r, SW_LOG_ERROR, "%s", err.msg);
        rc = -1;
    }
    return rc;
}

void sw_router_stop(sw_router *r)
{
    r->stop = 1;
    if (r->wakefd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(r->wakefd, &one, sizeof one);
        (void)w;
    }
}

void sw_router_free(sw_router *r)
{
    if (!r)
        return;
    sw_shared_close(r->shared); /* before the wake-up descriptor it writes to closes */
    r->shared = NULL;           /* requests answered while the server stops see none */
    sw_server_stop(r);
    sw_state_writer_stop(&r->writer);
    for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e; e = sw_hmap_next(&r->routes, e))
        sw_route_unref(e->value);
    sw_hmap_free(&r->routes);
    sw_pins_free(&r->pins);
    sw_respids_free(&r->respids);
    sw_metrics_free(&r->metrics);
    sw_pairs_free(r);
    if (r->pairs_fd >= 0)
        close(r->pairs_fd);
    if (r->store)
        sw_store_close(r->store);
    if (r->token) {
        memset(r->token, 0, strlen(r->token));
        free(r->token);
    }
    sw_router_config_free(r->cfg);
    free(r);
}
