/* SPDX-License-Identifier: MIT */
/*
 * The differential tests' instruction forms and random cases. A form is a
 * mnemonic with operand kinds (register, memory, immediate, CL, 1) and an
 * operand size; most are encoded with the Zydis encoder, string and relative
 * branch forms by hand (their encodings are fixed and short). A case picks
 * registers, operand values, flags and memory at random, shaped so the
 * instruction does what the form means to test instead of faulting: memory
 * operands point into the data window, divisors are nonzero with quotients
 * that fit, branch targets and return addresses lie in the (all-HLT) code
 * page, stack pointers in the stack page, REP counts are small.
 *
 * Each case also carries the flags the SDM defines for it; only the unicorn
 * comparison drops the others (the host CPU is compared on all of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "diff.h"

const char *const diff_family_names[DIFF_NFAMILIES] = {
	"alu", "unary", "shift", "shxd", "bit", "bitscan", "mov", "xchg", "cmov",
	"setcc", "lea", "muldiv", "string", "stack", "bcd", "convert", "flagops",
	"branch", "bmi",
};
const char *const diff_mode_names[DIFF_NMODES] = { "real16", "prot32", "long64" };

/* Operand kinds. */
enum { K_R = 1, K_M, K_I, K_I8, K_I16, K_CL, K_ONE };

/* Generator tweaks. */
enum {
	P_NONE, P_SHIFT, P_DIV, P_IDIV, P_BITMEM, P_CMPXCHG, P_CX8, P_STACK, P_POPF, P_ENTER, P_LEAVE,
	P_AAM, P_BITSCAN, P_BRANCH_IND, P_CALL_IND,
	/* hand-encoded */
	P_STRING, P_JMP8, P_JMPREL, P_JCC8, P_JCCREL, P_LOOP, P_JCXZ, P_CALLREL, P_RET, P_RETI,
};

#define M16 (1u << DIFF_REAL16)
#define M32 (1u << DIFF_PROT32)
#define M64 (1u << DIFF_LONG64)
#define MALL (M16 | M32 | M64)

uint64_t diff_rand(uint64_t *rng)
{
	/* xorshift64*: deterministic for a seed, good enough for operand values */
	uint64_t x = *rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t *rng, uint64_t n)
{
	return diff_rand(rng) % n;
}

/* Operand values lean on the edges, where flag logic goes wrong. */
static uint64_t rnd_value(uint64_t *rng)
{
	static const uint64_t edges[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
					   0x80000000, 0xffffffff, 0x7fffffffffffffffull,
					   0x8000000000000000ull, ~0ull, 0x0f, 0x10 };
	switch (rnd_below(rng, 8)) {
	case 0: return edges[rnd_below(rng, sizeof(edges) / sizeof(edges[0]))];
	case 1: return diff_rand(rng) & 0xff;
	case 2: return -(diff_rand(rng) & 0xff);
	default: return diff_rand(rng);
	}
}

/* ---- form table ---- */

static struct diff_form forms[1600];
static unsigned nforms;

static const char *const kind_names[] = { "", "r", "m", "imm", "imm8", "imm16", "cl", "1" };

