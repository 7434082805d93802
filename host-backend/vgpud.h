/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpud.h - vgpud's private types: tenants, contexts, handles, streams,
 * work items, decoded requests and the transport interface.
 *
 * Threading: everything here belongs to the event-loop thread, except the
 * fields of VgpuWork that an executor thread writes before it pushes the
 * item onto the completion queue (status, gpu_ns, t_done) and the output
 * buffer of a context (VgpuCtx.out_lock).
 */
#ifndef VGPUD_H
#define VGPUD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "exec.h"
#include "sched.h"
#include "vgpu_virtio.h"

#define VGPUD_VERSION "0.1"

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef struct VgpuServer VgpuServer;
typedef struct VgpuTenant VgpuTenant;
typedef struct VgpuAcct VgpuAcct;
typedef struct VgpuCtx VgpuCtx;
typedef struct VgpuStream VgpuStream;
typedef struct VgpuEvent VgpuEvent;
typedef struct VgpuModule VgpuModule;
typedef struct VgpuFunc VgpuFunc;
typedef struct VgpuRegion VgpuRegion;
typedef struct VgpuWork VgpuWork;
typedef struct VgpuConn VgpuConn;
typedef struct VgpuWaiter VgpuWaiter;

/* ---- handles (tenant.c) ------------------------------------------------ */

/* Kinds of object an id can name; part of the id, so kinds never mix. */
enum {
    VGPU_H_CTX = 1,
    VGPU_H_STREAM,
    VGPU_H_EVENT,
    VGPU_H_MODULE,
    VGPU_H_FUNC,
    VGPU_H_REGION,
};

typedef struct VgpuHandleSlot {
    void *obj;          /* NULL: free */
    uint32_t next_free;
    uint16_t gen;       /* bumped on free so stale ids stop resolving */
    uint8_t kind;
} VgpuHandleSlot;

/*
 * Per-tenant handle table.  An id packs kind (bits 63..56), the tenant's
 * tag (55..40), the slot's generation (39..24) and the slot index (23..0):
 * ids of another tenant, another kind, or a freed object do not resolve.
 */
typedef struct VgpuHandleTable {
    VgpuHandleSlot *slots;
    uint32_t n, cap, used, limit;
    uint32_t free_head;     /* UINT32_MAX: none */
    uint16_t tag;
} VgpuHandleTable;

#define VGPU_HANDLE_LIMIT (1u << 20)

void vgpu_handles_init(VgpuHandleTable *t, uint16_t tag, uint32_t limit);
void vgpu_handles_fini(VgpuHandleTable *t);
int vgpu_handle_alloc(VgpuHandleTable *t, int kind, void *obj, uint64_t *id);
void *vgpu_handle_get(const VgpuHandleTable *t, uint64_t id, int kind);
void vgpu_handle_free(VgpuHandleTable *t, uint64_t id);

/* ---- device allocations (tenant.c) -------------------------------------- */

typedef struct VgpuAlloc {
    uint64_t base, size;
    bool global;        /* a module global: not freeable by MEM_FREE */
    VgpuModule *module; /* owner of a global */
} VgpuAlloc;

/* Sorted by base, non-overlapping: device-range checks are a bsearch. */
typedef struct VgpuAllocTable {
    VgpuAlloc *v;
    size_t n, cap;
} VgpuAllocTable;

int vgpu_allocs_insert(VgpuAllocTable *t, const VgpuAlloc *a);
bool vgpu_allocs_remove(VgpuAllocTable *t, uint64_t base, VgpuAlloc *out);
const VgpuAlloc *vgpu_allocs_find(const VgpuAllocTable *t, uint64_t base);
bool vgpu_allocs_check(const VgpuAllocTable *t, uint64_t ptr, uint64_t size);
void vgpu_allocs_fini(VgpuAllocTable *t);

/* ---- objects ------------------------------------------------------------ */

/* Engine classes the dispatcher keeps apart (scheduler.md). */
typedef enum VgpuEngine {
    VGPU_ENGINE_COMPUTE,
    VGPU_ENGINE_COPY_H2D,
    VGPU_ENGINE_COPY_D2H,
    VGPU_ENGINE_NR,
} VgpuEngine;

struct VgpuRegion {
    uint64_t id;
    VgpuTenant *tenant;
    void *base;
    uint64_t size;
    int refs;           /* handle + work items copying from/to it */
    /* set when the executor pinned it (host_register); outlives tenants */
    VgpuServer *pinned_by;
};

