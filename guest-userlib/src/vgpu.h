/* SPDX-License-Identifier: MIT */
/*
 * vgpu.h - libvgpu's private header: object layouts, the transport
 * interface and the helpers shared by the API sections.
 */
#ifndef VGPU_PRIVATE_H
#define VGPU_PRIVATE_H

#define VGPU_CUDA_INTERNAL
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda.h"
#include "../../include/uapi/vgpu_virtio.h"

/* Exported CUDA entry points; everything else stays hidden. */
#define VGPU_API __attribute__((visibility("default")))
/* A second exported name for an implementation with the same ABI. */
#define VGPU_ALIAS(name, target) \
	VGPU_API __typeof__(target) name __attribute__((alias(#target)))

/*
 * Internal error convention: 0 or a negative errno, or a device status
 * (a CUresult the daemon returned) encoded below -VGPU_ESTATUS_BASE so
 * that it reaches the application unchanged.  vgpu_result() is the one
 * place that turns these into CUresult.
 */
#define VGPU_ESTATUS_BASE	4096
#define VGPU_ESTATUS(s)		(-(VGPU_ESTATUS_BASE + (int)(s)))
CUresult vgpu_result(int err);

/* Logging: silent unless VGPU_LOG_LEVEL is set (1 error .. 4 debug). */
extern int vgpu_log_level;
void vgpu_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define vgpu_err(...)	do { if (vgpu_log_level >= 1) vgpu_log(1, __VA_ARGS__); } while (0)
#define vgpu_warn(...)	do { if (vgpu_log_level >= 2) vgpu_log(2, __VA_ARGS__); } while (0)
#define vgpu_info(...)	do { if (vgpu_log_level >= 3) vgpu_log(3, __VA_ARGS__); } while (0)
#define vgpu_dbg(...)	do { if (vgpu_log_level >= 4) vgpu_log(4, __VA_ARGS__); } while (0)

/* ---- transport.c ------------------------------------------------------ */

/*
 * One request that expects a reply.  The caller owns the structure until
 * vgpu_tp_wait() returned; the reading thread fills @resp (the reply's
 * fixed part, header first) and @rdata (the trailing data) and sets @done.
 */
struct vgpu_call {
	/* in */
	void *resp;		/* at least sizeof(struct vgpu_resp_hdr) */
	size_t resp_size;
	void *rdata;		/* trailing data, or NULL to discard it */
	size_t rdata_cap;
	/* kernel transport: host buffer a memcpy reads or writes */
	void *data;
	size_t data_len;
	unsigned int data_flags;	/* VGPU_CMD_F_DATA_* */
	/* out */
	uint32_t status;
	uint32_t flags;
	size_t rdata_len;
	/* private to transport.c */
	uint64_t seq;
	uint64_t ctx;
	int done;
	int *err_slot;		/* detached: where a failure status goes */
	struct vgpu_call *next;
};

int vgpu_tp_open(void);
bool vgpu_tp_is_kernel(void);
int vgpu_tp_post(struct vgpu_req_hdr *h, size_t cmd_len, const void *data,
		 size_t data_len);
int vgpu_tp_send(struct vgpu_call *c, struct vgpu_req_hdr *h, size_t cmd_len,
		 const void *data, size_t data_len);
int vgpu_tp_wait(struct vgpu_call *c);
int vgpu_tp_send_detached(struct vgpu_req_hdr *h, size_t cmd_len, int *err_slot);
int vgpu_tp_call(struct vgpu_call *c, struct vgpu_req_hdr *h, size_t cmd_len,
		 const void *data, size_t data_len);
int vgpu_tp_flush(void);
int vgpu_tp_hostmem_alloc(size_t size, void **ptr, uint64_t *region);
int vgpu_tp_hostmem_free(void *ptr, size_t size, uint64_t region);
int vgpu_tp_staging(void **ptr, uint64_t *region, size_t *half);
void vgpu_tp_staging_lock(void);
void vgpu_tp_staging_unlock(void);

/* Fills a request header; @len is the whole request with trailing data. */
static inline void vgpu_hdr(struct vgpu_req_hdr *h, uint32_t cmd, uint64_t ctx,
			    uint64_t stream, size_t len)
{
	h->cmd = cmd;
	h->flags = 0;
	h->len = (uint32_t)len;
	h->reserved = 0;
	h->ctx = ctx;
	h->stream = stream;
	h->seq = 0;
}

/* Round trip with a header-only reply; returns 0 or the device status. */
int vgpu_simple_call(uint32_t cmd, uint64_t ctx, uint64_t stream);

/* ---- init.c / device.c ----------------------------------------------- */

struct vgpu_device_info {
	char name[256];
	unsigned char uuid[16];
	uint64_t total_mem;
	uint32_t driver_version;
	uint64_t features;
	int attrs[VGPU_NUM_ATTRS];
};

extern struct vgpu_device_info vgpu_dev;
extern int vgpu_initialized;	/* set once by cuInit, read without a lock */
int vgpu_check_init(void);
int vgpu_check_device(CUdevice dev);

/* ---- context.c --------------------------------------------------------- */

#define VGPU_MAGIC_CTX		0x76637478u
#define VGPU_MAGIC_MOD		0x766d6f64u
#define VGPU_MAGIC_FUNC		0x7666756eu
#define VGPU_MAGIC_STREAM	0x76737472u
#define VGPU_MAGIC_EVENT	0x76657674u

/* A device range the context owns: an allocation or a module global. */
struct vgpu_range {
	CUdeviceptr base;
	size_t size;
	bool global;
};

struct CUctx_st {
	uint32_t magic;
	uint64_t id;			/* the daemon's context id */
	CUdevice dev;
	unsigned int flags;
	bool primary;
	pthread_mutex_t lock;		/* protects everything below */
	struct vgpu_range *ranges;	/* sorted by base */
	size_t nranges, cap_ranges;
	struct CUmod_st *modules;
	struct CUstream_st *streams;
	struct CUevent_st *events;
	size_t limits[CU_LIMIT_MAX];
	CUfunc_cache cache_config;
	struct CUctx_st *next_dead;	/* context.c's free list */
	int async_err;		/* atomic: failure of a detached request */
};

int vgpu_ctx_current(struct CUctx_st **ctx);
int vgpu_ctx_async_err(struct CUctx_st *ctx, int err);
int vgpu_ctx_check(struct CUctx_st *ctx);
int vgpu_range_add(struct CUctx_st *ctx, CUdeviceptr base, size_t size, bool global);
int vgpu_range_del(struct CUctx_st *ctx, CUdeviceptr base, size_t *size);
void vgpu_range_del_global_locked(struct CUctx_st *ctx, CUdeviceptr base);
bool vgpu_range_find(struct CUctx_st *ctx, CUdeviceptr p, size_t len,
		     CUdeviceptr *base, size_t *size);
void vgpu_ctx_drop_objects(struct CUctx_st *ctx);

/* ---- module.c / launch.c ---------------------------------------------- */

struct CUfunc_st {
	uint32_t magic;
	uint64_t id;
	struct CUmod_st *mod;
	struct CUfunc_st *next;
	char *name;
	uint32_t nparams;
	uint32_t param_bytes;
	struct vgpu_param_info *params;
	int attrs[VGPU_NUM_FUNC_ATTRS];
	int max_dynamic_shared;
	int carveout;
};

struct CUmod_st {
	uint32_t magic;
	uint64_t id;
	struct CUctx_st *ctx;
	struct CUmod_st *next;
	struct CUfunc_st *funcs;
	CUdeviceptr *globals;		/* ranges GLOBAL_GET added, ctx->lock */
	size_t nglobals;
};

int vgpu_image_size(const void *image, size_t *size, uint32_t *kind,
		    const void **start);
void vgpu_module_free(struct CUmod_st *mod);

/* ---- stream.c / event.c ----------------------------------------------- */

struct CUstream_st {
	uint32_t magic;
	uint64_t id;
	struct CUctx_st *ctx;
	struct CUstream_st *next;
	unsigned int flags;
	int priority;
};

struct CUevent_st {
	uint32_t magic;
	uint64_t id;
	struct CUctx_st *ctx;
	struct CUevent_st *next;
	unsigned int flags;
};

/* Resolves a stream handle (NULL and the special handles: stream 0). */
int vgpu_stream_resolve(CUstream s, struct CUctx_st **ctx, uint64_t *sid);

/* ---- memory.c --------------------------------------------------------- */

bool vgpu_pinned_find(const void *p, size_t len, uint64_t *region, uint64_t *off);

/* ---- procaddr.c ------------------------------------------------------- */

struct vgpu_export {
	const char *name;
	void *addr;
};
extern const struct vgpu_export vgpu_exports[];
extern const size_t vgpu_nexports;
void *vgpu_export_lookup(const char *name);

#endif /* VGPU_PRIVATE_H */
