// SPDX-License-Identifier: MIT
/*
 * device.c - device management: the one device vgpud presents to this
 * process, described by the GET_INFO reply cached at cuInit().
 */
#include <stdio.h>
#include <string.h>

#include "vgpu.h"

/* A device argument that is out of range is CUDA_ERROR_INVALID_DEVICE. */
int vgpu_check_device(CUdevice dev)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	return dev == 0 ? 0 : -ENXIO;
}

VGPU_API CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	int err = vgpu_check_init();

	if (!err && !device)
		err = -EINVAL;
	if (!err && ordinal != 0)
		err = -ENXIO;
	if (!err)
		*device = 0;
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetCount(int *count)
{
	int err = vgpu_check_init();

	if (!err && !count)
		err = -EINVAL;
	if (!err)
		*count = 1;
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && (!name || len <= 0))
		err = -EINVAL;
	if (!err) {
		strncpy(name, vgpu_dev.name, len - 1);
		name[len - 1] = 0;
	}
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && !uuid)
		err = -EINVAL;
	if (!err)
		memcpy(uuid->bytes, vgpu_dev.uuid, sizeof(uuid->bytes));
	return vgpu_result(err);
}
VGPU_ALIAS(cuDeviceGetUuid, cuDeviceGetUuid_v2);

VGPU_API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && !bytes)
		err = -EINVAL;
	if (!err)
		*bytes = vgpu_dev.total_mem;
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && (!pi || (int)attrib <= 0 || attrib >= VGPU_NUM_ATTRS))
		err = -EINVAL;
	if (!err)
		*pi = vgpu_dev.attrs[attrib];
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetProperties(CUdevprop *prop, CUdevice dev)
{
	const int *a = vgpu_dev.attrs;
	int err = vgpu_check_device(dev);

	if (!err && !prop)
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	prop->maxThreadsPerBlock = a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK];
	prop->maxThreadsDim[0] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X];
	prop->maxThreadsDim[1] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y];
	prop->maxThreadsDim[2] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z];
	prop->maxGridSize[0] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X];
	prop->maxGridSize[1] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y];
	prop->maxGridSize[2] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z];
	prop->sharedMemPerBlock = a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK];
	prop->totalConstantMemory = a[CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY];
	prop->SIMDWidth = a[CU_DEVICE_ATTRIBUTE_WARP_SIZE];
	prop->memPitch = a[CU_DEVICE_ATTRIBUTE_MAX_PITCH];
	prop->regsPerBlock = a[CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK];
	prop->clockRate = a[CU_DEVICE_ATTRIBUTE_CLOCK_RATE];
	prop->textureAlign = a[CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT];
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && (!major || !minor))
		err = -EINVAL;
	if (!err) {
		*major = vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
		*minor = vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
	}
	return vgpu_result(err);
}

VGPU_API CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	int err = vgpu_check_device(dev);

	if (!err && (!pciBusId || len <= 0))
		err = -EINVAL;
	if (!err)
		snprintf(pciBusId, len, "%08x:%02x:%02x.0",
			 vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID],
			 vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID],
			 vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID]);
	return vgpu_result(err);
}
