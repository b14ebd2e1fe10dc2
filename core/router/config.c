/* config.c - reading and checking router.yaml. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "model/yamldoc.h"
#include "proto/proto.h"
#include "store/store_impl.h"

typedef struct ctx {
    const sw_ydoc *doc;
    sw_diags *d;
    sw_router_config *c;
} ctx;

static sw_pos pos(const ctx *x, const sw_ynode *n)
{
    return sw_ynode_pos(x->doc, n);
}

static void check_keys(const ctx *x, const sw_ynode *map, const char *what,
                       const char *const *known, size_t n)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", what);
    sw_ynode_check_keys(x->doc, map, known, n, prefix, x->d);
}

static const sw_ynode *get_map(const ctx *x, const sw_ynode *map, const char *key)
{
    const sw_ynode *v = sw_ynode_get(map, key);
    if (v && v->kind != SW_YAML_MAP) {
        sw_diag_error(x->d, pos(x, v), "'%s' must be a mapping, not a %s", key,
                      sw_ynode_kind_name(v->kind));
        return NULL;
    }
    return v;
}

static void get_str(const ctx *x, const sw_ynode *map, const char *key, char **out)
{
    const sw_ynode *v = sw_ynode_get(map, key);
    if (!v)
        return;
    if (v->kind != SW_YAML_SCALAR || !v->text[0]) {
        sw_diag_error(x->d, pos(x, v), "'%s' must be a non-empty string", key);
        return;
    }
    free(*out);
    *out = sw_xstrdup(v->text);
}

static void get_path(const ctx *x, const sw_ynode *map, const char *key, char **out)
{
    char *s = NULL;
    get_str(x, map, key, &s);
    if (!s)
        return;
    free(*out);
    *out = sw_path_resolve(x->c->dir, s);
    free(s);
}

/* `store:`: a folder (taken against the config's folder) or a postgres:// URL (as is);
   without one, $SLIPWAY_STORE as it is (a folder is then relative to the current folder,
   as for every other command). */
static void get_store(const ctx *x, const sw_ynode *map, char **out)
{
    char *s = NULL;
    get_str(x, map, "store", &s);
    const char *env = getenv("SLIPWAY_STORE");
    if (!s && env && *env) {
        free(*out);
        *out = sw_xstrdup(env);
        return;
    }
    if (!s)
        return;
    free(*out);
    *out = sw_store_location_is_url(s) ? s : sw_path_resolve(x->c->dir, s);
    if (*out != s)
        free(s);
}

static void get_int(const ctx *x, const sw_ynode *map, const char *key, long long lo, long long hi,
                    long long *out)
{
    const sw_ynode *v = sw_ynode_get(map, key);
    if (!v)
        return;
    sw_value val = SW_VALUE_NULL;
    sw_err err = {{0}};
    if (v->kind != SW_YAML_SCALAR || v->quoted || sw_yaml_scalar_value(v, &val, &err) < 0 ||
        val.type != SW_TYPE_INT || val.as.i < lo || val.as.i > hi) {
        sw_diag_error(x->d, pos(x, v), "'%s' must be an integer from %lld to %lld", key, lo, hi);
        sw_value_free(&val);
        return;
    }
    *out = val.as.i;
}

#define GET_INT(x, map, key, lo, hi, field)                                                        \
    do {                                                                                           \
        long long v_ = (long long)(field);                                                         \
        get_int(x, map, key, lo, hi, &v_);                                                         \
        (field) = v_;                                                                              \
    } while (0)

static void get_bool(const ctx *x, const sw_ynode *map, const char *key, int *out)
{
    const sw_ynode *v = sw_ynode_get(map, key);
    if (!v)
        return;
    if (v->kind == SW_YAML_SCALAR && !v->quoted &&
        (strcmp(v->text, "true") == 0 || strcmp(v->text, "false") == 0)) {
        *out = strcmp(v->text, "true") == 0;
        return;
    }
    sw_diag_error(x->d, pos(x, v), "'%s' must be true or false", key);
}

