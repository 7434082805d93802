/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_validate.c - one test per validation failure: each request is valid
 * except for one thing, gets that thing's status, and changes nothing.
 */
#include <sys/mman.h>

#include "harness.h"

static TConn *tc;
static uint64_t ctx, dptr, mod, func, strm;

#define ALLOC_SIZE 4096

/* A server, a client with a context, 4 KiB of memory, module, kernel, stream. */
static void fixture(void)
{
    t_server_init();
    tc = t_conn_new();
    ctx = t_ctx_create(tc);
    dptr = t_mem_alloc(tc, ctx, ALLOC_SIZE);
    mod = t_module_load(tc, ctx, t_ptx);
    func = t_func_get(tc, ctx, mod, "k");
    strm = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx, 0);
}

static bool teardown(void)
{
    t_conn_close(tc);
    return t_server_fini();
}

#define FIXTURE()                                                           \
    fixture();                                                              \
    CHECK(ctx && dptr && mod && func && strm)
#define TEARDOWN() CHECK(teardown())

/* Sends a request and checks its status and that no work was queued. */
#define EXPECT_REJECT(seq_expr, status)                                     \
    do {                                                                    \
        uint64_t sub_ = fake.submitted;                                     \
        uint64_t s_ = (seq_expr);                                           \
        CHECK_EQ(t_status(tc, s_), (status));                               \
        CHECK_EQ(fake.submitted, sub_);                                     \
    } while (0)

TEST(a_nonzero_reserved_header_field_is_invalid)
{
    uint8_t req[sizeof(struct vgpu_req_hdr)] = { 0 };
    struct vgpu_req_hdr *h = (struct vgpu_req_hdr *)req;

    FIXTURE();
    h->cmd = VGPU_CMD_NOP;
    h->len = sizeof(req);
    h->reserved = 1;
    h->seq = 77;
    vgpu_handle_request(&tc->base, req, sizeof(req));
    CHECK_EQ(t_status(tc, 77), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(an_unknown_request_flag_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_NOP, 0x100, 0, 0, NULL, 0, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(no_reply_on_a_synchronous_command_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_CTX_SYNC, VGPU_REQ_F_NO_REPLY, ctx,
                             0, NULL, 0, NULL, 0), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_length_not_matching_the_fixed_part_is_invalid)
{
    uint64_t extra = 0;

    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_NOP, 0, 0, 0, &extra, 8, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_truncated_command_is_invalid)
{
    struct vgpu_cmd_mem m = { .size = 64 };

    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_MEM_ALLOC, 0, ctx, 0, T_BODY(m), 4,
                             NULL, 0), VGPU_S_INVALID_VALUE);
    CHECK_EQ(tc->base.tenant->nallocs, 1);
    TEARDOWN();
}

TEST(an_unknown_command_is_not_supported)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, 0x7777, 0, ctx, 0, NULL, 0, NULL, 0),
                  VGPU_S_NOT_SUPPORTED);
    TEARDOWN();
}

TEST(ctx_create_naming_a_context_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_CTX_CREATE, 0, ctx, 0, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_VALUE);
    CHECK_EQ(tc->base.tenant->nctx, 1);
    TEARDOWN();
}

TEST(an_unknown_context_is_an_invalid_context)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, ctx + 1, 0, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_CONTEXT);
    TEARDOWN();
}

TEST(a_context_of_another_tenant_is_an_invalid_context)
{
    TConn *other;
    uint64_t octx;

    FIXTURE();
    other = t_conn_new();
    octx = t_ctx_create(other);
    CHECK(octx);
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, octx, 0, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_CONTEXT);
    t_conn_close(other);
    TEARDOWN();
}

TEST(a_stream_id_used_as_a_context_is_an_invalid_context)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, strm, 0, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_CONTEXT);
    TEARDOWN();
}

