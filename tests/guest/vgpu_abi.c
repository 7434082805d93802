// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The /dev/vgpuN ioctl ABI: every ioctl, and every way user space can get
 * one wrong, each rejected with the documented errno and nothing else
 * changed.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vgpu_test.h"

static long page_size;

/* An address that is certainly not mapped: a page we unmapped. */
static void *unmapped_page(void)
{
	void *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, page_size);
	return p;
}

FIXTURE(vgpu) {
	int fd;
	__u64 ctx;
	__u64 dptr;
};

FIXTURE_SETUP(vgpu)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->fd = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no " VGPU_TEST_DEV ": no vgpu-virtio device");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vgpu_ctx_create(self->fd, &self->ctx));
	ASSERT_NE(0, self->ctx);
	ASSERT_EQ(0, vgpu_mem_alloc(self->fd, self->ctx, 1 << 20,
				    &self->dptr));
}

FIXTURE_TEARDOWN(vgpu)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* --- GET_INFO ----------------------------------------------------------- */

TEST_F(vgpu, get_info)
{
	struct vgpu_info info = {};

	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_GET_INFO, &info));
	EXPECT_EQ(VGPU_ABI_VERSION, info.abi_version);
	EXPECT_EQ(VGPU_PROTOCOL_VERSION, info.protocol_version);
	EXPECT_TRUE(info.features & VGPU_INFO_F_FENCE_POLL);
	EXPECT_TRUE(info.features & VGPU_INFO_F_HOSTBUF);
	EXPECT_LE(2, info.num_queues);
	EXPECT_LE(1, info.max_sg);
	EXPECT_LE(info.max_sg, VGPU_MAX_SG);
	EXPECT_NE(0, info.total_mem);
}

TEST_F(vgpu, get_info_rejects_flags)
{
	struct vgpu_info info = { .flags = 1 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_GET_INFO, &info));
}

TEST_F(vgpu, get_info_rejects_reserved0)
{
	struct vgpu_info info = { .reserved0 = 1 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_GET_INFO, &info));
}

TEST_F(vgpu, get_info_rejects_reserved)
{
	struct vgpu_info info = {};

	info.reserved[3] = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_GET_INFO, &info));
}

TEST_F(vgpu, get_info_bad_pointer)
{
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_GET_INFO, NULL));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_GET_INFO,
				   unmapped_page()));
}

TEST_F(vgpu, unknown_ioctl)
{
	struct vgpu_info info = {};
	char big[512] = {};

	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(VGPU_IOCTL_TYPE, 0x7f,
						   struct vgpu_info), &info));
	/* A known number with the wrong size is a different ioctl. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
						  VGPU_IOCTL_TYPE, 0, 512),
				   big));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR('x', 0, struct vgpu_info),
				   &info));
}

/* --- SUBMIT --------------------------------------------------------------- */

TEST_F(vgpu, submit_nop)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 0x1234);
	ASSERT_EQ(0, vgpu_call(self->fd, &req, sizeof(req), &resp,
			       sizeof(resp)));
	EXPECT_EQ(0x1234, resp.seq);
	EXPECT_EQ(sizeof(resp), resp.len);
}

TEST_F(vgpu, submit_get_info)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_info resp;

	vgpu_hdr(&req, VGPU_CMD_GET_INFO, sizeof(req), 0, 7);
	ASSERT_EQ(0, vgpu_call(self->fd, &req, sizeof(req), &resp,
			       sizeof(resp)));
	EXPECT_EQ(VGPU_PROTOCOL_VERSION, resp.version);
	EXPECT_EQ(7, resp.hdr.seq);
	EXPECT_NE(0, resp.name[0]);
}

TEST_F(vgpu, submit_batch_of_nops)
{
	struct vgpu_req_hdr req[16];
	struct vgpu_resp_hdr resp[16];
	struct vgpu_submit_cmd c[16] = {};
	struct vgpu_submit s = {
		.cmds = (uintptr_t)c, .count = 16, .flags = VGPU_SUBMIT_F_WAIT,
	};
	int i;

	memset(resp, 0, sizeof(resp));
	for (i = 0; i < 16; i++) {
		vgpu_hdr(&req[i], VGPU_CMD_NOP, sizeof(req[i]), 0, 100 + i);
		c[i].req = (uintptr_t)&req[i];
		c[i].req_len = sizeof(req[i]);
		c[i].resp = (uintptr_t)&resp[i];
		c[i].resp_len = sizeof(resp[i]);
	}
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
	EXPECT_NE(0, s.fence);
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, resp[i].status);
		EXPECT_EQ(100 + i, resp[i].seq);
	}
}

