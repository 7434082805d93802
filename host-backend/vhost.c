/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost.c - the vhost-user transport: libvhost-user callbacks that serve
 * the vgpu-virtio device of one VM per socket from vgpud's event loop.
 *
 * Model: QEMU contrib/vhost-user-blk and contrib/vhost-user-gpu.  Each VM
 * (--vm name=...,socket=...) gets a listening socket and, while QEMU is
 * connected, one VuDev and one tenant.  Everything here runs on the loop
 * thread: libvhost-user's watches are epoll registrations, rings are read
 * and completed only here, and copies that executor threads perform come
 * back through the completion queue before their descriptor chains are
 * returned to the guest.
 *
 * A request is one descriptor chain: the device-readable part holds the
 * request (header, command, trailing data such as a scatter-gather
 * table), the device-writable part receives the reply.  The readable bytes
 * are copied out of guest memory before they are validated, so the guest
 * cannot change a request under the decoder; data named by scatter-gather
 * tables is copied straight from and to guest memory by the executor.
 *
 * Guest memory stays mapped while any chain that may point into it is
 * alive: when QEMU replaces the memory table, removes a region or goes
 * away, the old mappings are parked (libvhost-user unmaps a placeholder
 * instead) and unmapped once the chains of that generation are gone.
 *
 * Each mapping of guest RAM is offered to the executor once, right after
 * libvhost-user mapped it (host_register: cuMemHostRegister on a GPU, so
 * copies DMA straight from guest pages), and released just before it is
 * finally unmapped, when no chain can copy from it any more.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost.h"

#define QUEUE_BUDGET 128        /* chains per queue per wakeup */
#define PEND_BUCKETS 256
#define VM_NAME_MAX 48

/* What an epoll tag of this file is (after the VgpuPollKind). */
enum { TAG_LISTEN, TAG_WATCH };

typedef struct VhostConn VhostConn;
typedef struct VhostReq VhostReq;

typedef struct VhostVm {
    VgpuPollKind kind;          /* epoll tag: first member */
    int sub;                    /* TAG_LISTEN */
    char name[VM_NAME_MAX];
    char *path;
    unsigned weight;
    int lfd;
    bool listening;             /* lfd registered with epoll */
    VhostConn *conn;            /* the connected QEMU, one at a time */
    struct VhostVm *next;
} VhostVm;

typedef struct VhostWatch {
    VgpuPollKind kind;          /* epoll tag: first member */
    int sub;                    /* TAG_WATCH */
    VhostConn *vc;
    int fd;
    bool is_sock;               /* the vhost-user socket itself */
    bool dead;                  /* removed; freed at the next flush */
    vu_watch_cb cb;
    void *data;
    struct VhostWatch *next;    /* vc->watches, then dead_watches */
} VhostWatch;

/* Mappings of one memory-table generation, unmapped once unreferenced. */
typedef struct VhostGen {
    uint64_t refs;              /* chains popped while it was current */
    bool retired;
    unsigned n;
    struct {
        void *addr;
        size_t len;
        void *pinned;           /* registered with the executor, or NULL */
        size_t pinned_len;
    } maps[VHOST_USER_MAX_RAM_SLOTS];
    struct VhostGen *next;      /* newer */
} VhostGen;

/* A mapping of guest RAM that libvhost-user made and we offered. */
typedef struct VhostPin {
    uint64_t mmap_addr;         /* libvhost-user's mapping: the key */
    void *addr;                 /* mmap_addr + mmap_offset: what was offered */
    size_t size;
    bool pinned;                /* the executor accepted it */
} VhostPin;

struct VhostReq {
    VuVirtqElement elem;        /* first: vu_queue_pop allocates us */
    VhostConn *vc;
    VhostGen *gen;
    uint16_t qidx;
    uint32_t epoch;             /* vc->epoch[qidx] when popped */
    uint64_t seq;
    int refs;                   /* handler + copies still using the chain */
    bool answered;              /* reply written, or none will come */
    bool linked;                /* on vc->pending */
    uint32_t used;              /* bytes written to the writable part */
    VhostReq *pnext;
};

struct VhostConn {
    VgpuConn base;
    VuDev vu;
    VhostVm *vm;                /* NULL: detached (fuzzer) */
    VgpuServer *srv;
    VhostWatch *watches;
    VhostReq *cur;              /* chain being handled */
    VhostReq *pending[PEND_BUCKETS];    /* waiting for a reply, by seq */
    uint32_t epoch[VGPU_MAX_QUEUES];    /* bumped when a ring stops */
    uint64_t notify;            /* queues with used buffers to signal */
    bool dirty, dead;
    uint64_t live;              /* VhostReq not yet freed */
    VhostGen *gen_old, *gen_cur;
    /* every live mapping of vu.regions that was offered to the executor */
    VhostPin pins[VHOST_USER_MAX_RAM_SLOTS];
    unsigned npins;
    VhostConn *next;            /* dirty_conns or dead_conns */
};

static VhostVm *vms;
static VhostConn *dirty_conns;
static VhostConn *dead_conns;
static VhostWatch *dead_watches;

static const VgpuConnOps vhost_ops;

static VhostConn *to_vc(VgpuConn *c)
{
    return container_of(c, VhostConn, base);
}

static VhostConn *dev_vc(VuDev *dev)
{
    return container_of(dev, VhostConn, vu);
}

static const char *vc_name(VhostConn *vc)
{
    return vc->vm ? vc->vm->name : "detached";
}

/* ---- executor registration of guest RAM -------------------------------- */