TEST(a_zero_byte_allocation_is_invalid)
{
    struct vgpu_cmd_mem m = { .size = 0 };

    FIXTURE();
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MEM_ALLOC, 0, ctx, 0, m, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(freeing_a_pointer_inside_an_allocation_is_invalid)
{
    struct vgpu_cmd_mem m = { .dptr = 0 };

    FIXTURE();
    m.dptr = dptr + 8;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MEM_FREE, 0, ctx, 0, m, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    CHECK_EQ(fake.nfrees, 0);
    TEARDOWN();
}

TEST(freeing_a_module_global_is_invalid)
{
    struct vgpu_cmd_symbol s = { .name_len = 2 };
    struct vgpu_resp_global *g;
    struct vgpu_cmd_mem m = { .dptr = 0 };

    FIXTURE();
    s.module = mod;
    g = (struct vgpu_resp_global *)t_reply_for(
        tc, t_send(tc, VGPU_CMD_GLOBAL_GET, 0, ctx, 0, s, "g", 2));
    CHECK(g && g->hdr.status == 0 && g->size == 64);
    m.dptr = g->dptr;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MEM_FREE, 0, ctx, 0, m, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

static uint64_t memcpy_req(uint32_t cmd, uint32_t flags, uint64_t d,
                           uint64_t size, uint64_t region, uint64_t off,
                           uint32_t nsg, uint32_t pad, const void *data,
                           size_t dlen)
{
    struct vgpu_cmd_memcpy c = { .dptr = d, .size = size, .region = region,
                                 .offset = off, .nsg = nsg, .padding = pad };

    return t_send(tc, cmd, flags, ctx, 0, c, data, dlen);
}

TEST(a_copy_past_the_end_of_an_allocation_is_invalid)
{
    static uint8_t data[16];

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr + ALLOC_SIZE - 8, 16,
                             VGPU_REGION_INLINE, 0, 0, 0, data, 16),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_copy_to_an_unallocated_address_is_invalid)
{
    static uint8_t data[16];

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, 0x1000, 16,
                             VGPU_REGION_INLINE, 0, 0, 0, data, 16),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(nonzero_memcpy_padding_is_invalid)
{
    static uint8_t data[16];

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16,
                             VGPU_REGION_INLINE, 0, 0, 1, data, 16),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(inline_data_shorter_than_the_size_is_invalid)
{
    static uint8_t data[16];

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16,
                             VGPU_REGION_INLINE, 0, 0, 0, data, 8),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(an_inline_copy_larger_than_the_inline_limit_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_DTOH, 0, dptr,
                             VGPU_MAX_INLINE + 1ull, VGPU_REGION_INLINE, 0, 0,
                             0, NULL, 0), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(an_inline_copy_with_an_offset_is_invalid)
{
    static uint8_t data[16];

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16,
                             VGPU_REGION_INLINE, 4, 0, 0, data, 16),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(scatter_gather_over_the_local_socket_is_invalid)
{
    struct vgpu_sg_entry sg = { .addr = 0x1000, .len = 16 };

    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16, VGPU_REGION_SG,
                             0, 1, 0, &sg, sizeof(sg)), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(an_unknown_region_is_an_invalid_handle)
{
    FIXTURE();
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16, mod, 0, 0, 0,
                             NULL, 0), VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

/* Registers a 64 KiB memfd region; returns its id. */
static uint64_t region_register(size_t size, size_t file_size, uint64_t flags,
                                bool with_fd, int *status)
{
    struct vgpu_cmd_region r = { .size = size, .flags = flags };
    int fd = memfd_create("unit", MFD_CLOEXEC);
    uint64_t seq;

    if (ftruncate(fd, (off_t)file_size) < 0) {
        close(fd);
        return 0;
    }
    tc->give_fd = with_fd ? fd : -1;
    seq = t_send(tc, VGPU_CMD_REGION_REGISTER, 0, 0, 0, r, NULL, 0);
    if (!with_fd) {
        close(fd);
    }
    *status = t_status(tc, seq);
    return t_id_reply(tc, seq);
}

TEST(a_region_copy_past_the_region_end_is_invalid)
{
    int st;
    uint64_t reg;

    FIXTURE();
    reg = region_register(65536, 65536, 0, true, &st);
    CHECK_EQ(st, VGPU_S_OK);
    EXPECT_REJECT(memcpy_req(VGPU_CMD_MEMCPY_HTOD, 0, dptr, 16, reg,
                             65536 - 8, 0, 0, NULL, 0), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_region_without_a_descriptor_is_invalid)
{
    int st;

    FIXTURE();
    region_register(65536, 65536, 0, false, &st);
    CHECK_EQ(st, VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_region_with_flags_is_invalid)
{
    int st;

    FIXTURE();
    region_register(65536, 65536, 1, true, &st);
    CHECK_EQ(st, VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_region_larger_than_its_file_is_invalid)
{
    int st;

    FIXTURE();
    region_register(65536 * 2, 65536, 0, true, &st);
    CHECK_EQ(st, VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_device_copy_from_outside_the_allocations_is_invalid)
{
    struct vgpu_cmd_memcpy_dtod c = { .size = 16 };

    FIXTURE();
    c.dst = dptr;
    c.src = dptr + ALLOC_SIZE;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MEMCPY_DTOD, 0, ctx, 0, c, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

static uint64_t memset_req(uint64_t d, uint64_t count, uint32_t value,
                           uint32_t elem)
{
    struct vgpu_cmd_memset m = { .dptr = d, .count = count, .value = value,
                                 .elem_size = elem };

    return t_send(tc, VGPU_CMD_MEMSET, 0, ctx, 0, m, NULL, 0);
}

TEST(a_memset_element_of_three_bytes_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr, 4, 0, 3), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_memset_value_wider_than_its_element_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr, 4, 0x100, 1), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_misaligned_memset_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr + 2, 4, 0, 4), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_memset_past_the_allocation_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr, ALLOC_SIZE / 4 + 1, 0, 4),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_memset_count_that_overflows_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr, 1ull << 63, 0, 4), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(an_unknown_image_kind_is_invalid)
{
    struct vgpu_cmd_module_load m = { .kind = 9, .size = sizeof(t_ptx) };

    FIXTURE();
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MODULE_LOAD, 0, ctx, 0, m, t_ptx,
                         sizeof(t_ptx)), VGPU_S_INVALID_VALUE);
    CHECK_EQ(fake.nmodules, 1);
    TEARDOWN();
}

