/* SPDX-License-Identifier: MIT */
/*
 * A decoded instruction in the soft engine's own compact form. The decoder
 * (Zydis, behind the block cache in soft_decode.c) runs once per instruction
 * address; execution only ever sees these structs, so the decoder is off the
 * per-instruction path, and the binary translator will consume the same form.
 *
 * Handler contract: soft_handler_fn runs with cpu->insn_rip = the address of
 * the instruction and cpu->s.rip = the address of the next one. A branch
 * writes s.rip. A handler that faults calls soft_raise*() before changing any
 * state. Handlers are registered per Zydis mnemonic by the interp/ families.
 */
#ifndef X86V_ENGINE_SOFT_INSN_H
#define X86V_ENGINE_SOFT_INSN_H

#include <stdint.h>

#include "engine/soft/soft_cpu.h"

enum soft_op_kind {
	SOFT_OP_NONE,
	SOFT_OP_REG, /* general register: reg = 0..15, size 1/2/4/8 */
	SOFT_OP_REG8H, /* AH, CH, DH, BH: reg = 0..3 (the register whose bits 8..15 it is) */
	SOFT_OP_MEM, /* seg:[base + index * scale + disp], size bytes */
	SOFT_OP_IMM, /* imm: sign- or zero-extended to 64 bits as encoded */
	SOFT_OP_SREG, /* segment register: reg = X86_ES..X86_GS */
	SOFT_OP_CR, /* control register: reg = 0..15 */
	SOFT_OP_DR, /* debug register: reg = 0..7 */
	SOFT_OP_PTR, /* far pointer immediate: ptr_sel:imm */
	SOFT_OP_ST, /* x87 stack register ST(reg), reg = 0..7 relative to TOP */
	SOFT_OP_MMX, /* MMX register: reg = 0..7 */
	SOFT_OP_XMM, /* SSE register: reg = 0..15 */
	SOFT_OP_UNSUPPORTED, /* anything else (YMM, mask, bound...): the instruction raises #UD */
};

#define SOFT_NOREG 0xff
#define SOFT_REG_RIP 16 /* MEM base: RIP-relative (next instruction's address) */

struct soft_operand {
	uint8_t kind;
	uint8_t size; /* bytes */
	uint8_t reg;
	uint8_t seg; /* MEM: effective segment, overrides applied */
	uint8_t base, index, scale; /* MEM */
	uint16_t ptr_sel; /* PTR */
	uint64_t imm; /* IMM value, PTR offset */
	int64_t disp; /* MEM */
};

#define SOFT_INSN_REP (1u << 0) /* F3 on string instructions: REP / REPE */
#define SOFT_INSN_REPNE (1u << 1) /* F2 on string instructions */
#define SOFT_INSN_LOCK (1u << 2)
#define SOFT_INSN_MAX_OPS 4

struct soft_insn;
typedef void soft_handler_fn(struct soft_cpu *cpu, const struct soft_insn *in);

struct soft_insn {
	soft_handler_fn *fn;
	uint16_t mnemonic; /* ZydisMnemonic */
	uint8_t len;
	uint8_t opsize; /* effective operand size in bytes (2, 4, 8; 1 for byte forms) */
	uint8_t addrsize; /* effective address size in bytes */
	uint8_t flags; /* SOFT_INSN_* */
	uint8_t nops; /* visible operands */
	uint8_t opcode; /* last opcode byte, for handlers that share a mnemonic */
	struct soft_operand op[SOFT_INSN_MAX_OPS];
};

/* Registration: table[mnemonic] = handler. Each interp/ family has one. */
typedef void soft_register_fn(soft_handler_fn **table);
void soft_register_alu(soft_handler_fn **table); /* interp/alu.c: arithmetic, logic, mul/div, inc/dec, neg/not, cmp/test */
void soft_register_shift(soft_handler_fn **table); /* interp/shift.c: shifts, rotates, shld/shrd */
void soft_register_bits(soft_handler_fn **table); /* interp/bits.c: bt*, bsf/bsr, popcnt, lzcnt/tzcnt, bswap, BMI */
void soft_register_move(soft_handler_fn **table); /* interp/move.c: mov*, lea, xchg, cmpxchg*, xadd, cmov, setcc, cbw.., lahf/sahf, xlat */
void soft_register_bcd(soft_handler_fn **table); /* interp/bcd.c: daa das aaa aas aam aad */
void soft_register_string(soft_handler_fn **table); /* interp/string.c: movs cmps stos lods scas ins outs, with REP */
void soft_register_stack(soft_handler_fn **table); /* interp/stack.c: push pop pusha popa pushf popf enter leave */
void soft_register_control(soft_handler_fn **table); /* interp/control.c: near jmp/jcc/call/ret, loop*, jcxz */
void soft_register_far(soft_handler_fn **table); /* interp/far.c: INT n, INT3, INTO, INT1, IRET (far JMP/CALL/RET are routed by the decoder) */
void soft_register_far_pointer(soft_handler_fn **table); /* interp/far_pointer.c: LDS LES LSS LFS LGS */
/* interp/system.c: everything privileged, I/O, CPUID; interp/msr.c: RDMSR WRMSR RDTSC(P) SYSCALL SYSRET
 * SYSENTER SYSEXIT SWAPGS (called by soft_register_system) */
void soft_register_system(soft_handler_fn **table);
void soft_register_x87(soft_handler_fn **table); /* interp/x87*.c, fpu_state.c: x87 FPU, FXSAVE/FXRSTOR, XSAVE family */
void soft_register_msr(soft_handler_fn **table);
/* interp/sse_*.c, mmx.c: MMX and SSE..SSE4.2 forms with an MMX/XMM operand (the SIMD table) */
void soft_register_sse(soft_handler_fn **table);
/* interp/sse_*.c, mmx.c: LDMXCSR STMXCSR EMMS CRC32 MOVNTI (the normal table) */
void soft_register_sse_misc(soft_handler_fn **table);
/* Leaf-1 ECX bits SSE3/SSSE3/SSE4.1/SSE4.2 this host lets the soft engine implement. */
uint32_t soft_sse_cpuid_ecx(void);

/* ---- operand access (soft_operand.c) ---- */

/* Effective address (offset within the segment), truncated to the address size. */
uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op);
/* Reads/writes operand n (REG, REG8H, MEM, IMM for reads, SREG for reads). Values are zero-extended. */
uint64_t soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n);
/* soft_op_read of an operand the instruction then writes (soft_seg_read_rmw). */
uint64_t soft_op_read_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n);
void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value);

/* Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc opcodes) against RFLAGS. */
bool soft_cond(const struct soft_cpu *cpu, unsigned cc);

#endif
