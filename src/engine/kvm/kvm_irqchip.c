/* SPDX-License-Identifier: MIT */
/*
 * KVM's in-kernel interrupt controllers and PIT (--irqchip kernel), following
 * the KVM API document (Documentation/virt/kvm/api.rst):
 *
 *   KVM_CREATE_IRQCHIP   the 8259A pair (with ELCR 0x4d0/0x4d1) and the IOAPIC
 *                        at 0xfec00000; every vCPU created afterwards gets a
 *                        local APIC (xAPIC MMIO at its APIC base, x2APIC MSRs,
 *                        TSC-deadline timer). Must precede KVM_CREATE_VCPU.
 *   KVM_CREATE_PIT2      the 8254 at 0x40-0x43, raising GSI 0.
 *   KVM_SET_GSI_ROUTING  where each GSI goes (below).
 *   KVM_IRQ_LINE         the level of a GSI, for the devices x86v still models
 *                        (UART, RTC, i8042, ACPI SCI, PCI INTx via PIIX3).
 *   KVM_IRQFD            an eventfd bound to a GSI whose route is an MSI
 *                        (a virtio function's MSI-X vector): a write to it
 *                        is the interrupt, delivered by the kernel.
 *   KVM_SIGNAL_MSI       one MSI from user space, for the vectors without an
 *                        eventfd (KVM_CAP_IRQFD missing, routes exhausted).
 *   KVM_GET/SET_IRQCHIP, KVM_GET/SET_PIT2, KVM_GET/SET_LAPIC   power-on state
 *                        recorded at creation, put back on a machine reset.
 *
 * Routing: KVM's default table sends GSI n to PIC pin n and IOAPIC pin n
 * (identity, virt/kvm/irqchip.c default_routing). A PC wires the PIT's IRQ 0 to
 * IOAPIC pin 2 instead (the MADT's interrupt source override says so, and the
 * 8259 cascade owns IRQ 2), so the table is replaced with the one QEMU uses:
 * GSI 0..15 to the 8259 inputs (not GSI 2: the cascade), GSI 0 to IOAPIC
 * pin 2, GSI 1, 3..23 to IOAPIC pin n. The PIT's acknowledgement notifier
 * (reinjection of missed ticks) is keyed on GSI 0, so it follows the route.
 * Each eventfd bound with KVM_IRQFD gets a GSI of its own from 24 up, below
 * what KVM_CAP_IRQ_ROUTING reports (KVM_MAX_IRQ_ROUTES), routed as an MSI
 * (KVM_IRQ_ROUTING_MSI; address_hi is ignored without KVM_CAP_X2APIC_API's
 * 32-bit IDs, as for KVM_SIGNAL_MSI). KVM_SET_GSI_ROUTING replaces the whole
 * table, so every change installs the PC's pins and every MSI route again;
 * an irqfd follows a change of its GSI's route (the kernel updates it when
 * the table changes), so a new message for a bound vector is one call.
 *
 * Port 0x61 (NMI status and control, the gate and output of PIT channel 2) is
 * emulated with the PIT only when KVM_PIT_SPEAKER_DUMMY is given; "dummy"
 * means no sound, not no register. Firmware and Linux calibrate against
 * channel 2 through that port, and the PIT's state is in the kernel, so x86v
 * asks for it rather than modelling the port over KVM_GET/SET_PIT2.
 *
 * No KVM_INTERRUPT in this mode: KVM injects what its controllers present, and
 * HLT waits in the kernel (no KVM_EXIT_HLT) until an interrupt or a kick.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/kvm/kvm_internal.h"

#define KVMENG_NR_GSI 24 /* the IOAPIC's pins */
#define KVMENG_PIT_GSI 0
#define KVMENG_PIT_IOAPIC_PIN 2
#define KVMENG_CASCADE_IRQ 2

