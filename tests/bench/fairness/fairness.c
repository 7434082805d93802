/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fairness.c - fairness benchmark of the scheduler: the scenarios of
 * scheduler.md on a simulated GPU, every metric next to FIFO.
 *
 * Each scenario runs twice in the discrete-event GPU model (tests/host/
 * sched/simgpu.c), once through sched.c and once with FIFO pass-through,
 * and the metrics are computed from the model's execution trace (what the
 * engines really ran), never from the scheduler's own accounting.  These
 * are simulated-GPU numbers.  The same metrics code reads a trace file
 * (--from-trace), which is the seam for runs against a real vgpud: a
 * driver that runs the scenarios as client processes writes the trace,
 * this program reports it the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"
#include "simgpu.h"
#include "trace_metrics.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define MAXT 20

static uint64_t opt_latency = 5 * US;
static uint64_t opt_window;
static const char *opt_only;
static const char *opt_dump;

/* ---- scenario construction ----------------------------------------------- */

/*
 * A GPU-bound tenant keeps 64 launches outstanding, as an application
 * issuing asynchronous work does; that is enough for it to be backlogged
 * at the scheduler (it needs about window / kernel + 2) for kernels of
 * 20 us and up.
 */
static SimTenant backlogged(double w, uint64_t item_ns)
{
    return (SimTenant){
        .weight = w, .kind = SIM_BACKLOGGED, .cls = VGPU_SCHED_COMPUTE,
        .item_ns = item_ns, .depth = 64, .jitter = 0.1,
    };
}

static SimConfig config(SimPolicy pol, const SimTenant *t, int n,
                        uint64_t duration)
{
    SimConfig c = {
        .policy = pol,
        .duration_ns = duration,
        .dispatch_latency_ns = opt_latency,
        .copy_bytes_per_ns = 12.0,
        .seed = 20261125,
        .ntenants = n,
        .tenants = t,
    };

    vgpu_sched_params_default(&c.params);
    if (opt_window) {
        c.params.window_ns = opt_window;
    }
    return c;
}

static bool selected(const char *id)
{
    return !opt_only || strstr(id, opt_only);
}

static void dump_trace(const char *id, const char *pol, const SimResult *r)
{
    char path[512];
    FILE *f;

    if (!opt_dump) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s.%s.csv", opt_dump, id, pol);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "fairness: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "tenant,class,submit_ns,start_ns,end_ns\n");
    for (size_t k = 0; k < r->nrec; k++) {
        fprintf(f, "%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
                r->rec[k].tenant, r->rec[k].cls, r->rec[k].submit_ns,
                r->rec[k].start_ns, r->rec[k].end_ns);
    }
    fclose(f);
}

static void run(const char *id, SimConfig *c, SimResult *r)
{
    if (sim_run(c, r) != 0 || r->sched_errors || r->order_violations) {
        fprintf(stderr, "fairness: %s: simulation failed (%d scheduler "
                "errors, %" PRIu64 " order violations)\n", id,
                r->sched_errors, r->order_violations);
        exit(1);
    }
    dump_trace(id, c->policy == SIM_SCHED ? "sched" : "fifo", r);
}

/* ---- printing ------------------------------------------------------------ */

static void header(const char *id, const char *title)
{
    printf("\n== %s: %s\n", id, title);
    printf("%-34s %12s %12s   %s\n", "metric", "sched", "FIFO", "target");
}

static void row(const char *metric, const char *fmt, double s, double f,
                const char *target)
{
    char a[32], b[32];

    snprintf(a, sizeof(a), fmt, s);
    snprintf(b, sizeof(b), fmt, f);
    printf("%-34s %12s %12s   %s\n", metric, a, b, target);
}

static double idle_pct(const SimResult *r, int cls)
{
    return 100.0 * (double)r->idle_backlog_ns[cls] / (double)r->end_ns;
}

static void share_rows(const TmShare *s, const TmShare *f, const char *err_t,
                       const char *jain_t, const char *mmr_t)
{
    row("share error mean (pp)", "%.2f", s->err_mean_pp, f->err_mean_pp,
        err_t);
    row("share error max (pp)", "%.2f", s->err_max_pp, f->err_max_pp, "");
    row("Jain index (worst window)", "%.4f", s->jain_min, f->jain_min,
        jain_t);
    row("min/max ratio (worst window)", "%.3f", s->mmr_min, f->mmr_min,
        mmr_t);
    row("max slowdown vs fair share", "%.2fx", s->slowdown_max,
        f->slowdown_max, "");
}

/* A share scenario: 1 s windows over the whole run, on class @cls. */
static void share_scenario(const char *id, const char *title, SimTenant *t,
                           int n, uint64_t dur, int cls, const char *err_t,
                           const char *jain_t, const char *mmr_t)
{
    SimConfig cs = config(SIM_SCHED, t, n, dur);
    SimConfig cf = config(SIM_FIFO, t, n, dur);
    SimResult rs, rf;
    TmTenant *tn;
    TmShare ss, sf;

    if (!selected(id)) {
        return;
    }
    run(id, &cs, &rs);
    run(id, &cf, &rf);
    tn = sim_tm_tenants(&cs);
    ss = tm_share(rs.rec, rs.nrec, cls, tn, n, 0, dur, SEC);
    sf = tm_share(rf.rec, rf.nrec, cls, tn, n, 0, dur, SEC);
    header(id, title);
    share_rows(&ss, &sf, err_t, jain_t, mmr_t);
    row("idle with backlog (%)", "%.3f", idle_pct(&rs, cls),
        idle_pct(&rf, cls), "< 1");
    row("engine throughput vs FIFO", "%.4f",
        (double)rs.busy_ns[cls] / (double)rf.busy_ns[cls], 1.0,
        n >= 8 ? ">= 0.98 (overhead <= 1.02)" : "");
    free(tn);
    sim_result_free(&rs);
    sim_result_free(&rf);
}

