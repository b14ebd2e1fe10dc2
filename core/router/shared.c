/* shared.c - the route table in PostgreSQL: compare-and-swap writes, LISTEN/NOTIFY, and a
   listener thread that reconnects and catches up (shared.h). */
#include "shared.h"

#include "hmap.h"
#include "store/pg_impl.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Held (for the session) by the one replica deleting expired pins at a time. */
#define SWEEP_LOCK_KEY "7302158232"
/* Expired pin rows deleted per statement: each is its own short transaction, and the listener
   writes pins and reads route changes between two. */
#define SWEEP_BATCH 1000
/* Queued pins written per turn of the listener (in statements of up to 100 rows): a burst of
   100,000 holds up a route change by one turn, not by all of it. */
#define FLUSH_TURN       1000
#define SWEEP_DEFAULT_MS 60000
#define STR_(x)          #x
#define STR(x)           STR_(x)

struct sw_shared {
    char *url;
    char *id;     /* this replica's in slipway.replicas: host, pid, start */
    PGconn *conn; /* the loop's */
    pthread_t thread;
    int started;
    int wakefd;
    atomic_int stop;
    atomic_int up;
    pthread_mutex_t mu; /* inbox, last_error */
    sw_shared_row *inbox;
    size_t n_inbox, cap_inbox;
    char last_error[SW_ERR_MAX];
    /* pins written behind (under mu) */
    struct queued_pin *pins;
    size_t n_pins, cap_pins;
    size_t pins_dropped;
    size_t pins_writing;      /* taken by the listener, not yet committed */
    struct queued_pin *taken; /* the listener's own: taken from the queue, written from taken_at */
    size_t n_taken, taken_at;
    int pin_wake; /* eventfd: the listener's wake-up when pins are queued */
    /* expired pin rows (the listener's own) */
    int64_t sweep_every_ms; /* about; each wait is drawn from [0.5, 1.5) times it */
    int64_t next_sweep_ms;  /* monotonic */
    int sweeping;           /* holds SWEEP_LOCK_KEY, more batches to go */
    uint64_t jitter;        /* xorshift state */
    atomic_llong swept;     /* rows deleted so far */
    /* the pin reader (under rmu) */
    pthread_t reader;
    int reader_started;
    pthread_mutex_t rmu;
    pthread_cond_t rcond;
    sw_shared_pin_answer *asks, *answers;
    size_t n_asks, cap_asks, n_answers, cap_answers;
};

typedef struct queued_pin {
    char *agent, *session, *version, *reason;
    int terminated;
    int64_t created_ms, last_ms, expires_ms;
} queued_pin;

static void queued_pin_free(queued_pin *q)
{
    free(q->agent);
    free(q->session);
    free(q->version);
    free(q->reason);
}

