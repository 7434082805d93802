/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sched.c - weighted start-time fair queueing over the GPU's engine classes.
 *
 * Per class e: a virtual clock V (virtual ns), a heap of tenants whose head
 * item is tagged and ready (keyed by the head's start tag S), a heap of
 * capped tenants waiting for tokens (keyed by wake time), and the items in
 * flight as a list in dispatch order (the oldest is presumed running: it
 * sets V and is the one credited with progress in the window).
 * Per tenant and class: its FIFO of queued items and its finish tag F.
 *
 * Tags are assigned when an item becomes its tenant's head, never earlier,
 * so the prediction uses everything learnt up to that moment and only heads
 * ever sit in a heap: every decision is O(log tenants).
 */
#include "sched.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NCLS            VGPU_SCHED_NR_CLASSES
#define BUCKET_NS       100000000ull            /* accounting resolution */
#define NBUCKETS        101                     /* 10 s + the partial one */
#define PRED_PROBES     8

/* Item states; odd values so that a zeroed caller structure is "free". */
enum {
    ITEM_FREE = 0,
    ITEM_QUEUED = 0x5143,
    ITEM_IN_FLIGHT = 0x1f17,
};

enum {
    TENANT_FREE = 0,
    TENANT_ACTIVE,
    TENANT_ZOMBIE,      /* removed, items still in flight */
};

typedef struct VgpuSchedHeapNode {
    double key;
    uint64_t seq;               /* tie-break: earlier insertion first */
    int idx;                    /* position in the heap, -1 when out */
} VgpuSchedHeapNode;

typedef struct Heap {
    VgpuSchedHeapNode **v;
    int n;
    int cap;
} Heap;

typedef struct TClass {
    VgpuSchedItem *qhead, *qtail;
    unsigned queued;
    unsigned in_flight;
    double finish;                  /* F, virtual ns */
    VgpuSchedHeapNode ready;        /* in Class.ready while head waits */
    VgpuSchedHeapNode thr;          /* in Class.thr while held by cap */
    double tokens;                  /* cap token bucket, GPU ns */
    uint64_t tokens_at;
    uint64_t charged;
    uint64_t completed;
    uint64_t bucket[NBUCKETS];
    uint64_t bucket_epoch[NBUCKETS];
} TClass;

typedef struct Tenant {
    int state;
    uint32_t gen;                   /* predictor entries of a past tenant */
    double weight;
    double cap;
    TClass c[NCLS];
} Tenant;

typedef struct Class {
    double vclock;                  /* V, never decreases */
    Heap ready;
    Heap thr;
    VgpuSchedItem *fl_head, *fl_tail;   /* in flight, dispatch order */
    uint64_t inflight_pred;         /* sum of win_ns in flight */
    uint64_t busy_since;            /* the oldest in-flight item began */
    double ns_per_byte;
} Class;

typedef struct PredSlot {
    uint64_t owner;                 /* gen << 32 | (tenant + 1); 0 = empty */
    uint64_t key;
    double ns;
} PredSlot;

struct VgpuSched {
    VgpuSchedParams p;
    Tenant *t;
    Class c[NCLS];
    PredSlot *pred;
    uint64_t seq;
    unsigned nqueued;               /* items queued, all tenants and classes */
};

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- binary heap of node pointers ------------------------------------ */

static bool node_less(const VgpuSchedHeapNode *a, const VgpuSchedHeapNode *b)
{
    if (a->key != b->key) {
        return a->key < b->key;
    }
    return a->seq < b->seq;
}

static void heap_set(Heap *h, int i, VgpuSchedHeapNode *n)
{
    h->v[i] = n;
    n->idx = i;
}

static void heap_up(Heap *h, int i)
{
    VgpuSchedHeapNode *n = h->v[i];

    while (i > 0) {
        int parent = (i - 1) / 2;

        if (!node_less(n, h->v[parent])) {
            break;
        }
        heap_set(h, i, h->v[parent]);
        i = parent;
    }
    heap_set(h, i, n);
}

static void heap_down(Heap *h, int i)
{
    VgpuSchedHeapNode *n = h->v[i];

    for (;;) {
        int l = 2 * i + 1, m = l;

        if (l >= h->n) {
            break;
        }
        if (l + 1 < h->n && node_less(h->v[l + 1], h->v[l])) {
            m = l + 1;
        }
        if (!node_less(h->v[m], n)) {
            break;
        }
        heap_set(h, i, h->v[m]);
        i = m;
    }
    heap_set(h, i, n);
}

static bool heap_init(Heap *h, int cap)
{
    h->v = calloc(cap, sizeof(*h->v));
    h->n = 0;
    h->cap = cap;
    return h->v != NULL;
}

/* Heaps hold tenants, one node each, so they never outgrow max_tenants. */
static void heap_push(Heap *h, VgpuSchedHeapNode *n)
{
    h->n++;
    heap_set(h, h->n - 1, n);
    heap_up(h, h->n - 1);
}

static void heap_remove(Heap *h, VgpuSchedHeapNode *n)
{
    int i = n->idx;
    VgpuSchedHeapNode *last;

    if (i < 0) {
        return;
    }
    last = h->v[--h->n];
    n->idx = -1;
    if (last == n) {
        return;
    }
    heap_set(h, i, last);
    heap_up(h, i);
    heap_down(h, last->idx);
}

static VgpuSchedHeapNode *heap_top(const Heap *h)
{
    return h->n ? h->v[0] : NULL;
}

/* ---- cost prediction ------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t pred_owner(const VgpuSched *s, int tenant)
{
    return ((uint64_t)s->t[tenant].gen << 32) | (uint64_t)(tenant + 1);
}

static PredSlot *pred_find(const VgpuSched *s, uint64_t owner, uint64_t key,
                           bool insert)
{
    unsigned mask = s->p.predictor_slots - 1;
    unsigned h = mix64(owner * 0x9e3779b97f4a7c15ull ^ key) & mask;
    PredSlot *empty = NULL;

    for (unsigned i = 0; i < PRED_PROBES; i++) {
        PredSlot *ps = &s->pred[(h + i) & mask];

        if (ps->owner == owner && ps->key == key) {
            return ps;
        }
        if (!empty && ps->owner == 0) {
            empty = ps;
        }
    }
    if (!insert) {
        return NULL;
    }
    /* A full neighbourhood evicts the home slot: the table is a cache. */
    return empty ? empty : &s->pred[h];
}

