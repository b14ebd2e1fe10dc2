/*
 * check_eval_section.c - the eval's section of the run report
 * (report-section.json): the cases table with FAIL and ERROR first, its row
 * cap and the note counting exactly what was left out, the flips against the
 * baseline, the latency histogram's bins, the summary and the provenance,
 * from results built by hand over a real eval.jsonl and dataset.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/eval/assert_json.c"
#include "../../plugins/eval/assert_lua.c"
#include "../../plugins/eval/assert_metric.c"
#include "../../plugins/eval/assert_text.c"
#include "../../plugins/eval/assert_tools.c"
#include "../../plugins/eval/assertion.c"
#include "../../plugins/eval/cache.c"
#include "../../plugins/eval/common.c"
/* One translation unit: dataset.c's static content_text (target_openai.c has
   one too) and its type `row` (a local name elsewhere) are renamed. */
#define content_text dataset_content_text
#define row          dataset_row
#include "../../plugins/eval/dataset.c"
#undef content_text
#undef row
#include "../../plugins/eval/judge.c"
#include "../../plugins/eval/regression.c"
#include "../../plugins/eval/report.c"
#include "../../plugins/eval/report_rows.c"
#include "../../plugins/eval/runner.c"
#include "../../plugins/eval/schema.c"
#include "../../plugins/eval/section.c"
#include "../../plugins/eval/target.c"
#include "../../plugins/eval/target_http.c"
#include "../../plugins/eval/target_model.c"
#include "../../plugins/eval/target_openai.c"
/* Last: its type `list` is a parameter name in files before it. */
#include "../../plugins/eval/scheduler.c"

/* Outcomes as letters: P, F, E, and N for a case that did not run. */
typedef struct fixture {
    char dir[64];
    char *dataset;
    ev_config cfg;
    ev_results res;
    json_t *prov;
    ev_report_in in;
} fixture;

static fixture fx;

static void put_row(FILE *f, int side, size_t c, char o, double latency)
{
    ev_trial *t = (ev_trial *)ev_trial_at(&fx.res, side, c, 0);
    char id[32];
    snprintf(id, sizeof id, "c%zu", c);
    char *answer = sw_xasprintf("%s answer %zu", side ? "baseline" : "candidate", c);
    json_t *row = json_pack(
        "{s:s, s:i, s:s, s:f, s:f, s:f, s:s}", "case", id, "sample", 0, "outcome",
        o == 'P'   ? "PASS"
        : o == 'F' ? "FAIL"
                   : "ERROR",
        "score", o == 'P' ? 1.0 : 0.0, "latency_ms", latency, "cost_usd", 0.001, "output", answer);
    free(answer);
    if (o == 'F')
        json_object_set_new(row, "assertions",
                            json_pack("[{s:s, s:s, s:s}]", "type", "contains", "outcome", "FAIL",
                                      "message", "'refund' not found\nin the answer"));
    if (o == 'E')
        json_object_set_new(row, "error", json_string("HTTP 503 after 4 attempts"));
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    t->done = 1;
    t->outcome = o == 'P' ? EV_PASS : o == 'F' ? EV_FAIL : EV_ERROR;
    t->score = o == 'P' ? 1 : 0;
    t->latency_ms = latency;
    t->row_off = ftell(f);
    t->row_len = (uint32_t)strlen(text);
    fprintf(f, "%s\n", text);
    free(text);
    ev_side *s = &fx.res.side[side];
    s->cases++;
    s->trials++;
    if (o == 'P') {
        s->passed++;
        s->pass_any++;
        s->score_sum += 1;
    } else if (o == 'F') {
        s->failed++;
    } else {
        s->errors++;
    }
    if (o != 'E') {
        s->latencies = sw_xrealloc(s->latencies, (s->n_latencies + 1) * sizeof(double));
        s->latencies[s->n_latencies++] = latency;
    }
}

/* n cases; cand[i] (and base[i] when base is set) is the outcome of case i;
   latency_of(i) its latency (NULL: 100 + i ms). */
