/* stats.c - counters behind one mutex, and their JSON. */
#include "stats.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUSES 600

struct sw_mock_stats {
    pthread_mutex_t mu;
    const sw_mock_scenario *sc;
    uint64_t requests, chat, responses, messages, streams, ids;
    uint64_t *by_rule; /* n_rules + 1: the fallback last */
    uint64_t by_status[STATUSES];
    uint64_t injected[SW_MOCK_FAULT_KINDS];
    uint64_t prompt_tokens, completion_tokens;
    int64_t open;
};

sw_mock_stats *sw_mock_stats_new(const sw_mock_scenario *sc)
{
    sw_mock_stats *s = sw_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->sc = sc;
    s->by_rule = sw_xcalloc(sc->n_rules + 1, sizeof *s->by_rule);
    return s;
}

void sw_mock_stats_free(sw_mock_stats *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->by_rule);
    free(s);
}

void sw_mock_stats_request(sw_mock_stats *s, const char *protocol)
{
    pthread_mutex_lock(&s->mu);
    s->requests++;
    if (protocol) {
        s->chat += strcmp(protocol, "chat") == 0;
        s->responses += strcmp(protocol, "responses") == 0;
        s->messages += strcmp(protocol, "messages") == 0;
    }
    pthread_mutex_unlock(&s->mu);
}

void sw_mock_stats_stream(sw_mock_stats *s)
{
    pthread_mutex_lock(&s->mu);
    s->streams++;
    pthread_mutex_unlock(&s->mu);
}

uint64_t sw_mock_stats_rule(sw_mock_stats *s, size_t i)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->by_rule[i]++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t sw_mock_stats_next_id(sw_mock_stats *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = ++s->ids;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void sw_mock_stats_status(sw_mock_stats *s, unsigned status)
{
    pthread_mutex_lock(&s->mu);
    if (status < STATUSES)
        s->by_status[status]++;
    pthread_mutex_unlock(&s->mu);
}

void sw_mock_stats_injected(sw_mock_stats *s, sw_mock_fault_kind kind)
{
    pthread_mutex_lock(&s->mu);
    s->injected[kind]++;
    pthread_mutex_unlock(&s->mu);
}

void sw_mock_stats_tokens(sw_mock_stats *s, int64_t prompt, int64_t completion)
{
    pthread_mutex_lock(&s->mu);
    s->prompt_tokens += (uint64_t)prompt;
    s->completion_tokens += (uint64_t)completion;
    pthread_mutex_unlock(&s->mu);
}

void sw_mock_stats_open(sw_mock_stats *s, int delta)
{
    pthread_mutex_lock(&s->mu);
    s->open += delta;
    pthread_mutex_unlock(&s->mu);
}

void sw_mock_stats_reset(sw_mock_stats *s)
{
    pthread_mutex_lock(&s->mu);
    s->requests = s->chat = s->responses = s->messages = s->streams = s->ids = 0;
    memset(s->by_rule, 0, (s->sc->n_rules + 1) * sizeof *s->by_rule);
    memset(s->by_status, 0, sizeof s->by_status);
    memset(s->injected, 0, sizeof s->injected);
    s->prompt_tokens = s->completion_tokens = 0;
    pthread_mutex_unlock(&s->mu);
}

char *sw_mock_stats_to_json(sw_mock_stats *s)
{
    json_t *rules = json_object(), *status = json_object(), *injected = json_object();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i <= s->sc->n_rules; i++) {
        const sw_mock_rule *r = sw_mock_scenario_rule(s->sc, i);
        json_object_set_new(rules, r->name, json_integer((json_int_t)s->by_rule[i]));
    }
    for (unsigned i = 0; i < STATUSES; i++)
        if (s->by_status[i]) {
            char key[8];
            snprintf(key, sizeof key, "%u", i);
            json_object_set_new(status, key, json_integer((json_int_t)s->by_status[i]));
        }
    for (int k = 0; k < SW_MOCK_FAULT_KINDS; k++)
        json_object_set_new(injected, sw_mock_fault_name((sw_mock_fault_kind)k),
                            json_integer((json_int_t)s->injected[k]));
    json_t *root =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:{s:I, s:I}, s:I}", "requests",
                  (json_int_t)s->requests, "chat_completions", (json_int_t)s->chat, "responses",
                  (json_int_t)s->responses, "messages", (json_int_t)s->messages, "streams",
                  (json_int_t)s->streams, "by_rule", rules, "by_status", status, "injected",
                  injected, "tokens", "prompt", (json_int_t)s->prompt_tokens, "completion",
                  (json_int_t)s->completion_tokens, "in_flight", (json_int_t)s->open);
    pthread_mutex_unlock(&s->mu);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
