/*
 * pg_impl.h - the PostgreSQL backend's statements, shared by its modules (pg.c: the
 * schema and the release store; pg_runs.c: runs; the router's shared.c). Not part of the public
 * API.
 */
#ifndef SW_STORE_PG_IMPL_H
#define SW_STORE_PG_IMPL_H

#include <libpq-fe.h>

#include "store_impl.h"

/* Run sql with text parameters (binary where lengths[i] is nonzero); *out gets the
   result when wanted (on failure too, for its SQLSTATE). 0, or -1 with err. A lost
   connection is opened again before a statement outside a transaction. */
int sw_pg_run(sw_store *s, const char *sql, int n, const char *const *values, const int *lengths,
              int binary_result, PGresult **out, sw_err *err);
int sw_pg_exec(sw_store *s, const char *sql, sw_err *err);
/* libpq's message (several lines, tabs) as one line of at most size - 1 bytes. */
void sw_pg_one_line(const char *msg, char *out, size_t size);
/* COMMIT (rolled back when it fails); ROLLBACK. */
int sw_pg_commit(sw_store *s, sw_err *err);
void sw_pg_rollback(sw_store *s);

#endif
