// SPDX-License-Identifier: MIT
/*
 * memory.c - memory management: device allocations, pinned host memory
 * shared with vgpud, and the copy and memset paths.
 *
 * Copies from and to pinned memory (cuMemAllocHost, cuMemHostAlloc) name
 * the shared region and an offset, so vgpud copies straight from the
 * application's pages.  Pageable copies of up to INLINE_MAX bytes travel
 * inside the request or reply; larger ones go through the connection's
 * two-half staging region, one half filled while the other is copied.
 * On the kernel transport every host buffer is handed to the driver,
 * which pins its pages.
 */
#include <stdlib.h>
#include <string.h>

#include "vgpu.h"
#include "../../include/uapi/vgpu_ioctl.h"

#define INLINE_MAX	(64u << 10)

struct pinned {
	char *ptr;
	size_t size;
	uint64_t region;
};

static pthread_mutex_t pinned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pinned *pinned;		/* pinned_lock, sorted by ptr */
static size_t npinned, cap_pinned;	/* pinned_lock */

static size_t pinned_upper(const char *p)
{
	size_t lo = 0, hi = npinned;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pinned[mid].ptr <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * vgpu_pinned_find() - is [@p, @p + @len) inside one pinned allocation?
 * @p: host address
 * @len: bytes
 * @region: out, the region id
 * @off: out, offset of @p in the region
 *
 * Return: true when it is.
 */
bool vgpu_pinned_find(const void *p, size_t len, uint64_t *region, uint64_t *off)
{
	const char *c = p;
	bool found = false;
	size_t i;

	pthread_mutex_lock(&pinned_lock);
	i = pinned_upper(c);
	if (i) {
		struct pinned *pn = &pinned[i - 1];
		size_t o = c - pn->ptr;

		if (o < pn->size && len <= pn->size - o) {
			*region = pn->region;
			*off = o;
			found = true;
		}
	}
	pthread_mutex_unlock(&pinned_lock);
	return found;
}

static int host_alloc(void **pp, size_t size)
{
	struct CUctx_st *ctx;
	void *p;
	uint64_t region;
	size_t i;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!pp || !size))
		err = -EINVAL;
	if (err)
		return err;
	err = vgpu_tp_hostmem_alloc(size, &p, &region);
	if (err)
		return err == -EINVAL ? -ENOMEM : err;
	pthread_mutex_lock(&pinned_lock);
	if (npinned == cap_pinned) {
		size_t cap = cap_pinned ? 2 * cap_pinned : 16;
		struct pinned *n = realloc(pinned, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&pinned_lock);
			vgpu_tp_hostmem_free(p, size, region);
			return -ENOMEM;
		}
		pinned = n;
		cap_pinned = cap;
	}
	i = pinned_upper(p);
	memmove(&pinned[i + 1], &pinned[i], (npinned - i) * sizeof(*pinned));
	pinned[i] = (struct pinned){ p, size, region };
	npinned++;
	pthread_mutex_unlock(&pinned_lock);
	*pp = p;
	return 0;
}

VGPU_API CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	return vgpu_result(host_alloc(pp, bytesize));
}

VGPU_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	if (Flags & ~(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP |
		      CU_MEMHOSTALLOC_WRITECOMBINED))
		return vgpu_check_init() ? CUDA_ERROR_NOT_INITIALIZED :
		       CUDA_ERROR_INVALID_VALUE;
	/* Every allocation is portable; mapped access is not offered. */
	return vgpu_result(host_alloc(pp, bytesize));
}

VGPU_API CUresult cuMemFreeHost(void *p)
{
	struct CUctx_st *ctx;
	struct pinned pn;
	size_t i;
	int err = vgpu_check_init();

	if (err)
		return vgpu_result(err);
	pthread_mutex_lock(&pinned_lock);
	i = pinned_upper(p);
	if (!i || pinned[i - 1].ptr != p) {
		pthread_mutex_unlock(&pinned_lock);
		return CUDA_ERROR_INVALID_VALUE;
	}
	pn = pinned[--i];
	memmove(&pinned[i], &pinned[i + 1], (npinned - i - 1) * sizeof(*pinned));
	npinned--;
	pthread_mutex_unlock(&pinned_lock);
	/*
	 * Like CUDA, freeing pinned memory waits for the work that may still
	 * copy from or to it, here the current context's.
	 */
	if (!vgpu_ctx_current(&ctx))
		vgpu_simple_call(VGPU_CMD_CTX_SYNC, ctx->id, 0);
	return vgpu_result(vgpu_tp_hostmem_free(pn.ptr, pn.size, pn.region));
}

