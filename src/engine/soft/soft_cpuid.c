/* SPDX-License-Identifier: MIT */
/*
 * The CPU the soft engine presents (SDM Vol. 2A, CPUID): a 64-bit x86 with
 * exactly the features this engine implements: the x87 FPU, FXSAVE/FXRSTOR
 * and XSAVE for x87|SSE (leaf 0xd), MMX and SSE..SSE4.2 (POPCNT included;
 * PCLMULQDQ and AES-NI are implemented but not advertised). Each vCPU
 * is a package of its own.
 */
#include <string.h>

#include "engine/soft/soft_engine.h"

#define LEAF1_EDX_FPU (1u << 0)
#define LEAF1_EDX_PSE (1u << 3)
#define LEAF1_EDX_TSC (1u << 4)
#define LEAF1_EDX_MSR (1u << 5)
#define LEAF1_EDX_PAE (1u << 6)
#define LEAF1_EDX_CX8 (1u << 8)
#define LEAF1_EDX_APIC (1u << 9)
#define LEAF1_EDX_SEP (1u << 11)
#define LEAF1_EDX_PGE (1u << 13)
#define LEAF1_EDX_CMOV (1u << 15)
#define LEAF1_EDX_PAT (1u << 16)
#define LEAF1_EDX_CLFSH (1u << 19)
#define LEAF1_EDX_MMX (1u << 23)
#define LEAF1_EDX_SSE (1u << 25)
#define LEAF1_EDX_SSE2 (1u << 26)
#define LEAF1_EDX_FXSR (1u << 24)
#define LEAF1_ECX_CX16 (1u << 13)
#define LEAF1_ECX_MOVBE (1u << 22)
#define LEAF1_ECX_POPCNT (1u << 23)
#define LEAF1_ECX_XSAVE (1u << 26) /* OSXSAVE (bit 27) is added by CPUID itself from CR4 */
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF7_EBX_FSGSBASE (1u << 0)
#define LEAF7_EBX_BMI1 (1u << 3)
#define LEAF7_EBX_SMEP (1u << 7)
#define LEAF7_EBX_SMAP (1u << 20)
#define LEAF7_ECX_UMIP (1u << 2)
#define LEAF7_ECX_PKU (1u << 3) /* OSPKE (bit 4) is added by CPUID itself from CR4 */
#define LEAF7_EBX_BMI2 (1u << 8)
#define LEAF7_EBX_ADX (1u << 19)
#define LEAF7_EBX_FCS_FDS_DEPRECATED (1u << 13) /* x87 FCS/FDS saved as zero */
#define LEAFD1_EAX_XSAVEOPT (1u << 0)
#define LEAF7_EDX_ARCH_CAPABILITIES (1u << 29)
#define EXT7_EDX_INVARIANT_TSC (1u << 8)
#define EXT1_EDX_SYSCALL (1u << 11)
#define EXT1_EDX_NX (1u << 20)
#define EXT1_EDX_PAGE1GB (1u << 26)
#define EXT1_EDX_RDTSCP (1u << 27)
#define EXT1_EDX_LM (1u << 29)
#define EXT1_ECX_LAHF_LM (1u << 0)
#define EXT1_ECX_ABM (1u << 5)

/*
 * The cache hierarchy the model describes (an Ivy Bridge core's): L1 data and
 * instruction 32 KiB 8-way, L2 256 KiB 8-way, L3 8 MiB 16-way inclusive, all
 * with 64-byte lines, each private to its vCPU. Leaf 4 subleaf n:
 * EAX type | level << 5 | self-initializing, EBX ways-1 << 22 | line-1,
 * ECX sets-1, EDX bit 1 inclusive (SDM Vol. 2A, CPUID leaf 04H).
 */
