// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * errors.c - bad input through the Driver API: each test sends one invalid
 * request that is otherwise valid, checks the error a GPU driver gives, and
 * then checks that the same context still works.
 */
#include <string.h>

#include "itest.h"

static CUcontext ctx;
static CUmodule mod;
static CUdeviceptr buf;		/* BUF_BYTES, a known pattern */
#define BUF_BYTES 4096

/* Fails the test unless the context still allocates, copies and launches:
 * bad input must change nothing else. */
#define CHECK_STILL_WORKS()                                                 \
	do {                                                                \
		CUfunction f_;                                              \
		int n_ = 1, v_ = 1, got_ = 0;                               \
		CUdeviceptr d_;                                             \
		void *a_[] = { &d_, &n_, &v_ };                             \
		CU(cuMemAlloc(&d_, 4));                                     \
		CU(cuMemsetD32(d_, 41, 1));                                 \
		CU(cuModuleGetFunction(&f_, mod, "addValue"));              \
		CU(cuLaunchKernel(f_, 1, 1, 1, 1, 1, 1, 0, NULL, a_, NULL)); \
		CU(cuMemcpyDtoH(&got_, d_, 4));                             \
		CHECK_EQ(got_, 42);                                         \
		CU(cuMemFree(d_));                                          \
	} while (0)

TEST(setup_creates_a_context_module_and_buffer)
{
	CU(cuInit(0));
	CU(itest_ctx_create(&ctx));
	CU(itest_module(&mod));
	CU(cuMemAlloc(&buf, BUF_BYTES));
	CU(cuMemsetD8(buf, 0x77, BUF_BYTES));
	CHECK_STILL_WORKS();
}

