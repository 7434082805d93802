// SPDX-License-Identifier: MIT
/*
 * reduction.c - sums unsigned integers in two kernel passes (blocks to
 * partial sums, then one block over the partials) and compares the exact
 * result with the CPU's.  Usage: reduction [-n ELEMENTS]
 */
#include "sample.h"

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 1 << 20);
	int threads = 256, blocks = 128, one = 1;
	unsigned int seed = 99, *in, sum, ref = 0;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr din, dpart, dsum;

	if (n <= 0) {
		fprintf(stderr, "reduction: bad size %d\n", n);
		return 1;
	}
	in = malloc((size_t)n * sizeof(*in));
	if (!in) {
		fprintf(stderr, "reduction: out of memory\n");
		return 1;
	}
	/* Full 32-bit values: the sum wraps, identically on both sides. */
	for (int i = 0; i < n; i++) {
		in[i] = sample_rand(&seed);
		ref += in[i];
	}

	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "reduceSum"));
	CK(cuMemAlloc(&din, (size_t)n * sizeof(*in)));
	CK(cuMemAlloc(&dpart, blocks * sizeof(unsigned int)));
	CK(cuMemAlloc(&dsum, sizeof(unsigned int)));
	CK(cuMemcpyHtoD(din, in, (size_t)n * sizeof(*in)));
	{
		void *pass1[] = { &din, &dpart, &n };
		void *pass2[] = { &dpart, &dsum, &blocks };

		CK(cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, 0, NULL,
				  pass1, NULL));
		CK(cuLaunchKernel(fn, one, 1, 1, threads, 1, 1, 0, NULL, pass2,
				  NULL));
	}
	CK(cuMemcpyDtoH(&sum, dsum, sizeof(sum)));

	CK(cuMemFree(din));
	CK(cuMemFree(dpart));
	CK(cuMemFree(dsum));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	free(in);
	if (sum != ref) {
		fprintf(stderr, "reduction: sum is %u, expected %u\n", sum, ref);
		return 1;
	}
	printf("reduction: %d elements OK (sum %u)\n", n, sum);
	return 0;
}
