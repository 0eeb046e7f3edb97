/* SPDX-License-Identifier: MIT */
/*
 * The `x86v info` host report (see hostinfo.h for the sources followed).
 *
 * Judging speed: KVM on VT-x needs EPT for unrestricted guest (SDM Vol. 3C
 * §26.6.2, "unrestricted guest" requires "enable EPT"); without unrestricted
 * guest, KVM emulates real-mode code itself, which is what firmware runs
 * first. AMD-V runs real mode in the guest with NPT. kvm_pvm (the PVM patch
 * set) virtualizes without VT-x/AMD-V: guest user code runs natively, guest
 * kernel code is emulated. Not checked: per-VM capabilities (asked on the
 * system fd), CPU feature MSRs, the outer hypervisor's own settings.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hostinfo.h"

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)

static const struct {
	const char *name;
	int cap;
} hostinfo_caps[HOSTINFO_NR_CAPS] = {
	[HOSTINFO_CAP_USER_MEMORY] = { "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY },
	[HOSTINFO_CAP_SET_TSS_ADDR] = { "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
	[HOSTINFO_CAP_SET_IDENTITY_MAP_ADDR] = { "KVM_CAP_SET_IDENTITY_MAP_ADDR",
						 KVM_CAP_SET_IDENTITY_MAP_ADDR },
	[HOSTINFO_CAP_EXT_CPUID] = { "KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID },
	[HOSTINFO_CAP_IRQCHIP] = { "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP },
	[HOSTINFO_CAP_IMMEDIATE_EXIT] = { "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
	[HOSTINFO_CAP_SET_GUEST_DEBUG] = { "KVM_CAP_SET_GUEST_DEBUG", KVM_CAP_SET_GUEST_DEBUG },
	[HOSTINFO_CAP_NR_MEMSLOTS] = { "KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS },
	[HOSTINFO_CAP_READONLY_MEM] = { "KVM_CAP_READONLY_MEM", KVM_CAP_READONLY_MEM },
	[HOSTINFO_CAP_TSC_DEADLINE_TIMER] = { "KVM_CAP_TSC_DEADLINE_TIMER",
					      KVM_CAP_TSC_DEADLINE_TIMER },
};

const char *hostinfo_cap_name(enum hostinfo_cap cap)
{
	return (unsigned)cap < HOSTINFO_NR_CAPS ? hostinfo_caps[cap].name : "?";
}

static void hostinfo_regs_str(char *out, unsigned a, unsigned b, unsigned c)
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = 0;
}

static void hostinfo_probe_cpu(struct hostinfo *hi)
{
	unsigned a, b, c, d;
	if (__get_cpuid(0, &a, &b, &c, &d))
		hostinfo_regs_str(hi->cpu_vendor, b, d, c);
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		hi->cpu_vmx = c & CPUID_1_ECX_VMX;
		hi->cpu_hypervisor = c & CPUID_1_ECX_HYPERVISOR;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		hi->cpu_svm = c & CPUID_80000001_ECX_SVM;
	if ((unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000004u) {
		uint32_t brand[12];
		for (unsigned i = 0; i < 3; i++)
			__cpuid(0x80000002 + i, brand[4 * i], brand[4 * i + 1], brand[4 * i + 2],
				brand[4 * i + 3]);
		memcpy(hi->cpu_model, brand, sizeof(brand));
		hi->cpu_model[48] = 0;
		size_t skip = strspn(hi->cpu_model, " ");
		memmove(hi->cpu_model, hi->cpu_model + skip, strlen(hi->cpu_model + skip) + 1);
	}
	/* Leaf 0x40000000 is only defined under a hypervisor; __get_cpuid would refuse it. */
	if (hi->cpu_hypervisor) {
		__cpuid(0x40000000, a, b, c, d);
		hostinfo_regs_str(hi->hypervisor_vendor, b, c, d);
	}
}

static void hostinfo_probe_kvm(struct hostinfo *hi, const char *kvm_dev)
{
	int fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		hi->kvm_errno = errno;
		/* ENOENT: no node; anything else (EACCES, ENXIO, ...) means the node is there. */
		hi->kvm_present = errno != ENOENT && errno != ENOTDIR;
		return;
	}
	hi->kvm_present = true;
	hi->kvm_open = true;
	hi->kvm_api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	for (unsigned i = 0; i < HOSTINFO_NR_CAPS; i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, hostinfo_caps[i].cap);
		hi->kvm_cap[i] = r < 0 ? -1 : r;
	}
	close(fd);
}

