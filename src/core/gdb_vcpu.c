/* SPDX-License-Identifier: MIT */
/*
 * The vCPU threads' side of the GDB stub: parking when the debugger stops the
 * machine, and applying what it changed before running again. Only this file
 * calls the engine for the stub, each vCPU's thread on its own vCPU only (see
 * gdbstub.h for the whole design).
 */
#include <string.h>

#include "core/gdb_internal.h"
#include "core/log.h"

/* Loads a breakpoint set into the vCPU (lock not needed; debug_lock taken). */
static void load_debug(struct gdb_stub *g, struct vcpu *vcpu, const struct engine_debug *dbg)
{
	const struct engine_ops *ops = g->vm->eng_ops;
	if (!ops->set_debug)
		return;
	pthread_mutex_lock(&g->debug_lock);
	int r = ops->set_debug(vcpu, dbg);
	pthread_mutex_unlock(&g->debug_lock);
	if (r < 0 && dbg->enabled)
		log_warn("gdb: the engine refused the breakpoints: %s", strerror(-r));
}

/* Breakpoints off: the debugger must see guest memory without our INT3 bytes in it. */
static void debug_off(struct gdb_stub *g, struct vcpu *vcpu)
{
	struct engine_debug off = { .enabled = false };
	load_debug(g, vcpu, &off);
}

/* Lock held: the breakpoint set vCPU gc runs with next. */
static struct engine_debug debug_for(struct gdb_stub *g, struct gdb_cpu *gc)
{
	struct engine_debug d = g->dbg;
	d.enabled = g->conn_fd >= 0;
	d.single_step = gc->resume == GDB_RESUME_STEP;
	d.skip_first = gc->skip_first;
	d.code_changed = gc->code_changed;
	gc->skip_first = false;
	gc->code_changed = false;
	return d;
}

/* Lock held: the machine needs the vCPU at its pause point (the control API
 * pauses, another vCPU resets the machine). A kick is latched for it there,
 * so it comes back to gdb_vcpu_poll before it runs a guest instruction. */
static bool machine_wants(const struct vm *vm, const struct vm_cpu *c)
{
	return vm->pause_requested || (vm->stopper && vm->stopper != c);
}

void gdb_kick_running(struct gdb_stub *g, const struct vm_cpu *except)
{
	struct vm *vm = g->vm;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (g->cpu[i].parked || &vm->cpus[i] == except)
			continue;
		pthread_cond_broadcast(&vm->cpus[i].wake);
		if (vm->cpus[i].vcpu)
			vm->eng_ops->kick(vm->cpus[i].vcpu);
	}
}

void gdb_check_stopped(struct gdb_stub *g)
{
	struct vm *vm = g->vm;
	if (g->stopped || !g->stop_requested || vm->exit_requested)
		return;
	/* Every vCPU counts, also one whose thread has not reached its run loop
	 * yet: it parks or goes idle once it does. */
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (!g->cpu[i].parked && !g->cpu[i].idle)
			return;
	unsigned r = g->first >= 0 ? (unsigned)g->first : g->report;
	struct gdb_cpu *gc = &g->cpu[r];
	g->stopped = true;
	g->stop_requested = false;
	g->wait_at_start = false;
	for (unsigned i = 0; i < vm->ncpus; i++)
		g->cpu[i].held = true;
	g->report = r;
	gc->skip_first = true;
	g->cur_g = r;
	g->cur_c = (int)r;
	g->report_event = gc->pending;
	g->stop_signal = gc->pending || !g->ctrl_c ? 5 : 2;
	gc->pending = false;
	g->ctrl_c = false;
	g->first = -1;
	if (g->reply_on_stop) {
		g->reply_on_stop = false;
		gdb_send_stop_reply(g);
	}
	pthread_cond_broadcast(&g->parked_cond);
}

/* Lock held: what the debug exit ex was, kept until it is reported. */
static void record_event(struct gdb_stub *g, struct gdb_cpu *gc, const struct vcpu_exit *ex)
{
	gc->watch = ex->debug_watch;
	gc->watch_addr = ex->debug_watch_addr;
	gc->event_pc = ex->debug_pc;
	gc->sw_bp = false;
	if (ex->debug_watch >= 0) {
		gc->event = GDB_EV_WATCH;
	} else if (gc->resume == GDB_RESUME_STEP) {
		gc->event = GDB_EV_STEP;
	} else {
		gc->event = GDB_EV_BREAK;
		for (unsigned i = 0; i < g->dbg.n_sw; i++)
			gc->sw_bp |= g->dbg.sw_bp[i] == ex->debug_pc;
	}
	gc->pending = true;
}

/* Parks vCPU c: saves its state for the main thread, stops the others if its
 * own debug exit ex is the first stop, sleeps until the debugger lets it go,
 * then loads what the debugger changed. Lock not held on entry or exit. */
