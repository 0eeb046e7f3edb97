/* SPDX-License-Identifier: MIT */
/*
 * MC146818A register-level tests on a frozen virtual clock: power-on values,
 * BCD/binary and 12/24-hour reading, the calendar carrying across minute,
 * hour, day, month, year, century and leap-year boundaries, SET, the divider
 * reset, periodic rates, alarms with "don't care" bytes, update-ended
 * interrupts, register C and the IRQ line, UIP, CMOS RAM, the memory-size
 * bytes, the NMI mask, a sweep of guest garbage, moving the wall clock
 * after a restore, and snapshots (faithful, and hostile ones refused).
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/log.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "hw/device.h"
#include "hw/timer/mc146818.h"

#define MS 1000000LL
#define SEC 1000000000LL

/* 2024-02-29 23:59:58 UTC, a Thursday. */
#define BASE_LEAP 1709251198
/* 2024-07-15 13:45:30 UTC, a Monday. */
#define BASE_JULY 1721051130

struct fake_irq {
	int level;
	unsigned rises;
};

static void fake_irq_set(void *opaque, unsigned line, int level)
{
	struct fake_irq *f = opaque;
	(void)line;
	if (level && !f->level)
		f->rises++;
	f->level = level;
}

struct rig {
	struct vclock clock;
	struct fake_irq irq_state;
	struct irq_line irq;
	struct mc146818 *rtc;
	int64_t t; /* the frozen virtual time */
};

static void rig_init(struct rig *r, time_t base)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	vclock_pause(&r->clock);
	r->t = 5 * SEC + 123; /* anything; the RTC's phase starts here */
	r->clock.paused_at = r->t;
	r->irq = (struct irq_line){ fake_irq_set, &r->irq_state, 8 };
	r->rtc = rtc_create(&r->clock, &r->irq, base);
	if (!r->rtc)
		abort();
}

static void rig_fini(struct rig *r)
{
	rtc_destroy(r->rtc);
	vclock_destroy(&r->clock);
}

/* Moves virtual time to r->t + ns, firing each timer at its own deadline. */
static void advance(struct rig *r, int64_t ns)
{
	int64_t end = r->t + ns;
	for (;;) {
		int64_t d = vclock_next_deadline(&r->clock);
		if (d > end)
			break;
		if (d > r->t)
			r->t = d;
		r->clock.paused_at = r->t;
		vclock_run_expired(&r->clock, r->t);
	}
	r->t = end;
	r->clock.paused_at = end;
}

static uint8_t rd(struct rig *r, unsigned index)
{
	rtc_bus_ops.write(r->rtc, 0, index, 1);
	return (uint8_t)rtc_bus_ops.read(r->rtc, 1, 1);
}

static void wr(struct rig *r, unsigned index, uint8_t v)
{
	rtc_bus_ops.write(r->rtc, 0, index, 1);
	rtc_bus_ops.write(r->rtc, 1, v, 1);
}

struct tm_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static struct tm_regs rd_time(struct rig *r)
{
	return (struct tm_regs){ rd(r, RTC_SECONDS), rd(r, RTC_MINUTES), rd(r, RTC_HOURS),
				 rd(r, RTC_DAY_OF_WEEK), rd(r, RTC_DATE_OF_MONTH), rd(r, RTC_MONTH),
				 rd(r, RTC_YEAR), rd(r, RTC_CENTURY) };
}

#define CHECK_TIME(r, s, mi, h, wd, md, mo, y, c)      \
	do {                                           \
		struct tm_regs t_ = rd_time(r);        \
		CHECK_EQ(t_.sec, s);                   \
		CHECK_EQ(t_.min, mi);                  \
		CHECK_EQ(t_.hour, h);                  \
		CHECK_EQ(t_.wday, wd);                 \
		CHECK_EQ(t_.mday, md);                 \
		CHECK_EQ(t_.mon, mo);                  \
		CHECK_EQ(t_.year, y);                  \
		CHECK_EQ(t_.century, c);               \
	} while (0)

