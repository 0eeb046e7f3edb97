/* SPDX-License-Identifier: MIT */
/*
 * The soft engine's ALU, shift, bit and BCD handlers (interp/alu.c, shift.c,
 * bits.c, bcd.c) against the host CPU. Each form is assembled with the Zydis
 * encoder into a small native stub (load registers and RFLAGS from a context,
 * run the instruction, store them back) and executed for edge and random
 * operands; the same instruction goes through the handler as a hand-made
 * struct soft_insn, and the registers, memory and all six arithmetic flags
 * (undefined ones included) must match. #DE is compared against the host's
 * SIGFPE. The BCD instructions, invalid in 64-bit mode, run natively in a
 * 32-bit compatibility-mode code segment (Linux's __USER32_CS).
 *
 * Test doubles: soft_raise* (longjmp back with the vector) and operand/segment
 * access on flat host memory (the real ones live in the core).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* Segments are flat and offsets are host addresses. */
uint64_t soft_seg_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	(void)cpu, (void)sreg;
	uint64_t v = 0;
	memcpy(&v, (void *)(uintptr_t)offset, size);
	return v;
}
uint64_t soft_seg_read_rmw(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	return soft_seg_read(cpu, sreg, offset, size);
}
void soft_seg_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value)
{
	(void)cpu, (void)sreg;
	memcpy((void *)(uintptr_t)offset, &value, size);
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
	case SOFT_OP_REG8H: return soft_reg8h_read(cpu, op->reg);
	case SOFT_OP_MEM: return soft_seg_read(cpu, op->seg, soft_ea(cpu, in, op), op->size);
	default: return op->imm;
	}
}
uint64_t soft_op_read_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	return soft_op_read(cpu, in, n);
}
void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: soft_reg_write(cpu, op->reg, op->size, value); break;
	case SOFT_OP_REG8H: soft_reg8h_write(cpu, op->reg, value); break;
	case SOFT_OP_MEM: soft_seg_write(cpu, op->seg, soft_ea(cpu, in, op), op->size, value); break;
	default: CHECK(!"write to an immediate"); break;
	}
}

/* Runs a handler; returns the vector it raised or -1. Kept out of line so
 * the callers' locals are not live across the longjmp. */
static __attribute__((noinline)) int call_handler(soft_handler_fn *fn, struct soft_cpu *cpu,
						   const struct soft_insn *in)
{
	cpu->raised_vector = -1;
	if (!setjmp(raise_jmp))
		fn(cpu, in);
	return cpu->raised_vector;
}

/* ---- forms ---- */

enum { R, H, I, M }; /* operand kinds: register, AH..BH, immediate, [rsi + 8] */
enum prep { P_NONE, P_DIV, P_SHIFT, P_BITMEM }; /* operand shaping for a form */

struct form {
	ZydisMnemonic mn;
	unsigned size; /* operand size */
	unsigned nops;
	struct { int kind, reg, size; uint64_t imm; } op[3];
	enum prep prep;
	bool compat; /* 32-bit code */
};

/* Registers in x86 order; the stubs load and store all but RSP and RBP. */
#define NREGS 8
static const int used_regs[6] = { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSI, X86_RDI };
struct ctx {
	uint64_t in[NREGS], out[NREGS];
	uint64_t flags_in, flags_out;
};

static unsigned forms_run, cases_run, cases_all_flags, cases_defined_only;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static ZydisRegister zreg(int kind, int reg, int size)
{
	if (kind == H)
		return ZYDIS_REGISTER_AH + reg;
	switch (size) {
	case 1: return reg < 4 ? ZYDIS_REGISTER_AL + reg : ZYDIS_REGISTER_SPL + (reg - 4);
	case 2: return ZYDIS_REGISTER_AX + reg;
	case 4: return ZYDIS_REGISTER_EAX + reg;
	default: return ZYDIS_REGISTER_RAX + reg;
	}
}

/* Native stub: rdi = struct ctx; r11 = ctx + 64 (so every field is a disp8)
 * across the instruction. */
