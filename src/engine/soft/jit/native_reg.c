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

/* op dst(size), src: src an immediate, or srcm (a guest register or host
 * memory at [RSI]). */
static void emit_alu_src(struct emit *e, int alu, unsigned size, const struct soft_operand *src, struct rm srcm,
			 unsigned dst)
{
	if (alu == -2) { /* TEST */
		if (src->kind == SOFT_OP_IMM) {
			emit_op1(e, size, size == 1 ? 0xf6 : 0xf7, 0, rm_reg(dst));
			emit_imm(e, size, src->imm);
		} else {
			emit_op1(e, size, size == 1 ? 0x84 : 0x85, dst, srcm);
		}
	} else if (src->kind == SOFT_OP_IMM) {
		emit_alu_imm(e, (unsigned)alu, size, rm_reg(dst), src->imm);
	} else {
		emit_alu_load(e, (unsigned)alu, size, dst, srcm);
	}
}

/* ALU r, r/imm (and r, [RSI] when mem): on the host register holding the
 * guest's, whose merge rules are the guest's, or through RAX. */
void emit_alu_reg_dst(struct tr *t, int alu, bool logic, bool writes, bool mem)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	unsigned size = d->size;
	if (alu == ALU_ADC || alu == ALU_SBB)
		need_flags(t, RFLAGS_CF);
	struct rm srcm = mem ? rm_mem(H_RSI, 0) : s->kind == SOFT_OP_IMM ? rm_reg(H_RAX) : gpr_slot(t, s);
	struct rm dst = gpr_slot(t, d);
	if (dst.is_reg) {
		if (writes)
			gpr_dst(t, d, size);
		emit_alu_src(&t->e, alu, size, s, srcm, dst.reg);
	} else {
		emit_load(&t->e, size, H_RAX, dst);
		emit_alu_src(&t->e, alu, size, s, srcm, H_RAX);
		if (writes)
			store_gpr(t, d, size);
	}
	flags_written(t, SOFT_ARITH_FLAGS, logic ? MODEL_LOGIC_UNDEFINED : 0);
}

bool alu_reg_form(const struct soft_insn *in)
{
	bool logic, writes;
	if (alu_group(in->mnemonic, &logic, &writes) == -1 || in->nops != 2 || !is_gpr(&in->op[0]) ||
	    (in->flags & SOFT_INSN_LOCK))
		return false;
	const struct soft_operand *s = &in->op[1];
	return s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == in->op[0].size);
}

bool native_alu(struct tr *t)
{
	if (!alu_reg_form(t->in))
		return false;
	bool logic, writes;
	int alu = alu_group(t->in->mnemonic, &logic, &writes);
	emit_alu_reg_dst(t, alu, logic, writes, false);
	return true;
}

/* INC DEC NOT NEG: the /digit of FE/FF or F6/F7 and the flags written, or -1. */
int unary_digit(const struct soft_insn *in, uint32_t *def)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INC: *def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; return 0;
	case ZYDIS_MNEMONIC_DEC: *def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; return 1;
	case ZYDIS_MNEMONIC_NOT: *def = 0; return 2;
	case ZYDIS_MNEMONIC_NEG: *def = SOFT_ARITH_FLAGS; return 3;
	default: return -1;
	}
}

bool unary_reg_form(const struct soft_insn *in, uint32_t *def)
{
	return in->nops == 1 && is_gpr(&in->op[0]) && !(in->flags & SOFT_INSN_LOCK) && unary_digit(in, def) >= 0;
}

bool native_unary(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	uint32_t def;
	if (!unary_reg_form(in, &def))
		return false;
	unsigned digit = (unsigned)unary_digit(in, &def);
	unsigned size = d->size;
	struct rm r = gpr_slot(t, d);
	if (r.is_reg)
		gpr_dst(t, d, size);
	else
		emit_load(&t->e, size, H_RAX, r);
	unsigned h = r.is_reg ? r.reg : H_RAX;
	if (digit < 2)
		emit_op1(&t->e, size, size == 1 ? 0xfe : 0xff, digit, rm_reg(h));
	else
		emit_op1(&t->e, size, size == 1 ? 0xf6 : 0xf7, digit, rm_reg(h));
	if (!r.is_reg)
		store_gpr(t, d, size);
	if (def)
		flags_written(t, def, 0);
	return true;
}

bool mov_reg_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	return in->mnemonic == ZYDIS_MNEMONIC_MOV && in->nops == 2 && is_gpr(d) &&
	       (s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == d->size));
}

