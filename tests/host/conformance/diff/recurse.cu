// SPDX-License-Identifier: MIT
// recurse.cu - device functions that call themselves (two calls per
// level, so the compiler cannot turn them into loops), with a local array
// in each frame, and a kernel that reports through printf.

__device__ __noinline__ unsigned int tree(unsigned int n)
{
    volatile unsigned int frame[4];

    if (n < 2)
        return n * 3 + 1;
    frame[n & 3] = n;
    return tree(n / 2) * 31u + tree(n / 3) + frame[n & 3];
}

__device__ __noinline__ int ackermann(int m, int n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

extern "C" __global__ void recurse(const unsigned int *in, unsigned int *out,
                                   int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i >= n)
        return;
    out[2 * i] = tree(in[i]);
    out[2 * i + 1] = ackermann(2, in[i] & 7);
    if (i % 16 == 0)
        printf("recurse %d: tree(%u) = %u\n", i, in[i], out[2 * i]);
}