static const uint8_t stub_head[] = {
	0x53, 0x4c, 0x8d, 0x5f, 0x40, /* push rbx; lea r11, [rdi + 64] */
	0x49, 0x8b, 0x43, 0xc0, 0x49, 0x8b, 0x4b, 0xc8, 0x49, 0x8b, 0x53, 0xd0, /* rax rcx rdx */
	0x49, 0x8b, 0x5b, 0xd8, 0x49, 0x8b, 0x73, 0xf0, 0x49, 0x8b, 0x7b, 0xf8, /* rbx rsi rdi */
	0x41, 0xff, 0x73, 0x40, 0x9d, /* push [r11 + 64]; popfq */
};
static const uint8_t stub_tail[] = {
	0x9c, 0x41, 0x8f, 0x43, 0x48, /* pushfq; pop [r11 + 72] */
	0x49, 0x89, 0x43, 0x00, 0x49, 0x89, 0x4b, 0x08, 0x49, 0x89, 0x53, 0x10,
	0x49, 0x89, 0x5b, 0x18, 0x49, 0x89, 0x73, 0x30, 0x49, 0x89, 0x7b, 0x38,
	0x5b, 0xc3, /* pop rbx; ret */
};

static uint8_t *code; /* MAP_32BIT, so compatibility-mode code can run there too */
static uint8_t *stack32;
static sigjmp_buf fpe_jmp;
static void on_sigfpe(int sig)
{
	(void)sig;
	siglongjmp(fpe_jmp, 1);
}

static bool encode(const struct form *fm, uint8_t *buf, ZyanUSize *len)
{
	ZydisEncoderRequest req;
	memset(&req, 0, sizeof(req));
	req.machine_mode = fm->compat ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 : ZYDIS_MACHINE_MODE_LONG_64;
	req.mnemonic = fm->mn;
	req.operand_count = (ZyanU8)fm->nops;
	for (unsigned i = 0; i < fm->nops; i++) {
		ZydisEncoderOperand *o = &req.operands[i];
		switch (fm->op[i].kind) {
		case R:
		case H:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = zreg(fm->op[i].kind, fm->op[i].reg, fm->op[i].size);
			break;
		case I:
			o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
			o->imm.u = fm->op[i].imm;
			break;
		default:
			o->type = ZYDIS_OPERAND_TYPE_MEMORY;
			o->mem.base = ZYDIS_REGISTER_RSI;
			o->mem.displacement = 8;
			o->mem.size = (ZyanU16)fm->op[i].size;
			break;
		}
	}
	ZyanUSize cap = *len;
	if (ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, len)))
		return true;
	/* An imm8/imm16 above the signed range: give it as the negative value. */
	for (unsigned i = 0; i < fm->nops; i++)
		if (fm->op[i].kind == I && fm->op[i].size < 8) {
			unsigned sh = 64 - 8 * (unsigned)fm->op[i].size;
			req.operands[i].imm.s = (int64_t)(fm->op[i].imm << sh) >> sh;
		}
	*len = cap;
	return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, len));
}

/* Compatibility mode: far-return to CS 0x23, run the instruction with
 * EAX/ECX/EDX/EBX/ESI/EDI from the context at a fixed address, far-return to
 * CS 0x33. Only low 32 bits are compared. */
