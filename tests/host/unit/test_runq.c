/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_runq.c - the run queue as vgpud's loop sees it: when the weighted
 * policy holds an item back until the dispatch window drains, the loop's
 * deadline is the scheduler's, to the nanosecond, not rounded to the
 * millisecond (which let the engine run dry before every long kernel).
 */
#include "harness.h"

TEST(the_loop_deadline_keeps_the_schedulers_precision)
{
    uint64_t now = 5000000000ull;

    memset(&t_srv, 0, sizeof(t_srv));
    t_srv.runq_retry_at = VGPU_SCHED_NEVER;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), -1);
    t_srv.runq_retry_at = 0;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), -1);
    t_srv.runq_retry_at = now - 1;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), 0);
    t_srv.runq_retry_at = now;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), 0);
    t_srv.runq_retry_at = now + 1;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), 1);
    t_srv.runq_retry_at = now + 250000;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), 250000);
    /* a cap far ahead: the loop still looks again within a second */
    t_srv.runq_retry_at = now + 60000000000ull;
    CHECK_EQ(vgpu_runq_timeout_ns(&t_srv, now), 1000000000);
}

/*
 * A server on the weighted policy, its fake executor holding what it is
 * given, and one client with a context and the function "k".
 */
static TConn *wfq_fixture(uint64_t *ctx, uint64_t *func)
{
    TConn *tc;
    uint64_t mod;

    t_policy = &vgpu_runq_wfq;
    t_server_init();
    t_policy = NULL;
    tc = t_conn_new();
    *ctx = t_ctx_create(tc);
    mod = t_module_load(tc, *ctx, t_ptx);
    *func = mod ? t_func_get(tc, *ctx, mod, "k") : 0;
    fake.manual = true;
    return tc;
}

TEST(a_kernel_held_behind_the_window_is_due_before_the_engine_drains)
{
    VgpuSchedParams p;
    TConn *tc;
    uint64_t ctx, func, t1;
    int64_t to;

    vgpu_sched_params_default(&p);
    tc = wfq_fixture(&ctx, &func);
    CHECK(ctx && func);
    /*
     * An unseen kernel takes the whole window, so the next one waits
     * until only lead_ns of it is predictably left: window - lead after
     * the first went out.
     */
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, 0, 1);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, 0, 2);
    CHECK_EQ(fake.nheld, 1);
    CHECK(t_srv.runq_retry_at != VGPU_SCHED_NEVER);
    /* measured after the dispatch, so only less can be left */
    t1 = vgpu_now_ns();
    to = vgpu_runq_timeout_ns(&t_srv, t1);
    CHECK(to >= 0);
    CHECK(to <= (int64_t)(p.window_ns - p.lead_ns));
    fake_complete_all();
    t_drain();
    CHECK_EQ(fake.nheld, 1);
    fake_complete_all();
    t_drain();
    CHECK_EQ(fake.nheld, 0);
    t_conn_close(tc);
    CHECK(t_server_fini());
}

/*
 * Completions nobody waits for (NO_REPLY launches) may reach the loop in
 * batches, except while the policy holds work back: its window opens on
 * them, and a late completion kept the next tenant's kernel waiting a
 * whole kernel longer.  The count of held items goes back to zero when
 * they are submitted or their context goes away.
 */
/* A NO_REPLY launch of @func in a grid of 2 blocks: a key of its own. */
static void launch_wide(TConn *tc, uint64_t ctx, uint64_t func)
{
    struct vgpu_cmd_launch l = { .func = func, .grid = { 2, 1, 1 },
                                 .block = { 32, 1, 1 }, .param_bytes = 12 };
    uint8_t params[12] = { 0 };

    t_send(tc, VGPU_CMD_LAUNCH, VGPU_REQ_F_NO_REPLY, ctx, 0, l, params, 12);
}

TEST(completions_are_prompt_while_the_policy_holds_work_back)
{
    TConn *tc;
    uint64_t ctx, func;

    tc = wfq_fixture(&ctx, &func);
    CHECK(ctx && func);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, 0, 1);
    t_drain();
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    CHECK(!t_srv.cq_prompt);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, 0, 2);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, 0, 3);
    t_drain();
    CHECK_EQ(fake.nheld, 1);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 2);
    CHECK(t_srv.cq_prompt);
    /* the fake's 1 us cost is learnt: both go out, nothing is held */
    fake_complete_all();
    t_drain();
    CHECK_EQ(fake.nheld, 2);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    /* an unseen launch shape fills the window, the next one is held */
    launch_wide(tc, ctx, func);
    launch_wide(tc, ctx, func);
    t_drain();
    CHECK_EQ(fake.nheld, 3);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 1);
    CHECK(t_srv.cq_prompt);
    /* the context goes away with an item still held */
    t_conn_close(tc);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    CHECK(t_server_fini());
}

TAP_MAIN(TAP_ENTRY(the_loop_deadline_keeps_the_schedulers_precision),
         TAP_ENTRY(a_kernel_held_behind_the_window_is_due_before_the_engine_drains),
         TAP_ENTRY(completions_are_prompt_while_the_policy_holds_work_back))