static struct diff_form *add_form(enum diff_family fam, unsigned modes, unsigned mn, unsigned size,
				  unsigned prep, unsigned aux, const char *name)
{
	if (nforms >= sizeof(forms) / sizeof(forms[0]))
		abort();
	struct diff_form *f = &forms[nforms++];
	memset(f, 0, sizeof(*f));
	f->family = fam;
	f->modes = size == 8 ? modes & M64 : modes;
	f->mnemonic = mn;
	f->size = size;
	f->prep = prep;
	f->aux = aux;
	if (name)
		snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

/* A Zydis form: operands given as (kind, size) pairs, size 0 = the form's. */
static void zform(enum diff_family fam, unsigned modes, unsigned mn, unsigned size, unsigned prep,
		  unsigned nops, unsigned k0, unsigned s0, unsigned k1, unsigned s1, unsigned k2, unsigned s2)
{
	struct diff_form *f = add_form(fam, modes, mn, size, prep, 0, NULL);
	unsigned k[3] = { k0, k1, k2 }, s[3] = { s0, s1, s2 };
	f->nops = nops;
	int n = snprintf(f->name, sizeof(f->name), "%s", ZydisMnemonicGetString((ZydisMnemonic)mn));
	for (unsigned i = 0; i < nops; i++) {
		f->op[i].kind = k[i];
		f->op[i].size = s[i] ? s[i] : size;
		if (k[i] == K_I8)
			f->op[i].size = 1;
		if (k[i] == K_I16)
			f->op[i].size = 2;
		unsigned bits = 8 * f->op[i].size;
		if (k[i] == K_R || k[i] == K_M || k[i] == K_I)
			n += snprintf(f->name + n, sizeof(f->name) - (size_t)n, "%s %s%u", i ? "," : "", kind_names[k[i]], bits);
		else
			n += snprintf(f->name + n, sizeof(f->name) - (size_t)n, "%s %s", i ? "," : "", kind_names[k[i]]);
	}
	if (!nops && size >= 2) /* CBW vs CWDE, PUSHF vs PUSHFD: say which */
		snprintf(f->name + n, sizeof(f->name) - (size_t)n, " (o%u)", 8 * size);
}

#define Z0(fam, modes, mn, size, prep) zform(fam, modes, mn, size, prep, 0, 0, 0, 0, 0, 0, 0)
#define Z1(fam, modes, mn, size, prep, a) zform(fam, modes, mn, size, prep, 1, a, 0, 0, 0, 0, 0)
#define Z2(fam, modes, mn, size, prep, a, b) zform(fam, modes, mn, size, prep, 2, a, 0, b, 0, 0, 0)

static const unsigned sizes_all[] = { 1, 2, 4, 8 };
static const unsigned sizes_wide[] = { 2, 4, 8 };
#define FOR_SIZES(arr, s) for (unsigned si_ = 0, s; si_ < sizeof(arr) / sizeof(arr[0]) && (s = arr[si_], 1); si_++)

/* Zydis numbers mnemonics alphabetically: condition code order by hand. */
static const unsigned cmov_mn[16] = {
	ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
	ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
	ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
	ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
};
static const unsigned setcc_mn[16] = {
	ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
	ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
	ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
	ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
};

static const char *const cc_names[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
					  "s", "ns", "p", "np", "l", "ge", "le", "g" };

static void build_forms(void)
{
	static const unsigned alu[] = { ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC,
					ZYDIS_MNEMONIC_SBB, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB,
					ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP };
	for (unsigned i = 0; i < 8; i++)
		FOR_SIZES(sizes_all, s) {
			Z2(FAM_ALU, MALL, alu[i], s, P_NONE, K_R, K_R);
			Z2(FAM_ALU, MALL, alu[i], s, P_NONE, K_R, K_I);
			Z2(FAM_ALU, MALL, alu[i], s, P_NONE, K_R, K_M);
			Z2(FAM_ALU, MALL, alu[i], s, P_NONE, K_M, K_R);
			Z2(FAM_ALU, MALL, alu[i], s, P_NONE, K_M, K_I);
		}
	FOR_SIZES(sizes_all, s) {
		Z2(FAM_ALU, MALL, ZYDIS_MNEMONIC_TEST, s, P_NONE, K_R, K_R);
		Z2(FAM_ALU, MALL, ZYDIS_MNEMONIC_TEST, s, P_NONE, K_R, K_I);
		Z2(FAM_ALU, MALL, ZYDIS_MNEMONIC_TEST, s, P_NONE, K_M, K_R);
		Z2(FAM_ALU, MALL, ZYDIS_MNEMONIC_TEST, s, P_NONE, K_M, K_I);
	}

	static const unsigned unary[] = { ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG,
					  ZYDIS_MNEMONIC_NOT };
	for (unsigned i = 0; i < 4; i++)
		FOR_SIZES(sizes_all, s) {
			Z1(FAM_UNARY, MALL, unary[i], s, P_NONE, K_R);
			Z1(FAM_UNARY, MALL, unary[i], s, P_NONE, K_M);
		}

	static const unsigned shifts[] = { ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL,
					   ZYDIS_MNEMONIC_RCR, ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR,
					   ZYDIS_MNEMONIC_SAR };
	for (unsigned i = 0; i < 7; i++)
		FOR_SIZES(sizes_all, s) {
			static const unsigned counts[] = { K_ONE, K_CL, K_I8 };
			for (unsigned c = 0; c < 3; c++) {
				Z2(FAM_SHIFT, MALL, shifts[i], s, P_SHIFT, K_R, counts[c]);
				Z2(FAM_SHIFT, MALL, shifts[i], s, P_SHIFT, K_M, counts[c]);
			}
		}
	static const unsigned shxd[] = { ZYDIS_MNEMONIC_SHLD, ZYDIS_MNEMONIC_SHRD };
	for (unsigned i = 0; i < 2; i++)
		FOR_SIZES(sizes_wide, s) {
			zform(FAM_SHXD, MALL, shxd[i], s, P_SHIFT, 3, K_R, 0, K_R, 0, K_I8, 0);
			zform(FAM_SHXD, MALL, shxd[i], s, P_SHIFT, 3, K_R, 0, K_R, 0, K_CL, 0);
			zform(FAM_SHXD, MALL, shxd[i], s, P_SHIFT, 3, K_M, 0, K_R, 0, K_I8, 0);
			zform(FAM_SHXD, MALL, shxd[i], s, P_SHIFT, 3, K_M, 0, K_R, 0, K_CL, 0);
		}

	static const unsigned bits[] = { ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR,
					 ZYDIS_MNEMONIC_BTC };
	for (unsigned i = 0; i < 4; i++)
		FOR_SIZES(sizes_wide, s) {
			Z2(FAM_BIT, MALL, bits[i], s, P_NONE, K_R, K_R);
			Z2(FAM_BIT, MALL, bits[i], s, P_NONE, K_R, K_I8);
			Z2(FAM_BIT, MALL, bits[i], s, P_BITMEM, K_M, K_R);
			Z2(FAM_BIT, MALL, bits[i], s, P_NONE, K_M, K_I8);
		}
	static const unsigned scans[] = { ZYDIS_MNEMONIC_BSF, ZYDIS_MNEMONIC_BSR, ZYDIS_MNEMONIC_POPCNT,
					  ZYDIS_MNEMONIC_LZCNT, ZYDIS_MNEMONIC_TZCNT };
	for (unsigned i = 0; i < 5; i++)
		FOR_SIZES(sizes_wide, s) {
			/* POPCNT/LZCNT/TZCNT: unicorn's CPU model lacks them (LZCNT decodes as BSR). */
			unsigned modes = i < 2 ? MALL : M64;
			Z2(FAM_BITSCAN, modes, scans[i], s, P_BITSCAN, K_R, K_R);
			Z2(FAM_BITSCAN, modes, scans[i], s, P_BITSCAN, K_R, K_M);
		}

	FOR_SIZES(sizes_all, s) {
		Z2(FAM_MOV, MALL, ZYDIS_MNEMONIC_MOV, s, P_NONE, K_R, K_R);
		Z2(FAM_MOV, MALL, ZYDIS_MNEMONIC_MOV, s, P_NONE, K_R, K_I);
		Z2(FAM_MOV, MALL, ZYDIS_MNEMONIC_MOV, s, P_NONE, K_R, K_M);
		Z2(FAM_MOV, MALL, ZYDIS_MNEMONIC_MOV, s, P_NONE, K_M, K_R);
		Z2(FAM_MOV, MALL, ZYDIS_MNEMONIC_MOV, s, P_NONE, K_M, K_I);
	}
	static const unsigned ext[] = { ZYDIS_MNEMONIC_MOVZX, ZYDIS_MNEMONIC_MOVSX };
	for (unsigned i = 0; i < 2; i++)
		FOR_SIZES(sizes_wide, s)
			for (unsigned src = 1; src < s && src <= 2; src++) {
				zform(FAM_MOV, MALL, ext[i], s, P_NONE, 2, K_R, 0, K_R, src, 0, 0);
				zform(FAM_MOV, MALL, ext[i], s, P_NONE, 2, K_R, 0, K_M, src, 0, 0);
			}
	zform(FAM_MOV, M64, ZYDIS_MNEMONIC_MOVSXD, 8, P_NONE, 2, K_R, 0, K_R, 4, 0, 0);
	zform(FAM_MOV, M64, ZYDIS_MNEMONIC_MOVSXD, 8, P_NONE, 2, K_R, 0, K_M, 4, 0, 0);
	FOR_SIZES(sizes_wide, s) {
		Z2(FAM_MOV, M64, ZYDIS_MNEMONIC_MOVBE, s, P_NONE, K_R, K_M);
		Z2(FAM_MOV, M64, ZYDIS_MNEMONIC_MOVBE, s, P_NONE, K_M, K_R);
	}
	Z1(FAM_MOV, MALL, ZYDIS_MNEMONIC_BSWAP, 4, P_NONE, K_R);
	Z1(FAM_MOV, M64, ZYDIS_MNEMONIC_BSWAP, 8, P_NONE, K_R);

	FOR_SIZES(sizes_all, s) {
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_XCHG, s, P_NONE, K_R, K_R);
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_XCHG, s, P_NONE, K_M, K_R);
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_XADD, s, P_NONE, K_R, K_R);
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_XADD, s, P_NONE, K_M, K_R);
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_CMPXCHG, s, P_CMPXCHG, K_R, K_R);
		Z2(FAM_XCHG, MALL, ZYDIS_MNEMONIC_CMPXCHG, s, P_CMPXCHG, K_M, K_R);
	}
	zform(FAM_XCHG, MALL, ZYDIS_MNEMONIC_CMPXCHG8B, 4, P_CX8, 1, K_M, 8, 0, 0, 0, 0);
	zform(FAM_XCHG, M64, ZYDIS_MNEMONIC_CMPXCHG16B, 8, P_CX8, 1, K_M, 16, 0, 0, 0, 0);

	for (unsigned cc = 0; cc < 16; cc++) {
		FOR_SIZES(sizes_wide, s) {
			Z2(FAM_CMOV, MALL, cmov_mn[cc], s, P_NONE, K_R, K_R);
			Z2(FAM_CMOV, MALL, cmov_mn[cc], s, P_NONE, K_R, K_M);
		}
		Z1(FAM_SETCC, MALL, setcc_mn[cc], 1, P_NONE, K_R);
		Z1(FAM_SETCC, MALL, setcc_mn[cc], 1, P_NONE, K_M);
	}

	FOR_SIZES(sizes_wide, s)
		Z2(FAM_LEA, MALL, ZYDIS_MNEMONIC_LEA, s, P_NONE, K_R, K_M);

	static const unsigned muldiv[] = { ZYDIS_MNEMONIC_MUL, ZYDIS_MNEMONIC_IMUL, ZYDIS_MNEMONIC_DIV,
					   ZYDIS_MNEMONIC_IDIV };
	static const unsigned muldiv_prep[] = { P_NONE, P_NONE, P_DIV, P_IDIV };
	for (unsigned i = 0; i < 4; i++)
		FOR_SIZES(sizes_all, s) {
			Z1(FAM_MULDIV, MALL, muldiv[i], s, muldiv_prep[i], K_R);
			Z1(FAM_MULDIV, MALL, muldiv[i], s, muldiv_prep[i], K_M);
		}
	FOR_SIZES(sizes_wide, s) {
		Z2(FAM_MULDIV, MALL, ZYDIS_MNEMONIC_IMUL, s, P_NONE, K_R, K_R);
		Z2(FAM_MULDIV, MALL, ZYDIS_MNEMONIC_IMUL, s, P_NONE, K_R, K_M);
		zform(FAM_MULDIV, MALL, ZYDIS_MNEMONIC_IMUL, s, P_NONE, 3, K_R, 0, K_R, 0, K_I, 0);
		zform(FAM_MULDIV, MALL, ZYDIS_MNEMONIC_IMUL, s, P_NONE, 3, K_R, 0, K_M, 0, K_I, 0);
	}

	/* String instructions: opcode for the byte form; +1 is the wider one. */
	static const struct { uint8_t op; const char *name; bool cmp; } str[] = {
		{ 0xa4, "movs", false }, { 0xa6, "cmps", true }, { 0xaa, "stos", false },
		{ 0xac, "lods", false }, { 0xae, "scas", true },
	};
	for (unsigned i = 0; i < 5; i++)
		FOR_SIZES(sizes_all, s)
			for (unsigned rep = 0; rep < (str[i].cmp ? 3u : 2u); rep++) {
				static const char *const rp[] = { "", "rep ", "repne " };
				static const unsigned rb[] = { 0, 0xf3, 0xf2 };
				char name[48];
				snprintf(name, sizeof(name), "%s%s%c", rep == 1 && str[i].cmp ? "repe " : rp[rep],
					 str[i].name, "b?w?d???q"[s]);
				add_form(FAM_STRING, MALL, 0, s, P_STRING, str[i].op | rb[rep] << 8, name);
			}

	/* Stack: 16-bit and the mode's natural width (32, or 64 in long mode). */
	static const unsigned stack_sizes[] = { 2, 4, 8 };
	for (unsigned i = 0; i < 3; i++) {
		unsigned s = stack_sizes[i], modes = s == 4 ? M16 | M32 : s == 8 ? M64 : MALL;
		Z1(FAM_STACK, modes, ZYDIS_MNEMONIC_PUSH, s, P_STACK, K_R);
		Z1(FAM_STACK, modes, ZYDIS_MNEMONIC_PUSH, s, P_STACK, K_M);
		Z1(FAM_STACK, modes, ZYDIS_MNEMONIC_PUSH, s, P_STACK, K_I);
		Z1(FAM_STACK, modes, ZYDIS_MNEMONIC_POP, s, P_STACK, K_R);
		Z1(FAM_STACK, modes, ZYDIS_MNEMONIC_POP, s, P_STACK, K_M);
	}
	Z0(FAM_STACK, M16 | M32, ZYDIS_MNEMONIC_PUSHF, 2, P_STACK);
	Z0(FAM_STACK, M16 | M32, ZYDIS_MNEMONIC_PUSHFD, 4, P_STACK);
	Z0(FAM_STACK, M64, ZYDIS_MNEMONIC_PUSHFQ, 8, P_STACK);
	Z0(FAM_STACK, M16 | M32, ZYDIS_MNEMONIC_POPF, 2, P_POPF);
	Z0(FAM_STACK, M16 | M32, ZYDIS_MNEMONIC_POPFD, 4, P_POPF);
	Z0(FAM_STACK, M64, ZYDIS_MNEMONIC_POPFQ, 8, P_POPF);
	Z0(FAM_STACK, MALL, ZYDIS_MNEMONIC_LEAVE, 0, P_LEAVE);
	zform(FAM_STACK, MALL, ZYDIS_MNEMONIC_ENTER, 0, P_ENTER, 2, K_I16, 0, K_I8, 0, 0, 0);

	/* BCD: invalid in 64-bit mode (host runs only 64-bit), so unicorn only. */
	Z0(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_DAA, 1, P_NONE);
	Z0(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_DAS, 1, P_NONE);
	Z0(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_AAA, 1, P_NONE);
	Z0(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_AAS, 1, P_NONE);
	Z1(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_AAM, 1, P_AAM, K_I8);
	Z1(FAM_BCD, M16 | M32, ZYDIS_MNEMONIC_AAD, 1, P_NONE, K_I8);

	Z0(FAM_CONV, MALL, ZYDIS_MNEMONIC_CBW, 2, P_NONE);
	Z0(FAM_CONV, MALL, ZYDIS_MNEMONIC_CWDE, 4, P_NONE);
	Z0(FAM_CONV, M64, ZYDIS_MNEMONIC_CDQE, 8, P_NONE);
	Z0(FAM_CONV, MALL, ZYDIS_MNEMONIC_CWD, 2, P_NONE);
	Z0(FAM_CONV, MALL, ZYDIS_MNEMONIC_CDQ, 4, P_NONE);
	Z0(FAM_CONV, M64, ZYDIS_MNEMONIC_CQO, 8, P_NONE);

	static const unsigned flagops[] = { ZYDIS_MNEMONIC_LAHF, ZYDIS_MNEMONIC_SAHF, ZYDIS_MNEMONIC_CLC,
					    ZYDIS_MNEMONIC_STC, ZYDIS_MNEMONIC_CMC, ZYDIS_MNEMONIC_CLD,
					    ZYDIS_MNEMONIC_STD, ZYDIS_MNEMONIC_NOP };
	for (unsigned i = 0; i < 8; i++)
		Z0(FAM_FLAGOPS, MALL, flagops[i], 0, P_NONE);

	/* Near branches with targets in the code page. */
	add_form(FAM_BRANCH, MALL, 0, 0, P_JMP8, 0, "jmp rel8");
	add_form(FAM_BRANCH, MALL, 0, 0, P_JMPREL, 0, "jmp rel16/32");
	add_form(FAM_BRANCH, MALL, 0, 0, P_CALLREL, 0, "call rel16/32");
	add_form(FAM_BRANCH, MALL, 0, 0, P_RET, 0, "ret");
	add_form(FAM_BRANCH, MALL, 0, 0, P_RETI, 0, "ret imm16");
	add_form(FAM_BRANCH, MALL, 0, 0, P_JCXZ, 0, "jcxz/jecxz/jrcxz");
	add_form(FAM_BRANCH, MALL, 0, 0, P_LOOP, 0xe2, "loop");
	add_form(FAM_BRANCH, MALL, 0, 0, P_LOOP, 0xe1, "loope");
	add_form(FAM_BRANCH, MALL, 0, 0, P_LOOP, 0xe0, "loopne");
	for (unsigned cc = 0; cc < 16; cc++) {
		char name[48];
		snprintf(name, sizeof(name), "j%s rel8", cc_names[cc]);
		add_form(FAM_BRANCH, MALL, 0, 0, P_JCC8, cc, name);
		snprintf(name, sizeof(name), "j%s rel16/32", cc_names[cc]);
		add_form(FAM_BRANCH, MALL, 0, 0, P_JCCREL, cc, name);
	}
	/* Indirect: the mode's natural width. */
	for (unsigned s = 2; s <= 8; s *= 2) {
		unsigned modes = s == 2 ? M16 : s == 4 ? M32 : M64;
		Z1(FAM_BRANCH, modes, ZYDIS_MNEMONIC_JMP, s, P_BRANCH_IND, K_R);
		Z1(FAM_BRANCH, modes, ZYDIS_MNEMONIC_JMP, s, P_BRANCH_IND, K_M);
		Z1(FAM_BRANCH, modes, ZYDIS_MNEMONIC_CALL, s, P_CALL_IND, K_R);
		Z1(FAM_BRANCH, modes, ZYDIS_MNEMONIC_CALL, s, P_CALL_IND, K_M);
	}

	/* BMI1/BMI2/ADX/CRC32: the host has them, unicorn's model does not. */
	static const unsigned vex3[] = { ZYDIS_MNEMONIC_ANDN, ZYDIS_MNEMONIC_BEXTR, ZYDIS_MNEMONIC_BZHI,
					 ZYDIS_MNEMONIC_PDEP, ZYDIS_MNEMONIC_PEXT, ZYDIS_MNEMONIC_SARX,
					 ZYDIS_MNEMONIC_SHLX, ZYDIS_MNEMONIC_SHRX, ZYDIS_MNEMONIC_MULX };
	static const unsigned vex2[] = { ZYDIS_MNEMONIC_BLSI, ZYDIS_MNEMONIC_BLSMSK, ZYDIS_MNEMONIC_BLSR };
	for (unsigned s = 4; s <= 8; s *= 2) {
		for (unsigned i = 0; i < 9; i++) {
			/* BEXTR/BZHI/SARX/SHLX/SHRX take the register last; the others the r/m. */
			bool rm_mid = vex3[i] == ZYDIS_MNEMONIC_BEXTR || vex3[i] == ZYDIS_MNEMONIC_BZHI ||
				      vex3[i] == ZYDIS_MNEMONIC_SARX || vex3[i] == ZYDIS_MNEMONIC_SHLX ||
				      vex3[i] == ZYDIS_MNEMONIC_SHRX;
			zform(FAM_BMI, M64, vex3[i], s, P_NONE, 3, K_R, 0, K_R, 0, K_R, 0);
			if (rm_mid)
				zform(FAM_BMI, M64, vex3[i], s, P_NONE, 3, K_R, 0, K_M, 0, K_R, 0);
			else
				zform(FAM_BMI, M64, vex3[i], s, P_NONE, 3, K_R, 0, K_R, 0, K_M, 0);
		}
		for (unsigned i = 0; i < 3; i++) {
			Z2(FAM_BMI, M64, vex2[i], s, P_NONE, K_R, K_R);
			Z2(FAM_BMI, M64, vex2[i], s, P_NONE, K_R, K_M);
		}
		zform(FAM_BMI, M64, ZYDIS_MNEMONIC_RORX, s, P_NONE, 3, K_R, 0, K_R, 0, K_I8, 0);
		zform(FAM_BMI, M64, ZYDIS_MNEMONIC_RORX, s, P_NONE, 3, K_R, 0, K_M, 0, K_I8, 0);
		Z2(FAM_BMI, M64, ZYDIS_MNEMONIC_ADCX, s, P_NONE, K_R, K_R);
		Z2(FAM_BMI, M64, ZYDIS_MNEMONIC_ADCX, s, P_NONE, K_R, K_M);
		Z2(FAM_BMI, M64, ZYDIS_MNEMONIC_ADOX, s, P_NONE, K_R, K_R);
		Z2(FAM_BMI, M64, ZYDIS_MNEMONIC_ADOX, s, P_NONE, K_R, K_M);
		FOR_SIZES(sizes_all, src)
			if (s == 8 ? src == 1 || src == 8 : src <= 4) { /* the encodings that exist */
				zform(FAM_BMI, M64, ZYDIS_MNEMONIC_CRC32, s, P_NONE, 2, K_R, 0, K_R, src, 0, 0);
				zform(FAM_BMI, M64, ZYDIS_MNEMONIC_CRC32, s, P_NONE, 2, K_R, 0, K_M, src, 0, 0);
			}
	}
}

