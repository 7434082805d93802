// SPDX-License-Identifier: MIT
// reduction_kernel.cu - sum of 32-bit unsigned integers with warp shuffles.

// Sums @n values of @in into out[blockIdx.x].  Each thread accumulates a
// grid-stride slice, each warp folds its 32 values with shuffles, and warp 0
// folds the per-warp sums that the other warps left in shared memory.
// Unsigned arithmetic wraps the same way on the CPU, so the result can be
// compared exactly.  blockDim.x must be a multiple of 32, at most 1024.
extern "C" __global__ void reduceSum(const unsigned int *in, unsigned int *out,
                                     int n)
{
    __shared__ unsigned int warpSums[32];
    unsigned int sum = 0;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;

    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += blockDim.x * gridDim.x)
        sum += in[i];

    for (int off = 16; off > 0; off >>= 1)
        sum += __shfl_down_sync(0xffffffffu, sum, off);
    if (lane == 0)
        warpSums[warp] = sum;
    __syncthreads();

    if (warp == 0) {
        sum = lane < (int)(blockDim.x >> 5) ? warpSums[lane] : 0;
        for (int off = 16; off > 0; off >>= 1)
            sum += __shfl_down_sync(0xffffffffu, sum, off);
        if (lane == 0)
            out[blockIdx.x] = sum;
    }
}