static PGconn *connect_db(const char *url)
{
    /* Short: a replica must learn quickly that the database is gone. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {"2", "slipway-router", url, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static int db_error(sw_err *err, PGconn *c, const PGresult *res)
{
    return sw_pg_conn_error(err, c, res);
}

static int ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

sw_shared *sw_shared_open(const char *url, sw_err *err)
{
    PGconn *c = connect_db(url);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        db_error(err, c, NULL);
        PQfinish(c);
        return NULL;
    }
    sw_shared *s = sw_xcalloc(1, sizeof *s);
    s->url = sw_xstrdup(url);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    s->id = sw_xasprintf("%s pid %d since %lld", host, (int)getpid(), (long long)sw_wall_ms());
    s->conn = c;
    s->wakefd = -1;
    s->pin_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->sweep_every_ms = SWEEP_DEFAULT_MS;
    const char *every = getenv("SLIPWAY_PIN_SWEEP_MS");
    if (every && strtoll(every, NULL, 10) > 0)
        s->sweep_every_ms = strtoll(every, NULL, 10);
    s->jitter = (((uint64_t)getpid() << 32) ^ (uint64_t)sw_wall_ms()) | 1;
    atomic_store(&s->up, 1);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcond, NULL);
    return s;
}

int sw_shared_load(sw_shared *s, sw_shared_row **rows, size_t *n, sw_err *err)
{
    *rows = NULL;
    *n = 0;
    size_t cap = 0;
    return sw_pg_routes_read(s->conn, NULL, rows, n, &cap, err);
}

int sw_shared_seed(sw_shared *s, const char *agent, int64_t version, const char *route, sw_err *err)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    const char *p[] = {agent, v, route};
    PGresult *r = PQexecParams(s->conn,
                               "INSERT INTO slipway.routes (agent, version, route, policy) "
                               "VALUES ($1, $2, $3, 'drain') ON CONFLICT (agent) DO NOTHING",
                               3, NULL, p, NULL, NULL, 0);
    int rc = ok(r) ? 0 : db_error(err, s->conn, r);
    PQclear(r);
    return rc;
}

/* ---- the listener ---- */

/* Read every route row (agent NULL) or one agent's into the inbox and wake the loop. */
static int push_rows(sw_shared *s, PGconn *c, const char *agent)
{
    sw_shared_row *rows = NULL;
    size_t n = 0, cap = 0;
    sw_err err = {{0}};
    if (sw_pg_routes_read(c, agent, &rows, &n, &cap, &err) < 0)
        return -1;
    pthread_mutex_lock(&s->mu);
    if (s->n_inbox + n > s->cap_inbox) {
        s->cap_inbox = s->n_inbox + n;
        s->inbox = sw_xrealloc(s->inbox, s->cap_inbox * sizeof *s->inbox);
    }
    if (n)
        memcpy(s->inbox + s->n_inbox, rows, n * sizeof *rows);
    s->n_inbox += n;
    pthread_mutex_unlock(&s->mu);
    free(rows); /* the strings are the inbox's now */
    uint64_t one = 1;
    ssize_t w = write(s->wakefd, &one, sizeof one);
    (void)w;
    return 0;
}

static void set_down(sw_shared *s, PGconn *c)
{
    pthread_mutex_lock(&s->mu);
    sw_pg_one_line(PQerrorMessage(c), s->last_error, sizeof s->last_error);
    pthread_mutex_unlock(&s->mu);
    if (atomic_exchange(&s->up, 0)) {
        uint64_t one = 1; /* the loop logs the change */
        ssize_t w = write(s->wakefd, &one, sizeof one);
        (void)w;
    }
}

static int write_backlog(sw_shared *s, PGconn *c);

/* A fresh connection: LISTEN first, then read every route, so no change falls between. */
static PGconn *listen_again(sw_shared *s)
{
    PGconn *c = connect_db(s->url);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        set_down(s, c);
        PQfinish(c);
        return NULL;
    }
    /* This connection writes pins and deletes expired ones, nothing acknowledged to anyone:
       its commits need not wait for the disk (a crash of the server may lose the last moment
       of them, as if they were still queued). Route changes are made elsewhere. */
    PGresult *r = PQexec(c, "SET synchronous_commit = off");
    int good = ok(r);
    PQclear(r);
    if (good) {
        r = PQexec(c, "LISTEN " SW_PG_ROUTES_CHANNEL);
        good = ok(r);
        PQclear(r);
    }
    if (good)
        good = push_rows(s, c, NULL) == 0;
    /* Up only once what this replica answered while away is written: route changes wait for
       its registration after a restart of the server (pg_impl.h). */
    if (good)
        good = write_backlog(s, c) == 0;
    sw_err err = {{0}};
    if (good)
        good = sw_pg_replica_register(c, s->id, &err) == 0;
    if (!good) {
        set_down(s, c);
        PQfinish(c);
        return NULL;
    }
    if (!atomic_exchange(&s->up, 1)) {
        uint64_t one = 1;
        ssize_t w = write(s->wakefd, &one, sizeof one);
        (void)w;
    }
    return c;
}

