/* dataset.c - reading, checking and selecting the cases of a golden dataset. */
#include "dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "model/yamldoc.h"
#include "store/sha256.h"
#include "store/template.h"

#define MAX_ERRORS 50 /* a dataset with a systematic mistake would report it on every line */

/* The longest JSONL line (one case) read, newline excluded: a line is held in
   memory whole to be parsed, so a file with no newline, or one huge line,
   must not take all the memory there is. A case this large is a mistake. */
#define EV_MAX_LINE_BYTES ((size_t)1 << 20)

typedef struct row {
    int64_t off; /* JSONL: where the line starts */
    uint32_t len;
    int line;
    size_t index;
    const sw_ynode *node; /* YAML: the case */
} row;

struct ev_dataset {
    char *path;
    int yaml;
    char sha[SW_SHA256_HEX_LEN + 1];
    size_t total;
    row *rows;
    size_t n_rows, cap_rows;
    int fd;
    json_t *defaults;
    sw_ydoc *ydoc;
    const sw_ynode *ydefaults;
    uint64_t in_max, in_sum;
    size_t judged;
};

/* ---- building one case ---- */

typedef struct bctx {
    const char *file;
    int line;
    sw_diags *d;
    int errors;
    const char *id;
    const sw_ynode *ydef; /* YAML: the defaults, for positions in them */
} bctx;

static void bad(bctx *b, const sw_ynode *y, const char *fmt, ...) SW_PRINTF(3, 4);
static void bad(bctx *b, const sw_ynode *y, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sw_xvasprintf(fmt, ap);
    va_end(ap);
    sw_pos p = {b->file, y ? y->line : b->line, y ? y->col : 0};
    if (b->id)
        sw_diag_error(b->d, p, "case '%s': %s", b->id, msg);
    else
        sw_diag_error(b->d, p, "%s", msg);
    free(msg);
    b->errors++;
}

static const sw_ynode *ychild(const sw_ynode *y, const char *key)
{
    return y && y->kind == SW_YAML_MAP ? sw_ynode_get(y, key) : NULL;
}

static const sw_ynode *ykey(const sw_ynode *y, const char *key)
{
    return y && y->kind == SW_YAML_MAP ? sw_ynode_key(y, key) : NULL;
}

static const sw_ynode *yitem(const sw_ynode *y, size_t i)
{
    return y && y->kind == SW_YAML_SEQ && i < y->n ? y->items[i] : NULL;
}

static const char *const case_keys[] = {"id",           "description", "input",   "messages",
                                        "vars",         "expected",    "assert",  "tags",
                                        "tool_results", "threshold",   "metadata"};
static const char *const default_keys[] = {"vars", "assert", "tool_results", "threshold"};

static int check_keys(bctx *b, const json_t *obj, const sw_ynode *y, const char *const *keys,
                      size_t n, const char *what)
{
    const char *k;
    json_t *v;
    int ok = 1;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        if (i < n)
            continue;
        const char *hint = sw_did_you_mean(k, keys, n);
        if (hint)
            bad(b, ykey(y, k), "%s: unknown key '%s' (did you mean '%s'?)", what, k, hint);
        else
            bad(b, ykey(y, k), "%s: unknown key '%s'", what, k);
        ok = 0;
    }
    return ok;
}

static char *render_text(bctx *b, const sw_ynode *y, const char *text, const json_t *vars)
{
    if (!ev_has_placeholder(text))
        return sw_xstrdup(text);
    char name[128];
    if (ev_missing_var(text, vars, name, sizeof name)) {
        bad(b, y, "input: '{{%s}}' has no value in the case's vars (or the defaults' vars)", name);
        return NULL;
    }
    sw_diags *d = sw_diags_new();
    char *out = sw_template_render(text, b->file, vars, NULL, d);
    if (!out) {
        const sw_diagnostic *first = sw_diags_count(d) ? sw_diags_at(d, 0) : NULL;
        bad(b, y, "input: %s", first ? first->message : "bad {{...}} placeholder");
    }
    sw_diags_free(d);
    return out;
}

