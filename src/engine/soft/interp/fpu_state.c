/* SPDX-License-Identifier: MIT */
/*
 * x87 and SSE state save/restore: FXSAVE/FXRSTOR in the 64-bit (REX.W) and
 * legacy layouts (SDM Vol. 1 §10.5.1, Tables 10-2 and 10-3), and the XSAVE
 * feature set for x87, SSE and PKRU (XCR0 bits 0, 1, 9): XSAVE, XSAVEOPT,
 * XRSTOR (standard form only), XGETBV and XSETBV (SDM Vol. 1 ch. 13; Vol. 2
 * the instruction pages), and RDPKRU/WRPKRU.
 *
 * Layout choices match current Intel hardware: FXSAVE writes bytes 0..415
 * (0..287 outside 64-bit mode), the reserved rest is left alone, FCS/FDS are saved as zero (deprecated), the
 * abridged tag word is stored as kept. Outside 64-bit mode only XMM0-7 are
 * saved and restored. XINUSE is all of XCR0 (see xinuse()).
 *
 * Not implemented (and not advertised): the compacted form (XSAVEC, XSAVES,
 * XRSTORS), XGETBV with ECX = 1; XSAVEOPT's init and modified optimisations
 * (it saves what XSAVE saves, which the SDM permits).
 */
#include <Zydis/Zydis.h>

#include "engine/soft/interp/x87.h"

#define XSAVE_AREA_SIZE XSAVE_LEGACY_SIZE /* what is read and written whole */

static void put_le(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static unsigned xmm_count(const struct soft_cpu *cpu)
{
	return soft_in_64bit_mode(cpu) ? 16 : 8;
}

/* ---- the legacy region (FXSAVE image) ---- */

/* Bytes 0..159: the x87 part, without MXCSR. wide: the REX.W layout. */
static void save_x87(const struct soft_cpu *cpu, uint8_t *b, bool wide)
{
	const struct x86_fpu_state *f = &cpu->s.fpu;
	put_le(b + 0, f->fcw, 2);
	put_le(b + 2, f->fsw, 2);
	b[4] = f->ftw;
	b[5] = 0;
	put_le(b + 6, f->fop & 0x7ff, 2);
	if (wide) {
		put_le(b + 8, f->fip, 8);
		put_le(b + 16, f->fdp, 8);
	} else {
		put_le(b + 8, f->fip & 0xffffffff, 8); /* FCS 0 and reserved */
		put_le(b + 16, f->fdp & 0xffffffff, 8); /* FDS 0 and reserved */
	}
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(b + 32 + 16 * i, f->st[(top + i) & 7], 10);
		memset(b + 32 + 16 * i + 10, 0, 6);
	}
}

static void load_x87(struct soft_cpu *cpu, const uint8_t *b, bool wide)
{
	struct x86_fpu_state *f = &cpu->s.fpu;
	f->fcw = (uint16_t)((get_le(b, 2) & FCW_VALID) | FCW_FIXED);
	f->fsw = (uint16_t)get_le(b + 2, 2);
	f->ftw = b[4];
	f->fop = (uint16_t)(get_le(b + 6, 2) & 0x7ff);
	f->fip = wide ? get_le(b + 8, 8) : get_le(b + 8, 4);
	f->fdp = wide ? get_le(b + 16, 8) : get_le(b + 16, 4);
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(f->st[(top + i) & 7], b + 32 + 16 * i, 10);
		memset(f->st[(top + i) & 7] + 10, 0, 6);
	}
}

static void init_x87(struct x86_fpu_state *f)
{
	x87_init_state(f);
	memset(f->st, 0, sizeof(f->st));
}

static void save_mxcsr(const struct soft_cpu *cpu, uint8_t *b)
{
	put_le(b + 24, cpu->s.fpu.mxcsr, 4);
	put_le(b + 28, MXCSR_MASK_SUPPORTED, 4);
}

static void save_xmm(const struct soft_cpu *cpu, uint8_t *b)
{
	memcpy(b + 160, cpu->s.fpu.xmm, 16 * xmm_count(cpu));
}

static void load_xmm(struct soft_cpu *cpu, const uint8_t *b)
{
	memcpy(cpu->s.fpu.xmm, b + 160, 16 * xmm_count(cpu));
}

/* #GP(0) for MXCSR bits outside MXCSR_MASK (FXRSTOR, XRSTOR). */
static uint32_t checked_mxcsr(struct soft_cpu *cpu, const uint8_t *b)
{
	uint32_t m = (uint32_t)get_le(b + 24, 4);
	if (m & ~MXCSR_MASK_SUPPORTED)
		soft_raise_gp(cpu, 0);
	return m;
}

/* Linear address of the area; #GP(0) unless aligned to align bytes. */
static uint64_t area_linear(struct soft_cpu *cpu, const struct soft_insn *in, unsigned len, unsigned align,
			    enum soft_access acc)
{
	uint64_t lin = x87_mem_linear(cpu, in, 0, len, acc);
	if (lin & (align - 1))
		soft_raise_gp(cpu, 0);
	return lin;
}