const struct diff_form *diff_forms(unsigned *count)
{
	if (!nforms)
		build_forms();
	*count = nforms;
	return forms;
}

/* ---- cases ---- */

static unsigned mode_addr_size(enum diff_mode m)
{
	return m == DIFF_REAL16 ? 2 : m == DIFF_PROT32 ? 4 : 8;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static int64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - 8 * size;
	return (int64_t)(v << sh) >> sh;
}

static ZydisMachineMode zmode(enum diff_mode m)
{
	return m == DIFF_REAL16 ? ZYDIS_MACHINE_MODE_REAL_16
	       : m == DIFF_PROT32 ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LONG_64;
}

/* A register operand: GPR number and whether it is AH..BH. */
struct reg_pick { unsigned gpr; bool high; };

static ZydisRegister zreg(struct reg_pick r, unsigned size)
{
	switch (size) {
	case 1:
		if (r.high)
			return ZYDIS_REGISTER_AH + r.gpr;
		if (r.gpr < 4)
			return ZYDIS_REGISTER_AL + r.gpr;
		return r.gpr < 8 ? ZYDIS_REGISTER_SPL + (r.gpr - 4) : ZYDIS_REGISTER_R8B + (r.gpr - 8);
	case 2: return ZYDIS_REGISTER_AX + r.gpr;
	case 4: return ZYDIS_REGISTER_EAX + r.gpr;
	default: return ZYDIS_REGISTER_RAX + r.gpr;
	}
}

