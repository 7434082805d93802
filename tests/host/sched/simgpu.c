/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * simgpu.c - discrete-event GPU model for scheduler tests and benchmarks
 * (see simgpu.h).
 */
#include "simgpu.h"

#include <stdlib.h>
#include <string.h>

#define NCLS VGPU_SCHED_NR_CLASSES

enum {
    EV_JOIN,
    EV_LEAVE,
    EV_PERIODIC,
    EV_ENGINE,          /* an item handed to an engine becomes visible */
    EV_END,             /* the running item of an engine finishes */
    EV_RETRY,           /* sched.c asked to be called again */
    EV_ACTION,
};

typedef struct Unit {
    int left;           /* items of the unit not yet finished or dropped */
    int tenant;
    uint64_t submit_ns;
} Unit;

typedef struct SimItem {
    VgpuSchedItem si;
    int tenant;
    int cls;
    uint64_t true_ns;
    uint64_t visible_ns;
    uint64_t start_ns;
    uint64_t seqno;     /* issue order within tenant and class */
    Unit *unit;
    struct SimItem *next;
} SimItem;

typedef struct Ev {
    uint64_t t;
    uint64_t seq;
    int type;
    int a;
} Ev;

typedef struct Engine {
    SimItem *qh, *qt;
    SimItem *run;
} Engine;

typedef struct TState {
    bool active;
    int sid;
    uint64_t issued[NCLS];
    uint64_t started[NCLS];
    size_t latcap;
} TState;

typedef struct Sim {
    const SimConfig *cfg;
    SimResult *res;
    VgpuSched *s;
    Ev *ev;
    size_t nev, capev;
    uint64_t evseq;
    Engine eng[NCLS];
    uint64_t pending[NCLS];
    uint64_t retry_at[NCLS];
    bool dirty[NCLS];
    TState *ts;
    uint64_t now, last;
    uint64_t rng;
    size_t reccap;
    bool oom;
} Sim;

static uint64_t rnd(Sim *m)
{
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return m->rng * 2685821657736338717ull;
}

static double rnd01(Sim *m)
{
    return (double)(rnd(m) >> 11) / 9007199254740992.0;
}

