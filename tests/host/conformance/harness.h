/* SPDX-License-Identifier: MIT */
/*
 * harness.h - CUDA Driver API helpers shared by the conformance,
 * differential and hostile-kernel test programs.
 *
 * The programs only use the Driver API calls that an ordinary CUDA
 * application uses, so the same binaries run against libvgpu (any vgpud
 * backend) and against NVIDIA's own libcuda.so.1 on a machine with a GPU.
 * Errors are printed by number and by name from a local table, because the
 * name lookup functions are not needed by the code under test.
 */
#ifndef VGPU_CONFORMANCE_HARNESS_H
#define VGPU_CONFORMANCE_HARNESS_H

#include <cuda.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static inline const char *h_errname(CUresult r)
{
    switch ((int)r) {
    case 0: return "CUDA_SUCCESS";
    case 1: return "CUDA_ERROR_INVALID_VALUE";
    case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
    case 3: return "CUDA_ERROR_NOT_INITIALIZED";
    case 46: return "CUDA_ERROR_DEVICE_UNAVAILABLE";
    case 200: return "CUDA_ERROR_INVALID_IMAGE";
    case 201: return "CUDA_ERROR_INVALID_CONTEXT";
    case 209: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case 218: return "CUDA_ERROR_INVALID_PTX";
    case 300: return "CUDA_ERROR_INVALID_SOURCE";
    case 400: return "CUDA_ERROR_INVALID_HANDLE";
    case 500: return "CUDA_ERROR_NOT_FOUND";
    case 600: return "CUDA_ERROR_NOT_READY";
    case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS";
    case 701: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
    case 702: return "CUDA_ERROR_LAUNCH_TIMEOUT";
    case 710: return "CUDA_ERROR_ASSERT";
    case 715: return "CUDA_ERROR_ILLEGAL_INSTRUCTION";
    case 716: return "CUDA_ERROR_MISALIGNED_ADDRESS";
    case 719: return "CUDA_ERROR_LAUNCH_FAILED";
    case 800: return "CUDA_ERROR_NOT_PERMITTED";
    case 801: return "CUDA_ERROR_NOT_SUPPORTED";
    default: return "CUDA_ERROR_?";
    }
}

/* Fails the current TEST when @call does not return CUDA_SUCCESS. */
#define CU(call)                                                            \
    do {                                                                    \
        CUresult r_ = (call);                                               \
        if (r_ != CUDA_SUCCESS) {                                           \
            printf("# %s:%d: %s returned %d (%s)\n", __FILE__, __LINE__,    \
                   #call, (int)r_, h_errname(r_));                          \
            *tap_failed_ = 1;                                               \
            return;                                                         \
        }                                                                   \
    } while (0)

/* Fails the current TEST unless @call returns exactly @want. */
#define CU_EXPECT(call, want)                                               \
    do {                                                                    \
        CUresult r_ = (call);                                               \
        if (r_ != (want)) {                                                 \
            printf("# %s:%d: %s returned %d (%s), expected %d (%s)\n",      \
                   __FILE__, __LINE__, #call, (int)r_, h_errname(r_),       \
                   (int)(want), h_errname(want));                           \
            *tap_failed_ = 1;                                               \
            return;                                                         \
        }                                                                   \
    } while (0)

/* Directory holding the .ptx files; run.sh exports it. */
static inline const char *h_ptx_dir(void)
{
    const char *d = getenv("CONFORMANCE_DIR");

    return d ? d : ".";
}

/*
 * h_read_ptx - read @name (relative to CONFORMANCE_DIR) into a
 * NUL-terminated buffer the caller frees; NULL (with a TAP comment) when
 * the file cannot be read.
 */
static inline char *h_read_ptx(const char *name)
{
    char path[4096];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof(path), "%s/%s", h_ptx_dir(), name);
    f = fopen(path, "rb");
    if (!f) {
        printf("# cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n + 1);
    if (buf && fread(buf, 1, n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/*
 * h_ctx - initialise the driver once and create a fresh context, current
 * on the calling thread.  Every TEST gets its own context so that a sticky
 * fault in one group cannot fail the groups after it.
 */
static inline CUresult h_ctx(CUcontext *ctx)
{
    static int inited;
    CUdevice dev;
    CUresult r;

    if (!inited) {
        r = cuInit(0);
        if (r != CUDA_SUCCESS)
            return r;
        inited = 1;
    }
    r = cuDeviceGet(&dev, 0);
    if (r != CUDA_SUCCESS)
        return r;
    return cuCtxCreate(ctx, NULL, 0, dev);
}

/*
 * h_load_text - load a PTX module, printing the JIT error log (which names
 * the offending PTX line) as TAP comments when it is refused.
 */
static inline CUresult h_load_text(CUmodule *mod, const char *text,
                                   const char *what)
{
    static char log[8192];
    CUjit_option opt[] = { CU_JIT_ERROR_LOG_BUFFER,
                           CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
    void *val[] = { log, (void *)(uintptr_t)sizeof(log) };
    CUresult r;

    log[0] = 0;
    r = cuModuleLoadDataEx(mod, text, 2, opt, val);
    if (r != CUDA_SUCCESS) {
        printf("# loading %s returned %d (%s)\n", what, (int)r, h_errname(r));
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
            printf("#   %s\n", line);
    }
    return r;
}

/* h_load_file - load the module in @name and look up @entry. */
static inline CUresult h_load_file(const char *name, const char *entry,
                                   CUmodule *mod, CUfunction *fn)
{
    char *text = h_read_ptx(name);
    CUresult r;

    if (!text)
        return CUDA_ERROR_FILE_NOT_FOUND;
    r = h_load_text(mod, text, name);
    free(text);
    if (r != CUDA_SUCCESS)
        return r;
    if (entry)
        r = cuModuleGetFunction(fn, *mod, entry);
    return r;
}

/* h_launch1 - launch @fn on a 1-D grid with the given parameters. */
static inline CUresult h_launch1(CUfunction fn, unsigned grid, unsigned block,
                                 unsigned shmem, void **params)
{
    return cuLaunchKernel(fn, grid, 1, 1, block, 1, 1, shmem, NULL, params,
                          NULL);
}

static inline float h_f32(uint32_t u)
{
    float f;

    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t h_u32(float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    return u;
}

static inline double h_f64(uint64_t u)
{
    double f;

    memcpy(&f, &u, 8);
    return f;
}

static inline uint64_t h_u64(double f)
{
    uint64_t u;

    memcpy(&u, &f, 8);
    return u;
}

#endif /* VGPU_CONFORMANCE_HARNESS_H */
