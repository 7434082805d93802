/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin.c - vgpud's admin socket: one text command per line in, one line of
 * JSON per command out.  vgpuctl is its client.
 *
 * Commands: "list" (tenants with their settings, shares, memory, queues,
 * errors, clients and contexts) and "set NAME key=value ..." (weight, cap,
 * quota of a tenant; out-of-range values are refused and change nothing).
 * Anything else is answered with {"error": "..."}.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"

#define ADMIN_LINE_MAX 4096

typedef struct AdminConn AdminConn;

struct AdminConn {
    VgpuPollKind kind;      /* epoll tag: first member */
    int fd;
    char in[ADMIN_LINE_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    AdminConn *next;
};

typedef struct VgpuAdmin {
    VgpuPollKind kind;      /* epoll tag: first member */
    int lfd;
    char *path;
    AdminConn *conns;
} VgpuAdmin;

/* A growable string for building JSON. */
typedef struct Buf {
    char *p;
    size_t len, cap;
    bool oom;
} Buf;

static void buf_printf(Buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = b->cap - b->len;

        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        while (ncap < b->len + (size_t)n + 1) {
            ncap *= 2;
        }
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void buf_json_string(Buf *b, const char *s)
{
    buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\') {
            buf_printf(b, "\\%c", ch);
        } else if (ch < 0x20) {
            buf_printf(b, "\\u%04x", ch);
        } else {
            buf_printf(b, "%c", ch);
        }
    }
    buf_printf(b, "\"");
}

/* Engine time of all tenants over the last @buckets 100 ms buckets. */
static uint64_t total_recent_ns(VgpuServer *srv, uint64_t now, unsigned buckets)
{
    uint64_t sum = 0;

    for (VgpuAcct *a = srv->accts; a; a = a->next) {
        sum += vgpu_acct_recent_ns(a, now, buckets);
    }
    return sum;
}

/**
 * vgpu_acct_figures - what "list" reports of named tenant @a beyond its own
 * fields, summed over its clients; VGPU_CMD_TENANT_INFO reports the same,
 * so that a VM's view and the operator's cannot disagree
 * @now: vgpu_now_ns() of the report, for the 1 s and 10 s windows
 */
void vgpu_acct_figures(VgpuServer *srv, const VgpuAcct *a, uint64_t now,
                       VgpuAcctFigures *f)
{
    uint64_t r1 = vgpu_acct_recent_ns(a, now, 10);
    uint64_t r10 = vgpu_acct_recent_ns(a, now, 100);
    uint64_t all1 = total_recent_ns(srv, now, 10);
    uint64_t all10 = total_recent_ns(srv, now, 100);
    VgpuSchedTenantStats st;

    memset(f, 0, sizeof(*f));
    for (VgpuTenant *t = srv->tenants; t; t = t->next) {
        if (t->acct == a) {
            f->contexts += t->nctx;
            f->allocations += t->nallocs;
            f->queued += t->outstanding;
            f->requests += t->requests;
            f->clients += t->conn != NULL;
        }
    }
    if (srv->policy && srv->policy->tenant_stats &&
        srv->policy->tenant_stats(srv->policy_data, (VgpuAcct *)a, &st)) {
        for (int c = 0; c < VGPU_SCHED_NR_CLASSES; c++) {
            f->sched_queued += st.queued[c];
        }
    }
    f->share_1s = all1 ? (double)r1 / (double)all1 : 0.0;
    f->share_10s = all10 ? (double)r10 / (double)all10 : 0.0;
    f->busy_1s = (double)r1 / 1e9;
    f->busy_10s = (double)r10 / 1e10;
}

/**
 * vgpu_admin_list_json - the "list" reply: one JSON object, no newline
 *
 * One entry per named tenant (a VM, a VGPU_TENANT name, or a local process
 * of its own): its settings, its share of the engine time all tenants used
 * over the last 1 s and 10 s (share_*) and its engine time per second of
 * wall time (busy_*), memory, queue depth and errors, then its clients and
 * their contexts.  Returns a malloc'ed string, or NULL when out of memory.
 */
