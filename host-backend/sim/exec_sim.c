/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec_sim.c - the sim executor's ops table: device description, contexts,
 * device memory, modules, streams and the engine threads that run items.
 *
 * Each stream (a context's default stream included) has one engine thread
 * that runs its items in order; launches fan out over the executor's
 * worker pool inside sim_launch_run().  Engine threads model one GPU's
 * engines: work of the compute class (launches, memsets, device-to-device
 * copies) holds the single compute engine, which one context at a time may
 * use (streams of that context share it); host-to-device and
 * device-to-host copies each hold their own copy engine.  A context's
 * allocation table is changed
 * only under its mem_lock; a launch runs on an immutable snapshot of it,
 * and host memory is refcounted, so mem_free never waits for a kernel and
 * never pulls memory from under one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

#define SIM_DEFAULT_MEM (4ull << 30)
#define SIM_DEFAULT_BUDGET (1ull << 36)
#define SIM_MAX_SHARED (64u * 1024)
#define SIM_MMAP_THRESHOLD (256u * 1024)

struct VgpuExec {
    VgpuExecConfig cfg;
    unsigned threads;
    uint64_t total_mem;
    _Atomic uint64_t used_mem;
    pthread_mutex_t lock;       /* protects next_addr */
    uint64_t next_addr;
    SimPool *pool;              /* threads - 1 helpers; the engine works too */
    /*
     * The compute engine: owned by one context at a time (any number of
     * its streams), as a GPU time-slices contexts.  A context waiting for
     * it stops further streams of the owner from joining, so no context
     * starves.  Waiters queue in the order they arrived, so the order
     * vgpud's scheduler hands work over is the order it runs, and the
     * engine passes straight to the first of them: only that thread is
     * woken, and nobody can take the engine while it wakes up.
     */
    pthread_mutex_t eng_lock;
    VgpuExecCtx *eng_owner;
    unsigned eng_users;
    unsigned eng_waiting;       /* length of the queue below */
    struct EngWaiter *eng_wq_head, *eng_wq_tail;
    pthread_mutex_t htod_lock;  /* the host-to-device copy engine */
    pthread_mutex_t dtoh_lock;  /* the device-to-host copy engine */
};

/*
 * Host memory behind one allocation.  Refcounted: the context's table holds
 * one reference, and so does every item or launch snapshot that may touch
 * it, so mem_free never pulls memory from under a running kernel and never
 * has to wait for one.
 */
typedef struct HostBuf {
    VgpuExec *exec;
    uint8_t *host;
    uint64_t size;
    bool mmapped;
    _Atomic int refs;
} HostBuf;

typedef struct CtxAlloc {
    SimAlloc a;
    HostBuf *buf;
    bool module_owned;
} CtxAlloc;

/* What one launch sees: an immutable copy of the table. */
typedef struct MemSnap {
    _Atomic int refs;
    size_t n;
    SimAlloc *view;
    HostBuf **bufs;
} MemSnap;

struct VgpuExecStream {
    VgpuExecCtx *ctx;
    pthread_mutex_t lock;       /* protects the queue, busy, stop */
    pthread_cond_t cond;        /* work arrived / stop */
    pthread_cond_t idle;        /* queue drained */
    VgpuExecItem **q;
    size_t qhead, qlen, qcap;
    bool busy, stop;
    pthread_t thr;
    SimScratch *scratch;        /* the engine thread's launch state */
    /*
     * The compute engine as this stream's current item holds it: set by
     * the engine thread before the item runs, read by the threads running
     * its launch (launch_tick); whoever sets eng_yielded first releases it.
     */
    bool eng_held;
    uint64_t eng_t0;
    _Atomic bool eng_yielded;
    bool is_default;
    VgpuExecStream *next;       /* in ctx's list (under ctx->lock) */
};

struct VgpuExecCtx {
    VgpuExec *exec;
    VgpuExecCtxHooks hooks;
    pthread_mutex_t mem_lock;   /* allocs, snap */
    CtxAlloc *allocs;           /* sorted by base */
    size_t nallocs, capallocs;
    MemSnap *snap;              /* current snapshot, NULL when stale */
    pthread_mutex_t lock;       /* stream and module lists */
    VgpuExecStream *def;
    VgpuExecStream *streams;
    VgpuExecModule *modules;    /* loaded and not unloaded */
    _Atomic bool dying;         /* ctx_destroy began: abandon launches */
};

struct VgpuExecFunc {
    VgpuExecModule *mod;
    int index;
};

struct VgpuExecModule {
    VgpuExecCtx *ctx;
    SimProgram *prog;
    VgpuExecFunc *funcs;
    bool may_write_local;       /* sim_program_may_write_local() */
    _Atomic int refs;           /* owner + in-flight launches */
    VgpuExecModule *next;       /* in ctx->modules (under ctx->lock) */
};

/* ---- helpers ----------------------------------------------------------- */

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static unsigned host_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}

/* ---- device ------------------------------------------------------------ */

static void sim_fini(VgpuExec *e);

