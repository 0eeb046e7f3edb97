/* SPDX-License-Identifier: MIT */
/*
 * The soft engine's MMX/SSE..SSE4.2 handlers (interp/sse_*.c, mmx.c) against
 * the host CPU. Each form is assembled with the Zydis encoder and run natively
 * by a small harness that loads XMM0-3, MM0-3, RAX RCX RDX RSI RDI, RFLAGS and
 * MXCSR from a context and stores them back; the same instruction goes through
 * the handler as a hand-made struct soft_insn. Registers, MXCSR, the six
 * arithmetic flags and memory must match, and so must the exception: SIGFPE
 * is #XM (its MXCSR is compared too), SIGSEGV on a misaligned operand is
 * #GP(0). Operands mix special lanes (zeros, denormals, infinities, quiet and
 * signalling NaNs, boundary integers) with random ones; MXCSR takes every
 * rounding mode, FTZ/DAZ and masked or unmasked exceptions. Directed cases
 * cover CR0/CR4 gating, #MF, MMX tag effects, EMMS and LDMXCSR. RCPPS and
 * RSQRTPS, whose bits are vendor-specific, are the model's: compared with the
 * host only when it is of the model's vendor (cpu_oracle.h), and with known
 * values of the model on every host.
 *
 * Test doubles: soft_raise* (longjmp back with the vector) and flat-memory
 * segment and operand access (the real ones live in the core).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <Zydis/Zydis.h>

#include "check.h"
#include "cpu_oracle.h"
#include "engine/soft/soft_insn.h"

/* ---- test doubles for the core ---- */

static jmp_buf raise_jmp;

void soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error)
{
	cpu->raised_vector = vector;
	cpu->raised_error = error_code;
	cpu->raised_has_error = has_error;
	longjmp(raise_jmp, 1);
}
void soft_raise_gp(struct soft_cpu *cpu, uint32_t error_code) { soft_raise(cpu, X86_EXC_GP, error_code, true); }
void soft_raise_ud(struct soft_cpu *cpu) { soft_raise(cpu, X86_EXC_UD, 0, false); }
void soft_raise_de(struct soft_cpu *cpu) { soft_raise(cpu, X86_EXC_DE, 0, false); }
void soft_raise_ss(struct soft_cpu *cpu, uint32_t error_code) { soft_raise(cpu, X86_EXC_SS, error_code, true); }

uint64_t soft_seg_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	(void)cpu, (void)sreg;
	uint64_t v = 0;
	memcpy(&v, (void *)(uintptr_t)offset, size);
	return v;
}
void soft_seg_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value)
{
	(void)cpu, (void)sreg;
	memcpy((void *)(uintptr_t)offset, &value, size);
}
uint64_t soft_seg_linear(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned len, enum soft_access acc)
{
	(void)cpu, (void)sreg, (void)len, (void)acc;
	return offset;
}
void soft_lin_probe_write(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user)
{
	(void)cpu, (void)lin, (void)len, (void)user;
}
uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	return (cpu->s.gpr[op->base] + (uint64_t)op->disp) & soft_size_mask(in->addrsize);
}
uint64_t soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: return soft_reg_read(cpu, op->reg, op->size);
	case SOFT_OP_MEM: return soft_seg_read(cpu, op->seg, soft_ea(cpu, in, op), op->size);
	default: return op->imm;
	}
}
void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: soft_reg_write(cpu, op->reg, op->size, value); break;
	case SOFT_OP_MEM: soft_seg_write(cpu, op->seg, soft_ea(cpu, in, op), op->size, value); break;
	default: CHECK(!"write to an immediate"); break;
	}
}

static __attribute__((noinline)) int call_handler(soft_handler_fn *fn, struct soft_cpu *cpu,
						   const struct soft_insn *in)
{
	cpu->raised_vector = -1;
	if (!setjmp(raise_jmp))
		fn(cpu, in);
	return cpu->raised_vector;
}

/* ---- the native harness ---- */

struct nctx {
	uint8_t x[4][16]; /* 0 */
	uint64_t mm[4]; /* 64 */
	uint64_t rax, rcx, rdx, rsi, rdi; /* 96 */
	uint64_t flags; /* 136 */
	uint32_t mxcsr, host_mxcsr; /* 144, 148 */
};
_Static_assert(offsetof(struct nctx, flags) == 136 && offsetof(struct nctx, mxcsr) == 144, "asm layout");

void native_run(struct nctx *c, const void *code);
__asm__(".pushsection .text\n.globl native_run\n.type native_run, @function\nnative_run:\n"
	"\tpush %rbx\n\tpush %r12\n\tpush %r13\n\tmov %rdi, %r11\n\tmov %rsi, %r12\n"
	"\tstmxcsr 148(%r11)\n\tldmxcsr 144(%r11)\n"
	"\tmovdqu 0(%r11), %xmm0\n\tmovdqu 16(%r11), %xmm1\n\tmovdqu 32(%r11), %xmm2\n\tmovdqu 48(%r11), %xmm3\n"
	"\tmovq 64(%r11), %mm0\n\tmovq 72(%r11), %mm1\n\tmovq 80(%r11), %mm2\n\tmovq 88(%r11), %mm3\n"
	"\tmov 96(%r11), %rax\n\tmov 104(%r11), %rcx\n\tmov 112(%r11), %rdx\n\tmov 120(%r11), %rsi\n"
	"\tmov 128(%r11), %rdi\n\tpushq 136(%r11)\n\tpopfq\n"
	"\tcall *%r12\n"
	"\tpushfq\n\tpopq 136(%r11)\n"
	"\tmovdqu %xmm0, 0(%r11)\n\tmovdqu %xmm1, 16(%r11)\n\tmovdqu %xmm2, 32(%r11)\n\tmovdqu %xmm3, 48(%r11)\n"
	"\tmovq %mm0, 64(%r11)\n\tmovq %mm1, 72(%r11)\n\tmovq %mm2, 80(%r11)\n\tmovq %mm3, 88(%r11)\n"
	"\tmov %rax, 96(%r11)\n\tmov %rcx, 104(%r11)\n\tmov %rdx, 112(%r11)\n"
	"\tstmxcsr 144(%r11)\n\tldmxcsr 148(%r11)\n\temms\n"
	"\tpop %r13\n\tpop %r12\n\tpop %rbx\n\tret\n.popsection\n");

