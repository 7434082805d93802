/*
 * vgpu-virtio: PCI glue, the device users create with -device vgpu-virtio
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/vgpu-virtio.h"
#include "hw/virtio/virtio-pci.h"

struct VGpuVirtioPCI {
    VirtIOPCIProxy parent_obj;
    VGpuVirtio vdev;
};

typedef struct VGpuVirtioPCI VGpuVirtioPCI;

#define TYPE_VGPU_VIRTIO_PCI "vgpu-virtio-pci-base"

DECLARE_INSTANCE_CHECKER(VGpuVirtioPCI, VGPU_VIRTIO_PCI,
                         TYPE_VGPU_VIRTIO_PCI)

static Property vu_vgpu_pci_properties[] = {
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
    DEFINE_PROP_END_OF_LIST(),
};

static void vu_vgpu_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VGpuVirtioPCI *dev = VGPU_VIRTIO_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);

    /* One MSI-X vector per queue, so completions never share, plus config. */
    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        vpci_dev->nvectors = dev->vdev.num_queues + 1;
    }

    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static void vu_vgpu_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = vu_vgpu_pci_realize;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, vu_vgpu_pci_properties);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = 0; /* virtio-pci derives it: 0x1040 + device id */
    pcidev_k->revision = 0x00;
    pcidev_k->class_id = PCI_CLASS_OTHERS;
}

static void vu_vgpu_pci_instance_init(Object *obj)
{
    VGpuVirtioPCI *dev = VGPU_VIRTIO_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VGPU_VIRTIO);
}

static const VirtioPCIDeviceTypeInfo vu_vgpu_pci_info = {
    .base_name = TYPE_VGPU_VIRTIO_PCI,
    /* Modern (virtio 1.x) only: the device has no legacy interface. */
    .non_transitional_name = "vgpu-virtio",
    .instance_size = sizeof(VGpuVirtioPCI),
    .instance_init = vu_vgpu_pci_instance_init,
    .class_init = vu_vgpu_pci_class_init,
};

static void vu_vgpu_pci_register(void)
{
    virtio_pci_types_register(&vu_vgpu_pci_info);
}

type_init(vu_vgpu_pci_register);
