/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runq.c - the dispatcher seam between stream order and the executor: ready
 * items of all tenants go through one policy that decides which is
 * submitted next.  Policies: weighted fair queueing on sched.c (the
 * default) and FIFO (the baseline the fairness benchmark compares with);
 * another plugs in by supplying a VgpuRunqPolicy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgpud.h"

typedef struct FifoRunq {
    VgpuWork *head, *tail;
    unsigned n;
} FifoRunq;

static void *fifo_create(VgpuServer *srv)
{
    (void)srv;
    return calloc(1, sizeof(FifoRunq));
}

static void fifo_destroy(void *p)
{
    free(p);
}

static void fifo_enqueue(void *p, VgpuWork *w)
{
    FifoRunq *q = p;

    w->qnext = NULL;
    if (q->tail) {
        q->tail->qnext = w;
    } else {
        q->head = w;
    }
    q->tail = w;
    q->n++;
}

static VgpuWork *fifo_pick(void *p)
{
    FifoRunq *q = p;
    VgpuWork *w = q->head;

    if (w) {
        q->head = w->qnext;
        if (!q->head) {
            q->tail = NULL;
        }
        w->qnext = NULL;
        q->n--;
    }
    return w;
}

static void fifo_completed(void *p, VgpuWork *w)
{
    (void)p;
    (void)w;
}

static VgpuWork *fifo_remove_ctx(void *p, VgpuCtx *ctx)
{
    FifoRunq *q = p;
    VgpuWork *out = NULL, **op = &out, **pp = &q->head, *prev = NULL;

    while (*pp) {
        VgpuWork *w = *pp;

        if (w->ctx == ctx) {
            *pp = w->qnext;
            w->qnext = NULL;
            *op = w;
            op = &w->qnext;
            q->n--;
        } else {
            prev = w;
            pp = &w->qnext;
        }
    }
    q->tail = prev;
    return out;
}

static unsigned fifo_queued(void *p)
{
    return ((FifoRunq *)p)->n;
}

const VgpuRunqPolicy vgpu_runq_fifo = {
    .name = "fifo",
    .create = fifo_create,
    .destroy = fifo_destroy,
    .enqueue = fifo_enqueue,
    .pick = fifo_pick,
    .completed = fifo_completed,
    .remove_ctx = fifo_remove_ctx,
    .queued = fifo_queued,
};

/*
 * Weighted fair queueing (sched.c): tenants get their share of each engine
 * class; items of a tenant the scheduler has no slot for go FIFO first.
 */
typedef struct WfqRunq {
    VgpuServer *srv;
    VgpuSched *s;
    FifoRunq overflow;
} WfqRunq;

static void *wfq_create(VgpuServer *srv)
{
    WfqRunq *q = calloc(1, sizeof(*q));

    if (q) {
        q->srv = srv;
    }
    if (q && !(q->s = vgpu_sched_new(NULL))) {
        free(q);
        q = NULL;
    }
    return q;
}

static void wfq_destroy(void *p)
{
    WfqRunq *q = p;

    vgpu_sched_free(q->s);
    free(q);
}

static void wfq_tenant_add(void *p, VgpuAcct *a)
{
    WfqRunq *q = p;
    int id = vgpu_sched_tenant_add(q->s, a->weight, vgpu_now_ns());

    a->sched_id = id >= 0 ? id : -1;
    if (id >= 0 && a->cap > 0) {
        vgpu_sched_set_cap(q->s, id, a->cap, vgpu_now_ns());
    }
}

static void wfq_tenant_remove(void *p, VgpuAcct *a)
{
    WfqRunq *q = p;

    if (a->sched_id >= 0) {
        vgpu_sched_tenant_remove(q->s, a->sched_id, NULL, NULL);
        a->sched_id = -1;
    }
}

static int wfq_tenant_update(void *p, VgpuAcct *a)
{
    WfqRunq *q = p;

    if (a->sched_id < 0) {
        return 0;
    }
    if (vgpu_sched_set_weight(q->s, a->sched_id, a->weight) < 0 ||
        vgpu_sched_set_cap(q->s, a->sched_id, a->cap, vgpu_now_ns()) < 0) {
        return -EINVAL;
    }
    /* a lifted cap or a larger weight may let held items go now */
    q->srv->runq_retry_at = vgpu_now_ns();
    return 0;
}

static bool wfq_tenant_stats(void *p, VgpuAcct *a, VgpuSchedTenantStats *st)
{
    WfqRunq *q = p;

    return a->sched_id >= 0 &&
           vgpu_sched_tenant_stats(q->s, a->sched_id, vgpu_now_ns(), st) == 0;
}

