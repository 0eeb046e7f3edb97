/* SPDX-License-Identifier: MIT */
/*
 * Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR, SHLD SHRD, and the
 * BMI2 flagless forms SARX SHLX SHRX RORX. SDM Vol. 2B, "SAL/SAR/SHL/SHR",
 * "RCL/RCR/ROL/ROR", "SHLD", "SHRD"; Vol. 2B "SARX/SHLX/SHRX", "RORX".
 *
 * The count is masked to 5 bits (6 for 64-bit operands) here; the host then
 * executes the shift or rotate with that count, which gives the result, the
 * modulo-9/17 rule of 8- and 16-bit RCL/RCR, the count-0 rule (flags
 * untouched) and the defined flags; the undefined ones (OF for counts above
 * 1, AF, CF of SHL/SHR past the width) are the model's (model_flags.h).
 * SHLD/SHRD are computed in C, whose 16-bit results for counts above 16 are
 * undefined too. A count-0 shift still writes the destination: a 32-bit
 * register destination is zero-extended, as on hardware.
 * The BMI2 forms are computed in C: a host may lack BMI2.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"

static uint8_t shift_count(unsigned size, uint64_t count)
{
	return (uint8_t)(count & (size == 8 ? 63 : 31));
}

static void shift_rm(struct soft_cpu *cpu, const struct soft_insn *in, enum host_shift op)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t a = soft_op_read_rmw(cpu, in, 0);
	uint8_t count = shift_count(size, soft_op_read(cpu, in, 1));
	uint64_t f = cpu->s.rflags;
	uint64_t r = host_shift(op, size, a, count, &f);
	soft_op_write(cpu, in, 0, r);
	if (count != 0) /* a count of 0 changes no flag */
		model_shift_set_flags(cpu, in, op, size, a, count, f);
}

static void op_rol(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_ROL); }
static void op_ror(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_ROR); }
static void op_rcl(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_RCL); }
static void op_rcr(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_RCR); }
static void op_shl(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_SHL); }
static void op_shr(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_SHR); }
static void op_sar(struct soft_cpu *cpu, const struct soft_insn *in) { shift_rm(cpu, in, HOST_SAR); }

/* SHLD/SHRD dst, src, count (imm8 or CL). */
static void shift_double(struct soft_cpu *cpu, const struct soft_insn *in, bool left)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t a = soft_op_read_rmw(cpu, in, 0);
	uint64_t b = soft_op_read(cpu, in, 1);
	uint8_t count = shift_count(size, soft_op_read(cpu, in, 2));
	if (count == 0) {
		soft_op_write(cpu, in, 0, a); /* flags untouched */
		return;
	}
	uint64_t f;
	uint64_t r = model_shiftd(left, size, a, b, count, &f);
	soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_shld(struct soft_cpu *cpu, const struct soft_insn *in) { shift_double(cpu, in, true); }
static void op_shrd(struct soft_cpu *cpu, const struct soft_insn *in) { shift_double(cpu, in, false); }

/* ---- BMI2: dst, src, count; no flags ---- */

enum bmi_shift { BMI_SARX, BMI_SHLX, BMI_SHRX, BMI_RORX };

static void shift_bmi2(struct soft_cpu *cpu, const struct soft_insn *in, enum bmi_shift op)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t mask = soft_size_mask(size);
	uint64_t a = soft_op_read(cpu, in, 1) & mask;
	unsigned count = shift_count(size, soft_op_read(cpu, in, 2));
	uint64_t r;
	switch (op) {
	case BMI_SARX:
		r = (uint64_t)(size == 8 ? (int64_t)a >> count : (int64_t)(int32_t)a >> count);
		break;
	case BMI_SHLX: r = a << count; break;
	case BMI_SHRX: r = a >> count; break;
	default: r = count ? a >> count | a << (bits - count) : a; break;
	}
	soft_op_write(cpu, in, 0, r & mask);
}

static void op_sarx(struct soft_cpu *cpu, const struct soft_insn *in) { shift_bmi2(cpu, in, BMI_SARX); }
static void op_shlx(struct soft_cpu *cpu, const struct soft_insn *in) { shift_bmi2(cpu, in, BMI_SHLX); }
static void op_shrx(struct soft_cpu *cpu, const struct soft_insn *in) { shift_bmi2(cpu, in, BMI_SHRX); }
static void op_rorx(struct soft_cpu *cpu, const struct soft_insn *in) { shift_bmi2(cpu, in, BMI_RORX); }

void soft_register_shift(soft_handler_fn **table)
{
	/* SAL (D0..D3 /4 and the alias /6) decodes as SHL. */
	table[ZYDIS_MNEMONIC_ROL] = op_rol;
	table[ZYDIS_MNEMONIC_ROR] = op_ror;
	table[ZYDIS_MNEMONIC_RCL] = op_rcl;
	table[ZYDIS_MNEMONIC_RCR] = op_rcr;
	table[ZYDIS_MNEMONIC_SHL] = op_shl;
	table[ZYDIS_MNEMONIC_SHR] = op_shr;
	table[ZYDIS_MNEMONIC_SAR] = op_sar;
	table[ZYDIS_MNEMONIC_SHLD] = op_shld;
	table[ZYDIS_MNEMONIC_SHRD] = op_shrd;
	table[ZYDIS_MNEMONIC_SARX] = op_sarx;
	table[ZYDIS_MNEMONIC_SHLX] = op_shlx;
	table[ZYDIS_MNEMONIC_SHRX] = op_shrx;
	table[ZYDIS_MNEMONIC_RORX] = op_rorx;
}
