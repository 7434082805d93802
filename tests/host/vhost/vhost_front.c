// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost_front.c - a minimal vhost-user frontend that drives vgpud's
 * vhost-user sockets the way QEMU would (memfd guest RAM, split rings,
 * kick/call eventfds) with valid and hostile requests; TAP output.
 *
 * vgpud is started by run.sh with two VMs, "vmA" (the one abused) and
 * "vmB" (the bystander that must keep working), plus its admin socket,
 * whose "list" reply shows what every tenant still holds.
 *
 * Ordering without clocks: a kick and a later vhost-user request with a
 * reply are handled in that order by vgpud's single loop thread, so a
 * round trip on the socket after a kick ("barrier") means the kick was
 * processed.  Waits for completions are bounded only to turn a hang into
 * a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "vgpu_virtio.h"

/* ---- vhost-user wire format (docs/interop/vhost-user.rst) -------------- */

enum {
    VU_GET_FEATURES = 1, VU_SET_FEATURES = 2, VU_SET_OWNER = 3,
    VU_SET_MEM_TABLE = 5, VU_SET_VRING_NUM = 8, VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10, VU_GET_VRING_BASE = 11, VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13, VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16, VU_GET_QUEUE_NUM = 17,
    VU_SET_VRING_ENABLE = 18, VU_GET_CONFIG = 24,
};
#define VU_VERSION 0x1u
#define VU_REPLY 0x4u
#define VU_NEED_REPLY 0x8u
#define F_VERSION_1 32
#define F_PROTOCOL_FEATURES 30
#define PF_MQ 0
#define PF_REPLY_ACK 3
#define PF_CONFIG 9

struct vu_hdr {
    uint32_t request, flags, size;
} __attribute__((packed));

struct vu_region {
    uint64_t gpa, size, uaddr, mmap_offset;
};

/* ---- split virtqueues -------------------------------------------------- */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NQ 2
#define QSIZE 64
#define MEM_SIZE (16u << 20)        /* two regions of 8 MiB */
#define REGION_SIZE (MEM_SIZE / 2)
#define QVA_BASE 0x7f0000000000ull  /* the "QEMU" address of guest RAM */
#define RING_AREA 0x10000u          /* per queue, at q * RING_AREA */
#define HEAP_START (1u << 20)

typedef struct Front {
    int sock;
    int memfd;
    uint8_t *mem;
    int kick[NQ], call[NQ];
    uint16_t avail_idx[NQ], used_seen[NQ], next_desc[NQ];
    uint64_t heap;
    uint64_t seq;
} Front;

typedef struct Seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
} Seg;

static const char *dir;
static long vgpud_pid;

static struct vdesc *q_desc(Front *f, int q)
{
    return (struct vdesc *)(f->mem + q * RING_AREA);
}

static uint16_t *q_avail(Front *f, int q)
{
    return (uint16_t *)(f->mem + q * RING_AREA + 0x1000);
}

static uint16_t *q_used(Front *f, int q)
{
    return (uint16_t *)(f->mem + q * RING_AREA + 0x2000);
}

