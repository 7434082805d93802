/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ptx.c - PTX text to the sim's decoded program: lexer, parser, operand
 * resolution, parameter layout.
 *
 * The parser is written for hostile input: every token read is bounded by
 * the text's length, every count is capped, and the first problem stops
 * decoding with a message that names the line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define NOREG UINT32_MAX
#define MAX_INSNS_PER_FUNC (4u << 20)
#define MAX_SYM_BYTES (256ull << 20)

enum { TK_EOF, TK_ID, TK_NUM, TK_STR, TK_P };

typedef struct Tok {
    int t;
    const char *s;
    uint32_t len;
    uint32_t line;
} Tok;

/* Open-addressing map from string to int; values < 0 mean empty. */
typedef struct SMap {
    struct { const char *k; uint32_t klen; int32_t v; } *e;
    uint32_t cap, n;
} SMap;

typedef struct U64Map {
    struct { uint64_t k; int32_t v; } *e;
    uint32_t cap, n;
} U64Map;

/* Kinds of names visible inside a function body. */
enum { FN_REG = 1, FN_LOCAL, FN_KPARAM, FN_LABEL };

typedef struct FnName {
    int kind;
    uint32_t v;         /* register index, frame offset, param offset, label */
    uint32_t size;
} FnName;

typedef struct Undo { const char *k; uint32_t klen; int32_t old; } Undo;

typedef struct Parser {
    const char *src, *end, *p;
    uint32_t line;
    Tok tok;            /* current token */
    bool have;
    jmp_buf jb;
    char *log;
    size_t loglen;
    SimProgram *prog;
    SMap modsyms;       /* module symbol -> index */
    SMap funcs;         /* function name -> index */
    /* Current function. */
    SimFunc *fn;
    int fn_index;
    SMap names;         /* -> index into fnames */
    FnName *fnames;
    uint32_t nfnames, capfnames;
    Undo *undo;
    uint32_t nundo, capundo;
    uint32_t scope_mark[256];
    int depth;
    U64Map consts;
    uint32_t capcode, capconsts;
    uint32_t *label_pc;     /* label index -> pc (UINT32_MAX: undefined) */
    uint32_t nlabels, caplabels;
    uint32_t zero_reg;
    /* Arena for generated register names (%r0..%rN), freed per function. */
    char **chunks;
    uint32_t nchunks, capchunks;
    size_t chunk_used;
    SimFunc tmpf;           /* a .func's return parameter while parsing */
    uint8_t *rw;            /* declared width (bytes) of each register;
                               0x81 marks a predicate */
    int cur_op;             /* opcode being parsed (operand checks) */
    uint32_t caprw;
} Parser;

static void fail(Parser *ps, uint32_t line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static void fail(Parser *ps, uint32_t line, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (ps->loglen) {
        n = snprintf(ps->log, ps->loglen, "ptx line %u: ", line);
        if (n < 0 || (size_t)n >= ps->loglen) {
            n = 0;
        }
        va_start(ap, fmt);
        vsnprintf(ps->log + n, ps->loglen - n, fmt, ap);
        va_end(ap);
    }
    longjmp(ps->jb, 1);
}

static void *xrealloc(Parser *ps, void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q) {
        fail(ps, ps->line, "out of memory");
    }
    return q;
}

#define GROW(ps, arr, n, cap)                                              \
    do {                                                                   \
        if ((n) >= (cap)) {                                                \
            (cap) = (cap) ? (cap) * 2 : 16;                                \
            (arr) = xrealloc(ps, (arr), (size_t)(cap) * sizeof(*(arr)));   \
        }                                                                  \
    } while (0)

/* ---- maps ---------------------------------------------------------- */

static uint32_t hash_str(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;

    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

static int32_t smap_get(const SMap *m, const char *k, uint32_t n)
{
    if (!m->cap) {
        return -1;
    }
    for (uint32_t i = hash_str(k, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].k) {
            return -1;
        }
        if (m->e[i].klen == n && !memcmp(m->e[i].k, k, n)) {
            return m->e[i].v;
        }
    }
}

/* Sets @k to @v; returns the previous value (-1 if none). */
static int32_t smap_set(Parser *ps, SMap *m, const char *k, uint32_t n,
                        int32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        SMap nm = { 0 };

        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.e = xrealloc(ps, NULL, nm.cap * sizeof(*nm.e));
        memset(nm.e, 0, nm.cap * sizeof(*nm.e));
        for (uint32_t i = 0; i < m->cap; i++) {
            if (m->e[i].k) {
                smap_set(ps, &nm, m->e[i].k, m->e[i].klen, m->e[i].v);
            }
        }
        free(m->e);
        *m = nm;
    }
    for (uint32_t i = hash_str(k, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].k) {
            m->e[i].k = k;
            m->e[i].klen = n;
            m->e[i].v = v;
            m->n++;
            return -1;
        }
        if (m->e[i].klen == n && !memcmp(m->e[i].k, k, n)) {
            int32_t old = m->e[i].v;

            m->e[i].v = v;
            return old;
        }
    }
}

static void smap_clear(SMap *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

static int32_t u64map_get(const U64Map *m, uint64_t k)
{
    if (!m->cap) {
        return -1;
    }
    for (uint32_t i = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (m->cap - 1);;
         i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].v < 0) {
            return -1;
        }
        if (m->e[i].k == k) {
            return m->e[i].v;
        }
    }
}

static void u64map_set(Parser *ps, U64Map *m, uint64_t k, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        U64Map nm = { 0 };

        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.e = xrealloc(ps, NULL, nm.cap * sizeof(*nm.e));
        for (uint32_t i = 0; i < nm.cap; i++) {
            nm.e[i].v = -1;
        }
        for (uint32_t i = 0; i < m->cap; i++) {
            if (m->e[i].v >= 0) {
                u64map_set(ps, &nm, m->e[i].k, m->e[i].v);
            }
        }
        free(m->e);
        *m = nm;
    }
    for (uint32_t i = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (m->cap - 1);;
         i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].v < 0) {
            m->e[i].k = k;
            m->e[i].v = v;
            m->n++;
            return;
        }
        if (m->e[i].k == k) {
            m->e[i].v = v;
            return;
        }
    }
}

/* ---- lexer --------------------------------------------------------- */

static bool id_start(int c)
{
    return isalpha(c) || c == '_' || c == '$' || c == '%' || c == '.';
}

static bool id_char(int c)
{
    return isalnum(c) || c == '_' || c == '$' || c == '.' || c == '%';
}

static void skip_ws(Parser *ps)
{
    for (;;) {
        while (ps->p < ps->end && isspace((unsigned char)*ps->p)) {
            if (*ps->p == '\n') {
                ps->line++;
            }
            ps->p++;
        }
        if (ps->p + 1 < ps->end && ps->p[0] == '/' && ps->p[1] == '/') {
            while (ps->p < ps->end && *ps->p != '\n') {
                ps->p++;
            }
            continue;
        }
        if (ps->p + 1 < ps->end && ps->p[0] == '/' && ps->p[1] == '*') {
            ps->p += 2;
            while (ps->p + 1 < ps->end && !(ps->p[0] == '*' && ps->p[1] == '/')) {
                if (*ps->p == '\n') {
                    ps->line++;
                }
                ps->p++;
            }
            ps->p = ps->p + 1 < ps->end ? ps->p + 2 : ps->end;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '\0') {
            /* A NUL ends the text (the image is a C string). */
            ps->end = ps->p;
        }
        return;
    }
}

static Tok *peek(Parser *ps)
{
    Tok *t = &ps->tok;

    if (ps->have) {
        return t;
    }
    skip_ws(ps);
    t->line = ps->line;
    t->s = ps->p;
    ps->have = true;
    if (ps->p >= ps->end) {
        t->t = TK_EOF;
        t->len = 0;
        return t;
    }
    unsigned char c = *ps->p;
    if (id_start(c)) {
        while (ps->p < ps->end && id_char((unsigned char)*ps->p)) {
            ps->p++;
        }
        t->t = TK_ID;
    } else if (isdigit(c)) {
        while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '.')) {
            ps->p++;
        }
        t->t = TK_NUM;
    } else if (c == '"') {
        ps->p++;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\n') {
            ps->p++;
        }
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, ps->line, "unterminated string");
        }
        ps->p++;
        t->t = TK_STR;
    } else {
        ps->p++;
        t->t = TK_P;
    }
    t->len = (uint32_t)(ps->p - t->s);
    if (t->len > 4096) {
        fail(ps, t->line, "token too long");
    }
    return t;
}

static Tok next(Parser *ps)
{
    Tok t = *peek(ps);

    ps->have = false;
    return t;
}

static bool is_p(Parser *ps, char c)
{
    Tok *t = peek(ps);

    return t->t == TK_P && t->s[0] == c;
}

static bool accept_p(Parser *ps, char c)
{
    if (is_p(ps, c)) {
        next(ps);
        return true;
    }
    return false;
}

static void expect_p(Parser *ps, char c)
{
    Tok t = next(ps);

    if (t.t != TK_P || t.s[0] != c) {
        fail(ps, t.line, "expected '%c' but found '%.*s'", c,
             (int)(t.len > 40 ? 40 : t.len), t.s);
    }
}

static bool tok_is(const Tok *t, const char *s)
{
    size_t n = strlen(s);

    return t->t == TK_ID && t->len == n && !memcmp(t->s, s, n);
}

static bool accept_id(Parser *ps, const char *s)
{
    if (tok_is(peek(ps), s)) {
        next(ps);
        return true;
    }
    return false;
}

static Tok expect_id(Parser *ps, const char *what)
{
    Tok t = next(ps);

    if (t.t != TK_ID) {
        fail(ps, t.line, "expected %s but found '%.*s'", what,
             (int)(t.len > 40 ? 40 : t.len), t.s);
    }
    return t;
}

/* Skips the rest of the current source line (.loc, .file). */
static void skip_line(Parser *ps)
{
    ps->have = false;
    while (ps->p < ps->end && *ps->p != '\n') {
        ps->p++;
    }
}

static void skip_to_semi(Parser *ps)
{
    for (;;) {
        Tok t = next(ps);

        if (t.t == TK_EOF) {
            fail(ps, t.line, "missing ';'");
        }
        if (t.t == TK_P && t.s[0] == ';') {
            return;
        }
    }
}

/* Parses an integer literal (decimal, hex, octal, binary, trailing U). */
static bool parse_int_text(const char *s, uint32_t n, uint64_t *v)
{
    char buf[80];
    char *e;

    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    if (n > 1 && (buf[n - 1] == 'U' || buf[n - 1] == 'u')) {
        buf[--n] = 0;
    }
    errno = 0;
    if (n > 2 && buf[0] == '0' && (buf[1] == 'b' || buf[1] == 'B')) {
        *v = strtoull(buf + 2, &e, 2);
    } else if (n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        *v = strtoull(buf + 2, &e, 16);
    } else if (n > 1 && buf[0] == '0') {
        *v = strtoull(buf + 1, &e, 8);
    } else {
        *v = strtoull(buf, &e, 10);
    }
    return *e == 0 && errno == 0;
}

/* A parsed literal: integer, or float (f32 or f64 bits). */
typedef struct Lit {
    int kind;           /* 0 int, 1 f32 bits, 2 f64 bits, 3 decimal double */
    uint64_t v;
    double d;
} Lit;

static bool parse_lit_text(const char *s, uint32_t n, Lit *l)
{
    if (n >= 2 && s[0] == '0' && (s[1] == 'f' || s[1] == 'F') && n == 10) {
        uint64_t v;
        char buf[16];

        memcpy(buf, "0x", 2);
        memcpy(buf + 2, s + 2, 8);
        buf[10] = 0;
        if (!parse_int_text(buf, 10, &v)) {
            return false;
        }
        l->kind = 1;
        l->v = v;
        return true;
    }
    if (n >= 2 && s[0] == '0' && (s[1] == 'd' || s[1] == 'D') && n == 18) {
        uint64_t v;
        char buf[24];

        memcpy(buf, "0x", 2);
        memcpy(buf + 2, s + 2, 16);
        buf[18] = 0;
        if (!parse_int_text(buf, 18, &v)) {
            return false;
        }
        l->kind = 2;
        l->v = v;
        return true;
    }
    if (memchr(s, '.', n) || (n > 1 && !(s[1] == 'x' || s[1] == 'X') &&
                              (memchr(s, 'e', n) || memchr(s, 'E', n)))) {
        char buf[80], *e;

        if (n >= sizeof(buf)) {
            return false;
        }
        memcpy(buf, s, n);
        buf[n] = 0;
        l->d = strtod(buf, &e);
        l->kind = 3;
        return *e == 0;
    }
    l->kind = 0;
    return parse_int_text(s, n, &l->v);
}

