// SPDX-License-Identifier: MIT
// vectorAdd_kernel.cu - element-wise sum of two float vectors.

extern "C" __global__ void vectorAdd(const float *a, const float *b, float *c,
                                     int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n)
        c[i] = a[i] + b[i];
}
