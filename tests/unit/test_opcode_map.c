/* SPDX-License-Identifier: MIT */
/*
 * Completeness of the soft CPU: every encoding of the one-, two- and
 * three-byte opcode maps (0F, 0F 38, 0F 3A) and of the VEX maps, with no
 * prefix and each mandatory prefix (66, F2, F3; REX.W in 64-bit mode), with
 * every ModRM reg field in a memory form and every register form, is decoded
 * with Zydis as the soft engine decodes it in 16-, 32- and 64-bit code. An
 * instruction whose ISA extension the model's CPUID advertises must reach a
 * handler, or be listed below as deliberately #UD with the reason. Each
 * extension Zydis reports must be classified here (with the CPUID bit that
 * advertises it), so a feature advertised later is checked at once.
 */
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include "check.h"
#include "engine/soft/soft_engine.h"

enum { EAX, EBX, ECX, EDX };
#define ALWAYS 0xffffffffu /* no CPUID bit: part of every x86-64 */
#define NEVER 0xfffffffeu /* no CPUID bit the model could set (other vendors, modes the model lacks) */

/* The CPUID bit that advertises an ISA extension (or set): leaf, subleaf, register, bit. */
struct feature {
	int ext; /* ZydisISAExt, or -1 */
	int set; /* ZydisISASet, or -1: a set overrides its extension */
	uint32_t leaf, subleaf;
	unsigned reg, bit;
};

#define EXT(e, l, s, r, b) { ZYDIS_ISA_EXT_##e, -1, l, s, r, b }
#define SET(e, l, s, r, b) { -1, ZYDIS_ISA_SET_##e, l, s, r, b }
static const struct feature features[] = {
	EXT(BASE, ALWAYS, 0, 0, 0), EXT(LONGMODE, 0x80000001, 0, EDX, 29), EXT(PAUSE, ALWAYS, 0, 0, 0),
	EXT(X87, 1, 0, EDX, 0), EXT(MMX, 1, 0, EDX, 23), EXT(SSE, 1, 0, EDX, 25), EXT(SSE2, 1, 0, EDX, 26),
	EXT(SSE3, 1, 0, ECX, 0), EXT(SSSE3, 1, 0, ECX, 9), SET(SSE4, 1, 0, ECX, 19), SET(SSE42, 1, 0, ECX, 20),
	SET(POPCNT, 1, 0, ECX, 23), EXT(AES, 1, 0, ECX, 25), EXT(PCLMULQDQ, 1, 0, ECX, 1),
	EXT(MOVBE, 1, 0, ECX, 22), EXT(XSAVE, 1, 0, ECX, 26), EXT(CLFSH, 1, 0, EDX, 19),
	EXT(MONITOR, 1, 0, ECX, 3), EXT(VTX, 1, 0, ECX, 5), EXT(SMX, 1, 0, ECX, 6), EXT(FMA, 1, 0, ECX, 12),
	EXT(AVX, 1, 0, ECX, 28), EXT(AVXAES, 1, 0, ECX, 28), EXT(F16C, 1, 0, ECX, 29), EXT(RDRAND, 1, 0, ECX, 30),
	EXT(RDWRFSGS, 7, 0, EBX, 0), EXT(SGX, 7, 0, EBX, 2), EXT(SGX_ENCLV, 7, 0, EBX, 2), EXT(BMI1, 7, 0, EBX, 3),
	EXT(RTM, 7, 0, EBX, 11), EXT(AVX2, 7, 0, EBX, 5), EXT(BMI2, 7, 0, EBX, 8), EXT(INVPCID, 7, 0, EBX, 10),
	EXT(MPX, 7, 0, EBX, 14), EXT(AVX512VEX, 7, 0, EBX, 16), EXT(RDSEED, 7, 0, EBX, 18),
	EXT(ADOX_ADCX, 7, 0, EBX, 19), EXT(SMAP, 7, 0, EBX, 20), EXT(CLFLUSHOPT, 7, 0, EBX, 23),
	EXT(CLWB, 7, 0, EBX, 24), EXT(PT, 7, 0, EBX, 25), EXT(SHA, 7, 0, EBX, 29), EXT(PREFETCHWT1, 7, 0, ECX, 0),
	EXT(PKU, 7, 0, ECX, 3), EXT(WAITPKG, 7, 0, ECX, 5), EXT(CET, 7, 0, ECX, 7), EXT(GFNI, 7, 0, ECX, 8),
	EXT(VAES, 7, 0, ECX, 9), EXT(VPCLMULQDQ, 7, 0, ECX, 10), EXT(RDPID, 7, 0, ECX, 22),
	EXT(KEYLOCKER, 7, 0, ECX, 23), EXT(KEYLOCKER_WIDE, 7, 0, ECX, 23), EXT(CLDEMOTE, 7, 0, ECX, 25),
	EXT(MOVDIR, 7, 0, ECX, 27), EXT(ENQCMD, 7, 0, ECX, 29), EXT(UINTR, 7, 0, EDX, 5),
	EXT(SERIALIZE, 7, 0, EDX, 14), EXT(TSX_LDTRK, 7, 0, EDX, 16), EXT(PCONFIG, 7, 0, EDX, 18),
	EXT(AMX_BF16, 7, 0, EDX, 22), EXT(AMX_TILE, 7, 0, EDX, 24), EXT(AMX_INT8, 7, 0, EDX, 25),
	EXT(AVX_VNNI, 7, 1, EAX, 4), EXT(HRESET, 7, 1, EAX, 22), EXT(XSAVEOPT, 0xd, 1, EAX, 0),
	EXT(XSAVEC, 0xd, 1, EAX, 1), EXT(XSAVES, 0xd, 1, EAX, 3), EXT(SVM, 0x80000001, 0, ECX, 2),
	EXT(LZCNT, 0x80000001, 0, ECX, 5), EXT(SSE4A, 0x80000001, 0, ECX, 6),
	EXT(AMD3DNOW_PREFETCH, 0x80000001, 0, ECX, 8), EXT(XOP, 0x80000001, 0, ECX, 11),
	EXT(FMA4, 0x80000001, 0, ECX, 16), EXT(MONITORX, 0x80000001, 0, ECX, 29),
	EXT(RDTSCP, 0x80000001, 0, EDX, 27), EXT(AMD3DNOW, 0x80000001, 0, EDX, 31),
	EXT(CLZERO, 0x80000008, 0, EBX, 0), EXT(AMD_INVLPGB, 0x80000008, 0, EBX, 3),
	EXT(RDPRU, 0x80000008, 0, EBX, 4), EXT(MCOMMIT, 0x80000008, 0, EBX, 8),
	/* Xeon Phi, VIA, VMX's VMFUNC, TDX and SEV-SNP guests: outside the model. */
	EXT(KNC, NEVER, 0, 0, 0), EXT(KNCV, NEVER, 0, 0, 0), EXT(PADLOCK, NEVER, 0, 0, 0),
	EXT(VMFUNC, NEVER, 0, 0, 0), EXT(TDX, NEVER, 0, 0, 0), EXT(SNP, NEVER, 0, 0, 0),
};

