/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.h - drives vgpud's decode/dispatch/stream core in-process for
 * unit tests: a server on the fake executor, test connections that capture
 * replies, and request builders.
 */
#ifndef UNIT_HARNESS_H
#define UNIT_HARNESS_H

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_exec.h"
#include "log.h"
#include "tap.h"
#include "vgpud.h"

#define T_MAX_REPLIES 256

typedef struct TConn {
    VgpuConn base;
    uint8_t *replies[T_MAX_REPLIES];
    unsigned nreplies;
    int give_fd;                /* take_fd returns it once */
    uint64_t seq;
} TConn;

static VgpuServer t_srv __attribute__((unused));

static inline __attribute__((unused)) void t_reply(VgpuConn *c, const void *msg, size_t len,
                    const void *data, size_t dlen)
{
    TConn *tc = container_of(c, TConn, base);
    uint8_t *r = malloc(len + dlen);

    memcpy(r, msg, len);
    if (dlen) {
        memcpy(r + len, data, dlen);
    }
    if (tc->nreplies == T_MAX_REPLIES) {
        free(tc->replies[0]);
        memmove(&tc->replies[0], &tc->replies[1],
                (T_MAX_REPLIES - 1) * sizeof(tc->replies[0]));
        tc->nreplies--;
    }
    tc->replies[tc->nreplies++] = r;
}

static inline __attribute__((unused)) int t_take_fd(VgpuConn *c)
{
    TConn *tc = container_of(c, TConn, base);
    int fd = tc->give_fd;

    tc->give_fd = -1;
    return fd;
}

static const VgpuConnOps t_ops __attribute__((unused)) = {
    .map_sg = NULL,
    .take_fd = t_take_fd,
    .reply = t_reply,
};

/* Run-queue policy of the next t_server_init(); FIFO by default. */
static const VgpuRunqPolicy *t_policy __attribute__((unused));

/* Fresh server on the fake executor (automatic completion). */
static inline __attribute__((unused)) void t_server_init(void)
{
    memset(&fake, 0, sizeof(fake));
    memset(&t_srv, 0, sizeof(t_srv));
    vgpu_log_level = getenv("VGPU_TEST_LOG") ? VGPU_LOG_DEBUG : -1;
    pthread_mutex_init(&t_srv.cq_lock, NULL);
    t_srv.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t_srv.epfd = -1;
    t_srv.ops = &fake_exec_ops;
    t_srv.ops->init(NULL, &t_srv.exec, NULL, 0);
    t_srv.ops->device_info(t_srv.exec, &t_srv.info);
    vgpu_runq_init(&t_srv, t_policy ? t_policy : &vgpu_runq_fifo);
}

static inline __attribute__((unused)) TConn *t_conn_new(void)
{
    TConn *tc = calloc(1, sizeof(*tc));

    tc->base.ops = &t_ops;
    tc->give_fd = -1;
    tc->base.tenant = vgpu_tenant_new(&t_srv, "test");
    tc->base.tenant->conn = &tc->base;
    return tc;
}

static inline __attribute__((unused)) void t_drain(void)
{
    vgpu_completions_drain(&t_srv);
}

static inline __attribute__((unused)) void t_conn_close(TConn *tc)
{
    for (unsigned i = 0; i < tc->nreplies; i++) {
        free(tc->replies[i]);
    }
    vgpu_tenant_disconnect(tc->base.tenant);
    free(tc);
}

/* Tears everything down; returns true if nothing leaked in the executor. */
static inline __attribute__((unused)) bool t_server_fini(void)
{
    bool clean;

    fake.manual = false;
    fake_complete_all();
    t_drain();
    clean = !t_srv.tenants && fake.nctx == 0 && fake.nallocs == 0 &&
            fake.nmodules == 0 && fake.nstreams == 0;
    if (!clean) {
        printf("# leaked: tenants %d ctx %ld allocs %ld modules %ld "
               "streams %ld\n", t_srv.tenants != NULL, fake.nctx,
               fake.nallocs, fake.nmodules, fake.nstreams);
    }
    vgpu_runq_fini(&t_srv);
    while (t_srv.free_work) {
        VgpuWork *w = t_srv.free_work;

        t_srv.free_work = w->next;
        free(w);
    }
    close(t_srv.evfd);
    pthread_mutex_destroy(&t_srv.cq_lock);
    return clean;
}

/*
 * Sends one request: header fields, the command's body after the header
 * (@body, @blen bytes: the fixed part minus the header) and trailing @data.
 * Returns the sequence number used.
 */
static inline __attribute__((unused)) uint64_t t_send_raw(TConn *tc, uint32_t cmd, uint32_t flags,
                           uint64_t ctx, uint64_t stream, const void *body,
                           size_t blen, const void *data, size_t dlen)
{
    size_t len = sizeof(struct vgpu_req_hdr) + blen + dlen;
    uint8_t *buf = calloc(1, len);
    struct vgpu_req_hdr h = {
        .cmd = cmd, .flags = flags, .len = (uint32_t)len,
        .ctx = ctx, .stream = stream, .seq = ++tc->seq,
    };

    memcpy(buf, &h, sizeof(h));
    if (blen) {
        memcpy(buf + sizeof(h), body, blen);
    }
    if (dlen) {
        memcpy(buf + sizeof(h) + blen, data, dlen);
    }
    vgpu_handle_request(&tc->base, buf, len);
    free(buf);
    t_drain();
    return h.seq;
}

