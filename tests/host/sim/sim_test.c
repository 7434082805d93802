/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim_test.c - direct tests of the sim executor: PTX decoding, instruction
 * semantics at their edge cases, nvcc-compiled kernels against the same
 * computation on the host, hostile kernels, fatbins and the ops table.
 */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "../../tap.h"
#include "simtest.h"

static VgpuExec *ex;
static const char *kdir;
static char outbuf[65536];
static size_t outlen;
static pthread_mutex_t outlock = PTHREAD_MUTEX_INITIALIZER;

static void capture(void *op, const char *t, size_t n)
{
    pthread_mutex_lock(&outlock);
    if (outlen + n < sizeof(outbuf)) {
        memcpy(outbuf + outlen, t, n);
        outlen += n;
        outbuf[outlen] = 0;
    }
    pthread_mutex_unlock(&outlock);
}

static VgpuExecCtx *new_ctx(void)
{
    VgpuExecCtx *c = NULL;
    VgpuExecCtxHooks h = { NULL, capture };

    if (!ex) {
        char err[256];
        VgpuExecConfig cfg = { 0 };

        cfg.threads = 2;
        if (vgpu_exec_sim_ops.init(&cfg, &ex, err, sizeof(err))) {
            return NULL;
        }
    }
    vgpu_exec_sim_ops.ctx_create(ex, &h, &c);
    outlen = 0;
    outbuf[0] = 0;
    return c;
}

static char logbuf[4096];

static VgpuExecModule *load_file(VgpuExecCtx *c, const char *name, uint32_t kind, int *rc)
{
    char path[512];
    size_t n;
    VgpuExecModule *m = NULL;

    snprintf(path, sizeof(path), "%s/%s", kdir, name);
    char *img = simtest_read_file(path, &n);
    *rc = vgpu_exec_sim_ops.module_load(c, kind, img, kind == VGPU_IMAGE_PTX ? n + 1 : n,
                                        &m, logbuf, sizeof(logbuf));
    free(img);
    return m;
}

static VgpuExecModule *load_text(VgpuExecCtx *c, const char *ptx, int *rc)
{
    VgpuExecModule *m = NULL;

    *rc = vgpu_exec_sim_ops.module_load(c, VGPU_IMAGE_PTX, ptx, strlen(ptx) + 1, &m,
                                        logbuf, sizeof(logbuf));
    return m;
}

static VgpuExecFunc *func(VgpuExecModule *m, const char *name, VgpuFuncInfo *fi)
{
    VgpuExecFunc *f = NULL;
    VgpuFuncInfo tmp;

    vgpu_exec_sim_ops.module_get_function(m, name, &f, fi ? fi : &tmp);
    return f;
}

static uint64_t dalloc(VgpuExecCtx *c, uint64_t n)
{
    uint64_t d = 0;

    vgpu_exec_sim_ops.mem_alloc(c, n, &d);
    return d;
}

/* ---- single-thread instruction harness ------------------------------------ */

static const char *harness_head =
    ".version 9.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry t(.param .u64 po, .param .u64 pi)\n{\n"
    ".reg .pred %p<8>;\n.reg .b16 %h<8>;\n.reg .b32 %r<16>;\n.reg .b64 %rd<16>;\n"
    ".reg .f32 %f<16>;\n.reg .f64 %fd<16>;\n"
    "ld.param.u64 %rd14, [po];\nld.param.u64 %rd15, [pi];\n"
    "ld.global.u64 %rd1, [%rd15];\nld.global.u64 %rd2, [%rd15+8];\n"
    "ld.global.u64 %rd3, [%rd15+16];\n"
    "ld.global.u32 %r1, [%rd15];\nld.global.u32 %r2, [%rd15+8];\n"
    "ld.global.u32 %r3, [%rd15+16];\n"
    "ld.global.f32 %f1, [%rd15];\nld.global.f32 %f2, [%rd15+8];\n"
    "ld.global.f32 %f3, [%rd15+16];\n"
    "ld.global.f64 %fd1, [%rd15];\nld.global.f64 %fd2, [%rd15+8];\n"
    "ld.global.f64 %fd3, [%rd15+16];\n";

/*
 * Runs @body on one thread with inputs @in (three 64-bit slots, readable
 * as %rdN/%rN/%fN/%fdN, N = 1..3); the body stores results to [%rd14+8k].
 */
static int run_body(const char *body, const uint64_t in[3], uint64_t *out, int nout)
{
    VgpuExecCtx *c = new_ctx();
    char ptx[8192];
    int rc;

    snprintf(ptx, sizeof(ptx), "%s%s\nret;\n}\n", harness_head, body);
    VgpuExecModule *m = load_text(c, ptx, &rc);
    if (rc) {
        printf("# load failed: %s\n", logbuf);
        vgpu_exec_sim_ops.ctx_destroy(c);
        return rc;
    }
    uint64_t dout = dalloc(c, 8 * 16), din = dalloc(c, 24);
    simtest_htod(c, din, in, 24);
    uint64_t p[2] = { dout, din };
    rc = simtest_launch(c, func(m, "t", NULL), 1, 1, 1, 1, 0, p, 16);
    simtest_dtoh(c, out, dout, 8 * (size_t)nout);
    vgpu_exec_sim_ops.module_unload(m);
    vgpu_exec_sim_ops.ctx_destroy(c);
    return rc;
}

static uint64_t fbits(float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    return u;
}

static uint64_t dbits(double d)
{
    uint64_t u;

    memcpy(&u, &d, 8);
    return u;
}

static float bitsf(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;

    memcpy(&f, &u, 4);
    return f;
}

TEST(shifts_of_width_or_more_follow_ptx)
{
    uint64_t in[3] = { 0x80000001u, 32, 40 }, o[6];

    CHECK_EQ(run_body("shl.b32 %r4, %r1, %r2;\nst.global.u32 [%rd14], %r4;\n"
                      "shr.u32 %r5, %r1, %r3;\nst.global.u32 [%rd14+8], %r5;\n"
                      "shr.s32 %r6, %r1, %r2;\nst.global.u32 [%rd14+16], %r6;\n"
                      "shr.s32 %r7, %r1, 1;\nst.global.u32 [%rd14+24], %r7;\n"
                      "shl.b64 %rd4, %rd1, 64;\nst.global.u64 [%rd14+32], %rd4;\n"
                      "shr.s64 %rd5, -8, 70;\nst.global.u64 [%rd14+40], %rd5;\n",
                      in, o, 6), 0);
    CHECK_EQ((uint32_t)o[0], 0);
    CHECK_EQ((uint32_t)o[1], 0);
    CHECK_EQ((uint32_t)o[2], 0xffffffffu);
    CHECK_EQ((uint32_t)o[3], 0xc0000000u);
    CHECK_EQ(o[4], 0);
    CHECK_EQ(o[5], UINT64_MAX);
}

TEST(division_by_zero_and_overflow_have_defined_results)
{
    uint64_t in[3] = { 0x80000000u, 0, 0xffffffffu }, o[6];

    CHECK_EQ(run_body("div.s32 %r4, %r1, %r3;\nst.global.u32 [%rd14], %r4;\n"
                      "rem.s32 %r5, %r1, %r3;\nst.global.u32 [%rd14+8], %r5;\n"
                      "div.u32 %r6, %r1, %r2;\nst.global.u32 [%rd14+16], %r6;\n"
                      "rem.u32 %r7, %r1, %r2;\nst.global.u32 [%rd14+24], %r7;\n"
                      "div.s32 %r8, 7, %r2;\nst.global.u32 [%rd14+32], %r8;\n"
                      "div.s32 %r9, -7, 2;\nst.global.u32 [%rd14+40], %r9;\n",
                      in, o, 6), 0);
    CHECK_EQ((uint32_t)o[0], 0x80000000u);   /* INT_MIN / -1 */
    CHECK_EQ((uint32_t)o[1], 0);
    CHECK_EQ((uint32_t)o[2], 0xffffffffu);
    CHECK_EQ((uint32_t)o[3], 0x80000000u);
    CHECK_EQ((uint32_t)o[4], 0xffffffffu);
    CHECK_EQ((int32_t)o[5], -3);
}

TEST(fma_rounding_modes_are_exact)
{
    /* 1 + 2^-24 is halfway between 1 and 1+2^-23: rn ties to even (1). */
    uint64_t in[3] = { fbits(1.0f), fbits(ldexpf(1.0f, -24)), fbits(-1.0f) }, o[6];

    CHECK_EQ(run_body("fma.rn.f32 %f4, %f1, %f1, %f2;\nst.global.f32 [%rd14], %f4;\n"
                      "fma.rp.f32 %f5, %f1, %f1, %f2;\nst.global.f32 [%rd14+8], %f5;\n"
                      "fma.rz.f32 %f6, %f3, %f1, 0f33000000;\nst.global.f32 [%rd14+16], %f6;\n"
                      "fma.rm.f32 %f7, %f3, %f1, 0f33000000;\nst.global.f32 [%rd14+24], %f7;\n"
                      "add.rp.f32 %f8, %f1, %f2;\nst.global.f32 [%rd14+32], %f8;\n"
                      "mul.rz.f64 %fd4, %fd1, %fd1;\nst.global.f64 [%rd14+40], %fd4;\n",
                      in, o, 6), 0);
    CHECK(bitsf(o[0]) == 1.0f);
    CHECK(bitsf(o[1]) == nextafterf(1.0f, 2.0f));
    CHECK(bitsf(o[2]) == -nextafterf(1.0f, 0.0f));
    CHECK(bitsf(o[3]) == -1.0f);
    CHECK(bitsf(o[4]) == nextafterf(1.0f, 2.0f));
}

TEST(cvt_rounds_and_saturates)
{
    uint64_t in[3] = { fbits(-2.5f), fbits(3.7e10f), fbits(NAN) }, o[8];

    CHECK_EQ(run_body("cvt.rni.s32.f32 %r4, %f1;\nst.global.u32 [%rd14], %r4;\n"
                      "cvt.rzi.s32.f32 %r5, %f2;\nst.global.u32 [%rd14+8], %r5;\n"
                      "cvt.rzi.s32.f32 %r6, %f3;\nst.global.u32 [%rd14+16], %r6;\n"
                      "cvt.rmi.u32.f32 %r7, %f1;\nst.global.u32 [%rd14+24], %r7;\n"
                      "cvt.sat.f32.f32 %f4, %f2;\nst.global.f32 [%rd14+32], %f4;\n"
                      "cvt.sat.u8.s32 %r8, -5;\nst.global.u32 [%rd14+40], %r8;\n"
                      "cvt.sat.s16.s32 %r9, 70000;\nst.global.u32 [%rd14+48], %r9;\n"
                      "cvt.rn.f16.f32 %h1, %f1;\ncvt.u32.u16 %r10, %h1;\n"
                      "st.global.u32 [%rd14+56], %r10;\n",
                      in, o, 8), 0);
    CHECK_EQ((int32_t)o[0], -2);
    CHECK_EQ((int32_t)o[1], INT32_MAX);
    CHECK_EQ((int32_t)o[2], 0);
    CHECK_EQ((uint32_t)o[3], 0);
    CHECK(bitsf(o[4]) == 1.0f);
    CHECK_EQ((uint32_t)o[5], 0);
    CHECK_EQ((uint32_t)o[6], 32767);
    CHECK_EQ((uint32_t)o[7], 0xc100);     /* -2.5 in binary16 */
}