static void test_power_on_values(void)
{
	struct rig r;
	rig_init(&r, BASE_LEAP);
	CHECK_EQ(rtc_bus_ops.min_size, 1);
	CHECK_EQ(rtc_bus_ops.max_size, 1);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	CHECK_EQ(rd(&r, RTC_REG_B), RTC_REG_B_24H);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	CHECK_EQ(rd(&r, RTC_REG_D), RTC_REG_D_VRT);
	CHECK_TIME(&r, 0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK(!rtc_nmi_masked(r.rtc));
	/* The index port reads as all-ones; reads and writes never move time. */
	CHECK_EQ(rtc_bus_ops.read(r.rtc, 0, 1), 0xff);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	rig_fini(&r);
}

static void test_binary_and_12_hour(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	CHECK_TIME(&r, 0x30, 0x45, 0x13, 2, 0x15, 0x07, 0x24, 0x20);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM);
	CHECK_TIME(&r, 30, 45, 13, 2, 15, 7, 24, 20);
	wr(&r, RTC_REG_B, RTC_REG_B_DM);
	CHECK_EQ(rd(&r, RTC_HOURS), RTC_HOURS_PM | 1);
	wr(&r, RTC_REG_B, 0);
	CHECK_EQ(rd(&r, RTC_HOURS), RTC_HOURS_PM | 0x01);
	rig_fini(&r);

	/* Midnight and noon in 12-hour mode: 12 AM and 12 PM. */
	rig_init(&r, BASE_JULY - (13 * 3600 + 45 * 60 + 30)); /* 00:00:00 */
	wr(&r, RTC_REG_B, 0);
	CHECK_EQ(rd(&r, RTC_HOURS), 0x12);
	advance(&r, 11 * 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_HOURS), 0x11);
	advance(&r, 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_HOURS), RTC_HOURS_PM | 0x12);
	advance(&r, 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_HOURS), RTC_HOURS_PM | 0x01);
	advance(&r, 10 * 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_HOURS), RTC_HOURS_PM | 0x11);
	advance(&r, 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_HOURS), 0x12);
	rig_fini(&r);
}

static void test_calendar_carries(void)
{
	struct rig r;
	/* Minute, hour, day, leap day → March. */
	rig_init(&r, BASE_LEAP);
	advance(&r, 1 * SEC - 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x58);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x59);
	advance(&r, SEC);
	CHECK_TIME(&r, 0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20);
	rig_fini(&r);

	/* Year and century: 1999-12-31 23:59:59 → 2000-01-01. */
	rig_init(&r, 946684799);
	CHECK_TIME(&r, 0x59, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19);
	advance(&r, SEC);
	CHECK_TIME(&r, 0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20);
	rig_fini(&r);

	/* Leap years: 2023 no, 2000 yes (÷400), 2100 no (÷100). */
	rig_init(&r, 1677628799);
	advance(&r, SEC);
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x01);
	CHECK_EQ(rd(&r, RTC_MONTH), 0x03);
	rig_fini(&r);
	rig_init(&r, 951782399);
	advance(&r, SEC);
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x29);
	CHECK_EQ(rd(&r, RTC_MONTH), 0x02);
	rig_fini(&r);
	rig_init(&r, 4107542399LL);
	advance(&r, SEC);
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x01);
	CHECK_EQ(rd(&r, RTC_MONTH), 0x03);
	CHECK_EQ(rd(&r, RTC_CENTURY), 0x21);
	rig_fini(&r);

	/* A long run: 366 days after 2024-02-29 23:59:58 is 2025-03-01 23:59:58. */
	rig_init(&r, BASE_LEAP);
	advance(&r, 366LL * 86400 * SEC);
	CHECK_TIME(&r, 0x58, 0x59, 0x23, 7, 0x01, 0x03, 0x25, 0x20);
	rig_fini(&r);
}

static void test_set_freezes_and_sets(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	advance(&r, SEC / 4); /* mid-second: the phase must survive SET */
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_SET);
	CHECK_EQ(rd(&r, RTC_REG_B), RTC_REG_B_24H | RTC_REG_B_SET);
	advance(&r, 5 * SEC);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x30);
	/* Intermediate values must not be normalised while SET holds. */
	wr(&r, RTC_DATE_OF_MONTH, 0x31);
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x31);
	wr(&r, RTC_MONTH, 0x01);
	wr(&r, RTC_YEAR, 0x30);
	wr(&r, RTC_HOURS, 0x08);
	wr(&r, RTC_MINUTES, 0x00);
	wr(&r, RTC_SECONDS, 0x00);
	wr(&r, RTC_DAY_OF_WEEK, 5); /* 2030-01-31 is a Thursday */
	advance(&r, 10 * SEC);
	CHECK_TIME(&r, 0x00, 0x00, 0x08, 5, 0x31, 0x01, 0x30, 0x20);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	wr(&r, RTC_REG_B, RTC_REG_B_24H);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x00);
	/* The divider kept its phase: the next update is 0.75 s after SET cleared. */
	advance(&r, 3 * SEC / 4 - 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x00);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x01);
	CHECK_TIME(&r, 0x01, 0x00, 0x08, 5, 0x31, 0x01, 0x30, 0x20);
	rig_fini(&r);
}

