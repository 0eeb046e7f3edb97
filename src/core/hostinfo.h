/* SPDX-License-Identifier: MIT */
/*
 * `x86v info`: what the host offers for virtualization. Facts are gathered
 * into struct hostinfo by hostinfo_probe() (CPUID, /dev/kvm ioctls, sysfs
 * module parameters) and judged by the pure hostinfo_verdict(), so the
 * judgement is unit-testable with made-up hosts.
 *
 * Sources: SDM Vol. 2A CPUID (leaf 1 ECX bits 5 VMX and 31 hypervisor),
 * AMD APM Vol. 3 CPUID Fn8000_0001 ECX bit 2 SVM, the KVM API
 * (Documentation/virt/kvm/api.rst: KVM_GET_API_VERSION, KVM_CHECK_EXTENSION).
 * Nothing is inferred that was not read: an unreadable parameter is reported
 * as unknown, never guessed.
 */
#ifndef X86V_CORE_HOSTINFO_H
#define X86V_CORE_HOSTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A module parameter or capability that may not have been readable. */
enum hostinfo_tri { HOSTINFO_UNKNOWN = -1, HOSTINFO_NO = 0, HOSTINFO_YES = 1 };

/* The KVM capabilities x86v reports, in report order. */
enum hostinfo_cap {
	HOSTINFO_CAP_USER_MEMORY,
	HOSTINFO_CAP_SET_TSS_ADDR,
	HOSTINFO_CAP_SET_IDENTITY_MAP_ADDR,
	HOSTINFO_CAP_EXT_CPUID,
	HOSTINFO_CAP_IRQCHIP,
	HOSTINFO_CAP_IMMEDIATE_EXIT,
	HOSTINFO_CAP_SET_GUEST_DEBUG,
	HOSTINFO_CAP_NR_MEMSLOTS,
	HOSTINFO_CAP_READONLY_MEM,
	HOSTINFO_CAP_TSC_DEADLINE_TIMER,
	HOSTINFO_NR_CAPS
};

struct hostinfo {
	/* CPUID */
	char cpu_vendor[13];
	char cpu_model[49]; /* brand string, leading blanks trimmed; "" if leaves absent */
	bool cpu_vmx, cpu_svm, cpu_hypervisor;
	char hypervisor_vendor[13]; /* CPUID 0x40000000 signature when cpu_hypervisor */

	/* /dev/kvm */
	bool kvm_present; /* the device node exists */
	bool kvm_open; /* opened O_RDWR */
	int kvm_errno; /* why stat or open failed (0 if they did not) */
	int kvm_api_version; /* -1 when not asked */
	int kvm_cap[HOSTINFO_NR_CAPS]; /* KVM_CHECK_EXTENSION results; -1 when not asked */

	/* /sys/module */
	bool mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm;
	enum hostinfo_tri intel_ept, intel_unrestricted_guest, intel_nested;
	enum hostinfo_tri amd_npt, amd_nested;
};

/* What the verdict concludes, for callers that choose an engine. */
enum hostinfo_class {
	HOSTINFO_KVM_UNAVAILABLE, /* /dev/kvm unusable: only the soft engine runs */
	HOSTINFO_KVM_FULL, /* hardware virtualization with nested paging (and real mode) */
	HOSTINFO_KVM_DEGRADED, /* hardware, but without EPT/NPT or unrestricted guest */
	HOSTINFO_KVM_PVM, /* software nested hypervisor: CPL-0 guest code emulated */
	HOSTINFO_KVM_UNDETERMINED, /* works; implementation or its speed could not be determined */
};

#define HOSTINFO_KVM_API_VERSION 12

/* Name of a capability as in <linux/kvm.h>, e.g. "KVM_CAP_USER_MEMORY". */
const char *hostinfo_cap_name(enum hostinfo_cap cap);

/*
 * Fills *hi. sysfs_root is the directory holding module/ (NULL: "/sys"),
 * kvm_dev the KVM device (NULL: "/dev/kvm"); tests point both elsewhere.
 * Never fails: what cannot be read is recorded as absent or unknown.
 */
void hostinfo_probe(struct hostinfo *hi, const char *sysfs_root, const char *kvm_dev);

/* Pure: classifies hi and writes the one-line verdict (without "verdict: ") to text. */
enum hostinfo_class hostinfo_verdict(const struct hostinfo *hi, char *text, size_t text_len);

/* The engine --accel auto runs on a host of class c: kvm where guest code runs
 * natively, soft where /dev/kvm is unusable or a software nested hypervisor. */
const char *hostinfo_auto_engine(enum hostinfo_class c);

/* Writes the report for hi as "key: value" lines, ending with the verdict line. */
void hostinfo_print(const struct hostinfo *hi, FILE *out);

/* Probes this host and prints the report to out; returns 0 (the report itself never fails). */
int hostinfo_report(FILE *out);

#endif
