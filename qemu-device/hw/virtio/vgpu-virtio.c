/*
 * vgpu-virtio: vhost-user frontend for a GPU compute device served by vgpud
 *
 * The rings live in guest memory and are processed by the vhost-user
 * backend (vgpud); QEMU only sets the device up, relays the config space
 * and survives the backend going away and coming back.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/virtio/virtio-bus.h"
#include "hw/virtio/vgpu-virtio.h"
#include "sysemu/runstate.h"
#include "trace.h"

/* Attempts to reach the backend before realize gives up. */
#define REALIZE_CONNECTION_RETRIES 3

/*
 * Feature bits negotiated with the backend: a bit the backend does not
 * offer is withheld from the guest, and only the bits the guest acked are
 * passed on when the rings start.
 */
static const int feature_bits[] = {
    VIRTIO_F_VERSION_1,
    VIRTIO_F_NOTIFY_ON_EMPTY,
    VIRTIO_RING_F_INDIRECT_DESC,
    VIRTIO_RING_F_EVENT_IDX,
    VIRTIO_F_RING_PACKED,
    VIRTIO_F_IOMMU_PLATFORM,
    VIRTIO_F_RING_RESET,
    VGPU_F_SG_INDIRECT,
    VGPU_F_NO_REPLY,
    VGPU_F_PRINTF,
    VHOST_INVALID_FEATURE_BIT
};

/* Device-specific features offered to the guest if the backend has them. */
#define VGPU_VIRTIO_DEVICE_FEATURES \
    ((1ULL << VGPU_F_SG_INDIRECT) | (1ULL << VGPU_F_NO_REPLY) | \
     (1ULL << VGPU_F_PRINTF))

static void vu_vgpu_event(void *opaque, QEMUChrEvent event);

/*
 * Make the config fetched from the backend safe to show the guest: the
 * queue count is the one this device was created with (the transport
 * exposes exactly that many queues), and the name is always terminated.
 */
static int vu_vgpu_fix_config(VGpuVirtio *s, struct vgpu_virtio_config *cfg,
                                  Error **errp)
{
    uint32_t backend_queues = le32_to_cpu(cfg->num_queues);

    trace_vgpu_virtio_config(le32_to_cpu(cfg->version), backend_queues,
                             le64_to_cpu(cfg->total_mem));

    if (backend_queues && backend_queues < s->num_queues) {
        error_setg(errp, "vgpu-virtio: backend serves %" PRIu32
                   " queues, num-queues is %" PRIu16,
                   backend_queues, s->num_queues);
        return -EINVAL;
    }
    cfg->num_queues = cpu_to_le32(s->num_queues);
    cfg->name[sizeof(cfg->name) - 1] = '\0';
    return 0;
}

static void vu_vgpu_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);

    memcpy(config, &s->config, sizeof(s->config));
}

/* The backend announced new config contents (SLAVE_CONFIG_CHANGE_MSG). */
static int vu_vgpu_config_notifier(struct vhost_dev *dev)
{
    /*
     * Not dev->vdev: vhost sets that only while the rings run, and the
     * backend may announce a change at any time.
     */
    VGpuVirtio *s = container_of(dev, VGpuVirtio, vhost_dev);
    struct vgpu_virtio_config cfg;
    Error *local_err = NULL;
    int ret;

    trace_vgpu_virtio_config_changed();

    ret = vhost_dev_get_config(dev, (uint8_t *)&cfg, sizeof(cfg), &local_err);
    if (ret < 0 || vu_vgpu_fix_config(s, &cfg, &local_err) < 0) {
        /* Keep the old contents; the guest never sees a half update. */
        error_report_err(local_err);
        return ret < 0 ? ret : -EINVAL;
    }
    memcpy(&s->config, &cfg, sizeof(cfg));
    virtio_notify_config(VIRTIO_DEVICE(s));
    return 0;
}

static const VhostDevConfigOps vu_vgpu_config_ops = {
    .vhost_dev_config_notifier = vu_vgpu_config_notifier,
};

