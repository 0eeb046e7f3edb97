/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM1a event/control blocks and the PM timer (ACPI 6.5 §4.8.3.1 PM1
 * event grouping, §4.8.3.2 PM1 control grouping, §4.8.3.3 power management
 * timer). See acpi_pm.h for the port layout and what is not implemented.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/timer/acpi_pm.h"

#define ACPI_PM_TIMER_BITS 24
#define ACPI_PM_TIMER_MASK ((1u << ACPI_PM_TIMER_BITS) - 1)
#define NS_PER_SEC 1000000000ULL

/* Status bits that raise an SCI when their enable bit is set. */
#define ACPI_PM1_SCI_EVENTS                                                          \
	(ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | \
	 ACPI_PM1_RTC_STS)
#define ACPI_PM1_STS_MASK (ACPI_PM1_SCI_EVENTS | ACPI_PM1_BM_STS | ACPI_PM1_WAK_STS)
#define ACPI_PM1_EN_MASK                                                              \
	(ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | ACPI_PM1_SLPBTN_EN | \
	 ACPI_PM1_RTC_EN)
#define ACPI_PM1_CNT_MASK (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

/* What the guest sees and a snapshot keeps (acpi_pm_fields). The timer
 * itself is virtual time: nothing of it to keep but tmr_epoch. */
struct acpi_pm_state {
	uint16_t sts;
	uint16_t en;
	uint16_t cnt; /* SLP_EN is write-only and never stored */
	uint64_t tmr_epoch; /* ticks >> 23 when TMR_STS was last brought up to date */
	int32_t sci_level;
	int64_t overflow_deadline; /* overflow_timer's (snapshots) */
};

struct acpi_pm {
	struct device dev;
	struct vclock *clock;
	struct irq_line sci;
	void (*poweroff)(void *opaque);
	void *opaque;
	struct vtimer overflow_timer; /* armed while TMR_EN: next flip of bit 23 */
	struct acpi_pm_state s;
};

static uint64_t acpi_pm_ticks(const struct acpi_pm *pm)
{
	int64_t now = vclock_now(pm->clock);
	if (now < 0)
		now = 0;
	return (uint64_t)((unsigned __int128)now * ACPI_PM_TIMER_HZ / NS_PER_SEC);
}

uint32_t acpi_pm_timer_value(const struct acpi_pm *pm)
{
	return (uint32_t)(acpi_pm_ticks(pm) & ACPI_PM_TIMER_MASK);
}

/* TMR_STS is set whenever bit 23 of the counter changes (§4.8.3.3). */
static void acpi_pm_sync_tmr_sts(struct acpi_pm *pm)
{
	uint64_t epoch = acpi_pm_ticks(pm) >> (ACPI_PM_TIMER_BITS - 1);
	if (epoch != pm->s.tmr_epoch) {
		pm->s.tmr_epoch = epoch;
		pm->s.sts |= ACPI_PM1_TMR_STS;
	}
}

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	int level = (pm->s.cnt & ACPI_PM1_SCI_EN) && (pm->s.sts & pm->s.en & ACPI_PM1_SCI_EVENTS);
	if (level != pm->s.sci_level) {
		pm->s.sci_level = level;
		irq_set_level(&pm->sci, level);
	}
}

static void acpi_pm_arm_overflow(struct acpi_pm *pm)
{
	if (!(pm->s.en & ACPI_PM1_TMR_EN)) {
		vtimer_cancel(&pm->overflow_timer);
		return;
	}
	uint64_t next = (pm->s.tmr_epoch + 1) << (ACPI_PM_TIMER_BITS - 1);
	/* Round up so the timer fires at or after the flip, never before it. */
	unsigned __int128 ns = ((unsigned __int128)next * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) /
			       ACPI_PM_TIMER_HZ;
	int64_t deadline = ns > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)ns;
	if (vtimer_arm(&pm->overflow_timer, deadline) < 0)
		log_warn("acpi-pm: cannot arm the PM timer overflow timer");
}

