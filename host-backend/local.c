/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * local.c - the local transport: a SOCK_STREAM UNIX socket, one tenant per
 * connection.  Reads are framed here (hdr.len), file descriptors arrive as
 * SCM_RIGHTS, and replies go through a per-connection output buffer so a
 * slow client never blocks the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vgpud.h"

#define IN_INITIAL (256u << 10)
#define IN_SHRINK (4u << 20)
#define READ_BUDGET (4u << 20)      /* bytes per wakeup per client */
#define OUT_HIGH (16u << 20)        /* stop reading above this backlog */
#define MAX_FDS 16                  /* received, not yet claimed */
/*
 * Backpressure: a client with this many items queued or running is not
 * read until it is down to the low mark, which bounds the memory one
 * tenant's queues take and keeps work items on the freelist.
 */
#define OUTSTANDING_HIGH 8192
#define OUTSTANDING_LOW 4096

typedef struct LocalConn LocalConn;

struct LocalConn {
    VgpuPollKind kind;          /* epoll tag: first member */
    VgpuConn base;
    VgpuServer *srv;
    int fd;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    int fds[MAX_FDS];
    unsigned nfds;
    uint32_t events;            /* registered with epoll */
    bool dirty, dead;
    bool paused;                /* backpressure: input not processed */
    LocalConn *dirty_next;
    LocalConn *prev, *next;
};

typedef struct VgpuLocal {
    VgpuPollKind kind;          /* epoll tag: first member */
    int lfd;
    char *path;                 /* unlinked at exit; NULL with --fd */
    LocalConn *conns;
    LocalConn *dirty;
} VgpuLocal;

static const VgpuConnOps local_ops;

static LocalConn *to_local(VgpuConn *c)
{
    return container_of(c, LocalConn, base);
}

static void conn_set_events(LocalConn *lc, uint32_t ev)
{
    struct epoll_event e = { .events = ev, .data.ptr = lc };

    if (ev != lc->events && epoll_ctl(lc->srv->epfd, EPOLL_CTL_MOD, lc->fd,
                                      &e) == 0) {
        lc->events = ev;
    }
}

static void conn_close(LocalConn *lc)
{
    VgpuServer *srv = lc->srv;
    VgpuLocal *l = srv->local;
    VgpuTenant *t = lc->base.tenant;

    if (lc->paused) {
        srv->npaused--;
    }
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, lc->fd, NULL);
    close(lc->fd);
    for (unsigned i = 0; i < lc->nfds; i++) {
        close(lc->fds[i]);
    }
    if (lc->prev) {
        lc->prev->next = lc->next;
    } else {
        l->conns = lc->next;
    }
    if (lc->next) {
        lc->next->prev = lc->prev;
    }
    if (lc->dirty) {
        LocalConn **pp = &l->dirty;

        while (*pp && *pp != lc) {
            pp = &(*pp)->dirty_next;
        }
        if (*pp) {
            *pp = lc->dirty_next;
        }
    }
    vgpu_info("client %s disconnected", t->name);
    free(lc->in);
    free(lc->out);
    free(lc);
    /* contexts go once their in-flight work completed */
    vgpu_tenant_disconnect(t);
}

static int conn_add(VgpuServer *srv, int fd)
{
    VgpuLocal *l = srv->local;
    LocalConn *lc = calloc(1, sizeof(*lc));
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    char name[64];

    if (!lc) {
        close(fd);
        return -ENOMEM;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
        snprintf(name, sizeof(name), "local:pid=%d", (int)cred.pid);
    } else {
        snprintf(name, sizeof(name), "local:fd=%d", fd);
    }
    lc->kind = VGPU_POLL_LOCAL_CONN;
    lc->srv = srv;
    lc->fd = fd;
    lc->base.ops = &local_ops;
    lc->in_cap = IN_INITIAL;
    lc->in = malloc(lc->in_cap);
    lc->base.tenant = vgpu_tenant_new(srv, name);
    if (!lc->in || !lc->base.tenant) {
        if (lc->base.tenant) {
            vgpu_tenant_maybe_free(lc->base.tenant);
        }
        free(lc->in);
        free(lc);
        close(fd);
        return -ENOMEM;
    }
    lc->base.tenant->conn = &lc->base;
    lc->base.tenant->local = true;      /* may join a named tenant (HELLO) */
    e.data.ptr = lc;
    lc->events = EPOLLIN;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        int err = errno;

        lc->base.tenant->conn = NULL;
        vgpu_tenant_maybe_free(lc->base.tenant);
        free(lc->in);
        free(lc);
        close(fd);
        return -err;
    }
    lc->next = l->conns;
    if (l->conns) {
        l->conns->prev = lc;
    }
    l->conns = lc;
    vgpu_info("client %s connected (tenant %llu)", name,
              (unsigned long long)lc->base.tenant->id);
    return 0;
}

