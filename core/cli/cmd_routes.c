/*
 * cmd_routes.c - `slipway routes [AGENT]` and `slipway route set|rollback|pin`:
 * a running router's routes, read and changed through its admin API, or with a
 * postgres:// store the route table its replicas share, read and changed in the
 * database (sw_router_routes_store_call: the same calls, answered the same way).
 *
 * `route set` reads the route first and sends its version back with the change
 * (compare-and-swap), so two operators cannot overwrite each other silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/router.h"

/* Where the routes are, for both usages. */
#define WHERE_TEXT                                                                                 \
    "Where the routes are: a running router, through its admin API (--router), or,\n"              \
    "with a postgres:// store, the route table its replicas share (--store URL, or\n"              \
    "$SLIPWAY_STORE when it is one and neither --router nor $SLIPWAY_ROUTER is given).\n"          \
    "A folder store holds no router's routes (each router keeps its own), so --store\n"            \
    "DIR is refused, and so are --router and --store together.\n"
#define CONN_HELP                                                                                  \
    "  --router URL        the router (default $SLIPWAY_ROUTER, else http://127.0.0.1:8700)\n"     \
    "  --token-file FILE   the router's admin token (default $SLIPWAY_ROUTER_TOKEN)\n"             \
    "  --store URL         the database store whose route table the replicas share\n"

static const char routes_usage[] =
    "usage: slipway routes [AGENT] [options]\n"
    "\n"
    "Show a running router's routes: every agent, or one agent's route in full\n"
    "(versions, split, rules, shadow, and through a router its pinned sessions).\n"
    "\n" WHERE_TEXT "\n"
    "Options:\n" CONN_HELP "  --json              the JSON as it is\n"
    "  -h, --help          this help\n";

static const char route_usage[] =
    "usage: slipway route set AGENT [--stable V] [--candidate V | --no-candidate]\n"
    "                         [--weight PERCENT] [--shadow V --shadow-percent P | --no-shadow]\n"
    "                         [--rules-file FILE] [--on-change drain|migrate|terminate]\n"
    "                         [--add-version NAME=URL]... [--route-version N]\n"
    "       slipway route rollback AGENT [--sessions drain|migrate|terminate] [--to V]\n"
    "       slipway route pin AGENT SESSION VERSION\n"
    "\n"
    "Change a running router's route for AGENT. 'set' changes only the fields given,\n"
    "based on the route version it reads first (or --route-version): when someone\n"
    "else changed the route in between, it is refused (exit 1) and nothing\n"
    "changes. 'rollback' sends every new session to stable (or --to) and applies the\n"
    "session policy to sessions pinned elsewhere. 'pin' pins one session.\n"
    "Weights are percents of sessions with 0.01 resolution.\n"
    "\n" WHERE_TEXT
    "With --store, a change is one transaction in the database (compare-and-swap on\n"
    "the route version, then a notification), applied by every running replica with\n"
    "its session policy, and loaded by a replica started later. It may name only the\n"
    "versions the stored route has, or new service versions (--add-version NAME=URL);\n"
    "a gateway agent's new release, an agent's first route and 'pin' (pins are each\n"
    "replica's) go through a router (--router).\n"
    "\n"
    "Exit: 0 done; 1 refused (bad input, a conflict, the router or the database\n"
    "unreachable: nothing changed); 2 bad usage.\n"
    "\n"
    "Options:\n" CONN_HELP "  --json              print the answer as JSON\n"
    "  -h, --help          this help\n";

enum {
    OPT_ROUTER = 3000,
    OPT_TOKEN_FILE,
    OPT_STABLE,
    OPT_CANDIDATE,
    OPT_NO_CANDIDATE,
    OPT_WEIGHT,
    OPT_SHADOW,
    OPT_SHADOW_PERCENT,
    OPT_NO_SHADOW,
    OPT_RULES_FILE,
    OPT_ON_CHANGE,
    OPT_ADD_VERSION,
    OPT_ROUTE_VERSION,
    OPT_SESSIONS,
    OPT_TO
};

/* The options every routes and route command takes: where the routes are (a router, or a
   database store's shared table), and how to print them. */
#define CONN_OPTIONS                                                                               \
    {"router", required_argument, NULL, OPT_ROUTER},                                               \
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},                                   \
        {"json", no_argument, NULL, OPT_JSON}, {"store", required_argument, NULL, OPT_STORE},      \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

