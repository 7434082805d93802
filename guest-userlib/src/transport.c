// SPDX-License-Identifier: MIT
/*
 * transport.c - moves requests to vgpud and replies back, over the local
 * UNIX socket or the /dev/vgpuN character device; the only file that
 * calls socket, ioctl or mmap.
 *
 * Socket transport: requests are appended to one send buffer under
 * send_lock.  Requests that want no reply (launches, async copies, memsets,
 * event records) stay there until the buffer fills or a request that wants
 * a reply flushes it, which keeps their order and amortises the system
 * call.  Replies are matched to waiting calls by sequence number: whichever
 * waiting thread finds nobody reading becomes the reader and hands the
 * replies it reads to their owners (recv_lock, recv_cond), so replies may
 * arrive in any order.
 *
 * Kernel transport: the same requests are collected into a batch of
 * struct vgpu_submit_cmd and handed over with VGPU_IOCTL_SUBMIT; a request
 * that wants a reply goes with the batch, and its thread then waits on
 * the batch's fence (VGPU_IOCTL_FENCE_WAIT) without holding send_lock.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vgpu.h"
#include "../../include/uapi/vgpu_ioctl.h"

#define VGPU_DEFAULT_SOCKET	"/run/vgpud/vgpud.sock"
#define VGPU_DEFAULT_DEVICE	"/dev/vgpu0"
#define SENDBUF_SIZE		(256u << 10)
#define STAGING_HALF		(4u << 20)
#define KBATCH_MAX		256
#define OUTPUT_CHUNK		(64u << 10)
/* Most detached calls awaiting a reply before a sender helps read them. */
#define DETACHED_MAX		1024

static int tp_fd = -1;
static bool tp_kernel;
static uint64_t tp_seq;			/* atomic */

static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static char *sendbuf;			/* send_lock */
static size_t sendlen;			/* send_lock */

static pthread_mutex_t recv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t recv_cond = PTHREAD_COND_INITIALIZER;
static struct vgpu_call *pending;	/* recv_lock: calls awaiting a reply */
static bool reading;			/* recv_lock: a thread reads the socket */
static int tp_dead;			/* recv_lock: connection lost (-errno) */
static int detached;			/* recv_lock: detached calls pending */

/* Kernel batch, send_lock. */
static struct vgpu_submit_cmd kbatch[KBATCH_MAX];
static size_t kcount;

static pthread_mutex_t staging_lock = PTHREAD_MUTEX_INITIALIZER;
static void *staging;
static uint64_t staging_region;

bool vgpu_tp_is_kernel(void)
{
	return tp_kernel;
}

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int kernel_open(const char *path)
{
	struct vgpu_info info = { 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, VGPU_IOCTL_GET_INFO, &info) < 0 ||
	    info.abi_version != VGPU_ABI_VERSION) {
		vgpu_warn("%s: unusable (ABI %u)", path, info.abi_version);
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/**
 * vgpu_tp_open() - connect to vgpud once per process
 *
 * VGPU_SOCKET, when set, names the socket; otherwise /dev/vgpu0 is used
 * when present and the default socket path when not.
 *
 * Return: 0, or -ENODEV when no transport is reachable.
 */
int vgpu_tp_open(void)
{
	const char *path = getenv("VGPU_SOCKET");
	int fd;

	if (tp_fd >= 0)
		return 0;
	if (!path || !*path) {
		if (access(VGPU_DEFAULT_DEVICE, F_OK) == 0) {
			fd = kernel_open(VGPU_DEFAULT_DEVICE);
			if (fd >= 0) {
				tp_kernel = true;
				tp_fd = fd;
				vgpu_info("using %s", VGPU_DEFAULT_DEVICE);
				return 0;
			}
		}
		path = VGPU_DEFAULT_SOCKET;
	}
	sendbuf = malloc(SENDBUF_SIZE);
	if (!sendbuf)
		return -ENOMEM;
	fd = sock_connect(path);
	if (fd < 0) {
		vgpu_err("cannot connect to %s: %s", path, strerror(-fd));
		free(sendbuf);
		sendbuf = NULL;
		return -ENODEV;
	}
	tp_fd = fd;
	vgpu_info("connected to %s", path);
	return 0;
}

/* ---- socket I/O ---------------------------------------------------------- */

static int write_iov_locked(struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };

	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(tp_fd, &mh, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -EPIPE;
		}
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= w;
		}
	}
	return 0;
}