static void test_write_while_running(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_MINUTES, 0x10);
	CHECK_TIME(&r, 0x30, 0x10, 0x13, 2, 0x15, 0x07, 0x24, 0x20);
	advance(&r, 30 * SEC);
	CHECK_EQ(rd(&r, RTC_MINUTES), 0x11);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x00);
	/* The chip counts its own day of week: a wrong one keeps counting. */
	wr(&r, RTC_DAY_OF_WEEK, 7);
	advance(&r, 86400 * SEC);
	CHECK_EQ(rd(&r, RTC_DAY_OF_WEEK), 1);
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x16);
	rig_fini(&r);
}

static void test_divider_reset(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_REG_A, RTC_REG_A_DV_RESET | 0x06);
	advance(&r, 10 * SEC);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x30);
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_REG_A_UIP, 0);
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ | 0x06);
	/* The first update comes half a second after the divider restarts. */
	advance(&r, SEC / 2 - 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x30);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x31);
	advance(&r, SEC);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x32);
	/* A test-mode divider stops the clock too. */
	wr(&r, RTC_REG_A, 0x30 | 0x06);
	advance(&r, 5 * SEC);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x32);
	rig_fini(&r);
}

/* Counts periodic interrupts over `window`, reading C after each like a driver. */
static unsigned count_periodic(struct rig *r, int64_t window)
{
	int64_t end = r->t + window;
	unsigned n = 0;
	for (;;) {
		int64_t d = vclock_next_deadline(&r->clock);
		if (d > end)
			break;
		advance(r, d - r->t);
		if (r->irq_state.level) {
			uint8_t c = rd(r, RTC_REG_C);
			if ((c & (RTC_REG_C_IRQF | RTC_REG_C_PF)) == (RTC_REG_C_IRQF | RTC_REG_C_PF))
				n++;
		}
	}
	advance(r, end - r->t);
	return n;
}

static void test_periodic_rates(void)
{
	for (unsigned rs = 1; rs <= 15; rs++) {
		struct rig r;
		rig_init(&r, BASE_JULY);
		wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ | rs);
		wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_PIE);
		unsigned hz = rs <= 2 ? 32768 >> (rs + 6) : 32768 >> (rs - 1);
		unsigned n = count_periodic(&r, 2 * SEC);
		if (n != 2 * hz)
			printf("# rate %u: %u interrupts in 2 s, expected %u\n", rs, n, 2 * hz);
		CHECK_EQ(n, 2 * hz);
		/* Rate 0 stops them, and no timer stays armed. */
		wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ);
		(void)rd(&r, RTC_REG_C);
		CHECK_EQ(count_periodic(&r, SEC), 0);
		CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
		rig_fini(&r);
	}
}

static void test_periodic_flag_without_pie(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ | 15); /* 2 Hz */
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	advance(&r, SEC / 4);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	advance(&r, SEC / 4);
	/* PF is set whatever PIE says; IRQF and the line only with PIE. */
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_PF);
	CHECK_EQ(r.irq_state.rises, 0);
	/* Enabling PIE with PF already set raises IRQ at once. */
	advance(&r, SEC / 2);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_PIE);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_IRQF | RTC_REG_C_PF | RTC_REG_C_UF);
	CHECK_EQ(r.irq_state.level, 0);
	/* Disabling PIE while PF waits drops the line but keeps the flag. */
	advance(&r, SEC / 2);
	CHECK_EQ(r.irq_state.level, 1);
	wr(&r, RTC_REG_B, RTC_REG_B_24H);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_PF);
	rig_fini(&r);
}

static void test_update_interrupt(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ); /* no periodic flag in the way */
	advance(&r, SEC / 3);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE);
	unsigned n = 0;
	for (int i = 0; i < 10; i++) {
		int64_t next = vclock_next_deadline(&r.clock);
		CHECK(next != VCLOCK_NEVER);
		advance(&r, next - r.t - 1);
		CHECK_EQ(r.irq_state.level, 0);
		advance(&r, 1);
		CHECK_EQ(r.irq_state.level, 1);
		/* The interrupt comes with the new second. */
		CHECK_EQ(rd(&r, RTC_SECONDS), ((31 + i) / 10) << 4 | (31 + i) % 10);
		if (rd(&r, RTC_REG_C) == (RTC_REG_C_IRQF | RTC_REG_C_UF))
			n++;
		CHECK_EQ(r.irq_state.level, 0);
	}
	CHECK_EQ(n, 10);
	CHECK_EQ(r.irq_state.rises, 10);
	/* An unread C keeps the line high and arms nothing more. */
	advance(&r, SEC);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	advance(&r, 5 * SEC);
	CHECK_EQ(r.irq_state.rises, 11);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_IRQF | RTC_REG_C_UF);
	/* SET clears UIE. */
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE | RTC_REG_B_SET);
	CHECK_EQ(rd(&r, RTC_REG_B), RTC_REG_B_24H | RTC_REG_B_SET);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	advance(&r, 3 * SEC);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	rig_fini(&r);
}

