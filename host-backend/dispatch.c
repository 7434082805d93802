/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dispatch.c - one table from command to handler, the handlers, and reply
 * construction.  Handlers receive a request vgpu_decode() validated; the
 * default arm answers VGPU_S_NOT_SUPPORTED.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"

#define MAX_CTX_PER_TENANT 64

typedef void (*Handler)(VgpuConn *c, VgpuReq *r);

/* ---- replies ------------------------------------------------------------ */

/**
 * vgpu_reply - send @hdr (a reply structure of @len bytes) plus @data
 * @ctx: the context the reply concerns, for VGPU_RESP_F_OUTPUT; may be NULL
 */
void vgpu_reply(VgpuConn *c, VgpuCtx *ctx, struct vgpu_resp_hdr *hdr,
                size_t len, int status, uint64_t seq,
                const void *data, size_t dlen)
{
    if (!c) {
        return;
    }
    hdr->status = (uint32_t)status;
    hdr->seq = seq;
    hdr->len = (uint32_t)(len + dlen);
    hdr->reserved = 0;
    hdr->flags = 0;
    if (ctx && __atomic_load_n(&ctx->out_len, __ATOMIC_RELAXED)) {
        hdr->flags |= VGPU_RESP_F_OUTPUT;
    }
    if (status != VGPU_S_OK && status != VGPU_S_NOT_READY) {
        c->tenant->errors++;
        c->tenant->acct->errors++;
    }
    c->ops->reply(c, hdr, len, data, dlen);
}

void vgpu_reply_status(VgpuConn *c, VgpuCtx *ctx, uint64_t seq, int status)
{
    struct vgpu_resp_hdr h;

    vgpu_reply(c, ctx, &h, sizeof(h), status, seq, NULL, 0);
}

/**
 * vgpu_ctx_take_error - the status a synchronizing command of @ctx returns:
 * the sticky fault, else the deferred error (which it clears), else OK
 */
int vgpu_ctx_take_error(VgpuCtx *ctx)
{
    int st;

    if (ctx->sticky) {
        return ctx->sticky;
    }
    st = ctx->deferred;
    ctx->deferred = VGPU_S_OK;
    return st;
}

/* Completion-time reply of a work item (sync memcpy, STREAM_SYNC). */
void vgpu_work_reply(VgpuServer *srv, VgpuWork *w, int status)
{
    VgpuConn *c = w->ctx->tenant->conn;
    struct vgpu_resp_hdr h;

    (void)srv;
    if (!c) {
        return;
    }
    if (status == VGPU_S_OK) {
        status = vgpu_ctx_take_error(w->ctx);
    }
    if (status == VGPU_S_OK && w->cmd == VGPU_CMD_MEMCPY_DTOH && w->buf) {
        vgpu_reply(c, w->ctx, &h, sizeof(h), status, w->seq, w->buf,
                   w->xi.u.copy.size);
        return;
    }
    vgpu_reply(c, w->ctx, &h, sizeof(h), status, w->seq, NULL, 0);
}

/* ---- waiters that answer ------------------------------------------------ */

static VgpuWaiter *waiter_new(VgpuReq *r, void (*fn)(VgpuCtx *, VgpuWaiter *))
{
    VgpuWaiter *w = calloc(1, sizeof(*w));

    if (w) {
        w->kind = VGPU_WAIT_CTX_IDLE;
        w->fn = fn;
        w->cmd = r->cmd;
        w->req_seq = r->seq;
    }
    return w;
}

static void wait_reply_error(VgpuCtx *ctx, VgpuWaiter *w)
{
    vgpu_reply_status(ctx->tenant->conn, ctx, w->req_seq,
                      vgpu_ctx_take_error(ctx));
}

static void wait_ctx_destroyed(VgpuCtx *ctx, VgpuWaiter *w)
{
    VgpuConn *c = ctx->tenant->conn;
    uint64_t seq = w->req_seq;

    vgpu_ctx_free(ctx);
    vgpu_reply_status(c, NULL, seq, VGPU_S_OK);
}

static void wait_mem_free(VgpuCtx *ctx, VgpuWaiter *w)
{
    VgpuServer *srv = ctx->tenant->srv;
    int st = srv->ops->mem_free(ctx->ec, w->arg);

    vgpu_reply_status(ctx->tenant->conn, ctx, w->req_seq, st);
}

static void wait_module_unload(VgpuCtx *ctx, VgpuWaiter *w)
{
    vgpu_module_free(w->ptr);
    vgpu_reply_status(ctx->tenant->conn, ctx, w->req_seq, VGPU_S_OK);
}

/* Queues @w on @ctx, or answers out of memory. */
static void add_waiter(VgpuConn *c, VgpuReq *r, VgpuWaiter *w)
{
    if (!w) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    vgpu_ctx_add_waiter(r->ctx, w);
    vgpu_ctx_check_waiters(r->ctx);
}