/* Signed literal with optional leading '-'. */
static Lit parse_lit(Parser *ps)
{
    bool neg = accept_p(ps, '-');
    Tok t = next(ps);
    Lit l;

    if (t.t != TK_NUM || !parse_lit_text(t.s, t.len, &l)) {
        fail(ps, t.line, "bad number '%.*s'", (int)(t.len > 40 ? 40 : t.len), t.s);
    }
    if (neg) {
        if (l.kind == 0) {
            l.v = -l.v;
        } else if (l.kind == 1) {
            l.v ^= 0x80000000u;
        } else if (l.kind == 2) {
            l.v ^= 0x8000000000000000ull;
        } else {
            l.d = -l.d;
        }
    }
    return l;
}

static uint64_t parse_uint(Parser *ps, uint64_t max)
{
    Tok t = next(ps);
    uint64_t v;

    if (t.t != TK_NUM || !parse_int_text(t.s, t.len, &v) || v > max) {
        fail(ps, t.line, "bad or too large count '%.*s'",
             (int)(t.len > 40 ? 40 : t.len), t.s);
    }
    return v;
}

/* ---- types --------------------------------------------------------- */

static int type_from(const char *s, uint32_t n)
{
    static const struct { const char *n; int t; } tab[] = {
        { "b8", SIM_T_B8 }, { "b16", SIM_T_B16 }, { "b32", SIM_T_B32 },
        { "b64", SIM_T_B64 }, { "b128", SIM_T_B128 },
        { "u8", SIM_T_U8 }, { "u16", SIM_T_U16 }, { "u32", SIM_T_U32 },
        { "u64", SIM_T_U64 }, { "s8", SIM_T_S8 }, { "s16", SIM_T_S16 },
        { "s32", SIM_T_S32 }, { "s64", SIM_T_S64 }, { "f16", SIM_T_F16 },
        { "f16x2", SIM_T_F16X2 }, { "bf16", SIM_T_BF16 },
        { "f32", SIM_T_F32 }, { "f64", SIM_T_F64 }, { "pred", SIM_T_PRED },
    };

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strlen(tab[i].n) == n && !memcmp(tab[i].n, s, n)) {
            return tab[i].t;
        }
    }
    return 0;
}

static uint32_t type_size(int t)
{
    switch (t) {
    case SIM_T_B8: case SIM_T_U8: case SIM_T_S8: return 1;
    case SIM_T_B16: case SIM_T_U16: case SIM_T_S16: case SIM_T_F16:
    case SIM_T_BF16: return 2;
    case SIM_T_B32: case SIM_T_U32: case SIM_T_S32: case SIM_T_F32:
    case SIM_T_F16X2: return 4;
    case SIM_T_B64: case SIM_T_U64: case SIM_T_S64: case SIM_T_F64: return 8;
    case SIM_T_B128: return 16;
    case SIM_T_PRED: return 1;
    default: return 0;
    }
}

static bool tsigned_ty(int t)
{
    return t == SIM_T_S8 || t == SIM_T_S16 || t == SIM_T_S32 || t == SIM_T_S64;
}

/* Parses ".type" after an optional ".align N" and ".vN"; returns size. */
static uint32_t parse_decl_type(Parser *ps, uint32_t *align, uint32_t *vec)
{
    *align = 0;
    *vec = 1;
    for (;;) {
        Tok t = expect_id(ps, "a type");

        if (tok_is(&t, ".align")) {
            uint64_t a = parse_uint(ps, 1u << 16);

            if (!a || (a & (a - 1))) {
                fail(ps, t.line, "alignment %llu is not a power of two",
                     (unsigned long long)a);
            }
            *align = (uint32_t)a;
            continue;
        }
        if (tok_is(&t, ".v2") || tok_is(&t, ".v4") || tok_is(&t, ".v8")) {
            *vec = t.s[2] - '0';
            continue;
        }
        if (tok_is(&t, ".ptr") || tok_is(&t, ".global") || tok_is(&t, ".const") ||
            tok_is(&t, ".shared") || tok_is(&t, ".local")) {
            continue;   /* .param .u64 .ptr .global .align N name */
        }
        if (t.len > 1 && t.s[0] == '.') {
            int ty = type_from(t.s + 1, t.len - 1);

            if (ty) {
                if (accept_id(ps, ".ptr")) {
                    while (peek(ps)->t == TK_ID && peek(ps)->s[0] == '.' &&
                           !tok_is(peek(ps), ".align")) {
                        next(ps);
                    }
                    if (accept_id(ps, ".align")) {
                        parse_uint(ps, 1u << 16);
                    }
                }
                uint32_t sz = type_size(ty);
                if (!*align) {
                    *align = sz * *vec;
                }
                return sz;
            }
        }
        fail(ps, t.line, "unknown type '%.*s'", (int)(t.len > 40 ? 40 : t.len), t.s);
    }
}

/* ---- function-scope names ----------------------------------------- */

static void name_add(Parser *ps, const char *k, uint32_t n, int kind,
                     uint32_t v, uint32_t size)
{
    GROW(ps, ps->fnames, ps->nfnames, ps->capfnames);
    ps->fnames[ps->nfnames] = (FnName){ kind, v, size };
    int32_t old = smap_set(ps, &ps->names, k, n, (int32_t)ps->nfnames++);
    GROW(ps, ps->undo, ps->nundo, ps->capundo);
    ps->undo[ps->nundo++] = (Undo){ k, n, old };
}

static const FnName *name_get(Parser *ps, const char *k, uint32_t n)
{
    int32_t i = smap_get(&ps->names, k, n);

    return i < 0 ? NULL : &ps->fnames[i];
}

static void scope_push(Parser *ps, uint32_t line)
{
    if (ps->depth >= 255) {
        fail(ps, line, "blocks nested too deeply");
    }
    ps->scope_mark[ps->depth++] = ps->nundo;
}

static void scope_pop(Parser *ps)
{
    uint32_t mark = ps->scope_mark[--ps->depth];

    while (ps->nundo > mark) {
        Undo *u = &ps->undo[--ps->nundo];

        smap_set(ps, &ps->names, u->k, u->klen, u->old);
    }
}

static uint32_t new_reg(Parser *ps, uint32_t line)
{
    if (ps->fn->nregs >= SIM_MAX_REGS) {
        fail(ps, line, "too many registers");
    }
    if (ps->fn->nregs >= ps->caprw) {
        ps->caprw = ps->caprw ? ps->caprw * 2 : 256;
        ps->rw = xrealloc(ps, ps->rw, ps->caprw);
    }
    ps->rw[ps->fn->nregs] = 0;    /* internal: not checked */
    return ps->fn->nregs++;
}

/* Register holding @v (plain) or symbol @sym's address + @v. */
static uint32_t const_reg(Parser *ps, int32_t sym, uint64_t v, uint32_t line)
{
    SimFunc *f = ps->fn;

    if (sym < 0) {
        int32_t r = u64map_get(&ps->consts, v);

        if (r >= 0) {
            return (uint32_t)r;
        }
    } else {
        for (uint32_t i = 0; i < f->nconsts; i++) {
            if (f->consts[i].sym == sym && f->consts[i].value == v) {
                return f->consts[i].reg;
            }
        }
    }
    uint32_t r = new_reg(ps, line);
    GROW(ps, f->consts, f->nconsts, ps->capconsts);
    f->consts[f->nconsts++] = (SimConst){ r, sym, v };
    if (sym < 0) {
        u64map_set(ps, &ps->consts, v, (int32_t)r);
    }
    return r;
}

static uint32_t label_index(Parser *ps, const char *s, uint32_t n)
{
    const FnName *nm = name_get(ps, s, n);

    if (nm && nm->kind == FN_LABEL) {
        return nm->v;
    }
    GROW(ps, ps->label_pc, ps->nlabels, ps->caplabels);
    ps->label_pc[ps->nlabels] = UINT32_MAX;
    /* Labels are function-wide: register at the outermost scope level. */
    GROW(ps, ps->fnames, ps->nfnames, ps->capfnames);
    ps->fnames[ps->nfnames] = (FnName){ FN_LABEL, ps->nlabels, 0 };
    smap_set(ps, &ps->names, s, n, (int32_t)ps->nfnames++);
    return ps->nlabels++;
}

/* ---- module symbols ----------------------------------------------- */

static int32_t sym_add(Parser *ps, const Tok *name, int kind)
{
    SimProgram *p = ps->prog;
    int32_t old = smap_get(&ps->modsyms, name->s, name->len);

    if (old >= 0) {
        SimSym *s = &p->syms[old];

        if (s->is_extern_decl && s->kind == kind) {
            return old;
        }
        fail(ps, name->line, "symbol '%.*s' defined twice", (int)name->len, name->s);
    }
    if (p->nsyms >= 1u << 20) {
        fail(ps, name->line, "too many symbols");
    }
    p->syms = xrealloc(ps, p->syms, (p->nsyms + 1) * sizeof(*p->syms));
    SimSym *s = &p->syms[p->nsyms];
    memset(s, 0, sizeof(*s));
    s->name = xrealloc(ps, NULL, name->len + 1);
    memcpy(s->name, name->s, name->len);
    s->name[name->len] = 0;
    s->kind = kind;
    s->owner = -1;
    smap_set(ps, &ps->modsyms, s->name, name->len, (int32_t)p->nsyms);
    return (int32_t)p->nsyms++;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return a ? (v + a - 1) / a * a : v;
}

/* Array dims "[N][M]" or "[]"; returns element count (0 for []). */
static uint64_t parse_dims(Parser *ps, bool *unsized)
{
    uint64_t n = 1;

    *unsized = false;
    while (accept_p(ps, '[')) {
        if (accept_p(ps, ']')) {
            *unsized = true;
            continue;
        }
        uint64_t d = parse_uint(ps, MAX_SYM_BYTES);
        expect_p(ps, ']');
        n *= d;
        if (n > MAX_SYM_BYTES) {
            fail(ps, ps->tok.line, "array too large");
        }
    }
    return n;
}

static void store_le(uint8_t *p, uint64_t v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t lit_as(const Lit *l, int ty)
{
    uint32_t sz = type_size(ty);

    if (ty == SIM_T_F32) {
        float f;
        uint32_t u;

        if (l->kind == 1) {
            return l->v;
        }
        f = l->kind == 2 ? (float)({ double d; memcpy(&d, &l->v, 8); d; })
                         : l->kind == 3 ? (float)l->d : (float)(int64_t)l->v;
        memcpy(&u, &f, 4);
        return u;
    }
    if (ty == SIM_T_F64) {
        double d;
        uint64_t u;

        if (l->kind == 2) {
            return l->v;
        }
        d = l->kind == 1 ? (double)({ float f; uint32_t b = (uint32_t)l->v; memcpy(&f, &b, 4); f; })
                         : l->kind == 3 ? l->d : (double)(int64_t)l->v;
        memcpy(&u, &d, 8);
        return u;
    }
    if (l->kind == 3) {
        /* A decimal literal used as an integer: truncated, saturated. */
        double d = l->d;
        int64_t v = d != d ? 0 : d >= 9.2233720368547758e18 ? INT64_MAX :
                    d <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)d;
        return sz && sz < 8 ? (uint64_t)v & ((1ull << (8 * sz)) - 1) : (uint64_t)v;
    }
    if (sz < 8 && sz) {
        return l->v & ((1ull << (8 * sz)) - 1);
    }
    return l->v;
}

static void parse_initializer(Parser *ps, SimSym *s, int ty, uint32_t esz,
                              uint64_t *pos)
{
    if (accept_p(ps, '{')) {
        if (!is_p(ps, '}')) {
            do {
                parse_initializer(ps, s, ty, esz, pos);
            } while (accept_p(ps, ','));
        }
        expect_p(ps, '}');
        return;
    }
    Tok *t = peek(ps);
    if (t->t == TK_ID) {
        /* generic(sym) or sym [+ off]: an address, resolved at placement. */
        Tok n = next(ps);
        bool gen = tok_is(&n, "generic");

        if (gen) {
            expect_p(ps, '(');
            n = expect_id(ps, "a symbol");
        }
        int32_t si = smap_get(&ps->modsyms, n.s, n.len);
        if (si < 0) {
            int32_t fi = smap_get(&ps->funcs, n.s, n.len);
            if (fi < 0) {
                fail(ps, n.line, "unknown symbol '%.*s' in initializer", (int)n.len, n.s);
            }
            si = -2 - fi;       /* a function's address */
        }
        int64_t add = 0;
        if (accept_p(ps, '+')) {
            Lit l = parse_lit(ps);
            add = (int64_t)l.v;
        }
        if (gen) {
            expect_p(ps, ')');
        }
        if (*pos + esz > s->size) {
            fail(ps, n.line, "too many initializers");
        }
        s->relocs = xrealloc(ps, s->relocs, (s->nrelocs + 1) * sizeof(*s->relocs));
        s->relocs[s->nrelocs].at = *pos;
        s->relocs[s->nrelocs].sym = si;
        s->relocs[s->nrelocs].add = add;
        s->nrelocs++;
        *pos += esz;
        return;
    }
    Lit l = parse_lit(ps);
    if (*pos + esz > s->size) {
        fail(ps, t->line, "too many initializers");
    }
    store_le(s->init + *pos, lit_as(&l, ty), esz);
    *pos += esz;
}

