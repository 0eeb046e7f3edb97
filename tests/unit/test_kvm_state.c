/* SPDX-License-Identifier: MIT */
/*
 * The KVM engine's state without running a guest (so it holds on kvm_pvm
 * too): set_state/get_state round trips of the XSAVE-backed FPU state (AVX
 * upper halves, PKRU), and the engine's own snapshot record (kvm_platform.c)
 * carried from one VM to a fresh one: the in-kernel PIC pair, IOAPIC, PIT,
 * local APIC and MP state, and XSAVE components beyond AVX (AVX-512's opmask
 * registers where the host has them, which set_state leaves alone); records
 * refused in one line. Skipped
 * where /dev/kvm is unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/statebuf.h"
#include "engine/kvm/kvm_internal.h"

#define XCR0_OPMASK (1ULL << 5)

struct machine {
	struct guest_ram ram;
	struct engine *eng;
	struct vcpu *vcpu;
};

static void no_pio(void *o, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)o, (void)port, (void)data, (void)size, (void)is_write;
}

static void no_mmio(void *o, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)o, (void)gpa, (void)data, (void)size, (void)is_write;
}

static int64_t zero_clock(void *o)
{
	(void)o;
	return 0;
}

static bool kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* 0, or -errno with why printed. */
static int machine_create(struct machine *m, bool irqchip)
{
	memset(m, 0, sizeof(*m));
	if (ram_init(&m->ram, 2 * MiB) < 0)
		return -ENOMEM;
	struct engine_host host = { .ram = &m->ram, .pio = no_pio, .mmio = no_mmio, .clock_ns = zero_clock,
				    .irqchip_kernel = irqchip };
	char why[256];
	int r = kvm_engine_ops.create(&host, &m->eng, why, sizeof(why));
	if (r == 0 && (r = kvm_engine_ops.vcpu_create(m->eng, 0, &m->vcpu, why, sizeof(why))) < 0)
		kvm_engine_ops.destroy(m->eng);
	if (r < 0) {
		printf("# %s\n", why);
		ram_destroy(&m->ram);
	}
	return r;
}

static void machine_destroy(struct machine *m)
{
	kvm_engine_ops.vcpu_destroy(m->vcpu);
	kvm_engine_ops.destroy(m->eng);
	ram_destroy(&m->ram);
}

/* The reset state with XSAVE on (CR4.OSXSAVE) and XCR0 = xcr0. */
static void xsave_state(struct x86_cpu_state *s, uint64_t xcr0)
{
	x86_state_reset(s);
	s->cr4 |= CR4_OSXSAVE;
	s->fpu.xcr0 = xcr0;
}