static void test_alarm(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY); /* 13:45:30 */
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ);
	wr(&r, RTC_SECONDS_ALARM, 0x35);
	wr(&r, RTC_MINUTES_ALARM, 0x45);
	wr(&r, RTC_HOURS_ALARM, 0x13);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
	/* Only one timer, straight at the alarm time: 5 s ahead. */
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t + 5 * SEC);
	advance(&r, 5 * SEC - 1);
	CHECK_EQ(r.irq_state.level, 0);
	advance(&r, 1);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_IRQF | RTC_REG_C_AF | RTC_REG_C_UF);
	/* Next match is tomorrow. */
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t + 86400 * SEC);

	/* Don't care in hours and minutes: every hour and minute at :00. */
	wr(&r, RTC_SECONDS_ALARM, 0x00);
	wr(&r, RTC_MINUTES_ALARM, 0xc0);
	wr(&r, RTC_HOURS_ALARM, 0xff);
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t + 25 * SEC); /* 13:46:00 */
	unsigned n = 0;
	for (int i = 0; i < 70; i++) {
		advance(&r, 10 * SEC);
		if (rd(&r, RTC_REG_C) & RTC_REG_C_AF)
			n++;
	}
	CHECK_EQ(n, 12); /* 700 s from 13:45:35: 13:46 .. 13:57 */
	/* All three don't care: once a second. */
	wr(&r, RTC_SECONDS_ALARM, 0xc5);
	(void)rd(&r, RTC_REG_C);
	n = 0;
	for (int i = 0; i < 5; i++) {
		advance(&r, SEC);
		if (rd(&r, RTC_REG_C) & RTC_REG_C_AF)
			n++;
	}
	CHECK_EQ(n, 5);
	/* A value that never matches (minutes 0x75 in BCD) arms no timer. */
	wr(&r, RTC_MINUTES_ALARM, 0x75);
	wr(&r, RTC_SECONDS_ALARM, 0x00);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	rig_fini(&r);

	/* 12-hour mode alarm at 1:45:35 PM; AF set lazily without AIE. */
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ);
	wr(&r, RTC_REG_B, 0);
	wr(&r, RTC_SECONDS_ALARM, 0x35);
	wr(&r, RTC_MINUTES_ALARM, 0x45);
	wr(&r, RTC_HOURS_ALARM, RTC_HOURS_PM | 0x01);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	advance(&r, 4 * SEC);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_UF);
	advance(&r, SEC);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_AF | RTC_REG_C_UF);
	CHECK_EQ(r.irq_state.rises, 0);
	/* AM does not match PM. */
	wr(&r, RTC_HOURS_ALARM, 0x01);
	advance(&r, 11 * 3600 * SEC);
	CHECK_EQ(rd(&r, RTC_REG_C), RTC_REG_C_UF);
	rig_fini(&r);
}

static void test_uip(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_REG_A_UIP, 0);
	advance(&r, SEC - 244000 - 1);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_REG_A), RTC_REG_A_UIP | 0x26);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x30);
	advance(&r, 243999);
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_REG_A_UIP, RTC_REG_A_UIP);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_REG_A) & RTC_REG_A_UIP, 0);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x31);
	/* UIP is read-only, and SET clears it. */
	wr(&r, RTC_REG_A, 0xa6);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	advance(&r, SEC - 100000);
	CHECK_EQ(rd(&r, RTC_REG_A), RTC_REG_A_UIP | 0x26);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_SET);
	CHECK_EQ(rd(&r, RTC_REG_A), 0x26);
	rig_fini(&r);
}

static void test_reg_c_and_irq(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE | RTC_REG_B_PIE);
	advance(&r, SEC);
	CHECK_EQ(r.irq_state.level, 1);
	uint8_t c = rd(&r, RTC_REG_C);
	CHECK_EQ(c, RTC_REG_C_IRQF | RTC_REG_C_PF | RTC_REG_C_UF);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	/* Writes to C and D are ignored. */
	wr(&r, RTC_REG_C, 0xff);
	wr(&r, RTC_REG_D, 0x00);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	CHECK_EQ(rd(&r, RTC_REG_D), RTC_REG_D_VRT);
	/* The RESET pin clears the enables and the flags. */
	advance(&r, 1 * MS);
	CHECK_EQ(r.irq_state.level, 1);
	rtc_reset(r.rtc);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, RTC_REG_B), RTC_REG_B_24H);
	CHECK_EQ(rd(&r, RTC_REG_C), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x31);
	rig_fini(&r);
}

