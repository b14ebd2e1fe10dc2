/* template.c - rendering {{var}} placeholders with positions for every error. */
#include "template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"

static int name_start(int c)
{
    return isalpha(c) || c == '_';
}

static int name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* The text a value renders as, or NULL when it cannot be put in text. */
static char *value_text(const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return sw_xstrdup(json_string_value(v));
    case JSON_INTEGER:
        return sw_xasprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL: {
        if (sw_canon_double(json_real_value(v), num) != 0)
            return NULL;
        size_t n = strlen(num);
        /* In prose 500.0 reads as 500. */
        if (n > 2 && strcmp(num + n - 2, ".0") == 0)
            num[n - 2] = '\0';
        return sw_xstrdup(num);
    }
    case JSON_TRUE:
        return sw_xstrdup("true");
    case JSON_FALSE:
        return sw_xstrdup("false");
    default:
        return NULL;
    }
}

char *sw_template_render(const char *text, const char *file, const json_t *vars, json_t *used,
                         sw_diags *d)
{
    sw_buf out = {0};
    int errors = 0, line = 1, col = 1;
    const char *p = text;
    sw_buf_append(&out, "", 0);
    while (*p) {
        if (p[0] == '\\' && p[1] == '{' && p[2] == '{') {
            sw_buf_append(&out, "{{", 2);
            p += 3;
            col += 3;
            continue;
        }
        if (!(p[0] == '{' && p[1] == '{')) {
            sw_buf_append(&out, p, 1);
            if (*p == '\n') {
                line++;
                col = 1;
            } else
                col++;
            p++;
            continue;
        }
        sw_pos at = {file, line, col};
        const char *q = p + 2;
        while (*q == ' ' || *q == '\t')
            q++;
        const char *name = q;
        if (name_start((unsigned char)*q))
            while (name_char((unsigned char)*q))
                q++;
        size_t name_len = (size_t)(q - name);
        while (*q == ' ' || *q == '\t')
            q++;
        if (q[0] != '}' || q[1] != '}') {
            const char *close = strstr(p + 2, "}}");
            const char *nl = strchr(p + 2, '\n');
            if (!close || (nl && nl < close))
                sw_diag_error(d, at, "unclosed '{{' (write '\\{{' for a literal '{{')");
            else
                sw_diag_error(d, at,
                              "bad template variable '%.*s': a name is letters, digits, "
                              "'_', '.' and '-', starting with a letter or '_'",
                              (int)(close - p - 2), p + 2);
            errors++;
            /* Go on after the braces to find further problems. */
            sw_buf_append(&out, p, 2);
            p += 2;
            col += 2;
            continue;
        }
        char *key = sw_xstrndup(name, name_len);
        json_t *v = json_object_get(vars, key);
        char *val = v ? value_text(v) : NULL;
        if (!v || json_is_null(v)) {
            sw_diag_error(d, at,
                          "template variable '%s' has no value (set it under 'vars:' in "
                          "agent.yaml or in the stage's 'vars')",
                          key);
            errors++;
        } else if (!val) {
            sw_diag_error(d, at,
                          "template variable '%s' is a %s; only strings, numbers and "
                          "booleans can be put in text",
                          key, json_is_array(v) ? "list" : "map");
            errors++;
        } else {
            sw_buf_puts(&out, val);
            if (used)
                json_object_set(used, key, v);
        }
        free(val);
        free(key);
        col += (int)(q + 2 - p);
        p = q + 2;
    }
    if (errors) {
        sw_buf_free(&out);
        return NULL;
    }
    return sw_buf_steal(&out);
}
