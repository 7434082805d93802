// SPDX-License-Identifier: MIT
// histogram_kernel.cu - 256-bin byte histogram with shared and global atomics.

// Each block counts into a private shared-memory histogram (cheap atomics on
// a block-local copy), then adds its non-zero bins to the global one.
// Any block size works: the bin loops stride by blockDim.x.
extern "C" __global__ void histogram256(const unsigned char *data, int n,
                                        unsigned int *bins)
{
    __shared__ unsigned int local[256];

    for (int b = threadIdx.x; b < 256; b += blockDim.x)
        local[b] = 0;
    __syncthreads();

    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += blockDim.x * gridDim.x)
        atomicAdd(&local[data[i]], 1u);
    __syncthreads();

    for (int b = threadIdx.x; b < 256; b += blockDim.x)
        if (local[b])
            atomicAdd(&bins[b], local[b]);
}
