/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's thread: it makes its engine vCPU, runs it, and handles what the
 * exits ask for: halts, INIT and start-up IPIs, machine resets (which stop
 * the other vCPUs first), the end of the run, and the user's requests
 * (register dumps, snapshots, pauses).
 *
 * KVM wants vCPU ioctls from the thread that created the vCPU, so each
 * vCPU's thread is the only one that touches it; other threads ask it for
 * things with a flag plus a kick (vm_kick_all).
 *
 * Application processors start in wait-for-SIPI (SDM Vol. 3A §9.4): with
 * x86v's own local APICs the thread runs nothing until its APIC latches a
 * start-up IPI; with KVM's in-kernel APICs, KVM holds the vCPU itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sandbox.h"
#include "core/snapshot.h"
#include "core/vm.h"
#include "core/vm_debug.h"
#include "core/vm_internal.h"
#include "hw/pc/board.h"

static __thread unsigned current_cpu_index;

unsigned vm_current_cpu(void)
{
	return current_cpu_index;
}

static bool is_bsp(const struct vm_cpu *c)
{
	return c->index == 0;
}

/* --- stopping the vCPUs --- */

void vm_kick_all(struct vm *vm)
{
	pthread_cond_broadcast(&vm->stop_cond); /* the waits for the others look again */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_cpu *c = &vm->cpus[i];
		pthread_cond_broadcast(&c->wake);
		if (c->vcpu)
			vm->eng_ops->kick(c->vcpu);
	}
}

static void parked_changed(struct vm *vm)
{
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_cond_broadcast(&vm->api_cond);
}

static bool must_park(const struct vm_cpu *c)
{
	const struct vm *vm = c->vm;
	return !vm->exit_requested && (vm->pause_requested || (vm->stopper && vm->stopper != c));
}

static int cpu_reset(struct vm_cpu *c);
static void capture_locked(struct vm_cpu *c);

/* A snapshot the control API asked for while paused: the BSP writes it. */
static void write_api_snapshot(struct vm *vm)
{
	const char *path = vm->api_snapshot, *mem = vm->api_snapshot_mem;
	char why[320] = "";
	pthread_mutex_unlock(&vm->lock);
	int r = snapshot_save_named(vm, path, mem, why, sizeof(why));
	pthread_mutex_lock(&vm->lock);
	vm->api_snapshot_result = r;
	snprintf(vm->api_snapshot_why, sizeof(vm->api_snapshot_why), "%s", why);
	vm->api_snapshot_done = true;
	pthread_cond_broadcast(&vm->api_cond);
}

void vm_pause_point(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	for (;;) {
		if (c->capture_gen != vm->capture_gen) {
			/* The BSP writes a snapshot: this vCPU's state, from its own thread. */
			unsigned gen = vm->capture_gen;
			capture_locked(c);
			c->capture_gen = gen;
			parked_changed(vm);
			continue;
		}
		if (c->reset_gen != vm->reset_gen && vm->stopper != c && !vm->exit_requested) {
			/* Another vCPU reset the machine while this one was parked. */
			unsigned gen = vm->reset_gen;
			pthread_mutex_unlock(&vm->lock);
			int r = cpu_reset(c);
			pthread_mutex_lock(&vm->lock);
			if (r < 0 && !vm->exit_requested) {
				snprintf(vm->exit_reason, sizeof(vm->exit_reason), "reset of vCPU %u: %s", c->index,
					 strerror(-r));
				vm_request_exit(vm, X86V_EXIT_HOST_ERROR);
			}
			c->reset_gen = gen;
			parked_changed(vm);
			continue;
		}
		if (!must_park(c))
			break;
		if (!c->parked) {
			c->parked = true;
			vm->nparked++;
			parked_changed(vm);
		}
		if (is_bsp(c) && vm->api_snapshot && !vm->api_snapshot_done) {
			write_api_snapshot(vm);
			continue;
		}
		pthread_cond_wait(&c->wake, &vm->lock);
	}
	if (c->parked) {
		c->parked = false;
		vm->nparked--;
		parked_changed(vm);
	}
}

void vm_stop_others(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	while (vm->stopper && vm->stopper != c && !vm->exit_requested)
		vm_pause_point(c); /* the other one goes first; this one parks meanwhile */
	vm->stopper = c;
	vm_kick_all(vm);
	while (vm->nparked + 1 < vm->nrunning && !vm->exit_requested)
		pthread_cond_wait(&vm->stop_cond, &vm->lock);
}

