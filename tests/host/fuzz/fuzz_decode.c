/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_decode.c - libFuzzer target for vgpud's request decoding.
 *
 * One tenant with a real sim context (allocation, module, function, stream,
 * event, region) is set up once; each input is split into requests the way
 * the local transport frames them, and every request goes through
 * vgpu_decode() and vgpu_req_release().  Decoding is pure validation, so
 * inputs do not change the state later inputs see.
 *
 * FUZZ_WRITE_SEEDS=DIR writes one valid request per command (with the
 * tenant's real ids) to DIR and exits, to seed the corpus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"

static VgpuServer srv;
static VgpuConn conn;
static int region_fd = -1;
static uint64_t ids[8];     /* ctx, dptr, module, func, stream, event, region */
enum { I_CTX, I_DPTR, I_MOD, I_FUNC, I_STREAM, I_EVENT, I_REGION };
static uint8_t reply_buf[4096];
static size_t reply_len;

static void f_reply(VgpuConn *c, const void *msg, size_t len, const void *data,
                    size_t dlen)
{
    (void)c;
    (void)data;
    (void)dlen;
    reply_len = len < sizeof(reply_buf) ? len : sizeof(reply_buf);
    memcpy(reply_buf, msg, reply_len);
}

static int f_take_fd(VgpuConn *c)
{
    int fd = region_fd;

    (void)c;
    region_fd = -1;
    return fd;
}

static const VgpuConnOps f_ops = { .take_fd = f_take_fd, .reply = f_reply };

static const char ptx[] =
    ".version 7.0\n"
    ".target sm_75\n"
    ".address_size 64\n"
    ".global .align 4 .b8 g[64];\n"
    ".visible .entry k(.param .u64 p, .param .u32 n)\n"
    "{\n"
    "    ret;\n"
    "}\n";

/* Builds a request in @buf; returns its length. */
static size_t build(uint8_t *buf, uint32_t cmd, uint64_t ctx, uint64_t stream,
                    const void *body, size_t blen, const void *data,
                    size_t dlen)
{
    struct vgpu_req_hdr h = { .cmd = cmd, .ctx = ctx, .stream = stream,
                              .seq = 1 };

    h.len = (uint32_t)(sizeof(h) + blen + dlen);
    memcpy(buf, &h, sizeof(h));
    if (blen) {
        memcpy(buf + sizeof(h), body, blen);
    }
    if (dlen) {
        memcpy(buf + sizeof(h) + blen, data, dlen);
    }
    return h.len;
}

#define BODY(s) ((const uint8_t *)&(s) + sizeof(struct vgpu_req_hdr))
#define BLEN(s) (sizeof(s) - sizeof(struct vgpu_req_hdr))

static uint64_t call_id(uint32_t cmd, uint64_t ctx, const void *body,
                        size_t blen, const void *data, size_t dlen,
                        size_t id_off)
{
    static uint8_t buf[1024];
    size_t len = build(buf, cmd, ctx, 0, body, blen, data, dlen);
    uint64_t id = 0;

    reply_len = 0;
    vgpu_handle_request(&conn, buf, len);
    if (reply_len >= id_off + 8 &&
        ((struct vgpu_resp_hdr *)reply_buf)->status == 0) {
        memcpy(&id, reply_buf + id_off, 8);
    }
    return id;
}

static void setup(void)
{
    VgpuExecConfig cfg = { .threads = 1 };
    char err[256];
    struct vgpu_cmd_mem m = { .size = 4096 };
    struct vgpu_cmd_module_load ml = { .kind = VGPU_IMAGE_PTX,
                                       .size = sizeof(ptx) };
    struct vgpu_cmd_symbol sym = { .name_len = 2 };
    struct vgpu_cmd_create cr = { .flags = 0 };
    struct vgpu_cmd_region rg = { .size = 65536 };

    vgpu_log_level = -1;
    pthread_mutex_init(&srv.cq_lock, NULL);
    srv.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    srv.epfd = -1;
    srv.ops = &vgpu_exec_sim_ops;
    if (srv.ops->init(&cfg, &srv.exec, err, sizeof(err))) {
        fprintf(stderr, "sim init: %s\n", err);
        abort();
    }
    srv.ops->device_info(srv.exec, &srv.info);
    vgpu_runq_init(&srv, &vgpu_runq_fifo);
    conn.ops = &f_ops;
    conn.tenant = vgpu_tenant_new(&srv, "fuzz");
    conn.tenant->conn = &conn;

    ids[I_CTX] = call_id(VGPU_CMD_CTX_CREATE, 0, NULL, 0, NULL, 0, 24);
    ids[I_DPTR] = call_id(VGPU_CMD_MEM_ALLOC, ids[I_CTX], BODY(m), BLEN(m),
                          NULL, 0, 24);
    ids[I_MOD] = call_id(VGPU_CMD_MODULE_LOAD, ids[I_CTX], BODY(ml),
                         BLEN(ml), ptx, sizeof(ptx), 24);
    sym.module = ids[I_MOD];
    ids[I_FUNC] = call_id(VGPU_CMD_FUNC_GET, ids[I_CTX], BODY(sym),
                          BLEN(sym), "k", 2, 24);
    call_id(VGPU_CMD_GLOBAL_GET, ids[I_CTX], BODY(sym), BLEN(sym), "g", 2,
            24);
    ids[I_STREAM] = call_id(VGPU_CMD_STREAM_CREATE, ids[I_CTX], BODY(cr),
                            BLEN(cr), NULL, 0, 24);
    ids[I_EVENT] = call_id(VGPU_CMD_EVENT_CREATE, ids[I_CTX], BODY(cr),
                           BLEN(cr), NULL, 0, 24);
    region_fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (region_fd < 0 || ftruncate(region_fd, 65536) < 0) {
        abort();
    }
    ids[I_REGION] = call_id(VGPU_CMD_REGION_REGISTER, 0, BODY(rg), BLEN(rg),
                            NULL, 0, 24);
    for (int i = 0; i <= I_REGION; i++) {
        if (!ids[i]) {
            fprintf(stderr, "fuzz setup step %d failed\n", i);
            abort();
        }
    }
}

static void write_seed(const char *dir, int n, const uint8_t *buf, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
    f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

/* One valid request per command, with the tenant's real ids. */
static void write_seeds(const char *dir)
{
    static uint8_t buf[2048];
    uint64_t ctx = ids[I_CTX], d = ids[I_DPTR];
    struct vgpu_cmd_mem m = { .size = 64, .dptr = d };
    struct vgpu_cmd_memcpy cp = { .dptr = d, .size = 8,
                                  .region = VGPU_REGION_INLINE };
    struct vgpu_cmd_memcpy cr = { .dptr = d, .size = 64,
                                  .region = ids[I_REGION], .offset = 128 };
    struct vgpu_cmd_memcpy_dtod dd = { .dst = d, .src = d + 64, .size = 64 };
    struct vgpu_cmd_memset ms = { .dptr = d, .count = 16, .value = 7,
                                  .elem_size = 4 };
    struct vgpu_cmd_symbol sym = { .module = ids[I_MOD], .name_len = 2 };
    struct vgpu_cmd_launch l = { .func = ids[I_FUNC], .grid = { 1, 1, 1 },
                                 .block = { 32, 1, 1 }, .param_bytes = 12 };
    struct vgpu_cmd_id ev = { .id = ids[I_EVENT] };
    struct vgpu_cmd_id mod = { .id = ids[I_MOD] };
    struct vgpu_cmd_id reg = { .id = ids[I_REGION] };
    struct vgpu_cmd_create crt = { .flags = 1 };
    struct vgpu_cmd_elapsed el = { .start = ids[I_EVENT],
                                   .end = ids[I_EVENT] };
    struct vgpu_cmd_module_load ml = { .kind = VGPU_IMAGE_PTX,
                                       .size = sizeof(ptx) };
    uint8_t params[12] = { 0 };
    int n = 0;

    memcpy(params, &d, 8);
#define SEED(cmd, stream, s, data, dlen)                                    \
    write_seed(dir, n++, buf, build(buf, cmd, ctx, stream, BODY(s), BLEN(s), \
                                    data, dlen))
#define SEED0(cmd, c, stream)                                               \
    write_seed(dir, n++, buf, build(buf, cmd, c, stream, NULL, 0, NULL, 0))
    SEED0(VGPU_CMD_NOP, 0, 0);
    SEED0(VGPU_CMD_GET_INFO, 0, 0);
    SEED0(VGPU_CMD_CTX_CREATE, 0, 0);
    SEED0(VGPU_CMD_CTX_SYNC, ctx, 0);
    SEED0(VGPU_CMD_MEM_GET_INFO, ctx, 0);
    SEED0(VGPU_CMD_STREAM_SYNC, ctx, ids[I_STREAM]);
    SEED0(VGPU_CMD_STREAM_QUERY, ctx, ids[I_STREAM]);
    SEED0(VGPU_CMD_OUTPUT_READ, ctx, 0);
    SEED(VGPU_CMD_MEM_ALLOC, 0, m, NULL, 0);
    SEED(VGPU_CMD_MEM_FREE, 0, m, NULL, 0);
    SEED(VGPU_CMD_MEMCPY_HTOD, 0, cp, "abcdefgh", 8);
    SEED(VGPU_CMD_MEMCPY_DTOH, 0, cp, NULL, 0);
    SEED(VGPU_CMD_MEMCPY_HTOD, ids[I_STREAM], cr, NULL, 0);
    SEED(VGPU_CMD_MEMCPY_DTOD, 0, dd, NULL, 0);
    SEED(VGPU_CMD_MEMSET, 0, ms, NULL, 0);
    SEED(VGPU_CMD_MODULE_LOAD, 0, ml, ptx, sizeof(ptx));
    SEED(VGPU_CMD_MODULE_UNLOAD, 0, mod, NULL, 0);
    SEED(VGPU_CMD_FUNC_GET, 0, sym, "k", 2);
    SEED(VGPU_CMD_GLOBAL_GET, 0, sym, "g", 2);
    SEED(VGPU_CMD_LAUNCH, ids[I_STREAM], l, params, 12);
    SEED(VGPU_CMD_STREAM_CREATE, 0, crt, NULL, 0);
    SEED(VGPU_CMD_EVENT_CREATE, 0, crt, NULL, 0);
    SEED(VGPU_CMD_EVENT_RECORD, ids[I_STREAM], ev, NULL, 0);
    SEED(VGPU_CMD_EVENT_QUERY, 0, ev, NULL, 0);
    SEED(VGPU_CMD_STREAM_WAIT_EVENT, 0, ev, NULL, 0);
    SEED(VGPU_CMD_EVENT_ELAPSED, 0, el, NULL, 0);
    SEED(VGPU_CMD_REGION_UNREGISTER, 0, reg, NULL, 0);
    {
        struct vgpu_cmd_region rg = { .size = 4096 };

        SEED(VGPU_CMD_REGION_REGISTER, 0, rg, NULL, 0);
    }
#undef SEED
#undef SEED0
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("FUZZ_WRITE_SEEDS");

    (void)argc;
    (void)argv;
    setup();
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    /* frame like the local transport: hdr.len, bounded, never past the end */
    while (size - off >= sizeof(struct vgpu_req_hdr)) {
        uint32_t len;
        uint8_t *copy;
        VgpuReq req;

        memcpy(&len, data + off + offsetof(struct vgpu_req_hdr, len), 4);
        if (len < sizeof(struct vgpu_req_hdr) || len > size - off) {
            /* a wrong length still reaches decode once, truncated */
            len = (uint32_t)(size - off);
        }
        /* an exact-size heap copy, so ASan sees any read past the end */
        copy = malloc(len);
        memcpy(copy, data + off, len);
        vgpu_decode(&conn, copy, len, &req);
        vgpu_req_release(&req);
        free(copy);
        off += len;
    }
    return 0;
}
