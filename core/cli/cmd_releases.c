/* cmd_releases.c - `slipway releases ...` and `slipway tag`: the release store from
   the command line, on the public API (slipway/store.h) only. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "slipway/store.h"

#define COMMON_HELP                                                                                \
    "  --state-dir DIR   the state folder (default $SLIPWAY_STATE_DIR or ./.slipway)\n"            \
    "  --store WHERE     the release store: a folder or a postgres:// URL (default\n"              \
    "                    $SLIPWAY_STORE, else the state folder)\n"                                 \
    "  --json            machine-readable output\n"                                                \
    "  -h, --help        this help\n"

#define REF_HELP                                                                                   \
    "A release REF is an id, a unique prefix of one (4 or more hex digits), or\n"                  \
    "AGENT:NAME where NAME is stable, candidate, a tag or an id prefix.\n"

static const char usage[] =
    "usage: slipway releases SUBCOMMAND [ARGS] [options]\n"
    "\n"
    "The release store: every agent version as one immutable, content-addressed\n"
    "release, and the channels (stable, candidate) that point at releases.\n"
    "\n"
    "Subcommands:\n"
    "  list [AGENT]                 releases of AGENT (of every agent when omitted), oldest first\n"
    "  show REF                     one release: model, prompts, tools, files; verified\n"
    "  diff A B                     what changed from release A to release B\n"
    "  channels AGENT               stable, candidate, tags and the history of changes\n"
    "  create BUNDLE                validate BUNDLE and store it as a release, without a pipeline\n"
    "  set AGENT CHANNEL REF|none   point a channel at a release (compare-and-swap)\n"
    "  rollback AGENT [REF]         stable := REF (default: the stable before it); clears "
    "candidate\n"
    "\n" REF_HELP "\n"
    "Options:\n" COMMON_HELP "\n"
    "'slipway releases SUBCOMMAND --help' describes a subcommand's own options.\n";

static const char usage_list[] = "usage: slipway releases list [AGENT] [options]\n"
                                 "\n"
                                 "The releases of AGENT, or of every agent, oldest first, with\n"
                                 "the channels and tags naming each.\n"
                                 "\n"
                                 "Options:\n" COMMON_HELP;

static const char usage_show[] =
    "usage: slipway releases show REF [options]\n"
    "\n"
    "One release: when and by whom it was made, its model, parameters, prompts,\n"
    "tools and files, and whether it is whole (its manifest hashes to its id and\n"
    "every file to its SHA-256). Exit 1 when it is not.\n"
    "\n" REF_HELP "\n"
    "Options:\n" COMMON_HELP;

static const char usage_diff[] =
    "usage: slipway releases diff A B [options]\n"
    "\n"
    "What changed from release A to release B: model, parameters, pricing, prompt\n"
    "text (unified diff) and tool schemas, each schema change classified as\n"
    "breaking or compatible.\n"
    "\n" REF_HELP "\n"
    "Options:\n" COMMON_HELP;

static const char usage_channels[] = "usage: slipway releases channels AGENT [options]\n"
                                     "\n"
                                     "The stable and candidate releases of AGENT, its tags, and\n"
                                     "every change made to them (who, when, why, run).\n"
                                     "\n"
                                     "Options:\n" COMMON_HELP;

static const char usage_create[] =
    "usage: slipway releases create BUNDLE [options]\n"
    "\n"
    "Validate the agent bundle in BUNDLE (agent.yaml, prompts/*.md, tools/*.json),\n"
    "and store it as a release. The same content gives the same id: creating it\n"
    "again is a no-op that reports the existing release. Does not move stable.\n"
    "\n"
    "Options:\n"
    "  --agent NAME            the agent's name, instead of agent.yaml's\n"
    "  --allow-dirty           accept a bundle in a git work tree with uncommitted changes\n"
    "  --allow-floating-alias  accept a floating model alias (gpt-4o, *-latest)\n"
    "  --deny-model GLOB       also refuse models matching GLOB (repeatable)\n"
    "  --var KEY=VALUE         a value for the prompts' {{KEY}} (repeatable)\n"
    "  --max-bytes N           cap on the bundle's size (default 10485760)\n"
    "  --candidate             point the candidate channel at the release\n"
    "  --reason TEXT           why, for the channel history\n" COMMON_HELP;

static const char usage_set[] =
    "usage: slipway releases set AGENT CHANNEL REF|none [options]\n"
    "\n"
    "Point CHANNEL (stable or candidate) of AGENT at a release, or clear it with\n"
    "'none'. The change is a compare-and-swap: it fails (exit 1) when the channel\n"
    "no longer holds the value expected.\n"
    "\n"
    "Options:\n"
    "  --expect REF|none   the value the channel must hold (default: its value when read)\n"
    "  --reason TEXT       why, for the channel history\n" COMMON_HELP;

static const char usage_rollback[] =
    "usage: slipway releases rollback AGENT [REF] [options]\n"
    "\n"
    "Point stable at REF (default: the release stable held before its current one)\n"
    "and clear candidate, in one change recorded in the history.\n"
    "\n"
    "Options:\n"
    "  --expect REF      fail (exit 1) unless stable still holds REF\n"
    "  --reason TEXT     why, for the channel history\n" COMMON_HELP;

static const char usage_tag[] =
    "usage: slipway tag REF NAME [options]\n"
    "\n"
    "Give a release a human-readable name (e.g. v1.4.0), usable as AGENT:NAME.\n"
    "Tags do not move: naming another release with an existing tag fails.\n"
    "\n" REF_HELP "\n"
    "Options:\n"
    "  --reason TEXT     why, for the channel history\n" COMMON_HELP;

enum {
    OPT_AGENT = 2000,
    OPT_ALLOW_DIRTY,
    OPT_ALLOW_FLOATING,
    OPT_DENY_MODEL,
    OPT_VAR,
    OPT_MAX_BYTES,
    OPT_CANDIDATE,
    OPT_REASON,
    OPT_EXPECT
};

typedef struct args {
    cli_common common;
    const char *agent;
    int allow_dirty, allow_floating, set_candidate;
    json_t *deny; /* array */
    json_t *vars; /* object */
    long long max_bytes;
    const char *reason;
    const char *expect;
    int has_expect;
    char **pos; /* positional arguments */
    int npos;
} args;

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int exit_for(sw_store_status st)
{
    switch (st) {
    case SW_STORE_OK:
        return 0;
    case SW_STORE_INVALID:
        return 2;
    default:
        return 1;
    }
}