static bool hostinfo_module_loaded(const char *root, const char *module)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/module/%s", root, module);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Bool parameters read "Y"/"N"; older kvm_amd exposes npt/nested as integers. */
static enum hostinfo_tri hostinfo_param(const char *root, const char *module, const char *param)
{
	char path[512], buf[16];
	snprintf(path, sizeof(path), "%s/module/%s/parameters/%s", root, module, param);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return HOSTINFO_UNKNOWN;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return HOSTINFO_UNKNOWN;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!strcmp(buf, "Y") || !strcmp(buf, "y") || !strcmp(buf, "1"))
		return HOSTINFO_YES;
	if (!strcmp(buf, "N") || !strcmp(buf, "n") || !strcmp(buf, "0"))
		return HOSTINFO_NO;
	return HOSTINFO_UNKNOWN;
}

static void hostinfo_probe_sysfs(struct hostinfo *hi, const char *root)
{
	hi->mod_kvm = hostinfo_module_loaded(root, "kvm");
	hi->mod_kvm_intel = hostinfo_module_loaded(root, "kvm_intel");
	hi->mod_kvm_amd = hostinfo_module_loaded(root, "kvm_amd");
	hi->mod_kvm_pvm = hostinfo_module_loaded(root, "kvm_pvm");
	hi->intel_ept = hostinfo_param(root, "kvm_intel", "ept");
	hi->intel_unrestricted_guest = hostinfo_param(root, "kvm_intel", "unrestricted_guest");
	hi->intel_nested = hostinfo_param(root, "kvm_intel", "nested");
	hi->amd_npt = hostinfo_param(root, "kvm_amd", "npt");
	hi->amd_nested = hostinfo_param(root, "kvm_amd", "nested");
}

void hostinfo_probe(struct hostinfo *hi, const char *sysfs_root, const char *kvm_dev)
{
	memset(hi, 0, sizeof(*hi));
	hi->kvm_api_version = -1;
	for (unsigned i = 0; i < HOSTINFO_NR_CAPS; i++)
		hi->kvm_cap[i] = -1;
	hostinfo_probe_cpu(hi);
	hostinfo_probe_kvm(hi, kvm_dev ? kvm_dev : "/dev/kvm");
	hostinfo_probe_sysfs(hi, sysfs_root ? sysfs_root : "/sys");
}

/* Appends "; <note>" when the host itself runs under a hypervisor. */
static const char *hostinfo_nested_note(const struct hostinfo *hi)
{
	return hi->cpu_hypervisor ? "; this host is itself a virtual machine (CPUID hypervisor bit), "
				    "so VM exits also pass through the outer hypervisor"
				  : "";
}

const char *hostinfo_auto_engine(enum hostinfo_class c)
{
	return c == HOSTINFO_KVM_UNAVAILABLE || c == HOSTINFO_KVM_PVM ? "soft" : "kvm";
}

