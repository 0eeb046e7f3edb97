/* SPDX-License-Identifier: MIT */
/*
 * The CPUID the guest sees under KVM: what KVM_GET_SUPPORTED_CPUID reports,
 * filtered to what this machine offers. SDM Vol. 2A, CPUID.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kvm/kvm_internal.h"

#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_SMX (1u << 6)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_APIC (1u << 9)
#define CPUID_80000001_ECX_SVM (1u << 2)

/* KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is large enough. */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd, int *err)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c) {
			*err = -ENOMEM;
			return NULL;
		}
		c->nent = n;
		int r = kvmeng_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r >= 0)
			return c;
		free(c);
		if (r != -E2BIG) {
			*err = r;
			return NULL;
		}
	}
	*err = -E2BIG;
	return NULL;
}

static void filter_entry(const struct engine *eng, struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		/* No nested virtualization, no MONITOR/MWAIT. */
		e->ecx &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX | CPUID_1_ECX_SMX);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (eng->irqchip_kernel) {
			/* KVM's local APIC: x2APIC as KVM_GET_SUPPORTED_CPUID reports it (KVM
			 * emulates it whatever the host has); the TSC-deadline timer, which
			 * older kernels leave out of that list, when KVM_CAP_TSC_DEADLINE_TIMER
			 * says the in-kernel APIC has it (api.rst, "Local APIC features"). */
			if (eng->tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		} else {
			/* The user-space local APIC's MSRs (APIC base, x2APIC, TSC deadline)
			 * are not reachable under KVM, so the guest is not told of an APIC;
			 * its xAPIC MMIO page still answers at 0xfee00000. */
			e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
			e->edx &= ~CPUID_1_EDX_APIC;
		}
		/* One logical processor per package; APIC ID filled per vCPU. */
		e->ebx &= 0x0000ffff;
		e->ebx |= 1u << 16;
		break;
	case 4:
		/* Cores per package - 1 in EAX[31:26], threads sharing the cache - 1 in EAX[25:14]. */
		e->eax &= 0x3fff;
		break;
	case 5: /* MONITOR/MWAIT parameters: not offered */
	case 6: /* thermal and power management: nothing to manage */
	case 0xa: /* architectural PMU: not virtualized */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		/* A single thread in a single core: level 0 = SMT with 1, level 1 = core with 1. */
		e->eax = 0;
		e->ebx = e->index < 2 ? 1 : 0;
		e->ecx = e->index < 2 ? (e->index & 0xff) | ((e->index + 1) << 8) : e->index & 0xff;
		break;
	case 0x80000001:
		e->ecx &= ~CPUID_80000001_ECX_SVM;
		break;
	}
}

int kvmeng_cpuid_init(struct engine *eng, char *why, size_t why_len)
{
	int err = 0;
	struct kvm_cpuid2 *c = supported_cpuid(eng->kvm_fd, &err);
	if (!c) {
		snprintf(why, why_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < c->nent; i++)
		filter_entry(eng, &c->entries[i]);
	eng->cpuid = c;
	return 0;
}

int kvmeng_cpuid_apply(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *src = vcpu->eng->cpuid;
	size_t bytes = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	if (!c)
		return -ENOMEM;
	memcpy(c, src, bytes);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->index << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->index;
	}
	int r = kvmeng_ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? r : 0;
}