TEST_F(vgpu, submit_rejects_flags)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0, 1u << 31,
					  NULL));
}

TEST_F(vgpu, submit_rejects_reserved)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	struct vgpu_submit_cmd c = {
		.req = (uintptr_t)&req, .req_len = sizeof(req),
		.resp = (uintptr_t)&resp, .resp_len = sizeof(resp),
	};
	struct vgpu_submit s = { .cmds = (uintptr_t)&c, .count = 1 };

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	s.reserved[1] = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
}

TEST_F(vgpu, submit_rejects_bad_count)
{
	struct vgpu_req_hdr req;
	struct vgpu_submit_cmd c = {
		.req = (uintptr_t)&req, .req_len = sizeof(req),
	};
	struct vgpu_submit s = { .cmds = (uintptr_t)&c, .count = 0 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
	s.count = 1u << 20;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
}

TEST_F(vgpu, submit_bad_pointers)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	struct vgpu_submit s = { .cmds = (uintptr_t)unmapped_page(),
				 .count = 1 };
	void *ro;

	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_SUBMIT, NULL));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	/* Request unmapped. */
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, unmapped_page(),
					  sizeof(req), &resp, sizeof(resp),
					  0, NULL, 0, 0, NULL));
	/* Reply buffer unmapped. */
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, &req, sizeof(req),
					  unmapped_page(), sizeof(resp),
					  0, NULL, 0, 0, NULL));
	/* Reply buffer read-only: the driver could not write the reply. */
	ro = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, &req, sizeof(req), ro,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
	munmap(ro, page_size);
}

TEST_F(vgpu, submit_cmd_rejects_flags_and_reserved)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	struct vgpu_submit_cmd c = {
		.req = (uintptr_t)&req, .req_len = sizeof(req),
		.resp = (uintptr_t)&resp, .resp_len = sizeof(resp),
	};
	struct vgpu_submit s = { .cmds = (uintptr_t)&c, .count = 1 };

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	c.flags = 1u << 7;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
	c.flags = 0;
	c.reserved0 = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_SUBMIT, &s));
}

TEST_F(vgpu, submit_rejects_bad_lengths)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	/* Shorter than a header. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req) - 8,
					  &resp, sizeof(resp), 0, NULL, 0, 0,
					  NULL));
	/* Longer than the largest request. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req,
					  VGPU_MAX_REQ_SIZE + 1, &resp,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
	/* Header length disagrees with req_len. */
	req.len = sizeof(req) + 8;
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
	req.len = sizeof(req);
	/* No room for a reply header on a command that gets a reply. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  sizeof(resp) - 1, 0, NULL, 0, 0,
					  NULL));
	/* A reply buffer far larger than any reply. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  64u << 20, 0, NULL, 0, 0, NULL));
}

TEST_F(vgpu, submit_rejects_data_mismatch)
{
	struct vgpu_cmd_memcpy mc;
	struct vgpu_resp_hdr resp;
	char buf[64];

	vgpu_memcpy_req(&mc, VGPU_CMD_MEMCPY_HTOD, self->ctx, self->dptr,
			sizeof(buf));
	/* Data without a direction. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), 0, buf, sizeof(buf),
					  0, NULL));
	/* A direction without data. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_IN,
					  buf, 0, 0, NULL));
	/* Both directions. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_ALL, buf,
					  sizeof(buf), 0, NULL));
	/* The wrong direction for HTOD. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_OUT,
					  buf, sizeof(buf), 0, NULL));
	/* Size in the request differs from data_len. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_IN,
					  buf, sizeof(buf) - 1, 0, NULL));
	/* Data on a command that is not a copy. */
	mc.hdr.cmd = VGPU_CMD_NOP;
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_IN,
					  buf, sizeof(buf), 0, NULL));
}

TEST_F(vgpu, submit_rejects_user_sg_table)
{
	struct {
		struct vgpu_cmd_memcpy mc;
		struct vgpu_sg_entry sg;
	} req;
	struct vgpu_resp_hdr resp;

	/* A table written by user space would let it name any guest page. */
	vgpu_memcpy_req(&req.mc, VGPU_CMD_MEMCPY_DTOH, self->ctx, self->dptr,
			4096);
	req.mc.hdr.len = sizeof(req);
	req.mc.nsg = 1;
	req.sg.addr = 0x100000;
	req.sg.len = 4096;
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
	/* Nor may it pre-fill nsg on a copy whose data the driver pins. */
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req.mc, sizeof(req.mc),
					  &resp, sizeof(resp),
					  VGPU_CMD_F_DATA_OUT, &req.sg, 16, 0,
					  NULL));
}