static int sim_init(const VgpuExecConfig *cfg, VgpuExec **out, char *err,
                    size_t errlen)
{
    VgpuExec *e = calloc(1, sizeof(*e));

    if (!e) {
        snprintf(err, errlen, "out of memory");
        return VGPU_S_OUT_OF_MEMORY;
    }
    if (cfg) {
        e->cfg = *cfg;
    }
    e->threads = e->cfg.threads ? e->cfg.threads : host_cores();
    if (e->threads > 256) {
        e->threads = 256;
    }
    if (!e->cfg.insn_budget) {
        e->cfg.insn_budget = SIM_DEFAULT_BUDGET;
    }
    e->total_mem = SIM_DEFAULT_MEM;
    {
        const char *m = getenv("VGPU_SIM_MEM_MB");
        if (m && atoll(m) > 0) {
            e->total_mem = (uint64_t)atoll(m) << 20;
        }
    }
    e->next_addr = SIM_GLOBAL_BASE + 0x200000;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->eng_lock, NULL);
    pthread_mutex_init(&e->htod_lock, NULL);
    pthread_mutex_init(&e->dtoh_lock, NULL);
    /* Created once: launches borrow the helpers instead of making threads. */
    e->pool = sim_pool_create(e->threads - 1);
    if (!e->pool) {
        snprintf(err, errlen, "out of memory");
        sim_fini(e);
        return VGPU_S_OUT_OF_MEMORY;
    }
    *out = e;
    return VGPU_S_OK;
}

static void sim_fini(VgpuExec *e)
{
    if (e) {
        sim_pool_destroy(e->pool);
        pthread_mutex_destroy(&e->lock);
        pthread_mutex_destroy(&e->eng_lock);
        pthread_mutex_destroy(&e->htod_lock);
        pthread_mutex_destroy(&e->dtoh_lock);
        free(e);
    }
}

/* CUdevice_attribute values (NVIDIA cuda.h) for an sm_75-class device. */
static void fill_attrs(const VgpuExec *e, int32_t *a)
{
    int32_t sms = (int32_t)e->threads;

    a[1] = 1024;            /* MAX_THREADS_PER_BLOCK */
    a[2] = 1024;            /* MAX_BLOCK_DIM_X */
    a[3] = 1024;            /* MAX_BLOCK_DIM_Y */
    a[4] = 64;              /* MAX_BLOCK_DIM_Z */
    a[5] = 2147483647;      /* MAX_GRID_DIM_X */
    a[6] = 65535;           /* MAX_GRID_DIM_Y */
    a[7] = 65535;           /* MAX_GRID_DIM_Z */
    a[8] = 49152;           /* MAX_SHARED_MEMORY_PER_BLOCK */
    a[9] = 65536;           /* TOTAL_CONSTANT_MEMORY */
    a[10] = 32;             /* WARP_SIZE */
    a[11] = 2147483647;     /* MAX_PITCH */
    a[12] = 65536;          /* MAX_REGISTERS_PER_BLOCK */
    a[13] = 1000000;        /* CLOCK_RATE (kHz) */
    a[14] = 512;            /* TEXTURE_ALIGNMENT */
    a[15] = 1;              /* GPU_OVERLAP */
    a[16] = sms;            /* MULTIPROCESSOR_COUNT */
    a[17] = 0;              /* KERNEL_EXEC_TIMEOUT */
    a[18] = 0;              /* INTEGRATED */
    a[19] = 1;              /* CAN_MAP_HOST_MEMORY */
    a[20] = 0;              /* COMPUTE_MODE default */
    a[21] = 131072;         /* MAXIMUM_TEXTURE1D_WIDTH */
    a[22] = 131072;
    a[23] = 65536;
    a[24] = 16384;
    a[25] = 16384;
    a[26] = 16384;
    a[27] = 32768;
    a[28] = 32768;
    a[29] = 2048;
    a[30] = 512;            /* SURFACE_ALIGNMENT */
    a[31] = 1;              /* CONCURRENT_KERNELS */
    a[32] = 0;              /* ECC_ENABLED */
    a[33] = 0;              /* PCI_BUS_ID */
    a[34] = 0;              /* PCI_DEVICE_ID */
    a[35] = 0;              /* TCC_DRIVER */
    a[36] = 5001000;        /* MEMORY_CLOCK_RATE (kHz) */
    a[37] = 256;            /* GLOBAL_MEMORY_BUS_WIDTH */
    a[38] = 4194304;        /* L2_CACHE_SIZE */
    a[39] = 1024;           /* MAX_THREADS_PER_MULTIPROCESSOR */
    a[40] = 2;              /* ASYNC_ENGINE_COUNT */
    a[41] = 1;              /* UNIFIED_ADDRESSING */
    a[42] = 32768;
    a[43] = 2048;
    a[44] = 1;
    a[45] = 32768;
    a[46] = 32768;
    a[47] = 8192;
    a[48] = 8192;
    a[49] = 32768;
    a[50] = 0;              /* PCI_DOMAIN_ID */
    a[51] = 32;             /* TEXTURE_PITCH_ALIGNMENT */
    a[52] = 32768;
    a[53] = 32768;
    a[54] = 2046;
    a[55] = 32768;
    a[56] = 131072;
    a[57] = 65536;
    a[58] = 16384;
    a[59] = 16384;
    a[60] = 16384;
    a[61] = 32768;
    a[62] = 2048;
    a[63] = 32768;
    a[64] = 32768;
    a[65] = 2048;
    a[66] = 32768;
    a[67] = 32768;
    a[68] = 2046;
    a[69] = 268435456;
    a[70] = 131072;
    a[71] = 65000;
    a[72] = 2097120;
    a[73] = 32768;
    a[74] = 32768;
    a[75] = 7;              /* COMPUTE_CAPABILITY_MAJOR */
    a[76] = 5;              /* COMPUTE_CAPABILITY_MINOR */
    a[77] = 32768;
    a[78] = 1;              /* STREAM_PRIORITIES_SUPPORTED */
    a[79] = 1;              /* GLOBAL_L1_CACHE_SUPPORTED */
    a[80] = 1;              /* LOCAL_L1_CACHE_SUPPORTED */
    a[81] = 65536;          /* MAX_SHARED_MEMORY_PER_MULTIPROCESSOR */
    a[82] = 65536;          /* MAX_REGISTERS_PER_MULTIPROCESSOR */
    a[83] = 0;              /* MANAGED_MEMORY */
    a[84] = 0;              /* MULTI_GPU_BOARD */
    a[85] = 0;
    a[86] = 0;              /* HOST_NATIVE_ATOMIC_SUPPORTED */
    a[87] = 32;             /* SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO */
    a[88] = 0;
    a[89] = 0;
    a[90] = 1;              /* COMPUTE_PREEMPTION_SUPPORTED */
    a[91] = 0;
    a[92] = 0;
    a[93] = 0;
    a[94] = 0;
    a[95] = 0;              /* COOPERATIVE_LAUNCH */
    a[96] = 0;
    a[97] = 65536;          /* MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
    a[98] = 0;
    a[99] = 0;              /* HOST_REGISTER_SUPPORTED */
    a[100] = 0;
    a[101] = 0;
    a[102] = 0;
    a[103] = 0;
    a[104] = 0;
    a[105] = 0;
    a[106] = 16;            /* MAX_BLOCKS_PER_MULTIPROCESSOR */
    a[107] = 0;
    a[108] = 0;
    a[109] = 0;
    a[110] = 0;
    a[111] = 0;             /* RESERVED_SHARED_MEMORY_PER_BLOCK */
    a[112] = 0;
    a[113] = 0;
    a[114] = 0;
    a[115] = 0;             /* MEMORY_POOLS_SUPPORTED */
    a[116] = 0;
    a[117] = 0;
    a[118] = 0;
    a[119] = 0;
    a[120] = 0;             /* CLUSTER_LAUNCH */
    a[121] = 0;
    a[122] = 0;
    a[123] = 0;
    a[124] = 0;
    a[125] = 0;
    a[126] = 1;             /* MEM_SYNC_DOMAIN_COUNT */
    a[127] = 0;
    a[128] = 0;
    a[129] = 0;
    a[130] = 0;
    a[131] = -1;            /* NUMA_ID */
    a[132] = 0;
    a[133] = 0;
    a[134] = -1;            /* HOST_NUMA_ID */
}

