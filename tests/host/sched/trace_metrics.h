/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_metrics.h - fairness metrics of scheduler.md computed from an
 * execution trace (ground truth), independent of any scheduler accounting.
 *
 * The trace is what an engine really did: one record per item with its
 * tenant, engine class and the interval it occupied the engine.  The
 * simulator produces such traces; a harness against real vgpud produces
 * the same records from its own timestamps and feeds them to the same
 * functions, so both report numbers computed in one way.
 */
#ifndef VGPU_TRACE_METRICS_H
#define VGPU_TRACE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct TmRecord {
    int tenant;
    int cls;
    uint64_t submit_ns;         /* the tenant issued the work unit */
    uint64_t start_ns;          /* the engine began the item */
    uint64_t end_ns;            /* the engine finished it */
} TmRecord;

/* What the metrics need to know about a tenant. */
typedef struct TmTenant {
    double weight;
    uint64_t join_ns;
    uint64_t leave_ns;          /* 0: stays to the end */
    bool backlogged;            /* always has work while present */
    int cls;                    /* the engine class it loads */
} TmTenant;

typedef struct TmShare {
    int windows;                /* windows with >= 2 backlogged tenants */
    double err_mean_pp;         /* mean over tenants and windows */
    double err_max_pp;
    double jain_min;
    double jain_mean;
    double mmr_min;             /* min/max normalized share, worst window */
    double slowdown_max;        /* max over tenants of t_i / s_i */
} TmShare;

/*
 * Engine time of each tenant on @cls within [t0, t1), intervals clipped to
 * the window.  @out has @ntenants entries.
 */
void tm_service(const TmRecord *rec, size_t n, int cls, int ntenants,
                uint64_t t0, uint64_t t1, double *out);

/*
 * Share metrics over consecutive windows of @win_ns from @t_start to
 * @t_end on @cls; only tenants backlogged for the whole window count.
 */
TmShare tm_share(const TmRecord *rec, size_t n, int cls,
                 const TmTenant *tn, int ntenants,
                 uint64_t t_start, uint64_t t_end, uint64_t win_ns);

/*
 * Time after @t_join until every backlogged tenant's share stays within
 * @tol_pp of its target in all windows of @win_ns (sliding by @step_ns)
 * up to @t_until.  Returns win_ns when the first window already is.
 */
uint64_t tm_convergence(const TmRecord *rec, size_t n, int cls,
                        const TmTenant *tn, int ntenants, uint64_t t_join,
                        uint64_t t_until, uint64_t win_ns, uint64_t step_ns,
                        double tol_pp);

/* The @q quantile (0 < q <= 1) of @v; sorts @v in place. */
uint64_t tm_quantile(uint64_t *v, size_t n, double q);

#endif /* VGPU_TRACE_METRICS_H */
