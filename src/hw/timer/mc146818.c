/* SPDX-License-Identifier: MIT */
/*
 * MC146818A real-time clock plus RAM, following the Motorola MC146818A
 * datasheet: time, calendar and alarm registers in BCD or binary, 12- or
 * 24-hour mode, registers A..D, periodic interrupts at the RS3..RS0 rate,
 * alarm interrupts with "don't care" bytes, update-ended interrupts, UIP
 * (set 244 us before each update), SET, and the divider reset whose end
 * starts the first update half a second later.
 *
 * How it runs: the time is kept as seconds (base_sec) at the virtual time of
 * an update (base_ns); the registers are filled from it when read. Flags in
 * register C are computed lazily for the span since the last look, and
 * timers are armed only for enabled interrupts whose flag is still clear, so
 * an RTC nobody listens to costs nothing.
 *
 * Not modelled: daylight saving (DSE is stored and ignored), the square-wave
 * pin (SQWE is stored; the PC leaves SQW unconnected), the 4.194304 and
 * 1.048576 MHz time bases (DV 000 and 001 count like 32.768 kHz, as QEMU
 * does; the test modes 011..101 stop the clock), the register values during
 * the update cycle itself (the time changes at the update instant), and
 * time registers holding values the datasheet calls undefined: they are
 * normalised on the calendar (the 31st of February is the 3rd of March).
 * Periodic interrupts the host was too late to deliver are coalesced.
 * The CMOS checksum at 0x2e/0x2f is the board's business.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/timer/mc146818.h"

#define NS_PER_SEC 1000000000LL
#define RTC_TIMEBASE_HZ 32768
#define RTC_UIP_NS 244000LL /* tBUC: UIP rises this long before the update */
#define RTC_FIRST_UPDATE_NS 500000000LL /* after the divider leaves reset */
#define SECS_PER_DAY 86400

/* 1970-01-01 .. 9999-12-31 23:59:59 */
#define RTC_BASE_MAX 253402300799LL
/* Bounds a snapshot's times must keep (the calendar arithmetic stays far
 * from overflow within them): seconds beyond any time the registers can
 * hold (year 16665 with BCD digits of 15, 25755 in binary), virtual times
 * of about 146 years. */
#define RTC_SEC_LIMIT (1LL << 40)
#define RTC_NS_LIMIT (1LL << 62)

/* What the guest sees and a snapshot keeps (rtc_fields). */
struct rtc_state {
	uint8_t cmos[RTC_CMOS_SIZE]; /* time registers: as last latched or written */
	uint8_t index;
	bool nmi_masked;
	uint8_t flags; /* PF | AF | UF of register C */

	int64_t base_sec; /* the time, in seconds, at base_ns */
	int64_t base_ns; /* virtual time of an update: the divider chain's phase */
	int64_t synced_ns; /* flags account for everything up to here */
	uint32_t wday_offset; /* the guest's day of week minus the calendar's, mod 7 */
	int32_t irq_level;
	int64_t periodic_deadline; /* the timers' (snapshots) */
	int64_t update_deadline;
};

