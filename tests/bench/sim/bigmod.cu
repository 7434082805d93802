// SPDX-License-Identifier: GPL-2.0-or-later
// bigmod.cu - many instantiated kernels, compiled to a ~100 KB PTX file for the sim module-load benchmark.
template <int K>
__global__ void stencil(const float *in, float *out, int n, float a)
{
    __shared__ float tile[256 + 2 * K];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x + K] = i < n ? in[i] : 0.0f;
    if (threadIdx.x < K) {
        tile[threadIdx.x] = i >= K ? in[i - K] : 0.0f;
        tile[threadIdx.x + 256 + K] = i + 256 < n ? in[i + 256] : 0.0f;
    }
    __syncthreads();
    float s = 0;
#pragma unroll
    for (int k = -K; k <= K; k++) s += tile[threadIdx.x + K + k] * (a + k);
    if (i < n) out[i] = s > 0 ? sqrtf(s) : __expf(s);
}
template <int K>
__global__ void mix(unsigned *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned v = x[i];
#pragma unroll
    for (int k = 0; k < K; k++) v = (v ^ (v >> 13)) * 0x5bd1e995u + k;
    atomicAdd(&x[(v % n)], v & 7);
}
#define INST(k) template __global__ void stencil<k>(const float *, float *, int, float); \
                template __global__ void mix<k>(unsigned *, int);
INST(1) INST(2) INST(3) INST(4) INST(5) INST(6) INST(7) INST(8) INST(9) INST(10)
INST(11) INST(12) INST(13) INST(14) INST(15) INST(16) INST(17) INST(18) INST(19) INST(20)
