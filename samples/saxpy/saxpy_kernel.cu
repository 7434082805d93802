// SPDX-License-Identifier: MIT
// saxpy_kernel.cu - y = a * x + y in single precision, grid-stride loop.

extern "C" __global__ void saxpy(int n, float a, const float *x, float *y)
{
    // A grid-stride loop lets the host pick any grid size, so the sample
    // also exercises a launch with fewer threads than elements.
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += blockDim.x * gridDim.x)
        y[i] = a * x[i] + y[i];
}
