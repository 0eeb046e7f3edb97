/* SPDX-License-Identifier: MIT */
/*
 * Control transfers between code segments: far JMP/CALL/RET (direct, through
 * call gates, with the stack switch of an inter-privilege CALL and RET),
 * INT n/INT3/INTO/INT1 and IRET in every mode (SDM Vol. 2: JMP, CALL, RET,
 * INT n, IRET; Vol. 3A §5.8 privilege transfers).
 *
 * Task switches (JMP/CALL to a TSS or task gate, IRET with NT set) are
 * interp/task.c; long mode has none (#GP).
 * Not implemented yet: CR4.VME virtual interrupts.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_engine.h"

static bool protected_mode(const struct soft_cpu *cpu)
{
	return (cpu->s.cr0 & CR0_PE) && !(cpu->s.rflags & RFLAGS_VM);
}

static unsigned seg_dpl(const struct x86_segment *g)
{
	return (g->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
}

static bool is_code(const struct x86_segment *g)
{
	return (g->attr & SEG_ATTR_S) && (g->attr & SEG_TYPE_CODE);
}

static bool is_conforming(const struct x86_segment *g)
{
	return is_code(g) && (g->attr & 0x4);
}

/* Real/V86: CS is just selector << 4. */
static void load_cs_real(struct soft_cpu *cpu, uint16_t sel, uint64_t ip)
{
	cpu->s.seg[X86_CS].selector = sel;
	cpu->s.seg[X86_CS].base = (uint64_t)sel << 4;
	cpu->s.rip = ip;
	soft_seg_flat_update(cpu); /* a base other than 0 ends a flat (4 GiB limit) CS */
	cpu->end_block = true;
}

/* Installs a checked code segment at privilege cpl. */
static void commit_cs(struct soft_cpu *cpu, struct x86_segment cs, uint16_t sel, unsigned cpl, uint64_t rip)
{
	cs.selector = (uint16_t)((sel & 0xfffc) | cpl);
	cs.attr |= SEG_TYPE_ACCESSED;
	cpu->s.seg[X86_CS] = cs;
	cpu->s.rip = rip;
	soft_cpu_mode_changed(cpu);
}

/* A code-segment target's offset must lie within its limit (outside 64-bit code). */
static uint64_t check_target(struct soft_cpu *cpu, const struct x86_segment *cs, uint64_t off)
{
	bool target64 = cpu->long_mode && (cs->attr & SEG_ATTR_L);
	if (target64) {
		if (!soft_is_canonical(off))
			soft_raise_gp(cpu, 0);
	} else if (off > cs->limit) {
		soft_raise_gp(cpu, 0);
	}
	return off;
}

/* Reads a code-segment descriptor for a direct transfer and checks its privilege (JMP/CALL rules). */
static void direct_code_checks(struct soft_cpu *cpu, uint16_t sel, const struct x86_segment *cs)
{
	unsigned dpl = seg_dpl(cs), rpl = sel & 3;
	uint32_t err = sel & 0xfffc;
	if (is_conforming(cs)) {
		if (dpl > cpu->cpl)
			soft_raise_gp(cpu, err);
	} else if (rpl > cpu->cpl || dpl != cpu->cpl) {
		soft_raise_gp(cpu, err);
	}
	if (!(cs->attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, err, true);
}

/* Loads the far pointer operand (immediate ptr16:xx or m16:xx). */
static void far_operand(struct soft_cpu *cpu, const struct soft_insn *in, uint16_t *sel, uint64_t *off)
{
	const struct soft_operand *op = &in->op[0];
	if (op->kind == SOFT_OP_PTR) {
		*sel = op->ptr_sel;
		*off = op->imm;
		return;
	}
	if (op->kind != SOFT_OP_MEM)
		soft_raise_ud(cpu);
	unsigned osz = in->opsize;
	uint64_t ea = soft_ea(cpu, in, op);
	*off = soft_seg_read(cpu, op->seg, ea, osz);
	*sel = (uint16_t)soft_seg_read(cpu, op->seg, (ea + osz) & soft_size_mask(in->addrsize), 2);
}

static void push_far_return(struct soft_cpu *cpu, unsigned osz)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = (cpu->s.gpr[X86_RSP] - 2 * osz) & soft_size_mask(ss);
	soft_lin_probe_write(cpu, soft_seg_linear(cpu, X86_SS, sp, 2 * osz, SOFT_ACC_WRITE), 2 * osz,
			     cpu->cpl == 3);
	soft_push(cpu, osz, cpu->s.seg[X86_CS].selector);
	soft_push(cpu, osz, cpu->s.rip);
}

