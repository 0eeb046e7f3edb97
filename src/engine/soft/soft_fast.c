/* SPDX-License-Identifier: MIT */
/*
 * Specialised handlers for the hottest instruction forms, chosen once per
 * instruction by the decoder (soft_fast_handler): ALU / MOV / LEA / INC / DEC
 * with register, immediate and memory operands at a fixed size, Jcc, JMP and
 * CALL rel, RET, and 64-bit PUSH/POP of a register. Each does exactly what
 * the generic handler of its mnemonic (interp/) does for that form, minus the
 * operand-kind switches and size dispatch, with memory through the inline
 * soft-TLB fast path (soft_mem_read / soft_mem_write). Forms with LOCK,
 * AH..BH operands or anything unusual keep the generic handler (locked
 * ones the decoder gives soft_atomic_insn first).
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/soft_engine.h"

/* soft_ea, inline. */
static inline uint64_t fast_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
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

/* ---- two-operand ALU (flags from the host, as host_alu does for these ops;
 * UNDEF: the flags the model clears, as alu_binary does) ---- */

#define ALU_CORE(T, SFX, INSN, a, b, f)                                                 \
	do {                                                                            \
		T r_ = (T)(a), s_ = (T)(b);                                             \
		HOST_ASM_RS_NOLOAD(INSN SFX " %[s], %[r]", r_, s_, f);                  \
		(a) = r_;                                                               \
	} while (0)

#define DEF_ALU(NAME, INSN, WRITE, UNDEF, T, SFX, SZ)                                                             \
	static void f_##NAME##_rr##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                                       \
		uint64_t a = cpu->s.gpr[in->op[0].reg], b = cpu->s.gpr[in->op[1].reg], f = 0;                    \
		ALU_CORE(T, SFX, INSN, a, b, f);                                                                \
		if (WRITE)                                                                                      \
			soft_reg_write(cpu, in->op[0].reg, SZ, a);                                              \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, f & ~(uint64_t)(UNDEF));                                  \
	}                                                                                                       \
	static void f_##NAME##_ri##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                                       \
		uint64_t a = cpu->s.gpr[in->op[0].reg], b = in->op[1].imm, f = 0;                                \
		ALU_CORE(T, SFX, INSN, a, b, f);                                                                \
		if (WRITE)                                                                                      \
			soft_reg_write(cpu, in->op[0].reg, SZ, a);                                              \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, f & ~(uint64_t)(UNDEF));                                  \
	}                                                                                                       \
	static void f_##NAME##_rm##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                                       \
		const struct soft_operand *m = &in->op[1];                                                      \
		uint64_t a = cpu->s.gpr[in->op[0].reg], f = 0;                                                  \
		uint64_t b = soft_mem_read(cpu, m->seg, fast_ea(cpu, in, m), SZ);                               \
		ALU_CORE(T, SFX, INSN, a, b, f);                                                                \
		if (WRITE)                                                                                      \
			soft_reg_write(cpu, in->op[0].reg, SZ, a);                                              \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, f & ~(uint64_t)(UNDEF));                                  \
	}                                                                                                       \
	static inline void f_##NAME##_m##SZ(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t b)      \
	{                                                                                                       \
		const struct soft_operand *m = &in->op[0];                                                      \
		uint64_t ea = fast_ea(cpu, in, m), a, f = 0;                                                    \
		if (WRITE) {                                                                                    \
			void *p = soft_fast_ptr(cpu, m->seg, ea, SZ, SOFT_ACC_WRITE);                           \
			if (__builtin_expect(p != NULL, 1)) {                                                   \
				a = soft_host_load(p, SZ);                                                      \
				ALU_CORE(T, SFX, INSN, a, b, f);                                                \
				soft_host_store(p, SZ, a);                                                      \
			} else {                                                                                \
				a = soft_seg_read_rmw(cpu, m->seg, ea, SZ);                                     \
				ALU_CORE(T, SFX, INSN, a, b, f);                                                \
				soft_seg_write(cpu, m->seg, ea, SZ, a);                                         \
			}                                                                                       \
		} else {                                                                                        \
			a = soft_mem_read(cpu, m->seg, ea, SZ);                                                 \
			ALU_CORE(T, SFX, INSN, a, b, f);                                                        \
		}                                                                                               \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, f & ~(uint64_t)(UNDEF));                                  \
	}                                                                                                       \
	static void f_##NAME##_mr##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                                       \
		f_##NAME##_m##SZ(cpu, in, cpu->s.gpr[in->op[1].reg]);                                           \
	}                                                                                                       \
	static void f_##NAME##_mi##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                                       \
		f_##NAME##_m##SZ(cpu, in, in->op[1].imm);                                                       \
	}

