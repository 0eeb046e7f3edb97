/* SPDX-License-Identifier: MIT */
/*
 * Exceptions and interrupts: the raise path out of an instruction, the
 * double-fault rules (SDM Vol. 3A §6.15, Table 6-5), and delivery through the
 * real-mode IVT, protected-mode IDT gates (§6.12) and IA-32e gates (§6.14).
 *
 * Delivery is transactional: descriptors are read and the new stack probed
 * before any register changes, so a fault during delivery leaves the state of
 * the interrupted instruction intact for the double-fault path. Task gates
 * hand over to interp/task.c (SDM Vol. 3A §6.12.2). Fault-class exceptions
 * push RF = 1 (SDM Vol. 3B §17.3.1.1).
 * Not implemented yet: the virtual-8086 interrupt redirection of CR4.VME.
 */
#include "engine/soft/soft_engine.h"

void soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error)
{
	cpu->raised_vector = vector;
	cpu->raised_error = error_code;
	cpu->raised_has_error = has_error;
	__builtin_longjmp(cpu->unwind, 1);
}

void soft_raise_gp(struct soft_cpu *cpu, uint32_t error_code)
{
	soft_raise(cpu, X86_EXC_GP, error_code, true);
}

void soft_raise_ud(struct soft_cpu *cpu)
{
	soft_raise(cpu, X86_EXC_UD, 0, false);
}

void soft_raise_de(struct soft_cpu *cpu)
{
	soft_raise(cpu, X86_EXC_DE, 0, false);
}

void soft_raise_ss(struct soft_cpu *cpu, uint32_t error_code)
{
	soft_raise(cpu, X86_EXC_SS, error_code, true);
}

static bool contributory(int v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

/* Combines a new exception with one being delivered (Table 6-5). */
static void classify(struct soft_cpu *cpu)
{
	int first = cpu->delivering_vector, second = cpu->raised_vector;
	if (first < 0)
		return;
	if (first == X86_EXC_DF) {
		cpu->shutdown = true;
		return;
	}
	bool df = (contributory(first) && contributory(second)) ||
		  (first == X86_EXC_PF && (contributory(second) || second == X86_EXC_PF));
	if (df) {
		cpu->raised_vector = X86_EXC_DF;
		cpu->raised_error = 0;
		cpu->raised_has_error = true;
	}
}

void soft_deliver_exception(struct soft_cpu *cpu)
{
	/* Faults restart the instruction: its own effects were never committed. */
	cpu->s.rip = cpu->insn_rip;
	classify(cpu);
	if (cpu->shutdown)
		return;
	cpu->delivering_vector = cpu->raised_vector;
	/* A fault's frame (or saved TSS image) has RF set, so that returning to
	 * the instruction skips its instruction breakpoint; #DF is an abort. The
	 * delivery clears RF again. */
	if (cpu->raised_vector != X86_EXC_DF)
		cpu->s.rflags |= RFLAGS_RF;
	soft_deliver(cpu, cpu->raised_vector, cpu->raised_error, cpu->raised_has_error, false);
	cpu->delivering_vector = -1;
}

/* ---- real mode ---- */

static void deliver_real(struct soft_cpu *cpu, int vector)
{
	struct x86_cpu_state *s = &cpu->s;
	if ((uint64_t)vector * 4 + 3 > s->idtr.limit)
		soft_raise_gp(cpu, 0);
	uint64_t ent = soft_lin_read(cpu, s->idtr.base + (uint64_t)vector * 4, 4, false);
	uint16_t sp = (uint16_t)s->gpr[X86_RSP];
	soft_lin_probe_write(cpu, s->seg[X86_SS].base + (uint16_t)(sp - 6), 6, false);
	soft_push(cpu, 2, s->rflags);
	soft_push(cpu, 2, s->seg[X86_CS].selector);
	soft_push(cpu, 2, s->rip);
	s->rflags &= ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF);
	s->seg[X86_CS].selector = (uint16_t)(ent >> 16);
	s->seg[X86_CS].base = (ent >> 16 & 0xffff) << 4;
	s->rip = ent & 0xffff;
	soft_seg_flat_update(cpu); /* a base other than 0 ends a flat (4 GiB limit) CS */
	cpu->end_block = true;
}

/* ---- protected and long mode ---- */

/* New stack for a privilege change: from the TSS (or the IST in long mode). */
static void tss_stack(struct soft_cpu *cpu, unsigned dpl, unsigned ist, uint16_t *ss, uint64_t *sp)
{
	const struct x86_segment *tr = &cpu->s.tr;
	if (cpu->long_mode) {
		uint64_t off = ist ? 0x24 + (uint64_t)(ist - 1) * 8 : 4 + (uint64_t)dpl * 8;
		if (off + 7 > tr->limit)
			soft_raise(cpu, X86_EXC_TS, tr->selector & 0xfffc, true);
		*sp = soft_lin_read(cpu, tr->base + off, 8, false);
		*ss = (uint16_t)dpl;
		return;
	}
	bool tss32 = (tr->attr & SEG_ATTR_TYPE) == 9 || (tr->attr & SEG_ATTR_TYPE) == 11;
	uint64_t off = tss32 ? 4 + (uint64_t)dpl * 8 : 2 + (uint64_t)dpl * 4;
	if (off + (tss32 ? 5 : 3) > tr->limit)
		soft_raise(cpu, X86_EXC_TS, tr->selector & 0xfffc, true);
	*sp = soft_lin_read(cpu, tr->base + off, tss32 ? 4 : 2, false);
	*ss = (uint16_t)soft_lin_read(cpu, tr->base + off + (tss32 ? 4 : 2), 2, false);
}

