// SPDX-License-Identifier: MIT
// calls.cu - the .func calling convention nvcc uses: vector and struct
// arguments by value, struct return values, many parameters, and a
// mutually recursive pair.

struct pair64 {
    long long a;
    double b;
};

struct odd {
    char c;
    short s;
    int i;
    float4 v;
};

__device__ __noinline__ float4 scale(float4 v, float k, struct odd o)
{
    return make_float4(v.x * k + o.c, v.y * k + o.s, v.z * k + o.i,
                       v.w * k + o.v.w);
}

__device__ __noinline__ struct pair64 mix(struct pair64 p, int n, char c,
                                          double d, long long e, short f,
                                          unsigned char g, float h)
{
    struct pair64 r;

    r.a = p.a * n + c + e - f + g;
    r.b = p.b * d + h;
    return r;
}

__device__ __noinline__ int is_odd(unsigned int n);

__device__ __noinline__ int is_even(unsigned int n)
{
    return n == 0 ? 1 : is_odd(n - 1);
}

__device__ __noinline__ int is_odd(unsigned int n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

extern "C" __global__ void calls(const float4 *in, float4 *out,
                                 struct pair64 *pairs, int *parity)
{
    int t = threadIdx.x;
    struct odd o = { (char)(t - 3), (short)(t * 100), t * 1000,
                     make_float4(0, 0, 0, 0.5f * t) };

    out[t] = scale(in[t], 2.0f, o);
    pairs[t] = mix(pairs[t], t + 1, (char)-t, 0.5, 1ll << 40, (short)-7,
                   (unsigned char)250, 0.25f);
    parity[t] = is_even(t * 3) * 2 + is_odd(t);
}