static int store_error(const char *cmd, const sw_store_error *err)
{
    cli_style s = cli_style_for(stderr);
    fprintf(stderr, "%sslipway %s: %s%s\n", s.red, cmd, err->message, s.reset);
    return exit_for(err->status);
}

/* Parse options for subcommand `name`; returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, const char *name, const char *help, args *a)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"agent", required_argument, NULL, OPT_AGENT},
        {"allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY},
        {"allow-floating-alias", no_argument, NULL, OPT_ALLOW_FLOATING},
        {"deny-model", required_argument, NULL, OPT_DENY_MODEL},
        {"var", required_argument, NULL, OPT_VAR},
        {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
        {"candidate", no_argument, NULL, OPT_CANDIDATE},
        {"reason", required_argument, NULL, OPT_REASON},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {0, 0, 0, 0}};
    /* Options a subcommand does not list in its help are refused. */
    int create = strcmp(name, "releases create") == 0;
    int changes = strcmp(name, "releases set") == 0 || strcmp(name, "releases rollback") == 0;
    optind = 0; /* GNU getopt: start over, main may have parsed before */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int common = cli_common_option(&a->common, opt, optarg);
        if (common < 0)
            return 2;
        if (common)
            continue;
        if (opt == 'h')
            return cli_usage(stdout, help, 0);
        if (opt == OPT_REASON && (create || changes || strcmp(name, "tag") == 0)) {
            a->reason = optarg;
        } else if (opt == OPT_EXPECT && changes) {
            a->expect = strcmp(optarg, "none") == 0 ? NULL : optarg;
            a->has_expect = 1;
        } else if (create && opt == OPT_AGENT) {
            a->agent = optarg;
        } else if (create && opt == OPT_ALLOW_DIRTY) {
            a->allow_dirty = 1;
        } else if (create && opt == OPT_ALLOW_FLOATING) {
            a->allow_floating = 1;
        } else if (create && opt == OPT_CANDIDATE) {
            a->set_candidate = 1;
        } else if (create && opt == OPT_DENY_MODEL) {
            json_array_append_new(a->deny, json_string(optarg));
        } else if (create && opt == OPT_VAR) {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return cli_fail_usage(name, "--var wants KEY=VALUE, not '%s'", optarg);
            char *key = strndup(optarg, (size_t)(eq - optarg));
            json_object_set_new(a->vars, key, json_string(eq + 1));
            free(key);
        } else if (create && opt == OPT_MAX_BYTES) {
            char *end;
            a->max_bytes = strtoll(optarg, &end, 10);
            if (*end || a->max_bytes <= 0)
                return cli_fail_usage(name, "--max-bytes wants a positive number, not '%s'",
                                      optarg);
        } else {
            return cli_fail_usage(name, "unknown option '%s'", argv[optind - 1]);
        }
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    return -1;
}

