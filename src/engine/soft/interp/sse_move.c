/* SPDX-License-Identifier: MIT */
/*
 * SSE data movement done in C: MOVAPS MOVAPD MOVDQA MOVUPS MOVUPD MOVDQU LDDQU,
 * MOVNTPS MOVNTPD MOVNTDQ MOVNTDQA MOVNTQ MOVNTI, MOVSS MOVSD, MOVLPS MOVLPD
 * MOVHPS MOVHPD MOVHLPS MOVLHPS, MOVD MOVQ (XMM, MMX and GPR forms),
 * MOVQ2DQ MOVDQ2Q, MOVMSKPS MOVMSKPD PMOVMSKB, PEXTRB/W/D/Q, PINSRB/W/D/Q,
 * EXTRACTPS, MASKMOVDQU MASKMOVQ. SDM Vol. 2 instruction pages.
 *
 * Alignment: the A forms, MOVNT* and MOVNTDQA need 16-byte aligned memory
 * (#GP(0)); the U forms and LDDQU do not. Non-temporal hints are ignored.
 * The shuffles and unpacks are in sse_fp.c / sse_int.c (host stubs).
 */
#include "engine/soft/interp/sse.h"

static uint8_t *xmm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	return cpu->s.fpu.xmm[in->op[n].reg];
}

static bool is_mmx(const struct soft_insn *in)
{
	return in->op[0].kind == SOFT_OP_MMX || in->op[1].kind == SOFT_OP_MMX;
}

/* The checks for this form: SSE unless only MMX registers are involved. */
static void check(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool sse = in->op[0].kind == SOFT_OP_XMM || in->op[1].kind == SOFT_OP_XMM;
	sse_check(cpu, in, sse, is_mmx(in));
}

/* ---- whole-register moves ---- */

static void move_full(struct soft_cpu *cpu, const struct soft_insn *in, bool aligned)
{
	check(cpu, in);
	uint8_t v[16];
	if (in->op[1].kind == SOFT_OP_MEM)
		sse_mem_read(cpu, in, 1, v, 16, aligned);
	else
		memcpy(v, xmm(cpu, in, 1), 16);
	if (in->op[0].kind == SOFT_OP_MEM)
		sse_mem_write(cpu, in, 0, v, 16, aligned);
	else
		memcpy(xmm(cpu, in, 0), v, 16);
}

static void op_move_aligned(struct soft_cpu *cpu, const struct soft_insn *in) { move_full(cpu, in, true); }
static void op_move_unaligned(struct soft_cpu *cpu, const struct soft_insn *in) { move_full(cpu, in, false); }

/* ---- scalar and half moves ---- */

/* MOVSS / MOVSD: register forms merge the low element; loads zero the rest. */
static void move_scalar(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	check(cpu, in);
	if (in->op[0].kind == SOFT_OP_MEM) {
		sse_mem_write(cpu, in, 0, xmm(cpu, in, 1), size, false);
	} else if (in->op[1].kind == SOFT_OP_MEM) {
		uint8_t v[16] = { 0 };
		sse_mem_read(cpu, in, 1, v, size, false);
		memcpy(xmm(cpu, in, 0), v, 16);
	} else {
		memmove(xmm(cpu, in, 0), xmm(cpu, in, 1), size);
	}
}

static void op_movss(struct soft_cpu *cpu, const struct soft_insn *in) { move_scalar(cpu, in, 4); }
static void op_movsd(struct soft_cpu *cpu, const struct soft_insn *in) { move_scalar(cpu, in, 8); }

/* MOVLPS/MOVLPD (half 0) and MOVHPS/MOVHPD (half 1): m64 to or from one half.
 * The register-register encodings of MOVLPS/MOVHPS are MOVHLPS/MOVLHPS,
 * which Zydis names separately. */
static void move_half(struct soft_cpu *cpu, const struct soft_insn *in, unsigned half)
{
	check(cpu, in);
	if (in->op[0].kind == SOFT_OP_MEM) {
		sse_mem_write(cpu, in, 0, xmm(cpu, in, 1) + 8 * half, 8, false);
	} else {
		uint8_t v[8];
		sse_mem_read(cpu, in, 1, v, 8, false);
		memcpy(xmm(cpu, in, 0) + 8 * half, v, 8);
	}
}

