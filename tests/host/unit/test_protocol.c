/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_protocol.c - request encoding and reply decoding, and the semantics
 * behind them: stream order, the legacy default stream, events, deferred
 * and sticky errors, deferred frees, disconnects.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

static TConn *tc;
static uint64_t ctx, dptr, mod, func;

static void fixture(void)
{
    t_server_init();
    tc = t_conn_new();
    ctx = t_ctx_create(tc);
    dptr = t_mem_alloc(tc, ctx, 4096);
    mod = t_module_load(tc, ctx, t_ptx);
    func = t_func_get(tc, ctx, mod, "k");
}

static bool teardown(void)
{
    t_conn_close(tc);
    return t_server_fini();
}

#define FIXTURE()                                                           \
    fixture();                                                              \
    CHECK(ctx && dptr && mod && func)
#define TEARDOWN() CHECK(teardown())

static uint64_t record(uint64_t stream, uint64_t ev)
{
    struct vgpu_cmd_id r = { .id = ev };

    return t_send(tc, VGPU_CMD_EVENT_RECORD, 0, ctx, stream, r, NULL, 0);
}

static int query_event(uint64_t ev)
{
    struct vgpu_cmd_id r = { .id = ev };

    return t_status(tc, t_send(tc, VGPU_CMD_EVENT_QUERY, 0, ctx, 0, r, NULL,
                               0));
}

TEST(nop_is_answered_with_a_bare_header_and_its_seq)
{
    struct vgpu_resp_hdr *h;
    uint64_t seq;

    FIXTURE();
    seq = t_send_raw(tc, VGPU_CMD_NOP, 0, 0, 0, NULL, 0, NULL, 0);
    h = t_reply_for(tc, seq);
    CHECK(h);
    CHECK_EQ(h->status, 0);
    CHECK_EQ(h->len, sizeof(*h));
    CHECK_EQ(h->flags, 0);
    TEARDOWN();
}

TEST(get_info_describes_the_device)
{
    struct vgpu_resp_info *ri;

    FIXTURE();
    ri = (struct vgpu_resp_info *)t_reply_for(
        tc, t_send_raw(tc, VGPU_CMD_GET_INFO, 0, 0, 0, NULL, 0, NULL, 0));
    CHECK(ri);
    CHECK_EQ(ri->hdr.len, sizeof(*ri));
    CHECK_EQ(ri->version, VGPU_PROTOCOL_VERSION);
    CHECK(!strcmp((char *)ri->name, "fake device"));
    CHECK_EQ(ri->attrs[1], 1024);
    CHECK(ri->features & (1ull << VGPU_F_NO_REPLY));
    CHECK(!(ri->features & (1ull << VGPU_F_SG_INDIRECT)));
    /* the test executor hands printf back, as sim does */
    CHECK(ri->features & (1ull << VGPU_F_PRINTF));
    TEARDOWN();
}

TEST(inline_data_round_trips_through_device_memory)
{
    struct vgpu_cmd_memcpy c = { .size = 5, .region = VGPU_REGION_INLINE };
    struct vgpu_resp_hdr *h;
    uint64_t seq;

    FIXTURE();
    c.dptr = dptr + 100;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEMCPY_HTOD, 0, ctx, 0, c,
                                 "hello", 5)), VGPU_S_OK);
    seq = t_send(tc, VGPU_CMD_MEMCPY_DTOH, 0, ctx, 0, c, NULL, 0);
    h = t_reply_for(tc, seq);
    CHECK(h && h->status == 0);
    CHECK_EQ(h->len, sizeof(*h) + 5);
    CHECK(!memcmp(h + 1, "hello", 5));
    TEARDOWN();
}

