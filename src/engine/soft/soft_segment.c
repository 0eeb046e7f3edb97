/* SPDX-License-Identifier: MIT */
/*
 * Descriptor tables and segment-register loads with their checks
 * (SDM Vol. 3A §3.4-§3.5, §5.4-§5.6; MOV/POP to Sreg in Vol. 2).
 */
#include "engine/soft/soft_engine.h"

void soft_descriptor_to_segment(uint64_t desc, uint16_t selector, struct x86_segment *seg)
{
	uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
	uint32_t attr = (uint32_t)((desc >> 40) & 0xff) | (uint32_t)(((desc >> 52) & 0xf) << 12);
	if (attr & SEG_ATTR_G)
		limit = (limit << 12) | 0xfff;
	seg->selector = selector;
	seg->base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
	seg->limit = limit;
	seg->attr = attr;
}

uint64_t soft_read_descriptor(struct soft_cpu *cpu, uint16_t selector, int error_vector)
{
	const struct x86_segment *ldt = &cpu->s.ldtr;
	uint64_t base, limit;
	if (selector & 4) {
		if (ldt->attr & SEG_ATTR_UNUSABLE || !(ldt->attr & SEG_ATTR_P))
			soft_raise(cpu, error_vector, selector & 0xfffc, true);
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = cpu->s.gdtr.base;
		limit = cpu->s.gdtr.limit;
	}
	uint64_t off = selector & 0xfff8;
	if (off + 7 > limit)
		soft_raise(cpu, error_vector, selector & 0xfffc, true);
	return soft_lin_read(cpu, base + off, 8, false);
}

void soft_descriptor_mark_accessed(struct soft_cpu *cpu, uint16_t selector, uint64_t desc)
{
	if (desc & (1ULL << 40))
		return;
	uint64_t base = (selector & 4) ? cpu->s.ldtr.base : cpu->s.gdtr.base;
	soft_lin_update_byte(cpu, base + (selector & 0xfff8) + 5, 1, 0);
}

static void load_sreg(struct soft_cpu *cpu, int sreg, uint16_t selector)
{
	struct x86_segment *g = &cpu->s.seg[sreg];
	bool pm = (cpu->s.cr0 & CR0_PE) && !(cpu->s.rflags & RFLAGS_VM);

	if (!pm) {
		/* Real and V86 mode: only selector and base change (unreal-mode limits survive). */
		g->selector = selector;
		g->base = (uint64_t)selector << 4;
		if (cpu->s.rflags & RFLAGS_VM) {
			g->limit = 0xffff;
			g->attr = SEG_ATTR_P | SEG_ATTR_S | SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED |
				  (3u << SEG_ATTR_DPL_SHIFT) | (sreg == X86_CS ? SEG_TYPE_CODE : 0);
		}
		if (sreg == X86_CS || sreg == X86_SS)
			soft_cpu_mode_changed(cpu);
		return;
	}

	unsigned rpl = selector & 3, cpl = cpu->cpl;
	if ((selector & 0xfffc) == 0) {
		/* Null selector: SS only in 64-bit mode at CPL < 3 with RPL == CPL. */
		if (sreg == X86_SS && !(soft_in_64bit_mode(cpu) && cpl != 3 && rpl == cpl))
			soft_raise_gp(cpu, 0);
		g->selector = selector;
		g->base = 0;
		g->limit = 0;
		g->attr = SEG_ATTR_UNUSABLE | (sreg == X86_SS ? (uint32_t)cpl << SEG_ATTR_DPL_SHIFT : 0);
		return;
	}
	uint64_t desc = soft_read_descriptor(cpu, selector, X86_EXC_GP);
	struct x86_segment n;
	soft_descriptor_to_segment(desc, selector, &n);
	unsigned dpl = (n.attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	unsigned type = n.attr & SEG_ATTR_TYPE;
	bool code = type & SEG_TYPE_CODE;
	uint32_t err = selector & 0xfffc;

	if (!(n.attr & SEG_ATTR_S))
		soft_raise_gp(cpu, err);
	if (sreg == X86_SS) {
		if (rpl != cpl || dpl != cpl || code || !(type & SEG_TYPE_DATA_RW))
			soft_raise_gp(cpu, err);
		if (!(n.attr & SEG_ATTR_P))
			soft_raise_ss(cpu, err);
	} else {
		/* Data segments and readable code; privilege unless conforming code. */
		if (code && !(type & SEG_TYPE_CODE_R))
			soft_raise_gp(cpu, err);
		bool conforming = code && (type & 0x4);
		if (!conforming && (rpl > dpl || cpl > dpl))
			soft_raise_gp(cpu, err);
		if (!(n.attr & SEG_ATTR_P))
			soft_raise(cpu, X86_EXC_NP, err, true);
	}
	soft_descriptor_mark_accessed(cpu, selector, desc);
	n.attr |= SEG_TYPE_ACCESSED;
	*g = n;
	if (sreg == X86_SS)
		soft_cpu_mode_changed(cpu);
}

void soft_load_sreg(struct soft_cpu *cpu, int sreg, uint16_t selector)
{
	load_sreg(cpu, sreg, selector);
	soft_seg_flat_update(cpu);
}