struct VgpuModule {
    uint64_t id;
    VgpuCtx *ctx;
    VgpuExecModule *em;
    VgpuFunc *funcs;    /* functions got from it, by name */
    VgpuModule *next;   /* ctx->modules */
};

struct VgpuFunc {
    uint64_t id;
    VgpuModule *module;
    VgpuExecFunc *ef;
    char *name;
    uint32_t nparams, param_bytes;
    VgpuParamInfo *params;
    int32_t attrs[VGPU_NUM_FUNC_ATTRS];
    VgpuFunc *next;
};

struct VgpuStream {
    uint64_t id;            /* 0 for the default stream */
    VgpuCtx *ctx;
    VgpuExecStream *es;     /* NULL: the executor's default stream */
    uint32_t flags;         /* CU_STREAM_* */
    int32_t priority;
    int refs;               /* handle, events, dependencies, waiters */
    bool destroyed;         /* STREAM_DESTROY seen; freed once idle */
    /*
     * Work not yet released (FIFO), the items waiting at the dispatcher
     * (ndisp executor items, all of engine disp_engine, disp_pred_ns of
     * predicted GPU time, with the event records between them), and
     * released items in order.  Items complete in stream
     * order, so done_seq counts a prefix of the enq_seq items.
     */
    VgpuWork *pend_head, *pend_tail;
    VgpuWork *disp_head, *disp_tail;    /* at the dispatcher, in order */
    unsigned ndisp;
    uint8_t disp_engine;
    uint64_t disp_pred_ns;
    VgpuWork *fl_head, *fl_tail;
    /*
     * A copy being dispatched in chunks (stream.c): nothing behind it is
     * released until its last chunk was submitted, so no later item of the
     * stream can pass one of its chunks.
     */
    VgpuWork *chunking;
    uint64_t enq_seq, done_seq;
    uint64_t last_done_ns;
    VgpuStream *next;       /* ctx->streams */
    VgpuStream *dead_next;  /* srv->dead_streams */
};

#define VGPU_CU_STREAM_NON_BLOCKING 0x1u
#define VGPU_CU_EVENT_DISABLE_TIMING 0x2u
#define VGPU_CU_EVENT_FLAGS_ALL 0x7u

struct VgpuEvent {
    uint64_t id;
    VgpuCtx *ctx;
    uint32_t flags;
    uint32_t gen;           /* bumped per record; older records are stale */
    bool recorded, done;
    uint64_t ts;            /* completion time, CLOCK_MONOTONIC ns */
    VgpuStream *rec_stream; /* holds a stream reference while set */
    uint64_t rec_seq;
    int refs;               /* handle + pending EVENT_RECORD items */
};

struct VgpuCtx {
    uint64_t id;
    VgpuTenant *tenant;
    VgpuExecCtx *ec;
    VgpuStream def;             /* the legacy default stream */
    VgpuStream *streams;        /* created streams */
    VgpuModule *modules;
    VgpuAllocTable allocs;
    VgpuWaiter *waiters;
    uint64_t outstanding;       /* items enqueued, not completed */
    int sticky;                 /* execution fault: poisons the ctx */
    int deferred;               /* error of a NO_REPLY command */
    bool dying;
    /* kernel printf text: appended by executor threads */
    pthread_mutex_t out_lock;
    char *out;
    size_t out_len;
    bool out_dropped;
    VgpuCtx *next;              /* tenant->ctxs */
};

#define VGPU_OUTPUT_MAX (1u << 20)

/*
 * A named tenant: what the operator configures and the scheduler shares
 * out.  Every connection (a VM, a local process) is a VgpuTenant on one
 * VgpuAcct; processes naming the same tenant (VGPU_CMD_HELLO) share its
 * weight, cap, quota and accounting.
 */
#define VGPU_ACCT_HIST 100          /* 100 ms buckets: the last 10 s */
#define VGPU_ACCT_BUCKET_NS 100000000ull