#define DEF_ALU_SIZES(NAME, INSN, WRITE, UNDEF)                 \
	DEF_ALU(NAME, INSN, WRITE, UNDEF, uint8_t, "b", 1)      \
	DEF_ALU(NAME, INSN, WRITE, UNDEF, uint16_t, "w", 2)     \
	DEF_ALU(NAME, INSN, WRITE, UNDEF, uint32_t, "l", 4)     \
	DEF_ALU(NAME, INSN, WRITE, UNDEF, uint64_t, "q", 8)

DEF_ALU_SIZES(add, "add", true, 0)
DEF_ALU_SIZES(or, "or", true, MODEL_LOGIC_UNDEFINED)
DEF_ALU_SIZES(and, "and", true, MODEL_LOGIC_UNDEFINED)
DEF_ALU_SIZES(sub, "sub", true, 0)
DEF_ALU_SIZES(xor, "xor", true, MODEL_LOGIC_UNDEFINED)
DEF_ALU_SIZES(cmp, "sub", false, 0)
DEF_ALU_SIZES(test, "and", false, MODEL_LOGIC_UNDEFINED)

/* Forms of a two-operand instruction: [form][size index]. */
enum { F_RR, F_RI, F_RM, F_MR, F_MI, F_FORMS };
typedef soft_handler_fn *form_table[F_FORMS][4];

