// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * api.c - CUDA Driver API semantics through libcuda.so.1 and vgpud, one
 * test per behaviour.  Built against NVIDIA's cuda.h so that it imports the
 * same symbol names as any CUDA 13 program.
 *
 * Order matters in one place: the first test runs before cuInit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

/* Offsets of packParams' parameters under the natural alignment rules
 * (what FUNC_GET reports and what an `extra` buffer must follow). */
#define PACK_BYTES 48

static CUdevice dev;

/* Runs a helper that checks with the test's own failure flag, and ends the
 * test when it failed. */
#define CALL(helper)                                                        \
	do {                                                                \
		helper;                                                     \
		if (*tap_failed_)                                           \
			return;                                             \
	} while (0)

TEST(errors_are_returned_before_cuInit)
{
	int n = -1, ver = 0;
	CUdeviceptr d;
	CUcontext ctx;
	const char *s = NULL;

	CHECK_CU(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_CU(cuDeviceGet(&dev, 0), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_CU(cuMemAlloc(&d, 16), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_CU(cuCtxGetCurrent(&ctx), CUDA_ERROR_NOT_INITIALIZED);
	/* These two work without cuInit on every driver. */
	CU(cuDriverGetVersion(&ver));
	CHECK(ver >= 12000);
	CU(cuGetErrorName(CUDA_ERROR_NOT_INITIALIZED, &s));
	CHECK(s && !strcmp(s, "CUDA_ERROR_NOT_INITIALIZED"));
}

TEST(cuInit_succeeds_and_device_0_exists)
{
	int n = 0;

	CHECK_CU(cuInit(1), CUDA_ERROR_INVALID_VALUE);
	CU(cuInit(0));
	CU(cuInit(0));
	CU(cuDeviceGetCount(&n));
	CHECK(n >= 1);
	CU(cuDeviceGet(&dev, 0));
	CHECK_CU(cuDeviceGet(&dev, n), CUDA_ERROR_INVALID_DEVICE);
	CU(cuDeviceGet(&dev, 0));
}

TEST(device_name_memory_and_attributes_are_plausible)
{
	char name[256] = "";
	size_t total = 0;
	int v, major;

	CU(cuDeviceGetName(name, sizeof(name), dev));
	CHECK(name[0] != '\0');
	CU(cuDeviceTotalMem(&total, dev));
	CHECK(total >= (64u << 20));
	CU(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev));
	CHECK_EQ(v, 32);
	CU(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
				dev));
	CHECK(v >= 1024);
	CU(cuDeviceGetAttribute(&major,
				CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
				dev));
	CHECK(major >= 7);
	CHECK_CU(cuDeviceGetAttribute(&v, (CUdevice_attribute)100000, dev),
		 CUDA_ERROR_INVALID_VALUE);
}

TEST(error_names_and_strings_describe_known_codes)
{
	const char *s = NULL;

	CU(cuGetErrorName(CUDA_SUCCESS, &s));
	CHECK(s && !strcmp(s, "CUDA_SUCCESS"));
	CU(cuGetErrorName(CUDA_ERROR_ILLEGAL_ADDRESS, &s));
	CHECK(s && !strcmp(s, "CUDA_ERROR_ILLEGAL_ADDRESS"));
	CU(cuGetErrorName(CUDA_ERROR_INVALID_PTX, &s));
	CHECK(s && !strcmp(s, "CUDA_ERROR_INVALID_PTX"));
	s = NULL;
	CU(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s));
	CHECK(s && strlen(s) > 5);
	s = (const char *)1;
	CHECK_CU(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
	CHECK(s == NULL);
}

TEST(calls_without_a_current_context_fail_with_invalid_context)
{
	CUdeviceptr d;
	CUcontext cur = (CUcontext)1;

	CU(cuCtxSetCurrent(NULL));
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == NULL);
	CHECK_CU(cuMemAlloc(&d, 16), CUDA_ERROR_INVALID_CONTEXT);
	CHECK_CU(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
}

TEST(cuCtxCreate_pushes_and_cuCtxPopCurrent_restores_the_previous)
{
	CUcontext a, b, cur, popped;

	CU(itest_ctx_create(&a));
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == a);
	CU(itest_ctx_create(&b));
	CHECK(a != b);
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == b);
	CU(cuCtxPopCurrent(&popped));
	CHECK(popped == b);
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == a);
	CU(cuCtxPushCurrent(b));
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == b);
	CU(cuCtxDestroy(b));
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == a);
	CU(cuCtxDestroy(a));
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == NULL);
}

struct thread_view {
	CUcontext seen, pushed, after;
	CUresult r1, r2, r3;
};

static void *other_thread(void *arg)
{
	struct thread_view *v = arg;

	v->r1 = cuCtxGetCurrent(&v->seen);
	v->r2 = cuCtxPushCurrent(v->pushed);
	v->r3 = cuCtxGetCurrent(&v->after);
	return NULL;
}