/* Writes value into the low size bytes (or AH..BH) of a GPR. */
static void set_reg(uint64_t *gpr, struct reg_pick r, unsigned size, uint64_t value)
{
	if (r.high) {
		gpr[r.gpr] = (gpr[r.gpr] & ~0xff00ull) | (value & 0xff) << 8;
		return;
	}
	uint64_t m = size_mask(size);
	gpr[r.gpr] = (gpr[r.gpr] & ~m) | (value & m);
}

static struct reg_pick pick_reg(enum diff_mode m, uint64_t *rng, unsigned size, unsigned avoid)
{
	unsigned n = m == DIFF_LONG64 ? 16 : 8;
	for (;;) {
		struct reg_pick r = { (unsigned)rnd_below(rng, n), false };
		if (size == 1 && (m != DIFF_LONG64 ? r.gpr >= 4 : rnd_below(rng, 4) == 0 && r.gpr < 4)) {
			r.high = true;
			r.gpr &= 3;
		}
		if (r.gpr == 4 && !r.high) /* RSP stays the stack pointer */
			continue;
		if (avoid & (1u << r.gpr))
			continue;
		return r;
	}
}

static void write_mem(struct diff_case *c, uint64_t off, const void *p, unsigned len)
{
	if (off >= DIFF_MEM_OFF && off + len <= DIFF_WIN_SIZE)
		memcpy(c->in.mem + (off - DIFF_MEM_OFF), p, len);
}