/* The work a policy node belongs to (its index is the node's user field). */
static VgpuWork *work_of(VgpuSchedItem *it)
{
    return container_of(it - it->user, VgpuWork, sitem[0]);
}

/* A cleared node @i of @w, ready to be filled and enqueued. */
static VgpuSchedItem *wfq_node(VgpuWork *w, unsigned i)
{
    VgpuSchedItem *it = &w->sitem[i];

    memset(it, 0, sizeof(*it));
    it->user = i;
    return it;
}

static void wfq_enqueue(void *p, VgpuWork *w)
{
    WfqRunq *q = p;
    /* a chunked copy's next chunk reuses the node its last chunk had */
    VgpuSchedItem *it = wfq_node(w, w->snode ? w->snode->user : 0);
    int tid = w->ctx->tenant->acct->sched_id;

    w->snode = it;
    switch (w->xi.kind) {
    case VGPU_ITEM_LAUNCH:
        /* cost history per (function, grid, block) */
        it->key = (uint64_t)(uintptr_t)w->xi.u.launch.func * 0x9e3779b97f4a7c15ull;
        for (int i = 0; i < 3; i++) {
            it->key = (it->key ^ w->xi.u.launch.grid[i]) * 0x100000001b3ull;
            it->key = (it->key ^ w->xi.u.launch.block[i]) * 0x100000001b3ull;
        }
        it->key |= 1;
        break;
    case VGPU_ITEM_HTOD:
    case VGPU_ITEM_DTOH:
        it->bytes = w->xi.u.copy.size;
        break;
    case VGPU_ITEM_DTOD:
        it->bytes = w->xi.u.dtod.size;
        break;
    case VGPU_ITEM_MEMSET:
        it->bytes = w->xi.u.memset.count * w->xi.u.memset.elem_size;
        break;
    case VGPU_ITEM_MARKER:
        break;
    }
    if (tid >= 0) {
        w->pred_ns = vgpu_sched_predict(q->s, tid, (VgpuSchedClass)w->engine,
                                        it);
    }
    if (tid < 0 || vgpu_sched_enqueue(q->s, tid, (VgpuSchedClass)w->engine, it,
                                      vgpu_now_ns()) < 0) {
        fifo_enqueue(&q->overflow, w);
        return;
    }
}

static VgpuWork *wfq_pick(void *p)
{
    WfqRunq *q = p;
    uint64_t now, retry = VGPU_SCHED_NEVER;

    if (q->overflow.head) {
        return fifo_pick(&q->overflow);
    }
    now = vgpu_now_ns();
    for (int c = 0; c < VGPU_SCHED_NR_CLASSES; c++) {
        uint64_t at = VGPU_SCHED_NEVER;
        VgpuSchedItem *it;

        while ((it = vgpu_sched_pick(q->s, (VgpuSchedClass)c, now, &at))) {
            VgpuWork *w = work_of(it);

            if (it != w->cp_ahead) {
                return w;
            }
            if (!w->cp_running) {
                /* the chunk before it finished: this one goes now */
                w->snode = it;
                w->cp_ahead = NULL;
                return w;
            }
            /*
             * The next chunk of a copy whose current chunk still runs: it
             * holds its place in the window and goes out the moment that
             * chunk completes (wfq_chunk_next).
             */
            w->cp_ahead_picked = true;
        }
        if (at < retry) {
            retry = at;
        }
    }
    /* a capped tenant or a predictably draining window: the loop wakes then */
    q->srv->runq_retry_at = retry;
    return NULL;
}

static unsigned wfq_queued(void *p)
{
    WfqRunq *q = p;

    return vgpu_sched_queued(q->s) + q->overflow.n;
}

static void wfq_completed(void *p, VgpuWork *w)
{
    WfqRunq *q = p;

    /* an overflow item is not in flight there: -EINVAL, nothing changes */
    vgpu_sched_complete(q->s, w->snode ? w->snode : &w->sitem[0], w->gpu_ns,
                        vgpu_now_ns());
}

/* Large pieces while the tenant has the copy's engine class to itself. */
static uint64_t wfq_chunk_bytes(void *p, VgpuWork *w)
{
    WfqRunq *q = p;
    int tid = w->ctx->tenant->acct->sched_id;

    if (tid < 0 ||
        vgpu_sched_class_shared(q->s, tid, (VgpuSchedClass)w->engine)) {
        return VGPU_COPY_CHUNK_BYTES;
    }
    return q->srv->copy_chunk_solo ? q->srv->copy_chunk_solo :
           VGPU_COPY_CHUNK_SOLO_BYTES;
}

