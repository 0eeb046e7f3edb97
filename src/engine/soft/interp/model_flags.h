/* SPDX-License-Identifier: MIT */
/*
 * What the soft CPU model gives where the SDM leaves flags (and, for 16-bit
 * SHLD/SHRD, results) undefined. The model is one Intel core (docs/cpu-model.md
 * has the tables); these are the values measured on it, computed here in C so
 * that a guest sees them on every host, Intel or AMD. Handlers take the
 * defined flags from the host instruction (host_flags.h) or compute them, and
 * merge these for the undefined ones: nothing the SDM leaves undefined may
 * reach the guest from the host.
 */
#ifndef X86V_ENGINE_SOFT_INTERP_MODEL_FLAGS_H
#define X86V_ENGINE_SOFT_INTERP_MODEL_FLAGS_H

#include "engine/soft/interp/host_flags.h"

/* PF: even parity of the low byte. */
static inline uint64_t model_pf(uint64_t v)
{
	return __builtin_parity((unsigned)(v & 0xff)) ? 0 : RFLAGS_PF;
}

static inline unsigned model_bit(uint64_t v, unsigned n)
{
	return (unsigned)(v >> n) & 1;
}

/* SF ZF PF of a size-byte result. */
static inline uint64_t model_szp(uint64_t r, unsigned size)
{
	r &= soft_size_mask(size);
	return (r ? 0 : RFLAGS_ZF) | (model_bit(r, size * 8 - 1) ? RFLAGS_SF : 0) | model_pf(r);
}

/* AND OR XOR TEST, and AAM: AF (undefined) is cleared. */
#define MODEL_LOGIC_UNDEFINED RFLAGS_AF

/* MUL and IMUL (every form): SF ZF AF PF are undefined. The model sets SF
 * from the sign of the low half and PF from its low byte, and clears ZF and
 * AF; lo is the low half (AL for the byte forms). */
#define MODEL_MUL_UNDEFINED (RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF)
static inline uint64_t model_mul_flags(uint64_t lo, unsigned size)
{
	return (model_bit(lo, size * 8 - 1) ? RFLAGS_SF : 0) | model_pf(lo);
}

/* DIV and IDIV leave all six flags unchanged; BT BTS BTR BTC leave the
 * undefined OF SF AF PF unchanged. Handlers merge only what is defined. */
#define MODEL_BT_DEFINED RFLAGS_CF

/*
 * Shifts and rotates with a nonzero masked count: returns the mask of the
 * flags the SDM leaves undefined for this case and puts the model's values
 * for them in *values. a: the operand before the operation; flags_in: the
 * guest's RFLAGS before it; reg_imm: a register destination with an
 * immediate count (Intel leaves OF alone for ROL/ROR of that form).
 *   SHL: AF 0; OF (count > 1) = a[msb] ^ a[msb-1]; CF (count >= width) =
 *        the last bit shifted out, 0 once every bit is gone.
 *   SHR: AF 0; OF (count > 1) = a[msb]; CF as for SHL.   SAR: AF 0, OF 0.
 *   ROL: OF (count > 1) = a[msb] ^ a[msb-1];  ROR: a[msb] ^ a[0]; unchanged
 *        for a register by an immediate.
 *   RCL: OF (count > 1) = a[msb] ^ a[msb-1];  RCR: a[msb] ^ CF in; both
 *        unchanged when the count modulo width + 1 is 0 (nothing rotates).
 */