TEST(context_stack_is_per_thread)
{
	CUcontext a, b, cur;
	struct thread_view v = { 0 };
	pthread_t t;

	CU(itest_ctx_create(&a));
	CU(itest_ctx_create(&b));
	CU(cuCtxPopCurrent(&cur));
	CHECK(cur == b);
	v.pushed = b;
	CHECK(pthread_create(&t, NULL, other_thread, &v) == 0);
	pthread_join(t, NULL);
	CU(v.r1);
	CHECK(v.seen == NULL);	/* a new thread starts with no context */
	CU(v.r2);
	CU(v.r3);
	CHECK(v.after == b);
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur == a);	/* the other thread's push did not reach us */
	CU(cuCtxDestroy(b));
	CU(cuCtxDestroy(a));
}

TEST(primary_context_is_shared_and_reference_counted)
{
	CUcontext p1, p2, cur;
	unsigned int flags;
	int active = 0;
	CUdeviceptr d;

	CU(cuDevicePrimaryCtxRetain(&p1, dev));
	CU(cuDevicePrimaryCtxRetain(&p2, dev));
	CHECK(p1 == p2);
	CU(cuDevicePrimaryCtxGetState(dev, &flags, &active));
	CHECK(active == 1);
	CU(cuCtxGetCurrent(&cur));
	CHECK(cur != p1);	/* retaining does not make it current */
	CU(cuCtxSetCurrent(p1));
	CU(cuMemAlloc(&d, 4096));
	CU(cuMemFree(d));
	CU(cuDevicePrimaryCtxRelease(dev));
	CU(cuDevicePrimaryCtxGetState(dev, &flags, &active));
	CHECK(active == 1);
	CU(cuDevicePrimaryCtxRelease(dev));
	CU(cuCtxSetCurrent(NULL));
}

/* Each following test runs in a fresh context of its own, current on entry,
 * destroyed at the end of the test by the next test's setup. */
static CUcontext test_ctx;

static CUresult fresh_ctx(void)
{
	if (test_ctx) {
		cuCtxDestroy(test_ctx);
		test_ctx = NULL;
	}
	return itest_ctx_create(&test_ctx);
}

TEST(alloc_and_free_move_free_memory)
{
	size_t free0, total0, free1, total1, free2, total2;
	size_t sz = 64u << 20;
	CUdeviceptr d, d2;

	/* Other clients running at the same time move the free figure; then
	 * only what this process can know for sure is checked. */
	int shared = getenv("ITEST_SHARED_DEVICE") != NULL;

	CU(fresh_ctx());
	CU(cuMemGetInfo(&free0, &total0));
	CHECK(free0 > sz && free0 <= total0);
	CU(cuMemAlloc(&d, sz));
	CHECK(d != 0);
	CU(cuMemGetInfo(&free1, &total1));
	CHECK_EQ(total1, total0);
	CHECK(shared || free1 + sz <= free0);
	CU(cuMemAlloc(&d2, 1));
	CHECK(d2 != 0 && (d2 >= d + sz || d2 + 1 <= d));
	CU(cuMemFree(d));
	CU(cuMemFree(d2));
	CU(cuMemGetInfo(&free2, &total2));
	CHECK_EQ(total2, total0);
	CHECK(shared || free2 == free0);
}

TEST(allocations_are_256_byte_aligned)
{
	CUdeviceptr d[5];

	CU(fresh_ctx());
	for (int i = 0; i < 5; i++) {
		CU(cuMemAlloc(&d[i], 1 + i * 77));
		CHECK_EQ(d[i] % 256, 0);
	}
	for (int i = 0; i < 5; i++)
		CU(cuMemFree(d[i]));
}

TEST(zero_byte_alloc_and_double_free_are_invalid_value)
{
	CUdeviceptr d;

	CU(fresh_ctx());
	CHECK_CU(cuMemAlloc(&d, 0), CUDA_ERROR_INVALID_VALUE);
	CU(cuMemAlloc(&d, 100));
	CU(cuMemFree(d));
	CHECK_CU(cuMemFree(d), CUDA_ERROR_INVALID_VALUE);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131 + seed) ^ (i >> 8));
}

