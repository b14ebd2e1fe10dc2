/* regex.c - regcomp for patterns from outside input. */
#include "base/regex.h"

#include <stdlib.h>
#include <string.h>

/* The end of the bracket expression starting at c ('['), or NULL when it does not
   end: its operators are literal ("[]x]", "[^]x]" included). */
static const char *bracket_end(const char *c)
{
    c++;
    if (*c == '^')
        c++;
    if (*c == ']')
        c++;
    while (*c && *c != ']')
        c++;
    return *c ? c : NULL;
}

/* Whether c ('{') starts a bound "{n}", "{n,}" or "{n,m}": then *n is its larger
   count and *end its '}'. Otherwise it is a literal '{', or something regcomp
   refuses itself. */
static int bound(const char *c, const char **end, unsigned long *n)
{
    char *e;
    unsigned long lo = strtoul(c + 1, &e, 10), hi = lo;
    if (*e == ',')
        hi = e[1] == '}' ? lo : strtoul(e + 1, &e, 10);
    if (e[0] == ',' && e[1] == '}')
        e++;
    if (*e != '}')
        return 0;
    *end = e;
    *n = hi > lo ? hi : lo;
    return 1;
}

const char *sw_regex_risky(const char *p)
{
    if (strlen(p) > SW_REGEX_MAX_LEN)
        return "longer than 1024 bytes";
    int after_op = 0;
    unsigned long copies = 1;
    for (const char *c = p; *c; c++) {
        if (*c == '\\') {
            if (c[1])
                c++;
            after_op = 0;
        } else if (*c == '[') {
            if (!(c = bracket_end(c)))
                return NULL; /* regcomp says what is wrong */
            after_op = 0;
        } else if (*c == '*' || *c == '+' || *c == '?' || *c == '{') {
            unsigned long n = 2;
            if (*c == '{' && !bound(c, &c, &n)) {
                after_op = 0;
                continue;
            }
            if (after_op)
                return "a repetition operator right after another";
            after_op = 1;
            if (n > SW_REGEX_MAX_COPIES || (copies *= n ? n : 1) > SW_REGEX_MAX_COPIES)
                return "its repetitions could copy the expression more than 1024 times";
        } else {
            after_op = 0;
        }
    }
    return NULL;
}

int sw_regex_compile(regex_t *re, const char *pattern, int cflags, sw_err *err)
{
    const char *risky = sw_regex_risky(pattern);
    if (risky)
        return sw_err_set(err, "refused: %s", risky);
    int rc = regcomp(re, pattern, cflags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        return sw_err_set(err, "%s", msg);
    }
    return 0;
}
