/*
 * config.h - router.yaml: where the router listens, its admin token, its
 * state file, limits, and each agent's versions and first route.
 *
 * Paths in the file are relative to the file's folder. The admin token is
 * never in the file: it is read from `admin.token_file` or `admin.token_env`.
 * Every problem is a diagnostic with file:line:col; loading reports them all.
 * sw_router_config_free releases everything.
 */
#ifndef SW_ROUTER_CONFIG_H
#define SW_ROUTER_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "base/diag.h"
#include "route.h"
#include "session.h"

typedef struct sw_provider_cfg {
    char *name;
    char *base_url;
    char *api_key_env;
    char *api_key_file;      /* the key in a file instead (read when a release is resolved) */
    int protocol;            /* sw_proto_id: chat (OpenAI-compatible, Responses too) or messages */
    char *anthropic_version; /* messages: the anthropic-version header */
    long long max_tokens;    /* messages: max_tokens when neither request nor release sets it */
} sw_provider_cfg;

typedef struct sw_agent_cfg {
    char *name;
    sw_mode mode;
    json_t *route;    /* the route to start with when the state file has none (may be NULL) */
    json_t *versions; /* versions declared in the file, laid over the saved route's */
    sw_session_cfg sessions;
    int has_sessions; /* else the router's */
    long ttl_s;       /* 0: the router's */
    int inject_usage; /* ask streaming upstreams for usage (default on) */
    int retries;      /* -1: the router's */
    sw_pos pos;
} sw_agent_cfg;

typedef struct sw_router_config {
    char *file;
    char *dir;
    char *host; /* listen address (numeric) */
    int port;   /* 0: any free port */
    char *token_file;
    char *token_env;
    char *state_file;
    char *store_dir; /* the release store (gateway agents): a state folder or a postgres:// URL */
    size_t max_body_bytes;
    size_t max_header_bytes;
    size_t max_response_bytes;
    unsigned client_timeout_s;
    unsigned max_connections;
    long connect_timeout_ms;
    long timeout_ms;
    int retries;
    long retry_backoff_ms;
    sw_session_cfg sessions;
    long ttl_s;
    size_t max_pins;
    long shared_read_ms; /* a read of the shared pins given up after this long */
    long flush_ms;
    size_t shadow_queue;
    size_t shadow_concurrency;
    long shadow_timeout_ms;
    char *pairs_file;   /* may be NULL */
    size_t shadow_keep; /* pairs kept in memory for /admin/shadow */
    size_t window_records;
    int access_log;
    sw_provider_cfg *providers;
    size_t n_providers;
    sw_agent_cfg *agents;
    size_t n_agents;
} sw_router_config;

/* Defaults for everything (no agents); host 127.0.0.1, port 8700. */
void sw_router_config_defaults(sw_router_config *c);
/* Load a file. NULL with diagnostics on any error. */
sw_router_config *sw_router_config_load(const char *path, sw_diags *d);
/* Parse text (filename used for positions and relative paths). */
sw_router_config *sw_router_config_parse(const char *text, size_t len, const char *filename,
                                         sw_diags *d);
void sw_router_config_free(sw_router_config *c);

const sw_agent_cfg *sw_router_config_agent(const sw_router_config *c, const char *name);
const sw_provider_cfg *sw_router_config_provider(const sw_router_config *c, const char *name);
/* Whether host is a loopback address (127.0.0.0/8, ::1, localhost). */
int sw_host_is_loopback(const char *host);

#endif
