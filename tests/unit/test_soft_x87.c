/* SPDX-License-Identifier: MIT */
/*
 * The soft engine's x87 and FPU-state handlers (interp/x87.c, x87_env.c,
 * fpu_state.c) against the host CPU. Every two-byte x87 encoding Zydis
 * accepts (register forms ST(0)..ST(7), memory forms with [rsi]) runs
 * natively in a stub (FXRSTOR64 a random state and RFLAGS/RAX, the
 * instruction, FXSAVE64) and through its handler on a struct soft_insn the
 * Zydis decoder produced; FCW, FSW, the abridged tags, all eight registers
 * (empty ones included), RFLAGS, AX and the memory operand must match, and
 * a pending unmasked exception must give #MF where the host gets SIGFPE.
 * States mix zeros, denormals, pseudo-denormals, unnormals, infinities,
 * QNaNs, SNaNs, pseudo-NaNs and random normals, with random precision and
 * rounding control and exception masks. FIP/FDP/FOP are not compared (the
 * host records its own addresses). FXSAVE/XSAVE images are compared with the
 * host's, but for MXCSR_MASK, which is the model's, and the XSAVE header
 * (which components XINUSE reports), compared only when the host is of the
 * model's vendor (cpu_oracle.h); #NM/#UD/#GP rules are checked against the
 * SDM tables.
 *
 * Test doubles: soft_raise* (longjmp back with the vector) and flat memory
 * where offsets and linear addresses are host addresses.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <Zydis/Zydis.h>

#include "check.h"
#include "cpu_oracle.h"
#include "core/log.h"
#include "engine/soft/interp/x87.h"

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
void log_guest_rl(struct log_ratelimit *rl, const char *fmt, ...) { (void)rl, (void)fmt; }

uint64_t soft_seg_linear(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned len, enum soft_access acc)
{
	(void)cpu, (void)sreg, (void)len, (void)acc;
	return offset;
}
void soft_lin_read_bytes(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len, bool user)
{
	(void)cpu, (void)user;
	memcpy(buf, (void *)(uintptr_t)lin, len);
}
void soft_lin_write_bytes(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len, bool user)
{
	(void)cpu, (void)user;
	memcpy((void *)(uintptr_t)lin, buf, len);
}
uint64_t soft_lin_read(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	(void)cpu, (void)user;
	uint64_t v = 0;
	memcpy(&v, (void *)(uintptr_t)lin, size);
	return v;
}
void soft_lin_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value, bool user)
{
	(void)cpu, (void)user;
	memcpy((void *)(uintptr_t)lin, &value, size);
}
void soft_lin_probe_write(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user)
{
	(void)cpu, (void)lin, (void)len, (void)user;
}
void soft_tlb_flush_all(struct soft_cpu *cpu, bool include_global)
{
	(void)cpu, (void)include_global;
}
uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in, const struct soft_operand *op)
{
	return (cpu->s.gpr[op->base] + (uint64_t)op->disp) & soft_size_mask(in->addrsize);
}
uint64_t soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_operand *op = &in->op[n];
	uint64_t v = 0;
	if (op->kind == SOFT_OP_REG)
		return soft_reg_read(cpu, op->reg, op->size);
	memcpy(&v, (void *)(uintptr_t)soft_ea(cpu, in, op), op->size);
	return v;
}
void soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t value)
{
	const struct soft_operand *op = &in->op[n];
	if (op->kind == SOFT_OP_REG)
		soft_reg_write(cpu, op->reg, op->size, value);
	else
		memcpy((void *)(uintptr_t)soft_ea(cpu, in, op), &value, op->size);
}

static __attribute__((noinline)) int call_handler(soft_handler_fn *fn, struct soft_cpu *cpu,
						   const struct soft_insn *in)
{
	cpu->raised_vector = -1;
	cpu->code_size = 8; /* the forms under test are 64-bit code */
	if (!setjmp(raise_jmp))
		fn(cpu, in);
	return cpu->raised_vector;
}

/* ---- decoding into a soft_insn (the decoder's conversion, reduced to what x87 forms use) ---- */

