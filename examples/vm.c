/*
 * vm.c - the vm workload: a small register machine proven with four tables
 * linked by LogUp buses (docs/WORKLOADS.md has the full column and
 * constraint listing):
 *   cpu    one row per step: clk, pc, one-hot opcode/dst/src1/src2 selectors,
 *          8 registers, operands a and b, imm, result, memory value,
 *          a != 0 flag and inverse (48 columns)
 *   rom    the program: pc, opcode, dst, src1, src2, imm, execution count,
 *          and shift registers that pin it to the program of the seed
 *   mem    memory accesses sorted by (addr, ts) with read/write consistency,
 *          16-bit limbs of the ts/addr gaps
 *   range  the values 0..65535 with lookup multiplicities
 * The program is a loop mixing a state through 16 memory words; it runs
 * until HALT, which repeats to the end of the 2^log_rows rows.
 *
 * Producers: the machine runs once at build time, keeping a checkpoint of
 * its state every VM_CKPT rows, the memory accesses (16 bytes each) and the
 * multiplicities; a CPU column chunk is made by replaying from the nearest
 * checkpoint. State: ~0.6 + ~4.4 bytes per CPU row plus 512 KiB.
 */
#include "wl_internal.h"

#include <stdlib.h>
#include <string.h>

#define VM_NREGS 8
#define VM_MEM_WORDS 64
#define VM_CKPT 1024
#define VM_ROM_LOG 4
#define VM_RANGE_LOG 16

enum { OP_ADD, OP_SUB, OP_MUL, OP_LOAD, OP_STORE, OP_JNZ, OP_HALT, VM_NOPS };

/* cpu columns */
enum {
    C_CLK = 0,
    C_PC = 1,
    C_SEL = 2,                  /* + opcode */
    C_DST = C_SEL + VM_NOPS,    /* + register */
    C_S1 = C_DST + VM_NREGS,
    C_S2 = C_S1 + VM_NREGS,
    C_R = C_S2 + VM_NREGS,
    C_A = C_R + VM_NREGS,
    C_B,
    C_IMM,
    C_RES,
    C_MVAL,
    C_NZ,
    C_AINV,
    C_NCOLS
};
/* rom, mem, range columns */
/* rom: the fetched fields, the multiplicity, then two shift registers that
 * pin the ROM to the program: K_j at row r = code(prog[r + j]), I_j at row r
 * = prog[r + j].imm (0 past the end). */
#define VM_ROM_ROWS (1u << VM_ROM_LOG)
enum { R_PC, R_OP, R_DST, R_SRC1, R_SRC2, R_IMM, R_MULT, R_K, R_I = R_K + VM_ROM_ROWS,
       R_NCOLS = R_I + VM_ROM_ROWS };
enum { M_ADDR, M_TS, M_VAL, M_ISW, M_MULT, M_NEW, M_DLO, M_DHI, M_NCOLS };
enum { G_VAL, G_MULT, G_NCOLS };
enum { T_CPU, T_ROM, T_MEM, T_RANGE };
enum { BUS_ROM = 1, BUS_MEM = 2, BUS_RANGE = 3 };

typedef struct vm_insn {
    uint8_t op, dst, src1, src2;
    uint64_t imm;
} vm_insn;

typedef struct vm_state {
    uint64_t pc;
    uint64_t r[VM_NREGS];
    uint64_t mem[VM_MEM_WORDS];
} vm_state;

/* What one step shows in its cpu row (besides selectors and registers). */
typedef struct vm_row {
    const vm_insn *ins;
    uint64_t pc, a, b, res, mval, nz;
} vm_row;

typedef struct vm_wl {
    unsigned log_rows, log_mem;
    vm_insn prog[1u << VM_ROM_LOG];
    uint32_t prog_len;
    vm_state *ckpt;         /* state before rows 0, VM_CKPT, 2*VM_CKPT, ... */
    uint64_t n_ckpt;
    uint64_t rom_mult[1u << VM_ROM_LOG];
    uint64_t n_ops;         /* memory accesses, sorted by (addr, ts) */
    uint64_t *op_key;       /* addr << 48 | is_write << 47 | ts */
    uint64_t *op_val;
    uint64_t *range_mult;   /* 2^16 */
} vm_wl;

