/*
 * pg_impl.h - the PostgreSQL backend's statements, shared by its modules (pg.c: the
 * schema and the release store; pg_runs.c: runs; pg_routes.c: the routers' shared route table,
 * used by the router's shared.c and by `slipway route --store`). Not part of the public API.
 */
#ifndef SW_STORE_PG_IMPL_H
#define SW_STORE_PG_IMPL_H

#include <libpq-fe.h>
#include <stdint.h>

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
/* The store's connection (a database store; NULL for a folder), opened again when it was
   lost outside a transaction. Owned by the store. */
PGconn *sw_pg_conn(sw_store *s);
/* libpq's message for res (else the connection's) as one line in err; returns -1. */
int sw_pg_conn_error(sw_err *err, PGconn *c, const PGresult *res);

/* ---- the routers' shared route table (slipway.routes, schema version 3) ----
   Every change, whoever makes it (a replica's admin API, `slipway route --store`), is
   sw_pg_route_cas: one transaction that locks the agent's row, compares its version
   with the version the change is based on, writes the next row and notifies the
   replicas' listeners on SW_PG_ROUTES_CHANNEL with the agent's name. */
#define SW_PG_ROUTES_CHANNEL "slipway_routes"

/* A route row: the route's JSON form, its version, the session policy of the change. */
typedef struct sw_pg_route_row {
    char *agent;
    int64_t version;
    char *route;  /* JSON text */
    char *policy; /* drain, migrate or terminate */
} sw_pg_route_row;

/* Every row (agent NULL; by agent) or one agent's, appended to *rows (*n used of *cap).
   0, or -1 with err. */
int sw_pg_routes_read(PGconn *c, const char *agent, sw_pg_route_row **rows, size_t *n, size_t *cap,
                      sw_err *err);
void sw_pg_route_rows_free(sw_pg_route_row *rows, size_t n);
/* Write agent's route as version base + 1: 0 when committed; 1 when the stored version is
   not base (*current set, nothing written); 2 when wait_replicas and a replica has not
   caught up since the server started (err names it, nothing written); -1 with err when the
   database failed (nothing written, or a COMMIT whose outcome is unknown). A connection found
   broken at BEGIN is opened again once. An agent without a row is at version 0. */
int sw_pg_route_cas(PGconn *c, const char *agent, int64_t base, const char *route,
                    const char *policy, int wait_replicas, int64_t *current, sw_err *err);

/* ---- the router replicas (slipway.replicas, schema version 6) ----
   A replica keeps the pins it made while the database was away and writes them when it is
   back. Until then another replica given one of those sessions would assign it afresh, under
   whatever route is current by then. So each replica's listener registers (again) once it
   has written what it kept, and after the server (re)starts a route change with
   wait_replicas waits for every replica registered before the start to register again, for
   at most sw_pg_catch_up_s(): one that has not by then counts as gone (its row is deleted at
   the next registration). A replica cut off from a server that stays up is not waited for. */
#define SW_PG_CATCH_UP_S 15
/* $SLIPWAY_CATCH_UP_S when a whole number of seconds (1 to 86399), else SW_PG_CATCH_UP_S. */
int sw_pg_catch_up_s(void);

/* Register replica id as caught up (the server's clock). 0, or -1 with err. */
int sw_pg_replica_register(PGconn *c, const char *id, sw_err *err);
/* Send (not wait for) the deletion of id's row, at a clean stop. 0, or -1. */
int sw_pg_replica_forget_send(PGconn *c, const char *id);

#endif
