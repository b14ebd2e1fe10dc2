/* pairs.c - shadow pairs: the primary's answer beside the shadow's, compared and recorded.

   Threads: sw_pair_submit, sw_pair_primary, sw_pairs_collect and the ring are the loop's;
   complete() runs on the shadow worker, which owns the job by then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "router_impl.h"

static void id_key(uint64_t id, char key[32])
{
    snprintf(key, 32, "%llu", (unsigned long long)id);
}

/* ---- the ring of recorded pairs ---- */

void sw_pair_ring_init(sw_pair_ring *g, size_t cap)
{
    memset(g, 0, sizeof *g);
    g->cap = cap;
    if (cap)
        g->slot = sw_xcalloc(cap, sizeof *g->slot);
}

json_t *sw_pair_ring_push(sw_pair_ring *g, json_t *rec)
{
    if (!g->cap)
        return rec;
    if (g->count < g->cap) {
        g->slot[(g->head + g->count) % g->cap] = rec;
        g->count++;
        return NULL;
    }
    /* Full: the oldest gives its slot to the newest. */
    json_t *gone = g->slot[g->head];
    g->slot[g->head] = rec;
    g->head = (g->head + 1) % g->cap;
    return gone;
}

json_t *sw_pair_ring_list(const sw_pair_ring *g, const char *agent, int64_t since_ms, size_t limit)
{
    json_t *out = json_array();
    /* Newest first. */
    for (size_t k = g->count; k-- > 0;) {
        json_t *p = g->slot[(g->head + k) % g->cap];
        if (json_integer_value(json_object_get(p, "t_ms")) < since_ms)
            break;
        if (agent && strcmp(json_string_value(json_object_get(p, "agent")), agent) != 0)
            continue;
        if (limit && json_array_size(out) >= limit)
            break;
        json_array_append(out, p);
    }
    return out;
}

void sw_pair_ring_free(sw_pair_ring *g)
{
    for (size_t k = 0; k < g->count; k++)
        json_decref(g->slot[(g->head + k) % g->cap]);
    free(g->slot);
    memset(g, 0, sizeof *g);
}

/* ---- comparing (shadow worker thread) ---- */

static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return sw_xstrndup(s, n);
}

/* Tool calls compared by name and arguments (as JSON values when they parse). */
static int tools_differ(const json_t *a, const json_t *b)
{
    if (json_array_size(a) != json_array_size(b))
        return 1;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        if (!json_equal(json_object_get(x, "name"), json_object_get(y, "name")))
            return 1;
        const char *ax = json_string_value(json_object_get(x, "arguments"));
        const char *ay = json_string_value(json_object_get(y, "arguments"));
        json_t *jx = ax ? json_loads(ax, 0, NULL) : NULL;
        json_t *jy = ay ? json_loads(ay, 0, NULL) : NULL;
        int same = jx && jy ? json_equal(jx, jy) : strcmp(ax ? ax : "", ay ? ay : "") == 0;
        json_decref(jx);
        json_decref(jy);
        if (!same)
            return 1;
    }
    return 0;
}

static const char *side_text(const sw_pair_side *s)
{
    return s->text.data ? s->text.data : "";
}

/* {"version", "status", "latency_ms", "tokens_in", "tokens_out", ["error"], "text",
   "tool_calls"} (tools: borrowed, NULL for none). */
static json_t *side_json(const char *version, const sw_pair_side *s, const char *text,
                         json_t *tools)
{
    json_t *j = json_pack("{s:s, s:i, s:f, s:i, s:i}", "version", version, "status", s->status,
                          "latency_ms", s->latency_ms, "tokens_in", (int)s->tokens_in, "tokens_out",
                          (int)s->tokens_out);
    if (s->error)
        json_object_set_new(j, "error", json_string(s->error));
    json_object_set_new(j, "text", json_string(text));
    json_object_set_new(j, "tool_calls", tools ? json_incref(tools) : json_array());
    return j;
}

/* Text, tool calls and tokens of a whole answer into side; 0 when it is not JSON. */
static int read_answer(const sw_proto *proto, const sw_buf *body, sw_pair_side *side, int tokens)
{
    sw_completion c;
    sw_completion_init(&c, 1);
    json_t *resp = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    if (resp)
        proto->read_response(&c, resp);
    json_decref(resp);
    if (tokens) {
        side->tokens_in = c.tokens_in;
        side->tokens_out = c.tokens_out;
    }
    sw_buf_free(&side->text);
    side->text = c.text;
    memset(&c.text, 0, sizeof c.text);
    json_decref(side->tools);
    side->tools = c.tools;
    c.tools = NULL;
    sw_completion_free(&c);
    return resp != NULL;
}

/* The shadow's answer as a side of the pair (the response body is released). */
static void shadow_side(sw_shadow_job *job, sw_pair_side *side)
{
    memset(side, 0, sizeof *side);
    int ok = job->curl_code == 0 && job->status == 200 &&
             read_answer(sw_proto_get(job->proto), &job->response, side, 1);
    sw_buf_free(&job->response);
    job->failed = !ok;
    side->status = (int)job->status;
    side->latency_ms = job->latency_ms;
    if (!ok)
        side->error = sw_xstrdup(job->curl_code ? job->error
                                 : job->too_big ? "response too large"
                                                : "not a 200 JSON answer");
}

