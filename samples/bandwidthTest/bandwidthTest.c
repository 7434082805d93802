// SPDX-License-Identifier: MIT
/*
 * bandwidthTest.c - measures host-to-device, device-to-host and
 * device-to-device copy bandwidth from pinned (cuMemAllocHost) and pageable
 * (malloc) memory, and verifies the data of every direction with a kernel
 * or on the CPU.  Usage: bandwidthTest [-s MIB] [-i ITERATIONS]
 */
#include "sample.h"

static CUfunction fill_fn, check_fn;

static unsigned int pattern(unsigned int i, unsigned int seed)
{
	return i * 2654435761u + seed;
}

/* Counts words of device buffer @d that differ from the pattern. */
static unsigned int device_mismatches(CUdeviceptr d, unsigned int words,
				      unsigned int seed, CUdeviceptr dbad)
{
	unsigned int bad;
	void *args[] = { &d, &words, &seed, &dbad };

	CK(cuMemsetD32(dbad, 0, 1));
	CK(cuLaunchKernel(check_fn, 64, 1, 1, 256, 1, 1, 0, NULL, args, NULL));
	CK(cuMemcpyDtoH(&bad, dbad, sizeof(bad)));
	return bad;
}

static double gbps(size_t bytes, int iters, double secs)
{
	return (double)bytes * iters / secs / 1e9;
}

/* Runs HtoD and DtoH from @host and verifies both; returns 0 when the data
 * was right. */
static int run_host(const char *kind, unsigned int *host, size_t bytes,
		    int iters, CUdeviceptr d, CUdeviceptr dbad)
{
	unsigned int words = (unsigned int)(bytes / 4), seed = 0x1000;
	double t0, htod, dtoh;

	for (unsigned int i = 0; i < words; i++)
		host[i] = pattern(i, seed);
	t0 = sample_now();
	for (int i = 0; i < iters; i++)
		CK(cuMemcpyHtoD(d, host, bytes));
	htod = sample_now() - t0;
	if (device_mismatches(d, words, seed, dbad)) {
		fprintf(stderr, "bandwidthTest: %s HtoD data wrong\n", kind);
		return 1;
	}

	seed = 0x2000;
	{
		void *args[] = { &d, &words, &seed };

		CK(cuLaunchKernel(fill_fn, 64, 1, 1, 256, 1, 1, 0, NULL, args,
				  NULL));
	}
	memset(host, 0, bytes);
	t0 = sample_now();
	for (int i = 0; i < iters; i++)
		CK(cuMemcpyDtoH(host, d, bytes));
	dtoh = sample_now() - t0;
	for (unsigned int i = 0; i < words; i++)
		if (host[i] != pattern(i, seed)) {
			fprintf(stderr, "bandwidthTest: %s DtoH word %u wrong\n",
				kind, i);
			return 1;
		}
	printf("  %-8s HtoD %8.2f GB/s   DtoH %8.2f GB/s\n", kind,
	       gbps(bytes, iters, htod), gbps(bytes, iters, dtoh));
	return 0;
}

int main(int argc, char **argv)
{
	long mib = sample_opt(argc, argv, "-s", 16);
	int iters = (int)sample_opt(argc, argv, "-i", 4);
	size_t bytes = (size_t)mib << 20;
	unsigned int words = (unsigned int)(bytes / 4), *pinned, *pageable;
	CUdevice dev;
	CUmodule mod;
	CUdeviceptr d, d2, dbad;
	double t0, dtod;

	if (mib <= 0 || mib > 4096 || iters <= 0) {
		fprintf(stderr, "bandwidthTest: bad size or iteration count\n");
		return 1;
	}
	sample_init(&dev);
	mod = sample_module();
	CK(cuModuleGetFunction(&fill_fn, mod, "fillPattern"));
	CK(cuModuleGetFunction(&check_fn, mod, "checkPattern"));
	CK(cuMemAlloc(&d, bytes));
	CK(cuMemAlloc(&d2, bytes));
	CK(cuMemAlloc(&dbad, sizeof(unsigned int)));
	CK(cuMemAllocHost((void **)&pinned, bytes));
	pageable = malloc(bytes);
	if (!pageable) {
		fprintf(stderr, "bandwidthTest: out of memory\n");
		return 1;
	}

	printf("bandwidthTest: %ld MiB x %d\n", mib, iters);
	if (run_host("pinned", pinned, bytes, iters, d, dbad) ||
	    run_host("pageable", pageable, bytes, iters, d, dbad))
		return 1;

	/* d holds the DtoH pattern (seed 0x2000) from the last run. */
	CK(cuMemsetD32(d2, 0, words));
	t0 = sample_now();
	for (int i = 0; i < iters; i++)
		CK(cuMemcpyDtoD(d2, d, bytes));
	CK(cuCtxSynchronize());
	dtod = sample_now() - t0;
	if (device_mismatches(d2, words, 0x2000, dbad)) {
		fprintf(stderr, "bandwidthTest: DtoD data wrong\n");
		return 1;
	}
	printf("  device   DtoD %8.2f GB/s\n", gbps(bytes, iters, dtod));

	CK(cuMemFreeHost(pinned));
	free(pageable);
	CK(cuMemFree(d));
	CK(cuMemFree(d2));
	CK(cuMemFree(dbad));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	printf("bandwidthTest: %ld MiB pinned, pageable and device copies OK\n",
	       mib);
	return 0;
}