static void acpi_pm_overflow_fire(void *opaque)
{
	struct acpi_pm *pm = opaque;
	acpi_pm_sync_tmr_sts(pm);
	acpi_pm_update_sci(pm);
	acpi_pm_arm_overflow(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->s.sts |= ACPI_PM1_PWRBTN_STS;
	acpi_pm_update_sci(pm);
}

static void acpi_pm_write_cnt(struct acpi_pm *pm, uint16_t v)
{
	pm->s.cnt = v & ACPI_PM1_CNT_MASK;
	acpi_pm_update_sci(pm);
	if (!(v & ACPI_PM1_SLP_EN))
		return;
	unsigned typ = (v & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
	if (typ == ACPI_PM_SLP_TYP_S5) {
		if (pm->poweroff)
			pm->poweroff(pm->opaque);
		return;
	}
	/* Only \_S5 is in the DSDT, so an OS has no reason to ask for these. */
	log_guest("acpi-pm: sleep type %u not supported, ignored", typ);
}

/* The 16-bit register at reg with the bytes of an access (lanes bytes from byte) merged. */
static uint16_t acpi_pm_merge(uint16_t old, unsigned reg, uint64_t offset, uint64_t value,
			      unsigned size, uint16_t *written)
{
	uint16_t v = old;
	*written = 0;
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = offset + i;
		if (o < reg || o >= reg + 2u)
			continue;
		unsigned lane = (unsigned)(o - reg);
		uint16_t byte = (uint16_t)((value >> (8 * i)) & 0xff);
		v = (uint16_t)((v & ~(0xffu << (8 * lane))) | (byte << (8 * lane)));
		*written |= (uint16_t)(0xffu << (8 * lane));
	}
	return v;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint8_t bytes[ACPI_PM_REGION_SIZE] = { 0 };
	acpi_pm_sync_tmr_sts(pm);
	bytes[ACPI_PM1_STS] = (uint8_t)pm->s.sts;
	bytes[ACPI_PM1_STS + 1] = (uint8_t)(pm->s.sts >> 8);
	bytes[ACPI_PM1_EN] = (uint8_t)pm->s.en;
	bytes[ACPI_PM1_EN + 1] = (uint8_t)(pm->s.en >> 8);
	bytes[ACPI_PM1_CNT] = (uint8_t)pm->s.cnt;
	bytes[ACPI_PM1_CNT + 1] = (uint8_t)(pm->s.cnt >> 8);
	uint32_t tmr = acpi_pm_timer_value(pm); /* sampled once: a 32-bit read is atomic */
	for (unsigned i = 0; i < 4; i++)
		bytes[ACPI_PM_TMR + i] = (uint8_t)(tmr >> (8 * i));
	/* The status bits just synced may be enabled: keep the SCI line honest. */
	acpi_pm_update_sci(pm);
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < ACPI_PM_REGION_SIZE; i++)
		v |= (uint64_t)bytes[offset + i] << (8 * i);
	return v;
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint16_t lanes;
	uint16_t v = acpi_pm_merge(0, ACPI_PM1_STS, offset, value, size, &lanes);
	if (lanes) {
		/* Write-1-to-clear; bring TMR_STS up to date first so a clear is not undone. */
		acpi_pm_sync_tmr_sts(pm);
		pm->s.sts &= (uint16_t)~(v & ACPI_PM1_STS_MASK);
	}
	v = acpi_pm_merge(pm->s.en, ACPI_PM1_EN, offset, value, size, &lanes);
	if (lanes) {
		bool tmr_was = pm->s.en & ACPI_PM1_TMR_EN;
		pm->s.en = v & ACPI_PM1_EN_MASK;
		if (tmr_was != !!(pm->s.en & ACPI_PM1_TMR_EN)) {
			acpi_pm_sync_tmr_sts(pm);
			acpi_pm_arm_overflow(pm);
		}
	}
	v = acpi_pm_merge(pm->s.cnt, ACPI_PM1_CNT, offset, value, size, &lanes);
	if (lanes) {
		acpi_pm_write_cnt(pm, v);
		return;
	}
	if (offset + size > ACPI_PM_TMR)
		log_guest("acpi-pm: write to the read-only PM timer ignored");
	acpi_pm_update_sci(pm);
}