static void build(size_t n, const char *cand, const char *base, double (*latency_of)(size_t))
{
    memset(&fx, 0, sizeof fx);
    strcpy(fx.dir, "/tmp/check_eval_section.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
    fx.dataset = sw_xasprintf("%s/golden.jsonl", fx.dir);
    FILE *f = fopen(fx.dataset, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "{\"id\": \"c%zu\", \"input\": \"question %zu\"}\n", i, i);
    fclose(f);
    sw_diags *d = sw_diags_new();
    fx.cfg.ds = ev_dataset_open(fx.dataset, &(ev_dataset_opts){0}, d);
    sw_diags_free(d);
    ck_assert_ptr_nonnull(fx.cfg.ds);
    fx.res.planned = n;
    fx.res.k = 1;
    fx.res.sides = base ? 2 : 1;
    fx.res.trials = sw_xcalloc(2 * n, sizeof(ev_trial));
    for (size_t i = 0; i < n; i++)
        fx.res.not_run += cand[i] == 'N' || (base && base[i] == 'N');
    for (int side = 0; side < fx.res.sides; side++) {
        fx.cfg.out_path[side] =
            sw_xasprintf("%s/%s", fx.dir, side ? "eval-baseline.jsonl" : "eval.jsonl");
        f = fopen(fx.cfg.out_path[side], "w");
        ck_assert_ptr_nonnull(f);
        const char *outcomes = side ? base : cand;
        for (size_t i = 0; i < n; i++) {
            if (outcomes[i] == 'N')
                continue;
            put_row(f, side, i, outcomes[i], latency_of ? latency_of(i) : 100.0 + (double)i);
        }
        fclose(f);
        sw_sort_doubles(fx.res.side[side].latencies, fx.res.side[side].n_latencies);
    }
    fx.prov =
        json_pack("{s:s, s:s, s:n, s:{s:{s:f}, s:n}}", "dataset", fx.dataset, "dataset_sha256",
                  "ab12", "judge_model", "pricing", "candidate", "input_per_token", 2e-06, "judge");
    fx.in = (ev_report_in){.cfg = &fx.cfg,
                           .res = &fx.res,
                           .provenance = fx.prov,
                           .stage_id = "golden",
                           .run_id = "r1"};
}

static void teardown(void)
{
    for (int side = 0; side < 2; side++)
        if (fx.cfg.out_path[side]) {
            unlink(fx.cfg.out_path[side]);
            free(fx.cfg.out_path[side]);
        }
    unlink(fx.dataset);
    free(fx.dataset);
    char *section = sw_xasprintf("%s/report-section.json", fx.dir);
    unlink(section);
    free(section);
    ck_assert_int_eq(rmdir(fx.dir), 0);
    ev_dataset_close(fx.cfg.ds);
    ev_results_clear(&fx.res);
    json_decref(fx.prov);
}

static json_t *table(json_t *sec, const char *title)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(sec, "tables"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "title")), title) == 0)
            return t;
    }
    return NULL;
}

static const char *cell(json_t *t, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(json_object_get(t, "rows"), row), col));
}

static const char *note(json_t *t)
{
    return json_string_value(json_object_get(t, "note"));
}

/* The summary item's value, and its status ("" when none). */
static const char *summary(json_t *sec, const char *label, const char **status)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(sec, "summary"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "label")), label) == 0) {
            if (status) {
                const char *s = json_string_value(json_object_get(it, "status"));
                *status = s ? s : "";
            }
            return json_string_value(json_object_get(it, "value"));
        }
    }
    return NULL;
}

