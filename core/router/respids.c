/* respids.c - response ids mapped to sessions, oldest first (see respids.h). */
#include "respids.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct sw_respid {
    char *key;
    char *session;
    int64_t expires_ms;
    sw_respid *next;
};

void sw_respids_init(sw_respids *t, size_t max)
{
    memset(t, 0, sizeof *t);
    sw_hmap_init(&t->map);
    t->max = max ? max : 1;
}

static void drop_oldest(sw_respids *t)
{
    sw_respid *e = t->head;
    t->head = e->next;
    if (!t->head)
        t->tail = NULL;
    /* An id served twice has a newer entry: only the map's own entry is removed. */
    if (sw_hmap_get(&t->map, e->key) == e)
        sw_hmap_del(&t->map, e->key);
    free(e->key);
    free(e->session);
    free(e);
}

void sw_respids_free(sw_respids *t)
{
    while (t->head)
        drop_oldest(t);
    sw_hmap_free(&t->map);
}

static char *key_of(const char *agent, const char *id)
{
    return sw_xasprintf("%s\n%s", agent, id);
}

void sw_respids_put(sw_respids *t, const char *agent, const char *id, const char *session,
                    int64_t expires_ms)
{
    sw_respid *e = sw_xcalloc(1, sizeof *e);
    e->key = key_of(agent, id);
    e->session = sw_xstrdup(session);
    e->expires_ms = expires_ms;
    sw_hmap_put(&t->map, e->key, e);
    if (t->tail)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;
    while (t->head && t->map.count > t->max)
        drop_oldest(t);
}

const char *sw_respids_session(const sw_respids *t, const char *agent, const char *id)
{
    char *key = key_of(agent, id);
    const sw_respid *e = sw_hmap_get(&t->map, key);
    free(key);
    return e ? e->session : NULL;
}

void sw_respids_expire(sw_respids *t, int64_t now_ms)
{
    while (t->head && t->head->expires_ms <= now_ms)
        drop_oldest(t);
}

size_t sw_respids_count(const sw_respids *t)
{
    return t->map.count;
}
