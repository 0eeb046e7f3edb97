/* SPDX-License-Identifier: MIT */
/*
 * Block translation: a decoded block (struct soft_block) becomes one host
 * function (jit_block_fn). RBX holds the vCPU for the whole function; guest
 * registers live in cpu->s.gpr and are loaded and stored around each
 * instruction. Three kinds of instruction:
 *
 *  - native: integer ALU, MOV, LEA, MOVZX/MOVSX, INC/DEC/NEG/NOT on registers
 *    and immediates, and Jcc/JMP rel: the same host instruction on the guest
 *    values. Arithmetic flags stay in the host's RFLAGS until something
 *    needs them in cpu->s.rflags (lazy flags, below).
 *  - memory (64-bit code): the same, with the operand's linear address
 *    looked up inline in the soft TLB; a miss, a page-crossing access or a
 *    page without the right tag goes to an out-of-line slow path that runs
 *    the whole instruction through its interpreter handler.
 *  - helper: everything else calls its interpreter handler exactly as the
 *    interpreter's loop does (insn_rip and s.rip set first), then leaves the
 *    block if the handler branched or ended the block.
 *
 * Lazy flags: the translator tracks which arithmetic flags the host RFLAGS
 * holds for the guest (valid) and which of those cpu->s.rflags lacks
 * (dirty). Flags are written back (materialised) before anything that reads
 * cpu->s.rflags or clobbers the host flags, and at block exits; Jcc, ADC and
 * SBB read valid host flags directly. Undefined flags the model clears (AF
 * after logic instructions) are cleared when written back.
 *
 * Precise state: a fault can only come from a helper or a slow path, which
 * see exactly the interpreter's state (registers are always in memory,
 * flags are materialised first, insn_rip and s.rip are set). Translated
 * code therefore never needs to recover state.
 */
#include <stddef.h>
#include <stdlib.h>
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/jit/emit.h"
#include "engine/soft/jit/jit.h"

#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))
#define GPR_OFF(r) (OFF(s.gpr) + 8 * (int32_t)(r))
#define CPU_MEM(field) rm_mem(H_RBX, OFF(field))

#define MAX_STUBS 96
/* Room one instruction may need in the main body or its stubs. */
#define INSN_ROOM 512

enum stub_kind {
	STUB_EXIT, /* leave: store s.rip (if has_target), insn_rip, fix the counts */
	STUB_SLOW, /* a memory instruction's slow path: its handler, then back to join */
	STUB_LOOP, /* a branch back to the block's start: stay inside unless attention */
};

struct stub {
	uint8_t kind;
	bool has_target, load_flags;
	bool lookup; /* an indirect branch in 64-bit code: try the jump table */
	uint8_t nfield;
	uint8_t *field[3]; /* rel32 fields that jump here */
	unsigned index; /* instruction in the block */
	uint64_t rip, next, target;
	uint32_t dirty, undef; /* flags to write back on the way out */
	const struct soft_insn *in;
	uint8_t *join;
};

struct tr {
	struct emit e;
	struct soft_cpu *cpu;
	const struct soft_block *b;
	unsigned n; /* instructions in the block */
	unsigned view;
	bool long64; /* 64-bit code: memory forms translated */
	uint64_t wrap; /* rip mask outside 64-bit mode */
	/* the instruction being translated */
	const struct soft_insn *in;
	unsigned index;
	uint64_t rip, next;
	bool rip_stored; /* s.rip already holds the address to continue at */
	/* lazy flags */
	uint32_t valid, dirty, undef;
	uint8_t *body; /* start of the loop body (after the prologue) */
	struct stub stubs[MAX_STUBS];
	unsigned nstubs;
	bool fail;
};

/* ---- emission helpers ---- */

static struct rm gpr_slot(const struct soft_operand *op)
{
	return rm_mem(H_RBX, GPR_OFF(op->reg) + (op->kind == SOFT_OP_REG8H ? 1 : 0));
}

/* Stores host RAX into the guest register of op with x86's merge rules
 * (a 32-bit write clears the upper half: RAX already holds zeros there). */
static void store_gpr(struct tr *t, const struct soft_operand *op, unsigned size)
{
	emit_store(&t->e, size == 4 ? 8 : size, gpr_slot(op), H_RAX);
}

static void store_u64(struct tr *t, struct rm m, uint64_t v)
{
	emit_store_imm64(&t->e, m, v, H_RAX);
}

static struct stub *new_stub(struct tr *t, enum stub_kind kind)
{
	if (t->nstubs == MAX_STUBS) {
		t->fail = true;
		return &t->stubs[0];
	}
	struct stub *s = &t->stubs[t->nstubs++];
	*s = (struct stub){ .kind = (uint8_t)kind, .index = t->index, .rip = t->rip, .next = t->next, .in = t->in,
			    .dirty = t->dirty, .undef = t->undef };
	return s;
}

/* ---- lazy flags ---- */

/* Writes the dirty flags of the host RFLAGS into cpu->s.rflags. Clobbers RAX and the host flags. */
static void emit_materialise(struct emit *e, uint32_t dirty, uint32_t undef)
{
	if (!dirty)
		return;
	emit_byte(e, 0x9c); /* pushfq */
	emit_byte(e, 0x58); /* pop rax */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RAX), dirty & ~undef);
	emit_alu_imm(e, ALU_AND, 8, CPU_MEM(s.rflags), (uint64_t)(int64_t)(int32_t)~dirty);
	emit_alu_store(e, ALU_OR, 8, CPU_MEM(s.rflags), H_RAX);
}

static void materialise(struct tr *t)
{
	emit_materialise(&t->e, t->dirty, t->undef);
	if (t->dirty)
		t->valid = 0;
	t->dirty = t->undef = 0;
}

/* The host flags are about to be clobbered. */
static void flags_clobbered(struct tr *t)
{
	materialise(t);
	t->valid = 0;
}

/* Loads the guest's arithmetic flags from cpu->s.rflags into the host RFLAGS:
 * OF through an 8-bit add that overflows exactly when it is set, the rest
 * with SAHF. Clobbers RAX, RCX. */
static void emit_load_flags(struct emit *e)
{
	emit_load(e, 4, H_RAX, CPU_MEM(s.rflags));
	emit_load(e, 4, H_RCX, rm_reg(H_RAX));
	emit_shift_imm(e, 5, 4, rm_reg(H_RCX), 4); /* OF (bit 11) to bit 7 */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), 0x80);
	emit_alu_imm(e, ALU_ADD, 1, rm_reg(H_RCX), 0x80); /* -128 + -128 overflows, 0 + -128 does not */
	emit_byte(e, 0x88); /* mov ah, al */
	emit_byte(e, 0xc4);
	emit_byte(e, 0x9e); /* sahf */
}

/* Makes the host flags hold every flag in need. */
static void need_flags(struct tr *t, uint32_t need)
{
	if ((t->valid & need) == need)
		return;
	materialise(t);
	emit_load_flags(&t->e);
	t->valid = SOFT_ARITH_FLAGS;
}

/* An instruction wrote the flags def on the host (undef among them cleared on write-back). */
static void flags_written(struct tr *t, uint32_t def, uint32_t undef)
{
	t->valid |= def;
	t->dirty |= def;
	t->undef = (t->undef & ~def) | undef;
}

/* The flags condition code cc reads. */
static uint32_t cond_flags(unsigned cc)
{
	static const uint32_t f[8] = {
		RFLAGS_OF, RFLAGS_CF, RFLAGS_ZF, RFLAGS_CF | RFLAGS_ZF, RFLAGS_SF, RFLAGS_PF,
		RFLAGS_SF | RFLAGS_OF, RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF,
	};
	return f[(cc >> 1) & 7];
}

