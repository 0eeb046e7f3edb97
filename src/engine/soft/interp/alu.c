/* SPDX-License-Identifier: MIT */
/*
 * Integer arithmetic and logic: ADD ADC SUB SBB AND OR XOR CMP TEST, INC DEC
 * NEG NOT, MUL IMUL (1-, 2- and 3-operand forms), DIV IDIV, ADCX ADOX (ADX)
 * and ANDN (BMI1). SDM Vol. 2A/2B, the instruction pages of each.
 *
 * Flags of the baseline instructions come from the host executing the same
 * instruction (host_flags.h); those the SDM leaves undefined are the model's
 * (model_flags.h): AF cleared after logic operations, MUL/IMUL's SF ZF AF
 * PF from the low half, DIV/IDIV's all left unchanged.
 * ADCX, ADOX and ANDN are computed in C because a host may lack ADX/BMI1;
 * ANDN's undefined AF and PF are cleared, as on Intel.
 * Not here: CPUID feature gating (#UD when the guest's CPUID hides ADX/BMI1)
 * is the decoder's business.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"

/* ---- two-operand ALU ---- */

/* dst OP= src; CMP and TEST only set the flags. */
static void alu_binary(struct soft_cpu *cpu, const struct soft_insn *in, enum host_alu op, bool write)
{
	soft_lock_check(cpu, in, write);
	unsigned size = in->op[0].size;
	uint64_t a = write ? soft_op_read_rmw(cpu, in, 0) : soft_op_read(cpu, in, 0);
	uint64_t b = soft_op_read(cpu, in, 1) & soft_size_mask(size);
	uint64_t f = cpu->s.rflags;
	uint64_t r = host_alu(op, size, a, b, &f);
	if (op == HOST_AND || op == HOST_OR || op == HOST_XOR)
		f &= ~MODEL_LOGIC_UNDEFINED;
	if (write)
		soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_add(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_ADD, true); }
static void op_or(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_OR, true); }
static void op_adc(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_ADC, true); }
static void op_sbb(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_SBB, true); }
static void op_and(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_AND, true); }
static void op_sub(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_SUB, true); }
static void op_xor(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_XOR, true); }
static void op_cmp(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_CMP, false); }
static void op_test(struct soft_cpu *cpu, const struct soft_insn *in) { alu_binary(cpu, in, HOST_AND, false); }

/* ---- one-operand ---- */

static void alu_unary(struct soft_cpu *cpu, const struct soft_insn *in, enum host_unary op, uint64_t changed)
{
	soft_lock_check(cpu, in, true);
	uint64_t f = cpu->s.rflags;
	uint64_t r = host_unary(op, in->op[0].size, soft_op_read_rmw(cpu, in, 0), &f);
	soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, changed, f);
}

/* INC and DEC keep CF (SDM Vol. 2A, INC). */
static void op_inc(struct soft_cpu *cpu, const struct soft_insn *in) { alu_unary(cpu, in, HOST_INC, SOFT_ARITH_FLAGS & ~RFLAGS_CF); }
static void op_dec(struct soft_cpu *cpu, const struct soft_insn *in) { alu_unary(cpu, in, HOST_DEC, SOFT_ARITH_FLAGS & ~RFLAGS_CF); }
static void op_neg(struct soft_cpu *cpu, const struct soft_insn *in) { alu_unary(cpu, in, HOST_NEG, SOFT_ARITH_FLAGS); }

static void op_not(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, true);
	soft_op_write(cpu, in, 0, ~soft_op_read_rmw(cpu, in, 0));
}

/* ---- multiply ---- */

/* One-operand MUL/IMUL: AX = AL * src, or rDX:rAX = rAX * src. */
static void mul_wide(struct soft_cpu *cpu, const struct soft_insn *in, bool is_signed)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t src = soft_op_read(cpu, in, 0);
	uint64_t hi, f = cpu->s.rflags;
	uint64_t lo = host_mul1(is_signed, size, soft_reg_read(cpu, X86_RAX, size), src, &hi, &f);
	f = (f & ~MODEL_MUL_UNDEFINED) | model_mul_flags(lo, size);
	if (size == 1) {
		soft_reg_write(cpu, X86_RAX, 2, hi << 8 | lo);
	} else {
		soft_reg_write(cpu, X86_RAX, size, lo);
		soft_reg_write(cpu, X86_RDX, size, hi);
	}
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_mul(struct soft_cpu *cpu, const struct soft_insn *in) { mul_wide(cpu, in, false); }

/* IMUL r/m (1 operand), IMUL r, r/m (2) and IMUL r, r/m, imm (3): the 2- and
 * 3-operand forms truncate the product to the destination size. */
static void op_imul(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->nops == 1) {
		mul_wide(cpu, in, true);
		return;
	}
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	unsigned first = in->nops == 3 ? 1 : 0;
	uint64_t a = soft_op_read(cpu, in, first);
	uint64_t b = soft_op_read(cpu, in, first + 1) & soft_size_mask(size);
	uint64_t f = cpu->s.rflags;
	uint64_t r = host_imul2(size, a, b, &f);
	f = (f & ~MODEL_MUL_UNDEFINED) | model_mul_flags(r, size);
	soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

/* ---- divide ---- */

