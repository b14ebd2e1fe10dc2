/* pinreads.c - the loop's side of reading the shared pins (router_impl.h): a session this
   replica has no pin for is asked of shared.c's pin reader, and its requests wait suspended,
   never the loop. One read per session however many requests wait for it; a read not
   answered within the timeout is given up (the session is not found: assigned afresh). */
#include <stdlib.h>
#include <string.h>

#include "router_impl.h"

typedef struct pin_read {
    uint64_t id;
    char *key; /* agent \x1f session */
    double deadline;
    sw_pin_waiter **waiters; /* a waiter once per ask (an events list may ask twice) */
    size_t n, cap;
    struct pin_read *prev, *next;
} pin_read;

void sw_pin_reads_init(sw_router *r)
{
    sw_hmap_init(&r->reads.by_key);
    r->reads.timeout_ms = (double)r->cfg->shared_read_ms;
}

static char *read_key(const char *agent, const char *session)
{
    return sw_xasprintf("%s\x1f%s", agent, session);
}

/* The read is over: out of the table, and each waiter told once its last read is. */
static void read_end(sw_router *r, pin_read *pr)
{
    sw_pin_reads *rs = &r->reads;
    sw_hmap_del(&rs->by_key, pr->key);
    if (pr->prev)
        pr->prev->next = pr->next;
    else
        rs->head = pr->next;
    if (pr->next)
        pr->next->prev = pr->prev;
    else
        rs->tail = pr->prev;
    for (size_t i = 0; i < pr->n; i++)
        if (--pr->waiters[i]->pending == 0)
            pr->waiters[i]->done(pr->waiters[i]);
    free(pr->waiters);
    free(pr->key);
    free(pr);
}

int sw_pin_read_ask(sw_router *r, const char *agent, const char *session, int patient,
                    sw_pin_waiter *w)
{
    sw_pin_reads *rs = &r->reads;
    if (!r->shared || w->asked || r->stopping)
        return 0;
    char *key = read_key(agent, session);
    pin_read *pr = sw_hmap_get(&rs->by_key, key);
    if (!pr) {
        double deadline = sw_now_ms() + rs->timeout_ms;
        if (sw_shared_pin_ask(r->shared, rs->next_id + 1, agent, session, deadline, patient) < 0) {
            rs->failed++;
            free(key);
            return 0;
        }
        pr = sw_xcalloc(1, sizeof *pr);
        pr->id = ++rs->next_id;
        pr->key = key;
        pr->deadline = deadline;
        pr->prev = rs->tail;
        if (rs->tail)
            rs->tail->next = pr;
        else
            rs->head = pr;
        rs->tail = pr;
        sw_hmap_put(&rs->by_key, key, pr);
    } else {
        free(key);
    }
    if (pr->n == pr->cap) {
        pr->cap = pr->cap ? pr->cap * 2 : 2;
        pr->waiters = sw_xrealloc(pr->waiters, pr->cap * sizeof *pr->waiters);
    }
    pr->waiters[pr->n++] = w;
    w->pending++;
    return 1;
}

/* A pin the database has, pinned here as it is there. The database keeps the pin as its
   replica wrote it; a rollback since then applied its policy to every replica's own pins, and
   is applied here the same way (with the route of now: it may have changed while the read
   was made). */
static void pin_found(sw_router *r, const char *agent, const char *session, const sw_shared_pin *sp)
{
    const sw_route *route = sw_hmap_get(&r->routes, agent);
    if (!route || sw_pins_get(&r->pins, agent, session))
        return;
    int64_t now = sw_wall_ms();
    int64_t ttl = sw_router_ttl_ms(r, agent);
    const char *version = sp->version;
    sw_reason reason = SW_REASON_PIN;
    sw_reason_parse(sp->reason, &reason);
    int terminated = sp->terminated;
    const char *retired = json_string_value(json_object_get(route->retired, version));
    if (!sw_route_is_active(route, version) && !retired) {
        version = route->stable; /* migrated */
        reason = SW_REASON_MIGRATE;
    } else if (retired && strcmp(retired, "terminate") == 0) {
        terminated = 1;
    }
    if ((ttl > 0 && sp->last_ms + ttl < now) || !sw_route_find(route, version))
        return; /* gone idle, or its version left the route */
    sw_pin *pin = sw_pins_set(&r->pins, agent, session, version, reason, now);
    if (pin) {
        pin->terminated = terminated;
        pin->created_ms = sp->created_ms;
    }
}

