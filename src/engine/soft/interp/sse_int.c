/* SPDX-License-Identifier: MIT */
/*
 * Packed integer instructions on XMM and MMX registers: MMX, the SSE/SSE2
 * integer set, SSSE3, the SSE4.1/4.2 integer additions, plus AES-NI and
 * PCLMULQDQ (implemented, not advertised by CPUID). SDM Vol. 2 instruction
 * pages; MMX forms Vol. 1 ch. 9.
 *
 * The register/memory forms run on the host (interp/sse.h); shifts by an
 * immediate use the register-count form with the immediate as the count,
 * which has the same semantics. PSLLDQ/PSRLDQ (no register-count form) are
 * done in C.
 */
#include "engine/soft/interp/sse.h"

/* MMX and SSE2 forms of the MMX set and of SSE's integer additions. */
#define INT_BASE_XM(X)                                                                                  \
	X(PADDB, "paddb", 0) X(PADDW, "paddw", 0) X(PADDD, "paddd", 0) X(PADDQ, "paddq", 0)             \
	X(PADDSB, "paddsb", 0) X(PADDSW, "paddsw", 0) X(PADDUSB, "paddusb", 0) X(PADDUSW, "paddusw", 0) \
	X(PSUBB, "psubb", 0) X(PSUBW, "psubw", 0) X(PSUBD, "psubd", 0) X(PSUBQ, "psubq", 0)             \
	X(PSUBSB, "psubsb", 0) X(PSUBSW, "psubsw", 0) X(PSUBUSB, "psubusb", 0) X(PSUBUSW, "psubusw", 0) \
	X(PMULLW, "pmullw", 0) X(PMULHW, "pmulhw", 0) X(PMULHUW, "pmulhuw", 0)                          \
	X(PMULUDQ, "pmuludq", 0) X(PMADDWD, "pmaddwd", 0) X(PAVGB, "pavgb", 0) X(PAVGW, "pavgw", 0)     \
	X(PMINUB, "pminub", 0) X(PMAXUB, "pmaxub", 0) X(PMINSW, "pminsw", 0) X(PMAXSW, "pmaxsw", 0)     \
	X(PSADBW, "psadbw", 0) X(PCMPEQB, "pcmpeqb", 0) X(PCMPEQW, "pcmpeqw", 0)                        \
	X(PCMPEQD, "pcmpeqd", 0) X(PCMPGTB, "pcmpgtb", 0) X(PCMPGTW, "pcmpgtw", 0)                      \
	X(PCMPGTD, "pcmpgtd", 0) X(PAND, "pand", 0) X(PANDN, "pandn", 0) X(POR, "por", 0)               \
	X(PXOR, "pxor", 0) X(PUNPCKLBW, "punpcklbw", 0) X(PUNPCKLWD, "punpcklwd", 0)                    \
	X(PUNPCKLDQ, "punpckldq", 0) X(PUNPCKHBW, "punpckhbw", 0) X(PUNPCKHWD, "punpckhwd", 0)          \
	X(PUNPCKHDQ, "punpckhdq", 0) X(PACKSSWB, "packsswb", 0) X(PACKSSDW, "packssdw", 0)              \
	X(PACKUSWB, "packuswb", 0) X(PSRLW, "psrlw", 0) X(PSRLD, "psrld", 0) X(PSRLQ, "psrlq", 0)       \
	X(PSRAW, "psraw", 0) X(PSRAD, "psrad", 0) X(PSLLW, "psllw", 0) X(PSLLD, "pslld", 0)             \
	X(PSLLQ, "psllq", 0)
#define INT_BASE_X(X) X(PUNPCKLQDQ, "punpcklqdq", 0) X(PUNPCKHQDQ, "punpckhqdq", 0)
#define INT_BASE_XI(X) X(PSHUFD, "pshufd", 0) X(PSHUFHW, "pshufhw", 0) X(PSHUFLW, "pshuflw", 0)
#define INT_SSSE3_XM(X)                                                                                 \
	X(PSHUFB, "pshufb", 0) X(PHADDW, "phaddw", 0) X(PHADDD, "phaddd", 0) X(PHADDSW, "phaddsw", 0)   \
	X(PHSUBW, "phsubw", 0) X(PHSUBD, "phsubd", 0) X(PHSUBSW, "phsubsw", 0)                          \
	X(PMADDUBSW, "pmaddubsw", 0) X(PMULHRSW, "pmulhrsw", 0) X(PSIGNB, "psignb", 0)                  \
	X(PSIGNW, "psignw", 0) X(PSIGND, "psignd", 0) X(PABSB, "pabsb", 0) X(PABSW, "pabsw", 0)         \
	X(PABSD, "pabsd", 0)
