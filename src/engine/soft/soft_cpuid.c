/* SPDX-License-Identifier: MIT */
/*
 * The CPU the soft engine presents (SDM Vol. 2A, CPUID): a 64-bit x86 with
 * exactly the features this engine implements. x87/MMX/SSE are absent until
 * they are implemented, so CPUID does not advertise them.
 */
#include <string.h>

#include "engine/soft/soft_engine.h"

#define LEAF1_EDX_PSE (1u << 3)
#define LEAF1_EDX_TSC (1u << 4)
#define LEAF1_EDX_MSR (1u << 5)
#define LEAF1_EDX_PAE (1u << 6)
#define LEAF1_EDX_CX8 (1u << 8)
#define LEAF1_EDX_SEP (1u << 11)
#define LEAF1_EDX_PGE (1u << 13)
#define LEAF1_EDX_CMOV (1u << 15)
#define LEAF1_EDX_PAT (1u << 16)
#define LEAF1_EDX_CLFSH (1u << 19)
#define LEAF1_ECX_CX16 (1u << 13)
#define LEAF1_ECX_MOVBE (1u << 22)
#define LEAF1_ECX_POPCNT (1u << 23)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF7_EBX_BMI1 (1u << 3)
#define LEAF7_EBX_BMI2 (1u << 8)
#define LEAF7_EBX_ADX (1u << 19)
#define EXT1_EDX_SYSCALL (1u << 11)
#define EXT1_EDX_NX (1u << 20)
#define EXT1_EDX_PAGE1GB (1u << 26)
#define EXT1_EDX_RDTSCP (1u << 27)
#define EXT1_EDX_LM (1u << 29)
#define EXT1_ECX_LAHF_LM (1u << 0)
#define EXT1_ECX_ABM (1u << 5)

static void put_string(uint32_t out[4], const char *s16)
{
	memcpy(out, s16, 16);
}

void soft_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	/* out = { eax, ebx, ecx, edx } */
	memset(out, 0, 16);
	switch (leaf) {
	case 0:
		out[0] = 7;
		memcpy(&out[1], "Genu", 4);
		memcpy(&out[3], "ineI", 4);
		memcpy(&out[2], "ntel", 4);
		break;
	case 1:
		out[0] = 0x000306a9; /* family 6, model 0x3a, stepping 9 */
		out[1] = 0x00010800; /* CLFLUSH line 64 bytes, 1 logical processor */
		out[2] = LEAF1_ECX_CX16 | LEAF1_ECX_MOVBE | LEAF1_ECX_POPCNT | LEAF1_ECX_HYPERVISOR;
		out[3] = LEAF1_EDX_PSE | LEAF1_EDX_TSC | LEAF1_EDX_MSR | LEAF1_EDX_PAE | LEAF1_EDX_CX8 |
			 LEAF1_EDX_SEP | LEAF1_EDX_PGE | LEAF1_EDX_CMOV | LEAF1_EDX_PAT | LEAF1_EDX_CLFSH;
		break;
	case 7:
		if (subleaf == 0)
			out[1] = LEAF7_EBX_BMI1 | LEAF7_EBX_BMI2 | LEAF7_EBX_ADX;
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = EXT1_ECX_LAHF_LM | EXT1_ECX_ABM;
		out[3] = EXT1_EDX_SYSCALL | EXT1_EDX_NX | EXT1_EDX_PAGE1GB | EXT1_EDX_RDTSCP | EXT1_EDX_LM;
		break;
	case 0x80000002: put_string(out, "x86v soft CPU (i"); break;
	case 0x80000003: put_string(out, "nterpreter)\0\0\0\0\0"); break;
	case 0x80000004: break;
	case 0x80000008:
		out[0] = 40 | (48 << 8); /* physical and linear address bits */
		break;
	default:
		/* Intel returns the highest basic leaf's data for leaves past it;
		 * zeros are what guests handle best and what we document. */
		break;
	}
}
