/* pins.c - the session pin table, its change log, and the copy the log keeps. */
#include "pins.h"

#include <stdlib.h>
#include <string.h>

struct sw_pin_group {
    char *agent;
    sw_pin *oldest, *newest;
    size_t total, terminated;
    sw_hmap versions; /* version -> number of live (not terminated) pins, as a uintptr_t */
};

/* "agent\x1fsession": \x1f cannot occur in an agent name. */
static char *pin_key(const char *agent, const char *session, char *small, size_t n, size_t *len)
{
    size_t al = strlen(agent), sl = strlen(session);
    char *k = al + sl + 2 <= n ? small : sw_xmalloc(al + sl + 2);
    memcpy(k, agent, al);
    k[al] = '\x1f';
    memcpy(k + al + 1, session, sl + 1);
    if (len)
        *len = al + 1 + sl;
    return k;
}

#define KEY_SMALL 320

static void count_version(sw_pin_group *g, const char *version, int delta)
{
    uintptr_t n = (uintptr_t)sw_hmap_get(&g->versions, version);
    n += (uintptr_t)(intptr_t)delta;
    if (n)
        sw_hmap_put(&g->versions, version, (void *)n);
    else
        sw_hmap_del(&g->versions, version);
}

/* The running counts, before (-1) and after (+1) a pin's version or state changes. */
static void count_pin(const sw_pin *pin, int delta)
{
    if (pin->terminated)
        pin->group->terminated += (size_t)(intptr_t)delta;
    else
        count_version(pin->group, pin->version, delta);
}

static void unlink_pin(sw_pin *pin)
{
    sw_pin_group *g = pin->group;
    if (pin->older)
        pin->older->newer = pin->newer;
    else
        g->oldest = pin->newer;
    if (pin->newer)
        pin->newer->older = pin->older;
    else
        g->newest = pin->older;
    pin->older = pin->newer = NULL;
}

static void push_newest(sw_pin *pin)
{
    sw_pin_group *g = pin->group;
    pin->older = g->newest;
    pin->newer = NULL;
    if (g->newest)
        g->newest->newer = pin;
    else
        g->oldest = pin;
    g->newest = pin;
}

static sw_pin_group *group_of(sw_pins *p, const char *agent)
{
    sw_pin_group *g = sw_hmap_get(&p->groups, agent);
    if (!g) {
        g = sw_xcalloc(1, sizeof *g);
        g->agent = sw_xstrdup(agent);
        sw_hmap_init(&g->versions);
        sw_hmap_put(&p->groups, agent, g);
    }
    return g;
}

static void json_str(sw_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sw_buf_append(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sw_buf_append(b, run, (size_t)(s - run));
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            sw_buf_append(b, esc, 2);
        } else {
            sw_buf_append(b, esc, 6);
        }
        run = s + 1;
    }
    sw_buf_append(b, run, (size_t)(s - run));
    sw_buf_append(b, "\"", 1);
}

/* One pin as a JSON object, appended without printf: saves and the change log write many. */
static void pin_row(sw_buf *b, const sw_pin *pin)
{
    sw_buf_puts(b, "{\"agent\":");
    json_str(b, pin->agent);
    sw_buf_puts(b, ",\"session\":");
    json_str(b, pin->session);
    sw_buf_puts(b, ",\"version\":");
    json_str(b, pin->version);
    sw_buf_puts(b, ",\"reason\":\"");
    sw_buf_puts(b, sw_reason_name(pin->reason));
    sw_buf_puts(b, pin->terminated ? "\",\"terminated\":true,\"created_ms\":"
                                   : "\",\"terminated\":false,\"created_ms\":");
    sw_buf_put_i64(b, pin->created_ms);
    sw_buf_puts(b, ",\"last_ms\":");
    sw_buf_put_i64(b, pin->last_ms);
    sw_buf_append(b, "}", 1);
}

/* The change log: records of [u32 key length][key][u32 row length][row], an empty row for a
   removed pin. Lengths in host order: the log never leaves the process. */
static void log_u32(sw_buf *b, size_t n)
{
    uint32_t v = (uint32_t)n;
    sw_buf_append(b, (const char *)&v, sizeof v);
}

static void log_key(sw_buf *b, const char *agent, const char *session)
{
    char small[KEY_SMALL];
    size_t len;
    char *k = pin_key(agent, session, small, sizeof small, &len);
    log_u32(b, len);
    sw_buf_append(b, k, len);
    if (k != small)
        free(k);
}