static inline uint64_t model_shift_undefined(enum host_shift op, unsigned size, uint64_t a, unsigned count,
					     uint64_t flags_in, bool reg_imm, uint64_t *values)
{
	unsigned bits = size * 8, msb = model_bit(a, bits - 1), msb1 = model_bit(a, bits - 2);
	uint64_t undef = count > 1 ? RFLAGS_OF : 0;
	unsigned of = 0;
	switch (op) {
	case HOST_SHL:
	case HOST_SAL:
	case HOST_SHR: {
		bool left = op != HOST_SHR;
		undef |= RFLAGS_AF | (count >= bits ? RFLAGS_CF : 0);
		of = left ? msb ^ msb1 : msb;
		unsigned cf = count > bits ? 0 : model_bit(a, left ? bits - count : count - 1);
		*values = (of ? RFLAGS_OF : 0) | (cf ? RFLAGS_CF : 0);
		return undef;
	}
	case HOST_SAR:
		*values = 0;
		return undef | RFLAGS_AF;
	case HOST_ROL:
	case HOST_ROR:
		if (reg_imm) {
			*values = flags_in;
			return undef;
		}
		of = op == HOST_ROL ? msb ^ msb1 : msb ^ model_bit(a, 0);
		break;
	case HOST_RCL:
	case HOST_RCR:
		if (size < 4 && count % (bits + 1) == 0) {
			*values = flags_in;
			return undef;
		}
		of = op == HOST_RCL ? msb ^ msb1 : msb ^ (unsigned)(flags_in & RFLAGS_CF);
		break;
	}
	*values = of ? RFLAGS_OF : 0;
	return undef;
}

/* Sets the guest's flags after the shift or rotate in of a by a nonzero
 * masked count: the host instruction's flags (host) where the SDM defines
 * them, the model's elsewhere; rotates change only CF and OF. */
static inline void model_shift_set_flags(struct soft_cpu *cpu, const struct soft_insn *in, enum host_shift op,
					 unsigned size, uint64_t a, unsigned count, uint64_t host)
{
	bool rotate = op == HOST_ROL || op == HOST_ROR || op == HOST_RCL || op == HOST_RCR;
	bool reg_imm = in->op[0].kind != SOFT_OP_MEM && in->op[1].kind == SOFT_OP_IMM;
	uint64_t model, undef = model_shift_undefined(op, size, a & soft_size_mask(size), count, cpu->s.rflags,
						      reg_imm, &model);
	soft_set_flags(cpu, rotate ? RFLAGS_CF | RFLAGS_OF : SOFT_ARITH_FLAGS, (host & ~undef) | (model & undef));
}

/*
 * SHLD (left) / SHRD of a by count (masked, nonzero) with b's bits shifted
 * in: the result and all six flags, computed here whole because a 16-bit
 * count above 16 leaves the result itself undefined. The model shifts the
 * 48-bit a:b:a then (Intel's behaviour); AF is 0; OF (count > 1) is, as
 * for a count of 1, a[msb] ^ a[msb-1] for SHLD and a[msb] ^ b[0] for SHRD.
 */
static inline uint64_t model_shiftd(bool left, unsigned size, uint64_t a, uint64_t b, unsigned count,
				    uint64_t *flags)
{
	unsigned bits = size * 8;
	uint64_t mask = soft_size_mask(size);
	a &= mask, b &= mask;
	uint64_t r;
	unsigned cf;
	if (count > bits) { /* 16-bit operands only */
		uint64_t w = a << 32 | b << 16 | a;
		r = (left ? w << count >> 32 : w >> count) & mask;
		cf = model_bit(w, left ? 48 - count : count - 1);
	} else if (left) {
		unsigned __int128 w = ((unsigned __int128)a << bits | b) << count;
		r = (uint64_t)(w >> bits) & mask;
		cf = model_bit(a, bits - count);
	} else {
		unsigned __int128 w = ((unsigned __int128)b << bits | a) >> count;
		r = (uint64_t)w & mask;
		cf = model_bit(a, count - 1);
	}
	unsigned of = model_bit(a, bits - 1) ^ (left ? model_bit(a, bits - 2) : model_bit(b, 0));
	*flags = model_szp(r, size) | (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
	return r;
}

/* BSF/BSR: the index, with PF from it and the other five clear; a zero
 * source sets ZF and PF and leaves the destination (all of it) unchanged,
 * which the caller does. */
static inline uint64_t model_bitscan(bool reverse, uint64_t src, uint64_t *flags)
{
	if (!src) {
		*flags = RFLAGS_ZF | RFLAGS_PF;
		return 0;
	}
	uint64_t r = reverse ? 63u - (unsigned)__builtin_clzll(src) : (unsigned)__builtin_ctzll(src);
	*flags = model_pf(r);
	return r;
}

#endif