/* CALL through a call gate to a more privileged level: new stack from the TSS, parameters copied. */
static void call_gate_inner(struct soft_cpu *cpu, uint64_t gate, struct x86_segment cs, uint16_t cs_sel,
			    uint64_t target, bool gate32)
{
	unsigned new_cpl = seg_dpl(&cs);
	unsigned w = cpu->long_mode ? 8 : gate32 ? 4 : 2;
	unsigned params = cpu->long_mode ? 0 : (unsigned)((gate >> 32) & 0x1f);
	struct x86_cpu_state *s = &cpu->s;
	const struct x86_segment *tr = &s->tr;
	uint64_t new_sp;
	uint16_t new_ss_sel;
	if (cpu->long_mode) {
		new_sp = soft_lin_read(cpu, tr->base + 4 + (uint64_t)new_cpl * 8, 8, false);
		new_ss_sel = (uint16_t)new_cpl;
	} else {
		new_sp = soft_lin_read(cpu, tr->base + 4 + (uint64_t)new_cpl * 8, 4, false);
		new_ss_sel = (uint16_t)soft_lin_read(cpu, tr->base + 8 + (uint64_t)new_cpl * 8, 2, false);
	}
	struct x86_segment new_ss = { .selector = new_ss_sel,
				      .attr = SEG_ATTR_UNUSABLE | SEG_ATTR_P | ((uint32_t)new_cpl << SEG_ATTR_DPL_SHIFT) };
	if (!cpu->long_mode) {
		if ((new_ss_sel & 0xfffc) == 0 || (new_ss_sel & 3) != new_cpl)
			soft_raise(cpu, X86_EXC_TS, new_ss_sel & 0xfffc, true);
		uint64_t d = soft_read_descriptor(cpu, new_ss_sel, X86_EXC_TS);
		soft_descriptor_to_segment(d, new_ss_sel, &new_ss);
		if (!(new_ss.attr & SEG_ATTR_S) || (new_ss.attr & SEG_TYPE_CODE) ||
		    !(new_ss.attr & SEG_TYPE_DATA_RW) || seg_dpl(&new_ss) != new_cpl)
			soft_raise(cpu, X86_EXC_TS, new_ss_sel & 0xfffc, true);
		if (!(new_ss.attr & SEG_ATTR_P))
			soft_raise_ss(cpu, new_ss_sel & 0xfffc);
	}
	/* Old stack parameters, read before anything changes. */
	uint64_t items[36];
	unsigned n = 0;
	items[n++] = s->seg[X86_SS].selector;
	items[n++] = s->gpr[X86_RSP];
	for (unsigned i = params; i-- > 0;)
		items[n++] = soft_seg_read(cpu, X86_SS, (s->gpr[X86_RSP] + (uint64_t)i * w) &
							  soft_size_mask(soft_stack_size(cpu)), w);
	items[n++] = s->seg[X86_CS].selector;
	items[n++] = s->rip;

	unsigned ss_size = cpu->long_mode ? 8 : (new_ss.attr & SEG_ATTR_DB) ? 4 : 2;
	uint64_t top = (new_sp - (uint64_t)n * w) & soft_size_mask(ss_size);
	uint64_t lin = cpu->long_mode ? top : ((new_ss.base + top) & 0xffffffffULL);
	soft_lin_probe_write(cpu, lin, n * w, new_cpl == 3);
	for (unsigned i = 0; i < n; i++)
		soft_lin_write(cpu, lin + (uint64_t)(n - 1 - i) * w, w, items[i], new_cpl == 3);
	s->seg[X86_SS] = new_ss;
	s->gpr[X86_RSP] = top;
	commit_cs(cpu, cs, cs_sel, new_cpl, target);
}

