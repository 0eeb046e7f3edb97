/* SPDX-License-Identifier: MIT */
/*
 * Data movement and flag-register instructions (SDM Vol. 2A/2B: MOV, MOVZX,
 * MOVSX/MOVSXD, LEA, XCHG, CMPXCHG, CMPXCHG8B/16B, XADD, CMOVcc, SETcc,
 * CBW/CWDE/CDQE, CWD/CDQ/CQO, LAHF/SAHF, XLAT, MOVBE, NOP/PAUSE, CLC/STC/CMC,
 * CLD/STD, CLAC/STAC, BOUND) and SALC (D6, undocumented but present on Intel CPUs outside
 * 64-bit mode: AL = CF ? FFh : 00h).
 *
 * MOV to/from segment, control and debug registers is system.c's: the
 * decoder routes those forms there. LOCK-prefixed read-modify-writes and
 * XCHG with memory read then write their operand here; soft_atomic.c runs
 * them so that this is atomic with respect to the other vCPUs.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_cpu.h"
#include "engine/soft/interp/host_flags.h"
#include "engine/soft/soft_insn.h"

/* Sign-extends the low size bytes of v to 64 bits. */
static inline uint64_t sext(uint64_t v, unsigned size)
{
	unsigned shift = 64 - size * 8;
	return size >= 8 ? v : (uint64_t)((int64_t)(v << shift) >> shift);
}

/* OF SF ZF AF PF CF of a - b at size bytes, as the host computes them. */
static uint64_t flags_sub(uint64_t a, uint64_t b, unsigned size)
{
	uint64_t f = 0;
	(void)host_alu(HOST_CMP, size, a, b & soft_size_mask(size), &f);
	return f & SOFT_ARITH_FLAGS;
}

/* OF SF ZF AF PF CF of a + b at size bytes (XADD). */
static uint64_t flags_add(uint64_t a, uint64_t b, unsigned size)
{
	uint64_t f = 0;
	(void)host_alu(HOST_ADD, size, a, b & soft_size_mask(size), &f);
	return f & SOFT_ARITH_FLAGS;
}

/* Source operand n: immediates come as encoded (sign-extended to 64 bits),
 * so they are used directly and truncated by the destination's write. */
static uint64_t src_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	if (in->op[n].kind == SOFT_OP_IMM)
		return in->op[n].imm;
	return soft_op_read(cpu, in, n);
}

static bool gpr_or_mem(const struct soft_operand *op)
{
	return op->kind == SOFT_OP_REG || op->kind == SOFT_OP_REG8H || op->kind == SOFT_OP_MEM;
}

static void op_mov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* SREG/CR/DR forms belong to system.c; reaching here with one is a decoder routing bug,
	 * and #UD is the defined outcome for the guest. */
	if (!gpr_or_mem(&in->op[0]) || (in->op[1].kind != SOFT_OP_IMM && !gpr_or_mem(&in->op[1])))
		soft_raise_ud(cpu);
	soft_op_write(cpu, in, 0, src_read(cpu, in, 1));
}

static void op_movzx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_op_write(cpu, in, 0, soft_op_read(cpu, in, 1));
}

/* MOVSX and MOVSXD (with a 16/32-bit destination MOVSXD is a plain move). */
static void op_movsx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_op_write(cpu, in, 0, sext(soft_op_read(cpu, in, 1), in->op[1].size));
}

static void op_lea(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->op[1].kind != SOFT_OP_MEM)
		soft_raise_ud(cpu);
	/* soft_ea truncates to the address size; the write truncates to the operand size. */
	soft_op_write(cpu, in, 0, soft_ea(cpu, in, &in->op[1]));
}

static void op_xchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t a = soft_op_read_rmw(cpu, in, 0), b = soft_op_read_rmw(cpu, in, 1);

	/* The memory operand (if any) is written first so a fault leaves registers intact. */
	if (in->op[1].kind == SOFT_OP_MEM) {
		soft_op_write(cpu, in, 1, a);
		soft_op_write(cpu, in, 0, b);
	} else {
		soft_op_write(cpu, in, 0, b);
		soft_op_write(cpu, in, 1, a);
	}
}

