// SPDX-License-Identifier: MIT
/*
 * api.c - CUDA Driver API semantics of libvgpu against a running vgpud
 * (VGPU_SOCKET): contexts and the per-thread stack, primary context
 * reference counts, every copy path, memsets, modules, both launch forms,
 * streams, events, several threads at once, and the async launch rate.
 *
 * usage: api KERNELS_PTX KERNELS_FATBIN
 */
#include <cuda.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static char *ptx, *fatbin;
static const char *ptx_path, *fatbin_path;
static CUdevice dev;

#define OK(call) CHECK_EQ((call), CUDA_SUCCESS)

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

TEST(device_reports_name_memory_and_attributes)
{
	char name[256] = "";
	size_t total = 0;
	int n = 0, warp = 0, major = -1;

	OK(cuDeviceGetCount(&n));
	CHECK_EQ(n, 1);
	OK(cuDeviceGet(&dev, 0));
	OK(cuDeviceGetName(name, sizeof(name), dev));
	CHECK(name[0] != 0);
	OK(cuDeviceTotalMem(&total, dev));
	CHECK(total > 0);
	OK(cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev));
	CHECK_EQ(warp, 32);
	OK(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
	CHECK(major > 0);
	CHECK_EQ(cuDeviceGet(&dev, 1), CUDA_ERROR_INVALID_DEVICE);
	CHECK_EQ(cuDeviceGetName(NULL, 10, dev), CUDA_ERROR_INVALID_VALUE);
}

TEST(without_a_current_context_calls_are_invalid_context)
{
	CUdeviceptr p;
	size_t f, t;

	CHECK_EQ(cuMemAlloc(&p, 64), CUDA_ERROR_INVALID_CONTEXT);
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
	CHECK_EQ(cuMemGetInfo(&f, &t), CUDA_ERROR_INVALID_CONTEXT);
}

static void *other_thread(void *arg)
{
	CUcontext cur = (CUcontext)1;

	*(int *)arg = cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == NULL &&
		      cuCtxSynchronize() == CUDA_ERROR_INVALID_CONTEXT;
	return NULL;
}

TEST(context_stack_is_per_thread)
{
	CUcontext a, b, cur, popped;
	pthread_t t;
	int ok = 0;

	OK(cuCtxCreate(&a, NULL, 0, dev));
	OK(cuCtxCreate(&b, NULL, 0, dev));
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == b);
	pthread_create(&t, NULL, other_thread, &ok);
	pthread_join(t, NULL);
	CHECK(ok);
	OK(cuCtxPopCurrent(&popped));
	CHECK(popped == b);
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == a);
	OK(cuCtxPushCurrent(b));
	OK(cuCtxDestroy(b));
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == a);
	OK(cuCtxDestroy(a));
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == NULL);
	CHECK_EQ(cuCtxPopCurrent(&popped), CUDA_ERROR_INVALID_CONTEXT);
}

TEST(primary_context_is_reference_counted)
{
	CUcontext p1, p2;
	unsigned int flags;
	int active;

	OK(cuDevicePrimaryCtxRetain(&p1, dev));
	OK(cuDevicePrimaryCtxRetain(&p2, dev));
	CHECK(p1 == p2);
	OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
	CHECK_EQ(active, 1);
	/* The primary context is not destroyed with cuCtxDestroy. */
	CHECK(cuCtxDestroy(p1) != CUDA_SUCCESS);
	OK(cuDevicePrimaryCtxRelease(dev));
	OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
	CHECK_EQ(active, 1);
	OK(cuDevicePrimaryCtxRelease(dev));
	OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
	CHECK_EQ(active, 0);
	CHECK(cuDevicePrimaryCtxRelease(dev) != CUDA_SUCCESS);
	/* Retained again, it is the same handle with a fresh context. */
	OK(cuDevicePrimaryCtxRetain(&p2, dev));
	CHECK(p1 == p2);
	OK(cuCtxPushCurrent(p2));
	OK(cuCtxSynchronize());
	OK(cuCtxPopCurrent(&p2));
	OK(cuDevicePrimaryCtxRelease(dev));
}

/* Every later test runs in this context. */
static CUcontext main_ctx;

