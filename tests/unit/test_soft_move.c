/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the soft engine's move, string, stack and control handlers
 * (interp/move.c, string.c, stack.c, control.c), called directly through a
 * table their register functions fill. The core functions they use are
 * test doubles here over a flat 128 KiB "memory" (linear = segment base +
 * offset, anything past the end faults with #PF). Flags of CMPS/SCAS,
 * CMPXCHG, XADD and the behaviour of CMOV/CMPXCHG on 64-bit registers are
 * compared with the host executing the same instruction.
 */
#include <setjmp.h>
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include "check.h"
#include "engine/soft/soft_cpu.h"
#include "engine/soft/soft_insn.h"

#define MEM_SIZE 0x20000u

static uint8_t mem[MEM_SIZE];
static jmp_buf raise_jmp;
static soft_handler_fn *table[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/* I/O log for INS/OUTS. */
static struct {
	uint16_t port;
	unsigned size;
	uint64_t value;
} io_log[64];
static unsigned io_count;
static uint64_t io_next; /* value the next port read returns (then incremented) */

/* Coverage: distinct (mnemonic, operand size) forms and handler calls. */
static uint32_t forms_seen[512];
static unsigned forms_count, cases_count;

/* ---- test doubles of the core ---- */

void soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error)
{
	cpu->raised_vector = vector;
	cpu->raised_error = error_code;
	cpu->raised_has_error = has_error;
	longjmp(raise_jmp, 1);
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

uint64_t soft_seg_linear(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned len, enum soft_access acc)
{
	const struct x86_segment *g = &cpu->s.seg[sreg];
	uint64_t lin;

	(void)acc;
	if (soft_in_64bit_mode(cpu)) {
		lin = offset + ((sreg == X86_FS || sreg == X86_GS) ? g->base : 0);
		if (!soft_is_canonical(lin))
			soft_raise_gp(cpu, 0);
	} else {
		if (offset + len - 1 > g->limit) {
			if (sreg == X86_SS)
				soft_raise_ss(cpu, 0);
			soft_raise_gp(cpu, 0);
		}
		lin = (g->base + offset) & 0xffffffff;
	}
	if (lin >= MEM_SIZE || MEM_SIZE - lin < len)
		soft_raise(cpu, X86_EXC_PF, PF_W, true);
	return lin;
}

void soft_lin_probe_write(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user)
{
	(void)user;
	if (lin >= MEM_SIZE || MEM_SIZE - lin < len)
		soft_raise(cpu, X86_EXC_PF, PF_W, true);
}

uint64_t soft_seg_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_READ), v = 0;
	memcpy(&v, mem + lin, size);
	return v;
}

/* As the engine's: checked for the write first. */
uint64_t soft_seg_read_rmw(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_WRITE), v = 0;
	memcpy(&v, mem + lin, size);
	return v;
}

void soft_seg_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value)
{
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	memcpy(mem + lin, &value, size);
}

unsigned soft_stack_size(const struct soft_cpu *cpu)
{
	if (soft_in_64bit_mode(cpu))
		return 8;
	return (cpu->s.seg[X86_SS].attr & SEG_ATTR_DB) ? 4 : 2;
}

void soft_push(struct soft_cpu *cpu, unsigned size, uint64_t value)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = (cpu->s.gpr[X86_RSP] - size) & soft_size_mask(ss);
	soft_seg_write(cpu, X86_SS, sp, size, value);
	soft_reg_write(cpu, X86_RSP, ss, sp);
}

uint64_t soft_pop(struct soft_cpu *cpu, unsigned size)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = cpu->s.gpr[X86_RSP] & soft_size_mask(ss);
	uint64_t v = soft_seg_read(cpu, X86_SS, sp, size);
	soft_reg_write(cpu, X86_RSP, ss, sp + size);
	return v;
}

uint64_t soft_io_read(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	(void)cpu;
	uint64_t v = io_next++ & soft_size_mask(size);
	if (io_count < 64)
		io_log[io_count++] = (typeof(io_log[0])){ port, size, v };
	return v;
}

void soft_io_write(struct soft_cpu *cpu, uint16_t port, unsigned size, uint64_t value)
{
	(void)cpu;
	if (io_count < 64)
		io_log[io_count++] = (typeof(io_log[0])){ port, size, value };
}

uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	uint64_t ea = (uint64_t)op->disp;
	if (op->base == SOFT_REG_RIP)
		ea += cpu->insn_rip + in->len;
	else if (op->base != SOFT_NOREG)
		ea += cpu->s.gpr[op->base];
	if (op->index != SOFT_NOREG)
		ea += cpu->s.gpr[op->index] * op->scale;
	return ea & soft_size_mask(in->addrsize);
}

uint64_t soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: return soft_reg_read(cpu, op->reg, op->size);
	case SOFT_OP_REG8H: return soft_reg8h_read(cpu, op->reg);
	case SOFT_OP_MEM: return soft_seg_read(cpu, op->seg, soft_ea(cpu, in, op), op->size);
	case SOFT_OP_IMM: return op->imm & soft_size_mask(op->size);
	case SOFT_OP_SREG: return cpu->s.seg[op->reg].selector;
	default: soft_raise_ud(cpu);
	}
}

uint64_t soft_op_read_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	if (op->kind == SOFT_OP_MEM)
		return soft_seg_read_rmw(cpu, op->seg, soft_ea(cpu, in, op), op->size);
	return soft_op_read(cpu, in, n);
}

void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value)
{
	const struct soft_operand *op = &in->op[n];
	switch (op->kind) {
	case SOFT_OP_REG: soft_reg_write(cpu, op->reg, op->size, value); return;
	case SOFT_OP_REG8H: soft_reg8h_write(cpu, op->reg, value); return;
	case SOFT_OP_MEM: soft_seg_write(cpu, op->seg, soft_ea(cpu, in, op), op->size, value); return;
	default: soft_raise_ud(cpu);
	}
}

bool soft_cond(const struct soft_cpu *cpu, unsigned cc)
{
	uint64_t f = cpu->s.rflags;
	bool cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF, sf = f & RFLAGS_SF, of = f & RFLAGS_OF, pf = f & RFLAGS_PF;
	bool r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

/* ---- harness ---- */

/* Runs one instruction; returns -1 or the raised vector. */
static int run(struct soft_cpu *cpu, struct soft_insn *in)
{
	uint32_t form = (uint32_t)in->mnemonic << 8 | in->opsize << 4 | (in->nops ? in->op[0].kind : 0);
	unsigned i;

	for (i = 0; i < forms_count && forms_seen[i] != form; i++)
		continue;
	if (i == forms_count && forms_count < 512)
		forms_seen[forms_count++] = form;
	cases_count++;
	cpu->raised_vector = -1;
	cpu->end_block = false;
	if (!table[in->mnemonic]) {
		printf("# no handler for %s\n", ZydisMnemonicGetString((ZydisMnemonic)in->mnemonic));
		check_failures++;
		return -2;
	}
	if (setjmp(raise_jmp))
		return cpu->raised_vector;
	table[in->mnemonic](cpu, in);
	return -1;
}

static struct soft_operand R(unsigned reg, unsigned size)
{
	return (struct soft_operand){ .kind = SOFT_OP_REG, .size = size, .reg = reg };
}

static struct soft_operand R8H(unsigned reg)
{
	return (struct soft_operand){ .kind = SOFT_OP_REG8H, .size = 1, .reg = reg };
}

static struct soft_operand M(unsigned seg, unsigned base, int64_t disp, unsigned size)
{
	return (struct soft_operand){ .kind = SOFT_OP_MEM, .size = size, .seg = seg, .base = base,
				      .index = SOFT_NOREG, .scale = 1, .disp = disp };
}

static struct soft_operand I(uint64_t imm, unsigned size)
{
	return (struct soft_operand){ .kind = SOFT_OP_IMM, .size = size, .imm = imm };
}

static struct soft_insn insn(unsigned mnemonic, unsigned opsize, unsigned addrsize)
{
	return (struct soft_insn){ .mnemonic = mnemonic, .opsize = opsize, .addrsize = addrsize, .len = 2 };
}

static struct soft_insn insn1(unsigned mn, unsigned opsize, unsigned asz, struct soft_operand a)
{
	struct soft_insn in = insn(mn, opsize, asz);
	in.nops = 1;
	in.op[0] = a;
	return in;
}

static struct soft_insn insn2(unsigned mn, unsigned opsize, unsigned asz, struct soft_operand a,
			      struct soft_operand b)
{
	struct soft_insn in = insn1(mn, opsize, asz, a);
	in.nops = 2;
	in.op[1] = b;
	return in;
}

static void setup(struct soft_cpu *cpu, int bits)
{
	memset(cpu, 0, sizeof(*cpu));
	memset(mem, 0, sizeof(mem));
	/* No soft-TLB entry: memory goes through the stubs below (a zero tag would map page 0). */
	for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++)
		for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
			cpu->tlb[v][i].tag_read = cpu->tlb[v][i].tag_write = cpu->tlb[v][i].tag_exec = SOFT_TLB_INVALID;
	for (int i = 0; i < X86_NR_SREGS; i++)
		cpu->s.seg[i].limit = bits == 16 ? 0xffff : 0xffffffff;
	cpu->s.rflags = RFLAGS_FIXED;
	cpu->s.rip = cpu->insn_rip = 0x1000;
	if (bits == 64) {
		cpu->long_mode = true;
		cpu->s.efer = EFER_LME | EFER_LMA;
		cpu->s.cr0 = CR0_PE | CR0_PG;
		cpu->s.seg[X86_CS].attr = SEG_ATTR_L;
		cpu->code_size = 8;
	} else if (bits == 32) {
		cpu->s.cr0 = CR0_PE;
		cpu->s.seg[X86_CS].attr = SEG_ATTR_DB;
		cpu->s.seg[X86_SS].attr = SEG_ATTR_DB;
		cpu->code_size = 4;
	} else {
		cpu->code_size = 2;
	}
	io_count = 0;
}

