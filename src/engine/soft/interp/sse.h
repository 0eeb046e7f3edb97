/* SPDX-License-Identifier: MIT */
/*
 * What the MMX/SSE families (interp/sse_*.c, mmx.c) share: the availability
 * checks (SDM Vol. 3A §13.1, Table 13-1 / Vol. 1 §11.6), MXCSR bits (Vol. 1
 * §10.2.3), MMX register aliasing (Vol. 1 §9.5), SIMD memory operands, and
 * the host-execution core.
 *
 * Host execution: most SIMD instructions are run on the host's own SSE unit
 * with the guest's MXCSR (all exceptions masked, so nothing traps in the
 * VMM), because on this same-ISA host that is bit-exact by construction
 * (NaN propagation, DAZ/FTZ, RCPPS approximations). A family describes each
 * mnemonic with a struct sse_op: small native stubs, assembled at build time
 * into .text, that run the instruction on fixed registers:
 *   host xmm0 = destination (in and out), xmm1 = source, xmm2 = guest XMM0
 *   (BLENDV*'s implicit mask), mm0/mm1 the same for MMX forms, rax/rdx
 *   inputs (GPR source, PCMPESTR lengths), rax/rcx outputs, RFLAGS out.
 * An instruction with an imm8 has a table of 256 stubs, 8 bytes apart.
 */
#ifndef X86V_ENGINE_SOFT_INTERP_SSE_H
#define X86V_ENGINE_SOFT_INTERP_SSE_H

#include <stddef.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "engine/soft/soft_insn.h"

#if !defined(__x86_64__)
#error "interp/sse*.c execute SSE instructions on the host: the soft engine needs an x86-64 host"
#endif

/* MXCSR (SDM Vol. 1 §10.2.3). */
#define MXCSR_IE 0x0001u
#define MXCSR_DE 0x0002u
#define MXCSR_ZE 0x0004u
#define MXCSR_OE 0x0008u
#define MXCSR_UE 0x0010u
#define MXCSR_PE 0x0020u
#define MXCSR_FLAGS 0x003fu
#define MXCSR_DAZ 0x0040u
#define MXCSR_MASKS 0x1f80u
#define MXCSR_UM 0x0800u
#define MXCSR_FTZ 0x8000u
/* The writable bits (the MXCSR_MASK FXSAVE reports): DAZ is supported. */
#define SSE_MXCSR_MASK 0xffffu

#define FSW_ES 0x0080u
#define FSW_TOP 0x3800u

/* ---- host execution ---- */

struct sse_host_io {
	uint8_t x[3][16]; /* in: host xmm0, xmm1, xmm2; out: x[0] = xmm0 */
	uint64_t mm[2]; /* in: mm0, mm1 (MMX runs); out: mm[0] */
	uint64_t rax, rdx, rcx; /* in: rax, rdx; out: rax, rcx */
	uint64_t rflags; /* out */
	uint32_t mxcsr; /* in: the MXCSR to run with; out: as the stub left it */
};

/* Runs stub with io's registers loaded, then stores them back; the host
 * MXCSR is saved and restored around it. The _mmx variant also loads and
 * stores mm0/mm1 and ends with EMMS (the x87 stack is empty again, as the
 * ABI wants at calls). Defined in sse_exec.c. */
void sse_host_run(const void *stub, struct sse_host_io *io);
void sse_host_run_mmx(const void *stub, struct sse_host_io *io);

