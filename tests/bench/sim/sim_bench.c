/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_bench.c - throughput of the sim interpreter: thread-instructions per
 * second of the tiled matrixMul kernel (1024x1024, 16x16 tiles) on one and
 * two host threads, and the time to load a ~100 KB PTX module.  Prints
 * numbers; it never passes or fails on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *b;

    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        exit(2);
    }
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static double secs(void)
{
    return (double)sim_now_ns() / 1e9;
}

static double cpu_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_load(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128];

    if (f && fgets(buf, sizeof(buf), f)) {
        printf("load average: %s", buf);
    }
    if (f) {
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    const char *mm = argc > 1 ? argv[1] : "matmul.ptx";
    const char *big = argc > 2 ? argv[2] : "bigmod.ptx";
    int n = argc > 3 ? atoi(argv[3]) : 1024;
    size_t len;
    char log[512];
    SimProgram *p;

    /* Module load: best of 5 (parse and decode; no context needed). */
    char *bt = read_file(big, &len);
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = secs();
        if (sim_ptx_parse(bt, len, &p, log, sizeof(log))) {
            fprintf(stderr, "load failed: %s\n", log);
            return 1;
        }
        double t = secs() - t0;
        sim_program_free(p);
        best = t < best ? t : best;
    }
    printf("module load: %zu bytes of PTX in %.2f ms (best of 5)\n", len, best * 1e3);

    char *mt = read_file(mm, &len);
    if (sim_ptx_parse(mt, len, &p, log, sizeof(log))) {
        fprintf(stderr, "load failed: %s\n", log);
        return 1;
    }
    int fi = sim_program_find_func(p, "matrixMul");
    if (fi < 0) {
        fprintf(stderr, "no matrixMul in %s\n", mm);
        return 1;
    }
    size_t bytes = (size_t)n * n * 4;
    SimAlloc al[3];
    for (int i = 0; i < 3; i++) {
        al[i].base = SIM_GLOBAL_BASE + (uint64_t)i * (bytes + 65536);
        al[i].size = bytes;
        al[i].host = malloc(bytes);
    }
    float *A = (float *)al[1].host, *B = (float *)al[2].host, *C = (float *)al[0].host;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        A[i] = (float)(i % 7) - 3;
        B[i] = (float)(i % 5) - 2;
    }
    uint8_t params[32];
    memcpy(params, &al[0].base, 8);
    memcpy(params + 8, &al[1].base, 8);
    memcpy(params + 16, &al[2].base, 8);
    memcpy(params + 24, &n, 4);
    memcpy(params + 28, &n, 4);
    double rate[3] = { 0 }, cpu_rate[3] = { 0 };
    for (unsigned thr = 1; thr <= 2; thr++) {
        SimLaunch l;

        memset(&l, 0, sizeof(l));
        l.prog = p;
        l.func = &p->funcs[fi];
        l.grid[0] = n / 16;
        l.grid[1] = n / 16;
        l.grid[2] = 1;
        l.block[0] = 16;
        l.block[1] = 16;
        l.block[2] = 1;
        l.params = params;
        l.param_bytes = 32;
        l.mem.allocs = al;
        l.mem.nallocs = 3;
        l.threads = thr;
        double t0 = secs(), c0 = cpu_secs();
        int rc = sim_launch_run(&l);
        double t = secs() - t0, ct = cpu_secs() - c0;
        if (rc) {
            fprintf(stderr, "launch failed: %d %s\n", rc, l.errmsg);
            return 1;
        }
        rate[thr] = (double)l.insns / t;
        cpu_rate[thr] = (double)l.insns / ct;
        printf("matrixMul %dx%d on %u thread%s: %.3f s, %llu thread-instructions, "
               "%.1f M thread-instructions/s (%.1f M per CPU-second)\n", n, n, thr,
               thr > 1 ? "s" : "", t, (unsigned long long)l.insns, rate[thr] / 1e6,
               (double)l.insns / ct / 1e6);
    }
    /* Spot-check the result so a broken interpreter cannot look fast. */
    double s = 0;
    for (int k = 0; k < n; k++) {
        s += (double)A[5 * n + k] * B[k * n + 9];
    }
    printf("check C[5][9] = %g (host %g)\n", C[5 * n + 9], s);
    printf("scaling 2 threads / 1 thread: %.2fx wall-clock; %.2fx expected on two idle "
           "cores (2 x CPU-time efficiency %.2f)\n", rate[2] / rate[1],
           2 * cpu_rate[2] / cpu_rate[1], cpu_rate[2] / cpu_rate[1]);
    print_load();
    printf("note: on a shared machine the wall-clock numbers (and so the scaling) "
           "depend on the load above\n");
    return 0;
}
