// SPDX-License-Identifier: MIT
/*
 * stream.c - stream management.
 *
 * NULL, CU_STREAM_LEGACY and CU_STREAM_PER_THREAD all name stream 0 of the
 * current context: vgpud gives each context one default stream and the
 * library does not model the per-thread default stream separately.
 */
#include <stdlib.h>

#include "vgpu.h"

/**
 * vgpu_stream_resolve() - the context and daemon stream id of a handle
 * @s: a stream handle, NULL, CU_STREAM_LEGACY or CU_STREAM_PER_THREAD
 * @ctx: out, the context the work goes to
 * @sid: out, the daemon's stream id (0: the default stream)
 *
 * Return: 0, -ENOTCONN, -ESRCH (no context) or -EBADF (bad handle).
 */
int vgpu_stream_resolve(CUstream s, struct CUctx_st **ctx, uint64_t *sid)
{
	int err;

	if (!s || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) {
		*sid = 0;
		return vgpu_ctx_current(ctx);
	}
	err = vgpu_check_init();
	if (err)
		return err;
	if (s->magic != VGPU_MAGIC_STREAM)
		return -EBADF;
	err = vgpu_ctx_check(s->ctx);
	if (err)
		return err;
	*ctx = s->ctx;
	*sid = s->id;
	return 0;
}

static int stream_create(CUstream *ph, unsigned int flags, int priority)
{
	struct vgpu_cmd_create cmd = { 0 };
	struct vgpu_resp_id r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	struct CUstream_st *s;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!ph || (flags & ~CU_STREAM_NON_BLOCKING)))
		err = -EINVAL;
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_STREAM_CREATE, ctx->id, 0, sizeof(cmd));
	cmd.flags = flags;
	cmd.priority = (uint32_t)priority;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	if (err) {
		free(s);
		return err;
	}
	s->magic = VGPU_MAGIC_STREAM;
	s->id = r.id;
	s->ctx = ctx;
	s->flags = flags;
	s->priority = priority;
	pthread_mutex_lock(&ctx->lock);
	s->next = ctx->streams;
	ctx->streams = s;
	pthread_mutex_unlock(&ctx->lock);
	*ph = s;
	return 0;
}

VGPU_API CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	return vgpu_result(stream_create(phStream, Flags, 0));
}

VGPU_API CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags,
					     int priority)
{
	/* Priorities 0 (least) to -1 (greatest), as cuCtxGetStreamPriorityRange
	 * would report; others are clamped, as the reference allows. */
	if (priority > 0)
		priority = 0;
	if (priority < -1)
		priority = -1;
	return vgpu_result(stream_create(phStream, flags, priority));
}

VGPU_API CUresult cuStreamDestroy_v2(CUstream hStream)
{
	struct CUstream_st **pp;
	struct CUctx_st *ctx;
	uint64_t sid;
	int err;

	if (!hStream || hStream == CU_STREAM_LEGACY || hStream == CU_STREAM_PER_THREAD)
		return vgpu_check_init() ? CUDA_ERROR_NOT_INITIALIZED :
		       CUDA_ERROR_INVALID_HANDLE;
	err = vgpu_stream_resolve(hStream, &ctx, &sid);
	if (err)
		return vgpu_result(err);
	err = vgpu_simple_call(VGPU_CMD_STREAM_DESTROY, ctx->id, sid);
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->streams; *pp; pp = &(*pp)->next) {
		if (*pp == hStream) {
			*pp = hStream->next;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	hStream->magic = 0;
	free(hStream);
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamDestroy, cuStreamDestroy_v2);

VGPU_API CUresult cuStreamSynchronize(CUstream hStream)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (err)
		return vgpu_result(err);
	err = vgpu_simple_call(VGPU_CMD_STREAM_SYNC, ctx->id, sid);
	return vgpu_result(vgpu_ctx_async_err(ctx, err));
}
VGPU_ALIAS(cuStreamSynchronize_ptsz, cuStreamSynchronize);

VGPU_API CUresult cuStreamQuery(CUstream hStream)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err)
		err = vgpu_simple_call(VGPU_CMD_STREAM_QUERY, ctx->id, sid);
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamQuery_ptsz, cuStreamQuery);

VGPU_API CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
{
	struct vgpu_cmd_id cmd;
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err && (!hEvent || hEvent->magic != VGPU_MAGIC_EVENT))
		err = -EBADF;
	if (!err && (Flags & ~CU_EVENT_WAIT_EXTERNAL))
		err = -EINVAL;
	if (!err && hEvent->ctx != ctx)
		err = -EBADF;
	if (err)
		return vgpu_result(err);
	vgpu_hdr(&cmd.hdr, VGPU_CMD_STREAM_WAIT_EVENT, ctx->id, sid, sizeof(cmd));
	cmd.id = hEvent->id;
	return vgpu_result(vgpu_tp_post(&cmd.hdr, sizeof(cmd), NULL, 0));
}
VGPU_ALIAS(cuStreamWaitEvent_ptsz, cuStreamWaitEvent);

VGPU_API CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err && !flags)
		err = -EINVAL;
	if (!err)
		*flags = sid ? hStream->flags : 0;
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamGetFlags_ptsz, cuStreamGetFlags);

VGPU_API CUresult cuStreamGetPriority(CUstream hStream, int *priority)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err && !priority)
		err = -EINVAL;
	if (!err)
		*priority = sid ? hStream->priority : 0;
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamGetPriority_ptsz, cuStreamGetPriority);

VGPU_API CUresult cuStreamGetId(CUstream hStream, unsigned long long *streamId)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err && !streamId)
		err = -EINVAL;
	if (!err)
		*streamId = sid;
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamGetId_ptsz, cuStreamGetId);

VGPU_API CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = vgpu_stream_resolve(hStream, &ctx, &sid);

	if (!err && !pctx)
		err = -EINVAL;
	if (!err)
		*pctx = ctx;
	return vgpu_result(err);
}
VGPU_ALIAS(cuStreamGetCtx_ptsz, cuStreamGetCtx);

VGPU_API CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
	struct CUctx_st *ctx;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return vgpu_result(err);
	if (leastPriority)
		*leastPriority = 0;
	if (greatestPriority)
		*greatestPriority = -1;
	return CUDA_SUCCESS;
}