/* ---- scenarios ----------------------------------------------------------- */

static void sc_two_tenants(void)
{
    SimTenant t[2] = { backlogged(1, 100 * US), backlogged(1, 10 * MS) };

    share_scenario("two-100us-vs-10ms",
                   "2 equal tenants, 100 us vs 10 ms kernels, 10 s",
                   t, 2, 10 * SEC, 0, "<= 2 (max <= 4)", "", "");
}

static void sc_weighted(void)
{
    SimTenant t[4] = { backlogged(1, 1 * MS), backlogged(2, 1 * MS),
                       backlogged(4, 1 * MS), backlogged(8, 1 * MS) };
    SimTenant m[4] = { backlogged(1, 2 * MS), backlogged(2, 1 * MS),
                       backlogged(4, 100 * US), backlogged(8, 500 * US) };

    share_scenario("weighted-1-2-4-8",
                   "4 tenants weighted 1:2:4:8, 1 ms kernels, 10 s",
                   t, 4, 10 * SEC, 0, "max <= 3", ">= 0.995", ">= 0.98");
    share_scenario("weighted-1-2-4-8-mixed",
                   "4 tenants weighted 1:2:4:8, kernels 2 ms, 1 ms, "
                   "100 us, 500 us (longest on the smallest weight), 10 s",
                   m, 4, 10 * SEC, 0, "max <= 3", ">= 0.995", ">= 0.98");
}

static void sc_equal(int n)
{
    static const uint64_t sizes[4] = { 50 * US, 200 * US, 1 * MS, 5 * MS };
    SimTenant t[MAXT];
    char id[32], title[96];

    for (int i = 0; i < n; i++) {
        t[i] = backlogged(1, sizes[i % 4]);
    }
    snprintf(id, sizeof(id), "equal-%d", n);
    snprintf(title, sizeof(title), "%d equal tenants, kernels 50 us, "
             "200 us, 1 ms, 5 ms in turn, 10 s", n);
    share_scenario(id, title, t, n, 10 * SEC, 0, "", ">= 0.995", "");
}

static void light_run(SimPolicy pol, int heavies, uint64_t window,
                      uint64_t *p50, uint64_t *p99)
{
    SimTenant t[8];
    SimConfig c;
    SimResult r;
    uint64_t w = opt_window;

    t[0] = (SimTenant){
        .weight = 1, .kind = SIM_PERIODIC, .cls = VGPU_SCHED_COMPUTE,
        .item_ns = 100 * US, .period_ns = 10 * MS, .jitter = 0.1,
    };
    for (int i = 1; i <= heavies; i++) {
        t[i] = backlogged(1, 1 * MS);
    }
    opt_window = window;
    c = config(pol, t, heavies + 1, 10 * SEC);
    opt_window = w;
    if (c.params.lead_ns > c.params.window_ns) {
        c.params.lead_ns = c.params.window_ns;
    }
    run("light", &c, &r);
    *p50 = tm_quantile(r.lat[0], r.nlat[0], 0.50);
    *p99 = tm_quantile(r.lat[0], r.nlat[0], 0.99);
    sim_result_free(&r);
}

static void sc_light(void)
{
    static const int heavies[3] = { 1, 3, 7 };
    static const uint64_t windows[4] = { 500 * US, 1 * MS, 1500 * US,
                                         2 * MS };
    uint64_t a50, a99, s50, s99, f50, f99;
    uint64_t win = opt_window ? opt_window : 0;

    if (!selected("light")) {
        return;
    }
    light_run(SIM_FIFO, 0, win, &a50, &a99);
    printf("\n== light: a light tenant (100 us kernel every 10 ms) beside "
           "heavy tenants (1 ms kernels), 10 s\n");
    printf("alone: p50 %.3f ms, p99 %.3f ms\n", a50 / 1e6, a99 / 1e6);
    printf("%-8s %9s %9s %11s   %9s %9s %11s   %s\n", "heavies",
           "p50", "p99", "inflation", "FIFO p50", "p99", "inflation",
           "target (inflation)");
    for (int k = 0; k < 3; k++) {
        light_run(SIM_SCHED, heavies[k], win, &s50, &s99);
        light_run(SIM_FIFO, heavies[k], win, &f50, &f99);
        printf("%-8d %7.3fms %7.3fms %9.3fms   %7.3fms %7.3fms %9.3fms   "
               "<= 1.5 ms\n", heavies[k], s50 / 1e6, s99 / 1e6,
               ((double)s99 - (double)a99) / 1e6, f50 / 1e6, f99 / 1e6,
               ((double)f99 - (double)a99) / 1e6);
    }
    printf("window sweep, 7 heavies (sched):\n");
    for (int k = 0; k < 4; k++) {
        SimTenant t[8];
        SimConfig c;
        SimResult r;
        uint64_t w = opt_window;

        light_run(SIM_SCHED, 7, windows[k], &s50, &s99);
        /* The same window's cost: idle with backlog, all heavy. */
        for (int i = 0; i < 8; i++) {
            t[i] = backlogged(1, 1 * MS);
        }
        opt_window = windows[k];
        c = config(SIM_SCHED, t, 8, 5 * SEC);
        if (c.params.lead_ns > windows[k]) {
            c.params.lead_ns = windows[k];
        }
        opt_window = w;
        run("light-sweep", &c, &r);
        printf("  window %5.2f ms: p99 %.3f ms, inflation %.3f ms, "
               "idle with backlog %.3f %%\n", windows[k] / 1e6, s99 / 1e6,
               ((double)s99 - (double)a99) / 1e6, idle_pct(&r, 0));
        sim_result_free(&r);
    }
}