/* ---- FXSAVE / FXRSTOR ---- */

/* CR0.EM: #UD; CR0.TS: #NM (SDM Vol. 2A, FXSAVE). Neither waits for x87 exceptions. */
static void fx_check(struct soft_cpu *cpu)
{
	if (cpu->s.cr0 & CR0_EM)
		soft_raise_ud(cpu);
	if (cpu->s.cr0 & CR0_TS)
		soft_raise(cpu, X86_EXC_NM, 0, false);
}

static unsigned fx_written_bytes(const struct soft_cpu *cpu)
{
	return 160 + 16 * xmm_count(cpu);
}

static void op_fxsave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	fx_check(cpu);
	unsigned len = fx_written_bytes(cpu);
	uint64_t lin = area_linear(cpu, in, 512, 16, SOFT_ACC_WRITE);
	uint8_t b[512];
	save_x87(cpu, b, in->mnemonic == ZYDIS_MNEMONIC_FXSAVE64);
	save_mxcsr(cpu, b);
	save_xmm(cpu, b);
	soft_lin_write_bytes(cpu, lin, b, len, cpu->cpl == 3);
}

static void op_fxrstor(struct soft_cpu *cpu, const struct soft_insn *in)
{
	fx_check(cpu);
	uint64_t lin = area_linear(cpu, in, 512, 16, SOFT_ACC_READ);
	uint8_t b[512];
	soft_lin_read_bytes(cpu, lin, b, fx_written_bytes(cpu), cpu->cpl == 3);
	uint32_t mxcsr = checked_mxcsr(cpu, b);
	load_x87(cpu, b, in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64);
	cpu->s.fpu.mxcsr = mxcsr;
	load_xmm(cpu, b);
}

/* ---- XSAVE family ---- */

/* XINUSE: every enabled component is reported in use, which the SDM allows
 * (Vol. 1 §13.6) and which is what hardware reports after FXRSTOR. Tracking
 * it from the values would be wrong for x87: its initial configuration
 * includes zeroed registers, and empty registers keep visible contents. */
static uint64_t xinuse(const struct soft_cpu *cpu)
{
	return cpu->s.fpu.xcr0;
}

static void xsave_check(struct soft_cpu *cpu)
{
	if (!(cpu->s.cr4 & CR4_OSXSAVE))
		soft_raise_ud(cpu);
	if (cpu->s.cr0 & CR0_TS)
		soft_raise(cpu, X86_EXC_NM, 0, false);
}

static uint64_t rfbm(const struct soft_cpu *cpu)
{
	uint64_t mask = (cpu->s.gpr[X86_RDX] & 0xffffffff) << 32 | (cpu->s.gpr[X86_RAX] & 0xffffffff);
	return mask & cpu->s.fpu.xcr0;
}

/* XSAVE and XSAVEOPT (standard form). The area is read, updated and
 * written back whole, so bytes no component covers keep their values. */
static void xsave_common(struct soft_cpu *cpu, const struct soft_insn *in, bool wide)
{
	xsave_check(cpu);
	uint64_t lin = area_linear(cpu, in, XSAVE_AREA_SIZE, 64, SOFT_ACC_WRITE);
	uint8_t b[XSAVE_AREA_SIZE];
	bool user = cpu->cpl == 3;
	soft_lin_read_bytes(cpu, lin, b, XSAVE_AREA_SIZE, user);
	uint64_t rf = rfbm(cpu), used = xinuse(cpu);
	if (rf & XCR0_X87)
		save_x87(cpu, b, wide);
	if (rf & XCR0_SSE) {
		save_mxcsr(cpu, b);
		save_xmm(cpu, b);
	}
	uint64_t bv = get_le(b + 512, 8);
	put_le(b + 512, (bv & ~rf) | (used & rf), 8);
	if (rf & XCR0_PKRU) /* checked first: a fault there leaves the area untouched */
		soft_lin_probe_write(cpu, lin + XSAVE_PKRU_OFFSET, XSAVE_PKRU_SIZE, user);
	soft_lin_write_bytes(cpu, lin, b, XSAVE_AREA_SIZE, user);
	if (rf & XCR0_PKRU)
		soft_lin_write(cpu, lin + XSAVE_PKRU_OFFSET, 8, cpu->s.fpu.pkru, user);
}

static void op_xsave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	xsave_common(cpu, in, in->mnemonic == ZYDIS_MNEMONIC_XSAVE64 || in->mnemonic == ZYDIS_MNEMONIC_XSAVEOPT64);
}