char *vgpu_admin_list_json(VgpuServer *srv)
{
    Buf b = { 0 };
    bool first = true;
    uint64_t now = vgpu_now_ns();

    buf_printf(&b, "{\"backend\":");
    buf_json_string(&b, srv->ops->name);
    buf_printf(&b, ",\"policy\":");
    buf_json_string(&b, srv->policy->name);
    /* guest RAM of vhost-user VMs the executor pinned (host_register) */
    buf_printf(&b, ",\"inflight\":%" PRIu64 ",\"vm_pinned\":%" PRIu64
               ",\"vm_pinned_bytes\":%" PRIu64 ",\"tenants\":[",
               srv->inflight, srv->vm_pinned, srv->vm_pinned_bytes);
    for (VgpuAcct *a = srv->accts; a; a = a->next) {
        VgpuAcctFigures f;
        bool cfirst = true;

        vgpu_acct_figures(srv, a, now, &f);
        buf_printf(&b, "%s{\"name\":", first ? "" : ",");
        buf_json_string(&b, a->name);
        buf_printf(&b, ",\"connected\":%s,\"clients\":%u,\"configured\":%s,"
                   "\"weight\":%g,\"cap\":%g,"
                   "\"share_1s\":%.4f,\"share_10s\":%.4f,"
                   "\"busy_1s\":%.4f,\"busy_10s\":%.4f,"
                   "\"gpu_ns\":%" PRIu64 ",\"items\":%" PRIu64
                   ",\"contexts\":%u,\"mem_used\":%" PRIu64
                   ",\"mem_quota\":%" PRIu64 ",\"allocations\":%" PRIu64
                   ",\"queued\":%" PRIu64 ",\"sched_queued\":%u"
                   ",\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
                   ",\"quota_refusals\":%" PRIu64 ",\"conns\":[",
                   f.clients ? "true" : "false", f.clients,
                   a->configured ? "true" : "false", a->weight, a->cap,
                   f.share_1s, f.share_10s, f.busy_1s, f.busy_10s,
                   a->gpu_ns, a->items, f.contexts, a->mem_used,
                   a->mem_quota, f.allocations, f.queued, f.sched_queued,
                   f.requests, a->errors, a->quota_refusals);
        for (VgpuTenant *t = srv->tenants; t; t = t->next) {
            if (t->acct != a) {
                continue;
            }
            buf_printf(&b, "%s{\"id\":%" PRIu64 ",\"name\":",
                       cfirst ? "" : ",", t->id);
            buf_json_string(&b, t->name);
            buf_printf(&b, ",\"connected\":%s,\"ctx\":[",
                       t->conn ? "true" : "false");
            cfirst = false;
            for (VgpuCtx *c = t->ctxs; c; c = c->next) {
                buf_printf(&b, "%s{\"id\":\"0x%" PRIx64 "\",\"queued\":%"
                           PRIu64 ",\"allocations\":%zu,\"sticky\":%d,"
                           "\"deferred\":%d,\"dying\":%s}",
                           c == t->ctxs ? "" : ",", c->id, c->outstanding,
                           c->allocs.n, c->sticky, c->deferred,
                           c->dying ? "true" : "false");
            }
            buf_printf(&b, "]}");
        }
        buf_printf(&b, "]}");
        first = false;
    }
    buf_printf(&b, "]}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void admin_conn_close(VgpuServer *srv, AdminConn *ac)
{
    VgpuAdmin *a = srv->admin;
    AdminConn **pp;

    for (pp = &a->conns; *pp; pp = &(*pp)->next) {
        if (*pp == ac) {
            *pp = ac->next;
            break;
        }
    }
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, ac->fd, NULL);
    close(ac->fd);
    free(ac->out);
    free(ac);
}

static void admin_queue(AdminConn *ac, const char *s)
{
    size_t n = strlen(s);
    char *np = realloc(ac->out, ac->out_len + n + 1);

    if (!np) {
        return;
    }
    ac->out = np;
    memcpy(ac->out + ac->out_len, s, n);
    ac->out[ac->out_len + n] = '\n';
    ac->out_len += n + 1;
}

/* "set NAME key=value [key=value ...]": all values checked before any applies. */
static void admin_set(VgpuServer *srv, AdminConn *ac, char *args)
{
    char spec[ADMIN_LINE_MAX + 8], err[256];
    char *save = NULL, *tok, *name;
    size_t n;
    Buf b = { 0 };

    name = strtok_r(args, " ", &save);
    if (!name) {
        admin_queue(ac, "{\"error\":\"usage: set NAME key=value ...\"}");
        return;
    }
    n = (size_t)snprintf(spec, sizeof(spec), "name=%s", name);
    while ((tok = strtok_r(NULL, " ", &save)) && n < sizeof(spec)) {
        if (!strncmp(tok, "name=", 5)) {
            admin_queue(ac, "{\"error\":\"a tenant cannot be renamed\"}");
            return;
        }
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",%s", tok);
    }
    if (n >= sizeof(spec) || !strchr(spec + 5, '=')) {
        admin_queue(ac, "{\"error\":\"usage: set NAME key=value ...\"}");
        return;
    }
    if (vgpu_acct_configure(srv, spec, false, err, sizeof(err)) < 0) {
        VGPU_LOG_RL(VGPU_LOG_WARN, "admin: set %s refused: %s", name, err);
        buf_printf(&b, "{\"error\":");
        buf_json_string(&b, err);
        buf_printf(&b, "}");
    } else {
        vgpu_info("admin: set %s", spec);
        buf_printf(&b, "{\"ok\":true}");
        /* a new weight or cap may let held work go now */
        vgpu_runq_pump(srv);
    }
    admin_queue(ac, b.oom || !b.p ? "{\"error\":\"out of memory\"}" : b.p);
    free(b.p);
}

