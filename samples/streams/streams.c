// SPDX-License-Identifier: MIT
/*
 * streams.c - two streams each copy and process half of an array; the
 * first then waits (cuStreamWaitEvent) for the second before a final pass
 * over the whole array, and events time the lot.  The result is compared
 * with the CPU.  Usage: streams [-n ELEMENTS]
 */
#include "sample.h"

/* The same arithmetic as scaleAdd, in 32-bit wrapping two's complement
 * (computed unsigned so the CPU side has no undefined overflow). */
static int scale_add(int v, int mul, int add, int iters)
{
	unsigned int u = (unsigned int)v;

	for (int k = 0; k < iters; k++)
		u = u * (unsigned int)mul + (unsigned int)add;
	return (int)u;
}

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 1 << 18);
	int half, rest, mul = 3, add = 1, iters = 8, one = 1;
	int threads = 256, bad = 0;
	size_t bytes = (size_t)n * sizeof(int);
	int *host;
	float ms;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr d, d1;
	CUstream s[2];
	CUevent start, stop, s1done;

	if (n < 2) {
		fprintf(stderr, "streams: bad size %d\n", n);
		return 1;
	}
	half = n / 2;
	rest = n - half;
	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "scaleAdd"));
	CK(cuMemAlloc(&d, bytes));
	CK(cuMemAllocHost((void **)&host, bytes));
	for (int i = 0; i < n; i++)
		host[i] = i;
	d1 = d + (size_t)half * sizeof(int);

	CK(cuStreamCreate(&s[0], CU_STREAM_NON_BLOCKING));
	CK(cuStreamCreate(&s[1], CU_STREAM_NON_BLOCKING));
	CK(cuEventCreate(&start, CU_EVENT_DEFAULT));
	CK(cuEventCreate(&stop, CU_EVENT_DEFAULT));
	CK(cuEventCreate(&s1done, CU_EVENT_DISABLE_TIMING));

	CK(cuEventRecord(start, s[0]));
	/* Each stream: copy in its half, run the kernel on it. */
	CK(cuMemcpyHtoDAsync(d, host, (size_t)half * sizeof(int), s[0]));
	CK(cuMemcpyHtoDAsync(d1, host + half, (size_t)rest * sizeof(int),
			     s[1]));
	{
		void *a0[] = { &d, &half, &mul, &add, &iters };
		void *a1[] = { &d1, &rest, &mul, &add, &iters };

		CK(cuLaunchKernel(fn, (half + threads - 1) / threads, 1, 1,
				  threads, 1, 1, 0, s[0], a0, NULL));
		CK(cuLaunchKernel(fn, (rest + threads - 1) / threads, 1, 1,
				  threads, 1, 1, 0, s[1], a1, NULL));
	}
	CK(cuEventRecord(s1done, s[1]));
	/* The final pass reads both halves: stream 0 must not start it before
	 * stream 1's kernel is done. */
	CK(cuStreamWaitEvent(s[0], s1done, 0));
	{
		void *a[] = { &d, &n, &one, &add, &one };

		CK(cuLaunchKernel(fn, (n + threads - 1) / threads, 1, 1,
				  threads, 1, 1, 0, s[0], a, NULL));
	}
	CK(cuMemcpyDtoHAsync(host, d, bytes, s[0]));
	CK(cuEventRecord(stop, s[0]));
	CK(cuEventSynchronize(stop));
	CK(cuEventElapsedTime(&ms, start, stop));
	CK(cuStreamQuery(s[0]));
	CK(cuStreamSynchronize(s[1]));
	CK(cuStreamQuery(s[1]));

	for (int i = 0; i < n; i++) {
		int ref = scale_add(scale_add(i, mul, add, iters), 1, add, 1);

		if (host[i] != ref) {
			fprintf(stderr, "streams: element %d is %d, expected %d\n",
				i, host[i], ref);
			bad = 1;
			break;
		}
	}
	if (!(ms >= 0.0f)) {
		fprintf(stderr, "streams: elapsed time %g ms\n", ms);
		bad = 1;
	}

	CK(cuEventDestroy(start));
	CK(cuEventDestroy(stop));
	CK(cuEventDestroy(s1done));
	CK(cuStreamDestroy(s[0]));
	CK(cuStreamDestroy(s[1]));
	CK(cuMemFreeHost(host));
	CK(cuMemFree(d));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	if (bad)
		return 1;
	printf("streams: %d elements on 2 streams OK (%.3f ms)\n", n, ms);
	return 0;
}