static uint8_t *code;
static sigjmp_buf sig_jmp;
static uint32_t sig_mxcsr;

static void on_signal(int sig, siginfo_t *si, void *uc_)
{
	(void)si;
	ucontext_t *uc = uc_;
	if (sig == SIGFPE && uc->uc_mcontext.fpregs)
		sig_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	siglongjmp(sig_jmp, sig == SIGFPE ? X86_EXC_XM : X86_EXC_GP);
}

/* ---- forms ---- */

#define M(x) ZYDIS_MNEMONIC_##x
enum { K_NONE, K_X, K_MM, K_G, K_MEM, K_IMM };

struct form {
	ZydisMnemonic mn;
	int k[3];
	int size[3]; /* K_G: 1/2/4/8; K_MEM: 0 = whatever the encoder accepts */
	bool wide_len; /* PCMPESTRx with REX.W */
};

static unsigned forms_run, cases_run;
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint32_t f32_special[] = {
	0, 0x80000000, 1, 0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000,
	0xffc00001, 0x7fa00000, 0xff800001, 0x3f800000, 0xbf800000, 0x4f000000, 0xcf000000, 0x3f000000,
	0x00400000, 0x0c000000, 0x72000000, 0x7fffffff, 0x80000001,
};
static const uint64_t f64_special[] = {
	0, 0x8000000000000000ULL, 1, 0x800fffffffffffffULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL,
	0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0xfff8000000000001ULL,
	0x7ff4000000000000ULL, 0xfff0000000000001ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
	0x41e0000000000000ULL, 0xc3e0000000000000ULL, 0x0008000000000000ULL, 0x0180000000000000ULL,
	0x7fd0000000000000ULL, 0x3fe0000000000000ULL,
};

/* 16 bytes of operand data: lanes of special or random values. */
static void fill(uint8_t *p, unsigned len)
{
	unsigned mode = rnd() % 5;
	for (unsigned i = 0; i < len; i += (mode == 1 ? 8 : 4)) {
		uint64_t r = rnd(), v;
		if (mode == 0) { /* single-precision lanes */
			uint32_t w = rnd() % 3 ? f32_special[r % ARRAY_SIZE(f32_special)]
					       : (uint32_t)((r & 0x807fffff) | ((uint32_t)(120 + r % 16) << 23));
			memcpy(p + i, &w, 4);
			continue;
		}
		if (mode == 1) { /* double-precision lanes */
			v = rnd() % 3 ? f64_special[r % ARRAY_SIZE(f64_special)]
				      : (r & 0x800fffffffffffffULL) | ((uint64_t)(1015 + r % 16) << 52);
			memcpy(p + i, &v, i + 8 <= len ? 8 : len - i);
			continue;
		}
		if (mode == 2) { /* boundary bytes */
			static const uint8_t b[] = { 0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x81, 0x41, 0x61, 0x20 };
			for (unsigned j = 0; j < 4 && i + j < len; j++)
				p[i + j] = b[rnd() % ARRAY_SIZE(b)];
			continue;
		}
		uint32_t w = (uint32_t)r;
		memcpy(p + i, &w, i + 4 <= len ? 4 : len - i);
	}
}

static ZydisRegister gpr(int reg, int size)
{
	switch (size) {
	case 1: return ZYDIS_REGISTER_AL + reg;
	case 2: return ZYDIS_REGISTER_AX + reg;
	case 4: return ZYDIS_REGISTER_EAX + reg;
	default: return ZYDIS_REGISTER_RAX + reg;
	}
}

/* Register numbers: op 0 uses XMM1/MM1/RAX, op 1 XMM2/MM2/RDX; memory is [rsi + disp]. */
static const int op_reg[2][3] = { { 1, 1, X86_RAX }, { 2, 2, X86_RDX } };

static bool encode(const struct form *f, int disp, const int *msize, uint64_t imm, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest req;
	memset(&req, 0, sizeof(req));
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.mnemonic = f->mn;
	if (f->wide_len)
		req.operand_size_hint = ZYDIS_OPERAND_SIZE_HINT_64;
	for (unsigned i = 0; i < 3 && f->k[i] != K_NONE; i++) {
		ZydisEncoderOperand *o = &req.operands[i];
		req.operand_count++;
		int r = op_reg[i ? 1 : 0][f->k[i] == K_X ? 0 : f->k[i] == K_MM ? 1 : 2];
		switch (f->k[i]) {
		case K_X: o->type = ZYDIS_OPERAND_TYPE_REGISTER, o->reg.value = ZYDIS_REGISTER_XMM0 + r; break;
		case K_MM: o->type = ZYDIS_OPERAND_TYPE_REGISTER, o->reg.value = ZYDIS_REGISTER_MM0 + r; break;
		case K_G: o->type = ZYDIS_OPERAND_TYPE_REGISTER, o->reg.value = gpr(r, f->size[i]); break;
		case K_IMM: o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE, o->imm.u = imm; break;
		default:
			o->type = ZYDIS_OPERAND_TYPE_MEMORY;
			o->mem.base = ZYDIS_REGISTER_RSI;
			o->mem.displacement = disp;
			o->mem.size = (ZyanU16)msize[i];
			break;
		}
	}
	return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, len));
}

static soft_handler_fn *simd_table[ZYDIS_MNEMONIC_MAX_VALUE + 1], *misc_table[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static _Alignas(64) uint8_t membuf[64];

static bool form_is_mmx(const struct form *f)
{
	return f->k[0] == K_MM || f->k[1] == K_MM;
}

static bool mnemonic_in(ZydisMnemonic mn, const ZydisMnemonic *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == mn)
			return true;
	return false;
}