TEST(region_copies_move_data_both_ways)
{
    struct vgpu_cmd_region r = { .size = 65536 };
    struct vgpu_cmd_memcpy c = { .size = 4096 };
    int fd = memfd_create("unit", MFD_CLOEXEC);
    uint8_t *map;
    uint64_t reg;

    FIXTURE();
    CHECK(ftruncate(fd, 65536) == 0);
    map = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(map != MAP_FAILED);
    tc->give_fd = fd;
    reg = t_id_reply(tc, t_send(tc, VGPU_CMD_REGION_REGISTER, 0, 0, 0, r,
                                NULL, 0));
    CHECK(reg);
    for (int i = 0; i < 4096; i++) {
        map[i] = (uint8_t)i;
    }
    c.dptr = dptr;
    c.region = reg;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEMCPY_HTOD, 0, ctx, 0, c, NULL,
                                 0)), 0);
    c.offset = 8192;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEMCPY_DTOH, 0, ctx, 0, c, NULL,
                                 0)), 0);
    CHECK(!memcmp(map, map + 8192, 4096));
    munmap(map, 65536);
    TEARDOWN();
}

TEST(a_region_is_pinned_by_the_executor_while_it_is_registered)
{
    struct vgpu_cmd_region r = { .size = 65536 };
    struct vgpu_cmd_id u = { 0 };
    int fd = memfd_create("unit", MFD_CLOEXEC);
    long before;

    FIXTURE();
    before = fake.nhost_registered;
    CHECK(ftruncate(fd, 65536) == 0);
    tc->give_fd = fd;
    u.id = t_id_reply(tc, t_send(tc, VGPU_CMD_REGION_REGISTER, 0, 0, 0, r,
                                 NULL, 0));
    CHECK(u.id);
    CHECK_EQ(fake.nhost_registered, before + 1);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_REGION_UNREGISTER, 0, 0, 0, u,
                                 NULL, 0)), 0);
    CHECK_EQ(fake.nhost_registered, before);
    TEARDOWN();
}

TEST(a_memcpy_is_answered_after_it_completed)
{
    struct vgpu_cmd_memcpy c = { .size = 4, .region = VGPU_REGION_INLINE };
    uint64_t seq;

    FIXTURE();
    fake.manual = true;
    c.dptr = dptr;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    seq = t_send(tc, VGPU_CMD_MEMCPY_HTOD, 0, ctx, 0, c, "abcd", 4);
    CHECK_EQ(t_status(tc, seq), -1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), -1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    TEARDOWN();
}

TEST(the_last_completions_of_a_flood_wake_the_loop_thread)
{
    uint64_t cnt = 0;

    FIXTURE();
    fake.manual = true;
    for (int i = 0; i < 3; i++) {
        t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    }
    CHECK(fake.nheld >= 1);
    t_drain();
    while (read(t_srv.evfd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
        ;
    }
    /*
     * Nothing waits for these NO_REPLY launches, so completions are
     * batched; the last one must still wake the loop, or the items the
     * run queue holds back would never be dispatched.
     */
    cnt = 0;
    fake_complete_all();
    CHECK(read(t_srv.evfd, &cnt, sizeof(cnt)) == sizeof(cnt) && cnt > 0);
    TEARDOWN();
}

TEST(stream_sync_is_answered_when_the_stream_drained)
{
    uint64_t s, seq;

    FIXTURE();
    s = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, 0);
    fake.manual = true;
    for (int i = 0; i < 3; i++) {
        t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s, func, dptr, 1);
    }
    CHECK_EQ(fake.nheld, 3);
    seq = t_send_raw(tc, VGPU_CMD_STREAM_SYNC, 0, ctx, s, NULL, 0, NULL, 0);
    CHECK_EQ(t_status(tc, t_send_raw(tc, VGPU_CMD_STREAM_QUERY, 0, ctx, s,
                                     NULL, 0, NULL, 0)), VGPU_S_NOT_READY);
    fake_complete(0);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), -1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK_EQ(t_status(tc, t_send_raw(tc, VGPU_CMD_STREAM_QUERY, 0, ctx, s,
                                     NULL, 0, NULL, 0)), VGPU_S_OK);
    TEARDOWN();
}

