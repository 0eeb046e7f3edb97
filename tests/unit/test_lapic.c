/* SPDX-License-Identifier: MIT */
/*
 * Local APIC register-level tests (Intel SDM Vol. 3A ch. 11): reset values
 * and write masks, IRR/ISR/TMR/PPR/APR with TPR, acceptance priority, EOI and
 * its broadcast, ESR, software disable, the timer in all three modes at exact
 * virtual times, the x2APIC MSR interface and its #GP cases, IA32_APIC_BASE
 * transitions, destination matching, IPIs, LINT pins, INIT, a sweep of
 * guest garbage, and snapshots (a faithful copy, the timer included; hostile
 * records refused or harmless).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "hw/device.h"
#include "hw/intc/lapic.h"

#define TSC_HZ 2000000000ULL /* 2 GHz: 2 TSC ticks per ns */
#define T0 1000000000LL

struct ipi {
	uint32_t dest;
	unsigned dest_mode, dm, sh;
	uint8_t vector;
	bool level;
};

struct rig {
	struct vclock clock;
	struct lapic *l;
	struct ipi ipis[32];
	unsigned n_ipis;
	uint8_t eois[32];
	unsigned n_eois;
	unsigned changes;
	uint64_t tsc;
};

static void fake_send_ipi(void *opaque, uint32_t dest, unsigned dest_mode, unsigned dm,
			  uint8_t vector, unsigned sh, bool level)
{
	struct rig *r = opaque;
	if (r->n_ipis < ARRAY_SIZE(r->ipis))
		r->ipis[r->n_ipis] = (struct ipi){ dest, dest_mode, dm, sh, vector, level };
	r->n_ipis++;
}

static void fake_eoi(void *opaque, uint8_t vector)
{
	struct rig *r = opaque;
	if (r->n_eois < ARRAY_SIZE(r->eois))
		r->eois[r->n_eois] = vector;
	r->n_eois++;
}

static void fake_changed(void *opaque)
{
	struct rig *r = opaque;
	r->changes++;
}

static uint64_t fake_tsc(void *opaque)
{
	struct rig *r = opaque;
	return r->tsc;
}

static const struct lapic_ops fake_ops = {
	.send_ipi = fake_send_ipi,
	.eoi_broadcast = fake_eoi,
	.intr_changed = fake_changed,
	.tsc_now = fake_tsc,
};

static void set_time(struct rig *r, int64_t t)
{
	r->clock.paused_at = t;
	vclock_run_expired(&r->clock, t);
}

static void rig_init_with(struct rig *r, uint32_t id, bool bsp, bool x2apic, uint64_t tsc_hz)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	vclock_pause(&r->clock);
	r->clock.paused_at = T0;
	struct lapic_config cfg = {
		.apic_id = id,
		.bsp = bsp,
		.x2apic = x2apic,
		.phys_addr_bits = 36,
		.tsc_hz = tsc_hz,
		.ops = &fake_ops,
		.opaque = r,
	};
	r->l = lapic_create(&r->clock, &cfg);
	if (!r->l)
		abort();
}

static void rig_init(struct rig *r)
{
	rig_init_with(r, 3, false, true, TSC_HZ);
}

static void rig_fini(struct rig *r)
{
	lapic_destroy(r->l);
	vclock_destroy(&r->clock);
}

static uint32_t rd(struct rig *r, unsigned reg)
{
	return (uint32_t)lapic_mmio_read(r->l, reg, 4);
}

static void wr(struct rig *r, unsigned reg, uint32_t v)
{
	lapic_mmio_write(r->l, reg, v, 4);
}

static void enable(struct rig *r)
{
	wr(r, APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

static bool irr_bit(struct rig *r, unsigned v)
{
	return rd(r, APIC_IRR + (v / 32) * 16) & (1u << (v % 32));
}

static bool isr_bit(struct rig *r, unsigned v)
{
	return rd(r, APIC_ISR + (v / 32) * 16) & (1u << (v % 32));
}

static bool tmr_bit(struct rig *r, unsigned v)
{
	return rd(r, APIC_TMR + (v / 32) * 16) & (1u << (v % 32));
}

static uint32_t read_esr(struct rig *r)
{
	wr(r, APIC_ESR, 0);
	return rd(r, APIC_ESR);
}

static int x2_enable(struct rig *r)
{
	return lapic_set_base(r->l, LAPIC_BASE_DEFAULT | LAPIC_BASE_EN | LAPIC_BASE_EXTD);
}

static uint64_t msr(struct rig *r, uint32_t index)
{
	uint64_t v = 0xdeadbeef;
	int rc = lapic_msr_read(r->l, index, &v);
	CHECK_EQ(rc, 0);
	return v;
}

static const unsigned lvt_regs[] = { APIC_LVT_CMCI, APIC_LVT_TIMER, APIC_LVT_THERMAL,
				     APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1,
				     APIC_LVT_ERROR };

static void test_reset_values(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(lapic_bus_ops.min_size, 1);
	CHECK_EQ(lapic_bus_ops.max_size, 8);
	CHECK_EQ(lapic_get_base(r.l), 0xfee00800);
	CHECK(lapic_hw_enabled(r.l));
	CHECK(!lapic_x2apic_mode(r.l));
	CHECK(lapic_mmio_claims(r.l, 0xfee00000));
	CHECK(lapic_mmio_claims(r.l, 0xfee00fff));
	CHECK(!lapic_mmio_claims(r.l, 0xfee01000));
	CHECK_EQ(rd(&r, APIC_ID), 0x03000000);
	CHECK_EQ(lapic_get_id(r.l), 3);
	CHECK_EQ(rd(&r, APIC_VERSION), 0x00050014);
	CHECK_EQ(rd(&r, APIC_TPR), 0);
	CHECK_EQ(rd(&r, APIC_APR), 0);
	CHECK_EQ(rd(&r, APIC_PPR), 0);
	CHECK_EQ(rd(&r, APIC_EOI), 0);
	CHECK_EQ(rd(&r, APIC_RRD), 0);
	CHECK_EQ(rd(&r, APIC_LDR), 0);
	CHECK_EQ(rd(&r, APIC_DFR), 0xffffffff);
	CHECK_EQ(rd(&r, APIC_SVR), 0xff);
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(rd(&r, APIC_ISR + i * 16), 0);
		CHECK_EQ(rd(&r, APIC_TMR + i * 16), 0);
		CHECK_EQ(rd(&r, APIC_IRR + i * 16), 0);
	}
	CHECK_EQ(rd(&r, APIC_ESR), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		CHECK_EQ(rd(&r, lvt_regs[i]), APIC_LVT_MASKED);
	CHECK_EQ(rd(&r, APIC_ICR_LOW), 0);
	CHECK_EQ(rd(&r, APIC_ICR_HIGH), 0);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 0);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0);
	CHECK_EQ(rd(&r, APIC_TIMER_DCR), 0);
	CHECK(!lapic_has_interrupt(r.l));
	CHECK(!lapic_nmi_pending(r.l));
	CHECK(!lapic_init_pending(r.l));
	CHECK(!lapic_sipi_pending(r.l, NULL));
	CHECK(!lapic_extint_pending(r.l));
	CHECK_EQ(r.changes, 0); /* create does not notify */
	rig_fini(&r);

	/* The BSP: BSP flag, and LINT0 in virtual-wire mode (ExtINT, unmasked). */
	rig_init_with(&r, 0, true, false, 0);
	CHECK_EQ(lapic_get_base(r.l), 0xfee00900);
	CHECK_EQ(rd(&r, APIC_LVT_LINT0), 0x700);
	CHECK_EQ(rd(&r, APIC_LVT_LINT1), APIC_LVT_MASKED);
	rig_fini(&r);
}

static void test_write_masks(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_ID, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_ID), 0xff000000);
	wr(&r, APIC_ID, 0x05123456);
	CHECK_EQ(rd(&r, APIC_ID), 0x05000000);
	CHECK_EQ(lapic_get_id(r.l), 5);
	wr(&r, APIC_TPR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_TPR), 0xff);
	wr(&r, APIC_TPR, 0);
	wr(&r, APIC_LDR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LDR), 0xff000000);
	wr(&r, APIC_DFR, 0);
	CHECK_EQ(rd(&r, APIC_DFR), 0x0fffffff);
	wr(&r, APIC_DFR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_DFR), 0xffffffff);
	wr(&r, APIC_SVR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_SVR), 0x3ff);
	wr(&r, APIC_LVT_CMCI, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_CMCI), 0x107ff);
	wr(&r, APIC_LVT_THERMAL, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_THERMAL), 0x107ff);
	wr(&r, APIC_LVT_PERF, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_PERF), 0x107ff);
	wr(&r, APIC_LVT_LINT0, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_LINT0), 0x1a7ff);
	wr(&r, APIC_LVT_LINT1, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_LINT1), 0x1a7ff);
	wr(&r, APIC_LVT_ERROR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_ERROR), 0x100ff);
	wr(&r, APIC_LVT_TIMER, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), 0x700ff);
	wr(&r, APIC_LVT_TIMER, APIC_LVT_MASKED);
	wr(&r, APIC_ICR_HIGH, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_ICR_HIGH), 0xff000000);
	wr(&r, APIC_TIMER_DCR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_TIMER_DCR), 0xb);
	wr(&r, APIC_TIMER_ICR, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 0xffffffff);
	wr(&r, APIC_TIMER_ICR, 0);
	/* ICR low: reserved delivery mode 7 is not sent, but the bits read back
	 * (delivery status always idle). */
	wr(&r, APIC_ICR_LOW, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_ICR_LOW), 0x000ccfff);
	CHECK_EQ(r.n_ipis, 0);

	/* Read-only registers ignore writes. */
	lapic_accept(r.l, 0x40, APIC_DM_FIXED, true);
	uint32_t irr = rd(&r, APIC_IRR + 0x20), tmr = rd(&r, APIC_TMR + 0x20);
	const unsigned ro[] = { APIC_VERSION, APIC_PPR, APIC_APR, APIC_RRD, APIC_ISR + 0x20,
				APIC_TMR + 0x20, APIC_IRR + 0x20, APIC_TIMER_CCR };
	for (unsigned i = 0; i < ARRAY_SIZE(ro); i++)
		wr(&r, ro[i], 0x5a5a5a5a);
	CHECK_EQ(rd(&r, APIC_VERSION), 0x00050014);
	CHECK_EQ(rd(&r, APIC_PPR), 0);
	CHECK_EQ(rd(&r, APIC_IRR + 0x20), irr);
	CHECK_EQ(rd(&r, APIC_TMR + 0x20), tmr);
	CHECK_EQ(rd(&r, APIC_ISR + 0x20), 0);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0);
	CHECK_EQ(read_esr(&r), 0);
	rig_fini(&r);

	/* Without TSC-deadline support the timer mode is one bit wide. */
	rig_init_with(&r, 0, false, false, 0);
	enable(&r);
	wr(&r, APIC_LVT_TIMER, 0xffffffff);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), 0x300ff);
	uint64_t v;
	CHECK_EQ(lapic_msr_read(r.l, LAPIC_MSR_TSC_DEADLINE, &v), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, 1), -EINVAL);
	rig_fini(&r);
}