/* struct sse_op flags */
#define SSE_FP (1u << 0) /* floating point: MXCSR flags and exceptions */
#define SSE_UNALIGNED (1u << 1) /* a 16-byte memory operand needs no alignment */
#define SSE_IMM (1u << 2) /* stubs are tables indexed by the imm8 */
#define SSE_EFLAGS (1u << 3) /* sets OF SF ZF AF PF CF */
#define SSE_NO_DEST (1u << 4) /* writes no register operand (COMISS, PTEST, PCMPxSTRI) */
#define SSE_RES_XMM0 (1u << 5) /* result goes to XMM0 (PCMPxSTRM) */
#define SSE_RES_ECX (1u << 6) /* index result in ECX (PCMPxSTRI) */
#define SSE_LENGTHS (1u << 7) /* rAX/rDX are inputs (PCMPESTRx) */
#define SSE_XMM0_IN (1u << 8) /* guest XMM0 is an input (BLENDVPS ...) */
#define SSE_GPR_SRC (1u << 9) /* operand 1 is a GPR or memory integer, in rax */
#define SSE_GPR_DST (1u << 10) /* operand 0 is a GPR, from rax */
#define SSE_TINY (1u << 11) /* may produce a tiny result (underflow when UM = 0) */
#define SSE_BCAST32 (1u << 12) /* a 32-bit memory source is replicated to all lanes (INSERTPS) */
#define SSE_OSFXSR (1u << 13) /* an SSE instruction even without an XMM operand (CVTPS2PI mm, m64) */
/* Result element type, for the underflow check (bits 14..15). */
#define SSE_PS (0u << 14)
#define SSE_PD (1u << 14)
#define SSE_SS (2u << 14)
#define SSE_SD (3u << 14)
#define SSE_ELEM(f) (((f) >> 14) & 3u)

struct sse_op {
	const uint8_t *xmm; /* stub for the XMM form (32-bit GPR form), NULL if none */
	const uint8_t *mmx; /* stub for the MMX form (or the form with an MMX operand) */
	const uint8_t *wide; /* stub for the REX.W (64-bit GPR) form */
	uint16_t flags;
};

/* Executes in through d's stubs: checks, operands, MXCSR, #XM, results. */
void sse_host_op(struct soft_cpu *cpu, const struct soft_insn *in, const struct sse_op *d);

/* Stub assembly helpers. A stub is "text; ret". */
#define SSE_STUB(name, text) \
	".globl " name "\n.hidden " name "\n.type " name ", @function\n" name ":\n\t" text "\n\tret\n"
/* 256 stubs, 8 bytes apart; text uses the assembler symbol sse_imm. */
#define SSE_STUB_IMM(name, text)                                                           \
	".globl " name "\n.hidden " name "\n.balign 8\n" name ":\n.set sse_imm, 0\n.rept 256\n\t" \
	text "\n\tret\n\t.org " name " + 8 * (sse_imm + 1), 0xcc\n.set sse_imm, sse_imm + 1\n.endr\n"
#define SSE_STUBS(text) __asm__(".pushsection .text\n" text ".popsection\n")
#define SSE_STUB_DECL(sym) extern const uint8_t sym[] __attribute__((visibility("hidden")))

/* X-macro helpers: X(MNEMONIC, "host mnemonic", flags) lists expand into
 * stubs (STUB_*), stub declarations (DECL_*), descriptors (DESC_*) and
 * mnemonic lists (SSE_MN). _X: XMM form "op %xmm1, %xmm0"; _XM: XMM and MMX
 * forms; _XI: XMM form with imm8 "op $imm, %xmm1, %xmm0". */
#define STUB_X(mn, t, fl) SSE_STUB("sse_x_" #mn, t " %xmm1, %xmm0")
#define STUB_XM(mn, t, fl) STUB_X(mn, t, fl) SSE_STUB("sse_m_" #mn, t " %mm1, %mm0")
#define STUB_XI(mn, t, fl) SSE_STUB_IMM("sse_x_" #mn, t " $sse_imm, %xmm1, %xmm0")
#define DECL_X(mn, t, fl) SSE_STUB_DECL(sse_x_##mn);
#define DECL_XM(mn, t, fl) SSE_STUB_DECL(sse_x_##mn); SSE_STUB_DECL(sse_m_##mn);
#define DESC_X(mn, t, fl) [ZYDIS_MNEMONIC_##mn] = { .xmm = sse_x_##mn, .flags = (fl) },
#define DESC_XI(mn, t, fl) [ZYDIS_MNEMONIC_##mn] = { .xmm = sse_x_##mn, .flags = (fl) | SSE_IMM },
#define DESC_XM(mn, t, fl) [ZYDIS_MNEMONIC_##mn] = { .xmm = sse_x_##mn, .mmx = sse_m_##mn, .flags = (fl) },
#define SSE_MN(mn, t, fl) ZYDIS_MNEMONIC_##mn,

