/* pairs.c - shadow pairs: the primary's answer beside the shadow's, compared and recorded. */
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

sw_pair *sw_pair_new(sw_router *r, const char *agent, const char *session,
                     const char *primary_version, const char *shadow_version)
{
    sw_pair *p = sw_xcalloc(1, sizeof *p);
    p->id = ++r->next_pair;
    p->agent = sw_xstrdup(agent);
    p->session = sw_xstrdup(session);
    p->primary_version = sw_xstrdup(primary_version);
    p->shadow_version = sw_xstrdup(shadow_version);
    p->t_ms = sw_wall_ms();
    char key[32];
    id_key(p->id, key);
    sw_hmap_put(&r->pairs, key, p);
    return p;
}

static void pair_free(sw_pair *p)
{
    free(p->agent);
    free(p->session);
    free(p->primary_version);
    free(p->shadow_version);
    json_decref(p->primary);
    json_decref(p->shadow);
    free(p->primary_text);
    free(p->shadow_text);
    json_decref(p->primary_tools);
    json_decref(p->shadow_tools);
    free(p);
}

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

static void record(sw_router *r, sw_pair *p)
{
    char key[32];
    id_key(p->id, key);
    sw_hmap_del(&r->pairs, key);
    char *ta = trimmed(p->primary_text ? p->primary_text : "");
    char *tb = trimmed(p->shadow_text ? p->shadow_text : "");
    int text_differs = strcmp(ta, tb) != 0;
    int tool_differs = tools_differ(p->primary_tools, p->shadow_tools);
    free(ta);
    free(tb);
    int error = p->shadow_failed;
    char when[96];
    time_t secs = (time_t)(p->t_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(p->t_ms % 1000));
    json_object_set_new(p->primary, "text", json_string(p->primary_text ? p->primary_text : ""));
    json_object_set(p->primary, "tool_calls", p->primary_tools);
    json_object_set_new(p->shadow, "text", json_string(p->shadow_text ? p->shadow_text : ""));
    json_object_set(p->shadow, "tool_calls", p->shadow_tools);
    json_t *rec = json_pack("{s:I, s:s, s:I, s:s, s:s, s:O, s:O, s:b, s:b, s:b}", "id",
                            (json_int_t)p->id, "time", when, "t_ms", (json_int_t)p->t_ms, "agent",
                            p->agent, "session", p->session, "primary", p->primary, "shadow",
                            p->shadow, "text_differs", !error && text_differs, "tool_calls_differ",
                            !error && tool_differs, "shadow_failed", error);
    sw_metrics_shadow(&r->metrics, sw_metrics_series(&r->metrics, p->agent, p->shadow_version),
                      text_differs || tool_differs, error, sw_wall_ms());
    if (r->pairs_fd >= 0) {
        char *line = json_dumps(rec, JSON_COMPACT);
        size_t n = strlen(line);
        line[n] = '\n';
        /* One write of one line on an O_APPEND descriptor: readers see whole lines. */
        ssize_t w = write(r->pairs_fd, line, n + 1);
        (void)w;
        free(line);
    }
    json_array_append_new(r->pair_ring, rec);
    while (json_array_size(r->pair_ring) > r->cfg->shadow_keep && json_array_size(r->pair_ring))
        json_array_remove(r->pair_ring, 0);
    pair_free(p);
}

void sw_pair_primary(sw_router *r, uint64_t id, int status, double latency_ms,
                     const sw_completion *c, const char *error)
{
    char key[32];
    id_key(id, key);
    sw_pair *p = sw_hmap_get(&r->pairs, key);
    if (!p || p->have_primary)
        return;
    p->have_primary = 1;
    p->primary = json_pack("{s:s, s:i, s:f, s:i, s:i}", "version", p->primary_version, "status",
                           status, "latency_ms", latency_ms, "tokens_in", (int)c->tokens_in,
                           "tokens_out", (int)c->tokens_out);
    if (error)
        json_object_set_new(p->primary, "error", json_string(error));
    p->primary_text = sw_xstrdup(c->text.data ? c->text.data : "");
    p->primary_tools = sw_completion_tools(c);
    if (p->have_shadow)
        record(r, p);
}

void sw_pairs_collect(sw_router *r)
{
    sw_shadow_job *job = sw_shadow_take_done(&r->shadow);
    while (job) {
        sw_shadow_job *next = job->next;
        char key[32];
        id_key(job->pair_id, key);
        sw_pair *p = sw_hmap_get(&r->pairs, key);
        if (p && !p->have_shadow) {
            p->have_shadow = 1;
            sw_completion c;
            sw_completion_init(&c, 1);
            int ok = job->curl_code == 0 && job->status == 200;
            if (ok) {
                json_t *resp = json_loadb(job->response.data ? job->response.data : "",
                                          job->response.len, 0, NULL);
                if (resp)
                    sw_completion_response(&c, resp);
                else
                    ok = 0;
                json_decref(resp);
            }
            p->shadow_failed = !ok;
            p->shadow = json_pack("{s:s, s:i, s:f, s:i, s:i}", "version", p->shadow_version,
                                  "status", (int)job->status, "latency_ms", job->latency_ms,
                                  "tokens_in", (int)c.tokens_in, "tokens_out", (int)c.tokens_out);
            if (!ok)
                json_object_set_new(p->shadow, "error",
                                    json_string(job->curl_code ? job->error
                                                : job->too_big ? "response too large"
                                                               : "not a 200 JSON answer"));
            p->shadow_text = sw_xstrdup(c.text.data ? c.text.data : "");
            p->shadow_tools = sw_completion_tools(&c);
            sw_completion_free(&c);
            if (p->have_primary)
                record(r, p);
        }
        sw_shadow_job_free(job);
        job = next;
    }
}

void sw_pairs_free(sw_router *r)
{
    sw_hmap_entry *e = sw_hmap_first(&r->pairs);
    while (e) {
        sw_hmap_entry *next = sw_hmap_next(&r->pairs, e);
        pair_free(e->value);
        e = next;
    }
    sw_hmap_free(&r->pairs);
}

json_t *sw_pairs_list(sw_router *r, const char *agent, int64_t since_ms, size_t limit)
{
    json_t *out = json_array();
    size_t n = json_array_size(r->pair_ring);
    /* Newest first. */
    for (size_t i = n; i-- > 0;) {
        json_t *p = json_array_get(r->pair_ring, i);
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