START_TEST(test_cases_order_cap_and_note)
{
    build(10, "PFPPEPPNPP", NULL, NULL);
    json_t *sec = ev_section_json(&fx.in, 4);
    ck_assert_int_eq(json_integer_value(json_object_get(sec, "format")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(sec, "title")), "Eval: golden");
    ck_assert_str_eq(json_string_value(json_object_get(sec, "status")), "pass");
    json_t *t = table(sec, "Cases");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "filter")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "columns"), 1)),
                     "outcome");
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 4);
    /* FAIL and ERROR first in dataset order, then the case that did not run, then PASS. */
    ck_assert_str_eq(cell(t, 0, 0), "c1");
    ck_assert_str_eq(cell(t, 0, 1), "FAIL");
    ck_assert_str_eq(cell(t, 0, 5), "contains FAIL: 'refund' not found; in the answer");
    ck_assert_str_eq(cell(t, 0, 6), "candidate answer 1");
    ck_assert_str_eq(cell(t, 1, 0), "c4");
    ck_assert_str_eq(cell(t, 1, 1), "ERROR");
    ck_assert_str_eq(cell(t, 1, 5), "error: HTTP 503 after 4 attempts");
    ck_assert_str_eq(cell(t, 2, 0), "c7"); /* its id from the dataset */
    ck_assert_str_eq(cell(t, 2, 1), "NOT RUN");
    ck_assert_str_eq(cell(t, 3, 0), "c0");
    ck_assert_str_eq(cell(t, 3, 1), "PASS");
    ck_assert_double_eq_tol(
        json_real_value(json_array_get(json_array_get(json_object_get(t, "rows"), 3), 3)), 100,
        1e-9);
    ck_assert_str_eq(note(t), "showing 4 of 10 cases (FAIL and ERROR first, then not run, then "
                              "PASS); left out: 6 PASS; every sample is in eval.jsonl");
    json_decref(sec);

    /* A cap below the FAIL and ERROR count: those left out are counted by kind. */
    sec = ev_section_json(&fx.in, 1);
    t = table(sec, "Cases");
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 1);
    ck_assert_str_eq(note(t), "showing 1 of 10 cases (FAIL and ERROR first, then not run, then "
                              "PASS); left out: 1 ERROR, 1 not run, 7 PASS; every sample is in "
                              "eval.jsonl");
    json_decref(sec);

    /* Everything fits: no note. */
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    t = table(sec, "Cases");
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 10);
    ck_assert_ptr_null(json_object_get(t, "note"));
    json_decref(sec);
    teardown();
}
END_TEST

/* The real cap, through the file the core reads. */
START_TEST(test_written_section_caps_at_1000_rows)
{
    size_t n = 2345;
    char *outcomes = sw_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        outcomes[i] = i % 2 ? 'P' : (i % 4 == 0 ? 'F' : 'E'); /* 587 F, 586 E, 1172 P */
    outcomes[n] = '\0';
    build(n, outcomes, NULL, NULL);
    free(outcomes);
    char *path = sw_xasprintf("%s/report-section.json", fx.dir);
    sw_err err;
    ck_assert_int_eq(ev_write_section(&fx.in, path, &err), 0);
    json_error_t je;
    json_t *sec = json_load_file(path, 0, &je);
    free(path);
    ck_assert_ptr_nonnull(sec);
    json_t *t = table(sec, "Cases");
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 1000);
    ck_assert_str_eq(cell(t, 0, 0), "c0");
    ck_assert_str_eq(cell(t, 1, 1), "ERROR");
    ck_assert_str_eq(cell(t, 999, 1), "ERROR");
    ck_assert_str_eq(cell(t, 999, 0), "c1998");
    ck_assert_str_eq(note(t), "showing 1,000 of 2,345 cases (FAIL and ERROR first, then not run, "
                              "then PASS); left out: 87 FAIL, 86 ERROR, 1,172 PASS; every sample "
                              "is in eval.jsonl");
    const char *st;
    ck_assert_str_eq(summary(sec, "cases", NULL), "2,345");
    ck_assert_str_eq(summary(sec, "failed", &st), "587");
    ck_assert_str_eq(st, "fail");
    ck_assert_str_eq(summary(sec, "errors", NULL), "586");
    ck_assert_str_eq(summary(sec, "pass rate", NULL), "66.6%"); /* 1172 / 1759 */
    ck_assert_str_eq(summary(sec, "error rate", NULL), "25.0%");
    json_decref(sec);
    teardown();
}
END_TEST