/* ---- leaving the block ---- */

/* Instruction counts: the prologue adds the whole block; leaving after
 * instruction index subtracts those not run. */
static void emit_uncount(struct emit *e, unsigned not_run)
{
	if (!not_run)
		return;
	emit_alu_imm(e, ALU_SUB, 8, CPU_MEM(insn_count), not_run);
	emit_alu_imm(e, ALU_SUB, 8, CPU_MEM(jit_insns), not_run);
}

static void emit_return(struct emit *e, uint64_t next)
{
	emit_mov_r64_imm(e, H_RAX, next);
	emit_byte(e, 0x5b); /* pop rbx */
	emit_byte(e, 0xc3); /* ret */
}

/* Jumps to an attention exit unless the vCPU may go on running translated
 * code: a kick (the machine wants the thread; NMIs kick too), INTR up, or
 * the instruction limit reached. Fills out[3] with the jumps to patch. */
static void emit_attention(struct emit *e, uint8_t *out[3])
{
	emit_alu_imm(e, ALU_CMP, 4, CPU_MEM(kicked), 0);
	out[0] = emit_jcc(e, 5);
	emit_alu_imm(e, ALU_CMP, 4, CPU_MEM(intr_line), 0);
	out[1] = emit_jcc(e, 5);
	emit_load(e, 8, H_RAX, CPU_MEM(insn_count));
	emit_alu_load(e, ALU_CMP, 8, H_RAX, CPU_MEM(insn_limit));
	out[2] = emit_jcc(e, 3 /* ae */);
}

/* A RIP-relative operand ([rip + rel32], ModRM 00 reg 101): the returned
 * rel32 field is patched to the address it refers to. */
static uint8_t *emit_riprel(struct emit *e, bool rexw, uint8_t opcode, unsigned reg)
{
	if (rexw)
		emit_byte(e, 0x48);
	emit_byte(e, opcode);
	emit_byte(e, (uint8_t)((reg & 7) << 3 | 5));
	uint8_t *field = e->p;
	emit_u32(e, 0);
	return field;
}

/* Leaves for s.rip, through the jump table when the block there is
 * translated for this view and nothing moved the chain epoch since. */
static void emit_jump_lookup(struct tr *t, const struct stub *s)
{
	struct emit *e = &t->e;
	uint8_t *out[6];
	emit_attention(e, out);
	emit_load(e, 8, H_RAX, CPU_MEM(s.rip));
	emit_load(e, 8, H_RCX, rm_reg(H_RAX));
	emit_shift_imm(e, 5, 8, rm_reg(H_RCX), 12);
	emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RAX));
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), (1u << JIT_JUMP_BITS) - 1);
	emit_shift_imm(e, 4, 4, rm_reg(H_RCX), 5); /* sizeof(struct jit_jump) */
	emit_mov_r64_imm(e, H_RDX, (uint64_t)(uintptr_t)t->cpu->jit->jump);
	emit_alu_load(e, ALU_CMP, 8, H_RAX, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, rip)));
	out[3] = emit_jcc(e, 5);
	emit_load(e, 8, H_RAX, CPU_MEM(chain_epoch));
	emit_alu_load(e, ALU_CMP, 8, H_RAX, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, epoch)));
	out[4] = emit_jcc(e, 5);
	emit_alu_imm(e, ALU_CMP, 8, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, key)), JIT_JUMP_KEY(t->view));
	out[5] = emit_jcc(e, 5);
	emit_op1(e, 4, 0xff, 4, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, code))); /* jmp [entry.code] */
	for (unsigned i = 0; i < 6; i++)
		emit_patch(e, out[i], e->p);
	emit_return(e, s->next);
}

static void emit_exit(struct tr *t, const struct stub *s)
{
	struct emit *e = &t->e;
	emit_materialise(e, s->dirty, s->undef);
	if (s->has_target)
		store_u64(t, CPU_MEM(s.rip), s->target);
	store_u64(t, CPU_MEM(insn_rip), s->rip);
	emit_uncount(e, t->n - (s->index + 1));
	if (!s->has_target && s->lookup) {
		emit_jump_lookup(t, s);
		return;
	}
	if (!s->has_target) {
		emit_return(e, s->next);
		return;
	}
	/* A direct branch: once the loop has seen where it leads, the link
	 * slot below holds that block's code and the chain epoch it is valid
	 * in (struct jit_link); until then, or once the epoch moved on (a TLB
	 * flush or a code write), the loop is asked to fill it. */
	uint8_t *out[3], *epoch, *code, *slot_ref, *stale;
	emit_attention(e, out);
	epoch = emit_riprel(e, true, 0x8b, H_RAX); /* mov rax, [slot.epoch] */
	emit_alu_load(e, ALU_CMP, 8, H_RAX, CPU_MEM(chain_epoch));
	stale = emit_jcc(e, 5);
	code = emit_riprel(e, false, 0xff, 4); /* jmp [slot.code] */
	for (unsigned i = 0; i < 3; i++)
		emit_patch(e, out[i], e->p);
	emit_patch(e, stale, e->p);
	slot_ref = emit_riprel(e, true, 0x8d, H_RAX); /* lea rax, [slot] */
	emit_store(e, 8, CPU_MEM(jit_link), H_RAX);
	emit_return(e, s->next);
	while ((uintptr_t)e->p & 7)
		emit_byte(e, 0xcc);
	emit_patch(e, epoch, e->p);
	emit_patch(e, slot_ref, e->p);
	emit_u64(e, UINT64_MAX); /* never an epoch: not linked yet */
	emit_patch(e, code, e->p);
	emit_u64(e, 0);
	emit_u64(e, s->target);
}

/* Calls the instruction's interpreter handler as the interpreter's loop does. */
static void emit_handler_call(struct tr *t, const struct soft_insn *in)
{
	struct emit *e = &t->e;
	store_u64(t, CPU_MEM(insn_rip), t->rip);
	store_u64(t, CPU_MEM(s.rip), t->next);
	emit_mov_imm(e, 4, CPU_MEM(jit_fault_uncount), t->n - (t->index + 1));
	emit_load(e, 8, H_RDI, rm_reg(H_RBX));
	emit_mov_r64_imm(e, H_RSI, (uint64_t)(uintptr_t)in);
	emit_call_abs(e, (const void *)in->fn);
	emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(jit_helper_calls), 1);
}

/* JMP or CALL through a register or memory, near. */
static bool is_near_indirect(const struct soft_insn *in)
{
	return (in->mnemonic == ZYDIS_MNEMONIC_JMP || in->mnemonic == ZYDIS_MNEMONIC_CALL) && in->nops == 1 &&
	       (in->op[0].kind == SOFT_OP_REG || in->op[0].kind == SOFT_OP_MEM) && in->fn != soft_sys_far_branch;
}

/* After a handler: leave unless it went on to the next instruction and kept the block. */
static void emit_handler_check(struct tr *t, bool always_leave)
{
	struct emit *e = &t->e;
	struct stub *s = new_stub(t, STUB_EXIT);
	s->dirty = s->undef = 0;
	s->lookup = t->long64 && is_near_indirect(t->in);
	if (always_leave) {
		s->field[s->nfield++] = emit_jmp(e);
		return;
	}
	emit_mov_r64_imm(e, H_RAX, t->next);
	emit_alu_load(e, ALU_CMP, 8, H_RAX, CPU_MEM(s.rip));
	s->field[s->nfield++] = emit_jcc(e, 5 /* ne */);
	emit_alu_imm(e, ALU_CMP, 1, CPU_MEM(end_block), 0);
	s->field[s->nfield++] = emit_jcc(e, 5);
}