static void test_software_disable(void)
{
	struct rig r;
	rig_init(&r);
	/* While disabled, LVT writes keep the mask bit. */
	wr(&r, APIC_LVT_TIMER, 0x30);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), APIC_LVT_MASKED | 0x30);
	/* Fixed interrupts are dropped; NMI still arrives. */
	lapic_accept(r.l, 0x50, APIC_DM_FIXED, false);
	CHECK(!irr_bit(&r, 0x50));
	lapic_accept(r.l, 0, APIC_DM_NMI, false);
	CHECK(lapic_nmi_pending(r.l));
	enable(&r);
	wr(&r, APIC_LVT_TIMER, 0x30);
	wr(&r, APIC_LVT_LINT1, 0x400);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), 0x30);
	lapic_accept(r.l, 0x50, APIC_DM_FIXED, false);
	CHECK(lapic_has_interrupt(r.l));
	/* Clearing SVR.8 masks every LVT; IRR is held but not delivered. */
	unsigned before = r.changes;
	wr(&r, APIC_SVR, 0xff);
	CHECK(r.changes > before);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), APIC_LVT_MASKED | 0x30);
	CHECK_EQ(rd(&r, APIC_LVT_LINT1), APIC_LVT_MASKED | 0x400);
	CHECK(irr_bit(&r, 0x50));
	CHECK(!lapic_has_interrupt(r.l));
	CHECK_EQ(lapic_ack(r.l), 0xff);
	enable(&r);
	CHECK(lapic_has_interrupt(r.l));
	CHECK_EQ(lapic_ack(r.l), 0x50);
	rig_fini(&r);
}

static void test_irr_isr_ppr(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	unsigned before = r.changes;
	lapic_accept(r.l, 0x31, APIC_DM_FIXED, false);
	lapic_accept(r.l, 0x45, APIC_DM_LOWEST, false);
	CHECK(r.changes >= before + 2);
	CHECK_EQ(rd(&r, APIC_IRR + 0x10), (1u << 0x11));
	CHECK_EQ(rd(&r, APIC_IRR + 0x20), (1u << 0x05));
	CHECK(lapic_has_interrupt(r.l));
	CHECK_EQ(rd(&r, APIC_APR), 0x40); /* the highest IRR class */
	CHECK_EQ(lapic_ack(r.l), 0x45);
	CHECK(isr_bit(&r, 0x45));
	CHECK(!irr_bit(&r, 0x45));
	CHECK_EQ(rd(&r, APIC_PPR), 0x40);
	CHECK_EQ(lapic_get_ppr(r.l), 0x40);
	/* 0x31 is in class 3, below the in-service class 4. */
	CHECK(!lapic_has_interrupt(r.l));
	CHECK_EQ(lapic_ack(r.l), 0xff);
	/* Same class as the one in service: still blocked. */
	lapic_accept(r.l, 0x4f, APIC_DM_FIXED, false);
	CHECK(!lapic_has_interrupt(r.l));
	lapic_accept(r.l, 0x52, APIC_DM_FIXED, false);
	CHECK(lapic_has_interrupt(r.l));
	/* TPR above it blocks; PPR follows TPR when TPR's class is higher. */
	wr(&r, APIC_TPR, 0x65);
	CHECK_EQ(rd(&r, APIC_PPR), 0x65);
	CHECK(!lapic_has_interrupt(r.l));
	CHECK_EQ(rd(&r, APIC_APR), 0x65);
	/* TPR class equal to the ISR class: PPR = TPR. */
	wr(&r, APIC_TPR, 0x47);
	CHECK_EQ(rd(&r, APIC_PPR), 0x47);
	/* TPR below: PPR = ISRV class. */
	wr(&r, APIC_TPR, 0x20);
	CHECK_EQ(rd(&r, APIC_PPR), 0x40);
	CHECK_EQ(lapic_ack(r.l), 0x52);
	CHECK_EQ(rd(&r, APIC_PPR), 0x50);
	/* EOI clears the highest in-service vector first. */
	wr(&r, APIC_EOI, 0);
	CHECK(!isr_bit(&r, 0x52));
	CHECK(isr_bit(&r, 0x45));
	CHECK_EQ(lapic_ack(r.l), 0xff); /* 0x4f: class 4 is still in service */
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(lapic_ack(r.l), 0x4f);
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(lapic_ack(r.l), 0x31);
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(rd(&r, APIC_PPR), 0x20);
	CHECK(!lapic_has_interrupt(r.l));
	/* EOI with nothing in service is harmless. */
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(r.n_eois, 0);
	/* The spurious vector comes from SVR. */
	wr(&r, APIC_SVR, APIC_SVR_ENABLE | 0xef);
	CHECK_EQ(lapic_ack(r.l), 0xef);
	rig_fini(&r);
}

static void test_acceptance_priority(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	const uint8_t in[] = { 0x20, 0xfe, 0x81, 0x80, 0x8f, 0x10, 0xc3 };
	for (unsigned i = 0; i < ARRAY_SIZE(in); i++)
		lapic_accept(r.l, in[i], APIC_DM_FIXED, false);
	/* Nested: each ack raises PPR, so only a higher class gets through. */
	CHECK_EQ(lapic_ack(r.l), 0xfe);
	CHECK_EQ(lapic_ack(r.l), 0xff); /* spurious: nothing above class 0xf0 */
	wr(&r, APIC_EOI, 0);
	const uint8_t order[] = { 0xc3, 0x8f, 0x81, 0x80, 0x20, 0x10 };
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		CHECK_EQ(lapic_ack(r.l), order[i]);
		wr(&r, APIC_EOI, 0);
	}
	CHECK(!lapic_has_interrupt(r.l));
	/* A vector already in IRR is not queued twice. */
	lapic_accept(r.l, 0x70, APIC_DM_FIXED, false);
	lapic_accept(r.l, 0x70, APIC_DM_FIXED, false);
	CHECK_EQ(lapic_ack(r.l), 0x70);
	wr(&r, APIC_EOI, 0);
	CHECK(!lapic_has_interrupt(r.l));
	/* A vector both in service and requested again: delivered after EOI. */
	lapic_accept(r.l, 0x71, APIC_DM_FIXED, false);
	CHECK_EQ(lapic_ack(r.l), 0x71);
	lapic_accept(r.l, 0x71, APIC_DM_FIXED, false);
	CHECK(!lapic_has_interrupt(r.l));
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(lapic_ack(r.l), 0x71);
	rig_fini(&r);
}

static void test_eoi_broadcast(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	lapic_accept(r.l, 0x60, APIC_DM_FIXED, true);
	CHECK(tmr_bit(&r, 0x60));
	lapic_accept(r.l, 0x90, APIC_DM_FIXED, false);
	CHECK(!tmr_bit(&r, 0x90));
	CHECK_EQ(lapic_ack(r.l), 0x90);
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(r.n_eois, 0); /* edge: no broadcast */
	CHECK_EQ(lapic_ack(r.l), 0x60);
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(r.n_eois, 1);
	CHECK_EQ(r.eois[0], 0x60);
	/* The same vector re-accepted edge clears its TMR bit. */
	lapic_accept(r.l, 0x60, APIC_DM_FIXED, false);
	CHECK(!tmr_bit(&r, 0x60));
	CHECK_EQ(lapic_ack(r.l), 0x60);
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(r.n_eois, 1);
	rig_fini(&r);
}

static void test_esr_and_illegal_vectors(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	for (unsigned v = 0; v < 16; v++)
		lapic_accept(r.l, (uint8_t)v, APIC_DM_FIXED, false);
	CHECK_EQ(rd(&r, APIC_IRR), 0);
	/* Nothing is visible until ESR is written. */
	CHECK_EQ(rd(&r, APIC_ESR), 0);
	wr(&r, APIC_ESR, 0x12345678);
	CHECK_EQ(rd(&r, APIC_ESR), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rd(&r, APIC_ESR), APIC_ESR_RECV_ILLEGAL); /* reading does not clear */
	wr(&r, APIC_ESR, 0);
	CHECK_EQ(rd(&r, APIC_ESR), 0);
	/* The error LVT raises its vector. */
	wr(&r, APIC_LVT_ERROR, 0xe3);
	wr(&r, APIC_ICR_LOW, 0x00000005); /* fixed IPI with an illegal vector */
	CHECK_EQ(r.n_ipis, 0);
	CHECK(irr_bit(&r, 0xe3));
	CHECK_EQ(read_esr(&r), APIC_ESR_SEND_ILLEGAL);
	/* An illegal error vector does not recurse. */
	wr(&r, APIC_LVT_ERROR, 0x03);
	lapic_accept(r.l, 1, APIC_DM_FIXED, false);
	CHECK_EQ(read_esr(&r), APIC_ESR_RECV_ILLEGAL);
	/* Masked error LVT: recorded only. */
	wr(&r, APIC_LVT_ERROR, APIC_LVT_MASKED | 0xe4);
	lapic_accept(r.l, 2, APIC_DM_FIXED, false);
	CHECK(!irr_bit(&r, 0xe4));
	CHECK_EQ(read_esr(&r), APIC_ESR_RECV_ILLEGAL);
	/* Unimplemented register: illegal register address. */
	CHECK_EQ(rd(&r, 0x040), 0);
	wr(&r, 0x3f0, 0x55); /* SELF IPI is x2APIC-only */
	CHECK(!irr_bit(&r, 0x55));
	CHECK_EQ(read_esr(&r), APIC_ESR_ILLEGAL_REG);
	/* Illegal vector in the timer LVT: receive illegal vector on expiry. */
	wr(&r, APIC_TIMER_DCR, 0xb);
	wr(&r, APIC_LVT_TIMER, 0x07);
	wr(&r, APIC_TIMER_ICR, 10);
	set_time(&r, T0 + 10);
	CHECK_EQ(read_esr(&r), APIC_ESR_RECV_ILLEGAL);
	CHECK_EQ(rd(&r, APIC_IRR), 0);
	rig_fini(&r);
}