static void test_cmos_ram_and_nmi(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			wr(&r, i, (uint8_t)(i * 7 + 3));
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			CHECK_EQ(rd(&r, i), (uint8_t)(i * 7 + 3));
	/* Alarm bytes are plain storage too. */
	wr(&r, RTC_HOURS_ALARM, 0x5a);
	CHECK_EQ(rd(&r, RTC_HOURS_ALARM), 0x5a);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	rtc_bus_ops.write(r.rtc, 0, RTC_INDEX_NMI_DISABLE | 0x40, 1);
	CHECK(rtc_nmi_masked(r.rtc));
	CHECK_EQ(rtc_bus_ops.read(r.rtc, 1, 1), (uint8_t)(0x40 * 7 + 3));
	rtc_bus_ops.write(r.rtc, 0, 0x40, 1);
	CHECK(!rtc_nmi_masked(r.rtc));
	rtc_set_cmos(r.rtc, 0x41, 0x99);
	CHECK_EQ(rtc_get_cmos(r.rtc, 0x41), 0x99);
	rtc_set_cmos(r.rtc, 200, 0x12);
	CHECK_EQ(rtc_get_cmos(r.rtc, 200), 0xff);
	rig_fini(&r);
}

static void test_memory_size(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	rtc_set_memory_size(r.rtc, 128 * MiB, 0);
	CHECK_EQ(rd(&r, 0x15), 0x80);
	CHECK_EQ(rd(&r, 0x16), 0x02);
	/* 127 MiB does not fit in 16 bits of KiB: the field saturates. */
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x30) | rd(&r, 0x31) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, (128 - 16) * 16);
	CHECK_EQ(rd(&r, 0x5b), 0);
	CHECK_EQ(rd(&r, 0x5c), 0);
	CHECK_EQ(rd(&r, 0x5d), 0);
	/* 8 GiB as a PC lays it out: 3 GiB below the PCI hole, 5 GiB above 4 GiB. */
	rtc_set_memory_size(r.rtc, 3 * GiB, 5 * GiB);
	CHECK_EQ(rd(&r, 0x15) | rd(&r, 0x16) << 8, 640);
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x30) | rd(&r, 0x31) << 8, 0xffff);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, (3 * 1024 - 16) * 16);
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) << 8 | rd(&r, 0x5d) << 16, 5 * 16384);
	/* Tiny and huge: below 1 MiB, and past the 24-bit field. */
	rtc_set_memory_size(r.rtc, 512 * KiB, 4096 * GiB);
	CHECK_EQ(rd(&r, 0x15) | rd(&r, 0x16) << 8, 512);
	CHECK_EQ(rd(&r, 0x17) | rd(&r, 0x18) << 8, 0);
	CHECK_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, 0);
	CHECK_EQ(rd(&r, 0x5b) | rd(&r, 0x5c) << 8 | rd(&r, 0x5d) << 16, 0xffffff);
	/* The clock is untouched by all this. */
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x30);
	rig_fini(&r);
}

static void test_base_clamped(void)
{
	struct rig r;
	rig_init(&r, (time_t)-5);
	CHECK_TIME(&r, 0x00, 0x00, 0x00, 5, 0x01, 0x01, 0x70, 0x19);
	rig_fini(&r);
	rig_init(&r, (time_t)INT64_MAX);
	CHECK_TIME(&r, 0x59, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x99);
	advance(&r, SEC);
	CHECK_TIME(&r, 0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x00);
	rig_fini(&r);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	uint32_t seed = 12345;
	for (unsigned index = 0; index < 256; index++) {
		for (unsigned v = 0; v < 256; v++) {
			rtc_bus_ops.write(r.rtc, 0, index, 1);
			rtc_bus_ops.write(r.rtc, 1, v, 1);
			(void)rtc_bus_ops.read(r.rtc, 1, 1);
			(void)rtc_bus_ops.read(r.rtc, 0, 1);
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 64 == 0) {
				/* Read every time register in whatever mode is set. */
				for (unsigned i = 0; i < 14; i++)
					(void)rd(&r, i);
				(void)rd(&r, RTC_CENTURY);
				advance(&r, (int64_t)((seed >> 8) % 3000) * MS);
			}
		}
		/* Offsets past the region, as a bus would never send. */
		rtc_bus_ops.write(r.rtc, 2 + index, index, 1);
		CHECK_EQ(rtc_bus_ops.read(r.rtc, 2 + index, 1), 0xff);
	}
	/* Everything on with the fastest rate: timers run, nothing loops. */
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ | 3);
	wr(&r, RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_AIE | RTC_REG_B_UIE | RTC_REG_B_DM);
	for (int i = 0; i < 100; i++) {
		advance(&r, 3 * MS);
		(void)rd(&r, RTC_REG_C);
	}
	/* A fresh, sane time loads after all that. */
	wr(&r, RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
	wr(&r, RTC_REG_A, 0x26);
	wr(&r, RTC_SECONDS, 0x00);
	wr(&r, RTC_MINUTES, 0x00);
	wr(&r, RTC_HOURS, 0x12);
	wr(&r, RTC_DATE_OF_MONTH, 0x01);
	wr(&r, RTC_MONTH, 0x06);
	wr(&r, RTC_YEAR, 0x25);
	wr(&r, RTC_CENTURY, 0x20);
	wr(&r, RTC_DAY_OF_WEEK, 1); /* 2025-06-01: Sunday */
	wr(&r, RTC_REG_B, RTC_REG_B_24H);
	advance(&r, 2 * SEC);
	CHECK_TIME(&r, 0x02, 0x00, 0x12, 1, 0x01, 0x06, 0x25, 0x20);
	rig_fini(&r);
}