static bool has_cap(const struct engine *eng, long cap)
{
	return ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

static void add_route(struct kvm_irq_routing *rt, unsigned gsi, unsigned chip, unsigned pin)
{
	rt->entries[rt->nr++] = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/* Installs the routing table: the PC's wiring (see the top of the file) and
 * the MSI routes of eng->msi. route_lock held, or before any vCPU. 0 or -errno. */
static int set_routing(struct engine *eng)
{
	/* 15 PIC routes + 23 IOAPIC routes. */
	enum { PC_ROUTES = 15 + KVMENG_NR_GSI - 1 };
	struct kvm_irq_routing *rt = calloc(1, sizeof(*rt) + (PC_ROUTES + eng->n_msi) * sizeof(rt->entries[0]));
	if (!rt)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == KVMENG_CASCADE_IRQ)
			continue;
		add_route(rt, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi & 7);
	}
	for (unsigned gsi = 0; gsi < KVMENG_NR_GSI; gsi++) {
		if (gsi == KVMENG_PIT_GSI)
			add_route(rt, gsi, KVM_IRQCHIP_IOAPIC, KVMENG_PIT_IOAPIC_PIN);
		else if (gsi != KVMENG_PIT_IOAPIC_PIN)
			add_route(rt, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	for (unsigned i = 0; i < eng->n_msi; i++)
		rt->entries[rt->nr++] = (struct kvm_irq_routing_entry){
			.gsi = eng->msi[i].gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = eng->msi[i].msi,
		};
	int r = kvmeng_ioctl(eng->vm_fd, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	return r < 0 ? r : 0;
}

/* Records the chips' power-on state for kvmeng_irqchip_reset. 0 or -errno. */
static int record_reset_state(struct engine *eng)
{
	static const unsigned chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };
	for (unsigned i = 0; i < ARRAY_SIZE(chips); i++) {
		memset(&eng->chip_reset[i], 0, sizeof(eng->chip_reset[i]));
		eng->chip_reset[i].chip_id = chips[i];
		int r = kvmeng_ioctl(eng->vm_fd, KVM_GET_IRQCHIP, &eng->chip_reset[i]);
		if (r < 0)
			return r;
	}
	int r = kvmeng_ioctl(eng->vm_fd, KVM_GET_PIT2, &eng->pit_reset);
	return r < 0 ? r : 0;
}

int kvmeng_irqchip_create(struct engine *eng, char *why, size_t why_len)
{
	if (!has_cap(eng, KVM_CAP_IRQCHIP) || !has_cap(eng, KVM_CAP_PIT2) || !has_cap(eng, KVM_CAP_IRQ_ROUTING) ||
	    !has_cap(eng, KVM_CAP_PIT_STATE2)) {
		snprintf(why, why_len, "--irqchip kernel: /dev/kvm lacks the in-kernel irqchip, PIT2, IRQ routing "
				       "or PIT state capability (use --irqchip user)");
		return -ENOTSUP;
	}
	int r = kvmeng_ioctl(eng->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (r < 0) {
		snprintf(why, why_len, "--irqchip kernel: KVM_CREATE_IRQCHIP: %s (use --irqchip user)", strerror(-r));
		return r;
	}
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	r = kvmeng_ioctl(eng->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r < 0) {
		snprintf(why, why_len, "--irqchip kernel: KVM_CREATE_PIT2: %s (use --irqchip user)", strerror(-r));
		return r;
	}
	r = set_routing(eng);
	if (r < 0) {
		snprintf(why, why_len, "--irqchip kernel: KVM_SET_GSI_ROUTING: %s", strerror(-r));
		return r;
	}
	r = record_reset_state(eng);
	if (r < 0) {
		snprintf(why, why_len, "--irqchip kernel: reading the interrupt controllers' state: %s", strerror(-r));
		return r;
	}
	eng->irqchip_kernel = true;
	eng->tsc_deadline = has_cap(eng, KVM_CAP_TSC_DEADLINE_TIMER);
	/* KVM_CAP_IRQ_ROUTING's value is the number of GSIs the table may hold. */
	int limit = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	eng->gsi_limit = limit > 0 ? (uint32_t)limit : 0;
	eng->has_irqfd = has_cap(eng, KVM_CAP_IRQFD) && eng->gsi_limit > KVMENG_NR_GSI;
	return 0;
}

int kvmeng_irqchip_set_gsi(struct engine *eng, unsigned gsi, int level)
{
	if (gsi >= KVMENG_NR_GSI)
		return -EINVAL;
	struct kvm_irq_level line = { .irq = gsi, .level = level != 0 };
	int r = kvmeng_ioctl(eng->vm_fd, KVM_IRQ_LINE, &line);
	return r < 0 ? r : 0;
}

int kvmeng_irqchip_send_msi(struct engine *eng, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
	int r = kvmeng_ioctl(eng->vm_fd, KVM_SIGNAL_MSI, &msi);
	return r < 0 ? r : 0; /* 0: the message reached no APIC, which is not an error */
}

static int find_msi(const struct engine *eng, int fd)
{
	for (unsigned i = 0; i < eng->n_msi; i++)
		if (eng->msi[i].fd == fd)
			return (int)i;
	return -1;
}

/* The lowest GSI past the IOAPIC's pins that no MSI route holds, or 0 when
 * none is left below the limit. */
static uint32_t free_gsi(const struct engine *eng)
{
	for (uint32_t gsi = KVMENG_NR_GSI; gsi < eng->gsi_limit; gsi++) {
		bool taken = false;
		for (unsigned i = 0; i < eng->n_msi && !taken; i++)
			taken = eng->msi[i].gsi == gsi;
		if (!taken)
			return gsi;
	}
	return 0;
}

static void drop_msi(struct engine *eng, unsigned i)
{
	eng->msi[i] = eng->msi[--eng->n_msi];
}

/* A new route for fd, then the irqfd on it. 0 or -errno, nothing left behind. */
static int bind_msi(struct engine *eng, int fd, const struct kvm_irq_routing_msi *msi)
{
	uint32_t gsi = free_gsi(eng);
	if (eng->n_msi == KVMENG_MAX_MSI_ROUTES || !gsi)
		return -ENOSPC;
	eng->msi[eng->n_msi++] = (struct kvmeng_msi_route){ .fd = fd, .gsi = gsi, .msi = *msi };
	int r = set_routing(eng);
	if (r < 0) {
		eng->n_msi--;
		return r;
	}
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };
	r = kvmeng_ioctl(eng->vm_fd, KVM_IRQFD, &irqfd);
	if (r < 0) {
		eng->n_msi--;
		(void)set_routing(eng); /* the route alone reaches nobody; best effort */
		return r;
	}
	return 0;
}

/* The irqfd off its GSI first (no write reaches the route after this), then
 * the route. 0 or -errno; the route is gone either way. */
static int unbind_msi(struct engine *eng, unsigned i)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)eng->msi[i].fd, .gsi = eng->msi[i].gsi,
				   .flags = KVM_IRQFD_FLAG_DEASSIGN };
	int r = kvmeng_ioctl(eng->vm_fd, KVM_IRQFD, &irqfd);
	drop_msi(eng, i);
	int r2 = set_routing(eng);
	return r < 0 ? r : r2;
}