static void test_timer_oneshot(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_TIMER_DCR, 0xb); /* divide by 1: one tick per ns */
	wr(&r, APIC_LVT_TIMER, 0x30);
	wr(&r, APIC_TIMER_ICR, 1000);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 1000);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 1000);
	set_time(&r, T0 + 250);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 750);
	set_time(&r, T0 + 999);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 1);
	CHECK(!irr_bit(&r, 0x30));
	set_time(&r, T0 + 1000);
	CHECK(irr_bit(&r, 0x30));
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 1000);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(lapic_ack(r.l), 0x30);
	wr(&r, APIC_EOI, 0);
	set_time(&r, T0 + 5000);
	CHECK(!lapic_has_interrupt(r.l));
	/* Rewriting the initial count restarts it. */
	wr(&r, APIC_TIMER_ICR, 100);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 5100);
	set_time(&r, T0 + 5050);
	wr(&r, APIC_TIMER_ICR, 100);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 5150);
	/* Writing 0 stops it. */
	wr(&r, APIC_TIMER_ICR, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0);
	set_time(&r, T0 + 10000);
	CHECK(!lapic_has_interrupt(r.l));
	rig_fini(&r);
}

static void test_timer_periodic(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_TIMER_DCR, 0x0); /* divide by 2 */
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x31);
	wr(&r, APIC_TIMER_ICR, 500000); /* 1 ms */
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 1000000);
	set_time(&r, T0 + 1000);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 500000 - 500);
	set_time(&r, T0 + 1000001);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 500000); /* reloaded; 1 ns < one tick */
	set_time(&r, T0 + 1000002);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 499999);
	CHECK(irr_bit(&r, 0x31));
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 2000000);
	CHECK_EQ(lapic_ack(r.l), 0x31);
	wr(&r, APIC_EOI, 0);
	set_time(&r, T0 + 2000000);
	CHECK(irr_bit(&r, 0x31));
	CHECK_EQ(lapic_ack(r.l), 0x31);
	wr(&r, APIC_EOI, 0);
	/* The host was late by several periods: one interrupt, phase kept. */
	set_time(&r, T0 + 5500000);
	CHECK(irr_bit(&r, 0x31));
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 6000000);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 250000);
	/* Masked: keeps counting, no interrupts. */
	CHECK_EQ(lapic_ack(r.l), 0x31);
	wr(&r, APIC_EOI, 0);
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | APIC_LVT_MASKED | 0x31);
	set_time(&r, T0 + 6000000);
	CHECK(!irr_bit(&r, 0x31));
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 7000000);
	/* Periodic -> one-shot: the running count finishes, then stops. */
	wr(&r, APIC_LVT_TIMER, 0x31);
	set_time(&r, T0 + 7000000);
	CHECK(irr_bit(&r, 0x31));
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	rig_fini(&r);
}

static void test_timer_min_period(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_TIMER_DCR, 0xb);
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x32);
	wr(&r, APIC_TIMER_ICR, 10);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + LAPIC_TIMER_MIN_PERIOD_NS);
	set_time(&r, T0 + LAPIC_TIMER_MIN_PERIOD_NS / 2);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 5);
	/* A one-shot of 10 ticks is not clamped. */
	wr(&r, APIC_LVT_TIMER, 0x32);
	wr(&r, APIC_TIMER_ICR, 10);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + LAPIC_TIMER_MIN_PERIOD_NS / 2 + 10);
	/* A short one-shot turned periodic before it fires: reloads at the minimum. */
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x32);
	int64_t t = T0 + LAPIC_TIMER_MIN_PERIOD_NS / 2;
	CHECK(vclock_next_deadline(&r.clock) > t);
	set_time(&r, vclock_next_deadline(&r.clock));
	CHECK(irr_bit(&r, 0x32));
	int64_t next = vclock_next_deadline(&r.clock);
	set_time(&r, next);
	CHECK_EQ(vclock_next_deadline(&r.clock) - next, LAPIC_TIMER_MIN_PERIOD_NS);
	rig_fini(&r);
}

static void test_timer_divide(void)
{
	static const struct {
		uint32_t dcr;
		unsigned div;
	} table[] = { { 0x0, 2 },  { 0x1, 4 },  { 0x2, 8 },   { 0x3, 16 },
		      { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 } };
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_LVT_TIMER, 0x33);
	for (unsigned i = 0; i < ARRAY_SIZE(table); i++) {
		wr(&r, APIC_TIMER_DCR, table[i].dcr);
		CHECK_EQ(rd(&r, APIC_TIMER_DCR), table[i].dcr);
		wr(&r, APIC_TIMER_ICR, 1000);
		CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 1000LL * table[i].div);
		set_time(&r, T0 + table[i].div * 3 + table[i].div / 2);
		CHECK_EQ(rd(&r, APIC_TIMER_CCR), 997);
		set_time(&r, T0);
	}
	/* Reserved bit 2 is ignored. */
	wr(&r, APIC_TIMER_DCR, 0x4);
	CHECK_EQ(rd(&r, APIC_TIMER_DCR), 0);
	/* Changing the divider mid-count keeps the count and continues at the new rate. */
	wr(&r, APIC_TIMER_DCR, 0xb);
	wr(&r, APIC_TIMER_ICR, 1000);
	set_time(&r, T0 + 400);
	wr(&r, APIC_TIMER_DCR, 0x1); /* by 4 */
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 600);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 400 + 600 * 4);
	set_time(&r, T0 + 400 + 4 * 100);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 500);
	set_time(&r, T0 + 400 + 600 * 4);
	CHECK(irr_bit(&r, 0x33));
	/* The largest count and divider do not overflow. */
	wr(&r, APIC_TIMER_DCR, 0xa);
	wr(&r, APIC_TIMER_ICR, 0xffffffff);
	int64_t now = T0 + 400 + 600 * 4;
	CHECK_EQ(vclock_next_deadline(&r.clock), now + 0xffffffffLL * 128);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0xffffffff);
	set_time(&r, now + 0xffffffffLL * 128 - 128);
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 1);
	rig_fini(&r);
}

static void test_tsc_deadline(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	r.tsc = 1000000;
	/* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, 5000000), 0);
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | 0x34);
	/* The initial count is ignored in this mode. */
	wr(&r, APIC_TIMER_ICR, 100);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, 1002000), 0);
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 1002000);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 1000); /* 2000 ticks at 2 GHz */
	CHECK_EQ(rd(&r, APIC_TIMER_CCR), 0);
	set_time(&r, T0 + 999);
	CHECK(!irr_bit(&r, 0x34));
	set_time(&r, T0 + 1000);
	CHECK(irr_bit(&r, 0x34));
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 0);
	CHECK_EQ(lapic_ack(r.l), 0x34);
	wr(&r, APIC_EOI, 0);
	/* Odd tick counts round up: never early. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, r.tsc + 3), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), T0 + 1000 + 2);
	/* 0 disarms. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, 0), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	/* A deadline already passed fires at once. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, r.tsc), 0);
	CHECK(irr_bit(&r, 0x34));
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 0);
	CHECK_EQ(lapic_ack(r.l), 0x34);
	wr(&r, APIC_EOI, 0);
	/* Far future: no overflow. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, UINT64_MAX), 0);
	CHECK(vclock_next_deadline(&r.clock) > T0);
	CHECK(vclock_next_deadline(&r.clock) < VCLOCK_NEVER);
	/* Leaving TSC-deadline mode disarms. */
	wr(&r, APIC_LVT_TIMER, 0x34);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 0);
	/* Entering it stops a running count. */
	wr(&r, APIC_TIMER_ICR, 1000);
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | 0x34);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 0);
	/* Masked: the deadline passes, disarms, raises nothing. */
	wr(&r, APIC_LVT_TIMER, APIC_LVT_TIMER_TSC_DEADLINE | APIC_LVT_MASKED | 0x34);
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_TSC_DEADLINE, r.tsc + 20), 0);
	set_time(&r, T0 + 1010);
	CHECK(!irr_bit(&r, 0x34));
	CHECK_EQ(msr(&r, LAPIC_MSR_TSC_DEADLINE), 0);
	rig_fini(&r);
}