/*
 * Which model predicts @it: the caller's number; the tenant's history for
 * the item's key (key 0 stands for all of the tenant's items without key
 * or byte count); or bytes over the class bandwidth.  @unseen: the key has
 * no history yet.
 */
static uint64_t predict(const VgpuSched *s, int tenant, VgpuSchedClass cls,
                        const VgpuSchedItem *it, bool *unseen)
{
    double ns;

    *unseen = false;
    if (it->predicted_ns) {
        return it->predicted_ns;
    }
    if (!it->key && it->bytes) {
        ns = (double)it->bytes * s->c[cls].ns_per_byte;
    } else {
        PredSlot *ps = pred_find(s, pred_owner(s, tenant), it->key, false);

        *unseen = !ps;
        ns = ps ? ps->ns : (double)s->p.unseen_kernel_ns;
    }
    return ns < 1.0 ? 1 : (uint64_t)(ns + 0.5);
}

uint64_t vgpu_sched_predict(const VgpuSched *s, int tenant, VgpuSchedClass cls,
                            const VgpuSchedItem *it)
{
    bool unseen;

    if (tenant < 0 || (unsigned)tenant >= s->p.max_tenants ||
        (unsigned)cls >= NCLS) {
        return s->p.unseen_kernel_ns;
    }
    return predict(s, tenant, cls, it, &unseen);
}

static void pred_learn(VgpuSched *s, const VgpuSchedItem *it, uint64_t ns)
{
    double a = s->p.predictor_alpha;

    if (it->predicted_ns) {
        return;
    }
    if (!it->key && it->bytes) {
        Class *c = &s->c[it->cls];

        c->ns_per_byte += a * ((double)ns / (double)it->bytes -
                               c->ns_per_byte);
    } else {
        uint64_t owner = pred_owner(s, it->tenant);
        PredSlot *ps = pred_find(s, owner, it->key, true);

        /*
         * Up at once, down slowly: a kernel predicted short but long
         * commits more work than the window allows (everyone waits
         * behind it), one predicted long but short only leaves the
         * window under-filled until the average comes down.
         */
        if (ps->owner != owner || ps->key != it->key ||
            (double)ns > ps->ns) {
            ps->owner = owner;
            ps->key = it->key;
            ps->ns = (double)ns;
        } else {
            ps->ns += a * ((double)ns - ps->ns);
        }
    }
}

