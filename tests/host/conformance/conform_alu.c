// SPDX-License-Identifier: MIT
/*
 * conform_alu.c - table-driven conformance tests of PTX's arithmetic,
 * logic, comparison and conversion instructions.
 *
 * Each group is one TAP line.  A row of a group is one PTX instruction
 * (a template with $d, $a, $b, $c for the destination and the three
 * sources, $t for a scratch register of the destination's type, $u for a
 * .b32 scratch register) and a C
 * function that computes the result the PTX ISA defines for it.  The
 * program composes one kernel per group: thread i loads a[i], b[i], c[i],
 * runs every row and stores row j's result at out[j * n + i].  The inputs
 * are the cartesian product of the group's edge-case lists (NaN, +-inf,
 * denormals, -0.0, INT_MIN, -1, shift counts past the width, ...).
 *
 * Reference values are exact: integer results by definition, IEEE results
 * by the host's IEEE arithmetic under fesetround() (this file is compiled
 * with -frounding-math), approximate instructions against a long double
 * result with the error bound the PTX ISA states for them.
 *
 * "conform_alu --dump DIR" writes every generated module to DIR/<group>.ptx
 * so a failing group can be replayed in an interpreter's own unit tests.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"

enum ty { T_NONE, T_PRED, T_B16, T_B32, T_B64, T_F16, T_F32, T_F64 };

static const char *const ty_reg[] = {
    "", ".pred", ".b16", ".b32", ".b64", ".b16", ".f32", ".f64",
};
static const char *const ty_mem[] = {
    "", ".u32", ".b16", ".b32", ".b64", ".b16", ".f32", ".f64",
};
static const int ty_bits[] = { 0, 1, 16, 32, 64, 16, 32, 64 };

/* How a result is compared with the reference. */
enum cmp {
    C_EXACT,    /* all bits of the destination width */
    C_FLOAT,    /* bits, except that any NaN matches any NaN */
    C_MINMAX,   /* C_FLOAT, but +0.0 and -0.0 match each other */
    C_ULP,      /* within tol units in the last place; specials exact */
    C_ABS,      /* within tol absolute; specials exact */
    C_REL,      /* within tol relative; specials exact */
    C_H2,       /* two f16 halves, each as C_FLOAT */
};

typedef uint64_t (*ref_fn)(uint64_t a, uint64_t b, uint64_t c);

struct op {
    const char *insn;
    enum ty d, a, b, c;
    ref_fn ref;
    enum cmp cmp;
    double tol;
    int rnd;            /* fesetround() mode for the reference */
};

struct group {
    const char *name;
    const struct op *ops;
    size_t nops;
    const uint64_t *va, *vb, *vc;   /* edge cases; NULL: operand unused */
    size_t na, nb, nc;
};

/* Set by a reference function when the ISA leaves the result unspecified. */
static int ref_skip;

#define RN FE_TONEAREST
#define RZ FE_TOWARDZERO
#define RM FE_DOWNWARD
#define RP FE_UPWARD

/* ---- edge-case inputs ------------------------------------------------- */

static const uint64_t v16[] = {
    0, 1, 2, 3, 0xffff, 0xfffe, 0x7fff, 0x8000, 0x8001, 0x1234, 0xfedc,
    15, 16, 17, 0x00ff, 0xff00,
};

static const uint64_t v32[] = {
    0, 1, 2, 3, 7, 31, 32, 33, 64, 255, 0xffff, 0x10000, 0x7fffffff,
    0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0x12345678, 0x89abcdef,
    0x00ff00ff, 0xf0000000,
};

static const uint64_t v64[] = {
    0, 1, 2, 3, 31, 32, 33, 63, 64, 255, 0xffffffffull, 0x100000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0x8000000000000001ull,
    0xffffffffffffffffull, 0xfffffffffffffffeull, 0x123456789abcdef0ull,
    0xfedcba9876543210ull, 0xffffffff80000000ull,
};

/* Shift counts and bit-field positions: 0, inside, at and past the width. */
static const uint64_t vcount[] = {
    0, 1, 4, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255, 256, 0xffffffff,
};

static const uint64_t vpred[] = { 0, 1 };

static const uint64_t vf32[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000,
    0x40200000, 0xc0200000, 0x40400000, 0x3eaaaaab, 0x3f800001, 0x3dcccccd,
    0x40490fdb, 0xc2f6e979, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000,
    0x00000001, 0x80000001, 0x007fffff, 0x00400000, 0x7f800000, 0xff800000,
    0x7fc00000, 0xffc00001, 0x4f000000, 0xcf000000, 0x4f800000, 0x4f7fffff,
    0x5f000000, 0xdf000000, 0x5f800000, 0x477fe000, 0x477ff000, 0x33800000,
    0x4b800001, 0x501502f9, 0x3effffff, 0x3f7fffff,
};

static const uint64_t vf64[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
    0xbff0000000000000ull, 0x3fe0000000000000ull, 0x3ff8000000000000ull,
    0x4004000000000000ull, 0xc004000000000000ull, 0x3fd5555555555555ull,
    0x3ff0000000000001ull, 0x3fb999999999999aull, 0x400921fb54442d18ull,
    0x7fefffffffffffffull, 0xffefffffffffffffull, 0x0010000000000000ull,
    0x8010000000000000ull, 0x0000000000000001ull, 0x8000000000000001ull,
    0x000fffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000001ull, 0x41e0000000000000ull,
    0xc1e0000000000000ull, 0x41f0000000000000ull, 0x43e0000000000000ull,
    0xc3e0000000000000ull, 0x43f0000000000000ull, 0x3810000000000000ull,
    0x36a0000000000000ull, 0x47efffffe0000000ull, 0x3fefffffffffffffull,
    0x4330000000000001ull, 0x3ff0000010000000ull, 0x3ff0000008000000ull,
};

/* Inputs for approximate instructions: normal numbers and the specials. */
static const uint64_t vf32_approx[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x40000000,
    0x3eaaaaab, 0x3dcccccd, 0x40490fdb, 0xc0490fdb, 0x3fc90fdb, 0x41200000,
    0xc1200000, 0x42c80000, 0xc2c80000, 0x43960000, 0x4479c000, 0x3a83126f,
    0x7f800000, 0xff800000, 0x7fc00000, 0x3f7fffff, 0x3f800001, 0x42fe0000,
    0xc2fc0000, 0x1e3ce508, 0x5f000000, 0x00800000,
};

/* sin/cos: the ISA bounds the error for |x| <= 100 pi. */
static const uint64_t vf32_trig[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x40000000,
    0x3eaaaaab, 0x3dcccccd, 0x40490fdb, 0xc0490fdb, 0x3fc90fdb, 0x41200000,
    0xc1200000, 0x42c80000, 0xc2c80000, 0x43960000, 0x3a83126f, 0x7f800000,
    0xff800000, 0x7fc00000, 0x439d0000, 0xc39c8000,
};

/* f16 values as bit patterns. */
static const uint64_t vf16[] = {
    0x0000, 0x8000, 0x3c00, 0xbc00, 0x3800, 0x3e00, 0x4100, 0x3555, 0x3c01,
    0x7bff, 0xfbff, 0x0400, 0x8400, 0x0001, 0x8001, 0x03ff, 0x7c00, 0xfc00,
    0x7e00, 0x5140, 0x2e66,
};

/* ---- reference helpers ------------------------------------------------- */

static inline float F(uint64_t v)
{
    return h_f32((uint32_t)v);
}

static inline double D(uint64_t v)
{
    return h_f64(v);
}

static inline uint64_t UF(float f)
{
    return h_u32(f);
}

static inline uint64_t UD(double d)
{
    return h_u64(d);
}

static inline _Float16 H(uint64_t v)
{
    uint16_t u = (uint16_t)v;
    _Float16 h;

    memcpy(&h, &u, 2);
    return h;
}

static inline uint64_t UH(_Float16 h)
{
    uint16_t u;

    memcpy(&u, &h, 2);
    return u;
}

/* Flush a subnormal f32 to zero of the same sign (.ftz). */
static inline float ftz(float f)
{
    return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.0f, f) : f;
}

#define R(name, expr)                                                       \
    static uint64_t name(uint64_t A, uint64_t B, uint64_t C)                \
    {                                                                       \
        uint16_t a16 = A, b16 = B;                                          \
        int16_t s16a = A, s16b = B;                                         \
        uint32_t a = A, b = B, c = C;                                       \
        int32_t sa = A, sb = B, sc = C;                                     \
        int64_t la = A, lb = B, lc = C;                                     \
        (void)a16; (void)b16; (void)s16a; (void)s16b; (void)a; (void)b;    \
        (void)c; (void)sa; (void)sb; (void)sc; (void)la; (void)lb;          \
        (void)lc;                                                           \
        return (expr);                                                      \
    }

/* Floating-point references read their operands through volatiles so the
 * compiler evaluates them at run time, in the rounding mode set then. */
#define RF(name, expr)                                                      \
    static uint64_t name(uint64_t A, uint64_t B, uint64_t C)                \
    {                                                                       \
        volatile float fa = F(A), fb = F(B), fc = F(C);                     \
        volatile double da = D(A), db = D(B), dc = D(C);                    \
        (void)fa; (void)fb; (void)fc; (void)da; (void)db; (void)dc;         \
        return (expr);                                                      \
    }

/* ---- 32-bit integer arithmetic ------------------------------------------ */

R(r_add32, (uint32_t)(a + b))
R(r_sub32, (uint32_t)(a - b))
R(r_mullo32, (uint32_t)(a * b))
R(r_mulhi_s32, (uint32_t)(((int64_t)sa * sb) >> 32))
R(r_mulhi_u32, (uint32_t)(((uint64_t)a * b) >> 32))
R(r_mulwide_s32, (uint64_t)((int64_t)sa * sb))
R(r_mulwide_u32, (uint64_t)a * b)
R(r_madlo32, (uint32_t)(a * b + c))
R(r_madhi_s32, (uint32_t)((uint32_t)(((int64_t)sa * sb) >> 32) + c))
R(r_madhi_u32, (uint32_t)((uint32_t)(((uint64_t)a * b) >> 32) + c))
R(r_madwide_s32, (uint64_t)((int64_t)sa * sb + (int64_t)(uint64_t)C))
R(r_madwide_u32, (uint64_t)a * b + (uint64_t)C)
R(r_mul24lo_u32, (uint32_t)((a & 0xffffff) * (b & 0xffffff)))
R(r_mul24lo_s32, (uint32_t)((int64_t)((int32_t)(a << 8) >> 8) *
                            ((int32_t)(b << 8) >> 8)))
R(r_neg32, (uint32_t)(0u - a))
R(r_abs32, (uint32_t)(sa < 0 ? 0u - a : a))
R(r_min_s32, (uint32_t)(sa < sb ? sa : sb))
R(r_max_s32, (uint32_t)(sa > sb ? sa : sb))
R(r_min_u32, a < b ? a : b)
R(r_max_u32, a > b ? a : b)
R(r_addsat_s32, (uint32_t)(int32_t)((int64_t)sa + sb > INT32_MAX ? INT32_MAX :
                                    (int64_t)sa + sb < INT32_MIN ? INT32_MIN :
                                    (int64_t)sa + sb))
R(r_subsat_s32, (uint32_t)(int32_t)((int64_t)sa - sb > INT32_MAX ? INT32_MAX :
                                    (int64_t)sa - sb < INT32_MIN ? INT32_MIN :
                                    (int64_t)sa - sb))
/* add.cc + addc: c plus the carry out of a + b. */
R(r_addc32, (uint32_t)(c + (((uint64_t)a + b) >> 32)))
/* sub.cc + subc: c minus the borrow out of a - b. */
R(r_subc32, (uint32_t)(c - (a < b)))

