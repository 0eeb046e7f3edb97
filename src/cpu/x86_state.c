/* SPDX-License-Identifier: MIT */
/*
 * Reset state, the Multiboot entry state, mode naming and the register dump.
 */
#include <inttypes.h>
#include <string.h>

#include "cpu/x86_state.h"

static struct x86_segment real_seg(uint16_t selector, uint32_t type)
{
	return (struct x86_segment){
		.selector = selector,
		.base = (uint64_t)selector << 4,
		.limit = 0xffff,
		.attr = type | SEG_ATTR_S | SEG_ATTR_P,
	};
}

void x86_state_reset(struct x86_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->rip = 0xfff0;
	s->rflags = RFLAGS_FIXED;
	for (int i = 0; i < X86_NR_SREGS; i++)
		s->seg[i] = real_seg(0, SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED);
	/* CS.base is FFFF0000 until the first far jump: the first fetch is at FFFFFFF0. */
	s->seg[X86_CS] = real_seg(0xf000, SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED);
	s->seg[X86_CS].base = 0xffff0000;
	s->ldtr = (struct x86_segment){ .limit = 0xffff, .attr = SEG_TYPE_LDT | SEG_ATTR_P };
	s->tr = (struct x86_segment){ .limit = 0xffff, .attr = SEG_TYPE_TSS32_BUSY | SEG_ATTR_P };
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	s->cr0 = CR0_ET | CR0_NW | CR0_CD;
	s->gpr[X86_RDX] = 0x600; /* family/model/stepping signature, as a P6-class reset */
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->apic_base = APIC_BASE_DEFAULT | APIC_BASE_BSP | APIC_BASE_ENABLE;
	s->msr.pat = 0x0007040600070406ULL;
	s->msr.misc_enable = 1; /* fast strings */
	s->fpu.fcw = 0x40;
	s->fpu.mxcsr = 0x1f80;
	s->fpu.xcr0 = 1;
}

static struct x86_segment flat_seg(uint16_t selector, uint32_t type)
{
	return (struct x86_segment){
		.selector = selector,
		.base = 0,
		.limit = 0xffffffff,
		.attr = type | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G,
	};
}

void x86_state_flat32(struct x86_cpu_state *s)
{
	x86_state_reset(s);
	s->gpr[X86_RDX] = 0;
	s->cr0 = CR0_PE | CR0_ET;
	s->rflags = RFLAGS_FIXED;
	for (int i = 0; i < X86_NR_SREGS; i++)
		s->seg[i] = flat_seg(0x18, SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED);
	s->seg[X86_CS] = flat_seg(0x10, SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED);
	s->tr = (struct x86_segment){ .limit = 0xffff, .attr = SEG_TYPE_TSS32_BUSY | SEG_ATTR_P };
	s->fpu.fcw = 0x37f;
}

const char *x86_state_mode(const struct x86_cpu_state *s)
{
	if (!(s->cr0 & CR0_PE))
		return "real";
	if (s->efer & EFER_LMA)
		return (s->seg[X86_CS].attr & SEG_ATTR_L) ? "long64" : "compat";
	if (s->rflags & RFLAGS_VM)
		return "vm86";
	return (s->seg[X86_CS].attr & SEG_ATTR_DB) ? "prot32" : "prot16";
}

static void dump_seg(FILE *out, const char *name, const struct x86_segment *g)
{
	fprintf(out, "%-3s=%04x %016" PRIx64 " %08x %05x", name, g->selector, g->base, g->limit, g->attr);
	if (g->attr & SEG_ATTR_UNUSABLE)
		fprintf(out, " unusable");
	else if (g->attr & SEG_ATTR_S)
		fprintf(out, " %s dpl=%u%s%s", (g->attr & SEG_TYPE_CODE) ? "code" : "data",
			(g->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT,
			(g->attr & SEG_ATTR_L) ? " L" : "", (g->attr & SEG_ATTR_DB) ? " DB" : "");
	else
		fprintf(out, " sys type=%u", g->attr & SEG_ATTR_TYPE);
	fputc('\n', out);
}

void x86_state_dump(const struct x86_cpu_state *s, FILE *out)
{
	static const char *const gpr[] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
					   "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15" };
	static const char *const sreg[] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	for (int i = 0; i < X86_NR_GPRS; i++)
		fprintf(out, "%-3s=%016" PRIx64 "%s", gpr[i], s->gpr[i], i % 4 == 3 ? "\n" : " ");
	uint64_t f = s->rflags;
	fprintf(out, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " [%c%c%c%c%c%c%c%c%c] CPL=%u mode=%s\n", s->rip, f,
		(f & RFLAGS_OF) ? 'O' : '-', (f & RFLAGS_DF) ? 'D' : '-', (f & RFLAGS_IF) ? 'I' : '-',
		(f & RFLAGS_TF) ? 'T' : '-', (f & RFLAGS_SF) ? 'S' : '-', (f & RFLAGS_ZF) ? 'Z' : '-',
		(f & RFLAGS_AF) ? 'A' : '-', (f & RFLAGS_PF) ? 'P' : '-', (f & RFLAGS_CF) ? 'C' : '-',
		(s->seg[X86_SS].attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT, x86_state_mode(s));
	for (int i = 0; i < X86_NR_SREGS; i++)
		dump_seg(out, sreg[i], &s->seg[i]);
	dump_seg(out, "LDT", &s->ldtr);
	dump_seg(out, "TR", &s->tr);
	fprintf(out, "GDT=    %016" PRIx64 " %08x\n", s->gdtr.base, s->gdtr.limit);
	fprintf(out, "IDT=    %016" PRIx64 " %08x\n", s->idtr.base, s->idtr.limit);
	fprintf(out, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64 "\n", s->cr0,
		s->cr2, s->cr3, s->cr4);
	fprintf(out, "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64 " DR3=%016" PRIx64 "\n",
		s->dr[0], s->dr[1], s->dr[2], s->dr[3]);
	fprintf(out, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", s->dr6, s->dr7);
	fprintf(out, "EFER=%016" PRIx64 " APIC_BASE=%016" PRIx64 "\n", s->efer, s->apic_base);
}
