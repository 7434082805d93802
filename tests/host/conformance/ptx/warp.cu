// SPDX-License-Identifier: MIT
// warp.cu - warp-synchronous operations: shfl.sync in all four modes and
// segment widths, vote.sync, match.sync, warp divergence and
// reconvergence, and the special registers.

// out[(case * 32 + lane) * 2 + {0,1}] = value, 1 if the source lane was
// in range.  Values are lane * 7 + 1 so the source lane is recoverable.
extern "C" __global__ void shfl_all(int *out)
{
    int lane = threadIdx.x & 31, v = lane * 7 + 1, k = 0;
    const int deltas[] = { 0, 1, 3, 5, 16, 31 };
    const int widths[] = { 32, 16, 8, 4, 2 };

#pragma unroll
    for (int w = 0; w < 5; w++) {
#pragma unroll
        for (int d = 0; d < 6; d++) {
            int *o = out + (k * 32 + lane) * 4;
            o[0] = __shfl_up_sync(0xffffffffu, v, deltas[d], widths[w]);
            o[1] = __shfl_down_sync(0xffffffffu, v, deltas[d], widths[w]);
            o[2] = __shfl_xor_sync(0xffffffffu, v, deltas[d], widths[w]);
            o[3] = __shfl_sync(0xffffffffu, v, (lane * 3 + deltas[d]) & 63,
                               widths[w]);
            k++;
        }
    }
}

// Per lane, predicate patterns: all lanes, even lanes, lane 5 only, none.
extern "C" __global__ void vote_all(const int *pred, unsigned int *out)
{
    int lane = threadIdx.x & 31;
    int p = pred[threadIdx.x];
    unsigned int uni;

    out[threadIdx.x * 5 + 0] = __all_sync(0xffffffffu, p);
    out[threadIdx.x * 5 + 1] = __any_sync(0xffffffffu, p);
    out[threadIdx.x * 5 + 2] = __ballot_sync(0xffffffffu, p);
    asm volatile("{ .reg .pred a, b; setp.ne.s32 a, %1, 0;"
                 " vote.sync.uni.pred b, a, 0xffffffff;"
                 " selp.u32 %0, 1, 0, b; }" : "=r"(uni) : "r"(p));
    out[threadIdx.x * 5 + 3] = uni;
    // Inside a divergent branch only the odd lanes vote.
    if (lane & 1)
        out[threadIdx.x * 5 + 4] = __ballot_sync(0xaaaaaaaau, p);
    else
        out[threadIdx.x * 5 + 4] = __activemask();
}

extern "C" __global__ void match_all(const int *vals, unsigned int *out)
{
    int v = vals[threadIdx.x];
    int pred;

    out[threadIdx.x * 3 + 0] = __match_any_sync(0xffffffffu, v);
    out[threadIdx.x * 3 + 1] = __match_all_sync(0xffffffffu, v, &pred);
    out[threadIdx.x * 3 + 2] = pred;
}

// Lanes take different trip counts and different branches, then the warp
// reconverges and shuffles: the sum must see every lane's final value.
extern "C" __global__ void diverge(const int *n, int *out)
{
    int lane = threadIdx.x & 31, acc = 0;

    for (int i = 0; i < n[threadIdx.x]; i++) {
        if ((i + lane) % 3 == 0)
            acc += i;
        else if ((i ^ lane) & 1)
            acc -= 1;
        else
            continue;
        acc *= 2;
        if (acc > 100000)
            break;
    }
    int sum = acc;
    for (int o = 16; o > 0; o >>= 1)
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    out[threadIdx.x * 2] = acc;
    out[threadIdx.x * 2 + 1] = sum;
}

extern "C" __global__ void sregs(unsigned int *out, unsigned long long *t)
{
    unsigned int lane, warp, nwarp, lt, le, eq, gt, ge, c0, c1;
    unsigned long long g0, g1, k0, k1;
    unsigned int tid = threadIdx.x + blockDim.x * (threadIdx.y +
                       blockDim.y * threadIdx.z);
    unsigned int blk = blockIdx.x + gridDim.x * (blockIdx.y +
                       gridDim.y * blockIdx.z);
    unsigned int i = blk * blockDim.x * blockDim.y * blockDim.z + tid;
    unsigned int *o = out + i * 16;

    asm volatile("mov.u32 %0, %%laneid;" : "=r"(lane));
    asm volatile("mov.u32 %0, %%warpid;" : "=r"(warp));
    asm volatile("mov.u32 %0, %%nwarpid;" : "=r"(nwarp));
    asm volatile("mov.u32 %0, %%lanemask_lt;" : "=r"(lt));
    asm volatile("mov.u32 %0, %%lanemask_le;" : "=r"(le));
    asm volatile("mov.u32 %0, %%lanemask_eq;" : "=r"(eq));
    asm volatile("mov.u32 %0, %%lanemask_gt;" : "=r"(gt));
    asm volatile("mov.u32 %0, %%lanemask_ge;" : "=r"(ge));
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g0));
    k0 = clock64();
    c0 = clock();
    for (volatile int k = 0; k < 100; k++)
        ;
    c1 = clock();
    k1 = clock64();
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g1));
    o[0] = threadIdx.x; o[1] = threadIdx.y; o[2] = threadIdx.z;
    o[3] = blockDim.x; o[4] = blockDim.y; o[5] = blockDim.z;
    o[6] = blockIdx.x; o[7] = blockIdx.y; o[8] = blockIdx.z;
    o[9] = gridDim.x; o[10] = gridDim.y; o[11] = gridDim.z;
    o[12] = lane;
    o[13] = warp < nwarp;
    o[14] = (lt == (1u << lane) - 1) | (le == (2u << lane) - 1) << 1 |
            (eq == 1u << lane) << 2 | (gt == ~((2u << lane) - 1)) << 3 |
            (ge == ~((1u << lane) - 1)) << 4;
    o[15] = (k1 > k0) | (c1 - c0 > 0) << 1 | (g1 >= g0) << 2 | (g0 != 0) << 3;
    t[i] = g0;
}

// Warp-synchronous code of the pre-Volta kind (volatile shared memory, no
// __syncwarp between steps) and shuffles with a partial member mask inside
// a divergent branch: lockstep execution must give the GPU's answers.
extern "C" __global__ void warp_sync(const int *in, int *out)
{
    __shared__ int s[64];
    volatile int *vs = s;
    int t = threadIdx.x;

    s[t] = in[t];
    __syncthreads();
    if (t < 32) {
        vs[t] += vs[t + 32];
        vs[t] += vs[t + 16];
        vs[t] += vs[t + 8];
        vs[t] += vs[t + 4];
        vs[t] += vs[t + 2];
        vs[t] += vs[t + 1];
    }
    __syncthreads();
    int v = in[t];
    if ((t & 31) < 16) {
        v += __shfl_xor_sync(0x0000ffffu, v, 1);
        v += __shfl_xor_sync(0x0000ffffu, v, 2);
    } else {
        v = __shfl_sync(0xffff0000u, v, 31) - 1;
    }
    out[t] = v;
    if (t == 0)
        out[64] = s[0];
}