static bool build_compat_stub(const uint8_t *insn, size_t ilen)
{
	uint8_t *p = code;
	uint32_t base = (uint32_t)(uintptr_t)code;
	uint32_t ctxa = base + 0x800, save = base + 0x900;
	uint32_t sp32 = (uint32_t)(uintptr_t)stack32 + 4000;
	/* 64-bit: save callee-saved registers and rsp, copy ctx, switch stack. */
	static const uint8_t save_regs[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
	memcpy(p, save_regs, sizeof(save_regs)), p += sizeof(save_regs);
	*p++ = 0x48, *p++ = 0x89, *p++ = 0x24, *p++ = 0x25, memcpy(p, &save, 4), p += 4; /* mov [save], rsp */
	*p++ = 0x49, *p++ = 0x89, *p++ = 0xfb; /* mov r11, rdi */
	*p++ = 0xbc, memcpy(p, &sp32, 4), p += 4; /* mov esp, sp32 */
	*p++ = 0x6a, *p++ = 0x23; /* push 0x23 */
	uint8_t *target_imm = p + 1;
	*p++ = 0x68, p += 4; /* push imm32 (patched) */
	*p++ = 0x48, *p++ = 0xcb; /* retfq */
	uint32_t t32 = base + (uint32_t)(p - code);
	memcpy(target_imm, &t32, 4);
	/* 32-bit code: DS is null in 64-bit processes; use SS (__USER_DS). Then
	 * load from ctx via absolute addresses (ctx copied to ctxa). */
	*p++ = 0x16, *p++ = 0x1f; /* push ss; pop ds */
	static const uint8_t regload[6] = { 0xa1, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b };
	static const uint8_t modrm[6] = { 0, 0x0d, 0x15, 0x1d, 0x35, 0x3d };
	*p++ = 0xff, *p++ = 0x35; /* push [ctxa + flags_in] */
	uint32_t a = ctxa + 128;
	memcpy(p, &a, 4), p += 4;
	*p++ = 0x9d; /* popfd */
	for (int r = 5; r >= 0; r--) { /* eax last: the short form uses no modrm */
		a = ctxa + 8 * (uint32_t)used_regs[r];
		*p++ = regload[r];
		if (r)
			*p++ = modrm[r];
		memcpy(p, &a, 4), p += 4;
	}
	memcpy(p, insn, ilen), p += ilen;
	*p++ = 0x9c, *p++ = 0x8f, *p++ = 0x05; /* pushfd; pop [ctxa + flags_out] */
	a = ctxa + 136;
	memcpy(p, &a, 4), p += 4;
	static const uint8_t regstore[6] = { 0xa3, 0x89, 0x89, 0x89, 0x89, 0x89 };
	for (int r = 0; r < 6; r++) {
		a = ctxa + 64 + 8 * (uint32_t)used_regs[r];
		*p++ = regstore[r];
		if (r)
			*p++ = modrm[r];
		memcpy(p, &a, 4), p += 4;
	}
	*p++ = 0x6a, *p++ = 0x33; /* push 0x33 */
	target_imm = p + 1;
	*p++ = 0x68, p += 4;
	*p++ = 0xcb; /* retf */
	uint32_t t64 = base + (uint32_t)(p - code);
	memcpy(target_imm, &t64, 4);
	/* 64-bit again: restore. */
	*p++ = 0x48, *p++ = 0x8b, *p++ = 0x24, *p++ = 0x25, memcpy(p, &save, 4), p += 4; /* mov rsp, [save] */
	static const uint8_t restore[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
	memcpy(p, restore, sizeof(restore)), p += sizeof(restore);
	return p - code < 0x800;
}

/* Runs the form natively; returns the exception vector or -1. */
static int run_native(const struct form *fm, struct ctx *c)
{
	uint8_t insn[16];
	ZyanUSize ilen = sizeof(insn);
	if (fm->mn == ZYDIS_MNEMONIC_BSWAP && fm->size == 2) {
		/* the encoder refuses it */
		const uint8_t b16[] = { 0x66, 0x0f, (uint8_t)(0xc8 + fm->op[0].reg) };
		memcpy(insn, b16, 3), ilen = 3;
	} else if (!encode(fm, insn, &ilen)) {
		printf("# cannot encode %s size %u kinds %d %d %d\n", ZydisMnemonicGetString(fm->mn), fm->size,
		       fm->op[0].kind, fm->op[1].kind, fm->op[2].kind);
		check_failures++;
		return -2;
	}
	if (fm->compat) {
		if (!build_compat_stub(insn, ilen))
			return -2;
		memcpy(code + 0x800, c, sizeof(*c));
		((void (*)(void))(void *)code)();
		memcpy(c, code + 0x800, sizeof(*c));
		return -1;
	}
	uint8_t *p = code;
	memcpy(p, stub_head, sizeof(stub_head)), p += sizeof(stub_head);
	memcpy(p, insn, ilen), p += ilen;
	memcpy(p, stub_tail, sizeof(stub_tail));
	if (sigsetjmp(fpe_jmp, 1))
		return X86_EXC_DE;
	((void (*)(struct ctx *))(void *)code)(c);
	return -1;
}

static uint64_t pick(unsigned size)
{
	uint64_t m = soft_size_mask(size), hb = 1ULL << (size * 8 - 1);
	const uint64_t edge[] = { 0, 1, m, hb, hb - 1, hb + 1, 2, m - 1, size * 8 - 1, size * 8, 31, 32, 63, 64 };
	uint64_t r = rnd();
	if (rnd() % 3 == 0)
		return (r & ~m) | (edge[rnd() % (sizeof(edge) / sizeof(edge[0]))] & m);
	return r;
}

static uint8_t membuf[64];

/* The shift or rotate count of a case: the last operand, an immediate or CL. */
static unsigned case_count(const struct form *fm, const struct ctx *c)
{
	if (fm->nops < 2)
		return 0;
	return fm->op[fm->nops - 1].kind == I ? (unsigned)fm->op[fm->nops - 1].imm : (unsigned)(c->in[X86_RCX] & 0xff);
}

static void run_form(const struct form *fm, unsigned ncases)
{
	soft_handler_fn *table[ZYDIS_MNEMONIC_MAX_VALUE + 1] = { 0 };
	soft_register_alu(table);
	soft_register_shift(table);
	soft_register_bits(table);
	soft_register_bcd(table);
	struct soft_insn in;
	memset(&in, 0, sizeof(in));
	in.mnemonic = (uint16_t)fm->mn;
	in.nops = (uint8_t)fm->nops;
	in.opsize = (uint8_t)fm->size;
	in.addrsize = fm->compat ? 4 : 8;
	for (unsigned i = 0; i < fm->nops; i++) {
		struct soft_operand *o = &in.op[i];
		o->size = (uint8_t)fm->op[i].size;
		o->reg = (uint8_t)fm->op[i].reg;
		switch (fm->op[i].kind) {
		case R: o->kind = SOFT_OP_REG; break;
		case H: o->kind = SOFT_OP_REG8H; break;
		case I:
			o->kind = SOFT_OP_IMM;
			/* as the decoder does: imm8/imm32 sign-extended for ALU/IMUL */
			o->imm = fm->op[i].imm;
			break;
		default:
			o->kind = SOFT_OP_MEM, o->base = X86_RSI, o->disp = 8, o->seg = X86_DS;
			o->index = SOFT_NOREG;
			break;
		}
	}
	soft_handler_fn *fn = table[fm->mn];
	if (!fn) {
		printf("# no handler for %s\n", ZydisMnemonicGetString(fm->mn));
		check_failures++;
		return;
	}
	unsigned failures = 0;
	for (unsigned k = 0; k < ncases && failures < 3; k++) {
		struct ctx c;
		memset(&c, 0, sizeof(c));
		for (int r = 0; r < 6; r++)
			c.in[used_regs[r]] = pick(fm->size);
		c.flags_in = (rnd() & SOFT_ARITH_FLAGS) | RFLAGS_FIXED;
		c.in[X86_RSI] = (uintptr_t)membuf;
		if (fm->prep == P_DIV && rnd() % 2) /* make most divisions fit */
			c.in[X86_RDX] = fm->size == 1 ? c.in[0] & ~0xff00ULL : rnd() % 3 == 0 ? ~0ULL : 0;
		if (fm->prep == P_SHIFT && rnd() % 2)
			c.in[X86_RCX] = (c.in[X86_RCX] & ~0xffULL) | (rnd() % 70);
		if (fm->prep == P_BITMEM) /* bit offsets within membuf: [-64, 255] */
			c.in[X86_RCX] = (c.in[X86_RCX] & ~soft_size_mask(fm->size)) |
					((uint64_t)((int64_t)(rnd() % 320) - 64) & soft_size_mask(fm->size));
		if (fm->compat)
			for (int r = 0; r < 6; r++)
				c.in[used_regs[r]] &= 0xffffffff;
		for (unsigned i = 0; i < sizeof(membuf); i++)
			membuf[i] = (uint8_t)rnd();
		uint8_t mem0[sizeof(membuf)], mem_native[sizeof(membuf)];
		memcpy(mem0, membuf, sizeof(membuf));

		int nvec = run_native(fm, &c);
		if (nvec == -2)
			return;
		/* What the host can be trusted with: all, or what the SDM defines. */
		unsigned count = case_count(fm, &c);
		uint64_t cmp_flags = SOFT_ARITH_FLAGS;
		if (oracle_host_is_model()) {
			cases_all_flags++;
		} else {
			if (oracle_result_undefined(fm->mn, fm->size, count))
				continue;
			cmp_flags &= ~oracle_undefined_flags(fm->mn, fm->size, count);
			cases_defined_only++;
		}
		memcpy(mem_native, membuf, sizeof(membuf));
		memcpy(membuf, mem0, sizeof(membuf));

		struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
		memcpy(cpu->s.gpr, c.in, sizeof(c.in));
		cpu->s.rflags = c.flags_in;
		call_handler(fn, cpu, &in);
		bool bad = cpu->raised_vector != nvec;
		if (nvec < 0) {
			for (int r = 0; r < 6; r++) {
				uint64_t m = fm->compat ? 0xffffffff : ~0ULL;
				bad |= (cpu->s.gpr[used_regs[r]] & m) != (c.out[used_regs[r]] & m);
			}
			bad |= (cpu->s.rflags & ~SOFT_ARITH_FLAGS) != RFLAGS_FIXED;
			bad |= ((cpu->s.rflags ^ c.flags_out) & cmp_flags) != 0;
			bad |= memcmp(membuf, mem_native, sizeof(membuf)) != 0;
		} else {
			bad |= memcmp(cpu->s.gpr, c.in, sizeof(c.in)) != 0 || cpu->s.rflags != c.flags_in;
		}
		if (bad) {
			failures++;
			check_failures++;
			printf("# %s size %u kinds %d %d %d imm %llx: in rax=%llx rcx=%llx rdx=%llx rbx=%llx fl=%llx\n",
			       ZydisMnemonicGetString(fm->mn), fm->size, fm->op[0].kind, fm->op[1].kind,
			       fm->op[2].kind, (unsigned long long)fm->op[fm->nops ? fm->nops - 1 : 0].imm,
			       (unsigned long long)c.in[0],
			       (unsigned long long)c.in[1], (unsigned long long)c.in[2],
			       (unsigned long long)c.in[3], (unsigned long long)c.flags_in);
			printf("#   host vec %d rax=%llx rcx=%llx rdx=%llx rbx=%llx fl=%llx\n", nvec,
			       (unsigned long long)c.out[0], (unsigned long long)c.out[1],
			       (unsigned long long)c.out[2], (unsigned long long)c.out[3],
			       (unsigned long long)(c.flags_out & 0x8d5));
			printf("#   soft vec %d rax=%llx rcx=%llx rdx=%llx rbx=%llx fl=%llx\n",
			       cpu->raised_vector, (unsigned long long)cpu->s.gpr[0],
			       (unsigned long long)cpu->s.gpr[1], (unsigned long long)cpu->s.gpr[2],
			       (unsigned long long)cpu->s.gpr[3], (unsigned long long)cpu->s.rflags);
		}
		free(cpu);
		cases_run++;
	}
	forms_run++;
}

/* Builders. */
static struct form f1(ZydisMnemonic mn, unsigned size, int k0, int r0)
{
	return (struct form){ mn, size, 1, { { k0, r0, (int)size, 0 } }, P_NONE, false };
}
static struct form f2(ZydisMnemonic mn, unsigned size, int k0, int r0, int k1, int r1, uint64_t imm)
{
	return (struct form){ mn, size, 2, { { k0, r0, (int)size, 0 }, { k1, r1, (int)size, imm } }, P_NONE, false };
}
static struct form f3(ZydisMnemonic mn, unsigned size, int r0, int r1, int k2, int r2, uint64_t imm)
{
	return (struct form){ mn, size, 3, { { R, r0, (int)size, 0 }, { R, r1, (int)size, 0 }, { k2, r2, (int)size, imm } },
			      P_NONE, false };
}

#define N 3000
static const unsigned sizes[] = { 1, 2, 4, 8 };

static void setup(void)
{
	if (code)
		return;
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	stack32 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(code != MAP_FAILED && stack32 != MAP_FAILED);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigfpe;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
}

static void test_binary_alu(void)
{
	setup();
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC,
					     ZYDIS_MNEMONIC_SBB, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB,
					     ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_TEST };
	for (unsigned i = 0; i < sizeof(mns) / sizeof(mns[0]); i++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned sz = sizes[s];
			struct form f = f2(mns[i], sz, R, 0, R, 3, 0);
			run_form(&f, N);
			f = f2(mns[i], sz, R, 2, R, 2, 0); /* same register */
			run_form(&f, N / 10);
			f = f2(mns[i], sz, M, 0, R, 1, 0);
			run_form(&f, N / 3);
			uint64_t imm = sz == 1 ? 0xa5 : (uint64_t)(int64_t)(int32_t)0x8000f00d;
			if (sz == 2)
				imm = 0xfff0;
			f = f2(mns[i], sz, R, 1, I, 0, imm);
			f.op[1].size = sz == 8 ? 4 : (int)sz;
			run_form(&f, N / 3);
			if (sz == 1) {
				f = f2(mns[i], 1, H, 0, H, 3, 0);
				run_form(&f, N / 3);
				f = f2(mns[i], 1, H, 1, R, 2, 0);
				run_form(&f, N / 3);
			}
		}
	}
}

