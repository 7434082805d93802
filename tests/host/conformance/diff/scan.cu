// SPDX-License-Identifier: MIT
// scan.cu - work-efficient (Blelloch) exclusive prefix sum of 64-bit
// integers in shared memory, one block per 2 * blockDim elements, plus the
// per-block totals for a second pass.

extern "C" __global__ void scan_block(const long long *in, long long *out,
                                      long long *totals, int n)
{
    extern __shared__ long long s[];
    int t = threadIdx.x, m = 2 * blockDim.x;
    int base = blockIdx.x * m;
    int offset = 1;

    s[2 * t] = base + 2 * t < n ? in[base + 2 * t] : 0;
    s[2 * t + 1] = base + 2 * t + 1 < n ? in[base + 2 * t + 1] : 0;
    for (int d = m >> 1; d > 0; d >>= 1) {
        __syncthreads();
        if (t < d) {
            int ai = offset * (2 * t + 1) - 1, bi = offset * (2 * t + 2) - 1;
            s[bi] += s[ai];
        }
        offset *= 2;
    }
    if (t == 0) {
        totals[blockIdx.x] = s[m - 1];
        s[m - 1] = 0;
    }
    for (int d = 1; d < m; d *= 2) {
        offset >>= 1;
        __syncthreads();
        if (t < d) {
            int ai = offset * (2 * t + 1) - 1, bi = offset * (2 * t + 2) - 1;
            long long v = s[ai];
            s[ai] = s[bi];
            s[bi] += v;
        }
    }
    __syncthreads();
    if (base + 2 * t < n)
        out[base + 2 * t] = s[2 * t];
    if (base + 2 * t + 1 < n)
        out[base + 2 * t + 1] = s[2 * t + 1];
}

extern "C" __global__ void scan_add(long long *out, const long long *offs, int n)
{
    int i = blockIdx.x * blockDim.x * 2 + threadIdx.x;

    if (i < n)
        out[i] += offs[blockIdx.x];
    if (i + blockDim.x < n)
        out[i + blockDim.x] += offs[blockIdx.x];
}
