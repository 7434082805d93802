// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /dev/vgpuN: open, release and poll, one context per file.
 */
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "vgpu_drv.h"

static DEFINE_IDA(vgpu_ida);

static void vgpu_file_release_ref(struct kref *ref)
{
	struct vgpu_file *vfile = container_of(ref, struct vgpu_file, ref);
	struct vgpu_device *vgdev = vfile->vgdev;

	WARN_ON_ONCE(!xa_empty(&vfile->batches));
	vgpu_hostbuf_free_all(vfile);
	xa_destroy(&vfile->batches);
	xa_destroy(&vfile->ctxs);
	mutex_destroy(&vfile->submit_lock);
	mutex_destroy(&vfile->hostbuf_lock);
	kfree(vfile);
	vgpu_device_put(vgdev);
}

/**
 * vgpu_file_put() - drop a reference to a file context
 * @vfile: the file context
 *
 * The last reference frees the host buffers and drops the device.
 *
 * Context: process context (may free pages and sleep).
 */
void vgpu_file_put(struct vgpu_file *vfile)
{
	kref_put(&vfile->ref, vgpu_file_release_ref);
}

/**
 * vgpu_file_owns_ctx() - whether a device context was created by a file
 * @vfile: the file
 * @ctx: context id from a request header
 *
 * Context ids are minted per VM, so without this check one process could
 * name another process's context.
 *
 * Return: true if @vfile created @ctx and has not destroyed it.
 */
bool vgpu_file_owns_ctx(struct vgpu_file *vfile, u64 ctx)
{
	return xa_load(&vfile->ctxs, ctx);
}

/**
 * vgpu_file_ctx_created() - record a context from a CTX_CREATE reply
 * @vfile: the file that sent CTX_CREATE
 * @ctx: the new context id
 *
 * If the file was closed meanwhile, nobody can use or destroy the context
 * any more, so it is destroyed here.
 *
 * Context: the completion work; does not sleep.
 */
void vgpu_file_ctx_created(struct vgpu_file *vfile, u64 ctx)
{
	bool closed;
	int ret = 0;

	spin_lock(&vfile->ctx_lock);
	closed = vfile->closed;
	if (!closed)
		ret = xa_err(xa_store(&vfile->ctxs, ctx, xa_mk_value(1),
				      GFP_ATOMIC));
	spin_unlock(&vfile->ctx_lock);

	/* A context the file cannot track could never be destroyed. */
	if (closed || ret)
		vgpu_send_ctx_destroy(vfile->vgdev, ctx);
}

/**
 * vgpu_file_ctx_destroyed() - forget a context after a CTX_DESTROY reply
 * @vfile: the file that sent CTX_DESTROY
 * @ctx: the destroyed context id
 *
 * Context: the completion work; does not sleep.
 */
void vgpu_file_ctx_destroyed(struct vgpu_file *vfile, u64 ctx)
{
	xa_erase(&vfile->ctxs, ctx);
}

static int vgpu_open(struct inode *inode, struct file *filp)
{
	struct vgpu_device *vgdev = container_of(filp->private_data,
						 struct vgpu_device, misc);
	struct vgpu_file *vfile;
	unsigned int q;

	vfile = kzalloc(sizeof(*vfile), GFP_KERNEL_ACCOUNT);
	if (!vfile)
		return -ENOMEM;

	/* misc_open() holds misc_mtx, so remove() cannot free vgdev now. */
	kref_get(&vgdev->ref);
	vfile->vgdev = vgdev;
	kref_init(&vfile->ref);
	mutex_init(&vfile->submit_lock);
	xa_init(&vfile->batches);
	init_waitqueue_head(&vfile->wait);
	spin_lock_init(&vfile->ctx_lock);
	xa_init(&vfile->ctxs);
	mutex_init(&vfile->hostbuf_lock);
	INIT_LIST_HEAD(&vfile->hostbufs);
	/* Offset 0 stays unused so that a zeroed offset never maps. */
	vfile->next_pgoff = 1;

	/* Spread files over the submission queues; queue 0 when alone. */
	q = VGPU_VQ_CONTROL;
	if (vgdev->nvqs > 1)
		q = 1 + (unsigned int)atomic_inc_return(&vgdev->next_vq) %
			(vgdev->nvqs - 1);
	vfile->vq = &vgdev->vqs[q];

	filp->private_data = vfile;
	return nonseekable_open(inode, filp);
}

/*
 * Release does not wait for the device: commands in flight keep their
 * pinned pages and a reference to the file until they complete (or the
 * device is removed), and the contexts the file created are destroyed on
 * the device, which makes vgpud drop everything they own.
 */
static int vgpu_release(struct inode *inode, struct file *filp)
{
	struct vgpu_file *vfile = filp->private_data;
	unsigned long idx;
	void *entry;

	spin_lock(&vfile->ctx_lock);
	vfile->closed = true;
	spin_unlock(&vfile->ctx_lock);

	/*
	 * With closed set nothing is added to ctxs any more; a CTX_DESTROY
	 * completing now may erase an entry too, and whoever erases it owns
	 * it, so each context is destroyed exactly once.
	 */
	xa_for_each(&vfile->ctxs, idx, entry) {
		if (xa_erase(&vfile->ctxs, idx))
			vgpu_send_ctx_destroy(vfile->vgdev, idx);
	}

	vgpu_file_put(vfile);
	return 0;
}

static __poll_t vgpu_poll(struct file *filp, poll_table *wait)
{
	struct vgpu_file *vfile = filp->private_data;
	struct vgpu_device *vgdev = vfile->vgdev;

	poll_wait(filp, &vfile->wait, wait);
	if (READ_ONCE(vgdev->removed))
		return EPOLLERR | EPOLLHUP;
	if (vgpu_file_idle(vfile))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static const struct file_operations vgpu_fops = {
	.owner = THIS_MODULE,
	.open = vgpu_open,
	.release = vgpu_release,
	.unlocked_ioctl = vgpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vgpu_mmap,
	.poll = vgpu_poll,
	.llseek = no_llseek,
};

/**
 * vgpu_dev_register() - create /dev/vgpuN for a probed device
 * @vgdev: the device, rings ready
 *
 * Return: 0 or a negative errno.
 * Context: process context.
 */
int vgpu_dev_register(struct vgpu_device *vgdev)
{
	int ret;

	ret = ida_alloc(&vgpu_ida, GFP_KERNEL);
	if (ret < 0)
		return ret;
	vgdev->index = ret;
	snprintf(vgdev->name, sizeof(vgdev->name), "vgpu%d", vgdev->index);

	vgdev->misc.minor = MISC_DYNAMIC_MINOR;
	vgdev->misc.name = vgdev->name;
	vgdev->misc.fops = &vgpu_fops;
	vgdev->misc.parent = &vgdev->vdev->dev;
	/* Every process may use the GPU; each open is its own context. */
	vgdev->misc.mode = 0666;

	ret = misc_register(&vgdev->misc);
	if (ret) {
		ida_free(&vgpu_ida, vgdev->index);
		return ret;
	}
	return 0;
}

/**
 * vgpu_dev_unregister() - remove /dev/vgpuN; open files stay valid
 * @vgdev: the device
 *
 * Context: process context.
 */
void vgpu_dev_unregister(struct vgpu_device *vgdev)
{
	misc_deregister(&vgdev->misc);
	ida_free(&vgpu_ida, vgdev->index);
}
