/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sched.h - weighted fair-share scheduler for one GPU: the decision logic.
 *
 * Weighted start-time fair queueing with one virtual clock per engine class
 * (compute, host-to-device copies, device-to-host copies), a dispatch window
 * bounded in predicted GPU time, charging by measured cost after the fact,
 * a debt clamp and optional per-tenant caps.  Documentation/scheduler.rst
 * describes the algorithm and its parameters.
 *
 * This module is pure logic: no threads, no locks, no I/O, no clock reads
 * (every entry point takes the current time), no allocation after setup
 * except none at all on the hot path.  The caller serializes all calls on
 * one VgpuSched (vgpud's dispatcher thread owns it).
 *
 * Work items are intrusive: the caller embeds a VgpuSchedItem in its own
 * request structure, fills the prediction fields, enqueues it, and gets
 * the same pointer back from vgpu_sched_pick().  Each tenant keeps one FIFO
 * per engine class inside the scheduler, so the order in which a tenant
 * enqueues items of one class is the order in which they are dispatched;
 * the caller enqueues an item only once everything it depends on (earlier
 * work of its stream) allows it to run.
 */
#ifndef VGPU_SCHED_H
#define VGPU_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Engine classes; each has its own virtual clock and dispatch window. */
typedef enum VgpuSchedClass {
    VGPU_SCHED_COMPUTE = 0,     /* kernels, memsets, device-to-device */
    VGPU_SCHED_COPY_H2D = 1,
    VGPU_SCHED_COPY_D2H = 2,
    VGPU_SCHED_NR_CLASSES = 3,
} VgpuSchedClass;

/* Limits on what a client or an operator may configure. */
#define VGPU_SCHED_WEIGHT_MIN   0.001
#define VGPU_SCHED_WEIGHT_MAX   1000000.0
#define VGPU_SCHED_MAX_TENANTS  65536
#define VGPU_SCHED_NEVER        UINT64_MAX

/**
 * VgpuSchedParams - tunables, fixed for the life of a VgpuSched.
 * Start from vgpu_sched_params_default() and change what you need.
 *
 * @window_ns: dispatch window per engine class, in predicted GPU time:
 *     an item is dispatched when the work already handed to the engine
 *     (predicted, minus what has predictably been executed) plus the item
 *     fits.  It bounds how long a newly ready item of a tenant waits
 *     behind work already committed.  Default 1 ms.
 * @lead_ns: an item that does not fit (longer than the window minus the
 *     backlog) is still dispatched once at most this much predicted work
 *     is ahead of it, so that the engine does not run dry while the
 *     dispatch travels; nothing else joins it then.  At most window_ns.
 *     Default 250 us.
 * @debt_max_ns: L_max of the debt clamp: after a completion a tenant's
 *     finish tag may lead the class clock by at most
 *     max(L_max, that item's measured cost) / weight.  Default 100 ms.
 * @unseen_kernel_ns: predicted cost of a kernel whose key has no history
 *     ("assumed short").  Default 20 us.
 * @bytes_per_sec: initial bandwidth per class for items that carry a byte
 *     count and no predictor key (copies, memsets); refined by measured
 *     costs.  Defaults: compute 200 GB/s, copies 12 GB/s.
 * @chunk_bytes: largest copy chunk vgpu_sched_chunk() produces.  4 MiB.
 * @cap_burst_ns: token bucket depth of a capped tenant, in GPU time: how
 *     far it may run ahead of its cap before it is held back.  5 ms.
 * @max_tenants: tenant slots (ids are 0 .. max_tenants - 1).  256.
 * @predictor_slots: cost predictor hash table size (power of two).  4096.
 * @predictor_alpha: weight of a new measurement in the moving average
 *     (0, 1] of a kernel key's cost, when it is below the average (one
 *     above it replaces the average).  0.25.
 */
typedef struct VgpuSchedParams {
    uint64_t window_ns;
    uint64_t lead_ns;
    uint64_t debt_max_ns;
    uint64_t unseen_kernel_ns;
    uint64_t bytes_per_sec[VGPU_SCHED_NR_CLASSES];
    uint64_t chunk_bytes;
    uint64_t cap_burst_ns;
    unsigned max_tenants;
    unsigned predictor_slots;
    double predictor_alpha;
} VgpuSchedParams;

/**
 * VgpuSchedItem - one unit of work (a launch, a memset, one copy chunk).
 *
 * Before vgpu_sched_enqueue() the caller sets exactly the prediction inputs
 * it has; the scheduler picks the first that applies:
 * @predicted_ns: the caller's own prediction when non-zero;
 * @key: cost predictor key when non-zero (for a kernel: a hash of the
 *     function, grid and block; per tenant, so ids may collide across
 *     tenants);
 * @bytes: byte count, predicted from the class bandwidth (copies, memsets).
 * An item with none of the three is predicted from the history of the
 * tenant's other such items (as if its key were 0).  A key without
 * history is predicted at unseen_kernel_ns, and its item takes the whole
 * window while in flight.
 *
 * Zero the structure once before its first use: the scheduler recognizes
 * an item that is already inside by its private state.
 *
 * Everything else is owned by the scheduler from enqueue until
 * vgpu_sched_complete() (or until a tenant removal hands it back), and may
 * be read but not written by the caller in that time.
 */
typedef struct VgpuSchedItem {
    uint64_t predicted_ns;
    uint64_t key;
    uint64_t bytes;
    unsigned user;              /* the caller's: the scheduler never touches it */

    /* Read-only for the caller once enqueued. */
    int tenant;
    VgpuSchedClass cls;
    uint64_t cost_ns;           /* prediction charged at dispatch */
    uint64_t win_ns;            /* its space in the dispatch window */
    double start_tag;           /* S of the item, in virtual ns */
    uint64_t enqueue_ns;
    uint64_t dispatch_ns;

    /* Private. */
    struct VgpuSchedItem *next;     /* tenant queue / in-flight list */
    struct VgpuSchedItem *prev;     /* in-flight list */
    int state;
    bool tagged;
} VgpuSchedItem;

/**
 * VgpuSchedTenantStats - per-tenant figures for vgpuctl, per class.
 *
 * @charged_ns: measured engine time of all completed items.
 * @recent_1s_ns, @recent_10s_ns: measured engine time of the items that
 *     completed in the last 1 s / 10 s (100 ms resolution).
 * @share_1s, @share_10s: the same divided by the window length: the
 *     fraction of the engine this tenant used (0 .. about 1).
 * @queued: items enqueued and not yet dispatched.
 * @in_flight: items dispatched and not yet completed.
 * @completed: items completed.
 */
typedef struct VgpuSchedTenantStats {
    double weight;
    double cap;
    uint64_t charged_ns[VGPU_SCHED_NR_CLASSES];
    uint64_t recent_1s_ns[VGPU_SCHED_NR_CLASSES];
    uint64_t recent_10s_ns[VGPU_SCHED_NR_CLASSES];
    double share_1s[VGPU_SCHED_NR_CLASSES];
    double share_10s[VGPU_SCHED_NR_CLASSES];
    unsigned queued[VGPU_SCHED_NR_CLASSES];
    unsigned in_flight[VGPU_SCHED_NR_CLASSES];
    uint64_t completed[VGPU_SCHED_NR_CLASSES];
} VgpuSchedTenantStats;

typedef struct VgpuSched VgpuSched;

/**
 * vgpu_sched_params_default - fill @p with the documented defaults.
 * @p: parameters to initialize.
 */
void vgpu_sched_params_default(VgpuSchedParams *p);

/**
 * vgpu_sched_new - create a scheduler.
 * @p: parameters, or NULL for the defaults; copied.
 *
 * Returns: the scheduler, or NULL when a parameter is out of range (zero
 * window, lead above the window, zero chunk, max_tenants 0 or above VGPU_SCHED_MAX_TENANTS,
 * predictor_slots not a power of two, alpha outside (0, 1], a zero
 * bandwidth) or memory is short.  All memory is allocated here.
 */
VgpuSched *vgpu_sched_new(const VgpuSchedParams *p);

/**
 * vgpu_sched_free - free a scheduler; items still inside are forgotten,
 * not touched.
 * @s: scheduler, or NULL.
 */
void vgpu_sched_free(VgpuSched *s);

/**
 * vgpu_sched_tenant_add - add a tenant.
 * @s: scheduler.
 * @weight: relative share, VGPU_SCHED_WEIGHT_MIN .. VGPU_SCHED_WEIGHT_MAX.
 * @now: current time in ns (any monotonic clock, the same for all calls).
 *
 * The tenant starts with no credit: its first item is tagged with the
 * class clock.  Returns: the tenant id (>= 0, the smallest free slot), or
 * -EINVAL for a bad weight (zero, negative, NaN, infinite, out of range),
 * or -ENOSPC when all slots are in use (a removed tenant's slot is free
 * once its last in-flight item completed).
 */
int vgpu_sched_tenant_add(VgpuSched *s, double weight, uint64_t now);

/**
 * vgpu_sched_tenant_remove - remove a tenant.
 * @s: scheduler.
 * @tenant: id from vgpu_sched_tenant_add().
 * @drop: called once for each item still queued (not dispatched), in
 *     queue order, after it was unlinked; the caller fails and frees it.
 *     May be NULL when the caller tracks its items otherwise.
 * @opaque: passed to @drop.
 *
 * Items in flight stay valid: the caller completes them with
 * vgpu_sched_complete() as usual (their time is still charged to the
 * class, so the engine's window stays right), and the slot is reused
 * only after the last of them.  Returns: 0, or -EINVAL for an unknown id.
 */
int vgpu_sched_tenant_remove(VgpuSched *s, int tenant,
                             void (*drop)(VgpuSchedItem *it, void *opaque),
                             void *opaque);

/**
 * vgpu_sched_queued - items enqueued and not yet dispatched or dropped,
 * over all tenants and classes.  O(1).
 */
unsigned vgpu_sched_queued(const VgpuSched *s);

/**
 * vgpu_sched_class_shared - whether tenants other than @tenant have items
 * queued or in flight on class @e.
 * @s: scheduler.
 * @tenant: tenant id (any value: then every tenant counts).
 * @e: engine class.
 *
 * O(max_tenants).  A dispatcher uses it to size copy chunks: large while
 * a tenant has an engine to itself, small while others wait for it.
 */
bool vgpu_sched_class_shared(const VgpuSched *s, int tenant,
                             VgpuSchedClass e);

/**
 * vgpu_sched_drop_items - take queued items of a tenant out, by predicate.
 * @s: scheduler.
 * @tenant: tenant id.
 * @match: returns true for an item to drop (e.g. those of a context that
 *     is being destroyed).
 * @drop: called once for each dropped item after it was unlinked, in
 *     queue order; the caller fails and frees it.  May be NULL.
 * @opaque: passed to @match and @drop.
 *
 * Items in flight are not touched; the remaining items keep their order.
 * Returns: the number of items dropped, or -EINVAL for an unknown id.
 */
int vgpu_sched_drop_items(VgpuSched *s, int tenant,
                          bool (*match)(VgpuSchedItem *it, void *opaque),
                          void (*drop)(VgpuSchedItem *it, void *opaque),
                          void *opaque);

/**
 * vgpu_sched_set_weight - change a tenant's weight at run time.
 * @s: scheduler.
 * @tenant: tenant id.
 * @weight: new weight, as for vgpu_sched_tenant_add().
 *
 * Lead or lag the tenant has against the class clocks is kept in GPU time
 * (rescaled to the new weight); its waiting head items are re-tagged.
 * Returns: 0, or -EINVAL (bad weight or id; nothing changed).
 */
int vgpu_sched_set_weight(VgpuSched *s, int tenant, double weight);

/**
 * vgpu_sched_set_cap - set or clear a tenant's maximum share.
 * @s: scheduler.
 * @tenant: tenant id.
 * @cap: largest fraction of each engine the tenant may use, in (0, 1];
 *     0 removes the cap (the default).
 * @now: current time in ns.
 *
 * A capped tenant is not dispatched while it is ahead of its cap, even if
 * the engine would idle: that is what a cap means.  Uncapped scheduling is
 * work-conserving.  Returns: 0, or -EINVAL (cap negative, NaN, above 1, or
 * bad id; nothing changed).
 */
int vgpu_sched_set_cap(VgpuSched *s, int tenant, double cap, uint64_t now);

/**
 * vgpu_sched_enqueue - queue one item behind the tenant's earlier items of
 * the same class.
 * @s: scheduler.
 * @tenant: tenant id.
 * @cls: engine class.
 * @it: item with its prediction fields set; must not be queued already.
 * @now: current time in ns.
 *
 * Returns: 0, or -EINVAL (bad id, removed tenant, bad class, or an item
 * that is already inside the scheduler; nothing changed).
 */
int vgpu_sched_enqueue(VgpuSched *s, int tenant, VgpuSchedClass cls,
                       VgpuSchedItem *it, uint64_t now);

/**
 * vgpu_sched_pick - choose the next item to dispatch on a class.
 * @s: scheduler.
 * @cls: engine class.
 * @now: current time in ns.
 * @retry_at: when NULL is returned, set to the earliest time at which a
 *     call may succeed without any enqueue or completion happening first
 *     (the window predictably has room, or a capped tenant is allowed
 *     again), or VGPU_SCHED_NEVER.  May be NULL.
 *
 * Call it in a loop after every enqueue and completion on @cls, and at
 * @retry_at (a timer, never a busy wait), until it returns NULL.
 *
 * Returns: the item to hand to the engine now (it is in flight from here
 * on), or NULL when nothing is ready, the window is full, or every ready
 * tenant is held back by its cap.
 */
VgpuSchedItem *vgpu_sched_pick(VgpuSched *s, VgpuSchedClass cls, uint64_t now,
                               uint64_t *retry_at);

/**
 * vgpu_sched_complete - report that a dispatched item finished.
 * @s: scheduler.
 * @it: item returned by vgpu_sched_pick().
 * @measured_ns: engine time the item took (CUDA events, sim run time).
 * @now: current time in ns.
 *
 * Charges the difference between measured and predicted cost to the
 * tenant, feeds the cost predictor, and frees the item's window space.
 * After this the item belongs to the caller again.
 * Returns: 0, or -EINVAL when @it is not in flight (nothing changed).
 */
int vgpu_sched_complete(VgpuSched *s, VgpuSchedItem *it, uint64_t measured_ns,
                        uint64_t now);

/**
 * vgpu_sched_tenant_stats - per-tenant accounting for vgpuctl.
 * @s: scheduler.
 * @tenant: tenant id.
 * @now: current time in ns (windows end here).
 * @st: filled on success.
 * Returns: 0, or -EINVAL for an unknown id.
 */
int vgpu_sched_tenant_stats(const VgpuSched *s, int tenant, uint64_t now,
                            VgpuSchedTenantStats *st);

/**
 * vgpu_sched_ready - whether any item of @cls is queued and not dispatched.
 * @s: scheduler.
 * @cls: engine class.
 * Returns: true when some tenant has a queued item on @cls.
 */
bool vgpu_sched_ready(const VgpuSched *s, VgpuSchedClass cls);

/**
 * vgpu_sched_predict - the cost the scheduler would predict for @it now.
 * @s: scheduler.
 * @tenant: tenant id.
 * @cls: engine class.
 * @it: item with its prediction fields set.
 * Returns: predicted engine time in ns (at least 1).
 */
uint64_t vgpu_sched_predict(const VgpuSched *s, int tenant, VgpuSchedClass cls,
                            const VgpuSchedItem *it);

/**
 * vgpu_sched_chunk_count - how many chunks a copy of @bytes is split into.
 * @s: scheduler (for chunk_bytes).
 * @bytes: copy size.
 * Returns: ceil(bytes / chunk_bytes), at least 1.
 */
uint64_t vgpu_sched_chunk_count(const VgpuSched *s, uint64_t bytes);

/**
 * vgpu_sched_chunk - offset and length of chunk @idx of a copy of @bytes.
 * @s: scheduler.
 * @bytes: copy size.
 * @idx: chunk index, 0 .. vgpu_sched_chunk_count() - 1.
 * @off: set to the chunk's offset in the copy.
 * @len: set to the chunk's length.
 *
 * Chunks are of near-equal size (they differ by at most one byte), so a
 * copy never ends with a tiny tail item, and each is at most chunk_bytes.
 * Returns: 0, or -EINVAL when @idx is out of range.
 */
int vgpu_sched_chunk(const VgpuSched *s, uint64_t bytes, uint64_t idx,
                     uint64_t *off, uint64_t *len);

#endif /* VGPU_SCHED_H */
