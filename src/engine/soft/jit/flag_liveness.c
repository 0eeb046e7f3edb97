/* SPDX-License-Identifier: MIT */
/*
 * Flag liveness over a block, backwards from its end (as blink's
 * GetNeededFlags and QEMU's lazy condition codes serve): which arithmetic
 * flags something after each instruction may read. Every exit, handler call
 * and fault point (a memory access's slow path) may read them all, so only
 * flags that a pure instruction overwrites before such a point are dead.
 * The translator then skips computing dead flags (shifts, IMUL) and saving
 * them across a memory access's TLB lookup (translate.c).
 */
#include "engine/soft/interp/model_flags.h"
#include "engine/soft/jit/translate.h"

/* A pure instruction is one the translator runs as host code that can
 * neither fault, leave the block nor call a handler; use: the flags it
 * reads, def: those it always writes (the model's undefined ones too). */
static bool pure_flags(const struct soft_insn *in, uint32_t live_out, uint32_t *use, uint32_t *def)
{
	*use = *def = 0;
	if (shift_cl_form(in))
		return !live_out; /* count 0 writes no flag: def stays empty */
	uint32_t d;
	int cc;
	if (alu_reg_form(in)) {
		*def = SOFT_ARITH_FLAGS;
		if (in->mnemonic == ZYDIS_MNEMONIC_ADC || in->mnemonic == ZYDIS_MNEMONIC_SBB)
			*use = RFLAGS_CF;
		return true;
	}
	if (unary_reg_form(in, &d) || shift_form(in, &d) >= 0) {
		*def = d;
		return true;
	}
	if (bt_form(in)) {
		*def = RFLAGS_CF;
		return true;
	}
	if (imul_form(in) || bitscan_form(in)) {
		*def = SOFT_ARITH_FLAGS;
		return true;
	}
	if ((cc = setcc_cmov_form(in)) >= 0) {
		*use = cond_flags((unsigned)cc);
		return true;
	}
	return is_nop(in) || mov_reg_form(in) || (extend_form(in) && in->op[1].kind != SOFT_OP_MEM) || lea_form(in) ||
	       misc_form(in);
}

void flag_liveness(struct tr *t)
{
	uint32_t live = SOFT_ARITH_FLAGS; /* the block's end is an exit */
	for (unsigned i = t->n; i-- > 0;) {
		uint32_t use, def;
		t->live[i] = live;
		t->pure[i] = pure_flags(&t->b->insns[i], live, &use, &def);
		live = t->pure[i] ? (live & ~def) | use : SOFT_ARITH_FLAGS;
	}
}
