// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_chain.c - libFuzzer target on vgpud's ring-request decoder: the
 * readable descriptors of a chain are gathered (vgpu_vhost_gather) and
 * decoded (vgpu_decode) on a vhost connection whose memory table is two
 * adjacent regions with a hole after them; every host range the decoder
 * returns must lie inside guest RAM.
 *
 * Input: byte 0 = number of readable descriptors (1..8), byte 1 = fix-up
 * bits (use the live context / its allocation, so deep paths are
 * reached), then the request bytes, cut into descriptors at offsets taken
 * from the request itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "fake_exec.h"
#include "log.h"
#include "vhost.h"

#define RAM (64u << 10)

static VgpuServer srv;
static VgpuTenant *tenant;
static VgpuConn *conn;
static VgpuCtx *ctx;
static uint8_t *ram;
static uint64_t dbase = 0x100000;

static void init(void)
{
    VuDev *dev;

    vgpu_log_level = -1;
    pthread_mutex_init(&srv.cq_lock, NULL);
    srv.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    srv.epfd = -1;
    srv.ops = &fake_exec_ops;
    srv.ops->init(NULL, &srv.exec, NULL, 0);
    srv.ops->device_info(srv.exec, &srv.info);
    vgpu_runq_init(&srv, &vgpu_runq_fifo);
    tenant = vgpu_tenant_new(&srv, "fuzz");
    conn = vgpu_vhost_conn_detached(tenant, &dev);
    tenant->conn = conn;
    if (vgpu_ctx_create(tenant, &ctx) != VGPU_S_OK) {
        abort();
    }
    vgpu_allocs_insert(&ctx->allocs, &(VgpuAlloc){ .base = dbase,
                                                   .size = 1 << 20 });
    ram = calloc(1, RAM);
    /* [0, 32K) and [32K, 64K) adjacent; nothing above 64K */
    dev->nregions = 2;
    dev->regions[0] = (VuDevRegion){ .gpa = 0, .size = RAM / 2,
                                     .mmap_addr = (uintptr_t)ram };
    dev->regions[1] = (VuDevRegion){ .gpa = RAM / 2, .size = RAM / 2,
                                     .mmap_addr = (uintptr_t)ram,
                                     .mmap_offset = RAM / 2 };
}

static void check_inside(const VgpuHostMem *h)
{
    const struct iovec *v = h->iovs ? h->iovs : &h->iov1;
    unsigned n = h->iovs ? h->iovcnt : (h->iov1.iov_len ? 1 : 0);

    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = v[i].iov_base;

        if (p < ram || v[i].iov_len > RAM ||
            p + v[i].iov_len > ram + RAM) {
            abort();        /* a range escaped guest RAM */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iovec iov[8];
    unsigned nd;
    uint8_t *req, *buf;
    size_t len, off = 0;
    uint64_t seq;
    VgpuReq r;

    if (!conn) {
        init();
    }
    if (size < 2 + sizeof(struct vgpu_req_hdr)) {
        return 0;
    }
    nd = data[0] % 8 + 1;
    len = size - 2;
    req = malloc(len);
    memcpy(req, data + 2, len);
    if (data[1] & 1) {
        struct vgpu_req_hdr *h = (void *)req;

        h->len = (uint32_t)len;
        if (data[1] & 2) {
            h->ctx = ctx->id;
        }
        if ((data[1] & 4) && len >= sizeof(struct vgpu_cmd_memcpy)) {
            memcpy(req + offsetof(struct vgpu_cmd_memcpy, dptr), &dbase, 8);
        }
    }
    for (unsigned i = 0; i < nd; i++) {
        size_t cut = i + 1 == nd ? len - off
                                 : (len - off) * ((data[1] >> 3) + i + 1) /
                                   (40 + 8 * nd);

        iov[i].iov_base = req + off;
        iov[i].iov_len = cut;
        off += cut;
    }
    if (vgpu_vhost_gather(iov, nd, &buf, &len, &seq) == VGPU_S_OK) {
        if (vgpu_decode(conn, buf, len, &r) == VGPU_S_OK &&
            (r.cmd == VGPU_CMD_MEMCPY_HTOD || r.cmd == VGPU_CMD_MEMCPY_DTOH)) {
            check_inside(&r.u.copy.host);
        }
        vgpu_req_release(&r);
        free(buf);
    }
    free(req);
    return 0;
}