struct VgpuAcct {
    char name[64];
    VgpuServer *srv;
    double weight;              /* scheduler share (sched.h range) */
    double cap;                 /* max share in (0, 1]; 0: none */
    uint64_t mem_quota;         /* bytes; 0: none */
    uint64_t mem_used;          /* over all its connections */
    bool configured;            /* --tenant/--config/set: kept while unused */
    bool weight_set;            /* by the operator: a VM's own weight yields */
    unsigned refs;              /* connections (VgpuTenant) on it */
    int sched_id;               /* run-queue policy's tenant id; -1: none */
    uint64_t gpu_ns;            /* engine time of completed items */
    uint64_t items;             /* completed executor items */
    uint64_t errors, quota_refusals;
    uint64_t hist_ns[VGPU_ACCT_HIST];   /* engine time per 100 ms bucket */
    uint64_t hist_epoch[VGPU_ACCT_HIST];
    VgpuAcct *next;             /* srv->accts */
};

struct VgpuTenant {
    uint64_t id;
    VgpuAcct *acct;             /* the named tenant it belongs to */
    bool local;                 /* a local client: may join a tenant by name */
    unsigned weight_seen;       /* weight last applied to acct */
    char name[64];
    VgpuServer *srv;
    VgpuConn *conn;             /* NULL once the client went away */
    VgpuHandleTable handles;
    VgpuCtx *ctxs;
    unsigned nctx;
    unsigned weight;            /* a VM's --vm weight; see acct->weight */
    uint64_t mem_used, mem_quota;   /* quota 0: none */
    uint64_t nallocs;
    uint64_t outstanding;
    uint64_t errors;            /* requests answered with an error */
    uint64_t requests;
    bool tearing_down;          /* vgpu_tenant_disconnect() runs */
    VgpuTenant *next;           /* srv->tenants */
};

/* ---- work items (stream.c) ---------------------------------------------- */

typedef enum VgpuWorkKind {
    VGPU_WORK_EXEC,         /* goes to the executor */
    VGPU_WORK_RECORD,       /* EVENT_RECORD: completes in stream order */
    VGPU_WORK_WAIT,         /* STREAM_WAIT_EVENT: a gate, no work */
    VGPU_WORK_SYNC,         /* STREAM_SYNC: replies in stream order */
} VgpuWorkKind;

typedef struct VgpuDep {
    VgpuStream *stream;     /* holds a reference */
    uint64_t seq;           /* satisfied when stream->done_seq >= seq */
} VgpuDep;

#define VGPU_WORK_INLINE_PARAMS 128
#define VGPU_WORK_DEPS 2

struct VgpuWork {
    VgpuExecItem xi;
    VgpuWork *next;         /* stream pending/released list, freelist */
    VgpuWork *qnext;        /* completion queue, dispatcher queues */
    VgpuCtx *ctx;
    VgpuStream *stream;
    uint8_t kind;           /* VgpuWorkKind */
    uint8_t engine;         /* VgpuEngine */
    bool reply;             /* answer on completion */
    bool cancelled;         /* never ran: connection closed or ctx poisoned */
    bool urgent;            /* its completion unblocks something */
    uint32_t cmd;
    uint64_t seq;
    int status;
    uint64_t gpu_ns;
    uint64_t t_done;        /* CLOCK_MONOTONIC ns when it finished */
    uint64_t t_release;
    uint16_t ndeps;
    VgpuDep deps[VGPU_WORK_DEPS];
    VgpuDep *xdeps;         /* more than VGPU_WORK_DEPS: heap */
    VgpuEvent *event;       /* RECORD (holds a reference) */
    uint32_t event_gen;
    VgpuRegion *region;     /* copy from/to a region (holds a reference) */
    void *buf;              /* owned: inline copy data, large params */
    struct iovec iov;
    struct iovec *iovs;     /* scatter-gather from a transport; owned */
    /*
     * Run-queue policy nodes (wfq; VgpuSchedItem.user is the index).  A
     * work uses sitem[0]; a chunked copy uses both in turn, so that its
     * next chunk waits in the policy while the current one runs and its
     * tenant stays backlogged between chunks (cp_ahead).
     */
    VgpuSchedItem sitem[2];
    VgpuSchedItem *snode;   /* node of the chunk queued or running; NULL: sitem */
    uint64_t pred_ns;       /* policy's predicted GPU time (0: none) */
    void (*release_host)(void *opaque);  /* transport resources of the copy */
    void *release_opaque;
    /*
     * A copy above VGPU_COPY_CHUNK_BYTES goes to the executor one chunk at
     * a time (stream.c): xi.u.copy then describes the current chunk, these
     * the whole copy.  cp_size 0: not chunked.
     */
    uint64_t cp_dptr, cp_size;
    uint64_t cp_off;            /* bytes of the copy done before this chunk */
    struct iovec *cp_iov;       /* w->iovs or &w->iov: owned, trimmed in place */
    unsigned cp_iovcnt;
    unsigned cp_idx;            /* iovec the current chunk starts in */
    uint64_t cp_ioff;           /* ... and the offset into it */
    unsigned cp_last;           /* iovec the current chunk ends in */
    bool cp_sliced;             /* cp_iov entries are trimmed to the chunk */
    struct iovec cp_first;      /* cp_iov[cp_idx] before trimming */
    size_t cp_last_len;         /* cp_iov[cp_last].iov_len before trimming */
    bool cp_running;            /* a chunk is with the executor */
    /* node queued (or, with cp_ahead_picked, picked) for the next chunk */
    VgpuSchedItem *cp_ahead;
    bool cp_ahead_picked;
    uint8_t params[VGPU_WORK_INLINE_PARAMS];
};