#define INNER_WORDS 16
#define OUTER_START 3
#define BODY_STEPS (2 + INNER_WORDS * 7 + 2)

static uint32_t vm_program(vm_insn *prog, uint64_t outer, uint64_t seed)
{
    const vm_insn p[] = {
        {OP_ADD, 6, 0, 0, 0x100000001B3ull},                         /* r6 = multiplier */
        {OP_ADD, 1, 0, 0, spw_wl_to_field(spw_wl_mix(seed + 0x5157))}, /* r1 = state */
        {OP_ADD, 2, 0, 0, outer},                                   /* r2 = outer count */
        {OP_ADD, 3, 0, 0, 0},                                       /* 3: r3 = address 0 */
        {OP_ADD, 7, 0, 0, INNER_WORDS},                             /* r7 = inner count */
        {OP_LOAD, 4, 0, 3, 0},                                      /* 5: r4 = mem[r3] */
        {OP_MUL, 5, 1, 6, 0},                                       /* r5 = r1 * r6 */
        {OP_ADD, 1, 5, 4, 0x9E3779B9ull},                           /* r1 = r5 + r4 + k */
        {OP_STORE, 0, 1, 3, 0},                                     /* mem[r3] = r1 */
        {OP_ADD, 3, 3, 0, 1},                                       /* r3 += 1 */
        {OP_SUB, 7, 7, 0, 1},                                       /* r7 -= 1 */
        {OP_JNZ, 0, 7, 0, 5},                                       /* if r7 goto 5 */
        {OP_SUB, 2, 2, 0, 1},                                       /* r2 -= 1 */
        {OP_JNZ, 0, 2, 0, OUTER_START},                             /* if r2 goto 3 */
        {OP_HALT, 0, 0, 0, 0},                                      /* 14: halt (loops) */
    };
    uint32_t n = (uint32_t)(sizeof p / sizeof p[0]);
    memset(prog, 0, sizeof(vm_insn) << VM_ROM_LOG);
    memcpy(prog, p, sizeof p);
    return n;
}

/* An instruction's fields packed in one value (each field < 8). */
static uint64_t vm_code(const vm_insn *q)
{
    return q->op + 8u * q->dst + 64u * q->src1 + 512u * q->src2;
}

/* Fills *row for the state's current step, then advances the state.
 * Returns 0 on a bad memory address (a bug in the program). */
static int vm_step(const vm_wl *w, vm_state *st, vm_row *row)
{
    const vm_insn *in = &w->prog[st->pc];
    uint64_t a = st->r[in->src1], b = gl_add(st->r[in->src2], in->imm);
    uint64_t res = 0, mval = 0, next = st->pc + 1;
    row->ins = in;
    row->pc = st->pc;
    switch (in->op) {
    case OP_ADD: res = gl_add(a, b); break;
    case OP_SUB: res = gl_sub(a, b); break;
    case OP_MUL: res = gl_mul(a, b); break;
    case OP_LOAD:
        if (b >= VM_MEM_WORDS) return 0;
        mval = res = st->mem[b];
        break;
    case OP_STORE:
        if (b >= VM_MEM_WORDS) return 0;
        mval = a;
        st->mem[b] = a;
        break;
    case OP_JNZ: next = a ? in->imm : st->pc + 1; break;
    default: next = st->pc; break; /* HALT */
    }
    row->a = a;
    row->b = b;
    row->res = res;
    row->mval = mval;
    row->nz = a != 0;
    if (in->op <= OP_LOAD) st->r[in->dst] = res;
    st->pc = next;
    return 1;
}

static uint64_t vm_outer(unsigned log_rows)
{
    return ((1ull << log_rows) - OUTER_START - 1) / BODY_STEPS;
}

/* ---- producers --------------------------------------------------------- */

static uint64_t vm_cpu_value(const vm_row *rw, const uint64_t *regs, uint64_t clk, uint32_t col)
{
    const vm_insn *in = rw->ins;
    if (col == C_CLK) return clk;
    if (col == C_PC) return rw->pc;
    if (col < C_DST) return in->op == col - C_SEL;
    if (col < C_S1) return in->dst == col - C_DST;
    if (col < C_S2) return in->src1 == col - C_S1;
    if (col < C_R) return in->src2 == col - C_S2;
    if (col < C_A) return regs[col - C_R];
    switch (col) {
    case C_A: return rw->a;
    case C_B: return rw->b;
    case C_IMM: return in->imm;
    case C_RES: return rw->res;
    case C_MVAL: return rw->mval;
    case C_NZ: return rw->nz;
    default: return rw->a; /* C_AINV: inverted in batches by the caller */
    }
}

