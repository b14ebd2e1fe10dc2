/*
 * alias.h - floating model aliases: names whose meaning changes under you.
 *
 * A release must pin the exact model version, or a provider's silent update
 * becomes an untested deployment. A name is floating when
 *   - it matches a deny pattern (fnmatch(3) globs; a pattern with a '/' is
 *     matched against "provider/name", any other against the name);
 *   - it ends in "-latest" or ":latest" (or is "latest");
 *   - it is a bare family name: listed in the built-in table (gpt-4o,
 *     claude-3-5-sonnet, ...), or from a known vendor family (gpt-, o1-,
 *     claude-, gemini-, mistral-, ...) without a date or version suffix.
 * The table also gives the pinned name to suggest when one is known.
 */
#ifndef SW_STORE_ALIAS_H
#define SW_STORE_ALIAS_H

#include <stddef.h>

typedef struct sw_alias_verdict {
    int floating;         /* 1: refuse unless explicitly allowed */
    char reason[256];     /* why, when floating */
    char suggestion[128]; /* a pinned name to use instead, or "" */
} sw_alias_verdict;

void sw_model_alias_check(const char *provider, const char *model, const char *const *deny,
                          size_t n_deny, sw_alias_verdict *out);
/* The pinned name the built-in table gives for a family (or its -latest alias), or NULL. */
const char *sw_model_pinned_for(const char *family);

#endif