static void test_unary_mul_div(void)
{
	setup();
	static const ZydisMnemonic un[] = { ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG,
					    ZYDIS_MNEMONIC_NOT };
	static const ZydisMnemonic md[] = { ZYDIS_MNEMONIC_MUL, ZYDIS_MNEMONIC_IMUL, ZYDIS_MNEMONIC_DIV,
					    ZYDIS_MNEMONIC_IDIV };
	for (unsigned s = 0; s < 4; s++) {
		unsigned sz = sizes[s];
		for (unsigned i = 0; i < 4; i++) {
			struct form f = f1(un[i], sz, R, 3);
			run_form(&f, N);
			f = f1(un[i], sz, M, 0);
			run_form(&f, N / 10);
			if (sz == 1) {
				f = f1(un[i], 1, H, 2);
				run_form(&f, N / 3);
			}
			f = f1(md[i], sz, R, 3);
			f.prep = i >= 2 ? P_DIV : P_NONE;
			run_form(&f, N);
			f.op[0].kind = M;
			run_form(&f, N / 10);
			if (sz == 1) {
				f = f1(md[i], 1, H, 3);
				f.prep = i >= 2 ? P_DIV : P_NONE;
				run_form(&f, N / 3);
				f = f1(md[i], 1, H, 0); /* AH is part of the dividend */
				f.prep = i >= 2 ? P_DIV : P_NONE;
				run_form(&f, N / 3);
			}
			f = f1(md[i], sz, R, 0); /* rAX times/into itself */
			f.prep = i >= 2 ? P_DIV : P_NONE;
			run_form(&f, N / 3);
		}
		if (sz == 1)
			continue;
		struct form f = f2(ZYDIS_MNEMONIC_IMUL, sz, R, 0, R, 3, 0);
		run_form(&f, N);
		f = f3(ZYDIS_MNEMONIC_IMUL, sz, 1, 3, I, 0, sz == 2 ? 0x8001 : (uint64_t)(int64_t)(int32_t)0x9abcdef1);
		f.op[2].size = sz == 8 ? 4 : (int)sz;
		run_form(&f, N / 3);
		f = f3(ZYDIS_MNEMONIC_IMUL, sz, 1, 3, I, 0, (uint64_t)-3);
		f.op[2].size = 1;
		run_form(&f, N / 3);
	}
}