#define ALU_TABLE(NAME)                                                                         \
	static const form_table NAME##_forms = {                                                \
		{ f_##NAME##_rr1, f_##NAME##_rr2, f_##NAME##_rr4, f_##NAME##_rr8 },             \
		{ f_##NAME##_ri1, f_##NAME##_ri2, f_##NAME##_ri4, f_##NAME##_ri8 },             \
		{ f_##NAME##_rm1, f_##NAME##_rm2, f_##NAME##_rm4, f_##NAME##_rm8 },             \
		{ f_##NAME##_mr1, f_##NAME##_mr2, f_##NAME##_mr4, f_##NAME##_mr8 },             \
		{ f_##NAME##_mi1, f_##NAME##_mi2, f_##NAME##_mi4, f_##NAME##_mi8 },             \
	};
ALU_TABLE(add)
ALU_TABLE(or)
ALU_TABLE(and)
ALU_TABLE(sub)
ALU_TABLE(xor)
ALU_TABLE(cmp)
ALU_TABLE(test)

/* ---- MOV, LEA ---- */

#define DEF_MOV(SZ)                                                                                     \
	static void f_mov_rr##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                      \
	{                                                                                               \
		soft_reg_write(cpu, in->op[0].reg, SZ, cpu->s.gpr[in->op[1].reg]);                      \
	}                                                                                               \
	static void f_mov_ri##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                      \
	{                                                                                               \
		soft_reg_write(cpu, in->op[0].reg, SZ, in->op[1].imm);                                  \
	}                                                                                               \
	static void f_mov_rm##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                      \
	{                                                                                               \
		const struct soft_operand *m = &in->op[1];                                              \
		soft_reg_write(cpu, in->op[0].reg, SZ, soft_mem_read(cpu, m->seg, fast_ea(cpu, in, m), SZ)); \
	}                                                                                               \
	static void f_mov_mr##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                      \
	{                                                                                               \
		const struct soft_operand *m = &in->op[0];                                              \
		soft_mem_write(cpu, m->seg, fast_ea(cpu, in, m), SZ, cpu->s.gpr[in->op[1].reg]);        \
	}                                                                                               \
	static void f_mov_mi##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                      \
	{                                                                                               \
		const struct soft_operand *m = &in->op[0];                                              \
		soft_mem_write(cpu, m->seg, fast_ea(cpu, in, m), SZ, in->op[1].imm);                    \
	}                                                                                               \
	static void f_lea##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                               \
		soft_reg_write(cpu, in->op[0].reg, SZ, fast_ea(cpu, in, &in->op[1]));                   \
	}
DEF_MOV(1)
DEF_MOV(2)
DEF_MOV(4)
DEF_MOV(8)
ALU_TABLE(mov)
static soft_handler_fn *const lea_forms[4] = { f_lea1, f_lea2, f_lea4, f_lea8 };

/* ---- INC, DEC (CF kept) ---- */

#define DEF_UNARY(NAME, INSN, T, SFX, SZ)                                                               \
	static void f_##NAME##_r##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                  \
	{                                                                                               \
		T r_ = (T)cpu->s.gpr[in->op[0].reg];                                                    \
		uint64_t f = 0;                                                                         \
		__asm__(HOST_ENTER_NOLOAD INSN SFX " %[r]" HOST_LEAVE : [r] "+r"(r_), [f] "+r"(f) : : "cc"); \
		soft_reg_write(cpu, in->op[0].reg, SZ, r_);                                             \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS & ~RFLAGS_CF, f);                                  \
	}                                                                                               \
	static void f_##NAME##_m##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                  \
	{                                                                                               \
		const struct soft_operand *m = &in->op[0];                                              \
		uint64_t ea = fast_ea(cpu, in, m), f = 0;                                               \
		void *p = soft_fast_ptr(cpu, m->seg, ea, SZ, SOFT_ACC_WRITE);                           \
		T r_ = (T)(p ? soft_host_load(p, SZ) : soft_seg_read_rmw(cpu, m->seg, ea, SZ));         \
		__asm__(HOST_ENTER_NOLOAD INSN SFX " %[r]" HOST_LEAVE : [r] "+r"(r_), [f] "+r"(f) : : "cc"); \
		if (p)                                                                                  \
			soft_host_store(p, SZ, r_);                                                     \
		else                                                                                    \
			soft_seg_write(cpu, m->seg, ea, SZ, r_);                                        \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS & ~RFLAGS_CF, f);                                  \
	}
#define DEF_UNARY_SIZES(NAME, INSN)                 \
	DEF_UNARY(NAME, INSN, uint8_t, "b", 1)      \
	DEF_UNARY(NAME, INSN, uint16_t, "w", 2)     \
	DEF_UNARY(NAME, INSN, uint32_t, "l", 4)     \
	DEF_UNARY(NAME, INSN, uint64_t, "q", 8)
DEF_UNARY_SIZES(inc, "inc")
DEF_UNARY_SIZES(dec, "dec")
static soft_handler_fn *const inc_forms[2][4] = {
	{ f_inc_r1, f_inc_r2, f_inc_r4, f_inc_r8 },
	{ f_inc_m1, f_inc_m2, f_inc_m4, f_inc_m8 },
};
static soft_handler_fn *const dec_forms[2][4] = {
	{ f_dec_r1, f_dec_r2, f_dec_r4, f_dec_r8 },
	{ f_dec_m1, f_dec_m2, f_dec_m4, f_dec_m8 },
};

/* ---- near branches (interp/control.c) ---- */

/* branch_target of control.c: truncated to the operand size, then canonical
 * (64-bit mode) or within the CS limit; #GP(0) before any change. */
static inline uint64_t fast_target(struct soft_cpu *cpu, unsigned size, uint64_t target)
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

#define DEF_JCC(CC)                                                                             \
	static void f_jcc##CC(struct soft_cpu *cpu, const struct soft_insn *in)                 \
	{                                                                                       \
		if (soft_flags_cond(cpu->s.rflags, CC))                                          \
			cpu->s.rip = fast_target(cpu, in->opsize, cpu->s.rip + in->op[0].imm);  \
	}
DEF_JCC(0) DEF_JCC(1) DEF_JCC(2) DEF_JCC(3) DEF_JCC(4) DEF_JCC(5) DEF_JCC(6) DEF_JCC(7)
DEF_JCC(8) DEF_JCC(9) DEF_JCC(10) DEF_JCC(11) DEF_JCC(12) DEF_JCC(13) DEF_JCC(14) DEF_JCC(15)
static soft_handler_fn *const jcc_fns[16] = {
	f_jcc0, f_jcc1, f_jcc2,	 f_jcc3,  f_jcc4,  f_jcc5,  f_jcc6,  f_jcc7,
	f_jcc8, f_jcc9, f_jcc10, f_jcc11, f_jcc12, f_jcc13, f_jcc14, f_jcc15,
};

static void f_jmp_rel(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->s.rip = fast_target(cpu, in->opsize, cpu->s.rip + in->op[0].imm);
}

/* CALL rel32 in 64-bit mode with a 64-bit operand: the stack is flat and 64-bit. */
static void f_call_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t target = cpu->s.rip + in->op[0].imm;
	if (!soft_is_canonical(target))
		soft_raise_gp(cpu, 0);
	uint64_t sp = cpu->s.gpr[X86_RSP] - 8;
	soft_mem_write(cpu, X86_SS, sp, 8, cpu->s.rip);
	cpu->s.gpr[X86_RSP] = sp;
	cpu->s.rip = target;
}