enum hostinfo_class hostinfo_verdict(const struct hostinfo *hi, char *text, size_t text_len)
{
	if (!hi->kvm_open) {
		const char *cpu = "";
		if (!hi->kvm_present && !hi->cpu_vmx && !hi->cpu_svm && !hi->mod_kvm_pvm)
			cpu = "; the host CPU exposes neither VT-x nor AMD-V";
		else if (!hi->kvm_present && (hi->cpu_vmx || hi->cpu_svm) && !hi->mod_kvm_intel &&
			 !hi->mod_kvm_amd)
			cpu = hi->cpu_vmx ? "; VT-x is present but kvm_intel is not loaded"
					  : "; AMD-V is present but kvm_amd is not loaded";
		snprintf(text, text_len, "kvm unavailable (/dev/kvm: %s%s); use --accel soft",
			 strerror(hi->kvm_errno ? hi->kvm_errno : ENOENT), cpu);
		return HOSTINFO_KVM_UNAVAILABLE;
	}
	if (hi->kvm_api_version != HOSTINFO_KVM_API_VERSION) {
		snprintf(text, text_len,
			 "kvm unavailable (KVM API version %d, x86v needs %d); use --accel soft",
			 hi->kvm_api_version, HOSTINFO_KVM_API_VERSION);
		return HOSTINFO_KVM_UNAVAILABLE;
	}
	if (hi->kvm_cap[HOSTINFO_CAP_USER_MEMORY] <= 0) {
		snprintf(text, text_len, "kvm unavailable (no KVM_CAP_USER_MEMORY); use --accel soft");
		return HOSTINFO_KVM_UNAVAILABLE;
	}
	int impls = hi->mod_kvm_intel + hi->mod_kvm_amd + hi->mod_kvm_pvm;
	if (impls > 1) {
		snprintf(text, text_len,
			 "kvm works; more than one implementation is loaded (%s%s%s), which one backs "
			 "/dev/kvm was not determined",
			 hi->mod_kvm_intel ? " kvm_intel" : "", hi->mod_kvm_amd ? " kvm_amd" : "",
			 hi->mod_kvm_pvm ? " kvm_pvm" : "");
		return HOSTINFO_KVM_UNDETERMINED;
	}
	if (hi->mod_kvm_pvm) {
		snprintf(text, text_len,
			 "kvm works but is backed by kvm_pvm, a software nested hypervisor: guest "
			 "CPL-3 code runs natively, CPL-0 code is emulated (slow); use --accel soft "
			 "for kernels");
		return HOSTINFO_KVM_PVM;
	}
	if (hi->mod_kvm_intel) {
		if (hi->intel_ept == HOSTINFO_YES && hi->intel_unrestricted_guest == HOSTINFO_YES) {
			snprintf(text, text_len,
				 "kvm engine runs at full speed (hardware VT-x with EPT and unrestricted "
				 "guest)%s",
				 hostinfo_nested_note(hi));
			return HOSTINFO_KVM_FULL;
		}
		if (hi->intel_ept == HOSTINFO_NO) {
			/* Unrestricted guest needs EPT, so real mode is emulated as well. */
			snprintf(text, text_len,
				 "kvm works on hardware VT-x without EPT: shadow paging makes "
				 "page-table-heavy guests slower, and without unrestricted guest KVM "
				 "emulates real-mode firmware (slower)%s",
				 hostinfo_nested_note(hi));
			return HOSTINFO_KVM_DEGRADED;
		}
		if (hi->intel_unrestricted_guest == HOSTINFO_NO) {
			snprintf(text, text_len,
				 "kvm works on hardware VT-x with EPT but without unrestricted guest: "
				 "KVM emulates real-mode firmware (slower); protected-mode kernels run "
				 "at full speed%s",
				 hostinfo_nested_note(hi));
			return HOSTINFO_KVM_DEGRADED;
		}
		snprintf(text, text_len,
			 "kvm works on hardware VT-x; kvm_intel ept/unrestricted_guest could not be "
			 "read, so its speed was not determined");
		return HOSTINFO_KVM_UNDETERMINED;
	}
	if (hi->mod_kvm_amd) {
		if (hi->amd_npt == HOSTINFO_YES) {
			snprintf(text, text_len,
				 "kvm engine runs at full speed (hardware AMD-V with NPT)%s",
				 hostinfo_nested_note(hi));
			return HOSTINFO_KVM_FULL;
		}
		if (hi->amd_npt == HOSTINFO_NO) {
			snprintf(text, text_len,
				 "kvm works on hardware AMD-V without NPT: shadow paging makes "
				 "page-table-heavy guests slower%s",
				 hostinfo_nested_note(hi));
			return HOSTINFO_KVM_DEGRADED;
		}
		snprintf(text, text_len,
			 "kvm works on hardware AMD-V; kvm_amd npt could not be read, so its speed was "
			 "not determined");
		return HOSTINFO_KVM_UNDETERMINED;
	}
	snprintf(text, text_len,
		 "kvm works; none of kvm_intel, kvm_amd, kvm_pvm is under /sys/module, so the "
		 "implementation behind /dev/kvm was not determined");
	return HOSTINFO_KVM_UNDETERMINED;
}

static const char *hostinfo_yn(bool v)
{
	return v ? "yes" : "no";
}

static const char *hostinfo_tri_str(enum hostinfo_tri t)
{
	return t == HOSTINFO_YES ? "Y" : t == HOSTINFO_NO ? "N" : "unknown (not readable)";
}

#define HOSTINFO_KEY "%-31s "