static void content_text(const json_t *content, sw_buf *out)
{
    if (json_is_string(content)) {
        sw_buf_puts(out, json_string_value(content));
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part)
    {
        const char *t = json_string_value(json_object_get(part, "text"));
        if (t)
            sw_buf_puts(out, t);
    }
}

static int known_role(const char *r)
{
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strcmp(r, roles[i]) == 0)
            return 1;
    return 0;
}

/* input -> chat messages with vars applied; NULL after reporting. */
static json_t *build_messages(bctx *b, const json_t *input, const sw_ynode *y, const json_t *vars)
{
    if (json_is_string(input)) {
        char *text = render_text(b, y, json_string_value(input), vars);
        if (!text)
            return NULL;
        json_t *m = json_pack("[{s:s, s:s}]", "role", "user", "content", text);
        free(text);
        return m;
    }
    if (!json_is_array(input) || json_array_size(input) == 0) {
        bad(b, y, "input must be a user message (text) or a non-empty list of chat messages");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *msg;
    json_array_foreach(input, i, msg)
    {
        const sw_ynode *ym = yitem(y, i);
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (!json_is_object(msg) || !role || !known_role(role)) {
            bad(b, ym ? ym : y,
                "input[%zu] must be a message {role, content} with role system, developer, "
                "user, assistant or tool",
                i);
            json_decref(out);
            return NULL;
        }
        json_t *copy = json_deep_copy(msg);
        json_t *content = json_object_get(msg, "content");
        if (json_is_string(content)) {
            char *text = render_text(b, ychild(ym, "content"), json_string_value(content), vars);
            if (!text) {
                json_decref(copy);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(copy, "content", json_string(text));
            free(text);
        } else if (!json_is_array(content) && !(json_is_null(content) || !content)) {
            bad(b, ym ? ym : y, "input[%zu].content must be text or a list of parts", i);
            json_decref(copy);
            json_decref(out);
            return NULL;
        }
        if (strcmp(role, "tool") == 0 && !json_is_string(json_object_get(msg, "tool_call_id"))) {
            bad(b, ym ? ym : y, "input[%zu]: a tool message needs a tool_call_id", i);
            json_decref(copy);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, copy);
    }
    return out;
}

static json_t *merged_object(bctx *b, const json_t *base, const json_t *over, const sw_ynode *y,
                             const char *what)
{
    if (over && !json_is_object(over)) {
        bad(b, y, "%s must be a mapping", what);
        return NULL;
    }
    json_t *m = base ? json_deep_copy(base) : json_object();
    if (over)
        json_object_update(m, (json_t *)over);
    return m;
}

static int add_asserts(bctx *b, ev_case *c, const json_t *list, const sw_ynode *y, const char *what)
{
    if (!list)
        return 0;
    if (!json_is_array(list)) {
        bad(b, y, "%s must be a list of assertions", what);
        return -1;
    }
    size_t n = json_array_size(list);
    c->asserts = sw_xrealloc(c->asserts, (c->n_asserts + n + 1) * sizeof *c->asserts);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const sw_ynode *yi = yitem(y, i);
        sw_err err;
        ev_assert *a = &c->asserts[c->n_asserts];
        /* JSON lines have no positions inside a line: the case's line stands for all. */
        const sw_ynode *yv = yi ? sw_ynode_get(yi, "value") : NULL;
        sw_origin at = yv ? sw_ynode_origin(NULL, yv) : (sw_origin){.line = b->line};
        at.file = b->file;
        if (ev_assert_parse(json_array_get(list, i), c->vars, c->expected, &at, a, &err) < 0) {
            bad(b, yi ? yi : y, "%s[%zu]: %s", what, i, err.msg);
            rc = -1;
            continue;
        }
        a->line = yi ? yi->line : b->line;
        if (a->kind->flags & EV_K_JUDGE)
            c->n_judged++;
        c->n_asserts++;
    }
    return rc;
}

static void case_free(ev_case *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->description);
    free(c->input);
    json_decref(c->messages);
    json_decref(c->vars);
    json_decref(c->expected);
    json_decref(c->tags);
    json_decref(c->tool_results);
    json_decref(c->metadata);
    for (size_t i = 0; i < c->n_asserts; i++)
        ev_assert_clear(&c->asserts[i]);
    free(c->asserts);
    free(c);
}

