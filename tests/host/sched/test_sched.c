/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sched.c - unit tests of the fair-share scheduler's decisions, on
 * synthetic traces: driven directly through the API, or through the
 * discrete-event GPU model with ground truth taken from its trace.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "sched.h"
#include "simgpu.h"
#include "tap.h"
#include "trace_metrics.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

static SimConfig base_cfg(const SimTenant *t, int n, uint64_t duration)
{
    SimConfig c = {
        .policy = SIM_SCHED,
        .duration_ns = duration,
        .dispatch_latency_ns = 5 * US,
        .copy_bytes_per_ns = 12.0,
        .seed = 42,
        .ntenants = n,
        .tenants = t,
    };

    vgpu_sched_params_default(&c.params);
    return c;
}

/*
 * A backlogged tenant keeps about 20 ms of work queued (at least 4 items),
 * more than the window plus one long item: with less it is not backlogged
 * from the scheduler's point of view, and owed no more than it asks for.
 */
static SimTenant heavy(double w, uint64_t item_ns)
{
    unsigned depth = item_ns ? (unsigned)(20 * MS / item_ns) : 4;

    return (SimTenant){
        .weight = w, .kind = SIM_BACKLOGGED, .cls = VGPU_SCHED_COMPUTE,
        .item_ns = item_ns, .depth = depth < 4 ? 4 : depth, .jitter = 0.1,
    };
}

/* Share metrics of @cfg's run on compute over 1 s windows in [t0, t1). */
static TmShare run_share(const SimConfig *cfg, SimResult *r, uint64_t t0,
                         uint64_t t1)
{
    TmTenant *tn = sim_tm_tenants(cfg);
    TmShare sh = { 0 };

    if (sim_run(cfg, r) == 0 && tn) {
        sh = tm_share(r->rec, r->nrec, VGPU_SCHED_COMPUTE, tn, cfg->ntenants,
                      t0, t1, SEC);
    }
    free(tn);
    return sh;
}

/* ---- a minimal serial engine for direct API tests ---------------------- */

typedef struct Pool {
    VgpuSchedItem it[512];
    int used;
} Pool;

static VgpuSchedItem *pool_item(Pool *p, uint64_t predicted)
{
    VgpuSchedItem *it = &p->it[p->used++ % 512];

    *it = (VgpuSchedItem){ .predicted_ns = predicted };
    return it;
}

/* Pick and complete one compute item at its predicted cost; NULL if none. */
static VgpuSchedItem *step(VgpuSched *s, uint64_t *now, uint64_t measured)
{
    VgpuSchedItem *it = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, *now, NULL);

    if (it) {
        *now += measured ? measured : it->cost_ns;
        vgpu_sched_complete(s, it, measured ? measured : it->cost_ns, *now);
    }
    return it;
}

/* ---- behaviours --------------------------------------------------------- */

TEST(equal_weights_get_equal_shares)
{
    SimTenant t[2] = { heavy(1, 1 * MS), heavy(1, 1 * MS) };
    SimConfig c = base_cfg(t, 2, 6 * SEC);
    SimResult r;
    TmShare sh = run_share(&c, &r, SEC, 6 * SEC);

    printf("# err mean %.3f max %.3f pp, jain %.5f\n", sh.err_mean_pp,
           sh.err_max_pp, sh.jain_min);
    CHECK_EQ(r.sched_errors, 0);
    CHECK_EQ(sh.windows, 5);
    CHECK(sh.err_max_pp < 1.0);
    sim_result_free(&r);
}

TEST(weights_1_2_4_8_get_proportional_shares)
{
    SimTenant t[4] = { heavy(1, 500 * US), heavy(2, 500 * US),
                       heavy(4, 500 * US), heavy(8, 500 * US) };
    SimConfig c = base_cfg(t, 4, 6 * SEC);
    SimResult r;
    TmShare sh = run_share(&c, &r, SEC, 6 * SEC);

    printf("# err max %.3f pp, jain %.5f, mmr %.4f\n", sh.err_max_pp,
           sh.jain_min, sh.mmr_min);
    CHECK_EQ(sh.windows, 5);
    CHECK(sh.mmr_min >= 0.98);
    CHECK(sh.jain_min >= 0.995);
    CHECK(sh.err_max_pp <= 3.0);
    sim_result_free(&r);
}

TEST(short_and_long_kernels_get_equal_gpu_time_not_equal_counts)
{
    SimTenant t[2] = { heavy(1, 100 * US), heavy(1, 10 * MS) };
    SimConfig c = base_cfg(t, 2, 6 * SEC);
    SimResult r;
    TmShare sh = run_share(&c, &r, SEC, 6 * SEC);
    size_t n0 = 0, n1 = 0;

    for (size_t k = 0; k < r.nrec; k++) {
        n0 += r.rec[k].tenant == 0;
        n1 += r.rec[k].tenant == 1;
    }
    printf("# err mean %.3f max %.3f pp, counts %zu vs %zu\n",
           sh.err_mean_pp, sh.err_max_pp, n0, n1);
    CHECK(sh.err_mean_pp <= 2.0);
    CHECK(sh.err_max_pp <= 4.0);
    CHECK(n0 > 50 * n1);
    sim_result_free(&r);
}

/*
 * Lag: at every completion after @from, each tenant's service since @from
 * may trail its weighted fair part of the total by at most one largest
 * item plus the window (the work already committed ahead of it).
 */