static uint64_t rnd64(void)
{
	return (uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^ (uint64_t)random();
}

/* Random operand with a bias to the interesting edges (equal, 0, sign bit). */
static uint64_t rnd_op(uint64_t other, unsigned size)
{
	switch (random() % 6) {
	case 0: return other;
	case 1: return 0;
	case 2: return 1ULL << (size * 8 - 1);
	default: return rnd64();
	}
}

static uint64_t mem_rd(uint64_t lin, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, mem + lin, size);
	return v;
}

static void mem_wr(uint64_t lin, unsigned size, uint64_t v)
{
	memcpy(mem + lin, &v, size);
}

#define HOST_FLAGS_MASK SOFT_ARITH_FLAGS

/* ---- host oracles ---- */

/* Host CMP a, b at size: arithmetic flags. */
static uint64_t host_cmp(uint64_t a, uint64_t b, unsigned size)
{
	uint64_t f;
	switch (size) {
	case 1: __asm__("cmpb %b2, %b1\n\tpushfq\n\tpopq %0" : "=r"(f) : "q"(a), "q"(b) : "cc"); break;
	case 2: __asm__("cmpw %w2, %w1\n\tpushfq\n\tpopq %0" : "=r"(f) : "r"(a), "r"(b) : "cc"); break;
	case 4: __asm__("cmpl %k2, %k1\n\tpushfq\n\tpopq %0" : "=r"(f) : "r"(a), "r"(b) : "cc"); break;
	default: __asm__("cmpq %2, %1\n\tpushfq\n\tpopq %0" : "=r"(f) : "r"(a), "r"(b) : "cc"); break;
	}
	return f & HOST_FLAGS_MASK;
}

/* Host XADD src, dest (register forms); returns flags. */
static uint64_t host_xadd(uint64_t *dest, uint64_t *src, unsigned size)
{
	uint64_t f, d = *dest, s = *src;
	switch (size) {
	case 1: __asm__("xaddb %b1, %b0\n\tpushfq\n\tpopq %2" : "+q"(d), "+q"(s), "=r"(f) : : "cc"); break;
	case 2: __asm__("xaddw %w1, %w0\n\tpushfq\n\tpopq %2" : "+r"(d), "+r"(s), "=r"(f) : : "cc"); break;
	case 4: __asm__("xaddl %k1, %k0\n\tpushfq\n\tpopq %2" : "+r"(d), "+r"(s), "=r"(f) : : "cc"); break;
	default: __asm__("xaddq %1, %0\n\tpushfq\n\tpopq %2" : "+r"(d), "+r"(s), "=r"(f) : : "cc"); break;
	}
	*dest = d;
	*src = s;
	return f & HOST_FLAGS_MASK;
}

/* Host CMPXCHG src, dest with accumulator acc (register forms); returns flags. */
static uint64_t host_cmpxchg(uint64_t *dest, uint64_t src, uint64_t *acc, unsigned size)
{
	uint64_t f, d = *dest, a = *acc;
	switch (size) {
	case 1: __asm__("cmpxchgb %b3, %b1\n\tpushfq\n\tpopq %2" : "+a"(a), "+q"(d), "=r"(f) : "q"(src) : "cc"); break;
	case 2: __asm__("cmpxchgw %w3, %w1\n\tpushfq\n\tpopq %2" : "+a"(a), "+r"(d), "=r"(f) : "r"(src) : "cc"); break;
	case 4: __asm__("cmpxchgl %k3, %k1\n\tpushfq\n\tpopq %2" : "+a"(a), "+r"(d), "=r"(f) : "r"(src) : "cc"); break;
	default: __asm__("cmpxchgq %3, %1\n\tpushfq\n\tpopq %2" : "+a"(a), "+r"(d), "=r"(f) : "r"(src) : "cc"); break;
	}
	*dest = d;
	*acc = a;
	return f & HOST_FLAGS_MASK;
}


/* ---- move.c ---- */