/* Advertised instructions that raise #UD on purpose. */
static const struct {
	ZydisMnemonic mn;
	const char *why;
} deliberate_ud[] = {
	{ ZYDIS_MNEMONIC_RSM, "no System Management Mode: RSM outside SMM is #UD, as on hardware" },
};

static struct engine eng;
static unsigned long decoded, with_handler, not_advertised, deliberate, missing, unclassified;

static const struct feature *feature_of(const ZydisDecodedInstruction *zi)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (features[i].set == (int)zi->meta.isa_set)
			return &features[i];
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (features[i].ext == (int)zi->meta.isa_ext)
			return &features[i];
	return NULL;
}

static bool advertised(const struct feature *f)
{
	if (f->leaf == ALWAYS)
		return true;
	if (f->leaf == NEVER)
		return false;
	uint32_t out[4];
	soft_cpuid(f->leaf, f->subleaf, out);
	return (out[f->reg] >> f->bit) & 1;
}

static bool deliberately_ud(ZydisMnemonic mn)
{
	for (size_t i = 0; i < sizeof(deliberate_ud) / sizeof(deliberate_ud[0]); i++)
		if (deliberate_ud[i].mn == mn)
			return true;
	return false;
}

static void report(const char *what, unsigned code_size, const uint8_t *b, size_t n, const ZydisDecodedInstruction *zi)
{
	if (missing + unclassified > 20)
		return;
	printf("# %u-bit:", code_size * 8);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", b[i]);
	printf(": %s %s (ISA set %s, extension %s)\n", what, ZydisMnemonicGetString(zi->mnemonic),
	       ZydisISASetGetString(zi->meta.isa_set), ZydisISAExtGetString(zi->meta.isa_ext));
}

/* Decodes b (padded with zero bytes for immediates) and checks its handler. */
static void check_encoding(unsigned code_size, const ZydisDecoder *dec, const uint8_t *b, size_t n)
{
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH] = { 0 };
	memcpy(buf, b, n);
	ZydisDecodedInstruction zi;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL, buf, sizeof(buf), &zi)))
		return;
	struct soft_insn in;
	CHECK(soft_decode_insn(&eng, code_size, buf, sizeof(buf), &in));
	decoded++;
	const struct feature *f = feature_of(&zi);
	if (!f) {
		report("unclassified ISA extension of", code_size, b, n, &zi);
		unclassified++;
	} else if (!soft_insn_unimplemented(&in)) {
		with_handler++;
	} else if (!advertised(f)) {
		not_advertised++;
	} else if (deliberately_ud(zi.mnemonic)) {
		deliberate++;
	} else {
		report("no handler for advertised", code_size, b, n, &zi);
		missing++;
	}
}

