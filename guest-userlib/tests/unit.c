// SPDX-License-Identifier: MIT
/*
 * unit.c - libvgpu behaviour that needs no daemon: image recognition,
 * error names, error conversion, calls before cuInit, cuGetProcAddress's
 * version and per-thread-stream selection.  Linked with the library's
 * objects so that internal functions can be called.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "../src/vgpu.h"
#include "tap.h"

/* Entry points under their exported names, for address comparisons. */
CUresult cuCtxCreate_v2(CUcontext *, unsigned int, CUdevice);
CUresult cuCtxCreate_v3(CUcontext *, void *, int, unsigned int, CUdevice);
CUresult cuCtxCreate_v4(CUcontext *, CUctxCreateParams *, unsigned int, CUdevice);
CUresult cuMemcpyHtoD_v2(CUdeviceptr, const void *, size_t);
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr, const void *, size_t);
CUresult cuLaunchKernel_ptsz();
CUresult cuMemAlloc_v2(CUdeviceptr *, size_t);
CUresult cuArrayCreate_v2();
CUresult cuGraphInstantiateWithFlags();
CUresult cuGraphInstantiate_v2();
CUresult cuStreamGetCaptureInfo();
CUresult cuStreamGetCaptureInfo_v2();
CUresult cuStreamGetCaptureInfo_v3();
CUresult cuMemcpy2D_v2();
CUresult cuMemcpy2D_v2_ptds();
CUresult cuGraphLaunch();
CUresult cuGraphLaunch_ptsz();

TEST(ptx_image_length_is_its_text_and_nul)
{
	static const char ptx[] = ".version 8.0\n.target sm_75\n";
	const void *start;
	uint32_t kind;
	size_t size;

	CHECK_EQ(vgpu_image_size(ptx, &size, &kind, &start), 0);
	CHECK_EQ(size, sizeof(ptx));
	CHECK_EQ(kind, VGPU_IMAGE_PTX);
	CHECK(start == ptx);
}

struct fatbin_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint64_t fat_size;
};

TEST(fatbin_length_comes_from_its_header)
{
	uint64_t buf[64] = { 0 };
	struct fatbin_hdr h = { 0xBA55ED50u, 1, 16, 200 };
	const void *start;
	uint32_t kind;
	size_t size;

	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(vgpu_image_size(buf, &size, &kind, &start), 0);
	CHECK_EQ(size, 216);
	CHECK_EQ(kind, VGPU_IMAGE_FATBIN);
	CHECK(start == (void *)buf);
}

TEST(fatbin_wrapper_leads_to_its_fatbin)
{
	uint64_t buf[64] = { 0 };
	struct fatbin_hdr h = { 0xBA55ED50u, 1, 16, 64 };
	struct { uint32_t magic, version; const void *data, *file; } w =
		{ 0x466243B1u, 1, buf, NULL };
	const void *start;
	uint32_t kind;
	size_t size;

	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(vgpu_image_size(&w, &size, &kind, &start), 0);
	CHECK(start == (void *)buf);
	CHECK_EQ(size, 80);
	CHECK_EQ(kind, VGPU_IMAGE_FATBIN);
}

TEST(fatbin_wrapper_without_a_fatbin_is_invalid)
{
	uint64_t junk[4] = { 0 };
	struct { uint32_t magic, version; const void *data, *file; } w =
		{ 0x466243B1u, 1, junk, NULL };
	const void *start;
	uint32_t kind;
	size_t size;

	CHECK_EQ(vgpu_image_size(&w, &size, &kind, &start), -ENOEXEC);
	w.data = NULL;
	CHECK_EQ(vgpu_image_size(&w, &size, &kind, &start), -ENOEXEC);
}

TEST(oversized_fatbin_is_invalid)
{
	struct fatbin_hdr h = { 0xBA55ED50u, 1, 16, 1ull << 40 };
	const void *start;
	uint32_t kind;
	size_t size;

	CHECK_EQ(vgpu_image_size(&h, &size, &kind, &start), -ENOEXEC);
}

TEST(elf_cubin_length_covers_headers_and_sections)
{
	static unsigned char img[4096];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + 256);
	const void *start;
	uint32_t kind;
	size_t size;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_shoff = 256;
	eh->e_shnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_offset = 1024;
	sh[1].sh_size = 1000;		/* ends at 2024, past the table */
	sh[2].sh_type = SHT_NOBITS;	/* occupies no file bytes */
	sh[2].sh_offset = 2024;
	sh[2].sh_size = 100000;
	CHECK_EQ(vgpu_image_size(img, &size, &kind, &start), 0);
	CHECK_EQ(kind, VGPU_IMAGE_CUBIN);
	CHECK_EQ(size, 2024);
}

TEST(null_image_is_invalid_value)
{
	const void *start;
	uint32_t kind;
	size_t size;

	CHECK_EQ(vgpu_image_size(NULL, &size, &kind, &start), -EINVAL);
}