/* Handlers after which translated memory accesses could use the wrong TLB
 * view (EFLAGS.AC changes): the block ends after them. */
static bool changes_view(const struct soft_insn *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFD: case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_STAC: case ZYDIS_MNEMONIC_CLAC:
		return true;
	default:
		return false;
	}
}

static void translate_helper(struct tr *t)
{
	flags_clobbered(t);
	emit_handler_call(t, t->in);
	emit_handler_check(t, changes_view(t->in));
	t->rip_stored = true;
}

/* ---- native register forms ---- */

static int alu_group(unsigned mnemonic, bool *logic, bool *writes)
{
	*logic = false;
	*writes = true;
	switch (mnemonic) {
	case ZYDIS_MNEMONIC_ADD: return ALU_ADD;
	case ZYDIS_MNEMONIC_ADC: return ALU_ADC;
	case ZYDIS_MNEMONIC_SUB: return ALU_SUB;
	case ZYDIS_MNEMONIC_SBB: return ALU_SBB;
	case ZYDIS_MNEMONIC_CMP: *writes = false; return ALU_CMP;
	case ZYDIS_MNEMONIC_OR: *logic = true; return ALU_OR;
	case ZYDIS_MNEMONIC_AND: *logic = true; return ALU_AND;
	case ZYDIS_MNEMONIC_XOR: *logic = true; return ALU_XOR;
	case ZYDIS_MNEMONIC_TEST: *logic = true; *writes = false; return -2;
	default: return -1;
	}
}

static bool is_gpr(const struct soft_operand *op)
{
	return op->kind == SOFT_OP_REG || op->kind == SOFT_OP_REG8H;
}

/* op RAX(size), src: src a guest register slot, an immediate, or host memory at [RSI]. */
static void emit_alu_src(struct emit *e, int alu, unsigned size, const struct soft_operand *src, struct rm srcm)
{
	if (alu == -2) { /* TEST */
		if (src->kind == SOFT_OP_IMM) {
			emit_op1(e, size, size == 1 ? 0xf6 : 0xf7, 0, rm_reg(H_RAX));
			emit_imm(e, size, src->imm);
		} else {
			emit_op1(e, size, size == 1 ? 0x84 : 0x85, H_RAX, srcm);
		}
	} else if (src->kind == SOFT_OP_IMM) {
		emit_alu_imm(e, (unsigned)alu, size, rm_reg(H_RAX), src->imm);
	} else {
		emit_alu_load(e, (unsigned)alu, size, H_RAX, srcm);
	}
}

/* ALU r, r/imm (and r, [RSI] when mem). */
static void emit_alu_reg_dst(struct tr *t, int alu, bool logic, bool writes, bool mem)
{
	const struct soft_insn *in = t->in;
	unsigned size = in->op[0].size;
	if (alu == ALU_ADC || alu == ALU_SBB)
		need_flags(t, RFLAGS_CF);
	emit_load(&t->e, size, H_RAX, gpr_slot(&in->op[0]));
	emit_alu_src(&t->e, alu, size, &in->op[1], mem ? rm_mem(H_RSI, 0) : gpr_slot(&in->op[1]));
	if (writes)
		store_gpr(t, &in->op[0], size);
	flags_written(t, SOFT_ARITH_FLAGS, logic ? MODEL_LOGIC_UNDEFINED : 0);
}

static bool native_alu(struct tr *t)
{
	const struct soft_insn *in = t->in;
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	if (alu == -1 || in->nops != 2 || !is_gpr(&in->op[0]))
		return false;
	const struct soft_operand *s = &in->op[1];
	if (!(s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == in->op[0].size)))
		return false;
	emit_alu_reg_dst(t, alu, logic, writes, false);
	return true;
}

static bool native_unary(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (in->nops != 1 || !is_gpr(d))
		return false;
	unsigned digit;
	uint32_t def;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INC: digit = 0; def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; break;
	case ZYDIS_MNEMONIC_DEC: digit = 1; def = SOFT_ARITH_FLAGS & ~RFLAGS_CF; break;
	case ZYDIS_MNEMONIC_NOT: digit = 2; def = 0; break;
	case ZYDIS_MNEMONIC_NEG: digit = 3; def = SOFT_ARITH_FLAGS; break;
	default: return false;
	}
	unsigned size = d->size;
	emit_load(&t->e, size, H_RAX, gpr_slot(d));
	if (digit < 2)
		emit_op1(&t->e, size, size == 1 ? 0xfe : 0xff, digit, rm_reg(H_RAX));
	else
		emit_op1(&t->e, size, size == 1 ? 0xf6 : 0xf7, digit, rm_reg(H_RAX));
	store_gpr(t, d, size);
	if (def)
		flags_written(t, def, 0);
	return true;
}

/* MOV r, r/imm. */
static bool native_mov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->mnemonic != ZYDIS_MNEMONIC_MOV || in->nops != 2 || !is_gpr(d))
		return false;
	unsigned size = d->size;
	if (s->kind == SOFT_OP_IMM) {
		if (size == 8 || size == 4) {
			uint64_t v = size == 4 ? (uint32_t)s->imm : s->imm;
			store_u64(t, gpr_slot(d), v);
		} else {
			emit_mov_imm(&t->e, size, gpr_slot(d), s->imm);
		}
		return true;
	}
	if (!is_gpr(s) || s->size != size)
		return false;
	emit_load(&t->e, size, H_RAX, gpr_slot(s));
	store_gpr(t, d, size);
	return true;
}

/* MOVZX / MOVSX / MOVSXD r, r/m8/16/32 into RAX from srcm, then the destination. */
static bool emit_extend(struct tr *t, struct rm srcm)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	unsigned dsize = d->size, ssize = s->size;
	if (d->kind != SOFT_OP_REG || dsize < 2)
		return false;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVZX:
		if (ssize != 1 && ssize != 2)
			return false;
		emit_op2(&t->e, 4, 0x0f, ssize == 1 ? 0xb6 : 0xb7, H_RAX, srcm);
		break;
	case ZYDIS_MNEMONIC_MOVSX:
		if (ssize != 1 && ssize != 2)
			return false;
		emit_op2(&t->e, dsize == 8 ? 8 : 4, 0x0f, ssize == 1 ? 0xbe : 0xbf, H_RAX, srcm);
		break;
	case ZYDIS_MNEMONIC_MOVSXD:
		if (ssize != 4 || dsize != 8)
			return false;
		emit_op1(&t->e, 8, 0x63, H_RAX, srcm);
		break;
	default:
		return false;
	}
	store_gpr(t, d, dsize);
	return true;
}

/* Loads the guest register of op zero-extended into host register reg. */
static void load_gpr_zx(struct tr *t, unsigned reg, const struct soft_operand *op, unsigned size)
{
	if (size < 4)
		emit_op2(&t->e, 4, 0x0f, size == 1 ? 0xb6 : 0xb7, reg, gpr_slot(op));
	else
		emit_load(&t->e, size, reg, gpr_slot(op));
}

/* Writes the flags in mask from host register reg (other bits zero) into
 * cpu->s.rflags. Clobbers the host flags. */
static void emit_flags_store(struct emit *e, unsigned reg, uint32_t mask)
{
	emit_alu_imm(e, ALU_AND, 8, CPU_MEM(s.rflags), (uint64_t)(int64_t)(int32_t)~mask);
	emit_alu_store(e, ALU_OR, 8, CPU_MEM(s.rflags), reg);
}