TEST(created_context_becomes_current)
{
	CUcontext cur;
	CUdevice d = -1;
	unsigned int v = 0;

	OK(cuCtxCreate(&main_ctx, NULL, 0, dev));
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == main_ctx);
	OK(cuCtxGetDevice(&d));
	CHECK_EQ(d, dev);
	OK(cuCtxGetApiVersion(main_ctx, &v));
	CHECK(v >= 3020);
}

TEST(null_outputs_are_invalid_value)
{
	CHECK_EQ(cuMemAlloc(NULL, 64), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuMemGetInfo(NULL, NULL), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuCtxGetCurrent(NULL), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuStreamCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuEventCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

static int roundtrip(size_t n, bool pinned)
{
	unsigned char *src, *dst;
	CUdeviceptr d, d2;
	size_t i;
	int bad = 0;

	if (pinned) {
		if (cuMemAllocHost((void **)&src, n) || cuMemAllocHost((void **)&dst, n))
			return -1;
	} else {
		src = malloc(n);
		dst = malloc(n);
	}
	for (i = 0; i < n; i++) {
		src[i] = (unsigned char)(i * 7 + 3);
		dst[i] = 0;
	}
	if (cuMemAlloc(&d, n) || cuMemAlloc(&d2, n))
		return -2;
	if (cuMemcpyHtoD(d, src, n) || cuMemcpyDtoD(d2, d, n) || cuMemcpyDtoH(dst, d2, n))
		return -3;
	bad = memcmp(src, dst, n) != 0;
	cuMemFree(d);
	cuMemFree(d2);
	if (pinned) {
		cuMemFreeHost(src);
		cuMemFreeHost(dst);
	} else {
		free(src);
		free(dst);
	}
	return bad;
}

TEST(small_pageable_copies_round_trip)
{
	CHECK_EQ(roundtrip(1, false), 0);
	CHECK_EQ(roundtrip(4096, false), 0);
	CHECK_EQ(roundtrip(65536, false), 0);
}

TEST(large_pageable_copies_round_trip_through_staging)
{
	CHECK_EQ(roundtrip(65537, false), 0);
	CHECK_EQ(roundtrip((20u << 20) + 123, false), 0);
}

TEST(pinned_copies_round_trip)
{
	CHECK_EQ(roundtrip(100, true), 0);
	CHECK_EQ(roundtrip(9u << 20, true), 0);
}

TEST(registered_host_memory_copies_and_unregisters)
{
	size_t n = (3u << 20) + 5, i;
	unsigned char *src = malloc(n), *dst = malloc(n), *pin;
	CUdeviceptr d;

	CHECK(src && dst);
	for (i = 0; i < n; i++) {
		src[i] = (unsigned char)(i * 13 + 1);
		dst[i] = 0;
	}
	OK(cuMemHostRegister(src, n, CU_MEMHOSTREGISTER_PORTABLE));
	OK(cuMemHostRegister(dst, n, 0));
	/* a range overlapping a registration, or pinned memory, is taken */
	CHECK_EQ(cuMemHostRegister(src + 100, 10, 0),
		 CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	OK(cuMemAllocHost((void **)&pin, 4096));
	CHECK_EQ(cuMemHostRegister(pin + 8, 8, 0),
		 CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	OK(cuMemFreeHost(pin));
	CHECK_EQ(cuMemHostRegister(NULL, 8, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuMemHostRegister(src, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuMemHostRegister(src, n, 0x100), CUDA_ERROR_INVALID_VALUE);
	OK(cuMemAlloc(&d, n));
	OK(cuMemcpyHtoD(d, src, n));
	OK(cuMemcpyDtoH(dst, d, n));
	CHECK_EQ(memcmp(src, dst, n), 0);
	OK(cuMemFree(d));
	CHECK_EQ(cuMemHostUnregister(src + 1),
		 CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	OK(cuMemHostUnregister(src));
	OK(cuMemHostUnregister(dst));
	CHECK_EQ(cuMemHostUnregister(src), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	/* registered again once released */
	OK(cuMemHostRegister(src, n, 0));
	OK(cuMemHostUnregister(src));
	free(src);
	free(dst);
}

TEST(async_copies_to_pinned_memory_complete_at_synchronize)
{
	enum { CHUNK = 64, COUNT = 3000 };
	unsigned int *src, *dst;
	CUdeviceptr d;
	CUstream s;
	int i, bad = 0;

	OK(cuMemAllocHost((void **)&src, CHUNK * COUNT * 4));
	OK(cuMemAllocHost((void **)&dst, CHUNK * COUNT * 4));
	for (i = 0; i < CHUNK * COUNT; i++) {
		src[i] = i * 2654435761u;
		dst[i] = 0;
	}
	OK(cuMemAlloc(&d, CHUNK * COUNT * 4));
	OK(cuStreamCreate(&s, 0));
	OK(cuMemcpyHtoDAsync(d, src, CHUNK * COUNT * 4, s));
	/* More detached replies than the library lets pile up unread. */
	for (i = 0; i < COUNT; i++)
		OK(cuMemcpyDtoHAsync(dst + i * CHUNK, d + i * CHUNK * 4, CHUNK * 4, s));
	OK(cuStreamSynchronize(s));
	for (i = 0; i < CHUNK * COUNT; i++)
		bad += dst[i] != src[i];
	CHECK_EQ(bad, 0);
	OK(cuStreamDestroy(s));
	OK(cuMemFree(d));
	OK(cuMemFreeHost(src));
	OK(cuMemFreeHost(dst));
}

TEST(copies_outside_an_allocation_are_invalid_value)
{
	CUdeviceptr d;
	char buf[64];

	OK(cuMemAlloc(&d, 32));
	CHECK_EQ(cuMemcpyHtoD(d, buf, 64), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuMemcpyDtoH(buf, d + 16, 32), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuMemcpyHtoD(d, NULL, 8), CUDA_ERROR_INVALID_VALUE);
	OK(cuMemFree(d));
	CHECK_EQ(cuMemFree(d), CUDA_ERROR_INVALID_VALUE);
}

TEST(unified_memcpy_finds_the_direction)
{
	int h[16], back[16], i;
	CUdeviceptr d, d2;

	for (i = 0; i < 16; i++)
		h[i] = i * i;
	OK(cuMemAlloc(&d, sizeof(h)));
	OK(cuMemAlloc(&d2, sizeof(h)));
	OK(cuMemcpy(d, (CUdeviceptr)(uintptr_t)h, sizeof(h)));
	OK(cuMemcpy(d2, d, sizeof(h)));
	OK(cuMemcpyAsync((CUdeviceptr)(uintptr_t)back, d2, sizeof(h), NULL));
	OK(cuCtxSynchronize());
	CHECK(!memcmp(h, back, sizeof(h)));
	OK(cuMemFree(d));
	OK(cuMemFree(d2));
}

TEST(memsets_fill_8_16_and_32_bit_elements)
{
	unsigned char b[64];
	unsigned short s[32];
	unsigned int w[16];
	CUdeviceptr d;
	int i;

	OK(cuMemAlloc(&d, 64));
	OK(cuMemsetD8(d, 0xab, 64));
	OK(cuMemcpyDtoH(b, d, 64));
	for (i = 0; i < 64; i++)
		CHECK_EQ(b[i], 0xab);
	OK(cuMemsetD16(d, 0x1234, 32));
	OK(cuMemcpyDtoH(s, d, 64));
	for (i = 0; i < 32; i++)
		CHECK_EQ(s[i], 0x1234);
	OK(cuMemsetD32Async(d, 0xdeadbeef, 16, NULL));
	OK(cuMemcpyDtoH(w, d, 64));
	for (i = 0; i < 16; i++)
		CHECK_EQ(w[i], 0xdeadbeef);
	CHECK_EQ(cuMemsetD32(d, 0, 17), CUDA_ERROR_INVALID_VALUE);
	OK(cuMemFree(d));
}

TEST(address_range_and_mem_info)
{
	CUdeviceptr d, base = 0;
	size_t size = 0, f = 0, t = 0;

	OK(cuMemAlloc(&d, 1000));
	OK(cuMemGetAddressRange(&base, &size, d + 10));
	CHECK(base == d);
	CHECK_EQ(size, 1000);
	CHECK_EQ(cuMemGetAddressRange(&base, &size, d + 1000), CUDA_ERROR_NOT_FOUND);
	OK(cuMemGetInfo(&f, &t));
	CHECK(t > 0 && f <= t);
	OK(cuMemFree(d));
}

static CUmodule mod;

TEST(ptx_module_loads_and_names_its_functions)
{
	CUfunction f, f2;
	CUdeviceptr g;
	size_t gs = 0;
	int regs = -1;

	OK(cuModuleLoadData(&mod, ptx));
	OK(cuModuleGetFunction(&f, mod, "axpy"));
	OK(cuModuleGetFunction(&f2, mod, "axpy"));
	CHECK(f == f2);
	CHECK_EQ(cuModuleGetFunction(&f, mod, "nope"), CUDA_ERROR_NOT_FOUND);
	OK(cuModuleGetGlobal(&g, &gs, mod, "counter"));
	CHECK_EQ(gs, 4);
	OK(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f2));
	CHECK(regs >= 0);
}

TEST(broken_ptx_fails_with_a_log)
{
	static const char bad[] = ".version 9.0\n.target sm_75\n.address_size 64\n"
				  ".visible .entry k()\n{\n\tfrobnicate;\n}\n";
	char log[1024] = "";
	CUjit_option opts[] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
	void *vals[] = { log, (void *)(uintptr_t)sizeof(log) };
	CUmodule m;
	CUresult r = cuModuleLoadDataEx(&m, bad, 2, opts, vals);

	CHECK(r != CUDA_SUCCESS);
	printf("# load error %d, log: %.200s\n", (int)r, log);
	CHECK(log[0] != 0);
}

TEST(kernel_params_launch_computes_axpy)
{
	enum { N = 1000 };
	float x[N], y[N];
	float a = 2.0f;
	int n = N, i;
	CUdeviceptr dx, dy;
	CUfunction f;
	void *args[] = { &a, &dx, &dy, &n };

	for (i = 0; i < N; i++) {
		x[i] = i;
		y[i] = 1;
	}
	OK(cuModuleGetFunction(&f, mod, "axpy"));
	OK(cuMemAlloc(&dx, sizeof(x)));
	OK(cuMemAlloc(&dy, sizeof(y)));
	OK(cuMemcpyHtoD(dx, x, sizeof(x)));
	OK(cuMemcpyHtoD(dy, y, sizeof(y)));
	OK(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, args, NULL));
	OK(cuMemcpyDtoH(y, dy, sizeof(y)));
	for (i = 0; i < N; i++)
		CHECK(y[i] == 2.0f * i + 1);
	OK(cuMemFree(dx));
	OK(cuMemFree(dy));
}

TEST(extra_buffer_launch_packs_mixed_parameters)
{
	struct {
		char c;
		double d;
		unsigned short s;
		long long *out;
	} p;
	size_t size = sizeof(p);
	long long out[3] = { 0 };
	CUdeviceptr d;
	CUfunction f;
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &p,
			  CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END };

	OK(cuModuleGetFunction(&f, mod, "mixed"));
	OK(cuMemAlloc(&d, sizeof(out)));
	memset(&p, 0, sizeof(p));
	p.c = 7;
	p.d = 12345.0;
	p.s = 0xfffd;
	p.out = (long long *)(uintptr_t)d;
	OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra));
	OK(cuMemcpyDtoH(out, d, sizeof(out)));
	CHECK_EQ(out[0], 7);
	CHECK_EQ(out[1], 12345);
	CHECK_EQ(out[2], 0xfffd);
	OK(cuMemFree(d));
}

TEST(launch_kernel_ex_takes_a_config_and_hints)
{
	enum { N = 256 };
	float x[N], y[N], a = 3;
	int n = N, i, ok = 1;
	CUdeviceptr dx, dy;
	CUfunction f;
	void *args[] = { &a, &dx, &dy, &n };
	CUlaunchAttribute attrs[2];
	CUlaunchConfig cfg = { 1, 1, 1, N, 1, 1, 0, NULL, attrs, 2 };

	memset(attrs, 0, sizeof(attrs));
	attrs[0].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
	attrs[0].value.priority = -1;
	attrs[1].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
	attrs[1].value.clusterDim.x = attrs[1].value.clusterDim.y =
		attrs[1].value.clusterDim.z = 1;
	for (i = 0; i < N; i++) {
		x[i] = i;
		y[i] = 1;
	}
	OK(cuModuleGetFunction(&f, mod, "axpy"));
	OK(cuMemAlloc(&dx, sizeof(x)));
	OK(cuMemAlloc(&dy, sizeof(y)));
	OK(cuMemcpyHtoD(dx, x, sizeof(x)));
	OK(cuMemcpyHtoD(dy, y, sizeof(y)));
	OK(cuLaunchKernelEx(&cfg, f, args, NULL));
	OK(cuMemcpyDtoH(y, dy, sizeof(y)));
	for (i = 0; i < N; i++)
		ok &= y[i] == 3.0f * i + 1;
	CHECK(ok);
	attrs[1].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
	attrs[1].value.cooperative = 1;
	CHECK_EQ(cuLaunchKernelEx(&cfg, f, args, NULL), CUDA_ERROR_NOT_SUPPORTED);
	CHECK_EQ(cuLaunchKernelEx(NULL, f, args, NULL), CUDA_ERROR_INVALID_VALUE);
	OK(cuMemFree(dx));
	OK(cuMemFree(dy));
}

TEST(bad_launch_configurations_are_invalid_value)
{
	CUfunction f;

	OK(cuModuleGetFunction(&f, mod, "empty"));
	CHECK_EQ(cuLaunchKernel(f, 0, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
		 CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuLaunchKernel(f, 1, 1, 1, 4096, 1, 1, 0, NULL, NULL, NULL),
		 CUDA_ERROR_INVALID_VALUE);
	{
		void *end_only[] = { CU_LAUNCH_PARAM_END };

		/* A kernel without parameters takes an `extra` of just END. */
		OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, end_only));
	}
	OK(cuModuleGetFunction(&f, mod, "axpy"));
	CHECK_EQ(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
		 CUDA_ERROR_INVALID_VALUE);
	{
		float a = 1;
		size_t small = 4;
		void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &a,
				  CU_LAUNCH_PARAM_BUFFER_SIZE, &small, CU_LAUNCH_PARAM_END };
		void *bogus[] = { (void *)7, NULL, CU_LAUNCH_PARAM_END };
		void *args[] = { &a, &a, &a, &a };

		/* A buffer shorter than the parameters, an unknown key, both forms. */
		CHECK_EQ(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra),
			 CUDA_ERROR_INVALID_VALUE);
		CHECK_EQ(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, bogus),
			 CUDA_ERROR_INVALID_VALUE);
		CHECK_EQ(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args, extra),
			 CUDA_ERROR_INVALID_VALUE);
	}
	OK(cuCtxSynchronize());
}

