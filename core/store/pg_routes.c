/* pg_routes.c - the routers' shared route table (slipway.routes): its reads and its one
   change transaction, for the replicas (router/shared.c) and `slipway route --store`
   alike (pg_impl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_impl.h"

int sw_pg_conn_error(sw_err *err, PGconn *c, const PGresult *res)
{
    char line[400];
    const char *msg = res ? PQresultErrorMessage(res) : "";
    sw_pg_one_line(*msg ? msg : PQerrorMessage(c), line, sizeof line);
    return sw_err_set(err, "%s", line);
}

static int ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int sw_pg_routes_read(PGconn *c, const char *agent, sw_pg_route_row **rows, size_t *n, size_t *cap,
                      sw_err *err)
{
    const char *p[] = {agent};
    PGresult *r = PQexecParams(c,
                               agent ? "SELECT agent, version, route, policy FROM slipway.routes "
                                       "WHERE agent = $1"
                                     : "SELECT agent, version, route, policy FROM slipway.routes "
                                       "ORDER BY agent",
                               agent ? 1 : 0, NULL, agent ? p : NULL, NULL, NULL, 0);
    if (!ok(r)) {
        sw_pg_conn_error(err, c, r);
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *rows = sw_xrealloc(*rows, *cap * sizeof **rows);
        }
        sw_pg_route_row *row = &(*rows)[(*n)++];
        row->agent = sw_xstrdup(PQgetvalue(r, i, 0));
        row->version = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        row->route = sw_xstrdup(PQgetvalue(r, i, 2));
        row->policy = sw_xstrdup(PQgetvalue(r, i, 3));
    }
    PQclear(r);
    return 0;
}

void sw_pg_route_rows_free(sw_pg_route_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].agent);
        free(rows[i].route);
        free(rows[i].policy);
    }
    free(rows);
}

/* Rows of replicas registered before the server's start that have not registered again
   ($1: the wait after a start, as an interval) ... */
#define BEHIND "registered_at < pg_postmaster_start_time()"
/* ... within the wait after the start; past it, those replicas count as gone. */
#define WITHIN "clock_timestamp() < pg_postmaster_start_time() + $1::interval"

int sw_pg_catch_up_s(void)
{
    const char *env = getenv("SLIPWAY_CATCH_UP_S");
    long v = env && *env ? strtol(env, NULL, 10) : SW_PG_CATCH_UP_S;
    return v > 0 && v < 86400 ? (int)v : SW_PG_CATCH_UP_S;
}

static void catch_up_interval(char *out, size_t size)
{
    snprintf(out, size, "%d seconds", sw_pg_catch_up_s());
}

int sw_pg_replica_register(PGconn *c, const char *id, sw_err *err)
{
    const char *p[] = {id};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO slipway.replicas (id, registered_at) "
                               "VALUES ($1, clock_timestamp()) ON CONFLICT (id) DO UPDATE SET "
                               "registered_at = EXCLUDED.registered_at",
                               1, NULL, p, NULL, NULL, 0);
    int good = ok(r);
    PQclear(r);
    if (good) {
        /* Those that did not come back in time will not hold up a later restart either. */
        char wait[32];
        catch_up_interval(wait, sizeof wait);
        const char *pw[] = {wait};
        r = PQexecParams(c, "DELETE FROM slipway.replicas WHERE " BEHIND " AND NOT " WITHIN, 1,
                         NULL, pw, NULL, NULL, 0);
        good = ok(r);
        PQclear(r);
    }
    return good ? 0 : sw_pg_conn_error(err, c, NULL);
}

int sw_pg_replica_forget_send(PGconn *c, const char *id)
{
    const char *p[] = {id};
    return PQsendQueryParams(c, "DELETE FROM slipway.replicas WHERE id = $1", 1, NULL, p, NULL,
                             NULL, 0)
               ? 0
               : -1;
}

/* 1 with err naming the first replica the change must wait for, 0 when none, -1. */
static int replica_behind(PGconn *c, sw_err *err)
{
    char wait[32];
    catch_up_interval(wait, sizeof wait);
    const char *p[] = {wait};
    PGresult *r = PQexecParams(c,
                               "SELECT id, (extract(epoch FROM clock_timestamp() - "
                               "pg_postmaster_start_time()) * 1000)::bigint FROM slipway.replicas "
                               "WHERE " BEHIND " AND " WITHIN " ORDER BY registered_at LIMIT 1",
                               1, NULL, p, NULL, NULL, 0);
    if (!ok(r)) {
        sw_pg_conn_error(err, c, r);
        PQclear(r);
        return -1;
    }
    int behind = PQntuples(r) == 1;
    if (behind)
        sw_err_set(err,
                   "the state database started %s ms ago and replica '%s' has not yet written "
                   "the pins it kept while the database was away (waited for at most %s after "
                   "a start)",
                   PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), wait);
    PQclear(r);
    return behind;
}

int sw_pg_route_cas(PGconn *c, const char *agent, int64_t base, const char *route,
                    const char *policy, int wait_replicas, int64_t *current, sw_err *err)
{
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)base + 1);
    PGresult *r = PQexec(c, "BEGIN");
    int good = ok(r);
    PQclear(r);
    if (!good && PQstatus(c) != CONNECTION_OK) {
        /* Broken while the database was away (libpq learns it only on use): nothing
           was begun, so once reconnected the change can go ahead. */
        PQreset(c);
        r = PQexec(c, "BEGIN");
        good = ok(r);
        PQclear(r);
    }
    if (!good)
        return sw_pg_conn_error(err, c, NULL);
    int behind = wait_replicas ? replica_behind(c, err) : 0;
    if (behind != 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        return behind > 0 ? 2 : -1;
    }
    const char *p1[] = {agent};
    r = PQexecParams(c, "SELECT version FROM slipway.routes WHERE agent = $1 FOR UPDATE", 1, NULL,
                     p1, NULL, NULL, 0);
    if (!ok(r)) {
        sw_pg_conn_error(err, c, r);
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    int64_t stored = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (stored != base) {
        PQclear(PQexec(c, "ROLLBACK"));
        *current = stored;
        return 1;
    }
    const char *p2[] = {agent, next, route, policy};
    r = PQexecParams(c,
                     "INSERT INTO slipway.routes (agent, version, route, policy) "
                     "VALUES ($1, $2, $3, $4) ON CONFLICT (agent) DO UPDATE SET "
                     "version = EXCLUDED.version, route = EXCLUDED.route, "
                     "policy = EXCLUDED.policy, updated_at = now()",
                     4, NULL, p2, NULL, NULL, 0);
    good = ok(r);
    PQclear(r);
    if (good) {
        r = PQexecParams(c, "SELECT pg_notify('" SW_PG_ROUTES_CHANNEL "', $1)", 1, NULL, p1, NULL,
                         NULL, 0);
        good = ok(r);
        PQclear(r);
    }
    if (good) {
        r = PQexec(c, "COMMIT");
        good = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!good)
            sw_pg_conn_error(err, c, r);
        PQclear(r);
        return good ? 0 : -1;
    }
    sw_pg_conn_error(err, c, NULL);
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
