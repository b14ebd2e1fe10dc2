/* canon.c - RFC 8785-style canonical JSON (see canon.h for the one departure). */
#include "canon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Decodes well-formed UTF-8 (validated before) and yields UTF-16 code units. */
typedef struct u16iter {
    const unsigned char *p;
    unsigned pending; /* a low surrogate still to yield, or 0 */
} u16iter;

static unsigned next_unit(u16iter *it)
{
    if (it->pending) {
        unsigned u = it->pending;
        it->pending = 0;
        return u;
    }
    const unsigned char *p = it->p;
    unsigned c = p[0], cp;
    if (c == 0)
        return 0; /* the end sorts before any code unit (keys hold no NUL) */
    if (c < 0x80) {
        cp = c;
        it->p += 1;
    } else if (c < 0xE0) {
        cp = (c & 0x1Fu) << 6 | (p[1] & 0x3Fu);
        it->p += 2;
    } else if (c < 0xF0) {
        cp = (c & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        it->p += 3;
    } else {
        cp = (c & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
        it->p += 4;
    }
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    it->pending = 0xDC00 + (cp & 0x3FF);
    return 0xD800 + (cp >> 10);
}

int sw_canon_keycmp(const char *a, const char *b)
{
    u16iter ia = {(const unsigned char *)a, 0}, ib = {(const unsigned char *)b, 0};
    for (;;) {
        unsigned ua = next_unit(&ia), ub = next_unit(&ib);
        if (ua != ub)
            return ua < ub ? -1 : 1;
        if (ua == 0)
            return 0;
    }
}

int sw_canon_double(double d, char out[32])
{
    if (!isfinite(d))
        return -1;
    if (d == 0) {
        strcpy(out, "0.0"); /* -0 too, as RFC 8785 writes it */
        return 0;
    }
    /* The fewest significant digits that read back as d. */
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* sci is "[-]d[.ddd]e[+-]xx": split into digits s (k of them) and the exponent n
       such that the value is 0.s * 10^n, as ECMAScript's Number::toString names them. */
    const char *p = sci;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    char s[24];
    int k = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            s[k++] = *p;
    s[k] = '\0';
    while (k > 1 && s[k - 1] == '0')
        s[--k] = '\0';
    int n = atoi(p + 1) + 1;

    char *o = out;
    if (neg)
        *o++ = '-';
    if (k <= n && n <= 21) {
        memcpy(o, s, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++)
            *o++ = '0';
        memcpy(o, ".0", 3); /* a double stays a double when read back */
    } else if (0 < n && n <= 21) {
        memcpy(o, s, (size_t)n);
        o += n;
        *o++ = '.';
        strcpy(o, s + n);
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        strcpy(o, s);
    } else {
        int e = n - 1;
        *o++ = s[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, s + 1, (size_t)k - 1);
            o += k - 1;
        }
        sprintf(o, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return 0;
}

static int append_string(sw_buf *b, const char *s, size_t len, sw_err *err)
{
    size_t bad = sw_utf8_invalid_at(s, len);
    if (bad != len)
        return sw_err_set(err, "canonical JSON: string is not valid UTF-8 at byte %zu", bad);
    sw_buf_append(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", c);
                esc = hex;
            }
        }
        if (!esc)
            continue;
        sw_buf_append(b, s + run, i - run);
        sw_buf_puts(b, esc);
        run = i + 1;
    }
    sw_buf_append(b, s + run, len - run);
    sw_buf_append(b, "\"", 1);
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    return sw_canon_keycmp(*(const char *const *)a, *(const char *const *)b);
}

int sw_canon_append(sw_buf *b, const json_t *j, sw_err *err)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        sw_buf_puts(b, "null");
        return 0;
    case JSON_TRUE:
        sw_buf_puts(b, "true");
        return 0;
    case JSON_FALSE:
        sw_buf_puts(b, "false");
        return 0;
    case JSON_INTEGER:
        sw_buf_printf(b, "%lld", (long long)json_integer_value(j));
        return 0;
    case JSON_REAL: {
        char num[32];
        if (sw_canon_double(json_real_value(j), num) != 0)
            return sw_err_set(err, "canonical JSON: a number is not finite");
        sw_buf_puts(b, num);
        return 0;
    }
    case JSON_STRING:
        return append_string(b, json_string_value(j), json_string_length(j), err);
    case JSON_ARRAY: {
        sw_buf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                sw_buf_append(b, ",", 1);
            if (sw_canon_append(b, json_array_get(j, i), err) != 0)
                return -1;
        }
        sw_buf_append(b, "]", 1);
        return 0;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        const char **keys = sw_xmalloc((n ? n : 1) * sizeof *keys);
        size_t i = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v)
        {
            size_t kl = strlen(key);
            if (sw_utf8_invalid_at(key, kl) != kl) {
                free(keys);
                return sw_err_set(err, "canonical JSON: an object key is not valid UTF-8");
            }
            keys[i++] = key;
        }
        qsort(keys, n, sizeof *keys, cmp_keys);
        sw_buf_append(b, "{", 1);
        int rc = 0;
        for (i = 0; i < n && rc == 0; i++) {
            if (i)
                sw_buf_append(b, ",", 1);
            rc = append_string(b, keys[i], strlen(keys[i]), err);
            if (rc == 0) {
                sw_buf_append(b, ":", 1);
                rc = sw_canon_append(b, json_object_get(j, keys[i]), err);
            }
        }
        sw_buf_append(b, "}", 1);
        free(keys);
        return rc;
    }
    }
    return sw_err_set(err, "canonical JSON: unknown value type");
}

char *sw_canon_json(const json_t *j, sw_err *err)
{
    sw_buf b = {0};
    if (!j) {
        sw_err_set(err, "canonical JSON: no value");
        return NULL;
    }
    if (sw_canon_append(&b, j, err) != 0) {
        sw_buf_free(&b);
        return NULL;
    }
    return sw_buf_steal(&b);
}

char *sw_json_text(const json_t *j)
{
    char *t = sw_canon_json(j, NULL);
    if (!t)
        t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    return t ? t : sw_xstrdup("null");
}