static ev_case *build_case(bctx *b, const json_t *obj, const sw_ynode *y, const json_t *defaults,
                           size_t index)
{
    b->id = NULL;
    if (!json_is_object(obj)) {
        bad(b, y, "a case must be a mapping (a JSON object)");
        return NULL;
    }
    ev_case *c = sw_xcalloc(1, sizeof *c);
    c->refs = 1;
    c->index = index;
    c->line = y ? y->line : b->line;
    json_t *id = json_object_get(obj, "id");
    if (json_is_string(id) && *json_string_value(id))
        c->id = sw_xstrdup(json_string_value(id));
    else if (json_is_integer(id))
        c->id = sw_xasprintf("%lld", (long long)json_integer_value(id));
    else if (!id)
        c->id = sw_xasprintf("case-%zu", index + 1);
    else
        bad(b, ychild(y, "id"), "id must be a non-empty string");
    b->id = c->id;
    int before = b->errors;
    check_keys(b, obj, y, case_keys, sizeof case_keys / sizeof *case_keys, "case");

    c->vars = merged_object(b, json_object_get(defaults, "vars"), json_object_get(obj, "vars"),
                            ychild(y, "vars"), "vars");
    c->expected = json_incref(json_object_get(obj, "expected"));
    json_t *input = json_object_get(obj, "input");
    json_t *history = json_object_get(obj, "messages");
    if (!input && !history) {
        bad(b, y, "input is required (a user message, or a list of chat messages)");
    } else if (c->vars && history) {
        /* messages: the conversation so far; input (text): the user's next turn. */
        if (input && !json_is_string(input)) {
            bad(b, ychild(y, "input"), "with messages, input is the next user message (text)");
        } else {
            c->messages = build_messages(b, history, ychild(y, "messages"), c->vars);
            json_t *last = input ? build_messages(b, input, ychild(y, "input"), c->vars) : NULL;
            if (c->messages && last)
                json_array_extend(c->messages, last);
            json_decref(last);
        }
    } else if (c->vars) {
        c->messages = build_messages(b, input, ychild(y, "input"), c->vars);
    }
    if (c->messages) {
        sw_buf t = {0};
        for (size_t i = json_array_size(c->messages); i-- > 0;) {
            json_t *m = json_array_get(c->messages, i);
            if (strcmp(json_string_value(json_object_get(m, "role")), "user") == 0) {
                content_text(json_object_get(m, "content"), &t);
                break;
            }
        }
        c->input = sw_buf_steal(&t);
    }

    json_t *thr = json_object_get(obj, "threshold");
    if (!thr)
        thr = json_object_get(defaults, "threshold");
    if (thr && !json_is_null(thr)) {
        if (!json_is_number(thr) || json_number_value(thr) < 0 || json_number_value(thr) > 1)
            bad(b, ychild(y, "threshold"), "threshold must be a score in [0, 1]");
        c->has_threshold = 1;
        c->threshold = json_number_value(thr);
    }

    json_t *tags = json_object_get(obj, "tags");
    if (json_is_string(tags)) {
        c->tags = json_pack("[O]", tags);
    } else if (json_is_array(tags)) {
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
        {
            if (!json_is_string(t))
                bad(b, yitem(ychild(y, "tags"), i), "tags[%zu] must be a string", i);
        }
        c->tags = json_incref(tags);
    } else if (tags && !json_is_null(tags)) {
        bad(b, ychild(y, "tags"), "tags must be a list of strings");
    }
    if (!c->tags)
        c->tags = json_array();

    c->tool_results = merged_object(b, json_object_get(defaults, "tool_results"),
                                    json_object_get(obj, "tool_results"), ychild(y, "tool_results"),
                                    "tool_results");
    json_t *desc = json_object_get(obj, "description");
    if (desc && !json_is_string(desc))
        bad(b, ychild(y, "description"), "description must be text");
    c->description = sw_xstrdup(json_string_value(desc));
    c->metadata = json_incref(json_object_get(obj, "metadata"));

    if (c->vars) {
        add_asserts(b, c, json_object_get(defaults, "assert"), ychild(b->ydef, "assert"),
                    "defaults.assert");
        add_asserts(b, c, json_object_get(obj, "assert"), ychild(y, "assert"), "assert");
    }
    if (b->errors != before || !c->id) {
        case_free(c);
        return NULL;
    }
    return c;
}