/* x -> x^-1 (0 stays 0) in place, by blocks with one inversion each. */
static void vm_batch_inv(uint64_t *x, uint64_t n)
{
    enum { BLK = 256 };
    uint64_t pre[BLK];
    for (uint64_t b = 0; b < n; b += BLK) {
        uint64_t m = n - b < BLK ? n - b : BLK, acc = 1;
        for (uint64_t i = 0; i < m; i++) {
            pre[i] = acc;
            if (x[b + i]) acc = gl_mul(acc, x[b + i]);
        }
        uint64_t inv = gl_inv(acc); /* inverse of the product of the nonzeros */
        for (uint64_t i = m; i-- > 0;) {
            uint64_t v = x[b + i];
            if (!v) continue;
            x[b + i] = gl_mul(inv, pre[i]);
            inv = gl_mul(inv, v);
        }
    }
}

static spw_status vm_fill_cpu(const vm_wl *w, uint64_t *out, uint32_t col, uint64_t row0,
                              uint64_t nrows)
{
    uint64_t r = row0 / VM_CKPT * VM_CKPT;
    vm_state st = w->ckpt[row0 / VM_CKPT];
    vm_row rw;
    for (; r < row0; r++)
        if (!vm_step(w, &st, &rw)) return SPW_ERR_INTERNAL;
    for (uint64_t i = 0; i < nrows; i++) {
        uint64_t regs[VM_NREGS];
        memcpy(regs, st.r, sizeof regs);
        if (!vm_step(w, &st, &rw)) return SPW_ERR_INTERNAL;
        out[i] = vm_cpu_value(&rw, regs, row0 + i, col);
    }
    if (col == C_AINV) vm_batch_inv(out, nrows);
    return SPW_OK;
}

typedef struct vm_mem_row {
    uint64_t addr, ts, val, isw, mult;
} vm_mem_row;

static vm_mem_row vm_mem_at(const vm_wl *w, uint64_t i)
{
    vm_mem_row m;
    uint64_t j = i < w->n_ops ? i : w->n_ops - 1;
    uint64_t k = w->op_key[j];
    m.addr = k >> 48;
    m.ts = k & ((1ull << 47) - 1);
    m.val = w->op_val[j];
    m.isw = (k >> 47) & 1;
    m.mult = 1;
    if (i >= w->n_ops) { /* padding: reads of the last address, ts + 1 each */
        m.ts += i - j;
        m.isw = 0;
        m.mult = 0;
    }
    return m;
}

static uint64_t vm_mem_new(const vm_wl *w, uint64_t i)
{
    if (i == 0) return 1;
    if (i >= w->n_ops) return 0;
    return (w->op_key[i] >> 48) != (w->op_key[i - 1] >> 48);
}

/* The gap row i carries to row i+1 (0 on the last row). */
static uint64_t vm_mem_gap(const vm_wl *w, uint64_t i)
{
    if (i + 1 >= (1ull << w->log_mem)) return 0;
    vm_mem_row c = vm_mem_at(w, i), n = vm_mem_at(w, i + 1);
    return vm_mem_new(w, i + 1) ? n.addr - c.addr - 1 : n.ts - c.ts - 1;
}

static uint64_t vm_mem_value(const vm_wl *w, uint64_t i, uint32_t col)
{
    vm_mem_row m = vm_mem_at(w, i);
    switch (col) {
    case M_ADDR: return m.addr;
    case M_TS: return m.ts;
    case M_VAL: return m.val;
    case M_ISW: return m.isw;
    case M_MULT: return m.mult;
    case M_NEW: return vm_mem_new(w, i);
    case M_DLO: return vm_mem_gap(w, i) & 0xFFFF;
    default: return vm_mem_gap(w, i) >> 16; /* M_DHI */
    }
}