TEST(an_image_size_not_matching_the_data_is_invalid)
{
    struct vgpu_cmd_module_load m = { .kind = VGPU_IMAGE_PTX,
                                      .size = sizeof(t_ptx) + 1 };

    FIXTURE();
    EXPECT_REJECT(t_send(tc, VGPU_CMD_MODULE_LOAD, 0, ctx, 0, m, t_ptx,
                         sizeof(t_ptx)), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_symbol_name_without_its_nul_is_invalid)
{
    struct vgpu_cmd_symbol s = { .name_len = 2 };

    FIXTURE();
    s.module = mod;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, "kk", 2),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_symbol_name_with_an_embedded_nul_is_invalid)
{
    struct vgpu_cmd_symbol s = { .name_len = 4 };

    FIXTURE();
    s.module = mod;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, "k\0k", 4),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_symbol_of_a_non_module_id_is_an_invalid_handle)
{
    struct vgpu_cmd_symbol s = { .name_len = 2 };

    FIXTURE();
    s.module = strm;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, "k", 2),
                  VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(a_missing_symbol_is_not_found)
{
    struct vgpu_cmd_symbol s = { .name_len = 5 };

    FIXTURE();
    s.module = mod;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, "nope", 5),
                  VGPU_S_NOT_FOUND);
    TEARDOWN();
}

static uint64_t launch_req(uint64_t f, uint32_t gx, uint32_t bx, uint32_t by,
                           uint32_t shared, uint32_t pbytes)
{
    struct vgpu_cmd_launch l = { .func = f, .grid = { gx, 1, 1 },
                                 .block = { bx, by, 1 },
                                 .shared_bytes = shared,
                                 .param_bytes = pbytes };
    static uint8_t params[64];

    return t_send(tc, VGPU_CMD_LAUNCH, 0, ctx, 0, l, params, pbytes);
}

TEST(a_valid_launch_is_accepted)
{
    FIXTURE();
    CHECK_EQ(t_status(tc, launch_req(func, 1, 32, 1, 0, 12)), VGPU_S_OK);
    CHECK_EQ(fake.launches, 1);
    TEARDOWN();
}

