/* SPDX-License-Identifier: MIT */
/*
 * The guest's own debug features (SDM Vol. 3B §17.2-17.3): single-step
 * (EFLAGS.TF), the resume flag (RF), instruction and data breakpoints in
 * DR0-DR3 under DR7, the DR6 status bits (B0-B3, BD, BS, BT) and general
 * detect (DR7.GD). This is the guest-visible side; the host debugger's
 * breakpoints are soft_debug.c, and both share its data-access hook.
 *
 * Cost: none while TF, RF and the DR7 enables are clear. The execution loop
 * runs soft_dr_before/after only in blocks that start with one of them set
 * (soft_dr_armed), and data accesses reach soft_dr_watch only while DR7
 * enables a data breakpoint (the watch_active test they already make).
 *
 * Trap timing follows the SDM: the single-step trap comes after an
 * instruction that started with TF set (so not after the POPF or IRET that
 * sets TF, but after the one that clears it), not after one that faulted or
 * delivered an event (INT n); a MOV SS / POP SS holds its traps back until
 * after the next instruction. Instruction breakpoints are faults checked
 * before the instruction unless RF is set; RF is cleared once the instruction
 * starts, and fault-class exceptions push RF = 1 (soft_exception.c).
 *
 * Not implemented: I/O breakpoints (R/W = 10 with CR4.DE), data breakpoints
 * on implicit accesses (descriptor tables, the frames of event delivery, page
 * walks), the DR6.BS trap of an instruction that switched tasks. REP string
 * instructions trap after each iteration (interp/string.c).
 */
#include "engine/soft/soft_engine.h"

static unsigned bp_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

static unsigned bp_rw(uint64_t dr7, unsigned n)
{
	return (dr7 >> (16 + 4 * n)) & 3;
}

/* LEN: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8 bytes. */
static unsigned bp_len(uint64_t dr7, unsigned n)
{
	static const unsigned bytes[4] = { 1, 2, 8, 4 };
	return bytes[(dr7 >> (18 + 4 * n)) & 3];
}

void soft_dr_changed(struct soft_cpu *cpu)
{
	bool data = false;
	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = bp_rw(cpu->s.dr7, n);
		if (bp_enabled(cpu->s.dr7, n) && (rw == 1 || rw == 3))
			data = true;
	}
	cpu->dr_data_active = data;
	cpu->watch_active = cpu->host_watch || data;
}

/* Delivers #DB with the given DR6 bits, as an event between instructions at
 * s.rip: a fault in the delivery restarts there, classified against #DB. */
static void deliver_db(struct soft_cpu *cpu, uint32_t bits)
{
	struct x86_cpu_state *s = &cpu->s;
	/* Breakpoint hits replace B0-B3; BS, BT and BD accumulate (the
	 * handler clears DR6). */
	if (bits & 0xf)
		s->dr6 &= ~0xfULL;
	s->dr6 |= bits;
	cpu->insn_rip = s->rip;
	cpu->delivering_vector = X86_EXC_DB;
	soft_deliver(cpu, X86_EXC_DB, 0, false, false);
	cpu->delivering_vector = -1;
}

bool soft_dr_before(struct soft_cpu *cpu)
{
	struct x86_cpu_state *s = &cpu->s;
	cpu->db_hits = 0;
	cpu->db_shadow = false;
	cpu->db_tf = false;
	if ((s->dr7 & DR7_ENABLES) && !(s->rflags & RFLAGS_RF)) {
		uint64_t lin = s->seg[X86_CS].base + s->rip;
		if (!soft_in_64bit_mode(cpu))
			lin &= 0xffffffffULL;
		uint32_t hit = 0;
		for (unsigned n = 0; n < 4; n++) {
			uint64_t addr = s->dr[n];
			if (!soft_in_64bit_mode(cpu))
				addr &= 0xffffffffULL;
			if (bp_enabled(s->dr7, n) && bp_rw(s->dr7, n) == 0 && addr == lin)
				hit |= 1u << n;
		}
		if (hit) {
			/* A fault: RF stays as it is (0) in the pushed image, the
			 * handler sets it to continue (SDM Vol. 3B §17.3.1.1). */
			deliver_db(cpu, hit);
			return true;
		}
	}
	cpu->db_tf = (s->rflags & RFLAGS_TF) != 0;
	s->rflags &= ~RFLAGS_RF;
	return false;
}

bool soft_dr_after(struct soft_cpu *cpu)
{
	uint32_t bits = cpu->db_pending | cpu->db_hits | (cpu->db_tf ? DR6_BS : 0);
	cpu->db_hits = 0;
	cpu->db_tf = false;
	if (cpu->db_shadow) {
		/* MOV SS / POP SS: the traps wait for the end of the next instruction
		 * (SDM Vol. 3A §6.8.3), merging with its own. */
		cpu->db_pending = bits;
		return false;
	}
	cpu->db_pending = 0;
	if (!bits)
		return false;
	deliver_db(cpu, bits);
	return true;
}

void soft_dr_watch(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool is_write)
{
	uint64_t dr7 = cpu->s.dr7;
	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = bp_rw(dr7, n);
		if (!bp_enabled(dr7, n) || rw == 0 || rw == 2 || (rw == 1 && !is_write))
			continue;
		/* The breakpoint covers its naturally aligned LEN bytes: the
		 * address's low bits are ignored (SDM Vol. 3B §17.2.5). */
		uint64_t len = bp_len(dr7, n);
		uint64_t addr = cpu->s.dr[n] & ~(len - 1);
		if (!soft_in_64bit_mode(cpu))
			addr &= 0xffffffffULL;
		if (lin < addr + len && addr < lin + size)
			cpu->db_hits |= 1u << n;
	}
}

void soft_dr_general_detect(struct soft_cpu *cpu)
{
	/* A fault (the MOV DR does not run); delivery of #DB clears GD so the
	 * handler can use the debug registers. */
	cpu->s.dr6 |= DR6_BD;
	soft_raise(cpu, X86_EXC_DB, 0, false);
}

void soft_dr_task_trap(struct soft_cpu *cpu)
{
	deliver_db(cpu, DR6_BT);
}
