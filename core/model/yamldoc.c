/* yamldoc.c - libyaml events folded into a node tree that remembers positions. */
#include "yamldoc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DEFAULT_MAX_BYTES (16u * 1024u * 1024u)
/* Aliases share nodes, so a tree walk visits an anchored node once per alias; a
   few kilobytes of nested aliases ("billion laughs") would otherwise expand into
   billions of visits in every consumer. */
#define MAX_EXPANDED_NODES 1000000u
/* Consumers walk the tree recursively; this keeps their stacks small. */
#define MAX_DEPTH 256

typedef struct anchor {
    char *name;
    sw_ynode *node;
    size_t weight;
} anchor;

typedef struct frame {
    sw_ynode *node;
    char *anchor; /* registered when the collection ends, so an alias cannot form a cycle */
    size_t weight;
    size_t cap;
    int have_key; /* a MAP has read a key and waits for its value */
    int skip;     /* that key was rejected: drop the value */
} frame;

typedef struct parser {
    sw_ydoc *doc;
    sw_diags *d;
    int errors;
    const char *text; /* the input, for positions of reader errors */
    size_t len;
    frame *stack;
    size_t depth, cap_stack;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
} parser;

static void perror_at(parser *ps, int line, int col, const char *fmt, ...) SW_PRINTF(4, 5);

static void perror_at(parser *ps, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_diag_error(ps->d, (sw_pos){ps->doc->file, line, col}, "%s", msg);
    free(msg);
    ps->errors++;
}

/* 1-based line and column (in characters) of a byte offset. */
static void offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Offset of the first byte that is not well-formed UTF-8 (no overlongs, no
   surrogates, nothing past U+10FFFF), or len when all is well. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned min, cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

static sw_ynode *new_node(parser *ps, sw_ynode_kind kind, yaml_mark_t mark)
{
    sw_ydoc *doc = ps->doc;
    if (doc->n_all == doc->cap_all) {
        doc->cap_all = doc->cap_all ? doc->cap_all * 2 : 32;
        doc->all = sw_xrealloc(doc->all, doc->cap_all * sizeof *doc->all);
    }
    sw_ynode *n = sw_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    doc->all[doc->n_all++] = n;
    return n;
}

static void add_anchor(parser *ps, const char *name, sw_ynode *node, size_t weight)
{
    if (ps->n_anchors == ps->cap_anchors) {
        ps->cap_anchors = ps->cap_anchors ? ps->cap_anchors * 2 : 8;
        ps->anchors = sw_xrealloc(ps->anchors, ps->cap_anchors * sizeof *ps->anchors);
    }
    ps->anchors[ps->n_anchors++] = (anchor){sw_xstrdup(name), node, weight};
}

static const anchor *find_anchor(const parser *ps, const char *name)
{
    /* A redefined anchor means its latest definition. */
    for (size_t i = ps->n_anchors; i-- > 0;)
        if (strcmp(ps->anchors[i].name, name) == 0)
            return &ps->anchors[i];
    return NULL;
}

static void push_item(sw_ynode ***items, size_t n, size_t *cap)
{
    if (n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *items = sw_xrealloc(*items, *cap * sizeof **items);
    }
}

