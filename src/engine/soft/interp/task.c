/* SPDX-License-Identifier: MIT */
/*
 * Hardware task switching (SDM Vol. 3A chapter 7): JMP/CALL far to a TSS
 * descriptor or a task gate, interrupts and exceptions through IDT task
 * gates, IRET with EFLAGS.NT back along the previous-task link; 32-bit
 * (types 9/11) and 16-bit (types 1/3) TSSs.
 *
 * The switch follows §7.3: the checks of the instruction (busy, present,
 * privilege: JMP, CALL, INT n, IRET in Vol. 2) and of the new TSS's limit,
 * then every read of the new TSS and a probe of every write, all before the
 * commit point, so a fault there leaves the old task untouched. Then the
 * busy bits, the old task's state (EIP, EFLAGS, general registers, segment
 * selectors; not CR3 nor LDTR), the back link and NT for nested switches,
 * TR, CR0.TS, CR3 (with paging, 32-bit TSS), and the new task's registers.
 * LDTR and the segment registers are loaded last, with the checks of
 * Table 7-1: their faults (#TS, #NP, #SS) are delivered in the new task's
 * context, with the selectors already in the registers, as on hardware; the
 * SDM recommends a task gate for #TS for that reason.
 *
 * A 16-bit TSS holds the low words; loading one sets the upper halves of the
 * general registers to FFFFh (what Bochs and QEMU do; the SDM does not say).
 * Long mode has no task switching: the callers raise #GP there.
 * A JMP/CALL/IRET that starts with TF set single-steps into the new task
 * (its #DB comes before the new task's first instruction, as under QEMU); the
 * T bit adds DR6.BT (soft_dr.c).
 * Not implemented: the #SS(EXT) error code for a new stack too small for the
 * error code (it is #SS(0)), PDPTE loading for PAE (the soft engine walks
 * them from CR3).
 */
#include "engine/soft/soft_engine.h"

/* What a task switch loads from the new TSS. */
struct tss_image {
	uint32_t cr3, eip, eflags;
	uint32_t gpr[8];
	uint16_t sreg[X86_NR_SREGS];
	uint16_t ldt;
	bool trap; /* the T bit: #DB on entry */
};

/* Offsets of the saved state in each TSS format. */
#define TSS32_CR3 0x1c
#define TSS32_EIP 0x20
#define TSS32_EFLAGS 0x24
#define TSS32_GPR 0x28
#define TSS32_SREG 0x48
#define TSS32_LDT 0x60
#define TSS32_TRAP 0x64
#define TSS16_IP 0x0e
#define TSS16_FLAGS 0x10
#define TSS16_GPR 0x12
#define TSS16_SREG 0x22
#define TSS16_LDT 0x2a

#define EFLAGS_DEFINED 0x3f7fd5u /* the EFLAGS bits a TSS can load (bit 1 is fixed) */

static bool tss32_type(unsigned type)
{
	return type & 8;
}

static unsigned desc_type(uint64_t desc)
{
	return (desc >> 40) & 0xf;
}

static bool desc_system_tss(uint64_t desc)
{
	unsigned type = desc_type(desc);
	return !((desc >> 44) & 1) && (type == 1 || type == 3 || type == 9 || type == 11);
}

static bool desc_present(uint64_t desc)
{
	return (desc >> 47) & 1;
}

static bool desc_busy(uint64_t desc)
{
	return desc_type(desc) & 2;
}

/* A TSS descriptor must be in the GDT: reads sel's entry, raising vector(sel | ext) otherwise. */
static uint64_t read_gdt_tss(struct soft_cpu *cpu, uint16_t sel, int vector, unsigned ext)
{
	uint32_t err = (sel & 0xfffc) | ext;
	if ((sel & 4) || (uint64_t)(sel & 0xfff8) + 7 > cpu->s.gdtr.limit)
		soft_raise(cpu, vector, err, true);
	return soft_lin_read(cpu, cpu->s.gdtr.base + (sel & 0xfff8), 8, false);
}

