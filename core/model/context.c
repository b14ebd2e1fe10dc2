/* context.c - the typed context: an insertion-ordered entry array indexed by an
   open-addressing hash table, so reads and rewrites cost one hash and one probe. */
#include "context.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key;
    char *writer; /* NULL when none was given */
    sw_value v;
    unsigned flags;
    uint32_t hash;
} entry;

/* idx is the entry's index + 1, so a zeroed table is empty. The hash is kept
   beside it so a probe rarely touches an entry that does not match. */
typedef struct slot {
    uint32_t hash;
    uint32_t idx;
} slot;

struct sw_context {
    entry *entries;
    size_t count, cap;
    slot *slots;
    size_t mask; /* slot count - 1; the slot count is a power of two */
    unsigned long long generation;
    /* The text of every secret value set so far, raw and as it appears escaped
       inside JSON text: a value containing one is derived from a secret. */
    char **secret_texts;
    size_t n_secret_texts;
};

/* Shorter secrets are not tracked: they would taint ordinary words (the host
   does not mask them in logs either, for the same reason). */
#define MIN_SECRET_TEXT 4

#define MIN_SLOTS 64

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

sw_context *sw_context_new(void)
{
    sw_context *ctx = sw_xcalloc(1, sizeof *ctx);
    ctx->slots = sw_xcalloc(MIN_SLOTS, sizeof *ctx->slots);
    ctx->mask = MIN_SLOTS - 1;
    return ctx;
}

void sw_context_free(sw_context *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->count; i++) {
        free(ctx->entries[i].key);
        free(ctx->entries[i].writer);
        sw_value_free(&ctx->entries[i].v);
    }
    free(ctx->entries);
    free(ctx->slots);
    for (size_t i = 0; i < ctx->n_secret_texts; i++)
        free(ctx->secret_texts[i]);
    free(ctx->secret_texts);
    free(ctx);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const sw_context *ctx, const char *key, uint32_t h)
{
    size_t pos = h & ctx->mask;
    for (;;) {
        const slot *s = &ctx->slots[pos];
        if (!s->idx || (s->hash == h && strcmp(ctx->entries[s->idx - 1].key, key) == 0))
            return pos;
        pos = (pos + 1) & ctx->mask;
    }
}

static entry *find(const sw_context *ctx, const char *key)
{
    if (!key)
        return NULL;
    const slot *s = &ctx->slots[probe(ctx, key, fnv1a(key))];
    return s->idx ? &ctx->entries[s->idx - 1] : NULL;
}

/* Keep the table at most half full so probes stay short. */
static void grow_slots(sw_context *ctx)
{
    size_t n = (ctx->mask + 1) * 2;
    free(ctx->slots);
    ctx->slots = sw_xcalloc(n, sizeof *ctx->slots);
    ctx->mask = n - 1;
    for (size_t i = 0; i < ctx->count; i++) {
        size_t pos = ctx->entries[i].hash & ctx->mask;
        while (ctx->slots[pos].idx)
            pos = (pos + 1) & ctx->mask;
        ctx->slots[pos] = (slot){.hash = ctx->entries[i].hash, .idx = (uint32_t)i + 1};
    }
}

static int is_text(sw_type t)
{
    return t == SW_TYPE_STRING || t == SW_TYPE_JSON;
}

/* Rewrites of the same text are common (a stage re-publishing its id); they keep
   the old buffer. The new value is copied before the old one is freed, since v
   may point into the context itself. */
static void replace_value(sw_value *dst, const sw_value *v)
{
    if (is_text(v->type) && dst->type == v->type && strcmp(dst->as.s, v->as.s) == 0)
        return;
    sw_value copy = sw_value_copy(v);
    sw_value_free(dst);
    *dst = copy;
}

static void replace_writer(char **dst, const char *writer)
{
    if (*dst && writer && strcmp(*dst, writer) == 0)
        return;
    char *copy = sw_xstrdup(writer);
    free(*dst);
    *dst = copy;
}

static void add_secret_text(sw_context *ctx, const char *text)
{
    if (strlen(text) < MIN_SECRET_TEXT)
        return;
    for (size_t i = 0; i < ctx->n_secret_texts; i++)
        if (strcmp(ctx->secret_texts[i], text) == 0)
            return;
    ctx->secret_texts =
        sw_xrealloc(ctx->secret_texts, (ctx->n_secret_texts + 1) * sizeof *ctx->secret_texts);
    ctx->secret_texts[ctx->n_secret_texts++] = sw_xstrdup(text);
}

