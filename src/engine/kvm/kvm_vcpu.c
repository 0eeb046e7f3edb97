/* SPDX-License-Identifier: MIT */
/*
 * KVM engine, per-vCPU part: creation, the KVM_RUN loop and kicks.
 *
 * Kicks follow api.rst's recipe for KVM_CAP_IMMEDIATE_EXIT: the kicker sets
 * a flag and signals the vCPU thread; the handler sets kvm_run->immediate_exit
 * so a KVM_RUN entered after the flag check returns -EINTR at once instead of
 * losing the kick.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "engine/kvm/kvm_internal.h"

#define KVMENG_KICK_SIGNAL SIGUSR1

static __thread struct kvm_run *current_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (current_run)
		current_run->immediate_exit = 1;
}

static void install_kick_handler_once(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(KVMENG_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must see EINTR */
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_kick_handler_once);
}

int kvmeng_vcpu_create(struct engine *eng, unsigned index, struct vcpu **out, char *why, size_t why_len)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	v->eng = eng;
	v->index = index;
	int r = kvmeng_ioctl(eng->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index);
	if (r < 0) {
		snprintf(why, why_len, "KVM_CREATE_VCPU: %s", strerror(-r));
		free(v);
		return r;
	}
	v->fd = r;
	v->run = mmap(NULL, (size_t)eng->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = -errno;
		snprintf(why, why_len, "mmap of the vCPU run area: %s", strerror(-r));
		close(v->fd);
		free(v);
		return r;
	}
	r = kvmeng_cpuid_apply(v);
	if (r < 0) {
		snprintf(why, why_len, "KVM_SET_CPUID2: %s", strerror(-r));
		kvmeng_vcpu_destroy(v);
		return r;
	}
	if (eng->irqchip_kernel && (r = kvmeng_irqchip_vcpu_init(v)) < 0) {
		snprintf(why, why_len, "KVM_GET_LAPIC: %s", strerror(-r));
		kvmeng_vcpu_destroy(v);
		return r;
	}
	install_kick_handler();
	*out = v;
	return 0;
}

void kvmeng_vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	if (v->dbg.enabled) {
		/* Puts the bytes under software breakpoints back. */
		struct engine_debug off = { .enabled = false };
		(void)kvmeng_set_debug(v, &off);
	}
	munmap(v->run, (size_t)v->eng->vcpu_mmap_size);
	close(v->fd);
	free(v->xsave);
	free(v);
}

void kvmeng_kick(struct vcpu *v)
{
	__atomic_store_n(&v->kicked, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->thread_known, __ATOMIC_ACQUIRE) && !pthread_equal(v->thread, pthread_self()))
		pthread_kill(v->thread, KVMENG_KICK_SIGNAL);
}

void kvmeng_set_intr(struct vcpu *v, bool level)
{
	__atomic_store_n(&v->intr_line, level, __ATOMIC_SEQ_CST);
}

/* User-space interrupt controllers (api.rst, KVM_INTERRUPT): inject when the
 * vCPU can take an interrupt, else ask KVM to exit when it can. With the
 * in-kernel irqchip KVM_INTERRUPT is refused (ENXIO) and never needed: KVM
 * injects what its own controllers present. */
static void inject_pending_interrupt(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	if (v->eng->irqchip_kernel || !__atomic_load_n(&v->intr_line, __ATOMIC_ACQUIRE)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag) {
		const struct engine_host *h = &v->eng->host;
		int vector = h->intr_ack(h->opaque, v->index);
		if (vector >= 0) {
			struct kvm_interrupt irq = { .irq = (uint32_t)vector };
			(void)kvmeng_ioctl(v->fd, KVM_INTERRUPT, &irq);
		}
		run->request_interrupt_window = 0;
		return;
	}
	run->request_interrupt_window = 1;
}

int kvmeng_inject_nmi(struct vcpu *v)
{
	return kvmeng_ioctl(v->fd, KVM_NMI, NULL);
}