/* Write up to FLUSH_TURN queued pins in statements of up to 100 rows, a session once per
   statement (its newest), never over a newer row: what the listener took from the queue
   first, then the queue. 1 when more are waiting, 0 when none, -1 when a statement failed
   (the pins not written go back to the front of the queue). */
static int flush_pins(sw_shared *s, PGconn *c)
{
    if (s->taken_at == s->n_taken) {
        free(s->taken);
        pthread_mutex_lock(&s->mu);
        s->taken = s->pins;
        s->n_taken = s->n_pins;
        s->taken_at = 0;
        s->pins = NULL;
        s->n_pins = s->cap_pins = 0;
        s->pins_writing = s->n_taken;
        pthread_mutex_unlock(&s->mu);
        if (!s->n_taken)
            return 0;
    }
    queued_pin *q = s->taken;
    size_t n = s->n_taken, done = s->taken_at;
    size_t end = n - done > FLUSH_TURN ? done + FLUSH_TURN : n;
    sw_hmap seen;
    sw_hmap_init(&seen);
    int rc = 0;
    while (done < end && rc == 0) {
        sw_buf sql = {0};
        sw_buf_puts(&sql, "INSERT INTO slipway.pins (agent, session, version, reason, terminated, "
                          "created_ms, last_ms, expires_ms) VALUES ");
        const char *vals[800];
        char nums[100][4][24];
        int np = 0, rows = 0;
        size_t i = done;
        for (; i < end && rows < 100; i++) {
            char *key = sw_xasprintf("%s\x1f%s", q[i].agent, q[i].session);
            int dup = sw_hmap_get(&seen, key) != NULL;
            if (!dup)
                sw_hmap_put(&seen, key, &q[i]);
            free(key);
            if (dup)
                break; /* a session twice: the newer one goes in the next statement */
            snprintf(nums[rows][0], 24, "%s", q[i].terminated ? "true" : "false");
            snprintf(nums[rows][1], 24, "%lld", (long long)q[i].created_ms);
            snprintf(nums[rows][2], 24, "%lld", (long long)q[i].last_ms);
            snprintf(nums[rows][3], 24, "%lld", (long long)q[i].expires_ms);
            const char *row[] = {q[i].agent,    q[i].session,
                                 q[i].version,  q[i].reason,
                                 nums[rows][0], nums[rows][1],
                                 nums[rows][2], q[i].expires_ms ? nums[rows][3] : NULL /* never */};
            sw_buf_printf(&sql, "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", rows ? ", " : "",
                          np + 1, np + 2, np + 3, np + 4, np + 5, np + 6, np + 7, np + 8);
            for (int k = 0; k < 8; k++)
                vals[np++] = row[k];
            rows++;
        }
        sw_buf_puts(&sql, " ON CONFLICT (agent, session) DO UPDATE SET version = EXCLUDED.version,"
                          " reason = EXCLUDED.reason, terminated = EXCLUDED.terminated,"
                          " last_ms = EXCLUDED.last_ms,"
                          /* the row lives as long as any replica that wrote it keeps the pin */
                          " expires_ms = CASE WHEN slipway.pins.expires_ms IS NULL OR"
                          " EXCLUDED.expires_ms IS NULL THEN NULL ELSE"
                          " GREATEST(slipway.pins.expires_ms, EXCLUDED.expires_ms) END"
                          " WHERE slipway.pins.last_ms <= EXCLUDED.last_ms");
        PGresult *r = PQexecParams(c, sql.data, np, NULL, vals, NULL, NULL, 0);
        rc = ok(r) ? 0 : -1;
        PQclear(r);
        sw_buf_free(&sql);
        if (rc == 0) {
            done = i;
            pthread_mutex_lock(&s->mu);
            s->pins_writing = n - done;
            pthread_mutex_unlock(&s->mu);
        }
        /* The keys of this statement are free for the next one. */
        sw_hmap_free(&seen);
        sw_hmap_init(&seen);
    }
    sw_hmap_free(&seen);
    for (size_t i = s->taken_at; i < done; i++)
        queued_pin_free(&q[i]);
    s->taken_at = done;
    if (rc < 0) {
        /* Back in front of what was queued meanwhile, within the cap. */
        pthread_mutex_lock(&s->mu);
        s->pins_writing = 0;
        size_t keep = n - done, total = keep + s->n_pins;
        queued_pin *all = sw_xcalloc(total ? total : 1, sizeof *all);
        memcpy(all, q + done, keep * sizeof *all);
        if (s->n_pins)
            memcpy(all + keep, s->pins, s->n_pins * sizeof *all);
        free(s->pins);
        s->pins = all;
        s->n_pins = s->cap_pins = total;
        pthread_mutex_unlock(&s->mu);
        free(q);
        s->taken = NULL;
        s->n_taken = s->taken_at = 0;
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    int more = done < n || s->n_pins > 0;
    pthread_mutex_unlock(&s->mu);
    return more;
}

/* Every pin queued so far (the newer ones too, when they share a turn): 0, or -1 as
   flush_pins. */
static int write_backlog(sw_shared *s, PGconn *c)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_pins + (s->n_taken - s->taken_at);
    pthread_mutex_unlock(&s->mu);
    for (size_t turns = n / FLUSH_TURN + 1; turns > 0; turns--) {
        int more = flush_pins(s, c);
        if (more <= 0)
            return more;
    }
    return 0;
}

