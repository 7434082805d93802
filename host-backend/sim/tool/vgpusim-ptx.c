/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpusim-ptx.c - debugging aid: decodes a PTX file or fatbin the way the
 * sim executor does and prints each entry's parameters and attributes, or
 * the refusal with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int main(int argc, char **argv)
{
    FILE *f;
    long n;
    char *buf, *ptx;
    size_t ptxlen;
    char log[1024];
    SimProgram *p;
    int rc;

    if (argc != 2 || !strcmp(argv[1], "-h")) {
        fprintf(stderr, "usage: %s FILE.ptx|FILE.fatbin\n", argv[0]);
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 2;
    }
    fclose(f);
    buf[n] = 0;
    ptx = buf;
    ptxlen = (size_t)n;
    if (n >= 4 && (uint8_t)buf[0] == 0x50 && (uint8_t)buf[1] == 0xed &&
        (uint8_t)buf[2] == 0x55 && (uint8_t)buf[3] == 0xba) {
        rc = sim_fatbin_extract_ptx(buf, (size_t)n, &ptx, &ptxlen, log, sizeof(log));
        if (rc) {
            printf("fatbin refused (status %d): %s\n", rc, log);
            return 1;
        }
    }
    uint64_t t0 = sim_now_ns();
    rc = sim_ptx_parse(ptx, ptxlen, &p, log, sizeof(log));
    uint64_t t1 = sim_now_ns();
    if (rc) {
        printf("refused (status %d): %s\n", rc, log);
        return 1;
    }
    printf("PTX ISA %u.%u, target sm_%u, decoded in %.2f ms\n", p->ptx_version / 10,
           p->ptx_version % 10, p->sm, (double)(t1 - t0) / 1e6);
    for (uint32_t i = 0; i < p->nfuncs; i++) {
        const SimFunc *fn = &p->funcs[i];
        VgpuFuncInfo fi;

        if (!fn->is_entry || !fn->defined) {
            continue;
        }
        sim_func_info(p, fn, &fi);
        printf("entry %s: %u instructions, %u registers (%u declared)\n", fn->name,
               fn->ncode, fn->nregs, fn->ndecl_regs);
        printf("  params (%u bytes):", fi.param_bytes);
        for (uint32_t k = 0; k < fi.nparams; k++) {
            printf(" [%u]@%u+%u", k, fi.params[k].offset, fi.params[k].size);
        }
        printf("\n  max threads %d, static shared %d, const %d, local %d\n",
               fi.attrs[VGPU_FUNC_ATTR_MAX_THREADS], fi.attrs[VGPU_FUNC_ATTR_SHARED_BYTES],
               fi.attrs[VGPU_FUNC_ATTR_CONST_BYTES], fi.attrs[VGPU_FUNC_ATTR_LOCAL_BYTES]);
    }
    sim_program_free(p);
    return 0;
}
