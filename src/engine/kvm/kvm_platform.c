/* SPDX-License-Identifier: MIT */
/*
 * The KVM engine's own part of a snapshot (engine_ops.save_platform and
 * load_platform): what KVM keeps that the engine-neutral x86_cpu_state does
 * not hold, as one record of this file's format:
 *
 * Parts: the XSAVE area beyond x87/SSE/AVX/PKRU; with --irqchip kernel the
 * in-kernel chips, the LAPIC, the MP state and the TSC deadline; for a guest
 * on KVM's paravirtual clock, the VM's kvmclock and the PV MSRs (so a Linux
 * guest's clock and steal time go on where they were).
 *
 *   "kvm-platform" (a name), version (u32), part count (u32),
 *   then per part: name, size (u32), bytes
 *
 * Parts, each present only when there is such state:
 *   xsave         the vCPU's whole XSAVE area (standard format, KVM_GET_XSAVE
 *                 or KVM_GET_XSAVE2) when the guest's XCR0 enables components
 *                 beyond x87, SSE, AVX and PKRU (AVX-512's opmask and ZMM
 *                 registers, MPX...), which x86_fpu_state does not hold
 *   pic-master, pic-slave, ioapic     struct kvm_irqchip (KVM_GET_IRQCHIP)
 *   pit           struct kvm_pit_state2 (KVM_GET_PIT2)
 *   lapic         struct kvm_lapic_state (KVM_GET_LAPIC)
 *   mp-state      struct kvm_mp_state: runnable, or halted in the kernel
 *   tsc-deadline  MSR IA32_TSC_DEADLINE (u64), where KVM saves that MSR
 * the last six with --irqchip kernel, and then all of them.
 * The VM-wide parts (the chips, the PIT, kvmclock) go with vCPU 0's record;
 * another vCPU's record holds its own parts only (xsave, lapic, mp-state,
 * tsc-deadline, pv-msrs), and is applied after vCPU 0's (core/vm_cpu.c).
 *
 * A part's bytes are KVM's own struct, so its size is that of this x86v's
 * struct (for xsave: the area's size KVM_CAP_XSAVE2 gives); a part of another
 * size, an unknown or repeated part, a newer version are refused in one line.
 * KVM itself checks what it is given (a redirection entry, a register); this
 * file checks what it can name: each chip's id, the MP state.
 *
 * Restoring follows set_state (kvm_regsync.c), which has put the registers,
 * the APIC base (KVM_SET_SREGS), the TSC and the vCPU events in place; then,
 * in the order api.rst and QEMU use:
 *   1. the XSAVE area, over what set_state wrote (the same x87/SSE/AVX bytes,
 *      taken at the same moment, with the other components);
 *   2. the VM-wide chips: PICs, IOAPIC (before the LAPIC: KVM_SET_LAPIC looks
 *      up the RTC pin's route for its EOI tracking), PIT;
 *   3. the LAPIC, after the APIC base: whether the APIC is in x2APIC mode
 *      decides how KVM reads the ID register;
 *   4. the vCPU events again (as set_state left them), after the LAPIC;
 *   5. the MP state;
 *   6. the TSC deadline: after the TSC (set_state), and with the LAPIC's timer
 *      in TSC-deadline mode, else KVM drops the write.
 * What KVM's interface cannot carry: a PIT channel or a LAPIC timer in
 * one-shot or periodic mode starts its current period over from the initial
 * count (at most one period late, as with any KVM migration).
 *
 * Interrupt lines: the chips' records hold what their pins saw (the IOAPIC's
 * IRR for level-triggered pins, the 8259s' IRR and edge latch), and each
 * device x86v models keeps the level it drives in its own record, lowering it
 * through KVM_IRQ_LINE when it changes; so the machine's vm->gsi_level, which
 * only serves lines raised before the engine existed, is not saved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/statebuf.h"
#include "engine/kvm/kvm_internal.h"

#define PLATFORM_NAME "kvm-platform"
#define PLATFORM_VERSION 1
#define MSR_IA32_TSC_DEADLINE 0x6e0

enum part {
	PART_XSAVE,
	PART_PIC_MASTER,
	PART_PIC_SLAVE,
	PART_IOAPIC,
	PART_PIT,
	PART_LAPIC,
	PART_MP_STATE,
	PART_TSC_DEADLINE,
	PART_KVMCLOCK, /* the VM's kvmclock (KVM_GET_CLOCK) */
	PART_PV_MSRS, /* KVM's paravirtual MSRs: kvmclock pages, async PF, steal time, PV EOI */
	NR_PARTS
};