static int flush_locked(void)
{
	struct iovec iov = { sendbuf, sendlen };
	int err;

	if (!sendlen)
		return 0;
	err = write_iov_locked(&iov, 1);
	sendlen = 0;
	return err;
}

/* Appends one request (@a command, @b trailing data) to the send buffer. */
static int append_locked(const void *a, size_t alen, const void *b, size_t blen)
{
	int err;

	if (sendlen + alen + blen > SENDBUF_SIZE) {
		err = flush_locked();
		if (err)
			return err;
	}
	if (alen + blen > SENDBUF_SIZE) {
		struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };

		return write_iov_locked(iov, blen ? 2 : 1);
	}
	memcpy(sendbuf + sendlen, a, alen);
	if (blen)
		memcpy(sendbuf + sendlen + alen, b, blen);
	sendlen += alen + blen;
	return 0;
}

static int read_full(void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = recv(tp_fd, p, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		p += r;
		len -= r;
	}
	return 0;
}

static int discard(size_t len)
{
	char tmp[4096];

	while (len) {
		size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
		int err = read_full(tmp, n);

		if (err)
			return err;
		len -= n;
	}
	return 0;
}

/* Fills @c from a reply whose header is @h and whose rest is @rest bytes. */
static int fill_reply(struct vgpu_call *c, const struct vgpu_resp_hdr *h,
		      size_t rest, const char *mem)
{
	size_t fixed = c->resp_size - sizeof(*h);
	size_t n;
	int err;

	c->status = h->status;
	c->flags = h->flags;
	memcpy(c->resp, h, sizeof(*h));
	memset((char *)c->resp + sizeof(*h), 0, fixed);
	/* A failed reply carries only text (an error log) after the header. */
	if (h->status == VGPU_S_OK) {
		n = rest < fixed ? rest : fixed;
		if (mem) {
			memcpy((char *)c->resp + sizeof(*h), mem, n);
			mem += n;
		} else if ((err = read_full((char *)c->resp + sizeof(*h), n))) {
			return err;
		}
		rest -= n;
	}
	n = c->rdata ? (rest < c->rdata_cap ? rest : c->rdata_cap) : 0;
	if (n) {
		if (mem)
			memcpy(c->rdata, mem, n);
		else if ((err = read_full(c->rdata, n)))
			return err;
	}
	c->rdata_len = n;
	rest -= n;
	return mem ? 0 : discard(rest);
}

/* Reads one reply and hands it to its call; called by the reader only. */
static int read_one_reply(void)
{
	struct vgpu_resp_hdr h;
	struct vgpu_call **pp, *c = NULL;
	int err;

	err = read_full(&h, sizeof(h));
	if (err)
		return err;
	if (h.len < sizeof(h) || h.len > VGPU_MAX_REQ_SIZE + sizeof(h)) {
		vgpu_err("malformed reply (len %u), closing", h.len);
		return -EPROTO;
	}
	pthread_mutex_lock(&recv_lock);
	for (pp = &pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->seq == h.seq) {
			c = *pp;
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&recv_lock);
	if (!c) {
		vgpu_warn("reply for unknown seq %llu dropped",
			  (unsigned long long)h.seq);
		return discard(h.len - sizeof(h));
	}
	err = fill_reply(c, &h, h.len - sizeof(h), NULL);
	if (c->err_slot) {
		/* Nobody waits for it: keep a failure for the context. */
		if (c->status)
			__atomic_store_n(c->err_slot, (int)c->status, __ATOMIC_RELAXED);
		free(c);
		pthread_mutex_lock(&recv_lock);
		detached--;
		pthread_cond_broadcast(&recv_cond);
		pthread_mutex_unlock(&recv_lock);
		return err;
	}
	pthread_mutex_lock(&recv_lock);
	c->done = 1;
	pthread_cond_broadcast(&recv_cond);
	pthread_mutex_unlock(&recv_lock);
	return err;
}

/* ---- kernel I/O ------------------------------------------------------------ */