static void op_movlp(struct soft_cpu *cpu, const struct soft_insn *in) { move_half(cpu, in, 0); }
static void op_movhp(struct soft_cpu *cpu, const struct soft_insn *in) { move_half(cpu, in, 1); }

static void op_movhlps(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	memmove(xmm(cpu, in, 0), xmm(cpu, in, 1) + 8, 8);
}

static void op_movlhps(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	memmove(xmm(cpu, in, 0) + 8, xmm(cpu, in, 1), 8);
}

/* ---- MOVD / MOVQ ---- */

/* The low 8 bytes of operand n as an integer (XMM, MMX, GPR or memory of its size). */
static uint64_t read_q(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *o = &in->op[n];
	uint64_t v = 0;
	if (o->kind == SOFT_OP_XMM)
		memcpy(&v, cpu->s.fpu.xmm[o->reg], 8);
	else if (o->kind == SOFT_OP_MMX)
		v = mmx_get(cpu, o->reg);
	else if (o->kind == SOFT_OP_MEM && o->size == 16)
		soft_raise_ud(cpu);
	else
		v = soft_op_read(cpu, in, n);
	return v;
}

static void op_movd_movq(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	const struct soft_operand *o0 = &in->op[0];
	unsigned size = in->op[1].kind == SOFT_OP_XMM || in->op[1].kind == SOFT_OP_MMX ? o0->size : in->op[1].size;
	if (size > 8)
		size = 8;
	uint64_t v = read_q(cpu, in, 1) & soft_size_mask(size);
	switch (o0->kind) {
	case SOFT_OP_XMM:
		memset(cpu->s.fpu.xmm[o0->reg], 0, 16);
		memcpy(cpu->s.fpu.xmm[o0->reg], &v, 8);
		break;
	case SOFT_OP_MMX: mmx_set(cpu, o0->reg, v); break;
	default: soft_op_write(cpu, in, 0, v); break;
	}
	if (is_mmx(in))
		mmx_transition(cpu);
}

static void op_movq2dq(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	uint64_t v = mmx_get(cpu, in->op[1].reg);
	memset(xmm(cpu, in, 0), 0, 16);
	memcpy(xmm(cpu, in, 0), &v, 8);
	mmx_transition(cpu);
}

static void op_movdq2q(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	mmx_set(cpu, in->op[0].reg, read_q(cpu, in, 1));
	mmx_transition(cpu);
}

/* MOVNTQ m64, mm */
static void op_movntq(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	soft_op_write(cpu, in, 0, mmx_get(cpu, in->op[1].reg));
	mmx_transition(cpu);
}

/* MOVNTI m32/m64, r (no SIMD state: the normal table). */
static void op_movnti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->flags & SOFT_INSN_LOCK)
		soft_raise_ud(cpu);
	soft_op_write(cpu, in, 0, soft_op_read(cpu, in, 1));
}

/* ---- sign masks ---- */

/* MOVMSKPS (esize 4), MOVMSKPD (8), PMOVMSKB (1): the top bit of each element. */
static void move_mask(struct soft_cpu *cpu, const struct soft_insn *in, unsigned esize)
{
	check(cpu, in);
	uint8_t v[16];
	unsigned bytes = 16;
	if (in->op[1].kind == SOFT_OP_MMX) {
		uint64_t q = mmx_get(cpu, in->op[1].reg);
		memcpy(v, &q, 8);
		bytes = 8;
	} else {
		memcpy(v, xmm(cpu, in, 1), 16);
	}
	uint64_t m = 0;
	for (unsigned i = 0; i < bytes / esize; i++)
		m |= (uint64_t)(v[i * esize + esize - 1] >> 7) << i;
	soft_reg_write(cpu, in->op[0].reg, in->op[0].size, m);
	if (is_mmx(in))
		mmx_transition(cpu);
}

