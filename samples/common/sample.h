/* SPDX-License-Identifier: MIT */
/*
 * sample.h - helpers shared by the samples: error checks, the primary
 * context, the embedded PTX module, and a monotonic clock.
 *
 * Only CUDA Driver API calls are used, so a sample builds against NVIDIA's
 * cuda.h or the project's own and runs against any libcuda.so.1.
 */
#ifndef VGPU_SAMPLE_H
#define VGPU_SAMPLE_H

#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The PTX text of <name>_kernel.ptx, linked in by embed.S. */
extern const char ptx_image[];

/* Exits with a message naming the failed call; a sample never goes on
 * after a driver error. */
static inline void sample_check(CUresult r, const char *what, const char *file,
				int line)
{
	const char *name = NULL;

	if (r == CUDA_SUCCESS)
		return;
	if (cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
		name = "unknown error";
	fprintf(stderr, "%s:%d: %s failed: %s (%d)\n", file, line, what, name,
		(int)r);
	exit(1);
}

#define CK(call) sample_check((call), #call, __FILE__, __LINE__)

/**
 * sample_init() - initialise the driver and make device 0's primary context
 * current.
 * @dev: set to the device.
 *
 * The primary context is used rather than cuCtxCreate because its signature
 * is the same in every cuda.h version.
 *
 * Return: the context, released by sample_fini().
 */
static inline CUcontext sample_init(CUdevice *dev)
{
	CUcontext ctx;

	CK(cuInit(0));
	CK(cuDeviceGet(dev, 0));
	CK(cuDevicePrimaryCtxRetain(&ctx, *dev));
	CK(cuCtxSetCurrent(ctx));
	return ctx;
}

/**
 * sample_fini() - release the primary context taken by sample_init().
 * @dev: the device sample_init() returned.
 */
static inline void sample_fini(CUdevice dev)
{
	CK(cuCtxSetCurrent(NULL));
	CK(cuDevicePrimaryCtxRelease(dev));
}

/**
 * sample_module() - load the sample's embedded PTX.
 *
 * On failure the JIT error log (which names the offending PTX line) is
 * printed before the sample exits.
 *
 * Return: the loaded module.
 */
static inline CUmodule sample_module(void)
{
	static char log[4096];
	CUjit_option opts[] = { CU_JIT_ERROR_LOG_BUFFER,
				CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
	void *vals[] = { log, (void *)(size_t)sizeof(log) };
	CUmodule mod;
	CUresult r;

	r = cuModuleLoadDataEx(&mod, ptx_image, 2, opts, vals);
	if (r != CUDA_SUCCESS && log[0])
		fprintf(stderr, "PTX error log:\n%s\n", log);
	sample_check(r, "cuModuleLoadDataEx(embedded PTX)", __FILE__, __LINE__);
	return mod;
}

/* Seconds on the monotonic clock, for the samples that print a rate. */
static inline double sample_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A deterministic xorshift generator: runs are reproducible. */
static inline unsigned int sample_rand(unsigned int *state)
{
	unsigned int x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Integer value of "-n VALUE"-style option @opt in argv, or @def. */
static inline long sample_opt(int argc, char **argv, const char *opt, long def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], opt))
			return strtol(argv[i + 1], NULL, 0);
	return def;
}

#endif /* VGPU_SAMPLE_H */