#define INT_SSE41_X(X)                                                                                  \
	X(PMULLD, "pmulld", 0) X(PMULDQ, "pmuldq", 0) X(PMINSB, "pminsb", 0) X(PMAXSB, "pmaxsb", 0)     \
	X(PMINUW, "pminuw", 0) X(PMAXUW, "pmaxuw", 0) X(PMINUD, "pminud", 0) X(PMAXUD, "pmaxud", 0)     \
	X(PMINSD, "pminsd", 0) X(PMAXSD, "pmaxsd", 0) X(PCMPEQQ, "pcmpeqq", 0)                          \
	X(PACKUSDW, "packusdw", 0) X(PHMINPOSUW, "phminposuw", 0)                                       \
	X(PTEST, "ptest", SSE_EFLAGS | SSE_NO_DEST) X(PMOVSXBW, "pmovsxbw", 0)                          \
	X(PMOVSXBD, "pmovsxbd", 0) X(PMOVSXBQ, "pmovsxbq", 0) X(PMOVSXWD, "pmovsxwd", 0)                \
	X(PMOVSXWQ, "pmovsxwq", 0) X(PMOVSXDQ, "pmovsxdq", 0) X(PMOVZXBW, "pmovzxbw", 0)                \
	X(PMOVZXBD, "pmovzxbd", 0) X(PMOVZXBQ, "pmovzxbq", 0) X(PMOVZXWD, "pmovzxwd", 0)                \
	X(PMOVZXWQ, "pmovzxwq", 0) X(PMOVZXDQ, "pmovzxdq", 0)
#define INT_SSE41_XI(X) X(PBLENDW, "pblendw", 0) X(MPSADBW, "mpsadbw", 0)
#define INT_SSE42_X(X) X(PCMPGTQ, "pcmpgtq", 0)
#define INT_AES_X(X)                                                                                    \
	X(AESENC, "aesenc", 0) X(AESENCLAST, "aesenclast", 0) X(AESDEC, "aesdec", 0)                    \
	X(AESDECLAST, "aesdeclast", 0) X(AESIMC, "aesimc", 0)
#define INT_AES_XI(X) X(AESKEYGENASSIST, "aeskeygenassist", 0)
#define INT_PCLMUL_XI(X) X(PCLMULQDQ, "pclmulqdq", 0)

SSE_STUBS(INT_BASE_XM(STUB_XM) INT_BASE_X(STUB_X) INT_BASE_XI(STUB_XI) INT_SSSE3_XM(STUB_XM)
	  INT_SSE41_X(STUB_X) INT_SSE41_XI(STUB_XI) INT_SSE42_X(STUB_X) INT_AES_X(STUB_X) INT_AES_XI(STUB_XI)
	  INT_PCLMUL_XI(STUB_XI)
	  SSE_STUB_IMM("sse_m_PSHUFW", "pshufw $sse_imm, %mm1, %mm0")
	  SSE_STUB_IMM("sse_x_PALIGNR", "palignr $sse_imm, %xmm1, %xmm0")
	  SSE_STUB_IMM("sse_m_PALIGNR", "palignr $sse_imm, %mm1, %mm0")
	  SSE_STUB("sse_x_PBLENDVB", "movdqa %xmm0, %xmm3\n\tmovdqa %xmm2, %xmm0\n\t"
				     "pblendvb %xmm0, %xmm1, %xmm3\n\tmovdqa %xmm3, %xmm0"));

INT_BASE_XM(DECL_XM)
INT_BASE_X(DECL_X)
INT_BASE_XI(DECL_X)
INT_SSSE3_XM(DECL_XM)
INT_SSE41_X(DECL_X)
INT_SSE41_XI(DECL_X)
INT_SSE42_X(DECL_X)
INT_AES_X(DECL_X)
INT_AES_XI(DECL_X)
INT_PCLMUL_XI(DECL_X)
SSE_STUB_DECL(sse_m_PSHUFW);
SSE_STUB_DECL(sse_x_PALIGNR);
SSE_STUB_DECL(sse_m_PALIGNR);
SSE_STUB_DECL(sse_x_PBLENDVB);

