/* bench_mock.c - `slipway mock` under the eval stage's load.

   N chat completions (default 10,000) at concurrency C (default 64) against an
   in-process mock whose every answer takes L ms (default 20), from one libcurl
   multi handle on keep-alive connections - the way the eval stage drives it.
   The physical limit is C / L requests per second (3,200/s for 64 and 20 ms);
   the mock must not be what keeps a client from it. Prints the throughput and
   its ratio to the limit; asserts nothing.
     bench_mock [N] [C] [L] [stream]   (stream: 1 for SSE answers) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "slipway/mock.h"

static size_t sink(char *p, size_t size, size_t n, void *bytes)
{
    *(size_t *)bytes += size * n;
    return size * n;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 10000;
    long conc = argc > 2 ? atol(argv[2]) : 64;
    long latency = argc > 3 ? atol(argv[3]) : 20;
    int stream = argc > 4 && atoi(argv[4]) != 0;
    if (total <= 0 || conc <= 0 || latency < 0) {
        fprintf(stderr, "usage: bench_mock [N] [CONCURRENCY] [LATENCY_MS] [STREAM]\n");
        return 2;
    }
    char *yaml = sw_xasprintf("seed: 1\n"
                              "defaults:\n"
                              "  latency: %ldms\n"
                              "  respond: {text: \"The order NW-104233 was delivered on "
                              "Tuesday; a refund of 49.90 EUR is possible within 30 days.\"}\n",
                              latency);
    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc = sw_mock_scenario_parse(yaml, strlen(yaml), "bench.yaml", d);
    free(yaml);
    sw_mock *m = sw_mock_new(sc);
    if (!sc || sw_mock_listen(m, "127.0.0.1:0", d) < 0) {
        for (size_t i = 0; i < sw_diags_count(d); i++) {
            char *s = sw_diags_format(d, i);
            fprintf(stderr, "bench_mock: %s\n", s);
            free(s);
        }
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *url = sw_xasprintf("%s/v1/chat/completions", sw_mock_url(m));
    const char *body =
        stream ? "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"system\","
                 "\"content\":\"You are a support agent.\"},{\"role\":\"user\",\"content\":"
                 "\"Where is my order NW-104233?\"}]}"
               : "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":"
                 "\"You are a support agent.\"},{\"role\":\"user\",\"content\":\"Where is my "
                 "order NW-104233?\"}]}";
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL **handles = calloc((size_t)conc, sizeof *handles);
    size_t bytes = 0;
    long started = 0, done = 0, failed = 0;
    for (long i = 0; i < conc; i++) {
        handles[i] = curl_easy_init();
        curl_easy_setopt(handles[i], CURLOPT_URL, url);
        curl_easy_setopt(handles[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(handles[i], CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(handles[i], CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(handles[i], CURLOPT_WRITEDATA, &bytes);
    }
    double t0 = sw_now_ms();
    for (long i = 0; i < conc && started < total; i++, started++)
        curl_multi_add_handle(multi, handles[i]);
    int running = 1;
    while (done < total) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            failed += msg->data.result != CURLE_OK || status != 200;
            done++;
            CURL *h = msg->easy_handle;
            curl_multi_remove_handle(multi, h);
            if (started < total) { /* reuse the handle: its connection stays open */
                curl_multi_add_handle(multi, h);
                started++;
            }
        }
        if (done < total)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double secs = (sw_now_ms() - t0) / 1e3;
    double rate = (double)total / secs;
    double limit = latency > 0 ? (double)conc * 1000.0 / (double)latency : 0;
    printf("mock_requests %ld failed %ld concurrency %ld latency_ms %ld%s\n", total, failed, conc,
           latency, stream ? " stream" : "");
    printf("mock_requests_per_sec %.0f\n", rate);
    if (limit > 0)
        printf("mock_limit_per_sec %.0f ratio %.3f\n", limit, rate / limit);
    for (long i = 0; i < conc; i++)
        curl_easy_cleanup(handles[i]);
    free(handles);
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    free(url);
    sw_mock_free(m);
    sw_diags_free(d);
    return failed ? 1 : 0;
}