TEST(the_default_stream_waits_for_blocking_streams)
{
    uint64_t s;

    FIXTURE();
    s = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, 0);
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s, func, dptr, 1);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 2);
    CHECK_EQ(fake.nheld, 1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(fake.nheld, 1);
    TEARDOWN();
}

TEST(blocking_streams_wait_for_the_default_stream)
{
    uint64_t s;

    FIXTURE();
    s = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, 0);
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s, func, dptr, 2);
    CHECK_EQ(fake.nheld, 1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(fake.nheld, 1);
    TEARDOWN();
}

TEST(non_blocking_streams_do_not_wait_for_the_default_stream)
{
    uint64_t s;

    FIXTURE();
    s = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, VGPU_CU_STREAM_NON_BLOCKING);
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s, func, dptr, 2);
    CHECK_EQ(fake.nheld, 2);
    TEARDOWN();
}

TEST(stream_wait_event_holds_work_until_the_event_completed)
{
    uint64_t s1, s2, ev;
    struct vgpu_cmd_id w = { .id = 0 };

    FIXTURE();
    s1 = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, VGPU_CU_STREAM_NON_BLOCKING);
    s2 = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, VGPU_CU_STREAM_NON_BLOCKING);
    ev = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s1, func, dptr, 1);
    CHECK_EQ(t_status(tc, record(s1, ev)), VGPU_S_OK);
    w.id = ev;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_STREAM_WAIT_EVENT, 0, ctx, s2, w,
                                 NULL, 0)), VGPU_S_OK);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, s2, func, dptr, 2);
    CHECK_EQ(fake.nheld, 1);
    CHECK_EQ(query_event(ev), VGPU_S_NOT_READY);
    fake_complete(0);
    t_drain();
    CHECK_EQ(query_event(ev), VGPU_S_OK);
    CHECK_EQ(fake.nheld, 1);
    TEARDOWN();
}

TEST(elapsed_time_is_reported_between_completed_events)
{
    uint64_t a, b;
    struct vgpu_cmd_elapsed el = { .start = 0 };
    struct vgpu_resp_elapsed *re;
    uint64_t seq;

    FIXTURE();
    a = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    b = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    fake.manual = true;
    record(0, a);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    record(0, b);
    el.start = a;
    el.end = b;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_EVENT_ELAPSED, 0, ctx, 0, el,
                                 NULL, 0)), VGPU_S_NOT_READY);
    usleep(2000);
    fake_complete(0);
    t_drain();
    seq = t_send(tc, VGPU_CMD_EVENT_ELAPSED, 0, ctx, 0, el, NULL, 0);
    re = (struct vgpu_resp_elapsed *)t_reply_for(tc, seq);
    CHECK(re && re->hdr.status == 0);
    CHECK_EQ(re->hdr.len, sizeof(*re));
    /* the kernel completed after the 2 ms sleep, the start before it */
    CHECK((int64_t)re->ns >= 2000000);
    TEARDOWN();
}

TEST(event_sync_is_answered_when_the_event_completed)
{
    uint64_t ev, seq;
    struct vgpu_cmd_id r = { .id = 0 };

    FIXTURE();
    ev = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    record(0, ev);
    r.id = ev;
    seq = t_send(tc, VGPU_CMD_EVENT_SYNC, 0, ctx, 0, r, NULL, 0);
    CHECK_EQ(t_status(tc, seq), -1);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    TEARDOWN();
}