static void remember_secret(sw_context *ctx, const sw_value *v)
{
    if (v->type != SW_TYPE_STRING || !v->as.s)
        return;
    add_secret_text(ctx, v->as.s);
    /* Inside JSON text a quote, a backslash or a control character is escaped. */
    json_t *j = json_string(v->as.s);
    char *quoted = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (quoted && strlen(quoted) >= 2) {
        quoted[strlen(quoted) - 1] = '\0';
        add_secret_text(ctx, quoted + 1);
    }
    free(quoted);
    json_decref(j);
}

static int derived_from_secret(const sw_context *ctx, const sw_value *v)
{
    if (!is_text(v->type) || !v->as.s)
        return 0;
    for (size_t i = 0; i < ctx->n_secret_texts; i++)
        if (strstr(v->as.s, ctx->secret_texts[i]))
            return 1;
    return 0;
}

void sw_context_set(sw_context *ctx, const char *key, const sw_value *v, const char *writer,
                    unsigned flags)
{
    if (!key)
        return;
    static const sw_value null_value = {.type = SW_TYPE_NULL};
    if (!v)
        v = &null_value;
    if (flags & SW_CTX_SECRET)
        remember_secret(ctx, v);
    else if (ctx->n_secret_texts && derived_from_secret(ctx, v))
        flags |= SW_CTX_SECRET;
    uint32_t h = fnv1a(key);
    size_t pos = probe(ctx, key, h);
    ctx->generation++;
    if (ctx->slots[pos].idx) {
        entry *e = &ctx->entries[ctx->slots[pos].idx - 1];
        replace_value(&e->v, v);
        replace_writer(&e->writer, writer);
        e->flags = flags;
        return;
    }
    /* Copy everything before any array moves: key, v and writer may point into it. */
    entry e = {.key = sw_xstrdup(key),
               .writer = sw_xstrdup(writer),
               .v = sw_value_copy(v),
               .flags = flags,
               .hash = h};
    if (ctx->count == ctx->cap) {
        ctx->cap = ctx->cap ? ctx->cap * 2 : 16;
        ctx->entries = sw_xrealloc(ctx->entries, ctx->cap * sizeof *ctx->entries);
    }
    ctx->entries[ctx->count++] = e;
    if (ctx->count * 2 > ctx->mask + 1) {
        grow_slots(ctx);
        return;
    }
    ctx->slots[pos] = (slot){.hash = h, .idx = (uint32_t)ctx->count};
}

const sw_value *sw_context_get(const sw_context *ctx, const char *key)
{
    entry *e = find(ctx, key);
    return e ? &e->v : NULL;
}

int sw_context_get_typed(const sw_context *ctx, const char *key, sw_type want, const sw_value **out,
                         sw_err *err)
{
    entry *e = find(ctx, key);
    if (!e)
        return sw_err_set(err, "context key '%s' is not set", key ? key : "");
    sw_type got = e->v.type;
    /* Widening is always allowed: the caller reads as.i when *out is an INT. */
    if (want != SW_TYPE_ANY && got != want && !(want == SW_TYPE_DOUBLE && got == SW_TYPE_INT))
        return sw_err_set(err, "context key '%s': expected %s, got %s", key, sw_type_name(want),
                          sw_type_name(got));
    *out = &e->v;
    return 0;
}

unsigned sw_context_flags(const sw_context *ctx, const char *key)
{
    entry *e = find(ctx, key);
    return e ? e->flags : 0;
}

const char *sw_context_writer(const sw_context *ctx, const char *key)
{
    entry *e = find(ctx, key);
    return e ? e->writer : NULL;
}

size_t sw_context_count(const sw_context *ctx)
{
    return ctx->count;
}

const char *sw_context_key_at(const sw_context *ctx, size_t i)
{
    return i < ctx->count ? ctx->entries[i].key : NULL;
}

const sw_value *sw_context_value_at(const sw_context *ctx, size_t i)
{
    return i < ctx->count ? &ctx->entries[i].v : NULL;
}

unsigned sw_context_flags_at(const sw_context *ctx, size_t i)
{
    return i < ctx->count ? ctx->entries[i].flags : 0;
}

unsigned long long sw_context_generation(const sw_context *ctx)
{
    return ctx->generation;
}

