/*
 * cmd_rollback.c - `slipway rollback AGENT`: the human's rollback. The same
 * code as the rollback stage (sw_rollback_execute): the router's route back
 * to stable with a session policy, and the store's candidate cleared.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/rollback.h"
#include "slipway/router.h"

static const char usage[] =
    "usage: slipway rollback AGENT [--to RELEASE] [--sessions drain|migrate|terminate]\n"
    "                        [--router URL --token-file FILE | --no-router] [--json]\n"
    "\n"
    "Roll AGENT back: the router sends every new session to stable (pinned sessions on\n"
    "the candidate drained, migrated or terminated) and the release store's candidate is\n"
    "cleared; stable stays as it is unless --to names the release it must hold (to undo\n"
    "a promotion). Running it again changes nothing: it is safe to repeat.\n"
    "\n"
    "Options:\n"
    "  --to RELEASE        the release for stable (an id, prefix, tag or AGENT:CHANNEL)\n"
    "  --sessions POLICY   drain (default: the route's), migrate or terminate\n"
    "  --router URL        the router (default $SLIPWAY_ROUTER, else http://127.0.0.1:8700)\n"
    "  --token-file FILE   the admin token (default $SLIPWAY_ROUTER_TOKEN)\n"
    "  --no-router         the store only\n"
    "  --state-dir DIR     the state folder (default $SLIPWAY_STATE_DIR, else ./.slipway)\n"
    "  --store WHERE       the release store: a folder or a postgres:// URL (default\n"
    "                      $SLIPWAY_STORE, else the state folder)\n"
    "  --json              print the result as JSON\n"
    "  -h, --help          this help\n";

enum { OPT_TO = 4000, OPT_SESSIONS, OPT_ROUTER, OPT_TOKEN_FILE, OPT_NO_ROUTER };

typedef struct target {
    const char *router;
    const char *token;
} target;

static int admin(void *ud, const char *method, const char *path, const char *body, int *status,
                 char **response, char *errbuf, size_t errsize)
{
    const target *t = ud;
    sw_diags *d = sw_diags_new();
    int rc =
        sw_router_admin_call(t->router, t->token, method, path, body, 30000, status, response, d);
    if (rc != 0)
        snprintf(errbuf, errsize, "%s",
                 sw_diags_count(d) ? sw_diags_at(d, 0)->message : "no answer");
    sw_diags_free(d);
    return rc;
}

static char *read_token(const char *path)
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

static void print_result(json_t *r)
{
    json_t *rt = json_object_get(r, "router"), *st = json_object_get(r, "store");
    const char *agent = json_string_value(json_object_get(r, "agent"));
    if (json_is_object(rt)) {
        if (json_is_true(json_object_get(rt, "already")))
            printf("router: %s already serves only %s\n", agent,
                   json_string_value(json_object_get(rt, "to")));
        else
            printf("router: %s -> %s, sessions: %s (%lld pinned sessions affected)\n", agent,
                   json_string_value(json_object_get(rt, "to")),
                   json_string_value(json_object_get(rt, "sessions")),
                   (long long)json_integer_value(json_object_get(rt, "pins_affected")));
    }
    if (json_is_object(st)) {
        const char *to = json_string_value(json_object_get(st, "to"));
        const char *cleared = json_string_value(json_object_get(st, "candidate_cleared"));
        if (json_is_true(json_object_get(st, "already")))
            printf("store: stable %s, no candidate: nothing to do\n", to ? to : "(none)");
        else {
            const char *from = json_string_value(json_object_get(st, "from"));
            printf("store: stable %s -> %s%s%s\n", from ? from : "(none)", to ? to : "(none)",
                   cleared ? ", candidate cleared: " : "", cleared ? cleared : "");
        }
    }
}

int cmd_rollback(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"sessions", required_argument, NULL, OPT_SESSIONS},
                                         {"router", required_argument, NULL, OPT_ROUTER},
                                         {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
                                         {"no-router", no_argument, NULL, OPT_NO_ROUTER},
                                         {NULL, 0, NULL, 0}};
    cli_common common = {0};
    const char *to = NULL, *sessions = NULL, *router = NULL, *token_file = NULL;
    int no_router = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int c = cli_common_option(&common, opt, optarg);
        if (c < 0)
            return 2;
        if (c)
            continue;
        switch (opt) {
        case 'h':
            return cli_usage(stdout, usage, 0);
        case OPT_TO:
            to = optarg;
            break;
        case OPT_SESSIONS:
            sessions = optarg;
            break;
        case OPT_ROUTER:
            router = optarg;
            break;
        case OPT_TOKEN_FILE:
            token_file = optarg;
            break;
        case OPT_NO_ROUTER:
            no_router = 1;
            break;
        default:
            return cli_usage(stderr, usage, 2);
        }
    }
    if (argc - optind != 1)
        return cli_usage(stderr, usage, 2);
    const char *agent = argv[optind];
    if (sessions && strcmp(sessions, "drain") && strcmp(sessions, "migrate") &&
        strcmp(sessions, "terminate"))
        return cli_fail_usage("rollback", "--sessions is drain, migrate or terminate, not '%s'",
                              sessions);
    target t = {.router = router ? router : getenv("SLIPWAY_ROUTER"), .token = NULL};
    if (!t.router || !*t.router)
        t.router = "http://127.0.0.1:8700";
    char *token = NULL;
    if (token_file) {
        token = read_token(token_file);
        if (!token) {
            fprintf(stderr, "slipway rollback: cannot read the token file %s\n", token_file);
            return 2;
        }
    } else if (getenv("SLIPWAY_ROUTER_TOKEN")) {
        token = strdup(getenv("SLIPWAY_ROUTER_TOKEN"));
    }
    t.token = token;

    sw_engine *e = cli_engine(&common);
    sw_store_error err = {0};
    sw_store *s = sw_store_open(sw_engine_store(e), &err);
    sw_engine_free(e);
    if (!s) {
        fprintf(stderr, "slipway rollback: %s\n", err.message);
        free(token);
        return 1;
    }
    sw_rollback_request q = {.agent = agent,
                             .to = to,
                             .sessions = sessions,
                             .info = {.reason = "slipway rollback"},
                             .store = s,
                             .call = no_router ? NULL : admin,
                             .call_userdata = &t};
    char *res = NULL;
    char msg[1024] = "";
    int rc = sw_rollback_execute(&q, &res, msg, sizeof msg);
    sw_store_close(s);
    free(token);
    if (rc != 0) {
        fprintf(stderr, "slipway rollback: %s\n", msg);
        return 1;
    }
    json_t *r = json_loads(res, 0, NULL);
    if (common.json) {
        puts(res);
    } else {
        print_result(r);
    }
    json_decref(r);
    sw_free(res);
    return 0;
}
