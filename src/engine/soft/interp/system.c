/* SPDX-License-Identifier: MIT */
/*
 * System instructions (SDM Vol. 2 and Vol. 3A §2.5, §2.8): control and debug
 * registers, descriptor-table registers, segment loads, CLI/STI/HLT, port
 * I/O, CPUID, cache and TLB control, LAR/LSL/VERR/VERW/ARPL.
 * MSRs and the fast system calls are in interp/msr.c.
 */
#include <Zydis/Zydis.h>

#include "core/log.h"
#include "engine/soft/soft_engine.h"

static void require_cpl0(struct soft_cpu *cpu)
{
	if (cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
}

/* ---- MOV to/from CR, DR, Sreg; POP Sreg ---- */

#define CR0_WRITABLE                                                                               \
	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
#define CR4_SUPPORTED                                                                                         \
	(CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_MCE | CR4_OSFXSR | \
	 CR4_OSXMMEXCPT | CR4_UMIP | CR4_FSGSBASE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP | CR4_PKE)

static void write_cr0(struct soft_cpu *cpu, uint64_t v)
{
	struct x86_cpu_state *s = &cpu->s;
	if (v >> 32)
		soft_raise_gp(cpu, 0);
	v = (v & CR0_WRITABLE) | CR0_ET;
	if ((v & CR0_PG) && !(v & CR0_PE))
		soft_raise_gp(cpu, 0);
	if ((v & CR0_NW) && !(v & CR0_CD))
		soft_raise_gp(cpu, 0);
	bool enabling_paging = (v & CR0_PG) && !(s->cr0 & CR0_PG);
	if (enabling_paging && (s->efer & EFER_LME)) {
		if (!(s->cr4 & CR4_PAE))
			soft_raise_gp(cpu, 0);
		s->efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (s->cr0 & CR0_PG) && (s->efer & EFER_LMA)) {
		if (soft_in_64bit_mode(cpu))
			soft_raise_gp(cpu, 0);
		s->efer &= ~EFER_LMA;
	}
	if ((v ^ s->cr0) & (CR0_PG | CR0_WP | CR0_PE))
		soft_tlb_flush_all(cpu, true);
	s->cr0 = v;
	soft_cpu_mode_changed(cpu);
}

static void write_cr4(struct soft_cpu *cpu, uint64_t v)
{
	struct x86_cpu_state *s = &cpu->s;
	if (v & ~CR4_SUPPORTED)
		soft_raise_gp(cpu, 0);
	if ((s->efer & EFER_LMA) && !(v & CR4_PAE))
		soft_raise_gp(cpu, 0);
	if ((v ^ s->cr4) & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PKE))
		soft_tlb_flush_all(cpu, true);
	s->cr4 = v;
	soft_cpu_mode_changed(cpu);
}

static void mov_cr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	require_cpl0(cpu);
	bool to_cr = in->op[0].kind == SOFT_OP_CR;
	unsigned cr = to_cr ? in->op[0].reg : in->op[1].reg;
	unsigned gpr = to_cr ? in->op[1].reg : in->op[0].reg;
	unsigned size = soft_in_64bit_mode(cpu) ? 8 : 4;
	struct x86_cpu_state *s = &cpu->s;
	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		soft_raise_ud(cpu);
	if (cr == 8 && !soft_in_64bit_mode(cpu))
		soft_raise_ud(cpu);
	if (!to_cr) {
		uint64_t v = cr == 0 ? s->cr0 : cr == 2 ? s->cr2 : cr == 3 ? s->cr3 : cr == 4 ? s->cr4 : s->cr8;
		soft_reg_write(cpu, gpr, size, v);
		return;
	}
	uint64_t v = soft_reg_read(cpu, gpr, size);
	switch (cr) {
	case 0: write_cr0(cpu, v); break;
	case 2: s->cr2 = v; break;
	case 3:
		if (cpu->long_mode && (v >> 40))
			soft_raise_gp(cpu, 0);
		s->cr3 = v;
		soft_tlb_flush_all(cpu, false);
		cpu->end_block = true;
		break;
	case 4: write_cr4(cpu, v); break;
	case 8:
		if (v > 15)
			soft_raise_gp(cpu, 0);
		s->cr8 = v;
		break;
	}
}

