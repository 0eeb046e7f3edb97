/* SPDX-License-Identifier: MIT */
/*
 * Moves the architectural state between cpu/x86_state.h and KVM's register
 * structs (kvm_regs, kvm_sregs, the XSAVE area or kvm_fpu, MSRs, XCRs, debug
 * registers, vCPU events), in the order api.rst requires: special registers
 * before MSRs so EFER and CR bits are in place when MSR writes are checked.
 *
 * x87/SSE/AVX/PKRU state goes through KVM_GET/SET_XSAVE (standard format:
 * the FXSAVE image in bytes 0..511, the XSAVE header at 512, each further
 * component at the offset CPUID.(EAX=0DH,ECX=i).EBX gives) when KVM has
 * KVM_CAP_XSAVE, else KVM_GET/SET_FPU (x87/SSE only). set_state leaves the
 * other components as KVM has them; kvm_platform.c carries those (AVX-512 and
 * the like) in snapshots.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/kvm/kvm_internal.h"

static void seg_to_kvm(const struct x86_segment *g, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = g->base;
	k->limit = g->limit;
	k->selector = g->selector;
	k->type = g->attr & SEG_ATTR_TYPE;
	k->s = !!(g->attr & SEG_ATTR_S);
	k->dpl = (g->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	k->present = !!(g->attr & SEG_ATTR_P);
	k->avl = !!(g->attr & SEG_ATTR_AVL);
	k->l = !!(g->attr & SEG_ATTR_L);
	k->db = !!(g->attr & SEG_ATTR_DB);
	k->g = !!(g->attr & SEG_ATTR_G);
	k->unusable = !!(g->attr & SEG_ATTR_UNUSABLE);
}

static void seg_from_kvm(const struct kvm_segment *k, struct x86_segment *g)
{
	g->base = k->base;
	g->limit = k->limit;
	g->selector = k->selector;
	g->attr = (k->type & SEG_ATTR_TYPE) | (k->s ? SEG_ATTR_S : 0) |
		  ((uint32_t)(k->dpl & 3) << SEG_ATTR_DPL_SHIFT) | (k->present ? SEG_ATTR_P : 0) |
		  (k->avl ? SEG_ATTR_AVL : 0) | (k->l ? SEG_ATTR_L : 0) | (k->db ? SEG_ATTR_DB : 0) |
		  (k->g ? SEG_ATTR_G : 0) | (k->unusable ? SEG_ATTR_UNUSABLE : 0);
}

/* Index order of kvm_sregs' segment fields matches enum x86_sreg via this table. */
static struct kvm_segment *sreg_field(struct kvm_sregs *sr, int i)
{
	switch (i) {
	case X86_ES: return &sr->es;
	case X86_CS: return &sr->cs;
	case X86_SS: return &sr->ss;
	case X86_DS: return &sr->ds;
	case X86_FS: return &sr->fs;
	default: return &sr->gs;
	}
}

struct msr_field {
	uint32_t index;
	size_t offset; /* into struct x86_msrs */
};

static const struct msr_field msr_fields[] = {
	{ MSR_STAR, offsetof(struct x86_msrs, star) },
	{ MSR_LSTAR, offsetof(struct x86_msrs, lstar) },
	{ MSR_CSTAR, offsetof(struct x86_msrs, cstar) },
	{ MSR_SFMASK, offsetof(struct x86_msrs, sfmask) },
	{ MSR_KERNEL_GS_BASE, offsetof(struct x86_msrs, kernel_gs_base) },
	{ MSR_IA32_SYSENTER_CS, offsetof(struct x86_msrs, sysenter_cs) },
	{ MSR_IA32_SYSENTER_ESP, offsetof(struct x86_msrs, sysenter_esp) },
	{ MSR_IA32_SYSENTER_EIP, offsetof(struct x86_msrs, sysenter_eip) },
	{ MSR_IA32_TSC, offsetof(struct x86_msrs, tsc) },
	{ MSR_TSC_AUX, offsetof(struct x86_msrs, tsc_aux) },
	{ MSR_IA32_PAT, offsetof(struct x86_msrs, pat) },
	{ MSR_IA32_MISC_ENABLE, offsetof(struct x86_msrs, misc_enable) },
};

#define NR_MSR_FIELDS (sizeof(msr_fields) / sizeof(msr_fields[0]))

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entries[NR_MSR_FIELDS];
};

