// SPDX-License-Identifier: MIT
// memspace.cu - kernels that touch every PTX state space: shared (static
// and dynamic) with bar.sync, local, const and module globals, by-value
// struct parameters, and generic pointers into each space.

struct mixed {
    char c;
    double d;
    int3 v;
    short s;
    unsigned long long u;
};

__constant__ int ctab[16] = { 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144,
                              233, 377, 610, 987 };
__constant__ float cset[4];          // written by the host through cuModuleGetGlobal
__device__ int gvar = 42;            // module global with an initializer
__device__ unsigned long long gcount;
__device__ int gout;                 // written by thread 0, read by the host

// Reverses each block's slice through static shared memory and the whole
// slice again through dynamic shared memory, with barriers between phases.
extern "C" __global__ void shared_reverse(const int *in, int *out)
{
    __shared__ int s[256];
    extern __shared__ int dyn[];
    int t = threadIdx.x, n = blockDim.x, base = blockIdx.x * n;

    s[t] = in[base + t];
    __syncthreads();
    dyn[t] = s[n - 1 - t] * 3;
    __syncthreads();
    out[base + t] = dyn[n - 1 - t] + s[t];
}

// A local array indexed by run-time values lives in local memory.
extern "C" __global__ void local_array(const int *idx, int *out, int n)
{
    int a[64];
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i >= n)
        return;
    for (int k = 0; k < 64; k++)
        a[k] = k * i + 7;
    for (int k = 0; k < 64; k++)
        a[(k * 13 + idx[i]) & 63] += k;
    int sum = 0;
    for (int k = 0; k < 64; k++)
        sum += a[k] * (k + 1);
    out[i] = sum + a[idx[i] & 63];
}

extern "C" __global__ void const_global(int *out, float *fout)
{
    int t = threadIdx.x;

    out[t] = ctab[t & 15] + gvar;
    fout[t] = cset[t & 3] * 2.0f;
    if (t == 0)
        gout = gvar + ctab[3];
    atomicAdd(&gcount, 1ull);
}

extern "C" __global__ void param_struct(struct mixed m, char c2, double d2,
                                        long long *out)
{
    out[0] = m.c;
    out[1] = (long long)(m.d * 1000.0);
    out[2] = m.v.x;
    out[3] = m.v.y;
    out[4] = m.v.z;
    out[5] = m.s;
    out[6] = (long long)m.u;
    out[7] = c2;
    out[8] = (long long)(d2 * 1000.0);
}

// noinline keeps the pointer generic: one function reads and writes
// global, shared and local memory through cvta'd addresses.
__device__ __noinline__ int bump(int *p, int by)
{
    int old = *p;
    *p = old + by;
    return old;
}

extern "C" __global__ void generic_ptr(int *g, int *out)
{
    __shared__ int s[128];
    int l[4];
    int t = threadIdx.x;
    volatile int sel = t & 3;

    s[t] = t * 10;
    l[0] = t * 100; l[1] = 1; l[2] = 2; l[3] = 3;
    __syncthreads();
    int a = bump(&g[t], 5);
    int b = bump(&s[t], 6);
    int c = bump(&l[sel & 0], 7);
    __syncthreads();
    out[t * 6 + 0] = a;
    out[t * 6 + 1] = g[t];
    out[t * 6 + 2] = b;
    out[t * 6 + 3] = s[t];
    out[t * 6 + 4] = c;
    out[t * 6 + 5] = l[0] + l[sel];
    out[t * 6 + 5] += __isShared(&s[t]) * 1000 + __isGlobal(&g[t]) * 10000 +
                      __isLocal(&l[0]) * 100000;
}
