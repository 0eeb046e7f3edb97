/* SPDX-License-Identifier: MIT */
/*
 * SSE4.2 string and text instructions: PCMPESTRI, PCMPESTRM, PCMPISTRI,
 * PCMPISTRM (SDM Vol. 2B, and Vol. 2 §4.1 "Imm8 Control Byte Operation for
 * PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"), run on the host with all
 * 256 control bytes; CRC32 (SDM Vol. 2A), computed in C (CRC-32C, the
 * Castagnoli polynomial) so it needs no host support.
 *
 * The memory operand of PCMPxSTRx need not be aligned (SDM Vol. 1 §12.10).
 * The explicit-length forms always run as REX.W: a sign-extended EAX/EDX
 * saturates to the same length as the 32-bit form reads it.
 */
#include "engine/soft/interp/sse.h"

#define STR_FLAGS (SSE_EFLAGS | SSE_UNALIGNED)

SSE_STUBS(SSE_STUB_IMM("sse_x_PCMPISTRI", "pcmpistri $sse_imm, %xmm1, %xmm0")
	  SSE_STUB_IMM("sse_x_PCMPISTRM", "pcmpistrm $sse_imm, %xmm1, %xmm0")
	  SSE_STUB_IMM("sse_x_PCMPESTRI", ".byte 0x66, 0x48, 0x0f, 0x3a, 0x61, 0xc1, sse_imm")
	  SSE_STUB_IMM("sse_x_PCMPESTRM", ".byte 0x66, 0x48, 0x0f, 0x3a, 0x60, 0xc1, sse_imm"));
SSE_STUB_DECL(sse_x_PCMPISTRI);
SSE_STUB_DECL(sse_x_PCMPISTRM);
SSE_STUB_DECL(sse_x_PCMPESTRI);
SSE_STUB_DECL(sse_x_PCMPESTRM);

static const struct sse_op str_ops[] = {
	{ .xmm = sse_x_PCMPISTRI, .flags = STR_FLAGS | SSE_IMM | SSE_NO_DEST | SSE_RES_ECX },
	{ .xmm = sse_x_PCMPISTRM, .flags = STR_FLAGS | SSE_IMM | SSE_RES_XMM0 },
	{ .xmm = sse_x_PCMPESTRI, .flags = STR_FLAGS | SSE_IMM | SSE_NO_DEST | SSE_RES_ECX | SSE_LENGTHS },
	{ .xmm = sse_x_PCMPESTRM, .flags = STR_FLAGS | SSE_IMM | SSE_RES_XMM0 | SSE_LENGTHS },
};

static void op_pcmpistri(struct soft_cpu *cpu, const struct soft_insn *in) { sse_host_op(cpu, in, &str_ops[0]); }
static void op_pcmpistrm(struct soft_cpu *cpu, const struct soft_insn *in) { sse_host_op(cpu, in, &str_ops[1]); }
static void op_pcmpestri(struct soft_cpu *cpu, const struct soft_insn *in) { sse_host_op(cpu, in, &str_ops[2]); }
static void op_pcmpestrm(struct soft_cpu *cpu, const struct soft_insn *in) { sse_host_op(cpu, in, &str_ops[3]); }

/* CRC32 r32/r64, r/m8/16/32/64: the CRC-32C of the source bytes (little
 * endian) continued from the destination's low 32 bits, bit-reflected. */
static void op_crc32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->flags & SOFT_INSN_LOCK)
		soft_raise_ud(cpu);
	uint32_t crc = (uint32_t)soft_op_read(cpu, in, 0);
	uint64_t src = soft_op_read(cpu, in, 1);
	for (unsigned i = 0; i < in->op[1].size; i++) {
		crc ^= (uint8_t)(src >> (8 * i));
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	soft_reg_write(cpu, in->op[0].reg, in->op[0].size, crc);
}

void sse_register_string(soft_handler_fn **table)
{
	if (!sse_host_has(SSE_F_SSE42))
		return;
	table[ZYDIS_MNEMONIC_PCMPISTRI] = op_pcmpistri;
	table[ZYDIS_MNEMONIC_PCMPISTRM] = op_pcmpistrm;
	table[ZYDIS_MNEMONIC_PCMPESTRI] = op_pcmpestri;
	table[ZYDIS_MNEMONIC_PCMPESTRM] = op_pcmpestrm;
}

void sse_register_string_misc(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_CRC32] = op_crc32;
}