static void test_mov_forms(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	cpu->s.gpr[X86_RAX] = 0x1111111111111111ULL;
	in = insn2(ZYDIS_MNEMONIC_MOV, 8, 8, R(X86_RAX, 8), I(0xffffffffffffff80ULL, 4));
	CHECK_EQ(run(cpu, &in), -1);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffffffffffff80ULL);
	in = insn2(ZYDIS_MNEMONIC_MOV, 4, 8, R(X86_RAX, 4), I(0x12345678, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x12345678);
	in = insn2(ZYDIS_MNEMONIC_MOV, 1, 8, R8H(X86_RAX), I(0xab, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x1234ab78);
	in = insn2(ZYDIS_MNEMONIC_MOV, 2, 8, R(X86_RAX, 2), I(0xffff, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x1234ffff);
	/* moffs: [disp] with no base */
	mem_wr(0x300, 8, 0x0123456789abcdefULL);
	in = insn2(ZYDIS_MNEMONIC_MOV, 8, 8, R(X86_RCX, 8), M(X86_DS, SOFT_NOREG, 0x300, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0x0123456789abcdefULL);
	in = insn2(ZYDIS_MNEMONIC_MOV, 2, 8, M(X86_DS, X86_RBX, 0x10, 2), R(X86_RCX, 2));
	cpu->s.gpr[X86_RBX] = 0x400;
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x410, 4), 0xcdef);
	/* MOV with a segment register reaching here is a routing bug: #UD, nothing written */
	in = insn2(ZYDIS_MNEMONIC_MOV, 2, 8, R(X86_RAX, 2), (struct soft_operand){ .kind = SOFT_OP_SREG, .size = 2 });
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);

	/* MOVZX / MOVSX / MOVSXD */
	cpu->s.gpr[X86_RCX] = 0x8081;
	cpu->s.gpr[X86_RAX] = ~0ULL;
	in = insn2(ZYDIS_MNEMONIC_MOVZX, 4, 8, R(X86_RAX, 4), R(X86_RCX, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x81);
	in = insn2(ZYDIS_MNEMONIC_MOVSX, 8, 8, R(X86_RAX, 8), R(X86_RCX, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffffffffff8081ULL);
	in = insn2(ZYDIS_MNEMONIC_MOVSX, 2, 8, R(X86_RAX, 2), R8H(X86_RCX));
	cpu->s.gpr[X86_RAX] = 0;
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xff80);
	cpu->s.gpr[X86_RCX] = 0x80000000;
	in = insn2(ZYDIS_MNEMONIC_MOVSXD, 8, 8, R(X86_RAX, 8), R(X86_RCX, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffffff80000000ULL);

	/* LEA: no memory access, address-size then operand-size truncation */
	cpu->s.gpr[X86_RBX] = 0xfffffffffffffff0ULL;
	in = insn2(ZYDIS_MNEMONIC_LEA, 8, 8, R(X86_RAX, 8), M(X86_DS, X86_RBX, 0x7fff0000, 8));
	CHECK_EQ(run(cpu, &in), -1);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x7ffefff0);
	in = insn2(ZYDIS_MNEMONIC_LEA, 2, 4, R(X86_RAX, 2), M(X86_DS, X86_RBX, 0x20, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x7ffe0010);
	in = insn2(ZYDIS_MNEMONIC_LEA, 4, 2, R(X86_RAX, 4), M(X86_DS, X86_RBX, 0x20, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x10);
	in = insn2(ZYDIS_MNEMONIC_LEA, 8, 8, R(X86_RAX, 8), R(X86_RBX, 8));
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);

	/* MOVBE both directions, 16/32/64 */
	mem_wr(0x500, 8, 0x0102030405060708ULL);
	cpu->s.gpr[X86_RAX] = 0xaaaaaaaaaaaaaaaaULL;
	in = insn2(ZYDIS_MNEMONIC_MOVBE, 2, 8, R(X86_RAX, 2), M(X86_DS, SOFT_NOREG, 0x500, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xaaaaaaaaaaaa0807ULL);
	in = insn2(ZYDIS_MNEMONIC_MOVBE, 4, 8, R(X86_RAX, 4), M(X86_DS, SOFT_NOREG, 0x500, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x08070605);
	in = insn2(ZYDIS_MNEMONIC_MOVBE, 8, 8, M(X86_DS, SOFT_NOREG, 0x508, 8), R(X86_RCX, 8));
	cpu->s.gpr[X86_RCX] = 0x1122334455667788ULL;
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x508, 8), 0x8877665544332211ULL);
}

static void test_xchg_xadd_cmpxchg(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	srandom(1);
	setup(cpu, 64);
	for (int iter = 0; iter < 2000; iter++) {
		unsigned size = sizes[iter & 3];
		uint64_t d = rnd64(), s = rnd_op(d, size), a = rnd_op(d, size);
		uint64_t hd = d, hs = s, ha = a, f;

		/* XADD ecx(dest), edx(src) */
		cpu->s.gpr[X86_RCX] = d;
		cpu->s.gpr[X86_RDX] = s;
		cpu->s.rflags = RFLAGS_FIXED;
		in = insn2(ZYDIS_MNEMONIC_XADD, size, 8, R(X86_RCX, size), R(X86_RDX, size));
		run(cpu, &in);
		f = host_xadd(&hd, &hs, size);
		CHECK_EQ(cpu->s.gpr[X86_RCX], hd);
		CHECK_EQ(cpu->s.gpr[X86_RDX], hs);
		CHECK_EQ(cpu->s.rflags & HOST_FLAGS_MASK, f);

		/* CMPXCHG ecx(dest), edx(src), accumulator eax */
		hd = d;
		hs = s;
		cpu->s.gpr[X86_RCX] = d;
		cpu->s.gpr[X86_RDX] = s;
		cpu->s.gpr[X86_RAX] = a;
		in = insn2(ZYDIS_MNEMONIC_CMPXCHG, size, 8, R(X86_RCX, size), R(X86_RDX, size));
		run(cpu, &in);
		f = host_cmpxchg(&hd, hs, &ha, size);
		CHECK_EQ(cpu->s.gpr[X86_RCX], hd);
		CHECK_EQ(cpu->s.gpr[X86_RAX], ha);
		CHECK_EQ(cpu->s.rflags & HOST_FLAGS_MASK, f);
		if (check_failures)
			return;
	}
	/* XADD with both operands the same register: the sum wins */
	cpu->s.gpr[X86_RAX] = 0xaaaaaaaa00000002ULL;
	in = insn2(ZYDIS_MNEMONIC_XADD, 4, 8, R(X86_RAX, 4), R(X86_RAX, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 4);

	/* CMPXCHG with memory: a mismatch writes back (a read-only page would fault) */
	mem_wr(0x600, 4, 5);
	cpu->s.gpr[X86_RAX] = 6;
	cpu->s.gpr[X86_RDX] = 9;
	in = insn2(ZYDIS_MNEMONIC_CMPXCHG, 4, 8, M(X86_DS, SOFT_NOREG, 0x600, 4), R(X86_RDX, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 5);
	CHECK(!(cpu->s.rflags & RFLAGS_ZF));
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x600, 4), 9);
	CHECK(cpu->s.rflags & RFLAGS_ZF);
	/* faulting CMPXCHG leaves the accumulator alone */
	cpu->s.gpr[X86_RAX] = 1;
	in = insn2(ZYDIS_MNEMONIC_CMPXCHG, 4, 8, M(X86_DS, SOFT_NOREG, MEM_SIZE - 2, 4), R(X86_RDX, 4));
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 1);

	/* XCHG memory/register, and 32-bit register zero-extension */
	mem_wr(0x700, 8, 0x1122334455667788ULL);
	cpu->s.gpr[X86_RBX] = 0xa5a5a5a5a5a5a5a5ULL;
	in = insn2(ZYDIS_MNEMONIC_XCHG, 8, 8, M(X86_DS, SOFT_NOREG, 0x700, 8), R(X86_RBX, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RBX], 0x1122334455667788ULL);
	CHECK_EQ(mem_rd(0x700, 8), 0xa5a5a5a5a5a5a5a5ULL);
	cpu->s.gpr[X86_RAX] = 0xffffffff00000001ULL;
	cpu->s.gpr[X86_R8] = 0xeeeeeeee00000002ULL;
	in = insn2(ZYDIS_MNEMONIC_XCHG, 4, 8, R(X86_R8, 4), R(X86_RAX, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 2);
	CHECK_EQ(cpu->s.gpr[X86_R8], 1);

	/* CMPXCHG8B: match and mismatch (upper halves of RAX/RDX cleared on mismatch) */
	mem_wr(0x800, 8, 0x2222222211111111ULL);
	cpu->s.gpr[X86_RAX] = 0x11111111;
	cpu->s.gpr[X86_RDX] = 0x22222222;
	cpu->s.gpr[X86_RBX] = 0x33333333;
	cpu->s.gpr[X86_RCX] = 0x44444444;
	in = insn1(ZYDIS_MNEMONIC_CMPXCHG8B, 4, 8, M(X86_DS, SOFT_NOREG, 0x800, 8));
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x800, 8), 0x4444444433333333ULL);
	CHECK(cpu->s.rflags & RFLAGS_ZF);
	cpu->s.gpr[X86_RAX] = 0xffffffff00000000ULL;
	run(cpu, &in);
	CHECK(!(cpu->s.rflags & RFLAGS_ZF));
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x33333333);
	CHECK_EQ(cpu->s.gpr[X86_RDX], 0x44444444);
	/* CMPXCHG16B: alignment, match */
	in = insn1(ZYDIS_MNEMONIC_CMPXCHG16B, 8, 8, M(X86_DS, SOFT_NOREG, 0x908, 16));
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	mem_wr(0x900, 8, 1);
	mem_wr(0x908, 8, 2);
	cpu->s.gpr[X86_RAX] = 1;
	cpu->s.gpr[X86_RDX] = 2;
	cpu->s.gpr[X86_RBX] = 0x1234567812345678ULL;
	cpu->s.gpr[X86_RCX] = 0x8765432187654321ULL;
	in = insn1(ZYDIS_MNEMONIC_CMPXCHG16B, 8, 8, M(X86_DS, SOFT_NOREG, 0x900, 16));
	CHECK_EQ(run(cpu, &in), -1);
	CHECK(cpu->s.rflags & RFLAGS_ZF);
	CHECK_EQ(mem_rd(0x900, 8), 0x1234567812345678ULL);
	CHECK_EQ(mem_rd(0x908, 8), 0x8765432187654321ULL);
	run(cpu, &in);
	CHECK(!(cpu->s.rflags & RFLAGS_ZF));
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x1234567812345678ULL);
	CHECK_EQ(cpu->s.gpr[X86_RDX], 0x8765432187654321ULL);
}

