// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * raw.c - protocol abuse on vgpud's local socket, below libvgpu: malformed
 * framing, oversized and truncated requests, ids and memory of another
 * connection, out-of-bounds regions.  Every test ends by checking that the
 * daemon still answers a new client.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "itest.h"
#include "../../../include/uapi/vgpu_virtio.h"
#include "../../lib/sockio.h"

#define HDR sizeof(struct vgpu_req_hdr)
#define RHDR sizeof(struct vgpu_resp_hdr)

/* Replies carry up to this much in the tests (DTOH inline reads included). */
#define RESP_CAP (VGPU_MAX_INLINE + 4096)
static unsigned char resp[RESP_CAP];
static uint64_t next_seq = 1;

static int raw_connect(void)
{
	const char *path = getenv("VGPU_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A daemon that never answers fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one reply into resp; returns its status, or -1 (error, timeout),
 * -2 (connection closed) or -3 (malformed reply). */
static long read_reply(int fd)
{
	struct vgpu_resp_hdr *h = (void *)resp;
	int r = recv_all(fd, resp, RHDR);

	if (r)
		return r > 0 ? -2 : -1;
	if (h->len < RHDR || h->len > RESP_CAP)
		return -3;
	if (recv_all(fd, resp + RHDR, h->len - RHDR))
		return -1;
	return h->status;
}

static void hdr(void *req, uint32_t cmd, uint32_t len, uint64_t ctx,
		uint64_t stream)
{
	struct vgpu_req_hdr *h = req;

	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->len = len;
	h->ctx = ctx;
	h->stream = stream;
	h->seq = next_seq++;
}

/* Sends @len bytes of request @req and returns the reply status; checks
 * that the reply echoes the sequence number. */
static long xfer(int fd, const void *req, size_t len)
{
	const struct vgpu_req_hdr *h = req;
	long st;

	if (send_all(fd, req, len))
		return -1;
	st = read_reply(fd);
	if (st >= 0 && ((struct vgpu_resp_hdr *)resp)->seq != h->seq)
		return -4;
	return st;
}

static long nop(int fd)
{
	struct vgpu_req_hdr h;

	hdr(&h, VGPU_CMD_NOP, HDR, 0, 0);
	return xfer(fd, &h, HDR);
}

/* True when a brand-new client gets its NOP answered. */
static int daemon_serves(void)
{
	int fd = raw_connect();
	long st;

	if (fd < 0)
		return 0;
	st = nop(fd);
	close(fd);
	return st == VGPU_S_OK;
}

#define CHECK_SERVES() CHECK(daemon_serves())

/* Creates a context on @fd; 0 on failure. */
static uint64_t ctx_create(int fd)
{
	struct vgpu_req_hdr h;

	hdr(&h, VGPU_CMD_CTX_CREATE, HDR, 0, 0);
	if (xfer(fd, &h, HDR) != VGPU_S_OK)
		return 0;
	return ((struct vgpu_resp_id *)resp)->id;
}

static uint64_t mem_alloc(int fd, uint64_t ctx, uint64_t size)
{
	struct vgpu_cmd_mem c = { .size = size };

	hdr(&c, VGPU_CMD_MEM_ALLOC, sizeof(c), ctx, 0);
	if (xfer(fd, &c, sizeof(c)) != VGPU_S_OK)
		return 0;
	return ((struct vgpu_resp_mem *)resp)->dptr;
}

static long memset_dev(int fd, uint64_t ctx, uint64_t dptr, uint64_t count,
		       uint32_t value, uint32_t flags)
{
	struct vgpu_cmd_memset c = { .dptr = dptr, .count = count,
				     .value = value, .elem_size = 1 };

	hdr(&c, VGPU_CMD_MEMSET, sizeof(c), ctx, 0);
	c.hdr.flags = flags;
	if (flags & VGPU_REQ_F_NO_REPLY)
		return send_all(fd, &c, sizeof(c)) ? -1 : 0;
	return xfer(fd, &c, sizeof(c));
}

/* DTOH inline of @size bytes; the data is at resp + RHDR. */
static long read_dev(int fd, uint64_t ctx, uint64_t dptr, uint64_t size)
{
	struct vgpu_cmd_memcpy c = { .dptr = dptr, .size = size,
				     .region = VGPU_REGION_INLINE };

	hdr(&c, VGPU_CMD_MEMCPY_DTOH, sizeof(c), ctx, 0);
	return xfer(fd, &c, sizeof(c));
}

static long sync_ctx(int fd, uint64_t ctx)
{
	struct vgpu_req_hdr h;

	hdr(&h, VGPU_CMD_CTX_SYNC, HDR, ctx, 0);
	return xfer(fd, &h, HDR);
}

/* Loads the test PTX; returns the module id or 0. */
static uint64_t module_load(int fd, uint64_t ctx)
{
	size_t n = test_ptx_size + 1, len = sizeof(struct vgpu_cmd_module_load) + n;
	struct vgpu_cmd_module_load *c = calloc(1, len);
	uint64_t id = 0;

	if (!c)
		return 0;
	hdr(c, VGPU_CMD_MODULE_LOAD, len, ctx, 0);
	c->kind = VGPU_IMAGE_PTX;
	c->size = n;
	memcpy(c + 1, test_ptx, n);
	if (xfer(fd, c, len) == VGPU_S_OK)
		id = ((struct vgpu_resp_id *)resp)->id;
	free(c);
	return id;
}

/* FUNC_GET of @name with a correct name_len; status, reply in resp. */
static long func_get(int fd, uint64_t ctx, uint64_t module, const char *name)
{
	unsigned char buf[sizeof(struct vgpu_cmd_symbol) + VGPU_MAX_NAME];
	struct vgpu_cmd_symbol *c = (void *)buf;
	size_t nl = strlen(name) + 1;

	memset(buf, 0, sizeof(buf));
	hdr(c, VGPU_CMD_FUNC_GET, sizeof(*c) + nl, ctx, 0);
	c->module = module;
	c->name_len = nl;
	memcpy(c + 1, name, nl);
	return xfer(fd, c, sizeof(*c) + nl);
}

TEST(nop_round_trip_echoes_the_sequence_number)
{
	int fd = raw_connect();
	struct vgpu_resp_hdr *r = (void *)resp;

	CHECK(fd >= 0);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	CHECK_EQ(r->len, RHDR);
	CHECK_EQ(r->seq, next_seq - 1);
	close(fd);
}

TEST(get_info_reports_protocol_version_1_and_device_memory)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;
	struct vgpu_resp_info *ri = (void *)resp;

	CHECK(fd >= 0);
	hdr(&h, VGPU_CMD_GET_INFO, HDR, 0, 0);
	CHECK_EQ(xfer(fd, &h, HDR), VGPU_S_OK);
	CHECK_EQ(ri->hdr.len, sizeof(*ri));
	CHECK_EQ(ri->version, VGPU_PROTOCOL_VERSION);
	CHECK(ri->total_mem > 0);
	CHECK(ri->name[0] != 0);
	close(fd);
}

TEST(pipelined_requests_are_all_answered_with_their_sequence_numbers)
{
	enum { N = 64 };
	struct vgpu_req_hdr h[N];
	int seen[N] = { 0 }, fd = raw_connect();
	uint64_t first = next_seq;

	CHECK(fd >= 0);
	for (int i = 0; i < N; i++)
		hdr(&h[i], VGPU_CMD_NOP, HDR, 0, 0);
	CHECK(send_all(fd, h, sizeof(h)) == 0);
	for (int i = 0; i < N; i++) {
		uint64_t s;

		CHECK_EQ(read_reply(fd), VGPU_S_OK);
		s = ((struct vgpu_resp_hdr *)resp)->seq - first;
		CHECK(s < N && !seen[s]);
		seen[s] = 1;
	}
	close(fd);
}

TEST(an_unknown_command_is_not_supported_and_the_connection_goes_on)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;

	CHECK(fd >= 0);
	hdr(&h, 0x7777, HDR, 0, 0);
	CHECK_EQ(xfer(fd, &h, HDR), VGPU_S_NOT_SUPPORTED);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
	CHECK_SERVES();
}