static spw_status vm_fill(void *user, uint64_t *out, uint32_t table, uint32_t col, uint64_t row0,
                          uint64_t nrows)
{
    const vm_wl *w = user;
    static const unsigned fixed_log[4] = {0, VM_ROM_LOG, 0, VM_RANGE_LOG};
    unsigned lh = table == T_CPU ? w->log_rows : table == T_MEM ? w->log_mem
                  : table < 4 ? fixed_log[table] : 0;
    if (table > T_RANGE || row0 > (1ull << lh) || nrows > (1ull << lh) - row0) return SPW_ERR_INVALID_ARG;
    switch (table) {
    case T_CPU:
        if (col >= C_NCOLS) return SPW_ERR_INVALID_ARG;
        return vm_fill_cpu(w, out, col, row0, nrows);
    case T_ROM:
        if (col >= R_NCOLS) return SPW_ERR_INVALID_ARG;
        for (uint64_t i = 0; i < nrows; i++) {
            uint64_t r = row0 + i;
            const vm_insn *in = &w->prog[r];
            uint64_t v = 0;
            if (col >= R_K) {
                uint32_t j = col >= R_I ? col - R_I : col - R_K;
                const vm_insn *q = r + j < VM_ROM_ROWS ? &w->prog[r + j] : NULL;
                out[i] = !q ? 0 : col >= R_I ? q->imm : vm_code(q);
                continue;
            }
            switch (col) {
            case R_PC: v = r; break;
            case R_OP: v = in->op; break;
            case R_DST: v = in->dst; break;
            case R_SRC1: v = in->src1; break;
            case R_SRC2: v = in->src2; break;
            case R_IMM: v = in->imm; break;
            default: v = w->rom_mult[r]; break;
            }
            out[i] = v;
        }
        return SPW_OK;
    case T_MEM:
        if (col >= M_NCOLS) return SPW_ERR_INVALID_ARG;
        for (uint64_t i = 0; i < nrows; i++) out[i] = vm_mem_value(w, row0 + i, col);
        return SPW_OK;
    case T_RANGE:
        if (col >= G_NCOLS) return SPW_ERR_INVALID_ARG;
        for (uint64_t i = 0; i < nrows; i++) out[i] = col == G_VAL ? row0 + i : w->range_mult[row0 + i];
        return SPW_OK;
    default: return SPW_ERR_INVALID_ARG;
    }
}

static void vm_wl_free(void *p)
{
    vm_wl *w = p;
    if (!w) return;
    free(w->ckpt);
    free(w->op_key);
    free(w->op_val);
    free(w->range_mult);
    free(w);
}

/* Runs the machine once: checkpoints, memory log (sorted), multiplicities. */
static spw_status vm_run(spw_ctx *ctx, vm_wl *w, uint64_t *output)
{
    uint64_t n = 1ull << w->log_rows;
    uint64_t max_ops = n; /* at most one access per step */
    w->n_ckpt = (n + VM_CKPT - 1) / VM_CKPT;
    w->ckpt = spw_malloc_array(w->n_ckpt, sizeof *w->ckpt);
    uint64_t *key = spw_malloc_array(max_ops, sizeof *key);
    uint64_t *val = spw_malloc_array(max_ops, sizeof *val);
    w->range_mult = spw_calloc_array(1u << VM_RANGE_LOG, sizeof *w->range_mult);
    if (!w->ckpt || !key || !val || !w->range_mult) {
        free(key);
        free(val);
        return spw_fail(ctx, SPW_ERR_NOMEM, "vm: out of memory for 2^%u steps", w->log_rows);
    }
    vm_state st;
    memset(&st, 0, sizeof st);
    uint64_t nops = 0, per_addr[VM_MEM_WORDS] = {0};
    for (uint64_t r = 0; r < n; r++) {
        if (r % VM_CKPT == 0) w->ckpt[r / VM_CKPT] = st;
        vm_row rw;
        if (!vm_step(w, &st, &rw)) {
            free(key);
            free(val);
            return spw_fail(ctx, SPW_ERR_INTERNAL, "vm: row %llu: address out of range",
                            (unsigned long long)r);
        }
        w->rom_mult[rw.pc]++;
        if (rw.ins->op == OP_LOAD || rw.ins->op == OP_STORE) {
            key[nops] = rw.b << 48 | (uint64_t)(rw.ins->op == OP_STORE) << 47 | r;
            val[nops++] = rw.mval;
            per_addr[rw.b]++;
            w->range_mult[rw.b]++;
        }
    }
    *output = st.r[1];
    if (w->prog[st.pc].op != OP_HALT) {
        free(key);
        free(val);
        return spw_fail(ctx, SPW_ERR_INTERNAL, "vm: program did not halt in 2^%u steps", w->log_rows);
    }
    /* Stable counting sort by address (accesses are in ts order already). */
    w->op_key = spw_malloc_array(nops ? nops : 1, sizeof *w->op_key);
    w->op_val = spw_malloc_array(nops ? nops : 1, sizeof *w->op_val);
    if (!w->op_key || !w->op_val || nops == 0) {
        free(key);
        free(val);
        return spw_fail(ctx, nops ? SPW_ERR_NOMEM : SPW_ERR_INTERNAL, "vm: memory log");
    }
    uint64_t start[VM_MEM_WORDS], acc = 0;
    for (int a = 0; a < VM_MEM_WORDS; a++) {
        start[a] = acc;
        acc += per_addr[a];
    }
    for (uint64_t i = 0; i < nops; i++) {
        uint64_t d = start[key[i] >> 48]++;
        w->op_key[d] = key[i];
        w->op_val[d] = val[i];
    }
    free(key);
    free(val);
    w->n_ops = nops;
    w->log_mem = 1;
    while ((1ull << w->log_mem) < nops) w->log_mem++;
    for (uint64_t i = 0; i < (1ull << w->log_mem); i++) {
        uint64_t g = vm_mem_gap(w, i);
        if (g >> 32) return spw_fail(ctx, SPW_ERR_INTERNAL, "vm: mem row %llu: gap too large", (unsigned long long)i);
        w->range_mult[g & 0xFFFF]++;
        w->range_mult[g >> 16]++;
    }
    return SPW_OK;
}

