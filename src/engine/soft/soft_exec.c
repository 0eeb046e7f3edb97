/* SPDX-License-Identifier: MIT */
/*
 * The software engine behind engine.h: creation, state load/save, and the
 * execution loop (fetch a decoded block, run its handlers, deliver
 * exceptions, return to the machine on HLT, shutdown or a kick).
 *
 * Several vCPUs, each run by its own thread: a vCPU's state, TLB, blocks
 * and translations are its own; what they share (guest RAM, code-page
 * tracking) is safe for all of them at once (soft_decode.c, soft_mem.c,
 * soft_atomic.c, soft_exclusive.c).
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>

#include "engine/soft/jit/jit.h"
#include "engine/soft/soft_engine.h"

struct vcpu {
	struct soft_cpu cpu;
};

/* The vCPU this thread is running (in run()), if any. */
static __thread struct soft_cpu *running_cpu;

void soft_register_handlers(struct engine *eng)
{
	static soft_register_fn *const families[] = {
		soft_register_alu,   soft_register_shift, soft_register_bits,
		soft_register_move,  soft_register_bcd,	  soft_register_string,
		soft_register_stack, soft_register_control, soft_register_far,
		soft_register_far_pointer, soft_register_system, soft_register_x87,
	};
	for (size_t i = 0; i < ARRAY_SIZE(families); i++)
		families[i](eng->handlers);
	soft_register_sse(eng->simd_handlers);
	soft_register_sse_misc(eng->handlers);
}

/* The VMM or a device wrote guest RAM (after the bytes are there): decoded
 * code from those pages is stale. */
static void soft_ram_written(void *opaque, gpa_t gpa, uint64_t len)
{
	soft_code_written(opaque, NULL, gpa, len);
}

static bool host_has_cx16(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
}

static int soft_create(const struct engine_host *host, struct engine **out, char *why, size_t why_len)
{
	struct engine *eng = calloc(1, sizeof(*eng));
	if (!eng) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	eng->host = *host;
	eng->code_pages_len = host->ram->size >> 12;
	eng->code_pages = calloc(eng->code_pages_len ? eng->code_pages_len : 1, 1);
	eng->page_gen = calloc(eng->code_pages_len ? eng->code_pages_len : 1, sizeof(uint32_t));
	if (!eng->code_pages || !eng->page_gen) {
		free(eng->code_pages);
		free(eng->page_gen);
		free(eng);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	pthread_rwlock_init(&eng->cpus_lock, NULL);
	pthread_mutex_init(&eng->excl_lock, NULL);
	pthread_cond_init(&eng->excl_done, NULL);
	pthread_cond_init(&eng->excl_resume, NULL);
	eng->host_cx16 = host_has_cx16();
	soft_register_handlers(eng);
	host->ram->written = soft_ram_written;
	host->ram->written_opaque = eng;
	*out = eng;
	return 0;
}

static void soft_destroy(struct engine *eng)
{
	if (!eng)
		return;
	if (eng->host.ram->written_opaque == eng)
		eng->host.ram->written = NULL;
	pthread_cond_destroy(&eng->excl_resume);
	pthread_cond_destroy(&eng->excl_done);
	pthread_mutex_destroy(&eng->excl_lock);
	pthread_rwlock_destroy(&eng->cpus_lock);
	free(eng->page_gen);
	free(eng->code_pages);
	free(eng);
}

/* Puts cpu in eng's list at its index (cpu NULL: takes it out). A second
 * vCPU makes the engine multi: the first one may be inside an instruction
 * that assumed it was alone, so the new one waits for it to finish. */
static int list_vcpu(struct engine *eng, unsigned index, struct soft_cpu *cpu)
{
	bool first_other = false;
	pthread_rwlock_wrlock(&eng->cpus_lock);
	if (cpu && eng->cpus[index]) {
		pthread_rwlock_unlock(&eng->cpus_lock);
		return -EEXIST;
	}
	if (cpu)
		soft_tsc_start(cpu);
	if (cpu && !eng->multi) {
		for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++)
			first_other |= eng->cpus[i] != NULL;
		if (first_other)
			__atomic_store_n(&eng->multi, true, __ATOMIC_SEQ_CST);
	}
	eng->cpus[index] = cpu;
	pthread_rwlock_unlock(&eng->cpus_lock);
	if (first_other)
		soft_exclusive_barrier(eng, NULL);
	return 0;
}

