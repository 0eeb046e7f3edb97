/* SPDX-License-Identifier: MIT */
/*
 * The engine-neutral architectural state of one x86 CPU: what boot code
 * builds, what engines load and save, what dumps and snapshots show.
 * Plain fixed-layout struct: the software engine addresses it directly.
 */
#ifndef X86V_CPU_X86_STATE_H
#define X86V_CPU_X86_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
	X86_NR_GPRS
};

/* Segment registers in instruction-encoding order. */
enum x86_sreg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_NR_SREGS };

/* Descriptor attribute bits, packed as in the descriptor's bytes 5..6 (SDM Vol. 3A §3.4.5). */
#define SEG_ATTR_TYPE 0x000f
#define SEG_ATTR_S 0x0010 /* code/data (1) vs system (0) */
#define SEG_ATTR_DPL_SHIFT 5
#define SEG_ATTR_DPL 0x0060
#define SEG_ATTR_P 0x0080
#define SEG_ATTR_AVL 0x1000
#define SEG_ATTR_L 0x2000
#define SEG_ATTR_DB 0x4000
#define SEG_ATTR_G 0x8000
#define SEG_ATTR_UNUSABLE 0x10000 /* null selector loaded in protected mode */

#define SEG_TYPE_ACCESSED 0x1
#define SEG_TYPE_DATA_RW 0x2
#define SEG_TYPE_CODE 0x8
#define SEG_TYPE_CODE_R 0x2
#define SEG_TYPE_TSS32_BUSY 0xb
#define SEG_TYPE_LDT 0x2

/* A segment register with its hidden descriptor cache. limit is the byte-granular limit. */
struct x86_segment {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;
	uint32_t attr;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)

#define CR4_VME (1ULL << 0)
#define CR4_PVI (1ULL << 1)
#define CR4_TSD (1ULL << 2)
#define CR4_DE (1ULL << 3)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_MCE (1ULL << 6)
#define CR4_PGE (1ULL << 7)
#define CR4_PCE (1ULL << 8)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_UMIP (1ULL << 11)
#define CR4_FSGSBASE (1ULL << 16)
#define CR4_PCIDE (1ULL << 17)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE (1ULL << 22)

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_FIXED (1ULL << 1)
#define RFLAGS_PF (1ULL << 2)
#define RFLAGS_AF (1ULL << 4)
#define RFLAGS_ZF (1ULL << 6)
#define RFLAGS_SF (1ULL << 7)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_DF (1ULL << 10)
#define RFLAGS_OF (1ULL << 11)
#define RFLAGS_IOPL (3ULL << 12)
#define RFLAGS_NT (1ULL << 14)
#define RFLAGS_RF (1ULL << 16)
#define RFLAGS_VM (1ULL << 17)
#define RFLAGS_AC (1ULL << 18)
#define RFLAGS_VIF (1ULL << 19)
#define RFLAGS_VIP (1ULL << 20)
#define RFLAGS_ID (1ULL << 21)

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

#define APIC_BASE_DEFAULT 0xfee00000ULL
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_ENABLE (1ULL << 11)

/* The MSRs every engine saves and restores, beyond EFER and the segment bases. */
struct x86_msrs {
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc, tsc_aux, pat, misc_enable;
};

/* x87/SSE state in FXSAVE terms, with the AVX upper halves and PKRU of XSAVE. */
struct x86_fpu_state {
	uint16_t fcw, fsw;
	uint8_t ftw; /* abridged tag word, as FXSAVE stores it */
	uint16_t fop;
	uint64_t fip, fdp;
	uint8_t st[8][16]; /* 80-bit registers, physical order, padded to 16 bytes */
	uint8_t xmm[16][16];
	/* Bits 255:128 of YMM0-15 (XSAVE component 2, AVX): meaningful while xcr0
	 * enables AVX (kvm); zero otherwise (the soft CPU has no AVX). */
	uint8_t ymm_hi[16][16];
	uint32_t mxcsr;
	uint64_t xcr0;
	uint32_t pkru; /* protection-key rights for user pages (XSAVE component 9) */
};

enum x86_injected_event {
	X86_EVENT_NONE,
	X86_EVENT_INTR, /* an external interrupt (INTA done: in service at its controller) */
	X86_EVENT_EXCEPTION,
};

/* Events in flight between instructions. */
struct x86_events {
	bool interrupt_shadow; /* after STI / MOV SS */
	bool nmi_pending;
	bool nmi_masked;
	bool halted;
	/* An event the CPU accepted but had not yet delivered through the IDT when
	 * it stopped (KVM can stop a vCPU there; the soft engine never does): the
	 * next run delivers it before anything else, rip being where it returns. */
	uint8_t injected; /* enum x86_injected_event */
	uint8_t injected_vector;
	bool injected_has_error;
	uint32_t injected_error;
};

struct x86_cpu_state {
	uint64_t gpr[X86_NR_GPRS];
	uint64_t rip;
	uint64_t rflags;
	struct x86_segment seg[X86_NR_SREGS];
	struct x86_segment ldtr, tr;
	struct x86_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[4], dr6, dr7;
	uint64_t apic_base;
	struct x86_msrs msr;
	struct x86_fpu_state fpu;
	struct x86_events events;
};

/* The state after RESET (SDM Vol. 3A §9.1.1, Table 9-1): real mode at F000:FFF0. */
void x86_state_reset(struct x86_cpu_state *s);
/* Flat 4 GiB ring-0 segments and CR0.PE with paging off: the Multiboot entry state. */
void x86_state_flat32(struct x86_cpu_state *s);
/* Which mode the state is in, as a short word: "real", "vm86", "prot16", "prot32", "compat", "long64". */
const char *x86_state_mode(const struct x86_cpu_state *s);
/* Multi-line register dump in the style of QEMU's "info registers". */
void x86_state_dump(const struct x86_cpu_state *s, FILE *out);

#endif
