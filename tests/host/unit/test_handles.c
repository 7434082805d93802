/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_handles.c - handle tables (opaque typed ids) and device-allocation
 * tables (range checks).
 */
#include "harness.h"

TEST(a_minted_id_resolves_to_its_object)
{
    VgpuHandleTable t;
    int obj;
    uint64_t id;

    vgpu_handles_init(&t, 7, 0);
    CHECK_EQ(vgpu_handle_alloc(&t, VGPU_H_STREAM, &obj, &id), VGPU_S_OK);
    CHECK(id != 0);
    CHECK(vgpu_handle_get(&t, id, VGPU_H_STREAM) == &obj);
    vgpu_handles_fini(&t);
}

TEST(an_id_of_another_kind_does_not_resolve)
{
    VgpuHandleTable t;
    int obj;
    uint64_t id;

    vgpu_handles_init(&t, 7, 0);
    vgpu_handle_alloc(&t, VGPU_H_STREAM, &obj, &id);
    CHECK(vgpu_handle_get(&t, id, VGPU_H_EVENT) == NULL);
    vgpu_handles_fini(&t);
}

TEST(an_id_of_another_tenant_does_not_resolve)
{
    VgpuHandleTable a, b;
    int oa, ob;
    uint64_t ida, idb;

    vgpu_handles_init(&a, 1, 0);
    vgpu_handles_init(&b, 2, 0);
    vgpu_handle_alloc(&a, VGPU_H_CTX, &oa, &ida);
    vgpu_handle_alloc(&b, VGPU_H_CTX, &ob, &idb);
    CHECK(vgpu_handle_get(&b, ida, VGPU_H_CTX) == NULL);
    CHECK(vgpu_handle_get(&a, idb, VGPU_H_CTX) == NULL);
    vgpu_handles_fini(&a);
    vgpu_handles_fini(&b);
}

TEST(a_freed_id_stays_dead_when_its_slot_is_reused)
{
    VgpuHandleTable t;
    int o1, o2;
    uint64_t id1, id2;

    vgpu_handles_init(&t, 3, 0);
    vgpu_handle_alloc(&t, VGPU_H_EVENT, &o1, &id1);
    vgpu_handle_free(&t, id1);
    CHECK(vgpu_handle_get(&t, id1, VGPU_H_EVENT) == NULL);
    vgpu_handle_alloc(&t, VGPU_H_EVENT, &o2, &id2);
    CHECK(id1 != id2);
    CHECK(vgpu_handle_get(&t, id1, VGPU_H_EVENT) == NULL);
    CHECK(vgpu_handle_get(&t, id2, VGPU_H_EVENT) == &o2);
    CHECK_EQ(t.used, 1);
    vgpu_handles_fini(&t);
}

TEST(garbage_ids_do_not_resolve)
{
    VgpuHandleTable t;
    int o;
    uint64_t id;

    vgpu_handles_init(&t, 3, 0);
    vgpu_handle_alloc(&t, VGPU_H_CTX, &o, &id);
    CHECK(vgpu_handle_get(&t, 0, VGPU_H_CTX) == NULL);
    CHECK(vgpu_handle_get(&t, ~0ull, VGPU_H_CTX) == NULL);
    CHECK(vgpu_handle_get(&t, id + 1, VGPU_H_CTX) == NULL);
    CHECK(vgpu_handle_get(&t, id ^ (1ull << 30), VGPU_H_CTX) == NULL);
    vgpu_handles_fini(&t);
}

TEST(the_handle_limit_is_enforced)
{
    VgpuHandleTable t;
    int o;
    uint64_t id;

    vgpu_handles_init(&t, 3, 100);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(vgpu_handle_alloc(&t, VGPU_H_EVENT, &o, &id), VGPU_S_OK);
    }
    CHECK_EQ(vgpu_handle_alloc(&t, VGPU_H_EVENT, &o, &id),
             VGPU_S_OUT_OF_MEMORY);
    vgpu_handle_free(&t, id);
    CHECK_EQ(vgpu_handle_alloc(&t, VGPU_H_EVENT, &o, &id), VGPU_S_OK);
    vgpu_handles_fini(&t);
}