static void test_cmov_setcc(void)
{
	static const uint16_t cmov[16] = {
		ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
		ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
		ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
		ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
	};
	static const uint16_t setcc[16] = {
		ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
		ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
		ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
		ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
	};
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	for (unsigned cc = 0; cc < 16; cc++) {
		for (unsigned fl = 0; fl < 32; fl++) {
			uint64_t flags = RFLAGS_FIXED | ((fl & 1) ? RFLAGS_CF : 0) | ((fl & 2) ? RFLAGS_ZF : 0) |
					 ((fl & 4) ? RFLAGS_SF : 0) | ((fl & 8) ? RFLAGS_OF : 0) |
					 ((fl & 16) ? RFLAGS_PF : 0);
			bool taken;

			cpu->s.rflags = flags;
			cpu->s.gpr[X86_RAX] = 0x1111111122222222ULL;
			cpu->s.gpr[X86_RCX] = 0x3333333344444444ULL;
			in = insn2(cmov[cc], 4, 8, R(X86_RAX, 4), R(X86_RCX, 4));
			in.opcode = 0x40 + cc;
			run(cpu, &in);
			taken = soft_cond(cpu, cc);
			/* 32-bit CMOV zero-extends the destination either way */
			CHECK_EQ(cpu->s.gpr[X86_RAX], taken ? 0x44444444 : 0x22222222);
			in = insn2(cmov[cc], 8, 8, R(X86_RAX, 8), R(X86_RCX, 8));
			in.opcode = 0x40 + cc;
			cpu->s.gpr[X86_RAX] = 0x1111111122222222ULL;
			run(cpu, &in);
			CHECK_EQ(cpu->s.gpr[X86_RAX], taken ? 0x3333333344444444ULL : 0x1111111122222222ULL);
			in = insn1(setcc[cc], 1, 8, R(X86_RDX, 1));
			in.opcode = 0x90 + cc;
			cpu->s.gpr[X86_RDX] = 0xff00;
			run(cpu, &in);
			CHECK_EQ(cpu->s.gpr[X86_RDX], 0xff00u | taken);
		}
	}
	/* the host agrees on the 32-bit zero extension of a false CMOV */
	{
		uint64_t a = 0x1111111122222222ULL, b = 0x3333333344444444ULL;
		__asm__("xor %%edx, %%edx\n\tinc %%edx\n\tcmovz %k1, %k0" : "+r"(a) : "r"(b) : "rdx", "cc");
		CHECK_EQ(a, 0x22222222);
	}
	/* a memory source faults even when the condition is false */
	cpu->s.rflags = RFLAGS_FIXED;
	in = insn2(ZYDIS_MNEMONIC_CMOVZ, 4, 8, R(X86_RAX, 4), M(X86_DS, SOFT_NOREG, MEM_SIZE, 4));
	in.opcode = 0x44;
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
}

static void test_misc_move(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	cpu->s.gpr[X86_RAX] = 0x1234567880818283ULL;
	in = insn(ZYDIS_MNEMONIC_CBW, 2, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x123456788081ff83ULL);
	in = insn(ZYDIS_MNEMONIC_CWDE, 4, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffff83ULL);
	in = insn(ZYDIS_MNEMONIC_CDQE, 8, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], ~0ULL - 0x7c);
	cpu->s.gpr[X86_RDX] = 0x5555555555555555ULL;
	in = insn(ZYDIS_MNEMONIC_CWD, 2, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RDX], 0x555555555555ffffULL);
	cpu->s.gpr[X86_RAX] = 0x7fffffff;
	in = insn(ZYDIS_MNEMONIC_CDQ, 4, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RDX], 0);
	cpu->s.gpr[X86_RAX] = 1ULL << 63;
	in = insn(ZYDIS_MNEMONIC_CQO, 8, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RDX], ~0ULL);

	/* LAHF / SAHF */
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_SF | RFLAGS_CF | RFLAGS_OF | RFLAGS_DF;
	cpu->s.gpr[X86_RAX] = 0;
	in = insn(ZYDIS_MNEMONIC_LAHF, 4, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x8300);
	cpu->s.gpr[X86_RAX] = 0xff00;
	in = insn(ZYDIS_MNEMONIC_SAHF, 4, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, RFLAGS_FIXED | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF |
					RFLAGS_OF | RFLAGS_DF);

	/* CLC STC CMC CLD STD */
	in = insn(ZYDIS_MNEMONIC_CLC, 4, 8);
	run(cpu, &in);
	CHECK(!(cpu->s.rflags & RFLAGS_CF));
	in = insn(ZYDIS_MNEMONIC_CMC, 4, 8);
	run(cpu, &in);
	CHECK(cpu->s.rflags & RFLAGS_CF);
	in = insn(ZYDIS_MNEMONIC_CLD, 4, 8);
	run(cpu, &in);
	CHECK(!(cpu->s.rflags & RFLAGS_DF));
	in = insn(ZYDIS_MNEMONIC_STD, 4, 8);
	run(cpu, &in);
	CHECK(cpu->s.rflags & RFLAGS_DF);
	in = insn(ZYDIS_MNEMONIC_STC, 4, 8);
	cpu->s.rflags &= ~RFLAGS_CF;
	run(cpu, &in);
	CHECK(cpu->s.rflags & RFLAGS_CF);

	/* NOP forms: nothing changes, no memory access even for a bad address */
	{
		struct x86_cpu_state before = cpu->s;
		in = insn(ZYDIS_MNEMONIC_NOP, 4, 8);
		CHECK_EQ(run(cpu, &in), -1);
		in = insn(ZYDIS_MNEMONIC_PAUSE, 4, 8);
		CHECK_EQ(run(cpu, &in), -1);
		in = insn2(ZYDIS_MNEMONIC_NOP, 4, 8, M(X86_DS, SOFT_NOREG, MEM_SIZE * 2, 4), R(X86_RAX, 4));
		CHECK_EQ(run(cpu, &in), -1);
		CHECK(memcmp(&before, &cpu->s, sizeof(before)) == 0);
	}

	/* XLAT: [rBX + AL], with the address size and an FS override through the hidden operand */
	mem[0x1100 + 0x80] = 0x5a;
	cpu->s.gpr[X86_RBX] = 0x1100;
	cpu->s.gpr[X86_RAX] = 0xffffff80;
	in = insn(ZYDIS_MNEMONIC_XLAT, 4, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffff5a);
	cpu->s.seg[X86_FS].base = 0x100;
	mem[0x1200 + 0x10] = 0x77;
	cpu->s.gpr[X86_RAX] = 0x10;
	in.op[0] = M(X86_FS, X86_RBX, 0, 1);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x77);

	/* BOUND (32-bit mode) */
	setup(cpu, 32);
	mem_wr(0x200, 4, (uint32_t)-5);
	mem_wr(0x204, 4, 10);
	for (int idx = -7; idx <= 12; idx++) {
		cpu->s.gpr[X86_RCX] = (uint32_t)idx;
		in = insn2(ZYDIS_MNEMONIC_BOUND, 4, 4, R(X86_RCX, 4), M(X86_DS, SOFT_NOREG, 0x200, 8));
		CHECK_EQ(run(cpu, &in), (idx < -5 || idx > 10) ? X86_EXC_BR : -1);
	}
	mem_wr(0x300, 2, 0x10);
	mem_wr(0x302, 2, 0x20);
	cpu->s.gpr[X86_RCX] = 0xffff0015;
	in = insn2(ZYDIS_MNEMONIC_BOUND, 2, 4, R(X86_RCX, 2), M(X86_DS, SOFT_NOREG, 0x300, 4));
	CHECK_EQ(run(cpu, &in), -1);
}

/* ---- string.c ---- */

static struct soft_insn str_insn(unsigned mn, unsigned size, unsigned asz, unsigned flags, uint8_t opcode)
{
	struct soft_insn in = insn(mn, size, asz);
	in.flags = (uint8_t)flags;
	in.opcode = opcode;
	return in;
}

