/*
 * cli.h - what the subcommands share: common options, the engine they make,
 * diagnostics and JSON output. Everything here is built on the public API.
 */
#ifndef SW_CLI_CLI_H
#define SW_CLI_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "slipway/slipway.h"

/* Long options every command accepts, and their codes. */
enum {
    OPT_STATE_DIR = 1000,
    OPT_STORE,
    OPT_PLUGIN_PATH,
    OPT_JSON,
    OPT_HELP,
    OPT_SET,
    OPT_VERBOSE,
    OPT_QUIET
};

#define CLI_COMMON_OPTIONS                                                                         \
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},                                         \
        {"store", required_argument, NULL, OPT_STORE},                                             \
        {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},                                 \
        {"json", no_argument, NULL, OPT_JSON},                                                     \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

typedef struct cli_common {
    const char *state_dir;
    const char *store; /* the release store: a folder or a postgres:// URL */
    const char *plugin_dirs[32];
    int n_plugin_dirs;
    int json;
} cli_common;

/* Handle a common option; returns 1 when opt was one, 0 otherwise, -1 on error. */
int cli_common_option(cli_common *c, int opt, const char *arg);
/* Parse argv (argv[0] the command) for a command taking only the common options:
   -1 to go on with the operands from optind, else the exit code (help, bad option). */
int cli_parse_common_only(const char *cmd, const char *usage, int argc, char **argv, cli_common *c);
/* An engine configured from the common options. */
sw_engine *cli_engine(const cli_common *c);
/* Print every diagnostic to stderr ("file:line:col: error: ...", colored on a terminal). */
void cli_print_diags(const sw_diags *d);
/* Print the diagnostics as a JSON array to stdout. */
void cli_print_diags_json(const sw_diags *d);
/* Print usage text for a command and return the exit code given. */
int cli_usage(FILE *out, const char *text, int code);
/* An error message "slipway CMD: ..." on stderr; returns 2. */
int cli_fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Terminal styling: empty strings when stderr/stdout is not a terminal or NO_COLOR is set. */
typedef struct cli_style {
    const char *bold, *dim, *red, *green, *yellow, *cyan, *reset;
    int tty;
} cli_style;
cli_style cli_style_for(FILE *stream);

/* A command that lists things ("runs") or shows one ("runs show RUN"), taking only
   the common options: the library gives JSON, printed as is with --json, else by
   the command's printers. */
typedef struct cli_list_show {
    const char *cmd;   /* "runs" */
    const char *usage; /* its --help text */
    const char *what;  /* "RUN": the argument of show, for messages */
    char *(*list)(sw_engine *e, sw_diags *d);
    char *(*show)(sw_engine *e, const char *name, sw_diags *d);
    void (*print_list)(json_t *j);
    void (*print_one)(json_t *j);
} cli_list_show;
int cli_list_or_show(const cli_list_show *spec, int argc, char **argv);

/* Parse JSON text returned by the library (never fails for library output). */
json_t *cli_json(char *text_to_free);

#endif