static const char *const part_names[NR_PARTS] = {
	"xsave", "pic-master", "pic-slave", "ioapic", "pit", "lapic", "mp-state", "tsc-deadline", "kvmclock", "pv-msrs",
};

/* KVM's paravirtual MSRs (Documentation/virt/kvm/x86/msr.rst): the guest
 * sees them because KVM_GET_SUPPORTED_CPUID offers the KVM leaves. */
static const uint32_t pv_msr_index[] = {
	0x4b564d00, /* MSR_KVM_WALL_CLOCK_NEW */
	0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW */
	0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
	0x4b564d03, /* MSR_KVM_STEAL_TIME */
	0x4b564d04, /* MSR_KVM_PV_EOI_EN */
	0x4b564d05, /* MSR_KVM_POLL_CONTROL */
	0x11, /* MSR_KVM_WALL_CLOCK (the old numbers) */
	0x12, /* MSR_KVM_SYSTEM_TIME */
};
#define NR_PV_MSRS (sizeof(pv_msr_index) / sizeof(pv_msr_index[0]))

struct pv_msrs {
	uint64_t present; /* bit i: pv_msr_index[i] is known to this KVM and saved */
	uint64_t value[NR_PV_MSRS];
};

static const unsigned chip_ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };

/* The state itself, as KVM's structs. */
struct platform {
	bool have[NR_PARTS];
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	uint64_t tsc_deadline;
	struct kvm_clock_data clock;
	struct pv_msrs pv;
	/* xsave: vcpu->xsave */
};

static void *part_data(struct vcpu *vcpu, struct platform *p, enum part i)
{
	switch (i) {
	case PART_XSAVE: return vcpu->xsave;
	case PART_PIC_MASTER:
	case PART_PIC_SLAVE:
	case PART_IOAPIC: return &p->chip[i - PART_PIC_MASTER];
	case PART_PIT: return &p->pit;
	case PART_LAPIC: return &p->lapic;
	case PART_MP_STATE: return &p->mp;
	case PART_KVMCLOCK: return &p->clock;
	case PART_PV_MSRS: return &p->pv;
	default: return &p->tsc_deadline;
	}
}

static size_t part_size(const struct engine *eng, enum part i)
{
	switch (i) {
	case PART_XSAVE: return eng->xsave_size;
	case PART_PIC_MASTER:
	case PART_PIC_SLAVE:
	case PART_IOAPIC: return sizeof(struct kvm_irqchip);
	case PART_PIT: return sizeof(struct kvm_pit_state2);
	case PART_LAPIC: return sizeof(struct kvm_lapic_state);
	case PART_MP_STATE: return sizeof(struct kvm_mp_state);
	case PART_KVMCLOCK: return sizeof(struct kvm_clock_data);
	case PART_PV_MSRS: return sizeof(struct pv_msrs);
	default: return sizeof(uint64_t);
	}
}

/* One MSR through KVM_GET/SET_MSRS. 0 or -errno. */
static int msr_rw(struct vcpu *vcpu, uint32_t index, uint64_t *value, bool set)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.entry.index = index;
	m.entry.data = *value;
	int r = kvmeng_ioctl(vcpu->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m);
	if (r < 0)
		return r;
	if (r != 1)
		return -EINVAL;
	*value = m.entry.data;
	return 0;
}