static double worst_lag(const SimResult *r, const SimTenant *t, int n,
                        uint64_t from, uint64_t *cmax)
{
    double served[8] = { 0 }, total = 0, worst = 0, wsum = 0;

    for (int i = 0; i < n; i++) {
        wsum += t[i].weight;
    }
    *cmax = 0;
    for (size_t k = 0; k < r->nrec; k++) {
        const TmRecord *rec = &r->rec[k];
        uint64_t d = rec->end_ns - rec->start_ns;

        *cmax = d > *cmax ? d : *cmax;
        if (rec->start_ns < from) {
            continue;
        }
        served[rec->tenant] += (double)d;
        total += (double)d;
        for (int i = 0; i < n; i++) {
            double lag = total * t[i].weight / wsum - served[i];

            worst = lag > worst ? lag : worst;
        }
    }
    return worst;
}

TEST(no_tenant_lags_its_fair_share_by_more_than_one_item_plus_window)
{
    SimTenant t[3] = { heavy(1, 200 * US), heavy(2, 3 * MS),
                       heavy(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    uint64_t cmax;
    double exact, learnt;

    t[0].item_ns2 = 50 * US;
    t[2].item_ns2 = 5 * MS;
    for (int i = 0; i < 3; i++) {
        t[i].exact_prediction = true;
        t[i].jitter = 0.3;
    }
    c = base_cfg(t, 3, 3 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    CHECK(r.nrec > 1000);
    exact = worst_lag(&r, t, 3, 0, &cmax);
    sim_result_free(&r);
    printf("# exact predictions: worst lag %.3f ms, bound %.3f ms\n",
           exact / 1e6, (double)(cmax + c.params.window_ns) / 1e6);
    CHECK(exact <= (double)(cmax + c.params.window_ns));

    /* Learnt predictions (+-30 % noise) once every kernel has been seen. */
    for (int i = 0; i < 3; i++) {
        t[i].exact_prediction = false;
    }
    CHECK_EQ(sim_run(&c, &r), 0);
    learnt = worst_lag(&r, t, 3, 500 * MS, &cmax);
    sim_result_free(&r);
    printf("# learnt predictions: worst lag %.3f ms, bound %.3f ms\n",
           learnt / 1e6, (double)(cmax + c.params.window_ns) / 1e6);
    CHECK(learnt <= (double)(cmax + c.params.window_ns));
}

TEST(idle_tenant_cannot_bank_credit)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa, pb;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0), b = vgpu_sched_tenant_add(s, 1, 0);
    int got_b = 0;

    pa.used = pb.used = 0;
    /* A runs alone for 200 ms while B exists but has nothing to do. */
    for (int k = 0; k < 200; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, MS), now);
        CHECK(step(s, &now, 0) != NULL);
    }
    /* Both backlogged now: B must not get a burst for its idle time. */
    for (int k = 0; k < 40; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, MS), now);
        vgpu_sched_enqueue(s, b, VGPU_SCHED_COMPUTE, pool_item(&pb, MS), now);
    }
    for (int k = 0; k < 20; k++) {
        VgpuSchedItem *it = step(s, &now, 0);

        CHECK(it != NULL);
        got_b += it->tenant == b;
    }
    printf("# B got %d of 20\n", got_b);
    CHECK(got_b >= 9 && got_b <= 11);
    vgpu_sched_free(s);
}

/*
 * Debt that piled up from mispredicted items in flight at once is
 * forgiven beyond L_max: the other tenant then runs for about L_max, not
 * for the whole debt.
 */
TEST(debt_beyond_l_max_from_mispredictions_is_forgiven)
{
    VgpuSchedParams p;
    VgpuSched *s;
    static Pool pa, pb;
    VgpuSchedItem *fl[10];
    uint64_t now = 0, b_run = 0;
    int a, b;

    vgpu_sched_params_default(&p);
    s = vgpu_sched_new(&p);
    a = vgpu_sched_tenant_add(s, 1, 0);
    b = vgpu_sched_tenant_add(s, 1, 0);
    pa.used = pb.used = 0;
    /* Ten items predicted at 10 us each are in flight together... */
    for (int k = 0; k < 11; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 10 * US),
                           now);
    }
    for (int k = 0; k < 10; k++) {
        fl[k] = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, now, NULL);
        CHECK(fl[k] && fl[k]->tenant == a);
    }
    for (int k = 0; k < 400; k++) {
        vgpu_sched_enqueue(s, b, VGPU_SCHED_COMPUTE, pool_item(&pb, MS), now);
    }
    /* ...and each really took 50 ms: 500 ms of debt. */
    for (int k = 0; k < 10; k++) {
        now += 50 * MS;
        CHECK_EQ(vgpu_sched_complete(s, fl[k], 50 * MS, now), 0);
    }
    for (;;) {
        VgpuSchedItem *it = step(s, &now, 0);

        CHECK(it != NULL);
        if (it->tenant == a) {
            break;
        }
        b_run += it->cost_ns;
    }
    printf("# B ran %.1f ms before A again\n", (double)b_run / 1e6);
    CHECK(b_run >= 95 * MS && b_run <= 110 * MS);
    vgpu_sched_free(s);
}

