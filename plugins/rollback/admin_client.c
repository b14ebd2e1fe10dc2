/* admin_client.c - the router's admin API over host->http. */
#include "admin_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/util.h"

sw_status sw_admin_client_init(sw_admin_client *c, sw_stage *stage, const char *base_url,
                               const char *token_file)
{
    const sw_host *h = sw_host_api;
    *c = (sw_admin_client){.stage = stage, .base_url = base_url, .timeout_ms = 10000, .retries = 2};
    if (!base_url || strncmp(base_url, "http", 4) != 0)
        return h->error(stage, "router: '%s' is not an http:// URL", base_url ? base_url : "");
    if (token_file && *token_file) {
        sw_err e = {{0}};
        char *t = sw_read_file(token_file, 4096, NULL, &e);
        if (!t)
            return h->error(stage, "router token: %s", e.msg);
        size_t n = strlen(t);
        while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
            t[--n] = '\0';
        c->token = t;
    }
    return SW_OK;
}

void sw_admin_client_fini(sw_admin_client *c)
{
    free(c->token);
    c->token = NULL;
}

int sw_admin_client_call(void *userdata, const char *method, const char *path, const char *body,
                         int *status, char **response, char *errbuf, size_t errsize)
{
    sw_admin_client *c = userdata;
    const sw_host *h = sw_host_api;
    size_t bl = strlen(c->base_url);
    while (bl && c->base_url[bl - 1] == '/')
        bl--;
    char *url = sw_xasprintf("%.*s%s", (int)bl, c->base_url, path);
    char *auth = c->token ? sw_xasprintf("Authorization: Bearer %s", c->token) : NULL;
    const char *headers[3] = {"Content-Type: application/json", auth, NULL};
    sw_http_request rq = {
        SW_ABI_INIT(sw_http_request), .method = method, .url = url,
        .headers = headers,           .body = body,     .timeout_ms = c->timeout_ms,
        .max_retries = c->retries,    .backoff_ms = 100};
    sw_http_response rs = {SW_ABI_INIT(sw_http_response)};
    sw_status st = h->http(c->stage, &rq, &rs);
    free(url);
    free(auth);
    *status = 0;
    *response = NULL;
    if (st != SW_OK) {
        snprintf(errbuf, errsize, "%s", h->last_error(c->stage));
        return -1;
    }
    *status = (int)rs.status;
    *response = rs.body ? sw_xstrndup(rs.body, rs.body_len) : NULL;
    h->http_response_free(c->stage, &rs);
    return 0;
}

int sw_admin_client_json(sw_admin_client *c, const char *method, const char *path, const char *body,
                         json_t **out, int *http_status, char *errbuf, size_t errsize)
{
    int status = 0;
    char *text = NULL;
    *out = NULL;
    if (http_status)
        *http_status = 0;
    if (sw_admin_client_call(c, method, path, body, &status, &text, errbuf, errsize) != 0)
        return -1;
    if (http_status)
        *http_status = status;
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (status != 200) {
        const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        snprintf(errbuf, errsize, "router: %s %s: HTTP %d: %s", method, path, status,
                 m ? m : (text ? text : "no body"));
        json_decref(j);
        free(text);
        return -1;
    }
    free(text);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(errbuf, errsize, "router: %s %s: the answer is not a JSON object", method, path);
        return -1;
    }
    *out = j;
    return 0;
}