int kvmeng_save_platform(struct vcpu *vcpu, struct statebuf *out)
{
	struct engine *eng = vcpu->eng;
	struct platform p;
	memset(&p, 0, sizeof(p));
	int r;
	if (eng->has_xsave) {
		uint64_t xcr0;
		if ((r = kvmeng_get_xcr0(vcpu, &xcr0)) < 0)
			return r;
		if (xcr0 & ~KVMENG_XCR0_NEUTRAL) {
			if ((r = kvmeng_xsave_get(vcpu)) < 0)
				return r;
			p.have[PART_XSAVE] = true;
		}
	}
	bool vm_parts = vcpu->index == 0;
	if (eng->irqchip_kernel) {
		for (unsigned i = 0; vm_parts && i < 3; i++) {
			p.chip[i].chip_id = chip_ids[i];
			if ((r = kvmeng_ioctl(eng->vm_fd, KVM_GET_IRQCHIP, &p.chip[i])) < 0)
				return r;
		}
		if ((vm_parts && (r = kvmeng_ioctl(eng->vm_fd, KVM_GET_PIT2, &p.pit)) < 0) ||
		    (r = kvmeng_ioctl(vcpu->fd, KVM_GET_LAPIC, &p.lapic)) < 0 ||
		    (r = kvmeng_ioctl(vcpu->fd, KVM_GET_MP_STATE, &p.mp)) < 0)
			return r;
		for (enum part i = PART_PIC_MASTER; i <= PART_MP_STATE; i++)
			p.have[i] = vm_parts || i >= PART_LAPIC;
		if (kvmeng_msr_supported(eng, MSR_IA32_TSC_DEADLINE)) {
			if ((r = msr_rw(vcpu, MSR_IA32_TSC_DEADLINE, &p.tsc_deadline, false)) < 0)
				return r;
			p.have[PART_TSC_DEADLINE] = true;
		}
	}
	/* A guest on KVM's paravirtual clock: its pages and the VM's clock go
	 * with it (a guest that never enabled them needs neither). */
	bool pv_used = false;
	for (unsigned i = 0; i < NR_PV_MSRS; i++) {
		if (!kvmeng_msr_supported(eng, pv_msr_index[i]))
			continue;
		if ((r = msr_rw(vcpu, pv_msr_index[i], &p.pv.value[i], false)) < 0)
			return r;
		p.pv.present |= 1ULL << i;
		/* Poll control is 1 from reset: only what a guest turns on counts. */
		pv_used |= p.pv.value[i] != 0 && pv_msr_index[i] != 0x4b564d05;
	}
	if (pv_used && vm_parts) {
		if ((r = kvmeng_ioctl(eng->vm_fd, KVM_GET_CLOCK, &p.clock)) < 0)
			return r;
		p.clock.flags = 0; /* restore the guest's clock as it was, not the host's time */
		memset(p.clock.pad, 0, sizeof(p.clock.pad));
		p.have[PART_KVMCLOCK] = true;
	}
	p.have[PART_PV_MSRS] = pv_used;
	uint32_t n = 0;
	for (enum part i = 0; i < NR_PARTS; i++)
		n += p.have[i];
	if (!n)
		return 0; /* nothing beyond the neutral state */
	sb_put_name(out, PLATFORM_NAME);
	sb_put_u32(out, PLATFORM_VERSION);
	sb_put_u32(out, n);
	for (enum part i = 0; i < NR_PARTS; i++) {
		if (!p.have[i])
			continue;
		sb_put_name(out, part_names[i]);
		sb_put_u32(out, (uint32_t)part_size(eng, i));
		sb_put(out, part_data(vcpu, &p, i), part_size(eng, i));
	}
	return out->failed ? -ENOMEM : 0;
}