static const struct sse_op int_ops[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
	INT_BASE_XM(DESC_XM) INT_BASE_X(DESC_X) INT_BASE_XI(DESC_XI) INT_SSSE3_XM(DESC_XM)
	INT_SSE41_X(DESC_X) INT_SSE41_XI(DESC_XI) INT_SSE42_X(DESC_X) INT_AES_X(DESC_X) INT_AES_XI(DESC_XI)
	INT_PCLMUL_XI(DESC_XI)
	[ZYDIS_MNEMONIC_PSHUFW] = { .mmx = sse_m_PSHUFW, .flags = SSE_IMM },
	[ZYDIS_MNEMONIC_PALIGNR] = { .xmm = sse_x_PALIGNR, .mmx = sse_m_PALIGNR, .flags = SSE_IMM },
	[ZYDIS_MNEMONIC_PBLENDVB] = { .xmm = sse_x_PBLENDVB, .flags = SSE_XMM0_IN },
};

static void op_int(struct soft_cpu *cpu, const struct soft_insn *in)
{
	sse_host_op(cpu, in, &int_ops[in->mnemonic]);
}

/* PSLLDQ / PSRLDQ xmm, imm8: byte shifts of the whole register; counts
 * above 15 clear it. */
static void byte_shift(struct soft_cpu *cpu, const struct soft_insn *in, bool left)
{
	sse_check(cpu, in, true, false);
	uint8_t *x = cpu->s.fpu.xmm[in->op[0].reg], r[16];
	unsigned n = (unsigned)(in->op[1].imm & 0xff);
	for (unsigned i = 0; i < 16; i++) {
		unsigned from = left ? i - n : i + n; /* wraps past 15 when out of range */
		r[i] = n < 16 && from < 16 ? x[from] : 0;
	}
	memcpy(x, r, 16);
}

static void op_pslldq(struct soft_cpu *cpu, const struct soft_insn *in) { byte_shift(cpu, in, true); }
static void op_psrldq(struct soft_cpu *cpu, const struct soft_insn *in) { byte_shift(cpu, in, false); }

#define MN_ONLY(mn) ZYDIS_MNEMONIC_##mn,
static const uint16_t base_mns[] = { INT_BASE_XM(SSE_MN) INT_BASE_X(SSE_MN) INT_BASE_XI(SSE_MN) MN_ONLY(PSHUFW) };
static const uint16_t ssse3_mns[] = { INT_SSSE3_XM(SSE_MN) MN_ONLY(PALIGNR) };
static const uint16_t sse41_mns[] = { INT_SSE41_X(SSE_MN) INT_SSE41_XI(SSE_MN) MN_ONLY(PBLENDVB) };
static const uint16_t sse42_mns[] = { INT_SSE42_X(SSE_MN) };
static const uint16_t aes_mns[] = { INT_AES_X(SSE_MN) INT_AES_XI(SSE_MN) };
static const uint16_t pclmul_mns[] = { INT_PCLMUL_XI(SSE_MN) };

void sse_register_int(soft_handler_fn **table)
{
	sse_register_list(table, base_mns, ARRAY_SIZE(base_mns), SSE_F_BASE, op_int);
	sse_register_list(table, ssse3_mns, ARRAY_SIZE(ssse3_mns), SSE_F_SSSE3, op_int);
	sse_register_list(table, sse41_mns, ARRAY_SIZE(sse41_mns), SSE_F_SSE41, op_int);
	sse_register_list(table, sse42_mns, ARRAY_SIZE(sse42_mns), SSE_F_SSE42, op_int);
	sse_register_list(table, aes_mns, ARRAY_SIZE(aes_mns), SSE_F_AES, op_int);
	sse_register_list(table, pclmul_mns, ARRAY_SIZE(pclmul_mns), SSE_F_PCLMUL, op_int);
	table[ZYDIS_MNEMONIC_PSLLDQ] = op_pslldq;
	table[ZYDIS_MNEMONIC_PSRLDQ] = op_psrldq;
}
