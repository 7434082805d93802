/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * simgpu.h - discrete-event model of one GPU driven by sched.c or by FIFO.
 *
 * The model has one serial engine per class (compute, H2D, D2H): an engine
 * runs the items it was handed one at a time in the order it got them,
 * each for its true duration, as a GPU does with kernels of different
 * contexts.  Tenants are synthetic: a backlogged tenant keeps a fixed
 * number of work units outstanding (an application issuing asynchronous
 * launches with a bounded queue), a periodic tenant issues one unit per
 * period and measures its latency.  Simulated time only: no clock is read,
 * so every run is deterministic.
 *
 * Policies: SIM_SCHED hands items to sched.c and dispatches what
 * vgpu_sched_pick() returns, with its retry timer; SIM_FIFO passes every
 * item to the engine the moment it is issued (API remoting with no
 * scheduler), the baseline of every comparison.
 */
#ifndef VGPU_SIMGPU_H
#define VGPU_SIMGPU_H

#include <stdbool.h>
#include <stdint.h>

#include "sched.h"
#include "trace_metrics.h"

typedef enum SimPolicy {
    SIM_SCHED,
    SIM_FIFO,
} SimPolicy;

typedef enum SimKind {
    SIM_BACKLOGGED,
    SIM_PERIODIC,
} SimKind;

typedef struct SimTenant {
    double weight;
    double cap;                 /* 0: none */
    SimKind kind;
    VgpuSchedClass cls;
    uint64_t item_ns;           /* true duration of a compute item */
    uint64_t item_ns2;          /* non-zero: each item is item_ns or this,
                                   at random (two kernels, two keys) */
    double jitter;              /* true duration varies by +-jitter */
    uint64_t bytes;             /* copies: bytes per work unit */
    unsigned depth;             /* backlogged: units kept outstanding */
    uint64_t period_ns;         /* periodic: one unit per period */
    uint64_t join_ns;
    uint64_t leave_ns;          /* 0: stays */
    bool exact_prediction;      /* hand the true cost as predicted_ns */
    bool no_key;                /* compute items without predictor key */
} SimTenant;

typedef enum SimActionKind {
    SIM_SET_WEIGHT,
    SIM_SET_CAP,
} SimActionKind;

typedef struct SimAction {
    uint64_t at_ns;
    SimActionKind kind;
    int tenant;
    double value;
} SimAction;

typedef struct SimConfig {
    SimPolicy policy;
    VgpuSchedParams params;
    uint64_t duration_ns;
    uint64_t dispatch_latency_ns;   /* handing an item to the engine */
    double copy_bytes_per_ns;       /* true copy bandwidth */
    uint64_t seed;
    int ntenants;
    const SimTenant *tenants;
    int nactions;
    const SimAction *actions;       /* sorted by at_ns */
} SimConfig;

typedef struct SimResult {
    TmRecord *rec;                  /* one per executed item, by end time */
    size_t nrec;
    int ntenants;
    uint64_t **lat;                 /* per tenant: unit latencies */
    size_t *nlat;
    uint64_t idle_backlog_ns[VGPU_SCHED_NR_CLASSES];
    uint64_t busy_ns[VGPU_SCHED_NR_CLASSES];
    uint64_t order_violations;      /* items run out of issue order */
    uint64_t dropped;               /* queued items dropped at leave */
    uint64_t decisions;             /* items dispatched */
    uint64_t end_ns;
    int sched_errors;               /* unexpected sched.c return codes */
} SimResult;

/* Runs @cfg to its end; 0 or -1 (bad config, out of memory). */
int sim_run(const SimConfig *cfg, SimResult *res);
void sim_result_free(SimResult *res);

/* Convenience: TmTenant view of @cfg's tenants (caller frees). */
TmTenant *sim_tm_tenants(const SimConfig *cfg);

#endif /* VGPU_SIMGPU_H */
