/* SPDX-License-Identifier: MIT */
/*
 * MMX state (SDM Vol. 1 ch. 9; Vol. 3A §13.1): EMMS. The MMX registers alias
 * the x87 mantissas (mmx_get/mmx_set in interp/sse.h); every MMX instruction
 * but EMMS sets TOP to 0 and all tags valid (mmx_transition), and a write
 * sets the register's exponent/sign to all ones. The MMX arithmetic lives in
 * sse_int.c and the MMX moves in sse_move.c, sharing the SSE handlers.
 */
#include "engine/soft/interp/sse.h"

/* EMMS: every tag empty (abridged tag word 0). #UD with CR0.EM, #NM with
 * CR0.TS, #MF on a pending x87 exception. */
static void op_emms(struct soft_cpu *cpu, const struct soft_insn *in)
{
	sse_check(cpu, in, false, true);
	cpu->s.fpu.ftw = 0;
}

void mmx_register_misc(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_EMMS] = op_emms;
}
