// SPDX-License-Identifier: MIT
// recursion.cu - recursion that never bottoms out in time: every frame
// holds a local array, and the result of each call is used after it
// returns, so the compiler must keep the frames.

__device__ __noinline__ unsigned int deep(unsigned int n)
{
    volatile unsigned int frame[32];

    frame[n & 31] = n;
    if (n == 0)
        return frame[0];
    return deep(n - 1) * 3u ^ frame[n & 31];
}

extern "C" __global__ void runaway(unsigned int n, unsigned int *out)
{
    out[threadIdx.x] = deep(n + threadIdx.x);
}
