/* SPDX-License-Identifier: MIT */
/*
 * The debugging part of the machine configuration: the GDB stub's listen
 * address and the execution trace's file and filters (docs/debugging.md).
 */
#ifndef X86V_CORE_DEBUG_OPTS_H
#define X86V_CORE_DEBUG_OPTS_H

#include <stdbool.h>
#include <stdint.h>

enum trace_format { TRACE_FORMAT_X86V, TRACE_FORMAT_QEMU };

struct debug_opts {
	const char *gdb; /* "tcp:HOST:PORT", or NULL for no stub */
	bool gdb_listen_any; /* allow a non-loopback HOST */
	bool gdb_wait; /* -S: the vCPU waits for the debugger before the first instruction */

	const char *trace; /* trace file, or NULL */
	bool trace_has_range;
	uint64_t trace_start, trace_end; /* linear addresses, [start, end] inclusive */
	int trace_cpl; /* -1: any */
	int trace_cpu; /* only this vCPU's instructions; -1: every vCPU's */
	const char *trace_mode; /* an x86_state_mode() word, or NULL for any */
	uint64_t trace_count; /* stop tracing after this many lines; 0: no limit */
	enum trace_format trace_format;
};

#endif
