/* SPDX-License-Identifier: MIT */
/*
 * The HPET model (hw/timer/hpet.c) at register level against IA-PC HPET
 * 1.0a: capabilities, the main counter (halted, running, written), one-shot
 * and periodic comparators (Tn_VAL_SET_CNF), 32-bit mode, edge and level
 * interrupts with GINTR_STA, IOAPIC routing and legacy replacement mode,
 * 4-byte accesses to halves, reset, snapshots (faithful, and hostile ones
 * refused). Virtual time is frozen and moved by hand.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "hw/device.h"
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
	hpet_set_min_interval(r->hpet, 0); /* every match: the timers' exact timing */
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

/* Timers whose next match lies beyond a counter wrap, or whose period is
 * half the 32-bit range, re-arm for the future and never loop. */
static void test_wrap_and_huge_period(void)
{
	struct rig r;
	rig_init(&r);
	at_ns(&r, 10000);
	wr(&r, HPET_MAIN_CNT, 0);
	wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE); /* counter 0 at tick 1000 */
	wr(&r, TCONF(2), HPET_TN_ENABLE | 23u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(2), UINT64_MAX - 1); /* about 2^64 ticks away */
	CHECK_EQ(vclock_next_deadline(&r.clock), INT64_MAX);
	at_ns(&r, 20000);
	CHECK_EQ(r.gsi_edges[23], 0);
	/* 32-bit periodic, period 2^31: one step per match, as the hardware adds it. */
	wr(&r, TCONF(2), 0);
	wr(&r, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | HPET_TN_32BIT |
				 20u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(0), 1100);
	wr(&r, TCMP(0), 0x80000000u);
	at_ns(&r, (1000 + 1100) * 10);
	CHECK_EQ(r.gsi_edges[20], 1);
	CHECK_EQ(rd(&r, TCMP(0)), 1100 + 0x80000000u);
	CHECK_EQ(vclock_next_deadline(&r.clock), (1000 + 1100 + 0x80000000ll) * 10);
	/* Far behind with a small period: skipped in one step. */
	wr(&r, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
	wr(&r, TCMP(0), 3000);
	wr(&r, TCMP(0), 1);
	at_ns(&r, 1000000000); /* 10^8 ticks late */
	CHECK_EQ(r.gsi_edges[20], 2);
	CHECK_EQ(rd(&r, TCMP(0)), 100000000 - 1000 + 1);
	rig_fini(&r);
}

/* Every register, on a and b alike, and the interrupts each has seen. */
static void check_same(struct rig *a, struct rig *b)
{
	for (uint64_t off = 0; off < HPET_TIMER_BASE(HPET_TIMERS); off += 8)
		CHECK_EQ(rd(a, off), rd(b, off));
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(a->legacy_edges[i], b->legacy_edges[i]);
	for (unsigned i = 20; i < 24; i++)
		CHECK_EQ(a->gsi_edges[i], b->gsi_edges[i]);
	CHECK_EQ(a->legacy_on, b->legacy_on);
}

/* Legacy replacement on, timer 0 periodic on IRQ 0, timer 1 a 32-bit level
 * interrupt on IRQ 8 held in GINTR_STA, timer 2 due but not yet run: a fresh
 * HPET loaded from the snapshot reads the same, runs the due timer and
 * raises the same interrupts at the same virtual times. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr(&a, HPET_MAIN_CNT, 0xfffffff0ull);
	wr(&a, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(0), 0xfffffff0ull + 100);
	wr(&a, TCMP(0), 300);
	wr(&a, TCONF(1), HPET_TN_ENABLE | HPET_TN_LEVEL | HPET_TN_32BIT | 22u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(1), 0x10);
	wr(&a, TCONF(2), HPET_TN_ENABLE | 23u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(2), 0xfffffff0ull + 790);
	wr(&a, HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	for (int64_t ns = 100; ns <= 7000; ns += 100)
		at_ns(&a, ns);
	CHECK_EQ(a.legacy_edges[0], 3);
	CHECK_EQ(a.legacy_level[1], 1);
	CHECK_EQ(rd(&a, HPET_GINTR_STA), 2);
	a.clock.paused_at = 8000; /* timer 2's deadline (7900) passed, not run */

	struct statebuf sb;
	snap_save(hpet_device(a.hpet), &sb);
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	char why[256];
	CHECK_EQ(snap_load(hpet_device(b.hpet), &sb, why, sizeof(why)), 0);
	CHECK(b.legacy_on);
	/* The load drove no line: the controllers keep what they saw. */
	CHECK_EQ(b.legacy_edges[0] + b.legacy_edges[1] + b.legacy_level[1], 0);
	b.legacy_edges[0] = a.legacy_edges[0];
	b.legacy_edges[1] = a.legacy_edges[1];
	b.legacy_level[1] = 1;
	CHECK_EQ(vclock_next_deadline(&b.clock), 7900);
	at_ns(&a, 8000);
	at_ns(&b, 8000);
	CHECK_EQ(b.gsi_edges[23], 1);
	check_same(&a, &b);
	for (int64_t ns = 8000; ns < 40000; ns += 700) {
		at_ns(&a, ns);
		at_ns(&b, ns);
		check_same(&a, &b);
		if (ns == 15000) {
			wr(&a, HPET_GINTR_STA, 2);
			wr(&b, HPET_GINTR_STA, 2);
			CHECK_EQ(b.legacy_level[1], 0);
		}
	}
	CHECK_EQ(b.legacy_edges[0], 13); /* every 3000 ns from 1000 */
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