static void mov_dr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	require_cpl0(cpu);
	bool to_dr = in->op[0].kind == SOFT_OP_DR;
	unsigned dr = to_dr ? in->op[0].reg : in->op[1].reg;
	unsigned gpr = to_dr ? in->op[1].reg : in->op[0].reg;
	unsigned size = soft_in_64bit_mode(cpu) ? 8 : 4;
	struct x86_cpu_state *s = &cpu->s;
	/* DR4/DR5 alias DR6/DR7 unless CR4.DE. */
	if ((dr == 4 || dr == 5) && (s->cr4 & CR4_DE))
		soft_raise_ud(cpu);
	if (s->dr7 & DR7_GD)
		soft_dr_general_detect(cpu);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (!to_dr) {
		uint64_t v = dr < 4 ? s->dr[dr] : dr == 6 ? s->dr6 : s->dr7;
		soft_reg_write(cpu, gpr, size, v);
		return;
	}
	uint64_t v = soft_reg_read(cpu, gpr, size);
	if (dr < 4) {
		s->dr[dr] = v;
	} else if (dr == 6) {
		if (v >> 32)
			soft_raise_gp(cpu, 0);
		s->dr6 = (v | 0xffff0ff0ULL) & 0xffffffffULL;
	} else {
		if (v >> 32)
			soft_raise_gp(cpu, 0);
		s->dr7 = (v | 0x400) & ~0x0000d000ULL;
		/* New breakpoints take effect from the next instruction: the loop
		 * decides per block whether to check them. */
		soft_dr_changed(cpu);
		cpu->end_block = true;
	}
}

void soft_sys_mov_special(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *dst = &in->op[0], *src = &in->op[1];
	if (dst->kind == SOFT_OP_CR || src->kind == SOFT_OP_CR) {
		mov_cr(cpu, in);
	} else if (dst->kind == SOFT_OP_DR || src->kind == SOFT_OP_DR) {
		mov_dr(cpu, in);
	} else if (dst->kind == SOFT_OP_SREG) {
		if (dst->reg == X86_CS)
			soft_raise_ud(cpu);
		uint16_t sel = (uint16_t)soft_op_read(cpu, in, 1);
		soft_load_sreg(cpu, dst->reg, sel);
		if (dst->reg == X86_SS)
			cpu->interrupt_shadow = cpu->db_shadow = true;
		cpu->end_block = true;
	} else if (src->kind == SOFT_OP_SREG) {
		/* MOV r/m, Sreg: a register gets the selector zero-extended, memory 16 bits. */
		soft_op_write(cpu, in, 0, cpu->s.seg[src->reg].selector);
	} else {
		soft_raise_ud(cpu);
	}
}

void soft_sys_pop_sreg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned sreg = in->op[0].reg;
	unsigned w = in->opsize;
	/* Load first (it may fault), then commit the stack pointer. */
	uint64_t mask = soft_size_mask(soft_stack_size(cpu));
	uint16_t sel = (uint16_t)soft_seg_read(cpu, X86_SS, cpu->s.gpr[X86_RSP] & mask, w);
	uint64_t old_rsp = cpu->s.gpr[X86_RSP];
	soft_load_sreg(cpu, (int)sreg, sel);
	cpu->s.gpr[X86_RSP] = (old_rsp & ~mask) | ((old_rsp + w) & mask);
	if (sreg == X86_SS)
		cpu->interrupt_shadow = cpu->db_shadow = true;
	cpu->end_block = true;
}

/* ---- descriptor-table registers ---- */