static bool ev_less(const Ev *a, const Ev *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void ev_push(Sim *m, uint64_t t, int type, int a)
{
    size_t i;

    if (m->nev == m->capev) {
        size_t cap = m->capev ? m->capev * 2 : 256;
        Ev *v = realloc(m->ev, cap * sizeof(*v));

        if (!v) {
            m->oom = true;
            return;
        }
        m->ev = v;
        m->capev = cap;
    }
    i = m->nev++;
    m->ev[i] = (Ev){ .t = t, .seq = m->evseq++, .type = type, .a = a };
    while (i > 0 && ev_less(&m->ev[i], &m->ev[(i - 1) / 2])) {
        Ev tmp = m->ev[i];

        m->ev[i] = m->ev[(i - 1) / 2];
        m->ev[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static Ev ev_pop(Sim *m)
{
    Ev top = m->ev[0];
    size_t i = 0;

    m->ev[0] = m->ev[--m->nev];
    for (;;) {
        size_t l = 2 * i + 1, k = l;
        Ev tmp;

        if (l >= m->nev) {
            break;
        }
        if (l + 1 < m->nev && ev_less(&m->ev[l + 1], &m->ev[l])) {
            k = l + 1;
        }
        if (!ev_less(&m->ev[k], &m->ev[i])) {
            break;
        }
        tmp = m->ev[i];
        m->ev[i] = m->ev[k];
        m->ev[k] = tmp;
        i = k;
    }
    return top;
}

static void item_free(SimItem *x)
{
    if (--x->unit->left == 0) {
        free(x->unit);
    }
    free(x);
}

static void record(Sim *m, const SimItem *x, uint64_t start)
{
    SimResult *r = m->res;

    if (r->nrec == m->reccap) {
        size_t cap = m->reccap ? m->reccap * 2 : 4096;
        TmRecord *v = realloc(r->rec, cap * sizeof(*v));

        if (!v) {
            m->oom = true;
            return;
        }
        r->rec = v;
        m->reccap = cap;
    }
    r->rec[r->nrec++] = (TmRecord){
        .tenant = x->tenant, .cls = x->cls, .submit_ns = x->unit->submit_ns,
        .start_ns = start, .end_ns = m->now,
    };
}

static void engine_kick(Sim *m, int cls)
{
    Engine *e = &m->eng[cls];
    SimItem *x = e->qh;
    TState *ts;

    if (e->run || !x) {
        return;
    }
    if (x->visible_ns > m->now) {
        ev_push(m, x->visible_ns, EV_ENGINE, cls);
        return;
    }
    e->qh = x->next;
    if (!e->qh) {
        e->qt = NULL;
    }
    x->next = NULL;
    e->run = x;
    x->start_ns = m->now;
    m->pending[cls]--;
    ts = &m->ts[x->tenant];
    if (x->seqno != ts->started[cls]) {
        m->res->order_violations++;
    }
    ts->started[cls] = x->seqno + 1;
    ev_push(m, m->now + x->true_ns, EV_END, cls);
}

static void engine_push(Sim *m, SimItem *x)
{
    Engine *e = &m->eng[x->cls];

    x->visible_ns = m->now + m->cfg->dispatch_latency_ns;
    x->next = NULL;
    if (e->qt) {
        e->qt->next = x;
    } else {
        e->qh = x;
    }
    e->qt = x;
    engine_kick(m, x->cls);
}

static void new_item(Sim *m, int t, Unit *u, uint64_t true_ns, uint64_t bytes,
                     uint64_t key)
{
    const SimTenant *st = &m->cfg->tenants[t];
    TState *ts = &m->ts[t];
    SimItem *x = calloc(1, sizeof(*x));

    if (!x) {
        m->oom = true;
        return;
    }
    x->tenant = t;
    x->cls = st->cls;
    x->true_ns = true_ns ? true_ns : 1;
    x->unit = u;
    x->seqno = ts->issued[st->cls]++;
    x->si.bytes = bytes;
    x->si.key = key;
    if (st->exact_prediction) {
        x->si.predicted_ns = x->true_ns;
    }
    u->left++;
    m->pending[st->cls]++;
    m->dirty[st->cls] = true;
    if (m->cfg->policy == SIM_FIFO) {
        engine_push(m, x);
    } else if (vgpu_sched_enqueue(m->s, ts->sid, st->cls, &x->si, m->now)) {
        m->res->sched_errors++;
        m->pending[st->cls]--;
        ts->issued[st->cls]--;
        item_free(x);
    }
}

/* One work unit: a kernel, or a copy (in chunks under the scheduler). */
static void issue(Sim *m, int t)
{
    const SimTenant *st = &m->cfg->tenants[t];
    Unit *u = calloc(1, sizeof(*u));

    if (!u) {
        m->oom = true;
        return;
    }
    u->tenant = t;
    u->submit_ns = m->now;
    /* The guard keeps the unit alive while its items are created. */
    u->left = 1;
    if (st->cls == VGPU_SCHED_COMPUTE) {
        uint64_t base = st->item_ns;
        double f = 1.0;

        if (st->item_ns2 && (rnd(m) & 1)) {
            base = st->item_ns2;
        }
        if (st->jitter > 0) {
            f += st->jitter * (2.0 * rnd01(m) - 1.0);
        }
        new_item(m, t, u, (uint64_t)((double)base * f), 0,
                 st->no_key ? 0 : base);
    } else {
        double bw = m->cfg->copy_bytes_per_ns;
        uint64_t n = 1;

        if (m->cfg->policy == SIM_SCHED) {
            n = vgpu_sched_chunk_count(m->s, st->bytes);
        }
        for (uint64_t k = 0; k < n; k++) {
            uint64_t off = 0, len = st->bytes;

            if (m->cfg->policy == SIM_SCHED) {
                vgpu_sched_chunk(m->s, st->bytes, k, &off, &len);
            }
            new_item(m, t, u, (uint64_t)((double)len / bw), len, 0);
        }
    }
    if (--u->left == 0) {
        free(u);
    }
}

static void unit_done(Sim *m, Unit *u)
{
    SimResult *r = m->res;
    int t = u->tenant;
    TState *ts = &m->ts[t];

    if (r->nlat[t] == ts->latcap) {
        size_t cap = ts->latcap ? ts->latcap * 2 : 1024;
        uint64_t *v = realloc(r->lat[t], cap * sizeof(*v));

        if (!v) {
            m->oom = true;
            return;
        }
        r->lat[t] = v;
        ts->latcap = cap;
    }
    r->lat[t][r->nlat[t]++] = m->now - u->submit_ns;
    if (ts->active && m->cfg->tenants[t].kind == SIM_BACKLOGGED) {
        issue(m, t);
    }
}

static void on_end(Sim *m, int cls)
{
    Engine *e = &m->eng[cls];
    SimItem *x = e->run;
    Unit *u = x->unit;

    e->run = NULL;
    record(m, x, x->start_ns);
    if (m->cfg->policy == SIM_SCHED &&
        vgpu_sched_complete(m->s, &x->si, x->true_ns, m->now)) {
        m->res->sched_errors++;
    }
    if (u->left == 1) {
        unit_done(m, u);
    }
    item_free(x);
    m->dirty[cls] = true;
    engine_kick(m, cls);
}

static void drop_cb(VgpuSchedItem *it, void *opaque)
{
    Sim *m = opaque;
    SimItem *x = (SimItem *)it;

    m->pending[x->cls]--;
    m->res->dropped++;
    item_free(x);
}

static void on_leave(Sim *m, int t)
{
    TState *ts = &m->ts[t];

    if (!ts->active) {
        return;
    }
    ts->active = false;
    if (m->cfg->policy == SIM_SCHED) {
        if (vgpu_sched_tenant_remove(m->s, ts->sid, drop_cb, m)) {
            m->res->sched_errors++;
        }
    } else {
        /* The dead context's work that has not started is discarded. */
        for (int c = 0; c < NCLS; c++) {
            SimItem **pp = &m->eng[c].qh, *x;

            m->eng[c].qt = NULL;
            while ((x = *pp) != NULL) {
                if (x->tenant == t) {
                    *pp = x->next;
                    drop_cb(&x->si, m);
                } else {
                    m->eng[c].qt = x;
                    pp = &x->next;
                }
            }
        }
    }
    for (int c = 0; c < NCLS; c++) {
        m->dirty[c] = true;
    }
}

static void on_join(Sim *m, int t)
{
    const SimTenant *st = &m->cfg->tenants[t];
    TState *ts = &m->ts[t];

    if (m->cfg->policy == SIM_SCHED) {
        ts->sid = vgpu_sched_tenant_add(m->s, st->weight, m->now);
        if (ts->sid < 0) {
            m->res->sched_errors++;
            return;
        }
        if (st->cap > 0 &&
            vgpu_sched_set_cap(m->s, ts->sid, st->cap, m->now)) {
            m->res->sched_errors++;
        }
    }
    ts->active = true;
    if (st->kind == SIM_BACKLOGGED) {
        for (unsigned k = 0; k < (st->depth ? st->depth : 1); k++) {
            issue(m, t);
        }
    } else {
        issue(m, t);
        ev_push(m, m->now + st->period_ns, EV_PERIODIC, t);
    }
    if (st->leave_ns) {
        ev_push(m, st->leave_ns, EV_LEAVE, t);
    }
}

static void on_action(Sim *m, int k)
{
    const SimAction *a = &m->cfg->actions[k];
    TState *ts = &m->ts[a->tenant];
    int rc = 0;

    if (m->cfg->policy != SIM_SCHED || !ts->active) {
        return;
    }
    if (a->kind == SIM_SET_WEIGHT) {
        rc = vgpu_sched_set_weight(m->s, ts->sid, a->value);
    } else {
        rc = vgpu_sched_set_cap(m->s, ts->sid, a->value, m->now);
    }
    if (rc) {
        m->res->sched_errors++;
    }
    for (int c = 0; c < NCLS; c++) {
        m->dirty[c] = true;
    }
}

static void drive(Sim *m, int cls)
{
    VgpuSchedItem *it;
    uint64_t retry = VGPU_SCHED_NEVER;

    m->dirty[cls] = false;
    if (m->cfg->policy != SIM_SCHED) {
        return;
    }
    while ((it = vgpu_sched_pick(m->s, cls, m->now, &retry)) != NULL) {
        m->res->decisions++;
        engine_push(m, (SimItem *)it);
    }
    if (retry != VGPU_SCHED_NEVER &&
        (retry < m->retry_at[cls] || m->retry_at[cls] <= m->now)) {
        m->retry_at[cls] = retry;
        ev_push(m, retry, EV_RETRY, cls);
    }
}

static void advance(Sim *m, uint64_t t)
{
    uint64_t dt = t - m->last;

    for (int c = 0; c < NCLS; c++) {
        if (m->eng[c].run) {
            m->res->busy_ns[c] += dt;
        } else if (m->pending[c]) {
            m->res->idle_backlog_ns[c] += dt;
        }
    }
    m->last = t;
    m->now = t;
}

static void teardown(Sim *m)
{
    for (int t = 0; t < m->cfg->ntenants; t++) {
        if (m->cfg->policy == SIM_SCHED && m->ts[t].active) {
            vgpu_sched_tenant_remove(m->s, m->ts[t].sid, drop_cb, m);
        }
    }
    for (int c = 0; c < NCLS; c++) {
        SimItem *x = m->eng[c].qh, *nx;

        for (; x; x = nx) {
            nx = x->next;
            item_free(x);
        }
        if (m->eng[c].run) {
            item_free(m->eng[c].run);
        }
    }
    vgpu_sched_free(m->s);
    free(m->ev);
    free(m->ts);
}

int sim_run(const SimConfig *cfg, SimResult *res)
{
    Sim m = { .cfg = cfg, .res = res };
    int nt = cfg->ntenants;

    memset(res, 0, sizeof(*res));
    res->ntenants = nt > 0 ? nt : 0;
    if (nt <= 0 || !cfg->copy_bytes_per_ns) {
        return -1;
    }
    m.rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
    m.ts = calloc(nt, sizeof(*m.ts));
    res->lat = calloc(nt, sizeof(*res->lat));
    res->nlat = calloc(nt, sizeof(*res->nlat));
    if (cfg->policy == SIM_SCHED) {
        m.s = vgpu_sched_new(&cfg->params);
    }
    if (!m.ts || !res->lat || !res->nlat ||
        (cfg->policy == SIM_SCHED && !m.s)) {
        teardown(&m);
        return -1;
    }
    for (int c = 0; c < NCLS; c++) {
        m.retry_at[c] = VGPU_SCHED_NEVER;
    }
    for (int t = 0; t < nt; t++) {
        ev_push(&m, cfg->tenants[t].join_ns, EV_JOIN, t);
    }
    for (int k = 0; k < cfg->nactions; k++) {
        ev_push(&m, cfg->actions[k].at_ns, EV_ACTION, k);
    }

    while (m.nev && m.ev[0].t <= cfg->duration_ns && !m.oom) {
        Ev ev = ev_pop(&m);

        advance(&m, ev.t);
        switch (ev.type) {
        case EV_JOIN:
            on_join(&m, ev.a);
            break;
        case EV_LEAVE:
            on_leave(&m, ev.a);
            break;
        case EV_PERIODIC:
            if (m.ts[ev.a].active) {
                issue(&m, ev.a);
                ev_push(&m, m.now + cfg->tenants[ev.a].period_ns,
                        EV_PERIODIC, ev.a);
            }
            break;
        case EV_ENGINE:
            engine_kick(&m, ev.a);
            break;
        case EV_END:
            on_end(&m, ev.a);
            break;
        case EV_RETRY:
            if (m.retry_at[ev.a] == ev.t) {
                m.retry_at[ev.a] = VGPU_SCHED_NEVER;
            }
            m.dirty[ev.a] = true;
            break;
        case EV_ACTION:
            on_action(&m, ev.a);
            break;
        }
        /* Decide once all events of this instant are in. */
        if (!m.nev || m.ev[0].t != m.now) {
            for (int c = 0; c < NCLS; c++) {
                if (m.dirty[c]) {
                    drive(&m, c);
                }
            }
        }
    }
    advance(&m, cfg->duration_ns > m.now ? cfg->duration_ns : m.now);
    res->end_ns = m.now;
    teardown(&m);
    return m.oom ? -1 : 0;
}

void sim_result_free(SimResult *res)
{
    free(res->rec);
    for (int t = 0; res->lat && t < res->ntenants; t++) {
        free(res->lat[t]);
    }
    free(res->lat);
    free(res->nlat);
    memset(res, 0, sizeof(*res));
}

TmTenant *sim_tm_tenants(const SimConfig *cfg)
{
    TmTenant *tn = calloc(cfg->ntenants, sizeof(*tn));

    for (int t = 0; tn && t < cfg->ntenants; t++) {
        const SimTenant *st = &cfg->tenants[t];

        tn[t] = (TmTenant){
            .weight = st->weight, .join_ns = st->join_ns,
            .leave_ns = st->leave_ns, .backlogged = st->kind == SIM_BACKLOGGED, .cls = st->cls,
        };
    }
    return tn;
}
