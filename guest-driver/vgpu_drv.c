// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vgpu_virtio module: the virtio driver, probe and remove.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vgpu_drv.h"

static void vgpu_device_release(struct kref *ref)
{
	struct vgpu_device *vgdev = container_of(ref, struct vgpu_device, ref);

	kfree(vgdev->vqs);
	kfree(vgdev);
}

/**
 * vgpu_device_put() - drop a reference to a device
 * @vgdev: the device
 *
 * Context: process context.
 */
void vgpu_device_put(struct vgpu_device *vgdev)
{
	kref_put(&vgdev->ref, vgpu_device_release);
}

/*
 * Read and sanity-check the config space.  The host is trusted, but a
 * value that would make the driver allocate without bound or index past an
 * array is refused rather than believed.
 */
static int vgpu_read_config(struct vgpu_device *vgdev)
{
	struct virtio_device *vdev = vgdev->vdev;
	u32 nq, max_sg, max_req;

	virtio_cread_le(vdev, struct vgpu_virtio_config, version,
			&vgdev->version);
	virtio_cread_le(vdev, struct vgpu_virtio_config, num_queues, &nq);
	virtio_cread_le(vdev, struct vgpu_virtio_config, total_mem,
			&vgdev->total_mem);
	virtio_cread_le(vdev, struct vgpu_virtio_config, max_sg, &max_sg);
	virtio_cread_le(vdev, struct vgpu_virtio_config, max_req_size,
			&max_req);
	virtio_cread_bytes(vdev, offsetof(struct vgpu_virtio_config, name),
			   vgdev->dev_name, sizeof(vgdev->dev_name));
	vgdev->dev_name[sizeof(vgdev->dev_name) - 1] = '\0';

	if (vgdev->version != VGPU_PROTOCOL_VERSION) {
		dev_err(&vdev->dev, "unsupported protocol version %u\n",
			vgdev->version);
		return -ENODEV;
	}
	if (nq < 1 || nq > VGPU_MAX_QUEUES) {
		dev_err(&vdev->dev, "bad number of queues %u\n", nq);
		return -ENODEV;
	}
	if (max_req < sizeof(struct vgpu_req_hdr)) {
		dev_err(&vdev->dev, "bad max_req_size %u\n", max_req);
		return -ENODEV;
	}
	vgdev->nvqs = nq;
	vgdev->max_sg = clamp_t(u32, max_sg, 1, VGPU_MAX_SG);
	vgdev->max_req_size = min_t(u32, max_req, VGPU_MAX_REQ_SIZE);
	return 0;
}

static int vgpu_init_vqs(struct vgpu_device *vgdev)
{
	struct virtqueue **vqs;
	vq_callback_t **cbs;
	const char **names;
	char (*namebuf)[16];
	unsigned int i;
	int ret = -ENOMEM;

	vgdev->vqs = kcalloc(vgdev->nvqs, sizeof(*vgdev->vqs), GFP_KERNEL);
	vqs = kcalloc(vgdev->nvqs, sizeof(*vqs), GFP_KERNEL);
	cbs = kcalloc(vgdev->nvqs, sizeof(*cbs), GFP_KERNEL);
	names = kcalloc(vgdev->nvqs, sizeof(*names), GFP_KERNEL);
	namebuf = kcalloc(vgdev->nvqs, sizeof(*namebuf), GFP_KERNEL);
	if (!vgdev->vqs || !vqs || !cbs || !names || !namebuf)
		goto free_arrays;

	for (i = 0; i < vgdev->nvqs; i++) {
		if (i == VGPU_VQ_CONTROL)
			strscpy(namebuf[i], "control", sizeof(namebuf[i]));
		else
			snprintf(namebuf[i], sizeof(namebuf[i]), "submit.%u",
				 i - 1);
		names[i] = namebuf[i];
		cbs[i] = vgpu_vq_callback;
	}

	/*
	 * virtio_find_vqs() keeps the name pointers only for the lifetime of
	 * the interrupts' names, which it copies; the buffer can go.
	 */
	ret = virtio_find_vqs(vgdev->vdev, vgdev->nvqs, vqs, cbs, names, NULL);
	if (ret)
		goto free_arrays;

	for (i = 0; i < vgdev->nvqs; i++) {
		struct vgpu_vq *q = &vgdev->vqs[i];

		q->vq = vqs[i];
		spin_lock_init(&q->lock);
		init_waitqueue_head(&q->space);
		INIT_LIST_HEAD(&q->backlog);
	}

free_arrays:
	kfree(namebuf);
	kfree(names);
	kfree(cbs);
	kfree(vqs);
	return ret;
}

static int vgpu_probe(struct virtio_device *vdev)
{
	struct vgpu_device *vgdev;
	int ret;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "device is not virtio 1.0\n");
		return -ENODEV;
	}

	vgdev = kzalloc(sizeof(*vgdev), GFP_KERNEL);
	if (!vgdev)
		return -ENOMEM;
	vgdev->vdev = vdev;
	kref_init(&vgdev->ref);
	init_rwsem(&vgdev->remove_lock);
	INIT_WORK(&vgdev->done_work, vgpu_done_work);
	vdev->priv = vgdev;

	ret = vgpu_read_config(vgdev);
	if (ret)
		goto put_dev;

	ret = vgpu_init_vqs(vgdev);
	if (ret)
		goto put_dev;

	virtio_device_ready(vdev);

	ret = vgpu_dev_register(vgdev);
	if (ret)
		goto reset_dev;

	dev_info(&vdev->dev, "%s: \"%s\", %u queues, %llu MiB, max_sg %u\n",
		 vgdev->name, vgdev->dev_name, vgdev->nvqs,
		 vgdev->total_mem >> 20, vgdev->max_sg);
	return 0;

reset_dev:
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
put_dev:
	vdev->priv = NULL;
	vgpu_device_put(vgdev);
	return ret;
}

/*
 * Remove with files still open: no new opens (misc device gone), no ioctl
 * touches a ring once @removed is set, the device is reset so it writes
 * nothing more, and every command still on a ring is completed with an
 * error, which unpins its pages and signals its fence.  Open files keep the
 * struct alive and get -ENODEV from then on.
 */
static void vgpu_remove(struct virtio_device *vdev)
{
	struct vgpu_device *vgdev = vdev->priv;
	unsigned int i;

	vgpu_dev_unregister(vgdev);

	WRITE_ONCE(vgdev->dying, true);
	for (i = 0; i < vgdev->nvqs; i++)
		wake_up_all(&vgdev->vqs[i].space);

	down_write(&vgdev->remove_lock);
	vgdev->removed = true;
	up_write(&vgdev->remove_lock);

	virtio_reset_device(vdev);
	cancel_work_sync(&vgdev->done_work);
	vgpu_vq_abort_all(vgdev);
	vdev->config->del_vqs(vdev);
	vdev->priv = NULL;
	vgpu_device_put(vgdev);
}

static unsigned int vgpu_features[] = {
	VGPU_F_SG_INDIRECT,
	VGPU_F_NO_REPLY,
	VGPU_F_PRINTF,
};

static const struct virtio_device_id vgpu_id_table[] = {
	{ VGPU_VIRTIO_ID, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vgpu_id_table);

static struct virtio_driver vgpu_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vgpu_id_table,
	.feature_table = vgpu_features,
	.feature_table_size = ARRAY_SIZE(vgpu_features),
	.probe = vgpu_probe,
	.remove = vgpu_remove,
};
module_virtio_driver(vgpu_driver);

MODULE_DESCRIPTION("vgpu-virtio paravirtual GPU remoting driver");
MODULE_LICENSE("GPL");
