/* runner.c - jobs, the agent loop through the scheduler, the judge, spend and caps. */
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "stats/bootstrap.h"
#include "stats/quantile.h"
#include "store/canon.h"

#define PROGRESS_MS        250
#define JUDGE_MAX_TOKENS   512
#define ASSUMED_MAX_OUT    4096 /* completion cap assumed when a release sets none */
#define TOOL_RESULT_TOKENS 256  /* per step, for the worst case */

typedef struct run run;

typedef struct job {
    run *run;
    ev_case *c;
    size_t sel;
    int sample, side;
    ev_convo cv;
    char key[SW_SHA256_HEX_LEN + 1];
    ev_aresult *results;
    size_t judges_pending;
    double started;
    int64_t seen_in, seen_out; /* usage already accounted */
    double seen_usd;
} job;

typedef struct judge_req {
    job *j;
    size_t idx;
} judge_req;

struct run {
    const ev_config *cfg;
    ev_results *res;
    ev_sched *sched;
    size_t n;
    int k, sides;
    size_t total_jobs, next_job, active, max_active;
    ev_case *cur; /* the case of the job started last */
    size_t cur_sel;
    FILE *out[2];
    int64_t off[2];
    double spend_usd;
    int64_t spend_tokens;
    size_t cand_done, cand_pass, cand_fail, cand_err;
    double last_progress;
    int write_failed;
    char write_err[SW_ERR_MAX];
    sw_buf line;
};