/* ---- handlers ----------------------------------------------------------- */

static void h_nop(VgpuConn *c, VgpuReq *r)
{
    vgpu_reply_status(c, NULL, r->seq, VGPU_S_OK);
}

/*
 * HELLO: a local client joins the named tenant (env VGPU_TENANT) before it
 * creates a context; its weight, cap, quota and accounting are the
 * tenant's from then on.
 */
static void h_hello(VgpuConn *c, VgpuReq *r)
{
    int st = vgpu_tenant_join(c->tenant, r->u.hello.name);

    if (st != VGPU_S_OK) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "tenant %s: HELLO '%s' refused: %d",
                    c->tenant->name, r->u.hello.name, st);
    }
    vgpu_reply_status(c, NULL, r->seq, st);
}

/* A fraction in [0, 1] (a cap, a share) as parts per million. */
static uint32_t to_ppm(double x)
{
    if (!(x > 0)) {
        return 0;
    }
    return x >= 1 ? 1000000u : (uint32_t)(x * 1e6 + 0.5);
}

/*
 * TENANT_INFO: the figures "list" shows on the admin socket, of the
 * caller's own named tenant only (a VM, or the tenant a local client joined
 * with HELLO); the request has no way to name another.
 */
static void h_tenant_info(VgpuConn *c, VgpuReq *r)
{
    struct vgpu_resp_tenant_info ti = { 0 };
    VgpuAcct *a = c->tenant->acct;
    VgpuAcctFigures f;

    if (!a) {
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_NOT_INITIALIZED);
        return;
    }
    vgpu_acct_figures(c->tenant->srv, a, vgpu_now_ns(), &f);
    snprintf((char *)ti.name, sizeof(ti.name), "%s", a->name);
    ti.weight_milli = a->weight > 0 ? (uint64_t)(a->weight * 1000 + 0.5) : 0;
    ti.cap_ppm = to_ppm(a->cap);
    ti.share_1s_ppm = to_ppm(f.share_1s);
    ti.share_10s_ppm = to_ppm(f.share_10s);
    ti.contexts = f.contexts;
    ti.gpu_ns = a->gpu_ns;
    ti.mem_used = a->mem_used;
    ti.mem_quota = a->mem_quota;
    ti.queue_depth = f.queued;
    ti.errors = a->errors;
    vgpu_reply(c, NULL, &ti.hdr, sizeof(ti), VGPU_S_OK, r->seq, NULL, 0);
}

/**
 * vgpu_device_features - the VGPU_F_* bits this vgpud offers
 * @srv: the server (its executor decides VGPU_F_PRINTF)
 * @sg: the transport translates guest-physical tables (vhost-user)
 *
 * One place for GET_INFO and the vhost-user feature negotiation, so the
 * two cannot disagree.
 */
uint64_t vgpu_device_features(const VgpuServer *srv, bool sg)
{
    uint64_t f = 1ull << VGPU_F_NO_REPLY;

    if (sg) {
        f |= 1ull << VGPU_F_SG_INDIRECT;
    }
    if (srv->ops->forwards_printf) {
        f |= 1ull << VGPU_F_PRINTF;
    }
    return f;
}