static uint64_t busy_byte_addr(const struct soft_cpu *cpu, uint16_t sel)
{
	return cpu->s.gdtr.base + (sel & 0xfff8) + 5;
}

static void set_busy(struct soft_cpu *cpu, uint16_t sel, bool busy)
{
	soft_lin_update_byte(cpu, busy_byte_addr(cpu, sel), busy ? 2 : 0, busy ? 0 : 2);
}

static void read_new_tss(struct soft_cpu *cpu, uint64_t base, bool tss32, struct tss_image *t)
{
	if (tss32) {
		t->cr3 = (uint32_t)soft_lin_read(cpu, base + TSS32_CR3, 4, false);
		t->eip = (uint32_t)soft_lin_read(cpu, base + TSS32_EIP, 4, false);
		t->eflags = (uint32_t)soft_lin_read(cpu, base + TSS32_EFLAGS, 4, false);
		for (unsigned i = 0; i < 8; i++)
			t->gpr[i] = (uint32_t)soft_lin_read(cpu, base + TSS32_GPR + 4 * i, 4, false);
		for (unsigned i = 0; i < X86_NR_SREGS; i++)
			t->sreg[i] = (uint16_t)soft_lin_read(cpu, base + TSS32_SREG + 4 * i, 2, false);
		t->ldt = (uint16_t)soft_lin_read(cpu, base + TSS32_LDT, 2, false);
		t->trap = soft_lin_read(cpu, base + TSS32_TRAP, 2, false) & 1;
		return;
	}
	t->cr3 = 0;
	t->eip = (uint32_t)soft_lin_read(cpu, base + TSS16_IP, 2, false);
	t->eflags = (uint32_t)soft_lin_read(cpu, base + TSS16_FLAGS, 2, false);
	for (unsigned i = 0; i < 8; i++)
		t->gpr[i] = 0xffff0000u | (uint32_t)soft_lin_read(cpu, base + TSS16_GPR + 2 * i, 2, false);
	/* ES CS SS DS: the encoding order; a 16-bit task has no FS and GS. */
	for (unsigned i = 0; i < 4; i++)
		t->sreg[i] = (uint16_t)soft_lin_read(cpu, base + TSS16_SREG + 2 * i, 2, false);
	t->sreg[X86_FS] = t->sreg[X86_GS] = 0;
	t->ldt = (uint16_t)soft_lin_read(cpu, base + TSS16_LDT, 2, false);
	t->trap = false;
}

/* The old task's dynamic fields: the range save_old_tss writes. */
static void old_tss_area(bool tss32, uint64_t *off, unsigned *len)
{
	*off = tss32 ? TSS32_EIP : TSS16_IP;
	*len = tss32 ? TSS32_LDT - TSS32_EIP : TSS16_LDT - TSS16_IP;
}

static void save_old_tss(struct soft_cpu *cpu, uint64_t base, bool tss32, uint32_t eflags)
{
	const struct x86_cpu_state *s = &cpu->s;
	if (tss32) {
		soft_lin_write(cpu, base + TSS32_EIP, 4, (uint32_t)s->rip, false);
		soft_lin_write(cpu, base + TSS32_EFLAGS, 4, eflags, false);
		for (unsigned i = 0; i < 8; i++)
			soft_lin_write(cpu, base + TSS32_GPR + 4 * i, 4, (uint32_t)s->gpr[i], false);
		for (unsigned i = 0; i < X86_NR_SREGS; i++)
			soft_lin_write(cpu, base + TSS32_SREG + 4 * i, 2, s->seg[i].selector, false);
		return;
	}
	soft_lin_write(cpu, base + TSS16_IP, 2, (uint16_t)s->rip, false);
	soft_lin_write(cpu, base + TSS16_FLAGS, 2, (uint16_t)eflags, false);
	for (unsigned i = 0; i < 8; i++)
		soft_lin_write(cpu, base + TSS16_GPR + 2 * i, 2, (uint16_t)s->gpr[i], false);
	for (unsigned i = 0; i < 4; i++)
		soft_lin_write(cpu, base + TSS16_SREG + 2 * i, 2, s->seg[i].selector, false);
}

