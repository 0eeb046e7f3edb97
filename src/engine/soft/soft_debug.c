/* SPDX-License-Identifier: MIT */
/*
 * Debugging for the software engine: breakpoints checked at instruction
 * boundaries, single-step, watchpoints on data accesses, the per-instruction
 * trace hook and the branch history.
 *
 * Costs when nothing is on: the execution loop tests cpu->debug_hooks once
 * per instruction and segmented data accesses test cpu->watch_active; both
 * are plain loads of flags that do not change while the guest runs.
 *
 * Semantics follow the hardware debug features the GDB stub maps onto (SDM
 * Vol. 3B §17.2-17.3): instruction breakpoints are faults (they stop before
 * the instruction), data breakpoints are traps (after the instruction that
 * accessed the data), single-step stops after one instruction or after an
 * exception's delivery (at the handler's first instruction). Watchpoints see
 * explicit operand and stack accesses; implicit supervisor accesses
 * (descriptor tables, page walks, IDT) are not watched. The guest's own data
 * breakpoints (DR7, soft_dr.c) use the same access hook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86_translate.h"
#include "engine/soft/soft_engine.h"

struct soft_debug {
	struct engine_debug cfg;
	bool skip_pending; /* the next boundary ignores breakpoints (continue from one) */
	bool step_done; /* single-step: the instruction (or exception) happened */
	int watch_hit; /* slot, or -1 */
	uint64_t watch_addr;

	bool tracing;
	struct engine_trace trace;
	bool traced_this; /* before holds the state ahead of the current instruction */
	struct x86_cpu_state before;
};

static struct soft_debug *get_debug(struct soft_cpu *cpu)
{
	if (!cpu->debug) {
		cpu->debug = calloc(1, sizeof(*cpu->debug));
		if (cpu->debug)
			cpu->debug->watch_hit = -1;
	}
	return cpu->debug;
}

static void update_hooks(struct soft_cpu *cpu)
{
	struct soft_debug *d = cpu->debug;
	cpu->debug_hooks = d && (d->cfg.enabled || d->tracing);
	cpu->debug_step = d && d->cfg.enabled && d->cfg.single_step;
	cpu->host_watch = false;
	if (d && d->cfg.enabled)
		for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++)
			if (d->cfg.hw[i].enabled && d->cfg.hw[i].type != ENGINE_HW_EXEC)
				cpu->host_watch = true;
	cpu->watch_active = cpu->host_watch || cpu->dr_data_active;
}

int soft_debug_configure(struct soft_cpu *cpu, const struct engine_debug *dbg)
{
	struct soft_debug *d = get_debug(cpu);
	if (!d)
		return -ENOMEM;
	if (dbg->n_sw > ENGINE_MAX_SW_BP)
		return -EINVAL;
	d->cfg = *dbg;
	d->skip_pending = dbg->enabled && dbg->skip_first;
	d->step_done = false;
	d->watch_hit = -1;
	/* The debugger wrote guest RAM behind the code-page tracking's back. */
	if (dbg->code_changed)
		soft_blocks_flush(cpu);
	update_hooks(cpu);
	return 0;
}

int soft_debug_set_trace(struct soft_cpu *cpu, const struct engine_trace *trace)
{
	struct soft_debug *d = get_debug(cpu);
	if (!d)
		return -ENOMEM;
	d->tracing = trace != NULL;
	if (trace)
		d->trace = *trace;
	d->traced_this = false;
	update_hooks(cpu);
	return 0;
}

void soft_debug_destroy(struct soft_cpu *cpu)
{
	free(cpu->debug);
	cpu->debug = NULL;
	cpu->debug_hooks = cpu->debug_step = cpu->host_watch = false;
	cpu->watch_active = cpu->dr_data_active;
}

