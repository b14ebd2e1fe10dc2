/*
 * regex.h - POSIX extended regexes from outside input (router rules, mock
 * scenarios, eval assertions, tool schemas), compiled only when glibc's regcomp
 * cannot be made to take unbounded memory by them.
 */
#ifndef SW_BASE_REGEX_H
#define SW_BASE_REGEX_H

#include <regex.h>

#include "base/util.h"

#define SW_REGEX_MAX_LEN    1024 /* bytes of pattern */
#define SW_REGEX_MAX_COPIES 1024 /* copies of a subexpression repetitions may make */

/* Why a pattern is refused, or NULL when it may be given to regcomp. glibc compiles
   a repetition by copying the repeated tree, so stacked operators ("a+++...") cost
   memory exponential in their number and bounded counts multiply ("(a{100}){100}").
   Refused: patterns longer than SW_REGEX_MAX_LEN, an operator right after another,
   and operators whose copies could multiply past SW_REGEX_MAX_COPIES (counting 2 for
   *, + and ?, and the larger bound for {n,m}, however the operators nest). */
const char *sw_regex_risky(const char *pattern);

/* regcomp behind sw_regex_risky: 0, or -1 with err set to "refused: <why>" or to
   regerror's message (re is then not to be freed). */
int sw_regex_compile(regex_t *re, const char *pattern, int cflags, sw_err *err);

#endif
