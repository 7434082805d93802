// SPDX-License-Identifier: GPL-2.0-or-later
// features2.cu - more nvcc output for the sim: vector loads, __ldg, half2, 64-bit integer math, float intrinsics, printf formats, jump tables.
#include <cstdio>
#include <cuda_fp16.h>
extern "C" __global__ void vec4(const float4 *in, float4 *out, const double2 *din, double2 *dout)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float4 v = __ldg(&in[i]);
    out[i] = make_float4(v.w, v.z * 2.0f, v.y + 1.0f, fminf(v.x, 0.5f));
    double2 d = din[i];
    dout[i] = make_double2(d.y, d.x * 0.5);
}
extern "C" __global__ void int64ops(const long long *a, const unsigned long long *b, long long *out)
{
    int i = threadIdx.x;
    long long x = a[i];
    unsigned long long y = b[i] | 1;
    out[i * 8 + 0] = x / (long long)(y & 0xffff);
    out[i * 8 + 1] = x % 1000000007LL;
    out[i * 8 + 2] = (long long)(y / 7u);
    out[i * 8 + 3] = (long long)(y % (unsigned long long)(i + 3));
    out[i * 8 + 4] = __popcll(y) + __clzll(y) * 100;
    out[i * 8 + 5] = (long long)__umul64hi(y, 0x9e3779b97f4a7c15ull);
    out[i * 8 + 6] = x >> (i & 63);
    out[i * 8 + 7] = (long long)(y >> (i & 63)) ^ (x << (i & 31));
}
extern "C" __global__ void fintr(const float *in, float *out, int *iout)
{
    int i = threadIdx.x;
    float v = in[i];
    out[i * 6 + 0] = floorf(v) + ceilf(v) * 10.0f;
    out[i * 6 + 1] = rintf(v) + truncf(v) * 10.0f;
    out[i * 6 + 2] = fmaxf(v, -1.0f) + fabsf(v);
    out[i * 6 + 3] = __int_as_float(__float_as_int(v) ^ 0x80000000);
    out[i * 6 + 4] = copysignf(3.0f, v);
    out[i * 6 + 5] = sqrtf(fabsf(v));
    iout[i * 3 + 0] = isnan(v) ? 1 : isinf(v) ? 2 : 0;
    iout[i * 3 + 1] = __float2int_rd(v);
    iout[i * 3 + 2] = (int)__double2hiint((double)v);
}
extern "C" __global__ void h2(const __half2 *a, const __half2 *b, __half2 *c)
{
    int i = threadIdx.x;
    c[i] = __hfma2(a[i], b[i], __hadd2(a[i], b[i]));
}
extern "C" __global__ void fmt(int x)
{
    if (threadIdx.x == 0)
        printf("i=%d u=%u x=%x ll=%lld s=%s c=%c e=%.3e g=%g pct=%%\n", x, (unsigned)x * 3u, x,
               (long long)x << 40, "str", 'Z', 12345.678, 0.5);
}
extern "C" __global__ void jump(const int *in, int *out)
{
    int i = threadIdx.x, r;
    switch (in[i]) {
    case 0: r = 5; break; case 1: r = 17; break; case 2: r = -3; break; case 3: r = 99; break;
    case 4: r = 1000; break; case 5: r = 7; break; case 6: r = 8; break; case 7: r = 123; break;
    case 8: r = 4; break; case 9: r = 44; break; default: r = 0;
    }
    out[i] = r;
}
__device__ float sdata_f[64];
extern "C" __global__ void sharedf(float *out)
{
    __shared__ float acc;
    if (threadIdx.x == 0) acc = 0;
    __syncthreads();
    atomicAdd(&acc, 0.25f);
    atomicAdd(&sdata_f[threadIdx.x & 63], 1.0f);
    __syncthreads();
    if (threadIdx.x == 0) out[0] = acc;
}
