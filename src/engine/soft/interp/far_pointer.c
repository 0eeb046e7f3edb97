/* SPDX-License-Identifier: MIT */
/*
 * Far pointer loads: LDS LES LSS LFS LGS r, m16:16 / m16:32 / m16:64 (SDM
 * Vol. 2A, "LDS/LES/LFS/LGS/LSS"). The offset comes first in memory, the
 * selector after it; the segment register is loaded with the same checks as
 * MOV Sreg (#GP, #SS, #NP with the selector as error code), and the
 * destination register is written only once the load has succeeded.
 * LDS and LES do not exist in 64-bit mode, where their opcodes are VEX
 * prefixes (the decoder never produces them there); REX.W gives LSS/LFS/LGS
 * an m16:64 operand, as on Intel. Unlike MOV SS, LSS opens no interrupt
 * shadow.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_engine.h"

static void load_far_pointer(struct soft_cpu *cpu, const struct soft_insn *in, int sreg)
{
	const struct soft_operand *src = &in->op[1];
	if (in->op[0].kind != SOFT_OP_REG || src->kind != SOFT_OP_MEM || (in->flags & SOFT_INSN_LOCK))
		soft_raise_ud(cpu);
	unsigned size = in->opsize;
	uint64_t ea = soft_ea(cpu, in, src);
	uint64_t off = soft_seg_read(cpu, src->seg, ea, size);
	uint16_t sel = (uint16_t)soft_seg_read(cpu, src->seg, (ea + size) & soft_size_mask(in->addrsize), 2);
	soft_load_sreg(cpu, sreg, sel);
	soft_reg_write(cpu, in->op[0].reg, size, off);
	cpu->end_block = true; /* as MOV Sreg: segment state the block may rely on changed */
}

static void op_lds(struct soft_cpu *cpu, const struct soft_insn *in) { load_far_pointer(cpu, in, X86_DS); }
static void op_les(struct soft_cpu *cpu, const struct soft_insn *in) { load_far_pointer(cpu, in, X86_ES); }
static void op_lss(struct soft_cpu *cpu, const struct soft_insn *in) { load_far_pointer(cpu, in, X86_SS); }
static void op_lfs(struct soft_cpu *cpu, const struct soft_insn *in) { load_far_pointer(cpu, in, X86_FS); }
static void op_lgs(struct soft_cpu *cpu, const struct soft_insn *in) { load_far_pointer(cpu, in, X86_GS); }

void soft_register_far_pointer(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_LDS] = op_lds;
	table[ZYDIS_MNEMONIC_LES] = op_les;
	table[ZYDIS_MNEMONIC_LSS] = op_lss;
	table[ZYDIS_MNEMONIC_LFS] = op_lfs;
	table[ZYDIS_MNEMONIC_LGS] = op_lgs;
}