static int soft_vcpu_create(struct engine *eng, unsigned index, struct vcpu **out, char *why, size_t why_len)
{
	if (index >= ENGINE_MAX_VCPUS) {
		snprintf(why, why_len, "vCPU index %u: the soft engine runs at most %d vCPUs", index, ENGINE_MAX_VCPUS);
		return -EINVAL;
	}
	struct vcpu *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	struct soft_cpu *cpu = &v->cpu;
	cpu->eng = eng;
	cpu->host = &eng->host;
	cpu->index = index;
	cpu->delivering_vector = -1;
	cpu->insn_limit = UINT64_MAX;
	if (soft_blocks_init(cpu) < 0) {
		free(v);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	if (!eng->host.soft.interp_only) {
		int err = soft_jit_init(cpu, eng->host.soft.jit_threshold, eng->host.soft.jit_cache_size,
					eng->host.soft.jit_perf_map, why, why_len);
		if (err == 0 && soft_jit_check_init(cpu, eng->host.soft.jit_check) < 0) {
			soft_jit_destroy(cpu);
			snprintf(why, why_len, "out of memory");
			err = -ENOMEM;
		}
		if (err < 0) {
			soft_blocks_destroy(cpu);
			free(v);
			return err;
		}
	}
	soft_tlb_flush_all(cpu, true);
	x86_state_reset(&cpu->s);
	soft_cpu_mode_changed(cpu);
	if (list_vcpu(eng, index, cpu) < 0) {
		soft_jit_check_destroy(cpu);
		soft_jit_destroy(cpu);
		soft_blocks_destroy(cpu);
		free(v);
		snprintf(why, why_len, "vCPU %u exists already", index);
		return -EEXIST;
	}
	*out = v;
	return 0;
}

/* Outside run() (on its own thread), so no other vCPU waits for it; once
 * out of the list, no other thread looks at it. */
static void soft_vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	(void)list_vcpu(v->cpu.eng, v->cpu.index, NULL);
	soft_debug_destroy(&v->cpu);
	soft_blocks_destroy(&v->cpu);
	soft_jit_check_destroy(&v->cpu);
	soft_jit_destroy(&v->cpu);
	free(v);
}

static int soft_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	if (__atomic_fetch_and(&v->cpu.work, (uint8_t)~SOFT_WORK_NMI, __ATOMIC_SEQ_CST) & SOFT_WORK_NMI)
		v->cpu.s.events.nmi_pending = true;
	*s = v->cpu.s;
	s->events.halted = v->cpu.halted;
	s->events.interrupt_shadow = v->cpu.interrupt_shadow;
	s->msr.tsc = v->cpu.tsc_reported = soft_tsc_read(&v->cpu);
	v->cpu.tsc_reported_valid = true;
	return 0;
}

static int soft_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	struct soft_cpu *cpu = &v->cpu;
	/* A state from another engine (a snapshot) may use XSAVE components this
	 * CPU lacks (AVX under KVM): refuse it rather than lose their contents. */
	if ((s->fpu.xcr0 & ~XCR0_SUPPORTED) || s->events.injected > X86_EVENT_EXCEPTION)
		return -ENOTSUP;
	cpu->s = *s;
	cpu->s.rflags |= RFLAGS_FIXED;
	cpu->halted = s->events.halted;
	cpu->interrupt_shadow = s->events.interrupt_shadow;
	/* The TSC get_state gave: the caller left it alone (soft_tsc.c). */
	if (!cpu->tsc_reported_valid || s->msr.tsc != cpu->tsc_reported)
		soft_tsc_write(cpu, s->msr.tsc);
	cpu->shutdown = false;
	cpu->delivering_vector = -1;
	cpu->db_pending = 0;
	soft_dr_changed(cpu);
	soft_cpu_mode_changed(cpu);
	soft_tlb_flush_all(cpu, true);
	return 0;
}

static void soft_kick(struct vcpu *v)
{
	__atomic_store_n(&v->cpu.kicked, 1, __ATOMIC_SEQ_CST);
}

