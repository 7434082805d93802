// SPDX-License-Identifier: MIT
/*
 * deviceQuery.c - prints the device's name, memory and main attributes,
 * then checks the geometry a running kernel reports against them.
 */
#include "sample.h"

static int attr(CUdevice dev, CUdevice_attribute a)
{
	int v;

	CK(cuDeviceGetAttribute(&v, a, dev));
	return v;
}

int main(void)
{
	enum { THREADS = 128, BLOCKS = 4, N = THREADS * BLOCKS };
	int drv, count, warp, bad = 0;
	int host[3 + N];
	char name[256];
	size_t total, mfree, mtotal;
	CUdevice dev;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr d;

	CK(cuInit(0));
	CK(cuDriverGetVersion(&drv));
	CK(cuDeviceGetCount(&count));
	printf("driver version %d.%d, %d device(s)\n", drv / 1000,
	       drv % 1000 / 10, count);
	if (count < 1) {
		fprintf(stderr, "deviceQuery: no device\n");
		return 1;
	}
	sample_init(&dev);
	CK(cuDeviceGetName(name, sizeof(name), dev));
	CK(cuDeviceTotalMem(&total, dev));
	CK(cuMemGetInfo(&mfree, &mtotal));
	warp = attr(dev, CU_DEVICE_ATTRIBUTE_WARP_SIZE);
	printf("device 0: %s\n", name);
	printf("  compute capability      %d.%d\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
	       attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
	printf("  total memory            %zu MiB (%zu MiB free)\n",
	       total >> 20, mfree >> 20);
	printf("  multiprocessors         %d\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
	printf("  warp size               %d\n", warp);
	printf("  max threads per block   %d\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK));
	printf("  max block dims          %d x %d x %d\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X),
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y),
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z));
	printf("  max grid dims           %d x %d x %d\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X),
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y),
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z));
	printf("  shared memory per block %d bytes\n",
	       attr(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK));

	if (total == 0 || mtotal == 0 || mfree > mtotal || warp <= 0 ||
	    attr(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK) < THREADS) {
		fprintf(stderr, "deviceQuery: implausible attributes\n");
		return 1;
	}

	mod = sample_module();
	CK(cuModuleGetFunction(&fn, mod, "reportGeometry"));
	CK(cuMemAlloc(&d, sizeof(host)));
	CK(cuMemsetD32(d, 0xffffffffu, 3 + N));
	{
		void *args[] = { &d };

		CK(cuLaunchKernel(fn, BLOCKS, 1, 1, THREADS, 1, 1, 0, NULL,
				  args, NULL));
	}
	CK(cuMemcpyDtoH(host, d, sizeof(host)));
	if (host[0] != warp || host[1] != THREADS || host[2] != BLOCKS) {
		fprintf(stderr,
			"deviceQuery: kernel saw warpSize %d blockDim %d gridDim %d, expected %d %d %d\n",
			host[0], host[1], host[2], warp, THREADS, BLOCKS);
		bad = 1;
	}
	for (int i = 0; i < N && !bad; i++)
		if (host[3 + i] != i) {
			fprintf(stderr, "deviceQuery: thread %d wrote %d\n", i,
				host[3 + i]);
			bad = 1;
		}
	CK(cuMemFree(d));
	CK(cuModuleUnload(mod));
	sample_fini(dev);
	if (bad)
		return 1;
	printf("deviceQuery: %s, %zu MiB, kernel geometry OK\n", name,
	       total >> 20);
	return 0;
}
