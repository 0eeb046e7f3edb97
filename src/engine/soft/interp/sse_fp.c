/* SPDX-License-Identifier: MIT */
/*
 * SSE/SSE2/SSE3/SSE4.1 floating point: packed and scalar single/double
 * arithmetic, MIN/MAX, SQRT, logic, unpacks and shuffles, CMPxx
 * with every predicate, COMISS/UCOMISS/COMISD/UCOMISD, all CVT* conversions
 * (XMM, MMX and GPR forms), HADD/HSUB/ADDSUB, MOVSHDUP/MOVSLDUP/MOVDDUP,
 * ROUND*, DPPS/DPPD, BLENDPS/BLENDPD/BLENDV*, INSERTPS. SDM Vol. 2 instruction
 * pages; MXCSR and exceptions Vol. 1 §10.2.3, §11.5.
 *
 * Every instruction here runs on the host's SSE unit with the guest's MXCSR
 * (interp/sse.h, sse_exec.c), so rounding, DAZ/FTZ and NaN propagation are
 * the hardware's own (the same on every x86-64). RCPPS/RSQRTPS, whose bits
 * differ between vendors, are the model's: sse_approx.c.
 */
#include "engine/soft/interp/sse.h"

#define FPT (SSE_FP | SSE_TINY)

/* SSE and SSE2 (every x86-64 host has them). */
#define FP_BASE_X(X)                                                                              \
	X(ADDPS, "addps", FPT | SSE_PS) X(ADDPD, "addpd", FPT | SSE_PD)                           \
	X(ADDSS, "addss", FPT | SSE_SS) X(ADDSD, "addsd", FPT | SSE_SD)                           \
	X(SUBPS, "subps", FPT | SSE_PS) X(SUBPD, "subpd", FPT | SSE_PD)                           \
	X(SUBSS, "subss", FPT | SSE_SS) X(SUBSD, "subsd", FPT | SSE_SD)                           \
	X(MULPS, "mulps", FPT | SSE_PS) X(MULPD, "mulpd", FPT | SSE_PD)                           \
	X(MULSS, "mulss", FPT | SSE_SS) X(MULSD, "mulsd", FPT | SSE_SD)                           \
	X(DIVPS, "divps", FPT | SSE_PS) X(DIVPD, "divpd", FPT | SSE_PD)                           \
	X(DIVSS, "divss", FPT | SSE_SS) X(DIVSD, "divsd", FPT | SSE_SD)                           \
	X(MINPS, "minps", SSE_FP) X(MINPD, "minpd", SSE_FP)                                       \
	X(MINSS, "minss", SSE_FP) X(MINSD, "minsd", SSE_FP)                                       \
	X(MAXPS, "maxps", SSE_FP) X(MAXPD, "maxpd", SSE_FP)                                       \
	X(MAXSS, "maxss", SSE_FP) X(MAXSD, "maxsd", SSE_FP)                                       \
	X(SQRTPS, "sqrtps", SSE_FP) X(SQRTPD, "sqrtpd", SSE_FP)                                   \
	X(SQRTSS, "sqrtss", SSE_FP) X(SQRTSD, "sqrtsd", SSE_FP)                                   \
	X(ANDPS, "andps", 0) X(ANDPD, "andpd", 0) X(ANDNPS, "andnps", 0) X(ANDNPD, "andnpd", 0)   \
	X(ORPS, "orps", 0) X(ORPD, "orpd", 0) X(XORPS, "xorps", 0) X(XORPD, "xorpd", 0)           \
	X(UNPCKLPS, "unpcklps", 0) X(UNPCKHPS, "unpckhps", 0)                                     \
	X(UNPCKLPD, "unpcklpd", 0) X(UNPCKHPD, "unpckhpd", 0)                                     \
	X(CVTPS2PD, "cvtps2pd", SSE_FP) X(CVTPD2PS, "cvtpd2ps", FPT | SSE_PS)                     \
	X(CVTSS2SD, "cvtss2sd", SSE_FP) X(CVTSD2SS, "cvtsd2ss", FPT | SSE_SS)                     \
	X(CVTDQ2PS, "cvtdq2ps", SSE_FP) X(CVTPS2DQ, "cvtps2dq", SSE_FP)                           \
	X(CVTTPS2DQ, "cvttps2dq", SSE_FP) X(CVTDQ2PD, "cvtdq2pd", 0)                              \
	X(CVTPD2DQ, "cvtpd2dq", SSE_FP) X(CVTTPD2DQ, "cvttpd2dq", SSE_FP)                         \
	X(COMISS, "comiss", SSE_FP | SSE_EFLAGS | SSE_NO_DEST)                                    \
	X(COMISD, "comisd", SSE_FP | SSE_EFLAGS | SSE_NO_DEST)                                    \
	X(UCOMISS, "ucomiss", SSE_FP | SSE_EFLAGS | SSE_NO_DEST)                                  \
	X(UCOMISD, "ucomisd", SSE_FP | SSE_EFLAGS | SSE_NO_DEST)
