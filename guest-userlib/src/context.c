// SPDX-License-Identifier: MIT
/*
 * context.c - context management: created and primary contexts and the
 * per-thread current-context stack.
 *
 * A context is one daemon context (CTX_CREATE).  Its struct is never
 * freed: other threads may still hold it on their stacks after
 * cuCtxDestroy(), and a dead magic turns their use into
 * CUDA_ERROR_INVALID_CONTEXT instead of a use after free.  Dead structs
 * wait on a free list for the next cuCtxCreate, so handles are reused as
 * the real driver reuses them and memory stays bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "vgpu.h"

#define STACK_MAX 64

static __thread struct CUctx_st *ctx_stack[STACK_MAX];
static __thread int ctx_depth;

/*
 * The primary context of the one device, refcounted by Retain/Release.
 * Its handle stays the same across release and retain, as in CUDA: the
 * struct is reused and only the daemon context behind it is renewed.
 */
static pthread_mutex_t prim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct CUctx_st *prim_struct;	/* prim_lock */
static struct CUctx_st *prim_ctx;	/* prim_lock: prim_struct while active */
static int prim_refs;			/* prim_lock */
static unsigned int prim_flags;		/* prim_lock */

static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct CUctx_st *dead;		/* dead_lock, linked through ->next_dead */

static const size_t default_limits[CU_LIMIT_MAX] = {
	[CU_LIMIT_STACK_SIZE] = 1024,
	[CU_LIMIT_PRINTF_FIFO_SIZE] = 1 << 20,
	[CU_LIMIT_MALLOC_HEAP_SIZE] = 8 << 20,
	[CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH] = 2,
	[CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = 2048,
	[CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = 32,
};

/**
 * vgpu_ctx_async_err() - fold in a failure of the context's detached requests
 * @ctx: context
 * @err: result of the synchronizing call so far
 *
 * Return: @err, or when it is 0 the (now cleared) detached failure.
 */
int vgpu_ctx_async_err(struct CUctx_st *ctx, int err)
{
	int st = __atomic_exchange_n(&ctx->async_err, 0, __ATOMIC_RELAXED);

	return err || !st ? err : VGPU_ESTATUS(st);
}

int vgpu_ctx_check(struct CUctx_st *ctx)
{
	if (!ctx || ctx->magic != VGPU_MAGIC_CTX)
		return -ESRCH;
	return 0;
}

/**
 * vgpu_ctx_current() - the calling thread's current context
 * @ctx: out
 *
 * Return: 0, -ENOTCONN before cuInit(), -ESRCH without a (live) context.
 */
int vgpu_ctx_current(struct CUctx_st **ctx)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	if (!ctx_depth)
		return -ESRCH;
	*ctx = ctx_stack[ctx_depth - 1];
	return vgpu_ctx_check(*ctx);
}

/* Creates the daemon context behind @ctx, a new or a dead struct. */
static int ctx_init(struct CUctx_st *ctx, CUdevice dev, unsigned int flags,
		    bool primary)
{
	struct vgpu_req_hdr h;
	struct vgpu_resp_id r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	int err;

	vgpu_hdr(&h, VGPU_CMD_CTX_CREATE, 0, 0, sizeof(h));
	err = vgpu_tp_call(&c, &h, sizeof(h), NULL, 0);
	if (err)
		return err;
	ctx->id = r.id;
	ctx->dev = dev;
	ctx->flags = flags;
	ctx->primary = primary;
	ctx->cache_config = CU_FUNC_CACHE_PREFER_NONE;
	ctx->async_err = 0;
	memcpy(ctx->limits, default_limits, sizeof(ctx->limits));
	__atomic_store_n(&ctx->magic, VGPU_MAGIC_CTX, __ATOMIC_RELEASE);
	vgpu_dbg("context %p is daemon context %llu", (void *)ctx,
		 (unsigned long long)ctx->id);
	return 0;
}

static int ctx_new(CUdevice dev, unsigned int flags, bool primary,
		   struct CUctx_st **out)
{
	struct CUctx_st *ctx;
	int err;

	pthread_mutex_lock(&dead_lock);
	ctx = dead;
	if (ctx)
		dead = ctx->next_dead;
	pthread_mutex_unlock(&dead_lock);
	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return -ENOMEM;
		pthread_mutex_init(&ctx->lock, NULL);
	}
	err = ctx_init(ctx, dev, flags, primary);
	if (err) {
		pthread_mutex_lock(&dead_lock);
		ctx->next_dead = dead;
		dead = ctx;
		pthread_mutex_unlock(&dead_lock);
		return err;
	}
	*out = ctx;
	return 0;
}

