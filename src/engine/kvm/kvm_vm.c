/* SPDX-License-Identifier: MIT */
/*
 * KVM engine, VM-wide part: /dev/kvm checks, VM creation, the fixed
 * addresses real mode needs, memory slots, CPUID and MSR lists, IRQ lines.
 *
 * Interrupt controllers: by default (--irqchip user) the machine's user-space
 * models; interrupt line levels are only recorded here, vectors are injected
 * with KVM_INTERRUPT (kvm_vcpu.c), and HLT exits to the machine (KVM_EXIT_HLT),
 * which is what lets x86v report a guest that halts forever. With
 * --irqchip kernel KVM's own PIC/IOAPIC/LAPIC/PIT serve (kvm_irqchip.c),
 * interrupt lines become KVM_IRQ_LINE and MSI-X vectors eventfds bound with
 * KVM_IRQFD (or KVM_SIGNAL_MSI where that cannot be).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "engine/kvm/kvm_internal.h"

int kvmeng_ioctl(int fd, unsigned long request, void *arg)
{
	int r;
	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static int open_kvm(char *why, size_t why_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int e = errno;
	if (e == ENOENT)
		snprintf(why, why_len, "/dev/kvm does not exist: KVM is not available on this host "
				       "(load kvm_intel or kvm_amd, or use --accel soft)");
	else if (e == EACCES || e == EPERM)
		snprintf(why, why_len, "/dev/kvm: permission denied (join the kvm group, or use --accel soft)");
	else
		snprintf(why, why_len, "/dev/kvm: %s", strerror(e));
	return -e;
}

static int load_msr_list(struct engine *eng)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	int r = ioctl(eng->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	if (r < 0 && errno != E2BIG)
		return -errno;
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	r = kvmeng_ioctl(eng->kvm_fd, KVM_GET_MSR_INDEX_LIST, list);
	if (r < 0) {
		free(list);
		return r;
	}
	eng->msr_list = malloc(list->nmsrs * sizeof(uint32_t) + 1);
	if (!eng->msr_list) {
		free(list);
		return -ENOMEM;
	}
	memcpy(eng->msr_list, list->indices, list->nmsrs * sizeof(uint32_t));
	eng->msr_count = list->nmsrs;
	free(list);
	return 0;
}

bool kvmeng_msr_supported(const struct engine *eng, uint32_t msr)
{
	for (uint32_t i = 0; i < eng->msr_count; i++)
		if (eng->msr_list[i] == msr)
			return true;
	return false;
}

static int map_slots(struct engine *eng, char *why, size_t why_len)
{
	const struct guest_ram *ram = eng->host.ram;
	for (unsigned i = 0; i < ram->nslots; i++) {
		const struct mem_slot *s = &ram->slots[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = s->base,
			.memory_size = s->size,
			.userspace_addr = (uintptr_t)s->host,
		};
		/* Without read-only slots a ROM is plain memory: the guest could
		 * modify its copy, which only hurts itself. */
		if (s->readonly && eng->readonly_mem)
			region.flags = KVM_MEM_READONLY;
		int r = kvmeng_ioctl(eng->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		if (r < 0) {
			snprintf(why, why_len, "KVM_SET_USER_MEMORY_REGION (%s at 0x%llx): %s", s->name,
				 (unsigned long long)s->base, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void kvmeng_destroy(struct engine *eng)
{
	if (!eng)
		return;
	if (eng->vm_fd >= 0)
		close(eng->vm_fd);
	if (eng->kvm_fd >= 0)
		close(eng->kvm_fd);
	free(eng->cpuid);
	free(eng->msr_list);
	pthread_mutex_destroy(&eng->route_lock);
	free(eng);
}

static int kvmeng_create(const struct engine_host *host, struct engine **out, char *why, size_t why_len)
{
	struct engine *eng = calloc(1, sizeof(*eng));
	if (!eng) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	eng->host = *host;
	eng->vm_fd = -1;
	pthread_mutex_init(&eng->route_lock, NULL);
	eng->kvm_fd = open_kvm(why, why_len);
	int r = eng->kvm_fd;
	if (r < 0)
		goto fail;

	r = ioctl(eng->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(why, why_len, "/dev/kvm speaks API version %d, x86v needs %d", r, KVM_API_VERSION);
		r = -ENOTSUP;
		goto fail;
	}
	if (ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
	    ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID) <= 0) {
		snprintf(why, why_len, "/dev/kvm lacks a capability x86v needs (user memory, immediate exit, "
				       "extended CPUID); see x86v info");
		r = -ENOTSUP;
		goto fail;
	}
	eng->readonly_mem = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	eng->has_xcrs = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	eng->has_debugregs = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
	eng->has_vcpu_events = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0;

	eng->vcpu_mmap_size = ioctl(eng->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (eng->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		snprintf(why, why_len, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		r = -ENOTSUP;
		goto fail;
	}

	r = kvmeng_ioctl(eng->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0) {
		snprintf(why, why_len, "KVM_CREATE_VM: %s", strerror(-r));
		goto fail;
	}
	eng->vm_fd = r;

	/* Both must precede vCPU creation (api.rst, KVM_SET_IDENTITY_MAP_ADDR). */
	uint64_t ident = KVMENG_IDENTITY_MAP_ADDR;
	if (ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    (r = kvmeng_ioctl(eng->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident)) < 0) {
		snprintf(why, why_len, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-r));
		goto fail;
	}
	r = ioctl(eng->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVMENG_TSS_ADDR);
	if (r < 0) {
		r = -errno;
		snprintf(why, why_len, "KVM_SET_TSS_ADDR: %s", strerror(-r));
		goto fail;
	}

	/* Before any vCPU (so each gets a local APIC) and before the CPUID, which
	 * shows the APIC only when there is one. */
	if (host->irqchip_kernel && (r = kvmeng_irqchip_create(eng, why, why_len)) < 0)
		goto fail;
	r = map_slots(eng, why, why_len);
	if (r < 0)
		goto fail;
	r = load_msr_list(eng);
	if (r < 0) {
		snprintf(why, why_len, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
		goto fail;
	}
	r = kvmeng_cpuid_init(eng, why, why_len);
	if (r < 0)
		goto fail;
	r = kvmeng_xsave_init(eng);
	if (r < 0) {
		snprintf(why, why_len, "XSAVE state: %s", strerror(-r));
		goto fail;
	}
	*out = eng;
	return 0;
fail:
	kvmeng_destroy(eng);
	return r;
}

static int kvmeng_set_irq(struct engine *eng, unsigned gsi, int level)
{
	/* Only the in-kernel controllers have lines to drive; with user-space
	 * ones the machine never calls this. */
	if (!eng->irqchip_kernel)
		return -ENODEV;
	return kvmeng_irqchip_set_gsi(eng, gsi, level);
}

static int kvmeng_send_msi(struct engine *eng, uint64_t addr, uint32_t data)
{
	if (!eng->irqchip_kernel)
		return -ENODEV;
	return kvmeng_irqchip_send_msi(eng, addr, data);
}

static int kvmeng_ioeventfd(struct engine *eng, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd,
				    .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };
	int r = kvmeng_ioctl(eng->vm_fd, KVM_IOEVENTFD, &io);
	return r < 0 ? r : 0;
}

static bool kvmeng_has_irqchip(const struct engine *eng)
{
	return eng->irqchip_kernel;
}

static int kvmeng_platform_reset(struct vcpu *vcpu)
{
	return vcpu->eng->irqchip_kernel ? kvmeng_irqchip_reset(vcpu) : 0;
}

const struct engine_ops kvm_engine_ops = {
	.name = "kvm",
	.create = kvmeng_create,
	.destroy = kvmeng_destroy,
	.vcpu_create = kvmeng_vcpu_create,
	.vcpu_destroy = kvmeng_vcpu_destroy,
	.run = kvmeng_run,
	.kick = kvmeng_kick,
	.get_state = kvmeng_get_state,
	.set_state = kvmeng_set_state,
	.set_irq = kvmeng_set_irq,
	.send_msi = kvmeng_send_msi,
	.msi_irqfd = kvmeng_irqchip_msi_irqfd,
	.ioeventfd = kvmeng_ioeventfd,
	.has_irqchip = kvmeng_has_irqchip,
	.platform_reset = kvmeng_platform_reset,
	.save_platform = kvmeng_save_platform,
	.load_platform = kvmeng_load_platform,
	.set_intr = kvmeng_set_intr,
	.inject_nmi = kvmeng_inject_nmi,
	.set_debug = kvmeng_set_debug,
};
