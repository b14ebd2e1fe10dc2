/*
 * explain.h - why a Lua condition came out false, told from its own text.
 *
 * As pytest rewrites a failed assert, a gate that returns false without a
 * reason gets one made from its expression and the values of its operands:
 *
 *   golden.pass_rate >= vars.min_pass_rate      golden.pass_rate (0.5) >= vars.min_pass_rate (0.95)
 *   a.ok and b.rate < 0.1                       b.rate (0.3) < 0.1        (the clause that failed)
 *   a.ok or b.ok                                a.ok (false) or b.ok (nil)
 *   not a.flag                                  not a.flag (true)
 *   within(c.cost, 0.1)                         within(c.cost (0.52), 0.1) returned false
 *
 * The expression is split at its top level only (strings, comments and
 * brackets are skipped), and each operand is evaluated on its own by the
 * caller, in the environment the condition ran in. Operands are re-evaluated,
 * so a condition with side effects may explain itself with other values;
 * gates are meant to be pure expressions.
 */
#ifndef SW_LUA_EXPLAIN_H
#define SW_LUA_EXPLAIN_H

#include <stddef.h>

/* Evaluate the Lua expression text[0..len). On success set *shown to the value
   as it should be printed (malloc'd) and return 1 when the value is truthy, 0
   when not; return -1 when it could not be evaluated. */
typedef int (*sw_explain_eval)(void *ud, const char *text, size_t len, char **shown);

/* Why expr (a Lua expression that came out false or nil) did, or NULL when the
   text cannot be taken apart (not an expression). Caller frees. */
char *sw_explain_false(const char *expr, sw_explain_eval eval, void *ud);

/* A value as explanations print it: 0.5, 3, 'text', true, nil, table. Values
   are those of the Lua state at idx. Caller frees. */
struct lua_State;
char *sw_explain_value(struct lua_State *L, int idx);

#endif
