/*
 * judge.h - llm-rubric: an LLM grades the answer against a rubric.
 *
 * The judge is a model called in any of the three protocols (judge_target:
 * Chat Completions, the Responses API or Anthropic Messages), with its own
 * pool of connections (see sched.h). It is asked for one JSON object
 * {"reason", "score" (0 to 1), "pass"}; an answer that is not such an
 * object, a score outside [0, 1], or a judge that cannot be reached is an
 * ERROR for the assertion, never a FAIL.
 *
 * Verdict: with "pass", the assertion passes when pass is true and, given
 * a threshold, score >= threshold (score defaults to 1 or 0 from pass).
 * With only "score", it passes when score >= threshold (0.5 without one).
 */
#ifndef EV_JUDGE_H
#define EV_JUDGE_H

#include "assertion.h"
#include "proto/proto.h"

/* The request body for grading subject s against a's rubric, in protocol proto's terms (new
   reference), or NULL and err. */
json_t *ev_judge_request(const char *model, sw_proto_id proto, int max_tokens, const ev_assert *a,
                         const ev_subject *s, sw_err *err);
/* Read the judge's answer in protocol proto (status and body) into r (negation not
   applied); tokens receive the judge's usage (0 when absent). */
void ev_judge_verdict(const ev_assert *a, sw_proto_id proto, long status, const char *body,
                      size_t len, ev_aresult *r, int64_t *tokens_in, int64_t *tokens_out);
/* SHA-256 (hex) of the judge's prompt templates, for the reports' provenance. */
const char *ev_judge_prompt_hash(void);

#endif
