/* SPDX-License-Identifier: MIT */
/*
 * vgpu_ioctl.h - the /dev/vgpuN character-device ABI between the
 * vgpu_virtio guest driver and libvgpu.
 *
 * Pointers travel as __u64, every structure has a flags word and reserved
 * fields that must be zero, and the ABI grows by adding ioctls, never by
 * changing an existing structure.  Unknown flags or non-zero reserved fields
 * fail with -EINVAL; an unknown ioctl with -ENOTTY.
 */
#ifndef VGPU_IOCTL_H
#define VGPU_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* 0xB6 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define VGPU_IOCTL_TYPE		0xB6

#define VGPU_ABI_VERSION	1

/* Feature bits reported by GET_INFO. */
#define VGPU_INFO_F_FENCE_POLL	(1ull << 0)	/* poll() signals fences */
#define VGPU_INFO_F_HOSTBUF	(1ull << 1)	/* HOSTBUF_CREATE + mmap */

/**
 * struct vgpu_info - VGPU_IOCTL_GET_INFO
 * @abi_version: out, VGPU_ABI_VERSION
 * @flags: in, must be zero
 * @features: out, VGPU_INFO_F_* bits
 * @protocol_version: out, the device's VGPU_PROTOCOL_VERSION
 * @num_queues: out, virtqueues in use
 * @total_mem: out, device memory visible to this VM
 * @max_sg: out, most scatter-gather entries one command may carry
 * @reserved: must be zero
 */
struct vgpu_info {
	__u32 abi_version;
	__u32 flags;
	__u64 features;
	__u32 protocol_version;
	__u32 num_queues;
	__u64 total_mem;
	__u32 max_sg;
	__u32 reserved0;
	__u64 reserved[4];
};

/* struct vgpu_submit_cmd.flags */
#define VGPU_CMD_F_DATA_IN	(1u << 0)	/* @data is read by the device */
#define VGPU_CMD_F_DATA_OUT	(1u << 1)	/* @data is written by the device */
#define VGPU_CMD_F_ALL		(VGPU_CMD_F_DATA_IN | VGPU_CMD_F_DATA_OUT)

/**
 * struct vgpu_submit_cmd - one command of a batched submission
 * @req: user pointer to the request (struct vgpu_req_hdr first)
 * @req_len: bytes at @req
 * @flags: VGPU_CMD_F_* bits
 * @resp: user pointer the reply is written to once the fence signals
 * @resp_len: bytes at @resp
 * @reserved0: must be zero
 * @data: user buffer of a memcpy; the driver pins it and appends a
 *        guest-physical table to the request (VGPU_REGION_SG)
 * @data_len: bytes at @data
 */
struct vgpu_submit_cmd {
	__u64 req;
	__u32 req_len;
	__u32 flags;
	__u64 resp;
	__u32 resp_len;
	__u32 reserved0;
	__u64 data;
	__u64 data_len;
};

/* struct vgpu_submit.flags */
#define VGPU_SUBMIT_F_WAIT	(1u << 0)	/* return once all completed */
#define VGPU_SUBMIT_F_ALL	VGPU_SUBMIT_F_WAIT

/**
 * struct vgpu_submit - VGPU_IOCTL_SUBMIT
 * @cmds: user pointer to an array of struct vgpu_submit_cmd
 * @count: entries in @cmds
 * @flags: VGPU_SUBMIT_F_* bits
 * @fence: out, signalled when every command of the batch completed
 * @reserved: must be zero
 */
struct vgpu_submit {
	__u64 cmds;
	__u32 count;
	__u32 flags;
	__u64 fence;
	__u64 reserved[2];
};

/**
 * struct vgpu_fence_wait - VGPU_IOCTL_FENCE_WAIT
 * @fence: a fence from VGPU_IOCTL_SUBMIT
 * @timeout_ns: relative timeout; 0 polls, negative waits forever
 * @flags: must be zero
 * @reserved0: must be zero
 */
struct vgpu_fence_wait {
	__u64 fence;
	__s64 timeout_ns;
	__u32 flags;
	__u32 reserved0;
};

/**
 * struct vgpu_hostbuf - VGPU_IOCTL_HOSTBUF_CREATE and VGPU_IOCTL_HOSTBUF_DESTROY
 * @size: bytes, rounded up to pages (CREATE; zero for DESTROY)
 * @flags: must be zero
 * @reserved0: must be zero
 * @mmap_offset: out for CREATE, the offset to pass to mmap() on the same
 *               file; in for DESTROY, the buffer to drop (mappings stay)
 * @reserved: must be zero
 */
struct vgpu_hostbuf {
	__u64 size;
	__u32 flags;
	__u32 reserved0;
	__u64 mmap_offset;
	__u64 reserved[2];
};

#define VGPU_IOCTL_GET_INFO	_IOWR(VGPU_IOCTL_TYPE, 0x00, struct vgpu_info)
#define VGPU_IOCTL_SUBMIT	_IOWR(VGPU_IOCTL_TYPE, 0x01, struct vgpu_submit)
#define VGPU_IOCTL_FENCE_WAIT	_IOWR(VGPU_IOCTL_TYPE, 0x02, struct vgpu_fence_wait)
#define VGPU_IOCTL_HOSTBUF_CREATE _IOWR(VGPU_IOCTL_TYPE, 0x03, struct vgpu_hostbuf)
#define VGPU_IOCTL_HOSTBUF_DESTROY _IOWR(VGPU_IOCTL_TYPE, 0x04, struct vgpu_hostbuf)

#endif /* VGPU_IOCTL_H */