/* The next sweep at a time drawn from [0.5, 1.5) intervals: replicas started together drift
   apart, and the lock keeps any two that still meet from sweeping together. */
static void schedule_sweep(sw_shared *s)
{
    s->jitter ^= s->jitter << 13;
    s->jitter ^= s->jitter >> 7;
    s->jitter ^= s->jitter << 17;
    int64_t every = s->sweep_every_ms;
    s->next_sweep_ms = (int64_t)sw_now_ms() + every / 2 + (int64_t)(s->jitter % (uint64_t)every);
}

static int lock_result(PGresult *r)
{
    return ok(r) && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
}

/* One step of deleting the rows of pins expired on every replica that wrote them: the first
   takes the sweep lock (none if another replica holds it), each deletes up to SWEEP_BATCH
   rows (rows being written are skipped, not waited for), and the last, short of a batch,
   releases the lock. -1 when a statement failed (the lock goes with a broken connection).
   The batch is the oldest expired rows through the index: a sequential scan would walk the
   dead rows of the batches before it again each time. */
static int sweep_step(sw_shared *s, PGconn *c)
{
    if (!s->sweeping) {
        PGresult *r = PQexec(c, "SELECT pg_try_advisory_lock(" SWEEP_LOCK_KEY ")");
        int got = lock_result(r), good = ok(r);
        PQclear(r);
        if (!got) {
            schedule_sweep(s);
            return good ? 0 : -1;
        }
        s->sweeping = 1;
    }
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)sw_wall_ms());
    const char *p[] = {now};
    PGresult *r =
        PQexecParams(c,
                     "DELETE FROM slipway.pins WHERE ctid = ANY(ARRAY("
                     "SELECT ctid FROM slipway.pins WHERE expires_ms < $1 "
                     "ORDER BY expires_ms LIMIT " STR(SWEEP_BATCH) " "
                                                                   "FOR UPDATE SKIP LOCKED)) "
                                                                   "AND expires_ms < $1",
                     1, NULL, p, NULL, NULL, 0);
    int good = ok(r);
    long long n = good ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    if (!good)
        return -1;
    atomic_fetch_add(&s->swept, n);
    if (n >= SWEEP_BATCH)
        return 0; /* more, after the listener's other work */
    r = PQexec(c, "SELECT pg_advisory_unlock(" SWEEP_LOCK_KEY ")");
    good = ok(r);
    PQclear(r);
    s->sweeping = 0;
    schedule_sweep(s);
    return good ? 0 : -1;
}

