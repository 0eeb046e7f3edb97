/* SPDX-License-Identifier: MIT */
/*
 * The `x86v info` verdict for made-up hosts (VT-x with and without EPT and
 * unrestricted guest, AMD-V with and without NPT, PVM, no KVM), sysfs
 * parsing against a fake tree, and the report on this host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/hostinfo.h"

/* A host where /dev/kvm opens and answers like a modern kernel; the cases then vary it. */
static struct hostinfo working_kvm(void)
{
	struct hostinfo hi;
	memset(&hi, 0, sizeof(hi));
	strcpy(hi.cpu_vendor, "GenuineIntel");
	hi.kvm_present = hi.kvm_open = true;
	hi.kvm_api_version = 12;
	for (unsigned i = 0; i < HOSTINFO_NR_CAPS; i++)
		hi.kvm_cap[i] = 1;
	hi.kvm_cap[HOSTINFO_CAP_NR_MEMSLOTS] = 32764;
	hi.mod_kvm = true;
	hi.intel_ept = hi.intel_unrestricted_guest = hi.intel_nested = HOSTINFO_UNKNOWN;
	hi.amd_npt = hi.amd_nested = HOSTINFO_UNKNOWN;
	return hi;
}

static enum hostinfo_class verdict(const struct hostinfo *hi, char *text)
{
	return hostinfo_verdict(hi, text, 512);
}

static void test_vmx_full(void)
{
	struct hostinfo hi = working_kvm();
	hi.cpu_vmx = true;
	hi.mod_kvm_intel = true;
	hi.intel_ept = hi.intel_unrestricted_guest = HOSTINFO_YES;
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_FULL);
	CHECK_STR(t, "kvm engine runs at full speed (hardware VT-x with EPT and unrestricted guest)");
	CHECK_STR(hostinfo_auto_engine(HOSTINFO_KVM_FULL), "kvm");
	hi.cpu_hypervisor = true;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_FULL);
	CHECK(strstr(t, "itself a virtual machine") != NULL);
}

static void test_vmx_degraded(void)
{
	struct hostinfo hi = working_kvm();
	hi.cpu_vmx = true;
	hi.mod_kvm_intel = true;
	hi.intel_ept = HOSTINFO_YES;
	hi.intel_unrestricted_guest = HOSTINFO_NO;
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_DEGRADED);
	CHECK(strstr(t, "without unrestricted guest") && strstr(t, "real-mode firmware"));
	CHECK_STR(hostinfo_auto_engine(HOSTINFO_KVM_DEGRADED), "kvm"); /* still native, just slower */
	hi.intel_ept = HOSTINFO_NO;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_DEGRADED);
	CHECK(strstr(t, "without EPT") != NULL);
	hi.intel_ept = HOSTINFO_UNKNOWN;
	hi.intel_unrestricted_guest = HOSTINFO_UNKNOWN;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNDETERMINED);
	CHECK(strstr(t, "not determined") != NULL);
}

static void test_svm(void)
{
	struct hostinfo hi = working_kvm();
	strcpy(hi.cpu_vendor, "AuthenticAMD");
	hi.cpu_svm = true;
	hi.mod_kvm_amd = true;
	hi.amd_npt = HOSTINFO_YES;
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_FULL);
	CHECK_STR(t, "kvm engine runs at full speed (hardware AMD-V with NPT)");
	hi.amd_npt = HOSTINFO_NO;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_DEGRADED);
	CHECK(strstr(t, "without NPT") != NULL);
	hi.amd_npt = HOSTINFO_UNKNOWN;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNDETERMINED);
}

static void test_pvm(void)
{
	struct hostinfo hi = working_kvm();
	hi.cpu_hypervisor = true;
	hi.mod_kvm_pvm = true;
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_PVM);
	CHECK_STR(t, "kvm works but is backed by kvm_pvm, a software nested hypervisor: guest CPL-3 "
		     "code runs natively, CPL-0 code is emulated (slow); use --accel soft for kernels");
	CHECK_STR(hostinfo_auto_engine(HOSTINFO_KVM_PVM), "soft");
	/* Two implementations at once: no guess about which one serves /dev/kvm. */
	hi.mod_kvm_intel = true;
	hi.intel_ept = hi.intel_unrestricted_guest = HOSTINFO_YES;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNDETERMINED);
	CHECK(strstr(t, "kvm_intel") && strstr(t, "kvm_pvm"));
}

static void test_no_kvm(void)
{
	struct hostinfo hi = working_kvm();
	hi.kvm_present = hi.kvm_open = false;
	hi.kvm_errno = ENOENT;
	hi.kvm_api_version = -1;
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);
	CHECK_STR(hostinfo_auto_engine(HOSTINFO_KVM_UNAVAILABLE), "soft");
	CHECK_STR(t, "kvm unavailable (/dev/kvm: No such file or directory; the host CPU exposes "
		     "neither VT-x nor AMD-V); use --accel soft");
	hi.cpu_vmx = true;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);
	CHECK(strstr(t, "VT-x is present but kvm_intel is not loaded") != NULL);

	hi.kvm_present = true;
	hi.kvm_errno = EACCES;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);
	CHECK_STR(t, "kvm unavailable (/dev/kvm: Permission denied); use --accel soft");

	hi = working_kvm();
	hi.mod_kvm_intel = true;
	hi.kvm_api_version = 11;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);
	CHECK(strstr(t, "KVM API version 11, x86v needs 12") != NULL);
	hi.kvm_api_version = 12;
	hi.kvm_cap[HOSTINFO_CAP_USER_MEMORY] = 0;
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);
	CHECK(strstr(t, "KVM_CAP_USER_MEMORY") != NULL);

	hi = working_kvm(); /* works, but nothing under /sys/module names it */
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNDETERMINED);
}