static void log_set(sw_pins *p, sw_pin *pin)
{
    pin->logged_ms = pin->last_ms;
    if (!p->tracking)
        return;
    log_key(&p->changes, pin->agent, pin->session);
    size_t at = p->changes.len;
    log_u32(&p->changes, 0); /* the row's length, filled in below */
    pin_row(&p->changes, pin);
    uint32_t n = (uint32_t)(p->changes.len - at - sizeof n);
    memcpy(p->changes.data + at, &n, sizeof n);
}

static void log_removed(sw_pins *p, const sw_pin *pin)
{
    if (!p->tracking)
        return;
    log_key(&p->changes, pin->agent, pin->session);
    log_u32(&p->changes, 0);
}

static void pin_free(sw_pin *pin)
{
    free(pin->session);
    free(pin->version);
    free(pin);
}

/* Take a pin out of the table (the map entry is the caller's to remove). */
static void drop(sw_pins *p, sw_pin *pin)
{
    count_pin(pin, -1);
    unlink_pin(pin);
    pin->group->total--;
    log_removed(p, pin);
    pin_free(pin);
}

void sw_pins_init(sw_pins *p, size_t max)
{
    memset(p, 0, sizeof *p);
    sw_hmap_init(&p->map);
    sw_hmap_init(&p->groups);
    p->max = max;
}

void sw_pins_free(sw_pins *p)
{
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e))
        pin_free(e->value);
    sw_hmap_free(&p->map);
    for (sw_hmap_entry *e = sw_hmap_first(&p->groups); e; e = sw_hmap_next(&p->groups, e)) {
        sw_pin_group *g = e->value;
        sw_hmap_free(&g->versions);
        free(g->agent);
        free(g);
    }
    sw_hmap_free(&p->groups);
    sw_buf_free(&p->changes);
}

size_t sw_pins_count(const sw_pins *p)
{
    return p->map.count;
}

sw_pin *sw_pins_get(sw_pins *p, const char *agent, const char *session)
{
    char small[KEY_SMALL];
    char *k = pin_key(agent, session, small, sizeof small, NULL);
    sw_pin *pin = sw_hmap_get(&p->map, k);
    if (k != small)
        free(k);
    return pin;
}

/* sw_pins_set without the log entry. */
static sw_pin *put(sw_pins *p, const char *agent, const char *session, const char *version,
                   sw_reason reason, int64_t now_ms)
{
    char small[KEY_SMALL];
    char *k = pin_key(agent, session, small, sizeof small, NULL);
    sw_pin *pin = sw_hmap_get(&p->map, k);
    if (!pin) {
        if (p->max && p->map.count >= p->max) {
            if (k != small)
                free(k);
            return NULL;
        }
        sw_pin_group *g = group_of(p, agent);
        pin = sw_xcalloc(1, sizeof *pin);
        pin->agent = g->agent;
        pin->group = g;
        pin->session = sw_xstrdup(session);
        pin->created_ms = now_ms;
        sw_hmap_put(&p->map, k, pin);
        g->total++;
    } else {
        count_pin(pin, -1);
        unlink_pin(pin);
        free(pin->version);
    }
    if (k != small)
        free(k);
    pin->version = sw_xstrdup(version);
    pin->reason = reason;
    pin->terminated = 0;
    pin->last_ms = now_ms;
    count_pin(pin, +1);
    push_newest(pin);
    return pin;
}

sw_pin *sw_pins_set(sw_pins *p, const char *agent, const char *session, const char *version,
                    sw_reason reason, int64_t now_ms)
{
    sw_pin *pin = put(p, agent, session, version, reason, now_ms);
    if (pin)
        log_set(p, pin);
    return pin;
}

void sw_pins_del(sw_pins *p, const char *agent, const char *session)
{
    char small[KEY_SMALL];
    char *k = pin_key(agent, session, small, sizeof small, NULL);
    sw_pin *pin = sw_hmap_del(&p->map, k);
    if (k != small)
        free(k);
    if (pin)
        drop(p, pin);
}

void sw_pins_touch(sw_pins *p, sw_pin *pin, int64_t now_ms)
{
    pin->last_ms = now_ms;
    if (pin->group->newest != pin) {
        unlink_pin(pin);
        push_newest(pin);
    }
    if (p->tracking && now_ms - pin->logged_ms >= p->touch_ms)
        log_set(p, pin);
}

