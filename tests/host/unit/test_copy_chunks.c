/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_copy_chunks.c - large host<->device copies reach the executor in
 * chunks of at most VGPU_COPY_CHUNK_BYTES, in order, while staying one
 * command for replies, errors and stream order.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#define MIB (1ull << 20)
#define REG_SIZE (24 * MIB)

static TConn *tc;
static uint64_t ctx, dptr, mod, func, reg;
static uint8_t *map;

/* Scatter-gather straight into this process's memory (a stand-in guest). */
static int sg_map(VgpuConn *c, const struct vgpu_sg_entry *sg, uint32_t nsg,
                  uint64_t size, bool to_host, VgpuHostMem *out)
{
    uint64_t sum = 0;

    (void)c;
    (void)to_host;
    out->iovs = calloc(nsg, sizeof(*out->iovs));
    if (!out->iovs) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    for (uint32_t i = 0; i < nsg; i++) {
        out->iovs[i].iov_base = (void *)(uintptr_t)sg[i].addr;
        out->iovs[i].iov_len = sg[i].len;
        sum += sg[i].len;
    }
    out->iovcnt = nsg;
    if (sum != size) {
        free(out->iovs);
        out->iovs = NULL;
        return VGPU_S_INVALID_VALUE;
    }
    return VGPU_S_OK;
}

static const VgpuConnOps sg_ops = {
    .map_sg = sg_map,
    .take_fd = t_take_fd,
    .reply = t_reply,
};

static void fixture(void)
{
    struct vgpu_cmd_region r = { .size = REG_SIZE };
    int fd = memfd_create("unit", MFD_CLOEXEC);

    t_server_init();
    tc = t_conn_new();
    tc->base.ops = &sg_ops;
    ctx = t_ctx_create(tc);
    dptr = t_mem_alloc(tc, ctx, 16 * MIB);
    mod = t_module_load(tc, ctx, t_ptx);
    func = t_func_get(tc, ctx, mod, "k");
    map = MAP_FAILED;
    reg = 0;
    if (fd >= 0 && ftruncate(fd, REG_SIZE) == 0) {
        map = mmap(NULL, REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        tc->give_fd = fd;
        reg = t_id_reply(tc, t_send(tc, VGPU_CMD_REGION_REGISTER, 0, 0, 0, r,
                                    NULL, 0));
    }
    if (map != MAP_FAILED) {
        for (uint64_t i = 0; i < REG_SIZE; i++) {
            map[i] = (uint8_t)(i * 7 + (i >> 20));
        }
    }
}

static bool teardown(void)
{
    if (map != MAP_FAILED) {
        munmap(map, REG_SIZE);
    }
    t_conn_close(tc);
    return t_server_fini();
}

#define FIXTURE()                                                           \
    fixture();                                                              \
    CHECK(ctx && dptr && mod && func && reg && map != MAP_FAILED)
#define TEARDOWN() CHECK(teardown())

static uint64_t copy(uint32_t cmd, uint32_t flags, uint64_t d, uint64_t off,
                     uint64_t size)
{
    struct vgpu_cmd_memcpy c = { .dptr = d, .size = size, .region = reg,
                                 .offset = off };

    return t_send(tc, cmd, flags, ctx, 0, c, NULL, 0);
}

/* Fails the @i-th held item with @st, as an executor reports a fault. */
static void fail_held(unsigned i, int st)
{
    VgpuExecItem *it = fake.held[i];

    memmove(&fake.held[i], &fake.held[i + 1],
            (fake.nheld - i - 1) * sizeof(fake.held[0]));
    fake.nheld--;
    it->done(it, st, 0);
}

/* Held item @i is the chunk [off, off + len) of a copy of region offset @roff. */
static bool is_chunk(unsigned i, VgpuItemKind kind, uint64_t roff,
                     uint64_t off, uint64_t len)
{
    VgpuExecItem *it = i < fake.nheld ? fake.held[i] : NULL;
    VgpuRegion *r = vgpu_handle_get(&tc->base.tenant->handles, reg,
                                    VGPU_H_REGION);
    /* vgpud's own mapping of the region */
    uint8_t *base = r ? r->base : NULL;

    if (!it || !base || it->kind != kind) {
        printf("# item %u: missing or not a copy\n", i);
        return false;
    }
    if (it->u.copy.dptr != dptr + off || it->u.copy.size != len ||
        it->u.copy.iovcnt != 1 ||
        it->u.copy.iov[0].iov_base != base + roff + off ||
        it->u.copy.iov[0].iov_len != len) {
        printf("# item %u: dptr +%llu size %llu iovcnt %u base +%lld len %zu\n",
               i, (unsigned long long)(it->u.copy.dptr - dptr),
               (unsigned long long)it->u.copy.size, it->u.copy.iovcnt,
               (long long)((uint8_t *)it->u.copy.iov[0].iov_base - base),
               it->u.copy.iov[0].iov_len);
        return false;
    }
    return true;
}

TEST(a_10mib_copy_goes_out_as_three_chunks_and_is_answered_after_the_last)
{
    uint64_t roff = 4096, seq;

    FIXTURE();
    fake.manual = true;
    seq = copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, roff, 10 * MIB);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    CHECK_EQ(fake.nheld, 1);
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, roff, 0, 4 * MIB));
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), -1);
    /* the launch behind it waits: only the next chunk went out */
    CHECK_EQ(fake.nheld, 1);
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, roff, 4 * MIB, 4 * MIB));
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), -1);
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, roff, 8 * MIB, 2 * MIB));
    /* after the last chunk was submitted the launch follows it */
    CHECK_EQ(fake.nheld, 2);
    CHECK(fake.nheld == 2 && fake.held[1]->kind == VGPU_ITEM_LAUNCH);
    CHECK_EQ(fake.launches, 0);
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK(!memcmp((void *)(uintptr_t)dptr, map + roff, 10 * MIB));
    fake_complete_all();
    t_drain();
    CHECK_EQ(fake.launches, 1);
    CHECK_EQ(fake.submitted, 4);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    TEARDOWN();
}

