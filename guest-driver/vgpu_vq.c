// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command submission and completion on the virtqueues, fences.
 */
#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_ring.h>

#include "vgpu_drv.h"

/* Descriptors a command takes when it is not put in an indirect table. */
static unsigned int vgpu_cmd_ndesc(struct vgpu_cmd *vcmd)
{
	return vcmd->req.nchunks + vcmd->tbl.nchunks + vcmd->resp.nchunks;
}

static unsigned int vgpu_cmd_need(struct vgpu_device *vgdev,
				  struct vgpu_cmd *vcmd)
{
	if (virtio_has_feature(vgdev->vdev, VIRTIO_RING_F_INDIRECT_DESC))
		return 1;
	return vgpu_cmd_ndesc(vcmd);
}

/**
 * vgpu_vq_fits() - whether a command can ever be placed on a queue
 * @vgdev: the device
 * @q: the queue
 * @vcmd: the prepared command
 *
 * Without indirect descriptors a chain longer than the ring would wait for
 * space forever.
 *
 * Return: true if it fits.
 */
/**
 * vgpu_cmd_take_seq() - give a command a sequence number unique to the device
 * @vgdev: the device
 * @vcmd: a command whose request header is in the kernel copy
 *
 * The device matches deferred replies to requests by sequence number, and
 * every process of the VM shares the device: numbers chosen by user space
 * would collide, and one process's reply would land in another's buffer.
 * The caller's own number is kept and put back into the reply.
 *
 * Context: any.
 */
void vgpu_cmd_take_seq(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd)
{
	struct vgpu_req_hdr *hdr = vcmd->req.chunks[0].p;

	vcmd->user_seq = hdr->seq;
	hdr->seq = cpu_to_le64(atomic64_inc_return(&vgdev->next_seq));
}

bool vgpu_vq_fits(struct vgpu_device *vgdev, struct vgpu_vq *q,
		  struct vgpu_cmd *vcmd)
{
	return vgpu_cmd_need(vgdev, vcmd) <= virtqueue_get_vring_size(q->vq);
}

static int vgpu_vq_add_locked(struct vgpu_vq *q, struct vgpu_cmd *vcmd)
{
	struct scatterlist *sgs[3];
	unsigned int out = 0, in = 0;

	sgs[out++] = vcmd->req.sgt.sgl;
	if (vcmd->tbl.len)
		sgs[out++] = vcmd->tbl.sgt.sgl;
	if (vcmd->resp.len)
		sgs[out + in++] = vcmd->resp.sgt.sgl;
	return virtqueue_add_sgs(q->vq, sgs, out, in, vcmd, GFP_ATOMIC);
}

static void vgpu_vq_kick(struct vgpu_vq *q)
{
	bool notify;

	spin_lock(&q->lock);
	notify = virtqueue_kick_prepare(q->vq);
	spin_unlock(&q->lock);
	if (notify)
		virtqueue_notify(q->vq);
}

/*
 * Put one command on @q, sleeping (killably) while the ring is full.  The
 * device is kicked before sleeping, since the commands that fill the ring
 * may not have been announced yet.
 */
static int vgpu_vq_add(struct vgpu_device *vgdev, struct vgpu_vq *q,
		       struct vgpu_cmd *vcmd)
{
	unsigned int need = vgpu_cmd_need(vgdev, vcmd);
	int ret;

	for (;;) {
		spin_lock(&q->lock);
		ret = vgpu_vq_add_locked(q, vcmd);
		spin_unlock(&q->lock);
		if (ret != -ENOSPC)
			return ret;

		vgpu_vq_kick(q);
		ret = wait_event_killable(q->space,
					  READ_ONCE(vgdev->dying) ||
					  READ_ONCE(q->vq->num_free) >= need);
		if (ret)
			return -EINTR;
		if (READ_ONCE(vgdev->dying))
			return -ENODEV;
	}
}

static void vgpu_batch_done(struct vgpu_batch *batch)
{
	struct vgpu_file *vfile = batch->file;

	xa_erase(&vfile->batches, batch->fence);
	wake_up_all(&vfile->wait);
	kfree(batch);
	vgpu_file_put(vfile);
}

/*
 * Reply bookkeeping the driver itself needs: which contexts a file owns.
 * The status and id are read from the kernel copy of the reply, so user
 * space cannot fake them.
 */
