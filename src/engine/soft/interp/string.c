/* SPDX-License-Identifier: MIT */
/*
 * String instructions (SDM Vol. 2B: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS;
 * REP/REPE/REPNE prefixes in Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ").
 *
 * One engine runs every form: the operation is a parameter. rSI/rDI/rCX are
 * used at the address size and wrap within it; the source segment is DS or
 * the override, the destination always ES. Registers are updated after each
 * element, so a fault part-way leaves a restartable state, and a long REP
 * runs at most cpu->string_batch elements per call before re-executing itself
 * (so interrupts and kicks are seen between batches). Single-step and data
 * breakpoint traps come after each iteration, as on hardware.
 *
 * REP MOVS and REP STOS in 64-bit code move whole runs of elements within
 * a page at once when the soft TLB maps both pages for the access (RAM, no
 * watchpoints, no decoded code): the result is the element-by-element one,
 * overlap included. Not implemented: the "fast string" event granularity of
 * real parts (exact element-by-element state is kept).
 * MOVSD/CMPSD share their mnemonic with SSE2: only the string opcodes
 * (A5, A7) are handled here.
 */
#include <Zydis/Zydis.h>

#include "engine/soft/soft_cpu.h"
#include "engine/soft/interp/host_flags.h"
#include "engine/soft/soft_insn.h"

enum string_op { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS, STR_INS, STR_OUTS };

/* OF SF ZF AF PF CF of a - b at size bytes, as the host computes them. */
static uint64_t flags_sub(uint64_t a, uint64_t b, unsigned size)
{
	uint64_t f = 0;
	(void)host_alu(HOST_CMP, size, a, b & soft_size_mask(size), &f);
	return f & SOFT_ARITH_FLAGS;
}

/*
 * The source segment: DS or the override. Zydis lists string operands as
 * hidden; the decoder converts them into op[] (past nops, unused slots are
 * SOFT_OP_NONE) so the override reaches here: the [rSI] one is the source.
 * DS when there is none.
 */
static int source_seg(const struct soft_insn *in)
{
	for (unsigned i = 0; i < SOFT_INSN_MAX_OPS; i++)
		if (in->op[i].kind == SOFT_OP_MEM && in->op[i].base == X86_RSI)
			return in->op[i].seg;
	return X86_DS;
}

/* INS checks that the destination is writable before reading the port, so a
 * fault does not swallow a device read (the instruction will be restarted). */
static void probe_write(struct soft_cpu *cpu, int sreg, uint64_t off, unsigned size)
{
	uint64_t lin = soft_seg_linear(cpu, sreg, off, size, SOFT_ACC_WRITE);
	soft_lin_probe_write(cpu, lin, size, cpu->cpl == 3);
}

/*
 * REP MOVS / REP STOS forwards, in 64-bit code: up to max elements that stay
 * within one page on each side, through host pointers from the soft TLB.
 * Returns how many elements it moved (0: the element-by-element path must
 * take the next one, which may fault, cross a page or reach MMIO).
 */
static uint64_t string_bulk(struct soft_cpu *cpu, enum string_op op, int src, uint64_t si, uint64_t di,
			    unsigned size, uint64_t max)
{
	uint64_t n = max;
	uint64_t room = (4096 - (di & 0xfff)) / size; /* ES has no base in 64-bit mode */
	if (room < n)
		n = room;
	uint8_t *d = soft_fast_ptr(cpu, X86_ES, di, size, SOFT_ACC_WRITE);
	if (!d || !n)
		return 0;
	if (op == STR_STOS) {
		uint64_t v = cpu->s.gpr[X86_RAX];
		if (size == 1)
			__builtin_memset(d, (int)(v & 0xff), n);
		else
			for (uint64_t i = 0; i < n; i++)
				soft_host_store(d + i * size, size, v);
		return n;
	}
	uint64_t src_lin = si + (src >= X86_FS ? cpu->s.seg[src].base : 0);
	room = (4096 - (src_lin & 0xfff)) / size;
	if (room < n)
		n = room;
	const uint8_t *s = soft_fast_ptr(cpu, src, si, size, SOFT_ACC_READ);
	if (!s || !n)
		return 0;
	if (d > s && d < s + n * size) {
		/* Overlap with the destination ahead: elements read what earlier ones wrote. */
		for (uint64_t i = 0; i < n; i++)
			soft_host_store(d + i * size, size, soft_host_load(s + i * size, size));
	} else {
		__builtin_memmove(d, s, n * size);
	}
	return n;
}