/* JMP/CALL far in protected mode, to a code segment or through a call gate. */
static void far_transfer_protected(struct soft_cpu *cpu, const struct soft_insn *in, uint16_t sel, uint64_t off,
				   bool call)
{
	uint32_t err = sel & 0xfffc;
	if (err == 0)
		soft_raise_gp(cpu, 0);
	uint64_t desc = soft_read_descriptor(cpu, sel, X86_EXC_GP);
	struct x86_segment d;
	soft_descriptor_to_segment(desc, sel, &d);
	unsigned osz = in->opsize;

	if (is_code(&d)) {
		direct_code_checks(cpu, sel, &d);
		uint64_t target = check_target(cpu, &d, off & soft_size_mask(osz));
		if (call)
			push_far_return(cpu, osz);
		commit_cs(cpu, d, sel, cpu->cpl, target);
		return;
	}
	unsigned type = d.attr & SEG_ATTR_TYPE;
	bool task = type == 0x1 || type == 0x3 || type == 0x5 || type == 0x9 || type == 0xb;
	if (!(d.attr & SEG_ATTR_S) && task && !cpu->long_mode) {
		soft_task_far(cpu, sel, desc, call);
		return;
	}
	if ((d.attr & SEG_ATTR_S) || (type != 0x4 && type != 0xc))
		soft_raise_gp(cpu, err);
	/* Call gate. */
	unsigned gate_dpl = seg_dpl(&d);
	if (gate_dpl < cpu->cpl || gate_dpl < (sel & 3u))
		soft_raise_gp(cpu, err);
	if (!(d.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, err, true);
	if (cpu->long_mode && type != 0xc)
		soft_raise_gp(cpu, err);
	uint16_t cs_sel = (uint16_t)(desc >> 16);
	uint64_t target = (desc & 0xffff) | ((desc >> 32) & 0xffff0000ULL);
	if (cpu->long_mode) {
		uint64_t hi = soft_read_descriptor(cpu, (uint16_t)(sel + 8), X86_EXC_GP);
		target |= (hi & 0xffffffffULL) << 32;
	}
	if ((cs_sel & 0xfffc) == 0)
		soft_raise_gp(cpu, 0);
	struct x86_segment cs;
	soft_descriptor_to_segment(soft_read_descriptor(cpu, cs_sel, X86_EXC_GP), cs_sel, &cs);
	unsigned cs_dpl = seg_dpl(&cs);
	if (!is_code(&cs) || cs_dpl > cpu->cpl || (!call && !is_conforming(&cs) && cs_dpl != cpu->cpl))
		soft_raise_gp(cpu, cs_sel & 0xfffc);
	if (!(cs.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, cs_sel & 0xfffc, true);
	bool gate32 = type == 0xc;
	if (!cpu->long_mode && !gate32)
		target &= 0xffff;
	target = check_target(cpu, &cs, target);
	if (call && !is_conforming(&cs) && cs_dpl < cpu->cpl) {
		call_gate_inner(cpu, desc, cs, cs_sel, target, gate32);
		return;
	}
	if (call)
		push_far_return(cpu, cpu->long_mode ? 8 : gate32 ? 4 : 2);
	commit_cs(cpu, cs, cs_sel, cpu->cpl, target);
}

/* Data segment registers the outer level may not keep are nulled on a return
 * outward. A null selector's hidden DPL is 0, so a null selector with a
 * nonzero RPL becomes 0 too (as on Intel: the selector reads 0 afterwards). */
static void null_inaccessible_segments(struct soft_cpu *cpu)
{
	static const int regs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct x86_segment *g = &cpu->s.seg[regs[i]];
		bool data_or_nc = !is_code(g) || !is_conforming(g);
		if (data_or_nc && seg_dpl(g) < cpu->cpl) {
			g->selector = 0;
			g->attr = SEG_ATTR_UNUSABLE;
		}
	}
	soft_seg_flat_update(cpu);
}

/* Loads SS for a return to an outer level (RET far / IRET). */
static struct x86_segment outer_ss(struct soft_cpu *cpu, uint16_t ss_sel, unsigned rpl, bool target64)
{
	struct x86_segment ss;
	if ((ss_sel & 0xfffc) == 0) {
		if (!(target64 && rpl != 3))
			soft_raise_gp(cpu, 0);
		return (struct x86_segment){ .selector = ss_sel,
					     .attr = SEG_ATTR_UNUSABLE | ((uint32_t)rpl << SEG_ATTR_DPL_SHIFT) };
	}
	soft_descriptor_to_segment(soft_read_descriptor(cpu, ss_sel, X86_EXC_GP), ss_sel, &ss);
	if ((ss_sel & 3) != rpl || seg_dpl(&ss) != rpl || is_code(&ss) || !(ss.attr & SEG_ATTR_S) ||
	    !(ss.attr & SEG_TYPE_DATA_RW))
		soft_raise_gp(cpu, ss_sel & 0xfffc);
	if (!(ss.attr & SEG_ATTR_P))
		soft_raise_ss(cpu, ss_sel & 0xfffc);
	ss.attr |= SEG_TYPE_ACCESSED;
	return ss;
}

/* Reads the n-th stack slot of width w above RSP without popping. */
static uint64_t stack_peek(struct soft_cpu *cpu, unsigned idx, unsigned w)
{
	uint64_t mask = soft_size_mask(soft_stack_size(cpu));
	return soft_seg_read(cpu, X86_SS, (cpu->s.gpr[X86_RSP] + (uint64_t)idx * w) & mask, w);
}

static void stack_adjust(struct soft_cpu *cpu, uint64_t bytes)
{
	uint64_t mask = soft_size_mask(soft_stack_size(cpu));
	cpu->s.gpr[X86_RSP] = (cpu->s.gpr[X86_RSP] & ~mask) | ((cpu->s.gpr[X86_RSP] + bytes) & mask);
}

static void far_ret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned w = in->opsize;
	uint64_t imm = (in->nops && in->op[0].kind == SOFT_OP_IMM) ? (in->op[0].imm & 0xffff) : 0;
	uint64_t ip = stack_peek(cpu, 0, w);
	uint16_t sel = (uint16_t)stack_peek(cpu, 1, w);
	if (!protected_mode(cpu)) {
		stack_adjust(cpu, 2 * (uint64_t)w + imm);
		load_cs_real(cpu, sel, ip & soft_size_mask(w));
		return;
	}
	if ((sel & 0xfffc) == 0)
		soft_raise_gp(cpu, 0);
	struct x86_segment cs;
	soft_descriptor_to_segment(soft_read_descriptor(cpu, sel, X86_EXC_GP), sel, &cs);
	unsigned rpl = sel & 3;
	if (!is_code(&cs) || rpl < cpu->cpl || (is_conforming(&cs) ? seg_dpl(&cs) > rpl : seg_dpl(&cs) != rpl))
		soft_raise_gp(cpu, sel & 0xfffc);
	if (!(cs.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, sel & 0xfffc, true);
	uint64_t target = check_target(cpu, &cs, ip & soft_size_mask(w));
	if (rpl == cpu->cpl) {
		stack_adjust(cpu, 2 * (uint64_t)w + imm);
		commit_cs(cpu, cs, sel, rpl, target);
		return;
	}
	/* Return to an outer level: SS:RSP were pushed above the parameters. */
	uint64_t sp_off = 2 * (uint64_t)w + imm;
	uint64_t mask = soft_size_mask(soft_stack_size(cpu));
	uint64_t new_sp = soft_seg_read(cpu, X86_SS, (cpu->s.gpr[X86_RSP] + sp_off) & mask, w);
	uint16_t ss_sel = (uint16_t)soft_seg_read(cpu, X86_SS, (cpu->s.gpr[X86_RSP] + sp_off + w) & mask, w);
	struct x86_segment ss = outer_ss(cpu, ss_sel, rpl, cpu->long_mode && (cs.attr & SEG_ATTR_L));
	cpu->s.seg[X86_SS] = ss;
	unsigned new_ss_size = cpu->long_mode ? 8 : (ss.attr & SEG_ATTR_DB) ? 4 : 2;
	cpu->s.gpr[X86_RSP] = (new_sp + imm) & soft_size_mask(new_ss_size > w ? new_ss_size : w);
	commit_cs(cpu, cs, sel, rpl, target);
	null_inaccessible_segments(cpu);
}

void soft_sys_far_branch(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->mnemonic == ZYDIS_MNEMONIC_RET) {
		far_ret(cpu, in);
		return;
	}
	bool call = in->mnemonic == ZYDIS_MNEMONIC_CALL;
	uint16_t sel;
	uint64_t off;
	far_operand(cpu, in, &sel, &off);
	if (!protected_mode(cpu)) {
		uint64_t ip = off & soft_size_mask(in->opsize);
		if (ip > cpu->s.seg[X86_CS].limit)
			soft_raise_gp(cpu, 0);
		if (call)
			push_far_return(cpu, in->opsize);
		load_cs_real(cpu, sel, ip);
		return;
	}
	far_transfer_protected(cpu, in, sel, off, call);
}

