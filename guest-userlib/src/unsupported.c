// SPDX-License-Identifier: MIT
/*
 * unsupported.c - the answer of every exported name libvgpu does not
 * implement.
 *
 * The build generates a definition calling vgpu_unsupported() for every
 * name of exports.txt that no source file defines (the names the compiled
 * objects define are listed first with nm).  Programs that look up every
 * entry point at start-up therefore start, and fail only when they call
 * something unsupported.
 */
#include "vgpu.h"

/**
 * vgpu_unsupported() - log once that @name was called, and refuse it
 * @name: the entry point
 * @once: its logged-already flag
 *
 * Return: CUDA_ERROR_NOT_SUPPORTED.
 */
CUresult vgpu_unsupported(const char *name, int *once)
{
	if (!__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
		if (vgpu_log_level)
			vgpu_log(2, "%s is not supported", name);
	return CUDA_ERROR_NOT_SUPPORTED;
}