static void test_string_movs_stos_lods(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	for (unsigned i = 0; i < 64; i++)
		mem[0x2000 + i] = (uint8_t)(i + 1);
	/* REP count 0: nothing, registers untouched */
	cpu->s.gpr[X86_RSI] = 0x2000;
	cpu->s.gpr[X86_RDI] = 0x3000;
	cpu->s.gpr[X86_RCX] = 0;
	in = str_insn(ZYDIS_MNEMONIC_MOVSB, 1, 8, SOFT_INSN_REP, 0xa4);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x2000);
	CHECK_EQ(mem[0x3000], 0);
	/* count 1, then many, dword */
	cpu->s.gpr[X86_RCX] = 1;
	run(cpu, &in);
	CHECK_EQ(mem[0x3000], 1);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x2001);
	in = str_insn(ZYDIS_MNEMONIC_MOVSD, 4, 8, SOFT_INSN_REP, 0xa5);
	cpu->s.gpr[X86_RSI] = 0x2000;
	cpu->s.gpr[X86_RDI] = 0x3000;
	cpu->s.gpr[X86_RCX] = 16;
	run(cpu, &in);
	CHECK(memcmp(mem + 0x2000, mem + 0x3000, 64) == 0);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x3040);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0);
	/* no REP: one element, RCX untouched */
	cpu->s.gpr[X86_RCX] = 7;
	in = str_insn(ZYDIS_MNEMONIC_MOVSQ, 8, 8, 0, 0xa5);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 7);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x2048);
	/* the SSE MOVSD form is not ours */
	in = str_insn(ZYDIS_MNEMONIC_MOVSD, 4, 8, 0, 0x10);
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);

	/* DF=1 STOSW backwards */
	cpu->s.rflags |= RFLAGS_DF;
	cpu->s.gpr[X86_RAX] = 0xbeef;
	cpu->s.gpr[X86_RDI] = 0x4006;
	cpu->s.gpr[X86_RCX] = 4;
	in = str_insn(ZYDIS_MNEMONIC_STOSW, 2, 8, SOFT_INSN_REP, 0xab);
	run(cpu, &in);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(mem_rd(0x4000 + 2 * i, 2), 0xbeef);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x3ffe);
	/* LODS with DF=1 and a GS override passed as the hidden [rSI] operand */
	cpu->s.seg[X86_GS].base = 0x1000;
	mem_wr(0x5010, 4, 0xcafef00d);
	cpu->s.gpr[X86_RSI] = 0x4010;
	in = str_insn(ZYDIS_MNEMONIC_LODSD, 4, 8, 0, 0xad);
	in.op[1] = M(X86_GS, X86_RSI, 0, 4);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xcafef00d);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x400c);
	cpu->s.rflags &= ~RFLAGS_DF;

	/* 16-bit address size: SI/DI wrap at 64 KiB and the upper bits stay */
	setup(cpu, 16);
	cpu->s.seg[X86_DS].base = 0x10000;
	cpu->s.seg[X86_ES].base = 0x0;
	for (unsigned i = 0; i < 4; i++)
		mem[0x10000 + ((0xfffe + i) & 0xffff)] = (uint8_t)(0xa0 + i);
	cpu->s.gpr[X86_RSI] = 0xabcd0000fffeULL;
	cpu->s.gpr[X86_RDI] = 0x2000;
	cpu->s.gpr[X86_RCX] = 0x12340004;
	in = str_insn(ZYDIS_MNEMONIC_MOVSB, 1, 2, SOFT_INSN_REP, 0xa4);
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x2000, 4), 0xa3a2a1a0);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0xabcd00000002ULL);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0x12340000);

	/* a fault part-way leaves RCX/RSI/RDI at the elements done */
	setup(cpu, 64);
	cpu->s.gpr[X86_RSI] = 0x100;
	cpu->s.gpr[X86_RDI] = MEM_SIZE - 8;
	cpu->s.gpr[X86_RCX] = 5;
	in = str_insn(ZYDIS_MNEMONIC_MOVSW, 2, 8, SOFT_INSN_REP, 0xa5);
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 1);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x108);
	CHECK_EQ(cpu->s.gpr[X86_RDI], MEM_SIZE);

	/* a long REP yields after a batch and re-executes itself */
	setup(cpu, 64);
	cpu->s.gpr[X86_RDI] = 0x100;
	cpu->s.gpr[X86_RCX] = 10000;
	cpu->s.rip = 0x1002;
	in = str_insn(ZYDIS_MNEMONIC_STOSB, 1, 8, SOFT_INSN_REP, 0xaa);
	run(cpu, &in);
	CHECK(cpu->s.gpr[X86_RCX] > 0 && cpu->s.gpr[X86_RCX] < 10000);
	CHECK_EQ(cpu->s.rip, cpu->insn_rip);
	CHECK(cpu->end_block);
	for (int guard = 0; guard < 10 && cpu->s.gpr[X86_RCX]; guard++) {
		cpu->s.rip = 0x1002;
		run(cpu, &in);
	}
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0);
	CHECK_EQ(cpu->s.rip, 0x1002);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x100 + 10000);
}

/* Host REPE/REPNE CMPSB / SCASB over host buffers: the oracle for stops and flags. */
static void host_rep_cmps(const uint8_t *a, const uint8_t *b, uint64_t n, bool repne, uint64_t *left,
			  uint64_t *flags)
{
	const uint8_t *s = a, *d = b;
	uint64_t f;
	if (repne)
		__asm__ volatile("cmp %%eax, %%eax\n\trepne cmpsb\n\tpushfq\n\tpopq %3"
				 : "+S"(s), "+D"(d), "+c"(n), "=r"(f) : : "rax", "cc", "memory");
	else
		__asm__ volatile("cmp %%eax, %%eax\n\trepe cmpsb\n\tpushfq\n\tpopq %3"
				 : "+S"(s), "+D"(d), "+c"(n), "=r"(f) : : "rax", "cc", "memory");
	*left = n;
	*flags = f & HOST_FLAGS_MASK;
}

static void test_string_cmps_scas(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static const uint16_t cmps[] = { ZYDIS_MNEMONIC_CMPSB, ZYDIS_MNEMONIC_CMPSW, ZYDIS_MNEMONIC_CMPSD,
					 ZYDIS_MNEMONIC_CMPSQ };
	static const uint16_t scas[] = { ZYDIS_MNEMONIC_SCASB, ZYDIS_MNEMONIC_SCASW, ZYDIS_MNEMONIC_SCASD,
					 ZYDIS_MNEMONIC_SCASQ };

	srandom(2);
	setup(cpu, 64);
	/* single compares: flags against the host CMP */
	for (int iter = 0; iter < 2000; iter++) {
		unsigned k = iter & 3, size = sizes[k];
		uint64_t a = rnd64(), b = rnd_op(a, size);
		mem_wr(0x100, 8, a);
		mem_wr(0x200, 8, b);
		cpu->s.gpr[X86_RSI] = 0x100;
		cpu->s.gpr[X86_RDI] = 0x200;
		cpu->s.rflags = RFLAGS_FIXED;
		in = str_insn(cmps[k], size, 8, 0, size == 1 ? 0xa6 : 0xa7);
		run(cpu, &in);
		CHECK_EQ(cpu->s.rflags & HOST_FLAGS_MASK, host_cmp(a, b, size));
		CHECK_EQ(cpu->s.gpr[X86_RSI], 0x100 + size);
		cpu->s.gpr[X86_RAX] = a;
		cpu->s.gpr[X86_RDI] = 0x200;
		in = str_insn(scas[k], size, 8, 0, size == 1 ? 0xae : 0xaf);
		run(cpu, &in);
		CHECK_EQ(cpu->s.rflags & HOST_FLAGS_MASK, host_cmp(a, b, size));
		CHECK_EQ(cpu->s.gpr[X86_RDI], 0x200 + size);
		if (check_failures)
			return;
	}
	/* REPE / REPNE CMPSB stop where the host stops */
	for (int iter = 0; iter < 300; iter++) {
		uint8_t a[64], b[64];
		uint64_t n = (uint64_t)(random() % 40), left, f;
		bool repne = iter & 1;
		for (unsigned i = 0; i < 64; i++) {
			a[i] = (uint8_t)(random() % 3);
			b[i] = (uint8_t)(random() % 3);
		}
		memcpy(mem + 0x100, a, 64);
		memcpy(mem + 0x200, b, 64);
		host_rep_cmps(a, b, n, repne, &left, &f);
		cpu->s.gpr[X86_RSI] = 0x100;
		cpu->s.gpr[X86_RDI] = 0x200;
		cpu->s.gpr[X86_RCX] = n;
		cpu->s.rflags = RFLAGS_FIXED | RFLAGS_ZF | RFLAGS_PF; /* the host's cmp eax,eax state */
		in = str_insn(ZYDIS_MNEMONIC_CMPSB, 1, 8, repne ? SOFT_INSN_REPNE : SOFT_INSN_REP, 0xa6);
		run(cpu, &in);
		CHECK_EQ(cpu->s.gpr[X86_RCX], left);
		CHECK_EQ(cpu->s.gpr[X86_RSI], 0x100 + n - left);
		CHECK_EQ(cpu->s.rflags & HOST_FLAGS_MASK, f);
		if (check_failures)
			return;
	}
	/* REPNE SCASB: strlen-style search */
	memcpy(mem + 0x300, "hello\0world", 12);
	cpu->s.gpr[X86_RAX] = 0;
	cpu->s.gpr[X86_RDI] = 0x300;
	cpu->s.gpr[X86_RCX] = ~0ULL;
	in = str_insn(ZYDIS_MNEMONIC_SCASB, 1, 8, SOFT_INSN_REPNE, 0xae);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x306);
	CHECK_EQ(~cpu->s.gpr[X86_RCX] - 1, 5);
	/* REPE with a 32-bit address size in 64-bit mode zero-extends RSI/RDI/RCX */
	cpu->s.gpr[X86_RSI] = 0xffffffff00000100ULL;
	cpu->s.gpr[X86_RDI] = 0xffffffff00000100ULL;
	cpu->s.gpr[X86_RCX] = 0xffffffff00000002ULL;
	in = str_insn(ZYDIS_MNEMONIC_CMPSW, 2, 4, SOFT_INSN_REP, 0xa7);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x104);
	in = str_insn(ZYDIS_MNEMONIC_CMPSD, 4, 8, 0, 0xc2);
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);
}

