/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_exec.c - a test double of the executor interface for vgpud's unit
 * tests: real host memory behind device pointers, copies and memsets done
 * for real, launches that only record themselves, and a manual mode in
 * which the test decides when items complete.  Never linked into vgpud.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_exec.h"

FakeExecState fake;

typedef struct FakeCtx {
    int dummy;
} FakeCtx;

typedef struct FakeFunc {
    const char *name;
} FakeFunc;

static FakeFunc fake_k = { "k" }, fake_k0 = { "k0" };

static int f_init(const VgpuExecConfig *cfg, VgpuExec **out, char *err,
                  size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    *out = (VgpuExec *)&fake;
    return VGPU_S_OK;
}

static void f_fini(VgpuExec *e)
{
    (void)e;
}

static void f_device_info(VgpuExec *e, VgpuDeviceInfo *info)
{
    (void)e;
    memset(info, 0, sizeof(*info));
    strcpy(info->name, "fake device");
    info->total_mem = 1ull << 30;
    info->driver_version = 13000;
    info->attrs[1] = 1024;      /* max threads per block */
    info->attrs[2] = 1024;
    info->attrs[3] = 1024;
    info->attrs[4] = 64;
    info->attrs[5] = 0x7fffffff;
    info->attrs[6] = 65535;
    info->attrs[7] = 65535;
    info->attrs[8] = 48 * 1024;
    info->attrs[97] = 96 * 1024;
}

static void f_mem_get_info(VgpuExec *e, uint64_t *free_b, uint64_t *total)
{
    (void)e;
    *total = 1ull << 30;
    *free_b = *total - fake.mem_used;
}

static int f_ctx_create(VgpuExec *e, const VgpuExecCtxHooks *hooks,
                        VgpuExecCtx **out)
{
    (void)e;
    fake.hooks = *hooks;
    fake.nctx++;
    *out = calloc(1, sizeof(FakeCtx));
    return *out ? VGPU_S_OK : VGPU_S_OUT_OF_MEMORY;
}

static void f_ctx_destroy(VgpuExecCtx *c)
{
    fake.nctx--;
    free(c);
}

static int f_mem_alloc(VgpuExecCtx *c, uint64_t size, uint64_t *dptr)
{
    void *p;

    (void)c;
    if (size > (256u << 20)) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    p = calloc(1, size);
    if (!p) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    fake.mem_used += size;
    fake.nallocs++;
    *dptr = (uint64_t)(uintptr_t)p;
    return VGPU_S_OK;
}

static int f_mem_free(VgpuExecCtx *c, uint64_t dptr)
{
    (void)c;
    fake.nallocs--;
    fake.nfrees++;
    free((void *)(uintptr_t)dptr);
    return VGPU_S_OK;
}

static int f_module_load(VgpuExecCtx *c, uint32_t kind, const void *image,
                         size_t size, VgpuExecModule **out, char *log,
                         size_t loglen)
{
    (void)c;
    if (kind != VGPU_IMAGE_PTX) {
        snprintf(log, loglen, "only PTX");
        return VGPU_S_NO_BINARY_FOR_GPU;
    }
    if (memmem(image, size, "bad", 3)) {
        snprintf(log, loglen, "line 3: syntax error near 'bad'");
        return VGPU_S_INVALID_PTX;
    }
    *out = calloc(1, 64);   /* holds the global "g" */
    fake.nmodules++;
    return *out ? VGPU_S_OK : VGPU_S_OUT_OF_MEMORY;
}

static void f_module_unload(VgpuExecModule *m)
{
    fake.nmodules--;
    free(m);
}

static int f_get_function(VgpuExecModule *m, const char *name,
                          VgpuExecFunc **out, VgpuFuncInfo *info)
{
    (void)m;
    if (!strcmp(name, "k")) {
        /* (u64 ptr, u32 n): 12 bytes packed */
        info->nparams = 2;
        info->params[0].offset = 0;
        info->params[0].size = 8;
        info->params[1].offset = 8;
        info->params[1].size = 4;
        info->param_bytes = 12;
        info->attrs[VGPU_FUNC_ATTR_MAX_THREADS] = 512;
        info->attrs[VGPU_FUNC_ATTR_SHARED_BYTES] = 1024;
        *out = (VgpuExecFunc *)&fake_k;
        return VGPU_S_OK;
    }
    if (!strcmp(name, "k0")) {
        info->nparams = 0;
        info->param_bytes = 0;
        *out = (VgpuExecFunc *)&fake_k0;
        return VGPU_S_OK;
    }
    return VGPU_S_NOT_FOUND;
}

static int f_get_global(VgpuExecModule *m, const char *name, uint64_t *dptr,
                        uint64_t *size)
{
    if (strcmp(name, "g")) {
        return VGPU_S_NOT_FOUND;
    }
    *dptr = (uint64_t)(uintptr_t)m;
    *size = 64;
    return VGPU_S_OK;
}

