/* SPDX-License-Identifier: MIT */
/*
 * Bit instructions: BT BTS BTR BTC, BSF BSR, POPCNT LZCNT TZCNT, BSWAP, BMI1
 * BLSI BLSMSK BLSR BEXTR, BMI2 BZHI PDEP PEXT MULX. SDM Vol. 2A/2B, the
 * instruction page of each.
 *
 * BT* run on the host for their result and CF; the undefined OF SF AF PF
 * stay as they were (the model's behaviour, model_flags.h). BSF/BSR and
 * POPCNT, LZCNT, TZCNT and the BMI instructions are computed in C (a host may
 * lack the latter; LZCNT/TZCNT would silently run as BSR/BSF); their
 * undefined flags are the model's: AF and PF cleared, SF cleared where
 * undefined (verified against Intel hosts in tests/unit/test_soft_alu.c).
 * BSF/BSR with a zero source leave the whole destination register unchanged
 * (no zero-extension of a 32-bit one), and BSWAP of a 16-bit register zeroes
 * it, both as on Intel.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"

/* ---- BT BTS BTR BTC ---- */

static void bit_test(struct soft_cpu *cpu, const struct soft_insn *in, enum host_bt op)
{
	bool writes = op != HOST_BT; /* BTS BTR BTC: read-modify-write */
	soft_lock_check(cpu, in, writes);
	const struct soft_operand *dst = &in->op[0];
	unsigned size = dst->size, bits = size * 8;
	uint64_t offset = soft_op_read(cpu, in, 1);
	uint64_t f = cpu->s.rflags;
	/* Changed: CF; undefined (kept by the model): OF SF AF PF; ZF is kept
	 * (SDM Vol. 2A, BT). */
	uint64_t changed = MODEL_BT_DEFINED;

	if (dst->kind == SOFT_OP_MEM && in->op[1].kind != SOFT_OP_IMM) {
		/* A register bit offset is signed and selects any operand-sized
		 * unit around the effective address (SDM Vol. 2A, BT, "Bit(BitBase,
		 * BitOffset)"); the address wraps at the address size. */
		int64_t soff = offset & (1ULL << (bits - 1)) ? (int64_t)(offset | ~soft_size_mask(size))
							     : (int64_t)offset;
		int64_t unit = soff >> (size == 2 ? 4 : size == 4 ? 5 : 6);
		uint64_t addr = (soft_ea(cpu, in, dst) + (uint64_t)unit * size) & soft_size_mask(in->addrsize);
		uint64_t v = writes ? soft_seg_read_rmw(cpu, dst->seg, addr, size) : soft_seg_read(cpu, dst->seg, addr, size);
		uint64_t r = host_bt(op, size, v, offset & (bits - 1), &f);
		if (writes)
			soft_seg_write(cpu, dst->seg, addr, size, r);
		soft_set_flags(cpu, changed, f);
		return;
	}
	uint64_t v = writes ? soft_op_read_rmw(cpu, in, 0) : soft_op_read(cpu, in, 0);
	uint64_t r = host_bt(op, size, v, offset & (bits - 1), &f);
	if (writes)
		soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, changed, f);
}

static void op_bt(struct soft_cpu *cpu, const struct soft_insn *in) { bit_test(cpu, in, HOST_BT); }
static void op_bts(struct soft_cpu *cpu, const struct soft_insn *in) { bit_test(cpu, in, HOST_BTS); }
static void op_btr(struct soft_cpu *cpu, const struct soft_insn *in) { bit_test(cpu, in, HOST_BTR); }
static void op_btc(struct soft_cpu *cpu, const struct soft_insn *in) { bit_test(cpu, in, HOST_BTC); }

/* ---- BSF BSR ---- */

static void bit_scan(struct soft_cpu *cpu, const struct soft_insn *in, bool reverse)
{
	soft_lock_check(cpu, in, false);
	uint64_t src = soft_op_read(cpu, in, 1) & soft_size_mask(in->op[0].size), f;
	uint64_t r = model_bitscan(reverse, src, &f);
	if (src)
		soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_bsf(struct soft_cpu *cpu, const struct soft_insn *in) { bit_scan(cpu, in, false); }
static void op_bsr(struct soft_cpu *cpu, const struct soft_insn *in) { bit_scan(cpu, in, true); }

/* ---- computed in C: results and flags ---- */

static uint64_t flag_if(bool cond, uint64_t flag)
{
	return cond ? flag : 0;
}

/* ZF and SF of a size-byte result. */
static uint64_t flags_zs(uint64_t r, unsigned size)
{
	return flag_if(r == 0, RFLAGS_ZF) | flag_if((r >> (size * 8 - 1)) & 1, RFLAGS_SF);
}

/* dst = fn(src): POPCNT LZCNT TZCNT BLSI BLSMSK BLSR, all with one source. */
enum bit_unary { BIT_POPCNT, BIT_LZCNT, BIT_TZCNT, BIT_BLSI, BIT_BLSMSK, BIT_BLSR };

static void bit_unary(struct soft_cpu *cpu, const struct soft_insn *in, enum bit_unary op)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t mask = soft_size_mask(size);
	uint64_t s = soft_op_read(cpu, in, 1) & mask;
	uint64_t r, f;
	switch (op) {
	case BIT_POPCNT:
		r = (uint64_t)__builtin_popcountll(s);
		f = flag_if(s == 0, RFLAGS_ZF);
		break;
	case BIT_LZCNT:
		r = s ? (uint64_t)(__builtin_clzll(s) - (64 - bits)) : bits;
		f = flag_if(s == 0, RFLAGS_CF) | flag_if(r == 0, RFLAGS_ZF);
		break;
	case BIT_TZCNT:
		r = s ? (uint64_t)__builtin_ctzll(s) : bits;
		f = flag_if(s == 0, RFLAGS_CF) | flag_if(r == 0, RFLAGS_ZF);
		break;
	case BIT_BLSI:
		r = -s & s & mask;
		f = flags_zs(r, size) | flag_if(s != 0, RFLAGS_CF);
		break;
	case BIT_BLSMSK:
		r = ((s - 1) ^ s) & mask;
		f = flag_if((r >> (bits - 1)) & 1, RFLAGS_SF) | flag_if(s == 0, RFLAGS_CF);
		break;
	default:
		r = (s - 1) & s & mask;
		f = flags_zs(r, size) | flag_if(s == 0, RFLAGS_CF);
		break;
	}
	soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, SOFT_ARITH_FLAGS, f);
}

