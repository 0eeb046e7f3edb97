/* SPDX-License-Identifier: MIT */
/*
 * The HPET model (hw/timer/hpet.c) at register level against IA-PC HPET
 * 1.0a: capabilities, the main counter (halted, running, written), one-shot
 * and periodic comparators (Tn_VAL_SET_CNF), 32-bit mode, edge and level
 * interrupts with GINTR_STA, IOAPIC routing and legacy replacement mode,
 * 4-byte accesses to halves, reset. Virtual time is frozen and moved by hand.
 */
#include <stdlib.h>

#include "check.h"
#include "core/vclock.h"
#include "hw/timer/hpet.h"

struct rig {
	struct vclock clock;
	struct hpet *hpet;
	int legacy_level[2]; /* IRQ 0, IRQ 8 */
	unsigned legacy_edges[2];
	int gsi_level[24];
	unsigned gsi_edges[24];
	int legacy_on;
};

static void legacy_irq(void *opaque, unsigned line, int level)
{
	struct rig *r = opaque;
	unsigned i = line == 0 ? 0 : 1;
	if (level && !r->legacy_level[i])
		r->legacy_edges[i]++;
	r->legacy_level[i] = level;
}

static void gsi_irq(void *opaque, unsigned gsi, int level)
{
	struct rig *r = opaque;
	CHECK(gsi >= 20 && gsi < 24);
	if (level && !r->gsi_level[gsi])
		r->gsi_edges[gsi]++;
	r->gsi_level[gsi] = level;
}

static void legacy_changed(void *opaque, bool on)
{
	struct rig *r = opaque;
	r->legacy_on = on;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	r->clock.paused_at = 0;
	struct hpet_wiring w = {
		.legacy = { { legacy_irq, r, 0 }, { legacy_irq, r, 8 } },
		.ioapic = gsi_irq,
		.ioapic_opaque = r,
		.legacy_changed = legacy_changed,
		.opaque = r,
	};
	r->hpet = hpet_create(&r->clock, &w);
	if (!r->hpet)
		abort();
}

static void rig_fini(struct rig *r)
{
	hpet_destroy(r->hpet);
	vclock_destroy(&r->clock);
}

static void at_ns(struct rig *r, int64_t ns)
{
	r->clock.paused_at = ns;
	vclock_run_expired(&r->clock, ns);
}

static uint64_t rd(struct rig *r, uint64_t off)
{
	return hpet_bus_ops.read(r->hpet, off, 8);
}

static void wr(struct rig *r, uint64_t off, uint64_t v)
{
	hpet_bus_ops.write(r->hpet, off, v, 8);
}

#define TCONF(n) (HPET_TIMER_BASE(n) + HPET_TN_CONF)
#define TCMP(n) (HPET_TIMER_BASE(n) + HPET_TN_CMP)

static void test_capabilities_and_counter(void)
{
	struct rig r;
	rig_init(&r);
	uint64_t cap = rd(&r, HPET_GCAP_ID);
	CHECK_EQ(cap >> 32, 10000000);              /* 10 ns in fs */
	CHECK_EQ(cap & 0xff, 1);                    /* revision */
	CHECK_EQ((cap >> 8) & 0x1f, HPET_TIMERS - 1);
	CHECK(cap & (1u << 13));                    /* 64-bit counter */
	CHECK(cap & (1u << 15));                    /* legacy replacement capable */
	CHECK_EQ((cap >> 16) & 0xffff, 0x8086);
	CHECK_EQ((uint32_t)cap, hpet_block_id());
	CHECK_EQ(hpet_bus_ops.read(r.hpet, HPET_GCAP_ID + 4, 4), 10000000);
	uint64_t t0 = rd(&r, TCONF(0));
	CHECK_EQ(t0 >> 32, HPET_ROUTE_CAP);
	CHECK(t0 & HPET_TN_PERIODIC_CAP);
	CHECK(t0 & HPET_TN_SIZE_CAP);
	CHECK_EQ(rd(&r, TCMP(0)), UINT64_MAX);
	/* Halted: the counter does not move and may be written. */
	at_ns(&r, 5000);
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 0);
	wr(&r, HPET_MAIN_CNT, 1000);
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 1000);
	/* Running: 100 MHz from the value it had. */
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE);
	at_ns(&r, 5000 + 2000);
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 1200);
	CHECK_EQ(hpet_bus_ops.read(r.hpet, HPET_MAIN_CNT, 4), 1200);
	CHECK_EQ(hpet_bus_ops.read(r.hpet, HPET_MAIN_CNT + 4, 4), 0);
	wr(&r, HPET_MAIN_CNT, 0); /* ignored while running */
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 1200);
	/* Halting keeps the value. */
	wr(&r, HPET_GEN_CONF, 0);
	at_ns(&r, 100000);
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 1200);
	rig_fini(&r);
}