static void test_string_io(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 32);
	cpu->s.gpr[X86_RDX] = 0x3f8;
	cpu->s.gpr[X86_RDI] = 0x100;
	cpu->s.gpr[X86_RCX] = 3;
	io_next = 0x41;
	in = str_insn(ZYDIS_MNEMONIC_INSB, 1, 4, SOFT_INSN_REP, 0x6c);
	run(cpu, &in);
	CHECK_EQ(io_count, 3);
	CHECK_EQ(mem_rd(0x100, 3), 0x434241);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x103);
	/* INS to an unwritable destination faults before the port is read */
	io_count = 0;
	cpu->s.gpr[X86_RDI] = MEM_SIZE - 2;
	cpu->s.gpr[X86_RCX] = 1;
	in = str_insn(ZYDIS_MNEMONIC_INSD, 4, 4, SOFT_INSN_REP, 0x6d);
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(io_count, 0);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 1);
	/* OUTSW with DF=1 */
	io_count = 0;
	cpu->s.rflags |= RFLAGS_DF;
	mem_wr(0x200, 4, 0x22221111);
	cpu->s.gpr[X86_RSI] = 0x202;
	cpu->s.gpr[X86_RCX] = 2;
	in = str_insn(ZYDIS_MNEMONIC_OUTSW, 2, 4, SOFT_INSN_REP, 0x6f);
	run(cpu, &in);
	CHECK_EQ(io_count, 2);
	CHECK_EQ(io_log[0].value, 0x2222);
	CHECK_EQ(io_log[1].value, 0x1111);
	CHECK_EQ(io_log[1].port, 0x3f8);
	CHECK_EQ(cpu->s.gpr[X86_RSI], 0x1fe);
	in = str_insn(ZYDIS_MNEMONIC_OUTSB, 1, 4, 0, 0x6e);
	cpu->s.gpr[X86_RSI] = 0x203;
	run(cpu, &in);
	CHECK_EQ(io_log[2].value, 0x22);
	in = str_insn(ZYDIS_MNEMONIC_OUTSD, 4, 4, 0, 0x6f);
	run(cpu, &in);
	CHECK_EQ(io_log[3].size, 4);
	in = str_insn(ZYDIS_MNEMONIC_INSW, 2, 4, 0, 0x6d);
	cpu->s.gpr[X86_RDI] = 0x300;
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RDI], 0x2fe);
}

/* ---- stack.c ---- */

static void test_push_pop(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	cpu->s.gpr[X86_RSP] = 0x8000;
	in = insn1(ZYDIS_MNEMONIC_PUSH, 8, 8, I(0xffffffffffffff80ULL, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7ff8);
	CHECK_EQ(mem_rd(0x7ff8, 8), 0xffffffffffffff80ULL);
	/* PUSH RSP stores the old value */
	in = insn1(ZYDIS_MNEMONIC_PUSH, 8, 8, R(X86_RSP, 8));
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x7ff0, 8), 0x7ff8);
	/* PUSH [RSP+8]: address from the old RSP */
	in = insn1(ZYDIS_MNEMONIC_PUSH, 8, 8, M(X86_SS, X86_RSP, 8, 8));
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x7fe8, 8), 0xffffffffffffff80ULL);
	/* 16-bit push in 64-bit mode */
	in = insn1(ZYDIS_MNEMONIC_PUSH, 2, 8, I(0x1234, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7fe6);
	CHECK_EQ(mem_rd(0x7fe6, 2), 0x1234);
	in = insn1(ZYDIS_MNEMONIC_POP, 2, 8, R(X86_RAX, 2));
	cpu->s.gpr[X86_RAX] = 0xffffffffffffffffULL;
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0xffffffffffff1234ULL);
	/* PUSH FS */
	cpu->s.seg[X86_FS].selector = 0x2b;
	in = insn1(ZYDIS_MNEMONIC_PUSH, 8, 8, (struct soft_operand){ .kind = SOFT_OP_SREG, .size = 2, .reg = X86_FS });
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x7fe0, 8), 0x2b);
	in = insn1(ZYDIS_MNEMONIC_POP, 8, 8, R(X86_RBX, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RBX], 0x2b);
	/* POP [RSP]: the address uses the incremented RSP */
	cpu->s.gpr[X86_RSP] = 0x7ff0;
	in = insn1(ZYDIS_MNEMONIC_POP, 8, 8, M(X86_SS, X86_RSP, 0, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7ff8);
	CHECK_EQ(mem_rd(0x7ff8, 8), 0x7ff8);
	/* POP to an unwritable place leaves RSP alone */
	in = insn1(ZYDIS_MNEMONIC_POP, 8, 8, M(X86_DS, SOFT_NOREG, MEM_SIZE - 4, 8));
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7ff8);
	/* POP RSP: the popped value wins */
	mem_wr(0x7ff8, 8, 0x4444);
	in = insn1(ZYDIS_MNEMONIC_POP, 8, 8, R(X86_RSP, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x4444);
	/* POP SREG is not ours */
	in = insn1(ZYDIS_MNEMONIC_POP, 8, 8, (struct soft_operand){ .kind = SOFT_OP_SREG, .size = 2, .reg = X86_FS });
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x4444);

	/* 16-bit stack wraps: real mode SP=0 */
	setup(cpu, 16);
	cpu->s.seg[X86_SS].base = 0x10000;
	cpu->s.gpr[X86_RSP] = 0xdead0000;
	in = insn1(ZYDIS_MNEMONIC_PUSH, 2, 2, I(0x5678, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0xdeadfffe);
	CHECK_EQ(mem_rd(0x1fffe, 2), 0x5678);
	/* a dword at SP=FFFE crosses the segment limit: #SS, SP kept */
	in = insn1(ZYDIS_MNEMONIC_POP, 4, 2, R(X86_RAX, 4));
	CHECK_EQ(run(cpu, &in), X86_EXC_SS);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0xdeadfffe);
	in = insn1(ZYDIS_MNEMONIC_POP, 2, 2, R(X86_RAX, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 0x5678);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0xdead0000);
}

static void test_pusha_popa(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	for (unsigned size = 2; size <= 4; size += 2) {
		setup(cpu, 32);
		for (unsigned r = 0; r < 8; r++)
			cpu->s.gpr[r] = 0x11111111u * (r + 1);
		cpu->s.gpr[X86_RSP] = 0x1000;
		in = insn(size == 2 ? ZYDIS_MNEMONIC_PUSHA : ZYDIS_MNEMONIC_PUSHAD, size, 4);
		run(cpu, &in);
		CHECK_EQ(cpu->s.gpr[X86_RSP], 0x1000 - 8 * size);
		/* image, low to high: DI SI BP SP(original) BX DX CX AX */
		for (unsigned r = 0; r < 8; r++) {
			uint64_t want = r == X86_RSP ? 0x1000 : 0x11111111u * (r + 1);
			CHECK_EQ(mem_rd(0x1000 - size * (r + 1), size), want & soft_size_mask(size));
		}
		for (unsigned r = 0; r < 8; r++)
			if (r != X86_RSP)
				cpu->s.gpr[r] = 0;
		mem_wr(0x1000 - 5 * size, size, 0x7777); /* saved SP is discarded */
		in = insn(size == 2 ? ZYDIS_MNEMONIC_POPA : ZYDIS_MNEMONIC_POPAD, size, 4);
		run(cpu, &in);
		CHECK_EQ(cpu->s.gpr[X86_RSP], 0x1000);
		for (unsigned r = 0; r < 8; r++)
			if (r != X86_RSP)
				CHECK_EQ(cpu->s.gpr[r], (0x11111111u * (r + 1)) & soft_size_mask(size));
	}
	/* PUSHA faulting half-way (ESP wraps past the end of memory) leaves ESP unchanged */
	setup(cpu, 32);
	cpu->s.gpr[X86_RSP] = 0x10;
	in = insn(ZYDIS_MNEMONIC_PUSHAD, 4, 4);
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x10);
}