TEST(queries_describe_pointers_streams_contexts_and_functions)
{
	CUdeviceptr d, base = 0, dp = 0;
	CUcontext c = NULL;
	CUdevice dv = -1;
	CUstream s;
	CUfunction f;
	unsigned long long id1 = 0, id2 = 0;
	unsigned int type = 0;
	size_t size = 0, poff = 1, psz = 0;
	const char *name = NULL;
	char bus[32] = "";
	void *host, *hp = NULL;
	int blocks = -1;

	OK(cuMemAlloc(&d, 4096));
	OK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 100));
	CHECK_EQ(type, CU_MEMORYTYPE_DEVICE);
	OK(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, d));
	CHECK(c == main_ctx);
	OK(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 100));
	CHECK(base == d);
	OK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 100));
	CHECK_EQ(size, 4096);
	OK(cuPointerGetAttribute(&dp, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, d));
	CHECK(dp == d);
	CHECK_EQ(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
				       (CUdeviceptr)(uintptr_t)&type),
		 CUDA_ERROR_INVALID_VALUE);
	OK(cuMemAllocHost(&host, 100));
	OK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
				 (CUdeviceptr)(uintptr_t)host + 10));
	CHECK_EQ(type, CU_MEMORYTYPE_HOST);
	OK(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
				 (CUdeviceptr)(uintptr_t)host));
	CHECK(hp == host);
	OK(cuMemFreeHost(host));
	OK(cuMemFree(d));

	OK(cuStreamCreate(&s, 0));
	OK(cuStreamGetCtx(s, &c));
	CHECK(c == main_ctx);
	OK(cuStreamGetId(s, &id1));
	OK(cuStreamGetId(NULL, &id2));
	CHECK(id1 != id2);
	OK(cuStreamDestroy(s));
	OK(cuCtxGetId(NULL, &id1));
	OK(cuCtxGetId(main_ctx, &id2));
	CHECK(id1 == id2);
	OK(cuCtxGetDevice_v2(&dv, main_ctx));
	CHECK_EQ(dv, dev);
	OK(cuCtxSynchronize_v2(NULL));
	OK(cuDeviceGetPCIBusId(bus, sizeof(bus), dev));
	CHECK(strchr(bus, ':') != NULL);

	OK(cuModuleGetFunction(&f, mod, "axpy"));
	OK(cuFuncGetName(&name, f));
	CHECK(name && !strcmp(name, "axpy"));
	/* axpy(float, float *, float *, unsigned): natural alignment */
	OK(cuFuncGetParamInfo(f, 0, &poff, &psz));
	CHECK(poff == 0 && psz == 4);
	OK(cuFuncGetParamInfo(f, 1, &poff, NULL));
	CHECK_EQ(poff, 8);
	OK(cuFuncGetParamInfo(f, 3, &poff, &psz));
	CHECK(poff == 24 && psz == 4);
	CHECK_EQ(cuFuncGetParamInfo(f, 4, &poff, &psz), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuFuncGetParamInfo(f, 0, NULL, &psz), CUDA_ERROR_INVALID_VALUE);
	OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 128, 0));
	CHECK(blocks >= 1);
	OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 1 << 20, 0));
	CHECK_EQ(blocks, 0);
}

