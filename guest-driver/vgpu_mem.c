// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pinned user pages, guest-physical tables, host buffers, mmap.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

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
 * vgpu_buf_alloc() - allocate a buffer in large contiguous chunks
 * @b: the buffer, zeroed by the caller; free with vgpu_buf_free()
 * @len: bytes, non-zero
 * @gfp: allocation flags (__GFP_ZERO for a reply buffer)
 *
 * Tries VGPU_CHUNK_MAX pieces first and halves the size whenever the
 * allocator cannot find one that large, down to a page; chunk lengths stay
 * multiples of 16 so that SG entries never straddle two chunks.
 *
 * Return: 0 or -ENOMEM.
 * Context: process context.
 */
int vgpu_buf_alloc(struct vgpu_buf *b, size_t len, gfp_t gfp)
{
	size_t left = len, size = VGPU_CHUNK_MAX;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	b->chunks = kvcalloc(DIV_ROUND_UP(len, PAGE_SIZE), sizeof(*b->chunks),
			     GFP_KERNEL_ACCOUNT);
	if (!b->chunks)
		return -ENOMEM;
	b->len = len;

	while (left) {
		size_t n = min(left, size);
		gfp_t extra = n > PAGE_SIZE ? __GFP_NORETRY | __GFP_NOWARN : 0;
		void *p = kmalloc(n, gfp | extra);

		if (!p && size > PAGE_SIZE) {
			size /= 2;
			continue;
		}
		if (!p)
			goto free_chunks;
		b->chunks[b->nchunks].p = p;
		b->chunks[b->nchunks].len = n;
		b->nchunks++;
		left -= n;
	}

	ret = sg_alloc_table(&b->sgt, b->nchunks, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto free_chunks;
	for_each_sgtable_sg(&b->sgt, sg, i)
		sg_set_buf(sg, b->chunks[i].p, b->chunks[i].len);
	return 0;

free_chunks:
	vgpu_buf_free(b);
	return -ENOMEM;
}

/**
 * vgpu_buf_free() - free a buffer from vgpu_buf_alloc()
 * @b: the buffer; may be empty or partly allocated
 */
void vgpu_buf_free(struct vgpu_buf *b)
{
	unsigned int i;

	sg_free_table(&b->sgt);
	for (i = 0; i < b->nchunks; i++)
		kfree(b->chunks[i].p);
	kvfree(b->chunks);
	memset(b, 0, sizeof(*b));
}

/**
 * vgpu_buf_copy_from_user() - fill a buffer from user memory
 * @b: the buffer
 * @src: @b->len bytes of user memory
 *
 * Return: 0 or -EFAULT.
 */
int vgpu_buf_copy_from_user(struct vgpu_buf *b, const void __user *src)
{
	unsigned int i;

	for (i = 0; i < b->nchunks; i++) {
		if (copy_from_user(b->chunks[i].p, src, b->chunks[i].len))
			return -EFAULT;
		src += b->chunks[i].len;
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
 * @vcmd: the command; gets @tbl and the pinned pages
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
	struct vgpu_sg_entry *ent = NULL;
	void *end_chunk = NULL;
	unsigned int chunk = 0;
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

	ret = vgpu_buf_alloc(&vcmd->tbl, nsg * sizeof(*ent), GFP_KERNEL_ACCOUNT);
	if (ret)
		goto unpin;

	/* Entries never straddle chunks: chunk lengths are multiples of 16. */
	nsg = 0;
	left = len;
	for (i = 0; i < npages; i++) {
		u64 addr = page_to_phys(pages[i]) + off;
		u64 n = min_t(u64, left, PAGE_SIZE - off);

		if (i && page_to_phys(pages[i]) ==
			 page_to_phys(pages[i - 1]) + PAGE_SIZE) {
			le64_add_cpu(&ent->len, n);
		} else {
			if (!ent || (void *)(ent + 1) >= end_chunk) {
				ent = vcmd->tbl.chunks[chunk].p;
				end_chunk = (void *)ent +
					    vcmd->tbl.chunks[chunk].len;
				chunk++;
			} else {
				ent++;
			}
			ent->addr = cpu_to_le64(addr);
			ent->len = cpu_to_le64(n);
			nsg++;
		}
		left -= n;
		off = 0;
	}

	vcmd->data_pages = pages;
	vcmd->data_npages = npages;
	vcmd->data_dirty = device_writes;
	((struct vgpu_cmd_memcpy *)vcmd->req.chunks[0].p)->nsg =
		cpu_to_le32(nsg);
	return 0;

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
	unsigned int off = vcmd->resp_off, pg = 0, ch = 0;
	size_t coff = 0;

	while (len && pg < vcmd->resp_npages && ch < vcmd->resp.nchunks) {
		const struct vgpu_chunk *c = &vcmd->resp.chunks[ch];
		unsigned int n = min_t(size_t, min_t(size_t, len, PAGE_SIZE - off),
				       c->len - coff);

		memcpy_to_page(vcmd->resp_pages[pg], off, c->p + coff, n);
		len -= n;
		off += n;
		coff += n;
		if (off == PAGE_SIZE) {
			off = 0;
			pg++;
		}
		if (coff == c->len) {
			coff = 0;
			ch++;
		}
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
	vgpu_buf_free(&vcmd->req);
	vgpu_buf_free(&vcmd->tbl);
	vgpu_buf_free(&vcmd->resp);
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