static bool stop(struct soft_cpu *cpu, struct vcpu_exit *exit, int watch, uint64_t watch_addr)
{
	exit->reason = VCPU_EXIT_DEBUG;
	exit->debug_pc = x86_seg_linear(&cpu->s, X86_CS, cpu->s.rip);
	exit->debug_watch = watch;
	exit->debug_watch_addr = watch_addr;
	snprintf(exit->detail, sizeof(exit->detail), "debug stop");
	return true;
}

static bool is_breakpoint(const struct engine_debug *c, uint64_t lin)
{
	for (unsigned i = 0; i < c->n_sw; i++)
		if (c->sw_bp[i] == lin)
			return true;
	for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++)
		if (c->hw[i].enabled && c->hw[i].type == ENGINE_HW_EXEC && c->hw[i].addr == lin)
			return true;
	return false;
}

bool soft_debug_before(struct soft_cpu *cpu, struct vcpu_exit *exit)
{
	struct soft_debug *d = cpu->debug;
	if (d->cfg.enabled) {
		bool skip = d->skip_pending;
		d->skip_pending = false;
		if (!skip && is_breakpoint(&d->cfg, x86_seg_linear(&cpu->s, X86_CS, cpu->s.rip)))
			return stop(cpu, exit, -1, 0);
	}
	d->traced_this = d->tracing && d->trace.want(d->trace.opaque, &cpu->s);
	if (d->traced_this)
		d->before = cpu->s;
	return false;
}

bool soft_debug_after(struct soft_cpu *cpu, struct vcpu_exit *exit)
{
	struct soft_debug *d = cpu->debug;
	if (d->traced_this) {
		d->traced_this = false;
		d->trace.insn(d->trace.opaque, &d->before, &cpu->s, -1);
	}
	if (!d->cfg.enabled)
		return false;
	if (d->watch_hit >= 0) {
		int w = d->watch_hit;
		d->watch_hit = -1;
		return stop(cpu, exit, w, d->watch_addr);
	}
	if (d->cfg.single_step)
		return stop(cpu, exit, -1, 0);
	return false;
}

void soft_debug_fault(struct soft_cpu *cpu)
{
	struct soft_debug *d = cpu->debug;
	if (d->traced_this) {
		d->traced_this = false;
		d->trace.insn(d->trace.opaque, &d->before, &cpu->s, cpu->raised_vector);
	}
	/* A faulting instruction did not complete: a watchpoint it tripped does not count. */
	d->watch_hit = -1;
	if (d->cfg.enabled && d->cfg.single_step)
		d->step_done = true;
}

bool soft_debug_pending(struct soft_cpu *cpu, struct vcpu_exit *exit)
{
	struct soft_debug *d = cpu->debug;
	if (!d->step_done)
		return false;
	d->step_done = false;
	return stop(cpu, exit, -1, 0);
}

void soft_debug_watch(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool is_write)
{
	if (cpu->dr_data_active)
		soft_dr_watch(cpu, lin, size, is_write);
	struct soft_debug *d = cpu->debug;
	if (!cpu->host_watch || !d || d->watch_hit >= 0)
		return;
	for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++) {
		const struct engine_hw_bp *b = &d->cfg.hw[i];
		if (!b->enabled || b->type == ENGINE_HW_EXEC)
			continue;
		if ((b->type == ENGINE_HW_WRITE && !is_write) || (b->type == ENGINE_HW_READ && is_write))
			continue;
		if (lin < b->addr + b->len && b->addr < lin + size) {
			d->watch_hit = (int)i;
			d->watch_addr = b->addr;
			return;
		}
	}
}

unsigned soft_debug_branches(const struct soft_cpu *cpu, struct engine_branch *out)
{
	unsigned n = cpu->branch_pos < ENGINE_BRANCH_HISTORY ? cpu->branch_pos : ENGINE_BRANCH_HISTORY;
	for (unsigned i = 0; i < n; i++)
		out[i] = cpu->branch_ring[(cpu->branch_pos - n + i) % ENGINE_BRANCH_HISTORY];
	return n;
}