static void test_pushf_popf(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;
	uint64_t all = 0x3f7fd5; /* every defined flag bit */

	setup(cpu, 64);
	cpu->s.gpr[X86_RSP] = 0x8000;
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_RF | RFLAGS_IF | RFLAGS_CF;
	in = insn(ZYDIS_MNEMONIC_PUSHFQ, 8, 8);
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x7ff8, 8), RFLAGS_FIXED | RFLAGS_IF | RFLAGS_CF);
	/* CPL 0: everything but RF VM VIF VIP; RF cleared */
	mem_wr(0x7ff8, 8, ~0ULL);
	in = insn(ZYDIS_MNEMONIC_POPFQ, 8, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, (all & ~(RFLAGS_RF | RFLAGS_VM | RFLAGS_VIF | RFLAGS_VIP)) | RFLAGS_FIXED);
	CHECK(cpu->end_block);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x8000);
	/* CPL 3, IOPL 0: IF and IOPL stay */
	cpu->cpl = 3;
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_IF;
	cpu->s.gpr[X86_RSP] = 0x7ff8;
	mem_wr(0x7ff8, 8, RFLAGS_IOPL | RFLAGS_CF | RFLAGS_AC);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, RFLAGS_FIXED | RFLAGS_IF | RFLAGS_CF | RFLAGS_AC);
	/* CPL 3, IOPL 3: IF may change, IOPL not */
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_IOPL;
	cpu->s.gpr[X86_RSP] = 0x7ff8;
	mem_wr(0x7ff8, 8, RFLAGS_IF);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, RFLAGS_FIXED | RFLAGS_IOPL | RFLAGS_IF);
	/* 16-bit POPF keeps the upper half (AC, RF) */
	cpu->cpl = 0;
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_AC | RFLAGS_RF;
	cpu->s.gpr[X86_RSP] = 0x7ffe;
	mem_wr(0x7ffe, 2, 0xffff);
	in = insn(ZYDIS_MNEMONIC_POPF, 2, 8);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, (all & 0xffff) | RFLAGS_FIXED | RFLAGS_AC | RFLAGS_RF);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x8000);

	/* V86 with IOPL < 3: #GP without VME; with VME the 16-bit forms use VIF */
	setup(cpu, 16);
	cpu->s.cr0 = CR0_PE;
	cpu->cpl = 3;
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_VM | RFLAGS_IF;
	cpu->s.gpr[X86_RSP] = 0x100;
	in = insn(ZYDIS_MNEMONIC_PUSHF, 2, 2);
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	in = insn(ZYDIS_MNEMONIC_POPF, 2, 2);
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x100);
	cpu->s.cr4 = CR4_VME;
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_VM | RFLAGS_VIF;
	in = insn(ZYDIS_MNEMONIC_PUSHF, 2, 2);
	run(cpu, &in);
	CHECK_EQ(mem_rd(0xfe, 2), RFLAGS_FIXED | RFLAGS_IF | RFLAGS_IOPL);
	mem_wr(0xfe, 2, RFLAGS_CF);
	in = insn(ZYDIS_MNEMONIC_POPF, 2, 2);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, RFLAGS_FIXED | RFLAGS_VM | RFLAGS_CF);
	in = insn(ZYDIS_MNEMONIC_POPFD, 4, 2);
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	/* V86 IOPL 3: allowed, IOPL itself kept */
	cpu->s.rflags = RFLAGS_FIXED | RFLAGS_VM | RFLAGS_IOPL;
	cpu->s.gpr[X86_RSP] = 0xfc;
	mem_wr(0xfc, 4, RFLAGS_IF | RFLAGS_AC);
	run(cpu, &in);
	CHECK_EQ(cpu->s.rflags, RFLAGS_FIXED | RFLAGS_VM | RFLAGS_IOPL | RFLAGS_IF | RFLAGS_AC);
}

static void test_enter_leave(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	/* 32-bit, nesting level 3 */
	setup(cpu, 32);
	cpu->s.gpr[X86_RSP] = 0x1000;
	cpu->s.gpr[X86_RBP] = 0x1100;
	mem_wr(0x1100 - 4, 4, 0xaaaa);
	mem_wr(0x1100 - 8, 4, 0xbbbb);
	in = insn2(ZYDIS_MNEMONIC_ENTER, 4, 4, I(0x20, 2), I(3, 1));
	run(cpu, &in);
	CHECK_EQ(mem_rd(0xffc, 4), 0x1100); /* old EBP */
	CHECK_EQ(mem_rd(0xff8, 4), 0xaaaa); /* enclosing frame pointers */
	CHECK_EQ(mem_rd(0xff4, 4), 0xbbbb);
	CHECK_EQ(mem_rd(0xff0, 4), 0xffc); /* this frame */
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0xffc);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0xff0 - 0x20);
	in = insn(ZYDIS_MNEMONIC_LEAVE, 4, 4);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x1000);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x1100);
	/* level 0 and level 1, 64-bit */
	setup(cpu, 64);
	cpu->s.gpr[X86_RSP] = 0x2000;
	cpu->s.gpr[X86_RBP] = 0x1234;
	in = insn2(ZYDIS_MNEMONIC_ENTER, 8, 8, I(8, 2), I(0, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x1ff8);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x1ff0);
	CHECK_EQ(mem_rd(0x1ff8, 8), 0x1234);
	in = insn2(ZYDIS_MNEMONIC_ENTER, 8, 8, I(0, 2), I(33, 1)); /* level is mod 32: 1 */
	run(cpu, &in);
	CHECK_EQ(mem_rd(0x1fe8, 8), 0x1ff8);
	CHECK_EQ(mem_rd(0x1fe0, 8), 0x1fe8);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x1fe8);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x1fe0);
	/* the host agrees: ENTER $0, $1 then compare the frame layout */
	{
		uint64_t rsp_before, rbp_after, slot0, slot1;
		__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"
				 "push %%rbp\n\t"
				 "mov %%rsp, %0\n\t"
				 "enter $0, $1\n\t"
				 "mov %%rbp, %1\n\t"
				 "mov (%%rsp), %2\n\t"
				 "mov 8(%%rsp), %3\n\t"
				 "leave\n\t"
				 "pop %%rbp\n\t"
				 "lea 128(%%rsp), %%rsp"
				 : "=&r"(rsp_before), "=&r"(rbp_after), "=&r"(slot0), "=&r"(slot1)
				 :
				 : "memory");
		CHECK_EQ(rbp_after, rsp_before - 8);
		CHECK_EQ(slot0, rbp_after);
		(void)slot1;
	}
	/* 16-bit stack, 16-bit operands: SP wraps, upper ESP bits kept */
	setup(cpu, 16);
	cpu->s.gpr[X86_RSP] = 0x50000002;
	cpu->s.gpr[X86_RBP] = 0x60000010;
	in = insn2(ZYDIS_MNEMONIC_ENTER, 2, 2, I(4, 2), I(0, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x60000000);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x5000fffc);
	CHECK_EQ(mem_rd(0, 2), 0x10);
	in = insn(ZYDIS_MNEMONIC_LEAVE, 2, 2);
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x50000002);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x60000010);
	/* ENTER whose frame would leave the stack segment faults with nothing changed */
	setup(cpu, 32);
	cpu->s.gpr[X86_RSP] = 0x100;
	cpu->s.gpr[X86_RBP] = 0x777;
	in = insn2(ZYDIS_MNEMONIC_ENTER, 4, 4, I(0x200, 2), I(0, 1));
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x100);
	CHECK_EQ(cpu->s.gpr[X86_RBP], 0x777);
}

/* ---- control.c ---- */