static void test_x2apic_msrs(void)
{
	struct rig r;
	uint64_t v;
	rig_init_with(&r, 0x123, false, true, TSC_HZ);
	/* Not in x2APIC mode: the MSRs fault. */
	CHECK_EQ(lapic_msr_read(r.l, 0x802, &v), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 0), -EINVAL);
	CHECK_EQ(lapic_msr_read(r.l, 0x10, &v), -ENOENT);
	CHECK_EQ(lapic_msr_write(r.l, 0x10, 0), -ENOENT);
	CHECK_EQ(rd(&r, APIC_ID), 0x23000000); /* xAPIC: 8 bits of the initial ID */
	CHECK_EQ(x2_enable(&r), 0);
	CHECK(lapic_x2apic_mode(r.l));
	CHECK(!lapic_mmio_claims(r.l, 0xfee00000));
	CHECK_EQ(lapic_mmio_read(r.l, APIC_ID, 4), 0);
	CHECK_EQ(msr(&r, 0x802), 0x123);
	CHECK_EQ(lapic_get_id(r.l), 0x123);
	CHECK_EQ(msr(&r, 0x803), 0x00050014);
	CHECK_EQ(msr(&r, 0x80d), (0x12u << 16) | (1u << 3));
	CHECK_EQ(msr(&r, 0x80f), 0xff);
	CHECK_EQ(msr(&r, 0x832), APIC_LVT_MASKED);
	CHECK_EQ(lapic_msr_write(r.l, 0x80f, 0x1ff), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 0x20), 0);
	CHECK_EQ(msr(&r, 0x808), 0x20);
	CHECK_EQ(msr(&r, 0x80a), 0x20);
	/* Read-only registers, absent registers, write-only registers. */
	const uint32_t ro[] = { 0x802, 0x803, 0x80a, 0x80d, 0x810, 0x817, 0x818, 0x820, 0x827, 0x839 };
	for (unsigned i = 0; i < ARRAY_SIZE(ro); i++)
		CHECK_EQ(lapic_msr_write(r.l, ro[i], 0), -EINVAL);
	const uint32_t absent[] = { 0x800, 0x801, 0x804, 0x807, 0x809, 0x80c, 0x80e,
				    0x829, 0x82e, 0x831, 0x83a, 0x83d, 0x840, 0x8ff };
	for (unsigned i = 0; i < ARRAY_SIZE(absent); i++) {
		CHECK_EQ(lapic_msr_read(r.l, absent[i], &v), -EINVAL);
		CHECK_EQ(lapic_msr_write(r.l, absent[i], 0), -EINVAL);
	}
	CHECK_EQ(lapic_msr_read(r.l, 0x80b, &v), -EINVAL); /* EOI */
	CHECK_EQ(lapic_msr_read(r.l, 0x83f, &v), -EINVAL); /* SELF IPI */
	/* Reserved bits. */
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 1ULL << 32), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x80b, 1), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x828, 1), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x83f, 0x100), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x830, 1ULL << 13), -EINVAL);
	CHECK_EQ(lapic_msr_write(r.l, 0x830, 1ULL << 20), -EINVAL);
	CHECK_EQ(r.n_ipis, 0);
	/* Other registers mask reserved bits silently. */
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 0x1ff), 0);
	CHECK_EQ(msr(&r, 0x808), 0xff);
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 0), 0);
	/* SELF IPI. */
	CHECK_EQ(lapic_msr_write(r.l, 0x83f, 0x55), 0);
	CHECK_EQ(msr(&r, 0x822) & (1u << 0x15), 1u << 0x15);
	CHECK_EQ(lapic_ack(r.l), 0x55);
	CHECK_EQ(msr(&r, 0x812), 1u << 0x15);
	CHECK_EQ(lapic_msr_write(r.l, 0x80b, 0), 0);
	CHECK_EQ(msr(&r, 0x812), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x83f, 0x05), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x828, 0), 0);
	CHECK_EQ(msr(&r, 0x828), APIC_ESR_SEND_ILLEGAL);
	/* ICR: one 64-bit register with a 32-bit destination. */
	CHECK_EQ(lapic_msr_write(r.l, 0x830, (0x00abcdefULL << 32) | APIC_ICR_DEST_LOGICAL |
						     APIC_ICR_TRIGGER_LEVEL | APIC_ICR_LEVEL_ASSERT | 0x61),
		 0);
	CHECK_EQ(r.n_ipis, 1);
	CHECK_EQ(r.ipis[0].dest, 0x00abcdef);
	CHECK_EQ(r.ipis[0].dest_mode, 1);
	CHECK_EQ(r.ipis[0].dm, APIC_DM_FIXED);
	CHECK_EQ(r.ipis[0].vector, 0x61);
	CHECK_EQ(r.ipis[0].sh, APIC_SH_NONE);
	CHECK(r.ipis[0].level);
	CHECK_EQ(msr(&r, 0x830), (0x00abcdefULL << 32) | 0xc861);
	/* Timer registers through MSRs. */
	CHECK_EQ(lapic_msr_write(r.l, 0x83e, 0xb), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x832, 0x40), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x838, 100), 0);
	CHECK_EQ(msr(&r, 0x838), 100);
	set_time(&r, T0 + 40);
	CHECK_EQ(msr(&r, 0x839), 60);
	/* x2APIC ICR "self" shorthand is local. */
	CHECK_EQ(lapic_msr_write(r.l, 0x830, (APIC_SH_SELF << APIC_ICR_SHORTHAND_SHIFT) | 0x66), 0);
	CHECK_EQ(r.n_ipis, 1);
	CHECK(msr(&r, 0x823) & (1u << 6));
	rig_fini(&r);
}

static void test_apic_base_transitions(void)
{
	struct rig r;
	rig_init(&r);
	const uint64_t base = LAPIC_BASE_DEFAULT, en = LAPIC_BASE_EN, ex = LAPIC_BASE_EXTD;
	/* Reserved bits: 0-7, 9, above MAXPHYADDR (36 here). */
	CHECK_EQ(lapic_set_base(r.l, base | en | 1), -EINVAL);
	CHECK_EQ(lapic_set_base(r.l, base | en | (1u << 9)), -EINVAL);
	CHECK_EQ(lapic_set_base(r.l, base | en | (1ULL << 36)), -EINVAL);
	CHECK_EQ(lapic_set_base(r.l, base | ex), -EINVAL); /* EXTD without EN */
	CHECK_EQ(lapic_get_base(r.l), base | en);
	/* The BSP flag is not writable. */
	CHECK_EQ(lapic_set_base(r.l, base | en | LAPIC_BASE_BSP), 0);
	CHECK_EQ(lapic_get_base(r.l), base | en);
	/* Relocation. */
	CHECK_EQ(lapic_msr_write(r.l, LAPIC_MSR_APIC_BASE, 0xfed00000 | en), 0);
	CHECK(lapic_mmio_claims(r.l, 0xfed00080));
	CHECK(!lapic_mmio_claims(r.l, 0xfee00080));
	CHECK_EQ(msr(&r, LAPIC_MSR_APIC_BASE), 0xfed00000 | en);
	CHECK_EQ(lapic_set_base(r.l, base | en), 0);
	/* xAPIC -> x2APIC -> xAPIC is refused, -> disabled is allowed. */
	CHECK_EQ(lapic_set_base(r.l, base | en | ex), 0);
	CHECK_EQ(lapic_set_base(r.l, base | en), -EINVAL);
	CHECK(lapic_x2apic_mode(r.l));
	CHECK_EQ(lapic_msr_write(r.l, 0x808, 0x30), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x80f, 0x1ff), 0);
	lapic_accept(r.l, 0x80, APIC_DM_FIXED, false);
	lapic_accept(r.l, 0, APIC_DM_NMI, false);
	CHECK_EQ(lapic_set_base(r.l, base), 0);
	CHECK(!lapic_hw_enabled(r.l));
	CHECK(!lapic_mmio_claims(r.l, 0xfee00000));
	CHECK(!lapic_has_interrupt(r.l));
	CHECK(!lapic_nmi_pending(r.l));
	uint64_t v;
	CHECK_EQ(lapic_msr_read(r.l, 0x808, &v), -EINVAL);
	/* Disabled: no messages. */
	lapic_accept(r.l, 0x81, APIC_DM_FIXED, false);
	lapic_accept(r.l, 0, APIC_DM_NMI, false);
	CHECK(!lapic_nmi_pending(r.l));
	CHECK(!lapic_match_dest(r.l, 3, false));
	CHECK(!lapic_match_dest(r.l, APIC_BROADCAST, false));
	/* disabled -> x2APIC directly is refused; -> xAPIC comes back reset. */
	CHECK_EQ(lapic_set_base(r.l, base | en | ex), -EINVAL);
	CHECK_EQ(lapic_set_base(r.l, base | en), 0);
	CHECK_EQ(rd(&r, APIC_TPR), 0);
	CHECK_EQ(rd(&r, APIC_SVR), 0xff);
	CHECK_EQ(rd(&r, APIC_IRR + 0x40), 0);
	CHECK_EQ(rd(&r, APIC_ID), 0x03000000);
	CHECK_EQ(rd(&r, APIC_LDR), 0);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), APIC_LVT_MASKED);
	/* Disabling an xAPIC also resets it, including a written ID. */
	enable(&r);
	wr(&r, APIC_ID, 0x09000000);
	wr(&r, APIC_TIMER_DCR, 0xb);
	wr(&r, APIC_TIMER_ICR, 1000);
	CHECK_EQ(lapic_set_base(r.l, base), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(lapic_set_base(r.l, base | en), 0);
	CHECK_EQ(rd(&r, APIC_ID), 0x03000000);
	CHECK_EQ(rd(&r, APIC_TIMER_ICR), 0);
	/* Entering x2APIC mode keeps other registers. */
	enable(&r);
	wr(&r, APIC_TPR, 0x40);
	CHECK_EQ(lapic_set_base(r.l, base | en | ex), 0);
	CHECK_EQ(msr(&r, 0x808), 0x40);
	CHECK_EQ(msr(&r, 0x80f), 0x1ff);
	rig_fini(&r);

	/* No x2APIC support: EXTD is reserved. */
	rig_init_with(&r, 1, false, false, 0);
	CHECK_EQ(lapic_set_base(r.l, LAPIC_BASE_DEFAULT | LAPIC_BASE_EN | LAPIC_BASE_EXTD), -EINVAL);
	CHECK(!lapic_x2apic_mode(r.l));
	rig_fini(&r);
}

static void test_dest_match(void)
{
	struct rig r;
	rig_init_with(&r, 5, false, true, 0);
	enable(&r);
	/* Physical. */
	CHECK(lapic_match_dest(r.l, 5, false));
	CHECK(!lapic_match_dest(r.l, 6, false));
	CHECK(!lapic_match_dest(r.l, 0x105, false));
	CHECK(lapic_match_dest(r.l, 0xff, false));
	CHECK(lapic_match_dest(r.l, APIC_BROADCAST, false));
	/* Logical, flat model. */
	CHECK(!lapic_match_dest(r.l, 0x04, true)); /* LDR 0 matches nothing */
	wr(&r, APIC_LDR, 0x04000000);
	CHECK(lapic_match_dest(r.l, 0x04, true));
	CHECK(lapic_match_dest(r.l, 0x0c, true));
	CHECK(!lapic_match_dest(r.l, 0x08, true));
	CHECK(!lapic_match_dest(r.l, 0x00, true));
	CHECK(lapic_match_dest(r.l, 0xff, true));
	/* Logical, cluster model: cluster 2, member bit 0. */
	wr(&r, APIC_DFR, 0x0fffffff);
	wr(&r, APIC_LDR, 0x21000000);
	CHECK(lapic_match_dest(r.l, 0x21, true));
	CHECK(lapic_match_dest(r.l, 0x23, true));
	CHECK(!lapic_match_dest(r.l, 0x22, true));
	CHECK(!lapic_match_dest(r.l, 0x31, true));
	CHECK(!lapic_match_dest(r.l, 0x11, true));
	CHECK(lapic_match_dest(r.l, 0xff, true));
	CHECK(lapic_match_dest(r.l, APIC_BROADCAST, true));
	/* Undefined DFR model: nothing. */
	wr(&r, APIC_DFR, 0x5fffffff);
	CHECK(!lapic_match_dest(r.l, 0x21, true));
	rig_fini(&r);

	/* x2APIC: 32-bit IDs, LDR = cluster << 16 | 1 << (id & 15). */
	rig_init_with(&r, 0x23, false, true, 0);
	CHECK_EQ(x2_enable(&r), 0);
	CHECK(lapic_match_dest(r.l, 0x23, false));
	CHECK(!lapic_match_dest(r.l, 0xff, false));
	CHECK(!lapic_match_dest(r.l, 0x10023, false));
	CHECK(lapic_match_dest(r.l, APIC_BROADCAST, false));
	CHECK(lapic_match_dest(r.l, 0x00020008, true));
	CHECK(lapic_match_dest(r.l, 0x0002ffff, true));
	CHECK(!lapic_match_dest(r.l, 0x00020001, true));
	CHECK(!lapic_match_dest(r.l, 0x00030008, true));
	CHECK(lapic_match_dest(r.l, APIC_BROADCAST, true));
	rig_fini(&r);
}

