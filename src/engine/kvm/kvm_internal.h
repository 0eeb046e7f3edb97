/* SPDX-License-Identifier: MIT */
/*
 * Private to the KVM engine: the VM and vCPU structs shared by its files.
 * Follows the KVM API document (Documentation/virt/kvm/api.rst).
 */
#ifndef X86V_ENGINE_KVM_INTERNAL_H
#define X86V_ENGINE_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* Fixed addresses KVM needs below 4 GiB on hosts without unrestricted guest
 * (real mode runs as vm86 with these); the same ones QEMU uses, above the
 * PCI hole's devices and below a 16 MiB firmware ROM. */
#define KVMENG_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVMENG_TSS_ADDR 0xfeffd000ULL

/* MSI routes (eventfds bound with KVM_IRQFD) one VM may hold: the virtio
 * functions' MSI-X vectors, 9 at most per function. */
#define KVMENG_MAX_MSI_ROUTES 256

struct engine {
	struct engine_host host;
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	bool readonly_mem;
	bool has_xcrs;
	bool has_debugregs;
	bool has_vcpu_events;
	/* XSAVE (kvm_regsync.c): KVM_CAP_XSAVE, and KVM_CAP_XSAVE2 with the area's
	 * size (4096 without it); the XCR0 components the guest's CPUID offers and
	 * where AVX's and PKRU's parts lie in the standard-format area (leaf 0xd). */
	bool has_xsave;
	bool has_xsave2;
	uint32_t xsave_size;
	uint64_t xcr0_supported;
	uint32_t xsave_avx_offset, xsave_pkru_offset;
	struct kvm_cpuid2 *cpuid; /* what the guest is shown */
	uint32_t *msr_list; /* MSRs KVM can save/restore */
	uint32_t msr_count;
	/* --irqchip kernel (kvm_irqchip.c): KVM's PIC pair, IOAPIC, local APIC and
	 * PIT, with their power-on state for machine resets. */
	bool irqchip_kernel;
	bool tsc_deadline; /* KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC has it */
	struct kvm_irqchip chip_reset[3]; /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit_reset;
	/* MSI routes bound to eventfds (KVM_IRQFD), in the GSI routing table
	 * after the PC's pins; route_lock guards them and the table. */
	bool has_irqfd; /* KVM_CAP_IRQFD */
	uint32_t gsi_limit; /* KVM_CAP_IRQ_ROUTING: every GSI is below it */
	pthread_mutex_t route_lock;
	unsigned n_msi;
	struct kvmeng_msi_route {
		int fd;
		uint32_t gsi;
		struct kvm_irq_routing_msi msi;
	} msi[KVMENG_MAX_MSI_ROUTES];
};

struct vcpu {
	struct engine *eng;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
	int kicked; /* atomic: kick() happened, run() must return */
	int intr_line; /* atomic: INTR from the user-space interrupt controllers */
	struct kvm_lapic_state lapic_reset; /* --irqchip kernel: the LAPIC as created */
	struct kvm_xsave *xsave; /* eng->xsave_size bytes for KVM_GET/SET_XSAVE, allocated on first use */
	/* Guest debugging (kvm_debug.c): the INT3 bytes written over guest code
	 * for software breakpoints, with the bytes they replaced. */
	struct engine_debug dbg;
	unsigned n_patched;
	struct {
		uint64_t gpa;
		uint8_t orig;
	} patched[ENGINE_MAX_SW_BP];
};

/* kvm_cpuid.c: builds eng->cpuid from KVM_GET_SUPPORTED_CPUID. 0 or -errno. */
int kvmeng_cpuid_init(struct engine *eng, char *why, size_t why_len);
/* Sets the vCPU's CPUID, with its APIC ID. 0 or -errno. */
int kvmeng_cpuid_apply(struct vcpu *vcpu);

/* kvm_irqchip.c (--irqchip kernel). Creates the in-kernel PIC pair, IOAPIC
 * and PIT with the PC's GSI routing; before any vCPU. 0 or -errno with why. */
