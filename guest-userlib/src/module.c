// SPDX-License-Identifier: MIT
/*
 * module.c - module management: loading PTX, fatbin and cubin images,
 * looking up functions and globals.
 *
 * cuModuleLoadData gets a bare pointer, so the image's length is worked
 * out from the image itself: PTX is NUL-terminated text, a fatbin's header
 * records its size, the fatbinary wrapper points at the fatbin, and an ELF
 * cubin ends after the last of its headers and sections.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgpu.h"

#define FATBIN_MAGIC		0xBA55ED50u
#define FATBIN_WRAPPER_MAGIC	0x466243B1u
#define MAX_IMAGE		(VGPU_MAX_REQ_SIZE - sizeof(struct vgpu_cmd_module_load))
#define LOG_MAX			(16u << 10)

/* The fatbin container's header. */
struct fatbin_header {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint64_t fat_size;
};

/* What nvcc's __fatbinwrap symbol holds. */
struct fatbin_wrapper {
	uint32_t magic;
	uint32_t version;
	const void *data;
	const void *filename_or_fatbins;
};

static int elf_size(const unsigned char *p, size_t *size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)p;
	uint64_t end;
	int i;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOEXEC;
	end = sizeof(*eh);
	if (eh->e_phoff && eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize > end)
		end = eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize;
	if (eh->e_shoff && eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize > end)
		end = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	if (end > MAX_IMAGE)
		return -ENOEXEC;
	/* Section contents may lie past the section header table. */
	for (i = 0; eh->e_shoff && i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = (const Elf64_Shdr *)
			(p + eh->e_shoff + (uint64_t)i * eh->e_shentsize);

		if (sh->sh_type != SHT_NOBITS && sh->sh_offset + sh->sh_size > end)
			end = sh->sh_offset + sh->sh_size;
	}
	if (end > MAX_IMAGE)
		return -ENOEXEC;
	*size = end;
	return 0;
}

/**
 * vgpu_image_size() - recognise a module image and find its length
 * @image: what the application passed
 * @size: out, bytes of the image (PTX: including the NUL)
 * @kind: out, VGPU_IMAGE_*
 * @start: out, where the image starts (the wrapper's fatbin for a wrapper)
 *
 * Return: 0, -EINVAL for NULL, -ENOEXEC for an image too large or broken.
 */
int vgpu_image_size(const void *image, size_t *size, uint32_t *kind,
		    const void **start)
{
	const unsigned char *p = image;
	uint32_t magic;
	size_t n;

	if (!image)
		return -EINVAL;
	memcpy(&magic, p, sizeof(magic));
	if (magic == FATBIN_WRAPPER_MAGIC) {
		const struct fatbin_wrapper *w = image;

		if (!w->data)
			return -ENOEXEC;
		p = w->data;
		memcpy(&magic, p, sizeof(magic));
		if (magic != FATBIN_MAGIC)
			return -ENOEXEC;
	}
	*start = p;
	if (magic == FATBIN_MAGIC) {
		const struct fatbin_header *fh = (const void *)p;

		if (fh->header_size < sizeof(*fh) ||
		    fh->fat_size > MAX_IMAGE - fh->header_size)
			return -ENOEXEC;
		*size = fh->header_size + fh->fat_size;
		*kind = VGPU_IMAGE_FATBIN;
		return 0;
	}
	if (!memcmp(p, ELFMAG, SELFMAG)) {
		*kind = VGPU_IMAGE_CUBIN;
		return elf_size(p, size);
	}
	n = strnlen((const char *)p, MAX_IMAGE);
	if (n == MAX_IMAGE)
		return -ENOEXEC;
	*size = n + 1;
	*kind = VGPU_IMAGE_PTX;
	return 0;
}

/* Called with the module's ctx->lock held, or when the context is gone. */
void vgpu_module_free(struct CUmod_st *mod)
{
	struct CUfunc_st *f;

	while ((f = mod->funcs)) {
		mod->funcs = f->next;
		f->magic = 0;
		free(f->params);
		free(f->name);
		free(f);
	}
	mod->magic = 0;
	free(mod->globals);
	free(mod);
}

struct jit_log {
	char *buf;
	size_t cap;
};

static int load(CUmodule *module, const void *image, size_t size, uint32_t kind,
		struct jit_log *log)
{
	struct vgpu_cmd_module_load cmd = { 0 };
	struct vgpu_resp_id r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUctx_st *ctx;
	struct CUmod_st *mod;
	char *text;
	int err = vgpu_ctx_current(&ctx);