/*
 * SHL SHR SAR ROL ROR of a register by an immediate: the host shift gives
 * the result and the flags the SDM defines; the flags it leaves undefined
 * are the model's (model_shift_undefined), computed here from the operand:
 * AF 0; for a count above 1, OF = a[msb] ^ a[msb-1] after SHL, a[msb] after
 * SHR, 0 after SAR, and unchanged after ROL/ROR of a register by an
 * immediate. Flags are written back at once.
 */
static bool native_shift(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	if (in->nops != 2 || !is_gpr(d) || s->kind != SOFT_OP_IMM)
		return false;
	unsigned digit;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_ROL: digit = 0; break;
	case ZYDIS_MNEMONIC_ROR: digit = 1; break;
	case ZYDIS_MNEMONIC_SHL: digit = 4; break;
	case ZYDIS_MNEMONIC_SHR: digit = 5; break;
	case ZYDIS_MNEMONIC_SAR: digit = 7; break;
	default: return false;
	}
	unsigned size = d->size, bits = size * 8;
	unsigned c = (unsigned)s->imm & (size == 8 ? 63 : 31);
	bool rotate = digit < 2;
	if (c == 0 || (!rotate && c >= bits))
		return false; /* no flags change / the model's CF rule: the handler */
	struct emit *e = &t->e;
	uint32_t host = rotate ? RFLAGS_CF : RFLAGS_CF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF;
	if (c == 1 && digit != 7)
		host |= RFLAGS_OF;
	uint32_t all = rotate ? (c == 1 ? RFLAGS_CF | RFLAGS_OF : RFLAGS_CF) : SOFT_ARITH_FLAGS;
	bool of_model = c > 1 && (digit == 4 || digit == 5);
	flags_clobbered(t);
	load_gpr_zx(t, H_RAX, d, size);
	if (of_model)
		emit_load(e, 8, H_RCX, rm_reg(H_RAX));
	emit_shift_imm(e, digit, size, rm_reg(H_RAX), (uint8_t)c);
	emit_byte(e, 0x9c); /* pushfq */
	emit_byte(e, 0x5a); /* pop rdx */
	store_gpr(t, d, size);
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDX), host);
	if (of_model) {
		if (digit == 4) { /* a[msb] ^ a[msb-1] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 2));
			emit_load(e, 4, H_RSI, rm_reg(H_RCX));
			emit_shift_imm(e, 5, 4, rm_reg(H_RSI), 1);
			emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RSI));
			emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), 1);
		} else { /* a[msb] */
			emit_shift_imm(e, 5, 8, rm_reg(H_RCX), (uint8_t)(bits - 1));
		}
		emit_shift_imm(e, 4, 4, rm_reg(H_RCX), 11);
		emit_alu_load(e, ALU_OR, 4, H_RDX, rm_reg(H_RCX));
	}
	emit_flags_store(e, H_RDX, all);
	return true;
}

/*
 * IMUL r, r/imm and IMUL r, r, imm (16, 32, 64 bits): OF and CF from the
 * host; SF ZF AF PF, undefined, are the model's (model_mul_flags): SF the
 * sign of the result, PF its low byte's parity, ZF and AF 0.
 */
static bool native_imul(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	if (in->mnemonic != ZYDIS_MNEMONIC_IMUL || (in->nops != 2 && in->nops != 3) || d->kind != SOFT_OP_REG ||
	    d->size < 2)
		return false;
	const struct soft_operand *a = &in->op[in->nops - 2], *b = &in->op[in->nops - 1];
	if (a->kind != SOFT_OP_REG || a->size != d->size)
		return false;
	if (in->nops == 2 ? b->kind != SOFT_OP_REG || b->size != d->size : b->kind != SOFT_OP_IMM)
		return false;
	struct emit *e = &t->e;
	unsigned size = d->size;
	flags_clobbered(t);
	if (in->nops == 2) {
		emit_load(e, size, H_RAX, gpr_slot(a));
		emit_op2(e, size, 0x0f, 0xaf, H_RAX, gpr_slot(b)); /* imul rax, [b] */
	} else {
		emit_op1(e, size, 0x69, H_RAX, gpr_slot(a)); /* imul rax, [a], imm */
		emit_imm(e, size, b->imm);
	}
	emit_byte(e, 0x9c); /* pushfq */
	emit_byte(e, 0x5a); /* pop rdx */
	store_gpr(t, d, size);
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDX), RFLAGS_CF | RFLAGS_OF);
	emit_op1(e, size, 0x85, H_RAX, rm_reg(H_RAX)); /* test rax, rax: SF and PF of the result */
	emit_byte(e, 0x9c);
	emit_byte(e, 0x59); /* pop rcx */
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), RFLAGS_SF | RFLAGS_PF);
	emit_alu_load(e, ALU_OR, 4, H_RDX, rm_reg(H_RCX));
	emit_flags_store(e, H_RDX, SOFT_ARITH_FLAGS);
	return true;
}

/* The condition code of SETcc/CMOVcc (the low nibble of 0F 9x / 0F 4x). */
static int cc_of(const struct soft_insn *in)
{
	return (in->opcode & 0xf0) == 0x90 || (in->opcode & 0xf0) == 0x40 ? in->opcode & 0xf : -1;
}

/* SETcc r8 and CMOVcc r, r: the host instruction on flags made valid in the
 * host RFLAGS, which they leave as they were. A 32-bit CMOV writes (clears
 * the upper half of) its destination whether or not it moves, on the host
 * RAX as on the guest register. */
static bool native_setcc_cmov(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0];
	int cc = cc_of(in);
	if (cc < 0 || !is_gpr(d))
		return false;
	bool set = in->nops == 1 && d->size == 1 && in->mnemonic >= ZYDIS_MNEMONIC_SETB &&
		   in->mnemonic <= ZYDIS_MNEMONIC_SETZ;
	bool cmov = in->nops == 2 && d->kind == SOFT_OP_REG && d->size >= 2 && in->op[1].kind == SOFT_OP_REG &&
		    in->op[1].size == d->size && in->mnemonic >= ZYDIS_MNEMONIC_CMOVB && in->mnemonic <= ZYDIS_MNEMONIC_CMOVZ;
	if (!set && !cmov)
		return false;
	need_flags(t, cond_flags((unsigned)cc));
	if (set) {
		emit_op2(&t->e, 1, 0x0f, (uint8_t)(0x90 | cc), 0, rm_reg(H_RAX));
		emit_store(&t->e, 1, gpr_slot(d), H_RAX);
	} else {
		emit_load(&t->e, d->size, H_RAX, gpr_slot(d));
		emit_op2(&t->e, d->size, 0x0f, (uint8_t)(0x40 | cc), H_RAX, gpr_slot(&in->op[1]));
		store_gpr(t, d, d->size);
	}
	return true;
}