/* ---- INT n, INT3, INTO, INT1 ---- */

static void op_int(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int vector;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INT3: vector = X86_EXC_BP; break;
	case ZYDIS_MNEMONIC_INTO:
		if (!(cpu->s.rflags & RFLAGS_OF))
			return;
		vector = X86_EXC_OF;
		break;
	case ZYDIS_MNEMONIC_INT1:
		/* ICEBP right after a MOV SS / POP SS: only its own #DB arrives;
		 * the traps the MOV SS held back are dropped, as on hardware
		 * (INT n, INT3 and SYSCALL deliver them in the handler instead). */
		cpu->db_pending = 0;
		soft_deliver(cpu, X86_EXC_DB, 0, false, false);
		return;
	default: vector = (int)(in->op[0].imm & 0xff); break;
	}
	/* V86 with IOPL < 3: INT n faults to the monitor (no VME). */
	if ((cpu->s.rflags & RFLAGS_VM) && ((cpu->s.rflags & RFLAGS_IOPL) >> 12) < 3 &&
	    in->mnemonic == ZYDIS_MNEMONIC_INT)
		soft_raise_gp(cpu, 0);
	soft_deliver(cpu, vector, 0, false, true);
}

/* ---- IRET ---- */

#define IRET_FLAGS_ALWAYS                                                                          \
	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF | RFLAGS_DF | RFLAGS_OF | \
	 RFLAGS_NT | RFLAGS_RF | RFLAGS_AC | RFLAGS_ID)