static void pin_release(VhostConn *vc, void *addr, size_t size)
{
    VgpuServer *srv = vc->srv;

    srv->ops->host_unregister(srv->exec, addr);
    srv->vm_pinned--;
    srv->vm_pinned_bytes -= size;
    vgpu_debug("vm %s: guest RAM at %p (%zu bytes) unregistered",
               vc_name(vc), addr, size);
}

/*
 * Offers every mapping libvhost-user made since the last call to the
 * executor, once.  A refusal costs only speed: copies then go through the
 * driver's own staging.
 */
static void regions_offer(VhostConn *vc)
{
    VgpuServer *srv = vc->srv;
    static bool told;

    /*
     * A mapping libvhost-user dropped without region_park() seeing it (a
     * message it read differently) is gone already: forget its record, so
     * that a new mapping at the same address is offered again.
     */
    for (unsigned j = 0; j < vc->npins;) {
        uint32_t i;

        for (i = 0; i < vc->vu.nregions &&
             vc->vu.regions[i].mmap_addr != vc->pins[j].mmap_addr; i++) {
        }
        if (i < vc->vu.nregions) {
            j++;
            continue;
        }
        if (vc->pins[j].pinned) {
            pin_release(vc, vc->pins[j].addr, vc->pins[j].size);
        }
        vc->pins[j] = vc->pins[--vc->npins];
    }
    for (uint32_t i = 0; i < vc->vu.nregions; i++) {
        VuDevRegion *r = &vc->vu.regions[i];
        VhostPin *p;
        unsigned j;
        int st;

        if (!r->mmap_addr) {
            continue;
        }
        for (j = 0; j < vc->npins && vc->pins[j].mmap_addr != r->mmap_addr;
             j++) {
        }
        if (j < vc->npins || vc->npins == ARRAY_SIZE(vc->pins)) {
            continue;
        }
        p = &vc->pins[vc->npins++];
        p->mmap_addr = r->mmap_addr;
        p->addr = (void *)(uintptr_t)(r->mmap_addr + r->mmap_offset);
        p->size = r->size;
        p->pinned = false;
        if (!srv->ops->host_register || !r->size) {
            continue;
        }
        st = srv->ops->host_register(srv->exec, p->addr, p->size);
        if (st == VGPU_S_OK) {
            p->pinned = true;
            srv->vm_pinned++;
            srv->vm_pinned_bytes += p->size;
            vgpu_debug("vm %s: guest RAM at %p (%zu bytes) registered",
                       vc_name(vc), p->addr, p->size);
        } else if (!told) {
            told = true;
            vgpu_debug("vm %s: the executor cannot register guest RAM "
                       "(%d); copies go through its staging", vc_name(vc), st);
        }
    }
}

/* Takes the pin record of the mapping at @mmap_addr off the live list. */
static bool pin_take(VhostConn *vc, uint64_t mmap_addr, VhostPin *out)
{
    for (unsigned j = 0; j < vc->npins; j++) {
        if (vc->pins[j].mmap_addr == mmap_addr) {
            *out = vc->pins[j];
            vc->pins[j] = vc->pins[--vc->npins];
            return true;
        }
    }
    return false;
}

/* ---- memory generations ------------------------------------------------- */

static VhostGen *gen_new(VhostConn *vc)
{
    VhostGen *g = calloc(1, sizeof(*g));

    if (!g) {
        return NULL;
    }
    if (vc->gen_cur) {
        vc->gen_cur->next = g;
    } else {
        vc->gen_old = g;
    }
    vc->gen_cur = g;
    return g;
}

/* Unmaps generations from the oldest on, while nothing refers to them. */
static void gen_gc(VhostConn *vc)
{
    while (vc->gen_old && vc->gen_old->retired && !vc->gen_old->refs) {
        VhostGen *g = vc->gen_old;

        for (unsigned i = 0; i < g->n; i++) {
            if (g->maps[i].pinned) {
                pin_release(vc, g->maps[i].pinned, g->maps[i].pinned_len);
            }
            munmap(g->maps[i].addr, g->maps[i].len);
        }
        vc->gen_old = g->next;
        if (vc->gen_cur == g) {
            vc->gen_cur = NULL;
        }
        free(g);
    }
}

/*
 * Parks the mapping of @r in the current generation and leaves an
 * inaccessible placeholder of the same size for libvhost-user to unmap.
 */