static void op_movmskps(struct soft_cpu *cpu, const struct soft_insn *in) { move_mask(cpu, in, 4); }
static void op_movmskpd(struct soft_cpu *cpu, const struct soft_insn *in) { move_mask(cpu, in, 8); }
static void op_pmovmskb(struct soft_cpu *cpu, const struct soft_insn *in) { move_mask(cpu, in, 1); }

/* ---- element extract / insert ---- */

/* PEXTRB (1), PEXTRW (2), PEXTRD/EXTRACTPS (4), PEXTRQ (8): element imm of
 * the XMM (or MMX) source to a GPR (zero-extended) or to memory. */
static void extract(struct soft_cpu *cpu, const struct soft_insn *in, unsigned esize)
{
	check(cpu, in);
	uint8_t v[16];
	unsigned n = 16 / esize;
	if (in->op[1].kind == SOFT_OP_MMX) {
		uint64_t q = mmx_get(cpu, in->op[1].reg);
		memcpy(v, &q, 8);
		n = 8 / esize;
	} else {
		memcpy(v, xmm(cpu, in, 1), 16);
	}
	uint64_t e = 0;
	memcpy(&e, v + esize * (in->op[2].imm % n), esize);
	if (in->op[0].kind == SOFT_OP_MEM)
		soft_seg_write(cpu, in->op[0].seg, soft_ea(cpu, in, &in->op[0]), esize, e);
	else
		soft_reg_write(cpu, in->op[0].reg, in->op[0].size < 4 ? 4 : in->op[0].size, e);
	if (is_mmx(in))
		mmx_transition(cpu);
}

static void op_pextrb(struct soft_cpu *cpu, const struct soft_insn *in) { extract(cpu, in, 1); }
static void op_pextrw(struct soft_cpu *cpu, const struct soft_insn *in) { extract(cpu, in, 2); }
static void op_pextrd(struct soft_cpu *cpu, const struct soft_insn *in) { extract(cpu, in, 4); }
static void op_pextrq(struct soft_cpu *cpu, const struct soft_insn *in) { extract(cpu, in, 8); }

/* PINSRB/W/D/Q: the low esize bytes of a GPR or memory into element imm. */
static void insert(struct soft_cpu *cpu, const struct soft_insn *in, unsigned esize)
{
	check(cpu, in);
	uint64_t e = in->op[1].kind == SOFT_OP_MEM
			     ? soft_seg_read(cpu, in->op[1].seg, soft_ea(cpu, in, &in->op[1]), esize)
			     : soft_reg_read(cpu, in->op[1].reg, esize);
	if (in->op[0].kind == SOFT_OP_MMX) {
		uint64_t q = mmx_get(cpu, in->op[0].reg);
		memcpy((uint8_t *)&q + esize * (in->op[2].imm % (8 / esize)), &e, esize);
		mmx_set(cpu, in->op[0].reg, q);
		mmx_transition(cpu);
	} else {
		memcpy(xmm(cpu, in, 0) + esize * (in->op[2].imm % (16 / esize)), &e, esize);
	}
}

static void op_pinsrb(struct soft_cpu *cpu, const struct soft_insn *in) { insert(cpu, in, 1); }
static void op_pinsrw(struct soft_cpu *cpu, const struct soft_insn *in) { insert(cpu, in, 2); }
static void op_pinsrd(struct soft_cpu *cpu, const struct soft_insn *in) { insert(cpu, in, 4); }
static void op_pinsrq(struct soft_cpu *cpu, const struct soft_insn *in) { insert(cpu, in, 8); }

/* ---- masked stores ---- */

/* MASKMOVDQU / MASKMOVQ: bytes of operand 0 whose operand-1 byte has its
 * top bit set go to DS:rDI (the hidden operand 2, overrides applied). The
 * whole range is checked first so a fault writes nothing. */
