// SPDX-License-Identifier: MIT
/*
 * abi_smoke.c - a Driver API program compiled against NVIDIA's cuda.h (or
 * the project's) and linked with -lcuda, run against libvgpu.  It checks
 * what works without a daemon, and with one (VGPU_SOCKET) runs a kernel
 * end to end; VGPU_EXPECT_DAEMON set makes a failing cuInit a failure.  Prints TAP; exits 0 when every check passed.
 *
 * usage: abi_smoke KERNELS_PTX
 */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n, bad;

static void check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++n, what);
	bad |= !ok;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, len + 1);
	if (buf && fread(buf, 1, len, f) != (size_t)len)
		buf = NULL;
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	int version = 0;
	void *pfn = NULL;
	CUdriverProcAddressQueryResult st;
	CUresult r;
	char *ptx = argc > 1 ? slurp(argv[1]) : NULL;

	check(ptx != NULL, "kernels PTX readable");
	check(cuDriverGetVersion(&version) == CUDA_SUCCESS && version >= 12000,
	      "cuDriverGetVersion reports a CUDA 12+ driver");
	check(cuGetErrorName(CUDA_ERROR_INVALID_CONTEXT, &name) == CUDA_SUCCESS && name &&
	      !strcmp(name, "CUDA_ERROR_INVALID_CONTEXT"), "cuGetErrorName names codes");
	check(cuGetProcAddress("cuMemAlloc", &pfn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
			       &st) == CUDA_SUCCESS && pfn == (void *)&cuMemAlloc,
	      "cuGetProcAddress returns the header's mapping of cuMemAlloc");
	check(cuGetProcAddress("cuLaunchKernel", &pfn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
			       &st) == CUDA_SUCCESS && pfn == (void *)&cuLaunchKernel,
	      "cuGetProcAddress returns the header's mapping of cuLaunchKernel");
	r = cuInit(0);
	if (getenv("VGPU_EXPECT_DAEMON"))
		check(r == CUDA_SUCCESS, "cuInit reaches vgpud");
	if (r != CUDA_SUCCESS) {
		check(r == CUDA_ERROR_NO_DEVICE, "cuInit without vgpud is CUDA_ERROR_NO_DEVICE");
		printf("ok %d - end-to-end run # SKIP no vgpud at VGPU_SOCKET\n", ++n);
		printf("1..%d\n", n);
		return bad;
	}
	{
		enum { N = 4096 };
		static float x[N], y[N];
		float a = 3.0f, ms = -1;
		int cnt = N, i, ok = 1;
		CUdevice dev;
		CUcontext ctx;
		CUmodule mod;
		CUfunction f;
		CUdeviceptr dx, dy;
		CUstream s;
		CUevent e0, e1;
		void *args[] = { &a, &dx, &dy, &cnt };

		for (i = 0; i < N; i++) {
			x[i] = i;
			y[i] = 2;
		}
		check(cuDeviceGet(&dev, 0) == CUDA_SUCCESS, "cuDeviceGet");
		check(cuCtxCreate(&ctx, NULL, 0, dev) == CUDA_SUCCESS, "cuCtxCreate");
		check(cuModuleLoadData(&mod, ptx) == CUDA_SUCCESS, "cuModuleLoadData(PTX)");
		check(cuModuleGetFunction(&f, mod, "axpy") == CUDA_SUCCESS, "cuModuleGetFunction");
		check(cuMemAlloc(&dx, sizeof(x)) == CUDA_SUCCESS &&
		      cuMemAlloc(&dy, sizeof(y)) == CUDA_SUCCESS, "cuMemAlloc");
		check(cuStreamCreate(&s, 0) == CUDA_SUCCESS &&
		      cuEventCreate(&e0, 0) == CUDA_SUCCESS &&
		      cuEventCreate(&e1, 0) == CUDA_SUCCESS, "stream and events");
		check(cuMemcpyHtoDAsync(dx, x, sizeof(x), s) == CUDA_SUCCESS &&
		      cuMemcpyHtoDAsync(dy, y, sizeof(y), s) == CUDA_SUCCESS, "cuMemcpyHtoDAsync");
		check(cuEventRecord(e0, s) == CUDA_SUCCESS, "cuEventRecord");
		check(cuLaunchKernel(f, N / 256, 1, 1, 256, 1, 1, 0, s, args, NULL) ==
		      CUDA_SUCCESS, "cuLaunchKernel");
		check(cuEventRecord(e1, s) == CUDA_SUCCESS, "cuEventRecord");
		check(cuMemcpyDtoHAsync(y, dy, sizeof(y), s) == CUDA_SUCCESS, "cuMemcpyDtoHAsync");
		check(cuStreamSynchronize(s) == CUDA_SUCCESS, "cuStreamSynchronize");
		check(cuEventElapsedTime(&ms, e0, e1) == CUDA_SUCCESS && ms >= 0,
		      "cuEventElapsedTime");
		for (i = 0; i < N; i++)
			ok &= y[i] == 3.0f * i + 2;
		check(ok, "axpy result matches the CPU");
		check(cuMemFree(dx) == CUDA_SUCCESS && cuMemFree(dy) == CUDA_SUCCESS, "cuMemFree");
		check(cuEventDestroy(e0) == CUDA_SUCCESS && cuEventDestroy(e1) == CUDA_SUCCESS &&
		      cuStreamDestroy(s) == CUDA_SUCCESS, "destroy stream and events");
		check(cuModuleUnload(mod) == CUDA_SUCCESS, "cuModuleUnload");
		check(cuCtxDestroy(ctx) == CUDA_SUCCESS, "cuCtxDestroy");
	}
	printf("1..%d\n", n);
	return bad;
}