	if (err)
		return err;
	mod = calloc(1, sizeof(*mod));
	text = malloc(LOG_MAX);
	if (!mod || !text) {
		free(mod);
		free(text);
		return -ENOMEM;
	}
	c.rdata = text;
	c.rdata_cap = LOG_MAX - 1;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MODULE_LOAD, ctx->id, 0, sizeof(cmd) + size);
	cmd.kind = kind;
	cmd.size = size;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), image, size);
	text[c.rdata_len] = 0;
	if (err && c.rdata_len)
		vgpu_warn("module load failed: %s", text);
	if (log && log->buf && log->cap) {
		size_t n = err ? c.rdata_len : 0;

		if (n >= log->cap)
			n = log->cap - 1;
		memcpy(log->buf, text, n);
		log->buf[n] = 0;
	}
	free(text);
	if (err) {
		free(mod);
		return err;
	}
	mod->magic = VGPU_MAGIC_MOD;
	mod->id = r.id;
	mod->ctx = ctx;
	pthread_mutex_lock(&ctx->lock);
	mod->next = ctx->modules;
	ctx->modules = mod;
	pthread_mutex_unlock(&ctx->lock);
	*module = mod;
	return 0;
}

static int load_image(CUmodule *module, const void *image, struct jit_log *log)
{
	const void *start;
	uint32_t kind;
	size_t size;
	int err = vgpu_check_init();

	if (!err && (!module || !image))
		err = -EINVAL;
	if (!err)
		err = vgpu_image_size(image, &size, &kind, &start);
	if (err == -ENOEXEC)
		return VGPU_ESTATUS(VGPU_S_INVALID_IMAGE);
	if (err)
		return err;
	return load(module, start, size, kind, log);
}

VGPU_API CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
	return vgpu_result(load_image(module, image, NULL));
}

VGPU_API CUresult cuModuleLoadDataEx(CUmodule *module, const void *image,
				     unsigned int numOptions, CUjit_option *options,
				     void **optionValues)
{
	struct jit_log log = { 0 };
	unsigned int i;

	if (numOptions && (!options || !optionValues))
		return vgpu_check_init() ? CUDA_ERROR_NOT_INITIALIZED :
		       CUDA_ERROR_INVALID_VALUE;
	/* Only the error log is produced; other JIT options are advice. */
	for (i = 0; i < numOptions; i++) {
		if (options[i] == CU_JIT_ERROR_LOG_BUFFER)
			log.buf = optionValues[i];
		else if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
			log.cap = (uintptr_t)optionValues[i];
		else if (options[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES)
			optionValues[i] = 0;
	}
	for (i = 0; i < numOptions; i++) {
		if (options[i] == CU_JIT_INFO_LOG_BUFFER && optionValues[i])
			*(char *)optionValues[i] = 0;
	}
	return vgpu_result(load_image(module, image, &log));
}

VGPU_API CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	return vgpu_result(load_image(module, fatCubin, NULL));
}

VGPU_API CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd, err = vgpu_check_init();

	if (!err && (!module || !fname))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CUDA_ERROR_FILE_NOT_FOUND;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (size_t)st.st_size >= MAX_IMAGE) {
		close(fd);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	/* One spare NUL so that a PTX file needs no terminator of its own. */
	buf = calloc(1, st.st_size + 1);
	if (!buf) {
		close(fd);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	err = got == (size_t)st.st_size ? load_image(module, buf, NULL) :
	      VGPU_ESTATUS(VGPU_S_INVALID_IMAGE);
	free(buf);
	return vgpu_result(err);
}

static int check_module(CUmodule hmod)
{
	int err = vgpu_check_init();

	if (err)
		return err;
	if (!hmod || hmod->magic != VGPU_MAGIC_MOD)
		return -EBADF;
	return vgpu_ctx_check(hmod->ctx);
}

VGPU_API CUresult cuModuleUnload(CUmodule hmod)
{
	struct vgpu_cmd_id cmd;
	struct vgpu_resp_hdr r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct CUmod_st **pp;
	struct CUctx_st *ctx;
	int err = check_module(hmod);

	if (err)
		return vgpu_result(err);
	ctx = hmod->ctx;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_MODULE_UNLOAD, ctx->id, 0, sizeof(cmd));
	cmd.id = hmod->id;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), NULL, 0);
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->modules; *pp; pp = &(*pp)->next) {
		if (*pp == hmod) {
			*pp = hmod->next;
			break;
		}
	}
	/* Its globals are no longer device memory of the context. */
	while (hmod->nglobals)
		vgpu_range_del_global_locked(ctx, hmod->globals[--hmod->nglobals]);
	vgpu_module_free(hmod);
	pthread_mutex_unlock(&ctx->lock);
	return vgpu_result(err);
}