/* BSWAP r32/r64, and CBW/CWDE/CDQE, CWD/CDQ/CQO: no flags. */
static bool native_misc(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_BSWAP: {
		const struct soft_operand *d = &in->op[0];
		if (in->nops != 1 || d->kind != SOFT_OP_REG || d->size < 4)
			return false;
		emit_load(e, d->size, H_RAX, gpr_slot(d));
		if (d->size == 8)
			emit_byte(e, 0x48);
		emit_byte(e, 0x0f);
		emit_byte(e, 0xc8); /* bswap eax / rax */
		store_gpr(t, d, d->size);
		return true;
	}
	case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE: case ZYDIS_MNEMONIC_CBW: {
		unsigned size = in->opsize; /* the destination: AX, EAX or RAX */
		struct soft_operand rax = { .kind = SOFT_OP_REG, .reg = X86_RAX };
		emit_load(e, 8, H_RAX, gpr_slot(&rax));
		if (size == 2)
			emit_byte(e, 0x66);
		else if (size == 8)
			emit_byte(e, 0x48);
		emit_byte(e, 0x98);
		store_gpr(t, &rax, size);
		return true;
	}
	case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO: {
		unsigned size = in->opsize;
		struct soft_operand rax = { .kind = SOFT_OP_REG, .reg = X86_RAX }, rdx = { .kind = SOFT_OP_REG, .reg = X86_RDX };
		emit_load(e, 8, H_RAX, gpr_slot(&rax));
		if (size == 2)
			emit_byte(e, 0x66);
		else if (size == 8)
			emit_byte(e, 0x48);
		emit_byte(e, 0x99); /* sign of AX/EAX/RAX into DX/EDX/RDX */
		emit_load(e, 8, H_RAX, rm_reg(H_RDX));
		store_gpr(t, &rdx, size);
		return true;
	}
	default:
		return false;
	}
}

/* ---- SSE integer and move forms ---- */

static bool emit_mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s);

enum sse_kind {
	SSE_OP, /* xmm, xmm/m128: the operation itself */
	SSE_OP_IMM, /* the same with an imm8 */
	SSE_MOVE, /* MOVDQA MOVDQU MOVAPS MOVUPS: xmm <- xmm/m128, m128 <- xmm */
	SSE_MOVMSK, /* PMOVMSKB r32, xmm */
	SSE_GPR, /* MOVD/MOVQ between an XMM register and a general register */
};

struct sse_form {
	uint16_t mnemonic;
	uint8_t prefix; /* mandatory prefix (0: none) */
	uint8_t map38; /* 0F 38 map */
	uint8_t kind;
	bool aligned; /* a memory operand must be 16-byte aligned (#GP) */
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
	{ ZYDIS_MNEMONIC_PSHUFB, 0x66, 1, SSE_OP, true },  { ZYDIS_MNEMONIC_PSHUFD, 0x66, 0, SSE_OP_IMM, true },
	{ ZYDIS_MNEMONIC_PMOVMSKB, 0x66, 0, SSE_MOVMSK, false },
	{ ZYDIS_MNEMONIC_MOVDQA, 0x66, 0, SSE_MOVE, true }, { ZYDIS_MNEMONIC_MOVDQU, 0xf3, 0, SSE_MOVE, false },
	{ ZYDIS_MNEMONIC_MOVAPS, 0, 0, SSE_MOVE, true },   { ZYDIS_MNEMONIC_MOVUPS, 0, 0, SSE_MOVE, false },
	{ ZYDIS_MNEMONIC_MOVD, 0x66, 0, SSE_GPR, false },  { ZYDIS_MNEMONIC_MOVQ, 0x66, 0, SSE_GPR, false },
};

/* [prefix] [REX.W] 0F [38] op ModRM: an SSE instruction on host registers/memory. */
static void emit_sse(struct emit *e, uint8_t prefix, bool map38, uint8_t op, bool rexw, unsigned reg, struct rm rm)
{
	if (prefix)
		emit_byte(e, prefix);
	uint8_t bytes[3] = { 0x0f, 0x38, op };
	if (!map38)
		bytes[1] = op;
	emit_op(e, rexw ? 8 : 4, bytes, map38 ? 3 : 2, reg, rm);
}

static struct rm xmm_slot(unsigned reg)
{
	return rm_mem(H_RBX, OFF(s.fpu.xmm) + 16 * (int32_t)reg);
}

/* movdqu xmmN, m / movdqu m, xmmN */
static void emit_movdqu_load(struct emit *e, unsigned xmm, struct rm m)
{
	emit_sse(e, 0xf3, false, 0x6f, false, xmm, m);
}

static void emit_movdqu_store(struct emit *e, struct rm m, unsigned xmm)
{
	emit_sse(e, 0xf3, false, 0x7f, false, xmm, m);
}

static const struct sse_form *sse_form_of(const struct soft_insn *in)
{
	for (size_t i = 0; i < sizeof(sse_forms) / sizeof(sse_forms[0]); i++)
		if (sse_forms[i].mnemonic == in->mnemonic)
			return &sse_forms[i];
	return NULL;
}

/*
 * The SSE forms above run as the same host instruction on the guest's XMM
 * values (integer operations and moves: MXCSR plays no part). CR0.EM,
 * CR0.TS and CR4.OSFXSR are tested inline; when they call for #UD or #NM,
 * or a memory operand misses the soft TLB, crosses a page or is misaligned
 * for an aligned form, the handler runs instead (and raises).
 */
