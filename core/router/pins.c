/* pins.c - the session pin table. */
#include "pins.h"

#include <stdlib.h>
#include <string.h>

static char *pin_key(const char *agent, const char *session, char *small, size_t n)
{
    size_t al = strlen(agent), sl = strlen(session);
    char *k = al + sl + 2 <= n ? small : sw_xmalloc(al + sl + 2);
    memcpy(k, agent, al);
    k[al] = '\x1f'; /* cannot occur in an agent name */
    memcpy(k + al + 1, session, sl + 1);
    return k;
}

static void pin_free(sw_pin *pin)
{
    free(pin->agent);
    free(pin->session);
    free(pin->version);
    free(pin);
}

void sw_pins_init(sw_pins *p, size_t max)
{
    sw_hmap_init(&p->map);
    p->max = max;
    p->dirty = 0;
}

void sw_pins_free(sw_pins *p)
{
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e))
        pin_free(e->value);
    sw_hmap_free(&p->map);
}

size_t sw_pins_count(const sw_pins *p)
{
    return p->map.count;
}

sw_pin *sw_pins_get(sw_pins *p, const char *agent, const char *session)
{
    char small[320];
    char *k = pin_key(agent, session, small, sizeof small);
    sw_pin *pin = sw_hmap_get(&p->map, k);
    if (k != small)
        free(k);
    return pin;
}

sw_pin *sw_pins_set(sw_pins *p, const char *agent, const char *session, const char *version,
                    sw_reason reason, int64_t now_ms)
{
    char small[320];
    char *k = pin_key(agent, session, small, sizeof small);
    sw_pin *pin = sw_hmap_get(&p->map, k);
    if (!pin) {
        if (p->max && p->map.count >= p->max) {
            if (k != small)
                free(k);
            return NULL;
        }
        pin = sw_xcalloc(1, sizeof *pin);
        pin->agent = sw_xstrdup(agent);
        pin->session = sw_xstrdup(session);
        pin->created_ms = now_ms;
        sw_hmap_put(&p->map, k, pin);
    } else {
        free(pin->version);
    }
    if (k != small)
        free(k);
    pin->version = sw_xstrdup(version);
    pin->reason = reason;
    pin->terminated = 0;
    pin->last_ms = now_ms;
    p->dirty++;
    return pin;
}

void sw_pins_del(sw_pins *p, const char *agent, const char *session)
{
    char small[320];
    char *k = pin_key(agent, session, small, sizeof small);
    sw_pin *pin = sw_hmap_del(&p->map, k);
    if (k != small)
        free(k);
    if (pin) {
        pin_free(pin);
        p->dirty++;
    }
}

void sw_pins_touch(sw_pins *p, sw_pin *pin, int64_t now_ms)
{
    (void)p;
    pin->last_ms = now_ms;
}

size_t sw_pins_expire(sw_pins *p, int64_t now_ms, int64_t (*ttl_ms)(void *ud, const char *agent),
                      void *ud)
{
    size_t n = 0;
    sw_hmap_entry *e = sw_hmap_first(&p->map);
    while (e) {
        sw_hmap_entry *next = sw_hmap_next(&p->map, e);
        sw_pin *pin = e->value;
        int64_t ttl = ttl_ms(ud, pin->agent);
        if (ttl > 0 && now_ms - pin->last_ms > ttl) {
            sw_hmap_del(&p->map, e->key);
            pin_free(pin);
            n++;
        }
        e = next;
    }
    if (n)
        p->dirty++;
    return n;
}

size_t sw_pins_apply(sw_pins *p, const char *agent, const char *version, sw_policy policy,
                     const char *to)
{
    size_t n = 0;
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e)) {
        sw_pin *pin = e->value;
        if (strcmp(pin->agent, agent) != 0 || strcmp(pin->version, version) != 0)
            continue;
        n++;
        if (policy == SW_POLICY_MIGRATE && to) {
            free(pin->version);
            pin->version = sw_xstrdup(to);
            pin->reason = SW_REASON_MIGRATE;
            pin->terminated = 0;
        } else if (policy == SW_POLICY_TERMINATE) {
            pin->terminated = 1;
        }
    }
    if (n && policy != SW_POLICY_DRAIN)
        p->dirty++;
    return n;
}

