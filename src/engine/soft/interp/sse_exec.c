/* SPDX-License-Identifier: MIT */
/*
 * The MMX/SSE core: availability checks (SDM Vol. 3A §13.1-13.2 and Table
 * 13-1; Vol. 1 §11.6.1), SIMD memory operands with the 16-byte alignment
 * rule of legacy SSE (Vol. 1 §11.6.4), the host-execution core every
 * table-driven family uses (see interp/sse.h), SIMD floating-point
 * exceptions (Vol. 1 §11.5), LDMXCSR/STMXCSR and the registration of the
 * families.
 *
 * Exceptions: the host runs with every exception masked and flags cleared.
 * If a flag comes back whose guest mask is clear, the destination is left
 * alone and #XM (or #UD with CR4.OSXMMEXCPT = 0) is raised with the flags
 * set; when an unmasked pre-computation exception (IE DE ZE) is among them
 * only those are reported, as the hardware does not go on to compute the
 * result (Vol. 1 §11.5.2.1). Underflow with UM = 0 is signalled for tiny
 * results even when exact (Vol. 1 §4.9.1.5): detected from a denormal result.
 * Not modelled: with an unmasked OE or UE the hardware reports PE only if
 * the result rounded with an unbounded exponent is inexact; here PE comes
 * from the masked run (set when the delivered result would have been
 * inexact, which is the common case). The rare tiny result that rounds up to
 * the smallest normal is not flagged under UM = 0. And
 * DPPS/DPPD, whose multiply stage stops at an unmasked exception before the
 * add stage could flag more: the guest may see extra flags with the #XM.
 */
#include "engine/soft/interp/sse.h"

/* ---- host execution ---- */

_Static_assert(offsetof(struct sse_host_io, mm) == 48 && offsetof(struct sse_host_io, rax) == 64 &&
		       offsetof(struct sse_host_io, rflags) == 88 && offsetof(struct sse_host_io, mxcsr) == 96,
	       "the asm below hard-codes struct sse_host_io");

/* rdi = stub, rsi = io. rbx keeps io across the call (stubs leave it alone).
 * The stack stays 16-byte aligned at the call. */
#define HOST_RUN(name, load_mmx, store_mmx)                                                  \
	".globl " name "\n.hidden " name "\n.type " name ", @function\n" name ":\n"          \
	"\tpush %rbx\n\tsub $16, %rsp\n\tstmxcsr (%rsp)\n\tldmxcsr 96(%rsi)\n"               \
	"\tmovdqu 0(%rsi), %xmm0\n\tmovdqu 16(%rsi), %xmm1\n\tmovdqu 32(%rsi), %xmm2\n"      \
	load_mmx "\tmov 64(%rsi), %rax\n\tmov 72(%rsi), %rdx\n\tmov %rsi, %rbx\n"           \
	"\tcall *%rdi\n"                                                                      \
	"\tpushfq\n\tpopq 88(%rbx)\n\tmovdqu %xmm0, 0(%rbx)\n\tmov %rax, 64(%rbx)\n"        \
	"\tmov %rcx, 80(%rbx)\n" store_mmx "\tstmxcsr 96(%rbx)\n\tldmxcsr (%rsp)\n"         \
	"\tadd $16, %rsp\n\tpop %rbx\n\tret\n"
SSE_STUBS(HOST_RUN("sse_host_run", "", "")
	  HOST_RUN("sse_host_run_mmx", "\tmovq 48(%rsi), %mm0\n\tmovq 56(%rsi), %mm1\n",
		   "\tmovq %mm0, 48(%rbx)\n\temms\n"));

/* ---- checks ---- */

void sse_check(struct soft_cpu *cpu, const struct soft_insn *in, bool sse, bool mmx)
{
	if ((in->flags & SOFT_INSN_LOCK) || (cpu->s.cr0 & CR0_EM))
		soft_raise_ud(cpu);
	if (sse && !(cpu->s.cr4 & CR4_OSFXSR))
		soft_raise_ud(cpu);
	if (cpu->s.cr0 & CR0_TS)
		soft_raise(cpu, X86_EXC_NM, 0, false);
	if (mmx && (cpu->s.fpu.fsw & FSW_ES))
		soft_raise(cpu, X86_EXC_MF, 0, false);
}

