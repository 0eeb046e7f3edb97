/* SPDX-License-Identifier: MIT */
/*
 * x87 control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW (m16 and
 * AX), FNSTENV/FLDENV and FNSAVE/FRSTOR in the 14- and 28-byte environment
 * formats, protected and real-address (SDM Vol. 1 §8.1.10, Figures 8-9 to
 * 8-12; Vol. 2 the instruction pages). The FN* forms are non-waiting: they
 * skip the pending-exception check; FLDCW, FLDENV and FRSTOR wait.
 *
 * The image bytes follow current Intel hardware: the reserved upper halves
 * of the 32-bit format's FCW/FSW/FTW/FDS fields read 0xffff, FCS and FDS are
 * stored as zero (deprecated, CPUID.(7,0):EBX[13]). Loading an environment
 * recomputes ES/B from the flags and masks, as the next waiting instruction
 * would see them.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/x87.h"

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b + 2, v >> 16);
}

static unsigned get16(const uint8_t *b)
{
	return b[0] | (unsigned)b[1] << 8;
}

static uint32_t get32(const uint8_t *b)
{
	return get16(b) | (uint32_t)get16(b + 2) << 16;
}

/* The environment of f in the format given by len (14 or 28) and mode. */
static void env_encode(const struct x86_fpu_state *f, uint8_t *b, unsigned len, bool real)
{
	uint16_t ftw = x87_full_tag_word(f);
	uint32_t fip = (uint32_t)f->fip, fdp = (uint32_t)f->fdp;
	if (len == 14) {
		put16(b + 0, f->fcw);
		put16(b + 2, f->fsw);
		put16(b + 4, ftw);
		put16(b + 6, fip & 0xffff);
		put16(b + 10, fdp & 0xffff);
		if (real) {
			put16(b + 8, ((fip >> 16) & 0xf) << 12 | (f->fop & 0x7ff));
			put16(b + 12, ((fdp >> 16) & 0xf) << 12);
		} else {
			put16(b + 8, 0); /* FCS */
			put16(b + 12, 0); /* FDS */
		}
		return;
	}
	put32(b + 0, 0xffff0000u | f->fcw);
	put32(b + 4, 0xffff0000u | f->fsw);
	put32(b + 8, 0xffff0000u | ftw);
	if (real) {
		put32(b + 12, 0xffff0000u | (fip & 0xffff));
		put32(b + 16, (fip >> 16) << 12 | (f->fop & 0x7ffu));
		put32(b + 20, 0xffff0000u | (fdp & 0xffff));
		put32(b + 24, (fdp >> 16) << 12);
	} else {
		put32(b + 12, fip);
		put32(b + 16, (uint32_t)(f->fop & 0x7ffu) << 16); /* FCS 0 */
		put32(b + 20, fdp);
		put32(b + 24, 0xffff0000u); /* FDS 0 */
	}
}

/* Loads an environment; tags: only "empty" matters, the rest is recomputed
 * from the contents when read again. */
static void env_decode(struct x86_fpu_state *f, const uint8_t *b, unsigned len, bool real)
{
	f->fcw = (uint16_t)((get16(b) & FCW_VALID) | FCW_FIXED);
	if (len == 14) {
		f->fsw = (uint16_t)get16(b + 2);
		f->ftw = x87_abridge_tags((uint16_t)get16(b + 4));
		if (real) {
			unsigned w = get16(b + 8);
			f->fip = get16(b + 6) | (uint64_t)(w >> 12) << 16;
			f->fop = (uint16_t)(w & 0x7ff);
			f->fdp = get16(b + 10) | (uint64_t)(get16(b + 12) >> 12) << 16;
		} else {
			f->fip = get16(b + 6);
			f->fdp = get16(b + 10);
		}
	} else {
		f->fsw = (uint16_t)get16(b + 4);
		f->ftw = x87_abridge_tags((uint16_t)get16(b + 8));
		if (real) {
			uint32_t w = get32(b + 16);
			f->fip = get16(b + 12) | (uint64_t)((w >> 12) & 0xffff) << 16;
			f->fop = (uint16_t)(w & 0x7ff);
			f->fdp = get16(b + 20) | (uint64_t)((get32(b + 24) >> 12) & 0xffff) << 16;
		} else {
			f->fip = get32(b + 12);
			f->fop = (uint16_t)((get32(b + 16) >> 16) & 0x7ff);
			f->fdp = get32(b + 20);
		}
	}
	f->fsw = x87_fsw_summary(f->fsw, f->fcw);
}

