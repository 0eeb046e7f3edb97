/* SPDX-License-Identifier: MIT */
/*
 * Translated SSE integer operations and moves: the same host instruction on
 * the guest's XMM values, with the CR0/CR4 checks inline and the handler as
 * the slow path.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/interp/sse.h"
#include "engine/soft/jit/translate.h"

/* ---- SSE integer and move forms ---- */


enum sse_kind {
	SSE_OP, /* xmm, xmm/m128: the operation itself */
	SSE_OP_IMM, /* the same with an imm8 */
	SSE_MOVE, /* MOVDQA MOVDQU MOVAPS MOVUPS: xmm <- xmm/m128, m128 <- xmm */
	SSE_MOVMSK, /* PMOVMSKB r32, xmm */
	SSE_GPR, /* MOVD/MOVQ between an XMM register and a general register */
	SSE_STRI, /* PCMPISTRI xmm, xmm/m128, imm8: ECX and the six arithmetic flags */
};

struct sse_form {
	uint16_t mnemonic;
	uint8_t prefix; /* mandatory prefix (0: none) */
	uint8_t map; /* the opcode map after 0F: 0, 0x38 or 0x3a */
	uint8_t kind;
	bool aligned; /* a memory operand must be 16-byte aligned (#GP) */
	uint8_t feature; /* enum sse_feature the host must have (else the handler raises #UD) */
};

static const struct sse_form sse_forms[] = {
	{ ZYDIS_MNEMONIC_PCMPEQB, 0x66, 0, SSE_OP, true }, { ZYDIS_MNEMONIC_PCMPEQW, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PCMPEQD, 0x66, 0, SSE_OP, true }, { ZYDIS_MNEMONIC_PCMPGTB, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PXOR, 0x66, 0, SSE_OP, true },	   { ZYDIS_MNEMONIC_POR, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PAND, 0x66, 0, SSE_OP, true },	   { ZYDIS_MNEMONIC_PANDN, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PMINUB, 0x66, 0, SSE_OP, true },  { ZYDIS_MNEMONIC_PMAXUB, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PADDB, 0x66, 0, SSE_OP, true },   { ZYDIS_MNEMONIC_PSUBB, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PADDD, 0x66, 0, SSE_OP, true },   { ZYDIS_MNEMONIC_PSUBD, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PADDQ, 0x66, 0, SSE_OP, true },   { ZYDIS_MNEMONIC_PSUBQ, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PUNPCKLBW, 0x66, 0, SSE_OP, true }, { ZYDIS_MNEMONIC_PUNPCKLWD, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PUNPCKLDQ, 0x66, 0, SSE_OP, true }, { ZYDIS_MNEMONIC_PUNPCKLQDQ, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PUNPCKHBW, 0x66, 0, SSE_OP, true }, { ZYDIS_MNEMONIC_PUNPCKHQDQ, 0x66, 0, SSE_OP, true },
	{ ZYDIS_MNEMONIC_PSHUFB, 0x66, 0x38, SSE_OP, true, SSE_F_SSSE3 },  { ZYDIS_MNEMONIC_PSHUFD, 0x66, 0, SSE_OP_IMM, true },
	{ ZYDIS_MNEMONIC_PMOVMSKB, 0x66, 0, SSE_MOVMSK, false },
	{ ZYDIS_MNEMONIC_MOVDQA, 0x66, 0, SSE_MOVE, true }, { ZYDIS_MNEMONIC_MOVDQU, 0xf3, 0, SSE_MOVE, false },
	{ ZYDIS_MNEMONIC_MOVAPS, 0, 0, SSE_MOVE, true },   { ZYDIS_MNEMONIC_MOVUPS, 0, 0, SSE_MOVE, false },
	{ ZYDIS_MNEMONIC_MOVD, 0x66, 0, SSE_GPR, false },  { ZYDIS_MNEMONIC_MOVQ, 0x66, 0, SSE_GPR, false },
	{ ZYDIS_MNEMONIC_PCMPISTRI, 0x66, 0x3a, SSE_STRI, false, SSE_F_SSE42 },
};

