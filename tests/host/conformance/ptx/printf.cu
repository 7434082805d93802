// SPDX-License-Identifier: MIT
// printf.cu - device printf through vprintf with the common conversions,
// and the trap and assert paths.
#include <assert.h>

extern "C" __global__ void hello(int base, double x)
{
    if (threadIdx.x < 3)
        printf("conformance printf: thread %d of %u, value %d, %.3f %s %c %x %lld\n",
               (int)threadIdx.x, blockDim.x, base + (int)threadIdx.x,
               x * threadIdx.x, "str", 'A' + threadIdx.x, 0xbeef,
               -123456789012345ll);
}

extern "C" __global__ void do_trap(int *flag)
{
    if (threadIdx.x == 5)
        asm volatile("trap;");
    flag[threadIdx.x] = 1;
}

extern "C" __global__ void do_assert(const int *v)
{
    assert(v[threadIdx.x] >= 0);
}
