// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pinned user pages, guest-physical tables, host buffers, mmap.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vgpu_drv.h"

/**
 * struct vgpu_hostbuf_obj - pages from VGPU_IOCTL_HOSTBUF_CREATE
 * @list: entry in vgpu_file.hostbufs
 * @pgoff: mmap offset in pages
 * @npages: entries in @pages
 * @pages: the pages; mappings hold their own references
 */
struct vgpu_hostbuf_obj {
	struct list_head list;
	unsigned long pgoff;
	unsigned long npages;
	struct page **pages;
};

/**
 * vgpu_buf_to_sgt() - describe a kvmalloc()ed buffer as a scatterlist
 * @sgt: table to fill; free with sg_free_table()
 * @buf: the buffer
 * @len: its length, non-zero
 *
 * A vmalloc()ed buffer is not physically contiguous, so it becomes one
 * entry per page; a kmalloc()ed one is a single entry.
 *
 * Return: 0 or -ENOMEM.
 */
int vgpu_buf_to_sgt(struct sg_table *sgt, void *buf, size_t len)
{
	unsigned long off = offset_in_page(buf);
	unsigned int npages, i;
	struct scatterlist *sg;
	int ret;

	if (!is_vmalloc_addr(buf)) {
		ret = sg_alloc_table(sgt, 1, GFP_KERNEL);
		if (!ret)
			sg_set_buf(sgt->sgl, buf, len);
		return ret;
	}

	npages = DIV_ROUND_UP(off + len, PAGE_SIZE);
	ret = sg_alloc_table(sgt, npages, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(sgt, sg, i) {
		size_t n = min_t(size_t, len, PAGE_SIZE - off);

		sg_set_page(sg, vmalloc_to_page(buf), n, off);
		buf += n;
		len -= n;
		off = 0;
	}
	return 0;
}

/*
 * Pin @npages user pages from @start, which may take several calls: the
 * fast path stops early at pages it has to fault in.
 */
static int vgpu_pin_range(unsigned long start, unsigned long npages,
			  unsigned int gup_flags, struct page **pages)
{
	unsigned long done = 0;
	int ret;

	while (done < npages) {
		ret = pin_user_pages_fast(start + done * PAGE_SIZE,
					  min_t(unsigned long, npages - done,
						INT_MAX),
					  gup_flags, pages + done);
		if (ret <= 0) {
			unpin_user_pages(pages, done);
			return ret ? ret : -EFAULT;
		}
		done += ret;
	}
	return 0;
}

/**
 * vgpu_pin_resp() - pin the user buffer a reply is copied into
 * @vcmd: the command
 * @uaddr: user address of the reply buffer
 * @len: its length, non-zero
 *
 * Pinning at submission lets the completion work copy the reply without
 * the submitter's mm, and reports a bad pointer before anything is sent.
 *
 * Return: 0, -EFAULT for an unmapped or read-only buffer, or -ENOMEM.
 * Context: process context of the submitter.
 */
int vgpu_pin_resp(struct vgpu_cmd *vcmd, u64 uaddr, u32 len)
{
	unsigned long off = uaddr & ~PAGE_MASK;
	unsigned int npages;
	u64 end;
	int ret;

	if (check_add_overflow(uaddr, (u64)len, &end) || end > TASK_SIZE)
		return -EFAULT;

	npages = DIV_ROUND_UP(off + len, PAGE_SIZE);
	vcmd->resp_pages = kvmalloc_array(npages, sizeof(struct page *),
					  GFP_KERNEL_ACCOUNT);
	if (!vcmd->resp_pages)
		return -ENOMEM;

	ret = vgpu_pin_range(uaddr & PAGE_MASK, npages, FOLL_WRITE,
			     vcmd->resp_pages);
	if (ret) {
		kvfree(vcmd->resp_pages);
		vcmd->resp_pages = NULL;
		return ret;
	}
	vcmd->resp_npages = npages;
	vcmd->resp_off = off;
	return 0;
}

/**
 * vgpu_pin_data() - pin a copy's user buffer and build its guest-physical
 *                   table
 * @vgdev: the device (for its SG limit)
 * @vcmd: the command; gets @tbl, @tbl_sgt and the pinned pages
 * @uaddr: user address of the data, any alignment
 * @len: bytes, non-zero
 * @device_writes: the device writes the buffer (DTOH)
 *
 * Physically contiguous pages are merged into one entry, so a buffer
 * backed by huge pages needs few entries.
 *
 * Return: 0, -EFAULT (unmapped, or read-only when the device writes),
 * -E2BIG (more entries than the device takes), or -ENOMEM.
 * Context: process context of the submitter.
 */
int vgpu_pin_data(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd,
		  u64 uaddr, u64 len, bool device_writes)
{
	unsigned long off = uaddr & ~PAGE_MASK;
	unsigned long npages, i, nsg;
	struct page **pages;
	u64 end, left;
	int ret;

	if (check_add_overflow(uaddr, len, &end) || end > TASK_SIZE)
		return -EFAULT;
	npages = DIV_ROUND_UP(off + len, PAGE_SIZE);
	if (npages > VGPU_MAX_SG)
		return -E2BIG;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	ret = vgpu_pin_range(uaddr & PAGE_MASK, npages,
			     device_writes ? FOLL_WRITE : 0, pages);
	if (ret)
		goto free_pages;

	nsg = 1;
	for (i = 1; i < npages; i++)
		if (page_to_phys(pages[i]) !=
		    page_to_phys(pages[i - 1]) + PAGE_SIZE)
			nsg++;
	if (nsg > vgdev->max_sg) {
		ret = -E2BIG;
		goto unpin;
	}

	vcmd->tbl = kvmalloc_array(nsg, sizeof(*vcmd->tbl),
				   GFP_KERNEL_ACCOUNT);
	if (!vcmd->tbl) {
		ret = -ENOMEM;
		goto unpin;
	}

	nsg = 0;
	left = len;
	for (i = 0; i < npages; i++) {
		u64 addr = page_to_phys(pages[i]) + off;
		u64 n = min_t(u64, left, PAGE_SIZE - off);

		if (i && page_to_phys(pages[i]) ==
			 page_to_phys(pages[i - 1]) + PAGE_SIZE) {
			le64_add_cpu(&vcmd->tbl[nsg - 1].len, n);
		} else {
			vcmd->tbl[nsg].addr = cpu_to_le64(addr);
			vcmd->tbl[nsg].len = cpu_to_le64(n);
			nsg++;
		}
		left -= n;
		off = 0;
	}

	ret = vgpu_buf_to_sgt(&vcmd->tbl_sgt, vcmd->tbl,
			      nsg * sizeof(*vcmd->tbl));
	if (ret)
		goto free_tbl;

	vcmd->data_pages = pages;
	vcmd->data_npages = npages;
	vcmd->data_dirty = device_writes;
	((struct vgpu_cmd_memcpy *)vcmd->req)->nsg = cpu_to_le32(nsg);
	return 0;

free_tbl:
	kvfree(vcmd->tbl);
	vcmd->tbl = NULL;
unpin:
	unpin_user_pages(pages, npages);
free_pages:
	kvfree(pages);
	return ret;
}

/**
 * vgpu_cmd_copy_reply() - copy the device's reply into the pinned user
 *                         buffer
 * @vcmd: the command
 * @len: bytes the device wrote, already checked against the buffer
 *
 * Context: the completion work.
 */
void vgpu_cmd_copy_reply(struct vgpu_cmd *vcmd, u32 len)
{
	unsigned int off = vcmd->resp_off, i = 0;
	const u8 *src = vcmd->resp;

	while (len && i < vcmd->resp_npages) {
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);

		memcpy_to_page(vcmd->resp_pages[i], off, src, n);
		src += n;
		len -= n;
		off = 0;
		i++;
	}
}