static void op_maskmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	check(cpu, in);
	uint8_t v[16], m[16];
	unsigned len = 16;
	if (in->op[0].kind == SOFT_OP_MMX) {
		uint64_t a = mmx_get(cpu, in->op[0].reg), b = mmx_get(cpu, in->op[1].reg);
		memcpy(v, &a, 8);
		memcpy(m, &b, 8);
		len = 8;
	} else {
		memcpy(v, xmm(cpu, in, 0), 16);
		memcpy(m, xmm(cpu, in, 1), 16);
	}
	const struct soft_operand *mo = &in->op[2];
	uint64_t off = soft_ea(cpu, in, mo);
	uint64_t lin = soft_seg_linear(cpu, mo->seg, off, len, SOFT_ACC_WRITE);
	soft_lin_probe_write(cpu, lin, len, cpu->cpl == 3);
	for (unsigned i = 0; i < len; i++)
		if (m[i] & 0x80)
			soft_seg_write(cpu, mo->seg, (off + i) & soft_size_mask(in->addrsize), 1, v[i]);
	if (is_mmx(in))
		mmx_transition(cpu);
}

void sse_register_move(soft_handler_fn **table)
{
	static const uint16_t aligned[] = {
		ZYDIS_MNEMONIC_MOVAPS, ZYDIS_MNEMONIC_MOVAPD, ZYDIS_MNEMONIC_MOVDQA, ZYDIS_MNEMONIC_MOVNTPS,
		ZYDIS_MNEMONIC_MOVNTPD, ZYDIS_MNEMONIC_MOVNTDQ, ZYDIS_MNEMONIC_MOVNTDQA,
	};
	static const uint16_t unaligned[] = {
		ZYDIS_MNEMONIC_MOVUPS, ZYDIS_MNEMONIC_MOVUPD, ZYDIS_MNEMONIC_MOVDQU, ZYDIS_MNEMONIC_LDDQU,
	};
	for (size_t i = 0; i < ARRAY_SIZE(aligned); i++)
		table[aligned[i]] = op_move_aligned;
	for (size_t i = 0; i < ARRAY_SIZE(unaligned); i++)
		table[unaligned[i]] = op_move_unaligned;
	table[ZYDIS_MNEMONIC_MOVSS] = op_movss;
	table[ZYDIS_MNEMONIC_MOVSD] = op_movsd;
	table[ZYDIS_MNEMONIC_MOVLPS] = op_movlp;
	table[ZYDIS_MNEMONIC_MOVLPD] = op_movlp;
	table[ZYDIS_MNEMONIC_MOVHPS] = op_movhp;
	table[ZYDIS_MNEMONIC_MOVHPD] = op_movhp;
	table[ZYDIS_MNEMONIC_MOVHLPS] = op_movhlps;
	table[ZYDIS_MNEMONIC_MOVLHPS] = op_movlhps;
	table[ZYDIS_MNEMONIC_MOVD] = op_movd_movq;
	table[ZYDIS_MNEMONIC_MOVQ] = op_movd_movq;
	table[ZYDIS_MNEMONIC_MOVQ2DQ] = op_movq2dq;
	table[ZYDIS_MNEMONIC_MOVDQ2Q] = op_movdq2q;
	table[ZYDIS_MNEMONIC_MOVNTQ] = op_movntq;
	table[ZYDIS_MNEMONIC_MOVMSKPS] = op_movmskps;
	table[ZYDIS_MNEMONIC_MOVMSKPD] = op_movmskpd;
	table[ZYDIS_MNEMONIC_PMOVMSKB] = op_pmovmskb;
	table[ZYDIS_MNEMONIC_PEXTRB] = op_pextrb;
	table[ZYDIS_MNEMONIC_PEXTRW] = op_pextrw;
	table[ZYDIS_MNEMONIC_PEXTRD] = op_pextrd;
	table[ZYDIS_MNEMONIC_EXTRACTPS] = op_pextrd;
	table[ZYDIS_MNEMONIC_PEXTRQ] = op_pextrq;
	table[ZYDIS_MNEMONIC_PINSRB] = op_pinsrb;
	table[ZYDIS_MNEMONIC_PINSRW] = op_pinsrw;
	table[ZYDIS_MNEMONIC_PINSRD] = op_pinsrd;
	table[ZYDIS_MNEMONIC_PINSRQ] = op_pinsrq;
	table[ZYDIS_MNEMONIC_MASKMOVDQU] = op_maskmov;
	table[ZYDIS_MNEMONIC_MASKMOVQ] = op_maskmov;
}

void sse_register_move_misc(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_MOVNTI] = op_movnti;
}