static void test_invalid_time_values(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY);
	/* Undefined inputs (the 31st of February, hour 0x25, bad BCD) are
	 * normalised on the calendar, never a crash. */
	wr(&r, RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
	wr(&r, RTC_DATE_OF_MONTH, 0x31);
	wr(&r, RTC_MONTH, 0x02);
	wr(&r, RTC_YEAR, 0x23);
	wr(&r, RTC_HOURS, 0x25);
	wr(&r, RTC_MINUTES, 0x00);
	wr(&r, RTC_SECONDS, 0x00);
	wr(&r, RTC_REG_B, RTC_REG_B_24H);
	/* 2023-02-31 25:00 → 2023-03-04 01:00 */
	CHECK_EQ(rd(&r, RTC_DATE_OF_MONTH), 0x04);
	CHECK_EQ(rd(&r, RTC_MONTH), 0x03);
	CHECK_EQ(rd(&r, RTC_HOURS), 0x01);
	rig_fini(&r);
}

/* The guest's wall clock moves by the time a snapshot sat on disk: the
 * divider keeps its phase, the alarm follows the new time, a stopped clock
 * keeps its registers, and absurd steps are clamped. */
static void test_advance_wall_clock(void)
{
	struct rig r;
	rig_init(&r, BASE_JULY); /* 13:45:30 */
	wr(&r, RTC_REG_A, RTC_REG_A_DV_32KHZ);
	advance(&r, 300 * MS);
	wr(&r, RTC_SECONDS_ALARM, 0x40);
	wr(&r, RTC_MINUTES_ALARM, 0x46);
	wr(&r, RTC_HOURS_ALARM, 0x14);
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
	CHECK(vclock_next_deadline(&r.clock) > r.t + 3600 * SEC);
	rtc_advance_wall_clock(r.rtc, 3600 + 60 + 5);
	CHECK_TIME(&r, 0x35, 0x46, 0x14, 2, 0x15, 0x07, 0x24, 0x20);
	/* The next update is still 700 ms away; the alarm 5 s after it. */
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t + 700 * MS + 4 * SEC);
	advance(&r, 700 * MS - 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x35);
	advance(&r, 1);
	CHECK_EQ(rd(&r, RTC_SECONDS), 0x36);
	CHECK_EQ(r.irq_state.rises, 0);
	advance(&r, 4 * SEC);
	CHECK_EQ(r.irq_state.rises, 1);
	CHECK_EQ(rd(&r, RTC_REG_C) & RTC_REG_C_AF, RTC_REG_C_AF);
	/* Back by a day. */
	rtc_advance_wall_clock(r.rtc, -86400);
	CHECK_TIME(&r, 0x40, 0x46, 0x14, 1, 0x14, 0x07, 0x24, 0x20);
	/* Stopped by SET: the registers keep their time. */
	wr(&r, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_SET);
	rtc_advance_wall_clock(r.rtc, 1000);
	CHECK_TIME(&r, 0x40, 0x46, 0x14, 1, 0x14, 0x07, 0x24, 0x20);
	wr(&r, RTC_REG_B, RTC_REG_B_24H);
	/* Absurd steps are clamped; the clock still reads and runs. */
	rtc_advance_wall_clock(r.rtc, INT64_MAX);
	(void)rd_time(&r);
	advance(&r, 2 * SEC);
	rtc_advance_wall_clock(r.rtc, INT64_MIN);
	(void)rd_time(&r);
	advance(&r, 2 * SEC);
	rig_fini(&r);
}