TEST(float_compare_min_max_handle_nan_and_signed_zero)
{
    uint64_t in[3] = { fbits(NAN), fbits(-0.0f), fbits(0.0f) }, o[6];

    CHECK_EQ(run_body("setp.ne.f32 %p1, %f1, %f2;\nselp.u32 %r4, 1, 0, %p1;\n"
                      "st.global.u32 [%rd14], %r4;\n"
                      "setp.neu.f32 %p2, %f1, %f2;\nselp.u32 %r5, 1, 0, %p2;\n"
                      "st.global.u32 [%rd14+8], %r5;\n"
                      "min.f32 %f4, %f1, %f3;\nst.global.f32 [%rd14+16], %f4;\n"
                      "min.f32 %f5, %f2, %f3;\nst.global.f32 [%rd14+24], %f5;\n"
                      "max.f32 %f6, %f2, %f3;\nst.global.f32 [%rd14+32], %f6;\n"
                      "add.f32 %f7, %f1, %f3;\nst.global.f32 [%rd14+40], %f7;\n",
                      in, o, 6), 0);
    CHECK_EQ((uint32_t)o[0], 0);
    CHECK_EQ((uint32_t)o[1], 1);
    CHECK(bitsf(o[2]) == 0.0f);
    CHECK_EQ((uint32_t)o[3], 0x80000000u);
    CHECK_EQ((uint32_t)o[4], 0);
    CHECK_EQ((uint32_t)o[5], 0x7fffffffu);   /* canonical NaN */
}

TEST(bit_manipulation_matches_the_isa)
{
    uint64_t in[3] = { 0xf0f0ff01u, 0x12345678u, 0x9abcdef0u }, o[8];

    CHECK_EQ(run_body("popc.b32 %r4, %r1;\nst.global.u32 [%rd14], %r4;\n"
                      "clz.b32 %r5, %r2;\nst.global.u32 [%rd14+8], %r5;\n"
                      "brev.b32 %r6, %r2;\nst.global.u32 [%rd14+16], %r6;\n"
                      "bfe.s32 %r7, %r1, 4, 8;\nst.global.u32 [%rd14+24], %r7;\n"
                      "bfe.u32 %r8, %r1, 28, 8;\nst.global.u32 [%rd14+32], %r8;\n"
                      "bfi.b32 %r9, %r2, %r3, 8, 8;\nst.global.u32 [%rd14+40], %r9;\n"
                      "prmt.b32 %r10, %r2, %r3, 0x7351;\nst.global.u32 [%rd14+48], %r10;\n"
                      "clz.b64 %r11, 1;\nst.global.u32 [%rd14+56], %r11;\n",
                      in, o, 8), 0);
    CHECK_EQ((uint32_t)o[0], 17);
    CHECK_EQ((uint32_t)o[1], 3);
    CHECK_EQ((uint32_t)o[2], 0x1e6a2c48u);
    CHECK_EQ((uint32_t)o[3], 0xfffffff0u);
    CHECK_EQ((uint32_t)o[4], 0xf);
    CHECK_EQ((uint32_t)o[5], 0x9abc78f0u);
    CHECK_EQ((uint32_t)o[6], 0x9a12de56u);
    CHECK_EQ((uint32_t)o[7], 63);
}

TEST(wide_and_high_multiplies)
{
    uint64_t in[3] = { 0xffffffffu, 0xfffffffeu, 0xffffffffffffffffull }, o[4];

    CHECK_EQ(run_body("mul.wide.u32 %rd4, %r1, %r2;\nst.global.u64 [%rd14], %rd4;\n"
                      "mul.wide.s32 %rd5, %r1, %r2;\nst.global.u64 [%rd14+8], %rd5;\n"
                      "mul.hi.u64 %rd6, %rd3, %rd3;\nst.global.u64 [%rd14+16], %rd6;\n"
                      "mul.hi.s32 %r4, %r1, %r2;\nst.global.u32 [%rd14+24], %r4;\n",
                      in, o, 4), 0);
    CHECK(o[0] == 0xfffffffd00000002ull);
    CHECK_EQ(o[1], 2);
    CHECK(o[2] == 0xfffffffffffffffeull);
    CHECK_EQ((uint32_t)o[3], 0);
}

TEST(approximate_math_is_within_ptx_bounds)
{
    uint64_t in[3] = { fbits(0.75f), fbits(2.0f), fbits(5.0f) }, o[6];

    CHECK_EQ(run_body("sin.approx.f32 %f4, %f1;\nst.global.f32 [%rd14], %f4;\n"
                      "cos.approx.f32 %f5, %f1;\nst.global.f32 [%rd14+8], %f5;\n"
                      "ex2.approx.f32 %f6, %f1;\nst.global.f32 [%rd14+16], %f6;\n"
                      "lg2.approx.f32 %f7, %f3;\nst.global.f32 [%rd14+24], %f7;\n"
                      "rsqrt.approx.f32 %f8, %f2;\nst.global.f32 [%rd14+32], %f8;\n"
                      "rcp.rn.f64 %fd4, %fd2;\nst.global.f64 [%rd14+40], %fd4;\n",
                      in, o, 6), 0);
    CHECK(fabs(bitsf(o[0]) - sin(0.75)) < 1e-6);
    CHECK(fabs(bitsf(o[1]) - cos(0.75)) < 1e-6);
    CHECK(fabs(bitsf(o[2]) - exp2(0.75)) < 2e-6);
    CHECK(fabs(bitsf(o[3]) - log2(5.0)) < 2e-6);
    CHECK(fabs(bitsf(o[4]) - 1 / sqrt(2.0)) < 1e-6);
    double r;
    memcpy(&r, &o[5], 8);
    double x;
    memcpy(&x, &in[1], 8);
    CHECK(r == 1.0 / x);
}

TEST(carry_chains_add_128_bit_numbers)
{
    uint64_t in[3] = { 0xffffffffu, 1, 0 }, o[2];

    CHECK_EQ(run_body("add.cc.u32 %r4, %r1, %r2;\naddc.u32 %r5, 0, 0;\n"
                      "st.global.u32 [%rd14], %r4;\nst.global.u32 [%rd14+8], %r5;\n",
                      in, o, 2), 0);
    CHECK_EQ((uint32_t)o[0], 0);
    CHECK_EQ((uint32_t)o[1], 1);
}


TEST(signed_loads_extend_to_the_register_width)
{
    uint64_t in[3] = { 0x80000001u, 0xff80u, 0 }, o[4];

    CHECK_EQ(run_body("ld.global.s32 %rd4, [%rd15];\nst.global.u64 [%rd14], %rd4;\n"
                      "ld.global.s32 %r4, [%rd15];\nst.global.u32 [%rd14+8], %r4;\n"
                      "ld.global.s8 %rd5, [%rd15+8];\nst.global.u64 [%rd14+16], %rd5;\n"
                      "ld.global.s16 %r5, [%rd15+8];\nst.global.u32 [%rd14+24], %r5;\n",
                      in, o, 4), 0);
    CHECK(o[0] == 0xffffffff80000001ull);
    CHECK_EQ((uint32_t)o[1], 0x80000001u);
    CHECK(o[2] == 0xffffffffffffff80ull);
    CHECK_EQ((uint32_t)o[3], 0xffffff80u);
}

TEST(prmt_modes_select_bytes_as_defined)
{
    uint64_t in[3] = { 0x03020100u, 0x07060504u, 1 }, o[6];

    CHECK_EQ(run_body("prmt.b32.f4e %r4, %r1, %r2, %r3;\nst.global.u32 [%rd14], %r4;\n"
                      "prmt.b32.b4e %r5, %r1, %r2, %r3;\nst.global.u32 [%rd14+8], %r5;\n"
                      "prmt.b32.rc8 %r6, %r1, %r2, %r3;\nst.global.u32 [%rd14+16], %r6;\n"
                      "prmt.b32.ecl %r7, %r1, %r2, %r3;\nst.global.u32 [%rd14+24], %r7;\n"
                      "prmt.b32.ecr %r8, %r1, %r2, %r3;\nst.global.u32 [%rd14+32], %r8;\n"
                      "prmt.b32.rc16 %r9, %r1, %r2, %r3;\nst.global.u32 [%rd14+40], %r9;\n",
                      in, o, 6), 0);
    CHECK_EQ((uint32_t)o[0], 0x04030201u);
    CHECK_EQ((uint32_t)o[1], 0x06070001u);
    CHECK_EQ((uint32_t)o[2], 0x01010101u);
    CHECK_EQ((uint32_t)o[3], 0x03020101u);
    CHECK_EQ((uint32_t)o[4], 0x01010100u);
    CHECK_EQ((uint32_t)o[5], 0x03020302u);
}

TEST(half_precision_arithmetic_rounds_once)
{
    /* 1 + 2^-11 needs rounding to even: 1.0; 65504 + 16 overflows to inf. */
    uint64_t in[3] = { 0x3c00u, 0x1000u, 0x7bffu }, o[5];

    CHECK_EQ(run_body("cvt.u16.u32 %h5, %r1;\ncvt.u16.u32 %h6, %r2;\ncvt.u16.u32 %h7, %r3;\n"
                      "add.f16 %h1, %h5, %h6;\ncvt.u32.u16 %r4, %h1;\nst.global.u32 [%rd14], %r4;\n"
                      "add.rp.f16 %h2, %h5, %h6;\ncvt.u32.u16 %r5, %h2;\nst.global.u32 [%rd14+8], %r5;\n"
                      "mul.f16 %h3, %h7, 0x4000;\ncvt.u32.u16 %r6, %h3;\nst.global.u32 [%rd14+16], %r6;\n"
                      "neg.f16 %h4, %h5;\ncvt.u32.u16 %r7, %h4;\nst.global.u32 [%rd14+24], %r7;\n"
                      "add.f16x2 %r8, %r1, %r1;\nst.global.u32 [%rd14+32], %r8;\n",
                      in, o, 5), 0);
    CHECK_EQ((uint32_t)o[0], 0x3c00);
    CHECK_EQ((uint32_t)o[1], 0x3c01);
    CHECK_EQ((uint32_t)o[2], 0x7c00);
    CHECK_EQ((uint32_t)o[3], 0xbc00);
    CHECK_EQ((uint32_t)o[4], 0x4000);
}