int sw_host_is_loopback(const char *host)
{
    if (!host)
        return 0;
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

static void parse_listen(ctx *x, const sw_ynode *v)
{
    if (!v)
        return;
    if (v->kind != SW_YAML_SCALAR) {
        sw_diag_error(x->d, pos(x, v), "'listen' must be HOST:PORT, e.g. 127.0.0.1:8700");
        return;
    }
    const char *s = v->text;
    const char *colon = strrchr(s, ':');
    char *host;
    const char *port;
    if (s[0] == '[') { /* [::1]:8700 */
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            sw_diag_error(x->d, pos(x, v), "'listen': expected [IPV6]:PORT");
            return;
        }
        host = sw_xstrndup(s + 1, (size_t)(close - s - 1));
        port = close + 2;
    } else if (colon) {
        host = sw_xstrndup(s, (size_t)(colon - s));
        port = colon + 1;
    } else {
        sw_diag_error(x->d, pos(x, v), "'listen' must be HOST:PORT, e.g. 127.0.0.1:8700");
        return;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) {
        sw_diag_error(x->d, pos(x, v), "'listen': port '%s' must be 0 to 65535 (0: any free port)",
                      port);
        free(host);
        return;
    }
    unsigned char buf[16];
    if (strcmp(host, "localhost") == 0) {
        free(host);
        host = sw_xstrdup("127.0.0.1");
    } else if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) {
        sw_diag_error(x->d, pos(x, v), "'listen': '%s' is not a numeric IPv4 or IPv6 address",
                      host);
        free(host);
        return;
    }
    free(x->c->host);
    x->c->host = host;
    x->c->port = (int)p;
}

