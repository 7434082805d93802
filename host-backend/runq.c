/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runq.c - the dispatcher seam between stream order and the executor: ready
 * items of all tenants go through one policy that decides which is
 * submitted next.  The built-in policy is FIFO; a fair-share scheduler
 * plugs in by supplying another VgpuRunqPolicy.
 */
#include <stdlib.h>

#include "vgpud.h"

typedef struct FifoRunq {
    VgpuWork *head, *tail;
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
        } else {
            prev = w;
            pp = &w->qnext;
        }
    }
    q->tail = prev;
    return out;
}

const VgpuRunqPolicy vgpu_runq_fifo = {
    .name = "fifo",
    .create = fifo_create,
    .destroy = fifo_destroy,
    .enqueue = fifo_enqueue,
    .pick = fifo_pick,
    .completed = fifo_completed,
    .remove_ctx = fifo_remove_ctx,
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
    vgpu_runq_pump(srv);
}

/**
 * vgpu_runq_completed - @w, submitted earlier, finished with cost w->gpu_ns
 *
 * The caller pumps once after a batch of completions.
 */
void vgpu_runq_completed(VgpuServer *srv, VgpuWork *w)
{
    srv->policy->completed(srv->policy_data, w);
}

/* Takes every queued (not yet submitted) item of @ctx out of the policy. */
VgpuWork *vgpu_runq_remove_ctx(VgpuServer *srv, VgpuCtx *ctx)
{
    return srv->policy->remove_ctx(srv->policy_data, ctx);
}