typedef struct conn {
    const char *router; /* --router */
    const char *store;  /* --store, else a postgres:// $SLIPWAY_STORE: the database's table */
    char *token;
    int json;
} conn;

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return strdup(buf);
}

static int conn_option(conn *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ROUTER:
        c->router = arg;
        return 1;
    case OPT_TOKEN_FILE:
        free(c->token);
        c->token = read_small_file(arg);
        if (!c->token) {
            fprintf(stderr, "slipway: cannot read the token file %s\n", arg);
            return -1;
        }
        return 1;
    case OPT_JSON:
        c->json = 1;
        return 1;
    case OPT_STORE:
        c->store = arg;
        return 1;
    }
    return 0;
}

static int is_db_url(const char *s)
{
    return s && (strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0);
}

/* Where the routes are, from the options and the environment: 0, or 2 (said why). */
static int conn_defaults(conn *c, const char *cmd)
{
    if (c->store && !is_db_url(c->store)) {
        fprintf(stderr,
                "slipway %s: --store %s is a folder store, which holds no running router's "
                "routes (each router keeps its own, in its state file): reach the router with "
                "--router URL (or $SLIPWAY_ROUTER); --store takes a postgres:// store, whose "
                "route table a router's replicas share\n",
                cmd, c->store);
        return 2;
    }
    if (c->store && c->router) {
        fprintf(stderr,
                "slipway %s: give --router or --store, not both: --router reaches a running "
                "router's admin API, --store the route table in the database\n",
                cmd);
        return 2;
    }
    const char *env_router = getenv("SLIPWAY_ROUTER");
    if (env_router && !*env_router)
        env_router = NULL;
    if (!c->store && !c->router && is_db_url(getenv("SLIPWAY_STORE"))) {
        if (env_router) {
            fprintf(stderr,
                    "slipway %s: both $SLIPWAY_ROUTER and $SLIPWAY_STORE (a database) say where "
                    "the routes are: give --router URL or --store URL\n",
                    cmd);
            return 2;
        }
        c->store = getenv("SLIPWAY_STORE");
    }
    if (c->store)
        return 0;
    if (!c->router)
        c->router = env_router;
    if (!c->router)
        c->router = "http://127.0.0.1:8700";
    if (!c->token && getenv("SLIPWAY_ROUTER_TOKEN"))
        c->token = strdup(getenv("SLIPWAY_ROUTER_TOKEN"));
    return 0;
}

/* One admin call, to the router or answered from the database; prints the error on
   failure. Returns the parsed JSON (NULL on failure) and sets *rc to the exit code. */
static json_t *call_status(const conn *c, const char *cmd, const char *method, const char *path,
                           json_t *body, int *rc, int *status_out, int quiet_404)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    sw_diags *d = sw_diags_new();
    int status = 0;
    char *resp = NULL;
    *status_out = 0;
    int ok =
        (c->store ? sw_router_routes_store_call(c->store, method, path, text, &status, &resp, d)
                  : sw_router_admin_call(c->router, c->token, method, path, text, 30000, &status,
                                         &resp, d)) == 0;
    free(text);
    if (!ok) {
        fprintf(stderr, "slipway %s: %s", cmd, c->store ? "" : "cannot reach the router: ");
        for (size_t i = 0; i < sw_diags_count(d); i++)
            fprintf(stderr, "%s\n", sw_diags_at(d, i)->message);
        sw_diags_free(d);
        *rc = 1;
        return NULL;
    }
    sw_diags_free(d);
    *status_out = status;
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    if (status < 200 || status >= 300) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (!(quiet_404 && status == 404))
            fprintf(stderr, "slipway %s: %s %d: %s\n", cmd,
                    c->store ? "the database store refused it," : "the router answered", status,
                    msg    ? msg
                    : resp ? resp
                           : "");
        sw_free(resp);
        json_decref(j);
        *rc = 1; /* the router said no */
        return NULL;
    }
    sw_free(resp);
    *rc = 0;
    return j ? j : json_object();
}