/* Every register and CMOS byte, the NMI mask and the IRQ line, on a and b alike. */
static void check_same(struct rig *a, struct rig *b)
{
	CHECK_EQ(rtc_bus_ops.read(a->rtc, 1, 1), rtc_bus_ops.read(b->rtc, 1, 1));
	CHECK_EQ(rtc_nmi_masked(a->rtc), rtc_nmi_masked(b->rtc));
	for (unsigned i = 0; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_REG_C)
			CHECK_EQ(rd(a, i), rd(b, i));
	CHECK_EQ(a->irq_state.level, b->irq_state.level);
	CHECK_EQ(vclock_next_deadline(&a->clock), vclock_next_deadline(&b->clock));
}

/* Periodic interrupts at 1024 Hz, an alarm 5 s ahead, CMOS bytes and the
 * NMI mask set: a fresh RTC (created with another time) loaded from the
 * snapshot shows the same time and registers and raises the same
 * interrupts at the same virtual times. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a, BASE_JULY); /* 13:45:30 */
	rig_init(&b, BASE_LEAP);
	wr(&a, RTC_REG_A, RTC_REG_A_DV_32KHZ | 6);
	wr(&a, RTC_SECONDS_ALARM, 0x35);
	wr(&a, RTC_MINUTES_ALARM, 0x45);
	wr(&a, RTC_HOURS_ALARM, 0x13);
	wr(&a, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE | RTC_REG_B_PIE);
	wr(&a, 0x40, 0x5a);
	wr(&a, 0x7f, 0xa5);
	advance(&a, 1500 * MS + 77);
	CHECK_EQ(a.irq_state.level, 1);
	CHECK_EQ(rd(&a, RTC_REG_C), RTC_REG_C_IRQF | RTC_REG_C_PF | RTC_REG_C_UF);
	advance(&a, 100 * 1000);
	rtc_bus_ops.write(a.rtc, 0, RTC_INDEX_NMI_DISABLE | 0x40, 1);
	CHECK_EQ(a.irq_state.level, 0);

	struct statebuf sb;
	snap_save(rtc_device(a.rtc), &sb);
	b.t = a.t;
	vclock_set_now(&b.clock, a.t);
	char why[256];
	CHECK_EQ(snap_load(rtc_device(b.rtc), &sb, why, sizeof(why)), 0);
	CHECK_EQ(rtc_bus_ops.read(b.rtc, 1, 1), 0x5a); /* the index came along */
	CHECK(rtc_nmi_masked(b.rtc));
	CHECK_TIME(&a, 0x31, 0x45, 0x13, 2, 0x15, 0x07, 0x24, 0x20);
	CHECK_TIME(&b, 0x31, 0x45, 0x13, 2, 0x15, 0x07, 0x24, 0x20);
	check_same(&a, &b);
	unsigned rises = a.irq_state.rises;
	for (int i = 0; i < 40; i++) {
		advance(&a, 123 * MS);
		advance(&b, 123 * MS);
		CHECK_EQ(a.irq_state.rises - rises, b.irq_state.rises);
		CHECK_EQ(rd(&a, RTC_REG_C), rd(&b, RTC_REG_C));
		check_same(&a, &b);
	}
	CHECK_EQ(b.irq_state.rises, 40);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* Power-on registers, CMOS RAM clear, no timer: where a refused record
 * leaves the RTC (then reset). */
static void check_is_power_on(struct rig *r)
{
	CHECK(!rtc_nmi_masked(r->rtc));
	uint8_t at_index = (uint8_t)rtc_bus_ops.read(r->rtc, 1, 1);
	CHECK_EQ(at_index, rd(r, RTC_SECONDS)); /* index 0 */
	CHECK_EQ(rd(r, RTC_REG_A), 0x26);
	CHECK_EQ(rd(r, RTC_REG_B), RTC_REG_B_24H);
	CHECK_EQ(rd(r, RTC_REG_C), 0);
	CHECK_EQ(rd(r, 0x40), 0);
	CHECK_EQ(r->irq_state.level, 0);
	CHECK_EQ(vclock_next_deadline(&r->clock), VCLOCK_NEVER);
}

/* Sets byte index of field name. */
static void snap_poke_byte(struct statebuf *sb, const char *name, unsigned index, uint8_t v)
{
	uint32_t size = 0;
	uint8_t *at = snap_field(sb, name, &size);
	CHECK(at && index < size);
	if (at && index < size)
		at[index] = v;
}

