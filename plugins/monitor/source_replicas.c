/* source_replicas.c - one admin GET on every router replica a source reads (source.h): a
   replica that does not answer skips the look, until it has failed GONE_AFTER_FAILURES looks in
   a row and is left out (gone, its requests with it); it is taken back when it answers. */
#include <stdlib.h>

#include "base/util.h"
#include "source.h"

/* Before that many failures in a row, a blip on one replica never has the others judged
   alone. */
#define GONE_AFTER_FAILURES 3

struct sw_mon_routers {
    sw_admin_client *ac;
    size_t n;
    int *failures; /* per router: looks failed in a row */
};

sw_mon_routers *sw_mon_routers_new(sw_admin_client *ac, size_t n)
{
    sw_mon_routers *r = sw_xcalloc(1, sizeof *r);
    r->ac = ac;
    r->n = n;
    r->failures = sw_xcalloc(n ? n : 1, sizeof *r->failures);
    return r;
}

void sw_mon_routers_free(sw_mon_routers *r)
{
    if (!r)
        return;
    free(r->failures);
    free(r);
}

size_t sw_mon_routers_count(const sw_mon_routers *r)
{
    return r->n;
}

int sw_mon_routers_get(sw_mon_routers *r, sw_stage *stage, const char *path, json_t **answers,
                       char **err)
{
    int retry = 0;
    size_t answered = 0;
    for (size_t i = 0; i < r->n; i++) {
        char msg[1024];
        answers[i] = NULL;
        if (sw_admin_client_json(&r->ac[i], "GET", path, NULL, &answers[i], NULL, msg,
                                 sizeof msg) == 0) {
            r->failures[i] = 0;
            answered++;
            continue;
        }
        if (++r->failures[i] == GONE_AFTER_FAILURES)
            sw_host_api->log(stage, SW_LOG_WARN,
                             "router %s failed %d looks in a row (%s): judging without it",
                             r->ac[i].base_url, GONE_AFTER_FAILURES, msg);
        if (r->failures[i] < GONE_AFTER_FAILURES && !retry) {
            /* A router restart or a blip is not a verdict on the candidate. */
            free(*err);
            *err =
                r->n > 1 ? sw_xasprintf("router %s: %s", r->ac[i].base_url, msg) : sw_xstrdup(msg);
            retry = 1;
        }
    }
    if (!retry && answered == 0) {
        free(*err);
        *err = sw_xasprintf("no router answers (%zu tried)", r->n);
        retry = 1;
    }
    if (retry)
        for (size_t i = 0; i < r->n; i++) {
            json_decref(answers[i]);
            answers[i] = NULL;
        }
    return retry ? SW_SRC_RETRY : SW_SRC_OK;
}