TEST(copy_to_device_past_the_end_of_an_allocation_is_invalid_value)
{
	char h[16] = { 0 };

	CHECK_CU(cuMemcpyHtoD(buf + BUF_BYTES - 8, h, 16),
		 CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(copy_from_device_past_the_end_of_an_allocation_is_invalid_value)
{
	char h[16];

	CHECK_CU(cuMemcpyDtoH(h, buf + BUF_BYTES - 1, 2),
		 CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(copy_from_an_address_no_allocation_covers_is_invalid_value)
{
	char h[16];

	CHECK_CU(cuMemcpyDtoH(h, 0x1000, 16), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(cuMemcpyDtoH(h, ~(CUdeviceptr)0 - 8, 16),
		 CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(copy_with_a_length_that_wraps_the_address_space_is_invalid_value)
{
	char h[16];

	CHECK_CU(cuMemcpyDtoH(h, buf + 8, ~(size_t)0 - 4),
		 CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(device_to_device_copy_outside_either_allocation_is_invalid_value)
{
	CHECK_CU(cuMemcpyDtoD(buf, buf + 1, BUF_BYTES), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(cuMemcpyDtoD(buf + 1, buf, BUF_BYTES), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(cuMemcpyDtoD(0x2000, buf, 16), CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(memset_past_the_end_of_an_allocation_is_invalid_value_and_writes_nothing)
{
	unsigned char h[BUF_BYTES];

	CHECK_CU(cuMemsetD8(buf + 1, 0, BUF_BYTES), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(cuMemsetD32(buf, 0, BUF_BYTES / 4 + 1),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuMemcpyDtoH(h, buf, BUF_BYTES));
	for (int i = 0; i < BUF_BYTES; i++)
		CHECK_EQ(h[i], 0x77);
	CHECK_STILL_WORKS();
}

TEST(freeing_an_interior_pointer_is_invalid_value)
{
	CHECK_CU(cuMemFree(buf + 16), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(cuMemFree(0x1234500), CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(allocating_more_than_the_device_has_is_out_of_memory)
{
	size_t total;
	CUdeviceptr d;
	CUdevice dev;

	CU(cuDeviceGet(&dev, 0));
	CU(cuDeviceTotalMem(&total, dev));
	CHECK_CU(cuMemAlloc(&d, total + (1u << 30)), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_STILL_WORKS();
}

TEST(malformed_ptx_is_rejected_with_a_log_naming_the_line)
{
	static const char bad[] =
		".version 7.0\n"
		".target sm_75\n"
		".address_size 64\n"
		"\n"
		".visible .entry broken(\n"
		"\t.param .u64 p\n"
		")\n"
		"{\n"
		"\t.reg .b32 %r<4>;\n"
		"\tmov.u32 %r1, 1;\n"
		"\tthis_is_not_an_instruction %r1, %r2;\n"
		"\tret;\n"
		"}\n";
	char log[2048] = "";
	CUjit_option o[] = { CU_JIT_ERROR_LOG_BUFFER,
			     CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
	void *v[] = { log, (void *)sizeof(log) };
	CUmodule m;

	CHECK_CU2(cuModuleLoadDataEx(&m, bad, 2, o, v), CUDA_ERROR_INVALID_PTX,
		  CUDA_ERROR_INVALID_IMAGE);
	printf("# log: %.200s\n", log);
	CHECK(strstr(log, "11") != NULL);
	CHECK_STILL_WORKS();
}

TEST(ptx_with_an_unterminated_entry_is_rejected)
{
	static const char bad[] =
		".version 7.0\n.target sm_75\n.address_size 64\n"
		".visible .entry cut(\n.param .u64 p\n)\n{\n\tret;\n";
	CUmodule m;

	CHECK_CU2(cuModuleLoadData(&m, bad), CUDA_ERROR_INVALID_PTX,
		  CUDA_ERROR_INVALID_IMAGE);
	CHECK_STILL_WORKS();
}

TEST(an_image_that_is_neither_ptx_nor_fatbin_is_invalid_image)
{
	static const unsigned char junk[64] = { 0x13, 0x37, 0xde, 0xad, 1, 2 };
	CUmodule m;

	CHECK_CU2(cuModuleLoadData(&m, junk), CUDA_ERROR_INVALID_IMAGE,
		  CUDA_ERROR_INVALID_PTX);
	CHECK_STILL_WORKS();
}

TEST(a_null_image_is_invalid_value)
{
	CUmodule m;

	CHECK_CU(cuModuleLoadData(&m, NULL), CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(a_null_module_handle_is_invalid_handle)
{
	CUfunction f;

	CHECK_CU(cuModuleGetFunction(&f, NULL, "empty"),
		 CUDA_ERROR_INVALID_HANDLE);
	CHECK_STILL_WORKS();
}

/* Launches addValue(buf, 1, 1) with the given geometry. */
static CUresult launch_geom(unsigned gx, unsigned gy, unsigned gz, unsigned bx,
			    unsigned by, unsigned bz, unsigned shmem)
{
	CUfunction f;
	int n = 1, v = 1;
	void *args[] = { &buf, &n, &v };
	CUresult r = cuModuleGetFunction(&f, mod, "addValue");

	return r ? r : cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, NULL,
				      args, NULL);
}

TEST(a_zero_grid_or_block_dimension_is_invalid_value)
{
	CHECK_CU(launch_geom(0, 1, 1, 1, 1, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(launch_geom(1, 1, 0, 1, 1, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(launch_geom(1, 1, 1, 1, 0, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(a_block_of_more_than_1024_threads_is_invalid_value)
{
	CHECK_CU(launch_geom(1, 1, 1, 2048, 1, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(launch_geom(1, 1, 1, 32, 32, 2, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(launch_geom(1, 1, 1, 1, 1, 128, 0), CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(a_grid_beyond_the_device_limits_is_invalid_value)
{
	CHECK_CU(launch_geom(1, 65536, 1, 1, 1, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_CU(launch_geom(1, 1, 65536, 1, 1, 1, 0), CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(more_dynamic_shared_memory_than_the_device_has_is_invalid_value)
{
	CHECK_CU(launch_geom(1, 1, 1, 1, 1, 1, 16u << 20),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(an_extra_buffer_of_the_wrong_size_is_invalid_value)
{
	CUfunction f;
	unsigned char pbuf[64] = { 0 };
	size_t size = 12;	/* addValue takes 16 bytes */
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, pbuf,
			  CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
			  CU_LAUNCH_PARAM_END };

	CU(cuModuleGetFunction(&f, mod, "addValue"));
	CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(both_kernelParams_and_extra_is_invalid_value)
{
	CUfunction f;
	int n = 1, v = 1;
	void *args[] = { &buf, &n, &v };
	unsigned char pbuf[16];
	size_t size = sizeof(pbuf);
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, pbuf,
			  CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
			  CU_LAUNCH_PARAM_END };

	memcpy(pbuf, &buf, 8);
	memcpy(pbuf + 8, &n, 4);
	memcpy(pbuf + 12, &v, 4);
	CU(cuModuleGetFunction(&f, mod, "addValue"));
	CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, args, extra),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(no_parameters_for_a_kernel_that_takes_some_is_invalid_value)
{
	CUfunction f;

	CU(cuModuleGetFunction(&f, mod, "addValue"));
	CHECK_CU(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
		 CUDA_ERROR_INVALID_VALUE);
	CU(cuCtxSynchronize());
	CHECK_STILL_WORKS();
}

TEST(a_null_function_is_invalid_handle)
{
	CHECK_CU2(cuLaunchKernel(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
		  CUDA_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_VALUE);
	CHECK_STILL_WORKS();
}

TEST(buffer_was_not_touched_by_any_rejected_request)
{
	unsigned char h[BUF_BYTES];

	CU(cuMemcpyDtoH(h, buf, BUF_BYTES));
	for (int i = 0; i < BUF_BYTES; i++)
		CHECK_EQ(h[i], 0x77);
	CU(cuCtxDestroy(ctx));
}

TAP_MAIN(TAP_ENTRY(setup_creates_a_context_module_and_buffer),
	 TAP_ENTRY(copy_to_device_past_the_end_of_an_allocation_is_invalid_value),
	 TAP_ENTRY(copy_from_device_past_the_end_of_an_allocation_is_invalid_value),
	 TAP_ENTRY(copy_from_an_address_no_allocation_covers_is_invalid_value),
	 TAP_ENTRY(copy_with_a_length_that_wraps_the_address_space_is_invalid_value),
	 TAP_ENTRY(device_to_device_copy_outside_either_allocation_is_invalid_value),
	 TAP_ENTRY(memset_past_the_end_of_an_allocation_is_invalid_value_and_writes_nothing),
	 TAP_ENTRY(freeing_an_interior_pointer_is_invalid_value),
	 TAP_ENTRY(allocating_more_than_the_device_has_is_out_of_memory),
	 TAP_ENTRY(malformed_ptx_is_rejected_with_a_log_naming_the_line),
	 TAP_ENTRY(ptx_with_an_unterminated_entry_is_rejected),
	 TAP_ENTRY(an_image_that_is_neither_ptx_nor_fatbin_is_invalid_image),
	 TAP_ENTRY(a_null_image_is_invalid_value),
	 TAP_ENTRY(a_null_module_handle_is_invalid_handle),
	 TAP_ENTRY(a_zero_grid_or_block_dimension_is_invalid_value),
	 TAP_ENTRY(a_block_of_more_than_1024_threads_is_invalid_value),
	 TAP_ENTRY(a_grid_beyond_the_device_limits_is_invalid_value),
	 TAP_ENTRY(more_dynamic_shared_memory_than_the_device_has_is_invalid_value),
	 TAP_ENTRY(an_extra_buffer_of_the_wrong_size_is_invalid_value),
	 TAP_ENTRY(both_kernelParams_and_extra_is_invalid_value),
	 TAP_ENTRY(no_parameters_for_a_kernel_that_takes_some_is_invalid_value),
	 TAP_ENTRY(a_null_function_is_invalid_handle),
	 TAP_ENTRY(buffer_was_not_touched_by_any_rejected_request))
