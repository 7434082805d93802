// SPDX-License-Identifier: MIT
/*
 * hostile.c - hostile kernels: accesses outside what the context owns in
 * every state space, misaligned accesses, an endless loop, a barrier in a
 * divergent branch and runaway recursion.
 *
 * For each one the faulting context must report the error at the next
 * synchronization and keep reporting it (sticky), while a second context
 * of this process, created before the fault, still computes correctly;
 * and a second process that runs honest kernels for the whole program
 * must finish with every result correct.
 *
 * With CONFORMANCE_NATIVE=1 (a real GPU, no vgpud) the cases whose outcome
 * a GPU does not define (a word just past an allocation, constant bank
 * overruns, endless loops without a watchdog) are skipped.
 */
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* The faulting context and the in-process bystander of the running test. */
static CUcontext ctx_a, ctx_b;
static CUfunction vecadd_b;

static int native(void)
{
    const char *e = getenv("CONFORMANCE_NATIVE");

    return e && !strcmp(e, "1");
}

/*
 * vecadd_check - run vecadd in the current context and compare; returns
 * 0 on success.  @k varies the expected values from run to run.
 */
static int vecadd_check(CUfunction fn, unsigned k)
{
    enum { N = 1000 };
    static unsigned a[N], out[N];
    CUdeviceptr da = 0, dout = 0;
    unsigned n = N;
    void *params[] = { &da, &dout, &n, &k };
    CUresult r;
    int bad = 0;

    for (unsigned i = 0; i < N; i++)
        a[i] = i * 2654435761u;
    if ((r = cuMemAlloc(&da, sizeof(a))) ||
        (r = cuMemAlloc(&dout, sizeof(out))) ||
        (r = cuMemcpyHtoD(da, a, sizeof(a))) ||
        (r = h_launch1(fn, (N + 127) / 128, 128, 0, params)) ||
        (r = cuCtxSynchronize()) ||
        (r = cuMemcpyDtoH(out, dout, sizeof(out)))) {
        printf("# bystander: %d (%s)\n", (int)r, h_errname(r));
        bad = 1;
    }
    for (unsigned i = 0; i < N && !bad; i++) {
        if (out[i] != a[i] * 3 + k) {
            printf("# bystander: element %u is %u, expected %u\n", i, out[i],
                   a[i] * 3 + k);
            bad = 1;
        }
    }
    if (da)
        cuMemFree(da);
    if (dout)
        cuMemFree(dout);
    return bad;
}

/* Creates the bystander context B (with vecadd loaded) and then A. */
#define SETUP()                                                             \
    do {                                                                    \
        CUmodule mb_;                                                       \
        CU(h_ctx(&ctx_b));                                                  \
        CU(h_load_file("hostile/oob.ptx", "vecadd", &mb_, &vecadd_b));      \
        CU(h_ctx(&ctx_a));                                                  \
        CU(cuCtxSetCurrent(ctx_a));                                         \
    } while (0)

#define LOAD(file, entry, mod, fn) CU(h_load_file(file, entry, mod, fn))

/*
 * expect_fault - the next synchronization of the current context must
 * return one of @ok, and so must the calls after it.
 */
static int expect_fault(const CUresult *ok, size_t n)
{
    CUresult r = cuCtxSynchronize(), r2;
    CUdeviceptr d;
    size_t i;

    printf("# cuCtxSynchronize returned %d (%s)\n", (int)r, h_errname(r));
    for (i = 0; i < n && ok[i] != r; i++)
        ;
    if (i == n) {
        printf("# expected %d (%s)%s\n", (int)ok[0], h_errname(ok[0]),
               n > 1 ? " or another listed fault" : "");
        return 1;
    }
    if ((r2 = cuCtxSynchronize()) != r) {
        printf("# the error is not sticky: a second cuCtxSynchronize "
               "returned %d (%s)\n", (int)r2, h_errname(r2));
        return 1;
    }
    if ((r2 = cuMemAlloc(&d, 64)) != r) {
        printf("# the error is not sticky: cuMemAlloc returned %d (%s)\n",
               (int)r2, h_errname(r2));
        return 1;
    }
    return 0;
}

#define FAULT(...)                                                          \
    do {                                                                    \
        static const CUresult ok_[] = { __VA_ARGS__ };                      \
        CHECK(expect_fault(ok_, NELEM(ok_)) == 0);                          \
    } while (0)

