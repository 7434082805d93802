// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hog.c - a client that holds device memory and keeps work in flight until
 * it is killed; the kill -9 test uses it.  Usage: hog MIB [exit]
 * Prints "ready" once its memory is allocated and work is queued.  With
 * "exit" it instead finishes its work and exits without freeing anything,
 * leaving the cleanup to vgpud.
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "itest.h"

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	CUdevice dev;
	CUcontext ctx;
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	CUstream s;
	int n = 1 << 16, v = 1;
	void *args[] = { &d, &n, &v };
	void *host;

	if (cuInit(0) || cuDeviceGet(&dev, 0) ||
	    cuCtxCreate(&ctx, NULL, 0, dev) || itest_module(&m) ||
	    cuModuleGetFunction(&f, m, "addValue") ||
	    cuMemAlloc(&d, mib << 20) || cuMemAllocHost(&host, 1 << 20) ||
	    cuStreamCreate(&s, 0)) {
		fprintf(stderr, "hog: setup failed\n");
		return 1;
	}
	if (argc > 2 && !strcmp(argv[2], "exit")) {
		if (cuLaunchKernel(f, n / 256, 1, 1, 256, 1, 1, 0, s, args,
				   NULL) || cuStreamSynchronize(s)) {
			fprintf(stderr, "hog: work failed\n");
			return 1;
		}
		printf("ready\n");
		return 0;
	}
	for (long i = 0;; i++) {
		if (cuLaunchKernel(f, n / 256, 1, 1, 256, 1, 1, 0, s, args,
				   NULL) ||
		    cuMemcpyDtoHAsync(host, d, 1 << 20, s)) {
			fprintf(stderr, "hog: work failed\n");
			return 1;
		}
		if (i == 4) {
			printf("ready\n");
			fflush(stdout);
		}
		/* Keep a bounded amount in flight, never none. */
		if (i % 8 == 7 && cuStreamSynchronize(s)) {
			fprintf(stderr, "hog: sync failed\n");
			return 1;
		}
	}
}