TEST(an_execution_fault_poisons_only_its_context)
{
    TConn *other;
    uint64_t octx;
    struct vgpu_cmd_mem m = { .size = 64 };

    FIXTURE();
    other = t_conn_new();
    octx = t_ctx_create(other);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, FAKE_ARG_FAULT);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEM_ALLOC, 0, ctx, 0, m, NULL,
                                 0)), VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_ILLEGAL_ADDRESS);
    CHECK(t_mem_alloc(other, octx, 64));
    CHECK_EQ(t_sync(other, octx), VGPU_S_OK);
    CHECK_EQ(t_status(tc, t_send_raw(tc, VGPU_CMD_CTX_DESTROY, 0, ctx, 0, NULL,
                                     0, NULL, 0)), VGPU_S_OK);
    t_conn_close(other);
    TEARDOWN();
}

TEST(work_queued_behind_a_fault_does_not_run)
{
    FIXTURE();
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, FAKE_ARG_FAULT);
    CHECK_EQ(fake.nheld, 1);
    fake_complete(0);   /* vgpud has not seen the fault yet */
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    t_drain();
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_ILLEGAL_ADDRESS);
    TEARDOWN();
}

TEST(an_asynchronous_failure_is_reported_once_at_the_next_sync)
{
    FIXTURE();
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, FAKE_ARG_FAIL);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_LAUNCH_OUT_OF_RESOURCES);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    TEARDOWN();
}

TEST(mem_free_waits_for_work_queued_before_it)
{
    struct vgpu_cmd_mem m = { .dptr = 0 };
    uint64_t seq;

    FIXTURE();
    fake.manual = true;
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    m.dptr = dptr;
    seq = t_send(tc, VGPU_CMD_MEM_FREE, 0, ctx, 0, m, NULL, 0);
    CHECK_EQ(t_status(tc, seq), -1);
    CHECK_EQ(fake.nfrees, 0);
    /* the range no longer validates for new requests */
    CHECK_EQ(t_status(tc, t_launch(tc, 0, ctx, 0, func, dptr, 1)), VGPU_S_OK);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEM_FREE, 0, ctx, 0, m, NULL,
                                 0)), VGPU_S_INVALID_VALUE);
    fake_complete_all();
    t_drain();
    fake_complete_all();
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK_EQ(fake.nfrees, 1);
    CHECK_EQ(tc->base.tenant->mem_used, 0);
    TEARDOWN();
}

TEST(a_departed_client_is_freed_after_its_in_flight_work)
{
    VgpuServer *srv = &t_srv;

    FIXTURE();
    fake.manual = true;
    for (int i = 0; i < 4; i++) {
        t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    }
    t_conn_close(tc);
    CHECK(srv->tenants != NULL);
    CHECK_EQ(fake.nctx, 1);
    fake_complete_all();
    t_drain();
    CHECK(srv->tenants == NULL);
    CHECK(t_server_fini());
}

TEST(func_get_reports_the_parameter_layout)
{
    struct vgpu_cmd_symbol s = { .name_len = 2 };
    struct vgpu_resp_func *rf;
    struct vgpu_param_info *pi;
    uint64_t seq;

    FIXTURE();
    s.module = mod;
    seq = t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, "k", 2);
    rf = (struct vgpu_resp_func *)t_reply_for(tc, seq);
    CHECK(rf && rf->hdr.status == 0);
    CHECK_EQ(rf->func, func);      /* the same name gives the same id */
    CHECK_EQ(rf->nparams, 2);
    CHECK_EQ(rf->param_bytes, 12);
    CHECK_EQ(rf->hdr.len, sizeof(*rf) + 2 * sizeof(*pi));
    pi = (struct vgpu_param_info *)(rf + 1);
    CHECK_EQ(pi[1].offset, 8);
    CHECK_EQ(pi[1].size, 4);
    CHECK_EQ(rf->attrs[VGPU_FUNC_ATTR_MAX_THREADS], 512);
    TEARDOWN();
}

