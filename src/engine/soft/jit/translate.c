/* SPDX-License-Identifier: MIT */
/*
 * Block translation: a decoded block (struct soft_block) becomes one host
 * function (jit_block_fn). RBX holds the vCPU for the whole function; the
 * guest registers a block uses most live in R8..R15 (reg_cache.c). Three
 * kinds of instruction:
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
 * cpu->s.rflags, and at block exits; a TLB lookup keeps them in AX across
 * it, and flags no later instruction reads are dropped there
 * (flag_liveness.c). Jcc, ADC, SBB, SETcc and CMOVcc read valid host flags
 * directly. Undefined flags the model clears (AF after logic instructions)
 * are cleared when written back.
 *
 * Precise state: a fault can only come from a helper or a slow path, which
 * see exactly the interpreter's state (cached registers and dirty flags are
 * written back first, insn_rip and s.rip are set). Translated
 * code therefore never needs to recover state.
 */
#include <stdlib.h>
#include <Zydis/Zydis.h>

#include "engine/soft/interp/model_flags.h"
#include "engine/soft/jit/translate.h"

/* ---- emission helpers ---- */

/* Stores host register reg into the guest register of op with x86's merge
 * rules (a 32-bit write clears the upper half: reg already holds zeros
 * there). */
void store_gpr_from(struct tr *t, const struct soft_operand *op, unsigned size, unsigned reg)
{
	emit_store(&t->e, size == 4 ? 8 : size, gpr_dst(t, op, size), reg);
}

void store_gpr(struct tr *t, const struct soft_operand *op, unsigned size)
{
	store_gpr_from(t, op, size, H_RAX);
}

void store_u64(struct tr *t, struct rm m, uint64_t v)
{
	emit_store_imm64(&t->e, m, v, H_RAX);
}

struct stub *new_stub(struct tr *t, enum stub_kind kind)
{
	if (t->nstubs == MAX_STUBS) {
		t->fail = true;
		return &t->stubs[0];
	}
	struct stub *s = &t->stubs[t->nstubs++];
	*s = (struct stub){ .kind = (uint8_t)kind, .index = t->index, .rip = t->rip, .next = t->next, .in = t->in,
			    .dirty = t->dirty, .undef = t->undef, .wb = t->dirty_regs, .loaded = t->loaded };
	return s;
}

void stub_from(struct tr *t, struct stub *s, uint8_t *field)
{
	if (s->nfield == sizeof(s->field) / sizeof(s->field[0])) {
		t->fail = true; /* a translator bug: the block stays interpreted */
		return;
	}
	s->field[s->nfield++] = field;
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

void materialise(struct tr *t)
{
	emit_materialise(&t->e, t->dirty, t->undef);
	if (t->dirty)
		t->valid = 0;
	t->dirty = t->undef = 0;
}

/* The host flags are about to be clobbered. */
void flags_clobbered(struct tr *t)
{
	materialise(t);
	t->valid = 0;
}

/* Loads the guest's arithmetic flags from cpu->s.rflags into the host RFLAGS:
 * OF through an 8-bit add that overflows exactly when it is set, the rest
 * with SAHF. Clobbers RAX, RCX. */
void emit_load_flags(struct emit *e)
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
void need_flags(struct tr *t, uint32_t need)
{
	if ((t->valid & need) == need)
		return;
	materialise(t);
	emit_load_flags(&t->e);
	t->valid = SOFT_ARITH_FLAGS;
}

/* An instruction wrote the flags def on the host (undef among them cleared on write-back). */
void flags_written(struct tr *t, uint32_t def, uint32_t undef)
{
	t->valid |= def;
	t->dirty |= def;
	t->undef = (t->undef & ~def) | undef;
}

bool save_flags(struct tr *t)
{
	if (!t->dirty && !(t->valid & t->live_out)) {
		t->valid = 0;
		return false;
	}
	emit_save_ax(&t->e);
	return true;
}

void emit_save_ax(struct emit *e)
{
	emit_byte(e, 0x9f); /* lahf: SF ZF AF PF CF into AH */
	emit_op2(e, 1, 0x0f, 0x90, 0, rm_reg(H_RAX)); /* seto al */
}

/* AL + 0x7f overflows exactly when AL is 1 (OF), SAHF the rest. */
void emit_restore_ax(struct emit *e)
{
	emit_byte(e, 0x04); /* add al, 0x7f */
	emit_byte(e, 0x7f);
	emit_byte(e, 0x9e); /* sahf */
}

void restore_flags(struct tr *t, bool saved, uint32_t use)
{
	if (saved && (t->valid & (t->live_out | use))) {
		emit_restore_ax(&t->e);
		return;
	}
	/* Dead: overwritten before anything reads them (the slow path, a
	 * fault point, writes them back from AX itself). */
	t->valid = t->dirty = t->undef = 0;
}

struct stub *slow_stub_saving_flags(struct tr *t)
{
	bool saved = save_flags(t);
	struct stub *s = new_stub(t, STUB_SLOW);
	s->flags_in_ax = saved;
	return s;
}

void slow_join(struct tr *t, struct stub *s)
{
	s->join = t->e.p;
	/* the slow path's handler leaves every flag in cpu->s.rflags */
	s->load_flags = t->valid != 0;
	s->reload = t->loaded;
}

/* The flags condition code cc reads. */
uint32_t cond_flags(unsigned cc)
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
}