void vgpu_ctx_drop_objects(struct CUctx_st *ctx)
{
	struct CUmod_st *m;
	struct CUstream_st *s;
	struct CUevent_st *e;

	pthread_mutex_lock(&ctx->lock);
	while ((m = ctx->modules)) {
		ctx->modules = m->next;
		vgpu_module_free(m);
	}
	while ((s = ctx->streams)) {
		ctx->streams = s->next;
		s->magic = 0;
		free(s);
	}
	while ((e = ctx->events)) {
		ctx->events = e->next;
		e->magic = 0;
		free(e);
	}
	free(ctx->ranges);
	ctx->ranges = NULL;
	ctx->nranges = ctx->cap_ranges = 0;
	pthread_mutex_unlock(&ctx->lock);
}

/* Destroys the daemon context and everything the library tracked for it. */
static int ctx_kill(struct CUctx_st *ctx)
{
	int err = vgpu_simple_call(VGPU_CMD_CTX_DESTROY, ctx->id, 0);
	int i;

	ctx->magic = 0;
	vgpu_ctx_drop_objects(ctx);
	/* The calling thread forgets it; other threads see the dead magic. */
	for (i = 0; i < ctx_depth; i++)
		if (ctx_stack[i] == ctx)
			ctx_stack[i] = NULL;
	while (ctx_depth && !ctx_stack[ctx_depth - 1])
		ctx_depth--;
	/* The primary context's struct stays with the primary context. */
	if (!ctx->primary) {
		pthread_mutex_lock(&dead_lock);
		ctx->next_dead = dead;
		dead = ctx;
		pthread_mutex_unlock(&dead_lock);
	}
	return err;
}

static int push(struct CUctx_st *ctx)
{
	if (ctx_depth == STACK_MAX)
		return -ENOMEM;
	ctx_stack[ctx_depth++] = ctx;
	return 0;
}

static int ctx_create(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	struct CUctx_st *ctx;
	int err = vgpu_check_device(dev);

	if (err)
		return err;
	if (!pctx || (flags & ~CU_CTX_FLAGS_MASK))
		return -EINVAL;
	if (ctx_depth == STACK_MAX)
		return -ENOMEM;
	err = ctx_new(dev, flags, false, &ctx);
	if (err)
		return err;
	push(ctx);
	*pctx = ctx;
	return 0;
}

VGPU_API CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	return vgpu_result(ctx_create(pctx, flags, dev));
}
VGPU_ALIAS(cuCtxCreate, cuCtxCreate_v2);

VGPU_API CUresult cuCtxCreate_v3(CUcontext *pctx, void *paramsArray, int numParams,
				 unsigned int flags, CUdevice dev)
{
	/* Execution affinity (SM partitions) has no meaning here. */
	if (paramsArray || numParams)
		return vgpu_check_init() ? CUDA_ERROR_NOT_INITIALIZED :
		       CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
	return vgpu_result(ctx_create(pctx, flags, dev));
}

VGPU_API CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params,
				 unsigned int flags, CUdevice dev)
{
	if (params && (params->execAffinityParams || params->numExecAffinityParams ||
		       params->cigParams))
		return vgpu_check_init() ? CUDA_ERROR_NOT_INITIALIZED :
		       CUDA_ERROR_NOT_SUPPORTED;
	return vgpu_result(ctx_create(pctx, flags, dev));
}

VGPU_API CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	int err = vgpu_check_init();

	if (!err)
		err = vgpu_ctx_check(ctx);
	/* The primary context belongs to Retain/Release. */
	if (!err && ctx->primary)
		err = -ESRCH;
	if (!err)
		err = ctx_kill(ctx);
	return vgpu_result(err);
}
VGPU_ALIAS(cuCtxDestroy, cuCtxDestroy_v2);

VGPU_API CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	int err = vgpu_check_init();

	if (!err)
		err = vgpu_ctx_check(ctx);
	if (!err)
		err = push(ctx);
	return vgpu_result(err);
}
VGPU_ALIAS(cuCtxPushCurrent, cuCtxPushCurrent_v2);

VGPU_API CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
	int err = vgpu_check_init();

	if (!err && !ctx_depth)
		err = -ESRCH;
	if (err)
		return vgpu_result(err);
	ctx_depth--;
	if (pctx)
		*pctx = ctx_stack[ctx_depth];
	return CUDA_SUCCESS;
}
VGPU_ALIAS(cuCtxPopCurrent, cuCtxPopCurrent_v2);