static void test_fpu_round_trip(void)
{
	if (!kvm_usable())
		SKIP("/dev/kvm unusable");
	struct machine m;
	if (machine_create(&m, false) < 0) {
		CHECK(!"a KVM machine");
		return;
	}
	const struct engine *eng = m.eng;
	uint64_t xcr0 = KVMENG_XCR0_X87 | KVMENG_XCR0_SSE;
	if (eng->has_xsave && eng->has_xcrs)
		xcr0 |= eng->xcr0_supported & (KVMENG_XCR0_AVX | KVMENG_XCR0_PKRU);
	printf("# XSAVE %s, XCR0 offered %#llx, area %u bytes, AVX at %u, PKRU at %u\n", eng->has_xsave ? "yes" : "no",
	       (unsigned long long)eng->xcr0_supported, eng->xsave_size, eng->xsave_avx_offset, eng->xsave_pkru_offset);
	struct x86_cpu_state s, t;
	if (eng->has_xsave && eng->has_xcrs)
		xsave_state(&s, xcr0);
	else
		x86_state_reset(&s);
	s.fpu.fcw = 0x27f;
	s.fpu.fsw = 0x3800; /* TOP = 7 */
	s.fpu.ftw = 0x80; /* physical register 7 = ST0 valid */
	for (unsigned i = 0; i < 10; i++)
		s.fpu.st[7][i] = (uint8_t)(0x11 * (i + 1));
	s.fpu.st[7][9] = 0x3f;
	s.fpu.mxcsr = 0x1f80 | 0x6000;
	for (unsigned r = 0; r < 16; r++)
		for (unsigned b = 0; b < 16; b++) {
			s.fpu.xmm[r][b] = (uint8_t)(r * 16 + b);
			if (xcr0 & KVMENG_XCR0_AVX)
				s.fpu.ymm_hi[r][b] = (uint8_t)(0xff - r * 16 - b);
		}
	if (xcr0 & KVMENG_XCR0_PKRU)
		s.fpu.pkru = 0x55555554;
	CHECK_EQ(kvm_engine_ops.set_state(m.vcpu, &s), 0);
	CHECK_EQ(kvm_engine_ops.get_state(m.vcpu, &t), 0);
	CHECK_EQ(t.fpu.xcr0, s.fpu.xcr0);
	CHECK_EQ(t.fpu.fcw, s.fpu.fcw);
	CHECK_EQ(t.fpu.fsw, s.fpu.fsw);
	CHECK_EQ(t.fpu.ftw, s.fpu.ftw);
	CHECK_EQ(t.fpu.mxcsr, s.fpu.mxcsr);
	CHECK(memcmp(t.fpu.st[7], s.fpu.st[7], 10) == 0);
	CHECK(memcmp(t.fpu.xmm, s.fpu.xmm, sizeof(s.fpu.xmm)) == 0);
	CHECK(memcmp(t.fpu.ymm_hi, s.fpu.ymm_hi, sizeof(s.fpu.ymm_hi)) == 0);
	CHECK_EQ(t.fpu.pkru, s.fpu.pkru);
	if (!(xcr0 & KVMENG_XCR0_AVX)) {
		machine_destroy(&m);
		SKIP("KVM offers no AVX here: x87/SSE only");
	}
	/* Without AVX in XCR0 the upper halves are not state the guest has. */
	s.fpu.xcr0 = KVMENG_XCR0_X87 | KVMENG_XCR0_SSE;
	CHECK_EQ(kvm_engine_ops.set_state(m.vcpu, &s), 0);
	CHECK_EQ(kvm_engine_ops.get_state(m.vcpu, &t), 0);
	static const uint8_t zero[16][16];
	CHECK(memcmp(t.fpu.ymm_hi, zero, sizeof(zero)) == 0);
	machine_destroy(&m);
}

/* Writes the record of a's vCPU, loads it into b's; 0 or the load's -errno with why. */
static int carry(struct machine *a, struct machine *b, const struct x86_cpu_state *s, struct statebuf *rec,
		 char *why, size_t why_len)
{
	CHECK_EQ(kvm_engine_ops.save_platform(a->vcpu, rec), 0);
	CHECK_EQ(kvm_engine_ops.set_state(b->vcpu, s), 0);
	struct state_reader sr;
	sr_init(&sr, rec->data, rec->len);
	return kvm_engine_ops.load_platform(b->vcpu, &sr, why, why_len);
}

