// SPDX-License-Identifier: MIT
/*
 * event.c - event management: creation, recording on a stream, waiting
 * and timing.
 */
#include <stdlib.h>

#include "vgpu.h"

static int check_event(CUevent e)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	if (!e || e->magic != VGPU_MAGIC_EVENT)
		return -EBADF;
	return vgpu_ctx_check(e->ctx);
}

static int event_call(uint32_t op, CUevent e)
{
	struct vgpu_cmd_id cmd;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };

	vgpu_hdr(&cmd.hdr, op, e->ctx->id, 0, sizeof(cmd));
	cmd.id = e->id;
	return vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
}

VGPU_API CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	struct vgpu_cmd_create cmd = { 0 };
	struct vgpu_resp_id r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	struct CUevent_st *e;
	int err = vgpu_ctx_current(&ctx);

	if (!err && (!phEvent || (Flags & ~(CU_EVENT_BLOCKING_SYNC |
					     CU_EVENT_DISABLE_TIMING |
					     CU_EVENT_INTERPROCESS))))
		err = -EINVAL;
	/* Interprocess events must also disable timing, as in CUDA. */
	if (!err && (Flags & CU_EVENT_INTERPROCESS) && !(Flags & CU_EVENT_DISABLE_TIMING))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	e = calloc(1, sizeof(*e));
	if (!e)
		return CUDA_ERROR_OUT_OF_MEMORY;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_EVENT_CREATE, ctx->id, 0, sizeof(cmd));
	cmd.flags = Flags;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	if (err) {
		free(e);
		return vgpu_result(err);
	}
	e->magic = VGPU_MAGIC_EVENT;
	e->id = r.id;
	e->ctx = ctx;
	e->flags = Flags;
	pthread_mutex_lock(&ctx->lock);
	e->next = ctx->events;
	ctx->events = e;
	pthread_mutex_unlock(&ctx->lock);
	*phEvent = e;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuEventDestroy_v2(CUevent hEvent)
{
	struct CUevent_st **pp;
	struct CUctx_st *ctx;
	int err = check_event(hEvent);

	if (err)
		return vgpu_result(err);
	ctx = hEvent->ctx;
	err = event_call(VGPU_CMD_EVENT_DESTROY, hEvent);
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->events; *pp; pp = &(*pp)->next) {
		if (*pp == hEvent) {
			*pp = hEvent->next;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	hEvent->magic = 0;
	free(hEvent);
	return vgpu_result(err);
}
VGPU_ALIAS(cuEventDestroy, cuEventDestroy_v2);

VGPU_API CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
{
	struct vgpu_cmd_id cmd;
	struct CUctx_st *ctx;
	uint64_t sid;
	int err = check_event(hEvent);

	if (!err)
		err = vgpu_stream_resolve(hStream, &ctx, &sid);
	if (!err && ctx != hEvent->ctx)
		err = -EBADF;
	if (err)
		return vgpu_result(err);
	vgpu_hdr(&cmd.hdr, VGPU_CMD_EVENT_RECORD, ctx->id, sid, sizeof(cmd));
	cmd.id = hEvent->id;
	return vgpu_result(vgpu_tp_post(&cmd.hdr, sizeof(cmd), NULL, 0));
}
VGPU_ALIAS(cuEventRecord_ptsz, cuEventRecord);

VGPU_API CUresult cuEventSynchronize(CUevent hEvent)
{
	int err = check_event(hEvent);

	if (!err)
		err = vgpu_ctx_async_err(hEvent->ctx,
					 event_call(VGPU_CMD_EVENT_SYNC, hEvent));
	return vgpu_result(err);
}

VGPU_API CUresult cuEventQuery(CUevent hEvent)
{
	int err = check_event(hEvent);

	if (!err)
		err = event_call(VGPU_CMD_EVENT_QUERY, hEvent);
	return vgpu_result(err);
}

VGPU_API CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
	struct vgpu_cmd_elapsed cmd;
	struct vgpu_resp_elapsed r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	int err = check_event(hStart);

	if (!err)
		err = check_event(hEnd);
	if (!err && !pMilliseconds)
		err = -EINVAL;
	if (!err && hStart->ctx != hEnd->ctx)
		err = -EBADF;
	if (err)
		return vgpu_result(err);
	vgpu_hdr(&cmd.hdr, VGPU_CMD_EVENT_ELAPSED, hStart->ctx->id, 0, sizeof(cmd));
	cmd.start = hStart->id;
	cmd.end = hEnd->id;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	if (!err)
		/* Signed: an end recorded before the start gives a negative time. */
		*pMilliseconds = (float)((double)(int64_t)r.ns / 1e6);
	return vgpu_result(err);
}
VGPU_ALIAS(cuEventElapsedTime, cuEventElapsedTime_v2);
