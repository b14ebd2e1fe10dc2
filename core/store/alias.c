/* alias.c - telling pinned model versions from floating aliases. */
#include "alias.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* Family (or alias) -> a pinned snapshot of it, as published by the providers. The
   suggestion is a starting point: the team still picks the snapshot it tested. */
static const struct {
    const char *family;
    const char *pinned;
} pins[] = {
    {"gpt-4o", "gpt-4o-2024-08-06"},
    {"chatgpt-4o", "gpt-4o-2024-08-06"},
    {"gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
    {"gpt-4-turbo", "gpt-4-turbo-2024-04-09"},
    {"gpt-4", "gpt-4-0613"},
    {"gpt-3.5-turbo", "gpt-3.5-turbo-0125"},
    {"gpt-4.1", "gpt-4.1-2025-04-14"},
    {"gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"},
    {"gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"},
    {"o1", "o1-2024-12-17"},
    {"o1-mini", "o1-mini-2024-09-12"},
    {"o3", "o3-2025-04-16"},
    {"o3-mini", "o3-mini-2025-01-31"},
    {"o4-mini", "o4-mini-2025-04-16"},
    {"claude-3-haiku", "claude-3-haiku-20240307"},
    {"claude-3-sonnet", "claude-3-sonnet-20240229"},
    {"claude-3-opus", "claude-3-opus-20240229"},
    {"claude-3-5-haiku", "claude-3-5-haiku-20241022"},
    {"claude-3-5-sonnet", "claude-3-5-sonnet-20241022"},
    {"claude-3-7-sonnet", "claude-3-7-sonnet-20250219"},
    {"claude-sonnet-4", "claude-sonnet-4-20250514"},
    {"claude-sonnet-4-0", "claude-sonnet-4-20250514"},
    {"claude-opus-4", "claude-opus-4-20250514"},
    {"claude-opus-4-0", "claude-opus-4-20250514"},
    {"gemini-1.5-pro", "gemini-1.5-pro-002"},
    {"gemini-1.5-flash", "gemini-1.5-flash-002"},
    {"gemini-2.0-flash", "gemini-2.0-flash-001"},
    {"mistral-large", "mistral-large-2411"},
};

/* Vendors whose unsuffixed names are moving aliases. */
static const char *const vendor_prefixes[] = {"gpt-",     "chatgpt-",   "claude-", "gemini-",
                                              "mistral-", "codestral-", "command-"};

const char *sw_model_pinned_for(const char *family)
{
    char base[128];
    size_t n = strlen(family);
    /* "x-latest" and "x:latest" name the same family as "x". */
    if (n > 7 && (strcmp(family + n - 7, "-latest") == 0 || strcmp(family + n - 7, ":latest") == 0))
        n -= 7;
    if (n >= sizeof base)
        return NULL;
    memcpy(base, family, n);
    base[n] = '\0';
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (strcmp(pins[i].family, base) == 0)
            return pins[i].pinned;
    return NULL;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* A snapshot suffix: -YYYY-MM-DD (OpenAI), -YYYYMMDD (Anthropic), -MMDD (gpt-4-0613),
   -YYMM (mistral-large-2411), -NNN (gemini-1.5-pro-002). */
static int has_version_suffix(const char *m)
{
    size_t n = strlen(m);
    if (n > 11 && m[n - 11] == '-' && all_digits(m + n - 10, 4) && m[n - 6] == '-' &&
        all_digits(m + n - 5, 2) && m[n - 3] == '-' && all_digits(m + n - 2, 2))
        return 1;
    const char *dash = strrchr(m, '-');
    if (!dash)
        return 0;
    size_t k = strlen(dash + 1);
    return (k == 8 || k == 4 || k == 3) && all_digits(dash + 1, k);
}

static int is_o_series(const char *m)
{
    /* o1, o3-mini, o4-mini: 'o' and a digit. */
    return m[0] == 'o' && isdigit((unsigned char)m[1]);
}

void sw_model_alias_check(const char *provider, const char *model, const char *const *deny,
                          size_t n_deny, sw_alias_verdict *out)
{
    memset(out, 0, sizeof *out);
    const char *pinned = sw_model_pinned_for(model);
    if (pinned)
        snprintf(out->suggestion, sizeof out->suggestion, "%s", pinned);

    char full[512];
    snprintf(full, sizeof full, "%s/%s", provider ? provider : "", model);
    for (size_t i = 0; i < n_deny; i++) {
        const char *subject = strchr(deny[i], '/') ? full : model;
        if (fnmatch(deny[i], subject, 0) == 0) {
            out->floating = 1;
            snprintf(out->reason, sizeof out->reason, "model '%s' matches the deny pattern '%s'",
                     model, deny[i]);
            return;
        }
    }
    size_t n = strlen(model);
    if (strcmp(model, "latest") == 0 || (n > 7 && (strcmp(model + n - 7, "-latest") == 0 ||
                                                   strcmp(model + n - 7, ":latest") == 0))) {
        out->floating = 1;
        snprintf(out->reason, sizeof out->reason,
                 "model '%s' is a floating alias: '-latest' moves to new versions without notice",
                 model);
        return;
    }
    if (pinned) {
        out->floating = 1;
        snprintf(out->reason, sizeof out->reason,
                 "model '%s' is a bare family name, an alias the provider moves to new snapshots",
                 model);
        return;
    }
    if (has_version_suffix(model))
        return;
    int vendor = is_o_series(model);
    for (size_t i = 0; !vendor && i < sizeof vendor_prefixes / sizeof vendor_prefixes[0]; i++)
        vendor = strncmp(model, vendor_prefixes[i], strlen(vendor_prefixes[i])) == 0;
    if (vendor) {
        out->floating = 1;
        snprintf(out->reason, sizeof out->reason,
                 "model '%s' has no date or version suffix: it looks like a family alias", model);
    }
}
