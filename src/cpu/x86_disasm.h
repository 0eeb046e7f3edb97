/* SPDX-License-Identifier: MIT */
/*
 * One instruction → text, with Zydis' Intel-syntax formatter. For traces,
 * dumps and the debugger; never on an engine's execution path.
 */
#ifndef X86V_CPU_X86_DISASM_H
#define X86V_CPU_X86_DISASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

/* The default code size of the state's current mode: 2, 4 or 8 bytes. */
unsigned x86_code_size(const struct x86_cpu_state *s);

/* Disassembles the instruction in bytes[0..len) for code size 2/4/8 at
 * address rip (for branch targets). Returns its length (1..15) with text in
 * out, or -EINVAL (out says "(bad)") when the bytes decode to nothing. */
int x86_disasm(const uint8_t *bytes, size_t len, unsigned code_size, uint64_t rip, char *out,
	       size_t out_len) MUST_CHECK;

/* Prints "code: CS:RIP (linear) BYTES  TEXT" for the instruction at the
 * state's CS:RIP, read through its page tables, on one line. */
void x86_dump_current_insn(const struct x86_cpu_state *s, const struct guest_ram *ram, FILE *out);

#endif