TEST(single_item_longer_than_l_max_is_charged_in_full)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa, pb;
    VgpuSchedItem *it;
    uint64_t now = 0, b_run = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0), b = vgpu_sched_tenant_add(s, 1, 0);

    pa.used = pb.used = 0;
    for (int k = 0; k < 2; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 10 * US),
                           now);
    }
    for (int k = 0; k < 400; k++) {
        vgpu_sched_enqueue(s, b, VGPU_SCHED_COMPUTE, pool_item(&pb, MS), now);
    }
    it = step(s, &now, 300 * MS);
    CHECK(it && it->tenant == a);
    for (;;) {
        it = step(s, &now, 0);
        CHECK(it != NULL);
        if (it->tenant == a) {
            break;
        }
        b_run += it->cost_ns;
    }
    printf("# B ran %.1f ms before A again\n", (double)b_run / 1e6);
    CHECK(b_run >= 295 * MS && b_run <= 305 * MS);
    vgpu_sched_free(s);
}

TEST(engine_never_idles_while_an_item_is_ready)
{
    SimTenant t[3] = { heavy(1, 100 * US), heavy(3, 2 * MS),
                       heavy(1, 7 * MS) };
    SimConfig c;
    SimResult r;

    t[1].kind = SIM_PERIODIC;
    t[1].period_ns = 3 * MS;
    c = base_cfg(t, 3, 3 * SEC);
    c.dispatch_latency_ns = 0;
    CHECK_EQ(sim_run(&c, &r), 0);
    printf("# idle with backlog %llu ns, busy %.3f s\n",
           (unsigned long long)r.idle_backlog_ns[0], r.busy_ns[0] / 1e9);
    CHECK_EQ(r.idle_backlog_ns[VGPU_SCHED_COMPUTE], 0);
    CHECK(r.busy_ns[VGPU_SCHED_COMPUTE] >= 3 * SEC - 1 * MS);
    sim_result_free(&r);
}

/*
 * Converged: every backlogged tenant within 5 points of its target in
 * every 250 ms window from then on (shorter windows cannot resolve the
 * 10 ms kernels of one of them).
 */
TEST(tenants_joining_and_leaving_converge_within_one_second)
{
    SimTenant t[4] = { heavy(1, 1 * MS), heavy(1, 1 * MS),
                       heavy(1, 100 * US), heavy(1, 10 * MS) };
    SimConfig c;
    SimResult r;
    TmTenant *tn;
    uint64_t c2, c3, c_leave;

    t[2].join_ns = 2 * SEC;
    t[3].join_ns = 4 * SEC;
    t[0].leave_ns = 6 * SEC;
    c = base_cfg(t, 4, 8 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    tn = sim_tm_tenants(&c);
    c2 = tm_convergence(r.rec, r.nrec, 0, tn, 4, 2 * SEC, 4 * SEC,
                        250 * MS, 10 * MS, 5.0);
    c3 = tm_convergence(r.rec, r.nrec, 0, tn, 4, 4 * SEC, 6 * SEC,
                        250 * MS, 10 * MS, 5.0);
    c_leave = tm_convergence(r.rec, r.nrec, 0, tn, 4, 6 * SEC, 8 * SEC,
                             250 * MS, 10 * MS, 5.0);
    printf("# convergence %.0f, %.0f, %.0f ms\n", c2 / 1e6, c3 / 1e6,
           c_leave / 1e6);
    CHECK(c2 <= SEC && c3 <= SEC && c_leave <= SEC);
    CHECK(r.dropped > 0);
    free(tn);
    sim_result_free(&r);
}

TEST(caps_of_30_and_70_percent_hold_within_one_point)
{
    SimTenant t[2] = { heavy(1, 1 * MS), heavy(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    double A[2];

    t[0].cap = 0.3;
    t[1].cap = 0.7;
    c = base_cfg(t, 2, 6 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    for (uint64_t w = SEC; w < 6 * SEC; w += SEC) {
        tm_service(r.rec, r.nrec, 0, 2, w, w + SEC, A);
        printf("# window %llu: %.2f / %.2f %%\n",
               (unsigned long long)(w / SEC), A[0] / 1e7, A[1] / 1e7);
        CHECK(fabs(A[0] / 1e7 - 30.0) <= 1.0);
        CHECK(fabs(A[1] / 1e7 - 70.0) <= 1.0);
    }
    sim_result_free(&r);
}

TEST(capped_tenant_alone_leaves_the_gpu_idle_beyond_its_cap)
{
    SimTenant t[1] = { heavy(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    double A;

    t[0].cap = 0.3;
    c = base_cfg(t, 1, 3 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    tm_service(r.rec, r.nrec, 0, 1, SEC, 3 * SEC, &A);
    printf("# alone with cap 0.3: %.2f %%\n", A / 2e7);
    CHECK(fabs(A / 2e7 - 30.0) <= 1.0);
    sim_result_free(&r);
}

TEST(items_of_a_tenant_are_dispatched_in_the_order_enqueued)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0);
    SimTenant t[3] = { heavy(1, 100 * US), heavy(1, 2 * MS),
                       heavy(1, 1 * MS) };
    SimConfig c = base_cfg(t, 3, 2 * SEC);
    SimResult r;

    pa.used = 0;
    /* Wildly different predictions must not reorder a tenant's queue. */
    for (int k = 0; k < 6; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE,
                           pool_item(&pa, k % 2 ? 10 * MS : US), now);
    }
    for (int k = 0; k < 6; k++) {
        VgpuSchedItem *it = step(s, &now, 0);

        CHECK(it == &pa.it[k]);
    }
    vgpu_sched_free(s);

    t[0].item_ns2 = 20 * MS;
    t[2].jitter = 0.9;
    CHECK_EQ(sim_run(&c, &r), 0);
    CHECK(r.nrec > 500);
    CHECK_EQ(r.order_violations, 0);
    sim_result_free(&r);
}

static int dropped_n;
static VgpuSchedItem *dropped_last;

static void count_drop(VgpuSchedItem *it, void *opaque)
{
    (void)opaque;
    /* Queue order: each dropped item follows the previous one. */
    if (dropped_last && it != dropped_last + 1) {
        dropped_n = -1000;
    }
    dropped_last = it;
    dropped_n++;
}

TEST(removing_a_tenant_with_items_in_flight_keeps_them_completable)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa, pb;
    VgpuSchedItem *fl[3];
    VgpuSchedTenantStats st;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0), b = vgpu_sched_tenant_add(s, 1, 0);
    int c;

    pa.used = pb.used = 0;
    for (int k = 0; k < 8; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 100 * US),
                           now);
    }
    for (int k = 0; k < 3; k++) {
        fl[k] = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, now, NULL);
        CHECK(fl[k] && fl[k]->tenant == a);
    }
    dropped_n = 0;
    dropped_last = NULL;
    CHECK_EQ(vgpu_sched_tenant_remove(s, a, count_drop, NULL), 0);
    CHECK_EQ(dropped_n, 5);
    /* Gone for new work, but its slot is not reused while items run. */
    CHECK_EQ(vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE,
                                pool_item(&pa, US), now), -EINVAL);
    c = vgpu_sched_tenant_add(s, 1, now);
    CHECK(c != a && c >= 0);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, now, NULL) == NULL);
    vgpu_sched_enqueue(s, b, VGPU_SCHED_COMPUTE, pool_item(&pb, 100 * US), now);
    for (int k = 0; k < 3; k++) {
        now += 100 * US;
        CHECK_EQ(vgpu_sched_complete(s, fl[k], 100 * US, now), 0);
    }
    CHECK_EQ(vgpu_sched_tenant_stats(s, a, now, &st), -EINVAL);
    CHECK(step(s, &now, 0) == &pb.it[0]);
    CHECK_EQ(vgpu_sched_tenant_add(s, 1, now), a);
    vgpu_sched_free(s);
}