TEST(a_failed_module_load_carries_the_error_log)
{
    static const char bad[] = ".version 7.0\n\nbad\n";
    struct vgpu_cmd_module_load m = { .kind = VGPU_IMAGE_PTX,
                                      .size = sizeof(bad) };
    struct vgpu_resp_hdr *h;

    FIXTURE();
    h = t_reply_for(tc, t_send(tc, VGPU_CMD_MODULE_LOAD, 0, ctx, 0, m, bad,
                               sizeof(bad)));
    CHECK(h);
    CHECK_EQ(h->status, VGPU_S_INVALID_PTX);
    CHECK(h->len > sizeof(*h));
    CHECK(memmem(h + 1, h->len - sizeof(*h), "line 3", 6));
    TEARDOWN();
}

TEST(kernel_output_is_flagged_and_read_back)
{
    struct vgpu_resp_hdr *h;

    FIXTURE();
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, FAKE_ARG_PRINT);
    h = t_reply_for(tc, t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, ctx, 0, NULL, 0,
                                   NULL, 0));
    CHECK(h && (h->flags & VGPU_RESP_F_OUTPUT));
    h = t_reply_for(tc, t_send_raw(tc, VGPU_CMD_OUTPUT_READ, 0, ctx, 0, NULL,
                                   0, NULL, 0));
    CHECK(h && h->status == 0);
    CHECK_EQ(h->len, sizeof(*h) + 6);
    CHECK(!memcmp(h + 1, "hello\n", 6));
    CHECK(!(h->flags & VGPU_RESP_F_OUTPUT));
    TEARDOWN();
}

TEST(destroying_a_context_frees_its_memory_and_ids)
{
    uint64_t seq;

    FIXTURE();
    CHECK_EQ(tc->base.tenant->mem_used, 4096);
    seq = t_send_raw(tc, VGPU_CMD_CTX_DESTROY, 0, ctx, 0, NULL, 0, NULL, 0);
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK_EQ(tc->base.tenant->mem_used, 0);
    CHECK_EQ(fake.nallocs, 0);
    CHECK_EQ(fake.nmodules, 0);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_INVALID_CONTEXT);
    CHECK_EQ(tc->base.tenant->handles.used, 0);
    TEARDOWN();
}

TEST(a_memory_quota_limits_allocations_and_mem_info)
{
    struct vgpu_cmd_mem m = { .size = 8192 };
    struct vgpu_resp_mem_info *mi;

    char err[128];

    FIXTURE();
    CHECK_EQ(vgpu_acct_set(tc->base.tenant->acct, "quota", "8K", err,
                           sizeof(err)), 0);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MEM_ALLOC, 0, ctx, 0, m, NULL,
                                 0)), VGPU_S_OUT_OF_MEMORY);
    mi = (struct vgpu_resp_mem_info *)t_reply_for(
        tc, t_send_raw(tc, VGPU_CMD_MEM_GET_INFO, 0, ctx, 0, NULL, 0, NULL, 0));
    CHECK(mi && mi->hdr.status == 0);
    CHECK_EQ(mi->total, 8192);
    CHECK_EQ(mi->free, 4096);
    TEARDOWN();
}

TEST(admin_list_reports_tenants_as_one_json_line)
{
    char *js;

    FIXTURE();
    js = vgpu_admin_list_json(&t_srv);
    CHECK(js);
    CHECK(!strchr(js, '\n'));
    CHECK(strstr(js, "\"contexts\":1"));
    CHECK(strstr(js, "\"mem_used\":4096"));
    CHECK(strstr(js, "\"allocations\":1"));
    free(js);
    TEARDOWN();
}

