// SPDX-License-Identifier: MIT
// bitonic.cu - bitonic sort of 1024 keys (with payload) per block in
// shared memory.

extern "C" __global__ void bitonic(unsigned int *keys, int *vals)
{
    __shared__ unsigned int k[1024];
    __shared__ int v[1024];
    int t = threadIdx.x, base = blockIdx.x * 1024;

    k[t] = keys[base + t];
    v[t] = vals[base + t];
    k[t + 512] = keys[base + t + 512];
    v[t + 512] = vals[base + t + 512];
    for (int size = 2; size <= 1024; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            __syncthreads();
            int pos = 2 * t - (t & (stride - 1));
            bool up = ((pos & size) == 0);
            unsigned a = k[pos], b = k[pos + stride];
            int va = v[pos], vb = v[pos + stride];
            bool swap = up ? (a > b || (a == b && va > vb))
                           : (a < b || (a == b && va < vb));
            if (swap) {
                k[pos] = b; k[pos + stride] = a;
                v[pos] = vb; v[pos + stride] = va;
            }
        }
    }
    __syncthreads();
    keys[base + t] = k[t];
    vals[base + t] = v[t];
    keys[base + t + 512] = k[t + 512];
    vals[base + t + 512] = v[t + 512];
}
