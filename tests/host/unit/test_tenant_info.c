/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tenant_info.c - VGPU_CMD_TENANT_INFO: request validation, and the
 * figures a tenant gets being its own and the ones the admin socket's
 * "list" reports for it.
 */
#include <math.h>

#include "harness.h"

#define HDR_LEN sizeof(struct vgpu_req_hdr)

static int hello(TConn *c, const char *name)
{
    return t_status(c, t_send_raw(c, VGPU_CMD_HELLO, 0, 0, 0, NULL, 0, name,
                                  strlen(name) + 1));
}

/* Sends TENANT_INFO with the given header fields; returns the seq. */
static uint64_t send_info(TConn *c, uint32_t flags, uint32_t reserved,
                          uint64_t ctx, uint64_t stream, size_t extra)
{
    size_t len = HDR_LEN + extra;
    uint8_t *buf = calloc(1, len);
    struct vgpu_req_hdr h = {
        .cmd = VGPU_CMD_TENANT_INFO, .flags = flags, .len = (uint32_t)len,
        .reserved = reserved, .ctx = ctx, .stream = stream, .seq = ++c->seq,
    };

    memcpy(buf, &h, sizeof(h));
    vgpu_handle_request(&c->base, buf, len);
    free(buf);
    t_drain();
    return h.seq;
}

static struct vgpu_resp_tenant_info *info(TConn *c)
{
    struct vgpu_resp_tenant_info *ti = (struct vgpu_resp_tenant_info *)
        t_reply_for(c, send_info(c, 0, 0, 0, 0, 0));

    return ti && ti->hdr.status == VGPU_S_OK &&
           ti->hdr.len == sizeof(*ti) ? ti : NULL;
}

/*
 * The number @field of the "list" entry of tenant @name.  Tenant entries
 * start with {"name": and their own fields come before "conns", whose
 * entries start with {"id":, so the first @field after the name is the
 * tenant's.  NAN when absent.
 */
static double list_field(const char *js, const char *name, const char *field)
{
    char key[128];
    const char *p, *end;

    snprintf(key, sizeof(key), "{\"name\":\"%s\"", name);
    p = strstr(js, key);
    if (!p) {
        return NAN;
    }
    end = strstr(p, "\"conns\":");
    snprintf(key, sizeof(key), "\"%s\":", field);
    p = strstr(p, key);
    if (!p || (end && p > end)) {
        return NAN;
    }
    return strtod(p + strlen(key), NULL);
}

TEST(bad_header_fields_are_invalid_value_and_change_nothing)
{
    struct vgpu_resp_tenant_info before, *ti;
    TConn *c;
    uint64_t ctx;

    t_server_init();
    c = t_conn_new();
    ctx = t_ctx_create(c);
    CHECK(ctx);
    ti = info(c);
    CHECK(ti);
    before = *ti;
    CHECK_EQ(t_status(c, send_info(c, 0, 1, 0, 0, 0)), VGPU_S_INVALID_VALUE);
    /* no flag is defined for it, not even NO_REPLY: it must be answered */
    CHECK_EQ(t_status(c, send_info(c, VGPU_REQ_F_NO_REPLY, 0, 0, 0, 0)),
             VGPU_S_INVALID_VALUE);
    CHECK_EQ(t_status(c, send_info(c, 1u << 7, 0, 0, 0, 0)),
             VGPU_S_INVALID_VALUE);
    /* it names no object: a context or stream id is wrong */
    CHECK_EQ(t_status(c, send_info(c, 0, 0, ctx, 0, 0)), VGPU_S_INVALID_VALUE);
    CHECK_EQ(t_status(c, send_info(c, 0, 0, 0, 1, 0)), VGPU_S_INVALID_VALUE);
    /* header only */
    CHECK_EQ(t_status(c, send_info(c, 0, 0, 0, 0, 8)), VGPU_S_INVALID_VALUE);
    ti = info(c);
    CHECK(ti);
    /* the six refusals are counted as errors; nothing else moved */
    CHECK_EQ(ti->errors, before.errors + 6);
    CHECK(!strcmp((char *)ti->name, (char *)before.name));
    CHECK_EQ(ti->contexts, 1);
    CHECK_EQ(ti->contexts, before.contexts);
    CHECK_EQ(ti->mem_used, before.mem_used);
    CHECK_EQ(ti->weight_milli, before.weight_milli);
    CHECK_EQ(ti->cap_ppm, before.cap_ppm);
    t_conn_close(c);
    CHECK(t_server_fini());
}