static void op_cmpxchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t dest = soft_op_read_rmw(cpu, in, 0), src = soft_op_read(cpu, in, 1);
	uint64_t acc = soft_reg_read(cpu, X86_RAX, size);
	uint64_t f = flags_sub(acc, dest, size);

	if (acc == dest) {
		soft_op_write(cpu, in, 0, src);
	} else {
		/* A memory destination is written back even on a mismatch, so a
		 * read-only page faults either way (SDM CMPXCHG); a 32-bit register
		 * destination is left alone, upper half included (as Intel parts do). */
		if (in->op[0].kind == SOFT_OP_MEM)
			soft_op_write(cpu, in, 0, dest);
		soft_reg_write(cpu, X86_RAX, size, dest);
	}
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

/* CMPXCHG8B m64 / CMPXCHG16B m128: EDX:EAX (RDX:RAX) against memory. */
static void op_cmpxchg_wide(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *m = &in->op[0];
	unsigned half = in->mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B ? 8 : 4;
	uint64_t amask = soft_size_mask(in->addrsize);
	uint64_t ea, lo, hi;

	if (m->kind != SOFT_OP_MEM)
		soft_raise_ud(cpu);
	ea = soft_ea(cpu, in, m);
	if (half == 8) {
		/* Only FS and GS have a base in 64-bit mode, the only mode with CMPXCHG16B. */
		uint64_t base = (m->seg == X86_FS || m->seg == X86_GS) ? cpu->s.seg[m->seg].base : 0;
		if ((base + ea) & 15)
			soft_raise_gp(cpu, 0);
	}
	if (half == 4) {
		uint64_t v = soft_seg_read_rmw(cpu, m->seg, ea, 8);
		lo = v & 0xffffffff;
		hi = v >> 32;
	} else {
		lo = soft_seg_read_rmw(cpu, m->seg, ea, 8);
		hi = soft_seg_read_rmw(cpu, m->seg, (ea + 8) & amask, 8);
	}
	if (lo == soft_reg_read(cpu, X86_RAX, half) && hi == soft_reg_read(cpu, X86_RDX, half)) {
		uint64_t nlo = soft_reg_read(cpu, X86_RBX, half), nhi = soft_reg_read(cpu, X86_RCX, half);
		if (half == 4) {
			soft_seg_write(cpu, m->seg, ea, 8, nlo | nhi << 32);
		} else {
			soft_seg_write(cpu, m->seg, ea, 8, nlo);
			soft_seg_write(cpu, m->seg, (ea + 8) & amask, 8, nhi);
		}
		cpu->s.rflags |= RFLAGS_ZF;
	} else {
		/* Written back unchanged on a mismatch, as CMPXCHG does. */
		if (half == 4) {
			soft_seg_write(cpu, m->seg, ea, 8, lo | hi << 32);
		} else {
			soft_seg_write(cpu, m->seg, ea, 8, lo);
			soft_seg_write(cpu, m->seg, (ea + 8) & amask, 8, hi);
		}
		soft_reg_write(cpu, X86_RAX, half, lo);
		soft_reg_write(cpu, X86_RDX, half, hi);
		cpu->s.rflags &= ~RFLAGS_ZF;
	}
}