TEST(a_nonzero_reserved_header_field_is_invalid_value)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;

	CHECK(fd >= 0);
	hdr(&h, VGPU_CMD_NOP, HDR, 0, 0);
	h.reserved = 1;
	CHECK_EQ(xfer(fd, &h, HDR), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

TEST(an_unknown_request_flag_is_invalid_value)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;

	CHECK(fd >= 0);
	hdr(&h, VGPU_CMD_NOP, HDR, 0, 0);
	h.flags = 0x80;
	CHECK_EQ(xfer(fd, &h, HDR), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

TEST(a_context_command_naming_no_context_is_rejected)
{
	int fd = raw_connect();
	struct vgpu_cmd_mem c = { .size = 4096 };
	long st;

	CHECK(fd >= 0);
	hdr(&c, VGPU_CMD_MEM_ALLOC, sizeof(c), 0, 0);
	st = xfer(fd, &c, sizeof(c));
	CHECK(st == VGPU_S_INVALID_CONTEXT || st == VGPU_S_INVALID_HANDLE);
	hdr(&c, VGPU_CMD_MEM_ALLOC, sizeof(c), 0x123456789ull, 0);
	st = xfer(fd, &c, sizeof(c));
	CHECK(st == VGPU_S_INVALID_CONTEXT || st == VGPU_S_INVALID_HANDLE);
	close(fd);
	CHECK_SERVES();
}

TEST(a_fixed_part_of_the_wrong_length_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx;
	struct vgpu_cmd_mem c = { .size = 4096 };

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	/* Honest framing (len is what is sent), but short of the struct. */
	hdr(&c, VGPU_CMD_MEM_ALLOC, sizeof(c) - 8, ctx, 0);
	CHECK_EQ(xfer(fd, &c, sizeof(c) - 8), VGPU_S_INVALID_VALUE);
	hdr(&c, VGPU_CMD_NOP, HDR + 8, 0, 0);
	CHECK_EQ(xfer(fd, &c, HDR + 8), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

/* After a request whose framing cannot be trusted, vgpud may answer
 * INVALID_VALUE and/or close; it must not answer OK, hang, or die. */
static int rejected_or_closed(int fd)
{
	long st = read_reply(fd);

	if (st == VGPU_S_INVALID_VALUE) {
		st = read_reply(fd);	/* then a close, or nothing more */
		return st == -2 || st == -1 ? 1 : st != VGPU_S_OK;
	}
	return st == -2;
}

TEST(a_length_shorter_than_the_header_is_rejected)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;
	struct timeval tv = { .tv_sec = 2 };

	CHECK(fd >= 0);
	hdr(&h, VGPU_CMD_NOP, 16, 0, 0);
	CHECK(send_all(fd, &h, HDR) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(rejected_or_closed(fd));
	close(fd);
	CHECK_SERVES();
}

TEST(a_length_above_the_maximum_is_rejected_without_reading_it)
{
	int fd = raw_connect();
	struct vgpu_req_hdr h;

	CHECK(fd >= 0);
	hdr(&h, VGPU_CMD_MODULE_LOAD, VGPU_MAX_REQ_SIZE + 1, 1, 0);
	CHECK(send_all(fd, &h, HDR) == 0);
	/* Nothing more is sent: a daemon that waits for the body times out
	 * here and fails the test. */
	CHECK(rejected_or_closed(fd));
	close(fd);
	hdr(&h, VGPU_CMD_NOP, 0xffffffffu, 0, 0);
	fd = raw_connect();
	CHECK(fd >= 0);
	CHECK(send_all(fd, &h, HDR) == 0);
	CHECK(rejected_or_closed(fd));
	close(fd);
	CHECK_SERVES();
}

TEST(a_request_truncated_by_a_disconnect_leaves_the_daemon_serving)
{
	int fd = raw_connect();
	unsigned char buf[256];
	struct vgpu_req_hdr *h = (void *)buf;

	CHECK(fd >= 0);
	memset(buf, 0, sizeof(buf));
	hdr(h, VGPU_CMD_MODULE_LOAD, 100000, 1, 0);
	CHECK(send_all(fd, buf, sizeof(buf)) == 0);
	close(fd);
	/* Also a header cut in half. */
	fd = raw_connect();
	CHECK(fd >= 0);
	hdr(h, VGPU_CMD_NOP, HDR, 0, 0);
	CHECK(send_all(fd, buf, HDR / 2) == 0);
	close(fd);
	CHECK_SERVES();
}

TEST(garbage_bytes_get_no_success_and_the_daemon_serves_others)
{
	unsigned char junk[4096];
	unsigned int x = 0x9e3779b9;
	int fd = raw_connect();
	long st;

	CHECK(fd >= 0);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (unsigned char)x;
	}
	CHECK(send_all(fd, junk, sizeof(junk)) == 0 || errno == EPIPE ||
	      errno == ECONNRESET);
	/* Whatever comes back must not be a success. */
	shutdown(fd, SHUT_WR);
	while ((st = read_reply(fd)) >= 0)
		CHECK(st != VGPU_S_OK);
	close(fd);
	CHECK_SERVES();
}

TEST(ids_from_another_connection_are_invalid_handle)
{
	int a = raw_connect(), b = raw_connect();
	uint64_t ca, cb, mod;
	long st;

	CHECK(a >= 0 && b >= 0);
	CHECK((ca = ctx_create(a)) != 0);
	CHECK((cb = ctx_create(b)) != 0);
	CHECK((mod = module_load(a, ca)) != 0);
	CHECK_EQ(func_get(a, ca, mod, "addValue"), VGPU_S_OK);
	/* B names A's module with its own context. */
	CHECK_EQ(func_get(b, cb, mod, "addValue"), VGPU_S_INVALID_HANDLE);
	/* B names A's context. */
	st = func_get(b, ca, mod, "addValue");
	CHECK(st == VGPU_S_INVALID_CONTEXT || st == VGPU_S_INVALID_HANDLE);
	st = sync_ctx(b, ca);
	CHECK(st == VGPU_S_INVALID_CONTEXT || st == VGPU_S_INVALID_HANDLE);
	/* A is unaffected. */
	CHECK_EQ(func_get(a, ca, mod, "addValue"), VGPU_S_OK);
	close(a);
	close(b);
	CHECK_SERVES();
}

TEST(an_id_of_another_kind_is_invalid_handle)
{
	int fd = raw_connect();
	uint64_t ctx, mod, ev;
	struct vgpu_cmd_create cc = { 0 };
	struct vgpu_cmd_id ci = { 0 };

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((mod = module_load(fd, ctx)) != 0);
	hdr(&cc, VGPU_CMD_EVENT_CREATE, sizeof(cc), ctx, 0);
	CHECK_EQ(xfer(fd, &cc, sizeof(cc)), VGPU_S_OK);
	ev = ((struct vgpu_resp_id *)resp)->id;
	/* An event id where a module id belongs, and the reverse. */
	hdr(&ci, VGPU_CMD_MODULE_UNLOAD, sizeof(ci), ctx, 0);
	ci.id = ev;
	CHECK_EQ(xfer(fd, &ci, sizeof(ci)), VGPU_S_INVALID_HANDLE);
	hdr(&ci, VGPU_CMD_EVENT_DESTROY, sizeof(ci), ctx, 0);
	ci.id = mod;
	CHECK_EQ(xfer(fd, &ci, sizeof(ci)), VGPU_S_INVALID_HANDLE);
	/* A module id as a stream. */
	hdr(&ci, VGPU_CMD_STREAM_SYNC, HDR, ctx, mod);
	CHECK_EQ(xfer(fd, &ci, HDR), VGPU_S_INVALID_HANDLE);
	/* Both still work as what they are. */
	hdr(&ci, VGPU_CMD_EVENT_DESTROY, sizeof(ci), ctx, 0);
	ci.id = ev;
	CHECK_EQ(xfer(fd, &ci, sizeof(ci)), VGPU_S_OK);
	hdr(&ci, VGPU_CMD_MODULE_UNLOAD, sizeof(ci), ctx, 0);
	ci.id = mod;
	CHECK_EQ(xfer(fd, &ci, sizeof(ci)), VGPU_S_OK);
	close(fd);
}

TEST(device_memory_of_another_connection_is_out_of_reach)
{
	int a = raw_connect(), b = raw_connect();
	uint64_t ca, cb, da;
	struct vgpu_cmd_mem f = { 0 };

	CHECK(a >= 0 && b >= 0);
	CHECK((ca = ctx_create(a)) != 0);
	CHECK((cb = ctx_create(b)) != 0);
	CHECK((da = mem_alloc(a, ca, 4096)) != 0);
	CHECK_EQ(memset_dev(a, ca, da, 4096, 0x5a, 0), VGPU_S_OK);
	CHECK(mem_alloc(b, cb, 4096) != 0);
	CHECK_EQ(read_dev(b, cb, da, 16), VGPU_S_INVALID_VALUE);
	CHECK_EQ(memset_dev(b, cb, da, 16, 0, 0), VGPU_S_INVALID_VALUE);
	hdr(&f, VGPU_CMD_MEM_FREE, sizeof(f), cb, 0);
	f.dptr = da;
	CHECK_EQ(xfer(b, &f, sizeof(f)), VGPU_S_INVALID_VALUE);
	/* A's memory kept its content. */
	CHECK_EQ(read_dev(a, ca, da, 4096), VGPU_S_OK);
	for (int i = 0; i < 4096; i++)
		CHECK_EQ(resp[RHDR + i], 0x5a);
	close(a);
	close(b);
	CHECK_SERVES();
}

TEST(an_inline_copy_with_fewer_bytes_than_its_size_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx, d;
	unsigned char buf[sizeof(struct vgpu_cmd_memcpy) + 64];
	struct vgpu_cmd_memcpy *c = (void *)buf;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 4096)) != 0);
	memset(buf, 0xab, sizeof(buf));
	hdr(c, VGPU_CMD_MEMCPY_HTOD, sizeof(buf), ctx, 0);
	c->dptr = d;
	c->size = 128;	/* only 64 follow */
	c->region = VGPU_REGION_INLINE;
	c->offset = 0;
	c->nsg = 0;
	c->padding = 0;
	CHECK_EQ(xfer(fd, buf, sizeof(buf)), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

TEST(an_inline_read_above_the_inline_limit_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx, d;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 2 * VGPU_MAX_INLINE)) != 0);
	CHECK_EQ(read_dev(fd, ctx, d, VGPU_MAX_INLINE), VGPU_S_OK);
	CHECK_EQ(read_dev(fd, ctx, d, VGPU_MAX_INLINE + 1),
		 VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

/* Sends REGION_REGISTER of @size with @memfd (-1: none); status, id in
 * resp. */
static long region_register(int fd, int memfd, uint64_t size)
{
	struct vgpu_cmd_region c = { .size = size };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = sizeof(c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long st;

	hdr(&c, VGPU_CMD_REGION_REGISTER, sizeof(c), 0, 0);
	if (memfd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
	}
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)sizeof(c))
		return -1;
	st = read_reply(fd);
	if (st >= 0 && ((struct vgpu_resp_hdr *)resp)->seq != c.hdr.seq)
		return -4;
	return st;
}