static void vgpu_cmd_track(struct vgpu_cmd *vcmd, u32 len)
{
	const struct vgpu_resp_hdr *rh = vcmd->resp.chunks[0].p;
	const struct vgpu_resp_id *rid = vcmd->resp.chunks[0].p;

	if (!vcmd->file || len < sizeof(*rh) ||
	    le32_to_cpu(rh->status) != VGPU_S_OK)
		return;
	if (vcmd->cmd == VGPU_CMD_CTX_CREATE && len >= sizeof(*rid))
		vgpu_file_ctx_created(vcmd->file, le64_to_cpu(rid->id));
	else if (vcmd->cmd == VGPU_CMD_CTX_DESTROY)
		vgpu_file_ctx_destroyed(vcmd->file, vcmd->ctx);
}

/*
 * Finish one command: check what the device says it wrote, hand the reply
 * to user space, unpin, and signal the batch's fence when it was the last.
 */
static void vgpu_cmd_done(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd,
			  int err)
{
	struct vgpu_batch *batch = vcmd->batch;
	u32 len = vcmd->used_len;

	if (!err && vcmd->resp.len) {
		if (len > vcmd->resp.len) {
			dev_err_ratelimited(&vgdev->vdev->dev,
					    "device wrote %u bytes into a %zu-byte reply to command 0x%x\n",
					    len, vcmd->resp.len, vcmd->cmd);
			len = vcmd->resp.len;
		}
		if (len >= sizeof(struct vgpu_resp_hdr)) {
			struct vgpu_resp_hdr *rh = vcmd->resp.chunks[0].p;

			rh->seq = vcmd->user_seq;
			if (le32_to_cpu(rh->len) > len)
				dev_err_ratelimited(&vgdev->vdev->dev,
						    "reply to command 0x%x claims %u bytes, device wrote %u\n",
						    vcmd->cmd,
						    le32_to_cpu(rh->len), len);
			if (!batch && le32_to_cpu(rh->status) != VGPU_S_OK)
				dev_err_ratelimited(&vgdev->vdev->dev,
						    "internal command 0x%x failed: status %u\n",
						    vcmd->cmd,
						    le32_to_cpu(rh->status));
		}
		if (vcmd->resp_pages)
			vgpu_cmd_copy_reply(vcmd, len);
		vgpu_cmd_track(vcmd, len);
	}

	vgpu_cmd_free(vcmd);
	if (batch && atomic_dec_and_test(&batch->pending))
		vgpu_batch_done(batch);
}

/**
 * vgpu_vq_callback() - virtqueue interrupt: defer to the completion work
 * @vq: the queue that has used buffers
 *
 * Completing a command unpins pages, which may sleep, so nothing is done
 * in interrupt context.
 *
 * Context: hard interrupt.
 */
void vgpu_vq_callback(struct virtqueue *vq)
{
	struct vgpu_device *vgdev = vq->vdev->priv;

	schedule_work(&vgdev->done_work);
}

/**
 * vgpu_done_work() - complete every used buffer of every queue
 * @work: vgpu_device.done_work
 *
 * Also retries the control queue's backlog, since this is where space
 * becomes free.
 *
 * Context: workqueue.
 */
void vgpu_done_work(struct work_struct *work)
{
	struct vgpu_device *vgdev = container_of(work, struct vgpu_device,
						 done_work);
	struct vgpu_cmd *vcmd, *tmp;
	unsigned int i, len;

	for (i = 0; i < vgdev->nvqs; i++) {
		struct vgpu_vq *q = &vgdev->vqs[i];
		bool got = false, notify = false;
		LIST_HEAD(done);

		spin_lock(&q->lock);
		do {
			virtqueue_disable_cb(q->vq);
			while ((vcmd = virtqueue_get_buf(q->vq, &len))) {
				vcmd->used_len = len;
				list_add_tail(&vcmd->list, &done);
				got = true;
			}
			if (unlikely(virtqueue_is_broken(q->vq)))
				break;
		} while (!virtqueue_enable_cb(q->vq));

		list_for_each_entry_safe(vcmd, tmp, &q->backlog, list) {
			if (vgpu_vq_add_locked(q, vcmd))
				break;
			list_del(&vcmd->list);
			notify = true;
		}
		if (notify)
			notify = virtqueue_kick_prepare(q->vq);
		spin_unlock(&q->lock);

		if (notify)
			virtqueue_notify(q->vq);
		if (got)
			wake_up_all(&q->space);
		list_for_each_entry_safe(vcmd, tmp, &done, list) {
			list_del(&vcmd->list);
			vgpu_cmd_done(vgdev, vcmd, 0);
		}
	}
}