/*
 * Under either policy; under wfq the next chunk's place, already taken
 * with the scheduler while this one ran, is given back.
 */
static void failing_middle_chunk(int *tap_failed_, const VgpuRunqPolicy *pol)
{
    uint64_t seq;

    t_policy = pol;
    FIXTURE();
    t_policy = NULL;
    /* 4 MiB chunks even with the engine to itself (wfq would take 32) */
    t_srv.copy_chunk_solo = VGPU_COPY_CHUNK_BYTES;
    fake.manual = true;
    seq = copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0, 10 * MIB);
    t_launch(tc, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 0, 4 * MIB));
    fake_complete(0);
    t_drain();
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 4 * MIB, 4 * MIB));
    fail_held(0, VGPU_S_ILLEGAL_ADDRESS);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_ILLEGAL_ADDRESS);
    /* no third chunk, and the launch behind it never ran */
    CHECK_EQ(fake.nheld, 0);
    CHECK_EQ(fake.submitted, 2);
    CHECK_EQ(fake.launches, 0);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    if (pol == &vgpu_runq_wfq) {
        VgpuSchedTenantStats st;

        /* the third chunk's place was picked, never ran, and is given back */
        CHECK(pol->tenant_stats(t_srv.policy_data, tc->base.tenant->acct,
                                &st));
        CHECK_EQ(st.in_flight[VGPU_SCHED_COPY_H2D], 0);
        CHECK_EQ(st.queued[VGPU_SCHED_COPY_H2D], 0);
    }
    /*
     * Nothing of the failed copy holds the window: a copy on a fresh
     * context (the fault poisoned this one) goes out at once.
     */
    {
        uint64_t c2 = t_ctx_create(tc), d2 = t_mem_alloc(tc, c2, 16 * MIB);
        struct vgpu_cmd_memcpy m = { .dptr = d2, .size = 10 * MIB,
                                     .region = reg };

        CHECK(c2 && d2);
        seq = t_send(tc, VGPU_CMD_MEMCPY_HTOD, 0, c2, 0, m, NULL, 0);
        CHECK_EQ(fake.nheld, 1);
        for (int k = 0; k < 3; k++) {
            fake_complete_all();
            t_drain();
        }
        CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    }
    TEARDOWN();
}