static void test_ipis(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_ICR_HIGH, 0x07000000);
	wr(&r, APIC_ICR_LOW, 0x40);
	CHECK_EQ(r.n_ipis, 1);
	CHECK_EQ(r.ipis[0].dest, 7);
	CHECK_EQ(r.ipis[0].dest_mode, 0);
	CHECK_EQ(r.ipis[0].dm, APIC_DM_FIXED);
	CHECK_EQ(r.ipis[0].vector, 0x40);
	CHECK_EQ(r.ipis[0].sh, APIC_SH_NONE);
	CHECK(!r.ipis[0].level);
	CHECK_EQ(rd(&r, APIC_ICR_LOW) & APIC_ICR_DELIVERY_STATUS, 0);
	/* Logical, lowest priority, level. */
	wr(&r, APIC_ICR_LOW, APIC_ICR_DEST_LOGICAL | (APIC_DM_LOWEST << 8) | APIC_ICR_TRIGGER_LEVEL |
				     APIC_ICR_LEVEL_ASSERT | 0x41);
	CHECK_EQ(r.n_ipis, 2);
	CHECK_EQ(r.ipis[1].dest_mode, 1);
	CHECK_EQ(r.ipis[1].dm, APIC_DM_LOWEST);
	CHECK(r.ipis[1].level);
	/* NMI, INIT, SIPI are always edge. */
	wr(&r, APIC_ICR_LOW, (APIC_DM_NMI << 8) | APIC_ICR_TRIGGER_LEVEL | APIC_ICR_LEVEL_ASSERT);
	CHECK_EQ(r.ipis[2].dm, APIC_DM_NMI);
	CHECK(!r.ipis[2].level);
	wr(&r, APIC_ICR_LOW, (APIC_DM_INIT << 8) | APIC_ICR_TRIGGER_LEVEL | APIC_ICR_LEVEL_ASSERT);
	CHECK_EQ(r.ipis[3].dm, APIC_DM_INIT);
	CHECK(!r.ipis[3].level);
	/* INIT level de-assert: nothing is sent. */
	wr(&r, APIC_ICR_LOW, (APIC_SH_ALL << 18) | (APIC_DM_INIT << 8) | APIC_ICR_TRIGGER_LEVEL);
	CHECK_EQ(r.n_ipis, 4);
	wr(&r, APIC_ICR_LOW, (APIC_DM_SIPI << 8) | 0x9a);
	CHECK_EQ(r.ipis[4].dm, APIC_DM_SIPI);
	CHECK_EQ(r.ipis[4].vector, 0x9a);
	CHECK_EQ(r.n_ipis, 5);
	/* Reserved delivery modes: dropped. SIPI with vector 0 is fine. */
	wr(&r, APIC_ICR_LOW, 3u << 8);
	wr(&r, APIC_ICR_LOW, 7u << 8);
	CHECK_EQ(r.n_ipis, 5);
	/* Shorthands. */
	wr(&r, APIC_ICR_LOW, (APIC_SH_ALL << 18) | 0x42);
	CHECK_EQ(r.ipis[5].sh, APIC_SH_ALL);
	wr(&r, APIC_ICR_LOW, (APIC_SH_OTHERS << 18) | (APIC_DM_NMI << 8));
	CHECK_EQ(r.ipis[6].sh, APIC_SH_OTHERS);
	CHECK_EQ(r.n_ipis, 7);
	wr(&r, APIC_ICR_LOW, (APIC_SH_SELF << 18) | 0x43);
	CHECK_EQ(r.n_ipis, 7);
	CHECK(irr_bit(&r, 0x43));
	/* A self-NMI is latched here (as KVM and QEMU do); self-INIT is ignored. */
	wr(&r, APIC_ICR_LOW, (APIC_SH_SELF << 18) | (APIC_DM_NMI << 8));
	CHECK(lapic_nmi_pending(r.l));
	lapic_ack_nmi(r.l);
	wr(&r, APIC_ICR_LOW, (APIC_SH_SELF << 18) | (APIC_DM_INIT << 8) | APIC_ICR_LEVEL_ASSERT);
	CHECK(!lapic_init_pending(r.l));
	CHECK_EQ(r.n_ipis, 7);
	/* An illegal vector is not sent, with fixed or lowest priority. */
	wr(&r, APIC_ICR_LOW, 0x0f);
	wr(&r, APIC_ICR_LOW, (APIC_DM_LOWEST << 8) | 0x01);
	CHECK_EQ(r.n_ipis, 7);
	CHECK_EQ(read_esr(&r), APIC_ESR_SEND_ILLEGAL);
	/* Writing ICR high alone sends nothing. */
	wr(&r, APIC_ICR_HIGH, 0x01000000);
	CHECK_EQ(r.n_ipis, 7);
	rig_fini(&r);
}

static void test_accept_events(void)
{
	struct rig r;
	uint8_t v = 0;
	rig_init(&r);
	unsigned c = r.changes;
	lapic_accept(r.l, 0, APIC_DM_NMI, false);
	CHECK(lapic_nmi_pending(r.l));
	CHECK(r.changes > c);
	lapic_ack_nmi(r.l);
	CHECK(!lapic_nmi_pending(r.l));
	lapic_accept(r.l, 0, APIC_DM_INIT, false);
	CHECK(lapic_init_pending(r.l));
	lapic_accept(r.l, 0x9a, APIC_DM_SIPI, false);
	CHECK(lapic_sipi_pending(r.l, &v));
	CHECK_EQ(v, 0x9a);
	/* INIT resets registers but keeps the latched SIPI for the CPU side. */
	wr(&r, APIC_TPR, 0x30);
	lapic_ack_init(r.l);
	lapic_init_reset(r.l);
	CHECK_EQ(rd(&r, APIC_TPR), 0);
	CHECK(lapic_sipi_pending(r.l, NULL));
	lapic_ack_sipi(r.l);
	CHECK(!lapic_sipi_pending(r.l, &v));
	CHECK(!lapic_init_pending(r.l));
	lapic_accept(r.l, 0, APIC_DM_EXTINT, false);
	CHECK(lapic_extint_pending(r.l));
	lapic_ack_extint(r.l);
	CHECK(!lapic_extint_pending(r.l));
	c = r.changes;
	lapic_accept(r.l, 0, APIC_DM_SMI, false);
	lapic_accept(r.l, 0x50, 3, false);
	lapic_accept(r.l, 0x50, 0xffff, true);
	CHECK_EQ(r.changes, c);
	CHECK(!lapic_nmi_pending(r.l));
	CHECK(!lapic_has_interrupt(r.l));
	/* lapic_reset drops latched events. */
	lapic_accept(r.l, 0, APIC_DM_NMI, false);
	lapic_accept(r.l, 0, APIC_DM_INIT, false);
	lapic_reset(r.l);
	CHECK(!lapic_nmi_pending(r.l));
	CHECK(!lapic_init_pending(r.l));
	rig_fini(&r);
}

static void test_init_reset_keeps_id_and_mode(void)
{
	struct rig r;
	rig_init_with(&r, 0x42, false, true, 0);
	enable(&r);
	wr(&r, APIC_ID, 0x0a000000);
	wr(&r, APIC_LDR, 0x80000000);
	wr(&r, APIC_LVT_TIMER, 0x30);
	lapic_accept(r.l, 0x90, APIC_DM_FIXED, false);
	lapic_init_reset(r.l);
	CHECK_EQ(rd(&r, APIC_ID), 0x0a000000);
	CHECK_EQ(rd(&r, APIC_LDR), 0);
	CHECK_EQ(rd(&r, APIC_SVR), 0xff);
	CHECK_EQ(rd(&r, APIC_LVT_TIMER), APIC_LVT_MASKED);
	CHECK_EQ(rd(&r, APIC_IRR + 0x40), 0);
	CHECK_EQ(lapic_get_base(r.l), 0xfee00800);
	CHECK_EQ(x2_enable(&r), 0);
	CHECK_EQ(lapic_msr_write(r.l, 0x80f, 0x1ff), 0);
	lapic_init_reset(r.l);
	CHECK(lapic_x2apic_mode(r.l));
	CHECK_EQ(msr(&r, 0x802), 0x42);
	CHECK_EQ(msr(&r, 0x80d), (0x4u << 16) | (1u << 2));
	CHECK_EQ(msr(&r, 0x80f), 0xff);
	rig_fini(&r);
}