/* ---- dispatcher seam (runq.c) ------------------------------------------- */

/*
 * Policy that decides which ready item goes to the executor next.  The
 * stream layer hands it several items of a stream only while they are all
 * of one engine class (VGPU_STREAM_DISP_MAX items, VGPU_STREAM_DISP_NS of
 * predicted time at most), so a tenant with one stream stays backlogged;
 * a policy must keep a tenant's items of one engine class in the order it
 * got them, and then stream order holds whatever else it decides (the
 * executor completes submitted items in order per stream).
 */
#define VGPU_STREAM_DISP_MAX 16
#define VGPU_STREAM_DISP_NS 4000000ull

/*
 * Largest piece of a host<->device copy the executor gets at once: a few
 * ms of a copy engine (a 256 MiB copy would hold it for tens of ms), so
 * other tenants' copies interleave within the scheduler's window, yet
 * large enough that the per-chunk round trip through the loop thread stays
 * a small part of the chunk's transfer time.
 */
#define VGPU_COPY_CHUNK_BYTES (4ull << 20)

/*
 * The chunk size while no other tenant has work on the copy's engine
 * class (the wfq policy knows): each chunk costs a round trip through the
 * loop thread with the engine idle, so a tenant alone copies in fewer,
 * larger pieces; one arriving meanwhile waits at most one of them (about
 * 1.3 ms at 25 GB/s), and from the next chunk on the pieces are small.
 */
#define VGPU_COPY_CHUNK_SOLO_BYTES (32ull << 20)

typedef struct VgpuRunqPolicy {
    const char *name;
    void *(*create)(VgpuServer *srv);
    void (*destroy)(void *p);
    /* @w is ready: w->ctx->tenant, w->engine say whose and which engine. */
    void (*enqueue)(void *p, VgpuWork *w);
    /* Next item to submit, or NULL to hold everything until a completion. */
    VgpuWork *(*pick)(void *p);
    /* @w (submitted earlier) finished; w->gpu_ns is its measured cost. */
    void (*completed)(void *p, VgpuWork *w);
    /* Remove and return every queued item of @ctx (linked through qnext). */
    VgpuWork *(*remove_ctx)(void *p, VgpuCtx *ctx);
    /* Tenant lifecycle, so a policy can keep per-tenant state. */
    void (*tenant_add)(void *p, VgpuAcct *a);
    void (*tenant_remove)(void *p, VgpuAcct *a);
    /* Weight or cap of @a changed; returns 0 or -EINVAL. */
    int (*tenant_update)(void *p, VgpuAcct *a);
    /* Per-tenant scheduler figures; false when the policy has none. */
    bool (*tenant_stats)(void *p, VgpuAcct *a, VgpuSchedTenantStats *st);
    /* Items enqueued and not yet picked (or removed). */
    unsigned (*queued)(void *p);
    /*
     * Chunked copies (optional): a chunk of @w with more to follow went to
     * the executor, queue its next chunk ahead;
     * the chunk finished and its next is prepared: 1 if the policy already
     * picked it (submit it now), 0 if it still waits there; the copy ended
     * early: take what was queued ahead back.
     */
    void (*chunk_ahead)(void *p, VgpuWork *w);
    int (*chunk_next)(void *p, VgpuWork *w);
    void (*chunk_cancel)(void *p, VgpuWork *w);
    /* Largest next chunk of copy @w (default VGPU_COPY_CHUNK_BYTES). */
    uint64_t (*chunk_bytes)(void *p, VgpuWork *w);
} VgpuRunqPolicy;