/* Not answered in time: counted, logged (once until a read answers), and over. */
static void read_late(sw_router *r, pin_read *pr)
{
    sw_pin_reads *rs = &r->reads;
    rs->late++;
    if (!rs->late_logged) {
        rs->late_logged = 1;
        sw_router_logf(r, SW_LOG_WARN,
                       "the state database did not answer a read of the shared pins within "
                       "%.0f ms: its session is assigned afresh (said again once a read "
                       "answers)",
                       rs->timeout_ms);
    }
    read_end(r, pr);
}

void sw_pin_reads_collect(sw_router *r)
{
    if (!r->shared)
        return;
    size_t n = 0;
    sw_shared_pin_answer *as = sw_shared_pin_answers(r->shared, &n);
    for (size_t i = 0; i < n; i++) {
        sw_shared_pin_answer *a = &as[i];
        char *key = read_key(a->agent, a->session);
        pin_read *pr = sw_hmap_get(&r->reads.by_key, key);
        free(key);
        if (!pr || pr->id != a->id)
            continue; /* given up already: the session was assigned meanwhile */
        if (a->found == 1)
            pin_found(r, a->agent, a->session, &a->pin);
        if (a->found < 0 && sw_now_ms() >= pr->deadline) {
            read_late(r, pr); /* the reader gave up at the deadline */
            continue;
        }
        if (a->found >= 0) {
            a->found ? r->reads.found++ : r->reads.absent++;
            r->reads.late_logged = 0;
        } else {
            r->reads.failed++;
        }
        read_end(r, pr);
    }
    sw_shared_pin_answers_free(as, n);
}

double sw_pin_reads_expire(sw_router *r, double now)
{
    sw_pin_reads *rs = &r->reads;
    /* Answers that came in time but were not taken yet are not given up. */
    if (rs->head && rs->head->deadline <= now)
        sw_pin_reads_collect(r);
    while (rs->head && rs->head->deadline <= now)
        read_late(r, rs->head);
    return rs->head ? rs->head->deadline - now : -1;
}

void sw_pin_reads_prometheus(const sw_router *r, sw_buf *b)
{
    const sw_pin_reads *rs = &r->reads;
    sw_buf_printf(b,
                  "# HELP slipway_shared_pin_reads_total Reads of the shared pins for sessions "
                  "this replica had no pin for, by outcome (late: given up after the timeout; "
                  "failed: the database could not be asked).\n"
                  "# TYPE slipway_shared_pin_reads_total counter\n"
                  "slipway_shared_pin_reads_total{result=\"found\"} %llu\n"
                  "slipway_shared_pin_reads_total{result=\"absent\"} %llu\n"
                  "slipway_shared_pin_reads_total{result=\"late\"} %llu\n"
                  "slipway_shared_pin_reads_total{result=\"failed\"} %llu\n"
                  "# HELP slipway_shared_pin_reads_waiting Reads of the shared pins in progress "
                  "(requests wait for them).\n"
                  "# TYPE slipway_shared_pin_reads_waiting gauge\n"
                  "slipway_shared_pin_reads_waiting %zu\n",
                  (unsigned long long)rs->found, (unsigned long long)rs->absent,
                  (unsigned long long)rs->late, (unsigned long long)rs->failed, rs->by_key.count);
}

void sw_pin_reads_free(sw_router *r)
{
    while (r->reads.head)
        read_end(r, r->reads.head);
    sw_hmap_free(&r->reads.by_key); /* no read is asked again: r->shared is closed by now */
}
