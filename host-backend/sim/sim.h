/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim.h - internal interface of the sim executor: the decoded form of a PTX
 * module, the parser, the warp interpreter and the test hooks.
 *
 * A module is decoded once (ptx.c) into functions whose instructions name
 * registers by index into a per-frame register file; immediates become
 * constant registers filled when a frame is entered, so every operand of
 * the interpreter's inner loops is a register.  Addresses of module
 * variables are patched in after the module's globals are placed.
 */
#ifndef VGPU_SIM_H
#define VGPU_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec.h"

/* Generic address windows (global allocations live below SIM_WIN_SHARED). */
#define SIM_GLOBAL_BASE   0x00007f0000000000ull
#define SIM_GLOBAL_END    0x0000800000000000ull
#define SIM_WIN_SHARED    0x0001000000000000ull
#define SIM_WIN_LOCAL     0x0002000000000000ull
#define SIM_WIN_PARAM     0x0003000000000000ull
#define SIM_WIN_SIZE      0x0000000100000000ull
/* Function addresses (function pointers): base + index * stride. */
#define SIM_FUNC_BASE     0x0004000000000000ull
#define SIM_FUNC_STRIDE   16

#define SIM_LOCAL_PER_LANE  (64u * 1024)  /* bytes of stack per thread */
#define SIM_MAX_FRAMES      512           /* call depth per warp */
#define SIM_MAX_REGS        65536         /* registers per function */

/* Types: low 4 bits log2(size in bytes) except pred; high bits the class. */
enum {
    SIM_T_NONE = 0,
    SIM_T_B8, SIM_T_B16, SIM_T_B32, SIM_T_B64, SIM_T_B128,
    SIM_T_U8, SIM_T_U16, SIM_T_U32, SIM_T_U64,
    SIM_T_S8, SIM_T_S16, SIM_T_S32, SIM_T_S64,
    SIM_T_F16, SIM_T_F16X2, SIM_T_BF16, SIM_T_F32, SIM_T_F64,
    SIM_T_PRED,
};

enum {
    SIM_SP_NONE = 0, SIM_SP_GLOBAL, SIM_SP_SHARED, SIM_SP_LOCAL,
    SIM_SP_CONST, SIM_SP_PARAM, SIM_SP_GENERIC,
};

/* Opcodes. */
enum {
    OP_NOP = 0, OP_MOV, OP_LADDR, OP_SREG, OP_ADD, OP_SUB, OP_MUL, OP_MAD,
    OP_MUL24, OP_MAD24, OP_SAD,
    OP_DIV, OP_REM, OP_ABS, OP_NEG, OP_MIN, OP_MAX, OP_AND, OP_OR, OP_XOR,
    OP_NOT, OP_CNOT, OP_SHL, OP_SHR, OP_SETP, OP_SET, OP_SELP, OP_SLCT,
    OP_CVT, OP_CVTA, OP_LD, OP_ST, OP_ATOM, OP_RED, OP_BAR, OP_MEMBAR,
    OP_BRA, OP_CALL, OP_RET, OP_EXIT, OP_TRAP, OP_SHFL, OP_VOTE, OP_MATCH,
    OP_REDUX, OP_ACTIVEMASK, OP_POPC, OP_CLZ, OP_BREV, OP_BFE, OP_BFI,
    OP_PRMT, OP_FMA, OP_RCP, OP_SQRT, OP_RSQRT, OP_EX2, OP_LG2, OP_SIN,
    OP_COS, OP_TANH, OP_COPYSIGN, OP_TESTP, OP_LOP3, OP_SHF, OP_FNS,
    OP_DP4A, OP_DP2A, OP_ISSPACEP, OP_NANOSLEEP, OP_ADDC, OP_SUBC,
    OP_MOVPACK, OP_MOVUNPACK, OP_BFIND, OP_VPRINTF, OP_ASSERTFAIL,
    OP_BARWARP, OP_PREFETCH, OP_MADC,
    OP_COUNT
};