static void test_shift(void)
{
	setup();
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL,
					     ZYDIS_MNEMONIC_RCR, ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR,
					     ZYDIS_MNEMONIC_SAR };
	static const uint8_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255 };
	for (unsigned i = 0; i < sizeof(mns) / sizeof(mns[0]); i++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned sz = sizes[s];
			struct form f = f2(mns[i], sz, R, 0, R, 1, 0);
			f.op[1].size = 1;
			f.prep = P_SHIFT;
			run_form(&f, N);
			f.op[0].kind = M;
			run_form(&f, N / 10);
			if (sz == 1) {
				f.op[0].kind = H, f.op[0].reg = 3;
				run_form(&f, N / 3);
			}
			for (unsigned c = 0; c < sizeof(counts); c++) {
				f = f2(mns[i], sz, R, 3, I, 0, counts[c]);
				f.op[1].size = 1;
				run_form(&f, N / 30);
			}
		}
	}
	for (unsigned s = 1; s < 4; s++) {
		unsigned sz = sizes[s];
		for (int left = 0; left < 2; left++) {
			ZydisMnemonic mn = left ? ZYDIS_MNEMONIC_SHLD : ZYDIS_MNEMONIC_SHRD;
			struct form f = f3(mn, sz, 0, 3, R, 1, 0);
			f.op[2].size = 1;
			f.prep = P_SHIFT;
			run_form(&f, N);
			for (unsigned c = 0; c < sizeof(counts); c++) {
				f = f3(mn, sz, 2, 3, I, 0, counts[c]);
				f.op[2].size = 1;
				run_form(&f, N / 30);
			}
		}
	}
}