static void region_park(VhostConn *vc, VuDevRegion *r)
{
    size_t len = r->size + r->mmap_offset;
    VhostPin pin = { 0 };
    void *ph;

    if (!r->mmap_addr) {
        return;
    }
    pin_take(vc, r->mmap_addr, &pin);
    if (!vc->gen_cur || vc->gen_cur->n >= ARRAY_SIZE(vc->gen_cur->maps)) {
        ph = MAP_FAILED;
        errno = ENOMEM;
    } else {
        ph = mmap(NULL, len, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (ph == MAP_FAILED) {
        /* cannot keep it: copies still in flight would fault */
        vgpu_error("vm %s: cannot keep a guest memory region mapped: %s",
                   vc_name(vc), strerror(errno));
        if (pin.pinned) {
            /* libvhost-user unmaps it now: no registration may outlive it */
            pin_release(vc, pin.addr, pin.size);
        }
        return;
    }
    vc->gen_cur->maps[vc->gen_cur->n].addr = (void *)(uintptr_t)r->mmap_addr;
    vc->gen_cur->maps[vc->gen_cur->n].len = len;
    vc->gen_cur->maps[vc->gen_cur->n].pinned = pin.pinned ? pin.addr : NULL;
    vc->gen_cur->maps[vc->gen_cur->n].pinned_len = pin.size;
    vc->gen_cur->n++;
    r->mmap_addr = (uint64_t)(uintptr_t)ph;
}

/* Ends the current generation; chains popped from now on use a new one. */
static void gen_retire(VhostConn *vc, bool make_new)
{
    if (vc->gen_cur) {
        vc->gen_cur->retired = true;
    }
    if (make_new && !gen_new(vc)) {
        vgpu_error("vm %s: out of memory", vc_name(vc));
    }
    gen_gc(vc);
}

/* ---- chains ------------------------------------------------------------- */

static void mark_dirty(VhostConn *vc)
{
    if (!vc->dirty) {
        vc->dirty = true;
        vc->next = dirty_conns;
        dirty_conns = vc;
    }
}

static void pending_add(VhostConn *vc, VhostReq *r)
{
    VhostReq **pp = &vc->pending[r->seq % PEND_BUCKETS];

    /* at the tail: a reused seq is answered oldest first */
    while (*pp) {
        pp = &(*pp)->pnext;
    }
    r->pnext = NULL;
    *pp = r;
    r->linked = true;
}

static void pending_del(VhostConn *vc, VhostReq *r)
{
    VhostReq **pp = &vc->pending[r->seq % PEND_BUCKETS];

    if (!r->linked) {
        return;
    }
    while (*pp && *pp != r) {
        pp = &(*pp)->pnext;
    }
    if (*pp) {
        *pp = r->pnext;
    }
    r->linked = false;
}

static VhostReq *pending_find(VhostConn *vc, uint64_t seq)
{
    VhostReq *r;

    for (r = vc->pending[seq % PEND_BUCKETS]; r; r = r->pnext) {
        if (r->seq == seq) {
            return r;
        }
    }
    return NULL;
}

/* Returns the chain to the guest (if its ring still runs) and frees it. */
static void req_finish(VhostReq *r)
{
    VhostConn *vc = r->vc;

    if (!vc->dead && r->epoch == vc->epoch[r->qidx]) {
        VuVirtq *vq = vu_get_queue(&vc->vu, r->qidx);

        if (vu_queue_started(&vc->vu, vq)) {
            vu_queue_push(&vc->vu, vq, &r->elem, r->used);
            vc->notify |= 1ull << r->qidx;
            mark_dirty(vc);
        }
    }
    if (r->gen) {
        r->gen->refs--;
    }
    vc->live--;
    free(r);
    gen_gc(vc);
}

static void req_maybe_finish(VhostReq *r)
{
    if (r->answered && !r->refs) {
        req_finish(r);
    }
}

static void req_put(void *opaque)
{
    VhostReq *r = opaque;

    r->refs--;
    req_maybe_finish(r);
}

/* Chains that wait for a reply will get none: return them empty. */
static void pending_abandon(VhostConn *vc)
{
    for (unsigned b = 0; b < PEND_BUCKETS; b++) {
        while (vc->pending[b]) {
            VhostReq *r = vc->pending[b];

            vc->pending[b] = r->pnext;
            r->linked = false;
            r->answered = true;
            req_maybe_finish(r);
        }
    }
}

/**
 * vgpu_vhost_gather - copy the device-readable part of a chain into a
 * private buffer, checking it against the request's own length
 * @out: the readable iovecs (already translated), @out_num of them
 * @buf: set to a malloc'd copy on success
 * @len: its length
 * @seq: the request's seq, as far as the chain holds one (else 0)
 *
 * Returns VGPU_S_OK, or VGPU_S_INVALID_VALUE for a chain that is shorter
 * than a header, longer than VGPU_MAX_REQ_SIZE or not hdr.len bytes long,
 * or VGPU_S_OUT_OF_MEMORY.
 */
int vgpu_vhost_gather(const struct iovec *out, unsigned out_num,
                      uint8_t **buf, size_t *len, uint64_t *seq)
{
    struct vgpu_req_hdr h;
    uint64_t total = 0;
    size_t off = 0;
    uint8_t *b;

    *buf = NULL;
    *len = 0;
    *seq = 0;
    for (unsigned i = 0; i < out_num; i++) {
        if (out[i].iov_len > VGPU_MAX_REQ_SIZE) {
            total = UINT64_MAX;
            break;
        }
        total += out[i].iov_len;
    }
    /* the header first, for the seq an error reply echoes */
    for (unsigned i = 0; i < out_num && off < sizeof(h); i++) {
        size_t n = out[i].iov_len < sizeof(h) - off ? out[i].iov_len
                                                     : sizeof(h) - off;

        memcpy((uint8_t *)&h + off, out[i].iov_base, n);
        off += n;
    }
    if (off < sizeof(h)) {
        return VGPU_S_INVALID_VALUE;
    }
    *seq = h.seq;
    if (total > VGPU_MAX_REQ_SIZE || h.len != total) {
        return VGPU_S_INVALID_VALUE;
    }
    b = malloc(total);
    if (!b) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    off = 0;
    for (unsigned i = 0; i < out_num; i++) {
        memcpy(b + off, out[i].iov_base, out[i].iov_len);
        off += out[i].iov_len;
    }
    /* the guest may have changed the header since it was first read */
    memcpy(&h, b, sizeof(h));
    if (h.len != total) {
        free(b);
        return VGPU_S_INVALID_VALUE;
    }
    *seq = h.seq;
    *buf = b;
    *len = total;
    return VGPU_S_OK;
}

static void handle_chain(VhostConn *vc, unsigned qidx, VhostReq *r)
{
    uint8_t *buf;
    size_t len;
    int st;

    r->vc = vc;
    r->qidx = qidx;
    r->epoch = vc->epoch[qidx];
    r->refs = 1;
    r->answered = false;
    r->linked = false;
    r->used = 0;
    r->gen = vc->gen_cur;
    if (r->gen) {
        r->gen->refs++;
    }
    vc->live++;

    st = vgpu_vhost_gather(r->elem.out_sg, r->elem.out_num, &buf, &len,
                           &r->seq);
    pending_add(vc, r);
    vc->cur = r;
    if (st != VGPU_S_OK) {
        VGPU_LOG_RL(VGPU_LOG_WARN,
                    "vm %s queue %u: malformed request chain (%u readable, "
                    "%u writable descriptors, seq %" PRIu64 "): %d",
                    vc_name(vc), qidx, r->elem.out_num, r->elem.in_num,
                    r->seq, st);
        vc->base.tenant->requests++;
        vgpu_reply_status(&vc->base, NULL, r->seq, st);
    } else {
        const struct vgpu_req_hdr *h = (const void *)buf;

        vgpu_handle_request(&vc->base, buf, len);
        if (!r->answered && (h->flags & VGPU_REQ_F_NO_REPLY) &&
            vgpu_cmd_is_async(h->cmd, buf, len)) {
            /* accepted, or failed into the deferred error: no reply */
            pending_del(vc, r);
            r->answered = true;
        }
        free(buf);
    }
    vc->cur = NULL;
    req_put(r);
}

static void vh_queue_handler(VuDev *dev, int qidx)
{
    VhostConn *vc = dev_vc(dev);
    VuVirtq *vq = vu_get_queue(dev, qidx);
    unsigned n;

    for (n = 0; n < QUEUE_BUDGET && !vc->dead; n++) {
        VhostReq *r = vu_queue_pop(dev, vq, sizeof(VhostReq));

        if (!r) {
            break;
        }
        handle_chain(vc, (unsigned)qidx, r);
    }
    if (n == QUEUE_BUDGET && !vc->dead && !dev->broken &&
        !vu_queue_empty(dev, vq) && vq->kick_fd >= 0) {
        /* more later: let the other fds of this iteration go first */
        eventfd_write(vq->kick_fd, 1);
    }
}

/* ---- transport operations ----------------------------------------------- */

/* Writes @a then @b into @iov; returns the bytes written. */
static size_t iov_put(const struct iovec *iov, unsigned cnt,
                      const void *a, size_t alen, const void *b, size_t blen)
{
    const uint8_t *src[2] = { a, b };
    size_t slen[2] = { alen, blen };
    size_t done = 0, ioff = 0;
    unsigned i = 0;

    for (int s = 0; s < 2; s++) {
        size_t soff = 0;

        while (soff < slen[s] && i < cnt) {
            size_t room = iov[i].iov_len - ioff;
            size_t n = slen[s] - soff < room ? slen[s] - soff : room;

            memcpy((uint8_t *)iov[i].iov_base + ioff, src[s] + soff, n);
            soff += n;
            ioff += n;
            done += n;
            if (ioff == iov[i].iov_len) {
                i++;
                ioff = 0;
            }
        }
    }
    return done;
}

static void vhost_reply(VgpuConn *c, const void *msg, size_t len,
                        const void *data, size_t dlen)
{
    VhostConn *vc = to_vc(c);
    uint64_t seq;
    VhostReq *r;

    memcpy(&seq, (const uint8_t *)msg + offsetof(struct vgpu_resp_hdr, seq),
           sizeof(seq));
    if (vc->dead) {
        return;
    }
    if (vc->cur && !vc->cur->answered && vc->cur->seq == seq) {
        r = vc->cur;
    } else {
        r = pending_find(vc, seq);
    }
    if (!r) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: reply to seq %" PRIu64
                    " has no request chain left", vc_name(vc), seq);
        return;
    }
    pending_del(vc, r);
    r->used = (uint32_t)iov_put(r->elem.in_sg, r->elem.in_num, msg, len,
                                data, dlen);
    if (r->used < len + dlen) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: %zu-byte reply to seq %" PRIu64
                    " cut to the %u bytes of its writable descriptors",
                    vc_name(vc), len + dlen, seq, r->used);
    }
    r->answered = true;
    req_maybe_finish(r);
}

