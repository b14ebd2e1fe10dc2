/*
 * cmd_serve.c - `slipway serve --config router.yaml`: run the router until
 * SIGINT or SIGTERM, then save its state (routes and pins) and exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "slipway/router.h"

static const char usage[] =
    "usage: slipway serve --config ROUTER.yaml [options]\n"
    "\n"
    "Run the router: applications send model requests to it (OpenAI Chat Completions\n"
    "or Responses, Anthropic Messages), naming the agent as the model; it picks a version per "
    "session (pins, targeting rules,\n"
    "sticky canary split), forwards the request, streams the answer back, shadows a\n"
    "share of sessions to another version, and counts everything per version. In gateway\n"
    "mode it applies the release in its provider's protocol, translating when the\n"
    "application and the provider differ (Chat Completions <-> Anthropic Messages, and\n"
    "Responses -> either).\n"
    "See docs/router.md.\n"
    "\n"
    "Options:\n"
    "  --config FILE       the router configuration (required)\n"
    "  --listen HOST:PORT  override the file's listen address (port 0: any free port)\n"
    "  --port-file FILE    write the port listened on to FILE once ready\n"
    "  --state-file FILE   override the file's state_file (routes and pins)\n"
    "  --store WHERE       the release store gateway agents read: a folder or a\n"
    "                      postgres:// URL, overriding the file's store (default: the\n"
    "                      file's, else $SLIPWAY_STORE)\n"
    "  -q, --quiet         log errors only\n"
    "  -h, --help          this help\n"
    "\n"
    "Stops on SIGINT or SIGTERM, saving its state first.\n";

static sw_router *signal_router;

static void on_signal(int sig)
{
    (void)sig;
    if (signal_router)
        sw_router_stop(signal_router);
}

typedef struct logctx {
    int quiet;
} logctx;

static void log_line(void *ud, sw_log_level level, const char *msg)
{
    const logctx *l = ud;
    if (l->quiet && level < SW_LOG_ERROR)
        return;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "slipway serve: %s: %s\n", names[level], msg);
}

/* Many slow LLM calls at once need two descriptors each. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int write_port_file(const char *path, int port)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        return -1;
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%d\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    /* Renamed into place, so a reader never sees a half-written number. */
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int cmd_serve(int argc, char **argv)
{
    enum { OPT_CONFIG = 2000, OPT_LISTEN, OPT_PORT_FILE, OPT_STATE_FILE, OPT_SERVE_STORE };
    static const struct option opts[] = {{"config", required_argument, NULL, OPT_CONFIG},
                                         {"listen", required_argument, NULL, OPT_LISTEN},
                                         {"port-file", required_argument, NULL, OPT_PORT_FILE},
                                         {"state-file", required_argument, NULL, OPT_STATE_FILE},
                                         {"store", required_argument, NULL, OPT_SERVE_STORE},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL, *port_file = NULL;
    sw_router_options ro = {0};
    logctx lc = {0};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_LISTEN:
            ro.listen = optarg;
            break;
        case OPT_PORT_FILE:
            port_file = optarg;
            break;
        case OPT_STATE_FILE:
            ro.state_file = optarg;
            break;
        case OPT_SERVE_STORE:
            /* Also for the file's check that gateway agents have a store. */
            setenv("SLIPWAY_STORE", optarg, 1);
            ro.store = optarg;
            break;
        case 'q':
            lc.quiet = 1;
            break;
        case 'h':
            return cli_usage(stdout, usage, 0);
        default:
            return cli_fail_usage("serve", "bad option");
        }
    }
    if (!config)
        return cli_fail_usage("serve", "missing --config ROUTER.yaml");
    if (optind != argc)
        return cli_fail_usage("serve", "unexpected argument '%s'", argv[optind]);
    ro.log = log_line;
    ro.log_userdata = &lc;
    raise_fd_limit();
    sw_diags *d = sw_diags_new();
    sw_router *r = sw_router_load(config, &ro, d);
    if (r && sw_router_start(r, d) < 0) {
        sw_router_free(r);
        r = NULL;
    }
    cli_print_diags(d);
    sw_diags_free(d);
    if (!r)
        return 2;
    signal_router = r;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int port = sw_router_port(r);
    if (port_file && write_port_file(port_file, port) < 0) {
        fprintf(stderr, "slipway serve: cannot write %s: %s\n", port_file, strerror(errno));
        signal_router = NULL;
        sw_router_free(r);
        return 1;
    }
    if (!lc.quiet)
        fprintf(stderr, "slipway serve: listening on port %d\n", port);
    int rc = sw_router_run(r);
    signal_router = NULL;
    sw_router_free(r);
    if (!lc.quiet)
        fprintf(stderr, "slipway serve: stopped\n");
    return rc == 0 ? 0 : 1;
}