/* Modifier flags (SimInsn.flags). */
#define SIM_F_SAT     0x0001
#define SIM_F_FTZ     0x0002
#define SIM_F_APPROX  0x0004
#define SIM_F_HI      0x0008
#define SIM_F_LO      0x0010
#define SIM_F_WIDE    0x0020
#define SIM_F_CC      0x0040   /* writes the carry flag */
#define SIM_F_FRAME   0x0080   /* address is relative to the local frame */
#define SIM_F_TO      0x0100   /* cvta.to */
#define SIM_F_NEGC    0x0200   /* setp: negate the combining predicate */
#define SIM_F_ARRIVE  0x0400   /* bar.arrive */
#define SIM_F_REDPOPC 0x0800   /* bar.red.popc */
#define SIM_F_CLAMP   0x1000   /* shf.clamp */
#define SIM_F_SHFR    0x2000   /* shf.r */
#define SIM_F_SHIFTAMT 0x4000  /* bfind.shiftamt */
#define SIM_F_RELAXED 0x8000   /* fence kinds etc.: ignored */

/* Rounding modes (SimInsn.rnd). */
enum { SIM_RND_NONE = 0, SIM_RND_RN, SIM_RND_RZ, SIM_RND_RM, SIM_RND_RP,
       SIM_RND_RNI, SIM_RND_RZI, SIM_RND_RMI, SIM_RND_RPI };

/* Comparison ops (SimInsn.mod for setp/set/slct). */
enum { SIM_CMP_EQ = 1, SIM_CMP_NE, SIM_CMP_LT, SIM_CMP_LE, SIM_CMP_GT,
       SIM_CMP_GE, SIM_CMP_LO, SIM_CMP_LS, SIM_CMP_HI, SIM_CMP_HS,
       SIM_CMP_EQU, SIM_CMP_NEU, SIM_CMP_LTU, SIM_CMP_LEU, SIM_CMP_GTU,
       SIM_CMP_GEU, SIM_CMP_NUM, SIM_CMP_NAN };

/* Boolean combining ops for setp (SimInsn.mod2). */
enum { SIM_BOOL_NONE = 0, SIM_BOOL_AND, SIM_BOOL_OR, SIM_BOOL_XOR };

/* Atomic ops (SimInsn.mod). */
enum { SIM_ATOM_ADD = 1, SIM_ATOM_MIN, SIM_ATOM_MAX, SIM_ATOM_INC,
       SIM_ATOM_DEC, SIM_ATOM_AND, SIM_ATOM_OR, SIM_ATOM_XOR, SIM_ATOM_EXCH,
       SIM_ATOM_CAS };

/* shfl modes, vote modes, special registers. */
enum { SIM_SHFL_UP = 1, SIM_SHFL_DOWN, SIM_SHFL_BFLY, SIM_SHFL_IDX };
enum { SIM_VOTE_ALL = 1, SIM_VOTE_ANY, SIM_VOTE_UNI, SIM_VOTE_BALLOT };
enum {
    SIM_SR_TID_X = 1, SIM_SR_TID_Y, SIM_SR_TID_Z, SIM_SR_NTID_X,
    SIM_SR_NTID_Y, SIM_SR_NTID_Z, SIM_SR_CTAID_X, SIM_SR_CTAID_Y,
    SIM_SR_CTAID_Z, SIM_SR_NCTAID_X, SIM_SR_NCTAID_Y, SIM_SR_NCTAID_Z,
    SIM_SR_LANEID, SIM_SR_WARPID, SIM_SR_NWARPID, SIM_SR_SMID,
    SIM_SR_NSMID, SIM_SR_GRIDID, SIM_SR_CLOCK, SIM_SR_CLOCK_HI,
    SIM_SR_CLOCK64, SIM_SR_GLOBALTIMER, SIM_SR_GLOBALTIMER_LO,
    SIM_SR_GLOBALTIMER_HI, SIM_SR_LANEMASK_EQ, SIM_SR_LANEMASK_LT,
    SIM_SR_LANEMASK_LE, SIM_SR_LANEMASK_GT, SIM_SR_LANEMASK_GE,
    SIM_SR_DYNSMEM, SIM_SR_TOTALSMEM, SIM_SR_DYNSMEM_BASE, SIM_SR_ZERO,
    SIM_SR_ENVREG,
};