/* MOV r, r/imm. */
bool native_mov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (!mov_reg_form(in))
		return false;
	unsigned size = d->size;
	if (s->kind == SOFT_OP_IMM) {
		struct rm dr = gpr_dst(t, d, size);
		uint64_t v = size == 4 ? (uint32_t)s->imm : s->imm;
		if (size < 4)
			emit_mov_imm(&t->e, size, dr, s->imm);
		else if (dr.is_reg)
			emit_mov_r64_imm(&t->e, dr.reg, v);
		else
			store_u64(t, dr, v);
		return true;
	}
	struct rm sr = gpr_slot(t, s); /* before the destination: it may be the same register */
	struct rm dr = gpr_dst(t, d, size);
	if (dr.is_reg) {
		emit_load(&t->e, size, dr.reg, sr); /* 4 bytes: clears the upper half */
	} else {
		emit_load(&t->e, size, H_RAX, sr);
		store_gpr(t, d, size);
	}
	return true;
}

/* MOVZX / MOVSX r16/32/64, r/m8/16 and MOVSXD r64, r/m32. */
bool extend_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->nops != 2 || d->kind != SOFT_OP_REG || d->size < 2 || (s->kind != SOFT_OP_MEM && !is_gpr(s)))
		return false;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX: return s->size == 1 || s->size == 2;
	case ZYDIS_MNEMONIC_MOVSXD: return s->size == 4 && d->size == 8;
	default: return false;
	}
}

/* An extend_form instruction: RAX from srcm, then the destination. */
void emit_extend(struct tr *t, struct rm srcm)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	unsigned dsize = d->size, ssize = s->size;
	/* 4- and 8-byte destinations straight into a cached register */
	struct rm dr = dsize >= 4 ? gpr_dst(t, d, dsize) : rm_mem(H_RBX, 0);
	unsigned h = dr.is_reg ? dr.reg : H_RAX;
	if (in->mnemonic == ZYDIS_MNEMONIC_MOVZX)
		emit_op2(&t->e, 4, 0x0f, ssize == 1 ? 0xb6 : 0xb7, h, srcm);
	else if (in->mnemonic == ZYDIS_MNEMONIC_MOVSX)
		emit_op2(&t->e, dsize == 8 ? 8 : 4, 0x0f, ssize == 1 ? 0xbe : 0xbf, h, srcm);
	else
		emit_op1(&t->e, 8, 0x63, h, srcm);
	if (!dr.is_reg)
		store_gpr(t, d, dsize);
}

/* Loads the guest register of op zero-extended into host register reg. */
static void load_gpr_zx(struct tr *t, unsigned reg, const struct soft_operand *op, unsigned size)
{
	if (size < 4)
		emit_op2(&t->e, 4, 0x0f, size == 1 ? 0xb6 : 0xb7, reg, gpr_slot(t, op));
	else
		emit_load(&t->e, size, reg, gpr_slot(t, op));
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
 * immediate. They stay in the host flags like any other (AF as an
 * undefined flag cleared on write-back).
 */
/* The shift group /digit of a shift or rotate (-1: not one). */
static int shift_digit(const struct soft_insn *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_ROL: return 0;
	case ZYDIS_MNEMONIC_ROR: return 1;
	case ZYDIS_MNEMONIC_SHL: return 4;
	case ZYDIS_MNEMONIC_SHR: return 5;
	case ZYDIS_MNEMONIC_SAR: return 7;
	default: return -1;
	}
}

bool shift_cl_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	return in->nops == 2 && is_gpr(d) && s->kind == SOFT_OP_REG && s->reg == X86_RCX && s->size == 1 &&
	       shift_digit(in) >= 0;
}

/* SHL SHR SAR ROL ROR r, CL whose flags no one reads: the host shift for
 * the result, which the SDM defines for every count (a count of 0 writes
 * the register too, clearing bits 32..63 of a 32-bit one). Flags that may
 * be read leave it to its handler (the count decides which it writes). */
static bool native_shift_cl(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (!shift_cl_form(in) || t->live_out)
		return false;
	unsigned digit = (unsigned)shift_digit(in), size = d->size;
	emit_load(&t->e, 4, H_RCX, gpr_slot(t, &in->op[1]));
	struct rm r = gpr_slot(t, d);
	if (r.is_reg)
		gpr_dst(t, d, size);
	else
		emit_load(&t->e, size, H_RAX, r);
	emit_op1(&t->e, size, size == 1 ? 0xd2 : 0xd3, digit, r.is_reg ? r : rm_reg(H_RAX)); /* shift r/m, cl */
	if (!r.is_reg)
		store_gpr(t, d, size);
	t->valid = t->dirty = t->undef = 0;
	return true;
}