static void park(struct gdb_stub *g, struct vm_cpu *c, const struct vcpu_exit *ex)
{
	struct vm *vm = g->vm;
	const struct engine_ops *ops = vm->eng_ops;
	struct gdb_cpu *gc = &g->cpu[c->index];
	struct x86_cpu_state s;

	debug_off(g, c->vcpu);
	int r = ops->get_state(c->vcpu, &s);

	pthread_mutex_lock(&vm->lock);
	/* A debug exit with no debugger (it left while this vCPU ran with its
	 * breakpoints): run on without them. */
	if (r < 0 || vm->exit_requested || (ex && g->conn_fd < 0)) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	if (ex) {
		record_event(g, gc, ex);
		if (!g->stop_requested && !g->stopped) {
			/* Its own stop: every other vCPU stops too. */
			g->stop_requested = true;
			g->first = (int)c->index;
			gdb_kick_running(g, c);
		}
	}
	if (g->first < 0)
		g->first = (int)c->index;
	gc->held = true;
	gc->load_debug = true; /* its breakpoints are off until it loads them */
	if (machine_wants(vm, c)) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	gc->state = s;
	gc->state_dirty = false;
	gc->idle = false;
	gc->parked = true;
	gdb_check_stopped(g);

	while (gc->parked && !vm->exit_requested && !machine_wants(vm, c))
		pthread_cond_wait(&c->wake, &vm->lock);
	bool away = gc->parked; /* to its pause point, still held: it parks here again after */
	gc->parked = false;
	bool dirty = gc->state_dirty;
	gc->state_dirty = false;
	s = gc->state;
	struct engine_debug dbg = { .enabled = false };
	if (!away) {
		gc->load_debug = false;
		dbg = debug_for(g, gc);
	}
	bool quit = vm->exit_requested;
	pthread_mutex_unlock(&vm->lock);
	if (quit)
		return;

	if (dirty && (r = ops->set_state(c->vcpu, &s)) < 0)
		log_warn("gdb: cannot load the registers the debugger wrote: %s", strerror(-r));
	if (!away)
		load_debug(g, c->vcpu, &dbg);
}

/* Lock held, on c's thread, c waiting for a start-up IPI: it is stopped
 * where it waits; its state is saved and its breakpoints go off (loaded again
 * at its first kick once it runs). */
static void stop_idle(struct gdb_stub *g, const struct vm_cpu *c, struct gdb_cpu *gc)
{
	struct x86_cpu_state s;
	debug_off(g, c->vcpu);
	if (g->vm->eng_ops->get_state(c->vcpu, &s) == 0)
		gc->state = s;
	gc->state_dirty = false;
	gc->idle = true;
	gc->held = true;
	gc->load_debug = true;
	gdb_check_stopped(g);
}

bool gdb_stop_pending(struct gdb_stub *g, const struct vm_cpu *c)
{
	struct gdb_cpu *gc = &g->cpu[c->index];
	if (g->vm->exit_requested || !(g->stop_requested || gc->held) || gc->parked)
		return false;
	if (!c->wait_sipi)
		return true; /* a halted vCPU comes out and parks */
	if (!gc->idle && c->vcpu)
		stop_idle(g, c, gc);
	return false;
}

/* The BSP does not park here, inside its start-up, where it does not count as
 * running yet (the other vCPUs, waiting for a start-up IPI, would look like
 * a machine where every vCPU is stuck): a kick makes its first run() return
 * before the first instruction, and it parks at that kick. */
void gdb_vcpu_start(struct gdb_stub *g, struct vm_cpu *c)
{
	pthread_mutex_lock(&g->vm->lock);
	if (g->wait_at_start)
		g->vm->eng_ops->kick(c->vcpu);
	pthread_mutex_unlock(&g->vm->lock);
}

void gdb_vcpu_debug_exit(struct gdb_stub *g, struct vm_cpu *c, const struct vcpu_exit *ex)
{
	park(g, c, ex);
}

void gdb_vcpu_poll(struct gdb_stub *g, struct vm_cpu *c)
{
	struct vm *vm = g->vm;
	struct gdb_cpu *gc = &g->cpu[c->index];
	struct engine_debug dbg = { .enabled = false };
	pthread_mutex_lock(&vm->lock);
	bool stop = (g->stop_requested || gc->held) && !vm->exit_requested;
	bool load = !stop && gc->load_debug;
	if (load) {
		gc->load_debug = false;
		dbg = debug_for(g, gc);
	}
	pthread_mutex_unlock(&vm->lock);
	if (stop)
		park(g, c, NULL);
	else if (load)
		load_debug(g, c->vcpu, &dbg);
}
