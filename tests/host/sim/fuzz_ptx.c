/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ptx.c - libFuzzer target for the sim's PTX parser: any input must be
 * decoded or refused with a message, never crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SimProgram *p = NULL;
    char log[512];
    VgpuFuncInfo fi;

    if (sim_ptx_parse((const char *)data, size, &p, log, sizeof(log)) == VGPU_S_OK) {
        for (uint32_t i = 0; i < p->nfuncs; i++) {
            if (p->funcs[i].is_entry && p->funcs[i].defined) {
                sim_func_info(p, &p->funcs[i], &fi);
            }
        }
        sim_program_free(p);
    } else if (!memchr(log, 0, sizeof(log)) || !log[0]) {
        abort();    /* a refusal must say why */
    }
    return 0;
}
