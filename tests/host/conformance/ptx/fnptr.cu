// SPDX-License-Identifier: MIT
// fnptr.cu - indirect calls through a table of device function pointers
// (call with a prototype).

typedef int (*op_fn)(int, int);

__device__ int op_add(int a, int b) { return a + b; }
__device__ int op_sub(int a, int b) { return a - b; }
__device__ int op_mul(int a, int b) { return a * b; }
__device__ int op_max(int a, int b) { return a > b ? a : b; }

__device__ op_fn table[4] = { op_add, op_sub, op_mul, op_max };

extern "C" __global__ void fnptr(const int *sel, const int *a, const int *b,
                                 int *out)
{
    int t = threadIdx.x;

    out[t] = table[sel[t] & 3](a[t], b[t]);
}
