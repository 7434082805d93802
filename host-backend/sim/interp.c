/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * interp.c - the warp interpreter: runs a grid of decoded PTX on a pool of
 * host threads, 32 lanes per warp in lockstep.
 *
 * Divergence: each call frame keeps a pc per lane; the lanes with the
 * smallest pc run together, so lanes that took a forward branch wait until
 * the others catch up and reconverge there (nvcc lays code out so that the
 * join point follows both sides).  A warp runs until it blocks on a
 * barrier, exits, or uses up its time slice; all warps of a block run on
 * one host thread, blocks are spread over threads.
 *
 * Every memory access a kernel makes is checked: global against the
 * context's allocations, shared against the block's size, local against
 * the lane's stack, param against the launch's buffer.
 */
#include <fenv.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "sim.h"

#define NOREG UINT32_MAX
#define SLICE 2048          /* warp instructions before yielding */
#define FLUSH_INSNS (1u << 20)
#define MAX_WARP_REGS (1u << 13)       /* 2 MiB of registers per warp */
#define MAX_BLOCK_REG_BYTES (64u << 20)  /* entry registers of one block */

typedef struct Frame {
    const SimFunc *fn;
    uint32_t rbase;         /* first register (in registers) */
    uint32_t lbase;         /* local frame offset (bytes) */
    uint32_t live;          /* lanes still in this frame */
    uint32_t retmask;       /* lanes that returned */
    uint32_t call_insn;     /* caller's call instruction (callee frames) */
    uint32_t pc[32];
} Frame;

typedef struct Warp {
    uint32_t id;
    uint32_t exists;        /* lanes that are threads of the block */
    uint32_t exited;
    uint32_t blocked;       /* lanes waiting at a barrier */
    uint32_t barmask[16];
    uint32_t red_reg[16];   /* bar.red destination (absolute register) */
    uint8_t red_kind[16];
    uint8_t carry[32];      /* CC.CF per lane (add.cc/addc/mad.cc/madc) */
    bool done;
    Frame *frames;
    uint32_t nframes, capframes;
    uint64_t *regs;
    uint32_t capregs;       /* registers allocated */
    uint32_t tid[3][32];
} Warp;

typedef struct Launch Launch;

typedef struct Worker {
    Launch *L;
    int index;
    Warp warps[32];
    uint8_t *shared;
    size_t shared_cap;
    uint8_t *local;         /* 32 warps x 32 lanes x SIM_LOCAL_PER_LANE */
    uint32_t ctaid[3];
    uint32_t nwarps;
    uint32_t live_threads;
    uint32_t bar_arrived[16];
    uint32_t bar_expected[16];
    uint64_t insns;         /* not yet flushed */
    uint64_t total;
    uint64_t last_timer;
    uint32_t red_popc[16];      /* bar.red accumulators per barrier */
    bool red_and[16], red_or[16];
    /* Global translation cache. */
    uint64_t cb, cs;
    uint8_t *ch;
    bool local_dirty;       /* local stack may hold an earlier launch's data */
} Worker;

struct Launch {
    SimLaunch *l;
    const SimProgram *prog;
    const SimFunc *entry;
    uint32_t shared_total;
    uint32_t dyn_base;
    uint32_t nthreads;      /* per block */
    uint64_t nblocks;
    _Atomic uint64_t next_block;
    _Atomic uint64_t insns;
    _Atomic int status;
    uint64_t budget;
    uint64_t deadline;
    pthread_mutex_t msg_lock;
    pthread_mutex_t print_lock;
};

uint64_t sim_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fault(Worker *wk, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fault(Worker *wk, int status, const char *fmt, ...)
{
    Launch *L = wk->L;
    int zero = 0;

    if (atomic_compare_exchange_strong(&L->status, &zero, status)) {
        va_list ap;

        pthread_mutex_lock(&L->msg_lock);
        va_start(ap, fmt);
        vsnprintf(L->l->errmsg, sizeof(L->l->errmsg), fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&L->msg_lock);
    }
}

/* ---- memory ------------------------------------------------------- */

static uint8_t *global_lookup(Worker *wk, uint64_t a, uint32_t n)
{
    const SimMemView *mv = &wk->L->l->mem;
    size_t lo = 0, hi = mv->nallocs;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const SimAlloc *al = &mv->allocs[mid];

        if (a < al->base) {
            hi = mid;
        } else if (a - al->base >= al->size) {
            lo = mid + 1;
        } else {
            if (a - al->base + n > al->size) {
                return NULL;
            }
            wk->cb = al->base;
            wk->cs = al->size;
            wk->ch = al->host;
            return al->host + (a - al->base);
        }
    }
    return NULL;
}

static inline uint8_t *gptr(Worker *wk, uint64_t a, uint32_t n)
{
    uint64_t off = a - wk->cb;

    if (off < wk->cs && wk->cs - off >= n) {
        return wk->ch + off;
    }
    return global_lookup(wk, a, n);
}

/*
 * Translates lane @l's address @a in space @sp to a host pointer, or NULL
 * after reporting the fault.
 */
static uint8_t *xlate(Worker *wk, Warp *w, Frame *fr, int sp, uint64_t a,
                      uint32_t n, int lane, const SimInsn *in)
{
    uint8_t *p = NULL;
    const char *what = "global";

    if (a & (n - 1) & 15) {
        fault(wk, VGPU_S_MISALIGNED_ADDRESS,
              "misaligned %u-byte access at 0x%llx (ptx line %u)", n,
              (unsigned long long)a, in->line);
        return NULL;
    }
    switch (sp) {
    case SIM_SP_GENERIC:
        if (a >= SIM_WIN_SHARED && a < SIM_WIN_SHARED + SIM_WIN_SIZE) {
            return xlate(wk, w, fr, SIM_SP_SHARED, a - SIM_WIN_SHARED, n, lane, in);
        }
        if (a >= SIM_WIN_LOCAL && a < SIM_WIN_LOCAL + SIM_WIN_SIZE) {
            return xlate(wk, w, fr, SIM_SP_LOCAL, a - SIM_WIN_LOCAL, n, lane, in);
        }
        if (a >= SIM_WIN_PARAM && a < SIM_WIN_PARAM + SIM_WIN_SIZE) {
            return xlate(wk, w, fr, SIM_SP_PARAM, a - SIM_WIN_PARAM, n, lane, in);
        }
        /* fall through */
    case SIM_SP_GLOBAL:
    case SIM_SP_CONST:
        p = gptr(wk, a, n);
        break;
    case SIM_SP_SHARED:
        what = "shared";
        if (a < wk->L->shared_total && a + n <= wk->L->shared_total) {
            p = wk->shared + a;
        }
        break;
    case SIM_SP_LOCAL:
        what = "local";
        if (a < SIM_LOCAL_PER_LANE && a + n <= SIM_LOCAL_PER_LANE) {
            p = wk->local + ((size_t)(w->id * 32 + lane) * SIM_LOCAL_PER_LANE) + a;
        }
        break;
    case SIM_SP_PARAM:
        what = "param";
        if (a < wk->L->l->param_bytes && a + n <= wk->L->l->param_bytes) {
            p = (uint8_t *)wk->L->l->params + a;
        }
        break;
    }
    if (!p) {
        fault(wk, VGPU_S_ILLEGAL_ADDRESS,
              "illegal %s address 0x%llx (%u bytes) by thread (%u,%u,%u) of block "
              "(%u,%u,%u) at ptx line %u", what, (unsigned long long)a, n,
              w->tid[0][lane], w->tid[1][lane], w->tid[2][lane], wk->ctaid[0],
              wk->ctaid[1], wk->ctaid[2], in->line);
    }
    (void)fr;
    return p;
}

/* ---- type helpers ----------------------------------------------------- */

static inline uint32_t tsize(int t)
{
    static const uint8_t s[] = {
        [SIM_T_B8] = 1, [SIM_T_B16] = 2, [SIM_T_B32] = 4, [SIM_T_B64] = 8,
        [SIM_T_B128] = 16, [SIM_T_U8] = 1, [SIM_T_U16] = 2, [SIM_T_U32] = 4,
        [SIM_T_U64] = 8, [SIM_T_S8] = 1, [SIM_T_S16] = 2, [SIM_T_S32] = 4,
        [SIM_T_S64] = 8, [SIM_T_F16] = 2, [SIM_T_F16X2] = 4, [SIM_T_BF16] = 2,
        [SIM_T_F32] = 4, [SIM_T_F64] = 8, [SIM_T_PRED] = 1,
    };
    return t < (int)sizeof(s) ? s[t] : 0;
}

static inline bool tsigned(int t)
{
    return t == SIM_T_S8 || t == SIM_T_S16 || t == SIM_T_S32 || t == SIM_T_S64;
}

static inline bool tfloat(int t)
{
    return t == SIM_T_F32 || t == SIM_T_F64 || t == SIM_T_F16 || t == SIM_T_BF16 ||
           t == SIM_T_F16X2;
}

static inline float f32(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;

    memcpy(&f, &u, 4);
    return f;
}

static inline uint64_t uf32(float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    return u;
}

static inline double f64(uint64_t v)
{
    double d;

    memcpy(&d, &v, 8);
    return d;
}

static inline uint64_t uf64(double d)
{
    uint64_t u;

    memcpy(&u, &d, 8);
    return u;
}

/* Sign-extends the low @bytes of @v. */
static inline int64_t sext(uint64_t v, uint32_t bytes)
{
    switch (bytes) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    default: return (int64_t)v;
    }
}

static inline uint64_t zext(uint64_t v, uint32_t bytes)
{
    switch (bytes) {
    case 1: return (uint8_t)v;
    case 2: return (uint16_t)v;
    case 4: return (uint32_t)v;
    default: return v;
    }
}

static inline float ftz32(float f)
{
    if (fpclassify(f) == FP_SUBNORMAL) {
        return signbit(f) ? -0.0f : 0.0f;
    }
    return f;
}

static inline uint64_t canon32(float r)
{
    return r != r ? 0x7fffffffu : uf32(r);
}

static int set_round(int rnd)
{
    int old = fegetround();

    switch (rnd) {
    case SIM_RND_RZ: case SIM_RND_RZI: fesetround(FE_TOWARDZERO); break;
    case SIM_RND_RM: case SIM_RND_RMI: fesetround(FE_DOWNWARD); break;
    case SIM_RND_RP: case SIM_RND_RPI: fesetround(FE_UPWARD); break;
    default: break;
    }
    return old;
}

/* half <-> float (IEEE binary16, round to nearest even). */
static float half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 1023;
    uint32_t u;

    if (e == 0) {
        if (!m) {
            u = s;
        } else {
            float f = ldexpf((float)m, -24);
            return s ? -f : f;
        }
    } else if (e == 31) {
        u = s | 0x7f800000u | (m << 13);
    } else {
        u = s | ((e + 112) << 23) | (m << 13);
    }
    return f32(u);
}

static uint16_t float_to_half(double f, int rnd)
{
    uint16_t s = signbit(f) ? 0x8000 : 0;
    double a = fabs(f);

    if (f != f) {
        return 0x7fff;
    }
    if (a > 65504.0 || isinf(a)) {
        if (isinf(a)) {
            return s | 0x7c00;
        }
        bool down = rnd == SIM_RND_RZ || (rnd == SIM_RND_RM && !s) || (rnd == SIM_RND_RP && s);
        if (down || (rnd <= SIM_RND_RN && a < 65520.0)) {
            return s | 0x7bff;
        }
        return s | 0x7c00;
    }
    /* Scale into an integer number of the target's ulps, then round. */
    int e;
    frexp(a, &e);           /* a = m * 2^e, m in [0.5,1) */
    int ulp_exp = e - 11;   /* 11 significant bits */
    if (ulp_exp < -24) {
        ulp_exp = -24;
    }
    double q = ldexp(a, -ulp_exp);
    double r;
    switch (rnd) {
    case SIM_RND_RZ: r = trunc(q); break;
    case SIM_RND_RM: r = s ? ceil(q) : floor(q); break;
    case SIM_RND_RP: r = s ? floor(q) : ceil(q); break;
    default: r = nearbyint(q); break;
    }
    float v = (float)ldexp(r, ulp_exp);
    if (v > 65504.0f) {
        bool down = rnd == SIM_RND_RZ || (rnd == SIM_RND_RM && !s) || (rnd == SIM_RND_RP && s);
        return down ? s | 0x7bff : s | 0x7c00;
    }
    uint32_t vu = (uint32_t)uf32(v);
    int ve = (int)((vu >> 23) & 255) - 127;
    if (v == 0) {
        return s;
    }
    if (ve < -14) {
        return s | (uint16_t)(r);
    }
    return s | (uint16_t)(((ve + 15) << 10) | ((vu >> 13) & 1023));
}

/* f16 and f16x2 arithmetic: computed exactly in double, rounded once. */
static uint64_t half_alu(const SimInsn *in, uint64_t a, uint64_t b, uint64_t c)
{
    int n = in->type == SIM_T_F16X2 ? 2 : 1;
    uint64_t r = 0;
    int rnd = in->rnd ? in->rnd : SIM_RND_RN;

    for (int i = 0; i < n; i++) {
        uint16_t ha = (uint16_t)(a >> (16 * i)), hb = (uint16_t)(b >> (16 * i));
        uint16_t hc = (uint16_t)(c >> (16 * i)), hr;
        double x = half_to_float(ha), y = half_to_float(hb), z = half_to_float(hc), v;

        switch (in->op) {
        case OP_ADD: v = x + y; break;
        case OP_SUB: v = x - y; break;
        case OP_MUL: v = x * y; break;
        case OP_FMA: case OP_MAD: v = fma(x, y, z); break;
        case OP_MIN: case OP_MAX:
            if (x != x && y != y) {
                v = NAN;
            } else if (x == 0 && y == 0) {
                v = (in->op == OP_MAX) ? (signbit(x) ? y : x) : (signbit(x) ? x : y);
            } else {
                v = in->op == OP_MAX ? fmax(x, y) : fmin(x, y);
            }
            break;
        default: v = 0; break;
        }
        if (in->op == OP_NEG) {
            hr = ha ^ 0x8000;
        } else if (in->op == OP_ABS) {
            hr = ha & 0x7fff;
        } else {
            if ((in->flags & SIM_F_SAT) && v == v) {
                v = v < 0 ? 0 : v > 1 ? 1 : v;
            }
            hr = v != v ? 0x7fff : float_to_half(v, rnd);
        }
        r |= (uint64_t)hr << (16 * i);
    }
    return r;
}