/* The bystander context must still compute correctly. */
#define BYSTANDER_OK()                                                      \
    do {                                                                    \
        CU(cuCtxSetCurrent(ctx_b));                                         \
        CHECK(vecadd_check(vecadd_b, 17) == 0);                             \
        CU(cuCtxSetCurrent(ctx_a));                                         \
    } while (0)

#define SKIP_NATIVE(why)                                                    \
    do {                                                                    \
        if (native()) {                                                     \
            printf("# SKIP: %s\n", why);                                    \
            return;                                                         \
        }                                                                   \
    } while (0)

/* Launches @entry of oob.ptx with (addr, out) as its parameters. */
static CUresult launch_addr(const char *entry, uint64_t addr,
                            CUdeviceptr out)
{
    CUmodule mod;
    CUfunction fn;
    void *params[] = { &addr, &out };
    CUresult r = h_load_file("hostile/oob.ptx", entry, &mod, &fn);

    if (r == CUDA_SUCCESS)
        r = h_launch1(fn, 1, 1, 0, params);
    return r;
}

TEST(global_load_far_past_an_allocation_faults)
{
    CUdeviceptr buf, out;

    SETUP();
    CU(cuMemAlloc(&buf, 4096));
    CU(cuMemAlloc(&out, 64));
    CU(launch_addr("load_at", buf + (64ull << 20), out));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(global_store_one_word_past_an_allocation_faults)
{
    CUdeviceptr buf;
    CUmodule mod;
    CUfunction fn;
    uint64_t addr;
    void *params[] = { &addr };

    SKIP_NATIVE("a GPU only faults at page granularity");
    SETUP();
    CU(cuMemAlloc(&buf, 4096));
    addr = buf + 4096;
    LOAD("hostile/oob.ptx", "store_at", &mod, &fn);
    CU(h_launch1(fn, 1, 1, 0, params));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(global_load_through_a_wild_pointer_faults)
{
    CUdeviceptr out;

    SETUP();
    CU(cuMemAlloc(&out, 64));
    CU(launch_addr("load_at", 0x7d5e00c0ffee00ull, out));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(store_through_a_null_pointer_faults)
{
    CUmodule mod;
    CUfunction fn;
    uint64_t addr = 0;
    void *params[] = { &addr };

    SETUP();
    LOAD("hostile/oob.ptx", "store_at", &mod, &fn);
    CU(h_launch1(fn, 1, 1, 0, params));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(global_load_from_another_contexts_allocation_faults)
{
    CUdeviceptr theirs, out;

    SKIP_NATIVE("contexts on one GPU may share an address space");
    SETUP();
    CU(cuCtxSetCurrent(ctx_b));
    CU(cuMemAlloc(&theirs, 4096));
    CU(cuCtxSetCurrent(ctx_a));
    CU(cuMemAlloc(&out, 64));
    CU(launch_addr("load_at", theirs, out));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

/* Launches @entry with (offset, out). */
static CUresult launch_off(const char *file, const char *entry, uint64_t off,
                           CUdeviceptr out, int off32)
{
    CUmodule mod;
    CUfunction fn;
    uint32_t o32 = (uint32_t)off;
    void *params[] = { off32 ? (void *)&o32 : (void *)&off, &out };
    CUresult r = h_load_file(file, entry, &mod, &fn);

    if (r == CUDA_SUCCESS)
        r = h_launch1(fn, 1, 1, 0, params);
    return r;
}

TEST(in_bounds_accesses_of_the_hostile_kernels_work)
{
    CUdeviceptr buf, out;
    uint32_t v[4] = { 0x11, 0x22, 0x33, 0x44 }, got;

    /* The same kernels with honest offsets: the faults below are real. */
    SETUP();
    CU(cuMemAlloc(&buf, 4096));
    CU(cuMemAlloc(&out, 64));
    CU(cuMemcpyHtoD(buf, v, sizeof(v)));
    CU(launch_addr("load_at", buf + 4, out));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 0x22);
    CU(launch_addr("load_v4_at", buf, out));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 0x44);
    CU(launch_off("hostile/oob.ptx", "shared_at", 0, out, 1));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 7);
    CU(launch_off("hostile/oob.ptx", "local_at", 0, out, 0));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 9);
    CU(launch_off("hostile/oob.ptx", "const_at", 8, out, 0));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 3);
}