TEST_F(vgpu, submit_data_unmapped)
{
	struct vgpu_cmd_memcpy mc;
	struct vgpu_resp_hdr resp;

	vgpu_memcpy_req(&mc, VGPU_CMD_MEMCPY_HTOD, self->ctx, self->dptr,
			page_size);
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_IN,
					  unmapped_page(), page_size, 0,
					  NULL));
	/* Wrapping around the address space. */
	mc.size = 2 * page_size;
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_IN,
					  (void *)-page_size, 2 * page_size,
					  0, NULL));
}

TEST_F(vgpu, submit_dtoh_into_read_only)
{
	struct vgpu_cmd_memcpy mc;
	struct vgpu_resp_hdr resp;
	void *ro = mmap(NULL, page_size, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	vgpu_memcpy_req(&mc, VGPU_CMD_MEMCPY_DTOH, self->ctx, self->dptr,
			page_size);
	ASSERT_ERRNO(EFAULT, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp,
					  sizeof(resp), VGPU_CMD_F_DATA_OUT,
					  ro, page_size, 0, NULL));
	munmap(ro, page_size);
}

/* Copies from and to unaligned buffers that cross pages come back intact. */
TEST_F(vgpu, memcpy_unaligned_round_trip)
{
	size_t len = 3 * page_size + 123;
	uint8_t *src = malloc(len + 64), *dst = malloc(len + 64);
	size_t i;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	for (i = 0; i < len; i++)
		src[i + 3] = (uint8_t)(i * 7 + 1);
	memset(dst, 0, len + 64);
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_HTOD, self->ctx,
			       self->dptr, src + 3, len));
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_DTOH, self->ctx,
			       self->dptr, dst + 5, len));
	ASSERT_EQ(0, memcmp(src + 3, dst + 5, len));
	/* Nothing outside the buffer was written. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, dst[i]);
	ASSERT_EQ(0, dst[len + 5]);
	free(src);
	free(dst);
}

/* One command moves a buffer far larger than one page table's worth. */
TEST_F(vgpu, memcpy_large_one_command)
{
	size_t len = 64u << 20;
	__u64 dptr;
	__u32 *src, *dst;
	size_t i;

	struct vgpu_info info = {};

	/* VGPU_TEST_LARGE_MIB=1024 in a big enough VM moves 1 GiB. */
	if (getenv("VGPU_TEST_LARGE_MIB"))
		len = strtoull(getenv("VGPU_TEST_LARGE_MIB"), NULL, 0) << 20;
	/* Several copies of this program at once share the VM's RAM. */
	if (getenv("VGPU_TEST_SMALL"))
		len = 4u << 20;
	/* max_sg pages always fit one command, merged or not. */
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_GET_INFO, &info));
	if (len > (size_t)info.max_sg * page_size)
		len = (size_t)info.max_sg * page_size;
	TH_LOG("one command of %zu MiB", len >> 20);

	src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(0, vgpu_mem_alloc(self->fd, self->ctx, len, &dptr));
	for (i = 0; i < len / 4; i++)
		src[i] = (__u32)i * 2654435761u;
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_HTOD, self->ctx,
			       dptr, src, len));
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_DTOH, self->ctx,
			       dptr, dst, len));
	ASSERT_EQ(0, memcmp(src, dst, len));
	munmap(src, len);
	munmap(dst, len);
}