static bool odd_item(VgpuSchedItem *it, void *opaque)
{
    return ((it - (VgpuSchedItem *)opaque) & 1) != 0;
}

TEST(dropping_a_contexts_items_keeps_the_rest_in_order)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0);
    VgpuSchedTenantStats st;

    pa.used = 0;
    for (int k = 0; k < 6; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, US), now);
    }
    CHECK(step(s, &now, 0) == &pa.it[0]);
    /* Items 1, 3, 5 belong to a context that goes away; 1 is the head. */
    CHECK_EQ(vgpu_sched_drop_items(s, a, odd_item, NULL, pa.it), 3);
    vgpu_sched_tenant_stats(s, a, now, &st);
    CHECK_EQ(st.queued[0], 2);
    CHECK(step(s, &now, 0) == &pa.it[2]);
    CHECK(step(s, &now, 0) == &pa.it[4]);
    CHECK(step(s, &now, 0) == NULL);
    CHECK_EQ(vgpu_sched_drop_items(s, 7, odd_item, NULL, pa.it), -EINVAL);
    vgpu_sched_free(s);
}

/* vgpu_sched_queued counts what is queued: not dispatched, dropped or removed. */
TEST(the_queued_count_follows_enqueue_dispatch_drop_and_removal)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 1, 0), b = vgpu_sched_tenant_add(s, 1, 0);

    pa.used = 0;
    CHECK_EQ(vgpu_sched_queued(s), 0);
    for (int k = 0; k < 6; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, US), now);
    }
    vgpu_sched_enqueue(s, b, VGPU_SCHED_COPY_H2D, pool_item(&pa, US), now);
    vgpu_sched_enqueue(s, b, VGPU_SCHED_COPY_H2D, pool_item(&pa, US), now);
    CHECK_EQ(vgpu_sched_queued(s), 8);
    CHECK(step(s, &now, 0) == &pa.it[0]);
    CHECK_EQ(vgpu_sched_queued(s), 7);
    CHECK_EQ(vgpu_sched_drop_items(s, a, odd_item, NULL, pa.it), 3);
    CHECK_EQ(vgpu_sched_queued(s), 4);
    CHECK_EQ(vgpu_sched_tenant_remove(s, b, NULL, NULL), 0);
    CHECK_EQ(vgpu_sched_queued(s), 2);
    vgpu_sched_free(s);
}