/* ---- parameters, creation -------------------------------------------- */

void vgpu_sched_params_default(VgpuSchedParams *p)
{
    memset(p, 0, sizeof(*p));
    p->window_ns = 1000000;
    p->lead_ns = 250000;
    p->debt_max_ns = 100000000;
    p->unseen_kernel_ns = 20000;
    p->bytes_per_sec[VGPU_SCHED_COMPUTE] = 200000000000ull;
    p->bytes_per_sec[VGPU_SCHED_COPY_H2D] = 12000000000ull;
    p->bytes_per_sec[VGPU_SCHED_COPY_D2H] = 12000000000ull;
    p->chunk_bytes = 4u << 20;
    p->cap_burst_ns = 5000000;
    p->max_tenants = 256;
    p->predictor_slots = 4096;
    p->predictor_alpha = 0.25;
}

void vgpu_sched_free(VgpuSched *s)
{
    if (!s) {
        return;
    }
    for (int e = 0; e < NCLS; e++) {
        free(s->c[e].ready.v);
        free(s->c[e].thr.v);
    }
    free(s->pred);
    free(s->t);
    free(s);
}

VgpuSched *vgpu_sched_new(const VgpuSchedParams *params)
{
    VgpuSchedParams p;
    VgpuSched *s;

    if (params) {
        p = *params;
    } else {
        vgpu_sched_params_default(&p);
    }
    if (!p.window_ns || p.lead_ns > p.window_ns || !p.chunk_bytes ||
        !p.unseen_kernel_ns ||
        !p.max_tenants || p.max_tenants > VGPU_SCHED_MAX_TENANTS ||
        !p.predictor_slots ||
        (p.predictor_slots & (p.predictor_slots - 1)) ||
        !(p.predictor_alpha > 0.0 && p.predictor_alpha <= 1.0)) {
        return NULL;
    }
    for (int e = 0; e < NCLS; e++) {
        if (!p.bytes_per_sec[e]) {
            return NULL;
        }
    }

    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->p = p;
    s->t = calloc(p.max_tenants, sizeof(*s->t));
    s->pred = calloc(p.predictor_slots, sizeof(*s->pred));
    if (!s->t || !s->pred) {
        goto fail;
    }
    for (int e = 0; e < NCLS; e++) {
        Class *c = &s->c[e];

        if (!heap_init(&c->ready, p.max_tenants) ||
            !heap_init(&c->thr, p.max_tenants)) {
            goto fail;
        }
        c->ns_per_byte = 1e9 / (double)p.bytes_per_sec[e];
    }
    return s;

fail:
    vgpu_sched_free(s);
    return NULL;
}

/* ---- tags ------------------------------------------------------------ */

static bool weight_ok(double w)
{
    return isfinite(w) && w >= VGPU_SCHED_WEIGHT_MIN &&
           w <= VGPU_SCHED_WEIGHT_MAX;
}

static Tenant *tenant_get(const VgpuSched *s, int id, bool active_only)
{
    Tenant *t;

    if (id < 0 || (unsigned)id >= s->p.max_tenants) {
        return NULL;
    }
    t = &s->t[id];
    if (t->state == TENANT_ACTIVE ||
        (!active_only && t->state == TENANT_ZOMBIE)) {
        return t;
    }
    return NULL;
}

/*
 * The head of a tenant's queue becomes ready: S = max(V, F), F = S + c/w.
 * Taking F from S rather than adding to an F that lags V is what keeps an
 * idle tenant from banking credit.
 */
static void tag_head(VgpuSched *s, int id, VgpuSchedClass e)
{
    Tenant *t = &s->t[id];
    TClass *tc = &t->c[e];
    VgpuSchedItem *it = tc->qhead;
    bool unseen;
    double st;

    if (!it || it->tagged) {
        return;
    }
    it->cost_ns = predict(s, id, e, it, &unseen);
    /*
     * A kernel never seen may be long: it is tagged as short, but takes the
     * whole window, so that a batch of them cannot be committed at once.
     */
    it->win_ns = it->cost_ns;
    if (unseen && it->win_ns < s->p.window_ns) {
        it->win_ns = s->p.window_ns;
    }
    st = tc->finish > s->c[e].vclock ? tc->finish : s->c[e].vclock;
    it->start_tag = st;
    tc->finish = st + (double)it->cost_ns / t->weight;
    it->tagged = true;
    tc->ready.key = st;
    tc->ready.seq = s->seq++;
    heap_push(&s->c[e].ready, &tc->ready);
}