/* A code offset to jump to: in the code page, away from the instruction. */
static uint64_t pick_target(uint64_t *rng, unsigned len)
{
	for (;;) {
		uint64_t t = 0x500 + rnd_below(rng, 0x600);
		if (t < DIFF_INSN_OFF || t >= DIFF_INSN_OFF + len)
			return t;
	}
}

/* Prefix that makes the operand size `size` in mode m (hand encodings). */
static unsigned opsize_prefix(enum diff_mode m, unsigned size, uint8_t *p)
{
	unsigned n = 0;
	bool def16 = m == DIFF_REAL16;
	if (size == 2 && !def16)
		p[n++] = 0x66;
	if (size == 4 && def16)
		p[n++] = 0x66;
	if (size == 8)
		p[n++] = 0x48;
	return n;
}

/* Memory operand description for Zydis plus the window offset it reaches. */
struct mem_pick {
	ZydisRegister base, index;
	unsigned scale;
	int64_t disp;
	uint64_t off; /* window offset of the first byte */
	bool rip_rel;
	unsigned addr_size; /* 2, 4, 8: the address-size override is the decoder's to get right */
};

/* Chooses base/index registers (not in avoid) and values so the operand
 * lands at window offset off. */
static void pick_mem(enum diff_mode m, uint64_t *rng, uint64_t off, unsigned avoid, uint64_t *gpr,
		     struct mem_pick *mp)
{
	memset(mp, 0, sizeof(*mp));
	mp->off = off;
	uint64_t target = diff_addr(m, off);
	avoid |= 1u << 4 | 1u << 0 | 1u << 1 | 1u << 2; /* RSP; RAX/RCX/RDX are implicit operands */
	/* Now and then the other address size (0x67): 32-bit registers in real
	 * and long mode. The window lies below 64 KiB resp. 4 GiB, so it works. */
	bool other_size = m != DIFF_PROT32 && rnd_below(rng, 5) == 0;
	mp->addr_size = m == DIFF_REAL16 ? (other_size ? 4 : 2) : m == DIFF_PROT32 ? 4 : other_size ? 4 : 8;
	if (m == DIFF_REAL16 && !other_size) {
		/* [bx|bp|si|di] or [bx|bp + si|di], disp 0/8/16 bits */
		static const unsigned bases[] = { 3, 5, 6, 7 }, idxs[] = { 6, 7 };
		unsigned b, ix = 99;
		do
			b = bases[rnd_below(rng, 4)];
		while (avoid & (1u << b));
		if ((b == 3 || b == 5) && rnd_below(rng, 2)) {
			ix = idxs[rnd_below(rng, 2)];
			if (avoid & (1u << ix))
				ix = 99;
		}
		mp->disp = rnd_below(rng, 3) == 0 ? 0 : (int64_t)rnd_below(rng, 0x200) - 0x100;
		if (b == 5 && mp->disp == 0 && ix == 99)
			mp->disp = 2; /* [bp] has no disp-less form; keep it explicit */
		uint64_t ixv = ix == 99 ? 0 : rnd_below(rng, 0x100);
		uint64_t bv = (target - ixv - (uint64_t)mp->disp) & 0xffff;
		/* upper halves of 32-bit registers must not matter to 16-bit addressing */
		gpr[b] = (diff_rand(rng) & 0xffff0000ull) | bv;
		mp->base = ZYDIS_REGISTER_AX + b;
		if (ix != 99) {
			gpr[ix] = (diff_rand(rng) & 0xffff0000ull) | ixv;
			mp->index = ZYDIS_REGISTER_AX + ix;
			mp->scale = 1;
		}
		return;
	}
	unsigned n = m == DIFF_LONG64 ? 16 : 8;
	ZydisRegister rbase = mp->addr_size == 8 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX;
	if (m == DIFF_LONG64 && !other_size && rnd_below(rng, 8) == 0) {
		mp->rip_rel = true;
		return;
	}
	unsigned b, ix = 99;
	do
		b = (unsigned)rnd_below(rng, n);
	while (avoid & (1u << b));
	avoid |= 1u << b;
	if (rnd_below(rng, 3) == 0) {
		do
			ix = (unsigned)rnd_below(rng, n);
		while (avoid & (1u << ix));
		mp->scale = 1u << rnd_below(rng, 4);
	}
	switch (rnd_below(rng, 3)) {
	case 0: mp->disp = 0; break;
	case 1: mp->disp = (int64_t)rnd_below(rng, 256) - 128; break;
	default: mp->disp = (int64_t)rnd_below(rng, 0x1000) - 0x800; break;
	}
	uint64_t ixv = ix == 99 ? 0 : rnd_below(rng, 64);
	if (ix != 99 && rnd_below(rng, 4) == 0)
		ixv = -ixv; /* negative index */
	uint64_t bv = target - ixv * (ix == 99 ? 0 : mp->scale) - (uint64_t)mp->disp;
	/* 32-bit addressing in long mode: the upper halves must not matter */
	uint64_t hi = m == DIFF_LONG64 && other_size ? diff_rand(rng) << 32 : 0;
	gpr[b] = mp->addr_size == 8 ? bv : hi | (uint32_t)bv;
	mp->base = rbase + b;
	if (ix != 99) {
		gpr[ix] = mp->addr_size == 8 ? ixv : hi | (uint32_t)ixv;
		mp->index = rbase + ix;
	}
}

