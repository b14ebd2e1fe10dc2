/* tmpl.c - checking and rendering {{...}} placeholders. */
#include "tmpl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef enum var_kind {
    V_USER,
    V_USER_CAP,
    V_SYSTEM_CAP,
    V_MODEL,
    V_TOOL_RESULT,
    V_TOOL_NAME
} var_kind;

/* Parse a name; -1 when unknown. *group receives N of user.N / system.N. */
static int var_of(const char *name, size_t len, int *group)
{
    static const struct {
        const char *name;
        var_kind kind;
    } plain[] = {{"user", V_USER},
                 {"model", V_MODEL},
                 {"tool_result", V_TOOL_RESULT},
                 {"tool_name", V_TOOL_NAME}};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (strlen(plain[i].name) == len && memcmp(plain[i].name, name, len) == 0)
            return (int)plain[i].kind;
    static const struct {
        const char *prefix;
        var_kind kind;
    } caps[] = {{"user.", V_USER_CAP}, {"system.", V_SYSTEM_CAP}};
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(caps[i].prefix);
        if (len == pl + 1 && memcmp(name, caps[i].prefix, pl) == 0 &&
            isdigit((unsigned char)name[pl])) {
            *group = name[pl] - '0';
            return (int)caps[i].kind;
        }
    }
    return -1;
}

/* Walk text: literal runs go to lit, placeholders to var. Returns -1 with err on
   a malformed or unknown placeholder. */
typedef struct walker {
    void (*lit)(void *ctx, const char *s, size_t n);
    int (*var)(void *ctx, var_kind kind, int group, const char *name, size_t len, sw_err *err);
    void *ctx;
} walker;

static int walk(const char *text, const walker *w, sw_err *err)
{
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            w->lit(w->ctx, p, strlen(p));
            return 0;
        }
        if (open > p && open[-1] == '\\') {
            w->lit(w->ctx, p, (size_t)(open - 1 - p));
            w->lit(w->ctx, "{{", 2);
            p = open + 2;
            continue;
        }
        w->lit(w->ctx, p, (size_t)(open - p));
        const char *s = open + 2;
        while (*s == ' ')
            s++;
        const char *name = s;
        while (isalnum((unsigned char)*s) || *s == '_' || *s == '.')
            s++;
        size_t len = (size_t)(s - name);
        while (*s == ' ')
            s++;
        if (strncmp(s, "}}", 2) != 0) {
            const char *close = strstr(open, "}}");
            if (!close)
                return sw_err_set(err, "unclosed '{{'");
            return sw_err_set(err, "bad placeholder '%.*s'", (int)(close + 2 - open), open);
        }
        int group = 0;
        int kind = var_of(name, len, &group);
        if (kind < 0)
            return sw_err_set(err,
                              "unknown placeholder '{{%.*s}}' (known: user, user.N, system.N, "
                              "model, tool_result, tool_name)",
                              (int)len, name);
        if (w->var(w->ctx, (var_kind)kind, group, name, len, err) < 0)
            return -1;
        p = s + 2;
    }
    return 0;
}

typedef struct check_ctx {
    long user_groups, system_groups;
} check_ctx;

static void check_lit(void *ctx, const char *s, size_t n)
{
}

static int check_var(void *ctx, var_kind kind, int group, const char *name, size_t len, sw_err *err)
{
    const check_ctx *c = ctx;
    const char *what = kind == V_USER_CAP ? "user" : "system";
    long groups = kind == V_USER_CAP ? c->user_groups : c->system_groups;
    if (kind != V_USER_CAP && kind != V_SYSTEM_CAP)
        return 0;
    if (groups < 0)
        return sw_err_set(err, "'{{%.*s}}' needs a /regex/ in match.%s", (int)len, name, what);
    if (group > groups)
        return sw_err_set(err, "'{{%.*s}}': the match.%s regex has %ld capture group%s", (int)len,
                          name, what, groups, groups == 1 ? "" : "s");
    return 0;
}

