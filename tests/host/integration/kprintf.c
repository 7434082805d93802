// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kprintf.c - launches a kernel that calls printf and synchronizes; the
 * suite checks that each thread's line reached this process's stdout.
 * Usage: kprintf VALUE
 */
#include <stdio.h>
#include <stdlib.h>

#include "itest.h"

int main(int argc, char **argv)
{
	int v = argc > 1 ? atoi(argv[1]) : 7;
	void *args[] = { &v };
	CUdevice dev;
	CUcontext ctx;
	CUmodule m;
	CUfunction f;

	if (cuInit(0) || cuDeviceGet(&dev, 0) ||
	    cuCtxCreate(&ctx, NULL, 0, dev) || itest_module(&m) ||
	    cuModuleGetFunction(&f, m, "sayHello") ||
	    cuLaunchKernel(f, 2, 1, 1, 3, 1, 1, 0, NULL, args, NULL) ||
	    cuCtxSynchronize() || cuCtxDestroy(ctx)) {
		fprintf(stderr, "kprintf: a driver call failed\n");
		return 1;
	}
	fflush(stdout);
	return 0;
}
