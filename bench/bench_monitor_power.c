/*
 * bench_monitor_power.c - the monitor's false-alarm and power curves on simulated
 * canaries (plugins/monitor/simulate.h), in process, fixed seeds: the figures in
 * BENCHMARKS.md ("Monitor: false alarms and power"). Not timings: rates out of
 * `runs` canaries each, so they are the same on every machine.
 *   bench_monitor_power [RUNS]   (default 2000)
 *
 * 1. A/A (both arms the same): how often a healthy candidate is rolled back over a
 *    whole canary of K looks, by spending plan and alpha, and with every look tested
 *    at alpha (what the spending prevents).
 * 2. Power: a candidate worse by some effect, the canary promoting at the first look
 *    with enough evidence: how often it is caught first, promoted, or never has the
 *    evidence (inconclusive), against the declared min_effect.
 * 3. Both for cost per session (the rank test on per-session samples).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../plugins/monitor/evidence.c"
#include "../plugins/monitor/judge.c"
#include "../plugins/monitor/simulate.c"

static sw_sim_plan rate_plan(void)
{
    /* 2% failed tasks; 100 candidate and 400 baseline tasks per look (a 20% step). */
    return (sw_sim_plan){.metric = "task_failure_rate",
                         .base_value = 0.02,
                         .min_effect = 0.03,
                         .max_increase = NAN,
                         .alpha = 0.05,
                         .power = 0.8,
                         .spending = SW_SPEND_OBRIEN_FLEMING,
                         .max_looks = 20,
                         .per_look_candidate = 100,
                         .per_look_baseline = 400};
}

static double rolled_back(sw_sim_plan p, int runs, uint64_t seed)
{
    sw_sim_result r;
    sw_sim_run(&p, runs, seed, &r);
    return (double)r.rolled_back / runs;
}

static void false_alarms(int runs)
{
    printf("A/A task_failure_rate 2%%, 100 + 400 tasks per look: false rollbacks over K looks "
           "(%d canaries each)\n",
           runs);
    printf("%4s  %10s  %10s  %10s  %10s  %10s\n", "K", "naive .05", "bonf .05", "OBF .01",
           "OBF .05", "OBF .10");
    const int ks[] = {1, 5, 10, 20, 40};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        sw_sim_plan p = rate_plan();
        p.max_looks = ks[i];
        sw_sim_plan naive = p, bonf = p, o01 = p, o10 = p;
        naive.naive = 1;
        bonf.spending = SW_SPEND_BONFERRONI;
        o01.alpha = 0.01;
        o10.alpha = 0.10;
        uint64_t seed = 1000 + (uint64_t)ks[i];
        printf("%4d  %10.4f  %10.4f  %10.4f  %10.4f  %10.4f\n", ks[i],
               rolled_back(naive, runs, seed), rolled_back(bonf, runs, seed),
               rolled_back(o01, runs, seed), rolled_back(p, runs, seed),
               rolled_back(o10, runs, seed));
    }
}

static void power_row(sw_sim_plan p, double effect, int runs, uint64_t seed, const char *unit)
{
    p.effect = effect;
    p.stop_at_evidence = 1;
    sw_sim_result r;
    sw_sim_run(&p, runs, seed, &r);
    int ended = r.rolled_back + r.promoted;
    printf("%+8.1f%s  %12.4f  %10.4f  %10.4f  %12.4f  %6.1f\n", effect * 100, unit,
           ended ? (double)r.rolled_back / ended : 0, (double)r.rolled_back / runs,
           (double)r.promoted / runs, (double)r.inconclusive / runs, r.looks);
}

