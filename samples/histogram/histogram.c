// SPDX-License-Identifier: MIT
/*
 * histogram.c - counts byte values with the atomic histogram kernel and
 * compares all 256 bins with the CPU's.  Usage: histogram [-n BYTES]
 */
#include "sample.h"

int main(int argc, char **argv)
{
	int n = (int)sample_opt(argc, argv, "-n", 1 << 20);
	unsigned int seed = 2024, bins[256], ref[256] = { 0 };
	unsigned long long total = 0;
	unsigned char *data;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr ddata, dbins;
	int bad = 0;

	if (n <= 0) {
		fprintf(stderr, "histogram: bad size %d\n", n);
		return 1;
	}
	data = malloc(n);
	if (!data) {
		fprintf(stderr, "histogram: out of memory\n");
		return 1;
	}
	/* Skewed data: many threads hit the same few bins at once, which is
	 * what the atomics are there for. */
	for (int i = 0; i < n; i++) {
		unsigned int r = sample_rand(&seed);

		data[i] = (r & 3) ? (unsigned char)(r >> 8 & 7) :
				    (unsigned char)(r >> 16);
		ref[data[i]]++;
	}

	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "histogram256"));
	CK(cuMemAlloc(&ddata, n));
	CK(cuMemAlloc(&dbins, sizeof(bins)));
	CK(cuMemcpyHtoD(ddata, data, n));
	CK(cuMemsetD32(dbins, 0, 256));
	{
		void *args[] = { &ddata, &n, &dbins };

		CK(cuLaunchKernel(fn, 64, 1, 1, 256, 1, 1, 0, NULL, args,
				  NULL));
	}
	CK(cuMemcpyDtoH(bins, dbins, sizeof(bins)));

	for (int b = 0; b < 256; b++) {
		total += bins[b];
		if (bins[b] != ref[b] && !bad) {
			fprintf(stderr, "histogram: bin %d is %u, expected %u\n",
				b, bins[b], ref[b]);
			bad = 1;
		}
	}

	CK(cuMemFree(ddata));
	CK(cuMemFree(dbins));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	free(data);
	if (bad || total != (unsigned long long)n)
		return 1;
	printf("histogram: %d bytes, 256 bins OK\n", n);
	return 0;
}