static int vu_vgpu_start(VirtIODevice *vdev)
{
    BusState *qbus = BUS(qdev_get_parent_bus(DEVICE(vdev)));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    VGpuVirtio *s = VGPU_VIRTIO(vdev);
    struct vhost_dev *vhost_dev = &s->vhost_dev;
    int ret, i;

    trace_vgpu_virtio_start(vhost_dev->nvqs);

    if (!k->set_guest_notifiers) {
        error_report("vgpu-virtio: binding does not support guest notifiers");
        return -ENOSYS;
    }

    ret = vhost_dev_enable_notifiers(vhost_dev, vdev);
    if (ret < 0) {
        error_report("vgpu-virtio: enabling host notifiers failed: %s",
                     strerror(-ret));
        return ret;
    }

    ret = k->set_guest_notifiers(qbus->parent, vhost_dev->nvqs, true);
    if (ret < 0) {
        error_report("vgpu-virtio: binding guest notifiers failed: %s",
                     strerror(-ret));
        goto err_host_notifiers;
    }

    /* The backend gets exactly the features the guest acked. */
    vhost_ack_features(vhost_dev, feature_bits, vdev->guest_features);

    /*
     * VHOST_USER_F_PROTOCOL_FEATURES is always negotiated (GET_CONFIG
     * needs it), so rings start disabled: let vhost_dev_start() enable
     * them.
     */
    ret = vhost_dev_start(vhost_dev, vdev, true);
    if (ret < 0) {
        error_report("vgpu-virtio: starting the backend failed: %s",
                     strerror(-ret));
        goto err_guest_notifiers;
    }
    s->started_vu = true;

    /*
     * Notifier masking is not used by this device: unmask everything and
     * let virtio-pci switch irqfds on and off.
     */
    for (i = 0; i < vhost_dev->nvqs; i++) {
        vhost_virtqueue_mask(vhost_dev, vdev, i, false);
    }
    return 0;

err_guest_notifiers:
    k->set_guest_notifiers(qbus->parent, vhost_dev->nvqs, false);
err_host_notifiers:
    vhost_dev_disable_notifiers(vhost_dev, vdev);
    return ret;
}

static void vu_vgpu_stop(VirtIODevice *vdev)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);
    BusState *qbus = BUS(qdev_get_parent_bus(DEVICE(vdev)));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    struct vhost_dev *vhost_dev = &s->vhost_dev;
    int ret;

    if (!s->started_vu) {
        return;
    }
    s->started_vu = false;
    trace_vgpu_virtio_stop();

    if (!k->set_guest_notifiers) {
        return;
    }

    vhost_dev_stop(vhost_dev, vdev, true);

    ret = k->set_guest_notifiers(qbus->parent, vhost_dev->nvqs, false);
    if (ret < 0) {
        error_report("vgpu-virtio: guest notifier cleanup failed: %s",
                     strerror(-ret));
        return;
    }
    vhost_dev_disable_notifiers(vhost_dev, vdev);
}

static void vu_vgpu_set_status(VirtIODevice *vdev, uint8_t status)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);
    bool should_start = virtio_device_should_start(vdev, status);

    trace_vgpu_virtio_set_status(status);

    /* Without a backend the status is kept; connect() starts it later. */
    if (!s->connected) {
        return;
    }
    if (vhost_dev_is_started(&s->vhost_dev) == should_start) {
        return;
    }

    if (should_start) {
        if (vu_vgpu_start(vdev) < 0) {
            /* Drop the session; teardown and reconnect follow. */
            qemu_chr_fe_disconnect(&s->chardev);
        }
    } else {
        vu_vgpu_stop(vdev);
    }
}

static uint64_t vu_vgpu_get_features(VirtIODevice *vdev, uint64_t features,
                                         Error **errp)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);

    features |= VGPU_VIRTIO_DEVICE_FEATURES;
    return vhost_get_features(&s->vhost_dev, feature_bits, features);
}

static void vu_vgpu_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    /*
     * The backend processes the rings.  QEMU only gets here when the guest
     * kicks while no backend is attached; the requests stay queued and are
     * picked up once a backend connects and the rings are started.
     */
}

static void vu_vgpu_guest_notifier_mask(VirtIODevice *vdev, int idx,
                                            bool mask)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);

    vhost_virtqueue_mask(&s->vhost_dev, vdev, idx, mask);
}

static bool vu_vgpu_guest_notifier_pending(VirtIODevice *vdev, int idx)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);

    return vhost_virtqueue_pending(&s->vhost_dev, idx);
}

/*
 * Open a vhost-user session: negotiate features and protocol features,
 * fetch the config space, and restart the rings if the guest driver had
 * already started the device (backend reconnect).
 */