static void test_oneshot_and_periodic(void)
{
	struct rig r;
	rig_init(&r);
	/* Timer 2, one-shot, edge, routed to IOAPIC input 21. */
	wr(&r, TCONF(2), HPET_TN_ENABLE | 21u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(2), 500);
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE);
	CHECK_EQ(vclock_next_deadline(&r.clock), 5000);
	at_ns(&r, 4990);
	CHECK_EQ(r.gsi_edges[21], 0);
	at_ns(&r, 5000);
	CHECK_EQ(r.gsi_edges[21], 1);
	CHECK_EQ(r.gsi_level[21], 0);
	CHECK_EQ(rd(&r, HPET_GINTR_STA), 0); /* edge: no status */
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER); /* 64-bit one-shot: once */

	/* Timer 0, periodic: SETVAL sets the comparator, the next write the period. */
	wr(&r, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(0), 1000);
	wr(&r, TCMP(0), 300);
	CHECK_EQ(rd(&r, TCONF(0)) & HPET_TN_SETVAL, 0);
	CHECK_EQ(rd(&r, TCMP(0)), 1000);
	at_ns(&r, 10000);
	CHECK_EQ(r.gsi_edges[20], 1);
	CHECK_EQ(rd(&r, TCMP(0)), 1300);
	at_ns(&r, 13000);
	CHECK_EQ(r.gsi_edges[20], 2);
	/* Late by several periods: one interrupt, the comparator past now. */
	at_ns(&r, 25000);
	CHECK_EQ(r.gsi_edges[20], 3);
	CHECK_EQ(rd(&r, TCMP(0)), 2800);
	rig_fini(&r);
}

static void test_level_and_32bit(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, HPET_MAIN_CNT, 0xfffffff0ull);
	/* Timer 1, 32-bit one-shot, level: matches when the low half wraps to 0x10. */
	wr(&r, TCONF(1), HPET_TN_ENABLE | HPET_TN_LEVEL | HPET_TN_32BIT | 22u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(1), 0x100000010ull);
	CHECK_EQ(rd(&r, TCMP(1)), 0x10); /* 32-bit mode keeps the low half */
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE);
	at_ns(&r, 0x20 * 10);
	CHECK_EQ(r.gsi_level[22], 1);
	CHECK_EQ(rd(&r, HPET_GINTR_STA), 2);
	/* Held until cleared (write 1 to clear; a 4-byte write to the other half writes nothing). */
	hpet_bus_ops.write(r.hpet, HPET_GINTR_STA + 4, 0xffffffff, 4);
	CHECK_EQ(r.gsi_level[22], 1);
	hpet_bus_ops.write(r.hpet, HPET_GINTR_STA, 2, 4);
	CHECK_EQ(r.gsi_level[22], 0);
	CHECK_EQ(rd(&r, HPET_GINTR_STA), 0);
	/* 32-bit one-shot: the next match is 2^32 ticks later. */
	CHECK_EQ(vclock_next_deadline(&r.clock), (0x20 + (1ll << 32)) * 10);
	rig_fini(&r);
}

static void test_legacy_replacement(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(0), 100);
	wr(&r, TCMP(0), 100);
	wr(&r, TCONF(1), HPET_TN_ENABLE | 21u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(1), 150);
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	CHECK(r.legacy_on);
	CHECK(hpet_legacy_mode(r.hpet));
	at_ns(&r, 1000);
	CHECK_EQ(r.legacy_edges[0], 1); /* timer 0: IRQ 0, not its route */
	CHECK_EQ(r.gsi_edges[20], 0);
	at_ns(&r, 1500);
	CHECK_EQ(r.legacy_edges[1], 1); /* timer 1: IRQ 8 */
	CHECK_EQ(r.gsi_edges[21], 0);
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE);
	CHECK(!r.legacy_on);
	at_ns(&r, 2000);
	CHECK_EQ(r.gsi_edges[20], 1); /* routed again */
	/* Reset: everything back, legacy mode off. */
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	hpet_reset(r.hpet);
	CHECK(!r.legacy_on);
	CHECK_EQ(rd(&r, HPET_GEN_CONF), 0);
	CHECK_EQ(rd(&r, HPET_MAIN_CNT), 0);
	CHECK_EQ(rd(&r, TCMP(0)), UINT64_MAX);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	rig_fini(&r);
}

CHECK_MAIN(TEST_CASE(test_capabilities_and_counter), TEST_CASE(test_oneshot_and_periodic),
	   TEST_CASE(test_level_and_32bit), TEST_CASE(test_legacy_replacement))
