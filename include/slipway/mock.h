/*
 * slipway/mock.h - `slipway mock`: an OpenAI-compatible model server driven by
 * a scenario file, for demos, tests and benchmarks (no internet, no API key).
 *
 * A scenario (YAML, see docs/mock.md) names models and an ordered list of
 * rules: the first rule whose `match` fits a chat completion request chooses
 * the response (text, tool calls or a JSON verdict), its latency
 * distribution, and the errors injected at given rates. Randomness is seeded:
 * the n-th request a rule answers always draws the same latency and error.
 *
 * The server speaks HTTP/1.1 on a loopback address:
 *   POST /v1/chat/completions   non-streaming and streaming (SSE)
 *   GET  /v1/models             the models the scenario names
 *   GET  /mock/stats            counters as JSON; POST /mock/reset zeroes them
 *   GET  /health                {"status":"ok"}
 *
 * Objects
 *   sw_mock_scenario  a parsed, validated scenario
 *   sw_mock           one server
 *
 * Ownership
 *   sw_mock_scenario_* results are freed with sw_mock_scenario_free, unless
 *   given to sw_mock_new, which takes ownership (the server frees it).
 *   sw_mock_new's result is freed with sw_mock_free, which stops the server
 *   first when it is still serving. Functions returning char * return
 *   malloc'd text the caller frees with sw_free; const char * results are
 *   owned by the object they came from.
 *
 * Errors
 *   Functions taking an sw_diags * add every problem found to it (scenario
 *   errors with file:line:col) and return -1 or NULL when any was an error.
 *   The diags may be NULL.
 *
 * Threading
 *   The server answers requests on threads of its own. A server is
 *   controlled from one thread at a time, except sw_mock_request_stop, which
 *   may be called from any thread or a signal handler, and
 *   sw_mock_stats_json, which may be called from any thread while serving.
 */
#ifndef SLIPWAY_MOCK_H
#define SLIPWAY_MOCK_H

#include <stddef.h>

#include "slipway.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_mock_scenario sw_mock_scenario;
typedef struct sw_mock sw_mock;

/* ---- scenarios ---- */

/* Parse and validate a scenario file. */
SW_API sw_mock_scenario *sw_mock_scenario_load(const char *path, sw_diags *diags);
/* The same from text; filename is used in positions. */
SW_API sw_mock_scenario *sw_mock_scenario_parse(const char *text, size_t len, const char *filename,
                                                sw_diags *diags);
/* The built-in scenario: any request gets a short text answer, no latency. */
SW_API sw_mock_scenario *sw_mock_scenario_default(void);
SW_API void sw_mock_scenario_free(sw_mock_scenario *scenario);
/* The number of rules (the fallback of `defaults` not counted). */
SW_API size_t sw_mock_scenario_rule_count(const sw_mock_scenario *scenario);

/* ---- the server ---- */

/* A server for scenario, which it takes (NULL: the built-in scenario). Nothing
   listens until sw_mock_listen. */
SW_API sw_mock *sw_mock_new(sw_mock_scenario *scenario);
/* Largest request body accepted, in bytes (default 4 MiB; larger gets 413).
   Before sw_mock_listen. */
SW_API void sw_mock_set_max_body(sw_mock *mock, size_t bytes);
/* Threads answering requests (default 1: one epoll loop holds thousands of
   connections; delays never block it). Before sw_mock_listen. */
SW_API void sw_mock_set_threads(sw_mock *mock, unsigned threads);
/* Bind "HOST:PORT" ("[::1]:PORT" for IPv6; NULL: "127.0.0.1:0") and start
   serving in the background. Port 0 picks a free port; see sw_mock_port. */
SW_API int sw_mock_listen(sw_mock *mock, const char *address, sw_diags *diags);
/* The bound port, or 0 before sw_mock_listen. */
SW_API int sw_mock_port(const sw_mock *mock);
/* "http://HOST:PORT" (the base URL without /v1), or NULL before sw_mock_listen. */
SW_API const char *sw_mock_url(const sw_mock *mock);
/* Write the bound port and a newline to path atomically (temporary file,
   fsync, rename), so a script that sees the file can connect at once. */
SW_API int sw_mock_write_port_file(const sw_mock *mock, const char *path, sw_diags *diags);
/* Block until sw_mock_request_stop, then stop serving. Returns 0. */
SW_API int sw_mock_wait(sw_mock *mock);
/* Ask sw_mock_wait to return. Async-signal-safe. */
SW_API void sw_mock_request_stop(sw_mock *mock);
/* Stop serving now: requests still waiting for their latency are answered at
   once, stalled ones are closed. Idempotent; not from a signal handler. */
SW_API void sw_mock_stop(sw_mock *mock);
/* The counters as JSON: requests, by_rule, by_status, injected, tokens, in_flight. */
SW_API char *sw_mock_stats_json(sw_mock *mock);
SW_API void sw_mock_free(sw_mock *mock);

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_MOCK_H */
