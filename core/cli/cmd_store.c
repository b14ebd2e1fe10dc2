/* cmd_store.c - `slipway store init`: make the release store ready (the database schema);
   `slipway store migrate`: copy a state folder into a database store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/store.h"

static const char usage[] =
    "usage: slipway store init [options]\n"
    "       slipway store migrate --from DIR [--to URL] [options]\n"
    "\n"
    "init: make the release store ready. For a postgres:// store: connect, create\n"
    "the schema when the database has none (every command also does on first use),\n"
    "and refuse a schema newer than this slipway knows. A folder store needs\n"
    "nothing: its folders are made on first write.\n"
    "\n"
    "migrate: copy the state folder DIR into the database store URL: its releases\n"
    "(manifests and files, each file once by SHA-256), every agent's channels with\n"
    "their whole history, its tags, and its runs (each run's files and journal, as a\n"
    "run on the database store writes them). Every release of DIR is checked against\n"
    "its digests first: a damaged one is named and nothing is copied. A database\n"
    "whose channel history for an agent is not DIR's (another history, a tag naming\n"
    "another release) is refused and nothing is copied. What the database holds\n"
    "already is not copied again: running it twice copies nothing new and says so.\n"
    "Everything copied is read back and checked against its SHA-256. Exit 0 done,\n"
    "1 a damaged folder, a conflict or a database error, 2 bad usage.\n"
    "\n"
    "Options:\n"
    "  --store WHERE     a folder or a postgres:// URL (default $SLIPWAY_STORE, else\n"
    "                    the state folder); the password comes from PGPASSWORD or\n"
    "                    ~/.pgpass, never from the URL (a URL holding one is refused)\n"
    "  --state-dir DIR   the state folder (default $SLIPWAY_STATE_DIR or ./.slipway)\n"
    "  --from DIR        migrate: the state folder to copy\n"
    "  --to URL          migrate: the postgres:// database to copy into (default\n"
    "                    --store, else $SLIPWAY_STORE)\n"
    "  --json            machine-readable output\n"
    "  -h, --help        this help\n";

enum { OPT_FROM = 1100, OPT_TO };

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

static int store_init(const cli_common *c)
{
    sw_engine *e = cli_engine(c);
    sw_store_error err = {0};
    sw_store *s = sw_store_open(sw_engine_store(e), &err);
    sw_engine_free(e);
    if (!s) {
        fprintf(stderr, "slipway store: %s\n", err.message);
        return err.status == SW_STORE_INVALID ? 2 : 1;
    }
    json_t *j =
        json_pack("{s:s, s:s}", "store", sw_store_location(s), "backend", sw_store_backend_name(s));
    if (c->json)
        print_json(j);
    else
        printf("release store ready: %s (%s)\n", sw_store_location(s), sw_store_backend_name(s));
    json_decref(j);
    sw_store_close(s);
    return 0;
}

static json_int_t count(const json_t *j, const char *part, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(j, part), key));
}

static void print_migration(const json_t *j)
{
    const char *to = json_string_value(json_object_get(j, "to"));
    const char *from = json_string_value(json_object_get(j, "from"));
    if (!json_is_true(json_object_get(j, "copied_anything")))
        printf("nothing new to copy: %s already holds everything of %s\n", to, from);
    else
        printf("migrated %s into %s\n", from, to);
    printf("  releases: %lld copied, %lld already there\n",
           (long long)count(j, "releases", "copied"), (long long)count(j, "releases", "present"));
    printf("  channels: %lld agent(s); %lld history entries and %lld tag(s) copied\n",
           (long long)count(j, "channels", "agents"),
           (long long)count(j, "channels", "history_copied"),
           (long long)count(j, "channels", "tags_copied"));
    printf("  runs:     %lld copied, %lld already there\n", (long long)count(j, "runs", "copied"),
           (long long)count(j, "runs", "present"));
    size_t i;
    json_t *note;
    json_array_foreach(json_object_get(j, "notes"), i, note)
    {
        printf("  note: %s\n", json_string_value(note));
    }
    printf("  every copied release and run read back and checked against its SHA-256\n");
}

static int store_migrate(const cli_common *c, const char *from, const char *to)
{
    if (!from)
        return cli_fail_usage("store", "migrate needs --from DIR (the state folder to copy)");
    if (!to)
        to = c->store ? c->store : getenv("SLIPWAY_STORE");
    if (!to || !*to)
        return cli_fail_usage("store", "migrate needs --to URL (a postgres:// database)");
    char *text = NULL;
    sw_store_error err = {0};
    sw_store_status st = sw_store_migrate(from, to, &text, &err);
    if (st != SW_STORE_OK) {
        fprintf(stderr, "slipway store migrate: %s\n", err.message);
        return st == SW_STORE_INVALID ? 2 : 1;
    }
    json_t *j = cli_json(text);
    if (c->json)
        print_json(j);
    else
        print_migration(j);
    json_decref(j);
    return 0;
}

int cmd_store(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {NULL, 0, NULL, 0}};
    cli_common c = {0};
    const char *from = NULL, *to = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int common = cli_common_option(&c, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        if (opt == 'h')
            return cli_usage(stdout, usage, 0);
        if (opt == OPT_FROM)
            from = optarg;
        else if (opt == OPT_TO)
            to = optarg;
        else
            return cli_fail_usage("store", "unknown option '%s'", argv[optind - 1]);
    }
    const char *sub = argc - optind == 1 ? argv[optind] : NULL;
    if (sub && strcmp(sub, "init") == 0 && !from && !to)
        return store_init(&c);
    if (sub && strcmp(sub, "migrate") == 0)
        return store_migrate(&c, from, to);
    return cli_fail_usage("store", "expected 'store init' or 'store migrate --from DIR --to URL'");
}