/* The frame of translated code: RBX (the vCPU) and R12..R15 (guest
 * registers) are the caller's; five pushes keep calls 16-byte aligned. */
static void emit_prologue(struct emit *e)
{
	emit_byte(e, 0x53); /* push rbx */
	for (unsigned r = 12; r <= 15; r++) {
		emit_byte(e, 0x41);
		emit_byte(e, (uint8_t)(0x50 + (r & 7))); /* push r12..r15 */
	}
	emit_load(e, 8, H_RBX, rm_reg(H_RDI));
}

static void emit_return(struct emit *e, uint64_t next)
{
	emit_mov_r64_imm(e, H_RAX, next);
	for (unsigned r = 15; r >= 12; r--) {
		emit_byte(e, 0x41);
		emit_byte(e, (uint8_t)(0x58 + (r & 7))); /* pop r15..r12 */
	}
	emit_byte(e, 0x5b); /* pop rbx */
	emit_byte(e, 0xc3); /* ret */
}

/* Jumps to an attention exit unless the vCPU may go on running translated
 * code: a kick (the machine wants the thread; NMIs kick too), INTR up or
 * work another vCPU asks for (the attention word), or the instruction
 * limit reached. Fills out[2] with the jumps to patch. */
#define ATTENTION_JUMPS 2
static void emit_attention(struct emit *e, uint8_t *out[ATTENTION_JUMPS])
{
	_Static_assert(sizeof(((struct soft_cpu *)0)->attention) == 4, "one dword compare");
	emit_alu_imm(e, ALU_CMP, 4, CPU_MEM(attention), 0);
	out[0] = emit_jcc(e, 5);
	emit_load(e, 8, H_RAX, CPU_MEM(insn_count));
	emit_alu_load(e, ALU_CMP, 8, H_RAX, CPU_MEM(insn_limit));
	out[1] = emit_jcc(e, 3 /* ae */);
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
	uint8_t *out[ATTENTION_JUMPS + 3];
	emit_attention(e, out);
	emit_load(e, 8, H_RAX, CPU_MEM(s.rip));
	emit_load(e, 8, H_RCX, rm_reg(H_RAX));
	emit_shift_imm(e, 5, 8, rm_reg(H_RCX), 12);
	emit_alu_load(e, ALU_XOR, 4, H_RCX, rm_reg(H_RAX));
	emit_alu_imm(e, ALU_AND, 4, rm_reg(H_RCX), (1u << JIT_JUMP_BITS) - 1);
	emit_shift_imm(e, 4, 4, rm_reg(H_RCX), 5); /* sizeof(struct jit_jump) */
	emit_mov_r64_imm(e, H_RDX, (uint64_t)(uintptr_t)t->cpu->jit->jump);
	emit_alu_load(e, ALU_CMP, 8, H_RAX, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, rip)));
	out[2] = emit_jcc(e, 5);
	emit_alu_imm(e, ALU_CMP, 4, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, key)), JIT_JUMP_KEY(t->view));
	out[3] = emit_jcc(e, 5);
	emit_load(e, 4, H_RAX, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, key) + 4)); /* the epoch's offset */
	emit_load(e, 8, H_RAX, rm_sib(H_RBX, H_RAX, 1, 0));
	emit_alu_load(e, ALU_CMP, 8, H_RAX, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, epoch)));
	out[4] = emit_jcc(e, 5);
	emit_op1(e, 4, 0xff, 4, rm_sib(H_RDX, H_RCX, 1, offsetof(struct jit_jump, code))); /* jmp [entry.code] */
	for (unsigned i = 0; i < ATTENTION_JUMPS + 3; i++)
		emit_patch(e, out[i], e->p);
	emit_return(e, s->next);
}