json_t *sw_pins_summary(const sw_pins *p, const char *agent)
{
    json_t *by = json_object();
    json_int_t terminated = 0, total = 0;
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e)) {
        sw_pin *pin = e->value;
        if (strcmp(pin->agent, agent) != 0)
            continue;
        total++;
        if (pin->terminated) {
            terminated++;
            continue;
        }
        json_t *c = json_object_get(by, pin->version);
        json_object_set_new(by, pin->version, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    return json_pack("{s:I, s:o, s:I}", "total", total, "by_version", by, "terminated", terminated);
}

static json_t *pin_json(const sw_pin *pin)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "agent", pin->agent, "session",
                     pin->session, "version", pin->version, "reason", sw_reason_name(pin->reason),
                     "terminated", pin->terminated, "created_ms", (json_int_t)pin->created_ms,
                     "last_ms", (json_int_t)pin->last_ms);
}

json_t *sw_pins_list(const sw_pins *p, const char *agent, size_t limit)
{
    json_t *a = json_array();
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e)) {
        sw_pin *pin = e->value;
        if (agent && strcmp(pin->agent, agent) != 0)
            continue;
        if (limit && json_array_size(a) >= limit)
            break;
        json_array_append_new(a, pin_json(pin));
    }
    return a;
}

json_t *sw_pins_to_json(const sw_pins *p)
{
    return sw_pins_list(p, NULL, 0);
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

void sw_pins_dump(const sw_pins *p, sw_buf *b)
{
    sw_buf_append(b, "[", 1);
    int first = 1;
    for (sw_hmap_entry *e = sw_hmap_first(&p->map); e; e = sw_hmap_next(&p->map, e)) {
        const sw_pin *pin = e->value;
        sw_buf_puts(b, first ? "{\"agent\":" : ",{\"agent\":");
        first = 0;
        json_str(b, pin->agent);
        sw_buf_puts(b, ",\"session\":");
        json_str(b, pin->session);
        sw_buf_puts(b, ",\"version\":");
        json_str(b, pin->version);
        /* Appends, not printf: a save of 10,000 pins runs on the event loop. */
        sw_buf_puts(b, ",\"reason\":\"");
        sw_buf_puts(b, sw_reason_name(pin->reason));
        sw_buf_puts(b, pin->terminated ? "\",\"terminated\":true,\"created_ms\":"
                                       : "\",\"terminated\":false,\"created_ms\":");
        sw_buf_put_i64(b, pin->created_ms);
        sw_buf_puts(b, ",\"last_ms\":");
        sw_buf_put_i64(b, pin->last_ms);
        sw_buf_append(b, "}", 1);
    }
    sw_buf_append(b, "]", 1);
}

int sw_pins_load_json(sw_pins *p, const json_t *arr, sw_err *err)
{
    if (!json_is_array(arr))
        return sw_err_set(err, "'pins' must be a list");
    size_t i;
    json_t *j;
    json_array_foreach(arr, i, j)
    {
        const char *agent = json_string_value(json_object_get(j, "agent"));
        const char *session = json_string_value(json_object_get(j, "session"));
        const char *version = json_string_value(json_object_get(j, "version"));
        sw_reason reason;
        if (!agent || !session || !version ||
            sw_reason_parse(json_string_value(json_object_get(j, "reason")), &reason) < 0)
            return sw_err_set(err, "pin %zu: needs agent, session, version and a known reason",
                              i + 1);
        int64_t last = json_integer_value(json_object_get(j, "last_ms"));
        sw_pin *pin = sw_pins_set(p, agent, session, version, reason, last);
        if (!pin)
            return sw_err_set(err, "pin %zu: more pins than the cap of %zu", i + 1, p->max);
        pin->created_ms = json_integer_value(json_object_get(j, "created_ms"));
        pin->terminated = json_is_true(json_object_get(j, "terminated"));
    }
    return 0;
}
