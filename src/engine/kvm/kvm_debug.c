/* SPDX-License-Identifier: MIT */
/*
 * Guest debugging on KVM (api.rst: KVM_SET_GUEST_DEBUG, KVM_EXIT_DEBUG).
 *
 * Software breakpoints: KVM_GUESTDBG_USE_SW_BP makes the guest's #BP exit to
 * us, and the INT3 bytes are ours to write: they are patched into guest RAM
 * when the vCPU resumes and taken out again whenever the debugger gets
 * control (set_debug with enabled = false), so the debugger never reads them
 * back. Hardware breakpoints and watchpoints go to DR0..DR3/DR7
 * (KVM_GUESTDBG_USE_HW_BP); single-step is KVM_GUESTDBG_SINGLESTEP.
 *
 * Everything here runs on the vCPU thread (KVM wants vCPU ioctls there).
 * Not implemented: handing a guest's own INT3 back to it while software
 * breakpoints are active (it is reported as a stop instead).
 */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "cpu/x86_translate.h"
#include "engine/kvm/kvm_internal.h"

#define DR6_BS (1ULL << 14)

static void unpatch(struct vcpu *v)
{
	struct guest_ram *ram = v->eng->host.ram;
	for (unsigned i = 0; i < v->n_patched; i++) {
		uint8_t *p = ram_ptr_rw(ram, v->patched[i].gpa, 1);
		if (p && *p == 0xcc)
			*p = v->patched[i].orig;
	}
	v->n_patched = 0;
}

static void patch(struct vcpu *v, const struct engine_debug *d, const struct x86_cpu_state *s)
{
	struct guest_ram *ram = v->eng->host.ram;
	for (unsigned i = 0; i < d->n_sw && v->n_patched < ENGINE_MAX_SW_BP; i++) {
		uint64_t gpa;
		uint8_t *p;
		if (x86_translate(s, ram, d->sw_bp[i], &gpa) < 0 || !(p = ram_ptr_rw(ram, gpa, 1))) {
			log_warn("gdb: breakpoint at %#llx is not in writable RAM; ignored",
				 (unsigned long long)d->sw_bp[i]);
			continue;
		}
		bool dup = false;
		for (unsigned k = 0; k < v->n_patched; k++)
			dup |= v->patched[k].gpa == gpa;
		if (dup)
			continue;
		v->patched[v->n_patched].gpa = gpa;
		v->patched[v->n_patched].orig = *p;
		v->n_patched++;
		*p = 0xcc;
	}
}

/* DR7 R/W and LEN encodings (SDM Vol. 3B §17.2.4). */
static uint64_t dr7_bits(const struct engine_hw_bp *b, unsigned i)
{
	unsigned rw = b->type == ENGINE_HW_EXEC ? 0 : b->type == ENGINE_HW_WRITE ? 1 : 3;
	unsigned len = b->type == ENGINE_HW_EXEC ? 0 : b->len == 1 ? 0 : b->len == 2 ? 1 : b->len == 8 ? 2 : 3;
	return (1ULL << (2 * i)) | ((uint64_t)rw << (16 + 4 * i)) | ((uint64_t)len << (18 + 4 * i));
}

int kvmeng_set_debug(struct vcpu *v, const struct engine_debug *d)
{
	struct kvm_guest_debug g;
	memset(&g, 0, sizeof(g));
	unpatch(v);
	if (d->enabled) {
		g.control = KVM_GUESTDBG_ENABLE;
		if (d->single_step)
			g.control |= KVM_GUESTDBG_SINGLESTEP;
		if (d->n_sw) {
			struct x86_cpu_state s;
			int r = kvmeng_get_state(v, &s);
			if (r < 0)
				return r;
			patch(v, d, &s);
			g.control |= KVM_GUESTDBG_USE_SW_BP;
		}
		uint64_t dr7 = 0;
		for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++) {
			if (!d->hw[i].enabled)
				continue;
			g.arch.debugreg[i] = d->hw[i].addr;
			dr7 |= dr7_bits(&d->hw[i], i);
		}
		if (dr7) {
			g.control |= KVM_GUESTDBG_USE_HW_BP;
			g.arch.debugreg[7] = dr7 | 0x600; /* GE (as QEMU sets it) and the always-one bit 10 */
		}
	}
	int r = kvmeng_ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g);
	if (r < 0) {
		unpatch(v);
		return r;
	}
	v->dbg = *d;
	return 0;
}

bool kvmeng_debug_exit(struct vcpu *v, struct vcpu_exit *exit)
{
	const struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	exit->reason = VCPU_EXIT_DEBUG;
	exit->debug_pc = a->pc;
	exit->debug_watch = -1;
	exit->debug_watch_addr = 0;
	snprintf(exit->detail, sizeof(exit->detail), "debug exit: exception %u dr6 %#llx", a->exception,
		 (unsigned long long)a->dr6);
	if (a->exception == 1 && !(a->dr6 & DR6_BS)) {
		for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++) {
			const struct engine_hw_bp *b = &v->dbg.hw[i];
			if ((a->dr6 & (1ULL << i)) && b->enabled && b->type != ENGINE_HW_EXEC) {
				exit->debug_watch = (int)i;
				exit->debug_watch_addr = b->addr;
			}
		}
	}
	return true;
}
