// SPDX-License-Identifier: MIT
// dot.cu - f64 dot product: grid-stride partial sums, a shared-memory tree
// per block, then one atomicAdd(double) per block.

extern "C" __global__ void dot(const double *x, const double *y,
                               double *partial, double *total, int n)
{
    __shared__ double s[256];
    double acc = 0;

    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += gridDim.x * blockDim.x)
        acc += x[i] * y[i];
    s[threadIdx.x] = acc;
    __syncthreads();
    for (int d = blockDim.x / 2; d > 0; d >>= 1) {
        if (threadIdx.x < d)
            s[threadIdx.x] += s[threadIdx.x + d];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s[0];
        atomicAdd(total, s[0]);
    }
}
