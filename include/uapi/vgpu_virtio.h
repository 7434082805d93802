/* SPDX-License-Identifier: MIT */
/*
 * vgpu_virtio.h - the vgpu-virtio device protocol spoken between a client
 * (the guest driver, or libvgpu over vgpud's local socket) and vgpud.
 *
 * Every field is little-endian and fixed-width, every structure is padded
 * explicitly to a multiple of 8 bytes, and no field is a pointer or an enum.
 * Documentation/protocol.rst is the normative description; this header is
 * its machine-readable half.  Extend the protocol by adding commands and
 * feature bits, never by reinterpreting an existing field.
 */
#ifndef VGPU_VIRTIO_H
#define VGPU_VIRTIO_H

#include <linux/types.h>

/*
 * Virtio device id.  Linux assigns ids up to 41 and the virtio specification
 * reserves ids into the 40s; 63 is far enough above both to stay free while
 * remaining below the 0x7f limit of the modern PCI id range (0x1040 + id).
 */
#define VGPU_VIRTIO_ID			63
#define VGPU_VIRTIO_PCI_DEVICE_ID	(0x1040 + VGPU_VIRTIO_ID)

/* Protocol version reported in the config space and by GET_INFO. */
#define VGPU_PROTOCOL_VERSION		1

/* Feature bits (device-specific bits 0..23 of the virtio feature word). */
#define VGPU_F_SG_INDIRECT	0	/* memcpy may name a guest-physical table */
#define VGPU_F_NO_REPLY		1	/* VGPU_REQ_F_NO_REPLY is honoured */
#define VGPU_F_PRINTF		2	/* kernel printf output is collected */

/* Queue layout: queue 0 carries control commands, 1..n submission. */
#define VGPU_VQ_CONTROL		0
#define VGPU_MAX_QUEUES		64

/* Device configuration space, read-only for the driver. */
struct vgpu_virtio_config {
	__le32 version;		/* VGPU_PROTOCOL_VERSION */
	__le32 num_queues;	/* number of virtqueues, control queue included */
	__le64 total_mem;	/* device memory visible to this VM, bytes */
	__le32 max_sg;		/* most scatter-gather entries in one command */
	__le32 max_req_size;	/* largest request, header included, bytes */
	__u8 name[64];		/* device name, NUL-terminated */
};

/* Largest request any transport accepts (module images are the big ones). */
#define VGPU_MAX_REQ_SIZE	(64u << 20)
/* Largest inline data payload carried in one memcpy request or reply. */
#define VGPU_MAX_INLINE		(1u << 20)
/* Most scatter-gather entries in one memcpy (1 GiB of 4 KiB pages). */
#define VGPU_MAX_SG		262144u
/* Most kernel parameters, and the largest parameter buffer, per launch. */
#define VGPU_MAX_PARAMS		512u
#define VGPU_MAX_PARAM_BYTES	32764u
/* Longest symbol (kernel or global) name, NUL included. */
#define VGPU_MAX_NAME		256u