typedef struct SimInsn {
    uint16_t op;
    uint8_t type;       /* instruction type (destination for cvt) */
    uint8_t type2;      /* source type (cvt, mul.wide input, set) */
    uint8_t mod;        /* cmp op, atom op, shfl/vote mode, sreg id */
    uint8_t mod2;       /* bool op; cas; bar id kind */
    uint8_t rnd;
    uint8_t space;
    uint8_t vec;        /* 1, 2, 4 (ld/st), number of regs in o[] */
    uint8_t pneg;
    uint16_t flags;
    int32_t pred;       /* guard predicate register or -1 */
    uint32_t o[8];      /* operand registers; meaning depends on op */
    int64_t imm;        /* address offset */
    uint32_t target;    /* branch target / call index */
    uint32_t line;      /* PTX source line */
} SimInsn;

/* A constant register: filled with @value (or a symbol's address). */
typedef struct SimConst {
    uint32_t reg;
    int32_t sym;        /* -1: plain value; else module symbol index */
    uint64_t value;     /* value, or offset added to the symbol address */
} SimConst;

typedef struct SimParam {
    uint32_t offset;    /* kernel: offset in the packed buffer; func: frame */
    uint32_t size;
    uint32_t align;
} SimParam;

/* A call site: argument/return slots live in the caller's local frame. */
typedef struct SimCall {
    int32_t func;               /* callee index; -1: indirect (register) */
    uint32_t nargs;
    uint32_t arg_off[32];
    uint32_t arg_size[32];
    int32_t ret_off;            /* -1: no return value */
    uint32_t ret_size;
} SimCall;

typedef struct SimFunc {
    char *name;
    bool is_entry;
    bool defined;
    uint32_t nparams;
    SimParam *params;
    uint32_t param_bytes;       /* entries: packed size */
    bool has_ret;
    uint32_t ret_off, ret_size; /* .func return slot in its frame */
    uint32_t nregs;             /* register file size, constants included */
    uint32_t ndecl_regs;        /* registers declared by the PTX */
    uint32_t frame_bytes;       /* local frame (locals + param slots) */
    uint32_t own_shared;        /* entries: demoted shared variables */
    uint32_t shared_bytes;      /* entries: total static shared (resolved) */
    uint32_t maxntid;           /* 0: none */
    SimInsn *code;
    uint32_t ncode;
    SimConst *consts;
    uint32_t nconsts;
    uint32_t line;
} SimFunc;

enum { SIM_SYM_GLOBAL = 1, SIM_SYM_CONST, SIM_SYM_SHARED, SIM_SYM_SHARED_OWN,
       SIM_SYM_SHARED_EXTERN, SIM_SYM_FUNC };

typedef struct SimSym {
    char *name;
    int kind;
    uint64_t size;
    uint32_t align;
    uint64_t offset;    /* shared: offset in its region */
    int32_t owner;      /* SHARED_OWN: entry index */
    uint8_t *init;      /* initializer bytes (size), or NULL */
    /* Pointer initializers: (byte offset, symbol, addend) triples. */
    uint32_t nrelocs;
    struct { uint64_t at; int32_t sym; int64_t add; } *relocs;
    uint64_t addr;      /* global/const: device address after placement */
    bool is_extern_decl;
} SimSym;

typedef struct SimProgram {
    SimFunc *funcs;
    uint32_t nfuncs;
    SimSym *syms;
    uint32_t nsyms;
    SimCall *calls;
    uint32_t ncalls;
    uint32_t module_shared;     /* module-level static shared bytes */
    uint32_t ptx_version;       /* major*10 + minor */
    uint32_t sm;                /* target sm_XX */
} SimProgram;

/**
 * sim_ptx_parse - decode PTX text into a program.
 * @text: PTX, not necessarily NUL-terminated
 * @len: bytes of @text
 * @out: the program on success (free with sim_program_free)
 * @log: error message naming the line, on failure
 * @loglen: size of @log
 *
 * Returns VGPU_S_OK or VGPU_S_INVALID_PTX.
 */
int sim_ptx_parse(const char *text, size_t len, SimProgram **out,
                  char *log, size_t loglen);