/* ---- the AIR ----------------------------------------------------------- */

static spw_status vm_cpu_constraints(spw_air *air, uint32_t t)
{
    spw_wl_eb e = {air, t}, *E = &e;
    /* booleans and one-hot groups */
    for (uint32_t c = C_SEL; c < C_R; c++) SPW_TRY(wl_bool(E, c));
    const uint32_t groups[4][2] = {{C_SEL, VM_NOPS}, {C_DST, VM_NREGS}, {C_S1, VM_NREGS}, {C_S2, VM_NREGS}};
    for (int g = 0; g < 4; g++) {
        spw_expr s = wl_k(E, 0);
        for (uint32_t i = 0; i < groups[g][1]; i++) s = wl_add(E, s, wl_c(E, groups[g][0] + i));
        SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, s, wl_k(E, 1))));
    }
    /* operands */
    spw_expr a = wl_k(E, 0), b = wl_c(E, C_IMM);
    for (uint32_t i = 0; i < VM_NREGS; i++) {
        a = wl_add(E, a, wl_mul(E, wl_c(E, C_S1 + i), wl_c(E, C_R + i)));
        b = wl_add(E, b, wl_mul(E, wl_c(E, C_S2 + i), wl_c(E, C_R + i)));
    }
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, wl_c(E, C_A), a)));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, wl_c(E, C_B), b)));
    spw_expr A = wl_c(E, C_A), B = wl_c(E, C_B);