TEST(copies_round_trip_for_every_size_and_alignment)
{
	static const size_t sizes[] = { 1, 3, 4, 255, 4095, 4096, 4097,
					65537, (1u << 20) - 1, 1u << 20,
					(1u << 20) + 3, (3u << 20) + 5 };
	size_t max = (4u << 20);
	unsigned char *src = malloc(max + 16), *dst = malloc(max + 16);
	CUdeviceptr d;

	CHECK(src && dst);
	CU(fresh_ctx());
	CU(cuMemAlloc(&d, max + 64));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (size_t doff = 0; doff < 8; doff += 3)
			for (size_t hoff = 0; hoff < 4; hoff += 3) {
				size_t n = sizes[k];

				fill(src + hoff, n, (unsigned int)(k * 7 + doff));
				memset(dst, 0xee, max + 16);
				CU(cuMemcpyHtoD(d + doff, src + hoff, n));
				CU(cuMemcpyDtoH(dst + hoff, d + doff, n));
				if (memcmp(src + hoff, dst + hoff, n)) {
					printf("# size %zu doff %zu hoff %zu differs\n",
					       n, doff, hoff);
					CHECK(0);
				}
				/* Nothing written past the end. */
				CHECK_EQ(dst[hoff + n], 0xee);
			}
	CU(cuMemFree(d));
	free(src);
	free(dst);
}

TEST(zero_length_copies_and_memsets_succeed)
{
	CUdeviceptr d;
	char c = 'x';

	CU(fresh_ctx());
	CU(cuMemAlloc(&d, 64));
	CU(cuMemcpyHtoD(d, &c, 0));
	CU(cuMemcpyDtoH(&c, d, 0));
	CU(cuMemcpyDtoD(d, d + 32, 0));
	CU(cuMemsetD8(d, 1, 0));
	CHECK_EQ(c, 'x');
	CU(cuMemFree(d));
}

TEST(device_to_device_copy_moves_exactly_the_range)
{
	size_t n = (2u << 20) + 7;
	unsigned char *src = malloc(n), *dst = malloc(n + 2);
	CUdeviceptr a, b;

	CHECK(src && dst);
	CU(fresh_ctx());
	CU(cuMemAlloc(&a, n));
	CU(cuMemAlloc(&b, n + 2));
	fill(src, n, 5);
	CU(cuMemcpyHtoD(a, src, n));
	CU(cuMemsetD8(b, 0x5a, n + 2));
	CU(cuMemcpyDtoD(b + 1, a, n));
	CU(cuMemcpyDtoH(dst, b, n + 2));
	CHECK_EQ(dst[0], 0x5a);
	CHECK(!memcmp(dst + 1, src, n));
	CHECK_EQ(dst[n + 1], 0x5a);
	CU(cuMemFree(a));
	CU(cuMemFree(b));
	free(src);
	free(dst);
}

TEST(async_device_to_device_and_generic_copies_keep_stream_order)
{
	int in[256], out[256];
	CUdeviceptr a, b;
	CUstream s;

	for (int i = 0; i < 256; i++)
		in[i] = i * 3 + 1;
	CU(fresh_ctx());
	CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU(cuMemAlloc(&a, sizeof(in)));
	CU(cuMemAlloc(&b, sizeof(in)));
	CU(cuMemcpyHtoDAsync(a, in, sizeof(in), s));
	CU(cuMemsetD32Async(b, 0, 256, s));
	CU(cuMemcpyDtoDAsync(b + 4, a, sizeof(in) - 4, s));
	CU(cuMemcpyDtoHAsync(out, b, sizeof(out), s));
	CU(cuStreamSynchronize(s));
	CHECK_EQ(out[0], 0);
	for (int i = 1; i < 256; i++)
		CHECK_EQ(out[i], in[i - 1]);
	/* cuMemcpy with unified addressing: device pointers both ways. */
	CU(cuMemcpy(a, b, sizeof(in)));
	memset(out, 0, sizeof(out));
	CU(cuMemcpyDtoH(out, a, sizeof(out)));
	CHECK_EQ(out[255], in[254]);
	CU(cuStreamDestroy(s));
}

static void round_trip_async(unsigned char *h1, unsigned char *h2, size_t n,
			     CUstream s, int *tap_failed_)
{
	CUdeviceptr d;

	CHECK_CU(cuMemAlloc(&d, n), CUDA_SUCCESS);
	fill(h1, n, (unsigned int)n);
	memset(h2, 0, n);
	CU(cuMemcpyHtoDAsync(d, h1, n, s));
	CU(cuMemcpyDtoHAsync(h2, d, n, s));
	CU(cuStreamSynchronize(s));
	CU(cuMemFree(d));
	CHECK(!memcmp(h1, h2, n));
}

TEST(async_copies_round_trip_from_pinned_and_pageable_memory)
{
	size_t n = (8u << 20) + 11;
	unsigned char *p1, *p2, *m1 = malloc(n), *m2 = malloc(n);
	CUstream s;

	CHECK(m1 && m2);
	CU(fresh_ctx());
	CU(cuMemAllocHost((void **)&p1, n));
	CU(cuMemAllocHost((void **)&p2, n));
	CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CALL(round_trip_async(p1, p2, n, s, tap_failed_));
	CALL(round_trip_async(m1, m2, n, s, tap_failed_));
	CALL(round_trip_async(p1, m2, n, NULL, tap_failed_));
	CALL(round_trip_async(m1 + 1, p2 + 3, n - 3, s, tap_failed_));
	CU(cuStreamDestroy(s));
	CU(cuMemFreeHost(p1));
	CU(cuMemFreeHost(p2));
	free(m1);
	free(m2);
}