/*
 * Translates one guest-physical range piece by piece (a range may span
 * regions that are adjacent in guest-physical space); false if any byte
 * lies outside guest RAM.
 */
static bool gpa_range(VuDev *dev, uint64_t gpa, uint64_t len,
                      struct iovec **iovs, unsigned *n, unsigned *cap)
{
    while (len) {
        uint64_t l = len;
        void *p = vu_gpa_to_va(dev, &l, gpa);

        if (!p || !l || l > len) {
            return false;
        }
        if (*n && (uint8_t *)(*iovs)[*n - 1].iov_base +
            (*iovs)[*n - 1].iov_len == p) {
            (*iovs)[*n - 1].iov_len += l;
        } else {
            if (*n == *cap) {
                unsigned ncap = *cap * 2;
                struct iovec *ni = realloc(*iovs, ncap * sizeof(**iovs));

                if (!ni) {
                    return false;
                }
                *iovs = ni;
                *cap = ncap;
            }
            (*iovs)[*n].iov_base = p;
            (*iovs)[*n].iov_len = l;
            (*n)++;
        }
        gpa += l;
        len -= l;
    }
    return true;
}

static int vhost_map_sg(VgpuConn *c, const struct vgpu_sg_entry *sg,
                        uint32_t nsg, uint64_t size, bool to_host,
                        VgpuHostMem *out)
{
    VhostConn *vc = to_vc(c);
    uint64_t total = 0;
    struct iovec *iovs;
    unsigned n = 0, cap;

    (void)to_host;      /* guest RAM is mapped read-write */
    for (uint32_t i = 0; i < nsg; i++) {
        uint64_t addr, len;

        memcpy(&addr, &sg[i].addr, sizeof(addr));
        memcpy(&len, &sg[i].len, sizeof(len));
        if (!len || len > UINT64_MAX - addr || len > UINT64_MAX - total) {
            VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: sg entry %u (0x%" PRIx64
                        "+0x%" PRIx64 ") is empty or wraps", vc_name(vc), i,
                        addr, len);
            return VGPU_S_INVALID_VALUE;
        }
        total += len;
    }
    if (total != size) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: sg table covers %" PRIu64
                    " bytes, the copy %" PRIu64, vc_name(vc), total, size);
        return VGPU_S_INVALID_VALUE;
    }
    cap = nsg < 16 ? 16 : nsg;
    iovs = malloc(cap * sizeof(*iovs));
    if (!iovs) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    for (uint32_t i = 0; i < nsg; i++) {
        uint64_t addr, len;

        memcpy(&addr, &sg[i].addr, sizeof(addr));
        memcpy(&len, &sg[i].len, sizeof(len));
        if (!gpa_range(&vc->vu, addr, len, &iovs, &n, &cap)) {
            VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: sg entry %u (0x%" PRIx64
                        "+0x%" PRIx64 ") is outside guest RAM", vc_name(vc),
                        i, addr, len);
            free(iovs);
            return VGPU_S_INVALID_VALUE;
        }
    }
    out->iovs = iovs;
    out->iovcnt = n;
    out->iov1.iov_base = NULL;
    out->iov1.iov_len = 0;
    if (vc->cur) {
        /* the chain (and its memory) stays until the copy is done */
        vc->cur->refs++;
        out->release = req_put;
        out->release_opaque = vc->cur;
    }
    return VGPU_S_OK;
}