TEST(weight_change_at_run_time_takes_effect)
{
    SimTenant t[2] = { heavy(1, 1 * MS), heavy(1, 300 * US) };
    SimAction act = { .at_ns = 3 * SEC, .kind = SIM_SET_WEIGHT, .tenant = 0,
                      .value = 3.0 };
    SimConfig c = base_cfg(t, 2, 8 * SEC);
    SimResult r;
    double A[2];

    c.nactions = 1;
    c.actions = &act;
    CHECK_EQ(sim_run(&c, &r), 0);
    CHECK_EQ(r.sched_errors, 0);
    tm_service(r.rec, r.nrec, 0, 2, SEC, 3 * SEC, A);
    printf("# before: %.2f %%\n", 100 * A[0] / (A[0] + A[1]));
    CHECK(fabs(100 * A[0] / (A[0] + A[1]) - 50.0) <= 2.0);
    for (uint64_t w = 4 * SEC; w < 8 * SEC; w += SEC) {
        tm_service(r.rec, r.nrec, 0, 2, w, w + SEC, A);
        printf("# after, window %llu: %.2f %%\n",
               (unsigned long long)(w / SEC), 100 * A[0] / (A[0] + A[1]));
        CHECK(fabs(100 * A[0] / (A[0] + A[1]) - 75.0) <= 2.0);
    }
    sim_result_free(&r);
}

TEST(flood_of_tiny_launches_cannot_push_another_tenant_below_its_share)
{
    SimTenant t[2] = { heavy(1, 5 * US), heavy(1, 2 * MS) };
    SimConfig c;
    SimResult r;
    TmShare sh;
    double A[2];

    c = base_cfg(t, 2, 4 * SEC);
    sh = run_share(&c, &r, SEC, 4 * SEC);
    sim_result_free(&r);
    printf("# same kernel flooded: err max %.3f pp\n", sh.err_max_pp);
    CHECK_EQ(sh.windows, 3);
    CHECK(sh.err_max_pp <= 4.0);

    /* Launches without a predictor key are all assumed 20 us. */
    t[0].no_key = true;
    CHECK_EQ(sim_run(&c, &r), 0);
    tm_service(r.rec, r.nrec, 0, 2, SEC, 4 * SEC, A);
    sim_result_free(&r);
    printf("# unkeyed flood: victim %.2f %%\n", 100 * A[1] / (A[0] + A[1]));
    CHECK(100 * A[1] / (A[0] + A[1]) >= 48.0);
}

TEST(very_long_kernels_cannot_push_another_tenant_below_its_share)
{
    SimTenant t[2] = { heavy(1, 250 * MS), heavy(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    double A[2];

    c = base_cfg(t, 2, 20 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    tm_service(r.rec, r.nrec, 0, 2, 2 * SEC, 20 * SEC, A);
    printf("# long-kernel tenant %.2f %% over 18 s\n",
           100 * A[0] / (A[0] + A[1]));
    CHECK(fabs(100 * A[0] / (A[0] + A[1]) - 50.0) <= 3.0);
    sim_result_free(&r);
}

TEST(copy_engines_have_their_own_clocks)
{
    SimTenant t[3] = { heavy(1, 1 * MS), heavy(1, 1 * MS), heavy(1, 0) };
    SimConfig c;
    SimResult r;
    TmShare sh;

    /* Tenant 2 floods host-to-device copies; compute stays 50/50. */
    t[2].cls = VGPU_SCHED_COPY_H2D;
    t[2].bytes = 256u << 20;
    t[2].depth = 8;
    c = base_cfg(t, 3, 4 * SEC);
    sh = run_share(&c, &r, SEC, 4 * SEC);
    CHECK_EQ(sh.windows, 3);
    CHECK(sh.err_max_pp <= 1.0);
    CHECK(r.busy_ns[VGPU_SCHED_COPY_H2D] > 3 * SEC);
    sim_result_free(&r);
}

TEST(copies_split_into_near_equal_chunks_that_cover_them)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    uint64_t sizes[] = { 0, 1, 4u << 20, (4u << 20) + 1, 1000000007ull };

    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint64_t n = vgpu_sched_chunk_count(s, sizes[k]), next = 0;
        uint64_t off, len, lo = UINT64_MAX, hi = 0;

        for (uint64_t i = 0; i < n; i++) {
            CHECK_EQ(vgpu_sched_chunk(s, sizes[k], i, &off, &len), 0);
            CHECK_EQ(off, next);
            CHECK(len <= (4u << 20));
            next += len;
            lo = len < lo ? len : lo;
            hi = len > hi ? len : hi;
        }
        CHECK_EQ(next, sizes[k]);
        CHECK(hi - lo <= 1);
        CHECK_EQ(vgpu_sched_chunk(s, sizes[k], n, &off, &len), -EINVAL);
    }
    CHECK_EQ(vgpu_sched_chunk_count(s, (4u << 20) + 1), 2);
    vgpu_sched_free(s);
}

TEST(unseen_kernel_is_predicted_short_then_learnt)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it = { .key = 77 };
    uint64_t now = 0, p;
    int a = vgpu_sched_tenant_add(s, 1, 0), b = vgpu_sched_tenant_add(s, 1, 0);

    CHECK_EQ(vgpu_sched_predict(s, a, VGPU_SCHED_COMPUTE, &it), 20 * US);
    for (int k = 0; k < 30; k++) {
        it = (VgpuSchedItem){ .key = 77 };
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, now);
        CHECK(step(s, &now, 3 * MS) == &it);
    }
    p = vgpu_sched_predict(s, a, VGPU_SCHED_COMPUTE, &it);
    CHECK(p > 2900 * US && p < 3100 * US);
    /* Keys are per tenant. */
    CHECK_EQ(vgpu_sched_predict(s, b, VGPU_SCHED_COMPUTE, &it), 20 * US);
    /* Copies: bytes over bandwidth (12 GB/s by default). */
    it = (VgpuSchedItem){ .bytes = 12000000 };
    CHECK_EQ(vgpu_sched_predict(s, a, VGPU_SCHED_COPY_H2D, &it), MS);
    vgpu_sched_free(s);
}