static void run_form(const struct form *f, unsigned ncases)
{
	/* the memory operand size the encoder accepts */
	int msize[3] = { 0, 0, 0 };
	uint8_t insn[16];
	ZyanUSize ilen;
	for (unsigned i = 0; i < 3; i++) {
		if (f->k[i] != K_MEM)
			continue;
		static const int sizes[] = { 16, 8, 4, 2, 1 };
		msize[i] = f->size[i];
		for (unsigned s = 0; s < ARRAY_SIZE(sizes) && !msize[i]; s++) {
			int try[3] = { 0, 0, 0 };
			try[i] = sizes[s];
			ilen = sizeof(insn);
			if (encode(f, 16, try, 0, insn, &ilen))
				msize[i] = sizes[s];
		}
	}
	bool simd = f->k[0] == K_X || f->k[0] == K_MM || f->k[1] == K_X || f->k[1] == K_MM;
	soft_handler_fn *fn = (simd ? simd_table : misc_table)[f->mn];
	if (!fn) {
		printf("# no handler for %s\n", ZydisMnemonicGetString(f->mn));
		check_failures++;
		return;
	}
	static const ZydisMnemonic blendv[] = { ZYDIS_MNEMONIC_BLENDVPS, ZYDIS_MNEMONIC_BLENDVPD,
						ZYDIS_MNEMONIC_PBLENDVB };
	static const ZydisMnemonic pcmpe[] = { ZYDIS_MNEMONIC_PCMPESTRI, ZYDIS_MNEMONIC_PCMPESTRM };
	static const ZydisMnemonic maskmov[] = { ZYDIS_MNEMONIC_MASKMOVDQU, ZYDIS_MNEMONIC_MASKMOVQ };
	bool is_maskmov = mnemonic_in(f->mn, maskmov, 2);
	unsigned failures = 0;
	for (unsigned k = 0; k < ncases && failures < 3; k++) {
		uint64_t imm = rnd() & 0xff;
		if (k < 4)
			imm = (uint64_t[]){ 0, 0xff, 0x1b, 0x0c }[k];
		bool mem16 = (f->k[0] == K_MEM && msize[0] == 16) || (f->k[1] == K_MEM && msize[1] == 16);
		int disp = mem16 && rnd() % 16 == 0 ? 8 : 16;
		ilen = sizeof(insn);
		if (!encode(f, disp, msize, imm, insn, &ilen)) {
			printf("# cannot encode %s\n", ZydisMnemonicGetString(f->mn));
			check_failures++;
			return;
		}
		struct nctx c, c0;
		memset(&c, 0, sizeof(c));
		for (int i = 0; i < 4; i++) {
			fill(c.x[i], 16);
			fill((uint8_t *)&c.mm[i], 8);
		}
		if (mnemonic_in(f->mn, blendv, 3) && rnd() % 2) /* XMM0 as a mask of whole lanes */
			for (int i = 0; i < 16; i++)
				c.x[0][i] = (uint8_t)((rnd() % 2) << 7);
		c.rax = rnd() % 3 ? rnd() : (uint64_t)(int64_t)(int8_t)rnd();
		c.rdx = rnd() % 3 ? rnd() : (uint64_t)(int64_t)(int8_t)rnd();
		c.rcx = rnd();
		if (mnemonic_in(f->mn, pcmpe, 2) && rnd() % 4) {
			c.rax = (uint64_t)(int64_t)((int)(rnd() % 41) - 20);
			c.rdx = (uint64_t)(int64_t)((int)(rnd() % 41) - 20);
		}
		c.rsi = (uintptr_t)membuf;
		c.rdi = (uintptr_t)membuf + 16;
		c.flags = (rnd() & SOFT_ARITH_FLAGS) | RFLAGS_FIXED;
		uint32_t masks = rnd() % 4 ? 0x1f80 : (uint32_t)(rnd() & 0x1f80);
		c.mxcsr = (uint32_t)(rnd() & 0x3f) | (uint32_t)(rnd() & 0x6040) | (rnd() % 2 ? 0x8000 : 0) | masks;
		fill(membuf, 64);
		uint8_t mem0[64], mem_native[64];
		memcpy(mem0, membuf, 64);
		c0 = c;

		memcpy(code, insn, ilen);
		code[ilen] = 0xc3;
		int nvec = sigsetjmp(sig_jmp, 1);
		if (!nvec) {
			native_run(&c, code);
			nvec = -1;
		}
		memcpy(mem_native, membuf, 64);
		memcpy(membuf, mem0, 64);

		struct soft_insn in;
		memset(&in, 0, sizeof(in));
		in.mnemonic = (uint16_t)f->mn;
		in.len = (uint8_t)ilen;
		in.opsize = f->wide_len ? 8 : 4;
		in.addrsize = 8;
		for (unsigned i = 0; i < 3 && f->k[i] != K_NONE; i++) {
			struct soft_operand *o = &in.op[i];
			in.nops++;
			int r = op_reg[i ? 1 : 0][f->k[i] == K_X ? 0 : f->k[i] == K_MM ? 1 : 2];
			switch (f->k[i]) {
			case K_X: o->kind = SOFT_OP_XMM, o->reg = (uint8_t)r, o->size = 16; break;
			case K_MM: o->kind = SOFT_OP_MMX, o->reg = (uint8_t)r, o->size = 8; break;
			case K_G: o->kind = SOFT_OP_REG, o->reg = (uint8_t)r, o->size = (uint8_t)f->size[i]; break;
			case K_IMM: o->kind = SOFT_OP_IMM, o->imm = imm, o->size = 1; break;
			default:
				o->kind = SOFT_OP_MEM, o->base = X86_RSI, o->index = SOFT_NOREG, o->disp = disp;
				o->seg = X86_DS, o->size = (uint8_t)msize[i];
				break;
			}
		}
		if (is_maskmov) /* the hidden DS:rDI operand */
			in.op[2] = (struct soft_operand){ .kind = SOFT_OP_MEM, .size = f->k[0] == K_MM ? 8 : 16,
							  .base = X86_RDI, .index = SOFT_NOREG, .seg = X86_DS };

		struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
		cpu->s.cr0 = CR0_PE | CR0_MP;
		cpu->s.cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
		memcpy(cpu->s.fpu.xmm, c0.x, sizeof(c0.x));
		for (int i = 0; i < 4; i++)
			memcpy(cpu->s.fpu.st[i], &c0.mm[i], 8);
		cpu->s.gpr[X86_RAX] = c0.rax, cpu->s.gpr[X86_RCX] = c0.rcx, cpu->s.gpr[X86_RDX] = c0.rdx;
		cpu->s.gpr[X86_RSI] = c0.rsi, cpu->s.gpr[X86_RDI] = c0.rdi;
		cpu->s.rflags = c0.flags;
		cpu->s.fpu.mxcsr = c0.mxcsr;
		int svec = call_handler(fn, cpu, &in);

		bool bad = svec != nvec;
		if (nvec < 0 && !bad) {
			bad |= memcmp(cpu->s.fpu.xmm, c.x, sizeof(c.x)) != 0;
			if (form_is_mmx(f))
				for (int i = 0; i < 4; i++)
					bad |= memcmp(cpu->s.fpu.st[i], &c.mm[i], 8) != 0;
			bad |= cpu->s.gpr[X86_RAX] != c.rax || cpu->s.gpr[X86_RCX] != c.rcx ||
			       cpu->s.gpr[X86_RDX] != c.rdx;
			bad |= (cpu->s.rflags & SOFT_ARITH_FLAGS) != (c.flags & SOFT_ARITH_FLAGS);
			bad |= cpu->s.fpu.mxcsr != c.mxcsr;
			bad |= memcmp(membuf, mem_native, 64) != 0;
		} else if (!bad) {
			bad |= memcmp(cpu->s.fpu.xmm, c0.x, sizeof(c0.x)) != 0 || memcmp(membuf, mem0, 64) != 0;
			/* DPPS/DPPD: see sse_exec.c, extra flags after an early stop */
			/* and PE beside an unmasked OE/UE (see sse_exec.c) */
			uint32_t ign = (~c0.mxcsr >> 7) & 0x18 ? 0x20 : 0;
			if (nvec == X86_EXC_XM && f->mn != M(DPPS) && f->mn != M(DPPD))
				bad |= (cpu->s.fpu.mxcsr | ign) != (sig_mxcsr | ign);
		}
		if (bad) {
			failures++;
			check_failures++;
			printf("# %s kinds %d %d %d disp %d imm %#llx mxcsr %#x: vec host %d soft %d, mxcsr host %#x soft %#x\n",
			       ZydisMnemonicGetString(f->mn), f->k[0], f->k[1], f->k[2], disp, (unsigned long long)imm,
			       c0.mxcsr, nvec, svec, nvec == X86_EXC_XM ? sig_mxcsr : c.mxcsr, cpu->s.fpu.mxcsr);
			for (int i = 0; i < 4; i++)
				printf("#   xmm%d in %016llx%016llx host %016llx%016llx soft %016llx%016llx\n", i,
				       *(unsigned long long *)(c0.x[i] + 8), *(unsigned long long *)c0.x[i],
				       *(unsigned long long *)(c.x[i] + 8), *(unsigned long long *)c.x[i],
				       *(unsigned long long *)(cpu->s.fpu.xmm[i] + 8),
				       *(unsigned long long *)cpu->s.fpu.xmm[i]);
			printf("#   rax %llx/%llx rcx %llx/%llx fl %llx/%llx mm1 %llx/%llx\n",
			       (unsigned long long)c.rax, (unsigned long long)cpu->s.gpr[0],
			       (unsigned long long)c.rcx, (unsigned long long)cpu->s.gpr[1],
			       (unsigned long long)(c.flags & 0x8d5), (unsigned long long)(cpu->s.rflags & 0x8d5),
			       (unsigned long long)c.mm[1], *(unsigned long long *)cpu->s.fpu.st[1]);
		}
		free(cpu);
		cases_run++;
	}
	forms_run++;
}