/* Hands the batch (and @extra) to the driver; @fence gets its fence. */
static int ksubmit_locked(struct vgpu_submit_cmd *extra, uint64_t *fence)
{
	struct vgpu_submit s = { 0 };
	size_t i;
	int err = 0;

	if (extra)
		kbatch[kcount++] = *extra;
	if (!kcount)
		return 0;
	s.cmds = (uintptr_t)kbatch;
	s.count = kcount;
	if (ioctl(tp_fd, VGPU_IOCTL_SUBMIT, &s) < 0)
		err = -errno;
	else if (fence)
		*fence = s.fence;
	/* The driver copied the requests during the ioctl. */
	for (i = 0; i < kcount; i++)
		if (!kbatch[i].resp)
			free((void *)(uintptr_t)kbatch[i].req);
	kcount = 0;
	return err;
}

static int kpost_locked(const void *a, size_t alen, const void *b, size_t blen)
{
	char *req = malloc(alen + blen);

	if (!req)
		return -ENOMEM;
	memcpy(req, a, alen);
	if (blen)
		memcpy(req + alen, b, blen);
	if (kcount == KBATCH_MAX - 1) {
		int err = ksubmit_locked(NULL, NULL);

		if (err) {
			free(req);
			return err;
		}
	}
	kbatch[kcount++] = (struct vgpu_submit_cmd){
		.req = (uintptr_t)req, .req_len = alen + blen,
	};
	return 0;
}

/*
 * Submits the batch with @c's request last and waits for its fence with
 * send_lock released, so that other threads keep submitting meanwhile.
 */
static int kcall(struct vgpu_call *c, const void *a, size_t alen,
		 const void *b, size_t blen)
{
	size_t rlen = c->resp_size + (c->rdata ? c->rdata_cap : 0);
	struct vgpu_submit_cmd cmd = { 0 };
	struct vgpu_fence_wait fw = { .timeout_ns = -1 };
	struct vgpu_resp_hdr *h;
	uint64_t fence = 0;
	char *req, *resp;
	int err;

	req = malloc(alen + blen);
	resp = calloc(1, rlen);
	if (!req || !resp) {
		free(req);
		free(resp);
		return -ENOMEM;
	}
	memcpy(req, a, alen);
	if (blen)
		memcpy(req + alen, b, blen);
	cmd.req = (uintptr_t)req;
	cmd.req_len = alen + blen;
	cmd.resp = (uintptr_t)resp;
	cmd.resp_len = rlen;
	cmd.data = (uintptr_t)c->data;
	cmd.data_len = c->data_len;
	cmd.flags = c->data_flags;
	pthread_mutex_lock(&send_lock);
	err = ksubmit_locked(&cmd, &fence);
	pthread_mutex_unlock(&send_lock);
	fw.fence = fence;
	while (!err && ioctl(tp_fd, VGPU_IOCTL_FENCE_WAIT, &fw) < 0) {
		if (errno != EINTR)
			err = -errno;
	}
	if (!err) {
		h = (struct vgpu_resp_hdr *)resp;
		if (h->len < sizeof(*h) || h->len > rlen)
			err = -EPROTO;
		else
			err = fill_reply(c, h, h->len - sizeof(*h), resp + sizeof(*h));
	}
	c->done = 1;
	free(req);
	free(resp);
	return err;
}

/* ---- requests -------------------------------------------------------------- */

/**
 * vgpu_tp_post() - queue an asynchronous request that gets no reply
 * @h: request header followed by the command's fixed part
 * @cmd_len: bytes of header and fixed part
 * @data: trailing data (copied), or NULL
 * @data_len: bytes at @data
 *
 * Failures of such requests surface as the context's deferred error at its
 * next synchronizing command.
 *
 * Return: 0 or -errno (connection lost).
 */
int vgpu_tp_post(struct vgpu_req_hdr *h, size_t cmd_len, const void *data,
		 size_t data_len)
{
	int err;

	h->flags |= VGPU_REQ_F_NO_REPLY;
	h->seq = __atomic_add_fetch(&tp_seq, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&send_lock);
	if (tp_kernel)
		err = kpost_locked(h, cmd_len, data, data_len);
	else
		err = append_locked(h, cmd_len, data, data_len);
	pthread_mutex_unlock(&send_lock);
	return err;
}