/*
 * A kernel whose cost rises (same function and shape, a larger argument)
 * is predicted at its new cost from the first long completion on, so the
 * window does not commit a queue of it at the old, short prediction; a
 * cost that falls comes down by the moving average.
 */
TEST(a_rising_cost_is_learnt_at_once_a_falling_one_gradually)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it;
    uint64_t now = 0, p;
    int a = vgpu_sched_tenant_add(s, 1, 0);

    for (int k = 0; k < 16; k++) {
        it = (VgpuSchedItem){ .key = 5 };
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, now);
        CHECK(step(s, &now, 10 * US) == &it);
    }
    it = (VgpuSchedItem){ .key = 5 };
    CHECK_EQ(vgpu_sched_predict(s, a, VGPU_SCHED_COMPUTE, &it), 10 * US);
    vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, now);
    CHECK(step(s, &now, MS) == &it);
    it = (VgpuSchedItem){ .key = 5 };
    CHECK_EQ(vgpu_sched_predict(s, a, VGPU_SCHED_COMPUTE, &it), MS);
    vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, now);
    CHECK(step(s, &now, 200 * US) == &it);
    it = (VgpuSchedItem){ .key = 5 };
    p = vgpu_sched_predict(s, a, VGPU_SCHED_COMPUTE, &it);
    /* 1 ms + 0.25 * (200 us - 1 ms) */
    CHECK_EQ(p, 800 * US);
    vgpu_sched_free(s);
}

TEST(window_bounds_predicted_work_in_flight_and_says_when_to_retry)
{
    VgpuSchedParams p;
    VgpuSched *s;
    static Pool pa;
    VgpuSchedItem *x, *y;
    uint64_t retry;
    int a;

    vgpu_sched_params_default(&p);
    p.window_ns = 2 * MS;
    p.lead_ns = 0;
    s = vgpu_sched_new(&p);
    a = vgpu_sched_tenant_add(s, 1, 0);
    pa.used = 0;
    for (int k = 0; k < 4; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 800 * US),
                           0);
    }
    vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 5 * MS), 0);
    x = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, &retry);
    y = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, &retry);
    CHECK(x && y);
    /* 1.6 ms in flight: a third 0.8 ms item fits once 0.4 ms ran. */
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, &retry) == NULL);
    CHECK_EQ(retry, 400 * US);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 400 * US, &retry) != NULL);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 400 * US, &retry) == NULL);
    CHECK_EQ(vgpu_sched_complete(s, x, 800 * US, 800 * US), 0);
    CHECK_EQ(vgpu_sched_complete(s, y, 800 * US, 1600 * US), 0);
    x = vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 1600 * US, &retry);
    CHECK(x != NULL);
    /*
     * The 5 ms item is longer than the window: it waits for an engine
     * predicted idle.  Only the oldest item in flight is credited with
     * progress, so with two queued the answer is "at a completion".
     */
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 1600 * US, &retry) == NULL);
    CHECK_EQ(retry, VGPU_SCHED_NEVER);
    y = &pa.it[2];
    CHECK_EQ(vgpu_sched_complete(s, y, 800 * US, 2400 * US), 0);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 2400 * US, &retry) == NULL);
    CHECK_EQ(retry, 3200 * US);
    /*
     * An item that overruns its prediction is credited no further than
     * predicted: one more item may queue behind it, then the window stays
     * shut until a completion.
     */
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 9 * MS, &retry) ==
          &pa.it[4]);
    vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, US), 9 * MS);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 20 * MS, &retry) == NULL);
    CHECK_EQ(retry, VGPU_SCHED_NEVER);
    vgpu_sched_free(s);
}

TEST(long_item_is_handed_over_a_lead_before_the_engine_runs_dry)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa;
    uint64_t retry;
    int a = vgpu_sched_tenant_add(s, 1, 0);

    pa.used = 0;
    for (int k = 0; k < 3; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, 2 * MS),
                           0);
    }
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, &retry) == &pa.it[0]);
    /* Longer than the 1 ms window: queued once 250 us are left ahead. */
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, &retry) == NULL);
    CHECK_EQ(retry, 1750 * US);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 1749 * US, &retry) == NULL);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 1750 * US, &retry) ==
          &pa.it[1]);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 1750 * US, &retry) == NULL);
    vgpu_sched_free(s);
}

TEST(light_tenant_waits_at_most_one_heavy_kernel_and_half_a_millisecond)
{
    SimTenant t[4] = { heavy(1, 100 * US), heavy(1, 1 * MS),
                       heavy(1, 1 * MS), heavy(1, 1 * MS) };
    SimConfig c;
    SimResult r;
    uint64_t p99;

    t[0].kind = SIM_PERIODIC;
    t[0].period_ns = 10 * MS;
    t[0].jitter = 0;
    c = base_cfg(t, 4, 5 * SEC);
    CHECK_EQ(sim_run(&c, &r), 0);
    CHECK(r.nlat[0] > 400);
    p99 = tm_quantile(r.lat[0], r.nlat[0], 0.99);
    sim_result_free(&r);
    /* Alone it takes 100 us; heavy kernels last up to 1.1 ms. */
    printf("# light p99 %.3f ms\n", p99 / 1e6);
    CHECK(p99 - 100 * US <= 1100 * US + 500 * US);
}