static int vu_send(Front *f, uint32_t req, uint32_t flags, const void *p,
                   uint32_t size, const int *fds, int nfds)
{
    uint8_t buf[512];
    struct vu_hdr h = { req, VU_VERSION | flags, size };
    struct iovec iov = { buf, sizeof(h) + size };
    union {
        struct cmsghdr c;
        char b[CMSG_SPACE(8 * sizeof(int))];
    } cb;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, size);
    if (nfds) {
        memset(&cb, 0, sizeof(cb));
        mh.msg_control = cb.b;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(f->sock, &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len ? 0
                                                                       : -1;
}

static int vu_recv(Front *f, uint32_t req, void *p, uint32_t size)
{
    struct vu_hdr h;
    uint8_t buf[512];

    if (recv(f->sock, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
        h.request != req || !(h.flags & VU_REPLY) || h.size > sizeof(buf)) {
        return -1;
    }
    if (h.size && recv(f->sock, buf, h.size, MSG_WAITALL) != h.size) {
        return -1;
    }
    memcpy(p, buf, h.size < size ? h.size : size);
    return (int)h.size;
}

static int vu_get_u64(Front *f, uint32_t req, uint64_t *v)
{
    return vu_send(f, req, 0, NULL, 0, NULL, 0) ||
           vu_recv(f, req, v, 8) != 8 ? -1 : 0;
}

/* A set message acknowledged with REPLY_ACK: returns vgpud's status. */
static int vu_set(Front *f, uint32_t req, const void *p, uint32_t size,
                  const int *fds, int nfds)
{
    uint64_t ack = 1;

    if (vu_send(f, req, VU_NEED_REPLY, p, size, fds, nfds) ||
        vu_recv(f, req, &ack, 8) != 8) {
        return -1;
    }
    return (int)ack;
}

/* Everything vgpud got before this was handled: see the file comment. */
static int barrier(Front *f)
{
    uint64_t v;

    return vu_get_u64(f, VU_GET_FEATURES, &v);
}

static int ring_start(Front *f, int q)
{
    struct { uint32_t index, num; } st = { (uint32_t)q, QSIZE };
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } addr = { (uint32_t)q, 0, QVA_BASE + q * RING_AREA,
               QVA_BASE + q * RING_AREA + 0x2000,
               QVA_BASE + q * RING_AREA + 0x1000, 0 };
    uint64_t idx = (uint64_t)q;

    memset(f->mem + q * RING_AREA, 0, RING_AREA);
    f->avail_idx[q] = f->used_seen[q] = f->next_desc[q] = 0;
    f->kick[q] = eventfd(0, EFD_CLOEXEC);
    f->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vu_set(f, VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0)) {
        return -1;
    }
    st.num = 0;
    if (vu_set(f, VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0) ||
        vu_set(f, VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0) ||
        vu_set(f, VU_SET_VRING_CALL, &idx, 8, &f->call[q], 1) ||
        vu_set(f, VU_SET_VRING_KICK, &idx, 8, &f->kick[q], 1)) {
        return -1;
    }
    st.num = 1;
    return vu_set(f, VU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
}

/* Stops ring @q as QEMU does when the device stops; -1 on failure. */
static int ring_stop(Front *f, int q)
{
    struct { uint32_t index, num; } st = { (uint32_t)q, 0 };

    if (vu_send(f, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0) ||
        vu_recv(f, VU_GET_VRING_BASE, &st, sizeof(st)) != sizeof(st)) {
        return -1;
    }
    close(f->kick[q]);
    close(f->call[q]);
    f->kick[q] = f->call[q] = -1;
    return 0;
}

/* Device reset: every ring stopped, then started again from scratch. */
static int front_reset(Front *f)
{
    for (int q = 0; q < NQ; q++) {
        if (ring_stop(f, q)) {
            return -1;
        }
    }
    for (int q = 0; q < NQ; q++) {
        if (ring_start(f, q)) {
            return -1;
        }
    }
    return 0;
}

static void front_close(Front *f)
{
    if (f->sock >= 0) {
        close(f->sock);
    }
    for (int q = 0; q < NQ; q++) {
        if (f->kick[q] >= 0) {
            close(f->kick[q]);
        }
        if (f->call[q] >= 0) {
            close(f->call[q]);
        }
    }
    if (f->mem) {
        munmap(f->mem, MEM_SIZE);
    }
    if (f->memfd >= 0) {
        close(f->memfd);
    }
    memset(f, 0, sizeof(*f));
    f->sock = f->memfd = -1;
}

/* Connects to VM @vm's socket and brings the device up; 0 on success. */
static int front_open(Front *f, const char *vm)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint64_t feat, pfeat, nq;
    struct {
        uint32_t n, pad;
        struct vu_region r[2];
    } mt;
    int fds[2];

    memset(f, 0, sizeof(*f));
    f->sock = f->memfd = -1;
    for (int q = 0; q < NQ; q++) {
        f->kick[q] = f->call[q] = -1;
    }
    f->heap = HEAP_START;
    f->seq = 1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", dir, vm);
    f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        return -1;
    }
    f->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
    if (f->memfd < 0 || ftruncate(f->memfd, MEM_SIZE) < 0) {
        return -1;
    }
    f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  f->memfd, 0);
    if (f->mem == MAP_FAILED) {
        f->mem = NULL;
        return -1;
    }
    if (vu_get_u64(f, VU_GET_FEATURES, &feat) ||
        !(feat & (1ull << F_PROTOCOL_FEATURES)) ||
        !(feat & (1ull << F_VERSION_1)) ||
        vu_get_u64(f, VU_GET_PROTOCOL_FEATURES, &pfeat) ||
        !(pfeat & (1ull << PF_REPLY_ACK))) {
        return -1;
    }
    pfeat = (1ull << PF_MQ) | (1ull << PF_REPLY_ACK) | (1ull << PF_CONFIG);
    if (vu_send(f, VU_SET_PROTOCOL_FEATURES, 0, &pfeat, 8, NULL, 0) ||
        vu_get_u64(f, VU_GET_QUEUE_NUM, &nq) || nq < NQ ||
        vu_set(f, VU_SET_OWNER, NULL, 0, NULL, 0)) {
        return -1;
    }
    feat = (1ull << F_VERSION_1) | (1ull << F_PROTOCOL_FEATURES);
    if (vu_set(f, VU_SET_FEATURES, &feat, 8, NULL, 0)) {
        return -1;
    }
    /* two regions adjacent in guest-physical space, one memfd */
    memset(&mt, 0, sizeof(mt));
    mt.n = 2;
    mt.r[0] = (struct vu_region){ 0, REGION_SIZE, QVA_BASE, 0 };
    mt.r[1] = (struct vu_region){ REGION_SIZE, REGION_SIZE,
                                  QVA_BASE + REGION_SIZE, REGION_SIZE };
    fds[0] = fds[1] = f->memfd;
    if (vu_set(f, VU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2)) {
        return -1;
    }
    for (int q = 0; q < NQ; q++) {
        if (ring_start(f, q)) {
            return -1;
        }
    }
    return 0;
}

static uint64_t galloc(Front *f, uint64_t len)
{
    uint64_t a = f->heap;

    f->heap = (f->heap + len + 63) & ~63ull;
    if (f->heap > MEM_SIZE) {
        f->heap = HEAP_START;
        a = f->heap;
        f->heap += (len + 63) & ~63ull;
    }
    return a;
}

/* Places one chain on ring @q and kicks. */
static void submit(Front *f, int q, const Seg *s, int n)
{
    struct vdesc *d = q_desc(f, q);
    uint16_t *avail = q_avail(f, q);
    uint16_t head = f->next_desc[q] % QSIZE;

    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % QSIZE);

        d[idx].addr = s[i].gpa;
        d[idx].len = s[i].len;
        d[idx].flags = (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
                                  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
        d[idx].next = (uint16_t)((idx + 1) % QSIZE);
    }
    f->next_desc[q] = (uint16_t)(f->next_desc[q] + n);
    avail[2 + f->avail_idx[q] % QSIZE] = head;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    f->avail_idx[q]++;
    __atomic_store_n(&avail[1], f->avail_idx[q], __ATOMIC_RELEASE);
    eventfd_write(f->kick[q], 1);
}

static uint16_t used_idx(Front *f, int q)
{
    return __atomic_load_n(&q_used(f, q)[1], __ATOMIC_ACQUIRE);
}

/*
 * Waits for the next used element of ring @q; false if none came (the
 * bound only turns a hang into a failure).
 */
static bool wait_used(Front *f, int q, uint32_t *id, uint32_t *len)
{
    uint32_t *ring = (uint32_t *)(q_used(f, q) + 2);

    for (int i = 0; i < 1000 && used_idx(f, q) == f->used_seen[q]; i++) {
        struct pollfd p = { .fd = f->call[q], .events = POLLIN };
        eventfd_t v;

        if (poll(&p, 1, 10) > 0) {
            eventfd_read(f->call[q], &v);
        }
    }
    if (used_idx(f, q) == f->used_seen[q]) {
        return false;
    }
    uint16_t slot = f->used_seen[q] % QSIZE;
    *id = ring[2 * slot];
    *len = ring[2 * slot + 1];
    f->used_seen[q]++;
    if (f->used_seen[q] == f->avail_idx[q]) {
        f->next_desc[q] = 0;       /* every descriptor is free again */
    }
    return true;
}

/*
 * One request/reply: @req is copied into guest RAM (readable), @rlen
 * bytes of guest RAM receive the reply.  Returns the bytes the device
 * wrote, or -1 if the chain never came back.
 */
static int rpc_q(Front *f, int q, const void *req, uint32_t len, void *resp,
                 uint32_t rlen)
{
    uint64_t a = galloc(f, len), b = galloc(f, rlen);
    Seg s[2] = { { a, len, false }, { b, rlen, true } };
    uint32_t id, used;

    memcpy(f->mem + a, req, len);
    memset(f->mem + b, 0xee, rlen);
    submit(f, q, s, rlen ? 2 : 1);
    if (!wait_used(f, q, &id, &used)) {
        return -1;
    }
    memcpy(resp, f->mem + b, used < rlen ? used : rlen);
    return (int)used;
}