TEST(copies_of_64MiB_round_trip_pinned_and_pageable)
{
	size_t n = 64u << 20;
	unsigned char *p, *m = malloc(n), *back = malloc(n);
	CUdeviceptr d;

	CHECK(m && back);
	CU(fresh_ctx());
	CU(cuMemAlloc(&d, n));
	CU(cuMemAllocHost((void **)&p, n));
	fill(p, n, 1);
	CU(cuMemcpyHtoD(d, p, n));
	CU(cuMemcpyDtoH(back, d, n));
	CHECK(!memcmp(p, back, n));
	fill(m, n, 2);
	CU(cuMemcpyHtoD(d, m, n));
	memset(p, 0, n);
	CU(cuMemcpyDtoH(p, d, n));
	CHECK(!memcmp(p, m, n));
	CU(cuMemFreeHost(p));
	CU(cuMemFree(d));
	free(m);
	free(back);
}

TEST(memset_d8_d16_d32_set_exactly_their_range)
{
	unsigned char b[64];
	unsigned short h[32];
	unsigned int w[16];
	CUdeviceptr d;

	CU(fresh_ctx());
	CU(cuMemAlloc(&d, 64));
	CU(cuMemsetD8(d, 0x11, 64));
	CU(cuMemsetD8(d + 3, 0xab, 5));
	CU(cuMemcpyDtoH(b, d, 64));
	CHECK_EQ(b[2], 0x11);
	for (int i = 3; i < 8; i++)
		CHECK_EQ(b[i], 0xab);
	CHECK_EQ(b[8], 0x11);

	CU(cuMemsetD16(d, 0x2222, 32));
	CU(cuMemsetD16(d + 4, 0xbeef, 3));
	CU(cuMemcpyDtoH(h, d, 64));
	CHECK_EQ(h[1], 0x2222);
	for (int i = 2; i < 5; i++)
		CHECK_EQ(h[i], 0xbeef);
	CHECK_EQ(h[5], 0x2222);

	CU(cuMemsetD32(d, 0x33333333u, 16));
	CU(cuMemsetD32(d + 8, 0xdeadbeefu, 7));
	CU(cuMemcpyDtoH(w, d, 64));
	CHECK_EQ(w[1], 0x33333333u);
	for (int i = 2; i < 9; i++)
		CHECK_EQ(w[i], 0xdeadbeefu);
	CHECK_EQ(w[9], 0x33333333u);
	CU(cuMemFree(d));
}

TEST(async_memsets_on_a_stream_take_effect_in_order)
{
	unsigned int w[4];
	CUstream s;
	CUdeviceptr d;

	CU(fresh_ctx());
	CU(cuStreamCreate(&s, 0));
	CU(cuMemAlloc(&d, 16));
	CU(cuMemsetD32Async(d, 1, 4, s));
	CU(cuMemsetD16Async(d, 0x0202, 4, s));
	CU(cuMemsetD8Async(d, 3, 2, s));
	CU(cuMemcpyDtoHAsync(w, d, 16, s));
	CU(cuStreamSynchronize(s));
	CHECK_EQ(w[0], 0x02020303u);
	CHECK_EQ(w[1], 0x02020202u);
	CHECK_EQ(w[2], 1);
	CU(cuMemFree(d));
	CU(cuStreamDestroy(s));
}

/* Launches packParams and checks what it saw; @use_extra selects the
 * `extra` buffer form over kernelParams. */
static void check_pack(CUfunction f, CUdeviceptr out, int use_extra,
		       int *tap_failed_)
{
	char c = -5, c2 = 77;
	short sh = -1234;
	int i = 1 << 30;
	long long l = -(1ll << 40) - 3;
	float fl = 2.25f;
	double db = -3.125;
	long long got[7];

	if (!use_extra) {
		void *args[] = { &c, &sh, &i, &l, &fl, &db, &c2, &out };

		CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args,
					NULL), CUDA_SUCCESS);
	} else {
		unsigned char buf[PACK_BYTES];
		size_t size = sizeof(buf);
		void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, buf,
				  CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
				  CU_LAUNCH_PARAM_END };

		memset(buf, 0xcc, sizeof(buf));
		memcpy(buf + 0, &c, 1);
		memcpy(buf + 2, &sh, 2);
		memcpy(buf + 4, &i, 4);
		memcpy(buf + 8, &l, 8);
		memcpy(buf + 16, &fl, 4);
		memcpy(buf + 24, &db, 8);
		memcpy(buf + 32, &c2, 1);
		memcpy(buf + 40, &out, 8);
		CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL,
					extra), CUDA_SUCCESS);
	}
	CHECK_CU(cuMemcpyDtoH(got, out, sizeof(got)), CUDA_SUCCESS);
	CHECK_EQ(got[0], -5);
	CHECK_EQ(got[1], -1234);
	CHECK_EQ(got[2], 1 << 30);
	CHECK_EQ(got[3], l);
	CHECK_EQ(got[4], 9);
	CHECK_EQ(got[5], -25);
	CHECK_EQ(got[6], 77);
}