static void test_branches(void)
{
	static const uint16_t jcc[16] = {
		ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
		ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
		ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
		ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
	};
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	/* 16-bit: IP wraps */
	setup(cpu, 16);
	cpu->s.rip = 0xfffe;
	in = insn1(ZYDIS_MNEMONIC_JMP, 2, 2, I(0x10, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0xe);
	cpu->s.rip = 0x10;
	in.op[0].imm = (uint64_t)-0x20;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0xfff0);
	/* a target beyond the CS limit: #GP, rip unchanged */
	cpu->s.seg[X86_CS].limit = 0x7fff;
	cpu->s.rip = 0x10;
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	CHECK_EQ(cpu->s.rip, 0x10);
	/* Jcc, all 16 conditions, rel8 and rel16 */
	setup(cpu, 32);
	for (unsigned cc = 0; cc < 16; cc++) {
		for (unsigned fl = 0; fl < 32; fl++) {
			cpu->s.rflags = RFLAGS_FIXED | ((fl & 1) ? RFLAGS_CF : 0) | ((fl & 2) ? RFLAGS_ZF : 0) |
					((fl & 4) ? RFLAGS_SF : 0) | ((fl & 8) ? RFLAGS_OF : 0) |
					((fl & 16) ? RFLAGS_PF : 0);
			cpu->s.rip = 0x1002;
			in = insn1(jcc[cc], 4, 4, I((uint64_t)-0x102, 1));
			in.opcode = (fl & 1) ? 0x70 + cc : 0x80 + cc;
			run(cpu, &in);
			CHECK_EQ(cpu->s.rip, soft_cond(cpu, cc) ? 0xf00 : 0x1002);
		}
	}
	/* 16-bit operand size in 32-bit code truncates EIP */
	cpu->s.rip = 0x12340;
	in = insn1(ZYDIS_MNEMONIC_JMP, 2, 4, I(0x10, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x2350);
	/* indirect JMP through memory and register */
	mem_wr(0x400, 4, 0x8888);
	in = insn1(ZYDIS_MNEMONIC_JMP, 4, 4, M(X86_DS, SOFT_NOREG, 0x400, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x8888);
	cpu->s.gpr[X86_RAX] = 0x9999;
	in = insn1(ZYDIS_MNEMONIC_JMP, 4, 4, R(X86_RAX, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x9999);
	/* a far form reaching here is the decoder's routing bug: #UD */
	in = insn1(ZYDIS_MNEMONIC_JMP, 4, 4, M(X86_DS, SOFT_NOREG, 0x400, 6));
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);

	/* 64-bit: non-canonical target #GP */
	setup(cpu, 64);
	cpu->s.gpr[X86_RAX] = 0x0000800000000000ULL;
	in = insn1(ZYDIS_MNEMONIC_JMP, 8, 8, R(X86_RAX, 8));
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	CHECK_EQ(cpu->s.rip, 0x1000);
	cpu->s.gpr[X86_RAX] = 0xffff800000000000ULL;
	CHECK_EQ(run(cpu, &in), -1);
	CHECK_EQ(cpu->s.rip, 0xffff800000000000ULL);
}

static void test_call_ret(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	setup(cpu, 64);
	cpu->s.gpr[X86_RSP] = 0x8000;
	cpu->s.rip = 0x1005;
	in = insn1(ZYDIS_MNEMONIC_CALL, 8, 8, I(0x100, 4));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1105);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7ff8);
	CHECK_EQ(mem_rd(0x7ff8, 8), 0x1005);
	/* CALL [RSP]: the target is read with the old RSP */
	mem_wr(0x7ff8, 8, 0x3000);
	cpu->s.rip = 0x1107;
	in = insn1(ZYDIS_MNEMONIC_CALL, 8, 8, M(X86_SS, X86_RSP, 0, 8));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x3000);
	CHECK_EQ(mem_rd(0x7ff0, 8), 0x1107);
	/* RET and RET imm16 */
	in = insn(ZYDIS_MNEMONIC_RET, 8, 8);
	in.opcode = 0xc3;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1107);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x7ff8);
	in = insn1(ZYDIS_MNEMONIC_RET, 8, 8, I(0x10, 2));
	in.opcode = 0xc2;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x3000);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x8010);
	/* RET to a non-canonical address: #GP with RSP unchanged */
	mem_wr(0x8010, 8, 0x0001000000000000ULL);
	in = insn(ZYDIS_MNEMONIC_RET, 8, 8);
	in.opcode = 0xc3;
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x8010);
	in.opcode = 0xcb;
	CHECK_EQ(run(cpu, &in), X86_EXC_UD);
	/* CALL failing its push leaves RIP and RSP */
	cpu->s.gpr[X86_RSP] = MEM_SIZE + 0x100;
	cpu->s.rip = 0x1005;
	in = insn1(ZYDIS_MNEMONIC_CALL, 8, 8, I(0x100, 4));
	CHECK_EQ(run(cpu, &in), X86_EXC_PF);
	CHECK_EQ(cpu->s.rip, 0x1005);

	/* 16-bit real mode: CALL pushes IP, RET pops it; target wraps */
	setup(cpu, 16);
	cpu->s.gpr[X86_RSP] = 0x100;
	cpu->s.rip = 0xfff0;
	in = insn1(ZYDIS_MNEMONIC_CALL, 2, 2, I(0x20, 2));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x10);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0xfe);
	CHECK_EQ(mem_rd(0xfe, 2), 0xfff0);
	in = insn1(ZYDIS_MNEMONIC_RET, 2, 2, I(4, 2));
	in.opcode = 0xc2;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0xfff0);
	CHECK_EQ(cpu->s.gpr[X86_RSP], 0x104);
	/* 32-bit operand CALL in 16-bit code */
	in = insn1(ZYDIS_MNEMONIC_CALL, 4, 2, I(0x10000, 4));
	cpu->s.seg[X86_CS].limit = 0xfffff;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1fff0);
	CHECK_EQ(mem_rd(0x100, 4), 0xfff0);
}

static void test_loop_jcxz(void)
{
	struct soft_cpu c, *cpu = &c;
	struct soft_insn in;

	/* LOOP with a 16-bit CX keeps ECX's upper half; CX=0 wraps to 0xffff and jumps */
	setup(cpu, 16);
	cpu->s.gpr[X86_RCX] = 0x12340000;
	cpu->s.rip = 0x102;
	in = insn1(ZYDIS_MNEMONIC_LOOP, 2, 2, I((uint64_t)-2, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0x1234ffff);
	CHECK_EQ(cpu->s.rip, 0x100);
	cpu->s.gpr[X86_RCX] = 0x12340001;
	cpu->s.rip = 0x102;
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0x12340000);
	CHECK_EQ(cpu->s.rip, 0x102);
	/* target wraps at 16 bits */
	cpu->s.gpr[X86_RCX] = 5;
	cpu->s.rip = 0x2;
	in.op[0].imm = (uint64_t)-4;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0xfffe);
	/* 32-bit address size in 16-bit code uses ECX */
	in = insn1(ZYDIS_MNEMONIC_LOOP, 2, 4, I(0x10, 1));
	cpu->s.gpr[X86_RCX] = 0x10000;
	cpu->s.rip = 0x100;
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0xffff);
	CHECK_EQ(cpu->s.rip, 0x110);
	/* LOOPE / LOOPNE */
	in = insn1(ZYDIS_MNEMONIC_LOOPE, 2, 2, I(0x10, 1));
	cpu->s.gpr[X86_RCX] = 3;
	cpu->s.rip = 0x100;
	cpu->s.rflags = RFLAGS_FIXED;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x100);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 2);
	cpu->s.rflags |= RFLAGS_ZF;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x110);
	in = insn1(ZYDIS_MNEMONIC_LOOPNE, 2, 2, I(0x10, 1));
	cpu->s.rip = 0x100;
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x100);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0);
	/* a LOOP whose target faults leaves CX alone */
	cpu->s.seg[X86_CS].limit = 0x100;
	cpu->s.gpr[X86_RCX] = 3;
	in = insn1(ZYDIS_MNEMONIC_LOOP, 2, 2, I(0x10, 1));
	CHECK_EQ(run(cpu, &in), X86_EXC_GP);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 3);

	/* JCXZ / JECXZ / JRCXZ */
	setup(cpu, 64);
	cpu->s.gpr[X86_RCX] = 0x100000000ULL;
	in = insn1(ZYDIS_MNEMONIC_JRCXZ, 8, 8, I(0x10, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1000);
	in = insn1(ZYDIS_MNEMONIC_JECXZ, 8, 4, I(0x10, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1010);
	setup(cpu, 16);
	cpu->s.gpr[X86_RCX] = 0x10000;
	in = insn1(ZYDIS_MNEMONIC_JCXZ, 2, 2, I(0x10, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.rip, 0x1010);
	/* LOOP in 64-bit mode uses RCX */
	setup(cpu, 64);
	cpu->s.gpr[X86_RCX] = 0x100000000ULL;
	in = insn1(ZYDIS_MNEMONIC_LOOP, 8, 8, I(0x10, 1));
	run(cpu, &in);
	CHECK_EQ(cpu->s.gpr[X86_RCX], 0xffffffff);
	CHECK_EQ(cpu->s.rip, 0x1010);
}

static void test_summary(void)
{
	printf("# covered: %u forms, %u cases\n", forms_count, cases_count);
}

static void fill_table(void)
{
	soft_register_move(table);
	soft_register_string(table);
	soft_register_stack(table);
	soft_register_control(table);
}

static void test_register(void)
{
	fill_table();
	CHECK(table[ZYDIS_MNEMONIC_MOV] && table[ZYDIS_MNEMONIC_CMOVNLE] && table[ZYDIS_MNEMONIC_SETO]);
	CHECK(table[ZYDIS_MNEMONIC_SCASQ] && table[ZYDIS_MNEMONIC_OUTSD] && table[ZYDIS_MNEMONIC_POPFQ]);
	CHECK(table[ZYDIS_MNEMONIC_JNLE] && table[ZYDIS_MNEMONIC_JRCXZ] && table[ZYDIS_MNEMONIC_LOOPNE]);
}

CHECK_MAIN(TEST_CASE(test_register), TEST_CASE(test_mov_forms), TEST_CASE(test_xchg_xadd_cmpxchg),
	   TEST_CASE(test_cmov_setcc), TEST_CASE(test_misc_move), TEST_CASE(test_string_movs_stos_lods),
	   TEST_CASE(test_string_cmps_scas), TEST_CASE(test_string_io), TEST_CASE(test_push_pop),
	   TEST_CASE(test_pusha_popa), TEST_CASE(test_pushf_popf), TEST_CASE(test_enter_leave),
	   TEST_CASE(test_branches), TEST_CASE(test_call_ret), TEST_CASE(test_loop_jcxz),
	   TEST_CASE(test_summary))
