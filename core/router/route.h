/*
 * route.h - one agent's route: its versions, the split between stable and
 * candidate, targeting rules, shadow, and the session policy.
 *
 * A route is immutable once built. The router publishes a new one on every
 * change and requests keep a reference to the one they started with, so a
 * request sees the old route or the new one, never a mix. Reference counts
 * are touched only by the router's event loop thread.
 *
 * JSON form (the admin API's and the state file's):
 *   {"agent", "version": N, "stable", "candidate", "weight": 0..100 (0.01 steps),
 *    "rollout_id", "rules": [...], "shadow": {"version", "percent"} | null,
 *    "sessions": {"on_change": "drain"|"migrate"|"terminate", "ttl_s"},
 *    "versions": {name: {"url", "pricing"} | {"release", "pricing"}},
 *    "retired": {name: "drain"|"terminate"}, "updated_at"}
 * A rule: {"name", "version", and one condition ("header" | "attr", "op":
 * "eq"|"in"|"prefix"|"regex", "value" | "values") or "all": [conditions]}.
 */
#ifndef SW_ROUTER_ROUTE_H
#define SW_ROUTER_ROUTE_H

#include <jansson.h>
#include <regex.h>
#include <stdint.h>

#include "base/util.h"

typedef enum sw_mode { SW_MODE_SERVICE = 0, SW_MODE_GATEWAY } sw_mode;

/* Why a session has its version. */
typedef enum sw_reason {
    SW_REASON_PIN = 0, /* the session was already pinned */
    SW_REASON_RULE,
    SW_REASON_SPLIT,
    SW_REASON_OVERRIDE, /* set through the admin API */
    SW_REASON_MIGRATE   /* moved by a rollback or a route change with on_change: migrate */
} sw_reason;

typedef enum sw_policy { SW_POLICY_DRAIN = 0, SW_POLICY_MIGRATE, SW_POLICY_TERMINATE } sw_policy;

const char *sw_reason_name(sw_reason r);
int sw_reason_parse(const char *s, sw_reason *out);
const char *sw_policy_name(sw_policy p);
int sw_policy_parse(const char *s, sw_policy *out);

typedef struct sw_price {
    int set;
    double input, output, cached_input; /* per token */
    char currency[4];
} sw_price;

typedef struct sw_rversion {
    char *name;
    char *url;         /* service: the deployment's base URL (…/v1); gateway: the provider's */
    char *release;     /* gateway: the release id */
    char *api_key_env; /* gateway: the provider key's variable */
    json_t *manifest;  /* gateway: the release manifest */
    /* gateway: the provider's protocol (sw_proto_id; chat also serves Responses), its key
       (from api_key_env or api_key_file; never logged nor shown), and for Messages the
       anthropic-version header and the default max_tokens (0: none) */
    int proto;
    char *api_key;
    char *anthropic_version;
    long long max_tokens;
    sw_price price;
} sw_rversion;

typedef enum sw_cond_op { SW_OP_EQ = 0, SW_OP_IN, SW_OP_PREFIX, SW_OP_REGEX } sw_cond_op;

typedef struct sw_cond {
    int header; /* 1: a request header (name lowercased); 0: a body attribute path */
    char *name;
    sw_cond_op op;
    char **values;
    size_t n_values;
    regex_t re;
    int has_re;
} sw_cond;

typedef struct sw_rule {
    char *name;
    char *version;
    sw_cond *conds; /* all must hold */
    size_t n_conds;
} sw_rule;

typedef struct sw_route {
    int refs;
    char *agent;
    sw_mode mode;
    int64_t version;
    char *stable;
    char *candidate; /* may be NULL */
    double weight;
    char *rollout_id;
    sw_rule *rules;
    size_t n_rules;
    char *shadow; /* may be NULL */
    double shadow_percent;
    sw_policy on_change;
    long ttl_s; /* 0: the router's default */
    sw_rversion *versions;
    size_t n_versions;
    json_t *retired; /* {name: policy} */
    char *updated_at;
} sw_route;

/* Resolves a gateway version (fills url, release, api_key_env, manifest, price
   when not set) from the release store. Returns -1 with err when it cannot. */
typedef int (*sw_rversion_resolver)(void *ud, const char *agent, sw_rversion *v, sw_err *err);

typedef struct sw_route_ctx {
    sw_mode mode;
    sw_rversion_resolver resolve; /* gateway agents only; may be NULL in tests */
    void *ud;
} sw_route_ctx;

/* Build a route from its JSON form. Every reference (stable, candidate, shadow,
   rule targets) must name a version; in gateway mode a name that is not in
   "versions" is taken as a release reference and resolved. */
sw_route *sw_route_from_json(const char *agent, const json_t *j, const sw_route_ctx *ctx,
                             sw_err *err);
json_t *sw_route_to_json(const sw_route *r); /* new reference */
/* The mode a route's JSON form names: gateway when its "mode" says so, else service. */
sw_mode sw_route_json_mode(const json_t *j);
sw_route *sw_route_ref(sw_route *r);
void sw_route_unref(sw_route *r);

const sw_rversion *sw_route_find(const sw_route *r, const char *name);
/* Whether new sessions can be given this version (stable, candidate, a rule's target). */
int sw_route_is_active(const sw_route *r, const char *name);

/* Whether version v of old leaves with nr while it may still have sessions: active in old (or
   retired there, still draining), not active in nr, and still one of nr's versions. */
int sw_route_leaving(const sw_route *old, const sw_route *nr, const char *v);
/* Record in nr->retired the policy v left under (migrate: none, its sessions moved). */
void sw_route_set_retired(sw_route *nr, const char *v, sw_policy policy);
/* sw_route_set_retired for every version of old leaving with nr: done on the route a change
   writes, so whoever builds it later (a replica started after the change) knows which
   versions still have sessions, and under which policy. */
void sw_route_retire_leaving(const sw_route *old, sw_route *nr, sw_policy policy);

/* What a request offers rules: its headers (case-insensitive lookup) and body. */
typedef struct sw_attrs {
    const char *(*header)(void *ud, const char *name);
    void *ud;
    const json_t *body;
} sw_attrs;

/* A body attribute by dotted path ("metadata.tenant"), as text: strings as they
   are, integers and booleans printed; NULL otherwise. *tmp holds any text made. */
const char *sw_attr_text(const json_t *body, const char *path, char tmp[64]);

/* The version for a session that has no pin: the first matching rule, else the
   split. *reason is RULE or SPLIT; *rule (may be NULL) the rule's name. */
const char *sw_route_assign(const sw_route *r, const char *session, const sw_attrs *a,
                            sw_reason *reason, const char **rule);
/* Whether a session on `version` is shadowed (sticky), and to which version. */
const char *sw_route_shadow_for(const sw_route *r, const char *session, const char *version);

/* RFC 7386 JSON merge patch: target updated in place with patch. */
void sw_json_merge_patch(json_t *target, const json_t *patch);

#endif
