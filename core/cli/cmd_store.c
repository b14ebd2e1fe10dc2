/* cmd_store.c - `slipway store init`: make the release store ready (the database schema). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/store.h"

static const char usage[] =
    "usage: slipway store init [options]\n"
    "\n"
    "Make the release store ready. For a postgres:// store: connect, create the\n"
    "schema when the database has none (every command also does on first use), and\n"
    "refuse a schema newer than this slipway knows. A folder store needs nothing:\n"
    "its folders are made on first write.\n"
    "\n"
    "Options:\n"
    "  --store WHERE     a folder or a postgres:// URL (default $SLIPWAY_STORE, else\n"
    "                    the state folder); the password comes from PGPASSWORD or\n"
    "                    ~/.pgpass, never from the URL\n"
    "  --state-dir DIR   the state folder (default $SLIPWAY_STATE_DIR or ./.slipway)\n"
    "  --json            machine-readable output\n"
    "  -h, --help        this help\n";

int cmd_store(int argc, char **argv)
{
    cli_common c = {0};
    int parsed = cli_parse_common_only("store", usage, argc, argv, &c);
    if (parsed >= 0)
        return parsed;
    if (argc - optind != 1 || strcmp(argv[optind], "init") != 0)
        return cli_fail_usage("store", "expected 'store init'");
    sw_engine *e = cli_engine(&c);
    sw_store_error err = {0};
    sw_store *s = sw_store_open(sw_engine_store(e), &err);
    sw_engine_free(e);
    if (!s) {
        fprintf(stderr, "slipway store: %s\n", err.message);
        return err.status == SW_STORE_INVALID ? 2 : 1;
    }
    json_t *j =
        json_pack("{s:s, s:s}", "store", sw_store_location(s), "backend", sw_store_backend_name(s));
    if (c.json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else
        printf("release store ready: %s (%s)\n", sw_store_location(s), sw_store_backend_name(s));
    json_decref(j);
    sw_store_close(s);
    return 0;
}