static void op_xrstor(struct soft_cpu *cpu, const struct soft_insn *in)
{
	xsave_check(cpu);
	uint64_t lin = area_linear(cpu, in, XSAVE_AREA_SIZE, 64, SOFT_ACC_READ);
	uint8_t b[XSAVE_AREA_SIZE];
	soft_lin_read_bytes(cpu, lin, b, XSAVE_AREA_SIZE, cpu->cpl == 3);
	uint64_t rf = rfbm(cpu);
	uint64_t bv = get_le(b + 512, 8);
	/* Standard form: XCOMP_BV and the next 8 header bytes must be zero, and
	 * XSTATE_BV may name only enabled components (SDM Vol. 1 §13.8). */
	if (get_le(b + 520, 8) || get_le(b + 528, 8) || (bv & ~cpu->s.fpu.xcr0))
		soft_raise_gp(cpu, 0);
	uint32_t mxcsr = cpu->s.fpu.mxcsr;
	if (rf & XCR0_SSE)
		mxcsr = checked_mxcsr(cpu, b);
	uint32_t pkru = 0;
	if ((rf & bv) & XCR0_PKRU)
		pkru = (uint32_t)soft_lin_read(cpu, lin + XSAVE_PKRU_OFFSET, 4, cpu->cpl == 3);
	bool wide = in->mnemonic == ZYDIS_MNEMONIC_XRSTOR64;
	if (rf & XCR0_X87) {
		if (bv & XCR0_X87)
			load_x87(cpu, b, wide);
		else
			init_x87(&cpu->s.fpu);
	}
	if (rf & XCR0_SSE) {
		cpu->s.fpu.mxcsr = mxcsr;
		if (bv & XCR0_SSE)
			load_xmm(cpu, b);
		else
			memset(cpu->s.fpu.xmm, 0, 16 * xmm_count(cpu));
	}
	if (rf & XCR0_PKRU)
		fpu_set_pkru(cpu, pkru);
}

static void op_xgetbv(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (!(cpu->s.cr4 & CR4_OSXSAVE))
		soft_raise_ud(cpu);
	if ((uint32_t)cpu->s.gpr[X86_RCX] != 0)
		soft_raise_gp(cpu, 0);
	uint64_t v = cpu->s.fpu.xcr0;
	soft_reg_write(cpu, X86_RAX, 4, v & 0xffffffff);
	soft_reg_write(cpu, X86_RDX, 4, v >> 32);
}

/* PKRU changes which user pages data accesses may use: cached
 * translations go when it changes. */
void fpu_set_pkru(struct soft_cpu *cpu, uint32_t v)
{
	if (v == cpu->s.fpu.pkru)
		return;
	cpu->s.fpu.pkru = v;
	soft_tlb_flush_all(cpu, true);
}

/* RDPKRU / WRPKRU: CR4.PKE on, ECX (and for WRPKRU EDX) zero. */
static void op_rdpkru_wrpkru(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr4 & CR4_PKE) || (in->flags & SOFT_INSN_LOCK))
		soft_raise_ud(cpu);
	if ((uint32_t)cpu->s.gpr[X86_RCX] != 0)
		soft_raise_gp(cpu, 0);
	if (in->mnemonic == ZYDIS_MNEMONIC_RDPKRU) {
		soft_reg_write(cpu, X86_RAX, 4, cpu->s.fpu.pkru);
		soft_reg_write(cpu, X86_RDX, 4, 0);
		return;
	}
	if ((uint32_t)cpu->s.gpr[X86_RDX] != 0)
		soft_raise_gp(cpu, 0);
	fpu_set_pkru(cpu, (uint32_t)cpu->s.gpr[X86_RAX]);
}

/* XSETBV (SDM Vol. 2C): CPL 0, XCR0 only, x87 always on, nothing unsupported. */
static void op_xsetbv(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (!(cpu->s.cr4 & CR4_OSXSAVE))
		soft_raise_ud(cpu);
	if (cpu->cpl != 0 || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_gp(cpu, 0);
	uint64_t v = (cpu->s.gpr[X86_RDX] & 0xffffffff) << 32 | (cpu->s.gpr[X86_RAX] & 0xffffffff);
	if ((uint32_t)cpu->s.gpr[X86_RCX] != 0 || !(v & XCR0_X87) || (v & ~XCR0_SUPPORTED))
		soft_raise_gp(cpu, 0);
	cpu->s.fpu.xcr0 = v;
}

void fpu_register_state(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_FXSAVE] = op_fxsave;
	table[ZYDIS_MNEMONIC_FXSAVE64] = op_fxsave;
	table[ZYDIS_MNEMONIC_FXRSTOR] = op_fxrstor;
	table[ZYDIS_MNEMONIC_FXRSTOR64] = op_fxrstor;
	table[ZYDIS_MNEMONIC_XSAVE] = op_xsave;
	table[ZYDIS_MNEMONIC_XSAVE64] = op_xsave;
	table[ZYDIS_MNEMONIC_XSAVEOPT] = op_xsave; /* without its optimisations */
	table[ZYDIS_MNEMONIC_XSAVEOPT64] = op_xsave;
	table[ZYDIS_MNEMONIC_XRSTOR] = op_xrstor;
	table[ZYDIS_MNEMONIC_XRSTOR64] = op_xrstor;
	table[ZYDIS_MNEMONIC_XGETBV] = op_xgetbv;
	table[ZYDIS_MNEMONIC_XSETBV] = op_xsetbv;
	table[ZYDIS_MNEMONIC_RDPKRU] = op_rdpkru_wrpkru;
	table[ZYDIS_MNEMONIC_WRPKRU] = op_rdpkru_wrpkru;
}