static const VgpuConnOps vhost_ops = {
    .map_sg = vhost_map_sg,
    .take_fd = NULL,            /* no descriptors travel on a ring */
    .reply = vhost_reply,
};

/* ---- watches (libvhost-user <-> epoll) ---------------------------------- */

static uint32_t cond_to_epoll(int cond)
{
    uint32_t ev = 0;

    if (cond & VU_WATCH_IN) {
        ev |= EPOLLIN;
    }
    if (cond & VU_WATCH_OUT) {
        ev |= EPOLLOUT;
    }
    if (cond & VU_WATCH_PRI) {
        ev |= EPOLLPRI;
    }
    return ev;
}

static int epoll_to_cond(uint32_t ev)
{
    int cond = 0;

    if (ev & EPOLLIN) {
        cond |= VU_WATCH_IN;
    }
    if (ev & EPOLLOUT) {
        cond |= VU_WATCH_OUT;
    }
    if (ev & EPOLLPRI) {
        cond |= VU_WATCH_PRI;
    }
    if (ev & EPOLLERR) {
        cond |= VU_WATCH_ERR;
    }
    if (ev & EPOLLHUP) {
        cond |= VU_WATCH_HUP;
    }
    return cond;
}

static VhostWatch *watch_find(VhostConn *vc, int fd)
{
    for (VhostWatch *w = vc->watches; w; w = w->next) {
        if (w->fd == fd) {
            return w;
        }
    }
    return NULL;
}

static VhostWatch *watch_set(VhostConn *vc, int fd, int cond, vu_watch_cb cb,
                             void *data, bool is_sock)
{
    VhostWatch *w = watch_find(vc, fd);
    struct epoll_event e = { .events = cond_to_epoll(cond) };

    if (!w) {
        w = calloc(1, sizeof(*w));
        if (!w) {
            vgpu_error("vm %s: out of memory for a watch", vc_name(vc));
            return NULL;
        }
        w->kind = VGPU_POLL_VHOST;
        w->sub = TAG_WATCH;
        w->vc = vc;
        w->fd = fd;
        w->next = vc->watches;
        vc->watches = w;
        e.data.ptr = w;
        if (epoll_ctl(vc->srv->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            vgpu_error("vm %s: epoll add fd %d: %s", vc_name(vc), fd,
                       strerror(errno));
        }
    } else {
        e.data.ptr = w;
        /* the fd may have been closed and reused since it was added */
        if (epoll_ctl(vc->srv->epfd, EPOLL_CTL_MOD, fd, &e) < 0 &&
            epoll_ctl(vc->srv->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            vgpu_error("vm %s: epoll mod fd %d: %s", vc_name(vc), fd,
                       strerror(errno));
        }
    }
    w->cb = cb;
    w->data = data;
    w->is_sock = is_sock;
    return w;
}

static void watch_del(VhostConn *vc, int fd)
{
    VhostWatch **pp = &vc->watches;

    while (*pp && (*pp)->fd != fd) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        VhostWatch *w = *pp;

        *pp = w->next;
        epoll_ctl(vc->srv->epfd, EPOLL_CTL_DEL, fd, NULL);
        /* epoll may still report it in this iteration: free it later */
        w->dead = true;
        w->next = dead_watches;
        dead_watches = w;
    }
}

static void vh_set_watch(VuDev *dev, int fd, int cond, vu_watch_cb cb,
                         void *data)
{
    watch_set(dev_vc(dev), fd, cond, cb, data, false);
}

static void vh_remove_watch(VuDev *dev, int fd)
{
    watch_del(dev_vc(dev), fd);
}

/* ---- device interface --------------------------------------------------- */

static void vh_panic(VuDev *dev, const char *err)
{
    VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: vhost-user: %s; the device stops "
                "until the guest resets it", vc_name(dev_vc(dev)),
                err ? err : "error");
}