static int vu_vgpu_connect(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VGpuVirtio *s = VGPU_VIRTIO(vdev);
    struct vhost_dev *vhost_dev = &s->vhost_dev;
    struct vgpu_virtio_config cfg;
    int ret;

    if (s->connected) {
        return 0;
    }
    trace_vgpu_virtio_connect();

    /* vhost_dev_cleanup() clears the whole vhost_dev: set it up each time. */
    vhost_dev->nvqs = s->num_queues;
    vhost_dev->vqs = s->vhost_vqs;
    vhost_dev->vq_index = 0;
    /* Makes vhost-user check the count against VHOST_USER_GET_QUEUE_NUM. */
    vhost_dev->num_queues = s->num_queues;
    vhost_dev_set_config_notifier(vhost_dev, &vu_vgpu_config_ops);
    s->vhost_user.supports_config = true;

    ret = vhost_dev_init(vhost_dev, &s->vhost_user, VHOST_BACKEND_TYPE_USER,
                         0, errp);
    if (ret < 0) {
        /* vhost_dev_init() cleans up after itself on failure. */
        return ret;
    }

    ret = vhost_dev_get_config(vhost_dev, (uint8_t *)&cfg, sizeof(cfg), errp);
    if (ret < 0) {
        error_prepend(errp, "vgpu-virtio: fetching the config space failed: ");
        vhost_dev_cleanup(vhost_dev);
        return ret;
    }
    ret = vu_vgpu_fix_config(s, &cfg, errp);
    if (ret < 0) {
        vhost_dev_cleanup(vhost_dev);
        return ret;
    }
    s->connected = true;

    if (memcmp(&cfg, &s->config, sizeof(cfg))) {
        memcpy(&s->config, &cfg, sizeof(cfg));
        /* No-op until the driver is up (first connect during realize). */
        virtio_notify_config(vdev);
    }

    /* Restore the running state after a backend reconnect. */
    if (virtio_device_started(vdev, vdev->status) &&
        vu_vgpu_start(vdev) < 0) {
        error_setg(errp, "vgpu-virtio: restarting the rings failed");
        return -EIO;
    }
    return 0;
}

/* End the session: stop the rings and release the vhost state. */
static void vu_vgpu_disconnect(VGpuVirtio *s)
{
    if (!s->connected) {
        return;
    }
    s->connected = false;
    trace_vgpu_virtio_disconnect();

    vu_vgpu_stop(VIRTIO_DEVICE(s));
    vhost_dev_cleanup(&s->vhost_dev);
}

/* Tear the session down and listen for the next connection. */
static void vu_vgpu_drop_session(VGpuVirtio *s)
{
    vu_vgpu_disconnect(s);
    qemu_chr_fe_set_handlers(&s->chardev, NULL, NULL, vu_vgpu_event,
                             NULL, s, NULL, true);
}

/* Deferred part of a socket close, run from the main loop. */
static void vu_vgpu_close_bh(void *opaque)
{
    vu_vgpu_drop_session(opaque);
}

static void vu_vgpu_event(void *opaque, QEMUChrEvent event)
{
    VGpuVirtio *s = opaque;
    Error *local_err = NULL;

    trace_vgpu_virtio_chr_event(event);

    switch (event) {
    case CHR_EVENT_OPENED:
        if (vu_vgpu_connect(DEVICE(s), &local_err) < 0) {
            error_report_err(local_err);
            qemu_chr_fe_disconnect(&s->chardev);
        }
        break;
    case CHR_EVENT_CLOSED:
        /* At shutdown unrealize tears everything down. */
        if (runstate_check(RUN_STATE_SHUTDOWN)) {
            break;
        }
        /*
         * The close can be reported from inside a vhost-user read or write
         * whose caller still uses the vhost_dev: stop listening, mark the
         * rings stopped, and do the rest from a bottom half.
         */
        qemu_chr_fe_set_handlers(&s->chardev, NULL, NULL, NULL, NULL, NULL,
                                 NULL, false);
        s->vhost_dev.started = false;
        qemu_bh_schedule(s->close_bh);
        break;
    case CHR_EVENT_BREAK:
    case CHR_EVENT_MUX_IN:
    case CHR_EVENT_MUX_OUT:
        break;
    }
}

/* The one place that releases everything realize allocated. */
static void vu_vgpu_teardown(VGpuVirtio *s)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    int i;

    qemu_chr_fe_set_handlers(&s->chardev, NULL, NULL, NULL, NULL, NULL, NULL,
                             false);
    /* Cancels a pending deferred close. */
    qemu_bh_delete(s->close_bh);
    s->close_bh = NULL;
    vu_vgpu_disconnect(s);

    for (i = 0; i < s->num_queues; i++) {
        virtio_delete_queue(s->vqs[i]);
    }
    g_free(s->vqs);
    s->vqs = NULL;
    g_free(s->vhost_vqs);
    s->vhost_vqs = NULL;
    virtio_cleanup(vdev);
    vhost_user_cleanup(&s->vhost_user);
}

static int vu_vgpu_realize_connect(VGpuVirtio *s, Error **errp)
{
    DeviceState *dev = DEVICE(s);
    int ret;

    ret = qemu_chr_fe_wait_connected(&s->chardev, errp);
    if (ret < 0) {
        return ret;
    }

    /* The OPENED event may already have connected; then this is a no-op. */
    ret = vu_vgpu_connect(dev, errp);
    if (ret < 0) {
        qemu_chr_fe_disconnect(&s->chardev);
        /*
         * Not inside a vhost-user read or write here: finish the close now,
         * so that a deferred one cannot hit the session of the next try.
         */
        qemu_bh_cancel(s->close_bh);
        vu_vgpu_drop_session(s);
        return ret;
    }
    return 0;
}

