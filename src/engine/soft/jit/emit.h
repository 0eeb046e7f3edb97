/* SPDX-License-Identifier: MIT */
/*
 * A small x86-64 instruction emitter for the translator: one generic
 * encoder (prefixes, REX, ModRM, SIB, displacement) under a handful of
 * named forms. Guest and host are the same ISA, so most translated guest
 * instructions become the same opcode with host operands; the emitter only
 * needs the register/memory operand forms below, not a full assembler
 * (docs/translator.md says why this is not Zydis' encoder).
 *
 * Operand sizes are 1, 2, 4 or 8 bytes. Byte forms use AL, CL, DL, BL and
 * R8B..R15B, never SPL..DIL; AH (register 4) only where no REX prefix can
 * come (both operands below R8), as in the flag juggling of native_bt.
 */
#ifndef X86V_ENGINE_SOFT_JIT_EMIT_H
#define X86V_ENGINE_SOFT_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Host registers (R8..R15 are 8..15). */
enum { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI };
#define H_NONE 0xff

/* ALU opcode groups (the /digit of 80/81/83 and opcode bits 5..3 of the
 * two-operand forms). */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

struct emit {
	uint8_t *p, *end;
	bool overflow; /* ran past end: the translation is dropped */
};

/* A register or memory operand: [base + index * scale + disp]. */
struct rm {
	bool is_reg;
	uint8_t reg, base, index, scale;
	int32_t disp;
};

static inline struct rm rm_reg(unsigned r)
{
	return (struct rm){ .is_reg = true, .reg = (uint8_t)r };
}

static inline struct rm rm_mem(unsigned base, int32_t disp)
{
	return (struct rm){ .base = (uint8_t)base, .index = H_NONE, .scale = 1, .disp = disp };
}

static inline struct rm rm_sib(unsigned base, unsigned index, unsigned scale, int32_t disp)
{
	return (struct rm){ .base = (uint8_t)base, .index = (uint8_t)index, .scale = (uint8_t)scale, .disp = disp };
}

/* Appends n bytes, or marks the translation as too long (it is dropped).
 * Not checked by ASan: the code cache is a mapping it cannot poison, so
 * its checks of these stores, a fifth of the soft fuzz target's time,
 * could never fire; the bound is checked here. */
__attribute__((no_sanitize_address)) static inline void emit_bytes(struct emit *e, const void *b, unsigned n)
{
	if ((size_t)(e->end - e->p) < n) {
		e->p = e->end;
		e->overflow = true;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		e->p[i] = ((const uint8_t *)b)[i];
	e->p += n;
}

static inline void emit_byte(struct emit *e, uint8_t b)
{
	emit_bytes(e, &b, 1);
}

static inline void emit_u16(struct emit *e, uint16_t v) { emit_bytes(e, &v, 2); }
static inline void emit_u32(struct emit *e, uint32_t v) { emit_bytes(e, &v, 4); }
static inline void emit_u64(struct emit *e, uint64_t v) { emit_bytes(e, &v, 8); }

static inline bool fits_i8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/*
 * The generic form: [66] [REX] opcode ModRM [SIB] [disp] for an instruction
 * of operand size size whose ModRM reg field is reg (a register or a /digit)
 * and whose r/m operand is rm. The caller appends any immediate.
 */
static inline void emit_op(struct emit *e, unsigned size, const uint8_t *opcode, unsigned oplen, unsigned reg,
			   struct rm rm)
{
	uint8_t b[16]; /* at most 66, REX, 3 opcode bytes, ModRM, SIB, disp32 */
	unsigned n = 0;
	if (size == 2)
		b[n++] = 0x66;
	unsigned rex = (size == 8 ? 8 : 0) | ((reg & 8) ? 4 : 0);
	if (rm.is_reg) {
		rex |= (rm.reg & 8) ? 1 : 0;
	} else {
		rex |= (rm.base != H_NONE && (rm.base & 8)) ? 1 : 0;
		rex |= (rm.index != H_NONE && (rm.index & 8)) ? 2 : 0;
	}
	if (rex)
		b[n++] = (uint8_t)(0x40 | rex);
	for (unsigned i = 0; i < oplen; i++)
		b[n++] = opcode[i];
	if (rm.is_reg) {
		b[n++] = (uint8_t)(0xc0 | (reg & 7) << 3 | (rm.reg & 7));
		emit_bytes(e, b, n);
		return;
	}
	unsigned mod = rm.disp == 0 && (rm.base & 7) != H_RBP ? 0 : fits_i8(rm.disp) ? 1 : 2;
	if (rm.index == H_NONE && (rm.base & 7) != H_RSP) {
		b[n++] = (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm.base & 7));
	} else {
		unsigned ss = rm.scale == 8 ? 3 : rm.scale == 4 ? 2 : rm.scale == 2 ? 1 : 0;
		unsigned idx = rm.index == H_NONE ? 4 : rm.index & 7;
		b[n++] = (uint8_t)(mod << 6 | (reg & 7) << 3 | 4);
		b[n++] = (uint8_t)(ss << 6 | idx << 3 | (rm.base & 7));
	}
	if (mod == 1) {
		b[n++] = (uint8_t)(int8_t)rm.disp;
	} else if (mod == 2) {
		memcpy(b + n, &rm.disp, 4);
		n += 4;
	}
	emit_bytes(e, b, n);
}

static inline void emit_op1(struct emit *e, unsigned size, uint8_t opcode, unsigned reg, struct rm rm)
{
	emit_op(e, size, &opcode, 1, reg, rm);
}

