/* explain.c - see explain.h. */
#include "explain.h"

#include <ctype.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_SHOWN_STRING 80
#define MAX_DEPTH        16

typedef enum tok_kind { T_NAME, T_KEYWORD, T_NUMBER, T_STRING, T_OP, T_OPEN, T_CLOSE } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t start, len;
    int depth; /* bracket depth before the token */
} tok;

typedef struct lexed {
    const char *src;
    tok *t;
    size_t n, cap;
} lexed;

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* A long bracket "[==[" at p: its level (the number of '='), or -1. */
static int long_bracket(const char *p)
{
    if (*p != '[')
        return -1;
    int level = 0;
    while (p[1 + level] == '=')
        level++;
    return p[1 + level] == '[' ? level : -1;
}

/* Past the long bracket's closing "]==]", or NULL when it is not closed. */
static const char *skip_long(const char *p, int level)
{
    p += level + 2;
    for (; *p; p++) {
        if (*p != ']')
            continue;
        int n = 0;
        while (p[1 + n] == '=')
            n++;
        if (n == level && p[1 + n] == ']')
            return p + level + 2;
    }
    return NULL;
}

static void push(lexed *lx, tok_kind kind, const char *from, const char *to, int depth)
{
    if (lx->n == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 32;
        lx->t = sw_xrealloc(lx->t, lx->cap * sizeof *lx->t);
    }
    lx->t[lx->n++] = (tok){kind, (size_t)(from - lx->src), (size_t)(to - from), depth};
}

static int is_keyword(const char *s, size_t n)
{
    static const char *const words[] = {"and",   "break", "do",       "else", "elseif", "end",
                                        "false", "for",   "function", "goto", "if",     "in",
                                        "local", "nil",   "not",      "or",   "repeat", "return",
                                        "then",  "true",  "until",    "while"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
            return 1;
    return 0;
}

/* Tokens of a Lua expression; -1 on text Lua would not read (an unclosed string). */
static int lex(lexed *lx, const char *src)
{
    static const char *const ops[] = {"...", "==", "~=", "<=", ">=", "//", "..", "<<", ">>", "::"};
    lx->src = src;
    int depth = 0;
    const char *p = src;
    while (*p) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            int level = long_bracket(p + 2);
            if (level >= 0) {
                if (!(p = skip_long(p + 2, level)))
                    return -1;
            } else {
                p += strcspn(p, "\n");
            }
        } else if (*p == '"' || *p == '\'') {
            const char *q = p + 1;
            while (*q && *q != *p)
                q += q[0] == '\\' && q[1] ? 2 : 1;
            if (!*q)
                return -1;
            push(lx, T_STRING, p, q + 1, depth);
            p = q + 1;
        } else if (long_bracket(p) >= 0) {
            const char *q = skip_long(p, long_bracket(p));
            if (!q)
                return -1;
            push(lx, T_STRING, p, q, depth);
            p = q;
        } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
            const char *q = p;
            while (is_name_char(*q) || *q == '.' ||
                   ((*q == '+' || *q == '-') && strchr("eEpP", q[-1])))
                q++;
            push(lx, T_NUMBER, p, q, depth);
            p = q;
        } else if (is_name_char(*p)) {
            const char *q = p;
            while (is_name_char(*q))
                q++;
            push(lx, is_keyword(p, (size_t)(q - p)) ? T_KEYWORD : T_NAME, p, q, depth);
            p = q;
        } else if (strchr("([{", *p)) {
            push(lx, T_OPEN, p, p + 1, depth++);
            p++;
        } else if (strchr(")]}", *p)) {
            if (--depth < 0)
                return -1;
            push(lx, T_CLOSE, p, p + 1, depth);
            p++;
        } else {
            size_t n = 1;
            for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
                if (strncmp(p, ops[i], strlen(ops[i])) == 0) {
                    n = strlen(ops[i]);
                    break;
                }
            push(lx, T_OP, p, p + n, depth);
            p += n;
        }
    }
    return depth == 0 ? 0 : -1;
}

/* ---- explaining a token range [a, b) ---- */

typedef struct explainer {
    lexed lx;
    sw_explain_eval eval;
    void *ud;
    int depth;
} explainer;

static int tok_is(const explainer *x, size_t i, const char *text)
{
    const tok *t = &x->lx.t[i];
    return t->len == strlen(text) && memcmp(x->lx.src + t->start, text, t->len) == 0;
}