/* Commands (struct vgpu_req_hdr.cmd). */
#define VGPU_CMD_NOP			0x0001	/* round trip, no effect */
#define VGPU_CMD_GET_INFO		0x0002	/* -> vgpu_resp_info */
#define VGPU_CMD_HELLO			0x0003	/* NUL-terminated tenant name follows */
#define VGPU_CMD_TENANT_INFO		0x0004	/* -> vgpu_resp_tenant_info */
#define VGPU_CMD_CTX_CREATE		0x0100	/* -> vgpu_resp_id */
#define VGPU_CMD_CTX_DESTROY		0x0101
#define VGPU_CMD_CTX_SYNC		0x0102
#define VGPU_CMD_MEM_ALLOC		0x0200	/* vgpu_cmd_mem -> vgpu_resp_mem */
#define VGPU_CMD_MEM_FREE		0x0201	/* vgpu_cmd_mem */
#define VGPU_CMD_MEM_GET_INFO		0x0202	/* -> vgpu_resp_mem_info */
#define VGPU_CMD_MEMCPY_HTOD		0x0203	/* vgpu_cmd_memcpy */
#define VGPU_CMD_MEMCPY_DTOH		0x0204	/* vgpu_cmd_memcpy */
#define VGPU_CMD_MEMCPY_DTOD		0x0205	/* vgpu_cmd_memcpy_dtod */
#define VGPU_CMD_MEMSET			0x0206	/* vgpu_cmd_memset */
#define VGPU_CMD_REGION_REGISTER	0x0210	/* vgpu_cmd_region -> vgpu_resp_id */
#define VGPU_CMD_REGION_UNREGISTER	0x0211	/* vgpu_cmd_id */
#define VGPU_CMD_MODULE_LOAD		0x0300	/* vgpu_cmd_module_load -> vgpu_resp_id */
#define VGPU_CMD_MODULE_UNLOAD		0x0301	/* vgpu_cmd_id */
#define VGPU_CMD_FUNC_GET		0x0302	/* vgpu_cmd_symbol -> vgpu_resp_func */
#define VGPU_CMD_GLOBAL_GET		0x0303	/* vgpu_cmd_symbol -> vgpu_resp_global */
#define VGPU_CMD_LAUNCH			0x0400	/* vgpu_cmd_launch */
#define VGPU_CMD_STREAM_CREATE		0x0500	/* vgpu_cmd_create -> vgpu_resp_id */
#define VGPU_CMD_STREAM_DESTROY		0x0501	/* hdr.stream names it */
#define VGPU_CMD_STREAM_SYNC		0x0502	/* hdr.stream names it */
#define VGPU_CMD_STREAM_QUERY		0x0503	/* hdr.stream names it */
#define VGPU_CMD_STREAM_WAIT_EVENT	0x0504	/* vgpu_cmd_id (event) */
#define VGPU_CMD_EVENT_CREATE		0x0600	/* vgpu_cmd_create -> vgpu_resp_id */
#define VGPU_CMD_EVENT_DESTROY		0x0601	/* vgpu_cmd_id */
#define VGPU_CMD_EVENT_RECORD		0x0602	/* vgpu_cmd_id, on hdr.stream */
#define VGPU_CMD_EVENT_SYNC		0x0603	/* vgpu_cmd_id */
#define VGPU_CMD_EVENT_QUERY		0x0604	/* vgpu_cmd_id */
#define VGPU_CMD_EVENT_ELAPSED		0x0605	/* vgpu_cmd_elapsed -> vgpu_resp_elapsed */
#define VGPU_CMD_OUTPUT_READ		0x0700	/* -> vgpu_resp_hdr + text */

/* Request flags (struct vgpu_req_hdr.flags). */
#define VGPU_REQ_F_NO_REPLY	(1u << 0)	/* async: no reply on success */
#define VGPU_REQ_F_ALL		VGPU_REQ_F_NO_REPLY

/* Reply flags (struct vgpu_resp_hdr.flags). */
#define VGPU_RESP_F_OUTPUT	(1u << 0)	/* kernel printf output waits */

/*
 * Status codes.  The values are those of the CUDA Driver API's CUresult, so
 * that a client returns them to applications unchanged.
 */
#define VGPU_S_OK			0
#define VGPU_S_INVALID_VALUE		1
#define VGPU_S_OUT_OF_MEMORY		2
#define VGPU_S_NOT_INITIALIZED		3
#define VGPU_S_INVALID_CONTEXT		201
#define VGPU_S_INVALID_IMAGE		200
#define VGPU_S_NO_BINARY_FOR_GPU	209
#define VGPU_S_INVALID_PTX		218
#define VGPU_S_INVALID_SOURCE		300
#define VGPU_S_INVALID_HANDLE		400
#define VGPU_S_NOT_FOUND		500
#define VGPU_S_NOT_READY		600
#define VGPU_S_ILLEGAL_ADDRESS		700
#define VGPU_S_LAUNCH_OUT_OF_RESOURCES	701
#define VGPU_S_LAUNCH_TIMEOUT		702
#define VGPU_S_ILLEGAL_INSTRUCTION	715
#define VGPU_S_MISALIGNED_ADDRESS	716
#define VGPU_S_LAUNCH_FAILED		719
#define VGPU_S_NOT_PERMITTED		800
#define VGPU_S_NOT_SUPPORTED		801
#define VGPU_S_ASSERT			710
#define VGPU_S_UNKNOWN			999