extern const VgpuRunqPolicy vgpu_runq_fifo;
extern const VgpuRunqPolicy vgpu_runq_wfq;

void vgpu_runq_init(VgpuServer *srv, const VgpuRunqPolicy *policy);
void vgpu_runq_fini(VgpuServer *srv);
void vgpu_runq_ready(VgpuServer *srv, VgpuWork *w);
void vgpu_runq_completed(VgpuServer *srv, VgpuWork *w);
void vgpu_runq_pump(VgpuServer *srv);
unsigned vgpu_runq_queued(VgpuServer *srv);
void vgpu_runq_chunk_ahead(VgpuServer *srv, VgpuWork *w);
void vgpu_runq_chunk_next(VgpuServer *srv, VgpuWork *w);
void vgpu_runq_chunk_cancel(VgpuServer *srv, VgpuWork *w);
uint64_t vgpu_runq_chunk_bytes(VgpuServer *srv, VgpuWork *w);
int64_t vgpu_runq_timeout_ns(const VgpuServer *srv, uint64_t now);
VgpuWork *vgpu_runq_remove_ctx(VgpuServer *srv, VgpuCtx *ctx);

/* ---- waiters ------------------------------------------------------------ */

typedef enum VgpuWaitKind {
    VGPU_WAIT_CTX_IDLE,     /* ctx->outstanding == 0 */
    VGPU_WAIT_STREAM,       /* stream->done_seq >= seq */
} VgpuWaitKind;

struct VgpuWaiter {
    VgpuWaitKind kind;
    VgpuStream *stream;     /* STREAM: holds a reference */
    uint64_t seq;
    bool frees_ctx;         /* fn frees the context */
    void (*fn)(VgpuCtx *ctx, VgpuWaiter *w);
    uint32_t cmd;
    uint64_t req_seq;
    uint64_t arg;
    void *ptr;
    VgpuWaiter *next;
};

/* ---- decoded requests (decode.c) ---------------------------------------- */

/*
 * Host side of a copy after translation: iovecs into memory vgpud may
 * touch, and what keeps that memory alive until the copy completed.
 */
typedef struct VgpuHostMem {
    struct iovec iov1;          /* the common one-piece case */
    struct iovec *iovs;         /* NULL: iov1; else owned by this struct */
    unsigned iovcnt;
    VgpuRegion *region;         /* region reference, or NULL */
    bool is_inline;
    const void *inline_data;    /* HTOD INLINE: in the request buffer */
    void (*release)(void *opaque);  /* transport's own resources */
    void *release_opaque;
} VgpuHostMem;

typedef struct VgpuReq {
    uint32_t cmd, flags;
    uint64_t seq, ctx_id, stream_id;
    VgpuCtx *ctx;               /* resolved when the command names one */
    VgpuStream *stream;         /* resolved stream (ctx->def for 0) */
    int fd;                     /* REGION_REGISTER: taken from transport */
    union {
        struct { uint64_t size; } alloc;
        struct { uint64_t dptr; } free;
        struct { uint64_t dptr, size; VgpuHostMem host; } copy;
        struct { uint64_t dst, src, size; } dtod;
        struct { uint64_t dptr, count; uint32_t value, elem; } memset;
        struct { uint64_t size; } region_reg;
        struct { VgpuRegion *region; uint64_t id; } region_unreg;
        struct { uint32_t kind; const void *image; uint64_t size; } load;
        struct { VgpuModule *module; } module;
        struct { VgpuModule *module; const char *name; } symbol;
        struct { const char *name; } hello;
        struct {
            VgpuFunc *func;
            uint32_t grid[3], block[3], shared;
            const void *params;
            uint32_t param_bytes;
        } launch;
        struct { uint32_t flags; int32_t priority; } create;
        struct { VgpuEvent *event; } event;
        struct { VgpuEvent *start, *end; } elapsed;
    } u;
} VgpuReq;

/*
 * Transport interface.  A connection belongs to one tenant; decode and
 * dispatch reach the client only through these operations, so a second
 * transport (vhost-user) plugs in by supplying its own.
 */