static void test_bits(void)
{
	setup();
	static const ZydisMnemonic bt[] = { ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR,
					    ZYDIS_MNEMONIC_BTC };
	static const ZydisMnemonic un[] = { ZYDIS_MNEMONIC_BSF, ZYDIS_MNEMONIC_BSR, ZYDIS_MNEMONIC_POPCNT,
					    ZYDIS_MNEMONIC_LZCNT, ZYDIS_MNEMONIC_TZCNT };
	for (unsigned s = 1; s < 4; s++) {
		unsigned sz = sizes[s];
		for (unsigned i = 0; i < 4; i++) {
			struct form f = f2(bt[i], sz, R, 0, R, 3, 0);
			run_form(&f, N);
			f = f2(bt[i], sz, R, 2, I, 0, 0x25);
			f.op[1].size = 1;
			run_form(&f, N / 3);
			f = f2(bt[i], sz, M, 0, I, 0, 0xfe);
			f.op[1].size = 1;
			run_form(&f, N / 3);
			f = f2(bt[i], sz, M, 0, R, 1, 0);
			f.prep = P_BITMEM;
			run_form(&f, N);
		}
		for (unsigned i = 0; i < 5; i++) {
			struct form f = f2(un[i], sz, R, 0, R, 3, 0);
			run_form(&f, N);
			f = f2(un[i], sz, R, 1, M, 0, 0);
			run_form(&f, N / 10);
		}
		struct form f = f1(ZYDIS_MNEMONIC_BSWAP, sz, R, 1);
		run_form(&f, N / 3);
	}
}

