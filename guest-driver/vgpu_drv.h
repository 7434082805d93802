/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private declarations shared by the files of vgpu_virtio.ko.
 */
#ifndef VGPU_DRV_H
#define VGPU_DRV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/sizes.h>
#include <linux/xarray.h>

#include "vgpu_virtio.h"
#include "vgpu_ioctl.h"

/* Most commands in one VGPU_IOCTL_SUBMIT. */
#define VGPU_MAX_BATCH		1024u
/* Largest reply buffer of one command: an inline DTOH plus headroom. */
#define VGPU_MAX_RESP		(2 * VGPU_MAX_INLINE)
/* Kernel memory (requests + reply buffers) one batch may hold. */
#define VGPU_MAX_BATCH_BYTES	(128u << 20)
/* Largest physically contiguous piece of a driver buffer. */
#define VGPU_CHUNK_MAX		SZ_1M

/**
 * struct vgpu_chunk - one physically contiguous piece of a struct vgpu_buf
 * @p: kmalloc()ed memory
 * @len: bytes used at @p, a multiple of 16 except in the last chunk
 */
struct vgpu_chunk {
	void *p;
	size_t len;
};

/**
 * struct vgpu_buf - a driver buffer the device reads or writes
 * @chunks: the pieces, in order
 * @nchunks: entries in @chunks
 * @len: total bytes
 * @sgt: one scatterlist entry per chunk
 *
 * Large buffers are built from contiguous chunks as big as the allocator
 * gives (up to VGPU_CHUNK_MAX) rather than from vmalloc() pages, so that a
 * 64 MiB request or a 4 MiB guest-physical table is a few descriptors and
 * not thousands.  The first chunk is at least a page (or the whole
 * buffer), so headers can be read from it directly.
 */
struct vgpu_buf {
	struct vgpu_chunk *chunks;
	unsigned int nchunks;
	size_t len;
	struct sg_table sgt;
};

/**
 * struct vgpu_vq - one virtqueue and what waits on it
 * @vq: the virtqueue
 * @lock: serializes every virtqueue_* call on @vq and protects @backlog
 * @space: woken when the completion work freed descriptors
 * @backlog: driver-internal commands that found the ring full; resubmitted
 *           by the completion work, which may not sleep waiting for space
 */
struct vgpu_vq {
	struct virtqueue *vq;
	spinlock_t lock;		/* virtqueue_* calls, @backlog */
	wait_queue_head_t space;
	struct list_head backlog;
};

/**
 * struct vgpu_device - one vgpu-virtio device
 * @vdev: the virtio device
 * @ref: held by probe until remove and by every open file
 * @misc: /dev/vgpuN
 * @name: "vgpuN"
 * @index: N
 * @vqs: @nvqs virtqueues, VGPU_VQ_CONTROL first
 * @nvqs: number of virtqueues
 * @next_vq: round-robin cursor that spreads files over submission queues
 * @done_work: drains completed buffers of every queue
 * @remove_lock: readers are ioctls that touch the rings; remove() takes it
 *               for writing after setting @dying, so that no ioctl is
 *               between its check and its virtqueue_add when rings go away
 * @dying: set first thing in remove(); waits for ring space give up
 * @removed: rings are gone; set under @remove_lock held for writing
 * @version: protocol version from config space
 * @total_mem: device memory visible to this VM, from config space
 * @max_sg: most SG entries in one command (config, capped at VGPU_MAX_SG)
 * @max_req_size: largest request (config, capped at VGPU_MAX_REQ_SIZE)
 * @dev_name: device name from config space
 */
struct vgpu_device {
	struct virtio_device *vdev;
	struct kref ref;
	struct miscdevice misc;
	char name[16];
	int index;
	struct vgpu_vq *vqs;
	unsigned int nvqs;
	atomic_t next_vq;
	struct work_struct done_work;
	struct rw_semaphore remove_lock;
	bool dying;
	bool removed;
	u32 version;
	u64 total_mem;
	u32 max_sg;
	u32 max_req_size;
	char dev_name[64];
	atomic64_t next_seq;
};

/**
 * struct vgpu_file - one open of /dev/vgpuN: one guest context owner
 * @vgdev: the device, referenced
 * @ref: held by the open file and by every batch in flight
 * @vq: submission queue this file uses
 * @submit_lock: serializes submissions, so fences are issued in order
 * @next_fence: last fence issued; under @submit_lock
 * @batches: fence -> struct vgpu_batch while the batch is in flight
 * @wait: woken whenever a batch of this file completes
 * @ctx_lock: orders @closed against additions to @ctxs by the completion work
 * @ctxs: device context ids this file created (value entries)
 * @closed: the file was released; contexts created from now on are
 *          destroyed by the completion work
 * @hostbuf_lock: protects @hostbufs and @next_pgoff
 * @hostbufs: struct vgpu_hostbuf_obj list
 * @next_pgoff: mmap offset (in pages) the next host buffer gets
 */
