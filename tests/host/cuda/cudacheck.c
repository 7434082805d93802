// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cudacheck.c - Driver API measurements and hostile cases that run the
 * same against NVIDIA's libcuda (native) and libvgpu (through vgpud), so a
 * GPU report can put the two side by side from one binary.
 *
 * Usage: cudacheck copy MIB | rtt N | launch N | verify ROUNDS |
 *                  fault | hang | oom
 * Measurements print "key value" lines; the checks exit 0 when the
 * device behaved as the CUDA semantics say, 1 otherwise.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Hand-written PTX at a version every CUDA 11+ driver JITs and the sim
 * accepts: an empty kernel, a store to a given address, a spin on a flag
 * nobody sets, and c = a + b.
 */
static const char ptx[] =
	".version 7.0\n"
	".target sm_75\n"
	".address_size 64\n"
	".visible .entry empty()\n{\n\tret;\n}\n"
	".visible .entry store(.param .u64 p)\n{\n"
	"\t.reg .b64 %rd<2>;\n\t.reg .b32 %r<2>;\n"
	"\tld.param.u64 %rd1, [p];\n\tmov.u32 %r1, 1;\n"
	"\tst.global.u32 [%rd1], %r1;\n\tret;\n}\n"
	".visible .entry spin(.param .u64 flag)\n{\n"
	"\t.reg .pred %p<2>;\n\t.reg .b32 %r<2>;\n\t.reg .b64 %rd<2>;\n"
	"\tld.param.u64 %rd1, [flag];\n"
	"LOOP:\n\tld.volatile.global.u32 %r1, [%rd1];\n"
	"\tsetp.eq.u32 %p1, %r1, 0;\n\t@%p1 bra LOOP;\n\tret;\n}\n"
	".visible .entry add(.param .u64 a, .param .u64 b, .param .u64 c,\n"
	"\t.param .u32 n)\n{\n"
	"\t.reg .pred %p<2>;\n\t.reg .b32 %r<8>;\n\t.reg .b64 %rd<8>;\n"
	"\tmov.u32 %r1, %ctaid.x;\n\tmov.u32 %r2, %ntid.x;\n"
	"\tmov.u32 %r3, %tid.x;\n\tmad.lo.s32 %r4, %r1, %r2, %r3;\n"
	"\tld.param.u32 %r5, [n];\n\tsetp.ge.u32 %p1, %r4, %r5;\n"
	"\t@%p1 bra DONE;\n"
	"\tld.param.u64 %rd1, [a];\n\tld.param.u64 %rd2, [b];\n"
	"\tld.param.u64 %rd3, [c];\n\tmul.wide.u32 %rd4, %r4, 4;\n"
	"\tadd.s64 %rd5, %rd1, %rd4;\n\tld.global.u32 %r6, [%rd5];\n"
	"\tadd.s64 %rd6, %rd2, %rd4;\n\tld.global.u32 %r7, [%rd6];\n"
	"\tadd.s32 %r6, %r6, %r7;\n\tadd.s64 %rd7, %rd3, %rd4;\n"
	"\tst.global.u32 [%rd7], %r6;\n"
	"DONE:\n\tret;\n}\n";

static CUmodule mod;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *name(CUresult r)
{
	const char *s = NULL;

	cuGetErrorName(r, &s);
	return s ? s : "?";
}

static void ck(CUresult r, const char *what)
{
	if (r == CUDA_SUCCESS)
		return;
	fprintf(stderr, "cudacheck: %s failed: %s (%d)\n", what, name(r), (int)r);
	exit(1);
}

#define CK(call) ck((call), #call)

static CUfunction fn(const char *n)
{
	CUfunction f;

	CK(cuModuleGetFunction(&f, mod, n));
	return f;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Best of three rounds of @iters copies of @size bytes, in GB/s. */
static double copy_bw(int htod, CUdeviceptr d, void *h, size_t size, int iters)
{
	double best = 0;

	CK(htod ? cuMemcpyHtoD(d, h, size) : cuMemcpyDtoH(h, d, size));
	for (int round = 0; round < 3; round++) {
		double t0 = now(), v;

		for (int i = 0; i < iters; i++)
			CK(htod ? cuMemcpyHtoD(d, h, size) : cuMemcpyDtoH(h, d, size));
		v = (double)size * iters / (now() - t0) / 1e9;
		best = v > best ? v : best;
	}
	return best;
}

static void do_copy(long mib)
{
	size_t size = (size_t)mib << 20;
	void *pinned, *pageable = malloc(size);
	CUdeviceptr d;
	int iters = mib >= 64 ? 4 : 16;

	if (!pageable)
		exit(1);
	memset(pageable, 1, size);
	CK(cuMemAllocHost(&pinned, size));
	memset(pinned, 2, size);
	CK(cuMemAlloc(&d, size));
	printf("copy_mib %ld\n", mib);
	printf("pinned_htod_gbps %.3f\n", copy_bw(1, d, pinned, size, iters));
	printf("pinned_dtoh_gbps %.3f\n", copy_bw(0, d, pinned, size, iters));
	printf("pageable_htod_gbps %.3f\n", copy_bw(1, d, pageable, size, iters));
	printf("pageable_dtoh_gbps %.3f\n", copy_bw(0, d, pageable, size, iters));
	CK(cuMemFree(d));
	CK(cuMemFreeHost(pinned));
	free(pageable);
}

/* A launch of the empty kernel answered by a stream synchronize. */
static void do_rtt(long n)
{
	CUfunction f = fn("empty");
	double *t = calloc(n, sizeof(double));
	CUstream s;

	if (!t)
		exit(1);
	CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	for (int i = 0; i < 100; i++) {
		CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s, NULL, NULL));
		CK(cuStreamSynchronize(s));
	}
	for (long i = 0; i < n; i++) {
		double t0 = now();

		CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s, NULL, NULL));
		CK(cuStreamSynchronize(s));
		t[i] = now() - t0;
	}
	qsort(t, n, sizeof(*t), cmp_double);
	printf("sync_launch_rtt_median_us %.2f\n", t[n / 2] * 1e6);
	printf("sync_launch_rtt_p99_us %.2f\n", t[(long)(n * 0.99)] * 1e6);
	CK(cuStreamDestroy(s));
	free(t);
}