static void admin_command(VgpuServer *srv, AdminConn *ac, char *line)
{
    char *end = line + strlen(line);

    while (end > line && (end[-1] == ' ' || end[-1] == '\r')) {
        *--end = '\0';
    }
    while (*line == ' ') {
        line++;
    }
    if (!strcmp(line, "list")) {
        char *js = vgpu_admin_list_json(srv);

        admin_queue(ac, js ? js : "{\"error\":\"out of memory\"}");
        free(js);
    } else if (!strncmp(line, "set ", 4)) {
        admin_set(srv, ac, line + 4);
    } else if (!*line) {
        return;
    } else {
        admin_queue(ac, "{\"error\":\"unknown command\"}");
    }
}

/* False: close. */
static bool admin_flush(VgpuServer *srv, AdminConn *ac)
{
    struct epoll_event e = { .data.ptr = ac };

    while (ac->out_off < ac->out_len) {
        ssize_t n = send(ac->fd, ac->out + ac->out_off,
                         ac->out_len - ac->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN) {
                break;
            }
            return false;
        }
        ac->out_off += (size_t)n;
    }
    if (ac->out_off == ac->out_len) {
        ac->out_off = ac->out_len = 0;
        e.events = EPOLLIN;
    } else {
        e.events = EPOLLIN | EPOLLOUT;
    }
    epoll_ctl(srv->epfd, EPOLL_CTL_MOD, ac->fd, &e);
    return true;
}

static bool admin_read(VgpuServer *srv, AdminConn *ac)
{
    for (;;) {
        ssize_t n = recv(ac->fd, ac->in + ac->in_len,
                         sizeof(ac->in) - ac->in_len - 1, MSG_DONTWAIT);
        char *nl, *start;

        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        if (n == 0) {
            return false;
        }
        ac->in_len += (size_t)n;
        ac->in[ac->in_len] = '\0';
        start = ac->in;
        while ((nl = strchr(start, '\n'))) {
            *nl = '\0';
            admin_command(srv, ac, start);
            start = nl + 1;
        }
        ac->in_len -= (size_t)(start - ac->in);
        memmove(ac->in, start, ac->in_len);
        if (ac->in_len == sizeof(ac->in) - 1) {
            return false;       /* a line longer than any command */
        }
    }
}

/**
 * vgpu_admin_event - epoll reported @events on an admin socket object
 */
void vgpu_admin_event(VgpuServer *srv, void *tag, uint32_t events)
{
    VgpuAdmin *a = srv->admin;
    AdminConn *ac;

    if (*(VgpuPollKind *)tag == VGPU_POLL_ADMIN_LISTEN) {
        for (;;) {
            int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            struct epoll_event e = { .events = EPOLLIN };

            if (fd < 0) {
                return;
            }
            ac = calloc(1, sizeof(*ac));
            if (!ac) {
                close(fd);
                continue;
            }
            ac->kind = VGPU_POLL_ADMIN_CONN;
            ac->fd = fd;
            e.data.ptr = ac;
            if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
                close(fd);
                free(ac);
                continue;
            }
            ac->next = a->conns;
            a->conns = ac;
        }
    }
    ac = tag;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !admin_read(srv, ac)) {
        admin_flush(srv, ac);
        admin_conn_close(srv, ac);
        return;
    }
    if (!admin_flush(srv, ac)) {
        admin_conn_close(srv, ac);
    }
}

/**
 * vgpu_admin_open - listen for admin clients on @path; returns 0 or -errno
 */
int vgpu_admin_open(VgpuServer *srv, const char *path)
{
    VgpuAdmin *a = calloc(1, sizeof(*a));
    struct epoll_event e = { .events = EPOLLIN };

    if (!a) {
        return -ENOMEM;
    }
    a->kind = VGPU_POLL_ADMIN_LISTEN;
    a->lfd = vgpu_unix_listen(path);
    if (a->lfd < 0) {
        int r = a->lfd;

        free(a);
        return r;
    }
    a->path = strdup(path);
    e.data.ptr = a;
    srv->admin = a;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, a->lfd, &e) < 0) {
        return -errno;
    }
    return 0;
}

void vgpu_admin_close(VgpuServer *srv)
{
    VgpuAdmin *a = srv->admin;

    if (!a) {
        return;
    }
    while (a->conns) {
        admin_conn_close(srv, a->conns);
    }
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, a->lfd, NULL);
    close(a->lfd);
    if (a->path) {
        unlink(a->path);
        free(a->path);
    }
    free(a);
    srv->admin = NULL;
}
