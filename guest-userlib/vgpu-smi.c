// SPDX-License-Identifier: MIT
/*
 * vgpu-smi.c - show the virtual GPU this guest (or host process) sees:
 * its name, memory, and this VM's (or local tenant's) own figures as vgpud
 * accounts them: weight, cap, shares, GPU time, memory, queue, errors.
 */
#include <cuda.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "smi_tenant.h"

static int fail(const char *what, CUresult r)
{
	const char *name = NULL;

	cuGetErrorName(r, &name);
	fprintf(stderr, "vgpu-smi: %s: %s (%d)\n", what, name ? name : "?", (int)r);
	return 1;
}

/* A fraction in parts per million as a percentage with one decimal. */
static void print_ppm(uint32_t ppm)
{
	printf("%u.%u %%", ppm / 10000, ppm / 1000 % 10);
}

/*
 * The "This VM / tenant" section: TENANT_INFO's figures, which vgpud gives
 * the caller for its own tenant only.  A vgpud without the command leaves
 * the section out with a note; that is not an error of vgpu-smi.
 */
static void print_tenant(const struct vgpu_resp_tenant_info *tip, int st)
{
	struct vgpu_resp_tenant_info ti = *tip;

	printf("This VM / tenant: ");
	if (st) {
		printf("not reported (%s %d)\n",
		       st < 0 ? "transport error" : "status", st < 0 ? -st : st);
		return;
	}
	printf("%s\n", (const char *)ti.name);
	printf("  Weight               %" PRIu64 ".%03" PRIu64 "\n",
	       (uint64_t)ti.weight_milli / 1000, (uint64_t)ti.weight_milli % 1000);
	printf("  Cap                  ");
	if (ti.cap_ppm)
		print_ppm(ti.cap_ppm);
	else
		printf("none");
	printf("\n  Share 1 s            ");
	print_ppm(ti.share_1s_ppm);
	printf("\n  Share 10 s           ");
	print_ppm(ti.share_10s_ppm);
	printf("\n  GPU time             %" PRIu64 ".%03" PRIu64 " s\n",
	       (uint64_t)ti.gpu_ns / 1000000000, (uint64_t)ti.gpu_ns / 1000000 % 1000);
	printf("  Memory used          %" PRIu64 " MiB (%" PRIu64 " bytes)\n",
	       (uint64_t)ti.mem_used >> 20, (uint64_t)ti.mem_used);
	if (ti.mem_quota)
		printf("  Memory quota         %" PRIu64 " MiB (%" PRIu64 " bytes)\n",
		       (uint64_t)ti.mem_quota >> 20, (uint64_t)ti.mem_quota);
	else
		printf("  Memory quota         none\n");
	printf("  Queue depth          %" PRIu64 "\n", (uint64_t)ti.queue_depth);
	printf("  Errors               %" PRIu64 "\n", (uint64_t)ti.errors);
	printf("  Contexts             %u\n", (unsigned)ti.contexts);
}

int main(int argc, char **argv)
{
	char name[256];
	size_t total = 0, free_ = 0;
	int major = 0, minor = 0, sms = 0, version = 0;
	struct vgpu_resp_tenant_info ti;
	CUcontext ctx;
	CUdevice dev;
	CUresult r;
	int tst;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: vgpu-smi\nShows the vgpu device, its memory and this "
		       "VM's (or tenant's) own figures.\nVGPU_SOCKET names "
		       "vgpud's socket; VGPU_TENANT the local tenant to show.\n");
		return 0;
	}
	if ((r = cuInit(0)))
		return fail("cuInit", r);
	/* before this program's own context, so its figures are the others' */
	tst = vgpu_smi_tenant_info(&ti);
	if ((r = cuDeviceGet(&dev, 0)))
		return fail("cuDeviceGet", r);
	if ((r = cuDeviceGetName(name, sizeof(name), dev)))
		return fail("cuDeviceGetName", r);
	cuDriverGetVersion(&version);
	cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
	/* MEM_GET_INFO answers for the whole tenant (this VM, or this client). */
	if ((r = cuDevicePrimaryCtxRetain(&ctx, dev)))
		return fail("cuDevicePrimaryCtxRetain", r);
	cuCtxPushCurrent(ctx);
	r = cuMemGetInfo(&free_, &total);
	cuCtxPopCurrent(&ctx);
	cuDevicePrimaryCtxRelease(dev);
	if (r)
		return fail("cuMemGetInfo", r);
	printf("Device 0: %s\n", name);
	printf("  Driver API version   %d.%d\n", version / 1000, version % 1000 / 10);
	printf("  Compute capability   %d.%d\n", major, minor);
	printf("  Multiprocessors      %d\n", sms);
	printf("  Memory total         %zu MiB\n", total >> 20);
	printf("  Memory used          %zu MiB (this tenant)\n", (total - free_) >> 20);
	printf("  Memory free          %zu MiB\n", free_ >> 20);
	print_tenant(&ti, tst);
	return 0;
}