TEST(per_tenant_accounting_reports_time_share_and_depth)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    static Pool pa;
    VgpuSchedTenantStats st;
    uint64_t now = 0;
    int a = vgpu_sched_tenant_add(s, 2, 0);

    pa.used = 0;
    for (int k = 0; k < 300; k++) {
        vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, pool_item(&pa, MS), now);
    }
    /* 250 ms busy, then 1.75 s idle. */
    for (int k = 0; k < 250; k++) {
        CHECK(step(s, &now, 0));
    }
    CHECK_EQ(vgpu_sched_tenant_stats(s, a, now, &st), 0);
    CHECK(st.weight == 2.0);
    CHECK_EQ(st.charged_ns[0], 250 * MS);
    CHECK_EQ(st.queued[0], 50);
    CHECK_EQ(st.completed[0], 250);
    CHECK(fabs(st.share_1s[0] - 0.25) < 0.01);
    CHECK_EQ(vgpu_sched_tenant_stats(s, a, 2 * SEC, &st), 0);
    CHECK(fabs(st.share_1s[0]) < 0.001);
    CHECK(fabs(st.share_10s[0] - 0.025) < 0.001);
    vgpu_sched_free(s);
}

/* ---- validation: one check each, with otherwise valid input ------------- */

TEST(zero_weight_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);

    CHECK_EQ(vgpu_sched_tenant_add(s, 0.0, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_tenant_add(s, 1.0, 0), 0);
    vgpu_sched_free(s);
}

