// SPDX-License-Identifier: MIT
/*
 * vectorAdd.c - adds two float vectors on the device and checks every
 * element against the CPU.  Usage: vectorAdd [-n ELEMENTS]
 */
#include "sample.h"

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 1 << 20);
	size_t bytes = (size_t)n * sizeof(float);
	unsigned int seed = 12345;
	float *a, *b, *c;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr da, db, dc;
	int threads = 256, blocks, bad = 0;

	if (n <= 0) {
		fprintf(stderr, "vectorAdd: bad size %d\n", n);
		return 1;
	}
	a = malloc(bytes);
	b = malloc(bytes);
	c = malloc(bytes);
	if (!a || !b || !c) {
		fprintf(stderr, "vectorAdd: out of memory\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		a[i] = (float)(sample_rand(&seed) % 10000) / 100.0f;
		b[i] = (float)(sample_rand(&seed) % 10000) / 100.0f;
	}

	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "vectorAdd"));
	CK(cuMemAlloc(&da, bytes));
	CK(cuMemAlloc(&db, bytes));
	CK(cuMemAlloc(&dc, bytes));
	CK(cuMemcpyHtoD(da, a, bytes));
	CK(cuMemcpyHtoD(db, b, bytes));
	blocks = (n + threads - 1) / threads;
	{
		void *args[] = { &da, &db, &dc, &n };

		CK(cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, 0, NULL,
				  args, NULL));
	}
	CK(cuMemcpyDtoH(c, dc, bytes));

	/* A single IEEE addition is exact to compare: both sides round the
	 * same way. */
	for (int i = 0; i < n; i++)
		if (c[i] != a[i] + b[i]) {
			fprintf(stderr, "vectorAdd: element %d is %g, expected %g\n",
				i, c[i], a[i] + b[i]);
			bad = 1;
			break;
		}

	CK(cuMemFree(da));
	CK(cuMemFree(db));
	CK(cuMemFree(dc));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	free(a);
	free(b);
	free(c);
	if (bad)
		return 1;
	printf("vectorAdd: %d elements OK\n", n);
	return 0;
}