static void f_call_rel(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t target = fast_target(cpu, in->opsize, cpu->s.rip + in->op[0].imm);
	soft_push(cpu, in->opsize, cpu->s.rip & soft_size_mask(in->opsize));
	cpu->s.rip = target;
}

/* RET (C3) in 64-bit mode with a 64-bit operand: the stack is flat and 64-bit. */
static void f_ret64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	uint64_t sp = cpu->s.gpr[X86_RSP];
	uint64_t target = soft_mem_read(cpu, X86_SS, sp, 8);
	if (!soft_is_canonical(target))
		soft_raise_gp(cpu, 0);
	cpu->s.gpr[X86_RSP] = sp + 8;
	cpu->s.rip = target;
}

/* ---- PUSH / POP r64 in 64-bit mode (interp/stack.c) ---- */

static void f_push_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* The value is read first: PUSH RSP stores the old RSP. */
	uint64_t v = cpu->s.gpr[in->op[0].reg];
	uint64_t sp = cpu->s.gpr[X86_RSP] - 8;
	soft_mem_write(cpu, X86_SS, sp, 8, v);
	cpu->s.gpr[X86_RSP] = sp;
}

static void f_pop_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t sp = cpu->s.gpr[X86_RSP];
	uint64_t v = soft_mem_read(cpu, X86_SS, sp, 8);
	/* POP RSP: the increment first, then the popped value replaces it. */
	cpu->s.gpr[X86_RSP] = sp + 8;
	cpu->s.gpr[in->op[0].reg] = v;
}

/* ---- SHL SHR SAR ROL ROR by an immediate or CL (interp/shift.c) ---- */

/*
 * The host instruction runs without popfq: with a nonzero count the flags it
 * defines never depend on the flags in, and the undefined ones are replaced
 * by the model's (as shift_rm does); a zero count changes no flag at all.
 */
#define SH_CORE(T, SFX, INSN, a, c, f)                                                                  \
	do {                                                                                            \
		T r_ = (T)(a);                                                                          \
		__asm__(HOST_ENTER_NOLOAD INSN SFX " %%cl, %[r]" HOST_LEAVE                            \
			: [r] "+r"(r_), [f] "+r"(f) : [c] "c"(c) : "cc");                               \
		(a) = r_;                                                                               \
	} while (0)

static inline uint8_t fast_count(const struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	const struct soft_operand *c = &in->op[1];
	uint64_t n = c->kind == SOFT_OP_IMM ? c->imm : cpu->s.gpr[c->reg];
	return (uint8_t)(n & (size == 8 ? 63 : 31));
}

