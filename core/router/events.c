/* events.c - POST /v1/events: outcomes reported by the application, attributed through pins. */
#include <stdlib.h>
#include <string.h>

#include "router_impl.h"
#include "store/utf8.h"

#define MAX_EVENTS 1000

typedef struct parsed {
    const char *agent, *session;
    sw_event_type type;
    int value;
} parsed;

static int bad(json_t **out, int status, const char *code, const char *msg)
{
    *out = sw_error_json("invalid_request_error", code, "%s", msg);
    return status;
}

/* A name from the request's path as the error may quote it: its JSON must be
   valid UTF-8, and the path is whatever bytes the client percent-encoded. */
static const char *quotable(const char *s)
{
    size_t n = strlen(s);
    return sw_utf8_invalid_at(s, n) == n ? s : "(a name that is not UTF-8)";
}

/* Check one event; on error fills why (and returns -1). */
static int check(const json_t *e, const char *agent_default, const char *session_default, parsed *p,
                 char *why, size_t whysize)
{
    if (!json_is_object(e)) {
        snprintf(why, whysize, "an event must be a JSON object");
        return -1;
    }
    const char *type = json_string_value(json_object_get(e, "type"));
    p->agent = json_string_value(json_object_get(e, "agent"));
    if (!p->agent)
        p->agent = agent_default;
    p->session = json_string_value(json_object_get(e, "session"));
    if (!p->session && session_default) {
        /* A chat request refuses such a key, so no pin can have it; and it would
           be quoted in the error, whose JSON must be valid UTF-8. */
        size_t n = strnlen(session_default, SW_SESSION_MAX + 1);
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)session_default[i] < 0x21 ||
                (unsigned char)session_default[i] > 0x7e) {
                n = SW_SESSION_MAX + 1;
                break;
            }
        }
        if (n > SW_SESSION_MAX) {
            snprintf(why, whysize,
                     "the session header or cookie must be 1 to %d visible ASCII characters",
                     SW_SESSION_MAX);
            return -1;
        }
        p->session = session_default;
    }
    if (!type) {
        snprintf(why, whysize, "missing 'type' (task, tool_call or feedback)");
        return -1;
    }
    if (strcmp(type, "task") == 0) {
        p->type = SW_EV_TASK;
        const char *o = json_string_value(json_object_get(e, "outcome"));
        if (!o || (strcmp(o, "completed") != 0 && strcmp(o, "failed") != 0)) {
            snprintf(why, whysize, "a task event needs 'outcome': completed or failed");
            return -1;
        }
        p->value = strcmp(o, "completed") == 0;
    } else if (strcmp(type, "tool_call") == 0) {
        p->type = SW_EV_TOOL;
        const json_t *name = json_object_get(e, "name");
        const json_t *ok = json_object_get(e, "ok");
        if (!json_is_string(name) || json_string_length(name) == 0) {
            snprintf(why, whysize, "a tool_call event needs 'name', the tool's name");
            return -1;
        }
        if (!json_is_boolean(ok)) {
            snprintf(why, whysize, "a tool_call event needs 'ok': true or false");
            return -1;
        }
        p->value = json_is_true(ok);
    } else if (strcmp(type, "feedback") == 0) {
        p->type = SW_EV_FEEDBACK;
        const json_t *score = json_object_get(e, "score");
        if (!json_is_integer(score) ||
            (json_integer_value(score) != 1 && json_integer_value(score) != -1)) {
            snprintf(why, whysize, "a feedback event needs 'score': 1 or -1");
            return -1;
        }
        p->value = (int)json_integer_value(score);
    } else {
        snprintf(why, whysize, "unknown event type '%.*s' (task, tool_call or feedback)",
                 sw_utf8_clip(type, 64), type);
        return -1;
    }
    if (!p->session || !*p->session) {
        snprintf(why, whysize,
                 "missing 'session': the session the event belongs to (or send "
                 "it the way chat requests do)");
        return -1;
    }
    if (!p->agent) {
        snprintf(why, whysize, "missing 'agent' (or post to /agents/<name>/v1/events)");
        return -1;
    }
    return 0;
}

/* The answer for an event whose session has no pin: 404, or 503 while the shared pins cannot
   be read (another replica may hold it; the event can be sent again). */