/*
 * Request header, first in every request.  @len counts the whole request:
 * this header, the command structure and any trailing data.  @ctx is the
 * tenant-local id of the context (0 for commands that need none), @stream
 * the context-local stream id (0 is the context's default stream), @seq a
 * number the client chooses and the reply echoes.
 */
struct vgpu_req_hdr {
	__le32 cmd;
	__le32 flags;
	__le32 len;
	__le32 reserved;	/* must be zero */
	__le64 ctx;
	__le64 stream;
	__le64 seq;
};

/*
 * Reply header, first in every reply.  @len counts the whole reply, this
 * header and what follows it.
 */
struct vgpu_resp_hdr {
	__le32 status;
	__le32 flags;
	__le64 seq;
	__le32 len;
	__le32 reserved;
};

/* Commands that name one object: module, region, event. */
struct vgpu_cmd_id {
	struct vgpu_req_hdr hdr;
	__le64 id;
};

/* STREAM_CREATE and EVENT_CREATE: CUDA's creation flags, passed through. */
struct vgpu_cmd_create {
	struct vgpu_req_hdr hdr;
	__le32 flags;
	__le32 priority;	/* streams only; a signed value */
};

/* Reply carrying a newly minted object id. */
struct vgpu_resp_id {
	struct vgpu_resp_hdr hdr;
	__le64 id;
};

/* Number of device attributes (CUdevice_attribute values 0..N-1). */
#define VGPU_NUM_ATTRS		160

struct vgpu_resp_info {
	struct vgpu_resp_hdr hdr;
	__le32 version;		/* VGPU_PROTOCOL_VERSION */
	__le32 driver_version;	/* CUDA driver version vgpud reports */
	__le64 total_mem;	/* bytes; the tenant's quota where it is lower */
	__le64 features;	/* VGPU_F_* bits */
	__u8 name[256];
	__u8 uuid[16];
	__le32 attrs[VGPU_NUM_ATTRS];	/* signed values */
};

/*
 * TENANT_INFO reply: the calling tenant's own settings and accounting (the
 * VM over vhost-user, or the VGPU_TENANT-named tenant of a local client),
 * never another tenant's.  No floating point on the wire: @weight_milli is
 * the scheduler weight times 1000, @cap_ppm the cap as parts per million
 * of the engine (0: no cap), @share_1s_ppm and @share_10s_ppm the tenant's
 * part of the engine time all tenants used over the last 1 s and 10 s, in
 * parts per million.  @gpu_ns is the engine time of its completed work,
 * @mem_used and @mem_quota bytes (quota 0: none), @queue_depth the work
 * items queued and not yet completed, @errors the failed requests,
 * @contexts the contexts open now, all over every client of the tenant.
 */
struct vgpu_resp_tenant_info {
	struct vgpu_resp_hdr hdr;
	__u8 name[64];		/* tenant name, NUL-terminated */
	__le64 weight_milli;
	__le32 cap_ppm;
	__le32 share_1s_ppm;
	__le32 share_10s_ppm;
	__le32 contexts;
	__le64 gpu_ns;
	__le64 mem_used;
	__le64 mem_quota;
	__le64 queue_depth;
	__le64 errors;
};

/* MEM_ALLOC (@size) and MEM_FREE (@dptr). */
struct vgpu_cmd_mem {
	struct vgpu_req_hdr hdr;
	__le64 size;
	__le64 dptr;
};

struct vgpu_resp_mem {
	struct vgpu_resp_hdr hdr;
	__le64 dptr;
	__le64 size;
};

struct vgpu_resp_mem_info {
	struct vgpu_resp_hdr hdr;
	__le64 free;
	__le64 total;
};

/* One guest-physical range. */
struct vgpu_sg_entry {
	__le64 addr;
	__le64 len;
};

/*
 * Host side of a copy (struct vgpu_cmd_memcpy.region):
 *   VGPU_REGION_SG      @nsg vgpu_sg_entry follow the command (virtio path);
 *   VGPU_REGION_INLINE  the bytes follow the command (HTOD) or the reply
 *                       header (DTOH); at most VGPU_MAX_INLINE;
 *   any other value     a region id from REGION_REGISTER, @offset into it.
 */