struct mc146818 {
	struct device dev;
	struct vclock *clock;
	struct irq_line irq;
	struct vtimer periodic_timer;
	struct vtimer update_timer; /* next update-ended or alarm event */
	int64_t power_on_sec; /* what rtc_create showed at power_on_ns */
	int64_t power_on_ns;
	struct rtc_state s;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date; month and day may lie
 * outside their ranges and carry into the year and month (H. Hinnant's
 * civil calendar algorithms). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y += floor_div(m - 1, 12);
	m = floor_mod(m - 1, 12) + 1;
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + (d - 1);
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool rtc_binary(const struct mc146818 *rtc)
{
	return rtc->s.cmos[RTC_REG_B] & RTC_REG_B_DM;
}

static unsigned rtc_from_reg(const struct mc146818 *rtc, uint8_t v)
{
	/* Invalid BCD digits are taken at face value: undefined in the datasheet. */
	return rtc_binary(rtc) ? v : (unsigned)(v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_to_reg(const struct mc146818 *rtc, unsigned v)
{
	v %= 100;
	return rtc_binary(rtc) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_encode_hour(const struct mc146818 *rtc, unsigned h)
{
	if (rtc->s.cmos[RTC_REG_B] & RTC_REG_B_24H)
		return rtc_to_reg(rtc, h);
	/* 12-hour mode: 0 is 12 AM, 12 is 12 PM. */
	unsigned h12 = h % 12 ? h % 12 : 12;
	return rtc_to_reg(rtc, h12) | (h >= 12 ? RTC_HOURS_PM : 0);
}

static unsigned rtc_decode_hour(const struct mc146818 *rtc, uint8_t v)
{
	if (rtc->s.cmos[RTC_REG_B] & RTC_REG_B_24H)
		return rtc_from_reg(rtc, v);
	unsigned h = rtc_from_reg(rtc, v & ~RTC_HOURS_PM) % 12;
	return (v & RTC_HOURS_PM) ? h + 12 : h;
}

static bool rtc_divider_running(const struct mc146818 *rtc)
{
	return (rtc->s.cmos[RTC_REG_A] & RTC_REG_A_DV_MASK) <= RTC_REG_A_DV_32KHZ;
}

/* The time advances and update cycles happen. */
static bool rtc_updating(const struct mc146818 *rtc)
{
	return rtc_divider_running(rtc) && !(rtc->s.cmos[RTC_REG_B] & RTC_REG_B_SET);
}

static int64_t rtc_sec_at(const struct mc146818 *rtc, int64_t t)
{
	return rtc->s.base_sec + floor_div(t - rtc->s.base_ns, NS_PER_SEC);
}

/* 32.768 kHz divider ticks from the phase origin to t. */
static int64_t rtc_ticks_at(const struct mc146818 *rtc, int64_t t)
{
	int64_t d = t - rtc->s.base_ns;
	return floor_div(d, NS_PER_SEC) * RTC_TIMEBASE_HZ +
	       floor_mod(d, NS_PER_SEC) * RTC_TIMEBASE_HZ / NS_PER_SEC;
}

/* The first virtual time at which rtc_ticks_at() reaches ticks. */
static int64_t rtc_ticks_to_ns(const struct mc146818 *rtc, int64_t ticks)
{
	int64_t frac = floor_mod(ticks, RTC_TIMEBASE_HZ);
	return rtc->s.base_ns + floor_div(ticks, RTC_TIMEBASE_HZ) * NS_PER_SEC +
	       (frac * NS_PER_SEC + RTC_TIMEBASE_HZ - 1) / RTC_TIMEBASE_HZ;
}

/* Period of the periodic interrupt in divider ticks, 0 for none (datasheet
 * Table 5, 32.768 kHz column: rates 1 and 2 repeat rates 8 and 9). */
static int64_t rtc_period_ticks(const struct mc146818 *rtc)
{
	unsigned rs = rtc->s.cmos[RTC_REG_A] & RTC_REG_A_RS_MASK;
	if (rs == 0)
		return 0;
	return rs <= 2 ? 1LL << (rs + 6) : 1LL << (rs - 1);
}

static bool rtc_alarm_matches(uint8_t alarm, uint8_t value)
{
	return (alarm & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE || alarm == value;
}

/* The first second after `after` whose time of day matches the three alarm
 * bytes, compared as encoded in the current mode; false if none ever does. */
static bool rtc_next_alarm(const struct mc146818 *rtc, int64_t after, int64_t *out)
{
	bool sec_ok[60], min_ok[60], hour_ok[24];
	bool any_sec = false, any_min = false, any_hour = false;
	for (unsigned i = 0; i < 60; i++) {
		sec_ok[i] = rtc_alarm_matches(rtc->s.cmos[RTC_SECONDS_ALARM], rtc_to_reg(rtc, i));
		min_ok[i] = rtc_alarm_matches(rtc->s.cmos[RTC_MINUTES_ALARM], rtc_to_reg(rtc, i));
		any_sec |= sec_ok[i];
		any_min |= min_ok[i];
	}
	for (unsigned i = 0; i < 24; i++) {
		hour_ok[i] = rtc_alarm_matches(rtc->s.cmos[RTC_HOURS_ALARM], rtc_encode_hour(rtc, i));
		any_hour |= hour_ok[i];
	}
	if (!any_sec || !any_min || !any_hour)
		return false;
	int64_t day = floor_div(after + 1, SECS_PER_DAY);
	int64_t tod = after + 1 - day * SECS_PER_DAY;
	/* Every set is non-empty, so today's rest or tomorrow holds a match. */
	for (int pass = 0; pass < 2; pass++, day++, tod = 0) {
		unsigned h = (unsigned)(tod / 3600), m = (unsigned)(tod / 60 % 60), s = (unsigned)(tod % 60);
		for (; h < 24; h++, m = 0, s = 0) {
			if (!hour_ok[h])
				continue;
			for (; m < 60; m++, s = 0) {
				if (!min_ok[m])
					continue;
				for (; s < 60; s++) {
					if (sec_ok[s]) {
						*out = day * SECS_PER_DAY + h * 3600 + m * 60 + s;
						return true;
					}
				}
			}
		}
	}
	return false;
}

/* The device's notion of now: never behind what the flags already cover. */
static int64_t rtc_now(const struct mc146818 *rtc)
{
	int64_t now = vclock_now(rtc->clock);
	return now < rtc->s.synced_ns ? rtc->s.synced_ns : now;
}

/* Sets PF, UF and AF for the events in (synced_ns, now]. */
static void rtc_sync(struct mc146818 *rtc, int64_t now)
{
	int64_t from = rtc->s.synced_ns;
	if (now <= from)
		return;
	rtc->s.synced_ns = now;
	if (!rtc_divider_running(rtc))
		return;
	int64_t period = rtc_period_ticks(rtc);
	if (period && floor_div(rtc_ticks_at(rtc, from), period) !=
			      floor_div(rtc_ticks_at(rtc, now), period))
		rtc->s.flags |= RTC_REG_C_PF;
	if (rtc->s.cmos[RTC_REG_B] & RTC_REG_B_SET)
		return;
	int64_t s0 = rtc_sec_at(rtc, from), s1 = rtc_sec_at(rtc, now);
	if (s1 > s0) {
		rtc->s.flags |= RTC_REG_C_UF;
		int64_t alarm;
		if (!(rtc->s.flags & RTC_REG_C_AF) && rtc_next_alarm(rtc, s0, &alarm) && alarm <= s1)
			rtc->s.flags |= RTC_REG_C_AF;
	}
}

static void rtc_update_irq(struct mc146818 *rtc)
{
	int level = (rtc->s.flags & rtc->s.cmos[RTC_REG_B] &
		     (RTC_REG_C_PF | RTC_REG_C_AF | RTC_REG_C_UF)) != 0;
	if (level != rtc->s.irq_level) {
		rtc->s.irq_level = level;
		irq_set_level(&rtc->irq, level);
	}
}

static void rtc_arm(struct vtimer *t, int64_t deadline)
{
	if (deadline == VCLOCK_NEVER) {
		vtimer_cancel(t);
		return;
	}
	if (vtimer_arm(t, deadline) < 0)
		log_warn("rtc: cannot arm a timer; an interrupt will be late");
}

/* Timers only for enabled interrupts whose flag is still clear: with the
 * flag set the line is already high and nothing would change. */
static void rtc_rearm(struct mc146818 *rtc, int64_t now)
{
	uint8_t b = rtc->s.cmos[RTC_REG_B];
	int64_t periodic = VCLOCK_NEVER, update = VCLOCK_NEVER;
	int64_t period = rtc_period_ticks(rtc);
	if (rtc_divider_running(rtc) && (b & RTC_REG_B_PIE) && period &&
	    !(rtc->s.flags & RTC_REG_C_PF))
		periodic = rtc_ticks_to_ns(rtc, (floor_div(rtc_ticks_at(rtc, now), period) + 1) * period);
	if (rtc_updating(rtc)) {
		int64_t sec = rtc_sec_at(rtc, now);
		if ((b & RTC_REG_B_UIE) && !(rtc->s.flags & RTC_REG_C_UF))
			update = rtc->s.base_ns + (sec + 1 - rtc->s.base_sec) * NS_PER_SEC;
		int64_t alarm;
		if ((b & RTC_REG_B_AIE) && !(rtc->s.flags & RTC_REG_C_AF) &&
		    rtc_next_alarm(rtc, sec, &alarm)) {
			int64_t at = rtc->s.base_ns + (alarm - rtc->s.base_sec) * NS_PER_SEC;
			if (at < update)
				update = at;
		}
	}
	rtc_arm(&rtc->periodic_timer, periodic);
	rtc_arm(&rtc->update_timer, update);
}

static void rtc_timer_fire(struct mc146818 *rtc, const struct vtimer *t)
{
	/* Never behind the deadline, so a re-arm always moves forward. */
	int64_t now = rtc_now(rtc);
	if (now < t->deadline)
		now = t->deadline;
	rtc_sync(rtc, now);
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
}

static void rtc_periodic_fire(void *opaque)
{
	struct mc146818 *rtc = opaque;
	rtc_timer_fire(rtc, &rtc->periodic_timer);
}

static void rtc_update_fire(void *opaque)
{
	struct mc146818 *rtc = opaque;
	rtc_timer_fire(rtc, &rtc->update_timer);
}

/* Fills the time registers from the running clock. */
static void rtc_latch(struct mc146818 *rtc, int64_t now)
{
	int64_t s = rtc_sec_at(rtc, now);
	int64_t days = floor_div(s, SECS_PER_DAY);
	int64_t tod = s - days * SECS_PER_DAY;
	int64_t year;
	unsigned month, date;
	civil_from_days(days, &year, &month, &date);
	unsigned wday = (unsigned)floor_mod(days + 4, 7); /* 1970-01-01 was a Thursday */
	rtc->s.cmos[RTC_SECONDS] = rtc_to_reg(rtc, (unsigned)(tod % 60));
	rtc->s.cmos[RTC_MINUTES] = rtc_to_reg(rtc, (unsigned)(tod / 60 % 60));
	rtc->s.cmos[RTC_HOURS] = rtc_encode_hour(rtc, (unsigned)(tod / 3600));
	rtc->s.cmos[RTC_DAY_OF_WEEK] = rtc_to_reg(rtc, (wday + rtc->s.wday_offset) % 7 + 1);
	rtc->s.cmos[RTC_DATE_OF_MONTH] = rtc_to_reg(rtc, date);
	rtc->s.cmos[RTC_MONTH] = rtc_to_reg(rtc, month);
	rtc->s.cmos[RTC_YEAR] = rtc_to_reg(rtc, (unsigned)floor_mod(year, 100));
	rtc->s.cmos[RTC_CENTURY] = rtc_to_reg(rtc, (unsigned)floor_mod(floor_div(year, 100), 100));
}

/* Takes the time from the registers, as the chip does when SET drops. */
static void rtc_load_time(struct mc146818 *rtc)
{
	int64_t year = (int64_t)rtc_from_reg(rtc, rtc->s.cmos[RTC_CENTURY]) * 100 +
		       rtc_from_reg(rtc, rtc->s.cmos[RTC_YEAR]);
	int64_t days = days_from_civil(year, rtc_from_reg(rtc, rtc->s.cmos[RTC_MONTH]),
				       rtc_from_reg(rtc, rtc->s.cmos[RTC_DATE_OF_MONTH]));
	rtc->s.base_sec = days * SECS_PER_DAY + rtc_decode_hour(rtc, rtc->s.cmos[RTC_HOURS]) * 3600LL +
			rtc_from_reg(rtc, rtc->s.cmos[RTC_MINUTES]) * 60LL +
			rtc_from_reg(rtc, rtc->s.cmos[RTC_SECONDS]);
	/* The chip counts the day of week on its own; keep the guest's. */
	int64_t calendar = floor_mod(floor_div(rtc->s.base_sec, SECS_PER_DAY) + 4, 7);
	int64_t guest = (int64_t)rtc_from_reg(rtc, rtc->s.cmos[RTC_DAY_OF_WEEK]) - 1;
	rtc->s.wday_offset = (unsigned)floor_mod(guest - calendar, 7);
}

/* The registers hold a new time from now on; the divider keeps its phase. */
static void rtc_restart_keep_phase(struct mc146818 *rtc, int64_t now)
{
	rtc->s.base_ns += floor_div(now - rtc->s.base_ns, NS_PER_SEC) * NS_PER_SEC;
	rtc_load_time(rtc);
}

static bool rtc_is_time_reg(unsigned index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DATE_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static void rtc_write_reg_a(struct mc146818 *rtc, uint8_t value, int64_t now)
{
	bool was_running = rtc_divider_running(rtc);
	bool was_updating = rtc_updating(rtc);
	if (was_updating)
		rtc_latch(rtc, now);
	rtc->s.cmos[RTC_REG_A] = value & ~RTC_REG_A_UIP;
	if (!was_running && rtc_divider_running(rtc)) {
		/* Leaving divider reset: the first update comes half a second later. */
		rtc->s.base_ns = now - (NS_PER_SEC - RTC_FIRST_UPDATE_NS);
		if (rtc_updating(rtc))
			rtc_load_time(rtc);
	}
}

static void rtc_write_reg_b(struct mc146818 *rtc, uint8_t value, int64_t now)
{
	uint8_t old = rtc->s.cmos[RTC_REG_B];
	if (value & RTC_REG_B_SET) {
		if (rtc_updating(rtc))
			rtc_latch(rtc, now);
		/* Datasheet: SET clears UIE (and, being stopped, UIP). */
		value &= ~RTC_REG_B_UIE;
	}
	rtc->s.cmos[RTC_REG_B] = value;
	if ((old & RTC_REG_B_SET) && !(value & RTC_REG_B_SET) && rtc_divider_running(rtc))
		rtc_restart_keep_phase(rtc, now);
}

static void rtc_write_reg(struct mc146818 *rtc, unsigned index, uint8_t value)
{
	int64_t now = rtc_now(rtc);
	rtc_sync(rtc, now);
	switch (index) {
	case RTC_REG_A:
		rtc_write_reg_a(rtc, value, now);
		break;
	case RTC_REG_B:
		rtc_write_reg_b(rtc, value, now);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		log_guest("rtc: write 0x%02x to read-only register %c ignored", value,
			  index == RTC_REG_C ? 'C' : 'D');
		return;
	default:
		if (rtc_is_time_reg(index) && rtc_updating(rtc)) {
			/* A write while running sets the time at once (as QEMU does);
			 * the other registers must hold the current time first. */
			rtc_latch(rtc, now);
			rtc->s.cmos[index] = value;
			rtc_restart_keep_phase(rtc, now);
		} else {
			rtc->s.cmos[index] = value;
		}
		break;
	}
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
}

static uint8_t rtc_read_reg(struct mc146818 *rtc, unsigned index)
{
	int64_t now = rtc_now(rtc);
	switch (index) {
	case RTC_REG_A: {
		uint8_t a = rtc->s.cmos[RTC_REG_A];
		if (rtc_updating(rtc) && floor_mod(now - rtc->s.base_ns, NS_PER_SEC) >= NS_PER_SEC - RTC_UIP_NS)
			a |= RTC_REG_A_UIP;
		return a;
	}
	case RTC_REG_C: {
		rtc_sync(rtc, now);
		uint8_t c = rtc->s.flags;
		if (c & rtc->s.cmos[RTC_REG_B] & (RTC_REG_C_PF | RTC_REG_C_AF | RTC_REG_C_UF))
			c |= RTC_REG_C_IRQF;
		/* Reading C clears every flag and releases IRQ. */
		rtc->s.flags = 0;
		rtc_update_irq(rtc);
		rtc_rearm(rtc, now);
		return c;
	}
	case RTC_REG_D:
		return RTC_REG_D_VRT;
	default:
		if (rtc_is_time_reg(index) && rtc_updating(rtc))
			rtc_latch(rtc, now);
		return rtc->s.cmos[index];
	}
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct mc146818 *rtc = opaque;
	(void)size;
	/* The index port is write-only on the PC. */
	if (offset != 1)
		return 0xff;
	return rtc_read_reg(rtc, rtc->s.index);
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct mc146818 *rtc = opaque;
	(void)size;
	if (offset == 0) {
		rtc->s.index = value & (RTC_CMOS_SIZE - 1);
		rtc->s.nmi_masked = value & RTC_INDEX_NMI_DISABLE;
	} else if (offset == 1) {
		rtc_write_reg(rtc, rtc->s.index, (uint8_t)value);
	}
}

const struct bus_ops rtc_bus_ops = {
	.read = rtc_read,
	.write = rtc_write,
	.min_size = 1,
	.max_size = 1,
};

void rtc_set_cmos(struct mc146818 *rtc, unsigned index, uint8_t value)
{
	if (index < RTC_CMOS_SIZE)
		rtc_write_reg(rtc, index, value);
}

uint8_t rtc_get_cmos(struct mc146818 *rtc, unsigned index)
{
	return index < RTC_CMOS_SIZE ? rtc_read_reg(rtc, index) : 0xff;
}

static void rtc_set_word(struct mc146818 *rtc, unsigned index, uint64_t value, uint64_t cap)
{
	if (value > cap)
		value = cap;
	rtc_set_cmos(rtc, index, (uint8_t)value);
	rtc_set_cmos(rtc, index + 1, (uint8_t)(value >> 8));
}

void rtc_set_memory_size(struct mc146818 *rtc, uint64_t low_ram_bytes, uint64_t high_ram_bytes)
{
	uint64_t base_kib = low_ram_bytes / KiB;
	rtc_set_word(rtc, 0x15, base_kib, 640);
	uint64_t ext_kib = low_ram_bytes > 1 * MiB ? (low_ram_bytes - 1 * MiB) / KiB : 0;
	rtc_set_word(rtc, 0x17, ext_kib, 0xffff);
	rtc_set_word(rtc, 0x30, ext_kib, 0xffff);
	uint64_t above_16m = low_ram_bytes > 16 * MiB ? (low_ram_bytes - 16 * MiB) / (64 * KiB) : 0;
	rtc_set_word(rtc, 0x34, above_16m, 0xffff);
	uint64_t above_4g = high_ram_bytes / (64 * KiB);
	if (above_4g > 0xffffff)
		above_4g = 0xffffff;
	rtc_set_cmos(rtc, 0x5b, (uint8_t)above_4g);
	rtc_set_cmos(rtc, 0x5c, (uint8_t)(above_4g >> 8));
	rtc_set_cmos(rtc, 0x5d, (uint8_t)(above_4g >> 16));
}

bool rtc_nmi_masked(const struct mc146818 *rtc)
{
	return rtc->s.nmi_masked;
}

void rtc_advance_wall_clock(struct mc146818 *rtc, int64_t seconds)
{
	int64_t now = rtc_now(rtc);
	rtc_sync(rtc, now);
	/* Stopped (SET, divider held), the registers hold the time and the
	 * guest restarts it from them. */
	if (rtc_updating(rtc)) {
		int64_t sec = rtc->s.base_sec;
		if (seconds > RTC_SEC_LIMIT - sec)
			sec = RTC_SEC_LIMIT;
		else if (seconds < -RTC_SEC_LIMIT - sec)
			sec = -RTC_SEC_LIMIT;
		else
			sec += seconds;
		rtc->s.base_sec = sec;
	}
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
}

void rtc_reset(struct mc146818 *rtc)
{
	int64_t now = rtc_now(rtc);
	rtc_sync(rtc, now);
	rtc->s.cmos[RTC_REG_B] &= ~(RTC_REG_B_PIE | RTC_REG_B_AIE | RTC_REG_B_UIE | RTC_REG_B_SQWE);
	rtc->s.flags = 0;
	rtc_update_irq(rtc);
	rtc_rearm(rtc, now);
}

/* The state of rtc_create(): CMOS RAM zero, registers A and B at their
 * power-on values, the time of power_on_sec at power_on_ns. */
static void rtc_power_on(struct mc146818 *rtc)
{
	memset(&rtc->s, 0, sizeof(rtc->s));
	rtc->s.base_sec = rtc->power_on_sec;
	rtc->s.base_ns = rtc->power_on_ns;
	rtc->s.synced_ns = rtc->power_on_ns;
	rtc->s.cmos[RTC_REG_A] = RTC_REG_A_DV_32KHZ | 0x06;
	rtc->s.cmos[RTC_REG_B] = RTC_REG_B_24H;
	rtc->s.periodic_deadline = VCLOCK_NEVER;
	rtc->s.update_deadline = VCLOCK_NEVER;
	rtc_latch(rtc, rtc->s.base_ns);
}

static const struct device_field rtc_fields[] = {
	DEVICE_FIELD(struct rtc_state, cmos),
	DEVICE_FIELD(struct rtc_state, index),
	DEVICE_BOOL(struct rtc_state, nmi_masked),
	DEVICE_FIELD(struct rtc_state, flags),
	DEVICE_FIELD(struct rtc_state, base_sec),
	DEVICE_FIELD(struct rtc_state, base_ns),
	DEVICE_FIELD(struct rtc_state, synced_ns),
	DEVICE_FIELD(struct rtc_state, wday_offset),
	DEVICE_FIELD(struct rtc_state, irq_level),
	DEVICE_FIELD(struct rtc_state, periodic_deadline),
	DEVICE_FIELD(struct rtc_state, update_deadline),
};

static int rtc_pre_save(struct device *dev)
{
	struct mc146818 *rtc = container_of(dev, struct mc146818, dev);
	rtc->s.periodic_deadline = vtimer_deadline(&rtc->periodic_timer);
	rtc->s.update_deadline = vtimer_deadline(&rtc->update_timer);
	return 0;
}

static bool rtc_deadline_ok(int64_t t)
{
	return t == VCLOCK_NEVER || t >= -NS_PER_SEC;
}

/* The invariants the RTC relies on: the index within the CMOS RAM, flags
 * and levels as the code sets them, registers C and D never stored, times
 * within the bounds that keep the calendar arithmetic exact. NULL if they
 * hold, else what breaks. */
static const char *rtc_check(const struct mc146818 *rtc)
{
	const struct rtc_state *s = &rtc->s;
	uint8_t nmi;
	/* A refused record may have left any byte in the bool. */
	memcpy(&nmi, &s->nmi_masked, 1);
	if (s->index >= RTC_CMOS_SIZE || nmi > 1)
		return "index out of range";
	if ((s->flags & ~(RTC_REG_C_PF | RTC_REG_C_AF | RTC_REG_C_UF)) ||
	    (s->irq_level != 0 && s->irq_level != 1))
		return "register C flags or IRQ level out of range";
	if ((s->cmos[RTC_REG_A] & RTC_REG_A_UIP) || s->cmos[RTC_REG_C] || s->cmos[RTC_REG_D])
		return "registers A, C or D hold what they never store";
	if (s->wday_offset >= 7 || s->base_sec < -RTC_SEC_LIMIT || s->base_sec > RTC_SEC_LIMIT ||
	    s->base_ns < -NS_PER_SEC || s->base_ns > RTC_NS_LIMIT || s->synced_ns < 0 ||
	    s->synced_ns > RTC_NS_LIMIT)
		return "time out of range";
	if (!rtc_deadline_ok(s->periodic_deadline) || !rtc_deadline_ok(s->update_deadline))
		return "timer deadline out of range";
	return NULL;
}

static int rtc_post_load(struct device *dev, char *why, size_t why_len)
{
	struct mc146818 *rtc = container_of(dev, struct mc146818, dev);
	const char *bad = rtc_check(rtc);
	if (bad) {
		snprintf(why, why_len, "%s: %s", dev->name, bad);
		return -EINVAL;
	}
	if (vtimer_set_deadline(&rtc->periodic_timer, rtc->s.periodic_deadline) < 0 ||
	    vtimer_set_deadline(&rtc->update_timer, rtc->s.update_deadline) < 0) {
		snprintf(why, why_len, "%s: out of memory", dev->name);
		return -ENOMEM;
	}
	return 0;
}

static void rtc_device_reset(struct device *dev)
{
	struct mc146818 *rtc = container_of(dev, struct mc146818, dev);
	/* The RESET pin keeps the time and the CMOS RAM, so a record the load
	 * refused could leave a state that breaks the invariants: the RTC then
	 * starts over as at power-on, and the line is driven afresh. */
	if (rtc_check(rtc)) {
		rtc_power_on(rtc);
		rtc->s.irq_level = -1;
	}
	rtc_reset(rtc);
}

static void rtc_device_destroy(struct device *dev)
{
	rtc_destroy(container_of(dev, struct mc146818, dev));
}

static const struct device_class rtc_class = {
	.type = "mc146818",
	.version = 1,
	.fields = rtc_fields,
	.nfields = ARRAY_SIZE(rtc_fields),
	.reset = rtc_device_reset,
	.pre_save = rtc_pre_save,
	.post_load = rtc_post_load,
	.destroy = rtc_device_destroy,
};

struct device *rtc_device(struct mc146818 *rtc)
{
	return &rtc->dev;
}

struct mc146818 *rtc_create(struct vclock *clock, const struct irq_line *irq, time_t base)
{
	struct mc146818 *rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return NULL;
	rtc->clock = clock;
	if (irq)
		rtc->irq = *irq;
	vtimer_init(&rtc->periodic_timer, clock, rtc_periodic_fire, rtc);
	vtimer_init(&rtc->update_timer, clock, rtc_update_fire, rtc);
	device_init(&rtc->dev, &rtc_class, "rtc", &rtc->s);
	int64_t sec = (int64_t)base;
	if (sec < 0)
		sec = 0;
	if (sec > RTC_BASE_MAX)
		sec = RTC_BASE_MAX;
	rtc->power_on_sec = sec;
	rtc->power_on_ns = vclock_now(clock);
	rtc_power_on(rtc);
	return rtc;
}

void rtc_destroy(struct mc146818 *rtc)
{
	if (!rtc)
		return;
	vtimer_cancel(&rtc->periodic_timer);
	vtimer_cancel(&rtc->update_timer);
	free(rtc);
}