/* Inline copies: a request and a reply of a megabyte each. */
TEST_F(vgpu, memcpy_inline_round_trip)
{
	size_t len = VGPU_MAX_INLINE;
	struct vgpu_cmd_memcpy *req = malloc(sizeof(*req) + len);
	struct vgpu_resp_hdr *resp = malloc(sizeof(*resp) + len);
	__u8 *data = (__u8 *)(req + 1);
	size_t i;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp);
	vgpu_memcpy_req(req, VGPU_CMD_MEMCPY_HTOD, self->ctx, self->dptr, len);
	req->hdr.len = sizeof(*req) + len;
	req->region = VGPU_REGION_INLINE;
	for (i = 0; i < len; i++)
		data[i] = (__u8)(i * 13 + 5);
	ASSERT_EQ(0, vgpu_call(self->fd, req, sizeof(*req) + len, resp,
			       sizeof(*resp)));

	vgpu_memcpy_req(req, VGPU_CMD_MEMCPY_DTOH, self->ctx, self->dptr, len);
	req->region = VGPU_REGION_INLINE;
	ASSERT_EQ(0, vgpu_call(self->fd, req, sizeof(*req), resp,
			       sizeof(*resp) + len));
	ASSERT_EQ(sizeof(*resp) + len, resp->len);
	for (i = 0; i < len; i++)
		ASSERT_EQ((__u8)(i * 13 + 5), ((__u8 *)(resp + 1))[i]);
	free(req);
	free(resp);
}

/*
 * Two processes of a VM choose the same sequence numbers (every copy here
 * uses 4).  A short copy of one file that finishes while a long copy of
 * another is still running must still get its own reply, data and all.
 */
TEST_F(vgpu, same_seq_from_two_files_gets_each_its_own_reply)
{
	size_t big = getenv("VGPU_TEST_SMALL") ? 8 << 20 : 32 << 20;
	struct vgpu_fence_wait fw = { .timeout_ns = -1 };
	struct vgpu_cmd_memcpy mc, *req;
	struct vgpu_resp_hdr resp_a, *resp_b;
	size_t small = 4096, i;
	__u64 ctx2, dptr2, dptr_big;
	__u8 *src;
	int fd2;

	fd2 = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vgpu_ctx_create(fd2, &ctx2));
	ASSERT_EQ(0, vgpu_mem_alloc(fd2, ctx2, small, &dptr2));
	ASSERT_EQ(0, vgpu_mem_alloc(self->fd, self->ctx, big, &dptr_big));
	req = malloc(sizeof(*req) + small);
	resp_b = malloc(sizeof(*resp_b) + small);
	src = mmap(NULL, big, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp_b);
	ASSERT_NE(MAP_FAILED, src);
	memset(src, 0x5a, big);

	/* File 2's buffer holds a known pattern. */
	vgpu_memcpy_req(req, VGPU_CMD_MEMCPY_HTOD, ctx2, dptr2, small);
	req->hdr.len = sizeof(*req) + small;
	req->region = VGPU_REGION_INLINE;
	for (i = 0; i < small; i++)
		((__u8 *)(req + 1))[i] = (__u8)(i * 7 + 3);
	ASSERT_EQ(0, vgpu_call(fd2, req, sizeof(*req) + small, resp_b,
			       sizeof(*resp_b)));

	/* File 1: a long copy, not waited for. */
	vgpu_memcpy_req(&mc, VGPU_CMD_MEMCPY_HTOD, self->ctx, dptr_big, big);
	memset(&resp_a, 0xa5, sizeof(resp_a));
	ASSERT_EQ(0, vgpu_submit1(self->fd, &mc, sizeof(mc), &resp_a,
				  sizeof(resp_a), VGPU_CMD_F_DATA_IN, src, big,
				  0, &fw.fence));

	/* File 2: a short read-back with the same sequence number. */
	vgpu_memcpy_req(req, VGPU_CMD_MEMCPY_DTOH, ctx2, dptr2, small);
	req->region = VGPU_REGION_INLINE;
	ASSERT_EQ(0, vgpu_call(fd2, req, sizeof(*req), resp_b,
			       sizeof(*resp_b) + small));
	ASSERT_EQ(sizeof(*resp_b) + small, resp_b->len);
	EXPECT_EQ(4, resp_b->seq);
	for (i = 0; i < small; i++)
		ASSERT_EQ((__u8)(i * 7 + 3), ((__u8 *)(resp_b + 1))[i]);

	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	EXPECT_EQ(0, resp_a.status);
	EXPECT_EQ(sizeof(resp_a), resp_a.len);
	EXPECT_EQ(4, resp_a.seq);
	munmap(src, big);
	free(req);
	free(resp_b);
	close(fd2);
}

/* --- contexts belong to the file that created them ---------------------- */