#define SEL(op) wl_c(E, C_SEL + (op))
    /* result */
    spw_expr res = wl_mul(E, SEL(OP_ADD), wl_add(E, A, B));
    res = wl_add(E, res, wl_mul(E, SEL(OP_SUB), wl_sub(E, A, B)));
    res = wl_add(E, res, wl_mul(E, SEL(OP_MUL), wl_mul(E, A, B)));
    res = wl_add(E, res, wl_mul(E, SEL(OP_LOAD), wl_c(E, C_MVAL)));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, wl_c(E, C_RES), res)));
    /* memory value: a on STORE, 0 when no access */
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_mul(E, SEL(OP_STORE), wl_sub(E, wl_c(E, C_MVAL), A))));
    spw_expr memop = wl_add(E, SEL(OP_LOAD), SEL(OP_STORE));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_mul(E, wl_one_minus(E, memop), wl_c(E, C_MVAL))));
    /* nz = [a != 0] */
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, wl_c(E, C_NZ), wl_mul(E, A, wl_c(E, C_AINV)))));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_mul(E, A, wl_one_minus(E, wl_c(E, C_NZ)))));
    /* clock and pc */
    SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_c(E, C_CLK)));
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, C_CLK), wl_add(E, wl_c(E, C_CLK), wl_k(E, 1)))));
    SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_c(E, C_PC)));
    spw_expr pc1 = wl_add(E, wl_c(E, C_PC), wl_k(E, 1));
    spw_expr nz = wl_c(E, C_NZ);
    spw_expr seq = wl_add(E, wl_add(E, SEL(OP_ADD), SEL(OP_SUB)),
                          wl_add(E, SEL(OP_MUL), memop));
    spw_expr jmp = wl_add(E, wl_mul(E, nz, wl_c(E, C_IMM)), wl_mul(E, wl_one_minus(E, nz), pc1));
    spw_expr npc = wl_add(E, wl_mul(E, seq, pc1),
                          wl_add(E, wl_mul(E, SEL(OP_JNZ), jmp), wl_mul(E, SEL(OP_HALT), wl_c(E, C_PC))));
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, C_PC), npc)));
    /* registers: r_i' = r_i + w * dst_i * (res - r_i), w = ADD+SUB+MUL+LOAD */
    spw_expr wr = wl_add(E, wl_add(E, SEL(OP_ADD), SEL(OP_SUB)), wl_add(E, SEL(OP_MUL), SEL(OP_LOAD)));
    for (uint32_t i = 0; i < VM_NREGS; i++) {
        spw_expr r = wl_c(E, C_R + i);
        spw_expr upd = wl_mul(E, wl_mul(E, wr, wl_c(E, C_DST + i)), wl_sub(E, wl_c(E, C_RES), r));
        SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, C_R + i), wl_add(E, r, upd))));
        SPW_TRY(wl_con(E, SPW_ROWS_FIRST, r));
    }
    /* the run ends halted, with the output in r1 */
    SPW_TRY(wl_con(E, SPW_ROWS_LAST, wl_one_minus(E, SEL(OP_HALT))));
    SPW_TRY(wl_con(E, SPW_ROWS_LAST, wl_sub(E, wl_c(E, C_R + 1), spw_air_public(air, t, 0))));
    /* buses: fetch, memory, range of the address */
    spw_expr fetch[6];
    spw_expr opc = wl_k(E, 0), dst = wl_k(E, 0), s1 = wl_k(E, 0), s2 = wl_k(E, 0);
    for (uint32_t k = 1; k < VM_NOPS; k++) opc = wl_add(E, opc, wl_mul(E, wl_k(E, k), SEL(k)));
    for (uint32_t i = 1; i < VM_NREGS; i++) {
        dst = wl_add(E, dst, wl_mul(E, wl_k(E, i), wl_c(E, C_DST + i)));
        s1 = wl_add(E, s1, wl_mul(E, wl_k(E, i), wl_c(E, C_S1 + i)));
        s2 = wl_add(E, s2, wl_mul(E, wl_k(E, i), wl_c(E, C_S2 + i)));
    }
    fetch[0] = wl_c(E, C_PC);
    fetch[1] = opc;
    fetch[2] = dst;
    fetch[3] = s1;
    fetch[4] = s2;
    fetch[5] = wl_c(E, C_IMM);
    SPW_TRY(spw_air_bus(air, t, BUS_ROM, 1, wl_k(E, 1), fetch, 6));
    spw_expr mem[4] = {B, wl_c(E, C_MVAL), wl_c(E, C_CLK), SEL(OP_STORE)};
    SPW_TRY(spw_air_bus(air, t, BUS_MEM, 1, memop, mem, 4));
    SPW_TRY(spw_air_bus(air, t, BUS_RANGE, 1, memop, &B, 1));
#undef SEL
    return SPW_OK;
}