START_TEST(test_flips)
{
    build(6, "FFPPPF", "PPFPFF", NULL);
    fx.res.has_reg = 1;
    ev_regression *g = &fx.res.reg;
    g->regressions = 2;
    g->regressed = sw_xmalloc(2 * sizeof(size_t));
    g->regressed[0] = 0;
    g->regressed[1] = 1;
    g->improvements = 2;
    g->improved = sw_xmalloc(2 * sizeof(size_t));
    g->improved[0] = 2;
    g->improved[1] = 4;
    g->n_changed = 1;
    g->changed = sw_xmalloc(sizeof(size_t));
    g->changed[0] = 3;
    g->mcnemar_p = 1;
    g->diff_mean = 0;
    g->ci_lo = -0.5;
    g->ci_hi = 0.5;
    g->confidence = 0.95;
    g->margin = 0.05;
    g->noninferior = 0;
    json_t *sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    ck_assert_str_eq(json_string_value(json_object_get(sec, "status")), "fail");
    const char *st;
    ck_assert_str_eq(summary(sec, "regressions", &st), "2");
    ck_assert_str_eq(st, "fail");
    ck_assert_str_eq(summary(sec, "improvements", NULL), "2");
    ck_assert_str_eq(summary(sec, "McNemar p", NULL), "1");
    ck_assert_str_eq(summary(sec, "non-inferior", &st), "no (margin 0.05)");
    ck_assert_str_eq(st, "fail");
    ck_assert_str_eq(summary(sec, "score difference", NULL), "+0.0000 [-0.5000, +0.5000] at 95%");
    json_t *t = table(sec, "Flips against production");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "filter")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 5);
    ck_assert_str_eq(cell(t, 0, 0), "c0");
    ck_assert_str_eq(cell(t, 0, 1), "pass→fail");
    ck_assert_str_eq(cell(t, 0, 2), "baseline answer 0");
    ck_assert_str_eq(cell(t, 0, 3), "candidate answer 0");
    ck_assert_str_eq(cell(t, 0, 4), "contains FAIL: 'refund' not found; in the answer");
    ck_assert_str_eq(cell(t, 2, 0), "c2");
    ck_assert_str_eq(cell(t, 2, 1), "fail→pass");
    ck_assert_str_eq(cell(t, 2, 4), "baseline: contains FAIL: 'refund' not found; in the answer");
    ck_assert_str_eq(cell(t, 4, 0), "c3");
    ck_assert_str_eq(cell(t, 4, 1), "changed while both pass");
    ck_assert_str_eq(cell(t, 4, 4), "");
    ck_assert_ptr_null(json_object_get(t, "note"));
    /* Both sides in the histogram, over the same bins. */
    json_t *series = json_object_get(json_array_get(json_object_get(sec, "charts"), 0), "series");
    ck_assert_uint_eq(json_array_size(series), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(series, 1), "name")),
                     "baseline");
    json_decref(sec);

    sec = ev_section_json(&fx.in, 3);
    t = table(sec, "Flips against production");
    ck_assert_uint_eq(json_array_size(json_object_get(t, "rows")), 3);
    ck_assert_str_eq(note(t), "showing 3 of 5 (pass→fail first); left out: 1 fail→pass, 1 changed "
                              "while both pass; every id is in eval-summary.json");
    json_decref(sec);
    teardown();
}
END_TEST