static char *store_location(const args *a)
{
    sw_engine *e = cli_engine(&a->common);
    char *where = strdup(sw_engine_store(e));
    sw_engine_free(e);
    return where;
}

static void print_text(const char *json_text)
{
    fputs(json_text, stdout);
    fputc('\n', stdout);
}

/* ---- list ---- */

static void print_rows(const json_t *rows, int *damaged)
{
    cli_style s = cli_style_for(stdout);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        if (json_object_get(r, "damaged")) {
            printf("%-20s %-12s %sDAMAGED: %s%s\n", str(r, "agent"), str(r, "id"), s.red,
                   str(r, "damaged"), s.reset);
            (*damaged)++;
            continue;
        }
        char names[512] = "";
        size_t n = 0;
        static const char *const lists[] = {"channels", "tags"};
        for (int l = 0; l < 2; l++) {
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(r, lists[l]), k, v)
            {
                n += (size_t)snprintf(names + n, n < sizeof names ? sizeof names - n : 0, "%s%s",
                                      n ? " " : "", json_string_value(v));
                if (n >= sizeof names)
                    n = sizeof names - 1;
            }
        }
        printf("%-20s %s%-12s%s %-24s %-12s %-26s %s%s%s\n", str(r, "agent"), s.bold, str(r, "id"),
               s.reset, str(r, "created_at"), str(r, "created_by"), str(r, "model"), s.green, names,
               s.reset);
    }
}

static int do_list(sw_store *st, const args *a)
{
    sw_store_error err = {0};
    json_t *agents;
    if (a->npos > 1)
        return cli_fail_usage("releases list", "expected at most one AGENT");
    if (a->npos == 1)
        agents = json_pack("[s]", a->pos[0]);
    else {
        char *text;
        sw_store_agents(st, &text, &err);
        agents = cli_json(text);
    }
    json_t *all = json_array();
    int rc = 0;
    size_t i;
    json_t *name;
    json_array_foreach(agents, i, name)
    {
        char *text;
        sw_store_status s = sw_store_releases(st, json_string_value(name), &text, &err);
        if (s == SW_STORE_NOT_FOUND && a->npos == 0)
            continue;
        if (s != SW_STORE_OK) {
            rc = store_error("releases list", &err);
            break;
        }
        json_t *rows = cli_json(text);
        json_array_extend(all, rows);
        json_decref(rows);
    }
    json_decref(agents);
    int damaged = 0;
    if (rc == 0) {
        if (a->common.json) {
            char *t = json_dumps(all, JSON_COMPACT);
            print_text(t);
            free(t);
            json_array_foreach(all, i, name) damaged += json_object_get(name, "damaged") != NULL;
        } else if (json_array_size(all) == 0) {
            printf("no releases in %s\n", sw_store_location(st));
        } else {
            cli_style s = cli_style_for(stdout);
            printf("%s%-20s %-12s %-24s %-12s %-26s %s%s\n", s.bold, "AGENT", "ID", "CREATED", "BY",
                   "MODEL", "CHANNELS/TAGS", s.reset);
            print_rows(all, &damaged);
        }
    }
    json_decref(all);
    if (rc == 0 && damaged) {
        fprintf(stderr, "slipway releases list: %d damaged release(s)\n", damaged);
        rc = 1;
    }
    return rc;
}

/* ---- show ---- */

static size_t count_lines(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}

static void print_value(const json_t *v)
{
    if (json_is_real(v))
        printf("%g", json_real_value(v));
    else if (json_is_string(v))
        printf("%s", json_string_value(v));
    else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s", t ? t : "");
        free(t);
    }
}