TEST(barrier_reductions_count_and_combine_predicates)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    const char *ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry k(.param .u64 o)\n{\n.reg .pred %p<4>;\n.reg .b32 %r<8>;\n"
        ".reg .b64 %rd<4>;\nld.param.u64 %rd1, [o];\nmov.u32 %r1, %tid.x;\n"
        "and.b32 %r2, %r1, 3;\nsetp.eq.u32 %p1, %r2, 0;\n"
        "bar.red.popc.u32 %r3, 0, %p1;\nbar.red.and.pred %p2, 0, %p1;\n"
        "bar.red.or.pred %p3, 0, %p1;\nselp.u32 %r4, 2, 0, %p2;\nselp.u32 %r5, 4, 0, %p3;\n"
        "or.b32 %r6, %r4, %r5;\nshl.b32 %r6, %r6, 16;\nor.b32 %r6, %r6, %r3;\n"
        "mul.wide.u32 %rd2, %r1, 4;\nadd.s64 %rd3, %rd1, %rd2;\nst.global.u32 [%rd3], %r6;\n"
        "ret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);
    uint64_t d = dalloc(c, 96 * 4);
    uint32_t out[96];

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "k", NULL), 1, 1, 96, 1, 0, &d, 8), 0);
    simtest_dtoh(c, out, d, sizeof(out));
    for (int i = 0; i < 96; i++) {
        CHECK_EQ(out[i], (4u << 16) | 24u);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(clock_and_globaltimer_advance)
{
    uint64_t in[3] = { 0, 0, 0 }, o[2];

    CHECK_EQ(run_body("mov.u64 %rd4, %clock64;\nmov.u64 %rd5, %globaltimer;\n"
                      "mov.u64 %rd6, %clock64;\nmov.u64 %rd7, %globaltimer;\n"
                      "sub.s64 %rd8, %rd6, %rd4;\nsub.s64 %rd9, %rd7, %rd5;\n"
                      "st.global.u64 [%rd14], %rd8;\nst.global.u64 [%rd14+8], %rd9;\n",
                      in, o, 2), 0);
    CHECK(o[0] > 0 && o[0] < 1000);
    CHECK(o[1] > 0 && o[1] < 1000000000ull);
}

/* ---- nvcc-compiled kernels ------------------------------------------------- */

TEST(vector_add_matches_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int n = 10007;
    float *a = malloc(n * 4), *b = malloc(n * 4), *r = malloc(n * 4);

    CHECK_EQ(rc, 0);
    for (int i = 0; i < n; i++) {
        a[i] = (float)i * 0.5f;
        b[i] = (float)(n - i);
    }
    uint64_t da = dalloc(c, n * 4), db = dalloc(c, n * 4), dc = dalloc(c, n * 4);
    simtest_htod(c, da, a, n * 4);
    simtest_htod(c, db, b, n * 4);
    uint8_t p[28];
    memcpy(p, &da, 8);
    memcpy(p + 8, &db, 8);
    memcpy(p + 16, &dc, 8);
    memcpy(p + 24, &n, 4);
    CHECK_EQ(simtest_launch(c, func(m, "vectorAdd", NULL), (n + 255) / 256, 1, 256, 1, 0, p, 28), 0);
    CHECK_EQ(simtest_dtoh(c, r, dc, n * 4), 0);
    for (int i = 0; i < n; i++) {
        CHECK(r[i] == a[i] + b[i]);
    }
    free(a);
    free(b);
    free(r);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(tiled_matrix_mul_with_shared_memory_matches_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int w = 64, h = 48, k = 80;     /* C[h][w] = A[h][k] * B[k][w] */
    float *A = malloc(h * k * 4), *B = malloc(k * w * 4), *C = malloc(h * w * 4);

    CHECK_EQ(rc, 0);
    for (int i = 0; i < h * k; i++) A[i] = (float)((i * 7) % 13) - 6;
    for (int i = 0; i < k * w; i++) B[i] = (float)((i * 5) % 11) - 5;
    uint64_t dA = dalloc(c, h * k * 4), dB = dalloc(c, k * w * 4), dC = dalloc(c, h * w * 4);
    simtest_htod(c, dA, A, h * k * 4);
    simtest_htod(c, dB, B, k * w * 4);
    uint8_t p[32];
    memcpy(p, &dC, 8);
    memcpy(p + 8, &dA, 8);
    memcpy(p + 16, &dB, 8);
    memcpy(p + 24, &k, 4);
    memcpy(p + 28, &w, 4);
    CHECK_EQ(simtest_launch(c, func(m, "matrixMul", NULL), w / 16, h / 16, 16, 16, 0, p, 32), 0);
    simtest_dtoh(c, C, dC, h * w * 4);
    for (int i = 0; i < h; i++) {
        for (int j = 0; j < w; j++) {
            float s = 0;
            for (int x = 0; x < k; x++) s += A[i * k + x] * B[x * w + j];
            CHECK(C[i * w + j] == s);
        }
    }
    free(A);
    free(B);
    free(C);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(warp_shuffle_reduction_and_atomics_sum_correctly)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int n = 100000, zero = 0, sum = 0;
    int *in = malloc(n * 4);

    CHECK_EQ(rc, 0);
    for (int i = 0; i < n; i++) {
        in[i] = (i * 31) % 1000 - 500;
        sum += in[i];
    }
    uint64_t din = dalloc(c, n * 4), dout = dalloc(c, 4);
    simtest_htod(c, din, in, n * 4);
    simtest_htod(c, dout, &zero, 4);
    uint8_t p[20];
    memcpy(p, &din, 8);
    memcpy(p + 8, &dout, 8);
    memcpy(p + 16, &n, 4);
    CHECK_EQ(simtest_launch(c, func(m, "reduceShfl", NULL), (n + 255) / 256, 1, 256, 1,
                            8 * 4, p, 20), 0);
    int got;
    simtest_dtoh(c, &got, dout, 4);
    CHECK_EQ(got, sum);
    free(in);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(histogram_with_shared_and_global_atomics_on_two_threads)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int n = 1 << 18;
    uint8_t *data = malloc(n);
    unsigned bins[256] = { 0 }, want[256] = { 0 };

    CHECK_EQ(rc, 0);
    for (int i = 0; i < n; i++) {
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
        want[data[i]]++;
    }
    uint64_t dd = dalloc(c, n), db = dalloc(c, sizeof(bins));
    simtest_htod(c, dd, data, n);
    simtest_htod(c, db, bins, sizeof(bins));
    uint8_t p[24];
    memcpy(p, &dd, 8);
    memcpy(p + 8, &n, 4);
    memcpy(p + 16, &db, 8);
    CHECK_EQ(simtest_launch(c, func(m, "histogram", NULL), 64, 1, 256, 1, 0, p, 24), 0);
    simtest_dtoh(c, bins, db, sizeof(bins));
    for (int i = 0; i < 256; i++) {
        CHECK_EQ(bins[i], want[i]);
    }
    free(data);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(module_globals_have_initializers_and_addresses)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    uint64_t d, sz;
    int v;

    CHECK_EQ(rc, 0);
    CHECK_EQ(vgpu_exec_sim_ops.module_get_global(m, "counter", &d, &sz), 0);
    CHECK_EQ(sz, 4);
    simtest_dtoh(c, &v, d, 4);
    CHECK_EQ(v, 7);
    v = 3;
    simtest_htod(c, d, &v, 4);
    CHECK_EQ(vgpu_exec_sim_ops.module_get_global(m, "coef", &d, &sz), 0);
    CHECK_EQ(sz, 16);
    CHECK_EQ(vgpu_exec_sim_ops.module_get_global(m, "nosuch", &d, &sz), VGPU_S_NOT_FOUND);
    uint64_t dout = dalloc(c, 32 * 4);
    CHECK_EQ(simtest_launch(c, func(m, "useGlobals", NULL), 1, 1, 32, 1, 0, &dout, 8), 0);
    float out[32];
    simtest_dtoh(c, out, dout, sizeof(out));
    for (int i = 0; i < 32; i++) {
        CHECK(out[i] == (float)((i & 3) + 1) * 3);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(printf_output_reaches_the_print_hook)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int x = 42;

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "hello", NULL), 1, 1, 2, 1, 0, &x, 4), 0);
    CHECK(strstr(outbuf, "hello from 0: x=42 f=1.500000\n") != NULL);
    CHECK(strstr(outbuf, "hello from 1: x=42 f=1.500000\n") != NULL);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(recursive_device_functions_return_values)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    uint64_t d = dalloc(c, 64 * 4);
    uint8_t p[12];
    int n = 12, out[64];
    static const int fib[] = { 144, 233, 377, 610 };

    CHECK_EQ(rc, 0);
    memcpy(p, &d, 8);
    memcpy(p + 8, &n, 4);
    CHECK_EQ(simtest_launch(c, func(m, "recurse", NULL), 1, 1, 64, 1, 0, p, 12), 0);
    simtest_dtoh(c, out, d, sizeof(out));
    for (int i = 0; i < 64; i++) {
        CHECK_EQ(out[i], fib[i & 3]);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(divergent_branches_reconverge_for_shuffle_and_ballot)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    uint64_t d = dalloc(c, 32 * 4);
    int out[32], v[32];
    unsigned ballot = 0;

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "divergent", NULL), 1, 1, 32, 1, 0, &d, 8), 0);
    simtest_dtoh(c, out, d, sizeof(out));
    for (int t = 0; t < 32; t++) {
        v[t] = (t & 1) ? t * 3 : t + 100;
        if (t < 8) for (int k = 0; k < t; k++) v[t] += k;
    }
    int w[32];
    for (int t = 0; t < 32; t++) w[t] = v[t] + v[(t + 1) & 31];
    for (int t = 0; t < 32; t++) if (w[t] & 4) ballot |= 1u << t;
    for (int t = 0; t < 32; t++) {
        CHECK_EQ(out[t], (int)(w[t] ^ ballot));
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(device_assert_fails_the_launch_with_assert_status)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    int x = 5;

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "asserter", NULL), 1, 1, 32, 1, 0, &x, 4), VGPU_S_ASSERT);
    CHECK(strstr(outbuf, "Assertion `x != threadIdx.x` failed") != NULL);
    x = 100;
    CHECK_EQ(simtest_launch(c, func(m, "asserter", NULL), 1, 1, 32, 1, 0, &x, 4), 0);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(globaltimer_spin_kernel_completes)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    uint64_t ns = 200 * 1000 * 1000ull;

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "spin", NULL), 1, 1, 32, 1, 0, &ns, 8), 0);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(entry_reports_parameters_and_attributes)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuFuncInfo fi;
    const char *ptx =
        ".version 8.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry k(.param .u8 a, .param .align 8 .b8 s[24], .param .u32 b, "
        ".param .f64 c)\n.maxntid 128, 1, 1\n{\n.reg .b32 %r<5>;\n"
        ".shared .align 4 .b8 buf[100];\n.local .align 8 .b8 dep[40];\nret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);

    CHECK_EQ(rc, 0);
    CHECK(func(m, "k", &fi) != NULL);
    CHECK_EQ(fi.nparams, 4);
    CHECK_EQ(fi.params[0].offset, 0);
    CHECK_EQ(fi.params[0].size, 1);
    CHECK_EQ(fi.params[1].offset, 8);
    CHECK_EQ(fi.params[1].size, 24);
    CHECK_EQ(fi.params[2].offset, 32);
    CHECK_EQ(fi.params[3].offset, 40);
    CHECK_EQ(fi.param_bytes, 48);
    CHECK_EQ(fi.attrs[VGPU_FUNC_ATTR_MAX_THREADS], 128);
    CHECK_EQ(fi.attrs[VGPU_FUNC_ATTR_SHARED_BYTES], 100);
    CHECK_EQ(fi.attrs[VGPU_FUNC_ATTR_LOCAL_BYTES], 40);
    CHECK_EQ(fi.attrs[VGPU_FUNC_ATTR_NUM_REGS], 5);
    CHECK_EQ(fi.attrs[VGPU_FUNC_ATTR_PTX_VERSION], 75);   /* .target, as the driver reports */
    vgpu_exec_sim_ops.ctx_destroy(c);
}


