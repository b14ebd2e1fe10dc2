/* check_report_html.c - the run report's sections, timeline, HTML page and SVG charts. */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "run/report.h"
#include "run/report_html.h"
#include "run/svg_chart.h"

/* 2026-11-26T08:00:00.000Z */
#define T0 1795680000000LL

static char tmpdir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/check_report_html.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_section(const char *stage, const char *text)
{
    char *dir = sw_xasprintf("%s/artifacts/%s", tmpdir, stage);
    char *path = sw_path_join(dir, "report-section.json");
    sw_err err = {{0}};
    ck_assert_int_eq(sw_mkdir_p(dir, 0755, &err), 0);
    ck_assert_msg(sw_write_file_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    free(path);
    free(dir);
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "%s", jerr.text);
    return j;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

static char *escaped(const char *text)
{
    sw_buf b = {0};
    sw_html_escape(&b, text);
    return sw_buf_steal(&b);
}

static char *chart(const char *json, double t0)
{
    json_t *c = load(json);
    sw_buf b = {0};
    sw_svg_chart(&b, c, t0);
    json_decref(c);
    return sw_buf_steal(&b);
}

START_TEST(test_escape)
{
    char *s = escaped("<script>alert(\"x\" & 'y')</script>");
    ck_assert_str_eq(s, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
    free(s);
    s = escaped("plain text, ünïcode");
    ck_assert_str_eq(s, "plain text, ünïcode");
    free(s);
    sw_buf b = {0};
    sw_html_escape(&b, NULL);
    sw_html_escape(&b, "");
    s = sw_buf_steal(&b);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(test_time_parse)
{
    ck_assert_int_eq(sw_report_time_ms("2026-11-26T08:00:00.000Z"), T0);
    ck_assert_int_eq(sw_report_time_ms("2026-11-26T08:00:01.234Z"), T0 + 1234);
    ck_assert_int_eq(sw_report_time_ms("2026-11-26T08:00:01Z"), T0 + 1000);
    ck_assert_int_eq(sw_report_time_ms("2026-11-26T08:00:01.5Z"), T0 + 1500);
    ck_assert_int_eq(sw_report_time_ms("2026-11-26 08:00:01Z"), -1);
    ck_assert_int_eq(sw_report_time_ms("2026-11-26T08:00:01.000+01:00"), -1);
    ck_assert_int_eq(sw_report_time_ms("yesterday"), -1);
    ck_assert_int_eq(sw_report_time_ms(""), -1);
    ck_assert_int_eq(sw_report_time_ms(NULL), -1);
}
END_TEST

START_TEST(test_sections)
{
    put_section("good", "{\"format\": 1, \"title\": \"Good one\", \"extra\": [1]}");
    put_section("broken", "{\"title\": \"x\",\n \"summary\": [}");
    put_section("list", "[1, 2]");
    /* Over the cap: a sparse file, so the test writes nothing big. */
    put_section("huge", "{}");
    char *huge = sw_xasprintf("%s/artifacts/huge/report-section.json", tmpdir);
    ck_assert_int_eq(truncate(huge, (off_t)SW_REPORT_SECTION_MAX + 1), 0);
    free(huge);
    json_t *stages =
        load("[{\"id\": \"good\", \"uses\": \"emit\"}, {\"id\": \"missing\", \"uses\": "
             "\"emit\"}, {\"id\": \"broken\", \"uses\": \"w\"}, {\"id\": \"list\"}, "
             "{\"id\": \"huge\", \"uses\": \"w\"}, {\"id\": \"../x\"}]");
    json_t *s = sw_report_sections(tmpdir, stages);
    ck_assert_uint_eq(json_array_size(s), 4);

    json_t *good = json_array_get(s, 0);
    ck_assert_str_eq(json_string_value(json_object_get(good, "stage")), "good");
    ck_assert_str_eq(json_string_value(json_object_get(good, "uses")), "emit");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(good, "section"), "title")),
                     "Good one");
    ck_assert_ptr_null(json_object_get(good, "error"));

    json_t *broken = json_array_get(s, 1);
    ck_assert_str_eq(json_string_value(json_object_get(broken, "stage")), "broken");
    ck_assert_ptr_null(json_object_get(broken, "section"));
    const char *why = json_string_value(json_object_get(broken, "error"));
    ck_assert_ptr_nonnull(why);
    static const char broken_prefix[] = "artifacts/broken/report-section.json: line 2: ";
    ck_assert_msg(strncmp(why, broken_prefix, sizeof broken_prefix - 1) == 0, "%s", why);

    why = json_string_value(json_object_get(json_array_get(s, 2), "error"));
    ck_assert_str_eq(why, "artifacts/list/report-section.json: not a JSON object");
    why = json_string_value(json_object_get(json_array_get(s, 3), "error"));
    ck_assert_ptr_nonnull(why);
    static const char huge_prefix[] = "artifacts/huge/report-section.json: ";
    ck_assert_msg(strncmp(why, huge_prefix, sizeof huge_prefix - 1) == 0 &&
                      strstr(why, "over the limit"),
                  "%s", why);
    json_decref(s);

    /* No artifacts at all: no sections, no error. */
    json_t *none = sw_report_sections("/nonexistent-run-dir", stages);
    ck_assert_uint_eq(json_array_size(none), 0);
    json_decref(none);
    json_decref(stages);
}
END_TEST