/* Fills buf with the MSRs KVM supports; returns how many, and which fields in map. */
static unsigned msr_prepare(const struct engine *eng, struct msr_buf *buf, const struct x86_msrs *m,
			    const struct msr_field **map)
{
	unsigned n = 0;
	memset(buf, 0, sizeof(*buf));
	for (unsigned i = 0; i < NR_MSR_FIELDS; i++) {
		if (!kvmeng_msr_supported(eng, msr_fields[i].index))
			continue;
		buf->entries[n].index = msr_fields[i].index;
		if (m)
			memcpy(&buf->entries[n].data, (const uint8_t *)m + msr_fields[i].offset, 8);
		map[n++] = &msr_fields[i];
	}
	buf->hdr.nmsrs = n;
	return n;
}

/* ---- the XSAVE area ---- */

#define XSAVE_FXSAVE_ST 32
#define XSAVE_FXSAVE_XMM 160
#define XSAVE_HEADER 512 /* XSTATE_BV (u64), XCOMP_BV (u64), reserved */
#define XSAVE_AVX_SIZE 256
#define XSAVE_PKRU_SIZE 4

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

int kvmeng_xsave_init(struct engine *eng)
{
	eng->has_xsave = ioctl(eng->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	/* Asked of the VM: the size covers the components this VM may use. */
	int size = ioctl(eng->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	eng->has_xsave2 = size > 0;
	eng->xsave_size = size > (int)sizeof(struct kvm_xsave) ? (uint32_t)size : (uint32_t)sizeof(struct kvm_xsave);
	eng->xcr0_supported = KVMENG_XCR0_X87 | KVMENG_XCR0_SSE;
	eng->xsave_avx_offset = eng->xsave_pkru_offset = 0;
	for (unsigned i = 0; i < eng->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &eng->cpuid->entries[i];
		if (e->function != 0xd)
			continue;
		if (e->index == 0)
			eng->xcr0_supported = e->eax | (uint64_t)e->edx << 32;
		else if (e->index == 2)
			eng->xsave_avx_offset = e->ebx;
		else if (e->index == 9)
			eng->xsave_pkru_offset = e->ebx;
	}
	/* A component whose part would not fit the area is left alone (never seen). */
	if (eng->xsave_avx_offset < XSAVE_HEADER + 64 || eng->xsave_avx_offset + XSAVE_AVX_SIZE > eng->xsave_size)
		eng->xcr0_supported &= ~KVMENG_XCR0_AVX;
	if (eng->xsave_pkru_offset < XSAVE_HEADER + 64 || eng->xsave_pkru_offset + XSAVE_PKRU_SIZE > eng->xsave_size)
		eng->xcr0_supported &= ~KVMENG_XCR0_PKRU;
	return 0;
}

int kvmeng_xsave_get(struct vcpu *vcpu)
{
	const struct engine *eng = vcpu->eng;
	if (!vcpu->xsave && !(vcpu->xsave = calloc(1, eng->xsave_size)))
		return -ENOMEM;
	int r = kvmeng_ioctl(vcpu->fd, eng->has_xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, vcpu->xsave);
	return r < 0 ? r : 0;
}

int kvmeng_get_xcr0(struct vcpu *vcpu, uint64_t *xcr0)
{
	*xcr0 = 1;
	if (!vcpu->eng->has_xcrs)
		return 0;
	struct kvm_xcrs xcrs;
	int r = kvmeng_ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (xcrs.xcrs[i].xcr == 0)
			*xcr0 = xcrs.xcrs[i].value;
	return 0;
}

/* The x87/SSE/AVX/PKRU parts of a standard-format XSAVE area; a component
 * XSTATE_BV marks as in its initial state reads as that. */
static void fpu_from_xsave(const struct engine *eng, const uint8_t *x, struct x86_fpu_state *f)
{
	uint64_t bv = get64(x + XSAVE_HEADER);
	if (bv & KVMENG_XCR0_X87) {
		f->fcw = get16(x);
		f->fsw = get16(x + 2);
		f->ftw = x[4];
		f->fop = get16(x + 6);
		f->fip = get64(x + 8);
		f->fdp = get64(x + 16);
		/* Stack order (ST0 first); x86_state keeps physical registers. */
		unsigned top = (f->fsw >> 11) & 7;
		for (unsigned i = 0; i < 8; i++)
			memcpy(f->st[(top + i) & 7], x + XSAVE_FXSAVE_ST + 16 * i, 16);
	} else {
		f->fcw = 0x37f;
	}
	f->mxcsr = get32(x + 24);
	if (bv & KVMENG_XCR0_SSE)
		memcpy(f->xmm, x + XSAVE_FXSAVE_XMM, sizeof(f->xmm));
	if ((eng->xcr0_supported & KVMENG_XCR0_AVX) && (bv & KVMENG_XCR0_AVX))
		memcpy(f->ymm_hi, x + eng->xsave_avx_offset, sizeof(f->ymm_hi));
	if ((eng->xcr0_supported & KVMENG_XCR0_PKRU) && (bv & KVMENG_XCR0_PKRU))
		f->pkru = get32(x + eng->xsave_pkru_offset);
}

/* Writes f over the area KVM returned; the components f does not hold stay as
 * they are (a debugger's register write must not wipe a guest's AVX-512
 * registers; a snapshot's carry them in kvm_platform.c's record). */
static void fpu_to_xsave(const struct engine *eng, const struct x86_fpu_state *f, uint8_t *x)
{
	put16(x, f->fcw);
	put16(x + 2, f->fsw);
	x[4] = f->ftw;
	x[5] = 0;
	put16(x + 6, f->fop);
	put64(x + 8, f->fip);
	put64(x + 16, f->fdp);
	put32(x + 24, f->mxcsr); /* MXCSR_MASK at 28 stays as KVM gave it */
	unsigned top = (f->fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++)
		memcpy(x + XSAVE_FXSAVE_ST + 16 * i, f->st[(top + i) & 7], 16);
	memcpy(x + XSAVE_FXSAVE_XMM, f->xmm, sizeof(f->xmm));
	uint64_t bv = (get64(x + XSAVE_HEADER) & ~KVMENG_XCR0_NEUTRAL) | KVMENG_XCR0_X87 | KVMENG_XCR0_SSE;
	if (eng->xcr0_supported & KVMENG_XCR0_AVX) {
		memcpy(x + eng->xsave_avx_offset, f->ymm_hi, sizeof(f->ymm_hi));
		bv |= KVMENG_XCR0_AVX;
	}
	if (eng->xcr0_supported & KVMENG_XCR0_PKRU) {
		put32(x + eng->xsave_pkru_offset, f->pkru);
		bv |= KVMENG_XCR0_PKRU;
	}
	memset(x + XSAVE_HEADER, 0, 64); /* standard format: XCOMP_BV 0, reserved bytes 0 */
	put64(x + XSAVE_HEADER, bv & (eng->xcr0_supported | KVMENG_XCR0_X87 | KVMENG_XCR0_SSE));
}

int kvmeng_get_state(struct vcpu *vcpu, struct x86_cpu_state *s)
{
	const struct engine *eng = vcpu->eng;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_REGS, &regs)) < 0 ||
	    (r = kvmeng_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) < 0)
		return r;

	uint64_t gpr[X86_NR_GPRS] = { regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp,
				      regs.rsi, regs.rdi, regs.r8,  regs.r9,  regs.r10, regs.r11,
				      regs.r12, regs.r13, regs.r14, regs.r15 };
	memcpy(s->gpr, gpr, sizeof(gpr));
	s->rip = regs.rip;
	s->rflags = regs.rflags;

	for (int i = 0; i < X86_NR_SREGS; i++)
		seg_from_kvm(sreg_field(&sregs, i), &s->seg[i]);
	seg_from_kvm(&sregs.ldt, &s->ldtr);
	seg_from_kvm(&sregs.tr, &s->tr);
	s->gdtr = (struct x86_dtable){ sregs.gdt.base, sregs.gdt.limit };
	s->idtr = (struct x86_dtable){ sregs.idt.base, sregs.idt.limit };
	s->cr0 = sregs.cr0;
	s->cr2 = sregs.cr2;
	s->cr3 = sregs.cr3;
	s->cr4 = sregs.cr4;
	s->cr8 = sregs.cr8;
	s->efer = sregs.efer;
	s->apic_base = sregs.apic_base;

	if (eng->has_xsave) {
		if ((r = kvmeng_xsave_get(vcpu)) < 0)
			return r;
		fpu_from_xsave(eng, (const uint8_t *)vcpu->xsave->region, &s->fpu);
	} else {
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_FPU, &fpu)) < 0)
			return r;
		s->fpu.fcw = fpu.fcw;
		s->fpu.fsw = fpu.fsw;
		s->fpu.ftw = fpu.ftwx;
		s->fpu.fop = fpu.last_opcode;
		s->fpu.fip = fpu.last_ip;
		s->fpu.fdp = fpu.last_dp;
		/* KVM's fpr[] is in stack order (ST0 first, as FXSAVE stores it);
		 * x86_state keeps physical registers: ST(i) is physical (TOP + i) mod 8. */
		unsigned top = (fpu.fsw >> 11) & 7;
		for (unsigned i = 0; i < 8; i++)
			memcpy(s->fpu.st[(top + i) & 7], fpu.fpr[i], 16);
		memcpy(s->fpu.xmm, fpu.xmm, sizeof(s->fpu.xmm));
		s->fpu.mxcsr = fpu.mxcsr;
	}

	struct msr_buf mb;
	const struct msr_field *map[NR_MSR_FIELDS];
	unsigned n = msr_prepare(eng, &mb, NULL, map);
	r = kvmeng_ioctl(vcpu->fd, KVM_GET_MSRS, &mb);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < (unsigned)r && i < n; i++)
		memcpy((uint8_t *)&s->msr + map[i]->offset, &mb.entries[i].data, 8);

	if ((r = kvmeng_get_xcr0(vcpu, &s->fpu.xcr0)) < 0)
		return r;
	if (!(s->fpu.xcr0 & KVMENG_XCR0_AVX)) /* no AVX for the guest: nothing to carry */
		memset(s->fpu.ymm_hi, 0, sizeof(s->fpu.ymm_hi));
	if (eng->has_debugregs) {
		struct kvm_debugregs dr;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &dr)) < 0)
			return r;
		memcpy(s->dr, dr.db, sizeof(s->dr));
		s->dr6 = dr.dr6;
		s->dr7 = dr.dr7;
	}
	if (eng->has_vcpu_events) {
		struct kvm_vcpu_events ev;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev)) < 0)
			return r;
		s->events.interrupt_shadow = ev.interrupt.shadow != 0;
		s->events.nmi_pending = ev.nmi.pending != 0;
		s->events.nmi_masked = ev.nmi.masked != 0;
		if (ev.nmi.injected) { /* accepted, not yet delivered: pending again */
			s->events.nmi_pending = true;
			s->events.nmi_masked = false;
		}
		/* A software interrupt or exception (INT n, INT3, INTO) leaves rip at
		 * its instruction, which runs again: only the others are carried. */
		if (ev.exception.injected && !(ev.exception.nr == 3 || ev.exception.nr == 4)) {
			s->events.injected = X86_EVENT_EXCEPTION;
			s->events.injected_vector = ev.exception.nr;
			s->events.injected_has_error = ev.exception.has_error_code;
			s->events.injected_error = ev.exception.error_code;
		} else if (ev.interrupt.injected && !ev.interrupt.soft) {
			s->events.injected = X86_EVENT_INTR;
			s->events.injected_vector = ev.interrupt.nr;
		}
	}
	s->events.halted = vcpu->run->exit_reason == KVM_EXIT_HLT;
	if (vcpu->eng->irqchip_kernel) {
		/* KVM's LAPIC halts in the kernel: no KVM_EXIT_HLT, the MP state says it. */
		struct kvm_mp_state mp;
		if (kvmeng_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0)
			s->events.halted = mp.mp_state == KVM_MP_STATE_HALTED;
	}
	return 0;
}