/* ---- the form lists ---- */

/* op, xmm/m128 (register and memory forms) */
static const ZydisMnemonic xx[] = {
	M(ADDPS), M(ADDPD), M(ADDSS), M(ADDSD), M(SUBPS), M(SUBPD), M(SUBSS), M(SUBSD), M(MULPS), M(MULPD),
	M(MULSS), M(MULSD), M(DIVPS), M(DIVPD), M(DIVSS), M(DIVSD), M(MINPS), M(MINPD), M(MINSS), M(MINSD),
	M(MAXPS), M(MAXPD), M(MAXSS), M(MAXSD), M(SQRTPS), M(SQRTPD), M(SQRTSS), M(SQRTSD), M(RCPPS),
	M(RCPSS), M(RSQRTPS), M(RSQRTSS), M(ANDPS), M(ANDPD), M(ANDNPS), M(ANDNPD), M(ORPS), M(ORPD),
	M(XORPS), M(XORPD), M(UNPCKLPS), M(UNPCKHPS), M(UNPCKLPD), M(UNPCKHPD), M(CVTPS2PD), M(CVTPD2PS),
	M(CVTSS2SD), M(CVTSD2SS), M(CVTDQ2PS), M(CVTPS2DQ), M(CVTTPS2DQ), M(CVTDQ2PD), M(CVTPD2DQ),
	M(CVTTPD2DQ), M(COMISS), M(COMISD), M(UCOMISS), M(UCOMISD), M(HADDPS), M(HADDPD), M(HSUBPS),
	M(HSUBPD), M(ADDSUBPS), M(ADDSUBPD), M(MOVSHDUP), M(MOVSLDUP), M(MOVDDUP), M(BLENDVPS), M(BLENDVPD),
	M(PUNPCKLQDQ), M(PUNPCKHQDQ), M(PMULLD), M(PMULDQ), M(PMINSB), M(PMAXSB), M(PMINUW), M(PMAXUW),
	M(PMINUD), M(PMAXUD), M(PMINSD), M(PMAXSD), M(PCMPEQQ), M(PACKUSDW), M(PHMINPOSUW), M(PTEST),
	M(PMOVSXBW), M(PMOVSXBD), M(PMOVSXBQ), M(PMOVSXWD), M(PMOVSXWQ), M(PMOVSXDQ), M(PMOVZXBW),
	M(PMOVZXBD), M(PMOVZXBQ), M(PMOVZXWD), M(PMOVZXWQ), M(PMOVZXDQ), M(PCMPGTQ), M(PBLENDVB), M(AESENC),
	M(AESENCLAST), M(AESDEC), M(AESDECLAST), M(AESIMC), M(MOVAPS), M(MOVAPD), M(MOVDQA), M(MOVUPS),
	M(MOVUPD), M(MOVDQU), M(MOVSS), M(MOVSD),
};
/* both op mm, mm/m64 and op xmm, xmm/m128 */
static const ZydisMnemonic xm[] = {
	M(PADDB), M(PADDW), M(PADDD), M(PADDQ), M(PADDSB), M(PADDSW), M(PADDUSB), M(PADDUSW), M(PSUBB),
	M(PSUBW), M(PSUBD), M(PSUBQ), M(PSUBSB), M(PSUBSW), M(PSUBUSB), M(PSUBUSW), M(PMULLW), M(PMULHW),
	M(PMULHUW), M(PMULUDQ), M(PMADDWD), M(PAVGB), M(PAVGW), M(PMINUB), M(PMAXUB), M(PMINSW), M(PMAXSW),
	M(PSADBW), M(PCMPEQB), M(PCMPEQW), M(PCMPEQD), M(PCMPGTB), M(PCMPGTW), M(PCMPGTD), M(PAND), M(PANDN),
	M(POR), M(PXOR), M(PUNPCKLBW), M(PUNPCKLWD), M(PUNPCKLDQ), M(PUNPCKHBW), M(PUNPCKHWD), M(PUNPCKHDQ),
	M(PACKSSWB), M(PACKSSDW), M(PACKUSWB), M(PSRLW), M(PSRLD), M(PSRLQ), M(PSRAW), M(PSRAD), M(PSLLW),
	M(PSLLD), M(PSLLQ), M(PSHUFB), M(PHADDW), M(PHADDD), M(PHADDSW), M(PHSUBW), M(PHSUBD), M(PHSUBSW),
	M(PMADDUBSW), M(PMULHRSW), M(PSIGNB), M(PSIGNW), M(PSIGND), M(PABSB), M(PABSW), M(PABSD),
};
/* op xmm, xmm/m128, imm8 */
static const ZydisMnemonic xxi[] = {
	M(CMPPS), M(CMPPD), M(CMPSS), M(CMPSD), M(SHUFPS), M(SHUFPD), M(ROUNDPS), M(ROUNDPD), M(ROUNDSS),
	M(ROUNDSD), M(DPPS), M(DPPD), M(BLENDPS), M(BLENDPD), M(INSERTPS), M(PSHUFD), M(PSHUFHW),
	M(PSHUFLW), M(PBLENDW), M(MPSADBW), M(AESKEYGENASSIST), M(PCLMULQDQ), M(PALIGNR), M(PCMPISTRI),
	M(PCMPISTRM), M(PCMPESTRI), M(PCMPESTRM),
};
/* shifts by an immediate, XMM and MMX */
static const ZydisMnemonic shi[] = { M(PSRLW), M(PSRLD), M(PSRLQ), M(PSRAW), M(PSRAD), M(PSLLW), M(PSLLD),
				     M(PSLLQ) };
