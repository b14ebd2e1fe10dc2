/* hmap.c - chained hash map with string keys. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "bucket.h"

static unsigned hash_key(const char *key)
{
    return sw_murmur3_32(key, strlen(key), 0x9747b28c);
}

void sw_hmap_init(sw_hmap *m)
{
    m->n_slots = 16;
    m->slots = sw_xcalloc(m->n_slots, sizeof *m->slots);
    m->count = 0;
}

void sw_hmap_free(sw_hmap *m)
{
    if (!m->slots)
        return;
    for (size_t i = 0; i < m->n_slots; i++) {
        sw_hmap_entry *e = m->slots[i];
        while (e) {
            sw_hmap_entry *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->slots);
    m->slots = NULL;
    m->n_slots = m->count = 0;
}

static sw_hmap_entry **find(const sw_hmap *m, const char *key, unsigned h)
{
    sw_hmap_entry **pp = &m->slots[h & (m->n_slots - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *sw_hmap_get(const sw_hmap *m, const char *key)
{
    if (!m->slots)
        return NULL;
    sw_hmap_entry **pp = find(m, key, hash_key(key));
    return *pp ? (*pp)->value : NULL;
}

static void grow(sw_hmap *m)
{
    size_t n = m->n_slots * 2;
    sw_hmap_entry **slots = sw_xcalloc(n, sizeof *slots);
    for (size_t i = 0; i < m->n_slots; i++) {
        sw_hmap_entry *e = m->slots[i];
        while (e) {
            sw_hmap_entry *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n;
}

void *sw_hmap_put(sw_hmap *m, const char *key, void *value)
{
    if (!m->slots)
        sw_hmap_init(m);
    unsigned h = hash_key(key);
    sw_hmap_entry **pp = find(m, key, h);
    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    sw_hmap_entry *e = sw_xmalloc(sizeof *e);
    e->key = sw_xstrdup(key);
    e->value = value;
    e->hash = h;
    e->next = NULL;
    *pp = e;
    if (++m->count > m->n_slots)
        grow(m);
    return NULL;
}

void *sw_hmap_del(sw_hmap *m, const char *key)
{
    if (!m->slots)
        return NULL;
    sw_hmap_entry **pp = find(m, key, hash_key(key));
    sw_hmap_entry *e = *pp;
    if (!e)
        return NULL;
    *pp = e->next;
    void *v = e->value;
    free(e->key);
    free(e);
    m->count--;
    return v;
}

static sw_hmap_entry *from_slot(const sw_hmap *m, size_t i)
{
    for (; i < m->n_slots; i++)
        if (m->slots[i])
            return m->slots[i];
    return NULL;
}

sw_hmap_entry *sw_hmap_first(const sw_hmap *m)
{
    return m->slots ? from_slot(m, 0) : NULL;
}

sw_hmap_entry *sw_hmap_next(const sw_hmap *m, const sw_hmap_entry *e)
{
    if (e->next)
        return e->next;
    return from_slot(m, (e->hash & (m->n_slots - 1)) + 1);
}