static void print_manifest(const json_t *m, const json_t *names, const char *dir,
                           const char *verify_error)
{
    cli_style s = cli_style_for(stdout);
    printf("%srelease %s%s  agent %s\n", s.bold, str(m, "id"), s.reset, str(m, "agent"));
    if (json_object_get(m, "description"))
        printf("  %s\n", str(m, "description"));
    printf("created     %s by %s", str(m, "created_at"), str(m, "created_by"));
    if (json_is_string(json_object_get(m, "run_id")))
        printf(" (run %s)", str(m, "run_id"));
    printf("\n");
    json_t *model = json_object_get(m, "model");
    printf("model       %s/%s%s\n", str(model, "provider"), str(model, "name"),
           json_is_true(json_object_get(model, "floating")) ? "  (floating alias, allowed)" : "");
    json_t *src = json_object_get(m, "source");
    if (json_is_string(json_object_get(src, "commit")))
        printf("source      commit %s%s\n", str(src, "commit"),
               json_is_true(json_object_get(src, "dirty")) ? " (with uncommitted changes)" : "");
    else
        printf("source      not from a git work tree\n");
    if (*str(names, "text"))
        printf("names       %s%s%s\n", s.green, str(names, "text"), s.reset);
    const char *key;
    json_t *v;
    printf("parameters ");
    json_object_foreach(json_object_get(m, "parameters"), key, v)
    {
        printf(" %s=", key);
        print_value(v);
    }
    printf("\n");
    json_t *pricing = json_object_get(m, "pricing");
    if (json_is_object(pricing)) {
        printf("pricing    ");
        json_object_foreach(pricing, key, v)
        {
            printf(" %s=", key);
            print_value(v);
        }
        printf("\n");
    }
    json_object_foreach(json_object_get(m, "prompts"), key, v)
    {
        printf("prompt      %s  (%s, %zu lines)\n", key, str(v, "file"),
               count_lines(str(v, "text")));
    }
    size_t i;
    json_array_foreach(json_object_get(m, "tools"), i, v)
    {
        printf("tool        %-24s %s\n", str(v, "name"), str(v, "side_effect"));
    }
    printf("files\n");
    json_object_foreach(json_object_get(m, "files"), key, v)
    {
        printf("  %-36s %8lld B  %s\n", key,
               (long long)json_integer_value(json_object_get(v, "bytes")), str(v, "sha256"));
    }
    printf("folder      %s\n", dir);
    if (verify_error)
        printf("verified    %sNO: %s%s\n", s.red, verify_error, s.reset);
    else
        printf("verified    %syes%s: the manifest hashes to its id, every file to its SHA-256\n",
               s.green, s.reset);
}

/* The channels and tags naming a release, as {"channels": [...], "tags": [...], "text"}. */
static json_t *names_of(sw_store *st, const char *agent, const char *id)
{
    char *text = NULL;
    json_t *out = json_pack("{s:[], s:[]}", "channels", "tags");
    if (sw_store_channels(st, agent, &text, NULL) != SW_STORE_OK)
        return out;
    json_t *ch = cli_json(text);
    char buf[512] = "";
    static const char *const chans[] = {"stable", "candidate"};
    for (int i = 0; i < 2; i++)
        if (strcmp(str(ch, chans[i]), id) == 0) {
            json_array_append_new(json_object_get(out, "channels"), json_string(chans[i]));
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", *buf ? " " : "",
                     chans[i]);
        }
    const char *tag;
    json_t *v;
    json_object_foreach(json_object_get(ch, "tags"), tag, v)
    {
        if (strcmp(json_string_value(v), id) == 0) {
            json_array_append_new(json_object_get(out, "tags"), json_string(tag));
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", *buf ? " " : "", tag);
        }
    }
    json_object_set_new(out, "text", json_string(buf));
    json_decref(ch);
    return out;
}

static int resolve(sw_store *st, const char *cmd, const char *agent, const char *ref,
                   char **agent_out, char **id_out)
{
    sw_store_error err = {0};
    if (sw_store_resolve(st, agent, ref, agent_out, id_out, &err) != SW_STORE_OK)
        return store_error(cmd, &err);
    return 0;
}