static spw_status vm_rom_constraints(spw_air *air, uint32_t t, const vm_insn *prog)
{
    spw_wl_eb e = {air, t}, *E = &e;
    /* the fields are the program's: shift registers loaded with constants */
    for (uint32_t j = 0; j < VM_ROM_ROWS; j++) {
        SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_sub(E, wl_c(E, R_K + j), wl_k(E, vm_code(&prog[j])))));
        SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_sub(E, wl_c(E, R_I + j), wl_k(E, prog[j].imm))));
        spw_expr kn = j + 1 < VM_ROM_ROWS ? wl_c(E, R_K + j + 1) : wl_k(E, 0);
        spw_expr in = j + 1 < VM_ROM_ROWS ? wl_c(E, R_I + j + 1) : wl_k(E, 0);
        SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, R_K + j), kn)));
        SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, R_I + j), in)));
    }
    spw_expr code = wl_add(E, wl_add(E, wl_c(E, R_OP), wl_mul(E, wl_k(E, 8), wl_c(E, R_DST))),
                           wl_add(E, wl_mul(E, wl_k(E, 64), wl_c(E, R_SRC1)),
                                  wl_mul(E, wl_k(E, 512), wl_c(E, R_SRC2))));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, code, wl_c(E, R_K))));
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY, wl_sub(E, wl_c(E, R_IMM), wl_c(E, R_I))));
    SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_c(E, R_PC)));
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, R_PC), wl_add(E, wl_c(E, R_PC), wl_k(E, 1)))));
    spw_expr v[6];
    for (uint32_t c = 0; c < 6; c++) v[c] = wl_c(E, c);
    return spw_air_bus(air, t, BUS_ROM, 0, wl_c(E, R_MULT), v, 6);
}

static spw_status vm_mem_constraints(spw_air *air, uint32_t t)
{
    spw_wl_eb e = {air, t}, *E = &e;
    SPW_TRY(wl_bool(E, M_ISW));
    SPW_TRY(wl_bool(E, M_MULT));
    SPW_TRY(wl_bool(E, M_NEW));
    SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_one_minus(E, wl_c(E, M_NEW))));
    /* once mult is 0 (padding) it stays 0 */
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_mul(E, wl_one_minus(E, wl_c(E, M_MULT)), wl_n(E, M_MULT))));
    /* a first access that reads sees 0 */
    SPW_TRY(wl_con(E, SPW_ROWS_EVERY,
                   wl_mul(E, wl_mul(E, wl_c(E, M_NEW), wl_one_minus(E, wl_c(E, M_ISW))), wl_c(E, M_VAL))));
    spw_expr nn = wl_n(E, M_NEW), same = wl_one_minus(E, nn);
    /* same address unless new */
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_mul(E, same, wl_sub(E, wl_n(E, M_ADDR), wl_c(E, M_ADDR)))));
    /* reads return the last value */
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION,
                   wl_mul(E, wl_mul(E, same, wl_one_minus(E, wl_n(E, M_ISW))),
                          wl_sub(E, wl_n(E, M_VAL), wl_c(E, M_VAL)))));
    /* gap = new' ? addr' - addr - 1 : ts' - ts - 1, as two 16-bit limbs */
    spw_expr one = wl_k(E, 1);
    spw_expr ga = wl_sub(E, wl_sub(E, wl_n(E, M_ADDR), wl_c(E, M_ADDR)), one);
    spw_expr gt = wl_sub(E, wl_sub(E, wl_n(E, M_TS), wl_c(E, M_TS)), one);
    spw_expr gap = wl_add(E, wl_mul(E, nn, ga), wl_mul(E, same, gt));
    spw_expr limbs = wl_add(E, wl_c(E, M_DLO), wl_mul(E, wl_k(E, 65536), wl_c(E, M_DHI)));
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, limbs, gap)));
    spw_expr v[4] = {wl_c(E, M_ADDR), wl_c(E, M_VAL), wl_c(E, M_TS), wl_c(E, M_ISW)};
    SPW_TRY(spw_air_bus(air, t, BUS_MEM, 0, wl_c(E, M_MULT), v, 4));
    spw_expr lo = wl_c(E, M_DLO), hi = wl_c(E, M_DHI);
    SPW_TRY(spw_air_bus(air, t, BUS_RANGE, 1, one, &lo, 1));
    return spw_air_bus(air, t, BUS_RANGE, 1, one, &hi, 1);
}

static spw_status vm_range_constraints(spw_air *air, uint32_t t)
{
    spw_wl_eb e = {air, t}, *E = &e;
    SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_c(E, G_VAL)));
    SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, G_VAL), wl_add(E, wl_c(E, G_VAL), wl_k(E, 1)))));
    spw_expr v = wl_c(E, G_VAL);
    return spw_air_bus(air, t, BUS_RANGE, 0, wl_c(E, G_MULT), &v, 1);
}

