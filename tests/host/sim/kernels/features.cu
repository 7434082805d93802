// SPDX-License-Identifier: GPL-2.0-or-later
// features.cu - CUDA C features whose nvcc output the sim must decode and run (math library, atomics, warp intrinsics, local arrays, switches, structs).
#include <cstdio>
#include <cuda_fp16.h>
struct Pair { int a; double b; char c; };
extern "C" __global__ void mathlib(const float *x, float *y, const double *xd, double *yd)
{
    int i = threadIdx.x;
    float v = x[i];
    double d = xd[i];
    y[i * 8 + 0] = sinf(v);
    y[i * 8 + 1] = expf(v);
    y[i * 8 + 2] = logf(fabsf(v) + 1.0f);
    y[i * 8 + 3] = powf(fabsf(v), 1.5f);
    y[i * 8 + 4] = v / (x[(i + 1) & 31] + 3.0f);
    y[i * 8 + 5] = tanhf(v);
    y[i * 8 + 6] = atan2f(v, 0.5f);
    y[i * 8 + 7] = erff(v);
    yd[i * 4 + 0] = sin(d);
    yd[i * 4 + 1] = exp(d);
    yd[i * 4 + 2] = log(fabs(d) + 1.0);
    yd[i * 4 + 3] = d / (xd[(i + 3) & 31] + 7.0);
}
extern "C" __global__ void atomics(int *ia, unsigned *ua, float *fa, double *da, unsigned long long *la)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(&ia[0], 1);
    atomicSub(&ia[1], 2);
    atomicMax(&ia[2], t);
    atomicMin(&ia[3], -t);
    atomicAnd(&ua[0], ~(1u << (t & 31)));
    atomicOr(&ua[1], 1u << (t & 31));
    atomicXor(&ua[2], (unsigned)t);
    atomicInc(&ua[3], 16u);
    atomicDec(&ua[4], 16u);
    atomicExch(&ua[5], 7u);
    int old = ia[4];
    while (true) {
        int prev = atomicCAS(&ia[4], old, old + 3);
        if (prev == old) break;
        old = prev;
    }
    atomicAdd(&fa[0], 0.5f);
    atomicAdd(&da[0], 0.25);
    atomicAdd(&la[0], 1ull << 33);
    atomicMax(&la[1], (unsigned long long)t << 40);
}
extern "C" __global__ void warps(const int *in, int *out)
{
    int t = threadIdx.x, lane = t & 31;
    int v = in[t];
    int up = __shfl_up_sync(0xffffffff, v, 3);
    int any = __any_sync(0xffffffff, v > 90);
    int all = __all_sync(0xffffffff, v >= 0);
    unsigned mt = __match_any_sync(0xffffffff, v & 3);
    int x = 0;
    if (lane & 1) {
        x = __shfl_xor_sync(0x55555555u << 1, v, 2);
        __syncwarp(0xaaaaaaaau);
    }
    unsigned act = __activemask();
    out[t * 6 + 0] = up;
    out[t * 6 + 1] = any;
    out[t * 6 + 2] = all;
    out[t * 6 + 3] = mt;
    out[t * 6 + 4] = x;
    out[t * 6 + 5] = act;
}
__device__ __noinline__ Pair mkpair(int a, double b) { Pair p; p.a = a * 2; p.b = b + 1; p.c = 'x'; return p; }
extern "C" __global__ void misc(const int *in, long long *out, Pair pp)
{
    int t = threadIdx.x;
    int arr[16];
    for (int k = 0; k < 16; k++) arr[k] = in[(t + k) & 31] * k;
    int sel = arr[in[t] & 15];
    int sw;
    switch (in[t] % 7) {
    case 0: sw = 11; break; case 1: sw = 22; break; case 2: sw = 33; break;
    case 3: sw = 44; break; case 4: sw = 55; break; case 5: sw = 66; break; default: sw = -1;
    }
    Pair p = mkpair(in[t], pp.b);
    unsigned u = (unsigned)in[t] * 2654435761u;
    out[t * 10 + 0] = sel;
    out[t * 10 + 1] = sw;
    out[t * 10 + 2] = p.a + (long long)p.b + p.c + pp.a + pp.c;
    out[t * 10 + 3] = __popc(u) + __clz(u) * 100 + __ffs(u) * 10000;
    out[t * 10 + 4] = __brev(u);
    out[t * 10 + 5] = __byte_perm(u, 0x11223344u, 0x5140);
    out[t * 10 + 6] = __funnelshift_l(u, 0xdeadbeefu, t);
    out[t * 10 + 7] = __umulhi(u, 0x9e3779b9u) + __mulhi((int)u, -77);
    out[t * 10 + 8] = (long long)in[t] * -123456789LL / 77 % 1000003;
    out[t * 10 + 9] = __float2int_rn(__half2float(__float2half((float)in[t] * 0.3f)) * 10.0f);
}
extern "C" __global__ void fences(int *flag, int *data)
{
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        data[0] = 42;
        __threadfence();
        atomicExch(flag, 1);
    }
    __syncthreads();
    long long c0 = clock64();
    __nanosleep(100);
    if (threadIdx.x == 1) data[1 + blockIdx.x] = clock64() >= c0;
}