static int do_show(sw_store *st, const args *a)
{
    if (a->npos != 1)
        return cli_fail_usage("releases show", "expected one release REF");
    char *agent, *id;
    int rc = resolve(st, "releases show", NULL, a->pos[0], &agent, &id);
    if (rc)
        return rc;
    sw_store_error err = {0};
    char *mtext = NULL, *dir = NULL;
    if (sw_store_manifest(st, agent, id, &mtext, &err) != SW_STORE_OK ||
        sw_store_release_dir(st, agent, id, &dir, &err) != SW_STORE_OK) {
        rc = store_error("releases show", &err);
        goto out;
    }
    sw_store_error verr = {0};
    int verified = sw_store_verify(st, agent, id, &verr) == SW_STORE_OK;
    json_t *names = names_of(st, agent, id);
    if (a->common.json) {
        /* The manifest is spliced in as the library wrote it (shortest doubles). */
        json_t *head =
            json_pack("{s:s, s:s, s:s, s:b, s:O, s:O}", "agent", agent, "id", id, "dir", dir,
                      "verified", verified, "channels", json_object_get(names, "channels"), "tags",
                      json_object_get(names, "tags"));
        if (!verified)
            json_object_set_new(head, "verify_error", json_string(verr.message));
        char *h = json_dumps(head, JSON_COMPACT);
        h[strlen(h) - 1] = '\0';
        printf("%s,\"manifest\":%s}\n", h, mtext);
        free(h);
        json_decref(head);
    } else {
        json_t *m = json_loads(mtext, 0, NULL);
        print_manifest(m, names, dir, verified ? NULL : verr.message);
        json_decref(m);
    }
    json_decref(names);
    if (!verified) {
        fprintf(stderr, "slipway releases show: %s\n", verr.message);
        rc = 1;
    }
out:
    sw_free(mtext);
    sw_free(dir);
    sw_free(agent);
    sw_free(id);
    return rc;
}

/* ---- diff ---- */

static int do_diff(sw_store *st, const args *a)
{
    if (a->npos != 2)
        return cli_fail_usage("releases diff", "expected two release REFs: A B");
    char *agent_a = NULL, *id_a = NULL, *agent_b = NULL, *id_b = NULL;
    int rc = resolve(st, "releases diff", NULL, a->pos[0], &agent_a, &id_a);
    if (!rc)
        rc = resolve(st, "releases diff", NULL, a->pos[1], &agent_b, &id_b);
    if (!rc) {
        sw_store_error err = {0};
        char *json = NULL, *text = NULL;
        if (sw_store_diff(st, agent_a, id_a, agent_b, id_b, &json, &text, &err) != SW_STORE_OK)
            rc = store_error("releases diff", &err);
        else if (a->common.json)
            print_text(json);
        else
            fputs(text, stdout);
        sw_free(json);
        sw_free(text);
    }
    sw_free(agent_a);
    sw_free(id_a);
    sw_free(agent_b);
    sw_free(id_b);
    return rc;
}

/* ---- channels ---- */

static int do_channels(sw_store *st, const args *a)
{
    if (a->npos != 1)
        return cli_fail_usage("releases channels", "expected one AGENT");
    sw_store_error err = {0};
    char *text;
    if (sw_store_channels(st, a->pos[0], &text, &err) != SW_STORE_OK)
        return store_error("releases channels", &err);
    if (a->common.json) {
        print_text(text);
        sw_free(text);
        return 0;
    }
    json_t *ch = cli_json(text);
    cli_style s = cli_style_for(stdout);
    printf("%sagent %s%s\n", s.bold, a->pos[0], s.reset);
    const char *stable = str(ch, "stable"), *cand = str(ch, "candidate");
    printf("stable      %s%s%s\n", s.green, *stable ? stable : "(none)", s.reset);
    printf("candidate   %s%s%s\n", s.yellow, *cand ? cand : "(none)", s.reset);
    const char *tag;
    json_t *v;
    json_object_foreach(json_object_get(ch, "tags"), tag, v)
    {
        printf("tag         %-16s %s\n", tag, json_string_value(v));
    }
    json_t *h = json_object_get(ch, "history");
    if (json_array_size(h))
        printf("%shistory%s\n", s.bold, s.reset);
    size_t i;
    json_array_foreach(h, i, v)
    {
        const char *what = json_object_get(v, "tag") ? str(v, "tag") : str(v, "channel");
        const char *from = str(v, "from"), *to = str(v, "to");
        printf("  #%-3lld %s  %-10s %-8s %-10s %s -> %s",
               (long long)json_integer_value(json_object_get(v, "seq")), str(v, "at"), str(v, "by"),
               str(v, "action"), what, *from ? from : "(none)", *to ? to : "(none)");
        if (*str(v, "reason"))
            printf("  \"%s\"", str(v, "reason"));
        if (*str(v, "run_id"))
            printf("  run %s", str(v, "run_id"));
        printf("\n");
    }
    json_decref(ch);
    return 0;
}

