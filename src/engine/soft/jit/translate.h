/* SPDX-License-Identifier: MIT */
/*
 * What the translator's files share (translate.c: the block, lazy flags,
 * exits and handler calls; native_reg.c, native_mem.c, native_sse.c: the
 * instruction forms translated to host code). Internal to jit/.
 */
#ifndef X86V_ENGINE_SOFT_JIT_TRANSLATE_H
#define X86V_ENGINE_SOFT_JIT_TRANSLATE_H

#include <stddef.h>
#include <Zydis/Zydis.h>

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
	bool flags_in_ax; /* a slow path: the flags dirty at the branch are in AX (save_flags) */
	bool lookup; /* an indirect branch in 64-bit code: try the jump table */
	uint8_t nfield;
	uint8_t *field[6]; /* rel32 fields that jump here (CALL [m]: two lookups and a check) */
	unsigned index; /* instruction in the block */
	uint64_t rip, next, target;
	uint32_t dirty, undef; /* flags to write back on the way out */
	uint16_t wb; /* guest registers to write back on the way out (reg_cache.c) */
	uint16_t reload; /* a slow path: cached registers to load before rejoining */
	uint16_t loaded; /* cached registers loaded where the stub is taken */
	const struct soft_insn *in;
	uint8_t *join;
};

struct tr {
	struct emit e;
	struct soft_cpu *cpu;
	const struct soft_block *b;
	unsigned n; /* instructions in the block */
	unsigned view;
	bool long64; /* 64-bit code: no segment checks, 64-bit stack */
	uint64_t wrap; /* rip mask outside 64-bit mode */
	/* the instruction being translated */
	const struct soft_insn *in;
	unsigned index;
	uint64_t rip, next;
	bool rip_stored; /* s.rip already holds the address to continue at */
	/* lazy flags */
	uint32_t valid, dirty, undef;
	uint8_t *body; /* where linked blocks enter (after the prologue) */
	uint8_t *loop_head; /* where a branch back to the block's start goes */
	struct stub stubs[MAX_STUBS];
	unsigned nstubs;
	bool fail;
	bool called; /* the current instruction called a handler */
	/* guest registers in host registers (reg_cache.c), bit g: guest register g */
	uint8_t host[16]; /* its host register, or H_NONE */
	uint16_t loaded, dirty_regs;
	uint16_t assigned; /* the registers with a host register */
	bool preload; /* a loop: every cached register loaded at its head */
	uint16_t nocache; /* named as AH..BH by the current instruction: in memory */
	/* flag liveness (flag_liveness.c): the arithmetic flags a later
	 * instruction or exit may read after each instruction, and which
	 * instructions are pure (see pure_flags) */
	uint32_t live_out; /* after the current instruction */
	uint32_t live[256];
	bool pure[256];
};

/* ---- translate.c ---- */

/* Stores host register reg (RAX) into a guest GPR with x86's merge rules. */
void store_gpr_from(struct tr *t, const struct soft_operand *op, unsigned size, unsigned reg);
void store_gpr(struct tr *t, const struct soft_operand *op, unsigned size);
void store_u64(struct tr *t, struct rm m, uint64_t v);
struct stub *new_stub(struct tr *t, enum stub_kind kind);
/* The jump whose rel32 field is field goes to stub s. */
void stub_from(struct tr *t, struct stub *s, uint8_t *field);
/* Lazy flags: write the dirty ones back; the host flags are about to be
 * clobbered; load them all from cpu->s.rflags; make need valid; def written. */
void materialise(struct tr *t);
void flags_clobbered(struct tr *t);
void emit_load_flags(struct emit *e);
void need_flags(struct tr *t, uint32_t need);
void flags_written(struct tr *t, uint32_t def, uint32_t undef);
/* Around a memory access's TLB lookup: save_flags keeps the flags still
 * to be written back or read later in AX (true if it emitted anything);
 * restore_flags puts them back into the host RFLAGS when the rest of the
 * block (or the instruction, use) reads them, and drops them otherwise. */
bool save_flags(struct tr *t);
void restore_flags(struct tr *t, bool saved, uint32_t use);
/* The arithmetic flags into AX (LAHF; SETO AL) and back (ADD AL, 0x7F; SAHF). */
void emit_save_ax(struct emit *e);
void emit_restore_ax(struct emit *e);
/* save_flags, then the slow path of a memory access (flags_in_ax says whether AX holds them). */
struct stub *slow_stub_saving_flags(struct tr *t);
/* The slow path s rejoins the translated code here. */
void slow_join(struct tr *t, struct stub *s);
/* The flags condition code cc reads. */
uint32_t cond_flags(unsigned cc);
/* The instruction's interpreter handler, called as the interpreter does,
 * and the exit taken after it unless it went on to the next instruction. */
