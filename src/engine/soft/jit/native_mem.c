/* SPDX-License-Identifier: MIT */
/*
 * Translated memory forms: the effective address and the inline soft-TLB
 * lookup, ALU/MOV/MOVZX/INC.. with a memory operand, PUSH/POP, CALL and
 * RET, in 64-bit code and on flat segments in every other mode; a miss
 * runs the whole instruction through its handler (out of line).
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/jit/translate.h"

bool ea_form(const struct soft_insn *in, const struct soft_operand *m)
{
	if (m->base == SOFT_REG_RIP || (m->base == SOFT_NOREG && m->index == SOFT_NOREG))
		return true;
	return in->addrsize != 2 && fits_i32(m->disp);
}

/* Effective address of a memory operand (ea_form) into RSI (offset in the
 * segment, truncated to the address size). Uses only MOV and LEA: host
 * flags survive. */
void emit_ea(struct tr *t, const struct soft_operand *m)
{
	struct emit *e = &t->e;
	const struct soft_insn *in = t->in;
	if (m->base == SOFT_REG_RIP) {
		uint64_t ea = t->next + (uint64_t)m->disp;
		emit_mov_r64_imm(e, H_RSI, ea & soft_size_mask(in->addrsize));
		return;
	}
	if (m->base == SOFT_NOREG && m->index == SOFT_NOREG) {
		emit_mov_r64_imm(e, H_RSI, (uint64_t)m->disp & soft_size_mask(in->addrsize));
		return;
	}
	/* base and index from their host registers, or loaded into RSI and RDX */
	unsigned base = H_RSI, index = H_NONE;
	if (m->base != SOFT_NOREG) {
		struct rm r = gpr_read64(t, m->base);
		if (r.is_reg)
			base = r.reg;
		else
			emit_load(e, 8, H_RSI, r);
	} else {
		emit_mov_r64_imm(e, H_RSI, 0); /* not XOR: the host flags must survive */
	}
	if (m->index != SOFT_NOREG) {
		struct rm r = gpr_read64(t, m->index);
		index = r.is_reg ? r.reg : H_RDX;
		if (!r.is_reg)
			emit_load(e, 8, H_RDX, r);
	}
	if (index != H_NONE)
		emit_lea(e, H_RSI, rm_sib(base, index, m->scale, (int32_t)m->disp));
	else if (m->disp || base != H_RSI)
		emit_lea(e, H_RSI, rm_mem(base, (int32_t)m->disp));
	if (in->addrsize == 4)
		emit_load(e, 4, H_RSI, rm_reg(H_RSI)); /* mov esi, esi */
}

/* The host register holding GPR operand op (size bytes), or scratch loaded with it. */
static unsigned gpr_in_reg(struct tr *t, const struct soft_operand *op, unsigned size, unsigned scratch)
{
	struct rm r = gpr_slot(t, op);
	if (r.is_reg)
		return r.reg;
	emit_load(&t->e, size, scratch, r);
	return scratch;
}

/* ---- memory forms ---- */

/*
 * RSI = the linear address of m (ea_form); then the TLB lookup that turns
 * it into a host address, jumping to the slow path s on a miss. Clobbers
 * RDX, RDI and the host flags; keeps RAX (saved flags) and RCX.
 *
 * Outside 64-bit code the access first tests the bit flat_bit of
 * cpu->seg_flat (soft_seg_flat_update): on a flat segment the offset (plus
 * the FS/GS base) is the linear address, and a last byte at or past 4 GiB
 * misses the TLB, whose tags there lie below 4 GiB. One bit test per access
 * rather than flatness in the translation's key: a segment load runs
 * inside a block (MOV DS, POP ES: handlers) and links enter blocks without
 * the loop's key check.
 */