/**
 * vgpu_cmd_free() - unpin and free everything a command holds
 * @vcmd: the command, no longer on any ring
 *
 * Context: process context (unpinning may sleep on a page lock).
 */
void vgpu_cmd_free(struct vgpu_cmd *vcmd)
{
	if (vcmd->data_pages) {
		unpin_user_pages_dirty_lock(vcmd->data_pages,
					    vcmd->data_npages,
					    vcmd->data_dirty);
		kvfree(vcmd->data_pages);
	}
	if (vcmd->resp_pages) {
		unpin_user_pages_dirty_lock(vcmd->resp_pages,
					    vcmd->resp_npages, true);
		kvfree(vcmd->resp_pages);
	}
	sg_free_table(&vcmd->req_sgt);
	sg_free_table(&vcmd->tbl_sgt);
	sg_free_table(&vcmd->resp_sgt);
	kvfree(vcmd->req);
	kvfree(vcmd->tbl);
	kvfree(vcmd->resp);
	kfree(vcmd);
}

static void vgpu_hostbuf_obj_free(struct vgpu_hostbuf_obj *obj)
{
	unsigned long i;

	/* Pages still mapped keep the references the mapping took. */
	for (i = 0; i < obj->npages; i++)
		if (obj->pages[i])
			put_page(obj->pages[i]);
	kvfree(obj->pages);
	kfree(obj);
}