TEST(a_launch_of_an_unloaded_function_is_an_invalid_handle)
{
    struct vgpu_cmd_id u = { .id = 0 };

    FIXTURE();
    u.id = mod;
    CHECK_EQ(t_status(tc, t_send(tc, VGPU_CMD_MODULE_UNLOAD, 0, ctx, 0, u,
                                 NULL, 0)), VGPU_S_OK);
    EXPECT_REJECT(launch_req(func, 1, 32, 1, 0, 12), VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(a_zero_grid_dimension_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(launch_req(func, 0, 32, 1, 0, 12), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_block_dimension_above_the_device_limit_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(launch_req(func, 1, 1, 1025, 0, 12), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(more_threads_than_the_function_allows_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(launch_req(func, 1, 32, 32, 0, 12), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(more_shared_memory_than_the_device_has_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(launch_req(func, 1, 32, 1, 96 * 1024, 12),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_parameter_size_not_matching_the_signature_is_invalid)
{
    FIXTURE();
    EXPECT_REJECT(launch_req(func, 1, 32, 1, 0, 16), VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(a_stream_of_another_context_is_an_invalid_handle)
{
    uint64_t ctx2, s2;

    FIXTURE();
    ctx2 = t_ctx_create(tc);
    s2 = t_create(tc, VGPU_CMD_STREAM_CREATE, ctx2, 0);
    CHECK(s2);
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_STREAM_SYNC, 0, ctx, s2, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(unknown_stream_flags_are_invalid)
{
    struct vgpu_cmd_create c = { .flags = 2 };

    FIXTURE();
    EXPECT_REJECT(t_send(tc, VGPU_CMD_STREAM_CREATE, 0, ctx, 0, c, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(unknown_event_flags_are_invalid)
{
    struct vgpu_cmd_create c = { .flags = 8 };

    FIXTURE();
    EXPECT_REJECT(t_send(tc, VGPU_CMD_EVENT_CREATE, 0, ctx, 0, c, NULL, 0),
                  VGPU_S_INVALID_VALUE);
    TEARDOWN();
}

TEST(destroying_the_default_stream_is_an_invalid_handle)
{
    FIXTURE();
    EXPECT_REJECT(t_send_raw(tc, VGPU_CMD_STREAM_DESTROY, 0, ctx, 0, NULL, 0,
                             NULL, 0), VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(elapsed_time_of_an_untimed_event_is_an_invalid_handle)
{
    uint64_t a, b;
    struct vgpu_cmd_id r = { .id = 0 };
    struct vgpu_cmd_elapsed el = { .start = 0 };

    FIXTURE();
    a = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, VGPU_CU_EVENT_DISABLE_TIMING);
    b = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    r.id = a;
    t_send(tc, VGPU_CMD_EVENT_RECORD, 0, ctx, 0, r, NULL, 0);
    r.id = b;
    t_send(tc, VGPU_CMD_EVENT_RECORD, 0, ctx, 0, r, NULL, 0);
    el.start = a;
    el.end = b;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_EVENT_ELAPSED, 0, ctx, 0, el, NULL, 0),
                  VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(elapsed_time_of_an_unrecorded_event_is_an_invalid_handle)
{
    uint64_t a, b;
    struct vgpu_cmd_id r = { .id = 0 };
    struct vgpu_cmd_elapsed el = { .start = 0 };

    FIXTURE();
    a = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    b = t_create(tc, VGPU_CMD_EVENT_CREATE, ctx, 0);
    r.id = b;
    t_send(tc, VGPU_CMD_EVENT_RECORD, 0, ctx, 0, r, NULL, 0);
    el.start = a;
    el.end = b;
    EXPECT_REJECT(t_send(tc, VGPU_CMD_EVENT_ELAPSED, 0, ctx, 0, el, NULL, 0),
                  VGPU_S_INVALID_HANDLE);
    TEARDOWN();
}

TEST(a_rejected_no_reply_command_becomes_the_deferred_error)
{
    FIXTURE();
    EXPECT_REJECT(memset_req(dptr, 4, 0, 3), VGPU_S_INVALID_VALUE);
    {
        struct vgpu_cmd_memset m = { .dptr = dptr, .count = 4,
                                     .elem_size = 3 };
        uint64_t seq = t_send(tc, VGPU_CMD_MEMSET, VGPU_REQ_F_NO_REPLY, ctx, 0,
                              m, NULL, 0);

        CHECK_EQ(t_status(tc, seq), -1);
    }
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_INVALID_VALUE);
    CHECK_EQ(t_sync(tc, ctx), VGPU_S_OK);
    TEARDOWN();
}

TAP_MAIN(TAP_ENTRY(a_nonzero_reserved_header_field_is_invalid),
         TAP_ENTRY(an_unknown_request_flag_is_invalid),
         TAP_ENTRY(no_reply_on_a_synchronous_command_is_invalid),
         TAP_ENTRY(a_length_not_matching_the_fixed_part_is_invalid),
         TAP_ENTRY(a_truncated_command_is_invalid),
         TAP_ENTRY(an_unknown_command_is_not_supported),
         TAP_ENTRY(ctx_create_naming_a_context_is_invalid),
         TAP_ENTRY(an_unknown_context_is_an_invalid_context),
         TAP_ENTRY(a_context_of_another_tenant_is_an_invalid_context),
         TAP_ENTRY(a_stream_id_used_as_a_context_is_an_invalid_context),
         TAP_ENTRY(a_zero_byte_allocation_is_invalid),
         TAP_ENTRY(freeing_a_pointer_inside_an_allocation_is_invalid),
         TAP_ENTRY(freeing_a_module_global_is_invalid),
         TAP_ENTRY(a_copy_past_the_end_of_an_allocation_is_invalid),
         TAP_ENTRY(a_copy_to_an_unallocated_address_is_invalid),
         TAP_ENTRY(nonzero_memcpy_padding_is_invalid),
         TAP_ENTRY(inline_data_shorter_than_the_size_is_invalid),
         TAP_ENTRY(an_inline_copy_larger_than_the_inline_limit_is_invalid),
         TAP_ENTRY(an_inline_copy_with_an_offset_is_invalid),
         TAP_ENTRY(scatter_gather_over_the_local_socket_is_invalid),
         TAP_ENTRY(an_unknown_region_is_an_invalid_handle),
         TAP_ENTRY(a_region_copy_past_the_region_end_is_invalid),
         TAP_ENTRY(a_region_without_a_descriptor_is_invalid),
         TAP_ENTRY(a_region_with_flags_is_invalid),
         TAP_ENTRY(a_region_larger_than_its_file_is_invalid),
         TAP_ENTRY(a_device_copy_from_outside_the_allocations_is_invalid),
         TAP_ENTRY(a_memset_element_of_three_bytes_is_invalid),
         TAP_ENTRY(a_memset_value_wider_than_its_element_is_invalid),
         TAP_ENTRY(a_misaligned_memset_is_invalid),
         TAP_ENTRY(a_memset_past_the_allocation_is_invalid),
         TAP_ENTRY(a_memset_count_that_overflows_is_invalid),
         TAP_ENTRY(an_unknown_image_kind_is_invalid),
         TAP_ENTRY(an_image_size_not_matching_the_data_is_invalid),
         TAP_ENTRY(a_symbol_name_without_its_nul_is_invalid),
         TAP_ENTRY(a_symbol_name_with_an_embedded_nul_is_invalid),
         TAP_ENTRY(a_symbol_of_a_non_module_id_is_an_invalid_handle),
         TAP_ENTRY(a_missing_symbol_is_not_found),
         TAP_ENTRY(a_valid_launch_is_accepted),
         TAP_ENTRY(a_launch_of_an_unloaded_function_is_an_invalid_handle),
         TAP_ENTRY(a_zero_grid_dimension_is_invalid),
         TAP_ENTRY(a_block_dimension_above_the_device_limit_is_invalid),
         TAP_ENTRY(more_threads_than_the_function_allows_is_invalid),
         TAP_ENTRY(more_shared_memory_than_the_device_has_is_invalid),
         TAP_ENTRY(a_parameter_size_not_matching_the_signature_is_invalid),
         TAP_ENTRY(a_stream_of_another_context_is_an_invalid_handle),
         TAP_ENTRY(unknown_stream_flags_are_invalid),
         TAP_ENTRY(unknown_event_flags_are_invalid),
         TAP_ENTRY(destroying_the_default_stream_is_an_invalid_handle),
         TAP_ENTRY(elapsed_time_of_an_untimed_event_is_an_invalid_handle),
         TAP_ENTRY(elapsed_time_of_an_unrecorded_event_is_an_invalid_handle),
         TAP_ENTRY(a_rejected_no_reply_command_becomes_the_deferred_error))