static void test_lint_pins(void)
{
	struct rig r;
	rig_init_with(&r, 0, true, false, 0);
	/* BSP, virtual wire: LINT0 is ExtINT even before SVR is enabled. */
	unsigned c = r.changes;
	lapic_lint_line_set(r.l, 0, 1);
	CHECK(lapic_extint_pending(r.l));
	CHECK(r.changes > c);
	CHECK(!lapic_has_interrupt(r.l));
	lapic_set_lint(r.l, 0, 0);
	CHECK(!lapic_extint_pending(r.l));
	enable(&r);
	wr(&r, APIC_LVT_LINT0, APIC_LVT_MASKED | 0x700);
	lapic_set_lint(r.l, 0, 1);
	CHECK(!lapic_extint_pending(r.l));
	/* Unmasking while INTR is high makes ExtINT pending. */
	c = r.changes;
	wr(&r, APIC_LVT_LINT0, 0x700);
	CHECK(lapic_extint_pending(r.l));
	CHECK(r.changes > c);
	lapic_set_lint(r.l, 0, 0);

	/* LINT1 as NMI: rising edges only. */
	wr(&r, APIC_LVT_LINT1, APIC_DM_NMI << 8);
	lapic_set_lint(r.l, 1, 1);
	CHECK(lapic_nmi_pending(r.l));
	lapic_ack_nmi(r.l);
	lapic_set_lint(r.l, 1, 1);
	CHECK(!lapic_nmi_pending(r.l));
	lapic_set_lint(r.l, 1, 0);
	CHECK(!lapic_nmi_pending(r.l));
	lapic_set_lint(r.l, 1, 1);
	CHECK(lapic_nmi_pending(r.l));
	lapic_ack_nmi(r.l);
	lapic_set_lint(r.l, 1, 0);
	/* Masked: nothing. */
	wr(&r, APIC_LVT_LINT1, APIC_LVT_MASKED | (APIC_DM_NMI << 8));
	lapic_set_lint(r.l, 1, 1);
	CHECK(!lapic_nmi_pending(r.l));
	lapic_set_lint(r.l, 1, 0);

	/* Fixed, edge, active low: the falling wire edge is the assertion. */
	wr(&r, APIC_LVT_LINT1, APIC_LVT_POLARITY_LOW | 0x41);
	lapic_set_lint(r.l, 1, 1);
	CHECK(!irr_bit(&r, 0x41));
	lapic_set_lint(r.l, 1, 0);
	CHECK(irr_bit(&r, 0x41));
	CHECK(!tmr_bit(&r, 0x41));
	CHECK_EQ(lapic_ack(r.l), 0x41);
	wr(&r, APIC_EOI, 0);

	/* Fixed, level: Remote IRR until EOI, then again while still asserted. */
	wr(&r, APIC_LVT_LINT0, APIC_LVT_LEVEL | 0x42);
	lapic_set_lint(r.l, 0, 1);
	CHECK(irr_bit(&r, 0x42));
	CHECK(tmr_bit(&r, 0x42));
	CHECK(rd(&r, APIC_LVT_LINT0) & APIC_LVT_REMOTE_IRR);
	CHECK_EQ(lapic_ack(r.l), 0x42);
	lapic_set_lint(r.l, 0, 1); /* no new delivery while Remote IRR is set */
	CHECK(!irr_bit(&r, 0x42));
	wr(&r, APIC_EOI, 0);
	CHECK_EQ(r.n_eois, 1);
	CHECK(irr_bit(&r, 0x42));
	CHECK(rd(&r, APIC_LVT_LINT0) & APIC_LVT_REMOTE_IRR);
	CHECK_EQ(lapic_ack(r.l), 0x42);
	lapic_set_lint(r.l, 0, 0);
	wr(&r, APIC_EOI, 0);
	CHECK(!irr_bit(&r, 0x42));
	CHECK_EQ(rd(&r, APIC_LVT_LINT0) & APIC_LVT_REMOTE_IRR, 0);
	/* Remote IRR is read-only; switching to edge clears it. */
	wr(&r, APIC_LVT_LINT0, APIC_LVT_REMOTE_IRR | 0x42);
	CHECK_EQ(rd(&r, APIC_LVT_LINT0), 0x42);

	/* LINT0 as INIT. */
	wr(&r, APIC_LVT_LINT0, APIC_DM_INIT << 8);
	lapic_set_lint(r.l, 0, 1);
	CHECK(lapic_init_pending(r.l));
	lapic_set_lint(r.l, 0, 0);
	/* Nonexistent pin. */
	lapic_set_lint(r.l, 2, 1);
	lapic_set_lint(r.l, 0xffffffff, 1);

	/* Globally disabled: LINT0 is INTR, LINT1 is NMI. */
	CHECK_EQ(lapic_set_base(r.l, LAPIC_BASE_DEFAULT), 0);
	CHECK(!lapic_extint_pending(r.l));
	lapic_set_lint(r.l, 0, 1);
	CHECK(lapic_extint_pending(r.l));
	lapic_set_lint(r.l, 0, 0);
	CHECK(!lapic_extint_pending(r.l));
	lapic_set_lint(r.l, 1, 0);
	lapic_set_lint(r.l, 1, 1);
	CHECK(lapic_nmi_pending(r.l));
	rig_fini(&r);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	enable(&r);
	wr(&r, APIC_TPR, 0x20);
	wr(&r, APIC_LDR, 0x01000000);
	/* Wrong sizes and unaligned offsets: reads 0, writes ignored. */
	const unsigned sizes[] = { 1, 2, 8 };
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		CHECK_EQ(lapic_mmio_read(r.l, APIC_VERSION, sizes[i]), 0);
		lapic_mmio_write(r.l, APIC_TPR, 0xff, sizes[i]);
		lapic_mmio_write(r.l, APIC_EOI, 0, sizes[i]);
	}
	CHECK_EQ(lapic_mmio_read(r.l, APIC_VERSION + 4, 4), 0);
	lapic_mmio_write(r.l, APIC_TPR + 4, 0xff, 4);
	lapic_mmio_write(r.l, APIC_TPR + 1, 0xff, 4);
	CHECK_EQ(lapic_mmio_read(r.l, 0x1000, 4), 0);
	lapic_mmio_write(r.l, 0x1000 + APIC_TPR, 0xff, 4);
	lapic_mmio_write(r.l, UINT64_MAX - 3, 0xff, 4);
	CHECK_EQ(rd(&r, APIC_TPR), 0x20);
	CHECK_EQ(read_esr(&r), 0);
	/* Every unimplemented aligned offset reads 0. */
	for (unsigned off = 0; off < 0x1000; off += 16) {
		if (off == APIC_ESR || off == APIC_TIMER_CCR)
			continue;
		uint32_t v = rd(&r, off);
		if (off < 0x20 || (off >= 0x40 && off < 0x80) || (off >= 0x290 && off < 0x2f0) ||
		    (off >= 0x3a0 && off < 0x3e0) || off >= 0x3f0)
			CHECK_EQ(v, 0);
	}
	CHECK_EQ(read_esr(&r), APIC_ESR_ILLEGAL_REG);

	/* Random writes over the page, the bus ops, and the MSRs; then the
	 * LAPIC must still work after a reset. */
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t x = xorshift(&seed);
		unsigned off = (unsigned)(x & 0xfff);
		if ((x >> 12) & 1)
			off &= ~0xfu;
		unsigned size = 1u << ((x >> 13) & 3);
		uint64_t val = xorshift(&seed);
		switch ((x >> 16) & 7) {
		case 0:
			(void)lapic_bus_ops.read(r.l, off, size);
			break;
		case 1: {
			uint64_t v;
			uint32_t m = (uint32_t)(0x800 + (val & 0xff));
			if (val & 0x100)
				m = (val & 0x200) ? LAPIC_MSR_TSC_DEADLINE : LAPIC_MSR_APIC_BASE;
			int rc;
			if (lapic_msr_read(r.l, m, &v) == 0 && (val & 0x400))
				rc = lapic_msr_write(r.l, m, v ^ (val >> 32));
			else
				rc = lapic_msr_write(r.l, m, val >> 20);
			CHECK(rc == 0 || rc == -EINVAL);
			break;
		}
		case 2:
			lapic_accept(r.l, (uint8_t)val, (unsigned)(val >> 8) & 7, (val >> 11) & 1);
			break;
		case 3:
			lapic_set_lint(r.l, (unsigned)(val & 1), (int)((val >> 2) & 1));
			break;
		case 4:
			if (lapic_has_interrupt(r.l))
				(void)lapic_ack(r.l);
			break;
		case 5:
			r.tsc += val & 0xffff;
			set_time(&r, r.clock.paused_at + (int64_t)(val & 0xfffff));
			break;
		default:
			lapic_bus_ops.write(r.l, off, val, size);
			break;
		}
		(void)lapic_match_dest(r.l, (uint32_t)val, (val >> 40) & 1);
		(void)lapic_extint_pending(r.l);
		CHECK(lapic_get_ppr(r.l) <= 0xff);
	}
	/* Whatever state it reached, a reset brings back a working xAPIC. */
	lapic_reset(r.l);
	set_time(&r, r.clock.paused_at + 1);
	CHECK_EQ(rd(&r, APIC_VERSION), 0x00050014);
	CHECK_EQ(rd(&r, APIC_SVR), 0xff);
	enable(&r);
	lapic_accept(r.l, 0x77, APIC_DM_FIXED, false);
	CHECK_EQ(lapic_ack(r.l), 0x77);
	rig_fini(&r);
}

/* Saves from, points to's clock at from's virtual time and loads into to. */
static int save_load(struct rig *from, struct rig *to, struct statebuf *sb, char *why, size_t why_len)
{
	sb_init(sb);
	CHECK_EQ(device_save(lapic_device(from->l), sb), 0);
	vclock_set_now(&to->clock, vclock_now(&from->clock));
	to->tsc = from->tsc;
	struct state_reader sr;
	sr_init(&sr, sb->data, sb->len);
	int rc = device_load(lapic_device(to->l), &sr, why, why_len);
	if (rc == 0)
		CHECK_EQ(sr.left, 0);
	return rc;
}

/* Writes len bytes at byte offset off of field name (native byte order, as saved). */
static void rec_set(struct statebuf *sb, const struct rec_field *fs, unsigned n, const char *name,
		    size_t off, const void *value, size_t len)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(fs[i].name, name) == 0) {
			CHECK(off + len <= fs[i].size);
			if (off + len <= fs[i].size)
				memcpy(sb->data + fs[i].at + off, value, len);
			return;
		}
	}
	CHECK_STR(name, "(a field of the record)");
}

static void rec_set_u32(struct statebuf *sb, const struct rec_field *fs, unsigned n, const char *name,
			size_t index, uint32_t value)
{
	rec_set(sb, fs, n, name, index * 4, &value, 4);
}

static void rec_set_u64(struct statebuf *sb, const struct rec_field *fs, unsigned n, const char *name,
			uint64_t value)
{
	rec_set(sb, fs, n, name, 0, &value, 8);
}

/* Every xAPIC register reads the same on both sides (unimplemented offsets
 * set ESR bits on both alike). */
static void same_xapic_regs(struct rig *a, struct rig *b)
{
	for (unsigned off = 0; off < 0x400; off += 16)
		CHECK_EQ(rd(b, off), rd(a, off));
}

/* What the CPU side and the bus would see next, the same on both sides:
 * acks (with EOIs in between), EOI broadcasts, the timer. */
static void same_behaviour(struct rig *a, struct rig *b, uint8_t *acked, unsigned n_acks)
{
	for (unsigned i = 0; i < n_acks; i++) {
		CHECK_EQ(lapic_has_interrupt(b->l), lapic_has_interrupt(a->l));
		int va = lapic_ack(a->l), vb = lapic_ack(b->l);
		CHECK_EQ(vb, va);
		acked[i] = (uint8_t)va;
		wr(a, APIC_EOI, 0);
		wr(b, APIC_EOI, 0);
	}
	CHECK_EQ(b->n_eois, a->n_eois);
	for (unsigned i = 0; i < a->n_eois && i < b->n_eois && i < ARRAY_SIZE(a->eois); i++)
		CHECK_EQ(b->eois[i], a->eois[i]);
}

