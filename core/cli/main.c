/* main.c - `slipway`: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char usage[] =
    "usage: slipway COMMAND [ARGS]\n"
    "\n"
    "Ship AI agents to production safely: every change to a prompt, model, tool\n"
    "schema or parameter is a versioned release taken through a pipeline.\n"
    "\n"
    "Pipelines:\n"
    "  run PIPELINE          run a pipeline (exit 0 ok, 1 failed, 2 invalid, 3 interrupted)\n"
    "  check PIPELINE        validate a pipeline without running anything\n"
    "  resume RUN            continue an interrupted run from its last finished stage\n"
    "  runs [show RUN]       list runs, or show one\n"
    "\n"
    "Plugins:\n"
    "  plugins [show NAME]   list the stage plugins found, or describe one\n"
    "  new-plugin NAME [DIR] write a new plugin project (CMake, a test, a README)\n"
    "\n"
    "Releases:\n"
    "  releases SUBCOMMAND   list, show, diff, channels, create\n"
    "  tag ID NAME           give a release a human-readable tag\n"
    "  store init            create the release store's schema (a postgres:// --store)\n"
    "  store migrate         copy a state folder into a postgres:// store\n"
    "\n"
    "Router:\n"
    "  serve --config FILE   run the router (canary splits, shadow, pins, metrics)\n"
    "  routes [AGENT]        show a running router's routes\n"
    "  route SUBCOMMAND      set, rollback, pin: change a running router's routes\n"
    "  rollback AGENT        roll an agent back: router to stable, store candidate cleared\n"
    "\n"
    "Testing:\n"
    "  mock [--scenario F]   serve a mock model, OpenAI or Anthropic (demos, tests, benchmarks)\n"
    "  traffic --router URL  simulated users in multi-turn sessions through the router\n"
    "\n"
    "Options:\n"
    "  --version             print the version\n"
    "  -h, --help            this help; 'slipway COMMAND --help' for a command's\n"
    "\n"
    "Environment: SLIPWAY_STATE_DIR (default ./.slipway), SLIPWAY_STORE (the release\n"
    "store: a folder or a postgres:// URL; default the state folder), SLIPWAY_PLUGIN_PATH\n"
    "(folders separated by ':'), NO_COLOR.\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
    {"run", cmd_run},           {"check", cmd_check},     {"resume", cmd_resume},
    {"runs", cmd_runs},         {"plugins", cmd_plugins}, {"releases", cmd_releases},
    {"tag", cmd_tag},           {"mock", cmd_mock},       {"new-plugin", cmd_new_plugin},
    {"serve", cmd_serve},       {"routes", cmd_routes},   {"route", cmd_route},
    {"rollback", cmd_rollback}, {"traffic", cmd_traffic}, {"store", cmd_store},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(stderr, usage, 2);
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("slipway %s (plugin ABI %d.%d)\n", sw_version(), SW_ABI_MAJOR, SW_ABI_MINOR);
        return 0;
    }
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0)
        return cli_usage(stdout, usage, 0);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "slipway: unknown command '%s' (see 'slipway --help')\n", name);
    return 2;
}