static inline void emit_op2(struct emit *e, unsigned size, uint8_t op0, uint8_t op1, unsigned reg, struct rm rm)
{
	uint8_t op[2] = { op0, op1 };
	emit_op(e, size, op, 2, reg, rm);
}

/* An immediate of an instruction of operand size size (8-byte forms take a
 * sign-extended 32-bit one). */
static inline void emit_imm(struct emit *e, unsigned size, uint64_t imm)
{
	if (size == 1)
		emit_byte(e, (uint8_t)imm);
	else if (size == 2)
		emit_u16(e, (uint16_t)imm);
	else
		emit_u32(e, (uint32_t)imm);
}

/* MOV reg, r/m and MOV r/m, reg. */
static inline void emit_load(struct emit *e, unsigned size, unsigned reg, struct rm rm)
{
	emit_op1(e, size, size == 1 ? 0x8a : 0x8b, reg, rm);
}

static inline void emit_store(struct emit *e, unsigned size, struct rm rm, unsigned reg)
{
	emit_op1(e, size, size == 1 ? 0x88 : 0x89, reg, rm);
}

/* op reg, r/m and op r/m, reg for an ALU group. */
static inline void emit_alu_load(struct emit *e, unsigned alu, unsigned size, unsigned reg, struct rm rm)
{
	emit_op1(e, size, (uint8_t)(alu << 3 | (size == 1 ? 2 : 3)), reg, rm);
}

static inline void emit_alu_store(struct emit *e, unsigned alu, unsigned size, struct rm rm, unsigned reg)
{
	emit_op1(e, size, (uint8_t)(alu << 3 | (size == 1 ? 0 : 1)), reg, rm);
}

/* op r/m, imm for an ALU group (imm at the operand size, 8 bytes: 32 sign-extended). */
static inline void emit_alu_imm(struct emit *e, unsigned alu, unsigned size, struct rm rm, uint64_t imm)
{
	if (size > 1 && fits_i8((int64_t)(size == 2 ? (int16_t)imm : size == 4 ? (int32_t)imm : (int64_t)imm))) {
		emit_op1(e, size, 0x83, alu, rm);
		emit_byte(e, (uint8_t)imm);
		return;
	}
	emit_op1(e, size, size == 1 ? 0x80 : 0x81, alu, rm);
	emit_imm(e, size, imm);
}

/* MOV r/m, imm (C6/C7: 8 bytes sign-extends a 32-bit immediate). */
static inline void emit_mov_imm(struct emit *e, unsigned size, struct rm rm, uint64_t imm)
{
	emit_op1(e, size, size == 1 ? 0xc6 : 0xc7, 0, rm);
	emit_imm(e, size, imm);
}

/* MOV reg, imm64 in the shortest form. */
static inline void emit_mov_r64_imm(struct emit *e, unsigned reg, uint64_t imm)
{
	if (imm <= UINT32_MAX) { /* mov r32, imm32 zero-extends */
		if (reg & 8)
			emit_byte(e, 0x41);
		emit_byte(e, (uint8_t)(0xb8 + (reg & 7)));
		emit_u32(e, (uint32_t)imm);
	} else if (fits_i32((int64_t)imm)) {
		emit_mov_imm(e, 8, rm_reg(reg), imm);
	} else {
		emit_byte(e, (reg & 8) ? 0x49 : 0x48);
		emit_byte(e, (uint8_t)(0xb8 + (reg & 7)));
		emit_u64(e, imm);
	}
}

/* A 64-bit store of imm to memory, through scratch when imm does not fit. */
static inline void emit_store_imm64(struct emit *e, struct rm m, uint64_t imm, unsigned scratch)
{
	if (fits_i32((int64_t)imm)) {
		emit_mov_imm(e, 8, m, imm);
	} else {
		emit_mov_r64_imm(e, scratch, imm);
		emit_store(e, 8, m, scratch);
	}
}

static inline void emit_lea(struct emit *e, unsigned reg, struct rm m)
{
	emit_op1(e, 8, 0x8d, reg, m);
}

/* Shift group C1 /digit imm8 (4 = SHL, 5 = SHR, 7 = SAR). */
static inline void emit_shift_imm(struct emit *e, unsigned digit, unsigned size, struct rm rm, uint8_t count)
{
	emit_op1(e, size, size == 1 ? 0xc0 : 0xc1, digit, rm);
	emit_byte(e, count);
}

/* Jcc rel32 / JMP rel32: the returned field is patched with emit_patch. */
static inline uint8_t *emit_jcc(struct emit *e, unsigned cc)
{
	emit_byte(e, 0x0f);
	emit_byte(e, (uint8_t)(0x80 | cc));
	uint8_t *field = e->p;
	emit_u32(e, 0);
	return field;
}

static inline uint8_t *emit_jmp(struct emit *e)
{
	emit_byte(e, 0xe9);
	uint8_t *field = e->p;
	emit_u32(e, 0);
	return field;
}

/* Points the rel32 field at target (both in the same buffer). */
static inline void emit_patch(struct emit *e, uint8_t *field, const uint8_t *target)
{
	if (e->overflow)
		return;
	int32_t rel = (int32_t)(target - (field + 4));
	memcpy(field, &rel, 4);
}

/* CALL through RAX to an absolute address. */
static inline void emit_call_abs(struct emit *e, const void *fn)
{
	emit_mov_r64_imm(e, H_RAX, (uint64_t)(uintptr_t)fn);
	emit_byte(e, 0xff);
	emit_byte(e, 0xd0);
}

#endif
