/* SPDX-License-Identifier: MIT */
/*
 * What the translator's files share (translate.c: the block, lazy flags,
 * exits and handler calls; native_reg.c, native_mem.c, native_sse.c: the
 * instruction forms translated to host code). Internal to jit/.
 */
#ifndef X86V_ENGINE_SOFT_JIT_TRANSLATE_H
#define X86V_ENGINE_SOFT_JIT_TRANSLATE_H

#include <stddef.h>

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
	/* The next instruction writes all six arithmetic flags without reading
	 * any and can neither fault nor leave: the current one's flags are dead. */
	bool flags_dead;
};

/* ---- translate.c ---- */

/* The slot of a guest GPR operand (AH..BH: its second byte). */
struct rm gpr_slot(const struct soft_operand *op);
/* Stores host RAX into a guest GPR with x86's merge rules. */
void store_gpr(struct tr *t, const struct soft_operand *op, unsigned size);
void store_u64(struct tr *t, struct rm m, uint64_t v);
struct stub *new_stub(struct tr *t, enum stub_kind kind);
/* Lazy flags: write the dirty ones back; the host flags are about to be
 * clobbered; load them all from cpu->s.rflags; make need valid; def written. */
void materialise(struct tr *t);
void flags_clobbered(struct tr *t);
void emit_load_flags(struct emit *e);
void need_flags(struct tr *t, uint32_t need);
void flags_written(struct tr *t, uint32_t def, uint32_t undef);
/* The flags condition code cc reads. */
uint32_t cond_flags(unsigned cc);
/* The instruction's interpreter handler, called as the interpreter does,
 * and the exit taken after it unless it went on to the next instruction. */
void emit_handler_call(struct tr *t, const struct soft_insn *in);
void emit_handler_check(struct tr *t, bool always_leave);

/* ---- native_reg.c: register and immediate forms, branches ---- */

bool is_gpr(const struct soft_operand *op);
/* The ALU group of ADD..CMP (-2: TEST, -1: none); logic: AF undefined; writes: not CMP/TEST. */
int alu_group(unsigned mnemonic, bool *logic, bool *writes);
/* ALU r, r/imm, or r, [RSI] when mem. */
void emit_alu_reg_dst(struct tr *t, int alu, bool logic, bool writes, bool mem);
/* MOVZX / MOVSX / MOVSXD from srcm into the destination register. */
bool emit_extend(struct tr *t, struct rm srcm);
/* A relative branch's target; false when taking it would fault. */
bool branch_target(struct tr *t, uint64_t *target);
/* The exit (or loop back-edge) of a taken branch to target. */
struct stub *taken_stub(struct tr *t, uint64_t target);
/* Each native_* translates the current instruction (true) or leaves it to a handler call. */
bool native_alu(struct tr *t);
bool native_unary(struct tr *t);
bool native_mov(struct tr *t);
bool native_extend(struct tr *t);
bool native_lea(struct tr *t);
bool native_branch(struct tr *t);
bool native_shift(struct tr *t);
bool native_imul(struct tr *t);
bool native_setcc_cmov(struct tr *t);
bool native_misc(struct tr *t);

/* ---- native_mem.c: memory forms (64-bit code) ---- */

/* The effective address into RSI with MOV and LEA only (host flags survive). */
bool emit_ea(struct tr *t, const struct soft_operand *m);
/* RSI = the host address of m's access, or a jump to the slow path s. */
bool emit_mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s);
bool native_mem(struct tr *t);
bool native_stack(struct tr *t);

/* ---- native_sse.c ---- */

bool native_sse(struct tr *t);

#endif
