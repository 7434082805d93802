// SPDX-License-Identifier: MIT
// atomics.cu - every atomic operation nvcc emits, on global and on shared
// memory, from many blocks at once so that a backend running blocks on
// several host threads must make them atomic.

struct acc {
    unsigned int add_u32;
    int min_s32, max_s32;
    unsigned int min_u32, max_u32;
    unsigned int inc, dec;
    unsigned int and_b32, or_b32, xor_b32;
    unsigned int exch;
    unsigned int cas_count;
    unsigned int red_add;
    unsigned int pad;
    unsigned long long add_u64, min_u64, max_u64, or_b64;
    float add_f32;
    float pad2;
    double add_f64;
    double cas_f64;
};

__device__ double cas_add(double *p, double v)
{
    unsigned long long *u = (unsigned long long *)p, old = *u, seen;

    do {
        seen = old;
        old = atomicCAS(u, seen,
                        __double_as_longlong(__longlong_as_double(seen) + v));
    } while (old != seen);
    return __longlong_as_double(old);
}

__device__ void apply(struct acc *a, unsigned int *ret, int gid, int key)
{
    ret[gid] = atomicAdd(&a->add_u32, 1u);
    atomicMin(&a->min_s32, key);
    atomicMax(&a->max_s32, key);
    atomicMin(&a->min_u32, (unsigned)key);
    atomicMax(&a->max_u32, (unsigned)key);
    atomicInc(&a->inc, 1000u);
    atomicDec(&a->dec, 1000u);
    atomicAnd(&a->and_b32, ~(1u << (gid & 31)) | 0x80000000u);
    atomicOr(&a->or_b32, 1u << (gid & 31));
    atomicXor(&a->xor_b32, (unsigned)gid);
    atomicExch(&a->exch, (unsigned)gid);
    unsigned int seen, old = a->cas_count;
    do {
        seen = old;
        old = atomicCAS(&a->cas_count, seen, seen + 1);
    } while (old != seen);
    atomicAdd(&a->red_add, 3u);   // return value unused: red.global.add
    atomicAdd(&a->add_u64, 0x100000001ull);
    atomicMin(&a->min_u64, 0xffffffff00000000ull + (unsigned)key);
    atomicMax(&a->max_u64, (unsigned long long)key << 32);
    atomicOr(&a->or_b64, 1ull << (gid & 63));
    atomicAdd(&a->add_f32, 0.5f);
    atomicAdd(&a->add_f64, 0.25);
    cas_add(&a->cas_f64, 1.0);
}

extern "C" __global__ void atomics_global(struct acc *a, unsigned int *ret)
{
    int gid = blockIdx.x * blockDim.x + threadIdx.x;
    int key = (int)((gid * 2654435761u) >> 8) - (1 << 22);

    apply(a, ret, gid, key);
}

// The same operations on a shared copy, merged into @a by thread 0.
extern "C" __global__ void atomics_shared(struct acc *a, unsigned int *ret)
{
    __shared__ struct acc s;
    __shared__ unsigned int sret[1024];
    int t = threadIdx.x;
    int gid = blockIdx.x * blockDim.x + t;
    int key = (int)((gid * 2654435761u) >> 8) - (1 << 22);

    if (t == 0)
        s = *a;
    __syncthreads();
    apply(&s, sret, t, key);
    __syncthreads();
    ret[gid] = sret[t];
    if (t == 0)
        a[1 + blockIdx.x] = s;
}

// The threadFenceReduction pattern: each block publishes a partial sum,
// fences (membar.gl), and the block that retires last adds them up.
__device__ unsigned int retired;

extern "C" __global__ void last_block_sum(const int *in, volatile int *partial,
                                          int *total, int n)
{
    __shared__ int s[256];
    __shared__ bool last;
    int t = threadIdx.x, acc = 0;

    for (int i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x)
        acc += in[i];
    s[t] = acc;
    __syncthreads();
    for (int d = blockDim.x / 2; d > 0; d >>= 1) {
        if (t < d)
            s[t] += s[t + d];
        __syncthreads();
    }
    if (t == 0) {
        partial[blockIdx.x] = s[0];
        __threadfence();
        last = atomicInc(&retired, gridDim.x) == gridDim.x - 1;
    }
    __syncthreads();
    if (last && t == 0) {
        int sum = 0;
        for (int b = 0; b < gridDim.x; b++)
            sum += partial[b];
        *total = sum;
        retired = 0;
    }
}

// Atomics through generic pointers: the same noinline function works on a
// shared and on a global counter, so nvcc emits atom without a state space.
__device__ __noinline__ unsigned int gen_atomics(unsigned int *p,
                                                 unsigned long long *q,
                                                 float *f, unsigned int v)
{
    unsigned int old = atomicAdd(p, v);
    atomicMax(p + 1, v);
    atomicOr(p + 2, 1u << (v & 31));
    atomicCAS(p + 3, 0u, v + 1);
    atomicAdd(q, (unsigned long long)v << 20);
    atomicAdd(f, 0.25f);
    return old;
}

extern "C" __global__ void generic_atomics(unsigned int *g,
                                           unsigned long long *gq, float *gf,
                                           unsigned int *out)
{
    __shared__ unsigned int s[4];
    __shared__ unsigned long long sq;
    __shared__ float sf;
    unsigned int t = threadIdx.x;

    if (t < 4)
        s[t] = 0;
    if (t == 0) {
        sq = 0;
        sf = 0;
    }
    __syncthreads();
    gen_atomics(s, &sq, &sf, t);
    gen_atomics(g, gq, gf, t + 1000 * blockIdx.x);
    __syncthreads();
    if (t < 4)
        out[blockIdx.x * 8 + t] = s[t];
    if (t == 0) {
        out[blockIdx.x * 8 + 4] = (unsigned int)sq;
        out[blockIdx.x * 8 + 5] = (unsigned int)(sq >> 32);
        out[blockIdx.x * 8 + 6] = __float_as_uint(sf);
    }
}