TEST(the_wfq_policy_runs_every_tenants_work_to_completion)
{
    TConn *other;
    uint64_t octx, ofunc, omod, odptr;

    t_policy = &vgpu_runq_wfq;
    FIXTURE();
    t_policy = NULL;
    CHECK(!strcmp(t_srv.policy->name, "wfq"));
    other = t_conn_new();
    octx = t_ctx_create(other);
    odptr = t_mem_alloc(other, octx, 64);
    omod = t_module_load(other, octx, t_ptx);
    ofunc = t_func_get(other, octx, omod, "k");
    CHECK(ofunc);
    CHECK(tc->base.tenant->acct->sched_id >= 0);
    CHECK(other->base.tenant->acct->sched_id >= 0);
    fake.manual = true;
    for (int i = 0; i < 50; i++) {
        t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
        t_launch(other, VGPU_REQ_F_NO_REPLY, octx, 0, ofunc, odptr, 1);
    }
    /* the window holds some back; completions let the rest through */
    CHECK(fake.nheld > 0);
    for (int round = 0; round < 200 && fake.nheld; round++) {
        fake_complete_all();
        t_drain();
    }
    CHECK_EQ(fake.launches, 100);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    CHECK_EQ(t_sync(other, octx), VGPU_S_OK);
    t_conn_close(other);
    TEARDOWN();
}


TEST(a_one_stream_tenant_keeps_several_items_queued_with_the_scheduler)
{
    VgpuSchedTenantStats st;
    uint64_t ev;

    t_policy = &vgpu_runq_wfq;
    FIXTURE();
    t_policy = NULL;
    ev = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    fake.manual = true;
    /* launch, record, launch, record ... on the default stream */
    for (int i = 0; i < 6; i++) {
        t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
        record(0, ev);
    }
    CHECK(t_srv.policy->tenant_stats(t_srv.policy_data, tc->base.tenant->acct,
                                     &st));
    /* one in flight (an unseen kernel fills the window), the rest queued */
    CHECK_EQ(st.in_flight[VGPU_SCHED_COMPUTE], 1);
    CHECK(st.queued[VGPU_SCHED_COMPUTE] >= 2);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_EVENT_QUERY, 0, ctx, 0,
                                 ((struct vgpu_cmd_id){ .id = ev }), NULL, 0)),
             VGPU_S_NOT_READY);
    for (int round = 0; round < 50 && fake.nheld; round++) {
        fake_complete_all();
        t_drain();
    }
    CHECK_EQ(fake.launches, 6);
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_EVENT_QUERY, 0, ctx, 0,
                                 ((struct vgpu_cmd_id){ .id = ev }), NULL, 0)),
             VGPU_S_OK);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    TEARDOWN();
}

static int hello(TConn *c, const char *name)
{
    return t_status(c, t_send_raw(c, VGPU_CMD_HELLO, 0, 0, 0, NULL, 0, name,
                                  strlen(name) + 1));
}

TEST(clients_naming_one_tenant_share_its_quota)
{
    struct vgpu_cmd_mem m = { .size = 4096 };
    struct vgpu_resp_mem_info *mi;
    TConn *a, *b;
    uint64_t actx, bctx;
    char err[128];

    t_server_init();
    a = t_conn_new();
    b = t_conn_new();
    a->base.tenant->local = b->base.tenant->local = true;
    CHECK_EQ(vgpu_acct_configure(&t_srv, "name=team,quota=12K,weight=3",
                                 true, err, sizeof(err)), 0);
    CHECK_EQ(hello(a, "team"), VGPU_S_OK);
    CHECK_EQ(hello(b, "team"), VGPU_S_OK);
    CHECK(a->base.tenant->acct == b->base.tenant->acct);
    CHECK(a->base.tenant->acct->weight == 3.0);
    actx = t_ctx_create(a);
    bctx = t_ctx_create(b);
    CHECK(t_mem_alloc(a, actx, 8192));
    /* 8 KiB used by a: b may take 4 KiB more, not 8 */
    m.size = 8192;
    CHECK_EQ(t_status(b, t_send(b, VGPU_CMD_MEM_ALLOC, 0, bctx, 0, m, NULL,
                                0)), VGPU_S_OUT_OF_MEMORY);
    mi = (struct vgpu_resp_mem_info *)t_reply_for(
        b, t_send_raw(b, VGPU_CMD_MEM_GET_INFO, 0, bctx, 0, NULL, 0, NULL, 0));
    CHECK(mi && mi->hdr.status == 0);
    CHECK_EQ(mi->total, 12288);
    CHECK_EQ(mi->free, 4096);
    CHECK(t_mem_alloc(b, bctx, 4096));
    CHECK_EQ(a->base.tenant->acct->mem_used, 12288);
    CHECK_EQ(a->base.tenant->acct->quota_refusals, 1);
    /* a client leaving gives its memory back to the tenant */
    t_conn_close(a);
    t_drain();
    CHECK_EQ(b->base.tenant->acct->mem_used, 4096);
    t_conn_close(b);
    CHECK(t_server_fini());
}

