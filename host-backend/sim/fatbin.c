/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fatbin.c - finds the PTX inside an NVIDIA fatbin container and
 * decompresses it (zstd, as CUDA 13 writes it).
 *
 * Layout (little-endian): a 16-byte container header (magic 0xBA55ED50,
 * u16 version, u16 header size, u64 size of the entries that follow), then
 * entries, each with its own header: u16 kind (1 PTX, 2 ELF cubin), u16,
 * u32 header size, u64 payload size, u32 compressed size, u32, u16 minor,
 * u16 major (PTX ISA version), u32 arch (sm number), u32 name offset,
 * u32 name length, u64 flags, u64, u64 uncompressed size.  Several
 * containers may follow one another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "sim.h"

#define FATBIN_MAGIC 0xBA55ED50u
#define FATBIN_KIND_PTX 1
#define FATBIN_KIND_ELF 2
#define FATBIN_FLAG_LZ 0x2000ull
#define FATBIN_FLAG_ZSTD 0x8000ull
#define MAX_PTX (64u << 20)

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

int sim_fatbin_extract_ptx(const void *image, size_t size, char **ptx,
                           size_t *ptxlen, char *log, size_t loglen)
{
    const uint8_t *b = image;
    size_t off = 0;
    const uint8_t *best = NULL;
    uint64_t best_size = 0, best_usize = 0, best_flags = 0;
    uint32_t best_arch = 0;
    int nelf = 0, nptx = 0;
    bool lz = false;

    *ptx = NULL;
    *ptxlen = 0;
    while (off + 16 <= size) {
        if (rd(b + off, 4) != FATBIN_MAGIC) {
            if (off == 0) {
                snprintf(log, loglen, "not a fatbin (bad magic)");
                return VGPU_S_INVALID_IMAGE;
            }
            break;
        }
        uint64_t hsz = rd(b + off + 6, 2), fsz = rd(b + off + 8, 8);
        if (hsz < 16 || hsz > size - off || fsz > size - off - hsz) {
            snprintf(log, loglen, "fatbin header at offset %zu is truncated", off);
            return VGPU_S_INVALID_IMAGE;
        }
        size_t e = off + hsz, end = off + hsz + fsz;
        while (e + 64 <= end) {
            uint32_t kind = (uint32_t)rd(b + e, 2);
            uint64_t ehsz = rd(b + e + 4, 4), psz = rd(b + e + 8, 8);
            uint64_t csz = rd(b + e + 16, 4);
            uint32_t arch = (uint32_t)rd(b + e + 28, 4);
            uint64_t flags = rd(b + e + 40, 8), usz = rd(b + e + 56, 8);

            if (ehsz < 64 || ehsz > end - e || psz > end - e - ehsz) {
                snprintf(log, loglen, "fatbin entry at offset %zu is truncated", e);
                return VGPU_S_INVALID_IMAGE;
            }
            if (kind == FATBIN_KIND_ELF) {
                nelf++;
            } else if (kind == FATBIN_KIND_PTX) {
                nptx++;
                if (flags & FATBIN_FLAG_LZ) {
                    lz = true;
                } else {
                    /* Prefer the newest PTX not above sm_75, else the oldest. */
                    bool better = !best ||
                        (arch <= 75 && (best_arch > 75 || arch > best_arch)) ||
                        (arch > 75 && best_arch > 75 && arch < best_arch);
                    if (better) {
                        best = b + e + ehsz;
                        best_size = (flags & FATBIN_FLAG_ZSTD) && csz && csz <= psz ? csz : psz;
                        best_usize = usz;
                        best_flags = flags;
                        best_arch = arch;
                    }
                }
            }
            if (!psz && ehsz == 0) {
                break;
            }
            e += ehsz + psz;
        }
        off = end;
        /* Containers are 8-byte aligned when concatenated. */
        off = (off + 7) & ~(size_t)7;
    }
    if (!best) {
        if (lz) {
            snprintf(log, loglen, "the fatbin's PTX uses NVIDIA's older LZ compression, "
                     "which the sim backend does not read; rebuild with CUDA 13 or "
                     "-Xfatbin -compress=false");
            return VGPU_S_NOT_SUPPORTED;
        }
        snprintf(log, loglen, "the fatbin holds no PTX (%d cubin entries): the sim backend "
                 "needs PTX; build with -gencode arch=compute_75,code=compute_75 or "
                 "-arch=sm_75", nelf);
        return VGPU_S_NO_BINARY_FOR_GPU;
    }
    (void)nptx;
    if ((best_flags & FATBIN_FLAG_ZSTD) || (best_size >= 4 && rd(best, 4) == 0xFD2FB528u)) {
        unsigned long long fs = ZSTD_getFrameContentSize(best, best_size);
        size_t cap;

        if (fs == ZSTD_CONTENTSIZE_ERROR) {
            snprintf(log, loglen, "corrupt zstd data in the fatbin's PTX entry");
            return VGPU_S_INVALID_IMAGE;
        }
        cap = fs == ZSTD_CONTENTSIZE_UNKNOWN ? (best_usize ? best_usize : MAX_PTX) : fs;
        if (cap > MAX_PTX) {
            snprintf(log, loglen, "PTX in the fatbin is too large");
            return VGPU_S_INVALID_IMAGE;
        }
        char *out = malloc(cap + 1);
        if (!out) {
            return VGPU_S_OUT_OF_MEMORY;
        }
        size_t n = ZSTD_decompress(out, cap, best, best_size);
        if (ZSTD_isError(n)) {
            snprintf(log, loglen, "cannot decompress the fatbin's PTX: %s",
                     ZSTD_getErrorName(n));
            free(out);
            return VGPU_S_INVALID_IMAGE;
        }
        out[n] = 0;
        *ptx = out;
        *ptxlen = strnlen(out, n);
        return VGPU_S_OK;
    }
    char *out = malloc(best_size + 1);
    if (!out) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    memcpy(out, best, best_size);
    out[best_size] = 0;
    *ptx = out;
    *ptxlen = strnlen(out, best_size);
    return VGPU_S_OK;
}