/**
 * vgpu_vq_abort_all() - complete every command still on a ring with an error
 * @vgdev: the device, already reset so that it no longer uses the rings
 *
 * Context: process context, from remove().
 */
void vgpu_vq_abort_all(struct vgpu_device *vgdev)
{
	struct vgpu_cmd *vcmd, *tmp;
	unsigned int i;

	for (i = 0; i < vgdev->nvqs; i++) {
		struct vgpu_vq *q = &vgdev->vqs[i];
		LIST_HEAD(aborted);

		spin_lock(&q->lock);
		while ((vcmd = virtqueue_detach_unused_buf(q->vq)))
			list_add_tail(&vcmd->list, &aborted);
		list_splice_tail_init(&q->backlog, &aborted);
		spin_unlock(&q->lock);

		list_for_each_entry_safe(vcmd, tmp, &aborted, list) {
			list_del(&vcmd->list);
			vgpu_cmd_done(vgdev, vcmd, -ENODEV);
		}
		wake_up_all(&q->space);
	}
}

/**
 * vgpu_submit_batch() - put a batch of prepared commands on the file's queue
 * @vfile: the submitting file
 * @cmds: @count prepared commands; ownership passes to this function
 * @count: number of commands, at least one
 * @fence: out, the batch's fence (set whenever a command was queued)
 *
 * The device is kicked once for the whole batch.  If the ring fills up the
 * caller sleeps until the device frees space; if it is killed meanwhile, the
 * commands not yet queued are dropped and those queued complete normally.
 *
 * Return: 0, -ENODEV after removal, -EINTR when killed, -ENOMEM.
 * Context: process context; takes vgdev->remove_lock and vfile->submit_lock.
 */
int vgpu_submit_batch(struct vgpu_file *vfile, struct vgpu_cmd **cmds,
		      unsigned int count, u64 *fence)
{
	struct vgpu_device *vgdev = vfile->vgdev;
	struct vgpu_vq *q = vfile->vq;
	struct vgpu_batch *batch;
	unsigned int i;
	int ret = 0;

	batch = kzalloc(sizeof(*batch), GFP_KERNEL_ACCOUNT);
	if (!batch) {
		ret = -ENOMEM;
		goto free_cmds;
	}

	down_read(&vgdev->remove_lock);
	if (vgdev->removed) {
		ret = -ENODEV;
		goto unlock_remove;
	}

	/* Another thread of this file may be waiting for ring space. */
	if (mutex_lock_killable(&vfile->submit_lock)) {
		ret = -EINTR;
		goto unlock_remove;
	}
	batch->file = vfile;
	batch->fence = vfile->next_fence + 1;
	atomic_set(&batch->pending, count);
	ret = xa_insert(&vfile->batches, batch->fence, batch,
			GFP_KERNEL_ACCOUNT);
	if (ret)
		goto unlock_submit;
	WRITE_ONCE(vfile->next_fence, batch->fence);
	kref_get(&vfile->ref);
	*fence = batch->fence;

	for (i = 0; i < count; i++) {
		cmds[i]->batch = batch;
		cmds[i]->file = vfile;
	}
	for (i = 0; i < count; i++) {
		ret = vgpu_vq_add(vgdev, q, cmds[i]);
		if (ret)
			break;
	}
	vgpu_vq_kick(q);
	if (ret) {
		if (ret != -EINTR)
			dev_err_ratelimited(&vgdev->vdev->dev,
					    "cannot queue command: %d\n", ret);
		/* Completing the last of them signals the fence. */
		for (; i < count; i++)
			vgpu_cmd_done(vgdev, cmds[i], ret);
	}
	mutex_unlock(&vfile->submit_lock);
	up_read(&vgdev->remove_lock);
	return ret;

unlock_submit:
	mutex_unlock(&vfile->submit_lock);
unlock_remove:
	up_read(&vgdev->remove_lock);
	kfree(batch);
free_cmds:
	for (i = 0; i < count; i++)
		vgpu_cmd_free(cmds[i]);
	return ret;
}

/**
 * vgpu_file_idle() - whether every fence of a file has signalled
 * @vfile: the file
 *
 * Return: true when no batch is in flight.
 */
bool vgpu_file_idle(struct vgpu_file *vfile)
{
	return xa_empty(&vfile->batches);
}

