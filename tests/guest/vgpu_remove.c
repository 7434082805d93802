// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device removal with files open: unbinding the driver while a process
 * holds /dev/vgpu0, a context and a mapped host buffer must leave that
 * process with clean errors, and binding again must bring the device back.
 * Run last: it takes the device away for a moment.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vgpu_test.h"

#define DRV_DIR "/sys/bus/virtio/drivers/vgpu_virtio"

/* The virtio device the driver is bound to ("virtioN"), or NULL. */
static char *bound_device(void)
{
	static char name[NAME_MAX + 1];
	DIR *d = opendir(DRV_DIR);
	struct dirent *e;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, "virtio", 6)) {
			snprintf(name, sizeof(name), "%s", e->d_name);
			closedir(d);
			return name;
		}
	}
	closedir(d);
	return NULL;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

TEST(unbind_with_open_file)
{
	struct vgpu_hostbuf hb = { .size = 4096 };
	struct vgpu_fence_wait fw = { .timeout_ns = -1 };
	struct vgpu_info info = {};
	struct vgpu_req_hdr req;
	struct vgpu_resp_hdr resp;
	struct pollfd pfd;
	char *dev, path[PATH_MAX];
	__u64 ctx;
	char *p;
	int fd, i;

	dev = bound_device();
	ASSERT_NE(NULL, dev);
	fd = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vgpu_ctx_create(fd, &ctx));
	ASSERT_EQ(0, ioctl(fd, VGPU_IOCTL_HOSTBUF_CREATE, &hb));
	p = mmap(NULL, hb.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 hb.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x77, hb.size);

	vgpu_hdr(&req, VGPU_CMD_NOP, sizeof(req), 0, 1);
	ASSERT_EQ(0, vgpu_submit1(fd, &req, sizeof(req), &resp, sizeof(resp),
				  0, NULL, 0, 0, &fw.fence));

	ASSERT_EQ(0, write_file(DRV_DIR "/unbind", dev));
	ASSERT_NE(0, access(VGPU_TEST_DEV, F_OK));

	/* Every ioctl now fails cleanly, poll reports the hang-up. */
	ASSERT_ERRNO(ENODEV, ioctl(fd, VGPU_IOCTL_GET_INFO, &info));
	ASSERT_ERRNO(ENODEV, ioctl(fd, VGPU_IOCTL_FENCE_WAIT, &fw));
	ASSERT_ERRNO(ENODEV, vgpu_submit1(fd, &req, sizeof(req), &resp,
					  sizeof(resp), 0, NULL, 0, 0, NULL));
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_TRUE(pfd.revents & (POLLERR | POLLHUP));
	/* The mapping still holds its pages. */
	for (i = 0; i < 4096; i++)
		ASSERT_EQ(0x77, p[i]);
	ASSERT_EQ(0, munmap(p, hb.size));
	ASSERT_EQ(0, close(fd));

	/* Binding again gives a working device. */
	ASSERT_EQ(0, write_file(DRV_DIR "/bind", dev));
	snprintf(path, sizeof(path), "%s/%s", DRV_DIR, dev);
	ASSERT_EQ(0, access(path, F_OK));
	for (i = 0; i < 100 && access(VGPU_TEST_DEV, F_OK); i++)
		usleep(10000);
	fd = open(VGPU_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, VGPU_IOCTL_GET_INFO, &info));
	ASSERT_EQ(0, vgpu_call(fd, &req, sizeof(req), &resp, sizeof(resp)));
	close(fd);
}

int main(int argc, char **argv)
{
	if (access(VGPU_TEST_DEV, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("no %s: no vgpu-virtio device\n", VGPU_TEST_DEV);
	}
	return test_harness_run(argc, argv);
}
