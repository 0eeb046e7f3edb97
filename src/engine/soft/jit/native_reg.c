/* SPDX-License-Identifier: MIT */
/*
 * Translated register and immediate forms: integer ALU, MOV, LEA, MOVZX/MOVSX,
 * INC DEC NEG NOT, shifts and rotates by an immediate, IMUL, SETcc, CMOVcc,
 * BSWAP, sign extensions, and relative branches (translate.c says how
 * flags, exits and handler calls work).
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/jit/translate.h"

int alu_group(unsigned mnemonic, bool *logic, bool *writes)
{
	*logic = false;
	*writes = true;
	switch (mnemonic) {
	case ZYDIS_MNEMONIC_ADD: return ALU_ADD;
	case ZYDIS_MNEMONIC_ADC: return ALU_ADC;
	case ZYDIS_MNEMONIC_SUB: return ALU_SUB;
	case ZYDIS_MNEMONIC_SBB: return ALU_SBB;
	case ZYDIS_MNEMONIC_CMP: *writes = false; return ALU_CMP;
	case ZYDIS_MNEMONIC_OR: *logic = true; return ALU_OR;
	case ZYDIS_MNEMONIC_AND: *logic = true; return ALU_AND;
	case ZYDIS_MNEMONIC_XOR: *logic = true; return ALU_XOR;
	case ZYDIS_MNEMONIC_TEST: *logic = true; *writes = false; return -2;
	default: return -1;
	}
}

bool is_gpr(const struct soft_operand *op)
{
	return op->kind == SOFT_OP_REG || op->kind == SOFT_OP_REG8H;
}

/* op RAX(size), src: src a guest register slot, an immediate, or host memory at [RSI]. */
static void emit_alu_src(struct emit *e, int alu, unsigned size, const struct soft_operand *src, struct rm srcm)
{
	if (alu == -2) { /* TEST */
		if (src->kind == SOFT_OP_IMM) {
			emit_op1(e, size, size == 1 ? 0xf6 : 0xf7, 0, rm_reg(H_RAX));
			emit_imm(e, size, src->imm);
		} else {
			emit_op1(e, size, size == 1 ? 0x84 : 0x85, H_RAX, srcm);
		}
	} else if (src->kind == SOFT_OP_IMM) {
		emit_alu_imm(e, (unsigned)alu, size, rm_reg(H_RAX), src->imm);
	} else {
		emit_alu_load(e, (unsigned)alu, size, H_RAX, srcm);
	}
}

/* ALU r, r/imm (and r, [RSI] when mem). */
void emit_alu_reg_dst(struct tr *t, int alu, bool logic, bool writes, bool mem)
{
	const struct soft_insn *in = t->in;
	unsigned size = in->op[0].size;
	if (alu == ALU_ADC || alu == ALU_SBB)
		need_flags(t, RFLAGS_CF);
	emit_load(&t->e, size, H_RAX, gpr_slot(&in->op[0]));
	emit_alu_src(&t->e, alu, size, &in->op[1], mem ? rm_mem(H_RSI, 0) : gpr_slot(&in->op[1]));
	if (writes)
		store_gpr(t, &in->op[0], size);
	flags_written(t, SOFT_ARITH_FLAGS, logic ? MODEL_LOGIC_UNDEFINED : 0);
}

bool native_alu(struct tr *t)
{
	const struct soft_insn *in = t->in;
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	if (alu == -1 || in->nops != 2 || !is_gpr(&in->op[0]))
		return false;
	const struct soft_operand *s = &in->op[1];
	if (!(s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == in->op[0].size)))
		return false;
	emit_alu_reg_dst(t, alu, logic, writes, false);
	return true;
}

bool native_unary(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (in->nops != 1 || !is_gpr(d))
		return false;
	unsigned digit;
	uint32_t def;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INC: digit = 0; def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; break;
	case ZYDIS_MNEMONIC_DEC: digit = 1; def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; break;
	case ZYDIS_MNEMONIC_NOT: digit = 2; def = 0; break;
	case ZYDIS_MNEMONIC_NEG: digit = 3; def = SOFT_ARITH_FLAGS; break;
	default: return false;
	}
	unsigned size = d->size;
	emit_load(&t->e, size, H_RAX, gpr_slot(d));
	if (digit < 2)
		emit_op1(&t->e, size, size == 1 ? 0xfe : 0xff, digit, rm_reg(H_RAX));
	else
		emit_op1(&t->e, size, size == 1 ? 0xf6 : 0xf7, digit, rm_reg(H_RAX));
	store_gpr(t, d, size);
	if (def)
		flags_written(t, def, 0);
	return true;
}

