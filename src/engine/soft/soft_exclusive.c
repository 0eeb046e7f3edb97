/* SPDX-License-Identifier: MIT */
/*
 * vCPUs side by side: the work one thread asks of a vCPU at its next block
 * boundary, and exclusive sections, in which one vCPU touches guest memory
 * while every other vCPU of the engine is stopped at a block boundary (a
 * split-lock access, or waiting out a store through a write tag just taken
 * away). QEMU's start_exclusive / cpu_exec_start (cpus-common.c), with
 * attention work bits in place of kicks: a vCPU asked to stop parks inside
 * run() and goes on when the section ends, never leaving run() for it.
 *
 * A vCPU counts as running while it is in run() and may touch guest memory:
 * not while parked, nor inside a host callback, which may block on the
 * machine lock (a vCPU waiting in one must not hold up an exclusive
 * section). When the callback returns, the vCPU waits for a section in
 * progress to end before it goes on. Whoever holds a section never waits
 * for anything else meanwhile: its accesses are to RAM only.
 */
#include "engine/soft/soft_engine.h"

void soft_cpu_post_work(struct soft_cpu *cpu, unsigned bits)
{
	__atomic_fetch_or(&cpu->work, (uint8_t)bits, __ATOMIC_SEQ_CST);
}

static bool pending(struct engine *eng)
{
	return __atomic_load_n(&eng->excl_pending, __ATOMIC_SEQ_CST) != 0;
}

void soft_exec_start(struct soft_cpu *cpu)
{
	if (cpu->excl_held)
		return;
	struct engine *eng = cpu->eng;
	/* Running first, then the look at pending (the exchange is a full
	 * barrier): a section set up meanwhile either sees us running and
	 * waits for us, or we see it and wait for its end. */
	(void)__atomic_exchange_n(&cpu->running, true, __ATOMIC_SEQ_CST);
	if (__builtin_expect(!pending(eng), 1))
		return;
	pthread_mutex_lock(&eng->excl_lock);
	if (!cpu->has_waiter) {
		/* Not counted: let the section run, and wait for its end. */
		__atomic_store_n(&cpu->running, false, __ATOMIC_SEQ_CST);
		while (eng->excl_pending)
			pthread_cond_wait(&eng->excl_resume, &eng->excl_lock);
		__atomic_store_n(&cpu->running, true, __ATOMIC_SEQ_CST);
	}
	/* Counted: the section waits until we stop at the next boundary
	 * (SOFT_WORK_EXCL is posted). */
	pthread_mutex_unlock(&eng->excl_lock);
}

void soft_exec_end(struct soft_cpu *cpu)
{
	if (cpu->excl_held)
		return;
	struct engine *eng = cpu->eng;
	(void)__atomic_exchange_n(&cpu->running, false, __ATOMIC_SEQ_CST);
	if (__builtin_expect(!pending(eng), 1))
		return;
	pthread_mutex_lock(&eng->excl_lock);
	if (cpu->has_waiter) {
		cpu->has_waiter = false;
		__atomic_store_n(&eng->excl_pending, eng->excl_pending - 1, __ATOMIC_SEQ_CST);
		if (eng->excl_pending == 1)
			pthread_cond_signal(&eng->excl_done);
	}
	pthread_mutex_unlock(&eng->excl_lock);
}

void soft_cpu_do_work(struct soft_cpu *cpu)
{
	unsigned bits;
	while ((bits = __atomic_exchange_n(&cpu->work, 0, __ATOMIC_SEQ_CST)) != 0) {
		if (bits & SOFT_WORK_CODE) {
			/* Another thread wrote code this vCPU may have decoded: the
			 * page generations it moved make every lookup miss, but links
			 * between blocks (and translated ones) skip lookups. */
			soft_chain_epoch_bump(cpu, true);
			cpu->check_unrepeatable = true;
		}
		if (bits & SOFT_WORK_NMI)
			cpu->s.events.nmi_pending = true;
		if (bits & SOFT_WORK_EXCL) {
			/* A block boundary: park while the section runs. */
			soft_exec_end(cpu);
			soft_exec_start(cpu);
		}
	}
}

/* Stops every other running vCPU; excl_lock held on return. */
static void start_exclusive(struct engine *eng, struct soft_cpu *self)
{
	pthread_mutex_lock(&eng->excl_lock);
	while (eng->excl_pending)
		pthread_cond_wait(&eng->excl_resume, &eng->excl_lock);
	/* pending before the look at running: see soft_exec_start. */
	__atomic_store_n(&eng->excl_pending, 1, __ATOMIC_SEQ_CST);
	soft_barrier();
	int waiting = 0;
	pthread_rwlock_rdlock(&eng->cpus_lock);
	for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++) {
		struct soft_cpu *c = eng->cpus[i];
		if (!c || c == self || !__atomic_load_n(&c->running, __ATOMIC_SEQ_CST))
			continue;
		c->has_waiter = true;
		waiting++;
		soft_cpu_post_work(c, SOFT_WORK_EXCL);
	}
	pthread_rwlock_unlock(&eng->cpus_lock);
	__atomic_store_n(&eng->excl_pending, waiting + 1, __ATOMIC_SEQ_CST);
	while (eng->excl_pending > 1)
		pthread_cond_wait(&eng->excl_done, &eng->excl_lock);
}

static void end_exclusive(struct engine *eng)
{
	__atomic_store_n(&eng->excl_pending, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&eng->excl_resume);
	pthread_mutex_unlock(&eng->excl_lock);
}

void soft_exclusive_begin(struct soft_cpu *self)
{
	/* Not running while we wait: a section another vCPU sets up at the
	 * same time need not wait for us (nor we for it, afterwards). */
	soft_exec_end(self);
	start_exclusive(self->eng, self);
	/* Released right away: excl_pending, left at 1, keeps every vCPU
	 * (and every other section) out until the end. */
	pthread_mutex_unlock(&self->eng->excl_lock);
	self->excl_held = true;
}

void soft_exclusive_end(struct soft_cpu *self)
{
	struct engine *eng = self->eng;
	self->excl_held = false;
	pthread_mutex_lock(&eng->excl_lock);
	end_exclusive(eng);
	soft_exec_start(self);
}

void soft_exclusive_barrier(struct engine *eng, struct soft_cpu *self)
{
	if (self && self->excl_held)
		return; /* in a section of its own: no other vCPU runs */
	if (self)
		soft_exec_end(self);
	start_exclusive(eng, self);
	end_exclusive(eng);
	if (self)
		soft_exec_start(self);
}

void soft_host_pio(struct soft_cpu *cpu, uint16_t port, void *data, unsigned size, bool is_write)
{
	soft_exec_end(cpu);
	cpu->host->pio(cpu->host->opaque, port, data, size, is_write);
	soft_exec_start(cpu);
}

void soft_host_mmio(struct soft_cpu *cpu, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	soft_exec_end(cpu);
	cpu->host->mmio(cpu->host->opaque, gpa, data, size, is_write);
	soft_exec_start(cpu);
}
