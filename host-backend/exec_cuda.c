/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec_cuda.c - the cuda executor: runs validated work on the physical GPU
 * through the CUDA Driver API, loaded with dlopen at start-up.
 *
 * vgpud builds and runs on machines without CUDA: nothing here links
 * against libcuda, and the few driver types used are declared below as the
 * opaque handles and integers the driver ABI defines them to be.
 *
 * Isolation: every guest context gets its own CUDA context, so a faulting
 * kernel poisons only its owner and no tenant can address another's memory.
 *
 * Completion: each stream (the context's default stream included) owns a
 * CUDA stream and a completion thread.  submit() records an event pair
 * around the work and appends it to the stream's pending list; the
 * completion thread waits for the end event of the oldest entry, measures
 * the pair, and calls item->done().  Waiting per stream keeps one tenant's
 * long kernel from delaying another stream's completions.
 *
 * Watchdog (--watchdog-ms): the completion thread then polls the end event
 * instead of blocking on it.  An item that stays the oldest unfinished one
 * of its stream for longer than the limit completes with LAUNCH_TIMEOUT and
 * kills its context: every item of the context still pending or submitted
 * later completes with that status without reaching the GPU, and the CUDA
 * context is torn down on a thread of its own, since the driver may take
 * until the kernel stops to release it.  Other contexts never notice.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "log.h"

/* Driver ABI: handles are pointers, devices and results are ints. */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

#define CUDA_SUCCESS                    0
#define CUDA_ERROR_NOT_READY            600
#define CU_JIT_ERROR_LOG_BUFFER         5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6
#define CU_STREAM_NON_BLOCKING          0x1
#define CU_EVENT_DEFAULT                0x0
#define CU_MEMHOSTREGISTER_PORTABLE     0x1
#define CU_LAUNCH_PARAM_END             ((void *)0x00)
#define CU_LAUNCH_PARAM_BUFFER_POINTER  ((void *)0x01)
#define CU_LAUNCH_PARAM_BUFFER_SIZE     ((void *)0x02)

/* Copies are issued in chunks so H2D and D2H of one item pipeline. */
#define CUDA_COPY_CHUNK (8u << 20)

/*
 * The entry points vgpud calls, resolved once.  The versioned names are
 * the ones NVIDIA's header maps the plain names to.
 */
#define CUDA_FUNCS(X)                                                       \
    X(cuInit, (unsigned int))                                               \
    X(cuDriverGetVersion, (int *))                                          \
    X(cuDeviceGetCount, (int *))                                            \
    X(cuDeviceGet, (CUdevice *, int))                                       \
    X(cuDeviceGetName, (char *, int, CUdevice))                             \
    X(cuDeviceTotalMem_v2, (size_t *, CUdevice))                            \
    X(cuDeviceGetAttribute, (int *, int, CUdevice))                         \
    X(cuDeviceGetUuid, (unsigned char *, CUdevice))                         \
    X(cuDevicePrimaryCtxRetain, (CUcontext *, CUdevice))                    \
    X(cuDevicePrimaryCtxRelease_v2, (CUdevice))                             \
    X(cuCtxCreate_v2, (CUcontext *, unsigned int, CUdevice))                \
    X(cuCtxDestroy_v2, (CUcontext))                                         \
    X(cuCtxPushCurrent_v2, (CUcontext))                                     \
    X(cuCtxPopCurrent_v2, (CUcontext *))                                    \
    X(cuCtxSynchronize, (void))                                             \
    X(cuMemGetInfo_v2, (size_t *, size_t *))                                \
    X(cuMemAlloc_v2, (CUdeviceptr *, size_t))                               \
    X(cuMemFree_v2, (CUdeviceptr))                                          \
    X(cuMemHostRegister_v2, (void *, size_t, unsigned int))                 \
    X(cuMemHostUnregister, (void *))                                        \
    X(cuModuleLoadDataEx, (CUmodule *, const void *, unsigned int,          \
                           int *, void **))                                 \
    X(cuModuleUnload, (CUmodule))                                           \
    X(cuModuleGetFunction, (CUfunction *, CUmodule, const char *))          \
    X(cuModuleGetGlobal_v2, (CUdeviceptr *, size_t *, CUmodule,             \
                             const char *))                                 \
    X(cuFuncGetParamInfo, (CUfunction, size_t, size_t *, size_t *))         \
    X(cuFuncGetAttribute, (int *, int, CUfunction))                         \
    X(cuStreamCreate, (CUstream *, unsigned int))                           \
    X(cuStreamDestroy_v2, (CUstream))                                       \
    X(cuStreamSynchronize, (CUstream))                                      \
    X(cuEventCreate, (CUevent *, unsigned int))                             \
    X(cuEventDestroy_v2, (CUevent))                                         \
    X(cuEventRecord, (CUevent, CUstream))                                   \
    X(cuEventSynchronize, (CUevent))                                        \
    X(cuEventQuery, (CUevent))                                              \
    X(cuEventElapsedTime, (float *, CUevent, CUevent))                      \
    X(cuLaunchKernel, (CUfunction, unsigned int, unsigned int,              \
                       unsigned int, unsigned int, unsigned int,            \
                       unsigned int, unsigned int, CUstream, void **,       \
                       void **))                                            \
    X(cuMemcpyHtoDAsync_v2, (CUdeviceptr, const void *, size_t, CUstream))  \
    X(cuMemcpyDtoHAsync_v2, (void *, CUdeviceptr, size_t, CUstream))        \
    X(cuMemcpyDtoDAsync_v2, (CUdeviceptr, CUdeviceptr, size_t, CUstream))   \
    X(cuMemsetD8Async, (CUdeviceptr, unsigned char, size_t, CUstream))      \
    X(cuMemsetD16Async, (CUdeviceptr, unsigned short, size_t, CUstream))    \
    X(cuMemsetD32Async, (CUdeviceptr, unsigned int, size_t, CUstream))

typedef struct CudaApi {
#define CUDA_FIELD(name, args) CUresult (*name) args;
    CUDA_FUNCS(CUDA_FIELD)
#undef CUDA_FIELD
} CudaApi;

struct VgpuExec {
    void *lib;
    CudaApi api;
    CUdevice dev;
    CUcontext primary;          /* for queries that need some context */
    VgpuDeviceInfo info;
    uint64_t watchdog_ns;       /* 0: wait for every item however long */
};

typedef struct CudaPending CudaPending;
struct CudaPending {
    CudaPending *next;
    VgpuExecItem *item;
    CUevent start, end;
    int status;                 /* set when the work failed to queue */
};

struct VgpuExecStream {
    VgpuExecCtx *ctx;
    CUstream cu;
    pthread_t thread;
    pthread_mutex_t lock;       /* protects the pending list and @stop */
    pthread_cond_t cond;
    CudaPending *head, *tail;
    bool stop;
    /*
     * Finished event pairs kept for reuse (under @lock): creating and
     * destroying two events per item would cost more than a short launch.
     */
    CUevent pool[256];
    unsigned npool;
};

struct VgpuExecCtx {
    VgpuExec *exec;
    CUcontext cu;
    VgpuExecStream *dflt;
    /* LAUNCH_TIMEOUT once the watchdog killed the context, else 0 */
    atomic_int dead;
};

struct VgpuExecModule {
    VgpuExecCtx *ctx;
    CUmodule cu;
    VgpuExecFunc *funcs;        /* freed with the module */
};

struct VgpuExecFunc {
    VgpuExecFunc *next;
    CUfunction cu;
};

/* CUresult values are the wire's status codes (vgpu_virtio.h). */
static int cuda_status(CUresult r)
{
    return r;
}

static int cuda_push(VgpuExecCtx *ctx)
{
    return cuda_status(ctx->exec->api.cuCtxPushCurrent_v2(ctx->cu));
}

static void cuda_pop(VgpuExecCtx *ctx)
{
    CUcontext dummy;

    ctx->exec->api.cuCtxPopCurrent_v2(&dummy);
}

static int cuda_load_api(VgpuExec *e, const char *path, char *err,
                         size_t errlen)
{
    e->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!e->lib) {
        snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
        return VGPU_S_NOT_SUPPORTED;
    }
#define CUDA_RESOLVE(name, args)                                            \
    e->api.name = (CUresult (*) args)dlsym(e->lib, #name);                  \
    if (!e->api.name) {                                                     \
        snprintf(err, errlen, "%s lacks %s", path, #name);                  \
        return VGPU_S_NOT_SUPPORTED;                                        \
    }
    CUDA_FUNCS(CUDA_RESOLVE)
#undef CUDA_RESOLVE
    return VGPU_S_OK;
}

static void cuda_fini(VgpuExec *e)
{
    if (!e) {
        return;
    }
    if (e->primary) {
        e->api.cuDevicePrimaryCtxRelease_v2(e->dev);
    }
    if (e->lib) {
        dlclose(e->lib);
    }
    free(e);
}

static int cuda_init(const VgpuExecConfig *cfg, VgpuExec **out, char *err,
                     size_t errlen)
{
    const char *path = cfg->libcuda_path ? cfg->libcuda_path : "libcuda.so.1";
    VgpuExec *e = calloc(1, sizeof(*e));
    int count = 0, r;

    if (!e) {
        snprintf(err, errlen, "out of memory");
        return VGPU_S_OUT_OF_MEMORY;
    }
    e->watchdog_ns = cfg->watchdog_ms * 1000000ull;
    r = cuda_load_api(e, path, err, errlen);
    if (r) {
        goto fail;
    }
    r = e->api.cuInit(0);
    if (r == CUDA_SUCCESS) {
        r = e->api.cuDeviceGetCount(&count);
    }
    if (r != CUDA_SUCCESS || count == 0) {
        snprintf(err, errlen, "no CUDA device (cuInit/cuDeviceGetCount: %d)",
                 r);
        r = VGPU_S_NOT_SUPPORTED;
        goto fail;
    }
    r = e->api.cuDeviceGet(&e->dev, 0);
    if (r == CUDA_SUCCESS) {
        r = e->api.cuDevicePrimaryCtxRetain(&e->primary, e->dev);
    }
    if (r != CUDA_SUCCESS) {
        snprintf(err, errlen, "cannot open CUDA device 0: error %d", r);
        e->primary = NULL;
        r = cuda_status(r);
        goto fail;
    }

    VgpuDeviceInfo *info = &e->info;
    size_t total = 0;

    e->api.cuDeviceGetName(info->name, sizeof(info->name) - 1, e->dev);
    e->api.cuDeviceTotalMem_v2(&total, e->dev);
    info->total_mem = total;
    e->api.cuDeviceGetUuid(info->uuid, e->dev);
    e->api.cuDriverGetVersion(&info->driver_version);
    for (int a = 1; a < VGPU_NUM_ATTRS; a++) {
        int v = 0;

        /* Attributes the driver does not know stay 0, as in a query. */
        if (e->api.cuDeviceGetAttribute(&v, a, e->dev) == CUDA_SUCCESS) {
            info->attrs[a] = v;
        }
    }
    *out = e;
    return VGPU_S_OK;

fail:
    cuda_fini(e);
    return r;
}

static void cuda_device_info(VgpuExec *e, VgpuDeviceInfo *info)
{
    *info = e->info;
}

static void cuda_mem_get_info(VgpuExec *e, uint64_t *free_b, uint64_t *total)
{
    size_t f = 0, t = 0;
    CUcontext dummy;

    if (e->api.cuCtxPushCurrent_v2(e->primary) == CUDA_SUCCESS) {
        e->api.cuMemGetInfo_v2(&f, &t);
        e->api.cuCtxPopCurrent_v2(&dummy);
    }
    *free_b = f;
    *total = t;
}

static void *cuda_stream_thread(void *opaque);

/* Creates a stream and its completion thread; the caller pushed the ctx. */
static int cuda_stream_new(VgpuExecCtx *ctx, VgpuExecStream **out)
{
    VgpuExecStream *s = calloc(1, sizeof(*s));
    int r;

    if (!s) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    /*
     * Non-blocking: vgpud orders work across a context's streams itself,
     * so the CUDA legacy stream must not add implicit synchronisation.
     */
    r = ctx->exec->api.cuStreamCreate(&s->cu, CU_STREAM_NON_BLOCKING);
    if (r != CUDA_SUCCESS) {
        free(s);
        return cuda_status(r);
    }
    if (pthread_create(&s->thread, NULL, cuda_stream_thread, s)) {
        ctx->exec->api.cuStreamDestroy_v2(s->cu);
        free(s);
        return VGPU_S_OUT_OF_MEMORY;
    }
    *out = s;
    return VGPU_S_OK;
}

/* Stops the completion thread after it drained; the caller pushed ctx. */
static void cuda_stream_free(VgpuExecStream *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    /* A killed context's streams go with the context (cuda_ctx_reaper). */
    if (!atomic_load(&s->ctx->dead)) {
        while (s->npool) {
            s->ctx->exec->api.cuEventDestroy_v2(s->pool[--s->npool]);
        }
        s->ctx->exec->api.cuStreamDestroy_v2(s->cu);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

static uint64_t cuda_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Waits for @p's end event under the watchdog: spins on cuEventQuery for
 * the first tens of microseconds (short launches complete with no added
 * latency), then sleeps in growing steps of at most a millisecond.
 * Returns the item's status; LAUNCH_TIMEOUT kills the context.
 */
static int cuda_wait_watched(VgpuExecStream *s, CudaPending *p)
{
    const CudaApi *api = &s->ctx->exec->api;
    uint64_t t0 = cuda_now_ns();
    uint64_t deadline = t0 + s->ctx->exec->watchdog_ns;
    long sleep_ns = 1000;

    for (;;) {
        int dead = atomic_load(&s->ctx->dead);
        CUresult r;
        uint64_t t;

        if (dead) {
            return dead;
        }
        r = api->cuEventQuery(p->end);
        if (r != CUDA_ERROR_NOT_READY) {
            return cuda_status(r);
        }
        t = cuda_now_ns();
        if (t >= deadline) {
            int expected = 0;

            if (atomic_compare_exchange_strong(&s->ctx->dead, &expected,
                                               VGPU_S_LAUNCH_TIMEOUT)) {
                vgpu_warn("cuda: work ran past the %llu ms watchdog; its "
                          "context is killed (LAUNCH_TIMEOUT)",
                          (unsigned long long)(s->ctx->exec->watchdog_ns /
                                               1000000));
            }
            return VGPU_S_LAUNCH_TIMEOUT;
        }
        if (t - t0 > 50000) {
            struct timespec ts = { 0, sleep_ns };

            nanosleep(&ts, NULL);
            if (sleep_ns < 1000000) {
                sleep_ns *= 2;
            }
        }
    }
}

/*
 * Returns @p's event pair to the stream's pool, or destroys it when the
 * pool is full or the pair may be in a bad state; caller holds s->lock.
 */
static void cuda_recycle(VgpuExecStream *s, CudaPending *p, int status)
{
    const CudaApi *api = &s->ctx->exec->api;

    if (!p->start) {
        return;                 /* queued on a killed context */
    }
    if (status == VGPU_S_OK &&
        s->npool + 2 <= sizeof(s->pool) / sizeof(s->pool[0])) {
        s->pool[s->npool++] = p->start;
        s->pool[s->npool++] = p->end;
    } else {
        api->cuEventDestroy_v2(p->start);
        api->cuEventDestroy_v2(p->end);
    }
    p->start = p->end = NULL;
}

/*
 * Completes every item from @p to @last at once when @last's end event
 * already completed (so, in stream order, did everything before it): one
 * query instead of one wait per item keeps up with launch rates where a
 * wait per item would not.  The batch's engine time is shared evenly; all
 * of it belongs to the one tenant that owns the stream.  Returns false,
 * touching nothing, when the batch is not known complete.
 */
static bool cuda_complete_batch(VgpuExecStream *s, CudaPending *p,
                                CudaPending *last)
{
    const CudaApi *api = &s->ctx->exec->api;
    CudaPending *q, *next;
    unsigned k = 0;
    float ms = 0;

    if (last == p || p->status || last->status || !p->start ||
        atomic_load(&s->ctx->dead) ||
        api->cuEventQuery(last->end) != CUDA_SUCCESS) {
        return false;
    }
    if (api->cuEventElapsedTime(&ms, p->start, last->end) != CUDA_SUCCESS) {
        ms = 0;
    }
    pthread_mutex_lock(&s->lock);
    for (q = p;; q = q->next) {
        k++;
        cuda_recycle(s, q, q->status);
        if (q == last) {
            break;
        }
    }
    s->head = last->next;
    if (!s->head) {
        s->tail = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    /* last->next may grow under submit(): stop at @last, not at NULL */
    for (q = p;; q = next) {
        bool end = q == last;

        next = q->next;
        q->item->done(q->item, q->status, (uint64_t)(ms * 1e6 / k));
        free(q);
        if (end) {
            break;
        }
    }
    return true;
}

static void *cuda_stream_thread(void *opaque)
{
    VgpuExecStream *s = opaque;
    const CudaApi *api = &s->ctx->exec->api;
    CUcontext dummy;

    api->cuCtxPushCurrent_v2(s->ctx->cu);
    for (;;) {
        CudaPending *p, *last;
        float ms = 0;
        int status;

        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stop) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        p = s->head;
        last = s->tail;
        pthread_mutex_unlock(&s->lock);
        if (!p) {
            break;              /* stopped and drained */
        }
        if (cuda_complete_batch(s, p, last)) {
            continue;
        }

        status = p->status;
        if (status == VGPU_S_OK) {
            status = s->ctx->exec->watchdog_ns
                     ? cuda_wait_watched(s, p)
                     : cuda_status(api->cuEventSynchronize(p->end));
        }
        if (status == VGPU_S_OK &&
            api->cuEventElapsedTime(&ms, p->start, p->end) != CUDA_SUCCESS) {
            ms = 0;
        }

        pthread_mutex_lock(&s->lock);
        s->head = p->next;
        if (!s->head) {
            s->tail = NULL;
        }
        cuda_recycle(s, p, status);
        pthread_mutex_unlock(&s->lock);

        p->item->done(p->item, status, (uint64_t)(ms * 1e6));
        free(p);
    }
    api->cuCtxPopCurrent_v2(&dummy);
    return NULL;
}

static int cuda_ctx_create(VgpuExec *e, const VgpuExecCtxHooks *hooks,
                           VgpuExecCtx **out)
{
    VgpuExecCtx *ctx = calloc(1, sizeof(*ctx));
    CUcontext dummy;
    int r;

    (void)hooks;    /* device printf goes to vgpud's stdout on a GPU */
    if (!ctx) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    ctx->exec = e;
    r = e->api.cuCtxCreate_v2(&ctx->cu, 0, e->dev);
    if (r != CUDA_SUCCESS) {
        free(ctx);
        return cuda_status(r);
    }
    /* cuCtxCreate made it current on this thread: use that. */
    r = cuda_stream_new(ctx, &ctx->dflt);
    e->api.cuCtxPopCurrent_v2(&dummy);
    if (r) {
        e->api.cuCtxDestroy_v2(ctx->cu);
        free(ctx);
        return r;
    }
    *out = ctx;
    return VGPU_S_OK;
}

/* Releases a context the watchdog killed, off vgpud's dispatch thread. */
static void *cuda_ctx_reaper(void *opaque)
{
    VgpuExecCtx *ctx = opaque;

    ctx->exec->api.cuCtxDestroy_v2(ctx->cu);
    free(ctx);
    return NULL;
}

static void cuda_ctx_destroy(VgpuExecCtx *ctx)
{
    pthread_attr_t attr;
    pthread_t t;

    if (cuda_push(ctx) == VGPU_S_OK) {
        cuda_stream_free(ctx->dflt);
        cuda_pop(ctx);
    }
    /*
     * Every done() has been called now.  A killed context may still run
     * the kernel that hung: its release must not hold up other tenants.
     */
    if (atomic_load(&ctx->dead) && !pthread_attr_init(&attr)) {
        bool started;

        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = !pthread_create(&t, &attr, cuda_ctx_reaper, ctx);
        pthread_attr_destroy(&attr);
        if (started) {
            return;
        }
    }
    /* Destroying the context frees its memory, modules and streams. */
    ctx->exec->api.cuCtxDestroy_v2(ctx->cu);
    free(ctx);
}

static int cuda_mem_alloc(VgpuExecCtx *ctx, uint64_t size, uint64_t *dptr)
{
    CUdeviceptr p = 0;
    int r = cuda_push(ctx);

    if (r) {
        return r;
    }
    r = cuda_status(ctx->exec->api.cuMemAlloc_v2(&p, size));
    cuda_pop(ctx);
    *dptr = p;
    return r;
}

static int cuda_mem_free(VgpuExecCtx *ctx, uint64_t dptr)
{
    int r;

    /*
     * cuMemFree may wait for the device, and a killed context's kernel may
     * never end: its memory goes with the context (cuda_ctx_reaper).
     */
    if (atomic_load(&ctx->dead)) {
        return VGPU_S_OK;
    }
    r = cuda_push(ctx);
    if (r) {
        return r;
    }
    r = cuda_status(ctx->exec->api.cuMemFree_v2(dptr));
    cuda_pop(ctx);
    return r;
}

static int cuda_module_load(VgpuExecCtx *ctx, uint32_t kind,
                            const void *image, size_t size,
                            VgpuExecModule **out, char *log, size_t loglen)
{
    VgpuExecModule *m;
    int opts[2] = { CU_JIT_ERROR_LOG_BUFFER,
                    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
    void *vals[2] = { log, (void *)(uintptr_t)loglen };
    int r;

    /* The driver sniffs PTX, fatbin and cubin images itself. */
    (void)kind;
    (void)size;
    if (loglen) {
        log[0] = '\0';
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    m->ctx = ctx;
    r = cuda_push(ctx);
    if (r == VGPU_S_OK) {
        r = cuda_status(ctx->exec->api.cuModuleLoadDataEx(&m->cu, image,
                                                          loglen ? 2 : 0,
                                                          opts, vals));
        cuda_pop(ctx);
    }
    if (r) {
        free(m);
        return r;
    }
    *out = m;
    return VGPU_S_OK;
}

static void cuda_module_unload(VgpuExecModule *m)
{
    while (m->funcs) {
        VgpuExecFunc *f = m->funcs;

        m->funcs = f->next;
        free(f);
    }
    /* as in cuda_mem_free: a killed context's modules go with it */
    if (!atomic_load(&m->ctx->dead) && cuda_push(m->ctx) == VGPU_S_OK) {
        m->ctx->exec->api.cuModuleUnload(m->cu);
        cuda_pop(m->ctx);
    }
    free(m);
}

static int cuda_func_info(const CudaApi *api, CUfunction f,
                          VgpuFuncInfo *info)
{
    uint32_t end = 0;

    memset(info, 0, sizeof(*info));
    for (size_t i = 0; i < VGPU_MAX_PARAMS; i++) {
        size_t off, sz;

        if (api->cuFuncGetParamInfo(f, i, &off, &sz) != CUDA_SUCCESS) {
            break;              /* past the last parameter */
        }
        info->params[i].offset = off;
        info->params[i].size = sz;
        info->nparams = i + 1;
        if (off + sz > end) {
            end = off + sz;
        }
    }
    info->param_bytes = end;
    for (int a = 0; a < VGPU_NUM_FUNC_ATTRS; a++) {
        int v = 0;

        if (api->cuFuncGetAttribute(&v, a, f) == CUDA_SUCCESS) {
            info->attrs[a] = v;
        }
    }
    return VGPU_S_OK;
}

static int cuda_module_get_function(VgpuExecModule *m, const char *name,
                                    VgpuExecFunc **out, VgpuFuncInfo *info)
{
    const CudaApi *api = &m->ctx->exec->api;
    VgpuExecFunc *f = calloc(1, sizeof(*f));
    int r;

    if (!f) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    r = cuda_push(m->ctx);
    if (r == VGPU_S_OK) {
        r = cuda_status(api->cuModuleGetFunction(&f->cu, m->cu, name));
        if (r == VGPU_S_OK) {
            r = cuda_func_info(api, f->cu, info);
        }
        cuda_pop(m->ctx);
    }
    if (r) {
        free(f);
        return r;
    }
    /*
     * Function handles live as long as their module; asking again for the
     * same function returns the same handle, so repeated lookups by a
     * guest cannot grow the list.
     */
    for (VgpuExecFunc *old = m->funcs; old; old = old->next) {
        if (old->cu == f->cu) {
            free(f);
            *out = old;
            return VGPU_S_OK;
        }
    }
    f->next = m->funcs;
    m->funcs = f;
    *out = f;
    return VGPU_S_OK;
}

static int cuda_module_get_global(VgpuExecModule *m, const char *name,
                                  uint64_t *dptr, uint64_t *size)
{
    CUdeviceptr p = 0;
    size_t sz = 0;
    int r = cuda_push(m->ctx);

    if (r) {
        return r;
    }
    r = cuda_status(m->ctx->exec->api.cuModuleGetGlobal_v2(&p, &sz, m->cu,
                                                           name));
    cuda_pop(m->ctx);
    *dptr = p;
    *size = sz;
    return r;
}

static int cuda_stream_create(VgpuExecCtx *ctx, VgpuExecStream **out)
{
    int r = cuda_push(ctx);

    if (r) {
        return r;
    }
    r = cuda_stream_new(ctx, out);
    cuda_pop(ctx);
    return r;
}

static void cuda_stream_destroy(VgpuExecStream *s)
{
    VgpuExecCtx *ctx = s->ctx;

    if (cuda_push(ctx) == VGPU_S_OK) {
        cuda_stream_free(s);
        cuda_pop(ctx);
    }
}

/* Issues the work of @item on @cu; the caller pushed the context. */
static int cuda_issue(const CudaApi *api, VgpuExecItem *item, CUstream cu)
{
    int r = CUDA_SUCCESS;

    switch (item->kind) {
    case VGPU_ITEM_LAUNCH: {
        size_t psize = item->u.launch.param_bytes;
        void *extra[] = {
            CU_LAUNCH_PARAM_BUFFER_POINTER, (void *)item->u.launch.params,
            CU_LAUNCH_PARAM_BUFFER_SIZE, &psize,
            CU_LAUNCH_PARAM_END,
        };

        r = api->cuLaunchKernel(item->u.launch.func->cu,
                                item->u.launch.grid[0], item->u.launch.grid[1],
                                item->u.launch.grid[2], item->u.launch.block[0],
                                item->u.launch.block[1],
                                item->u.launch.block[2],
                                item->u.launch.shared_bytes, cu, NULL, extra);
        break;
    }
    case VGPU_ITEM_HTOD:
    case VGPU_ITEM_DTOH: {
        uint64_t dptr = item->u.copy.dptr;

        for (unsigned i = 0; i < item->u.copy.iovcnt && r == CUDA_SUCCESS;
             i++) {
            char *base = item->u.copy.iov[i].iov_base;
            size_t len = item->u.copy.iov[i].iov_len;

            for (size_t off = 0; off < len && r == CUDA_SUCCESS;
                 off += CUDA_COPY_CHUNK) {
                size_t n = len - off < CUDA_COPY_CHUNK ? len - off
                                                       : CUDA_COPY_CHUNK;

                r = item->kind == VGPU_ITEM_HTOD
                    ? api->cuMemcpyHtoDAsync_v2(dptr, base + off, n, cu)
                    : api->cuMemcpyDtoHAsync_v2(base + off, dptr, n, cu);
                dptr += n;
            }
        }
        break;
    }
    case VGPU_ITEM_DTOD:
        r = api->cuMemcpyDtoDAsync_v2(item->u.dtod.dst, item->u.dtod.src,
                                      item->u.dtod.size, cu);
        break;
    case VGPU_ITEM_MEMSET:
        switch (item->u.memset.elem_size) {
        case 1:
            r = api->cuMemsetD8Async(item->u.memset.dptr,
                                     item->u.memset.value,
                                     item->u.memset.count, cu);
            break;
        case 2:
            r = api->cuMemsetD16Async(item->u.memset.dptr,
                                      item->u.memset.value,
                                      item->u.memset.count, cu);
            break;
        default:
            r = api->cuMemsetD32Async(item->u.memset.dptr,
                                      item->u.memset.value,
                                      item->u.memset.count, cu);
            break;
        }
        break;
    case VGPU_ITEM_MARKER:
        break;
    }
    return cuda_status(r);
}

static int cuda_submit(VgpuExecCtx *ctx, VgpuExecItem *item)
{
    const CudaApi *api = &ctx->exec->api;
    VgpuExecStream *s = item->stream ? item->stream : ctx->dflt;
    CudaPending *p = calloc(1, sizeof(*p));
    int r;

    if (!p) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    p->item = item;
    p->status = atomic_load(&ctx->dead);
    if (p->status) {
        /* Killed by the watchdog: complete in order, touch no GPU. */
        goto queue;
    }
    r = cuda_push(ctx);
    if (r) {
        free(p);
        return r;
    }
    pthread_mutex_lock(&s->lock);
    if (s->npool >= 2) {
        p->end = s->pool[--s->npool];
        p->start = s->pool[--s->npool];
    }
    pthread_mutex_unlock(&s->lock);
    r = p->start ? VGPU_S_OK
                 : cuda_status(api->cuEventCreate(&p->start, CU_EVENT_DEFAULT));
    if (r == VGPU_S_OK && !p->end) {
        r = cuda_status(api->cuEventCreate(&p->end, CU_EVENT_DEFAULT));
        if (r) {
            api->cuEventDestroy_v2(p->start);
        }
    }
    if (r) {
        cuda_pop(ctx);
        free(p);
        return r;
    }
    api->cuEventRecord(p->start, s->cu);
    /*
     * A failure to queue (say, an invalid launch configuration the driver
     * found) still completes through the stream so done() stays ordered.
     */
    p->status = cuda_issue(api, item, s->cu);
    api->cuEventRecord(p->end, s->cu);
    cuda_pop(ctx);

queue:
    pthread_mutex_lock(&s->lock);
    if (s->tail) {
        s->tail->next = p;
    } else {
        s->head = p;
    }
    s->tail = p;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return VGPU_S_OK;
}

static int cuda_host_register(VgpuExec *e, void *addr, size_t size)
{
    CUcontext dummy;
    int r = cuda_status(e->api.cuCtxPushCurrent_v2(e->primary));

    if (r) {
        return r;
    }
    r = cuda_status(e->api.cuMemHostRegister_v2(addr, size,
                                                CU_MEMHOSTREGISTER_PORTABLE));
    e->api.cuCtxPopCurrent_v2(&dummy);
    return r;
}

static void cuda_host_unregister(VgpuExec *e, void *addr)
{
    CUcontext dummy;

    if (e->api.cuCtxPushCurrent_v2(e->primary) == CUDA_SUCCESS) {
        e->api.cuMemHostUnregister(addr);
        e->api.cuCtxPopCurrent_v2(&dummy);
    }
}

const VgpuExecOps vgpu_exec_cuda_ops = {
    .name = "cuda",
    .init = cuda_init,
    .fini = cuda_fini,
    .device_info = cuda_device_info,
    .mem_get_info = cuda_mem_get_info,
    .ctx_create = cuda_ctx_create,
    .ctx_destroy = cuda_ctx_destroy,
    .mem_alloc = cuda_mem_alloc,
    .mem_free = cuda_mem_free,
    .module_load = cuda_module_load,
    .module_unload = cuda_module_unload,
    .module_get_function = cuda_module_get_function,
    .module_get_global = cuda_module_get_global,
    .stream_create = cuda_stream_create,
    .stream_destroy = cuda_stream_destroy,
    .submit = cuda_submit,
    .host_register = cuda_host_register,
    .host_unregister = cuda_host_unregister,
};