static void test_bmi_adx(void)
{
	setup();
	for (unsigned sz = 4; sz <= 8; sz += 4) {
		static const ZydisMnemonic three[] = { ZYDIS_MNEMONIC_ANDN, ZYDIS_MNEMONIC_BEXTR, ZYDIS_MNEMONIC_BZHI,
						       ZYDIS_MNEMONIC_PDEP, ZYDIS_MNEMONIC_PEXT, ZYDIS_MNEMONIC_SARX,
						       ZYDIS_MNEMONIC_SHLX, ZYDIS_MNEMONIC_SHRX, ZYDIS_MNEMONIC_MULX };
		for (unsigned i = 0; i < sizeof(three) / sizeof(three[0]); i++) {
			struct form f = f3(three[i], sz, 0, 3, R, 1, 0);
			f.prep = P_SHIFT;
			run_form(&f, N);
			f.prep = P_NONE;
			run_form(&f, N / 3);
		}
		static const ZydisMnemonic two[] = { ZYDIS_MNEMONIC_BLSI, ZYDIS_MNEMONIC_BLSMSK, ZYDIS_MNEMONIC_BLSR,
						     ZYDIS_MNEMONIC_ADCX, ZYDIS_MNEMONIC_ADOX };
		for (unsigned i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
			struct form f = f2(two[i], sz, R, 0, R, 3, 0);
			run_form(&f, N);
		}
		static const uint8_t counts[] = { 0, 1, 5, 31, 32, 63, 200 };
		for (unsigned c = 0; c < sizeof(counts); c++) {
			struct form f = f3(ZYDIS_MNEMONIC_RORX, sz, 0, 3, I, 0, counts[c]);
			f.op[2].size = 1;
			run_form(&f, N / 30);
		}
	}
}

