/* cmd_mock.c - `slipway mock`: serve a mock model (Chat Completions, Responses, Messages). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/mock.h"

static const char usage[] =
    "usage: slipway mock [--scenario FILE] [--listen HOST:PORT] [--port-file PATH] [--check]\n"
    "\n"
    "Serve a mock model on a loopback address, answering by the rules of a scenario\n"
    "file (see docs/mock.md): POST /v1/chat/completions, /v1/responses (OpenAI) and\n"
    "/v1/messages (Anthropic), streaming too; GET /v1/models, GET /mock/stats.\n"
    "Without --scenario, any request gets a short text.\n"
    "Stops cleanly on SIGINT or SIGTERM (exit 0).\n"
    "\n"
    "Options:\n"
    "  --scenario FILE    the scenario (YAML)\n"
    "  --listen ADDR      HOST:PORT to listen on (default 127.0.0.1:0: a free port)\n"
    "  --port-file PATH   once listening, write the port there (atomically)\n"
    "  --check            validate the scenario and exit (0 valid, 2 invalid)\n"
    "  --max-body BYTES   largest request body accepted (default 4194304)\n"
    "  --threads N        threads answering requests (default 1)\n"
    "  --json             with --check: the diagnostics as JSON\n"
    "  -h, --help         this help\n";

enum { OPT_SCENARIO = 2000, OPT_LISTEN, OPT_PORT_FILE, OPT_CHECK, OPT_MAX_BODY, OPT_THREADS };

static sw_mock *volatile running;

static void on_signal(int sig)
{
    if (running)
        sw_mock_request_stop(running);
}

static int parse_count(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || text[0] == '-' || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int check_only(const char *path, sw_mock_scenario *sc, const sw_diags *d, int json)
{
    if (json)
        cli_print_diags_json(d);
    else
        cli_print_diags(d);
    if (!sc)
        return 2;
    if (!json) {
        size_t n = sw_mock_scenario_rule_count(sc);
        printf("%s: ok (%zu rule%s)\n", path ? path : "<built-in>", n, n == 1 ? "" : "s");
    }
    sw_mock_scenario_free(sc);
    return 0;
}

int cmd_mock(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"scenario", required_argument, NULL, OPT_SCENARIO},
                                         {"listen", required_argument, NULL, OPT_LISTEN},
                                         {"port-file", required_argument, NULL, OPT_PORT_FILE},
                                         {"check", no_argument, NULL, OPT_CHECK},
                                         {"max-body", required_argument, NULL, OPT_MAX_BODY},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {0, 0, 0, 0}};
    cli_common c = {0};
    const char *scenario = NULL, *listen_at = "127.0.0.1:0", *port_file = NULL;
    int check = 0;
    unsigned long long max_body = 0, threads = 1;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int common = cli_common_option(&c, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        switch (opt) {
        case 'h':
            return cli_usage(stdout, usage, 0);
        case OPT_SCENARIO:
            scenario = optarg;
            break;
        case OPT_LISTEN:
            listen_at = optarg;
            break;
        case OPT_PORT_FILE:
            port_file = optarg;
            break;
        case OPT_CHECK:
            check = 1;
            break;
        case OPT_MAX_BODY:
            if (parse_count(optarg, 1ull << 32, &max_body) < 0)
                return cli_fail_usage("mock", "--max-body: expected a byte count, got '%s'",
                                      optarg);
            break;
        case OPT_THREADS:
            if (parse_count(optarg, 256, &threads) < 0)
                return cli_fail_usage("mock", "--threads: expected 1 to 256, got '%s'", optarg);
            break;
        default:
            return cli_fail_usage("mock", "bad option");
        }
    }
    if (optind < argc)
        return cli_fail_usage("mock", "unexpected argument '%s'", argv[optind]);

    sw_diags *d = sw_diags_new();
    sw_mock_scenario *sc =
        scenario ? sw_mock_scenario_load(scenario, d) : sw_mock_scenario_default();
    if (check) {
        int rc = check_only(scenario, sc, d, c.json);
        sw_diags_free(d);
        return rc;
    }
    cli_print_diags(d);
    if (!sc) {
        sw_diags_free(d);
        return 2;
    }
    sw_diags_free(d);
    d = sw_diags_new();

    sw_mock *m = sw_mock_new(sc);
    sw_mock_set_max_body(m, (size_t)max_body);
    sw_mock_set_threads(m, (unsigned)threads);
    /* Handlers first, so a signal that comes as soon as the port is known is not lost. */
    running = m;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    if (sw_mock_listen(m, listen_at, d) < 0) {
        cli_print_diags(d);
        rc = 2;
    } else {
        /* The URL first: a script that sees the port file may read it at once. */
        printf("listening on %s\n", sw_mock_url(m));
        fflush(stdout);
        if (port_file && sw_mock_write_port_file(m, port_file, d) < 0) {
            cli_print_diags(d);
            rc = 2;
        } else {
            size_t n = sw_mock_scenario_rule_count(sc);
            fprintf(stderr, "slipway mock: scenario %s (%zu rule%s); stop with Ctrl-C\n",
                    scenario ? scenario : "<built-in>", n, n == 1 ? "" : "s");
            sw_mock_wait(m);
        }
    }
    running = NULL;
    sw_mock_free(m);
    sw_diags_free(d);
    return rc;
}
