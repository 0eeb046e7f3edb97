/* SPDX-License-Identifier: MIT */
/*
 * Near control transfers (SDM Vol. 2A: JMP, Jcc, JCXZ/JECXZ/JRCXZ, CALL;
 * Vol. 2B: RET, LOOP/LOOPcc).
 *
 * The target is truncated to the operand size (16-bit IP wraps), then
 * checked before any state changes: outside 64-bit mode against the CS
 * limit, in 64-bit mode for canonical form; either failure is #GP(0) with
 * rIP still at the branch.
 *
 * Not here: far JMP/CALL/RET (JMP ptr16:x / m16:x, CALL likewise, RET
 * CA/CB), which share these mnemonics and belong to system.c: the decoder
 * must route them there; reaching these handlers they raise #UD.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_cpu.h"
#include "engine/soft/soft_insn.h"

/* rSP + delta at the stack address size. */
static uint64_t stack_off(const struct soft_cpu *cpu, int64_t delta)
{
	return (cpu->s.gpr[X86_RSP] + (uint64_t)delta) & soft_size_mask(soft_stack_size(cpu));
}

/* The checked branch target: truncated to the operand size, within CS or canonical. */
static uint64_t branch_target(struct soft_cpu *cpu, unsigned size, uint64_t target)
{
	target &= soft_size_mask(size);
	if (soft_in_64bit_mode(cpu)) {
		if (!soft_is_canonical(target))
			soft_raise_gp(cpu, 0);
	} else if (target > cpu->s.seg[X86_CS].limit) {
		soft_raise_gp(cpu, 0);
	}
	return target;
}

/* rIP-relative target of an immediate displacement (sign-extended as encoded). */
static uint64_t rel_target(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return branch_target(cpu, in->opsize, cpu->s.rip + in->op[0].imm);
}

/* FF /5, FF /3 (m16:16/32/64) and EA/9A (ptr16:16/32) are far: the memory
 * operand is two bytes wider than the operand size. */
static bool far_form(const struct soft_insn *in)
{
	const struct soft_operand *op = &in->op[0];
	return op->kind == SOFT_OP_PTR || (op->kind == SOFT_OP_MEM && op->size == in->opsize + 2);
}

/* The target of JMP/CALL: relative immediate or indirect r/m. */
static uint64_t jump_target(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (far_form(in))
		soft_raise_ud(cpu);
	if (in->op[0].kind == SOFT_OP_IMM)
		return rel_target(cpu, in);
	return branch_target(cpu, in->opsize, soft_op_read(cpu, in, 0));
}

static void op_jmp(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->s.rip = jump_target(cpu, in);
}

static void op_jcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (soft_cond(cpu, in->opcode & 0xf))
		cpu->s.rip = rel_target(cpu, in);
}

static void op_call(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* Target read (an rSP-based operand sees the old rSP) and checked before the push. */
	uint64_t target = jump_target(cpu, in);

	soft_push(cpu, in->opsize, cpu->s.rip & soft_size_mask(in->opsize));
	cpu->s.rip = target;
}

static void op_ret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	uint64_t release = 0, target;

	if (in->opcode == 0xca || in->opcode == 0xcb)
		soft_raise_ud(cpu);
	if (in->nops > 0 && in->op[0].kind == SOFT_OP_IMM)
		release = in->op[0].imm & 0xffff;
	/* Read and check before rSP moves, so a bad return address faults cleanly. */
	target = branch_target(cpu, size, soft_seg_read(cpu, X86_SS, stack_off(cpu, 0), size));
	soft_reg_write(cpu, X86_RSP, soft_stack_size(cpu), stack_off(cpu, (int64_t)(size + release)));
	cpu->s.rip = target;
}

/* LOOP, LOOPE, LOOPNE: the counter is rCX at the address size. */
static void op_loop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t count = (soft_reg_read(cpu, X86_RCX, in->addrsize) - 1) & soft_size_mask(in->addrsize);
	bool taken = count != 0;
	uint64_t target = 0;

	if (in->mnemonic == ZYDIS_MNEMONIC_LOOPE)
		taken = taken && (cpu->s.rflags & RFLAGS_ZF);
	else if (in->mnemonic == ZYDIS_MNEMONIC_LOOPNE)
		taken = taken && !(cpu->s.rflags & RFLAGS_ZF);
	if (taken)
		target = rel_target(cpu, in);
	soft_reg_write(cpu, X86_RCX, in->addrsize, count);
	if (taken)
		cpu->s.rip = target;
}

/* JCXZ, JECXZ, JRCXZ: the address size picks the register width. */
static void op_jcxz(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (soft_reg_read(cpu, X86_RCX, in->addrsize) == 0)
		cpu->s.rip = rel_target(cpu, in);
}

void soft_register_control(soft_handler_fn **table)
{
	static const uint16_t jcc[] = {
		ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
		ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
		ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
		ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
	};

	for (unsigned i = 0; i < 16; i++)
		table[jcc[i]] = op_jcc;
	table[ZYDIS_MNEMONIC_JMP] = op_jmp;
	table[ZYDIS_MNEMONIC_CALL] = op_call;
	table[ZYDIS_MNEMONIC_RET] = op_ret;
	table[ZYDIS_MNEMONIC_LOOP] = op_loop;
	table[ZYDIS_MNEMONIC_LOOPE] = op_loop;
	table[ZYDIS_MNEMONIC_LOOPNE] = op_loop;
	table[ZYDIS_MNEMONIC_JCXZ] = op_jcxz;
	table[ZYDIS_MNEMONIC_JECXZ] = op_jcxz;
	table[ZYDIS_MNEMONIC_JRCXZ] = op_jcxz;
}