/**
 * vgpu_tp_flush() - hand every queued request to the transport
 *
 * Return: 0 or -errno.
 */
int vgpu_tp_flush(void)
{
	int err;

	pthread_mutex_lock(&send_lock);
	err = tp_kernel ? ksubmit_locked(NULL, NULL) : flush_locked();
	pthread_mutex_unlock(&send_lock);
	return err;
}

static void unregister_call(struct vgpu_call *c)
{
	struct vgpu_call **pp;

	for (pp = &pending; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
}

/**
 * vgpu_tp_send() - send a request whose reply vgpu_tp_wait() collects
 * @c: the call; its buffers stay valid until vgpu_tp_wait() returns
 * @h: request header followed by the command's fixed part
 * @cmd_len: bytes of header and fixed part
 * @data: trailing data, or NULL
 * @data_len: bytes at @data
 *
 * Queued asynchronous requests go first, so the reply also tells that they
 * were accepted in order.
 *
 * Return: 0 or -errno; on error vgpu_tp_wait() must not be called.
 */
int vgpu_tp_send(struct vgpu_call *c, struct vgpu_req_hdr *h, size_t cmd_len,
		 const void *data, size_t data_len)
{
	int err;

	c->done = 0;
	c->rdata_len = 0;
	c->ctx = h->ctx;
	h->seq = c->seq = __atomic_add_fetch(&tp_seq, 1, __ATOMIC_RELAXED);
	if (tp_kernel)
		return kcall(c, h, cmd_len, data, data_len);
	pthread_mutex_lock(&recv_lock);
	if (tp_dead) {
		err = tp_dead;
		pthread_mutex_unlock(&recv_lock);
		return err;
	}
	c->next = pending;
	pending = c;
	pthread_mutex_unlock(&recv_lock);

	pthread_mutex_lock(&send_lock);
	err = append_locked(h, cmd_len, data, data_len);
	if (!err)
		err = flush_locked();
	pthread_mutex_unlock(&send_lock);
	if (err) {
		pthread_mutex_lock(&recv_lock);
		unregister_call(c);
		pthread_mutex_unlock(&recv_lock);
	}
	return err;
}

/*
 * Waits until @c has its reply or, with @c NULL, until few enough detached
 * calls are pending; reads the socket itself when nobody else does.
 */
static int wait_raw(struct vgpu_call *c)
{
	int err;

	if (tp_kernel)
		return !c || c->done ? 0 : -EPROTO;
	pthread_mutex_lock(&recv_lock);
	while (c ? !c->done : detached > DETACHED_MAX / 2) {
		if (tp_dead) {
			if (c)
				unregister_call(c);
			pthread_mutex_unlock(&recv_lock);
			return tp_dead;
		}
		if (!reading) {
			reading = true;
			pthread_mutex_unlock(&recv_lock);
			err = read_one_reply();
			pthread_mutex_lock(&recv_lock);
			reading = false;
			if (err) {
				vgpu_err("connection to vgpud lost");
				tp_dead = err;
			}
			pthread_cond_broadcast(&recv_cond);
			continue;
		}
		pthread_cond_wait(&recv_cond, &recv_lock);
	}
	pthread_mutex_unlock(&recv_lock);
	return 0;
}

/**
 * vgpu_tp_send_detached() - send a request whose reply nobody waits for
 * @h: request header followed by the command's fixed part
 * @cmd_len: bytes of header and fixed part
 * @err_slot: where a failure status is stored when the reply comes
 *
 * For requests that must be answered (a device-to-host copy into pinned
 * memory) but whose caller does not block: whichever thread reads replies
 * next consumes it.  The kernel transport has no detached requests; there
 * the call waits.
 *
 * Return: 0 or -errno.
 */
int vgpu_tp_send_detached(struct vgpu_req_hdr *h, size_t cmd_len, int *err_slot)
{
	struct vgpu_call *c;
	int err;

	if (tp_kernel) {
		struct vgpu_resp_hdr rh;
		struct vgpu_call kc = { .resp = &rh, .resp_size = sizeof(rh) };

		return vgpu_tp_call(&kc, h, cmd_len, NULL, 0);
	}
	/* Bound the replies that can pile up unread in the socket. */
	pthread_mutex_lock(&recv_lock);
	err = detached >= DETACHED_MAX;
	pthread_mutex_unlock(&recv_lock);
	if (err) {
		err = vgpu_tp_flush();
		if (!err)
			err = wait_raw(NULL);
		if (err)
			return err;
	}
	c = calloc(1, sizeof(*c) + sizeof(struct vgpu_resp_hdr));
	if (!c)
		return -ENOMEM;
	c->resp = c + 1;
	c->resp_size = sizeof(struct vgpu_resp_hdr);
	c->err_slot = err_slot;
	c->ctx = h->ctx;
	h->seq = c->seq = __atomic_add_fetch(&tp_seq, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&recv_lock);
	if (tp_dead) {
		err = tp_dead;
		pthread_mutex_unlock(&recv_lock);
		free(c);
		return err;
	}
	c->next = pending;
	pending = c;
	detached++;
	pthread_mutex_unlock(&recv_lock);

	pthread_mutex_lock(&send_lock);
	err = append_locked(h, cmd_len, NULL, 0);
	pthread_mutex_unlock(&send_lock);
	if (err) {
		pthread_mutex_lock(&recv_lock);
		unregister_call(c);
		detached--;
		pthread_mutex_unlock(&recv_lock);
		free(c);
	}
	return err;
}

/* Writes the context's pending kernel printf output to stdout. */
static void drain_output(uint64_t ctx)
{
	struct vgpu_req_hdr h;
	struct vgpu_resp_hdr rh;
	struct vgpu_call c;
	char *buf = malloc(OUTPUT_CHUNK);
	int i;

	if (!buf)
		return;
	for (i = 0; i < 1024; i++) {
		memset(&c, 0, sizeof(c));
		c.resp = &rh;
		c.resp_size = sizeof(rh);
		c.rdata = buf;
		c.rdata_cap = OUTPUT_CHUNK;
		vgpu_hdr(&h, VGPU_CMD_OUTPUT_READ, ctx, 0, sizeof(h));
		if (vgpu_tp_send(&c, &h, sizeof(h), NULL, 0) || wait_raw(&c) ||
		    c.status != VGPU_S_OK)
			break;
		fwrite(buf, 1, c.rdata_len, stdout);
		if (!(c.flags & VGPU_RESP_F_OUTPUT) || !c.rdata_len)
			break;
	}
	fflush(stdout);
	free(buf);
}

/**
 * vgpu_tp_wait() - wait for the reply of a call sent with vgpu_tp_send()
 * @c: the call
 *
 * Return: 0, the device status encoded with VGPU_ESTATUS(), or -errno.
 */
int vgpu_tp_wait(struct vgpu_call *c)
{
	int err = wait_raw(c);

	if (err)
		return err;
	if ((c->flags & VGPU_RESP_F_OUTPUT) && c->ctx)
		drain_output(c->ctx);
	return c->status ? VGPU_ESTATUS(c->status) : 0;
}

/**
 * vgpu_tp_call() - send a request and wait for its reply
 * @c: the call (reply buffers)
 * @h: request header followed by the command's fixed part
 * @cmd_len: bytes of header and fixed part
 * @data: trailing data, or NULL
 * @data_len: bytes at @data
 *
 * Return: as vgpu_tp_wait().
 */
int vgpu_tp_call(struct vgpu_call *c, struct vgpu_req_hdr *h, size_t cmd_len,
		 const void *data, size_t data_len)
{
	int err = vgpu_tp_send(c, h, cmd_len, data, data_len);

	return err ? err : vgpu_tp_wait(c);
}

int vgpu_simple_call(uint32_t cmd, uint64_t ctx, uint64_t stream)
{
	struct vgpu_req_hdr h;
	struct vgpu_resp_hdr rh;
	struct vgpu_call c = { .resp = &rh, .resp_size = sizeof(rh) };

	vgpu_hdr(&h, cmd, ctx, stream, sizeof(h));
	return vgpu_tp_call(&c, &h, sizeof(h), NULL, 0);
}

/* ---- shared host memory ------------------------------------------------------ */

/* REGION_REGISTER: the memfd travels as SCM_RIGHTS with the request. */
static int region_register(int memfd, size_t size, uint64_t *region)
{
	struct vgpu_cmd_region cmd = { 0 };
	struct vgpu_resp_id r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &cmd, sizeof(cmd) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	ssize_t w;
	int err;

	vgpu_hdr(&cmd.hdr, VGPU_CMD_REGION_REGISTER, 0, 0, sizeof(cmd));
	cmd.size = size;
	cmd.hdr.seq = c.seq = __atomic_add_fetch(&tp_seq, 1, __ATOMIC_RELAXED);
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &memfd, sizeof(int));

	pthread_mutex_lock(&recv_lock);
	c.next = pending;
	pending = &c;
	pthread_mutex_unlock(&recv_lock);
	pthread_mutex_lock(&send_lock);
	err = flush_locked();
	if (!err) {
		do {
			w = sendmsg(tp_fd, &mh, MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			err = -EPIPE;
		else if ((size_t)w < sizeof(cmd)) {
			struct iovec rest = { (char *)&cmd + w, sizeof(cmd) - w };

			err = write_iov_locked(&rest, 1);
		}
	}
	pthread_mutex_unlock(&send_lock);
	if (err) {
		pthread_mutex_lock(&recv_lock);
		unregister_call(&c);
		pthread_mutex_unlock(&recv_lock);
		return err;
	}
	err = vgpu_tp_wait(&c);
	if (!err)
		*region = r.id;
	return err;
}

/**
 * vgpu_tp_hostmem_alloc() - host memory the device copies from and to
 * @size: bytes
 * @ptr: out, the mapping
 * @region: out, region id for memcpy commands (0 on the kernel transport,
 *          where copies name the pages themselves)
 *
 * Return: 0 or -errno.
 */
int vgpu_tp_hostmem_alloc(size_t size, void **ptr, uint64_t *region)
{
	size_t len = (size + 4095) & ~(size_t)4095;
	void *p;
	int fd, err;

	if (!len)
		len = 4096;
	if (tp_kernel) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		*ptr = p;
		*region = 0;
		return 0;
	}
	fd = memfd_create("vgpu-host", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) < 0) {
		close(fd);
		return -ENOMEM;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -ENOMEM;
	}
	err = region_register(fd, len, region);
	/* vgpud holds its own mapping now; the descriptor is not needed. */
	close(fd);
	if (err) {
		munmap(p, len);
		return err;
	}
	*ptr = p;
	return 0;
}