/* HTOD of @size bytes from region @region at @offset. */
static long copy_from_region(int fd, uint64_t ctx, uint64_t d, uint64_t region,
			     uint64_t offset, uint64_t size)
{
	struct vgpu_cmd_memcpy c = { .dptr = d, .size = size,
				     .region = region, .offset = offset };

	hdr(&c, VGPU_CMD_MEMCPY_HTOD, sizeof(c), ctx, 0);
	return xfer(fd, &c, sizeof(c));
}

TEST(a_registered_region_copies_only_within_its_bounds)
{
	int fd = raw_connect(), mfd = memfd_create("vgpu-test", MFD_CLOEXEC);
	uint64_t ctx, d, reg;
	unsigned char *p;

	CHECK(fd >= 0 && mfd >= 0);
	CHECK(ftruncate(mfd, 4096) == 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 0x3c, 4096);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 8192)) != 0);
	CHECK_EQ(region_register(fd, mfd, 4096), VGPU_S_OK);
	reg = ((struct vgpu_resp_id *)resp)->id;
	CHECK(reg != VGPU_REGION_SG && reg != VGPU_REGION_INLINE);
	CHECK_EQ(copy_from_region(fd, ctx, d, reg, 0, 4096), VGPU_S_OK);
	CHECK_EQ(read_dev(fd, ctx, d + 4095, 1), VGPU_S_OK);
	CHECK_EQ(resp[RHDR], 0x3c);
	CHECK_EQ(copy_from_region(fd, ctx, d, reg, 4000, 200),
		 VGPU_S_INVALID_VALUE);
	CHECK_EQ(copy_from_region(fd, ctx, d, reg, 4097, 0),
		 VGPU_S_INVALID_VALUE);
	CHECK_EQ(copy_from_region(fd, ctx, d, reg, ~0ull - 10, 100),
		 VGPU_S_INVALID_VALUE);
	CHECK_EQ(copy_from_region(fd, ctx, d, reg + 1000, 0, 16),
		 VGPU_S_INVALID_HANDLE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	munmap(p, 4096);
	close(mfd);
	close(fd);
	CHECK_SERVES();
}