TEST(negative_weight_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    int a = vgpu_sched_tenant_add(s, 1.0, 0);
    VgpuSchedTenantStats st;

    CHECK_EQ(vgpu_sched_tenant_add(s, -1.0, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_set_weight(s, a, -2.0), -EINVAL);
    vgpu_sched_tenant_stats(s, a, 0, &st);
    CHECK(st.weight == 1.0);
    vgpu_sched_free(s);
}

TEST(nan_weight_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    int a = vgpu_sched_tenant_add(s, 1.0, 0);
    VgpuSchedTenantStats st;

    CHECK_EQ(vgpu_sched_tenant_add(s, NAN, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_set_weight(s, a, NAN), -EINVAL);
    vgpu_sched_tenant_stats(s, a, 0, &st);
    CHECK(st.weight == 1.0);
    vgpu_sched_free(s);
}

TEST(infinite_weight_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);

    CHECK_EQ(vgpu_sched_tenant_add(s, INFINITY, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_tenant_add(s, VGPU_SCHED_WEIGHT_MAX * 2, 0), -EINVAL);
    vgpu_sched_free(s);
}

TEST(cap_above_one_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    int a = vgpu_sched_tenant_add(s, 1.0, 0);
    VgpuSchedTenantStats st;

    CHECK_EQ(vgpu_sched_set_cap(s, a, 1.01, 0), -EINVAL);
    vgpu_sched_tenant_stats(s, a, 0, &st);
    CHECK(st.cap == 0.0);
    vgpu_sched_free(s);
}

TEST(negative_or_nan_cap_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    int a = vgpu_sched_tenant_add(s, 1.0, 0);
    VgpuSchedTenantStats st;

    CHECK_EQ(vgpu_sched_set_cap(s, a, 0.5, 0), 0);
    CHECK_EQ(vgpu_sched_set_cap(s, a, -0.1, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_set_cap(s, a, NAN, 0), -EINVAL);
    vgpu_sched_tenant_stats(s, a, 0, &st);
    CHECK(st.cap == 0.5);
    vgpu_sched_free(s);
}

TEST(unknown_tenant_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it = { .predicted_ns = US };

    CHECK_EQ(vgpu_sched_enqueue(s, 3, VGPU_SCHED_COMPUTE, &it, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_enqueue(s, -1, VGPU_SCHED_COMPUTE, &it, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_set_weight(s, 100000, 1.0), -EINVAL);
    CHECK_EQ(vgpu_sched_tenant_remove(s, 0, NULL, NULL), -EINVAL);
    CHECK(!vgpu_sched_ready(s, VGPU_SCHED_COMPUTE));
    vgpu_sched_free(s);
}

TEST(bad_engine_class_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it = { .predicted_ns = US };
    int a = vgpu_sched_tenant_add(s, 1.0, 0);

    CHECK_EQ(vgpu_sched_enqueue(s, a, VGPU_SCHED_NR_CLASSES, &it, 0),
             -EINVAL);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_NR_CLASSES, 0, NULL) == NULL);
    vgpu_sched_free(s);
}

TEST(item_enqueued_twice_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it = { .predicted_ns = US };
    VgpuSchedTenantStats st;
    int a = vgpu_sched_tenant_add(s, 1.0, 0);

    CHECK_EQ(vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, 0), 0);
    CHECK_EQ(vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, 0), -EINVAL);
    vgpu_sched_tenant_stats(s, a, 0, &st);
    CHECK_EQ(st.queued[0], 1);
    vgpu_sched_free(s);
}

TEST(completing_an_item_not_in_flight_is_refused)
{
    VgpuSched *s = vgpu_sched_new(NULL);
    VgpuSchedItem it = { .predicted_ns = US }, other = { 0 };
    int a = vgpu_sched_tenant_add(s, 1.0, 0);

    CHECK_EQ(vgpu_sched_complete(s, &other, US, 0), -EINVAL);
    CHECK_EQ(vgpu_sched_enqueue(s, a, VGPU_SCHED_COMPUTE, &it, 0), 0);
    CHECK_EQ(vgpu_sched_complete(s, &it, US, 0), -EINVAL);
    CHECK(vgpu_sched_pick(s, VGPU_SCHED_COMPUTE, 0, NULL) == &it);
    CHECK_EQ(vgpu_sched_complete(s, &it, US, US), 0);
    CHECK_EQ(vgpu_sched_complete(s, &it, US, US), -EINVAL);
    vgpu_sched_free(s);
}

TEST(bad_scheduler_parameters_are_refused)
{
    VgpuSchedParams p;
    VgpuSched *s;

    vgpu_sched_params_default(&p);
    p.window_ns = 0;
    CHECK(vgpu_sched_new(&p) == NULL);
    vgpu_sched_params_default(&p);
    p.predictor_slots = 1000;
    CHECK(vgpu_sched_new(&p) == NULL);
    vgpu_sched_params_default(&p);
    p.predictor_alpha = NAN;
    CHECK(vgpu_sched_new(&p) == NULL);
    vgpu_sched_params_default(&p);
    p.max_tenants = 0;
    CHECK(vgpu_sched_new(&p) == NULL);
    vgpu_sched_params_default(&p);
    p.lead_ns = p.window_ns + 1;
    CHECK(vgpu_sched_new(&p) == NULL);
    vgpu_sched_params_default(&p);
    s = vgpu_sched_new(&p);
    CHECK(s != NULL);
    vgpu_sched_free(s);
}

TEST(tenant_slots_run_out_with_a_clear_error)
{
    VgpuSchedParams p;
    VgpuSched *s;

    vgpu_sched_params_default(&p);
    p.max_tenants = 2;
    s = vgpu_sched_new(&p);
    CHECK_EQ(vgpu_sched_tenant_add(s, 1, 0), 0);
    CHECK_EQ(vgpu_sched_tenant_add(s, 1, 0), 1);
    CHECK_EQ(vgpu_sched_tenant_add(s, 1, 0), -ENOSPC);
    vgpu_sched_free(s);
}

TAP_MAIN(
    TAP_ENTRY(equal_weights_get_equal_shares),
    TAP_ENTRY(weights_1_2_4_8_get_proportional_shares),
    TAP_ENTRY(short_and_long_kernels_get_equal_gpu_time_not_equal_counts),
    TAP_ENTRY(no_tenant_lags_its_fair_share_by_more_than_one_item_plus_window),
    TAP_ENTRY(idle_tenant_cannot_bank_credit),
    TAP_ENTRY(debt_beyond_l_max_from_mispredictions_is_forgiven),
    TAP_ENTRY(single_item_longer_than_l_max_is_charged_in_full),
    TAP_ENTRY(engine_never_idles_while_an_item_is_ready),
    TAP_ENTRY(tenants_joining_and_leaving_converge_within_one_second),
    TAP_ENTRY(caps_of_30_and_70_percent_hold_within_one_point),
    TAP_ENTRY(capped_tenant_alone_leaves_the_gpu_idle_beyond_its_cap),
    TAP_ENTRY(items_of_a_tenant_are_dispatched_in_the_order_enqueued),
    TAP_ENTRY(removing_a_tenant_with_items_in_flight_keeps_them_completable),
    TAP_ENTRY(dropping_a_contexts_items_keeps_the_rest_in_order),
    TAP_ENTRY(weight_change_at_run_time_takes_effect),
    TAP_ENTRY(flood_of_tiny_launches_cannot_push_another_tenant_below_its_share),
    TAP_ENTRY(very_long_kernels_cannot_push_another_tenant_below_its_share),
    TAP_ENTRY(copy_engines_have_their_own_clocks),
    TAP_ENTRY(copies_split_into_near_equal_chunks_that_cover_them),
    TAP_ENTRY(unseen_kernel_is_predicted_short_then_learnt),
    TAP_ENTRY(a_rising_cost_is_learnt_at_once_a_falling_one_gradually),
    TAP_ENTRY(the_queued_count_follows_enqueue_dispatch_drop_and_removal),
    TAP_ENTRY(window_bounds_predicted_work_in_flight_and_says_when_to_retry),
    TAP_ENTRY(long_item_is_handed_over_a_lead_before_the_engine_runs_dry),
    TAP_ENTRY(light_tenant_waits_at_most_one_heavy_kernel_and_half_a_millisecond),
    TAP_ENTRY(per_tenant_accounting_reports_time_share_and_depth),
    TAP_ENTRY(zero_weight_is_refused),
    TAP_ENTRY(negative_weight_is_refused),
    TAP_ENTRY(nan_weight_is_refused),
    TAP_ENTRY(infinite_weight_is_refused),
    TAP_ENTRY(cap_above_one_is_refused),
    TAP_ENTRY(negative_or_nan_cap_is_refused),
    TAP_ENTRY(unknown_tenant_is_refused),
    TAP_ENTRY(bad_engine_class_is_refused),
    TAP_ENTRY(item_enqueued_twice_is_refused),
    TAP_ENTRY(completing_an_item_not_in_flight_is_refused),
    TAP_ENTRY(bad_scheduler_parameters_are_refused),
    TAP_ENTRY(tenant_slots_run_out_with_a_clear_error),
)
