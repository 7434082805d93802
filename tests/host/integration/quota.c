// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * quota.c - two processes of one tenant (VGPU_TENANT, which vgpud was
 * started with as --tenant name=...,quota=4M) share its device-memory
 * quota: what one holds, the other cannot allocate, and both see the
 * quota as the device's total memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define MIB (1ull << 20)

/* The second process: runs once the first holds 3 MiB of the 4 MiB. */
static int child(int rfd)
{
	CUdevice dev;
	CUcontext ctx;
	CUdeviceptr d;
	size_t free_b = 0, total = 0;
	char c;
	int bad = 0;

	if (read(rfd, &c, 1) != 1)
		return 2;
	if (cuInit(0) || cuDeviceGet(&dev, 0) ||
	    cuCtxCreate(&ctx, NULL, 0, dev))
		return 3;
	if (cuMemGetInfo(&free_b, &total) != CUDA_SUCCESS ||
	    total != 4 * MIB || free_b != MIB) {
		printf("# child: mem info free %zu total %zu, expected %llu / %llu\n",
		       free_b, total, MIB, 4 * MIB);
		bad = 1;
	}
	if (cuMemAlloc(&d, 2 * MIB) != CUDA_ERROR_OUT_OF_MEMORY) {
		printf("# child: 2 MiB past the shared quota was not refused\n");
		bad = 1;
	}
	if (cuMemAlloc(&d, MIB) != CUDA_SUCCESS) {
		printf("# child: the last free MiB of the quota was refused\n");
		bad = 1;
	}
	cuCtxDestroy(ctx);
	return bad;
}

TEST(two_processes_of_one_tenant_share_its_memory_quota)
{
	CUdevice dev;
	CUcontext ctx;
	CUdeviceptr d, e;
	size_t free_b = 0, total = 0;
	int fds[2], status = -1;
	pid_t pid;

	CHECK(getenv("VGPU_TENANT") != NULL);
	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		_exit(child(fds[0]));
	}
	close(fds[0]);
	CHECK_CU(cuInit(0), CUDA_SUCCESS);
	CHECK_CU(cuDeviceGet(&dev, 0), CUDA_SUCCESS);
	CHECK_CU(cuCtxCreate(&ctx, NULL, 0, dev), CUDA_SUCCESS);
	CHECK_CU(cuMemGetInfo(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(total, 4 * MIB);
	CHECK_CU(cuMemAlloc(&d, 3 * MIB), CUDA_SUCCESS);
	CHECK_CU(cuMemAlloc(&e, 2 * MIB), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK(write(fds[1], "g", 1) == 1);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* what this process frees is the tenant's again */
	CHECK_CU(cuMemFree(d), CUDA_SUCCESS);
	CHECK_CU(cuMemAlloc(&d, 3 * MIB), CUDA_SUCCESS);
	CHECK_CU(cuMemFree(d), CUDA_SUCCESS);
	CHECK_CU(cuCtxDestroy(ctx), CUDA_SUCCESS);
	close(fds[1]);
}

TAP_MAIN(TAP_ENTRY(two_processes_of_one_tenant_share_its_memory_quota))