VGPU_API CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p,
					       unsigned int Flags)
{
	struct CUctx_st *ctx;
	uint64_t r, o;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!pdptr || Flags))
		err = -EINVAL;
	if (!err && !vgpu_pinned_find(p, 1, &r, &o))
		err = -EINVAL;
	/* Kernels cannot reach host memory through vgpud. */
	if (!err)
		err = -EOPNOTSUPP;
	return vgpu_result(err);
}

/*
 * Host memory the application registered (cuMemHostRegister).  vgpud
 * cannot see it, so copies from and to it go through the pageable path:
 * registration only promises the application that its range is known,
 * which these records keep for the overlap and unregister checks.
 */
struct registered {
	char *ptr;
	size_t size;
};

static struct registered *registered;	/* pinned_lock */
static size_t nregistered, cap_registered;	/* pinned_lock */

/* Is [@p, @p + @n) overlapping a registration or a pinned allocation? */
static bool host_range_taken(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < nregistered; i++)
		if (p < registered[i].ptr + registered[i].size &&
		    registered[i].ptr < p + n)
			return true;
	i = pinned_upper(p + n - 1);
	return i && pinned[i - 1].ptr + pinned[i - 1].size > p;
}

VGPU_API CUresult cuMemHostRegister_v2(void *p, size_t bytesize,
				       unsigned int Flags)
{
	struct CUctx_st *ctx;
	CUresult res = CUDA_SUCCESS;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	if (!p || !bytesize || bytesize > (size_t)-1 - (uintptr_t)p ||
	    (Flags & ~(CU_MEMHOSTREGISTER_PORTABLE |
		       CU_MEMHOSTREGISTER_DEVICEMAP |
		       CU_MEMHOSTREGISTER_IOMEMORY |
		       CU_MEMHOSTREGISTER_READ_ONLY)))
		return CUDA_ERROR_INVALID_VALUE;
	/* Device memory mapped into the host is not something vgpud sees. */
	if (Flags & CU_MEMHOSTREGISTER_IOMEMORY)
		return CUDA_ERROR_NOT_SUPPORTED;
	pthread_mutex_lock(&pinned_lock);
	if (host_range_taken(p, bytesize)) {
		res = CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
	} else if (nregistered == cap_registered) {
		size_t cap = cap_registered ? 2 * cap_registered : 16;
		struct registered *n = realloc(registered, cap * sizeof(*n));

		if (!n) {
			res = CUDA_ERROR_OUT_OF_MEMORY;
		} else {
			registered = n;
			cap_registered = cap;
		}
	}
	if (res == CUDA_SUCCESS)
		registered[nregistered++] = (struct registered){ p, bytesize };
	pthread_mutex_unlock(&pinned_lock);
	return res;
}

VGPU_API CUresult cuMemHostUnregister(void *p)
{
	struct CUctx_st *ctx;
	size_t i;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	if (!p)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&pinned_lock);
	for (i = 0; i < nregistered && registered[i].ptr != p; i++)
		;
	if (i == nregistered) {
		pthread_mutex_unlock(&pinned_lock);
		return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	}
	registered[i] = registered[--nregistered];
	if (!nregistered) {
		/* nothing left behind when a host process unloads the library */
		free(registered);
		registered = NULL;
		cap_registered = 0;
	}
	pthread_mutex_unlock(&pinned_lock);
	return CUDA_SUCCESS;
}

/*
 * What a pointer is: an allocation or global of the current context, or
 * pinned host memory.  Host memory vgpud does not know is not a valid
 * pointer, as in CUDA.
 */