TEST(a_region_without_a_descriptor_is_invalid_value)
{
	int fd = raw_connect();

	CHECK(fd >= 0);
	CHECK_EQ(region_register(fd, -1, 4096), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

TEST(a_region_larger_than_its_memfd_is_refused)
{
	int fd = raw_connect(), mfd = memfd_create("vgpu-test", MFD_CLOEXEC);
	uint64_t ctx, d, reg;
	long st;

	CHECK(fd >= 0 && mfd >= 0);
	CHECK(ftruncate(mfd, 4096) == 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 1 << 20)) != 0);
	st = region_register(fd, mfd, 1 << 20);
	if (st == VGPU_S_OK) {
		/* Accepted: then touching the part past the file must fail
		 * cleanly rather than fault inside vgpud. */
		reg = ((struct vgpu_resp_id *)resp)->id;
		st = copy_from_region(fd, ctx, d, reg, 8192, 4096);
		CHECK(st != VGPU_S_OK && st >= 0);
	} else {
		CHECK_EQ(st, VGPU_S_INVALID_VALUE);
	}
	close(mfd);
	close(fd);
	CHECK_SERVES();
}

TEST(a_launch_with_the_wrong_parameter_size_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx, mod, fn, d;
	unsigned char buf[sizeof(struct vgpu_cmd_launch) + 32];
	struct vgpu_cmd_launch *c = (void *)buf;
	struct vgpu_resp_func *rf = (void *)resp;
	int n = 1, v = 3;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((mod = module_load(fd, ctx)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 4)) != 0);
	CHECK_EQ(func_get(fd, ctx, mod, "addValue"), VGPU_S_OK);
	fn = rf->func;
	CHECK_EQ(rf->nparams, 3);
	CHECK_EQ(rf->param_bytes, 16);
	memset(buf, 0, sizeof(buf));
	memcpy(c + 1, &d, 8);
	memcpy((char *)(c + 1) + 8, &n, 4);
	memcpy((char *)(c + 1) + 12, &v, 4);
	c->func = fn;
	for (int i = 0; i < 3; i++)
		c->grid[i] = c->block[i] = 1;
	/* 12 bytes of parameters where the kernel takes 16. */
	hdr(c, VGPU_CMD_LAUNCH, sizeof(*c) + 12, ctx, 0);
	c->param_bytes = 12;
	CHECK_EQ(xfer(fd, buf, sizeof(*c) + 12), VGPU_S_INVALID_VALUE);
	/* param_bytes says 16, but 12 follow. */
	hdr(c, VGPU_CMD_LAUNCH, sizeof(*c) + 12, ctx, 0);
	c->param_bytes = 16;
	CHECK_EQ(xfer(fd, buf, sizeof(*c) + 12), VGPU_S_INVALID_VALUE);
	/* A zero block dimension. */
	hdr(c, VGPU_CMD_LAUNCH, sizeof(*c) + 16, ctx, 0);
	c->block[1] = 0;
	CHECK_EQ(xfer(fd, buf, sizeof(*c) + 16), VGPU_S_INVALID_VALUE);
	/* The correct launch works and ran exactly once. */
	c->block[1] = 1;
	CHECK_EQ(memset_dev(fd, ctx, d, 4, 0, 0), VGPU_S_OK);
	hdr(c, VGPU_CMD_LAUNCH, sizeof(*c) + 16, ctx, 0);
	CHECK_EQ(xfer(fd, buf, sizeof(*c) + 16), VGPU_S_OK);
	CHECK_EQ(read_dev(fd, ctx, d, 4), VGPU_S_OK);
	CHECK_EQ(*(int *)(resp + RHDR), 3);
	close(fd);
}

