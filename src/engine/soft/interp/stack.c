/* SPDX-License-Identifier: MIT */
/*
 * Stack instructions (SDM Vol. 2B: PUSH, POP, PUSHA/PUSHAD, POPA/POPAD,
 * PUSHF/PUSHFD/PUSHFQ, POPF/POPFD/POPFQ; Vol. 2A: ENTER, LEAVE).
 *
 * Multi-slot instructions compute every slot from the old rSP and commit
 * rSP last, so a fault part-way leaves the registers as they were (slots
 * written below the stack pointer are dead data). Stack offsets wrap at the
 * stack address size (SS.B, or 64 bits in 64-bit mode).
 *
 * Not here: POP into a segment register (needs a descriptor load:
 * system.c's). PUSH of a segment register with a 32/64-bit operand size
 * stores the zero-extended selector, one of the two behaviours the SDM
 * allows (recent Intel parts write only the low 16 bits).
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_cpu.h"
#include "engine/soft/soft_insn.h"

/* rSP + delta at the stack address size: the offset a slot lives at. */
static uint64_t stack_off(const struct soft_cpu *cpu, int64_t delta)
{
	return (cpu->s.gpr[X86_RSP] + (uint64_t)delta) & soft_size_mask(soft_stack_size(cpu));
}

/* Commits a new stack pointer, keeping the bits above the stack address size. */
static void stack_set(struct soft_cpu *cpu, uint64_t off)
{
	soft_reg_write(cpu, X86_RSP, soft_stack_size(cpu), off);
}

static void op_push(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* Read before the push: PUSH rSP stores the old value, and an rSP-based memory
	 * operand's address uses the old rSP. */
	uint64_t v = in->op[0].kind == SOFT_OP_IMM ? in->op[0].imm : soft_op_read(cpu, in, 0);
	soft_push(cpu, in->opsize, v);
}

static void op_pop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0];
	unsigned size = in->opsize;

	switch (d->kind) {
	case SOFT_OP_REG:
		/* POP rSP: the increment happens first, then the popped value replaces it. */
		soft_op_write(cpu, in, 0, soft_pop(cpu, size));
		break;
	case SOFT_OP_MEM: {
		/* The destination address is computed with the incremented rSP (SDM POP);
		 * rSP is committed only after the store succeeds. */
		uint64_t v = soft_seg_read(cpu, X86_SS, stack_off(cpu, 0), size);
		uint64_t old_sp = cpu->s.gpr[X86_RSP], new_sp, ea;

		stack_set(cpu, stack_off(cpu, size));
		new_sp = cpu->s.gpr[X86_RSP];
		ea = soft_ea(cpu, in, d);
		cpu->s.gpr[X86_RSP] = old_sp;
		soft_seg_write(cpu, d->seg, ea, size, v);
		cpu->s.gpr[X86_RSP] = new_sp;
		break;
	}
	default:
		/* POP SREG needs a descriptor load and is routed to system.c by the decoder;
		 * nothing else is encodable. */
		soft_raise_ud(cpu);
	}
}

/* PUSHA/PUSHAD: AX CX DX BX, the original SP, BP SI DI. */
static void op_pusha(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;

	for (unsigned r = 0; r < 8; r++)
		soft_seg_write(cpu, X86_SS, stack_off(cpu, -(int64_t)(size * (r + 1))), size,
			       cpu->s.gpr[r]);
	stack_set(cpu, stack_off(cpu, -(int64_t)size * 8));
}

/* POPA/POPAD: the reverse, discarding the saved SP. */
static void op_popa(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t v[8];

	for (unsigned r = 0; r < 8; r++)
		v[r] = soft_seg_read(cpu, X86_SS, stack_off(cpu, (int64_t)(size * (7 - r))), size);
	for (unsigned r = 0; r < 8; r++)
		if (r != X86_RSP)
			soft_reg_write(cpu, r, size, v[r]);
	stack_set(cpu, stack_off(cpu, (int64_t)size * 8));
}

static unsigned iopl(const struct soft_cpu *cpu)
{
	return (cpu->s.rflags & RFLAGS_IOPL) >> 12;
}

static bool vme_active(const struct soft_cpu *cpu, unsigned size)
{
	return (cpu->s.cr4 & CR4_VME) && size == 2;
}

static void op_pushf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	/* VM and RF are never seen in the pushed image. */
	uint64_t v = cpu->s.rflags & ~(RFLAGS_VM | RFLAGS_RF);

	if ((cpu->s.rflags & RFLAGS_VM) && iopl(cpu) < 3) {
		if (!vme_active(cpu, size))
			soft_raise_gp(cpu, 0);
		/* Virtual-8086 mode extensions: VIF shows as IF, IOPL as 3. */
		v &= ~RFLAGS_IF;
		if (cpu->s.rflags & RFLAGS_VIF)
			v |= RFLAGS_IF;
		v |= RFLAGS_IOPL;
	}
	soft_push(cpu, size, v & soft_size_mask(size));
}