/* ---- reading the file ---- */

static void add_row(ev_dataset *ds, row r)
{
    if (ds->n_rows == ds->cap_rows) {
        ds->cap_rows = ds->cap_rows ? ds->cap_rows * 2 : 256;
        ds->rows = sw_xrealloc(ds->rows, ds->cap_rows * sizeof *ds->rows);
    }
    ds->rows[ds->n_rows++] = r;
}

static int selected(const ev_case *c, const ev_dataset_opts *o)
{
    if (!o || !o->tags || json_array_size(o->tags) == 0)
        return 1;
    size_t i, k;
    json_t *want, *have;
    json_array_foreach(o->tags, i, want)
    {
        json_array_foreach(c->tags, k, have)
        {
            if (json_equal(want, have))
                return 1;
        }
    }
    return 0;
}

static uint64_t input_bytes(const ev_case *c)
{
    uint64_t n = 0;
    size_t i;
    json_t *m;
    json_array_foreach(c->messages, i, m)
    {
        sw_buf t = {0};
        content_text(json_object_get(m, "content"), &t);
        n += t.len;
        sw_buf_free(&t);
    }
    return n;
}

/* The ids seen while loading, to refuse duplicates: an open-addressing table of
   offsets into one arena of id texts, about 16 bytes a case plus the ids
   themselves (a JSON object of 100,000 ids would take several times that). */
typedef struct idslot {
    uint64_t hash;
    uint32_t off; /* into arena; 0: empty (the arena starts with a NUL) */
    int line;
} idslot;

typedef struct idset {
    idslot *slots;
    size_t cap, n;
    sw_buf arena;
} idset;

static uint64_t id_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static void idset_grow(idset *set)
{
    size_t cap = set->cap ? set->cap * 2 : 1024;
    idslot *slots = sw_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->slots[i].off)
            continue;
        size_t k = set->slots[i].hash & (cap - 1);
        while (slots[k].off)
            k = (k + 1) & (cap - 1);
        slots[k] = set->slots[i];
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
}

/* 1 when id is new (and now recorded); 0 with *first the line it was first seen on. */
static int idset_add(idset *set, const char *id, int line, int *first)
{
    if (!set->arena.len)
        sw_buf_append(&set->arena, "", 1);
    if ((set->n + 1) * 10 > set->cap * 7)
        idset_grow(set);
    uint64_t h = id_hash(id);
    size_t k = h & (set->cap - 1);
    while (set->slots[k].off) {
        if (set->slots[k].hash == h && strcmp(set->arena.data + set->slots[k].off, id) == 0) {
            *first = set->slots[k].line;
            return 0;
        }
        k = (k + 1) & (set->cap - 1);
    }
    set->slots[k] = (idslot){.hash = h, .off = (uint32_t)set->arena.len, .line = line};
    sw_buf_append(&set->arena, id, strlen(id) + 1);
    set->n++;
    return 1;
}

static void idset_free(idset *set)
{
    free(set->slots);
    sw_buf_free(&set->arena);
}

/* A checked case: remember it when selected, check its id is new. */
static void take(ev_dataset *ds, ev_case *c, row r, const ev_dataset_opts *o, idset *seen, bctx *b,
                 const sw_ynode *y)
{
    int first;
    if (!idset_add(seen, c->id, c->line, &first)) {
        b->id = c->id;
        bad(b, ychild(y, "id") ? ychild(y, "id") : y, "duplicate id (first used at line %d)",
            first);
        return;
    }
    if (!selected(c, o) || (o && o->limit && ds->n_rows >= o->limit))
        return;
    uint64_t bytes = input_bytes(c);
    ds->in_sum += bytes;
    if (bytes > ds->in_max)
        ds->in_max = bytes;
    ds->judged += c->n_judged;
    add_row(ds, r);
}

