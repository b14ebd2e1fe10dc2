/* refs.c - finding, checking and resolving ${owner.name} references. */
#include "refs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* [A-Za-z_][A-Za-z0-9_]* over [s, e) */
static int is_ident(const char *s, const char *e)
{
    if (s == e || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; s < e; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static int valid_key(const char *k, size_t n)
{
    const char *dot = memchr(k, '.', n);
    return dot && is_ident(k, dot) && is_ident(dot + 1, k + n);
}

static int is_escape(const char *s)
{
    return s[0] == '$' && s[1] == '$' && s[2] == '{';
}

static int is_open(const char *s)
{
    return s[0] == '$' && s[1] == '{';
}

void sw_refs_free(sw_refs *refs)
{
    if (!refs)
        return;
    for (size_t i = 0; i < refs->n; i++)
        free(refs->items[i].key);
    free(refs->items);
    *refs = (sw_refs){0};
}

int sw_refs_parse(const char *s, sw_refs *out, sw_err *err)
{
    *out = (sw_refs){0};
    size_t cap = 0, i = 0;
    while (s[i]) {
        if (is_escape(s + i)) {
            i += 3;
            continue;
        }
        if (!is_open(s + i)) {
            i++;
            continue;
        }
        const char *close = strchr(s + i + 2, '}');
        if (!close) {
            sw_refs_free(out);
            return sw_err_set(err, "unterminated '${' at byte %zu", i);
        }
        size_t klen = (size_t)(close - (s + i + 2));
        if (klen == 0) {
            sw_refs_free(out);
            return sw_err_set(err, "empty reference '${}' at byte %zu", i);
        }
        if (!valid_key(s + i + 2, klen)) {
            sw_err_set(err, "bad key '%.*s' at byte %zu (expected ${owner.name})", (int)klen,
                       s + i + 2, i);
            sw_refs_free(out);
            return -1;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            out->items = sw_xrealloc(out->items, cap * sizeof *out->items);
        }
        size_t end = (size_t)(close - s) + 1;
        out->items[out->n++] =
            (sw_ref){.key = sw_xstrndup(s + i + 2, klen), .start = i, .end = end};
        i = end;
    }
    out->whole = out->n == 1 && out->items[0].start == 0 && s[out->items[0].end] == '\0';
    return 0;
}

int sw_refs_has_any(const char *s)
{
    for (size_t i = 0; s && s[i];) {
        if (is_escape(s + i))
            i += 3;
        else if (is_open(s + i))
            return 1;
        else
            i++;
    }
    return 0;
}

int sw_type_compatible(sw_type have, sw_type want)
{
    if (want == SW_TYPE_ANY || have == want)
        return 1;
    /* The type of an ANY output is only known at run time, where bind checks it. */
    if (have == SW_TYPE_ANY)
        return 1;
    if (have == SW_TYPE_INT && want == SW_TYPE_DOUBLE)
        return 1;
    if (want == SW_TYPE_STRING)
        return have == SW_TYPE_BOOL || have == SW_TYPE_INT || have == SW_TYPE_DOUBLE;
    return 0;
}

/* ---- checking ---- */

typedef struct walk {
    const sw_ydoc *doc;
    sw_scope_fn scope;
    void *ud;
    sw_diags *d;
    int errors;
} walk;

/* Checks one scalar; returns the type it would have as a whole-value reference. */
static sw_type check_scalar(walk *w, const sw_ynode *n)
{
    sw_refs refs;
    sw_err err;
    sw_pos pos = sw_ynode_pos(w->doc, n);
    if (sw_refs_parse(n->text, &refs, &err) < 0) {
        sw_diag_error(w->d, pos, "%s in '%s'", err.msg, n->text);
        w->errors++;
        return SW_TYPE_ANY;
    }
    sw_type whole = SW_TYPE_ANY;
    for (size_t i = 0; i < refs.n; i++) {
        sw_type t = SW_TYPE_ANY;
        const char *why = NULL;
        if (w->scope && !w->scope(w->ud, refs.items[i].key, &t, &why)) {
            if (why)
                sw_diag_error(w->d, pos, "reference '${%s}': %s", refs.items[i].key, why);
            else
                sw_diag_error(w->d, pos, "reference '${%s}': no such value here",
                              refs.items[i].key);
            w->errors++;
            t = SW_TYPE_ANY;
        }
        whole = t;
    }
    sw_type result = refs.n == 0 ? SW_TYPE_ANY : refs.whole ? whole : SW_TYPE_STRING;
    sw_refs_free(&refs);
    return result;
}

static void check_tree(walk *w, const sw_ynode *n)
{
    if (n->kind == SW_YAML_SCALAR) {
        check_scalar(w, n);
        return;
    }
    for (size_t i = 0; i < n->n; i++)
        check_tree(w, n->items[i]);
}

int sw_refs_check_node(const sw_ydoc *doc, const sw_ynode *node, sw_scope_fn scope, void *ud,
                       sw_type *type, sw_diags *d)
{
    walk w = {.doc = doc, .scope = scope, .ud = ud, .d = d};
    sw_type t = SW_TYPE_ANY;
    if (node && node->kind == SW_YAML_SCALAR)
        t = check_scalar(&w, node);
    else if (node)
        check_tree(&w, node); /* a collection is not itself a reference */
    if (type)
        *type = t;
    return w.errors ? -1 : 0;
}

/* ---- resolving ---- */

/* Literal text of s[from, to) with "$${" written as "${". */
static void append_literal(sw_buf *b, const char *s, size_t from, size_t to)
{
    size_t i = from;
    while (i < to) {
        if (i + 3 <= to && is_escape(s + i)) {
            sw_buf_append(b, "${", 2);
            i += 3;
        } else {
            sw_buf_append(b, s + i, 1);
            i++;
        }
    }
}

static const sw_value *lookup(const sw_context *ctx, const char *key, int *secret, sw_err *err)
{
    const sw_value *v = ctx ? sw_context_get(ctx, key) : NULL;
    if (!v) {
        sw_err_set(err, "reference '${%s}': context key '%s' is not set", key, key);
        return NULL;
    }
    if (sw_context_flags(ctx, key) & SW_CTX_SECRET)
        *secret = 1;
    return v;
}

int sw_refs_resolve_string(const char *s, const sw_context *ctx, sw_value *out, int *secret,
                           sw_err *err)
{
    int dummy = 0;
    if (!secret)
        secret = &dummy;
    *secret = 0;
    sw_refs refs;
    if (sw_refs_parse(s, &refs, err) < 0)
        return -1;
    if (refs.whole) {
        const sw_value *v = lookup(ctx, refs.items[0].key, secret, err);
        if (v)
            *out = sw_value_copy(v);
        sw_refs_free(&refs);
        return v ? 0 : -1;
    }
    sw_buf b = {0};
    size_t at = 0;
    for (size_t i = 0; i < refs.n; i++) {
        append_literal(&b, s, at, refs.items[i].start);
        const sw_value *v = lookup(ctx, refs.items[i].key, secret, err);
        if (!v) {
            sw_buf_free(&b);
            sw_refs_free(&refs);
            return -1;
        }
        char *text = sw_value_to_text(v);
        sw_buf_puts(&b, text);
        free(text);
        at = refs.items[i].end;
    }
    append_literal(&b, s, at, strlen(s));
    sw_refs_free(&refs);
    char *text = sw_buf_steal(&b);
    *out = (sw_value){.type = SW_TYPE_STRING, .as.s = text};
    return 0;
}