/* ---- transport operations ----------------------------------------------- */

static int local_take_fd(VgpuConn *c)
{
    LocalConn *lc = to_local(c);
    int fd;

    if (!lc->nfds) {
        return -1;
    }
    fd = lc->fds[0];
    memmove(&lc->fds[0], &lc->fds[1], (lc->nfds - 1) * sizeof(int));
    lc->nfds--;
    return fd;
}

static bool out_reserve(LocalConn *lc, size_t more)
{
    size_t need;

    if (lc->out_off && lc->out_off == lc->out_len) {
        lc->out_off = lc->out_len = 0;
    }
    need = lc->out_len + more;
    if (need <= lc->out_cap) {
        return true;
    }
    if (lc->out_off) {
        memmove(lc->out, lc->out + lc->out_off, lc->out_len - lc->out_off);
        lc->out_len -= lc->out_off;
        lc->out_off = 0;
        need = lc->out_len + more;
        if (need <= lc->out_cap) {
            return true;
        }
    }
    size_t ncap = lc->out_cap ? lc->out_cap : 64 * 1024;
    while (ncap < need) {
        ncap *= 2;
    }
    uint8_t *n = realloc(lc->out, ncap);
    if (!n) {
        return false;
    }
    lc->out = n;
    lc->out_cap = ncap;
    return true;
}

static void local_reply(VgpuConn *c, const void *msg, size_t len,
                        const void *data, size_t dlen)
{
    LocalConn *lc = to_local(c);
    VgpuLocal *l = lc->srv->local;

    if (lc->dead) {
        return;
    }
    if (!out_reserve(lc, len + dlen)) {
        /* cannot keep the reply stream intact: drop the client */
        vgpu_error("out of memory queueing a reply; closing %s",
                   c->tenant->name);
        lc->dead = true;
    } else {
        memcpy(lc->out + lc->out_len, msg, len);
        if (dlen) {
            memcpy(lc->out + lc->out_len + len, data, dlen);
        }
        lc->out_len += len + dlen;
    }
    if (!lc->dirty) {
        lc->dirty = true;
        lc->dirty_next = l->dirty;
        l->dirty = lc;
    }
}

static const VgpuConnOps local_ops = {
    .map_sg = NULL,             /* guest-physical tables need vhost-user */
    .take_fd = local_take_fd,
    .reply = local_reply,
};

/* ---- reading ------------------------------------------------------------ */

/* Frames and handles every complete request in the input buffer. */
static void conn_process(LocalConn *lc)
{
    size_t off = 0;

    while (!lc->dead && lc->in_len - off >= sizeof(struct vgpu_req_hdr)) {
        const uint8_t *p = lc->in + off;
        uint32_t len;

        if (lc->base.tenant->outstanding >= OUTSTANDING_HIGH) {
            if (!lc->paused) {
                lc->paused = true;
                lc->srv->npaused++;
            }
            break;
        }
        memcpy(&len, p + offsetof(struct vgpu_req_hdr, len), sizeof(len));
        if (len < sizeof(struct vgpu_req_hdr) || len > VGPU_MAX_REQ_SIZE) {
            uint64_t seq;

            /* the next request cannot be found: answer, then hang up */
            memcpy(&seq, p + offsetof(struct vgpu_req_hdr, seq), sizeof(seq));
            VGPU_LOG_RL(VGPU_LOG_WARN, "client %s: bad request length %u",
                        lc->base.tenant->name, len);
            vgpu_reply_status(&lc->base, NULL, seq, VGPU_S_INVALID_VALUE);
            lc->dead = true;
            break;
        }
        if (lc->in_len - off < len) {
            if (len > lc->in_cap) {
                /* grow once to the whole request (bounded above) */
                uint8_t *n;

                if (off) {
                    memmove(lc->in, lc->in + off, lc->in_len - off);
                    lc->in_len -= off;
                    off = 0;
                }
                n = realloc(lc->in, len);
                if (!n) {
                    vgpu_error("out of memory for a %u-byte request", len);
                    lc->dead = true;
                    break;
                }
                lc->in = n;
                lc->in_cap = len;
            }
            break;
        }
        vgpu_handle_request(&lc->base, p, len);
        off += len;
    }
    if (off) {
        memmove(lc->in, lc->in + off, lc->in_len - off);
        lc->in_len -= off;
    }
    /*
     * Give a large buffer back only when no request is part-way in: once a
     * header is here, the buffer was grown to that request's length and
     * must stay so until the request is complete.
     */
    if (lc->in_cap > IN_SHRINK && lc->in_len < sizeof(struct vgpu_req_hdr)) {
        uint8_t *n = realloc(lc->in, IN_INITIAL);

        if (n) {
            lc->in = n;
            lc->in_cap = IN_INITIAL;
        }
    }
}