/* Lines of a file, read in blocks: a line longer than the cap is skipped to its
   end without being kept (only its length is counted). */
typedef struct lreader {
    FILE *f;
    char *buf;
    size_t pos, len;
    sw_sha256_ctx *sha; /* every byte read goes through it */
} lreader;

#define LREADER_BLOCK 65536

/* The next line into line (reset first; its '\n' included, as getline gives it)
   when it has at most cap bytes besides its "\r\n"; *over is set when it has more
   (line then holds nothing). Returns the line's length in the file, 0 at the end. */
static int64_t next_line(lreader *r, sw_buf *line, size_t cap, int *over)
{
    line->len = 0;
    *over = 0;
    int64_t total = 0;
    for (;;) {
        if (r->pos == r->len) {
            r->len = fread(r->buf, 1, LREADER_BLOCK, r->f);
            r->pos = 0;
            if (r->len == 0)
                break;
        }
        const char *p = r->buf + r->pos;
        const char *nl = memchr(p, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - p) + 1 : r->len - r->pos;
        sw_sha256_update(r->sha, p, n);
        r->pos += n;
        total += (int64_t)n;
        if (!*over && line->len + n <= cap + 2)
            sw_buf_append(line, p, n);
        else if (!*over) {
            *over = 1;
            line->len = 0;
        }
        if (nl)
            break;
    }
    if (!*over) {
        size_t len = line->len;
        while (len && (line->data[len - 1] == '\n' || line->data[len - 1] == '\r'))
            len--;
        if (len > cap) {
            *over = 1;
            line->len = 0;
        }
    }
    return total;
}