static uint64_t vh_get_features(VuDev *dev)
{
    return (1ull << VIRTIO_F_VERSION_1) |
           (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
           (1ull << VIRTIO_RING_F_EVENT_IDX) |
           (1ull << VIRTIO_F_NOTIFY_ON_EMPTY) |
           vgpu_device_features(dev_vc(dev)->srv, true);
}

static void vh_set_features(VuDev *dev, uint64_t features)
{
    vgpu_debug("vm %s: features 0x%" PRIx64, vc_name(dev_vc(dev)), features);
}

static uint64_t vh_get_protocol_features(VuDev *dev)
{
    (void)dev;
    return (1ull << VHOST_USER_PROTOCOL_F_MQ) |
           (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
           (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
}

static int vh_get_config(VuDev *dev, uint8_t *config, uint32_t len)
{
    VhostConn *vc = dev_vc(dev);
    VgpuTenant *t = vc->base.tenant;
    struct vgpu_virtio_config cfg;
    uint64_t mem = vc->srv->info.total_mem;

    memset(&cfg, 0, sizeof(cfg));
    cfg.version = VGPU_PROTOCOL_VERSION;
    cfg.num_queues = dev->max_queues;
    if (t && t->mem_quota && t->mem_quota < mem) {
        mem = t->mem_quota;
    }
    cfg.total_mem = mem;
    cfg.max_sg = VGPU_MAX_SG;
    cfg.max_req_size = VGPU_MAX_REQ_SIZE;
    /* strnlen + memcpy: the device name may be cut, and stays terminated */
    memcpy(cfg.name, vc->srv->info.name,
           strnlen(vc->srv->info.name, sizeof(cfg.name) - 1));
    memset(config, 0, len);
    memcpy(config, &cfg, len < sizeof(cfg) ? len : sizeof(cfg));
    vgpu_debug("vm %s: config read (%u bytes)", vc_name(vc), len);
    return 0;
}

static int vh_set_config(VuDev *dev, const uint8_t *data, uint32_t offset,
                         uint32_t size, uint32_t flags)
{
    (void)data;
    (void)offset;
    (void)size;
    (void)flags;
    VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: config space is read-only",
                vc_name(dev_vc(dev)));
    return -1;
}

/*
 * The VM's device was reset: its contexts go (after their in-flight work)
 * and later requests belong to a fresh tenant of the same name.
 */
static void tenant_reset(VhostConn *vc, const char *why)
{
    VgpuTenant *old = vc->base.tenant;
    VgpuTenant *t;

    for (unsigned i = 0; i < VGPU_MAX_QUEUES; i++) {
        vc->epoch[i]++;
    }
    pending_abandon(vc);
    vc->vu.broken = false;
    if (!old->requests && !old->nctx) {
        return;
    }
    vgpu_info("vm %s: %s; tenant %" PRIu64 " torn down", vc_name(vc), why,
              old->id);
    t = vgpu_tenant_new(vc->srv, vc->vm ? vc->vm->name : "vm");
    if (!t) {
        /* keep serving with the old tenant rather than with none */
        vgpu_error("vm %s: out of memory for a tenant", vc_name(vc));
        return;
    }
    t->weight = old->weight;
    t->mem_quota = old->mem_quota;
    vgpu_tenant_disconnect(old);
    t->conn = &vc->base;
    vc->base.tenant = t;
}

static void vh_queue_set_started(VuDev *dev, int qidx, bool started)
{
    VhostConn *vc = dev_vc(dev);
    VuVirtq *vq = vu_get_queue(dev, qidx);

    vgpu_debug("vm %s: queue %d %s", vc_name(vc), qidx,
               started ? "started" : "stopped");
    vu_set_queue_handler(dev, vq, started ? vh_queue_handler : NULL);
    if (started) {
        return;
    }
    /* chains popped before the stop must not be pushed afterwards */
    vc->epoch[qidx]++;
    for (int i = 0; i < dev->max_queues; i++) {
        if (dev->vq[i].started) {
            return;
        }
    }
    tenant_reset(vc, "every ring stopped");
}

static int vh_process_msg(VuDev *dev, VhostUserMsg *msg, int *do_reply)
{
    VhostConn *vc = dev_vc(dev);

    (void)do_reply;
    vgpu_debug("vm %s: %s", vc_name(vc), vu_request_to_string(msg->request));
    switch (msg->request) {
    case VHOST_USER_SET_MEM_TABLE:
        /* libvhost-user unmaps the old table: keep it for chains in use */
        for (uint32_t i = 0; i < dev->nregions; i++) {
            region_park(vc, &dev->regions[i]);
        }
        gen_retire(vc, true);
        break;
    case VHOST_USER_REM_MEM_REG:
        /* the size check libvhost-user makes before it unmaps */
        if (msg->size >= VHOST_USER_MEM_REG_SIZE) {
            VhostUserMemoryRegion m;

            memcpy(&m, (uint8_t *)msg + offsetof(VhostUserMsg, payload) +
                   offsetof(VhostUserMemRegMsg, region), sizeof(m));
            for (uint32_t i = 0; i < dev->nregions; i++) {
                VuDevRegion *r = &dev->regions[i];

                if (r->gpa == m.guest_phys_addr &&
                    r->size == m.memory_size &&
                    r->qva == m.userspace_addr) {
                    region_park(vc, r);
                }
            }
            gen_retire(vc, true);
        }
        break;
    case VHOST_USER_RESET_OWNER:
        tenant_reset(vc, "owner reset");
        break;
    default:
        break;
    }
    return 0;       /* libvhost-user does the rest */
}

static const VuDevIface vh_iface = {
    .get_features = vh_get_features,
    .set_features = vh_set_features,
    .get_protocol_features = vh_get_protocol_features,
    .process_msg = vh_process_msg,
    .queue_set_started = vh_queue_set_started,
    .get_config = vh_get_config,
    .set_config = vh_set_config,
};

/* ---- connections -------------------------------------------------------- */

static void listen_arm(VgpuServer *srv, VhostVm *vm, bool on)
{
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = vm };

    if (on == vm->listening || vm->lfd < 0) {
        return;
    }
    if (on) {
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, vm->lfd, &e) == 0) {
            vm->listening = true;
        }
    } else {
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, vm->lfd, NULL);
        vm->listening = false;
    }
}