/**
 * vgpu_fence_wait() - wait until a batch of this file has completed
 * @vfile: the file that issued @fence
 * @fence: the fence
 * @timeout_ns: relative timeout; 0 polls, negative waits without limit
 *
 * Fences signal in completion order, which need not be submission order
 * (a stream synchronization is answered late), so each fence is looked up
 * on its own rather than compared with a counter.
 *
 * Return: 0 when signalled, -EINVAL for a fence this file never issued,
 * -ETIME on timeout, -EINTR on a signal, -ENODEV after device removal.
 * Context: process context.
 */
int vgpu_fence_wait(struct vgpu_file *vfile, u64 fence, s64 timeout_ns)
{
	struct vgpu_device *vgdev = vfile->vgdev;
	long ret;

	if (!fence || fence > READ_ONCE(vfile->next_fence))
		return -EINVAL;

#define vgpu_fence_signalled() \
	(!xa_load(&vfile->batches, fence) || READ_ONCE(vgdev->removed))

	if (timeout_ns < 0) {
		ret = wait_event_interruptible(vfile->wait,
					       vgpu_fence_signalled());
		if (ret)
			return -EINTR;
	} else if (timeout_ns == 0) {
		if (!vgpu_fence_signalled())
			return -ETIME;
	} else {
		u64 j = nsecs_to_jiffies64(timeout_ns);

		j = clamp_t(u64, j, 1, MAX_SCHEDULE_TIMEOUT - 1);
		ret = wait_event_interruptible_timeout(vfile->wait,
						       vgpu_fence_signalled(),
						       (long)j);
		if (ret < 0)
			return -EINTR;
		if (ret == 0)
			return -ETIME;
	}
#undef vgpu_fence_signalled

	return READ_ONCE(vgdev->removed) ? -ENODEV : 0;
}

/**
 * vgpu_send_ctx_destroy() - destroy a device context no file can reach
 * @vgdev: the device
 * @ctx: the context id
 *
 * Sent on the control queue without waiting for the reply.  When the ring
 * is full the command waits on the queue's backlog for the completion work.
 *
 * Return: 0, -ENODEV after removal, or -ENOMEM.
 * Context: process context (release or the completion work).
 */
int vgpu_send_ctx_destroy(struct vgpu_device *vgdev, u64 ctx)
{
	struct vgpu_vq *q = &vgdev->vqs[VGPU_VQ_CONTROL];
	struct vgpu_req_hdr *hdr;
	struct vgpu_cmd *vcmd;
	bool queued = false;
	int ret = -ENOMEM;

	vcmd = kzalloc(sizeof(*vcmd), GFP_KERNEL);
	if (!vcmd)
		goto err;
	vcmd->cmd = VGPU_CMD_CTX_DESTROY;
	vcmd->ctx = ctx;
	if (vgpu_buf_alloc(&vcmd->req, sizeof(*hdr), GFP_KERNEL | __GFP_ZERO) ||
	    vgpu_buf_alloc(&vcmd->resp, sizeof(struct vgpu_resp_hdr),
			   GFP_KERNEL | __GFP_ZERO))
		goto free_cmd;
	hdr = vcmd->req.chunks[0].p;
	hdr->cmd = cpu_to_le32(VGPU_CMD_CTX_DESTROY);
	hdr->len = cpu_to_le32(sizeof(*hdr));
	hdr->ctx = cpu_to_le64(ctx);
	vgpu_cmd_take_seq(vgdev, vcmd);

	down_read(&vgdev->remove_lock);
	if (vgdev->removed) {
		up_read(&vgdev->remove_lock);
		ret = -ENODEV;
		goto free_cmd;
	}
	spin_lock(&q->lock);
	/* Keep order with what already waits in the backlog. */
	if (list_empty(&q->backlog)) {
		ret = vgpu_vq_add_locked(q, vcmd);
		queued = !ret;
	} else {
		ret = -ENOSPC;
	}
	if (ret == -ENOSPC) {
		list_add_tail(&vcmd->list, &q->backlog);
		ret = 0;
		queued = true;
	}
	spin_unlock(&q->lock);
	up_read(&vgdev->remove_lock);
	if (!queued)
		goto free_cmd;
	vgpu_vq_kick(q);
	return 0;

free_cmd:
	vgpu_cmd_free(vcmd);
err:
	dev_err_ratelimited(&vgdev->vdev->dev,
			    "cannot destroy context %llu: %d\n", ctx, ret);
	return ret;
}
