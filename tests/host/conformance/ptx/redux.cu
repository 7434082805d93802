// SPDX-License-Identifier: MIT
// redux.cu - redux.sync (sm_80 and later): the warp-wide reductions
// __reduce_*_sync compile to.

extern "C" __global__ void redux_all(const unsigned int *in, unsigned int *out)
{
    unsigned int v = in[threadIdx.x];

    out[threadIdx.x * 6 + 0] = __reduce_add_sync(0xffffffffu, v);
    out[threadIdx.x * 6 + 1] = __reduce_min_sync(0xffffffffu, v);
    out[threadIdx.x * 6 + 2] = __reduce_max_sync(0xffffffffu, v);
    out[threadIdx.x * 6 + 3] = __reduce_min_sync(0xffffffffu, (int)v);
    out[threadIdx.x * 6 + 4] = __reduce_and_sync(0xffffffffu, v) ^
                               __reduce_or_sync(0xffffffffu, v);
    out[threadIdx.x * 6 + 5] = __reduce_xor_sync(0xffffffffu, v);
}