TEST(module_loads_from_ptx_and_launch_packs_every_parameter_size)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr out;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "packParams"));
	CU(cuMemAlloc(&out, 64));
	CALL(check_pack(f, out, 0, tap_failed_));
	CU(cuModuleUnload(m));
}

TEST(launch_with_extra_buffer_packs_every_parameter_size)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr out;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "packParams"));
	CU(cuMemAlloc(&out, 64));
	CALL(check_pack(f, out, 1, tap_failed_));
	CU(cuModuleUnload(m));
}

/* Loads @image, runs addValue on it, checks the result. */
static void run_add(const void *image, int *tap_failed_)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	int n = 1000, v = 7, host[1000];

	CHECK_CU(cuModuleLoadData(&m, image), CUDA_SUCCESS);
	CHECK_CU(cuModuleGetFunction(&f, m, "addValue"), CUDA_SUCCESS);
	CHECK_CU(cuMemAlloc(&d, sizeof(host)), CUDA_SUCCESS);
	CHECK_CU(cuMemsetD32(d, 5, n), CUDA_SUCCESS);
	{
		void *args[] = { &d, &n, &v };

		CHECK_CU(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 0, NULL, args,
					NULL), CUDA_SUCCESS);
	}
	CHECK_CU(cuMemcpyDtoH(host, d, sizeof(host)), CUDA_SUCCESS);
	for (int i = 0; i < n; i++)
		CHECK_EQ(host[i], 12);
	CHECK_CU(cuMemFree(d), CUDA_SUCCESS);
	CHECK_CU(cuModuleUnload(m), CUDA_SUCCESS);
}

TEST(module_loads_from_a_fatbin_holding_only_ptx)
{
	CU(fresh_ctx());
	CALL(run_add(test_fatbin_ptx, tap_failed_));
}

TEST(module_loads_from_a_fatbin_holding_sass_and_ptx)
{
	CU(fresh_ctx());
	CALL(run_add(test_fatbin_mixed, tap_failed_));
}

TEST(module_loads_through_cuModuleLoadDataEx_with_a_log_buffer)
{
	char info[1024] = "", err[1024] = "";
	CUjit_option o[] = { CU_JIT_INFO_LOG_BUFFER,
			     CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
			     CU_JIT_ERROR_LOG_BUFFER,
			     CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
	void *v[] = { info, (void *)sizeof(info), err, (void *)sizeof(err) };
	CUmodule m;
	CUfunction f;

	CU(fresh_ctx());
	CU(cuModuleLoadDataEx(&m, test_ptx, 4, o, v));
	CU(cuModuleGetFunction(&f, m, "empty"));
	CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	CU(cuCtxSynchronize());
	CU(cuModuleUnload(m));
}

TEST(missing_function_and_global_are_not_found)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	size_t sz;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CHECK_CU(cuModuleGetFunction(&f, m, "noSuchKernel"),
		 CUDA_ERROR_NOT_FOUND);
	CHECK_CU(cuModuleGetGlobal(&d, &sz, m, "noSuchGlobal"),
		 CUDA_ERROR_NOT_FOUND);
	/* A global is not a function and the reverse. */
	CHECK_CU(cuModuleGetFunction(&f, m, "answer"), CUDA_ERROR_NOT_FOUND);
	CHECK_CU(cuModuleGetGlobal(&d, &sz, m, "empty"), CUDA_ERROR_NOT_FOUND);
	CU(cuModuleUnload(m));
}

TEST(module_globals_have_their_size_and_initial_value_and_kernels_see_writes)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr ga, gt, out, tout;
	size_t sa, st;
	int v, newv = 99, got;
	float t[16], tgot[16];

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetGlobal(&ga, &sa, m, "answer"));
	CU(cuModuleGetGlobal(&gt, &st, m, "table"));
	CHECK_EQ(sa, 4);
	CHECK_EQ(st, 64);
	CU(cuMemcpyDtoH(&v, ga, 4));
	CHECK_EQ(v, 42);
	CU(cuMemcpyDtoH(t, gt, sizeof(t)));
	for (int i = 0; i < 16; i++)
		CHECK(t[i] == i + 0.5f);
	/* Writes through the global's address reach the kernel. */
	CU(cuMemcpyHtoD(ga, &newv, 4));
	t[3] = -1.0f;
	CU(cuMemcpyHtoD(gt, t, sizeof(t)));
	CU(cuModuleGetFunction(&f, m, "readGlobals"));
	CU(cuMemAlloc(&out, 4));
	CU(cuMemAlloc(&tout, 64));
	{
		void *args[] = { &out, &tout };

		CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL));
	}
	CU(cuMemcpyDtoH(&got, out, 4));
	CU(cuMemcpyDtoH(tgot, tout, 64));
	CHECK_EQ(got, 99);
	CHECK(tgot[3] == -1.0f && tgot[4] == 4.5f);
	/* The size pointer may be NULL. */
	CU(cuModuleGetGlobal(&ga, NULL, m, "answer"));
	CU(cuModuleUnload(m));
}