size_t sw_pins_expire(sw_pins *p, int64_t now_ms, int64_t (*ttl_ms)(void *ud, const char *agent),
                      void *ud)
{
    size_t n = 0;
    for (sw_hmap_entry *e = sw_hmap_first(&p->groups); e; e = sw_hmap_next(&p->groups, e)) {
        sw_pin_group *g = e->value;
        int64_t ttl = g->oldest ? ttl_ms(ud, g->agent) : 0;
        if (ttl <= 0)
            continue;
        sw_pin *pin;
        while ((pin = g->oldest) && now_ms - pin->last_ms > ttl) {
            char small[KEY_SMALL];
            char *k = pin_key(pin->agent, pin->session, small, sizeof small, NULL);
            sw_hmap_del(&p->map, k);
            if (k != small)
                free(k);
            drop(p, pin);
            n++;
        }
    }
    return n;
}

size_t sw_pins_apply(sw_pins *p, const char *agent, const char *version, sw_policy policy,
                     const char *to)
{
    sw_pin_group *g = sw_hmap_get(&p->groups, agent);
    size_t n = 0;
    for (sw_pin *pin = g ? g->oldest : NULL; pin; pin = pin->newer) {
        if (strcmp(pin->version, version) != 0)
            continue;
        n++;
        if (policy == SW_POLICY_DRAIN)
            continue;
        count_pin(pin, -1);
        if (policy == SW_POLICY_MIGRATE && to) {
            free(pin->version);
            pin->version = sw_xstrdup(to);
            pin->reason = SW_REASON_MIGRATE;
            pin->terminated = 0;
        } else if (policy == SW_POLICY_TERMINATE) {
            pin->terminated = 1;
        }
        count_pin(pin, +1);
        log_set(p, pin);
    }
    return n;
}

json_t *sw_pins_summary(const sw_pins *p, const char *agent)
{
    const sw_pin_group *g = sw_hmap_get(&p->groups, agent);
    json_t *by = json_object();
    for (sw_hmap_entry *e = g ? sw_hmap_first(&g->versions) : NULL; e;
         e = sw_hmap_next(&g->versions, e))
        json_object_set_new(by, e->key, json_integer((json_int_t)(uintptr_t)e->value));
    return json_pack("{s:I, s:o, s:I}", "total", (json_int_t)(g ? g->total : 0), "by_version", by,
                     "terminated", (json_int_t)(g ? g->terminated : 0));
}

static json_t *pin_json(const sw_pin *pin)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "agent", pin->agent, "session",
                     pin->session, "version", pin->version, "reason", sw_reason_name(pin->reason),
                     "terminated", pin->terminated, "created_ms", (json_int_t)pin->created_ms,
                     "last_ms", (json_int_t)pin->last_ms);
}

/* Appends up to limit - size(a) of g's pins, most recent first or (persistence) oldest
   first; 0 when a is full. */
static int list_group(json_t *a, const sw_pin_group *g, size_t limit, int oldest_first)
{
    for (const sw_pin *pin = oldest_first ? g->oldest : g->newest; pin;
         pin = oldest_first ? pin->newer : pin->older) {
        if (limit && json_array_size(a) >= limit)
            return 0;
        json_array_append_new(a, pin_json(pin));
    }
    return 1;
}

static json_t *list(const sw_pins *p, const char *agent, size_t limit, int oldest_first)
{
    json_t *a = json_array();
    if (agent) {
        const sw_pin_group *g = sw_hmap_get(&p->groups, agent);
        if (g)
            list_group(a, g, limit, oldest_first);
        return a;
    }
    for (sw_hmap_entry *e = sw_hmap_first(&p->groups); e; e = sw_hmap_next(&p->groups, e))
        if (!list_group(a, e->value, limit, oldest_first))
            break;
    return a;
}

json_t *sw_pins_list(const sw_pins *p, const char *agent, size_t limit)
{
    return list(p, agent, limit, 0);
}

json_t *sw_pins_to_json(const sw_pins *p)
{
    return list(p, NULL, 0, 1); /* in sw_pins_dump's order */
}

void sw_pins_dump(const sw_pins *p, sw_buf *b)
{
    sw_buf_append(b, "[", 1);
    int first = 1;
    for (sw_hmap_entry *e = sw_hmap_first(&p->groups); e; e = sw_hmap_next(&p->groups, e)) {
        const sw_pin_group *g = e->value;
        for (const sw_pin *pin = g->oldest; pin; pin = pin->newer) {
            if (!first)
                sw_buf_append(b, ",", 1);
            first = 0;
            pin_row(b, pin);
        }
    }
    sw_buf_append(b, "]", 1);
}

/* A saved pin, read once: qsort compares many times. */
typedef struct saved_pin {
    int64_t last_ms;
    sw_reason reason;
    const json_t *j;
} saved_pin;