START_TEST(test_timeline_merge)
{
    json_t *journal = load(
        "["
        "{\"event\": \"run_start\", \"ts\": \"2026-11-26T08:00:00.000Z\"},"
        "{\"event\": \"stage_start\", \"stage\": \"a\", \"uses\": \"emit\", \"ts\": "
        "\"2026-11-26T08:00:01.000Z\"},"
        "{\"event\": \"progress\", \"stage\": \"a\", \"fraction\": 0.5, \"ts\": "
        "\"2026-11-26T08:00:01.100Z\"},"
        "{\"event\": \"set\", \"stage\": \"a\", \"key\": \"a.x\", \"ts\": "
        "\"2026-11-26T08:00:01.200Z\"},"
        "{\"event\": \"log\", \"stage\": \"a\", \"level\": \"info\", \"message\": \"hi\", \"ts\": "
        "\"2026-11-26T08:00:01.300Z\"},"
        "{\"event\": \"log\", \"stage\": \"a\", \"level\": \"warn\", \"message\": \"slow\", "
        "\"ts\": "
        "\"2026-11-26T08:00:01.400Z\"},"
        "{\"event\": \"stage_end\", \"stage\": \"a\", \"state\": \"succeeded\", \"duration_ms\": "
        "1000, \"ts\": \"2026-11-26T08:00:02.000Z\"},"
        "{\"event\": \"gate\", \"stage\": \"a\", \"passed\": false, \"reason\": \"too low\", "
        "\"ts\": \"2026-11-26T08:00:02.000Z\"},"
        "{\"event\": \"stage_start\", \"stage\": \"h\", \"uses\": \"lua\", \"ts\": "
        "\"2026-11-26T08:00:03.000Z\"},"
        "{\"event\": \"crash\", \"stage\": \"h\", \"signal\": 11, \"ts\": "
        "\"2026-11-26T08:00:04.000Z\"},"
        "{\"event\": \"stage_start\", \"stage\": \"a\", \"ts\": \"not a time\"}"
        "]");
    json_t *stages = load("[{\"id\": \"a\", \"list\": \"stages\"}, {\"id\": \"h\", \"list\": "
                          "\"on_failure\"}]");
    /* Times as epoch ms; ties go after the journal's events, sections in order. */
    json_t *sections =
        load("["
             "{\"stage\": \"a\", \"section\": {\"events\": ["
             "{\"t\": 1795680002000, \"label\": \"sec-a-tie\", \"status\": \"warn\"},"
             "{\"t\": 1795680001500, \"label\": \"sec-a-mid\", \"status\": \"bogus\"},"
             "{\"label\": \"no time\"}, {\"t\": \"soon\", \"label\": \"bad time\"},"
             "{\"t\": 1795680000500.7}"
             "]}},"
             "{\"stage\": \"b\", \"error\": \"unreadable\"},"
             "{\"stage\": \"c\", \"section\": {\"events\": ["
             "{\"t\": 1795680002000, \"label\": \"sec-c-tie\", \"status\": \"pass\"},"
             "{\"t\": 1795679999000, \"label\": \"sec-c-early\"}"
             "]}}"
             "]");
    json_t *tl = sw_report_timeline(journal, stages, sections);
    static const struct {
        const char *label;
        const char *status;
        long long t;
    } want[] = {
        {"sec-c-early", "info", T0 - 1000},
        {"run started", "info", T0},
        {"started (emit)", "info", T0 + 1000},
        {"warn: slow", "warn", T0 + 1400},
        {"sec-a-mid", "info", T0 + 1500},
        {"succeeded after 1.00 s", "pass", T0 + 2000},
        {"gate failed: too low", "fail", T0 + 2000},
        {"sec-a-tie", "warn", T0 + 2000},
        {"sec-c-tie", "pass", T0 + 2000},
        {"on_failure handler started (lua)", "info", T0 + 3000},
        {"crashed (signal 11)", "fail", T0 + 4000},
    };
    size_t n = sizeof want / sizeof *want;
    ck_assert_uint_eq(json_array_size(tl), n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(tl, i);
        ck_assert_str_eq(json_string_value(json_object_get(e, "label")), want[i].label);
        ck_assert_str_eq(json_string_value(json_object_get(e, "status")), want[i].status);
        ck_assert_int_eq(json_integer_value(json_object_get(e, "t")), want[i].t);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0), "stage")), "c");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0), "event")), "section");
    ck_assert_ptr_null(json_object_get(json_array_get(tl, 1), "stage"));
    json_decref(tl);
    json_decref(journal);
    json_decref(stages);
    json_decref(sections);
}
END_TEST