/* [prefix] [REX.W] 0F [38] op ModRM: an SSE instruction on host registers/memory. */
static void emit_sse(struct emit *e, uint8_t prefix, uint8_t map, uint8_t op, bool rexw, unsigned reg, struct rm rm)
{
	if (prefix)
		emit_byte(e, prefix);
	uint8_t bytes[3] = { 0x0f, map, op };
	if (!map)
		bytes[1] = op;
	emit_op(e, rexw ? 8 : 4, bytes, map ? 3 : 2, reg, rm);
}

static struct rm xmm_slot(unsigned reg)
{
	return rm_mem(H_RBX, OFF(s.fpu.xmm) + 16 * (int32_t)reg);
}

/* movdqu xmmN, m / movdqu m, xmmN */
/* An XMM register operand's slot, or the guest memory at host RSI once looked up. */
static struct rm xmm_operand(const struct soft_operand *op)
{
	return op->kind == SOFT_OP_MEM ? rm_mem(H_RSI, 0) : xmm_slot(op->reg);
}

static void emit_movdqu_load(struct emit *e, unsigned xmm, struct rm m)
{
	emit_sse(e, 0xf3, 0, 0x6f, false, xmm, m);
}

static void emit_movdqu_store(struct emit *e, struct rm m, unsigned xmm)
{
	emit_sse(e, 0xf3, 0, 0x7f, false, xmm, m);
}

static const struct sse_form *sse_form_of(const struct soft_insn *in)
{
	for (size_t i = 0; i < sizeof(sse_forms) / sizeof(sse_forms[0]); i++)
		if (sse_forms[i].mnemonic == in->mnemonic)
			return &sse_forms[i];
	return NULL;
}

/*
 * The SSE forms of the table above run as the same host instruction on the guest's XMM
 * values (integer operations and moves: MXCSR plays no part). CR0.EM,
 * CR0.TS and CR4.OSFXSR are tested inline; when they call for #UD or #NM,
 * or a memory operand misses the soft TLB, crosses a page or is misaligned
 * for an aligned form, the handler runs instead (and raises).
 */