/* MOV r, r/imm. */
bool native_mov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->mnemonic != ZYDIS_MNEMONIC_MOV || in->nops != 2 || !is_gpr(d))
		return false;
	unsigned size = d->size;
	if (s->kind == SOFT_OP_IMM) {
		if (size == 8 || size == 4) {
			uint64_t v = size == 4 ? (uint32_t)s->imm : s->imm;
			store_u64(t, gpr_slot(d), v);
		} else {
			emit_mov_imm(&t->e, size, gpr_slot(d), s->imm);
		}
		return true;
	}
	if (!is_gpr(s) || s->size != size)
		return false;
	emit_load(&t->e, size, H_RAX, gpr_slot(s));
	store_gpr(t, d, size);
	return true;
}

/* MOVZX / MOVSX / MOVSXD r, r/m8/16/32 into RAX from srcm, then the destination. */
bool emit_extend(struct tr *t, struct rm srcm)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	unsigned dsize = d->size, ssize = s->size;
	if (d->kind != SOFT_OP_REG || dsize < 2)
		return false;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVZX:
		if (ssize != 1 && ssize != 2)
			return false;
		emit_op2(&t->e, 4, 0x0f, ssize == 1 ? 0xb6 : 0xb7, H_RAX, srcm);
		break;
	case ZYDIS_MNEMONIC_MOVSX:
		if (ssize != 1 && ssize != 2)
			return false;
		emit_op2(&t->e, dsize == 8 ? 8 : 4, 0x0f, ssize == 1 ? 0xbe : 0xbf, H_RAX, srcm);
		break;
	case ZYDIS_MNEMONIC_MOVSXD:
		if (ssize != 4 || dsize != 8)
			return false;
		emit_op1(&t->e, 8, 0x63, H_RAX, srcm);
		break;
	default:
		return false;
	}
	store_gpr(t, d, dsize);
	return true;
}

/* Loads the guest register of op zero-extended into host register reg. */
static void load_gpr_zx(struct tr *t, unsigned reg, const struct soft_operand *op, unsigned size)
{
	if (size < 4)
		emit_op2(&t->e, 4, 0x0f, size == 1 ? 0xb6 : 0xb7, reg, gpr_slot(op));
	else
		emit_load(&t->e, size, reg, gpr_slot(op));
}

/* Writes the flags in mask from host register reg (other bits zero) into
 * cpu->s.rflags. Clobbers the host flags. */
static void emit_flags_store(struct emit *e, unsigned reg, uint32_t mask)
{
	emit_alu_imm(e, ALU_AND, 8, CPU_MEM(s.rflags), (uint64_t)(int64_t)(int32_t)~mask);
	emit_alu_store(e, ALU_OR, 8, CPU_MEM(s.rflags), reg);
}

/*
 * SHL SHR SAR ROL ROR of a register by an immediate: the host shift gives
 * the result and the flags the SDM defines; the flags it leaves undefined
 * are the model's (model_shift_undefined), computed here from the operand:
 * AF 0; for a count above 1, OF = a[msb] ^ a[msb-1] after SHL, a[msb] after
 * SHR, 0 after SAR, and unchanged after ROL/ROR of a register by an
 * immediate. Flags are written back at once.
 */