/* Reads the record into p (and the XSAVE area into vcpu->xsave) and checks it. */
static int parse(struct vcpu *vcpu, struct state_reader *in, struct platform *p, char *why, size_t why_len)
{
	const struct engine *eng = vcpu->eng;
	char name[256];
	sr_get_name(in, name);
	uint32_t version = sr_get_u32(in), n = sr_get_u32(in);
	if (!sr_ok(in) || strcmp(name, PLATFORM_NAME) != 0) {
		snprintf(why, why_len, "the engine's state is not a " PLATFORM_NAME " record");
		return -EINVAL;
	}
	if (version == 0 || version > PLATFORM_VERSION) {
		snprintf(why, why_len, PLATFORM_NAME ": version %u, this x86v knows up to %u", version,
			 PLATFORM_VERSION);
		return -EINVAL;
	}
	for (uint32_t k = 0; k < n; k++) {
		sr_get_name(in, name);
		uint32_t size = sr_get_u32(in);
		if (!sr_ok(in))
			break;
		enum part i = 0;
		while (i < NR_PARTS && strcmp(part_names[i], name) != 0)
			i++;
		if (i == NR_PARTS || p->have[i]) {
			snprintf(why, why_len, PLATFORM_NAME ": %s part \"%s\"", i == NR_PARTS ? "an unknown" : "a second",
				 name);
			return -EINVAL;
		}
		if (size != part_size(eng, i)) {
			snprintf(why, why_len, PLATFORM_NAME ": part %s has %u bytes, this x86v's KVM has %zu (another "
				 "kernel interface)", name, size, part_size(eng, i));
			return -EINVAL;
		}
		if (i == PART_XSAVE && !eng->has_xsave) {
			snprintf(why, why_len, PLATFORM_NAME ": XSAVE state, which this host's KVM cannot take");
			return -EINVAL;
		}
		if (i == PART_XSAVE && !vcpu->xsave && !(vcpu->xsave = calloc(1, eng->xsave_size)))
			return -ENOMEM;
		sr_get(in, part_data(vcpu, p, i), size);
		p->have[i] = true;
	}
	if (!sr_ok(in) || in->left) {
		snprintf(why, why_len, PLATFORM_NAME ": %s", sr_ok(in) ? "trailing bytes" : "truncated");
		return -EINVAL;
	}
	/* The VM-wide parts come with vCPU 0 only. */
	bool vm_parts = vcpu->index == 0;
	bool chips = p->have[PART_LAPIC];
	for (enum part i = PART_PIC_MASTER; i <= PART_MP_STATE; i++)
		if (p->have[i] != (chips && (vm_parts || i >= PART_LAPIC))) {
			snprintf(why, why_len, PLATFORM_NAME ": the interrupt controllers' state is incomplete (%s %s)",
				 part_names[i], p->have[i] ? "without the others" : "missing");
			return -EINVAL;
		}
	if (chips != eng->irqchip_kernel) {
		snprintf(why, why_len, chips ? "taken with --irqchip kernel: restore it with --accel kvm --irqchip kernel"
					     : "taken without --irqchip kernel: restore it without --irqchip kernel");
		return -EINVAL;
	}
	if (p->have[PART_TSC_DEADLINE] && !kvmeng_msr_supported(eng, MSR_IA32_TSC_DEADLINE)) {
		snprintf(why, why_len, PLATFORM_NAME ": a TSC deadline, which this host's KVM cannot take");
		return -EINVAL;
	}
	for (unsigned c = 0; chips && vm_parts && c < 3; c++)
		if (p->chip[c].chip_id != chip_ids[c]) {
			snprintf(why, why_len, PLATFORM_NAME ": part %s holds chip %u", part_names[PART_PIC_MASTER + c],
				 p->chip[c].chip_id);
			return -EINVAL;
		}
	if (p->have[PART_KVMCLOCK] != (p->have[PART_PV_MSRS] && vm_parts)) {
		snprintf(why, why_len, PLATFORM_NAME ": the paravirtual clock's state is incomplete");
		return -EINVAL;
	}
	for (unsigned i = 0; p->have[PART_PV_MSRS] && i < NR_PV_MSRS; i++)
		if ((p->pv.present >> i & 1) && !kvmeng_msr_supported(eng, pv_msr_index[i])) {
			snprintf(why, why_len, PLATFORM_NAME ": paravirtual MSR %#x, which this host's KVM lacks",
				 pv_msr_index[i]);
			return -EINVAL;
		}
	if (p->have[PART_PV_MSRS] && (p->pv.present >> NR_PV_MSRS)) {
		snprintf(why, why_len, PLATFORM_NAME ": unknown paravirtual MSRs");
		return -EINVAL;
	}
	p->clock.flags = 0;
	/* An application processor may also wait for INIT (from power-on:
	 * uninitialized) or a start-up IPI. */
	unsigned mp = p->mp.mp_state;
	bool ap_wait = mp == KVM_MP_STATE_UNINITIALIZED || mp == KVM_MP_STATE_INIT_RECEIVED ||
		       mp == KVM_MP_STATE_SIPI_RECEIVED;
	if (chips && mp != KVM_MP_STATE_RUNNABLE && mp != KVM_MP_STATE_HALTED && (vm_parts || !ap_wait)) {
		snprintf(why, why_len, PLATFORM_NAME ": MP state %u (a vCPU is runnable, halted or, an AP, waits for a "
			 "start-up IPI)", p->mp.mp_state);
		return -EINVAL;
	}
	return 0;
}

