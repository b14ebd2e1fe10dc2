/*
 * admin_client.h - the router's admin API through the host's HTTP client, for
 * the canary, monitor and rollback stages (compiled into each of them).
 */
#ifndef SW_PLUGIN_ADMIN_CLIENT_H
#define SW_PLUGIN_ADMIN_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "slipway/plugin.h"

typedef struct sw_admin_client {
    sw_stage *stage;
    const char *base_url; /* "http://127.0.0.1:8700", no trailing slash needed */
    char *token;          /* NULL: none */
    int64_t timeout_ms;
    int retries; /* tries after the first when no answer or a 5xx came back */
} sw_admin_client;

/* Fill c (10 s timeout, 2 retries); the token comes from token_file (trimmed) when set. SW_ERROR
   with the stage's error set when the file cannot be read. */
sw_status sw_admin_client_init(sw_admin_client *c, sw_stage *stage, const char *base_url,
                               const char *token_file);
void sw_admin_client_fini(sw_admin_client *c);

/* An sw_admin_call_fn (slipway/rollback.h) over host->http; userdata is the client. */
int sw_admin_client_call(void *userdata, const char *method, const char *path, const char *body,
                         int *status, char **response, char *errbuf, size_t errsize);

/* A call expecting 200 and a JSON object: 0 with *out (a new reference); -1 with the
   reason in errbuf (*http_status, when not NULL, receives the status, 0 without answer). */
int sw_admin_client_json(sw_admin_client *c, const char *method, const char *path, const char *body,
                         json_t **out, int *http_status, char *errbuf, size_t errsize);

#endif