static bool zencode(ZydisEncoderRequest *req, uint8_t *buf, unsigned *len)
{
	ZyanUSize n = DIFF_CODE_MAX;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, buf, &n)))
		return false;
	*len = (unsigned)n;
	return true;
}

/* Encodes a Zydis form with the chosen operands; RIP-relative displacement
 * fixed up once the length is known (it does not change: always disp32). */
static bool encode_zydis(const struct diff_form *f, struct diff_case *c, const struct reg_pick *regs,
			 const uint64_t *imm, const struct mem_pick *mp, uint64_t *rng)
{
	ZydisEncoderRequest req;
	memset(&req, 0, sizeof(req));
	req.machine_mode = zmode(c->mode);
	req.mnemonic = (ZydisMnemonic)f->mnemonic;
	req.operand_count = (ZyanU8)f->nops;
	/* no-operand forms of one mnemonic per size (CBW vs CWDE, PUSHF vs PUSHFD) */
	if (!f->nops && f->size >= 2)
		req.operand_size_hint = f->size == 2 ? ZYDIS_OPERAND_SIZE_HINT_16
					: f->size == 4 ? ZYDIS_OPERAND_SIZE_HINT_32 : ZYDIS_OPERAND_SIZE_HINT_64;
	for (unsigned i = 0; i < f->nops; i++) {
		ZydisEncoderOperand *o = &req.operands[i];
		switch (f->op[i].kind) {
		case K_R:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = zreg(regs[i], f->op[i].size);
			break;
		case K_CL:
			o->type = ZYDIS_OPERAND_TYPE_REGISTER;
			o->reg.value = ZYDIS_REGISTER_CL;
			break;
		case K_M:
			o->type = ZYDIS_OPERAND_TYPE_MEMORY;
			o->mem.size = (ZyanU16)f->op[i].size;
			if (f->mnemonic == ZYDIS_MNEMONIC_LEA) /* Zydis sizes LEA's operand by the address */
				o->mem.size = (ZyanU16)(mp->rip_rel ? 8 : mp->addr_size);
			if (mp->rip_rel) {
				o->mem.base = ZYDIS_REGISTER_RIP;
			} else {
				o->mem.base = mp->base;
				o->mem.index = mp->index;
				o->mem.scale = (ZyanU8)mp->scale;
				o->mem.displacement = mp->disp;
			}
			break;
		default: /* immediates, K_ONE included */
			o->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
			o->imm.u = imm[i];
			break;
		}
	}
	/* Prefixes the decoder must handle: a segment override (every segment
	 * has the same base; FS/GS not in long mode, where the host's differ;
	 * CS not in protected mode, where it is read-only) and LOCK where it
	 * is allowed. Dropped again when Zydis refuses them. */
	if (mp && rnd_below(rng, 5) == 0) {
		static const ZydisInstructionAttributes segs[] = { ZYDIS_ATTRIB_HAS_SEGMENT_ES, ZYDIS_ATTRIB_HAS_SEGMENT_SS,
								   ZYDIS_ATTRIB_HAS_SEGMENT_DS, ZYDIS_ATTRIB_HAS_SEGMENT_FS,
								   ZYDIS_ATTRIB_HAS_SEGMENT_GS, ZYDIS_ATTRIB_HAS_SEGMENT_CS };
		unsigned nseg = c->mode == DIFF_LONG64 ? 3 : c->mode == DIFF_PROT32 ? 5 : 6;
		req.prefixes |= segs[rnd_below(rng, nseg)];
	}
	/* unicorn 2.0.1 (QEMU) gets LOCK NEG's flags wrong (lock neg byte [m]
	 * with m = 1 gives flags 0x11, not 0x95): no LOCK NEG where it is the oracle */
	bool lock_ok = c->mode == DIFF_LONG64 || f->mnemonic != ZYDIS_MNEMONIC_NEG;
	if (mp && f->op[0].kind == K_M && lock_ok && rnd_below(rng, 4) == 0)
		req.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	if (req.prefixes && !zencode(&req, c->code, &c->code_len))
		req.prefixes = 0;
	if (!zencode(&req, c->code, &c->code_len)) {
		/* an immediate above the signed range: give it as the negative value */
		for (unsigned i = 0; i < f->nops; i++)
			if (f->op[i].kind == K_I || f->op[i].kind == K_I8 || f->op[i].kind == K_I16)
				req.operands[i].imm.s = sext(imm[i], f->op[i].size);
		if (!zencode(&req, c->code, &c->code_len))
			return false;
	}
	if (mp && mp->rip_rel) {
		uint64_t next = diff_base(c->mode) + DIFF_INSN_OFF + c->code_len;
		for (unsigned i = 0; i < f->nops; i++)
			if (f->op[i].kind == K_M)
				req.operands[i].mem.displacement = (int64_t)(diff_base(c->mode) + mp->off - next);
		unsigned before = c->code_len;
		if (!zencode(&req, c->code, &c->code_len) || c->code_len != before)
			return false;
	}
	return true;
}

/* Shift/rotate counts: 0, 1, the width edges, anything. */
static unsigned pick_count(uint64_t *rng, unsigned size)
{
	unsigned bits = 8 * size;
	switch (rnd_below(rng, 6)) {
	case 0: return (unsigned)rnd_below(rng, 3);
	case 1: return bits - 1 + (unsigned)rnd_below(rng, 3);
	case 2: return (unsigned)rnd_below(rng, 256);
	default: return (unsigned)rnd_below(rng, bits);
	}
}

