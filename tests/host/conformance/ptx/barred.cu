// SPDX-License-Identifier: MIT
// barred.cu - __syncthreads_count/_and/_or, which nvcc compiles to
// bar.red.popc and bar.red.and/or.

extern "C" __global__ void sync_reduce(const int *pred, int *out)
{
    int p = pred[blockIdx.x * blockDim.x + threadIdx.x];
    int c = __syncthreads_count(p);
    int a = __syncthreads_and(p);
    int o = __syncthreads_or(p);

    if (threadIdx.x == 0) {
        out[blockIdx.x * 3 + 0] = c;
        out[blockIdx.x * 3 + 1] = a;
        out[blockIdx.x * 3 + 2] = o;
    }
}
