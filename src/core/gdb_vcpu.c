/* SPDX-License-Identifier: MIT */
/*
 * The vCPU thread's side of the GDB stub: parking when the debugger has the
 * machine, and applying what it changed before running again. Only this
 * file calls the engine for the stub, and only on the vCPU thread (see
 * gdbstub.h for the whole design).
 */
#include <string.h>

#include "core/gdb_internal.h"
#include "core/log.h"

/* Parks the vCPU: saves its state for the main thread, reports the stop if a
 * resume packet is waiting for one, sleeps until a resume, then loads what
 * the debugger changed. Lock not held on entry or exit. */
static void park(struct gdb_stub *g, const struct vcpu_exit *ex)
{
	struct vm *vm = g->vm;
	const struct engine_ops *ops = vm->eng_ops;
	struct x86_cpu_state s;

	/* The debugger must see guest memory without our INT3 bytes in it. */
	if (ops->set_debug) {
		struct engine_debug off = { .enabled = false };
		(void)ops->set_debug(vm->cpus[0].vcpu, &off);
	}
	int r = ops->get_state(vm->cpus[0].vcpu, &s);

	pthread_mutex_lock(&vm->lock);
	if (r < 0 || vm->exit_requested) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	g->state = s;
	g->state_dirty = false;
	g->code_changed = false;
	g->stop_signal = g->ctrl_c ? 2 : 5;
	g->stop_watch = ex ? ex->debug_watch : -1;
	g->stop_watch_addr = ex ? ex->debug_watch_addr : 0;
	g->stop_sw_bp = g->stop_hw_bp = false;
	if (ex && ex->debug_watch < 0 && !g->dbg.single_step) {
		for (unsigned i = 0; i < g->dbg.n_sw; i++)
			g->stop_sw_bp |= g->dbg.sw_bp[i] == ex->debug_pc;
		g->stop_hw_bp = !g->stop_sw_bp;
	}
	g->ctrl_c = false;
	g->stop_requested = false;
	g->wait_at_start = false;
	g->resume = GDB_RESUME_NONE;
	g->parked = true;
	if (g->reply_on_stop) {
		g->reply_on_stop = false;
		gdb_send_stop_reply(g);
	}
	pthread_cond_broadcast(&g->parked_cond);

	while (g->parked && !vm->exit_requested)
		pthread_cond_wait(&vm->cpus[0].wake, &vm->lock);
	g->parked = false;

	bool dirty = g->state_dirty;
	s = g->state;
	struct engine_debug dbg = g->dbg;
	dbg.enabled = g->conn_fd >= 0;
	dbg.single_step = g->resume == GDB_RESUME_STEP;
	dbg.code_changed = g->code_changed;
	dbg.skip_first = true;
	bool quit = vm->exit_requested;
	pthread_mutex_unlock(&vm->lock);
	if (quit)
		return;

	if (dirty && (r = ops->set_state(vm->cpus[0].vcpu, &s)) < 0)
		log_warn("gdb: cannot load the registers the debugger wrote: %s", strerror(-r));
	if (ops->set_debug && (r = ops->set_debug(vm->cpus[0].vcpu, &dbg)) < 0)
		log_warn("gdb: the engine refused the breakpoints: %s", strerror(-r));
}

void gdb_vcpu_start(struct gdb_stub *g)
{
	pthread_mutex_lock(&g->vm->lock);
	bool wait = g->wait_at_start;
	pthread_mutex_unlock(&g->vm->lock);
	if (wait)
		park(g, NULL);
}

void gdb_vcpu_debug_exit(struct gdb_stub *g, const struct vcpu_exit *ex)
{
	park(g, ex);
}

void gdb_vcpu_poll(struct gdb_stub *g)
{
	pthread_mutex_lock(&g->vm->lock);
	bool stop = g->stop_requested;
	pthread_mutex_unlock(&g->vm->lock);
	if (stop)
		park(g, NULL);
}
