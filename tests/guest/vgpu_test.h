/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the guest tests: building requests of the device protocol and
 * submitting them through /dev/vgpuN.
 */
#ifndef VGPU_TEST_H
#define VGPU_TEST_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vgpu_ioctl.h"
#include "vgpu_virtio.h"

#define VGPU_TEST_DEV	"/dev/vgpu0"

/* Fails the test unless @expr returns -1 with errno @err (iommufd style). */
#define ASSERT_ERRNO(err, expr) ({		\
	errno = 0;				\
	ASSERT_EQ(-1, (expr));			\
	ASSERT_EQ(err, errno);			\
})

static inline void vgpu_hdr(struct vgpu_req_hdr *h, __u32 cmd,
			    __u32 len, __u64 ctx, __u64 seq)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->len = len;
	h->ctx = ctx;
	h->seq = seq;
}

/* One command, optionally waiting; returns ioctl()'s result. */
static inline int vgpu_submit1(int fd, const void *req, __u32 req_len,
			       void *resp, __u32 resp_len,
			       __u32 cmd_flags, void *data,
			       __u64 data_len, __u32 flags,
			       __u64 *fence)
{
	struct vgpu_submit_cmd c = {
		.req = (uintptr_t)req,
		.req_len = req_len,
		.flags = cmd_flags,
		.resp = (uintptr_t)resp,
		.resp_len = resp_len,
		.data = (uintptr_t)data,
		.data_len = data_len,
	};
	struct vgpu_submit s = {
		.cmds = (uintptr_t)&c,
		.count = 1,
		.flags = flags,
	};
	int ret = ioctl(fd, VGPU_IOCTL_SUBMIT, &s);

	if (fence)
		*fence = s.fence;
	return ret;
}

/* A synchronous command without data; returns the reply status or -1. */
static inline int vgpu_call(int fd, const void *req, __u32 req_len,
			    void *resp, __u32 resp_len)
{
	memset(resp, 0xa5, resp_len);
	if (vgpu_submit1(fd, req, req_len, resp, resp_len, 0, NULL, 0,
			 VGPU_SUBMIT_F_WAIT, NULL))
		return -1;
	return ((struct vgpu_resp_hdr *)resp)->status;
}

static inline int vgpu_ctx_create(int fd, __u64 *ctx)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_id resp;
	int st;

	vgpu_hdr(&req, VGPU_CMD_CTX_CREATE, sizeof(req), 0, 1);
	st = vgpu_call(fd, &req, sizeof(req), &resp, sizeof(resp));
	if (st == 0)
		*ctx = resp.id;
	return st;
}

static inline int vgpu_ctx_destroy(int fd, __u64 ctx)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;

	vgpu_hdr(&req, VGPU_CMD_CTX_DESTROY, sizeof(req), ctx, 2);
	return vgpu_call(fd, &req, sizeof(req), &resp, sizeof(resp));
}

static inline int vgpu_mem_alloc(int fd, __u64 ctx, __u64 size,
				 __u64 *dptr)
{
	struct vgpu_cmd_mem req = { .size = size };
	struct vgpu_resp_mem resp;
	int st;

	vgpu_hdr(&req.hdr, VGPU_CMD_MEM_ALLOC, sizeof(req), ctx, 3);
	st = vgpu_call(fd, &req, sizeof(req), &resp, sizeof(resp));
	if (st == 0)
		*dptr = resp.dptr;
	return st;
}

static inline void vgpu_memcpy_req(struct vgpu_cmd_memcpy *mc, __u32 cmd,
				   __u64 ctx, __u64 dptr, __u64 size)
{
	memset(mc, 0, sizeof(*mc));
	vgpu_hdr(&mc->hdr, cmd, sizeof(*mc), ctx, 4);
	mc->dptr = dptr;
	mc->size = size;
	mc->region = VGPU_REGION_SG;
}

/* A copy through pinned pages; returns the reply status or -1. */
static inline int vgpu_copy(int fd, __u32 cmd, __u64 ctx,
			    __u64 dptr, void *buf, __u64 len)
{
	struct vgpu_cmd_memcpy mc;
	struct vgpu_resp_hdr resp;

	vgpu_memcpy_req(&mc, cmd, ctx, dptr, len);
	memset(&resp, 0xa5, sizeof(resp));
	if (vgpu_submit1(fd, &mc, sizeof(mc), &resp, sizeof(resp),
			 cmd == VGPU_CMD_MEMCPY_HTOD ? VGPU_CMD_F_DATA_IN :
						       VGPU_CMD_F_DATA_OUT,
			 buf, len, VGPU_SUBMIT_F_WAIT, NULL))
		return -1;
	return resp.status;
}

#endif /* VGPU_TEST_H */