static void mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s,
		       unsigned flat_bit)
{
	struct emit *e = &t->e;
	if (!t->long64) {
		emit_op1(e, 1, 0xf6, 0, CPU_MEM(seg_flat[write])); /* test byte [seg_flat], bit */
		emit_byte(e, (uint8_t)(1u << flat_bit));
		stub_from(t, s, emit_jcc(e, 4 /* z */));
	}
	emit_ea(t, m);
	if (m->seg == X86_FS || m->seg == X86_GS)
		emit_alu_load(e, ALU_ADD, 8, H_RSI, rm_mem(H_RBX, OFF(s.seg) + (int32_t)(m->seg * sizeof(struct x86_segment)) +
						     (int32_t)offsetof(struct x86_segment, base)));
	int32_t tlb = OFF(tlb) + (int32_t)(t->view * SOFT_TLB_SIZE * sizeof(struct soft_tlb_entry));
	int32_t tag = tlb + (int32_t)(write ? offsetof(struct soft_tlb_entry, tag_write)
					  : offsetof(struct soft_tlb_entry, tag_read));
	_Static_assert(sizeof(struct soft_tlb_entry) == 32, "the index below shifts by 5");
	emit_load(e, 8, H_RDI, rm_reg(H_RSI));
	emit_shift_imm(e, 5, 8, rm_reg(H_RDI), 12 - 5); /* (lin >> 12) * 32 ... */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDI), (SOFT_TLB_SIZE - 1) << 5); /* ... of the entry's index */
	/* The page of the access's last byte against the tag of its first:
	 * an access that crosses a page misses too (QEMU's trick). */
	emit_lea(e, H_RDX, rm_mem(H_RSI, (int32_t)size - 1));
	emit_alu_imm(e, ALU_AND, 8, rm_reg(H_RDX), (uint64_t)(int64_t)-4096);
	emit_alu_load(e, ALU_CMP, 8, H_RDX, rm_sib(H_RBX, H_RDI, 1, tag));
	stub_from(t, s, emit_jcc(e, 5 /* ne */));
	emit_alu_load(e, ALU_ADD, 8, H_RSI,
		      rm_sib(H_RBX, H_RDI, 1, tlb + (int32_t)offsetof(struct soft_tlb_entry, addend)));
}

void emit_mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s)
{
	mem_lookup(t, m, size, write, s, (unsigned)m->seg);
}

/* After emit_mem_lookup, for a locked access (host locked instruction on the
 * host address in RSI): one that crosses a cache line would be a bus-wide
 * split lock on the host (refused where split-lock detection is on), so it
 * goes to the slow path s, whose handler runs it in an exclusive section
 * (soft_atomic.c). Clobbers RDX and the host flags. */
static void emit_split_lock_check(struct tr *t, unsigned size, struct stub *s)
{
	struct emit *e = &t->e;
	if (size == 1)
		return;
	emit_load(e, 4, H_RDX, rm_reg(H_RSI)); /* mov edx, esi */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDX), 63);
	emit_alu_imm(e, ALU_CMP, 4, rm_reg(H_RDX), 64 - size);
	stub_from(t, s, emit_jcc(e, 7 /* a */));
}

/* Which memory forms are translated, and how: the operand, its size, and
 * whether the access writes. */
static const struct soft_operand *mem_form(const struct soft_insn *in, unsigned *size, bool *write)
{
	if (in->nops < 1 || in->nops > 2)
		return NULL;
	const struct soft_operand *d = &in->op[0], *s = in->nops == 2 ? &in->op[1] : NULL;
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	if (in->mnemonic == ZYDIS_MNEMONIC_MOV || alu != -1) {
		if (!s)
			return NULL;
		if (is_gpr(d) && s->kind == SOFT_OP_MEM && s->size == d->size) {
			*size = d->size;
			*write = false;
			return s;
		}
		if (d->kind == SOFT_OP_MEM && (s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == d->size))) {
			*size = d->size;
			*write = in->mnemonic == ZYDIS_MNEMONIC_MOV || writes;
			return d;
		}
		return NULL;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG: case ZYDIS_MNEMONIC_NOT:
		if (in->nops != 1 || d->kind != SOFT_OP_MEM)
			return NULL;
		*size = d->size;
		*write = true;
		return d;
	case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD:
		if (!extend_form(in) || s->kind != SOFT_OP_MEM)
			return NULL;
		*size = s->size;
		*write = false;
		return s;
	default:
		return NULL;
	}
}