static bool decode(const uint8_t *bytes, size_t n, struct soft_insn *in)
{
	static ZydisDecoder dec;
	static bool init;
	if (!init)
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64), init = true;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, n, &zi, zo)) || zi.length != n)
		return false;
	memset(in, 0, sizeof(*in));
	in->mnemonic = (uint16_t)zi.mnemonic;
	in->len = zi.length;
	in->opsize = (uint8_t)(zi.operand_width / 8);
	in->addrsize = (uint8_t)(zi.address_width / 8);
	in->opcode = zi.opcode;
	in->nops = zi.operand_count_visible;
	for (unsigned i = 0; i < in->nops; i++) {
		struct soft_operand *op = &in->op[i];
		op->size = (uint8_t)(zo[i].size / 8);
		if (zo[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			op->kind = SOFT_OP_MEM, op->base = X86_RSI, op->index = SOFT_NOREG, op->seg = X86_DS;
		} else if (ZydisRegisterGetClass(zo[i].reg.value) == ZYDIS_REGCLASS_X87) {
			op->kind = SOFT_OP_ST, op->reg = (uint8_t)(zo[i].reg.value - ZYDIS_REGISTER_ST0);
		} else {
			op->kind = SOFT_OP_REG, op->reg = X86_RAX;
		}
	}
	return true;
}

/* ---- native execution ---- */

struct ctx {
	uint8_t in[512], out[512];
	uint64_t flags_in, flags_out, rax_in, rax_out;
} __attribute__((aligned(64)));

static uint8_t *code;
static sigjmp_buf sig_jmp;
static void on_signal(int sig)
{
	siglongjmp(sig_jmp, sig);
}

/* rdi = ctx, rsi = memory operand. */
static const uint8_t stub_head[] = {
	0x48, 0x0f, 0xae, 0x0f, /* fxrstor64 [rdi] */
	0x48, 0x8b, 0x87, 0x10, 0x04, 0x00, 0x00, /* mov rax, [rdi + 1040] */
	0xff, 0xb7, 0x00, 0x04, 0x00, 0x00, 0x9d, /* push [rdi + 1024]; popfq */
};
static const uint8_t stub_tail[] = {
	0x9c, 0x8f, 0x87, 0x08, 0x04, 0x00, 0x00, /* pushfq; pop [rdi + 1032] */
	0x48, 0x89, 0x87, 0x18, 0x04, 0x00, 0x00, /* mov [rdi + 1048], rax */
	0x48, 0x0f, 0xae, 0x87, 0x00, 0x02, 0x00, 0x00, /* fxsave64 [rdi + 512] */
	0xdb, 0xe3, 0xc3, /* fninit; ret */
};

static void build_stub(const uint8_t *insn, size_t n)
{
	uint8_t *p = code;
	memcpy(p, stub_head, sizeof(stub_head)), p += sizeof(stub_head);
	memcpy(p, insn, n), p += n;
	memcpy(p, stub_tail, sizeof(stub_tail));
}

/* Returns the signal the host took, or 0. */
static int run_native(struct ctx *c, void *mem)
{
	int sig = sigsetjmp(sig_jmp, 1);
	if (sig) {
		__asm__ volatile("fninit");
		return sig;
	}
	((void (*)(struct ctx *, void *))(void *)code)(c, mem);
	return 0;
}

/* ---- operands ---- */