/* A clean stop: route changes after a restart of the server need not wait for this replica.
   Given a second at most, as a stop must not hang on a database that does not answer. */
static void forget_replica(sw_shared *s, PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK || sw_pg_replica_forget_send(c, s->id) != 0)
        return;
    double deadline = sw_now_ms() + 1000;
    while (PQisBusy(c)) {
        double left = deadline - sw_now_ms();
        struct pollfd pfd = {PQsocket(c), POLLIN, 0};
        if (left <= 0 || (poll(&pfd, 1, (int)left + 1) < 0 && errno != EINTR) || !PQconsumeInput(c))
            return;
    }
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
}

static void *listener_main(void *arg)
{
    sw_shared *s = arg;
    PGconn *c = NULL;
    schedule_sweep(s);
    while (!atomic_load(&s->stop)) {
        if (!c) {
            s->sweeping = 0; /* a lock held went with the connection */
            c = listen_again(s);
            if (!c) {
                struct timespec ts = {0, 200 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        int more = flush_pins(s, c);
        if (more < 0 && PQstatus(c) != CONNECTION_OK) {
            set_down(s, c);
            PQfinish(c);
            c = NULL;
            continue;
        }
        if ((s->sweeping || (int64_t)sw_now_ms() >= s->next_sweep_ms) && sweep_step(s, c) < 0 &&
            PQstatus(c) != CONNECTION_OK) {
            set_down(s, c);
            PQfinish(c);
            c = NULL;
            continue;
        }
        int64_t wait = s->sweeping || more > 0 ? 0 : s->next_sweep_ms - (int64_t)sw_now_ms();
        struct pollfd pfd[2] = {{PQsocket(c), POLLIN, 0}, {s->pin_wake, POLLIN, 0}};
        if (poll(pfd, 2, wait < 0 ? 0 : wait < 200 ? (int)wait : 200) < 0)
            continue;
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            ssize_t rd = read(s->pin_wake, &v, sizeof v);
            (void)rd;
        }
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
            set_down(s, c);
            PQfinish(c);
            c = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c)) != NULL) {
            push_rows(s, c, n->extra);
            PQfreemem(n);
        }
    }
    if (c)
        forget_replica(s, c);
    PQfinish(c);
    return NULL;
}

static void *reader_main(void *arg); /* the pin reader, below */

int sw_shared_start(sw_shared *s, int wakefd, sw_err *err)
{
    s->wakefd = wakefd;
    int rc = pthread_create(&s->thread, NULL, listener_main, s);
    if (rc != 0)
        return sw_err_set(err, "the route listener thread: %s", strerror(rc));
    s->started = 1;
    rc = pthread_create(&s->reader, NULL, reader_main, s);
    if (rc != 0)
        return sw_err_set(err, "the pin reader thread: %s", strerror(rc));
    s->reader_started = 1;
    return 0;
}

/* ---- changes ---- */

int sw_shared_put(sw_shared *s, const char *agent, int64_t base, const char *route,
                  const char *policy, int wait_replicas, int64_t *current, sw_err *err)
{
    if (!atomic_load(&s->up)) {
        char why[SW_ERR_MAX];
        sw_shared_last_error(s, why, sizeof why);
        return sw_err_set(err, "the state database is unreachable (%s)", why);
    }
    if (PQstatus(s->conn) != CONNECTION_OK)
        PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return db_error(err, s->conn, NULL);
    return sw_pg_route_cas(s->conn, agent, base, route, policy, wait_replicas, current, err);
}