bool native_shift(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->nops != 2 || !is_gpr(d) || s->kind != SOFT_OP_IMM)
		return false;
	unsigned digit;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_ROL: digit = 0; break;
	case ZYDIS_MNEMONIC_ROR: digit = 1; break;
	case ZYDIS_MNEMONIC_SHL: digit = 4; break;
	case ZYDIS_MNEMONIC_SHR: digit = 5; break;
	case ZYDIS_MNEMONIC_SAR: digit = 7; break;
	default: return false;
	}
	unsigned size = d->size, bits = size * 8;
	unsigned c = (unsigned)s->imm & (size == 8 ? 63 : 31);
	bool rotate = digit < 2;
	if (c == 0 || (!rotate && c >= bits))
		return false; /* no flags change / the model's CF rule: the handler */
	struct emit *e = &t->e;
	uint32_t host = rotate ? RFLAGS_CF : RFLAGS_CF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF;
	if (c == 1 && digit != 7)
		host |= RFLAGS_OF;
	uint32_t all = rotate ? (c == 1 ? RFLAGS_CF | RFLAGS_OF : RFLAGS_CF) : SOFT_ARITH_FLAGS;
	bool of_model = c > 1 && (digit == 4 || digit == 5);
	/* Flags the next instruction overwrites are not computed: the result alone. */
	bool dead = t->flags_dead;
	if (!dead)
		flags_clobbered(t);
	load_gpr_zx(t, H_RAX, d, size);
	if (of_model && !dead)
		emit_load(e, 8, H_RCX, rm_reg(H_RAX));
	emit_shift_imm(e, digit, size, rm_reg(H_RAX), (uint8_t)c);
	if (!dead) {
		emit_byte(e, 0x9c); /* pushfq */
		emit_byte(e, 0x5a); /* pop rdx */
	}
	store_gpr(t, d, size);
	if (dead) {
		t->valid = t->dirty = t->undef = 0;
		return true;
	}
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDX), host);
	if (of_model) {
		if (digit == 4) { /* a[msb] ^ a[msb-1] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 2));
			emit_load(e, 4, H_RSI, rm_reg(H_RCX));
			emit_shift_imm(e, 5, 4, rm_reg(H_RSI), 1);
			emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RSI));
			emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), 1);
		} else { /* a[msb] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 1));
		}
		emit_shift_imm(e, 4, 4, rm_reg(H_RCX), 11);
		emit_alu_load(e, ALU_OR, 4, H_RDX, rm_reg(H_RCX));
	}
	emit_flags_store(e, H_RDX, all);
	return true;
}

/*
 * IMUL r, r/imm and IMUL r, r, imm (16, 32, 64 bits): OF and CF from the
 * host; SF ZF AF PF, undefined, are the model's (model_mul_flags): SF the
 * sign of the result, PF its low byte's parity, ZF and AF 0.
 */
bool native_imul(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (in->mnemonic != ZYDIS_MNEMONIC_IMUL || (in->nops != 2 && in->nops != 3) || d->kind != SOFT_OP_REG ||
	    d->size < 2)
		return false;
	const struct soft_operand *a = &in->op[in->nops - 2], *b = &in->op[in->nops - 1];
	if (a->kind != SOFT_OP_REG || a->size != d->size)
		return false;
	if (in->nops == 2 ? b->kind != SOFT_OP_REG || b->size != d->size : b->kind != SOFT_OP_IMM)
		return false;
	struct emit *e = &t->e;
	unsigned size = d->size;
	if (!t->flags_dead)
		flags_clobbered(t);
	if (in->nops == 2) {
		emit_load(e, size, H_RAX, gpr_slot(a));
		emit_op2(e, size, 0x0f, 0xaf, H_RAX, gpr_slot(b)); /* imul rax, [b] */
	} else {
		emit_op1(e, size, 0x69, H_RAX, gpr_slot(a)); /* imul rax, [a], imm */
		emit_imm(e, size, b->imm);
	}
	if (t->flags_dead) {
		store_gpr(t, d, size);
		t->valid = t->dirty = t->undef = 0;
		return true;
	}
	emit_byte(e, 0x9c); /* pushfq */
	emit_byte(e, 0x5a); /* pop rdx */
	store_gpr(t, d, size);
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDX), RFLAGS_CF | RFLAGS_OF);
	emit_op1(e, size, 0x85, H_RAX, rm_reg(H_RAX)); /* test rax, rax: SF and PF of the result */
	emit_byte(e, 0x9c);
	emit_byte(e, 0x59); /* pop rcx */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), RFLAGS_SF | RFLAGS_PF);
	emit_alu_load(e, ALU_OR, 4, H_RDX, rm_reg(H_RCX));
	emit_flags_store(e, H_RDX, SOFT_ARITH_FLAGS);
	return true;
}

/* The condition code of SETcc/CMOVcc (the low nibble of 0F 9x / 0F 4x). */
static int cc_of(const struct soft_insn *in)
{
	return (in->opcode & 0xf0) == 0x90 || (in->opcode & 0xf0) == 0x40 ? in->opcode & 0xf : -1;
}

/* SETcc r8 and CMOVcc r, r: the host instruction on flags made valid in the
 * host RFLAGS, which they leave as they were. A 32-bit CMOV writes (clears
 * the upper half of) its destination whether or not it moves, on the host
 * RAX as on the guest register. */
bool native_setcc_cmov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	int cc = cc_of(in);
	if (cc < 0 || !is_gpr(d))
		return false;
	bool set = in->nops == 1 && d->size == 1 && in->mnemonic >= ZYDIS_MNEMONIC_SETB &&
		   in->mnemonic <= ZYDIS_MNEMONIC_SETZ;
	bool cmov = in->nops == 2 && d->kind == SOFT_OP_REG && d->size >= 2 && in->op[1].kind == SOFT_OP_REG &&
		    in->op[1].size == d->size && in->mnemonic >= ZYDIS_MNEMONIC_CMOVB && in->mnemonic <= ZYDIS_MNEMONIC_CMOVZ;
	if (!set && !cmov)
		return false;
	need_flags(t, cond_flags((unsigned)cc));
	if (set) {
		emit_op2(&t->e, 1, 0x0f, (uint8_t)(0x90 | cc), 0, rm_reg(H_RAX));
		emit_store(&t->e, 1, gpr_slot(d), H_RAX);
	} else {
		emit_load(&t->e, d->size, H_RAX, gpr_slot(d));
		emit_op2(&t->e, d->size, 0x0f, (uint8_t)(0x40 | cc), H_RAX, gpr_slot(&in->op[1]));
		store_gpr(t, d, d->size);
	}
	return true;
}

