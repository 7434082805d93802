// SPDX-License-Identifier: MIT
/*
 * vgpu-smi.c - show the virtual GPU this guest (or host process) sees:
 * its name, memory, and the memory this VM or client is using.
 */
#include <cuda.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, CUresult r)
{
	const char *name = NULL;

	cuGetErrorName(r, &name);
	fprintf(stderr, "vgpu-smi: %s: %s (%d)\n", what, name ? name : "?", (int)r);
	return 1;
}

int main(int argc, char **argv)
{
	char name[256];
	size_t total = 0, free_ = 0;
	int major = 0, minor = 0, sms = 0, version = 0;
	CUcontext ctx;
	CUdevice dev;
	CUresult r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: vgpu-smi\nShows the vgpu device, its memory and this "
		       "tenant's usage.\nVGPU_SOCKET names vgpud's socket.\n");
		return 0;
	}
	if ((r = cuInit(0)))
		return fail("cuInit", r);
	if ((r = cuDeviceGet(&dev, 0)))
		return fail("cuDeviceGet", r);
	if ((r = cuDeviceGetName(name, sizeof(name), dev)))
		return fail("cuDeviceGetName", r);
	cuDriverGetVersion(&version);
	cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
	/* MEM_GET_INFO answers for the whole tenant (this VM, or this client). */
	if ((r = cuDevicePrimaryCtxRetain(&ctx, dev)))
		return fail("cuDevicePrimaryCtxRetain", r);
	cuCtxPushCurrent(ctx);
	r = cuMemGetInfo(&free_, &total);
	cuCtxPopCurrent(&ctx);
	cuDevicePrimaryCtxRelease(dev);
	if (r)
		return fail("cuMemGetInfo", r);
	printf("Device 0: %s\n", name);
	printf("  Driver API version   %d.%d\n", version / 1000, version % 1000 / 10);
	printf("  Compute capability   %d.%d\n", major, minor);
	printf("  Multiprocessors      %d\n", sms);
	printf("  Memory total         %zu MiB\n", total >> 20);
	printf("  Memory used          %zu MiB (this tenant)\n", (total - free_) >> 20);
	printf("  Memory free          %zu MiB\n", free_ >> 20);
	return 0;
}
