/* channels.c - stable, candidate and tags: compare-and-swap under the agent's lock,
   with an append-only history of every change. */
#include "store_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "canon.h"

static int valid_channel(const char *c)
{
    return c && (strcmp(c, "stable") == 0 || strcmp(c, "candidate") == 0);
}

json_t *sw_channels_empty(const char *agent)
{
    return json_pack("{s:i, s:s, s:n, s:n, s:{}, s:[]}", "format", SW_CHANNELS_FORMAT, "agent",
                     agent, "stable", "candidate", "tags", "history");
}

int sw_channels_valid(const json_t *ch)
{
    return json_is_object(ch) && json_is_array(json_object_get(ch, "history")) &&
           json_is_object(json_object_get(ch, "tags"));
}

static void append_history(json_t *ch, const char *action, const char *what_key, const char *what,
                           const char *from, const char *to, const sw_change_info *info)
{
    json_t *h = json_object_get(ch, "history");
    char now[32];
    sw_iso8601_now(now);
    json_t *e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "seq",
                          (json_int_t)json_array_size(h) + 1, "at", now, "by", sw_change_user(info),
                          "action", action, what_key, what, "from", from, "to", to, "reason",
                          info ? info->reason : NULL, "run_id", info ? info->run_id : NULL);
    json_array_append_new(h, e);
}

static int same_id(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static sw_store_status release_exists(sw_store *s, const char *agent, const char *id,
                                      sw_store_error *err)
{
    if (!sw_release_id_valid(id))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a release id", id);
    sw_err e = {{0}};
    int missing = 0;
    json_t *m = sw_store_load_manifest(s, agent, id, &missing, &e);
    if (!m)
        return missing ? sw_store_fail(err, SW_STORE_NOT_FOUND, "no release %s of agent '%s'", id,
                                       agent)
                       : sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    json_decref(m);
    return SW_STORE_OK;
}

sw_store_status sw_store_channels(sw_store *s, const char *agent, char **json, sw_store_error *err)
{
    *json = NULL;
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    sw_err e = {{0}};
    json_t *ch = sw_channels_load(s, agent, &e);
    if (!ch)
        return sw_store_fail(err, SW_STORE_ERROR, "%s", e.msg);
    *json = sw_json_text(ch);
    json_decref(ch);
    return SW_STORE_OK;
}

sw_store_status sw_store_channel(sw_store *s, const char *agent, const char *channel, char **id,
                                 sw_store_error *err)
{
    *id = NULL;
    if (!valid_channel(channel))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a channel (stable or candidate)",
                             channel ? channel : "");
    char *text;
    sw_store_status st = sw_store_channels(s, agent, &text, err);
    if (st != SW_STORE_OK)
        return st;
    json_t *ch = json_loads(text, 0, NULL);
    free(text);
    *id = sw_xstrdup(json_string_value(json_object_get(ch, channel)));
    json_decref(ch);
    return SW_STORE_OK;
}

typedef struct set_args {
    const char *agent, *channel, *id, *expected;
    const sw_change_info *info;
} set_args;

/* Who made a channel's last change, for a conflict's message: " by USER in run RUN at
   TIME", or "" when it never changed. */
static void last_change(const json_t *ch, const char *channel, char *out, size_t size)
{
    out[0] = '\0';
    const json_t *h = json_object_get(ch, "history");
    for (size_t i = json_array_size(h); i-- > 0;) {
        const json_t *e = json_array_get(h, i);
        const char *chan = json_string_value(json_object_get(e, "channel"));
        if (!chan || strcmp(chan, channel) != 0)
            continue;
        const char *by = json_string_value(json_object_get(e, "by"));
        const char *run = json_string_value(json_object_get(e, "run_id"));
        const char *at = json_string_value(json_object_get(e, "at"));
        snprintf(out, size, " by %s%s%s at %s", by ? by : "unknown", run ? " in run " : "",
                 run ? run : "", at ? at : "?");
        return;
    }
}

static sw_store_status do_set(sw_store *s, json_t *ch, void *ud, int *dirty, sw_store_error *err)
{
    set_args *a = ud;
    const char *cur = json_string_value(json_object_get(ch, a->channel));
    if (!same_id(cur, a->expected)) {
        char who[256];
        last_change(ch, a->channel, who, sizeof who);
        return sw_store_fail(err, SW_STORE_CONFLICT,
                             "channel '%s' of '%s' holds %s, not %s as expected: it was changed "
                             "meanwhile%s",
                             a->channel, a->agent, cur ? cur : "(none)",
                             a->expected ? a->expected : "(none)", who);
    }
    if (same_id(cur, a->id))
        return SW_STORE_OK;
    append_history(ch, "set", "channel", a->channel, cur, a->id, a->info);
    json_object_set_new(ch, a->channel, a->id ? json_string(a->id) : json_null());
    *dirty = 1;
    return SW_STORE_OK;
}

sw_store_status sw_store_set_channel(sw_store *s, const char *agent, const char *channel,
                                     const char *id, const char *expected,
                                     const sw_change_info *info, sw_store_error *err)
{
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    if (!valid_channel(channel))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a channel (stable or candidate)",
                             channel ? channel : "");
    if (id) {
        sw_store_status st = release_exists(s, agent, id, err);
        if (st != SW_STORE_OK)
            return st;
    }
    set_args a = {agent, channel, id, expected, info};
    return s->backend->change_channels(s, agent, do_set, &a, err);
}