typedef struct VgpuConnOps {
    /*
     * Translate @nsg guest scatter-gather entries (as they came in the
     * request) covering @size bytes into host iovecs, bounds-checked against
     * the client's memory; @to_host: the device writes them.  NULL: the
     * transport has no scatter-gather (VGPU_S_INVALID_VALUE).
     */
    int (*map_sg)(VgpuConn *c, const struct vgpu_sg_entry *sg, uint32_t nsg,
                  uint64_t size, bool to_host, VgpuHostMem *out);
    /* Take the file descriptor that travelled with the current request. */
    int (*take_fd)(VgpuConn *c);
    /* Queue one reply: @hdr (with len set) and @len bytes, then @data. */
    void (*reply)(VgpuConn *c, const void *msg, size_t len,
                  const void *data, size_t dlen);
} VgpuConnOps;

struct VgpuConn {
    const VgpuConnOps *ops;
    VgpuTenant *tenant;
};

/* ---- server ------------------------------------------------------------- */

typedef struct VgpuOptions {
    const char *socket_path;
    const char *admin_path;
    const char *backend;
    int fd;
    unsigned threads;
} VgpuOptions;

struct VgpuServer {
    const VgpuExecOps *ops;
    VgpuExec *exec;
    VgpuDeviceInfo info;
    int epfd;
    int evfd;                   /* executor completions */
    /* completion queue: executor threads push, loop thread drains */
    pthread_mutex_t cq_lock;
    VgpuWork *cq_head, *cq_tail;
    bool cq_signalled;
    bool cq_prompt;             /* signal every completion, not batches */
    unsigned cq_len;
    /*
     * Items handed to the executor and not yet pushed onto the completion
     * queue: incremented by the loop thread before submit, decremented by
     * executor threads under cq_lock.  Atomic because the increment is not
     * under the lock.
     */
    uint64_t cq_running;
    /* what makes prompt completion matter (loop thread only) */
    uint64_t nurgent;           /* replying, host or dependent items */
    uint64_t nwaiters;
    /* a copy chunk's size with its engine to itself; 0: the default */
    uint64_t copy_chunk_solo;
    unsigned npaused;           /* connections held back by backpressure */
    VgpuWork *free_work;        /* freelist, loop thread only */
    size_t nfree_work;
    VgpuTenant *tenants;
    VgpuAcct *accts;
    uint64_t next_tenant_id;
    const VgpuRunqPolicy *policy;
    void *policy_data;
    uint64_t inflight;          /* submitted to the executor */
    uint64_t runq_retry_at;     /* policy wants a pump then (0/NEVER: no) */
    VgpuStream *dead_streams;   /* unreferenced, freed by vgpu_reap_streams */
    struct VgpuLocal *local;
    struct VgpuAdmin *admin;
    /* guest RAM mappings the executor pinned (host_register), loop thread */
    uint64_t vm_pinned, vm_pinned_bytes;
};

static inline uint64_t vgpu_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline bool vgpu_status_is_sticky(int s)
{
    switch (s) {
    case VGPU_S_ILLEGAL_ADDRESS:
    case VGPU_S_LAUNCH_TIMEOUT:
    case VGPU_S_LAUNCH_FAILED:
    case VGPU_S_ASSERT:
    case VGPU_S_ILLEGAL_INSTRUCTION:
    case VGPU_S_MISALIGNED_ADDRESS:
        return true;
    default:
        return false;
    }
}

/* tenant.c */
VgpuTenant *vgpu_tenant_new(VgpuServer *srv, const char *name);
void vgpu_tenant_disconnect(VgpuTenant *t);
void vgpu_tenant_maybe_free(VgpuTenant *t);
int vgpu_ctx_create(VgpuTenant *t, VgpuCtx **out);
void vgpu_ctx_destroy_begin(VgpuCtx *ctx, VgpuWaiter *w);
void vgpu_ctx_free(VgpuCtx *ctx);
void vgpu_ctx_print(void *opaque, const char *text, size_t len);
VgpuStream *vgpu_stream_new(VgpuCtx *ctx, uint32_t flags, int32_t prio,
                            int *status);
void vgpu_stream_put(VgpuStream *s);
void vgpu_reap_streams(VgpuServer *srv);
void vgpu_event_put(VgpuEvent *e);
void vgpu_region_put(VgpuRegion *r);
void vgpu_module_free(VgpuModule *m);
void vgpu_ctx_unlink_module(VgpuCtx *ctx, VgpuModule *m);
void vgpu_accts_fini(VgpuServer *srv);
VgpuAcct *vgpu_acct_get(VgpuServer *srv, const char *name, bool create);
int vgpu_acct_set(VgpuAcct *a, const char *key, const char *val,
                  char *err, size_t errlen);
int vgpu_acct_configure(VgpuServer *srv, const char *spec, bool create,
                        char *err, size_t errlen);