static unsigned forms_run, cases_run;
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void make_f80(uint8_t *r)
{
	uint64_t mant = rnd();
	unsigned exp = 0x3fff + (unsigned)(rnd() % 130) - 65, sign = rnd() & 1;
	switch (rnd() % 16) {
	case 0: mant = 0, exp = 0; break; /* zero */
	case 1: mant &= ~(1ull << 63), exp = 0; break; /* denormal */
	case 2: mant |= 1ull << 63, exp = 0; break; /* pseudo-denormal */
	case 3: mant &= ~(1ull << 63); break; /* unnormal */
	case 4: mant = 1ull << 63, exp = 0x7fff; break; /* infinity */
	case 5: mant |= 3ull << 62, exp = 0x7fff; break; /* QNaN */
	case 6: mant = (mant | 1ull << 63 | 1) & ~(1ull << 62), exp = 0x7fff; break; /* SNaN */
	case 7: mant &= ~(1ull << 63), exp = 0x7fff; break; /* pseudo-NaN / pseudo-infinity */
	case 8: exp = (unsigned)(rnd() % 0x7fff); mant |= 1ull << 63; break; /* any normal */
	case 9: mant = (rnd() % 1000) << 54 | 1ull << 63, exp = 0x3fff + (unsigned)(rnd() % 10); break; /* small integer */
	case 10: exp = rnd() & 1 ? 1 + (unsigned)(rnd() % 64) : 0x7ffe - (unsigned)(rnd() % 64), mant |= 1ull << 63; break;
	default: mant |= 1ull << 63; break;
	}
	memcpy(r, &mant, 8);
	uint16_t se = (uint16_t)(exp | sign << 15);
	memcpy(r + 8, &se, 2);
}

/* Memory operand bytes: random, or special values of every format. */
static void make_mem(uint8_t *m, unsigned size)
{
	for (unsigned i = 0; i < 128; i++)
		m[i] = (uint8_t)rnd();
	if (rnd() % 2)
		return;
	static const uint32_t s32[] = { 0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001,
					0x00000001, 0x807fffff, 0x3f800000, 0x7fffffff, 0xcf000000, 0x4effffff };
	static const uint64_t s64[] = { 0, 1ull << 63, 0x7ff0000000000000ull, 0x7ff8000000000000ull,
					0x7ff0000000000001ull, 1, 0x000fffffffffffffull, 0x3ff0000000000000ull,
					0x7fffffffffffffffull, 0xc3e0000000000000ull, 0x43dfffffffffffffull };
	static const uint16_t s16[] = { 0, 0x8000, 0x7fff, 0xffff, 1 };
	switch (size) {
	case 2: memcpy(m, &s16[rnd() % 5], 2); break;
	case 4: memcpy(m, &s32[rnd() % 12], 4); break;
	case 8: memcpy(m, &s64[rnd() % 11], 8); break;
	case 10:
		if (rnd() % 2) {
			make_f80(m);
		} else { /* packed BCD, mostly valid */
			for (unsigned i = 0; i < 9; i++)
				m[i] = (uint8_t)((rnd() % 10) << 4 | rnd() % 10);
			m[9] = rnd() % 2 ? 0x80 : 0;
			if (rnd() % 8 == 0)
				m[rnd() % 9] |= 0xa0;
		}
		break;
	default: break;
	}
}

/* A random FXSAVE image: registers, TOP, tags, FCW with any PC/RC and masks;
 * exception flags only masked ones unless pending is wanted. */
static void make_state(uint8_t *img, bool pending)
{
	memset(img, 0, 512);
	uint16_t fcw = (uint16_t)(FCW_FIXED | (rnd() & 0xf00) | (rnd() % 3 ? 0x3f : rnd() & 0x3f));
	uint16_t flags = (uint16_t)(rnd() & fcw & FSW_EXC);
	if (pending) {
		fcw &= (uint16_t)~FSW_PE;
		flags |= FSW_PE;
	}
	uint16_t fsw = (uint16_t)((rnd() & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3 | FSW_TOP)) | flags);
	if (flags & FSW_IE && rnd() % 2)
		fsw |= FSW_SF;
	fsw = x87_fsw_summary(fsw, fcw);
	memcpy(img, &fcw, 2);
	memcpy(img + 2, &fsw, 2);
	img[4] = (uint8_t)(rnd() | rnd() | rnd());
	uint32_t mxcsr;
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	memcpy(img + 24, &mxcsr, 4);
	for (unsigned i = 0; i < 8; i++)
		make_f80(img + 32 + 16 * i);
	for (unsigned i = 160; i < 416; i++)
		img[i] = (uint8_t)rnd();
}

