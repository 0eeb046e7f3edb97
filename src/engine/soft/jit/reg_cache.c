/* SPDX-License-Identifier: MIT */
/*
 * Guest registers in host registers within a block. Each block gives up to
 * eight of the guest registers it uses most a host register of R8..R15 for
 * its whole length. A cached register is loaded on its first use (loaded)
 * and written back (dirty) only where something outside the host code can
 * see cpu->s.gpr: before a handler call or a slow path, at every exit, and
 * before a back-edge to the block's start, which begins with nothing
 * loaded. After a handler every cached register is stale (the handler may
 * have written it, and R8..R11 are the C ABI's scratch registers): it is
 * loaded again on its next use; a slow path reloads what the fast path had
 * loaded, so both meet in one state. A block that branches back to its own
 * start loads every cached register before the loop's head instead, and the
 * back-edge reloads whatever a handler made stale: the loop then keeps its
 * registers in host registers from one iteration to the next.
 *
 * AH..BH have no host register counterpart: an instruction naming one
 * works on cpu->s.gpr for that register (written back and forgotten first).
 */
#include "engine/soft/jit/translate.h"

#define CACHE_REGS 8
#define HOST_FIRST 8 /* R8 */

static void count_use(unsigned *count, unsigned reg, unsigned n)
{
	if (reg < 16)
		count[reg] += n;
}

void regs_assign(struct tr *t)
{
	unsigned count[16] = { 0 };
	uint64_t rip = t->b->jit_rip;
	t->preload = false;
	for (unsigned i = 0; i < t->n; i++) {
		const struct soft_insn *in = &t->b->insns[i];
		rip += in->len;
		if (in->nops == 1 && in->op[0].kind == SOFT_OP_IMM && in->mnemonic != ZYDIS_MNEMONIC_CALL &&
		    ((rip + in->op[0].imm) & soft_size_mask(in->opsize)) == t->b->jit_rip)
			t->preload = true; /* a relative branch back to the start */
		for (unsigned k = 0; k < in->nops; k++) {
			const struct soft_operand *op = &in->op[k];
			if (op->kind == SOFT_OP_REG) {
				count_use(count, op->reg, 1);
			} else if (op->kind == SOFT_OP_MEM) {
				count_use(count, op->base, 1);
				count_use(count, op->index, 1);
			}
		}
		if (in->mnemonic == ZYDIS_MNEMONIC_PUSH || in->mnemonic == ZYDIS_MNEMONIC_POP ||
		    in->mnemonic == ZYDIS_MNEMONIC_CALL || in->mnemonic == ZYDIS_MNEMONIC_RET)
			count_use(count, X86_RSP, 2);
	}
	memset(t->host, H_NONE, sizeof(t->host));
	t->assigned = 0;
	for (unsigned h = 0; h < CACHE_REGS; h++) {
		unsigned best = 16;
		for (unsigned g = 0; g < 16; g++)
			if (t->host[g] == H_NONE && count[g] >= 2 && (best == 16 || count[g] > count[best]))
				best = g;
		if (best == 16)
			break;
		t->host[best] = (uint8_t)(HOST_FIRST + h);
		t->assigned |= (uint16_t)(1u << best);
	}
	t->loaded = t->dirty_regs = t->nocache = 0;
}

static struct rm slot_of(unsigned g)
{
	return rm_mem(H_RBX, GPR_OFF(g));
}

static bool cached(const struct tr *t, unsigned g)
{
	return g < 16 && t->host[g] != H_NONE && !(t->nocache & (1u << g));
}

void regs_insn_begin(struct tr *t)
{
	const struct soft_insn *in = t->in;
	uint16_t high = 0;
	for (unsigned k = 0; k < in->nops; k++)
		if (in->op[k].kind == SOFT_OP_REG8H)
			high |= (uint16_t)(1u << in->op[k].reg);
	t->nocache = 0;
	regs_write_back(t, (uint16_t)(t->dirty_regs & high));
	t->loaded &= (uint16_t)~high;
	t->dirty_regs &= (uint16_t)~high;
	t->nocache = high;
}

struct rm gpr_read64(struct tr *t, unsigned g)
{
	if (!cached(t, g))
		return slot_of(g);
	if (!(t->loaded & (1u << g))) {
		emit_load(&t->e, 8, t->host[g], slot_of(g));
		t->loaded |= (uint16_t)(1u << g);
	}
	return rm_reg(t->host[g]);
}

struct rm gpr_slot(struct tr *t, const struct soft_operand *op)
{
	if (op->kind == SOFT_OP_REG8H)
		return rm_mem(H_RBX, GPR_OFF(op->reg) + 1);
	return gpr_read64(t, op->reg);
}

struct rm gpr_dst(struct tr *t, const struct soft_operand *op, unsigned size)
{
	if (op->kind == SOFT_OP_REG8H || !cached(t, op->reg))
		return gpr_slot(t, op);
	if (size < 4)
		gpr_read64(t, op->reg); /* the rest of the register stays */
	t->loaded |= (uint16_t)(1u << op->reg);
	t->dirty_regs |= (uint16_t)(1u << op->reg);
	return rm_reg(t->host[op->reg]);
}

struct rm gpr_rmw64(struct tr *t, unsigned g)
{
	struct rm r = gpr_read64(t, g);
	if (r.is_reg)
		t->dirty_regs |= (uint16_t)(1u << g);
	return r;
}

void regs_write_back(struct tr *t, uint16_t regs)
{
	for (unsigned g = 0; g < 16; g++)
		if (regs & (1u << g))
			emit_store(&t->e, 8, slot_of(g), t->host[g]);
	t->dirty_regs &= (uint16_t)~regs;
}

void regs_reload(struct tr *t, uint16_t regs)
{
	for (unsigned g = 0; g < 16; g++)
		if (regs & (1u << g))
			emit_load(&t->e, 8, t->host[g], slot_of(g));
}

void regs_forget(struct tr *t)
{
	t->loaded = t->dirty_regs = 0;
}