void emit_handler_call(struct tr *t, const struct soft_insn *in);
void emit_handler_check(struct tr *t, bool always_leave);

/* ---- reg_cache.c ---- */

/* Chooses the guest registers the block keeps in host registers; in a
 * block that loops to its start, loads them all there (t->preload). */
void regs_assign(struct tr *t);
/* Before each instruction: registers it names as AH..BH go to memory. */
void regs_insn_begin(struct tr *t);
/* Where to read guest register g (all 64 bits), loading it if need be. */
struct rm gpr_read64(struct tr *t, unsigned g);
/* Where to read and write back all of guest register g. */
struct rm gpr_rmw64(struct tr *t, unsigned g);
/* Where to read a GPR operand (AH..BH: its second byte in memory). */
struct rm gpr_slot(struct tr *t, const struct soft_operand *op);
/* Where to write a GPR operand of size bytes with x86's merge rules (a
 * 4-byte write must clear bits 32..63 there); marks it written. */
struct rm gpr_dst(struct tr *t, const struct soft_operand *op, unsigned size);
void regs_write_back(struct tr *t, uint16_t regs);
void regs_reload(struct tr *t, uint16_t regs);
/* After a handler: nothing cached is current any more. */
void regs_forget(struct tr *t);

/* ---- flag_liveness.c ---- */

/* Fills t->live and t->pure for the block. */
void flag_liveness(struct tr *t);

/* ---- native_reg.c: register and immediate forms, branches ---- */

/* The forms translated as host code that can neither fault, leave nor call
 * a handler (flag_liveness.c relies on them being exactly those). */
static inline bool is_nop(const struct soft_insn *in)
{
	return in->mnemonic == ZYDIS_MNEMONIC_NOP && !(in->flags & SOFT_INSN_LOCK);
}
bool alu_reg_form(const struct soft_insn *in);
int unary_digit(const struct soft_insn *in, uint32_t *def); /* INC DEC NOT NEG: /digit, or -1 */
bool unary_reg_form(const struct soft_insn *in, uint32_t *def);
bool mov_reg_form(const struct soft_insn *in);
bool extend_form(const struct soft_insn *in); /* register or memory source */
bool lea_form(const struct soft_insn *in);
int shift_form(const struct soft_insn *in, uint32_t *def); /* /digit, or -1 */
bool shift_cl_form(const struct soft_insn *in); /* translated only while no flag is live after it */
bool imul_form(const struct soft_insn *in);
int setcc_cmov_form(const struct soft_insn *in); /* the condition code, or -1 */
bool misc_form(const struct soft_insn *in);
bool bitscan_form(const struct soft_insn *in);
bool bt_form(const struct soft_insn *in);

bool is_gpr(const struct soft_operand *op);
/* The ALU group of ADD..CMP (-2: TEST, -1: none); logic: AF undefined; writes: not CMP/TEST. */
int alu_group(unsigned mnemonic, bool *logic, bool *writes);
/* ALU r, r/imm, or r, [RSI] when mem. */
void emit_alu_reg_dst(struct tr *t, int alu, bool logic, bool writes, bool mem);
/* MOVZX / MOVSX / MOVSXD (extend_form) from srcm into the destination register. */
void emit_extend(struct tr *t, struct rm srcm);
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
bool native_bitscan(struct tr *t);
bool native_bt(struct tr *t);

/* ---- native_mem.c: memory forms (64-bit code) ---- */

/* Memory operands whose effective address emit_ea computes. */
bool ea_form(const struct soft_insn *in, const struct soft_operand *m);
/* The effective address into RSI with MOV and LEA only (host flags survive). */
void emit_ea(struct tr *t, const struct soft_operand *m);
/* RSI = the host address of m's access, or a jump to the slow path s. */
void emit_mem_lookup(struct tr *t, const struct soft_operand *m, unsigned size, bool write, struct stub *s);
bool native_mem(struct tr *t);
bool native_stack(struct tr *t);
bool native_indirect(struct tr *t);
bool native_atomic(struct tr *t);

/* ---- native_sse.c ---- */

bool native_sse(struct tr *t);

#endif