/* stores: op m, xmm */
static const ZydisMnemonic stores[] = { M(MOVAPS), M(MOVAPD), M(MOVDQA), M(MOVUPS), M(MOVUPD), M(MOVDQU),
				    M(MOVNTPS), M(MOVNTPD), M(MOVNTDQ), M(MOVSS), M(MOVSD), M(MOVLPS),
				    M(MOVLPD), M(MOVHPS), M(MOVHPD) };
/* loads only: op xmm, m */
static const ZydisMnemonic loads[] = { M(MOVLPS), M(MOVLPD), M(MOVHPS), M(MOVHPD), M(LDDQU), M(MOVNTDQA) };
/* register only: op xmm, xmm */
static const ZydisMnemonic rr[] = { M(MOVHLPS), M(MOVLHPS) };

static void add(struct form **v, size_t *n, struct form f)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = f;
}

#define F(mn, k0, s0, k1, s1, k2) ((struct form){ mn, { k0, k1, k2 }, { s0, s1, 0 }, false })

/* Results the SDM leaves to the implementation (vendor-specific approximations). */
static bool vendor_specific(ZydisMnemonic mn)
{
	return mn == M(RCPPS) || mn == M(RCPSS) || mn == M(RSQRTPS) || mn == M(RSQRTSS);
}