static void conn_teardown(VhostConn *vc, const char *why)
{
    VgpuTenant *t = vc->base.tenant;

    if (vc->dead) {
        return;
    }
    vc->dead = true;
    vgpu_info("vm %s: %s", vc_name(vc), why);
    pending_abandon(vc);
    if (t) {
        /* contexts go once their in-flight work completed */
        vgpu_tenant_disconnect(t);
    }
    vc->base.tenant = NULL;
    for (uint32_t i = 0; i < vc->vu.nregions; i++) {
        region_park(vc, &vc->vu.regions[i]);
    }
    gen_retire(vc, false);
    watch_del(vc, vc->vu.sock);
    vu_deinit(&vc->vu);     /* closes the socket, kick and call fds */
    while (vc->watches) {
        watch_del(vc, vc->watches->fd);
    }
    if (vc->vm) {
        vc->vm->conn = NULL;
        listen_arm(vc->srv, vc->vm, true);
    }
    vc->next = dead_conns;
    dead_conns = vc;
}

static void conn_new(VgpuServer *srv, VhostVm *vm, int fd)
{
    VhostConn *vc = calloc(1, sizeof(*vc));
    VgpuTenant *t = vc ? vgpu_tenant_new(srv, vm->name) : NULL;

    if (!t) {
        vgpu_error("vm %s: out of memory for a connection", vm->name);
        free(vc);
        close(fd);
        return;
    }
    t->weight = vm->weight;
    vc->srv = srv;
    vc->vm = vm;
    vc->base.ops = &vhost_ops;
    vc->base.tenant = t;
    t->conn = &vc->base;
    if (!gen_new(vc) ||
        !vu_init(&vc->vu, VGPU_MAX_QUEUES, fd, vh_panic, NULL, vh_set_watch,
                 vh_remove_watch, &vh_iface)) {
        vgpu_error("vm %s: cannot set up vhost-user", vm->name);
        vgpu_tenant_disconnect(t);
        free(vc->gen_cur);
        free(vc);
        close(fd);
        return;
    }
    if (!watch_set(vc, fd, VU_WATCH_IN, NULL, NULL, true)) {
        conn_teardown(vc, "cannot watch the socket");
        return;
    }
    vm->conn = vc;
    listen_arm(srv, vm, false);
    vgpu_info("vm %s: QEMU connected (tenant %" PRIu64 ", weight %u)",
              vm->name, t->id, t->weight);
}

static void vm_accept(VgpuServer *srv, VhostVm *vm)
{
    int fd;

    if (vm->conn) {
        listen_arm(srv, vm, false);
        return;
    }
    /* blocking: libvhost-user reads whole messages synchronously */
    fd = accept4(vm->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            VGPU_LOG_RL(VGPU_LOG_WARN, "vm %s: accept: %s", vm->name,
                        strerror(errno));
        }
        return;
    }
    conn_new(srv, vm, fd);
}

/**
 * vgpu_vhost_event - epoll reported @events on @tag (a VM's listening
 * socket, or an fd libvhost-user asked to watch)
 */