/* String I/O arrives as count back-to-back items in the run area (api.rst, KVM_EXIT_IO). */
static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	const struct engine_host *h = &v->eng->host;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	size_t span = (size_t)size * run->io.count;
	/* KVM guarantees the data fits in the run page; check rather than trust. */
	if (run->io.data_offset > (uint64_t)v->eng->vcpu_mmap_size ||
	    span > (size_t)v->eng->vcpu_mmap_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += size)
		h->pio(h->opaque, run->io.port, data, size, run->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	const struct engine_host *h = &v->eng->host;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
	h->mmio(h->opaque, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

static const char *internal_suberror(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "cannot deliver an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	default: return "unknown suberror";
	}
}

static void describe_internal_error(const struct kvm_run *run, char *out, size_t len)
{
	int n = snprintf(out, len, "KVM internal error: %s (suberror %u)",
			 internal_suberror(run->internal.suberror), run->internal.suberror);
	uint32_t nd = run->internal.ndata;
	if (nd > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		nd = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (uint32_t i = 0; i < nd && n > 0 && (size_t)n < len; i++)
		n += snprintf(out + n, len - (size_t)n, "%s0x%llx", i ? " " : ", data ",
			      (unsigned long long)run->internal.data[i]);
}

int kvmeng_run(struct vcpu *v, struct vcpu_exit *exit)
{
	struct kvm_run *run = v->run;
	memset(exit, 0, sizeof(*exit));
	if (!v->thread_known) {
		v->thread = pthread_self();
		__atomic_store_n(&v->thread_known, true, __ATOMIC_RELEASE);
	}
	current_run = run;

	for (;;) {
		if (__atomic_exchange_n(&v->kicked, 0, __ATOMIC_SEQ_CST)) {
			exit->reason = VCPU_EXIT_KICK;
			return 0;
		}
		inject_pending_interrupt(v);
		int r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			int e = errno;
			run->immediate_exit = 0;
			if (e == EINTR || e == EAGAIN)
				continue; /* the kick flag, if any, is seen at the top */
			snprintf(exit->detail, sizeof(exit->detail), "KVM_RUN: %s", strerror(e));
			return -e;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			continue;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			continue;
		case KVM_EXIT_INTR:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			continue;
		case KVM_EXIT_DEBUG:
			if (kvmeng_debug_exit(v, exit))
				return 0;
			continue;
		case KVM_EXIT_HLT: /* user-space irqchip only: KVM's LAPIC halts in the kernel */
			exit->reason = VCPU_EXIT_HALT;
			snprintf(exit->detail, sizeof(exit->detail), "the vCPU executed HLT");
			return 0;
		case KVM_EXIT_SHUTDOWN:
			exit->reason = VCPU_EXIT_SHUTDOWN;
			snprintf(exit->detail, sizeof(exit->detail), "triple fault (shutdown)");
			return 0;
		case KVM_EXIT_SYSTEM_EVENT:
			exit->reason = VCPU_EXIT_SHUTDOWN;
			snprintf(exit->detail, sizeof(exit->detail), "system event %u", run->system_event.type);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			exit->reason = VCPU_EXIT_FAIL_ENTRY;
			snprintf(exit->detail, sizeof(exit->detail),
				 "VM entry failed: hardware entry failure reason 0x%llx on cpu %u",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				 run->fail_entry.cpu);
			return 0;
		case KVM_EXIT_INTERNAL_ERROR:
			exit->reason = VCPU_EXIT_INTERNAL_ERROR;
			describe_internal_error(run, exit->detail, sizeof(exit->detail));
			return 0;
		default:
			exit->reason = VCPU_EXIT_UNKNOWN;
			snprintf(exit->detail, sizeof(exit->detail), "unhandled KVM exit reason %u",
				 run->exit_reason);
			return 0;
		}
	}
}