struct vgpu_file {
	struct vgpu_device *vgdev;
	struct kref ref;
	struct vgpu_vq *vq;
	struct mutex submit_lock;	/* fence order */
	u64 next_fence;
	struct xarray batches;
	wait_queue_head_t wait;
	spinlock_t ctx_lock;		/* @closed vs. @ctxs additions */
	struct xarray ctxs;
	bool closed;
	struct mutex hostbuf_lock;	/* @hostbufs, @next_pgoff */
	struct list_head hostbufs;
	unsigned long next_pgoff;
};

/**
 * struct vgpu_batch - the commands of one VGPU_IOCTL_SUBMIT
 * @file: owner, referenced while the batch is in flight
 * @fence: fence id returned to user space
 * @pending: commands not completed yet
 */
struct vgpu_batch {
	struct vgpu_file *file;
	u64 fence;
	atomic_t pending;
};

/**
 * struct vgpu_cmd - one command on a virtqueue
 * @batch: the batch it belongs to; NULL for driver-internal commands
 * @file: the file whose context bookkeeping the reply updates, or NULL
 * @list: entry in a completion list or a queue's backlog
 * @cmd: hdr.cmd of the request (CPU order)
 * @ctx: hdr.ctx of the request
 * @req: the request, a kernel copy (what was validated is what is sent)
 * @tbl: guest-physical table appended to the request; empty when none
 * @resp: kernel reply buffer the device writes; empty when none
 * @resp_pages: pinned user pages the reply is copied into
 * @resp_npages: entries in @resp_pages
 * @resp_off: offset of the user reply buffer in its first page
 * @data_pages: pinned user data pages named by @tbl
 * @data_npages: entries in @data_pages
 * @data_dirty: the device writes @data_pages (DTOH)
 * @used_len: bytes the device wrote into @resp, set by the completion work
 */
struct vgpu_cmd {
	struct vgpu_batch *batch;
	struct vgpu_file *file;
	struct list_head list;
	u32 cmd;
	u64 ctx;
	struct vgpu_buf req;
	struct vgpu_buf tbl;
	struct vgpu_buf resp;
	struct page **resp_pages;
	unsigned int resp_npages;
	unsigned int resp_off;
	struct page **data_pages;
	unsigned long data_npages;
	bool data_dirty;
	u32 used_len;
	__le64 user_seq;
};

/* vgpu_drv.c */
void vgpu_device_put(struct vgpu_device *vgdev);

/* vgpu_dev.c */
int vgpu_dev_register(struct vgpu_device *vgdev);
void vgpu_dev_unregister(struct vgpu_device *vgdev);
void vgpu_file_put(struct vgpu_file *vfile);
void vgpu_file_ctx_created(struct vgpu_file *vfile, u64 ctx);
void vgpu_file_ctx_destroyed(struct vgpu_file *vfile, u64 ctx);
bool vgpu_file_owns_ctx(struct vgpu_file *vfile, u64 ctx);

/* vgpu_vq.c */
void vgpu_vq_callback(struct virtqueue *vq);
void vgpu_done_work(struct work_struct *work);
void vgpu_cmd_take_seq(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd);
bool vgpu_vq_fits(struct vgpu_device *vgdev, struct vgpu_vq *q,
		  struct vgpu_cmd *vcmd);
int vgpu_submit_batch(struct vgpu_file *vfile, struct vgpu_cmd **cmds,
		      unsigned int count, u64 *fence);
int vgpu_fence_wait(struct vgpu_file *vfile, u64 fence, s64 timeout_ns);
bool vgpu_file_idle(struct vgpu_file *vfile);
int vgpu_send_ctx_destroy(struct vgpu_device *vgdev, u64 ctx);
void vgpu_vq_abort_all(struct vgpu_device *vgdev);

/* vgpu_mem.c */
int vgpu_buf_alloc(struct vgpu_buf *b, size_t len, gfp_t gfp);
void vgpu_buf_free(struct vgpu_buf *b);
int vgpu_buf_copy_from_user(struct vgpu_buf *b, const void __user *src);
int vgpu_pin_resp(struct vgpu_cmd *vcmd, u64 uaddr, u32 len);
int vgpu_pin_data(struct vgpu_device *vgdev, struct vgpu_cmd *vcmd,
		  u64 uaddr, u64 len, bool device_writes);
void vgpu_cmd_copy_reply(struct vgpu_cmd *vcmd, u32 len);
void vgpu_cmd_free(struct vgpu_cmd *vcmd);
int vgpu_hostbuf_create(struct vgpu_file *vfile, u64 size, u64 *offset);
int vgpu_hostbuf_destroy(struct vgpu_file *vfile, u64 offset);
void vgpu_hostbuf_free_all(struct vgpu_file *vfile);
int vgpu_mmap(struct file *filp, struct vm_area_struct *vma);

/* vgpu_ioctl.c */
long vgpu_ioctl(struct file *filp, unsigned int cmd, unsigned long arg);

#endif /* VGPU_DRV_H */