static void op_lgdt_lidt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	require_cpl0(cpu);
	const struct soft_operand *op = &in->op[0];
	uint64_t ea = soft_ea(cpu, in, op);
	uint16_t limit = (uint16_t)soft_seg_read(cpu, op->seg, ea, 2);
	unsigned base_size = soft_in_64bit_mode(cpu) ? 8 : 4;
	uint64_t base = soft_seg_read(cpu, op->seg, (ea + 2) & soft_size_mask(in->addrsize), base_size);
	if (!soft_in_64bit_mode(cpu) && in->opsize == 2)
		base &= 0xffffff;
	if (soft_in_64bit_mode(cpu) && !soft_is_canonical(base))
		soft_raise_gp(cpu, 0);
	struct x86_dtable *t = in->mnemonic == ZYDIS_MNEMONIC_LGDT ? &cpu->s.gdtr : &cpu->s.idtr;
	t->base = base;
	t->limit = limit;
}

/* UMIP: SGDT SIDT SLDT SMSW STR are for CPL 0 only (#GP(0) above it). */
static void umip_check(struct soft_cpu *cpu)
{
	if ((cpu->s.cr4 & CR4_UMIP) && cpu->cpl > 0)
		soft_raise_gp(cpu, 0);
}

static void op_sgdt_sidt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	umip_check(cpu);
	const struct soft_operand *op = &in->op[0];
	const struct x86_dtable *t = in->mnemonic == ZYDIS_MNEMONIC_SGDT ? &cpu->s.gdtr : &cpu->s.idtr;
	uint64_t ea = soft_ea(cpu, in, op);
	unsigned base_size = soft_in_64bit_mode(cpu) ? 8 : 4;
	soft_seg_linear(cpu, op->seg, ea, 2 + base_size, SOFT_ACC_WRITE);
	soft_seg_write(cpu, op->seg, ea, 2, t->limit);
	soft_seg_write(cpu, op->seg, (ea + 2) & soft_size_mask(in->addrsize), base_size, t->base);
}

/* LLDT / LTR: system-descriptor loads (16-byte descriptors in long mode). */
static void load_system_segment(struct soft_cpu *cpu, uint16_t sel, bool tr)
{
	struct x86_segment *dst = tr ? &cpu->s.tr : &cpu->s.ldtr;
	uint32_t err = sel & 0xfffc;
	if (err == 0) {
		if (tr)
			soft_raise_gp(cpu, 0);
		*dst = (struct x86_segment){ .selector = sel, .attr = SEG_ATTR_UNUSABLE };
		return;
	}
	if (sel & 4)
		soft_raise_gp(cpu, err); /* must be in the GDT */
	uint64_t desc = soft_read_descriptor(cpu, sel, X86_EXC_GP);
	struct x86_segment n;
	soft_descriptor_to_segment(desc, sel, &n);
	unsigned type = n.attr & SEG_ATTR_TYPE;
	bool ok = !(n.attr & SEG_ATTR_S) && (tr ? (type == 1 || type == 9) : type == 2);
	if (tr && cpu->long_mode && type != 9)
		ok = false;
	if (!ok)
		soft_raise_gp(cpu, err);
	if (!(n.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, err, true);
	if (cpu->long_mode) {
		uint64_t hi = soft_lin_read(cpu, cpu->s.gdtr.base + (sel & 0xfff8) + 8, 8, false);
		n.base |= (hi & 0xffffffffULL) << 32;
	}
	if (tr) {
		/* Mark the TSS busy in the GDT. */
		soft_lin_update_byte(cpu, cpu->s.gdtr.base + (sel & 0xfff8) + 5, 2, 0);
		n.attr |= 0x2;
	}
	*dst = n;
}

static void op_lldt_ltr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_ud(cpu);
	require_cpl0(cpu);
	uint16_t sel = (uint16_t)soft_op_read(cpu, in, 0);
	load_system_segment(cpu, sel, in->mnemonic == ZYDIS_MNEMONIC_LTR);
}