static json_t *histogram(json_t *sec, size_t series)
{
    json_t *chart = json_array_get(json_object_get(sec, "charts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(chart, "kind")), "bar");
    return json_object_get(json_array_get(json_object_get(chart, "series"), series), "points");
}

static const char *bin_label(json_t *points, size_t i)
{
    return json_string_value(json_array_get(json_array_get(points, i), 0));
}

static json_int_t bin_count(json_t *points, size_t i)
{
    return json_integer_value(json_array_get(json_array_get(points, i), 1));
}

static double tens(size_t i)
{
    return 10.0 * (double)(i + 1);
}

static double tail(size_t i)
{
    return i == 199 ? 10000 : 100.0 + (double)i;
}

static double small(size_t i)
{
    return 0.5 + 0.1 * (double)i;
}

static double same(size_t i)
{
    return 42;
}

static double quick(size_t i)
{
    return 4.3;
}

START_TEST(test_latency_histogram)
{
    /* 10..100 ms: a width of 5 (90 / 20 = 4.5, rounded up to 1-2-5), 19 bins. */
    build(10, "PPPPPPPPPP", NULL, tens);
    json_t *sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    json_t *p = histogram(sec, 0);
    ck_assert_uint_eq(json_array_size(p), 19);
    ck_assert_str_eq(bin_label(p, 0), "10-15 ms");
    ck_assert_int_eq(bin_count(p, 0), 1);
    ck_assert_str_eq(bin_label(p, 1), "15-20 ms");
    ck_assert_int_eq(bin_count(p, 1), 0);
    ck_assert_int_eq(bin_count(p, 2), 1);
    ck_assert_str_eq(bin_label(p, 18), "100-105 ms");
    ck_assert_int_eq(bin_count(p, 18), 1);
    json_decref(sec);
    teardown();

    /* One slow outlier among 200: bins up to p99 (297.01 ms), then one overflow bin. */
    char *all = sw_xmalloc(201);
    memset(all, 'P', 200);
    all[200] = '\0';
    build(200, all, NULL, tail);
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    p = histogram(sec, 0);
    ck_assert_uint_eq(json_array_size(p), 21);
    ck_assert_str_eq(bin_label(p, 0), "100-110 ms");
    ck_assert_int_eq(bin_count(p, 0), 10);
    ck_assert_str_eq(bin_label(p, 19), "290-300 ms");
    ck_assert_int_eq(bin_count(p, 19), 9);
    ck_assert_str_eq(bin_label(p, 20), "≥ 300 ms");
    ck_assert_int_eq(bin_count(p, 20), 1);
    json_int_t sum = 0;
    for (size_t i = 0; i < json_array_size(p); i++)
        sum += bin_count(p, i);
    ck_assert_int_eq(sum, 200);
    json_decref(sec);
    teardown();

    /* Sub-millisecond widths keep their decimals. */
    build(10, all + 190, NULL, small);
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    p = histogram(sec, 0);
    ck_assert_str_eq(bin_label(p, 0), "0.50-0.55 ms");
    json_decref(sec);
    teardown();

    /* One value: one bin. */
    build(3, all + 197, NULL, same);
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    p = histogram(sec, 0);
    ck_assert_uint_eq(json_array_size(p), 1);
    ck_assert_str_eq(bin_label(p, 0), "42-43 ms");
    ck_assert_int_eq(bin_count(p, 0), 3);
    ck_assert_str_eq(summary(sec, "latency p50", NULL), "42 ms");
    json_decref(sec);
    teardown();

    /* Under 10 ms a latency keeps a decimal. */
    build(2, all + 198, NULL, quick);
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    ck_assert_str_eq(summary(sec, "latency p95", NULL), "4.3 ms");
    ck_assert_str_eq(bin_label(histogram(sec, 0), 0), "4-5 ms");
    json_decref(sec);
    teardown();
    free(all);

    /* Nothing answered: a series without points. */
    build(2, "EE", NULL, NULL);
    sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    ck_assert_uint_eq(json_array_size(histogram(sec, 0)), 0);
    json_decref(sec);
    teardown();
}
END_TEST

START_TEST(test_failure_summary_and_provenance)
{
    build(4, "PPNN", NULL, NULL);
    snprintf(fx.res.stop_reason, sizeof fx.res.stop_reason, "budget cap reached");
    fx.in.failure = "budget cap reached after 2 of 4 cases; 2 not run";
    json_t *sec = ev_section_json(&fx.in, EV_SECTION_MAX_ROWS);
    ck_assert_str_eq(json_string_value(json_object_get(sec, "status")), "fail");
    ck_assert_str_eq(json_string_value(json_object_get(sec, "text")),
                     "The measurement failed: budget cap reached after 2 of 4 cases; 2 not run");
    const char *st;
    ck_assert_str_eq(summary(sec, "stopped", &st), "budget cap reached");
    ck_assert_str_eq(st, "fail");
    ck_assert_str_eq(summary(sec, "not run", NULL), "2 of 4");
    ck_assert_str_eq(summary(sec, "pass rate", NULL), "100.0%");
    ck_assert_str_eq(summary(sec, "latency p95", NULL), "101 ms"); /* of 100 and 101 ms */
    ck_assert_str_eq(summary(sec, "tokens", NULL), "0 in / 0 out");
    ck_assert_ptr_null(summary(sec, "regressions", NULL)); /* no baseline */
    json_t *t = table(sec, "Provenance");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(cell(t, 1, 0), "dataset_sha256");
    ck_assert_str_eq(cell(t, 1, 1), "ab12");
    ck_assert_str_eq(cell(t, 2, 0), "judge_model");
    ck_assert_str_eq(cell(t, 2, 1), "none");
    ck_assert_str_eq(cell(t, 3, 0), "pricing: candidate");
    ck_assert_str_eq(cell(t, 3, 1), "{\"input_per_token\":2e-6}");
    ck_assert_str_eq(cell(t, 4, 0), "pricing: judge");
    ck_assert_str_eq(cell(t, 4, 1), "none");
    json_decref(sec);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_section");
    TCase *tc = tcase_create("section");
    tcase_add_test(tc, test_cases_order_cap_and_note);
    tcase_add_test(tc, test_written_section_caps_at_1000_rows);
    tcase_add_test(tc, test_flips);
    tcase_add_test(tc, test_latency_histogram);
    tcase_add_test(tc, test_failure_summary_and_provenance);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
