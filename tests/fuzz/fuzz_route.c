/*
 * fuzz_route.c - the admin API's PUT /admin/agents/<a>/route body, and the
 * routes of the router's state file.
 *
 * The body is applied as admin.c's put_route does (its merging is inside
 * admin.c with the router's locking and saving, so the steps are repeated
 * here on the pure functions): a JSON object with an integer "version", an
 * optional "mode", merged (RFC 7386) over the current route's JSON, a new
 * candidate dropping the rollout id, a null candidate zeroing the weight,
 * then built in service and in gateway mode. The body is also built as a
 * whole route (as the state file is read).
 *
 * Properties: a route that builds names only versions it has (stable,
 * candidate, shadow, every rule's target), has a weight and shadow percent in
 * [0, 100], and its JSON is a fixed point: built again from its own JSON it
 * gives the same JSON; a refusal has a message, valid UTF-8 (the admin API
 * quotes it in JSON).
 */
#include "fuzz_util.h"
#include "router/route.h"
#include "store/utf8.h"

static const char current_text[] =
    "{\"agent\": \"a\", \"version\": 3, \"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 25,"
    " \"rollout_id\": \"v2\", \"versions\": {\"v1\": {\"url\": \"http://127.0.0.1:1/v1\"},"
    " \"v2\": {\"url\": \"http://127.0.0.1:2/v1/\", \"pricing\": {\"input\": 0.000001,"
    " \"output\": 0.000002, \"currency\": \"USD\"}}},"
    " \"shadow\": {\"version\": \"v1\", \"percent\": 10},"
    " \"sessions\": {\"on_change\": \"migrate\", \"ttl_s\": 60}, \"retired\": {\"v0\": \"drain\"},"
    " \"rules\": [{\"name\": \"beta\", \"version\": \"v2\", \"header\": \"X-Tier\", \"op\": "
    "\"in\", \"values\": [\"beta\", \"internal\"]}]}";

static json_t *current;

/* A release store that knows every well-formed name. */
static int resolve(void *ud, const char *agent, sw_rversion *v, sw_err *err)
{
    if (!v->release || !*v->release)
        return sw_err_set(err, "no release");
    if (!v->url)
        v->url = sw_xstrdup("https://provider.invalid/v1");
    return 0;
}

static void check_built(sw_route *r, const sw_route_ctx *ctx)
{
    if (!sw_route_find(r, r->stable) || (r->candidate && !sw_route_find(r, r->candidate)) ||
        (r->shadow && !sw_route_find(r, r->shadow)))
        abort();
    if (!(r->weight >= 0 && r->weight <= 100) ||
        !(r->shadow_percent >= 0 && r->shadow_percent <= 100))
        abort();
    for (size_t i = 0; i < r->n_rules; i++)
        if (!sw_route_find(r, r->rules[i].version) || r->rules[i].n_conds == 0)
            abort();
    json_t *j1 = sw_route_to_json(r);
    sw_err err = {{0}};
    sw_route *again = sw_route_from_json(r->agent, j1, ctx, &err);
    if (!again)
        abort(); /* its own JSON is refused */
    json_t *j2 = sw_route_to_json(again);
    if (!json_equal(j1, j2))
        abort();
    json_decref(j1);
    json_decref(j2);
    sw_route_unref(again);
}

static void build(const json_t *j, sw_mode mode)
{
    sw_route_ctx ctx = {mode, mode == SW_MODE_GATEWAY ? resolve : NULL, NULL};
    sw_err err = {{0}};
    sw_route *r = sw_route_from_json("a", j, &ctx, &err);
    if (!r) {
        /* The admin API quotes the message in its JSON answer: it must be UTF-8. */
        size_t n = strlen(err.msg);
        if (!n || sw_utf8_invalid_at(err.msg, n) != n)
            abort();
        return;
    }
    check_built(r, &ctx);
    sw_route_unref(r);
}

/* admin.c put_route's merge, with the current route at version 3. */
static void put(json_t *patch)
{
    const json_t *expected = json_object_get(patch, "version");
    if (!json_is_integer(expected) || json_integer_value(expected) != 3)
        return;
    const char *mode_s = json_string_value(json_object_get(patch, "mode"));
    if (mode_s && strcmp(mode_s, "service") != 0)
        return;
    json_t *merged = json_deep_copy(current);
    json_object_del(patch, "version");
    json_object_del(patch, "pins");
    const char *cand = json_string_value(json_object_get(patch, "candidate"));
    if (json_object_get(patch, "candidate") && !json_object_get(patch, "rollout_id") &&
        !(cand && strcmp(cand, "v2") == 0))
        json_object_del(merged, "rollout_id");
    if (json_is_null(json_object_get(patch, "candidate")) && !json_object_get(patch, "weight"))
        json_object_set_new(patch, "weight", json_integer(0));
    sw_json_merge_patch(merged, patch);
    json_object_set_new(merged, "version", json_integer(4));
    json_object_set_new(merged, "updated_at", json_string("2026-01-01T00:00:00Z"));
    build(merged, SW_MODE_SERVICE);
    json_decref(merged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    if (!current) {
        current = json_loads(current_text, 0, NULL);
        if (!current)
            abort();
    }
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    build(j, SW_MODE_SERVICE);
    build(j, SW_MODE_GATEWAY);
    if (json_is_object(j))
        put(j);
    json_decref(j);
    return 0;
}