/*
 * Functions are looked up once: the reply's parameter layout is kept so
 * that cuLaunchKernel packs and checks parameters without a round trip.
 */
VGPU_API CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct vgpu_cmd_symbol cmd = { 0 };
	struct vgpu_resp_func r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	struct vgpu_param_info *params;
	struct CUfunc_st *f;
	size_t len;
	int i, err = check_module(hmod);

	if (!err && (!hfunc || !name))
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	len = strlen(name) + 1;
	if (len > VGPU_MAX_NAME)
		return CUDA_ERROR_NOT_FOUND;
	pthread_mutex_lock(&hmod->ctx->lock);
	for (f = hmod->funcs; f; f = f->next)
		if (!strcmp(f->name, name))
			break;
	pthread_mutex_unlock(&hmod->ctx->lock);
	if (f) {
		*hfunc = f;
		return CUDA_SUCCESS;
	}
	params = malloc(VGPU_MAX_PARAMS * sizeof(*params));
	f = calloc(1, sizeof(*f));
	if (!params || !f || !(f->name = strdup(name))) {
		free(params);
		free(f);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	c.rdata = params;
	c.rdata_cap = VGPU_MAX_PARAMS * sizeof(*params);
	vgpu_hdr(&cmd.hdr, VGPU_CMD_FUNC_GET, hmod->ctx->id, 0, sizeof(cmd) + len);
	cmd.module = hmod->id;
	cmd.name_len = len;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), name, len);
	if (!err && (r.nparams > VGPU_MAX_PARAMS ||
		     c.rdata_len != r.nparams * sizeof(*params) ||
		     r.param_bytes > VGPU_MAX_PARAM_BYTES))
		err = -EPROTO;
	for (i = 0; !err && i < (int)r.nparams; i++)
		if (params[i].offset + (uint64_t)params[i].size > r.param_bytes)
			err = -EPROTO;
	if (err) {
		free(params);
		free(f->name);
		free(f);
		return vgpu_result(err);
	}
	f->magic = VGPU_MAGIC_FUNC;
	f->id = r.func;
	f->mod = hmod;
	f->nparams = r.nparams;
	f->param_bytes = r.param_bytes;
	f->params = params;
	for (i = 0; i < VGPU_NUM_FUNC_ATTRS; i++)
		f->attrs[i] = (int)r.attrs[i];
	f->max_dynamic_shared =
		vgpu_dev.attrs[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK] -
		f->attrs[VGPU_FUNC_ATTR_SHARED_BYTES];
	if (f->max_dynamic_shared < 0)
		f->max_dynamic_shared = 0;
	f->carveout = -1;
	pthread_mutex_lock(&hmod->ctx->lock);
	f->next = hmod->funcs;
	hmod->funcs = f;
	pthread_mutex_unlock(&hmod->ctx->lock);
	*hfunc = f;
	return CUDA_SUCCESS;
}

VGPU_API CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
				       const char *name)
{
	struct vgpu_cmd_symbol cmd = { 0 };
	struct vgpu_resp_global r;
	struct vgpu_call c = { .resp = &r, .resp_size = sizeof(r) };
	size_t len;
	int err = check_module(hmod);

	if (!err && !name)
		err = -EINVAL;
	if (err)
		return vgpu_result(err);
	len = strlen(name) + 1;
	if (len > VGPU_MAX_NAME)
		return CUDA_ERROR_NOT_FOUND;
	vgpu_hdr(&cmd.hdr, VGPU_CMD_GLOBAL_GET, hmod->ctx->id, 0, sizeof(cmd) + len);
	cmd.module = hmod->id;
	cmd.name_len = len;
	err = vgpu_tp_call(&c, &cmd.hdr, sizeof(cmd), name, len);
	/* Copies to and from the global count as device copies. */
	if (!err && r.size && !vgpu_range_find(hmod->ctx, r.dptr, r.size, NULL, NULL)) {
		CUdeviceptr *g;

		pthread_mutex_lock(&hmod->ctx->lock);
		g = realloc(hmod->globals, (hmod->nglobals + 1) * sizeof(*g));
		if (g) {
			g[hmod->nglobals++] = r.dptr;
			hmod->globals = g;
		}
		pthread_mutex_unlock(&hmod->ctx->lock);
		err = g ? vgpu_range_add(hmod->ctx, r.dptr, r.size, true) : -ENOMEM;
	}
	if (err)
		return vgpu_result(err);
	if (dptr)
		*dptr = r.dptr;
	if (bytes)
		*bytes = r.size;
	return CUDA_SUCCESS;
}
