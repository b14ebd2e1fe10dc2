/*
 * assertion.h - assertions: what makes a case pass.
 *
 * Names and meanings follow promptfoo's, so tests carry over: equals,
 * contains, icontains, contains-any, contains-all, icontains-any,
 * icontains-all, starts-with, regex, is-json, contains-json, levenshtein,
 * finish-reason, tool-call, tool-sequence, tool-call-count, latency, cost,
 * llm-rubric, lua. tool-called and tool-not-called are accepted for
 * tool-call and not-tool-call, and the tool kinds take `name` and `args`
 * beside the type as well as in the value.
 * A `not-` prefix negates where negation means something (not for latency
 * and cost, whose threshold already says which way). Every assertion has a
 * weight (default 1; 0 records it without letting it count) and, for the
 * kinds that grade, a threshold.
 *
 * Outcomes: PASS and FAIL come with a score in [0, 1]; negation swaps them
 * and turns the score s into 1 - s. ERROR (a broken assertion, a judge that
 * could not be reached or parsed) is never negated.
 *
 * A case's score is the weighted mean of its assertions' scores. It is
 * ERROR when any counted assertion is ERROR; otherwise, with a case
 * threshold it passes when score >= threshold, without one when no counted
 * assertion failed. A case without counted assertions passes with score 1.
 *
 * Ownership: ev_assert_parse fills an ev_assert the caller releases with
 * ev_assert_clear; results own their message (ev_aresult_clear).
 */
#ifndef EV_ASSERTION_H
#define EV_ASSERTION_H

#include "base/diag.h"
#include "common.h"

typedef struct ev_assert ev_assert;

/* What an assertion looks at. */
typedef struct ev_subject {
    const char *case_id;
    const json_t *vars;     /* object */
    const json_t *expected; /* may be NULL */
    const json_t *tags;     /* array, may be NULL */
    const char *input;      /* the last user message, may be NULL */
    const ev_output *out;
    int sample;
} ev_subject;

typedef struct ev_aresult {
    ev_outcome outcome;
    double score;
    char *message; /* why, for people; malloc'd */
} ev_aresult;

#define EV_K_NEGATABLE 0x1u  /* not- means something */
#define EV_K_THRESHOLD 0x2u  /* uses `threshold` */
#define EV_K_VALUE     0x4u  /* needs a value (or the case's `expected`) */
#define EV_K_JUDGE     0x8u  /* evaluated by the judge, asynchronously */
#define EV_K_NEED_THR  0x10u /* needs a threshold */
#define EV_K_EXPECTED  0x20u /* the value defaults to the case's `expected` */
#define EV_K_TOOL_KEYS 0x40u /* takes `name` and `args` beside the type */

typedef struct ev_kind {
    const char *name;
    unsigned flags;
    /* Check and compile the value (a regex, a schema, Lua). May be NULL. */
    int (*prepare)(ev_assert *a, sw_err *err);
    /* Grade an output; NULL for judge kinds. Fills outcome, score, message
       before negation. */
    void (*eval)(const ev_assert *a, const ev_subject *s, ev_aresult *r);
    void (*release)(ev_assert *a); /* frees priv; may be NULL */
} ev_kind;

struct ev_assert {
    const ev_kind *kind;
    char *type; /* as written: "not-contains" */
    int negate;
    double weight;
    int has_threshold;
    double threshold;
    json_t *value;  /* may be NULL */
    json_t *config; /* object, may be NULL */
    char *metric;   /* a name to group results by; may be NULL */
    void *priv;     /* what prepare compiled */
    int line;       /* where it was written (0: unknown), for messages */
    /* Where its value's text was written, during ev_assert_parse only (the file
       is borrowed): a kind that keeps it for messages copies it in prepare. */
    sw_origin value_origin;
};

/* The kind named name (without not-), or NULL. */
const ev_kind *ev_kind_find(const char *name);
/* Every kind's name, for suggestions; NULL-terminated. */
const char *const *ev_kind_names(void);

/*
 * Build an assertion from its JSON form {type, value, weight, threshold,
 * config, metric}: check it and compile it. A string value gets the case's
 * {{var}} placeholders replaced (vars may be NULL). For the kinds that
 * compare the answer with something, an absent value is the case's
 * `expected` (which may be NULL). value_at is where the value's text was
 * written (NULL: unknown), for positions inside it (Lua's). -1 with err
 * naming the problem (the caller adds the position).
 */
int ev_assert_parse(const json_t *spec, const json_t *vars, const json_t *expected,
                    const sw_origin *value_at, ev_assert *a, sw_err *err);
void ev_assert_clear(ev_assert *a);

/* Grade a non-judge assertion, negation applied. */
void ev_assert_eval(const ev_assert *a, const ev_subject *s, ev_aresult *r);
/* Apply negation to a result graded without it (used for judge verdicts). */
void ev_assert_negate(const ev_assert *a, ev_aresult *r);
void ev_aresult_clear(ev_aresult *r);

/* A case's outcome and score from its assertions' results (see above). */
ev_outcome ev_case_outcome(const ev_assert *as, const ev_aresult *rs, size_t n, int has_threshold,
                           double threshold, double *score);

/* Shared helpers for the kinds. */
void ev_result_set(ev_aresult *r, ev_outcome o, double score, const char *fmt, ...) SW_PRINTF(4, 5);
/* The value as text: a string as is, anything else as compact JSON. Malloc'd. */
char *ev_value_text(const json_t *v);
/* Whether s holds a {{...}} placeholder ("{{" alone is literal text). */
int ev_has_placeholder(const char *s);
/* 1 with the name of the first {{name}} in text that vars has no value for. */
int ev_missing_var(const char *text, const json_t *vars, char *name, size_t size);
/* A short, one-line excerpt of text for messages. Malloc'd. */
char *ev_excerpt(const char *text, size_t max);

/* A JavaScript regular expression as a POSIX extended one (see assert_text.c);
   sets *icase for a leading (?i). NULL with err for what ERE cannot express. */
char *ev_js_regex(const char *pattern, int *icase, sw_err *err);

/* The kinds, each in its file. */
extern const ev_kind ev_kind_equals, ev_kind_contains, ev_kind_icontains, ev_kind_contains_any,
    ev_kind_contains_all, ev_kind_icontains_any, ev_kind_icontains_all, ev_kind_starts_with,
    ev_kind_regex, ev_kind_levenshtein;                      /* assert_text.c */
extern const ev_kind ev_kind_is_json, ev_kind_contains_json; /* assert_json.c */
extern const ev_kind ev_kind_finish_reason, ev_kind_tool_call, ev_kind_tool_sequence,
    ev_kind_tool_call_count;                        /* assert_tools.c */
extern const ev_kind ev_kind_latency, ev_kind_cost; /* assert_metric.c */
extern const ev_kind ev_kind_lua;                   /* assert_lua.c */
extern const ev_kind ev_kind_llm_rubric;            /* judge.c */

#endif
