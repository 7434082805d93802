// SPDX-License-Identifier: MIT
/*
 * matrixMul.c - multiplies two square matrices with the shared-memory tiled
 * kernel and checks the product against the CPU.
 * Usage: matrixMul [-n SIZE]   (SIZE a multiple of 16, default 256)
 */
#include <math.h>

#include "sample.h"

#define TILE 16

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 256);
	size_t bytes;
	unsigned int seed = 4242;
	float *A, *B, *C;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr dA, dB, dC;
	double t0, secs;
	int bad = 0;

	if (n <= 0 || n % TILE || n > 8192) {
		fprintf(stderr, "matrixMul: size must be a multiple of %d up to 8192\n",
			TILE);
		return 1;
	}
	bytes = (size_t)n * n * sizeof(float);
	A = malloc(bytes);
	B = malloc(bytes);
	C = malloc(bytes);
	if (!A || !B || !C) {
		fprintf(stderr, "matrixMul: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < (size_t)n * n; i++) {
		A[i] = (float)(sample_rand(&seed) % 200) / 100.0f - 1.0f;
		B[i] = (float)(sample_rand(&seed) % 200) / 100.0f - 1.0f;
	}

	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "matrixMul"));
	CK(cuMemAlloc(&dA, bytes));
	CK(cuMemAlloc(&dB, bytes));
	CK(cuMemAlloc(&dC, bytes));
	CK(cuMemcpyHtoD(dA, A, bytes));
	CK(cuMemcpyHtoD(dB, B, bytes));
	t0 = sample_now();
	{
		void *args[] = { &dA, &dB, &dC, &n };

		CK(cuLaunchKernel(fn, n / TILE, n / TILE, 1, TILE, TILE, 1, 0,
				  NULL, args, NULL));
	}
	CK(cuCtxSynchronize());
	secs = sample_now() - t0;
	CK(cuMemcpyDtoH(C, dC, bytes));

	/* Check every element: the reference sums in double, and float
	 * accumulation over n terms of magnitude <= 1 stays well inside n *
	 * 1e-5. */
	for (int r = 0; r < n && !bad; r++)
		for (int c = 0; c < n; c++) {
			double ref = 0;

			for (int k = 0; k < n; k++)
				ref += (double)A[r * n + k] * B[k * n + c];
			if (fabs(C[r * n + c] - ref) > 1e-5 * n) {
				fprintf(stderr,
					"matrixMul: C[%d][%d] is %g, expected %g\n",
					r, c, C[r * n + c], ref);
				bad = 1;
				break;
			}
		}

	CK(cuMemFree(dA));
	CK(cuMemFree(dB));
	CK(cuMemFree(dC));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	free(A);
	free(B);
	free(C);
	if (bad)
		return 1;
	printf("matrixMul: %dx%d OK (%.1f GFLOP/s)\n", n, n,
	       2.0 * n * n * n / secs / 1e9);
	return 0;
}