TEST(ranges_inside_an_allocation_pass_the_check)
{
    VgpuAllocTable t = { 0 };
    VgpuAlloc a = { .base = 0x1000, .size = 0x100 };
    VgpuAlloc b = { .base = 0x3000, .size = 0x1000 };

    CHECK_EQ(vgpu_allocs_insert(&t, &b), VGPU_S_OK);
    CHECK_EQ(vgpu_allocs_insert(&t, &a), VGPU_S_OK);
    CHECK(vgpu_allocs_check(&t, 0x1000, 0x100));
    CHECK(vgpu_allocs_check(&t, 0x10ff, 1));
    CHECK(vgpu_allocs_check(&t, 0x3800, 0x800));
    vgpu_allocs_fini(&t);
}

TEST(ranges_past_an_allocation_fail_the_check)
{
    VgpuAllocTable t = { 0 };
    VgpuAlloc a = { .base = 0x1000, .size = 0x100 };
    VgpuAlloc b = { .base = 0x1100, .size = 0x100 };

    vgpu_allocs_insert(&t, &a);
    vgpu_allocs_insert(&t, &b);
    CHECK(!vgpu_allocs_check(&t, 0x1000, 0x101));   /* spans two */
    CHECK(!vgpu_allocs_check(&t, 0xfff, 2));        /* starts before */
    CHECK(!vgpu_allocs_check(&t, 0x1200, 1));       /* after the last */
    CHECK(!vgpu_allocs_check(&t, 0x1080, ~0ull));   /* wraps */
    CHECK(!vgpu_allocs_check(&t, 0, 1));
    vgpu_allocs_fini(&t);
}

TEST(overlapping_allocations_are_refused)
{
    VgpuAllocTable t = { 0 };
    VgpuAlloc a = { .base = 0x1000, .size = 0x100 };
    VgpuAlloc b = { .base = 0x10f0, .size = 0x100 };
    VgpuAlloc c = { .base = 0xf00, .size = 0x101 };

    vgpu_allocs_insert(&t, &a);
    CHECK_EQ(vgpu_allocs_insert(&t, &b), VGPU_S_INVALID_VALUE);
    CHECK_EQ(vgpu_allocs_insert(&t, &c), VGPU_S_INVALID_VALUE);
    CHECK_EQ(t.n, 1);
    vgpu_allocs_fini(&t);
}

TEST(removing_an_allocation_stops_its_ranges_validating)
{
    VgpuAllocTable t = { 0 };
    VgpuAlloc a = { .base = 0x1000, .size = 0x100 }, out;

    vgpu_allocs_insert(&t, &a);
    CHECK(!vgpu_allocs_remove(&t, 0x1001, &out));
    CHECK(vgpu_allocs_remove(&t, 0x1000, &out));
    CHECK_EQ(out.size, 0x100);
    CHECK(!vgpu_allocs_check(&t, 0x1000, 1));
    vgpu_allocs_fini(&t);
}

TEST(many_allocations_stay_sorted)
{
    VgpuAllocTable t = { 0 };

    for (uint64_t i = 0; i < 1000; i++) {
        VgpuAlloc a = { .base = ((i * 7919) % 1000) * 0x1000 + 0x10000,
                        .size = 0x800 };

        CHECK_EQ(vgpu_allocs_insert(&t, &a), VGPU_S_OK);
    }
    for (size_t i = 1; i < t.n; i++) {
        CHECK(t.v[i - 1].base < t.v[i].base);
    }
    CHECK(vgpu_allocs_check(&t, 0x10000 + 999 * 0x1000, 0x800));
    CHECK(!vgpu_allocs_check(&t, 0x10000 + 999 * 0x1000 + 0x7ff, 2));
    vgpu_allocs_fini(&t);
}

TAP_MAIN(TAP_ENTRY(a_minted_id_resolves_to_its_object),
         TAP_ENTRY(an_id_of_another_kind_does_not_resolve),
         TAP_ENTRY(an_id_of_another_tenant_does_not_resolve),
         TAP_ENTRY(a_freed_id_stays_dead_when_its_slot_is_reused),
         TAP_ENTRY(garbage_ids_do_not_resolve),
         TAP_ENTRY(the_handle_limit_is_enforced),
         TAP_ENTRY(ranges_inside_an_allocation_pass_the_check),
         TAP_ENTRY(ranges_past_an_allocation_fail_the_check),
         TAP_ENTRY(overlapping_allocations_are_refused),
         TAP_ENTRY(removing_an_allocation_stops_its_ranges_validating),
         TAP_ENTRY(many_allocations_stay_sorted))