static int rpc(Front *f, const void *req, uint32_t len, void *resp,
               uint32_t rlen)
{
    return rpc_q(f, 1, req, len, resp, rlen);
}

static void hdr_init(Front *f, struct vgpu_req_hdr *h, uint32_t cmd,
                     uint32_t len, uint64_t ctx)
{
    memset(h, 0, sizeof(*h));
    h->cmd = cmd;
    h->len = len;
    h->ctx = ctx;
    h->seq = f->seq++;
}

/* Status of a header-only command, or -1. */
static int simple(Front *f, uint32_t cmd, uint64_t ctx)
{
    struct vgpu_req_hdr h;
    struct vgpu_resp_hdr r;

    hdr_init(f, &h, cmd, sizeof(h), ctx);
    if (rpc(f, &h, sizeof(h), &r, sizeof(r)) < (int)sizeof(r) ||
        r.seq != h.seq) {
        return -1;
    }
    return (int)r.status;
}

static uint64_t ctx_create(Front *f)
{
    struct vgpu_req_hdr h;
    struct vgpu_resp_id r;

    hdr_init(f, &h, VGPU_CMD_CTX_CREATE, sizeof(h), 0);
    if (rpc(f, &h, sizeof(h), &r, sizeof(r)) != sizeof(r) ||
        r.hdr.status != VGPU_S_OK) {
        return 0;
    }
    return r.id;
}

static uint64_t mem_alloc(Front *f, uint64_t ctx, uint64_t size)
{
    struct vgpu_cmd_mem c;
    struct vgpu_resp_mem r;

    memset(&c, 0, sizeof(c));
    hdr_init(f, &c.hdr, VGPU_CMD_MEM_ALLOC, sizeof(c), ctx);
    c.size = size;
    if (rpc(f, &c, sizeof(c), &r, sizeof(r)) != sizeof(r) ||
        r.hdr.status != VGPU_S_OK) {
        return 0;
    }
    return r.dptr;
}

/* A memcpy through an SG table of @n entries; returns the status or -1. */
static int memcpy_sg(Front *f, uint32_t cmd, uint64_t ctx, uint64_t dptr,
                     uint64_t size, const struct vgpu_sg_entry *sg,
                     uint32_t n, uint32_t flags)
{
    size_t len = sizeof(struct vgpu_cmd_memcpy) + n * sizeof(*sg);
    uint8_t *buf = calloc(1, len);
    struct vgpu_cmd_memcpy *c = (void *)buf;
    struct vgpu_resp_hdr r;
    int got;

    hdr_init(f, &c->hdr, cmd, (uint32_t)len, ctx);
    c->hdr.flags = flags;
    c->dptr = dptr;
    c->size = size;
    c->region = VGPU_REGION_SG;
    c->nsg = n;
    memcpy(buf + sizeof(*c), sg, n * sizeof(*sg));
    uint64_t seq = c->hdr.seq;

    got = rpc(f, buf, (uint32_t)len, &r, sizeof(r));
    free(buf);
    if (flags & VGPU_REQ_F_NO_REPLY) {
        return got == 0 ? VGPU_S_OK : got < 0 ? -1 : (int)r.status;
    }
    return got == sizeof(r) && r.seq == seq ? (int)r.status : -1;
}

/* ---- observing vgpud ------------------------------------------------------ */

static char *admin_list(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    static char buf[1 << 16];
    size_t off = 0;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", dir);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        write(s, "list\n", 5) != 5) {
        close(s);
        return NULL;
    }
    while (off < sizeof(buf) - 1 &&
           (n = read(s, buf + off, sizeof(buf) - 1 - off)) > 0) {
        off += (size_t)n;
        if (memchr(buf, '\n', off)) {
            break;
        }
    }
    close(s);
    buf[off] = '\0';
    return buf;
}

/*
 * Connections (tenants with an id) named @name in the admin list (-1: no
 * answer): entries that read "id":N,"name":"@name".
 */
static int tenants_named(const char *name)
{
    char pat[80];
    const char *l = admin_list(), *p;
    int n = 0;

    if (!l) {
        return -1;
    }
    snprintf(pat, sizeof(pat), ",\"name\":\"%s\"", name);
    for (p = l; (p = strstr(p, pat)); p++) {
        const char *q = p;

        while (q > l && q[-1] >= '0' && q[-1] <= '9') {
            q--;
        }
        n += q - l >= 5 && q < p && !strncmp(q - 5, "\"id\":", 5);
    }
    return n;
}

/* A number field of the first admin-list entry named @name, or -1. */
static long long named_field(const char *name, const char *field)
{
    char pat[80];
    const char *l = admin_list(), *p;

    if (!l) {
        return -1;
    }
    snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
    p = strstr(l, pat);
    snprintf(pat, sizeof(pat), "\"%s\":", field);
    p = p ? strstr(p, pat) : NULL;
    return p ? atoll(p + strlen(pat)) : -1;
}

/* A number field of the list's top level (before any tenant), or -1. */
static long long top_field(const char *field)
{
    char pat[80];
    const char *l = admin_list(), *p, *end;

    if (!l) {
        return -1;
    }
    end = strstr(l, "\"tenants\"");
    snprintf(pat, sizeof(pat), "\"%s\":", field);
    p = strstr(l, pat);
    return p && (!end || p < end) ? atoll(p + strlen(pat)) : -1;
}