VGPU_API CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute,
					CUdeviceptr ptr)
{
	struct CUctx_st *ctx;
	CUdeviceptr base = 0;
	size_t size = 0;
	uint64_t region, off;
	bool dev;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !data)
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	dev = vgpu_range_find(ctx, ptr, 0, &base, &size);
	if (!dev && !vgpu_pinned_find((void *)(uintptr_t)ptr, 1, &region, &off))
		return CUDA_ERROR_INVALID_VALUE;
	if (!dev) {
		base = ptr - off;
		pthread_mutex_lock(&pinned_lock);
		size = pinned[pinned_upper((char *)(uintptr_t)ptr) - 1].size;
		pthread_mutex_unlock(&pinned_lock);
	}
	switch (attribute) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = ctx;
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = dev ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		/* Pinned memory is not mapped into the device. */
		if (!dev)
			return CUDA_ERROR_INVALID_VALUE;
		*(CUdeviceptr *)data = ptr;
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		if (dev)
			return CUDA_ERROR_INVALID_VALUE;
		*(void **)data = (void *)(uintptr_t)ptr;
		break;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
		*(int *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = ctx->dev;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = base;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = size;
		break;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(int *)data = 1;
		break;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	struct vgpu_cmd_mem cmd = { 0 };
	struct vgpu_resp_mem r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!dptr || !bytesize))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MEM_ALLOC, ctx->id, 0, sizeof(cmd));
	cmd.size = bytesize;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	if (!err)
		err = vgpu_range_add(ctx, r.dptr, bytesize, false);
	if (!err)
		*dptr = r.dptr;
	return vgpu_result(err);
}

VGPU_API CUresult cuMemFree_v2(CUdeviceptr dptr)
{
	struct vgpu_cmd_mem cmd = { 0 };
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	CUdeviceptr base;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	if (!vgpu_range_find(ctx, dptr, 0, &base, NULL) || base != dptr)
		return CUDA_ERROR_INVALID_VALUE;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MEM_FREE, ctx->id, 0, sizeof(cmd));
	cmd.dptr = dptr;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	if (!err)
		err = vgpu_range_del(ctx, dptr, NULL);
	return vgpu_result(err);
}

VGPU_API CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
{
	struct vgpu_req_hdr h;
	struct vgpu_resp_mem_info r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!free || !total))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	vgpu_hdr(&h, VGPU_CMD_MEM_GET_INFO, ctx->id, 0, sizeof(h));
	err = vgpu_tp_call(&c, &h, sizeof(h), NULL, 0);
	if (!err) {
		*free = r.free;
		*total = r.total;
	}
	return vgpu_result(err);
}

VGPU_API CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize,
					  CUdeviceptr dptr)
{
	struct CUctx_st *ctx;
	CUdeviceptr base;
	size_t size;
	int err = vgpu_ctx_current(&ctx);

	if (!err && !vgpu_range_find(ctx, dptr, 0, &base, &size))
		err = -ENOENT;
	if (err)
		return vgpu_result(err);
	if (pbase)
		*pbase = base;
	if (psize)
		*psize = size;
	return CUDA_SUCCESS;
}

/* ---- copies ------------------------------------------------------------------ */

static void memcpy_cmd(struct vgpu_cmd_memcpy *cmd, uint32_t op,
		       struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dptr,
		       size_t size, uint64_t region, uint64_t off, size_t extra)
{
	memset(cmd, 0, sizeof(*cmd));
	vgpu_hdr(&cmd->hdr, op, ctx->id, sid, sizeof(*cmd) + extra);
	cmd->dptr = dptr;
	cmd->size = size;
	cmd->region = region;
	cmd->offset = off;
}