/*
 * fma.rn.f32 for a warp: with the FMA instruction when the host has it
 * (chosen once at run time), else through libm's exact fmaf().
 */
__attribute__((target("fma")))
static void fma32_hw(uint64_t *d, const uint64_t *a, const uint64_t *b,
                     const uint64_t *c, uint32_t mask)
{
    if (mask == 0xffffffffu) {
        for (int l = 0; l < 32; l++) {
            d[l] = canon32(__builtin_fmaf(f32(a[l]), f32(b[l]), f32(c[l])));
        }
        return;
    }
    for (uint32_t m = mask; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        d[l] = canon32(__builtin_fmaf(f32(a[l]), f32(b[l]), f32(c[l])));
    }
}

static void fma32_sw(uint64_t *d, const uint64_t *a, const uint64_t *b,
                     const uint64_t *c, uint32_t mask)
{
    for (uint32_t m = mask; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        d[l] = canon32(fmaf(f32(a[l]), f32(b[l]), f32(c[l])));
    }
}

static void (*fma32)(uint64_t *, const uint64_t *, const uint64_t *,
                     const uint64_t *, uint32_t);

static void pick_fma(void)
{
    __builtin_cpu_init();
    fma32 = __builtin_cpu_supports("fma") ? fma32_hw : fma32_sw;
}

/* ---- frames ---------------------------------------------------------- */

static bool frame_regs(Worker *wk, Warp *w, uint32_t need)
{
    if (need > MAX_WARP_REGS) {
        return false;
    }
    if (need > w->capregs) {
        uint32_t cap = w->capregs ? w->capregs : 64;

        while (cap < need) {
            cap *= 2;
        }
        uint64_t *r = realloc(w->regs, (size_t)cap * 32 * sizeof(uint64_t));
        if (!r) {
            return false;
        }
        w->regs = r;
        w->capregs = cap;
    }
    (void)wk;
    return true;
}

static Frame *push_frame(Worker *wk, Warp *w, const SimFunc *fn, uint32_t mask,
                         uint32_t rbase, uint32_t lbase)
{
    if (w->nframes >= SIM_MAX_FRAMES ||
        (uint64_t)lbase + fn->frame_bytes > SIM_LOCAL_PER_LANE ||
        !frame_regs(wk, w, rbase + fn->nregs)) {
        return NULL;
    }
    if (w->nframes >= w->capframes) {
        uint32_t cap = w->capframes ? w->capframes * 2 : 4;
        Frame *f = realloc(w->frames, cap * sizeof(*f));

        if (!f) {
            return NULL;
        }
        w->frames = f;
        w->capframes = cap;
    }
    Frame *fr = &w->frames[w->nframes++];
    fr->fn = fn;
    fr->rbase = rbase;
    fr->lbase = lbase;
    fr->live = mask;
    fr->retmask = 0;
    for (int l = 0; l < 32; l++) {
        fr->pc[l] = 0;
    }
    uint64_t *R = w->regs + (size_t)rbase * 32;
    const SimProgram *prog = wk->L->prog;

    /* Registers start at zero: no value of an earlier frame shows through. */
    memset(R, 0, (size_t)fn->nregs * 32 * sizeof(uint64_t));
    for (uint32_t i = 0; i < fn->nconsts; i++) {
        uint64_t v = sim_const_value(prog, fn, &fn->consts[i]);
        uint64_t *d = R + (size_t)fn->consts[i].reg * 32;

        for (int l = 0; l < 32; l++) {
            d[l] = v;
        }
    }
    return fr;
}

/* ---- vprintf ----------------------------------------------------------- */

typedef struct StrReader {
    Worker *wk;
    Warp *w;
    Frame *fr;
    int lane;
    const SimInsn *in;
} StrReader;

static int read_cstr(void *op, uint64_t addr, char *buf, size_t max)
{
    StrReader *sr = op;
    size_t i;

    for (i = 0; i + 1 < max; i++) {
        uint8_t *p = xlate(sr->wk, sr->w, sr->fr, SIM_SP_GENERIC, addr + i, 1,
                           sr->lane, sr->in);
        if (!p) {
            return -1;
        }
        buf[i] = (char)*p;
        if (!*p) {
            return (int)i;
        }
    }
    buf[i] = 0;
    return (int)i;
}

size_t sim_format_printf(const char *fmt, size_t fmtmax, const uint8_t *args,
                         size_t argmax, char *out, size_t outlen,
                         int (*readstr)(void *op, uint64_t addr, char *buf,
                                        size_t max),
                         void *op)
{
    size_t o = 0, ap = 0;
    size_t i = 0;

#define PUT(s, n) do { size_t n_ = (n); if (o + n_ >= outlen) n_ = outlen - 1 - o; \
        memcpy(out + o, (s), n_); o += n_; } while (0)
    if (!outlen) {
        return 0;
    }
    while (i < fmtmax && fmt[i]) {
        if (fmt[i] != '%') {
            PUT(&fmt[i], 1);
            i++;
            continue;
        }
        size_t st = i++;
        if (i < fmtmax && fmt[i] == '%') {
            PUT("%", 1);
            i++;
            continue;
        }
        while (i < fmtmax && fmt[i] && strchr("-+ #0", fmt[i])) i++;
        while (i < fmtmax && fmt[i] && (fmt[i] >= '0' && fmt[i] <= '9')) i++;
        if (i < fmtmax && fmt[i] == '.') {
            i++;
            while (i < fmtmax && fmt[i] >= '0' && fmt[i] <= '9') i++;
        }
        int lng = 0;
        while (i < fmtmax && fmt[i] && strchr("hlLzjt", fmt[i])) {
            if (fmt[i] == 'l' || fmt[i] == 'L' || fmt[i] == 'z' || fmt[i] == 'j' ||
                fmt[i] == 't') {
                lng++;
            }
            i++;
        }
        if (i >= fmtmax || !fmt[i]) {
            break;
        }
        char conv = fmt[i++];
        char spec[48];
        size_t sl = i - st;
        if (sl >= 40) {
            PUT("<bad format>", 12);
            continue;
        }
        /* Rebuild the spec without length modifiers; add our own. */
        size_t k = 0;
        for (size_t j = st; j < i - 1; j++) {
            if (!strchr("hlLzjt", fmt[j])) {
                spec[k++] = fmt[j];
            }
        }
        char tmp[512];
        int n = 0;
        size_t asz = (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' ||
                      conv == 'g' || conv == 'G' || conv == 'a' || conv == 'A' ||
                      conv == 's' || conv == 'p' || lng) ? 8 : 4;
        ap = (ap + asz - 1) / asz * asz;
        if (ap + asz > argmax) {
            PUT("<missing>", 9);
            continue;
        }
        uint64_t v = 0;
        memcpy(&v, args + ap, asz);
        ap += asz;
        switch (conv) {
        case 'd': case 'i':
            spec[k++] = 'l'; spec[k++] = 'l'; spec[k++] = 'd'; spec[k] = 0;
            n = snprintf(tmp, sizeof(tmp), spec, asz == 8 ? (long long)v : (long long)(int32_t)v);
            break;
        case 'u': case 'x': case 'X': case 'o': case 'c':
            if (conv == 'c') {
                spec[k++] = 'c'; spec[k] = 0;
                n = snprintf(tmp, sizeof(tmp), spec, (int)(uint8_t)v);
            } else {
                spec[k++] = 'l'; spec[k++] = 'l'; spec[k++] = conv; spec[k] = 0;
                n = snprintf(tmp, sizeof(tmp), spec, (unsigned long long)v);
            }
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
            spec[k++] = conv; spec[k] = 0;
            n = snprintf(tmp, sizeof(tmp), spec, f64(v));
            break;
        case 'p':
            n = snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)v);
            break;
        case 's': {
            char sbuf[256];
            if (readstr(op, v, sbuf, sizeof(sbuf)) < 0) {
                snprintf(sbuf, sizeof(sbuf), "<bad string>");
            }
            spec[k++] = 's'; spec[k] = 0;
            n = snprintf(tmp, sizeof(tmp), spec, sbuf);
            break;
        }
        default:
            n = snprintf(tmp, sizeof(tmp), "%%%c", conv);
            break;
        }
        if (n > 0) {
            PUT(tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
        }
    }
    out[o] = 0;
    return o;
#undef PUT
}

static bool do_vprintf(Worker *wk, Warp *w, Frame *fr, const SimInsn *in,
                       uint32_t mask)
{
    const SimCall *c = &wk->L->prog->calls[in->target];

    for (uint32_t m = mask; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        uint8_t *p0 = xlate(wk, w, fr, SIM_SP_LOCAL, fr->lbase + c->arg_off[0], 8, l, in);
        uint8_t *p1 = xlate(wk, w, fr, SIM_SP_LOCAL, fr->lbase + c->arg_off[1], 8, l, in);
        uint64_t fmta, arga;
        char fmt[1024], out[4096];
        uint8_t args[1024];
        StrReader sr = { wk, w, fr, l, in };

        if (!p0 || !p1) {
            return false;
        }
        memcpy(&fmta, p0, 8);
        memcpy(&arga, p1, 8);
        if (read_cstr(&sr, fmta, fmt, sizeof(fmt)) < 0) {
            return false;
        }
        size_t argn = 0;
        if (arga) {
            for (argn = 0; argn < sizeof(args); argn++) {
                uint8_t *q;
                /* Stop quietly at the end of the buffer's space. */
                if (arga >= SIM_WIN_LOCAL && arga < SIM_WIN_LOCAL + SIM_WIN_SIZE &&
                    arga - SIM_WIN_LOCAL + argn >= SIM_LOCAL_PER_LANE) {
                    break;
                }
                q = xlate(wk, w, fr, SIM_SP_GENERIC, arga + argn, 1, l, in);
                if (!q) {
                    return false;
                }
                args[argn] = *q;
            }
        }
        size_t n = sim_format_printf(fmt, sizeof(fmt), args, argn, out, sizeof(out),
                                     read_cstr, &sr);
        if (atomic_load(&wk->L->status)) {
            return false;
        }
        if (wk->L->l->print && n) {
            pthread_mutex_lock(&wk->L->print_lock);
            wk->L->l->print(wk->L->l->print_opaque, out, n);
            pthread_mutex_unlock(&wk->L->print_lock);
        }
        if (c->ret_off >= 0) {
            uint8_t *r = xlate(wk, w, fr, SIM_SP_LOCAL, fr->lbase + (uint32_t)c->ret_off, 4, l, in);
            if (!r) {
                return false;
            }
            int32_t v = (int32_t)n;
            memcpy(r, &v, 4);
        }
    }
    return true;
}

