/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stream.c - work items, per-stream FIFOs with in-order completion, the
 * legacy default stream's implicit synchronisation, completions from
 * executor threads, and waiters (sync commands, deferred frees).
 *
 * Life of a work item: enqueued on its stream's pending FIFO; released
 * when it is the stream's head and its dependencies completed.  A released
 * executor item goes to the run queue (runq.c) and from there to the
 * executor; several items of a stream may wait there at once while they are
 * of one engine class (the policy keeps a tenant's items of one class in
 * order, the executor completes a stream's items in submission order), so
 * a tenant with a single stream still has work queued for the scheduler; host items (event record, wait, sync)
 * need no executor.  Released items of a stream sit on its released list in
 * order and complete in that order, so a stream's done_seq always counts a
 * prefix of its items and "stream X reached item N" is one comparison.
 * A large host<->device copy goes to the run queue once per chunk and
 * holds back what follows it meanwhile (copy_chunk_continue()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"

static void work_done_cb(VgpuExecItem *xi, int status, uint64_t gpu_ns);

/*
 * Completions that nothing waits for (a NO_REPLY launch flood) wake the
 * loop thread once per this many; see vgpu_completions_drain().
 */
#define VGPU_CQ_BATCH 32

/* Freelist cap: enough for a deep launch queue without hoarding memory. */
#define WORK_FREELIST_MAX 16384

/**
 * vgpu_work_new - get a zeroed work item for stream @s of @ctx
 *
 * The item holds a reference on @s until freed.  Returns NULL when out of
 * memory.
 */
VgpuWork *vgpu_work_new(VgpuServer *srv, VgpuCtx *ctx, VgpuStream *s,
                        VgpuWorkKind kind)
{
    VgpuWork *w = srv->free_work;

    if (w) {
        srv->free_work = w->next;
        srv->nfree_work--;
        /* the params tail is written before use; skip clearing it */
        memset(w, 0, offsetof(VgpuWork, params));
    } else {
        w = malloc(sizeof(*w));
        if (!w) {
            return NULL;
        }
        memset(w, 0, offsetof(VgpuWork, params));
    }
    w->ctx = ctx;
    w->stream = s;
    w->kind = (uint8_t)kind;
    w->xi.opaque = srv;
    w->xi.done = work_done_cb;
    s->refs++;
    return w;
}

static void work_drop_deps(VgpuWork *w)
{
    VgpuDep *d = w->xdeps ? w->xdeps : w->deps;

    for (unsigned i = 0; i < w->ndeps; i++) {
        vgpu_stream_put(d[i].stream);
    }
    free(w->xdeps);
    w->xdeps = NULL;
    w->ndeps = 0;
}

void vgpu_work_free(VgpuServer *srv, VgpuWork *w)
{
    work_drop_deps(w);
    if (w->event) {
        vgpu_event_put(w->event);
    }
    if (w->region) {
        vgpu_region_put(w->region);
    }
    if (w->release_host) {
        w->release_host(w->release_opaque);
    }
    free(w->iovs);
    free(w->buf);
    vgpu_stream_put(w->stream);
    if (srv->nfree_work < WORK_FREELIST_MAX) {
        w->next = srv->free_work;
        srv->free_work = w;
        srv->nfree_work++;
    } else {
        free(w);
    }
}

/**
 * vgpu_work_add_dep - make @w wait until stream @s completed its item @seq
 * (nothing if it already has); returns 0 or -ENOMEM
 */
int vgpu_work_add_dep(VgpuWork *w, VgpuStream *s, uint64_t seq)
{
    VgpuDep *d;

    if (s->done_seq >= seq) {
        return 0;
    }
    if (w->ndeps < VGPU_WORK_DEPS && !w->xdeps) {
        d = &w->deps[w->ndeps];
    } else {
        if (!w->xdeps) {
            w->xdeps = malloc(sizeof(*w->xdeps) * (w->ndeps + 1u));
            if (!w->xdeps) {
                return -ENOMEM;
            }
            memcpy(w->xdeps, w->deps, sizeof(*w->deps) * w->ndeps);
        } else {
            VgpuDep *n = realloc(w->xdeps, sizeof(*n) * (w->ndeps + 1u));

            if (!n) {
                return -ENOMEM;
            }
            w->xdeps = n;
        }
        d = &w->xdeps[w->ndeps];
    }
    d->stream = s;
    d->seq = seq;
    s->refs++;
    w->ndeps++;
    return 0;
}

/* True when every dependency of @w completed; drops them then. */
static bool work_deps_done(VgpuWork *w)
{
    VgpuDep *d = w->xdeps ? w->xdeps : w->deps;

    for (unsigned i = 0; i < w->ndeps; i++) {
        if (d[i].stream->done_seq < d[i].seq) {
            return false;
        }
    }
    work_drop_deps(w);
    return true;
}

bool vgpu_stream_busy(const VgpuStream *s)
{
    return s->enq_seq != s->done_seq;
}

/**
 * vgpu_work_enqueue - queue @w on its stream (stream order, legacy default
 * stream semantics) and release what can run
 *
 * Work on the legacy default stream waits for all earlier work of the
 * context's blocking streams, and work on a blocking stream waits for
 * earlier default-stream work, as CUDA's legacy default stream does;
 * CU_STREAM_NON_BLOCKING streams take part in neither.
 */
void vgpu_work_enqueue(VgpuServer *srv, VgpuWork *w)
{
    VgpuStream *s = w->stream;
    VgpuCtx *ctx = w->ctx;
    int err = 0;

    if (s == &ctx->def) {
        for (VgpuStream *t = ctx->streams; t; t = t->next) {
            if (!(t->flags & VGPU_CU_STREAM_NON_BLOCKING) && vgpu_stream_busy(t)) {
                err |= vgpu_work_add_dep(w, t, t->enq_seq);
            }
        }
    } else if (!(s->flags & VGPU_CU_STREAM_NON_BLOCKING) &&
               vgpu_stream_busy(&ctx->def)) {
        err |= vgpu_work_add_dep(w, &ctx->def, ctx->def.enq_seq);
    }
    if (err) {
        /* cannot track the order: fail the item rather than reorder */
        w->status = VGPU_S_OUT_OF_MEMORY;
        w->cancelled = true;
    }
    /* a transport's resources (a guest's descriptor chain) wait on it too */
    if (w->reply || w->kind != VGPU_WORK_EXEC || w->ndeps ||
        w->release_host) {
        w->urgent = true;
        srv->nurgent++;
    }
    s->enq_seq++;
    w->next = NULL;
    if (s->pend_tail) {
        s->pend_tail->next = w;
    } else {
        s->pend_head = w;
    }
    s->pend_tail = w;
    ctx->outstanding++;
    ctx->tenant->outstanding++;
    vgpu_ctx_kick(ctx);
}

static void released_append(VgpuStream *s, VgpuWork *w)
{
    w->next = NULL;
    if (s->fl_tail) {
        s->fl_tail->next = w;
    } else {
        s->fl_head = w;
    }
    s->fl_tail = w;
}

static void disp_append(VgpuStream *s, VgpuWork *w)
{
    w->next = NULL;
    if (s->disp_tail) {
        s->disp_tail->next = w;
    } else {
        s->disp_head = w;
    }
    s->disp_tail = w;
}

/* Unlinks @w from the dispatcher list of @s (normally its head). */
static void disp_unlink(VgpuStream *s, VgpuWork *w)
{
    VgpuWork **pp = &s->disp_head, *prev = NULL;

    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = w->next;
        if (s->disp_tail == w) {
            s->disp_tail = prev;
        }
    }
    w->next = NULL;
}

/*
 * Large copies (above VGPU_COPY_CHUNK_BYTES) stay one work item for stream
 * order, replies, errors and buffer release, but reach the executor one
 * chunk at a time (VGPU_COPY_CHUNK_BYTES, or VGPU_COPY_CHUNK_SOLO_BYTES
 * while no other tenant uses the engine class, as the policy says):
 * xi.u.copy describes the current chunk, a slice of the copy's own iovec
 * array trimmed in place (no allocation per chunk) and restored when the
 * chunk finished.  After a chunk the item goes back to
 * the run queue, so the scheduler charges and orders each chunk on its own
 * and a copy never holds an engine for long; the stream releases nothing
 * behind it (s->chunking) until its last chunk was submitted.
 */

/* Trims the copy's iovecs to its next chunk and points xi.u.copy at it. */
static void copy_chunk_prepare(VgpuWork *w)
{
    struct iovec *v = w->cp_iov;
    uint64_t want = w->cp_size - w->cp_off, sum = 0;
    uint64_t most = vgpu_runq_chunk_bytes(w->ctx->tenant->srv, w);
    unsigned j;

    if (want > most) {
        want = most;
    }
    w->cp_first = v[w->cp_idx];
    v[w->cp_idx].iov_base = (uint8_t *)v[w->cp_idx].iov_base + w->cp_ioff;
    v[w->cp_idx].iov_len -= w->cp_ioff;
    for (j = w->cp_idx; ; j++) {
        sum += v[j].iov_len;
        if (sum >= want || j + 1 == w->cp_iovcnt) {
            break;
        }
    }
    w->cp_last = j;
    w->cp_last_len = v[j].iov_len;
    if (sum > want) {
        v[j].iov_len -= sum - want;
    }
    w->cp_sliced = true;
    w->xi.u.copy.dptr = w->cp_dptr + w->cp_off;
    w->xi.u.copy.size = want;
    w->xi.u.copy.iov = &v[w->cp_idx];
    w->xi.u.copy.iovcnt = j - w->cp_idx + 1;
}

/* Undoes the trimming; with @advance, moves the cursor past the chunk. */
static void copy_chunk_restore(VgpuWork *w, bool advance)
{
    struct iovec *v = w->cp_iov;
    uint64_t used;

    if (!w->cp_sliced) {
        return;
    }
    /* bytes of the last entry the chunk used, from its original start */
    used = v[w->cp_last].iov_len;
    if (w->cp_last == w->cp_idx) {
        used += w->cp_ioff;
    }
    v[w->cp_last].iov_len = w->cp_last_len;
    v[w->cp_idx] = w->cp_first;
    w->cp_sliced = false;
    if (!advance) {
        return;
    }
    w->cp_off += w->xi.u.copy.size;
    if (used >= v[w->cp_last].iov_len) {
        w->cp_idx = w->cp_last + 1;
        w->cp_ioff = 0;
    } else {
        w->cp_idx = w->cp_last;
        w->cp_ioff = used;
    }
}

/* Sets @w (a copy being released) up for chunked dispatch if it is large. */
static bool copy_chunk_start(VgpuWork *w)
{
    struct iovec *v = w->iovs ? w->iovs : &w->iov;

    if ((w->xi.kind != VGPU_ITEM_HTOD && w->xi.kind != VGPU_ITEM_DTOH) ||
        w->xi.u.copy.size <= VGPU_COPY_CHUNK_BYTES ||
        w->xi.u.copy.iov != v || !w->xi.u.copy.iovcnt) {
        return false;
    }
    w->cp_dptr = w->xi.u.copy.dptr;
    w->cp_size = w->xi.u.copy.size;
    w->cp_iov = v;
    w->cp_iovcnt = w->xi.u.copy.iovcnt;
    w->cp_off = 0;
    w->cp_idx = 0;
    w->cp_ioff = 0;
    copy_chunk_prepare(w);
    return true;
}

/* Points xi.u.copy at the whole copy again (the reply reads its size). */
static void copy_chunk_finish(VgpuWork *w)
{
    copy_chunk_restore(w, false);
    w->xi.u.copy.dptr = w->cp_dptr;
    w->xi.u.copy.size = w->cp_size;
    w->xi.u.copy.iov = w->cp_iov;
    w->xi.u.copy.iovcnt = w->cp_iovcnt;
}

/*
 * A chunk of @w (the head of its stream's released list) finished: when it
 * succeeded and bytes remain, account for it and queue the next chunk with
 * the policy.  Returns false when @w is to complete now (its last chunk, a
 * failed chunk, or a context that can no longer run it).
 */
static bool copy_chunk_continue(VgpuServer *srv, VgpuWork *w)
{
    VgpuStream *s = w->stream;
    VgpuCtx *ctx = w->ctx;
    VgpuAcct *a = ctx->tenant->acct;

    if (!w->cp_size) {
        return false;
    }
    w->cp_running = false;
    if (w->cancelled || w->status != VGPU_S_OK) {
        return false;
    }
    copy_chunk_restore(w, true);
    if (w->cp_off >= w->cp_size) {
        return false;
    }
    srv->inflight--;
    srv->policy->completed(srv->policy_data, w);
    vgpu_acct_charge(a, w->gpu_ns, w->t_done);
    a->items--;     /* the tenant's item count counts copies, not chunks */
    if (w->t_done > s->last_done_ns) {
        s->last_done_ns = w->t_done;
    }
    if (ctx->sticky || !ctx->tenant->conn) {
        /* the rest never runs: complete it as cancelled, in order */
        w->cancelled = true;
        return false;
    }
    s->fl_head = w->next;
    if (!s->fl_head) {
        s->fl_tail = NULL;
    }
    copy_chunk_prepare(w);
    s->ndisp++;
    s->disp_engine = w->engine;
    w->pred_ns = 0;
    disp_append(s, w);
    /* submitted now if the policy already picked its place, else queued */
    vgpu_runq_chunk_next(srv, w);
    return true;
}

/*
 * Finishes @w, the head of its stream's released list: counters, sticky and
 * deferred errors, event state, the reply.  Frees @w.
 */
static void work_complete(VgpuServer *srv, VgpuWork *w)
{
    VgpuStream *s = w->stream;
    VgpuCtx *ctx = w->ctx;
    int st = w->status;

    s->fl_head = w->next;
    if (!s->fl_head) {
        s->fl_tail = NULL;
    }
    if (s->chunking == w) {
        s->chunking = NULL;
    }
    if (w->cp_size) {
        copy_chunk_finish(w);
        /* a copy that ends early gives back its next chunk's place */
        vgpu_runq_chunk_cancel(srv, w);
    }
    if (w->kind == VGPU_WORK_EXEC && !w->cancelled) {
        srv->inflight--;
        vgpu_runq_completed(srv, w);
        if (w->t_done > s->last_done_ns) {
            s->last_done_ns = w->t_done;
        }
        if (st != VGPU_S_OK) {
            if (vgpu_status_is_sticky(st)) {
                if (!ctx->sticky) {
                    ctx->sticky = st;
                    VGPU_LOG_RL(VGPU_LOG_WARN,
                                "tenant %s: context fault %d, context poisoned",
                                ctx->tenant->name, st);
                }
            } else if (!w->reply && !ctx->deferred) {
                ctx->deferred = st;
            }
        }
    } else if (w->kind == VGPU_WORK_RECORD) {
        VgpuEvent *e = w->event;
        uint64_t ts = s->last_done_ns > w->t_release ? s->last_done_ns
                                                     : w->t_release;

        if (!w->cancelled) {
            s->last_done_ns = ts;
        }
        if (e->gen == w->event_gen) {
            e->done = true;
            e->ts = ts;
        }
    }
    if (w->cancelled && st == VGPU_S_OK) {
        st = ctx->sticky ? ctx->sticky : VGPU_S_INVALID_CONTEXT;
    }
    if (w->urgent) {
        srv->nurgent--;
    }
    s->done_seq++;
    ctx->outstanding--;
    ctx->tenant->outstanding--;
    if (w->reply) {
        vgpu_work_reply(srv, w, st);
    }
    vgpu_work_free(srv, w);
}

/* Completes host items and cancelled items at the head of @s, in order. */
static bool stream_complete_heads(VgpuServer *srv, VgpuStream *s)
{
    bool progress = false;

    while (s->fl_head &&
           (s->fl_head->kind != VGPU_WORK_EXEC || s->fl_head->cancelled)) {
        work_complete(srv, s->fl_head);
        progress = true;
    }
    return progress;
}

/* Releases the pending head of @s while it can go; returns progress. */
static bool stream_release(VgpuServer *srv, VgpuStream *s)
{
    VgpuCtx *ctx = s->ctx;
    bool progress = false;

    /* nothing passes a copy whose chunks are still being dispatched */
    while (s->pend_head && !s->chunking) {
        VgpuWork *w = s->pend_head;
        bool cancel = ctx->sticky || !ctx->tenant->conn || w->cancelled;

        if (s->ndisp &&
            (cancel || w->ndeps ||
             (w->kind == VGPU_WORK_EXEC ?
              w->engine != s->disp_engine ||
              s->ndisp >= VGPU_STREAM_DISP_MAX ||
              s->disp_pred_ns >= VGPU_STREAM_DISP_NS :
              w->kind != VGPU_WORK_RECORD))) {
            /*
             * Only same-class executor work, and the event records between
             * it (a launch-record-launch stream), may queue behind the
             * dispatcher: the policy keeps one class's items in order.
             */
            break;
        }
        if (!cancel && w->ndeps && !work_deps_done(w)) {
            break;
        }
        s->pend_head = w->next;
        if (!s->pend_head) {
            s->pend_tail = NULL;
        }
        progress = true;
        if (cancel) {
            w->cancelled = true;
            released_append(s, w);
        } else if (w->kind == VGPU_WORK_EXEC) {
            s->ndisp++;
            s->disp_engine = w->engine;
            w->pred_ns = 0;
            if (copy_chunk_start(w)) {
                /* set before the policy may submit its first chunk */
                s->chunking = w;
            }
            disp_append(s, w);
            vgpu_runq_ready(srv, w);
        } else if (s->ndisp) {
            /* a record behind queued work: released when that was submitted */
            disp_append(s, w);
        } else {
            w->t_release = vgpu_now_ns();
            released_append(s, w);
        }
        stream_complete_heads(srv, s);
    }
    return progress;
}

/**
 * vgpu_work_submit - hand @w (released, picked by the run-queue policy) to
 * the executor
 */
void vgpu_work_submit(VgpuServer *srv, VgpuWork *w)
{
    VgpuStream *s = w->stream;
    bool last = !w->cp_size ||
                w->cp_off + w->xi.u.copy.size >= w->cp_size;
    int st;

    if (last && s->chunking == w) {
        /* the stream may release what follows the copy now */
        s->chunking = NULL;
    }
    s->ndisp--;
    s->disp_pred_ns = s->ndisp && s->disp_pred_ns > w->pred_ns ?
                      s->disp_pred_ns - w->pred_ns : 0;
    disp_unlink(s, w);
    released_append(s, w);
    srv->inflight++;
    __atomic_add_fetch(&srv->cq_running, 1, __ATOMIC_RELAXED);
    w->xi.stream = s->es;
    w->cp_running = w->cp_size != 0;
    st = srv->ops->submit(w->ctx->ec, &w->xi);
    if (st != VGPU_S_OK) {
        /* complete through the normal path so order is kept */
        w->xi.done(&w->xi, st, 0);
    } else if (!last) {
        /* its next chunk waits with the policy while this one runs */
        vgpu_runq_chunk_ahead(srv, w);
    }
    /* records that followed it are released now, in stream order */
    while (s->disp_head && s->disp_head->kind != VGPU_WORK_EXEC) {
        VgpuWork *r = s->disp_head;

        s->disp_head = r->next;
        if (!s->disp_head) {
            s->disp_tail = NULL;
        }
        r->t_release = vgpu_now_ns();
        released_append(s, r);
    }
    /* the next head of this stream may go to the run queue now */
    stream_release(srv, s);
}

static VgpuStream *ctx_next_stream(VgpuCtx *ctx, VgpuStream *s)
{
    return s == &ctx->def ? ctx->streams : s->next;
}

/**
 * vgpu_ctx_kick - release and complete what can go on every stream of
 * @ctx, until nothing moves
 *
 * Cancellation (a poisoned context, a departed client) also pulls the
 * context's items back out of the run queue.
 */
void vgpu_ctx_kick(VgpuCtx *ctx)
{
    VgpuServer *srv = ctx->tenant->srv;
    bool progress;

    if ((ctx->sticky || !ctx->tenant->conn)) {
        /* the policy's items are on their streams' dispatcher lists too */
        VgpuWork *w = vgpu_runq_remove_ctx(srv, ctx);

        while (w) {
            VgpuWork *n = w->qnext;

            w->qnext = NULL;
            w = n;
        }
        for (VgpuStream *s = &ctx->def; s; s = ctx_next_stream(ctx, s)) {
            while (s->disp_head) {
                w = s->disp_head;
                s->disp_head = w->next;
                w->cancelled = true;
                released_append(s, w);
            }
            s->disp_tail = NULL;
            s->ndisp = 0;
            s->disp_pred_ns = 0;
        }
    }
    do {
        progress = false;
        for (VgpuStream *s = &ctx->def, *n; s; s = n) {
            n = ctx_next_stream(ctx, s);
            progress |= stream_release(srv, s);
            progress |= stream_complete_heads(srv, s);
        }
    } while (progress);
}

/* Executor threads: record the result and wake the loop thread. */
static void work_done_cb(VgpuExecItem *xi, int status, uint64_t gpu_ns)
{
    VgpuWork *w = container_of(xi, VgpuWork, xi);
    VgpuServer *srv = xi->opaque;
    bool wake = false;
    uint64_t running;

    w->status = status;
    w->gpu_ns = gpu_ns;
    w->t_done = vgpu_now_ns();
    w->qnext = NULL;
    pthread_mutex_lock(&srv->cq_lock);
    if (srv->cq_tail) {
        srv->cq_tail->qnext = w;
    } else {
        srv->cq_head = w;
    }
    srv->cq_tail = w;
    srv->cq_len++;
    running = __atomic_sub_fetch(&srv->cq_running, 1, __ATOMIC_RELAXED);
    /*
     * Batch only while enough is still running to fill the batch: the
     * run queue refills the executor only after the loop thread drained,
     * so waiting for completions that will never come (a small dispatch
     * window, the last items of a flood) would stall the queue for good.
     * Waking once more finished than still runs keeps the window fed.
     */
    if (!srv->cq_signalled &&
        (srv->cq_prompt || srv->cq_len >= VGPU_CQ_BATCH ||
         running < srv->cq_len)) {
        srv->cq_signalled = true;
        wake = true;
    }
    pthread_mutex_unlock(&srv->cq_lock);
    if (wake) {
        uint64_t one = 1;

        /* eventfd writes only fail on counter overflow; nothing to do */
        if (write(srv->evfd, &one, sizeof(one)) < 0) {
            vgpu_debug("eventfd write: %s", strerror(errno));
        }
    }
}

/* Processes one batch taken from the completion queue. */
static void completions_process(VgpuServer *srv, VgpuWork *w)
{
    while (w) {
        VgpuWork *next = w->qnext;
        VgpuCtx *ctx = w->ctx;
        VgpuStream *s = w->stream;

        if (s->fl_head != w) {
            /* executors complete in submission order per stream */
            VgpuWork **pp = &s->fl_head, *prev = NULL;

            vgpu_error("executor completed out of stream order");
            while (*pp && *pp != w) {
                prev = *pp;
                pp = &(*pp)->next;
            }
            if (*pp) {
                *pp = w->next;
                if (s->fl_tail == w) {
                    s->fl_tail = prev;
                }
                w->next = s->fl_head;
                s->fl_head = w;
                if (!s->fl_tail) {
                    s->fl_tail = w;
                }
            }
        }
        if (!copy_chunk_continue(srv, w)) {
            work_complete(srv, w);
        }
        stream_complete_heads(srv, s);
        /* items of several contexts interleave; kick each as it comes */
        vgpu_ctx_kick(ctx);
        vgpu_ctx_check_waiters(ctx);
        w = next;
    }
}

/**
 * vgpu_completions_drain - process every completion executor threads
 * queued (complete items in stream order, release what waited on them,
 * answer waiters) until the queue is empty, then re-arm the eventfd
 *
 * Executor threads write the eventfd only when cq_signalled is false, and
 * it is set false only here, under the lock, once the queue was found
 * empty: while the loop thread is busy, completions pile up without a
 * syscall each, and the thread never sleeps on a non-empty queue.
 *
 * When nothing waits for a completion (no reply, waiter or dependency: a
 * flood of NO_REPLY launches) and the run-queue policy holds nothing back
 * (its dispatch window opens on completions), executors signal only every
 * VGPU_CQ_BATCH completions; a client paused by backpressure resumes at a
 * low mark far more than one batch below its high mark, so batches
 * suffice there too.  Whatever starts to wait later does so on the loop
 * thread, which drains before and after every wakeup and turns prompt
 * signalling back on before it sleeps.
 */
void vgpu_completions_drain(VgpuServer *srv)
{
    bool more;

    do {
        for (;;) {
            bool prompt = srv->nurgent || srv->nwaiters ||
                          vgpu_runq_queued(srv);
            VgpuWork *w;

            pthread_mutex_lock(&srv->cq_lock);
            w = srv->cq_head;
            srv->cq_head = srv->cq_tail = NULL;
            srv->cq_len = 0;
            if (!w) {
                srv->cq_signalled = false;
                srv->cq_prompt = prompt;
            }
            pthread_mutex_unlock(&srv->cq_lock);
            if (!w) {
                break;
            }
            completions_process(srv, w);
        }
        vgpu_runq_pump(srv);
        /* what the pump submitted may have completed at once (a refusal) */
        pthread_mutex_lock(&srv->cq_lock);
        more = srv->cq_head != NULL;
        pthread_mutex_unlock(&srv->cq_lock);
    } while (more);
    vgpu_reap_streams(srv);
}

/* The eventfd fired: clear its counter; the loop drains afterwards. */
void vgpu_completions_ack(VgpuServer *srv)
{
    uint64_t cnt;

    if (read(srv->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN) {
        vgpu_debug("eventfd read: %s", strerror(errno));
    }
}

/* ---- waiters ------------------------------------------------------------ */

void vgpu_ctx_add_waiter(VgpuCtx *ctx, VgpuWaiter *w)
{
    VgpuWaiter **pp = &ctx->waiters;

    while (*pp) {
        pp = &(*pp)->next;
    }
    w->next = NULL;
    *pp = w;
    ctx->tenant->srv->nwaiters++;
}

static bool waiter_ready(VgpuCtx *ctx, const VgpuWaiter *w)
{
    switch (w->kind) {
    case VGPU_WAIT_CTX_IDLE:
        return ctx->outstanding == 0;
    case VGPU_WAIT_STREAM:
        return w->stream->done_seq >= w->seq;
    }
    return false;
}

/**
 * vgpu_ctx_check_waiters - run the waiters of @ctx whose condition holds
 *
 * A waiter marked frees_ctx (CTX_DESTROY, a departed client) frees the
 * context; nothing touches @ctx after it ran.  Waiters are freed here.
 */
void vgpu_ctx_check_waiters(VgpuCtx *ctx)
{
    bool again = true;

    while (again && ctx->waiters) {
        VgpuWaiter **pp;

        again = false;
        for (pp = &ctx->waiters; *pp; pp = &(*pp)->next) {
            VgpuWaiter *w = *pp;

            if (waiter_ready(ctx, w)) {
                *pp = w->next;
                ctx->tenant->srv->nwaiters--;
                if (w->frees_ctx) {
                    w->fn(ctx, w);
                    free(w);
                    return;
                }
                w->fn(ctx, w);
                if (w->stream) {
                    vgpu_stream_put(w->stream);
                }
                free(w);
                again = true;
                break;
            }
        }
    }
}