static const struct op ops_int32[] = {
    { "add.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_add32 },
    { "add.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_add32 },
    { "sub.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_sub32 },
    { "mul.lo.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mullo32 },
    { "mul.lo.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mullo32 },
    { "mul.hi.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mulhi_s32 },
    { "mul.hi.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mulhi_u32 },
    { "mul.wide.s32 $d, $a, $b;", T_B64, T_B32, T_B32, 0, r_mulwide_s32 },
    { "mul.wide.u32 $d, $a, $b;", T_B64, T_B32, T_B32, 0, r_mulwide_u32 },
    { "mul24.lo.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mul24lo_u32 },
    { "mul24.lo.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_mul24lo_s32 },
    { "neg.s32 $d, $a;", T_B32, T_B32, 0, 0, r_neg32 },
    { "abs.s32 $d, $a;", T_B32, T_B32, 0, 0, r_abs32 },
    { "min.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_min_s32 },
    { "max.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_max_s32 },
    { "min.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_min_u32 },
    { "max.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_max_u32 },
    { "add.sat.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_addsat_s32 },
    { "sub.sat.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_subsat_s32 },
};

static const struct op ops_mad32[] = {
    { "mad.lo.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_madlo32 },
    { "mad.lo.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_madlo32 },
    { "mad.hi.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_madhi_s32 },
    { "mad.hi.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_madhi_u32 },
    { "mad.wide.s32 $d, $a, $b, $c;", T_B64, T_B32, T_B32, T_B64,
      r_madwide_s32 },
    { "mad.wide.u32 $d, $a, $b, $c;", T_B64, T_B32, T_B32, T_B64,
      r_madwide_u32 },
    { "add.cc.u32 $t, $a, $b; addc.u32 $d, $c, 0;", T_B32, T_B32, T_B32,
      T_B32, r_addc32 },
    { "sub.cc.u32 $t, $a, $b; subc.u32 $d, $c, 0;", T_B32, T_B32, T_B32,
      T_B32, r_subc32 },
};

/*
 * Division: the ISA leaves x / 0 unspecified (the group still proves that
 * it does not fault); INT_MIN / -1 wraps to INT_MIN with remainder 0.
 */
static uint64_t r_div_s32(uint64_t A, uint64_t B, uint64_t C)
{
    int32_t a = A, b = B;

    (void)C;
    if (!b) {
        ref_skip = 1;
        return 0;
    }
    if (a == INT32_MIN && b == -1)
        return (uint32_t)INT32_MIN;
    return (uint32_t)(a / b);
}

static uint64_t r_rem_s32(uint64_t A, uint64_t B, uint64_t C)
{
    int32_t a = A, b = B;

    (void)C;
    if (!b) {
        ref_skip = 1;
        return 0;
    }
    if (b == -1)
        return 0;
    return (uint32_t)(a % b);
}

static uint64_t r_div_u32(uint64_t A, uint64_t B, uint64_t C)
{
    (void)C;
    if (!(uint32_t)B) {
        ref_skip = 1;
        return 0;
    }
    return (uint32_t)A / (uint32_t)B;
}

static uint64_t r_rem_u32(uint64_t A, uint64_t B, uint64_t C)
{
    (void)C;
    if (!(uint32_t)B) {
        ref_skip = 1;
        return 0;
    }
    return (uint32_t)A % (uint32_t)B;
}

static uint64_t r_div_s64(uint64_t A, uint64_t B, uint64_t C)
{
    int64_t a = A, b = B;

    (void)C;
    if (!b) {
        ref_skip = 1;
        return 0;
    }
    if (a == INT64_MIN && b == -1)
        return (uint64_t)INT64_MIN;
    return (uint64_t)(a / b);
}

static uint64_t r_rem_s64(uint64_t A, uint64_t B, uint64_t C)
{
    int64_t a = A, b = B;

    (void)C;
    if (!b) {
        ref_skip = 1;
        return 0;
    }
    if (b == -1)
        return 0;
    return (uint64_t)(a % b);
}

static uint64_t r_div_u64(uint64_t A, uint64_t B, uint64_t C)
{
    (void)C;
    if (!B) {
        ref_skip = 1;
        return 0;
    }
    return A / B;
}

static uint64_t r_rem_u64(uint64_t A, uint64_t B, uint64_t C)
{
    (void)C;
    if (!B) {
        ref_skip = 1;
        return 0;
    }
    return A % B;
}

static const struct op ops_div32[] = {
    { "div.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_div_s32 },
    { "div.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_div_u32 },
    { "rem.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_rem_s32 },
    { "rem.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_rem_u32 },
};

static const struct op ops_div64[] = {
    { "div.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_div_s64 },
    { "div.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_div_u64 },
    { "rem.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_rem_s64 },
    { "rem.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_rem_u64 },
};

/* ---- 64-bit integer arithmetic ------------------------------------------ */

R(r_add64, A + B)
R(r_sub64, A - B)
R(r_mullo64, A * B)
R(r_mulhi_s64, (uint64_t)(((__int128)la * lb) >> 64))
R(r_mulhi_u64, (uint64_t)(((unsigned __int128)A * B) >> 64))
R(r_neg64, 0 - A)
R(r_abs64, la < 0 ? 0 - A : A)
R(r_min_s64, (uint64_t)(la < lb ? la : lb))
R(r_max_s64, (uint64_t)(la > lb ? la : lb))
R(r_min_u64, A < B ? A : B)
R(r_max_u64, A > B ? A : B)

static uint64_t r_madlo64_bb(uint64_t A, uint64_t B, uint64_t C)
{
    (void)C;
    return A * B + B;
}

static const struct op ops_int64[] = {
    { "add.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_add64 },
    { "add.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_add64 },
    { "sub.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_sub64 },
    { "mul.lo.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_mullo64 },
    { "mul.lo.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_mullo64 },
    { "mul.hi.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_mulhi_s64 },
    { "mul.hi.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_mulhi_u64 },
    { "mad.lo.s64 $d, $a, $b, $b;", T_B64, T_B64, T_B64, 0, r_madlo64_bb },
    { "neg.s64 $d, $a;", T_B64, T_B64, 0, 0, r_neg64 },
    { "abs.s64 $d, $a;", T_B64, T_B64, 0, 0, r_abs64 },
    { "min.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_min_s64 },
    { "max.s64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_max_s64 },
    { "min.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_min_u64 },
    { "max.u64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_max_u64 },
};

/* ---- 16-bit integer arithmetic (nvcc uses it for short and char) ------- */

R(r_add16, (uint16_t)(a16 + b16))
R(r_sub16, (uint16_t)(a16 - b16))
R(r_mullo16, (uint16_t)(a16 * b16))
R(r_mulhi_s16, (uint16_t)(((int32_t)s16a * s16b) >> 16))
R(r_mulwide_s16, (uint32_t)((int32_t)s16a * s16b))
R(r_mulwide_u16, (uint32_t)a16 * b16)
R(r_min_s16, (uint16_t)(s16a < s16b ? s16a : s16b))
R(r_max_u16, (uint16_t)(a16 > b16 ? a16 : b16))
R(r_and16, (uint16_t)(a16 & b16))
R(r_shl16, (uint16_t)(b >= 16 ? 0 : a16 << b))
R(r_shr_s16, (uint16_t)(s16a >> (b >= 16 ? 15 : b)))

static const struct op ops_int16[] = {
    { "add.s16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_add16 },
    { "sub.u16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_sub16 },
    { "mul.lo.s16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_mullo16 },
    { "mul.hi.s16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_mulhi_s16 },
    { "mul.wide.s16 $d, $a, $b;", T_B32, T_B16, T_B16, 0, r_mulwide_s16 },
    { "mul.wide.u16 $d, $a, $b;", T_B32, T_B16, T_B16, 0, r_mulwide_u16 },
    { "min.s16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_min_s16 },
    { "max.u16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_max_u16 },
    { "and.b16 $d, $a, $b;", T_B16, T_B16, T_B16, 0, r_and16 },
    { "shl.b16 $d, $a, $b;", T_B16, T_B16, T_B32, 0, r_shl16 },
    { "shr.s16 $d, $a, $b;", T_B16, T_B16, T_B32, 0, r_shr_s16 },
};

/* ---- logic and predicates ----------------------------------------------- */

R(r_and32, a & b)
R(r_or32, a | b)
R(r_xor32, a ^ b)
R(r_not32, (uint32_t)~a)
R(r_cnot32, a == 0)
R(r_and64, A & B)
R(r_or64, A | B)
R(r_xor64, A ^ B)
R(r_not64, ~A)
R(r_cnot64, A == 0)
R(r_pand, (a != 0) & (b != 0))
R(r_por, (a != 0) | (b != 0))
R(r_pxor, (a != 0) ^ (b != 0))
R(r_pnot, a == 0)
R(r_selp, c ? a : b)
R(r_selp64, c ? A : B)
R(r_slct_s32, sc >= 0 ? a : b)

static uint64_t r_slct_f32(uint64_t A, uint64_t B, uint64_t C)
{
    return F(C) >= 0.0f ? (uint32_t)A : (uint32_t)B;
}

static const struct op ops_logic[] = {
    { "and.b32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_and32 },
    { "or.b32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_or32 },
    { "xor.b32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_xor32 },
    { "not.b32 $d, $a;", T_B32, T_B32, 0, 0, r_not32 },
    { "cnot.b32 $d, $a;", T_B32, T_B32, 0, 0, r_cnot32 },
    { "and.b64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_and64 },
    { "or.b64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_or64 },
    { "xor.b64 $d, $a, $b;", T_B64, T_B64, T_B64, 0, r_xor64 },
    { "not.b64 $d, $a;", T_B64, T_B64, 0, 0, r_not64 },
    { "cnot.b64 $d, $a;", T_B64, T_B64, 0, 0, r_cnot64 },
    { "and.pred $d, $a, $b;", T_PRED, T_PRED, T_PRED, 0, r_pand },
    { "or.pred $d, $a, $b;", T_PRED, T_PRED, T_PRED, 0, r_por },
    { "xor.pred $d, $a, $b;", T_PRED, T_PRED, T_PRED, 0, r_pxor },
    { "not.pred $d, $a;", T_PRED, T_PRED, 0, 0, r_pnot },
    { "selp.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_PRED, r_selp },
    { "selp.b64 $d, $a, $b, $c;", T_B64, T_B64, T_B64, T_PRED, r_selp64 },
    { "slct.b32.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_slct_s32 },
    { "slct.b32.f32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_F32,
      r_slct_f32 },
};

/* ---- shifts: counts >= width clamp (shl, shr.u give 0; shr.s fills) ---- */

R(r_shl32, b >= 32 ? 0 : (uint32_t)(a << b))
R(r_shr_u32, b >= 32 ? 0 : a >> b)
R(r_shr_s32, (uint32_t)(sa >> (b >= 32 ? 31 : b)))
R(r_shl64, b >= 64 ? 0 : A << b)
R(r_shr_u64, b >= 64 ? 0 : A >> b)
R(r_shr_s64, (uint64_t)(la >> (b >= 64 ? 63 : b)))
/* shf: funnel shift of the 64-bit value b:a. */
R(r_shf_l_wrap, (uint32_t)((((uint64_t)b << 32 | a) << (c & 31)) >> 32))
R(r_shf_l_clamp, c >= 32 ? a :
  (uint32_t)((((uint64_t)b << 32 | a) << c) >> 32))
R(r_shf_r_wrap, (uint32_t)(((uint64_t)b << 32 | a) >> (c & 31)))
R(r_shf_r_clamp, c >= 32 ? b : (uint32_t)(((uint64_t)b << 32 | a) >> c))

static const struct op ops_shift[] = {
    { "shl.b32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_shl32 },
    { "shr.u32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_shr_u32 },
    { "shr.s32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_shr_s32 },
    { "shr.b32 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_shr_u32 },
    { "shl.b64 $d, $a, $b;", T_B64, T_B64, T_B32, 0, r_shl64 },
    { "shr.u64 $d, $a, $b;", T_B64, T_B64, T_B32, 0, r_shr_u64 },
    { "shr.s64 $d, $a, $b;", T_B64, T_B64, T_B32, 0, r_shr_s64 },
    { "shf.l.wrap.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_shf_l_wrap },
    { "shf.l.clamp.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_shf_l_clamp },
    { "shf.r.wrap.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_shf_r_wrap },
    { "shf.r.clamp.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_shf_r_clamp },
};

/* ---- bit manipulation ------------------------------------------------------ */

R(r_popc32, (uint64_t)__builtin_popcount(a))
R(r_popc64, (uint64_t)__builtin_popcountll(A))
R(r_clz32, a ? (uint64_t)__builtin_clz(a) : 32)
R(r_clz64, A ? (uint64_t)__builtin_clzll(A) : 64)

static uint64_t r_brev32(uint64_t A, uint64_t B, uint64_t C)
{
    uint32_t a = A, d = 0;

    (void)B; (void)C;
    for (int i = 0; i < 32; i++)
        d |= ((a >> i) & 1u) << (31 - i);
    return d;
}

static uint64_t r_brev64(uint64_t A, uint64_t B, uint64_t C)
{
    uint64_t d = 0;

    (void)B; (void)C;
    for (int i = 0; i < 64; i++)
        d |= ((A >> i) & 1u) << (63 - i);
    return d;
}

/* bfind: position of the most significant non-sign bit, ~0 if none. */
static uint64_t bfind(uint64_t a, int bits, int sign, int shiftamt)
{
    int msb = bits - 1;

    if (sign && ((a >> msb) & 1))
        a = ~a;
    if (bits == 32)
        a &= 0xffffffffu;
    for (int i = msb; i >= 0; i--)
        if ((a >> i) & 1)
            return shiftamt ? (uint64_t)(msb - i) : (uint64_t)i;
    return 0xffffffffu;
}

R(r_bfind_u32, bfind(a, 32, 0, 0))
R(r_bfind_s32, bfind(a, 32, 1, 0))
R(r_bfind_sa_u32, bfind(a, 32, 0, 1))
R(r_bfind_u64, bfind(A, 64, 0, 0))
R(r_bfind_s64, bfind(A, 64, 1, 0))

/* bfe, as the ISA's pseudo-code defines it. */
static uint64_t bfe(uint64_t a, uint32_t b, uint32_t c, int bits, int sign)
{
    int msb = bits - 1;
    unsigned pos = b & 0xff, len = c & 0xff;
    unsigned sbit;
    uint64_t d = 0;

    if (!sign || len == 0) {
        sbit = 0;
    } else {
        unsigned top = pos + len - 1;
        sbit = (a >> (top < (unsigned)msb ? top : (unsigned)msb)) & 1;
    }
    for (int i = 0; i <= msb; i++) {
        unsigned bit = ((unsigned)i < len && pos + i <= (unsigned)msb) ?
                       (a >> (pos + i)) & 1 : sbit;
        d |= (uint64_t)bit << i;
    }
    return d;
}

R(r_bfe_u32, bfe(a, b, c, 32, 0))
R(r_bfe_s32, bfe(a, b, c, 32, 1))
R(r_bfe_u64, bfe(A, b, c, 64, 0))
R(r_bfe_s64, bfe(A, b, c, 64, 1))

/* bfi: insert the low len bits of a into b at pos. */
static uint64_t bfi(uint64_t a, uint64_t b, uint32_t pos, uint32_t len,
                    int bits)
{
    int msb = bits - 1;

    pos &= 0xff;
    len &= 0xff;
    for (unsigned i = 0; i < len && pos + i <= (unsigned)msb; i++) {
        b &= ~(1ull << (pos + i));
        b |= ((a >> i) & 1) << (pos + i);
    }
    return bits == 32 ? (uint32_t)b : b;
}

R(r_bfi32_len8, bfi(a, b, c, 8, 32))
R(r_bfi32_pos5, bfi(a, b, 5, c, 32))
R(r_bfi64_len8, bfi(A, B, c, 8, 64))

static const struct op ops_bits[] = {
    { "popc.b32 $d, $a;", T_B32, T_B32, 0, 0, r_popc32 },
    { "popc.b64 $d, $a;", T_B32, T_B64, 0, 0, r_popc64 },
    { "clz.b32 $d, $a;", T_B32, T_B32, 0, 0, r_clz32 },
    { "clz.b64 $d, $a;", T_B32, T_B64, 0, 0, r_clz64 },
    { "brev.b32 $d, $a;", T_B32, T_B32, 0, 0, r_brev32 },
    { "brev.b64 $d, $a;", T_B64, T_B64, 0, 0, r_brev64 },
    { "bfind.u32 $d, $a;", T_B32, T_B32, 0, 0, r_bfind_u32 },
    { "bfind.s32 $d, $a;", T_B32, T_B32, 0, 0, r_bfind_s32 },
    { "bfind.shiftamt.u32 $d, $a;", T_B32, T_B32, 0, 0, r_bfind_sa_u32 },
    { "bfind.u64 $d, $a;", T_B32, T_B64, 0, 0, r_bfind_u64 },
    { "bfind.s64 $d, $a;", T_B32, T_B64, 0, 0, r_bfind_s64 },
};

static const struct op ops_bitfield[] = {
    { "bfe.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_bfe_u32 },
    { "bfe.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_bfe_s32 },
    { "bfe.u64 $d, $a, $b, $c;", T_B64, T_B64, T_B32, T_B32, r_bfe_u64 },
    { "bfe.s64 $d, $a, $b, $c;", T_B64, T_B64, T_B32, T_B32, r_bfe_s64 },
    { "bfi.b32 $d, $a, $b, $c, 8;", T_B32, T_B32, T_B32, T_B32,
      r_bfi32_len8 },
    { "bfi.b32 $d, $a, $b, 5, $c;", T_B32, T_B32, T_B32, T_B32,
      r_bfi32_pos5 },
    { "bfi.b64 $d, $a, $b, $c, 8;", T_B64, T_B64, T_B64, T_B32,
      r_bfi64_len8 },
};

/* Inputs for bfe/bfi: a value, and positions/lengths around the width. */
static const uint64_t vbf_a[] = {
    0, 0xffffffffffffffffull, 0x8000000080000000ull, 0x123456789abcdef0ull,
    0x00000000f0f0f0f0ull, 0x7fffffff7fffffffull,
};
static const uint64_t vbf_pos[] = {
    0, 1, 4, 8, 16, 24, 28, 31, 32, 33, 56, 63, 64, 255, 256, 0x1ff,
};

/* ---- prmt ------------------------------------------------------------------ */

static uint8_t prmt_byte(uint64_t x, unsigned sel)
{
    uint8_t byte = x >> ((sel & 7) * 8);

    if (sel & 8)
        return (byte & 0x80) ? 0xff : 0;
    return byte;
}

static uint64_t r_prmt(uint64_t A, uint64_t B, uint64_t C)
{
    uint64_t x = (uint64_t)(uint32_t)B << 32 | (uint32_t)A;
    uint32_t d = 0;

    for (int i = 0; i < 4; i++)
        d |= (uint32_t)prmt_byte(x, (C >> (4 * i)) & 0xf) << (8 * i);
    return d;
}

/* Byte indices (b0..b3 of d) for the modes, by selector c[1:0]. */
static const uint8_t prmt_modes[6][4][4] = {
    { { 0, 1, 2, 3 }, { 1, 2, 3, 4 }, { 2, 3, 4, 5 }, { 3, 4, 5, 6 } }, /* f4e */
    { { 0, 7, 6, 5 }, { 1, 0, 7, 6 }, { 2, 1, 0, 7 }, { 3, 2, 1, 0 } }, /* b4e */
    { { 0, 0, 0, 0 }, { 1, 1, 1, 1 }, { 2, 2, 2, 2 }, { 3, 3, 3, 3 } }, /* rc8 */
    { { 0, 1, 2, 3 }, { 1, 1, 2, 3 }, { 2, 2, 2, 3 }, { 3, 3, 3, 3 } }, /* ecl */
    { { 0, 0, 0, 0 }, { 0, 1, 1, 1 }, { 0, 1, 2, 2 }, { 0, 1, 2, 3 } }, /* ecr */
    { { 0, 1, 0, 1 }, { 2, 3, 2, 3 }, { 0, 1, 0, 1 }, { 2, 3, 2, 3 } }, /* rc16 */
};

static uint64_t prmt_mode(int mode, uint64_t A, uint64_t B, uint64_t C)
{
    uint64_t x = (uint64_t)(uint32_t)B << 32 | (uint32_t)A;
    uint32_t d = 0;

    for (int i = 0; i < 4; i++)
        d |= (uint32_t)(uint8_t)(x >> (8 * prmt_modes[mode][C & 3][i]))
             << (8 * i);
    return d;
}

#define PRMT_MODE(n, m)                                                     \
    static uint64_t r_prmt_##n(uint64_t A, uint64_t B, uint64_t C)          \
    {                                                                       \
        return prmt_mode(m, A, B, C);                                       \
    }
PRMT_MODE(f4e, 0)
PRMT_MODE(b4e, 1)
PRMT_MODE(rc8, 2)
PRMT_MODE(ecl, 3)
PRMT_MODE(ecr, 4)
PRMT_MODE(rc16, 5)

static const struct op ops_prmt[] = {
    { "prmt.b32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_prmt },
    { "prmt.b32.f4e $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_f4e },
    { "prmt.b32.b4e $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_b4e },
    { "prmt.b32.rc8 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_rc8 },
    { "prmt.b32.ecl $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_ecl },
    { "prmt.b32.ecr $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_ecr },
    { "prmt.b32.rc16 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_prmt_rc16 },
};

static const uint64_t vprmt_a[] = { 0x83828180, 0x03020100 };
static const uint64_t vprmt_b[] = { 0x87868584, 0x07060504 };
static const uint64_t vprmt_c[] = {
    0x3210, 0x7654, 0x0123, 0x4567, 0x5140, 0x0000, 0x1111, 0x2222, 0x3333,
    0x8888, 0x9abc, 0xfedc, 0xcdef, 0x00ff, 0xf0f0, 1, 2, 3, 0xffff0001,
};

/* ---- integer comparisons ----------------------------------------------- */

R(r_eq32, a == b)
R(r_ne32, a != b)
R(r_lt_s32, sa < sb)
R(r_le_s32, sa <= sb)
R(r_gt_s32, sa > sb)
R(r_ge_s32, sa >= sb)
R(r_lo32, a < b)
R(r_ls32, a <= b)
R(r_hi32, a > b)
R(r_hs32, a >= b)
R(r_lt_s64, la < lb)
R(r_hi64, A > B)
R(r_ge_u64, A >= B)
R(r_eq64, A == B)
R(r_lt_and, (sa < sb) && c)
R(r_lt_or, (sa < sb) || c)
R(r_lt_xor, (sa < sb) ^ (c != 0))

static const struct op ops_setp_int[] = {
    { "setp.eq.s32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_eq32 },
    { "setp.ne.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_ne32 },
    { "setp.lt.s32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_lt_s32 },
    { "setp.le.s32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_le_s32 },
    { "setp.gt.s32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_gt_s32 },
    { "setp.ge.s32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_ge_s32 },
    { "setp.lt.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_lo32 },
    { "setp.lo.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_lo32 },
    { "setp.ls.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_ls32 },
    { "setp.hi.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_hi32 },
    { "setp.hs.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_hs32 },
    { "setp.ge.u32 $d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_hs32 },
    { "setp.lt.s64 $d, $a, $b;", T_PRED, T_B64, T_B64, 0, r_lt_s64 },
    { "setp.gt.u64 $d, $a, $b;", T_PRED, T_B64, T_B64, 0, r_hi64 },
    { "setp.ge.u64 $d, $a, $b;", T_PRED, T_B64, T_B64, 0, r_ge_u64 },
    { "setp.eq.b64 $d, $a, $b;", T_PRED, T_B64, T_B64, 0, r_eq64 },
    { "setp.lt.and.s32 $d, $a, $b, $c;", T_PRED, T_B32, T_B32, T_PRED,
      r_lt_and },
    { "setp.lt.or.s32 $d, $a, $b, $c;", T_PRED, T_B32, T_B32, T_PRED,
      r_lt_or },
    { "setp.lt.xor.s32 $d, $a, $b, $c;", T_PRED, T_B32, T_B32, T_PRED,
      r_lt_xor },
    { "setp.lt.s32 $d|$t, $a, $b;", T_PRED, T_B32, T_B32, 0, r_lt_s32 },
    { "setp.lt.s32 $t|$d, $a, $b;", T_PRED, T_B32, T_B32, 0, r_ge_s32 },
};

/* ---- float comparisons, ordered and unordered ---------------------------- */

#define UNORD32 (isnan(fa) || isnan(fb))
#define UNORD64 (isnan(da) || isnan(db))
RF(r_feq, !UNORD32 && fa == fb)
RF(r_fne, !UNORD32 && fa != fb)
RF(r_flt, !UNORD32 && fa < fb)
RF(r_fle, !UNORD32 && fa <= fb)
RF(r_fgt, !UNORD32 && fa > fb)
RF(r_fge, !UNORD32 && fa >= fb)
RF(r_fequ, UNORD32 || fa == fb)
RF(r_fneu, UNORD32 || fa != fb)
RF(r_fltu, UNORD32 || fa < fb)
RF(r_fleu, UNORD32 || fa <= fb)
RF(r_fgtu, UNORD32 || fa > fb)
RF(r_fgeu, UNORD32 || fa >= fb)
RF(r_fnum, !UNORD32)
RF(r_fnan, UNORD32)
RF(r_deq, !UNORD64 && da == db)
RF(r_dne, !UNORD64 && da != db)
RF(r_dlt, !UNORD64 && da < db)
RF(r_dge, !UNORD64 && da >= db)
RF(r_dequ, UNORD64 || da == db)
RF(r_dneu, UNORD64 || da != db)
RF(r_dltu, UNORD64 || da < db)
RF(r_dgeu, UNORD64 || da >= db)
RF(r_dnum, !UNORD64)
RF(r_dnan, UNORD64)

static const struct op ops_setp_f32[] = {
    { "setp.eq.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_feq },
    { "setp.ne.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fne },
    { "setp.lt.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_flt },
    { "setp.le.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fle },
    { "setp.gt.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fgt },
    { "setp.ge.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fge },
    { "setp.equ.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fequ },
    { "setp.neu.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fneu },
    { "setp.ltu.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fltu },
    { "setp.leu.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fleu },
    { "setp.gtu.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fgtu },
    { "setp.geu.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fgeu },
    { "setp.num.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fnum },
    { "setp.nan.f32 $d, $a, $b;", T_PRED, T_F32, T_F32, 0, r_fnan },
};

static const struct op ops_setp_f64[] = {
    { "setp.eq.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_deq },
    { "setp.ne.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dne },
    { "setp.lt.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dlt },
    { "setp.ge.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dge },
    { "setp.equ.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dequ },
    { "setp.neu.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dneu },
    { "setp.ltu.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dltu },
    { "setp.geu.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dgeu },
    { "setp.num.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dnum },
    { "setp.nan.f64 $d, $a, $b;", T_PRED, T_F64, T_F64, 0, r_dnan },
};

/* ---- f32 arithmetic, IEEE-exact in every rounding mode --------------------- */

RF(r_fadd, UF(fa + fb))
RF(r_fsub, UF(fa - fb))
RF(r_fmul, UF(fa * fb))
RF(r_fdiv, UF(fa / fb))
RF(r_frcp, UF(1.0f / fa))
RF(r_fsqrt, UF(sqrtf(fa)))
RF(r_ffma, UF(fmaf(fa, fb, fc)))
RF(r_fadd_ftz, UF(ftz(ftz(fa) + ftz(fb))))
RF(r_fmul_ftz, UF(ftz(ftz(fa) * ftz(fb))))
RF(r_fadd_sat, UF(isnan(fa + fb) ? 0.0f : fminf(fmaxf(fa + fb, 0.0f), 1.0f)))
RF(r_fabs, UF(fabsf(fa)))
RF(r_fneg, UF(-fa))

#define F4(insn, ta, tb, tc, fn, cmp)                                        \
    { insn ".rn.f32 $d, " ta, T_F32, T_F32, tb, tc, fn, cmp, 0, RN },       \
    { insn ".rz.f32 $d, " ta, T_F32, T_F32, tb, tc, fn, cmp, 0, RZ },       \
    { insn ".rm.f32 $d, " ta, T_F32, T_F32, tb, tc, fn, cmp, 0, RM },       \
    { insn ".rp.f32 $d, " ta, T_F32, T_F32, tb, tc, fn, cmp, 0, RP }

static const struct op ops_f32[] = {
    F4("add", "$a, $b;", T_F32, 0, r_fadd, C_FLOAT),
    F4("sub", "$a, $b;", T_F32, 0, r_fsub, C_FLOAT),
    F4("mul", "$a, $b;", T_F32, 0, r_fmul, C_FLOAT),
    F4("div", "$a, $b;", T_F32, 0, r_fdiv, C_FLOAT),
    F4("rcp", "$a;", 0, 0, r_frcp, C_FLOAT),
    F4("sqrt", "$a;", 0, 0, r_fsqrt, C_FLOAT),
    { "add.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fadd, C_FLOAT, 0, RN },
    { "mul.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fmul, C_FLOAT, 0, RN },
    { "add.ftz.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fadd_ftz, C_FLOAT,
      0, RN },
    { "mul.rn.ftz.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fmul_ftz,
      C_FLOAT, 0, RN },
    { "add.sat.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fadd_sat, C_MINMAX,
      0, RN },
    { "abs.f32 $d, $a;", T_F32, T_F32, 0, 0, r_fabs, C_FLOAT },
    { "neg.f32 $d, $a;", T_F32, T_F32, 0, 0, r_fneg, C_FLOAT },
};

static const struct op ops_ffma[] = {
    F4("fma", "$a, $b, $c;", T_F32, T_F32, r_ffma, C_FLOAT),
    F4("mad", "$a, $b, $c;", T_F32, T_F32, r_ffma, C_FLOAT),
};

/* Inputs for the three-operand f32 group (the product of all is large). */
static const uint64_t vf32_fma[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3eaaaaab, 0x3f800001,
    0x3dcccccd, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x00000001, 0x807fffff,
    0x7f800000, 0xff800000, 0x7fc00000, 0x34000000, 0xb4000000, 0x4b800001,
    0x40490fdb, 0x33800001,
};

/* min/max: a NaN operand yields the other; -0.0 vs +0.0 is not checked. */
RF(r_fmin, UF(isnan(fa) && isnan(fb) ? NAN : fminf(fa, fb)))
RF(r_fmax, UF(isnan(fa) && isnan(fb) ? NAN : fmaxf(fa, fb)))
RF(r_dmin, UD(isnan(da) && isnan(db) ? NAN : fmin(da, db)))
RF(r_dmax, UD(isnan(da) && isnan(db) ? NAN : fmax(da, db)))
/* copysign.f32 d, a, b: the magnitude of b with the sign of a. */
RF(r_fcopysign, (UF(fb) & 0x7fffffffu) | (UF(fa) & 0x80000000u))
RF(r_dcopysign, (UD(db) & ~(1ull << 63)) | (UD(da) & (1ull << 63)))
RF(r_dabs, UD(fabs(da)))
RF(r_dneg, UD(-da))

RF(r_fmin_ftz, UF(isnan(fa) && isnan(fb) ? NAN : fminf(ftz(fa), ftz(fb))))

static const struct op ops_fminmax[] = {
    { "min.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fmin, C_MINMAX },
    { "max.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fmax, C_MINMAX },
    { "min.ftz.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fmin_ftz, C_MINMAX },
    { "copysign.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_fcopysign,
      C_FLOAT },
    { "min.f64 $d, $a, $b;", T_F64, T_F64, T_F64, 0, r_dmin, C_MINMAX },
    { "max.f64 $d, $a, $b;", T_F64, T_F64, T_F64, 0, r_dmax, C_MINMAX },
    { "copysign.f64 $d, $a, $b;", T_F64, T_F64, T_F64, 0, r_dcopysign,
      C_FLOAT },
    { "abs.f64 $d, $a;", T_F64, T_F64, 0, 0, r_dabs, C_FLOAT },
    { "neg.f64 $d, $a;", T_F64, T_F64, 0, 0, r_dneg, C_FLOAT },
};

/* ---- f64 arithmetic ---------------------------------------------------------- */

RF(r_dadd, UD(da + db))
RF(r_dsub, UD(da - db))
RF(r_dmul, UD(da * db))
RF(r_ddiv, UD(da / db))
RF(r_drcp, UD(1.0 / da))
RF(r_dsqrt, UD(sqrt(da)))
RF(r_dfma, UD(fma(da, db, dc)))

#define D4(insn, ta, tb, tc, fn)                                             \
    { insn ".rn.f64 $d, " ta, T_F64, T_F64, tb, tc, fn, C_FLOAT, 0, RN },   \
    { insn ".rz.f64 $d, " ta, T_F64, T_F64, tb, tc, fn, C_FLOAT, 0, RZ },   \
    { insn ".rm.f64 $d, " ta, T_F64, T_F64, tb, tc, fn, C_FLOAT, 0, RM },   \
    { insn ".rp.f64 $d, " ta, T_F64, T_F64, tb, tc, fn, C_FLOAT, 0, RP }

static const struct op ops_f64[] = {
    D4("add", "$a, $b;", T_F64, 0, r_dadd),
    D4("sub", "$a, $b;", T_F64, 0, r_dsub),
    D4("mul", "$a, $b;", T_F64, 0, r_dmul),
    D4("div", "$a, $b;", T_F64, 0, r_ddiv),
    D4("rcp", "$a;", 0, 0, r_drcp),
    D4("sqrt", "$a;", 0, 0, r_dsqrt),
    { "add.f64 $d, $a, $b;", T_F64, T_F64, T_F64, 0, r_dadd, C_FLOAT, 0, RN },
};

static const struct op ops_dfma[] = {
    D4("fma", "$a, $b, $c;", T_F64, T_F64, r_dfma),
    D4("mad", "$a, $b, $c;", T_F64, T_F64, r_dfma),
};

static const uint64_t vf64_fma[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
    0xbff0000000000000ull, 0x3fd5555555555555ull, 0x3ff0000000000001ull,
    0x3fb999999999999aull, 0x7fefffffffffffffull, 0x0010000000000000ull,
    0x0000000000000001ull, 0x800fffffffffffffull, 0x7ff0000000000000ull,
    0xfff0000000000000ull, 0x7ff8000000000000ull, 0x3ca0000000000000ull,
    0xbca0000000000000ull, 0x4340000000000001ull, 0x400921fb54442d18ull,
};

/* ---- approximate f32 instructions ------------------------------------------ */

/*
 * Bounds from the PTX ISA: rcp.approx 1 ulp; sqrt.approx and rsqrt.approx
 * relative error 2^-23 and 2^-22.9; ex2.approx relative 2^-22 (the ISA
 * states 2 ulp); lg2.approx absolute 2^-22.6; sin/cos.approx absolute
 * 2^-20.9 for |x| <= 100 pi; div.approx and div.full 2 ulp (div.approx for
 * 2^-126 <= |b| <= 2^126).  Relative and absolute bounds get one more ulp
 * for the rounding of the reference.  Specials (NaN, inf, zero) are exact.
 */
RF(r_arcp, UF((float)(1.0L / fa)))
RF(r_asqrt, UF((float)sqrtl(fa)))
RF(r_arsqrt, UF((float)(1.0L / sqrtl(fa))))
RF(r_aex2, UF((float)exp2l(fa)))
RF(r_alg2, UF((float)log2l(fa)))
RF(r_asin, UF((float)sinl(fa)))
RF(r_acos, UF((float)cosl(fa)))

static uint64_t r_adiv(uint64_t A, uint64_t B, uint64_t C)
{
    float a = F(A), b = F(B);

    (void)C;
    if (isfinite(b) && (fabsf(b) < 0x1p-126f || fabsf(b) > 0x1p126f))
        ref_skip = 1;
    /* 1/b and a*(1/b) round differently at the top of the range. */
    if (isinf(a) || isinf(b) || !isfinite((double)a / b) ||
        fabs((double)a / b) > 0x1p127 || (b != 0 && a != 0 &&
        fabs((double)a / b) < 0x1p-126))
        ref_skip = 1;
    return UF((float)((long double)a / b));
}

static uint64_t r_adiv_full(uint64_t A, uint64_t B, uint64_t C)
{
    float a = F(A), b = F(B);
    long double q = (long double)a / b;

    (void)C;
    /* Subnormal quotients are only bounded absolutely; skip them. */
    if (isfinite((float)q) && q != 0 && fabsl(q) < 0x1p-126L)
        ref_skip = 1;
    return UF((float)q);
}

static const struct op ops_approx[] = {
    { "rcp.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_arcp, C_ULP, 1 },
    { "rcp.approx.ftz.f32 $d, $a;", T_F32, T_F32, 0, 0, r_arcp, C_ULP, 1 },
    { "sqrt.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_asqrt, C_REL,
      0x1p-23 },
    { "rsqrt.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_arsqrt, C_REL,
      0x1.13p-23 },
    { "ex2.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_aex2, C_REL, 0x1p-22 },
    { "ex2.approx.ftz.f32 $d, $a;", T_F32, T_F32, 0, 0, r_aex2, C_REL,
      0x1p-22 },
    { "lg2.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_alg2, C_ABS,
      0x1.52p-23 },
    { "lg2.approx.ftz.f32 $d, $a;", T_F32, T_F32, 0, 0, r_alg2, C_ABS,
      0x1.52p-23 },
    { "div.approx.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_adiv, C_ULP,
      2 },
    { "div.full.f32 $d, $a, $b;", T_F32, T_F32, T_F32, 0, r_adiv_full,
      C_ULP, 2 },
};

static const struct op ops_trig[] = {
    { "sin.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_asin, C_ABS,
      0x1.126p-21 },
    { "cos.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_acos, C_ABS,
      0x1.126p-21 },
    { "sin.approx.ftz.f32 $d, $a;", T_F32, T_F32, 0, 0, r_asin, C_ABS,
      0x1.126p-21 },
    { "cos.approx.ftz.f32 $d, $a;", T_F32, T_F32, 0, 0, r_acos, C_ABS,
      0x1.126p-21 },
};

/* ---- testp ------------------------------------------------------------------ */

RF(r_tp_finite, isfinite(fa))
RF(r_tp_infinite, isinf(fa) != 0)
RF(r_tp_number, !isnan(fa))
RF(r_tp_nan, isnan(fa) != 0)
RF(r_tp_normal, isnormal(fa) != 0)
RF(r_tp_subnormal, fpclassify(fa) == FP_SUBNORMAL)
RF(r_tpd_finite, isfinite(da))
RF(r_tpd_infinite, isinf(da) != 0)
RF(r_tpd_nan, isnan(da) != 0)
RF(r_tpd_normal, isnormal(da) != 0)
RF(r_tpd_subnormal, fpclassify(da) == FP_SUBNORMAL)

static const struct op ops_testp_f32[] = {
    { "testp.finite.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_finite },
    { "testp.infinite.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_infinite },
    { "testp.number.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_number },
    { "testp.notanumber.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_nan },
    { "testp.normal.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_normal },
    { "testp.subnormal.f32 $d, $a;", T_PRED, T_F32, 0, 0, r_tp_subnormal },
};

static const struct op ops_testp_f64[] = {
    { "testp.finite.f64 $d, $a;", T_PRED, T_F64, 0, 0, r_tpd_finite },
    { "testp.infinite.f64 $d, $a;", T_PRED, T_F64, 0, 0, r_tpd_infinite },
    { "testp.notanumber.f64 $d, $a;", T_PRED, T_F64, 0, 0, r_tpd_nan },
    { "testp.normal.f64 $d, $a;", T_PRED, T_F64, 0, 0, r_tpd_normal },
    { "testp.subnormal.f64 $d, $a;", T_PRED, T_F64, 0, 0, r_tpd_subnormal },
};

/* ---- cvt: integer <-> integer ------------------------------------------------- */

R(r_cvt_s32_s16, (uint32_t)(int32_t)s16a)
R(r_cvt_u32_u16, (uint32_t)a16)
R(r_cvt_u16_u32, (uint16_t)a)
R(r_cvt_s64_s32, (uint64_t)(int64_t)sa)
R(r_cvt_u64_u32, (uint64_t)a)
R(r_cvt_u32_u64, (uint32_t)A)
R(r_cvt_sat_s32_s64, (uint32_t)(int32_t)(la > INT32_MAX ? INT32_MAX :
                                         la < INT32_MIN ? INT32_MIN : la))
R(r_cvt_sat_u32_s64, (uint32_t)(la > (int64_t)UINT32_MAX ? UINT32_MAX :
                                la < 0 ? 0 : la))
R(r_cvt_sat_u32_s32, (uint32_t)(sa < 0 ? 0 : sa))
R(r_cvt_sat_s32_u32, (uint32_t)(a > INT32_MAX ? INT32_MAX : a))
R(r_cvt_sat_s16_s32, (uint16_t)(sa > 32767 ? 32767 : sa < -32768 ? -32768 :
                                sa))
R(r_cvt_sat_u16_s32, (uint16_t)(sa > 65535 ? 65535 : sa < 0 ? 0 : sa))
R(r_cvt_sat_u64_s64, (uint64_t)(la < 0 ? 0 : la))
R(r_cvt_s32_s8, (uint32_t)(int32_t)(int8_t)a)
R(r_cvt_u32_u8, a & 0xff)

static const struct op ops_cvt_int[] = {
    { "cvt.s32.s16 $d, $a;", T_B32, T_B16, 0, 0, r_cvt_s32_s16 },
    { "cvt.u32.u16 $d, $a;", T_B32, T_B16, 0, 0, r_cvt_u32_u16 },
    { "cvt.u16.u32 $d, $a;", T_B16, T_B32, 0, 0, r_cvt_u16_u32 },
    { "cvt.s64.s32 $d, $a;", T_B64, T_B32, 0, 0, r_cvt_s64_s32 },
    { "cvt.u64.u32 $d, $a;", T_B64, T_B32, 0, 0, r_cvt_u64_u32 },
    { "cvt.u32.u64 $d, $a;", T_B32, T_B64, 0, 0, r_cvt_u32_u64 },
    { "cvt.sat.s32.s64 $d, $a;", T_B32, T_B64, 0, 0, r_cvt_sat_s32_s64 },
    { "cvt.sat.u32.s64 $d, $a;", T_B32, T_B64, 0, 0, r_cvt_sat_u32_s64 },
    { "cvt.sat.u32.s32 $d, $a;", T_B32, T_B32, 0, 0, r_cvt_sat_u32_s32 },
    { "cvt.sat.s32.u32 $d, $a;", T_B32, T_B32, 0, 0, r_cvt_sat_s32_u32 },
    { "cvt.sat.s16.s32 $d, $a;", T_B16, T_B32, 0, 0, r_cvt_sat_s16_s32 },
    { "cvt.sat.u16.s32 $d, $a;", T_B16, T_B32, 0, 0, r_cvt_sat_u16_s32 },
    { "cvt.sat.u64.s64 $d, $a;", T_B64, T_B64, 0, 0, r_cvt_sat_u64_s64 },
    { "cvt.s32.s8 $d, $a;", T_B32, T_B32, 0, 0, r_cvt_s32_s8 },
    { "cvt.u32.u8 $d, $a;", T_B32, T_B32, 0, 0, r_cvt_u32_u8 },
};

/* ---- cvt: float -> integer (NaN gives 0, out of range saturates) ---------- */

static uint64_t f2i(long double v, int bits, int sign)
{
    long double lo, hi;

    if (isnan(v))
        return 0;
    v = nearbyintl(v);    /* in the current rounding mode */
    lo = sign ? -ldexpl(1, bits - 1) : 0;
    hi = sign ? ldexpl(1, bits - 1) - 1 : ldexpl(1, bits) - 1;
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    if (sign) {
        int64_t s = (int64_t)v;
        return bits == 32 ? (uint32_t)s : (uint64_t)s;
    }
    return (uint64_t)v;
}

RF(r_f2s32, f2i(fa, 32, 1))
RF(r_f2u32, f2i(fa, 32, 0))
RF(r_f2s64, f2i(fa, 64, 1))
RF(r_f2u64, f2i(fa, 64, 0))
RF(r_d2s32, f2i(da, 32, 1))
RF(r_d2u32, f2i(da, 32, 0))
RF(r_d2s64, f2i(da, 64, 1))
RF(r_d2u64, f2i(da, 64, 0))

#define I4(dt, st, tyd, tya, fn)                                             \
    { "cvt.rni." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_EXACT, 0, RN }, \
    { "cvt.rzi." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_EXACT, 0, RZ }, \
    { "cvt.rmi." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_EXACT, 0, RM }, \
    { "cvt.rpi." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_EXACT, 0, RP }

static const struct op ops_cvt_f2i[] = {
    I4("s32", "f32", T_B32, T_F32, r_f2s32),
    I4("u32", "f32", T_B32, T_F32, r_f2u32),
    I4("s64", "f32", T_B64, T_F32, r_f2s64),
    I4("u64", "f32", T_B64, T_F32, r_f2u64),
    { "cvt.rzi.sat.s32.f32 $d, $a;", T_B32, T_F32, 0, 0, r_f2s32, C_EXACT, 0,
      RZ },
    { "cvt.rzi.ftz.s32.f32 $d, $a;", T_B32, T_F32, 0, 0, r_f2s32, C_EXACT, 0,
      RZ },
};

static const struct op ops_cvt_d2i[] = {
    I4("s32", "f64", T_B32, T_F64, r_d2s32),
    I4("u32", "f64", T_B32, T_F64, r_d2u32),
    I4("s64", "f64", T_B64, T_F64, r_d2s64),
    I4("u64", "f64", T_B64, T_F64, r_d2u64),
};

/* ---- cvt: integer -> float ----------------------------------------------- */

static uint64_t r_s32f(uint64_t A, uint64_t B, uint64_t C)
{
    volatile int32_t v = (int32_t)A;

    (void)B; (void)C;
    return UF((float)v);
}

static uint64_t r_u32f(uint64_t A, uint64_t B, uint64_t C)
{
    volatile uint32_t v = (uint32_t)A;

    (void)B; (void)C;
    return UF((float)v);
}

static uint64_t r_s64f(uint64_t A, uint64_t B, uint64_t C)
{
    volatile int64_t v = (int64_t)A;

    (void)B; (void)C;
    return UF((float)v);
}

static uint64_t r_u64f(uint64_t A, uint64_t B, uint64_t C)
{
    volatile uint64_t v = A;

    (void)B; (void)C;
    return UF((float)v);
}

static uint64_t r_s64d(uint64_t A, uint64_t B, uint64_t C)
{
    volatile int64_t v = (int64_t)A;

    (void)B; (void)C;
    return UD((double)v);
}

static uint64_t r_u64d(uint64_t A, uint64_t B, uint64_t C)
{
    volatile uint64_t v = A;

    (void)B; (void)C;
    return UD((double)v);
}

static uint64_t r_s32d(uint64_t A, uint64_t B, uint64_t C)
{
    (void)B; (void)C;
    return UD((double)(int32_t)A);
}

static uint64_t r_u32d(uint64_t A, uint64_t B, uint64_t C)
{
    (void)B; (void)C;
    return UD((double)(uint32_t)A);
}

#define IF4(dt, st, tyd, tya, fn)                                            \
    { "cvt.rn." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_FLOAT, 0, RN },  \
    { "cvt.rz." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_FLOAT, 0, RZ },  \
    { "cvt.rm." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_FLOAT, 0, RM },  \
    { "cvt.rp." dt "." st " $d, $a;", tyd, tya, 0, 0, fn, C_FLOAT, 0, RP }

static const struct op ops_cvt_i2f[] = {
    IF4("f32", "s32", T_F32, T_B32, r_s32f),
    IF4("f32", "u32", T_F32, T_B32, r_u32f),
    IF4("f32", "s64", T_F32, T_B64, r_s64f),
    IF4("f32", "u64", T_F32, T_B64, r_u64f),
    IF4("f64", "s64", T_F64, T_B64, r_s64d),
    IF4("f64", "u64", T_F64, T_B64, r_u64d),
    { "cvt.rn.f64.s32 $d, $a;", T_F64, T_B32, 0, 0, r_s32d, C_FLOAT, 0, RN },
    { "cvt.rn.f64.u32 $d, $a;", T_F64, T_B32, 0, 0, r_u32d, C_FLOAT, 0, RN },
};

/* Integers around the precision limits of f32 and f64. */
static const uint64_t vi2f[] = {
    0, 1, 0xffffffffffffffffull, 0x7fffffff, 0x80000000, 0xffffffff,
    0x00ffffff, 0x01000001, 0x01000003, 0x01000002, 0x7fffffc0, 0x7fffffbf,
    0x80000080, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0x20000000000001ull, 0x20000000000003ull, 0xfffffffffffff7ffull,
    0xfffffffffffffc00ull, 0x8000000000000401ull, 0xffffff7fffffffffull,
    0xfffffffffeffffffull, 0x123456789abcdefull,
};

/* ---- cvt: float <-> float --------------------------------------------------- */

RF(r_d2f, UF((float)da))
RF(r_f2d, UD((double)fa))
RF(r_frni, UF(nearbyintf(fa)))
RF(r_drni, UD(nearbyint(da)))
RF(r_fsat, UF(isnan(fa) ? 0.0f : fminf(fmaxf(fa, 0.0f), 1.0f)))
RF(r_f2h, UH((_Float16)fa))
RF(r_d2h, UH((_Float16)da))

static uint64_t r_h2f(uint64_t A, uint64_t B, uint64_t C)
{
    (void)B; (void)C;
    return UF((float)H(A));
}

static const struct op ops_cvt_ff[] = {
    { "cvt.rn.f32.f64 $d, $a;", T_F32, T_F64, 0, 0, r_d2f, C_FLOAT, 0, RN },
    { "cvt.rz.f32.f64 $d, $a;", T_F32, T_F64, 0, 0, r_d2f, C_FLOAT, 0, RZ },
    { "cvt.rm.f32.f64 $d, $a;", T_F32, T_F64, 0, 0, r_d2f, C_FLOAT, 0, RM },
    { "cvt.rp.f32.f64 $d, $a;", T_F32, T_F64, 0, 0, r_d2f, C_FLOAT, 0, RP },
    { "cvt.rni.f64.f64 $d, $a;", T_F64, T_F64, 0, 0, r_drni, C_FLOAT, 0, RN },
    { "cvt.rzi.f64.f64 $d, $a;", T_F64, T_F64, 0, 0, r_drni, C_FLOAT, 0, RZ },
    { "cvt.rmi.f64.f64 $d, $a;", T_F64, T_F64, 0, 0, r_drni, C_FLOAT, 0, RM },
    { "cvt.rpi.f64.f64 $d, $a;", T_F64, T_F64, 0, 0, r_drni, C_FLOAT, 0, RP },
    { "cvt.rn.f16.f64 $d, $a;", T_F16, T_F64, 0, 0, r_d2h, C_FLOAT, 0, RN },
};

static const struct op ops_cvt_ff32[] = {
    { "cvt.f64.f32 $d, $a;", T_F64, T_F32, 0, 0, r_f2d, C_FLOAT, 0, RN },
    { "cvt.rni.f32.f32 $d, $a;", T_F32, T_F32, 0, 0, r_frni, C_FLOAT, 0, RN },
    { "cvt.rzi.f32.f32 $d, $a;", T_F32, T_F32, 0, 0, r_frni, C_FLOAT, 0, RZ },
    { "cvt.rmi.f32.f32 $d, $a;", T_F32, T_F32, 0, 0, r_frni, C_FLOAT, 0, RM },
    { "cvt.rpi.f32.f32 $d, $a;", T_F32, T_F32, 0, 0, r_frni, C_FLOAT, 0, RP },
    { "cvt.sat.f32.f32 $d, $a;", T_F32, T_F32, 0, 0, r_fsat, C_MINMAX, 0, RN },
    { "cvt.rn.f16.f32 $d, $a;", T_F16, T_F32, 0, 0, r_f2h, C_FLOAT, 0, RN },
    { "cvt.rz.f16.f32 $d, $a;", T_F16, T_F32, 0, 0, r_f2h, C_FLOAT, 0, RZ },
    { "cvt.rm.f16.f32 $d, $a;", T_F16, T_F32, 0, 0, r_f2h, C_FLOAT, 0, RM },
    { "cvt.rp.f16.f32 $d, $a;", T_F16, T_F32, 0, 0, r_f2h, C_FLOAT, 0, RP },
};

/* ---- f16 arithmetic (cuda_fp16.h's __hadd and friends) ------------------ */

static uint64_t r_h2f_only(uint64_t A, uint64_t B, uint64_t C)
{
    return r_h2f(A, B, C);
}

/* Sums and products of two halves are exact in double: one rounding. */
RF(r_hadd, UH((_Float16)((double)H(A) + (double)H(B))))
RF(r_hsub, UH((_Float16)((double)H(A) - (double)H(B))))
RF(r_hmul, UH((_Float16)((double)H(A) * (double)H(B))))
RF(r_hneg, A ^ 0x8000)
RF(r_habs, A & 0x7fff)

static const struct op ops_f16[] = {
    { "cvt.f32.f16 $d, $a;", T_F32, T_F16, 0, 0, r_h2f_only, C_FLOAT },
    { "add.rn.f16 $d, $a, $b;", T_F16, T_F16, T_F16, 0, r_hadd, C_FLOAT, 0,
      RN },
    { "sub.rn.f16 $d, $a, $b;", T_F16, T_F16, T_F16, 0, r_hsub, C_FLOAT, 0,
      RN },
    { "mul.rn.f16 $d, $a, $b;", T_F16, T_F16, T_F16, 0, r_hmul, C_FLOAT, 0,
      RN },
    { "neg.f16 $d, $a;", T_F16, T_F16, 0, 0, r_hneg, C_FLOAT },
    { "abs.f16 $d, $a;", T_F16, T_F16, 0, 0, r_habs, C_FLOAT },
};

/* ---- dp4a, dp2a, lop3, sad, tanh, nanosleep -------------------------------- */

static uint64_t dp4a(uint32_t a, uint32_t b, uint32_t c, int sa, int sb)
{
    int64_t acc = (int32_t)c;

    for (int k = 0; k < 4; k++) {
        int32_t x = sa ? (int8_t)(a >> (8 * k)) : (uint8_t)(a >> (8 * k));
        int32_t y = sb ? (int8_t)(b >> (8 * k)) : (uint8_t)(b >> (8 * k));

        acc += (int64_t)x * y;
    }
    return (uint32_t)acc;
}

/* dp2a.lo/.hi: the two 16-bit halves of a times bytes 0-1 or 2-3 of b. */
static uint64_t dp2a(uint32_t a, uint32_t b, uint32_t c, int sa, int sb,
                     int hi)
{
    int64_t acc = (int32_t)c;

    for (int k = 0; k < 2; k++) {
        int32_t x = sa ? (int16_t)(a >> (16 * k)) : (uint16_t)(a >> (16 * k));
        uint32_t by = b >> (8 * (k + 2 * hi));
        int32_t y = sb ? (int8_t)by : (uint8_t)by;

        acc += (int64_t)x * y;
    }
    return (uint32_t)acc;
}

R(r_dp4a_uu, dp4a(a, b, c, 0, 0))
R(r_dp4a_ss, dp4a(a, b, c, 1, 1))
R(r_dp4a_su, dp4a(a, b, c, 1, 0))
R(r_dp2a_lo_ss, dp2a(a, b, c, 1, 1, 0))
R(r_dp2a_hi_uu, dp2a(a, b, c, 0, 0, 1))

/* lop3: bit i of d is bit (a_i << 2 | b_i << 1 | c_i) of the LUT. */
static uint64_t lop3(uint32_t a, uint32_t b, uint32_t c, unsigned lut)
{
    uint32_t d = 0;

    for (int i = 0; i < 32; i++) {
        unsigned idx = ((a >> i) & 1) << 2 | ((b >> i) & 1) << 1 |
                       ((c >> i) & 1);
        d |= ((lut >> idx) & 1u) << i;
    }
    return d;
}

R(r_lop3_96, lop3(a, b, c, 0x96))
R(r_lop3_e8, lop3(a, b, c, 0xe8))
R(r_lop3_ca, lop3(a, b, c, 0xca))
R(r_lop3_01, lop3(a, b, c, 0x01))
R(r_sad_u32, (uint32_t)(c + (a > b ? a - b : b - a)))
R(r_sad_s32, (uint32_t)(c + (uint32_t)(sa > sb ? (int64_t)sa - sb :
                                       (int64_t)sb - sa)))
R(r_nanosleep, a)

static const struct op ops_misc[] = {
    { "dp4a.u32.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_dp4a_uu },
    { "dp4a.s32.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_dp4a_ss },
    { "dp4a.s32.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_dp4a_su },
    { "dp2a.lo.s32.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_dp2a_lo_ss },
    { "dp2a.hi.u32.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32,
      r_dp2a_hi_uu },
    { "lop3.b32 $d, $a, $b, $c, 0x96;", T_B32, T_B32, T_B32, T_B32,
      r_lop3_96 },
    { "lop3.b32 $d, $a, $b, $c, 0xe8;", T_B32, T_B32, T_B32, T_B32,
      r_lop3_e8 },
    { "lop3.b32 $d, $a, $b, $c, 0xca;", T_B32, T_B32, T_B32, T_B32,
      r_lop3_ca },
    { "lop3.b32 $d, $a, $b, $c, 0x01;", T_B32, T_B32, T_B32, T_B32,
      r_lop3_01 },
    { "sad.u32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_sad_u32 },
    { "sad.s32 $d, $a, $b, $c;", T_B32, T_B32, T_B32, T_B32, r_sad_s32 },
    { "nanosleep.u32 20; mov.b32 $d, $a;", T_B32, T_B32, 0, 0, r_nanosleep },
};

static const uint64_t vmisc[] = {
    0, 1, 0xffffffff, 0x80808080, 0x7f7f7f7f, 0x01ff80fe, 0x12345678,
    0x8000ffff, 0xdeadbeef,
};

/* tanh.approx.f32 (sm_75): the ISA bounds the relative error by 2^-10.987. */
RF(r_atanh, UF((float)tanhl(fa)))

static const struct op ops_tanh[] = {
    { "tanh.approx.f32 $d, $a;", T_F32, T_F32, 0, 0, r_atanh, C_REL,
      0x1.03p-11 },
};

/* ---- f16x2 and vector moves (what cuda_fp16.h's inline asm produces) ---- */

static uint64_t h2op(uint64_t A, uint64_t B, int op)
{
    uint64_t d = 0;

    for (int k = 0; k < 2; k++) {
        double x = (double)H(A >> (16 * k)), y = (double)H(B >> (16 * k));
        double r = op == 0 ? x + y : op == 1 ? x - y : x * y;

        d |= UH((_Float16)r) << (16 * k);
    }
    return d;
}

RF(r_hadd2, h2op(A, B, 0))
RF(r_hsub2, h2op(A, B, 1))
RF(r_hmul2, h2op(A, B, 2))
R(r_swap16, (uint32_t)(a << 16 | a >> 16))
R(r_sum32x2, (uint32_t)((uint32_t)A + (uint32_t)(A >> 32)))
R(r_pack16, (uint32_t)(a16 | (uint32_t)b16 << 16))

/* Both halves are compared as f16 with NaN matching NaN. */
static const struct op ops_f16x2[] = {
    { "add.rn.f16x2 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_hadd2, C_H2,
      0, RN },
    { "sub.rn.f16x2 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_hsub2, C_H2,
      0, RN },
    { "mul.rn.f16x2 $d, $a, $b;", T_B32, T_B32, T_B32, 0, r_hmul2, C_H2,
      0, RN },
    { "{ .reg .b16 lo, hi; mov.b32 {lo, hi}, $a; mov.b32 $d, {hi, lo}; }",
      T_B32, T_B32, 0, 0, r_swap16 },
    { "{ .reg .b32 lo, hi; mov.b64 {lo, hi}, $a; add.u32 $d, lo, hi; }",
      T_B32, T_B64, 0, 0, r_sum32x2 },
    { "{ .reg .b16 lo, hi; cvt.u16.u32 lo, $a; cvt.u16.u32 hi, $b;"
      " mov.b32 $d, {lo, hi}; }", T_B32, T_B32, T_B32, 0, r_pack16 },
};

/* Pairs of f16 edge cases, filled in by main(). */
static uint64_t vf16x2[21];

/* ---- shfl.sync with arbitrary segment masks and clamps ------------------- */

/*
 * Lane l's value is l * 7 + 1 (vshfl_a, 32 per warp), so a reference that
 * only sees its own operands can still name the value of the source lane:
 * it follows the ISA's pseudo-code for b and c.
 */
enum { SH_UP, SH_DOWN, SH_BFLY, SH_IDX };

static uint64_t shfl_ref(int mode, uint64_t A, uint64_t B, uint64_t C,
                         int want_pred)
{
    int lane = (int)((uint32_t)A - 1) / 7;
    int segmask = (C >> 8) & 0x1f, cval = C & 0x1f, bval = B & 0x1f;
    int maxl = (lane & segmask) | (cval & ~segmask);
    int minl = lane & segmask, j = lane, p = 0;

    switch (mode) {
    case SH_UP: j = lane - bval; p = j >= maxl; break;
    case SH_DOWN: j = lane + bval; p = j <= maxl; break;
    case SH_BFLY: j = lane ^ bval; p = j <= maxl; break;
    case SH_IDX: j = minl | (bval & ~segmask); p = j <= maxl; break;
    }
    if (want_pred)
        return p;
    return (uint32_t)((p ? j : lane) * 7 + 1);
}

#define SHFL_REF(n, m)                                                      \
    static uint64_t r_shfl_##n(uint64_t A, uint64_t B, uint64_t C)          \
    {                                                                       \
        return shfl_ref(m, A, B, C, 0);                                     \
    }                                                                       \
    static uint64_t r_shflp_##n(uint64_t A, uint64_t B, uint64_t C)         \
    {                                                                       \
        return shfl_ref(m, A, B, C, 1);                                     \
    }
SHFL_REF(up, SH_UP)
SHFL_REF(down, SH_DOWN)
SHFL_REF(bfly, SH_BFLY)
SHFL_REF(idx, SH_IDX)

static const struct op ops_shfl[] = {
    { "shfl.sync.up.b32 $d, $a, $b, $c, -1;", T_B32, T_B32, T_B32, T_B32,
      r_shfl_up },
    { "shfl.sync.down.b32 $d, $a, $b, $c, -1;", T_B32, T_B32, T_B32, T_B32,
      r_shfl_down },
    { "shfl.sync.bfly.b32 $d, $a, $b, $c, -1;", T_B32, T_B32, T_B32, T_B32,
      r_shfl_bfly },
    { "shfl.sync.idx.b32 $d, $a, $b, $c, -1;", T_B32, T_B32, T_B32, T_B32,
      r_shfl_idx },
    { "shfl.sync.up.b32 $u|$d, $a, $b, $c, -1;", T_PRED, T_B32, T_B32, T_B32,
      r_shflp_up },
    { "shfl.sync.down.b32 $u|$d, $a, $b, $c, -1;", T_PRED, T_B32, T_B32,
      T_B32, r_shflp_down },
    { "shfl.sync.bfly.b32 $u|$d, $a, $b, $c, -1;", T_PRED, T_B32, T_B32,
      T_B32, r_shflp_bfly },
    { "shfl.sync.idx.b32 $u|$d, $a, $b, $c, -1;", T_PRED, T_B32, T_B32,
      T_B32, r_shflp_idx },
};

static const uint64_t vshfl_a[32] = {
    1, 8, 15, 22, 29, 36, 43, 50, 57, 64, 71, 78, 85, 92, 99, 106, 113, 120,
    127, 134, 141, 148, 155, 162, 169, 176, 183, 190, 197, 204, 211, 218,
};
static const uint64_t vshfl_b[] = { 0, 1, 2, 3, 5, 8, 15, 16, 31, 32, 33, 63 };
static const uint64_t vshfl_c[] = {
    0x001f, 0x0000, 0x0007, 0x0010, 0x181f, 0x1800, 0x1c03, 0x1f1f, 0x1e00,
    0x0815, 0x101a, 0xffff,
};

/* ---- groups ------------------------------------------------------------------ */

#define N(x) (sizeof(x) / sizeof((x)[0]))


static struct group groups[] = {
    { "int32 add sub mul mul24 neg abs min max sat", ops_int32,
      N(ops_int32), v32, v32, NULL, N(v32), N(v32), 0 },
    { "int32 mad add.cc/addc sub.cc/subc", ops_mad32, N(ops_mad32), v32, v32,
      v32, N(v32), N(v32), N(v32) },
    { "int32 div rem (INT_MIN/-1; x/0 must not fault)", ops_div32,
      N(ops_div32), v32, v32, NULL, N(v32), N(v32), 0 },
    { "int64 add sub mul mad neg abs min max", ops_int64, N(ops_int64),
      v64, v64, NULL, N(v64), N(v64), 0 },
    { "int64 div rem (INT64_MIN/-1; x/0 must not fault)", ops_div64,
      N(ops_div64), v64, v64, NULL, N(v64), N(v64), 0 },
    { "int16 add sub mul min max and shl shr", ops_int16, N(ops_int16), v16,
      v16, NULL, N(v16), N(v16), 0 },
    { "logic and/or/xor/not/cnot, predicates, selp, slct", ops_logic,
      N(ops_logic), v32, v64, vf32, N(v32), N(v64), N(vf32) },
    { "shl shr shf with counts 0..255 and past the width", ops_shift,
      N(ops_shift), v64, vcount, vcount, N(v64), N(vcount), N(vcount) },
    { "popc clz brev bfind", ops_bits, N(ops_bits), v64, NULL, NULL, N(v64),
      0, 0 },
    { "bfe bfi with positions and lengths past the width", ops_bitfield,
      N(ops_bitfield), vbf_a, vbf_pos, vbf_pos, N(vbf_a), N(vbf_pos),
      N(vbf_pos) },
    { "prmt default f4e b4e rc8 ecl ecr rc16", ops_prmt, N(ops_prmt),
      vprmt_a, vprmt_b, vprmt_c, N(vprmt_a), N(vprmt_b), N(vprmt_c) },
    { "setp integer comparisons and boolean combination", ops_setp_int,
      N(ops_setp_int), v64, v64, vpred, N(v64), N(v64), N(vpred) },
    { "setp.f32 ordered and unordered (equ neu ltu num nan)", ops_setp_f32,
      N(ops_setp_f32), vf32, vf32, NULL, N(vf32), N(vf32), 0 },
    { "setp.f64 ordered and unordered", ops_setp_f64, N(ops_setp_f64), vf64,
      vf64, NULL, N(vf64), N(vf64), 0 },
    { "f32 add sub mul div rcp sqrt .rn/.rz/.rm/.rp, ftz, sat, abs, neg",
      ops_f32, N(ops_f32), vf32, vf32, NULL, N(vf32), N(vf32), 0 },
    { "f32 fma mad .rn/.rz/.rm/.rp", ops_ffma, N(ops_ffma), vf32_fma,
      vf32_fma, vf32_fma, N(vf32_fma), N(vf32_fma), N(vf32_fma) },
    { "f64 add sub mul div rcp sqrt .rn/.rz/.rm/.rp", ops_f64, N(ops_f64),
      vf64, vf64, NULL, N(vf64), N(vf64), 0 },
    { "f64 fma mad .rn/.rz/.rm/.rp", ops_dfma, N(ops_dfma), vf64_fma,
      vf64_fma, vf64_fma, N(vf64_fma), N(vf64_fma), N(vf64_fma) },
    { "min max copysign abs neg (NaN rules)", ops_fminmax,
      N(ops_fminmax), vf64, vf64, NULL, N(vf64), N(vf64), 0 },
    { "rcp sqrt rsqrt ex2 lg2 div .approx/.full within ISA bounds",
      ops_approx, N(ops_approx), vf32_approx, vf32_approx, NULL,
      N(vf32_approx), N(vf32_approx), 0 },
    { "sin cos .approx within ISA bounds", ops_trig, N(ops_trig), vf32_trig,
      NULL, NULL, N(vf32_trig), 0, 0 },
    { "testp.f32", ops_testp_f32, N(ops_testp_f32), vf32, NULL, NULL,
      N(vf32), 0, 0 },
    { "testp.f64", ops_testp_f64, N(ops_testp_f64), vf64, NULL, NULL,
      N(vf64), 0, 0 },
    { "cvt integer <-> integer with .sat", ops_cvt_int, N(ops_cvt_int), v64,
      NULL, NULL, N(v64), 0, 0 },
    { "cvt f32 -> integer .rni/.rzi/.rmi/.rpi (saturating, NaN -> 0)",
      ops_cvt_f2i, N(ops_cvt_f2i), vf32, NULL, NULL, N(vf32), 0, 0 },
    { "cvt f64 -> integer .rni/.rzi/.rmi/.rpi (saturating, NaN -> 0)",
      ops_cvt_d2i, N(ops_cvt_d2i), vf64, NULL, NULL, N(vf64), 0, 0 },
    { "cvt integer -> f32/f64 .rn/.rz/.rm/.rp", ops_cvt_i2f, N(ops_cvt_i2f),
      vi2f, NULL, NULL, N(vi2f), 0, 0 },
    { "cvt f64 -> f32/f16 and f64 round to integral", ops_cvt_ff,
      N(ops_cvt_ff), vf64, NULL, NULL, N(vf64), 0, 0 },
    { "cvt f32 -> f64/f16, f32 round to integral, .sat", ops_cvt_ff32,
      N(ops_cvt_ff32), vf32, NULL, NULL, N(vf32), 0, 0 },
    { "shfl.sync up/down/bfly/idx with any segment mask and clamp",
      ops_shfl, N(ops_shfl), vshfl_a, vshfl_b, vshfl_c, N(vshfl_a),
      N(vshfl_b), N(vshfl_c) },
    { "dp4a dp2a lop3 sad nanosleep", ops_misc, N(ops_misc), vmisc, vmisc,
      vmisc, N(vmisc), N(vmisc), N(vmisc) },
    { "tanh.approx.f32 within ISA bounds", ops_tanh, N(ops_tanh),
      vf32_approx, NULL, NULL, N(vf32_approx), 0, 0 },
    { "f16x2 add sub mul, mov.b32/.b64 {lo, hi} in scoped .reg blocks",
      ops_f16x2, N(ops_f16x2), vf16x2, vf16x2, NULL, N(vf16x2), N(vf16x2),
      0 },
    { "f16 cvt add sub mul neg abs", ops_f16, N(ops_f16), vf16, vf16, NULL,
      N(vf16), N(vf16), 0 },
};

/* ---- kernel composition -------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len)
            break;
        b->cap = b->cap * 2 + n + 1;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    b->len += n;
}

/* Writes @insn with $d/$a/$b/$c/$t replaced by row @j's registers. */
static void emit_insn(struct buf *b, const char *insn, size_t j)
{
    for (const char *s = insn; *s; s++) {
        if (*s == '$' && s[1] && strchr("dabctu", s[1])) {
            bprintf(b, "%%x%c%zu", s[1], j);
            s++;
        } else {
            bprintf(b, "%c", *s);
        }
    }
}

static void emit_load(struct buf *b, enum ty t, char which, size_t j,
                      const char *addr)
{
    if (t == T_NONE)
        return;
    if (t == T_PRED) {
        bprintf(b, "\tld.global.u32 %%xq%c%zu, [%s];\n", which, j, addr);
        bprintf(b, "\tsetp.ne.u32 %%x%c%zu, %%xq%c%zu, 0;\n", which, j, which,
                j);
    } else {
        bprintf(b, "\tld.global%s %%x%c%zu, [%s];\n", ty_mem[t], which, j,
                addr);
    }
}

/* Composes the kernel "alu" for @g (see the file comment). */
static char *compose(const struct group *g)
{
    struct buf b = { 0 };

    bprintf(&b, "//\n// conform_alu: %s\n//\n"
            ".version 8.0\n.target sm_75\n.address_size 64\n\n"
            ".visible .entry alu(\n"
            "\t.param .u64 alu_pa,\n\t.param .u64 alu_pb,\n"
            "\t.param .u64 alu_pc,\n\t.param .u64 alu_po,\n"
            "\t.param .u32 alu_n\n)\n{\n"
            "\t.reg .pred %%p<2>;\n\t.reg .b32 %%r<6>;\n"
            "\t.reg .b64 %%rd<12>;\n", g->name);
    for (size_t j = 0; j < g->nops; j++) {
        const struct op *o = &g->ops[j];
        enum ty ts[4] = { o->d, o->a, o->b, o->c };
        const char *names = "dabc";

        for (int k = 0; k < 4; k++) {
            if (ts[k] == T_NONE)
                continue;
            bprintf(&b, "\t.reg %s %%x%c%zu;\n", ty_reg[ts[k]], names[k], j);
            if (ts[k] == T_PRED)
                bprintf(&b, "\t.reg .b32 %%xq%c%zu;\n", names[k], j);
        }
        bprintf(&b, "\t.reg %s %%xt%zu;\n", ty_reg[o->d], j);
        bprintf(&b, "\t.reg .b32 %%xu%zu;\n", j);
    }
    bprintf(&b, "\n\tld.param.u64 %%rd1, [alu_pa];\n"
            "\tld.param.u64 %%rd2, [alu_pb];\n"
            "\tld.param.u64 %%rd3, [alu_pc];\n"
            "\tld.param.u64 %%rd4, [alu_po];\n"
            "\tld.param.u32 %%r1, [alu_n];\n"
            "\tmov.u32 %%r2, %%ctaid.x;\n\tmov.u32 %%r3, %%ntid.x;\n"
            "\tmov.u32 %%r4, %%tid.x;\n\tmad.lo.s32 %%r5, %%r2, %%r3, %%r4;\n"
            "\tsetp.ge.u32 %%p1, %%r5, %%r1;\n\t@%%p1 bra $L__done;\n"
            "\tcvta.to.global.u64 %%rd1, %%rd1;\n"
            "\tcvta.to.global.u64 %%rd2, %%rd2;\n"
            "\tcvta.to.global.u64 %%rd3, %%rd3;\n"
            "\tcvta.to.global.u64 %%rd4, %%rd4;\n"
            "\tmul.wide.u32 %%rd5, %%r5, 8;\n"
            "\tadd.s64 %%rd6, %%rd1, %%rd5;\n"
            "\tadd.s64 %%rd7, %%rd2, %%rd5;\n"
            "\tadd.s64 %%rd8, %%rd3, %%rd5;\n"
            "\tmul.wide.u32 %%rd9, %%r1, 8;\n"
            "\tadd.s64 %%rd10, %%rd4, %%rd5;\n");
    for (size_t j = 0; j < g->nops; j++) {
        const struct op *o = &g->ops[j];

        bprintf(&b, "\t// row %zu: %s\n", j, o->insn);
        emit_load(&b, o->a, 'a', j, "%rd6");
        emit_load(&b, o->b, 'b', j, "%rd7");
        emit_load(&b, o->c, 'c', j, "%rd8");
        bprintf(&b, "\t");
        emit_insn(&b, o->insn, j);
        bprintf(&b, "\n");
        if (o->d == T_PRED) {
            bprintf(&b, "\tselp.u32 %%xqd%zu, 1, 0, %%xd%zu;\n", j, j);
            bprintf(&b, "\tst.global.u32 [%%rd10], %%xqd%zu;\n", j);
        } else {
            bprintf(&b, "\tst.global%s [%%rd10], %%xd%zu;\n", ty_mem[o->d],
                    j);
        }
        bprintf(&b, "\tadd.s64 %%rd10, %%rd10, %%rd9;\n");
    }
    bprintf(&b, "$L__done:\n\tret;\n}\n");
    return b.p;
}

/* ---- comparison ------------------------------------------------------------ */

static uint64_t width_mask(enum ty t)
{
    int bits = t == T_PRED ? 32 : ty_bits[t];

    return bits == 64 ? ~0ull : (1ull << bits) - 1;
}

static int is_nan_bits(enum ty t, uint64_t v)
{
    switch (t) {
    case T_F16: return (v & 0x7c00) == 0x7c00 && (v & 0x3ff);
    case T_F32: return isnan(F(v));
    case T_F64: return isnan(D(v));
    default: return 0;
    }
}

static double as_double(enum ty t, uint64_t v)
{
    return t == T_F32 ? F(v) : t == T_F64 ? D(v) : (double)H(v);
}

/* One unit in the last place of the correctly rounded f32 @x. */
static double ulp32(double x)
{
    int e;

    x = fabs(x);
    if (x < 0x1p-126)
        return 0x1p-149;
    frexp(x, &e);
    return ldexp(1.0, e - 24);
}

static int matches(const struct op *o, uint64_t exp, uint64_t got)
{
    uint64_t m = width_mask(o->d);

    exp &= m;
    got &= m;
    switch (o->cmp) {
    case C_EXACT:
        return exp == got;
    case C_FLOAT:
        if (is_nan_bits(o->d, exp))
            return is_nan_bits(o->d, got);
        return exp == got;
    case C_H2:
        for (int k = 0; k < 2; k++) {
            uint64_t e = (exp >> (16 * k)) & 0xffff, g = (got >> (16 * k)) & 0xffff;

            if (is_nan_bits(T_F16, e) ? !is_nan_bits(T_F16, g) : e != g)
                return 0;
        }
        return 1;
    case C_MINMAX:
        if (is_nan_bits(o->d, exp))
            return is_nan_bits(o->d, got);
        if (as_double(o->d, exp) == 0 && as_double(o->d, got) == 0)
            return 1;
        return exp == got;
    case C_ULP:
    case C_REL:
    case C_ABS: {
        double e = as_double(o->d, exp), g = as_double(o->d, got);

        if (isnan(e))
            return isnan(g);
        if (isinf(e) || isinf(g) || isnan(g))
            return e == g;
        if (o->cmp == C_ABS)    /* the bound, plus rounding the result */
            return fabs(e - g) <= o->tol + ulp32(e);
        if (o->cmp == C_REL)
            return fabs(e - g) <= o->tol * fabs(e) + ulp32(e);
        if (e == 0)
            return g == 0;
        return fabs(e - g) <= o->tol * ulp32(e);
    }
    }
    return 0;
}

static void print_val(enum ty t, uint64_t v)
{
    switch (t) {
    case T_F32: printf("0x%08x (%a)", (uint32_t)v, F(v)); break;
    case T_F64: printf("0x%016llx (%a)", (unsigned long long)v, D(v)); break;
    case T_F16: printf("0x%04x (%a)", (uint16_t)v, (double)H(v)); break;
    case T_B16: printf("0x%04x", (uint16_t)v); break;
    case T_B32: case T_PRED: printf("0x%08x", (uint32_t)v); break;
    default: printf("0x%016llx", (unsigned long long)v); break;
    }
}

/* ---- running a group ---------------------------------------------------------- */

static int run_group(const struct group *g)
{
    size_t na = g->na ? g->na : 1, nb = g->nb ? g->nb : 1;
    size_t nc = g->nc ? g->nc : 1;
    size_t n = na * nb * nc, bytes = n * 8, obytes = bytes * g->nops;
    uint64_t *a = calloc(n, 8), *b = calloc(n, 8), *c = calloc(n, 8);
    uint64_t *out = malloc(obytes);
    CUdeviceptr da = 0, db = 0, dc = 0, dout = 0;
    CUcontext ctx = NULL;
    CUmodule mod;
    CUfunction fn;
    CUresult r;
    char *text = compose(g);
    unsigned nn = n;
    void *params[] = { &da, &db, &dc, &dout, &nn };
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        a[i] = g->na ? g->va[i % na] : 0;
        b[i] = g->nb ? g->vb[(i / na) % nb] : 0;
        c[i] = g->nc ? g->vc[i / (na * nb)] : 0;
    }
    memset(out, 0xa5, obytes);

#define TRY(call)                                                           \
    do {                                                                    \
        r = (call);                                                         \
        if (r != CUDA_SUCCESS) {                                            \
            printf("# %s returned %d (%s)\n", #call, (int)r, h_errname(r)); \
            bad = 1;                                                        \
            goto out;                                                       \
        }                                                                   \
    } while (0)

    TRY(h_ctx(&ctx));
    TRY(h_load_text(&mod, text, g->name));
    TRY(cuModuleGetFunction(&fn, mod, "alu"));
    TRY(cuMemAlloc(&da, bytes));
    TRY(cuMemAlloc(&db, bytes));
    TRY(cuMemAlloc(&dc, bytes));
    TRY(cuMemAlloc(&dout, obytes));
    TRY(cuMemcpyHtoD(da, a, bytes));
    TRY(cuMemcpyHtoD(db, b, bytes));
    TRY(cuMemcpyHtoD(dc, c, bytes));
    TRY(cuMemcpyHtoD(dout, out, obytes));
    TRY(h_launch1(fn, (n + 127) / 128, 128, 0, params));
    TRY(cuCtxSynchronize());
    TRY(cuMemcpyDtoH(out, dout, obytes));

    for (size_t j = 0; j < g->nops; j++) {
        const struct op *o = &g->ops[j];
        size_t shown = 0, wrong = 0;

        for (size_t i = 0; i < n; i++) {
            uint64_t exp, got = out[j * n + i];

            ref_skip = 0;
            fesetround(o->rnd ? o->rnd : RN);
            exp = o->ref(a[i], b[i], c[i]);
            fesetround(RN);
            if (ref_skip || matches(o, exp, got))
                continue;
            wrong++;
            if (shown++ < 4) {
                printf("# %s a=", o->insn);
                print_val(o->a ? o->a : T_B64, a[i]);
                if (o->b) {
                    printf(" b=");
                    print_val(o->b, b[i]);
                }
                if (o->c) {
                    printf(" c=");
                    print_val(o->c, c[i]);
                }
                printf(": expected ");
                print_val(o->d, exp & width_mask(o->d));
                printf(", got ");
                print_val(o->d, got & width_mask(o->d));
                printf("\n");
            }
        }
        if (wrong) {
            printf("# %s: %zu of %zu inputs wrong\n", o->insn, wrong, n);
            bad = 1;
        }
    }
out:
    if (ctx)
        cuCtxDestroy(ctx);
    free(a);
    free(b);
    free(c);
    free(out);
    free(text);
    return bad;
}

/*
 * The f32 rows of the min/max group read the low half of f64 inputs, which
 * gives a mix of f32 specials; add explicit f32 specials to the group by
 * widening its inputs.
 */
static uint64_t vminmax[N(vf64) + N(vf32)];

int main(int argc, char **argv)
{
    int bad = 0;
    size_t ng = N(groups);

    for (size_t i = 0; i < N(vf64); i++)
        vminmax[i] = vf64[i];
    for (size_t i = 0; i < N(vf32); i++)
        vminmax[N(vf64) + i] = vf32[i];
    for (size_t i = 0; i < N(vf16x2); i++)
        vf16x2[i] = vf16[i] | vf16[(i * 7 + 3) % N(vf16)] << 16;
    for (size_t i = 0; i < ng; i++) {
        if (groups[i].ops == ops_fminmax) {
            groups[i].va = groups[i].vb = vminmax;
            groups[i].na = groups[i].nb = N(vminmax);
        }
    }

    if (argc == 3 && !strcmp(argv[1], "--dump")) {
        mkdir(argv[2], 0777);
        for (size_t i = 0; i < ng; i++) {
            char path[4096], *text = compose(&groups[i]);
            FILE *f;

            snprintf(path, sizeof(path), "%s/alu%02zu.ptx", argv[2], i);
            f = fopen(path, "w");
            if (!f || fputs(text, f) < 0) {
                perror(path);
                return 1;
            }
            fclose(f);
            free(text);
        }
        return 0;
    }

    printf("1..%zu\n", ng);
    for (size_t i = 0; i < ng; i++) {
        int failed;

        fflush(stdout);
        failed = run_group(&groups[i]);
        printf("%sok %zu - %s\n", failed ? "not " : "", i + 1,
               groups[i].name);
        bad |= failed;
    }
    return bad;
}
