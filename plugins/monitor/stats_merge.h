/*
 * stats_merge.h - one version's stats (an entry of the router's GET /admin/stats "versions")
 * over several routers, as if one router had served all their requests: what the monitor
 * judges when the candidate runs behind router replicas (docs/stages.md, "Sources").
 *
 *   counts          summed: requests, errors by class, tokens, cost, sessions, tool calls,
 *                   events, shadow counts;
 *   rates, means    recomputed from the summed counts (error_rate, cost_per_request, the
 *                   events' and shadow's rates), or weighted by sessions (cost_per_session,
 *                   tokens_per_session: exact while a session stays on one router);
 *   samples         latency_samples, ttft_samples, cost_per_session_samples and
 *                   tokens_per_session_samples merged into one of at most `cap` values, each
 *                   router contributing in proportion to its requests (sessions for the
 *                   per-session ones), so the merged sample stays a uniform sample of all;
 *   quantiles       latency_ms and ttft_ms: from the merged sample when there is one (else
 *                   the request-weighted mean of each router's), max the largest, mean
 *                   request-weighted. One router's entry is returned as it is (exact).
 */
#ifndef SW_MONITOR_STATS_MERGE_H
#define SW_MONITOR_STATS_MERGE_H

#include <jansson.h>
#include <stddef.h>

/* The merged entry (a new reference) of v[0..n), where NULL entries are routers that have
   not served the version; NULL when none has. */
json_t *sw_stats_merge(const json_t *const *v, size_t n, size_t cap);

#endif