TEST(a_failing_middle_chunk_ends_the_copy_with_its_status)
{
    failing_middle_chunk(tap_failed_, &vgpu_runq_fifo);
}

TEST(a_failing_middle_chunk_ends_the_copy_with_its_status_under_wfq)
{
    failing_middle_chunk(tap_failed_, &vgpu_runq_wfq);
}

TEST(a_failed_no_reply_chunk_is_the_next_syncs_deferred_error)
{
    uint64_t seq;

    FIXTURE();
    fake.manual = true;
    copy(VGPU_CMD_MEMCPY_HTOD, VGPU_REQ_F_NO_REPLY, dptr, 0, 9 * MIB);
    fake_complete(0);
    t_drain();
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 4 * MIB, 4 * MIB));
    fail_held(0, VGPU_S_INVALID_VALUE);
    t_drain();
    CHECK_EQ(fake.nheld, 0);
    CHECK_EQ(fake.submitted, 2);
    seq = t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, ctx, 0, NULL, 0, NULL, 0);
    CHECK_EQ(t_status(tc, seq), VGPU_S_INVALID_VALUE);
    /* reported once; the context is not poisoned */
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    TEARDOWN();
}

TEST(chunked_copies_round_trip_and_are_charged_per_chunk_under_wfq)
{
    VgpuAcct *a;
    uint64_t size = 10 * MIB + 123;

    t_policy = &vgpu_runq_wfq;
    FIXTURE();
    t_policy = NULL;
    t_srv.copy_chunk_solo = VGPU_COPY_CHUNK_BYTES;
    a = tc->base.tenant->acct;
    CHECK_EQ(t_status(tc, copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 77, size)),
             VGPU_S_OK);
    CHECK_EQ(t_status(tc, copy(VGPU_CMD_MEMCPY_DTOH, 0, dptr, 12 * MIB,
                               size)), VGPU_S_OK);
    CHECK(!memcmp(map + 77, map + 12 * MIB, size));
    /* 3 + 3 chunks at the fake's 1000 ns each, but two items */
    CHECK_EQ(fake.submitted, 6);
    CHECK_EQ(a->items, 2);
    CHECK_EQ(a->gpu_ns, 6000);
    CHECK_EQ(tc->base.tenant->outstanding, 0);
    TEARDOWN();
}

TEST(scatter_gather_copies_are_sliced_across_their_iovecs)
{
    /* uneven pieces so chunk borders fall inside entries and on them */
    static const uint64_t piece[] = { 3 * MIB + 5, 1 * MIB - 5, 100,
                                      6 * MIB, 4096, 2 * MIB - 4196 };
    struct {
        struct vgpu_cmd_memcpy c;
        struct vgpu_sg_entry sg[6];
    } m;
    uint64_t total = 0, off = 0, seq;
    unsigned n = 0;

    FIXTURE();
    memset(&m, 0, sizeof(m));
    for (unsigned i = 0; i < 6; i++) {
        /* reversed order in memory: slices must follow the list, not addresses */
        m.sg[i].len = piece[i];
        total += piece[i];
    }
    for (unsigned i = 0; i < 6; i++) {
        off += piece[i];
        m.sg[i].addr = (uintptr_t)map + total - off;
    }
    m.c.dptr = dptr;
    m.c.size = total;
    m.c.region = VGPU_REGION_SG;
    m.c.nsg = 6;
    fake.manual = true;
    seq = t_send_raw(tc, VGPU_CMD_MEMCPY_HTOD, 0, ctx, 0, T_BODY(m),
                     sizeof(m) - sizeof(struct vgpu_req_hdr), NULL, 0);
    off = 0;
    while (fake.nheld && n < 8) {
        VgpuExecItem *it = fake.held[0];
        uint64_t sum = 0;

        CHECK_EQ(it->u.copy.dptr, dptr + off);
        CHECK(it->u.copy.size <= VGPU_COPY_CHUNK_BYTES);
        for (unsigned i = 0; i < it->u.copy.iovcnt; i++) {
            sum += it->u.copy.iov[i].iov_len;
        }
        CHECK_EQ(sum, it->u.copy.size);
        off += it->u.copy.size;
        n++;
        fake_complete(0);
        t_drain();
        CHECK(fake.nheld || t_status(tc, seq) == VGPU_S_OK);
        CHECK(!fake.nheld || t_status(tc, seq) == -1);
    }
    CHECK_EQ(n, 3);
    CHECK_EQ(off, total);
    off = 0;
    for (unsigned i = 0; i < 6; i++) {
        CHECK(!memcmp((uint8_t *)(uintptr_t)dptr + off,
                      (void *)(uintptr_t)m.sg[i].addr, piece[i]));
        off += piece[i];
    }
    TEARDOWN();
}

