/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode.c - parse and validate one request into a VgpuReq.
 *
 * This is the only place that reads client bytes.  Everything a handler
 * relies on is checked here, once: lengths, flags, reserved fields, ids
 * (kind, tenant, owning context), device ranges against the context's
 * allocations, host ranges (through the transport), launch parameters
 * against the function's signature and dims against the device limits.
 * Handlers and executors trust a VgpuReq.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgpud.h"

/* Command properties (desc.flags). */
#define D_CTX       (1u << 0)   /* names a context in hdr.ctx */
#define D_CTX_ZERO  (1u << 1)   /* hdr.ctx must be 0 */
#define D_ASYNC     (1u << 2)   /* VGPU_REQ_F_NO_REPLY allowed */
#define D_STREAM    (1u << 3)   /* hdr.stream names a stream */
#define D_TRAIL     (1u << 4)   /* variable trailing data */
#define D_ANY_STICKY (1u << 5)  /* allowed on a poisoned context */

typedef struct CmdDesc {
    uint32_t cmd;
    uint32_t fixed;
    uint32_t flags;
    int (*decode)(VgpuConn *c, const uint8_t *buf, size_t len, VgpuReq *req);
} CmdDesc;

#define HDR sizeof(struct vgpu_req_hdr)

static inline uint32_t ld32(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;       /* little-endian host; see the Makefile's check */
}