/**
 * vgpu_hostbuf_create() - allocate zeroed pages for a host buffer
 * @vfile: the owning file
 * @size: bytes, non-zero; rounded up to pages
 * @offset: out, the mmap offset
 *
 * Return: 0, -EINVAL for a size larger than half the guest's memory, or
 * -ENOMEM.
 * Context: process context.
 */
int vgpu_hostbuf_create(struct vgpu_file *vfile, u64 size, u64 *offset)
{
	struct vgpu_hostbuf_obj *obj;
	unsigned long npages, i;

	if (!size || size > ((u64)totalram_pages() << PAGE_SHIFT) / 2)
		return -EINVAL;
	npages = DIV_ROUND_UP_ULL(size, PAGE_SIZE);

	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return -ENOMEM;
	obj->pages = kvcalloc(npages, sizeof(*obj->pages), GFP_KERNEL_ACCOUNT);
	if (!obj->pages) {
		kfree(obj);
		return -ENOMEM;
	}
	obj->npages = npages;
	for (i = 0; i < npages; i++) {
		obj->pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO |
					   __GFP_ACCOUNT);
		if (!obj->pages[i]) {
			vgpu_hostbuf_obj_free(obj);
			return -ENOMEM;
		}
	}

	mutex_lock(&vfile->hostbuf_lock);
	obj->pgoff = vfile->next_pgoff;
	vfile->next_pgoff += npages;
	list_add_tail(&obj->list, &vfile->hostbufs);
	mutex_unlock(&vfile->hostbuf_lock);

	*offset = (u64)obj->pgoff << PAGE_SHIFT;
	return 0;
}

/**
 * vgpu_hostbuf_destroy() - drop a host buffer; existing mappings stay
 * @vfile: the owning file
 * @offset: the mmap offset HOSTBUF_CREATE returned
 *
 * Return: 0 or -ENOENT when @offset names no buffer of this file.
 * Context: process context.
 */
int vgpu_hostbuf_destroy(struct vgpu_file *vfile, u64 offset)
{
	struct vgpu_hostbuf_obj *obj, *found = NULL;

	if (offset & ~PAGE_MASK)
		return -ENOENT;

	mutex_lock(&vfile->hostbuf_lock);
	list_for_each_entry(obj, &vfile->hostbufs, list) {
		if ((u64)obj->pgoff << PAGE_SHIFT == offset) {
			found = obj;
			list_del(&obj->list);
			break;
		}
	}
	mutex_unlock(&vfile->hostbuf_lock);

	if (!found)
		return -ENOENT;
	vgpu_hostbuf_obj_free(found);
	return 0;
}

/**
 * vgpu_hostbuf_free_all() - drop every host buffer of a file
 * @vfile: the file, being freed
 *
 * Context: process context.
 */
void vgpu_hostbuf_free_all(struct vgpu_file *vfile)
{
	struct vgpu_hostbuf_obj *obj, *tmp;

	list_for_each_entry_safe(obj, tmp, &vfile->hostbufs, list) {
		list_del(&obj->list);
		vgpu_hostbuf_obj_free(obj);
	}
}

/**
 * vgpu_mmap() - map a host buffer
 * @filp: the /dev/vgpuN file that created it
 * @vma: must start at the buffer's offset, be shared and fit in it
 *
 * Return: 0, -EINVAL for a private mapping or an offset that names no
 * buffer, -ENXIO for a mapping longer than the buffer.
 * Context: process context, mmap lock held.
 */
int vgpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct vgpu_file *vfile = filp->private_data;
	struct vgpu_hostbuf_obj *obj, *found = NULL;
	int ret;

	/* A private mapping would copy on write and the device not see it. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	mutex_lock(&vfile->hostbuf_lock);
	list_for_each_entry(obj, &vfile->hostbufs, list) {
		if (obj->pgoff == vma->vm_pgoff) {
			found = obj;
			break;
		}
	}
	if (!found) {
		ret = -EINVAL;
		goto unlock;
	}
	if (vma_pages(vma) > found->npages) {
		ret = -ENXIO;
		goto unlock;
	}
	vma->vm_flags |= VM_DONTEXPAND;
	ret = vm_map_pages_zero(vma, found->pages, found->npages);
unlock:
	mutex_unlock(&vfile->hostbuf_lock);
	return ret;
}