bool native_sse(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct sse_form *f = sse_form_of(in);
	if (!f || (in->flags & SOFT_INSN_LOCK) || in->nops < 2 || !sse_host_has((enum sse_feature)f->feature))
		return false;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	const struct soft_operand *m = d->kind == SOFT_OP_MEM ? d : s->kind == SOFT_OP_MEM ? s : NULL;
	switch (f->kind) {
	case SSE_OP:
		if (in->nops != 2 || d->kind != SOFT_OP_XMM || (s->kind != SOFT_OP_XMM && s->kind != SOFT_OP_MEM))
			return false;
		break;
	case SSE_OP_IMM:
	case SSE_STRI:
		if (in->nops != 3 || d->kind != SOFT_OP_XMM || (s->kind != SOFT_OP_XMM && s->kind != SOFT_OP_MEM) ||
		    in->op[2].kind != SOFT_OP_IMM)
			return false;
		break;
	case SSE_MOVE:
		if (in->nops != 2 || !((d->kind == SOFT_OP_XMM && (s->kind == SOFT_OP_XMM || s->kind == SOFT_OP_MEM)) ||
				       (d->kind == SOFT_OP_MEM && s->kind == SOFT_OP_XMM)))
			return false;
		break;
	case SSE_MOVMSK:
		if (in->nops != 2 || d->kind != SOFT_OP_REG || s->kind != SOFT_OP_XMM)
			return false;
		break;
	default: /* SSE_GPR */
		if (in->nops != 2 || !((d->kind == SOFT_OP_XMM && s->kind == SOFT_OP_REG) ||
				       (d->kind == SOFT_OP_REG && s->kind == SOFT_OP_XMM)) ||
		    (in->opcode != 0x6e && in->opcode != 0x7e))
			return false;
		break;
	}
	if (m && (m->size != 16 || !ea_form(in, m)))
		return false;

	struct emit *e = &t->e;
	flags_clobbered(t);
	struct stub *slow = new_stub(t, STUB_SLOW);
	emit_op1(e, 1, 0xf6, 0, CPU_MEM(s.cr0)); /* test byte [cr0], EM | TS */
	emit_byte(e, (uint8_t)(CR0_EM | CR0_TS));
	stub_from(t, slow, emit_jcc(e, 5 /* nz */));
	emit_op1(e, 1, 0xf6, 0, rm_mem(H_RBX, OFF(s.cr4) + 1)); /* test byte [cr4 + 1], OSFXSR >> 8 */
	emit_byte(e, (uint8_t)(CR4_OSFXSR >> 8));
	stub_from(t, slow, emit_jcc(e, 4 /* z */));
	struct stub *miss = NULL;
	if (m) {
		/* two more fields: the page-crossing test and the tag compare */
		miss = new_stub(t, STUB_SLOW);
		emit_mem_lookup(t, m, 16, m == d, miss);
		if (f->aligned) {
			emit_op1(e, 4, 0xf7, 0, rm_reg(H_RSI)); /* test esi, 15 */
			emit_u32(e, 15);
			stub_from(t, miss, emit_jcc(e, 5));
		}
	}
	switch (f->kind) {
	case SSE_OP:
	case SSE_OP_IMM:
		emit_movdqu_load(e, 0, xmm_slot(d->reg));
		emit_movdqu_load(e, 1, xmm_operand(s));
		emit_sse(e, f->prefix, f->map, in->opcode, false, 0, rm_reg(1));
		if (f->kind == SSE_OP_IMM)
			emit_byte(e, (uint8_t)in->op[2].imm);
		emit_movdqu_store(e, xmm_slot(d->reg), 0);
		break;
	case SSE_STRI: {
		emit_movdqu_load(e, 0, xmm_slot(d->reg));
		emit_movdqu_load(e, 1, xmm_operand(s));
		emit_sse(e, f->prefix, f->map, in->opcode, false, 0, rm_reg(1)); /* writes ECX */
		emit_byte(e, (uint8_t)in->op[2].imm);
		struct soft_operand ecx = { .kind = SOFT_OP_REG, .reg = X86_RCX, .size = 4 };
		store_gpr_from(t, &ecx, 4, H_RCX);
		flags_written(t, SOFT_ARITH_FLAGS, 0);
		break;
	}
	case SSE_MOVE:
		emit_movdqu_load(e, 0, xmm_operand(s));
		emit_movdqu_store(e, xmm_operand(d), 0);
		break;
	case SSE_MOVMSK:
		emit_movdqu_load(e, 0, xmm_slot(s->reg));
		emit_sse(e, 0x66, 0, 0xd7, false, H_RAX, rm_reg(0)); /* pmovmskb eax, xmm0 */
		store_gpr(t, d, d->size);
		break;
	default: /* SSE_GPR */
		if (d->kind == SOFT_OP_XMM) {
			emit_sse(e, 0x66, 0, 0x6e, s->size == 8, 0, gpr_slot(t, s)); /* movd/movq xmm0, [gpr] */
			emit_movdqu_store(e, xmm_slot(d->reg), 0);
		} else {
			emit_movdqu_load(e, 0, xmm_slot(s->reg));
			emit_sse(e, 0x66, 0, 0x7e, d->size == 8, 0, rm_reg(H_RAX)); /* movd/movq rax, xmm0 */
			store_gpr(t, d, d->size);
		}
		break;
	}
	if (miss)
		slow_join(t, miss);
	slow_join(t, slow);
	return true;
}

