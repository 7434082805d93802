/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * itest.h - helpers for the integration tests that drive vgpud through
 * libcuda.so.1: result checks that print error names, the embedded test
 * kernels, and a fresh-context helper.
 */
#ifndef VGPU_ITEST_H
#define VGPU_ITEST_H

#include <cuda.h>
#include <stdint.h>

#include "tap.h"

/* The committed kernel images, linked in by kernels.S. */
extern const char test_ptx[];
extern const unsigned char test_fatbin_ptx[], test_fatbin_mixed[];
extern const uint64_t test_ptx_size, test_fatbin_ptx_size,
	test_fatbin_mixed_size;

static inline const char *itest_errname(CUresult r)
{
	const char *s = NULL;

	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || !s)
		return "(unknown)";
	return s;
}

/* Fails the test unless @call returns @want, naming both results. */
#define CHECK_CU(call, want)                                                \
	do {                                                                \
		CUresult r_ = (call), w_ = (want);                          \
		if (r_ != w_) {                                             \
			printf("# %s:%d: %s returned %s (%d), expected %s\n", \
			       __FILE__, __LINE__, #call, itest_errname(r_), \
			       (int)r_, itest_errname(w_));                 \
			*tap_failed_ = 1;                                   \
			return;                                             \
		}                                                           \
	} while (0)

#define CU(call) CHECK_CU(call, CUDA_SUCCESS)

/* Fails unless @call returns one of two acceptable results (where real
 * drivers differ between versions). */
#define CHECK_CU2(call, w1, w2)                                             \
	do {                                                                \
		CUresult r_ = (call);                                       \
		if (r_ != (w1) && r_ != (w2)) {                             \
			printf("# %s:%d: %s returned %s (%d), expected %s or %s\n", \
			       __FILE__, __LINE__, #call, itest_errname(r_), \
			       (int)r_, itest_errname(w1), itest_errname(w2)); \
			*tap_failed_ = 1;                                   \
			return;                                             \
		}                                                           \
	} while (0)

/* cuCtxCreate with the CUDA 13 signature (NULL params = defaults), so the
 * tests import cuCtxCreate_v4 exactly as a CUDA 13 program does. */
static inline CUresult itest_ctx_create(CUcontext *ctx)
{
	CUdevice dev;
	CUresult r = cuDeviceGet(&dev, 0);

	if (r != CUDA_SUCCESS)
		return r;
	return cuCtxCreate(ctx, NULL, 0, dev);
}

/* Loads the test PTX into the current context. */
static inline CUresult itest_module(CUmodule *mod)
{
	return cuModuleLoadData(mod, test_ptx);
}

#endif /* VGPU_ITEST_H */