static json_t *call(const conn *c, const char *cmd, const char *method, const char *path,
                    json_t *body, int *rc)
{
    int status;
    return call_status(c, cmd, method, path, body, rc, &status, 0);
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static void print_route(const json_t *r)
{
    cli_style s = cli_style_for(stdout);
    printf("%sagent %s%s  (%s, route version %lld)\n", s.bold, str(r, "agent", "?"), s.reset,
           str(r, "mode", "service"), (long long)json_integer_value(json_object_get(r, "version")));
    printf("stable     %s\n", str(r, "stable", "-"));
    const char *cand = str(r, "candidate", NULL);
    if (cand)
        printf("candidate  %s at %g%% of sessions (rollout %s)\n", cand,
               json_number_value(json_object_get(r, "weight")), str(r, "rollout_id", "-"));
    else
        printf("candidate  -\n");
    const json_t *sh = json_object_get(r, "shadow");
    if (json_is_object(sh))
        printf("shadow     %s for %g%% of sessions\n", str(sh, "version", "?"),
               json_number_value(json_object_get(sh, "percent")));
    const json_t *sess = json_object_get(r, "sessions");
    printf("sessions   on change: %s, idle TTL: %llds (0: the router's)\n",
           str(sess, "on_change", "drain"),
           (long long)json_integer_value(json_object_get(sess, "ttl_s")));
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(r, "rules"), i, rule)
    {
        char *t = json_dumps(rule, JSON_COMPACT);
        printf("rule %zu     %s\n", i + 1, t);
        free(t);
    }
    printf("%sversions%s\n", s.bold, s.reset);
    const char *name;
    json_t *v;
    const json_t *retired = json_object_get(r, "retired");
    json_object_foreach(json_object_get(r, "versions"), name, v)
    {
        const char *ret = str(retired, name, NULL);
        printf("  %-16s %s%s%s\n", name, str(v, "url", str(v, "release", "")),
               ret ? "  retired: " : "", ret ? ret : "");
    }
    const json_t *pins = json_object_get(r, "pins");
    if (pins) {
        printf("%spinned sessions%s %lld", s.bold, s.reset,
               (long long)json_integer_value(json_object_get(pins, "total")));
        json_object_foreach(json_object_get(pins, "by_version"), name, v)
            printf("  %s: %lld", name, (long long)json_integer_value(v));
        long long term = json_integer_value(json_object_get(pins, "terminated"));
        if (term)
            printf("  terminated: %lld", term);
        printf("\n");
    }
}

int cmd_routes(int argc, char **argv)
{
    static const struct option opts[] = {CONN_OPTIONS, {0, 0, 0, 0}};
    conn c = {0};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_option(&c, opt, optarg);
        if (k < 0)
            return 2;
        if (k)
            continue;
        if (opt == 'h')
            return cli_usage(stdout, routes_usage, 0);
        return cli_fail_usage("routes", "bad option");
    }
    if (argc - optind > 1)
        return cli_fail_usage("routes", "expected at most one AGENT");
    int rc = conn_defaults(&c, "routes");
    if (rc) {
        free(c.token);
        return rc;
    }
    json_t *j;
    if (optind < argc) {
        char *path = NULL;
        if (asprintf(&path, "/admin/agents/%s/route", argv[optind]) < 0)
            return 1;
        j = call(&c, "routes", "GET", path, NULL, &rc);
        free(path);
    } else {
        j = call(&c, "routes", "GET", "/admin/agents", NULL, &rc);
    }
    if (j) {
        if (c.json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else if (optind < argc) {
            print_route(j);
        } else {
            size_t i;
            json_t *r;
            if (json_array_size(json_object_get(j, "agents")) == 0)
                printf("no agents\n");
            json_array_foreach(json_object_get(j, "agents"), i, r)
            {
                if (i)
                    printf("\n");
                print_route(r);
            }
        }
        json_decref(j);
    }
    free(c.token);
    return rc;
}