json_t *sw_context_to_json(const sw_context *ctx)
{
    json_t *root = json_object();
    for (size_t i = 0; i < ctx->count; i++) {
        const entry *e = &ctx->entries[i];
        if (e->flags & SW_CTX_SECRET)
            continue;
        json_t *item = json_object();
        json_object_set_new(item, "type", json_string(sw_type_name(e->v.type)));
        /* sw_value_to_json spells NaN and infinities as strings; "type" tells them apart. */
        json_object_set_new(item, "value", sw_value_to_json(&e->v));
        if (e->writer)
            json_object_set_new(item, "writer", json_string(e->writer));
        json_object_set_new(root, e->key, item);
    }
    return root;
}

static int double_from_json(const json_t *j, double *out)
{
    if (json_is_real(j)) {
        *out = json_real_value(j);
        return 0;
    }
    /* A hand-written checkpoint may say 5 for 5.0; every int up to 2^53 is exact. */
    if (json_is_integer(j)) {
        *out = (double)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (strcmp(s, "nan") == 0)
            *out = NAN;
        else if (strcmp(s, "inf") == 0)
            *out = INFINITY;
        else if (strcmp(s, "-inf") == 0)
            *out = -INFINITY;
        else
            return -1;
        return 0;
    }
    return -1;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* One checkpoint entry into *out; the caller prefixes errors with the key. */
static int entry_from_json(const json_t *item, sw_value *out, const char **writer, sw_err *err)
{
    if (!json_is_object(item))
        return sw_err_set(err, "expected an object, got %s", json_kind(item));
    const char *field;
    json_t *member;
    json_object_foreach((json_t *)item, field, member)
    {
        if (strcmp(field, "type") != 0 && strcmp(field, "value") != 0 &&
            strcmp(field, "writer") != 0)
            return sw_err_set(err, "unknown field '%s'", field);
    }
    json_t *jtype = json_object_get(item, "type");
    if (!jtype)
        return sw_err_set(err, "missing \"type\"");
    if (!json_is_string(jtype))
        return sw_err_set(err, "\"type\" must be a string, got %s", json_kind(jtype));
    sw_type t;
    const char *tname = json_string_value(jtype);
    if (sw_type_parse(tname, &t) != 0 || t == SW_TYPE_ANY || strcmp(tname, sw_type_name(t)) != 0)
        return sw_err_set(err, "unknown type '%s'", tname);
    json_t *jw = json_object_get(item, "writer");
    if (jw && !json_is_string(jw) && !json_is_null(jw))
        return sw_err_set(err, "\"writer\" must be a string, got %s", json_kind(jw));
    *writer = json_is_string(jw) ? json_string_value(jw) : NULL;
    json_t *jv = json_object_get(item, "value");
    if (!jv)
        return sw_err_set(err, "missing \"value\"");

    int ok;
    switch (t) {
    case SW_TYPE_NULL:
        ok = json_is_null(jv);
        break;
    case SW_TYPE_BOOL:
        ok = json_is_boolean(jv);
        break;
    case SW_TYPE_INT:
        ok = json_is_integer(jv);
        break;
    case SW_TYPE_DOUBLE: {
        double d;
        if (double_from_json(jv, &d) != 0)
            return sw_err_set(err,
                              "value of type double must be a number or \"nan\", \"inf\", "
                              "\"-inf\", got %s",
                              json_kind(jv));
        *out = sw_value_double(d);
        return 0;
    }
    case SW_TYPE_STRING:
        ok = json_is_string(jv);
        break;
    case SW_TYPE_JSON:
        ok = json_is_object(jv) || json_is_array(jv);
        break;
    default:
        ok = 0;
        break;
    }
    if (!ok)
        return sw_err_set(err, "value of type %s cannot be %s", sw_type_name(t), json_kind(jv));
    return sw_value_from_json(jv, out, err);
}

/* Messages name the key but not the file: the caller knows where j came from
   and prefixes it ("context.json of run 'x': key 'k': unknown type 'foo'"). */
sw_context *sw_context_from_json(const json_t *j, sw_err *err)
{
    if (!json_is_object(j)) {
        sw_err_set(err, "expected an object, got %s", j ? json_kind(j) : "nothing");
        return NULL;
    }
    sw_context *ctx = sw_context_new();
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)j, key, item)
    {
        sw_value v = SW_VALUE_NULL;
        const char *writer = NULL;
        if (!*key) {
            sw_err_set(err, "empty key");
            sw_context_free(ctx);
            return NULL;
        }
        if (entry_from_json(item, &v, &writer, err) != 0) {
            sw_err_prefix(err, "key '%s': ", key);
            sw_context_free(ctx);
            return NULL;
        }
        sw_context_set(ctx, key, &v, writer, 0);
        sw_value_free(&v);
    }
    return ctx;
}
