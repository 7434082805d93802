// SPDX-License-Identifier: MIT
// streams_kernel.cu - a small kernel for the two-stream sample.

// x[i] = x[i] * mul + add, repeated @iters times so that each launch does
// enough work for the two streams to overlap on a GPU.
extern "C" __global__ void scaleAdd(int *x, int n, int mul, int add, int iters)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n) {
        int v = x[i];

        for (int k = 0; k < iters; k++)
            v = v * mul + add;
        x[i] = v;
    }
}