static size_t add_weight(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* A finished node (scalar, alias, or closed collection) joins its parent. */
static void attach(parser *ps, sw_ynode *node, size_t weight)
{
    if (ps->depth == 0) {
        ps->doc->root = node;
        return;
    }
    frame *f = &ps->stack[ps->depth - 1];
    f->weight = add_weight(f->weight, weight);
    sw_ynode *parent = f->node;
    if (parent->kind == SW_YAML_SEQ) {
        push_item(&parent->items, parent->n, &f->cap);
        parent->items[parent->n++] = node;
        return;
    }
    if (f->have_key) {
        /* keys and items grow together; keys[n] was stored with the key. */
        if (!f->skip)
            parent->items[parent->n++] = node;
        f->have_key = f->skip = 0;
        return;
    }
    f->have_key = 1;
    if (node->kind != SW_YAML_SCALAR) {
        perror_at(ps, node->line, node->col, "a mapping key must be a scalar, found a %s",
                  sw_ynode_kind_name(node->kind));
        f->skip = 1;
        return;
    }
    for (size_t i = 0; i < parent->n; i++) {
        if (strcmp(parent->keys[i]->text, node->text) == 0) {
            perror_at(ps, node->line, node->col, "duplicate key '%s' (first at line %d)",
                      node->text, parent->keys[i]->line);
            f->skip = 1;
            return;
        }
    }
    if (parent->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        parent->items = sw_xrealloc(parent->items, f->cap * sizeof *parent->items);
        parent->keys = sw_xrealloc(parent->keys, f->cap * sizeof *parent->keys);
    }
    parent->keys[parent->n] = node;
}

static int check_weight(parser *ps, size_t weight, yaml_mark_t mark)
{
    if (weight <= MAX_EXPANDED_NODES)
        return 0;
    perror_at(ps, (int)mark.line + 1, (int)mark.column + 1,
              "the document expands to more than %u nodes through aliases", MAX_EXPANDED_NODES);
    return -1;
}

/* A block scalar's text starts on the line after its indicator (header_line,
   0-based), at the indentation of its first line that is not blank. */
static void block_text_start(const parser *ps, size_t header_line, sw_ynode *n)
{
    const char *p = ps->text, *end = ps->text + ps->len;
    for (size_t line = 0; line <= header_line && p < end; p++)
        if (*p == '\n')
            line++;
    n->text_line = (int)header_line + 2;
    n->text_col = 1;
    while (p < end) {
        const char *q = p;
        while (q < end && *q == ' ')
            q++;
        if (q < end && *q != '\n' && *q != '\r') {
            n->text_col = (int)(q - p) + 1;
            return;
        }
        p = memchr(q, '\n', (size_t)(end - q));
        if (!p)
            return;
        p++;
    }
}

static int on_scalar(parser *ps, const yaml_event_t *ev)
{
    const char *value = (const char *)ev->data.scalar.value;
    size_t length = ev->data.scalar.length;
    if (strlen(value) != length) {
        perror_at(ps, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                  "a string may not contain a NUL character");
        return -1;
    }
    sw_ynode *n = new_node(ps, SW_YAML_SCALAR, ev->start_mark);
    n->text = sw_xstrndup(value, length);
    yaml_scalar_style_t st = ev->data.scalar.style;
    n->block = st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE;
    n->literal = st == YAML_LITERAL_SCALAR_STYLE;
    n->quoted = st != YAML_PLAIN_SCALAR_STYLE;
    n->text_line = n->line;
    n->text_col = n->quoted ? n->col + 1 : n->col;
    if (n->block)
        block_text_start(ps, ev->start_mark.line, n);
    /* "!!str 5" and the non-specific "! 5" both ask for a string. */
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0))
        n->quoted = 1;
    if (ev->data.scalar.anchor)
        add_anchor(ps, (const char *)ev->data.scalar.anchor, n, 1);
    attach(ps, n, 1);
    return 0;
}

static int on_start(parser *ps, const yaml_event_t *ev, sw_ynode_kind kind)
{
    if (ps->depth >= MAX_DEPTH) {
        perror_at(ps, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                  "nesting is deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    const yaml_char_t *anch =
        kind == SW_YAML_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (ps->depth == ps->cap_stack) {
        ps->cap_stack = ps->cap_stack ? ps->cap_stack * 2 : 16;
        ps->stack = sw_xrealloc(ps->stack, ps->cap_stack * sizeof *ps->stack);
    }
    ps->stack[ps->depth++] = (frame){.node = new_node(ps, kind, ev->start_mark),
                                     .anchor = sw_xstrdup((const char *)anch),
                                     .weight = 1};
    return 0;
}

static int on_end(parser *ps, const yaml_event_t *ev)
{
    frame f = ps->stack[--ps->depth];
    int rc = check_weight(ps, f.weight, ev->start_mark);
    if (rc == 0) {
        if (f.anchor)
            add_anchor(ps, f.anchor, f.node, f.weight);
        attach(ps, f.node, f.weight);
    }
    free(f.anchor);
    return rc;
}

static int on_alias(parser *ps, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = find_anchor(ps, name);
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    if (!a) {
        /* Either never defined or an alias to an enclosing node (a cycle). */
        perror_at(ps, line, col,
                  "unknown alias '*%s' (anchors must be defined, and closed, before use)", name);
        return -1;
    }
    size_t total = a->weight;
    for (size_t i = 0; i < ps->depth; i++)
        total = add_weight(total, ps->stack[i].weight);
    if (check_weight(ps, total, ev->start_mark) < 0)
        return -1;
    attach(ps, a->node, a->weight);
    return 0;
}

static void syntax_error(parser *ps, const yaml_parser_t *yp)
{
    const char *problem = yp->problem ? yp->problem : "invalid YAML";
    int line, col;
    if (yp->error == YAML_READER_ERROR) {
        offset_pos(ps->text, ps->len, yp->problem_offset, &line, &col);
        perror_at(ps, line, col, "%s", problem);
        return;
    }
    line = (int)yp->problem_mark.line + 1;
    col = (int)yp->problem_mark.column + 1;
    if (yp->context)
        perror_at(ps, line, col, "%s %s (started at line %d)", problem, yp->context,
                  (int)yp->context_mark.line + 1);
    else
        perror_at(ps, line, col, "%s", problem);
}

static void parse_events(parser *ps, yaml_parser_t *yp)
{
    int documents = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(yp, &ev)) {
            syntax_error(ps, yp);
            return;
        }
        int rc = 0, done = 0;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                perror_at(ps, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                          "more than one document in the file");
                rc = -1;
            }
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(ps, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(ps, &ev, SW_YAML_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(ps, &ev, SW_YAML_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(ps, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(ps, &ev);
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0 || done)
            return;
    }
}

void sw_ydoc_free(sw_ydoc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_all; i++) {
        sw_ynode *n = doc->all[i];
        free(n->text);
        free(n->items);
        free(n->keys);
        free(n);
    }
    free(doc->all);
    free(doc->file);
    free(doc);
}

sw_ydoc *sw_yaml_parse_string(const char *text, size_t len, const char *filename, sw_diags *d)
{
    parser ps = {.d = d, .text = text, .len = len};
    ps.doc = sw_xcalloc(1, sizeof *ps.doc);
    ps.doc->file = sw_xstrdup(filename);

    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len) {
        int line, col;
        offset_pos(text, len, bad, &line, &col);
        perror_at(&ps, line, col, "invalid UTF-8 (byte 0x%02x at offset %zu)",
                  (unsigned char)text[bad], bad);
        sw_ydoc_free(ps.doc);
        return NULL;
    }

    yaml_parser_t yp;
    if (!yaml_parser_initialize(&yp)) {
        perror_at(&ps, 0, 0, "cannot initialize the YAML parser");
        sw_ydoc_free(ps.doc);
        return NULL;
    }
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    parse_events(&ps, &yp);
    yaml_parser_delete(&yp);

    for (size_t i = 0; i < ps.depth; i++)
        free(ps.stack[i].anchor);
    free(ps.stack);
    for (size_t i = 0; i < ps.n_anchors; i++)
        free(ps.anchors[i].name);
    free(ps.anchors);
    if (ps.errors) {
        sw_ydoc_free(ps.doc);
        return NULL;
    }
    return ps.doc;
}