static bool native_sse(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct sse_form *f = sse_form_of(in);
	if (!f || (in->flags & SOFT_INSN_LOCK) || in->nops < 2)
		return false;
	const struct soft_operand *d = &in->op[0], *s = &in->op[1];
	const struct soft_operand *m = d->kind == SOFT_OP_MEM ? d : s->kind == SOFT_OP_MEM ? s : NULL;
	switch (f->kind) {
	case SSE_OP:
		if (in->nops != 2 || d->kind != SOFT_OP_XMM || (s->kind != SOFT_OP_XMM && s->kind != SOFT_OP_MEM))
			return false;
		break;
	case SSE_OP_IMM:
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
	if (m && (!t->long64 || m->size != 16))
		return false;

	struct emit *e = &t->e;
	flags_clobbered(t);
	struct stub *slow = new_stub(t, STUB_SLOW);
	emit_op1(e, 1, 0xf6, 0, CPU_MEM(s.cr0)); /* test byte [cr0], EM | TS */
	emit_byte(e, (uint8_t)(CR0_EM | CR0_TS));
	slow->field[slow->nfield++] = emit_jcc(e, 5 /* nz */);
	emit_op1(e, 1, 0xf6, 0, rm_mem(H_RBX, OFF(s.cr4) + 1)); /* test byte [cr4 + 1], OSFXSR >> 8 */
	emit_byte(e, (uint8_t)(CR4_OSFXSR >> 8));
	slow->field[slow->nfield++] = emit_jcc(e, 4 /* z */);
	if (m) {
		/* two more fields: the page-crossing test and the tag compare */
		struct stub *miss = new_stub(t, STUB_SLOW);
		if (!emit_mem_lookup(t, m, 16, m == d, miss)) {
			t->fail = true;
			return true;
		}
		if (f->aligned) {
			emit_op1(e, 4, 0xf7, 0, rm_reg(H_RSI)); /* test esi, 15 */
			emit_u32(e, 15);
			miss->field[miss->nfield++] = emit_jcc(e, 5);
		}
		struct rm host = rm_mem(H_RSI, 0);
		switch (f->kind) {
		case SSE_OP:
		case SSE_OP_IMM:
			emit_movdqu_load(e, 0, xmm_slot(d->reg));
			emit_movdqu_load(e, 1, host);
			emit_sse(e, f->prefix, f->map38, in->opcode, false, 0, rm_reg(1));
			if (f->kind == SSE_OP_IMM)
				emit_byte(e, (uint8_t)in->op[2].imm);
			emit_movdqu_store(e, xmm_slot(d->reg), 0);
			break;
		default: /* SSE_MOVE */
			if (m == s) {
				emit_movdqu_load(e, 0, host);
				emit_movdqu_store(e, xmm_slot(d->reg), 0);
			} else {
				emit_movdqu_load(e, 0, xmm_slot(s->reg));
				emit_movdqu_store(e, host, 0);
			}
			break;
		}
		miss->join = slow->join = e->p;
		return true;
	}
	switch (f->kind) {
	case SSE_OP:
	case SSE_OP_IMM:
		emit_movdqu_load(e, 0, xmm_slot(d->reg));
		emit_movdqu_load(e, 1, xmm_slot(s->reg));
		emit_sse(e, f->prefix, f->map38, in->opcode, false, 0, rm_reg(1));
		if (f->kind == SSE_OP_IMM)
			emit_byte(e, (uint8_t)in->op[2].imm);
		emit_movdqu_store(e, xmm_slot(d->reg), 0);
		break;
	case SSE_MOVE:
		emit_movdqu_load(e, 0, xmm_slot(s->reg));
		emit_movdqu_store(e, xmm_slot(d->reg), 0);
		break;
	case SSE_MOVMSK:
		emit_movdqu_load(e, 0, xmm_slot(s->reg));
		emit_sse(e, 0x66, false, 0xd7, false, H_RAX, rm_reg(0)); /* pmovmskb eax, xmm0 */
		store_gpr(t, d, d->size);
		break;
	default: /* SSE_GPR */
		if (d->kind == SOFT_OP_XMM) {
			emit_sse(e, 0x66, false, 0x6e, s->size == 8, 0, gpr_slot(s)); /* movd/movq xmm0, [gpr] */
			emit_movdqu_store(e, xmm_slot(d->reg), 0);
		} else {
			emit_movdqu_load(e, 0, xmm_slot(s->reg));
			emit_sse(e, 0x66, false, 0x7e, d->size == 8, 0, rm_reg(H_RAX)); /* movd/movq rax, xmm0 */
			store_gpr(t, d, d->size);
		}
		break;
	}
	slow->join = e->p;
	return true;
}

static bool native_extend(struct tr *t)
{
	const struct soft_insn *in = t->in;
	if (in->nops != 2 || !is_gpr(&in->op[1]))
		return false;
	/* Check the form before emitting anything. */
	unsigned m = in->mnemonic;
	if (m != ZYDIS_MNEMONIC_MOVZX && m != ZYDIS_MNEMONIC_MOVSX && m != ZYDIS_MNEMONIC_MOVSXD)
		return false;
	return emit_extend(t, gpr_slot(&in->op[1]));
}

/* Effective address of a memory operand into RSI (offset in the segment,
 * truncated to the address size). Uses only MOV and LEA: host flags survive. */
static bool emit_ea(struct tr *t, const struct soft_operand *m)
{
	struct emit *e = &t->e;
	const struct soft_insn *in = t->in;
	if (m->base == SOFT_REG_RIP) {
		uint64_t ea = t->next + (uint64_t)m->disp;
		emit_mov_r64_imm(e, H_RSI, ea & soft_size_mask(in->addrsize));
		return true;
	}
	if (m->base == SOFT_NOREG && m->index == SOFT_NOREG) {
		emit_mov_r64_imm(e, H_RSI, (uint64_t)m->disp & soft_size_mask(in->addrsize));
		return true;
	}
	if (in->addrsize == 2 || !fits_i32(m->disp))
		return false; /* nothing emitted yet */
	if (m->base != SOFT_NOREG)
		emit_load(e, 8, H_RSI, rm_mem(H_RBX, GPR_OFF(m->base)));
	else
		emit_mov_r64_imm(e, H_RSI, 0); /* not XOR: the host flags must survive */
	if (m->index != SOFT_NOREG) {
		emit_load(e, 8, H_RDX, rm_mem(H_RBX, GPR_OFF(m->index)));
		emit_lea(e, H_RSI, rm_sib(H_RSI, H_RDX, m->scale, (int32_t)m->disp));
	} else if (m->disp) {
		emit_lea(e, H_RSI, rm_mem(H_RSI, (int32_t)m->disp));
	}
	if (in->addrsize == 4)
		emit_load(e, 4, H_RSI, rm_reg(H_RSI)); /* mov esi, esi */
	return true;
}

static bool native_lea(struct tr *t)
{
	const struct soft_insn *in = t->in;
	const struct soft_operand *d = &in->op[0], *m = &in->op[1];
	if (in->mnemonic != ZYDIS_MNEMONIC_LEA || in->nops != 2 || d->kind != SOFT_OP_REG || m->kind != SOFT_OP_MEM ||
	    d->size < 2)
		return false;
	if (!emit_ea(t, m))
		return false;
	if (d->size == 4) { /* the low 32 bits, zero-extended */
		emit_load(&t->e, 4, H_RAX, rm_reg(H_RSI));
		emit_store(&t->e, 8, gpr_slot(d), H_RAX);
	} else {
		emit_store(&t->e, d->size, gpr_slot(d), H_RSI);
	}
	return true;
}

/* ---- branches ---- */

/* The target of a relative branch, or false when taking it would fault
 * (the handler then raises it). */
static bool branch_target(struct tr *t, uint64_t *target)
{
	const struct soft_insn *in = t->in;
	uint64_t v = (t->next + in->op[0].imm) & soft_size_mask(in->opsize);
	if (t->long64 ? !soft_is_canonical(v) : v > t->b->jit_cs_limit)
		return false;
	*target = v;
	return true;
}

/* A taken branch to target: a loop back to the block's start stays in the
 * translated code (attention checked), anything else leaves. */
static struct stub *taken_stub(struct tr *t, uint64_t target)
{
	struct stub *s = new_stub(t, target == t->b->jit_rip ? STUB_LOOP : STUB_EXIT);
	s->has_target = true;
	s->target = target;
	return s;
}

static bool native_branch(struct tr *t)
{
	const struct soft_insn *in = t->in;
	if (in->nops != 1 || in->op[0].kind != SOFT_OP_IMM)
		return false;
	uint64_t target;
	if (in->mnemonic == ZYDIS_MNEMONIC_JMP) {
		if (!branch_target(t, &target))
			return false;
		struct stub *s = taken_stub(t, target);
		s->field[s->nfield++] = emit_jmp(&t->e);
		t->rip_stored = true; /* nothing after it runs */
		return true;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JNB:
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNLE:
		break;
	default:
		return false;
	}
	if (!branch_target(t, &target))
		return false;
	if (target == t->next)
		return true; /* goes on either way; the interpreter keeps to the block too */
	unsigned cc = in->opcode & 0xf;
	need_flags(t, cond_flags(cc));
	struct stub *s = taken_stub(t, target);
	s->field[s->nfield++] = emit_jcc(&t->e, cc);
	return true;
}

/* ---- memory forms (64-bit code) ---- */

/* RSI = the linear address of m; then the TLB lookup that turns it into a
 * host address, jumping to the slow path s on a miss. */
static bool emit_mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s)
{
	struct emit *e = &t->e;
	if (!emit_ea(t, m))
		return false;
	if (m->seg == X86_FS || m->seg == X86_GS)
		emit_alu_load(e, ALU_ADD, 8, H_RSI, rm_mem(H_RBX, OFF(s.seg) + (int32_t)(m->seg * sizeof(struct x86_segment)) +
						     (int32_t)offsetof(struct x86_segment, base)));
	if (size > 1) { /* crosses a page: (lin & 0xfff) > 4096 - size */
		emit_load(e, 4, H_RAX, rm_reg(H_RSI));
		emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RAX), 0xfff);
		emit_alu_imm(e, ALU_CMP, 4, rm_reg(H_RAX), 4096 - size);
		s->field[s->nfield++] = emit_jcc(e, 7 /* a */);
	}
	int32_t tlb = OFF(tlb) + (int32_t)(t->view * SOFT_TLB_SIZE * sizeof(struct soft_tlb_entry));
	int32_t tag = tlb + (int32_t)(write ? offsetof(struct soft_tlb_entry, tag_write)
					  : offsetof(struct soft_tlb_entry, tag_read));
	emit_load(e, 8, H_RDI, rm_reg(H_RSI));
	emit_shift_imm(e, 5, 8, rm_reg(H_RDI), 12);
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RDI), SOFT_TLB_SIZE - 1);
	emit_op1(e, 4, 0x69, H_RDI, rm_reg(H_RDI)); /* imul edi, edi, sizeof entry */
	emit_u32(e, (uint32_t)sizeof(struct soft_tlb_entry));
	emit_load(e, 8, H_RAX, rm_reg(H_RSI));
	emit_alu_imm(e, ALU_AND, 8, rm_reg(H_RAX), (uint64_t)(int64_t)-4096);
	emit_alu_load(e, ALU_CMP, 8, H_RAX, rm_sib(H_RBX, H_RDI, 1, tag));
	s->field[s->nfield++] = emit_jcc(e, 5 /* ne */);
	emit_alu_load(e, ALU_ADD, 8, H_RSI,
		      rm_sib(H_RBX, H_RDI, 1, tlb + (int32_t)offsetof(struct soft_tlb_entry, addend)));
	return true;
}