TEST_F(vgpu, foreign_context_is_refused)
{
	struct vgpu_cmd_mem req = { .size = 4096 };
	struct vgpu_resp_mem resp;
	int fd2 = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	__u64 ctx2;

	ASSERT_LE(0, fd2);
	vgpu_hdr(&req.hdr, VGPU_CMD_MEM_ALLOC, sizeof(req), self->ctx, 1);
	ASSERT_ERRNO(EPERM, vgpu_submit1(fd2, &req, sizeof(req), &resp,
					 sizeof(resp), 0, NULL, 0, 0, NULL));
	/* Its own context works on the same file. */
	ASSERT_EQ(0, vgpu_ctx_create(fd2, &ctx2));
	req.hdr.ctx = ctx2;
	ASSERT_EQ(0, vgpu_call(fd2, &req, sizeof(req), &resp, sizeof(resp)));
	/* And the other file cannot use or destroy that one. */
	ASSERT_ERRNO(EPERM, vgpu_ctx_destroy(self->fd, ctx2));
	close(fd2);
}

TEST_F(vgpu, destroyed_context_is_refused)
{
	__u64 ctx, dptr;

	ASSERT_EQ(0, vgpu_ctx_create(self->fd, &ctx));
	ASSERT_EQ(0, vgpu_ctx_destroy(self->fd, ctx));
	ASSERT_ERRNO(EPERM, vgpu_mem_alloc(self->fd, ctx, 4096, &dptr));
}

TEST_F(vgpu, ctx_create_needs_reply)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;

	/* The driver must read the new id to know who owns it. */
	vgpu_hdr(&req, VGPU_CMD_CTX_CREATE, sizeof(req), 0, 1);
	ASSERT_ERRNO(EINVAL, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
}

/* --- fences and poll ----------------------------------------------------- */

TEST_F(vgpu, fence_wait_and_poll)
{
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	struct vgpu_fence_wait fw = { .timeout_ns = -1 };
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 9);
	memset(&resp, 0, sizeof(resp));
	ASSERT_EQ(0, vgpu_submit1(self->fd, &req, sizeof(req), &resp,
				  sizeof(resp), 0, NULL, 0, 0, &fw.fence));
	ASSERT_NE(0, fw.fence);
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	EXPECT_EQ(9, resp.seq);
	/* A signalled fence stays signalled; polling it returns at once. */
	fw.timeout_ns = 0;
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	/* Nothing in flight: readable. */
	ASSERT_EQ(1, poll(&pfd, 1, -1));
	ASSERT_TRUE(pfd.revents & POLLIN);
}

TEST_F(vgpu, fence_wait_rejects_bad_input)
{
	struct vgpu_fence_wait fw = { .fence = 0 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	/* A fence this file never issued. */
	fw.fence = 1u << 30;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	fw.fence = 1;
	fw.flags = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	fw.flags = 0;
	fw.reserved0 = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, NULL));
}

TEST_F(vgpu, foreign_fence_is_refused)
{
	struct vgpu_fence_wait fw = { .timeout_ns = -1 };
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	int fd2 = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	int i;

	ASSERT_LE(0, fd2);
	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	/* The fixture's file issued two fences; this one issues eight. */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, vgpu_submit1(fd2, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0,
					  VGPU_SUBMIT_F_WAIT, &fw.fence));
	ASSERT_EQ(0, ioctl(fd2, VGPU_IOCTL_FENCE_WAIT, &fw));
	/* Fences are per file: fd2's eighth names nothing on the other. */
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	close(fd2);
}

/* Asynchronous commands without replies, then a synchronizing one. */
TEST_F(vgpu, no_reply_commands)
{
	struct vgpu_cmd_memset ms = { .dptr = 0, .count = 256, .value = 0x5a,
				      .elem_size = 1 };
	struct vgpu_req_hdr sync;
	struct vgpu_resp_hdr resp;
	uint8_t out[256];
	int i;

	vgpu_hdr(&ms.hdr, VGPU_CMD_MEMSET, sizeof(ms), self->ctx, 1);
	ms.hdr.flags = VGPU_REQ_F_NO_REPLY;
	ms.dptr = self->dptr;
	ASSERT_EQ(0, vgpu_submit1(self->fd, &ms, sizeof(ms), NULL, 0, 0, NULL,
				  0, 0, NULL));
	vgpu_hdr(&sync, VGPU_CMD_CTX_SYNC, sizeof(sync), self->ctx, 2);
	ASSERT_EQ(0, vgpu_call(self->fd, &sync, sizeof(sync), &resp,
			       sizeof(resp)));
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_DTOH, self->ctx,
			       self->dptr, out, sizeof(out)));
	for (i = 0; i < 256; i++)
		ASSERT_EQ(0x5a, out[i]);
}