/* ModRM values tried: each reg field with a memory operand, and every register form. */
#define NMODRM (8 + 64)
static uint8_t modrm(unsigned i)
{
	return i < 8 ? (uint8_t)(i << 3) : (uint8_t)(0xc0 + (i - 8));
}

static void walk_legacy(unsigned code_size, const ZydisDecoder *dec)
{
	static const uint8_t prefixes[] = { 0, 0x66, 0xf2, 0xf3 };
	for (unsigned p = 0; p < 4; p++)
		for (unsigned w = 0; w < (code_size == 8 ? 2u : 1u); w++)
			for (unsigned map = 0; map < 4; map++)
				for (unsigned op = 0; op < 256; op++)
					for (unsigned m = 0; m < NMODRM; m++) {
						uint8_t b[8];
						size_t n = 0;
						if (prefixes[p])
							b[n++] = prefixes[p];
						if (w)
							b[n++] = 0x48; /* REX.W */
						if (map)
							b[n++] = 0x0f;
						if (map == 2)
							b[n++] = 0x38;
						if (map == 3)
							b[n++] = 0x3a;
						b[n++] = (uint8_t)op;
						b[n++] = modrm(m);
						check_encoding(code_size, dec, b, n);
					}
}

/* Three-byte VEX (C4): maps 0F, 0F 38, 0F 3A; W, L and pp; vvvv = 0. In 16-
 * and 32-bit code C4 is VEX only when the next byte looks like a register
 * ModRM, which R X B = 1 (inverted 0) makes it. */
static void walk_vex(unsigned code_size, const ZydisDecoder *dec)
{
	for (unsigned mm = 1; mm <= 3; mm++)
		for (unsigned w = 0; w < 2; w++)
			for (unsigned l = 0; l < 2; l++)
				for (unsigned pp = 0; pp < 4; pp++)
					for (unsigned op = 0; op < 256; op++)
						for (unsigned m = 0; m < NMODRM; m++) {
							uint8_t b[5] = { 0xc4, (uint8_t)(0xe0 | mm),
									 (uint8_t)(w << 7 | 0x78 | l << 2 | pp),
									 (uint8_t)op, modrm(m) };
							check_encoding(code_size, dec, b, sizeof(b));
						}
}

static void walk_mode(unsigned code_size)
{
	ZydisDecoder dec;
	soft_decoder_init(&dec, code_size);
	decoded = with_handler = not_advertised = deliberate = missing = unclassified = 0;
	walk_legacy(code_size, &dec);
	walk_vex(code_size, &dec);
	printf("# %u-bit code: %lu encodings decoded: %lu reach a handler, %lu deliberately #UD, %lu of features "
	       "the model does not advertise, %lu advertised without a handler, %lu unclassified\n",
	       code_size * 8, decoded, with_handler, deliberate, not_advertised, missing, unclassified);
	CHECK(decoded > 100000);
	CHECK_EQ(missing, 0);
	CHECK_EQ(unclassified, 0);
}

/* The model's own CPUID: what it advertises has handlers (checked above),
 * and the features x86v implements but does not advertise stay hidden. */
static void test_cpuid_consistent(void)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		if (f->leaf == ALWAYS || f->leaf == NEVER)
			continue;
		uint32_t max[4];
		soft_cpuid(f->leaf & 0x80000000u, 0, max);
		/* A leaf past the model's maximum is not there at all. */
		if (f->leaf > max[0])
			CHECK(!advertised(f));
	}
	for (size_t i = 0; i < sizeof(deliberate_ud) / sizeof(deliberate_ud[0]); i++)
		printf("# deliberately #UD: %s: %s\n", ZydisMnemonicGetString(deliberate_ud[i].mn), deliberate_ud[i].why);
}

static void setup(void)
{
	static bool done;
	if (!done)
		soft_register_handlers(&eng);
	done = true;
}

static void test_code16(void) { setup(); walk_mode(2); }
static void test_code32(void) { setup(); walk_mode(4); }
static void test_code64(void) { setup(); walk_mode(8); }

CHECK_MAIN(TEST_CASE(test_code16), TEST_CASE(test_code32), TEST_CASE(test_code64), TEST_CASE(test_cpuid_consistent))