static void test_bcd(void)
{
	setup();
	static const ZydisMnemonic mns[] = { ZYDIS_MNEMONIC_DAA, ZYDIS_MNEMONIC_DAS, ZYDIS_MNEMONIC_AAA,
					     ZYDIS_MNEMONIC_AAS };
	for (unsigned i = 0; i < 4; i++) {
		struct form f = { mns[i], 1, 0, { { 0 } }, P_NONE, true };
		run_form(&f, N);
	}
	static const uint8_t bases[] = { 10, 16, 1, 7, 255 };
	for (unsigned b = 0; b < sizeof(bases); b++) {
		struct form f = { ZYDIS_MNEMONIC_AAM, 1, 1, { { I, 0, 1, bases[b] } }, P_NONE, true };
		run_form(&f, N / 5);
		f.mn = ZYDIS_MNEMONIC_AAD;
		run_form(&f, N / 5);
	}
}

/* Faults the host cannot show safely, and the LOCK rules. */
static void test_faults(void)
{
	setup();
	soft_handler_fn *table[ZYDIS_MNEMONIC_MAX_VALUE + 1] = { 0 };
	soft_register_alu(table);
	soft_register_bits(table);
	soft_register_bcd(table);
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	struct soft_insn in;

	/* AAM 0: #DE, AX untouched. */
	memset(&in, 0, sizeof(in));
	in.nops = 1, in.op[0].kind = SOFT_OP_IMM, in.op[0].size = 1, in.op[0].imm = 0;
	cpu->s.gpr[X86_RAX] = 0x1234;
	CHECK_EQ(call_handler(table[ZYDIS_MNEMONIC_AAM], cpu, &in), X86_EXC_DE);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x1234);

	/* LOCK: register destination, and non-lockable instructions, #UD. */
	struct { ZydisMnemonic mn; int kind0; int ud; } lk[] = {
		{ ZYDIS_MNEMONIC_ADD, SOFT_OP_REG, 1 }, { ZYDIS_MNEMONIC_ADD, SOFT_OP_MEM, 0 },
		{ ZYDIS_MNEMONIC_CMP, SOFT_OP_MEM, 1 }, { ZYDIS_MNEMONIC_TEST, SOFT_OP_MEM, 1 },
		{ ZYDIS_MNEMONIC_BTS, SOFT_OP_MEM, 0 }, { ZYDIS_MNEMONIC_BT, SOFT_OP_MEM, 1 },
		{ ZYDIS_MNEMONIC_BTC, SOFT_OP_REG, 1 }, { ZYDIS_MNEMONIC_IMUL, SOFT_OP_REG, 1 },
		{ ZYDIS_MNEMONIC_XOR, SOFT_OP_MEM, 0 },
	};
	for (unsigned i = 0; i < sizeof(lk) / sizeof(lk[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.flags = SOFT_INSN_LOCK, in.nops = 2, in.addrsize = 8;
		in.op[0].kind = (uint8_t)lk[i].kind0, in.op[0].size = 4, in.op[0].base = X86_RSI;
		in.op[1].kind = SOFT_OP_REG, in.op[1].size = 4, in.op[1].reg = X86_RCX;
		memset(cpu, 0, sizeof(*cpu));
		cpu->s.gpr[X86_RSI] = (uintptr_t)membuf;
		CHECK_EQ(call_handler(table[lk[i].mn], cpu, &in), lk[i].ud ? X86_EXC_UD : -1);
		cases_run++;
	}
	free(cpu);
	printf("# covered: %u forms, %u cases (%u with undefined flags compared, %u with defined ones only)\n",
	       forms_run, cases_run, cases_all_flags, cases_defined_only);
}

CHECK_MAIN(TEST_CASE(test_binary_alu), TEST_CASE(test_unary_mul_div), TEST_CASE(test_shift),
	   TEST_CASE(test_bits), TEST_CASE(test_bmi_adx), TEST_CASE(test_bcd), TEST_CASE(test_faults))