static void op_sldt_str(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_ud(cpu);
	umip_check(cpu);
	uint16_t sel = in->mnemonic == ZYDIS_MNEMONIC_STR ? cpu->s.tr.selector : cpu->s.ldtr.selector;
	/* A register destination gets the selector zero-extended to the operand size. */
	soft_op_write(cpu, in, 0, sel);
}

static void op_smsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	umip_check(cpu);
	soft_op_write(cpu, in, 0, in->op[0].kind == SOFT_OP_MEM ? (cpu->s.cr0 & 0xffff) : cpu->s.cr0);
}

static void op_lmsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	require_cpl0(cpu);
	uint64_t v = soft_op_read(cpu, in, 0) & 0xf;
	/* LMSW can set PE but never clear it. */
	uint64_t cr0 = (cpu->s.cr0 & ~0xeULL) | v | (cpu->s.cr0 & CR0_PE);
	write_cr0(cpu, cr0);
}

static void op_clts(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	require_cpl0(cpu);
	cpu->s.cr0 &= ~CR0_TS;
}

/* ---- interrupts flag, halt ---- */

static void op_cli_sti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct x86_cpu_state *s = &cpu->s;
	unsigned iopl = (s->rflags & RFLAGS_IOPL) >> 12;
	if ((s->cr0 & CR0_PE) && cpu->cpl > iopl)
		soft_raise_gp(cpu, 0);
	if (in->mnemonic == ZYDIS_MNEMONIC_CLI) {
		s->rflags &= ~RFLAGS_IF;
	} else {
		if (!(s->rflags & RFLAGS_IF))
			cpu->interrupt_shadow = true;
		s->rflags |= RFLAGS_IF;
	}
	cpu->end_block = true;
}

static void op_hlt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	require_cpl0(cpu);
	cpu->halted = true;
	cpu->end_block = true;
}

/* ---- port I/O ---- */

static void op_in(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t port = (uint16_t)soft_op_read(cpu, in, 1);
	unsigned size = in->op[0].size;
	soft_reg_write(cpu, X86_RAX, size, soft_io_read(cpu, port, size));
	cpu->end_block = true;
}

static void op_out(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t port = (uint16_t)soft_op_read(cpu, in, 0);
	unsigned size = in->op[1].size;
	soft_io_write(cpu, port, size, soft_reg_read(cpu, X86_RAX, size));
	cpu->end_block = true;
}

/* ---- CPUID, caches, TLB ---- */

static void op_cpuid(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	uint32_t r[4];
	soft_cpuid((uint32_t)cpu->s.gpr[X86_RAX], (uint32_t)cpu->s.gpr[X86_RCX], r);
	/* Leaf 1 EBX[31:24] is the vCPU's initial APIC ID (its index), ECX.OSXSAVE
	 * (bit 27) mirrors CR4.OSXSAVE, leaf 7 ECX.OSPKE (bit 4) CR4.PKE; leaf 0DH
	 * EBX is the XSAVE area size for what XCR0 enables. */
	uint32_t leaf = (uint32_t)cpu->s.gpr[X86_RAX], subleaf = (uint32_t)cpu->s.gpr[X86_RCX];
	if (leaf == 1)
		r[1] |= (cpu->index & 0xffu) << 24;
	if (leaf == 1 && (cpu->s.cr4 & CR4_OSXSAVE))
		r[2] |= 1u << 27;
	if (leaf == 7 && subleaf == 0 && (cpu->s.cr4 & CR4_PKE))
		r[2] |= 1u << 4;
	if (leaf == 0xd && subleaf == 0)
		r[1] = soft_xsave_size(cpu->s.fpu.xcr0);
	soft_reg_write(cpu, X86_RAX, 4, r[0]);
	soft_reg_write(cpu, X86_RBX, 4, r[1]);
	soft_reg_write(cpu, X86_RCX, 4, r[2]);
	soft_reg_write(cpu, X86_RDX, 4, r[3]);
}