static void h_get_info(VgpuConn *c, VgpuReq *r)
{
    VgpuServer *srv = c->tenant->srv;
    struct vgpu_resp_info *ri = calloc(1, sizeof(*ri));

    if (!ri) {
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    ri->version = VGPU_PROTOCOL_VERSION;
    ri->driver_version = (uint32_t)srv->info.driver_version;
    ri->total_mem = srv->info.total_mem;
    if (vgpu_tenant_mem_quota(c->tenant) &&
        vgpu_tenant_mem_quota(c->tenant) < ri->total_mem) {
        ri->total_mem = vgpu_tenant_mem_quota(c->tenant);
    }
    ri->features = vgpu_device_features(srv, c->ops->map_sg != NULL);
    memcpy(ri->name, srv->info.name, sizeof(ri->name));
    ri->name[sizeof(ri->name) - 1] = 0;
    memcpy(ri->uuid, srv->info.uuid, sizeof(ri->uuid));
    for (int i = 0; i < VGPU_NUM_ATTRS; i++) {
        ri->attrs[i] = (uint32_t)srv->info.attrs[i];
    }
    vgpu_reply(c, NULL, &ri->hdr, sizeof(*ri), VGPU_S_OK, r->seq, NULL, 0);
    free(ri);
}

static void h_ctx_create(VgpuConn *c, VgpuReq *r)
{
    struct vgpu_resp_id rid = { 0 };
    VgpuCtx *ctx;
    int st;

    if (c->tenant->nctx >= MAX_CTX_PER_TENANT) {
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    st = vgpu_ctx_create(c->tenant, &ctx);
    if (st) {
        vgpu_reply_status(c, NULL, r->seq, st);
        return;
    }
    rid.id = ctx->id;
    vgpu_reply(c, ctx, &rid.hdr, sizeof(rid), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_ctx_destroy(VgpuConn *c, VgpuReq *r)
{
    VgpuWaiter *w = waiter_new(r, wait_ctx_destroyed);

    if (!w) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    vgpu_ctx_destroy_begin(r->ctx, w);
    vgpu_ctx_check_waiters(r->ctx);
}

static void h_ctx_sync(VgpuConn *c, VgpuReq *r)
{
    add_waiter(c, r, waiter_new(r, wait_reply_error));
}

static void h_mem_alloc(VgpuConn *c, VgpuReq *r)
{
    VgpuTenant *t = c->tenant;
    VgpuServer *srv = t->srv;
    struct vgpu_resp_mem rm = { 0 };
    VgpuAlloc a = { 0 };
    uint64_t dptr;
    int st;

    /* charged first: the quota holds across all the tenant's clients */
    if (vgpu_tenant_mem_charge(t, r->u.alloc.size) < 0) {
        VGPU_LOG_RL(VGPU_LOG_INFO, "tenant %s: allocation of %" PRIu64
                    " bytes past its quota of %" PRIu64, t->acct->name,
                    r->u.alloc.size, t->acct->mem_quota);
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    st = srv->ops->mem_alloc(r->ctx->ec, r->u.alloc.size, &dptr);
    if (st) {
        vgpu_tenant_mem_uncharge(t, r->u.alloc.size);
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    a.base = dptr;
    a.size = r->u.alloc.size;
    st = vgpu_allocs_insert(&r->ctx->allocs, &a);
    if (st) {
        srv->ops->mem_free(r->ctx->ec, dptr);
        vgpu_tenant_mem_uncharge(t, r->u.alloc.size);
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    t->nallocs++;
    rm.dptr = dptr;
    rm.size = a.size;
    vgpu_reply(c, r->ctx, &rm.hdr, sizeof(rm), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_mem_free(VgpuConn *c, VgpuReq *r)
{
    VgpuWaiter *w = waiter_new(r, wait_mem_free);
    VgpuAlloc a;

    if (!w) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    /*
     * The range stops validating now; the executor frees it once work
     * queued before this request (which may use it) completed.
     */
    vgpu_allocs_remove(&r->ctx->allocs, r->u.free.dptr, &a);
    vgpu_tenant_mem_uncharge(c->tenant, a.size);
    c->tenant->nallocs--;
    w->arg = r->u.free.dptr;
    add_waiter(c, r, w);
}

static void h_mem_get_info(VgpuConn *c, VgpuReq *r)
{
    VgpuTenant *t = c->tenant;
    struct vgpu_resp_mem_info mi = { 0 };
    uint64_t free_b, total;

    t->srv->ops->mem_get_info(t->srv->exec, &free_b, &total);
    if (t->acct->mem_quota) {
        /* the tenant's quota, shared by all its clients, is its device */
        VgpuAcct *ac = t->acct;
        uint64_t left = ac->mem_quota > ac->mem_used ?
                        ac->mem_quota - ac->mem_used : 0;

        total = total < ac->mem_quota ? total : ac->mem_quota;
        free_b = free_b < left ? free_b : left;
    }
    mi.free = free_b;
    mi.total = total;
    vgpu_reply(c, r->ctx, &mi.hdr, sizeof(mi), VGPU_S_OK, r->seq, NULL, 0);
}

/* Queues @w, answering the request now if the item does not. */
static void enqueue_work(VgpuConn *c, VgpuReq *r, VgpuWork *w,
                         bool reply_on_completion)
{
    bool no_reply = r->flags & VGPU_REQ_F_NO_REPLY;

    w->cmd = r->cmd;
    w->seq = r->seq;
    w->reply = reply_on_completion && !no_reply;
    vgpu_work_enqueue(c->tenant->srv, w);
    if (!reply_on_completion && !no_reply) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
    }
}

static VgpuWork *new_work(VgpuConn *c, VgpuReq *r, VgpuWorkKind kind)
{
    VgpuWork *w = vgpu_work_new(c->tenant->srv, r->ctx, r->stream, kind);

    if (!w) {
        if (r->flags & VGPU_REQ_F_NO_REPLY) {
            if (!r->ctx->deferred) {
                r->ctx->deferred = VGPU_S_OUT_OF_MEMORY;
            }
        } else {
            vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        }
    }
    return w;
}

static void h_memcpy(VgpuConn *c, VgpuReq *r)
{
    bool htod = r->cmd == VGPU_CMD_MEMCPY_HTOD;
    VgpuHostMem *h = &r->u.copy.host;
    uint64_t size = r->u.copy.size;
    VgpuWork *w;

    if (size == 0) {
        if (!(r->flags & VGPU_REQ_F_NO_REPLY)) {
            vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
        }
        return;
    }
    w = new_work(c, r, VGPU_WORK_EXEC);
    if (!w) {
        return;
    }
    w->xi.kind = htod ? VGPU_ITEM_HTOD : VGPU_ITEM_DTOH;
    w->engine = htod ? VGPU_ENGINE_COPY_H2D : VGPU_ENGINE_COPY_D2H;
    w->xi.u.copy.dptr = r->u.copy.dptr;
    w->xi.u.copy.size = size;
    if (h->is_inline) {
        w->buf = malloc(size);
        if (!w->buf) {
            w->status = VGPU_S_OUT_OF_MEMORY;
            w->cancelled = true;
        } else if (htod) {
            /* the request buffer is reused once this returns */
            memcpy(w->buf, h->inline_data, size);
        }
        w->iov.iov_base = w->buf;
        w->iov.iov_len = size;
        w->xi.u.copy.iov = &w->iov;
        w->xi.u.copy.iovcnt = 1;
    } else if (h->iovs) {
        w->iovs = h->iovs;
        h->iovs = NULL;
        w->xi.u.copy.iov = w->iovs;
        w->xi.u.copy.iovcnt = h->iovcnt;
        w->release_host = h->release;
        w->release_opaque = h->release_opaque;
        h->release = NULL;
    } else {
        w->region = h->region;
        h->region = NULL;
        w->release_host = h->release;
        w->release_opaque = h->release_opaque;
        h->release = NULL;
        w->iov = h->iov1;
        w->xi.u.copy.iov = &w->iov;
        w->xi.u.copy.iovcnt = 1;
    }
    enqueue_work(c, r, w, true);
}

static void h_dtod(VgpuConn *c, VgpuReq *r)
{
    VgpuWork *w;

    if (r->u.dtod.size == 0) {
        if (!(r->flags & VGPU_REQ_F_NO_REPLY)) {
            vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
        }
        return;
    }
    w = new_work(c, r, VGPU_WORK_EXEC);
    if (!w) {
        return;
    }
    w->xi.kind = VGPU_ITEM_DTOD;
    w->engine = VGPU_ENGINE_COMPUTE;
    w->xi.u.dtod.dst = r->u.dtod.dst;
    w->xi.u.dtod.src = r->u.dtod.src;
    w->xi.u.dtod.size = r->u.dtod.size;
    enqueue_work(c, r, w, false);
}

static void h_memset(VgpuConn *c, VgpuReq *r)
{
    VgpuWork *w;

    if (r->u.memset.count == 0) {
        if (!(r->flags & VGPU_REQ_F_NO_REPLY)) {
            vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
        }
        return;
    }
    w = new_work(c, r, VGPU_WORK_EXEC);
    if (!w) {
        return;
    }
    w->xi.kind = VGPU_ITEM_MEMSET;
    w->engine = VGPU_ENGINE_COMPUTE;
    w->xi.u.memset.dptr = r->u.memset.dptr;
    w->xi.u.memset.count = r->u.memset.count;
    w->xi.u.memset.value = r->u.memset.value;
    w->xi.u.memset.elem_size = r->u.memset.elem;
    enqueue_work(c, r, w, false);
}

#define MAX_REGIONS_PER_TENANT 4096

static void h_region_register(VgpuConn *c, VgpuReq *r)
{
    VgpuServer *srv = c->tenant->srv;
    struct vgpu_resp_id rid = { 0 };
    VgpuRegion *reg;
    void *base;
    unsigned nregions = 0;
    int st;

    for (uint32_t i = 0; i < c->tenant->handles.n; i++) {
        nregions += c->tenant->handles.slots[i].obj &&
                    c->tenant->handles.slots[i].kind == VGPU_H_REGION;
    }
    if (nregions >= MAX_REGIONS_PER_TENANT) {
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    base = mmap(NULL, r->u.region_reg.size, PROT_READ | PROT_WRITE,
                MAP_SHARED, r->fd, 0);
    if (base == MAP_FAILED) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "tenant %s: region mmap failed: %m",
                    c->tenant->name);
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_INVALID_VALUE);
        return;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg) {
        munmap(base, r->u.region_reg.size);
        vgpu_reply_status(c, NULL, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    reg->tenant = c->tenant;
    reg->base = base;
    reg->size = r->u.region_reg.size;
    reg->refs = 1;
    /*
     * Pin it once for direct DMA where the backend can (cuda); a backend
     * that cannot still copies from it, through its own staging.
     */
    if (srv->ops->host_register &&
        srv->ops->host_register(srv->exec, base, reg->size) == VGPU_S_OK) {
        reg->pinned_by = srv;
    }
    st = vgpu_handle_alloc(&c->tenant->handles, VGPU_H_REGION, reg, &reg->id);
    if (st) {
        vgpu_region_put(reg);
        vgpu_reply_status(c, NULL, r->seq, st);
        return;
    }
    rid.id = reg->id;
    vgpu_reply(c, NULL, &rid.hdr, sizeof(rid), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_region_unregister(VgpuConn *c, VgpuReq *r)
{
    vgpu_handle_free(&c->tenant->handles, r->u.region_unreg.id);
    /* copies still using it keep the mapping until they complete */
    vgpu_region_put(r->u.region_unreg.region);
    vgpu_reply_status(c, NULL, r->seq, VGPU_S_OK);
}

#define MODULE_LOG_MAX 4096

static void h_module_load(VgpuConn *c, VgpuReq *r)
{
    VgpuServer *srv = c->tenant->srv;
    struct vgpu_resp_id rid = { 0 };
    const uint8_t *image = r->u.load.image;
    uint64_t size = r->u.load.size;
    uint8_t *copy = NULL;
    char *log = calloc(1, MODULE_LOG_MAX);
    VgpuExecModule *em;
    VgpuModule *m;
    int st;

    if (!log) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    if (r->u.load.kind == VGPU_IMAGE_PTX && image[size - 1] != '\0') {
        /* PTX is text; executors get it NUL-terminated */
        copy = malloc(size + 1);
        if (!copy) {
            free(log);
            vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
            return;
        }
        memcpy(copy, image, size);
        copy[size] = '\0';
        image = copy;
        size++;
    }
    st = srv->ops->module_load(r->ctx->ec, r->u.load.kind, image, size, &em,
                               log, MODULE_LOG_MAX);
    free(copy);
    if (st) {
        struct vgpu_resp_hdr h;

        log[MODULE_LOG_MAX - 1] = '\0';
        VGPU_LOG_RL(VGPU_LOG_INFO, "tenant %s: module load failed (%d): %.200s",
                    c->tenant->name, st, log);
        vgpu_reply(c, r->ctx, &h, sizeof(h), st, r->seq, log, strlen(log));
        free(log);
        return;
    }
    free(log);
    m = calloc(1, sizeof(*m));
    if (!m) {
        srv->ops->module_unload(em);
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    m->ctx = r->ctx;
    m->em = em;
    st = vgpu_handle_alloc(&c->tenant->handles, VGPU_H_MODULE, m, &m->id);
    if (st) {
        srv->ops->module_unload(em);
        free(m);
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    m->next = r->ctx->modules;
    r->ctx->modules = m;
    rid.id = m->id;
    vgpu_reply(c, r->ctx, &rid.hdr, sizeof(rid), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_module_unload(VgpuConn *c, VgpuReq *r)
{
    VgpuModule *m = r->u.module.module;
    VgpuWaiter *w = waiter_new(r, wait_module_unload);
    VgpuAllocTable *at = &r->ctx->allocs;

    if (!w) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    /* ids and globals stop validating now; the code goes once idle */
    vgpu_handle_free(&c->tenant->handles, m->id);
    for (VgpuFunc *f = m->funcs; f; f = f->next) {
        vgpu_handle_free(&c->tenant->handles, f->id);
    }
    for (size_t i = 0; i < at->n;) {
        if (at->v[i].global && at->v[i].module == m) {
            vgpu_allocs_remove(at, at->v[i].base, NULL);
        } else {
            i++;
        }
    }
    vgpu_ctx_unlink_module(r->ctx, m);
    w->ptr = m;
    add_waiter(c, r, w);
}

static void reply_func(VgpuConn *c, VgpuReq *r, VgpuFunc *f)
{
    struct vgpu_resp_func rf = { 0 };

    rf.func = f->id;
    rf.nparams = f->nparams;
    rf.param_bytes = f->param_bytes;
    for (int i = 0; i < VGPU_NUM_FUNC_ATTRS; i++) {
        rf.attrs[i] = (uint32_t)f->attrs[i];
    }
    /* VgpuParamInfo and struct vgpu_param_info share their layout */
    vgpu_reply(c, r->ctx, &rf.hdr, sizeof(rf), VGPU_S_OK, r->seq, f->params,
               (size_t)f->nparams * sizeof(struct vgpu_param_info));
}

static void h_func_get(VgpuConn *c, VgpuReq *r)
{
    static VgpuFuncInfo info;   /* large; the loop thread is the only user */
    VgpuModule *m = r->u.symbol.module;
    VgpuExecFunc *ef;
    VgpuFunc *f;
    int st;

    for (f = m->funcs; f; f = f->next) {
        if (!strcmp(f->name, r->u.symbol.name)) {
            reply_func(c, r, f);
            return;
        }
    }
    memset(&info, 0, sizeof(info));
    st = c->tenant->srv->ops->module_get_function(m->em, r->u.symbol.name,
                                                   &ef, &info);
    if (st) {
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    if (info.nparams > VGPU_MAX_PARAMS ||
        info.param_bytes > VGPU_MAX_PARAM_BYTES) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_NOT_SUPPORTED);
        return;
    }
    f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(r->u.symbol.name)) ||
        (info.nparams &&
         !(f->params = malloc(info.nparams * sizeof(*f->params))))) {
        if (f) {
            free(f->name);
        }
        free(f);
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    f->module = m;
    f->ef = ef;
    f->nparams = info.nparams;
    f->param_bytes = info.param_bytes;
    if (info.nparams) {
        memcpy(f->params, info.params, info.nparams * sizeof(*f->params));
    }
    memcpy(f->attrs, info.attrs, sizeof(f->attrs));
    st = vgpu_handle_alloc(&c->tenant->handles, VGPU_H_FUNC, f, &f->id);
    if (st) {
        free(f->params);
        free(f->name);
        free(f);
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    f->next = m->funcs;
    m->funcs = f;
    reply_func(c, r, f);
}

static void h_global_get(VgpuConn *c, VgpuReq *r)
{
    VgpuModule *m = r->u.symbol.module;
    struct vgpu_resp_global rg = { 0 };
    uint64_t dptr, size;
    int st;

    st = c->tenant->srv->ops->module_get_global(m->em, r->u.symbol.name,
                                                 &dptr, &size);
    if (st) {
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    /* copies to and from a global are device ranges like any other */
    if (size && !vgpu_allocs_find(&r->ctx->allocs, dptr)) {
        VgpuAlloc a = { .base = dptr, .size = size, .global = true,
                        .module = m };

        st = vgpu_allocs_insert(&r->ctx->allocs, &a);
        if (st) {
            vgpu_reply_status(c, r->ctx, r->seq, st);
            return;
        }
    }
    rg.dptr = dptr;
    rg.size = size;
    vgpu_reply(c, r->ctx, &rg.hdr, sizeof(rg), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_launch(VgpuConn *c, VgpuReq *r)
{
    VgpuWork *w = new_work(c, r, VGPU_WORK_EXEC);
    uint32_t pb = r->u.launch.param_bytes;

    if (!w) {
        return;
    }
    w->xi.kind = VGPU_ITEM_LAUNCH;
    w->engine = VGPU_ENGINE_COMPUTE;
    w->xi.u.launch.func = r->u.launch.func->ef;
    memcpy(w->xi.u.launch.grid, r->u.launch.grid, sizeof(r->u.launch.grid));
    memcpy(w->xi.u.launch.block, r->u.launch.block, sizeof(r->u.launch.block));
    w->xi.u.launch.shared_bytes = r->u.launch.shared;
    w->xi.u.launch.param_bytes = pb;
    if (pb <= sizeof(w->params)) {
        memcpy(w->params, r->u.launch.params, pb);
        w->xi.u.launch.params = w->params;
    } else {
        w->buf = malloc(pb);
        if (!w->buf) {
            w->status = VGPU_S_OUT_OF_MEMORY;
            w->cancelled = true;
        } else {
            memcpy(w->buf, r->u.launch.params, pb);
        }
        w->xi.u.launch.params = w->buf;
    }
    enqueue_work(c, r, w, false);
}

static void h_stream_create(VgpuConn *c, VgpuReq *r)
{
    struct vgpu_resp_id rid = { 0 };
    VgpuStream *s;
    int st;

    s = vgpu_stream_new(r->ctx, r->u.create.flags, r->u.create.priority, &st);
    if (!s) {
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    rid.id = s->id;
    vgpu_reply(c, r->ctx, &rid.hdr, sizeof(rid), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_stream_destroy(VgpuConn *c, VgpuReq *r)
{
    VgpuStream *s = r->stream;

    /* like cuStreamDestroy: returns at once, work already queued runs */
    vgpu_handle_free(&c->tenant->handles, s->id);
    s->destroyed = true;
    vgpu_stream_put(s);
    vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
}

static void h_stream_sync(VgpuConn *c, VgpuReq *r)
{
    VgpuWork *w = new_work(c, r, VGPU_WORK_SYNC);

    if (w) {
        enqueue_work(c, r, w, true);
    }
}

static void h_stream_query(VgpuConn *c, VgpuReq *r)
{
    int st = vgpu_stream_busy(r->stream) ? VGPU_S_NOT_READY
                                         : vgpu_ctx_take_error(r->ctx);

    vgpu_reply_status(c, r->ctx, r->seq, st);
}

static void h_stream_wait_event(VgpuConn *c, VgpuReq *r)
{
    VgpuEvent *e = r->u.event.event;
    VgpuWork *w = new_work(c, r, VGPU_WORK_WAIT);

    if (!w) {
        return;
    }
    if (e->recorded && !e->done && e->rec_stream &&
        vgpu_work_add_dep(w, e->rec_stream, e->rec_seq)) {
        w->status = VGPU_S_OUT_OF_MEMORY;
        w->cancelled = true;
    }
    enqueue_work(c, r, w, false);
}

static void h_event_create(VgpuConn *c, VgpuReq *r)
{
    struct vgpu_resp_id rid = { 0 };
    VgpuEvent *e = calloc(1, sizeof(*e));
    int st;

    if (!e) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OUT_OF_MEMORY);
        return;
    }
    e->ctx = r->ctx;
    e->flags = r->u.create.flags;
    e->refs = 1;
    st = vgpu_handle_alloc(&c->tenant->handles, VGPU_H_EVENT, e, &e->id);
    if (st) {
        free(e);
        vgpu_reply_status(c, r->ctx, r->seq, st);
        return;
    }
    rid.id = e->id;
    vgpu_reply(c, r->ctx, &rid.hdr, sizeof(rid), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_event_destroy(VgpuConn *c, VgpuReq *r)
{
    vgpu_handle_free(&c->tenant->handles, r->u.event.event->id);
    vgpu_event_put(r->u.event.event);
    vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_OK);
}

static void h_event_record(VgpuConn *c, VgpuReq *r)
{
    VgpuEvent *e = r->u.event.event;
    VgpuStream *s = r->stream;
    VgpuWork *w = new_work(c, r, VGPU_WORK_RECORD);

    if (!w) {
        return;
    }
    /* the event now describes this record; earlier ones are stale */
    e->gen++;
    e->recorded = true;
    e->done = false;
    if (e->rec_stream) {
        vgpu_stream_put(e->rec_stream);
    }
    e->rec_stream = s;
    s->refs++;
    e->rec_seq = s->enq_seq + 1;
    e->refs++;
    w->event = e;
    w->event_gen = e->gen;
    enqueue_work(c, r, w, false);
}

static void h_event_sync(VgpuConn *c, VgpuReq *r)
{
    VgpuEvent *e = r->u.event.event;
    VgpuWaiter *w;

    if (!e->recorded || e->done) {
        vgpu_reply_status(c, r->ctx, r->seq, vgpu_ctx_take_error(r->ctx));
        return;
    }
    w = waiter_new(r, wait_reply_error);
    if (w) {
        w->kind = VGPU_WAIT_STREAM;
        w->stream = e->rec_stream;
        w->stream->refs++;
        w->seq = e->rec_seq;
    }
    add_waiter(c, r, w);
}

static void h_event_query(VgpuConn *c, VgpuReq *r)
{
    VgpuEvent *e = r->u.event.event;
    int st = e->recorded && !e->done ? VGPU_S_NOT_READY
                                     : vgpu_ctx_take_error(r->ctx);

    vgpu_reply_status(c, r->ctx, r->seq, st);
}

static void h_event_elapsed(VgpuConn *c, VgpuReq *r)
{
    VgpuEvent *a = r->u.elapsed.start, *b = r->u.elapsed.end;
    struct vgpu_resp_elapsed re = { 0 };

    if ((a->flags | b->flags) & VGPU_CU_EVENT_DISABLE_TIMING ||
        !a->recorded || !b->recorded) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_INVALID_HANDLE);
        return;
    }
    if (!a->done || !b->done) {
        vgpu_reply_status(c, r->ctx, r->seq, VGPU_S_NOT_READY);
        return;
    }
    /* signed: the end event may have completed first */
    re.ns = (uint64_t)((int64_t)b->ts - (int64_t)a->ts);
    vgpu_reply(c, r->ctx, &re.hdr, sizeof(re), VGPU_S_OK, r->seq, NULL, 0);
}

static void h_output_read(VgpuConn *c, VgpuReq *r)
{
    VgpuCtx *ctx = r->ctx;
    struct vgpu_resp_hdr h;
    char *text;
    size_t len;

    pthread_mutex_lock(&ctx->out_lock);
    text = ctx->out;
    len = ctx->out_len;
    ctx->out = NULL;
    __atomic_store_n(&ctx->out_len, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&ctx->out_lock);
    vgpu_reply(c, ctx, &h, sizeof(h), VGPU_S_OK, r->seq, text, len);
    free(text);
}

/* The table: one handler per command; anything else is unsupported. */
static const struct {
    uint32_t cmd;
    Handler fn;
} handlers[] = {
    { VGPU_CMD_NOP, h_nop },
    { VGPU_CMD_GET_INFO, h_get_info },
    { VGPU_CMD_HELLO, h_hello },
    { VGPU_CMD_TENANT_INFO, h_tenant_info },
    { VGPU_CMD_CTX_CREATE, h_ctx_create },
    { VGPU_CMD_CTX_DESTROY, h_ctx_destroy },
    { VGPU_CMD_CTX_SYNC, h_ctx_sync },
    { VGPU_CMD_MEM_ALLOC, h_mem_alloc },
    { VGPU_CMD_MEM_FREE, h_mem_free },
    { VGPU_CMD_MEM_GET_INFO, h_mem_get_info },
    { VGPU_CMD_MEMCPY_HTOD, h_memcpy },
    { VGPU_CMD_MEMCPY_DTOH, h_memcpy },
    { VGPU_CMD_MEMCPY_DTOD, h_dtod },
    { VGPU_CMD_MEMSET, h_memset },
    { VGPU_CMD_REGION_REGISTER, h_region_register },
    { VGPU_CMD_REGION_UNREGISTER, h_region_unregister },
    { VGPU_CMD_MODULE_LOAD, h_module_load },
    { VGPU_CMD_MODULE_UNLOAD, h_module_unload },
    { VGPU_CMD_FUNC_GET, h_func_get },
    { VGPU_CMD_GLOBAL_GET, h_global_get },
    { VGPU_CMD_LAUNCH, h_launch },
    { VGPU_CMD_STREAM_CREATE, h_stream_create },
    { VGPU_CMD_STREAM_DESTROY, h_stream_destroy },
    { VGPU_CMD_STREAM_SYNC, h_stream_sync },
    { VGPU_CMD_STREAM_QUERY, h_stream_query },
    { VGPU_CMD_STREAM_WAIT_EVENT, h_stream_wait_event },
    { VGPU_CMD_EVENT_CREATE, h_event_create },
    { VGPU_CMD_EVENT_DESTROY, h_event_destroy },
    { VGPU_CMD_EVENT_RECORD, h_event_record },
    { VGPU_CMD_EVENT_SYNC, h_event_sync },
    { VGPU_CMD_EVENT_QUERY, h_event_query },
    { VGPU_CMD_EVENT_ELAPSED, h_event_elapsed },
    { VGPU_CMD_OUTPUT_READ, h_output_read },
};

static Handler handler_for(uint32_t cmd)
{
    /* the hot commands first: a launch flood must not scan the table */
    if (cmd == VGPU_CMD_LAUNCH) {
        return h_launch;
    }
    for (size_t i = 0; i < ARRAY_SIZE(handlers); i++) {
        if (handlers[i].cmd == cmd) {
            return handlers[i].fn;
        }
    }
    return NULL;
}

/**
 * vgpu_handle_request - decode, validate and execute one framed request
 * @c: the connection it arrived on
 * @buf: the request, @len bytes (== its hdr.len)
 *
 * Failures are answered with their status; an async command sent with
 * VGPU_REQ_F_NO_REPLY that fails validation becomes its context's deferred
 * error instead.
 */
void vgpu_handle_request(VgpuConn *c, const void *buf, size_t len)
{
    VgpuReq req;
    Handler fn;
    int st;

    c->tenant->requests++;
    vgpu_tenant_sync_weight(c->tenant);
    st = vgpu_decode(c, buf, len, &req);
    if (st != VGPU_S_OK) {
        VGPU_LOG_RL(VGPU_LOG_WARN,
                    "tenant %s: command 0x%x seq %" PRIu64 " rejected: %d",
                    c->tenant->name, req.cmd, req.seq, st);
        if ((req.flags & VGPU_REQ_F_NO_REPLY) &&
            vgpu_cmd_is_async(req.cmd, buf, len)) {
            c->tenant->errors++;
            c->tenant->acct->errors++;
            if (req.ctx && !req.ctx->deferred && st != req.ctx->sticky) {
                req.ctx->deferred = st;
            }
        } else {
            vgpu_reply_status(c, req.ctx, req.seq, st);
        }
        vgpu_req_release(&req);
        return;
    }
    fn = handler_for(req.cmd);
    if (!fn) {
        VGPU_LOG_RL(VGPU_LOG_INFO, "tenant %s: unsupported command 0x%x",
                    c->tenant->name, req.cmd);
        vgpu_reply_status(c, NULL, req.seq, VGPU_S_NOT_SUPPORTED);
    } else {
        fn(c, &req);
    }
    vgpu_req_release(&req);
    vgpu_reap_streams(c->tenant->srv);
}