static void string_run(struct soft_cpu *cpu, const struct soft_insn *in, enum string_op op)
{
	unsigned size = in->opsize, asz = in->addrsize;
	bool rep = in->flags & (SOFT_INSN_REP | SOFT_INSN_REPNE);
	/* Only CMPS and SCAS look at ZF; REPNE elsewhere behaves as REP. */
	bool until_eq = (op == STR_CMPS || op == STR_SCAS) && (in->flags & SOFT_INSN_REPNE);
	bool while_eq = (op == STR_CMPS || op == STR_SCAS) && !until_eq;
	uint64_t step = (cpu->s.rflags & RFLAGS_DF) ? -(uint64_t)size : size;
	uint64_t count = soft_reg_read(cpu, X86_RCX, asz);
	int src = source_seg(in);
	uint16_t port = (uint16_t)cpu->s.gpr[X86_RDX];
	unsigned budget = cpu->string_batch ? cpu->string_batch : SOFT_STRING_BATCH;

	if (rep && count == 0)
		return;
	bool bulk = rep && (op == STR_MOVS || op == STR_STOS) && asz == 8 && step == size && !cpu->db_tf;
	for (;;) {
		uint64_t si = soft_reg_read(cpu, X86_RSI, asz), di = soft_reg_read(cpu, X86_RDI, asz);
		uint64_t a, b;

		uint64_t done = bulk ? string_bulk(cpu, op, src, si, di, size, count < budget ? count : budget) : 0;
		if (done) {
			if (op == STR_MOVS)
				cpu->s.gpr[X86_RSI] = si + done * size;
			cpu->s.gpr[X86_RDI] = di + done * size;
			count -= done;
			cpu->s.gpr[X86_RCX] = count;
			budget -= (unsigned)done;
			if (count == 0)
				return;
			if (budget == 0) {
				cpu->s.rip = cpu->insn_rip;
				cpu->s.rflags |= RFLAGS_RF;
				cpu->end_block = true;
				return;
			}
			continue;
		}

		switch (op) {
		case STR_MOVS:
			a = soft_seg_read(cpu, src, si, size);
			soft_seg_write(cpu, X86_ES, di, size, a);
			soft_reg_write(cpu, X86_RSI, asz, si + step);
			soft_reg_write(cpu, X86_RDI, asz, di + step);
			break;
		case STR_CMPS:
			a = soft_seg_read(cpu, src, si, size);
			b = soft_seg_read(cpu, X86_ES, di, size);
			soft_set_flags(cpu, SOFT_ARITH_FLAGS, flags_sub(a, b, size));
			soft_reg_write(cpu, X86_RSI, asz, si + step);
			soft_reg_write(cpu, X86_RDI, asz, di + step);
			break;
		case STR_STOS:
			soft_seg_write(cpu, X86_ES, di, size, cpu->s.gpr[X86_RAX]);
			soft_reg_write(cpu, X86_RDI, asz, di + step);
			break;
		case STR_LODS:
			a = soft_seg_read(cpu, src, si, size);
			soft_reg_write(cpu, X86_RAX, size, a);
			soft_reg_write(cpu, X86_RSI, asz, si + step);
			break;
		case STR_SCAS:
			b = soft_seg_read(cpu, X86_ES, di, size);
			soft_set_flags(cpu, SOFT_ARITH_FLAGS, flags_sub(cpu->s.gpr[X86_RAX], b, size));
			soft_reg_write(cpu, X86_RDI, asz, di + step);
			break;
		case STR_INS:
			probe_write(cpu, X86_ES, di, size);
			a = soft_io_read(cpu, port, size);
			soft_seg_write(cpu, X86_ES, di, size, a);
			soft_reg_write(cpu, X86_RDI, asz, di + step);
			break;
		case STR_OUTS:
			a = soft_seg_read(cpu, src, si, size);
			soft_io_write(cpu, port, size, a);
			soft_reg_write(cpu, X86_RSI, asz, si + step);
			break;
		}
		if (!rep)
			return;
		soft_reg_write(cpu, X86_RCX, asz, --count);
		if (count == 0)
			return;
		if (while_eq && !(cpu->s.rflags & RFLAGS_ZF))
			return;
		if (until_eq && (cpu->s.rflags & RFLAGS_ZF))
			return;
		/* More to do. A single-step or data-breakpoint trap comes after this
		 * iteration, and a long run yields to the loop now and then: either
		 * way the instruction runs again from here. RF = 1 in the EFLAGS an
		 * event between iterations pushes keeps an instruction breakpoint on
		 * it from firing again (SDM Vol. 3A §6.8.3, Vol. 3B §17.3.1.1). */
		if (cpu->db_tf || cpu->db_hits || --budget == 0) {
			cpu->s.rip = cpu->insn_rip;
			cpu->s.rflags |= RFLAGS_RF;
			cpu->end_block = true;
			return;
		}
	}
}

