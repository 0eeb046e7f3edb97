/* SPDX-License-Identifier: MIT */
/*
 * Arithmetic flags computed by the host CPU: each helper loads the guest's
 * arithmetic flags (OF SF ZF AF PF CF) into the host RFLAGS, executes the
 * same instruction at the same width and captures the result and RFLAGS.
 * Only the flags the SDM (Vol. 2) defines for the instruction are the
 * guest's: those it leaves undefined (AF after AND, OF after multi-bit
 * shifts, SF/ZF/AF/PF after MUL, ...) differ between Intel and AMD hosts, so
 * callers replace them with the model's values (model_flags.h) and merge
 * only the flags the instruction may change (soft_set_flags).
 * Only baseline x86-64 instructions are used here: instructions a host may
 * lack (BMI, ADX, LZCNT, POPCNT) are computed in C by their handlers.
 *
 * The asm pushes to the stack, so it first steps over the 128-byte red zone
 * the compiler may be using below RSP (with LEA, which leaves flags alone).
 */
#ifndef X86V_ENGINE_SOFT_INTERP_HOST_FLAGS_H
#define X86V_ENGINE_SOFT_INTERP_HOST_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/soft/soft_insn.h"

#if !defined(__x86_64__)
#error "interp/host_flags.h executes x86-64 instructions: the soft engine needs an x86-64 host"
#endif

/* LOCK is allowed only on the read-modify-write instructions that permit it,
 * and only with a memory destination (SDM Vol. 2A, LOCK); otherwise #UD. */
static inline void soft_lock_check(struct soft_cpu *cpu, const struct soft_insn *in, bool lockable)
{
	if ((in->flags & SOFT_INSN_LOCK) && (!lockable || in->op[0].kind != SOFT_OP_MEM))
		soft_raise_ud(cpu);
}

/* The value popfq loads: the guest's arithmetic flags, with TF, DF, AC and
 * IF clear (IF is ignored at CPL 3 anyway) and the fixed bit 1. */
static inline uint64_t host_flags_in(uint64_t guest_rflags)
{
	return (guest_rflags & SOFT_ARITH_FLAGS) | RFLAGS_FIXED;
}

#define HOST_ENTER "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define HOST_LEAVE "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"

/* insn %[s], %[r] at the width of the C types of rv and sv. */
#define HOST_ASM_RS(text, rv, sv, fv) \
	__asm__(HOST_ENTER text HOST_LEAVE : [r] "+r"(rv), [f] "+r"(fv) : [s] "r"(sv) : "cc")
/* The same for instructions whose written flags never depend on the flags in:
 * no popfq (microcoded, the slowest part of the sequence). The caller must
 * merge only flags the instruction defines. */
#define HOST_ENTER_NOLOAD "lea -128(%%rsp), %%rsp\n\t"
#define HOST_ASM_RS_NOLOAD(text, rv, sv, fv) \
	__asm__(HOST_ENTER_NOLOAD text HOST_LEAVE : [r] "+r"(rv), [f] "+r"(fv) : [s] "r"(sv) : "cc")
/* insn %cl, %[r] */
#define HOST_ASM_RC(text, rv, cv, fv) \
	__asm__(HOST_ENTER text HOST_LEAVE : [r] "+r"(rv), [f] "+r"(fv) : [c] "c"(cv) : "cc")

/* One switch over the operand size; BODY(type, suffix) does the work. */
#define HOST_SIZED(size, BODY)                  \
	switch (size) {                         \
	case 1: BODY(uint8_t, "b"); break;      \
	case 2: BODY(uint16_t, "w"); break;     \
	case 4: BODY(uint32_t, "l"); break;     \
	default: BODY(uint64_t, "q"); break;    \
	}
/* The same without a byte form (instructions that have none). */
#define HOST_SIZED_NO8(size, BODY)              \
	switch (size) {                         \
	case 2: BODY(uint16_t, "w"); break;     \
	case 4: BODY(uint32_t, "l"); break;     \
	default: BODY(uint64_t, "q"); break;    \
	}

/* ---- two-operand ALU: in ModRM /reg order (SDM Vol. 2, opcode map 80..83) ---- */

enum host_alu { HOST_ADD, HOST_OR, HOST_ADC, HOST_SBB, HOST_AND, HOST_SUB, HOST_XOR, HOST_CMP };