/* ---- features.cu: math library, atomics, warp intrinsics, misc ------------- */

static uint32_t brev32(uint32_t x)
{
    uint32_t r = 0;

    for (int i = 0; i < 32; i++) {
        r |= ((x >> i) & 1u) << (31 - i);
    }
    return r;
}

TEST(math_library_kernels_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features.ptx", VGPU_IMAGE_PTX, &rc);
    float x[32], y[256];
    double xd[32], yd[128];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 32; i++) {
        x[i] = (float)(i - 16) * 0.37f;
        xd[i] = (double)(i - 13) * 0.61;
    }
    uint64_t dx = dalloc(c, sizeof(x)), dy = dalloc(c, sizeof(y));
    uint64_t dxd = dalloc(c, sizeof(xd)), dyd = dalloc(c, sizeof(yd));
    simtest_htod(c, dx, x, sizeof(x));
    simtest_htod(c, dxd, xd, sizeof(xd));
    uint64_t p[4] = { dx, dy, dxd, dyd };
    CHECK_EQ(simtest_launch(c, func(m, "mathlib", NULL), 1, 1, 32, 1, 0, p, 32), 0);
    simtest_dtoh(c, y, dy, sizeof(y));
    simtest_dtoh(c, yd, dyd, sizeof(yd));
    for (int i = 0; i < 32; i++) {
        float v = x[i];
        double want[8] = { sin(v), exp(v), log(fabs(v) + 1.0), pow(fabs(v), 1.5),
                           v / (x[(i + 1) & 31] + 3.0f), tanh(v), atan2(v, 0.5), erf(v) };
        for (int k = 0; k < 8; k++) {
            double tol = 4e-6 * (fabs(want[k]) > 1 ? fabs(want[k]) : 1);
            if (!(fabs(y[i * 8 + k] - want[k]) <= tol)) {
                printf("# i=%d k=%d got %.9g want %.9g\n", i, k, y[i * 8 + k], want[k]);
            }
            CHECK(fabs(y[i * 8 + k] - want[k]) <= tol);
        }
        double d = xd[i];
        double wd[4] = { sin(d), exp(d), log(fabs(d) + 1.0), d / (xd[(i + 3) & 31] + 7.0) };
        for (int k = 0; k < 4; k++) {
            CHECK(fabs(yd[i * 4 + k] - wd[k]) <= 1e-15 * (fabs(wd[k]) > 1 ? fabs(wd[k]) : 1));
        }
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(every_atomic_nvcc_emits_is_exact_across_blocks)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features.ptx", VGPU_IMAGE_PTX, &rc);
    int ia[5] = { 0, 0, INT32_MIN, INT32_MAX, 0 };
    unsigned ua[6] = { 0xffffffffu, 0, 0, 0, 0, 0 };
    float fa = 0;
    double da = 0;
    unsigned long long la[2] = { 0, 0 };
    int nb = 8, nt = 128, n = nb * nt;

    CHECK_EQ(rc, 0);
    uint64_t dia = dalloc(c, sizeof(ia)), dua = dalloc(c, sizeof(ua)), dfa = dalloc(c, 4);
    uint64_t dda = dalloc(c, 8), dla = dalloc(c, 16);
    simtest_htod(c, dia, ia, sizeof(ia));
    simtest_htod(c, dua, ua, sizeof(ua));
    simtest_htod(c, dfa, &fa, 4);
    simtest_htod(c, dda, &da, 8);
    simtest_htod(c, dla, la, 16);
    uint64_t p[5] = { dia, dua, dfa, dda, dla };
    CHECK_EQ(simtest_launch(c, func(m, "atomics", NULL), nb, 1, nt, 1, 0, p, 40), 0);
    simtest_dtoh(c, ia, dia, sizeof(ia));
    simtest_dtoh(c, ua, dua, sizeof(ua));
    simtest_dtoh(c, &fa, dfa, 4);
    simtest_dtoh(c, &da, dda, 8);
    simtest_dtoh(c, la, dla, 16);
    unsigned x = 0;
    for (int t = 0; t < n; t++) x ^= (unsigned)t;
    CHECK_EQ(ia[0], n);
    CHECK_EQ(ia[1], -2 * n);
    CHECK_EQ(ia[2], n - 1);
    CHECK_EQ(ia[3], -(n - 1));
    CHECK_EQ(ia[4], 3 * n);
    CHECK_EQ(ua[0], 0);
    CHECK_EQ(ua[1], 0xffffffffu);
    CHECK_EQ(ua[2], x);
    CHECK_EQ(ua[3], n % 17);
    CHECK_EQ(ua[5], 7);
    CHECK(fa == 0.5f * n);
    CHECK(da == 0.25 * n);
    CHECK(la[0] == (unsigned long long)n << 33);
    CHECK(la[1] == (unsigned long long)(n - 1) << 40);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(warp_intrinsics_match_their_definitions)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features.ptx", VGPU_IMAGE_PTX, &rc);
    int in[32], out[32 * 6];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 32; i++) in[i] = (i * 37) % 91;
    uint64_t din = dalloc(c, sizeof(in)), dout = dalloc(c, sizeof(out));
    simtest_htod(c, din, in, sizeof(in));
    uint64_t p[2] = { din, dout };
    CHECK_EQ(simtest_launch(c, func(m, "warps", NULL), 1, 1, 32, 1, 0, p, 16), 0);
    simtest_dtoh(c, out, dout, sizeof(out));
    int any = 0, all = 1;
    for (int i = 0; i < 32; i++) {
        any |= in[i] > 90;
        all &= in[i] >= 0;
    }
    for (int t = 0; t < 32; t++) {
        unsigned mt = 0;
        for (int j = 0; j < 32; j++) if ((in[j] & 3) == (in[t] & 3)) mt |= 1u << j;
        CHECK_EQ(out[t * 6 + 0], t >= 3 ? in[t - 3] : in[t]);
        CHECK_EQ(out[t * 6 + 1], any);
        CHECK_EQ(out[t * 6 + 2], all);
        CHECK_EQ((unsigned)out[t * 6 + 3], mt);
        CHECK_EQ(out[t * 6 + 4], (t & 1) ? in[t ^ 2] : 0);
        CHECK_EQ((unsigned)out[t * 6 + 5], 0xffffffffu);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(local_arrays_switches_structs_and_integer_intrinsics_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features.ptx", VGPU_IMAGE_PTX, &rc);
    int in[32];
    long long out[320];
    struct { int a; double b; char c; } pp = { 5, 2.75, 'q' };
    VgpuFuncInfo fi;

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 32; i++) in[i] = (i * 2654435761u) >> (i & 1 ? 7 : 17);
    uint64_t din = dalloc(c, sizeof(in)), dout = dalloc(c, sizeof(out));
    simtest_htod(c, din, in, sizeof(in));
    VgpuExecFunc *f = func(m, "misc", &fi);
    CHECK_EQ(fi.nparams, 3);
    CHECK_EQ(fi.params[2].offset, 16);
    CHECK_EQ(fi.params[2].size, 24);
    uint8_t p[40];
    memcpy(p, &din, 8);
    memcpy(p + 8, &dout, 8);
    memcpy(p + 16, &pp, 24);
    CHECK_EQ(simtest_launch(c, f, 1, 1, 32, 1, 0, p, 40), 0);
    simtest_dtoh(c, out, dout, sizeof(out));
    for (int t = 0; t < 32; t++) {
        int arr[16];
        for (int k = 0; k < 16; k++) arr[k] = in[(t + k) & 31] * k;
        static const int sw[7] = { 11, 22, 33, 44, 55, 66, -1 };
        unsigned u = (unsigned)in[t] * 2654435761u;
        unsigned long long wide = ((unsigned long long)0xdeadbeefu << 32) | u;
        uint64_t x64 = ((uint64_t)0x11223344u << 32) | u;
        unsigned bp = 0;
        for (int i = 0; i < 4; i++) bp |= (unsigned)((x64 >> (8 * ((0x5140 >> (4 * i)) & 7))) & 0xff) << (8 * i);
        _Float16 h = (_Float16)((float)in[t] * 0.3f);
        CHECK_EQ(out[t * 10 + 0], arr[in[t] & 15]);
        CHECK_EQ(out[t * 10 + 1], sw[in[t] % 7]);
        CHECK_EQ(out[t * 10 + 2], in[t] * 2 + (long long)(pp.b + 1) + 'x' + pp.a + pp.c);
        CHECK_EQ(out[t * 10 + 3], __builtin_popcount(u) + (u ? __builtin_clz(u) : 32) * 100 +
                                  __builtin_ffs((int)u) * 10000);
        CHECK_EQ(out[t * 10 + 4], (long long)brev32(u));
        CHECK_EQ(out[t * 10 + 5], (long long)bp);
        CHECK_EQ(out[t * 10 + 6], (long long)(unsigned)((wide << (t & 31)) >> 32));
        CHECK_EQ(out[t * 10 + 7], (long long)(unsigned)((unsigned)(((unsigned long long)u * 0x9e3779b9u) >> 32) +
                                  (unsigned)(int)(((long long)(int)u * -77) >> 32)));
        CHECK_EQ(out[t * 10 + 8], (long long)in[t] * -123456789LL / 77 % 1000003);
        float hf = (float)h * 10.0f;
        long long want9 = hf >= 2147483647.0f ? INT32_MAX : hf <= -2147483648.0f ? INT32_MIN :
                          (long long)nearbyintf(hf);
        CHECK_EQ(out[t * 10 + 9], want9);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(vector_loads_ldg_and_double2_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    float in[64 * 4], out[64 * 4];
    double din[64 * 2], dout[64 * 2];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 256; i++) in[i] = (float)i * 0.25f - 3;
    for (int i = 0; i < 128; i++) din[i] = (double)i * 1.5 - 7;
    uint64_t d1 = dalloc(c, sizeof(in)), d2 = dalloc(c, sizeof(out));
    uint64_t d3 = dalloc(c, sizeof(din)), d4 = dalloc(c, sizeof(dout));
    simtest_htod(c, d1, in, sizeof(in));
    simtest_htod(c, d3, din, sizeof(din));
    uint64_t p[4] = { d1, d2, d3, d4 };
    CHECK_EQ(simtest_launch(c, func(m, "vec4", NULL), 2, 1, 32, 1, 0, p, 32), 0);
    simtest_dtoh(c, out, d2, sizeof(out));
    simtest_dtoh(c, dout, d4, sizeof(dout));
    for (int i = 0; i < 64; i++) {
        const float *v = in + 4 * i;
        CHECK(out[4 * i] == v[3] && out[4 * i + 1] == v[2] * 2 && out[4 * i + 2] == v[1] + 1 &&
              out[4 * i + 3] == fminf(v[0], 0.5f));
        CHECK(dout[2 * i] == din[2 * i + 1] && dout[2 * i + 1] == din[2 * i] * 0.5);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(int64_division_shifts_and_intrinsics_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    long long a[64], out[64 * 8];
    unsigned long long b[64];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 64; i++) {
        a[i] = (long long)(0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)) >> (i & 7);
        b[i] = 0xc2b2ae3d27d4eb4full * (uint64_t)(i + 11);
    }
    uint64_t d1 = dalloc(c, sizeof(a)), d2 = dalloc(c, sizeof(b)), d3 = dalloc(c, sizeof(out));
    simtest_htod(c, d1, a, sizeof(a));
    simtest_htod(c, d2, b, sizeof(b));
    uint64_t p[3] = { d1, d2, d3 };
    CHECK_EQ(simtest_launch(c, func(m, "int64ops", NULL), 1, 1, 64, 1, 0, p, 24), 0);
    simtest_dtoh(c, out, d3, sizeof(out));
    for (int i = 0; i < 64; i++) {
        long long x = a[i];
        unsigned long long y = b[i] | 1;
        CHECK_EQ(out[i * 8 + 0], x / (long long)(y & 0xffff));
        CHECK_EQ(out[i * 8 + 1], x % 1000000007LL);
        CHECK_EQ(out[i * 8 + 2], (long long)(y / 7u));
        CHECK_EQ(out[i * 8 + 3], (long long)(y % (unsigned long long)(i + 3)));
        CHECK_EQ(out[i * 8 + 4], __builtin_popcountll(y) + __builtin_clzll(y) * 100);
        CHECK_EQ(out[i * 8 + 5], (long long)(uint64_t)(((unsigned __int128)y * 0x9e3779b97f4a7c15ull) >> 64));
        CHECK_EQ(out[i * 8 + 6], x >> (i & 63));
        CHECK_EQ(out[i * 8 + 7], (long long)(y >> (i & 63)) ^ (long long)((unsigned long long)x << (i & 31)));
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(float_intrinsics_and_classification_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    float in[32], out[32 * 6];
    int iout[32 * 3];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 32; i++) in[i] = (float)(i - 16) * 0.75f;
    in[0] = NAN;
    in[1] = -INFINITY;
    in[2] = 2.5f;
    in[3] = -2.5f;
    in[4] = 3e9f;
    uint64_t d1 = dalloc(c, sizeof(in)), d2 = dalloc(c, sizeof(out)), d3 = dalloc(c, sizeof(iout));
    simtest_htod(c, d1, in, sizeof(in));
    uint64_t p[3] = { d1, d2, d3 };
    CHECK_EQ(simtest_launch(c, func(m, "fintr", NULL), 1, 1, 32, 1, 0, p, 24), 0);
    simtest_dtoh(c, out, d2, sizeof(out));
    simtest_dtoh(c, iout, d3, sizeof(iout));
    for (int i = 5; i < 32; i++) {
        float v = in[i];
        double dv = v;
        uint64_t db;
        memcpy(&db, &dv, 8);
        CHECK(out[i * 6 + 0] == floorf(v) + ceilf(v) * 10.0f);
        CHECK(out[i * 6 + 1] == rintf(v) + truncf(v) * 10.0f);
        CHECK(out[i * 6 + 2] == fmaxf(v, -1.0f) + fabsf(v));
        CHECK(out[i * 6 + 3] == -v);
        CHECK(out[i * 6 + 4] == copysignf(3.0f, v));
        CHECK(out[i * 6 + 5] == sqrtf(fabsf(v)));
        CHECK_EQ(iout[i * 3 + 1], (int)floorf(v));
        CHECK_EQ(iout[i * 3 + 2], (int)(db >> 32));
    }
    CHECK_EQ(iout[0], 1);
    CHECK_EQ(iout[3], 2);
    CHECK(out[2 * 6 + 1] == 2.0f + 20.0f);      /* rint ties to even */
    CHECK_EQ(iout[1 * 3 + 1], INT32_MIN);        /* -inf saturates */
    CHECK_EQ(iout[4 * 3 + 1], INT32_MAX);        /* 3e9 saturates */
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(half2_arithmetic_matches_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    _Float16 a[64], b[64], r[64];

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 64; i++) {
        a[i] = (_Float16)((float)i * 0.5f);
        b[i] = (_Float16)(float)((i % 5) - 2);
    }
    uint64_t d1 = dalloc(c, sizeof(a)), d2 = dalloc(c, sizeof(b)), d3 = dalloc(c, sizeof(r));
    simtest_htod(c, d1, a, sizeof(a));
    simtest_htod(c, d2, b, sizeof(b));
    uint64_t p[3] = { d1, d2, d3 };
    CHECK_EQ(simtest_launch(c, func(m, "h2", NULL), 1, 1, 32, 1, 0, p, 24), 0);
    simtest_dtoh(c, r, d3, sizeof(r));
    for (int i = 0; i < 64; i++) {
        float s = (float)a[i] + (float)b[i];
        CHECK((float)r[i] == (float)a[i] * (float)b[i] + s);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(printf_formats_match_the_host)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    int x = -1234;
    char want[256];

    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "fmt", NULL), 1, 1, 32, 1, 0, &x, 4), 0);
    snprintf(want, sizeof(want), "i=%d u=%u x=%x ll=%lld s=%s c=%c e=%.3e g=%g pct=%%\n", x,
             (unsigned)x * 3u, x, (long long)((unsigned long long)(long long)x << 40), "str", 'Z', 12345.678, 0.5);
    if (strcmp(outbuf, want)) {
        printf("# got  %s# want %s", outbuf, want);
    }
    CHECK(strcmp(outbuf, want) == 0);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(switch_jump_chains_and_shared_float_atomics)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "features2.ptx", VGPU_IMAGE_PTX, &rc);
    int in[64], out[64];
    static const int want[10] = { 5, 17, -3, 99, 1000, 7, 8, 123, 4, 44 };

    CHECK_EQ(rc, 0);
    for (int i = 0; i < 64; i++) in[i] = (i * 7) % 13 - 1;
    uint64_t d1 = dalloc(c, sizeof(in)), d2 = dalloc(c, sizeof(out));
    simtest_htod(c, d1, in, sizeof(in));
    uint64_t p[2] = { d1, d2 };
    CHECK_EQ(simtest_launch(c, func(m, "jump", NULL), 1, 1, 64, 1, 0, p, 16), 0);
    simtest_dtoh(c, out, d2, sizeof(out));
    for (int i = 0; i < 64; i++) {
        CHECK_EQ(out[i], in[i] >= 0 && in[i] < 10 ? want[in[i]] : 0);
    }
    float acc;
    CHECK_EQ(simtest_launch(c, func(m, "sharedf", NULL), 3, 1, 256, 1, 0, &d2, 8), 0);
    simtest_dtoh(c, &acc, d2, 4);
    CHECK(acc == 64.0f);
    uint64_t g, sz;
    float sd[64];
    CHECK_EQ(vgpu_exec_sim_ops.module_get_global(m, "sdata_f", &g, &sz), 0);
    simtest_dtoh(c, sd, g, sizeof(sd));
    for (int i = 0; i < 64; i++) {
        CHECK(sd[i] == 12.0f);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(indirect_calls_with_different_targets_per_lane)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    const char *ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".func (.param .b32 r) inc(.param .b32 a);\n.func (.param .b32 r) dbl(.param .b32 a);\n"
        ".global .align 8 .u64 tab[2] = {inc, dbl};\n"
        ".func (.param .b32 r) inc(.param .b32 a)\n{\n.reg .b32 %r<3>;\n"
        "ld.param.u32 %r1, [a];\nadd.s32 %r2, %r1, 1;\nst.param.b32 [r], %r2;\nret;\n}\n"
        ".func (.param .b32 r) dbl(.param .b32 a)\n{\n.reg .b32 %r<3>;\n"
        "ld.param.u32 %r1, [a];\nshl.b32 %r2, %r1, 1;\nst.param.b32 [r], %r2;\nret;\n}\n"
        ".visible .entry k(.param .u64 o)\n{\n.reg .b32 %r<6>;\n.reg .b64 %rd<8>;\n"
        "ld.param.u64 %rd1, [o];\nmov.u32 %r1, %tid.x;\nand.b32 %r2, %r1, 1;\n"
        "mul.wide.u32 %rd2, %r2, 8;\nmov.u64 %rd3, tab;\nadd.s64 %rd4, %rd3, %rd2;\n"
        "ld.global.u64 %rd5, [%rd4];\n{\n.param .b32 a0;\nst.param.b32 [a0], %r1;\n"
        ".param .b32 r0;\nproto : .callprototype (.param .b32 _) _ (.param .b32 _);\n"
        "call (r0), %rd5, (a0), proto;\nld.param.b32 %r3, [r0];\n}\n"
        "mul.wide.u32 %rd6, %r1, 4;\nadd.s64 %rd7, %rd1, %rd6;\nst.global.u32 [%rd7], %r3;\n"
        "ret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);
    uint64_t d = dalloc(c, 64 * 4);
    int out[64];

    if (rc) {
        printf("# %s\n", logbuf);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(simtest_launch(c, func(m, "k", NULL), 1, 1, 64, 1, 0, &d, 8), 0);
    simtest_dtoh(c, out, d, sizeof(out));
    for (int i = 0; i < 64; i++) {
        CHECK_EQ(out[i], (i & 1) ? i * 2 : i + 1);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

/* ---- hostile kernels ------------------------------------------------------- */

static int run_hostile(const char *body, unsigned threads, uint64_t budget)
{
    char ptx[4096];
    int rc;
    VgpuExecCtx *c;

    if (budget) {
        /* A separate executor with a small budget. */
        VgpuExec *e2;
        char err[128];
        VgpuExecConfig cfg = { .threads = 2, .insn_budget = budget };
        VgpuExecCtxHooks h = { NULL, capture };

        vgpu_exec_sim_ops.init(&cfg, &e2, err, sizeof(err));
        vgpu_exec_sim_ops.ctx_create(e2, &h, &c);
        snprintf(ptx, sizeof(ptx), ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".visible .entry h(.param .u64 p)\n{\n.reg .pred %%p<4>;\n.reg .b32 %%r<16>;\n"
                 ".reg .b64 %%rd<16>;\n.shared .align 4 .b8 sh[64];\n"
                 ".local .align 4 .b8 lo[16];\n%s\nret;\n}\n", body);
        VgpuExecModule *m = load_text(c, ptx, &rc);
        if (rc) {
            printf("# %s\n", logbuf);
            return -1;
        }
        uint64_t d = dalloc(c, 256);
        rc = simtest_launch(c, func(m, "h", NULL), 2, 1, threads, 1, 0, &d, 8);
        vgpu_exec_sim_ops.ctx_destroy(c);
        vgpu_exec_sim_ops.fini(e2);
        return rc;
    }
    c = new_ctx();
    snprintf(ptx, sizeof(ptx), ".version 9.0\n.target sm_75\n.address_size 64\n"
             ".visible .entry h(.param .u64 p)\n{\n.reg .pred %%p<4>;\n.reg .b32 %%r<16>;\n"
             ".reg .b64 %%rd<16>;\n.shared .align 4 .b8 sh[64];\n"
             ".local .align 4 .b8 lo[16];\n%s\nret;\n}\n", body);
    VgpuExecModule *m = load_text(c, ptx, &rc);
    if (rc) {
        printf("# %s\n", logbuf);
        vgpu_exec_sim_ops.ctx_destroy(c);
        return -1;
    }
    uint64_t d = dalloc(c, 256);
    rc = simtest_launch(c, func(m, "h", NULL), 2, 1, threads, 1, 0, &d, 8);
    vgpu_exec_sim_ops.ctx_destroy(c);
    return rc;
}

TEST(out_of_bounds_global_access_is_an_illegal_address)
{
    CHECK_EQ(run_hostile("ld.param.u64 %rd1, [p];\nst.global.u32 [%rd1+256], 1;", 32, 0),
             VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("ld.param.u64 %rd1, [p];\nst.global.u32 [%rd1+252], 1;", 32, 0), 0);
    CHECK_EQ(run_hostile("mov.u64 %rd1, 0;\nld.u32 %r1, [%rd1];", 1, 0),
             VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("mov.u64 %rd1, -4;\nld.global.u32 %r1, [%rd1];", 1, 0),
             VGPU_S_ILLEGAL_ADDRESS);
}

TEST(out_of_bounds_shared_local_and_param_access_faults)
{
    CHECK_EQ(run_hostile("mov.u32 %r1, sh;\nst.shared.u32 [%r1+64], 1;", 32, 0),
             VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("mov.u32 %r1, 1048576;\nld.shared.u32 %r2, [%r1];", 1, 0),
             VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("mov.u64 %rd1, 1000000;\nst.local.u32 [%rd1], 1;", 1, 0),
             VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("ld.param.u64 %rd1, [p+8];", 1, 0), VGPU_S_ILLEGAL_ADDRESS);
    CHECK_EQ(run_hostile("ld.param.u64 %rd1, [p];\nld.global.u32 %r1, [%rd1+2];", 1, 0),
             VGPU_S_MISALIGNED_ADDRESS);
}

TEST(endless_loop_hits_the_instruction_budget)
{
    CHECK_EQ(run_hostile("L1:\nbra.uni L1;", 64, 1u << 24), VGPU_S_LAUNCH_TIMEOUT);
}

TEST(runaway_recursion_is_stopped)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    const char *ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".func r(.param .b32 x)\n{\n.reg .b32 %r<3>;\nld.param.b32 %r1, [x];\n"
        "add.s32 %r2, %r1, 1;\n{\n.param .b32 a;\nst.param.b32 [a], %r2;\n"
        "call.uni r, (a);\n}\nret;\n}\n"
        ".visible .entry h()\n{\n{\n.param .b32 a;\nst.param.b32 [a], 0;\ncall.uni r, (a);\n}\nret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);

    CHECK_EQ(rc, 0);
    rc = simtest_launch(c, func(m, "h", NULL), 1, 1, 32, 1, 0, NULL, 0);
    CHECK(rc == VGPU_S_ILLEGAL_ADDRESS || rc == VGPU_S_LAUNCH_FAILED);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(barrier_that_can_never_complete_fails_the_launch)
{
    /* Warp 0 waits at barrier 1 for 128 threads; only 64 exist. */
    CHECK_EQ(run_hostile("mov.u32 %r1, %tid.x;\nsetp.lt.u32 %p1, %r1, 32;\n"
                         "@%p1 bar.sync 1, 128;\n@!%p1 bar.sync 2, 128;", 64, 0),
             VGPU_S_LAUNCH_FAILED);
    /* Threads that exited early do not block __syncthreads of the others. */
    CHECK_EQ(run_hostile("mov.u32 %r1, %tid.x;\nsetp.lt.u32 %p1, %r1, 40;\n"
                         "@%p1 bra DONE;\nbar.sync 0;\nDONE:", 64, 0), 0);
}

TEST(malformed_ptx_is_refused_with_the_line)
{
    VgpuExecCtx *c = new_ctx();
    int rc;

    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".visible .entry k()\n{\n.reg .b32 %r<2>;\nfoo.bar %r1;\nret;\n}\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    CHECK(strstr(logbuf, "line 7") != NULL);
    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".visible .entry k()\n{\n.reg .b32 %r<2>;\nadd.s32 %r1, %r9, 1;\nret;\n}\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    CHECK(strstr(logbuf, "line 7") != NULL && strstr(logbuf, "%r9") != NULL);
    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".visible .entry k()\n{\nbra.uni NOWHERE;\n}\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n.visible .entry k(\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    load_text(c, ".version 10.0\n.target sm_75\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".visible .entry k()\n{\n.reg .pred %p1;\n.reg .f64 %fd1;\n"
                 "add.s32 %p1, %fd1, 1;\nret;\n}\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    CHECK(strstr(logbuf, "line 8") != NULL);
    load_text(c, ".version 9.0\n.target sm_75\n.address_size 64\n"
                 ".const .align 4 .b8 big[70000];\n.visible .entry k()\n{\nret;\n}\n", &rc);
    CHECK_EQ(rc, VGPU_S_INVALID_PTX);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(a_faulting_context_leaves_another_context_working)
{
    VgpuExecCtx *bad = new_ctx(), *good = new_ctx();
    int rc;
    VgpuExecModule *mb = load_text(bad, ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry k(.param .u64 p)\n{\n.reg .b64 %rd<3>;\nld.param.u64 %rd1, [p];\n"
        "st.global.u32 [%rd1], 7;\nret;\n}\n", &rc);
    CHECK_EQ(rc, 0);
    uint64_t dg = dalloc(good, 4);
    /* The bad context aims at the good one's allocation. */
    CHECK_EQ(simtest_launch(bad, func(mb, "k", NULL), 1, 1, 1, 1, 0, &dg, 8), VGPU_S_ILLEGAL_ADDRESS);
    int v = 1;
    simtest_htod(good, dg, &v, 4);
    simtest_dtoh(good, &v, dg, 4);
    CHECK_EQ(v, 1);
    vgpu_exec_sim_ops.ctx_destroy(bad);
    vgpu_exec_sim_ops.ctx_destroy(good);
}

/* ---- fatbins, memory, device ------------------------------------------------ */

TEST(fatbin_with_zstd_ptx_loads_and_runs)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    VgpuExecModule *m = load_file(c, "tiny_ptx.fatbin", VGPU_IMAGE_FATBIN, &rc);

    CHECK_EQ(rc, 0);
    float x[4] = { 1, 2, 3, 4 };
    uint64_t d = dalloc(c, 16);
    simtest_htod(c, d, x, 16);
    uint8_t p[16];
    float f = 2.5f;
    int n = 3;
    memcpy(p, &d, 8);
    memcpy(p + 8, &f, 4);
    memcpy(p + 12, &n, 4);
    CHECK_EQ(simtest_launch(c, func(m, "scale", NULL), 1, 1, 32, 1, 0, p, 16), 0);
    simtest_dtoh(c, x, d, 16);
    CHECK(x[0] == 2.5f && x[2] == 7.5f && x[3] == 4);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(fatbin_with_only_sass_is_refused_clearly)
{
    VgpuExecCtx *c = new_ctx();
    int rc;

    load_file(c, "tiny_sass.fatbin", VGPU_IMAGE_FATBIN, &rc);
    CHECK_EQ(rc, VGPU_S_NO_BINARY_FOR_GPU);
    CHECK(strstr(logbuf, "PTX") != NULL);
    CHECK_EQ(vgpu_exec_sim_ops.module_load(c, VGPU_IMAGE_CUBIN, "\x7f" "ELF", 4, NULL,
                                           logbuf, sizeof(logbuf)), VGPU_S_NO_BINARY_FOR_GPU);
    CHECK_EQ(vgpu_exec_sim_ops.module_load(c, VGPU_IMAGE_FATBIN, "junkjunkjunkjunkjunk", 20,
                                           NULL, logbuf, sizeof(logbuf)), VGPU_S_INVALID_IMAGE);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(memory_ops_copy_set_and_free)
{
    VgpuExecCtx *c = new_ctx();
    uint64_t a = dalloc(c, 1000), b = dalloc(c, 1000);
    uint8_t buf[1000];
    VgpuExecItem it;

    CHECK(a && b && a != b);
    CHECK_EQ(a % 256, 0);
    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_MEMSET;
    it.u.memset.dptr = a;
    it.u.memset.count = 250;
    it.u.memset.value = 0x01020304;
    it.u.memset.elem_size = 4;
    CHECK_EQ(simtest_run(c, &it), 0);
    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_DTOD;
    it.u.dtod.dst = b;
    it.u.dtod.src = a;
    it.u.dtod.size = 1000;
    CHECK_EQ(simtest_run(c, &it), 0);
    CHECK_EQ(simtest_dtoh(c, buf, b, 1000), 0);
    CHECK_EQ(buf[0], 4);
    CHECK_EQ(buf[999], 1);
    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_MARKER;
    CHECK_EQ(simtest_run(c, &it), 0);
    CHECK_EQ(vgpu_exec_sim_ops.mem_free(c, a + 4), VGPU_S_INVALID_VALUE);
    CHECK_EQ(vgpu_exec_sim_ops.mem_free(c, a), 0);
    CHECK_EQ(vgpu_exec_sim_ops.mem_free(c, a), VGPU_S_INVALID_VALUE);
    uint64_t f, t;
    vgpu_exec_sim_ops.mem_get_info(ex, &f, &t);
    CHECK(t >= f && f > 0);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(mem_free_does_not_wait_for_a_running_kernel_nor_break_it)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    const char *ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry k(.param .u64 p, .param .u64 ns, .param .u64 f)\n{\n"
        ".reg .pred %p<2>;\n.reg .b64 %rd<8>;\nld.param.u64 %rd1, [p];\n"
        "ld.param.u64 %rd2, [ns];\nld.param.u64 %rd6, [f];\nst.global.u32 [%rd6], 1;\n"
        "mov.u64 %rd3, %globaltimer;\nL:\nmov.u64 %rd4, %globaltimer;\n"
        "sub.s64 %rd5, %rd4, %rd3;\nsetp.lt.u64 %p1, %rd5, %rd2;\n@%p1 bra L;\n"
        "st.global.u64 [%rd1], %rd5;\nret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    VgpuExecItem it;
    uint64_t d = dalloc(c, 64), flag = dalloc(c, 4), p[3] = { d, 300 * 1000 * 1000ull, flag };
    VgpuExecStream *s2;
    int started = 0;

    CHECK_EQ(rc, 0);
    CHECK_EQ(vgpu_exec_sim_ops.stream_create(c, &s2), 0);
    memset(&it, 0, sizeof(it));
    it.kind = VGPU_ITEM_LAUNCH;
    it.u.launch.func = func(m, "k", NULL);
    it.u.launch.grid[0] = it.u.launch.grid[1] = it.u.launch.grid[2] = 1;
    it.u.launch.block[0] = 32;
    it.u.launch.block[1] = it.u.launch.block[2] = 1;
    it.u.launch.params = p;
    it.u.launch.param_bytes = 24;
    it.done = simtest_done;
    it.opaque = &w;
    CHECK_EQ(vgpu_exec_sim_ops.submit(c, &it), 0);
    /* Wait (through another stream) until the kernel runs. */
    while (!started) {
        struct iovec iov = { &started, 4 };
        VgpuExecItem rd;

        memset(&rd, 0, sizeof(rd));
        rd.kind = VGPU_ITEM_DTOH;
        rd.stream = s2;
        rd.u.copy.dptr = flag;
        rd.u.copy.iov = &iov;
        rd.u.copy.iovcnt = 1;
        rd.u.copy.size = 4;
        CHECK_EQ(simtest_run(c, &rd), 0);
    }
    uint64_t other = dalloc(c, 128);
    CHECK(other != 0);
    CHECK_EQ(vgpu_exec_sim_ops.mem_free(c, d), 0);
    CHECK_EQ(vgpu_exec_sim_ops.mem_free(c, other), 0);
    pthread_mutex_lock(&w.m);
    int done_early = w.done;
    while (!w.done) {
        pthread_cond_wait(&w.c, &w.m);
    }
    pthread_mutex_unlock(&w.m);
    CHECK_EQ(done_early, 0);
    CHECK_EQ(w.status, 0);
    vgpu_exec_sim_ops.stream_destroy(s2);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(streams_run_in_order_and_complete_every_item)
{
    VgpuExecCtx *c = new_ctx();
    VgpuExecStream *s1, *s2;
    int rc;
    VgpuExecModule *m = load_file(c, "basic.ptx", VGPU_IMAGE_PTX, &rc);
    enum { N = 40 };
    VgpuExecItem items[N];
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    uint64_t d1 = dalloc(c, 4096 * 4), d2 = dalloc(c, 4096 * 4);
    uint8_t p1[24], p2[24];
    int n = 4096;
    float a = 2.0f;

    CHECK_EQ(rc, 0);
    CHECK_EQ(vgpu_exec_sim_ops.stream_create(c, &s1), 0);
    CHECK_EQ(vgpu_exec_sim_ops.stream_create(c, &s2), 0);
    memcpy(p1, &n, 4);
    memcpy(p1 + 4, &a, 4);
    memcpy(p1 + 8, &d1, 8);
    memcpy(p1 + 16, &d1, 8);
    memcpy(p2, p1, 8);
    memcpy(p2 + 8, &d2, 8);
    memcpy(p2 + 16, &d2, 8);
    /* saxpy with x == y doubles y*2+y = 3y per launch: order matters with memsets. */
    for (int i = 0; i < N; i++) {
        memset(&items[i], 0, sizeof(items[i]));
        items[i].stream = (i & 1) ? s2 : s1;
        if (i < 2) {
            items[i].kind = VGPU_ITEM_MEMSET;
            items[i].u.memset.dptr = (i & 1) ? d2 : d1;
            items[i].u.memset.count = 4096;
            items[i].u.memset.value = 0x3f800000;   /* 1.0f */
            items[i].u.memset.elem_size = 4;
        } else {
            items[i].kind = VGPU_ITEM_LAUNCH;
            items[i].u.launch.func = func(m, "saxpy", NULL);
            items[i].u.launch.grid[0] = 16;
            items[i].u.launch.grid[1] = items[i].u.launch.grid[2] = 1;
            items[i].u.launch.block[0] = 256;
            items[i].u.launch.block[1] = items[i].u.launch.block[2] = 1;
            items[i].u.launch.params = (i & 1) ? p2 : p1;
            items[i].u.launch.param_bytes = 24;
        }
        items[i].done = simtest_done;
        items[i].opaque = &w;
        CHECK_EQ(vgpu_exec_sim_ops.submit(c, &items[i]), 0);
    }
    pthread_mutex_lock(&w.m);
    while (w.done < N) {
        pthread_cond_wait(&w.c, &w.m);
    }
    pthread_mutex_unlock(&w.m);
    float r[2];
    simtest_dtoh(c, &r[0], d1 + 4000, 4);
    simtest_dtoh(c, &r[1], d2 + 4000, 4);
    CHECK(r[0] == powf(3.0f, (N - 2) / 2) && r[1] == r[0]);
    vgpu_exec_sim_ops.stream_destroy(s1);
    vgpu_exec_sim_ops.stream_destroy(s2);
    vgpu_exec_sim_ops.ctx_destroy(c);
}

static const char *spin_ptx =
    ".version 9.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry spin(.param .u64 out, .param .u64 ns)\n{\n"
    ".reg .pred %p<2>;\n.reg .b64 %rd<8>;\nld.param.u64 %rd1, [out];\n"
    "ld.param.u64 %rd2, [ns];\nmov.u64 %rd3, %globaltimer;\nL:\n"
    "mov.u64 %rd4, %globaltimer;\nsub.s64 %rd5, %rd4, %rd3;\n"
    "setp.lt.u64 %p1, %rd5, %rd2;\n@%p1 bra L;\n"
    "st.global.u64 [%rd1], %rd3;\nst.global.u64 [%rd1+8], %rd4;\nret;\n}\n";

/*
 * A launch of spin_ptx's "spin" in one block of @threads threads: @prm
 * holds the output address (start and end are written there) and the
 * time to spin in ns.
 */
static void spin_item(VgpuExecItem *i, VgpuExecModule *m, uint64_t *prm,
                      unsigned threads, SimWait *w)
{
    memset(i, 0, sizeof(*i));
    i->kind = VGPU_ITEM_LAUNCH;
    i->u.launch.func = func(m, "spin", NULL);
    i->u.launch.grid[0] = i->u.launch.grid[1] = i->u.launch.grid[2] = 1;
    i->u.launch.block[0] = threads;
    i->u.launch.block[1] = i->u.launch.block[2] = 1;
    i->u.launch.params = prm;
    i->u.launch.param_bytes = 16;
    i->done = simtest_done;
    i->opaque = w;
}

/*
 * The compute engine runs one context at a time, as a GPU time-slices
 * contexts: kernels of two contexts, queued together, never overlap in
 * time.  Each kernel records %globaltimer when it starts and ends.
 */
TEST(kernels_of_different_contexts_never_overlap)
{
    enum { K = 6 };
    VgpuExecCtx *c[2] = { new_ctx(), new_ctx() };
    VgpuExecModule *m[2];
    uint64_t d[2], prm[2][K][2], t[2][K][2];
    VgpuExecItem it[2][K];
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    int rc;

    for (int x = 0; x < 2; x++) {
        m[x] = load_text(c[x], spin_ptx, &rc);
        CHECK_EQ(rc, 0);
        d[x] = dalloc(c[x], 16 * K);
    }
    /* Interleaved submission: both engines have work queued at once. */
    for (int k = 0; k < K; k++) {
        for (int x = 0; x < 2; x++) {
            VgpuExecItem *i = &it[x][k];

            prm[x][k][0] = d[x] + 16 * (uint64_t)k;
            prm[x][k][1] = 3 * 1000 * 1000;     /* 3 ms of spinning */
            spin_item(i, m[x], prm[x][k], 32, &w);
            CHECK_EQ(vgpu_exec_sim_ops.submit(c[x], i), 0);
        }
    }
    pthread_mutex_lock(&w.m);
    while (w.done < 2 * K) {
        pthread_cond_wait(&w.c, &w.m);
    }
    pthread_mutex_unlock(&w.m);
    CHECK_EQ(w.status, 0);
    int overlaps = 0, ran = 0;
    for (int x = 0; x < 2; x++) {
        CHECK_EQ(simtest_dtoh(c[x], t[x], d[x], sizeof(t[x])), 0);
    }
    for (int a = 0; a < K; a++) {
        ran += t[0][a][1] > t[0][a][0] && t[1][a][1] > t[1][a][0];
        for (int b = 0; b < K; b++) {
            if (t[0][a][0] < t[1][b][1] && t[1][b][0] < t[0][a][1]) {
                overlaps++;
                printf("# context 0 kernel %d [%llu, %llu] overlaps context 1 kernel %d "
                     "[%llu, %llu]\n", a, (unsigned long long)t[0][a][0],
                     (unsigned long long)t[0][a][1], b, (unsigned long long)t[1][b][0],
                     (unsigned long long)t[1][b][1]);
            }
        }
    }
    CHECK_EQ(ran, K);
    CHECK_EQ(overlaps, 0);
    for (int x = 0; x < 2; x++) {
        vgpu_exec_sim_ops.ctx_destroy(c[x]);
    }
}

/*
 * 5 ms from now, submits a 1 ms spin of @m on @c (start and end to @d),
 * then waits for @w to count @n completions.  Returns the submit's result.
 */
static int late_spin_then_wait(VgpuExecCtx *c, VgpuExecModule *m, uint64_t d,
                               uint64_t prm[2], VgpuExecItem *it, SimWait *w,
                               int n)
{
    int rc;

    usleep(5 * 1000);
    prm[0] = d;
    prm[1] = 1000 * 1000;
    spin_item(it, m, prm, 1, w);
    rc = vgpu_exec_sim_ops.submit(c, it);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&w->m);
    while (w->done < n) {
        pthread_cond_wait(&w->c, &w->m);
    }
    pthread_mutex_unlock(&w->m);
    return 0;
}

/*
 * Waiters get the compute engine in the order they came: a context whose
 * kernel ends must not take the engine straight back for its next kernel
 * ahead of another context already waiting (vgpud's scheduler chose the
 * waiter first).  Context A runs a 45 ms kernel (under the 50 ms time
 * slice) with a short one queued behind it; B's kernel, submitted 5 ms in,
 * waits for the engine the rest of A's first kernel and must run before
 * A's second.
 */
TEST(a_waiting_context_gets_the_engine_before_the_releasing_one_comes_back)
{
    VgpuExecCtx *a = new_ctx(), *b = new_ctx();
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    VgpuExecModule *ma, *mb;
    VgpuExecItem ia[2], ib;
    uint64_t da, db, pa[2][2], pb[2], ta[2][2], tb[2];
    int rc;

    ma = load_text(a, spin_ptx, &rc);
    CHECK_EQ(rc, 0);
    mb = load_text(b, spin_ptx, &rc);
    CHECK_EQ(rc, 0);
    da = dalloc(a, 32);
    db = dalloc(b, 16);
    for (int k = 0; k < 2; k++) {
        pa[k][0] = da + 16 * (uint64_t)k;
        pa[k][1] = k ? 1000 * 1000 : 45 * 1000 * 1000;
        spin_item(&ia[k], ma, pa[k], 1, &w);
        CHECK_EQ(vgpu_exec_sim_ops.submit(a, &ia[k]), 0);
    }
    CHECK_EQ(late_spin_then_wait(b, mb, db, pb, &ib, &w, 3), 0);
    CHECK_EQ(w.status, 0);
    CHECK_EQ(simtest_dtoh(a, ta, da, sizeof(ta)), 0);
    CHECK_EQ(simtest_dtoh(b, tb, db, sizeof(tb)), 0);
    printf("# A1 [0, %llu] B [%llu, %llu] A2 [%llu, %llu] ns\n",
           (unsigned long long)(ta[0][1] - ta[0][0]),
           (unsigned long long)(tb[0] - ta[0][0]),
           (unsigned long long)(tb[1] - ta[0][0]),
           (unsigned long long)(ta[1][0] - ta[0][0]),
           (unsigned long long)(ta[1][1] - ta[0][0]));
    CHECK(tb[0] >= ta[0][1]);
    CHECK(ta[1][0] >= tb[1]);
    vgpu_exec_sim_ops.ctx_destroy(a);
    vgpu_exec_sim_ops.ctx_destroy(b);
}

static uint64_t slow_done_ret;          /* when slow_done returned */

/* A completion callback that takes 20 ms, as a loaded daemon might. */
static void slow_done(VgpuExecItem *it, int status, uint64_t ns)
{
    usleep(20 * 1000);
    slow_done_ret = sim_now_ns();
    simtest_done(it, status, ns);
}

/*
 * A kernel's completion is reported before the compute engine passes to
 * the next context: vgpud's dispatch window opens on that completion, and
 * the thread woken for the next kernel could otherwise keep the reporting
 * thread off the CPU for the whole of its kernel.  A's completion callback
 * takes 20 ms; B, waiting for the engine, must not start before it
 * returned.
 */
TEST(a_completion_is_reported_before_the_engine_moves_on)
{
    VgpuExecCtx *a = new_ctx(), *b = new_ctx();
    SimWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    VgpuExecModule *ma, *mb;
    VgpuExecItem ia, ib;
    uint64_t da, db, pa[2], pb[2], tb[2];
    int rc;

    ma = load_text(a, spin_ptx, &rc);
    CHECK_EQ(rc, 0);
    mb = load_text(b, spin_ptx, &rc);
    CHECK_EQ(rc, 0);
    da = dalloc(a, 16);
    db = dalloc(b, 16);
    pa[0] = da;
    pa[1] = 30 * 1000 * 1000;
    spin_item(&ia, ma, pa, 1, &w);
    ia.done = slow_done;
    CHECK_EQ(vgpu_exec_sim_ops.submit(a, &ia), 0);
    CHECK_EQ(late_spin_then_wait(b, mb, db, pb, &ib, &w, 2), 0);
    CHECK_EQ(w.status, 0);
    CHECK_EQ(simtest_dtoh(b, tb, db, sizeof(tb)), 0);
    CHECK(tb[0] >= slow_done_ret);
    vgpu_exec_sim_ops.ctx_destroy(a);
    vgpu_exec_sim_ops.ctx_destroy(b);
}

/* Waits up to @secs for @w to count @n completions; false on time-out. */
static bool wait_done(SimWait *w, int n, int secs)
{
    struct timespec ts;
    bool ok = true;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&w->m);
    while (w->done < n && ok) {
        ok = pthread_cond_timedwait(&w->c, &w->m, &ts) == 0;
    }
    ok = w->done >= n;
    pthread_mutex_unlock(&w->m);
    return ok;
}

/*
 * An endless kernel must neither keep another context off the compute
 * engine (a GPU time-slices contexts) nor outlive its own context.  The
 * time-outs only turn a hang into a failure; passing takes well under a
 * second.
 */
TEST(an_endless_kernel_neither_blocks_other_contexts_nor_outlives_its_own)
{
    static const char *forever_ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry forever()\n{\n$L_top:\nbra.uni $L_top;\n}\n";
    VgpuExecCtx *a = new_ctx(), *b = new_ctx();
    SimWait wa = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    SimWait wb = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    VgpuExecItem ia, ib;
    uint64_t d, prm[2];
    int rc;

    VgpuExecModule *ma = load_text(a, forever_ptx, &rc);
    CHECK_EQ(rc, 0);
    VgpuExecModule *mb = load_text(b, spin_ptx, &rc);
    CHECK_EQ(rc, 0);
    d = dalloc(b, 16);
    memset(&ia, 0, sizeof(ia));
    ia.kind = VGPU_ITEM_LAUNCH;
    ia.u.launch.func = func(ma, "forever", NULL);
    ia.u.launch.grid[0] = ia.u.launch.grid[1] = ia.u.launch.grid[2] = 1;
    ia.u.launch.block[0] = ia.u.launch.block[1] = ia.u.launch.block[2] = 1;
    ia.done = simtest_done;
    ia.opaque = &wa;
    CHECK_EQ(vgpu_exec_sim_ops.submit(a, &ia), 0);

    prm[0] = d;
    prm[1] = 1000 * 1000;               /* 1 ms of spinning */
    spin_item(&ib, mb, prm, 32, &wb);
    CHECK_EQ(vgpu_exec_sim_ops.submit(b, &ib), 0);
    CHECK(wait_done(&wb, 1, 30));
    CHECK_EQ(wb.status, 0);
    CHECK_EQ(wa.done, 0);               /* still running */

    vgpu_exec_sim_ops.ctx_cancel(a);
    CHECK(wait_done(&wa, 1, 30));
    CHECK_EQ(wa.status, VGPU_S_LAUNCH_FAILED);
    vgpu_exec_sim_ops.ctx_destroy(a);
    vgpu_exec_sim_ops.ctx_destroy(b);
}

/*
 * Launch state is reused between launches: local and shared memory must
 * still start zeroed, showing nothing of the previous launch.
 */
TEST(local_and_shared_memory_start_zeroed_for_every_launch)
{
    VgpuExecCtx *c = new_ctx();
    int rc;
    const char *ptx =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".visible .entry lz(.param .u64 out)\n{\n"
        ".local .align 4 .b8 buf[16];\n.shared .align 4 .b8 sh[16];\n"
        ".reg .b32 %r<4>;\n.reg .b64 %rd<4>;\nld.param.u64 %rd1, [out];\n"
        "ld.local.u32 %r1, [buf+4];\nld.shared.u32 %r2, [sh+4];\n"
        "st.global.u32 [%rd1], %r1;\nst.global.u32 [%rd1+4], %r2;\n"
        "mov.u32 %r3, 1234;\nst.local.u32 [buf+4], %r3;\nst.shared.u32 [sh+4], %r3;\n"
        "ret;\n}\n";
    VgpuExecModule *m = load_text(c, ptx, &rc);
    uint64_t d = dalloc(c, 8);
    uint32_t out[2];

    CHECK_EQ(rc, 0);
    for (int round = 0; round < 3; round++) {
        VgpuExecItem it;

        memset(&it, 0, sizeof(it));
        it.kind = VGPU_ITEM_LAUNCH;
        it.u.launch.func = func(m, "lz", NULL);
        it.u.launch.grid[0] = it.u.launch.grid[1] = it.u.launch.grid[2] = 1;
        it.u.launch.block[0] = 1;
        it.u.launch.block[1] = it.u.launch.block[2] = 1;
        it.u.launch.params = &d;
        it.u.launch.param_bytes = 8;
        CHECK_EQ(simtest_run(c, &it), 0);
        CHECK_EQ(simtest_dtoh(c, out, d, sizeof(out)), 0);
        CHECK_EQ(out[0], 0);
        CHECK_EQ(out[1], 0);
    }
    vgpu_exec_sim_ops.ctx_destroy(c);
}

TEST(device_info_describes_an_sm75_class_device)
{
    VgpuDeviceInfo di;

    new_ctx();
    vgpu_exec_sim_ops.device_info(ex, &di);
    CHECK(strstr(di.name, "sim") != NULL);
    CHECK_EQ(di.attrs[1], 1024);
    CHECK_EQ(di.attrs[4], 64);
    CHECK_EQ(di.attrs[5], 2147483647);
    CHECK_EQ(di.attrs[10], 32);
    CHECK_EQ(di.attrs[8], 49152);
    CHECK_EQ(di.attrs[75], 7);
    CHECK_EQ(di.attrs[76], 5);
    CHECK_EQ(di.attrs[16], 2);
    CHECK_EQ(di.total_mem, 4ull << 30);
}

int main(void)
{
    static const struct tap_test t[] = {
        TAP_ENTRY(shifts_of_width_or_more_follow_ptx),
        TAP_ENTRY(division_by_zero_and_overflow_have_defined_results),
        TAP_ENTRY(fma_rounding_modes_are_exact),
        TAP_ENTRY(cvt_rounds_and_saturates),
        TAP_ENTRY(float_compare_min_max_handle_nan_and_signed_zero),
        TAP_ENTRY(bit_manipulation_matches_the_isa),
        TAP_ENTRY(wide_and_high_multiplies),
        TAP_ENTRY(approximate_math_is_within_ptx_bounds),
        TAP_ENTRY(carry_chains_add_128_bit_numbers),
        TAP_ENTRY(signed_loads_extend_to_the_register_width),
        TAP_ENTRY(prmt_modes_select_bytes_as_defined),
        TAP_ENTRY(half_precision_arithmetic_rounds_once),
        TAP_ENTRY(barrier_reductions_count_and_combine_predicates),
        TAP_ENTRY(clock_and_globaltimer_advance),
        TAP_ENTRY(vector_add_matches_the_host),
        TAP_ENTRY(tiled_matrix_mul_with_shared_memory_matches_the_host),
        TAP_ENTRY(warp_shuffle_reduction_and_atomics_sum_correctly),
        TAP_ENTRY(histogram_with_shared_and_global_atomics_on_two_threads),
        TAP_ENTRY(module_globals_have_initializers_and_addresses),
        TAP_ENTRY(printf_output_reaches_the_print_hook),
        TAP_ENTRY(recursive_device_functions_return_values),
        TAP_ENTRY(indirect_calls_with_different_targets_per_lane),
        TAP_ENTRY(divergent_branches_reconverge_for_shuffle_and_ballot),
        TAP_ENTRY(device_assert_fails_the_launch_with_assert_status),
        TAP_ENTRY(globaltimer_spin_kernel_completes),
        TAP_ENTRY(entry_reports_parameters_and_attributes),
        TAP_ENTRY(math_library_kernels_match_the_host),
        TAP_ENTRY(every_atomic_nvcc_emits_is_exact_across_blocks),
        TAP_ENTRY(warp_intrinsics_match_their_definitions),
        TAP_ENTRY(local_arrays_switches_structs_and_integer_intrinsics_match_the_host),
        TAP_ENTRY(vector_loads_ldg_and_double2_match_the_host),
        TAP_ENTRY(int64_division_shifts_and_intrinsics_match_the_host),
        TAP_ENTRY(float_intrinsics_and_classification_match_the_host),
        TAP_ENTRY(half2_arithmetic_matches_the_host),
        TAP_ENTRY(printf_formats_match_the_host),
        TAP_ENTRY(switch_jump_chains_and_shared_float_atomics),
        TAP_ENTRY(out_of_bounds_global_access_is_an_illegal_address),
        TAP_ENTRY(out_of_bounds_shared_local_and_param_access_faults),
        TAP_ENTRY(endless_loop_hits_the_instruction_budget),
        TAP_ENTRY(runaway_recursion_is_stopped),
        TAP_ENTRY(barrier_that_can_never_complete_fails_the_launch),
        TAP_ENTRY(malformed_ptx_is_refused_with_the_line),
        TAP_ENTRY(a_faulting_context_leaves_another_context_working),
        TAP_ENTRY(fatbin_with_zstd_ptx_loads_and_runs),
        TAP_ENTRY(fatbin_with_only_sass_is_refused_clearly),
        TAP_ENTRY(memory_ops_copy_set_and_free),
        TAP_ENTRY(mem_free_does_not_wait_for_a_running_kernel_nor_break_it),
        TAP_ENTRY(streams_run_in_order_and_complete_every_item),
        TAP_ENTRY(kernels_of_different_contexts_never_overlap),
        TAP_ENTRY(a_waiting_context_gets_the_engine_before_the_releasing_one_comes_back),
        TAP_ENTRY(a_completion_is_reported_before_the_engine_moves_on),
        TAP_ENTRY(an_endless_kernel_neither_blocks_other_contexts_nor_outlives_its_own),
        TAP_ENTRY(local_and_shared_memory_start_zeroed_for_every_launch),
        TAP_ENTRY(device_info_describes_an_sm75_class_device),
    };
    kdir = getenv("SIM_KERNELS") ? getenv("SIM_KERNELS") : "kernels";
    int rc = tap_run(t, sizeof(t) / sizeof(t[0]));
    if (ex) {
        vgpu_exec_sim_ops.fini(ex);
    }
    return rc;
}