static void state_to_cpu(const uint8_t *img, struct soft_cpu *cpu)
{
	struct x86_fpu_state *f = &cpu->s.fpu;
	memcpy(&f->fcw, img, 2);
	memcpy(&f->fsw, img + 2, 2);
	f->ftw = img[4];
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->st[(top + i) & 7], img + 32 + 16 * i, 10);
	memcpy(f->xmm, img + 160, 256);
	memcpy(&f->mxcsr, img + 24, 4);
	f->xcr0 = 3;
	cpu->s.cr0 = CR0_PE | CR0_NE | CR0_ET;
	cpu->s.cr4 = CR4_OSFXSR | CR4_OSXSAVE;
	cpu->cpl = 3;
}

static soft_handler_fn *table[ZYDIS_MNEMONIC_MAX_VALUE + 1];

/* Byte ranges of a memory result the host fills with its own FIP/FDP/FOP. */
static bool pointer_byte(unsigned mn, unsigned i)
{
	if (mn == ZYDIS_MNEMONIC_FNSTENV || mn == ZYDIS_MNEMONIC_FNSAVE)
		return i >= 12 && i < 24;
	return false;
}

static void run_form(const uint8_t *bytes, size_t n, unsigned ncases)
{
	struct soft_insn in;
	if (!decode(bytes, n, &in))
		return;
	soft_handler_fn *fn = table[in.mnemonic];
	if (!fn) {
		printf("# no handler for %s (%02x %02x)\n", ZydisMnemonicGetString(in.mnemonic), bytes[0], bytes[1]);
		check_failures++;
		return;
	}
	build_stub(bytes, n);
	forms_run++;
	unsigned failures = 0;
	static uint8_t mem[128], mem0[128], mem_native[128];
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	struct ctx *c = aligned_alloc(64, sizeof(*c));
	for (unsigned k = 0; k < ncases && failures < 3; k++) {
		bool pending = rnd() % 20 == 0;
		memset(c, 0, sizeof(*c));
		make_state(c->in, pending);
		c->flags_in = (rnd() & SOFT_ARITH_FLAGS) | RFLAGS_FIXED;
		c->rax_in = rnd();
		unsigned msize = 0;
		for (unsigned i = 0; i < in.nops; i++)
			if (in.op[i].kind == SOFT_OP_MEM)
				msize = in.op[i].size;
		make_mem(mem0, msize);
		if (in.mnemonic == ZYDIS_MNEMONIC_FLDENV || in.mnemonic == ZYDIS_MNEMONIC_FRSTOR) {
			/* a plausible environment: masked flags only */
			uint16_t cw = (uint16_t)(0x40 | (rnd() & 0xf00) | 0x3f), sw = (uint16_t)(rnd() & 0x7f7f);
			if (rnd() % 4 == 0)
				cw &= (uint16_t)~(rnd() & 0x3f); /* loading a pending exception is fine: nothing waits */
			memcpy(mem0, &cw, 2), memcpy(mem0 + 4, &sw, 2);
			for (unsigned i = 0; i < 8; i++)
				make_f80(mem0 + 28 + 10 * i);
		}
		memcpy(mem, mem0, sizeof(mem));
		int sig = run_native(c, mem);
		memcpy(mem_native, mem, sizeof(mem));
		memcpy(mem, mem0, sizeof(mem));

		memset(cpu, 0, sizeof(*cpu));
		state_to_cpu(c->in, cpu);
		cpu->s.rflags = c->flags_in;
		cpu->s.gpr[X86_RAX] = c->rax_in;
		cpu->s.gpr[X86_RSI] = (uintptr_t)mem;
		int vec = call_handler(fn, cpu, &in);
		cases_run++;

		bool bad;
		char why[64] = "";
		if (sig) {
			bad = !(sig == SIGFPE && vec == X86_EXC_MF);
			snprintf(why, sizeof(why), "host signal %d, soft vector %d", sig, vec);
		} else if (vec >= 0) {
			bad = true;
			snprintf(why, sizeof(why), "soft vector %d, host ran", vec);
		} else {
			const struct x86_fpu_state *f = &cpu->s.fpu;
			uint16_t fcw, fsw;
			memcpy(&fcw, c->out, 2), memcpy(&fsw, c->out + 2, 2);
			bad = f->fcw != fcw || f->fsw != fsw || f->ftw != c->out[4];
			if (bad)
				snprintf(why, sizeof(why), "fcw %04x/%04x fsw %04x/%04x ftw %02x/%02x", f->fcw, fcw, f->fsw,
					 fsw, f->ftw, c->out[4]);
			unsigned top = x87_top(f);
			for (unsigned i = 0; i < 8 && !bad; i++)
				if (memcmp(f->st[(top + i) & 7], c->out + 32 + 16 * i, 10)) {
					bad = true;
					snprintf(why, sizeof(why), "ST(%u) differs", i);
				}
			if ((cpu->s.rflags & SOFT_ARITH_FLAGS) != (c->flags_out & SOFT_ARITH_FLAGS) ||
			    cpu->s.gpr[X86_RAX] != c->rax_out) {
				bad = true;
				snprintf(why, sizeof(why), "rflags %llx/%llx rax %llx/%llx",
					 (unsigned long long)cpu->s.rflags, (unsigned long long)c->flags_out,
					 (unsigned long long)cpu->s.gpr[X86_RAX], (unsigned long long)c->rax_out);
			}
			for (unsigned i = 0; i < sizeof(mem) && !bad; i++)
				if (mem[i] != mem_native[i] && !pointer_byte(in.mnemonic, i)) {
					bad = true;
					snprintf(why, sizeof(why), "memory byte %u: %02x/%02x", i, mem[i], mem_native[i]);
				}
		}
		if (bad) {
			failures++;
			check_failures++;
			printf("# %s (%02x %02x): %s\n", ZydisMnemonicGetString(in.mnemonic), bytes[0], bytes[1], why);
			printf("#   in fcw %02x%02x fsw %02x%02x ftw %02x st0 %02x%02x.%016llx st1 %02x%02x.%016llx mem %02x%02x%02x%02x%02x%02x%02x%02x\n",
			       c->in[1], c->in[0], c->in[3], c->in[2], c->in[4], c->in[41], c->in[40],
			       *(unsigned long long *)(c->in + 32), c->in[57], c->in[56],
			       *(unsigned long long *)(c->in + 48), mem0[7], mem0[6], mem0[5], mem0[4], mem0[3],
			       mem0[2], mem0[1], mem0[0]);
		}
	}
	free(c);
	free(cpu);
}