static void op_xadd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t dest = soft_op_read_rmw(cpu, in, 0), src = soft_op_read(cpu, in, 1);
	uint64_t f = flags_add(dest, src, size);

	/* SRC <- DEST then DEST <- sum: with both operands the same register the sum wins;
	 * a memory destination is written first so a fault leaves the register intact. */
	if (in->op[0].kind == SOFT_OP_MEM) {
		soft_op_write(cpu, in, 0, dest + src);
		soft_op_write(cpu, in, 1, dest);
	} else {
		soft_op_write(cpu, in, 1, dest);
		soft_op_write(cpu, in, 0, dest + src);
	}
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_cmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* The source is read (and may fault) whatever the condition. */
	uint64_t v = soft_op_read(cpu, in, 1);

	if (soft_cond(cpu, in->opcode & 0xf))
		soft_op_write(cpu, in, 0, v);
	else if (in->op[0].size == 4)
		/* A 32-bit destination is zero-extended even when nothing moves. */
		soft_reg_write(cpu, in->op[0].reg, 4, soft_reg_read(cpu, in->op[0].reg, 4));
}

static void op_setcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_op_write(cpu, in, 0, soft_cond(cpu, in->opcode & 0xf) ? 1 : 0);
}

/* CBW CWDE CDQE: the accumulator's lower half sign-extended into all of it. */
static void op_cbw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	soft_reg_write(cpu, X86_RAX, size, sext(soft_reg_read(cpu, X86_RAX, size / 2), size / 2));
}

/* CWD CDQ CQO: rDX filled with the sign of the accumulator. */
static void op_cwd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t sign = soft_reg_read(cpu, X86_RAX, size) >> (size * 8 - 1);
	soft_reg_write(cpu, X86_RDX, size, sign ? ~0ULL : 0);
}

#define LAHF_FLAGS (RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF)

static void op_lahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_reg8h_write(cpu, X86_RAX, (cpu->s.rflags & LAHF_FLAGS) | RFLAGS_FIXED);
}

static void op_sahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_set_flags(cpu, LAHF_FLAGS, soft_reg8h_read(cpu, X86_RAX));
}

static void op_salc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_reg_write(cpu, X86_RAX, 1, cpu->s.rflags & RFLAGS_CF ? 0xff : 0);
}

/*
 * The data segment of an implicit [rBX] operand: DS or the override. Zydis
 * lists it as hidden; the decoder converts it into op[] (past nops, unused
 * slots are SOFT_OP_NONE) so the override reaches here. DS when absent.
 */
static int implicit_seg(const struct soft_insn *in, unsigned base)
{
	for (unsigned i = 0; i < SOFT_INSN_MAX_OPS; i++)
		if (in->op[i].kind == SOFT_OP_MEM && in->op[i].base == base)
			return in->op[i].seg;
	return X86_DS;
}

static void op_xlat(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t off = (soft_reg_read(cpu, X86_RBX, 8) + soft_reg_read(cpu, X86_RAX, 1)) &
		       soft_size_mask(in->addrsize);
	soft_reg_write(cpu, X86_RAX, 1, soft_seg_read(cpu, implicit_seg(in, X86_RBX), off, 1));
}

static uint64_t bswap_size(uint64_t v, unsigned size)
{
	switch (size) {
	case 2: return __builtin_bswap16((uint16_t)v);
	case 4: return __builtin_bswap32((uint32_t)v);
	default: return __builtin_bswap64(v);
	}
}

static void op_movbe(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->op[0].kind != SOFT_OP_MEM && in->op[1].kind != SOFT_OP_MEM)
		soft_raise_ud(cpu);
	soft_op_write(cpu, in, 0, bswap_size(soft_op_read(cpu, in, 1), in->op[0].size));
}

/* NOP, the 0F 1F /0 multi-byte NOP (no memory access) and PAUSE. */
static void op_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)cpu;
	(void)in;
}

/* CLAC/STAC (SMAP): EFLAGS.AC, at CPL 0 only. */
static void op_clac_stac(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cpu->cpl > 0 || (in->flags & SOFT_INSN_LOCK))
		soft_raise_ud(cpu);
	soft_set_flags(cpu, RFLAGS_AC, in->mnemonic == ZYDIS_MNEMONIC_STAC ? RFLAGS_AC : 0);
}

static void op_clc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	cpu->s.rflags &= ~RFLAGS_CF;
}

static void op_stc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	cpu->s.rflags |= RFLAGS_CF;
}