static int no_pin(sw_router *r, json_t **out, const parsed *p)
{
    if (r->shared && !sw_shared_up(r->shared)) {
        char *msg = sw_xasprintf(
            "session '%.*s' of agent '%s' has no pin on this replica, and the state database "
            "that holds the other replicas' is unreachable: send the event again later",
            sw_utf8_clip(p->session, 200), p->session, quotable(p->agent));
        int st = bad(out, 503, "state_backend_unavailable", msg);
        free(msg);
        return st;
    }
    char *msg = sw_xasprintf("session '%.*s' of agent '%s' has no pinned version (it never made a "
                             "request, or went idle): the event cannot be attributed",
                             sw_utf8_clip(p->session, 200), p->session, quotable(p->agent));
    int st = bad(out, 404, "session_not_found", msg);
    free(msg);
    return st;
}

int sw_events_handle(sw_router *r, const char *agent_from_path, const char *session_hint,
                     const char *body, size_t len, sw_pin_waiter *w, json_t **out)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    if (!j) {
        /* jansson's text quotes the input near the error, cut anywhere (even after
           the first byte of a character): only its valid UTF-8 start is shown. */
        size_t tn = strnlen(je.text, sizeof je.text);
        char *msg = sw_xasprintf("the body is not valid JSON: %.*s (line %d, column %d)",
                                 (int)sw_utf8_invalid_at(je.text, tn), je.text, je.line, je.column);
        int st = bad(out, 400, "invalid_json", msg);
        free(msg);
        return st;
    }
    json_t *list = json_is_array(j) ? json_incref(j) : json_pack("[O]", j);
    json_decref(j);
    size_t n = json_array_size(list);
    int status = 202;
    if (n == 0 || n > MAX_EVENTS) {
        json_decref(list);
        return bad(out, 400, "invalid_event", "send one event or a list of 1 to 1000 events");
    }
    /* With one agent on the router, events need not name it. */
    const char *only = NULL;
    if (r->routes.count == 1)
        only = sw_hmap_first(&r->routes)->key;
    parsed *ps = sw_xcalloc(n, sizeof *ps);
    char why[300];
    int waiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (check(json_array_get(list, i), agent_from_path ? agent_from_path : only, session_hint,
                  &ps[i], why, sizeof why) < 0) {
            char *msg = n > 1 ? sw_xasprintf("event %zu: %s", i + 1, why) : sw_xstrdup(why);
            status = bad(out, 400, "invalid_event", msg);
            free(msg);
            goto done;
        }
        const sw_route *route = sw_hmap_get(&r->routes, ps[i].agent);
        if (!route) {
            char *msg = sw_xasprintf("%sunknown agent '%s'", n > 1 ? "an event: " : "",
                                     quotable(ps[i].agent));
            status = bad(out, 404, "agent_not_found", msg);
            free(msg);
            goto done;
        }
    }
    /* Sessions another replica pinned: their pins read from the shared pins while the request
       waits (all at once), then handled again. */
    for (size_t i = 0; i < n; i++)
        if (!sw_pins_get(&r->pins, ps[i].agent, ps[i].session) &&
            sw_pin_read_ask(r, ps[i].agent, ps[i].session, 1, w))
            waiting = 1;
    if (waiting) {
        status = 0;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sw_pins_get(&r->pins, ps[i].agent, ps[i].session)) {
            status = no_pin(r, out, &ps[i]);
            goto done;
        }
    }
    /* All valid: count them. */
    json_t *attributed = json_array();
    int64_t now = sw_wall_ms();
    for (size_t i = 0; i < n; i++) {
        sw_pin *pin = sw_pins_get(&r->pins, ps[i].agent, ps[i].session);
        sw_series *s = sw_metrics_series(&r->metrics, ps[i].agent, pin->version);
        sw_metrics_event(&r->metrics, s, ps[i].type, ps[i].value, now);
        json_array_append_new(attributed,
                              json_pack("{s:s, s:s, s:s}", "agent", ps[i].agent, "session",
                                        ps[i].session, "version", pin->version));
    }
    *out = json_pack("{s:I, s:o}", "accepted", (json_int_t)n, "events", attributed);
done:
    free(ps);
    json_decref(list);
    return status;
}
