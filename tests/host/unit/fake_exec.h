/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_exec.h - the unit tests' executor test double and its knobs.
 */
#ifndef FAKE_EXEC_H
#define FAKE_EXEC_H

#include <stdio.h>

#include "exec.h"

/* Launch argument values (second parameter of "k") with a fixed outcome. */
#define FAKE_ARG_FAULT 0xdead
#define FAKE_ARG_FAIL 0xbeef
#define FAKE_ARG_PRINT 0x9999

#define FAKE_MAX_HELD 4096

typedef struct FakeExecState {
    bool manual;                /* hold submitted items until completed */
    VgpuExecItem *held[FAKE_MAX_HELD];
    unsigned nheld;
    VgpuExecCtxHooks hooks;     /* of the last context created */
    uint64_t mem_used;
    long nallocs, nfrees, nctx, nmodules, nstreams;
    uint64_t launches, submitted;
    long nhost_registered;      /* host_register minus host_unregister */
    uint64_t host_registered_bytes;
} FakeExecState;

extern FakeExecState fake;
extern const VgpuExecOps fake_exec_ops;

void fake_complete(unsigned i);
void fake_complete_all(void);

#endif /* FAKE_EXEC_H */
