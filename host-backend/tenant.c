/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tenant.c - tenants, contexts and the objects they own: handle tables with
 * opaque typed ids, device-allocation tables for range checks, memory
 * accounting, and object lifetimes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "log.h"
#include "vgpud.h"

/* ---- handle tables ------------------------------------------------------ */

#define H_KIND_SHIFT 56
#define H_TAG_SHIFT 40
#define H_GEN_SHIFT 24
#define H_IDX_MASK 0xffffffu

void vgpu_handles_init(VgpuHandleTable *t, uint16_t tag, uint32_t limit)
{
    memset(t, 0, sizeof(*t));
    t->tag = tag;
    t->free_head = UINT32_MAX;
    t->limit = limit && limit <= H_IDX_MASK + 1 ? limit : VGPU_HANDLE_LIMIT;
}

void vgpu_handles_fini(VgpuHandleTable *t)
{
    free(t->slots);
    t->slots = NULL;
    t->n = t->cap = t->used = 0;
}

/**
 * vgpu_handle_alloc - mint an id for @obj
 * @t: the tenant's table
 * @kind: VGPU_H_*
 * @obj: the object, non-NULL
 * @id: out, the new id (never 0)
 *
 * Returns VGPU_S_OK, or VGPU_S_OUT_OF_MEMORY when the tenant's limit is hit.
 */
int vgpu_handle_alloc(VgpuHandleTable *t, int kind, void *obj, uint64_t *id)
{
    uint32_t idx;
    VgpuHandleSlot *s;

    if (t->free_head != UINT32_MAX) {
        idx = t->free_head;
        t->free_head = t->slots[idx].next_free;
    } else {
        if (t->n >= t->limit) {
            return VGPU_S_OUT_OF_MEMORY;
        }
        if (t->n == t->cap) {
            uint32_t ncap = t->cap ? t->cap * 2 : 64;
            VgpuHandleSlot *ns = realloc(t->slots, ncap * sizeof(*ns));

            if (!ns) {
                return VGPU_S_OUT_OF_MEMORY;
            }
            t->slots = ns;
            t->cap = ncap;
        }
        idx = t->n++;
        t->slots[idx].gen = 1;
    }
    s = &t->slots[idx];
    s->obj = obj;
    s->kind = (uint8_t)kind;
    s->next_free = UINT32_MAX;
    t->used++;
    *id = ((uint64_t)kind << H_KIND_SHIFT) | ((uint64_t)t->tag << H_TAG_SHIFT) |
          ((uint64_t)s->gen << H_GEN_SHIFT) | idx;
    return VGPU_S_OK;
}

/**
 * vgpu_handle_get - resolve @id to an object of @kind
 *
 * Returns the object, or NULL when @id is malformed, of another kind, of
 * another tenant, or stale.
 */
void *vgpu_handle_get(const VgpuHandleTable *t, uint64_t id, int kind)
{
    uint32_t idx = id & H_IDX_MASK;
    const VgpuHandleSlot *s;

    if ((int)(id >> H_KIND_SHIFT) != kind ||
        (uint16_t)(id >> H_TAG_SHIFT) != t->tag || idx >= t->n) {
        return NULL;
    }
    s = &t->slots[idx];
    if (!s->obj || s->kind != kind ||
        s->gen != (uint16_t)(id >> H_GEN_SHIFT)) {
        return NULL;
    }
    return s->obj;
}

void vgpu_handle_free(VgpuHandleTable *t, uint64_t id)
{
    uint32_t idx = id & H_IDX_MASK;
    VgpuHandleSlot *s;

    if (idx >= t->n) {
        return;
    }
    s = &t->slots[idx];
    if (!s->obj || s->gen != (uint16_t)(id >> H_GEN_SHIFT)) {
        return;
    }
    s->obj = NULL;
    s->kind = 0;
    /* generation 0 is never minted, so skip it on wrap */
    s->gen = (uint16_t)(s->gen + 1) ? (uint16_t)(s->gen + 1) : 1;
    s->next_free = t->free_head;
    t->free_head = idx;
    t->used--;
}

/* ---- allocation tables -------------------------------------------------- */

