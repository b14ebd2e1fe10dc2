/* cmd_runs.c - `slipway runs` and `slipway runs show RUN`. */
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char usage[] =
    "usage: slipway runs [show RUN] [options]\n"
    "\n"
    "List the runs in the state folder and in a database store, newest first, or\n"
    "show one run's report: its status, every stage with its state, reason and duration, and its "
    "outputs.\n"
    "\n"
    "Options:\n"
    "  --state-dir DIR   where runs are kept (default $SLIPWAY_STATE_DIR or ./.slipway)\n"
    "  --store WHERE     a postgres:// store: the runs of every runner too (default\n"
    "                    $SLIPWAY_STORE)\n"
    "  --json            the report or list as JSON\n"
    "  -h, --help        this help\n";

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_list(json_t *runs)
{
    cli_style s = cli_style_for(stdout);
    if (json_array_size(runs) == 0) {
        printf("no runs\n");
        return;
    }
    printf("%s%-28s %-12s %-24s %s%s\n", s.bold, "RUN", "STATUS", "STARTED", "PIPELINE", s.reset);
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        const char *status = str(r, "status");
        const char *color = strcmp(status, "succeeded") == 0 ? s.green
                            : strcmp(status, "failed") == 0  ? s.red
                                                             : s.yellow;
        printf("%-28s %s%-12s%s %-24s %s\n", str(r, "run_id"), color, status, s.reset,
               str(r, "started_at"), str(r, "name"));
    }
}

static void print_report(json_t *r)
{
    cli_style s = cli_style_for(stdout);
    printf("%srun %s%s  %s\n", s.bold, str(r, "run_id"), s.reset, str(r, "status"));
    printf("pipeline  %s (%s)\n", str(r, "name"), str(r, "pipeline"));
    printf("started   %s\n", str(r, "started_at"));
    json_t *failure = json_object_get(r, "failure");
    if (json_is_object(failure))
        printf("failure   stage '%s': %s\n", str(failure, "stage"), str(failure, "reason"));
    json_t *crash = json_object_get(r, "crash");
    if (json_is_object(crash))
        printf("crash     in stage '%s' (signal %lld)\n", str(crash, "stage"),
               (long long)json_integer_value(json_object_get(crash, "signal")));
    printf("%sstages%s\n", s.bold, s.reset);
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(r, "stages"), i, st)
    {
        json_t *ms = json_object_get(st, "duration_ms");
        printf("  %-14s %-12s %-10s %8.2fs  %s\n", str(st, "id"), str(st, "uses"), str(st, "state"),
               ms ? json_number_value(ms) / 1000 : 0.0, str(st, "reason"));
    }
    json_t *outputs = json_object_get(r, "outputs");
    if (json_object_size(outputs) > 0) {
        printf("%soutputs%s\n", s.bold, s.reset);
        const char *key;
        json_t *v;
        json_object_foreach(outputs, key, v)
        {
            char *text = json_dumps(json_object_get(v, "value"), JSON_COMPACT | JSON_ENCODE_ANY);
            printf("  %-30s %s\n", key, text ? text : "");
            free(text);
        }
    }
}

int cmd_runs(int argc, char **argv)
{
    static const cli_list_show spec = {.cmd = "runs",
                                       .usage = usage,
                                       .what = "RUN",
                                       .list = sw_runs_json,
                                       .show = sw_run_show_json,
                                       .print_list = print_list,
                                       .print_one = print_report};
    return cli_list_or_show(&spec, argc, argv);
}