/* Fields out of range are refused and leave the RTC as at power-on; records
 * of random fields either load or are refused, and an RTC that loaded runs a
 * sweep of port accesses and timers without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a, BASE_JULY);
	rig_init(&b, BASE_JULY);
	wr(&a, RTC_REG_A, RTC_REG_A_DV_32KHZ | 3);
	wr(&a, RTC_SECONDS_ALARM, 0xc0);
	wr(&a, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE | RTC_REG_B_PIE | RTC_REG_B_UIE);
	wr(&a, 0x40, 0x5a);
	advance(&a, 1234 * MS);
	rtc_bus_ops.write(a.rtc, 0, 0x3f, 1);
	struct statebuf sb;
	snap_save(rtc_device(a.rtc), &sb);
	b.t = a.t;
	vclock_set_now(&b.clock, a.t);
	char why[256];
	CHECK_EQ(snap_load(rtc_device(b.rtc), &sb, why, sizeof(why)), 0);

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "index", RTC_CMOS_SIZE },
		{ "index", 0xff },
		{ "nmi_masked", 2 },
		{ "flags", RTC_REG_C_IRQF },
		{ "irq_level", 2 },
		{ "irq_level", (uint64_t)-1 },
		{ "wday_offset", 7 },
		{ "base_sec", 1ull << 41 },
		{ "base_sec", (uint64_t)INT64_MIN },
		{ "base_ns", (uint64_t)(-2 * SEC) },
		{ "base_ns", (uint64_t)INT64_MAX },
		{ "synced_ns", (uint64_t)-1 },
		{ "synced_ns", 1ull << 63 },
		{ "periodic_deadline", (uint64_t)INT64_MIN },
		{ "update_deadline", (uint64_t)(-2 * SEC) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(rtc_device(b.rtc), &sb, bad[i].field, bad[i].value);
		/* A bad boolean is refused by the loader itself, before the RTC's
		 * own check: the reset that follows is the RESET pin's (CMOS kept). */
		if (strcmp(bad[i].field, "nmi_masked") != 0)
			check_is_power_on(&b);
	}
	static const struct {
		unsigned index;
		uint8_t value;
	} bad_cmos[] = { { RTC_REG_A, 0xa6 }, { RTC_REG_C, 0x80 }, { RTC_REG_D, 0x80 } };
	for (size_t i = 0; i < ARRAY_SIZE(bad_cmos); i++) {
		struct statebuf bad_sb;
		sb_init(&bad_sb);
		sb_put(&bad_sb, sb.data, sb.len);
		snap_poke_byte(&bad_sb, "cmos", bad_cmos[i].index, bad_cmos[i].value);
		CHECK_EQ(snap_load(rtc_device(b.rtc), &bad_sb, why, sizeof(why)), -EINVAL);
		CHECK(strstr(why, "rtc: ") == why);
		check_is_power_on(&b);
		sb_free(&bad_sb);
	}

	uint64_t rng = 0x853c49e6748fea9bULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(rtc_device(b.rtc), &junk, &rng);
		int r = snap_load(rtc_device(b.rtc), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			for (unsigned k = 0; k < 100; k++) {
				uint64_t x = snap_rand(&rng);
				switch (x % 5) {
				case 0:
					(void)rtc_bus_ops.read(b.rtc, 1, 1);
					break;
				case 1:
					rtc_bus_ops.write(b.rtc, (x >> 8) & 1, (uint8_t)(x >> 16), 1);
					break;
				case 2:
					(void)rd(&b, (x >> 8) & 0x7f);
					break;
				case 3:
					if ((x >> 8) % 16 == 0)
						rtc_advance_wall_clock(b.rtc,
								       (int64_t)snap_rand(&rng) >> ((x >> 16) % 64));
					break;
				default:
					advance(&b, (int64_t)((x >> 24) % ((x & 0x100) ? 3 * SEC : 5 * MS)));
					break;
				}
			}
		} else {
			check_is_power_on(&b);
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

CHECK_MAIN(TEST_CASE(test_power_on_values), TEST_CASE(test_binary_and_12_hour),
	   TEST_CASE(test_calendar_carries), TEST_CASE(test_set_freezes_and_sets),
	   TEST_CASE(test_write_while_running), TEST_CASE(test_divider_reset),
	   TEST_CASE(test_periodic_rates), TEST_CASE(test_periodic_flag_without_pie),
	   TEST_CASE(test_update_interrupt), TEST_CASE(test_alarm), TEST_CASE(test_uip),
	   TEST_CASE(test_reg_c_and_irq), TEST_CASE(test_cmos_ram_and_nmi),
	   TEST_CASE(test_memory_size), TEST_CASE(test_base_clamped), TEST_CASE(test_garbage),
	   TEST_CASE(test_invalid_time_values), TEST_CASE(test_advance_wall_clock),
	   TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
