/* SPDX-License-Identifier: MIT */
/*
 * Glue between the machine (vm.c) and the debugging features: the GDB stub
 * (gdbstub.h), the trace writer (trace.h) and the extended state dump.
 */
#include <inttypes.h>
#include <string.h>

#include "core/gdbstub.h"
#include "core/log.h"
#include "core/trace.h"
#include "core/vm_debug.h"
#include "cpu/x86_disasm.h"

int vm_debug_create(struct vm *vm)
{
	const struct debug_opts *o = &vm->cfg.debug;
	char why[256];
	if (o->trace) {
		if (!vm->eng_ops->set_trace) {
			log_error("--trace: the %s engine cannot trace (use --accel soft)", vm->eng_ops->name);
			return X86V_EXIT_USAGE;
		}
		if (trace_open(o, &vm->ram, vm->ncpus, &vm->trace, why, sizeof(why)) < 0) {
			log_error("%s", why);
			return X86V_EXIT_USAGE;
		}
	}
	if (o->gdb) {
		if (!vm->eng_ops->set_debug) {
			log_error("--gdb: the %s engine cannot be debugged", vm->eng_ops->name);
			return X86V_EXIT_USAGE;
		}
		if (gdb_stub_create(vm, o, &vm->gdb, why, sizeof(why)) < 0) {
			log_error("%s", why);
			return X86V_EXIT_USAGE;
		}
	}
	return 0;
}

void vm_debug_vcpu_start(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	struct engine_trace hook;
	if (vm->trace && trace_hook(vm->trace, c->index, &hook)) {
		int r = vm->eng_ops->set_trace(c->vcpu, &hook);
		if (r < 0)
			log_warn("--trace: %s", strerror(-r));
	}
	if (vm->gdb && c->index == 0)
		gdb_vcpu_start(vm->gdb, c);
}

void vm_debug_vcpu_exit(struct vm_cpu *c, const struct vcpu_exit *ex)
{
	struct vm *vm = c->vm;
	if (vm->gdb) {
		gdb_vcpu_debug_exit(vm->gdb, c, ex);
		return;
	}
	/* Nobody asked for debug exits; turn them off and go on. */
	if (vm->eng_ops->set_debug) {
		struct engine_debug off = { .enabled = false };
		(void)vm->eng_ops->set_debug(c->vcpu, &off);
	}
}

void vm_debug_vcpu_poll(struct vm_cpu *c)
{
	if (c->vm->gdb)
		gdb_vcpu_poll(c->vm->gdb, c);
}

bool vm_debug_stop_pending(const struct vm_cpu *c)
{
	return c->vm->gdb && gdb_stop_pending(c->vm->gdb, c);
}

void vm_debug_dump_extra(struct vm *vm, struct vm_cpu *c, const struct x86_cpu_state *s, FILE *out)
{
	x86_dump_current_insn(s, &vm->ram, out);
	if (!vm->eng_ops->branch_history || !c->vcpu)
		return;
	struct engine_branch b[ENGINE_BRANCH_HISTORY];
	unsigned n = vm->eng_ops->branch_history(c->vcpu, b);
	if (!n)
		return;
	fprintf(out, "last %u branches (from -> to, oldest first):\n", n);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "  %016" PRIx64 " -> %016" PRIx64 "\n", b[i].from, b[i].to);
}

void vm_debug_finish(struct vm *vm)
{
	if (vm->gdb)
		gdb_stub_report_exit(vm->gdb, vm->exit_status);
	if (vm->trace) {
		trace_close(vm->trace);
		vm->trace = NULL;
	}
}

void vm_debug_destroy(struct vm *vm)
{
	gdb_stub_destroy(vm->gdb);
	vm->gdb = NULL;
	trace_close(vm->trace);
	vm->trace = NULL;
}