static void emit_exit(struct tr *t, const struct stub *s)
{
	struct emit *e = &t->e;
	regs_write_back(t, s->wb);
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
	uint8_t *out[ATTENTION_JUMPS], *cmp, *jmp, *slot_ref, *stale;
	emit_attention(e, out);
	emit_byte(e, 0x81); /* cmp dword [rbx + disp32], imm32 */
	emit_byte(e, 0x83 | 7 << 3);
	cmp = e->p;
	emit_u32(e, (uint32_t)OFF(chain_epoch));
	emit_u32(e, 0);
	stale = emit_jcc(e, 5);
	jmp = emit_jmp(e); /* to the next block once linked; until then, as if unlinked */
	for (unsigned i = 0; i < ATTENTION_JUMPS; i++)
		emit_patch(e, out[i], e->p);
	emit_patch(e, stale, e->p);
	emit_patch(e, jmp, e->p);
	slot_ref = emit_riprel(e, true, 0x8d, H_RAX); /* lea rax, [slot] */
	emit_store(e, 8, CPU_MEM(jit_link), H_RAX);
	emit_return(e, s->next);
	while ((uintptr_t)e->p & 7)
		emit_byte(e, 0xcc);
	emit_patch(e, slot_ref, e->p);
	struct jit_link slot = { .target = s->target, .cmp_back = (uint32_t)(e->p - cmp),
				 .jmp_back = (uint32_t)(e->p - jmp) };
	emit_bytes(e, &slot, sizeof(slot));
}

/* Calls the instruction's interpreter handler as the interpreter's loop does. */
void emit_handler_call(struct tr *t, const struct soft_insn *in)
{
	struct emit *e = &t->e;
	store_u64(t, CPU_MEM(insn_rip), t->rip);
	store_u64(t, CPU_MEM(s.rip), t->next);
	emit_mov_imm(e, 4, CPU_MEM(jit_fault_uncount), t->n - (t->index + 1));
	emit_load(e, 8, H_RDI, rm_reg(H_RBX));
	emit_mov_r64_imm(e, H_RSI, (uint64_t)(uintptr_t)in);
	emit_call_abs(e, (const void *)in->fn);
	emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(jit_helper_calls), 1);
	t->called = true;
}

/* JMP or CALL through a register or memory, near. */
static bool is_near_indirect(const struct soft_insn *in)
{
	return (in->mnemonic == ZYDIS_MNEMONIC_JMP || in->mnemonic == ZYDIS_MNEMONIC_CALL) && in->nops == 1 &&
	       (in->op[0].kind == SOFT_OP_REG || in->op[0].kind == SOFT_OP_MEM) && in->fn != soft_sys_far_branch;
}

/* After a handler: leave unless it went on to the next instruction and kept the block. */
void emit_handler_check(struct tr *t, bool always_leave)
{
	struct emit *e = &t->e;
	struct stub *s = new_stub(t, STUB_EXIT);
	s->dirty = s->undef = 0;
	s->wb = 0;
	s->lookup = t->long64 && is_near_indirect(t->in);
	if (always_leave) {
		stub_from(t, s, emit_jmp(e));
		return;
	}
	emit_mov_r64_imm(e, H_RAX, t->next);
	emit_alu_load(e, ALU_CMP, 8, H_RAX, CPU_MEM(s.rip));
	stub_from(t, s, emit_jcc(e, 5 /* ne */));
	emit_alu_imm(e, ALU_CMP, 1, CPU_MEM(end_block), 0);
	stub_from(t, s, emit_jcc(e, 5));
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
	regs_write_back(t, t->dirty_regs);
	flags_clobbered(t);
	emit_handler_call(t, t->in);
	regs_forget(t);
	emit_handler_check(t, changes_view(t->in));
	t->rip_stored = true;
}

/* ---- the block ---- */