static void sc_adversaries(void)
{
    SimTenant t[3];

    t[0] = backlogged(1, 250 * MS);
    t[1] = backlogged(1, 1 * MS);
    share_scenario("adversary-long-kernels",
                   "250 ms kernels against 1 ms kernels (L_max = 100 ms), "
                   "20 s", t, 2, 20 * SEC, 0, "", "", "");

    t[0] = backlogged(1, 5 * US);
    t[0].depth = 100000;
    t[1] = backlogged(1, 2 * MS);
    share_scenario("adversary-tiny-flood",
                   "flood of 5 us launches (100000 queued) against 2 ms "
                   "kernels, 10 s", t, 2, 10 * SEC, 0, "", "", "");

    t[0].no_key = true;
    share_scenario("adversary-unkeyed-flood",
                   "the same flood without predictor keys (predicted from "
                   "the tenant's unkeyed history), 10 s", t, 2, 10 * SEC, 0,
                   "", "", "");

    t[0] = backlogged(1, 1);
    t[0].cls = VGPU_SCHED_COPY_H2D;
    t[0].bytes = 256u << 20;
    t[0].depth = 8;
    t[1] = t[0];
    t[1].bytes = 1u << 20;
    t[1].depth = 64;
    t[2] = backlogged(1, 1 * MS);
    share_scenario("adversary-copy-flood",
                   "256 MiB host-to-device copies (8 queued) against 1 MiB "
                   "copies (64 queued), H2D engine, 10 s", t, 3, 10 * SEC,
                   VGPU_SCHED_COPY_H2D, "", "", "");
}

static void sc_join_leave(void)
{
    SimTenant t[4] = { backlogged(1, 1 * MS), backlogged(1, 1 * MS),
                       backlogged(1, 100 * US), backlogged(1, 10 * MS) };
    uint64_t ev[3] = { 2 * SEC, 4 * SEC, 6 * SEC };
    const char *what[3] = { "tenant 3 (100 us) joins at 2 s",
                            "tenant 4 (10 ms) joins at 4 s",
                            "tenant 1 leaves at 6 s" };
    SimResult rs, rf;
    SimConfig cs, cf;
    TmTenant *tn;

    if (!selected("join-leave")) {
        return;
    }
    t[2].join_ns = 2 * SEC;
    t[3].join_ns = 4 * SEC;
    t[0].leave_ns = 6 * SEC;
    cs = config(SIM_SCHED, t, 4, 8 * SEC);
    cf = config(SIM_FIFO, t, 4, 8 * SEC);
    run("join-leave", &cs, &rs);
    run("join-leave", &cf, &rf);
    tn = sim_tm_tenants(&cs);
    header("join-leave", "2 tenants (1 ms kernels), then joins and a leave; "
           "converged = all within 5 pp in every 250 ms window after");
    for (int k = 0; k < 3; k++) {
        uint64_t until = k < 2 ? ev[k + 1] : 8 * SEC;
        double s = tm_convergence(rs.rec, rs.nrec, 0, tn, 4, ev[k], until,
                                  250 * MS, 10 * MS, 5.0) / 1e6;
        double f = tm_convergence(rf.rec, rf.nrec, 0, tn, 4, ev[k], until,
                                  250 * MS, 10 * MS, 5.0) / 1e6;
        char m[64];

        snprintf(m, sizeof(m), "convergence (ms), %s", what[k]);
        printf("%-34s\n", m);
        row("", "%.0f", s, f, "<= 1000");
    }
    free(tn);
    sim_result_free(&rs);
    sim_result_free(&rf);
}