/* Which memory forms are translated, and how: the operand, its size, and
 * whether the access writes. */
static const struct soft_operand *mem_form(const struct soft_insn *in, unsigned *size, bool *write)
{
	if (in->nops < 1 || in->nops > 2)
		return NULL;
	const struct soft_operand *d = &in->op[0], *s = in->nops == 2 ? &in->op[1] : NULL;
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	if (in->mnemonic == ZYDIS_MNEMONIC_MOV || alu != -1) {
		if (!s)
			return NULL;
		if (is_gpr(d) && s->kind == SOFT_OP_MEM && s->size == d->size) {
			*size = d->size;
			*write = false;
			return s;
		}
		if (d->kind == SOFT_OP_MEM && (s->kind == SOFT_OP_IMM || (is_gpr(s) && s->size == d->size))) {
			*size = d->size;
			*write = in->mnemonic == ZYDIS_MNEMONIC_MOV || writes;
			return d;
		}
		return NULL;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG: case ZYDIS_MNEMONIC_NOT:
		if (in->nops != 1 || d->kind != SOFT_OP_MEM)
			return NULL;
		*size = d->size;
		*write = true;
		return d;
	case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD:
		if (!s || s->kind != SOFT_OP_MEM || d->kind != SOFT_OP_REG)
			return NULL;
		*size = s->size;
		*write = false;
		return s;
	default:
		return NULL;
	}
}