/* ---- create ---- */

static int do_create(sw_store *st, args *a)
{
    if (a->npos != 1)
        return cli_fail_usage("releases create", "expected one BUNDLE folder");
    char *deny = json_dumps(a->deny, JSON_COMPACT), *vars = json_dumps(a->vars, JSON_COMPACT);
    sw_release_options o = {.agent = a->agent,
                            .allow_dirty = a->allow_dirty,
                            .allow_floating_alias = a->allow_floating,
                            .deny_models_json = deny,
                            .vars_json = vars,
                            .max_bundle_bytes = (size_t)a->max_bytes,
                            .set_candidate = a->set_candidate,
                            .info = {.reason = a->reason ? a->reason : "slipway releases create"}};
    sw_diags *d = sw_diags_new();
    sw_store_error err = {0};
    char *res = NULL;
    sw_store_status s = sw_store_create_release(st, a->pos[0], &o, d, &res, &err);
    if (a->common.json && s != SW_STORE_OK)
        cli_print_diags_json(d);
    else
        cli_print_diags(d);
    int rc = 0;
    if (s != SW_STORE_OK) {
        rc = store_error("releases create", &err);
    } else if (a->common.json) {
        print_text(res);
    } else {
        json_t *r = json_loads(res, 0, NULL);
        cli_style sty = cli_style_for(stdout);
        int changed = json_is_true(json_object_get(r, "changed"));
        printf("%srelease %s%s of %s (%s)\n", sty.bold, str(r, "id"), sty.reset, str(r, "agent"),
               changed ? "new" : "already stored: nothing written");
        printf("stored in   %s\n", str(r, "dir"));
        json_t *diff = json_object_get(r, "diff");
        printf("vs stable   %s\n", str(diff, "summary"));
        if (a->set_candidate)
            printf("candidate   %s\n", str(r, "candidate"));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(diff, "tools"), i, t)
        {
            if (json_is_true(json_object_get(t, "breaking")))
                printf("  %sBREAKING%s %s: %s\n", sty.red, sty.reset, str(t, "tool"),
                       str(t, "message"));
        }
        json_decref(r);
    }
    sw_free(res);
    sw_diags_free(d);
    free(deny);
    free(vars);
    return rc;
}

/* ---- set, rollback ---- */

static sw_change_info change_info(const args *a, const char *fallback)
{
    return (sw_change_info){.by = NULL, .reason = a->reason ? a->reason : fallback, .run_id = NULL};
}

static int do_set(sw_store *st, const args *a)
{
    if (a->npos != 3)
        return cli_fail_usage("releases set", "expected AGENT CHANNEL REF|none");
    const char *agent = a->pos[0], *channel = a->pos[1];
    char *ra = NULL, *id = NULL, *ea = NULL, *expected = NULL;
    int rc = 0;
    if (strcmp(a->pos[2], "none") != 0)
        rc = resolve(st, "releases set", agent, a->pos[2], &ra, &id);
    sw_store_error err = {0};
    if (!rc && a->has_expect && a->expect)
        rc = resolve(st, "releases set", agent, a->expect, &ea, &expected);
    else if (!rc && !a->has_expect && sw_store_channel(st, agent, channel, &expected, &err))
        rc = store_error("releases set", &err);
    if (!rc) {
        sw_change_info info = change_info(a, "slipway releases set");
        if (sw_store_set_channel(st, agent, channel, id, expected, &info, &err) != SW_STORE_OK)
            rc = store_error("releases set", &err);
        else if (a->common.json)
            printf("{\"agent\":\"%s\",\"channel\":\"%s\",\"id\":%s%s%s}\n", agent, channel,
                   id ? "\"" : "", id ? id : "null", id ? "\"" : "");
        else
            printf("%s of %s: %s\n", channel, agent, id ? id : "(none)");
    }
    sw_free(ra);
    sw_free(id);
    sw_free(ea);
    sw_free(expected);
    return rc;
}

