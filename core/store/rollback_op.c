/*
 * rollback_op.c - sw_rollback_execute: the router's route back to stable and
 * the store's candidate cleared, each only when not already so.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "slipway/rollback.h"

static int fail(char *errbuf, size_t n, const char *fmt, ...) SW_PRINTF(3, 4);
static int fail(char *errbuf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errbuf && n)
        vsnprintf(errbuf, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The store half. *target receives the release stable holds afterwards. */
static int store_half(const sw_rollback_request *q, json_t **out, char **target, char *eb,
                      size_t en)
{
    sw_store_error e = {0};
    char *stable = NULL, *cand = NULL, *to = NULL, *bad = NULL, *ra = NULL;
    int rc = -1;
    if (sw_store_channel(q->store, q->agent, "stable", &stable, &e) != SW_STORE_OK ||
        sw_store_channel(q->store, q->agent, "candidate", &cand, &e) != SW_STORE_OK) {
        fail(eb, en, "release store: %s", e.message);
        goto done;
    }
    if (q->bad && sw_store_resolve(q->store, q->agent, q->bad, &ra, &bad, &e) != SW_STORE_OK) {
        fail(eb, en, "release store: the release rolled back, '%s': %s", q->bad, e.message);
        goto done;
    }
    free(ra);
    ra = NULL;
    if (!bad)
        bad = sw_xstrdup(cand);
    if (q->to) {
        if (sw_store_resolve(q->store, q->agent, q->to, &ra, &to, &e) != SW_STORE_OK) {
            fail(eb, en, "release store: the release to roll back to, '%s': %s", q->to, e.message);
            goto done;
        }
    } else if (stable && !same(stable, bad)) {
        to = sw_xstrdup(stable);
    }
    /* Left NULL when stable is the bad release: sw_store_rollback then goes back to the
       stable before it, from the history. */
    if (to && same(to, stable) && cand && !same(cand, bad)) {
        /* The candidate is another rollout's, set since: not this rollback's to clear. */
        *out = json_pack("{s:s, s:s, s:n, s:b, s:s}", "from", stable, "to", stable,
                         "candidate_cleared", "already", 1, "left_candidate", cand);
        *target = sw_xstrdup(stable);
        rc = 0;
        goto done;
    }
    if (to && same(to, stable) && !cand) {
        *out = json_pack("{s:s, s:s, s:n, s:b}", "from", stable, "to", stable, "candidate_cleared",
                         "already", 1);
        *target = sw_xstrdup(stable);
        rc = 0;
        goto done;
    }
    if (!stable && !to) {
        /* Nothing ever promoted: only the candidate goes. */
        if (cand && sw_store_set_channel(q->store, q->agent, "candidate", NULL, cand, &q->info,
                                         &e) != SW_STORE_OK) {
            fail(eb, en, "release store: clearing the candidate: %s", e.message);
            goto done;
        }
        *out = json_pack("{s:n, s:n, s:s?, s:b}", "from", "to", "candidate_cleared", cand,
                         "already", cand == NULL);
        rc = 0;
        goto done;
    }
    char *res = NULL;
    if (sw_store_rollback(q->store, q->agent, to, stable, &q->info, &res, &e) != SW_STORE_OK) {
        fail(eb, en, "release store: rolling back '%s': %s", q->agent, e.message);
        goto done;
    }
    json_t *r = json_loads(res, 0, NULL);
    free(res);
    const char *now = json_string_value(json_object_get(r, "to"));
    *target = sw_xstrdup(now);
    *out = json_pack("{s:s?, s:s?, s:s?, s:b}", "from", stable, "to", now, "candidate_cleared",
                     cand, "already", 0);
    json_decref(r);
    rc = 0;
done:
    free(stable);
    free(cand);
    free(to);
    free(bad);
    free(ra);
    return rc;
}

static int call(const sw_rollback_request *q, const char *method, const char *path,
                const char *body, json_t **resp, char *eb, size_t en)
{
    int status = 0;
    char *text = NULL;
    char msg[512] = "";
    if (q->call(q->call_userdata, method, path, body, &status, &text, msg, sizeof msg) != 0) {
        free(text);
        return fail(eb, en, "router: %s %s: %s", method, path, msg);
    }
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (status != 200) {
        const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        fail(eb, en, "router: %s %s: HTTP %d: %s", method, path, status,
             m ? m : (text ? text : "no body"));
        json_decref(j);
        free(text);
        return -1;
    }
    free(text);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(eb, en, "router: %s %s: the answer is not a JSON object", method, path);
    }
    *resp = j;
    return 0;
}