/* .global/.const/.shared module variable (or a function's .shared). */
static void parse_var(Parser *ps, int kind, bool is_extern, uint32_t line)
{
    uint32_t align, vec;
    Tok *tt = peek(ps);
    int ty = 0;
    uint32_t esz;

    /* Remember the type for initializers. */
    {
        const char *save_p = ps->p;
        uint32_t save_line = ps->line;
        Tok save_tok = ps->tok;
        bool save_have = ps->have;
        (void)tt;
        for (;;) {
            Tok t = next(ps);
            if (t.t != TK_ID || t.s[0] != '.') {
                break;
            }
            int x = type_from(t.s + 1, t.len - 1);
            if (x) {
                ty = x;
                break;
            }
            if (tok_is(&t, ".align")) {
                next(ps);
            }
        }
        ps->p = save_p;
        ps->line = save_line;
        ps->tok = save_tok;
        ps->have = save_have;
    }
    esz = parse_decl_type(ps, &align, &vec);
    Tok name = expect_id(ps, "a variable name");
    bool unsized;
    uint64_t n = parse_dims(ps, &unsized);
    uint64_t size = n * esz * vec;

    if (size > MAX_SYM_BYTES) {
        fail(ps, line, "variable too large");
    }
    int32_t si = sym_add(ps, &name, kind);
    SimSym *s = &ps->prog->syms[si];
    s->size = size;
    s->align = align ? align : 1;
    s->is_extern_decl = is_extern;
    if (kind == SIM_SYM_SHARED && is_extern) {
        s->kind = SIM_SYM_SHARED_EXTERN;
        s->size = 0;
        if (s->align < 16) {
            s->align = 16;
        }
    }
    if (accept_p(ps, '=')) {
        uint64_t pos = 0;

        if (kind != SIM_SYM_GLOBAL && kind != SIM_SYM_CONST) {
            fail(ps, line, "initializer on a %s variable",
                 kind == SIM_SYM_SHARED ? "shared" : "local");
        }
        if (unsized) {
            fail(ps, line, "initializer on an unsized array");
        }
        s->init = calloc(1, size ? size : 1);
        if (!s->init) {
            fail(ps, line, "out of memory");
        }
        parse_initializer(ps, s, ty, esz, &pos);
    }
    while (accept_p(ps, ',')) {
        /* Several names in one declaration are rare; refuse clearly. */
        fail(ps, line, "several variables in one declaration are not supported");
    }
    expect_p(ps, ';');
}

/* ---- instruction modifiers ---------------------------------------- */

typedef struct Mods {
    int types[3];
    int ntypes;
    int space;
    int rnd;
    int cmp;
    int boolop;
    int atom;
    int mode;           /* shfl/vote */
    int vec;
    uint32_t flags;
    bool sync, to, cas, red_popc, arrive, uni, all, any, ballot;
    bool clamp, wrap, shf_l, shf_r, shiftamt;
    bool neg_pred;
} Mods;

static const char *const op_names[] = {
    [OP_NOP] = "nop", [OP_MOV] = "mov", [OP_ADD] = "add", [OP_SUB] = "sub",
    [OP_MUL] = "mul", [OP_MAD] = "mad", [OP_MUL24] = "mul24",
    [OP_MAD24] = "mad24", [OP_SAD] = "sad", [OP_DIV] = "div",
    [OP_REM] = "rem", [OP_ABS] = "abs", [OP_NEG] = "neg", [OP_MIN] = "min",
    [OP_MAX] = "max", [OP_AND] = "and", [OP_OR] = "or", [OP_XOR] = "xor",
    [OP_NOT] = "not", [OP_CNOT] = "cnot", [OP_SHL] = "shl", [OP_SHR] = "shr",
    [OP_SETP] = "setp", [OP_SET] = "set", [OP_SELP] = "selp",
    [OP_SLCT] = "slct", [OP_CVT] = "cvt", [OP_CVTA] = "cvta", [OP_LD] = "ld",
    [OP_ST] = "st", [OP_ATOM] = "atom", [OP_RED] = "red", [OP_BAR] = "bar",
    [OP_MEMBAR] = "membar", [OP_BRA] = "bra", [OP_CALL] = "call",
    [OP_RET] = "ret", [OP_EXIT] = "exit", [OP_TRAP] = "trap",
    [OP_SHFL] = "shfl", [OP_VOTE] = "vote", [OP_MATCH] = "match",
    [OP_REDUX] = "redux", [OP_ACTIVEMASK] = "activemask",
    [OP_POPC] = "popc", [OP_CLZ] = "clz", [OP_BREV] = "brev",
    [OP_BFE] = "bfe", [OP_BFI] = "bfi", [OP_PRMT] = "prmt", [OP_FMA] = "fma",
    [OP_RCP] = "rcp", [OP_SQRT] = "sqrt", [OP_RSQRT] = "rsqrt",
    [OP_EX2] = "ex2", [OP_LG2] = "lg2", [OP_SIN] = "sin", [OP_COS] = "cos",
    [OP_TANH] = "tanh", [OP_COPYSIGN] = "copysign", [OP_TESTP] = "testp",
    [OP_LOP3] = "lop3", [OP_SHF] = "shf", [OP_FNS] = "fns", [OP_DP4A] = "dp4a",
    [OP_DP2A] = "dp2a", [OP_ISSPACEP] = "isspacep",
    [OP_NANOSLEEP] = "nanosleep", [OP_ADDC] = "addc", [OP_SUBC] = "subc",
    [OP_BFIND] = "bfind", [OP_PREFETCH] = "prefetch", [OP_MADC] = "madc",
};

static int find_op(const char *s, uint32_t n)
{
    if ((n == 3 && !memcmp(s, "ldu", 3))) {
        return OP_LD;
    }
    if ((n == 5 && !memcmp(s, "fence", 5)) || (n == 7 && !memcmp(s, "barrier", 7))) {
        return n == 5 ? OP_MEMBAR : OP_BAR;
    }
    if (n == 8 && !memcmp(s, "prefetchu", 8)) {
        return OP_PREFETCH;
    }
    if (n == 7 && !memcmp(s, "discard", 7)) {
        return OP_PREFETCH;
    }
    if (n == 6 && !memcmp(s, "brkpt", 5)) {
        return OP_NOP;
    }
    if (n == 5 && !memcmp(s, "brkpt", 5)) {
        return OP_NOP;
    }
    if (n == 4 && !memcmp(s, "pmevent", 4)) {
        return OP_NOP;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if (op_names[i] && strlen(op_names[i]) == n && !memcmp(op_names[i], s, n)) {
            return i;
        }
    }
    return -1;
}

static void parse_mods(Parser *ps, int op, const char *s, uint32_t n,
                       Mods *m, uint32_t line)
{
    memset(m, 0, sizeof(*m));
    m->vec = 1;
    while (n) {
        const char *e = memchr(s, '.', n);
        uint32_t len = e ? (uint32_t)(e - s) : n;
        char w[24];
        int ty;

        if (len == 0 || len >= sizeof(w)) {
            fail(ps, line, "bad instruction modifier");
        }
        memcpy(w, s, len);
        w[len] = 0;
        s += len + (e ? 1 : 0);
        n -= len + (e ? 1 : 0);
#define IS(x) (!strcmp(w, x))
        if ((ty = type_from(w, len))) {
            if (m->ntypes >= 3) {
                fail(ps, line, "too many types");
            }
            m->types[m->ntypes++] = ty;
        } else if (IS("global")) m->space = SIM_SP_GLOBAL;
        else if (IS("shared") || IS("shared::cta")) m->space = SIM_SP_SHARED;
        else if (IS("local")) m->space = SIM_SP_LOCAL;
        else if (IS("const")) m->space = SIM_SP_CONST;
        else if (IS("param")) m->space = SIM_SP_PARAM;
        else if (IS("generic")) m->space = SIM_SP_GENERIC;
        else if (IS("rn")) m->rnd = SIM_RND_RN;
        else if (IS("rz")) m->rnd = SIM_RND_RZ;
        else if (IS("rm")) m->rnd = SIM_RND_RM;
        else if (IS("rp")) m->rnd = SIM_RND_RP;
        else if (IS("rni")) m->rnd = SIM_RND_RNI;
        else if (IS("rzi")) m->rnd = SIM_RND_RZI;
        else if (IS("rmi")) m->rnd = SIM_RND_RMI;
        else if (IS("rpi")) m->rnd = SIM_RND_RPI;
        else if (IS("ftz")) m->flags |= SIM_F_FTZ;
        else if (IS("sat") || IS("satfinite")) m->flags |= SIM_F_SAT;
        else if (IS("approx")) m->flags |= SIM_F_APPROX;
        else if (IS("full")) m->flags |= SIM_F_APPROX;
        else if (IS("wide")) m->flags |= SIM_F_WIDE;
        else if (IS("cc")) m->flags |= SIM_F_CC;
        else if (IS("to")) m->to = true;
        else if (IS("v2") || IS("v4") || IS("v8")) m->vec = w[1] - '0';
        else if ((op == OP_SETP || op == OP_SET || op == OP_SLCT) && !m->cmp &&
                 (IS("eq") || IS("ne") || IS("lt") || IS("le") || IS("gt") ||
                  IS("ge") || IS("lo") || IS("ls") || IS("hi") || IS("hs") ||
                  IS("equ") || IS("neu") || IS("ltu") || IS("leu") ||
                  IS("gtu") || IS("geu") || IS("num") || IS("nan"))) {
            static const char *const c[] = { "", "eq", "ne", "lt", "le", "gt",
                "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu", "leu",
                "gtu", "geu", "num", "nan" };
            for (int i = 1; i < 19; i++) {
                if (IS(c[i])) {
                    m->cmp = i;
                }
            }
        } else if (IS("hi")) m->flags |= SIM_F_HI;
        else if (IS("lo")) m->flags |= SIM_F_LO;
        else if ((op == OP_SETP || op == OP_SET) && (IS("and") || IS("or") || IS("xor"))) {
            m->boolop = IS("and") ? SIM_BOOL_AND : IS("or") ? SIM_BOOL_OR : SIM_BOOL_XOR;
        } else if ((op == OP_ATOM || op == OP_RED || op == OP_REDUX || op == OP_BAR) &&
                   (IS("add") || IS("min") || IS("max") || IS("inc") || IS("dec") ||
                    IS("and") || IS("or") || IS("xor") || IS("exch") || IS("cas") ||
                    IS("popc"))) {
            static const char *const a[] = { "", "add", "min", "max", "inc",
                "dec", "and", "or", "xor", "exch", "cas" };
            if (IS("popc")) {
                m->red_popc = true;
            }
            for (int i = 1; i < 11; i++) {
                if (IS(a[i])) {
                    m->atom = i;
                }
            }
        } else if (op == OP_SHFL && (IS("up") || IS("down") || IS("bfly") || IS("idx"))) {
            m->mode = IS("up") ? SIM_SHFL_UP : IS("down") ? SIM_SHFL_DOWN :
                      IS("bfly") ? SIM_SHFL_BFLY : SIM_SHFL_IDX;
        } else if (op == OP_VOTE && (IS("all") || IS("any") || IS("uni") || IS("ballot"))) {
            m->mode = IS("all") ? SIM_VOTE_ALL : IS("any") ? SIM_VOTE_ANY :
                      IS("uni") ? SIM_VOTE_UNI : SIM_VOTE_BALLOT;
        } else if (op == OP_MATCH && (IS("any") || IS("all"))) {
            m->mode = IS("any") ? 1 : 2;
        } else if (IS("sync")) m->sync = true;
        else if (IS("arrive")) m->arrive = true;
        else if (IS("red")) { /* bar.red.popc */ }
        else if (IS("clamp")) m->clamp = true;
        else if (IS("wrap")) m->wrap = true;
        else if (op == OP_SHF && IS("l")) m->shf_l = true;
        else if (op == OP_SHF && IS("r")) m->shf_r = true;
        else if (IS("shiftamt")) m->shiftamt = true;
        else if (IS("uni") || IS("aligned") || IS("volatile") || IS("relaxed") || IS("warp") || IS("gl") || IS("sys") ||
                 IS("acquire") || IS("release") || IS("acq_rel") || IS("sc") ||
                 IS("weak") || IS("mmio") || IS("sys") || IS("gpu") || IS("cta") ||
                 IS("cluster") || IS("ca") || IS("cg") || IS("cs") || IS("lu") ||
                 IS("cv") || IS("wb") || IS("wt") || IS("nc") || IS("L1") ||
                 IS("L2") || IS("noftz") || IS("proxy") || IS("async") ||
                 IS("ecl") || IS("ecr") || IS("b4e") || IS("rc8") || IS("rc16") ||
                 IS("f4e") || IS("nan") || IS("xorsign") || IS("abs") ||
                 IS("mode") || IS("finite") || IS("infinite") || IS("number") ||
                 IS("notanumber") || IS("normal") || IS("subnormal") ||
                 IS("cta::") || IS("level") || IS("evict_normal") ||
                 IS("evict_last") || IS("evict_first") || IS("64B") ||
                 IS("128B") || IS("256B")) {
            if (op == OP_PRMT) {
                m->mode = IS("f4e") ? 1 : IS("b4e") ? 2 : IS("rc8") ? 3 : IS("ecl") ? 4 :
                          IS("ecr") ? 5 : IS("rc16") ? 6 : m->mode;
            }
            if (op == OP_TESTP) {
                m->mode = IS("finite") ? 1 : IS("infinite") ? 2 : IS("number") ? 3 :
                          IS("notanumber") ? 4 : IS("normal") ? 5 : IS("subnormal") ? 6 : m->mode;
            }
        } else if (op == OP_PREFETCH) {
            /* cache levels and eviction hints */
        } else {
            fail(ps, line, "unsupported instruction modifier '.%s'", w);
        }
#undef IS
    }
}