/*
 * A chunk of copy @w went to the executor and more follow: queue the next
 * chunk's node now, so the tenant stays backlogged while this one runs.
 */
static void wfq_chunk_ahead(void *p, VgpuWork *w)
{
    WfqRunq *q = p;
    int tid = w->ctx->tenant->acct->sched_id;
    uint64_t done = w->cp_off + w->xi.u.copy.size, most;
    VgpuSchedItem *it;

    if (tid < 0 || w->cp_ahead || !w->snode || done >= w->cp_size) {
        return;
    }
    most = wfq_chunk_bytes(q, w);
    it = wfq_node(w, !w->snode->user);
    it->bytes = w->cp_size - done < most ? w->cp_size - done : most;
    if (vgpu_sched_enqueue(q->s, tid, (VgpuSchedClass)w->engine, it,
                           vgpu_now_ns()) < 0) {
        return;
    }
    w->cp_ahead = it;
    w->cp_ahead_picked = false;
}

static int wfq_chunk_next(void *p, VgpuWork *w)
{
    (void)p;
    if (!w->cp_ahead) {
        return -1;
    }
    if (!w->cp_ahead_picked) {
        return 0;
    }
    w->snode = w->cp_ahead;
    w->cp_ahead = NULL;
    w->cp_ahead_picked = false;
    return 1;
}

static bool wfq_match_node(VgpuSchedItem *it, void *opaque)
{
    return it == opaque;
}

static void wfq_chunk_cancel(void *p, VgpuWork *w)
{
    WfqRunq *q = p;
    VgpuSchedItem *it = w->cp_ahead;

    if (!it) {
        return;
    }
    w->cp_ahead = NULL;
    if (w->cp_ahead_picked) {
        /* it holds window space but never ran */
        vgpu_sched_complete(q->s, it, 0, vgpu_now_ns());
        w->cp_ahead_picked = false;
    } else {
        vgpu_sched_drop_items(q->s, it->tenant, wfq_match_node, NULL, it);
    }
}

typedef struct DropCtx {
    VgpuCtx *ctx;
    VgpuWork *out, **tail;
} DropCtx;

static bool wfq_match(VgpuSchedItem *it, void *opaque)
{
    return work_of(it)->ctx == ((DropCtx *)opaque)->ctx;
}

static void wfq_drop(VgpuSchedItem *it, void *opaque)
{
    DropCtx *d = opaque;
    VgpuWork *w = work_of(it);

    if (it == w->cp_ahead) {
        /*
         * Only the next chunk's place: the copy itself is with the executor
         * or on its stream's dispatcher list, and is cancelled from there.
         */
        w->cp_ahead = NULL;
        return;
    }
    w->qnext = NULL;
    *d->tail = w;
    d->tail = &w->qnext;
}

static VgpuWork *wfq_remove_ctx(void *p, VgpuCtx *ctx)
{
    WfqRunq *q = p;
    DropCtx d = { .ctx = ctx, .out = NULL };
    VgpuWork *of = fifo_remove_ctx(&q->overflow, ctx);

    d.tail = &d.out;
    if (ctx->tenant->acct->sched_id >= 0) {
        vgpu_sched_drop_items(q->s, ctx->tenant->acct->sched_id, wfq_match,
                              wfq_drop, &d);
    }
    *d.tail = of;
    return d.out;
}

const VgpuRunqPolicy vgpu_runq_wfq = {
    .name = "wfq",
    .create = wfq_create,
    .destroy = wfq_destroy,
    .enqueue = wfq_enqueue,
    .pick = wfq_pick,
    .completed = wfq_completed,
    .remove_ctx = wfq_remove_ctx,
    .tenant_add = wfq_tenant_add,
    .tenant_remove = wfq_tenant_remove,
    .tenant_update = wfq_tenant_update,
    .tenant_stats = wfq_tenant_stats,
    .queued = wfq_queued,
    .chunk_ahead = wfq_chunk_ahead,
    .chunk_next = wfq_chunk_next,
    .chunk_cancel = wfq_chunk_cancel,
    .chunk_bytes = wfq_chunk_bytes,
};

/* Set while vgpu_runq_pump() runs, so submit paths do not recurse into it. */
static bool pumping;

void vgpu_runq_init(VgpuServer *srv, const VgpuRunqPolicy *policy)
{
    srv->policy = policy;
    srv->policy_data = policy->create(srv);
}

