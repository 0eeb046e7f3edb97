/* SPDX-License-Identifier: MIT */
/*
 * Operand access for instruction handlers: effective addresses
 * (SDM Vol. 2 §2.1.5, 16-bit forms in Table 2-1) and generic read/write of
 * register, memory and immediate operands.
 */
#include "core/log.h"
#include "engine/soft/soft_insn.h"

static inline uint64_t ea_of(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	uint64_t ea = (uint64_t)op->disp;
	if (op->base == SOFT_REG_RIP)
		ea += cpu->insn_rip + in->len;
	else if (op->base != SOFT_NOREG)
		ea += cpu->s.gpr[op->base];
	if (op->index != SOFT_NOREG)
		ea += cpu->s.gpr[op->index] * op->scale;
	return ea & soft_size_mask(in->addrsize);
}

uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	return ea_of(cpu, in, op);
}

uint64_t soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG:
		return soft_reg_read(cpu, op->reg, op->size);
	case SOFT_OP_REG8H:
		return soft_reg8h_read(cpu, op->reg);
	case SOFT_OP_MEM:
		return soft_mem_read(cpu, op->seg, ea_of(cpu, in, op), op->size);
	case SOFT_OP_IMM:
		return op->imm & soft_size_mask(op->size);
	case SOFT_OP_SREG:
		return cpu->s.seg[op->reg].selector;
	default:
		log_guest("soft: read of unsupported operand kind %u (mnemonic %u)", op->kind, in->mnemonic);
		soft_raise_ud(cpu);
	}
}

uint64_t soft_op_read_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	if (op->kind != SOFT_OP_MEM)
		return soft_op_read(cpu, in, n);
	return soft_seg_read_rmw(cpu, op->seg, ea_of(cpu, in, op), op->size);
}

void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG:
		soft_reg_write(cpu, op->reg, op->size, value);
		return;
	case SOFT_OP_REG8H:
		soft_reg8h_write(cpu, op->reg, value);
		return;
	case SOFT_OP_MEM:
		soft_mem_write(cpu, op->seg, ea_of(cpu, in, op), op->size, value);
		return;
	default:
		log_guest("soft: write of unsupported operand kind %u (mnemonic %u)", op->kind, in->mnemonic);
		soft_raise_ud(cpu);
	}
}
