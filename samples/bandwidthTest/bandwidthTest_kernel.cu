// SPDX-License-Identifier: MIT
// bandwidthTest_kernel.cu - writes and checks a position-dependent pattern,
// so bandwidthTest can verify on the device what it copied from the host.

__device__ unsigned int pattern(unsigned int i, unsigned int seed)
{
    return i * 2654435761u + seed;
}

extern "C" __global__ void fillPattern(unsigned int *p, unsigned int n,
                                       unsigned int seed)
{
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += blockDim.x * gridDim.x)
        p[i] = pattern(i, seed);
}

// Counts the words of @p that differ from the pattern into *bad.
extern "C" __global__ void checkPattern(const unsigned int *p, unsigned int n,
                                        unsigned int seed, unsigned int *bad)
{
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += blockDim.x * gridDim.x)
        if (p[i] != pattern(i, seed))
            atomicAdd(bad, 1u);
}
