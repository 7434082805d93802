// SPDX-License-Identifier: MIT
/*
 * hold.c - a client that allocates device memory and keeps it until its
 * standard input closes, so that another process (vgpu-smi) can be checked
 * to see that memory charged to their common tenant.
 *
 * Usage: hold BYTES.  Prints "ready" once the allocation succeeded.
 */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	CUcontext ctx;
	CUdeviceptr p;
	CUdevice dev;
	CUresult r;
	int ch;

	if (argc != 2) {
		fprintf(stderr, "usage: hold BYTES\n");
		return 2;
	}
	if ((r = cuInit(0)) || (r = cuDeviceGet(&dev, 0)) ||
	    (r = cuDevicePrimaryCtxRetain(&ctx, dev)) ||
	    (r = cuCtxSetCurrent(ctx)) ||
	    (r = cuMemAlloc(&p, strtoull(argv[1], NULL, 0)))) {
		printf("failed %d\n", (int)r);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while ((ch = getchar()) != EOF)
		;
	cuMemFree(p);
	cuDevicePrimaryCtxRelease(dev);
	return 0;
}