void vgpu_vhost_event(VgpuServer *srv, void *tag, uint32_t events)
{
    VhostWatch *w = tag;
    VhostConn *vc;

    if (w->sub == TAG_LISTEN) {
        vm_accept(srv, tag);
        return;
    }
    if (w->dead || w->vc->dead) {
        return;
    }
    vc = w->vc;
    if (w->is_sock) {
        char c;

        /*
         * libvhost-user reads a closed socket as a message of type 0 and
         * carries on; notice the end of the connection first.
         */
        if (recv(w->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
            !vu_dispatch(&vc->vu)) {
            conn_teardown(vc, "QEMU disconnected");
            return;
        }
        /* before any chain can name what a message just mapped */
        regions_offer(vc);
        return;
    }
    if (w->cb) {
        w->cb(&vc->vu, epoll_to_cond(events), w->data);
    }
}

/**
 * vgpu_vhost_flush - signal the used buffers of this loop iteration and
 * free what was retired during it
 */
void vgpu_vhost_flush(VgpuServer *srv)
{
    VhostConn **pp;

    (void)srv;
    while (dirty_conns) {
        VhostConn *vc = dirty_conns;

        dirty_conns = vc->next;
        vc->dirty = false;
        for (unsigned q = 0; !vc->dead && q < VGPU_MAX_QUEUES; q++) {
            if (vc->notify & (1ull << q)) {
                vu_queue_notify(&vc->vu, vu_get_queue(&vc->vu, q));
            }
        }
        vc->notify = 0;
    }
    while (dead_watches) {
        VhostWatch *w = dead_watches;

        dead_watches = w->next;
        free(w);
    }
    for (pp = &dead_conns; *pp;) {
        VhostConn *vc = *pp;

        if (vc->live || vc->dirty) {
            pp = &vc->next;
            continue;
        }
        *pp = vc->next;
        gen_gc(vc);
        while (vc->gen_old) {
            /* nothing refers to them any more */
            vc->gen_old->retired = true;
            vc->gen_old->refs = 0;
            gen_gc(vc);
        }
        free(vc);
    }
}

/* ---- set-up ------------------------------------------------------------- */

/**
 * vgpu_vhost_add_vm - remember one --vm name=NAME,socket=PATH[,weight=W]
 *
 * Returns 0, or -1 after printing why the spec is wrong.
 */
int vgpu_vhost_add_vm(const char *spec)
{
    VhostVm *vm = calloc(1, sizeof(*vm));
    char *dup = strdup(spec);
    char *save = NULL, *tok;

    if (!vm || !dup) {
        goto fail;
    }
    vm->kind = VGPU_POLL_VHOST;
    vm->sub = TAG_LISTEN;
    vm->weight = 1;
    vm->lfd = -1;
    for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",",
                                                              &save)) {
        if (!strncmp(tok, "name=", 5) && tok[5] &&
            strlen(tok + 5) < sizeof(vm->name)) {
            snprintf(vm->name, sizeof(vm->name), "%s", tok + 5);
        } else if (!strncmp(tok, "socket=", 7) && tok[7] && !vm->path) {
            vm->path = strdup(tok + 7);
        } else if (!strncmp(tok, "weight=", 7)) {
            char *end;
            unsigned long w = strtoul(tok + 7, &end, 10);

            if (!tok[7] || *end || !w || w > 10000) {
                fprintf(stderr, "vgpud: --vm: weight must be 1..10000\n");
                goto fail;
            }
            vm->weight = (unsigned)w;
        } else {
            fprintf(stderr, "vgpud: --vm: bad field '%s' (want name=NAME,"
                    "socket=PATH[,weight=W])\n", tok);
            goto fail;
        }
    }
    if (!vm->name[0] || !vm->path) {
        fprintf(stderr, "vgpud: --vm needs name= and socket=\n");
        goto fail;
    }
    for (VhostVm *o = vms; o; o = o->next) {
        if (!strcmp(o->name, vm->name) || !strcmp(o->path, vm->path)) {
            fprintf(stderr, "vgpud: --vm %s: name or socket used twice\n",
                    vm->name);
            goto fail;
        }
    }
    free(dup);
    vm->next = vms;
    vms = vm;
    return 0;

fail:
    if (vm) {
        free(vm->path);
    }
    free(vm);
    free(dup);
    return -1;
}

/**
 * vgpu_vhost_open - listen on every VM's socket
 *
 * Returns 0 or -errno (logged).
 */
int vgpu_vhost_open(VgpuServer *srv)
{
    for (VhostVm *vm = vms; vm; vm = vm->next) {
        vm->lfd = vgpu_unix_listen(vm->path);
        if (vm->lfd < 0) {
            int r = vm->lfd;

            vgpu_error("vm %s: socket %s: %s", vm->name, vm->path,
                       strerror(-r));
            vm->lfd = -1;
            return r;
        }
        listen_arm(srv, vm, true);
        vgpu_info("vm %s: vhost-user socket %s (weight %u)", vm->name,
                  vm->path, vm->weight);
    }
    return 0;
}

/**
 * vgpu_vhost_close - disconnect every VM and remove the sockets; memory
 * still used by in-flight copies is released by later loop iterations
 */
void vgpu_vhost_close(VgpuServer *srv)
{
    for (VhostVm *vm = vms; vm; vm = vm->next) {
        if (vm->conn) {
            conn_teardown(vm->conn, "shutting down");
        }
        listen_arm(srv, vm, false);
        if (vm->lfd >= 0) {
            close(vm->lfd);
            unlink(vm->path);
            vm->lfd = -1;
        }
    }
    vgpu_vhost_flush(srv);
}

/**
 * vgpu_vhost_fini - free what vgpu_vhost_close() left (call after the
 * in-flight work drained)
 */
void vgpu_vhost_fini(VgpuServer *srv)
{
    vgpu_vhost_flush(srv);
    while (vms) {
        VhostVm *vm = vms;

        vms = vm->next;
        free(vm->path);
        free(vm);
    }
}

/* ---- fuzzing seam ------------------------------------------------------- */

/**
 * vgpu_vhost_conn_detached - a vhost connection of tenant @t with no socket
 * and no rings, whose memory table the caller fills through *@dev; for
 * driving the request decoder directly
 */
VgpuConn *vgpu_vhost_conn_detached(VgpuTenant *t, VuDev **dev)
{
    VhostConn *vc = calloc(1, sizeof(*vc));

    if (!vc) {
        return NULL;
    }
    vc->srv = t->srv;
    vc->base.ops = &vhost_ops;
    vc->base.tenant = t;
    vc->vu.sock = -1;
    *dev = &vc->vu;
    return &vc->base;
}

void vgpu_vhost_conn_detached_free(VgpuConn *c)
{
    free(to_vc(c));
}