static void client_leaving_mid_copy(int *tap_failed_,
                                    const VgpuRunqPolicy *pol)
{
    t_policy = pol;
    FIXTURE();
    t_policy = NULL;
    t_srv.copy_chunk_solo = VGPU_COPY_CHUNK_BYTES;
    fake.manual = true;
    copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0, 10 * MIB);
    fake_complete(0);
    t_drain();
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 4 * MIB, 4 * MIB));
    munmap(map, REG_SIZE);
    map = MAP_FAILED;
    t_conn_close(tc);
    /* the chunk in flight finishes; the third never goes out */
    fake_complete_all();
    t_drain();
    CHECK_EQ(fake.submitted, 2);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    CHECK(t_server_fini());
}

TEST(a_client_leaving_mid_copy_runs_no_further_chunk)
{
    client_leaving_mid_copy(tap_failed_, &vgpu_runq_fifo);
}

TEST(a_client_leaving_mid_copy_runs_no_further_chunk_under_wfq)
{
    client_leaving_mid_copy(tap_failed_, &vgpu_runq_wfq);
}

TEST(a_copy_of_one_chunk_or_less_is_one_item)
{
    FIXTURE();
    CHECK_EQ(t_status(tc, copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0,
                               VGPU_COPY_CHUNK_BYTES)), VGPU_S_OK);
    CHECK_EQ(fake.submitted, 1);
    TEARDOWN();
}

/* A second client, its own tenant, with a context, memory and a region. */
static TConn *other_client(uint64_t *c, uint64_t *d, uint64_t *rg)
{
    struct vgpu_cmd_region r = { .size = 8 * MIB };
    TConn *o = calloc(1, sizeof(*o));
    int fd = memfd_create("unit-b", MFD_CLOEXEC);

    o->base.ops = &t_ops;
    o->give_fd = -1;
    o->base.tenant = vgpu_tenant_new(&t_srv, "other");
    o->base.tenant->conn = &o->base;
    *c = t_ctx_create(o);
    *d = t_mem_alloc(o, *c, 8 * MIB);
    *rg = 0;
    if (fd >= 0 && ftruncate(fd, r.size) == 0) {
        o->give_fd = fd;
        *rg = t_id_reply(o, t_send(o, VGPU_CMD_REGION_REGISTER, 0, 0, 0, r,
                                   NULL, 0));
    }
    return o;
}

/*
 * While a chunk of a large copy runs, its next chunk holds its place with
 * the scheduler, so another tenant's copies cannot fill the window ahead
 * of it: otherwise the copying tenant is not backlogged between its chunks
 * (43 % against 57 % in the fairness benchmark).  Window 1 ms, copies
 * predicted at 12 GB/s: a 4 MiB chunk is 350 us, a 1 MiB copy 87 us; with
 * the next chunk in the window 3 of the other tenant's 8 copies fit, not 7.
 * The copy still completes, chunk after chunk, in order.
 */