static void op_popcnt(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_POPCNT); }
static void op_lzcnt(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_LZCNT); }
static void op_tzcnt(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_TZCNT); }
static void op_blsi(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_BLSI); }
static void op_blsmsk(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_BLSMSK); }
static void op_blsr(struct soft_cpu *cpu, const struct soft_insn *in) { bit_unary(cpu, in, BIT_BLSR); }

/* dst = fn(src1, src2) in Zydis operand order: BEXTR dst, src, ctl; BZHI dst,
 * src, index; PDEP/PEXT dst, src, mask. */
enum bit_binary { BIT_BEXTR, BIT_BZHI, BIT_PDEP, BIT_PEXT };

static uint64_t low_bits(unsigned n)
{
	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

static void bit_binary(struct soft_cpu *cpu, const struct soft_insn *in, enum bit_binary op)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t mask = soft_size_mask(size);
	uint64_t a = soft_op_read(cpu, in, 1) & mask, b = soft_op_read(cpu, in, 2) & mask;
	uint64_t r = 0, f = 0, changed = SOFT_ARITH_FLAGS;
	switch (op) {
	case BIT_BEXTR: {
		unsigned start = b & 0xff, len = (b >> 8) & 0xff;
		r = start < bits ? (a >> start) & low_bits(len) : 0;
		f = flag_if(r == 0, RFLAGS_ZF);
		break;
	}
	case BIT_BZHI: {
		unsigned n = b & 0xff;
		r = n < bits ? a & low_bits(n) : a;
		f = flags_zs(r, size) | flag_if(n > bits - 1, RFLAGS_CF);
		break;
	}
	case BIT_PDEP:
		for (uint64_t m = b, k = 1; m; m &= m - 1, k <<= 1)
			if (a & k)
				r |= m & -m;
		changed = 0;
		break;
	case BIT_PEXT:
		for (uint64_t m = b, k = 1; m; m &= m - 1, k <<= 1)
			if (a & m & -m)
				r |= k;
		changed = 0;
		break;
	}
	soft_op_write(cpu, in, 0, r);
	soft_set_flags(cpu, changed, f);
}

static void op_bextr(struct soft_cpu *cpu, const struct soft_insn *in) { bit_binary(cpu, in, BIT_BEXTR); }
static void op_bzhi(struct soft_cpu *cpu, const struct soft_insn *in) { bit_binary(cpu, in, BIT_BZHI); }
static void op_pdep(struct soft_cpu *cpu, const struct soft_insn *in) { bit_binary(cpu, in, BIT_PDEP); }
static void op_pext(struct soft_cpu *cpu, const struct soft_insn *in) { bit_binary(cpu, in, BIT_PEXT); }

/* MULX hi, lo, src: rDX * src, unsigned, no flags. When hi and lo name the same
 * register it receives the high half (SDM Vol. 2B, MULX), so lo goes first. */
static void op_mulx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t a = soft_reg_read(cpu, X86_RDX, size);
	unsigned __int128 p = (unsigned __int128)a * (soft_op_read(cpu, in, 2) & soft_size_mask(size));
	soft_op_write(cpu, in, 1, (uint64_t)p & soft_size_mask(size));
	soft_op_write(cpu, in, 0, (uint64_t)(p >> (size * 8)));
}

/* BSWAP: 16-bit operand undefined; Intel hosts clear the low word. */
static void op_bswap(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_lock_check(cpu, in, false);
	unsigned size = in->op[0].size;
	uint64_t v = soft_op_read(cpu, in, 0);
	uint64_t r = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) : 0;
	soft_op_write(cpu, in, 0, r);
}

void soft_register_bits(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_BT] = op_bt;
	table[ZYDIS_MNEMONIC_BTS] = op_bts;
	table[ZYDIS_MNEMONIC_BTR] = op_btr;
	table[ZYDIS_MNEMONIC_BTC] = op_btc;
	table[ZYDIS_MNEMONIC_BSF] = op_bsf;
	table[ZYDIS_MNEMONIC_BSR] = op_bsr;
	table[ZYDIS_MNEMONIC_POPCNT] = op_popcnt;
	table[ZYDIS_MNEMONIC_LZCNT] = op_lzcnt;
	table[ZYDIS_MNEMONIC_TZCNT] = op_tzcnt;
	table[ZYDIS_MNEMONIC_BLSI] = op_blsi;
	table[ZYDIS_MNEMONIC_BLSMSK] = op_blsmsk;
	table[ZYDIS_MNEMONIC_BLSR] = op_blsr;
	table[ZYDIS_MNEMONIC_BEXTR] = op_bextr;
	table[ZYDIS_MNEMONIC_BZHI] = op_bzhi;
	table[ZYDIS_MNEMONIC_PDEP] = op_pdep;
	table[ZYDIS_MNEMONIC_PEXT] = op_pext;
	table[ZYDIS_MNEMONIC_MULX] = op_mulx;
	table[ZYDIS_MNEMONIC_BSWAP] = op_bswap;
}