/* Returns a OP b at size bytes; *flags: in, the guest RFLAGS; out, the host's. */
static inline uint64_t host_alu(enum host_alu op, unsigned size, uint64_t a, uint64_t b, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
	/* Only ADC and SBB read a flag; the rest define all six they write. */
	bool load = op == HOST_ADC || op == HOST_SBB;
#define B_(T, sfx, insn)                                                        \
	do {                                                                    \
		T r_ = (T)a, s_ = (T)b;                                         \
		if (load)                                                       \
			HOST_ASM_RS(insn sfx " %[s], %[r]", r_, s_, f);         \
		else                                                            \
			HOST_ASM_RS_NOLOAD(insn sfx " %[s], %[r]", r_, s_, f);  \
		a = r_;                                                         \
	} while (0)
#define ADD_(T, sfx) B_(T, sfx, "add")
#define OR_(T, sfx) B_(T, sfx, "or")
#define ADC_(T, sfx) B_(T, sfx, "adc")
#define SBB_(T, sfx) B_(T, sfx, "sbb")
#define AND_(T, sfx) B_(T, sfx, "and")
#define SUB_(T, sfx) B_(T, sfx, "sub")
#define XOR_(T, sfx) B_(T, sfx, "xor")
	switch (op) {
	case HOST_ADD: HOST_SIZED(size, ADD_); break;
	case HOST_OR: HOST_SIZED(size, OR_); break;
	case HOST_ADC: HOST_SIZED(size, ADC_); break;
	case HOST_SBB: HOST_SIZED(size, SBB_); break;
	case HOST_AND: HOST_SIZED(size, AND_); break;
	case HOST_XOR: HOST_SIZED(size, XOR_); break;
	case HOST_SUB:
	case HOST_CMP: HOST_SIZED(size, SUB_); break;
	}
#undef ADD_
#undef OR_
#undef ADC_
#undef SBB_
#undef AND_
#undef SUB_
#undef XOR_
	*flags = f;
	return a;
}

/* ---- one-operand INC DEC NEG ---- */

enum host_unary { HOST_INC, HOST_DEC, HOST_NEG };

static inline uint64_t host_unary(enum host_unary op, unsigned size, uint64_t a, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
	/* INC, DEC and NEG define every flag they write (INC/DEC leave CF, which
	 * callers do not merge), so the guest's flags need not be loaded. */
#define U_(T, sfx, insn)                                        \
	do {                                                    \
		T r_ = (T)a;                                    \
		__asm__(HOST_ENTER_NOLOAD insn sfx " %[r]" HOST_LEAVE : [r] "+r"(r_), [f] "+r"(f) : : "cc"); \
		a = r_;                                         \
	} while (0)
#define INC_(T, sfx) U_(T, sfx, "inc")
#define DEC_(T, sfx) U_(T, sfx, "dec")
#define NEG_(T, sfx) U_(T, sfx, "neg")
	switch (op) {
	case HOST_INC: HOST_SIZED(size, INC_); break;
	case HOST_DEC: HOST_SIZED(size, DEC_); break;
	case HOST_NEG: HOST_SIZED(size, NEG_); break;
	}
#undef INC_
#undef DEC_
#undef NEG_
	*flags = f;
	return a;
}

/* ---- shifts and rotates by CL: in ModRM /reg order of C0/D0/D2 ---- */

enum host_shift { HOST_ROL, HOST_ROR, HOST_RCL, HOST_RCR, HOST_SHL, HOST_SHR, HOST_SAL, HOST_SAR };

/* count: already masked to 5 bits (6 for 64-bit operands) by the caller; the
 * host applies the RCL/RCR modulo-9/17 rules and the count-0 rule itself. */
static inline uint64_t host_shift(enum host_shift op, unsigned size, uint64_t a, uint8_t count, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
#define S_(T, sfx, insn)                                                \
	do {                                                            \
		T r_ = (T)a;                                            \
		HOST_ASM_RC(insn sfx " %%cl, %[r]", r_, count, f);      \
		a = r_;                                                 \
	} while (0)
#define ROL_(T, sfx) S_(T, sfx, "rol")
#define ROR_(T, sfx) S_(T, sfx, "ror")
#define RCL_(T, sfx) S_(T, sfx, "rcl")
#define RCR_(T, sfx) S_(T, sfx, "rcr")
#define SHL_(T, sfx) S_(T, sfx, "shl")
#define SHR_(T, sfx) S_(T, sfx, "shr")
#define SAR_(T, sfx) S_(T, sfx, "sar")
	switch (op) {
	case HOST_ROL: HOST_SIZED(size, ROL_); break;
	case HOST_ROR: HOST_SIZED(size, ROR_); break;
	case HOST_RCL: HOST_SIZED(size, RCL_); break;
	case HOST_RCR: HOST_SIZED(size, RCR_); break;
	case HOST_SHL:
	case HOST_SAL: HOST_SIZED(size, SHL_); break;
	case HOST_SHR: HOST_SIZED(size, SHR_); break;
	case HOST_SAR: HOST_SIZED(size, SAR_); break;
	}
#undef ROL_
#undef ROR_
#undef RCL_
#undef RCR_
#undef SHL_
#undef SHR_
#undef SAR_
	*flags = f;
	return a;
}

/* ---- multiply and divide ---- */

/* Two-operand IMUL (also the three-operand form: same computation). */
static inline uint64_t host_imul2(unsigned size, uint64_t a, uint64_t b, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
	bool load = false; /* OF and CF do not depend on the flags in */
#define IMUL_(T, sfx) B_(T, sfx, "imul")
	HOST_SIZED_NO8(size, IMUL_)
#undef IMUL_
	*flags = f;
	return a;
}
#undef B_

