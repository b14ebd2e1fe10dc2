/*
 * fuzz_events.c - POST /v1/events bodies, through sw_events_handle on a
 * router that serves one agent with two pinned sessions (and a pin left by an
 * agent it no longer serves); no network: only the route table, the pins and
 * the metrics are touched.
 *
 * Each body is posted twice: as to /v1/events without a session header, and
 * as to /agents/a/v1/events with one (s2, or the bytes before
 * "\n---body---\n" when the input has that separator; those bytes are then
 * also posted as the agent of the path, which is percent-decoded bytes too). Properties: 202
 * answers
 * {"accepted": n, "events": [n attributions]} and counts exactly n events in
 * the metrics, each attributed to its session's pinned version; 400 and 404
 * answer an OpenAI-style error with a message and count nothing.
 */
#include "fuzz_util.h"
#include "router/router_impl.h"

/* router.c's, which links the whole router. */
json_t *sw_error_json(const char *type, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", type,
                          "param", "code", code);
    free(msg);
    return j;
}

/* pinreads.c's: this router has no shared store (r->shared is NULL), so no pin is read from
   another replica's, as pinreads.c answers then. */
int sw_pin_read_ask(sw_router *r, const char *agent, const char *session, int patient,
                    sw_pin_waiter *w)
{
    (void)r, (void)agent, (void)session, (void)patient, (void)w;
    return 0;
}

/* shared.c's, never called without a shared store. */
int sw_shared_up(const sw_shared *s)
{
    (void)s;
    return 1;
}

static sw_router router;

static sw_route *make_route(const char *agent)
{
    json_t *j =
        json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s}}}", "stable", "v1", "candidate", "v2", "versions",
                  "v1", "url", "http://127.0.0.1:1/v1", "v2", "url", "http://127.0.0.1:2/v1");
    sw_route_ctx ctx = {SW_MODE_SERVICE, NULL, NULL};
    sw_err err = {{0}};
    sw_route *r = sw_route_from_json(agent, j, &ctx, &err);
    json_decref(j);
    if (!r)
        abort();
    return r;
}

static void setup(void)
{
    sw_hmap_init(&router.routes);
    sw_hmap_put(&router.routes, "a", make_route("a"));
    sw_pins_init(&router.pins, 0);
    sw_pins_set(&router.pins, "a", "s1", "v1", SW_REASON_SPLIT, 1);
    sw_pins_set(&router.pins, "a", "s2", "v2", SW_REASON_RULE, 1);
    sw_pins_set(&router.pins, "b", "s1", "v2", SW_REASON_SPLIT, 1);
}

static uint64_t counted(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < router.metrics.n_series; i++) {
        const sw_series *s = router.metrics.series[i];
        n += s->tasks_completed + s->tasks_failed + s->tools_ok + s->tools_error + s->feedback_pos +
             s->feedback_neg;
    }
    return n;
}

static void post(const char *agent, const char *session, const char *body, size_t len)
{
    sw_metrics_init(&router.metrics, 64);
    json_t *out = NULL;
    sw_pin_waiter w = {0};
    int status = sw_events_handle(&router, agent, session, body, len, &w, &out);
    if (!out)
        abort();
    if (status == 202) {
        json_int_t n = json_integer_value(json_object_get(out, "accepted"));
        const json_t *evs = json_object_get(out, "events");
        if (n < 1 || n > 1000 || json_array_size(evs) != (size_t)n || counted() != (uint64_t)n)
            abort();
        size_t i;
        json_t *e;
        json_array_foreach(evs, i, e)
        {
            const char *a = json_string_value(json_object_get(e, "agent"));
            const char *s = json_string_value(json_object_get(e, "session"));
            const char *v = json_string_value(json_object_get(e, "version"));
            sw_pin *pin = a && s ? sw_pins_get(&router.pins, a, s) : NULL;
            if (!pin || !v || strcmp(pin->version, v) != 0)
                abort();
        }
    } else if (status == 400 || status == 404) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(out, "error"), "message"));
        if (!msg || !*msg || counted() != 0)
            abort();
    } else {
        abort();
    }
    json_decref(out);
    sw_metrics_free(&router.metrics);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    if (!router.routes.count)
        setup();
    post(NULL, NULL, (const char *)data, size);
    /* "HINT\n---body---\nBODY": the session the request's header or cookie gave
       (any bytes: server.c passes them as they came); else s2. */
    char *hint, *body;
    size_t hlen, blen;
    fz_split(data, size, "\n---body---\n", &hint, &hlen, &body, &blen);
    if (hlen == size)
        post("a", "s2", (const char *)data, size);
    else {
        post("a", hint, body, blen);
        post(hint, NULL, body, blen); /* the same bytes as the agent in the path */
    }
    free(hint);
    free(body);
    return 0;
}
