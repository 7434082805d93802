// SPDX-License-Identifier: GPL-2.0-or-later
// test_kernels.cu - kernels the API-semantics tests launch, one per behaviour
// they need; built to PTX and to fatbins whose output is committed.

#include <cstdio>

// A global the tests read and write through cuModuleGetGlobal.
extern "C" __device__ int answer = 42;
extern "C" __device__ float table[16] = { 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f,
                                          8.5f, 9.5f, 10.5f, 11.5f, 12.5f,
                                          13.5f, 14.5f, 15.5f };

extern "C" __global__ void empty(void)
{
}

// p[i] += v for i < n: cheap, order-sensitive when repeated.
extern "C" __global__ void addValue(int *p, int n, int v)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n)
        p[i] += v;
}

// p[0] = p[0] * 10 + v: the final value records the order of launches.
extern "C" __global__ void appendDigit(int *p, int v)
{
    p[0] = p[0] * 10 + v;
}

// Stores v at p: with a pointer that no allocation covers, an illegal address.
extern "C" __global__ void store(int *p, int v)
{
    *p = v;
}

// Parameters of every size and alignment, so packing errors show up.
extern "C" __global__ void packParams(char c, short s, int i, long long l,
                                      float f, double d, char c2,
                                      long long *out)
{
    out[0] = c;
    out[1] = s;
    out[2] = i;
    out[3] = l;
    out[4] = (long long)(f * 4.0f);
    out[5] = (long long)(d * 8.0);
    out[6] = c2;
}

// Uses 1 KiB of static shared memory, so its attributes say so.
extern "C" __global__ void sharedUser(int *out)
{
    __shared__ int buf[256];

    buf[threadIdx.x] = threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = buf[255 - threadIdx.x];
}

// Copies the globals out, so the tests see what the device sees.
extern "C" __global__ void readGlobals(int *out, float *tout)
{
    out[0] = answer;
    for (int k = 0; k < 16; k++)
        tout[k] = table[k];
}

// Writes the block and thread coordinates of every thread of a 3D launch.
extern "C" __global__ void coords(int *out)
{
    int b = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int n = blockDim.x * blockDim.y * blockDim.z;

    out[b * n + t] = b * 1000 + t;
}

// Kernel printf: the text must reach the program's stdout.
extern "C" __global__ void sayHello(int v)
{
    printf("kernel says %d from block %d thread %d\n", v, blockIdx.x,
           threadIdx.x);
}