static void say(run *r, int level, const char *fmt, ...) SW_PRINTF(3, 4);
static void say(run *r, int level, const char *fmt, ...)
{
    if (!r->cfg->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = sw_xvasprintf(fmt, ap);
    va_end(ap);
    r->cfg->log(r->cfg->ud, level, m);
    free(m);
}

const ev_trial *ev_trial_at(const ev_results *res, int side, size_t c, int sample)
{
    return &res->trials[((size_t)side * res->planned + c) * (size_t)res->k + (size_t)sample];
}

static ev_trial *trial_of(run *r, int side, size_t c, int sample)
{
    return (ev_trial *)ev_trial_at(r->res, side, c, sample);
}

int ev_case_result(const ev_results *res, int side, size_t c, ev_outcome *o, double *score)
{
    int any_error = 0, all_pass = 1;
    double s = 0;
    for (int k = 0; k < res->k; k++) {
        const ev_trial *t = ev_trial_at(res, side, c, k);
        if (!t->done)
            return 0;
        any_error |= t->outcome == EV_ERROR;
        all_pass &= t->outcome == EV_PASS;
        s += t->score;
    }
    *o = any_error ? EV_ERROR : all_pass ? EV_PASS : EV_FAIL;
    *score = s / res->k;
    return 1;
}

/* ---- spend ---- */

static void check_caps(run *r)
{
    const ev_config *cfg = r->cfg;
    if (r->res->budget_hit)
        return;
    const char *what = NULL;
    char buf[256];
    if (cfg->max_usd > 0 && r->spend_usd >= cfg->max_usd) {
        snprintf(buf, sizeof buf, "budget cap reached: $%.4f spent of max_usd $%.4f", r->spend_usd,
                 cfg->max_usd);
        what = buf;
    } else if (cfg->max_tokens > 0 && r->spend_tokens >= cfg->max_tokens) {
        snprintf(buf, sizeof buf, "budget cap reached: %lld tokens spent of max_tokens %lld",
                 (long long)r->spend_tokens, (long long)cfg->max_tokens);
        what = buf;
    }
    if (!what)
        return;
    r->res->budget_hit = 1;
    snprintf(r->res->stop_reason, sizeof r->res->stop_reason, "%s", what);
    say(r, SW_LOG_WARN, "%s; no more requests are sent", what);
    ev_sched_refuse(r->sched, what);
}

static void account_target(run *r, job *j)
{
    const ev_output *o = &j->cv.out;
    int64_t din = o->tokens_in - j->seen_in, dout = o->tokens_out - j->seen_out;
    double dusd = o->cost_usd - j->seen_usd;
    j->seen_in = o->tokens_in;
    j->seen_out = o->tokens_out;
    j->seen_usd = o->cost_usd;
    ev_side *s = &r->res->side[j->side];
    s->tokens_in += din;
    s->tokens_out += dout;
    s->cost_usd += dusd;
    r->spend_usd += dusd;
    r->spend_tokens += din + dout;
    ev_sched_tokens_used(r->sched, EV_POOL_TARGET, j->cv.est_tokens, din + dout);
    check_caps(r);
}

/* ---- rows ---- */

static json_t *row_json(const job *j, ev_outcome outcome, double score)
{
    const ev_case *c = j->c;
    const ev_output *o = &j->cv.out;
    const ev_release *rel = &j->run->cfg->rel[j->side];
    json_t *row = json_object();
    json_object_set_new(row, "case", json_string(c->id));
    json_object_set_new(row, "index", json_integer((json_int_t)c->index));
    json_object_set_new(row, "sample", json_integer(j->sample));
    json_object_set_new(row, "release", rel->id ? json_string(rel->id) : json_null());
    json_object_set_new(row, "outcome", json_string(ev_outcome_name(outcome)));
    json_object_set_new(row, "score", json_real(score));
    json_object_set_new(row, "input", json_string(c->input ? c->input : ""));
    json_object_set_new(row, "output", json_string(o->text ? o->text : ""));
    json_object_set_new(row, "finish_reason",
                        o->finish_reason ? json_string(o->finish_reason) : json_null());
    json_object_set_new(row, "tool_calls", ev_output_calls_json(o));
    json_object_set_new(row, "steps", json_integer(o->steps));
    json_object_set_new(row, "tokens_in", json_integer(o->tokens_in));
    json_object_set_new(row, "tokens_out", json_integer(o->tokens_out));
    json_object_set_new(row, "cost_usd", json_real(o->cost_usd));
    json_object_set_new(row, "latency_ms", json_real(o->latency_ms));
    json_t *as = json_array();
    for (size_t i = 0; j->results && i < c->n_asserts; i++) {
        const ev_assert *a = &c->asserts[i];
        const ev_aresult *ar = &j->results[i];
        json_t *x = json_pack("{s:s, s:s, s:f, s:f, s:s}", "type", a->type, "outcome",
                              ev_outcome_name(ar->outcome), "score", ar->score, "weight", a->weight,
                              "message", ar->message ? ar->message : "");
        if (a->metric)
            json_object_set_new(x, "metric", json_string(a->metric));
        json_array_append_new(as, x);
    }
    json_object_set_new(row, "assertions", as);
    if (o->error)
        json_object_set_new(row, "error", json_string(o->error));
    if (o->max_steps_reached)
        json_object_set_new(row, "max_steps_reached", json_true());
    if (o->missing_tools)
        json_object_set(row, "missing_tools", o->missing_tools);
    if (o->usage_missing)
        json_object_set_new(row, "usage_missing", json_true());
    json_object_set(row, "tags", c->tags);
    json_object_set_new(row, "replayed", json_boolean(o->replayed));
    json_object_set_new(
        row, "timing",
        json_pack("{s:i, s:f}", "attempts", o->attempts, "wall_ms", sw_now_ms() - j->started));
    return row;
}

static void write_row(run *r, job *j, ev_outcome outcome, double score, ev_trial *t)
{
    json_t *row = row_json(j, outcome, score);
    char *text = json_dumps(row, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(row);
    if (!text) { /* invalid UTF-8 from the model: keep the row, say so */
        row = json_pack("{s:s, s:i, s:s, s:s}", "case", j->c->id, "sample", j->sample, "outcome",
                        ev_outcome_name(outcome), "error", "the row could not be written as JSON");
        text = json_dumps(row, JSON_COMPACT);
        json_decref(row);
    }
    size_t n = strlen(text);
    FILE *f = r->out[j->side];
    t->row_off = r->off[j->side];
    t->row_len = (uint32_t)n;
    if (!r->write_failed &&
        (fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fflush(f) != 0)) {
        r->write_failed = 1;
        snprintf(r->write_err, sizeof r->write_err, "writing %s: %s", r->cfg->out_path[j->side],
                 strerror(errno));
    }
    r->off[j->side] += (int64_t)n + 1;
    free(text);
}

/* ---- jobs ---- */

static void job_free(job *j)
{
    if (j->results)
        for (size_t i = 0; i < j->c->n_asserts; i++)
            ev_aresult_clear(&j->results[i]);
    free(j->results);
    ev_convo_clear(&j->cv);
    ev_case_unref(j->c);
    free(j);
}

static void finish_job(job *j)
{
    run *r = j->run;
    r->active--;
    if (r->res->cancelled) { /* only what finished before the stop is reported */
        job_free(j);
        return;
    }
    double score = 0;
    ev_outcome o;
    if (j->cv.out.error)
        o = EV_ERROR;
    else
        o = ev_case_outcome(j->c->asserts, j->results, j->c->n_asserts, j->c->has_threshold,
                            j->c->threshold, &score);
    ev_trial *t = trial_of(r, j->side, j->sel, j->sample);
    write_row(r, j, o, score, t);
    t->done = 1;
    t->outcome = (uint8_t)o;
    t->score = score;
    t->latency_ms = j->cv.out.latency_ms;
    t->cost_usd = j->cv.out.cost_usd;
    t->hash = ev_output_hash(&j->cv.out);
    ev_side *s = &r->res->side[j->side];
    s->trials++;
    s->cost_unknown |= j->cv.out.cost_unknown;
    s->usage_missing |= j->cv.out.usage_missing;
    if (o == EV_ERROR)
        s->trial_errors++;
    if (j->side == EV_CAND) {
        r->cand_done++;
        if (o == EV_PASS)
            r->cand_pass++;
        else if (o == EV_FAIL)
            r->cand_fail++;
        else
            r->cand_err++;
    }
    job_free(j);
}

static void on_judge(void *ud, const ev_response *resp)
{
    judge_req *jr = ud;
    job *j = jr->j;
    run *r = j->run;
    const ev_assert *a = &j->c->asserts[jr->idx];
    ev_aresult *ar = &j->results[jr->idx];
    free(jr);
    if (resp->error) {
        ev_result_set(ar, EV_ERROR, 0, "judge: %s", resp->error);
    } else {
        int64_t in, out;
        const ev_endpoint *ep = &r->cfg->judge.ep[r->cfg->judge_proto];
        ev_judge_verdict(a, r->cfg->judge_proto, resp->status, resp->body, resp->len, ar, &in,
                         &out);
        ev_assert_negate(a, ar);
        if (ep->key && ar->message) { /* an error page may echo the key */
            char *clean = ev_scrub(ar->message, ep->key);
            free(ar->message);
            ar->message = clean;
        }
        double usd = ev_cost(&r->cfg->judge_pricing, in, out, 0);
        r->res->judge_in += in;
        r->res->judge_out += out;
        r->res->judge_usd += usd;
        r->spend_usd += usd;
        r->spend_tokens += in + out;
        check_caps(r);
    }
    if (--j->judges_pending == 0)
        finish_job(j);
}

static void grade(job *j)
{
    run *r = j->run;
    const ev_case *c = j->c;
    if (j->cv.out.error) {
        finish_job(j);
        return;
    }
    j->results = sw_xcalloc(c->n_asserts + 1, sizeof *j->results);
    ev_subject subj = {.case_id = c->id,
                       .vars = c->vars,
                       .expected = c->expected,
                       .tags = c->tags,
                       .input = c->input,
                       .out = &j->cv.out,
                       .sample = j->sample};
    size_t judged = 0;
    for (size_t i = 0; i < c->n_asserts; i++) {
        const ev_assert *a = &c->asserts[i];
        if (!(a->kind->flags & EV_K_JUDGE)) {
            ev_assert_eval(a, &subj, &j->results[i]);
            continue;
        }
        if (!r->cfg->judge_model) {
            ev_result_set(&j->results[i], EV_ERROR, 0, "llm-rubric needs judge_model");
            continue;
        }
        judged++;
    }
    j->judges_pending = judged + 1; /* held until every judge request is out */
    for (size_t i = 0; judged && i < c->n_asserts; i++) {
        const ev_assert *a = &c->asserts[i];
        if (!(a->kind->flags & EV_K_JUDGE) || !r->cfg->judge_model)
            continue;
        sw_err err;
        json_t *body = ev_judge_request(r->cfg->judge_model, r->cfg->judge_proto, JUDGE_MAX_TOKENS,
                                        a, &subj, &err);
        char *text = body ? sw_canon_json(body, &err) : NULL;
        json_decref(body);
        if (!text) {
            ev_result_set(&j->results[i], EV_ERROR, 0, "judge: %s", err.msg);
            j->judges_pending--;
            continue;
        }
        char key[SW_SHA256_HEX_LEN + 1];
        if (r->cfg->sched.cache)
            ev_cache_key_canon("judge", text, 0, key);
        const ev_endpoint *ep = &r->cfg->judge.ep[r->cfg->judge_proto];
        const char *headers[3] = {NULL, NULL, NULL};
        size_t nh = 0;
        if (ep->auth)
            headers[nh++] = ep->auth;
        if (r->cfg->judge_proto == SW_PROTO_MESSAGES)
            headers[nh++] = r->cfg->judge.anthropic_version;
        judge_req *jr = sw_xmalloc(sizeof *jr);
        jr->j = j;
        jr->idx = i;
        size_t len = strlen(text);
        ev_req_spec spec = {.pool = EV_POOL_JUDGE,
                            .url = ep->url,
                            .headers = nh ? headers : NULL,
                            .body = text,
                            .body_len = len,
                            .cache_key = r->cfg->sched.cache ? key : NULL,
                            .est_tokens = (int64_t)(len / 4) + JUDGE_MAX_TOKENS,
                            .done = on_judge,
                            .ud = jr};
        r->res->judge_calls++;
        ev_sched_submit(r->sched, &spec);
    }
    if (--j->judges_pending == 0)
        finish_job(j);
}

static void on_target(void *ud, const ev_response *resp);

static void step(job *j)
{
    ev_req_spec spec;
    sw_err err;
    if (ev_convo_next(&j->cv, &spec, j->key, &err) < 0) {
        free(j->cv.out.error);
        j->cv.out.error = sw_xstrdup(err.msg);
        grade(j);
        return;
    }
    spec.done = on_target;
    spec.ud = j;
    ev_sched_submit(j->run->sched, &spec);
}

static void on_target(void *ud, const ev_response *resp)
{
    job *j = ud;
    run *r = j->run;
    if (resp->error && r->res->budget_hit && resp->attempts == 0 && j->cv.out.steps == 0) {
        /* Refused before anything was sent: the case did not run (no row). */
        r->active--;
        job_free(j);
        return;
    }
    int more = ev_convo_take(&j->cv, resp);
    account_target(j->run, j);
    if (more)
        step(j);
    else
        grade(j);
}

/* The next job in order: case by case; the candidate's samples, then the baseline's. */
static int start_next(run *r, sw_err *err)
{
    size_t per_case = (size_t)r->k * (size_t)r->sides;
    size_t i = r->next_job++;
    size_t sel = i / per_case, within = i % per_case;
    if (!r->cur || r->cur_sel != sel) {
        ev_case_unref(r->cur);
        r->cur = ev_dataset_case(r->cfg->ds, sel, err);
        r->cur_sel = sel;
        if (!r->cur)
            return -1;
    }
    job *j = sw_xcalloc(1, sizeof *j);
    j->run = r;
    j->c = ev_case_ref(r->cur);
    j->sel = sel;
    j->side = (int)(within / (size_t)r->k);
    j->sample = (int)(within % (size_t)r->k);
    j->started = sw_now_ms();
    ev_convo_init(&j->cv, &r->cfg->target, &r->cfg->rel[j->side], j->c, j->sample);
    r->active++;
    step(j);
    return 0;
}

static void progress(run *r, int force)
{
    double now = sw_now_ms();
    if (!r->cfg->progress || (!force && now - r->last_progress < PROGRESS_MS))
        return;
    r->last_progress = now;
    size_t total = r->n * (size_t)r->k;
    size_t measured = r->cand_pass + r->cand_fail;
    char note[256];
    snprintf(note, sizeof note, "%zu/%zu samples, pass %.1f%%, %zu error%s, $%.4f", r->cand_done,
             total, measured ? 100.0 * (double)r->cand_pass / (double)measured : 0.0, r->cand_err,
             r->cand_err == 1 ? "" : "s", r->spend_usd);
    double done = 0;
    for (int s = 0; s < r->sides; s++)
        done += (double)r->res->side[s].trials;
    r->cfg->progress(r->cfg->ud, total ? done / (double)(total * (size_t)r->sides) : 1, note);
}

/* ---- after the run ---- */

static void summarize(run *r)
{
    ev_results *res = r->res;
    for (int side = 0; side < r->sides; side++) {
        ev_side *s = &res->side[side];
        s->latencies = sw_xmalloc((r->n * (size_t)r->k + 1) * sizeof *s->latencies);
        for (size_t c = 0; c < r->n; c++) {
            for (int k = 0; k < r->k; k++) {
                const ev_trial *t = ev_trial_at(res, side, c, k);
                if (t->done && t->outcome != EV_ERROR)
                    s->latencies[s->n_latencies++] = t->latency_ms;
            }
            ev_outcome o;
            double score;
            if (!ev_case_result(res, side, c, &o, &score)) {
                if (side == EV_CAND)
                    res->not_run++;
                continue;
            }
            s->cases++;
            if (o == EV_ERROR) {
                s->errors++;
                continue;
            }
            s->score_sum += score;
            if (o == EV_PASS)
                s->passed++;
            else
                s->failed++;
            for (int k = 0; k < r->k; k++)
                if (ev_trial_at(res, side, c, k)->outcome == EV_PASS) {
                    s->pass_any++;
                    break;
                }
        }
        sw_sort_doubles(s->latencies, s->n_latencies);
    }
}

static int regression(run *r, sw_err *err)
{
    ev_results *res = r->res;
    ev_pair *pairs = sw_xcalloc(r->n + 1, sizeof *pairs);
    for (size_t c = 0; c < r->n; c++) {
        ev_pair *p = &pairs[c];
        p->done = ev_case_result(res, EV_CAND, c, &p->cand, &p->cand_score) &&
                  ev_case_result(res, EV_BASE, c, &p->base, &p->base_score);
        if (p->done) {
            p->cand_hash = ev_trial_at(res, EV_CAND, c, 0)->hash;
            p->base_hash = ev_trial_at(res, EV_BASE, c, 0)->hash;
        }
    }
    const ev_config *cfg = r->cfg;
    int rc = ev_regression_compute(pairs, r->n, cfg->margin, cfg->confidence, cfg->resamples,
                                   cfg->seed, &res->reg, err);
    free(pairs);
    res->has_reg = rc == 0;
    return rc;
}

static double p95_stat(double *v, size_t n, const void *arg)
{
    (void)arg;
    return sw_quantile_select(v, n, 0.95);
}

static double mean_stat(double *v, size_t n, const void *arg)
{
    (void)arg;
    return sw_mean(v, n);
}

static double trial_latency(const ev_trial *t)
{
    return t->latency_ms;
}

static double trial_cost(const ev_trial *t)
{
    return t->cost_usd;
}

/* Latency is noisy, a p95 over a golden set's few cases more so, and a real
   model's answers vary in length: the interval says how far a ratio could be
   from what one run drew, so that a gate can ask for evidence of a slowdown
   or a costlier release rather than for luck. The pairs are the cases with
   no ERROR sample on either side, each with its k samples. */
static int paired_interval(run *r, double (*field)(const ev_trial *), sw_bootstrap_stat stat,
                           double *lo, double *hi, sw_err *err)
{
    ev_results *res = r->res;
    size_t k = (size_t)r->k, n = 0;
    double *a = sw_xmalloc((r->n * k + 1) * sizeof *a);
    double *b = sw_xmalloc((r->n * k + 1) * sizeof *b);
    for (size_t c = 0; c < r->n; c++) {
        int ok = 1;
        for (int s = 0; s < r->k && ok; s++) {
            const ev_trial *tc = ev_trial_at(res, EV_CAND, c, s);
            const ev_trial *tb = ev_trial_at(res, EV_BASE, c, s);
            ok = tc->done && tb->done && tc->outcome != EV_ERROR && tb->outcome != EV_ERROR;
        }
        if (!ok)
            continue;
        for (int s = 0; s < r->k; s++) {
            a[n * k + (size_t)s] = field(ev_trial_at(res, EV_CAND, c, s));
            b[n * k + (size_t)s] = field(ev_trial_at(res, EV_BASE, c, s));
        }
        n++;
    }
    int rc = 0;
    if (n)
        rc = sw_bootstrap_ratio_ci(a, b, n, k, stat, NULL, r->cfg->resamples, r->cfg->confidence,
                                   r->cfg->seed, lo, hi, err);
    free(a);
    free(b);
    return rc;
}

void ev_worst_case(const ev_config *cfg, double *usd, int64_t *tokens)
{
    const ev_dataset *ds = cfg->ds;
    double n = (double)ev_dataset_count(ds), k = cfg->repeat;
    double in_sum = (double)ev_dataset_input_bytes_sum(ds) / 4;
    int steps = cfg->target.kind == EV_TARGET_MODEL ? cfg->target.max_steps : 1;
    double total_usd = 0, total_tok = 0;
    int sides = cfg->has_baseline ? 2 : 1;
    for (int s = 0; s < sides; s++) {
        const ev_release *rel = &cfg->rel[s];
        json_t *mt = json_object_get(rel->params, "max_completion_tokens");
        if (!json_is_integer(mt))
            mt = json_object_get(rel->params, "max_tokens");
        double out = json_is_integer(mt) ? (double)json_integer_value(mt) : ASSUMED_MAX_OUT;
        char *tools = json_dumps(rel->tools, JSON_COMPACT);
        double fixed =
            (double)((rel->system ? strlen(rel->system) : 0) + (tools ? strlen(tools) : 0)) / 4;
        free(tools);
        /* Step s sees the first prompt plus s rounds of (answer + tool result). */
        double prompt = 0, completion = 0;
        for (int st = 0; st < steps; st++) {
            prompt += n * fixed + in_sum + n * st * (out + TOOL_RESULT_TOKENS);
            completion += n * out;
        }
        prompt *= k;
        completion *= k;
        total_tok += prompt + completion;
        if (rel->pricing.known)
            total_usd += prompt * rel->pricing.input + completion * rel->pricing.output;
        if (s == EV_CAND) {
            double judged = (double)ev_dataset_judged(ds) * k;
            double jp = judged * (300 + out + in_sum / (n > 0 ? n : 1)),
                   jc = judged * JUDGE_MAX_TOKENS;
            total_tok += jp + jc;
            if (cfg->judge_pricing.known)
                total_usd += jp * cfg->judge_pricing.input + jc * cfg->judge_pricing.output;
        }
    }
    *usd = total_usd;
    *tokens = (int64_t)total_tok;
}

int ev_run(const ev_config *cfg, ev_results *res, sw_err *err)
{
    memset(res, 0, sizeof *res);
    double t0 = sw_now_ms();
    run r = {.cfg = cfg, .res = res};
    r.n = ev_dataset_count(cfg->ds);
    r.k = cfg->repeat < 1 ? 1 : cfg->repeat;
    r.sides = cfg->has_baseline ? 2 : 1;
    res->planned = r.n;
    res->k = r.k;
    res->sides = r.sides;
    for (int s = 0; s < r.sides; s++) {
        r.out[s] = fopen(cfg->out_path[s], "wb");
        if (!r.out[s]) {
            sw_err_errno(err, "cannot write %s", cfg->out_path[s]);
            if (s)
                fclose(r.out[0]);
            return -1;
        }
    }
    r.sched = ev_sched_new(&cfg->sched, err);
    if (!r.sched) {
        for (int s = 0; s < r.sides; s++)
            fclose(r.out[s]);
        return -1;
    }
    res->trials = sw_xcalloc((size_t)r.sides * r.n * (size_t)r.k + 1, sizeof *res->trials);
    ev_worst_case(cfg, &res->worst_usd, &res->worst_tokens);
    r.total_jobs = r.n * (size_t)r.k * (size_t)r.sides;
    r.max_active =
        2 * (size_t)(cfg->sched.pools[0].concurrency + cfg->sched.pools[1].concurrency) + 8;
    int rc = 0;
    for (;;) {
        if (!res->cancelled && cfg->cancelled && cfg->cancelled(cfg->ud)) {
            res->cancelled = 1;
            snprintf(res->stop_reason, sizeof res->stop_reason, "cancelled");
            say(&r, SW_LOG_WARN, "cancelled: stopping; only finished cases are reported");
            ev_sched_abort(r.sched, "cancelled");
        }
        while (!res->cancelled && !res->budget_hit && r.next_job < r.total_jobs &&
               r.active < r.max_active) {
            if (start_next(&r, err) < 0) {
                rc = -1;
                res->cancelled = 1;
                snprintf(res->stop_reason, sizeof res->stop_reason, "%.500s", err->msg);
                ev_sched_abort(r.sched, "stopped");
                break;
            }
        }
        if (r.active == 0 && (r.next_job >= r.total_jobs || res->cancelled || res->budget_hit))
            break;
        ev_sched_run_once(r.sched, 100);
        progress(&r, 0);
    }
    progress(&r, 1);
    ev_case_unref(r.cur);
    for (int p = 0; p < EV_POOLS; p++)
        res->pool[p] = *ev_sched_stats(r.sched, p);
    res->retry_budget_left = ev_sched_retry_budget_left(r.sched);
    ev_sched_free(r.sched);
    for (int s = 0; s < r.sides; s++)
        if (fclose(r.out[s]) != 0 && !r.write_failed) {
            r.write_failed = 1;
            snprintf(r.write_err, sizeof r.write_err, "writing %s: %s", cfg->out_path[s],
                     strerror(errno));
        }
    res->total_usd = r.spend_usd;
    res->total_tokens = r.spend_tokens;
    summarize(&r);
    res->latency_ratio_lo = res->latency_ratio_hi = NAN;
    res->cost_ratio_lo = res->cost_ratio_hi = NAN;
    if (rc == 0 && r.sides == 2)
        rc = regression(&r, err);
    if (rc == 0 && r.sides == 2)
        rc = paired_interval(&r, trial_latency, p95_stat, &res->latency_ratio_lo,
                             &res->latency_ratio_hi, err);
    if (rc == 0 && r.sides == 2)
        rc = paired_interval(&r, trial_cost, mean_stat, &res->cost_ratio_lo, &res->cost_ratio_hi,
                             err);
    res->elapsed_ms = sw_now_ms() - t0;
    if (rc == 0 && r.write_failed)
        rc = sw_err_set(err, "%s", r.write_err);
    return rc;
}

void ev_results_clear(ev_results *res)
{
    free(res->trials);
    for (int s = 0; s < 2; s++)
        free(res->side[s].latencies);
    ev_regression_clear(&res->reg);
    memset(res, 0, sizeof *res);
}