TEST(a_copys_next_chunk_holds_its_place_in_the_window_while_one_runs)
{
    uint64_t cb, db, rb, seq;
    unsigned nb = 0, rounds = 0;
    TConn *o;

    t_policy = &vgpu_runq_wfq;
    FIXTURE();
    t_policy = NULL;
    o = other_client(&cb, &db, &rb);
    CHECK(cb && db && rb);
    /* the copy starts alone: keep its first chunk at 4 MiB all the same */
    t_srv.copy_chunk_solo = VGPU_COPY_CHUNK_BYTES;
    fake.manual = true;
    seq = copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0, 10 * MIB);
    for (unsigned i = 0; i < 8; i++) {
        struct vgpu_cmd_memcpy c = { .dptr = db + i * MIB, .size = MIB,
                                     .region = rb, .offset = i * MIB };

        t_send(o, VGPU_CMD_MEMCPY_HTOD, VGPU_REQ_F_NO_REPLY, cb, 0, c, NULL,
               0);
    }
    t_drain();
    for (unsigned i = 0; i < fake.nheld; i++) {
        nb += fake.held[i]->u.copy.size == MIB;
    }
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 0, 4 * MIB));
    CHECK_EQ(nb, 3);
    while (fake.nheld && rounds++ < 64) {
        fake_complete(0);
        t_drain();
    }
    CHECK_EQ(fake.nheld, 0);
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK_EQ(vgpu_runq_queued(&t_srv), 0);
    t_conn_close(o);
    TEARDOWN();
}

/*
 * Under wfq a copy with its engine class to itself goes out in large
 * pieces (fewer round trips with the engine idle), and in 4 MiB chunks as
 * soon as another tenant has work there.  Solo size 8 MiB here so that
 * both fit the test's region: 10 MiB alone is 8 + 2; beside the other
 * tenant's copy, 4 + 4 + 2.
 */
TEST(a_copy_alone_goes_in_large_pieces_and_in_small_ones_beside_others)
{
    uint64_t cb, db, rb, seq;
    unsigned rounds = 0;
    TConn *o;

    t_policy = &vgpu_runq_wfq;
    FIXTURE();
    t_policy = NULL;
    t_srv.copy_chunk_solo = 8 * MIB;
    fake.manual = true;
    seq = copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0, 10 * MIB);
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 0, 8 * MIB));
    fake_complete(0);
    t_drain();
    CHECK(is_chunk(0, VGPU_ITEM_HTOD, 0, 8 * MIB, 2 * MIB));
    fake_complete(0);
    t_drain();
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);

    o = other_client(&cb, &db, &rb);
    CHECK(cb && db && rb);
    {
        struct vgpu_cmd_memcpy c = { .dptr = db, .size = MIB, .region = rb };

        t_send(o, VGPU_CMD_MEMCPY_HTOD, VGPU_REQ_F_NO_REPLY, cb, 0, c, NULL,
               0);
    }
    CHECK_EQ(fake.nheld, 1);
    seq = copy(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 0, 10 * MIB);
    CHECK(is_chunk(1, VGPU_ITEM_HTOD, 0, 0, 4 * MIB));
    /* the other tenant's copy stays in flight until the end */
    while (fake.nheld > 1 && rounds++ < 8) {
        fake_complete(1);
        t_drain();
        if (fake.nheld > 1) {
            CHECK(fake.held[1]->u.copy.size <= 4 * MIB);
        }
    }
    CHECK_EQ(t_status(tc, seq), VGPU_S_OK);
    CHECK_EQ(fake.submitted, 2 + 1 + 3);
    fake_complete_all();
    t_drain();
    t_conn_close(o);
    TEARDOWN();
}

TAP_MAIN(TAP_ENTRY(a_10mib_copy_goes_out_as_three_chunks_and_is_answered_after_the_last),
         TAP_ENTRY(a_failing_middle_chunk_ends_the_copy_with_its_status),
         TAP_ENTRY(a_failing_middle_chunk_ends_the_copy_with_its_status_under_wfq),
         TAP_ENTRY(a_failed_no_reply_chunk_is_the_next_syncs_deferred_error),
         TAP_ENTRY(chunked_copies_round_trip_and_are_charged_per_chunk_under_wfq),
         TAP_ENTRY(scatter_gather_copies_are_sliced_across_their_iovecs),
         TAP_ENTRY(a_client_leaving_mid_copy_runs_no_further_chunk),
         TAP_ENTRY(a_client_leaving_mid_copy_runs_no_further_chunk_under_wfq),
         TAP_ENTRY(a_copy_of_one_chunk_or_less_is_one_item),
         TAP_ENTRY(a_copys_next_chunk_holds_its_place_in_the_window_while_one_runs),
         TAP_ENTRY(a_copy_alone_goes_in_large_pieces_and_in_small_ones_beside_others))