static void op_cmc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	cpu->s.rflags ^= RFLAGS_CF;
}

static void op_cld(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	cpu->s.rflags &= ~RFLAGS_DF;
}

static void op_std(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	cpu->s.rflags |= RFLAGS_DF;
}

/* BOUND r, m16&16 / m32&32: #BR unless lower <= index <= upper (signed). */
static void op_bound(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *m = &in->op[1];
	unsigned size = in->op[0].size;
	uint64_t ea;
	int64_t idx, lower, upper;

	if (m->kind != SOFT_OP_MEM)
		soft_raise_ud(cpu);
	ea = soft_ea(cpu, in, m);
	idx = (int64_t)sext(soft_op_read(cpu, in, 0), size);
	lower = (int64_t)sext(soft_seg_read(cpu, m->seg, ea, size), size);
	upper = (int64_t)sext(soft_seg_read(cpu, m->seg, (ea + size) & soft_size_mask(in->addrsize), size),
			      size);
	if (idx < lower || idx > upper)
		soft_raise(cpu, X86_EXC_BR, 0, false);
}

void soft_register_move(soft_handler_fn **table)
{
	static const uint16_t cmov[] = {
		ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
		ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
		ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
		ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
	};
	static const uint16_t setcc[] = {
		ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
		ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
		ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
		ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
	};

	for (unsigned i = 0; i < 16; i++) {
		table[cmov[i]] = op_cmov;
		table[setcc[i]] = op_setcc;
	}
	table[ZYDIS_MNEMONIC_MOV] = op_mov;
	table[ZYDIS_MNEMONIC_MOVZX] = op_movzx;
	table[ZYDIS_MNEMONIC_MOVSX] = op_movsx;
	table[ZYDIS_MNEMONIC_MOVSXD] = op_movsx;
	table[ZYDIS_MNEMONIC_LEA] = op_lea;
	table[ZYDIS_MNEMONIC_XCHG] = op_xchg;
	table[ZYDIS_MNEMONIC_CMPXCHG] = op_cmpxchg;
	table[ZYDIS_MNEMONIC_CMPXCHG8B] = op_cmpxchg_wide;
	table[ZYDIS_MNEMONIC_CMPXCHG16B] = op_cmpxchg_wide;
	table[ZYDIS_MNEMONIC_XADD] = op_xadd;
	table[ZYDIS_MNEMONIC_CBW] = op_cbw;
	table[ZYDIS_MNEMONIC_CWDE] = op_cbw;
	table[ZYDIS_MNEMONIC_CDQE] = op_cbw;
	table[ZYDIS_MNEMONIC_CWD] = op_cwd;
	table[ZYDIS_MNEMONIC_CDQ] = op_cwd;
	table[ZYDIS_MNEMONIC_CQO] = op_cwd;
	table[ZYDIS_MNEMONIC_LAHF] = op_lahf;
	table[ZYDIS_MNEMONIC_SALC] = op_salc;
	table[ZYDIS_MNEMONIC_SAHF] = op_sahf;
	table[ZYDIS_MNEMONIC_XLAT] = op_xlat;
	table[ZYDIS_MNEMONIC_MOVBE] = op_movbe;
	table[ZYDIS_MNEMONIC_NOP] = op_nop;
	table[ZYDIS_MNEMONIC_PAUSE] = op_nop;
	table[ZYDIS_MNEMONIC_CLC] = op_clc;
	table[ZYDIS_MNEMONIC_CLAC] = op_clac_stac;
	table[ZYDIS_MNEMONIC_STAC] = op_clac_stac;
	table[ZYDIS_MNEMONIC_STC] = op_stc;
	table[ZYDIS_MNEMONIC_CMC] = op_cmc;
	table[ZYDIS_MNEMONIC_CLD] = op_cld;
	table[ZYDIS_MNEMONIC_STD] = op_std;
	table[ZYDIS_MNEMONIC_BOUND] = op_bound;
}