static void sim_device_info(VgpuExec *e, VgpuDeviceInfo *info)
{
    static const uint8_t uuid[16] = { 0x76, 0x67, 0x70, 0x75, 0x2d, 0x73, 0x69, 0x6d,
                                      0x4e, 0x13, 0x9b, 0x2a, 0x60, 0x1c, 0x00, 0x01 };

    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "vgpu sim (CPU PTX interpreter)");
    memcpy(info->uuid, uuid, sizeof(uuid));
    info->total_mem = e->total_mem;
    info->driver_version = 13000;
    fill_attrs(e, info->attrs);
}

static void sim_mem_get_info(VgpuExec *e, uint64_t *free_, uint64_t *total)
{
    uint64_t used = atomic_load(&e->used_mem);

    *total = e->total_mem;
    *free_ = used < e->total_mem ? e->total_mem - used : 0;
}

/* ---- streams and the engine ----------------------------------------------- */

static int run_item(VgpuExecCtx *ctx, VgpuExecStream *s, VgpuExecItem *it);

/* A stream thread waiting for the compute engine, on its own stack. */
typedef struct EngWaiter {
    pthread_cond_t cond;
    VgpuExecCtx *ctx;
    bool granted;
    struct EngWaiter *next;
} EngWaiter;

static void compute_acquire(VgpuExec *e, VgpuExecCtx *c)
{
    EngWaiter w = { .ctx = c };

    pthread_mutex_lock(&e->eng_lock);
    /*
     * Join the owner's other streams, or take a free engine, only while no
     * one else waits; otherwise queue behind the waiters.  A thread that
     * just released the engine thus cannot take it straight back from a
     * waiter that has not woken yet.
     */
    if ((!e->eng_owner || e->eng_owner == c) && !e->eng_wq_head) {
        e->eng_owner = c;
        e->eng_users++;
        pthread_mutex_unlock(&e->eng_lock);
        return;
    }
    pthread_cond_init(&w.cond, NULL);
    if (e->eng_wq_tail) {
        e->eng_wq_tail->next = &w;
    } else {
        e->eng_wq_head = &w;
    }
    e->eng_wq_tail = &w;
    __atomic_store_n(&e->eng_waiting, e->eng_waiting + 1, __ATOMIC_RELAXED);
    while (!w.granted) {
        pthread_cond_wait(&w.cond, &e->eng_lock);
    }
    /* compute_release made this context the owner and counted us in */
    pthread_mutex_unlock(&e->eng_lock);
    pthread_cond_destroy(&w.cond);
}

static void compute_release(VgpuExec *e)
{
    EngWaiter *w;

    pthread_mutex_lock(&e->eng_lock);
    if (--e->eng_users == 0) {
        e->eng_owner = NULL;
        w = e->eng_wq_head;
        if (w) {
            e->eng_wq_head = w->next;
            if (!w->next) {
                e->eng_wq_tail = NULL;
            }
            __atomic_store_n(&e->eng_waiting, e->eng_waiting - 1,
                             __ATOMIC_RELAXED);
            e->eng_owner = w->ctx;
            e->eng_users = 1;
            w->granted = true;
            pthread_cond_signal(&w->cond);
        }
    }
    pthread_mutex_unlock(&e->eng_lock);
}

