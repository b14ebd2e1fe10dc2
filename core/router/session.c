/* session.c - session keys from headers, cookies and bodies; generated ids. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const source_names[] = {"header", "cookie", "body", "generated"};

const char *sw_session_source_name(sw_session_source s)
{
    return (unsigned)s < 4 ? source_names[s] : "?";
}

void sw_session_cfg_default(sw_session_cfg *c)
{
    c->header = sw_xstrdup("x-slipway-session");
    c->cookie = sw_xstrdup("slipway_session");
    c->n_body_fields = 2;
    c->body_fields = sw_xcalloc(2, sizeof *c->body_fields);
    c->body_fields[0] = sw_xstrdup("user");
    c->body_fields[1] = sw_xstrdup("metadata.session_id");
}

void sw_session_cfg_copy(sw_session_cfg *dst, const sw_session_cfg *src)
{
    dst->header = sw_xstrdup(src->header);
    dst->cookie = sw_xstrdup(src->cookie);
    dst->n_body_fields = src->n_body_fields;
    dst->body_fields = sw_xcalloc(src->n_body_fields + 1, sizeof *dst->body_fields);
    for (size_t i = 0; i < src->n_body_fields; i++)
        dst->body_fields[i] = sw_xstrdup(src->body_fields[i]);
}

void sw_session_cfg_free(sw_session_cfg *c)
{
    free(c->header);
    free(c->cookie);
    for (size_t i = 0; i < c->n_body_fields; i++)
        free(c->body_fields[i]);
    free(c->body_fields);
    memset(c, 0, sizeof *c);
}

int sw_cookie_value(const char *h, const char *name, char *out, size_t outsize)
{
    size_t nl = strlen(name);
    const char *p = h;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = len - nl - 1;
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            if (vl + 1 > outsize)
                vl = outsize - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        p = end;
    }
    return -1;
}

static int visible_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return 1;
}

static int no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* A body field's key: NULL when absent or empty, NULL with err when unusable. */
static char *body_key(const json_t *body, const char *field, sw_session_source *src, sw_err *err)
{
    char tmp[64];
    const char *b = sw_attr_text(body, field, tmp);
    if (!b || !*b)
        return NULL;
    if (strlen(b) > SW_SESSION_MAX || !no_controls(b)) {
        sw_err_set(err, "session field '%s' must be 1 to %d characters without control characters",
                   field, SW_SESSION_MAX);
        return NULL;
    }
    *src = SW_SESSION_BODY;
    return sw_xstrdup(b);
}

char *sw_session_key(const sw_session_cfg *c, const char *const *proto_fields, const sw_attrs *a,
                     sw_session_source *src, sw_err *err)
{
    err->msg[0] = '\0';
    const char *v = c->header && a->header ? a->header(a->ud, c->header) : NULL;
    if (v && *v) {
        if (strlen(v) > SW_SESSION_MAX || !visible_ascii(v)) {
            sw_err_set(err, "session header '%s' must be 1 to %d visible ASCII characters",
                       c->header, SW_SESSION_MAX);
            return NULL;
        }
        *src = SW_SESSION_HEADER;
        return sw_xstrdup(v);
    }
    const char *cookies = c->cookie && a->header ? a->header(a->ud, "cookie") : NULL;
    char buf[SW_SESSION_MAX + 2];
    if (cookies && sw_cookie_value(cookies, c->cookie, buf, sizeof buf) == 0 && buf[0]) {
        if (strlen(buf) > SW_SESSION_MAX || !visible_ascii(buf)) {
            sw_err_set(err, "session cookie '%s' must be 1 to %d visible ASCII characters",
                       c->cookie, SW_SESSION_MAX);
            return NULL;
        }
        *src = SW_SESSION_COOKIE;
        return sw_xstrdup(buf);
    }
    for (size_t i = 0; a->body && i < c->n_body_fields; i++) {
        char *k = body_key(a->body, c->body_fields[i], src, err);
        if (k || err->msg[0])
            return k;
    }
    for (size_t i = 0; a->body && proto_fields && proto_fields[i]; i++) {
        char *k = body_key(a->body, proto_fields[i], src, err);
        if (k || err->msg[0])
            return k;
    }
    char id[33];
    sw_session_generate(id);
    *src = SW_SESSION_GENERATED;
    return sw_xstrdup(id);
}

void sw_session_generate(char out[33])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* No entropy source: still unique enough per process for a session id. */
        static unsigned long counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^
                          (++counter * 0x9e3779b97f4a7c15UL);
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)(x >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
}

char *sw_session_header_value(const char *key)
{
    sw_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (*p < 0x21 || *p > 0x7e || *p == '%')
            sw_buf_printf(&b, "%%%02X", *p);
        else
            sw_buf_append(&b, (const char *)p, 1);
    }
    return sw_buf_steal(&b);
}
