/* SPDX-License-Identifier: MIT */
/*
 * The execution trace (--trace FILE): one record per instruction that passes
 * the filters (linear address range, CPL, mode, first N), in x86v's format
 * (CS:RIP, bytes, Zydis disassembly, the registers it changed; with several
 * vCPUs, the vCPU's index first; --trace-cpu keeps one vCPU's) or in the
 * layout of QEMU's `-d exec,cpu` log (the state before each instruction) so
 * scripts/trace-diff can find where x86v and QEMU part ways.
 *
 * The writer is driven by each traced vCPU's trace hook (engine.h struct
 * engine_trace) on that vCPU's thread; one lock keeps records whole.
 */
#ifndef X86V_CORE_TRACE_H
#define X86V_CORE_TRACE_H

#include <stddef.h>

#include "core/compiler.h"
#include "core/debug_opts.h"
#include "engine/engine.h"
#include "mem/guest_ram.h"

struct trace;

/* Opens opts->trace for writing ("-" is stdout), for a machine of ncpus
 * vCPUs. 0, or -errno with a one-line why. */
int trace_open(const struct debug_opts *opts, const struct guest_ram *ram, unsigned ncpus, struct trace **out,
	       char *why, size_t why_len) MUST_CHECK;
/* vCPU cpu's hook, to give the engine's set_trace() on its thread; false
 * when --trace-cpu leaves that vCPU out. */
bool trace_hook(struct trace *t, unsigned cpu, struct engine_trace *hook);
/* Flushes and closes; NULL is fine. */
void trace_close(struct trace *t);

/* Parses "START-END" (hex with or without 0x) into an inclusive range. 0 or -EINVAL. */
int trace_parse_range(const char *text, uint64_t *start, uint64_t *end) MUST_CHECK;

#endif