static bool native_mem(struct tr *t)
{
	const struct soft_insn *in = t->in;
	unsigned size;
	bool write;
	if (!t->long64)
		return false;
	const struct soft_operand *m = mem_form(in, &size, &write);
	if (!m || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	if ((in->flags & SOFT_INSN_LOCK) && (m != &in->op[0] || !write))
		return false; /* #UD: the handler raises it */
	bool logic, writes;
	int alu = alu_group(in->mnemonic, &logic, &writes);
	bool sets_flags = alu != -1 || in->mnemonic == ZYDIS_MNEMONIC_INC || in->mnemonic == ZYDIS_MNEMONIC_DEC ||
			  in->mnemonic == ZYDIS_MNEMONIC_NEG;
	if ((in->mnemonic == ZYDIS_MNEMONIC_MOVZX || in->mnemonic == ZYDIS_MNEMONIC_MOVSX ||
	     in->mnemonic == ZYDIS_MNEMONIC_MOVSXD) &&
	    (in->op[0].size < 2 || (in->mnemonic == ZYDIS_MNEMONIC_MOVSXD ? size != 4 || in->op[0].size != 8 : size > 2)))
		return false;

	uint8_t *mark = t->e.p;
	uint32_t valid = t->valid, dirty = t->dirty, undef = t->undef;
	flags_clobbered(t);
	struct stub *s = new_stub(t, STUB_SLOW);
	s->load_flags = sets_flags;
	if (!emit_mem_lookup(t, m, size, write, s)) {
		t->nstubs--;
		t->e.p = mark;
		t->valid = valid, t->dirty = dirty, t->undef = undef;
		return false;
	}
	struct emit *e = &t->e;
	struct rm host = rm_mem(H_RSI, 0);
	const struct soft_operand *d = &in->op[0], *src = in->nops == 2 ? &in->op[1] : NULL;
	bool lock = in->flags & SOFT_INSN_LOCK;
	if (in->mnemonic == ZYDIS_MNEMONIC_MOV) {
		if (m == src) {
			emit_load(e, size, H_RAX, host);
			store_gpr(t, d, size);
		} else if (src->kind == SOFT_OP_IMM) {
			emit_mov_imm(e, size, host, src->imm);
		} else {
			emit_load(e, size, H_RCX, gpr_slot(src));
			emit_store(e, size, host, H_RCX);
		}
	} else if (alu != -1) {
		if (m == src) {
			emit_alu_reg_dst(t, alu, logic, writes, true);
		} else {
			if (alu == ALU_ADC || alu == ALU_SBB) {
				emit_load_flags(e);
				t->valid = SOFT_ARITH_FLAGS;
			}
			if (src->kind != SOFT_OP_IMM)
				emit_load(e, size, H_RCX, gpr_slot(src));
			if (lock)
				emit_byte(e, 0xf0);
			if (alu == -2 && src->kind == SOFT_OP_IMM) { /* TEST m, imm */
				emit_op1(e, size, size == 1 ? 0xf6 : 0xf7, 0, host);
				emit_imm(e, size, src->imm);
			} else if (alu == -2) { /* TEST m, r */
				emit_op1(e, size, size == 1 ? 0x84 : 0x85, H_RCX, host);
			} else if (src->kind == SOFT_OP_IMM) {
				emit_alu_imm(e, (unsigned)alu, size, host, src->imm);
			} else {
				emit_alu_store(e, (unsigned)alu, size, host, H_RCX);
			}
			flags_written(t, SOFT_ARITH_FLAGS, logic ? MODEL_LOGIC_UNDEFINED : 0);
		}
	} else if (in->nops == 1) {
		unsigned digit = in->mnemonic == ZYDIS_MNEMONIC_INC ? 0 : in->mnemonic == ZYDIS_MNEMONIC_DEC ? 1
				 : in->mnemonic == ZYDIS_MNEMONIC_NOT ? 2 : 3;
		if (lock)
			emit_byte(e, 0xf0);
		emit_op1(e, size, digit < 2 ? (size == 1 ? 0xfe : 0xff) : (size == 1 ? 0xf6 : 0xf7), digit, host);
		if (digit != 2)
			flags_written(t, digit < 2 ? SOFT_ARITH_FLAGS & ~RFLAGS_CF : SOFT_ARITH_FLAGS, 0);
	} else {
		emit_extend(t, host);
	}
	/* Both paths meet with the same lazy-flags state: the slow path reloads
	 * the flags its handler wrote into the host RFLAGS. */
	s->join = e->p;
	return true;
}

/* PUSH r64 / POP r64 / CALL rel / RET in 64-bit code with 64-bit operands. */
static bool native_stack(struct tr *t)
{
	const struct soft_insn *in = t->in;
	struct emit *e = &t->e;
	if (!t->long64 || in->opsize != 8 || in->addrsize != 8)
		return false;
	bool push = in->mnemonic == ZYDIS_MNEMONIC_PUSH, pop = in->mnemonic == ZYDIS_MNEMONIC_POP;
	bool call = in->mnemonic == ZYDIS_MNEMONIC_CALL, ret = in->mnemonic == ZYDIS_MNEMONIC_RET;
	uint64_t target = 0;
	if (push || pop) {
		if (in->nops != 1 || in->op[0].kind != SOFT_OP_REG || in->op[0].size != 8)
			return false;
	} else if (call) {
		if (in->nops != 1 || in->op[0].kind != SOFT_OP_IMM || !branch_target(t, &target))
			return false;
	} else if (!ret || in->opcode != 0xc3 || in->nops != 0) {
		return false;
	}
	flags_clobbered(t);
	struct stub *s = new_stub(t, STUB_SLOW);
	struct soft_operand sp = { .kind = SOFT_OP_MEM, .seg = X86_SS, .base = X86_RSP, .index = SOFT_NOREG,
				   .scale = 1, .disp = push || call ? -8 : 0, .size = 8 };
	emit_mem_lookup(t, &sp, 8, push || call, s);
	struct rm rsp = rm_mem(H_RBX, GPR_OFF(X86_RSP));
	if (push) {
		emit_load(e, 8, H_RCX, gpr_slot(&in->op[0]));
		emit_store(e, 8, rm_mem(H_RSI, 0), H_RCX);
		emit_alu_imm(e, ALU_SUB, 8, rsp, 8);
	} else if (pop) {
		emit_load(e, 8, H_RAX, rm_mem(H_RSI, 0));
		emit_alu_imm(e, ALU_ADD, 8, rsp, 8);
		store_gpr(t, &in->op[0], 8);
	} else if (call) {
		emit_mov_r64_imm(e, H_RCX, t->next);
		emit_store(e, 8, rm_mem(H_RSI, 0), H_RCX);
		emit_alu_imm(e, ALU_SUB, 8, rsp, 8);
	} else { /* RET: a non-canonical target is the handler's #GP */
		emit_load(e, 8, H_RAX, rm_mem(H_RSI, 0));
		emit_load(e, 8, H_RCX, rm_reg(H_RAX));
		emit_shift_imm(e, 4, 8, rm_reg(H_RCX), 16);
		emit_shift_imm(e, 7, 8, rm_reg(H_RCX), 16);
		emit_alu_load(e, ALU_CMP, 8, H_RCX, rm_reg(H_RAX));
		s->field[s->nfield++] = emit_jcc(e, 5);
		emit_alu_imm(e, ALU_ADD, 8, rsp, 8);
		emit_store(e, 8, CPU_MEM(s.rip), H_RAX);
	}
	s->join = e->p;
	if (call) {
		struct stub *x = taken_stub(t, target);
		x->field[x->nfield++] = emit_jmp(e);
		t->rip_stored = true;
	} else if (ret) {
		/* s.rip holds the target on both paths */
		struct stub *x = new_stub(t, STUB_EXIT);
		x->lookup = true;
		x->field[x->nfield++] = emit_jmp(e);
		t->rip_stored = true;
	}
	return true;
}

/* ---- the block ---- */

static bool is_nop(const struct soft_insn *in)
{
	return in->mnemonic == ZYDIS_MNEMONIC_NOP && !(in->flags & SOFT_INSN_LOCK);
}

static void translate_insn(struct tr *t)
{
	t->rip_stored = false;
	if (is_nop(t->in) || native_alu(t) || native_mov(t) || native_unary(t) || native_extend(t) ||
	    native_lea(t) || native_branch(t) || native_shift(t) || native_imul(t) || native_setcc_cmov(t) ||
	    native_misc(t) || native_sse(t) || native_mem(t) || native_stack(t))
		return;
	translate_helper(t);
}

static void emit_stubs(struct tr *t)
{
	struct emit *e = &t->e;
	for (unsigned k = 0; k < t->nstubs && !e->overflow; k++) {
		struct stub *s = &t->stubs[k];
		for (unsigned f = 0; f < s->nfield; f++)
			emit_patch(e, s->field[f], e->p);
		switch (s->kind) {
		case STUB_EXIT:
			emit_exit(t, s);
			break;
		case STUB_SLOW:
			t->index = s->index;
			t->rip = s->rip;
			t->next = s->next;
			emit_handler_call(t, s->in);
			emit_handler_check(t, false);
			if (s->load_flags)
				emit_load_flags(e);
			emit_patch(e, emit_jmp(e), s->join);
			break;
		case STUB_LOOP: {
			/* The instructions after the branch did not run this time round. */
			emit_materialise(e, s->dirty, s->undef);
			emit_uncount(e, t->n - (s->index + 1));
			struct stub leave = *s;
			leave.dirty = leave.undef = 0;
			leave.index = t->n - 1;
			leave.kind = STUB_EXIT;
			uint8_t *out[3];
			emit_attention(e, out);
			emit_patch(e, emit_jmp(e), t->body);
			for (unsigned i = 0; i < 3; i++)
				emit_patch(e, out[i], e->p);
			emit_exit(t, &leave);
			break;
		}
		}
	}
}

const void *soft_jit_translate(struct soft_cpu *cpu, struct soft_block *b)
{
	struct soft_jit *jit = cpu->jit;
	struct jit_code_cache *c = &jit->cache;
	size_t room = (size_t)b->count * 2 * INSN_ROOM + 256;
	if (c->size - c->used < room) {
		jit->flushes++;
		soft_blocks_flush(cpu); /* empties the code cache too */
		return NULL;
	}
	struct tr *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cpu = cpu;
	t->b = b;
	t->n = b->count;
	t->view = soft_jit_view(cpu);
	t->long64 = cpu->code_size == 8;
	t->wrap = soft_size_mask(cpu->code_size);
	b->jit_rip = cpu->s.rip;
	b->jit_view = (uint8_t)t->view;
	b->jit_cs_limit = (uint32_t)cpu->s.seg[X86_CS].limit;

	uint8_t *start = c->rw + c->used;
	t->e = (struct emit){ .p = start, .end = start + room };
	struct emit *e = &t->e;
	emit_byte(e, 0x53); /* push rbx: the stack is 16-byte aligned for calls */
	emit_load(e, 8, H_RBX, rm_reg(H_RDI));
	t->body = e->p; /* JIT_BODY_OFFSET: linked blocks jump here */
	emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(insn_count), t->n);
	emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(jit_insns), t->n);

	uint64_t rip = cpu->s.rip;
	for (unsigned i = 0; i < t->n && !t->fail; i++) {
		const struct soft_insn *in = &b->insns[i];
		uint64_t next = rip + in->len;
		if (!t->long64) {
			/* The interpreter's per-instruction CS limit and wrap checks, done once. */
			if (next - 1 > b->jit_cs_limit || next > t->wrap) {
				t->fail = true;
				break;
			}
		}
		t->in = in;
		t->index = i;
		t->rip = rip;
		t->next = next;
		translate_insn(t);
		rip = next;
	}
	/* Fall-through end: the last instruction went on to the next address,
	 * a direct branch like any other. */
	if (!t->rip_stored) {
		struct stub end = { .kind = STUB_EXIT, .has_target = true, .target = t->next, .index = t->n - 1,
				    .rip = t->rip, .next = t->next, .dirty = t->dirty, .undef = t->undef };
		emit_exit(t, &end);
	} else {
		emit_return(e, t->next);
	}
	emit_stubs(t);
	const void *code = NULL;
	if (!t->fail && !e->overflow) {
		code = jit_cache_exec(c, start);
		c->used += (size_t)(e->p - start + 15) & ~(size_t)15;
		jit->blocks++;
	} else {
		jit->failed++;
	}
	free(t);
	return code;
}