/* Open fds and guest-RAM mappings of vgpud. */
static int vgpud_fds(void)
{
    char path[64];
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%ld/fd", vgpud_pid);
    d = opendir(path);
    if (!d) {
        return -1;
    }
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

static int vgpud_guest_maps(void)
{
    char path[64], line[512];
    FILE *fp;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%ld/maps", vgpud_pid);
    fp = fopen(path, "r");
    if (!fp) {
        return -1;
    }
    while (fgets(line, sizeof(line), fp)) {
        n += strstr(line, "guest-ram") != NULL;
    }
    fclose(fp);
    return n;
}

/*
 * After vmA's connection closed: waits (bounded) until vgpud dropped its
 * tenant and mappings, and vmA's socket takes a new connection.
 */
static bool vm_a_released(int base_fds, int base_maps)
{
    for (int i = 0; i < 500; i++) {
        if (tenants_named("vmA") == 0 && vgpud_guest_maps() == base_maps &&
            vgpud_fds() == base_fds) {
            return true;
        }
        usleep(10000);
    }
    printf("# vmA tenants %d, maps %d (want %d), fds %d (want %d)\n",
           tenants_named("vmA"), vgpud_guest_maps(), base_maps, vgpud_fds(),
           base_fds);
    return false;
}

/* ---- the bystander -------------------------------------------------------- */

static Front vmb;
static uint64_t vmb_ctx, vmb_buf;
static int base_fds, base_maps;

/* vmB still gets answers, its context works and kept its memory. */
static bool vmb_ok(void)
{
    struct vgpu_sg_entry sg;
    uint64_t g = galloc(&vmb, 4096);

    if (simple(&vmb, VGPU_CMD_NOP, 0) != VGPU_S_OK) {
        return false;
    }
    sg.addr = g;
    sg.len = 4096;
    memset(vmb.mem + g, 0x5a, 4096);
    if (memcpy_sg(&vmb, VGPU_CMD_MEMCPY_HTOD, vmb_ctx, vmb_buf, 4096, &sg, 1,
                  0) != VGPU_S_OK) {
        return false;
    }
    memset(vmb.mem + g, 0, 4096);
    if (memcpy_sg(&vmb, VGPU_CMD_MEMCPY_DTOH, vmb_ctx, vmb_buf, 4096, &sg, 1,
                  0) != VGPU_S_OK) {
        return false;
    }
    for (int i = 0; i < 4096; i++) {
        if (vmb.mem[g + i] != 0x5a) {
            return false;
        }
    }
    return true;
}

/* ---- tests: the valid path ------------------------------------------------ */

TEST(bystander_vm_connects_and_creates_a_context)
{
    CHECK(vgpud_pid > 0);
    CHECK_EQ(front_open(&vmb, "vmB"), 0);
    vmb_ctx = ctx_create(&vmb);
    CHECK(vmb_ctx != 0);
    vmb_buf = mem_alloc(&vmb, vmb_ctx, 1 << 20);
    CHECK(vmb_buf != 0);
    CHECK(vmb_ok());
    CHECK_EQ(tenants_named("vmB"), 1);
    base_fds = vgpud_fds();
    base_maps = vgpud_guest_maps();
    CHECK(base_maps > 0);
}

TEST(get_config_answers_the_device_config)
{
    Front f;
    struct {
        uint32_t offset, size, flags;
        uint8_t cfg[256];
    } m = { 0, sizeof(struct vgpu_virtio_config), 0, { 0 } };
    struct vgpu_virtio_config c;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    CHECK_EQ(vu_send(&f, VU_GET_CONFIG, 0, &m, 12 + m.size, NULL, 0), 0);
    CHECK_EQ(vu_recv(&f, VU_GET_CONFIG, &m, sizeof(m)), 12 + (int)m.size);
    memcpy(&c, m.cfg, sizeof(c));
    CHECK_EQ(c.version, VGPU_PROTOCOL_VERSION);
    CHECK(c.num_queues >= NQ);
    CHECK(c.total_mem > 0);
    CHECK_EQ(c.max_sg, VGPU_MAX_SG);
    CHECK_EQ(c.max_req_size, VGPU_MAX_REQ_SIZE);
    CHECK(memchr(c.name, '\0', sizeof(c.name)) && c.name[0]);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(nop_get_info_contexts_and_sg_copies_work)
{
    Front f;
    struct vgpu_req_hdr h;
    struct vgpu_resp_info info;
    uint64_t c1, c2, d1, d2;
    struct vgpu_sg_entry sg[3];
    uint64_t src, dst;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    CHECK_EQ(rpc_q(&f, 0, &(struct vgpu_req_hdr){ .cmd = VGPU_CMD_NOP,
                   .len = sizeof(h), .seq = 77 }, sizeof(h), &h, 24), 24);
    hdr_init(&f, &h, VGPU_CMD_GET_INFO, sizeof(h), 0);
    CHECK_EQ(rpc(&f, &h, sizeof(h), &info, sizeof(info)), sizeof(info));
    CHECK_EQ(info.hdr.status, VGPU_S_OK);
    CHECK_EQ(info.version, VGPU_PROTOCOL_VERSION);
    CHECK(info.features & (1u << VGPU_F_SG_INDIRECT));
    /* one context per guest process: two of them on one VM */
    c1 = ctx_create(&f);
    c2 = ctx_create(&f);
    CHECK(c1 && c2 && c1 != c2);
    d1 = mem_alloc(&f, c1, 3 << 20);
    d2 = mem_alloc(&f, c2, 4096);
    CHECK(d1 && d2);
    /* a table whose middle entry crosses from one region into the next */
    src = galloc(&f, 1 << 20);
    for (int i = 0; i < (1 << 20); i++) {
        f.mem[src + i] = (uint8_t)(i * 7);
    }
    for (int i = 0; i < (1 << 20); i++) {
        f.mem[REGION_SIZE - 4096 + i] = (uint8_t)(i * 13);
    }
    sg[0].addr = src;
    sg[0].len = 1 << 20;
    sg[1].addr = REGION_SIZE - 4096;
    sg[1].len = 1 << 20;
    sg[2].addr = src;
    sg[2].len = 4096;
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, c1, d1, (2 << 20) + 4096, sg,
                       3, 0), VGPU_S_OK);
    dst = galloc(&f, (2 << 20) + 4096);
    memset(f.mem + dst, 0, (2 << 20) + 4096);
    sg[0].addr = dst;
    sg[0].len = (2 << 20) + 4096;
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_DTOH, c1, d1, (2 << 20) + 4096, sg,
                       1, 0), VGPU_S_OK);
    for (int i = 0; i < (1 << 20); i++) {
        CHECK_EQ(f.mem[dst + i], (uint8_t)(i * 7));
        CHECK_EQ(f.mem[dst + (1 << 20) + i], (uint8_t)(i * 13));
    }
    /* async copy, then the context's sync reports success */
    sg[0].addr = src;
    sg[0].len = 4096;
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, c2, d2, 4096, sg, 1,
                       VGPU_REQ_F_NO_REPLY), VGPU_S_OK);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, c2), VGPU_S_OK);
    /* the other context's device memory is not this one's */
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, c2, d1, 4096, sg, 1, 0),
             VGPU_S_INVALID_VALUE);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_DESTROY, c2), VGPU_S_OK);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(a_kernel_launches_on_data_from_guest_memory)
{
    const char *top = getenv("VGPU_TOP");
    char path[512];
    FILE *fp;
    static char ptx[1 << 16];
    size_t n;
    Front f;
    uint64_t ctx, a, b, c, mod, fn, g;
    const int N = 1024;

    snprintf(path, sizeof(path), "%s/samples/vectorAdd/vectorAdd_kernel.ptx",
             top ? top : ".");
    fp = fopen(path, "r");
    CHECK(fp != NULL);
    n = fread(ptx, 1, sizeof(ptx) - 1, fp);
    fclose(fp);
    ptx[n++] = '\0';
    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    a = mem_alloc(&f, ctx, N * 4);
    b = mem_alloc(&f, ctx, N * 4);
    c = mem_alloc(&f, ctx, N * 4);
    CHECK(ctx && a && b && c);
    {
        size_t len = sizeof(struct vgpu_cmd_module_load) + n;
        uint8_t *buf = calloc(1, len);
        struct vgpu_cmd_module_load *m = (void *)buf;
        struct vgpu_resp_id r;

        hdr_init(&f, &m->hdr, VGPU_CMD_MODULE_LOAD, (uint32_t)len, ctx);
        m->kind = VGPU_IMAGE_PTX;
        m->size = n;
        memcpy(buf + sizeof(*m), ptx, n);
        CHECK(rpc(&f, buf, (uint32_t)len, &r, sizeof(r)) >= 24);
        free(buf);
        CHECK_EQ(r.hdr.status, VGPU_S_OK);
        mod = r.id;
    }
    {
        uint8_t buf[sizeof(struct vgpu_cmd_symbol) + 16];
        struct vgpu_cmd_symbol *s = (void *)buf;
        uint8_t rb[1024];
        struct vgpu_resp_func *r = (void *)rb;

        memset(buf, 0, sizeof(buf));
        hdr_init(&f, &s->hdr, VGPU_CMD_FUNC_GET, sizeof(*s) + 10, ctx);
        s->module = mod;
        s->name_len = 10;
        memcpy(buf + sizeof(*s), "vectorAdd", 10);
        CHECK(rpc(&f, buf, sizeof(*s) + 10, rb, sizeof(rb)) >=
              (int)sizeof(*r));
        CHECK_EQ(r->hdr.status, VGPU_S_OK);
        CHECK_EQ(r->nparams, 4);
        fn = r->func;
        CHECK_EQ(r->param_bytes, 28);
    }
    g = galloc(&f, N * 4);
    for (int i = 0; i < N; i++) {
        float v = (float)i;

        memcpy(f.mem + g + 4 * i, &v, 4);
    }
    struct vgpu_sg_entry sg = { g, N * 4 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, a, N * 4, &sg, 1, 0), 0);
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, b, N * 4, &sg, 1, 0), 0);
    {
        uint8_t buf[sizeof(struct vgpu_cmd_launch) + 28];
        struct vgpu_cmd_launch *l = (void *)buf;
        uint32_t nn = N;

        memset(buf, 0, sizeof(buf));
        hdr_init(&f, &l->hdr, VGPU_CMD_LAUNCH, sizeof(buf), ctx);
        l->func = fn;
        l->grid[0] = N / 256;
        l->grid[1] = l->grid[2] = 1;
        l->block[0] = 256;
        l->block[1] = l->block[2] = 1;
        l->param_bytes = 28;
        memcpy(buf + sizeof(*l), &a, 8);
        memcpy(buf + sizeof(*l) + 8, &b, 8);
        memcpy(buf + sizeof(*l) + 16, &c, 8);
        memcpy(buf + sizeof(*l) + 24, &nn, 4);
        l->hdr.flags = VGPU_REQ_F_NO_REPLY;
        struct vgpu_resp_hdr r;
        CHECK_EQ(rpc(&f, buf, sizeof(buf), &r, sizeof(r)), 0);
    }
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, ctx), VGPU_S_OK);
    memset(f.mem + g, 0, N * 4);
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_DTOH, ctx, c, N * 4, &sg, 1, 0), 0);
    for (int i = 0; i < N; i++) {
        float v;

        memcpy(&v, f.mem + g + 4 * i, 4);
        CHECK(v == 2.0f * (float)i);
    }
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