TEST(launch_of_a_3d_grid_runs_every_thread_once)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	enum { GX = 3, GY = 2, GZ = 2, BX = 4, BY = 3, BZ = 2 };
	enum { NB = GX * GY * GZ, NT = BX * BY * BZ };
	int host[NB * NT];

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "coords"));
	CU(cuMemAlloc(&d, sizeof(host)));
	CU(cuMemsetD32(d, 0xffffffffu, NB * NT));
	{
		void *args[] = { &d };

		CU(cuLaunchKernel(f, GX, GY, GZ, BX, BY, BZ, 0, NULL, args,
				  NULL));
	}
	CU(cuMemcpyDtoH(host, d, sizeof(host)));
	for (int b = 0; b < NB; b++)
		for (int t = 0; t < NT; t++)
			CHECK_EQ(host[b * NT + t], b * 1000 + t);
	CU(cuModuleUnload(m));
}

TEST(launches_on_one_stream_run_in_submission_order)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	CUstream s;
	int got, zero = 0;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "appendDigit"));
	CU(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU(cuMemAlloc(&d, 4));
	CU(cuMemcpyHtoDAsync(d, &zero, 4, s));
	for (int v = 1; v <= 9; v++) {
		void *args[] = { &d, &v };

		CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s, args, NULL));
	}
	CU(cuMemcpyDtoHAsync(&got, d, 4, s));
	CU(cuStreamSynchronize(s));
	CHECK_EQ(got, 123456789);
	CU(cuStreamQuery(s));
	CU(cuStreamDestroy(s));
	CU(cuModuleUnload(m));
}

TEST(stream_wait_event_orders_work_across_two_streams)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	CUstream s1, s2;
	CUevent e;
	int got, zero = 0;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "appendDigit"));
	CU(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
	CU(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
	CU(cuEventCreate(&e, CU_EVENT_DISABLE_TIMING));
	CU(cuMemAlloc(&d, 4));
	CU(cuMemcpyHtoD(d, &zero, 4));
	for (int v = 1; v <= 4; v++) {
		void *args[] = { &d, &v };

		CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s1, args, NULL));
	}
	CU(cuEventRecord(e, s1));
	CU(cuStreamWaitEvent(s2, e, 0));
	for (int v = 5; v <= 8; v++) {
		void *args[] = { &d, &v };

		CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s2, args, NULL));
	}
	CU(cuStreamSynchronize(s2));
	CU(cuMemcpyDtoH(&got, d, 4));
	CHECK_EQ(got, 12345678);
	CU(cuEventDestroy(e));
	CU(cuStreamDestroy(s1));
	CU(cuStreamDestroy(s2));
	CU(cuModuleUnload(m));
}

TEST(events_complete_and_elapsed_time_is_non_negative)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr d;
	CUevent a, b;
	CUstream s;
	float ms = -1.0f, back = 1.0f;
	int n = 1 << 16, v = 1;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "addValue"));
	CU(cuStreamCreate(&s, 0));
	CU(cuEventCreate(&a, CU_EVENT_DEFAULT));
	CU(cuEventCreate(&b, CU_EVENT_BLOCKING_SYNC));
	CU(cuMemAlloc(&d, n * 4));
	CU(cuEventRecord(a, s));
	{
		void *args[] = { &d, &n, &v };

		CU(cuLaunchKernel(f, n / 256, 1, 1, 256, 1, 1, 0, s, args,
				  NULL));
	}
	CU(cuEventRecord(b, s));
	CU(cuEventSynchronize(b));
	CU(cuEventQuery(b));
	CU(cuEventQuery(a));
	CU(cuEventElapsedTime(&ms, a, b));
	CHECK(ms >= 0.0f && ms < 600000.0f);
	CU(cuEventElapsedTime(&back, b, a));
	CHECK(back <= 0.0f);
	CU(cuEventDestroy(a));
	CU(cuEventDestroy(b));
	CU(cuStreamDestroy(s));
	CU(cuModuleUnload(m));
}