/* ---- operands ------------------------------------------------------ */

enum { PO_REG = 1, PO_IMM, PO_SREG, PO_SYM, PO_ADDR, PO_VEC, PO_SINK,
       PO_LOCALADDR, PO_KPARAMADDR, PO_FUNC, PO_LABEL };

typedef struct POp {
    int kind;
    uint32_t reg;
    bool neg;           /* !%p */
    Lit lit;
    int sreg;
    int32_t sym;        /* module symbol */
    uint64_t off;       /* local frame/kparam offset */
    /* Address. */
    int abase;          /* PO_REG, PO_SYM, PO_LOCALADDR, PO_KPARAMADDR, PO_IMM, PO_SREG */
    uint32_t areg;
    int64_t aoff;
    uint32_t vec[8];
    int nvec;
    Tok name;
} POp;

static int sreg_from(const Tok *t)
{
    static const struct { const char *n; int v; } tab[] = {
        { "%tid.x", SIM_SR_TID_X }, { "%tid.y", SIM_SR_TID_Y }, { "%tid.z", SIM_SR_TID_Z },
        { "%ntid.x", SIM_SR_NTID_X }, { "%ntid.y", SIM_SR_NTID_Y }, { "%ntid.z", SIM_SR_NTID_Z },
        { "%ctaid.x", SIM_SR_CTAID_X }, { "%ctaid.y", SIM_SR_CTAID_Y },
        { "%ctaid.z", SIM_SR_CTAID_Z }, { "%nctaid.x", SIM_SR_NCTAID_X },
        { "%nctaid.y", SIM_SR_NCTAID_Y }, { "%nctaid.z", SIM_SR_NCTAID_Z },
        { "%laneid", SIM_SR_LANEID }, { "%warpid", SIM_SR_WARPID },
        { "%nwarpid", SIM_SR_NWARPID }, { "%smid", SIM_SR_SMID }, { "%nsmid", SIM_SR_NSMID },
        { "%gridid", SIM_SR_GRIDID }, { "%clock", SIM_SR_CLOCK },
        { "%clock_hi", SIM_SR_CLOCK_HI }, { "%clock64", SIM_SR_CLOCK64 },
        { "%globaltimer", SIM_SR_GLOBALTIMER }, { "%globaltimer_lo", SIM_SR_GLOBALTIMER_LO },
        { "%globaltimer_hi", SIM_SR_GLOBALTIMER_HI }, { "%lanemask_eq", SIM_SR_LANEMASK_EQ },
        { "%lanemask_lt", SIM_SR_LANEMASK_LT }, { "%lanemask_le", SIM_SR_LANEMASK_LE },
        { "%lanemask_gt", SIM_SR_LANEMASK_GT }, { "%lanemask_ge", SIM_SR_LANEMASK_GE },
        { "%dynamic_smem_size", SIM_SR_DYNSMEM }, { "%total_smem_size", SIM_SR_TOTALSMEM },
        { "%tid", -1 },
    };

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strlen(tab[i].n) == t->len && !memcmp(tab[i].n, t->s, t->len)) {
            return tab[i].v;
        }
    }
    if (t->len > 7 && !memcmp(t->s, "%envreg", 7)) {
        return SIM_SR_ENVREG;
    }
    if (t->len > 4 && !memcmp(t->s, "%pm", 3)) {
        return SIM_SR_ENVREG;
    }
    return 0;
}

/* Resolves a name inside a body into a POp (register, symbol, ...). */
static void resolve_name(Parser *ps, const Tok *t, POp *o)
{
    const FnName *nm = name_get(ps, t->s, t->len);

    o->name = *t;
    if (nm) {
        switch (nm->kind) {
        case FN_REG: o->kind = PO_REG; o->reg = nm->v; return;
        case FN_LOCAL: o->kind = PO_LOCALADDR; o->off = nm->v; return;
        case FN_KPARAM: o->kind = PO_KPARAMADDR; o->off = nm->v; return;
        case FN_LABEL: o->kind = PO_LABEL; o->off = nm->v; return;
        }
    }
    if (t->len == 7 && !memcmp(t->s, "WARP_SZ", 7)) {
        o->kind = PO_IMM;
        o->lit.kind = 0;
        o->lit.v = 32;
        return;
    }
    int sr = sreg_from(t);
    if (sr > 0) {
        o->kind = PO_SREG;
        o->sreg = sr;
        return;
    }
    int32_t si = smap_get(&ps->modsyms, t->s, t->len);
    if (si >= 0) {
        o->kind = PO_SYM;
        o->sym = si;
        return;
    }
    si = smap_get(&ps->funcs, t->s, t->len);
    if (si >= 0) {
        o->kind = PO_FUNC;
        o->sym = si;
        return;
    }
    if (t->s[0] == '%') {
        fail(ps, t->line, "undeclared register '%.*s'", (int)t->len, t->s);
    }
    /* Otherwise a label (possibly defined later). */
    o->kind = PO_LABEL;
    o->off = label_index(ps, t->s, t->len);
}