/* The new task's LDT (after the commit point): #TS(LDT selector) for anything wrong. */
static void load_task_ldt(struct soft_cpu *cpu, uint16_t sel, unsigned ext)
{
	struct x86_cpu_state *s = &cpu->s;
	if ((sel & 0xfffc) == 0) {
		s->ldtr = (struct x86_segment){ .selector = sel, .attr = SEG_ATTR_UNUSABLE };
		return;
	}
	uint64_t desc = read_gdt_tss(cpu, sel, X86_EXC_TS, ext);
	struct x86_segment n;
	soft_descriptor_to_segment(desc, sel, &n);
	if ((n.attr & SEG_ATTR_S) || (n.attr & SEG_ATTR_TYPE) != SEG_TYPE_LDT || !(n.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_TS, (sel & 0xfffc) | ext, true);
	s->ldtr = n;
}

/* One segment register of the new task (after the commit point), with the
 * checks of SDM Vol. 3A Table 7-1; cpl is the new CS's RPL. */
static void load_task_sreg(struct soft_cpu *cpu, int sreg, uint16_t sel, unsigned cpl, unsigned ext)
{
	uint32_t err = (sel & 0xfffc) | ext;
	if ((sel & 0xfffc) == 0) {
		if (sreg == X86_CS || sreg == X86_SS)
			soft_raise(cpu, X86_EXC_TS, ext, true);
		cpu->s.seg[sreg] = (struct x86_segment){ .selector = sel, .attr = SEG_ATTR_UNUSABLE };
		soft_seg_flat_update(cpu);
		return;
	}
	uint64_t desc = soft_read_descriptor(cpu, sel, X86_EXC_TS);
	struct x86_segment n;
	soft_descriptor_to_segment(desc, sel, &n);
	unsigned dpl = (n.attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT, rpl = sel & 3;
	unsigned type = n.attr & SEG_ATTR_TYPE;
	bool code = type & SEG_TYPE_CODE, conforming = code && (type & 0x4);
	if (!(n.attr & SEG_ATTR_S))
		soft_raise(cpu, X86_EXC_TS, err, true);
	if (sreg == X86_CS) {
		if (!code || (conforming ? dpl > rpl : dpl != rpl))
			soft_raise(cpu, X86_EXC_TS, err, true);
		if (!(n.attr & SEG_ATTR_P))
			soft_raise(cpu, X86_EXC_NP, err, true);
	} else if (sreg == X86_SS) {
		if (code || !(type & SEG_TYPE_DATA_RW) || dpl != cpl || rpl != cpl)
			soft_raise(cpu, X86_EXC_TS, err, true);
		if (!(n.attr & SEG_ATTR_P))
			soft_raise(cpu, X86_EXC_SS, err, true);
	} else {
		if ((code && !(type & SEG_TYPE_CODE_R)) || (!conforming && (dpl < cpl || dpl < rpl)))
			soft_raise(cpu, X86_EXC_TS, err, true);
		if (!(n.attr & SEG_ATTR_P))
			soft_raise(cpu, X86_EXC_NP, err, true);
	}
	soft_descriptor_mark_accessed(cpu, sel, desc);
	n.attr |= SEG_TYPE_ACCESSED;
	cpu->s.seg[sreg] = n;
	soft_seg_flat_update(cpu);
	if (sreg == X86_CS || sreg == X86_SS)
		soft_cpu_mode_changed(cpu);
}

/* Registers of the new task (after the commit point). */
static void load_new_state(struct soft_cpu *cpu, const struct tss_image *t, bool tss32, bool nested,
			   unsigned ext)
{
	struct x86_cpu_state *s = &cpu->s;
	uint32_t fl = t->eflags & (tss32 ? EFLAGS_DEFINED : 0x7fd5u);
	if (nested)
		fl |= RFLAGS_NT;
	s->rflags = fl | RFLAGS_FIXED;
	s->rip = t->eip;
	for (unsigned i = 0; i < 8; i++)
		s->gpr[i] = t->gpr[i];
	/* The local breakpoint enables belong to the old task (SDM Vol. 3B §17.2.4). */
	s->dr7 &= ~(uint64_t)DR7_LOCAL;
	soft_dr_changed(cpu);

	if (fl & RFLAGS_VM) {
		/* A virtual-8086 task: segments are paragraph-based, CPL 3. */
		load_task_ldt(cpu, t->ldt, ext);
		for (int r = 0; r < X86_NR_SREGS; r++)
			soft_load_sreg(cpu, r, t->sreg[r]);
		soft_cpu_mode_changed(cpu);
		return;
	}
	/* All selectors first, as hardware does: a fault below finds them in
	 * the registers (and pushes or saves them) with unusable caches; SS.DPL
	 * already carries the new CPL. */
	unsigned cpl = t->sreg[X86_CS] & 3;
	for (int r = 0; r < X86_NR_SREGS; r++)
		s->seg[r] = (struct x86_segment){ .selector = t->sreg[r], .attr = SEG_ATTR_UNUSABLE };
	s->seg[X86_SS].attr |= (uint32_t)cpl << SEG_ATTR_DPL_SHIFT;
	s->ldtr = (struct x86_segment){ .selector = t->ldt, .attr = SEG_ATTR_UNUSABLE };
	soft_cpu_mode_changed(cpu);
	load_task_ldt(cpu, t->ldt, ext);
	static const int order[X86_NR_SREGS] = { X86_CS, X86_SS, X86_ES, X86_DS, X86_FS, X86_GS };
	for (int i = 0; i < X86_NR_SREGS; i++)
		load_task_sreg(cpu, order[i], t->sreg[order[i]], cpl, ext);
}

void soft_task_switch(struct soft_cpu *cpu, uint16_t tss_sel, uint64_t tss_desc, enum soft_task_reason reason,
		      unsigned ext, uint32_t error_code, bool has_error)
{
	struct x86_cpu_state *s = &cpu->s;
	struct x86_segment new_tr;
	soft_descriptor_to_segment(tss_desc, tss_sel, &new_tr);
	bool new32 = tss32_type(desc_type(tss_desc));
	if (new_tr.limit < (new32 ? 0x67u : 0x2bu))
		soft_raise(cpu, X86_EXC_TS, (tss_sel & 0xfffc) | ext, true);
	/* The old TSS must hold what is saved into it. */
	bool old32 = tss32_type(s->tr.attr & SEG_ATTR_TYPE);
	uint64_t old_off;
	unsigned old_len;
	old_tss_area(old32, &old_off, &old_len);
	if ((s->tr.attr & SEG_ATTR_UNUSABLE) || old_off + old_len - 1 > s->tr.limit)
		soft_raise(cpu, X86_EXC_TS, (s->tr.selector & 0xfffc) | ext, true);

	/* Everything that can fault in the old task's context: the new TSS's
	 * contents, and every write of the switch (SDM §7.3 step 5). */
	struct tss_image t;
	read_new_tss(cpu, new_tr.base, new32, &t);
	bool nested = reason == SOFT_TASK_CALL || reason == SOFT_TASK_INT;
	soft_lin_probe_write(cpu, s->tr.base + old_off, old_len, false);
	if (nested)
		soft_lin_probe_write(cpu, new_tr.base, 2, false);
	if (reason == SOFT_TASK_JMP || reason == SOFT_TASK_IRET)
		soft_lin_probe_write(cpu, busy_byte_addr(cpu, s->tr.selector), 1, false);
	if (reason != SOFT_TASK_IRET)
		soft_lin_probe_write(cpu, busy_byte_addr(cpu, tss_sel), 1, false);

	/* ---- commit point ---- */
	uint32_t old_eflags = (uint32_t)s->rflags;
	if (reason == SOFT_TASK_IRET)
		old_eflags &= ~(uint32_t)RFLAGS_NT;
	if (reason == SOFT_TASK_JMP || reason == SOFT_TASK_IRET)
		set_busy(cpu, s->tr.selector, false);
	save_old_tss(cpu, s->tr.base, old32, old_eflags);
	if (nested)
		soft_lin_write(cpu, new_tr.base, 2, s->tr.selector, false);
	if (reason != SOFT_TASK_IRET)
		set_busy(cpu, tss_sel, true);
	new_tr.attr |= 2; /* busy */
	s->tr = new_tr;
	s->cr0 |= CR0_TS;
	if (new32 && (s->cr0 & CR0_PG)) {
		s->cr3 = t.cr3;
		soft_tlb_flush_all(cpu, false);
	}
	/* From here on a fault belongs to the new task and restarts at its EIP. */
	cpu->insn_rip = t.eip;
	cpu->end_block = true;
	load_new_state(cpu, &t, new32, nested, ext);

	if (reason == SOFT_TASK_INT && has_error)
		soft_push(cpu, new32 ? 4 : 2, error_code);
	if (!(s->rflags & RFLAGS_VM) && s->rip > s->seg[X86_CS].limit)
		soft_raise_gp(cpu, ext);
	if (t.trap)
		soft_dr_task_trap(cpu);
}

void soft_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t desc, bool call)
{
	uint32_t err = sel & 0xfffc;
	unsigned dpl = (desc >> 45) & 3;
	if (dpl < cpu->cpl || dpl < (sel & 3u))
		soft_raise_gp(cpu, err);
	if (desc_type(desc) == 5) {
		/* Task gate: it names the TSS, whose own DPL is not checked. */
		if (!desc_present(desc))
			soft_raise(cpu, X86_EXC_NP, err, true);
		sel = (uint16_t)(desc >> 16);
		err = sel & 0xfffc;
		desc = read_gdt_tss(cpu, sel, X86_EXC_GP, 0);
		if (!desc_system_tss(desc))
			soft_raise_gp(cpu, err);
	} else if (sel & 4) {
		soft_raise_gp(cpu, err); /* a TSS descriptor lives in the GDT */
	}
	if (desc_busy(desc))
		soft_raise_gp(cpu, err);
	if (!desc_present(desc))
		soft_raise(cpu, X86_EXC_NP, err, true);
	soft_task_switch(cpu, sel, desc, call ? SOFT_TASK_CALL : SOFT_TASK_JMP, 0, 0, false);
}

void soft_task_gate_event(struct soft_cpu *cpu, uint64_t gate, unsigned ext, uint32_t error_code, bool has_error)
{
	uint16_t sel = (uint16_t)(gate >> 16);
	uint32_t err = (sel & 0xfffc) | ext;
	uint64_t desc = read_gdt_tss(cpu, sel, X86_EXC_GP, ext);
	if (!desc_system_tss(desc) || desc_busy(desc))
		soft_raise_gp(cpu, err);
	if (!desc_present(desc))
		soft_raise(cpu, X86_EXC_NP, err, true);
	soft_task_switch(cpu, sel, desc, SOFT_TASK_INT, ext, error_code, has_error);
}

void soft_task_iret(struct soft_cpu *cpu)
{
	const struct x86_segment *tr = &cpu->s.tr;
	if ((tr->attr & SEG_ATTR_UNUSABLE) || tr->limit < 1)
		soft_raise(cpu, X86_EXC_TS, tr->selector & 0xfffc, true);
	uint16_t sel = (uint16_t)soft_lin_read(cpu, tr->base, 2, false);
	uint32_t err = sel & 0xfffc;
	uint64_t desc = read_gdt_tss(cpu, sel, X86_EXC_TS, 0);
	/* The task returned to must be a busy TSS: it is the one that called. */
	if (!desc_system_tss(desc) || !desc_busy(desc))
		soft_raise(cpu, X86_EXC_TS, err, true);
	if (!desc_present(desc))
		soft_raise(cpu, X86_EXC_NP, err, true);
	soft_task_switch(cpu, sel, desc, SOFT_TASK_IRET, 0, 0, false);
}