bool native_mem(struct tr *t)
{
	const struct soft_insn *in = t->in;
	unsigned size;
	bool write;
	const struct soft_operand *m = mem_form(in, &size, &write);
	if (!m || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	if (!ea_form(in, m) || ((in->flags & SOFT_INSN_LOCK) && (m != &in->op[0] || !write)))
		return false; /* LOCK there: #UD, which the handler raises */
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	struct stub *s = slow_stub_saving_flags(t);
	bool lock = in->flags & SOFT_INSN_LOCK;
	emit_mem_lookup(t, m, size, write, s);
	if (lock)
		emit_split_lock_check(t, size, s);
	restore_flags(t, s->flags_in_ax, alu == ALU_ADC || alu == ALU_SBB ? RFLAGS_CF : 0);
	struct emit *e = &t->e;
	struct rm host = rm_mem(H_RSI, 0);
	const struct soft_operand *d = &in->op[0], *src = in->nops == 2 ? &in->op[1] : NULL;
	if (in->mnemonic == ZYDIS_MNEMONIC_MOV) {
		if (m == src) {
			struct rm dr = gpr_dst(t, d, size);
			if (dr.is_reg) {
				emit_load(e, size, dr.reg, host);
			} else {
				emit_load(e, size, H_RAX, host);
				store_gpr(t, d, size);
			}
		} else if (src->kind == SOFT_OP_IMM) {
			emit_mov_imm(e, size, host, src->imm);
		} else {
			emit_store(e, size, host, gpr_in_reg(t, src, size, H_RCX));
		}
	} else if (alu != -1) {
		if (m == src) {
			emit_alu_reg_dst(t, alu, logic, writes, true);
		} else {
			if (alu == ALU_ADC || alu == ALU_SBB)
				need_flags(t, RFLAGS_CF);
			unsigned sreg = src->kind != SOFT_OP_IMM ? gpr_in_reg(t, src, size, H_RCX) : H_RCX;
			if (lock)
				emit_byte(e, 0xf0);
			if (alu == -2 && src->kind == SOFT_OP_IMM) { /* TEST m, imm */
				emit_op1(e, size, size == 1 ? 0xf6 : 0xf7, 0, host);
				emit_imm(e, size, src->imm);
			} else if (alu == -2) { /* TEST m, r */
				emit_op1(e, size, size == 1 ? 0x84 : 0x85, sreg, host);
			} else if (src->kind == SOFT_OP_IMM) {
				emit_alu_imm(e, (unsigned)alu, size, host, src->imm);
			} else {
				emit_alu_store(e, (unsigned)alu, size, host, sreg);
			}
			flags_written(t, SOFT_ARITH_FLAGS, logic ? MODEL_LOGIC_UNDEFINED : 0);
		}
	} else if (in->nops == 1) {
		uint32_t def;
		unsigned digit = (unsigned)unary_digit(in, &def);
		if (lock)
			emit_byte(e, 0xf0);
		emit_op1(e, size, digit < 2 ? (size == 1 ? 0xfe : 0xff) : (size == 1 ? 0xf6 : 0xf7), digit, host);
		if (def)
			flags_written(t, def, 0);
	} else {
		emit_extend(t, host);
	}
	slow_join(t, s);
	return true;
}

/* A jump to s unless the branch target in RCX is one the branch may take:
 * canonical in 64-bit code, within the CS limit the block was translated
 * for otherwise (clobbers RDX and the host flags). */
static void emit_target_check(struct tr *t, struct stub *s)
{
	struct emit *e = &t->e;
	if (!t->long64) {
		if (t->b->jit_cs_limit == 0xffffffffu)
			return; /* a 32-bit target is always within */
		emit_mov_r64_imm(e, H_RDX, t->b->jit_cs_limit);
		emit_alu_load(e, ALU_CMP, 8, H_RCX, rm_reg(H_RDX));
		stub_from(t, s, emit_jcc(e, 7 /* a */));
		return;
	}
	emit_load(e, 8, H_RDX, rm_reg(H_RCX));
	emit_shift_imm(e, 4, 8, rm_reg(H_RDX), 16);
	emit_shift_imm(e, 7, 8, rm_reg(H_RDX), 16);
	emit_alu_load(e, ALU_CMP, 8, H_RDX, rm_reg(H_RCX));
	stub_from(t, s, emit_jcc(e, 5));
}

/* The stack's width for the translated stack forms: 8 in 64-bit code, 4
 * otherwise (a 32-bit flat SS, which SOFT_FLAT_SS32 tests at run time). */
static unsigned stack_width(const struct tr *t)
{
	return t->long64 ? 8 : 4;
}

/* The stack slot at RSP + disp, and its lookup (jumping to s on a miss). */
static void stack_lookup(struct tr *t, int64_t disp, bool write, struct stub *s)
{
	unsigned w = stack_width(t);
	struct soft_operand slot = { .kind = SOFT_OP_MEM, .seg = X86_SS, .base = X86_RSP, .index = SOFT_NOREG,
				     .scale = 1, .disp = disp, .size = (uint8_t)w };
	mem_lookup(t, &slot, w, write, s, t->long64 ? X86_SS : SOFT_FLAT_SS32);
}

/* RSP += delta: in 64-bit code the whole register; otherwise ESP alone,
 * wrapping within 32 bits and keeping the upper half, as soft_push does.
 * Clobbers RDX and the host flags. */
static void emit_rsp_add(struct tr *t, int32_t delta)
{
	struct emit *e = &t->e;
	struct rm rsp = gpr_rmw64(t, X86_RSP);
	if (t->long64 || !rsp.is_reg) { /* a dword in memory: the upper half stays */
		emit_alu_imm(e, ALU_ADD, stack_width(t), rsp, (uint64_t)(int64_t)delta);
		return;
	}
	emit_load(e, 4, H_RDX, rsp);
	emit_alu_imm(e, ALU_ADD, 4, rm_reg(H_RDX), (uint64_t)(int64_t)delta);
	emit_shift_imm(e, 5, 8, rsp, 32);
	emit_shift_imm(e, 4, 8, rsp, 32);
	emit_alu_store(e, ALU_OR, 8, rsp, H_RDX);
}

/* Leaves for the target in s.rip (where a RET or an indirect branch put
 * it): through the jump table in 64-bit code (whose key has no CS limit),
 * through the loop otherwise. */
static void leave_for_target(struct tr *t)
{
	struct stub *x = new_stub(t, STUB_EXIT);
	x->lookup = t->long64;
	stub_from(t, x, emit_jmp(&t->e));
	t->rip_stored = true;
}

/* PUSH r / POP r / CALL rel / RET with the stack's width as operand and
 * address size (64-bit code, or 32-bit forms on a flat 32-bit stack). */
bool native_stack(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	unsigned w = stack_width(t);
	if (in->opsize != w || in->addrsize != w)
		return false;
	bool push = in->mnemonic == ZYDIS_MNEMONIC_PUSH, pop = in->mnemonic == ZYDIS_MNEMONIC_POP;
	bool call = in->mnemonic == ZYDIS_MNEMONIC_CALL, ret = in->mnemonic == ZYDIS_MNEMONIC_RET;
	uint64_t target = 0;
	if (push || pop) {
		if (in->nops != 1 || in->op[0].kind != SOFT_OP_REG || in->op[0].size != w)
			return false;
	} else if (call) {
		if (in->nops != 1 || in->op[0].kind != SOFT_OP_IMM || !branch_target(t, &target))
			return false;
	} else if (!ret || in->opcode != 0xc3 || in->nops != 0) {
		return false;
	}
	struct stub *s = slow_stub_saving_flags(t);
	stack_lookup(t, push || call ? -(int64_t)w : 0, push || call, s);
	/* RAX holds the saved flags until restore_flags: RCX and RDX here. */
	if (push || call) {
		unsigned v = H_RCX;
		if (push)
			v = gpr_in_reg(t, &in->op[0], w, H_RCX);
		else
			emit_mov_r64_imm(e, H_RCX, t->next);
		emit_store(e, w, rm_mem(H_RSI, 0), v);
		emit_rsp_add(t, -(int32_t)w);
		restore_flags(t, s->flags_in_ax, 0);
	} else if (pop) {
		emit_load(e, w, H_RCX, rm_mem(H_RSI, 0));
		emit_rsp_add(t, (int32_t)w);
		restore_flags(t, s->flags_in_ax, 0);
		store_gpr_from(t, &in->op[0], w, H_RCX); /* after the RSP update: POP RSP */
	} else { /* RET: a target it may not take is the handler's #GP */
		emit_load(e, w, H_RCX, rm_mem(H_RSI, 0));
		emit_target_check(t, s);
		emit_rsp_add(t, (int32_t)w);
		emit_store(e, 8, CPU_MEM(s.rip), H_RCX);
		restore_flags(t, s->flags_in_ax, 0);
	}
	slow_join(t, s);
	if (call) {
		struct stub *x = taken_stub(t, target);
		stub_from(t, x, emit_jmp(e));
		t->rip_stored = true;
	} else if (ret) {
		leave_for_target(t); /* s.rip holds the target on both paths */
	}
	return true;
}


/*
 * JMP and CALL through a register or memory, near, with the stack's width
 * (native_stack): the target read (from the old RSP for CALL) and checked, the return address
 * pushed, then the exit through the jump table, as RET's. Every check comes
 * before the first change of guest state, so the slow path (the handler,
 * raising #GP, #PF or #SS) starts from the instruction's own state.
 */
bool native_indirect(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	bool call = in->mnemonic == ZYDIS_MNEMONIC_CALL;
	unsigned w = stack_width(t);
	if ((!call && in->mnemonic != ZYDIS_MNEMONIC_JMP) || in->nops != 1 || in->opsize != w ||
	    in->fn == soft_sys_far_branch || (call && in->addrsize != w))
		return false;
	const struct soft_operand *m = &in->op[0];
	if (!(m->kind == SOFT_OP_REG && m->size == w) &&
	    !(m->kind == SOFT_OP_MEM && m->size == w && ea_form(in, m) && !(in->flags & SOFT_INSN_LOCK)))
		return false;
	struct stub *s = slow_stub_saving_flags(t);
	if (m->kind == SOFT_OP_MEM) {
		emit_mem_lookup(t, m, w, false, s);
		emit_load(e, w, H_RCX, rm_mem(H_RSI, 0));
	} else {
		emit_load(e, w, H_RCX, gpr_slot(t, m));
	}
	emit_target_check(t, s);
	if (call) {
		stack_lookup(t, -(int64_t)w, true, s);
		emit_mov_r64_imm(e, H_RDX, t->next);
		emit_store(e, w, rm_mem(H_RSI, 0), H_RDX);
		emit_rsp_add(t, -(int32_t)w);
	}
	emit_store(e, 8, CPU_MEM(s.rip), H_RCX);
	restore_flags(t, s->flags_in_ax, 0);
	slow_join(t, s); /* the handler left s.rip at the target: the exit below */
	leave_for_target(t);
	return true;
}

/*
 * CMPXCHG m, r, XADD m, r and XCHG m, r / r, m: the host instruction on
 * the host address (LOCK kept; XCHG locks by itself), so other threads and
 * devices see the same atomicity as on hardware. CMPXCHG's accumulator goes
 * through host RAX whole: the host writes it only on a mismatch, with
 * x86's merge rules, as the model does. The access is a write either way
 * (CMPXCHG writes memory back on a mismatch), so one lookup decides the
 * fault.
 */
bool native_atomic(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	bool cmpxchg = in->mnemonic == ZYDIS_MNEMONIC_CMPXCHG, xadd = in->mnemonic == ZYDIS_MNEMONIC_XADD;
	bool xchg = in->mnemonic == ZYDIS_MNEMONIC_XCHG, lock = in->flags & SOFT_INSN_LOCK;
	if ((!cmpxchg && !xadd && !xchg) || in->nops != 2)
		return false;
	const struct soft_operand *m = &in->op[0], *r = &in->op[1];
	if (xchg && m->kind != SOFT_OP_MEM) {
		m = &in->op[1];
		r = &in->op[0];
	}
	unsigned size = m->size;
	if (m->kind != SOFT_OP_MEM || !is_gpr(r) || r->size != size || !ea_form(in, m) ||
	    (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	struct stub *s = slow_stub_saving_flags(t);
	emit_mem_lookup(t, m, size, true, s);
	if (xchg || lock)
		emit_split_lock_check(t, size, s);
	struct rm host = rm_mem(H_RSI, 0);
	if (xadd) {
		restore_flags(t, false, 0); /* XADD writes all six, as ADD */
		emit_load(e, size, H_RCX, gpr_slot(t, r));
		if (lock)
			emit_byte(e, 0xf0);
		emit_op2(e, size, 0x0f, size == 1 ? 0xc0 : 0xc1, H_RCX, host);
		store_gpr_from(t, r, size, H_RCX);
		flags_written(t, SOFT_ARITH_FLAGS, 0);
	} else if (cmpxchg) {
		restore_flags(t, false, 0); /* CMPXCHG writes all six: the old ones are dead */
		unsigned src = gpr_in_reg(t, r, size, H_RCX);
		struct soft_operand rax = { .kind = SOFT_OP_REG, .reg = X86_RAX, .size = 8 };
		emit_load(e, 8, H_RAX, gpr_slot(t, &rax));
		if (lock)
			emit_byte(e, 0xf0);
		emit_op2(e, size, 0x0f, size == 1 ? 0xb0 : 0xb1, src, host);
		store_gpr_from(t, &rax, 8, H_RAX);
		flags_written(t, SOFT_ARITH_FLAGS, 0);
	} else {
		restore_flags(t, s->flags_in_ax, 0);
		emit_load(e, size, H_RCX, gpr_slot(t, r));
		emit_op1(e, size, size == 1 ? 0x86 : 0x87, H_RCX, host);
		store_gpr_from(t, r, size, H_RCX);
	}
	slow_join(t, s);
	return true;
}