static void setup(void)
{
	if (code)
		return;
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	signal(SIGFPE, on_signal);
	signal(SIGILL, on_signal);
	signal(SIGSEGV, on_signal);
	soft_register_x87(table);
}

/* ---- cases ---- */

static void test_register_forms(void)
{
	setup();
	for (unsigned esc = 0xd8; esc <= 0xdf; esc++)
		for (unsigned modrm = 0xc0; modrm <= 0xff; modrm++) {
			uint8_t b[2] = { (uint8_t)esc, (uint8_t)modrm };
			run_form(b, 2, 150);
		}
	printf("# covered: %u forms, %u cases\n", forms_run, cases_run);
}

static void test_memory_forms(void)
{
	setup();
	unsigned f0 = forms_run, c0 = cases_run;
	for (unsigned esc = 0xd8; esc <= 0xdf; esc++)
		for (unsigned reg = 0; reg < 8; reg++) {
			uint8_t b[2] = { (uint8_t)esc, (uint8_t)(reg << 3 | 6) }; /* [rsi] */
			run_form(b, 2, 400);
		}
	/* FNSTENV/FLDENV/FNSAVE/FRSTOR in the 16-bit format */
	static const uint8_t env16[][3] = { { 0x66, 0xd9, 0x36 }, { 0x66, 0xd9, 0x26 }, { 0x66, 0xdd, 0x36 },
					    { 0x66, 0xdd, 0x26 } };
	for (unsigned i = 0; i < 4; i++)
		run_form(env16[i], 3, 200);
	printf("# covered: %u forms, %u cases\n", forms_run - f0, cases_run - c0);
}

/* FXSAVE(64), XSAVE(64) and XSAVEOPT images after FXRSTOR(64)/XRSTOR of a
 * random image, byte for byte against the host (pointer fields excepted). */
