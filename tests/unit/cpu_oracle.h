/* SPDX-License-Identifier: MIT */
/*
 * What the host CPU may be trusted with as an oracle for the soft CPU. The
 * soft CPU is one model (Intel; docs/cpu-model.md) on every host: the host
 * is an oracle for architecturally defined results and flags always, and for
 * what the SDM leaves undefined only when it is of the model's vendor.
 *
 * X86V_TEST_FOREIGN_HOST=1 makes the tests treat the host as another
 * vendor's, to run the comparisons an AMD host gets on an Intel one.
 */
#ifndef X86V_TESTS_CPU_ORACLE_H
#define X86V_TESTS_CPU_ORACLE_H

#include <cpuid.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#define ORACLE_MODEL_VENDOR "GenuineIntel" /* soft_cpuid() leaf 0 */

/* Whether the host's undefined flags and results are the model's. */
static inline bool oracle_host_is_model(void)
{
	static int cached = -1;
	if (cached < 0) {
		unsigned a, b, c, d;
		char vendor[13] = "";
		if (__get_cpuid(0, &a, &b, &c, &d)) {
			memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4);
			vendor[12] = 0;
		}
		const char *foreign = getenv("X86V_TEST_FOREIGN_HOST");
		cached = !strcmp(vendor, ORACLE_MODEL_VENDOR) && !(foreign && *foreign && strcmp(foreign, "0"));
	}
	return cached;
}

#define ORACLE_CF 0x1ull
#define ORACLE_PF 0x4ull
#define ORACLE_AF 0x10ull
#define ORACLE_ZF 0x40ull
#define ORACLE_SF 0x80ull
#define ORACLE_OF 0x800ull

/*
 * The arithmetic flags the SDM (Vol. 2, each instruction's "Flags Affected")
 * leaves undefined for mnemonic at operand size bytes with shift/rotate count
 * count (as encoded or in CL; ignored elsewhere). Per family:
 *   AND/OR/XOR/TEST: AF.
 *   SHL/SHR/SAR: none for a masked count of 0 (flags unchanged); else AF,
 *     OF unless the count is 1, CF for SHL/SHR when the count >= width.
 *   ROL/ROR/RCL/RCR: OF unless the masked count is 0 or 1.
 *   SHLD/SHRD: none for count 0; else AF, and OF unless the count is 1
 *     (16-bit counts above 16 leave the result undefined too:
 *     oracle_result_undefined).
 *   BT/BTS/BTR/BTC: OF SF AF PF (CF defined, ZF unchanged).
 *   BSF/BSR: all but ZF.   MUL/IMUL: SF ZF AF PF.   DIV/IDIV: all six.
 *   DAA/DAS: OF.   AAA/AAS: OF SF ZF PF.   AAM/AAD: OF AF CF.
 *   LZCNT/TZCNT: OF SF AF PF.   ANDN, BLSI, BLSMSK, BLSR, BZHI: AF PF.
 *   BEXTR: AF SF PF.
 *   Everything else (ADD..CMP, INC/DEC/NEG, CMPXCHG, XADD, POPCNT, ...):
 *   all defined.
 */
static inline uint64_t oracle_undefined_flags(unsigned mnemonic, unsigned size, unsigned count)
{
	unsigned bits = 8 * size;
	unsigned masked = count & (size == 8 ? 0x3f : 0x1f);
	switch (mnemonic) {
	case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_TEST:
		return ORACLE_AF;
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
		if (!masked)
			return 0;
		return ORACLE_AF | (masked != 1 ? ORACLE_OF : 0) |
		       (mnemonic != ZYDIS_MNEMONIC_SAR && masked >= bits ? ORACLE_CF : 0);
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
		return masked > 1 ? ORACLE_OF : 0;
	case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		if (!masked)
			return 0;
		return ORACLE_AF | (masked != 1 ? ORACLE_OF : 0);
	case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
		return ORACLE_OF | ORACLE_SF | ORACLE_AF | ORACLE_PF;
	case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR:
		return ORACLE_CF | ORACLE_OF | ORACLE_SF | ORACLE_AF | ORACLE_PF;
	case ZYDIS_MNEMONIC_MUL: case ZYDIS_MNEMONIC_IMUL:
		return ORACLE_SF | ORACLE_ZF | ORACLE_AF | ORACLE_PF;
	case ZYDIS_MNEMONIC_DIV: case ZYDIS_MNEMONIC_IDIV:
		return ORACLE_CF | ORACLE_PF | ORACLE_AF | ORACLE_ZF | ORACLE_SF | ORACLE_OF;
	case ZYDIS_MNEMONIC_DAA: case ZYDIS_MNEMONIC_DAS:
		return ORACLE_OF;
	case ZYDIS_MNEMONIC_AAA: case ZYDIS_MNEMONIC_AAS:
		return ORACLE_OF | ORACLE_SF | ORACLE_ZF | ORACLE_PF;
	case ZYDIS_MNEMONIC_AAM: case ZYDIS_MNEMONIC_AAD:
		return ORACLE_OF | ORACLE_AF | ORACLE_CF;
	case ZYDIS_MNEMONIC_LZCNT: case ZYDIS_MNEMONIC_TZCNT:
		return ORACLE_OF | ORACLE_SF | ORACLE_AF | ORACLE_PF;
	case ZYDIS_MNEMONIC_ANDN: case ZYDIS_MNEMONIC_BLSI: case ZYDIS_MNEMONIC_BLSMSK: case ZYDIS_MNEMONIC_BLSR:
	case ZYDIS_MNEMONIC_BZHI:
		return ORACLE_AF | ORACLE_PF;
	case ZYDIS_MNEMONIC_BEXTR:
		return ORACLE_AF | ORACLE_SF | ORACLE_PF;
	default:
		return 0;
	}
}

/*
 * Whether the result itself is vendor-specific: SHLD/SHRD of 16 bits by more
 * than 16 and BSWAP of a 16-bit register (undefined in the SDM), AAA and AAS
 * (Intel adds or subtracts 106h across all of AX; AMD adjusts AL and AH apart,
 * so a carry or borrow out of AL differs).
 */
static inline bool oracle_result_undefined(unsigned mnemonic, unsigned size, unsigned count)
{
	switch (mnemonic) {
	case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		return size == 2 && (count & 0x1f) > 16;
	case ZYDIS_MNEMONIC_BSWAP:
		return size == 2;
	case ZYDIS_MNEMONIC_AAA: case ZYDIS_MNEMONIC_AAS:
		return true;
	default:
		return false;
	}
}

#endif