/* One-operand MUL/IMUL: a (AL/AX/EAX/RAX) times b; returns the low half and
 * stores the high half (AH/DX/EDX/RDX) in *hi. */
static inline uint64_t host_mul1(bool is_signed, unsigned size, uint64_t a, uint64_t b, uint64_t *hi, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
	if (size == 1) {
		uint16_t ax = (uint8_t)a;
		uint8_t s = (uint8_t)b;
		if (is_signed)
			__asm__(HOST_ENTER_NOLOAD "imulb %[s]" HOST_LEAVE : "+a"(ax), [f] "+r"(f) : [s] "r"(s) : "cc");
		else
			__asm__(HOST_ENTER_NOLOAD "mulb %[s]" HOST_LEAVE : "+a"(ax), [f] "+r"(f) : [s] "r"(s) : "cc");
		*hi = ax >> 8;
		*flags = f;
		return ax & 0xff;
	}
#define M_(T, sfx)                                                                                      \
	do {                                                                                            \
		T lo_ = (T)a, hi_, s_ = (T)b;                                                           \
		if (is_signed)                                                                          \
			__asm__(HOST_ENTER_NOLOAD "imul" sfx " %[s]" HOST_LEAVE                               \
				: "+a"(lo_), "=d"(hi_), [f] "+r"(f) : [s] "r"(s_) : "cc");             \
		else                                                                                    \
			__asm__(HOST_ENTER_NOLOAD "mul" sfx " %[s]" HOST_LEAVE                                \
				: "+a"(lo_), "=d"(hi_), [f] "+r"(f) : [s] "r"(s_) : "cc");             \
		a = lo_;                                                                                \
		*hi = hi_;                                                                              \
	} while (0)
	HOST_SIZED_NO8(size, M_)
#undef M_
	*flags = f;
	return a;
}

/*
 * DIV/IDIV of hi:lo by d. Precondition, checked by the caller: d != 0 and the
 * quotient fits in size bytes, so the host instruction cannot fault. For
 * size 1, lo is AL and hi is AH (the dividend is AX). The flags, all
 * undefined, are not taken from the host (the model leaves them unchanged).
 */
static inline void host_div(bool is_signed, unsigned size, uint64_t lo, uint64_t hi, uint64_t d,
			    uint64_t *quot, uint64_t *rem)
{
	if (size == 1) {
		uint16_t ax = (uint16_t)((hi & 0xff) << 8 | (lo & 0xff));
		uint8_t s = (uint8_t)d;
		if (is_signed)
			__asm__ volatile("idivb %[s]" : "+a"(ax) : [s] "r"(s) : "cc");
		else
			__asm__ volatile("divb %[s]" : "+a"(ax) : [s] "r"(s) : "cc");
		*quot = ax & 0xff;
		*rem = ax >> 8;
		return;
	}
#define V_(T, sfx)                                                                                      \
	do {                                                                                            \
		T lo_ = (T)lo, hi_ = (T)hi, s_ = (T)d;                                                  \
		if (is_signed)                                                                          \
			__asm__ volatile("idiv" sfx " %[s]" : "+a"(lo_), "+d"(hi_) : [s] "r"(s_) : "cc"); \
		else                                                                                    \
			__asm__ volatile("div" sfx " %[s]" : "+a"(lo_), "+d"(hi_) : [s] "r"(s_) : "cc");  \
		*quot = lo_;                                                                            \
		*rem = hi_;                                                                             \
	} while (0)
	HOST_SIZED_NO8(size, V_)
#undef V_
}

/* ---- bit test (no byte forms) ---- */

enum host_bt { HOST_BT, HOST_BTS, HOST_BTR, HOST_BTC };

/* Bit bit (taken modulo the operand width by the host) of a, register form. */
static inline uint64_t host_bt(enum host_bt op, unsigned size, uint64_t a, uint64_t bit, uint64_t *flags)
{
	uint64_t f = host_flags_in(*flags);
#define T_(T, sfx, insn)                                                \
	do {                                                            \
		T r_ = (T)a, s_ = (T)bit;                               \
		HOST_ASM_RS_NOLOAD(insn sfx " %[s], %[r]", r_, s_, f);  \
		a = r_;                                                 \
	} while (0)
#define BT_(T, sfx) T_(T, sfx, "bt")
#define BTS_(T, sfx) T_(T, sfx, "bts")
#define BTR_(T, sfx) T_(T, sfx, "btr")
#define BTC_(T, sfx) T_(T, sfx, "btc")
	switch (op) {
	case HOST_BT: HOST_SIZED_NO8(size, BT_); break;
	case HOST_BTS: HOST_SIZED_NO8(size, BTS_); break;
	case HOST_BTR: HOST_SIZED_NO8(size, BTR_); break;
	case HOST_BTC: HOST_SIZED_NO8(size, BTC_); break;
	}
#undef BT_
#undef BTS_
#undef BTR_
#undef BTC_
	*flags = f;
	return a;
}

#undef T_

#endif