/* Instruction sets a host may lack; their mnemonics stay unregistered (#UD)
 * and unadvertised there. */
enum sse_feature { SSE_F_BASE, SSE_F_SSE3, SSE_F_SSSE3, SSE_F_SSE41, SSE_F_SSE42, SSE_F_AES, SSE_F_PCLMUL };
bool sse_host_has(enum sse_feature f);
/* table[mns[i]] = fn for each listed mnemonic, if the host has feature f. */
void sse_register_list(soft_handler_fn **table, const uint16_t *mns, size_t n, enum sse_feature f,
		       soft_handler_fn *fn);

/* ---- checks (SDM Vol. 3A Table 13-1, Vol. 2 "Exceptions" of each instruction) ---- */

/* An SSE instruction: LOCK, CR0.EM or CR4.OSFXSR=0 → #UD; CR0.TS → #NM. mmx:
 * it also touches an MMX register, so a pending x87 exception gives #MF. */
void sse_check(struct soft_cpu *cpu, const struct soft_insn *in, bool sse, bool mmx);

/* Unmasked SIMD floating-point exception: #XM, or #UD when CR4.OSXMMEXCPT = 0. */
__attribute__((noreturn)) void sse_raise_xm(struct soft_cpu *cpu);

/* ---- MMX registers alias the x87 mantissas (SDM Vol. 1 §9.5, §9.6) ---- */

static inline uint64_t mmx_get(const struct soft_cpu *cpu, unsigned reg)
{
	uint64_t v;
	memcpy(&v, cpu->s.fpu.st[reg & 7], 8);
	return v;
}

/* An MMX write sets the exponent/sign bits to all ones. */
static inline void mmx_set(struct soft_cpu *cpu, unsigned reg, uint64_t v)
{
	memcpy(cpu->s.fpu.st[reg & 7], &v, 8);
	cpu->s.fpu.st[reg & 7][8] = 0xff;
	cpu->s.fpu.st[reg & 7][9] = 0xff;
}

/* Every MMX instruction but EMMS: TOP = 0 and all registers valid. */
static inline void mmx_transition(struct soft_cpu *cpu)
{
	cpu->s.fpu.fsw &= (uint16_t)~FSW_TOP;
	cpu->s.fpu.ftw = 0xff;
}

/* ---- memory operands ---- */

/* Reads size (1, 2, 4, 8 or 16) bytes of memory operand n into buf; aligned:
 * a misaligned linear address raises #GP(0) (16-byte legacy SSE operands). */
void sse_mem_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, void *buf, unsigned size,
		  bool aligned);
/* Writes size bytes; both halves of a 16-byte store are checked before either is written. */
void sse_mem_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, const void *buf, unsigned size,
		   bool aligned);

/* Registration of the families (each fills the SIMD table for its mnemonics). */
void sse_register_fp(soft_handler_fn **table);
void sse_register_approx(soft_handler_fn **table);
void sse_register_int(soft_handler_fn **table);
void sse_register_move(soft_handler_fn **table);
void sse_register_string(soft_handler_fn **table);
void sse_register_move_misc(soft_handler_fn **table);
void sse_register_fp_misc(soft_handler_fn **table);
void sse_register_string_misc(soft_handler_fn **table);
void mmx_register_misc(soft_handler_fn **table);

#endif