void sw_shared_pin_put(sw_shared *s, const char *agent, const char *session, const char *version,
                       const char *reason, int terminated, int64_t created_ms, int64_t last_ms,
                       int64_t expires_ms)
{
    pthread_mutex_lock(&s->mu);
    if (s->n_pins >= SW_SHARED_PIN_QUEUE) {
        s->pins_dropped++; /* the database away for long: the oldest stay, in order */
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (s->n_pins == s->cap_pins) {
        s->cap_pins = s->cap_pins ? s->cap_pins * 2 : 64;
        s->pins = sw_xrealloc(s->pins, s->cap_pins * sizeof *s->pins);
    }
    queued_pin *q = &s->pins[s->n_pins++];
    q->agent = sw_xstrdup(agent);
    q->session = sw_xstrdup(session);
    q->version = sw_xstrdup(version);
    q->reason = sw_xstrdup(reason);
    q->terminated = terminated;
    q->created_ms = created_ms;
    q->last_ms = last_ms;
    q->expires_ms = expires_ms;
    int first = s->n_pins == 1;
    pthread_mutex_unlock(&s->mu);
    if (first) {
        uint64_t one = 1;
        ssize_t w = write(s->pin_wake, &one, sizeof one);
        (void)w;
    }
}

/* ---- the pin reader ---- */

#define READS_MAX 10000 /* reads waiting at once; more are refused */

static const char SELECT_PIN[] = "SELECT version, reason, terminated, created_ms, last_ms "
                                 "FROM slipway.pins WHERE agent = $1 AND session = $2";

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w;
}

/* Until c has a whole result to give, the deadline or a stop: 0, or -1 (late, stopping or
   broken). */
static int await_result(sw_shared *s, PGconn *c, double deadline)
{
    while (PQisBusy(c)) {
        double left = deadline - sw_now_ms();
        if (left <= 0 || atomic_load(&s->stop))
            return -1;
        struct pollfd pfd = {PQsocket(c), POLLIN, 0};
        int n = poll(&pfd, 1, left < 100 ? (int)left + 1 : 100);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0 && !PQconsumeInput(c))
            return -1;
    }
    return 0;
}

/* One read before the deadline: 1 (out filled), 0 (no such pin), -1. A database that accepts
   but does not answer costs the connection (dropped; the next read makes another). */
static int read_pin_on(sw_shared *s, PGconn **cp, const sw_shared_pin_answer *a, sw_shared_pin *out)
{
    if (*cp && PQstatus(*cp) != CONNECTION_OK) {
        PQfinish(*cp);
        *cp = NULL;
    }
    if (!*cp) {
        PGconn *c = connect_db(s->url);
        if (!c || PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            return -1;
        }
        *cp = c;
    }
    PGconn *c = *cp;
    const char *p[] = {a->agent, a->session};
    int rc = -1;
    if (!PQsendQueryParams(c, SELECT_PIN, 2, NULL, p, NULL, NULL, 0))
        goto broken;
    for (;;) {
        if (await_result(s, c, a->deadline) < 0)
            goto broken;
        PGresult *r = PQgetResult(c);
        if (!r)
            return rc;
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = PQntuples(r) > 0;
            if (rc) {
                out->version = sw_xstrdup(PQgetvalue(r, 0, 0));
                out->reason = sw_xstrdup(PQgetvalue(r, 0, 1));
                out->terminated = PQgetvalue(r, 0, 2)[0] == 't';
                out->created_ms = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
                out->last_ms = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
            }
        }
        PQclear(r);
    }
broken:
    free(out->version);
    free(out->reason);
    out->version = out->reason = NULL;
    PQfinish(c);
    *cp = NULL;
    return -1;
}

/* read_pin_on, once more on a new connection when the one it had failed: the server may have
   dropped it (a restart) with nothing to tell libpq until it is used, and the first read after
   an outage must not be given up for that. */
