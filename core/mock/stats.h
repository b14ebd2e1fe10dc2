/*
 * stats.h - the mock server's counters (GET /mock/stats).
 *
 * Counted: every request but those under /mock/ ("requests"), the model
 * requests of each protocol and the streams among them, the requests each rule answered (which is
 * also the counter that seeds each request's generator), the statuses sent,
 * the faults injected, the tokens of the answers, the requests open now.
 * One mutex: the counters are touched once or twice per request.
 */
#ifndef SW_MOCK_STATS_H
#define SW_MOCK_STATS_H

#include <stdint.h>

#include "scenario.h"

typedef struct sw_mock_stats sw_mock_stats;

sw_mock_stats *sw_mock_stats_new(const sw_mock_scenario *sc);
void sw_mock_stats_free(sw_mock_stats *s);

/* A request; protocol: "chat", "responses" or "messages" for a model request, else NULL. */
void sw_mock_stats_request(sw_mock_stats *s, const char *protocol);
void sw_mock_stats_stream(sw_mock_stats *s);
/* Count a request answered by rule i; returns how many it answered before. */
uint64_t sw_mock_stats_rule(sw_mock_stats *s, size_t i);
/* A number for the next completion id (1, 2, ...). */
uint64_t sw_mock_stats_next_id(sw_mock_stats *s);
void sw_mock_stats_status(sw_mock_stats *s, unsigned status);
void sw_mock_stats_injected(sw_mock_stats *s, sw_mock_fault_kind kind);
void sw_mock_stats_tokens(sw_mock_stats *s, int64_t prompt, int64_t completion);
void sw_mock_stats_open(sw_mock_stats *s, int delta);
/* Zero every counter (and so restart every rule's sequence of draws). */
void sw_mock_stats_reset(sw_mock_stats *s);
/* Caller frees. */
char *sw_mock_stats_to_json(sw_mock_stats *s);

#endif