const struct bus_ops acpi_pm_bus_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
	.min_size = 1,
	.max_size = 4,
};

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->s.sts = 0;
	pm->s.en = 0;
	/* No SMI_CMD in the FADT: the platform comes up in ACPI mode. */
	pm->s.cnt = ACPI_PM1_SCI_EN;
	pm->s.tmr_epoch = acpi_pm_ticks(pm) >> (ACPI_PM_TIMER_BITS - 1);
	vtimer_cancel(&pm->overflow_timer);
	acpi_pm_update_sci(pm);
}

static const struct device_field acpi_pm_fields[] = {
	DEVICE_FIELD(struct acpi_pm_state, sts),
	DEVICE_FIELD(struct acpi_pm_state, en),
	DEVICE_FIELD(struct acpi_pm_state, cnt),
	DEVICE_FIELD(struct acpi_pm_state, tmr_epoch),
	DEVICE_FIELD(struct acpi_pm_state, sci_level),
	DEVICE_FIELD(struct acpi_pm_state, overflow_deadline),
};

static int acpi_pm_pre_save(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	pm->s.overflow_deadline = vtimer_deadline(&pm->overflow_timer);
	return 0;
}

static int acpi_pm_post_load(struct device *dev, char *why, size_t why_len)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	const struct acpi_pm_state *s = &pm->s;
	/* The epoch of virtual time INT64_MAX is below 2^32: anything past it
	 * is no epoch the timer reaches. */
	uint64_t max_epoch = (uint64_t)((unsigned __int128)INT64_MAX * ACPI_PM_TIMER_HZ / NS_PER_SEC) >>
			     (ACPI_PM_TIMER_BITS - 1);
	if ((s->sts & ~ACPI_PM1_STS_MASK) || (s->en & ~ACPI_PM1_EN_MASK) || (s->cnt & ~ACPI_PM1_CNT_MASK) ||
	    (s->sci_level != 0 && s->sci_level != 1) || s->tmr_epoch > max_epoch) {
		snprintf(why, why_len, "%s: register or SCI level out of range", dev->name);
		return -EINVAL;
	}
	/* Armed only while TMR_EN, for a time of virtual time. */
	if (s->overflow_deadline != VCLOCK_NEVER &&
	    (!(s->en & ACPI_PM1_TMR_EN) || s->overflow_deadline < 0)) {
		snprintf(why, why_len, "%s: overflow timer out of range", dev->name);
		return -EINVAL;
	}
	if (vtimer_set_deadline(&pm->overflow_timer, s->overflow_deadline) < 0) {
		snprintf(why, why_len, "%s: out of memory", dev->name);
		return -ENOMEM;
	}
	return 0;
}

static void acpi_pm_device_reset(struct device *dev)
{
	acpi_pm_reset(container_of(dev, struct acpi_pm, dev));
}

static void acpi_pm_device_destroy(struct device *dev)
{
	acpi_pm_destroy(container_of(dev, struct acpi_pm, dev));
}

static const struct device_class acpi_pm_class = {
	.type = "acpi-pm",
	.version = 1,
	.fields = acpi_pm_fields,
	.nfields = ARRAY_SIZE(acpi_pm_fields),
	.reset = acpi_pm_device_reset,
	.pre_save = acpi_pm_pre_save,
	.post_load = acpi_pm_post_load,
	.destroy = acpi_pm_device_destroy,
};

struct device *acpi_pm_device(struct acpi_pm *pm)
{
	return &pm->dev;
}

struct acpi_pm *acpi_pm_create(struct vclock *clock, const struct irq_line *sci,
			       void (*poweroff)(void *opaque), void *opaque)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->clock = clock;
	if (sci)
		pm->sci = *sci;
	pm->poweroff = poweroff;
	pm->opaque = opaque;
	vtimer_init(&pm->overflow_timer, clock, acpi_pm_overflow_fire, pm);
	device_init(&pm->dev, &acpi_pm_class, "acpi-pm", &pm->s);
	acpi_pm_reset(pm);
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	vtimer_cancel(&pm->overflow_timer);
	free(pm);
}