/* Checks a new SS for a privilege change (SDM: #TS(SS selector) on failure). */
static void load_new_ss(struct soft_cpu *cpu, uint16_t ss, unsigned dpl, struct x86_segment *out)
{
	if (cpu->long_mode) {
		/* IA-32e: SS becomes a null selector with RPL = new CPL. */
		*out = (struct x86_segment){ .selector = ss, .attr = SEG_ATTR_UNUSABLE |
								  ((uint32_t)dpl << SEG_ATTR_DPL_SHIFT) | SEG_ATTR_P };
		return;
	}
	uint32_t err = ss & 0xfffc;
	if ((ss & 0xfffc) == 0 || (ss & 3) != dpl)
		soft_raise(cpu, X86_EXC_TS, err, true);
	uint64_t desc = soft_read_descriptor(cpu, ss, X86_EXC_TS);
	soft_descriptor_to_segment(desc, ss, out);
	unsigned sdpl = (out->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	if (!(out->attr & SEG_ATTR_S) || (out->attr & SEG_TYPE_CODE) || !(out->attr & SEG_TYPE_DATA_RW) ||
	    sdpl != dpl)
		soft_raise(cpu, X86_EXC_TS, err, true);
	if (!(out->attr & SEG_ATTR_P))
		soft_raise_ss(cpu, err);
}

/* Writes the frame downwards from sp, returning the new sp. Writes are
 * probed first, so this either completes or faults with nothing written. */
static uint64_t write_frame(struct soft_cpu *cpu, const struct x86_segment *ss, uint64_t sp, unsigned stack_size,
			    const uint64_t *items, unsigned n, unsigned width, bool user)
{
	uint64_t mask = soft_size_mask(stack_size);
	uint64_t top = (sp - (uint64_t)n * width) & mask;
	uint64_t lin = cpu->long_mode ? top : ((ss->base + top) & 0xffffffffULL);
	if (!cpu->long_mode) {
		uint64_t limit_top = top + (uint64_t)n * width - 1;
		bool expand_down = (ss->attr & 0x4) != 0;
		if ((!expand_down && limit_top > ss->limit) || (expand_down && top <= ss->limit))
			soft_raise_ss(cpu, ss->selector & 0xfffc);
	} else if (!soft_is_canonical(top)) {
		soft_raise_ss(cpu, 0);
	}
	soft_lin_probe_write(cpu, lin, n * width, user);
	for (unsigned i = 0; i < n; i++)
		soft_lin_write(cpu, lin + (uint64_t)(n - 1 - i) * width, width, items[i], user);
	return top;
}

static void deliver_protected(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error,
			      bool soft_int)
{
	struct x86_cpu_state *s = &cpu->s;
	unsigned entry_size = cpu->long_mode ? 16 : 8;
	/* EXT (bit 0) is set for exceptions and external events, not for INT n. */
	uint32_t idt_err = (uint32_t)vector * 8 + 2 + (soft_int ? 0 : 1);

	if ((uint64_t)vector * entry_size + entry_size - 1 > s->idtr.limit)
		soft_raise_gp(cpu, idt_err);
	uint64_t lo = soft_lin_read(cpu, s->idtr.base + (uint64_t)vector * entry_size, 8, false);
	uint64_t hi = cpu->long_mode ? soft_lin_read(cpu, s->idtr.base + (uint64_t)vector * 16 + 8, 8, false) : 0;
	unsigned type = (lo >> 40) & 0xf, gate_dpl = (lo >> 45) & 3;
	bool gate_present = (lo >> 47) & 1;
	bool valid = cpu->long_mode ? (type == 0xe || type == 0xf)
				    : (type == 0x5 || type == 0x6 || type == 0x7 || type == 0xe || type == 0xf);
	if (!valid)
		soft_raise_gp(cpu, idt_err);
	if (soft_int && gate_dpl < cpu->cpl)
		soft_raise_gp(cpu, idt_err);
	if (!gate_present)
		soft_raise(cpu, X86_EXC_NP, idt_err, true);
	if (type == 0x5) {
		soft_task_gate_event(cpu, lo, soft_int ? 0 : 1, error_code, has_error);
		return;
	}

	uint16_t cs_sel = (uint16_t)(lo >> 16);
	uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL);
	if (cpu->long_mode)
		target |= hi << 32;
	unsigned ist = cpu->long_mode ? (lo >> 32) & 7 : 0;
	bool gate32 = type & 0x8;
	bool trap_gate = type & 0x1;

	if ((cs_sel & 0xfffc) == 0)
		soft_raise_gp(cpu, 0 + (soft_int ? 0 : 1));
	uint64_t cs_desc = soft_read_descriptor(cpu, cs_sel, X86_EXC_GP);
	struct x86_segment cs;
	soft_descriptor_to_segment(cs_desc, (uint16_t)(cs_sel & 0xfffc), &cs);
	unsigned cs_dpl = (cs.attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	if (!(cs.attr & SEG_ATTR_S) || !(cs.attr & SEG_TYPE_CODE) || cs_dpl > cpu->cpl)
		soft_raise_gp(cpu, (cs_sel & 0xfffc) + (soft_int ? 0 : 1));
	if (!(cs.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, (cs_sel & 0xfffc) + (soft_int ? 0 : 1), true);
	if (cpu->long_mode && (!(cs.attr & SEG_ATTR_L) || (cs.attr & SEG_ATTR_DB)))
		soft_raise_gp(cpu, (cs_sel & 0xfffc) + (soft_int ? 0 : 1));

	bool conforming = cs.attr & 0x4;
	unsigned new_cpl = conforming ? cpu->cpl : cs_dpl;
	bool v86 = s->rflags & RFLAGS_VM;
	if (v86 && new_cpl != 0)
		soft_raise_gp(cpu, cs_sel & 0xfffc);

	struct x86_segment new_ss = s->seg[X86_SS];
	uint64_t sp = s->gpr[X86_RSP];
	bool stack_switch = new_cpl < cpu->cpl || (cpu->long_mode && ist);
	if (stack_switch) {
		uint16_t ss_sel;
		tss_stack(cpu, new_cpl, ist, &ss_sel, &sp);
		if (new_cpl < cpu->cpl)
			load_new_ss(cpu, ss_sel, new_cpl, &new_ss);
	}
	unsigned width = cpu->long_mode ? 8 : gate32 ? 4 : 2;
	unsigned stack_size = cpu->long_mode ? 8 : (new_ss.attr & SEG_ATTR_DB) ? 4 : 2;
	if (cpu->long_mode)
		sp &= ~0xfULL; /* IA-32e aligns the new stack frame */

	uint64_t items[10];
	unsigned n = 0;
	if (v86) {
		items[n++] = s->seg[X86_GS].selector;
		items[n++] = s->seg[X86_FS].selector;
		items[n++] = s->seg[X86_DS].selector;
		items[n++] = s->seg[X86_ES].selector;
	}
	if (stack_switch || cpu->long_mode) {
		items[n++] = s->seg[X86_SS].selector;
		items[n++] = s->gpr[X86_RSP];
	}
	items[n++] = s->rflags;
	items[n++] = s->seg[X86_CS].selector;
	items[n++] = s->rip;
	if (has_error)
		items[n++] = error_code;
	uint64_t new_sp = write_frame(cpu, &new_ss, sp, stack_size, items, n, width, new_cpl == 3);

	/* Commit. */
	if (!(cs_desc & (1ULL << 40)))
		soft_lin_write(cpu, ((cs_sel & 4) ? s->ldtr.base : s->gdtr.base) + (cs_sel & 0xfff8) + 5, 1,
			       ((cs_desc >> 40) & 0xff) | 1, false);
	if (v86) {
		for (int r = X86_ES; r <= X86_GS; r++)
			if (r != X86_CS && r != X86_SS)
				s->seg[r] = (struct x86_segment){ .attr = SEG_ATTR_UNUSABLE };
	}
	s->seg[X86_SS] = new_ss;
	/* A new stack replaces RSP; on the same stack only the stack-size bits change. */
	uint64_t sp_mask = soft_size_mask(stack_size);
	if (stack_switch || stack_size == 8)
		s->gpr[X86_RSP] = new_sp;
	else
		s->gpr[X86_RSP] = (s->gpr[X86_RSP] & ~sp_mask) | new_sp;
	cs.selector = (uint16_t)((cs_sel & 0xfffc) | new_cpl);
	cs.attr |= SEG_TYPE_ACCESSED;
	s->seg[X86_CS] = cs;
	s->rip = gate32 || cpu->long_mode ? target : (target & 0xffff);
	s->rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (!trap_gate)
		s->rflags &= ~RFLAGS_IF;
	/* SS.DPL carries the CPL. */
	s->seg[X86_SS].attr = (s->seg[X86_SS].attr & ~SEG_ATTR_DPL) | ((uint32_t)new_cpl << SEG_ATTR_DPL_SHIFT);
	soft_cpu_mode_changed(cpu);
}

void soft_deliver(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error, bool soft_int)
{
	cpu->halted = false;
	cpu->interrupt_shadow = false;
	/* The instruction that raised this event (INT n, a task switch) gets no
	 * single-step trap: the event clears or replaces TF. */
	cpu->db_tf = false;
	/* Entering the #DB handler clears DR7.GD so it may use the debug registers. */
	if (vector == X86_EXC_DB && !soft_int)
		cpu->s.dr7 &= ~(uint64_t)DR7_GD;
	if (!(cpu->s.cr0 & CR0_PE))
		deliver_real(cpu, vector);
	else
		deliver_protected(cpu, vector, error_code, has_error, soft_int);
}
