/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * simtest.h - helpers shared by the sim test programs: a synchronous
 * wrapper around the executor ops (submit and wait), PTX file loading.
 */
#ifndef VGPU_SIMTEST_H
#define VGPU_SIMTEST_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "sim.h"

typedef struct SimWait {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    int status;
    uint64_t ns;
} SimWait;

static void simtest_done(VgpuExecItem *it, int status, uint64_t ns)
{
    SimWait *w = it->opaque;

    pthread_mutex_lock(&w->m);
    w->status = status;
    w->ns = ns;
    w->done++;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* Submits @it and waits for its completion; returns its status. */
static inline int simtest_run(VgpuExecCtx *ctx, VgpuExecItem *it)
{
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    int rc;

    it->done = simtest_done;
    it->opaque = &w;
    rc = vgpu_exec_sim_ops.submit(ctx, it);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&w.m);
    while (!w.done) {
        pthread_cond_wait(&w.c, &w.m);
    }
    pthread_mutex_unlock(&w.m);
    return w.status;
}

static inline int simtest_htod(VgpuExecCtx *ctx, uint64_t d, const void *h, size_t n)
{
    struct iovec iov = { (void *)h, n };
    VgpuExecItem it;

    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_HTOD;
    it.u.copy.dptr = d;
    it.u.copy.iov = &iov;
    it.u.copy.iovcnt = 1;
    it.u.copy.size = n;
    return simtest_run(ctx, &it);
}

static inline int simtest_dtoh(VgpuExecCtx *ctx, void *h, uint64_t d, size_t n)
{
    struct iovec iov = { h, n };
    VgpuExecItem it;

    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_DTOH;
    it.u.copy.dptr = d;
    it.u.copy.iov = &iov;
    it.u.copy.iovcnt = 1;
    it.u.copy.size = n;
    return simtest_run(ctx, &it);
}

static inline int simtest_launch(VgpuExecCtx *ctx, VgpuExecFunc *f,
                                 unsigned gx, unsigned gy, unsigned bx,
                                 unsigned by, unsigned shared,
                                 const void *params, unsigned pbytes)
{
    VgpuExecItem it;

    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_LAUNCH;
    it.u.launch.func = f;
    it.u.launch.grid[0] = gx;
    it.u.launch.grid[1] = gy;
    it.u.launch.grid[2] = 1;
    it.u.launch.block[0] = bx;
    it.u.launch.block[1] = by;
    it.u.launch.block[2] = 1;
    it.u.launch.shared_bytes = shared;
    it.u.launch.params = params;
    it.u.launch.param_bytes = pbytes;
    return simtest_run(ctx, &it);
}

/* Reads a whole file (NUL-terminated); exits on failure. */
static inline char *simtest_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    buf[n] = 0;
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

#endif /* VGPU_SIMTEST_H */