/* An xAPIC with requests pending and in service (edge and level), TPR,
 * cluster logical addressing, a level LINT0 waiting for its EOI, an error
 * latched, NMI and SIPI pending, and a periodic timer mid-count; then an
 * x2APIC with a TSC deadline armed. Each copy, in a fresh LAPIC at the same
 * virtual time, reads and acks the same, and its timer fires at the same
 * virtual time; the load itself calls no op. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	enable(&a);
	wr(&a, APIC_TPR, 0x20);
	wr(&a, APIC_LDR, 0x24000000);
	wr(&a, APIC_DFR, APIC_DFR_CLUSTER);
	wr(&a, APIC_LVT_LINT0, APIC_LVT_LEVEL | 0x58);
	lapic_set_lint(a.l, 0, 1);
	wr(&a, APIC_LVT_LINT1, APIC_LVT_MASKED | (APIC_DM_NMI << APIC_LVT_DM_SHIFT));
	wr(&a, APIC_LVT_ERROR, 0xe0);
	lapic_accept(a.l, 0x41, APIC_DM_FIXED, false);
	lapic_accept(a.l, 0x63, APIC_DM_FIXED, false);
	lapic_accept(a.l, 0x92, APIC_DM_FIXED, true);
	CHECK_EQ(lapic_ack(a.l), 0x92);
	lapic_accept(a.l, 0x07, APIC_DM_FIXED, false); /* illegal: ESR, error LVT */
	lapic_accept(a.l, 0, APIC_DM_NMI, false);
	lapic_accept(a.l, 0x9a, APIC_DM_SIPI, false);
	wr(&a, APIC_ICR_HIGH, 0x05000000);
	wr(&a, APIC_ICR_LOW, APIC_ICR_LEVEL_ASSERT | 0x31);
	CHECK_EQ(a.n_ipis, 1);
	wr(&a, APIC_TIMER_DCR, 0x1); /* divide by 4 */
	wr(&a, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x70);
	wr(&a, APIC_TIMER_ICR, 100000); /* 400 us */
	set_time(&a, T0 + 150000);

	/* What a plain reset costs in intr_changed calls: the load's reset. */
	unsigned c0 = b.changes;
	lapic_reset(b.l);
	unsigned reset_changes = b.changes - c0;
	c0 = b.changes;
	struct statebuf sb;
	char why[256] = "";
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_STR(lapic_device(b.l)->name, "lapic3");
	CHECK_EQ(b.changes - c0, reset_changes);
	CHECK_EQ(b.n_ipis, 0);
	CHECK_EQ(b.n_eois, 0);

	CHECK_EQ(rd(&b, APIC_TIMER_CCR), 100000 - 150000 / 4);
	CHECK_EQ(vclock_next_deadline(&b.clock), T0 + 400000);
	CHECK_EQ(lapic_get_base(b.l), lapic_get_base(a.l));
	CHECK_EQ(lapic_get_ppr(b.l), 0x90);
	CHECK(lapic_nmi_pending(b.l));
	uint8_t sipi = 0;
	CHECK(lapic_sipi_pending(b.l, &sipi));
	CHECK_EQ(sipi, 0x9a);
	CHECK(!lapic_init_pending(b.l));
	CHECK(!lapic_extint_pending(b.l));
	CHECK(lapic_match_dest(b.l, 0x24, true));
	CHECK(!lapic_match_dest(b.l, 0x14, true));
	CHECK_EQ(read_esr(&b), read_esr(&a));
	same_xapic_regs(&a, &b);
	uint8_t acked[6];
	same_behaviour(&a, &b, acked, ARRAY_SIZE(acked));
	/* The error vector first; then nothing above the level 0x92 in
	 * service (spurious), whose EOI is broadcast; then the rest by class,
	 * the level LINT0 vector coming back after each EOI while its wire
	 * stays high. */
	CHECK_EQ(acked[0], 0xe0);
	CHECK_EQ(acked[1], 0xff);
	CHECK_EQ(acked[2], 0x63);
	CHECK_EQ(acked[3], 0x58);
	CHECK_EQ(acked[4], 0x58);
	CHECK_EQ(acked[5], 0x58);
	CHECK_EQ(a.n_eois, 4);
	CHECK_EQ(a.eois[0], 0x92);
	/* The timer goes on at the same virtual times. */
	set_time(&a, T0 + 399999);
	set_time(&b, T0 + 399999);
	CHECK_EQ(rd(&b, APIC_TIMER_CCR), rd(&a, APIC_TIMER_CCR));
	CHECK(!irr_bit(&b, 0x70));
	set_time(&a, T0 + 400000);
	set_time(&b, T0 + 400000);
	CHECK(irr_bit(&a, 0x70));
	CHECK(irr_bit(&b, 0x70));
	CHECK_EQ(vclock_next_deadline(&b.clock), T0 + 800000);
	CHECK_EQ(vclock_next_deadline(&a.clock), T0 + 800000);
	same_xapic_regs(&a, &b);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);

	/* x2APIC, TSC deadline 5000 ticks (2500 ns) ahead, an x2APIC ICR. */
	rig_init(&a);
	rig_init(&b);
	CHECK_EQ(x2_enable(&a), 0);
	CHECK_EQ(lapic_msr_write(a.l, 0x80f, APIC_SVR_ENABLE | 0xf0), 0);
	CHECK_EQ(lapic_msr_write(a.l, 0x832, APIC_LVT_TIMER_TSC_DEADLINE | 0x71), 0);
	a.tsc = 1000000;
	CHECK_EQ(lapic_msr_write(a.l, LAPIC_MSR_TSC_DEADLINE, a.tsc + 5000), 0);
	CHECK_EQ(lapic_msr_write(a.l, 0x830, (7ULL << 32) | 0x40), 0);
	lapic_accept(a.l, 0x55, APIC_DM_FIXED, false);
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	CHECK(lapic_x2apic_mode(b.l));
	CHECK_EQ(lapic_get_id(b.l), 3);
	CHECK_EQ(vclock_next_deadline(&b.clock), T0 + 2500);
	for (uint32_t m = LAPIC_MSR_X2APIC_FIRST; m < LAPIC_MSR_X2APIC_FIRST + 0x40; m++) {
		uint64_t va = 0, vb = 0;
		int ra = lapic_msr_read(a.l, m, &va), rb = lapic_msr_read(b.l, m, &vb);
		CHECK_EQ(rb, ra);
		CHECK_EQ(vb, va);
	}
	CHECK_EQ(msr(&b, LAPIC_MSR_TSC_DEADLINE), 1005000);
	set_time(&a, T0 + 2499);
	set_time(&b, T0 + 2499);
	CHECK_EQ(msr(&b, 0x820 + 0x71 / 32) & (1u << (0x71 % 32)), 0); /* IRR: MMIO is off in x2APIC mode */
	CHECK_EQ(lapic_ack(a.l), 0x55);
	CHECK_EQ(lapic_ack(b.l), 0x55);
	set_time(&a, T0 + 2500);
	set_time(&b, T0 + 2500);
	CHECK_EQ(lapic_ack(a.l), 0x71);
	CHECK_EQ(lapic_ack(b.l), 0x71);
	CHECK_EQ(msr(&b, LAPIC_MSR_TSC_DEADLINE), 0);
	CHECK_EQ(vclock_next_deadline(&b.clock), VCLOCK_NEVER);
	CHECK_EQ(b.n_ipis, 0);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* A random state within what the registers and the timer could hold, so
 * that most loads succeed and the sweep meets odd but legal states. */
static void random_plausible(struct statebuf *sb, const struct rec_field *fs, unsigned nf, uint64_t *seed,
			     int64_t now)
{
	uint64_t x = xorshift(seed);
	for (unsigned i = 0; i < 8; i++) {
		uint32_t lo = i ? 0xffffffffu : 0xffff0000u;
		rec_set_u32(sb, fs, nf, "irr", i, (uint32_t)xorshift(seed) & (uint32_t)xorshift(seed) & lo);
		rec_set_u32(sb, fs, nf, "isr", i, (uint32_t)xorshift(seed) & (uint32_t)xorshift(seed) & lo);
		rec_set_u32(sb, fs, nf, "tmr", i, (uint32_t)xorshift(seed) & lo);
	}
	rec_set_u32(sb, fs, nf, "tpr", 0, (uint32_t)x & 0xff);
	rec_set_u32(sb, fs, nf, "svr", 0, (uint32_t)(x >> 8) & 0x3ff);
	uint32_t lvt_timer = (uint32_t)(x >> 20) & (0xff | APIC_LVT_MASKED | APIC_LVT_TIMER_MODE_MASK);
	rec_set_u32(sb, fs, nf, "lvt", 1, lvt_timer);
	uint32_t lint = (uint32_t)xorshift(seed) & 0x1e7ff;
	if (!(lint & APIC_LVT_LEVEL))
		lint &= ~APIC_LVT_REMOTE_IRR;
	rec_set_u32(sb, fs, nf, "lvt", 4 + (x >> 40) % 2, lint);
	rec_set_u32(sb, fs, nf, "timer_dcr", 0, (uint32_t)(x >> 42) & 0xb);
	uint8_t bools[2] = { (x >> 46) & 1, (x >> 47) & 1 };
	rec_set(sb, fs, nf, "lint_level", 0, bools, 2);
	/* A running count with whatever origin, period and count (consistent
	 * with its deadline), or a TSC deadline armed at any time. */
	uint64_t y = xorshift(seed);
	uint8_t running = (lvt_timer & APIC_LVT_TIMER_MODE_MASK) != APIC_LVT_TIMER_TSC_DEADLINE && (y & 1);
	rec_set(sb, fs, nf, "timer_running", 0, &running, 1);
	int64_t period = 1 + (int64_t)((y >> 1) % ((uint64_t)UINT32_MAX * 128));
	if (y & 2)
		period = 1 + (int64_t)((y >> 2) & 0xfff);
	int64_t start = now - (int64_t)((y >> 24) % (uint64_t)(2 * period)) + period / 2;
	int64_t deadline = running ? ((y >> 60) ? start + period : VCLOCK_NEVER) : VCLOCK_NEVER;
	uint64_t tscd = 0;
	if (!running && (lvt_timer & APIC_LVT_TIMER_MODE_MASK) == APIC_LVT_TIMER_TSC_DEADLINE && (y & 4)) {
		tscd = 1 + (y >> 8);
		deadline = now + (int64_t)((y >> 16) & 0xfffff) - 0x1000;
		if (deadline < 0)
			deadline = 0;
	}
	rec_set_u32(sb, fs, nf, "timer_initial", 0, 1 + (uint32_t)(y >> 33));
	rec_set_u64(sb, fs, nf, "timer_period", (uint64_t)period);
	rec_set_u64(sb, fs, nf, "timer_start", (uint64_t)start);
	rec_set_u64(sb, fs, nf, "timer_deadline", (uint64_t)deadline);
	rec_set_u64(sb, fs, nf, "tsc_deadline", tscd);
}

/* Guest and board traffic over a loaded LAPIC; then a reset must give a
 * working one. Under ASan and UBSan nothing may be reported. */