static void soft_set_intr(struct vcpu *v, bool level)
{
	__atomic_store_n(&v->cpu.intr_line, level, __ATOMIC_SEQ_CST);
	/* Raised by the instruction being executed (a self-IPI, an EOI that
	 * uncovers the next vector): take it before the rest of the block.
	 * Other threads' changes are seen between blocks. */
	if (level && running_cpu == &v->cpu)
		v->cpu.end_block = true;
}

/* An external interrupt is taken between instructions when INTR is up, IF is
 * set and no STI / MOV SS shadow covers this instruction boundary. */
static bool take_interrupt(struct soft_cpu *cpu)
{
	if (!__atomic_load_n(&cpu->intr_line, __ATOMIC_ACQUIRE) || !(cpu->s.rflags & RFLAGS_IF) ||
	    cpu->interrupt_shadow)
		return false;
	soft_exec_end(cpu); /* a host callback: see soft_host_pio */
	int vector = cpu->host->intr_ack(cpu->host->opaque, cpu->index);
	soft_exec_start(cpu);
	if (vector < 0)
		return false;
	cpu->insn_rip = cpu->s.rip;
	soft_deliver(cpu, vector, 0, false, false);
	return true;
}

/* An event another engine had accepted but not delivered (set_state). */
static void take_injected(struct soft_cpu *cpu)
{
	struct x86_events *ev = &cpu->s.events;
	unsigned kind = ev->injected;
	ev->injected = X86_EVENT_NONE;
	cpu->insn_rip = cpu->s.rip;
	if (kind == X86_EVENT_EXCEPTION) {
		cpu->raised_vector = ev->injected_vector;
		cpu->raised_error = ev->injected_error;
		cpu->raised_has_error = ev->injected_has_error;
		soft_deliver_exception(cpu);
	} else {
		soft_deliver(cpu, ev->injected_vector, 0, false, false);
	}
}

/* A pending NMI is taken between instructions unless an earlier one's
 * handler has not yet run IRET or an STI / MOV SS shadow covers the boundary. */
static void take_nmi(struct soft_cpu *cpu)
{
	struct x86_events *ev = &cpu->s.events;
	if (ev->nmi_masked || cpu->interrupt_shadow)
		return;
	ev->nmi_pending = false;
	ev->nmi_masked = true;
	cpu->insn_rip = cpu->s.rip;
	soft_deliver(cpu, X86_EXC_NMI, 0, false, false);
}

/* From any thread (another vCPU's IPI): the vCPU makes it pending itself,
 * at its next block boundary or in get_state. */
static int soft_inject_nmi(struct vcpu *v)
{
	soft_cpu_post_work(&v->cpu, SOFT_WORK_NMI);
	if (running_cpu == &v->cpu)
		v->cpu.end_block = true; /* raised by the instruction running now (a self-NMI) */
	soft_kick(v);
	return 0;
}

/* Runs the block in at rip with the per-instruction debug hooks (host
 * debugger, tracing, guest TF/RF/DR7). Returns true when run() must return
 * (exit filled). */
static bool run_block_hooks(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, bool guest_db,
			    struct vcpu_exit *exit)
{
	for (unsigned i = 0; i < n; i++, in++) {
		uint64_t rip = cpu->s.rip;
		uint64_t next = rip + in->len;
		if (cpu->debug_hooks && soft_debug_before(cpu, exit))
			return true;
		if (guest_db && soft_dr_before(cpu))
			break; /* an instruction breakpoint's #DB was delivered */
		cpu->insn_rip = rip;
		if (cpu->code_size != 8) {
			if (next - 1 > cpu->s.seg[X86_CS].limit)
				soft_raise_gp(cpu, 0);
			next &= cpu->code_size == 2 ? 0xffff : 0xffffffff;
		}
		cpu->s.rip = next;
		cpu->interrupt_shadow = false;
		cpu->insn_count++;
		cpu->interp_insns++;
		in->fn(cpu, in);
		/* The guest's trap first: a host single-step then stops at its
		 * handler, as after any other event delivery. */
		bool trapped = guest_db && soft_dr_after(cpu);
		if (cpu->debug_hooks && soft_debug_after(cpu, exit))
			return true;
		if (trapped)
			break;
		if (cpu->s.rip != next) {
			struct engine_branch *b = &cpu->branch_ring[cpu->branch_pos++ % ENGINE_BRANCH_HISTORY];
			b->from = rip;
			b->to = cpu->s.rip;
			break;
		}
		if (cpu->end_block)
			break;
	}
	return false;
}