START_TEST(test_chart_no_points)
{
    char *svg = chart("{\"title\": \"Empty\", \"kind\": \"line\", \"series\": [{\"name\": \"a\", "
                      "\"points\": []}, {\"name\": \"b\"}]}",
                      (double)T0);
    ck_assert_uint_eq(count(svg, "<svg"), 1);
    ck_assert_uint_eq(count(svg, "</svg>"), 1);
    ck_assert_ptr_nonnull(strstr(svg, ">no data</text>"));
    ck_assert_ptr_null(strstr(svg, "<path"));
    free(svg);
    svg = chart("{\"title\": \"No series\", \"kind\": \"bar\"}", 0);
    ck_assert_ptr_nonnull(strstr(svg, ">no data</text>"));
    free(svg);
    /* One series empty, one not: the chart is drawn and the legend says which has none. */
    svg = chart("{\"kind\": \"line\", \"x\": \"number\", \"series\": [{\"name\": \"empty\", "
                "\"points\": [[\"x\", 1], [null, 2]]}, {\"name\": \"full\", \"points\": [[0, 1], "
                "[1, 2]]}]}",
                0);
    ck_assert_ptr_null(strstr(svg, ">no data</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">empty (no data)</text>"));
    ck_assert_uint_eq(count(svg, "<path class=\"series\""), 1);
    free(svg);
}
END_TEST

START_TEST(test_bar_chart)
{
    char *svg = chart("{\"title\": \"Latency\", \"kind\": \"bar\", \"unit\": \"cases\", "
                      "\"series\": [{\"name\": \"candidate\", \"points\": [[\"0-10 ms\", 3], "
                      "[\"10-20 ms\", 40], [\"<b>\", 7]]}, {\"name\": \"baseline\", \"points\": "
                      "[[\"0-10 ms\", 5], [\"20-30 ms\", 2]]}]}",
                      0);
    /* Five bars, each with its tooltip, and one label per category. */
    ck_assert_uint_eq(count(svg, "<rect x="), 5 + 2); /* bars + two legend swatches */
    ck_assert_uint_eq(count(svg, "<title>"), 5);
    ck_assert_ptr_nonnull(strstr(svg, ">0-10 ms</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">10-20 ms</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">20-30 ms</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">&lt;b&gt;</text>"));
    ck_assert_ptr_null(strstr(svg, "<b>"));
    ck_assert_ptr_nonnull(strstr(svg, ">cases</text>"));
    /* The y axis starts at 0 and reaches past 40. */
    ck_assert_ptr_nonnull(strstr(svg, ">0</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">40</text>"));
    free(svg);
    /* Negative values take the axis below 0. */
    svg = chart("{\"kind\": \"bar\", \"series\": [{\"name\": \"d\", \"points\": [[\"a\", -3], "
                "[\"b\", 2]]}]}",
                0);
    ck_assert_ptr_nonnull(strstr(svg, ">-3</text>") ? svg : strstr(svg, ">-4</text>"));
    free(svg);
}
END_TEST

START_TEST(test_time_axis)
{
    /* Two minutes from the run's start: seconds, ticks at round values. */
    char *svg = chart("{\"title\": \"Errors\", \"kind\": \"line\", \"x\": \"time\", \"unit\": "
                      "\"%\", \"series\": [{\"name\": \"candidate\", \"points\": [[1795680000000, "
                      "0.02], [1795680060000, 0.05], [1795680120000, 0.03]]}], \"marks\": [{\"x\": "
                      "1795680090000, \"label\": \"rollback\"}]}",
                      (double)T0);
    ck_assert_ptr_nonnull(strstr(svg, ">s since run start</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">0</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">60</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">120</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">%</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "0.05</text>"));
    ck_assert_uint_eq(count(svg, "class=\"mark\""), 1);
    ck_assert_ptr_nonnull(strstr(svg, ">rollback</text>"));
    ck_assert_uint_eq(count(svg, "<circle"), 3);
    free(svg);
    /* Ten minutes: minutes. A step chart holds each value until the next point. */
    svg = chart("{\"kind\": \"step\", \"x\": \"time\", \"series\": [{\"name\": \"weight\", "
                "\"points\": [[1795680000000, 5], [1795680300000, 25], [1795680600000, 100]]}]}",
                (double)T0);
    ck_assert_ptr_nonnull(strstr(svg, ">min since run start</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">10</text>"));
    ck_assert_ptr_nonnull(strstr(svg, " H"));
    ck_assert_ptr_nonnull(strstr(svg, " V"));
    ck_assert_ptr_null(strstr(svg, " L"));
    free(svg);
    /* A plain number axis has no time title. */
    svg = chart("{\"kind\": \"line\", \"x\": \"number\", \"series\": [{\"name\": \"n\", "
                "\"points\": [[1, 1], [3, 9]]}]}",
                (double)T0);
    ck_assert_ptr_null(strstr(svg, "since run start"));
    ck_assert_ptr_nonnull(strstr(svg, " L"));
    free(svg);
}
END_TEST

START_TEST(test_gantt)
{
    sw_svg_span spans[] = {{"golden", T0 + 1000, T0 + 4000, "pass"},
                           {"<canary>", T0 + 4000, T0 + 9000, "fail"}};
    sw_svg_dot dots[] = {{T0 + 4500, "fail", "breach & rollback"}};
    sw_buf b = {0};
    sw_svg_gantt(&b, spans, 2, dots, 1, T0, T0 + 10000);
    char *svg = sw_buf_steal(&b);
    ck_assert_ptr_nonnull(strstr(svg, ">golden</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">&lt;canary&gt;</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>breach &amp; rollback</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "#cf222e"));
    ck_assert_ptr_nonnull(strstr(svg, ">s since run start</text>"));
    free(svg);
}
END_TEST

/* A report as sw_run_report builds it, with sections read from files. */
static json_t *sample_report(void)
{
    put_section("canary",
                "{\"format\": 1, \"title\": \"Canary <script>alert(1)</script>\", \"status\": "
                "\"fail\", \"summary\": [{\"label\": \"promoted\", \"value\": \"no\", \"status\": "
                "\"fail\"}, {\"label\": \"<i>final</i> weight\", \"value\": 25}], \"events\": "
                "[{\"t\": 1795680005000, \"label\": \"breach: tool_error_rate\", \"status\": "
                "\"fail\"}], \"charts\": [{\"title\": \"Tool errors\", \"kind\": \"line\", \"x\": "
                "\"time\", \"series\": [{\"name\": \"candidate\", \"points\": [[1795680001000, "
                "0.02], [1795680004000, 0.2]]}], \"marks\": [{\"x\": 1795680005000, \"label\": "
                "\"rollback\"}]}, {\"title\": \"Empty\", \"kind\": \"bar\", \"series\": []}], "
                "\"tables\": [{\"title\": \"Cases\", \"columns\": [\"id\", \"outcome\", "
                "\"score\"], \"rows\": [[\"c1\", \"PASS\", 1.0], [\"c2 <x>\", \"FAIL\", 0], "
                "[\"c3\", \"FAIL\", 0.5]], \"filter\": 1, \"note\": \"all rows\"}], \"text\": "
                "\"line one\\nline & two\"}");
    put_section("eval", "{\"title\": \"Eval\", \"summary\": [}");
    json_t *r = load("{\"format\": 1, \"run_id\": \"20261126-080000-000-abcdef\", \"pipeline\": "
                     "\"/p/release.yaml\", \"name\": \"support-agent\", \"status\": \"failed\", "
                     "\"exit_code\": 1, \"started_at\": \"2026-11-26T08:00:00.000Z\", "
                     "\"finished_at\": \"2026-11-26T08:00:10.000Z\", \"duration_ms\": 10000, "
                     "\"resumed\": true, \"failure\": {\"stage\": \"canary\", \"reason\": "
                     "\"breach <b>\"}, \"artifacts\": [], \"outputs\": {\"eval.pass_rate\": "
                     "{\"type\": \"double\", \"value\": 0.97, \"writer\": \"eval\"}}, \"stages\": ["
                     "{\"id\": \"eval\", \"uses\": \"eval\", \"list\": \"stages\", \"background\": "
                     "false, \"state\": \"succeeded\", \"started_at\": "
                     "\"2026-11-26T08:00:00.500Z\", \"duration_ms\": 2000, \"gate\": \"passed\"},"
                     "{\"id\": \"canary\", \"uses\": \"canary\", \"list\": \"stages\", "
                     "\"background\": false, \"state\": \"failed\", \"reason\": \"breach <b>\", "
                     "\"started_at\": \"2026-11-26T08:00:03.000Z\", \"duration_ms\": 6000},"
                     "{\"id\": \"rollback\", \"uses\": \"rollback\", \"list\": \"on_failure\", "
                     "\"background\": false, \"state\": \"succeeded\", \"started_at\": "
                     "\"2026-11-26T08:00:09.000Z\", \"duration_ms\": 500}]}");
    json_t *sections = sw_report_sections(tmpdir, json_object_get(r, "stages"));
    json_t *journal = load("[{\"event\": \"run_start\", \"ts\": \"2026-11-26T08:00:00.000Z\"},"
                           "{\"event\": \"stage_end\", \"stage\": \"canary\", \"state\": "
                           "\"failed\", \"reason\": \"breach <b>\", \"duration_ms\": 6000, "
                           "\"ts\": \"2026-11-26T08:00:09.000Z\"}]");
    json_object_set_new(r, "timeline",
                        sw_report_timeline(journal, json_object_get(r, "stages"), sections));
    json_object_set_new(r, "sections", sections);
    json_decref(journal);
    return r;
}

START_TEST(test_page)
{
    json_t *r = sample_report();
    char *html = sw_report_html(r);
    ck_assert_msg(strncmp(html, "<!DOCTYPE html>", 15) == 0, "no doctype");
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    /* Only the page's own script; the section's is text. */
    ck_assert_uint_eq(count(html, "<script>"), 1);
    ck_assert_ptr_nonnull(strstr(html, "Canary &lt;script&gt;alert(1)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;i&gt;final&lt;/i&gt; weight"));
    ck_assert_ptr_null(strstr(html, "<i>final"));
    /* Self-contained: nothing refers to anything outside the page. */
    ck_assert_ptr_null(strstr(html, "http"));
    ck_assert_ptr_null(strstr(html, "src="));
    ck_assert_ptr_null(strstr(html, "href="));
    ck_assert_ptr_null(strstr(html, "url("));
    ck_assert_ptr_null(strstr(html, "@import"));
    /* Header, failure box, stage table, timeline. */
    ck_assert_ptr_nonnull(strstr(html, "<h1>support-agent <span class=\"badge s-fail\">failed"));
    ck_assert_ptr_nonnull(strstr(html, "class=\"failure\""));
    ck_assert_ptr_nonnull(strstr(html, "breach &lt;b&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "<dt>resumed</dt>"));
    ck_assert_ptr_nonnull(strstr(html, "10.00 s"));
    ck_assert_ptr_nonnull(strstr(html, "svg class=\"chart gantt\""));
    ck_assert_ptr_nonnull(strstr(html, "+5.00 s"));
    ck_assert_ptr_nonnull(strstr(html, "on_failure</span>"));
    /* The unreadable section says so, and why. */
    ck_assert_ptr_nonnull(
        strstr(html, "section unreadable: artifacts/eval/report-section.json: line 1:"));
    /* Filter buttons for the outcome column, and each row tagged with its value. */
    ck_assert_ptr_nonnull(strstr(html, "data-value=\"FAIL\">FAIL (2)</button>"));
    ck_assert_ptr_nonnull(strstr(html, "data-value=\"PASS\">PASS (1)</button>"));
    ck_assert_uint_eq(count(html, "<tr data-f=\"FAIL\">"), 2);
    ck_assert_ptr_nonnull(strstr(html, "line one\nline &amp; two"));
    ck_assert_ptr_nonnull(strstr(html, ">no data</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">rollback</text>"));
    ck_assert_ptr_nonnull(strstr(html, "eval.pass_rate"));

    /* The page holds the JSON's data: every section title (or its stage), every
       summary label, every table's rows by their first cell, every timeline label. */
    size_t i, k, m;
    json_t *sec, *item, *row;
    json_array_foreach(json_object_get(r, "sections"), i, sec)
    {
        json_t *s = json_object_get(sec, "section");
        const char *title = json_string_value(json_object_get(s, "title"));
        char *e = escaped(title ? title : json_string_value(json_object_get(sec, "stage")));
        ck_assert_msg(strstr(html, e) != NULL, "title '%s' not in the page", e);
        free(e);
        json_array_foreach(json_object_get(s, "summary"), k, item)
        {
            e = escaped(json_string_value(json_object_get(item, "label")));
            ck_assert_msg(strstr(html, e) != NULL, "summary '%s' not in the page", e);
            free(e);
        }
        json_array_foreach(json_object_get(s, "tables"), k, item)
        {
            json_array_foreach(json_object_get(item, "rows"), m, row)
            {
                e = escaped(json_string_value(json_array_get(row, 0)));
                char *cell = sw_xasprintf("<td>%s</td>", e);
                ck_assert_msg(strstr(html, cell) != NULL, "row '%s' not in the page", cell);
                free(cell);
                free(e);
            }
        }
    }
    json_array_foreach(json_object_get(r, "timeline"), i, item)
    {
        char *e = escaped(json_string_value(json_object_get(item, "label")));
        ck_assert_msg(strstr(html, e) != NULL, "event '%s' not in the page", e);
        free(e);
    }
    json_array_foreach(json_object_get(r, "stages"), i, item)
    {
        char *cell = sw_xasprintf("<td>%s", json_string_value(json_object_get(item, "id")));
        ck_assert_msg(strstr(html, cell) != NULL, "stage '%s' not in the table", cell);
        free(cell);
    }
    free(html);
    json_decref(r);
}
END_TEST

START_TEST(test_page_minimal)
{
    /* An interrupted run's report: no sections, no failure, unknown times. */
    json_t *r = load("{\"run_id\": \"x\", \"status\": \"interrupted\", \"stages\": [], "
                     "\"timeline\": [], \"sections\": []}");
    char *html = sw_report_html(r);
    ck_assert_ptr_nonnull(strstr(html, "badge s-warn\">interrupted"));
    ck_assert_ptr_null(strstr(html, "class=\"failure\""));
    ck_assert_ptr_null(strstr(html, "<h2>Sections</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "no events"));
    free(html);
    json_decref(r);
    /* Garbage where structure is expected is skipped, never a crash. */
    r = load("{\"stages\": 5, \"timeline\": {}, \"sections\": [1, {\"stage\": \"s\", \"section\": "
             "{\"summary\": [3, {}], \"charts\": [1, {\"kind\": \"pie\", \"series\": [1, "
             "{\"points\": 2}]}], \"tables\": [{\"rows\": [1, [[1], {\"a\": 1}, null]], "
             "\"filter\": 9}], \"text\": 5}}]}");
    html = sw_report_html(r);
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>{&quot;a&quot;:1}</td>"));
    free(html);
    json_decref(r);
}
END_TEST

START_TEST(test_extreme_numbers)
{
    /* Values where adding a tick step changes nothing, or ranges overflow: the
       drawing ends, with finite coordinates. */
    static const char *const charts[] = {
        "{\"kind\": \"line\", \"x\": \"number\", \"series\": [{\"name\": \"a\", "
        "\"points\": [[1e17, 1e17], [100000000000000001, 100000000000000002]]}]}",
        "{\"kind\": \"line\", \"x\": \"number\", \"series\": [{\"name\": \"a\", "
        "\"points\": [[-1e308, -1e308], [1e308, 1e308]]}]}",
        "{\"kind\": \"step\", \"x\": \"time\", \"series\": [{\"name\": \"a\", "
        "\"points\": [[0, 5], [1e300, 5]]}], \"marks\": [{\"x\": -1e300}]}",
        "{\"kind\": \"bar\", \"series\": [{\"name\": \"a\", \"points\": [[\"x\", 1e308], "
        "[\"y\", -1e308], [3, 0]]}]}",
    };
    for (size_t i = 0; i < sizeof charts / sizeof *charts; i++) {
        char *svg = chart(charts[i], (double)T0);
        ck_assert_msg(strstr(svg, "</svg>") != NULL, "chart %zu not finished", i);
        ck_assert_msg(strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL,
                      "chart %zu has a non-finite number: %s", i, svg);
        free(svg);
    }
    /* A section event far outside any run is left out of the timeline. */
    json_t *sections = load("[{\"stage\": \"s\", \"section\": {\"events\": [{\"t\": 1e30, "
                            "\"label\": \"far\"}, {\"t\": -1e300, \"label\": \"before\"}, "
                            "{\"t\": 5, \"label\": \"ok\"}]}}]");
    json_t *tl = sw_report_timeline(NULL, NULL, sections);
    ck_assert_uint_eq(json_array_size(tl), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0), "label")), "ok");
    json_decref(tl);
    json_decref(sections);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_time_parse);
    tcase_add_test(tc, test_sections);
    tcase_add_test(tc, test_timeline_merge);
    tcase_add_test(tc, test_chart_no_points);
    tcase_add_test(tc, test_bar_chart);
    tcase_add_test(tc, test_time_axis);
    tcase_add_test(tc, test_gantt);
    tcase_add_test(tc, test_page);
    tcase_add_test(tc, test_page_minimal);
    tcase_add_test(tc, test_extreme_numbers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