/*
 * A GPU time-slices contexts, so one endless or very long kernel cannot
 * keep every other tenant off the device.  A launch that has held the
 * compute engine this long while another context waits gives up its
 * exclusive hold and runs on beside the next owner.
 */
#define SIM_SLICE_NS (50 * 1000 * 1000ull)

static void engine_yield(VgpuExecStream *s)
{
    if (!atomic_exchange(&s->eng_yielded, true)) {
        compute_release(s->ctx->exec);
    }
}

static int launch_tick(void *opaque)
{
    VgpuExecStream *s = opaque;
    VgpuExec *e = s->ctx->exec;

    if (atomic_load(&s->ctx->dying)) {
        return 1;
    }
    if (s->eng_held && !atomic_load(&s->eng_yielded) &&
        __atomic_load_n(&e->eng_waiting, __ATOMIC_RELAXED) &&
        sim_now_ns() - s->eng_t0 > SIM_SLICE_NS) {
        engine_yield(s);
    }
    return 0;
}

/*
 * Runs @it on the engine its class uses and completes it with its status
 * and the time it held the engine (waiting for the engine is not
 * charged).  The completion goes out before the engine is handed on: the
 * thread woken for the next kernel may take this thread's CPU for the
 * whole of that kernel, and vgpud's dispatch window opens on this
 * completion.  @it is not touched after its done callback.
 */
static void run_and_complete(VgpuExecStream *s, VgpuExecItem *it)
{
    VgpuExec *e = s->ctx->exec;
    pthread_mutex_t *copy = NULL;
    uint64_t t0;
    int st;

    if (it->kind == VGPU_ITEM_MARKER) {
        st = run_item(s->ctx, s, it);
        it->done(it, st, 0);
        return;
    }
    if (it->kind == VGPU_ITEM_HTOD) {
        copy = &e->htod_lock;
    } else if (it->kind == VGPU_ITEM_DTOH) {
        copy = &e->dtoh_lock;
    }
    if (copy) {
        pthread_mutex_lock(copy);
    } else {
        compute_acquire(e, s->ctx);
    }
    t0 = sim_now_ns();
    if (!copy) {
        atomic_store(&s->eng_yielded, false);
        s->eng_t0 = t0;
        s->eng_held = true;
    }
    st = run_item(s->ctx, s, it);
    if (!copy) {
        s->eng_held = false;
    }
    it->done(it, st, sim_now_ns() - t0);
    if (copy) {
        pthread_mutex_unlock(copy);
    } else {
        engine_yield(s);
    }
}

static void *engine_main(void *arg)
{
    VgpuExecStream *s = arg;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->qlen && !s->stop) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (!s->qlen && s->stop) {
            break;
        }
        VgpuExecItem *it = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        s->busy = true;
        pthread_mutex_unlock(&s->lock);

        run_and_complete(s, it);

        pthread_mutex_lock(&s->lock);
        s->busy = false;
        if (!s->qlen) {
            pthread_cond_broadcast(&s->idle);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static VgpuExecStream *stream_new(VgpuExecCtx *ctx, bool is_default)
{
    VgpuExecStream *s = calloc(1, sizeof(*s));

    if (!s) {
        return NULL;
    }
    s->ctx = ctx;
    s->is_default = is_default;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (pthread_create(&s->thr, NULL, engine_main, s)) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        pthread_cond_destroy(&s->idle);
        free(s);
        return NULL;
    }
    return s;
}

static void stream_drain_and_free(VgpuExecStream *s)
{
    pthread_mutex_lock(&s->lock);
    while (s->qlen || s->busy) {
        pthread_cond_wait(&s->idle, &s->lock);
    }
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thr, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->idle);
    sim_scratch_free(s->scratch);
    free(s->q);
    free(s);
}

static int sim_stream_create(VgpuExecCtx *ctx, VgpuExecStream **out)
{
    VgpuExecStream *s = stream_new(ctx, false);

    if (!s) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    pthread_mutex_lock(&ctx->lock);
    s->next = ctx->streams;
    ctx->streams = s;
    pthread_mutex_unlock(&ctx->lock);
    *out = s;
    return VGPU_S_OK;
}