static int load_jsonl(ev_dataset *ds, const ev_dataset_opts *o, sw_diags *d)
{
    FILE *f = fopen(ds->path, "rb");
    if (!f) {
        sw_diag_error(d, (sw_pos){ds->path, 0, 0}, "cannot open the dataset: %s", strerror(errno));
        return -1;
    }
    bctx b = {.file = ds->path, .d = d};
    sw_sha256_ctx sha;
    sw_sha256_init(&sha);
    idset seen = {0};
    lreader rd = {.f = f, .buf = sw_xmalloc(LREADER_BLOCK), .sha = &sha};
    sw_buf buf = {0};
    int64_t n;
    int64_t off = 0;
    int lineno = 0, first = 1, over;
    while ((n = next_line(&rd, &buf, EV_MAX_LINE_BYTES, &over)) > 0) {
        int64_t here = off;
        off += n;
        lineno++;
        if (over) {
            if (b.errors < MAX_ERRORS) {
                sw_diag_error(d, (sw_pos){ds->path, lineno, 0},
                              "the line is %lld bytes long, over the cap of %zu bytes on one "
                              "JSONL case",
                              (long long)n, EV_MAX_LINE_BYTES);
                b.errors++;
            }
            first = 0;
            continue;
        }
        char *line = buf.data;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == len)
            continue;
        if (b.errors >= MAX_ERRORS)
            continue; /* keep hashing; stop reporting */
        b.line = lineno;
        b.id = NULL;
        json_error_t je;
        json_t *obj = json_loadb(line, len, 0, &je);
        if (!obj) {
            sw_diag_error(d, (sw_pos){ds->path, lineno, je.column > 0 ? je.column : 0},
                          "invalid JSON: %s", je.text);
            b.errors++;
            first = 0;
            continue;
        }
        if (first && json_is_object(obj) && json_object_get(obj, "defaults")) {
            first = 0;
            json_t *def = json_object_get(obj, "defaults");
            if (json_object_size(obj) != 1 || !json_is_object(def)) {
                bad(&b, NULL,
                    "a defaults line is {\"defaults\": {vars, assert, tool_results, "
                    "threshold}} and nothing else");
            } else if (check_keys(&b, def, NULL, default_keys,
                                  sizeof default_keys / sizeof *default_keys, "defaults")) {
                ds->defaults = json_incref(def);
            }
            json_decref(obj);
            continue;
        }
        first = 0;
        ev_case *c = build_case(&b, obj, NULL, ds->defaults, ds->total);
        if (c) {
            take(ds, c,
                 (row){.off = here + (int64_t)lead,
                       .len = (uint32_t)(len - lead),
                       .line = lineno,
                       .index = ds->total},
                 o, &seen, &b, NULL);
            case_free(c);
        }
        ds->total++;
        json_decref(obj);
    }
    sw_buf_free(&buf);
    free(rd.buf);
    int rerr = ferror(f);
    fclose(f);
    idset_free(&seen);
    unsigned char dg[SW_SHA256_LEN];
    sw_sha256_final(&sha, dg);
    sw_hex(dg, sizeof dg, ds->sha);
    if (rerr) {
        sw_diag_error(d, (sw_pos){ds->path, 0, 0}, "cannot read the dataset");
        return -1;
    }
    if (b.errors >= MAX_ERRORS)
        sw_diag_note(d, (sw_pos){ds->path, 0, 0}, "stopped reporting after %d errors", MAX_ERRORS);
    if (b.errors)
        return -1;
    ds->fd = open(ds->path, O_RDONLY | O_CLOEXEC);
    if (ds->fd < 0) {
        sw_diag_error(d, (sw_pos){ds->path, 0, 0}, "cannot open the dataset: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int load_yaml(ev_dataset *ds, const ev_dataset_opts *o, sw_diags *d)
{
    sw_err err;
    size_t len;
    char *text = sw_read_file(ds->path, 0, &len, &err);
    if (!text) {
        sw_diag_error(d, (sw_pos){ds->path, 0, 0}, "%s", err.msg);
        return -1;
    }
    sw_sha256_hex(text, len, ds->sha);
    ds->ydoc = sw_yaml_parse_string(text, len, ds->path, d);
    free(text);
    if (!ds->ydoc)
        return -1;
    bctx b = {.file = ds->ydoc->file, .d = d};
    const sw_ynode *root = ds->ydoc->root, *cases = root;
    if (!root) {
        sw_diag_error(d, (sw_pos){ds->path, 1, 1}, "the dataset is empty");
        return -1;
    }
    if (root->kind == SW_YAML_MAP) {
        static const char *const keys[] = {"defaults", "cases"};
        for (size_t i = 0; i < root->n; i++) {
            const char *k = root->keys[i]->text;
            if (strcmp(k, keys[0]) != 0 && strcmp(k, keys[1]) != 0) {
                const char *hint = sw_did_you_mean(k, keys, 2);
                bad(&b, root->keys[i], "unknown key '%s'%s%s%s", k, hint ? " (did you mean '" : "",
                    hint ? hint : "", hint ? "'?)" : "");
            }
        }
        cases = sw_ynode_get(root, "cases");
        const sw_ynode *def = sw_ynode_get(root, "defaults");
        if (def) {
            json_t *dj = sw_yaml_to_json(def, &err);
            if (!dj || !json_is_object(dj)) {
                bad(&b, def, "defaults must be a mapping");
            } else if (check_keys(&b, dj, def, default_keys,
                                  sizeof default_keys / sizeof *default_keys, "defaults")) {
                ds->defaults = json_incref(dj);
                ds->ydefaults = def;
                b.ydef = def;
            }
            json_decref(dj);
        }
        if (!cases) {
            bad(&b, root, "a dataset mapping needs 'cases' (a list)");
            return -1;
        }
    }
    if (cases->kind != SW_YAML_SEQ) {
        bad(&b, cases, "the cases must be a list");
        return -1;
    }
    idset seen = {0};
    for (size_t i = 0; i < cases->n && b.errors < MAX_ERRORS; i++) {
        const sw_ynode *y = cases->items[i];
        b.line = y->line;
        b.id = NULL;
        json_t *obj = sw_yaml_to_json(y, &err);
        if (!obj) {
            bad(&b, y, "%s", err.msg);
            ds->total++;
            continue;
        }
        ev_case *c = build_case(&b, obj, y, ds->defaults, ds->total);
        if (c) {
            take(ds, c, (row){.line = y->line, .index = ds->total, .node = y}, o, &seen, &b, y);
            case_free(c);
        }
        ds->total++;
        json_decref(obj);
    }
    idset_free(&seen);
    return b.errors ? -1 : 0;
}

static int is_yaml(const char *path)
{
    size_t n = strlen(path);
    return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(path + n - 4, ".yml") == 0);
}

ev_dataset *ev_dataset_open(const char *path, const ev_dataset_opts *opts, sw_diags *d)
{
    ev_dataset *ds = sw_xcalloc(1, sizeof *ds);
    ds->path = sw_xstrdup(path);
    ds->fd = -1;
    ds->yaml = is_yaml(path);
    if ((ds->yaml ? load_yaml(ds, opts, d) : load_jsonl(ds, opts, d)) < 0) {
        ev_dataset_close(ds);
        return NULL;
    }
    return ds;
}

void ev_dataset_close(ev_dataset *ds)
{
    if (!ds)
        return;
    if (ds->fd >= 0)
        close(ds->fd);
    free(ds->path);
    free(ds->rows);
    json_decref(ds->defaults);
    sw_ydoc_free(ds->ydoc);
    free(ds);
}

size_t ev_dataset_count(const ev_dataset *ds)
{
    return ds->n_rows;
}

size_t ev_dataset_total(const ev_dataset *ds)
{
    return ds->total;
}

const char *ev_dataset_path(const ev_dataset *ds)
{
    return ds->path;
}

const char *ev_dataset_sha256(const ev_dataset *ds)
{
    return ds->sha;
}

uint64_t ev_dataset_input_bytes_max(const ev_dataset *ds)
{
    return ds->in_max;
}

uint64_t ev_dataset_input_bytes_sum(const ev_dataset *ds)
{
    return ds->in_sum;
}

size_t ev_dataset_judged(const ev_dataset *ds)
{
    return ds->judged;
}

/* The first diagnostic as an error message. */
static void first_error(sw_diags *d, sw_err *err)
{
    char *t = sw_diags_count(d) ? sw_diags_format(d, 0) : NULL;
    sw_err_set(err, "%s", t ? t : "the case cannot be read");
    free(t);
}

ev_case *ev_dataset_case(ev_dataset *ds, size_t i, sw_err *err)
{
    if (i >= ds->n_rows) {
        sw_err_set(err, "case %zu: out of range", i);
        return NULL;
    }
    const row *r = &ds->rows[i];
    sw_diags *d = sw_diags_new();
    ev_case *c = NULL;
    if (ds->yaml) {
        bctx b = {.file = ds->ydoc->file, .line = r->line, .d = d, .ydef = ds->ydefaults};
        json_t *obj = sw_yaml_to_json(r->node, err);
        if (obj)
            c = build_case(&b, obj, r->node, ds->defaults, r->index);
        json_decref(obj);
    } else {
        char *buf = sw_xmalloc(r->len + 1);
        ssize_t got = pread(ds->fd, buf, r->len, (off_t)r->off);
        if (got == (ssize_t)r->len) {
            buf[r->len] = '\0';
            c = ev_case_from_text(buf, r->len, ds->defaults, ds->path, r->line, r->index, d);
        } else {
            sw_diag_error(d, (sw_pos){ds->path, r->line, 0},
                          "the dataset changed while the eval ran");
        }
        free(buf);
    }
    if (!c)
        first_error(d, err);
    sw_diags_free(d);
    return c;
}

ev_case *ev_case_from_text(const char *text, size_t len, const json_t *defaults, const char *file,
                           int line, size_t index, sw_diags *d)
{
    bctx b = {.file = file, .line = line, .d = d};
    json_error_t je;
    json_t *obj = json_loadb(text, len, 0, &je);
    if (!obj) {
        sw_diag_error(d, (sw_pos){file, line, je.column > 0 ? je.column : 0}, "invalid JSON: %s",
                      je.text);
        return NULL;
    }
    ev_case *c = build_case(&b, obj, NULL, defaults, index);
    json_decref(obj);
    return c;
}

ev_case *ev_case_ref(ev_case *c)
{
    c->refs++;
    return c;
}

void ev_case_unref(ev_case *c)
{
    if (c && --c->refs == 0)
        case_free(c);
}
