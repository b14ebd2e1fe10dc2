/* match.c - choosing the rule that answers a request. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

void sw_mock_caps_free(char **caps)
{
    if (!caps)
        return;
    for (size_t i = 0; i < SW_MOCK_MAX_GROUPS; i++)
        free(caps[i]);
    free(caps);
}

int sw_mock_text_matches(const sw_mock_textmatch *m, const char *text, char **caps)
{
    if (m->kind == SW_MOCK_TEXT_ANY)
        return 1;
    if (!text)
        return 0;
    if (m->kind == SW_MOCK_TEXT_SUBSTR)
        return strstr(text, m->text) != NULL;
    regmatch_t pm[SW_MOCK_MAX_GROUPS];
    size_t n = m->groups + 1;
    if (regexec(&m->re, text, n, pm, 0) != 0)
        return 0;
    for (size_t i = 0; caps && i < n; i++) {
        free(caps[i]);
        caps[i] = pm[i].rm_so < 0
                      ? sw_xstrdup("")
                      : sw_xstrndup(text + pm[i].rm_so, (size_t)(pm[i].rm_eo - pm[i].rm_so));
    }
    return 1;
}

static int fits(const sw_mock_match *m, const sw_mock_req *q, char **ucaps, char **scaps)
{
    if (m->model && fnmatch(m->model, q->model, 0) != 0)
        return 0;
    if (m->tools >= 0 && m->tools != q->has_tools)
        return 0;
    if (m->judge >= 0 && m->judge != q->judge)
        return 0;
    if (m->tool_result == 0 && q->last_is_tool)
        return 0;
    if (m->tool_result == 1) {
        if (!q->last_is_tool)
            return 0;
        if (m->tool_name && (!q->tool_name || strcmp(m->tool_name, q->tool_name) != 0))
            return 0;
    }
    return sw_mock_text_matches(&m->system, q->system, scaps) &&
           sw_mock_text_matches(&m->user, q->user, ucaps);
}

const sw_mock_rule *sw_mock_select(const sw_mock_scenario *sc, const sw_mock_req *req,
                                   char ***user_caps, char ***system_caps)
{
    for (size_t i = 0; i < sc->n_rules; i++) {
        const sw_mock_rule *r = &sc->rules[i];
        char **uc = r->match.user.kind == SW_MOCK_TEXT_REGEX
                        ? sw_xcalloc(SW_MOCK_MAX_GROUPS, sizeof(char *))
                        : NULL;
        char **scp = r->match.system.kind == SW_MOCK_TEXT_REGEX
                         ? sw_xcalloc(SW_MOCK_MAX_GROUPS, sizeof(char *))
                         : NULL;
        if (fits(&r->match, req, uc, scp)) {
            *user_caps = uc;
            *system_caps = scp;
            return r;
        }
        sw_mock_caps_free(uc);
        sw_mock_caps_free(scp);
    }
    *user_caps = *system_caps = NULL;
    return &sc->fallback;
}

void sw_mock_scales(const sw_mock_scenario *sc, const sw_mock_req *req, double *latency_scale,
                    double *usage_scale)
{
    *latency_scale = *usage_scale = 1;
    for (size_t i = 0; i < sc->n_modifiers; i++) {
        const sw_mock_modifier *mod = &sc->modifiers[i];
        if (fits(&mod->match, req, NULL, NULL)) {
            *latency_scale *= mod->latency_scale;
            *usage_scale *= mod->usage_scale;
        }
    }
}