static void hand_branch(const struct diff_form *f, struct diff_case *c, uint64_t *rng)
{
	enum diff_mode m = c->mode;
	uint8_t *p = c->code;
	unsigned n = 0, relsz = m == DIFF_REAL16 ? 2 : 4;
	switch (f->prep) {
	case P_JMP8: p[n++] = 0xeb; relsz = 1; break;
	case P_JMPREL: p[n++] = 0xe9; break;
	case P_CALLREL: p[n++] = 0xe8; break;
	case P_JCC8: p[n++] = (uint8_t)(0x70 + f->aux); relsz = 1; break;
	case P_JCCREL: p[n++] = 0x0f, p[n++] = (uint8_t)(0x80 + f->aux); break;
	case P_LOOP: p[n++] = (uint8_t)f->aux; relsz = 1; break;
	case P_JCXZ: p[n++] = 0xe3; relsz = 1; break;
	}
	unsigned len = n + relsz;
	uint64_t next = DIFF_INSN_OFF + len, target;
	if (relsz == 1) {
		do
			target = next + (uint64_t)((int64_t)rnd_below(rng, 256) - 128);
		while (target >= DIFF_INSN_OFF && target < next);
	} else {
		target = pick_target(rng, len);
	}
	uint64_t rel = target - next;
	memcpy(p + n, &rel, relsz);
	c->code_len = len;
	/* Counter for LOOP/JCXZ: often 0 or 1, the edges; the address size picks the register part. */
	if (f->prep == P_LOOP || f->prep == P_JCXZ) {
		uint64_t v = rnd_below(rng, 3) ? rnd_below(rng, 3) : rnd_value(rng);
		if (m == DIFF_REAL16)
			c->in.gpr[1] = (c->in.gpr[1] & ~0xffffull) | (v & 0xffff);
		else
			c->in.gpr[1] = m == DIFF_PROT32 ? (uint32_t)v : v;
	}
}