/* Index of the last entry with base <= @ptr, or -1. */
static ssize_t allocs_floor(const VgpuAllocTable *t, uint64_t ptr)
{
    ssize_t lo = 0, hi = (ssize_t)t->n - 1, r = -1;

    while (lo <= hi) {
        ssize_t mid = lo + (hi - lo) / 2;

        if (t->v[mid].base <= ptr) {
            r = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return r;
}

int vgpu_allocs_insert(VgpuAllocTable *t, const VgpuAlloc *a)
{
    ssize_t i = allocs_floor(t, a->base);
    size_t pos = (size_t)(i + 1);

    if (a->size == 0 || a->base + a->size < a->base) {
        return VGPU_S_INVALID_VALUE;
    }
    /* executors never hand out overlapping ranges; refuse if one did */
    if (i >= 0 && t->v[i].base + t->v[i].size > a->base) {
        return VGPU_S_INVALID_VALUE;
    }
    if (pos < t->n && a->base + a->size > t->v[pos].base) {
        return VGPU_S_INVALID_VALUE;
    }
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        VgpuAlloc *nv = realloc(t->v, ncap * sizeof(*nv));

        if (!nv) {
            return VGPU_S_OUT_OF_MEMORY;
        }
        t->v = nv;
        t->cap = ncap;
    }
    memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
    t->v[pos] = *a;
    t->n++;
    return VGPU_S_OK;
}

const VgpuAlloc *vgpu_allocs_find(const VgpuAllocTable *t, uint64_t base)
{
    ssize_t i = allocs_floor(t, base);

    return i >= 0 && t->v[i].base == base ? &t->v[i] : NULL;
}

bool vgpu_allocs_remove(VgpuAllocTable *t, uint64_t base, VgpuAlloc *out)
{
    ssize_t i = allocs_floor(t, base);

    if (i < 0 || t->v[i].base != base) {
        return false;
    }
    if (out) {
        *out = t->v[i];
    }
    memmove(&t->v[i], &t->v[i + 1], (t->n - (size_t)i - 1) * sizeof(*t->v));
    t->n--;
    return true;
}

/**
 * vgpu_allocs_check - is [@ptr, @ptr + @size) inside one allocation?
 *
 * A zero-length range is valid anywhere inside or at the end of an
 * allocation; ranges that wrap around are never valid.
 */
bool vgpu_allocs_check(const VgpuAllocTable *t, uint64_t ptr, uint64_t size)
{
    ssize_t i;

    if (ptr + size < ptr) {
        return false;
    }
    i = allocs_floor(t, ptr);
    if (i < 0) {
        return false;
    }
    return ptr + size <= t->v[i].base + t->v[i].size &&
           (size || ptr <= t->v[i].base + t->v[i].size);
}

void vgpu_allocs_fini(VgpuAllocTable *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ---- tenants ------------------------------------------------------------ */


/* ---- named tenants (accounts) ------------------------------------------- */

/**
 * vgpu_tenant_name_ok - whether @name may name a tenant: 1..63 printable
 * ASCII characters without blanks, '=', ',' or '#' (the config syntax)
 */
bool vgpu_tenant_name_ok(const char *name)
{
    size_t n = 0;

    for (const char *p = name; *p; p++, n++) {
        if (*p <= ' ' || *p > '~' || *p == '=' || *p == ',' || *p == '#' ||
            *p == '"' || *p == '\\') {
            return false;
        }
    }
    return n > 0 && n < 64;
}

static void acct_free(VgpuAcct *a)
{
    VgpuServer *srv = a->srv;

    for (VgpuAcct **pp = &srv->accts; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    if (srv->policy && srv->policy->tenant_remove) {
        srv->policy->tenant_remove(srv->policy_data, a);
    }
    free(a);
}

/**
 * vgpu_accts_fini - free every named tenant at shutdown (configured ones
 * outlive their clients; clients still connected keep a stale pointer,
 * which nothing reads after this)
 */
void vgpu_accts_fini(VgpuServer *srv)
{
    while (srv->accts) {
        acct_free(srv->accts);
    }
}

/* Drops one connection's reference; an unconfigured idle tenant goes. */
static void acct_put(VgpuAcct *a)
{
    if (--a->refs == 0 && !a->configured) {
        acct_free(a);
    }
}

/**
 * vgpu_acct_get - the named tenant @name, created (weight 1, no cap, no
 * quota) when @create and it does not exist yet
 *
 * Returns NULL when it does not exist (and !@create) or memory is short.
 */
VgpuAcct *vgpu_acct_get(VgpuServer *srv, const char *name, bool create)
{
    VgpuAcct *a;

    for (a = srv->accts; a; a = a->next) {
        if (!strcmp(a->name, name)) {
            return a;
        }
    }
    if (!create || !(a = calloc(1, sizeof(*a)))) {
        return NULL;
    }
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->srv = srv;
    a->weight = 1;
    a->sched_id = -1;
    a->next = srv->accts;
    srv->accts = a;
    if (srv->policy && srv->policy->tenant_add) {
        srv->policy->tenant_add(srv->policy_data, a);
    }
    return a;
}

static int parse_double(const char *v, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(v, &end);
    return errno || end == v || *end ? -1 : 0;
}

static int parse_bytes(const char *v, uint64_t *out)
{
    char *end;
    unsigned long long n;
    unsigned shift = 0;

    if (*v == '-' || *v == '+' || *v == ' ') {
        return -1;
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || end == v) {
        return -1;
    }
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    }
    if (*end || (shift && n > (UINT64_MAX >> shift))) {
        return -1;
    }
    *out = (uint64_t)n << shift;
    return 0;
}

/**
 * vgpu_acct_set - set one parameter of a named tenant, checking its range
 * @a: the tenant
 * @key: "weight" (VGPU_SCHED_WEIGHT_MIN..MAX), "cap" ((0, 1], or 0 for
 *     none), or "quota" (bytes >= 0, K/M/G/T suffixes, 0 for none)
 * @val: the value text
 * @err: receives a message for the operator when refused
 * @errlen: size of @err
 *
 * Nothing changes when refused.  Returns 0 or -EINVAL.
 */
int vgpu_acct_set(VgpuAcct *a, const char *key, const char *val,
                  char *err, size_t errlen)
{
    VgpuServer *srv = a->srv;
    double d;
    uint64_t q;

    if (!strcmp(key, "weight")) {
        double old = a->weight;

        if (parse_double(val, &d) < 0 || !(d >= VGPU_SCHED_WEIGHT_MIN) ||
            !(d <= VGPU_SCHED_WEIGHT_MAX)) {
            snprintf(err, errlen, "weight '%s' out of range: must be a number "
                     "from %g to %.0f", val, VGPU_SCHED_WEIGHT_MIN,
                     VGPU_SCHED_WEIGHT_MAX);
            return -EINVAL;
        }
        a->weight = d;
        if (srv->policy && srv->policy->tenant_update &&
            srv->policy->tenant_update(srv->policy_data, a) < 0) {
            a->weight = old;
            snprintf(err, errlen, "weight '%s' refused by the scheduler", val);
            return -EINVAL;
        }
        a->weight_set = true;
        return 0;
    }
    if (!strcmp(key, "cap")) {
        double old = a->cap;

        if (parse_double(val, &d) < 0 || !(d >= 0) || !(d <= 1)) {
            snprintf(err, errlen, "cap '%s' out of range: must be in (0, 1] "
                     "(a fraction of the GPU), or 0 for no cap", val);
            return -EINVAL;
        }
        a->cap = d;
        if (srv->policy && srv->policy->tenant_update &&
            srv->policy->tenant_update(srv->policy_data, a) < 0) {
            a->cap = old;
            snprintf(err, errlen, "cap '%s' refused by the scheduler", val);
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "quota")) {
        if (parse_bytes(val, &q) < 0) {
            snprintf(err, errlen, "quota '%s' out of range: must be a byte "
                     "count >= 0 (K, M, G, T suffixes; 0: no quota)", val);
            return -EINVAL;
        }
        /* allocations already made stay; new ones are checked against it */
        a->mem_quota = q;
        for (VgpuTenant *t = srv->tenants; t; t = t->next) {
            if (t->acct == a) {
                t->mem_quota = q;
            }
        }
        return 0;
    }
    snprintf(err, errlen, "unknown parameter '%s' (weight, cap or quota)", key);
    return -EINVAL;
}

/**
 * vgpu_acct_configure - apply "name=NAME[,weight=W][,cap=C][,quota=Q]"
 * @srv: the server
 * @spec: the text (one --tenant option or one config line)
 * @create: create the tenant when it does not exist (configuration), or
 *     refuse (vgpuctl set)
 * @err: receives a message when refused
 * @errlen: size of @err
 *
 * Every value is checked before any is applied, so a refused spec changes
 * nothing.  A configured tenant is kept while no client uses it.
 * Returns 0 or -EINVAL / -ENOENT / -ENOMEM.
 */
int vgpu_acct_configure(VgpuServer *srv, const char *spec, bool create,
                        char *err, size_t errlen)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    const char *name = NULL;
    const char *keys[8], *vals[8];
    unsigned n = 0;
    VgpuAcct *a, probe;
    int rc = 0;

    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');

        if (!eq) {
            snprintf(err, errlen, "'%s': expected key=value", tok);
            rc = -EINVAL;
            goto out;
        }
        *eq = 0;
        if (!strcmp(tok, "name")) {
            name = eq + 1;
        } else if (n < 8) {
            keys[n] = tok;
            vals[n++] = eq + 1;
        } else {
            snprintf(err, errlen, "too many parameters");
            rc = -EINVAL;
            goto out;
        }
    }
    /* a local process's own tenant ("local:pid=N") may be changed, not made */
    if (!name || !*name || (create && !vgpu_tenant_name_ok(name))) {
        snprintf(err, errlen, "missing or bad name= (1 to 63 printable "
                 "characters, no blanks, '=', ',' or '#')");
        rc = -EINVAL;
        goto out;
    }
    /* dry run on a detached copy so that a bad value changes nothing */
    memset(&probe, 0, sizeof(probe));
    probe.srv = &(VgpuServer){ 0 };
    probe.weight = 1;
    for (unsigned i = 0; i < n; i++) {
        if (vgpu_acct_set(&probe, keys[i], vals[i], err, errlen) < 0) {
            rc = -EINVAL;
            goto out;
        }
    }
    a = vgpu_acct_get(srv, name, create);
    if (!a) {
        snprintf(err, errlen, create ? "out of memory" : "no tenant '%s'",
                 name);
        rc = create ? -ENOMEM : -ENOENT;
        goto out;
    }
    if (create) {
        a->configured = true;
    }
    for (unsigned i = 0; i < n; i++) {
        if (vgpu_acct_set(a, keys[i], vals[i], err, errlen) < 0) {
            rc = -EINVAL;
            goto out;
        }
    }
out:
    free(copy);
    return rc;
}