static int read_pin(sw_shared *s, PGconn **cp, const sw_shared_pin_answer *a, sw_shared_pin *out)
{
    int had = *cp != NULL && PQstatus(*cp) == CONNECTION_OK;
    int rc = read_pin_on(s, cp, a, out);
    int lost = !*cp || PQstatus(*cp) != CONNECTION_OK;
    if (rc < 0 && had && lost && sw_now_ms() < a->deadline && !atomic_load(&s->stop))
        rc = read_pin_on(s, cp, a, out);
    return rc;
}

/* Patient reads that found no pin, each made again at its time (the reader's own). */
typedef struct later_reads {
    sw_shared_pin_answer *asks;
    double *at;
    size_t n, cap;
} later_reads;

static void later_add(later_reads *l, const sw_shared_pin_answer *a, double at)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->asks = sw_xrealloc(l->asks, l->cap * sizeof *l->asks);
        l->at = sw_xrealloc(l->at, l->cap * sizeof *l->at);
    }
    l->asks[l->n] = *a;
    l->at[l->n++] = at;
}

/* The earliest time a later read is due (0: none waits). */
static double later_next(const later_reads *l)
{
    double next = 0;
    for (size_t i = 0; i < l->n; i++)
        if (next == 0 || l->at[i] < next)
            next = l->at[i];
    return next;
}

/* Move the reads due by now to the end of batch (*n used of *cap). */
static void later_take(later_reads *l, double now, sw_shared_pin_answer **batch, size_t *n,
                       size_t *cap)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->at[i] > now) {
            l->asks[kept] = l->asks[i];
            l->at[kept++] = l->at[i];
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *batch = sw_xrealloc(*batch, *cap * sizeof **batch);
        }
        (*batch)[(*n)++] = l->asks[i];
    }
    l->n = kept;
}

/* Wait on rcond (rmu held) until signalled or the time (monotonic ms; 0: no limit). */
static void reader_wait(sw_shared *s, double until)
{
    if (until == 0) {
        pthread_cond_wait(&s->rcond, &s->rmu);
        return;
    }
    double left = until - sw_now_ms();
    if (left <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)(left * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&s->rcond, &s->rmu, &ts);
}

static void *reader_main(void *arg)
{
    sw_shared *s = arg;
    /* Connected ahead, so that the first read does not pay for it. */
    PGconn *c = connect_db(s->url);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    later_reads later = {0};
    pthread_mutex_lock(&s->rmu);
    while (!atomic_load(&s->stop)) {
        double next = later_next(&later);
        if (!s->n_asks && (next == 0 || next > sw_now_ms())) {
            reader_wait(s, next);
            continue;
        }
        sw_shared_pin_answer *batch = s->asks;
        size_t n = s->n_asks, cap = s->cap_asks;
        s->asks = NULL;
        s->n_asks = s->cap_asks = 0;
        pthread_mutex_unlock(&s->rmu);
        later_take(&later, sw_now_ms(), &batch, &n, &cap);
        for (size_t i = 0; i < n; i++) {
            sw_shared_pin_answer *a = &batch[i];
            /* One the loop no longer waits for is not read. */
            double now = sw_now_ms();
            a->found =
                atomic_load(&s->stop) || now >= a->deadline ? -1 : read_pin(s, &c, a, &a->pin);
            now = sw_now_ms();
            if (a->found == 0 && a->patient && now + 2 * SW_SHARED_PIN_AGAIN_MS < a->deadline) {
                later_add(&later, a, now + SW_SHARED_PIN_AGAIN_MS);
                continue;
            }
            pthread_mutex_lock(&s->rmu);
            if (s->n_answers == s->cap_answers) {
                s->cap_answers = s->cap_answers ? s->cap_answers * 2 : 16;
                s->answers = sw_xrealloc(s->answers, s->cap_answers * sizeof *s->answers);
            }
            s->answers[s->n_answers++] = *a;
            pthread_mutex_unlock(&s->rmu);
            wake(s->wakefd);
        }
        free(batch);
        pthread_mutex_lock(&s->rmu);
    }
    pthread_mutex_unlock(&s->rmu);
    sw_shared_pin_answers_free(later.asks, later.n); /* nobody waits for them at a stop */
    free(later.at);
    PQfinish(c);
    return NULL;
}