static int parse_weight(const char *s, const char *what, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 100)) {
        fprintf(stderr, "slipway route: %s must be a percent from 0 to 100, not '%s'\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int route_set(conn *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CONN_OPTIONS,
        {"stable", required_argument, NULL, OPT_STABLE},
        {"candidate", required_argument, NULL, OPT_CANDIDATE},
        {"no-candidate", no_argument, NULL, OPT_NO_CANDIDATE},
        {"weight", required_argument, NULL, OPT_WEIGHT},
        {"shadow", required_argument, NULL, OPT_SHADOW},
        {"shadow-percent", required_argument, NULL, OPT_SHADOW_PERCENT},
        {"no-shadow", no_argument, NULL, OPT_NO_SHADOW},
        {"rules-file", required_argument, NULL, OPT_RULES_FILE},
        {"on-change", required_argument, NULL, OPT_ON_CHANGE},
        {"add-version", required_argument, NULL, OPT_ADD_VERSION},
        {"route-version", required_argument, NULL, OPT_ROUTE_VERSION},
        {0, 0, 0, 0}};
    json_t *patch = json_object();
    json_t *shadow = NULL;
    long long expected = -1;
    int rc = 2;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_option(c, opt, optarg);
        if (k < 0)
            goto out;
        if (k)
            continue;
        double w;
        switch (opt) {
        case OPT_STABLE:
            json_object_set_new(patch, "stable", json_string(optarg));
            break;
        case OPT_CANDIDATE:
            json_object_set_new(patch, "candidate", json_string(optarg));
            break;
        case OPT_NO_CANDIDATE:
            json_object_set_new(patch, "candidate", json_null());
            json_object_set_new(patch, "weight", json_integer(0));
            break;
        case OPT_WEIGHT:
            if (parse_weight(optarg, "--weight", &w) < 0)
                goto out;
            json_object_set_new(patch, "weight", json_real(w));
            break;
        case OPT_SHADOW:
            if (!shadow)
                shadow = json_object();
            json_object_set_new(shadow, "version", json_string(optarg));
            break;
        case OPT_SHADOW_PERCENT:
            if (parse_weight(optarg, "--shadow-percent", &w) < 0)
                goto out;
            if (!shadow)
                shadow = json_object();
            json_object_set_new(shadow, "percent", json_real(w));
            break;
        case OPT_NO_SHADOW:
            json_object_set_new(patch, "shadow", json_null());
            break;
        case OPT_RULES_FILE: {
            json_error_t je;
            json_t *rules = json_load_file(optarg, 0, &je);
            if (!json_is_array(rules)) {
                fprintf(stderr, "slipway route: %s: expected a JSON list of rules%s%s\n", optarg,
                        rules ? "" : ": ", rules ? "" : je.text);
                json_decref(rules);
                goto out;
            }
            json_object_set_new(patch, "rules", rules);
            break;
        }
        case OPT_ON_CHANGE:
            json_object_set_new(patch, "sessions", json_pack("{s:s}", "on_change", optarg));
            break;
        case OPT_ADD_VERSION: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) {
                fprintf(stderr, "slipway route: --add-version takes NAME=URL\n");
                goto out;
            }
            json_t *vs = json_object_get(patch, "versions");
            if (!vs) {
                vs = json_object();
                json_object_set_new(patch, "versions", vs);
            }
            char *name = strndup(optarg, (size_t)(eq - optarg));
            json_object_set_new(vs, name, json_pack("{s:s}", "url", eq + 1));
            free(name);
            break;
        }
        case OPT_ROUTE_VERSION:
            expected = strtoll(optarg, NULL, 10);
            break;
        case 'h':
            rc = cli_usage(stdout, route_usage, 0);
            goto out;
        default:
            rc = cli_fail_usage("route", "bad option");
            goto out;
        }
    }
    if (shadow)
        json_object_set(patch, "shadow", shadow);
    if (argc - optind != 1) {
        rc = cli_fail_usage("route", "'route set' takes one AGENT");
        goto out;
    }
    if (json_object_size(patch) == 0) {
        rc =
            cli_fail_usage("route", "nothing to change: give --stable, --candidate, --weight, ...");
        goto out;
    }
    if ((rc = conn_defaults(c, "route")) != 0)
        goto out;
    rc = 1;
    char *path = NULL;
    if (asprintf(&path, "/admin/agents/%s/route", argv[optind]) < 0)
        goto out;
    if (expected < 0) {
        int status;
        json_t *cur = call_status(c, "route", "GET", path, NULL, &rc, &status, 1);
        if (!cur && status != 404) {
            free(path);
            goto out;
        }
        /* An agent without a route yet is at version 0. */
        expected = cur ? json_integer_value(json_object_get(cur, "version")) : 0;
        json_decref(cur);
    }
    json_object_set_new(patch, "version", json_integer(expected));
    json_t *res = call(c, "route", "PUT", path, patch, &rc);
    free(path);
    if (res) {
        if (c->json) {
            json_dumpf(res, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else {
            print_route(res);
        }
        json_decref(res);
    }
out:
    json_decref(shadow);
    json_decref(patch);
    return rc;
}

static int route_rollback(conn *c, int argc, char **argv)
{
    static const struct option opts[] = {CONN_OPTIONS,
                                         {"sessions", required_argument, NULL, OPT_SESSIONS},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {0, 0, 0, 0}};
    json_t *body = json_object();
    int rc = 2;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_option(c, opt, optarg);
        if (k < 0)
            goto out;
        if (k)
            continue;
        if (opt == OPT_SESSIONS)
            json_object_set_new(body, "sessions", json_string(optarg));
        else if (opt == OPT_TO)
            json_object_set_new(body, "to", json_string(optarg));
        else if (opt == 'h') {
            rc = cli_usage(stdout, route_usage, 0);
            goto out;
        } else {
            rc = cli_fail_usage("route", "bad option");
            goto out;
        }
    }
    if (argc - optind != 1) {
        rc = cli_fail_usage("route", "'route rollback' takes one AGENT");
        goto out;
    }
    if ((rc = conn_defaults(c, "route")) != 0)
        goto out;
    rc = 1;
    char *path = NULL;
    if (asprintf(&path, "/admin/agents/%s/rollback", argv[optind]) < 0)
        goto out;
    json_t *res = call(c, "route", "POST", path, body, &rc);
    free(path);
    if (res) {
        if (c->json) {
            json_dumpf(res, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        } else if (json_object_get(res, "pins_affected")) {
            printf("rolled back %s to %s; sessions: %s (%lld pinned sessions affected)\n",
                   str(res, "agent", "?"), str(res, "to", "?"), str(res, "sessions", "?"),
                   (long long)json_integer_value(json_object_get(res, "pins_affected")));
        } else {
            /* From the database: each replica applies the policy to its own pins. */
            printf("rolled back %s to %s at route version %lld; sessions: %s (applied by every "
                   "replica to its pinned sessions)\n",
                   str(res, "agent", "?"), str(res, "to", "?"),
                   (long long)json_integer_value(
                       json_object_get(json_object_get(res, "route"), "version")),
                   str(res, "sessions", "?"));
        }
        json_decref(res);
    }
out:
    json_decref(body);
    return rc;
}

static int route_pin(conn *c, int argc, char **argv)
{
    static const struct option opts[] = {CONN_OPTIONS, {0, 0, 0, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_option(c, opt, optarg);
        if (k < 0)
            return 2;
        if (k)
            continue;
        if (opt == 'h')
            return cli_usage(stdout, route_usage, 0);
        return cli_fail_usage("route", "bad option");
    }
    if (argc - optind != 3)
        return cli_fail_usage("route", "'route pin' takes AGENT SESSION VERSION");
    int rc = conn_defaults(c, "route");
    if (rc)
        return rc;
    if (c->store) {
        fprintf(stderr,
                "slipway route: 'pin' goes through a router (--router URL): pins are each "
                "replica's, kept in its memory and read from the database only for a session it "
                "has none for, so a pin written to the database would not reach a replica that "
                "already holds the session\n");
        return 2;
    }
    char *path = NULL;
    if (asprintf(&path, "/admin/agents/%s/pins/%s", argv[optind], argv[optind + 1]) < 0)
        return 1;
    json_t *body = json_pack("{s:s}", "version", argv[optind + 2]);
    json_t *res = call(c, "route", "PUT", path, body, &rc);
    free(path);
    json_decref(body);
    if (res) {
        printf("session %s of %s pinned to %s\n", argv[optind + 1], argv[optind], argv[optind + 2]);
        json_decref(res);
    }
    return rc;
}

int cmd_route(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return cli_usage(argc < 2 ? stderr : stdout, route_usage, argc < 2 ? 2 : 0);
    conn c = {0};
    int rc;
    if (strcmp(argv[1], "set") == 0)
        rc = route_set(&c, argc - 1, argv + 1);
    else if (strcmp(argv[1], "rollback") == 0)
        rc = route_rollback(&c, argc - 1, argv + 1);
    else if (strcmp(argv[1], "pin") == 0)
        rc = route_pin(&c, argc - 1, argv + 1);
    else
        rc = cli_fail_usage("route", "unknown subcommand '%s' (set, rollback, pin)", argv[1]);
    free(c.token);
    return rc;
}
