/* cache.c - response files keyed by the hash of the canonical request. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "store/canon.h"

struct ev_cache {
    char *dir;
    ev_cache_mode mode;
    unsigned long tmp_seq;
};

int ev_cache_mode_parse(const char *text, ev_cache_mode *out)
{
    if (!text || strcmp(text, "off") == 0)
        *out = EV_CACHE_OFF;
    else if (strcmp(text, "record") == 0)
        *out = EV_CACHE_RECORD;
    else if (strcmp(text, "replay") == 0)
        *out = EV_CACHE_REPLAY;
    else
        return -1;
    return 0;
}

const char *ev_cache_mode_name(ev_cache_mode m)
{
    return m == EV_CACHE_RECORD ? "record" : m == EV_CACHE_REPLAY ? "replay" : "off";
}

int ev_cache_key(const char *kind, const json_t *request, int sample,
                 char out[SW_SHA256_HEX_LEN + 1], sw_err *err)
{
    json_t *k = json_pack("{s:i, s:s, s:O, s:i}", "v", 1, "kind", kind, "request", request,
                          "sample", sample);
    char *canon = sw_canon_json(k, err);
    json_decref(k);
    if (!canon)
        return sw_err_prefix(err, "cache key: ");
    sw_sha256_hex(canon, strlen(canon), out);
    free(canon);
    return 0;
}

void ev_cache_key_canon(const char *kind, const char *request_canon, int sample,
                        char out[SW_SHA256_HEX_LEN + 1])
{
    char head[64], tail[64];
    int nh = snprintf(head, sizeof head, "{\"kind\":\"%s\",\"request\":", kind);
    int nt = snprintf(tail, sizeof tail, ",\"sample\":%d,\"v\":1}", sample);
    sw_sha256_ctx c;
    unsigned char d[SW_SHA256_LEN];
    sw_sha256_init(&c);
    sw_sha256_update(&c, head, (size_t)nh);
    sw_sha256_update(&c, request_canon, strlen(request_canon));
    sw_sha256_update(&c, tail, (size_t)nt);
    sw_sha256_final(&c, d);
    sw_hex(d, sizeof d, out);
}

ev_cache *ev_cache_open(const char *dir, ev_cache_mode mode, sw_err *err)
{
    if (mode == EV_CACHE_RECORD && sw_mkdir_p(dir, 0755, err) < 0)
        return NULL;
    if (mode == EV_CACHE_REPLAY && !sw_is_dir(dir)) {
        sw_err_set(err, "cache folder '%s' does not exist (record it first with cache: record)",
                   dir);
        return NULL;
    }
    ev_cache *c = sw_xcalloc(1, sizeof *c);
    c->dir = sw_xstrdup(dir);
    c->mode = mode;
    return c;
}

void ev_cache_close(ev_cache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

ev_cache_mode ev_cache_get_mode(const ev_cache *c)
{
    return c ? c->mode : EV_CACHE_OFF;
}

const char *ev_cache_dir(const ev_cache *c)
{
    return c->dir;
}

static char *entry_path(const ev_cache *c, const char *key)
{
    return sw_xasprintf("%s/%.2s/%s.json", c->dir, key, key);
}

int ev_cache_get(ev_cache *c, const char *key, long *status, char **body, size_t *len,
                 double *latency_ms, sw_err *err)
{
    char *path = entry_path(c, key);
    if (!sw_file_exists(path)) {
        free(path);
        return 0;
    }
    size_t n;
    char *text = sw_read_file(path, 0, &n, err);
    if (!text) {
        free(path);
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(text, n, 0, &je);
    free(text);
    const char *b = json_string_value(json_object_get(j, "body"));
    const char *k = json_string_value(json_object_get(j, "key"));
    if (!b || !k || strcmp(k, key) != 0 || !json_is_integer(json_object_get(j, "status"))) {
        json_decref(j);
        sw_err_set(err, "cache entry '%s' is damaged", path);
        free(path);
        return -1;
    }
    free(path);
    *status = (long)json_integer_value(json_object_get(j, "status"));
    *len = json_string_length(json_object_get(j, "body"));
    *body = sw_xmalloc(*len + 1);
    memcpy(*body, b, *len);
    (*body)[*len] = '\0';
    *latency_ms = json_number_value(json_object_get(j, "latency_ms"));
    json_decref(j);
    return 1;
}

int ev_cache_put(ev_cache *c, const char *key, long status, const char *body, size_t len,
                 double latency_ms, sw_err *err)
{
    char *sub = sw_xasprintf("%s/%.2s", c->dir, key);
    if (sw_mkdir_p(sub, 0755, err) < 0) {
        free(sub);
        return -1;
    }
    json_t *j = json_pack("{s:s, s:i, s:f, s:s%}", "key", key, "status", (int)status, "latency_ms",
                          latency_ms, "body", body, len);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        free(sub);
        return sw_err_set(err, "cache: the response for %s is not UTF-8 text", key);
    }
    char *path = entry_path(c, key);
    char *tmp = sw_xasprintf("%s/.%s.%ld.%lu.tmp", sub, key, (long)getpid(), c->tmp_seq++);
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(text, 1, strlen(text), f) != strlen(text) || fputc('\n', f) == EOF) {
        rc = sw_err_errno(err, "cache: writing %s", tmp);
        if (f)
            fclose(f);
        unlink(tmp);
    } else if (fclose(f) != 0 || rename(tmp, path) != 0) {
        rc = sw_err_errno(err, "cache: writing %s", path);
        unlink(tmp);
    }
    free(text);
    free(tmp);
    free(path);
    free(sub);
    return rc;
}
