// SPDX-License-Identifier: MIT
/*
 * procaddr.c - driver entry point access: cuGetProcAddress and
 * cuGetExportTable.
 *
 * cuGetProcAddress is asked for a base name ("cuMemAlloc") and the CUDA
 * version the caller was built for; it returns the ABI variant that
 * version's cuda.h would have mapped the name to (cuMemAlloc_v2), or the
 * _ptds/_ptsz variant when the caller asks for per-thread default stream
 * semantics.  The table of variants is generated from procaddr.txt.
 */
#include <string.h>

#include "vgpu.h"

struct proc_row {
	const char *base;
	int version;
	const char *sym;
	int per_thread;
};

/* Generated from procaddr.txt, sorted by base name. */
extern const struct proc_row vgpu_proc_rows[];
extern const size_t vgpu_nproc_rows;

/**
 * vgpu_export_lookup() - address of an exported CUDA symbol
 * @name: exact symbol name
 *
 * Return: the address, or NULL when the library does not export @name.
 */
void *vgpu_export_lookup(const char *name)
{
	size_t lo = 0, hi = vgpu_nexports;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(vgpu_exports[mid].name, name);

		if (!c)
			return vgpu_exports[mid].addr;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static CUresult proc_address(const char *symbol, void **pfn, int cudaVersion,
			     cuuint64_t flags, CUdriverProcAddressQueryResult *status)
{
	const struct proc_row *plain = NULL, *pt = NULL, *pick;
	size_t lo = 0, hi = vgpu_nproc_rows, i;
	bool known = false;
	void *addr;

	if (status)
		*status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (!symbol || !pfn || cudaVersion < 0 ||
	    (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
				   CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)))
		return CUDA_ERROR_INVALID_VALUE;
	*pfn = NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(vgpu_proc_rows[mid].base, symbol) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < vgpu_nproc_rows && !strcmp(vgpu_proc_rows[i].base, symbol); i++) {
		const struct proc_row *r = &vgpu_proc_rows[i];

		known = true;
		if (r->version > cudaVersion)
			continue;
		if (r->per_thread) {
			if (!pt || r->version >= pt->version)
				pt = r;
		} else if (!plain || r->version >= plain->version) {
			plain = r;
		}
	}
	pick = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) && pt ? pt : plain;
	if (pick) {
		addr = vgpu_export_lookup(pick->sym);
	} else if (known) {
		if (status)
			*status = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
		return CUDA_ERROR_NOT_FOUND;
	} else {
		/* An exact exported name (cuMemAlloc_v2) is found as itself. */
		addr = vgpu_export_lookup(symbol);
	}
	if (!addr)
		return CUDA_ERROR_NOT_FOUND;
	*pfn = addr;
	if (status)
		*status = CU_GET_PROC_ADDRESS_SUCCESS;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
				      cuuint64_t flags,
				      CUdriverProcAddressQueryResult *symbolStatus)
{
	return proc_address(symbol, pfn, cudaVersion, flags, symbolStatus);
}

/* The CUDA 11.3 form, without the status argument. */
VGPU_API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
				   cuuint64_t flags)
{
	return proc_address(symbol, pfn, cudaVersion, flags, NULL);
}

/*
 * The export tables are private interfaces between NVIDIA's runtime and
 * driver; none is offered, and the runtime falls back or fails cleanly.
 */
VGPU_API CUresult cuGetExportTable(const void **ppExportTable,
				   const CUuuid *pExportTableId)
{
	if (ppExportTable)
		*ppExportTable = NULL;
	if (!ppExportTable || !pExportTableId)
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_ERROR_NOT_SUPPORTED;
}