static int f_stream_create(VgpuExecCtx *c, VgpuExecStream **out)
{
    (void)c;
    fake.nstreams++;
    *out = calloc(1, 8);
    return *out ? VGPU_S_OK : VGPU_S_OUT_OF_MEMORY;
}

static void f_stream_destroy(VgpuExecStream *s)
{
    fake.nstreams--;
    free(s);
}

/* Does what the item says; returns its status. */
static int run_item(VgpuExecItem *it)
{
    switch (it->kind) {
    case VGPU_ITEM_HTOD: {
        uint8_t *d = (uint8_t *)(uintptr_t)it->u.copy.dptr;

        for (unsigned i = 0; i < it->u.copy.iovcnt; i++) {
            memcpy(d, it->u.copy.iov[i].iov_base, it->u.copy.iov[i].iov_len);
            d += it->u.copy.iov[i].iov_len;
        }
        return VGPU_S_OK;
    }
    case VGPU_ITEM_DTOH: {
        const uint8_t *s = (const uint8_t *)(uintptr_t)it->u.copy.dptr;

        for (unsigned i = 0; i < it->u.copy.iovcnt; i++) {
            memcpy(it->u.copy.iov[i].iov_base, s, it->u.copy.iov[i].iov_len);
            s += it->u.copy.iov[i].iov_len;
        }
        return VGPU_S_OK;
    }
    case VGPU_ITEM_DTOD:
        memmove((void *)(uintptr_t)it->u.dtod.dst,
                (void *)(uintptr_t)it->u.dtod.src, it->u.dtod.size);
        return VGPU_S_OK;
    case VGPU_ITEM_MEMSET:
        for (uint64_t i = 0; i < it->u.memset.count; i++) {
            memcpy((uint8_t *)(uintptr_t)it->u.memset.dptr +
                   i * it->u.memset.elem_size, &it->u.memset.value,
                   it->u.memset.elem_size);
        }
        return VGPU_S_OK;
    case VGPU_ITEM_LAUNCH: {
        uint32_t arg = 0;

        fake.launches++;
        if (it->u.launch.param_bytes == 12) {
            memcpy(&arg, (const uint8_t *)it->u.launch.params + 8, 4);
        }
        if (arg == FAKE_ARG_FAULT) {
            return VGPU_S_ILLEGAL_ADDRESS;
        }
        if (arg == FAKE_ARG_FAIL) {
            return VGPU_S_LAUNCH_OUT_OF_RESOURCES;
        }
        if (arg == FAKE_ARG_PRINT && fake.hooks.print) {
            fake.hooks.print(fake.hooks.opaque, "hello\n", 6);
        }
        return VGPU_S_OK;
    }
    case VGPU_ITEM_MARKER:
        return VGPU_S_OK;
    }
    return VGPU_S_UNKNOWN;
}

static int f_submit(VgpuExecCtx *c, VgpuExecItem *it)
{
    (void)c;
    fake.submitted++;
    if (fake.manual) {
        if (fake.nheld < FAKE_MAX_HELD) {
            fake.held[fake.nheld++] = it;
            return VGPU_S_OK;
        }
        return VGPU_S_OUT_OF_MEMORY;
    }
    it->done(it, run_item(it), 1000);
    return VGPU_S_OK;
}

/**
 * fake_complete - run and complete the @i-th held item (manual mode)
 */
void fake_complete(unsigned i)
{
    VgpuExecItem *it = fake.held[i];

    memmove(&fake.held[i], &fake.held[i + 1],
            (fake.nheld - i - 1) * sizeof(fake.held[0]));
    fake.nheld--;
    it->done(it, run_item(it), 1000);
}

void fake_complete_all(void)
{
    while (fake.nheld) {
        fake_complete(0);
    }
}

static int f_host_register(VgpuExec *e, void *addr, size_t size)
{
    (void)e;
    (void)addr;
    fake.nhost_registered++;
    fake.host_registered_bytes += size;
    return VGPU_S_OK;
}

static void f_host_unregister(VgpuExec *e, void *addr)
{
    (void)e;
    (void)addr;
    fake.nhost_registered--;
}

const VgpuExecOps fake_exec_ops = {
    .name = "fake",
    .forwards_printf = true,
    .init = f_init,
    .fini = f_fini,
    .device_info = f_device_info,
    .mem_get_info = f_mem_get_info,
    .ctx_create = f_ctx_create,
    .ctx_destroy = f_ctx_destroy,
    .mem_alloc = f_mem_alloc,
    .mem_free = f_mem_free,
    .module_load = f_module_load,
    .module_unload = f_module_unload,
    .module_get_function = f_get_function,
    .module_get_global = f_get_global,
    .stream_create = f_stream_create,
    .stream_destroy = f_stream_destroy,
    .submit = f_submit,
    .host_register = f_host_register,
    .host_unregister = f_host_unregister,
};