/* Runs the block in (n instructions) at rip with no hooks: the hot path. */
void soft_run_block(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	const struct soft_insn *end = in + n;
	uint64_t rip = cpu->s.rip;
	/* Every instruction that sets an interrupt shadow ends its block, so the
	 * shadow covers at most the first instruction of a block. */
	cpu->interrupt_shadow = false;
	if (cpu->code_size == 8) {
		for (;;) {
			uint64_t next = rip + in->len;
			cpu->insn_rip = rip;
			cpu->s.rip = next;
			cpu->insn_count++;
			cpu->interp_insns++;
			in->fn(cpu, in);
			if (__builtin_expect(cpu->s.rip != next, 0))
				break;
			if (cpu->end_block || ++in == end)
				return;
			rip = next;
		}
	} else {
		uint64_t limit = cpu->s.seg[X86_CS].limit;
		uint64_t wrap = cpu->code_size == 2 ? 0xffff : 0xffffffff;
		for (;;) {
			uint64_t next = rip + in->len;
			cpu->insn_rip = rip;
			if (next - 1 > limit)
				soft_raise_gp(cpu, 0);
			next &= wrap;
			cpu->s.rip = next;
			cpu->insn_count++;
			cpu->interp_insns++;
			in->fn(cpu, in);
			if (__builtin_expect(cpu->s.rip != next, 0))
				break;
			if (cpu->end_block || ++in == end)
				return;
			rip = next;
		}
	}
	struct engine_branch *b = &cpu->branch_ring[cpu->branch_pos++ % ENGINE_BRANCH_HISTORY];
	b->from = rip;
	b->to = cpu->s.rip;
}

/* The execution loop proper, outside soft_run's frame so that its locals
 * live in registers (a function that calls __builtin_setjmp keeps them in
 * memory). Exceptions unwind to soft_run, which delivers them and calls this
 * again; all loop state lives in *cpu. */
static __attribute__((noinline)) int run_loop(struct soft_cpu *cpu, struct vcpu_exit *exit)
{
	for (;;) {
		if (cpu->jit_check_failed[0]) {
			exit->reason = VCPU_EXIT_INTERNAL_ERROR;
			snprintf(exit->detail, sizeof(exit->detail), "%s", cpu->jit_check_failed);
			cpu->jit_check_failed[0] = 0;
			return 0;
		}
		if (cpu->shutdown) {
			cpu->shutdown = false;
			exit->reason = VCPU_EXIT_SHUTDOWN;
			snprintf(exit->detail, sizeof(exit->detail), "triple fault (shutdown)");
			return 0;
		}
		/* Work other vCPUs asked for: a stop for an exclusive section, or
		 * code they wrote. */
		if (__builtin_expect(__atomic_load_n(&cpu->work, __ATOMIC_RELAXED) != 0, 0))
			soft_cpu_do_work(cpu);
		/* A plain load first: the locked exchange only when a kick is there. */
		if ((__atomic_load_n(&cpu->kicked, __ATOMIC_RELAXED) &&
		     __atomic_exchange_n(&cpu->kicked, 0, __ATOMIC_SEQ_CST)) ||
		    cpu->insn_count >= cpu->insn_limit) {
			exit->reason = VCPU_EXIT_KICK;
			return 0;
		}
		if (cpu->debug_hooks && soft_debug_pending(cpu, exit))
			return 0;
		/* Single-stepping holds interrupts off, as QEMU's gdbstub does by
		 * default: a step must not land in an interrupt handler. */
		if (cpu->s.events.injected)
			take_injected(cpu);
		if (!cpu->debug_step && cpu->s.events.nmi_pending)
			take_nmi(cpu);
		if (!cpu->debug_step && __atomic_load_n(&cpu->intr_line, __ATOMIC_RELAXED))
			take_interrupt(cpu);
		if (cpu->halted) {
			exit->reason = VCPU_EXIT_HALT;
			snprintf(exit->detail, sizeof(exit->detail), "the vCPU executed HLT");
			return 0;
		}
		unsigned n;
		struct soft_block *b;
		const struct jit_link *link = cpu->jit_link;
		cpu->jit_link = NULL; /* only the very next block may be linked to */
		cpu->insn_rip = cpu->s.rip; /* a fetch fault reports this address */
		const struct soft_insn *in = soft_fetch(cpu, &n, &b);
		cpu->end_block = false;
		/* Interrupts are checked between blocks: an instruction in an STI or
		 * MOV SS shadow runs alone when one is waiting, so it is taken right
		 * after that instruction, as on hardware. */
		if (cpu->interrupt_shadow && __atomic_load_n(&cpu->intr_line, __ATOMIC_ACQUIRE)) {
			n = 1;
			b = NULL;
		}
		/* One test per block covers the host debugger, tracing and the
		 * guest's TF/RF/DR7, which can only change at a block end. */
		bool guest_db = soft_dr_armed(cpu);
		if (__builtin_expect(cpu->debug_hooks || guest_db, 0)) {
			if (run_block_hooks(cpu, in, n, guest_db, exit))
				return 0;
		} else if (!b || !cpu->jit || cpu->watch_active || !soft_jit_run(cpu, b, link)) {
			soft_run_block(cpu, in, n);
		}
	}
}