sw_ydoc *sw_yaml_parse_file(const char *path, size_t max_bytes, sw_diags *d)
{
    if (max_bytes == 0)
        max_bytes = DEFAULT_MAX_BYTES;
    sw_pos pos = {path, 0, 0};
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sw_diag_error(d, pos, "cannot open: %s", strerror(errno));
        return NULL;
    }
    sw_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (b.len + got > max_bytes) {
            sw_diag_error(d, pos, "file is larger than %zu bytes", max_bytes);
            fclose(fp);
            sw_buf_free(&b);
            return NULL;
        }
        sw_buf_append(&b, chunk, got);
    }
    int failed = ferror(fp);
    int saved = errno;
    fclose(fp);
    if (failed) {
        sw_diag_error(d, pos, "cannot read: %s", strerror(saved));
        sw_buf_free(&b);
        return NULL;
    }
    sw_ydoc *doc = sw_yaml_parse_string(b.data ? b.data : "", b.len, path, d);
    sw_buf_free(&b);
    return doc;
}

sw_pos sw_ynode_pos(const sw_ydoc *doc, const sw_ynode *node)
{
    return (sw_pos){doc ? doc->file : NULL, node ? node->line : 0, node ? node->col : 0};
}

sw_origin sw_ynode_origin(const sw_ydoc *doc, const sw_ynode *node)
{
    if (!node || node->kind != SW_YAML_SCALAR)
        return (sw_origin){doc ? doc->file : NULL, node ? node->line : 0, node ? node->col : 0, 0};
    return (sw_origin){doc ? doc->file : NULL, node->text_line, node->text_col, node->literal};
}

const sw_ynode *sw_ynode_key(const sw_ynode *map, const char *key)
{
    if (!map || map->kind != SW_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->keys[i];
    return NULL;
}

const sw_ynode *sw_ynode_get(const sw_ynode *map, const char *key)
{
    if (!map || map->kind != SW_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

const char *sw_ynode_kind_name(sw_ynode_kind kind)
{
    switch (kind) {
    case SW_YAML_SCALAR:
        return "scalar";
    case SW_YAML_SEQ:
        return "sequence";
    case SW_YAML_MAP:
        return "mapping";
    }
    return "node";
}

/* ---- the core schema ---- */

static int is_digits(const char *s, const char *set)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr(set, *s))
            return 0;
    return 1;
}

static int one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    size_t intd = 0, fracd = 0;
    while (*s >= '0' && *s <= '9')
        s++, intd++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++, fracd++;
    }
    if (intd == 0 && fracd == 0)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int parse_int(const char *text, const char *digits, int base, int neg, sw_value *out,
                     sw_err *err)
{
    errno = 0;
    char *end;
    uint64_t u = strtoull(digits, &end, base);
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    if (errno == ERANGE || u > limit)
        return sw_err_set(err, "integer '%s' is out of range (64-bit)", text);
    *out = sw_value_int(neg ? (int64_t)(0u - u) : (int64_t)u);
    return 0;
}

