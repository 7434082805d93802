// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ioctls of /dev/vgpuN: one table, one handler each.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_config.h>

#include "vgpu_drv.h"

static bool vgpu_mem_is_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static int vgpu_ioctl_get_info(struct vgpu_file *vfile, void __user *arg)
{
	struct vgpu_device *vgdev = vfile->vgdev;
	struct vgpu_info info;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	if (info.flags || info.reserved0 ||
	    !vgpu_mem_is_zero(info.reserved, sizeof(info.reserved)))
		return -EINVAL;

	info.abi_version = VGPU_ABI_VERSION;
	info.features = VGPU_INFO_F_FENCE_POLL | VGPU_INFO_F_HOSTBUF;
	info.protocol_version = vgdev->version;
	info.num_queues = vgdev->nvqs;
	info.total_mem = vgdev->total_mem;
	info.max_sg = vgdev->max_sg;

	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static bool vgpu_cmd_is_memcpy(u32 cmd)
{
	return cmd == VGPU_CMD_MEMCPY_HTOD || cmd == VGPU_CMD_MEMCPY_DTOH;
}

/*
 * A copy whose data the driver pins: the request must be exactly a memcpy
 * naming VGPU_REGION_SG with the data's size and no table yet; the table
 * the driver builds is the only one that reaches the device, so a process
 * can name no guest-physical page but its own.
 */
static int vgpu_prepare_data(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd,
			     const struct vgpu_submit_cmd *uc)
{
	struct vgpu_cmd_memcpy *mc = vcmd->req.chunks[0].p;
	bool writes = uc->flags & VGPU_CMD_F_DATA_OUT;
	u32 want = writes ? VGPU_CMD_MEMCPY_DTOH : VGPU_CMD_MEMCPY_HTOD;
	int ret;

	if (vcmd->cmd != want || uc->req_len != sizeof(*mc) ||
	    le64_to_cpu(mc->region) != VGPU_REGION_SG || mc->nsg ||
	    le64_to_cpu(mc->size) != uc->data_len)
		return -EINVAL;
	if (!virtio_has_feature(vgdev->vdev, VGPU_F_SG_INDIRECT))
		return -EOPNOTSUPP;

	ret = vgpu_pin_data(vgdev, vcmd, uc->data, uc->data_len, writes);
	if (ret)
		return ret;
	mc->hdr.len = cpu_to_le32(sizeof(*mc) +
				  le32_to_cpu(mc->nsg) *
				  sizeof(struct vgpu_sg_entry));
	return 0;
}

static int vgpu_prepare_cmd(struct vgpu_file *vfile,
			    const struct vgpu_submit_cmd *uc,
			    struct vgpu_cmd **out)
{
	struct vgpu_device *vgdev = vfile->vgdev;
	struct vgpu_req_hdr *hdr;
	struct vgpu_cmd *vcmd;
	bool no_reply;
	int ret;

	if ((uc->flags & ~VGPU_CMD_F_ALL) || uc->reserved0 ||
	    uc->flags == VGPU_CMD_F_ALL)
		return -EINVAL;
	if (!uc->flags != !uc->data_len || (!uc->flags && uc->data))
		return -EINVAL;
	if (uc->req_len < sizeof(*hdr) || uc->req_len > vgdev->max_req_size ||
	    uc->resp_len > VGPU_MAX_RESP)
		return -EINVAL;

	vcmd = kzalloc(sizeof(*vcmd), GFP_KERNEL_ACCOUNT);
	if (!vcmd)
		return -ENOMEM;
	ret = vgpu_buf_alloc(&vcmd->req, uc->req_len, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto free_cmd;
	ret = vgpu_buf_copy_from_user(&vcmd->req, u64_to_user_ptr(uc->req));
	if (ret)
		goto free_cmd;

	/*
	 * From here on only the kernel copy is looked at.  The first chunk
	 * holds at least a page, so every fixed-size command struct.
	 */
	hdr = vcmd->req.chunks[0].p;
	vcmd->cmd = le32_to_cpu(hdr->cmd);
	vcmd->ctx = le64_to_cpu(hdr->ctx);
	no_reply = le32_to_cpu(hdr->flags) & VGPU_REQ_F_NO_REPLY;
	ret = -EINVAL;
	if (le32_to_cpu(hdr->len) != uc->req_len)
		goto free_cmd;
	if (!no_reply && uc->resp_len < sizeof(struct vgpu_resp_hdr))
		goto free_cmd;
	/* The driver must see these replies to know who owns a context. */
	if (vcmd->cmd == VGPU_CMD_CTX_CREATE &&
	    (no_reply || uc->resp_len < sizeof(struct vgpu_resp_id)))
		goto free_cmd;
	if (vcmd->cmd == VGPU_CMD_CTX_DESTROY && no_reply)
		goto free_cmd;
	vgpu_cmd_take_seq(vgdev, vcmd);
	if (vcmd->ctx && !vgpu_file_owns_ctx(vfile, vcmd->ctx)) {
		dev_warn_ratelimited(&vgdev->vdev->dev,
				     "%s: context %llu is not this file's\n",
				     current->comm, vcmd->ctx);
		ret = -EPERM;
		goto free_cmd;
	}

	if (uc->flags) {
		ret = vgpu_prepare_data(vgdev, vcmd, uc);
		if (ret)
			goto free_cmd;
	} else if (vgpu_cmd_is_memcpy(vcmd->cmd) &&
		   uc->req_len >= sizeof(struct vgpu_cmd_memcpy) &&
		   le64_to_cpu(((struct vgpu_cmd_memcpy *)hdr)->region) ==
		   VGPU_REGION_SG) {
		/* A table written by user space could name any page. */
		ret = -EINVAL;
		goto free_cmd;
	}

	if (uc->resp_len) {
		ret = vgpu_pin_resp(vcmd, uc->resp, uc->resp_len);
		if (ret)
			goto free_cmd;
		ret = vgpu_buf_alloc(&vcmd->resp, uc->resp_len,
				     GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (ret)
			goto free_cmd;
	}
	if (!vgpu_vq_fits(vgdev, vfile->vq, vcmd)) {
		ret = -E2BIG;
		goto free_cmd;
	}

	*out = vcmd;
	return 0;

free_cmd:
	vgpu_cmd_free(vcmd);
	return ret;
}

static int vgpu_ioctl_submit(struct vgpu_file *vfile, void __user *arg)
{
	struct vgpu_submit_cmd *ucmds;
	struct vgpu_submit sub;
	struct vgpu_cmd **cmds;
	u64 bytes = 0, fence = 0;
	unsigned int i, n = 0;
	int ret;

	if (copy_from_user(&sub, arg, sizeof(sub)))
		return -EFAULT;
	if ((sub.flags & ~VGPU_SUBMIT_F_ALL) ||
	    !vgpu_mem_is_zero(sub.reserved, sizeof(sub.reserved)))
		return -EINVAL;
	if (!sub.count || sub.count > VGPU_MAX_BATCH)
		return -EINVAL;
	if (READ_ONCE(vfile->vgdev->removed))
		return -ENODEV;

	ucmds = kvmalloc_array(sub.count, sizeof(*ucmds), GFP_KERNEL_ACCOUNT);
	cmds = kvcalloc(sub.count, sizeof(*cmds), GFP_KERNEL_ACCOUNT);
	if (!ucmds || !cmds) {
		ret = -ENOMEM;
		goto free_arrays;
	}
	if (copy_from_user(ucmds, u64_to_user_ptr(sub.cmds),
			   sub.count * sizeof(*ucmds))) {
		ret = -EFAULT;
		goto free_arrays;
	}
	for (i = 0; i < sub.count; i++)
		bytes += (u64)ucmds[i].req_len + ucmds[i].resp_len;
	if (bytes > VGPU_MAX_BATCH_BYTES) {
		ret = -E2BIG;
		goto free_arrays;
	}

	/* Validate and pin everything before anything reaches the device. */
	for (n = 0; n < sub.count; n++) {
		ret = vgpu_prepare_cmd(vfile, &ucmds[n], &cmds[n]);
		if (ret)
			goto free_cmds;
	}

	ret = vgpu_submit_batch(vfile, cmds, n, &fence);
	n = 0;
	if (fence) {
		sub.fence = fence;
		if (copy_to_user(arg, &sub, sizeof(sub)) && !ret)
			ret = -EFAULT;
	}
	if (!ret && (sub.flags & VGPU_SUBMIT_F_WAIT))
		ret = vgpu_fence_wait(vfile, fence, -1);

free_cmds:
	for (i = 0; i < n; i++)
		vgpu_cmd_free(cmds[i]);
free_arrays:
	kvfree(cmds);
	kvfree(ucmds);
	return ret;
}

static int vgpu_ioctl_fence_wait(struct vgpu_file *vfile, void __user *arg)
{
	struct vgpu_fence_wait fw;

	if (copy_from_user(&fw, arg, sizeof(fw)))
		return -EFAULT;
	if (fw.flags || fw.reserved0)
		return -EINVAL;
	return vgpu_fence_wait(vfile, fw.fence, fw.timeout_ns);
}

static int vgpu_ioctl_hostbuf_create(struct vgpu_file *vfile,
				     void __user *arg)
{
	struct vgpu_hostbuf hb;
	int ret;

	if (copy_from_user(&hb, arg, sizeof(hb)))
		return -EFAULT;
	if (hb.flags || hb.reserved0 || hb.mmap_offset ||
	    !vgpu_mem_is_zero(hb.reserved, sizeof(hb.reserved)))
		return -EINVAL;

	ret = vgpu_hostbuf_create(vfile, hb.size, &hb.mmap_offset);
	if (ret)
		return ret;
	if (copy_to_user(arg, &hb, sizeof(hb))) {
		vgpu_hostbuf_destroy(vfile, hb.mmap_offset);
		return -EFAULT;
	}
	return 0;
}

static int vgpu_ioctl_hostbuf_destroy(struct vgpu_file *vfile,
				      void __user *arg)
{
	struct vgpu_hostbuf hb;

	if (copy_from_user(&hb, arg, sizeof(hb)))
		return -EFAULT;
	if (hb.size || hb.flags || hb.reserved0 ||
	    !vgpu_mem_is_zero(hb.reserved, sizeof(hb.reserved)))
		return -EINVAL;
	return vgpu_hostbuf_destroy(vfile, hb.mmap_offset);
}

struct vgpu_ioctl_desc {
	unsigned int cmd;
	int (*fn)(struct vgpu_file *vfile, void __user *arg);
};

static const struct vgpu_ioctl_desc vgpu_ioctls[] = {
	[_IOC_NR(VGPU_IOCTL_GET_INFO)] = {
		VGPU_IOCTL_GET_INFO, vgpu_ioctl_get_info },
	[_IOC_NR(VGPU_IOCTL_SUBMIT)] = {
		VGPU_IOCTL_SUBMIT, vgpu_ioctl_submit },
	[_IOC_NR(VGPU_IOCTL_FENCE_WAIT)] = {
		VGPU_IOCTL_FENCE_WAIT, vgpu_ioctl_fence_wait },
	[_IOC_NR(VGPU_IOCTL_HOSTBUF_CREATE)] = {
		VGPU_IOCTL_HOSTBUF_CREATE, vgpu_ioctl_hostbuf_create },
	[_IOC_NR(VGPU_IOCTL_HOSTBUF_DESTROY)] = {
		VGPU_IOCTL_HOSTBUF_DESTROY, vgpu_ioctl_hostbuf_destroy },
};

/**
 * vgpu_ioctl() - dispatch an ioctl on /dev/vgpuN
 * @filp: the file
 * @cmd: ioctl number; must match the table exactly, size and direction too
 * @arg: user pointer to the ioctl's structure
 *
 * Return: 0 or a negative errno; -ENOTTY for an unknown ioctl, -ENODEV once
 * the device was removed.
 * Context: process context.
 */
long vgpu_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct vgpu_file *vfile = filp->private_data;
	const struct vgpu_ioctl_desc *desc;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != VGPU_IOCTL_TYPE || nr >= ARRAY_SIZE(vgpu_ioctls))
		return -ENOTTY;
	desc = &vgpu_ioctls[nr];
	if (!desc->fn || desc->cmd != cmd)
		return -ENOTTY;
	if (READ_ONCE(vfile->vgdev->removed))
		return -ENODEV;
	return desc->fn(vfile, (void __user *)arg);
}