/* The shift group /digit of a translated shift or rotate by an immediate
 * (-1: not one) and the flags it writes. */
int shift_form(const struct soft_insn *in, uint32_t *def)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	int digit = shift_digit(in);
	if (in->nops != 2 || !is_gpr(d) || s->kind != SOFT_OP_IMM || digit < 0)
		return -1;
	unsigned c = (unsigned)s->imm & (d->size == 8 ? 63 : 31);
	bool rotate = digit < 2;
	if (c == 0 || (!rotate && c >= d->size * 8u))
		return -1; /* no flags change / the model's CF rule: the handler */
	*def = rotate ? (c == 1 ? RFLAGS_CF | RFLAGS_OF : RFLAGS_CF) : SOFT_ARITH_FLAGS;
	return digit;
}

bool native_shift(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	uint32_t def;
	int form = shift_form(in, &def);
	if (form < 0)
		return native_shift_cl(t);
	struct emit *e = &t->e;
	unsigned digit = (unsigned)form, size = d->size, bits = size * 8;
	unsigned c = (unsigned)s->imm & (size == 8 ? 63 : 31);
	bool rotate = digit < 2;
	/* OF after a multi-bit shift or rotate is undefined on the host: the
	 * model's value goes into CL first and into the host OF after
	 * (LAHF; ADD CL, 0x7F; SAHF keeps the other five). */
	bool dead = !t->live_out;
	bool fix_of = !dead && c > 1 && (!rotate || (t->valid & RFLAGS_OF));
	struct rm r = gpr_slot(t, d);
	struct rm v = r.is_reg ? r : rm_reg(H_RAX);
	if (!r.is_reg)
		load_gpr_zx(t, H_RAX, d, size);
	if (fix_of && rotate) {
		emit_op2(e, 1, 0x0f, 0x90, 0, rm_reg(H_RCX)); /* seto cl: ROL/ROR keep OF */
	} else if (fix_of) {
		/* every flag is written: the old ones are dead, the host's free */
		emit_load(e, 8, H_RCX, v);
		if (digit == 4) { /* SHL: a[msb] ^ a[msb-1] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 2));
			emit_load(e, 4, H_RDX, rm_reg(H_RCX));
			emit_shift_imm(e, 5, 4, rm_reg(H_RDX), 1);
			emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RDX));
			emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), 1);
		} else if (digit == 5) { /* SHR: a[msb] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 1));
			emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), 1); /* a cached register's upper bits */
		} else { /* SAR: 0 */
			emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RCX));
		}
	}
	if (r.is_reg)
		gpr_dst(t, d, size);
	emit_shift_imm(e, digit, size, v, (uint8_t)c);
	if (!r.is_reg)
		store_gpr(t, d, size);
	if (dead) {
		t->valid = t->dirty = t->undef = 0;
		return true;
	}
	if (fix_of) {
		emit_byte(e, 0x9f); /* lahf */
		emit_byte(e, 0x80); /* add cl, 0x7f */
		emit_byte(e, 0xc1);
		emit_byte(e, 0x7f);
		emit_byte(e, 0x9e); /* sahf */
	}
	if (rotate) {
		/* CF (and OF by one bit) from the host; the rest as they were,
		 * OF among them unless the host clobbered it unsaved */
		if (c > 1 && !fix_of)
			t->valid &= ~(uint32_t)RFLAGS_OF;
		flags_written(t, def, 0);
	} else {
		t->valid = t->dirty = t->undef = 0;
		flags_written(t, SOFT_ARITH_FLAGS, RFLAGS_AF);
	}
	return true;
}

/*
 * IMUL r, r/imm and IMUL r, r, imm (16, 32, 64 bits): OF and CF from the
 * host; SF ZF AF PF, undefined, are the model's (model_mul_flags): SF the
 * sign of the result, PF its low byte's parity, ZF and AF 0.
 */
bool imul_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0];
	if (in->mnemonic != ZYDIS_MNEMONIC_IMUL || (in->nops != 2 && in->nops != 3) || d->kind != SOFT_OP_REG ||
	    d->size < 2)
		return false;
	const struct soft_operand *a = &in->op[in->nops - 2], *b = &in->op[in->nops - 1];
	if (a->kind != SOFT_OP_REG || a->size != d->size)
		return false;
	return in->nops == 2 ? b->kind == SOFT_OP_REG && b->size == d->size : b->kind == SOFT_OP_IMM;
}

