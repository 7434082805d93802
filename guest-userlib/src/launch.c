// SPDX-License-Identifier: MIT
/*
 * launch.c - execution control: kernel launches and function attributes.
 *
 * A launch is checked and packed here against the parameter layout cached
 * by cuModuleGetFunction and queued without a reply, so launching costs no
 * round trip; a failure vgpud finds later is the context's deferred error.
 */
#include <string.h>

#include "vgpu.h"

static int check_func(CUfunction f)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	if (!f || f->magic != VGPU_MAGIC_FUNC)
		return -EBADF;
	return vgpu_ctx_check(f->mod->ctx);
}

/* Device limits from GET_INFO; a limit vgpud leaves at 0 is not checked. */
static bool over(unsigned int v, int attr)
{
	int lim = vgpu_dev.attrs[attr];

	return lim > 0 && v > (unsigned int)lim;
}

/* Finds the packed buffer of the `extra` form. */
static int parse_extra(void **extra, void **buf, size_t *size)
{
	int i;

	*buf = NULL;
	*size = 0;
	for (i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
		if (i > 64)
			return -EINVAL;
		if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
			*buf = extra[i + 1];
		else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE && extra[i + 1])
			*size = *(size_t *)extra[i + 1];
		else
			return -EINVAL;
	}
	return 0;
}

static int launch(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		  unsigned int bx, unsigned int by, unsigned int bz,
		  unsigned int shared, CUstream hStream, void **kernelParams,
		  void **extra)
{
	struct vgpu_cmd_launch cmd;
	char params[VGPU_MAX_PARAM_BYTES];
	struct CUctx_st *ctx;
	uint64_t sid;
	uint32_t i;
	int err = check_func(f);

	if (!err)
		err = vgpu_stream_resolve(hStream, &ctx, &sid);
	if (err)
		return err;
	if (ctx != f->mod->ctx)
		return -EBADF;
	if (!gx || !gy || !gz || !bx || !by || !bz)
		return -EINVAL;
	if (over(gx, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X) ||
	    over(gy, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y) ||
	    over(gz, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z) ||
	    over(bx, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X) ||
	    over(by, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y) ||
	    over(bz, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z))
		return -EINVAL;
	if ((uint64_t)bx * by * bz > 0xffffffffu ||
	    over(bx * by * bz, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK) ||
	    (f->attrs[VGPU_FUNC_ATTR_MAX_THREADS] > 0 &&
	     bx * by * bz > (unsigned int)f->attrs[VGPU_FUNC_ATTR_MAX_THREADS]))
		return -EINVAL;
	if (shared > (unsigned int)f->max_dynamic_shared &&
	    vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK] > 0)
		return -EINVAL;
	if (kernelParams && extra)
		return -EINVAL;
	if (extra) {
		void *buf;
		size_t size;

		err = parse_extra(extra, &buf, &size);
		if (err)
			return err;
		/* The buffer holds the parameters at their ABI offsets. */
		if (f->param_bytes && (!buf || size < f->param_bytes))
			return -EINVAL;
		if (f->param_bytes)
			memcpy(params, buf, f->param_bytes);
	} else if (f->nparams) {
		if (!kernelParams)
			return -EINVAL;
		memset(params, 0, f->param_bytes);
		for (i = 0; i < f->nparams; i++) {
			if (!kernelParams[i])
				return -EINVAL;
			memcpy(params + f->params[i].offset, kernelParams[i],
			       f->params[i].size);
		}
	}
	vgpu_hdr(&cmd.hdr, VGPU_CMD_LAUNCH, ctx->id, sid, sizeof(cmd) + f->param_bytes);
	cmd.func = f->id;
	cmd.grid[0] = gx;
	cmd.grid[1] = gy;
	cmd.grid[2] = gz;
	cmd.block[0] = bx;
	cmd.block[1] = by;
	cmd.block[2] = bz;
	cmd.shared_bytes = shared;
	cmd.param_bytes = f->param_bytes;
	return vgpu_tp_post(&cmd.hdr, sizeof(cmd), params, f->param_bytes);
}

VGPU_API CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX,
				 unsigned int gridDimY, unsigned int gridDimZ,
				 unsigned int blockDimX, unsigned int blockDimY,
				 unsigned int blockDimZ, unsigned int sharedMemBytes,
				 CUstream hStream, void **kernelParams, void **extra)
{
	return vgpu_result(launch(f, gridDimX, gridDimY, gridDimZ, blockDimX,
				  blockDimY, blockDimZ, sharedMemBytes, hStream,
				  kernelParams, extra));
}
VGPU_ALIAS(cuLaunchKernel_ptsz, cuLaunchKernel);

/*
 * Scheduling hints among the attributes are accepted; cooperative
 * launches, clusters larger than one block and attributes that record
 * events are not offered.
 */
