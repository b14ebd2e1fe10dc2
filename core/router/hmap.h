/*
 * hmap.h - a hash map from strings to pointers, for pins, metric series and
 * the agents of a route table.
 *
 * The map copies keys and owns the copies; values are borrowed (the caller
 * frees them, e.g. while walking the map before sw_hmap_free).
 * Not thread-safe: each map belongs to one thread or is immutable once shared.
 */
#ifndef SW_ROUTER_HMAP_H
#define SW_ROUTER_HMAP_H

#include <stddef.h>

typedef struct sw_hmap_entry {
    char *key;
    void *value;
    struct sw_hmap_entry *next;
    unsigned hash;
} sw_hmap_entry;

typedef struct sw_hmap {
    sw_hmap_entry **slots;
    size_t n_slots;
    size_t count;
} sw_hmap;

void sw_hmap_init(sw_hmap *m);
void sw_hmap_free(sw_hmap *m); /* frees the keys and entries, not the values */
void *sw_hmap_get(const sw_hmap *m, const char *key);
/* Set key to value; returns the value it replaced (or NULL). */
void *sw_hmap_put(sw_hmap *m, const char *key, void *value);
/* Remove key; returns its value (or NULL). */
void *sw_hmap_del(sw_hmap *m, const char *key);

/* Walk every entry: `for (it = sw_hmap_first(m); it; it = sw_hmap_next(m, it))`.
   Deleting the current entry while walking is allowed when the next one is taken first. */
sw_hmap_entry *sw_hmap_first(const sw_hmap *m);
sw_hmap_entry *sw_hmap_next(const sw_hmap *m, const sw_hmap_entry *e);

#endif