TEST(streams_and_events_order_and_time_work)
{
	CUstream s1, s2;
	CUevent e0, e1, nt;
	CUfunction f;
	CUdeviceptr g;
	size_t gs;
	float ms = -1;
	int i, count = 0;

	OK(cuModuleGetFunction(&f, mod, "bump"));
	OK(cuModuleGetGlobal(&g, &gs, mod, "counter"));
	OK(cuMemsetD32(g, 0, 1));
	OK(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
	OK(cuStreamCreateWithPriority(&s2, 0, -1));
	OK(cuEventCreate(&e0, CU_EVENT_DEFAULT));
	OK(cuEventCreate(&e1, CU_EVENT_DEFAULT));
	OK(cuEventCreate(&nt, CU_EVENT_DISABLE_TIMING));
	OK(cuEventRecord(e0, s1));
	for (i = 0; i < 10; i++)
		OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s1, NULL, NULL));
	OK(cuEventRecord(e1, s1));
	OK(cuStreamWaitEvent(s2, e1, 0));
	OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s2, NULL, NULL));
	OK(cuEventRecord(nt, s2));
	OK(cuStreamSynchronize(s2));
	OK(cuEventSynchronize(e1));
	OK(cuEventQuery(e1));
	OK(cuStreamQuery(s1));
	OK(cuEventElapsedTime(&ms, e0, e1));
	CHECK(ms >= 0);
	OK(cuEventElapsedTime(&ms, e1, e0));
	CHECK(ms <= 0);
	CHECK_EQ(cuEventElapsedTime(&ms, e0, nt), CUDA_ERROR_INVALID_HANDLE);
	OK(cuMemcpyDtoH(&count, g, sizeof(count)));
	CHECK_EQ(count, 11);
	OK(cuEventDestroy(e0));
	OK(cuEventDestroy(e1));
	OK(cuEventDestroy(nt));
	OK(cuStreamDestroy(s1));
	OK(cuStreamDestroy(s2));
	OK(cuStreamSynchronize(CU_STREAM_LEGACY));
	OK(cuStreamSynchronize(CU_STREAM_PER_THREAD));
}