bool diff_gen_case(const struct diff_form *f, enum diff_mode m, uint64_t *rng, struct diff_case *c)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		memset(c, 0, sizeof(*c));
		c->form = f;
		c->mode = m;
		struct diff_state *in = &c->in;
		unsigned nregs = m == DIFF_LONG64 ? 16 : 8;
		for (unsigned i = 0; i < nregs; i++)
			in->gpr[i] = m == DIFF_LONG64 ? rnd_value(rng) : (uint32_t)rnd_value(rng);
		for (unsigned i = 0; i < DIFF_MEM_LEN; i += 8) {
			uint64_t v = diff_rand(rng);
			memcpy(in->mem + i, &v, 8);
		}
		uint64_t sp_off = DIFF_STACK_OFF + 0x800 + (rnd_below(rng, 0x100) & ~1ull);
		in->gpr[4] = diff_addr(m, sp_off);
		in->rip = diff_addr(m, DIFF_INSN_OFF);
		in->rflags = 0x202 | (diff_rand(rng) & DIFF_CMP_FLAGS);
		unsigned asz = mode_addr_size(m);
		unsigned count = 0;

		if (f->prep >= P_STRING && f->prep != P_STRING) {
			if (f->prep == P_RET || f->prep == P_RETI) {
				uint8_t *p = c->code;
				unsigned ssz = asz; /* the return address has the stack width */
				if (f->prep == P_RET) {
					p[0] = 0xc3;
					c->code_len = 1;
				} else {
					uint16_t pop = (uint16_t)(rnd_below(rng, 9) * 2);
					p[0] = 0xc2;
					memcpy(p + 1, &pop, 2);
					c->code_len = 3;
				}
				uint64_t t = diff_addr(m, pick_target(rng, c->code_len));
				write_mem(c, sp_off, &t, ssz);
			} else {
				hand_branch(f, c, rng);
			}
			c->flags_defined = DIFF_CMP_FLAGS;
			return true;
		}
		if (f->prep == P_STRING) {
			uint8_t *p = c->code;
			unsigned n = 0, op = f->aux & 0xff, rep = f->aux >> 8;
			if (rep)
				p[n++] = (uint8_t)rep;
			n += opsize_prefix(m, f->size, p + n);
			p[n++] = (uint8_t)(f->size == 1 ? op : op + 1);
			c->code_len = n;
			uint64_t si = DIFF_DATA_OFF + 0x400 + rnd_below(rng, 0x600);
			uint64_t di = DIFF_DATA_OFF + 0x1000 + rnd_below(rng, 0x600);
			uint64_t cnt = rep ? rnd_below(rng, 7) : rnd_value(rng);
			/* 16-bit addressing uses SI/DI/CX only: random upper halves must not matter */
			uint64_t hi = m == DIFF_REAL16 ? diff_rand(rng) & 0xffff0000ull : 0;
			in->gpr[6] = diff_addr(m, si) | hi;
			in->gpr[7] = diff_addr(m, di) | (m == DIFF_REAL16 ? diff_rand(rng) & 0xffff0000ull : 0);
			in->gpr[1] = m == DIFF_REAL16 ? (diff_rand(rng) & 0xffff0000ull) | cnt : cnt;
			if (rnd_below(rng, 2)) /* equal runs so REPE CMPS/SCAS keep going */
				memcpy(in->mem + (di - DIFF_MEM_OFF), in->mem + (si - DIFF_MEM_OFF), rnd_below(rng, 48));
			if (op == 0xae && rnd_below(rng, 2))
				memcpy(&in->gpr[0], in->mem + (di - DIFF_MEM_OFF), f->size);
			c->flags_defined = DIFF_CMP_FLAGS;
			return true;
		}

		/* Zydis forms: registers first, then memory (its base avoids them), then values. */
		struct reg_pick regs[3] = { 0 };
		uint64_t imm[3] = { 0 };
		unsigned used = 0;
		bool has_mem = false;
		for (unsigned i = 0; i < f->nops; i++) {
			unsigned k = f->op[i].kind, s = f->op[i].size;
			if (k == K_R) {
				unsigned avoid = used;
				if (f->prep == P_DIV || f->prep == P_IDIV)
					avoid |= 1u << 0 | 1u << 2; /* the divisor is not in the dividend */
				if (f->prep == P_SHIFT || f->mnemonic == ZYDIS_MNEMONIC_SHLD || f->mnemonic == ZYDIS_MNEMONIC_SHRD)
					avoid |= 1u << 1; /* CL stays the count */
				if (f->prep == P_CMPXCHG)
					avoid |= 1u << 0;
				regs[i] = pick_reg(m, rng, s, avoid);
				if (!regs[i].high)
					used |= 1u << regs[i].gpr;
				set_reg(in->gpr, regs[i], s, rnd_value(rng));
			} else if (k == K_M) {
				has_mem = true;
			} else if (k == K_I) {
				unsigned isz = s > 4 && !(f->mnemonic == ZYDIS_MNEMONIC_MOV && f->op[0].kind == K_R) ? 4 : s;
				if (f->mnemonic == ZYDIS_MNEMONIC_PUSH && s == 2 && m != DIFF_REAL16)
					isz = 2;
				imm[i] = (uint64_t)sext(rnd_value(rng), isz);
			} else if (k == K_I8) {
				imm[i] = f->prep == P_SHIFT ? pick_count(rng, f->size) : rnd_below(rng, 256);
				if (f->prep == P_AAM && imm[i] == 0)
					imm[i] = 10;
				count = (unsigned)imm[i];
			} else if (k == K_I16) {
				imm[i] = rnd_below(rng, 4) ? rnd_below(rng, 64) : rnd_below(rng, 0x200);
			} else if (k == K_ONE) {
				imm[i] = 1;
				count = 1;
			} else if (k == K_CL) {
				count = pick_count(rng, f->size);
				in->gpr[1] = (in->gpr[1] & ~0xffull) | count;
			}
		}
		/* SHLD/SHRD on 16 bits with a count above 16: result undefined (SDM);
		 * only a host of the model's vendor, where the soft engine must still
		 * agree, sees those. */
		if (oracle_result_undefined(f->mnemonic, f->size, count) && !diff_oracle_is_model(m)) {
			count &= 15;
			for (unsigned i = 0; i < f->nops; i++)
				if (f->op[i].kind == K_I8)
					imm[i] = count;
			if (f->op[2].kind == K_CL)
				in->gpr[1] = (in->gpr[1] & ~0xffull) | count;
		}
		if (f->mnemonic == ZYDIS_MNEMONIC_ENTER)
			imm[1] = rnd_below(rng, 4); /* nesting level: a few frames */

		struct mem_pick mp;
		memset(&mp, 0, sizeof(mp));
		uint64_t mem_off = DIFF_DATA_OFF + 0x400 + rnd_below(rng, 0x1000 - 32);
		if (f->prep == P_CX8)
			mem_off &= ~15ull; /* CMPXCHG16B needs 16-byte alignment */
		if (has_mem)
			pick_mem(m, rng, mem_off, used, in->gpr, &mp);

		/* Form-specific shaping. */
		uint64_t *g = in->gpr;
		switch (f->prep) {
		case P_DIV:
		case P_IDIV: {
			/* dividend = q * d + r with q in range and |r| < |d|: no #DE */
			unsigned s = f->size, bits = 8 * s;
			uint64_t d;
			if (f->op[0].kind == K_R) {
				d = g[regs[0].gpr] >> (regs[0].high ? 8 : 0);
			} else {
				memcpy(&d, in->mem + (mem_off - DIFF_MEM_OFF), 8);
			}
			d &= size_mask(s);
			if (d == 0) {
				d = 1 + rnd_below(rng, 100);
				if (f->op[0].kind == K_R)
					set_reg(g, regs[0], s, d);
				else
					write_mem(c, mem_off, &d, s);
			}
			__int128 dividend;
			if (f->prep == P_DIV) {
				unsigned __int128 q = (diff_rand(rng) & size_mask(s)) >> rnd_below(rng, bits);
				unsigned __int128 r = diff_rand(rng) % d;
				dividend = (__int128)(q * d + r);
			} else {
				__int128 sd = sext(d, s);
				__int128 q = (__int128)sext(diff_rand(rng), s) >> (1 + rnd_below(rng, bits));
				__int128 ad = sd < 0 ? -sd : sd;
				__int128 r = (__int128)(diff_rand(rng) % (uint64_t)ad);
				__int128 prod = q * sd;
				if (prod < 0 || (prod == 0 && rnd_below(rng, 2)))
					r = -r;
				dividend = prod + r;
			}
			unsigned __int128 u = (unsigned __int128)dividend;
			if (s == 1) {
				g[0] = (g[0] & ~0xffffull) | (uint64_t)(u & 0xffff);
			} else {
				set_reg(g, (struct reg_pick){ 0, false }, s, (uint64_t)u);
				set_reg(g, (struct reg_pick){ 2, false }, s, (uint64_t)(u >> bits));
			}
			if (m != DIFF_LONG64)
				g[0] = (uint32_t)g[0], g[2] = (uint32_t)g[2];
			break;
		}
		case P_BITMEM: {
			/* the bit offset register addresses beyond the operand: keep it near */
			int64_t bitoff = (int64_t)rnd_below(rng, 2048) - 1024;
			set_reg(g, regs[1], f->size, (uint64_t)bitoff);
			break;
		}
		case P_CMPXCHG:
			if (rnd_below(rng, 2)) {
				uint64_t v;
				if (f->op[0].kind == K_R)
					v = g[regs[0].gpr] >> (regs[0].high ? 8 : 0);
				else
					memcpy(&v, in->mem + (mem_off - DIFF_MEM_OFF), 8);
				set_reg(g, (struct reg_pick){ 0, false }, f->size, v);
			}
			break;
		case P_CX8:
			if (rnd_below(rng, 2)) {
				uint64_t lo, hi;
				memcpy(&lo, in->mem + (mem_off - DIFF_MEM_OFF), 8);
				memcpy(&hi, in->mem + (mem_off - DIFF_MEM_OFF) + 8, 8);
				if (f->size == 4)
					g[0] = (g[0] & ~0xffffffffull) | (uint32_t)lo, g[2] = (g[2] & ~0xffffffffull) | lo >> 32;
				else
					g[0] = lo, g[2] = hi;
			}
			break;
		case P_POPF: {
			/* arithmetic flags and DF only: user mode cannot change the rest */
			uint64_t v = (diff_rand(rng) & DIFF_CMP_FLAGS) | 0x202;
			write_mem(c, sp_off, &v, f->size);
			break;
		}
		case P_LEAVE:
		case P_ENTER: {
			uint64_t bp_off = DIFF_STACK_OFF + 0x900 + (rnd_below(rng, 0x100) & ~1ull);
			uint64_t v = diff_addr(m, bp_off);
			if (m == DIFF_REAL16)
				v |= diff_rand(rng) & 0xffff0000ull;
			g[5] = v;
			break;
		}
		case P_BRANCH_IND:
		case P_CALL_IND: {
			uint64_t t = diff_addr(m, pick_target(rng, 16));
			if (f->op[0].kind == K_R)
				set_reg(g, regs[0], f->size, t);
			else
				write_mem(c, mem_off, &t, f->size);
			break;
		}
		case P_BITSCAN:
			if (rnd_below(rng, 8) == 0) { /* zero source: ZF=1, destination kept */
				uint64_t z = 0;
				if (f->op[1].kind == K_R)
					set_reg(g, regs[1], f->size, 0);
				else
					write_mem(c, mem_off, &z, f->size);
			}
			break;
		}
		if (!encode_zydis(f, c, regs, imm, has_mem ? &mp : NULL, rng))
			continue; /* e.g. AH with a REX prefix: other registers */
		c->flags_defined = DIFF_CMP_FLAGS & ~oracle_undefined_flags(f->mnemonic, f->size, count);
		c->result_defined = !oracle_result_undefined(f->mnemonic, f->size, count);
		return true;
	}
	return false;
}