static int do_rollback(sw_store *st, const args *a)
{
    if (a->npos < 1 || a->npos > 2)
        return cli_fail_usage("releases rollback", "expected AGENT [REF]");
    const char *agent = a->pos[0];
    char *ra = NULL, *id = NULL, *ea = NULL, *expected = NULL;
    int rc = 0;
    if (a->npos == 2)
        rc = resolve(st, "releases rollback", agent, a->pos[1], &ra, &id);
    if (!rc && a->has_expect && a->expect)
        rc = resolve(st, "releases rollback", agent, a->expect, &ea, &expected);
    if (!rc) {
        sw_store_error err = {0};
        sw_change_info info = change_info(a, "slipway releases rollback");
        char *res = NULL;
        if (sw_store_rollback(st, agent, id, expected, &info, &res, &err) != SW_STORE_OK)
            rc = store_error("releases rollback", &err);
        else if (a->common.json)
            print_text(res);
        else {
            json_t *r = cli_json(res);
            res = NULL;
            printf("stable of %s: %s -> %s%s\n", agent, *str(r, "from") ? str(r, "from") : "(none)",
                   str(r, "to"),
                   json_is_true(json_object_get(r, "candidate_cleared")) ? "; candidate cleared"
                                                                         : "");
            json_decref(r);
        }
        sw_free(res);
    }
    sw_free(ra);
    sw_free(id);
    sw_free(ea);
    sw_free(expected);
    return rc;
}

/* ---- entry points ---- */

typedef struct sub {
    const char *name;
    const char *help;
} sub;

static const sub subs[] = {{"list", usage_list},        {"show", usage_show},
                           {"diff", usage_diff},        {"channels", usage_channels},
                           {"create", usage_create},    {"set", usage_set},
                           {"rollback", usage_rollback}};

static sw_store *open_store(const args *a)
{
    char *where = store_location(a);
    sw_store_error err = {0};
    sw_store *st = sw_store_open(where, &err);
    if (!st)
        fprintf(stderr, "slipway releases: %s\n", err.message);
    free(where);
    return st;
}

int cmd_releases(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(stderr, usage, 2);
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0)
        return cli_usage(stdout, usage, 0);
    const sub *sc = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(subs[i].name, name) == 0)
            sc = &subs[i];
    if (!sc) {
        fprintf(stderr,
                "slipway releases: unknown subcommand '%s' (see 'slipway releases --help')\n",
                name);
        return 2;
    }
    char full[64];
    snprintf(full, sizeof full, "releases %s", sc->name);
    args a = {.deny = json_array(), .vars = json_object()};
    int rc = parse(argc - 1, argv + 1, full, sc->help, &a);
    if (rc < 0) {
        sw_store *st = open_store(&a);
        if (!st)
            rc = 1;
        else {
            if (strcmp(sc->name, "list") == 0)
                rc = do_list(st, &a);
            else if (strcmp(sc->name, "show") == 0)
                rc = do_show(st, &a);
            else if (strcmp(sc->name, "diff") == 0)
                rc = do_diff(st, &a);
            else if (strcmp(sc->name, "channels") == 0)
                rc = do_channels(st, &a);
            else if (strcmp(sc->name, "create") == 0)
                rc = do_create(st, &a);
            else if (strcmp(sc->name, "set") == 0)
                rc = do_set(st, &a);
            else
                rc = do_rollback(st, &a);
            sw_store_close(st);
        }
    }
    json_decref(a.deny);
    json_decref(a.vars);
    return rc;
}

int cmd_tag(int argc, char **argv)
{
    args a = {.deny = json_array(), .vars = json_object()};
    int rc = parse(argc, argv, "tag", usage_tag, &a);
    if (rc < 0) {
        if (a.npos != 2) {
            rc = cli_fail_usage("tag", "expected a release REF and a NAME");
        } else {
            sw_store *st = open_store(&a);
            char *agent = NULL, *id = NULL;
            rc = st ? resolve(st, "tag", NULL, a.pos[0], &agent, &id) : 1;
            if (!rc) {
                sw_store_error err = {0};
                sw_change_info info = change_info(&a, NULL);
                if (sw_store_tag(st, agent, id, a.pos[1], &info, &err) != SW_STORE_OK)
                    rc = store_error("tag", &err);
                else if (a.common.json)
                    printf("{\"agent\":\"%s\",\"id\":\"%s\",\"tag\":\"%s\"}\n", agent, id,
                           a.pos[1]);
                else
                    printf("%s:%s is now also %s:%s\n", agent, id, agent, a.pos[1]);
            }
            sw_free(agent);
            sw_free(id);
            sw_store_close(st);
        }
    }
    json_decref(a.deny);
    json_decref(a.vars);
    return rc;
}