TEST(a_symbol_name_without_its_nul_or_past_the_request_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx, mod;
	unsigned char buf[sizeof(struct vgpu_cmd_symbol) + 16];
	struct vgpu_cmd_symbol *c = (void *)buf;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((mod = module_load(fd, ctx)) != 0);
	memset(buf, 0, sizeof(buf));
	memcpy(c + 1, "addValueXXXXXXXX", 16);	/* no NUL */
	hdr(c, VGPU_CMD_FUNC_GET, sizeof(buf), ctx, 0);
	c->module = mod;
	c->name_len = 16;
	CHECK_EQ(xfer(fd, buf, sizeof(buf)), VGPU_S_INVALID_VALUE);
	memcpy(c + 1, "addValue", 9);
	hdr(c, VGPU_CMD_FUNC_GET, sizeof(buf), ctx, 0);
	c->name_len = 4000;	/* past the request */
	CHECK_EQ(xfer(fd, buf, sizeof(buf)), VGPU_S_INVALID_VALUE);
	hdr(c, VGPU_CMD_FUNC_GET, sizeof(*c) + 9, ctx, 0);
	c->name_len = 9;
	CHECK_EQ(xfer(fd, buf, sizeof(*c) + 9), VGPU_S_OK);
	close(fd);
}

TEST(a_module_image_size_that_disagrees_with_the_request_is_invalid_value)
{
	int fd = raw_connect();
	uint64_t ctx;
	unsigned char buf[sizeof(struct vgpu_cmd_module_load) + 32];
	struct vgpu_cmd_module_load *c = (void *)buf;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	memset(buf, 0, sizeof(buf));
	memcpy(c + 1, ".version 7.0\n", 13);
	hdr(c, VGPU_CMD_MODULE_LOAD, sizeof(buf), ctx, 0);
	c->kind = VGPU_IMAGE_PTX;
	c->size = 1 << 20;
	CHECK_EQ(xfer(fd, buf, sizeof(buf)), VGPU_S_INVALID_VALUE);
	hdr(c, VGPU_CMD_MODULE_LOAD, sizeof(buf), ctx, 0);
	c->size = 32;
	c->kind = 99;
	CHECK_EQ(xfer(fd, buf, sizeof(buf)), VGPU_S_INVALID_VALUE);
	CHECK_EQ(nop(fd), VGPU_S_OK);
	close(fd);
}