static const uint32_t cache_leaf4[][4] = {
	{ 0x121, (7u << 22) | 63, 32 * 1024 / (8 * 64) - 1, 0 },
	{ 0x122, (7u << 22) | 63, 32 * 1024 / (8 * 64) - 1, 0 },
	{ 0x143, (7u << 22) | 63, 256 * 1024 / (8 * 64) - 1, 0 },
	{ 0x163, (15u << 22) | 63, 8 * 1024 * 1024 / (16 * 64) - 1, 2 },
};

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
		out[0] = 0x16;
		memcpy(&out[1], "Genu", 4);
		memcpy(&out[3], "ineI", 4);
		memcpy(&out[2], "ntel", 4);
		break;
	case 1:
		out[0] = 0x000306a9; /* family 6, model 0x3a, stepping 9 */
		/* CLFLUSH line 64 bytes, 1 logical processor: each vCPU is a
		 * package of its own (one core, one thread), so no HTT and no
		 * leaf 0BH/1FH topology. The CPUID instruction adds the initial
		 * APIC ID (bits 31:24). */
		out[1] = 0x00010800;
		out[2] = LEAF1_ECX_CX16 | LEAF1_ECX_MOVBE | LEAF1_ECX_POPCNT | LEAF1_ECX_XSAVE | LEAF1_ECX_HYPERVISOR;
		/* SSE3/SSSE3/SSE4.1/SSE4.2 as far as the host runs them (interp/sse_exec.c) */
		out[2] |= soft_sse_cpuid_ecx();
		out[3] = LEAF1_EDX_FPU | LEAF1_EDX_FXSR | LEAF1_EDX_PSE | LEAF1_EDX_TSC | LEAF1_EDX_MSR | LEAF1_EDX_PAE | LEAF1_EDX_CX8 | LEAF1_EDX_APIC |
			 LEAF1_EDX_SEP | LEAF1_EDX_PGE | LEAF1_EDX_CMOV | LEAF1_EDX_PAT | LEAF1_EDX_CLFSH |
			 LEAF1_EDX_MMX | LEAF1_EDX_SSE | LEAF1_EDX_SSE2;
		break;
	case 2:
		/* One call; descriptor FFh: the caches are described by leaf 4. */
		out[0] = 0xff01;
		break;
	case 4:
		if (subleaf < sizeof(cache_leaf4) / sizeof(cache_leaf4[0]))
			memcpy(out, cache_leaf4[subleaf], 16);
		break; /* type 0: no more caches */
	case 7:
		if (subleaf == 0) {
			out[2] = LEAF7_ECX_UMIP | LEAF7_ECX_PKU;
			out[1] = LEAF7_EBX_FSGSBASE | LEAF7_EBX_SMEP | LEAF7_EBX_SMAP | LEAF7_EBX_BMI1 | LEAF7_EBX_BMI2 | LEAF7_EBX_ADX | LEAF7_EBX_FCS_FDS_DEPRECATED;
			out[3] = LEAF7_EDX_ARCH_CAPABILITIES;
		}
		break;
	case 0x15:
		/* TSC = crystal x 2 / 1 = SOFT_TSC_HZ, so guests need not calibrate.
		 * The crystal is the local APIC timer's 1 GHz clock (LAPIC_BUS_HZ):
		 * Linux derives the APIC timer period from it too. */
		out[0] = 1;
		out[1] = (uint32_t)(SOFT_TSC_HZ / 1000000000);
		out[2] = 1000000000;
		break;
	case 0x16:
		/* Base and maximum frequency (MHz), bus (reference) frequency. */
		out[0] = out[1] = (uint32_t)(SOFT_TSC_HZ / 1000000);
		out[2] = 100;
		break;
	case 0xd:
		/* XSAVE (SDM Vol. 1 §13.2): x87 and SSE in the legacy region, PKRU
		 * (component 9) at its offset. EBX is the size for XCR0 as reset
		 * sets it (the CPUID instruction puts the current one there). */
		if (subleaf == 0) {
			out[0] = (uint32_t)XCR0_SUPPORTED;
			out[1] = soft_xsave_size(XCR0_X87);
			out[2] = soft_xsave_size(XCR0_SUPPORTED);
		} else if (subleaf == 1) {
			out[0] = LEAFD1_EAX_XSAVEOPT;
		} else if (subleaf == 9) {
			out[0] = XSAVE_PKRU_SIZE;
			out[1] = XSAVE_PKRU_OFFSET;
		}
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = EXT1_ECX_LAHF_LM | EXT1_ECX_ABM;
		out[3] = EXT1_EDX_SYSCALL | EXT1_EDX_NX | EXT1_EDX_PAGE1GB | EXT1_EDX_RDTSCP | EXT1_EDX_LM;
		break;
	case 0x80000002: put_string(out, "x86v soft CPU\0\0\0"); break;
	case 0x80000003: break;
	case 0x80000004: break;
	case 0x80000006:
		/* L2: 64-byte lines, 8-way (encoding 6), 256 KiB; leaf 0x80000005 is reserved on Intel. */
		out[2] = 64 | (6u << 12) | (256u << 16);
		break;
	case 0x80000007:
		/* The guest TSC runs on the virtual clock (soft_tsc.c): constant
		 * rate, running in every state. */
		out[3] = EXT7_EDX_INVARIANT_TSC;
		break;
	case 0x80000008:
		out[0] = 40 | (48 << 8); /* physical and linear address bits */
		break;
	default:
		/* Intel returns the highest basic leaf's data for leaves past it;
		 * zeros are what guests handle best and what we document. */
		break;
	}
}