static void sc_caps(void)
{
    SimTenant t[2] = { backlogged(1, 1 * MS), backlogged(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    double A[2], lo[2] = { 100, 100 }, hi[2] = { 0, 0 };

    if (!selected("caps")) {
        return;
    }
    t[0].cap = 0.3;
    t[1].cap = 0.7;
    c = config(SIM_SCHED, t, 2, 10 * SEC);
    run("caps", &c, &r);
    for (uint64_t w = 0; w < 10 * SEC; w += SEC) {
        tm_service(r.rec, r.nrec, 0, 2, w, w + SEC, A);
        for (int i = 0; i < 2; i++) {
            lo[i] = fmin(lo[i], A[i] / 1e7);
            hi[i] = fmax(hi[i], A[i] / 1e7);
        }
    }
    printf("\n== caps: 2 equal-weight tenants capped at 30 %% and 70 %%, "
           "1 s windows, 10 s (FIFO has no caps)\n");
    printf("tenant capped 30 %%: %.2f .. %.2f %%   target 30 +- 1\n",
           lo[0], hi[0]);
    printf("tenant capped 70 %%: %.2f .. %.2f %%   target 70 +- 1\n",
           lo[1], hi[1]);
    sim_result_free(&r);
}

static void sc_overhead(void)
{
    static const uint64_t sizes[4] = { 50 * US, 100 * US, 1 * MS, 10 * MS };
    static const uint64_t lat[2] = { 5 * US, 100 * US };
    uint64_t keep = opt_latency;

    if (!selected("overhead")) {
        return;
    }
    printf("\n== overhead: one tenant, 1 - throughput(sched) / "
           "throughput(FIFO pass-through), 5 s\n");
    printf("%-12s %16s %16s   %s\n", "kernel", "latency 5 us",
           "latency 100 us", "target");
    for (int k = 0; k < 4; k++) {
        double o[2];

        for (int l = 0; l < 2; l++) {
            SimTenant t[1] = { backlogged(1, sizes[k]) };
            SimConfig cs, cf;
            SimResult rs, rf;

            opt_latency = lat[l];
            cs = config(SIM_SCHED, t, 1, 5 * SEC);
            cf = config(SIM_FIFO, t, 1, 5 * SEC);
            run("overhead", &cs, &rs);
            run("overhead", &cf, &rf);
            o[l] = 100.0 * (1.0 - (double)rs.busy_ns[0] /
                            (double)rf.busy_ns[0]);
            sim_result_free(&rs);
            sim_result_free(&rf);
        }
        opt_latency = keep;
        printf("%8.0f us %15.3f%% %15.3f%%   <= 2 %% mean, <= 5 %% max\n",
               sizes[k] / 1e3, o[0], o[1]);
    }
}

/* ---- decision cost: real CPU time, not simulated ------------------------- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sc_decision_cost(void)
{
    static const int counts[3] = { 16, 256, 4096 };

    if (!selected("decision")) {
        return;
    }
    printf("\n== decision cost (real CPU time on this machine): enqueue + "
           "pick + complete per item\n");
    for (int k = 0; k < 3; k++) {
        VgpuSchedParams p;
        VgpuSched *s;
        VgpuSchedItem *items;
        int n = counts[k], iters = 2000000;
        uint64_t now = 0;
        double t0, dt;

        vgpu_sched_params_default(&p);
        p.max_tenants = n;
        s = vgpu_sched_new(&p);
        items = calloc(2 * n, sizeof(*items));
        for (int i = 0; i < n; i++) {
            vgpu_sched_tenant_add(s, 1 + i % 8, 0);
            for (int j = 0; j < 2; j++) {
                items[2 * i + j].key = 1 + (i % 5);
                vgpu_sched_enqueue(s, i, VGPU_SCHED_COMPUTE,
                                   &items[2 * i + j], 0);
            }
        }
        t0 = now_s();
        for (int it = 0; it < iters; it++) {
            VgpuSchedItem *x = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, now,
                                               NULL);

            now += 50 * US;
            vgpu_sched_complete(s, x, 40 * US + (it % 7) * US, now);
            vgpu_sched_enqueue(s, x->tenant, VGPU_SCHED_COMPUTE, x, now);
        }
        dt = now_s() - t0;
        printf("%5d tenants: %.0f ns per item, %.2f M decisions/s   "
               "target < 2000 ns\n", n, dt / iters * 1e9, iters / dt / 1e6);
        free(items);
        vgpu_sched_free(s);
    }
}

/* ---- metrics from trace files (runs against a real vgpud) ------------- */

typedef struct Trace {
    TmRecord *rec;
    TmRecord *krec;             /* start = end - kernel's own duration */
    TmRecord *grec;             /* start, end: the kernel's own timestamps */
    size_t n;
    bool has_k;                 /* every line had the sixth field */
    bool has_g;                 /* every line had the seventh and eighth */
} Trace;

static int load_trace(const char *path, Trace *t)
{
    FILE *f = fopen(path, "r");
    size_t cap = 0;
    char line[256];

    t->rec = NULL;
    t->krec = NULL;
    t->grec = NULL;
    t->n = 0;
    t->has_k = true;
    t->has_g = true;
    if (!f) {
        fprintf(stderr, "fairness: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        TmRecord r;
        uint64_t kd = 0, k0 = 0, k1 = 0;
        int got = sscanf(line, "%d,%d,%" SCNu64 ",%" SCNu64 ",%" SCNu64
                         ",%" SCNu64 ",%" SCNu64 ",%" SCNu64, &r.tenant,
                         &r.cls, &r.submit_ns, &r.start_ns, &r.end_ns, &kd,
                         &k0, &k1);

        if (got < 5 || r.tenant < 0 || r.tenant >= MAXT) {
            continue;
        }
        if (t->n == cap) {
            cap = cap ? 2 * cap : 4096;
            t->rec = realloc(t->rec, cap * sizeof(*t->rec));
            t->krec = realloc(t->krec, cap * sizeof(*t->krec));
            t->grec = realloc(t->grec, cap * sizeof(*t->grec));
            if (!t->rec || !t->krec || !t->grec) {
                fclose(f);
                return -1;
            }
        }
        t->has_k &= got >= 6 && kd > 0;
        t->has_g &= got == 8 && k1 > k0;
        t->rec[t->n] = r;
        r.start_ns = r.end_ns > kd ? r.end_ns - kd : 0;
        t->krec[t->n] = r;
        r.start_ns = k0;
        r.end_ns = k1;
        t->grec[t->n++] = r;
    }
    fclose(f);
    return 0;
}

/* --weights 1,2,4,8: tenants in trace order, all backlogged. */
static int parse_weights(const char *weights, TmTenant *tn)
{
    int nt = 0;

    for (const char *p = weights; p && *p && nt < MAXT; nt++) {
        char *e;

        tn[nt].weight = strtod(p, &e);
        tn[nt].backlogged = true;
        if (e == p || !(tn[nt].weight > 0)) {
            fprintf(stderr, "fairness: bad --weights '%s'\n", weights);
            return -1;
        }
        p = *e == ',' ? e + 1 : e;
    }
    return nt;
}

/*
 * Share of time in [0, @dur) in which some item was outstanding (submitted,
 * not finished) while no item occupied the engine by the trace's ground
 * truth ([end - standalone cost, end]), in 10 us bins.  An estimate: the
 * client sees completion one reply late and the standalone cost is a mean.
 */
static double trace_idle_pct(const Trace *t, uint64_t dur)
{
    const uint64_t bin = 10 * US;
    size_t nb = dur / bin + 1, idle = 0;
    uint8_t *m = calloc(nb, 1);

    if (!m) {
        return NAN;
    }
    for (size_t k = 0; k < t->n; k++) {
        const TmRecord *r = &t->rec[k];

        for (uint64_t b = r->submit_ns / bin; b < nb && b * bin < r->end_ns;
             b++) {
            m[b] |= 1;
        }
        for (uint64_t b = (r->start_ns + bin - 1) / bin;
             b < nb && (b + 1) * bin <= r->end_ns; b++) {
            m[b] |= 2;
        }
    }
    for (size_t b = 0; b < nb; b++) {
        idle += m[b] == 1;
    }
    free(m);
    return 100.0 * (double)idle / (double)nb;
}

typedef struct Span {
    uint64_t a, b;
} Span;

static int cmp_span(const void *x, const void *y)
{
    const Span *p = x, *q = y;

    return p->a < q->a ? -1 : p->a > q->a;
}

/* Sorts and merges @n spans in place (clipped to [0, @dur)); returns how many remain. */
static size_t span_union(Span *s, size_t n, uint64_t dur)
{
    size_t m = 0;

    qsort(s, n, sizeof(*s), cmp_span);
    for (size_t k = 0; k < n; k++) {
        Span v = { s[k].a, s[k].b < dur ? s[k].b : dur };

        if (v.a >= v.b) {
            continue;
        }
        if (m && v.a <= s[m - 1].b) {
            s[m - 1].b = v.b > s[m - 1].b ? v.b : s[m - 1].b;
        } else {
            s[m++] = v;
        }
    }
    return m;
}

/*
 * Idle with backlog from the kernels' own timestamps (@g: start, end by
 * %globaltimer): the share of the time in which some kernel was
 * outstanding (from its submit to its end) during which no kernel ran.
 * Exact up to the clock offset; the time a launch spends travelling to
 * vgpud counts as backlog, so on an otherwise idle engine it is an upper
 * bound.
 */
static double gpu_idle_pct(const TmRecord *g, size_t n, uint64_t dur)
{
    Span *o = malloc((n + 1) * sizeof(*o)), *u = malloc((n + 1) * sizeof(*u));
    size_t no, nu, i = 0, j = 0;
    uint64_t out = 0, both = 0;
    double pct = NAN;

    if (!o || !u) {
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        o[k] = (Span){ g[k].submit_ns, g[k].end_ns };
        u[k] = (Span){ g[k].start_ns, g[k].end_ns };
    }
    no = span_union(o, n, dur);
    nu = span_union(u, n, dur);
    for (size_t k = 0; k < no; k++) {
        out += o[k].b - o[k].a;
    }
    while (i < no && j < nu) {
        uint64_t a = o[i].a > u[j].a ? o[i].a : u[j].a;
        uint64_t b = o[i].b < u[j].b ? o[i].b : u[j].b;

        both += b > a ? b - a : 0;
        if (o[i].b < u[j].b) {
            i++;
        } else {
            j++;
        }
    }
    pct = out ? 100.0 * (double)(out - both) / (double)out : 0.0;
done:
    free(o);
    free(u);
    return pct;
}

static void trace_latency_of(const TmRecord *rec, size_t nrec, int tenant,
                             uint64_t *p50, uint64_t *p99)
{
    uint64_t *v = malloc((nrec + 1) * sizeof(*v));
    size_t n = 0;

    *p50 = *p99 = 0;
    if (!v) {
        return;
    }
    for (size_t k = 0; k < nrec; k++) {
        if (rec[k].tenant == tenant) {
            v[n++] = rec[k].end_ns - rec[k].submit_ns;
        }
    }
    if (n) {
        *p50 = tm_quantile(v, n, 0.50);
        *p99 = tm_quantile(v, n, 0.99);
    }
    free(v);
}

static void trace_latency(const Trace *t, int tenant, uint64_t *p50,
                          uint64_t *p99)
{
    trace_latency_of(t->rec, t->n, tenant, p50, p99);
}

/*
 * Each tenant's share in percent, of the work done (@of_time false) or of
 * the run's time @dur (true: what a cap bounds).
 */
static void shares_of(const TmRecord *rec, size_t n, int nt, uint64_t dur,
                      bool of_time, char *buf, size_t len)
{
    double A[MAXT] = { 0 }, sum = 0;
    size_t o = 0;

    tm_service(rec, n, 0, nt, 0, dur, A);
    for (int i = 0; i < nt; i++) {
        sum += A[i];
    }
    if (of_time) {
        sum = (double)dur;
    }
    for (int i = 0; i < nt && o < len; i++) {
        o += snprintf(buf + o, len - o, "%s%.1f", i ? " " : "",
                      sum > 0 ? 100.0 * A[i] / sum : 0.0);
    }
}

static void trace_shares(const Trace *t, int nt, uint64_t dur, char *buf,
                         size_t len)
{
    shares_of(t->rec, t->n, nt, dur, false, buf, len);
}

static void trace_free(Trace *t)
{
    free(t->rec);
    free(t->krec);
    free(t->grec);
}

/*
 * The rows measured from the kernels' own start and end timestamps:
 * whether the engine ever idled with work outstanding, and the light
 * tenant's latency from submit to the end of its kernel (without the reply
 * back to the client), against the same from @alone_trace (the light
 * tenant alone), when given.
 */
static void gpu_rows(const Trace *ts, const Trace *tf, uint64_t dur,
                     int light, const char *alone_trace, const char *target)
{
    printf("GPU-timed (each kernel's own %%globaltimer start and end):\n");
    row("  idle with backlog (%)", "%.2f", gpu_idle_pct(ts->grec, ts->n, dur),
        gpu_idle_pct(tf->grec, tf->n, dur), "< 1");
    if (light >= 0) {
        uint64_t s50, s99, f50, f99, a50 = 0, a99 = 0;
        Trace ta;

        trace_latency_of(ts->grec, ts->n, light, &s50, &s99);
        trace_latency_of(tf->grec, tf->n, light, &f50, &f99);
        if (alone_trace && !load_trace(alone_trace, &ta)) {
            if (ta.has_g) {
                trace_latency_of(ta.grec, ta.n, 0, &a50, &a99);
            }
            trace_free(&ta);
        }
        row("  light p50, submit to kernel end (ms)", "%.3f", s50 / 1e6,
            f50 / 1e6, "");
        row("  light p99, submit to kernel end (ms)", "%.3f", s99 / 1e6,
            f99 / 1e6, "");
        if (a99) {
            printf("  (alone: p50 %.3f ms, p99 %.3f ms)\n", a50 / 1e6,
                   a99 / 1e6);
            row("  light p99 inflation (ms)", "%.3f",
                ((double)s99 - (double)a99) / 1e6,
                ((double)f99 - (double)a99) / 1e6, target);
        }
    }
}

/*
 * One scenario run against vgpud, as --report describes it: @wfq and @fifo
 * traces of the same run, tenants weighted @weights, @light the periodic
 * tenant (-1: none; it is then left out of the share metrics, since it is
 * not backlogged) whose alone p99 is @alone_p99 (and whose alone trace is
 * @alone_trace), tenant @join joining and tenant @leave leaving at the
 * given times (-1: none), @caps the tenants' caps as given to vgpud.
 */
typedef struct ReportArgs {
    const char *id, *title, *wfq, *fifo, *weights, *targets, *caps;
    const char *alone_trace;
    uint64_t dur, alone_p99, join_ns, leave_ns;
    int light, join, leave;
} ReportArgs;

/* Rows of the time to converge after a join or a leave, when there is one. */
static void change_rows(const TmRecord *rs, size_t ns, const TmRecord *rf,
                        size_t nf, const TmTenant *tn, int nt,
                        const ReportArgs *ra, const char *indent,
                        const char *target)
{
    static const char *const what[2] = { "join", "leave" };
    const int who[2] = { ra->join, ra->leave };
    const uint64_t when[2] = { ra->join_ns, ra->leave_ns };
    char name[64];

    for (int k = 0; k < 2; k++) {
        if (who[k] < 0 || who[k] >= nt) {
            continue;
        }
        snprintf(name, sizeof(name), "%sconvergence after the %s (ms)",
                 indent, what[k]);
        row(name, "%.0f",
            tm_convergence(rs, ns, 0, tn, nt, when[k], ra->dur, 250 * MS,
                           10 * MS, 5.0) / 1e6,
            tm_convergence(rf, nf, 0, tn, nt, when[k], ra->dur, 250 * MS,
                           10 * MS, 5.0) / 1e6, target);
    }
}

/* The table of one scenario run against vgpud. */
static int report(const ReportArgs *ra)
{
    const char *weights = ra->weights, *targets = ra->targets;
    const char *caps = ra->caps;
    uint64_t dur = ra->dur, alone_p99 = ra->alone_p99;
    int light = ra->light;
    TmTenant tn[MAXT] = { 0 };
    Trace ts, tf;
    TmShare ss, sf;
    int nt = parse_weights(weights, tn);
    double bs[MAXT], bf[MAXT], s = 0, f = 0;
    char a[256], b[256];
    const char *t[4] = { "", "", "", "" };

    if (nt < 1 || load_trace(ra->wfq, &ts) || load_trace(ra->fifo, &tf)) {
        return 1;
    }
    /* targets: "error,jain,mmr,latency" as the scenario states them */
    if (targets) {
        static char tb[256];
        char *p = tb;

        snprintf(tb, sizeof(tb), "%s", targets);
        for (int k = 0; k < 4 && p; k++) {
            char *c = strchr(p, ';');

            if (c) {
                *c = 0;
            }
            t[k] = p;
            p = c ? c + 1 : NULL;
        }
    }
    if (light >= 0 && light < nt) {
        tn[light].backlogged = false;
    }
    if (ra->join >= 0 && ra->join < nt) {
        tn[ra->join].join_ns = ra->join_ns;
    }
    if (ra->leave >= 0 && ra->leave < nt) {
        tn[ra->leave].leave_ns = ra->leave_ns;
    }
    header(ra->id, ra->title);
    /* with caps the shares are the caps', not the weights' */
    if (nt - (light >= 0) >= 2 && !caps) {
        ss = tm_share(ts.rec, ts.n, 0, tn, nt, 0, dur, SEC);
        sf = tm_share(tf.rec, tf.n, 0, tn, nt, 0, dur, SEC);
        share_rows(&ss, &sf, t[0], t[1], t[2]);
    }
    /* the kernels' own timestamps, when there, measure it (gpu_rows) */
    if (!ts.has_g || !tf.has_g) {
        row("idle with backlog (%, estimate)", "%.2f",
            trace_idle_pct(&ts, dur), trace_idle_pct(&tf, dur), "< 1");
    }
    tm_service(ts.rec, ts.n, 0, nt, 0, dur, bs);
    tm_service(tf.rec, tf.n, 0, nt, 0, dur, bf);
    for (int i = 0; i < nt; i++) {
        s += bs[i];
        f += bf[i];
    }
    row("GPU time done vs FIFO", "%.3f", f > 0 ? s / f : 0, 1.0, "");
    if (light >= 0) {
        uint64_t s50, s99, f50, f99;

        trace_latency(&ts, light, &s50, &s99);
        trace_latency(&tf, light, &f50, &f99);
        row("light p50 (ms)", "%.3f", s50 / 1e6, f50 / 1e6, "");
        row("light p99 (ms)", "%.3f", s99 / 1e6, f99 / 1e6, "");
        row("light p99 inflation (ms)", "%.3f",
            ((double)s99 - (double)alone_p99) / 1e6,
            ((double)f99 - (double)alone_p99) / 1e6, t[3]);
    }
    change_rows(ts.rec, ts.n, tf.rec, tf.n, tn, nt, ra, "",
                "<= 1000 (to +-5 pp)");
    trace_shares(&ts, nt, dur, a, sizeof(a));
    trace_shares(&tf, nt, dur, b, sizeof(b));
    printf("%-34s wfq: %s\n%-34s fifo: %s\n", "GPU-time share per tenant (%)",
           a, "", b);
    if (caps) {
        shares_of(ts.rec, ts.n, nt, dur, true, a, sizeof(a));
        printf("%-34s wfq: %s   (caps %s)\n", "share of the run's time (%)", a,
               caps);
        if (ts.has_g) {
            shares_of(ts.grec, ts.n, nt, dur, true, a, sizeof(a));
            printf("%-34s wfq: %s\n", "  the same, GPU-timed (%)", a);
        }
    }
    if (ts.has_k && tf.has_k) {
        Trace ks = { .rec = ts.krec, .n = ts.n };
        Trace kf = { .rec = tf.krec, .n = tf.n };

        printf("kernel-timed (each kernel's own %%globaltimer duration, "
               "no launch overhead):\n");
        if (nt - (light >= 0) >= 2 && !caps) {
            ss = tm_share(ts.krec, ts.n, 0, tn, nt, 0, dur, SEC);
            sf = tm_share(tf.krec, tf.n, 0, tn, nt, 0, dur, SEC);
            row("  share error mean (pp)", "%.2f", ss.err_mean_pp,
                sf.err_mean_pp, t[0]);
            row("  share error max (pp)", "%.2f", ss.err_max_pp,
                sf.err_max_pp, "");
            row("  Jain index (worst window)", "%.4f", ss.jain_min,
                sf.jain_min, t[1]);
            row("  min/max ratio (worst window)", "%.3f", ss.mmr_min,
                sf.mmr_min, t[2]);
        }
        change_rows(ts.krec, ts.n, tf.krec, tf.n, tn, nt, ra, "  ", "");
        trace_shares(&ks, nt, dur, a, sizeof(a));
        trace_shares(&kf, nt, dur, b, sizeof(b));
        printf("%-34s wfq: %s\n%-34s fifo: %s\n", "  share per tenant (%)",
               a, "", b);
    }
    if (ts.has_g && tf.has_g) {
        gpu_rows(&ts, &tf, dur, light, ra->alone_trace, t[3]);
    }
    trace_free(&ts);
    trace_free(&tf);
    return 0;
}

static int from_trace(const char *path, const char *weights)
{
    TmTenant tn[MAXT] = { 0 };
    int nt = parse_weights(weights, tn);
    uint64_t end = 0;
    Trace t;
    TmShare sh;

    if (nt < 1 || load_trace(path, &t)) {
        return 1;
    }
    for (size_t k = 0; k < t.n; k++) {
        end = t.rec[k].end_ns > end ? t.rec[k].end_ns : end;
    }
    sh = tm_share(t.rec, t.n, 0, tn, nt, 0, (end + SEC / 2) / SEC * SEC, SEC);
    printf("trace %s: %zu items, %d windows of 1 s\n", path, t.n, sh.windows);
    printf("share error mean %.2f pp, max %.2f pp, Jain %.4f, min/max %.3f, "
           "max slowdown %.2fx\n", sh.err_mean_pp, sh.err_max_pp,
           sh.jain_min, sh.mmr_min, sh.slowdown_max);
    trace_free(&t);
    return 0;
}

static void usage(void)
{
    printf("usage: fairness [--only SUBSTRING] [--latency-us N] "
           "[--window-us N] [--dump-trace DIR]\n"
           "       fairness --from-trace FILE --weights W1,W2,...\n"
           "       fairness --report ID --title T --trace WFQ.csv "
           "--fifo-trace FIFO.csv --weights W1,...\n"
           "                --duration-ms N [--light I --alone-p99-ns N "
           "[--alone-trace CSV]]\n"
           "                [--targets 'ERR;JAIN;MMR;LAT'] [--join I:MS] "
           "[--leave I:MS] [--caps C1,...]\n"
           "       fairness --idle TRACE --duration-ms N   (GPU-timed idle %%)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "only", required_argument, NULL, 'o' },
        { "latency-us", required_argument, NULL, 'l' },
        { "window-us", required_argument, NULL, 'w' },
        { "dump-trace", required_argument, NULL, 'd' },
        { "from-trace", required_argument, NULL, 't' },
        { "weights", required_argument, NULL, 'W' },
        { "report", required_argument, NULL, 'R' },
        { "title", required_argument, NULL, 'T' },
        { "trace", required_argument, NULL, 'S' },
        { "fifo-trace", required_argument, NULL, 'F' },
        { "duration-ms", required_argument, NULL, 'D' },
        { "light", required_argument, NULL, 'L' },
        { "alone-p99-ns", required_argument, NULL, 'A' },
        { "alone-trace", required_argument, NULL, 'a' },
        { "caps", required_argument, NULL, 'c' },
        { "idle", required_argument, NULL, 'I' },
        { "targets", required_argument, NULL, 'X' },
        { "join", required_argument, NULL, 'J' },
        { "leave", required_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ReportArgs ra = { .title = "", .light = -1, .join = -1, .leave = -1 };
    const char *trace = NULL, *weights = NULL, *idle = NULL;
    uint64_t dur = 0;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            opt_only = optarg;
            break;
        case 'l':
            opt_latency = strtoull(optarg, NULL, 0) * US;
            break;
        case 'w':
            opt_window = strtoull(optarg, NULL, 0) * US;
            break;
        case 'd':
            opt_dump = optarg;
            break;
        case 't':
            trace = optarg;
            break;
        case 'W':
            weights = optarg;
            break;
        case 'R': ra.id = optarg; break;
        case 'T': ra.title = optarg; break;
        case 'S': ra.wfq = optarg; break;
        case 'F': ra.fifo = optarg; break;
        case 'D': dur = strtoull(optarg, NULL, 0) * MS; break;
        case 'L': ra.light = atoi(optarg); break;
        case 'A': ra.alone_p99 = strtoull(optarg, NULL, 0); break;
        case 'a': ra.alone_trace = optarg; break;
        case 'c': ra.caps = optarg; break;
        case 'I': idle = optarg; break;
        case 'X': ra.targets = optarg; break;
        case 'J':
        case 'V': {
            int *who = c == 'J' ? &ra.join : &ra.leave;
            uint64_t *when = c == 'J' ? &ra.join_ns : &ra.leave_ns;

            if (sscanf(optarg, "%d:%" SCNu64, who, when) != 2) {
                usage();
                return 2;
            }
            *when *= MS;
            break;
        }
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (idle) {
        Trace t;

        if (!dur || load_trace(idle, &t)) {
            usage();
            return 2;
        }
        printf("%.2f\n", t.has_g ? gpu_idle_pct(t.grec, t.n, dur) : NAN);
        trace_free(&t);
        return 0;
    }
    if (ra.id) {
        if (!ra.wfq || !ra.fifo || !weights || !dur) {
            usage();
            return 2;
        }
        ra.weights = weights;
        ra.dur = dur;
        return report(&ra);
    }
    if (trace) {
        return from_trace(trace, weights ? weights : "1,1");
    }

    printf("Fair-share scheduler benchmark: SIMULATED GPU.\n"
           "A discrete-event model of one GPU (serial compute, H2D and D2H "
           "engines;\nsimulated dispatch latency %.1f us; copies at 12 GB/s) "
           "runs synthetic tenants\nthrough sched.c and through FIFO "
           "pass-through.  Metrics come from the model's\nexecution trace, "
           "not from the scheduler's accounting.  These are not vgpud\n"
           "measurements.  Kernel durations vary by +-10 %%; a GPU-bound "
           "tenant keeps\n64 launches outstanding.\n",
           opt_latency / 1e3);
    sc_two_tenants();
    sc_weighted();
    sc_equal(8);
    sc_equal(16);
    sc_light();
    sc_adversaries();
    sc_join_leave();
    sc_caps();
    sc_overhead();
    sc_decision_cost();
    return 0;
}