static void power(int runs)
{
    printf("\npower, task_failure_rate 2%%, min_effect +3 points, power 0.8, OBF alpha 0.05, "
           "20 looks of 100 + 400 (%d canaries each)\n",
           runs);
    printf("%9s  %12s  %10s  %10s  %12s  %6s\n", "effect", "caught first", "rolled bk", "promoted",
           "inconclusive", "looks");
    const double effects[] = {0, 0.01, 0.02, 0.03, 0.045, 0.06};
    for (size_t i = 0; i < sizeof effects / sizeof *effects; i++)
        power_row(rate_plan(), effects[i], runs, 2000 + i, "pt");

    sw_sim_plan l = {.metric = "latency_p95",
                     .base_value = 200,
                     .min_effect = 0.5,
                     .max_increase = NAN,
                     .alpha = 0.05,
                     .power = 0.8,
                     .spending = SW_SPEND_OBRIEN_FLEMING,
                     .max_looks = 10,
                     .per_look_candidate = 6,
                     .per_look_baseline = 18};
    int lr = runs / 4;
    printf("\npower, latency (log-normal, median 200 ms) shifted, min_effect +50%% over the "
           "allowed +20%%, 10 looks of 6 + 18 (%d canaries each)\n",
           lr);
    printf("%9s  %12s  %10s  %10s  %12s  %6s\n", "effect", "caught first", "rolled bk", "promoted",
           "inconclusive", "looks");
    const double shifts[] = {0, 0.2, 0.35, 0.5, 0.75};
    for (size_t i = 0; i < sizeof shifts / sizeof *shifts; i++)
        power_row(l, shifts[i], lr, 3000 + i, "% ");
}

/* Cost per session as release.yaml guards it: the rank test, +10% to detect over an allowed
   +5% of stable's median; sessions' costs log-normal around $0.002, sigma 0.08 on the log
   scale, 6 candidate and 18 baseline sessions per look (as check_monitor_sim). */
static sw_sim_plan cost_plan(void)
{
    return (sw_sim_plan){.metric = "cost_per_session",
                         .base_value = 0.002,
                         .min_effect = 0.1,
                         .max_increase = NAN,
                         .max_relative_increase = 0.05,
                         .spread = 0.08,
                         .alpha = 0.05,
                         .power = 0.8,
                         .spending = SW_SPEND_OBRIEN_FLEMING,
                         .max_looks = 10,
                         .per_look_candidate = 6,
                         .per_look_baseline = 18};
}

static void cost(int runs)
{
    printf("\nA/A cost_per_session (log-normal, median $0.002, sigma 0.08), 6 + 18 sessions per "
           "look, the candidate's true shift 0 or the allowed +5%%: false rollbacks over K "
           "looks (%d canaries each)\n",
           runs);
    printf("%4s  %10s  %10s  %10s  %10s  %10s  %10s\n", "K", "0 naive", "0 bonf", "0 OBF",
           "+5 naive", "+5 bonf", "+5 OBF");
    const int ks[] = {1, 5, 10, 20};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        double v[6];
        for (int at = 0; at < 2; at++) {
            sw_sim_plan p = cost_plan();
            p.max_looks = ks[i];
            p.effect = at ? 0.05 : 0;
            sw_sim_plan naive = p, bonf = p;
            naive.naive = 1;
            bonf.spending = SW_SPEND_BONFERRONI;
            uint64_t seed = 4000 + (uint64_t)ks[i] + 100 * (uint64_t)at;
            v[3 * at] = rolled_back(naive, runs, seed);
            v[3 * at + 1] = rolled_back(bonf, runs, seed);
            v[3 * at + 2] = rolled_back(p, runs, seed);
        }
        printf("%4d  %10.4f  %10.4f  %10.4f  %10.4f  %10.4f  %10.4f\n", ks[i], v[0], v[1], v[2],
               v[3], v[4], v[5]);
    }
    printf("\npower, cost_per_session shifted, min_effect +10%% over the allowed +5%%, OBF alpha "
           "0.05, 10 looks of 6 + 18 (%d canaries each)\n",
           runs);
    printf("%9s  %12s  %10s  %10s  %12s  %6s\n", "effect", "caught first", "rolled bk", "promoted",
           "inconclusive", "looks");
    const double shifts[] = {0, 0.05, 0.075, 0.1, 0.15};
    for (size_t i = 0; i < sizeof shifts / sizeof *shifts; i++)
        power_row(cost_plan(), shifts[i], runs, 5000 + i, "% ");
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    if (runs < 4) {
        fprintf(stderr, "usage: bench_monitor_power [RUNS >= 4]\n");
        return 2;
    }
    false_alarms(runs);
    power(runs);
    cost(runs);
    return 0;
}