TEST(kernel_printf_reaches_stdout)
{
	char path[] = "/tmp/vgpu-printf-XXXXXX", text[256] = "";
	int fd = mkstemp(path), saved, v = 7;
	void *args[] = { &v };
	CUfunction f;
	FILE *in;
	size_t n;

	CHECK(fd >= 0);
	unlink(path);
	OK(cuModuleGetFunction(&f, mod, "hello"));
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	OK(cuLaunchKernel(f, 1, 1, 1, 2, 1, 1, 0, NULL, args, NULL));
	OK(cuCtxSynchronize());
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	in = fdopen(fd, "r");
	rewind(in);
	n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = 0;
	printf("# kernel output: %s\n", text);
	CHECK(strstr(text, "hello 7 from thread 0\n") != NULL);
	CHECK(strstr(text, "hello 7 from thread 1\n") != NULL);
}

static void *worker(void *arg)
{
	int *ok = arg, i, v[256], back[256];
	CUdeviceptr d;

	*ok = 0;
	if (cuCtxSetCurrent(main_ctx) || cuMemAlloc(&d, sizeof(v)))
		return NULL;
	for (i = 0; i < 256; i++)
		v[i] = i ^ (int)(uintptr_t)arg;
	for (i = 0; i < 50; i++) {
		if (cuMemcpyHtoD(d, v, sizeof(v)) || cuMemcpyDtoH(back, d, sizeof(v)) ||
		    memcmp(v, back, sizeof(v)))
			return NULL;
	}
	*ok = cuMemFree(d) == CUDA_SUCCESS;
	return NULL;
}