/* Undo tag_head() so that the head can be tagged again with new inputs. */
static void untag_head(VgpuSched *s, int id, VgpuSchedClass e)
{
    Tenant *t = &s->t[id];
    TClass *tc = &t->c[e];
    VgpuSchedItem *it = tc->qhead;

    if (!it || !it->tagged) {
        return;
    }
    heap_remove(&s->c[e].ready, &tc->ready);
    heap_remove(&s->c[e].thr, &tc->thr);
    tc->finish -= (double)it->cost_ns / t->weight;
    it->tagged = false;
}

/*
 * V follows the start tag of the item the engine is working on, the oldest
 * in flight (SFQ's "packet in service"), and with nothing in flight the
 * smallest ready start tag.  Not the smallest tag anywhere in the window:
 * a tenant that is not backlogged keeps re-entering at V, so the minimum
 * would stay pinned to its items while backlogged tenants pile up lead
 * against V, which a joining tenant later sees as a long burst.
 */
static void advance_vclock(Class *c, bool use_ready)
{
    double v = c->vclock;

    if (c->fl_head) {
        v = c->fl_head->start_tag;
    } else if (use_ready && heap_top(&c->ready)) {
        v = heap_top(&c->ready)->key;
    }
    if (v > c->vclock) {
        c->vclock = v;
    }
}

/* ---- caps ------------------------------------------------------------ */

static void cap_refill(const VgpuSched *s, Tenant *t, TClass *tc, uint64_t now)
{
    double burst = (double)s->p.cap_burst_ns;

    if (now > tc->tokens_at) {
        tc->tokens += (double)(now - tc->tokens_at) * t->cap;
        tc->tokens_at = now;
    }
    if (tc->tokens > burst) {
        tc->tokens = burst;
    }
}

/* ---- tenants --------------------------------------------------------- */

int vgpu_sched_tenant_add(VgpuSched *s, double weight, uint64_t now)
{
    if (!weight_ok(weight)) {
        return -EINVAL;
    }
    for (unsigned id = 0; id < s->p.max_tenants; id++) {
        Tenant *t = &s->t[id];
        uint32_t gen = t->gen;

        if (t->state != TENANT_FREE) {
            continue;
        }
        memset(t, 0, sizeof(*t));
        t->gen = gen;
        t->state = TENANT_ACTIVE;
        t->weight = weight;
        for (int e = 0; e < NCLS; e++) {
            t->c[e].finish = s->c[e].vclock;
            t->c[e].ready.idx = -1;
            t->c[e].thr.idx = -1;
            t->c[e].tokens_at = now;
        }
        return (int)id;
    }
    return -ENOSPC;
}

int vgpu_sched_tenant_remove(VgpuSched *s, int id,
                             void (*drop)(VgpuSchedItem *it, void *opaque),
                             void *opaque)
{
    Tenant *t = tenant_get(s, id, true);
    bool busy = false;

    if (!t) {
        return -EINVAL;
    }
    for (int e = 0; e < NCLS; e++) {
        TClass *tc = &t->c[e];
        VgpuSchedItem *it;

        untag_head(s, id, e);
        while ((it = tc->qhead) != NULL) {
            tc->qhead = it->next;
            it->next = NULL;
            it->state = ITEM_FREE;
            if (drop) {
                drop(it, opaque);
            }
        }
        tc->qtail = NULL;
        s->nqueued -= tc->queued;
        tc->queued = 0;
        busy |= tc->in_flight > 0;
    }
    /* Forget learnt costs: a new tenant in this slot is someone else. */
    t->gen++;
    t->state = busy ? TENANT_ZOMBIE : TENANT_FREE;
    return 0;
}

