/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_metrics.c - share error, Jain's index, min/max ratio and
 * convergence time from an execution trace (see trace_metrics.h).
 */
#include "trace_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tm_service(const TmRecord *rec, size_t n, int cls, int ntenants,
                uint64_t t0, uint64_t t1, double *out)
{
    memset(out, 0, ntenants * sizeof(*out));
    for (size_t k = 0; k < n; k++) {
        const TmRecord *r = &rec[k];
        uint64_t a, b;

        if (r->cls != cls || r->end_ns <= t0 || r->start_ns >= t1 ||
            r->tenant < 0 || r->tenant >= ntenants) {
            continue;
        }
        a = r->start_ns > t0 ? r->start_ns : t0;
        b = r->end_ns < t1 ? r->end_ns : t1;
        out[r->tenant] += (double)(b - a);
    }
}

static bool present(const TmTenant *t, int cls, uint64_t t0, uint64_t t1)
{
    return t->backlogged && t->cls == cls && t->join_ns <= t0 &&
           (t->leave_ns == 0 || t->leave_ns >= t1);
}

/*
 * One window: per-tenant observed and target shares of the backlogged set.
 * Returns the number of tenants in it.
 */
static int window_shares(const TmRecord *rec, size_t n, int cls,
                         const TmTenant *tn, int nt, uint64_t t0, uint64_t t1,
                         double *A, double *s, double *t)
{
    double sa = 0.0, sw = 0.0;
    int cnt = 0;

    tm_service(rec, n, cls, nt, t0, t1, A);
    for (int i = 0; i < nt; i++) {
        if (present(&tn[i], cls, t0, t1)) {
            sa += A[i];
            sw += tn[i].weight;
            cnt++;
        }
    }
    for (int i = 0; i < nt; i++) {
        bool in = present(&tn[i], cls, t0, t1);

        s[i] = in && sa > 0 ? A[i] / sa : 0.0;
        t[i] = in ? tn[i].weight / sw : 0.0;
    }
    return sa > 0 ? cnt : 0;
}

TmShare tm_share(const TmRecord *rec, size_t n, int cls,
                 const TmTenant *tn, int nt,
                 uint64_t t_start, uint64_t t_end, uint64_t win_ns)
{
    TmShare r = { .jain_min = 1.0, .mmr_min = 1.0, .slowdown_max = 1.0 };
    double *A = calloc(nt, sizeof(double));
    double *s = calloc(nt, sizeof(double));
    double *t = calloc(nt, sizeof(double));
    double err_sum = 0.0, jain_sum = 0.0;
    long err_n = 0;

    for (uint64_t t0 = t_start; t0 + win_ns <= t_end; t0 += win_ns) {
        double sx = 0.0, sx2 = 0.0, xmin = INFINITY, xmax = 0.0, jain;
        int cnt = window_shares(rec, n, cls, tn, nt, t0, t0 + win_ns,
                                A, s, t);

        if (cnt < 2) {
            continue;
        }
        r.windows++;
        for (int i = 0; i < nt; i++) {
            double x, e;

            if (!present(&tn[i], cls, t0, t0 + win_ns)) {
                continue;
            }
            x = s[i] / t[i];
            e = 100.0 * fabs(s[i] - t[i]);
            err_sum += e;
            err_n++;
            if (e > r.err_max_pp) {
                r.err_max_pp = e;
            }
            sx += x;
            sx2 += x * x;
            xmin = x < xmin ? x : xmin;
            xmax = x > xmax ? x : xmax;
            if (x > 0 && 1.0 / x > r.slowdown_max) {
                r.slowdown_max = 1.0 / x;
            } else if (x == 0) {
                r.slowdown_max = INFINITY;
            }
        }
        jain = sx * sx / (cnt * sx2);
        jain_sum += jain;
        r.jain_min = jain < r.jain_min ? jain : r.jain_min;
        if (xmax > 0 && xmin / xmax < r.mmr_min) {
            r.mmr_min = xmin / xmax;
        }
    }
    r.err_mean_pp = err_n ? err_sum / err_n : 0.0;
    r.jain_mean = r.windows ? jain_sum / r.windows : 0.0;
    if (!r.windows) {
        r.jain_min = r.mmr_min = 0.0;
    }
    free(A);
    free(s);
    free(t);
    return r;
}

uint64_t tm_convergence(const TmRecord *rec, size_t n, int cls,
                        const TmTenant *tn, int nt, uint64_t t_join,
                        uint64_t t_until, uint64_t win_ns, uint64_t step_ns,
                        double tol_pp)
{
    double *A = calloc(nt, sizeof(double));
    double *s = calloc(nt, sizeof(double));
    double *t = calloc(nt, sizeof(double));
    uint64_t conv = win_ns;

    for (uint64_t t0 = t_join; t0 + win_ns <= t_until; t0 += step_ns) {
        bool bad = false;

        window_shares(rec, n, cls, tn, nt, t0, t0 + win_ns, A, s, t);
        for (int i = 0; i < nt; i++) {
            if (present(&tn[i], cls, t0, t0 + win_ns) &&
                100.0 * fabs(s[i] - t[i]) > tol_pp) {
                bad = true;
            }
        }
        if (bad) {
            conv = t0 + step_ns + win_ns - t_join;
        }
    }
    free(A);
    free(s);
    free(t);
    return conv;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

uint64_t tm_quantile(uint64_t *v, size_t n, double q)
{
    size_t k;

    if (!n) {
        return 0;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}
