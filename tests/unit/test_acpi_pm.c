/* SPDX-License-Identifier: MIT */
/*
 * The ACPI PM1 registers and PM timer (hw/timer/acpi_pm.c) as a device
 * object: snapshots that restore status, enables, control and the timer's
 * overflow interrupt faithfully, and hostile snapshots refused. The
 * registers themselves are tested with the ACPI tables in test_acpi.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "hw/device.h"
#include "hw/timer/acpi_pm.h"

#define TMR_FLIP_NS 2343484437LL /* 2^23 ticks at 3.579545 MHz, rounded up */

struct rig {
	struct vclock clock;
	int sci;
	unsigned sci_rises;
	unsigned poweroffs;
	struct irq_line irq;
	struct acpi_pm *pm;
};

static void rig_sci(void *opaque, unsigned line, int level)
{
	struct rig *r = opaque;
	(void)line;
	if (level && !r->sci)
		r->sci_rises++;
	r->sci = level;
}

static void rig_poweroff(void *opaque)
{
	((struct rig *)opaque)->poweroffs++;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	vclock_pause(&r->clock);
	r->irq = (struct irq_line){ rig_sci, r, ACPI_PM_SCI_IRQ };
	r->pm = acpi_pm_create(&r->clock, &r->irq, rig_poweroff, r);
	if (!r->pm)
		abort();
}

static void rig_fini(struct rig *r)
{
	acpi_pm_destroy(r->pm);
	vclock_destroy(&r->clock);
}

/* Moves virtual time to ns, firing timers on the way. */
static void at_ns(struct rig *r, int64_t ns)
{
	r->clock.paused_at = ns;
	vclock_run_expired(&r->clock, ns);
}

static uint64_t rd(struct rig *r, unsigned off, unsigned size)
{
	return acpi_pm_bus_ops.read(r->pm, off, size);
}

static void wr(struct rig *r, unsigned off, unsigned size, uint64_t v)
{
	acpi_pm_bus_ops.write(r->pm, off, v, size);
}

/* Every register, the SCI and the next timer, on a and b alike. */
static void check_same(struct rig *a, struct rig *b)
{
	for (unsigned off = 0; off < ACPI_PM_REGION_SIZE; off += 4)
		CHECK_EQ(rd(a, off, 4), rd(b, off, 4));
	CHECK_EQ(a->sci, b->sci);
	CHECK_EQ(vclock_next_deadline(&a->clock), vclock_next_deadline(&b->clock));
}

/* The PM timer enabled with TMR_STS and PWRBTN_STS set and the SCI raised:
 * a fresh block loaded from the snapshot reads the same and raises the SCI
 * for the next bit-23 flip at the same virtual time. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr(&a, ACPI_PM1_EN, 2, ACPI_PM1_TMR_EN | ACPI_PM1_PWRBTN_EN);
	at_ns(&a, TMR_FLIP_NS + 1000);
	CHECK_EQ(a.sci, 1);
	acpi_pm_power_button(a.pm);
	CHECK_EQ(rd(&a, ACPI_PM1_STS, 2), ACPI_PM1_TMR_STS | ACPI_PM1_PWRBTN_STS);
	at_ns(&a, TMR_FLIP_NS + 777777);

	struct statebuf sb;
	snap_save(acpi_pm_device(a.pm), &sb);
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	char why[256];
	CHECK_EQ(snap_load(acpi_pm_device(b.pm), &sb, why, sizeof(why)), 0);
	CHECK_EQ(b.sci, 0); /* the load drives no line */
	b.sci = 1;
	check_same(&a, &b);
	CHECK_EQ(acpi_pm_timer_value(b.pm), acpi_pm_timer_value(a.pm));
	/* Status cleared: the SCI drops; the next flip raises it again. */
	wr(&a, ACPI_PM1_STS, 2, ACPI_PM1_TMR_STS | ACPI_PM1_PWRBTN_STS);
	wr(&b, ACPI_PM1_STS, 2, ACPI_PM1_TMR_STS | ACPI_PM1_PWRBTN_STS);
	CHECK_EQ(b.sci, 0);
	unsigned rises = a.sci_rises;
	for (int64_t ns = TMR_FLIP_NS + 800000; ns < 3 * TMR_FLIP_NS; ns += 100000000) {
		at_ns(&a, ns);
		at_ns(&b, ns);
		CHECK_EQ(a.sci_rises - rises, b.sci_rises);
		check_same(&a, &b);
	}
	CHECK_EQ(b.sci_rises, 1);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

static void check_is_reset(struct rig *r)
{
	CHECK_EQ(rd(r, ACPI_PM1_STS, 4), 0);
	CHECK_EQ(rd(r, ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN);
	CHECK_EQ(r->sci, 0);
	CHECK_EQ(vclock_next_deadline(&r->clock), VCLOCK_NEVER);
}

/* Fields out of range are refused and leave the block reset; records of
 * random fields either load or are refused, and a block that loaded runs a
 * sweep of register accesses and timers without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr(&a, ACPI_PM1_EN, 2, ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN);
	at_ns(&a, TMR_FLIP_NS + 5);
	struct statebuf sb;
	snap_save(acpi_pm_device(a.pm), &sb);
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	char why[256];
	CHECK_EQ(snap_load(acpi_pm_device(b.pm), &sb, why, sizeof(why)), 0);

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "sts", 0x0002 },
		{ "en", ACPI_PM1_TMR_EN | 0x8000 },
		{ "en", 0 }, /* the overflow timer armed without TMR_EN */
		{ "cnt", ACPI_PM1_SCI_EN | ACPI_PM1_SLP_EN },
		{ "sci_level", 2 },
		{ "tmr_epoch", 1ull << 40 },
		{ "overflow_deadline", (uint64_t)-1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(acpi_pm_device(b.pm), &sb, bad[i].field, bad[i].value);
		check_is_reset(&b);
	}

	uint64_t rng = 0xda942042e4dd58b5ULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(acpi_pm_device(b.pm), &junk, &rng);
		int64_t ns = TMR_FLIP_NS + 5;
		b.clock.paused_at = ns;
		int r = snap_load(acpi_pm_device(b.pm), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			for (unsigned k = 0; k < 100; k++) {
				uint64_t x = snap_rand(&rng);
				unsigned size = 1u << ((x >> 8) % 3);
				unsigned off = (unsigned)((x >> 16) % (ACPI_PM_REGION_SIZE - size + 1));
				switch (x % 4) {
				case 0:
					(void)rd(&b, off, size);
					break;
				case 1:
					wr(&b, off, size, snap_rand(&rng));
					break;
				default:
					ns += (int64_t)((x >> 24) % ((x & 0x100) ? 4 * TMR_FLIP_NS : 1000));
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

CHECK_MAIN(TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
