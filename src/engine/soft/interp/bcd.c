/* SPDX-License-Identifier: MIT */
/*
 * BCD adjustments: DAA DAS AAA AAS AAM AAD (SDM Vol. 2A, the instruction page
 * of each). They are invalid in 64-bit mode, where the decoder never produces
 * them, so the host cannot execute them from this 64-bit process: results and
 * flags are computed here. The defined flags follow the SDM pseudocode. The
 * undefined ones follow the model of docs/cpu-model.md (Intel's): OF
 * cleared, SF ZF PF from the final AL (for AAA/AAS too), AAM's AF CF
 * cleared, AAD's flags those of the 8-bit ADD AL + AH * imm8 (verified in
 * tests/unit/test_soft_alu.c, which runs the instructions natively in a
 * 32-bit compatibility-mode code segment). AAA adds 106h and AAS subtracts
 * 106h across all of AX (a carry or borrow reaches AH), as current Intel
 * CPUs and the current SDM pseudocode do.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"

/* SF ZF PF of the final AL, OF cleared, plus the explicit CF and AF. */
static uint64_t bcd_flags(uint8_t al, bool cf, bool af)
{
	return model_szp(al, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0);
}

/* DAA/DAS: AL += or -= 06h and/or 60h (SDM Vol. 2A, DAA, DAS). */
static void decimal_adjust(struct soft_cpu *cpu, bool sub)
{
	uint8_t al = (uint8_t)soft_reg_read(cpu, X86_RAX, 1);
	bool cf = cpu->s.rflags & RFLAGS_CF, af = cpu->s.rflags & RFLAGS_AF;
	uint8_t corr = 0;
	bool new_cf = false, new_af = false;
	if ((al & 0x0f) > 9 || af) {
		corr = 0x06;
		new_af = true;
		/* DAS keeps a borrow out of the low adjustment (SDM: CF ← old_CF or borrow). */
		new_cf = sub && al < 6;
	}
	if (al > 0x99 || cf) {
		corr += 0x60;
		new_cf = true;
	}
	uint8_t r = sub ? (uint8_t)(al - corr) : (uint8_t)(al + corr);
	soft_reg_write(cpu, X86_RAX, 1, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, bcd_flags(r, new_cf, new_af));
}

static void op_daa(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	decimal_adjust(cpu, false);
}

static void op_das(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	decimal_adjust(cpu, true);
}

/* AAA/AAS: unpacked BCD adjust of AX (SDM Vol. 2A, AAA, AAS). */
static void ascii_adjust(struct soft_cpu *cpu, bool sub)
{
	uint16_t ax = (uint16_t)soft_reg_read(cpu, X86_RAX, 2);
	uint8_t al = ax & 0xff;
	bool adjust = (al & 0x0f) > 9 || (cpu->s.rflags & RFLAGS_AF);
	if (adjust)
		ax = sub ? (uint16_t)(ax - 6 - 0x100) : (uint16_t)(ax + 0x106);
	ax &= 0xff0f;
	soft_reg_write(cpu, X86_RAX, 2, ax);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, bcd_flags((uint8_t)ax, adjust, adjust));
}

static void op_aaa(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	ascii_adjust(cpu, false);
}

static void op_aas(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	ascii_adjust(cpu, true);
}

/* AAM imm8: AH = AL / imm8, AL = AL % imm8; #DE when imm8 is 0. */
static void op_aam(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	uint8_t base = (uint8_t)soft_op_read(cpu, in, 0);
	if (base == 0)
		soft_raise_de(cpu);
	uint8_t al = (uint8_t)soft_reg_read(cpu, X86_RAX, 1);
	uint8_t q = al / base, r = al % base;
	soft_reg_write(cpu, X86_RAX, 2, (uint64_t)q << 8 | r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, bcd_flags(r, false, false));
}

/* AAD imm8: AL = AL + AH * imm8, AH = 0. */
static void op_aad(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	uint8_t base = (uint8_t)soft_op_read(cpu, in, 0);
	uint8_t al = (uint8_t)soft_reg_read(cpu, X86_RAX, 1);
	uint8_t ah = (uint8_t)soft_reg8h_read(cpu, X86_RAX);
	uint64_t f = cpu->s.rflags;
	uint64_t r = host_alu(HOST_ADD, 1, al, (uint8_t)(ah * base), &f);
	soft_reg_write(cpu, X86_RAX, 2, r & 0xff);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

void soft_register_bcd(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_DAA] = op_daa;
	table[ZYDIS_MNEMONIC_DAS] = op_das;
	table[ZYDIS_MNEMONIC_AAA] = op_aaa;
	table[ZYDIS_MNEMONIC_AAS] = op_aas;
	table[ZYDIS_MNEMONIC_AAM] = op_aam;
	table[ZYDIS_MNEMONIC_AAD] = op_aad;
}