static void translate_insn(struct tr *t)
{
	t->rip_stored = false;
	t->called = false;
	unsigned stubs = t->nstubs;
	regs_insn_begin(t);
	if (!(is_nop(t->in) || native_alu(t) || native_mov(t) || native_unary(t) || native_extend(t) ||
	      native_lea(t) || native_branch(t) || native_shift(t) || native_imul(t) || native_setcc_cmov(t) ||
	      native_misc(t) || native_bitscan(t) || native_bt(t) || native_sse(t) || native_mem(t) || native_stack(t) ||
	      native_indirect(t) || native_atomic(t)))
		translate_helper(t);
	/* Flag liveness took it for pure: had it a way out, flags it left
	 * unwritten could be seen (never so while the forms agree). */
	if (t->pure[t->index] && (t->called || t->nstubs != stubs))
		t->fail = true;
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
			regs_write_back(t, s->wb);
			if (s->flags_in_ax && s->dirty) {
				emit_restore_ax(e);
				emit_materialise(e, s->dirty, s->undef);
			}
			t->in = s->in;
			t->index = s->index;
			t->rip = s->rip;
			t->next = s->next;
			emit_handler_call(t, s->in);
			emit_handler_check(t, false);
			if (s->load_flags)
				emit_load_flags(e);
			regs_reload(t, s->reload);
			emit_patch(e, emit_jmp(e), s->join);
			break;
		case STUB_LOOP: {
			/* The instructions after the branch did not run this time round. */
			emit_materialise(e, s->dirty, s->undef);
			emit_uncount(e, t->n - (s->index + 1));
			uint8_t *out[ATTENTION_JUMPS];
			emit_attention(e, out);
			/* round again: the next pass counted, the registers as the head expects */
			emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(insn_count), t->n);
			if (t->preload)
				regs_reload(t, (uint16_t)(t->assigned & ~s->loaded));
			else
				regs_write_back(t, s->wb);
			emit_patch(e, emit_jmp(e), t->loop_head);
			for (unsigned i = 0; i < ATTENTION_JUMPS; i++)
				emit_patch(e, out[i], e->p);
			struct stub leave = *s;
			leave.dirty = leave.undef = 0;
			leave.index = t->n - 1;
			leave.kind = STUB_EXIT;
			emit_exit(t, &leave); /* writes back s->wb */
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
	uint64_t lin = cpu->s.seg[X86_CS].base + cpu->s.rip;

	uint8_t *start = c->rw + c->used;
	t->e = (struct emit){ .p = start, .end = start + room };
	struct emit *e = &t->e;
	emit_prologue(e);
	t->body = e->p; /* JIT_BODY_OFFSET: linked blocks jump here */
	emit_alu_imm(e, ALU_ADD, 8, CPU_MEM(insn_count), t->n);
	flag_liveness(t);
	regs_assign(t);
	if (t->preload) {
		regs_reload(t, t->assigned);
		t->loaded = t->dirty_regs = t->assigned; /* as on every pass: the back-edge's state is not known yet */
	}
	t->loop_head = e->p;
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
		t->live_out = t->live[i];
		translate_insn(t);
		rip = next;
	}
	/* Fall-through end: the last instruction went on to the next address,
	 * a direct branch like any other. */
	if (!t->rip_stored) {
		struct stub end = { .kind = STUB_EXIT, .has_target = true, .target = t->next, .index = t->n - 1,
				    .rip = t->rip, .next = t->next, .dirty = t->dirty, .undef = t->undef,
				    .wb = t->dirty_regs };
		emit_exit(t, &end);
	} else {
		emit_return(e, t->next);
	}
	emit_stubs(t);
	const void *code = NULL;
	if (!t->fail && !e->overflow) {
		b->jit_one_page = ((lin ^ (lin + (t->next - b->jit_rip) - 1)) >> 12) == 0;
		code = jit_cache_exec(c, start);
		if (jit->perf_map) /* perf's JIT map: START SIZE NAME, in hex */
			fprintf(jit->perf_map, "%lx %lx guest:%llx\n", (unsigned long)(uintptr_t)code,
				(unsigned long)(e->p - start), (unsigned long long)b->jit_rip);
		c->used += (size_t)(e->p - start + 15) & ~(size_t)15;
		jit->blocks++;
	} else {
		jit->failed++;
	}
	free(t);
	return code;
}
