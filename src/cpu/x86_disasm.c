/* SPDX-License-Identifier: MIT */
/*
 * Zydis (4.0, Debian's libzydis-dev) behind one call: ZydisDisassembleIntel
 * decodes and formats in one go, which is fine off the hot path.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <Zydis/Zydis.h>

#include "cpu/x86_disasm.h"
#include "cpu/x86_translate.h"

unsigned x86_code_size(const struct x86_cpu_state *s)
{
	if (!(s->cr0 & CR0_PE) || (s->rflags & RFLAGS_VM))
		return 2;
	if ((s->efer & EFER_LMA) && (s->seg[X86_CS].attr & SEG_ATTR_L))
		return 8;
	return (s->seg[X86_CS].attr & SEG_ATTR_DB) ? 4 : 2;
}

int x86_disasm(const uint8_t *bytes, size_t len, unsigned code_size, uint64_t rip, char *out, size_t out_len)
{
	ZydisMachineMode mode = code_size == 8   ? ZYDIS_MACHINE_MODE_LONG_64
				: code_size == 4 ? ZYDIS_MACHINE_MODE_LEGACY_32
						 : ZYDIS_MACHINE_MODE_LEGACY_16;
	ZydisDisassembledInstruction insn;
	if (len > 15)
		len = 15;
	if (!ZYAN_SUCCESS(ZydisDisassembleIntel(mode, rip, bytes, len, &insn))) {
		snprintf(out, out_len, "(bad)");
		return -EINVAL;
	}
	snprintf(out, out_len, "%s", insn.text);
	return insn.info.length;
}

void x86_dump_current_insn(const struct x86_cpu_state *s, const struct guest_ram *ram, FILE *out)
{
	uint8_t bytes[15];
	char text[128];
	uint64_t lin = x86_seg_linear(s, X86_CS, s->rip);
	size_t n = x86_read_linear(s, ram, lin, bytes, sizeof(bytes));
	fprintf(out, "code: %04x:%016" PRIx64 " (linear %016" PRIx64 ") ", s->seg[X86_CS].selector, s->rip, lin);
	if (n == 0) {
		fprintf(out, "(not mapped)\n");
		return;
	}
	int len = x86_disasm(bytes, n, x86_code_size(s), s->rip, text, sizeof(text));
	unsigned shown = len > 0 ? (unsigned)len : (n < 8 ? (unsigned)n : 8);
	for (unsigned i = 0; i < shown; i++)
		fprintf(out, "%02x", bytes[i]);
	fprintf(out, "  %s\n", text);
}