int kvmeng_irqchip_create(struct engine *eng, char *why, size_t why_len) MUST_CHECK;
/* Drives GSI gsi (KVM_IRQ_LINE). 0 or -errno. */
int kvmeng_irqchip_set_gsi(struct engine *eng, unsigned gsi, int level) MUST_CHECK;
int kvmeng_irqchip_send_msi(struct engine *eng, uint64_t addr, uint32_t data) MUST_CHECK;
/* engine_ops.msi_irqfd: an MSI route for eventfd fd (a GSI of its own past
 * the IOAPIC's pins) and the fd bound to it, changed or taken out again. */
int kvmeng_irqchip_msi_irqfd(struct engine *eng, int fd, uint64_t addr, uint32_t data, bool assign) MUST_CHECK;
/* Records a new vCPU's local APIC state for kvmeng_irqchip_reset. 0 or -errno. */
int kvmeng_irqchip_vcpu_init(struct vcpu *vcpu) MUST_CHECK;
/* Machine reset: every in-kernel chip back to its recorded state. 0 or -errno. */
int kvmeng_irqchip_reset(struct vcpu *vcpu) MUST_CHECK;

/* kvm_regsync.c: engine-neutral state <-> KVM's register structs. 0 or -errno. */
int kvmeng_get_state(struct vcpu *vcpu, struct x86_cpu_state *s);
int kvmeng_set_state(struct vcpu *vcpu, const struct x86_cpu_state *s);
/* XCR0 components x86_fpu_state holds (x87, SSE, AVX, PKRU); kvm_platform.c
 * carries the rest of the XSAVE area. */
#define KVMENG_XCR0_X87 (1ULL << 0)
#define KVMENG_XCR0_SSE (1ULL << 1)
#define KVMENG_XCR0_AVX (1ULL << 2)
#define KVMENG_XCR0_PKRU (1ULL << 9)
#define KVMENG_XCR0_NEUTRAL (KVMENG_XCR0_X87 | KVMENG_XCR0_SSE | KVMENG_XCR0_AVX | KVMENG_XCR0_PKRU)
/* Fills the XSAVE fields of eng from KVM's capabilities and eng->cpuid. 0 or -errno. */
int kvmeng_xsave_init(struct engine *eng);
/* The vCPU's XSAVE area into vcpu->xsave (allocated on first use). 0 or -errno. */
int kvmeng_xsave_get(struct vcpu *vcpu);
/* The guest's XCR0 (1 without KVM_CAP_XCRS). 0 or -errno. */
int kvmeng_get_xcr0(struct vcpu *vcpu, uint64_t *xcr0);
/* Whether KVM can save/restore msr (from KVM_GET_MSR_INDEX_LIST). */
bool kvmeng_msr_supported(const struct engine *eng, uint32_t msr);

/* kvm_platform.c: engine_ops.save_platform / load_platform. */
int kvmeng_save_platform(struct vcpu *vcpu, struct statebuf *out);
int kvmeng_load_platform(struct vcpu *vcpu, struct state_reader *in, char *why, size_t why_len);

/* kvm_vcpu.c */
int kvmeng_vcpu_create(struct engine *eng, unsigned index, struct vcpu **out, char *why, size_t why_len);
void kvmeng_vcpu_destroy(struct vcpu *vcpu);
int kvmeng_run(struct vcpu *vcpu, struct vcpu_exit *exit);
void kvmeng_kick(struct vcpu *vcpu);
void kvmeng_set_intr(struct vcpu *vcpu, bool level);
int kvmeng_inject_nmi(struct vcpu *vcpu);

/* kvm_debug.c: KVM_SET_GUEST_DEBUG from an engine_debug; the KVM_EXIT_DEBUG
 * handler (true: exit filled, stop; false: not ours, run on). */
int kvmeng_set_debug(struct vcpu *vcpu, const struct engine_debug *dbg);
bool kvmeng_debug_exit(struct vcpu *vcpu, struct vcpu_exit *exit);

/* ioctl() that retries on EINTR; returns the result or -errno. */
int kvmeng_ioctl(int fd, unsigned long request, void *arg);

#endif