/* ---- tests: hostile chains answered with an error ------------------------- */

TEST(a_chain_shorter_than_a_header_gets_invalid_value)
{
    Front f;
    struct vgpu_resp_hdr r;
    uint8_t junk[8] = { 1, 2, 3 };

    CHECK_EQ(front_open(&f, "vmA"), 0);
    CHECK_EQ(rpc(&f, junk, sizeof(junk), &r, sizeof(r)), sizeof(r));
    CHECK_EQ(r.status, VGPU_S_INVALID_VALUE);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(a_chain_longer_than_its_header_says_gets_invalid_value)
{
    Front f;
    uint8_t buf[64] = { 0 };
    struct vgpu_req_hdr *h = (void *)buf;
    struct vgpu_resp_hdr r;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    hdr_init(&f, h, VGPU_CMD_NOP, sizeof(*h), 0);
    CHECK_EQ(rpc(&f, buf, sizeof(buf), &r, sizeof(r)), sizeof(r));
    CHECK_EQ(r.status, VGPU_S_INVALID_VALUE);
    CHECK_EQ(r.seq, h->seq);
    /* a header claiming more than the biggest request */
    hdr_init(&f, h, VGPU_CMD_NOP, 0xfffffff0u, 0);
    CHECK_EQ(rpc(&f, buf, sizeof(*h), &r, sizeof(r)), sizeof(r));
    CHECK_EQ(r.status, VGPU_S_INVALID_VALUE);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(a_reply_that_does_not_fit_is_cut_and_a_chain_without_one_returns)
{
    Front f;
    struct vgpu_req_hdr h;
    uint8_t small[16];
    uint32_t id, used;
    uint64_t a;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    hdr_init(&f, &h, VGPU_CMD_GET_INFO, sizeof(h), 0);
    CHECK_EQ(rpc(&f, &h, sizeof(h), small, sizeof(small)), sizeof(small));
    /* no writable descriptor at all */
    hdr_init(&f, &h, VGPU_CMD_NOP, sizeof(h), 0);
    a = galloc(&f, sizeof(h));
    memcpy(f.mem + a, &h, sizeof(h));
    submit(&f, 1, &(Seg){ a, sizeof(h), false }, 1);
    CHECK(wait_used(&f, 1, &id, &used));
    CHECK_EQ(used, 0);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(ids_from_nothing_get_invalid_context_or_handle)
{
    Front f;
    uint64_t ctx;
    struct vgpu_cmd_id c;
    struct vgpu_resp_hdr r;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, 0x0100000000000001ull),
             VGPU_S_INVALID_CONTEXT);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_DESTROY, 12345), VGPU_S_INVALID_CONTEXT);
    /* vmB's context id means nothing in vmA */
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, vmb_ctx), VGPU_S_INVALID_CONTEXT);
    ctx = ctx_create(&f);
    CHECK(ctx != 0);
    memset(&c, 0, sizeof(c));
    hdr_init(&f, &c.hdr, VGPU_CMD_EVENT_SYNC, sizeof(c), ctx);
    c.id = 0xdeadbeefcafeull;
    CHECK_EQ(rpc(&f, &c, sizeof(c), &r, sizeof(r)), sizeof(r));
    CHECK_EQ(r.status, VGPU_S_INVALID_HANDLE);
    CHECK(mem_alloc(&f, vmb_ctx, 4096) == 0);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(sg_entries_outside_ram_wrapping_or_short_get_invalid_value)
{
    Front f;
    uint64_t ctx, d;
    struct vgpu_sg_entry sg[2];

    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    d = mem_alloc(&f, ctx, 1 << 20);
    CHECK(ctx && d);
    /* entirely outside guest RAM */
    sg[0] = (struct vgpu_sg_entry){ MEM_SIZE + 4096, 4096 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 4096, sg, 1, 0),
             VGPU_S_INVALID_VALUE);
    /* starts inside, runs past the end of RAM */
    sg[0] = (struct vgpu_sg_entry){ MEM_SIZE - 4096, 8192 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_DTOH, ctx, d, 8192, sg, 1, 0),
             VGPU_S_INVALID_VALUE);
    /* wraps around the address space */
    sg[0] = (struct vgpu_sg_entry){ 0xfffffffffffff000ull, 0x2000 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 0x2000, sg, 1, 0),
             VGPU_S_INVALID_VALUE);
    /* lengths whose sum wraps to the copy size */
    sg[0] = (struct vgpu_sg_entry){ 4096, 0x8000000000000000ull };
    sg[1] = (struct vgpu_sg_entry){ 8192, 0x8000000000001000ull };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 0x1000, sg, 2, 0),
             VGPU_S_INVALID_VALUE);
    /* a table that covers less than the copy, and an empty entry */
    sg[0] = (struct vgpu_sg_entry){ 4096, 4096 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 8192, sg, 1, 0),
             VGPU_S_INVALID_VALUE);
    sg[1] = (struct vgpu_sg_entry){ 8192, 0 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 4096, sg, 2, 0),
             VGPU_S_INVALID_VALUE);
    /* the same through NO_REPLY: the error waits for the next sync */
    sg[0] = (struct vgpu_sg_entry){ MEM_SIZE, 4096 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 4096, sg, 1,
                       VGPU_REQ_F_NO_REPLY), VGPU_S_OK);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, ctx), VGPU_S_INVALID_VALUE);
    /* nothing was poisoned */
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, ctx), VGPU_S_OK);
    sg[0] = (struct vgpu_sg_entry){ 4096, 4096 };
    CHECK_EQ(memcpy_sg(&f, VGPU_CMD_MEMCPY_HTOD, ctx, d, 4096, sg, 1, 0),
             VGPU_S_OK);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