static void sim_stream_destroy(VgpuExecStream *s)
{
    VgpuExecCtx *ctx = s->ctx;

    pthread_mutex_lock(&ctx->lock);
    for (VgpuExecStream **pp = &ctx->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    stream_drain_and_free(s);
}

static int sim_submit(VgpuExecCtx *ctx, VgpuExecItem *it)
{
    VgpuExecStream *s = it->stream ? it->stream : ctx->def;

    if (it->kind == VGPU_ITEM_LAUNCH) {
        atomic_fetch_add(&it->u.launch.func->mod->refs, 1);
    }
    pthread_mutex_lock(&s->lock);
    if (s->qlen == s->qcap) {
        size_t ncap = s->qcap ? s->qcap * 2 : 16;
        VgpuExecItem **nq = malloc(ncap * sizeof(*nq));

        if (!nq) {
            pthread_mutex_unlock(&s->lock);
            if (it->kind == VGPU_ITEM_LAUNCH) {
                atomic_fetch_sub(&it->u.launch.func->mod->refs, 1);
            }
            return VGPU_S_OUT_OF_MEMORY;
        }
        for (size_t i = 0; i < s->qlen; i++) {
            nq[i] = s->q[(s->qhead + i) % s->qcap];
        }
        free(s->q);
        s->q = nq;
        s->qhead = 0;
        s->qcap = ncap;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = it;
    s->qlen++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return VGPU_S_OK;
}

/* ---- contexts and memory ------------------------------------------------ */

static int sim_ctx_create(VgpuExec *e, const VgpuExecCtxHooks *hooks,
                          VgpuExecCtx **out)
{
    VgpuExecCtx *c = calloc(1, sizeof(*c));

    if (!c) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    c->exec = e;
    if (hooks) {
        c->hooks = *hooks;
    }
    pthread_mutex_init(&c->mem_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    c->def = stream_new(c, true);
    if (!c->def) {
        pthread_mutex_destroy(&c->mem_lock);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return VGPU_S_OUT_OF_MEMORY;
    }
    *out = c;
    return VGPU_S_OK;
}

static void hostbuf_unref(HostBuf *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        if (b->mmapped) {
            munmap(b->host, align_up(b->size ? b->size : 1, 4096));
        } else {
            free(b->host);
        }
        atomic_fetch_sub(&b->exec->used_mem, b->size);
        free(b);
    }
}

static void snap_unref(MemSnap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        for (size_t i = 0; i < s->n; i++) {
            hostbuf_unref(s->bufs[i]);
        }
        free(s->view);
        free(s->bufs);
        free(s);
    }
}

/* The table changed: the next launch builds a new snapshot.  mem_lock held. */
static void snap_invalidate(VgpuExecCtx *c)
{
    snap_unref(c->snap);
    c->snap = NULL;
}

/* A reference to the current snapshot (built if stale), or NULL (no memory). */
static MemSnap *snap_get(VgpuExecCtx *c)
{
    MemSnap *s;

    pthread_mutex_lock(&c->mem_lock);
    if (!c->snap) {
        s = calloc(1, sizeof(*s));
        if (s) {
            s->view = malloc((c->nallocs ? c->nallocs : 1) * sizeof(*s->view));
            s->bufs = malloc((c->nallocs ? c->nallocs : 1) * sizeof(*s->bufs));
        }
        if (!s || !s->view || !s->bufs) {
            if (s) {
                free(s->view);
                free(s->bufs);
                free(s);
            }
            pthread_mutex_unlock(&c->mem_lock);
            return NULL;
        }
        s->n = c->nallocs;
        for (size_t i = 0; i < c->nallocs; i++) {
            s->view[i] = c->allocs[i].a;
            s->bufs[i] = c->allocs[i].buf;
            atomic_fetch_add(&s->bufs[i]->refs, 1);
        }
        s->refs = 1;            /* the context's */
        c->snap = s;
    }
    s = c->snap;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&c->mem_lock);
    return s;
}

/* Adds an allocation; caller holds mem_lock. */
static int alloc_insert(VgpuExecCtx *c, uint64_t size, bool module_owned,
                        uint64_t *dptr)
{
    VgpuExec *e = c->exec;
    CtxAlloc na;
    HostBuf *b;
    uint64_t used = atomic_fetch_add(&e->used_mem, size);

    if (used + size > e->total_mem || size > e->total_mem) {
        atomic_fetch_sub(&e->used_mem, size);
        return VGPU_S_OUT_OF_MEMORY;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        atomic_fetch_sub(&e->used_mem, size);
        return VGPU_S_OUT_OF_MEMORY;
    }
    b->exec = e;
    b->size = size;
    b->refs = 1;
    if (size >= SIM_MMAP_THRESHOLD) {
        void *p = mmap(NULL, align_up(size, 4096), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            atomic_fetch_sub(&e->used_mem, size);
            free(b);
            return VGPU_S_OUT_OF_MEMORY;
        }
        b->host = p;
        b->mmapped = true;
    } else {
        b->host = calloc(1, size ? size : 1);
        if (!b->host) {
            atomic_fetch_sub(&e->used_mem, size);
            free(b);
            return VGPU_S_OUT_OF_MEMORY;
        }
    }
    memset(&na, 0, sizeof(na));
    na.a.size = size;
    na.a.host = b->host;
    na.buf = b;
    na.module_owned = module_owned;
    /*
     * Addresses are never reused and a 64 KiB gap separates allocations, so
     * a stale or overrunning pointer faults instead of hitting a neighbour.
     */
    pthread_mutex_lock(&e->lock);
    uint64_t base = e->next_addr;
    uint64_t step = align_up(size ? size : 1, 256) + 65536;
    if (base + step > SIM_GLOBAL_END || step < size) {
        pthread_mutex_unlock(&e->lock);
        hostbuf_unref(b);
        return VGPU_S_OUT_OF_MEMORY;
    }
    e->next_addr = align_up(base + step, 256);
    pthread_mutex_unlock(&e->lock);
    na.a.base = base;

    if (c->nallocs == c->capallocs) {
        size_t cap = c->capallocs ? c->capallocs * 2 : 16;
        CtxAlloc *n1 = realloc(c->allocs, cap * sizeof(*n1));
        if (!n1) {
            hostbuf_unref(b);
            return VGPU_S_OUT_OF_MEMORY;
        }
        c->allocs = n1;
        c->capallocs = cap;
    }
    /* Addresses grow, so appending keeps the table sorted. */
    size_t i = c->nallocs;
    while (i > 0 && c->allocs[i - 1].a.base > base) {
        c->allocs[i] = c->allocs[i - 1];
        i--;
    }
    c->allocs[i] = na;
    c->nallocs++;
    snap_invalidate(c);
    *dptr = base;
    return VGPU_S_OK;
}