/* Closing a file with commands in flight must be safe. */
TEST_F(vgpu, close_with_commands_in_flight)
{
	struct vgpu_cmd_memset ms = { .count = 1 << 20, .value = 1,
				      .elem_size = 1 };
	int fd2 = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	__u64 ctx, dptr;
	int i;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vgpu_ctx_create(fd2, &ctx));
	ASSERT_EQ(0, vgpu_mem_alloc(fd2, ctx, 1 << 20, &dptr));
	vgpu_hdr(&ms.hdr, VGPU_CMD_MEMSET, sizeof(ms), ctx, 1);
	ms.hdr.flags = VGPU_REQ_F_NO_REPLY;
	ms.dptr = dptr;
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, vgpu_submit1(fd2, &ms, sizeof(ms), NULL, 0, 0,
					  NULL, 0, 0, NULL));
	close(fd2);
	/* The device keeps serving the other file. */
	ASSERT_EQ(0, vgpu_mem_alloc(self->fd, self->ctx, 4096, &dptr));
}

/* --- host buffers ---------------------------------------------------------- */

TEST_F(vgpu, hostbuf_mmap_and_copy)
{
	struct vgpu_hostbuf hb = { .size = 16 * page_size };
	uint8_t *p, out[4096];
	size_t i;

	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	ASSERT_NE(0, hb.mmap_offset);
	p = mmap(NULL, hb.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 hb.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < hb.size; i++)
		ASSERT_EQ(0, p[i]);
	for (i = 0; i < sizeof(out); i++)
		p[i] = (uint8_t)(i ^ 0x3c);
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_HTOD, self->ctx,
			       self->dptr, p, sizeof(out)));
	ASSERT_EQ(0, vgpu_copy(self->fd, VGPU_CMD_MEMCPY_DTOH, self->ctx,
			       self->dptr, out, sizeof(out)));
	ASSERT_EQ(0, memcmp(p, out, sizeof(out)));
	ASSERT_EQ(0, munmap(p, hb.size));
	hb.size = 0;
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_DESTROY, &hb));
}

TEST_F(vgpu, hostbuf_rejects_bad_input)
{
	struct vgpu_hostbuf hb = { .size = 0 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	hb.size = page_size;
	hb.flags = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	hb.flags = 0;
	hb.reserved[0] = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	hb.reserved[0] = 0;
	hb.size = ~0ull;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, NULL));
	/* Destroying what does not exist. */
	hb.size = 0;
	hb.mmap_offset = 1ull << 40;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_DESTROY,
				   &hb));
}

TEST_F(vgpu, hostbuf_mmap_errors)
{
	struct vgpu_hostbuf hb = { .size = 2 * page_size };
	int fd2 = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	void *p;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	/* Private mappings would hide writes from the device. */
	ASSERT_EQ(MAP_FAILED, mmap(NULL, hb.size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, self->fd, hb.mmap_offset));
	ASSERT_EQ(EINVAL, errno);
	/* Longer than the buffer. */
	ASSERT_EQ(MAP_FAILED, mmap(NULL, 2 * hb.size, PROT_READ, MAP_SHARED,
				   self->fd, hb.mmap_offset));
	ASSERT_EQ(ENXIO, errno);
	/* An offset that names no buffer, and one of another file. */
	ASSERT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED,
				   self->fd, hb.mmap_offset + page_size));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED,
				   fd2, hb.mmap_offset));
	ASSERT_EQ(EINVAL, errno);
	/* A mapping outlives HOSTBUF_DESTROY; a new mmap does not. */
	p = mmap(NULL, hb.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 hb.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	hb.size = 0;
	ASSERT_EQ(0, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_DESTROY, &hb));
	memset(p, 1, 2 * page_size);
	ASSERT_EQ(0, munmap(p, 2 * page_size));
	ASSERT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED,
				   self->fd, hb.mmap_offset));
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, VGPU_IOCTL_HOSTBUF_DESTROY,
				   &hb));
	close(fd2);
}

/*
 * This harness runs a test body even when its fixture setup skipped, so a
 * missing device is reported once, for the whole program.
 */
int main(int argc, char **argv)
{
	if (access(VGPU_TEST_DEV, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("no %s: no vgpu-virtio device\n", VGPU_TEST_DEV);
	}
	return test_harness_run(argc, argv);
}