/* ---- tests: broken rings stop the device until it is reset ---------------- */

/*
 * Submits @s on ring 1; the device must stop serving vmA (a NOP after it
 * is not answered), keep serving vmB, and work again after a reset.
 */
static bool broken_until_reset(const Seg *s, int n)
{
    Front f;
    struct vgpu_req_hdr h;
    uint64_t a;
    bool ok;

    if (front_open(&f, "vmA") || ctx_create(&f) == 0) {
        front_close(&f);
        return false;
    }
    uint16_t u0 = used_idx(&f, 0), u1 = used_idx(&f, 1);

    submit(&f, 1, s, n);
    ok = barrier(&f) == 0;
    hdr_init(&f, &h, VGPU_CMD_NOP, sizeof(h), 0);
    a = galloc(&f, 64);
    memcpy(f.mem + a, &h, sizeof(h));
    submit(&f, 0, (Seg[]){ { a, sizeof(h), false }, { a + 40, 24, true } },
           2);
    ok = ok && barrier(&f) == 0;
    /* neither the bad chain nor the NOP came back */
    if (used_idx(&f, 0) != u0 || used_idx(&f, 1) != u1) {
        printf("# the device kept serving a broken ring\n");
        ok = false;
    }
    ok = ok && vmb_ok();
    ok = ok && front_reset(&f) == 0;
    ok = ok && simple(&f, VGPU_CMD_NOP, 0) == VGPU_S_OK;
    /* the reset tore the old tenant down: only the fresh one is left */
    ok = ok && tenants_named("vmA") == 1;
    front_close(&f);
    return vm_a_released(base_fds, base_maps) && ok;
}

TEST(writable_before_readable_stops_only_that_device)
{
    Seg s[2] = { { HEAP_START, 24, true }, { HEAP_START + 64, 40, false } };

    CHECK(broken_until_reset(s, 2));
}

TEST(a_descriptor_outside_guest_ram_stops_only_that_device)
{
    Seg s[2] = { { MEM_SIZE + 0x1000, 40, false },
                 { HEAP_START, 24, true } };

    CHECK(broken_until_reset(s, 2));
}

TEST(a_descriptor_length_running_off_ram_stops_only_that_device)
{
    Seg s[2] = { { MEM_SIZE - 16, 0xffffffffu, false },
                 { HEAP_START, 24, true } };

    CHECK(broken_until_reset(s, 2));
}