bool native_imul(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (!imul_form(in))
		return false;
	const struct soft_operand *a = &in->op[in->nops - 2], *b = &in->op[in->nops - 1];
	struct emit *e = &t->e;
	unsigned size = d->size;
	bool dead = !t->live_out;
	if (!dead)
		flags_clobbered(t);
	if (in->nops == 2) {
		emit_load(e, size, H_RAX, gpr_slot(t, a));
		emit_op2(e, size, 0x0f, 0xaf, H_RAX, gpr_slot(t, b)); /* imul rax, b */
	} else {
		emit_op1(e, size, 0x69, H_RAX, gpr_slot(t, a)); /* imul rax, a, imm */
		emit_imm(e, size, b->imm);
	}
	if (dead) {
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
int setcc_cmov_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0];
	int cc = cc_of(in);
	if (cc < 0 || !is_gpr(d))
		return -1;
	bool set = in->nops == 1 && d->size == 1 && in->mnemonic >= ZYDIS_MNEMONIC_SETB &&
		   in->mnemonic <= ZYDIS_MNEMONIC_SETZ;
	bool cmov = in->nops == 2 && d->kind == SOFT_OP_REG && d->size >= 2 && in->op[1].kind == SOFT_OP_REG &&
		    in->op[1].size == d->size && in->mnemonic >= ZYDIS_MNEMONIC_CMOVB && in->mnemonic <= ZYDIS_MNEMONIC_CMOVZ;
	return set || cmov ? cc : -1;
}

bool native_setcc_cmov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	int cc = setcc_cmov_form(in);
	if (cc < 0)
		return false;
	bool set = in->nops == 1;
	need_flags(t, cond_flags((unsigned)cc));
	if (set) {
		emit_op2(&t->e, 1, 0x0f, (uint8_t)(0x90 | cc), 0, rm_reg(H_RAX));
		emit_store(&t->e, 1, gpr_dst(t, d, 1), H_RAX);
	} else {
		emit_load(&t->e, d->size, H_RAX, gpr_slot(t, d));
		emit_op2(&t->e, d->size, 0x0f, (uint8_t)(0x40 | cc), H_RAX, gpr_slot(t, &in->op[1]));
		store_gpr(t, d, d->size);
	}
	return true;
}

/* BT BTS BTR BTC on a register, by a register or an immediate: the /digit
 * of 0F BA (4..7), or -1. */
static int bt_digit(const struct soft_insn *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_BT: return 4;
	case ZYDIS_MNEMONIC_BTS: return 5;
	case ZYDIS_MNEMONIC_BTR: return 6;
	case ZYDIS_MNEMONIC_BTC: return 7;
	default: return -1;
	}
}

bool bt_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	return bt_digit(in) >= 0 && in->nops == 2 && d->kind == SOFT_OP_REG && d->size >= 2 &&
	       (s->kind == SOFT_OP_IMM || (s->kind == SOFT_OP_REG && s->size == d->size)) &&
	       !(in->flags & SOFT_INSN_LOCK);
}

/*
 * BT BTS BTR BTC r, r/imm: the host instruction (the same bit, masked to
 * the operand size the same way). CF is the bit; the model keeps the other
 * five (OF SF AF PF are undefined, and not every vendor documents ZF as
 * kept), so flags the host held for the guest are saved in AX around it
 * and put back with the new CF (LAHF, SETO AL; SETC CL into AH's bit 0;
 * ADD AL, 0x7F; SAHF).
 */
bool native_bt(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (!bt_form(in))
		return false;
	struct emit *e = &t->e;
	unsigned digit = (unsigned)bt_digit(in), size = d->size;
	bool keep = t->valid & (RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF);
	if (keep)
		emit_save_ax(e);
	unsigned bit = H_RCX;
	if (s->kind == SOFT_OP_REG) {
		struct rm sr = gpr_slot(t, s);
		if (sr.is_reg)
			bit = sr.reg;
		else
			emit_load(e, size, H_RCX, sr);
	}
	struct rm r = gpr_slot(t, d);
	if (r.is_reg && digit != 4)
		gpr_dst(t, d, size);
	if (!r.is_reg)
		emit_load(e, size, H_RDX, r);
	struct rm v = r.is_reg ? r : rm_reg(H_RDX);
	if (s->kind == SOFT_OP_IMM) {
		emit_op2(e, size, 0x0f, 0xba, digit, v);
		emit_byte(e, (uint8_t)s->imm);
	} else {
		emit_op2(e, size, 0x0f, (uint8_t)(0xa3 | (digit - 4) << 3), bit, v);
	}
	if (!r.is_reg && digit != 4)
		store_gpr_from(t, d, size, H_RDX);
	if (keep) {
		emit_op2(e, 1, 0x0f, 0x92, 0, rm_reg(H_RCX)); /* setc cl */
		emit_alu_imm(e, ALU_AND, 1, rm_reg(4 /* ah */), 0xfe);
		emit_alu_load(e, ALU_OR, 1, 4 /* ah */, rm_reg(H_RCX));
		emit_restore_ax(e);
	}
	flags_written(t, RFLAGS_CF, 0);
	return true;
}