/* Body of a command struct (the part after its header). */
#define T_BODY(s) ((const uint8_t *)&(s) + sizeof(struct vgpu_req_hdr))
#define T_BLEN(s) (sizeof(s) - sizeof(struct vgpu_req_hdr))

#define t_send(tc, cmd, flags, ctx, stream, s, data, dlen) \
    t_send_raw(tc, cmd, flags, ctx, stream, T_BODY(s), T_BLEN(s), data, dlen)

/* The reply with sequence number @seq, or NULL. */
static inline __attribute__((unused)) struct vgpu_resp_hdr *t_reply_for(TConn *tc, uint64_t seq)
{
    for (unsigned i = tc->nreplies; i-- > 0;) {
        struct vgpu_resp_hdr *h = (struct vgpu_resp_hdr *)tc->replies[i];

        if (h->seq == seq) {
            return h;
        }
    }
    return NULL;
}

/* Status of the reply to @seq; -1 when there is none. */
static inline __attribute__((unused)) int t_status(TConn *tc, uint64_t seq)
{
    struct vgpu_resp_hdr *h = t_reply_for(tc, seq);

    return h ? (int)h->status : -1;
}

static inline __attribute__((unused)) uint64_t t_ctx_create(TConn *tc)
{
    uint64_t seq = t_send_raw(tc, VGPU_CMD_CTX_CREATE, 0, 0, 0, NULL, 0,
                              NULL, 0);
    struct vgpu_resp_id *r = (struct vgpu_resp_id *)t_reply_for(tc, seq);

    return r && r->hdr.status == 0 ? r->id : 0;
}

static inline __attribute__((unused)) uint64_t t_mem_alloc(TConn *tc, uint64_t ctx, uint64_t size)
{
    struct vgpu_cmd_mem m = { .size = size };
    uint64_t seq = t_send(tc, VGPU_CMD_MEM_ALLOC, 0, ctx, 0, m, NULL, 0);
    struct vgpu_resp_mem *r = (struct vgpu_resp_mem *)t_reply_for(tc, seq);

    return r && r->hdr.status == 0 ? r->dptr : 0;
}

static inline __attribute__((unused)) uint64_t t_id_reply(TConn *tc, uint64_t seq)
{
    struct vgpu_resp_id *r = (struct vgpu_resp_id *)t_reply_for(tc, seq);

    return r && r->hdr.status == 0 ? r->id : 0;
}

static inline __attribute__((unused)) uint64_t t_module_load(TConn *tc, uint64_t ctx, const char *ptx)
{
    struct vgpu_cmd_module_load m = { .kind = VGPU_IMAGE_PTX,
                                      .size = strlen(ptx) + 1 };

    return t_id_reply(tc, t_send(tc, VGPU_CMD_MODULE_LOAD, 0, ctx, 0, m, ptx,
                                 strlen(ptx) + 1));
}

static inline __attribute__((unused)) uint64_t t_func_get(TConn *tc, uint64_t ctx, uint64_t mod,
                           const char *name)
{
    struct vgpu_cmd_symbol s = { .module = mod,
                                 .name_len = (uint32_t)strlen(name) + 1 };
    uint64_t seq = t_send(tc, VGPU_CMD_FUNC_GET, 0, ctx, 0, s, name,
                          strlen(name) + 1);
    struct vgpu_resp_func *r = (struct vgpu_resp_func *)t_reply_for(tc, seq);

    return r && r->hdr.status == 0 ? r->func : 0;
}

static inline __attribute__((unused)) uint64_t t_create(TConn *tc, uint32_t cmd, uint64_t ctx,
                         uint32_t flags)
{
    struct vgpu_cmd_create c = { .flags = flags };

    return t_id_reply(tc, t_send(tc, cmd, 0, ctx, 0, c, NULL, 0));
}

/* A launch of "k" (u64 ptr, u32 arg) with 1x1x1 grid and 32 threads. */
static inline __attribute__((unused)) uint64_t t_launch(TConn *tc, uint32_t flags, uint64_t ctx,
                         uint64_t stream, uint64_t func, uint64_t ptr,
                         uint32_t arg)
{
    struct vgpu_cmd_launch l = { .func = func, .grid = { 1, 1, 1 },
                                 .block = { 32, 1, 1 }, .param_bytes = 12 };
    uint8_t params[12];

    memcpy(params, &ptr, 8);
    memcpy(params + 8, &arg, 4);
    return t_send(tc, VGPU_CMD_LAUNCH, flags, ctx, stream, l, params, 12);
}

static inline __attribute__((unused)) int t_sync(TConn *tc, uint64_t ctx)
{
    return t_status(tc, t_send_raw(tc, VGPU_CMD_CTX_SYNC, 0, ctx, 0, NULL, 0,
                                   NULL, 0));
}

static const char t_ptx[] __attribute__((unused)) = ".version 7.0\n.target sm_75\n// k, k0, g\n";

#endif /* UNIT_HARNESS_H */