TEST(threads_share_one_connection)
{
	pthread_t t[4];
	int ok[4], i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, &ok[i]);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		CHECK(ok[i]);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(async_empty_launches_are_counted)
{
	enum { N = 100000 };
	CUfunction f;
	double t0, t1;
	int i;

	OK(cuModuleGetFunction(&f, mod, "empty"));
	OK(cuCtxSynchronize());
	t0 = now();
	for (i = 0; i < N; i++)
		OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL));
	t1 = now();
	OK(cuCtxSynchronize());
	printf("# %d async launches: issue %.0f/s, issue+drain %.0f/s\n", N,
	       N / (t1 - t0), N / (now() - t0));
}

TEST(execution_fault_is_sticky_to_its_context_only)
{
	CUcontext bad;
	CUmodule m;
	CUfunction f;
	CUdeviceptr wild = 0x10;
	void *args[] = { &wild };
	CUresult r;

	OK(cuCtxCreate(&bad, NULL, 0, dev));
	OK(cuModuleLoadData(&m, ptx));
	OK(cuModuleGetFunction(&f, m, "store"));
	OK(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL));
	r = cuCtxSynchronize();
	CHECK_EQ(r, CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
	OK(cuCtxDestroy(bad));
	OK(cuCtxSetCurrent(main_ctx));
	OK(cuCtxSynchronize());
}