#define DEF_SHIFT(NAME, INSN, OP, T, SFX, SZ)                                                           \
	static void f_##NAME##_r##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                  \
	{                                                                                               \
		unsigned reg = in->op[0].reg;                                                           \
		uint64_t a = cpu->s.gpr[reg], a0 = a, f = 0;                                            \
		uint8_t c = fast_count(cpu, in, SZ);                                                    \
		if (c == 0) {                                                                           \
			soft_reg_write(cpu, reg, SZ, a);                                                \
			return;                                                                         \
		}                                                                                       \
		SH_CORE(T, SFX, INSN, a, c, f);                                                         \
		soft_reg_write(cpu, reg, SZ, a);                                                        \
		model_shift_set_flags(cpu, in, OP, SZ, a0, c, f);                                       \
	}                                                                                               \
	static void f_##NAME##_m##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                  \
	{                                                                                               \
		const struct soft_operand *m = &in->op[0];                                              \
		uint64_t ea = fast_ea(cpu, in, m), f = 0;                                               \
		void *p = soft_fast_ptr(cpu, m->seg, ea, SZ, SOFT_ACC_WRITE);                           \
		uint64_t a = p ? soft_host_load(p, SZ) : soft_seg_read_rmw(cpu, m->seg, ea, SZ), a0 = a; \
		uint8_t c = fast_count(cpu, in, SZ);                                                    \
		if (c != 0)                                                                             \
			SH_CORE(T, SFX, INSN, a, c, f);                                                 \
		if (p)                                                                                  \
			soft_host_store(p, SZ, a);                                                      \
		else                                                                                    \
			soft_seg_write(cpu, m->seg, ea, SZ, a);                                         \
		if (c != 0)                                                                             \
			model_shift_set_flags(cpu, in, OP, SZ, a0, c, f);                               \
	}
#define DEF_SHIFT_SIZES(NAME, INSN, OP)                  \
	DEF_SHIFT(NAME, INSN, OP, uint8_t, "b", 1)       \
	DEF_SHIFT(NAME, INSN, OP, uint16_t, "w", 2)      \
	DEF_SHIFT(NAME, INSN, OP, uint32_t, "l", 4)      \
	DEF_SHIFT(NAME, INSN, OP, uint64_t, "q", 8)      \
	static soft_handler_fn *const NAME##_forms[2][4] = { \
		{ f_##NAME##_r1, f_##NAME##_r2, f_##NAME##_r4, f_##NAME##_r8 }, \
		{ f_##NAME##_m1, f_##NAME##_m2, f_##NAME##_m4, f_##NAME##_m8 }, \
	};
DEF_SHIFT_SIZES(shl, "shl", HOST_SHL)
DEF_SHIFT_SIZES(shr, "shr", HOST_SHR)
DEF_SHIFT_SIZES(sar, "sar", HOST_SAR)
DEF_SHIFT_SIZES(rol, "rol", HOST_ROL)
DEF_SHIFT_SIZES(ror, "ror", HOST_ROR)

/* ---- IMUL r, r/m and IMUL r, r/m, imm (interp/alu.c op_imul) ---- */

/* A source operand of a fast form: GPR, immediate or memory. */
static inline uint64_t fast_src(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, unsigned size)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: return cpu->s.gpr[op->reg];
	case SOFT_OP_IMM: return op->imm;
	default: return soft_mem_read(cpu, op->seg, fast_ea(cpu, in, op), size);
	}
}

/* The host's two-operand IMUL defines OF and CF, which never depend on the
 * flags in (no popfq); SF ZF AF PF are the model's (as op_imul). */