/* Merges popped flags under the privilege rules of POPF/IRET. */
static void iret_set_flags(struct soft_cpu *cpu, uint64_t popped, unsigned w, unsigned old_cpl)
{
	uint64_t mask = IRET_FLAGS_ALWAYS;
	unsigned iopl = (cpu->s.rflags & RFLAGS_IOPL) >> 12;
	if (old_cpl == 0)
		mask |= RFLAGS_IOPL | RFLAGS_VIF | RFLAGS_VIP;
	if (old_cpl <= iopl)
		mask |= RFLAGS_IF;
	if (w == 2)
		mask &= 0xffff;
	cpu->s.rflags = ((cpu->s.rflags & ~mask) | (popped & mask) | RFLAGS_FIXED) & ~RFLAGS_VM;
}

static void iret_real(struct soft_cpu *cpu, unsigned w)
{
	uint64_t ip = stack_peek(cpu, 0, w);
	uint16_t sel = (uint16_t)stack_peek(cpu, 1, w);
	uint64_t fl = stack_peek(cpu, 2, w);
	if ((ip & soft_size_mask(w)) > cpu->s.seg[X86_CS].limit)
		soft_raise_gp(cpu, 0);
	stack_adjust(cpu, 3 * (uint64_t)w);
	uint64_t mask = (w == 2 ? 0xffff : (0x3fffff & ~(RFLAGS_VM | RFLAGS_VIF | RFLAGS_VIP))) & ~RFLAGS_FIXED;
	if (cpu->s.rflags & RFLAGS_VM)
		mask &= ~RFLAGS_IOPL; /* V86 IRET (IOPL 3) cannot change IOPL */
	cpu->s.rflags = (cpu->s.rflags & ~mask) | (fl & mask) | RFLAGS_FIXED;
	load_cs_real(cpu, sel, ip & soft_size_mask(w));
}

static void iret_to_v86(struct soft_cpu *cpu, uint64_t eip, uint16_t cs_sel, uint64_t eflags)
{
	uint64_t esp = stack_peek(cpu, 3, 4);
	uint16_t ss = (uint16_t)stack_peek(cpu, 4, 4), es = (uint16_t)stack_peek(cpu, 5, 4);
	uint16_t ds = (uint16_t)stack_peek(cpu, 6, 4), fs = (uint16_t)stack_peek(cpu, 7, 4);
	uint16_t gs = (uint16_t)stack_peek(cpu, 8, 4);
	cpu->s.rflags = (eflags & 0x3f7fd5) | RFLAGS_FIXED | RFLAGS_VM;
	soft_cpu_mode_changed(cpu);
	uint16_t sels[X86_NR_SREGS] = { es, cs_sel, ss, ds, fs, gs };
	for (int r = 0; r < X86_NR_SREGS; r++)
		soft_load_sreg(cpu, r, sels[r]);
	cpu->s.gpr[X86_RSP] = esp & 0xffffffffULL;
	cpu->s.rip = eip & 0xffff;
	soft_cpu_mode_changed(cpu);
}