static void build_forms(struct form **v, size_t *n)
{
	for (size_t i = 0; i < ARRAY_SIZE(xx); i++) {
		if (vendor_specific(xx[i]) && !oracle_host_is_model())
			continue;
		add(v, n, F(xx[i], K_X, 0, K_X, 0, K_NONE));
		add(v, n, F(xx[i], K_X, 0, K_MEM, 0, K_NONE));
	}
	for (size_t i = 0; i < ARRAY_SIZE(xm); i++) {
		add(v, n, F(xm[i], K_X, 0, K_X, 0, K_NONE));
		add(v, n, F(xm[i], K_X, 0, K_MEM, 0, K_NONE));
		add(v, n, F(xm[i], K_MM, 0, K_MM, 0, K_NONE));
		add(v, n, F(xm[i], K_MM, 0, K_MEM, 0, K_NONE));
	}
	for (size_t i = 0; i < ARRAY_SIZE(xxi); i++) {
		add(v, n, F(xxi[i], K_X, 0, K_X, 0, K_IMM));
		add(v, n, F(xxi[i], K_X, 0, K_MEM, 0, K_IMM));
	}
	for (size_t i = 0; i < ARRAY_SIZE(shi); i++) {
		add(v, n, F(shi[i], K_X, 0, K_IMM, 0, K_NONE));
		add(v, n, F(shi[i], K_MM, 0, K_IMM, 0, K_NONE));
	}
	for (size_t i = 0; i < ARRAY_SIZE(stores); i++)
		add(v, n, F(stores[i], K_MEM, 0, K_X, 0, K_NONE));
	for (size_t i = 0; i < ARRAY_SIZE(loads); i++)
		add(v, n, F(loads[i], K_X, 0, K_MEM, 0, K_NONE));
	for (size_t i = 0; i < ARRAY_SIZE(rr); i++)
		add(v, n, F(rr[i], K_X, 0, K_X, 0, K_NONE));
	struct form extra[] = {
		F(M(PSLLDQ), K_X, 0, K_IMM, 0, K_NONE), F(M(PSRLDQ), K_X, 0, K_IMM, 0, K_NONE),
		F(M(PSHUFW), K_MM, 0, K_MM, 0, K_IMM), F(M(PSHUFW), K_MM, 0, K_MEM, 0, K_IMM),
		F(M(PALIGNR), K_MM, 0, K_MM, 0, K_IMM), F(M(PALIGNR), K_MM, 0, K_MEM, 0, K_IMM),
		/* GPR sources and destinations */
		F(M(CVTSI2SS), K_X, 0, K_G, 4, K_NONE), F(M(CVTSI2SS), K_X, 0, K_G, 8, K_NONE),
		F(M(CVTSI2SD), K_X, 0, K_G, 4, K_NONE), F(M(CVTSI2SD), K_X, 0, K_G, 8, K_NONE),
		F(M(CVTSI2SS), K_X, 0, K_MEM, 4, K_NONE), F(M(CVTSI2SD), K_X, 0, K_MEM, 8, K_NONE),
		F(M(CVTSS2SI), K_G, 4, K_X, 0, K_NONE), F(M(CVTSS2SI), K_G, 8, K_X, 0, K_NONE),
		F(M(CVTTSS2SI), K_G, 4, K_X, 0, K_NONE), F(M(CVTTSS2SI), K_G, 8, K_MEM, 4, K_NONE),
		F(M(CVTSD2SI), K_G, 4, K_X, 0, K_NONE), F(M(CVTSD2SI), K_G, 8, K_X, 0, K_NONE),
		F(M(CVTTSD2SI), K_G, 4, K_MEM, 8, K_NONE), F(M(CVTTSD2SI), K_G, 8, K_X, 0, K_NONE),
		F(M(MOVD), K_X, 0, K_G, 4, K_NONE), F(M(MOVQ), K_X, 0, K_G, 8, K_NONE),
		F(M(MOVD), K_G, 4, K_X, 0, K_NONE), F(M(MOVQ), K_G, 8, K_X, 0, K_NONE),
		F(M(MOVD), K_X, 0, K_MEM, 4, K_NONE), F(M(MOVQ), K_X, 0, K_X, 0, K_NONE),
		F(M(MOVQ), K_X, 0, K_MEM, 8, K_NONE), F(M(MOVQ), K_MEM, 8, K_X, 0, K_NONE), F(M(MOVD), K_MEM, 4, K_X, 0, K_NONE),
		F(M(MOVD), K_MM, 0, K_G, 4, K_NONE), F(M(MOVQ), K_MM, 0, K_G, 8, K_NONE),
		F(M(MOVD), K_G, 4, K_MM, 0, K_NONE), F(M(MOVQ), K_G, 8, K_MM, 0, K_NONE),
		F(M(MOVQ), K_MM, 0, K_MM, 0, K_NONE), F(M(MOVQ), K_MM, 0, K_MEM, 8, K_NONE),
		F(M(MOVQ), K_MEM, 8, K_MM, 0, K_NONE), F(M(MOVNTQ), K_MEM, 8, K_MM, 0, K_NONE),
		F(M(MOVQ2DQ), K_X, 0, K_MM, 0, K_NONE), F(M(MOVDQ2Q), K_MM, 0, K_X, 0, K_NONE),
		F(M(MOVMSKPS), K_G, 4, K_X, 0, K_NONE), F(M(MOVMSKPD), K_G, 4, K_X, 0, K_NONE),
		F(M(PMOVMSKB), K_G, 4, K_X, 0, K_NONE), F(M(PMOVMSKB), K_G, 4, K_MM, 0, K_NONE),
		F(M(PEXTRB), K_G, 4, K_X, 0, K_IMM), F(M(PEXTRB), K_MEM, 1, K_X, 0, K_IMM),
		F(M(PEXTRW), K_G, 4, K_X, 0, K_IMM), F(M(PEXTRW), K_G, 4, K_MM, 0, K_IMM),
		F(M(PEXTRW), K_MEM, 2, K_X, 0, K_IMM), F(M(PEXTRD), K_G, 4, K_X, 0, K_IMM),
		F(M(PEXTRD), K_MEM, 4, K_X, 0, K_IMM), F(M(PEXTRQ), K_G, 8, K_X, 0, K_IMM),
		F(M(EXTRACTPS), K_G, 4, K_X, 0, K_IMM), F(M(EXTRACTPS), K_MEM, 4, K_X, 0, K_IMM),
		F(M(PINSRB), K_X, 0, K_G, 4, K_IMM), F(M(PINSRB), K_X, 0, K_MEM, 1, K_IMM),
		F(M(PINSRW), K_X, 0, K_G, 4, K_IMM), F(M(PINSRW), K_MM, 0, K_G, 4, K_IMM),
		F(M(PINSRW), K_MM, 0, K_MEM, 2, K_IMM), F(M(PINSRD), K_X, 0, K_G, 4, K_IMM),
		F(M(PINSRQ), K_X, 0, K_G, 8, K_IMM), F(M(PINSRQ), K_X, 0, K_MEM, 8, K_IMM),
		/* MMX-operand conversions */
		F(M(CVTPI2PS), K_X, 0, K_MM, 0, K_NONE), F(M(CVTPI2PS), K_X, 0, K_MEM, 8, K_NONE),
		F(M(CVTPI2PD), K_X, 0, K_MM, 0, K_NONE), F(M(CVTPS2PI), K_MM, 0, K_X, 0, K_NONE),
		F(M(CVTPS2PI), K_MM, 0, K_MEM, 8, K_NONE), F(M(CVTTPS2PI), K_MM, 0, K_X, 0, K_NONE),
		F(M(CVTPD2PI), K_MM, 0, K_X, 0, K_NONE), F(M(CVTTPD2PI), K_MM, 0, K_MEM, 16, K_NONE),
		F(M(MASKMOVDQU), K_X, 0, K_X, 0, K_NONE), F(M(MASKMOVQ), K_MM, 0, K_MM, 0, K_NONE),
		/* normal-table instructions */
		F(M(CRC32), K_G, 4, K_G, 1, K_NONE), F(M(CRC32), K_G, 4, K_G, 2, K_NONE),
		F(M(CRC32), K_G, 4, K_G, 4, K_NONE), F(M(CRC32), K_G, 8, K_G, 8, K_NONE),
		F(M(CRC32), K_G, 4, K_MEM, 1, K_NONE), F(M(CRC32), K_G, 8, K_MEM, 8, K_NONE),
		F(M(MOVNTI), K_MEM, 4, K_G, 4, K_NONE), F(M(MOVNTI), K_MEM, 8, K_G, 8, K_NONE),
		F(M(LDMXCSR), K_MEM, 4, K_NONE, 0, K_NONE), F(M(STMXCSR), K_MEM, 4, K_NONE, 0, K_NONE),
	};
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		add(v, n, extra[i]);
	struct form wide = F(M(PCMPESTRI), K_X, 0, K_X, 0, K_IMM);
	wide.wide_len = true;
	add(v, n, wide);
	wide.mn = M(PCMPESTRM);
	add(v, n, wide);
}

