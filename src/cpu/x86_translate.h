/* SPDX-License-Identifier: MIT */
/*
 * A read-only page walker over the engine-neutral state: linear → physical
 * for whatever paging mode the state is in, without setting accessed/dirty
 * bits and without faults. For debuggers, traces and dumps, which must look
 * at the guest without changing it; the engines keep their own walkers.
 */
#ifndef X86V_CPU_X86_TRANSLATE_H
#define X86V_CPU_X86_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

/* Translates the linear address lin with the paging structures s points at
 * (CR0.PG, CR4.PAE/PSE, EFER.LMA; 4-level in long mode). 0 with *gpa set, or
 * -EFAULT when the address is not mapped (or the tables are not in RAM). */
int x86_translate(const struct x86_cpu_state *s, const struct guest_ram *ram, uint64_t lin,
		  uint64_t *gpa) MUST_CHECK;

/* The linear address of segment sreg:offset in the state's current mode. */
uint64_t x86_seg_linear(const struct x86_cpu_state *s, int sreg, uint64_t offset);

/* Copies len bytes at linear address lin into buf, page by page. Returns how
 * many bytes could be read (stops at the first unmapped or non-RAM page). */
size_t x86_read_linear(const struct x86_cpu_state *s, const struct guest_ram *ram, uint64_t lin, void *buf,
		       size_t len);

#endif
