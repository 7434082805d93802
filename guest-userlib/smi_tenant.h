/* SPDX-License-Identifier: MIT */
/*
 * smi_tenant.h - vgpu-smi's access to TENANT_INFO (smi_tenant.c).
 */
#ifndef VGPU_SMI_TENANT_H
#define VGPU_SMI_TENANT_H

#include "../include/uapi/vgpu_virtio.h"

int vgpu_smi_tenant_info(struct vgpu_resp_tenant_info *ti);

#endif /* VGPU_SMI_TENANT_H */
