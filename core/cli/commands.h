/*
 * commands.h - the `slipway` subcommands. Each takes the arguments after the
 * command name (argv[0] is the command name itself), parses its own options
 * with getopt_long, and returns the process exit code (0 ok, 1 failed,
 * 2 invalid input or usage, 3 interrupted).
 *
 * Shared by every command: --state-dir DIR (else $SLIPWAY_STATE_DIR, else
 * ./.slipway), --store LOCATION (the release store: else $SLIPWAY_STORE, else the
 * state folder), --json for machine output, NO_COLOR respected.
 */
#ifndef SW_CLI_COMMANDS_H
#define SW_CLI_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_releases(int argc, char **argv); /* list | show | diff | channels | create */
int cmd_tag(int argc, char **argv);
int cmd_serve(int argc, char **argv);      /* the router */
int cmd_routes(int argc, char **argv);     /* routes [AGENT]: read the router's routes */
int cmd_route(int argc, char **argv);      /* route set | rollback | pin: change them */
int cmd_new_plugin(int argc, char **argv); /* NAME [DIR]: a plugin project from the SDK template */
int cmd_mock(int argc, char **argv);       /* an OpenAI-compatible mock model server */
int cmd_rollback(int argc, char **argv);   /* AGENT: router to stable, store candidate cleared */
int cmd_traffic(int argc, char **argv);    /* simulated users through the router */
int cmd_store(int argc, char **argv);      /* store init: make the release store ready */

#endif