void sse_raise_xm(struct soft_cpu *cpu)
{
	if (!(cpu->s.cr4 & CR4_OSXMMEXCPT))
		soft_raise_ud(cpu);
	soft_raise(cpu, X86_EXC_XM, 0, false);
}

/* ---- memory ---- */

static uint64_t check_align(struct soft_cpu *cpu, const struct soft_operand *op, uint64_t off, unsigned size,
			    enum soft_access acc)
{
	uint64_t lin = soft_seg_linear(cpu, op->seg, off, size, acc);
	if (lin & 15)
		soft_raise_gp(cpu, 0);
	return lin;
}

void sse_mem_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, void *buf, unsigned size,
		  bool aligned)
{
	const struct soft_operand *op = &in->op[n];
	uint64_t off = soft_ea(cpu, in, op);
	if (size != 16) {
		uint64_t v = soft_seg_read(cpu, op->seg, off, size);
		memcpy(buf, &v, size);
		return;
	}
	if (aligned)
		check_align(cpu, op, off, 16, SOFT_ACC_READ);
	uint64_t lo = soft_seg_read(cpu, op->seg, off, 8);
	uint64_t hi = soft_seg_read(cpu, op->seg, (off + 8) & soft_size_mask(in->addrsize), 8);
	memcpy(buf, &lo, 8);
	memcpy((uint8_t *)buf + 8, &hi, 8);
}

void sse_mem_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, const void *buf, unsigned size,
		   bool aligned)
{
	const struct soft_operand *op = &in->op[n];
	uint64_t off = soft_ea(cpu, in, op);
	uint64_t v;
	if (size != 16) {
		v = 0;
		memcpy(&v, buf, size);
		soft_seg_write(cpu, op->seg, off, size, v);
		return;
	}
	uint64_t lin = aligned ? check_align(cpu, op, off, 16, SOFT_ACC_WRITE)
			       : soft_seg_linear(cpu, op->seg, off, 16, SOFT_ACC_WRITE);
	soft_lin_probe_write(cpu, lin, 16, cpu->cpl == 3);
	memcpy(&v, buf, 8);
	soft_seg_write(cpu, op->seg, off, 8, v);
	memcpy(&v, (const uint8_t *)buf + 8, 8);
	soft_seg_write(cpu, op->seg, (off + 8) & soft_size_mask(in->addrsize), 8, v);
}

/* ---- the table-driven core ---- */

/* A nonzero denormal among the result elements: a tiny result. */
static bool has_denormal(const uint8_t *x, unsigned elem)
{
	unsigned n = elem == 0 ? 4 : elem == 1 ? 2 : 1;
	for (unsigned i = 0; i < n; i++) {
		if (elem == 0 || elem == 2) {
			uint32_t v;
			memcpy(&v, x + 4 * i, 4);
			if (!(v & 0x7f800000u) && (v & 0x007fffffu))
				return true;
		} else {
			uint64_t v;
			memcpy(&v, x + 8 * i, 8);
			if (!(v & 0x7ff0000000000000ULL) && (v & 0x000fffffffffffffULL))
				return true;
		}
	}
	return false;
}

/* The flags to add to MXCSR; raises #XM for an unmasked exception. */
static uint32_t fp_exceptions(struct soft_cpu *cpu, const struct sse_op *d, const struct sse_host_io *io)
{
	uint32_t mx = cpu->s.fpu.mxcsr;
	uint32_t f = io->mxcsr & MXCSR_FLAGS;
	uint32_t unmasked = f & ~(mx >> 7) & MXCSR_FLAGS;
	if (!(mx & MXCSR_UM) && (d->flags & SSE_TINY) && !(f & MXCSR_UE) &&
	    has_denormal(io->x[0], SSE_ELEM(d->flags))) {
		f |= MXCSR_UE;
		unmasked |= MXCSR_UE;
	}
	if (unmasked) {
		if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
			f &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
		cpu->s.fpu.mxcsr |= f;
		sse_raise_xm(cpu);
	}
	return f;
}

