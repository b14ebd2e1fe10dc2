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

int sw_pg_route_cas(PGconn *c, const char *agent, int64_t base, const char *route,
                    const char *policy, int64_t *current, sw_err *err)
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