TEST(no_reply_requests_are_silent_and_their_errors_are_deferred_once)
{
	int fd = raw_connect();
	uint64_t ctx, d;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 64)) != 0);
	CHECK_EQ(memset_dev(fd, ctx, d, 64, 0x42, VGPU_REQ_F_NO_REPLY), 0);
	/* The next reply is the NOP's: the memset sent none. */
	CHECK_EQ(nop(fd), VGPU_S_OK);
	CHECK_EQ(memset_dev(fd, ctx, d + 32, 64, 0, VGPU_REQ_F_NO_REPLY), 0);
	CHECK_EQ(sync_ctx(fd, ctx), VGPU_S_INVALID_VALUE);
	CHECK_EQ(sync_ctx(fd, ctx), VGPU_S_OK);
	CHECK_EQ(read_dev(fd, ctx, d, 64), VGPU_S_OK);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(resp[RHDR + i], 0x42);
	close(fd);
}

TEST(an_allocation_beyond_device_memory_is_out_of_memory)
{
	int fd = raw_connect();
	uint64_t ctx;
	struct vgpu_cmd_mem c = { .size = ~0ull >> 1 };

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	hdr(&c, VGPU_CMD_MEM_ALLOC, sizeof(c), ctx, 0);
	CHECK_EQ(xfer(fd, &c, sizeof(c)), VGPU_S_OUT_OF_MEMORY);
	CHECK(mem_alloc(fd, ctx, 4096) != 0);
	close(fd);
}