/* Runs axpy from @m on 256 elements; returns whether the result is right. */
static int run_axpy(CUmodule m)
{
	float x[256], y[256], a = 0.5f;
	int n = 256, i, ok = 1;
	CUdeviceptr dx, dy;
	CUfunction f;
	void *args[] = { &a, &dx, &dy, &n };

	for (i = 0; i < n; i++) {
		x[i] = 2 * i;
		y[i] = 1;
	}
	if (cuModuleGetFunction(&f, m, "axpy") || cuMemAlloc(&dx, sizeof(x)) ||
	    cuMemAlloc(&dy, sizeof(y)) || cuMemcpyHtoD(dx, x, sizeof(x)) ||
	    cuMemcpyHtoD(dy, y, sizeof(y)) ||
	    cuLaunchKernel(f, 1, 1, 1, 256, 1, 1, 0, NULL, args, NULL) ||
	    cuMemcpyDtoH(y, dy, sizeof(y)))
		return 0;
	for (i = 0; i < n; i++)
		ok &= y[i] == i + 1.0f;
	cuMemFree(dx);
	cuMemFree(dy);
	return ok;
}

TEST(fatbin_images_load_bare_wrapped_and_from_files)
{
	struct {
		int magic, version;
		const void *data, *filename_or_fatbins;
	} wrapper = { 0x466243B1, 1, fatbin, NULL };
	CUmodule m;

	OK(cuModuleLoadData(&m, fatbin));
	CHECK(run_axpy(m));
	OK(cuModuleUnload(m));
	OK(cuModuleLoadFatBinary(&m, &wrapper));
	CHECK(run_axpy(m));
	OK(cuModuleUnload(m));
	OK(cuModuleLoad(&m, fatbin_path));
	CHECK(run_axpy(m));
	OK(cuModuleUnload(m));
	OK(cuModuleLoad(&m, ptx_path));
	CHECK(run_axpy(m));
	{
		CUdeviceptr g;
		size_t gs;
		int v = 5;

		/* A global is device memory until its module is unloaded. */
		OK(cuModuleGetGlobal(&g, &gs, m, "counter"));
		OK(cuMemcpyHtoD(g, &v, sizeof(v)));
		OK(cuModuleUnload(m));
		CHECK_EQ(cuMemcpyHtoD(g, &v, sizeof(v)), CUDA_ERROR_INVALID_VALUE);
	}
	CHECK_EQ(cuModuleLoad(&m, "/nonexistent.ptx"), CUDA_ERROR_FILE_NOT_FOUND);
}

/* The entry points binaries built against CUDA 12's cuda.h import. */
#undef cuEventElapsedTime
#undef cuGetProcAddress
CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);
CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b);
CUresult cuGetProcAddress(const char *symbol, void **pfn, int version,
			  cuuint64_t flags);