VGPU_API CUresult cuCtxSetCurrent(CUcontext ctx)
{
	int err = vgpu_check_init();

	if (!err && ctx)
		err = vgpu_ctx_check(ctx);
	if (err)
		return vgpu_result(err);
	if (!ctx) {
		/* Unbinds: the top of the stack goes away. */
		if (ctx_depth)
			ctx_depth--;
		return CUDA_SUCCESS;
	}
	if (!ctx_depth)
		ctx_depth = 1;
	ctx_stack[ctx_depth - 1] = ctx;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	int err = vgpu_check_init();

	if (!err && !pctx)
		err = -EINVAL;
	if (!err)
		*pctx = ctx_depth ? ctx_stack[ctx_depth - 1] : NULL;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxGetDevice(CUdevice *device)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !device)
		err = -EINVAL;
	if (!err)
		*device = ctx->dev;
	return vgpu_result(err);
}

/* The context argument of the CUDA 12.5+ forms: NULL is the current one. */
static int ctx_arg(CUcontext *ctx)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	if (!*ctx)
		return vgpu_ctx_current(ctx);
	return vgpu_ctx_check(*ctx);
}

VGPU_API CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
	int err = ctx_arg(&ctx);

	if (!err && !device)
		err = -EINVAL;
	if (!err)
		*device = ctx->dev;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxSynchronize_v2(CUcontext ctx)
{
	int err = ctx_arg(&ctx);

	if (err)
		return vgpu_result(err);
	err = vgpu_simple_call(VGPU_CMD_CTX_SYNC, ctx->id, 0);
	return vgpu_result(vgpu_ctx_async_err(ctx, err));
}

VGPU_API CUresult cuCtxGetId(CUcontext ctx, unsigned long long *ctxId)
{
	int err = ctx_arg(&ctx);

	if (!err && !ctxId)
		err = -EINVAL;
	/* vgpud's ids are unique within the connection, i.e. the process. */
	if (!err)
		*ctxId = ctx->id;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxGetFlags(unsigned int *flags)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !flags)
		err = -EINVAL;
	if (!err)
		*flags = ctx->flags;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxSynchronize(void)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	err = vgpu_simple_call(VGPU_CMD_CTX_SYNC, ctx->id, 0);
	return vgpu_result(vgpu_ctx_async_err(ctx, err));
}

VGPU_API CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
	int err = vgpu_check_init();

	if (!err && !ctx)
		err = vgpu_ctx_current(&ctx);
	if (!err)
		err = vgpu_ctx_check(ctx);
	if (!err && !version)
		err = -EINVAL;
	/* Contexts carry the API version of the _v2 entry points. */
	if (!err)
		*version = 3020;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxGetLimit(size_t *pvalue, CUlimit limit)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !pvalue)
		err = -EINVAL;
	if (!err && (unsigned int)limit >= CU_LIMIT_MAX)
		return CUDA_ERROR_UNSUPPORTED_LIMIT;
	if (!err)
		*pvalue = ctx->limits[limit];
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxSetLimit(CUlimit limit, size_t value)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	if ((unsigned int)limit >= CU_LIMIT_MAX)
		return CUDA_ERROR_UNSUPPORTED_LIMIT;
	/*
	 * Recorded and reported back; the executor sizes stacks and FIFOs
	 * itself, so a larger value changes nothing there.
	 */
	ctx->limits[limit] = value;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuCtxGetCacheConfig(CUfunc_cache *pconfig)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !pconfig)
		err = -EINVAL;
	if (!err)
		*pconfig = ctx->cache_config;
	return vgpu_result(err);
}

VGPU_API CUresult cuCtxSetCacheConfig(CUfunc_cache config)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (unsigned int)config > CU_FUNC_CACHE_PREFER_EQUAL)
		err = -EINVAL;
	if (!err)
		ctx->cache_config = config;
	return vgpu_result(err);
}

/* ---- primary context ---------------------------------------------------- */

VGPU_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && !pctx)
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&prim_lock);
	if (!prim_ctx) {
		if (prim_struct)
			err = ctx_init(prim_struct, dev, prim_flags, true);
		else
			err = ctx_new(dev, prim_flags, true, &prim_struct);
		if (!err)
			prim_ctx = prim_struct;
	}
	if (!err) {
		prim_refs++;
		*pctx = prim_ctx;
	}
	pthread_mutex_unlock(&prim_lock);
	return vgpu_result(err);
}

VGPU_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&prim_lock);
	if (!prim_refs) {
		err = -ESRCH;
	} else if (!--prim_refs) {
		err = ctx_kill(prim_ctx);
		prim_ctx = NULL;
	}
	pthread_mutex_unlock(&prim_lock);
	return vgpu_result(err);
}
VGPU_ALIAS(cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease_v2);