static void test_host_differential(void)
{
	struct form *forms = NULL;
	size_t n = 0;
	build_forms(&forms, &n);
	for (size_t i = 0; i < n; i++) {
		/* LDMXCSR would load garbage that traps natively: give it valid values */
		if (forms[i].mn == M(LDMXCSR))
			continue;
		run_form(&forms[i], 300);
	}
	free(forms);
}

/* ---- directed cases ---- */

static struct soft_cpu *new_cpu(void)
{
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	cpu->s.cr0 = CR0_PE | CR0_MP;
	cpu->s.cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
	cpu->s.fpu.mxcsr = 0x1f80;
	return cpu;
}

static struct soft_insn insn2(ZydisMnemonic mn, int k0, int r0, int k1, int r1)
{
	struct soft_insn in;
	memset(&in, 0, sizeof(in));
	in.mnemonic = (uint16_t)mn;
	in.nops = 2;
	in.addrsize = 8;
	in.opsize = 4;
	in.op[0] = (struct soft_operand){ .kind = (uint8_t)k0, .reg = (uint8_t)r0, .size = 16 };
	in.op[1] = (struct soft_operand){ .kind = (uint8_t)k1, .reg = (uint8_t)r1, .size = 16 };
	if (k0 == SOFT_OP_MMX)
		in.op[0].size = 8;
	if (k1 == SOFT_OP_MMX)
		in.op[1].size = 8;
	return in;
}

/* The model's RCP/RSQRT approximations on every host: values of the
 * measured core, and the special inputs. */
static void test_approximations(void)
{
	static const struct {
		ZydisMnemonic mn;
		uint32_t in, out;
	} cases[] = {
		{ M(RCPSS), 0x3f800000, 0x3f7ff000 },   /* 1.0 */
		{ M(RCPSS), 0x3fc00000, 0x3f2aa000 },   /* 1.5 */
		{ M(RCPSS), 0xc0400000, 0xbeaaa000 },   /* -3.0 */
		{ M(RCPSS), 0x00000001, 0x7f800000 },   /* a denormal counts as zero */
		{ M(RCPSS), 0x80000000, 0xff800000 },   /* -0 */
		{ M(RCPSS), 0x7f800000, 0x00000000 },   /* inf */
		{ M(RCPSS), 0x7f000000, 0x00000000 },   /* 2^127: too small a result */
		{ M(RCPSS), 0x7f800001, 0x7fc00001 },   /* SNaN: quieted */
		{ M(RSQRTSS), 0x3f800000, 0x3f7ff000 }, /* 1.0 */
		{ M(RSQRTSS), 0x40000000, 0x3f34f800 }, /* 2.0 */
		{ M(RSQRTSS), 0x40800000, 0x3efff000 }, /* 4.0 */
		{ M(RSQRTSS), 0xbf800000, 0xffc00000 }, /* negative: the default NaN */
		{ M(RSQRTSS), 0x80000000, 0xff800000 }, /* -0 */
		{ M(RSQRTSS), 0x7f800000, 0x00000000 }, /* inf */
	};
	struct soft_cpu *cpu = new_cpu();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct soft_insn in = insn2(cases[i].mn, SOFT_OP_XMM, 1, SOFT_OP_XMM, 2);
		memset(cpu->s.fpu.xmm[1], 0xee, 16);
		memcpy(cpu->s.fpu.xmm[2], &cases[i].in, 4);
		CHECK_EQ(call_handler(simd_table[cases[i].mn], cpu, &in), -1);
		uint32_t out, upper;
		memcpy(&out, cpu->s.fpu.xmm[1], 4);
		memcpy(&upper, cpu->s.fpu.xmm[1] + 12, 4);
		CHECK_EQ(out, cases[i].out);
		CHECK_EQ(upper, 0xeeeeeeee); /* scalar: the other elements kept */
		CHECK_EQ(cpu->s.fpu.mxcsr & 0x3f, 0); /* no exception flags */
	}
	free(cpu);
}