static int check_launch_attrs(const CUlaunchAttribute *a, unsigned int n)
{
	unsigned int i;

	if (n && !a)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		switch (a[i].id) {
		case CU_LAUNCH_ATTRIBUTE_IGNORE:
		case CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW:
		case CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY:
		case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
		case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
		case CU_LAUNCH_ATTRIBUTE_PRIORITY:
		case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
		case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
		case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
		case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
			break;
		case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
			if (a[i].value.cooperative)
				return -EOPNOTSUPP;
			break;
		case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
			if (a[i].value.clusterDim.x > 1 || a[i].value.clusterDim.y > 1 ||
			    a[i].value.clusterDim.z > 1)
				return -EOPNOTSUPP;
			break;
		default:
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

VGPU_API CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
				   void **kernelParams, void **extra)
{
	int err = vgpu_check_init();

	if (!err && !config)
		err = -EINVAL;
	if (!err)
		err = check_launch_attrs(config->attrs, config->numAttrs);
	if (!err)
		err = launch(f, config->gridDimX, config->gridDimY, config->gridDimZ,
			     config->blockDimX, config->blockDimY, config->blockDimZ,
			     config->sharedMemBytes, config->hStream, kernelParams, extra);
	return vgpu_result(err);
}
VGPU_ALIAS(cuLaunchKernelEx_ptsz, cuLaunchKernelEx);

VGPU_API CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib,
				     CUfunction hfunc)
{
	int err = check_func(hfunc);

	if (!err && !pi)
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	if ((unsigned int)attrib < VGPU_NUM_FUNC_ATTRS)
		*pi = hfunc->attrs[attrib];
	else if (attrib == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
		*pi = hfunc->max_dynamic_shared;
	else if (attrib == CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT)
		*pi = hfunc->carveout;
	else
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib,
				     int value)
{
	int optin = vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN];
	int err = check_func(hfunc);

	if (err)
		return vgpu_result(err);
	switch (attrib) {
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		if (value < 0 || (optin > 0 && value + hfunc->attrs[1] > optin))
			return CUDA_ERROR_INVALID_VALUE;
		hfunc->max_dynamic_shared = value;
		return CUDA_SUCCESS;
	case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
		if (value < -1 || value > 100)
			return CUDA_ERROR_INVALID_VALUE;
		hfunc->carveout = value;
		return CUDA_SUCCESS;
	default:
		/* Scheduling hints (cluster shapes and the like) are accepted. */
		return (int)attrib >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	}
}

VGPU_API CUresult cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config)
{
	int err = check_func(hfunc);

	if (!err && (unsigned int)config > CU_FUNC_CACHE_PREFER_EQUAL)
		err = -EINVAL;
	/* A preference only; the executor decides. */
	return vgpu_result(err);
}

/* The layout vgpud reported at lookup, which launches are packed against. */
VGPU_API CUresult cuFuncGetParamInfo(CUfunction func, size_t paramIndex,
				     size_t *paramOffset, size_t *paramSize)
{
	int err = check_func(func);

	if (!err && (!paramOffset || paramIndex >= func->nparams))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	*paramOffset = func->params[paramIndex].offset;
	if (paramSize)
		*paramSize = func->params[paramIndex].size;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuFuncGetName(const char **name, CUfunction hfunc)
{
	int err = check_func(hfunc);

	if (!err && !name)
		err = -EINVAL;
	if (!err)
		*name = hfunc->name;
	return vgpu_result(err);
}

/*
 * Resident blocks per multiprocessor from the device limits vgpud reports
 * and the function's threads and shared memory; registers are not counted
 * (the sim has no register file, and vgpud reports 0 registers there).
 */
VGPU_API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks,
							      CUfunction func,
							      int blockSize,
							      size_t dynamicSMemSize)
{
	const int *a = vgpu_dev.attrs;
	int warp = a[CU_DEVICE_ATTRIBUTE_WARP_SIZE] > 0 ? a[CU_DEVICE_ATTRIBUTE_WARP_SIZE] : 32;
	long long n, lim, smem;
	int err = check_func(func);

	if (!err && (!numBlocks || blockSize <= 0))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	if ((a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] > 0 &&
	     blockSize > a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK]) ||
	    (func->attrs[VGPU_FUNC_ATTR_MAX_THREADS] > 0 &&
	     blockSize > func->attrs[VGPU_FUNC_ATTR_MAX_THREADS])) {
		*numBlocks = 0;
		return CUDA_SUCCESS;
	}
	n = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR] > 0 ?
	    a[CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR] : 16;
	lim = a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR];
	if (lim > 0 && lim / ((blockSize + warp - 1) / warp * warp) < n)
		n = lim / ((blockSize + warp - 1) / warp * warp);
	smem = func->attrs[VGPU_FUNC_ATTR_SHARED_BYTES] + (long long)dynamicSMemSize;
	lim = a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR];
	if (smem > 0 && lim > 0 && lim / smem < n)
		n = lim / smem;
	*numBlocks = (int)n;
	return CUDA_SUCCESS;
}