#define DEF_IMUL(T, SFX, SZ)                                                                            \
	static void f_imul##SZ(struct soft_cpu *cpu, const struct soft_insn *in)                        \
	{                                                                                               \
		unsigned first = in->nops == 3 ? 1 : 0;                                                 \
		uint64_t a = fast_src(cpu, in, first, SZ), f = 0;                                       \
		uint64_t b = fast_src(cpu, in, first + 1, SZ);                                          \
		T r_ = (T)a, s_ = (T)b;                                                                 \
		HOST_ASM_RS_NOLOAD("imul" SFX " %[s], %[r]", r_, s_, f);                                \
		soft_reg_write(cpu, in->op[0].reg, SZ, r_);                                             \
		f = (f & ~MODEL_MUL_UNDEFINED) | model_mul_flags(r_, SZ);                               \
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);                                               \
	}
DEF_IMUL(uint16_t, "w", 2)
DEF_IMUL(uint32_t, "l", 4)
DEF_IMUL(uint64_t, "q", 8)

/* ---- MOVZX, MOVSX, MOVSXD with a GPR destination (interp/move.c) ---- */

static inline uint64_t fast_rm_read(struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	if (op->kind == SOFT_OP_REG)
		return cpu->s.gpr[op->reg] & soft_size_mask(op->size);
	return soft_mem_read(cpu, op->seg, fast_ea(cpu, in, op), op->size);
}

static void f_movzx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_reg_write(cpu, in->op[0].reg, in->op[0].size, fast_rm_read(cpu, in, &in->op[1]));
}

static void f_movsx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->op[1].size;
	uint64_t v = fast_rm_read(cpu, in, &in->op[1]);
	if (ss < 8)
		v = (uint64_t)((int64_t)(v << (64 - ss * 8)) >> (64 - ss * 8));
	soft_reg_write(cpu, in->op[0].reg, in->op[0].size, v);
}

/* ---- selection ---- */

static int size_index(unsigned size)
{
	switch (size) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	case 8: return 3;
	default: return -1;
	}
}

/* The form of a two-operand instruction with a GPR or memory destination and
 * a GPR, immediate or memory source (not both memory), or -1. */
static int two_op_form(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->nops != 2)
		return -1;
	if (d->kind == SOFT_OP_REG) {
		if (s->kind == SOFT_OP_REG && s->size == d->size)
			return F_RR;
		if (s->kind == SOFT_OP_IMM)
			return F_RI;
		if (s->kind == SOFT_OP_MEM && s->size == d->size)
			return F_RM;
	} else if (d->kind == SOFT_OP_MEM) {
		if (s->kind == SOFT_OP_REG && s->size == d->size)
			return F_MR;
		if (s->kind == SOFT_OP_IMM)
			return F_MI;
	}
	return -1;
}