/* Both sides are in: parse, compare, build the record and write its line. */
static void complete(sw_shadow_job *job)
{
    sw_pair_side sh;
    shadow_side(job, &sh);
    /* The primary's side stays as the loop made it, and is freed there with the job: freeing
       the loop's allocations here would contend with it for its malloc arena. */
    const sw_pair_side *pr = &job->primary;
    sw_pair_side whole = {0};
    if (pr->raw.len)
        read_answer(sw_proto_get(job->proto), &pr->raw, &whole, 0);
    const char *ptext = side_text(pr->raw.len ? &whole : pr);
    json_t *ptools = pr->raw.len ? whole.tools : pr->tools;
    char *ta = trimmed(ptext);
    char *tb = trimmed(side_text(&sh));
    int text_differs = strcmp(ta, tb) != 0;
    int tool_differs = tools_differ(ptools, sh.tools);
    free(ta);
    free(tb);
    int error = job->failed;
    job->different = text_differs || tool_differs;
    char when[32];
    sw_iso8601_ms(job->t_ms, when);
    json_t *rec = json_pack("{s:I, s:s, s:I, s:s, s:s, s:o, s:o, s:b, s:b, s:b}", "id",
                            (json_int_t)job->pair_id, "time", when, "t_ms", (json_int_t)job->t_ms,
                            "agent", job->agent, "session", job->session, "primary",
                            side_json(job->primary_version, pr, ptext, ptools), "shadow",
                            side_json(job->shadow_version, &sh, side_text(&sh), sh.tools),
                            "text_differs", !error && text_differs, "tool_calls_differ",
                            !error && tool_differs, "shadow_failed", error);
    sw_pair_side_free(&sh);
    sw_pair_side_free(&whole);
    if (job->pairs_fd >= 0) {
        char *line = json_dumps(rec, JSON_COMPACT);
        size_t n = strlen(line);
        line[n] = '\n';
        /* One write of one line on an O_APPEND descriptor: readers see whole lines. */
        ssize_t w = write(job->pairs_fd, line, n + 1);
        (void)w;
        free(line);
    }
    job->record = rec;
}

/* ---- the loop's side ---- */

uint64_t sw_pair_submit(sw_router *r, sw_shadow_job *job, const char *agent, const char *session,
                        const char *primary_version, const char *shadow_version)
{
    job->pair_id = ++r->next_pair;
    job->t_ms = sw_wall_ms();
    job->agent = sw_xstrdup(agent);
    job->session = sw_xstrdup(session);
    job->primary_version = sw_xstrdup(primary_version);
    job->shadow_version = sw_xstrdup(shadow_version);
    job->pairs_fd = r->pairs_fd;
    job->complete = complete;
    if (sw_shadow_submit(&r->shadow, job) < 0) {
        sw_metrics_shadow_dropped(
            &r->metrics, sw_metrics_series(&r->metrics, agent, shadow_version), sw_wall_ms());
        sw_shadow_job_free(job);
        return 0;
    }
    /* The job is the worker's now, but stays allocated until it has the primary's side. */
    uint64_t id = job->pair_id;
    char key[32];
    id_key(id, key);
    sw_hmap_put(&r->pairs, key, job);
    return id;
}

void sw_pair_primary(sw_router *r, uint64_t id, int status, double latency_ms, sw_completion *c,
                     sw_buf *raw, const char *error)
{
    char key[32];
    id_key(id, key);
    sw_shadow_job *job = sw_hmap_get(&r->pairs, key);
    if (!job || !r->shadow.started)
        return; /* after sw_shadow_stop the pending jobs are gone */
    sw_hmap_del(&r->pairs, key);
    sw_pair_side *p = &job->primary;
    p->status = status;
    p->latency_ms = latency_ms;
    p->tokens_in = c->tokens_in;
    p->tokens_out = c->tokens_out;
    p->error = error ? sw_xstrdup(error) : NULL;
    /* Taken, not copied: the request has no further use for its text and tool calls. */
    p->text = c->text;
    memset(&c->text, 0, sizeof c->text);
    p->tools = c->tools;
    c->tools = NULL;
    if (raw) {
        p->raw = *raw;
        memset(raw, 0, sizeof *raw);
    }
    sw_shadow_primary(&r->shadow, job);
}

void sw_pairs_flush(sw_router *r)
{
    sw_shadow_flush(&r->shadow);
}

void sw_pairs_collect(sw_router *r)
{
    sw_shadow_job *job = sw_shadow_take_done(&r->shadow);
    sw_pair_ring *g = &r->ring;
    int64_t now = sw_wall_ms();
    while (job) {
        sw_shadow_job *next = job->next;
        sw_metrics_shadow(&r->metrics,
                          sw_metrics_series(&r->metrics, job->agent, job->shadow_version),
                          job->different, job->failed, now);
        if (job->record) {
            /* Records are the worker's allocations: it releases the ones that go. */
            sw_shadow_dispose(&r->shadow, sw_pair_ring_push(g, job->record));
            job->record = NULL;
        }
        sw_shadow_job_free(job);
        job = next;
    }
}

void sw_pairs_free(sw_router *r)
{
    /* The pending jobs are the shadow worker's (freed by sw_shadow_stop). */
    sw_hmap_free(&r->pairs);
    sw_pair_ring_free(&r->ring);
}

json_t *sw_pairs_list(sw_router *r, const char *agent, int64_t since_ms, size_t limit)
{
    return sw_pair_ring_list(&r->ring, agent, since_ms, limit);
}