TEST(hello_is_refused_with_a_bad_name_or_after_a_context)
{
    TConn *c;

    t_server_init();
    c = t_conn_new();
    CHECK_EQ(hello(c, "vm-name"), VGPU_S_NOT_PERMITTED);   /* not local */
    c->base.tenant->local = true;
    CHECK_EQ(hello(c, "has space"), VGPU_S_INVALID_VALUE);
    CHECK_EQ(hello(c, "a=b"), VGPU_S_INVALID_VALUE);
    CHECK_EQ(hello(c, ""), VGPU_S_INVALID_VALUE);
    /* not NUL-terminated */
    CHECK_EQ(t_status(c, t_send_raw(c, VGPU_CMD_HELLO, 0, 0, 0, NULL, 0,
                                    "abc", 3)), VGPU_S_INVALID_VALUE);
    CHECK_EQ(hello(c, "ok"), VGPU_S_OK);
    CHECK(!strcmp(c->base.tenant->acct->name, "ok"));
    CHECK(t_ctx_create(c));
    CHECK_EQ(hello(c, "other"), VGPU_S_NOT_PERMITTED);
    CHECK(!strcmp(c->base.tenant->acct->name, "ok"));
    t_conn_close(c);
    CHECK(t_server_fini());
}

TEST(out_of_range_tenant_settings_are_refused_and_change_nothing)
{
    VgpuAcct *a;
    char err[160];
    static const char *const bad[] = {
        "name=t,weight=0", "name=t,weight=-1", "name=t,weight=nan",
        "name=t,weight=1e7", "name=t,weight=abc", "name=t,cap=1.5",
        "name=t,cap=-0.1", "name=t,quota=-1", "name=t,quota=12Q",
        "name=t,color=red", "weight=2", "name=,weight=2", "name=t,weight",
        "name=t,weight=2,cap=2",
    };

    t_server_init();
    CHECK_EQ(vgpu_acct_configure(&t_srv, "name=t,weight=2,cap=0.5,quota=1M",
                                 true, err, sizeof(err)), 0);
    a = vgpu_acct_get(&t_srv, "t", false);
    CHECK(a && a->weight == 2.0 && a->cap == 0.5 && a->mem_quota == 1048576);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        CHECK(vgpu_acct_configure(&t_srv, bad[i], true, err, sizeof(err)) < 0);
        CHECK(err[0]);
    }
    CHECK(a->weight == 2.0 && a->cap == 0.5 && a->mem_quota == 1048576);
    CHECK(strstr(err, "cap"));
    CHECK_EQ(vgpu_acct_configure(&t_srv, "name=nobody,weight=2", false, err,
                                 sizeof(err)), -ENOENT);
    CHECK(!vgpu_acct_get(&t_srv, "nobody", false));
    CHECK_EQ(vgpu_acct_set(a, "cap", "0", err, sizeof(err)), 0);
    CHECK(a->cap == 0);
    /* a local process's own tenant can be set, though not configured */
    CHECK(vgpu_acct_get(&t_srv, "local:pid=7", true));
    CHECK_EQ(vgpu_acct_configure(&t_srv, "name=local:pid=7,weight=4", false,
                                 err, sizeof(err)), 0);
    CHECK(vgpu_acct_get(&t_srv, "local:pid=7", false)->weight == 4.0);
    CHECK(vgpu_acct_configure(&t_srv, "name=local:pid=8,weight=4", true,
                              err, sizeof(err)) < 0);
    CHECK(t_server_fini());
}