/**
 * vgpu_tp_hostmem_free() - release memory from vgpu_tp_hostmem_alloc()
 * @ptr: the mapping
 * @size: the size it was allocated with
 * @region: its region id
 *
 * Return: 0 or -errno.
 */
int vgpu_tp_hostmem_free(void *ptr, size_t size, uint64_t region)
{
	size_t len = (size + 4095) & ~(size_t)4095;
	int err = 0;

	if (!len)
		len = 4096;
	if (!tp_kernel) {
		struct vgpu_cmd_id cmd;
		struct vgpu_resp_hdr rh;
		struct vgpu_call c = { .resp = &rh, .resp_size = sizeof(rh) };

		vgpu_hdr(&cmd.hdr, VGPU_CMD_REGION_UNREGISTER, 0, 0, sizeof(cmd));
		cmd.id = region;
		err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	}
	munmap(ptr, len);
	return err;
}

void vgpu_tp_staging_lock(void)
{
	pthread_mutex_lock(&staging_lock);
}

void vgpu_tp_staging_unlock(void)
{
	pthread_mutex_unlock(&staging_lock);
}

/**
 * vgpu_tp_staging() - the connection's staging region for pageable copies
 * @ptr: out, start of two halves of @half bytes
 * @region: out, its region id
 * @half: out, bytes per half
 *
 * Context: call with the staging lock held.
 * Return: 0 or -errno.
 */
int vgpu_tp_staging(void **ptr, uint64_t *region, size_t *half)
{
	int err;

	if (!staging) {
		err = vgpu_tp_hostmem_alloc(2 * STAGING_HALF, &staging,
					    &staging_region);
		if (err) {
			staging = NULL;
			return err;
		}
	}
	*ptr = staging;
	*region = staging_region;
	*half = STAGING_HALF;
	return 0;
}