void vm_start_others(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	if (vm->stopper == c)
		vm->stopper = NULL;
	vm_kick_all(vm);
}

/* Its state and the engine's own record into c->snap (lock not held). */
static void capture_self(struct vm_cpu *c)
{
	const struct engine_ops *ops = c->vm->eng_ops;
	struct vm_cpu_snap *s = &c->snap;
	memset(&s->state, 0, sizeof(s->state));
	s->platform.len = 0;
	s->platform.failed = false;
	s->wait_sipi = c->wait_sipi;
	s->result = c->vcpu ? ops->get_state(c->vcpu, &s->state) : -ENODEV;
	if (s->result == 0 && ops->save_platform)
		s->result = ops->save_platform(c->vcpu, &s->platform);
	if (s->result == 0 && s->platform.failed)
		s->result = -ENOMEM;
}

/* capture_self with the lock held on entry and return (dropped meanwhile);
 * the BSP does not read c->snap while it is being written. */
static void capture_locked(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	c->capturing = true;
	pthread_mutex_unlock(&vm->lock);
	capture_self(c);
	pthread_mutex_lock(&vm->lock);
	c->capturing = false;
	parked_changed(vm);
}

int vm_capture_cpus(struct vm *vm, unsigned *failed)
{
	unsigned gen = ++vm->capture_gen;
	struct vm_cpu *bsp = &vm->cpus[0];
	vm_kick_all(vm);
	pthread_mutex_unlock(&vm->lock);
	capture_self(bsp);
	pthread_mutex_lock(&vm->lock);
	bsp->capture_gen = gen;
	for (unsigned i = 1; i < vm->ncpus; i++) {
		struct vm_cpu *c = &vm->cpus[i];
		while ((c->running && c->capture_gen != gen) || c->capturing)
			pthread_cond_wait(&vm->stop_cond, &vm->lock);
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_cpu *c = &vm->cpus[i];
		int r = c->capture_gen == gen || c->exit_captured ? c->snap.result : -ESRCH;
		if (r < 0) {
			*failed = i;
			return r;
		}
	}
	return 0;
}

/* --- requests from other threads --- */

/* Where --snapshot-on-exit and Ctrl-A s write. */
const char *vm_snapshot_path(const struct vm *vm)
{
	return vm->cfg.snapshot_on_exit ? vm->cfg.snapshot_on_exit : "x86v.snap";
}

/* On the BSP's thread, the vCPUs out of the guest. A failure is reported
 * and the guest goes on (Ctrl-A s) or the run ends as it would have. */
static void write_snapshot(struct vm *vm)
{
	char why[320];
	const char *path = vm_snapshot_path(vm);
	bool tty = isatty(STDERR_FILENO);
	int64_t t0 = vm_host_now_ns();
	/* The other vCPUs stand still (or have ended) while it is taken. */
	pthread_mutex_lock(&vm->lock);
	vm_stop_others(&vm->cpus[0]);
	pthread_mutex_unlock(&vm->lock);
	int r = snapshot_save(vm, path, why, sizeof(why));
	pthread_mutex_lock(&vm->lock);
	vm_start_others(&vm->cpus[0]);
	pthread_mutex_unlock(&vm->lock);
	if (r < 0)
		fprintf(stderr, "x86v: %s%s", why, tty ? "\r\n" : "\n");
	else
		fprintf(stderr, "x86v: snapshot written to %s in %.1f ms%s", path,
			(double)(vm_host_now_ns() - t0) / 1e6, tty ? "\r\n" : "\n");
}

char *vm_cpu_dump(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	struct x86_cpu_state s;
	char *text = NULL;
	size_t len = 0;
	int r = vm->eng_ops->get_state(c->vcpu, &s);
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	if (vm->ncpus > 1)
		fprintf(f, "vCPU %u:\n", c->index);
	if (r < 0)
		fprintf(f, "(registers unavailable: %s)\n", strerror(-r));
	else {
		x86_state_dump(&s, f);
		vm_debug_dump_extra(vm, c, &s, f);
	}
	fclose(f);
	return text;
}

/* Ctrl-A r: the registers, now, on the console's stderr (raw tty: \n needs \r). */
static void print_state(struct vm_cpu *c)
{
	char *text = vm_cpu_dump(c);
	if (!text)
		return;
	bool tty = isatty(STDERR_FILENO);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "%s%s", line, tty ? "\r\n" : "\n");
	free(text);
}

