// SPDX-License-Identifier: GPL-2.0-or-later
// basic.cu - small kernels exercising the sim PTX interpreter (vectorAdd, saxpy, matrixMul, reduction, histogram, printf, recursion).
#include <cstdio>
#include <cassert>
extern "C" __global__ void vectorAdd(const float *a, const float *b, float *c, int n)
{
    int i = blockDim.x * blockIdx.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
extern "C" __global__ void saxpy(int n, float a, const float *x, float *y)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
#define BS 16
extern "C" __global__ void matrixMul(float *C, const float *A, const float *B, int wA, int wB)
{
    int bx = blockIdx.x, by = blockIdx.y, tx = threadIdx.x, ty = threadIdx.y;
    int aBegin = wA * BS * by, aEnd = aBegin + wA - 1, aStep = BS;
    int bBegin = BS * bx, bStep = BS * wB;
    float Csub = 0;
    for (int a = aBegin, b = bBegin; a <= aEnd; a += aStep, b += bStep) {
        __shared__ float As[BS][BS];
        __shared__ float Bs[BS][BS];
        As[ty][tx] = A[a + wA * ty + tx];
        Bs[ty][tx] = B[b + wB * ty + tx];
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BS; ++k) Csub += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    int c = wB * BS * by + BS * bx;
    C[c + wB * ty + tx] = Csub;
}
extern "C" __global__ void reduceShfl(const int *in, int *out, int n)
{
    extern __shared__ int warpSums[];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    if ((threadIdx.x & 31) == 0) warpSums[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < blockDim.x / 32 ? warpSums[threadIdx.x] : 0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
        if (threadIdx.x == 0) atomicAdd(out, v);
    }
}
extern "C" __global__ void histogram(const unsigned char *data, int n, unsigned *bins)
{
    __shared__ unsigned sb[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) sb[i] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&sb[data[i]], 1u);
    __syncthreads();
    for (int i = threadIdx.x; i < 256; i += blockDim.x) atomicAdd(&bins[i], sb[i]);
}
__constant__ float coef[4] = {1.0f, 2.0f, 3.0f, 4.0f};
__device__ int counter = 7;
extern "C" __global__ void useGlobals(float *out)
{
    out[threadIdx.x] = coef[threadIdx.x & 3] * counter;
}
extern "C" __global__ void hello(int x)
{
    printf("hello from %d: x=%d f=%f\n", threadIdx.x, x, 1.5);
}
__device__ __noinline__ int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
extern "C" __global__ void recurse(int *out, int n) { out[threadIdx.x] = fib(n + (threadIdx.x & 3)); }
extern "C" __global__ void asserter(int x) { assert(x != threadIdx.x); }
extern "C" __global__ void spin(unsigned long long ns)
{
    unsigned long long t0; asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    unsigned long long t;
    do { asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); } while (t - t0 < ns);
}
extern "C" __global__ void divergent(int *out)
{
    int t = threadIdx.x, v;
    if (t & 1) v = t * 3; else v = t + 100;
    if (t < 8) { for (int k = 0; k < t; k++) v += k; }
    v += __shfl_sync(0xffffffff, v, (t + 1) & 31);
    unsigned b = __ballot_sync(0xffffffff, v & 4);
    out[t] = v ^ b;
}
extern "C" __global__ void mathf(const float *x, float *y, double *z)
{
    int i = threadIdx.x;
    float v = x[i];
    y[i * 4 + 0] = __fdividef(1.0f, v) + sqrtf(v);
    y[i * 4 + 1] = __expf(v) + __logf(v + 1.0f);
    y[i * 4 + 2] = __sinf(v) + __cosf(v);
    y[i * 4 + 3] = rsqrtf(v + 1.0f);
    z[i] = sqrt((double)v) / 3.0 + (double)v * 1.5;
}