/* Staged host-to-device copy: fill one half while the other is copied. */
static int htod_staged(struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dst,
		       const char *src, size_t n)
{
	struct vgpu_resp_hdr r[2];
	struct vgpu_call c[2] = {
		{ .resp = &r[0], .resp_size = sizeof(r[0]) },
		{ .resp = &r[1], .resp_size = sizeof(r[1]) },
	};
	struct vgpu_cmd_memcpy cmd;
	bool busy[2] = { false, false };
	uint64_t region;
	size_t half, off = 0;
	char *stage;
	int b, e, err;

	vgpu_tp_staging_lock();
	err = vgpu_tp_staging((void **)&stage, &region, &half);
	for (b = 0; !err && off < n; b ^= 1) {
		size_t len = n - off < half ? n - off : half;

		if (busy[b]) {
			busy[b] = false;
			err = vgpu_tp_wait(&c[b]);
			if (err)
				break;
		}
		memcpy(stage + b * half, src + off, len);
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_HTOD, ctx, sid, dst + off, len,
			   region, b * half, 0);
		err = vgpu_tp_send(&c[b], &cmd.hdr, sizeof(cmd), NULL, 0);
		busy[b] = !err;
		off += len;
	}
	/* Every call sent must be collected before its struct goes away. */
	for (b = 0; b < 2; b++) {
		if (busy[b]) {
			e = vgpu_tp_wait(&c[b]);
			if (!err)
				err = e;
		}
	}
	vgpu_tp_staging_unlock();
	return err;
}

static int dtoh_staged(struct CUctx_st *ctx, uint64_t sid, char *dst,
		       CUdeviceptr src, size_t n)
{
	struct vgpu_resp_hdr r[2];
	struct vgpu_call c[2] = {
		{ .resp = &r[0], .resp_size = sizeof(r[0]) },
		{ .resp = &r[1], .resp_size = sizeof(r[1]) },
	};
	struct vgpu_cmd_memcpy cmd;
	bool busy[2] = { false, false };
	size_t half, sent = 0, done = 0, lens[2] = { 0, 0 };
	uint64_t region;
	char *stage;
	int b, e, err;

	vgpu_tp_staging_lock();
	err = vgpu_tp_staging((void **)&stage, &region, &half);
	/* Prime both halves, then drain in order and refill. */
	for (b = 0; !err && b < 2 && sent < n; b++) {
		lens[b] = n - sent < half ? n - sent : half;
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_DTOH, ctx, sid, src + sent,
			   lens[b], region, b * half, 0);
		err = vgpu_tp_send(&c[b], &cmd.hdr, sizeof(cmd), NULL, 0);
		busy[b] = !err;
		sent += lens[b];
	}
	for (b = 0; !err && done < n; b ^= 1) {
		busy[b] = false;
		err = vgpu_tp_wait(&c[b]);
		if (err)
			break;
		memcpy(dst + done, stage + b * half, lens[b]);
		done += lens[b];
		if (sent < n) {
			lens[b] = n - sent < half ? n - sent : half;
			memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_DTOH, ctx, sid, src + sent,
				   lens[b], region, b * half, 0);
			err = vgpu_tp_send(&c[b], &cmd.hdr, sizeof(cmd), NULL, 0);
			busy[b] = !err;
			sent += lens[b];
		}
	}
	for (b = 0; b < 2; b++) {
		if (busy[b]) {
			e = vgpu_tp_wait(&c[b]);
			if (!err)
				err = e;
		}
	}
	vgpu_tp_staging_unlock();
	return err;
}

static int copy_htod(struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dst,
		     const void *src, size_t n, bool async)
{
	struct vgpu_cmd_memcpy cmd;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	uint64_t region, off;

	if (!n)
		return 0;
	if (!src || !vgpu_range_find(ctx, dst, n, NULL, NULL))
		return -EINVAL;
	if (vgpu_tp_is_kernel()) {
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_HTOD, ctx, sid, dst, n,
			   VGPU_REGION_SG, 0, 0);
		c.data = (void *)src;
		c.data_len = n;
		c.data_flags = VGPU_CMD_F_DATA_IN;
		return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	}
	if (vgpu_pinned_find(src, n, &region, &off)) {
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_HTOD, ctx, sid, dst, n, region, off, 0);
		if (async)
			return vgpu_tp_post(&cmd.hdr, sizeof(cmd), NULL, 0);
		return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	}
	if (n <= INLINE_MAX) {
		/* The bytes are copied into the request: async is safe. */
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_HTOD, ctx, sid, dst, n,
			   VGPU_REGION_INLINE, 0, n);
		if (async)
			return vgpu_tp_post(&cmd.hdr, sizeof(cmd), src, n);
		return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), src, n);
	}
	return htod_staged(ctx, sid, dst, src, n);
}