void hostinfo_print(const struct hostinfo *hi, FILE *out)
{
	fprintf(out, HOSTINFO_KEY "%s\n", "cpu vendor:", hi->cpu_vendor[0] ? hi->cpu_vendor : "unknown");
	fprintf(out, HOSTINFO_KEY "%s\n", "cpu model:", hi->cpu_model[0] ? hi->cpu_model : "unknown");
	fprintf(out, HOSTINFO_KEY "%s\n", "cpu vmx (VT-x):", hostinfo_yn(hi->cpu_vmx));
	fprintf(out, HOSTINFO_KEY "%s\n", "cpu svm (AMD-V):", hostinfo_yn(hi->cpu_svm));
	fprintf(out, HOSTINFO_KEY "%s\n", "cpu hypervisor bit:",
		hi->cpu_hypervisor ? "yes (this host is itself a virtual machine)" : "no");
	if (hi->cpu_hypervisor)
		fprintf(out, HOSTINFO_KEY "%s\n", "hypervisor signature:",
			hi->hypervisor_vendor[0] ? hi->hypervisor_vendor : "(empty)");

	fprintf(out, HOSTINFO_KEY "%s\n", "/dev/kvm:", hi->kvm_present ? "present" : "absent");
	if (hi->kvm_present)
		fprintf(out, HOSTINFO_KEY "%s%s%s\n", "/dev/kvm read-write:", hi->kvm_open ? "yes" : "no (",
			hi->kvm_open ? "" : strerror(hi->kvm_errno), hi->kvm_open ? "" : ")");
	if (hi->kvm_open) {
		fprintf(out, HOSTINFO_KEY "%d%s\n", "kvm api version:", hi->kvm_api_version,
			hi->kvm_api_version == HOSTINFO_KVM_API_VERSION ? "" : " (x86v needs 12)");
		for (unsigned i = 0; i < HOSTINFO_NR_CAPS; i++) {
			char key[48];
			snprintf(key, sizeof(key), "%s:", hostinfo_caps[i].name);
			if (hi->kvm_cap[i] < 0)
				fprintf(out, HOSTINFO_KEY "unknown (KVM_CHECK_EXTENSION failed)\n", key);
			else if (i == HOSTINFO_CAP_NR_MEMSLOTS)
				fprintf(out, HOSTINFO_KEY "%d\n", key, hi->kvm_cap[i]);
			else
				fprintf(out, HOSTINFO_KEY "%s\n", key, hostinfo_yn(hi->kvm_cap[i] > 0));
		}
	}

	static const char *const mods[] = { "kvm", "kvm_intel", "kvm_amd", "kvm_pvm" };
	const bool loaded[] = { hi->mod_kvm, hi->mod_kvm_intel, hi->mod_kvm_amd, hi->mod_kvm_pvm };
	for (unsigned i = 0; i < 4; i++) {
		char key[48];
		snprintf(key, sizeof(key), "module %s:", mods[i]);
		fprintf(out, HOSTINFO_KEY "%s\n", key, loaded[i] ? "loaded" : "not loaded");
	}
	if (hi->mod_kvm_intel) {
		fprintf(out, HOSTINFO_KEY "%s\n", "kvm_intel.ept:", hostinfo_tri_str(hi->intel_ept));
		fprintf(out, HOSTINFO_KEY "%s\n", "kvm_intel.unrestricted_guest:",
			hostinfo_tri_str(hi->intel_unrestricted_guest));
		fprintf(out, HOSTINFO_KEY "%s\n", "kvm_intel.nested:", hostinfo_tri_str(hi->intel_nested));
	}
	if (hi->mod_kvm_amd) {
		fprintf(out, HOSTINFO_KEY "%s\n", "kvm_amd.npt:", hostinfo_tri_str(hi->amd_npt));
		fprintf(out, HOSTINFO_KEY "%s\n", "kvm_amd.nested:", hostinfo_tri_str(hi->amd_nested));
	}

	char verdict[512];
	hostinfo_verdict(hi, verdict, sizeof(verdict));
	fprintf(out, "verdict: %s\n", verdict);
}

int hostinfo_report(FILE *out)
{
	struct hostinfo hi;
	hostinfo_probe(&hi, NULL, NULL);
	hostinfo_print(&hi, out);
	return 0;
}