TEST(a_config_file_names_tenants_and_reports_its_bad_line)
{
    char path[] = "/tmp/vgpu-cfg-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    VgpuAcct *a;

    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "# tenants\n\nname=alpha weight=4 quota=2M  # comment\n"
               "name=beta, cap=0.3\n");
    fclose(f);
    t_server_init();
    CHECK_EQ(vgpu_acct_load_file(&t_srv, path), 0);
    a = vgpu_acct_get(&t_srv, "alpha", false);
    CHECK(a && a->weight == 4.0 && a->mem_quota == 2u << 20);
    a = vgpu_acct_get(&t_srv, "beta", false);
    CHECK(a && a->cap == 0.3 && a->weight == 1.0);
    f = fopen(path, "w");
    fprintf(f, "name=gamma,weight=0\n");
    fclose(f);
    CHECK_EQ(vgpu_acct_load_file(&t_srv, path), -1);
    unlink(path);
    CHECK(vgpu_acct_load_file(&t_srv, path) < 0);
    CHECK(t_server_fini());
}

TAP_MAIN(TAP_ENTRY(nop_is_answered_with_a_bare_header_and_its_seq),
         TAP_ENTRY(get_info_describes_the_device),
         TAP_ENTRY(inline_data_round_trips_through_device_memory),
         TAP_ENTRY(region_copies_move_data_both_ways),
         TAP_ENTRY(the_last_completions_of_a_flood_wake_the_loop_thread),
         TAP_ENTRY(a_region_is_pinned_by_the_executor_while_it_is_registered),
         TAP_ENTRY(a_memcpy_is_answered_after_it_completed),
         TAP_ENTRY(stream_sync_is_answered_when_the_stream_drained),
         TAP_ENTRY(the_default_stream_waits_for_blocking_streams),
         TAP_ENTRY(blocking_streams_wait_for_the_default_stream),
         TAP_ENTRY(non_blocking_streams_do_not_wait_for_the_default_stream),
         TAP_ENTRY(stream_wait_event_holds_work_until_the_event_completed),
         TAP_ENTRY(elapsed_time_is_reported_between_completed_events),
         TAP_ENTRY(event_sync_is_answered_when_the_event_completed),
         TAP_ENTRY(an_execution_fault_poisons_only_its_context),
         TAP_ENTRY(work_queued_behind_a_fault_does_not_run),
         TAP_ENTRY(an_asynchronous_failure_is_reported_once_at_the_next_sync),
         TAP_ENTRY(mem_free_waits_for_work_queued_before_it),
         TAP_ENTRY(a_departed_client_is_freed_after_its_in_flight_work),
         TAP_ENTRY(func_get_reports_the_parameter_layout),
         TAP_ENTRY(a_failed_module_load_carries_the_error_log),
         TAP_ENTRY(kernel_output_is_flagged_and_read_back),
         TAP_ENTRY(destroying_a_context_frees_its_memory_and_ids),
         TAP_ENTRY(a_memory_quota_limits_allocations_and_mem_info),
         TAP_ENTRY(admin_list_reports_tenants_as_one_json_line),
         TAP_ENTRY(the_wfq_policy_runs_every_tenants_work_to_completion),
         TAP_ENTRY(a_one_stream_tenant_keeps_several_items_queued_with_the_scheduler),
         TAP_ENTRY(clients_naming_one_tenant_share_its_quota),
         TAP_ENTRY(hello_is_refused_with_a_bad_name_or_after_a_context),
         TAP_ENTRY(out_of_range_tenant_settings_are_refused_and_change_nothing),
         TAP_ENTRY(a_config_file_names_tenants_and_reports_its_bad_line))
