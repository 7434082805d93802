/*
 * vgpu-virtio: vhost-user frontend for a GPU compute device served by vgpud
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_VGPU_VIRTIO_H
#define QEMU_VGPU_VIRTIO_H

#include "hw/virtio/virtio.h"
#include "hw/virtio/vhost.h"
#include "hw/virtio/vhost-user.h"
#include "chardev/char-fe.h"
#include "standard-headers/linux/vgpu_virtio.h"

#define TYPE_VGPU_VIRTIO "vgpu-virtio-device"
OBJECT_DECLARE_SIMPLE_TYPE(VGpuVirtio, VGPU_VIRTIO)

/* Control queue plus one submission queue. */
#define VGPU_VIRTIO_DEFAULT_QUEUES 2
#define VGPU_VIRTIO_DEFAULT_QUEUE_SIZE 256

struct VGpuVirtio {
    /*< private >*/
    VirtIODevice parent_obj;

    /*< public >*/
    CharBackend chardev;
    uint16_t num_queues;
    uint32_t queue_size;

    /* Guest-visible config space, little-endian as fetched from vgpud. */
    struct vgpu_virtio_config config;

    VirtQueue **vqs;
    struct vhost_virtqueue *vhost_vqs;
    struct vhost_dev vhost_dev;
    VhostUserState vhost_user;

    /* Defers teardown after the socket closed, out of the chardev callback. */
    QEMUBH *close_bh;

    /*
     * Two separate phases: @connected covers the vhost-user session
     * (vgpu_virtio_connect()/vgpu_virtio_disconnect()), @started_vu the
     * running rings (vgpu_virtio_start()/vgpu_virtio_stop()).  A backend
     * can come and go while the guest driver keeps the device started.
     */
    bool connected;
    bool started_vu;
};

#endif /* QEMU_VGPU_VIRTIO_H */