static int router_half(const sw_rollback_request *q, const char *target, json_t **out, char *eb,
                       size_t en)
{
    char *path = sw_xasprintf("/admin/agents/%s/route", q->agent);
    json_t *route = NULL;
    int rc = call(q, "GET", path, NULL, &route, eb, en);
    free(path);
    if (rc)
        return -1;
    const char *stable = json_string_value(json_object_get(route, "stable"));
    const char *cand = json_string_value(json_object_get(route, "candidate"));
    const char *mode = json_string_value(json_object_get(route, "mode"));
    double weight = json_number_value(json_object_get(route, "weight"));
    const json_t *shadow = json_object_get(route, "shadow");
    const char *to = q->router_to;
    /* In gateway mode a version is a release id, so the store's target is the router's too. */
    if (!to && target && same(mode, "gateway") && !same(target, stable))
        to = target;
    int clean = !cand && weight == 0 && (!shadow || json_is_null(shadow));
    /* In gateway mode a version is a release id, so a candidate that is not the release
       rolled back is another rollout's, begun since: left to it. */
    int rival = q->bad && same(mode, "gateway") && cand && !same(cand, q->bad) &&
                !same(stable, q->bad) && !q->router_to;
    if (rival || (clean && (!to || same(to, stable)))) {
        *out = json_pack("{s:b, s:b, s:{s:s?, s:n, s:f}, s:s?, s:n, s:i, s:I}", "done", 1,
                         "already", 1, "from", "stable", stable, "candidate", "weight", weight,
                         "to", stable, "sessions", "pins_affected", 0, "route_version",
                         json_integer_value(json_object_get(route, "version")));
        if (rival)
            json_object_set_new(*out, "left_candidate", json_string(cand));
        json_decref(route);
        return 0;
    }
    json_decref(route);
    json_t *body = json_object();
    if (q->sessions)
        json_object_set_new(body, "sessions", json_string(q->sessions));
    if (to)
        json_object_set_new(body, "to", json_string(to));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    path = sw_xasprintf("/admin/agents/%s/rollback", q->agent);
    json_t *r = NULL;
    rc = call(q, "POST", path, text, &r, eb, en);
    free(path);
    free(text);
    if (rc)
        return -1;
    json_t *rt = json_object_get(r, "route");
    *out = json_pack("{s:b, s:b, s:O?, s:O?, s:O?, s:O?, s:O?}", "done", 1, "already", 0, "from",
                     json_object_get(r, "from"), "to", json_object_get(r, "to"), "sessions",
                     json_object_get(r, "sessions"), "pins_affected",
                     json_object_get(r, "pins_affected"), "route_version",
                     json_object_get(rt, "version"));
    json_decref(r);
    return 0;
}

/* True when stable itself moves: an explicit target, or the release rolled back
   is already stable (a promotion being undone). Then the store decides the
   target before the router is told; otherwise the router goes first. */
static int stable_moves(const sw_rollback_request *q)
{
    if (!q->store)
        return 0;
    if (q->to)
        return 1;
    sw_store_error e = {0};
    char *s = NULL, *ra = NULL, *bad = NULL;
    int moves = 0;
    if (sw_store_channel(q->store, q->agent, "stable", &s, &e) == SW_STORE_OK && s && q->bad &&
        sw_store_resolve(q->store, q->agent, q->bad, &ra, &bad, &e) == SW_STORE_OK)
        moves = same(s, bad);
    free(s);
    free(ra);
    free(bad);
    return moves;
}

/* The release this run last made candidate (malloc'd), from the channel history;
   NULL when it made none. */
static char *run_candidate(const sw_rollback_request *q)
{
    if (!q->store || !q->info.run_id)
        return NULL;
    sw_store_error e = {0};
    char *text = NULL;
    if (sw_store_channels(q->store, q->agent, &text, &e) != SW_STORE_OK)
        return NULL;
    json_t *ch = json_loads(text, 0, NULL);
    free(text);
    const json_t *h = json_object_get(ch, "history");
    char *id = NULL;
    for (size_t i = json_array_size(h); i-- > 0 && !id;) {
        const json_t *ent = json_array_get(h, i);
        const char *to = json_string_value(json_object_get(ent, "to"));
        if (same(json_string_value(json_object_get(ent, "channel")), "candidate") && to &&
            same(json_string_value(json_object_get(ent, "run_id")), q->info.run_id))
            id = sw_xstrdup(to);
    }
    json_decref(ch);
    return id;
}

int sw_rollback_execute(const sw_rollback_request *req, char **result, char *errbuf, size_t errsize)
{
    *result = NULL;
    if (!req->agent || !*req->agent)
        return fail(errbuf, errsize, "rollback: no agent named");
    /* Within a run, what is rolled back is what the run released: when another run's
       candidate has replaced it since, that one is left alone. */
    sw_rollback_request own = *req;
    char *mine = req->bad ? NULL : run_candidate(req);
    if (mine)
        own.bad = mine;
    const sw_rollback_request *q = &own;
    json_t *st = NULL, *rt = NULL;
    char *target = NULL;
    int store_first = stable_moves(q);
    int rc = 0;
    if (q->call && !store_first)
        rc = router_half(q, NULL, &rt, errbuf, errsize);
    if (rc == 0 && q->store)
        rc = store_half(q, &st, &target, errbuf, errsize);
    if (rc == 0 && q->call && store_first)
        rc = router_half(q, target, &rt, errbuf, errsize);
    free(target);
    free(mine);
    if (rc) {
        json_decref(st);
        json_decref(rt);
        return -1;
    }
    json_t *res = json_pack("{s:s, s:o, s:o}", "agent", q->agent, "router", rt ? rt : json_null(),
                            "store", st ? st : json_null());
    *result = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    return 0;
}