static void vu_vgpu_device_realize(DeviceState *dev, Error **errp)
{
    ERRP_GUARD();
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VGpuVirtio *s = VGPU_VIRTIO(dev);
    int retries, ret, i;

    if (!s->chardev.chr) {
        error_setg(errp, "vgpu-virtio: chardev is mandatory");
        return;
    }
    if (s->num_queues < 2 || s->num_queues > VGPU_MAX_QUEUES) {
        error_setg(errp, "vgpu-virtio: num-queues must be between 2 and %d "
                   "(control queue plus submission queues)", VGPU_MAX_QUEUES);
        return;
    }
    if (s->queue_size < 2 || s->queue_size > VIRTQUEUE_MAX_SIZE ||
        !is_power_of_2(s->queue_size)) {
        error_setg(errp, "vgpu-virtio: queue-size must be a power of 2 "
                   "between 2 and %d", VIRTQUEUE_MAX_SIZE);
        return;
    }
    trace_vgpu_virtio_realize(s->num_queues, s->queue_size);

    if (!vhost_user_init(&s->vhost_user, &s->chardev, errp)) {
        return;
    }

    virtio_init(vdev, VGPU_VIRTIO_ID, sizeof(struct vgpu_virtio_config));

    s->vqs = g_new0(VirtQueue *, s->num_queues);
    for (i = 0; i < s->num_queues; i++) {
        s->vqs[i] = virtio_add_queue(vdev, s->queue_size,
                                     vu_vgpu_handle_output);
    }
    s->vhost_vqs = g_new0(struct vhost_virtqueue, s->num_queues);
    s->close_bh = qemu_bh_new_guarded(vu_vgpu_close_bh, s,
                                      &dev->mem_reentrancy_guard);
    s->connected = false;

    qemu_chr_fe_set_handlers(&s->chardev, NULL, NULL, vu_vgpu_event,
                             NULL, s, NULL, true);

    retries = REALIZE_CONNECTION_RETRIES;
    do {
        if (*errp) {
            error_prepend(errp, "Reconnecting after error: ");
            error_report_err(*errp);
            *errp = NULL;
        }
        ret = vu_vgpu_realize_connect(s, errp);
    } while (ret < 0 && retries--);

    if (ret < 0) {
        vu_vgpu_teardown(s);
    }
}

static void vu_vgpu_device_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);

    vu_vgpu_set_status(vdev, 0);
    vu_vgpu_teardown(VGPU_VIRTIO(dev));
}

static struct vhost_dev *vu_vgpu_get_vhost(VirtIODevice *vdev)
{
    VGpuVirtio *s = VGPU_VIRTIO(vdev);

    return &s->vhost_dev;
}

static const VMStateDescription vu_vgpu_vmstate = {
    .name = "vgpu-virtio",
    /* Device state lives in the backend, which cannot migrate it. */
    .unmigratable = 1,
};

static Property vu_vgpu_properties[] = {
    DEFINE_PROP_CHR("chardev", VGpuVirtio, chardev),
    DEFINE_PROP_UINT16("num-queues", VGpuVirtio, num_queues,
                       VGPU_VIRTIO_DEFAULT_QUEUES),
    DEFINE_PROP_UINT32("queue-size", VGpuVirtio, queue_size,
                       VGPU_VIRTIO_DEFAULT_QUEUE_SIZE),
    DEFINE_PROP_END_OF_LIST(),
};

static void vu_vgpu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    device_class_set_props(dc, vu_vgpu_properties);
    dc->vmsd = &vu_vgpu_vmstate;
    dc->desc = "vgpu-virtio GPU compute device (vhost-user)";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    vdc->realize = vu_vgpu_device_realize;
    vdc->unrealize = vu_vgpu_device_unrealize;
    vdc->get_features = vu_vgpu_get_features;
    vdc->get_config = vu_vgpu_get_config;
    vdc->set_status = vu_vgpu_set_status;
    vdc->guest_notifier_mask = vu_vgpu_guest_notifier_mask;
    vdc->guest_notifier_pending = vu_vgpu_guest_notifier_pending;
    vdc->get_vhost = vu_vgpu_get_vhost;
}

static const TypeInfo vu_vgpu_info = {
    .name = TYPE_VGPU_VIRTIO,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(VGpuVirtio),
    .class_init = vu_vgpu_class_init,
};

static void vu_vgpu_register_types(void)
{
    type_register_static(&vu_vgpu_info);
}

type_init(vu_vgpu_register_types)