TEST(cuda12_entry_points_work)
{
	typedef CUresult (*ctx_v3_fn)(CUcontext *, void *, int, unsigned int, CUdevice);
	CUcontext c, c3, cur;
	CUevent a, b;
	void *pfn = NULL;
	float ms = -1;

	OK(cuCtxCreate_v2(&c, 0, dev));
	OK(cuCtxGetCurrent(&cur));
	CHECK(cur == c);
	OK(cuEventCreate(&a, 0));
	OK(cuEventCreate(&b, 0));
	OK(cuEventRecord(a, NULL));
	OK(cuEventRecord(b, NULL));
	OK(cuEventSynchronize(b));
	OK(cuEventElapsedTime(&ms, a, b));
	CHECK(ms >= 0);
	/* CUDA 12.0 asks for cuCtxCreate and gets the 11.4 ABI (_v3). */
	OK(cuGetProcAddress("cuCtxCreate", &pfn, 12000, 0));
	CHECK(pfn != NULL);
	OK(((ctx_v3_fn)pfn)(&c3, NULL, 0, 0, dev));
	OK(cuCtxDestroy(c3));
	OK(cuCtxDestroy(c));
	OK(cuCtxSetCurrent(main_ctx));
}

TEST(teardown_unloads_and_destroys)
{
	CHECK_EQ(cuModuleUnload(NULL), CUDA_ERROR_INVALID_HANDLE);
	OK(cuModuleUnload(mod));
	OK(cuCtxDestroy(main_ctx));
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
}

int main(int argc, char **argv)
{
	static const struct tap_test t[] = {
		TAP_ENTRY(device_reports_name_memory_and_attributes),
		TAP_ENTRY(without_a_current_context_calls_are_invalid_context),
		TAP_ENTRY(context_stack_is_per_thread),
		TAP_ENTRY(primary_context_is_reference_counted),
		TAP_ENTRY(created_context_becomes_current),
		TAP_ENTRY(null_outputs_are_invalid_value),
		TAP_ENTRY(small_pageable_copies_round_trip),
		TAP_ENTRY(large_pageable_copies_round_trip_through_staging),
		TAP_ENTRY(pinned_copies_round_trip),
		TAP_ENTRY(registered_host_memory_copies_and_unregisters),
		TAP_ENTRY(async_copies_to_pinned_memory_complete_at_synchronize),
		TAP_ENTRY(copies_outside_an_allocation_are_invalid_value),
		TAP_ENTRY(unified_memcpy_finds_the_direction),
		TAP_ENTRY(memsets_fill_8_16_and_32_bit_elements),
		TAP_ENTRY(address_range_and_mem_info),
		TAP_ENTRY(ptx_module_loads_and_names_its_functions),
		TAP_ENTRY(broken_ptx_fails_with_a_log),
		TAP_ENTRY(kernel_params_launch_computes_axpy),
		TAP_ENTRY(extra_buffer_launch_packs_mixed_parameters),
		TAP_ENTRY(launch_kernel_ex_takes_a_config_and_hints),
		TAP_ENTRY(bad_launch_configurations_are_invalid_value),
		TAP_ENTRY(queries_describe_pointers_streams_contexts_and_functions),
		TAP_ENTRY(streams_and_events_order_and_time_work),
		TAP_ENTRY(kernel_printf_reaches_stdout),
		TAP_ENTRY(threads_share_one_connection),
		TAP_ENTRY(async_empty_launches_are_counted),
		TAP_ENTRY(execution_fault_is_sticky_to_its_context_only),
		TAP_ENTRY(fatbin_images_load_bare_wrapped_and_from_files),
		TAP_ENTRY(cuda12_entry_points_work),
		TAP_ENTRY(teardown_unloads_and_destroys),
	};

	if (argc != 3 || !(ptx = slurp(argv[1])) || !(fatbin = slurp(argv[2]))) {
		fprintf(stderr, "usage: api KERNELS_PTX KERNELS_FATBIN\n");
		return 2;
	}
	ptx_path = argv[1];
	fatbin_path = argv[2];
	if (cuInit(0) != CUDA_SUCCESS) {
		printf("not ok 1 - cuInit reaches vgpud at VGPU_SOCKET\n");
		return 1;
	}
	return tap_run(t, sizeof(t) / sizeof(t[0]));
}