void sim_program_free(SimProgram *p);
/* Value of constant register @c of @f (symbol addresses resolved). */
uint64_t sim_const_value(const SimProgram *p, const SimFunc *f, const SimConst *c);
int sim_program_find_func(const SimProgram *p, const char *name);
int sim_program_find_sym(const SimProgram *p, const char *name);
/* Fills @info (params packed as the CUDA driver packs kernelParams). */
void sim_func_info(const SimProgram *p, const SimFunc *f, VgpuFuncInfo *info);

/* Global-memory view of one launch (allocations of the context). */
typedef struct SimAlloc {
    uint64_t base;
    uint64_t size;
    uint8_t *host;
} SimAlloc;

typedef struct SimMemView {
    const SimAlloc *allocs;     /* sorted by base */
    size_t nallocs;
} SimMemView;

/* Helper threads of an executor, created once (interp.c). */
typedef struct SimPool SimPool;
/* A launching thread's reusable worker state (registers, stacks, shared). */
typedef struct SimScratch SimScratch;

typedef struct SimLaunch {
    const SimProgram *prog;
    const SimFunc *func;
    uint32_t grid[3];
    uint32_t block[3];
    uint32_t dyn_shared;
    const uint8_t *params;
    uint32_t param_bytes;
    SimMemView mem;
    unsigned threads;           /* host threads to use */
    uint64_t insn_budget;       /* thread-instructions; 0: unlimited */
    uint64_t watchdog_ns;       /* 0: none */
    int smcount;
    void (*print)(void *opaque, const char *text, size_t len);
    void *print_opaque;
    SimPool *pool;              /* helpers for large grids; NULL: none */
    SimScratch *scratch;        /* the caller's; NULL: a temporary one */
    bool no_local_writes;       /* sim_program_may_write_local() was false */
    /*
     * Called now and then (every 2^20 thread-instructions of a thread) from
     * whichever thread runs the launch; a non-zero return abandons the
     * launch with VGPU_S_LAUNCH_FAILED.  NULL: never called.
     */
    int (*tick)(void *opaque);
    void *tick_opaque;
    /* Results. */
    uint64_t insns;             /* thread-instructions executed */
    char errmsg[256];
} SimLaunch;

/**
 * sim_launch_run - run a grid to completion on up to @l->threads threads.
 * @l: the launch; results are written back into it
 *
 * Returns VGPU_S_OK or the fault status (ILLEGAL_ADDRESS, LAUNCH_TIMEOUT,
 * ASSERT, LAUNCH_FAILED, MISALIGNED_ADDRESS, ILLEGAL_INSTRUCTION).
 */
int sim_launch_run(SimLaunch *l);

/**
 * sim_pool_create - start @helpers threads that sim_launch_run() borrows.
 * @helpers: number of helper threads (the launching thread works too)
 *
 * Returns the pool, or NULL when out of memory.
 */
SimPool *sim_pool_create(unsigned helpers);
void sim_pool_destroy(SimPool *p);
SimScratch *sim_scratch_new(void);
void sim_scratch_free(SimScratch *s);

/**
 * sim_program_may_write_local - whether any code of @p can store to local
 * memory (local or generic stores and atomics, calls, local frames).
 * @p: the program
 *
 * Launches of a program that cannot need no wipe of the reused stacks.
 */
bool sim_program_may_write_local(const SimProgram *p);

/* Engine clock in ns (CLOCK_MONOTONIC); %globaltimer reads this. */
uint64_t sim_now_ns(void);

/* Fatbin: extracts the PTX text best suited to sm_75 (malloc'd, NUL'd). */
int sim_fatbin_extract_ptx(const void *image, size_t size, char **ptx,
                           size_t *ptxlen, char *log, size_t loglen);

/* Formats a kernel printf (vprintf semantics) into @out; returns length. */
size_t sim_format_printf(const char *fmt, size_t fmtmax, const uint8_t *args,
                         size_t argmax, char *out, size_t outlen,
                         int (*readstr)(void *op, uint64_t addr, char *buf,
                                        size_t max),
                         void *op);

#endif /* VGPU_SIM_H */