static void load_source(struct soft_cpu *cpu, const struct soft_insn *in, const struct sse_op *d,
			struct sse_host_io *io)
{
	const struct soft_operand *o1 = &in->op[1];
	switch (o1->kind) {
	case SOFT_OP_XMM: memcpy(io->x[1], cpu->s.fpu.xmm[o1->reg], 16); break;
	case SOFT_OP_MMX: io->mm[1] = mmx_get(cpu, o1->reg); break;
	case SOFT_OP_REG: io->rax = soft_reg_read(cpu, o1->reg, o1->size); break;
	case SOFT_OP_IMM: /* shift counts: the register-count stub with the count as a source */
		io->mm[1] = o1->imm & 0xff;
		memcpy(io->x[1], &io->mm[1], 8);
		break;
	case SOFT_OP_MEM:
		if (d->flags & SSE_GPR_SRC) {
			io->rax = soft_op_read(cpu, in, 1);
			break;
		}
		sse_mem_read(cpu, in, 1, io->x[1], o1->size,
			     o1->size == 16 && !(d->flags & SSE_UNALIGNED));
		if ((d->flags & SSE_BCAST32) && o1->size == 4)
			for (unsigned i = 4; i < 16; i += 4)
				memcpy(io->x[1] + i, io->x[1], 4);
		memcpy(&io->mm[1], io->x[1], 8);
		break;
	default: soft_raise_ud(cpu);
	}
}

void sse_host_op(struct soft_cpu *cpu, const struct soft_insn *in, const struct sse_op *d)
{
	const struct soft_operand *o0 = &in->op[0], *o1 = &in->op[1];
	bool mmx_reg = o0->kind == SOFT_OP_MMX || o1->kind == SOFT_OP_MMX;
	bool sse = o0->kind == SOFT_OP_XMM || o1->kind == SOFT_OP_XMM || (d->flags & SSE_OSFXSR);
	const uint8_t *stub;
	bool run_mmx = false;
	if (d->flags & (SSE_GPR_SRC | SSE_GPR_DST)) {
		unsigned gsize = (d->flags & SSE_GPR_DST) ? o0->size : o1->size;
		stub = gsize == 8 ? d->wide : d->xmm;
	} else if (mmx_reg || !d->xmm) {
		stub = d->mmx;
		run_mmx = true;
	} else {
		stub = d->xmm;
	}
	if (!stub)
		soft_raise_ud(cpu);
	sse_check(cpu, in, sse, mmx_reg);

	struct sse_host_io io;
	memset(&io, 0, sizeof(io));
	if (o0->kind == SOFT_OP_XMM)
		memcpy(io.x[0], cpu->s.fpu.xmm[o0->reg], 16);
	else if (o0->kind == SOFT_OP_MMX)
		io.mm[0] = mmx_get(cpu, o0->reg);
	if (in->nops > 1)
		load_source(cpu, in, d, &io);
	if (d->flags & SSE_IMM)
		stub += 8 * (in->op[in->nops - 1].imm & 0xff);
	if (d->flags & SSE_XMM0_IN)
		memcpy(io.x[2], cpu->s.fpu.xmm[0], 16);
	if (d->flags & SSE_LENGTHS) {
		/* The REX.W stub is used for both: a sign-extended EAX saturates alike. */
		io.rax = in->opsize == 8 ? cpu->s.gpr[X86_RAX] : (uint64_t)(int64_t)(int32_t)cpu->s.gpr[X86_RAX];
		io.rdx = in->opsize == 8 ? cpu->s.gpr[X86_RDX] : (uint64_t)(int64_t)(int32_t)cpu->s.gpr[X86_RDX];
	}
	io.mxcsr = (cpu->s.fpu.mxcsr & ~MXCSR_FLAGS & SSE_MXCSR_MASK) | MXCSR_MASKS;
	if (run_mmx)
		sse_host_run_mmx(stub, &io);
	else
		sse_host_run(stub, &io);

	uint32_t f = (d->flags & SSE_FP) ? fp_exceptions(cpu, d, &io) : 0;
	if (d->flags & SSE_EFLAGS)
		soft_set_flags(cpu, SOFT_ARITH_FLAGS, io.rflags);
	if (d->flags & SSE_RES_ECX)
		soft_reg_write(cpu, X86_RCX, 4, io.rcx);
	if (d->flags & SSE_RES_XMM0)
		memcpy(cpu->s.fpu.xmm[0], io.x[0], 16);
	else if (d->flags & SSE_GPR_DST)
		soft_reg_write(cpu, o0->reg, o0->size, io.rax);
	else if (!(d->flags & SSE_NO_DEST) && o0->kind == SOFT_OP_XMM)
		memcpy(cpu->s.fpu.xmm[o0->reg], io.x[0], 16);
	else if (!(d->flags & SSE_NO_DEST) && o0->kind == SOFT_OP_MMX)
		mmx_set(cpu, o0->reg, io.mm[0]);
	if (mmx_reg)
		mmx_transition(cpu);
	cpu->s.fpu.mxcsr |= f;
}