TEST(error_names_and_strings_match_the_codes)
{
	const char *s = "x";

	CHECK_EQ(cuGetErrorName(CUDA_SUCCESS, &s), CUDA_SUCCESS);
	CHECK(!strcmp(s, "CUDA_SUCCESS"));
	CHECK_EQ(cuGetErrorName(CUDA_ERROR_ILLEGAL_ADDRESS, &s), CUDA_SUCCESS);
	CHECK(!strcmp(s, "CUDA_ERROR_ILLEGAL_ADDRESS"));
	CHECK_EQ(cuGetErrorName(CUDA_ERROR_NOT_SUPPORTED, &s), CUDA_SUCCESS);
	CHECK(!strcmp(s, "CUDA_ERROR_NOT_SUPPORTED"));
	CHECK_EQ(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s), CUDA_SUCCESS);
	CHECK(!strcmp(s, "out of memory"));
	CHECK_EQ(cuGetErrorString(CUDA_ERROR_UNKNOWN, &s), CUDA_SUCCESS);
	CHECK(s && *s);
}

TEST(unknown_error_code_is_invalid_value_with_null_string)
{
	const char *s = "x";

	CHECK_EQ(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
	CHECK(s == NULL);
	s = "x";
	CHECK_EQ(cuGetErrorString((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
	CHECK(s == NULL);
	CHECK_EQ(cuGetErrorName(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);
}

TEST(every_device_status_has_a_name)
{
	static const int codes[] = { 0, 1, 2, 3, 200, 201, 209, 218, 300, 400,
				     500, 600, 700, 701, 702, 710, 715, 716,
				     719, 800, 801, 999 };
	const char *s;
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CHECK_EQ(cuGetErrorName((CUresult)codes[i], &s), CUDA_SUCCESS);
}

TEST(internal_errors_convert_to_their_cuda_results)
{
	CHECK_EQ(vgpu_result(0), CUDA_SUCCESS);
	CHECK_EQ(vgpu_result(VGPU_ESTATUS(VGPU_S_ILLEGAL_ADDRESS)), CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_EQ(vgpu_result(VGPU_ESTATUS(VGPU_S_NOT_READY)), CUDA_ERROR_NOT_READY);
	CHECK_EQ(vgpu_result(-EINVAL), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(vgpu_result(-ENOMEM), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(vgpu_result(-ENOTCONN), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(vgpu_result(-ESRCH), CUDA_ERROR_INVALID_CONTEXT);
	CHECK_EQ(vgpu_result(-EBADF), CUDA_ERROR_INVALID_HANDLE);
	CHECK_EQ(vgpu_result(-ENODEV), CUDA_ERROR_NO_DEVICE);
	CHECK_EQ(vgpu_result(-EOPNOTSUPP), CUDA_ERROR_NOT_SUPPORTED);
}

TEST(calls_before_cuInit_are_not_initialized)
{
	CUcontext ctx;
	CUdeviceptr p;
	CUdevice d;
	int n;

	CHECK_EQ(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(cuDeviceGet(&d, 0), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(cuCtxGetCurrent(&ctx), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(cuCtxSynchronize(), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(cuMemAlloc_v2(&p, 16), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(cuDevicePrimaryCtxRetain(&ctx, 0), CUDA_ERROR_NOT_INITIALIZED);
}

TEST(driver_version_works_before_cuInit)
{
	int v = 0;

	CHECK_EQ(cuDriverGetVersion(&v), CUDA_SUCCESS);
	CHECK_EQ(v, 13000);
	CHECK_EQ(cuDriverGetVersion(NULL), CUDA_ERROR_INVALID_VALUE);
}

TEST(cuInit_rejects_flags)
{
	CHECK_EQ(cuInit(1), CUDA_ERROR_INVALID_VALUE);
}

TEST(cuInit_without_a_daemon_is_no_device)
{
	int n;

	setenv("VGPU_SOCKET", "/nonexistent/vgpud.sock", 1);
	CHECK_EQ(cuInit(0), CUDA_ERROR_NO_DEVICE);
	CHECK_EQ(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
}

static void *proc(const char *name, int version, cuuint64_t flags,
		  CUdriverProcAddressQueryResult *st)
{
	void *p = (void *)1;

	if (cuGetProcAddress_v2(name, &p, version, flags, st) != CUDA_SUCCESS)
		return NULL;
	return p;
}

TEST(proc_address_picks_the_variant_of_the_requested_version)
{
	CUdriverProcAddressQueryResult st;

	CHECK(proc("cuCtxCreate", 13000, 0, &st) == (void *)cuCtxCreate_v4);
	CHECK_EQ(st, CU_GET_PROC_ADDRESS_SUCCESS);
	CHECK(proc("cuCtxCreate", 12000, 0, &st) == (void *)cuCtxCreate_v3);
	CHECK(proc("cuCtxCreate", 3020, 0, &st) == (void *)cuCtxCreate_v2);
	CHECK(proc("cuMemAlloc", 13000, 0, &st) == (void *)cuMemAlloc_v2);
	CHECK(proc("cuStreamGetCaptureInfo", 11000, 0, &st) == (void *)cuStreamGetCaptureInfo);
	CHECK(proc("cuStreamGetCaptureInfo", 12000, 0, &st) == (void *)cuStreamGetCaptureInfo_v2);
	CHECK(proc("cuStreamGetCaptureInfo", 13000, 0, &st) == (void *)cuStreamGetCaptureInfo_v3);
	CHECK(proc("cuGraphInstantiate", 12000, 0, &st) == (void *)cuGraphInstantiateWithFlags);
	CHECK(proc("cuGraphInstantiate", 11000, 0, &st) == (void *)cuGraphInstantiate_v2);
}

TEST(proc_address_honours_per_thread_default_stream)
{
	CUdriverProcAddressQueryResult st;

	/*
	 * Implemented _ptds/_ptsz forms are aliases of the plain ones, so
	 * distinct unsupported entry points show the choice.
	 */
	CHECK((void *)cuMemcpy2D_v2 != (void *)cuMemcpy2D_v2_ptds);
	CHECK(proc("cuMemcpy2D", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st) ==
	      (void *)cuMemcpy2D_v2_ptds);
	CHECK(proc("cuMemcpy2D", 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &st) ==
	      (void *)cuMemcpy2D_v2);
	CHECK(proc("cuMemcpy2D", 13000, CU_GET_PROC_ADDRESS_DEFAULT, &st) ==
	      (void *)cuMemcpy2D_v2);
	CHECK(proc("cuGraphLaunch", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st) ==
	      (void *)cuGraphLaunch_ptsz);
	CHECK(proc("cuMemcpyHtoD", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st) ==
	      (void *)cuMemcpyHtoD_v2_ptds);
	CHECK(proc("cuLaunchKernel", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st) ==
	      (void *)cuLaunchKernel_ptsz);
	/* Names without a per-thread form resolve to the plain one. */
	CHECK(proc("cuMemAlloc", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st) ==
	      (void *)cuMemAlloc_v2);
}

TEST(proc_address_reports_missing_symbols_and_versions)
{
	CUdriverProcAddressQueryResult st = 99;
	void *p = (void *)1;

	CHECK_EQ(cuGetProcAddress_v2("cuNoSuchThing", &p, 13000, 0, &st), CUDA_ERROR_NOT_FOUND);
	CHECK(p == NULL);
	CHECK_EQ(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	CHECK_EQ(cuGetProcAddress_v2("cuCtxCreate", &p, 1000, 0, &st), CUDA_ERROR_NOT_FOUND);
	CHECK_EQ(st, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CHECK_EQ(cuGetProcAddress_v2(NULL, &p, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuGetProcAddress_v2("cuInit", NULL, 13000, 0, &st), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(cuGetProcAddress_v2("cuInit", &p, 13000, 4, &st), CUDA_ERROR_INVALID_VALUE);
}

TEST(unsupported_entry_points_answer_not_supported)
{
	CHECK_EQ(cuArrayCreate_v2(NULL, NULL), CUDA_ERROR_NOT_SUPPORTED);
	CHECK(proc("cuArrayCreate", 13000, 0, NULL) == (void *)cuArrayCreate_v2);
}

TEST(export_table_is_not_supported)
{
	const void *t = (void *)1;
	CUuuid id = { { 0 } };

	CHECK_EQ(cuGetExportTable(&t, &id), CUDA_ERROR_NOT_SUPPORTED);
	CHECK(t == NULL);
}

TAP_MAIN(TAP_ENTRY(ptx_image_length_is_its_text_and_nul),
	 TAP_ENTRY(fatbin_length_comes_from_its_header),
	 TAP_ENTRY(fatbin_wrapper_leads_to_its_fatbin),
	 TAP_ENTRY(fatbin_wrapper_without_a_fatbin_is_invalid),
	 TAP_ENTRY(oversized_fatbin_is_invalid),
	 TAP_ENTRY(elf_cubin_length_covers_headers_and_sections),
	 TAP_ENTRY(null_image_is_invalid_value),
	 TAP_ENTRY(error_names_and_strings_match_the_codes),
	 TAP_ENTRY(unknown_error_code_is_invalid_value_with_null_string),
	 TAP_ENTRY(every_device_status_has_a_name),
	 TAP_ENTRY(internal_errors_convert_to_their_cuda_results),
	 TAP_ENTRY(calls_before_cuInit_are_not_initialized),
	 TAP_ENTRY(driver_version_works_before_cuInit),
	 TAP_ENTRY(cuInit_rejects_flags),
	 TAP_ENTRY(cuInit_without_a_daemon_is_no_device),
	 TAP_ENTRY(proc_address_picks_the_variant_of_the_requested_version),
	 TAP_ENTRY(proc_address_honours_per_thread_default_stream),
	 TAP_ENTRY(proc_address_reports_missing_symbols_and_versions),
	 TAP_ENTRY(unsupported_entry_points_answer_not_supported),
	 TAP_ENTRY(export_table_is_not_supported))
