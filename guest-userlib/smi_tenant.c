// SPDX-License-Identifier: MIT
/*
 * smi_tenant.c - vgpu-smi's one request outside the CUDA API: TENANT_INFO,
 * the calling tenant's own figures, sent through libvgpu's transport.
 *
 * vgpu-smi links libvgpu's objects statically (libvgpu.a) instead of
 * libcuda.so.1, so this file may call the library's internal transport
 * while libcuda.so.1 keeps exporting exactly the CUDA names.  It is a
 * translation unit of its own because the library's private header changes
 * what some CUDA names mean (the _v2 mapping), which vgpu-smi.c must not see.
 */
#include <string.h>

#include "src/vgpu.h"
#include "smi_tenant.h"

/**
 * vgpu_smi_tenant_info() - ask vgpud for this tenant's figures
 * @ti: filled with the reply on success
 *
 * Call after cuInit(), which connects and joins VGPU_TENANT's tenant.
 *
 * Return: 0, the device status (a CUresult; VGPU_S_NOT_SUPPORTED from a
 * vgpud without the command), or -errno when the request could not travel.
 */
int vgpu_smi_tenant_info(struct vgpu_resp_tenant_info *ti)
{
	struct vgpu_req_hdr h;
	struct vgpu_call c = { .resp = ti, .resp_size = sizeof(*ti) };
	int err;

	memset(ti, 0, sizeof(*ti));
	vgpu_hdr(&h, VGPU_CMD_TENANT_INFO, 0, 0, sizeof(h));
	err = vgpu_tp_call(&c, &h, sizeof(h), NULL, 0);
	if (err <= -VGPU_ESTATUS_BASE)
		return -err - VGPU_ESTATUS_BASE;
	if (err)
		return err;
	/* a name from the wire is used as a C string */
	ti->name[sizeof(ti->name) - 1] = 0;
	return 0;
}