static void op_invlpg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	require_cpl0(cpu);
	const struct soft_operand *op = &in->op[0];
	uint64_t ea = soft_ea(cpu, in, op);
	uint64_t lin = soft_in_64bit_mode(cpu) ? ea + ((op->seg == X86_FS || op->seg == X86_GS) ? cpu->s.seg[op->seg].base : 0)
					       : (cpu->s.seg[op->seg].base + ea) & 0xffffffffULL;
	soft_tlb_flush_page(cpu, lin);
}

static void op_privileged_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	require_cpl0(cpu); /* WBINVD, INVD: caches are coherent here */
}

static void op_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)cpu;
	(void)in; /* fences and prefetches: memory is sequentially consistent here */
}

static void op_clflush(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* Checks the address like a 1-byte read; nothing to flush. */
	const struct soft_operand *op = &in->op[0];
	(void)soft_seg_read(cpu, op->seg, soft_ea(cpu, in, op), 1);
}

static void op_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_raise_ud(cpu);
}

/* ---- LAR, LSL, VERR, VERW, ARPL ---- */

/* Descriptor for selector if it is visible at the CPL, else false (ZF=0). */
static bool visible_descriptor(struct soft_cpu *cpu, uint16_t sel, bool for_lsl, struct x86_segment *out)
{
	if ((sel & 0xfffc) == 0)
		return false;
	const struct x86_dtable *t = (sel & 4) ? NULL : &cpu->s.gdtr;
	uint64_t base = t ? t->base : cpu->s.ldtr.base;
	uint64_t limit = t ? t->limit : cpu->s.ldtr.limit;
	if ((sel & 4) && (cpu->s.ldtr.attr & SEG_ATTR_UNUSABLE))
		return false;
	if ((uint64_t)(sel & 0xfff8) + 7 > limit)
		return false;
	uint64_t desc = soft_lin_read(cpu, base + (sel & 0xfff8), 8, false);
	soft_descriptor_to_segment(desc, sel, out);
	unsigned type = out->attr & SEG_ATTR_TYPE, dpl = (out->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	if (!(out->attr & SEG_ATTR_S)) {
		/* Valid system types: TSS and LDT; LAR also accepts gates (not in long mode). */
		bool ok = type == 1 || type == 2 || type == 3 || type == 9 || type == 11;
		if (!for_lsl && !cpu->long_mode)
			ok |= type == 4 || type == 5 || type == 12;
		if (cpu->long_mode && (type == 1 || type == 3))
			ok = false;
		if (!ok)
			return false;
	}
	bool conforming = (out->attr & SEG_ATTR_S) && (type & 0xc) == 0xc;
	if (!conforming && (dpl < cpu->cpl || dpl < (sel & 3u)))
		return false;
	return true;
}

static void op_lar_lsl(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_ud(cpu);
	uint16_t sel = (uint16_t)soft_op_read(cpu, in, 1);
	bool lsl = in->mnemonic == ZYDIS_MNEMONIC_LSL;
	struct x86_segment g;
	if (!visible_descriptor(cpu, sel, lsl, &g)) {
		cpu->s.rflags &= ~RFLAGS_ZF;
		return;
	}
	uint64_t v = lsl ? g.limit : ((uint64_t)(g.attr & 0xf0ff) << 8);
	soft_op_write(cpu, in, 0, v);
	cpu->s.rflags |= RFLAGS_ZF;
}

static void op_verr_verw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_ud(cpu);
	uint16_t sel = (uint16_t)soft_op_read(cpu, in, 0);
	struct x86_segment g;
	bool ok = visible_descriptor(cpu, sel, false, &g) && (g.attr & SEG_ATTR_S);
	if (ok) {
		unsigned type = g.attr & SEG_ATTR_TYPE;
		bool code = type & SEG_TYPE_CODE;
		if (in->mnemonic == ZYDIS_MNEMONIC_VERW)
			ok = !code && (type & SEG_TYPE_DATA_RW);
		else
			ok = !code || (type & SEG_TYPE_CODE_R);
	}
	if (ok)
		cpu->s.rflags |= RFLAGS_ZF;
	else
		cpu->s.rflags &= ~RFLAGS_ZF;
}