#define FP_BASE_XI(X)                                                                             \
	X(CMPPS, "cmpps", SSE_FP) X(CMPPD, "cmppd", SSE_FP) X(CMPSS, "cmpss", SSE_FP)             \
	X(CMPSD, "cmpsd", SSE_FP) X(SHUFPS, "shufps", 0) X(SHUFPD, "shufpd", 0)
#define FP_SSE3_X(X)                                                                              \
	X(HADDPS, "haddps", FPT | SSE_PS) X(HADDPD, "haddpd", FPT | SSE_PD)                       \
	X(HSUBPS, "hsubps", FPT | SSE_PS) X(HSUBPD, "hsubpd", FPT | SSE_PD)                       \
	X(ADDSUBPS, "addsubps", FPT | SSE_PS) X(ADDSUBPD, "addsubpd", FPT | SSE_PD)               \
	X(MOVSHDUP, "movshdup", 0) X(MOVSLDUP, "movsldup", 0) X(MOVDDUP, "movddup", 0)
#define FP_SSE41_XI(X)                                                                            \
	X(ROUNDPS, "roundps", SSE_FP) X(ROUNDPD, "roundpd", SSE_FP)                               \
	X(ROUNDSS, "roundss", SSE_FP) X(ROUNDSD, "roundsd", SSE_FP)                               \
	X(DPPS, "dpps", FPT | SSE_PS) X(DPPD, "dppd", FPT | SSE_PD)                               \
	X(BLENDPS, "blendps", 0) X(BLENDPD, "blendpd", 0) X(INSERTPS, "insertps", SSE_BCAST32)

SSE_STUBS(FP_BASE_X(STUB_X) FP_BASE_XI(STUB_XI) FP_SSE3_X(STUB_X) FP_SSE41_XI(STUB_XI)
	  /* GPR forms: 32-bit (sse_x_) and REX.W (sse_w_) */
	  SSE_STUB("sse_x_CVTSI2SS", "cvtsi2ssl %eax, %xmm0") SSE_STUB("sse_w_CVTSI2SS", "cvtsi2ssq %rax, %xmm0")
	  SSE_STUB("sse_x_CVTSI2SD", "cvtsi2sdl %eax, %xmm0") SSE_STUB("sse_w_CVTSI2SD", "cvtsi2sdq %rax, %xmm0")
	  SSE_STUB("sse_x_CVTSS2SI", "cvtss2si %xmm1, %eax") SSE_STUB("sse_w_CVTSS2SI", "cvtss2si %xmm1, %rax")
	  SSE_STUB("sse_x_CVTTSS2SI", "cvttss2si %xmm1, %eax")
	  SSE_STUB("sse_w_CVTTSS2SI", "cvttss2si %xmm1, %rax")
	  SSE_STUB("sse_x_CVTSD2SI", "cvtsd2si %xmm1, %eax") SSE_STUB("sse_w_CVTSD2SI", "cvtsd2si %xmm1, %rax")
	  SSE_STUB("sse_x_CVTTSD2SI", "cvttsd2si %xmm1, %eax")
	  SSE_STUB("sse_w_CVTTSD2SI", "cvttsd2si %xmm1, %rax")
	  /* forms with an MMX operand (host mm0/mm1) */
	  SSE_STUB("sse_m_CVTPI2PS", "cvtpi2ps %mm1, %xmm0") SSE_STUB("sse_m_CVTPS2PI", "cvtps2pi %xmm1, %mm0")
	  SSE_STUB("sse_m_CVTTPS2PI", "cvttps2pi %xmm1, %mm0") SSE_STUB("sse_m_CVTPI2PD", "cvtpi2pd %mm1, %xmm0")
	  SSE_STUB("sse_m_CVTPD2PI", "cvtpd2pi %xmm1, %mm0") SSE_STUB("sse_m_CVTTPD2PI", "cvttpd2pi %xmm1, %mm0")
	  /* BLENDV: the mask (guest XMM0) is in host xmm2 and must move to xmm0 */
	  SSE_STUB("sse_x_BLENDVPS", "movdqa %xmm0, %xmm3\n\tmovdqa %xmm2, %xmm0\n\t"
				     "blendvps %xmm0, %xmm1, %xmm3\n\tmovdqa %xmm3, %xmm0")
	  SSE_STUB("sse_x_BLENDVPD", "movdqa %xmm0, %xmm3\n\tmovdqa %xmm2, %xmm0\n\t"
				     "blendvpd %xmm0, %xmm1, %xmm3\n\tmovdqa %xmm3, %xmm0"));

