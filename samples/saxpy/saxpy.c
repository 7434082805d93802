// SPDX-License-Identifier: MIT
/*
 * saxpy.c - y = a * x + y on the device with a deliberately small grid (a
 * grid-stride loop covers the rest), checked against the CPU.
 * Usage: saxpy [-n ELEMENTS]
 */
#include <math.h>

#include "sample.h"

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 1 << 20);
	size_t bytes = (size_t)n * sizeof(float);
	unsigned int seed = 777;
	float alpha = 2.5f, *x, *y, *out;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr dx, dy;
	int bad = 0;

	if (n <= 0) {
		fprintf(stderr, "saxpy: bad size %d\n", n);
		return 1;
	}
	x = malloc(bytes);
	y = malloc(bytes);
	out = malloc(bytes);
	if (!x || !y || !out) {
		fprintf(stderr, "saxpy: out of memory\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		x[i] = (float)(sample_rand(&seed) % 2000) / 100.0f - 10.0f;
		y[i] = (float)(sample_rand(&seed) % 2000) / 100.0f - 10.0f;
	}

	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "saxpy"));
	CK(cuMemAlloc(&dx, bytes));
	CK(cuMemAlloc(&dy, bytes));
	CK(cuMemcpyHtoD(dx, x, bytes));
	CK(cuMemcpyHtoD(dy, y, bytes));
	{
		void *args[] = { &n, &alpha, &dx, &dy };

		CK(cuLaunchKernel(fn, 64, 1, 1, 256, 1, 1, 0, NULL, args,
				  NULL));
	}
	CK(cuCtxSynchronize());
	CK(cuMemcpyDtoH(out, dy, bytes));

	/* The device may fuse the multiply-add (one rounding instead of two),
	 * so allow a few ulps. */
	for (int i = 0; i < n; i++) {
		float ref = alpha * x[i] + y[i];

		if (fabsf(out[i] - ref) > 1e-5f * (fabsf(ref) + 1.0f)) {
			fprintf(stderr, "saxpy: element %d is %g, expected %g\n",
				i, out[i], ref);
			bad = 1;
			break;
		}
	}

	CK(cuMemFree(dx));
	CK(cuMemFree(dy));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	free(x);
	free(y);
	free(out);
	if (bad)
		return 1;
	printf("saxpy: %d elements OK\n", n);
	return 0;
}