/* The flags POPF can ever change (never RF, VM, VIF, VIP, the reserved bits). */
#define POPF_FLAGS                                                                                \
	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF | RFLAGS_IF |      \
	 RFLAGS_DF | RFLAGS_OF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID)

static void op_popf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t fl = cpu->s.rflags, mask = POPF_FLAGS, v;

	if ((fl & RFLAGS_VM) && iopl(cpu) < 3 && !vme_active(cpu, size))
		soft_raise_gp(cpu, 0);
	v = soft_seg_read(cpu, X86_SS, stack_off(cpu, 0), size);

	if (fl & RFLAGS_VM) {
		if (iopl(cpu) < 3) {
			/* VME: IF goes to VIF; setting TF, or IF with an interrupt pending
			 * (VIP), faults so the monitor can act. */
			if ((v & RFLAGS_TF) || ((fl & RFLAGS_VIP) && (v & RFLAGS_IF)))
				soft_raise_gp(cpu, 0);
			mask = 0xffff & ~(RFLAGS_IF | RFLAGS_IOPL);
			fl = (fl & ~(mask | RFLAGS_VIF)) | (v & mask) | ((v & RFLAGS_IF) ? RFLAGS_VIF : 0);
			goto commit;
		}
		mask &= ~RFLAGS_IOPL;
	} else {
		if (cpu->cpl > 0)
			mask &= ~RFLAGS_IOPL;
		if (cpu->cpl > iopl(cpu))
			mask &= ~RFLAGS_IF;
	}
	if (size == 2)
		mask &= 0xffff;
	else
		fl &= ~RFLAGS_RF;
	fl = (fl & ~mask) | (v & mask);
commit:
	stack_set(cpu, stack_off(cpu, size));
	cpu->s.rflags = fl | RFLAGS_FIXED;
	/* TF, IF and AC take effect from the next instruction: let the loop look. */
	cpu->end_block = true;
}

/* Checks the final stack pointer of ENTER is writable, as hardware probes it. */
static void probe_stack(struct soft_cpu *cpu, uint64_t off, unsigned size)
{
	uint64_t lin = soft_seg_linear(cpu, X86_SS, off, size, SOFT_ACC_WRITE);
	soft_lin_probe_write(cpu, lin, size, cpu->cpl == 3);
}

static void op_enter(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t smask = soft_size_mask(soft_stack_size(cpu));
	uint64_t alloc = in->op[0].imm & 0xffff;
	unsigned level = in->op[1].imm & 31;
	uint64_t sp = (cpu->s.gpr[X86_RSP] - size) & smask, frame;

	soft_seg_write(cpu, X86_SS, sp, size, cpu->s.gpr[X86_RBP]);
	/* FrameTemp is all of rSP after the push (SDM Vol. 2A, ENTER): on a
	 * 16-bit stack a 32-bit ENTER keeps ESP's upper half in EBP. */
	frame = (cpu->s.gpr[X86_RSP] & ~smask) | sp;
	if (level > 0) {
		/* Copy the enclosing frames' pointers, then the new frame pointer. */
		uint64_t bp = cpu->s.gpr[X86_RBP] & smask;
		for (unsigned i = 1; i < level; i++) {
			bp = (bp - size) & smask;
			uint64_t v = soft_seg_read(cpu, X86_SS, bp, size);
			sp = (sp - size) & smask;
			soft_seg_write(cpu, X86_SS, sp, size, v);
		}
		sp = (sp - size) & smask;
		soft_seg_write(cpu, X86_SS, sp, size, frame);
	}
	sp = (sp - alloc) & smask;
	probe_stack(cpu, sp, size);
	soft_reg_write(cpu, X86_RBP, size, frame);
	stack_set(cpu, sp);
}

static void op_leave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t sp = cpu->s.gpr[X86_RBP] & soft_size_mask(soft_stack_size(cpu));
	uint64_t v = soft_seg_read(cpu, X86_SS, sp, size);

	stack_set(cpu, sp + size);
	soft_reg_write(cpu, X86_RBP, size, v);
}

void soft_register_stack(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_PUSH] = op_push;
	table[ZYDIS_MNEMONIC_POP] = op_pop;
	table[ZYDIS_MNEMONIC_PUSHA] = op_pusha;
	table[ZYDIS_MNEMONIC_PUSHAD] = op_pusha;
	table[ZYDIS_MNEMONIC_POPA] = op_popa;
	table[ZYDIS_MNEMONIC_POPAD] = op_popa;
	table[ZYDIS_MNEMONIC_PUSHF] = op_pushf;
	table[ZYDIS_MNEMONIC_PUSHFD] = op_pushf;
	table[ZYDIS_MNEMONIC_PUSHFQ] = op_pushf;
	table[ZYDIS_MNEMONIC_POPF] = op_popf;
	table[ZYDIS_MNEMONIC_POPFD] = op_popf;
	table[ZYDIS_MNEMONIC_POPFQ] = op_popf;
	table[ZYDIS_MNEMONIC_ENTER] = op_enter;
	table[ZYDIS_MNEMONIC_LEAVE] = op_leave;
}