TEST(an_event_never_recorded_is_complete_but_has_no_time)
{
	CUevent a, b;
	float ms;

	CU(fresh_ctx());
	CU(cuEventCreate(&a, 0));
	CU(cuEventCreate(&b, 0));
	CU(cuEventQuery(a));
	CU(cuEventSynchronize(a));
	CU(cuEventRecord(b, NULL));
	CU(cuEventSynchronize(b));
	CHECK_CU2(cuEventElapsedTime(&ms, a, b), CUDA_ERROR_INVALID_HANDLE,
		  CUDA_ERROR_NOT_READY);
	CU(cuEventDestroy(a));
	CU(cuEventDestroy(b));
}

TEST(elapsed_time_of_a_timing_disabled_event_is_invalid_handle)
{
	CUevent a, b;
	float ms;

	CU(fresh_ctx());
	CU(cuEventCreate(&a, CU_EVENT_DEFAULT));
	CU(cuEventCreate(&b, CU_EVENT_DISABLE_TIMING));
	CU(cuEventRecord(a, NULL));
	CU(cuEventRecord(b, NULL));
	CU(cuCtxSynchronize());
	CHECK_CU(cuEventElapsedTime(&ms, a, b), CUDA_ERROR_INVALID_HANDLE);
	CU(cuEventDestroy(a));
	CU(cuEventDestroy(b));
}

TEST(function_attributes_report_shared_memory_threads_and_ptx_version)
{
	CUmodule m;
	CUfunction f, g;
	int v;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuModuleGetFunction(&f, m, "sharedUser"));
	CU(cuModuleGetFunction(&g, m, "empty"));
	CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f));
	CHECK_EQ(v, 1024);
	CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, g));
	CHECK_EQ(v, 0);
	CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
	CHECK(v >= 256 && v <= 1024);
	/* The virtual architecture the PTX targets (.target sm_75), not the
	 * PTX ISA version (.version): libraries such as CUB compare this
	 * value times ten with __CUDA_ARCH__ to pick their kernels. */
	CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_PTX_VERSION, f));
	CHECK_EQ(v, 75);
	CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
	CHECK(v >= 0);
	CHECK_CU(cuFuncGetAttribute(&v, (CUfunction_attribute)9999, f),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuModuleUnload(m));
}

/* Launches store(p, 1) on the current context; returns what the next
 * synchronization reports. */
static CUresult store_to(CUmodule m, CUdeviceptr p)
{
	CUfunction f;
	int one = 1;
	void *args[] = { &p, &one };
	CUresult r = cuModuleGetFunction(&f, m, "store");

	if (r)
		return r;
	r = cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL);
	if (r)
		return r;
	return cuCtxSynchronize();
}