int kvmeng_set_state(struct vcpu *vcpu, const struct x86_cpu_state *s)
{
	const struct engine *eng = vcpu->eng;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int r;

	/* Start from KVM's view so fields we do not model (interrupt_bitmap) stay sane. */
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) < 0)
		return r;
	for (int i = 0; i < X86_NR_SREGS; i++)
		seg_to_kvm(&s->seg[i], sreg_field(&sregs, i));
	seg_to_kvm(&s->ldtr, &sregs.ldt);
	seg_to_kvm(&s->tr, &sregs.tr);
	sregs.gdt = (struct kvm_dtable){ .base = s->gdtr.base, .limit = s->gdtr.limit };
	sregs.idt = (struct kvm_dtable){ .base = s->idtr.base, .limit = s->idtr.limit };
	sregs.cr0 = s->cr0;
	sregs.cr2 = s->cr2;
	sregs.cr3 = s->cr3;
	sregs.cr4 = s->cr4;
	sregs.cr8 = s->cr8;
	sregs.efer = s->efer;
	sregs.apic_base = s->apic_base;
	memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs)) < 0)
		return r;

	regs = (struct kvm_regs){
		.rax = s->gpr[X86_RAX], .rbx = s->gpr[X86_RBX], .rcx = s->gpr[X86_RCX],
		.rdx = s->gpr[X86_RDX], .rsi = s->gpr[X86_RSI], .rdi = s->gpr[X86_RDI],
		.rsp = s->gpr[X86_RSP], .rbp = s->gpr[X86_RBP], .r8 = s->gpr[X86_R8],
		.r9 = s->gpr[X86_R9],	.r10 = s->gpr[X86_R10], .r11 = s->gpr[X86_R11],
		.r12 = s->gpr[X86_R12], .r13 = s->gpr[X86_R13], .r14 = s->gpr[X86_R14],
		.r15 = s->gpr[X86_R15], .rip = s->rip,		.rflags = s->rflags | RFLAGS_FIXED,
	};
	if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_REGS, &regs)) < 0)
		return r;

	if (eng->has_xsave) {
		if ((r = kvmeng_xsave_get(vcpu)) < 0)
			return r;
		fpu_to_xsave(eng, &s->fpu, (uint8_t *)vcpu->xsave->region);
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_XSAVE, vcpu->xsave)) < 0)
			return r;
	} else {
		memset(&fpu, 0, sizeof(fpu));
		fpu.fcw = s->fpu.fcw;
		fpu.fsw = s->fpu.fsw;
		fpu.ftwx = s->fpu.ftw;
		fpu.last_opcode = s->fpu.fop;
		fpu.last_ip = s->fpu.fip;
		fpu.last_dp = s->fpu.fdp;
		unsigned top = (s->fpu.fsw >> 11) & 7;
		for (unsigned i = 0; i < 8; i++)
			memcpy(fpu.fpr[i], s->fpu.st[(top + i) & 7], 16);
		memcpy(fpu.xmm, s->fpu.xmm, sizeof(fpu.xmm));
		fpu.mxcsr = s->fpu.mxcsr;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_FPU, &fpu)) < 0)
			return r;
	}

	if (eng->has_xcrs) {
		struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = s->fpu.xcr0 ? s->fpu.xcr0 : 1;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs)) < 0)
			return r;
	}

	struct msr_buf mb;
	const struct msr_field *map[NR_MSR_FIELDS];
	unsigned n = msr_prepare(eng, &mb, &s->msr, map);
	r = kvmeng_ioctl(vcpu->fd, KVM_SET_MSRS, &mb);
	if (r < 0)
		return r;
	if ((unsigned)r != n)
		return -EINVAL; /* KVM refused entry r: a value it considers invalid */

	if (eng->has_debugregs) {
		struct kvm_debugregs dr = { .dr6 = s->dr6, .dr7 = s->dr7 };
		memcpy(dr.db, s->dr, sizeof(dr.db));
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &dr)) < 0)
			return r;
	}
	if (eng->has_vcpu_events) {
		struct kvm_vcpu_events ev;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev)) < 0)
			return r;
		ev.interrupt.shadow = s->events.interrupt_shadow ? KVM_X86_SHADOW_INT_MOV_SS : 0;
		ev.nmi.pending = s->events.nmi_pending;
		ev.nmi.masked = s->events.nmi_masked;
		memset(&ev.exception, 0, sizeof(ev.exception));
		ev.interrupt.injected = 0;
		ev.interrupt.soft = 0;
		ev.nmi.injected = 0;
		if (s->events.injected == X86_EVENT_EXCEPTION) {
			ev.exception.injected = 1;
			ev.exception.nr = s->events.injected_vector;
			ev.exception.has_error_code = s->events.injected_has_error;
			ev.exception.error_code = s->events.injected_error;
		} else if (s->events.injected == X86_EVENT_INTR) {
			ev.interrupt.injected = 1;
			ev.interrupt.nr = s->events.injected_vector;
		}
		ev.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
		if ((r = kvmeng_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev)) < 0)
			return r;
	}
	return 0;
}