static int64_t sign_extend(uint64_t v, unsigned bits)
{
	return bits >= 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/*
 * Whether hi:lo / d (d != 0) has a quotient that fits in bits bits. Done on
 * magnitudes in 128 bits so no C division can overflow (e.g. INT_MIN / -1).
 */
static bool div_fits(bool is_signed, unsigned bits, uint64_t lo, uint64_t hi, uint64_t d)
{
	if (!is_signed)
		return hi < d; /* hi:lo < d << bits */
	unsigned __int128 dividend;
	if (bits == 64)
		dividend = (unsigned __int128)hi << 64 | lo;
	else
		dividend = (unsigned __int128)(__int128)sign_extend(hi << bits | lo, 2 * bits);
	bool dividend_neg = bits == 64 ? (int64_t)hi < 0 : (int64_t)dividend < 0;
	int64_t sd = sign_extend(d, bits);
	unsigned __int128 mag = dividend_neg ? -dividend : dividend;
	uint64_t dmag = sd < 0 ? -(uint64_t)sd : (uint64_t)sd;
	unsigned __int128 q = mag / dmag;
	unsigned __int128 limit = (unsigned __int128)1 << (bits - 1);
	return dividend_neg != (sd < 0) ? q <= limit : q < limit;
}

/* DIV/IDIV: AX / src (AL quotient, AH remainder) or rDX:rAX / src.
 * #DE on a zero divisor or a quotient that does not fit, before any write. */
static void div_wide(struct soft_cpu *cpu, const struct soft_insn *in, bool is_signed)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t d = soft_op_read(cpu, in, 0) & soft_size_mask(size);
	uint64_t lo, hi;
	if (size == 1) {
		lo = soft_reg_read(cpu, X86_RAX, 1);
		hi = soft_reg8h_read(cpu, X86_RAX);
	} else {
		lo = soft_reg_read(cpu, X86_RAX, size);
		hi = soft_reg_read(cpu, X86_RDX, size);
	}
	if (d == 0 || !div_fits(is_signed, size * 8, lo, hi, d))
		soft_raise_de(cpu);
	/* Safe now: the host division cannot fault. The flags, all undefined,
	 * stay as they were (the model's behaviour). */
	uint64_t q, r;
	host_div(is_signed, size, lo, hi, d, &q, &r);
	if (size == 1) {
		soft_reg_write(cpu, X86_RAX, 2, r << 8 | q);
	} else {
		soft_reg_write(cpu, X86_RAX, size, q);
		soft_reg_write(cpu, X86_RDX, size, r);
	}
}

static void op_div(struct soft_cpu *cpu, const struct soft_insn *in) { div_wide(cpu, in, false); }
static void op_idiv(struct soft_cpu *cpu, const struct soft_insn *in) { div_wide(cpu, in, true); }

/* ---- ADX, BMI1 ---- */

/* ADCX (carry in/out CF) and ADOX (carry in/out OF); no other flag changes. */
static void add_carry_flag(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t carry_flag)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t a = soft_op_read(cpu, in, 0), b = soft_op_read(cpu, in, 1);
	unsigned __int128 sum = (unsigned __int128)a + b + ((cpu->s.rflags & carry_flag) != 0);
	bool carry = (sum >> (size * 8)) & 1;
	soft_op_write(cpu, in, 0, (uint64_t)sum);
	soft_set_flags(cpu, carry_flag, carry ? carry_flag : 0);
}

static void op_adcx(struct soft_cpu *cpu, const struct soft_insn *in) { add_carry_flag(cpu, in, RFLAGS_CF); }
static void op_adox(struct soft_cpu *cpu, const struct soft_insn *in) { add_carry_flag(cpu, in, RFLAGS_OF); }

/* ANDN dst, src1, src2: dst = ~src1 & src2. SF ZF set, OF CF cleared, AF PF
 * undefined (cleared on Intel). */
static void op_andn(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t r = ~soft_op_read(cpu, in, 1) & soft_op_read(cpu, in, 2) & soft_size_mask(size);
	soft_op_write(cpu, in, 0, r);
	uint64_t f = (r ? 0 : RFLAGS_ZF) | (r >> (size * 8 - 1) ? RFLAGS_SF : 0);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

void soft_register_alu(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_ADD] = op_add;
	table[ZYDIS_MNEMONIC_OR] = op_or;
	table[ZYDIS_MNEMONIC_ADC] = op_adc;
	table[ZYDIS_MNEMONIC_SBB] = op_sbb;
	table[ZYDIS_MNEMONIC_AND] = op_and;
	table[ZYDIS_MNEMONIC_SUB] = op_sub;
	table[ZYDIS_MNEMONIC_XOR] = op_xor;
	table[ZYDIS_MNEMONIC_CMP] = op_cmp;
	table[ZYDIS_MNEMONIC_TEST] = op_test;
	table[ZYDIS_MNEMONIC_INC] = op_inc;
	table[ZYDIS_MNEMONIC_DEC] = op_dec;
	table[ZYDIS_MNEMONIC_NEG] = op_neg;
	table[ZYDIS_MNEMONIC_NOT] = op_not;
	table[ZYDIS_MNEMONIC_MUL] = op_mul;
	table[ZYDIS_MNEMONIC_IMUL] = op_imul;
	table[ZYDIS_MNEMONIC_DIV] = op_div;
	table[ZYDIS_MNEMONIC_IDIV] = op_idiv;
	table[ZYDIS_MNEMONIC_ADCX] = op_adcx;
	table[ZYDIS_MNEMONIC_ADOX] = op_adox;
	table[ZYDIS_MNEMONIC_ANDN] = op_andn;
}