int vgpu_sched_drop_items(VgpuSched *s, int id,
                          bool (*match)(VgpuSchedItem *it, void *opaque),
                          void (*drop)(VgpuSchedItem *it, void *opaque),
                          void *opaque)
{
    Tenant *t = tenant_get(s, id, true);
    int n = 0;

    if (!t || !match) {
        return -EINVAL;
    }
    for (int e = 0; e < NCLS; e++) {
        TClass *tc = &t->c[e];
        VgpuSchedItem **pp = &tc->qhead, *it;

        /* The head's tag goes with it if it is dropped; re-tag after. */
        untag_head(s, id, e);
        tc->qtail = NULL;
        while ((it = *pp) != NULL) {
            if (!match(it, opaque)) {
                tc->qtail = it;
                pp = &it->next;
                continue;
            }
            *pp = it->next;
            it->next = NULL;
            it->state = ITEM_FREE;
            tc->queued--;
            s->nqueued--;
            n++;
            if (drop) {
                drop(it, opaque);
            }
        }
        tag_head(s, id, e);
    }
    return n;
}

int vgpu_sched_set_weight(VgpuSched *s, int id, double weight)
{
    Tenant *t = tenant_get(s, id, true);

    if (!t || !weight_ok(weight)) {
        return -EINVAL;
    }
    for (int e = 0; e < NCLS; e++) {
        TClass *tc = &t->c[e];
        double v = s->c[e].vclock;

        untag_head(s, id, e);
        /* Keep the lead in GPU time: (F - V) * w is what the tenant owes. */
        if (tc->finish > v) {
            tc->finish = v + (tc->finish - v) * t->weight / weight;
        }
    }
    t->weight = weight;
    for (int e = 0; e < NCLS; e++) {
        tag_head(s, id, e);
    }
    return 0;
}

int vgpu_sched_set_cap(VgpuSched *s, int id, double cap, uint64_t now)
{
    Tenant *t = tenant_get(s, id, true);

    if (!t || !(cap >= 0.0 && cap <= 1.0)) {
        return -EINVAL;
    }
    for (int e = 0; e < NCLS; e++) {
        TClass *tc = &t->c[e];

        if (cap > 0.0 && t->cap == 0.0) {
            tc->tokens = 0.0;
            tc->tokens_at = now;
        }
        /* Whatever held it back is re-decided at the next pick. */
        if (tc->thr.idx >= 0) {
            heap_remove(&s->c[e].thr, &tc->thr);
            heap_push(&s->c[e].ready, &tc->ready);
        }
    }
    t->cap = cap;
    return 0;
}

/* ---- the queue ------------------------------------------------------- */

int vgpu_sched_enqueue(VgpuSched *s, int id, VgpuSchedClass e,
                       VgpuSchedItem *it, uint64_t now)
{
    Tenant *t = tenant_get(s, id, true);
    TClass *tc;

    if (!t || (unsigned)e >= NCLS || !it || it->state == ITEM_QUEUED ||
        it->state == ITEM_IN_FLIGHT) {
        return -EINVAL;
    }
    tc = &t->c[e];
    it->tenant = id;
    it->cls = e;
    it->cost_ns = 0;
    it->start_tag = 0.0;
    it->enqueue_ns = now;
    it->dispatch_ns = 0;
    it->next = it->prev = NULL;
    it->tagged = false;
    it->state = ITEM_QUEUED;
    if (tc->qtail) {
        tc->qtail->next = it;
    } else {
        tc->qhead = it;
    }
    tc->qtail = it;
    tc->queued++;
    s->nqueued++;
    tag_head(s, id, e);
    return 0;
}

/*
 * Predicted work the engine still has: everything in flight minus the part
 * of the oldest item that has predictably run since it started.  Credit is
 * capped at that item's prediction, so an item that overruns keeps the
 * window closed until it completes.
 */