static void test_save_images(void)
{
	setup();
	static const uint8_t saves[][5] = {
		{ 4, 0x48, 0x0f, 0xae, 0x06 }, /* fxsave64 [rsi] */
		{ 3, 0x0f, 0xae, 0x06 }, /* fxsave [rsi] */
		{ 4, 0x48, 0x0f, 0xae, 0x26 }, /* xsave64 [rsi] */
		{ 3, 0x0f, 0xae, 0x26 }, /* xsave [rsi] */
		{ 3, 0x0f, 0xae, 0x36 }, /* xsaveopt [rsi] */
	};
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	struct ctx *c = aligned_alloc(64, sizeof(*c));
	uint8_t *area = aligned_alloc(64, 1024), *area_native = aligned_alloc(64, 1024);
	unsigned n = 0;
	for (unsigned s = 0; s < 5; s++) {
		struct soft_insn in, rin;
		CHECK(decode(saves[s] + 1, saves[s][0], &in));
		uint8_t rst[4] = { 0x48, 0x0f, 0xae, 0x0e }; /* fxrstor64 [rsi] */
		CHECK(decode(rst, 4, &rin));
		for (unsigned k = 0; k < 300; k++, n++) {
			memset(c, 0, sizeof(*c));
			make_state(c->in, false);
			if (k % 10 == 0) /* the initial configuration, for XINUSE */
				memset(c->in, 0, 512), c->in[0] = 0x7f, c->in[1] = 0x03,
				memcpy(c->in + 24, (uint32_t[]){ 0x1f80 }, 4);
			for (unsigned i = 0; i < 1024; i++)
				area[i] = (uint8_t)(i * 7);
			memset(area + 512, 0, 64);
			memcpy(area_native, area, 1024);
			uint8_t insn[8];
			memcpy(insn, saves[s] + 1, saves[s][0]);
			uint8_t stub[32], *p = stub;
			*p++ = 0x48, *p++ = 0x0f, *p++ = 0xae, *p++ = 0x0f; /* fxrstor64 [rdi] */
			*p++ = 0xb8, memcpy(p, (uint32_t[]){ 3 }, 4), p += 4; /* mov eax, 3 */
			*p++ = 0x31, *p++ = 0xd2; /* xor edx, edx */
			memcpy(p, insn, saves[s][0]), p += saves[s][0];
			*p++ = 0xdb, *p++ = 0xe3, *p++ = 0xc3;
			memcpy(code, stub, (size_t)(p - stub));
			int sig = run_native(c, area_native);
			CHECK_EQ(sig, 0);
			/* MXCSR_MASK is the model's, whatever the host reports (AMD: MM too). */
			memcpy(area_native + 28, (uint32_t[]){ MXCSR_MASK_SUPPORTED }, 4);

			memset(cpu, 0, sizeof(*cpu));
			state_to_cpu(c->in, cpu);
			/* load through FXRSTOR64 from the same image, then save */
			cpu->s.gpr[X86_RSI] = (uintptr_t)c->in;
			CHECK_EQ(call_handler(table[rin.mnemonic], cpu, &rin), -1);
			cpu->s.gpr[X86_RSI] = (uintptr_t)area;
			cpu->s.gpr[X86_RAX] = 3, cpu->s.gpr[X86_RDX] = 0;
			CHECK_EQ(call_handler(table[in.mnemonic], cpu, &in), -1);
			bool header = oracle_host_is_model();
			/* Whether FXRSTOR of the initial configuration clears XINUSE, and so
			 * whether XSAVEOPT then skips writing those components, is the
			 * implementation's (AMD's parts skip, the model writes): only a host
			 * of the model's vendor is an oracle for that image. */
			if (s == 4 && k % 10 == 0 && !header)
				continue;
			for (unsigned i = 0; i < 1024; i++)
				if (area[i] != area_native[i] && !(i >= 6 && i < 24) &&
				    (header || i < 512 || i >= 576)) {
					printf("# %s case %u: byte %u soft %02x host %02x\n",
					       ZydisMnemonicGetString(in.mnemonic), k, i, area[i], area_native[i]);
					check_failures++;
					break;
				}
		}
	}
	printf("# covered: 5 forms, %u cases\n", n);
	free(area), free(area_native), free(c), free(cpu);
}