static void test_irqchip_record(void)
{
	if (!kvm_usable())
		SKIP("/dev/kvm unusable");
	struct machine a, b, plain;
	if (machine_create(&a, true) < 0) {
		SKIP("no in-kernel irqchip here");
	}
	CHECK_EQ(machine_create(&b, true), 0);
	CHECK_EQ(machine_create(&plain, false), 0);
	struct x86_cpu_state s;
	x86_state_reset(&s);
	CHECK_EQ(kvm_engine_ops.set_state(a.vcpu, &s), 0);
	/* State that differs from power-on in every part. */
	struct kvm_irqchip pic = { .chip_id = KVM_IRQCHIP_PIC_MASTER }, io = { .chip_id = KVM_IRQCHIP_IOAPIC };
	CHECK_EQ(kvmeng_ioctl(a.eng->vm_fd, KVM_GET_IRQCHIP, &pic), 0);
	pic.chip.pic.imr = 0xfa;
	pic.chip.pic.irq_base = 0x20;
	CHECK_EQ(kvmeng_ioctl(a.eng->vm_fd, KVM_SET_IRQCHIP, &pic), 0);
	CHECK_EQ(kvmeng_ioctl(a.eng->vm_fd, KVM_GET_IRQCHIP, &io), 0);
	io.chip.ioapic.redirtbl[4].bits = 0x0000000000008031ULL; /* vector 0x31, level */
	CHECK_EQ(kvmeng_ioctl(a.eng->vm_fd, KVM_SET_IRQCHIP, &io), 0);
	struct kvm_lapic_state lapic;
	CHECK_EQ(kvmeng_ioctl(a.vcpu->fd, KVM_GET_LAPIC, &lapic), 0);
	uint32_t tpr = 0x40, svr = 0x1ff;
	memcpy(lapic.regs + 0x80, &tpr, 4);
	memcpy(lapic.regs + 0xf0, &svr, 4);
	CHECK_EQ(kvmeng_ioctl(a.vcpu->fd, KVM_SET_LAPIC, &lapic), 0);
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	CHECK_EQ(kvmeng_ioctl(a.vcpu->fd, KVM_SET_MP_STATE, &mp), 0);

	struct statebuf rec;
	sb_init(&rec);
	char why[256] = "";
	CHECK_EQ(carry(&a, &b, &s, &rec, why, sizeof(why)), 0);
	struct kvm_irqchip pic2 = { .chip_id = KVM_IRQCHIP_PIC_MASTER }, io2 = { .chip_id = KVM_IRQCHIP_IOAPIC };
	CHECK_EQ(kvmeng_ioctl(b.eng->vm_fd, KVM_GET_IRQCHIP, &pic2), 0);
	CHECK_EQ(pic2.chip.pic.imr, 0xfa);
	CHECK_EQ(pic2.chip.pic.irq_base, 0x20);
	CHECK_EQ(kvmeng_ioctl(b.eng->vm_fd, KVM_GET_IRQCHIP, &io2), 0);
	CHECK_EQ(io2.chip.ioapic.redirtbl[4].bits, io.chip.ioapic.redirtbl[4].bits);
	struct kvm_lapic_state lapic2;
	CHECK_EQ(kvmeng_ioctl(b.vcpu->fd, KVM_GET_LAPIC, &lapic2), 0);
	uint32_t v;
	memcpy(&v, lapic2.regs + 0x80, 4);
	CHECK_EQ(v, tpr);
	memcpy(&v, lapic2.regs + 0xf0, 4);
	CHECK_EQ(v, svr);
	struct kvm_mp_state mp2;
	CHECK_EQ(kvmeng_ioctl(b.vcpu->fd, KVM_GET_MP_STATE, &mp2), 0);
	CHECK_EQ(mp2.mp_state, KVM_MP_STATE_HALTED);

	/* Refused in one line: into a machine without the in-kernel chips, a
	 * truncated record, a part of another size. */
	struct state_reader sr;
	sr_init(&sr, rec.data, rec.len);
	CHECK_EQ(kvm_engine_ops.load_platform(plain.vcpu, &sr, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "taken with --irqchip kernel: restore it with --accel kvm --irqchip kernel");
	sr_init(&sr, rec.data, rec.len - 1);
	CHECK_EQ(kvm_engine_ops.load_platform(b.vcpu, &sr, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "kvm-platform: truncated");
	uint8_t *bad = malloc(rec.len);
	memcpy(bad, rec.data, rec.len);
	uint8_t *at = memmem(bad, rec.len, "\x05lapic", 6);
	CHECK(at != NULL);
	if (at) {
		uint32_t size = 1023;
		memcpy(at + 6, &size, 4);
		sr_init(&sr, bad, rec.len);
		CHECK_EQ(kvm_engine_ops.load_platform(b.vcpu, &sr, why, sizeof(why)), -EINVAL);
		CHECK_STR(why, "kvm-platform: part lapic has 1023 bytes, this x86v's KVM has 1024 (another kernel "
			       "interface)");
	}
	free(bad);
	sb_free(&rec);
	machine_destroy(&a);
	machine_destroy(&b);
	machine_destroy(&plain);
}

static void test_xsave_record(void)
{
	if (!kvm_usable())
		SKIP("/dev/kvm unusable");
	struct machine a, b;
	if (machine_create(&a, false) < 0) {
		CHECK(!"a KVM machine");
		return;
	}
	CHECK_EQ(machine_create(&b, false), 0);
	struct statebuf rec;
	sb_init(&rec);
	struct x86_cpu_state s;
	x86_state_reset(&s);
	/* XCR0 within what x86_cpu_state holds: nothing of the engine's own. */
	CHECK_EQ(kvm_engine_ops.set_state(a.vcpu, &s), 0);
	CHECK_EQ(kvm_engine_ops.save_platform(a.vcpu, &rec), 0);
	CHECK_EQ(rec.len, 0);
	uint64_t avx512 = a.eng->xcr0_supported & 0xe0;
	if (!a.eng->has_xsave || !a.eng->has_xcrs || avx512 != 0xe0 || !(a.eng->xcr0_supported & KVMENG_XCR0_AVX)) {
		machine_destroy(&a);
		machine_destroy(&b);
		SKIP("KVM offers no AVX-512 here");
	}
	xsave_state(&s, KVMENG_XCR0_X87 | KVMENG_XCR0_SSE | KVMENG_XCR0_AVX | avx512);
	CHECK_EQ(kvm_engine_ops.set_state(a.vcpu, &s), 0);
	/* Opmask registers k0..k7, component 5, where CPUID.(0DH,5).EBX says. */
	uint32_t off = 0;
	for (unsigned i = 0; i < a.eng->cpuid->nent; i++)
		if (a.eng->cpuid->entries[i].function == 0xd && a.eng->cpuid->entries[i].index == 5)
			off = a.eng->cpuid->entries[i].ebx;
	CHECK(off >= 576 && off + 64 <= a.eng->xsave_size);
	CHECK_EQ(kvmeng_xsave_get(a.vcpu), 0);
	uint8_t *x = (uint8_t *)a.vcpu->xsave->region;
	for (unsigned i = 0; i < 64; i++)
		x[off + i] = (uint8_t)(i + 1);
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	bv |= XCR0_OPMASK;
	memcpy(x + 512, &bv, 8);
	CHECK_EQ(kvmeng_ioctl(a.vcpu->fd, KVM_SET_XSAVE, a.vcpu->xsave), 0);
	/* A register write through the neutral state (a debugger's) keeps them. */
	struct x86_cpu_state now;
	CHECK_EQ(kvm_engine_ops.get_state(a.vcpu, &now), 0);
	now.gpr[X86_RAX] = 42;
	CHECK_EQ(kvm_engine_ops.set_state(a.vcpu, &now), 0);
	CHECK_EQ(kvmeng_xsave_get(a.vcpu), 0);
	x = (uint8_t *)a.vcpu->xsave->region;
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(x[off + i], i + 1);
	char why[256] = "";
	int r = carry(&a, &b, &s, &rec, why, sizeof(why));
	CHECK_EQ(r, 0);
	if (r < 0)
		printf("# %s\n", why);
	CHECK(memmem(rec.data, rec.len, "\x05xsave", 6) != NULL);
	CHECK_EQ(kvmeng_xsave_get(b.vcpu), 0);
	x = (uint8_t *)b.vcpu->xsave->region;
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(x[off + i], i + 1);
	sb_free(&rec);
	machine_destroy(&a);
	machine_destroy(&b);
}

/* A guest on KVM's paravirtual clock: the system-time MSR and the VM's
 * kvmclock go to the new machine, whose clock reads on from the old one's. */
static void test_kvmclock_record(void)
{
	if (!kvm_usable())
		SKIP("/dev/kvm unusable");
	struct machine a, b;
	if (machine_create(&a, false) < 0) {
		CHECK(!"a KVM machine");
		return;
	}
	CHECK_EQ(machine_create(&b, false), 0);
	if (!kvmeng_msr_supported(a.eng, 0x4b564d01)) {
		machine_destroy(&a);
		machine_destroy(&b);
		SKIP("this KVM has no kvmclock MSRs");
	}
	struct x86_cpu_state s;
	x86_state_reset(&s);
	CHECK_EQ(kvm_engine_ops.set_state(a.vcpu, &s), 0);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = 0x4b564d01, .data = 0x10000 | 1 } }; /* pvclock page, enabled */
	CHECK_EQ(kvmeng_ioctl(a.vcpu->fd, KVM_SET_MSRS, &m), 1);
	struct kvm_clock_data clock = { .clock = 5000000000ULL };
	CHECK_EQ(kvmeng_ioctl(a.eng->vm_fd, KVM_SET_CLOCK, &clock), 0);
	char why[256] = "";
	struct statebuf rec;
	sb_init(&rec);
	int r = carry(&a, &b, &s, &rec, why, sizeof(why));
	if (r < 0)
		printf("# %s\n", why);
	CHECK_EQ(r, 0);
	CHECK(memmem(rec.data, rec.len, "\x08kvmclock", 9) != NULL);
	m.e.data = 0;
	CHECK_EQ(kvmeng_ioctl(b.vcpu->fd, KVM_GET_MSRS, &m), 1);
	CHECK_EQ(m.e.data, 0x10001);
	CHECK_EQ(kvmeng_ioctl(b.eng->vm_fd, KVM_GET_CLOCK, &clock), 0);
	CHECK(clock.clock >= 5000000000ULL && clock.clock < 65000000000ULL); /* on from 5 s, not from 0 */
	sb_free(&rec);
	machine_destroy(&a);
	machine_destroy(&b);
}

CHECK_MAIN(TEST_CASE(test_fpu_round_trip), TEST_CASE(test_irqchip_record), TEST_CASE(test_xsave_record),
	   TEST_CASE(test_kvmclock_record))