/* BSF / BSR r, r (16, 32, 64 bits). */
bool bitscan_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	return (in->mnemonic == ZYDIS_MNEMONIC_BSF || in->mnemonic == ZYDIS_MNEMONIC_BSR) && in->nops == 2 &&
	       d->kind == SOFT_OP_REG && d->size >= 2 && s->kind == SOFT_OP_REG && s->size == d->size &&
	       !(in->flags & SOFT_INSN_LOCK);
}

/*
 * BSF / BSR by the model (model_bitscan): a source of 0 leaves the
 * destination as it was (all 64 bits) with ZF and PF set; otherwise the
 * index, ZF clear and PF its parity. CF OF SF AF are 0 either way. The host
 * instruction finds the index; TEST and XOR make the flags (AF, which they
 * leave undefined, is cleared on write-back).
 */
bool native_bitscan(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (!bitscan_form(in))
		return false;
	struct emit *e = &t->e;
	unsigned size = d->size;
	load_gpr_zx(t, H_RCX, &in->op[1], size);
	gpr_slot(t, d); /* loaded on both paths below */
	emit_op2(e, 8, 0x0f, in->mnemonic == ZYDIS_MNEMONIC_BSF ? 0xbc : 0xbd, H_RAX, rm_reg(H_RCX));
	uint8_t *zero = emit_jcc(e, 4 /* z */);
	store_gpr(t, d, size);
	emit_lea(e, H_RDX, rm_mem(H_RAX, 0x100)); /* a nonzero value whose low byte is the index */
	emit_op1(e, 4, 0x85, H_RDX, rm_reg(H_RDX)); /* test edx, edx */
	uint8_t *done = emit_jmp(e);
	emit_patch(e, zero, e->p);
	emit_alu_load(e, ALU_XOR, 4, H_RDX, rm_reg(H_RDX));
	emit_patch(e, done, e->p);
	t->valid = t->dirty = t->undef = 0;
	flags_written(t, SOFT_ARITH_FLAGS, RFLAGS_AF);
	return true;
}

/* BSWAP r32/r64, and CBW/CWDE/CDQE, CWD/CDQ/CQO: no flags. */
bool misc_form(const struct soft_insn *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_BSWAP:
		return in->nops == 1 && in->op[0].kind == SOFT_OP_REG && in->op[0].size >= 4;
	case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE: case ZYDIS_MNEMONIC_CBW:
	case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO:
		return true;
	default:
		return false;
	}
}

bool native_misc(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	if (!misc_form(in))
		return false;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_BSWAP: {
		const struct soft_operand *d = &in->op[0];
		emit_load(e, d->size, H_RAX, gpr_slot(t, d));
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
		emit_load(e, 8, H_RAX, gpr_slot(t, &rax));
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
	if (!extend_form(t->in) || t->in->op[1].kind == SOFT_OP_MEM)
		return false;
	emit_extend(t, gpr_slot(t, &t->in->op[1]));
	return true;
}

bool lea_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *m = &in->op[1];
	return in->mnemonic == ZYDIS_MNEMONIC_LEA && in->nops == 2 && d->kind == SOFT_OP_REG && m->kind == SOFT_OP_MEM &&
	       d->size >= 2 && ea_form(in, m);
}

bool native_lea(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *m = &in->op[1];
	if (!lea_form(in))
		return false;
	emit_ea(t, m);
	if (d->size == 4) /* the low 32 bits, zero-extended */
		emit_load(&t->e, 4, H_RSI, rm_reg(H_RSI));
	store_gpr_from(t, d, d->size, H_RSI);
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
		stub_from(t, s, emit_jmp(&t->e));
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
	stub_from(t, s, emit_jcc(&t->e, cc));
	return true;
}