typedef struct rollback_args {
    const char *agent, *to, *expected;
    const sw_change_info *info;
    json_t *result;
} rollback_args;

/* The release stable held before its current value: the `from` of the last
   forward change (not a rollback) that made it current. Rolling back twice
   therefore walks further back instead of bouncing between two releases. */
static const char *previous_stable(const json_t *ch, const char *cur)
{
    const json_t *h = json_object_get(ch, "history");
    for (size_t i = json_array_size(h); i-- > 0;) {
        const json_t *e = json_array_get(h, i);
        const char *chan = json_string_value(json_object_get(e, "channel"));
        const char *action = json_string_value(json_object_get(e, "action"));
        const char *to = json_string_value(json_object_get(e, "to"));
        if (chan && strcmp(chan, "stable") == 0 && action && strcmp(action, "set") == 0 &&
            same_id(to, cur))
            return json_string_value(json_object_get(e, "from"));
    }
    return NULL;
}

static sw_store_status do_rollback(sw_store *s, json_t *ch, void *ud, int *dirty,
                                   sw_store_error *err)
{
    rollback_args *a = ud;
    const char *cur = json_string_value(json_object_get(ch, "stable"));
    if (a->expected && !same_id(cur, a->expected)) {
        char who[256];
        last_change(ch, "stable", who, sizeof who);
        return sw_store_fail(err, SW_STORE_CONFLICT,
                             "stable of '%s' holds %s, not %s as expected: it was changed "
                             "meanwhile%s",
                             a->agent, cur ? cur : "(none)", a->expected, who);
    }
    const char *to = a->to;
    if (!to) {
        to = cur ? previous_stable(ch, cur) : NULL;
        if (!to)
            return sw_store_fail(err, SW_STORE_NOT_FOUND,
                                 "'%s' has no earlier stable release to roll back to", a->agent);
    }
    sw_store_status st = release_exists(s, a->agent, to, err);
    if (st != SW_STORE_OK)
        return st;
    char *target = sw_xstrdup(to), *from = sw_xstrdup(cur);
    const char *cand = json_string_value(json_object_get(ch, "candidate"));
    int clear = cand != NULL;
    if (!same_id(cur, target)) {
        append_history(ch, "rollback", "channel", "stable", cur, target, a->info);
        json_object_set_new(ch, "stable", json_string(target));
        *dirty = 1;
    }
    if (clear) {
        append_history(ch, "rollback", "channel", "candidate", cand, NULL, a->info);
        json_object_set_new(ch, "candidate", json_null());
        *dirty = 1;
    }
    a->result = json_pack("{s:s, s:s?, s:s, s:b}", "agent", a->agent, "from", from, "to", target,
                          "candidate_cleared", clear);
    free(target);
    free(from);
    return SW_STORE_OK;
}

sw_store_status sw_store_rollback(sw_store *s, const char *agent, const char *to_id,
                                  const char *expected_stable, const sw_change_info *info,
                                  char **result, sw_store_error *err)
{
    if (result)
        *result = NULL;
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    rollback_args a = {agent, to_id, expected_stable, info, NULL};
    sw_store_status st = s->backend->change_channels(s, agent, do_rollback, &a, err);
    if (st == SW_STORE_OK && result)
        *result = sw_json_text(a.result);
    json_decref(a.result);
    return st;
}

typedef struct tag_args {
    const char *agent, *id, *tag;
    const sw_change_info *info;
} tag_args;

static sw_store_status do_tag(sw_store *s, json_t *ch, void *ud, int *dirty, sw_store_error *err)
{
    tag_args *a = ud;
    json_t *tags = json_object_get(ch, "tags");
    const char *cur = json_string_value(json_object_get(tags, a->tag));
    if (cur && strcmp(cur, a->id) == 0)
        return SW_STORE_OK;
    if (cur)
        return sw_store_fail(err, SW_STORE_CONFLICT,
                             "tag '%s' of '%s' already names release %s (tags do not move)", a->tag,
                             a->agent, cur);
    append_history(ch, "tag", "tag", a->tag, NULL, a->id, a->info);
    json_object_set_new(tags, a->tag, json_string(a->id));
    *dirty = 1;
    return SW_STORE_OK;
}

sw_store_status sw_store_tag(sw_store *s, const char *agent, const char *id, const char *tag,
                             const sw_change_info *info, sw_store_error *err)
{
    if (!agent || !sw_agent_name_valid(agent))
        return sw_store_fail(err, SW_STORE_INVALID, "'%s' is not a valid agent name",
                             agent ? agent : "(null)");
    /* Tag names follow agent names' rules, and may not shadow a channel or an id. */
    if (!tag || !sw_agent_name_valid(tag) || valid_channel(tag) || sw_release_id_valid(tag))
        return sw_store_fail(err, SW_STORE_INVALID,
                             "'%s' is not a valid tag: use up to 64 letters, digits, '.', '_' or "
                             "'-', not a channel name or a release id",
                             tag ? tag : "");
    sw_store_status st = release_exists(s, agent, id, err);
    if (st != SW_STORE_OK)
        return st;
    tag_args a = {agent, id, tag, info};
    return s->backend->change_channels(s, agent, do_tag, &a, err);
}