TEST(a_tenant_sees_its_own_figures_as_the_admin_list_reports_them)
{
    struct vgpu_resp_tenant_info *ti;
    TConn *a1, *a2, *b;
    uint64_t a1ctx, a2ctx, bctx, past;
    char err[128], *js;

    t_server_init();
    a1 = t_conn_new();
    a2 = t_conn_new();
    b = t_conn_new();
    a1->base.tenant->local = a2->base.tenant->local = true;
    b->base.tenant->local = true;
    CHECK_EQ(vgpu_acct_configure(&t_srv,
                                 "name=team,weight=2.5,cap=0.4,quota=1M",
                                 true, err, sizeof(err)), 0);
    CHECK_EQ(hello(a1, "team"), VGPU_S_OK);
    CHECK_EQ(hello(a2, "team"), VGPU_S_OK);
    CHECK_EQ(hello(b, "other"), VGPU_S_OK);
    a1ctx = t_ctx_create(a1);
    a2ctx = t_ctx_create(a2);
    bctx = t_ctx_create(b);
    CHECK(a1ctx && a2ctx && bctx);
    /* memory of the tenant's other client counts too; b's does not */
    CHECK(t_mem_alloc(a1, a1ctx, 8192));
    CHECK(t_mem_alloc(a2, a2ctx, 4096));
    CHECK(t_mem_alloc(b, bctx, 65536));
    /* an error of team's, none of b's */
    CHECK_EQ(t_sync(a1, 12345), VGPU_S_INVALID_CONTEXT);
    /*
     * Engine time in a completed bucket of the last second: team 3 ms,
     * other 1 ms, so team's share of both windows is 3/4.
     */
    past = vgpu_now_ns() - VGPU_ACCT_BUCKET_NS * 3 / 2;
    vgpu_acct_charge(a1->base.tenant->acct, 3000000, past);
    vgpu_acct_charge(b->base.tenant->acct, 1000000, past);

    ti = info(a2);
    js = vgpu_admin_list_json(&t_srv);
    CHECK(ti && js);
    CHECK(!strcmp((char *)ti->name, "team"));
    CHECK_EQ(ti->weight_milli, 2500);
    CHECK_EQ(ti->cap_ppm, 400000);
    CHECK_EQ(ti->share_1s_ppm, 750000);
    CHECK_EQ(ti->share_10s_ppm, 750000);
    CHECK_EQ(ti->mem_used, 12288);
    CHECK_EQ(ti->mem_quota, 1048576);
    CHECK_EQ(ti->contexts, 2);
    CHECK(ti->gpu_ns >= 3000000);
    CHECK(ti->errors >= 1);
    /* the same figures as "list" shows for team */
    CHECK(list_field(js, "team", "weight") * 1000 == (double)ti->weight_milli);
    CHECK(fabs(list_field(js, "team", "cap") * 1e6 - ti->cap_ppm) < 1);
    CHECK(fabs(list_field(js, "team", "share_1s") * 1e6 - ti->share_1s_ppm)
          <= 50);
    CHECK(fabs(list_field(js, "team", "share_10s") * 1e6 - ti->share_10s_ppm)
          <= 50);
    CHECK(list_field(js, "team", "gpu_ns") == (double)ti->gpu_ns);
    CHECK(list_field(js, "team", "mem_used") == (double)ti->mem_used);
    CHECK(list_field(js, "team", "mem_quota") == (double)ti->mem_quota);
    CHECK(list_field(js, "team", "queued") == (double)ti->queue_depth);
    CHECK(list_field(js, "team", "errors") == (double)ti->errors);
    CHECK(list_field(js, "team", "contexts") == (double)ti->contexts);
    free(js);

    /* b sees only its own tenant */
    ti = info(b);
    CHECK(ti);
    CHECK(!strcmp((char *)ti->name, "other"));
    CHECK_EQ(ti->mem_used, 65536);
    CHECK_EQ(ti->mem_quota, 0);
    CHECK_EQ(ti->contexts, 1);
    CHECK_EQ(ti->errors, 0);
    CHECK_EQ(ti->share_1s_ppm, 250000);
    CHECK_EQ(ti->gpu_ns, 1000000);
    t_conn_close(a1);
    t_conn_close(a2);
    t_conn_close(b);
    CHECK(t_server_fini());
}

TEST(queued_work_shows_as_queue_depth)
{
    struct vgpu_resp_tenant_info *ti;
    uint64_t ctx, dptr, mod, func;
    TConn *c;

    t_server_init();
    c = t_conn_new();
    ctx = t_ctx_create(c);
    dptr = t_mem_alloc(c, ctx, 64);
    mod = t_module_load(c, ctx, t_ptx);
    func = t_func_get(c, ctx, mod, "k");
    CHECK(func);
    fake.manual = true;
    for (int i = 0; i < 3; i++) {
        t_launch(c, VGPU_REQ_F_NO_REPLY, ctx, 0, func, dptr, 1);
    }
    ti = info(c);
    CHECK(ti);
    CHECK_EQ(ti->queue_depth, c->base.tenant->outstanding);
    CHECK(ti->queue_depth >= 1);
    fake_complete_all();
    t_drain();
    for (int round = 0; round < 50 && fake.nheld; round++) {
        fake_complete_all();
        t_drain();
    }
    CHECK_EQ(t_sync(c, ctx), VGPU_S_OK);
    ti = info(c);
    CHECK(ti);
    CHECK_EQ(ti->queue_depth, 0);
    t_conn_close(c);
    CHECK(t_server_fini());
}

TAP_MAIN(TAP_ENTRY(bad_header_fields_are_invalid_value_and_change_nothing),
         TAP_ENTRY(a_tenant_sees_its_own_figures_as_the_admin_list_reports_them),
         TAP_ENTRY(queued_work_shows_as_queue_depth))