TEST(a_looped_chain_stops_only_that_device)
{
    Front f;
    struct vdesc *d;

    /* two descriptors pointing at each other */
    CHECK_EQ(front_open(&f, "vmA"), 0);
    d = q_desc(&f, 1);
    d[0] = (struct vdesc){ HEAP_START, 40, VRING_DESC_F_NEXT, 1 };
    d[1] = (struct vdesc){ HEAP_START + 64, 24,
                           VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0 };
    q_avail(&f, 1)[2] = 0;
    f.avail_idx[1] = 1;
    __atomic_store_n(&q_avail(&f, 1)[1], 1, __ATOMIC_RELEASE);
    eventfd_write(f.kick[1], 1);
    CHECK_EQ(barrier(&f), 0);
    CHECK_EQ(used_idx(&f, 1), 0);
    CHECK(vmb_ok());
    CHECK_EQ(front_reset(&f), 0);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(an_avail_index_far_ahead_stops_only_that_device)
{
    Front f;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    __atomic_store_n(&q_avail(&f, 1)[1], 1000, __ATOMIC_RELEASE);
    eventfd_write(f.kick[1], 1);
    CHECK_EQ(barrier(&f), 0);
    CHECK_EQ(used_idx(&f, 1), 0);
    CHECK(vmb_ok());
    CHECK_EQ(front_reset(&f), 0);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

/* ---- tests: floods, resets and disconnects --------------------------------- */

TEST(a_flood_of_kicks_and_chains_is_served_in_full)
{
    Front f;
    struct vgpu_req_hdr h;
    uint32_t id, used;
    int done = 0;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    for (int i = 0; i < 100000; i++) {
        eventfd_write(f.kick[0], 1);
        eventfd_write(f.kick[1], 1);
    }
    CHECK_EQ(barrier(&f), 0);
    for (int round = 0; round < 20; round++) {
        uint64_t a = galloc(&f, QSIZE / 2 * 64);

        for (int i = 0; i < QSIZE / 2; i++) {
            hdr_init(&f, &h, VGPU_CMD_NOP, sizeof(h), 0);
            memcpy(f.mem + a + 64 * i, &h, sizeof(h));
            submit(&f, 1, (Seg[]){ { a + 64 * i, sizeof(h), false },
                                   { a + 64 * i + 40, 24, true } }, 2);
        }
        for (int i = 0; i < QSIZE / 2; i++) {
            CHECK(wait_used(&f, 1, &id, &used));
            CHECK_EQ(used, 24);
            done++;
        }
    }
    CHECK_EQ(done, 20 * QSIZE / 2);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(stopping_every_ring_tears_the_tenant_down)
{
    Front f;
    uint64_t ctx;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    CHECK(ctx && mem_alloc(&f, ctx, 1 << 20));
    CHECK_EQ(named_field("vmA", "contexts"), 1);
    CHECK_EQ(named_field("vmA", "mem_used"), 1 << 20);
    CHECK_EQ(front_reset(&f), 0);
    CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    /* the old context is gone with its memory; the id means nothing now */
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, ctx), VGPU_S_INVALID_CONTEXT);
    CHECK_EQ(named_field("vmA", "contexts"), 0);
    CHECK_EQ(named_field("vmA", "mem_used"), 0);
    CHECK_EQ(tenants_named("vmA"), 1);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(a_disconnect_mid_command_frees_everything)
{
    Front f;
    uint64_t ctx, d;
    struct vgpu_sg_entry sg = { HEAP_START, 4u << 20 };

    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    d = mem_alloc(&f, ctx, 4u << 20);
    CHECK(ctx && d);
    /* queue copies that are still running when the socket closes */
    for (int i = 0; i < 8; i++) {
        size_t len = sizeof(struct vgpu_cmd_memcpy) + sizeof(sg);
        uint64_t a = galloc(&f, len + 64);
        struct vgpu_cmd_memcpy c;

        memset(&c, 0, sizeof(c));
        hdr_init(&f, &c.hdr, i & 1 ? VGPU_CMD_MEMCPY_DTOH
                                   : VGPU_CMD_MEMCPY_HTOD, (uint32_t)len, ctx);
        c.dptr = d;
        c.size = sg.len;
        c.nsg = 1;
        memcpy(f.mem + a, &c, sizeof(c));
        memcpy(f.mem + a + sizeof(c), &sg, sizeof(sg));
        submit(&f, 1, (Seg[]){ { a, (uint32_t)len, false },
                               { a + len, 24, true } }, 2);
    }
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
    CHECK(vmb_ok());
}

TEST(a_new_memory_table_while_copies_run_keeps_them_valid)
{
    Front f;
    uint64_t ctx, d;
    struct vgpu_sg_entry sg = { HEAP_START, 2u << 20 };
    struct {
        uint32_t n, pad;
        struct vu_region r[2];
    } mt;
    int fds[2];
    uint32_t id, used;
    int ok = 0;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    d = mem_alloc(&f, ctx, 2u << 20);
    CHECK(ctx && d);
    for (int i = 0; i < 8; i++) {
        size_t len = sizeof(struct vgpu_cmd_memcpy) + sizeof(sg);
        uint64_t a = galloc(&f, len + 64);
        struct vgpu_cmd_memcpy c;

        memset(&c, 0, sizeof(c));
        hdr_init(&f, &c.hdr, i & 1 ? VGPU_CMD_MEMCPY_DTOH
                                   : VGPU_CMD_MEMCPY_HTOD, (uint32_t)len, ctx);
        c.dptr = d;
        c.size = sg.len;
        c.nsg = 1;
        memcpy(f.mem + a, &c, sizeof(c));
        memcpy(f.mem + a + sizeof(c), &sg, sizeof(sg));
        submit(&f, 1, (Seg[]){ { a, (uint32_t)len, false },
                               { a + len, 24, true } }, 2);
    }
    /* the same RAM again, as one region this time */
    memset(&mt, 0, sizeof(mt));
    mt.n = 1;
    mt.r[0] = (struct vu_region){ 0, MEM_SIZE, QVA_BASE, 0 };
    fds[0] = fds[1] = f.memfd;
    CHECK_EQ(vu_set(&f, VU_SET_MEM_TABLE, &mt, 8 + sizeof(mt.r[0]), fds, 1),
             0);
    for (int i = 0; i < 8; i++) {
        CHECK(wait_used(&f, 1, &id, &used));
        ok += used == 24;
    }
    CHECK_EQ(ok, 8);
    CHECK_EQ(simple(&f, VGPU_CMD_CTX_SYNC, ctx), VGPU_S_OK);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

/*
 * Each guest RAM mapping is offered to the executor once and released
 * before it is unmapped.  With a backend that pins (VGPU_EXPECT_PINNED=1:
 * run.sh's cuda arrangement) both regions of every connected VM count, a
 * new memory table replaces the old registrations, and nothing of vmA
 * stays after it left; the sim backend pins nothing.
 */
TEST(guest_ram_is_registered_while_mapped)
{
    const char *e = getenv("VGPU_EXPECT_PINNED");
    long long per_vm = e && atoi(e) ? 2 : 0;
    long long per_vm_bytes = per_vm ? MEM_SIZE : 0;
    struct {
        uint32_t n, pad;
        struct vu_region r[2];
    } mt;
    int fds[2];
    Front f;

    /* vmB, the bystander */
    CHECK_EQ(top_field("vm_pinned"), per_vm);
    CHECK_EQ(top_field("vm_pinned_bytes"), per_vm_bytes);
    CHECK_EQ(front_open(&f, "vmA"), 0);
    CHECK_EQ(top_field("vm_pinned"), 2 * per_vm);
    CHECK_EQ(top_field("vm_pinned_bytes"), 2 * per_vm_bytes);
    /* the same table again: new mappings, the old ones released */
    memset(&mt, 0, sizeof(mt));
    mt.n = 2;
    mt.r[0] = (struct vu_region){ 0, REGION_SIZE, QVA_BASE, 0 };
    mt.r[1] = (struct vu_region){ REGION_SIZE, REGION_SIZE,
                                  QVA_BASE + REGION_SIZE, REGION_SIZE };
    fds[0] = fds[1] = f.memfd;
    CHECK_EQ(vu_set(&f, VU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), 0);
    CHECK_EQ(top_field("vm_pinned"), 2 * per_vm);
    CHECK_EQ(top_field("vm_pinned_bytes"), 2 * per_vm_bytes);
    CHECK(vmb_ok());
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
    CHECK_EQ(top_field("vm_pinned"), per_vm);
    CHECK_EQ(top_field("vm_pinned_bytes"), per_vm_bytes);
}

TEST(a_second_connection_waits_for_the_first)
{
    Front f, g;
    int r;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    /* accepted only once the first one is gone: its setup blocks */
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vmA.sock", dir);
        CHECK_EQ(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
        CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
        CHECK_EQ(tenants_named("vmA"), 1);
        close(s);
    }
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
    r = front_open(&g, "vmA");
    CHECK_EQ(r, 0);
    CHECK_EQ(simple(&g, VGPU_CMD_NOP, 0), VGPU_S_OK);
    front_close(&g);
    CHECK(vm_a_released(base_fds, base_maps));
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Figures for the record (printed, not judged). */
TEST(round_trip_and_copy_figures)
{
    Front f;
    uint64_t ctx, d;
    struct vgpu_sg_entry sg = { HEAP_START, 8u << 20 };
    double t0, t1;
    const int nops = 2000, ncopies = 16;

    CHECK_EQ(front_open(&f, "vmA"), 0);
    ctx = ctx_create(&f);
    d = mem_alloc(&f, ctx, sg.len);
    CHECK(ctx && d);
    t0 = now_s();
    for (int i = 0; i < nops; i++) {
        CHECK_EQ(simple(&f, VGPU_CMD_NOP, 0), VGPU_S_OK);
    }
    t1 = now_s();
    printf("# NOP round trip over vhost-user: %.1f us (%d in a row)\n",
           (t1 - t0) / nops * 1e6, nops);
    t0 = now_s();
    for (int i = 0; i < ncopies; i++) {
        CHECK_EQ(memcpy_sg(&f, i & 1 ? VGPU_CMD_MEMCPY_DTOH
                                     : VGPU_CMD_MEMCPY_HTOD, ctx, d, sg.len,
                           &sg, 1, 0), VGPU_S_OK);
    }
    t1 = now_s();
    printf("# 8 MiB SG copies, synchronous, HtoD/DtoH alternating: "
           "%.2f GB/s (sim backend)\n",
           (double)sg.len * ncopies / (t1 - t0) / 1e9);
    front_close(&f);
    CHECK(vm_a_released(base_fds, base_maps));
}

TEST(bystander_disconnects_cleanly)
{
    CHECK(vmb_ok());
    front_close(&vmb);
    for (int i = 0; i < 500 && (tenants_named("vmB") != 0 ||
                                vgpud_guest_maps() != 0); i++) {
        usleep(10000);
    }
    CHECK_EQ(tenants_named("vmB"), 0);
    CHECK_EQ(vgpud_guest_maps(), 0);
}

/* Is @name one of the comma-separated names of @list? */
static bool named_in(const char *list, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1
                                                     : NULL) {
        if (!strncmp(p, name, len) && (p[len] == ',' || !p[len])) {
            return true;
        }
    }
    return false;
}

static void setup(void)
{
    dir = getenv("VGPU_TEST_DIR");
    vgpud_pid = getenv("VGPUD_PID") ? atol(getenv("VGPUD_PID")) : 0;
    vmb.sock = vmb.memfd = -1;
}

static const struct tap_test tests[] = {
    TAP_ENTRY(bystander_vm_connects_and_creates_a_context),
    TAP_ENTRY(get_config_answers_the_device_config),
    TAP_ENTRY(nop_get_info_contexts_and_sg_copies_work),
    TAP_ENTRY(a_kernel_launches_on_data_from_guest_memory),
    TAP_ENTRY(a_chain_shorter_than_a_header_gets_invalid_value),
    TAP_ENTRY(a_chain_longer_than_its_header_says_gets_invalid_value),
    TAP_ENTRY(a_reply_that_does_not_fit_is_cut_and_a_chain_without_one_returns),
    TAP_ENTRY(ids_from_nothing_get_invalid_context_or_handle),
    TAP_ENTRY(sg_entries_outside_ram_wrapping_or_short_get_invalid_value),
    TAP_ENTRY(writable_before_readable_stops_only_that_device),
    TAP_ENTRY(a_descriptor_outside_guest_ram_stops_only_that_device),
    TAP_ENTRY(a_descriptor_length_running_off_ram_stops_only_that_device),
    TAP_ENTRY(a_looped_chain_stops_only_that_device),
    TAP_ENTRY(an_avail_index_far_ahead_stops_only_that_device),
    TAP_ENTRY(a_flood_of_kicks_and_chains_is_served_in_full),
    TAP_ENTRY(stopping_every_ring_tears_the_tenant_down),
    TAP_ENTRY(a_disconnect_mid_command_frees_everything),
    TAP_ENTRY(a_new_memory_table_while_copies_run_keeps_them_valid),
    TAP_ENTRY(guest_ram_is_registered_while_mapped),
    TAP_ENTRY(a_second_connection_waits_for_the_first),
    TAP_ENTRY(round_trip_and_copy_figures),
    TAP_ENTRY(bystander_disconnects_cleanly),
};

int main(void)
{
    /* VGPU_FRONT_ONLY=name,name,...: only those tests, in table order */
    const char *only = getenv("VGPU_FRONT_ONLY");
    struct tap_test sel[ARRAY_LEN(tests)];
    size_t n = 0;

    setup();
    if (!dir || !vgpud_pid) {
        printf("1..1\nnot ok 1 - VGPU_TEST_DIR and VGPUD_PID set by run.sh\n");
        return 1;
    }
    for (size_t i = 0; i < ARRAY_LEN(tests); i++) {
        if (!only || named_in(only, tests[i].name)) {
            sel[n++] = tests[i];
        }
    }
    if (!n) {
        printf("1..1\nnot ok 1 - VGPU_FRONT_ONLY names a test\n");
        return 1;
    }
    return tap_run(sel, n);
}