/**
 * vgpu_acct_load_file - read tenants from @path: one
 * "name=NAME[,weight=W][,cap=C][,quota=Q]" per line (blanks around the
 * commas allowed), '#' starts a comment, empty lines are skipped
 *
 * Returns 0, or -1 after printing the file, line and reason to stderr.
 */
int vgpu_acct_load_file(VgpuServer *srv, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512], err[256];
    unsigned lineno = 0;

    if (!f) {
        fprintf(stderr, "vgpud: --config %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#'), spec[512];
        size_t n = 0;

        lineno++;
        if (hash) {
            *hash = 0;
        }
        /* "key=value key=value" and "key=value, key=value" both work */
        for (char *p = line; *p; p++) {
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                if (n && spec[n - 1] != ',') {
                    spec[n++] = ',';
                }
            } else if (*p == ',' && n && spec[n - 1] == ',') {
                continue;
            } else {
                spec[n++] = *p;
            }
        }
        while (n && spec[n - 1] == ',') {
            n--;
        }
        spec[n] = 0;
        if (!n) {
            continue;
        }
        if (vgpu_acct_configure(srv, spec, true, err, sizeof(err)) < 0) {
            fprintf(stderr, "vgpud: %s:%u: %s\n", path, lineno, err);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* Moves @t onto @a (which the caller got a fresh reference on). */
static void tenant_set_acct(VgpuTenant *t, VgpuAcct *a)
{
    VgpuAcct *old = t->acct;

    a->refs++;
    a->mem_used += t->mem_used;
    t->acct = a;
    t->mem_quota = a->mem_quota;
    t->weight_seen = 0;
    if (old) {
        old->mem_used -= t->mem_used;
        acct_put(old);
    }
    vgpu_tenant_sync_weight(t);
}

/**
 * vgpu_tenant_join - make local client @t part of the named tenant @name
 * (VGPU_CMD_HELLO): it shares that tenant's weight, cap, quota and
 * accounting from here on
 *
 * Allowed before the client created a context (nothing of it is queued
 * or allocated yet), and only for local clients: a VM is one tenant.
 * Returns 0, or a VGPU_S_* status.
 */
int vgpu_tenant_join(VgpuTenant *t, const char *name)
{
    VgpuAcct *a;

    if (!t->local || t->ctxs || t->nctx || t->mem_used) {
        return VGPU_S_NOT_PERMITTED;
    }
    if (!vgpu_tenant_name_ok(name)) {
        return VGPU_S_INVALID_VALUE;
    }
    if (t->acct && !strcmp(t->acct->name, name)) {
        return VGPU_S_OK;
    }
    a = vgpu_acct_get(t->srv, name, true);
    if (!a) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    tenant_set_acct(t, a);
    snprintf(t->name, sizeof(t->name), "%s", name);
    return VGPU_S_OK;
}

/**
 * vgpu_tenant_sync_weight - a VM's --vm weight=W becomes its tenant's
 * weight unless the operator set one (--tenant, --config, vgpuctl set)
 */
void vgpu_tenant_sync_weight(VgpuTenant *t)
{
    VgpuAcct *a = t->acct;
    VgpuServer *srv = t->srv;

    if (t->weight == t->weight_seen || !a) {
        return;
    }
    t->weight_seen = t->weight;
    if (a->weight_set || t->weight == 1 || a->weight == t->weight) {
        return;
    }
    a->weight = t->weight;
    if (srv->policy && srv->policy->tenant_update) {
        srv->policy->tenant_update(srv->policy_data, a);
    }
}

/**
 * vgpu_tenant_mem_charge - account @size bytes about to be allocated by @t
 * against its tenant's quota (shared by all the tenant's clients)
 *
 * Returns 0, or -ENOSPC (nothing charged) when it would exceed the quota.
 */
int vgpu_tenant_mem_charge(VgpuTenant *t, uint64_t size)
{
    VgpuAcct *a = t->acct;

    if (a->mem_quota &&
        (size > a->mem_quota || a->mem_used > a->mem_quota - size)) {
        a->quota_refusals++;
        return -ENOSPC;
    }
    a->mem_used += size;
    t->mem_used += size;
    return 0;
}

/* Gives back @size bytes charged by vgpu_tenant_mem_charge(). */
void vgpu_tenant_mem_uncharge(VgpuTenant *t, uint64_t size)
{
    t->acct->mem_used -= size;
    t->mem_used -= size;
}

/* The quota of @t's tenant in bytes, 0 for none. */
uint64_t vgpu_tenant_mem_quota(const VgpuTenant *t)
{
    return t->acct->mem_quota;
}

/**
 * vgpu_acct_charge - record @gpu_ns of engine time of a completed item of
 * @a at @now, for the GPU time and share figures of vgpuctl
 */
void vgpu_acct_charge(VgpuAcct *a, uint64_t gpu_ns, uint64_t now)
{
    uint64_t epoch = now / VGPU_ACCT_BUCKET_NS;
    unsigned i = (unsigned)(epoch % VGPU_ACCT_HIST);

    if (a->hist_epoch[i] != epoch) {
        a->hist_epoch[i] = epoch;
        a->hist_ns[i] = 0;
    }
    a->hist_ns[i] += gpu_ns;
    a->gpu_ns += gpu_ns;
    a->items++;
}

/**
 * vgpu_acct_recent_ns - engine time @a used in the last @buckets complete
 * 100 ms buckets before @now (10: the last second, 100: the last 10 s)
 */
uint64_t vgpu_acct_recent_ns(const VgpuAcct *a, uint64_t now, unsigned buckets)
{
    uint64_t epoch = now / VGPU_ACCT_BUCKET_NS, sum = 0;

    if (buckets > VGPU_ACCT_HIST - 1) {
        buckets = VGPU_ACCT_HIST - 1;
    }
    for (unsigned k = 1; k <= buckets && k <= epoch; k++) {
        unsigned i = (unsigned)((epoch - k) % VGPU_ACCT_HIST);

        if (a->hist_epoch[i] == epoch - k) {
            sum += a->hist_ns[i];
        }
    }
    return sum;
}

/* ---- tenants ------------------------------------------------------------ */

/**
 * vgpu_tenant_new - create a tenant (one local client or one VM)
 * @srv: the server
 * @name: shown by the admin socket
 *
 * Returns the tenant, or NULL when out of memory.
 */
VgpuTenant *vgpu_tenant_new(VgpuServer *srv, const char *name)
{
    VgpuTenant *t = calloc(1, sizeof(*t));
    VgpuAcct *a;
    uint64_t id;

    if (!t) {
        return NULL;
    }
    /* a name another tenant already uses (a VM reconnecting) is shared */
    a = vgpu_acct_get(srv, name, true);
    if (!a) {
        free(t);
        return NULL;
    }
    id = ++srv->next_tenant_id;
    t->id = id;
    t->srv = srv;
    t->weight = 1;
    snprintf(t->name, sizeof(t->name), "%s", name);
    /* tag 0 is skipped so an id is never all-zero in its tag */
    vgpu_handles_init(&t->handles, (uint16_t)(id % 0xffff + 1), 0);
    t->next = srv->tenants;
    srv->tenants = t;
    tenant_set_acct(t, a);
    return t;
}

static void tenant_free(VgpuTenant *t)
{
    VgpuServer *srv = t->srv;
    VgpuTenant **pp;

    for (pp = &srv->tenants; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    acct_put(t->acct);
    /* regions are the only tenant-level objects; contexts are gone */
    for (uint32_t i = 0; i < t->handles.n; i++) {
        VgpuHandleSlot *s = &t->handles.slots[i];

        if (s->obj && s->kind == VGPU_H_REGION) {
            VgpuRegion *r = s->obj;

            s->obj = NULL;
            vgpu_region_put(r);
        }
    }
    vgpu_handles_fini(&t->handles);
    vgpu_debug("tenant %" PRIu64 " freed", t->id);
    free(t);
}

/* Frees @t once its client is gone and its last context was destroyed. */
void vgpu_tenant_maybe_free(VgpuTenant *t)
{
    if (!t->conn && !t->ctxs && !t->tearing_down) {
        tenant_free(t);
    }
}

static void ctx_destroyed_silently(VgpuCtx *ctx, VgpuWaiter *w)
{
    (void)w;
    vgpu_ctx_free(ctx);
}

/**
 * vgpu_tenant_disconnect - the client went away
 *
 * Work not yet handed to the executor is dropped; each context is freed
 * once its in-flight work completed; the tenant follows its last context.
 */
void vgpu_tenant_disconnect(VgpuTenant *t)
{
    VgpuCtx *ctx, *next;

    t->conn = NULL;
    /* contexts freed in this loop must not free the tenant under it */
    t->tearing_down = true;
    for (ctx = t->ctxs; ctx; ctx = next) {
        next = ctx->next;
        if (!ctx->dying) {
            VgpuWaiter *w = calloc(1, sizeof(*w));

            if (!w) {
                /* cannot wait without memory: leak rather than free live */
                vgpu_error("out of memory tearing down a context");
                continue;
            }
            w->fn = ctx_destroyed_silently;
            vgpu_ctx_destroy_begin(ctx, w);
        }
        /* with no connection, queued work is cancelled, not run */
        vgpu_ctx_kick(ctx);
        vgpu_ctx_check_waiters(ctx);
    }
    t->tearing_down = false;
    vgpu_reap_streams(t->srv);
    vgpu_tenant_maybe_free(t);
}

/* ---- contexts ----------------------------------------------------------- */

/**
 * vgpu_ctx_create - create a context of tenant @t with its executor context
 *
 * Returns VGPU_S_OK with *@out set, or the executor's / an allocation error.
 */
int vgpu_ctx_create(VgpuTenant *t, VgpuCtx **out)
{
    VgpuServer *srv = t->srv;
    VgpuCtx *ctx;
    VgpuExecCtxHooks hooks;
    int st;

    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    st = vgpu_handle_alloc(&t->handles, VGPU_H_CTX, ctx, &ctx->id);
    if (st) {
        free(ctx);
        return st;
    }
    ctx->tenant = t;
    ctx->def.ctx = ctx;
    ctx->def.refs = 1;
    pthread_mutex_init(&ctx->out_lock, NULL);
    hooks.opaque = ctx;
    hooks.print = vgpu_ctx_print;
    st = srv->ops->ctx_create(srv->exec, &hooks, &ctx->ec);
    if (st) {
        vgpu_handle_free(&t->handles, ctx->id);
        pthread_mutex_destroy(&ctx->out_lock);
        free(ctx);
        return st;
    }
    ctx->next = t->ctxs;
    t->ctxs = ctx;
    t->nctx++;
    *out = ctx;
    return VGPU_S_OK;
}

/* Removes every id that names @ctx or an object of it. */
static void ctx_drop_handles(VgpuCtx *ctx)
{
    VgpuTenant *t = ctx->tenant;

    for (uint32_t i = 0; i < t->handles.n; i++) {
        VgpuHandleSlot *s = &t->handles.slots[i];
        uint64_t id;
        VgpuCtx *owner = NULL;

        if (!s->obj) {
            continue;
        }
        switch (s->kind) {
        case VGPU_H_CTX:
            owner = s->obj;
            break;
        case VGPU_H_STREAM:
            owner = ((VgpuStream *)s->obj)->ctx;
            break;
        case VGPU_H_EVENT:
            owner = ((VgpuEvent *)s->obj)->ctx;
            break;
        case VGPU_H_MODULE:
            owner = ((VgpuModule *)s->obj)->ctx;
            break;
        case VGPU_H_FUNC:
            owner = ((VgpuFunc *)s->obj)->module->ctx;
            break;
        default:
            break;
        }
        if (owner != ctx) {
            continue;
        }
        id = ((uint64_t)s->kind << H_KIND_SHIFT) |
             ((uint64_t)t->handles.tag << H_TAG_SHIFT) |
             ((uint64_t)s->gen << H_GEN_SHIFT) | i;
        if (s->kind == VGPU_H_EVENT) {
            VgpuEvent *e = s->obj;

            vgpu_handle_free(&t->handles, id);
            vgpu_event_put(e);
        } else if (s->kind == VGPU_H_STREAM) {
            VgpuStream *st = s->obj;

            vgpu_handle_free(&t->handles, id);
            st->destroyed = true;
            vgpu_stream_put(st);
        } else {
            vgpu_handle_free(&t->handles, id);
        }
    }
}

/**
 * vgpu_ctx_destroy_begin - stop accepting work for @ctx and free it once
 * its outstanding work completed; @w (CTX_IDLE) runs then and must end in
 * vgpu_ctx_free().
 */
void vgpu_ctx_destroy_begin(VgpuCtx *ctx, VgpuWaiter *w)
{
    const VgpuExecOps *ops = ctx->tenant->srv->ops;

    ctx->dying = true;
    ctx_drop_handles(ctx);
    if (ctx->outstanding && ctx->ec && ops->ctx_cancel) {
        ops->ctx_cancel(ctx->ec);
    }
    w->kind = VGPU_WAIT_CTX_IDLE;
    w->frees_ctx = true;
    vgpu_ctx_add_waiter(ctx, w);
}

/**
 * vgpu_ctx_free - free an idle context and everything it owns
 *
 * Context: ctx->outstanding == 0; the executor context is destroyed here.
 */
void vgpu_ctx_free(VgpuCtx *ctx)
{
    VgpuTenant *t = ctx->tenant;
    VgpuServer *srv = t->srv;
    VgpuCtx **pp;

    if (!ctx->dying) {
        ctx->dying = true;
        ctx_drop_handles(ctx);
    }
    /* remaining waiters (other than the running one) are dropped */
    while (ctx->waiters) {
        VgpuWaiter *w = ctx->waiters;

        ctx->waiters = w->next;
        srv->nwaiters--;
        if (w->stream) {
            vgpu_stream_put(w->stream);
        }
        free(w);
    }
    /* dead streams need their executor context */
    vgpu_reap_streams(srv);
    while (ctx->modules) {
        VgpuModule *m = ctx->modules;

        ctx->modules = m->next;
        vgpu_module_free(m);
    }
    /* streams still linked are destroyed ones waiting on references */
    while (ctx->streams) {
        VgpuStream *s = ctx->streams;

        ctx->streams = s->next;
        if (s->es) {
            srv->ops->stream_destroy(s->es);
        }
        free(s);
    }
    for (size_t i = 0; i < ctx->allocs.n; i++) {
        if (!ctx->allocs.v[i].global) {
            srv->ops->mem_free(ctx->ec, ctx->allocs.v[i].base);
            vgpu_tenant_mem_uncharge(t, ctx->allocs.v[i].size);
            t->nallocs--;
        }
    }
    vgpu_allocs_fini(&ctx->allocs);
    srv->ops->ctx_destroy(ctx->ec);
    for (pp = &t->ctxs; *pp; pp = &(*pp)->next) {
        if (*pp == ctx) {
            *pp = ctx->next;
            break;
        }
    }
    t->nctx--;
    pthread_mutex_destroy(&ctx->out_lock);
    free(ctx->out);
    free(ctx);
    vgpu_tenant_maybe_free(t);
}

/**
 * vgpu_ctx_print - executor hook: kernel printf text of @opaque's context
 *
 * Context: any thread.  Text beyond VGPU_OUTPUT_MAX unread bytes is dropped,
 * like a full device printf FIFO.
 */
void vgpu_ctx_print(void *opaque, const char *text, size_t len)
{
    VgpuCtx *ctx = opaque;

    pthread_mutex_lock(&ctx->out_lock);
    if (ctx->out_len + len > VGPU_OUTPUT_MAX) {
        ctx->out_dropped = true;
        len = VGPU_OUTPUT_MAX - ctx->out_len;
    }
    if (len) {
        char *n = realloc(ctx->out, ctx->out_len + len);

        if (n) {
            memcpy(n + ctx->out_len, text, len);
            ctx->out = n;
            ctx->out_len += len;
        }
    }
    pthread_mutex_unlock(&ctx->out_lock);
}

/* ---- streams, events, modules, regions ---------------------------------- */

/**
 * vgpu_stream_new - create a stream of @ctx (executor stream included)
 * @status: out, the reason when NULL is returned
 */
VgpuStream *vgpu_stream_new(VgpuCtx *ctx, uint32_t flags, int32_t prio,
                            int *status)
{
    VgpuServer *srv = ctx->tenant->srv;
    VgpuStream *s = calloc(1, sizeof(*s));
    int st;

    if (!s) {
        *status = VGPU_S_OUT_OF_MEMORY;
        return NULL;
    }
    st = vgpu_handle_alloc(&ctx->tenant->handles, VGPU_H_STREAM, s, &s->id);
    if (st) {
        free(s);
        *status = st;
        return NULL;
    }
    st = srv->ops->stream_create(ctx->ec, &s->es);
    if (st) {
        vgpu_handle_free(&ctx->tenant->handles, s->id);
        free(s);
        *status = st;
        return NULL;
    }
    s->ctx = ctx;
    s->flags = flags;
    s->priority = prio;
    s->refs = 1;
    s->next = ctx->streams;
    ctx->streams = s;
    *status = VGPU_S_OK;
    return s;
}

/*
 * Drops one reference.  Work items hold one each, so a stream is freed
 * once its handle is gone and its work completed; the default stream lives
 * with its context.
 */
void vgpu_stream_put(VgpuStream *s)
{
    VgpuCtx *ctx = s->ctx;
    VgpuServer *srv = ctx->tenant->srv;
    VgpuStream **pp;

    if (--s->refs > 0 || s == &ctx->def) {
        return;
    }
    for (pp = &ctx->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    /*
     * Freed later by vgpu_reap_streams(): callers walking a context's
     * streams may hold this one (its next pointer stays valid until then).
     */
    s->dead_next = srv->dead_streams;
    srv->dead_streams = s;
}

/**
 * vgpu_reap_streams - free streams whose last reference went
 *
 * Context: loop thread, at a point where no stream pointer is held.
 */
void vgpu_reap_streams(VgpuServer *srv)
{
    while (srv->dead_streams) {
        VgpuStream *s = srv->dead_streams;

        srv->dead_streams = s->dead_next;
        if (s->es) {
            srv->ops->stream_destroy(s->es);
        }
        free(s);
    }
}

void vgpu_event_put(VgpuEvent *e)
{
    if (--e->refs > 0) {
        return;
    }
    if (e->rec_stream) {
        vgpu_stream_put(e->rec_stream);
    }
    free(e);
}

void vgpu_region_put(VgpuRegion *r)
{
    if (--r->refs > 0) {
        return;
    }
    if (r->pinned_by) {
        r->pinned_by->ops->host_unregister(r->pinned_by->exec, r->base);
    }
    munmap(r->base, r->size);
    free(r);
}

/* Frees a module, its functions and its globals' range entries. */
void vgpu_module_free(VgpuModule *m)
{
    VgpuCtx *ctx = m->ctx;
    VgpuServer *srv = ctx->tenant->srv;

    while (m->funcs) {
        VgpuFunc *f = m->funcs;

        m->funcs = f->next;
        free(f->params);
        free(f->name);
        free(f);
    }
    for (size_t i = 0; i < ctx->allocs.n;) {
        if (ctx->allocs.v[i].global && ctx->allocs.v[i].module == m) {
            vgpu_allocs_remove(&ctx->allocs, ctx->allocs.v[i].base, NULL);
        } else {
            i++;
        }
    }
    srv->ops->module_unload(m->em);
    free(m);
}

void vgpu_ctx_unlink_module(VgpuCtx *ctx, VgpuModule *m)
{
    VgpuModule **pp;

    for (pp = &ctx->modules; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            return;
        }
    }
}