static inline uint64_t ld64(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

#define FIELD32(buf, type, field) ld32((buf) + offsetof(type, field))
#define FIELD64(buf, type, field) ld64((buf) + offsetof(type, field))

static VgpuTenant *conn_tenant(VgpuConn *c)
{
    return c->tenant;
}

static bool range_ok(VgpuCtx *ctx, uint64_t ptr, uint64_t size)
{
    return vgpu_allocs_check(&ctx->allocs, ptr, size);
}

static VgpuEvent *get_event(VgpuConn *c, VgpuCtx *ctx, uint64_t id)
{
    VgpuEvent *e = vgpu_handle_get(&conn_tenant(c)->handles, id, VGPU_H_EVENT);

    return e && e->ctx == ctx ? e : NULL;
}

static VgpuModule *get_module(VgpuConn *c, VgpuCtx *ctx, uint64_t id)
{
    VgpuModule *m = vgpu_handle_get(&conn_tenant(c)->handles, id,
                                    VGPU_H_MODULE);

    return m && m->ctx == ctx ? m : NULL;
}

/* ---- per-command decoders ----------------------------------------------- */

static int dec_mem_alloc(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    (void)c;
    (void)len;
    r->u.alloc.size = FIELD64(b, struct vgpu_cmd_mem, size);
    return r->u.alloc.size ? VGPU_S_OK : VGPU_S_INVALID_VALUE;
}

static int dec_mem_free(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    const VgpuAlloc *a;

    (void)c;
    (void)len;
    r->u.free.dptr = FIELD64(b, struct vgpu_cmd_mem, dptr);
    a = vgpu_allocs_find(&r->ctx->allocs, r->u.free.dptr);
    return a && !a->global ? VGPU_S_OK : VGPU_S_INVALID_VALUE;
}

static int dec_memcpy(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    bool htod = r->cmd == VGPU_CMD_MEMCPY_HTOD;
    uint64_t dptr = FIELD64(b, struct vgpu_cmd_memcpy, dptr);
    uint64_t size = FIELD64(b, struct vgpu_cmd_memcpy, size);
    uint64_t region = FIELD64(b, struct vgpu_cmd_memcpy, region);
    uint64_t offset = FIELD64(b, struct vgpu_cmd_memcpy, offset);
    uint32_t nsg = FIELD32(b, struct vgpu_cmd_memcpy, nsg);
    uint32_t pad = FIELD32(b, struct vgpu_cmd_memcpy, padding);
    size_t fixed = sizeof(struct vgpu_cmd_memcpy);
    VgpuHostMem *h = &r->u.copy.host;

    r->u.copy.dptr = dptr;
    r->u.copy.size = size;
    if (pad) {
        return VGPU_S_INVALID_VALUE;
    }
    if (!range_ok(r->ctx, dptr, size)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (region == VGPU_REGION_INLINE) {
        if (offset || nsg || size > VGPU_MAX_INLINE) {
            return VGPU_S_INVALID_VALUE;
        }
        if (len != fixed + (htod ? size : 0)) {
            return VGPU_S_INVALID_VALUE;
        }
        if (!htod && (r->flags & VGPU_REQ_F_NO_REPLY)) {
            /* the data travels in the reply */
            return VGPU_S_INVALID_VALUE;
        }
        h->is_inline = true;
        h->inline_data = htod ? b + fixed : NULL;
        return VGPU_S_OK;
    }
    if (region == VGPU_REGION_SG) {
        if (offset || !nsg || nsg > VGPU_MAX_SG ||
            len != fixed + (size_t)nsg * sizeof(struct vgpu_sg_entry)) {
            return VGPU_S_INVALID_VALUE;
        }
        if (!c->ops->map_sg) {
            return VGPU_S_INVALID_VALUE;
        }
        return c->ops->map_sg(c, (const struct vgpu_sg_entry *)(b + fixed),
                              nsg, size, !htod, h);
    }
    if (nsg || len != fixed) {
        return VGPU_S_INVALID_VALUE;
    }
    h->region = vgpu_handle_get(&conn_tenant(c)->handles, region,
                                VGPU_H_REGION);
    if (!h->region) {
        return VGPU_S_INVALID_HANDLE;
    }
    if (offset > h->region->size || size > h->region->size - offset) {
        h->region = NULL;
        return VGPU_S_INVALID_VALUE;
    }
    h->region->refs++;
    h->iov1.iov_base = (uint8_t *)h->region->base + offset;
    h->iov1.iov_len = size;
    h->iovcnt = 1;
    return VGPU_S_OK;
}

static int dec_dtod(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    (void)c;
    (void)len;
    r->u.dtod.dst = FIELD64(b, struct vgpu_cmd_memcpy_dtod, dst);
    r->u.dtod.src = FIELD64(b, struct vgpu_cmd_memcpy_dtod, src);
    r->u.dtod.size = FIELD64(b, struct vgpu_cmd_memcpy_dtod, size);
    if (!range_ok(r->ctx, r->u.dtod.dst, r->u.dtod.size) ||
        !range_ok(r->ctx, r->u.dtod.src, r->u.dtod.size)) {
        return VGPU_S_INVALID_VALUE;
    }
    return VGPU_S_OK;
}

static int dec_memset(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    uint64_t dptr = FIELD64(b, struct vgpu_cmd_memset, dptr);
    uint64_t count = FIELD64(b, struct vgpu_cmd_memset, count);
    uint32_t value = FIELD32(b, struct vgpu_cmd_memset, value);
    uint32_t elem = FIELD32(b, struct vgpu_cmd_memset, elem_size);

    (void)c;
    (void)len;
    if (elem != 1 && elem != 2 && elem != 4) {
        return VGPU_S_INVALID_VALUE;
    }
    if (elem < 4 && (value >> (8 * elem))) {
        return VGPU_S_INVALID_VALUE;
    }
    if (dptr % elem) {
        return VGPU_S_INVALID_VALUE;
    }
    if (count > UINT64_MAX / elem || !range_ok(r->ctx, dptr, count * elem)) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.memset.dptr = dptr;
    r->u.memset.count = count;
    r->u.memset.value = value;
    r->u.memset.elem = elem;
    return VGPU_S_OK;
}

static int dec_region_reg(VgpuConn *c, const uint8_t *b, size_t len,
                          VgpuReq *r)
{
    struct stat st;

    (void)c;
    (void)len;
    r->u.region_reg.size = FIELD64(b, struct vgpu_cmd_region, size);
    if (FIELD64(b, struct vgpu_cmd_region, flags)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (!r->u.region_reg.size || r->u.region_reg.size > (uint64_t)SIZE_MAX / 2) {
        return VGPU_S_INVALID_VALUE;
    }
    if (r->fd < 0) {
        return VGPU_S_INVALID_VALUE;
    }
    if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < r->u.region_reg.size) {
        return VGPU_S_INVALID_VALUE;
    }
    return VGPU_S_OK;
}

static int dec_region_unreg(VgpuConn *c, const uint8_t *b, size_t len,
                            VgpuReq *r)
{
    (void)len;
    r->u.region_unreg.id = FIELD64(b, struct vgpu_cmd_id, id);
    r->u.region_unreg.region = vgpu_handle_get(&conn_tenant(c)->handles,
                                               r->u.region_unreg.id,
                                               VGPU_H_REGION);
    return r->u.region_unreg.region ? VGPU_S_OK : VGPU_S_INVALID_HANDLE;
}

static int dec_module_load(VgpuConn *c, const uint8_t *b, size_t len,
                           VgpuReq *r)
{
    size_t fixed = sizeof(struct vgpu_cmd_module_load);

    (void)c;
    r->u.load.kind = FIELD32(b, struct vgpu_cmd_module_load, kind);
    r->u.load.size = FIELD64(b, struct vgpu_cmd_module_load, size);
    if (r->u.load.kind < VGPU_IMAGE_PTX || r->u.load.kind > VGPU_IMAGE_CUBIN) {
        return VGPU_S_INVALID_VALUE;
    }
    if (FIELD32(b, struct vgpu_cmd_module_load, padding)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (!r->u.load.size || r->u.load.size != len - fixed) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.load.image = b + fixed;
    return VGPU_S_OK;
}

static int dec_module_id(VgpuConn *c, const uint8_t *b, size_t len,
                         VgpuReq *r)
{
    (void)len;
    r->u.module.module = get_module(c, r->ctx,
                                    FIELD64(b, struct vgpu_cmd_id, id));
    return r->u.module.module ? VGPU_S_OK : VGPU_S_INVALID_HANDLE;
}

static int dec_symbol(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    size_t fixed = sizeof(struct vgpu_cmd_symbol);
    uint32_t nl = FIELD32(b, struct vgpu_cmd_symbol, name_len);
    const char *name = (const char *)b + fixed;

    r->u.symbol.module = get_module(c, r->ctx,
                                    FIELD64(b, struct vgpu_cmd_symbol, module));
    if (!r->u.symbol.module) {
        return VGPU_S_INVALID_HANDLE;
    }
    if (FIELD32(b, struct vgpu_cmd_symbol, padding)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (nl < 2 || nl > VGPU_MAX_NAME || len != fixed + nl) {
        return VGPU_S_INVALID_VALUE;
    }
    if (name[nl - 1] != '\0' || memchr(name, '\0', nl - 1)) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.symbol.name = name;
    return VGPU_S_OK;
}

/* HELLO: the tenant name, NUL-terminated, is all that follows the header. */
static int dec_hello(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    const char *name = (const char *)b + HDR;
    size_t nl = len - HDR;

    (void)c;
    if (nl < 2 || nl > 64 || name[nl - 1] != '\0' ||
        memchr(name, '\0', nl - 1)) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.hello.name = name;
    return VGPU_S_OK;
}

/*
 * TENANT_INFO: header only, and it names no object: a stream id other than
 * 0 is as wrong as a context id (D_CTX_ZERO checks that one).
 */
static int dec_tenant_info(VgpuConn *c, const uint8_t *b, size_t len,
                           VgpuReq *r)
{
    (void)c;
    (void)b;
    (void)len;
    return r->stream_id ? VGPU_S_INVALID_VALUE : VGPU_S_OK;
}

/* CUdevice_attribute values the launch checks use. */
#define ATTR_MAX_THREADS_PER_BLOCK 1
#define ATTR_MAX_BLOCK_DIM_X 2
#define ATTR_MAX_GRID_DIM_X 5
#define ATTR_MAX_SHARED_PER_BLOCK 8
#define ATTR_MAX_SHARED_PER_BLOCK_OPTIN 97

static int dec_launch(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    size_t fixed = sizeof(struct vgpu_cmd_launch);
    const int32_t *attrs = c->tenant->srv->info.attrs;
    VgpuFunc *f;
    uint64_t threads = 1;
    uint64_t shared_max;

    f = vgpu_handle_get(&conn_tenant(c)->handles,
                        FIELD64(b, struct vgpu_cmd_launch, func), VGPU_H_FUNC);
    if (!f || f->module->ctx != r->ctx) {
        return VGPU_S_INVALID_HANDLE;
    }
    r->u.launch.func = f;
    for (int i = 0; i < 3; i++) {
        uint32_t g = ld32(b + offsetof(struct vgpu_cmd_launch, grid) + 4 * i);
        uint32_t k = ld32(b + offsetof(struct vgpu_cmd_launch, block) + 4 * i);
        int32_t gmax = attrs[ATTR_MAX_GRID_DIM_X + i];
        int32_t bmax = attrs[ATTR_MAX_BLOCK_DIM_X + i];

        if (!g || !k) {
            return VGPU_S_INVALID_VALUE;
        }
        if ((gmax > 0 && g > (uint32_t)gmax) ||
            (bmax > 0 && k > (uint32_t)bmax)) {
            return VGPU_S_INVALID_VALUE;
        }
        r->u.launch.grid[i] = g;
        r->u.launch.block[i] = k;
        threads *= k;
    }
    if ((attrs[ATTR_MAX_THREADS_PER_BLOCK] > 0 &&
         threads > (uint64_t)attrs[ATTR_MAX_THREADS_PER_BLOCK]) ||
        (f->attrs[VGPU_FUNC_ATTR_MAX_THREADS] > 0 &&
         threads > (uint64_t)f->attrs[VGPU_FUNC_ATTR_MAX_THREADS])) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.launch.shared = FIELD32(b, struct vgpu_cmd_launch, shared_bytes);
    shared_max = (uint64_t)(attrs[ATTR_MAX_SHARED_PER_BLOCK_OPTIN] > 0
                            ? attrs[ATTR_MAX_SHARED_PER_BLOCK_OPTIN]
                            : attrs[ATTR_MAX_SHARED_PER_BLOCK]);
    if (shared_max > 0 &&
        (uint64_t)r->u.launch.shared +
        (uint64_t)(f->attrs[VGPU_FUNC_ATTR_SHARED_BYTES] > 0
                   ? f->attrs[VGPU_FUNC_ATTR_SHARED_BYTES] : 0) > shared_max) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.launch.param_bytes = FIELD32(b, struct vgpu_cmd_launch, param_bytes);
    if (r->u.launch.param_bytes != f->param_bytes ||
        len != fixed + r->u.launch.param_bytes) {
        return VGPU_S_INVALID_VALUE;
    }
    r->u.launch.params = b + fixed;
    return VGPU_S_OK;
}

static int dec_stream_create(VgpuConn *c, const uint8_t *b, size_t len,
                             VgpuReq *r)
{
    (void)c;
    (void)len;
    r->u.create.flags = FIELD32(b, struct vgpu_cmd_create, flags);
    r->u.create.priority = (int32_t)FIELD32(b, struct vgpu_cmd_create, priority);
    return r->u.create.flags & ~VGPU_CU_STREAM_NON_BLOCKING
           ? VGPU_S_INVALID_VALUE : VGPU_S_OK;
}

static int dec_event_create(VgpuConn *c, const uint8_t *b, size_t len,
                            VgpuReq *r)
{
    (void)c;
    (void)len;
    r->u.create.flags = FIELD32(b, struct vgpu_cmd_create, flags);
    r->u.create.priority = (int32_t)FIELD32(b, struct vgpu_cmd_create, priority);
    if (r->u.create.flags & ~VGPU_CU_EVENT_FLAGS_ALL || r->u.create.priority) {
        return VGPU_S_INVALID_VALUE;
    }
    return VGPU_S_OK;
}

static int dec_stream_named(VgpuConn *c, const uint8_t *b, size_t len,
                            VgpuReq *r)
{
    (void)c;
    (void)b;
    (void)len;
    /* the default stream cannot be destroyed */
    if (r->cmd == VGPU_CMD_STREAM_DESTROY && r->stream_id == 0) {
        return VGPU_S_INVALID_HANDLE;
    }
    return VGPU_S_OK;
}

static int dec_event_id(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    (void)len;
    r->u.event.event = get_event(c, r->ctx, FIELD64(b, struct vgpu_cmd_id, id));
    return r->u.event.event ? VGPU_S_OK : VGPU_S_INVALID_HANDLE;
}

static int dec_elapsed(VgpuConn *c, const uint8_t *b, size_t len, VgpuReq *r)
{
    (void)len;
    r->u.elapsed.start = get_event(c, r->ctx,
                                   FIELD64(b, struct vgpu_cmd_elapsed, start));
    r->u.elapsed.end = get_event(c, r->ctx,
                                 FIELD64(b, struct vgpu_cmd_elapsed, end));
    return r->u.elapsed.start && r->u.elapsed.end ? VGPU_S_OK
                                                  : VGPU_S_INVALID_HANDLE;
}

static const CmdDesc cmd_table[] = {
    { VGPU_CMD_NOP, HDR, 0, NULL },
    { VGPU_CMD_GET_INFO, HDR, 0, NULL },
    { VGPU_CMD_HELLO, HDR, D_TRAIL, dec_hello },
    { VGPU_CMD_TENANT_INFO, HDR, D_CTX_ZERO, dec_tenant_info },
    { VGPU_CMD_CTX_CREATE, HDR, D_CTX_ZERO, NULL },
    { VGPU_CMD_CTX_DESTROY, HDR, D_CTX | D_ANY_STICKY, NULL },
    { VGPU_CMD_CTX_SYNC, HDR, D_CTX, NULL },
    { VGPU_CMD_MEM_ALLOC, sizeof(struct vgpu_cmd_mem), D_CTX, dec_mem_alloc },
    { VGPU_CMD_MEM_FREE, sizeof(struct vgpu_cmd_mem), D_CTX, dec_mem_free },
    { VGPU_CMD_MEM_GET_INFO, HDR, D_CTX, NULL },
    { VGPU_CMD_MEMCPY_HTOD, sizeof(struct vgpu_cmd_memcpy),
      D_CTX | D_ASYNC | D_STREAM | D_TRAIL, dec_memcpy },
    { VGPU_CMD_MEMCPY_DTOH, sizeof(struct vgpu_cmd_memcpy),
      D_CTX | D_ASYNC | D_STREAM | D_TRAIL, dec_memcpy },
    { VGPU_CMD_MEMCPY_DTOD, sizeof(struct vgpu_cmd_memcpy_dtod),
      D_CTX | D_ASYNC | D_STREAM, dec_dtod },
    { VGPU_CMD_MEMSET, sizeof(struct vgpu_cmd_memset),
      D_CTX | D_ASYNC | D_STREAM, dec_memset },
    { VGPU_CMD_REGION_REGISTER, sizeof(struct vgpu_cmd_region), 0,
      dec_region_reg },
    { VGPU_CMD_REGION_UNREGISTER, sizeof(struct vgpu_cmd_id), 0,
      dec_region_unreg },
    { VGPU_CMD_MODULE_LOAD, sizeof(struct vgpu_cmd_module_load),
      D_CTX | D_TRAIL, dec_module_load },
    { VGPU_CMD_MODULE_UNLOAD, sizeof(struct vgpu_cmd_id), D_CTX,
      dec_module_id },
    { VGPU_CMD_FUNC_GET, sizeof(struct vgpu_cmd_symbol), D_CTX | D_TRAIL,
      dec_symbol },
    { VGPU_CMD_GLOBAL_GET, sizeof(struct vgpu_cmd_symbol), D_CTX | D_TRAIL,
      dec_symbol },
    { VGPU_CMD_LAUNCH, sizeof(struct vgpu_cmd_launch),
      D_CTX | D_ASYNC | D_STREAM | D_TRAIL, dec_launch },
    { VGPU_CMD_STREAM_CREATE, sizeof(struct vgpu_cmd_create), D_CTX,
      dec_stream_create },
    { VGPU_CMD_STREAM_DESTROY, HDR, D_CTX | D_STREAM, dec_stream_named },
    { VGPU_CMD_STREAM_SYNC, HDR, D_CTX | D_STREAM, dec_stream_named },
    { VGPU_CMD_STREAM_QUERY, HDR, D_CTX | D_STREAM, dec_stream_named },
    { VGPU_CMD_STREAM_WAIT_EVENT, sizeof(struct vgpu_cmd_id),
      D_CTX | D_ASYNC | D_STREAM, dec_event_id },
    { VGPU_CMD_EVENT_CREATE, sizeof(struct vgpu_cmd_create), D_CTX,
      dec_event_create },
    { VGPU_CMD_EVENT_DESTROY, sizeof(struct vgpu_cmd_id), D_CTX, dec_event_id },
    { VGPU_CMD_EVENT_RECORD, sizeof(struct vgpu_cmd_id),
      D_CTX | D_ASYNC | D_STREAM, dec_event_id },
    { VGPU_CMD_EVENT_SYNC, sizeof(struct vgpu_cmd_id), D_CTX, dec_event_id },
    { VGPU_CMD_EVENT_QUERY, sizeof(struct vgpu_cmd_id), D_CTX, dec_event_id },
    { VGPU_CMD_EVENT_ELAPSED, sizeof(struct vgpu_cmd_elapsed), D_CTX,
      dec_elapsed },
    { VGPU_CMD_OUTPUT_READ, HDR, D_CTX, NULL },
};

static const CmdDesc *cmd_desc(uint32_t cmd)
{
    for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++) {
        if (cmd_table[i].cmd == cmd) {
            return &cmd_table[i];
        }
    }
    return NULL;
}

/**
 * vgpu_cmd_fixed_size - bytes of @cmd's fixed part (header included), 0
 * for an unknown command
 */
size_t vgpu_cmd_fixed_size(uint32_t cmd)
{
    const CmdDesc *d = cmd_desc(cmd);

    return d ? d->fixed : 0;
}

/* True if @cmd may carry VGPU_REQ_F_NO_REPLY. */
bool vgpu_cmd_is_async(uint32_t cmd, const void *buf, size_t len)
{
    const CmdDesc *d = cmd_desc(cmd);

    (void)buf;
    (void)len;
    return d && (d->flags & D_ASYNC);
}

/**
 * vgpu_decode - validate the request in @buf (@len bytes, framing already
 * checked: @len == hdr.len >= header size) and fill @req
 * @c: the connection it came on (tenant, memory translation, fds)
 *
 * Returns VGPU_S_OK or the status to answer with.  An unknown command
 * decodes successfully with only the header filled in: dispatch answers
 * it.  Whatever the result, vgpu_req_release() undoes what decode took
 * (region references, a received fd, transport mappings).
 */
int vgpu_decode(VgpuConn *c, const void *buf, size_t len, VgpuReq *req)
{
    const uint8_t *b = buf;
    const CmdDesc *d;
    VgpuTenant *t = c->tenant;

    memset(req, 0, offsetof(VgpuReq, u));
    memset(&req->u, 0, sizeof(req->u));
    req->fd = -1;
    req->cmd = FIELD32(b, struct vgpu_req_hdr, cmd);
    req->flags = FIELD32(b, struct vgpu_req_hdr, flags);
    req->seq = FIELD64(b, struct vgpu_req_hdr, seq);
    req->ctx_id = FIELD64(b, struct vgpu_req_hdr, ctx);
    req->stream_id = FIELD64(b, struct vgpu_req_hdr, stream);

    /* the fd belongs to this request whatever else is wrong with it */
    if (req->cmd == VGPU_CMD_REGION_REGISTER) {
        req->fd = c->ops->take_fd ? c->ops->take_fd(c) : -1;
    }
    if (len < HDR || FIELD32(b, struct vgpu_req_hdr, len) != len) {
        return VGPU_S_INVALID_VALUE;
    }
    if (FIELD32(b, struct vgpu_req_hdr, reserved)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (req->flags & ~VGPU_REQ_F_ALL) {
        return VGPU_S_INVALID_VALUE;
    }
    d = cmd_desc(req->cmd);
    if (!d) {
        return VGPU_S_OK;
    }
    if ((req->flags & VGPU_REQ_F_NO_REPLY) && !(d->flags & D_ASYNC)) {
        return VGPU_S_INVALID_VALUE;
    }
    if ((d->flags & D_TRAIL) ? len < d->fixed : len != d->fixed) {
        return VGPU_S_INVALID_VALUE;
    }
    if (d->flags & D_CTX_ZERO && req->ctx_id) {
        return VGPU_S_INVALID_VALUE;
    }
    if (d->flags & D_CTX) {
        req->ctx = vgpu_handle_get(&t->handles, req->ctx_id, VGPU_H_CTX);
        if (!req->ctx || req->ctx->dying) {
            req->ctx = NULL;
            return VGPU_S_INVALID_CONTEXT;
        }
        if (req->ctx->sticky && !(d->flags & D_ANY_STICKY)) {
            return req->ctx->sticky;
        }
    }
    if (d->flags & D_STREAM) {
        if (req->stream_id == 0) {
            req->stream = &req->ctx->def;
        } else {
            req->stream = vgpu_handle_get(&t->handles, req->stream_id,
                                          VGPU_H_STREAM);
            if (!req->stream || req->stream->ctx != req->ctx) {
                req->stream = NULL;
                return VGPU_S_INVALID_HANDLE;
            }
        }
    }
    return d->decode ? d->decode(c, b, len, req) : VGPU_S_OK;
}

void vgpu_hostmem_release(VgpuHostMem *h)
{
    if (h->region) {
        vgpu_region_put(h->region);
        h->region = NULL;
    }
    if (h->release) {
        h->release(h->release_opaque);
        h->release = NULL;
    }
    free(h->iovs);
    h->iovs = NULL;
}

/* Drops what vgpu_decode() took and the handler did not consume. */
void vgpu_req_release(VgpuReq *req)
{
    if (req->fd >= 0) {
        close(req->fd);
        req->fd = -1;
    }
    if (req->cmd == VGPU_CMD_MEMCPY_HTOD || req->cmd == VGPU_CMD_MEMCPY_DTOH) {
        vgpu_hostmem_release(&req->u.copy.host);
    }
}