/* max_pins and read_ms are the router's only (NULL for an agent's sessions). */
static void parse_sessions(ctx *x, const sw_ynode *m, sw_session_cfg *s, long *ttl_s,
                           long long *max_pins, long *read_ms)
{
    static const char *const known[] = {"header", "cookie",   "body_fields",
                                        "ttl_s",  "max_pins", "shared_read_timeout_ms"};
    check_keys(x, m, "sessions", known, max_pins ? 6 : 4);
    const sw_ynode *h = sw_ynode_get(m, "header");
    if (h && h->kind == SW_YAML_SCALAR &&
        (strcmp(h->text, "") == 0 || strcmp(h->text, "~") == 0 || strcmp(h->text, "null") == 0)) {
        free(s->header);
        s->header = NULL;
    } else {
        get_str(x, m, "header", &s->header);
        for (char *p = s->header; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    get_str(x, m, "cookie", &s->cookie);
    const sw_ynode *bf = sw_ynode_get(m, "body_fields");
    if (bf) {
        if (bf->kind != SW_YAML_SEQ) {
            sw_diag_error(x->d, pos(x, bf), "'body_fields' must be a list of attribute paths");
        } else {
            for (size_t i = 0; i < s->n_body_fields; i++)
                free(s->body_fields[i]);
            free(s->body_fields);
            s->body_fields = sw_xcalloc(bf->n + 1, sizeof *s->body_fields);
            s->n_body_fields = 0;
            for (size_t i = 0; i < bf->n; i++) {
                if (bf->items[i]->kind != SW_YAML_SCALAR || !bf->items[i]->text[0]) {
                    sw_diag_error(x->d, pos(x, bf->items[i]),
                                  "a body field must be a path "
                                  "such as 'metadata.session_id'");
                    continue;
                }
                s->body_fields[s->n_body_fields++] = sw_xstrdup(bf->items[i]->text);
            }
        }
    }
    GET_INT(x, m, "ttl_s", 0, 365LL * 86400, *ttl_s);
    if (max_pins)
        get_int(x, m, "max_pins", 0, 100000000, max_pins);
    if (read_ms)
        GET_INT(x, m, "shared_read_timeout_ms", 1, 60000, *read_ms);
}

static void parse_agent(ctx *x, const sw_ynode *key, const sw_ynode *m)
{
    sw_router_config *c = x->c;
    const char *name = key->text;
    if (!m || m->kind != SW_YAML_MAP) {
        sw_diag_error(x->d, pos(x, m ? m : key), "agent '%s' must be a mapping", name);
        return;
    }
    int ok = name[0] && strlen(name) <= 64 && isalnum((unsigned char)name[0]);
    for (const char *p = name; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("._-", *p);
    if (!ok) {
        sw_diag_error(x->d, pos(x, key),
                      "agent name '%s': use 1 to 64 letters, digits, '.', '_' or '-', starting "
                      "with a letter or digit",
                      name);
        return;
    }
    static const char *const known[] = {"mode",     "versions",     "route",
                                        "sessions", "inject_usage", "retries"};
    check_keys(x, m, "agent", known, 6);
    c->agents = sw_xrealloc(c->agents, (c->n_agents + 1) * sizeof *c->agents);
    sw_agent_cfg *a = &c->agents[c->n_agents++];
    memset(a, 0, sizeof *a);
    a->name = sw_xstrdup(name);
    a->pos = pos(x, key);
    a->inject_usage = 1;
    a->retries = -1;
    const sw_ynode *mode = sw_ynode_get(m, "mode");
    if (mode) {
        if (mode->kind == SW_YAML_SCALAR && strcmp(mode->text, "service") == 0)
            a->mode = SW_MODE_SERVICE;
        else if (mode->kind == SW_YAML_SCALAR && strcmp(mode->text, "gateway") == 0)
            a->mode = SW_MODE_GATEWAY;
        else
            sw_diag_error(x->d, pos(x, mode), "agent '%s': 'mode' must be service or gateway",
                          name);
    }
    const sw_ynode *sess = get_map(x, m, "sessions");
    if (sess) {
        sw_session_cfg_copy(&a->sessions, &c->sessions);
        a->has_sessions = 1;
        parse_sessions(x, sess, &a->sessions, &a->ttl_s, NULL, NULL);
    }
    get_bool(x, m, "inject_usage", &a->inject_usage);
    GET_INT(x, m, "retries", 0, 10, a->retries);
    sw_err err = {{0}};
    const sw_ynode *vs = get_map(x, m, "versions");
    if (vs) {
        a->versions = sw_yaml_to_json(vs, &err);
        if (!a->versions)
            sw_diag_error(x->d, pos(x, vs), "agent '%s': versions: %s", name, err.msg);
    }
    const sw_ynode *route = get_map(x, m, "route");
    if (route) {
        a->route = sw_yaml_to_json(route, &err);
        if (!a->route) {
            sw_diag_error(x->d, pos(x, route), "agent '%s': route: %s", name, err.msg);
            return;
        }
        if (json_object_get(a->route, "versions")) {
            sw_diag_error(x->d, pos(x, sw_ynode_key(route, "versions")),
                          "agent '%s': declare versions beside the route, under the agent", name);
            return;
        }
        /* Check the route now, so a typo fails at load with its line. Gateway
           versions are resolved against the store when the router starts. */
        json_t *full = json_deep_copy(a->route);
        if (a->versions)
            json_object_set(full, "versions", a->versions);
        sw_route_ctx rc = {a->mode, NULL, NULL};
        sw_route *r = sw_route_from_json(name, full, &rc, &err);
        if (!r)
            sw_diag_error(x->d, pos(x, route), "agent '%s': route: %s", name, err.msg);
        sw_route_unref(r);
        json_decref(full);
    } else if (vs) {
        sw_err verr = {{0}};
        json_t *probe = json_pack("{s:O}", "versions", a->versions);
        /* Versions without a route are checked the same way (stable is set later). */
        if (a->versions && json_object_size(a->versions) > 0) {
            const char *first = json_object_iter_key(json_object_iter(a->versions));
            json_object_set_new(probe, "stable", json_string(first));
            sw_route_ctx rc = {a->mode, NULL, NULL};
            sw_route *r = sw_route_from_json(name, probe, &rc, &verr);
            if (!r)
                sw_diag_error(x->d, pos(x, vs), "agent '%s': %s", name, verr.msg);
            sw_route_unref(r);
        }
        json_decref(probe);
    }
}

static void parse_root(ctx *x, const sw_ynode *root)
{
    sw_router_config *c = x->c;
    if (!root) /* an empty file: every default */
        return;
    if (root->kind != SW_YAML_MAP) {
        sw_diag_error(x->d, pos(x, root), "router.yaml must be a mapping");
        return;
    }
    static const char *const known[] = {
        "version",  "listen", "admin",   "state_file", "store",  "limits", "upstream",
        "sessions", "shadow", "metrics", "providers",  "agents", "log"};
    check_keys(x, root, "router.yaml", known, sizeof known / sizeof *known);
    long long version = 1;
    get_int(x, root, "version", 1, 1, &version);
    parse_listen(x, sw_ynode_get(root, "listen"));
    const sw_ynode *admin = get_map(x, root, "admin");
    if (admin) {
        static const char *const ak[] = {"token_file", "token_env", "token"};
        check_keys(x, admin, "admin", ak, 2);
        if (sw_ynode_get(admin, "token"))
            sw_diag_error(x->d, pos(x, sw_ynode_key(admin, "token")),
                          "admin: the token is never written in the config; use 'token_file' "
                          "or 'token_env'");
        get_path(x, admin, "token_file", &c->token_file);
        get_str(x, admin, "token_env", &c->token_env);
    }
    get_path(x, root, "state_file", &c->state_file);
    get_store(x, root, &c->store_dir);
    const sw_ynode *lim = get_map(x, root, "limits");
    if (lim) {
        static const char *const lk[] = {"max_body_bytes", "max_header_bytes", "max_response_bytes",
                                         "client_timeout_s", "max_connections"};
        check_keys(x, lim, "limits", lk, 5);
        GET_INT(x, lim, "max_body_bytes", 1024, 1LL << 30, c->max_body_bytes);
        GET_INT(x, lim, "max_header_bytes", 1024, 1 << 20, c->max_header_bytes);
        GET_INT(x, lim, "max_response_bytes", 1024, 1LL << 31, c->max_response_bytes);
        GET_INT(x, lim, "client_timeout_s", 1, 86400, c->client_timeout_s);
        GET_INT(x, lim, "max_connections", 16, 1000000, c->max_connections);
    }
    const sw_ynode *up = get_map(x, root, "upstream");
    if (up) {
        static const char *const uk[] = {"connect_timeout_ms", "timeout_ms", "retries",
                                         "retry_backoff_ms"};
        check_keys(x, up, "upstream", uk, 4);
        GET_INT(x, up, "connect_timeout_ms", 1, 600000, c->connect_timeout_ms);
        GET_INT(x, up, "timeout_ms", 1, 86400000, c->timeout_ms);
        GET_INT(x, up, "retries", 0, 10, c->retries);
        GET_INT(x, up, "retry_backoff_ms", 0, 60000, c->retry_backoff_ms);
    }
    const sw_ynode *sess = get_map(x, root, "sessions");
    if (sess) {
        long long max_pins = (long long)c->max_pins;
        parse_sessions(x, sess, &c->sessions, &c->ttl_s, &max_pins, &c->shared_read_ms);
        c->max_pins = (size_t)max_pins;
    }
    const sw_ynode *sh = get_map(x, root, "shadow");
    if (sh) {
        static const char *const sk[] = {"queue", "concurrency", "timeout_ms", "pairs_file",
                                         "keep"};
        check_keys(x, sh, "shadow", sk, 5);
        GET_INT(x, sh, "queue", 0, 1000000, c->shadow_queue);
        GET_INT(x, sh, "concurrency", 1, 10000, c->shadow_concurrency);
        GET_INT(x, sh, "timeout_ms", 1, 3600000, c->shadow_timeout_ms);
        GET_INT(x, sh, "keep", 0, 10000000, c->shadow_keep);
        get_path(x, sh, "pairs_file", &c->pairs_file);
    }
    const sw_ynode *met = get_map(x, root, "metrics");
    if (met) {
        static const char *const mk[] = {"window_records"};
        check_keys(x, met, "metrics", mk, 1);
        GET_INT(x, met, "window_records", 1000, 100000000, c->window_records);
    }
    const sw_ynode *log = get_map(x, root, "log");
    if (log) {
        static const char *const lk[] = {"access"};
        check_keys(x, log, "log", lk, 1);
        get_bool(x, log, "access", &c->access_log);
    }
    const sw_ynode *prov = get_map(x, root, "providers");
    for (size_t i = 0; prov && i < prov->n; i++) {
        const sw_ynode *p = prov->items[i];
        if (p->kind != SW_YAML_MAP) {
            sw_diag_error(x->d, pos(x, p), "provider '%s' must be a mapping with base_url",
                          prov->keys[i]->text);
            continue;
        }
        static const char *const pk[] = {"base_url", "api_key_env",       "api_key_file",
                                         "protocol", "anthropic_version", "max_tokens"};
        check_keys(x, p, "provider", pk, 6);
        c->providers = sw_xrealloc(c->providers, (c->n_providers + 1) * sizeof *c->providers);
        sw_provider_cfg *pc = &c->providers[c->n_providers++];
        memset(pc, 0, sizeof *pc);
        pc->name = sw_xstrdup(prov->keys[i]->text);
        get_str(x, p, "base_url", &pc->base_url);
        get_str(x, p, "api_key_env", &pc->api_key_env);
        get_path(x, p, "api_key_file", &pc->api_key_file);
        get_str(x, p, "anthropic_version", &pc->anthropic_version);
        GET_INT(x, p, "max_tokens", 1, 10000000, pc->max_tokens);
        /* The protocol: said, or known from the provider's name (anthropic speaks Messages). */
        char *proto = NULL;
        get_str(x, p, "protocol", &proto);
        const char *pname = proto ? proto : sw_proto_get(sw_proto_of_provider(pc->name))->name;
        if (strcmp(pname, "chat") == 0 || strcmp(pname, "openai") == 0)
            pc->protocol = SW_PROTO_CHAT;
        else if (strcmp(pname, "messages") == 0 || strcmp(pname, "anthropic") == 0)
            pc->protocol = SW_PROTO_MESSAGES;
        else
            sw_diag_error(x->d, pos(x, sw_ynode_get(p, "protocol")),
                          "provider '%s': protocol must be chat (OpenAI-compatible: Chat "
                          "Completions and Responses) or messages (Anthropic)",
                          pc->name);
        free(proto);
        if (pc->api_key_env && pc->api_key_file)
            sw_diag_error(x->d, pos(x, p),
                          "provider '%s': set api_key_env or api_key_file, not both", pc->name);
        if (!pc->base_url)
            sw_diag_error(x->d, pos(x, p), "provider '%s': missing 'base_url'", pc->name);
        else if (strncmp(pc->base_url, "http://", 7) != 0 &&
                 strncmp(pc->base_url, "https://", 8) != 0)
            sw_diag_error(x->d, pos(x, sw_ynode_get(p, "base_url")),
                          "provider '%s': base_url must start with http:// or https://", pc->name);
        else {
            size_t n = strlen(pc->base_url);
            while (n > 0 && pc->base_url[n - 1] == '/')
                pc->base_url[--n] = '\0';
        }
    }
    const sw_ynode *agents = get_map(x, root, "agents");
    for (size_t i = 0; agents && i < agents->n; i++)
        parse_agent(x, agents->keys[i], agents->items[i]);
    for (size_t i = 0; i < c->n_agents; i++)
        if (c->agents[i].mode == SW_MODE_GATEWAY && !c->store_dir)
            sw_diag_error(x->d, c->agents[i].pos,
                          "agent '%s' is a gateway agent: set 'store' (the release store: a "
                          "folder or a postgres:// URL), or give serve --store or "
                          "$SLIPWAY_STORE",
                          c->agents[i].name);
}

void sw_router_config_defaults(sw_router_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = sw_xstrdup("127.0.0.1");
    c->port = 8700;
    c->max_body_bytes = 4u << 20;
    c->max_header_bytes = 16u << 10;
    c->max_response_bytes = 64u << 20;
    c->client_timeout_s = 120;
    c->max_connections = 20000;
    c->connect_timeout_ms = 5000;
    c->timeout_ms = 600000;
    c->retries = 2;
    c->retry_backoff_ms = 100;
    sw_session_cfg_default(&c->sessions);
    c->ttl_s = 1800;
    c->max_pins = 1000000;
    c->shared_read_ms = 500;
    c->flush_ms = 1000;
    c->shadow_queue = 1000;
    c->shadow_concurrency = 64;
    c->shadow_timeout_ms = 60000;
    c->shadow_keep = 10000;
    c->window_records = 200000;
}

sw_router_config *sw_router_config_parse(const char *text, size_t len, const char *filename,
                                         sw_diags *d)
{
    sw_router_config *c = sw_xmalloc(sizeof *c);
    sw_router_config_defaults(c);
    c->file = sw_xstrdup(filename);
    c->dir = sw_path_dirname(filename);
    size_t before = sw_diags_errors(d);
    sw_ydoc *doc = sw_yaml_parse_string(text, len, filename, d);
    if (doc) {
        ctx x = {doc, d, c};
        parse_root(&x, doc->root);
        sw_ydoc_free(doc);
    }
    if (!doc || sw_diags_errors(d) > before) {
        sw_router_config_free(c);
        return NULL;
    }
    if (!c->state_file)
        c->state_file = sw_path_join(c->dir, "router-state.json");
    return c;
}

sw_router_config *sw_router_config_load(const char *path, sw_diags *d)
{
    sw_err err = {{0}};
    size_t len = 0;
    char *text = sw_read_file(path, 4u << 20, &len, &err);
    if (!text) {
        sw_diag_error(d, (sw_pos){path, 0, 0}, "%s", err.msg);
        return NULL;
    }
    sw_router_config *c = sw_router_config_parse(text, len, path, d);
    free(text);
    return c;
}

void sw_router_config_free(sw_router_config *c)
{
    if (!c)
        return;
    free(c->file);
    free(c->dir);
    free(c->host);
    free(c->token_file);
    free(c->token_env);
    free(c->state_file);
    free(c->store_dir);
    free(c->pairs_file);
    sw_session_cfg_free(&c->sessions);
    for (size_t i = 0; i < c->n_providers; i++) {
        free(c->providers[i].name);
        free(c->providers[i].base_url);
        free(c->providers[i].api_key_env);
        free(c->providers[i].api_key_file);
        free(c->providers[i].anthropic_version);
    }
    free(c->providers);
    for (size_t i = 0; i < c->n_agents; i++) {
        sw_agent_cfg *a = &c->agents[i];
        free(a->name);
        json_decref(a->route);
        json_decref(a->versions);
        if (a->has_sessions)
            sw_session_cfg_free(&a->sessions);
    }
    free(c->agents);
    free(c);
}

const sw_agent_cfg *sw_router_config_agent(const sw_router_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_agents; i++)
        if (strcmp(c->agents[i].name, name) == 0)
            return &c->agents[i];
    return NULL;
}

const sw_provider_cfg *sw_router_config_provider(const sw_router_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_providers; i++)
        if (strcmp(c->providers[i].name, name) == 0)
            return &c->providers[i];
    return NULL;
}