static void op_movs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* MOVSD xmm is SSE2's (0F 10/11): not a string instruction. */
	if (in->opcode != 0xa4 && in->opcode != 0xa5)
		soft_raise_ud(cpu);
	string_run(cpu, in, STR_MOVS);
}

static void op_cmps(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* CMPSD xmm is SSE2's (0F C2). */
	if (in->opcode != 0xa6 && in->opcode != 0xa7)
		soft_raise_ud(cpu);
	string_run(cpu, in, STR_CMPS);
}

static void op_stos(struct soft_cpu *cpu, const struct soft_insn *in)
{
	string_run(cpu, in, STR_STOS);
}

static void op_lods(struct soft_cpu *cpu, const struct soft_insn *in)
{
	string_run(cpu, in, STR_LODS);
}

static void op_scas(struct soft_cpu *cpu, const struct soft_insn *in)
{
	string_run(cpu, in, STR_SCAS);
}

static void op_ins(struct soft_cpu *cpu, const struct soft_insn *in)
{
	string_run(cpu, in, STR_INS);
}

static void op_outs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	string_run(cpu, in, STR_OUTS);
}

void soft_register_string(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_MOVSB] = op_movs;
	table[ZYDIS_MNEMONIC_MOVSW] = op_movs;
	table[ZYDIS_MNEMONIC_MOVSD] = op_movs;
	table[ZYDIS_MNEMONIC_MOVSQ] = op_movs;
	table[ZYDIS_MNEMONIC_CMPSB] = op_cmps;
	table[ZYDIS_MNEMONIC_CMPSW] = op_cmps;
	table[ZYDIS_MNEMONIC_CMPSD] = op_cmps;
	table[ZYDIS_MNEMONIC_CMPSQ] = op_cmps;
	table[ZYDIS_MNEMONIC_STOSB] = op_stos;
	table[ZYDIS_MNEMONIC_STOSW] = op_stos;
	table[ZYDIS_MNEMONIC_STOSD] = op_stos;
	table[ZYDIS_MNEMONIC_STOSQ] = op_stos;
	table[ZYDIS_MNEMONIC_LODSB] = op_lods;
	table[ZYDIS_MNEMONIC_LODSW] = op_lods;
	table[ZYDIS_MNEMONIC_LODSD] = op_lods;
	table[ZYDIS_MNEMONIC_LODSQ] = op_lods;
	table[ZYDIS_MNEMONIC_SCASB] = op_scas;
	table[ZYDIS_MNEMONIC_SCASW] = op_scas;
	table[ZYDIS_MNEMONIC_SCASD] = op_scas;
	table[ZYDIS_MNEMONIC_SCASQ] = op_scas;
	table[ZYDIS_MNEMONIC_INSB] = op_ins;
	table[ZYDIS_MNEMONIC_INSW] = op_ins;
	table[ZYDIS_MNEMONIC_INSD] = op_ins;
	table[ZYDIS_MNEMONIC_OUTSB] = op_outs;
	table[ZYDIS_MNEMONIC_OUTSW] = op_outs;
	table[ZYDIS_MNEMONIC_OUTSD] = op_outs;
}