static CtxAlloc *alloc_find(VgpuExecCtx *c, uint64_t a, uint64_t n, size_t *idx)
{
    size_t lo = 0, hi = c->nallocs;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        CtxAlloc *al = &c->allocs[mid];

        if (a < al->a.base) {
            hi = mid;
        } else if (a - al->a.base >= al->a.size) {
            lo = mid + 1;
        } else {
            if (n > al->a.size - (a - al->a.base)) {
                return NULL;
            }
            if (idx) {
                *idx = mid;
            }
            return al;
        }
    }
    return NULL;
}

/* Host pointer for [a, a+n) plus a reference that keeps it alive. */
static uint8_t *alloc_pin(VgpuExecCtx *c, uint64_t a, uint64_t n, HostBuf **ref)
{
    uint8_t *p = NULL;

    pthread_mutex_lock(&c->mem_lock);
    CtxAlloc *al = alloc_find(c, a, n, NULL);
    if (al) {
        p = al->a.host + (a - al->a.base);
        *ref = al->buf;
        atomic_fetch_add(&al->buf->refs, 1);
    }
    pthread_mutex_unlock(&c->mem_lock);
    return p;
}

static void alloc_remove(VgpuExecCtx *c, size_t i)
{
    hostbuf_unref(c->allocs[i].buf);
    memmove(&c->allocs[i], &c->allocs[i + 1], (c->nallocs - i - 1) * sizeof(*c->allocs));
    c->nallocs--;
    snap_invalidate(c);
}

static int sim_mem_alloc(VgpuExecCtx *c, uint64_t size, uint64_t *dptr)
{
    int rc;

    if (size == 0) {
        return VGPU_S_INVALID_VALUE;
    }
    pthread_mutex_lock(&c->mem_lock);
    rc = alloc_insert(c, size, false, dptr);
    pthread_mutex_unlock(&c->mem_lock);
    return rc;
}

static int sim_mem_free(VgpuExecCtx *c, uint64_t dptr)
{
    size_t i;
    int rc = VGPU_S_INVALID_VALUE;

    pthread_mutex_lock(&c->mem_lock);
    CtxAlloc *a = alloc_find(c, dptr, 0, &i);
    if (a && a->a.base == dptr && !a->module_owned) {
        alloc_remove(c, i);
        rc = VGPU_S_OK;
    }
    pthread_mutex_unlock(&c->mem_lock);
    return rc;
}

static void module_unref(VgpuExecModule *m);

static void sim_ctx_cancel(VgpuExecCtx *c)
{
    atomic_store(&c->dying, true);
}