TEST(illegal_address_is_sticky_and_a_new_context_works)
{
	CUmodule m;
	CUdeviceptr d;
	int v = 5;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuMemAlloc(&d, 4));
	CU(store_to(m, d));
	CU(cuMemcpyDtoH(&v, d, 4));
	CHECK_EQ(v, 1);
	/* 64 MiB past a 4-byte allocation: nothing this context owns. */
	CHECK_CU(store_to(m, d + (64u << 20)), CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_CU(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_CU(cuMemcpyDtoH(&v, d, 4), CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_CU(cuMemAlloc(&d, 4), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU(cuCtxDestroy(test_ctx));
	test_ctx = NULL;
	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuMemAlloc(&d, 4));
	CU(store_to(m, d));
	CU(cuMemcpyDtoH(&v, d, 4));
	CHECK_EQ(v, 1);
}

TEST(sticky_error_in_one_context_leaves_another_intact)
{
	CUcontext good, bad;
	CUmodule mg, mb;
	CUdeviceptr d;
	int v = 0;

	CU(fresh_ctx());
	good = test_ctx;
	CU(itest_module(&mg));
	CU(cuMemAlloc(&d, 4));
	CU(itest_ctx_create(&bad));
	CU(itest_module(&mb));
	CHECK_CU(store_to(mb, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
	CU(cuCtxSetCurrent(good));
	CU(store_to(mg, d));
	CU(cuMemcpyDtoH(&v, d, 4));
	CHECK_EQ(v, 1);
	CU(cuCtxDestroy(bad));
}

TEST(deferred_error_of_an_async_memset_surfaces_once_and_does_not_stick)
{
	CUdeviceptr d;
	CUstream s;
	CUresult r;
	int v = 0;

	CU(fresh_ctx());
	CU(cuStreamCreate(&s, 0));
	CU(cuMemAlloc(&d, 64));
	/* The range runs past the allocation: the error comes either at once
	 * or at the next synchronizing call, and exactly once. */
	r = cuMemsetD32Async(d + 32, 7, 64, s);
	if (r == CUDA_SUCCESS)
		r = cuStreamSynchronize(s);
	CHECK_CU(r, CUDA_ERROR_INVALID_VALUE);
	CU(cuStreamSynchronize(s));
	CU(cuCtxSynchronize());
	CU(cuMemsetD32Async(d, 9, 1, s));
	CU(cuMemcpyDtoHAsync(&v, d, 4, s));
	CU(cuStreamSynchronize(s));
	CHECK_EQ(v, 9);
	CU(cuStreamDestroy(s));
}

TEST(module_unload_and_reload_gives_working_functions)
{
	CUmodule m;

	CU(fresh_ctx());
	for (int i = 0; i < 3; i++) {
		CALL(run_add(test_ptx, tap_failed_));
		CU(itest_module(&m));
		CU(cuModuleUnload(m));
	}
}

TEST(destroying_a_context_with_live_objects_succeeds)
{
	CUmodule m;
	CUdeviceptr d;
	CUstream s;
	CUevent e;
	void *h;

	CU(fresh_ctx());
	CU(itest_module(&m));
	CU(cuMemAlloc(&d, 1 << 20));
	CU(cuMemAllocHost(&h, 1 << 20));
	CU(cuStreamCreate(&s, 0));
	CU(cuEventCreate(&e, 0));
	CU(cuEventRecord(e, s));
	CU(cuCtxDestroy(test_ctx));
	test_ctx = NULL;
	CU(fresh_ctx());
	CU(cuMemAlloc(&d, 16));
	CU(cuMemFree(d));
	CU(cuCtxDestroy(test_ctx));
	test_ctx = NULL;
}

TAP_MAIN(TAP_ENTRY(errors_are_returned_before_cuInit),
	 TAP_ENTRY(cuInit_succeeds_and_device_0_exists),
	 TAP_ENTRY(device_name_memory_and_attributes_are_plausible),
	 TAP_ENTRY(error_names_and_strings_describe_known_codes),
	 TAP_ENTRY(calls_without_a_current_context_fail_with_invalid_context),
	 TAP_ENTRY(cuCtxCreate_pushes_and_cuCtxPopCurrent_restores_the_previous),
	 TAP_ENTRY(context_stack_is_per_thread),
	 TAP_ENTRY(primary_context_is_shared_and_reference_counted),
	 TAP_ENTRY(alloc_and_free_move_free_memory),
	 TAP_ENTRY(allocations_are_256_byte_aligned),
	 TAP_ENTRY(zero_byte_alloc_and_double_free_are_invalid_value),
	 TAP_ENTRY(copies_round_trip_for_every_size_and_alignment),
	 TAP_ENTRY(zero_length_copies_and_memsets_succeed),
	 TAP_ENTRY(device_to_device_copy_moves_exactly_the_range),
	 TAP_ENTRY(async_device_to_device_and_generic_copies_keep_stream_order),
	 TAP_ENTRY(async_copies_round_trip_from_pinned_and_pageable_memory),
	 TAP_ENTRY(copies_of_64MiB_round_trip_pinned_and_pageable),
	 TAP_ENTRY(memset_d8_d16_d32_set_exactly_their_range),
	 TAP_ENTRY(async_memsets_on_a_stream_take_effect_in_order),
	 TAP_ENTRY(module_loads_from_ptx_and_launch_packs_every_parameter_size),
	 TAP_ENTRY(launch_with_extra_buffer_packs_every_parameter_size),
	 TAP_ENTRY(module_loads_from_a_fatbin_holding_only_ptx),
	 TAP_ENTRY(module_loads_from_a_fatbin_holding_sass_and_ptx),
	 TAP_ENTRY(module_loads_through_cuModuleLoadDataEx_with_a_log_buffer),
	 TAP_ENTRY(missing_function_and_global_are_not_found),
	 TAP_ENTRY(module_globals_have_their_size_and_initial_value_and_kernels_see_writes),
	 TAP_ENTRY(launch_of_a_3d_grid_runs_every_thread_once),
	 TAP_ENTRY(launches_on_one_stream_run_in_submission_order),
	 TAP_ENTRY(stream_wait_event_orders_work_across_two_streams),
	 TAP_ENTRY(events_complete_and_elapsed_time_is_non_negative),
	 TAP_ENTRY(an_event_never_recorded_is_complete_but_has_no_time),
	 TAP_ENTRY(elapsed_time_of_a_timing_disabled_event_is_invalid_handle),
	 TAP_ENTRY(function_attributes_report_shared_memory_threads_and_ptx_version),
	 TAP_ENTRY(illegal_address_is_sticky_and_a_new_context_works),
	 TAP_ENTRY(sticky_error_in_one_context_leaves_another_intact),
	 TAP_ENTRY(deferred_error_of_an_async_memset_surfaces_once_and_does_not_stick),
	 TAP_ENTRY(module_unload_and_reload_gives_working_functions),
	 TAP_ENTRY(destroying_a_context_with_live_objects_succeeds))
