// SPDX-License-Identifier: MIT
/*
 * differential.c - runs ordinary CUDA C kernels (the diff/ .cu files, compiled by
 * nvcc to the committed .ptx beside them) through the Driver API and compares
 * each result with the same computation done here in C.
 *
 * Integer results must match exactly.  Floating-point results that depend
 * on summation order or on approximate instructions (rsqrt.approx) are
 * compared against a double-precision reference with a stated tolerance.
 */
#include <math.h>
#include <unistd.h>

#include "harness.h"

static CUcontext ctx;

#define SETUP() CU(h_ctx(&ctx))
#define LOAD(file, entry, mod, fn) CU(h_load_file(file, entry, mod, fn))

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rnd32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static double rnd_unit(void)
{
    return (rnd32() / 4294967296.0) * 2.0 - 1.0;
}

TEST(prefix_scan_of_int64_in_shared_memory)
{
    enum { N = 5000, B = 256, M = 2 * B, NB = (N + M - 1) / M };
    static long long in[N], out[N], want[N];
    long long totals[NB], offs[NB], acc = 0;
    CUdeviceptr din, dout, dtot, doffs, dtot2;
    CUmodule mod;
    CUfunction scan, add;
    int n = N, nb = NB;
    void *p1[] = { &din, &dout, &dtot, &n };
    void *p2[] = { &dtot, &doffs, &dtot2, &nb };
    void *p3[] = { &dout, &doffs, &n };

    for (int i = 0; i < N; i++) {
        in[i] = (long long)(int32_t)rnd32() * 1000;
        want[i] = acc;
        acc += in[i];
    }
    SETUP();
    LOAD("diff/scan.ptx", "scan_block", &mod, &scan);
    CU(cuModuleGetFunction(&add, mod, "scan_add"));
    CU(cuMemAlloc(&din, sizeof(in)));
    CU(cuMemAlloc(&dout, sizeof(out)));
    CU(cuMemAlloc(&dtot, sizeof(totals)));
    CU(cuMemAlloc(&doffs, sizeof(offs)));
    CU(cuMemAlloc(&dtot2, sizeof(long long)));
    CU(cuMemcpyHtoD(din, in, sizeof(in)));
    CU(h_launch1(scan, NB, B, M * sizeof(long long), p1));
    CU(h_launch1(scan, 1, B, M * sizeof(long long), p2));
    CU(h_launch1(add, NB, B, 0, p3));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(out, dout, sizeof(out)));
    for (int i = 0; i < N; i++) {
        if (out[i] != want[i])
            printf("# element %d: expected %lld, got %lld\n", i, want[i],
                   out[i]);
        CHECK(out[i] == want[i]);
    }
}

struct kv {
    unsigned k;
    int v;
};

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;

    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