#define VGPU_REGION_SG		0ull
#define VGPU_REGION_INLINE	(~0ull)

/* MEMCPY_HTOD and MEMCPY_DTOH. */
struct vgpu_cmd_memcpy {
	struct vgpu_req_hdr hdr;
	__le64 dptr;
	__le64 size;
	__le64 region;
	__le64 offset;
	__le32 nsg;
	__le32 padding;
};

struct vgpu_cmd_memcpy_dtod {
	struct vgpu_req_hdr hdr;
	__le64 dst;
	__le64 src;
	__le64 size;
};

/* MEMSET: @count elements of @elem_size (1, 2 or 4) bytes set to @value. */
struct vgpu_cmd_memset {
	struct vgpu_req_hdr hdr;
	__le64 dptr;
	__le64 count;
	__le32 value;
	__le32 elem_size;
};

/*
 * REGION_REGISTER (local transport only): the file descriptor of a memfd
 * travels with the request as SCM_RIGHTS; vgpud maps @size bytes of it and
 * copies to and from it without further copies.
 */
struct vgpu_cmd_region {
	struct vgpu_req_hdr hdr;
	__le64 size;
	__le64 flags;		/* must be zero */
};

/* Module image kinds (struct vgpu_cmd_module_load.kind). */
#define VGPU_IMAGE_PTX		1	/* NUL-terminated PTX text */
#define VGPU_IMAGE_FATBIN	2	/* fatbin container; PTX and/or cubin */
#define VGPU_IMAGE_CUBIN	3	/* ELF cubin */

/* MODULE_LOAD: @size bytes of image follow the command. */
struct vgpu_cmd_module_load {
	struct vgpu_req_hdr hdr;
	__le32 kind;
	__le32 padding;
	__le64 size;
};

/*
 * Reply to a failed MODULE_LOAD: the status says why, and the text that
 * follows the header (up to hdr.len) is the error log, naming the line.
 */

/* FUNC_GET and GLOBAL_GET: the NUL-terminated name follows, @name_len with
 * its NUL. */
struct vgpu_cmd_symbol {
	struct vgpu_req_hdr hdr;
	__le64 module;
	__le32 name_len;
	__le32 padding;
};

struct vgpu_param_info {
	__le32 offset;
	__le32 size;
};

/* Function attributes, indexed like CUfunction_attribute 0..7. */
#define VGPU_FUNC_ATTR_MAX_THREADS	0
#define VGPU_FUNC_ATTR_SHARED_BYTES	1
#define VGPU_FUNC_ATTR_CONST_BYTES	2
#define VGPU_FUNC_ATTR_LOCAL_BYTES	3
#define VGPU_FUNC_ATTR_NUM_REGS		4
#define VGPU_FUNC_ATTR_PTX_VERSION	5
#define VGPU_FUNC_ATTR_BINARY_VERSION	6
#define VGPU_FUNC_ATTR_CACHE_MODE_CA	7
#define VGPU_NUM_FUNC_ATTRS		8

/* FUNC_GET reply: @nparams vgpu_param_info follow. */
struct vgpu_resp_func {
	struct vgpu_resp_hdr hdr;
	__le64 func;
	__le32 nparams;
	__le32 param_bytes;	/* size of the packed parameter buffer */
	__le32 attrs[VGPU_NUM_FUNC_ATTRS];
};

struct vgpu_resp_global {
	struct vgpu_resp_hdr hdr;
	__le64 dptr;
	__le64 size;
};

/*
 * LAUNCH: @param_bytes of parameters follow, packed at the offsets that
 * FUNC_GET reported.
 */
struct vgpu_cmd_launch {
	struct vgpu_req_hdr hdr;
	__le64 func;
	__le32 grid[3];
	__le32 block[3];
	__le32 shared_bytes;
	__le32 param_bytes;
};

struct vgpu_cmd_elapsed {
	struct vgpu_req_hdr hdr;
	__le64 start;
	__le64 end;
};

struct vgpu_resp_elapsed {
	struct vgpu_resp_hdr hdr;
	__le64 ns;
};

#endif /* VGPU_VIRTIO_H */