/* Reads what is there (up to a budget); false: close the connection. */
static bool conn_read(LocalConn *lc)
{
    size_t budget = READ_BUDGET;

    while (budget) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        } cbuf;
        struct iovec iov;
        struct msghdr mh = { 0 };
        struct cmsghdr *cm;
        ssize_t n;

        if (lc->in_len == lc->in_cap) {
            /* a complete request is always processed: cannot happen */
            vgpu_error("client %s: input buffer full (%zu bytes), closing",
                       lc->base.tenant->name, lc->in_cap);
            return false;
        }
        iov.iov_base = lc->in + lc->in_len;
        iov.iov_len = lc->in_cap - lc->in_len;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        n = recvmsg(lc->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return true;
            }
            return false;
        }
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                size_t cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int fds[MAX_FDS];

                memcpy(fds, CMSG_DATA(cm), cnt * sizeof(int));
                for (size_t i = 0; i < cnt; i++) {
                    if (lc->nfds < MAX_FDS) {
                        lc->fds[lc->nfds++] = fds[i];
                    } else {
                        close(fds[i]);
                        lc->dead = true;
                    }
                }
            }
        }
        if (mh.msg_flags & MSG_CTRUNC) {
            VGPU_LOG_RL(VGPU_LOG_WARN, "client %s: too many descriptors",
                        lc->base.tenant->name);
            return false;
        }
        if (lc->dead) {
            return false;
        }
        if (n == 0) {
            return false;
        }
        lc->in_len += (size_t)n;
        budget -= (size_t)n < budget ? (size_t)n : budget;
        conn_process(lc);
        if (lc->dead) {
            return false;
        }
        if (lc->paused) {
            conn_set_events(lc, lc->out_len > lc->out_off ? EPOLLOUT : 0);
            return true;
        }
        if (lc->out_len - lc->out_off > OUT_HIGH) {
            /* the client does not read its replies: stop reading it */
            conn_set_events(lc, EPOLLOUT);
            return true;
        }
        if ((size_t)n < iov.iov_len) {
            return true;
        }
    }
    return true;
}

/* Writes queued replies; false: the client is gone. */
static bool conn_write(LocalConn *lc)
{
    while (lc->out_off < lc->out_len) {
        ssize_t n = send(lc->fd, lc->out + lc->out_off,
                         lc->out_len - lc->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        lc->out_off += (size_t)n;
    }
    if (lc->out_off == lc->out_len) {
        lc->out_off = lc->out_len = 0;
        if (lc->out_cap > IN_SHRINK) {
            free(lc->out);
            lc->out = NULL;
            lc->out_cap = 0;
        }
        conn_set_events(lc, lc->paused ? 0 : EPOLLIN);
    } else {
        conn_set_events(lc, lc->out_len - lc->out_off > OUT_HIGH || lc->paused
                            ? EPOLLOUT : EPOLLIN | EPOLLOUT);
    }
    return true;
}

static void local_accept(VgpuServer *srv)
{
    VgpuLocal *l = srv->local;

    for (;;) {
        int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                VGPU_LOG_RL(VGPU_LOG_WARN, "accept: %s", strerror(errno));
            }
            return;
        }
        if (conn_add(srv, fd) < 0) {
            VGPU_LOG_RL(VGPU_LOG_WARN, "cannot serve a new client");
        }
    }
}

/**
 * vgpu_local_event - epoll reported @events on @tag (listener or client)
 */