static int is_comparison(const explainer *x, size_t i)
{
    static const char *const cmp[] = {"==", "~=", "<", "<=", ">", ">="};
    if (x->lx.t[i].kind != T_OP)
        return 0;
    for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++)
        if (tok_is(x, i, cmp[k]))
            return 1;
    return 0;
}

/* The text of tokens [a, b), as written (comments inside it included). */
static const char *text_of(const explainer *x, size_t a, size_t b, size_t *len)
{
    const tok *first = &x->lx.t[a], *last = &x->lx.t[b - 1];
    *len = last->start + last->len - first->start;
    return x->lx.src + first->start;
}

/* The top-level tokens in [a, b) at the range's own depth that match. */
static size_t find_top(const explainer *x, size_t a, size_t b, const char *word, int last)
{
    size_t found = b;
    int base = x->lx.t[a].depth;
    for (size_t i = a; i < b; i++)
        if (x->lx.t[i].depth == base && x->lx.t[i].kind != T_OPEN && x->lx.t[i].kind != T_CLOSE &&
            (word ? tok_is(x, i, word) : is_comparison(x, i))) {
            found = i;
            if (!last)
                return i;
        }
    return found;
}

/* A literal shows as itself: 0.95, 'x', true, nil. */
static int is_literal(const explainer *x, size_t a, size_t b)
{
    if (b - a == 2 && tok_is(x, a, "-") && x->lx.t[a + 1].kind == T_NUMBER)
        return 1;
    if (b - a != 1)
        return 0;
    const tok *t = &x->lx.t[a];
    return t->kind == T_NUMBER || t->kind == T_STRING || tok_is(x, a, "true") ||
           tok_is(x, a, "false") || tok_is(x, a, "nil");
}

/* Evaluate [a, b): 1 truthy, 0 falsy, -1 error; *shown set on 0 and 1. */
static int value_of(explainer *x, size_t a, size_t b, char **shown)
{
    size_t len;
    const char *text = text_of(x, a, b, &len);
    *shown = NULL;
    return x->eval(x->ud, text, len, shown);
}

/* "text (value)", or just the text of a literal. */
static void show_operand(explainer *x, size_t a, size_t b, sw_buf *out)
{
    size_t len;
    const char *text = text_of(x, a, b, &len);
    sw_buf_append(out, text, len);
    if (is_literal(x, a, b))
        return;
    char *shown;
    if (value_of(x, a, b, &shown) < 0)
        sw_buf_puts(out, " (error)");
    else
        sw_buf_printf(out, " (%s)", shown);
    free(shown);
}

static int explain(explainer *x, size_t a, size_t b, sw_buf *out);

/* f(x, y): the function's text with each argument's value. */
static int explain_call(explainer *x, size_t a, size_t open, size_t b, sw_buf *out)
{
    size_t len;
    const char *text = text_of(x, a, open + 1, &len);
    sw_buf_append(out, text, len);
    int depth = x->lx.t[open].depth + 1;
    size_t arg = open + 1;
    for (size_t i = open + 1; i < b; i++) {
        int end = i == b - 1 || (x->lx.t[i].depth == depth && tok_is(x, i, ","));
        if (!end)
            continue;
        if (i > arg)
            show_operand(x, arg, i, out);
        if (i < b - 1)
            sw_buf_puts(out, ", ");
        arg = i + 1;
    }
    char *shown;
    int truth = value_of(x, a, b, &shown);
    sw_buf_printf(out, ") returned %s", truth < 0 ? "an error" : shown);
    free(shown);
    return 0;
}

/* Whether [a, b) is one suffixed expression ending in a call: name.x(...):m(...). */
static size_t call_open(const explainer *x, size_t a, size_t b)
{
    int base = x->lx.t[a].depth;
    const tok *last = &x->lx.t[b - 1];
    if (b - a < 3 || last->kind != T_CLOSE || x->lx.src[last->start] != ')' || last->depth != base)
        return 0;
    size_t open = b - 1;
    while (open > a && !(x->lx.t[open].kind == T_OPEN && x->lx.t[open].depth == base))
        open--;
    if (open == a || x->lx.src[x->lx.t[open].start] != '(')
        return 0;
    /* Nothing but names, '.', ':' and brackets before it at this depth. */
    for (size_t i = a; i < open; i++) {
        const tok *t = &x->lx.t[i];
        if (t->depth != base || t->kind == T_NAME || t->kind == T_OPEN || t->kind == T_CLOSE)
            continue;
        if (t->kind == T_OP && (tok_is(x, i, ".") || tok_is(x, i, ":")))
            continue;
        return 0;
    }
    return x->lx.t[a].kind == T_NAME ? open : 0;
}