static void op_iret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned w = in->opsize;
	/* IRET ends NMI blocking, even when it faults (SDM Vol. 3A §6.7.1). */
	cpu->s.events.nmi_masked = false;
	if (!(cpu->s.cr0 & CR0_PE)) {
		iret_real(cpu, w);
		return;
	}
	if (cpu->s.rflags & RFLAGS_VM) {
		if (((cpu->s.rflags & RFLAGS_IOPL) >> 12) < 3)
			soft_raise_gp(cpu, 0);
		iret_real(cpu, w);
		return;
	}
	if (cpu->s.rflags & RFLAGS_NT) {
		/* A nested task returns to its caller; IA-32e mode has no tasks. */
		if (cpu->long_mode)
			soft_raise_gp(cpu, 0);
		soft_task_iret(cpu);
		return;
	}
	uint64_t ip = stack_peek(cpu, 0, w);
	uint16_t sel = (uint16_t)stack_peek(cpu, 1, w);
	uint64_t fl = stack_peek(cpu, 2, w);
	if (!cpu->long_mode && (fl & RFLAGS_VM) && cpu->cpl == 0 && w == 4) {
		iret_to_v86(cpu, ip, sel, fl);
		return;
	}
	if ((sel & 0xfffc) == 0)
		soft_raise_gp(cpu, 0);
	struct x86_segment cs;
	soft_descriptor_to_segment(soft_read_descriptor(cpu, sel, X86_EXC_GP), sel, &cs);
	unsigned rpl = sel & 3;
	if (!is_code(&cs) || rpl < cpu->cpl || (is_conforming(&cs) ? seg_dpl(&cs) > rpl : seg_dpl(&cs) != rpl))
		soft_raise_gp(cpu, sel & 0xfffc);
	if (!(cs.attr & SEG_ATTR_P))
		soft_raise(cpu, X86_EXC_NP, sel & 0xfffc, true);
	bool target64 = cpu->long_mode && (cs.attr & SEG_ATTR_L);
	uint64_t target = check_target(cpu, &cs, ip & soft_size_mask(w));
	unsigned old_cpl = cpu->cpl;
	/* 64-bit mode always pops SS:RSP; otherwise only on a return outward. */
	if (rpl != cpu->cpl || soft_in_64bit_mode(cpu)) {
		uint64_t new_sp = stack_peek(cpu, 3, w);
		uint16_t ss_sel = (uint16_t)stack_peek(cpu, 4, w);
		struct x86_segment ss = outer_ss(cpu, ss_sel, rpl, target64);
		iret_set_flags(cpu, fl, w, old_cpl);
		cpu->s.seg[X86_SS] = ss;
		cpu->s.gpr[X86_RSP] = w == 2 ? ((cpu->s.gpr[X86_RSP] & ~0xffffULL) | (new_sp & 0xffff)) : new_sp;
		if (w == 4)
			cpu->s.gpr[X86_RSP] = new_sp & 0xffffffffULL;
		commit_cs(cpu, cs, sel, rpl, target);
		if (rpl != old_cpl)
			null_inaccessible_segments(cpu);
		return;
	}
	stack_adjust(cpu, 3 * (uint64_t)w);
	iret_set_flags(cpu, fl, w, old_cpl);
	commit_cs(cpu, cs, sel, rpl, target);
}

void soft_register_far(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_INT] = op_int;
	table[ZYDIS_MNEMONIC_INT3] = op_int;
	table[ZYDIS_MNEMONIC_INTO] = op_int;
	table[ZYDIS_MNEMONIC_INT1] = op_int;
	table[ZYDIS_MNEMONIC_IRET] = op_iret;
	table[ZYDIS_MNEMONIC_IRETD] = op_iret;
	table[ZYDIS_MNEMONIC_IRETQ] = op_iret;
}
