/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ptx.c - libFuzzer target for the sim: any PTX text must be decoded
 * or refused with a message, and every entry it decodes must run to an
 * end (success or a fault status) on a small launch without crashing,
 * leaking or hanging.
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
    static uint8_t mem[4096];
    static uint8_t params[32768];

    if (sim_ptx_parse((const char *)data, size, &p, log, sizeof(log)) != VGPU_S_OK) {
        if (!memchr(log, 0, sizeof(log)) || !log[0]) {
            abort();    /* a refusal must say why */
        }
        return 0;
    }
    /* Module variables get addresses inside the one allocation (or none). */
    for (uint32_t i = 0; i < p->nsyms; i++) {
        p->syms[i].addr = SIM_GLOBAL_BASE + (i * 64) % sizeof(mem);
    }
    for (uint32_t i = 0; i < p->nfuncs && i < 4; i++) {
        SimFunc *f = &p->funcs[i];
        SimAlloc al = { SIM_GLOBAL_BASE, sizeof(mem), mem };
        SimLaunch l;

        if (!f->is_entry || !f->defined) {
            continue;
        }
        sim_func_info(p, f, &fi);
        memset(&l, 0, sizeof(l));
        l.prog = p;
        l.func = f;
        l.grid[0] = 2;
        l.grid[1] = l.grid[2] = 1;
        l.block[0] = 40;
        l.block[1] = l.block[2] = 1;
        l.dyn_shared = 64;
        l.params = params;
        l.param_bytes = f->param_bytes;
        l.mem.allocs = &al;
        l.mem.nallocs = 1;
        l.threads = 1;
        l.insn_budget = 200000;
        l.watchdog_ns = 2000000000ull;
        sim_launch_run(&l);
    }
    sim_program_free(p);
    return 0;
}
