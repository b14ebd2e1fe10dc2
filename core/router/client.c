/* client.c - the admin API's client (used by `slipway routes` and `slipway route`). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "slipway/router.h"

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    sw_buf_append(ud, p, size * n);
    return size * n;
}

int sw_router_admin_call(const char *base_url, const char *token, const char *method,
                         const char *path, const char *body, long timeout_ms, int *status,
                         char **response, sw_diags *d)
{
    *status = 0;
    if (response)
        *response = NULL;
    size_t bl = strlen(base_url);
    while (bl && base_url[bl - 1] == '/')
        bl--;
    char *url = sw_xasprintf("%.*s%s", (int)bl, base_url, path);
    CURL *e = curl_easy_init();
    if (!e) {
        free(url);
        sw_diag_error(d, (sw_pos){0}, "cannot start an HTTP client");
        return -1;
    }
    sw_buf out = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    if (token && *token) {
        char *auth = sw_xasprintf("Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        free(auth);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(e);
    int ret = 0;
    if (rc != CURLE_OK) {
        sw_diag_error(d, (sw_pos){0}, "%s %s: %s", method, url,
                      errbuf[0] ? errbuf : curl_easy_strerror(rc));
        ret = -1;
    } else {
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        *status = (int)code;
        if (response)
            *response = sw_buf_steal(&out);
    }
    sw_buf_free(&out);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    free(url);
    return ret;
}