/* The register dump of an abnormal end, printed by vm_destroy; the first vCPU to end so wins. */
static void capture_state(struct vm_cpu *c)
{
	char *text = vm_cpu_dump(c);
	struct vm *vm = c->vm;
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_dump || (vm->exit_requested && vm->dump_on_exit && is_bsp(c))) {
		free(vm->exit_dump);
		vm->exit_dump = text;
		text = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	free(text);
}

/* --- the vCPU's own state --- */

/*
 * Loads s into the vCPU with its time-stamp counter left running: the vCPUs'
 * TSCs start together with their vCPUs and stay in step through INIT, SIPI
 * and resets, as Linux's TSC synchronisation check wants (a TSC set on one
 * CPU a moment after another would be "unstable"). INIT and SIPI also leave
 * IA32_APIC_BASE as it is (SDM Vol. 3A §11.4.7.3).
 */
static int set_state_keep_tsc(struct vm_cpu *c, struct x86_cpu_state *s, bool keep_apic_base)
{
	struct x86_cpu_state now;
	int r = c->vm->eng_ops->get_state(c->vcpu, &now);
	if (r < 0)
		return r;
	s->msr.tsc = now.msr.tsc;
	if (keep_apic_base)
		s->apic_base = now.apic_base;
	return c->vm->eng_ops->set_state(c->vcpu, s);
}

/* The power-on state; only the BSP has IA32_APIC_BASE.BSP set (SDM §11.4.4). */
static void reset_state(const struct vm_cpu *c, struct x86_cpu_state *s)
{
	x86_state_reset(s);
	if (!is_bsp(c))
		s->apic_base &= ~APIC_BASE_BSP;
}

/* After a machine reset: the BSP at the boot state, an AP waiting for a SIPI. */
static int cpu_reset(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	int r;
	/* The controllers the engine emulates (--irqchip kernel) reset with the board. */
	if (vm->eng_ops->platform_reset && (r = vm->eng_ops->platform_reset(c->vcpu)) < 0)
		return r;
	struct x86_cpu_state s = vm->boot_state;
	if (!is_bsp(c))
		reset_state(c, &s);
	c->wait_sipi = !is_bsp(c) && !vm->cfg.irqchip_kernel;
	return set_state_keep_tsc(c, &s, false);
}

/* INIT and start-up IPIs its local APIC latched (lock not held). */
static int take_init_sipi(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	for (;;) {
		uint8_t vector = 0;
		pthread_mutex_lock(&vm->lock);
		c->init_sipi = false;
		int event = board_take_init_sipi(vm->board, c->index, &vector);
		pthread_mutex_unlock(&vm->lock);
		if (!event)
			return 0;
		if (event == BOARD_CPU_SIPI && !c->wait_sipi)
			continue; /* only a CPU waiting for one takes a start-up IPI */
		/* INIT's state (SDM Vol. 3A Table 9-1): the power-on values. */
		struct x86_cpu_state s;
		reset_state(c, &s);
		if (event == BOARD_CPU_INIT) {
			c->wait_sipi = !is_bsp(c); /* the BSP goes to the reset vector */
		} else {
			/* Real mode at vector:0000 (SDM Vol. 3A §9.4.4.1). */
			s.seg[X86_CS].selector = (uint16_t)(vector << 8);
			s.seg[X86_CS].base = (uint64_t)vector << 12;
			s.rip = 0;
			c->wait_sipi = false;
		}
		int r = set_state_keep_tsc(c, &s, true);
		if (r < 0)
			return r;
	}
}

/* --- ending a run from the vCPU thread --- */

static void vcpu_fail(struct vm *vm, int status, const char *fmt, const char *detail)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_requested) {
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, detail);
		vm_request_exit(vm, status);
	}
	pthread_mutex_unlock(&vm->lock);
}

/* An exit that ends the run: reason line, register dump, status. */
static void vcpu_abnormal(struct vm_cpu *c, int status, const char *detail)
{
	capture_state(c);
	vcpu_fail(c->vm, status, "%s", detail);
}

/* A machine reset, done by whichever vCPU met it: the others stop, the board
 * and the images go back to their power-on state, every vCPU resets its own
 * state (the parked ones at their pause points), then all go on. */