TEST(bitonic_sort_of_keys_and_payloads_in_shared_memory)
{
    enum { G = 4, N = G * 1024 };
    static unsigned keys[N];
    static int vals[N];
    static struct kv want[N];
    CUdeviceptr dk, dv;
    CUmodule mod;
    CUfunction fn;
    void *params[] = { &dk, &dv };

    for (int i = 0; i < N; i++) {
        keys[i] = i % 5 == 0 ? 77u : rnd32() >> (i % 3 ? 0 : 20);
        vals[i] = i;
        want[i].k = keys[i];
        want[i].v = i;
    }
    for (int g = 0; g < G; g++)
        qsort(want + g * 1024, 1024, sizeof(struct kv), kv_cmp);
    SETUP();
    LOAD("diff/bitonic.ptx", "bitonic", &mod, &fn);
    CU(cuMemAlloc(&dk, sizeof(keys)));
    CU(cuMemAlloc(&dv, sizeof(vals)));
    CU(cuMemcpyHtoD(dk, keys, sizeof(keys)));
    CU(cuMemcpyHtoD(dv, vals, sizeof(vals)));
    CU(h_launch1(fn, G, 512, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(keys, dk, sizeof(keys)));
    CU(cuMemcpyDtoH(vals, dv, sizeof(vals)));
    for (int i = 0; i < N; i++) {
        if (keys[i] != want[i].k || vals[i] != want[i].v)
            printf("# position %d: expected (%u, %d), got (%u, %d)\n", i,
                   want[i].k, want[i].v, keys[i], vals[i]);
        CHECK(keys[i] == want[i].k && vals[i] == want[i].v);
    }
}

TEST(nbody_step_in_f32_matches_a_double_reference)
{
    enum { N = 300 };
    static float pos[N][4], vel[N][4], npos[N][4], nvel[N][4];
    float dt = 0.01f, soft2 = 0.01f;
    int n = N;
    CUdeviceptr dp, dv, dnp, dnv;
    CUmodule mod;
    CUfunction fn;
    void *params[] = { &dp, &dv, &dnp, &dnv, &n, &dt, &soft2 };
    double worst = 0;

    for (int i = 0; i < N; i++) {
        for (int c = 0; c < 3; c++) {
            pos[i][c] = (float)rnd_unit();
            vel[i][c] = (float)rnd_unit() * 0.1f;
        }
        pos[i][3] = 1.0f / N + (float)(rnd32() % 100) / (100.0f * N);
        vel[i][3] = 0;
    }
    SETUP();
    LOAD("diff/nbody.ptx", "nbody_step", &mod, &fn);
    CU(cuMemAlloc(&dp, sizeof(pos)));
    CU(cuMemAlloc(&dv, sizeof(vel)));
    CU(cuMemAlloc(&dnp, sizeof(npos)));
    CU(cuMemAlloc(&dnv, sizeof(nvel)));
    CU(cuMemcpyHtoD(dp, pos, sizeof(pos)));
    CU(cuMemcpyHtoD(dv, vel, sizeof(vel)));
    CU(h_launch1(fn, (N + 127) / 128, 128, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(npos, dnp, sizeof(npos)));
    CU(cuMemcpyDtoH(nvel, dnv, sizeof(nvel)));
    for (int i = 0; i < N; i++) {
        double a[3] = { 0, 0, 0 }, mag = 0;

        for (int j = 0; j < N; j++) {
            double d[3], r2 = soft2, s;

            for (int c = 0; c < 3; c++) {
                d[c] = (double)pos[j][c] - pos[i][c];
                r2 += d[c] * d[c];
            }
            s = pos[j][3] / (r2 * sqrt(r2));
            for (int c = 0; c < 3; c++) {
                a[c] += d[c] * s;
                mag += fabs(d[c] * s);
            }
        }
        for (int c = 0; c < 3; c++) {
            double v = vel[i][c] + a[c] * dt, p = pos[i][c] + v * dt;
            /* rsqrt.approx (2 ulp) and f32 accumulation over N terms */
            double tol = 1e-5 * (fabs(vel[i][c]) + mag * dt) + 1e-6;
            double ev = fabs(nvel[i][c] - v), ep = fabs(npos[i][c] - p);

            if (ev / tol > worst)
                worst = ev / tol;
            if (ev > tol || ep > tol + 1e-6 * fabs(p))
                printf("# body %d axis %d: velocity %.9g (want %.9g), "
                       "position %.9g (want %.9g)\n", i, c, nvel[i][c], v,
                       npos[i][c], p);
            CHECK(ev <= tol && ep <= tol + 1e-6 * fabs(p));
        }
        CHECK(npos[i][3] == pos[i][3] && nvel[i][3] == 0);
    }
    printf("# worst velocity error: %.3f of the tolerance\n", worst);
}

TEST(f64_dot_product_with_shared_tree_and_atomicAdd_double)
{
    enum { N = 100000, G = 64, B = 256 };
    static double x[N], y[N];
    double partial[G], total = 0, sum_partial = 0, scale = 0;
    long double want = 0;
    CUdeviceptr dx, dy, dpart, dtot;
    CUmodule mod;
    CUfunction fn;
    int n = N;
    void *params[] = { &dx, &dy, &dpart, &dtot, &n };

    for (int i = 0; i < N; i++) {
        x[i] = rnd_unit();
        y[i] = rnd_unit() * 1e3;
        want += (long double)x[i] * y[i];
        scale += fabs(x[i] * y[i]);
    }
    SETUP();
    LOAD("diff/dot.ptx", "dot", &mod, &fn);
    CU(cuMemAlloc(&dx, sizeof(x)));
    CU(cuMemAlloc(&dy, sizeof(y)));
    CU(cuMemAlloc(&dpart, sizeof(partial)));
    CU(cuMemAlloc(&dtot, sizeof(total)));
    CU(cuMemcpyHtoD(dx, x, sizeof(x)));
    CU(cuMemcpyHtoD(dy, y, sizeof(y)));
    CU(cuMemcpyHtoD(dtot, &total, sizeof(total)));
    CU(h_launch1(fn, G, B, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(partial, dpart, sizeof(partial)));
    CU(cuMemcpyDtoH(&total, dtot, sizeof(total)));
    for (int g = 0; g < G; g++) {
        long double p = 0;

        /* Block g's threads sum the elements i with (i / B) % G == g. */
        for (int i = g * B; i < N; i += G * B)
            for (int k = i; k < i + B && k < N; k++)
                p += (long double)x[k] * y[k];
        CHECK(fabsl(partial[g] - p) <= 1e-13L * scale);
        sum_partial += partial[g];
    }
    printf("# dot: %.17g, reference %.17Lg\n", total, want);
    CHECK(fabsl(total - want) <= 1e-13L * scale);
    CHECK(fabs(total - sum_partial) <= 1e-13 * scale);
}

static uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s)
{
    uint64_t v = (uint64_t)y << 32 | x;
    uint32_t d = 0;

    for (int i = 0; i < 4; i++)
        d |= (uint32_t)(uint8_t)(v >> (8 * ((s >> (4 * i)) & 7))) << (8 * i);
    return d;
}

static uint32_t brev32(uint32_t x)
{
    uint32_t d = 0;

    for (int i = 0; i < 32; i++)
        d |= ((x >> i) & 1) << (31 - i);
    return d;
}

TEST(integer_hashing_murmur_splitmix_crc32)
{
    enum { N = 3000 };
    static uint32_t in[N], out32[2 * N];
    static unsigned long long out64[N];
    CUdeviceptr din, d32, d64;
    CUmodule mod;
    CUfunction fn;
    int n = N;
    void *params[] = { &din, &d32, &d64, &n };

    for (int i = 0; i < N; i++)
        in[i] = i < 8 ? (uint32_t[]){ 0, 1, 0xffffffff, 0x80000000,
                                      0x7fffffff, 7, 0xfffffff9, 42 }[i]
                      : rnd32();
    SETUP();
    LOAD("diff/hash.ptx", "hash", &mod, &fn);
    CU(cuMemAlloc(&din, sizeof(in)));
    CU(cuMemAlloc(&d32, sizeof(out32)));
    CU(cuMemAlloc(&d64, sizeof(out64)));
    CU(cuMemcpyHtoD(din, in, sizeof(in)));
    CU(h_launch1(fn, (N + 255) / 256, 256, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(out32, d32, sizeof(out32)));
    CU(cuMemcpyDtoH(out64, d64, sizeof(out64)));
    for (int i = 0; i < N; i++) {
        uint32_t h = in[i], crc = 0xffffffffu, r = (i & 31) | 1;
        unsigned long long z;

        h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u;
        h ^= h >> 16;
        h = ((h << r) | (h >> (32 - r))) ^ byte_perm(h, in[i], 0x4152) ^
            brev32(h);
        for (int b = 0; b < 4; b++) {
            crc ^= (in[i] >> (8 * b)) & 0xff;
            for (int k = 0; k < 8; k++)
                crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
        z = in[i] + 0x9e3779b97f4a7c15ull * (unsigned long long)(i + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        z = z + (unsigned long long)(((unsigned __int128)z *
                                      0xff51afd7ed558ccdull) >> 64) +
            (z % 1000003ull) + (unsigned long long)((long long)(int)in[i] / 7);
        h += __builtin_popcount(in[i]) + __builtin_clz(in[i] | 1);
        if (out32[2 * i] != h || out32[2 * i + 1] != ~crc || out64[i] != z)
            printf("# input %d (0x%08x): expected %08x %08x %016llx, got "
                   "%08x %08x %016llx\n", i, in[i], h, ~crc, z,
                   out32[2 * i], out32[2 * i + 1], out64[i]);
        CHECK(out32[2 * i] == h);
        CHECK(out32[2 * i + 1] == ~crc);
        CHECK(out64[i] == z);
    }
}

static unsigned tree(unsigned n)
{
    if (n < 2)
        return n * 3 + 1;
    return tree(n / 2) * 31u + tree(n / 3) + n;
}

static int ackermann(int m, int n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

TEST(recursive_device_functions_and_printf)
{
    enum { N = 64 };
    unsigned in[N], out[2 * N];
    char path[] = "/tmp/vgpu-recurse.XXXXXX", buf[8192], line[128];
    int fd = mkstemp(path), saved;
    ssize_t got;
    CUdeviceptr din, dout;
    CUmodule mod;
    CUfunction fn;
    int n = N;
    void *params[] = { &din, &dout, &n };
    CUresult r1, r2;

    CHECK(fd >= 0);
    unlink(path);
    for (int i = 0; i < N; i++)
        in[i] = i * 61 + (i == 5 ? 4000 : 0);
    SETUP();
    LOAD("diff/recurse.ptx", "recurse", &mod, &fn);
    CU(cuMemAlloc(&din, sizeof(in)));
    CU(cuMemAlloc(&dout, sizeof(out)));
    CU(cuMemcpyHtoD(din, in, sizeof(in)));
    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    r1 = h_launch1(fn, 2, 32, 0, params);
    r2 = cuCtxSynchronize();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CU(r1);
    CU(r2);
    CU(cuMemcpyDtoH(out, dout, sizeof(out)));
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    buf[got > 0 ? got : 0] = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(out[2 * i], tree(in[i]));
        CHECK_EQ(out[2 * i + 1], ackermann(2, in[i] & 7));
        if (i % 16 == 0) {
            snprintf(line, sizeof(line), "recurse %d: tree(%u) = %u\n", i,
                     in[i], tree(in[i]));
            if (!strstr(buf, line))
                printf("# missing printf line: %s# output: %s\n", line, buf);
            CHECK(strstr(buf, line) != NULL);
        }
    }
}

static const struct tap_test tests[] = {
    TAP_ENTRY(prefix_scan_of_int64_in_shared_memory),
    TAP_ENTRY(bitonic_sort_of_keys_and_payloads_in_shared_memory),
    TAP_ENTRY(nbody_step_in_f32_matches_a_double_reference),
    TAP_ENTRY(f64_dot_product_with_shared_tree_and_atomicAdd_double),
    TAP_ENTRY(integer_hashing_murmur_splitmix_crc32),
    TAP_ENTRY(recursive_device_functions_and_printf),
};

/* A test that failed half-way leaves its context: drop it before the next. */
static void drop_ctx(void)
{
    if (ctx) {
        cuCtxDestroy(ctx);
        ctx = NULL;
    }
}

int main(void)
{
    return tap_run_each(tests, sizeof(tests) / sizeof(tests[0]), drop_ctx);
}