static int by_last_use(const void *a, const void *b)
{
    int64_t x = ((const saved_pin *)a)->last_ms, y = ((const saved_pin *)b)->last_ms;
    return (x > y) - (x < y);
}

int sw_pins_load_json(sw_pins *p, const json_t *arr, sw_err *err)
{
    if (!json_is_array(arr))
        return sw_err_set(err, "'pins' must be a list");
    size_t n = json_array_size(arr);
    if (p->max && n > p->max)
        return sw_err_set(err, "pin %zu: more pins than the cap of %zu", p->max + 1, p->max);
    saved_pin *order = sw_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(arr, i);
        order[i] = (saved_pin){json_integer_value(json_object_get(j, "last_ms")), 0, j};
        if (!json_is_string(json_object_get(j, "agent")) ||
            !json_is_string(json_object_get(j, "session")) ||
            !json_is_string(json_object_get(j, "version")) ||
            sw_reason_parse(json_string_value(json_object_get(j, "reason")), &order[i].reason) <
                0) {
            free(order);
            return sw_err_set(err, "pin %zu: needs agent, session, version and a known reason",
                              i + 1);
        }
    }
    /* Inserted in order of last use, so each agent's sweep can stop at its first pin in use. */
    qsort(order, n, sizeof *order, by_last_use);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *j = order[i].j;
        sw_pin *pin = put(p, json_string_value(json_object_get(j, "agent")),
                          json_string_value(json_object_get(j, "session")),
                          json_string_value(json_object_get(j, "version")), order[i].reason,
                          order[i].last_ms);
        if (!pin) {
            rc = sw_err_set(err, "pins: more than the cap of %zu", p->max);
            break;
        }
        pin->created_ms = json_integer_value(json_object_get(j, "created_ms"));
        if (json_is_true(json_object_get(j, "terminated"))) {
            count_pin(pin, -1);
            pin->terminated = 1;
            count_pin(pin, +1);
        }
        log_set(p, pin);
    }
    free(order);
    return rc;
}

void sw_pins_track(sw_pins *p, int64_t touch_ms)
{
    p->tracking = 1;
    p->touch_ms = touch_ms;
}

int sw_pins_changed(const sw_pins *p)
{
    return p->changes.len > 0;
}

sw_buf sw_pins_take_changes(sw_pins *p)
{
    sw_buf log = p->changes;
    memset(&p->changes, 0, sizeof p->changes);
    return log;
}

void sw_pin_rows_init(sw_pin_rows *rows)
{
    sw_hmap_init(&rows->map);
}

void sw_pin_rows_free(sw_pin_rows *rows)
{
    for (sw_hmap_entry *e = sw_hmap_first(&rows->map); e; e = sw_hmap_next(&rows->map, e))
        free(e->value);
    sw_hmap_free(&rows->map);
}

size_t sw_pin_rows_count(const sw_pin_rows *rows)
{
    return rows->map.count;
}

static int read_u32(const char **at, const char *end, uint32_t *v)
{
    if ((size_t)(end - *at) < sizeof *v)
        return -1;
    memcpy(v, *at, sizeof *v);
    *at += sizeof *v;
    return 0;
}

int sw_pin_rows_apply(sw_pin_rows *rows, const char *log, size_t len, sw_err *err)
{
    const char *at = log, *end = log + len;
    while (at < end) {
        uint32_t klen, rlen;
        size_t offset = (size_t)(at - log);
        if (read_u32(&at, end, &klen) < 0 || (size_t)(end - at) < klen)
            return sw_err_set(err, "pin change log: record at byte %zu is cut", offset);
        char *key = sw_xstrndup(at, klen);
        at += klen;
        if (read_u32(&at, end, &rlen) < 0 || (size_t)(end - at) < rlen) {
            free(key);
            return sw_err_set(err, "pin change log: record at byte %zu is cut", offset);
        }
        free(rlen ? sw_hmap_put(&rows->map, key, sw_xstrndup(at, rlen))
                  : sw_hmap_del(&rows->map, key));
        free(key);
        at += rlen;
    }
    return 0;
}

void sw_pin_rows_dump(const sw_pin_rows *rows, sw_buf *out)
{
    sw_buf_append(out, "[", 1);
    int first = 1;
    for (sw_hmap_entry *e = sw_hmap_first(&rows->map); e; e = sw_hmap_next(&rows->map, e)) {
        if (!first)
            sw_buf_append(out, ",", 1);
        first = 0;
        sw_buf_puts(out, e->value);
    }
    sw_buf_append(out, "]", 1);
}
