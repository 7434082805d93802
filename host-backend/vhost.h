/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost.h - vgpud's vhost-user transport: one listening socket per VM, each
 * VM a tenant, rings served from the VM's shared memory by the loop thread.
 */
#ifndef VGPUD_VHOST_H
#define VGPUD_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vgpud.h"

#ifdef VGPU_HAVE_VHOST

#include "libvhost-user.h"

#define VGPU_VHOST_AVAILABLE 1

int vgpu_vhost_add_vm(const char *spec);
int vgpu_vhost_open(VgpuServer *srv);
void vgpu_vhost_close(VgpuServer *srv);
void vgpu_vhost_fini(VgpuServer *srv);
void vgpu_vhost_event(VgpuServer *srv, void *tag, uint32_t events);
void vgpu_vhost_flush(VgpuServer *srv);

/*
 * The ring-request decoder, exposed for the fuzzer: everything between a
 * popped descriptor chain and vgpu_decode().
 */
int vgpu_vhost_gather(const struct iovec *out, unsigned out_num,
                      uint8_t **buf, size_t *len, uint64_t *seq);
VgpuConn *vgpu_vhost_conn_detached(VgpuTenant *t, VuDev **dev);
void vgpu_vhost_conn_detached_free(VgpuConn *c);

#else

#define VGPU_VHOST_AVAILABLE 0

static inline int vgpu_vhost_add_vm(const char *spec)
{
    (void)spec;
    return -1;
}
static inline int vgpu_vhost_open(VgpuServer *srv)
{
    (void)srv;
    return 0;
}
static inline void vgpu_vhost_close(VgpuServer *srv)
{
    (void)srv;
}
static inline void vgpu_vhost_fini(VgpuServer *srv)
{
    (void)srv;
}
static inline void vgpu_vhost_event(VgpuServer *srv, void *tag,
                                    uint32_t events)
{
    (void)srv;
    (void)tag;
    (void)events;
}
static inline void vgpu_vhost_flush(VgpuServer *srv)
{
    (void)srv;
}

#endif /* VGPU_HAVE_VHOST */

#endif /* VGPUD_VHOST_H */