/* BSWAP r32/r64, and CBW/CWDE/CDQE, CWD/CDQ/CQO: no flags. */
bool native_misc(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_BSWAP: {
		const struct soft_operand *d = &in->op[0];
		if (in->nops != 1 || d->kind != SOFT_OP_REG || d->size < 4)
			return false;
		emit_load(e, d->size, H_RAX, gpr_slot(d));
		if (d->size == 8)
			emit_byte(e, 0x48);
		emit_byte(e, 0x0f);
		emit_byte(e, 0xc8); /* bswap eax / rax */
		store_gpr(t, d, d->size);
		return true;
	}
	case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE: case ZYDIS_MNEMONIC_CBW:
	case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO: {
		/* 98: AL/AX/EAX sign-extended into AX/EAX/RAX; 99: the sign of
		 * AX/EAX/RAX into DX/EDX/RDX. The operand size picks the width. */
		bool into_rdx = in->opcode == 0x99;
		unsigned size = in->opsize;
		struct soft_operand rax = { .kind = SOFT_OP_REG, .reg = X86_RAX }, rdx = { .kind = SOFT_OP_REG, .reg = X86_RDX };
		emit_load(e, 8, H_RAX, gpr_slot(&rax));
		if (size == 2)
			emit_byte(e, 0x66);
		else if (size == 8)
			emit_byte(e, 0x48);
		emit_byte(e, in->opcode);
		if (into_rdx)
			emit_load(e, 8, H_RAX, rm_reg(H_RDX));
		store_gpr(t, into_rdx ? &rdx : &rax, size);
		return true;
	}
	default:
		return false;
	}
}

bool native_extend(struct tr *t)
{
	const struct soft_insn *in = t->in;
	if (in->nops != 2 || !is_gpr(&in->op[1]))
		return false;
	/* Check the form before emitting anything. */
	unsigned m = in->mnemonic;
	if (m != ZYDIS_MNEMONIC_MOVZX && m != ZYDIS_MNEMONIC_MOVSX && m != ZYDIS_MNEMONIC_MOVSXD)
		return false;
	return emit_extend(t, gpr_slot(&in->op[1]));
}

bool native_lea(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *m = &in->op[1];
	if (in->mnemonic != ZYDIS_MNEMONIC_LEA || in->nops != 2 || d->kind != SOFT_OP_REG || m->kind != SOFT_OP_MEM ||
	    d->size < 2)
		return false;
	if (!emit_ea(t, m))
		return false;
	if (d->size == 4) { /* the low 32 bits, zero-extended */
		emit_load(&t->e, 4, H_RAX, rm_reg(H_RSI));
		emit_store(&t->e, 8, gpr_slot(d), H_RAX);
	} else {
		emit_store(&t->e, d->size, gpr_slot(d), H_RSI);
	}
	return true;
}

/* ---- branches ---- */

/* The target of a relative branch, or false when taking it would fault
 * (the handler then raises it). */
bool branch_target(struct tr *t, uint64_t *target)
{
	const struct soft_insn *in = t->in;
	uint64_t v = (t->next + in->op[0].imm) & soft_size_mask(in->opsize);
	if (t->long64 ? !soft_is_canonical(v) : v > t->b->jit_cs_limit)
		return false;
	*target = v;
	return true;
}

/* A taken branch to target: a loop back to the block's start stays in the
 * translated code (attention checked), anything else leaves. */
struct stub *taken_stub(struct tr *t, uint64_t target)
{
	struct stub *s = new_stub(t, target == t->b->jit_rip ? STUB_LOOP : STUB_EXIT);
	s->has_target = true;
	s->target = target;
	return s;
}

bool native_branch(struct tr *t)
{
	const struct soft_insn *in = t->in;
	if (in->nops != 1 || in->op[0].kind != SOFT_OP_IMM)
		return false;
	uint64_t target;
	if (in->mnemonic == ZYDIS_MNEMONIC_JMP) {
		if (!branch_target(t, &target))
			return false;
		struct stub *s = taken_stub(t, target);
		s->field[s->nfield++] = emit_jmp(&t->e);
		t->rip_stored = true; /* nothing after it runs */
		return true;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JNB:
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNLE:
		break;
	default:
		return false;
	}
	if (!branch_target(t, &target))
		return false;
	if (target == t->next)
		return true; /* goes on either way; the interpreter keeps to the block too */
	unsigned cc = in->opcode & 0xf;
	need_flags(t, cond_flags(cc));
	struct stub *s = taken_stub(t, target);
	s->field[s->nfield++] = emit_jcc(&t->e, cc);
	return true;
}