FP_BASE_X(DECL_X)
FP_BASE_XI(DECL_X)
FP_SSE3_X(DECL_X)
FP_SSE41_XI(DECL_X)
#define GPR_FORMS(X) X(CVTSI2SS) X(CVTSI2SD) X(CVTSS2SI) X(CVTTSS2SI) X(CVTSD2SI) X(CVTTSD2SI)
#define MMX_FORMS(X) X(CVTPI2PS) X(CVTPS2PI) X(CVTTPS2PI) X(CVTPI2PD) X(CVTPD2PI) X(CVTTPD2PI)
#define DECL_GPR(mn) SSE_STUB_DECL(sse_x_##mn); SSE_STUB_DECL(sse_w_##mn);
#define DECL_MMX(mn) SSE_STUB_DECL(sse_m_##mn);
GPR_FORMS(DECL_GPR)
MMX_FORMS(DECL_MMX)
SSE_STUB_DECL(sse_x_BLENDVPS);
SSE_STUB_DECL(sse_x_BLENDVPD);

#define SRC_GPR(mn) [ZYDIS_MNEMONIC_##mn] = { .xmm = sse_x_##mn, .wide = sse_w_##mn, .flags = SSE_FP | SSE_GPR_SRC },
/* CVT*2SI r, m has no XMM operand: SSE_OSFXSR keeps the SSE checks. */
#define DST_GPR(mn) \
	[ZYDIS_MNEMONIC_##mn] = { .xmm = sse_x_##mn, .wide = sse_w_##mn, .flags = SSE_FP | SSE_GPR_DST | SSE_OSFXSR },

static const struct sse_op fp_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
	FP_BASE_X(DESC_X) FP_BASE_XI(DESC_XI) FP_SSE3_X(DESC_X) FP_SSE41_XI(DESC_XI)
	SRC_GPR(CVTSI2SS) SRC_GPR(CVTSI2SD)
	DST_GPR(CVTSS2SI) DST_GPR(CVTTSS2SI) DST_GPR(CVTSD2SI) DST_GPR(CVTTSD2SI)
	[ZYDIS_MNEMONIC_CVTPI2PS] = { .mmx = sse_m_CVTPI2PS, .flags = SSE_FP },
	[ZYDIS_MNEMONIC_CVTPS2PI] = { .mmx = sse_m_CVTPS2PI, .flags = SSE_FP | SSE_OSFXSR },
	[ZYDIS_MNEMONIC_CVTTPS2PI] = { .mmx = sse_m_CVTTPS2PI, .flags = SSE_FP | SSE_OSFXSR },
	[ZYDIS_MNEMONIC_CVTPI2PD] = { .mmx = sse_m_CVTPI2PD, .flags = 0 },
	[ZYDIS_MNEMONIC_CVTPD2PI] = { .mmx = sse_m_CVTPD2PI, .flags = SSE_FP | SSE_OSFXSR },
	[ZYDIS_MNEMONIC_CVTTPD2PI] = { .mmx = sse_m_CVTTPD2PI, .flags = SSE_FP | SSE_OSFXSR },
	[ZYDIS_MNEMONIC_BLENDVPS] = { .xmm = sse_x_BLENDVPS, .flags = SSE_XMM0_IN },
	[ZYDIS_MNEMONIC_BLENDVPD] = { .xmm = sse_x_BLENDVPD, .flags = SSE_XMM0_IN },
};

static void op_fp(struct soft_cpu *cpu, const struct soft_insn *in)
{
	sse_host_op(cpu, in, &fp_ops[in->mnemonic]);
}

#define MN_ONLY(mn) ZYDIS_MNEMONIC_##mn,
static const uint16_t base_mns[] = { FP_BASE_X(SSE_MN) FP_BASE_XI(SSE_MN) GPR_FORMS(MN_ONLY) MMX_FORMS(MN_ONLY) };
static const uint16_t sse3_mns[] = { FP_SSE3_X(SSE_MN) };
static const uint16_t sse41_mns[] = { FP_SSE41_XI(SSE_MN) ZYDIS_MNEMONIC_BLENDVPS, ZYDIS_MNEMONIC_BLENDVPD };

void sse_register_fp(soft_handler_fn **table)
{
	sse_register_list(table, base_mns, ARRAY_SIZE(base_mns), SSE_F_BASE, op_fp);
	sse_register_list(table, sse3_mns, ARRAY_SIZE(sse3_mns), SSE_F_SSE3, op_fp);
	sse_register_list(table, sse41_mns, ARRAY_SIZE(sse41_mns), SSE_F_SSE41, op_fp);
}

/* The normal table: CVT*2SI r, m (no XMM operand, so the decoder looks there). */
void sse_register_fp_misc(soft_handler_fn **table)
{
	static const uint16_t mns[] = { ZYDIS_MNEMONIC_CVTSS2SI, ZYDIS_MNEMONIC_CVTTSS2SI, ZYDIS_MNEMONIC_CVTSD2SI,
					ZYDIS_MNEMONIC_CVTTSD2SI };
	sse_register_list(table, mns, ARRAY_SIZE(mns), SSE_F_BASE, op_fp);
}