static unsigned env_len(const struct soft_insn *in, bool with_regs)
{
	unsigned len = in->op[0].size; /* Zydis: 14/28, or 94/108 with the registers */
	if (with_regs)
		len -= 80;
	return len == 14 ? 14 : 28;
}

static void op_fnstenv(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	unsigned len = env_len(in, false);
	uint8_t b[28];
	env_encode(&cpu->s.fpu, b, len, x87_real_format(cpu));
	uint64_t lin = x87_mem_linear(cpu, in, 0, len, SOFT_ACC_WRITE);
	soft_lin_write_bytes(cpu, lin, b, len, cpu->cpl == 3);
	/* FSTENV masks all exceptions after storing (SDM Vol. 2A, FSTENV). */
	cpu->s.fpu.fcw |= FSW_EXC;
	cpu->s.fpu.fsw = x87_fsw_summary(cpu->s.fpu.fsw, cpu->s.fpu.fcw);
}

static void op_fldenv(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	x87_check_pending(cpu);
	unsigned len = env_len(in, false);
	uint8_t b[28];
	uint64_t lin = x87_mem_linear(cpu, in, 0, len, SOFT_ACC_READ);
	soft_lin_read_bytes(cpu, lin, b, len, cpu->cpl == 3);
	env_decode(&cpu->s.fpu, b, len, x87_real_format(cpu));
}

static void op_fnsave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	struct x86_fpu_state *f = &cpu->s.fpu;
	unsigned len = env_len(in, true);
	uint8_t b[108];
	env_encode(f, b, len, x87_real_format(cpu));
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++)
		memcpy(b + len + 10 * i, f->st[(top + i) & 7], 10);
	uint64_t lin = x87_mem_linear(cpu, in, 0, len + 80, SOFT_ACC_WRITE);
	soft_lin_write_bytes(cpu, lin, b, len + 80, cpu->cpl == 3);
	x87_init_state(f);
}

static void op_frstor(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	x87_check_pending(cpu);
	struct x86_fpu_state *f = &cpu->s.fpu;
	unsigned len = env_len(in, true);
	uint8_t b[108];
	uint64_t lin = x87_mem_linear(cpu, in, 0, len + 80, SOFT_ACC_READ);
	soft_lin_read_bytes(cpu, lin, b, len + 80, cpu->cpl == 3);
	env_decode(f, b, len, x87_real_format(cpu));
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(f->st[(top + i) & 7], b + len + 10 * i, 10);
		memset(f->st[(top + i) & 7] + 10, 0, 6);
	}
}

static void op_fldcw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	x87_check_pending(cpu);
	uint16_t cw = (uint16_t)soft_op_read(cpu, in, 0);
	struct x86_fpu_state *f = &cpu->s.fpu;
	f->fcw = (uint16_t)((cw & FCW_VALID) | FCW_FIXED);
	/* Unmasking a flag that is already set makes the exception pending. */
	f->fsw = x87_fsw_summary(f->fsw, f->fcw);
}

static void op_fnstcw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	soft_op_write(cpu, in, 0, cpu->s.fpu.fcw);
}

/* FNSTSW m16 or AX (the decoder gives AX as a 16-bit register operand). */
static void op_fnstsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	x87_check_nm(cpu);
	soft_op_write(cpu, in, 0, cpu->s.fpu.fsw);
}

static void op_fninit(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	x87_check_nm(cpu);
	x87_init_state(&cpu->s.fpu);
}

/* FNCLEX: the exception flags, SF, ES and B; C0-C3 and TOP stay. */
static void op_fnclex(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	x87_check_nm(cpu);
	cpu->s.fpu.fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
}

void x87_register_env(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_FNSTENV] = op_fnstenv;
	table[ZYDIS_MNEMONIC_FLDENV] = op_fldenv;
	table[ZYDIS_MNEMONIC_FNSAVE] = op_fnsave;
	table[ZYDIS_MNEMONIC_FRSTOR] = op_frstor;
	table[ZYDIS_MNEMONIC_FLDCW] = op_fldcw;
	table[ZYDIS_MNEMONIC_FNSTCW] = op_fnstcw;
	table[ZYDIS_MNEMONIC_FNSTSW] = op_fnstsw;
	table[ZYDIS_MNEMONIC_FNINIT] = op_fninit;
	table[ZYDIS_MNEMONIC_FNCLEX] = op_fnclex;
}