static void op_arpl(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		soft_raise_ud(cpu);
	uint64_t dst = soft_op_read(cpu, in, 0), src = soft_op_read(cpu, in, 1);
	if ((dst & 3) < (src & 3)) {
		soft_op_write(cpu, in, 0, (dst & ~3ULL) | (src & 3));
		cpu->s.rflags |= RFLAGS_ZF;
	} else {
		cpu->s.rflags &= ~RFLAGS_ZF;
	}
}

void soft_register_system(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_LGDT] = op_lgdt_lidt;
	table[ZYDIS_MNEMONIC_LIDT] = op_lgdt_lidt;
	table[ZYDIS_MNEMONIC_SGDT] = op_sgdt_sidt;
	table[ZYDIS_MNEMONIC_SIDT] = op_sgdt_sidt;
	table[ZYDIS_MNEMONIC_LLDT] = op_lldt_ltr;
	table[ZYDIS_MNEMONIC_LTR] = op_lldt_ltr;
	table[ZYDIS_MNEMONIC_SLDT] = op_sldt_str;
	table[ZYDIS_MNEMONIC_STR] = op_sldt_str;
	table[ZYDIS_MNEMONIC_SMSW] = op_smsw;
	table[ZYDIS_MNEMONIC_LMSW] = op_lmsw;
	table[ZYDIS_MNEMONIC_CLTS] = op_clts;
	table[ZYDIS_MNEMONIC_CLI] = op_cli_sti;
	table[ZYDIS_MNEMONIC_STI] = op_cli_sti;
	table[ZYDIS_MNEMONIC_HLT] = op_hlt;
	table[ZYDIS_MNEMONIC_IN] = op_in;
	table[ZYDIS_MNEMONIC_OUT] = op_out;
	table[ZYDIS_MNEMONIC_CPUID] = op_cpuid;
	table[ZYDIS_MNEMONIC_INVLPG] = op_invlpg;
	table[ZYDIS_MNEMONIC_WBINVD] = op_privileged_nop;
	table[ZYDIS_MNEMONIC_INVD] = op_privileged_nop;
	table[ZYDIS_MNEMONIC_LFENCE] = op_nop;
	table[ZYDIS_MNEMONIC_MFENCE] = op_nop;
	table[ZYDIS_MNEMONIC_SFENCE] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCH] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCHW] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCHNTA] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCHT0] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCHT1] = op_nop;
	table[ZYDIS_MNEMONIC_PREFETCHT2] = op_nop;
	table[ZYDIS_MNEMONIC_CLFLUSH] = op_clflush;
	/* CET is not advertised: its hint-space instructions execute as NOPs. */
	table[ZYDIS_MNEMONIC_ENDBR32] = op_nop;
	table[ZYDIS_MNEMONIC_ENDBR64] = op_nop;
	table[ZYDIS_MNEMONIC_RDSSPD] = op_nop;
	table[ZYDIS_MNEMONIC_RDSSPQ] = op_nop;
	table[ZYDIS_MNEMONIC_UD0] = op_ud;
	table[ZYDIS_MNEMONIC_UD1] = op_ud;
	table[ZYDIS_MNEMONIC_UD2] = op_ud;
	table[ZYDIS_MNEMONIC_LAR] = op_lar_lsl;
	table[ZYDIS_MNEMONIC_LSL] = op_lar_lsl;
	table[ZYDIS_MNEMONIC_VERR] = op_verr_verw;
	table[ZYDIS_MNEMONIC_VERW] = op_verr_verw;
	table[ZYDIS_MNEMONIC_ARPL] = op_arpl;
	soft_register_msr(table);
}