/* ---- LDMXCSR / STMXCSR (SDM Vol. 2B) ---- */

static void op_ldmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	sse_check(cpu, in, true, false);
	uint32_t v = (uint32_t)soft_op_read(cpu, in, 0);
	if (v & ~SSE_MXCSR_MASK)
		soft_raise_gp(cpu, 0);
	cpu->s.fpu.mxcsr = v;
}

static void op_stmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	sse_check(cpu, in, true, false);
	soft_op_write(cpu, in, 0, cpu->s.fpu.mxcsr);
}

/* ---- registration ---- */

bool sse_host_has(enum sse_feature f)
{
	switch (f) {
	case SSE_F_SSE3: return __builtin_cpu_supports("sse3");
	case SSE_F_SSSE3: return __builtin_cpu_supports("ssse3");
	case SSE_F_SSE41: return __builtin_cpu_supports("sse4.1");
	case SSE_F_SSE42: return __builtin_cpu_supports("sse4.2");
	case SSE_F_AES: return __builtin_cpu_supports("aes");
	case SSE_F_PCLMUL: return __builtin_cpu_supports("pclmul");
	default: return true; /* SSE and SSE2 are part of x86-64 */
	}
}

void sse_register_list(soft_handler_fn **table, const uint16_t *mns, size_t n, enum sse_feature f,
		       soft_handler_fn *fn)
{
	if (!sse_host_has(f))
		return;
	for (size_t i = 0; i < n; i++)
		table[mns[i]] = fn;
}

uint32_t soft_sse_cpuid_ecx(void)
{
	/* leaf 1 ECX: SSE3 (0), SSSE3 (9), SSE4.1 (19), SSE4.2 (20) */
	return (sse_host_has(SSE_F_SSE3) ? 1u << 0 : 0) | (sse_host_has(SSE_F_SSSE3) ? 1u << 9 : 0) |
	       (sse_host_has(SSE_F_SSE41) ? 1u << 19 : 0) | (sse_host_has(SSE_F_SSE42) ? 1u << 20 : 0);
}

void soft_register_sse(soft_handler_fn **table)
{
	sse_register_fp(table);
	sse_register_approx(table);
	sse_register_int(table);
	sse_register_move(table);
	sse_register_string(table);
}

void soft_register_sse_misc(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_LDMXCSR] = op_ldmxcsr;
	table[ZYDIS_MNEMONIC_STMXCSR] = op_stmxcsr;
	sse_register_fp_misc(table);
	sse_register_move_misc(table);
	sse_register_string_misc(table);
	mmx_register_misc(table);
}