static int machine_reset(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	char why[256] = "";
	pthread_mutex_lock(&vm->lock);
	vm_stop_others(c);
	int r = 0;
	if (!vm->exit_requested) {
		board_reset(vm->board);
		r = vm_load_images(vm, why, sizeof(why));
		vm->reset_gen++;
	}
	c->reset_gen = vm->reset_gen;
	pthread_mutex_unlock(&vm->lock);
	if (r == 0 && !vm->exit_requested && (r = cpu_reset(c)) < 0)
		snprintf(why, sizeof(why), "%s", strerror(-r));
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; r == 0 && i < vm->ncpus && !vm->exit_requested; i++) {
		struct vm_cpu *o = &vm->cpus[i];
		while (o->running && o->reset_gen != vm->reset_gen && !vm->exit_requested)
			pthread_cond_wait(&vm->stop_cond, &vm->lock);
	}
	if (r < 0 && !vm->exit_requested) {
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), "reset: %s", why);
		vm_request_exit(vm, X86V_EXIT_HOST_ERROR);
	}
	vm_start_others(c);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/* --- waiting --- */

enum wait_kind {
	WAIT_HALT, /* HLT with interrupts enabled: INTR, NMI, INIT or SIPI wake it */
	WAIT_HALT_NO_IF, /* HLT with interrupts disabled: only NMI, INIT or SIPI */
	WAIT_SIPI, /* an AP after INIT: only INIT or SIPI */
};

/* Whether the waiting vCPU must go back to its loop (lock held). */
static bool wake_up(const struct vm_cpu *c, enum wait_kind kind)
{
	const struct vm *vm = c->vm;
	if (vm->exit_requested || c->init_sipi || c->dump_requested || must_park(c) ||
	    c->reset_gen != vm->reset_gen || vm->reset_requested)
		return true;
	if ((is_bsp(c) && vm->snapshot_requested) || vm_debug_stop_pending(c) || c->capture_gen != vm->capture_gen)
		return true;
	if (kind == WAIT_SIPI)
		return false;
	return c->nmi_wake || (kind == WAIT_HALT && c->intr_level);
}

/*
 * Waits until something wakes the vCPU. A vCPU that only an NMI, INIT or
 * SIPI can wake is stuck; when every vCPU is, the guest has stopped for good
 * and the run ends (status 16) rather than hang.
 */
static void wait_for(struct vm_cpu *c, enum wait_kind kind)
{
	struct vm *vm = c->vm;
	pthread_mutex_lock(&vm->lock);
	bool stuck = kind != WAIT_HALT;
	/* Counted once every thread has started: APs wait for a SIPI before the BSP runs. */
	if (stuck && ++vm->nstuck == vm->nrunning && vm->nrunning == vm->ncpus && !wake_up(c, kind)) {
		pthread_mutex_unlock(&vm->lock);
		vcpu_abnormal(c, X86V_EXIT_HALTED,
			      vm->ncpus > 1 ? "every vCPU halted with interrupts disabled or waits for a start-up IPI"
					    : "the guest halted with interrupts disabled");
		pthread_mutex_lock(&vm->lock);
	}
	while (!wake_up(c, kind))
		pthread_cond_wait(&c->wake, &vm->lock);
	if (stuck)
		vm->nstuck--;
	c->nmi_wake = false;
	pthread_mutex_unlock(&vm->lock);
}

static void halt(struct vm_cpu *c)
{
	struct x86_cpu_state s;
	bool if_set = c->vm->eng_ops->get_state(c->vcpu, &s) < 0 || (s.rflags & RFLAGS_IF);
	wait_for(c, if_set ? WAIT_HALT : WAIT_HALT_NO_IF);
	vm_debug_vcpu_poll(c); /* the debugger stopped the halted vCPU */
}

/* --- the thread --- */

/* Waits until no restoring AP or BSP is left (lock not held): the BSP's
 * record sets the VM-wide chips before an AP's local APIC goes in, and an AP's
 * local APIC is in place before the BSP runs and can send it an IPI. */
