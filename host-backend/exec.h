/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec.h - the executor interface behind which vgpud's backends (cuda, sim)
 * run validated work.
 *
 * vgpud validates every request before an executor sees it: device ranges
 * lie inside the calling context's allocations, launch parameters match the
 * function's signature, host iovecs point into memory vgpud has mapped.
 * Executors therefore trust their arguments; the sim backend still checks
 * every memory access a *kernel* makes, because kernels are guest code.
 *
 * Threading: object management calls (ctx, mem, module, stream) come from
 * vgpud's dispatch thread and may block briefly.  submit() hands over one
 * work item and must not block on the GPU; the executor completes the item
 * by calling item->done() exactly once, from any thread, in submission order
 * per stream.
 */
#ifndef VGPU_EXEC_H
#define VGPU_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vgpu_virtio.h"

typedef struct VgpuExec VgpuExec;             /* one backend instance */
typedef struct VgpuExecCtx VgpuExecCtx;       /* one per guest context */
typedef struct VgpuExecModule VgpuExecModule;
typedef struct VgpuExecFunc VgpuExecFunc;
typedef struct VgpuExecStream VgpuExecStream;

typedef struct VgpuExecConfig {
    unsigned threads;           /* host worker threads (sim); 0: one per core */
    uint64_t insn_budget;       /* sim: thread-instructions per launch; 0: default */
    uint64_t watchdog_ms;       /* longest a launch may run; 0: no limit */
    const char *libcuda_path;   /* cuda: library to dlopen; NULL: libcuda.so.1 */
} VgpuExecConfig;

typedef struct VgpuDeviceInfo {
    char name[256];
    uint8_t uuid[16];
    uint64_t total_mem;
    int32_t driver_version;
    int32_t attrs[VGPU_NUM_ATTRS];  /* indexed by CUdevice_attribute */
} VgpuDeviceInfo;

typedef struct VgpuParamInfo {
    uint32_t offset;
    uint32_t size;
} VgpuParamInfo;

typedef struct VgpuFuncInfo {
    uint32_t nparams;
    uint32_t param_bytes;                  /* packed buffer size */
    VgpuParamInfo params[VGPU_MAX_PARAMS];
    int32_t attrs[VGPU_NUM_FUNC_ATTRS];    /* VGPU_FUNC_ATTR_* */
} VgpuFuncInfo;

/* Callbacks an executor context uses to talk back to vgpud. */
typedef struct VgpuExecCtxHooks {
    void *opaque;
    /* Kernel printf output, in order; may be called from any thread. */
    void (*print)(void *opaque, const char *text, size_t len);
} VgpuExecCtxHooks;

typedef enum VgpuItemKind {
    VGPU_ITEM_LAUNCH,
    VGPU_ITEM_HTOD,         /* iov -> dptr */
    VGPU_ITEM_DTOH,         /* dptr -> iov */
    VGPU_ITEM_DTOD,
    VGPU_ITEM_MEMSET,
    VGPU_ITEM_MARKER,       /* no work: completes after what precedes it */
} VgpuItemKind;

typedef struct VgpuExecItem VgpuExecItem;

struct VgpuExecItem {
    VgpuItemKind kind;
    VgpuExecStream *stream;     /* NULL: the context's default stream */
    union {
        struct {
            VgpuExecFunc *func;
            uint32_t grid[3];
            uint32_t block[3];
            uint32_t shared_bytes;
            const void *params;     /* packed; valid until done() */
            uint32_t param_bytes;
        } launch;
        struct {
            uint64_t dptr;
            const struct iovec *iov;    /* host memory, valid until done() */
            unsigned iovcnt;
            uint64_t size;              /* == sum of iov lengths */
        } copy;                         /* HTOD, DTOH */
        struct {
            uint64_t dst;
            uint64_t src;
            uint64_t size;
        } dtod;
        struct {
            uint64_t dptr;
            uint64_t count;
            uint32_t value;
            uint32_t elem_size;         /* 1, 2 or 4 */
        } memset;
    } u;
    /*
     * Called exactly once when the item finished: @status is a VGPU_S_*
     * code, @gpu_ns the engine time the item took (CUDA events on a GPU,
     * execution time in sim), for the scheduler's charging.
     */
    void (*done)(VgpuExecItem *item, int status, uint64_t gpu_ns);
    void *opaque;                   /* vgpud's */
};

/*
 * The ops table.  Functions returning int return VGPU_S_OK or a VGPU_S_*
 * code (never a negative errno); on failure nothing was created.
 */
typedef struct VgpuExecOps {
    const char *name;           /* "sim", "cuda" */
    /*
     * Kernel printf output comes back through VgpuExecCtxHooks.print, so
     * vgpud can hand it to the tenant (VGPU_F_PRINTF).  A GPU driver prints
     * on vgpud's own stdout instead, with nothing that names the tenant.
     */
    bool forwards_printf;

    /* Returns VGPU_S_NOT_SUPPORTED with @err filled when unusable here. */
    int (*init)(const VgpuExecConfig *cfg, VgpuExec **out,
                char *err, size_t errlen);
    void (*fini)(VgpuExec *exec);
    void (*device_info)(VgpuExec *exec, VgpuDeviceInfo *info);
    void (*mem_get_info)(VgpuExec *exec, uint64_t *free, uint64_t *total);

    int (*ctx_create)(VgpuExec *exec, const VgpuExecCtxHooks *hooks,
                      VgpuExecCtx **out);
    /* Waits for the context's outstanding items, then frees everything. */
    void (*ctx_destroy)(VgpuExecCtx *ctx);
    /*
     * Optional: the context is going away, so its running and queued work
     * may be abandoned; every item still completes through done(), with an
     * error where it did not run.  Lets an endless kernel of a departed
     * client end now rather than at its instruction budget.
     */
    void (*ctx_cancel)(VgpuExecCtx *ctx);

    int (*mem_alloc)(VgpuExecCtx *ctx, uint64_t size, uint64_t *dptr);
    int (*mem_free)(VgpuExecCtx *ctx, uint64_t dptr);

    /*
     * Loads @image of VGPU_IMAGE_* @kind; on failure writes a message that
     * names the offending line into @log.
     */
    int (*module_load)(VgpuExecCtx *ctx, uint32_t kind, const void *image,
                       size_t size, VgpuExecModule **out,
                       char *log, size_t loglen);
    void (*module_unload)(VgpuExecModule *mod);
    int (*module_get_function)(VgpuExecModule *mod, const char *name,
                               VgpuExecFunc **out, VgpuFuncInfo *info);
    int (*module_get_global)(VgpuExecModule *mod, const char *name,
                             uint64_t *dptr, uint64_t *size);

    int (*stream_create)(VgpuExecCtx *ctx, VgpuExecStream **out);
    /* Waits for the stream's outstanding items first. */
    void (*stream_destroy)(VgpuExecStream *stream);

    /* Queues @item; completion is reported through item->done(). */
    int (*submit)(VgpuExecCtx *ctx, VgpuExecItem *item);

    /*
     * Optional (NULL when the backend gains nothing from it): host memory
     * that copies will name again and again (guest RAM, client regions) is
     * announced once, so a GPU backend can pin it for direct DMA.
     */
    int (*host_register)(VgpuExec *exec, void *addr, size_t size);
    void (*host_unregister)(VgpuExec *exec, void *addr);
} VgpuExecOps;

extern const VgpuExecOps vgpu_exec_sim_ops;
extern const VgpuExecOps vgpu_exec_cuda_ops;

#endif /* VGPU_EXEC_H */