int vgpu_acct_load_file(VgpuServer *srv, const char *path);
bool vgpu_tenant_name_ok(const char *name);
int vgpu_tenant_join(VgpuTenant *t, const char *name);
void vgpu_tenant_sync_weight(VgpuTenant *t);
int vgpu_tenant_mem_charge(VgpuTenant *t, uint64_t size);
void vgpu_tenant_mem_uncharge(VgpuTenant *t, uint64_t size);
uint64_t vgpu_tenant_mem_quota(const VgpuTenant *t);
void vgpu_acct_charge(VgpuAcct *a, uint64_t gpu_ns, uint64_t now);
uint64_t vgpu_acct_recent_ns(const VgpuAcct *a, uint64_t now, unsigned buckets);

/* stream.c */
VgpuWork *vgpu_work_new(VgpuServer *srv, VgpuCtx *ctx, VgpuStream *s,
                        VgpuWorkKind kind);
void vgpu_work_free(VgpuServer *srv, VgpuWork *w);
void vgpu_work_enqueue(VgpuServer *srv, VgpuWork *w);
int vgpu_work_add_dep(VgpuWork *w, VgpuStream *s, uint64_t seq);
void vgpu_work_submit(VgpuServer *srv, VgpuWork *w);
void vgpu_completions_drain(VgpuServer *srv);
void vgpu_completions_ack(VgpuServer *srv);
void vgpu_ctx_kick(VgpuCtx *ctx);
void vgpu_ctx_add_waiter(VgpuCtx *ctx, VgpuWaiter *w);
void vgpu_ctx_check_waiters(VgpuCtx *ctx);
bool vgpu_stream_busy(const VgpuStream *s);

/* decode.c */
size_t vgpu_cmd_fixed_size(uint32_t cmd);
bool vgpu_cmd_is_async(uint32_t cmd, const void *buf, size_t len);
int vgpu_decode(VgpuConn *c, const void *buf, size_t len, VgpuReq *req);
void vgpu_req_release(VgpuReq *req);
void vgpu_hostmem_release(VgpuHostMem *h);

/* dispatch.c */
void vgpu_handle_request(VgpuConn *c, const void *buf, size_t len);
void vgpu_reply_status(VgpuConn *c, VgpuCtx *ctx, uint64_t seq, int status);
uint64_t vgpu_device_features(const VgpuServer *srv, bool sg);
void vgpu_reply(VgpuConn *c, VgpuCtx *ctx, struct vgpu_resp_hdr *hdr,
                size_t len, int status, uint64_t seq,
                const void *data, size_t dlen);
void vgpu_work_reply(VgpuServer *srv, VgpuWork *w, int status);
int vgpu_ctx_take_error(VgpuCtx *ctx);

/* admin.c */
int vgpu_admin_open(VgpuServer *srv, const char *path);
void vgpu_admin_close(VgpuServer *srv);
void vgpu_admin_event(VgpuServer *srv, void *tag, uint32_t events);
char *vgpu_admin_list_json(VgpuServer *srv);

/* One named tenant's figures, as "list" and TENANT_INFO report them. */
typedef struct VgpuAcctFigures {
    unsigned contexts, clients, sched_queued;
    uint64_t allocations, queued, requests;
    double share_1s, share_10s;         /* of all tenants' engine time */
    double busy_1s, busy_10s;           /* engine time per wall second */
} VgpuAcctFigures;

void vgpu_acct_figures(VgpuServer *srv, const VgpuAcct *a, uint64_t now,
                       VgpuAcctFigures *f);

/* local.c */
int vgpu_unix_listen(const char *path);
int vgpu_local_open(VgpuServer *srv, const char *path, int fd);
void vgpu_local_close(VgpuServer *srv);
void vgpu_local_event(VgpuServer *srv, void *tag, uint32_t events);
void vgpu_local_flush(VgpuServer *srv);

/* epoll tags: the first member of every object registered with epoll */
typedef enum VgpuPollKind {
    VGPU_POLL_LOCAL_LISTEN,
    VGPU_POLL_LOCAL_CONN,
    VGPU_POLL_ADMIN_LISTEN,
    VGPU_POLL_ADMIN_CONN,
    VGPU_POLL_EVENTFD,
    VGPU_POLL_VHOST,        /* vhost.c: VM listeners and watched fds */
} VgpuPollKind;

#endif /* VGPUD_H */