int sw_mock_tmpl_check(const char *text, long user_groups, long system_groups, sw_err *err)
{
    check_ctx c = {user_groups, system_groups};
    walker w = {check_lit, check_var, &c};
    return walk(text, &w, err);
}

int sw_mock_tmpl_check_json(const json_t *j, long user_groups, long system_groups, sw_err *err)
{
    if (json_is_string(j))
        return sw_mock_tmpl_check(json_string_value(j), user_groups, system_groups, err);
    size_t i;
    const char *key;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (sw_mock_tmpl_check_json(v, user_groups, system_groups, err) < 0)
                return -1;
        }
    } else if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v)
        {
            if (sw_mock_tmpl_check_json(v, user_groups, system_groups, err) < 0)
                return sw_err_prefix(err, "'%s': ", key);
        }
    }
    return 0;
}

typedef struct render_ctx {
    const sw_mock_vars *v;
    sw_buf *out;
} render_ctx;

static void render_lit(void *ctx, const char *s, size_t n)
{
    render_ctx *r = ctx;
    sw_buf_append(r->out, s, n);
}

static int render_var(void *ctx, var_kind kind, int group, const char *name, size_t len,
                      sw_err *err)
{
    render_ctx *r = ctx;
    const sw_mock_vars *v = r->v;
    const char *s = NULL;
    switch (kind) {
    case V_USER:
        s = v->user;
        break;
    case V_USER_CAP:
        s = v->user_caps ? v->user_caps[group] : NULL;
        break;
    case V_SYSTEM_CAP:
        s = v->system_caps ? v->system_caps[group] : NULL;
        break;
    case V_MODEL:
        s = v->model;
        break;
    case V_TOOL_RESULT:
        s = v->tool_result;
        break;
    case V_TOOL_NAME:
        s = v->tool_name;
        break;
    }
    if (s)
        sw_buf_puts(r->out, s);
    return 0;
}

/* Length of the well-formed UTF-8 character at s (at most n bytes), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xC2) || (len == 4 && s[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0; /* overlong, or a surrogate */
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

void sw_mock_tmpl_render(const char *text, const sw_mock_vars *v, sw_buf *out)
{
    size_t start = out->len;
    render_ctx r = {v, out};
    walker w = {render_lit, render_var, &r};
    sw_err err;
    /* Checked at load: rendering cannot fail, and an empty text still makes "" */
    (void)walk(text, &w, &err);
    sw_buf_append(out, "", 0);
    /* A regex runs on bytes, so a capture may cut a character in two; answers
       must be JSON strings, so such bytes become '?'. */
    unsigned char *p = (unsigned char *)out->data + start;
    size_t n = out->len - start;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_char(p + i, n - i);
        if (k == 0) {
            p[i] = '?';
            k = 1;
        }
        i += k;
    }
}

char *sw_mock_tmpl_string(const char *text, const sw_mock_vars *v)
{
    sw_buf b = {0};
    sw_mock_tmpl_render(text, v, &b);
    return sw_buf_steal(&b);
}

json_t *sw_mock_tmpl_json(const json_t *j, const sw_mock_vars *v)
{
    if (json_is_string(j)) {
        sw_buf b = {0};
        sw_mock_tmpl_render(json_string_value(j), v, &b);
        json_t *s = json_stringn(b.data ? b.data : "", b.len);
        sw_buf_free(&b);
        /* A capture that is not UTF-8 cannot be a JSON string: keep the template. */
        return s ? s : json_deep_copy(j);
    }
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(j)) {
        json_t *a = json_array();
        json_array_foreach(j, i, item)
        {
            json_array_append_new(a, sw_mock_tmpl_json(item, v));
        }
        return a;
    }
    if (json_is_object(j)) {
        json_t *o = json_object();
        json_object_foreach((json_t *)j, key, item)
        {
            json_object_set_new(o, key, sw_mock_tmpl_json(item, v));
        }
        return o;
    }
    return json_deep_copy(j);
}