static void wait_restored(struct vm *vm, bool for_aps)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->exit_requested && (for_aps ? vm->nrestoring != 0 : !vm->bsp_restored))
		pthread_cond_wait(&vm->stop_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

/* --restore: an application processor from its part of the snapshot. false: the run ends. */
static bool restore_ap(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	char why[256], what[200] = "";
	int r = vm->eng_ops->set_state(c->vcpu, &c->snap.state);
	if (r < 0)
		snprintf(what, sizeof(what), "the %s engine cannot take its CPU state (%s)", vm->eng_ops->name,
			 strerror(-r));
	wait_restored(vm, false);
	if (r == 0 && c->snap.platform.len) {
		struct state_reader sr;
		sr_init(&sr, c->snap.platform.data, c->snap.platform.len);
		r = vm->eng_ops->load_platform(c->vcpu, &sr, what, sizeof(what));
	}
	c->wait_sipi = c->snap.wait_sipi && !vm->cfg.irqchip_kernel;
	pthread_mutex_lock(&vm->lock);
	vm->nrestoring--;
	parked_changed(vm);
	pthread_mutex_unlock(&vm->lock);
	if (r < 0) {
		snprintf(why, sizeof(why), "--restore %s: vCPU %u: %s", vm->cfg.restore, c->index, what);
		vcpu_fail(vm, X86V_EXIT_USAGE, "%s", why);
		return false;
	}
	return true;
}

/* Makes the engine's vCPU and gives it its first state. false: the run ends (reason set). */
static bool cpu_start(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	char why[256];
	struct vcpu *vcpu;
	int r = vm->eng_ops->vcpu_create(vm->engine, c->index, &vcpu, why, sizeof(why));
	if (r < 0) {
		vcpu_fail(vm, X86V_EXIT_USAGE, "%s", why);
		return false;
	}
	pthread_mutex_lock(&vm->lock);
	c->vcpu = vcpu;
	c->reset_gen = vm->reset_gen;
	if (vm->eng_ops->set_intr)
		vm->eng_ops->set_intr(vcpu, c->intr_level);
	pthread_mutex_unlock(&vm->lock);
	if (!is_bsp(c)) {
		bool ok = true;
		if (c->restoring)
			ok = restore_ap(c);
		else /* x86v's local APICs: the thread holds it until a SIPI; KVM's hold it in the kernel. */
			c->wait_sipi = !vm->cfg.irqchip_kernel;
		if (ok)
			vm_debug_vcpu_start(c);
		return ok;
	}
	struct x86_cpu_state boot = vm->boot_state;
	/* A restored TSC goes on from the snapshot's value; a booted one from the vCPU's start. */
	r = vm->cfg.restore ? vm->eng_ops->set_state(vcpu, &boot) : set_state_keep_tsc(c, &boot, false);
	if (r < 0 && vm->cfg.restore) {
		/* The engine refuses a state it cannot run: XSAVE components (AVX)
		 * a kvm guest enabled that the soft CPU lacks, say. */
		snprintf(why, sizeof(why), "--restore %s: the %s engine cannot take the snapshot's CPU state (%s)",
			 vm->cfg.restore, vm->eng_ops->name, strerror(-r));
		vcpu_fail(vm, X86V_EXIT_USAGE, "%s", why);
		return false;
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot load the boot CPU state: %s", strerror(-r));
		vcpu_fail(vm, X86V_EXIT_HOST_ERROR, "%s", why);
		return false;
	}
	r = snapshot_restore_platform(vm, why, sizeof(why)); /* --restore: the engine's own part */
	pthread_mutex_lock(&vm->lock);
	vm->bsp_restored = true;
	parked_changed(vm);
	pthread_mutex_unlock(&vm->lock);
	if (r < 0) {
		vcpu_fail(vm, X86V_EXIT_USAGE, "%s", why);
		return false;
	}
	if (vm->cfg.restore)
		wait_restored(vm, true);
	vm_debug_vcpu_start(c);
	return true;
}

/* Handles one exit of run(). false: the run ends. */
static bool handle_exit(struct vm_cpu *c, const struct vcpu_exit *ex)
{
	struct vm *vm = c->vm;
	switch (ex->reason) {
	case VCPU_EXIT_KICK:
		vm_debug_vcpu_poll(c);
		return true;
	case VCPU_EXIT_DEBUG:
		vm_debug_vcpu_exit(c, ex);
		return true;
	case VCPU_EXIT_HALT:
		halt(c);
		return true;
	case VCPU_EXIT_SHUTDOWN:
		if (vm->cfg.no_reboot) {
			vcpu_abnormal(c, X86V_EXIT_SHUTDOWN, "guest shutdown: triple fault (--no-reboot)");
			return false;
		}
		return machine_reset(c) == 0;
	case VCPU_EXIT_INTERNAL_ERROR:
		vcpu_abnormal(c, X86V_EXIT_INTERNAL_ERROR, ex->detail);
		return false;
	case VCPU_EXIT_FAIL_ENTRY:
		vcpu_abnormal(c, X86V_EXIT_FAIL_ENTRY, ex->detail);
		return false;
	case VCPU_EXIT_UNKNOWN:
		vcpu_abnormal(c, X86V_EXIT_UNKNOWN_EXIT, ex->detail);
		return false;
	}
	return true;
}

/* Between runs: what other threads asked for. false: the run ends. */
static bool handle_requests(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	pthread_mutex_lock(&vm->lock);
	bool reset = vm->reset_requested && !vm->exit_requested;
	vm->reset_requested = false;
	pthread_mutex_unlock(&vm->lock);
	if (reset && vm->cfg.no_reboot)
		vcpu_fail(vm, X86V_EXIT_RESET, "%s", "the guest reset the machine (--no-reboot)");
	else if (reset)
		machine_reset(c);

	pthread_mutex_lock(&vm->lock);
	bool dump = c->dump_requested;
	c->dump_requested = false;
	bool snapshot = is_bsp(c) && vm->snapshot_requested;
	if (snapshot)
		vm->snapshot_requested = false;
	bool stop = vm->exit_requested;
	pthread_mutex_unlock(&vm->lock);
	if (dump && !stop)
		print_state(c);
	if (snapshot && !stop)
		write_snapshot(vm);
	pthread_mutex_lock(&vm->lock);
	vm_pause_point(c);
	stop = vm->exit_requested;
	bool init_sipi = c->init_sipi;
	pthread_mutex_unlock(&vm->lock);
	if (!stop && init_sipi && take_init_sipi(c) < 0) {
		vcpu_abnormal(c, X86V_EXIT_HOST_ERROR, "cannot load the state of an INIT or start-up IPI");
		return false;
	}
	return !stop;
}

void *vm_cpu_thread(void *opaque)
{
	struct vm_cpu *c = opaque;
	struct vm *vm = c->vm;
	current_cpu_index = c->index;
	bool go = cpu_start(c);
	pthread_mutex_lock(&vm->lock);
	c->running = go;
	vm->nrunning += go;
	parked_changed(vm);
	pthread_mutex_unlock(&vm->lock);
	sandbox_enter(SANDBOX_VCPU);
	if (go && vm->cfg.restore && is_bsp(c))
		log_info("restored %s: the guest runs %.1f ms after x86v started", vm->cfg.restore,
			 (double)(vm_host_now_ns() - vm->started_ns) / 1e6);

	while (go && handle_requests(c)) {
		if (c->wait_sipi) {
			wait_for(c, WAIT_SIPI);
			continue;
		}
		struct vcpu_exit ex;
		int r = vm->eng_ops->run(c->vcpu, &ex);
		if (r < 0) {
			vcpu_abnormal(c, X86V_EXIT_HOST_ERROR, ex.detail[0] ? ex.detail : strerror(-r));
			break;
		}
		if (!handle_exit(c, &ex))
			break;
	}

	pthread_mutex_lock(&vm->lock);
	if (vm->exit_requested && vm->dump_on_exit && is_bsp(c) && c->vcpu) {
		pthread_mutex_unlock(&vm->lock);
		capture_state(c);
		pthread_mutex_lock(&vm->lock);
	}
	if (!is_bsp(c) && c->vcpu && vm->cfg.snapshot_on_exit) {
		/* The BSP's thread writes the snapshot: this vCPU's part, taken now. */
		capture_locked(c);
		c->exit_captured = true;
	}
	if (c->running) {
		c->running = false;
		vm->nrunning--;
		parked_changed(vm);
	}
	/* --snapshot-on-exit: the user ended a guest that was still running
	 * (Ctrl-A x, --timeout, a signal); not one that powered off or failed. */
	bool save = go && is_bsp(c) && vm->cfg.snapshot_on_exit && !vm->guest_ended &&
		    (vm->exit_status == X86V_EXIT_OK || vm->exit_status == X86V_EXIT_TIMEOUT);
	pthread_mutex_unlock(&vm->lock);
	if (save)
		write_snapshot(vm);
	return NULL;
}