static void check_is_reset(struct rig *r)
{
	CHECK_EQ(rd(r, HPET_GEN_CONF), 0);
	CHECK_EQ(rd(r, HPET_GINTR_STA), 0);
	CHECK_EQ(rd(r, HPET_MAIN_CNT), 0);
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		CHECK_EQ(rd(r, TCONF(i)),
			 (uint64_t)HPET_ROUTE_CAP << 32 | HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP);
		CHECK_EQ(rd(r, TCMP(i)), UINT64_MAX);
	}
	CHECK(!r->legacy_on);
	CHECK_EQ(vclock_next_deadline(&r->clock), VCLOCK_NEVER);
}

/* Fields out of range are refused and leave the HPET reset; records of
 * random fields either load or are refused, and an HPET that loaded runs a
 * sweep of register accesses and timers without tripping ASan or UBSan (or
 * a timer that re-arms itself for the past). */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr(&a, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(0), 50);
	wr(&a, TCMP(0), 7);
	wr(&a, TCONF(1), HPET_TN_ENABLE | HPET_TN_LEVEL | HPET_TN_32BIT | HPET_TN_PERIODIC | HPET_TN_SETVAL |
				 22u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(1), 40);
	wr(&a, TCONF(2), HPET_TN_ENABLE | 23u << HPET_TN_ROUTE_SHIFT);
	wr(&a, TCMP(2), 1000);
	wr(&a, HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	at_ns(&a, 450);
	CHECK_EQ(rd(&a, HPET_GINTR_STA), 2);
	struct statebuf sb;
	snap_save(hpet_device(a.hpet), &sb);
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	char why[256];
	CHECK_EQ(snap_load(hpet_device(b.hpet), &sb, why, sizeof(why)), 0);

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "config", 4 },
		{ "isr", 8 },
		{ "isr", 0 }, /* timer 1's level output without its status bit */
		{ "t[2].config", 0 }, /* capability bits gone */
		{ "t[0].config", 1ull << 7 | (uint64_t)HPET_ROUTE_CAP << 32 | 0x30 },
		{ "t[1].cmp", 1ull << 40 }, /* 32-bit comparator */
		{ "t[1].period", 1ull << 32 },
		{ "t[0].level", 2 },
		{ "t[2].level", 1 }, /* edge-triggered */
		{ "t[2].deadline", (uint64_t)-5 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(hpet_device(b.hpet), &sb, bad[i].field, bad[i].value);
		check_is_reset(&b);
	}

	uint64_t rng = 0x2545f4914f6cdd1dULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(hpet_device(b.hpet), &junk, &rng);
		b.clock.paused_at = 450;
		int r = snap_load(hpet_device(b.hpet), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			int64_t ns = 450;
			for (unsigned k = 0; k < 200; k++) {
				uint64_t x = snap_rand(&rng);
				uint64_t off = (x >> 8) % HPET_REGION_SIZE & ~3ull;
				uint64_t v = snap_rand(&rng);
				switch (x % 4) {
				case 0:
					(void)hpet_bus_ops.read(b.hpet, off, (x & 0x10) ? 8 : 4);
					break;
				case 1:
					hpet_bus_ops.write(b.hpet, off & ~7ull, (x & 0x20) ? v : v % 64, 8);
					break;
				default:
					ns += (int64_t)((x >> 24) % ((x & 0x40) ? 1000000000 : 2000));
					at_ns(&b, ns);
					CHECK(vclock_next_deadline(&b.clock) > ns);
					break;
				}
			}
		} else {
			check_is_reset(&b);
		}
		sb_free(&junk);
	}
	if (loaded <= 10)
		printf("# only %u of 400 records loaded\n", loaded);
	CHECK(loaded > 10);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* A periodic timer with a period of one tick (10 ns): its host timer fires
 * at most every HPET_MIN_INTERVAL_NS, the comparator skipping the periods
 * in between; without the pacing, at every host step. */
static void test_pacing(void)
{
	for (int paced = 1; paced >= 0; paced--) {
		struct rig r;
		rig_init(&r);
		hpet_set_min_interval(r.hpet, paced ? HPET_MIN_INTERVAL_NS : 0);
		wr(&r, TCONF(0), HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | 20u << HPET_TN_ROUTE_SHIFT);
		wr(&r, TCMP(0), 10);
		wr(&r, TCMP(0), 1);
		wr(&r, HPET_GEN_CONF, HPET_CONF_ENABLE);
		for (int64_t ns = 1000; ns <= 2000000; ns += 1000) /* 2 ms in 1 us steps */
			at_ns(&r, ns);
		if (paced)
			CHECK(r.gsi_edges[20] >= 10 && r.gsi_edges[20] <= 11); /* one per 200 us */
		else
			CHECK(r.gsi_edges[20] >= 2000); /* one per host step */
		CHECK(rd(&r, TCMP(0)) > 170000); /* the comparator skipped the periods up to the last firing */
		rig_fini(&r);
	}
}

CHECK_MAIN(TEST_CASE(test_capabilities_and_counter), TEST_CASE(test_pacing), TEST_CASE(test_oneshot_and_periodic),
	   TEST_CASE(test_level_and_32bit), TEST_CASE(test_legacy_replacement),
	   TEST_CASE(test_wrap_and_huge_period), TEST_CASE(test_snapshot),
	   TEST_CASE(test_snapshot_hostile))