static void sim_ctx_destroy(VgpuExecCtx *c)
{
    VgpuExecStream *s, *n;
    VgpuExecModule *m, *mn;

    /* A kernel still running (endless, say) ends at its next tick. */
    atomic_store(&c->dying, true);
    pthread_mutex_lock(&c->lock);
    s = c->streams;
    c->streams = NULL;
    pthread_mutex_unlock(&c->lock);
    for (; s; s = n) {
        n = s->next;
        stream_drain_and_free(s);
    }
    stream_drain_and_free(c->def);
    /* Modules the caller did not unload go with the context. */
    pthread_mutex_lock(&c->lock);
    m = c->modules;
    c->modules = NULL;
    pthread_mutex_unlock(&c->lock);
    for (; m; m = mn) {
        mn = m->next;
        module_unref(m);
    }
    pthread_mutex_lock(&c->mem_lock);
    while (c->nallocs) {
        alloc_remove(c, c->nallocs - 1);
    }
    pthread_mutex_unlock(&c->mem_lock);
    snap_invalidate(c);
    free(c->allocs);
    pthread_mutex_destroy(&c->mem_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- modules -------------------------------------------------------------- */

static void module_free_globals(VgpuExecModule *m)
{
    VgpuExecCtx *c = m->ctx;

    pthread_mutex_lock(&c->mem_lock);
    for (uint32_t i = 0; i < m->prog->nsyms; i++) {
        SimSym *s = &m->prog->syms[i];
        size_t idx;

        if ((s->kind == SIM_SYM_GLOBAL || s->kind == SIM_SYM_CONST) && s->addr &&
            alloc_find(c, s->addr, 0, &idx) && c->allocs[idx].a.base == s->addr) {
            alloc_remove(c, idx);
        }
        s->addr = 0;
    }
    pthread_mutex_unlock(&c->mem_lock);
}

static void module_unref(VgpuExecModule *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1) {
        module_free_globals(m);
        sim_program_free(m->prog);
        free(m->funcs);
        free(m);
    }
}

static int place_globals(VgpuExecModule *m, char *log, size_t loglen)
{
    VgpuExecCtx *c = m->ctx;
    SimProgram *p = m->prog;
    int rc = VGPU_S_OK;

    pthread_mutex_lock(&c->mem_lock);
    for (uint32_t i = 0; i < p->nsyms && rc == VGPU_S_OK; i++) {
        SimSym *s = &p->syms[i];

        if ((s->kind != SIM_SYM_GLOBAL && s->kind != SIM_SYM_CONST)) {
            continue;
        }
        if (s->is_extern_decl && !s->size) {
            snprintf(log, loglen, "external variable '%s' is not supported", s->name);
            rc = VGPU_S_INVALID_PTX;
            break;
        }
        rc = alloc_insert(c, s->size ? s->size : 1, true, &s->addr);
        if (rc != VGPU_S_OK) {
            snprintf(log, loglen, "out of device memory placing '%s'", s->name);
        }
    }
    /* Initializers, then pointer initializers (addresses are known now). */
    for (uint32_t i = 0; i < p->nsyms && rc == VGPU_S_OK; i++) {
        SimSym *s = &p->syms[i];
        CtxAlloc *a;

        if (!s->addr || !(a = alloc_find(c, s->addr, s->size, NULL))) {
            continue;
        }
        if (s->init) {
            memcpy(a->a.host, s->init, s->size);
        }
        for (uint32_t r = 0; r < s->nrelocs; r++) {
            int32_t ri = s->relocs[r].sym;
            uint64_t at = s->relocs[r].at;
            uint64_t n = s->size - at < 8 ? s->size - at : 8;
            uint64_t v;

            if (ri < 0) {
                v = SIM_FUNC_BASE + (uint64_t)(-2 - ri) * SIM_FUNC_STRIDE;
            } else if (p->syms[ri].kind == SIM_SYM_SHARED) {
                v = SIM_WIN_SHARED + p->syms[ri].offset + (uint64_t)s->relocs[r].add;
            } else {
                v = p->syms[ri].addr + (uint64_t)s->relocs[r].add;
            }
            memcpy(a->a.host + at, &v, n);
        }
    }
    pthread_mutex_unlock(&c->mem_lock);
    return rc;
}

static int sim_module_load(VgpuExecCtx *c, uint32_t kind, const void *image,
                           size_t size, VgpuExecModule **out, char *log,
                           size_t loglen)
{
    char *ptx = NULL;
    size_t ptxlen = 0;
    SimProgram *prog = NULL;
    int rc;
    char dummy[1];

    if (!log || !loglen) {
        log = dummy;
        loglen = sizeof(dummy);
    }
    log[0] = 0;
    switch (kind) {
    case VGPU_IMAGE_PTX:
        rc = sim_ptx_parse(image, size, &prog, log, loglen);
        break;
    case VGPU_IMAGE_FATBIN:
        rc = sim_fatbin_extract_ptx(image, size, &ptx, &ptxlen, log, loglen);
        if (rc == VGPU_S_OK) {
            rc = sim_ptx_parse(ptx, ptxlen, &prog, log, loglen);
            free(ptx);
        }
        break;
    case VGPU_IMAGE_CUBIN:
        snprintf(log, loglen, "the sim backend runs PTX only; this image is a cubin "
                 "(machine code for one GPU): rebuild with PTX (nvcc -ptx or "
                 "-gencode ...,code=compute_XX)");
        return VGPU_S_NO_BINARY_FOR_GPU;
    default:
        snprintf(log, loglen, "unknown image kind %u", kind);
        return VGPU_S_INVALID_IMAGE;
    }
    if (rc != VGPU_S_OK) {
        return rc;
    }
    VgpuExecModule *m = calloc(1, sizeof(*m));
    if (!m) {
        sim_program_free(prog);
        return VGPU_S_OUT_OF_MEMORY;
    }
    m->ctx = c;
    m->prog = prog;
    m->refs = 1;
    m->funcs = calloc(prog->nfuncs ? prog->nfuncs : 1, sizeof(*m->funcs));
    if (!m->funcs) {
        sim_program_free(prog);
        free(m);
        return VGPU_S_OUT_OF_MEMORY;
    }
    m->may_write_local = sim_program_may_write_local(prog);
    for (uint32_t i = 0; i < prog->nfuncs; i++) {
        m->funcs[i].mod = m;
        m->funcs[i].index = (int)i;
    }
    rc = place_globals(m, log, loglen);
    if (rc != VGPU_S_OK) {
        module_unref(m);
        return rc;
    }
    pthread_mutex_lock(&c->lock);
    m->next = c->modules;
    c->modules = m;
    pthread_mutex_unlock(&c->lock);
    *out = m;
    return VGPU_S_OK;
}

static void sim_module_unload(VgpuExecModule *m)
{
    VgpuExecCtx *c = m->ctx;

    pthread_mutex_lock(&c->lock);
    for (VgpuExecModule **pp = &c->modules; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    module_unref(m);
}

static int sim_module_get_function(VgpuExecModule *m, const char *name,
                                   VgpuExecFunc **out, VgpuFuncInfo *info)
{
    int i = sim_program_find_func(m->prog, name);

    if (i < 0 || !m->prog->funcs[i].is_entry || !m->prog->funcs[i].defined) {
        return VGPU_S_NOT_FOUND;
    }
    if (info) {
        sim_func_info(m->prog, &m->prog->funcs[i], info);
    }
    *out = &m->funcs[i];
    return VGPU_S_OK;
}

static int sim_module_get_global(VgpuExecModule *m, const char *name,
                                 uint64_t *dptr, uint64_t *size)
{
    int i = sim_program_find_sym(m->prog, name);

    if (i < 0) {
        return VGPU_S_NOT_FOUND;
    }
    SimSym *s = &m->prog->syms[i];
    if ((s->kind != SIM_SYM_GLOBAL && s->kind != SIM_SYM_CONST) || !s->addr) {
        return VGPU_S_NOT_FOUND;
    }
    *dptr = s->addr;
    *size = s->size;
    return VGPU_S_OK;
}

/* ---- items ----------------------------------------------------------------- */

static void ctx_print(void *opaque, const char *text, size_t len)
{
    VgpuExecCtx *c = opaque;

    if (c->hooks.print) {
        c->hooks.print(c->hooks.opaque, text, len);
    }
}

static int run_launch(VgpuExecCtx *c, VgpuExecStream *s, VgpuExecItem *it)
{
    VgpuExecFunc *f = it->u.launch.func;
    VgpuExecModule *m = f->mod;
    SimLaunch l;
    int rc;

    if (atomic_load(&c->dying)) {
        return VGPU_S_LAUNCH_FAILED;    /* abandoned with its context */
    }
    memset(&l, 0, sizeof(l));
    l.prog = m->prog;
    l.func = &m->prog->funcs[f->index];
    memcpy(l.grid, it->u.launch.grid, sizeof(l.grid));
    memcpy(l.block, it->u.launch.block, sizeof(l.block));
    l.dyn_shared = it->u.launch.shared_bytes;
    l.params = it->u.launch.params;
    l.param_bytes = it->u.launch.param_bytes;
    l.threads = c->exec->threads;
    l.insn_budget = c->exec->cfg.insn_budget;
    l.watchdog_ns = c->exec->cfg.watchdog_ms * 1000000ull;
    l.smcount = (int)c->exec->threads;
    l.print = ctx_print;
    l.print_opaque = c;
    l.pool = c->exec->pool;
    if (!s->scratch) {
        s->scratch = sim_scratch_new();     /* kept for the stream's life */
    }
    l.scratch = s->scratch;
    l.no_local_writes = !m->may_write_local;
    l.tick = launch_tick;
    l.tick_opaque = s;
    if ((uint64_t)l.func->shared_bytes + l.dyn_shared > SIM_MAX_SHARED) {
        return VGPU_S_LAUNCH_OUT_OF_RESOURCES;
    }
    if (l.func->maxntid &&
        (uint64_t)l.block[0] * l.block[1] * l.block[2] > l.func->maxntid) {
        return VGPU_S_INVALID_VALUE;    /* more threads than .maxntid allows */
    }
    MemSnap *snap = snap_get(c);
    if (!snap) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    l.mem.allocs = snap->view;
    l.mem.nallocs = snap->n;
    rc = sim_launch_run(&l);
    snap_unref(snap);
    if (rc != VGPU_S_OK && l.errmsg[0] && getenv("VGPU_SIM_DEBUG")) {
        fprintf(stderr, "sim: %s: %s\n", l.func->name, l.errmsg);
    }
    return rc;
}

static int run_item(VgpuExecCtx *c, VgpuExecStream *s, VgpuExecItem *it)
{
    int rc = VGPU_S_OK;

    switch (it->kind) {
    case VGPU_ITEM_LAUNCH:
        rc = run_launch(c, s, it);
        module_unref(it->u.launch.func->mod);
        return rc;
    case VGPU_ITEM_MARKER:
        return VGPU_S_OK;
    default:
        break;
    }
    switch (it->kind) {
    case VGPU_ITEM_HTOD:
    case VGPU_ITEM_DTOH: {
        HostBuf *ref;
        uint8_t *p = alloc_pin(c, it->u.copy.dptr, it->u.copy.size, &ref);
        if (!p) {
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        uint64_t left = it->u.copy.size;
        for (unsigned i = 0; i < it->u.copy.iovcnt && left; i++) {
            size_t n = it->u.copy.iov[i].iov_len < left ? it->u.copy.iov[i].iov_len : left;
            if (it->kind == VGPU_ITEM_HTOD) {
                memcpy(p, it->u.copy.iov[i].iov_base, n);
            } else {
                memcpy(it->u.copy.iov[i].iov_base, p, n);
            }
            p += n;
            left -= n;
        }
        hostbuf_unref(ref);
        break;
    }
    case VGPU_ITEM_DTOD: {
        HostBuf *r1, *r2;
        uint8_t *d = alloc_pin(c, it->u.dtod.dst, it->u.dtod.size, &r1);
        if (!d) {
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        uint8_t *src = alloc_pin(c, it->u.dtod.src, it->u.dtod.size, &r2);
        if (!src) {
            hostbuf_unref(r1);
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        memmove(d, src, it->u.dtod.size);
        hostbuf_unref(r1);
        hostbuf_unref(r2);
        break;
    }
    case VGPU_ITEM_MEMSET: {
        uint32_t es = it->u.memset.elem_size;
        HostBuf *ref;
        if (es != 1 && es != 2 && es != 4) {
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        if (it->u.memset.count > UINT64_MAX / es) {
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        uint64_t bytes = it->u.memset.count * es;
        uint8_t *p = alloc_pin(c, it->u.memset.dptr, bytes, &ref);
        if (!p) {
            rc = VGPU_S_INVALID_VALUE;
            break;
        }
        uint32_t v = it->u.memset.value;
        if (es == 1) {
            memset(p, (int)(v & 0xff), bytes);
        } else if (es == 2) {
            uint16_t x = (uint16_t)v;
            for (uint64_t i = 0; i < it->u.memset.count; i++) {
                memcpy(p + 2 * i, &x, 2);
            }
        } else {
            for (uint64_t i = 0; i < it->u.memset.count; i++) {
                memcpy(p + 4 * i, &v, 4);
            }
        }
        hostbuf_unref(ref);
        break;
    }
    default:
        rc = VGPU_S_INVALID_VALUE;
        break;
    }
    return rc;
}

const VgpuExecOps vgpu_exec_sim_ops = {
    .name = "sim",
    .init = sim_init,
    .fini = sim_fini,
    .device_info = sim_device_info,
    .mem_get_info = sim_mem_get_info,
    .ctx_create = sim_ctx_create,
    .ctx_destroy = sim_ctx_destroy,
    .ctx_cancel = sim_ctx_cancel,
    .forwards_printf = true,
    .mem_alloc = sim_mem_alloc,
    .mem_free = sim_mem_free,
    .module_load = sim_module_load,
    .module_unload = sim_module_unload,
    .module_get_function = sim_module_get_function,
    .module_get_global = sim_module_get_global,
    .stream_create = sim_stream_create,
    .stream_destroy = sim_stream_destroy,
    .submit = sim_submit,
};