static uint64_t backlog(const Class *c, uint64_t now, uint64_t *slack)
{
    uint64_t first = c->fl_head->win_ns;
    uint64_t ran = now > c->busy_since ? now - c->busy_since : 0;

    if (ran > first) {
        ran = first;
    }
    *slack = first - ran;
    return c->inflight_pred - ran;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

VgpuSchedItem *vgpu_sched_pick(VgpuSched *s, VgpuSchedClass e, uint64_t now,
                               uint64_t *retry_at)
{
    Class *c;
    uint64_t dummy, W;
    VgpuSchedHeapNode *n;

    if (!retry_at) {
        retry_at = &dummy;
    }
    *retry_at = VGPU_SCHED_NEVER;
    if ((unsigned)e >= NCLS) {
        return NULL;
    }
    c = &s->c[e];
    W = s->p.window_ns;

    /* Capped tenants whose tokens came back compete again. */
    while ((n = heap_top(&c->thr)) && n->key <= (double)now) {
        TClass *tc = container_of(n, TClass, thr);

        heap_remove(&c->thr, n);
        heap_push(&c->ready, &tc->ready);
    }

    for (;;) {
        TClass *tc;
        Tenant *t;
        VgpuSchedItem *it;
        int id;

        n = heap_top(&c->ready);
        if (!n) {
            break;
        }
        tc = container_of(n, TClass, ready);
        t = container_of(tc, Tenant, c[e]);
        id = (int)(t - s->t);
        it = tc->qhead;

        if (t->cap > 0.0) {
            cap_refill(s, t, tc, now);
            if (tc->tokens <= 0.0) {
                double wait = ceil(-tc->tokens / t->cap) + 1.0;

                heap_remove(&c->ready, n);
                tc->thr.key = (double)now + wait;
                tc->thr.seq = s->seq++;
                heap_push(&c->thr, &tc->thr);
                continue;
            }
        }

        /*
         * Room: the item fits in the window, or at most lead_ns of work is
         * ahead of it (a long item queues behind that little, and is
         * handed over before the engine runs dry).
         */
        if (c->fl_head) {
            uint64_t slack, b = backlog(c, now, &slack);
            uint64_t room = it->win_ns < W ? W - it->win_ns : 0;

            if (room < s->p.lead_ns) {
                room = s->p.lead_ns;
            }
            if (b > room) {
                if (b - room <= slack) {
                    *retry_at = now + (b - room);
                }
                break;
            }
        }

        heap_remove(&c->ready, n);

        tc->qhead = it->next;
        if (!tc->qhead) {
            tc->qtail = NULL;
        }
        tc->queued--;
        s->nqueued--;
        tc->in_flight++;
        it->next = NULL;
        it->state = ITEM_IN_FLIGHT;
        it->dispatch_ns = now;
        it->prev = c->fl_tail;
        if (c->fl_tail) {
            c->fl_tail->next = it;
        } else {
            c->fl_head = it;
            c->busy_since = now;
        }
        c->fl_tail = it;
        c->inflight_pred += it->win_ns;
        if (t->cap > 0.0) {
            tc->tokens -= (double)it->cost_ns;
        }
        advance_vclock(c, false);
        tag_head(s, id, e);
        return it;
    }

    n = heap_top(&c->thr);
    if (n) {
        *retry_at = min_u64(*retry_at, (uint64_t)n->key);
    }
    return NULL;
}

static void account(TClass *tc, uint64_t ns, uint64_t now)
{
    uint64_t epoch = now / BUCKET_NS;
    unsigned b = epoch % NBUCKETS;

    if (tc->bucket_epoch[b] != epoch) {
        tc->bucket_epoch[b] = epoch;
        tc->bucket[b] = 0;
    }
    tc->bucket[b] += ns;
    tc->charged += ns;
    tc->completed++;
}

int vgpu_sched_complete(VgpuSched *s, VgpuSchedItem *it, uint64_t measured_ns,
                        uint64_t now)
{
    Tenant *t;
    TClass *tc;
    Class *c;
    VgpuSchedClass e;
    int id;

    if (!it || it->state != ITEM_IN_FLIGHT ||
        !(t = tenant_get(s, it->tenant, false))) {
        return -EINVAL;
    }
    id = it->tenant;
    e = it->cls;
    c = &s->c[e];
    tc = &t->c[e];

    if (it->prev) {
        it->prev->next = it->next;
    } else {
        c->fl_head = it->next;
    }
    if (it->next) {
        it->next->prev = it->prev;
    } else {
        c->fl_tail = it->prev;
    }
    it->next = it->prev = NULL;
    it->state = ITEM_FREE;
    c->inflight_pred -= it->win_ns;
    /* The next item in dispatch order starts when this one ended. */
    c->busy_since = now;
    tc->in_flight--;
    account(tc, measured_ns, now);
    advance_vclock(c, false);

    if (t->state == TENANT_ACTIVE) {
        double delta = ((double)measured_ns - (double)it->cost_ns) / t->weight;
        double debt = (double)(measured_ns > s->p.debt_max_ns ?
                               measured_ns : s->p.debt_max_ns);
        double limit = c->vclock + debt / t->weight;

        pred_learn(s, it, measured_ns);
        untag_head(s, id, e);
        tc->finish += delta;
        /*
         * Debt clamp: forgive what piled up from mispredicted items beyond
         * L_max, but never the item's own measured cost, so that kernels
         * longer than L_max cannot buy a larger share.
         */
        if (tc->finish > limit) {
            tc->finish = limit;
        }
        if (t->cap > 0.0) {
            cap_refill(s, t, tc, now);
            tc->tokens += (double)it->cost_ns - (double)measured_ns;
        }
        tag_head(s, id, e);
    } else {
        bool busy = false;

        for (int k = 0; k < NCLS; k++) {
            busy |= t->c[k].in_flight > 0;
        }
        if (!busy) {
            t->state = TENANT_FREE;
        }
    }
    advance_vclock(c, true);
    return 0;
}

/* ---- accounting ------------------------------------------------------ */

/* Engine time completed in the @nb buckets before now's, plus now's. */
static uint64_t recent(const TClass *tc, uint64_t now, unsigned nb)
{
    uint64_t epoch = now / BUCKET_NS;
    double frac = (double)(now % BUCKET_NS) / (double)BUCKET_NS;
    double sum = 0.0;

    for (unsigned k = 0; k <= nb && k <= epoch; k++) {
        uint64_t ep = epoch - k;
        unsigned b = ep % NBUCKETS;

        if (tc->bucket_epoch[b] != ep) {
            continue;
        }
        /* The oldest bucket only partly overlaps the window. */
        sum += (double)tc->bucket[b] * (k == nb ? 1.0 - frac : 1.0);
    }
    return (uint64_t)(sum + 0.5);
}

unsigned vgpu_sched_queued(const VgpuSched *s)
{
    return s->nqueued;
}

bool vgpu_sched_class_shared(const VgpuSched *s, int tenant,
                             VgpuSchedClass e)
{
    if ((unsigned)e >= NCLS) {
        return false;
    }
    for (unsigned i = 0; i < s->p.max_tenants; i++) {
        const TClass *tc = &s->t[i].c[e];

        if ((int)i != tenant && (tc->queued || tc->in_flight)) {
            return true;
        }
    }
    return false;
}

int vgpu_sched_tenant_stats(const VgpuSched *s, int id, uint64_t now,
                            VgpuSchedTenantStats *st)
{
    const Tenant *t = tenant_get(s, id, false);

    if (!t || !st) {
        return -EINVAL;
    }
    memset(st, 0, sizeof(*st));
    st->weight = t->weight;
    st->cap = t->cap;
    for (int e = 0; e < NCLS; e++) {
        const TClass *tc = &t->c[e];

        st->charged_ns[e] = tc->charged;
        st->recent_1s_ns[e] = recent(tc, now, 10);
        st->recent_10s_ns[e] = recent(tc, now, 100);
        st->share_1s[e] = (double)st->recent_1s_ns[e] / 1e9;
        st->share_10s[e] = (double)st->recent_10s_ns[e] / 1e10;
        st->queued[e] = tc->queued;
        st->in_flight[e] = tc->in_flight;
        st->completed[e] = tc->completed;
    }
    return 0;
}

bool vgpu_sched_ready(const VgpuSched *s, VgpuSchedClass e)
{
    if ((unsigned)e >= NCLS) {
        return false;
    }
    return s->c[e].ready.n > 0 || s->c[e].thr.n > 0;
}

/* ---- copies ---------------------------------------------------------- */

uint64_t vgpu_sched_chunk_count(const VgpuSched *s, uint64_t bytes)
{
    uint64_t n = bytes / s->p.chunk_bytes + !!(bytes % s->p.chunk_bytes);

    return n ? n : 1;
}

int vgpu_sched_chunk(const VgpuSched *s, uint64_t bytes, uint64_t idx,
                     uint64_t *off, uint64_t *len)
{
    uint64_t n = vgpu_sched_chunk_count(s, bytes);
    uint64_t base = bytes / n, rem = bytes % n;

    if (idx >= n) {
        return -EINVAL;
    }
    *off = idx * base + (idx < rem ? idx : rem);
    *len = base + (idx < rem);
    return 0;
}
