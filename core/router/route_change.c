/* route_change.c - a route change request turned into the next route (route_change.h). */
#include "route_change.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_impl.h"
#include "store/utf8.h"

char *sw_route_admin_agent(const char *path, const char **rest)
{
    if (strncmp(path, "/admin/agents/", 14) != 0)
        return NULL;
    const char *name = path + 14;
    const char *slash = strchr(name, '/');
    if (!slash || slash == name)
        return NULL;
    *rest = slash;
    return sw_xstrndup(name, (size_t)(slash - name));
}

int sw_route_fail(json_t **out, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    *out = sw_error_json(status == 401 ? "authentication_error" : "invalid_request_error", code,
                         "%s", msg);
    free(msg);
    return status;
}

int sw_route_db_conflict(json_t **out, const char *agent, int64_t stored, int64_t mine)
{
    *out = sw_error_json("invalid_request_error", "route_version_conflict",
                         "the route of '%s' is at version %lld in the database, not %lld: read it "
                         "again and retry",
                         agent, (long long)stored, (long long)mine);
    json_object_set_new(*out, "current_version", json_integer(stored));
    return 409;
}

/* The merged JSON form as the next version, stamped now, built by b. */
static sw_route *build_next(const sw_route_builder *b, const char *agent, sw_mode mode,
                            json_t *merged, int64_t cur_version, sw_err *err)
{
    char now[32];
    sw_iso8601_now(now);
    json_object_set_new(merged, "version", json_integer(cur_version + 1));
    json_object_set_new(merged, "updated_at", json_string(now));
    return b->build(b->ud, agent, mode, merged, err);
}

int sw_route_change_set(const sw_route *cur, const char *agent, sw_mode mode, json_t *patch,
                        const sw_route_builder *b, sw_route **next, json_t **out)
{
    *next = NULL;
    size_t name_len = strlen(agent);
    if (!cur && (name_len > 128 || sw_utf8_invalid_at(agent, name_len) != name_len))
        /* A new agent's name goes into the state file, which is JSON. */
        return sw_route_fail(out, 400, "invalid_agent",
                             "an agent name is at most 128 bytes of UTF-8 once percent-decoded");
    int64_t cur_version = cur ? cur->version : 0;
    const json_t *expected = json_object_get(patch, "version");
    if (!json_is_integer(expected))
        return sw_route_fail(out, 428, "route_version_required",
                             "give \"version\": the route version this change is based on (now "
                             "%lld), for compare-and-swap",
                             (long long)cur_version);
    if (json_integer_value(expected) != cur_version) {
        long long given = (long long)json_integer_value(expected);
        *out = sw_error_json("invalid_request_error", "route_version_conflict",
                             "the route of '%s' is at version %lld, not %lld: read it again and "
                             "retry",
                             agent, (long long)cur_version, given);
        json_object_set_new(*out, "current_version", json_integer(cur_version));
        return 409;
    }
    if (cur)
        mode = cur->mode;
    const char *mode_s = json_string_value(json_object_get(patch, "mode"));
    if (mode_s) {
        sw_mode want = strcmp(mode_s, "gateway") == 0 ? SW_MODE_GATEWAY : SW_MODE_SERVICE;
        if ((strcmp(mode_s, "gateway") != 0 && strcmp(mode_s, "service") != 0) ||
            (cur && want != cur->mode))
            return sw_route_fail(out, 400, "invalid_route",
                                 "'mode' is service or gateway and cannot change once the agent "
                                 "has a route");
        mode = want;
    }
    json_t *merged = cur ? sw_route_to_json(cur) : json_object();
    json_object_del(patch, "version");
    json_object_del(patch, "pins");
    const char *cand = json_string_value(json_object_get(patch, "candidate"));
    if (cur && json_object_get(patch, "candidate") && !json_object_get(patch, "rollout_id") &&
        !(cand && cur->candidate && strcmp(cand, cur->candidate) == 0))
        json_object_del(merged, "rollout_id"); /* a new candidate is a new rollout */
    /* No candidate means no split: a weight left from the old one would be refused. */
    if (json_is_null(json_object_get(patch, "candidate")) && !json_object_get(patch, "weight"))
        json_object_set_new(patch, "weight", json_integer(0));
    sw_json_merge_patch(merged, patch);
    sw_err err = {{0}};
    *next = build_next(b, agent, mode, merged, cur_version, &err);
    json_decref(merged);
    if (!*next)
        return sw_route_fail(out, 400, "invalid_route", "agent '%s': %s", agent, err.msg);
    if (cur)
        sw_route_retire_leaving(cur, *next, (*next)->on_change);
    return 0;
}

int sw_route_change_rollback(const sw_route *cur, const char *agent, const json_t *req,
                             const sw_route_builder *b, sw_route **next, sw_policy *policy,
                             json_t **out)
{
    *next = NULL;
    if (!cur)
        return sw_route_fail(out, 404, "agent_not_found", "agent '%s' has no route", agent);
    *policy = cur->on_change;
    const json_t *pj = json_object_get(req, "sessions");
    if (pj && sw_policy_parse(json_string_value(pj), policy) < 0)
        return sw_route_fail(out, 400, "invalid_policy",
                             "'sessions' must be drain (pinned sessions finish on their version), "
                             "migrate (moved to stable now) or terminate (told to start over)");
    const json_t *expected = json_object_get(req, "version");
    if (expected && (!json_is_integer(expected) || json_integer_value(expected) != cur->version)) {
        *out =
            sw_error_json("invalid_request_error", "route_version_conflict",
                          "the route of '%s' is at version %lld", agent, (long long)cur->version);
        json_object_set_new(*out, "current_version", json_integer(cur->version));
        return 409;
    }
    const char *to = json_string_value(json_object_get(req, "to"));
    if (!to)
        to = cur->stable;
    json_t *merged = sw_route_to_json(cur);
    json_object_set_new(merged, "stable", json_string(to));
    json_object_set_new(merged, "candidate", json_null());
    json_object_set_new(merged, "weight", json_integer(0));
    json_object_set_new(merged, "shadow", json_null());
    json_object_del(merged, "rollout_id");
    /* Rules that send sessions anywhere but the version rolled back to go too. */
    json_t *rules = json_array();
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(merged, "rules"), i, rule)
    {
        const char *v = json_string_value(json_object_get(rule, "version"));
        if (v && strcmp(v, to) == 0)
            json_array_append(rules, rule);
    }
    json_object_set_new(merged, "rules", rules);
    sw_err err = {{0}};
    *next = build_next(b, agent, cur->mode, merged, cur->version, &err);
    json_decref(merged);
    if (!*next)
        return sw_route_fail(out, 400, "invalid_rollback", "agent '%s': %s", agent, err.msg);
    sw_route_retire_leaving(cur, *next, *policy);
    return 0;
}

json_t *sw_route_rollback_answer(const sw_route *cur, const sw_route *next, sw_policy policy)
{
    return json_pack("{s:s, s:{s:s, s:s?, s:f}, s:s, s:s}", "agent", next->agent, "from", "stable",
                     cur->stable, "candidate", cur->candidate, "weight", cur->weight, "to",
                     next->stable, "sessions", sw_policy_name(policy));
}