TEST(shared_load_past_the_shared_window_faults)
{
    CUdeviceptr out;

    SETUP();
    CU(cuMemAlloc(&out, 64));
    CU(launch_off("hostile/oob.ptx", "shared_at", 1u << 24, out, 1));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(local_load_past_the_local_window_faults)
{
    CUdeviceptr out;

    SETUP();
    CU(cuMemAlloc(&out, 64));
    CU(launch_off("hostile/oob.ptx", "local_at", 1ull << 28, out, 0));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(const_load_past_the_constant_bank_faults)
{
    CUdeviceptr out;

    SKIP_NATIVE("a GPU does not define constant bank overruns");
    SETUP();
    CU(cuMemAlloc(&out, 64));
    CU(launch_off("hostile/oob.ptx", "const_at", 1ull << 20, out, 0));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(param_load_past_the_parameters_is_refused_or_faults)
{
    CUdeviceptr out;
    CUmodule mod;
    CUfunction fn;
    uint64_t off = 1u << 20;
    void *params[] = { &off, &out };
    CUresult r;

    SKIP_NATIVE("a GPU does not define parameter space overruns");
    SETUP();
    CU(cuMemAlloc(&out, 64));
    r = h_load_file("hostile/param.ptx", "param_at", &mod, &fn);
    if (r == CUDA_ERROR_INVALID_PTX || r == CUDA_ERROR_INVALID_IMAGE) {
        /* Refusing dynamic parameter addressing at load time is safe. */
        printf("# module refused with %d (%s)\n", (int)r, h_errname(r));
        BYSTANDER_OK();
        return;
    }
    CU(r);
    CU(h_launch1(fn, 1, 1, 0, params));
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS);
    BYSTANDER_OK();
}

TEST(misaligned_u32_load_faults)
{
    CUdeviceptr buf, out;

    SETUP();
    CU(cuMemAlloc(&buf, 4096));
    CU(cuMemAlloc(&out, 64));
    CU(launch_addr("load_at", buf + 1, out));
    FAULT(CUDA_ERROR_MISALIGNED_ADDRESS);
    BYSTANDER_OK();
}

TEST(misaligned_v4_load_faults)
{
    CUdeviceptr buf, out;

    SETUP();
    CU(cuMemAlloc(&buf, 4096));
    CU(cuMemAlloc(&out, 64));
    CU(launch_addr("load_v4_at", buf + 8, out));
    FAULT(CUDA_ERROR_MISALIGNED_ADDRESS);
    BYSTANDER_OK();
}

TEST(endless_loop_ends_with_launch_timeout)
{
    CUdeviceptr out;
    CUmodule mod;
    CUfunction fn;
    void *params[] = { &out };

    SKIP_NATIVE("a GPU without a display watchdog never ends the loop");
    SETUP();
    CU(cuMemAlloc(&out, 64));
    LOAD("hostile/oob.ptx", "endless", &mod, &fn);
    CU(h_launch1(fn, 2, 64, 0, params));
    FAULT(CUDA_ERROR_LAUNCH_TIMEOUT);
    BYSTANDER_OK();
}

/*
 * bar.sync reached by half of each warp: whatever the backend decides
 * (complete, as a GPU does once the other threads exited, or fail), it
 * must not hang and must decide the same way every time.
 */
TEST(barrier_in_a_divergent_branch_is_deterministic)
{
    CUresult first = CUDA_SUCCESS;

    SKIP_NATIVE("a GPU may wait at such a barrier forever");
    for (int run = 0; run < 2; run++) {
        CUdeviceptr out;
        CUmodule mod;
        CUfunction fn;
        unsigned got[64];
        void *params[] = { &out };
        CUresult r;

        SETUP();
        CU(cuMemAlloc(&out, sizeof(got)));
        CU(cuMemsetD8(out, 0, sizeof(got)));
        LOAD("hostile/oob.ptx", "bar_diverge", &mod, &fn);
        CU(h_launch1(fn, 1, 64, 0, params));
        r = cuCtxSynchronize();
        printf("# run %d: cuCtxSynchronize returned %d (%s)\n", run, (int)r,
               h_errname(r));
        if (run == 0)
            first = r;
        CHECK_EQ(r, first);
        if (r == CUDA_SUCCESS) {
            CU(cuMemcpyDtoH(got, out, sizeof(got)));
            for (int t = 0; t < 64; t++)
                CHECK_EQ(got[t], t & 1 ? 2 : 1);
        } else {
            CU_EXPECT(cuCtxSynchronize(), r);
        }
        BYSTANDER_OK();
        cuCtxDestroy(ctx_a);
        cuCtxDestroy(ctx_b);
        ctx_a = ctx_b = NULL;
    }
}

TEST(runaway_recursion_is_bounded)
{
    CUdeviceptr out;
    CUmodule mod;
    CUfunction fn;
    unsigned n = 1u << 30;
    void *params[] = { &n, &out };

    SETUP();
    CU(cuMemAlloc(&out, 64 * 4));
    LOAD("hostile/recursion.ptx", "runaway", &mod, &fn);
    CU(h_launch1(fn, 1, 32, 0, params));
    /* A GPU overflows its stack into an illegal address. */
    FAULT(CUDA_ERROR_ILLEGAL_ADDRESS, CUDA_ERROR_LAUNCH_FAILED,
          CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, CUDA_ERROR_LAUNCH_TIMEOUT);
    BYSTANDER_OK();
}

TEST(bounded_recursion_of_the_same_kernel_works)
{
    CUdeviceptr out;
    CUmodule mod;
    CUfunction fn;
    unsigned n = 40, got[32];
    void *params[] = { &n, &out };

    SETUP();
    CU(cuMemAlloc(&out, sizeof(got)));
    LOAD("hostile/recursion.ptx", "runaway", &mod, &fn);
    CU(h_launch1(fn, 1, 32, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(got, out, sizeof(got)));
    for (unsigned t = 0; t < 32; t++) {
        unsigned v = 0;

        for (unsigned k = 1; k <= n + t; k++)
            v = v * 3u ^ k;
        CHECK_EQ(got[t], v);
    }
}

/* ---- hostile printf ------------------------------------------------------- */

/* Where the argument is a device pointer, the case says which one. */
enum { ARG_VALUE, ARG_BUF, ARG_BUF_END, ARG_WILD };

static const struct {
    const char *name;
    const char *fmt;        /* NULL: the format itself is the hostile part */
    int a0;
    uint64_t v0;
} bad_printfs[] = {
    { "%s of a wild pointer", "wild [%s]\n", ARG_WILD, 0 },
    { "%s of a string without a terminator", "unterminated [%s]\n",
      ARG_BUF_END, 0 },
    { "%n into device memory", "count%n%n%hhn%lln\n", ARG_BUF, 0 },
    { "more conversions than arguments",
      "%d %d %d %d %d %d %d %d %d %d %d %d %s %s %s\n", ARG_VALUE, 5 },
    { "a huge field width", "[%*d]\n", ARG_VALUE, 1000000000 },
    { "a huge precision", "[%.2000000000f]\n", ARG_VALUE, 0 },
    { "wide and odd conversions", "%ls %lc %p %a %C %S %m %q %\n",
      ARG_VALUE, 65 },
    { "a format at a wild address", NULL, ARG_VALUE, 1 },
    { "a format without a terminator", NULL, ARG_VALUE, 2 },
    { "a 200 KB format of %d", NULL, ARG_VALUE, 3 },
};

TEST(hostile_printf_formats_and_arguments_do_no_harm)
{
    int bad = 0;
    char path[] = "/tmp/vgpu-hostile-printf.XXXXXX";
    int fd = mkstemp(path);
    off_t total;

    CHECK(fd >= 0);
    unlink(path);
    for (size_t i = 0; i < NELEM(bad_printfs); i++) {
        CUcontext c;
        CUmodule mod;
        CUfunction fn;
        CUdeviceptr dfmt, dbuf;
        uint64_t fmt, a0, a1 = 7;
        void *params[] = { &fmt, &a0, &a1 };
        size_t flen = 256u << 10;
        char *text = malloc(flen);
        CUresult r, r2;
        int saved;

        CHECK(text != NULL);
        CU(h_ctx(&c));
        CU(h_load_file("hostile/printf.ptx", "pf", &mod, &fn));
        CU(cuMemAlloc(&dfmt, flen));
        CU(cuMemAlloc(&dbuf, 4096));
        memset(text, 'A', 4096);
        CU(cuMemcpyHtoD(dbuf, text, 4096));
        fmt = dfmt;
        memset(text, 0, flen);
        if (bad_printfs[i].fmt) {
            strcpy(text, bad_printfs[i].fmt);
        } else if (bad_printfs[i].v0 == 1) {
            fmt = 0x7d5e00c0ffee00ull;
        } else if (bad_printfs[i].v0 == 2) {
            memset(text, 'F', flen);
        } else {
            for (size_t k = 0; k + 3 < 200u << 10; k += 2)
                memcpy(text + k, "%d", 2);
        }
        CU(cuMemcpyHtoD(dfmt, text, flen));
        free(text);
        switch (bad_printfs[i].a0) {
        case ARG_BUF: a0 = dbuf; break;
        case ARG_BUF_END: a0 = dbuf; break;
        case ARG_WILD: a0 = 0x7d5e00c0ffee00ull; break;
        default: a0 = bad_printfs[i].v0; break;
        }
        fflush(stdout);
        saved = dup(1);
        dup2(fd, 1);
        r = h_launch1(fn, 1, 1, 0, params);
        r2 = r ? r : cuCtxSynchronize();
        fflush(stdout);
        dup2(saved, 1);
        close(saved);
        printf("# %s: %d (%s)\n", bad_printfs[i].name, (int)r2,
               h_errname(r2));
        if (r2 != CUDA_SUCCESS && r2 != CUDA_ERROR_ILLEGAL_ADDRESS &&
            r2 != CUDA_ERROR_LAUNCH_FAILED && r2 != CUDA_ERROR_INVALID_VALUE) {
            printf("#   unexpected status\n");
            bad = 1;
        }
        if (bad_printfs[i].a0 == ARG_BUF) {
            unsigned char back[16];

            /* %n must not write anywhere, device memory included */
            if (r2 == CUDA_SUCCESS) {
                CU(cuMemcpyDtoH(back, dbuf, sizeof(back)));
                for (int k = 0; k < 16; k++)
                    if (back[k] != 'A')
                        bad = 1;
                if (bad)
                    printf("#   %%n wrote device memory\n");
            }
        }
        cuCtxDestroy(c);
    }
    total = lseek(fd, 0, SEEK_END);
    close(fd);
    printf("# %lld bytes of output\n", (long long)total);
    /* A bounded amount of text: no billion-character fields. */
    CHECK(total >= 0 && total < (64 << 20));
    SETUP();
    BYSTANDER_OK();
    CHECK(bad == 0);
}

/* ---- tests that run in a fresh process ---------------------------------- */

/* Set in a child started by run_isolated(): the one test it runs. */
static const char *only;

/*
 * run_isolated - run test @name in a fresh process, so that a transport
 * failure it provokes cannot take the tests after it down too.
 */
static int run_isolated(const char *name)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "hostile", "--only", name, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 1;
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#define ISOLATED(name)                                                      \
    do {                                                                    \
        if (!only) {                                                        \
            CHECK(run_isolated(#name) == 0);                                \
            return;                                                         \
        }                                                                   \
    } while (0)

/* ---- malformed and oversized modules --------------------------------------- */

enum { MUST_FAIL_LOAD, FAIL_LOAD_OR_LAUNCH, ANY_BUT_CRASH };

#define HDR ".version 8.0\n.target sm_75\n.address_size 64\n"
#define ENTRY(body)                                                         \
    HDR ".visible .entry k(.param .u64 k_p)\n{\n" body "\n\tret;\n}\n"

static const struct {
    const char *name;
    const char *text;   /* NULL: built at run time */
    int expect;
} bad_modules[] = {
    { "empty text", "", MUST_FAIL_LOAD },
    { "version 99.9", ".version 99.9\n.target sm_75\n.address_size 64\n"
      ".visible .entry k()\n{\n\tret;\n}\n", MUST_FAIL_LOAD },
    { "unknown target", ".version 8.0\n.target sm_9999\n.address_size 64\n"
      ".visible .entry k()\n{\n\tret;\n}\n", MUST_FAIL_LOAD },
    { "unknown opcode", ENTRY("\t.reg .b32 %r<3>;\n\tfrobnicate.b32 %r1, %r2;"),
      MUST_FAIL_LOAD },
    { "undeclared register", ENTRY("\tmov.u32 %nothere, 1;"), MUST_FAIL_LOAD },
    { "branch to a missing label", ENTRY("\tbra.uni $L__nowhere;"),
      MUST_FAIL_LOAD },
    { "operand of the wrong type",
      ENTRY("\t.reg .pred %p1;\n\t.reg .f64 %fd1;\n\tadd.s32 %p1, %fd1, 1;"),
      MUST_FAIL_LOAD },
    { "immediate too large",
      ENTRY("\t.reg .b32 %r1;\n\tmov.u32 %r1, 0x1ffffffffffffffffffffffff;"),
      MUST_FAIL_LOAD },
    { "unterminated entry", HDR ".visible .entry k()\n{\n\t.reg .b32 %r1;\n",
      MUST_FAIL_LOAD },
    { "too many initializers",
      HDR ".global .align 4 .u32 g[2] = { 1, 2, 3 };\n"
      ".visible .entry k()\n{\n\tret;\n}\n", MUST_FAIL_LOAD },
    { "call of an undefined function",
      ENTRY("\tcall.uni nosuchfunc, ();"), MUST_FAIL_LOAD },
    { "2^31 registers declared, the last one used",
      ENTRY("\t.reg .b32 %r<2147483647>;\n\tmov.u32 %r2147483646, 1;"),
      ANY_BUT_CRASH },
    { "4 GB of local memory",
      ENTRY("\t.local .align 8 .b8 big[4294967296];\n\t.reg .b64 %rd1;\n"
            "\t.reg .b32 %r1;\n\tmov.u64 %rd1, big;\n"
            "\tst.local.u32 [%rd1+4294967288], %r1;"),
      FAIL_LOAD_OR_LAUNCH },
    { "2 GB of static shared memory",
      ENTRY("\t.shared .align 8 .b8 big[2147483648];\n\t.reg .b32 %r<2>;\n"
            "\tmov.u32 %r1, big;\n\tst.shared.u32 [%r1], %r1;"),
      FAIL_LOAD_OR_LAUNCH },
    { "100 MB constant bank",
      HDR ".const .align 4 .b8 c[100000000];\n"
      ".visible .entry k()\n{\n\t.reg .b32 %r1;\n"
      "\tld.const.u32 %r1, [c+99999996];\n\tret;\n}\n",
      FAIL_LOAD_OR_LAUNCH },
    { "100000 nested braces", NULL, MUST_FAIL_LOAD },
    { "20000 parameters", NULL, FAIL_LOAD_OR_LAUNCH },
    { "truncated nvcc module", NULL, MUST_FAIL_LOAD },
};

/* The modules too large to write as literals. */
static char *build_bad(size_t i)
{
    const char *name = bad_modules[i].name;
    size_t n = 8u << 20;
    char *t = calloc(n, 1), *p = t;

    if (!t)
        return NULL;
    p += sprintf(p, HDR ".visible .entry k(");
    if (!strcmp(name, "100000 nested braces")) {
        p += sprintf(p, ")\n");
        memset(p, '{', 100000);
        p += 100000;
        strcpy(p, "\n\tret;\n");
    } else if (!strcmp(name, "20000 parameters")) {
        for (int k = 0; k < 20000; k++)
            p += sprintf(p, "%s.param .u64 k_p%d", k ? ", " : "", k);
        strcpy(p, ")\n{\n\tret;\n}\n");
    } else {
        char *full = h_read_ptx("diff/hash.ptx");

        if (!full) {
            free(t);
            return NULL;
        }
        memcpy(t, full, strlen(full) * 3 / 5);
        t[strlen(full) * 3 / 5] = 0;
        free(full);
    }
    return t;
}

TEST(malformed_and_oversized_modules_are_refused_without_harm)
{
    int bad = 0;

    for (size_t i = 0; i < NELEM(bad_modules); i++) {
        char *owned = NULL;
        const char *text = bad_modules[i].text;
        CUcontext c;
        CUmodule mod;
        CUfunction fn;
        CUresult r, rl = CUDA_SUCCESS;
        uint64_t arg = 0;
        void *params[20001] = { &arg };

        if (!text) {
            text = owned = build_bad(i);
            CHECK(text != NULL);
        }
        CU(h_ctx(&c));
        r = cuModuleLoadData(&mod, text);
        if (r == CUDA_SUCCESS && cuModuleGetFunction(&fn, mod, "k") ==
                CUDA_SUCCESS) {
            if (!strcmp(bad_modules[i].name, "20000 parameters"))
                for (int k = 0; k < 20000; k++)
                    params[k] = &arg;
            rl = h_launch1(fn, 1, 1, 0, params);
            if (rl == CUDA_SUCCESS)
                rl = cuCtxSynchronize();
        }
        printf("# %s: load %d (%s), launch %d (%s)\n", bad_modules[i].name,
               (int)r, h_errname(r), (int)rl, h_errname(rl));
        if ((bad_modules[i].expect == MUST_FAIL_LOAD && r == CUDA_SUCCESS) ||
            (bad_modules[i].expect == FAIL_LOAD_OR_LAUNCH &&
             r == CUDA_SUCCESS && rl == CUDA_SUCCESS)) {
            printf("#   expected the %s to fail\n",
                   bad_modules[i].expect == MUST_FAIL_LOAD ? "load" :
                   "load or the launch");
            bad = 1;
        }
        cuCtxDestroy(c);
        free(owned);
    }
    /* The daemon still serves this process. */
    SETUP();
    BYSTANDER_OK();
    CHECK(bad == 0);
}

TEST(a_4_MB_identifier_is_refused_and_the_connection_survives)
{
    size_t n = 4u << 20;
    char *t = malloc(n + 4096), *p = t;
    CUmodule mod;
    CUresult r;

    ISOLATED(a_4_MB_identifier_is_refused_and_the_connection_survives);
    CHECK(t != NULL);
    p += sprintf(p, HDR ".visible .entry k()\n{\n\t.reg .b32 %%");
    memset(p, 'x', n);
    p += n;
    strcpy(p, ";\n\tret;\n}\n");
    SETUP();
    r = cuModuleLoadData(&mod, t);
    free(t);
    printf("# load returned %d (%s)\n", (int)r, h_errname(r));
    CHECK(r == CUDA_ERROR_INVALID_PTX || r == CUDA_ERROR_INVALID_IMAGE ||
          r == CUDA_ERROR_OUT_OF_MEMORY);
    BYSTANDER_OK();
}

TEST(a_valid_5_MB_module_loads_and_runs)
{
    size_t n = 5u << 20;
    char *t, *p;
    CUmodule mod;
    CUfunction fn;
    CUdeviceptr out;
    unsigned got = 0;
    void *params[] = { &out };
    CUresult r;

    ISOLATED(a_valid_5_MB_module_loads_and_runs);
    t = p = malloc(n + 4096);

    /* Large kernels make large PTX; comments stand in for the bulk. */
    CHECK(t != NULL);
    p += sprintf(p, HDR ".visible .entry k(.param .u64 k_out)\n{\n"
                 "\t.reg .b32 %%r1;\n\t.reg .b64 %%rd1;\n");
    while ((size_t)(p - t) < n)
        p += sprintf(p, "\t// filler line %08zu of a large module\n",
                     (size_t)(p - t));
    sprintf(p, "\tld.param.u64 %%rd1, [k_out];\n\tmov.u32 %%r1, 1234;\n"
            "\tst.global.u32 [%%rd1], %%r1;\n\tret;\n}\n");
    SETUP();
    CU(cuMemAlloc(&out, 4));
    r = h_load_text(&mod, t, "a 5 MB module");
    free(t);
    CU(r);
    CU(cuModuleGetFunction(&fn, mod, "k"));
    CU(h_launch1(fn, 1, 1, 0, params));
    CU(cuCtxSynchronize());
    CU(cuMemcpyDtoH(&got, out, 4));
    CHECK_EQ(got, 1234);
}

/* ---- the second process ------------------------------------------------------ */

static int to_child[2] = { -1, -1 }, from_child[2] = { -1, -1 };
static pid_t child = -1;

/*
 * Runs honest launches until the parent closes its pipe, and one after;
 * exits 0 only if every result was right.  Reports readiness ('R') after the first one
 * and, at the end, the number of launches it checked.
 */
static void bystander_process(void)
{
    CUcontext c;
    CUmodule mod;
    CUfunction fn;
    unsigned k = 0, bad = 0;
    struct pollfd pfd = { .fd = to_child[0], .events = POLLIN };

    if (h_ctx(&c) || h_load_file("hostile/oob.ptx", "vecadd", &mod, &fn)) {
        (void)!write(from_child[1], "F", 1);
        _exit(2);
    }
    for (;;) {
        bad |= vecadd_check(fn, k++);
        if (k == 1)
            (void)!write(from_child[1], bad ? "F" : "R", 1);
        if (poll(&pfd, 1, 20) > 0)
            break;
    }
    /* One more after the parent's last fault, so k >= 2 by construction. */
    bad |= vecadd_check(fn, k++);
    (void)!write(from_child[1], &k, sizeof(k));
    cuCtxDestroy(c);
    _exit(bad ? 1 : 0);
}

static void start_bystander(void)
{
    if (pipe(to_child) || pipe(from_child))
        return;
    fflush(stdout);
    child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(to_child[1]);
        close(from_child[0]);
        bystander_process();
    }
    close(to_child[0]);
    close(from_child[1]);
}

TEST(a_concurrent_process_completed_every_launch_correctly)
{
    unsigned k = 0;
    int status;

    CHECK(child > 0);
    close(to_child[1]);
    CHECK(read(from_child[0], &k, sizeof(k)) == sizeof(k));
    CHECK(waitpid(child, &status, 0) == child);
    printf("# the other process checked %u launches\n", k);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(k >= 2);
}

static const struct tap_test tests[] = {
    TAP_ENTRY(in_bounds_accesses_of_the_hostile_kernels_work),
    TAP_ENTRY(global_load_far_past_an_allocation_faults),
    TAP_ENTRY(global_store_one_word_past_an_allocation_faults),
    TAP_ENTRY(global_load_through_a_wild_pointer_faults),
    TAP_ENTRY(store_through_a_null_pointer_faults),
    TAP_ENTRY(global_load_from_another_contexts_allocation_faults),
    TAP_ENTRY(shared_load_past_the_shared_window_faults),
    TAP_ENTRY(local_load_past_the_local_window_faults),
    TAP_ENTRY(const_load_past_the_constant_bank_faults),
    TAP_ENTRY(param_load_past_the_parameters_is_refused_or_faults),
    TAP_ENTRY(misaligned_u32_load_faults),
    TAP_ENTRY(misaligned_v4_load_faults),
    TAP_ENTRY(endless_loop_ends_with_launch_timeout),
    TAP_ENTRY(barrier_in_a_divergent_branch_is_deterministic),
    TAP_ENTRY(runaway_recursion_is_bounded),
    TAP_ENTRY(bounded_recursion_of_the_same_kernel_works),
    TAP_ENTRY(malformed_and_oversized_modules_are_refused_without_harm),
    TAP_ENTRY(hostile_printf_formats_and_arguments_do_no_harm),
    TAP_ENTRY(a_4_MB_identifier_is_refused_and_the_connection_survives),
    TAP_ENTRY(a_valid_5_MB_module_loads_and_runs),
    TAP_ENTRY(a_concurrent_process_completed_every_launch_correctly),
};

int main(int argc, char **argv)
{
    size_t n = NELEM(tests);
    int bad = 0;
    char c = 0;

    if (argc == 3 && !strcmp(argv[1], "--only")) {
        only = argv[2];
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(tests[i].name, only)) {
                tests[i].fn(&bad);
                return bad;
            }
        }
        return 2;
    }

    /* Fork before this process touches the driver. */
    start_bystander();
    if (child > 0 && (read(from_child[0], &c, 1) != 1 || c != 'R'))
        printf("# the other process could not start its first launch\n");

    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        int failed = 0;
        const char *skip;

        fflush(stdout);
        tests[i].fn(&failed);
        if (ctx_a)
            cuCtxDestroy(ctx_a);
        if (ctx_b)
            cuCtxDestroy(ctx_b);
        ctx_a = ctx_b = NULL;
        skip = native() && !failed &&
               (tests[i].fn == global_store_one_word_past_an_allocation_faults ||
                tests[i].fn == global_load_from_another_contexts_allocation_faults ||
                tests[i].fn == const_load_past_the_constant_bank_faults ||
                tests[i].fn == param_load_past_the_parameters_is_refused_or_faults ||
                tests[i].fn == endless_loop_ends_with_launch_timeout ||
                tests[i].fn == barrier_in_a_divergent_branch_is_deterministic) ?
               " # SKIP undefined on a GPU" : "";
        printf("%sok %zu - %s%s\n", failed ? "not " : "", i + 1,
               tests[i].name, skip);
        bad |= failed;
    }
    if (child > 0)
        kill(child, SIGKILL), waitpid(child, NULL, 0);
    return bad;
}
