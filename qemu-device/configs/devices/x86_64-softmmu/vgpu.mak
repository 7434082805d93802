# SPDX-License-Identifier: GPL-2.0-or-later
# Devices of the vgpu-virtio build: a q35 machine, virtio-pci and vgpu-virtio.
#
# Used with --without-default-devices so that only what a vgpu-virtio VM
# needs is compiled; q35 selects the chipset, serial port, ACPI and fw_cfg.

CONFIG_Q35=y
CONFIG_VIRTIO_PCI=y
# pcie-root-port: libvirt puts every PCIe device behind one (hotplug).
CONFIG_PCIE_PORT=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_RNG=y
CONFIG_VGPU_VIRTIO=y