VGPU_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&prim_lock);
	if (prim_ctx) {
		err = ctx_kill(prim_ctx);
		prim_ctx = NULL;
	}
	prim_refs = 0;
	pthread_mutex_unlock(&prim_lock);
	return vgpu_result(err);
}
VGPU_ALIAS(cuDevicePrimaryCtxReset, cuDevicePrimaryCtxReset_v2);

VGPU_API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
	int err = vgpu_check_device(dev);

	if (!err && (flags & ~CU_CTX_FLAGS_MASK))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&prim_lock);
	prim_flags = flags;
	if (prim_ctx)
		prim_ctx->flags = flags;
	pthread_mutex_unlock(&prim_lock);
	return CUDA_SUCCESS;
}
VGPU_ALIAS(cuDevicePrimaryCtxSetFlags, cuDevicePrimaryCtxSetFlags_v2);

VGPU_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags,
					     int *active)
{
	int err = vgpu_check_device(dev);

	if (!err && (!flags || !active))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&prim_lock);
	*flags = prim_flags;
	*active = prim_ctx != NULL;
	pthread_mutex_unlock(&prim_lock);
	return CUDA_SUCCESS;
}

/* ---- device ranges -------------------------------------------------------- */

/* Index of the first range whose base is above @p. */
static size_t upper(struct CUctx_st *ctx, CUdeviceptr p)
{
	size_t lo = 0, hi = ctx->nranges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ctx->ranges[mid].base <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vgpu_range_add(struct CUctx_st *ctx, CUdeviceptr base, size_t size, bool global)
{
	size_t i;
	int err = 0;

	pthread_mutex_lock(&ctx->lock);
	if (ctx->nranges == ctx->cap_ranges) {
		size_t cap = ctx->cap_ranges ? 2 * ctx->cap_ranges : 16;
		struct vgpu_range *r = realloc(ctx->ranges, cap * sizeof(*r));

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		ctx->ranges = r;
		ctx->cap_ranges = cap;
	}
	i = upper(ctx, base);
	/* A global may be asked for twice; keep one entry. */
	if (i && ctx->ranges[i - 1].base == base) {
		ctx->ranges[i - 1].size = size;
		goto out;
	}
	memmove(&ctx->ranges[i + 1], &ctx->ranges[i],
		(ctx->nranges - i) * sizeof(ctx->ranges[0]));
	ctx->ranges[i] = (struct vgpu_range){ base, size, global };
	ctx->nranges++;
out:
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

/* Forgets a module global's range; the caller holds ctx->lock. */
void vgpu_range_del_global_locked(struct CUctx_st *ctx, CUdeviceptr base)
{
	size_t i = upper(ctx, base);

	if (i && ctx->ranges[i - 1].base == base && ctx->ranges[i - 1].global) {
		i--;
		memmove(&ctx->ranges[i], &ctx->ranges[i + 1],
			(ctx->nranges - i - 1) * sizeof(ctx->ranges[0]));
		ctx->nranges--;
	}
}

int vgpu_range_del(struct CUctx_st *ctx, CUdeviceptr base, size_t *size)
{
	size_t i;
	int err = -EINVAL;

	pthread_mutex_lock(&ctx->lock);
	i = upper(ctx, base);
	if (i && ctx->ranges[i - 1].base == base && !ctx->ranges[i - 1].global) {
		i--;
		if (size)
			*size = ctx->ranges[i].size;
		memmove(&ctx->ranges[i], &ctx->ranges[i + 1],
			(ctx->nranges - i - 1) * sizeof(ctx->ranges[0]));
		ctx->nranges--;
		err = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

/**
 * vgpu_range_find() - the allocation or global that holds [@p, @p + @len)
 * @ctx: context
 * @p: device address
 * @len: bytes from @p (0 checks @p alone)
 * @base: out, start of the range, or NULL
 * @size: out, its size, or NULL
 *
 * Return: true when one range holds all of it.
 */
bool vgpu_range_find(struct CUctx_st *ctx, CUdeviceptr p, size_t len,
		     CUdeviceptr *base, size_t *size)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&ctx->lock);
	i = upper(ctx, p);
	if (i) {
		struct vgpu_range *r = &ctx->ranges[i - 1];
		size_t off = p - r->base;

		if (off < r->size && (len <= r->size - off)) {
			found = true;
			if (base)
				*base = r->base;
			if (size)
				*size = r->size;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return found;
}