static void write_param(const char *root, const char *module, const char *param, const char *v)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/module", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/module/%s", root, module);
	mkdir(path, 0700);
	if (!param)
		return;
	snprintf(path, sizeof(path), "%s/module/%s/parameters", root, module);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/module/%s/parameters/%s", root, module, param);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

static void remove_tree(const char *root)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

static void test_probe_fake_sysfs(void)
{
	char root[] = "/tmp/x86v-sysfs-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	write_param(root, "kvm", NULL, NULL);
	write_param(root, "kvm_intel", "ept", "Y\n");
	write_param(root, "kvm_intel", "unrestricted_guest", "N\n");
	write_param(root, "kvm_intel", "nested", "1\n");
	write_param(root, "kvm_amd", "npt", "0\n");
	write_param(root, "kvm_amd", "nested", "garbage\n");
	struct hostinfo hi;
	hostinfo_probe(&hi, root, "/nonexistent/kvm");
	CHECK(hi.mod_kvm && hi.mod_kvm_intel && hi.mod_kvm_amd && !hi.mod_kvm_pvm);
	CHECK_EQ(hi.intel_ept, HOSTINFO_YES);
	CHECK_EQ(hi.intel_unrestricted_guest, HOSTINFO_NO);
	CHECK_EQ(hi.intel_nested, HOSTINFO_YES);
	CHECK_EQ(hi.amd_npt, HOSTINFO_NO);
	CHECK_EQ(hi.amd_nested, HOSTINFO_UNKNOWN);
	CHECK(!hi.kvm_present && !hi.kvm_open);
	CHECK_EQ(hi.kvm_errno, ENOENT);
	CHECK_EQ(hi.kvm_api_version, -1);
	CHECK_EQ(hi.kvm_cap[HOSTINFO_CAP_USER_MEMORY], -1);
	CHECK(hi.cpu_vendor[0] != 0); /* CPUID leaf 0 always answers on x86 */
	char t[512];
	CHECK_EQ(verdict(&hi, t), HOSTINFO_KVM_UNAVAILABLE);

	/* A node that is not a KVM device: present, not usable. */
	char node[600];
	snprintf(node, sizeof(node), "%s/kvm", root);
	mkdir(node, 0700);
	hostinfo_probe(&hi, root, node);
	CHECK(hi.kvm_present && !hi.kvm_open);
	CHECK_EQ(hi.kvm_errno, EISDIR);
	remove_tree(root);

	/* An empty tree: nothing loaded, every parameter unknown. */
	hostinfo_probe(&hi, "/nonexistent", "/nonexistent/kvm");
	CHECK(!hi.mod_kvm && !hi.mod_kvm_intel && !hi.mod_kvm_amd && !hi.mod_kvm_pvm);
	CHECK_EQ(hi.intel_ept, HOSTINFO_UNKNOWN);
}

static void test_print(void)
{
	struct hostinfo hi = working_kvm();
	hi.mod_kvm_intel = true;
	hi.intel_ept = HOSTINFO_YES;
	hi.intel_unrestricted_guest = HOSTINFO_NO;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	hostinfo_print(&hi, f);
	fclose(f);
	CHECK(strstr(buf, "cpu vendor:") && strstr(buf, "GenuineIntel"));
	CHECK(strstr(buf, "kvm api version:                12\n") != NULL);
	CHECK(strstr(buf, "KVM_CAP_NR_MEMSLOTS:            32764\n") != NULL);
	CHECK(strstr(buf, "KVM_CAP_TSC_DEADLINE_TIMER:     yes\n") != NULL);
	CHECK(strstr(buf, "kvm_intel.unrestricted_guest:   N\n") != NULL);
	CHECK(strstr(buf, "module kvm_pvm:                 not loaded\n") != NULL);
	CHECK(strstr(buf, "kvm_amd.npt") == NULL);
	const char *v = strstr(buf, "\nverdict: kvm works on hardware VT-x with EPT but without");
	CHECK(v != NULL);
	if (v)
		CHECK(strchr(v + 1, '\n') == buf + len - 1); /* the verdict is the last line */
	free(buf);
}

static void test_report_this_host(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	CHECK_EQ(hostinfo_report(f), 0);
	fclose(f);
	CHECK(strncmp(buf, "cpu vendor:", 11) == 0);
	CHECK(strstr(buf, "\nverdict: ") != NULL);
	CHECK(strstr(buf, "/dev/kvm:") != NULL);
	free(buf);
}

CHECK_MAIN(TEST_CASE(test_vmx_full), TEST_CASE(test_vmx_degraded), TEST_CASE(test_svm),
	   TEST_CASE(test_pvm), TEST_CASE(test_no_kvm), TEST_CASE(test_probe_fake_sysfs),
	   TEST_CASE(test_print), TEST_CASE(test_report_this_host))
