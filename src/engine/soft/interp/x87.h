/* SPDX-License-Identifier: MIT */
/*
 * What the x87 files (x87.c, x87_env.c, fpu_state.c) share: status-word
 * bits, the tag word in its full and abridged forms, the checks every x87
 * instruction makes first (#NM, pending #MF), and FIP/FDP bookkeeping.
 * SDM Vol. 1 §8.1 (x87 registers), §8.6-8.7 (exception synchronisation,
 * #MF), Vol. 3A §2.5 Table 2-2 (CR0.EM/MP/TS actions).
 *
 * State convention (cpu/x86_state.h): fpu.st[] holds the eight registers in
 * PHYSICAL order (ST(i) is st[(TOP + i) & 7]); fpu.ftw is the abridged tag
 * (bit p set: physical register p is not empty), as FXSAVE stores it; the
 * full 2-bit tags are derived from the contents when FSTENV/FSAVE need them.
 * FIP and FDP are offsets (linear addresses in real and virtual-8086 mode);
 * FCS and FDS are not kept: CPUID.(7,0):EBX[13] says they are deprecated and
 * saved as zero, as on current Intel CPUs.
 */
#ifndef X86V_ENGINE_SOFT_INTERP_X87_H
#define X86V_ENGINE_SOFT_INTERP_X87_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/soft/soft_insn.h"

/* Status word (SDM Vol. 1 Figure 8-4). */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP_SHIFT 11
#define FSW_TOP (7u << FSW_TOP_SHIFT)
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003fu /* the six exception flags, maskable by FCW[5:0] */

/* Control word: bit 6 reads as 1, bits 7 and 13..15 as 0 (SDM Vol. 1 §8.1.5). */
#define FCW_VALID 0x1f3fu
#define FCW_FIXED 0x0040u
#define FCW_INIT 0x037fu

/* Full tag values (SDM Vol. 1 Figure 8-7). */
enum { X87_TAG_VALID = 0, X87_TAG_ZERO = 1, X87_TAG_SPECIAL = 2, X87_TAG_EMPTY = 3 };

#define MXCSR_MASK_SUPPORTED 0xffffu /* DAZ included */

static inline unsigned x87_top(const struct x86_fpu_state *f)
{
	return (f->fsw >> FSW_TOP_SHIFT) & 7;
}

/* The full tag of physical register p from its contents (FXSAVE's inverse, SDM Vol. 1 §10.5.1.1). */
static inline unsigned x87_tag_of(const struct x86_fpu_state *f, unsigned p)
{
	if (!(f->ftw & (1u << p)))
		return X87_TAG_EMPTY;
	const uint8_t *r = f->st[p];
	uint64_t mant;
	memcpy(&mant, r, 8);
	unsigned exp = (r[8] | (unsigned)r[9] << 8) & 0x7fff;
	if (exp == 0x7fff)
		return X87_TAG_SPECIAL;
	if (exp == 0)
		return mant ? X87_TAG_SPECIAL : X87_TAG_ZERO;
	return (mant >> 63) ? X87_TAG_VALID : X87_TAG_SPECIAL; /* unnormals are special */
}

static inline uint16_t x87_full_tag_word(const struct x86_fpu_state *f)
{
	uint16_t t = 0;
	for (unsigned p = 0; p < 8; p++)
		t |= (uint16_t)(x87_tag_of(f, p) << (2 * p));
	return t;
}

static inline uint8_t x87_abridge_tags(uint16_t full)
{
	uint8_t a = 0;
	for (unsigned p = 0; p < 8; p++)
		if (((full >> (2 * p)) & 3) != X87_TAG_EMPTY)
			a |= (uint8_t)(1u << p);
	return a;
}

/* ES and B summarise the exception flags not masked by FCW (SDM Vol. 1 §8.1.3.1). */
static inline uint16_t x87_fsw_summary(uint16_t fsw, uint16_t fcw)
{
	fsw &= (uint16_t)~(FSW_ES | FSW_B);
	if (fsw & ~fcw & FSW_EXC)
		fsw |= FSW_ES | FSW_B;
	return fsw;
}

/* FNINIT (SDM Vol. 2A, FINIT): register contents are kept, only tagged empty. */
static inline void x87_init_state(struct x86_fpu_state *f)
{
	f->fcw = FCW_INIT;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = 0;
	f->fdp = 0;
}

/* Real-address and virtual-8086 mode use the real-mode FSTENV/FSAVE formats
 * and linear FIP/FDP. */
static inline bool x87_real_format(const struct soft_cpu *cpu)
{
	return !(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM);
}

/* ---- x87.c ---- */

/* #NM for an x87 instruction when CR0.EM or CR0.TS is set (Table 2-2). */
void x87_check_nm(struct soft_cpu *cpu);
/* A waiting instruction with an unmasked exception pending: #MF when CR0.NE
 * is set; with NE clear the FERR#/IGNNE# path is not modelled and the
 * instruction runs as if IGNNE# were asserted (logged). */
void x87_check_pending(struct soft_cpu *cpu);
/* Linear address of a memory operand with segment and limit checks. */
uint64_t x87_mem_linear(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, unsigned len,
			enum soft_access acc);

/* ---- x87_env.c ---- */

void x87_register_env(soft_handler_fn **table);

/* ---- fpu_state.c ---- */

void fpu_register_state(soft_handler_fn **table);
/* Sets PKRU (WRPKRU, XRSTOR), dropping cached translations when it changes. */
void fpu_set_pkru(struct soft_cpu *cpu, uint32_t v);

#endif