/* #NM, #UD, #GP and #MF rules (SDM Vol. 3A Table 2-2, the instruction pages). */
static void test_faults(void)
{
	setup();
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	uint8_t *area = aligned_alloc(64, 1024);
	struct soft_insn fadd, fwait, fxsave, fxrstor, xsave, xrstor, xsetbv, xgetbv, fnstsw, fnclex;
	CHECK(decode((const uint8_t[]){ 0xd8, 0xc1 }, 2, &fadd));
	CHECK(decode((const uint8_t[]){ 0x9b }, 1, &fwait));
	CHECK(decode((const uint8_t[]){ 0x0f, 0xae, 0x06 }, 3, &fxsave));
	CHECK(decode((const uint8_t[]){ 0x0f, 0xae, 0x0e }, 3, &fxrstor));
	CHECK(decode((const uint8_t[]){ 0x0f, 0xae, 0x26 }, 3, &xsave));
	CHECK(decode((const uint8_t[]){ 0x0f, 0xae, 0x2e }, 3, &xrstor));
	CHECK(decode((const uint8_t[]){ 0x0f, 0x01, 0xd1 }, 3, &xsetbv));
	CHECK(decode((const uint8_t[]){ 0x0f, 0x01, 0xd0 }, 3, &xgetbv));
	CHECK(decode((const uint8_t[]){ 0xdf, 0xe0 }, 2, &fnstsw));
	CHECK(decode((const uint8_t[]){ 0xdb, 0xe2 }, 2, &fnclex));
	struct { uint64_t cr0; int x87, wait; } t22[] = {
		{ 0, -1, -1 }, { CR0_TS, X86_EXC_NM, -1 }, { CR0_MP, -1, -1 }, { CR0_MP | CR0_TS, X86_EXC_NM, X86_EXC_NM },
		{ CR0_EM, X86_EXC_NM, -1 }, { CR0_EM | CR0_TS, X86_EXC_NM, -1 }, { CR0_EM | CR0_MP, X86_EXC_NM, -1 },
		{ CR0_EM | CR0_MP | CR0_TS, X86_EXC_NM, X86_EXC_NM },
	};
	for (unsigned i = 0; i < 8; i++) {
		memset(cpu, 0, sizeof(*cpu));
		x87_init_state(&cpu->s.fpu);
		cpu->s.cr0 = CR0_PE | CR0_NE | t22[i].cr0;
		CHECK_EQ(call_handler(table[fadd.mnemonic], cpu, &fadd), t22[i].x87);
		CHECK_EQ(call_handler(table[fwait.mnemonic], cpu, &fwait), t22[i].wait);
		/* FXSAVE: EM gives #UD before TS gives #NM */
		cpu->s.gpr[X86_RSI] = (uintptr_t)area;
		CHECK_EQ(call_handler(table[fxsave.mnemonic], cpu, &fxsave),
			 t22[i].cr0 & CR0_EM ? X86_EXC_UD : t22[i].cr0 & CR0_TS ? X86_EXC_NM : -1);
	}
	/* pending unmasked exception: #MF for waiting forms, nothing for FNSTSW/FNCLEX */
	memset(cpu, 0, sizeof(*cpu));
	x87_init_state(&cpu->s.fpu);
	cpu->s.cr0 = CR0_PE | CR0_NE;
	cpu->s.fpu.fcw = 0x37e, cpu->s.fpu.fsw = FSW_IE | FSW_ES | FSW_B;
	CHECK_EQ(call_handler(table[fadd.mnemonic], cpu, &fadd), X86_EXC_MF);
	CHECK_EQ(call_handler(table[fwait.mnemonic], cpu, &fwait), X86_EXC_MF);
	CHECK_EQ(call_handler(table[fnstsw.mnemonic], cpu, &fnstsw), -1);
	CHECK_EQ(cpu->s.gpr[X86_RAX] & 0xffff, FSW_IE | FSW_ES | FSW_B);
	CHECK_EQ(call_handler(table[fnclex.mnemonic], cpu, &fnclex), -1);
	CHECK_EQ(call_handler(table[fwait.mnemonic], cpu, &fwait), -1);
	/* alignment, MXCSR reserved bits */
	memset(cpu, 0, sizeof(*cpu));
	cpu->s.cr0 = CR0_PE;
	cpu->s.cr4 = CR4_OSXSAVE;
	cpu->s.fpu.xcr0 = 1;
	cpu->s.gpr[X86_RSI] = (uintptr_t)area + 8;
	CHECK_EQ(call_handler(table[fxsave.mnemonic], cpu, &fxsave), X86_EXC_GP);
	cpu->s.gpr[X86_RSI] = (uintptr_t)area + 16;
	CHECK_EQ(call_handler(table[fxsave.mnemonic], cpu, &fxsave), -1);
	CHECK_EQ(call_handler(table[xsave.mnemonic], cpu, &xsave), X86_EXC_GP);
	cpu->s.gpr[X86_RSI] = (uintptr_t)area;
	memset(area, 0, 1024);
	memcpy(area + 24, (uint32_t[]){ 0x10000 }, 4);
	CHECK_EQ(call_handler(table[fxrstor.mnemonic], cpu, &fxrstor), X86_EXC_GP);
	memcpy(area + 24, (uint32_t[]){ 0x1f80 }, 4);
	CHECK_EQ(call_handler(table[fxrstor.mnemonic], cpu, &fxrstor), -1);
	/* XSETBV/XGETBV: XCR0 rules; XRSTOR header rules */
	cpu->s.gpr[X86_RCX] = 0, cpu->s.gpr[X86_RDX] = 0;
	uint64_t bad_xcr0[] = { 0, 2, 4, 7 };
	for (unsigned i = 0; i < 4; i++) {
		cpu->s.gpr[X86_RAX] = bad_xcr0[i];
		CHECK_EQ(call_handler(table[xsetbv.mnemonic], cpu, &xsetbv), X86_EXC_GP);
	}
	cpu->s.gpr[X86_RAX] = 3;
	CHECK_EQ(call_handler(table[xsetbv.mnemonic], cpu, &xsetbv), -1);
	cpu->s.gpr[X86_RAX] = 0;
	CHECK_EQ(call_handler(table[xgetbv.mnemonic], cpu, &xgetbv), -1);
	CHECK_EQ(cpu->s.gpr[X86_RAX], 3);
	cpu->cpl = 3;
	CHECK_EQ(call_handler(table[xsetbv.mnemonic], cpu, &xsetbv), X86_EXC_GP);
	cpu->s.gpr[X86_RAX] = 3, cpu->s.gpr[X86_RDX] = 0;
	area[520] = 1; /* XCOMP_BV */
	CHECK_EQ(call_handler(table[xrstor.mnemonic], cpu, &xrstor), X86_EXC_GP);
	area[520] = 0, area[512] = 4; /* XSTATE_BV names AVX */
	CHECK_EQ(call_handler(table[xrstor.mnemonic], cpu, &xrstor), X86_EXC_GP);
	area[512] = 0; /* both components to their initial configuration */
	cpu->s.fpu.fsw = 0x3800, cpu->s.fpu.ftw = 0xff, cpu->s.fpu.xmm[3][0] = 1;
	CHECK_EQ(call_handler(table[xrstor.mnemonic], cpu, &xrstor), -1);
	CHECK_EQ(cpu->s.fpu.fcw, FCW_INIT);
	CHECK_EQ(cpu->s.fpu.ftw, 0);
	CHECK_EQ(cpu->s.fpu.xmm[3][0], 0);
	cpu->s.cr4 = 0;
	CHECK_EQ(call_handler(table[xsave.mnemonic], cpu, &xsave), X86_EXC_UD);
	CHECK_EQ(call_handler(table[xgetbv.mnemonic], cpu, &xgetbv), X86_EXC_UD);
	free(area);
	free(cpu);
}

CHECK_MAIN(TEST_CASE(test_register_forms), TEST_CASE(test_memory_forms), TEST_CASE(test_save_images),
	   TEST_CASE(test_faults))