/*
 * vgpud answers a DTOH once the bytes are in place.  An async copy into
 * pinned memory does not wait for that reply (whoever reads replies next
 * consumes it, and a failure becomes the context's error at its next
 * synchronization); every other device-to-host copy waits, which for the
 * async forms is what CUDA does with pageable memory.
 */
static int copy_dtoh(struct CUctx_st *ctx, uint64_t sid, void *dst,
		     CUdeviceptr src, size_t n, bool async)
{
	struct vgpu_cmd_memcpy cmd;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	uint64_t region, off;
	int err;

	if (!n)
		return 0;
	if (!dst || !vgpu_range_find(ctx, src, n, NULL, NULL))
		return -EINVAL;
	if (vgpu_tp_is_kernel()) {
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_DTOH, ctx, sid, src, n,
			   VGPU_REGION_SG, 0, 0);
		c.data = dst;
		c.data_len = n;
		c.data_flags = VGPU_CMD_F_DATA_OUT;
		return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	}
	if (vgpu_pinned_find(dst, n, &region, &off)) {
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_DTOH, ctx, sid, src, n, region, off, 0);
		if (async)
			return vgpu_tp_send_detached(&cmd.hdr, sizeof(cmd), &ctx->async_err);
		return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	}
	if (n <= INLINE_MAX) {
		memcpy_cmd(&cmd, VGPU_CMD_MEMCPY_DTOH, ctx, sid, src, n,
			   VGPU_REGION_INLINE, 0, 0);
		c.rdata = dst;
		c.rdata_cap = n;
		err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
		if (!err && c.rdata_len != n)
			err = -EPROTO;
		return err;
	}
	return dtoh_staged(ctx, sid, dst, src, n);
}

static int copy_dtod(struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dst,
		     CUdeviceptr src, size_t n, bool async)
{
	struct vgpu_cmd_memcpy_dtod cmd;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };

	if (!n)
		return 0;
	if (!vgpu_range_find(ctx, dst, n, NULL, NULL) ||
	    !vgpu_range_find(ctx, src, n, NULL, NULL))
		return -EINVAL;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MEMCPY_DTOD, ctx->id, sid, sizeof(cmd));
	cmd.dst = dst;
	cmd.src = src;
	cmd.size = n;
	if (async)
		return vgpu_tp_post(&cmd.hdr, sizeof(cmd), NULL, 0);
	return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
}

/* Unified addressing: an address is a device address when it lies in an
 * allocation or global of the context, a host address otherwise. */
static int copy_any(struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dst,
		    CUdeviceptr src, size_t n, bool async)
{
	bool ddev = vgpu_range_find(ctx, dst, 0, NULL, NULL);
	bool sdev = vgpu_range_find(ctx, src, 0, NULL, NULL);

	if (!n)
		return 0;
	if (!dst || !src)
		return -EINVAL;
	if (ddev && sdev)
		return copy_dtod(ctx, sid, dst, src, n, async);
	if (ddev)
		return copy_htod(ctx, sid, dst, (const void *)(uintptr_t)src, n, async);
	if (sdev)
		return copy_dtoh(ctx, sid, (void *)(uintptr_t)dst, src, n, async);
	/* Host to host: earlier work on the stream may write either side. */
	if (vgpu_simple_call(VGPU_CMD_STREAM_SYNC, ctx->id, sid) == 0)
		memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
	return 0;
}

/* Sync forms use the current context's default stream. */
#define SYNC_CTX()						\
	struct CUctx_st *ctx;					\
	int err = vgpu_ctx_current(&ctx);			\
	if (err)						\
		return vgpu_result(err)

#define ASYNC_CTX(s)						\
	struct CUctx_st *ctx;					\
	uint64_t sid;						\
	int err = vgpu_stream_resolve((s), &ctx, &sid);		\
	if (err)						\
		return vgpu_result(err)

VGPU_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost,
				  size_t ByteCount)
{
	SYNC_CTX();
	return vgpu_result(copy_htod(ctx, 0, dstDevice, srcHost, ByteCount, false));
}
VGPU_ALIAS(cuMemcpyHtoD_v2_ptds, cuMemcpyHtoD_v2);