static void do_launch(long n)
{
	CUfunction f = fn("empty");
	double t0;

	for (int i = 0; i < 1000; i++)
		CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CK(cuCtxSynchronize());
	t0 = now();
	for (long i = 0; i < n; i++)
		CK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CK(cuCtxSynchronize());
	printf("async_launches %ld\n", n);
	printf("async_launch_per_s %.0f\n", n / (now() - t0));
}

/* c = a + b on 1 Mi elements, @rounds times; exit status says if right. */
static int do_verify(long rounds)
{
	unsigned n = 1u << 20;
	size_t bytes = n * sizeof(unsigned);
	unsigned *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
	CUfunction f = fn("add");
	CUdeviceptr da, db, dc;
	long bad = 0;

	if (!a || !b || !c)
		exit(1);
	CK(cuMemAlloc(&da, bytes));
	CK(cuMemAlloc(&db, bytes));
	CK(cuMemAlloc(&dc, bytes));
	for (long r = 0; r < rounds; r++) {
		void *args[] = { &da, &db, &dc, &n };

		for (unsigned i = 0; i < n; i++) {
			a[i] = i * 7 + (unsigned)r;
			b[i] = i ^ 0x5a5a5a5au;
		}
		CK(cuMemcpyHtoD(da, a, bytes));
		CK(cuMemcpyHtoD(db, b, bytes));
		CK(cuMemsetD32(dc, 0, n));
		CK(cuLaunchKernel(f, (n + 255) / 256, 1, 1, 256, 1, 1, 0, NULL,
				  args, NULL));
		CK(cuMemcpyDtoH(c, dc, bytes));
		for (unsigned i = 0; i < n; i++)
			bad += c[i] != a[i] + b[i];
	}
	printf("verify_rounds %ld\nverify_wrong_elements %ld\n", rounds, bad);
	return bad != 0;
}

/* An execution fault must be sticky to this context. */
static int do_fault(void)
{
	CUdeviceptr bad = 0x10;
	void *args[] = { &bad };
	CUdeviceptr d;
	CUresult r, r2;

	CK(cuLaunchKernel(fn("store"), 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL));
	r = cuCtxSynchronize();
	r2 = cuMemAlloc(&d, 4096);
	printf("fault_status %s\nfault_after %s\n", name(r), name(r2));
	return !(r == CUDA_ERROR_ILLEGAL_ADDRESS && r2 == r);
}

/* A kernel that never ends must be stopped by vgpud's watchdog. */
static int do_hang(void)
{
	CUdeviceptr flag;
	void *args[] = { &flag };
	CUresult r;
	double t0;

	CK(cuMemAlloc(&flag, 4));
	CK(cuMemsetD32(flag, 0, 1));
	t0 = now();
	CK(cuLaunchKernel(fn("spin"), 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL));
	r = cuCtxSynchronize();
	printf("hang_status %s\nhang_seconds %.3f\n", name(r), now() - t0);
	return r != CUDA_ERROR_LAUNCH_TIMEOUT;
}

/* An allocation past the device's memory fails and harms nothing. */
static int do_oom(void)
{
	size_t fr, total;
	CUdeviceptr d;
	CUresult r;

	CK(cuMemGetInfo(&fr, &total));
	r = cuMemAlloc(&d, total + (1ull << 30));
	printf("oom_status %s\n", name(r));
	if (r == CUDA_SUCCESS)
		return 1;
	CK(cuMemAlloc(&d, 1 << 20));
	CK(cuMemFree(d));
	return r != CUDA_ERROR_OUT_OF_MEMORY;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	long arg = argc > 2 ? strtol(argv[2], NULL, 0) : 0;
	char dev_name[256] = "";
	CUdevice dev;
	CUcontext ctx;
	int drv = 0, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: cudacheck copy MIB | rtt N | launch N | "
			"verify ROUNDS | fault | hang | oom\n");
		return 2;
	}
	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuDeviceGetName(dev_name, sizeof(dev_name), dev));
	CK(cuDriverGetVersion(&drv));
	printf("device %s\ndriver_api %d\n", dev_name, drv);
	/* The primary context: its entry points are the same in every CUDA. */
	CK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CK(cuCtxSetCurrent(ctx));
	CK(cuModuleLoadData(&mod, ptx));
	if (!strcmp(what, "copy") && arg > 0)
		do_copy(arg);
	else if (!strcmp(what, "rtt") && arg > 0)
		do_rtt(arg);
	else if (!strcmp(what, "launch") && arg > 0)
		do_launch(arg);
	else if (!strcmp(what, "verify") && arg > 0)
		rc = do_verify(arg);
	else if (!strcmp(what, "fault"))
		rc = do_fault();
	else if (!strcmp(what, "hang"))
		rc = do_hang();
	else if (!strcmp(what, "oom"))
		rc = do_oom();
	else {
		fprintf(stderr, "cudacheck: unknown or incomplete command\n");
		return 2;
	}
	cuDevicePrimaryCtxRelease(dev);
	return rc;
}