soft_handler_fn *soft_fast_handler(const struct soft_insn *in, unsigned code_size, soft_handler_fn *generic)
{
	/* LOCK: atomic (soft_atomic.c), or #UD from the generic handler. */
	if (in->flags & SOFT_INSN_LOCK)
		return generic;
	const form_table *alu = NULL;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_ADD: alu = &add_forms; break;
	case ZYDIS_MNEMONIC_OR: alu = &or_forms; break;
	case ZYDIS_MNEMONIC_AND: alu = &and_forms; break;
	case ZYDIS_MNEMONIC_SUB: alu = &sub_forms; break;
	case ZYDIS_MNEMONIC_XOR: alu = &xor_forms; break;
	case ZYDIS_MNEMONIC_CMP: alu = &cmp_forms; break;
	case ZYDIS_MNEMONIC_TEST: alu = &test_forms; break;
	case ZYDIS_MNEMONIC_MOV: alu = &mov_forms; break;
	case ZYDIS_MNEMONIC_LEA: {
		int si = size_index(in->op[0].size);
		if (in->nops == 2 && in->op[0].kind == SOFT_OP_REG && in->op[1].kind == SOFT_OP_MEM && si >= 0)
			return lea_forms[si];
		return generic;
	}
	case ZYDIS_MNEMONIC_INC:
	case ZYDIS_MNEMONIC_DEC: {
		int si = size_index(in->op[0].size);
		int m = in->op[0].kind == SOFT_OP_MEM ? 1 : in->op[0].kind == SOFT_OP_REG ? 0 : -1;
		if (in->nops != 1 || si < 0 || m < 0)
			return generic;
		return in->mnemonic == ZYDIS_MNEMONIC_INC ? inc_forms[m][si] : dec_forms[m][si];
	}
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JNB:
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNLE:
		if (in->nops == 1 && in->op[0].kind == SOFT_OP_IMM)
			return jcc_fns[in->opcode & 0xf];
		return generic;
	case ZYDIS_MNEMONIC_JMP:
		if (in->nops == 1 && in->op[0].kind == SOFT_OP_IMM)
			return f_jmp_rel;
		return generic;
	case ZYDIS_MNEMONIC_CALL:
		if (in->nops == 1 && in->op[0].kind == SOFT_OP_IMM)
			return code_size == 8 && in->opsize == 8 ? f_call_rel64 : f_call_rel;
		return generic;
	case ZYDIS_MNEMONIC_RET:
		if (code_size == 8 && in->opsize == 8 && in->opcode == 0xc3 && in->nops == 0)
			return f_ret64;
		return generic;
	case ZYDIS_MNEMONIC_PUSH:
		if (code_size == 8 && in->opsize == 8 && in->nops == 1 && in->op[0].kind == SOFT_OP_REG &&
		    in->op[0].size == 8)
			return f_push_r64;
		return generic;
	case ZYDIS_MNEMONIC_POP:
		if (code_size == 8 && in->opsize == 8 && in->nops == 1 && in->op[0].kind == SOFT_OP_REG &&
		    in->op[0].size == 8)
			return f_pop_r64;
		return generic;
	case ZYDIS_MNEMONIC_SHL:
	case ZYDIS_MNEMONIC_SHR:
	case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL:
	case ZYDIS_MNEMONIC_ROR: {
		int si = size_index(in->op[0].size);
		int m = in->op[0].kind == SOFT_OP_MEM ? 1 : in->op[0].kind == SOFT_OP_REG ? 0 : -1;
		const struct soft_operand *c = &in->op[1];
		bool count_ok = c->kind == SOFT_OP_IMM || (c->kind == SOFT_OP_REG && c->reg == X86_RCX && c->size == 1);
		if (in->nops != 2 || si < 0 || m < 0 || !count_ok)
			return generic;
		switch (in->mnemonic) {
		case ZYDIS_MNEMONIC_SHL: return shl_forms[m][si];
		case ZYDIS_MNEMONIC_SHR: return shr_forms[m][si];
		case ZYDIS_MNEMONIC_SAR: return sar_forms[m][si];
		case ZYDIS_MNEMONIC_ROL: return rol_forms[m][si];
		default: return ror_forms[m][si];
		}
	}
	case ZYDIS_MNEMONIC_IMUL: {
		unsigned size = in->op[0].size;
		if ((in->nops != 2 && in->nops != 3) || in->op[0].kind != SOFT_OP_REG)
			return generic;
		for (unsigned i = 1; i < in->nops; i++) {
			uint8_t k = in->op[i].kind;
			if (k != SOFT_OP_IMM && k != SOFT_OP_MEM && !(k == SOFT_OP_REG && in->op[i].size == size))
				return generic;
			if (k == SOFT_OP_MEM && in->op[i].size != size)
				return generic;
		}
		if (in->nops == 3 && in->op[2].kind != SOFT_OP_IMM)
			return generic;
		return size == 2 ? f_imul2 : size == 4 ? f_imul4 : size == 8 ? f_imul8 : generic;
	}
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		if (in->nops != 2 || in->op[0].kind != SOFT_OP_REG || size_index(in->op[0].size) < 0 ||
		    (in->op[1].kind != SOFT_OP_REG && in->op[1].kind != SOFT_OP_MEM) || size_index(in->op[1].size) < 0)
			return generic;
		return in->mnemonic == ZYDIS_MNEMONIC_MOVZX ? f_movzx : f_movsx;
	default:
		return generic;
	}
	int form = two_op_form(in), si = size_index(in->op[0].size);
	if (form < 0 || si < 0)
		return generic;
	return (*alu)[form][si];
}