int sw_shared_pin_ask(sw_shared *s, uint64_t id, const char *agent, const char *session,
                      double deadline, int patient)
{
    if (!atomic_load(&s->up) || !s->reader_started)
        return -1;
    pthread_mutex_lock(&s->rmu);
    if (s->n_asks >= READS_MAX) {
        pthread_mutex_unlock(&s->rmu);
        return -1;
    }
    if (s->n_asks == s->cap_asks) {
        s->cap_asks = s->cap_asks ? s->cap_asks * 2 : 16;
        s->asks = sw_xrealloc(s->asks, s->cap_asks * sizeof *s->asks);
    }
    sw_shared_pin_answer *a = &s->asks[s->n_asks++];
    memset(a, 0, sizeof *a);
    a->id = id;
    a->agent = sw_xstrdup(agent);
    a->session = sw_xstrdup(session);
    a->deadline = deadline;
    a->patient = patient;
    pthread_cond_signal(&s->rcond);
    pthread_mutex_unlock(&s->rmu);
    return 0;
}

sw_shared_pin_answer *sw_shared_pin_answers(sw_shared *s, size_t *n)
{
    pthread_mutex_lock(&s->rmu);
    sw_shared_pin_answer *a = s->answers;
    *n = s->n_answers;
    s->answers = NULL;
    s->n_answers = s->cap_answers = 0;
    pthread_mutex_unlock(&s->rmu);
    return a;
}

void sw_shared_pin_answers_free(sw_shared_pin_answer *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].agent);
        free(a[i].session);
        free(a[i].pin.version);
        free(a[i].pin.reason);
    }
    free(a);
}

sw_shared_row *sw_shared_take(sw_shared *s, size_t *n)
{
    pthread_mutex_lock(&s->mu);
    sw_shared_row *rows = s->inbox;
    *n = s->n_inbox;
    s->inbox = NULL;
    s->n_inbox = s->cap_inbox = 0;
    pthread_mutex_unlock(&s->mu);
    return rows;
}

void sw_shared_rows_free(sw_shared_row *rows, size_t n)
{
    sw_pg_route_rows_free(rows, n);
}

long long sw_shared_pins_swept(sw_shared *s)
{
    return atomic_load(&s->swept);
}

size_t sw_shared_pins_queued(sw_shared *s, size_t *dropped)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_pins + s->pins_writing;
    *dropped = s->pins_dropped;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int sw_shared_up(const sw_shared *s)
{
    return atomic_load(&((sw_shared *)s)->up);
}

void sw_shared_last_error(sw_shared *s, char *out, size_t size)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, size, "%s", s->last_error[0] ? s->last_error : "connection lost");
    pthread_mutex_unlock(&s->mu);
}

void sw_shared_close(sw_shared *s)
{
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, 1);
        pthread_join(s->thread, NULL);
    }
    if (s->reader_started) {
        pthread_mutex_lock(&s->rmu);
        pthread_cond_signal(&s->rcond);
        pthread_mutex_unlock(&s->rmu);
        pthread_join(s->reader, NULL);
    }
    sw_shared_pin_answers_free(s->asks, s->n_asks);
    sw_shared_pin_answers_free(s->answers, s->n_answers);
    pthread_cond_destroy(&s->rcond);
    pthread_mutex_destroy(&s->rmu);
    PQfinish(s->conn);
    sw_shared_rows_free(s->inbox, s->n_inbox);
    for (size_t i = 0; i < s->n_pins; i++)
        queued_pin_free(&s->pins[i]);
    free(s->pins);
    for (size_t i = s->taken_at; i < s->n_taken; i++)
        queued_pin_free(&s->taken[i]);
    free(s->taken);
    if (s->pin_wake >= 0)
        close(s->pin_wake);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s->id);
    free(s);
}
