// SPDX-License-Identifier: MIT
// kernels.cu - kernels the libvgpu tests launch; kernels.ptx is generated
// from it with `nvcc -ptx -arch=sm_75` and kernels.fatbin with
// `nvcc -fatbin -gencode arch=compute_75,code=compute_75`; both are committed.

extern "C" __global__ void empty(void)
{
}

extern "C" __global__ void axpy(float a, const float *x, float *y, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		y[i] = a * x[i] + y[i];
}

// Parameters of mixed sizes and alignments, for the packed `extra` form.
// (s is unsigned: this test is about packing, not about sign extension.)
extern "C" __global__ void mixed(char c, double d, unsigned short s, long long *out)
{
	out[0] = c;
	out[1] = (long long)d;
	out[2] = s;
}

__device__ int counter;

extern "C" __global__ void bump(void)
{
	atomicAdd(&counter, 1);
}

extern "C" __global__ void store(int *p)
{
	*p = 42;
}

extern "C" __global__ void hello(int v)
{
	printf("hello %d from thread %d\n", v, threadIdx.x);
}
