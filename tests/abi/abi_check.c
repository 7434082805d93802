/* SPDX-License-Identifier: MIT */
/*
 * abi_check.c - compile-time layout checks of the two uapi headers.
 *
 * Every size and offset below is written down from the wire format (fixed
 * widths, explicit padding), not copied from a compiler, so a header change
 * that moves a field breaks the build of this file.  run.sh compiles one
 * group at a time (-DGROUP=name) and prints one TAP line per group.
 */
#include <stddef.h>

#include "vgpu_ioctl.h"
#include "vgpu_virtio.h"

#define SIZE(type, n) _Static_assert(sizeof(type) == (n), #type " size")
#define OFF(type, field, n) \
    _Static_assert(offsetof(type, field) == (n), #type "." #field " offset")

#if defined(GROUP_virtio_header) || defined(GROUP_all)
SIZE(struct vgpu_req_hdr, 40);
OFF(struct vgpu_req_hdr, cmd, 0);
OFF(struct vgpu_req_hdr, flags, 4);
OFF(struct vgpu_req_hdr, len, 8);
OFF(struct vgpu_req_hdr, reserved, 12);
OFF(struct vgpu_req_hdr, ctx, 16);
OFF(struct vgpu_req_hdr, stream, 24);
OFF(struct vgpu_req_hdr, seq, 32);
SIZE(struct vgpu_resp_hdr, 24);
OFF(struct vgpu_resp_hdr, status, 0);
OFF(struct vgpu_resp_hdr, flags, 4);
OFF(struct vgpu_resp_hdr, seq, 8);
OFF(struct vgpu_resp_hdr, len, 16);
OFF(struct vgpu_resp_hdr, reserved, 20);
SIZE(struct vgpu_virtio_config, 88);
OFF(struct vgpu_virtio_config, version, 0);
OFF(struct vgpu_virtio_config, num_queues, 4);
OFF(struct vgpu_virtio_config, total_mem, 8);
OFF(struct vgpu_virtio_config, max_sg, 16);
OFF(struct vgpu_virtio_config, max_req_size, 20);
OFF(struct vgpu_virtio_config, name, 24);
#endif

#if defined(GROUP_virtio_objects) || defined(GROUP_all)
SIZE(struct vgpu_cmd_id, 48);
OFF(struct vgpu_cmd_id, id, 40);
SIZE(struct vgpu_cmd_create, 48);
OFF(struct vgpu_cmd_create, flags, 40);
OFF(struct vgpu_cmd_create, priority, 44);
SIZE(struct vgpu_resp_id, 32);
OFF(struct vgpu_resp_id, id, 24);
SIZE(struct vgpu_resp_info, 960);
OFF(struct vgpu_resp_info, version, 24);
OFF(struct vgpu_resp_info, driver_version, 28);
OFF(struct vgpu_resp_info, total_mem, 32);
OFF(struct vgpu_resp_info, features, 40);
OFF(struct vgpu_resp_info, name, 48);
OFF(struct vgpu_resp_info, uuid, 304);
OFF(struct vgpu_resp_info, attrs, 320);
SIZE(struct vgpu_cmd_elapsed, 56);
OFF(struct vgpu_cmd_elapsed, start, 40);
OFF(struct vgpu_cmd_elapsed, end, 48);
SIZE(struct vgpu_resp_elapsed, 32);
OFF(struct vgpu_resp_elapsed, ns, 24);
SIZE(struct vgpu_resp_tenant_info, 152);
OFF(struct vgpu_resp_tenant_info, name, 24);
OFF(struct vgpu_resp_tenant_info, weight_milli, 88);
OFF(struct vgpu_resp_tenant_info, cap_ppm, 96);
OFF(struct vgpu_resp_tenant_info, share_1s_ppm, 100);
OFF(struct vgpu_resp_tenant_info, share_10s_ppm, 104);
OFF(struct vgpu_resp_tenant_info, contexts, 108);
OFF(struct vgpu_resp_tenant_info, gpu_ns, 112);
OFF(struct vgpu_resp_tenant_info, mem_used, 120);
OFF(struct vgpu_resp_tenant_info, mem_quota, 128);
OFF(struct vgpu_resp_tenant_info, queue_depth, 136);
OFF(struct vgpu_resp_tenant_info, errors, 144);
#endif

#if defined(GROUP_virtio_memory) || defined(GROUP_all)
SIZE(struct vgpu_cmd_mem, 56);
OFF(struct vgpu_cmd_mem, size, 40);
OFF(struct vgpu_cmd_mem, dptr, 48);
SIZE(struct vgpu_resp_mem, 40);
OFF(struct vgpu_resp_mem, dptr, 24);
OFF(struct vgpu_resp_mem, size, 32);
SIZE(struct vgpu_resp_mem_info, 40);
OFF(struct vgpu_resp_mem_info, free, 24);
OFF(struct vgpu_resp_mem_info, total, 32);
SIZE(struct vgpu_sg_entry, 16);
OFF(struct vgpu_sg_entry, addr, 0);
OFF(struct vgpu_sg_entry, len, 8);
SIZE(struct vgpu_cmd_memcpy, 80);
OFF(struct vgpu_cmd_memcpy, dptr, 40);
OFF(struct vgpu_cmd_memcpy, size, 48);
OFF(struct vgpu_cmd_memcpy, region, 56);
OFF(struct vgpu_cmd_memcpy, offset, 64);
OFF(struct vgpu_cmd_memcpy, nsg, 72);
OFF(struct vgpu_cmd_memcpy, padding, 76);
SIZE(struct vgpu_cmd_memcpy_dtod, 64);
OFF(struct vgpu_cmd_memcpy_dtod, dst, 40);
OFF(struct vgpu_cmd_memcpy_dtod, src, 48);
OFF(struct vgpu_cmd_memcpy_dtod, size, 56);
SIZE(struct vgpu_cmd_memset, 64);
OFF(struct vgpu_cmd_memset, dptr, 40);
OFF(struct vgpu_cmd_memset, count, 48);
OFF(struct vgpu_cmd_memset, value, 56);
OFF(struct vgpu_cmd_memset, elem_size, 60);
SIZE(struct vgpu_cmd_region, 56);
OFF(struct vgpu_cmd_region, size, 40);
OFF(struct vgpu_cmd_region, flags, 48);
/* HELLO (additive): header plus the NUL-terminated tenant name, no struct */
_Static_assert(VGPU_CMD_HELLO == 0x0003, "HELLO number");

_Static_assert(VGPU_REGION_SG == 0 && VGPU_REGION_INLINE == ~0ull,
               "region sentinels");
#endif

#if defined(GROUP_virtio_modules) || defined(GROUP_all)
SIZE(struct vgpu_cmd_module_load, 56);
OFF(struct vgpu_cmd_module_load, kind, 40);
OFF(struct vgpu_cmd_module_load, padding, 44);
OFF(struct vgpu_cmd_module_load, size, 48);
SIZE(struct vgpu_cmd_symbol, 56);
OFF(struct vgpu_cmd_symbol, module, 40);
OFF(struct vgpu_cmd_symbol, name_len, 48);
OFF(struct vgpu_cmd_symbol, padding, 52);
SIZE(struct vgpu_param_info, 8);
OFF(struct vgpu_param_info, offset, 0);
OFF(struct vgpu_param_info, size, 4);
SIZE(struct vgpu_resp_func, 72);
OFF(struct vgpu_resp_func, func, 24);
OFF(struct vgpu_resp_func, nparams, 32);
OFF(struct vgpu_resp_func, param_bytes, 36);
OFF(struct vgpu_resp_func, attrs, 40);
SIZE(struct vgpu_resp_global, 40);
OFF(struct vgpu_resp_global, dptr, 24);
OFF(struct vgpu_resp_global, size, 32);
SIZE(struct vgpu_cmd_launch, 80);
OFF(struct vgpu_cmd_launch, func, 40);
OFF(struct vgpu_cmd_launch, grid, 48);
OFF(struct vgpu_cmd_launch, block, 60);
OFF(struct vgpu_cmd_launch, shared_bytes, 72);
OFF(struct vgpu_cmd_launch, param_bytes, 76);
#endif

#if defined(GROUP_ioctl_info) || defined(GROUP_all)
SIZE(struct vgpu_info, 72);
OFF(struct vgpu_info, abi_version, 0);
OFF(struct vgpu_info, flags, 4);
OFF(struct vgpu_info, features, 8);
OFF(struct vgpu_info, protocol_version, 16);
OFF(struct vgpu_info, num_queues, 20);
OFF(struct vgpu_info, total_mem, 24);
OFF(struct vgpu_info, max_sg, 32);
OFF(struct vgpu_info, reserved0, 36);
OFF(struct vgpu_info, reserved, 40);
#endif

#if defined(GROUP_ioctl_submit) || defined(GROUP_all)
SIZE(struct vgpu_submit_cmd, 48);
OFF(struct vgpu_submit_cmd, req, 0);
OFF(struct vgpu_submit_cmd, req_len, 8);
OFF(struct vgpu_submit_cmd, flags, 12);
OFF(struct vgpu_submit_cmd, resp, 16);
OFF(struct vgpu_submit_cmd, resp_len, 24);
OFF(struct vgpu_submit_cmd, reserved0, 28);
OFF(struct vgpu_submit_cmd, data, 32);
OFF(struct vgpu_submit_cmd, data_len, 40);
SIZE(struct vgpu_submit, 40);
OFF(struct vgpu_submit, cmds, 0);
OFF(struct vgpu_submit, count, 8);
OFF(struct vgpu_submit, flags, 12);
OFF(struct vgpu_submit, fence, 16);
OFF(struct vgpu_submit, reserved, 24);
#endif

#if defined(GROUP_ioctl_fence_hostbuf) || defined(GROUP_all)
SIZE(struct vgpu_fence_wait, 24);
OFF(struct vgpu_fence_wait, fence, 0);
OFF(struct vgpu_fence_wait, timeout_ns, 8);
OFF(struct vgpu_fence_wait, flags, 16);
OFF(struct vgpu_fence_wait, reserved0, 20);
SIZE(struct vgpu_hostbuf, 40);
OFF(struct vgpu_hostbuf, size, 0);
OFF(struct vgpu_hostbuf, flags, 8);
OFF(struct vgpu_hostbuf, reserved0, 12);
OFF(struct vgpu_hostbuf, mmap_offset, 16);
OFF(struct vgpu_hostbuf, reserved, 24);
#endif

#if defined(GROUP_ioctl_numbers) || defined(GROUP_all)
/* _IOWR: direction 3 in bits 31..30, size in 29..16, type, number */
_Static_assert(VGPU_IOCTL_GET_INFO == 0xC048B600u, "GET_INFO number");
_Static_assert(VGPU_IOCTL_SUBMIT == 0xC028B601u, "SUBMIT number");
_Static_assert(VGPU_IOCTL_FENCE_WAIT == 0xC018B602u, "FENCE_WAIT number");
_Static_assert(VGPU_IOCTL_HOSTBUF_CREATE == 0xC028B603u, "HOSTBUF number");
#endif

/* Proves the checks are live: run.sh expects this group to fail. */
#if defined(GROUP_negative_control)
SIZE(struct vgpu_req_hdr, 48);
#endif

/* ISO C forbids an empty translation unit. */
typedef int abi_check_nonempty;
