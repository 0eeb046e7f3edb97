/* SPDX-License-Identifier: MIT */
/*
 * Whole-engine differential testing of the soft engine: shared types of the
 * case generator (diff_gen.c) and the three executors that run a case — the
 * soft engine itself (diff_soft.c), the host CPU (diff_host.c, 64-bit only)
 * and libunicorn (diff_unicorn.c, 16- and 32-bit).
 *
 * Every executor sees the same window of memory at the same addresses:
 *   base + 0x0000  code page, all HLT (0xf4) but the instruction under test
 *                  at base + DIFF_INSN_OFF; any path out of it ends on a HLT
 *   base + 0x1000  data (8 KiB of random bytes, memory operands point here)
 *   base + 0x3000  stack page
 * The run ends at the first HLT, so exactly the instruction under test runs
 * (plus the terminator): the final RIP is one past the HLT that stopped it.
 * Real mode puts every segment base at base and registers hold offsets; the
 * flat modes use linear addresses.
 */
#ifndef X86V_TESTS_DIFF_H
#define X86V_TESTS_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu_oracle.h"

enum diff_mode { DIFF_REAL16, DIFF_PROT32, DIFF_LONG64, DIFF_NMODES };

#define DIFF_INSN_OFF 0x800u
#define DIFF_DATA_OFF 0x1000u
#define DIFF_STACK_OFF 0x3000u
#define DIFF_WIN_SIZE 0x4000u
#define DIFF_MEM_OFF DIFF_DATA_OFF /* data + stack are compared */
#define DIFF_MEM_LEN (DIFF_WIN_SIZE - DIFF_MEM_OFF)
#define DIFF_CODE_MAX 24

/* The window's linear base per mode. */
static inline uint64_t diff_base(enum diff_mode m)
{
	return m == DIFF_REAL16 ? 0x10000 : 0x200000;
}

/* What a register holds to point at window offset off. */
static inline uint64_t diff_addr(enum diff_mode m, uint64_t off)
{
	return m == DIFF_REAL16 ? off : diff_base(m) + off;
}

#define DIFF_ARITH_FLAGS 0x8d5ull /* CF PF AF ZF SF OF */
#define DIFF_CMP_FLAGS (DIFF_ARITH_FLAGS | 0x400ull) /* and DF */

struct diff_state {
	uint64_t gpr[16];
	uint64_t rip; /* as the register reads: offset in real mode, else linear */
	uint64_t rflags;
	bool fault; /* stopped by an exception instead of the HLT */
	uint8_t mem[DIFF_MEM_LEN];
};

enum diff_family {
	FAM_ALU, FAM_UNARY, FAM_SHIFT, FAM_SHXD, FAM_BIT, FAM_BITSCAN, FAM_MOV, FAM_XCHG, FAM_CMOV,
	FAM_SETCC, FAM_LEA, FAM_MULDIV, FAM_STRING, FAM_STACK, FAM_BCD, FAM_CONV, FAM_FLAGOPS,
	FAM_BRANCH, FAM_BMI, DIFF_NFAMILIES
};
extern const char *const diff_family_names[DIFF_NFAMILIES];
extern const char *const diff_mode_names[DIFF_NMODES];

struct diff_form {
	char name[48]; /* "add r32, m32" */
	enum diff_family family;
	unsigned modes; /* bit per enum diff_mode */
	unsigned mnemonic; /* ZydisMnemonic, or 0 for hand-encoded forms */
	unsigned size; /* operand size in bytes */
	unsigned nops;
	struct { unsigned kind, size; } op[3];
	unsigned prep; /* generator tweak (enum in diff_gen.c) */
	unsigned aux; /* hand-encoded forms: opcode / condition / prefix detail */
};

struct diff_case {
	const struct diff_form *form;
	enum diff_mode mode;
	uint8_t code[DIFF_CODE_MAX];
	unsigned code_len;
	struct diff_state in;
	/* The flags the SDM defines for this case: all that is compared against
	 * unicorn and a host of another vendor than the model's; a host of the
	 * model's vendor is compared on all of DIFF_CMP_FLAGS. */
	uint64_t flags_defined;
	bool result_defined; /* false: the SDM leaves the result itself undefined */
};

/* Whether mode m's oracle gives the model's undefined flags and results too:
 * the host (long64) when it is of the model's vendor (cpu_oracle.h). */
static inline bool diff_oracle_is_model(enum diff_mode m)
{
	return m == DIFF_LONG64 && oracle_host_is_model();
}

/* All forms (built on first use), and how many. */
const struct diff_form *diff_forms(unsigned *count);
/* Fills c with a random case of form f in mode m. false: the form cannot be
 * encoded in this mode (Zydis refused every register choice). */
bool diff_gen_case(const struct diff_form *f, enum diff_mode m, uint64_t *rng, struct diff_case *c);
uint64_t diff_rand(uint64_t *rng);

/* Executors: 0 with *out filled, or -1 when the executor itself failed (why). */
struct diff_soft;
/* translator: the soft engine's translating tier, translating every block on
 * its first run; else the interpreter alone. */
struct diff_soft *diff_soft_new(enum diff_mode m, bool translator);
int diff_soft_run(struct diff_soft *d, const struct diff_case *c, struct diff_state *out);
void diff_soft_free(struct diff_soft *d);

bool diff_host_available(void);
int diff_host_run(const struct diff_case *c, struct diff_state *out);

struct diff_unicorn;
struct diff_unicorn *diff_unicorn_new(enum diff_mode m); /* NULL: no libunicorn */
int diff_unicorn_run(struct diff_unicorn *u, const struct diff_case *c, struct diff_state *out);
void diff_unicorn_free(struct diff_unicorn *u);

#endif