TEST(the_daemon_still_serves_a_new_client_after_all_of_it)
{
	int fd = raw_connect();
	uint64_t ctx, d;

	CHECK(fd >= 0);
	CHECK((ctx = ctx_create(fd)) != 0);
	CHECK((d = mem_alloc(fd, ctx, 4096)) != 0);
	CHECK_EQ(memset_dev(fd, ctx, d, 4096, 0x11, 0), VGPU_S_OK);
	CHECK_EQ(read_dev(fd, ctx, d + 100, 4), VGPU_S_OK);
	CHECK_EQ(resp[RHDR + 3], 0x11);
	close(fd);
}

TAP_MAIN(TAP_ENTRY(nop_round_trip_echoes_the_sequence_number),
	 TAP_ENTRY(get_info_reports_protocol_version_1_and_device_memory),
	 TAP_ENTRY(pipelined_requests_are_all_answered_with_their_sequence_numbers),
	 TAP_ENTRY(an_unknown_command_is_not_supported_and_the_connection_goes_on),
	 TAP_ENTRY(a_nonzero_reserved_header_field_is_invalid_value),
	 TAP_ENTRY(an_unknown_request_flag_is_invalid_value),
	 TAP_ENTRY(a_context_command_naming_no_context_is_rejected),
	 TAP_ENTRY(a_fixed_part_of_the_wrong_length_is_invalid_value),
	 TAP_ENTRY(a_length_shorter_than_the_header_is_rejected),
	 TAP_ENTRY(a_length_above_the_maximum_is_rejected_without_reading_it),
	 TAP_ENTRY(a_request_truncated_by_a_disconnect_leaves_the_daemon_serving),
	 TAP_ENTRY(garbage_bytes_get_no_success_and_the_daemon_serves_others),
	 TAP_ENTRY(ids_from_another_connection_are_invalid_handle),
	 TAP_ENTRY(an_id_of_another_kind_is_invalid_handle),
	 TAP_ENTRY(device_memory_of_another_connection_is_out_of_reach),
	 TAP_ENTRY(an_inline_copy_with_fewer_bytes_than_its_size_is_invalid_value),
	 TAP_ENTRY(an_inline_read_above_the_inline_limit_is_invalid_value),
	 TAP_ENTRY(a_registered_region_copies_only_within_its_bounds),
	 TAP_ENTRY(a_region_without_a_descriptor_is_invalid_value),
	 TAP_ENTRY(a_region_larger_than_its_memfd_is_refused),
	 TAP_ENTRY(a_launch_with_the_wrong_parameter_size_is_invalid_value),
	 TAP_ENTRY(a_symbol_name_without_its_nul_or_past_the_request_is_invalid_value),
	 TAP_ENTRY(a_module_image_size_that_disagrees_with_the_request_is_invalid_value),
	 TAP_ENTRY(no_reply_requests_are_silent_and_their_errors_are_deferred_once),
	 TAP_ENTRY(an_allocation_beyond_device_memory_is_out_of_memory),
	 TAP_ENTRY(the_daemon_still_serves_a_new_client_after_all_of_it))