static void test_gating(void)
{
	struct soft_insn add = insn2(M(ADDPS), SOFT_OP_XMM, 1, SOFT_OP_XMM, 2);
	struct soft_insn padd = insn2(M(PADDB), SOFT_OP_MMX, 1, SOFT_OP_MMX, 2);
	struct soft_cpu *cpu = new_cpu();
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), -1);
	cpu->s.cr4 &= ~CR4_OSFXSR;
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), X86_EXC_UD);
	CHECK_EQ(call_handler(simd_table[M(PADDB)], cpu, &padd), -1); /* MMX ignores OSFXSR */
	cpu->s.cr4 |= CR4_OSFXSR;
	cpu->s.cr0 |= CR0_TS;
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), X86_EXC_NM);
	CHECK_EQ(call_handler(simd_table[M(PADDB)], cpu, &padd), X86_EXC_NM);
	cpu->s.cr0 |= CR0_EM;
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), X86_EXC_UD);
	CHECK_EQ(call_handler(simd_table[M(PADDB)], cpu, &padd), X86_EXC_UD);
	cpu->s.cr0 &= ~(CR0_EM | CR0_TS);
	cpu->s.fpu.fsw = 0x80; /* a pending x87 exception */
	CHECK_EQ(call_handler(simd_table[M(PADDB)], cpu, &padd), X86_EXC_MF);
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), -1);
	cpu->s.fpu.fsw = 0;
	add.flags = SOFT_INSN_LOCK;
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &add), X86_EXC_UD);
	add.flags = 0;

	/* unmasked: #XM, or #UD without CR4.OSXMMEXCPT; the destination is kept */
	struct soft_insn div = insn2(M(DIVSS), SOFT_OP_XMM, 1, SOFT_OP_XMM, 2);
	float one = 1.0f;
	memcpy(cpu->s.fpu.xmm[1], &one, 4);
	memset(cpu->s.fpu.xmm[2], 0, 16);
	cpu->s.fpu.mxcsr = 0x1f80 & ~0x200u; /* ZM clear */
	CHECK_EQ(call_handler(simd_table[M(DIVSS)], cpu, &div), X86_EXC_XM);
	CHECK_EQ(cpu->s.fpu.mxcsr & 0x3f, 0x4);
	CHECK(!memcmp(cpu->s.fpu.xmm[1], &one, 4));
	cpu->s.cr4 &= ~CR4_OSXMMEXCPT;
	CHECK_EQ(call_handler(simd_table[M(DIVSS)], cpu, &div), X86_EXC_UD);
	cpu->s.fpu.mxcsr = 0x1f80;
	CHECK_EQ(call_handler(simd_table[M(DIVSS)], cpu, &div), -1);
	CHECK_EQ(cpu->s.fpu.mxcsr, 0x1f84);
	free(cpu);
}

static void test_mmx_state(void)
{
	struct soft_cpu *cpu = new_cpu();
	cpu->s.fpu.fsw = 0x3800; /* TOP = 7 */
	cpu->s.fpu.ftw = 0x01;
	struct soft_insn padd = insn2(M(PADDW), SOFT_OP_MMX, 3, SOFT_OP_MMX, 4);
	uint64_t a = 0x0001000200030004ULL, b = 0x0010002000300040ULL;
	memcpy(cpu->s.fpu.st[3], &a, 8);
	memcpy(cpu->s.fpu.st[4], &b, 8);
	CHECK_EQ(call_handler(simd_table[M(PADDW)], cpu, &padd), -1);
	CHECK_EQ(*(uint64_t *)cpu->s.fpu.st[3], 0x0011002200330044ULL);
	CHECK_EQ(cpu->s.fpu.st[3][8], 0xff);
	CHECK_EQ(cpu->s.fpu.st[3][9], 0xff);
	CHECK_EQ(cpu->s.fpu.st[4][9], 0); /* a source keeps its exponent */
	CHECK_EQ(cpu->s.fpu.fsw & 0x3800, 0);
	CHECK_EQ(cpu->s.fpu.ftw, 0xff);
	struct soft_insn emms;
	memset(&emms, 0, sizeof(emms));
	emms.mnemonic = M(EMMS);
	CHECK_EQ(call_handler(misc_table[M(EMMS)], cpu, &emms), -1);
	CHECK_EQ(cpu->s.fpu.ftw, 0);
	/* an XMM instruction leaves the x87 state alone */
	struct soft_insn addps = insn2(M(ADDPS), SOFT_OP_XMM, 1, SOFT_OP_XMM, 2);
	CHECK_EQ(call_handler(simd_table[M(ADDPS)], cpu, &addps), -1);
	CHECK_EQ(cpu->s.fpu.ftw, 0);
	free(cpu);
}

static void test_mxcsr_load(void)
{
	struct soft_cpu *cpu = new_cpu();
	uint32_t v = 0x7fc0 | 0x3f;
	struct soft_insn ld;
	memset(&ld, 0, sizeof(ld));
	ld.mnemonic = M(LDMXCSR);
	ld.nops = 1;
	ld.addrsize = 8;
	ld.op[0] = (struct soft_operand){ .kind = SOFT_OP_MEM, .size = 4, .base = X86_RSI, .index = SOFT_NOREG };
	cpu->s.gpr[X86_RSI] = (uintptr_t)&v;
	CHECK_EQ(call_handler(misc_table[M(LDMXCSR)], cpu, &ld), -1);
	CHECK_EQ(cpu->s.fpu.mxcsr, 0x7fff);
	v = 0x10000; /* reserved bit */
	CHECK_EQ(call_handler(misc_table[M(LDMXCSR)], cpu, &ld), X86_EXC_GP);
	CHECK_EQ(cpu->s.fpu.mxcsr, 0x7fff);
	cpu->s.cr4 = 0;
	v = 0x1f80;
	CHECK_EQ(call_handler(misc_table[M(LDMXCSR)], cpu, &ld), X86_EXC_UD);
	free(cpu);
	printf("# covered: %u forms, %u cases\n", forms_run, cases_run);
}

static void setup(void)
{
	soft_register_sse(simd_table);
	soft_register_sse_misc(misc_table);
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

static void test_setup(void)
{
	setup();
	CHECK(code != MAP_FAILED);
}

CHECK_MAIN(TEST_CASE(test_setup), TEST_CASE(test_host_differential), TEST_CASE(test_approximations),
	   TEST_CASE(test_gating),
	   TEST_CASE(test_mmx_state), TEST_CASE(test_mxcsr_load))