int kvmeng_load_platform(struct vcpu *vcpu, struct state_reader *in, char *why, size_t why_len)
{
	struct engine *eng = vcpu->eng;
	struct platform p;
	memset(&p, 0, sizeof(p));
	int r = parse(vcpu, in, &p, why, why_len);
	if (r < 0)
		return r;
	const char *what = "KVM_SET_XSAVE";
	if (p.have[PART_XSAVE] && (r = kvmeng_ioctl(vcpu->fd, KVM_SET_XSAVE, vcpu->xsave)) < 0)
		goto refused;
	/* The VM's clock before the MSRs that point the guest at it. */
	what = "KVM_SET_CLOCK";
	if (p.have[PART_KVMCLOCK] && (r = kvmeng_ioctl(eng->vm_fd, KVM_SET_CLOCK, &p.clock)) < 0)
		goto refused;
	what = "KVM's paravirtual MSRs (KVM_SET_MSRS)";
	for (unsigned i = 0; p.have[PART_PV_MSRS] && i < NR_PV_MSRS; i++)
		if ((p.pv.present >> i & 1) && (r = msr_rw(vcpu, pv_msr_index[i], &p.pv.value[i], true)) < 0)
			goto refused;
	if (!p.have[PART_LAPIC])
		return 0;
	what = "KVM_SET_IRQCHIP";
	for (unsigned c = 0; p.have[PART_PIC_MASTER] && c < 3; c++)
		if ((r = kvmeng_ioctl(eng->vm_fd, KVM_SET_IRQCHIP, &p.chip[c])) < 0)
			goto refused;
	what = "KVM_SET_PIT2";
	if (p.have[PART_PIT] && (r = kvmeng_ioctl(eng->vm_fd, KVM_SET_PIT2, &p.pit)) < 0)
		goto refused;
	struct kvm_vcpu_events ev;
	memset(&ev, 0, sizeof(ev));
	what = "KVM_GET_VCPU_EVENTS";
	if (eng->has_vcpu_events && (r = kvmeng_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev)) < 0)
		goto refused;
	what = "KVM_SET_LAPIC";
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_LAPIC, &p.lapic)) < 0)
		goto refused;
	what = "KVM_SET_VCPU_EVENTS";
	ev.flags |= KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (eng->has_vcpu_events && (r = kvmeng_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev)) < 0)
		goto refused;
	what = "KVM_SET_MP_STATE";
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_MP_STATE, &p.mp)) < 0)
		goto refused;
	what = "the TSC deadline (KVM_SET_MSRS)";
	if (p.have[PART_TSC_DEADLINE] && (r = msr_rw(vcpu, MSR_IA32_TSC_DEADLINE, &p.tsc_deadline, true)) < 0)
		goto refused;
	return 0;
refused:
	snprintf(why, why_len, PLATFORM_NAME ": %s: %s", what, strerror(-r));
	return r;
}
