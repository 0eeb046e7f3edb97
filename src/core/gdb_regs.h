/* SPDX-License-Identifier: MIT */
/*
 * The x86 register layouts the GDB stub offers and their target
 * descriptions (GDB manual, "Target Descriptions" and "i386 Features"):
 * i386:x86-64 (org.gnu.gdb.i386.core/sse/segments) for 64-bit guests and i386
 * for 32-bit and 16-bit ones, each with a custom org.x86v.sys feature holding
 * the control registers and EFER. Register numbers are positions in the
 * description, which is also the order of the 'g' packet.
 */
#ifndef X86V_CORE_GDB_REGS_H
#define X86V_CORE_GDB_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "cpu/x86_state.h"

enum gdb_arch { GDB_ARCH_I386, GDB_ARCH_AMD64 };

/* Number of registers in the layout. */
unsigned gdb_regs_count(enum gdb_arch arch);
/* Size in bytes of register n (n < gdb_regs_count). */
unsigned gdb_reg_size(enum gdb_arch arch, unsigned n);
/* Reads register n into out (little-endian, gdb_reg_size bytes). */
void gdb_reg_read(enum gdb_arch arch, const struct x86_cpu_state *s, unsigned n, uint8_t *out);
/* Writes register n from in. */
void gdb_reg_write(enum gdb_arch arch, struct x86_cpu_state *s, unsigned n, const uint8_t *in);
/* The register number of the program counter (rip / eip). */
unsigned gdb_reg_pc(enum gdb_arch arch);
/* The whole target.xml text for arch (static storage, NUL-terminated). */
const char *gdb_target_xml(enum gdb_arch arch);
/* Which layout fits the state: amd64 in long mode (EFER.LMA), else i386. */
enum gdb_arch gdb_arch_for(const struct x86_cpu_state *s);

#endif