int kvmeng_irqchip_msi_irqfd(struct engine *eng, int fd, uint64_t addr, uint32_t data, bool assign)
{
	if (!eng->irqchip_kernel)
		return -ENODEV;
	if (!eng->has_irqfd)
		return -ENOTSUP;
	if (fd < 0)
		return -EBADF;
	struct kvm_irq_routing_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
					   .data = data };
	pthread_mutex_lock(&eng->route_lock);
	int i = find_msi(eng, fd), r;
	if (!assign) {
		r = i < 0 ? -ENOENT : unbind_msi(eng, (unsigned)i);
	} else if (i < 0) {
		r = bind_msi(eng, fd, &msi);
	} else {
		/* A new message on the same GSI: the bound irqfd follows the table. */
		struct kvm_irq_routing_msi old = eng->msi[i].msi;
		eng->msi[i].msi = msi;
		if ((r = set_routing(eng)) < 0)
			eng->msi[i].msi = old; /* a refused table leaves the old one in force */
	}
	pthread_mutex_unlock(&eng->route_lock);
	return r;
}

int kvmeng_irqchip_vcpu_init(struct vcpu *v)
{
	int r = kvmeng_ioctl(v->fd, KVM_GET_LAPIC, &v->lapic_reset);
	return r < 0 ? r : 0;
}

int kvmeng_irqchip_reset(struct vcpu *v)
{
	struct engine *eng = v->eng;
	/* The machine-wide chips once, with the BSP; every vCPU its local APIC. */
	for (unsigned i = 0; v->index == 0 && i < ARRAY_SIZE(eng->chip_reset); i++) {
		struct kvm_irqchip chip = eng->chip_reset[i];
		int r = kvmeng_ioctl(eng->vm_fd, KVM_SET_IRQCHIP, &chip);
		if (r < 0)
			return r;
	}
	struct kvm_pit_state2 pit = eng->pit_reset;
	int r = v->index == 0 ? kvmeng_ioctl(eng->vm_fd, KVM_SET_PIT2, &pit) : 0;
	if (r < 0)
		return r;
	struct kvm_lapic_state lapic = v->lapic_reset;
	if ((r = kvmeng_ioctl(v->fd, KVM_SET_LAPIC, &lapic)) < 0)
		return r;
	/* The BSP runs again (also one halted in the kernel); an application
	 * processor waits for a start-up IPI (api.rst: KVM_MP_STATE_INIT_RECEIVED). */
	struct kvm_mp_state mp = { .mp_state = v->index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED };
	r = kvmeng_ioctl(v->fd, KVM_SET_MP_STATE, &mp);
	return r < 0 ? r : 0;
}