/* Runs instructions until something needs the machine. Exceptions unwind to
 * the __builtin_setjmp here. */
static int soft_run(struct vcpu *v, struct vcpu_exit *exit)
{
	struct soft_cpu *cpu = &v->cpu;
	memset(exit, 0, sizeof(*exit));
	running_cpu = cpu;
	soft_exec_start(cpu);

	if (__builtin_setjmp(cpu->unwind)) {
		/* A fault in an instruction or in the delivery of another exception.
		 * A faulting instruction has no debug traps, nor do held-back ones
		 * survive it. */
		soft_atomic_abort(cpu);
		soft_jit_fault_fixup(cpu);
		if (cpu->debug_hooks)
			soft_debug_fault(cpu);
		cpu->db_pending = 0;
		/* A fault retires nothing, so code that faults over and over (its
		 * handler is the faulting instruction) would never reach an
		 * instruction limit: each fault uses up one instruction of it. */
		if (cpu->insn_limit != UINT64_MAX && cpu->insn_limit > cpu->insn_count)
			cpu->insn_limit--;
		soft_deliver_exception(cpu);
	}
	int r = run_loop(cpu, exit);
	soft_exec_end(cpu);
	running_cpu = NULL;
	return r;
}

void soft_vcpu_set_insn_limit(struct vcpu *v, uint64_t n)
{
	v->cpu.insn_limit = v->cpu.insn_count + n;
}

void soft_vcpu_set_string_batch(struct vcpu *v, unsigned n)
{
	v->cpu.string_batch = n;
}

uint64_t soft_vcpu_insn_count(const struct vcpu *v)
{
	return v->cpu.insn_count;
}

static uint64_t soft_insn_count_op(struct vcpu *v)
{
	return v->cpu.insn_count;
}

static void soft_stats(struct vcpu *v, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%llu writes to code pages; ",
			 (unsigned long long)__atomic_load_n(&v->cpu.eng->code_writes, __ATOMIC_RELAXED));
	if (n > 0 && (size_t)n < len)
		soft_jit_stats(&v->cpu, buf + n, len - (size_t)n);
}

static int soft_set_debug(struct vcpu *v, const struct engine_debug *dbg)
{
	return soft_debug_configure(&v->cpu, dbg);
}

static int soft_set_trace(struct vcpu *v, const struct engine_trace *trace)
{
	return soft_debug_set_trace(&v->cpu, trace);
}

static unsigned soft_branch_history(struct vcpu *v, struct engine_branch *out)
{
	return soft_debug_branches(&v->cpu, out);
}

const struct engine_ops soft_engine_ops = {
	.name = "soft",
	.create = soft_create,
	.destroy = soft_destroy,
	.vcpu_create = soft_vcpu_create,
	.vcpu_destroy = soft_vcpu_destroy,
	.run = soft_run,
	.kick = soft_kick,
	.get_state = soft_get_state,
	.set_state = soft_set_state,
	.set_intr = soft_set_intr,
	.intr_polled = true,
	.inject_nmi = soft_inject_nmi,
	.set_debug = soft_set_debug,
	.set_trace = soft_set_trace,
	.branch_history = soft_branch_history,
	.insn_count = soft_insn_count_op,
	.stats = soft_stats,
};