int sw_yaml_text_value(const char *text, sw_value *out, sw_err *err)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};

    if (one_of(text, nulls)) {
        *out = SW_VALUE_NULL;
        return 0;
    }
    if (one_of(text, trues) || one_of(text, falses)) {
        *out = sw_value_bool(one_of(text, trues));
        return 0;
    }
    const char *s = text;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (is_digits(s, "0123456789"))
        return parse_int(text, s, 10, neg, out, err);
    if (s == text && strncmp(s, "0x", 2) == 0 && is_digits(s + 2, "0123456789abcdefABCDEF"))
        return parse_int(text, s + 2, 16, 0, out, err);
    if (s == text && strncmp(s, "0o", 2) == 0 && is_digits(s + 2, "01234567"))
        return parse_int(text, s + 2, 8, 0, out, err);
    if (one_of(s, infs)) {
        *out = sw_value_double(neg ? -INFINITY : INFINITY);
        return 0;
    }
    if (s == text && one_of(s, nans)) {
        *out = sw_value_double(NAN);
        return 0;
    }
    if (is_float(text)) {
        errno = 0;
        double v = strtod(text, NULL);
        if (errno == ERANGE && isinf(v))
            return sw_err_set(err, "number '%s' is out of range", text);
        *out = sw_value_double(v);
        return 0;
    }
    *out = sw_value_string(text);
    return 0;
}

int sw_yaml_scalar_value(const sw_ynode *node, sw_value *out, sw_err *err)
{
    if (!node || node->kind != SW_YAML_SCALAR)
        return sw_err_set(err, "expected a scalar, found a %s",
                          node ? sw_ynode_kind_name(node->kind) : "nothing");
    if (node->quoted) {
        *out = sw_value_string(node->text);
        return 0;
    }
    return sw_yaml_text_value(node->text, out, err);
}

json_t *sw_yaml_to_json(const sw_ynode *node, sw_err *err)
{
    if (!node)
        return json_null();
    switch (node->kind) {
    case SW_YAML_SCALAR: {
        sw_value v;
        if (sw_yaml_scalar_value(node, &v, err) < 0)
            return NULL;
        json_t *j = NULL;
        switch (v.type) {
        case SW_TYPE_BOOL:
            j = json_boolean(v.as.b);
            break;
        case SW_TYPE_INT:
            j = json_integer((json_int_t)v.as.i);
            break;
        case SW_TYPE_DOUBLE:
            if (!isfinite(v.as.d)) {
                sw_err_set(err, "'%s' at line %d has no JSON form", node->text, node->line);
                return NULL;
            }
            j = json_real(v.as.d);
            break;
        case SW_TYPE_STRING:
            j = json_string(v.as.s);
            break;
        default:
            j = json_null();
            break;
        }
        sw_value_free(&v);
        if (!j)
            sw_err_set(err, "cannot represent '%s' at line %d in JSON", node->text, node->line);
        return j;
    }
    case SW_YAML_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; i < node->n; i++) {
            json_t *item = sw_yaml_to_json(node->items[i], err);
            if (!item) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, item);
        }
        return a;
    }
    case SW_YAML_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < node->n; i++) {
            json_t *item = sw_yaml_to_json(node->items[i], err);
            if (!item) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, node->keys[i]->text, item);
        }
        return o;
    }
    }
    return json_null();
}

int sw_ynode_is_null(const sw_ynode *n)
{
    if (!n)
        return 1;
    if (n->kind != SW_YAML_SCALAR || n->quoted)
        return 0;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

const char *sw_ynode_describe(const sw_ynode *n)
{
    if (n->kind == SW_YAML_SEQ)
        return "a sequence";
    if (n->kind == SW_YAML_MAP)
        return "a mapping";
    return sw_ynode_is_null(n) ? "null" : "a scalar";
}

int sw_ynode_check_keys(const sw_ydoc *doc, const sw_ynode *map, const char *const *known, size_t n,
                        const char *prefix, sw_diags *d)
{
    int errors = 0;
    for (size_t i = 0; map && i < map->n; i++) {
        const char *k = map->keys[i]->text;
        size_t j = 0;
        while (j < n && strcmp(k, known[j]) != 0)
            j++;
        if (j < n)
            continue;
        const char *hint = sw_did_you_mean(k, known, n);
        sw_pos pos = sw_ynode_pos(doc, map->keys[i]);
        if (hint)
            sw_diag_error(d, pos, "%sunknown key '%s' (did you mean '%s'?)", prefix, k, hint);
        else
            sw_diag_error(d, pos, "%sunknown key '%s'", prefix, k);
        errors++;
    }
    return errors;
}