/* "(...)" around the whole of [a, b). */
static int parenthesized(const explainer *x, size_t a, size_t b)
{
    int base = x->lx.t[a].depth;
    if (b - a < 3 || x->lx.src[x->lx.t[a].start] != '(' || x->lx.t[b - 1].kind != T_CLOSE)
        return 0;
    for (size_t i = a + 1; i < b - 1; i++)
        if (x->lx.t[i].depth == base)
            return 0;
    return 1;
}

static int explain(explainer *x, size_t a, size_t b, sw_buf *out)
{
    if (a >= b || ++x->depth > MAX_DEPTH)
        return -1;
    int rc = 0;
    size_t at;
    if ((at = find_top(x, a, b, "or", 0)) < b) {
        /* Every alternative was false: show each. */
        size_t from = a;
        for (;;) {
            at = find_top(x, from, b, "or", 0);
            if (at == from || explain(x, from, at, out) < 0) {
                rc = -1;
                break;
            }
            if (at == b)
                break;
            sw_buf_puts(out, " or ");
            from = at + 1;
            if (from >= b) {
                rc = -1;
                break;
            }
        }
    } else if ((at = find_top(x, a, b, "and", 0)) < b) {
        /* The first clause that was false. */
        size_t from = a;
        for (;;) {
            at = find_top(x, from, b, "and", 0);
            if (at == from) {
                rc = -1;
                break;
            }
            char *shown;
            int truth = value_of(x, from, at, &shown);
            free(shown);
            if (truth <= 0 || at == b) {
                rc = explain(x, from, at, out);
                break;
            }
            from = at + 1;
            if (from >= b) {
                rc = -1;
                break;
            }
        }
    } else if ((at = find_top(x, a, b, NULL, 1)) < b && at > a && at + 1 < b) {
        /* Comparisons are left-associative: the last one at this level is the outermost. */
        show_operand(x, a, at, out);
        sw_buf_printf(out, " %.*s ", (int)x->lx.t[at].len, x->lx.src + x->lx.t[at].start);
        show_operand(x, at + 1, b, out);
    } else if (tok_is(x, a, "not") && b - a > 1) {
        sw_buf_puts(out, "not ");
        show_operand(x, a + 1, b, out);
    } else if (parenthesized(x, a, b)) {
        rc = explain(x, a + 1, b - 1, out);
    } else if ((at = call_open(x, a, b)) > 0) {
        rc = explain_call(x, a, at, b, out);
    } else {
        show_operand(x, a, b, out);
    }
    x->depth--;
    return rc;
}

char *sw_explain_false(const char *expr, sw_explain_eval eval, void *ud)
{
    explainer x = {.eval = eval, .ud = ud};
    char *result = NULL;
    /* "false, 'why'" is a list of results, not one expression. */
    if (lex(&x.lx, expr) == 0 && x.lx.n > 0 && find_top(&x, 0, x.lx.n, ",", 0) == x.lx.n) {
        sw_buf out = {0};
        if (explain(&x, 0, x.lx.n, &out) == 0)
            result = sw_buf_steal(&out);
        sw_buf_free(&out);
    }
    free(x.lx.t);
    return result;
}

char *sw_explain_value(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return sw_xstrdup("nil");
    case LUA_TBOOLEAN:
        return sw_xstrdup(lua_toboolean(L, idx) ? "true" : "false");
    case LUA_TNUMBER: {
        if (lua_isinteger(L, idx))
            return sw_xasprintf("%lld", (long long)lua_tointeger(L, idx));
        char num[64];
        snprintf(num, sizeof num, "%.14g", (double)lua_tonumber(L, idx));
        /* As Lua writes floats: 3.0, not 3. */
        if (strspn(num, "-0123456789") == strlen(num))
            return sw_xasprintf("%s.0", num);
        return sw_xstrdup(num);
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        sw_buf out = {0};
        sw_buf_puts(&out, "'");
        for (size_t i = 0; i < len && i < MAX_SHOWN_STRING; i++) {
            if (s[i] == '\n')
                sw_buf_puts(&out, "\\n");
            else if (s[i] == '\'' || s[i] == '\\')
                sw_buf_printf(&out, "\\%c", s[i]);
            else
                sw_buf_append(&out, s + i, 1);
        }
        sw_buf_puts(&out, len > MAX_SHOWN_STRING ? "'..." : "'");
        return sw_buf_steal(&out);
    }
    default:
        return sw_xstrdup(lua_typename(L, lua_type(L, idx)));
    }
}