VGPU_API CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice,
				  size_t ByteCount)
{
	SYNC_CTX();
	return vgpu_result(copy_dtoh(ctx, 0, dstHost, srcDevice, ByteCount, false));
}
VGPU_ALIAS(cuMemcpyDtoH_v2_ptds, cuMemcpyDtoH_v2);

VGPU_API CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
				  size_t ByteCount)
{
	SYNC_CTX();
	return vgpu_result(copy_dtod(ctx, 0, dstDevice, srcDevice, ByteCount, false));
}
VGPU_ALIAS(cuMemcpyDtoD_v2_ptds, cuMemcpyDtoD_v2);

VGPU_API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	SYNC_CTX();
	return vgpu_result(copy_any(ctx, 0, dst, src, ByteCount, false));
}
VGPU_ALIAS(cuMemcpy_ptds, cuMemcpy);

VGPU_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount,
				CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(copy_any(ctx, sid, dst, src, ByteCount, true));
}
VGPU_ALIAS(cuMemcpyAsync_ptsz, cuMemcpyAsync);

VGPU_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost,
				       size_t ByteCount, CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(copy_htod(ctx, sid, dstDevice, srcHost, ByteCount, true));
}
VGPU_ALIAS(cuMemcpyHtoDAsync_v2_ptsz, cuMemcpyHtoDAsync_v2);

VGPU_API CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice,
				       size_t ByteCount, CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(copy_dtoh(ctx, sid, dstHost, srcDevice, ByteCount, true));
}
VGPU_ALIAS(cuMemcpyDtoHAsync_v2_ptsz, cuMemcpyDtoHAsync_v2);

VGPU_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
				       size_t ByteCount, CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(copy_dtod(ctx, sid, dstDevice, srcDevice, ByteCount, true));
}
VGPU_ALIAS(cuMemcpyDtoDAsync_v2_ptsz, cuMemcpyDtoDAsync_v2);

/* ---- memset ------------------------------------------------------------------ */

/*
 * Memsets are asynchronous to the host in CUDA, the synchronous forms
 * included, so every form is queued without a reply once its range has
 * been checked here.
 */
static int memset_post(struct CUctx_st *ctx, uint64_t sid, CUdeviceptr dst,
		       uint32_t value, uint32_t elem, size_t count)
{
	struct vgpu_cmd_memset cmd;

	if (!count)
		return 0;
	if (count > SIZE_MAX / elem || !vgpu_range_find(ctx, dst, count * elem, NULL, NULL))
		return -EINVAL;
	if (dst % elem)
		return -EINVAL;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MEMSET, ctx->id, sid, sizeof(cmd));
	cmd.dptr = dst;
	cmd.count = count;
	cmd.value = value;
	cmd.elem_size = elem;
	return vgpu_tp_post(&cmd.hdr, sizeof(cmd), NULL, 0);
}

VGPU_API CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	SYNC_CTX();
	return vgpu_result(memset_post(ctx, 0, dstDevice, uc, 1, N));
}
VGPU_ALIAS(cuMemsetD8_v2_ptds, cuMemsetD8_v2);

VGPU_API CUresult cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us, size_t N)
{
	SYNC_CTX();
	return vgpu_result(memset_post(ctx, 0, dstDevice, us, 2, N));
}
VGPU_ALIAS(cuMemsetD16_v2_ptds, cuMemsetD16_v2);

VGPU_API CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{
	SYNC_CTX();
	return vgpu_result(memset_post(ctx, 0, dstDevice, ui, 4, N));
}
VGPU_ALIAS(cuMemsetD32_v2_ptds, cuMemsetD32_v2);

VGPU_API CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N,
				  CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(memset_post(ctx, sid, dstDevice, uc, 1, N));
}
VGPU_ALIAS(cuMemsetD8Async_ptsz, cuMemsetD8Async);

VGPU_API CUresult cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N,
				   CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(memset_post(ctx, sid, dstDevice, us, 2, N));
}
VGPU_ALIAS(cuMemsetD16Async_ptsz, cuMemsetD16Async);

VGPU_API CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N,
				   CUstream hStream)
{
	ASYNC_CTX(hStream);
	return vgpu_result(memset_post(ctx, sid, dstDevice, ui, 4, N));
}
VGPU_ALIAS(cuMemsetD32Async_ptsz, cuMemsetD32Async);