static void do_assert(Worker *wk, Warp *w, Frame *fr, const SimInsn *in, uint32_t mask)
{
    const SimCall *c = &wk->L->prog->calls[in->target];
    int l = __builtin_ctz(mask);
    uint64_t a[5] = { 0 };
    char msg[256] = "?", file[256] = "?", func[256] = "?", out[1024];
    StrReader sr = { wk, w, fr, l, in };
    uint32_t line = 0;

    for (int i = 0; i < 5; i++) {
        uint8_t *p = xlate(wk, w, fr, SIM_SP_LOCAL, fr->lbase + c->arg_off[i],
                           c->arg_size[i] == 4 ? 4 : 8, l, in);
        if (!p) {
            return;
        }
        memcpy(&a[i], p, c->arg_size[i] == 4 ? 4 : 8);
    }
    line = (uint32_t)a[2];
    read_cstr(&sr, a[0], msg, sizeof(msg));
    read_cstr(&sr, a[1], file, sizeof(file));
    read_cstr(&sr, a[3], func, sizeof(func));
    int n = snprintf(out, sizeof(out),
                     "%s:%u: %s: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `%s` failed.\n",
                     file, line, func, wk->ctaid[0], wk->ctaid[1], wk->ctaid[2],
                     w->tid[0][l], w->tid[1][l], w->tid[2][l], msg);
    if (wk->L->l->print && n > 0) {
        pthread_mutex_lock(&wk->L->print_lock);
        wk->L->l->print(wk->L->l->print_opaque, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
        pthread_mutex_unlock(&wk->L->print_lock);
    }
    fault(wk, VGPU_S_ASSERT, "device-side assertion `%s` failed at %s:%u", msg, file, line);
}

/* ---- the interpreter loop ------------------------------------------------ */

#define FOR_LANES(...)                                                     \
    do {                                                                    \
        if (mask == 0xffffffffu) {                                          \
            for (int l = 0; l < 32; l++) {                                  \
                __VA_ARGS__;                                                \
            }                                                               \
        } else {                                                            \
            for (uint32_t m_ = mask; m_; m_ &= m_ - 1) {                    \
                int l = __builtin_ctz(m_);                                  \
                __VA_ARGS__;                                                \
            }                                                               \
        }                                                                   \
    } while (0)

#define REG(i) (R + (size_t)(i) * 32)

enum { RUN_YIELD, RUN_BLOCKED, RUN_DONE, RUN_FAULT };

static inline uint32_t bitrev32(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
    return (x >> 16) | (x << 16);
}

static bool cmp_int(int cmp, uint64_t a, uint64_t b, int t)
{
    uint32_t sz = tsize(t);
    bool sg = tsigned(t);
    int64_t sa = sext(a, sz), sb = sext(b, sz);
    uint64_t ua = zext(a, sz), ub = zext(b, sz);

    switch (cmp) {
    case SIM_CMP_EQ: return ua == ub;
    case SIM_CMP_NE: return ua != ub;
    case SIM_CMP_LT: return sg ? sa < sb : ua < ub;
    case SIM_CMP_LE: return sg ? sa <= sb : ua <= ub;
    case SIM_CMP_GT: return sg ? sa > sb : ua > ub;
    case SIM_CMP_GE: return sg ? sa >= sb : ua >= ub;
    case SIM_CMP_LO: return ua < ub;
    case SIM_CMP_LS: return ua <= ub;
    case SIM_CMP_HI: return ua > ub;
    case SIM_CMP_HS: return ua >= ub;
    default: return false;
    }
}

static bool cmp_f(int cmp, double a, double b)
{
    bool un = a != a || b != b;

    switch (cmp) {
    case SIM_CMP_EQ: return !un && a == b;
    case SIM_CMP_NE: return !un && a != b;
    case SIM_CMP_LT: return !un && a < b;
    case SIM_CMP_LE: return !un && a <= b;
    case SIM_CMP_GT: return !un && a > b;
    case SIM_CMP_GE: return !un && a >= b;
    case SIM_CMP_EQU: return un || a == b;
    case SIM_CMP_NEU: return un || a != b;
    case SIM_CMP_LTU: return un || a < b;
    case SIM_CMP_LEU: return un || a <= b;
    case SIM_CMP_GTU: return un || a > b;
    case SIM_CMP_GEU: return un || a >= b;
    case SIM_CMP_NUM: return !un;
    case SIM_CMP_NAN: return un;
    default: return false;
    }
}

static uint64_t do_cvt(const SimInsn *in, uint64_t a)
{
    int dt = in->type, st = in->type2;
    uint32_t ds = tsize(dt), ss = tsize(st);
    bool sat = in->flags & SIM_F_SAT;

    if (!tfloat(st) && !tfloat(dt)) {
        /* int -> int: extend by the source's signedness, then saturate. */
        if (sat) {
            if (tsigned(st)) {
                int64_t v = sext(a, ss);
                int64_t lo = tsigned(dt) ? (ds == 8 ? INT64_MIN : -(1ll << (8 * ds - 1))) : 0;
                int64_t hi = tsigned(dt) ? (ds == 8 ? INT64_MAX : (1ll << (8 * ds - 1)) - 1)
                                         : (ds == 8 ? INT64_MAX : (int64_t)((1ull << (8 * ds)) - 1));
                if (v < lo) v = lo;
                if (!(ds == 8 && !tsigned(dt)) && v > hi) v = hi;
                return zext((uint64_t)v, ds);
            } else {
                uint64_t v = zext(a, ss);
                uint64_t hi = tsigned(dt) ? (ds == 8 ? (uint64_t)INT64_MAX : (1ull << (8 * ds - 1)) - 1)
                                          : (ds == 8 ? UINT64_MAX : (1ull << (8 * ds)) - 1);
                return zext(v > hi ? hi : v, ds);
            }
        }
        uint64_t v = tsigned(st) ? (uint64_t)sext(a, ss) : zext(a, ss);
        return zext(v, ds > 4 ? 8 : (ds < 4 ? ds : 4)) ;
    }
    double x;
    bool src_is_int = !tfloat(st);
    /* Source value. */
    if (st == SIM_T_F32) {
        float f = f32(a);
        if (in->flags & SIM_F_FTZ) f = ftz32(f);
        x = f;
    } else if (st == SIM_T_F64) {
        x = f64(a);
    } else if (st == SIM_T_F16) {
        x = half_to_float((uint16_t)a);
    } else if (st == SIM_T_BF16) {
        x = f32((uint64_t)(uint16_t)a << 16);
    } else {
        x = 0;
    }
    if (tfloat(dt)) {
        int old = set_round(in->rnd);
        uint64_t r = 0;
        if (src_is_int) {
            if (dt == SIM_T_F32) {
                float f = tsigned(st) ? (float)sext(a, ss) : (float)zext(a, ss);
                if (sat) f = f < 0 ? 0 : (f > 1 ? 1 : f);
                r = uf32(f);
            } else if (dt == SIM_T_F64) {
                double d = tsigned(st) ? (double)sext(a, ss) : (double)zext(a, ss);
                if (sat) d = d < 0 ? 0 : (d > 1 ? 1 : d);
                r = uf64(d);
            } else if (dt == SIM_T_F16) {
                float f = tsigned(st) ? (float)sext(a, ss) : (float)zext(a, ss);
                r = float_to_half(f, in->rnd);
            } else {
                r = 0;
            }
        } else {
            double y = x;
            switch (in->rnd) {
            case SIM_RND_RNI: y = nearbyint(x); break;
            case SIM_RND_RZI: y = trunc(x); break;
            case SIM_RND_RMI: y = floor(x); break;
            case SIM_RND_RPI: y = ceil(x); break;
            default: break;
            }
            if (sat) {
                y = y != y ? 0 : y < 0 ? 0 : y > 1 ? 1 : y;
            }
            if (dt == SIM_T_F32) {
                float f = st == SIM_T_F64 ? (float)y : (float)y;
                if (in->flags & SIM_F_FTZ) f = ftz32(f);
                r = f != f ? 0x7fffffffu : uf32(f);
            } else if (dt == SIM_T_F64) {
                r = uf64(y);
            } else if (dt == SIM_T_F16) {
                r = float_to_half(y, in->rnd);
            } else if (dt == SIM_T_BF16) {
                uint32_t u = (uint32_t)uf32((float)y);
                if ((float)y != (float)y) {
                    r = 0x7fff;
                } else {
                    u += 0x7fff + ((u >> 16) & 1);
                    r = u >> 16;
                }
            }
        }
        fesetround(old);
        return r;
    }
    /* float -> int: round as asked, saturate, NaN -> 0. */
    double y;
    switch (in->rnd) {
    case SIM_RND_RNI: case SIM_RND_RN: y = nearbyint(x); break;
    case SIM_RND_RMI: case SIM_RND_RM: y = floor(x); break;
    case SIM_RND_RPI: case SIM_RND_RP: y = ceil(x); break;
    default: y = trunc(x); break;
    }
    if (y != y) {
        return 0;
    }
    if (tsigned(dt)) {
        double lo = -ldexp(1, 8 * ds - 1), hi = ldexp(1, 8 * ds - 1);
        int64_t v = y <= lo ? (ds == 8 ? INT64_MIN : (int64_t)lo) :
                    y >= hi ? (ds == 8 ? INT64_MAX : (int64_t)hi - 1) : (int64_t)y;
        return zext((uint64_t)v, ds);
    }
    double hi = ldexp(1, 8 * ds);
    uint64_t v = y <= 0 ? 0 : y >= hi ? (ds == 8 ? UINT64_MAX : (uint64_t)hi - 1) : (uint64_t)y;
    return v;
}

/* Runs one atomic on host memory @p; returns the old value. */
static uint64_t do_atomic(const SimInsn *in, uint8_t *p, uint64_t b, uint64_t c)
{
    int t = in->type;
    uint32_t sz = tsize(t);

    if (sz == 4) {
        uint32_t *q = (uint32_t *)p, ob = (uint32_t)b, oc = (uint32_t)c;
        uint32_t old = __atomic_load_n(q, __ATOMIC_RELAXED), nv;

        switch (in->mod) {
        case SIM_ATOM_ADD:
            if (t == SIM_T_F32) {
                do {
                    nv = (uint32_t)uf32(f32(old) + f32(ob));
                } while (!__atomic_compare_exchange_n(q, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
                return old;
            }
            return __atomic_fetch_add(q, ob, __ATOMIC_SEQ_CST);
        case SIM_ATOM_AND: return __atomic_fetch_and(q, ob, __ATOMIC_SEQ_CST);
        case SIM_ATOM_OR: return __atomic_fetch_or(q, ob, __ATOMIC_SEQ_CST);
        case SIM_ATOM_XOR: return __atomic_fetch_xor(q, ob, __ATOMIC_SEQ_CST);
        case SIM_ATOM_EXCH: return __atomic_exchange_n(q, ob, __ATOMIC_SEQ_CST);
        case SIM_ATOM_CAS:
            __atomic_compare_exchange_n(q, &ob, oc, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            return ob;
        default:
            do {
                switch (in->mod) {
                case SIM_ATOM_MIN:
                    nv = t == SIM_T_S32 ? (uint32_t)((int32_t)old < (int32_t)ob ? old : ob)
                                        : (old < ob ? old : ob);
                    if (t == SIM_T_F32) nv = (uint32_t)uf32(fminf(f32(old), f32(ob)));
                    break;
                case SIM_ATOM_MAX:
                    nv = t == SIM_T_S32 ? (uint32_t)((int32_t)old > (int32_t)ob ? old : ob)
                                        : (old > ob ? old : ob);
                    if (t == SIM_T_F32) nv = (uint32_t)uf32(fmaxf(f32(old), f32(ob)));
                    break;
                case SIM_ATOM_INC: nv = old >= ob ? 0 : old + 1; break;
                case SIM_ATOM_DEC: nv = (old == 0 || old > ob) ? ob : old - 1; break;
                default: nv = old; break;
                }
            } while (!__atomic_compare_exchange_n(q, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
            return old;
        }
    }
    if (sz == 8) {
        uint64_t *q = (uint64_t *)p;
        uint64_t old = __atomic_load_n(q, __ATOMIC_RELAXED), nv;

        switch (in->mod) {
        case SIM_ATOM_ADD:
            if (t == SIM_T_F64) {
                do {
                    nv = uf64(f64(old) + f64(b));
                } while (!__atomic_compare_exchange_n(q, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
                return old;
            }
            return __atomic_fetch_add(q, b, __ATOMIC_SEQ_CST);
        case SIM_ATOM_AND: return __atomic_fetch_and(q, b, __ATOMIC_SEQ_CST);
        case SIM_ATOM_OR: return __atomic_fetch_or(q, b, __ATOMIC_SEQ_CST);
        case SIM_ATOM_XOR: return __atomic_fetch_xor(q, b, __ATOMIC_SEQ_CST);
        case SIM_ATOM_EXCH: return __atomic_exchange_n(q, b, __ATOMIC_SEQ_CST);
        case SIM_ATOM_CAS:
            __atomic_compare_exchange_n(q, &b, c, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            return b;
        default:
            do {
                switch (in->mod) {
                case SIM_ATOM_MIN:
                    nv = t == SIM_T_S64 ? (uint64_t)((int64_t)old < (int64_t)b ? old : b)
                                        : (old < b ? old : b);
                    break;
                case SIM_ATOM_MAX:
                    nv = t == SIM_T_S64 ? (uint64_t)((int64_t)old > (int64_t)b ? old : b)
                                        : (old > b ? old : b);
                    break;
                case SIM_ATOM_INC: nv = old >= b ? 0 : old + 1; break;
                case SIM_ATOM_DEC: nv = (old == 0 || old > b) ? b : old - 1; break;
                default: nv = old; break;
                }
            } while (!__atomic_compare_exchange_n(q, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
            return old;
        }
    }
    if (sz == 2 && in->mod == SIM_ATOM_CAS) {
        uint16_t *q = (uint16_t *)p, ob = (uint16_t)b;
        __atomic_compare_exchange_n(q, &ob, (uint16_t)c, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return ob;
    }
    return 0;
}

static uint64_t sreg_value(Worker *wk, Warp *w, int sr, int l)
{
    Launch *L = wk->L;
    SimLaunch *sl = L->l;

    switch (sr) {
    case SIM_SR_TID_X: return w->tid[0][l];
    case SIM_SR_TID_Y: return w->tid[1][l];
    case SIM_SR_TID_Z: return w->tid[2][l];
    case SIM_SR_NTID_X: return sl->block[0];
    case SIM_SR_NTID_Y: return sl->block[1];
    case SIM_SR_NTID_Z: return sl->block[2];
    case SIM_SR_CTAID_X: return wk->ctaid[0];
    case SIM_SR_CTAID_Y: return wk->ctaid[1];
    case SIM_SR_CTAID_Z: return wk->ctaid[2];
    case SIM_SR_NCTAID_X: return sl->grid[0];
    case SIM_SR_NCTAID_Y: return sl->grid[1];
    case SIM_SR_NCTAID_Z: return sl->grid[2];
    case SIM_SR_LANEID: return (uint64_t)l;
    case SIM_SR_WARPID: return w->id;
    case SIM_SR_NWARPID: return 32;
    case SIM_SR_SMID: return (uint64_t)wk->index;
    case SIM_SR_NSMID: return (uint64_t)(sl->smcount > 0 ? sl->smcount : 1);
    case SIM_SR_GRIDID: return 1;
    case SIM_SR_CLOCK: return (uint32_t)(wk->total + wk->insns);
    case SIM_SR_CLOCK_HI: return (uint32_t)((wk->total + wk->insns) >> 32);
    case SIM_SR_CLOCK64: return wk->total + wk->insns;
    case SIM_SR_GLOBALTIMER: return sim_now_ns();
    case SIM_SR_GLOBALTIMER_LO: return (uint32_t)sim_now_ns();
    case SIM_SR_GLOBALTIMER_HI: return (uint32_t)(sim_now_ns() >> 32);
    case SIM_SR_LANEMASK_EQ: return 1u << l;
    case SIM_SR_LANEMASK_LT: return (1u << l) - 1;
    case SIM_SR_LANEMASK_LE: return (uint32_t)((2ull << l) - 1);
    case SIM_SR_LANEMASK_GT: return (uint32_t)~((2ull << l) - 1);
    case SIM_SR_LANEMASK_GE: return (uint32_t)~((1u << l) - 1);
    case SIM_SR_DYNSMEM: return sl->dyn_shared;
    case SIM_SR_TOTALSMEM: return L->shared_total;
    case SIM_SR_DYNSMEM_BASE: return L->dyn_base;
    default: return 0;
    }
}

/* Picks the lanes with the lowest pc; false if none can run. */
static bool pick(Warp *w, Frame *fr, uint32_t *pc, uint32_t *act, uint32_t *wmin)
{
    uint32_t cand = fr->live & ~w->blocked;
    uint32_t best = UINT32_MAX, am = 0, second = UINT32_MAX;

    if (!cand) {
        return false;
    }
    for (uint32_t m = cand; m; m &= m - 1) {
        int l = __builtin_ctz(m);
        uint32_t p = fr->pc[l];

        if (p < best) {
            second = best;
            best = p;
            am = 1u << l;
        } else if (p == best) {
            am |= 1u << l;
        } else if (p < second) {
            second = p;
        }
    }
    *pc = best;
    *act = am;
    *wmin = second;
    return true;
}

static inline void save_pcs(Frame *fr, uint32_t act, uint32_t pc)
{
    for (uint32_t m = act; m; m &= m - 1) {
        fr->pc[__builtin_ctz(m)] = pc;
    }
}

static int run_warp(Worker *wk, Warp *w)
{
    Launch *L = wk->L;
    Frame *fr;
    const SimInsn *code;
    uint64_t *R;
    uint32_t pc, act, wmin;
    uint32_t steps = 0;
    uint64_t insns = 0;
    int rc = RUN_YIELD;

reload:
    fr = &w->frames[w->nframes - 1];
    if (!pick(w, fr, &pc, &act, &wmin)) {
        if (fr->live & w->blocked) {
            rc = RUN_BLOCKED;
            goto out;
        }
        /* Frame finished: return to the caller or finish the warp. */
        if (w->nframes == 1) {
            w->done = true;
            rc = RUN_DONE;
            goto out;
        }
        {
            Frame *cf = &w->frames[w->nframes - 2];
            const SimInsn *ci = &cf->fn->code[fr->call_insn];
            const SimCall *c = &L->prog->calls[ci->target];
            uint32_t back = fr->retmask & ~w->exited;

            if (c->ret_off >= 0 && fr->fn->has_ret) {
                uint32_t n = c->ret_size < fr->fn->ret_size ? c->ret_size : fr->fn->ret_size;
                for (uint32_t m = back; m; m &= m - 1) {
                    int l = __builtin_ctz(m);
                    uint8_t *base = wk->local + (size_t)(w->id * 32 + l) * SIM_LOCAL_PER_LANE;
                    memcpy(base + cf->lbase + (uint32_t)c->ret_off,
                           base + fr->lbase + fr->fn->ret_off, n);
                }
            }
            cf->live &= ~w->exited;
            w->nframes--;
        }
        goto reload;
    }
    code = fr->fn->code;
    R = w->regs + (size_t)fr->rbase * 32;

    for (;;) {
        const SimInsn *in = &code[pc];
        uint32_t mask = act;

        if (in->pred >= 0) {
            const uint64_t *p = REG(in->pred);
            uint32_t pm = 0;

            for (uint32_t m = act; m; m &= m - 1) {
                int l = __builtin_ctz(m);
                pm |= (uint32_t)(p[l] & 1) << l;
            }
            mask = in->pneg ? act & ~pm : act & pm;
        }
        insns += mask == 0xffffffffu ? 32 : (uint64_t)__builtin_popcount(mask);
        uint64_t *d = in->o[0] != NOREG ? REG(in->o[0]) : NULL;
        const uint64_t *a = in->o[1] != NOREG ? REG(in->o[1]) : NULL;
        const uint64_t *b = in->o[2] != NOREG ? REG(in->o[2]) : NULL;
        const uint64_t *c = in->o[3] != NOREG ? REG(in->o[3]) : NULL;
        int t = in->type;
        uint32_t sz = tsize(t);

        if (!mask && in->op != OP_BRA) {
            goto next;
        }
        if (__builtin_expect(t == SIM_T_F16 || t == SIM_T_F16X2, 0) &&
            (in->op == OP_ADD || in->op == OP_SUB || in->op == OP_MUL || in->op == OP_FMA ||
             in->op == OP_MAD || in->op == OP_NEG || in->op == OP_ABS || in->op == OP_MIN ||
             in->op == OP_MAX)) {
            FOR_LANES(d[l] = half_alu(in, a[l], b ? b[l] : 0, c ? c[l] : 0));
            goto next;
        }
        switch (in->op) {
        case OP_NOP:
            break;
        case OP_MOV:
            FOR_LANES(d[l] = a[l]);
            if (sz && sz < 8) {
                FOR_LANES(d[l] = zext(d[l], sz));
            }
            break;
        case OP_LADDR:
            FOR_LANES(d[l] = a[l] + fr->lbase);
            break;
        case OP_SREG: {
            int sr = in->mod;
            if (sr == SIM_SR_CLOCK || sr == SIM_SR_CLOCK64 || sr == SIM_SR_CLOCK_HI) {
                /* A cycle counter: thread-instructions run by this worker. */
                uint64_t clk = wk->total + wk->insns + insns;
                uint64_t v = sr == SIM_SR_CLOCK ? (uint32_t)clk :
                             sr == SIM_SR_CLOCK_HI ? (uint32_t)(clk >> 32) : clk;
                FOR_LANES(d[l] = v);
            } else if (sr == SIM_SR_GLOBALTIMER || sr == SIM_SR_GLOBALTIMER_LO ||
                sr == SIM_SR_GLOBALTIMER_HI) {
                /* Strictly increasing per worker, like a ns-resolution timer. */
                uint64_t now = sim_now_ns();
                if (now <= wk->last_timer) {
                    now = wk->last_timer + 1;
                }
                wk->last_timer = now;
                uint64_t v = sr == SIM_SR_GLOBALTIMER ? now : sr == SIM_SR_GLOBALTIMER_LO ?
                             (uint32_t)now : now >> 32;
                FOR_LANES(d[l] = v);
            } else if (sr >= SIM_SR_TID_X && sr <= SIM_SR_TID_Z) {
                const uint32_t *tv = w->tid[sr - SIM_SR_TID_X];
                FOR_LANES(d[l] = tv[l]);
            } else if (sr == SIM_SR_LANEID || (sr >= SIM_SR_LANEMASK_EQ && sr <= SIM_SR_LANEMASK_GE)) {
                FOR_LANES(d[l] = sreg_value(wk, w, sr, l));
            } else {
                uint64_t v = sreg_value(wk, w, sr, 0);   /* uniform across the warp */
                FOR_LANES(d[l] = v);
            }
            break;
        }
        case OP_MOVPACK: {
            uint32_t esz = sz / in->vec;
            FOR_LANES({
                uint64_t v = 0;
                for (int i = 0; i < in->vec; i++) {
                    v |= zext(REG(in->o[1 + i])[l], esz) << (8 * esz * i);
                }
                d[l] = v;
            });
            break;
        }
        case OP_MOVUNPACK: {
            uint32_t esz = sz / in->vec;
            const uint64_t *s = REG(in->o[7]);
            FOR_LANES({
                uint64_t v = s[l];
                for (int i = 0; i < in->vec; i++) {
                    REG(in->o[i])[l] = zext(esz >= 8 ? v : v >> (8 * esz * i), esz);
                }
            });
            break;
        }
        case OP_ADD: case OP_SUB: case OP_ADDC: case OP_SUBC: {
            bool sub = in->op == OP_SUB || in->op == OP_SUBC;
            if (t == SIM_T_F32) {
                if (in->rnd <= SIM_RND_RN && !(in->flags & (SIM_F_FTZ | SIM_F_SAT))) {
                    if (sub) {
                        FOR_LANES(d[l] = canon32(f32(a[l]) - f32(b[l])));
                    } else {
                        FOR_LANES(d[l] = canon32(f32(a[l]) + f32(b[l])));
                    }
                } else {
                    int old = set_round(in->rnd);
                    bool ftz = in->flags & SIM_F_FTZ, sat = in->flags & SIM_F_SAT;
                    FOR_LANES({
                        float x = f32(a[l]), y = f32(b[l]), r;
                        if (ftz) { x = ftz32(x); y = ftz32(y); }
                        r = sub ? x - y : x + y;
                        if (ftz) r = ftz32(r);
                        if (sat) r = r != r ? 0 : r < 0 ? 0 : r > 1 ? 1 : r;
                        d[l] = canon32(r);
                    });
                    fesetround(old);
                }
            } else if (t == SIM_T_F64) {
                int old = set_round(in->rnd);
                if (sub) {
                    FOR_LANES(d[l] = uf64(f64(a[l]) - f64(b[l])));
                } else {
                    FOR_LANES(d[l] = uf64(f64(a[l]) + f64(b[l])));
                }
                if (in->flags & SIM_F_SAT) {
                    FOR_LANES({ double r = f64(d[l]); d[l] = uf64(r != r ? 0 : r < 0 ? 0 : r > 1 ? 1 : r); });
                }
                fesetround(old);
            } else if (in->op == OP_ADDC || in->op == OP_SUBC || (in->flags & SIM_F_CC)) {
                /* Carry chains: the carry flag lives in w->... per lane; kept
                 * in a hidden register: bit 32/64 extension is not
                 * available, so emulate with a per-warp array. */
                uint8_t *carry = w->carry;
                bool usec = in->op == OP_ADDC || in->op == OP_SUBC;
                bool setc = in->flags & SIM_F_CC;
                FOR_LANES({
                    uint64_t x = zext(a[l], sz), y = zext(b[l], sz);
                    uint64_t ci = usec ? carry[l] : 0;
                    uint64_t r;
                    unsigned __int128 wide;
                    if (!sub) {
                        wide = (unsigned __int128)x + y + ci;
                        r = (uint64_t)wide;
                        if (setc) carry[l] = sz == 8 ? (uint8_t)(wide >> 64) : (uint8_t)((wide >> (8 * sz)) & 1);
                    } else {
                        wide = (unsigned __int128)x - y - ci;
                        r = (uint64_t)wide;
                        if (setc) carry[l] = (x < (unsigned __int128)y + ci) ? 1 : 0;
                    }
                    d[l] = zext(r, sz);
                });
            } else if (sz == 4) {
                if (in->flags & SIM_F_SAT) {
                    FOR_LANES({
                        int64_t r = sub ? (int64_t)(int32_t)a[l] - (int32_t)b[l]
                                        : (int64_t)(int32_t)a[l] + (int32_t)b[l];
                        r = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
                        d[l] = (uint32_t)r;
                    });
                } else if (sub) {
                    FOR_LANES(d[l] = (uint32_t)(a[l] - b[l]));
                } else {
                    FOR_LANES(d[l] = (uint32_t)(a[l] + b[l]));
                }
            } else if (sz == 8) {
                if (sub) {
                    FOR_LANES(d[l] = a[l] - b[l]);
                } else {
                    FOR_LANES(d[l] = a[l] + b[l]);
                }
            } else if (sz == 2 || sz == 1) {
                FOR_LANES(d[l] = zext(sub ? a[l] - b[l] : a[l] + b[l], sz));
            } else {
                goto illegal;
            }
            break;
        }
        case OP_MADC:
        case OP_MUL: case OP_MAD: {
            bool mad = in->op == OP_MAD || in->op == OP_MADC;
            if (in->op == OP_MADC || (in->flags & SIM_F_CC)) {
                /* Extended-precision multiply-add: carry in and/or out. */
                bool usec = in->op == OP_MADC, setc = in->flags & SIM_F_CC;
                bool hi = in->flags & SIM_F_HI, sg = tsigned(t);
                uint8_t *carry = w->carry;
                FOR_LANES({
                    unsigned __int128 prod;
                    uint64_t part;
                    if (sz == 8) {
                        prod = sg ? (unsigned __int128)((__int128)(int64_t)a[l] * (int64_t)b[l])
                                  : (unsigned __int128)a[l] * b[l];
                        part = hi ? (uint64_t)(prod >> 64) : (uint64_t)prod;
                    } else {
                        uint64_t p64 = sg ? (uint64_t)(sext(a[l], 4) * sext(b[l], 4))
                                          : zext(a[l], 4) * zext(b[l], 4);
                        part = hi ? (p64 >> 32) & 0xffffffffu : p64 & 0xffffffffu;
                    }
                    unsigned __int128 s = (unsigned __int128)part + zext(c[l], sz) +
                                          (usec ? carry[l] : 0);
                    if (setc) {
                        carry[l] = sz == 8 ? (uint8_t)(s >> 64) : (uint8_t)((s >> 32) & 1);
                    }
                    d[l] = zext((uint64_t)s, sz);
                });
                break;
            }
            if (t == SIM_T_F32) {
                if (in->rnd <= SIM_RND_RN && !(in->flags & (SIM_F_FTZ | SIM_F_SAT))) {
                    if (mad) {
                        fma32(d, a, b, c, mask);
                    } else {
                        FOR_LANES(d[l] = canon32(f32(a[l]) * f32(b[l])));
                    }
                } else {
                    int old = set_round(in->rnd);
                    bool ftz = in->flags & SIM_F_FTZ, sat = in->flags & SIM_F_SAT;
                    FOR_LANES({
                        float x = f32(a[l]), y = f32(b[l]), z = mad ? f32(c[l]) : 0, r;
                        if (ftz) { x = ftz32(x); y = ftz32(y); z = ftz32(z); }
                        r = mad ? fmaf(x, y, z) : x * y;
                        if (ftz) r = ftz32(r);
                        if (sat) r = r != r ? 0 : r < 0 ? 0 : r > 1 ? 1 : r;
                        d[l] = canon32(r);
                    });
                    fesetround(old);
                }
            } else if (t == SIM_T_F64) {
                int old = set_round(in->rnd);
                if (mad) {
                    FOR_LANES(d[l] = uf64(fma(f64(a[l]), f64(b[l]), f64(c[l]))));
                } else {
                    FOR_LANES(d[l] = uf64(f64(a[l]) * f64(b[l])));
                }
                fesetround(old);
            } else if (in->flags & SIM_F_WIDE) {
                bool sg = tsigned(t);
                FOR_LANES({
                    uint64_t r = sg ? (uint64_t)(sext(a[l], sz) * sext(b[l], sz))
                                    : zext(a[l], sz) * zext(b[l], sz);
                    if (mad) r += c[l];
                    d[l] = zext(r, sz * 2);
                });
            } else if (in->flags & SIM_F_HI) {
                bool sg = tsigned(t);
                if (sz == 8) {
                    FOR_LANES({
                        uint64_t r = sg ? (uint64_t)(((__int128)(int64_t)a[l] * (int64_t)b[l]) >> 64)
                                        : (uint64_t)(((unsigned __int128)a[l] * b[l]) >> 64);
                        if (mad) r += c[l];
                        d[l] = r;
                    });
                } else {
                    FOR_LANES({
                        uint64_t r = sg ? (uint64_t)((sext(a[l], sz) * sext(b[l], sz)) >> (8 * sz))
                                        : (zext(a[l], sz) * zext(b[l], sz)) >> (8 * sz);
                        if (mad) r += c[l];
                        d[l] = zext(r, sz);
                    });
                }
            } else {
                if (sz == 4 && (in->flags & SIM_F_SAT) && mad) {
                    FOR_LANES({
                        int64_t r = (int64_t)(int32_t)a[l] * (int32_t)b[l];
                        r = (int64_t)(int32_t)r + (int32_t)c[l];
                        r = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
                        d[l] = (uint32_t)r;
                    });
                } else if (sz == 4) {
                    if (mad) {
                        FOR_LANES(d[l] = (uint32_t)(a[l] * b[l] + c[l]));
                    } else {
                        FOR_LANES(d[l] = (uint32_t)(a[l] * b[l]));
                    }
                } else {
                    FOR_LANES(d[l] = zext(a[l] * b[l] + (mad ? c[l] : 0), sz));
                }
            }
            break;
        }
        case OP_MUL24: case OP_MAD24: {
            bool sg = tsigned(t);
            bool hi = in->flags & SIM_F_HI;
            FOR_LANES({
                int64_t x = sg ? sext(a[l] & 0xffffff, 4) << 8 >> 8 : (int64_t)(a[l] & 0xffffff);
                int64_t y = sg ? sext(b[l] & 0xffffff, 4) << 8 >> 8 : (int64_t)(b[l] & 0xffffff);
                if (sg) { x = ((int32_t)((uint32_t)a[l] << 8)) >> 8; y = ((int32_t)((uint32_t)b[l] << 8)) >> 8; }
                int64_t p = x * y;
                uint64_t r = hi ? (uint64_t)(p >> 16) : (uint64_t)p;
                if (in->op == OP_MAD24) r += c[l];
                d[l] = (uint32_t)r;
            });
            break;
        }
        case OP_SAD:
            FOR_LANES({
                uint64_t x = a[l], y = b[l];
                uint64_t df = tsigned(t) ? (uint64_t)llabs(sext(x, sz) - sext(y, sz))
                                         : (zext(x, sz) > zext(y, sz) ? zext(x, sz) - zext(y, sz)
                                                                       : zext(y, sz) - zext(x, sz));
                d[l] = zext(c[l] + df, sz);
            });
            break;
        case OP_DIV: case OP_REM:
            if (t == SIM_T_F32) {
                int old = set_round(in->rnd);
                bool ftz = in->flags & SIM_F_FTZ;
                FOR_LANES({
                    float x = f32(a[l]), y = f32(b[l]);
                    if (ftz) { x = ftz32(x); y = ftz32(y); }
                    float r = x / y;
                    if (ftz) r = ftz32(r);
                    d[l] = canon32(r);
                });
                fesetround(old);
            } else if (t == SIM_T_F64) {
                int old = set_round(in->rnd);
                FOR_LANES(d[l] = uf64(f64(a[l]) / f64(b[l])));
                fesetround(old);
            } else if (tsigned(t)) {
                bool rem = in->op == OP_REM;
                FOR_LANES({
                    int64_t x = sext(a[l], sz), y = sext(b[l], sz), r;
                    int64_t mn = sz == 8 ? INT64_MIN : -(1ll << (8 * sz - 1));
                    if (y == 0) {
                        r = rem ? x : -1;
                    } else if (y == -1 && x == mn) {
                        r = rem ? 0 : mn;
                    } else {
                        r = rem ? x % y : x / y;
                    }
                    d[l] = zext((uint64_t)r, sz);
                });
            } else {
                bool rem = in->op == OP_REM;
                FOR_LANES({
                    uint64_t x = zext(a[l], sz), y = zext(b[l], sz), r;
                    if (y == 0) {
                        r = rem ? x : UINT64_MAX;
                    } else {
                        r = rem ? x % y : x / y;
                    }
                    d[l] = zext(r, sz);
                });
            }
            break;
        case OP_ABS: case OP_NEG:
            if (t == SIM_T_F32) {
                bool ftz = in->flags & SIM_F_FTZ;
                if (in->op == OP_ABS) {
                    FOR_LANES({ float x = f32(a[l]); if (ftz) x = ftz32(x); d[l] = uf32(fabsf(x)); });
                } else {
                    FOR_LANES({ float x = f32(a[l]); if (ftz) x = ftz32(x); d[l] = uf32(-x); });
                }
            } else if (t == SIM_T_F64) {
                if (in->op == OP_ABS) {
                    FOR_LANES(d[l] = a[l] & 0x7fffffffffffffffull);
                } else {
                    FOR_LANES(d[l] = a[l] ^ 0x8000000000000000ull);
                }
            } else if (in->op == OP_ABS) {
                FOR_LANES({ int64_t x = sext(a[l], sz); d[l] = zext((uint64_t)(x < 0 ? -(uint64_t)x : (uint64_t)x), sz); });
            } else {
                FOR_LANES(d[l] = zext(-a[l], sz));
            }
            break;
        case OP_MIN: case OP_MAX: {
            bool mx = in->op == OP_MAX;
            if (t == SIM_T_F32) {
                bool ftz = in->flags & SIM_F_FTZ;
                FOR_LANES({
                    float x = f32(a[l]), y = f32(b[l]), r;
                    if (ftz) { x = ftz32(x); y = ftz32(y); }
                    if (x != x && y != y) {
                        d[l] = 0x7fffffffu;
                        continue;
                    }
                    if (x == 0 && y == 0) {
                        /* -0 < +0 for min/max */
                        r = mx ? (signbit(x) ? y : x) : (signbit(x) ? x : y);
                    } else {
                        r = mx ? fmaxf(x, y) : fminf(x, y);
                    }
                    d[l] = uf32(r);
                });
            } else if (t == SIM_T_F64) {
                FOR_LANES({
                    double x = f64(a[l]), y = f64(b[l]), r;
                    if (x == 0 && y == 0) {
                        r = mx ? (signbit(x) ? y : x) : (signbit(x) ? x : y);
                    } else {
                        r = mx ? fmax(x, y) : fmin(x, y);
                    }
                    d[l] = uf64(r);
                });
            } else if (tsigned(t)) {
                FOR_LANES({
                    int64_t x = sext(a[l], sz), y = sext(b[l], sz);
                    d[l] = zext((uint64_t)(mx ? (x > y ? x : y) : (x < y ? x : y)), sz);
                });
            } else {
                FOR_LANES({
                    uint64_t x = zext(a[l], sz), y = zext(b[l], sz);
                    d[l] = mx ? (x > y ? x : y) : (x < y ? x : y);
                });
            }
            break;
        }
        case OP_AND:
            if (t == SIM_T_PRED) { FOR_LANES(d[l] = (a[l] & b[l]) & 1); }
            else FOR_LANES(d[l] = a[l] & b[l]);
            break;
        case OP_OR:
            if (t == SIM_T_PRED) { FOR_LANES(d[l] = (a[l] | b[l]) & 1); }
            else FOR_LANES(d[l] = a[l] | b[l]);
            break;
        case OP_XOR:
            if (t == SIM_T_PRED) { FOR_LANES(d[l] = (a[l] ^ b[l]) & 1); }
            else FOR_LANES(d[l] = a[l] ^ b[l]);
            break;
        case OP_NOT:
            if (t == SIM_T_PRED) { FOR_LANES(d[l] = ~a[l] & 1); }
            else FOR_LANES(d[l] = zext(~a[l], sz));
            break;
        case OP_CNOT:
            FOR_LANES(d[l] = zext(a[l], sz) == 0);
            break;
        case OP_SHL:
            FOR_LANES({
                uint32_t n = (uint32_t)b[l];
                d[l] = n >= 8 * sz ? 0 : zext(a[l] << n, sz);
            });
            break;
        case OP_SHR:
            if (tsigned(t)) {
                FOR_LANES({
                    uint32_t n = (uint32_t)b[l];
                    int64_t x = sext(a[l], sz);
                    d[l] = zext((uint64_t)(n >= 8 * sz ? (x < 0 ? -1 : 0) : x >> n), sz);
                });
            } else {
                FOR_LANES({
                    uint32_t n = (uint32_t)b[l];
                    d[l] = n >= 8 * sz ? 0 : zext(a[l], sz) >> n;
                });
            }
            break;
        case OP_SETP: case OP_SET: {
            int ct = in->type2;
            const uint64_t *x = REG(in->o[2]), *y = REG(in->o[3]);
            const uint64_t *pc_ = in->o[4] != NOREG ? REG(in->o[4]) : NULL;
            uint64_t *q = in->op == OP_SETP && in->o[1] != NOREG ? REG(in->o[1]) : NULL;
            bool negc = in->flags & SIM_F_NEGC;
            int bop = in->mod2;
            if (in->op == OP_SETP && !pc_ && !q && (ct == SIM_T_S32 || ct == SIM_T_U32 ||
                                                    ct == SIM_T_B32)) {
                /* The common case: a plain 32-bit integer comparison. */
                bool sg = ct == SIM_T_S32;
                switch (in->mod) {
                case SIM_CMP_EQ: FOR_LANES(d[l] = (uint32_t)x[l] == (uint32_t)y[l]); goto setp_done;
                case SIM_CMP_NE: FOR_LANES(d[l] = (uint32_t)x[l] != (uint32_t)y[l]); goto setp_done;
                case SIM_CMP_LT:
                    if (sg) FOR_LANES(d[l] = (int32_t)x[l] < (int32_t)y[l]);
                    else FOR_LANES(d[l] = (uint32_t)x[l] < (uint32_t)y[l]);
                    goto setp_done;
                case SIM_CMP_LE:
                    if (sg) FOR_LANES(d[l] = (int32_t)x[l] <= (int32_t)y[l]);
                    else FOR_LANES(d[l] = (uint32_t)x[l] <= (uint32_t)y[l]);
                    goto setp_done;
                case SIM_CMP_GT:
                    if (sg) FOR_LANES(d[l] = (int32_t)x[l] > (int32_t)y[l]);
                    else FOR_LANES(d[l] = (uint32_t)x[l] > (uint32_t)y[l]);
                    goto setp_done;
                case SIM_CMP_GE:
                    if (sg) FOR_LANES(d[l] = (int32_t)x[l] >= (int32_t)y[l]);
                    else FOR_LANES(d[l] = (uint32_t)x[l] >= (uint32_t)y[l]);
                    goto setp_done;
                default:
                    break;
                }
            }
            FOR_LANES({
                bool r;
                if (ct == SIM_T_F32) {
                    float fx = f32(x[l]), fy = f32(y[l]);
                    if (in->flags & SIM_F_FTZ) { fx = ftz32(fx); fy = ftz32(fy); }
                    r = cmp_f(in->mod, fx, fy);
                } else if (ct == SIM_T_F64) {
                    r = cmp_f(in->mod, f64(x[l]), f64(y[l]));
                } else if (ct == SIM_T_F16) {
                    r = cmp_f(in->mod, half_to_float((uint16_t)x[l]), half_to_float((uint16_t)y[l]));
                } else {
                    r = cmp_int(in->mod, x[l], y[l], ct);
                }
                bool r2 = !r;
                if (pc_) {
                    bool cv = (pc_[l] & 1) ^ negc;
                    switch (bop) {
                    case SIM_BOOL_AND: r = r && cv; r2 = r2 && cv; break;
                    case SIM_BOOL_OR: r = r || cv; r2 = r2 || cv; break;
                    case SIM_BOOL_XOR: r = r ^ cv; r2 = r2 ^ cv; break;
                    }
                }
                if (in->op == OP_SETP) {
                    d[l] = r;
                    if (q) q[l] = r2;
                } else if (t == SIM_T_F32) {
                    d[l] = r ? 0x3f800000u : 0;
                } else {
                    d[l] = r ? zext(UINT64_MAX, sz) : 0;
                }
            });
setp_done:
            break;
        }
        case OP_SELP:
            if (in->flags & SIM_F_NEGC) {
                FOR_LANES(d[l] = (c[l] & 1) ? b[l] : a[l]);
            } else {
                FOR_LANES(d[l] = (c[l] & 1) ? a[l] : b[l]);
            }
            break;
        case OP_SLCT:
            if (in->type2 == SIM_T_F32) {
                FOR_LANES(d[l] = f32(c[l]) >= 0.0f ? a[l] : b[l]);
            } else {
                FOR_LANES(d[l] = (int32_t)c[l] >= 0 ? a[l] : b[l]);
            }
            break;
        case OP_CVT:
            if (t == SIM_T_F32 && in->type2 == SIM_T_S32 && in->rnd <= SIM_RND_RN && !in->flags) {
                FOR_LANES(d[l] = uf32((float)(int32_t)a[l]));
            } else if (t == SIM_T_U64 && in->type2 == SIM_T_U32) {
                FOR_LANES(d[l] = (uint32_t)a[l]);
            } else if (t == SIM_T_S64 && in->type2 == SIM_T_S32) {
                FOR_LANES(d[l] = (uint64_t)(int64_t)(int32_t)a[l]);
            } else {
                FOR_LANES(d[l] = do_cvt(in, a[l]));
            }
            break;
        case OP_CVTA: {
            uint64_t win = 0;
            switch (in->space) {
            case SIM_SP_SHARED: win = SIM_WIN_SHARED; break;
            case SIM_SP_LOCAL: win = SIM_WIN_LOCAL; break;
            case SIM_SP_PARAM: win = SIM_WIN_PARAM; break;
            default: win = 0; break;
            }
            if (in->flags & SIM_F_TO) {
                FOR_LANES(d[l] = zext(a[l] - win, sz));
            } else {
                FOR_LANES(d[l] = zext(a[l], sz) + win);
            }
            break;
        }
        case OP_LD: case OP_ST: {
            const uint64_t *ar = REG(in->o[7]);
            int64_t off = in->imm + ((in->flags & SIM_F_FRAME) ? fr->lbase : 0);
            uint32_t esz = sz, n = esz * in->vec;
            int sp = in->space;
            bool st = in->op == OP_ST;
            bool wide = (in->flags & SIM_F_WIDE) && tsigned(t);

            if (sp == SIM_SP_GLOBAL && in->vec == 1 && (esz == 4 || esz == 8)) {
                /* Fast path: the common global scalar access. */
                FOR_LANES({
                    uint64_t ad = ar[l] + (uint64_t)off;
                    uint8_t *p;
                    uint64_t go = ad - wk->cb;
                    if (go < wk->cs && wk->cs - go >= esz && !(ad & (esz - 1))) {
                        p = wk->ch + (ad - wk->cb);
                    } else if (!(p = xlate(wk, w, fr, sp, ad, esz, l, in))) {
                        goto fault_out;
                    }
                    /*
                     * Relaxed atomics: other blocks may touch the same word
                     * (with atomics or racing plain accesses, as on a GPU);
                     * aligned, they compile to plain moves.
                     */
                    if (st && esz == 4) {
                        __atomic_store_n((uint32_t *)p, (uint32_t)d[l], __ATOMIC_RELAXED);
                    } else if (st) {
                        __atomic_store_n((uint64_t *)p, d[l], __ATOMIC_RELAXED);
                    } else if (esz == 4) {
                        uint32_t v = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
                        d[l] = wide ? (uint64_t)(int64_t)(int32_t)v : v;
                    } else {
                        d[l] = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
                    }
                });
                break;
            }
            if (sp == SIM_SP_SHARED && in->vec == 1 && esz == 4 && !wide) {
                uint32_t lim = L->shared_total;
                FOR_LANES({
                    uint64_t ad = ar[l] + (uint64_t)off;
                    uint8_t *p;
                    if (ad < lim && lim - ad >= 4 && !(ad & 3)) {
                        p = wk->shared + ad;
                    } else if (!(p = xlate(wk, w, fr, sp, ad, 4, l, in))) {
                        goto fault_out;
                    }
                    if (st) {
                        memcpy(p, &d[l], 4);
                    } else {
                        uint32_t v;
                        memcpy(&v, p, 4);
                        d[l] = v;
                    }
                });
                break;
            }
            if (esz == 16) {
                goto illegal;
            }
            if ((sp == SIM_SP_PARAM || sp == SIM_SP_LOCAL) && in->vec == 1 && !st &&
                (esz == 4 || esz == 8) && !wide) {
                /* Kernel parameters and local slots: bounds known up front. */
                uint64_t lim = sp == SIM_SP_PARAM ? L->l->param_bytes : SIM_LOCAL_PER_LANE;
                const uint8_t *base = sp == SIM_SP_PARAM ? L->l->params : NULL;
                FOR_LANES({
                    uint64_t ad = ar[l] + (uint64_t)off;
                    const uint8_t *p;
                    if (ad < lim && lim - ad >= esz && !(ad & (esz - 1))) {
                        p = base ? base + ad
                                 : wk->local + ((size_t)(w->id * 32 + l) * SIM_LOCAL_PER_LANE) + ad;
                    } else if (!(p = xlate(wk, w, fr, sp, ad, esz, l, in))) {
                        goto fault_out;
                    }
                    uint64_t v = 0;
                    memcpy(&v, p, esz);
                    d[l] = v;
                });
                break;
            }
            FOR_LANES({
                uint64_t ad = ar[l] + (uint64_t)off;
                uint8_t *p = xlate(wk, w, fr, sp, ad, n, l, in);
                if (!p) {
                    goto fault_out;
                }
                for (int i = 0; i < in->vec; i++) {
                    uint64_t *r = REG(in->o[i]);
                    if (st) {
                        memcpy(p + i * esz, &r[l], esz);
                    } else {
                        uint64_t v = 0;
                        memcpy(&v, p + i * esz, esz);
                        if (wide) {
                            v = (uint64_t)sext(v, esz);
                        } else if (tsigned(t) && esz < 4) {
                            v = (uint32_t)sext(v, esz);
                        }
                        r[l] = v;
                    }
                }
            });
            break;
        }
        case OP_ATOM: case OP_RED: {
            const uint64_t *ar = REG(in->o[7]);
            if (sz != 4 && sz != 8 && !(sz == 2 && in->mod == SIM_ATOM_CAS)) {
                goto illegal;
            }
            FOR_LANES({
                uint64_t ad = ar[l] + (uint64_t)in->imm;
                uint8_t *p = xlate(wk, w, fr, in->space, ad, sz, l, in);
                if (!p) {
                    goto fault_out;
                }
                if (in->space == SIM_SP_GENERIC && ad >= SIM_WIN_LOCAL &&
                    ad < SIM_WIN_LOCAL + SIM_WIN_SIZE) {
                    /* atomics on local memory are not defined */
                }
                uint64_t old = do_atomic(in, p, a[l], b ? b[l] : 0);
                if (in->op == OP_ATOM) {
                    d[l] = old;
                }
            });
            break;
        }
        case OP_POPC:
            FOR_LANES(d[l] = (uint64_t)__builtin_popcountll(zext(a[l], sz)));
            break;
        case OP_CLZ:
            if (sz == 8) {
                FOR_LANES(d[l] = a[l] ? (uint64_t)__builtin_clzll(a[l]) : 64);
            } else {
                FOR_LANES(d[l] = (uint32_t)a[l] ? (uint64_t)__builtin_clz((uint32_t)a[l]) : 32);
            }
            break;
        case OP_BFIND:
            FOR_LANES({
                uint64_t x = zext(a[l], sz);
                int64_t r = -1;
                if (tsigned(t) && sext(a[l], sz) < 0) {
                    x = zext(~x, sz);
                }
                if (x) r = 63 - __builtin_clzll(x);
                if ((in->flags & SIM_F_SHIFTAMT) && r >= 0) r = (int64_t)(8 * sz - 1) - r;
                d[l] = (uint32_t)r;
            });
            break;
        case OP_BREV:
            if (sz == 8) {
                FOR_LANES(d[l] = ((uint64_t)bitrev32((uint32_t)a[l]) << 32) | bitrev32((uint32_t)(a[l] >> 32)));
            } else {
                FOR_LANES(d[l] = bitrev32((uint32_t)a[l]));
            }
            break;
        case OP_BFE:
            FOR_LANES({
                uint32_t pos = (uint32_t)b[l] & 0xff, len = (uint32_t)c[l] & 0xff;
                uint32_t bits = 8 * sz;
                uint64_t x = zext(a[l], sz);
                uint64_t r;
                bool sbit;
                if (tsigned(t)) {
                    uint32_t top = pos + len - 1;
                    sbit = len == 0 ? false : ((x >> (top >= bits ? bits - 1 : top)) & 1);
                } else {
                    sbit = false;
                }
                r = 0;
                for (uint32_t i = 0; i < bits; i++) {
                    bool bit = i < len && pos + i < bits ? (x >> (pos + i)) & 1 : sbit;
                    r |= (uint64_t)bit << i;
                }
                if (len == 0) r = 0;
                d[l] = zext(r, sz);
            });
            break;
        case OP_BFI: {
            const uint64_t *e = REG(in->o[4]);
            FOR_LANES({
                uint32_t pos = (uint32_t)c[l] & 0xff, len = (uint32_t)e[l] & 0xff;
                uint32_t bits = 8 * sz;
                uint64_t r = zext(b[l], sz);
                for (uint32_t i = 0; i < len && pos + i < bits; i++) {
                    uint64_t bit = (a[l] >> i) & 1;
                    r = (r & ~(1ull << (pos + i))) | (bit << (pos + i));
                }
                d[l] = r;
            });
            break;
        }
        case OP_PRMT:
            FOR_LANES({
                uint64_t x = ((uint64_t)(uint32_t)b[l] << 32) | (uint32_t)a[l];
                uint32_t s = (uint32_t)c[l], r = 0, s2 = s & 3;
                for (int i = 0; i < 4; i++) {
                    uint32_t sel = (s >> (4 * i)) & 15;
                    switch (in->mod) {
                    case 1: sel = (s2 + i) & 7; break;                          /* f4e */
                    case 2: sel = (s2 - i) & 7; break;                          /* b4e */
                    case 3: sel = s2; break;                                    /* rc8 */
                    case 4: sel = (uint32_t)i > s2 ? (uint32_t)i : s2; break;   /* ecl */
                    case 5: sel = (uint32_t)i < s2 ? (uint32_t)i : s2; break;   /* ecr */
                    case 6: sel = 2 * (s2 & 1) + (i & 1); break;                /* rc16 */
                    default: break;
                    }
                    uint8_t byte = (uint8_t)(x >> (8 * (sel & 7)));
                    if (!in->mod && (sel & 8)) byte = (byte & 0x80) ? 0xff : 0;
                    r |= (uint32_t)byte << (8 * i);
                }
                d[l] = r;
            });
            break;
        case OP_LOP3: {
            const uint64_t *e = REG(in->o[4]);
            FOR_LANES({
                uint32_t lut = (uint32_t)e[l] & 0xff, r = 0;
                uint32_t x = (uint32_t)a[l], y = (uint32_t)b[l], z = (uint32_t)c[l];
                for (int i = 0; i < 32; i++) {
                    uint32_t idx = (((x >> i) & 1) << 2) | (((y >> i) & 1) << 1) | ((z >> i) & 1);
                    r |= ((lut >> idx) & 1) << i;
                }
                d[l] = r;
            });
            break;
        }
        case OP_SHF:
            FOR_LANES({
                uint64_t v = ((uint64_t)(uint32_t)b[l] << 32) | (uint32_t)a[l];
                uint32_t n = (uint32_t)c[l];
                n = (in->flags & SIM_F_CLAMP) ? (n > 32 ? 32 : n) : (n & 31);
                if (in->flags & SIM_F_SHFR) {
                    d[l] = (uint32_t)(v >> n);
                } else {
                    d[l] = (uint32_t)((v << n) >> 32);
                }
            });
            break;
        case OP_DP4A: case OP_DP2A: {
            bool s1 = tsigned(in->type), s2 = tsigned(in->type2);
            bool hi = in->flags & SIM_F_HI;
            bool four = in->op == OP_DP4A;
            FOR_LANES({
                int64_t acc = (int32_t)c[l];
                uint32_t x = (uint32_t)a[l], y = (uint32_t)b[l];
                for (int i = 0; i < (four ? 4 : 2); i++) {
                    int64_t p, q;
                    if (four) {
                        p = s1 ? (int8_t)(x >> (8 * i)) : (uint8_t)(x >> (8 * i));
                        q = s2 ? (int8_t)(y >> (8 * i)) : (uint8_t)(y >> (8 * i));
                    } else {
                        p = s1 ? (int16_t)(x >> (16 * i)) : (uint16_t)(x >> (16 * i));
                        int j = i + (hi ? 2 : 0);
                        q = s2 ? (int8_t)(y >> (8 * j)) : (uint8_t)(y >> (8 * j));
                    }
                    acc += p * q;
                }
                d[l] = (uint32_t)acc;
            });
            break;
        }
        case OP_FMA:
            if (t == SIM_T_F32) {
                if (in->rnd <= SIM_RND_RN && !(in->flags & (SIM_F_FTZ | SIM_F_SAT))) {
                    fma32(d, a, b, c, mask);
                } else {
                    int old = set_round(in->rnd);
                    bool ftz = in->flags & SIM_F_FTZ, sat = in->flags & SIM_F_SAT;
                    FOR_LANES({
                        float x = f32(a[l]), y = f32(b[l]), z = f32(c[l]), r;
                        if (ftz) { x = ftz32(x); y = ftz32(y); z = ftz32(z); }
                        r = fmaf(x, y, z);
                        if (ftz) r = ftz32(r);
                        if (sat) r = r != r ? 0 : r < 0 ? 0 : r > 1 ? 1 : r;
                        d[l] = canon32(r);
                    });
                    fesetround(old);
                }
            } else if (t == SIM_T_F64) {
                int old = set_round(in->rnd);
                FOR_LANES(d[l] = uf64(fma(f64(a[l]), f64(b[l]), f64(c[l]))));
                fesetround(old);
            } else {
                goto illegal;
            }
            break;
        case OP_RCP: case OP_SQRT: case OP_RSQRT: case OP_EX2: case OP_LG2:
        case OP_SIN: case OP_COS: case OP_TANH: {
            int op = in->op;
            if (t == SIM_T_F32) {
                bool ftz = in->flags & SIM_F_FTZ;
                int old = set_round(in->rnd);
                FOR_LANES({
                    float x = f32(a[l]), r;
                    if (ftz) x = ftz32(x);
                    switch (op) {
                    case OP_RCP: r = 1.0f / x; break;
                    case OP_SQRT: r = sqrtf(x); break;
                    case OP_RSQRT: r = 1.0f / sqrtf(x); break;
                    case OP_EX2: r = exp2f(x); break;
                    case OP_LG2: r = log2f(x); break;
                    case OP_SIN: r = sinf(x); break;
                    case OP_COS: r = cosf(x); break;
                    default: r = tanhf(x); break;
                    }
                    if (ftz) r = ftz32(r);
                    d[l] = canon32(r);
                });
                fesetround(old);
            } else if (t == SIM_T_F64) {
                int old = set_round(in->rnd);
                FOR_LANES({
                    double x = f64(a[l]), r;
                    switch (op) {
                    case OP_RCP: r = 1.0 / x; break;
                    case OP_SQRT: r = sqrt(x); break;
                    case OP_RSQRT: r = 1.0 / sqrt(x); break;
                    case OP_EX2: r = exp2(x); break;
                    case OP_LG2: r = log2(x); break;
                    case OP_SIN: r = sin(x); break;
                    case OP_COS: r = cos(x); break;
                    default: r = tanh(x); break;
                    }
                    d[l] = uf64(r);
                });
                fesetround(old);
            } else {
                goto illegal;
            }
            break;
        }
        case OP_COPYSIGN:
            if (t == SIM_T_F32) {
                FOR_LANES(d[l] = uf32(copysignf(f32(b[l]), f32(a[l]))));
            } else {
                FOR_LANES(d[l] = uf64(copysign(f64(b[l]), f64(a[l]))));
            }
            break;
        case OP_TESTP:
            FOR_LANES({
                double x = t == SIM_T_F32 ? f32(a[l]) : f64(a[l]);
                int cls = t == SIM_T_F32 ? fpclassify(f32(a[l])) : fpclassify(x);
                bool r;
                switch (in->mod) {
                case 1: r = isfinite(x); break;
                case 2: r = isinf(x); break;
                case 3: r = x == x; break;
                case 4: r = x != x; break;
                case 5: r = cls == FP_NORMAL; break;
                default: r = cls == FP_SUBNORMAL; break;
                }
                d[l] = r;
            });
            break;
        case OP_ISSPACEP:
            FOR_LANES({
                uint64_t x = a[l];
                bool r;
                switch (in->space) {
                case SIM_SP_SHARED: r = x >= SIM_WIN_SHARED && x < SIM_WIN_SHARED + SIM_WIN_SIZE; break;
                case SIM_SP_LOCAL: r = x >= SIM_WIN_LOCAL && x < SIM_WIN_LOCAL + SIM_WIN_SIZE; break;
                case SIM_SP_PARAM: r = x >= SIM_WIN_PARAM && x < SIM_WIN_PARAM + SIM_WIN_SIZE; break;
                default: r = x < SIM_WIN_SHARED; break;
                }
                d[l] = r;
            });
            break;
        case OP_FNS:
            FOR_LANES({
                uint32_t m = (uint32_t)a[l], base = (uint32_t)b[l] & 31;
                int32_t off = (int32_t)c[l];
                uint32_t r = 0xffffffffu;
                if (off == 0) {
                    r = 0xffffffffu;
                } else if (off > 0) {
                    int cnt = 0;
                    for (uint32_t i = base; i < 32; i++) {
                        if ((m >> i) & 1 && ++cnt == off) { r = i; break; }
                    }
                } else {
                    int cnt = 0;
                    for (int i = (int)base; i >= 0; i--) {
                        if ((m >> i) & 1 && --cnt == off) { r = (uint32_t)i; break; }
                    }
                }
                d[l] = r;
            });
            break;
        case OP_SHFL: {
            const uint64_t *bb = REG(in->o[2]), *cc = REG(in->o[3]);
            uint64_t *pd = in->o[5] != NOREG ? REG(in->o[5]) : NULL;
            uint64_t src[32], res[32], ok[32];
            memcpy(src, a, sizeof(src));
            FOR_LANES({
                uint32_t bv = (uint32_t)bb[l] & 31, cv = (uint32_t)cc[l];
                uint32_t clamp = cv & 31, segmask = (cv >> 8) & 31;
                uint32_t maxl = ((uint32_t)l & segmask) | (clamp & ~segmask);
                uint32_t minl = (uint32_t)l & segmask;
                uint32_t j;
                bool v;
                switch (in->mod) {
                case SIM_SHFL_UP: j = (uint32_t)l - bv; v = (int32_t)j >= (int32_t)maxl; break;
                case SIM_SHFL_DOWN: j = (uint32_t)l + bv; v = j <= maxl; break;
                case SIM_SHFL_BFLY: j = (uint32_t)l ^ bv; v = j <= maxl; break;
                default: j = minl | (bv & ~segmask); v = j <= maxl; break;
                }
                if (in->mod == SIM_SHFL_UP) {
                    v = (int32_t)((uint32_t)l - bv) >= (int32_t)maxl;
                    j = (uint32_t)l - bv;
                }
                if (!v || j > 31 || !((mask >> j) & 1)) {
                    j = (uint32_t)l;
                    v = false;
                }
                res[l] = (uint32_t)src[j];
                ok[l] = v;
            });
            FOR_LANES(d[l] = res[l]);
            if (pd) {
                FOR_LANES(pd[l] = ok[l]);
            }
            break;
        }
        case OP_VOTE: {
            uint32_t ballot = 0;
            bool neg = in->flags & SIM_F_NEGC;
            FOR_LANES(ballot |= (uint32_t)(((a[l] & 1) ^ neg) & 1) << l);
            switch (in->mod) {
            case SIM_VOTE_BALLOT: FOR_LANES(d[l] = ballot); break;
            case SIM_VOTE_ALL: FOR_LANES(d[l] = ballot == mask); break;
            case SIM_VOTE_ANY: FOR_LANES(d[l] = ballot != 0); break;
            default: FOR_LANES(d[l] = ballot == 0 || ballot == mask); break;
            }
            break;
        }
        case OP_MATCH: {
            uint64_t vals[32];
            uint64_t *pd = in->o[5] != NOREG ? REG(in->o[5]) : NULL;
            FOR_LANES(vals[l] = zext(a[l], sz));
            if (in->mod == 1) {
                FOR_LANES({
                    uint32_t r = 0;
                    for (uint32_t m2 = mask; m2; m2 &= m2 - 1) {
                        int j = __builtin_ctz(m2);
                        if (vals[j] == vals[l]) r |= 1u << j;
                    }
                    d[l] = r;
                });
            } else {
                bool all = true;
                uint64_t v0 = vals[__builtin_ctz(mask)];
                FOR_LANES(all = all && vals[l] == v0);
                FOR_LANES(d[l] = all ? mask : 0);
                if (pd) FOR_LANES(pd[l] = all);
            }
            break;
        }
        case OP_REDUX: {
            uint64_t acc = 0;
            bool first = true;
            bool sg = tsigned(t);
            FOR_LANES({
                uint64_t v = (uint32_t)a[l];
                if (first) { acc = v; first = false; continue; }
                switch (in->mod) {
                case SIM_ATOM_ADD: acc = (uint32_t)(acc + v); break;
                case SIM_ATOM_AND: acc &= v; break;
                case SIM_ATOM_OR: acc |= v; break;
                case SIM_ATOM_XOR: acc ^= v; break;
                case SIM_ATOM_MIN: acc = sg ? ((int32_t)v < (int32_t)acc ? v : acc) : (v < acc ? v : acc); break;
                case SIM_ATOM_MAX: acc = sg ? ((int32_t)v > (int32_t)acc ? v : acc) : (v > acc ? v : acc); break;
                }
            });
            FOR_LANES(d[l] = acc);
            break;
        }
        case OP_ACTIVEMASK:
            FOR_LANES(d[l] = act);
            break;
        case OP_NANOSLEEP:
            break;
        case OP_BARWARP:
            break;
        case OP_BAR: {
            uint32_t id = (uint32_t)a[__builtin_ctz(mask)];
            uint32_t cnt = b ? (uint32_t)b[__builtin_ctz(mask)] : 0;
            if (id >= 16) {
                fault(wk, VGPU_S_ILLEGAL_INSTRUCTION, "barrier id %u out of range (ptx line %u)",
                      id, in->line);
                goto fault_out;
            }
            wk->bar_arrived[id] += (uint32_t)__builtin_popcount(mask);
            if (cnt) {
                wk->bar_expected[id] = cnt;
            }
            if (in->mod2) {
                uint32_t pm = 0;
                bool neg = in->flags & SIM_F_NEGC;
                FOR_LANES(pm |= (uint32_t)(((c[l] & 1) ^ neg) & 1) << l);
                wk->red_popc[id] += (uint32_t)__builtin_popcount(pm);
                if (pm != mask) {
                    wk->red_and[id] = false;
                }
                if (pm) {
                    wk->red_or[id] = true;
                }
                w->red_reg[id] = fr->rbase + in->o[0];
                w->red_kind[id] = in->mod2;
            }
            if (in->flags & SIM_F_ARRIVE) {
                break;
            }
            /* The lanes wait; the others of the warp (if any) go on. */
            w->blocked |= mask;
            w->barmask[id] |= mask;
            save_pcs(fr, act, pc + 1);
            goto reload_after;
        }
        case OP_BRA: {
            if (mask == act) {
                pc = in->target;
            } else if (!mask) {
                pc++;
            } else {
                save_pcs(fr, mask, in->target);
                save_pcs(fr, act & ~mask, pc + 1);
                goto reload_after;
            }
            if (pc >= wmin) {
                save_pcs(fr, act, pc);
                goto reload_after;
            }
            goto check;
        }
        case OP_CALL: {
            const SimCall *cl = &L->prog->calls[in->target];
            const SimFunc *callee;
            uint32_t rbase = fr->rbase + fr->fn->nregs;
            uint32_t lbase = (fr->lbase + fr->fn->frame_bytes + 15) & ~15u;
            uint32_t ci = pc;
            Frame *cf;

            if (cl->func < 0) {
                /*
                 * Indirect call: the lanes aiming at the first lane's
                 * target go now; lanes with another target stay at the call
                 * and go in a later round.
                 */
                uint64_t tv = d[__builtin_ctz(mask)];
                uint64_t idx = (tv - SIM_FUNC_BASE) / SIM_FUNC_STRIDE;
                uint32_t same = 0;

                if (tv < SIM_FUNC_BASE || (tv - SIM_FUNC_BASE) % SIM_FUNC_STRIDE ||
                    idx >= L->prog->nfuncs || !L->prog->funcs[idx].defined ||
                    L->prog->funcs[idx].is_entry ||
                    L->prog->funcs[idx].nparams != cl->nargs) {
                    fault(wk, VGPU_S_ILLEGAL_ADDRESS,
                          "indirect call to bad address 0x%llx (ptx line %u)",
                          (unsigned long long)tv, in->line);
                    goto fault_out;
                }
                FOR_LANES(same |= (uint32_t)(d[l] == tv) << l);
                callee = &L->prog->funcs[idx];
                save_pcs(fr, act & ~mask, pc + 1);
                save_pcs(fr, mask & ~same, pc);
                save_pcs(fr, same, pc + 1);
                mask = same;
            } else {
                callee = &L->prog->funcs[cl->func];
                save_pcs(fr, act, pc + 1);
            }
            cf = push_frame(wk, w, callee, mask, rbase, lbase);
            if (!cf) {
                fault(wk, VGPU_S_ILLEGAL_ADDRESS,
                      "call stack overflow calling %s (ptx line %u)", callee->name, in->line);
                goto fault_out;
            }
            fr = &w->frames[w->nframes - 2];
            cf->call_insn = ci;
            for (uint32_t m = mask; m; m &= m - 1) {
                int l = __builtin_ctz(m);
                uint8_t *base = wk->local + (size_t)(w->id * 32 + l) * SIM_LOCAL_PER_LANE;
                for (uint32_t i = 0; i < cl->nargs; i++) {
                    uint32_t n = cl->arg_size[i] < callee->params[i].size ?
                                 cl->arg_size[i] : callee->params[i].size;
                    memcpy(base + lbase + callee->params[i].offset,
                           base + fr->lbase + cl->arg_off[i], n);
                }
            }
            goto reload_after;
        }
        case OP_RET:
            if (w->nframes > 1) {
                fr->live &= ~mask;
                fr->retmask |= mask;
                if (mask != act) {
                    save_pcs(fr, act & ~mask, pc + 1);
                }
                goto reload_after;
            }
            /* ret from the entry ends the threads */
            __attribute__((fallthrough));
        case OP_EXIT:
            w->exited |= mask;
            for (uint32_t i = 0; i < w->nframes; i++) {
                w->frames[i].live &= ~mask;
            }
            wk->live_threads -= (uint32_t)__builtin_popcount(mask);
            if (mask != act) {
                save_pcs(fr, act & ~mask, pc + 1);
            }
            goto reload_after;
        case OP_TRAP:
            fault(wk, VGPU_S_LAUNCH_FAILED, "trap instruction at ptx line %u", in->line);
            goto fault_out;
        case OP_VPRINTF:
            if (!do_vprintf(wk, w, fr, in, mask)) {
                if (!atomic_load(&L->status)) {
                    fault(wk, VGPU_S_ILLEGAL_ADDRESS, "bad printf arguments (ptx line %u)", in->line);
                }
                goto fault_out;
            }
            break;
        case OP_ASSERTFAIL:
            do_assert(wk, w, fr, in, mask);
            goto fault_out;
        default:
            goto illegal;
        }
        pc++;
        if (pc >= wmin) {
            save_pcs(fr, act, pc);
            goto reload_after;
        }
check:
        if (++steps >= SLICE) {
            save_pcs(fr, act, pc);
            rc = RUN_YIELD;
            goto out;
        }
        continue;
next:
        pc++;
        if (pc >= wmin) {
            save_pcs(fr, act, pc);
            goto reload_after;
        }
        goto check;
reload_after:
        if (++steps >= SLICE) {
            /* The state is all saved; resume from pick() next time. */
            if (w->nframes && !(w->frames[w->nframes - 1].live & ~w->blocked) &&
                (w->frames[w->nframes - 1].live & w->blocked)) {
                rc = RUN_BLOCKED;
            } else {
                rc = RUN_YIELD;
            }
            /* Finishing frames is handled on the next entry. */
            if (w->nframes == 1 && !w->frames[0].live) {
                w->done = true;
                rc = RUN_DONE;
            }
            goto out;
        }
        goto reload;
    }
illegal:
    fault(wk, VGPU_S_ILLEGAL_INSTRUCTION, "instruction at ptx line %u not supported with type %d",
          code[pc].line, code[pc].type);
fault_out:
    rc = RUN_FAULT;
out:
    wk->insns += insns;
    return rc;
}

/* ---- blocks and workers ------------------------------------------------ */

static int run_block(Worker *wk, uint64_t bidx)
{
    Launch *L = wk->L;
    SimLaunch *sl = L->l;
    uint32_t bx = sl->block[0], by = sl->block[1];
    uint32_t nthreads = L->nthreads;

    wk->ctaid[0] = (uint32_t)(bidx % sl->grid[0]);
    wk->ctaid[1] = (uint32_t)((bidx / sl->grid[0]) % sl->grid[1]);
    wk->ctaid[2] = (uint32_t)(bidx / ((uint64_t)sl->grid[0] * sl->grid[1]));
    wk->nwarps = (nthreads + 31) / 32;
    wk->live_threads = nthreads;
    memset(wk->bar_arrived, 0, sizeof(wk->bar_arrived));
    memset(wk->bar_expected, 0, sizeof(wk->bar_expected));
    memset(wk->red_popc, 0, sizeof(wk->red_popc));
    memset(wk->red_or, 0, sizeof(wk->red_or));
    memset(wk->red_and, 1, sizeof(wk->red_and));
    for (uint32_t i = 0; i < wk->nwarps; i++) {
        Warp *w = &wk->warps[i];
        uint32_t n = nthreads - i * 32 < 32 ? nthreads - i * 32 : 32;

        /*
         * Shared and local memory are fresh (zeroed) for each launch, so
         * what a block sees from its predecessor is its own kernel's data,
         * as on a GPU; nothing of another launch or context is visible.
         */
        w->id = i;
        w->exists = n == 32 ? 0xffffffffu : (1u << n) - 1;
        w->exited = ~w->exists;
        w->blocked = 0;
        memset(w->barmask, 0, sizeof(w->barmask));
        memset(w->red_kind, 0, sizeof(w->red_kind));
        w->done = false;
        w->nframes = 0;
        for (uint32_t l = 0; l < 32; l++) {
            uint32_t t = i * 32 + l;
            w->tid[0][l] = t % bx;
            w->tid[1][l] = (t / bx) % by;
            w->tid[2][l] = t / (bx * by);
        }
        if (!push_frame(wk, w, L->entry, w->exists, 0, 0)) {
            fault(wk, VGPU_S_LAUNCH_OUT_OF_RESOURCES, "kernel too large");
            return -1;
        }
    }
    for (;;) {
        bool progress = false, any_blocked = false, all_done = true;

        for (uint32_t i = 0; i < wk->nwarps; i++) {
            Warp *w = &wk->warps[i];

            if (w->done) {
                continue;
            }
            if (w->blocked && !(w->frames[w->nframes - 1].live & ~w->blocked)) {
                any_blocked = true;
                all_done = false;
                continue;
            }
            all_done = false;
            int rc = run_warp(wk, w);
            if (rc == RUN_FAULT) {
                return -1;
            }
            progress = true;
            if (wk->insns >= FLUSH_INSNS) {
                uint64_t tot = atomic_fetch_add(&L->insns, wk->insns) + wk->insns;
                wk->total += wk->insns;
                wk->insns = 0;
                if (L->budget && tot > L->budget) {
                    fault(wk, VGPU_S_LAUNCH_TIMEOUT,
                          "launch exceeded its budget of %llu thread-instructions",
                          (unsigned long long)L->budget);
                    return -1;
                }
                if (L->deadline && sim_now_ns() > L->deadline) {
                    fault(wk, VGPU_S_LAUNCH_TIMEOUT, "launch exceeded its time limit");
                    return -1;
                }
                if (atomic_load(&L->status)) {
                    return -1;
                }
                if (L->l->tick && L->l->tick(L->l->tick_opaque)) {
                    fault(wk, VGPU_S_LAUNCH_FAILED,
                          "launch abandoned: its context is being destroyed");
                    return -1;
                }
            }
        }
        if (all_done) {
            return 0;
        }
        if (progress) {
            continue;
        }
        if (!any_blocked) {
            continue;
        }
        /* Every live warp waits at a barrier: release what is complete. */
        bool released = false;
        for (int id = 0; id < 16; id++) {
            uint32_t need = wk->bar_expected[id] ? wk->bar_expected[id] : wk->live_threads;
            uint32_t waiting = 0;

            for (uint32_t i = 0; i < wk->nwarps; i++) {
                waiting += (uint32_t)__builtin_popcount(wk->warps[i].barmask[id]);
            }
            if (!waiting) {
                continue;
            }
            if (wk->bar_arrived[id] >= need || waiting >= wk->live_threads) {
                for (uint32_t i = 0; i < wk->nwarps; i++) {
                    Warp *w = &wk->warps[i];
                    if (w->red_kind[id] && w->barmask[id]) {
                        uint64_t *dr = w->regs + (size_t)w->red_reg[id] * 32;
                        uint64_t v = w->red_kind[id] == 1 ? wk->red_popc[id] :
                                     w->red_kind[id] == 2 ? wk->red_and[id] : wk->red_or[id];
                        for (uint32_t m = w->barmask[id]; m; m &= m - 1) {
                            dr[__builtin_ctz(m)] = v;
                        }
                    }
                    w->red_kind[id] = 0;
                    w->blocked &= ~w->barmask[id];
                    w->barmask[id] = 0;
                }
                wk->red_popc[id] = 0;
                wk->red_and[id] = true;
                wk->red_or[id] = false;
                wk->bar_arrived[id] = 0;
                wk->bar_expected[id] = 0;
                released = true;
            }
        }
        if (!released) {
            fault(wk, VGPU_S_LAUNCH_FAILED,
                  "barrier deadlock in block (%u,%u,%u): threads wait at barriers that "
                  "can never complete", wk->ctaid[0], wk->ctaid[1], wk->ctaid[2]);
            return -1;
        }
    }
}

static void worker_run(Worker *wk)
{
    Launch *L = wk->L;
    bool ran = false;

    for (;;) {
        if (atomic_load(&L->status)) {
            break;
        }
        uint64_t b = atomic_fetch_add(&L->next_block, 1);
        if (b >= L->nblocks) {
            break;
        }
        ran = true;
        if (run_block(wk, b) < 0) {
            break;
        }
    }
    atomic_fetch_add(&L->insns, wk->insns);
    wk->total += wk->insns;
    wk->insns = 0;
    /* A kernel that may write local memory leaves it to be wiped first. */
    if (ran && !L->l->no_local_writes) {
        wk->local_dirty = true;
    }
}

static void worker_free(Worker *wk)
{
    for (int i = 0; i < 32; i++) {
        free(wk->warps[i].frames);
        free(wk->warps[i].regs);
    }
    free(wk->shared);
    if (wk->local) {
        munmap(wk->local, (size_t)32 * 32 * SIM_LOCAL_PER_LANE);
    }
    free(wk);
}

/*
 * Prepares a persistent worker for launch @L: the scratch it keeps between
 * launches (registers, frames, the local stack mapping, the shared buffer)
 * is reused, and what a kernel can observe of it is reset, so shared and
 * local memory still start zeroed for every launch.
 */
static bool worker_begin(Worker *wk, Launch *L, int index)
{
    wk->L = L;
    wk->index = index;
    wk->insns = 0;
    wk->total = 0;
    wk->cb = 0;
    wk->cs = 0;
    wk->ch = NULL;
    if (L->shared_total > wk->shared_cap || !wk->shared) {
        size_t cap = L->shared_total > 4096 ? L->shared_total : 4096;
        uint8_t *n = realloc(wk->shared, cap);

        if (!n) {
            return false;
        }
        wk->shared = n;
        wk->shared_cap = cap;
    }
    memset(wk->shared, 0, L->shared_total);
    if (!wk->local) {
        wk->local = mmap(NULL, (size_t)32 * 32 * SIM_LOCAL_PER_LANE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (wk->local == MAP_FAILED) {
            wk->local = NULL;
            return false;
        }
        wk->local_dirty = false;
    } else if (wk->local_dirty) {
        /* Drops the touched pages: they read back as zeroes. */
        madvise(wk->local, (size_t)32 * 32 * SIM_LOCAL_PER_LANE, MADV_DONTNEED);
        wk->local_dirty = false;
    }
    return true;
}

static Worker *worker_new(void)
{
    return calloc(1, sizeof(Worker));
}

/* ---- the worker pool ---------------------------------------------------- */

/*
 * Helper threads created once per executor.  A launch with more than a few
 * warps of work posts itself as the pool's job; helpers take blocks from it
 * beside the launching (engine) thread.  One job at a time: a launch that
 * finds the pool busy runs on its own thread alone, which is correct and,
 * since the compute engine runs one context at a time, rare.
 */
typedef struct PoolThread {
    SimPool *pool;
    Worker *wk;
    int index;
    pthread_t thr;
} PoolThread;

struct SimPool {
    pthread_mutex_t lock;
    pthread_cond_t work;        /* a job was posted / stop */
    pthread_cond_t idle;        /* the last helper left the job */
    Launch *job;
    uint64_t gen;               /* bumped for every job posted */
    unsigned active;            /* helpers inside the current job */
    bool stop;
    unsigned n;
    PoolThread *t;
};

static void *pool_main(void *arg)
{
    PoolThread *pt = arg;
    SimPool *p = pt->pool;
    uint64_t seen = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && (!p->job || p->gen == seen)) {
            pthread_cond_wait(&p->work, &p->lock);
        }
        if (p->stop) {
            break;
        }
        Launch *L = p->job;
        seen = p->gen;
        p->active++;
        pthread_mutex_unlock(&p->lock);
        if (worker_begin(pt->wk, L, pt->index)) {
            worker_run(pt->wk);
        }
        pthread_mutex_lock(&p->lock);
        if (--p->active == 0) {
            pthread_cond_broadcast(&p->idle);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

SimPool *sim_pool_create(unsigned helpers)
{
    SimPool *p = calloc(1, sizeof(*p));

    if (!p) {
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    if (helpers > 255) {
        helpers = 255;
    }
    p->t = calloc(helpers ? helpers : 1, sizeof(*p->t));
    if (!p->t) {
        sim_pool_destroy(p);
        return NULL;
    }
    for (unsigned i = 0; i < helpers; i++) {
        PoolThread *pt = &p->t[p->n];

        pt->pool = p;
        pt->index = (int)i + 1;
        pt->wk = worker_new();
        if (!pt->wk) {
            break;
        }
        if (pthread_create(&pt->thr, NULL, pool_main, pt)) {
            free(pt->wk);
            pt->wk = NULL;
            break;
        }
        p->n++;
    }
    return p;
}

void sim_pool_destroy(SimPool *p)
{
    if (!p) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++) {
        pthread_join(p->t[i].thr, NULL);
        worker_free(p->t[i].wk);
    }
    free(p->t);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    free(p);
}

SimScratch *sim_scratch_new(void)
{
    return (SimScratch *)worker_new();
}

void sim_scratch_free(SimScratch *s)
{
    if (s) {
        worker_free((Worker *)s);
    }
}

bool sim_program_may_write_local(const SimProgram *p)
{
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        const SimFunc *fn = &p->funcs[f];

        if (fn->frame_bytes) {
            return true;
        }
        for (uint32_t i = 0; i < fn->ncode; i++) {
            const SimInsn *in = &fn->code[i];

            switch (in->op) {
            case OP_ST:
            case OP_ATOM:
            case OP_RED:
                if (in->space != SIM_SP_GLOBAL && in->space != SIM_SP_SHARED &&
                    in->space != SIM_SP_CONST) {
                    return true;
                }
                break;
            case OP_CALL:
            case OP_VPRINTF:
                return true;
            default:
                break;
            }
        }
    }
    return false;
}

static pthread_once_t fma_once = PTHREAD_ONCE_INIT;

/* Launches with at most this many threads in all never wake the pool. */
#define SMALL_LAUNCH_THREADS 128

int sim_launch_run(SimLaunch *sl)
{
    Launch L;
    int status;
    Worker *own = (Worker *)sl->scratch;
    bool own_temp = false, posted = false;

    pthread_once(&fma_once, pick_fma);
    memset(&L, 0, sizeof(L));
    L.l = sl;
    L.prog = sl->prog;
    L.entry = sl->func;
    L.nthreads = sl->block[0] * sl->block[1] * sl->block[2];
    L.nblocks = (uint64_t)sl->grid[0] * sl->grid[1] * sl->grid[2];
    L.dyn_base = (sl->func->shared_bytes + 15) & ~15u;
    L.shared_total = L.dyn_base + sl->dyn_shared;
    L.budget = sl->insn_budget;
    L.deadline = sl->watchdog_ns ? sim_now_ns() + sl->watchdog_ns : 0;
    sl->errmsg[0] = 0;
    sl->insns = 0;
    if (L.nthreads == 0 || L.nthreads > 1024 || L.nblocks == 0) {
        snprintf(sl->errmsg, sizeof(sl->errmsg), "bad launch dimensions");
        return VGPU_S_INVALID_VALUE;
    }
    if ((uint64_t)sl->func->nregs * 8 * ((L.nthreads + 31) & ~31u) > MAX_BLOCK_REG_BYTES ||
        sl->func->nregs > MAX_WARP_REGS) {
        snprintf(sl->errmsg, sizeof(sl->errmsg), "too many registers for this block size");
        return VGPU_S_LAUNCH_OUT_OF_RESOURCES;
    }
    if (sl->param_bytes < sl->func->param_bytes) {
        snprintf(sl->errmsg, sizeof(sl->errmsg), "parameter buffer too small");
        return VGPU_S_INVALID_VALUE;
    }
    if (!own) {
        own = worker_new();
        own_temp = true;
    }
    if (!own || !worker_begin(own, &L, 0)) {
        if (own_temp) {
            sim_scratch_free((SimScratch *)own);
        }
        return VGPU_S_OUT_OF_MEMORY;
    }
    pthread_mutex_init(&L.msg_lock, NULL);
    pthread_mutex_init(&L.print_lock, NULL);
    /*
     * Small launches (one block, or a few warps in all) run here alone:
     * waking helpers costs more than their share of the work.
     */
    SimPool *p = sl->pool, *temp_pool = NULL;
    if (!p && sl->threads > 1 && L.nblocks > 1) {
        /* Callers without a pool (tools, benchmarks) get one for this launch. */
        unsigned h = sl->threads - 1;
        p = temp_pool = sim_pool_create(h < L.nblocks ? h : (unsigned)L.nblocks - 1);
    }
    if (p && p->n && L.nblocks > 1 && L.nblocks * L.nthreads > SMALL_LAUNCH_THREADS) {
        pthread_mutex_lock(&p->lock);
        if (!p->job && !p->active) {
            p->job = &L;
            p->gen++;
            posted = true;
            uint64_t want = L.nblocks - 1;
            if (want >= p->n) {
                pthread_cond_broadcast(&p->work);
            } else {
                for (uint64_t i = 0; i < want; i++) {
                    pthread_cond_signal(&p->work);
                }
            }
        }
        pthread_mutex_unlock(&p->lock);
    }
    worker_run(own);
    if (posted) {
        pthread_mutex_lock(&p->lock);
        p->job = NULL;      /* late helpers must not join a finished launch */
        while (p->active) {
            pthread_cond_wait(&p->idle, &p->lock);
        }
        pthread_mutex_unlock(&p->lock);
    }
    own->L = NULL;
    sim_pool_destroy(temp_pool);
    if (own_temp) {
        sim_scratch_free((SimScratch *)own);
    }
    status = atomic_load(&L.status);
    sl->insns = atomic_load(&L.insns);
    pthread_mutex_destroy(&L.msg_lock);
    pthread_mutex_destroy(&L.print_lock);
    return status;
}