static void sweep(struct rig *r, uint64_t *seed)
{
	for (unsigned i = 0; i < 300; i++) {
		uint64_t x = xorshift(seed), val = xorshift(seed);
		unsigned off = (unsigned)(x & 0xff0);
		switch ((x >> 16) & 7) {
		case 0:
			(void)rd(r, off);
			break;
		case 1: {
			uint64_t v;
			uint32_t m = (uint32_t)(0x800 + (val & 0x3f));
			if (val & 0x100)
				m = (val & 0x200) ? LAPIC_MSR_TSC_DEADLINE : LAPIC_MSR_APIC_BASE;
			int rc;
			if (lapic_msr_read(r->l, m, &v) == 0 && (val & 0x400))
				rc = lapic_msr_write(r->l, m, v ^ ((val >> 32) & 0xff));
			else
				rc = lapic_msr_write(r->l, m, val >> 20);
			CHECK(rc == 0 || rc == -EINVAL);
			break;
		}
		case 2:
			lapic_accept(r->l, (uint8_t)val, (unsigned)(val >> 8) & 7, (val >> 11) & 1);
			break;
		case 3:
			lapic_set_lint(r->l, (unsigned)(val & 1), (int)((val >> 2) & 1));
			break;
		case 4:
			(void)lapic_ack(r->l);
			wr(r, APIC_EOI, 0);
			break;
		case 5:
			r->tsc += val & 0xffff;
			set_time(r, r->clock.paused_at + (int64_t)(val & 0xfffff));
			break;
		default:
			wr(r, off, (uint32_t)val);
			break;
		}
		(void)rd(r, APIC_TIMER_CCR);
		(void)lapic_extint_pending(r->l);
		(void)lapic_match_dest(r->l, (uint32_t)val, (val >> 40) & 1);
	}
	/* The timer as it stands runs out (or is far away: skip ahead once). */
	set_time(r, r->clock.paused_at + 0x10000000000LL);
	lapic_reset(r->l);
	enable(r);
	lapic_accept(r->l, 0x77, APIC_DM_FIXED, false);
	CHECK_EQ(lapic_ack(r->l), 0x77);
	wr(r, APIC_TIMER_DCR, 0xb);
	wr(r, APIC_LVT_TIMER, 0x78);
	wr(r, APIC_TIMER_ICR, 10);
	set_time(r, r->clock.paused_at + 10);
	CHECK(irr_bit(r, 0x78));
}

/* Records whose fields break an invariant are refused with the LAPIC left
 * in its reset state; random records either fail to load or give a LAPIC
 * that survives any guest traffic. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	/* No TSC-deadline mode here: that mode is one a record can ask for. */
	rig_init_with(&a, 3, false, true, 0);
	rig_init_with(&b, 3, false, true, 0);
	enable(&a);
	wr(&a, APIC_TIMER_DCR, 0xb);
	wr(&a, APIC_LVT_TIMER, 0x30);
	wr(&a, APIC_TIMER_ICR, 1000);
	set_time(&a, T0 + 100);
	struct statebuf sb;
	char why[256];
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	struct rec_field fs[64];
	unsigned nf = rec_fields(&sb, lapic_device(a.l), fs, ARRAY_SIZE(fs));
	CHECK_EQ(nf, 26);

	static const struct {
		const char *field;
		unsigned index;
		uint64_t value;
		unsigned size;
		const char *why;
	} bad[] = {
		{ "apic_base", 0, 0xfee00a00, 8, "lapic3: IA32_APIC_BASE out of range" },
		{ "apic_base", 0, 0xfee00900, 8, "lapic3: IA32_APIC_BASE out of range" },
		{ "apic_base", 0, 0xfee00400, 8, "lapic3: IA32_APIC_BASE out of range" },
		{ "apic_base", 0, 0x1000fee00800, 8, "lapic3: IA32_APIC_BASE out of range" },
		{ "apic_base", 0, 0xfee00c00, 8, "lapic3: ID or LDR out of range" },
		{ "id", 0, 0x100, 4, "lapic3: ID or LDR out of range" },
		{ "ldr", 0, 0x01000001, 4, "lapic3: ID or LDR out of range" },
		{ "tpr", 0, 0x100, 4, "lapic3: TPR out of range" },
		{ "dfr", 0, 0xf0000000, 4, "lapic3: DFR out of range" },
		{ "svr", 0, 0x4ff, 4, "lapic3: SVR out of range" },
		{ "esr_pending", 0, 0x100, 4, "lapic3: ESR out of range" },
		{ "irr", 0, 0x20, 4, "lapic3: IRR, ISR or TMR out of range" },
		{ "isr", 0, 0x8000, 4, "lapic3: IRR, ISR or TMR out of range" },
		{ "lvt", 1, APIC_LVT_TIMER_TSC_DEADLINE | 0x30, 4, "lapic3: LVT out of range" },
		{ "lvt", 1, (3u << 17) | 0x30, 4, "lapic3: LVT out of range" },
		{ "lvt", 6, (APIC_DM_NMI << APIC_LVT_DM_SHIFT) | 0x30, 4, "lapic3: LVT out of range" },
		{ "lvt", 4, APIC_LVT_REMOTE_IRR | 0x30, 4, "lapic3: LVT out of range" },
		{ "lvt", 2, APIC_LVT_DELIVERY_STATUS, 4, "lapic3: LVT out of range" },
		{ "icr", 0, APIC_ICR_DELIVERY_STATUS, 8, "lapic3: ICR out of range" },
		{ "icr", 0, 1ULL << 32, 8, "lapic3: ICR out of range" },
		{ "timer_dcr", 0, 0x4, 4, "lapic3: timer divide configuration out of range" },
		{ "timer_initial", 0, 0, 4, "lapic3: running timer count inconsistent" },
		{ "timer_period", 0, 0, 8, "lapic3: running timer count inconsistent" },
		{ "timer_period", 0, (uint64_t)-1000, 8, "lapic3: running timer count inconsistent" },
		{ "timer_period", 0, 1ULL << 40, 8, "lapic3: running timer count inconsistent" },
		{ "timer_start", 0, (uint64_t)INT64_MIN, 8, "lapic3: running timer count inconsistent" },
		{ "timer_start", 0, (uint64_t)INT64_MAX - 10, 8, "lapic3: running timer count inconsistent" },
		{ "timer_deadline", 0, T0 + 999, 8, "lapic3: running timer count inconsistent" },
		{ "timer_deadline", 0, (uint64_t)-5, 8, "lapic3: timer deadline before time 0" },
		{ "tsc_deadline", 0, 5, 8, "lapic3: timer state does not match the timer mode" },
		{ "timer_running", 0, 0, 1, "lapic3: timer armed while stopped" },
		{ "timer_running", 0, 2, 1, "device lapic3: field timer_running is not a boolean" },
		{ "lint_level", 1, 0x80, 1, "device lapic3: field lint_level is not a boolean" },
		{ "extint_msg", 0, 0xff, 1, "device lapic3: field extint_msg is not a boolean" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		rec_set(&copy, fs, nf, bad[i].field, bad[i].index * bad[i].size, &bad[i].value, bad[i].size);
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		CHECK_EQ(device_load(lapic_device(b.l), &sr, why, sizeof(why)), -EINVAL);
		CHECK_STR(why, bad[i].why);
		/* The reset state. */
		CHECK_EQ(lapic_get_base(b.l), 0xfee00800);
		CHECK_EQ(rd(&b, APIC_SVR), 0xff);
		CHECK_EQ(rd(&b, APIC_TIMER_ICR), 0);
		CHECK_EQ(rd(&b, APIC_TIMER_CCR), 0);
		CHECK_EQ(rd(&b, APIC_LVT_TIMER), APIC_LVT_MASKED);
		CHECK_EQ(vclock_next_deadline(&b.clock), VCLOCK_NEVER);
		CHECK(!lapic_extint_pending(b.l));
		sb_free(&copy);
	}
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);

	/* Random records over a LAPIC with TSC-deadline mode: every field
	 * random, every field random but the booleans, a few bytes changed, or
	 * a plausible state. */
	rig_init(&a);
	rig_init(&b);
	enable(&a);
	wr(&a, APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x30);
	wr(&a, APIC_TIMER_ICR, 123456);
	lapic_accept(a.l, 0x44, APIC_DM_FIXED, true);
	set_time(&a, T0 + 1000);
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	nf = rec_fields(&sb, lapic_device(a.l), fs, ARRAY_SIZE(fs));
	uint64_t seed = 0xa4093822299f31d0ULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		unsigned kind = round % 4;
		if (kind < 2) {
			for (unsigned i = 0; i < nf; i++)
				for (uint32_t k = 0; k < fs[i].size; k++)
					copy.data[fs[i].at + k] =
						(uint8_t)xorshift(&seed) & (kind == 1 && fs[i].is_bool ? 1 : 0xff);
		} else if (kind == 2) {
			for (unsigned c = 1 + xorshift(&seed) % 2; c > 0; c--) {
				const struct rec_field *f = &fs[xorshift(&seed) % nf];
				uint64_t x = xorshift(&seed);
				uint8_t *at = copy.data + f->at + x % f->size;
				if (f->is_bool)
					*at = (x >> 32) & 7 ? (x >> 35) & 1 : (uint8_t)(x >> 40);
				else if ((x >> 32) & 1)
					*at ^= (uint8_t)(1u << ((x >> 33) & 7));
				else
					*at = (uint8_t)(x >> 40);
			}
		} else {
			random_plausible(&copy, fs, nf, &seed, vclock_now(&a.clock));
		}
		/* Each round starts from a's time: the sweep moves b's clock on. */
		vclock_set_now(&b.clock, vclock_now(&a.clock));
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		int rc = device_load(lapic_device(b.l), &sr, why, sizeof(why));
		sb_free(&copy);
		if (rc < 0) {
			CHECK_EQ(rc, -EINVAL);
			CHECK_EQ(vclock_next_deadline(&b.clock), VCLOCK_NEVER);
			continue;
		}
		loaded++;
		sweep(&b, &seed);
	}
	CHECK(loaded >= 100);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_reset_values), TEST_CASE(test_write_masks),
	   TEST_CASE(test_software_disable), TEST_CASE(test_irr_isr_ppr),
	   TEST_CASE(test_acceptance_priority), TEST_CASE(test_eoi_broadcast),
	   TEST_CASE(test_esr_and_illegal_vectors), TEST_CASE(test_timer_oneshot),
	   TEST_CASE(test_timer_periodic), TEST_CASE(test_timer_min_period),
	   TEST_CASE(test_timer_divide), TEST_CASE(test_tsc_deadline),
	   TEST_CASE(test_x2apic_msrs), TEST_CASE(test_apic_base_transitions),
	   TEST_CASE(test_dest_match), TEST_CASE(test_ipis), TEST_CASE(test_accept_events),
	   TEST_CASE(test_init_reset_keeps_id_and_mode), TEST_CASE(test_lint_pins),
	   TEST_CASE(test_garbage), TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
