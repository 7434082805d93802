// SPDX-License-Identifier: MIT
/*
 * lost.c - when vgpud dies under a client, every call fails with
 * CUDA_ERROR_DEVICE_UNAVAILABLE instead of hanging or killing the
 * process (SIGPIPE).
 *
 * usage: lost VGPUD_PID   (VGPU_SOCKET names that daemon's socket)
 */
#include <cuda.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>

#include "tap.h"

static pid_t daemon_pid;

TEST(calls_after_the_daemon_died_fail_cleanly)
{
	CUdevice dev;
	CUcontext ctx;
	CUdeviceptr d;
	char buf[256] = { 0 };
	int i;

	CHECK_EQ(cuInit(0), CUDA_SUCCESS);
	CHECK_EQ(cuDeviceGet(&dev, 0), CUDA_SUCCESS);
	CHECK_EQ(cuCtxCreate(&ctx, NULL, 0, dev), CUDA_SUCCESS);
	CHECK_EQ(cuMemAlloc(&d, sizeof(buf)), CUDA_SUCCESS);
	CHECK_EQ(kill(daemon_pid, SIGKILL), 0);
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_DEVICE_UNAVAILABLE);
	CHECK_EQ(cuMemcpyHtoD(d, buf, sizeof(buf)), CUDA_ERROR_DEVICE_UNAVAILABLE);
	/* Queued requests may be accepted, but nothing hangs or kills us. */
	for (i = 0; i < 100000; i++) {
		CUresult r = cuMemsetD8(d, 1, sizeof(buf));

		CHECK(r == CUDA_SUCCESS || r == CUDA_ERROR_DEVICE_UNAVAILABLE);
	}
	CHECK_EQ(cuMemAlloc(&d, 64), CUDA_ERROR_DEVICE_UNAVAILABLE);
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_DEVICE_UNAVAILABLE);
}

int main(int argc, char **argv)
{
	static const struct tap_test t[] = {
		TAP_ENTRY(calls_after_the_daemon_died_fail_cleanly),
	};

	if (argc != 2)
		return 2;
	daemon_pid = (pid_t)atoi(argv[1]);
	return tap_run(t, 1);
}