/* The memory table's height depends only on log_rows (the program is fixed):
 * 32 accesses per outer iteration. */
static unsigned vm_log_mem(unsigned log_rows)
{
    uint64_t nops = vm_outer(log_rows) * 2 * INNER_WORDS;
    unsigned l = 1;
    while ((1ull << l) < nops) l++;
    return l;
}

static spw_status vm_air(spw_ctx *ctx, spw_air **out, unsigned log_rows, uint64_t seed)
{
    spw_air *air = NULL;
    uint32_t t[4];
    vm_insn prog[VM_ROM_ROWS];
    vm_program(prog, vm_outer(log_rows), seed);
    SPW_TRY(spw_air_create(ctx, &air));
    spw_status s = spw_air_add_table(air, &t[0], "cpu", log_rows, C_NCOLS);
    if (s == SPW_OK) s = spw_air_add_table(air, &t[1], "rom", VM_ROM_LOG, R_NCOLS);
    if (s == SPW_OK) s = spw_air_add_table(air, &t[2], "mem", vm_log_mem(log_rows), M_NCOLS);
    if (s == SPW_OK) s = spw_air_add_table(air, &t[3], "range", VM_RANGE_LOG, G_NCOLS);
    if (s == SPW_OK) s = spw_air_set_publics(air, 1);
    if (s == SPW_OK) s = vm_cpu_constraints(air, t[0]);
    if (s == SPW_OK) s = vm_rom_constraints(air, t[1], prog);
    if (s == SPW_OK) s = vm_mem_constraints(air, t[2]);
    if (s == SPW_OK) s = vm_range_constraints(air, t[3]);
    if (s == SPW_OK) s = spw_air_finalize(air);
    if (s != SPW_OK) {
        spw_air_free(air);
        return s;
    }
    *out = air;
    return SPW_OK;
}

uint64_t spw_wl_vm_state_bytes(unsigned log_rows)
{
    uint64_t n = 1ull << log_rows;
    uint64_t nops = vm_outer(log_rows) * 2 * INNER_WORDS;
    return sizeof(vm_wl) + (n + VM_CKPT - 1) / VM_CKPT * sizeof(vm_state) + nops * 16 +
           (8ull << VM_RANGE_LOG);
}

spw_status spw_wl_vm_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                           uint64_t **publics_out, size_t *n_publics,
                           const spw_workload_params *p)
{
    spw_status s = SPW_OK;
    vm_wl *w = NULL;
    uint64_t output = 0;
    if (trace_out || publics_out) {
        w = calloc(1, sizeof *w);
        if (!w) return spw_fail(ctx, SPW_ERR_NOMEM, "vm: out of memory");
        w->log_rows = p->log_rows;
        w->prog_len = vm_program(w->prog, vm_outer(p->log_rows), p->seed);
        s = vm_run(ctx, w, &output);
        if (s == SPW_OK && w->log_mem != vm_log_mem(p->log_rows))
            s = spw_fail(ctx, SPW_ERR_INTERNAL, "vm: memory table height mismatch");
    }
    if (s == SPW_OK && publics_out) {
        *publics_out = malloc(sizeof(uint64_t));
        if (!*publics_out) s = spw_fail(ctx, SPW_ERR_NOMEM, "vm: out of memory");
        else {
            (*publics_out)[0] = output;
            *n_publics = 1;
        }
    }
    if (s == SPW_OK && air_out) s = vm_air(ctx, air_out, p->log_rows, p->seed);
    if (s == SPW_OK && trace_out) {
        s = spw_trace_create(ctx, trace_out, *air_out);
        for (uint32_t t = 0; t < 4 && s == SPW_OK; t++) s = spw_trace_set_producer(*trace_out, t, vm_fill, w);
        if (s == SPW_OK) s = spw_wl_register(ctx, *trace_out, w, vm_wl_free);
        if (s == SPW_OK) w = NULL; /* owned by the registry now */
        else {
            spw_trace_free(*trace_out);
            *trace_out = NULL;
        }
    }
    vm_wl_free(w);
    if (s != SPW_OK) {
        if (air_out) {
            spw_air_free(*air_out);
            *air_out = NULL;
        }
        if (publics_out) {
            free(*publics_out);
            *publics_out = NULL;
            *n_publics = 0;
        }
    }
    return s;
}