void vgpu_local_event(VgpuServer *srv, void *tag, uint32_t events)
{
    LocalConn *lc;

    if (*(VgpuPollKind *)tag == VGPU_POLL_LOCAL_LISTEN) {
        local_accept(srv);
        return;
    }
    lc = tag;
    if (events & EPOLLOUT) {
        if (!conn_write(lc)) {
            conn_close(lc);
            return;
        }
    }
    if (lc->paused && (events & (EPOLLHUP | EPOLLERR))) {
        /* gone while held back; epoll would report it on every wait */
        conn_close(lc);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if ((lc->events & EPOLLIN) || (events & (EPOLLHUP | EPOLLERR))) {
            if (!conn_read(lc)) {
                /* answer what can still be answered, then hang up */
                conn_write(lc);
                conn_close(lc);
                return;
            }
        }
    }
}

/**
 * vgpu_local_flush - write the replies queued during this loop iteration
 */
void vgpu_local_flush(VgpuServer *srv)
{
    VgpuLocal *l = srv->local;

    if (!l) {
        return;
    }
    if (srv->npaused) {
        for (LocalConn *lc = l->conns; lc; lc = lc->next) {
            if (lc->paused &&
                lc->base.tenant->outstanding <= OUTSTANDING_LOW) {
                lc->paused = false;
                srv->npaused--;
                conn_process(lc);
                if (!lc->paused) {
                    conn_set_events(lc, lc->out_len > lc->out_off
                                        ? EPOLLIN | EPOLLOUT : EPOLLIN);
                }
                if (!lc->dirty) {
                    lc->dirty = true;
                    lc->dirty_next = l->dirty;
                    l->dirty = lc;
                }
            }
        }
    }
    while (l->dirty) {
        LocalConn *lc = l->dirty;

        l->dirty = lc->dirty_next;
        lc->dirty = false;
        if (!conn_write(lc) || lc->dead) {
            conn_close(lc);
        }
    }
}

/* Creates the socket's directory (one level is enough for /run/vgpud). */
static int make_parent_dir(const char *path)
{
    char *dup = strdup(path);
    char *dir;
    int r = 0;

    if (!dup) {
        return -ENOMEM;
    }
    dir = dirname(dup);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        r = -errno;
    }
    free(dup);
    return r;
}

/**
 * vgpu_unix_listen - bind and listen on @path, replacing a stale socket
 * but refusing to steal one a live daemon listens on
 *
 * Returns the listening fd or -errno.
 */
int vgpu_unix_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, r;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    r = make_parent_dir(path);
    if (r < 0) {
        return r;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int probe;

        if (errno != EADDRINUSE) {
            r = -errno;
            close(fd);
            return r;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 &&
            connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            close(fd);
            return -EADDRINUSE;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            r = -errno;
            close(fd);
            return r;
        }
    }
    if (listen(fd, 128) < 0) {
        r = -errno;
        close(fd);
        unlink(path);
        return r;
    }
    return fd;
}

/**
 * vgpu_local_open - serve clients on @path, or on @fd when it is >= 0
 * (a listening socket, or one connected client as QEMU's --fd passes)
 *
 * Returns 0 or -errno.
 */
int vgpu_local_open(VgpuServer *srv, const char *path, int fd)
{
    VgpuLocal *l = calloc(1, sizeof(*l));
    struct epoll_event e = { .events = EPOLLIN };
    int acc = 0;
    socklen_t al = sizeof(acc);

    if (!l) {
        return -ENOMEM;
    }
    l->kind = VGPU_POLL_LOCAL_LISTEN;
    srv->local = l;
    if (fd >= 0) {
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0) {
            return -errno;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (!acc) {
            l->lfd = -1;
            return conn_add(srv, fd);
        }
        l->lfd = fd;
    } else {
        l->lfd = vgpu_unix_listen(path);
        if (l->lfd < 0) {
            return l->lfd;
        }
        l->path = strdup(path);
    }
    e.data.ptr = l;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, l->lfd, &e) < 0) {
        return -errno;
    }
    return 0;
}

/**
 * vgpu_local_close - hang up every client and remove the socket
 */
void vgpu_local_close(VgpuServer *srv)
{
    VgpuLocal *l = srv->local;

    if (!l) {
        return;
    }
    while (l->conns) {
        conn_write(l->conns);
        conn_close(l->conns);
    }
    if (l->lfd >= 0) {
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, l->lfd, NULL);
        close(l->lfd);
    }
    if (l->path) {
        unlink(l->path);
        free(l->path);
    }
    free(l);
    srv->local = NULL;
}