static void parse_operand(Parser *ps, POp *o)
{
    memset(o, 0, sizeof(*o));
    if (accept_p(ps, '[')) {
        Tok t = *peek(ps);

        o->kind = PO_ADDR;
        if (t.t == TK_ID) {
            POp b;

            next(ps);
            resolve_name(ps, &t, &b);
            switch (b.kind) {
            case PO_REG: o->abase = PO_REG; o->areg = b.reg; break;
            case PO_SYM: o->abase = PO_SYM; o->sym = b.sym; break;
            case PO_LOCALADDR: o->abase = PO_LOCALADDR; o->aoff = (int64_t)b.off; break;
            case PO_KPARAMADDR: o->abase = PO_KPARAMADDR; o->aoff = (int64_t)b.off; break;
            case PO_SREG: o->abase = PO_SREG; o->sreg = b.sreg; break;
            default:
                fail(ps, t.line, "bad address base '%.*s'", (int)t.len, t.s);
            }
            if (accept_p(ps, '+')) {
                Lit l = parse_lit(ps);
                if (l.kind) {
                    fail(ps, t.line, "bad address offset");
                }
                o->aoff += (int64_t)l.v;
            } else if (is_p(ps, '-')) {
                Lit l = parse_lit(ps);
                if (l.kind) {
                    fail(ps, t.line, "bad address offset");
                }
                o->aoff += (int64_t)l.v;
            }
        } else {
            Lit l = parse_lit(ps);
            if (l.kind) {
                fail(ps, t.line, "bad address");
            }
            o->abase = PO_IMM;
            o->aoff = (int64_t)l.v;
        }
        expect_p(ps, ']');
        return;
    }
    if (accept_p(ps, '{')) {
        o->kind = PO_VEC;
        do {
            Tok t = expect_id(ps, "a register");
            POp r;
            if (tok_is(&t, "_")) {
                r.kind = PO_SINK;
                r.reg = NOREG;
            } else {
                resolve_name(ps, &t, &r);
            }
            if ((r.kind != PO_REG && r.kind != PO_SINK) || o->nvec >= 8) {
                fail(ps, t.line, "bad vector operand");
            }
            o->vec[o->nvec++] = r.kind == PO_SINK ? NOREG : r.reg;
        } while (accept_p(ps, ','));
        expect_p(ps, '}');
        return;
    }
    if (accept_p(ps, '!')) {
        Tok t = expect_id(ps, "a predicate");
        resolve_name(ps, &t, o);
        if (o->kind != PO_REG) {
            fail(ps, t.line, "bad negated operand");
        }
        o->neg = true;
        return;
    }
    Tok *t = peek(ps);
    if (t->t == TK_NUM || (t->t == TK_P && t->s[0] == '-')) {
        o->kind = PO_IMM;
        o->lit = parse_lit(ps);
        return;
    }
    if (t->t == TK_ID) {
        Tok n = next(ps);
        if (tok_is(&n, "_")) {
            o->kind = PO_SINK;
            return;
        }
        resolve_name(ps, &n, o);
        if (o->kind == PO_SYM && accept_p(ps, '+')) {
            Lit l = parse_lit(ps);
            o->off = l.v;
        }
        return;
    }
    fail(ps, t->line, "bad operand '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
}

/* ---- code emission -------------------------------------------------- */

static void check_reg(Parser *ps, uint32_t reg, int ty, uint32_t line);

static SimInsn *emit(Parser *ps, uint32_t line)
{
    SimFunc *f = ps->fn;

    if (f->ncode >= MAX_INSNS_PER_FUNC) {
        fail(ps, line, "function too long");
    }
    GROW(ps, f->code, f->ncode, ps->capcode);
    SimInsn *in = &f->code[f->ncode++];
    memset(in, 0, sizeof(*in));
    in->pred = -1;
    in->line = line;
    in->vec = 1;
    for (int i = 0; i < 8; i++) {
        in->o[i] = NOREG;
    }
    return in;
}

/*
 * PTX operand rules: a predicate register only where a predicate is
 * expected, and a register of the instruction type's size (ld, st and cvt
 * accept wider registers).
 */
static void check_reg(Parser *ps, uint32_t reg, int ty, uint32_t line)
{
    uint8_t w = reg < ps->fn->nregs ? ps->rw[reg] : 0;
    uint32_t tsz = type_size(ty);
    bool relaxed = ps->cur_op == OP_LD || ps->cur_op == OP_ST || ps->cur_op == OP_CVT;

    if (!w || !ty) {
        return;
    }
    if ((ty == SIM_T_PRED) != (w == 0x81)) {
        fail(ps, line, ty == SIM_T_PRED ? "a predicate register is expected"
                                       : "a predicate register cannot be used here");
    }
    if (ty != SIM_T_PRED && tsz && (relaxed ? w < tsz : w != tsz)) {
        fail(ps, line, "register of %u bytes where the instruction type has %u", w, tsz);
    }
}

/* Materializes a value operand into a register (of instruction type @ty). */
static uint32_t val_reg(Parser *ps, POp *o, int ty, uint32_t line)
{
    switch (o->kind) {
    case PO_REG:
        check_reg(ps, o->reg, ty, line);
        return o->reg;
    case PO_IMM:
        return const_reg(ps, -1, lit_as(&o->lit, ty), line);
    case PO_SREG: {
        uint32_t r = new_reg(ps, line);
        SimInsn *in = emit(ps, line);
        in->op = OP_SREG;
        in->mod = (uint8_t)o->sreg;
        in->o[0] = r;
        return r;
    }
    case PO_SYM: {
        SimSym *s = &ps->prog->syms[o->sym];
        if (s->kind == SIM_SYM_SHARED_EXTERN) {
            uint32_t r = new_reg(ps, line);
            SimInsn *in = emit(ps, line);
            in->op = OP_SREG;
            in->mod = SIM_SR_DYNSMEM_BASE;
            in->o[0] = r;
            if (o->off) {
                uint32_t r2 = new_reg(ps, line);
                SimInsn *a = emit(ps, line);
                a->op = OP_ADD;
                a->type = SIM_T_U64;
                a->o[0] = r2;
                a->o[1] = r;
                a->o[2] = const_reg(ps, -1, o->off, line);
                return r2;
            }
            return r;
        }
        return const_reg(ps, o->sym, o->off, line);
    }
    case PO_LOCALADDR: {
        uint32_t r = new_reg(ps, line);
        SimInsn *in = emit(ps, line);
        in->op = OP_LADDR;
        in->o[0] = r;
        in->o[1] = const_reg(ps, -1, o->off, line);
        return r;
    }
    case PO_KPARAMADDR:
        return const_reg(ps, -1, SIM_WIN_PARAM + o->off, line);
    case PO_FUNC:
        return const_reg(ps, -1, SIM_FUNC_BASE + (uint64_t)o->sym * SIM_FUNC_STRIDE, line);
    default:
        fail(ps, line, "operand '%.*s' cannot be used as a value",
             (int)(o->name.len > 40 ? 40 : o->name.len), o->name.s ? o->name.s : "");
    }
}

static uint32_t dst_reg(Parser *ps, POp *o, uint32_t line)
{
    if (o->kind == PO_SINK) {
        return new_reg(ps, line);
    }
    if (o->kind != PO_REG) {
        fail(ps, line, "destination is not a register");
    }
    return o->reg;
}

/*
 * Fills the address of @in from @o for state space @sp; rewrites the space
 * when the base is a frame-local symbol (locals and call parameters).
 */
static void set_addr(Parser *ps, SimInsn *in, POp *o, uint32_t line)
{
    if (o->kind != PO_ADDR) {
        fail(ps, line, "expected an address operand");
    }
    in->imm = o->aoff;
    switch (o->abase) {
    case PO_REG:
        in->o[7] = o->areg;
        break;
    case PO_IMM:
        in->o[7] = ps->zero_reg;
        break;
    case PO_SREG: {
        POp s = { .kind = PO_SREG, .sreg = o->sreg };
        in->o[7] = val_reg(ps, &s, SIM_T_U64, line);
        break;
    }
    case PO_SYM: {
        SimSym *s = &ps->prog->syms[o->sym];
        POp v = { .kind = PO_SYM, .sym = o->sym };
        uint32_t idx = (uint32_t)(in - ps->fn->code);
        in->o[7] = val_reg(ps, &v, SIM_T_U64, line);
        in = &ps->fn->code[idx];
        (void)s;
        break;
    }
    case PO_LOCALADDR:
        in->o[7] = ps->zero_reg;
        in->flags |= SIM_F_FRAME;
        if (in->space == SIM_SP_PARAM || in->space == SIM_SP_LOCAL ||
            in->space == SIM_SP_GENERIC || in->space == SIM_SP_NONE) {
            in->space = SIM_SP_LOCAL;
        }
        break;
    case PO_KPARAMADDR:
        in->o[7] = ps->zero_reg;
        if (in->space == SIM_SP_GENERIC || in->space == SIM_SP_NONE) {
            in->imm += (int64_t)SIM_WIN_PARAM;
        } else {
            in->space = SIM_SP_PARAM;
        }
        break;
    }
}

static void need_ops(Parser *ps, int n, int want_min, int want_max, uint32_t line,
                     const char *opname)
{
    if (n < want_min || n > want_max) {
        fail(ps, line, "wrong number of operands for %s", opname);
    }
}

static int first_type(Parser *ps, const Mods *m, uint32_t line)
{
    if (!m->ntypes) {
        fail(ps, line, "instruction needs a type");
    }
    return m->types[0];
}

/* Parses "call[.uni] (ret), f, (args);" into an insn and a SimCall. */
static void parse_call(Parser *ps, SimInsn *in0, uint32_t line)
{
    SimProgram *p = ps->prog;
    SimCall c;
    POp o;
    uint32_t idx = (uint32_t)(in0 - ps->fn->code);

    memset(&c, 0, sizeof(c));
    c.ret_off = -1;
    if (accept_p(ps, '(')) {
        parse_operand(ps, &o);
        if (o.kind != PO_LOCALADDR) {
            fail(ps, line, "call return value must be a .param variable");
        }
        const FnName *nm = name_get(ps, o.name.s, o.name.len);
        c.ret_off = (int32_t)o.off;
        c.ret_size = nm ? nm->size : 0;
        expect_p(ps, ')');
        expect_p(ps, ',');
    }
    Tok fname = expect_id(ps, "a function name");
    int32_t fi = smap_get(&ps->funcs, fname.s, fname.len);
    uint32_t target_reg = UINT32_MAX;
    if (fi < 0) {
        const FnName *nm = name_get(ps, fname.s, fname.len);
        if (!nm || nm->kind != FN_REG) {
            fail(ps, fname.line, "call of undeclared function '%.*s'", (int)fname.len,
                 fname.s);
        }
        /* Indirect call through a register holding a function address. */
        target_reg = nm->v;
        check_reg(ps, target_reg, SIM_T_U64, fname.line);
    }
    c.func = fi;
    if (accept_p(ps, ',')) {
        if (accept_p(ps, '(')) {
            if (!is_p(ps, ')')) {
                do {
                    parse_operand(ps, &o);
                    if (o.kind != PO_LOCALADDR || c.nargs >= 32) {
                        fail(ps, line, "call arguments must be .param variables "
                             "(at most 32)");
                    }
                    const FnName *nm = name_get(ps, o.name.s, o.name.len);
                    c.arg_off[c.nargs] = (uint32_t)o.off;
                    c.arg_size[c.nargs] = nm ? nm->size : 0;
                    c.nargs++;
                } while (accept_p(ps, ','));
            }
            expect_p(ps, ')');
            if (accept_p(ps, ',')) {
                /* the prototype label (or call table) of an indirect call */
                expect_id(ps, "a prototype");
            }
        } else {
            expect_id(ps, "a prototype");
        }
    }
    expect_p(ps, ';');
    if (p->ncalls >= (1u << 20)) {
        fail(ps, line, "too many calls");
    }
    p->calls = xrealloc(ps, p->calls, (p->ncalls + 1) * sizeof(*p->calls));
    p->calls[p->ncalls] = c;
    SimInsn *in = &ps->fn->code[idx];
    in->target = p->ncalls++;
    in->o[0] = target_reg;
}

static void parse_insn(Parser *ps, Tok optok, int32_t pred, bool pneg)
{
    uint32_t line = optok.line;
    const char *dot = memchr(optok.s, '.', optok.len);
    uint32_t blen = dot ? (uint32_t)(dot - optok.s) : optok.len;
    int op = find_op(optok.s, blen);
    Mods m;
    POp ops[8];
    int n = 0;

    if (op < 0) {
        fail(ps, line, "unknown instruction '%.*s'", (int)(optok.len > 40 ? 40 : optok.len),
             optok.s);
    }
    ps->cur_op = op;
    if (dot) {
        parse_mods(ps, op, dot + 1, optok.len - blen - 1, &m, line);
    } else {
        memset(&m, 0, sizeof(m));
        m.vec = 1;
    }
    if (op == OP_CALL) {
        SimInsn *in = emit(ps, line);
        in->op = OP_CALL;
        in->pred = pred;
        in->pneg = pneg;
        parse_call(ps, in, line);
        return;
    }
    if (!is_p(ps, ';')) {
        do {
            if (n >= 8) {
                fail(ps, line, "too many operands");
            }
            parse_operand(ps, &ops[n++]);
            if (accept_p(ps, '|')) {
                /* setp p|q: second destination */
                if (n >= 8) {
                    fail(ps, line, "too many operands");
                }
                parse_operand(ps, &ops[n]);
                ops[n - 1].nvec = 1;
                ops[n - 1].vec[0] = ops[n].kind == PO_SINK ? NOREG : ops[n].reg;
                if (ops[n].kind != PO_REG && ops[n].kind != PO_SINK) {
                    fail(ps, line, "bad second destination");
                }
            }
        } while (accept_p(ps, ','));
    }
    expect_p(ps, ';');

    int ty = m.ntypes ? m.types[0] : SIM_T_NONE;
    /* Operands first (they may emit helper instructions), then the insn. */
    SimInsn tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.pred = pred;
    tmp.pneg = pneg;
    tmp.line = line;
    tmp.vec = 1;
    for (int i = 0; i < 8; i++) {
        tmp.o[i] = NOREG;
    }
    tmp.op = (uint16_t)op;
    tmp.type = (uint8_t)ty;
    tmp.type2 = (uint8_t)(m.ntypes > 1 ? m.types[1] : ty);
    tmp.rnd = (uint8_t)m.rnd;
    tmp.space = (uint8_t)m.space;
    tmp.flags = (uint16_t)m.flags;
    const char *on = op_names[op] ? op_names[op] : "instruction";

    switch (op) {
    case OP_NOP: case OP_MEMBAR: case OP_PREFETCH:
        tmp.op = OP_NOP;
        break;
    case OP_TRAP:
        break;
    case OP_RET: case OP_EXIT:
        need_ops(ps, n, 0, 0, line, on);
        break;
    case OP_BRA:
        need_ops(ps, n, 1, 1, line, on);
        if (ops[0].kind != PO_LABEL) {
            fail(ps, line, "branch target is not a label");
        }
        tmp.target = (uint32_t)ops[0].off;
        break;
    case OP_MOV:
        need_ops(ps, n, 2, 2, line, on);
        first_type(ps, &m, line);
        if (ops[1].kind == PO_VEC) {
            tmp.op = OP_MOVPACK;
            tmp.vec = (uint8_t)ops[1].nvec;
            for (int i = 0; i < ops[1].nvec; i++) {
                tmp.o[1 + i] = ops[1].vec[i] == NOREG ? ps->zero_reg : ops[1].vec[i];
            }
            tmp.o[0] = dst_reg(ps, &ops[0], line);
        } else if (ops[0].kind == PO_VEC) {
            tmp.op = OP_MOVUNPACK;
            tmp.vec = (uint8_t)ops[0].nvec;
            for (int i = 0; i < ops[0].nvec; i++) {
                tmp.o[i] = ops[0].vec[i] == NOREG ? new_reg(ps, line) : ops[0].vec[i];
            }
            tmp.o[7] = val_reg(ps, &ops[1], ty, line);
        } else {
                tmp.o[1] = val_reg(ps, &ops[1], ty, line);
            tmp.o[0] = dst_reg(ps, &ops[0], line);
        }
        break;
    case OP_LD: {
        need_ops(ps, n, 2, 2, line, on);
        first_type(ps, &m, line);
        if (!m.space) {
            tmp.space = SIM_SP_GENERIC;
        }
        tmp.vec = (uint8_t)m.vec;
        if (ops[0].kind == PO_VEC) {
            if (ops[0].nvec != m.vec) {
                fail(ps, line, "vector size mismatch");
            }
            for (int i = 0; i < m.vec; i++) {
                tmp.o[i] = ops[0].vec[i] == NOREG ? new_reg(ps, line) : ops[0].vec[i];
            }
        } else {
            if (m.vec != 1) {
                fail(ps, line, "vector load needs a vector destination");
            }
            tmp.o[0] = dst_reg(ps, &ops[0], line);
        }
        /* Signed loads into wider registers sign-extend to the register. */
        if (tsigned_ty(ty) && type_size(ty) < 8 && tmp.o[0] < ps->fn->nregs &&
            ps->rw[tmp.o[0]] == 8) {
            tmp.flags |= SIM_F_WIDE;
        }
        SimInsn *in = emit(ps, line);
        uint32_t idx = (uint32_t)(in - ps->fn->code);
        *in = tmp;
        set_addr(ps, &ps->fn->code[idx], &ops[1], line);
        /* set_addr may have emitted helpers after the load; move it last. */
        if (ps->fn->ncode - 1 != idx) {
            SimInsn ld = ps->fn->code[idx];
            memmove(&ps->fn->code[idx], &ps->fn->code[idx + 1],
                    (ps->fn->ncode - 1 - idx) * sizeof(SimInsn));
            ps->fn->code[ps->fn->ncode - 1] = ld;
        }
        return;
    }
    case OP_ST: {
        need_ops(ps, n, 2, 2, line, on);
        first_type(ps, &m, line);
        if (!m.space) {
            tmp.space = SIM_SP_GENERIC;
        }
        tmp.vec = (uint8_t)m.vec;
        if (ops[1].kind == PO_VEC) {
            if (ops[1].nvec != m.vec) {
                fail(ps, line, "vector size mismatch");
            }
            for (int i = 0; i < m.vec; i++) {
                tmp.o[i] = ops[1].vec[i] == NOREG ? ps->zero_reg : ops[1].vec[i];
            }
        } else {
            if (m.vec != 1) {
                fail(ps, line, "vector store needs a vector source");
            }
            tmp.o[0] = val_reg(ps, &ops[1], ty, line);
        }
        SimInsn *in = emit(ps, line);
        uint32_t idx = (uint32_t)(in - ps->fn->code);
        *in = tmp;
        set_addr(ps, &ps->fn->code[idx], &ops[0], line);
        if (ps->fn->ncode - 1 != idx) {
            SimInsn st = ps->fn->code[idx];
            memmove(&ps->fn->code[idx], &ps->fn->code[idx + 1],
                    (ps->fn->ncode - 1 - idx) * sizeof(SimInsn));
            ps->fn->code[ps->fn->ncode - 1] = st;
        }
        return;
    }
    case OP_ATOM: case OP_RED: {
        int ai = op == OP_ATOM ? 1 : 0;
        need_ops(ps, n, ai + 2, ai + 3, line, on);
        first_type(ps, &m, line);
        if (!m.atom) {
            fail(ps, line, "%s needs an operation", on);
        }
        tmp.mod = (uint8_t)m.atom;
        if (!m.space) {
            tmp.space = SIM_SP_GENERIC;
        }
        if (m.atom == SIM_ATOM_CAS && n != ai + 3) {
            fail(ps, line, "atom.cas needs two values");
        }
        tmp.o[1] = val_reg(ps, &ops[ai + 1], ty, line);
        if (n == ai + 3) {
            tmp.o[2] = val_reg(ps, &ops[ai + 2], ty, line);
        }
        tmp.o[0] = ai ? dst_reg(ps, &ops[0], line) : new_reg(ps, line);
        SimInsn *in = emit(ps, line);
        uint32_t idx = (uint32_t)(in - ps->fn->code);
        *in = tmp;
        set_addr(ps, &ps->fn->code[idx], &ops[ai], line);
        if (ps->fn->ncode - 1 != idx) {
            SimInsn a = ps->fn->code[idx];
            memmove(&ps->fn->code[idx], &ps->fn->code[idx + 1],
                    (ps->fn->ncode - 1 - idx) * sizeof(SimInsn));
            ps->fn->code[ps->fn->ncode - 1] = a;
        }
        if (tmp.space == SIM_SP_LOCAL || tmp.space == SIM_SP_PARAM ||
            tmp.space == SIM_SP_CONST) {
            fail(ps, line, "atomics need global or shared memory");
        }
        return;
    }
    case OP_CVTA:
        need_ops(ps, n, 2, 2, line, on);
        first_type(ps, &m, line);
        if (m.to) {
            tmp.flags |= SIM_F_TO;
        }
        if (!m.space) {
            fail(ps, line, "cvta needs a state space");
        }
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_SETP: case OP_SET: {
        need_ops(ps, n, 3, 4, line, on);
        first_type(ps, &m, line);
        if (!m.cmp) {
            fail(ps, line, "%s needs a comparison", on);
        }
        int cty = op == OP_SET ? tmp.type2 : ty;
        tmp.mod = (uint8_t)m.cmp;
        tmp.mod2 = (uint8_t)m.boolop;
        tmp.type2 = (uint8_t)cty;
        tmp.o[2] = val_reg(ps, &ops[1], cty, line);
        tmp.o[3] = val_reg(ps, &ops[2], cty, line);
        if (n == 4) {
            if (!m.boolop) {
                fail(ps, line, "setp with a predicate operand needs .and/.or/.xor");
            }
            tmp.o[4] = val_reg(ps, &ops[3], SIM_T_PRED, line);
            if (ops[3].neg) {
                tmp.flags |= SIM_F_NEGC;
            }
        } else if (m.boolop) {
            fail(ps, line, "%s.%s needs a predicate operand", on, "bool");
        }
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        if (op == OP_SETP && ops[0].nvec) {
            tmp.o[1] = ops[0].vec[0] == NOREG ? new_reg(ps, line) : ops[0].vec[0];
        }
        break;
    }
    case OP_SELP:
        need_ops(ps, n, 4, 4, line, on);
        first_type(ps, &m, line);
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[2] = val_reg(ps, &ops[2], ty, line);
        tmp.o[3] = val_reg(ps, &ops[3], SIM_T_PRED, line);
        if (ops[3].neg) {
            tmp.flags |= SIM_F_NEGC;
        }
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_SLCT:
        need_ops(ps, n, 4, 4, line, on);
        if (m.ntypes != 2) {
            fail(ps, line, "slct needs two types");
        }
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[2] = val_reg(ps, &ops[2], ty, line);
        tmp.o[3] = val_reg(ps, &ops[3], tmp.type2, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_BAR: {
        /* bar.sync a{, b}; barrier.sync; bar.warp.sync m; bar.red.popc.u32 d, a, {b,} p */
        if (optok.len >= 8 && !memcmp(optok.s, "bar.warp", 8)) {
            need_ops(ps, n, 1, 1, line, on);
            tmp.op = OP_BARWARP;
            tmp.o[1] = val_reg(ps, &ops[0], SIM_T_U32, line);
            break;
        }
        if (m.red_popc || m.atom) {
            /* bar.red.{popc.u32,and.pred,or.pred} d, a{, b}, {!}c */
            if (m.red_popc) {
                tmp.mod2 = 1;
            } else if (m.atom == SIM_ATOM_AND) {
                tmp.mod2 = 2;
            } else if (m.atom == SIM_ATOM_OR) {
                tmp.mod2 = 3;
            } else {
                fail(ps, line, "unsupported bar.red operation");
            }
            need_ops(ps, n, 3, 4, line, on);
            tmp.o[1] = val_reg(ps, &ops[1], SIM_T_U32, line);
            if (n == 4) {
                tmp.o[2] = val_reg(ps, &ops[2], SIM_T_U32, line);
            }
            tmp.o[3] = val_reg(ps, &ops[n - 1], SIM_T_PRED, line);
            if (ops[n - 1].neg) {
                tmp.flags |= SIM_F_NEGC;
            }
            tmp.o[0] = dst_reg(ps, &ops[0], line);
            break;
        }
        if (m.arrive) {
            tmp.flags |= SIM_F_ARRIVE;
        }
        need_ops(ps, n, 0, 2, line, on);
        tmp.o[1] = n >= 1 ? val_reg(ps, &ops[0], SIM_T_U32, line)
                          : const_reg(ps, -1, 0, line);
        if (n == 2) {
            tmp.o[2] = val_reg(ps, &ops[1], SIM_T_U32, line);
        }
        break;
    }
    case OP_SHFL: {
        if (!m.sync) {
            fail(ps, line, "shfl without .sync is not supported (sm_70+)");
        }
        need_ops(ps, n, 5, 5, line, on);
        if (!m.mode) {
            fail(ps, line, "shfl needs a mode");
        }
        tmp.mod = (uint8_t)m.mode;
        tmp.type = SIM_T_B32;
        tmp.o[1] = val_reg(ps, &ops[1], SIM_T_B32, line);
        tmp.o[2] = val_reg(ps, &ops[2], SIM_T_B32, line);
        tmp.o[3] = val_reg(ps, &ops[3], SIM_T_B32, line);
        tmp.o[4] = val_reg(ps, &ops[4], SIM_T_B32, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        if (ops[0].nvec) {
            tmp.o[5] = ops[0].vec[0] == NOREG ? new_reg(ps, line) : ops[0].vec[0];
        }
        break;
    }
    case OP_VOTE:
        if (!m.mode) {
            fail(ps, line, "vote needs a mode");
        }
        need_ops(ps, n, m.sync ? 3 : 2, m.sync ? 3 : 2, line, on);
        tmp.mod = (uint8_t)m.mode;
        tmp.o[1] = val_reg(ps, &ops[1], SIM_T_PRED, line);
        if (ops[1].neg) {
            tmp.flags |= SIM_F_NEGC;
        }
        tmp.o[2] = m.sync ? val_reg(ps, &ops[2], SIM_T_B32, line)
                          : const_reg(ps, -1, 0xffffffffu, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_MATCH:
        need_ops(ps, n, 3, 3, line, on);
        first_type(ps, &m, line);
        if (!m.mode) {
            fail(ps, line, "match needs .any or .all");
        }
        tmp.mod = (uint8_t)m.mode;
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[2] = val_reg(ps, &ops[2], SIM_T_B32, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        if (ops[0].nvec) {
            tmp.o[5] = ops[0].vec[0] == NOREG ? new_reg(ps, line) : ops[0].vec[0];
        }
        break;
    case OP_REDUX:
        need_ops(ps, n, 3, 3, line, on);
        first_type(ps, &m, line);
        if (!m.atom) {
            fail(ps, line, "redux needs an operation");
        }
        tmp.mod = (uint8_t)m.atom;
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[2] = val_reg(ps, &ops[2], SIM_T_B32, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_ACTIVEMASK:
        need_ops(ps, n, 1, 1, line, on);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_NANOSLEEP:
        need_ops(ps, n, 1, 1, line, on);
        tmp.o[1] = val_reg(ps, &ops[0], SIM_T_U32, line);
        break;
    case OP_CVT:
        need_ops(ps, n, 2, 2, line, on);
        if (m.ntypes != 2) {
            fail(ps, line, "cvt needs two types");
        }
        tmp.o[1] = val_reg(ps, &ops[1], tmp.type2, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_ISSPACEP:
        need_ops(ps, n, 2, 2, line, on);
        if (!m.space) {
            fail(ps, line, "isspacep needs a space");
        }
        tmp.o[1] = val_reg(ps, &ops[1], SIM_T_U64, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    case OP_TESTP:
        need_ops(ps, n, 2, 2, line, on);
        first_type(ps, &m, line);
        tmp.mod = (uint8_t)m.mode;
        tmp.o[1] = val_reg(ps, &ops[1], ty, line);
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        break;
    default: {
        /* Plain ALU: d, a [, b [, c [, e]]]. */
        static const int8_t nsrc[OP_COUNT] = {
            [OP_ADD] = 2, [OP_SUB] = 2, [OP_MUL] = 2, [OP_MAD] = 3,
            [OP_MUL24] = 2, [OP_MAD24] = 3, [OP_SAD] = 3, [OP_DIV] = 2,
            [OP_REM] = 2, [OP_ABS] = 1, [OP_NEG] = 1, [OP_MIN] = 2,
            [OP_MAX] = 2, [OP_AND] = 2, [OP_OR] = 2, [OP_XOR] = 2,
            [OP_NOT] = 1, [OP_CNOT] = 1, [OP_SHL] = 2, [OP_SHR] = 2,
            [OP_POPC] = 1, [OP_CLZ] = 1, [OP_BREV] = 1, [OP_BFE] = 3,
            [OP_BFI] = 4, [OP_PRMT] = 3, [OP_FMA] = 3, [OP_RCP] = 1,
            [OP_SQRT] = 1, [OP_RSQRT] = 1, [OP_EX2] = 1, [OP_LG2] = 1,
            [OP_SIN] = 1, [OP_COS] = 1, [OP_TANH] = 1, [OP_COPYSIGN] = 2,
            [OP_LOP3] = 4, [OP_SHF] = 3, [OP_FNS] = 3, [OP_DP4A] = 3,
            [OP_DP2A] = 3, [OP_ADDC] = 2, [OP_SUBC] = 2, [OP_BFIND] = 1, [OP_MADC] = 3,
        };
        int ns = op < OP_COUNT ? nsrc[op] : 0;
        if (!ns) {
            fail(ps, line, "unsupported instruction '%.*s'", (int)optok.len, optok.s);
        }
        need_ops(ps, n, ns + 1, ns + 1, line, on);
        first_type(ps, &m, line);
        if (op == OP_PRMT) {
            tmp.mod = (uint8_t)m.mode;
        }
        if (op == OP_SHF) {
            if (m.shf_r) {
                tmp.flags |= SIM_F_SHFR;
            }
            if (m.clamp) {
                tmp.flags |= SIM_F_CLAMP;
            }
        }
        if (op == OP_BFIND && m.shiftamt) {
            tmp.flags |= SIM_F_SHIFTAMT;
        }
        for (int i = 0; i < ns; i++) {
            int sty = ty;
            /* Operand types that differ from the instruction type. */
            if ((op == OP_SHL || op == OP_SHR) && i == 1) sty = SIM_T_U32;
            if (op == OP_BFE && i > 0) sty = SIM_T_U32;
            if (op == OP_BFI && i > 1) sty = SIM_T_U32;
            if ((op == OP_MAD || op == OP_MADC) && (m.flags & SIM_F_WIDE) && i == 2) {
                sty = ty == SIM_T_S32 ? SIM_T_S64 : ty == SIM_T_U32 ? SIM_T_U64 :
                      ty == SIM_T_S16 ? SIM_T_S32 : SIM_T_U32;
            }
            if (op == OP_LOP3 && i == 3) sty = SIM_T_B32;
            if (op == OP_SHF && i == 2) sty = SIM_T_U32;
            if (op == OP_DP4A || op == OP_DP2A) sty = m.types[i < 2 ? i : 0];
            if ((op == OP_DP4A || op == OP_DP2A) && i == 2 && m.ntypes >= 2) {
                sty = SIM_T_S32;
            }
            if (op == OP_FNS && i == 2) sty = SIM_T_S32;
            tmp.o[1 + i] = val_reg(ps, &ops[1 + i], sty, line);
        }
        if (op == OP_DP4A || op == OP_DP2A) {
            if (m.ntypes != 2) {
                fail(ps, line, "dp4a needs two types");
            }
            if (m.flags & SIM_F_HI) {
                tmp.flags |= SIM_F_HI;
            }
        }
        tmp.o[0] = dst_reg(ps, &ops[0], line);
        if (ops[0].kind == PO_REG && op != OP_DP4A && op != OP_DP2A) {
            /* Destination: the result type's size. */
            int dty = ty;
            if ((op == OP_MUL || op == OP_MAD || op == OP_MADC) && (m.flags & SIM_F_WIDE)) {
                dty = type_size(ty) == 4 ? SIM_T_B64 : type_size(ty) == 2 ? SIM_T_B32 : SIM_T_B16;
            }
            if (op == OP_POPC || op == OP_CLZ || op == OP_BFIND) {
                dty = SIM_T_B32;
            }
            check_reg(ps, tmp.o[0], dty, line);
        }

        break;
    }
    }
    SimInsn *in = emit(ps, line);
    *in = tmp;
}

/* ---- declarations in bodies ---------------------------------------- */

#define CHUNK 65536

static char *arena_str(Parser *ps, const char *s, size_t n)
{
    if (!ps->nchunks || ps->chunk_used + n + 1 > CHUNK) {
        GROW(ps, ps->chunks, ps->nchunks, ps->capchunks);
        ps->chunks[ps->nchunks++] = xrealloc(ps, NULL, CHUNK);
        ps->chunk_used = 0;
    }
    char *k = ps->chunks[ps->nchunks - 1] + ps->chunk_used;
    memcpy(k, s, n);
    k[n] = 0;
    ps->chunk_used += n + 1;
    return k;
}

static void parse_reg_decl(Parser *ps, uint32_t line)
{
    uint32_t align, vec;
    Tok *tt = peek(ps);
    bool is_pred = tok_is(tt, ".pred");
    uint32_t esz = parse_decl_type(ps, &align, &vec) * vec;

    if (is_pred) {
        esz = 0x81;
    }

    do {
        Tok nm = expect_id(ps, "a register name");
        if (accept_p(ps, '<')) {
            uint64_t cnt = parse_uint(ps, SIM_MAX_REGS);
            expect_p(ps, '>');
            if (nm.len > 200) {
                fail(ps, line, "register name too long");
            }
            for (uint64_t i = 0; i < cnt; i++) {
                char buf[224];
                int l = snprintf(buf, sizeof(buf), "%.*s%llu", (int)nm.len, nm.s,
                                 (unsigned long long)i);
                char *k = arena_str(ps, buf, (size_t)l);
                uint32_t r = new_reg(ps, line);
                ps->rw[r] = (uint8_t)(esz == 0x81 ? esz : esz > 8 ? 8 : esz);
                name_add(ps, k, (uint32_t)l, FN_REG, r, 0);
                ps->fn->ndecl_regs++;
            }
        } else {
            uint32_t r = new_reg(ps, line);
            ps->rw[r] = (uint8_t)(esz == 0x81 ? esz : esz > 8 ? 8 : esz);
            name_add(ps, nm.s, nm.len, FN_REG, r, 0);
            ps->fn->ndecl_regs++;
        }
    } while (accept_p(ps, ','));
    expect_p(ps, ';');
}

/* .local/.param inside a body: a slot in the function's local frame. */
static void parse_frame_var(Parser *ps, uint32_t line)
{
    uint32_t align, vec;
    uint32_t esz = parse_decl_type(ps, &align, &vec);
    Tok nm = expect_id(ps, "a variable name");
    bool unsized;
    uint64_t n = parse_dims(ps, &unsized);
    uint64_t size = n * esz * vec;
    uint64_t off = align_up(ps->fn->frame_bytes, align ? align : 1);

    if (unsized || off + size > SIM_LOCAL_PER_LANE / 2) {
        fail(ps, line, "local variable too large");
    }
    ps->fn->frame_bytes = (uint32_t)(off + size);
    name_add(ps, nm.s, nm.len, FN_LOCAL, (uint32_t)off, (uint32_t)size);
    if (accept_p(ps, '=')) {
        fail(ps, line, "initializers on local variables are not supported");
    }
    expect_p(ps, ';');
}

static void resolve_labels(Parser *ps)
{
    SimFunc *f = ps->fn;

    for (uint32_t i = 0; i < f->ncode; i++) {
        SimInsn *in = &f->code[i];

        if (in->op == OP_BRA) {
            if (in->target >= ps->nlabels || ps->label_pc[in->target] == UINT32_MAX) {
                fail(ps, in->line, "branch to undefined label");
            }
            in->target = ps->label_pc[in->target];
        }
    }
}

static void parse_body(Parser *ps)
{
    SimFunc *f = ps->fn;

    ps->zero_reg = const_reg(ps, -1, 0, f->line);
    ps->cur_op = -1;
    for (;;) {
        Tok t = next(ps);

        if (t.t == TK_EOF) {
            fail(ps, t.line, "unexpected end of text inside a function");
        }
        if (t.t == TK_P && t.s[0] == '{') {
            scope_push(ps, t.line);
            continue;
        }
        if (t.t == TK_P && t.s[0] == '}') {
            if (ps->depth == 1) {
                scope_pop(ps);
                break;
            }
            scope_pop(ps);
            continue;
        }
        if (t.t == TK_P && t.s[0] == '@') {
            bool neg = accept_p(ps, '!');
            Tok pn = expect_id(ps, "a predicate");
            const FnName *nm = name_get(ps, pn.s, pn.len);
            if (!nm || nm->kind != FN_REG) {
                fail(ps, pn.line, "unknown predicate '%.*s'", (int)pn.len, pn.s);
            }
            Tok opt = expect_id(ps, "an instruction");
            parse_insn(ps, opt, (int32_t)nm->v, neg);
            continue;
        }
        if (t.t != TK_ID) {
            fail(ps, t.line, "unexpected '%.*s'", (int)(t.len > 40 ? 40 : t.len), t.s);
        }
        if (is_p(ps, ':')) {
            next(ps);
            if (tok_is(peek(ps), ".callprototype") || tok_is(peek(ps), ".calltargets") ||
                tok_is(peek(ps), ".branchtargets")) {
                skip_to_semi(ps);
                continue;
            }
            uint32_t li = label_index(ps, t.s, t.len);
            if (ps->label_pc[li] != UINT32_MAX) {
                fail(ps, t.line, "label '%.*s' defined twice", (int)t.len, t.s);
            }
            ps->label_pc[li] = f->ncode;
            continue;
        }
        if (tok_is(&t, ".reg")) {
            parse_reg_decl(ps, t.line);
        } else if (tok_is(&t, ".local") || tok_is(&t, ".param")) {
            parse_frame_var(ps, t.line);
        } else if (tok_is(&t, ".shared")) {
            /* Demoted variable of an entry, or a .func's static shared. */
            uint32_t before = ps->prog->nsyms;
            parse_var(ps, SIM_SYM_SHARED, false, t.line);
            if (ps->prog->nsyms > before) {
                SimSym *s = &ps->prog->syms[ps->prog->nsyms - 1];
                if (f->is_entry) {
                    s->kind = SIM_SYM_SHARED_OWN;
                    s->owner = ps->fn_index;
                }
            }
        } else if (tok_is(&t, ".loc") || tok_is(&t, ".file")) {
            skip_line(ps);
        } else if (tok_is(&t, ".pragma")) {
            skip_to_semi(ps);
        } else if (tok_is(&t, ".extern")) {
            Tok s = expect_id(ps, ".shared");
            if (!tok_is(&s, ".shared")) {
                fail(ps, s.line, "only .extern .shared is allowed in a body");
            }
            parse_var(ps, SIM_SYM_SHARED, true, t.line);
        } else if (t.s[0] == '.') {
            fail(ps, t.line, "unsupported directive '%.*s'", (int)(t.len > 40 ? 40 : t.len), t.s);
        } else {
            parse_insn(ps, t, -1, false);
        }
    }
    resolve_labels(ps);
    /* Falling off the end returns. */
    SimInsn *in = emit(ps, ps->line);
    in->op = OP_RET;
}

static void parse_param_list(Parser *ps, SimFunc *f, bool entry)
{
    expect_p(ps, '(');
    if (accept_p(ps, ')')) {
        return;
    }
    do {
        Tok d = expect_id(ps, ".param");
        uint32_t align, vec;

        if (!tok_is(&d, ".param") && !tok_is(&d, ".reg")) {
            fail(ps, d.line, "expected .param");
        }
        uint32_t esz = parse_decl_type(ps, &align, &vec);
        Tok nm = expect_id(ps, "a parameter name");
        bool unsized;
        uint64_t n = parse_dims(ps, &unsized);
        uint64_t size = n * esz * vec;
        if (f->nparams >= VGPU_MAX_PARAMS || size > 32768 || unsized) {
            fail(ps, d.line, "parameter list too large");
        }
        if (!align) {
            align = esz;
        }
        f->params = xrealloc(ps, f->params, (f->nparams + 1) * sizeof(*f->params));
        SimParam *pp = &f->params[f->nparams++];
        pp->size = (uint32_t)size;
        pp->align = align;
        if (entry) {
            pp->offset = (uint32_t)align_up(f->param_bytes, align);
            f->param_bytes = pp->offset + pp->size;
            if (f->param_bytes > 32764) {
                fail(ps, d.line, "parameters exceed 32764 bytes");
            }
            name_add(ps, nm.s, nm.len, FN_KPARAM, pp->offset, pp->size);
        } else {
            pp->offset = (uint32_t)align_up(f->frame_bytes, align);
            f->frame_bytes = pp->offset + pp->size;
            name_add(ps, nm.s, nm.len, FN_LOCAL, pp->offset, pp->size);
        }
    } while (accept_p(ps, ','));
    expect_p(ps, ')');
}

static void fn_reset(Parser *ps)
{
    for (uint32_t i = 0; i < ps->nchunks; i++) {
        free(ps->chunks[i]);
    }
    ps->nchunks = 0;
    ps->chunk_used = 0;
    smap_clear(&ps->names);
    ps->nfnames = 0;
    ps->nundo = 0;
    ps->depth = 0;
    free(ps->consts.e);
    memset(&ps->consts, 0, sizeof(ps->consts));
    ps->nlabels = 0;
}

static int32_t func_add(Parser *ps, const Tok *name, bool entry)
{
    SimProgram *p = ps->prog;
    int32_t fi = smap_get(&ps->funcs, name->s, name->len);

    if (fi >= 0) {
        if (p->funcs[fi].is_entry != entry) {
            fail(ps, name->line, "'%.*s' redeclared differently", (int)name->len, name->s);
        }
        return fi;
    }
    if (p->nfuncs >= 65536) {
        fail(ps, name->line, "too many functions");
    }
    p->funcs = xrealloc(ps, p->funcs, (p->nfuncs + 1) * sizeof(*p->funcs));
    SimFunc *f = &p->funcs[p->nfuncs];
    memset(f, 0, sizeof(*f));
    f->name = xrealloc(ps, NULL, name->len + 1);
    memcpy(f->name, name->s, name->len);
    f->name[name->len] = 0;
    f->is_entry = entry;
    f->line = name->line;
    smap_set(ps, &ps->funcs, f->name, name->len, (int32_t)p->nfuncs);
    return (int32_t)p->nfuncs++;
}

static void parse_function(Parser *ps, bool entry, uint32_t line)
{
    SimProgram *p = ps->prog;
    SimFunc *tf = &ps->tmpf;
    bool has_ret = false;

    free(tf->params);
    memset(tf, 0, sizeof(*tf));
    fn_reset(ps);
    ps->fn = tf;
    scope_push(ps, line);
    if (!entry && is_p(ps, '(')) {
        /* return parameter */
        parse_param_list(ps, tf, false);
        if (tf->nparams != 1) {
            fail(ps, line, "a function returns exactly one parameter");
        }
        has_ret = true;
    }
    Tok name = expect_id(ps, "a function name");
    if (name.s[0] == '%' || name.s[0] == '.') {
        fail(ps, name.line, "bad function name");
    }
    int32_t fi = func_add(ps, &name, entry);
    SimFunc *f = &p->funcs[fi];
    if (f->defined) {
        fail(ps, name.line, "function '%.*s' defined twice", (int)name.len, name.s);
    }
    /* Rebuild the frame from scratch: declarations may repeat. */
    free(f->params);
    f->params = NULL;
    f->nparams = 0;
    f->param_bytes = 0;
    f->frame_bytes = tf->frame_bytes;
    f->has_ret = has_ret;
    if (has_ret) {
        f->ret_off = tf->params[0].offset;
        f->ret_size = tf->params[0].size;
    }
    free(tf->params);
    tf->params = NULL;
    ps->fn = f;
    ps->fn_index = fi;
    if (is_p(ps, '(')) {
        parse_param_list(ps, f, entry);
    }
    /* Performance directives and attributes. */
    for (;;) {
        Tok *t = peek(ps);
        if (tok_is(t, ".maxntid") || tok_is(t, ".reqntid")) {
            next(ps);
            uint64_t v = 1;
            do {
                v *= parse_uint(ps, 1024);
            } while (accept_p(ps, ','));
            f->maxntid = (uint32_t)(v > 1024 ? 1024 : v);
        } else if (tok_is(t, ".minnctapersm") || tok_is(t, ".maxnreg") ||
                   tok_is(t, ".maxnctapersm") || tok_is(t, ".maxclusterrank") ||
                   tok_is(t, ".reqnctapercluster") || tok_is(t, ".explicitcluster")) {
            next(ps);
            if (peek(ps)->t == TK_NUM) {
                do {
                    parse_uint(ps, UINT32_MAX);
                } while (accept_p(ps, ','));
            }
        } else if (tok_is(t, ".noreturn")) {
            next(ps);
        } else if (tok_is(t, ".pragma")) {
            next(ps);
            skip_to_semi(ps);
        } else {
            break;
        }
    }
    if (accept_p(ps, ';')) {
        /* declaration only */
        scope_pop(ps);
        ps->fn = NULL;
        return;
    }
    Tok b = next(ps);
    if (b.t != TK_P || b.s[0] != '{') {
        fail(ps, b.line, "expected function body");
    }
    f->defined = true;
    ps->capcode = 0;
    ps->capconsts = 0;
    parse_body(ps);
    if (ps->depth != 0) {
        fail(ps, ps->line, "unbalanced braces");
    }
    ps->fn = NULL;
}

static void parse_module(Parser *ps)
{
    bool seen_version = false;

    for (;;) {
        Tok t = next(ps);
        bool is_extern = false;

        if (t.t == TK_EOF) {
            break;
        }
        if (t.t != TK_ID) {
            fail(ps, t.line, "unexpected '%.*s' at module level",
                 (int)(t.len > 40 ? 40 : t.len), t.s);
        }
        if (tok_is(&t, ".version")) {
            Tok v = next(ps);
            unsigned maj = 0, min = 0;
            char buf[16];
            if (v.t != TK_NUM || v.len >= sizeof(buf)) {
                fail(ps, v.line, "bad .version");
            }
            memcpy(buf, v.s, v.len);
            buf[v.len] = 0;
            if (sscanf(buf, "%u.%u", &maj, &min) != 2 || maj > 9 || min > 9 ||
                maj * 10 + min > 90 || maj < 1) {
                fail(ps, v.line, "unsupported PTX .version %s (up to 9.0)", buf);
            }
            ps->prog->ptx_version = maj * 10 + min;
            seen_version = true;
            continue;
        }
        if (!seen_version) {
            fail(ps, t.line, "PTX must start with .version");
        }
        if (tok_is(&t, ".target")) {
            do {
                Tok v = expect_id(ps, "a target");
                if (v.len >= 5 && !memcmp(v.s, "sm_", 3)) {
                    unsigned sm = 0;
                    for (uint32_t i = 3; i < v.len && isdigit((unsigned char)v.s[i]); i++) {
                        sm = sm * 10 + (v.s[i] - '0');
                        if (sm > 1000) {
                            break;
                        }
                    }
                    if (sm < 20 || sm > 90) {
                        fail(ps, v.line, "unsupported target %.*s (sm_50..sm_90)",
                             (int)v.len, v.s);
                    }
                    ps->prog->sm = sm;
                }
            } while (accept_p(ps, ','));
            continue;
        }
        if (tok_is(&t, ".address_size")) {
            uint64_t a = parse_uint(ps, 64);
            if (a != 64) {
                fail(ps, t.line, "only .address_size 64 is supported");
            }
            continue;
        }
        if (tok_is(&t, ".file") || tok_is(&t, ".loc")) {
            skip_line(ps);
            continue;
        }
        if (tok_is(&t, ".pragma")) {
            skip_to_semi(ps);
            continue;
        }
        if (tok_is(&t, ".section")) {
            /* Debug information (-lineinfo, -G): skipped, braces balanced. */
            int depth = 0;
            expect_id(ps, "a section name");
            do {
                Tok x = next(ps);
                if (x.t == TK_EOF) {
                    fail(ps, t.line, "unterminated .section");
                }
                if (x.t == TK_P && x.s[0] == '{') {
                    depth++;
                } else if (x.t == TK_P && x.s[0] == '}') {
                    depth--;
                }
            } while (depth > 0);
            continue;
        }
        while (tok_is(&t, ".visible") || tok_is(&t, ".extern") || tok_is(&t, ".weak") ||
               tok_is(&t, ".common")) {
            if (tok_is(&t, ".extern")) {
                is_extern = true;
            }
            t = next(ps);
        }
        if (tok_is(&t, ".entry")) {
            parse_function(ps, true, t.line);
        } else if (tok_is(&t, ".func")) {
            parse_function(ps, false, t.line);
        } else if (tok_is(&t, ".global")) {
            parse_var(ps, SIM_SYM_GLOBAL, is_extern, t.line);
        } else if (tok_is(&t, ".const")) {
            parse_var(ps, SIM_SYM_CONST, is_extern, t.line);
        } else if (tok_is(&t, ".shared")) {
            parse_var(ps, SIM_SYM_SHARED, is_extern, t.line);
        } else {
            fail(ps, t.line, "unsupported directive '%.*s'",
                 (int)(t.len > 40 ? 40 : t.len), t.s);
        }
    }
    if (!seen_version) {
        fail(ps, ps->line, "PTX must start with .version");
    }
}

/* Lays out shared memory and checks that every called function exists. */
static void finish_program(Parser *ps)
{
    SimProgram *p = ps->prog;
    uint64_t m = 0;

    for (uint32_t i = 0; i < p->nsyms; i++) {
        SimSym *s = &p->syms[i];
        if (s->kind == SIM_SYM_SHARED) {
            s->offset = align_up(m, s->align);
            m = s->offset + s->size;
        }
    }
    if (m > 1u << 20) {
        fail(ps, ps->line, "static shared memory too large");
    }
    p->module_shared = (uint32_t)m;
    uint64_t cbank = 0;
    for (uint32_t i = 0; i < p->nsyms; i++) {
        if (p->syms[i].kind == SIM_SYM_CONST) {
            cbank += align_up(p->syms[i].size, p->syms[i].align ? p->syms[i].align : 1);
        }
    }
    if (cbank > 65536) {
        fail(ps, ps->line, "%llu bytes of .const data exceed the 64 KiB constant bank",
             (unsigned long long)cbank);
    }
    for (uint32_t fi = 0; fi < p->nfuncs; fi++) {
        SimFunc *f = &p->funcs[fi];
        uint64_t own = m;

        for (uint32_t i = 0; i < p->nsyms; i++) {
            SimSym *s = &p->syms[i];
            if (s->kind == SIM_SYM_SHARED_OWN && s->owner == (int32_t)fi) {
                s->offset = align_up(own, s->align);
                own = s->offset + s->size;
            }
        }
        if (own > 1u << 20) {
            fail(ps, f->line, "static shared memory too large");
        }
        f->shared_bytes = (uint32_t)own;
        f->own_shared = (uint32_t)(own - m);
    }
    for (uint32_t i = 0; i < p->ncalls; i++) {
        if (p->calls[i].func < 0) {
            continue;
        }
        SimFunc *callee = &p->funcs[p->calls[i].func];
        if (!callee->defined) {
            if (!strcmp(callee->name, "vprintf")) {
                continue;
            }
            if (!strcmp(callee->name, "__assertfail")) {
                continue;
            }
            fail(ps, ps->line, "call of function '%s' that has no body", callee->name);
        }
    }
    /* Turn builtin calls into their own opcodes. */
    for (uint32_t fi = 0; fi < p->nfuncs; fi++) {
        SimFunc *f = &p->funcs[fi];
        for (uint32_t k = 0; k < f->ncode; k++) {
            SimInsn *in = &f->code[k];
            if (in->op != OP_CALL) {
                continue;
            }
            SimCall *c = &p->calls[in->target];
            if (c->func < 0) {
                continue;   /* indirect: checked when it runs */
            }
            SimFunc *callee = &p->funcs[c->func];
            if (!callee->defined && !strcmp(callee->name, "vprintf")) {
                if (c->nargs != 2) {
                    fail(ps, in->line, "vprintf takes two arguments");
                }
                in->op = OP_VPRINTF;
            } else if (!callee->defined) {
                if (c->nargs != 5) {
                    fail(ps, in->line, "__assertfail takes five arguments");
                }
                in->op = OP_ASSERTFAIL;
            } else {
                if (c->nargs != callee->nparams) {
                    fail(ps, in->line, "call of '%s' with %u arguments, expected %u",
                         callee->name, c->nargs, callee->nparams);
                }
                if (c->ret_off >= 0 && !callee->has_ret) {
                    fail(ps, in->line, "'%s' returns no value", callee->name);
                }
            }
        }
    }
}

void sim_program_free(SimProgram *p)
{
    if (!p) {
        return;
    }
    for (uint32_t i = 0; i < p->nfuncs; i++) {
        free(p->funcs[i].name);
        free(p->funcs[i].params);
        free(p->funcs[i].code);
        free(p->funcs[i].consts);
    }
    for (uint32_t i = 0; i < p->nsyms; i++) {
        free(p->syms[i].name);
        free(p->syms[i].init);
        free(p->syms[i].relocs);
    }
    free(p->funcs);
    free(p->syms);
    free(p->calls);
    free(p);
}

int sim_ptx_parse(const char *text, size_t len, SimProgram **out,
                  char *log, size_t loglen)
{
    Parser *ps = calloc(1, sizeof(*ps));
    volatile int rc = VGPU_S_OK;

    *out = NULL;
    if (!ps) {
        return VGPU_S_OUT_OF_MEMORY;
    }
    if (log && loglen) {
        log[0] = 0;
    }
    ps->src = ps->p = text;
    ps->end = text + len;
    ps->line = 1;
    ps->log = log;
    ps->loglen = log ? loglen : 0;
    ps->prog = calloc(1, sizeof(*ps->prog));
    if (!ps->prog) {
        free(ps);
        return VGPU_S_OUT_OF_MEMORY;
    }
    if (setjmp(ps->jb)) {
        sim_program_free(ps->prog);
        ps->prog = NULL;
        rc = VGPU_S_INVALID_PTX;
    } else {
        parse_module(ps);
        finish_program(ps);
        *out = ps->prog;
    }
    fn_reset(ps);
    smap_clear(&ps->modsyms);
    smap_clear(&ps->funcs);
    free(ps->fnames);
    free(ps->undo);
    free(ps->label_pc);
    free(ps->chunks);
    free(ps->tmpf.params);
    free(ps->rw);
    free(ps);
    return rc;
}

int sim_program_find_func(const SimProgram *p, const char *name)
{
    for (uint32_t i = 0; i < p->nfuncs; i++) {
        if (!strcmp(p->funcs[i].name, name)) {
            return (int)i;
        }
    }
    return -1;
}

int sim_program_find_sym(const SimProgram *p, const char *name)
{
    for (uint32_t i = 0; i < p->nsyms; i++) {
        if (!strcmp(p->syms[i].name, name)) {
            return (int)i;
        }
    }
    return -1;
}

static uint64_t sym_value(const SimProgram *p, const SimFunc *f, int32_t sym)
{
    const SimSym *s = &p->syms[sym];

    switch (s->kind) {
    case SIM_SYM_GLOBAL: case SIM_SYM_CONST:
        return s->addr;
    case SIM_SYM_SHARED: case SIM_SYM_SHARED_OWN:
        return s->offset;
    default:
        (void)f;
        return 0;
    }
}

uint64_t sim_const_value(const SimProgram *p, const SimFunc *f, const SimConst *c)
{
    return c->sym >= 0 ? sym_value(p, f, c->sym) + c->value : c->value;
}

void sim_func_info(const SimProgram *p, const SimFunc *f, VgpuFuncInfo *info)
{
    memset(info, 0, sizeof(*info));
    info->nparams = f->nparams;
    info->param_bytes = f->param_bytes;
    for (uint32_t i = 0; i < f->nparams && i < VGPU_MAX_PARAMS; i++) {
        info->params[i].offset = f->params[i].offset;
        info->params[i].size = f->params[i].size;
    }
    uint64_t cbytes = 0;
    for (uint32_t i = 0; i < p->nsyms; i++) {
        if (p->syms[i].kind == SIM_SYM_CONST) {
            cbytes += p->syms[i].size;
        }
    }
    info->attrs[VGPU_FUNC_ATTR_MAX_THREADS] = f->maxntid ? (int32_t)f->maxntid : 1024;
    info->attrs[VGPU_FUNC_ATTR_SHARED_BYTES] = (int32_t)f->shared_bytes;
    info->attrs[VGPU_FUNC_ATTR_CONST_BYTES] = (int32_t)cbytes;
    info->attrs[VGPU_FUNC_ATTR_LOCAL_BYTES] = (int32_t)f->frame_bytes;
    info->attrs[VGPU_FUNC_ATTR_NUM_REGS] = (int32_t)(f->ndecl_regs < 255 ? f->ndecl_regs : 255);
    /* As the CUDA driver reports it: the virtual architecture (.target). */
    info->attrs[VGPU_FUNC_ATTR_PTX_VERSION] = (int32_t)(p->sm ? p->sm : 75);
    info->attrs[VGPU_FUNC_ATTR_BINARY_VERSION] = 75;
    info->attrs[VGPU_FUNC_ATTR_CACHE_MODE_CA] = 0;
}