void vgpu_runq_fini(VgpuServer *srv)
{
    vgpu_accts_fini(srv);
    if (srv->policy && srv->policy_data) {
        srv->policy->destroy(srv->policy_data);
    }
    srv->policy_data = NULL;
}

/**
 * vgpu_runq_pump - submit what the policy picks until it holds back
 */
void vgpu_runq_pump(VgpuServer *srv)
{
    VgpuWork *w;

    if (pumping) {
        return;
    }
    pumping = true;
    srv->runq_retry_at = VGPU_SCHED_NEVER;
    while ((w = srv->policy->pick(srv->policy_data))) {
        vgpu_work_submit(srv, w);
    }
    pumping = false;
}

/**
 * vgpu_runq_ready - @w is its stream's head and may run: queue it with the
 * policy and submit what the policy allows
 */
void vgpu_runq_ready(VgpuServer *srv, VgpuWork *w)
{
    srv->policy->enqueue(srv->policy_data, w);
    w->stream->disp_pred_ns += w->pred_ns;
    vgpu_runq_pump(srv);
}

/**
 * vgpu_runq_queued - how many items the policy holds (not yet submitted)
 */
unsigned vgpu_runq_queued(VgpuServer *srv)
{
    return srv->policy->queued(srv->policy_data);
}

/**
 * vgpu_runq_chunk_ahead - a chunk of copy @w went to the executor: let the
 * policy queue the next one ahead, if it keeps chunked copies backlogged
 */
void vgpu_runq_chunk_ahead(VgpuServer *srv, VgpuWork *w)
{
    if (srv->policy->chunk_ahead) {
        srv->policy->chunk_ahead(srv->policy_data, w);
    }
}

/**
 * vgpu_runq_chunk_next - the next chunk of copy @w is prepared and on its
 * stream's dispatcher list: submit it, leave it to the policy, or queue it
 */
void vgpu_runq_chunk_next(VgpuServer *srv, VgpuWork *w)
{
    int r = srv->policy->chunk_next ?
            srv->policy->chunk_next(srv->policy_data, w) : -1;

    if (r > 0) {
        vgpu_work_submit(srv, w);
    } else if (r < 0) {
        vgpu_runq_ready(srv, w);
    }
    /* r == 0: it goes when the policy picks the place it queued ahead */
}

/**
 * vgpu_runq_chunk_cancel - copy @w ends before its last chunk: take back
 * what the policy queued ahead for it
 */
void vgpu_runq_chunk_cancel(VgpuServer *srv, VgpuWork *w)
{
    if (srv->policy->chunk_cancel) {
        srv->policy->chunk_cancel(srv->policy_data, w);
    }
}

/**
 * vgpu_runq_chunk_bytes - the largest next chunk of copy @w
 */
uint64_t vgpu_runq_chunk_bytes(VgpuServer *srv, VgpuWork *w)
{
    return srv->policy->chunk_bytes ?
           srv->policy->chunk_bytes(srv->policy_data, w) :
           VGPU_COPY_CHUNK_BYTES;
}

/**
 * vgpu_runq_completed - @w, submitted earlier, finished with cost w->gpu_ns
 *
 * The caller pumps once after a batch of completions.
 */
void vgpu_runq_completed(VgpuServer *srv, VgpuWork *w)
{
    srv->policy->completed(srv->policy_data, w);
    vgpu_acct_charge(w->ctx->tenant->acct, w->gpu_ns, w->t_done);
}

/**
 * vgpu_runq_timeout_ns - how long the loop may sleep before the policy
 * wants to be asked again (a cap or the dispatch window frees up then)
 * @now: the current vgpu_now_ns()
 *
 * Returns -1 (no deadline), or nanoseconds, at most one second.  Not
 * rounded: the window hands the next item over a fraction of a
 * millisecond before the engine runs dry, so a millisecond timer would
 * let it run dry.
 */
int64_t vgpu_runq_timeout_ns(const VgpuServer *srv, uint64_t now)
{
    uint64_t at = srv->runq_retry_at;

    if (at == VGPU_SCHED_NEVER || at == 0) {
        return -1;
    }
    if (at <= now) {
        return 0;
    }
    return at - now > 1000000000ull ? 1000000000ll : (int64_t)(at - now);
}

/* Takes every queued (not yet submitted) item of @ctx out of the policy. */
VgpuWork *vgpu_runq_remove_ctx(VgpuServer *srv, VgpuCtx *ctx)
{
    return srv->policy->remove_ctx(srv->policy_data, ctx);
}
