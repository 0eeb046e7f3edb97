/* SPDX-License-Identifier: MIT */
/*
 * HPET (IA-PC HPET 1.0a §2.3 registers, §2.3.9 timer behaviour). See hpet.h
 * for what is modelled. The main counter is not stored while it runs: it is
 * the virtual clock in 10 ns ticks plus an offset, so it advances exactly
 * with every other guest clock. Each enabled comparator has a virtual-clock
 * timer armed for the tick at which the counter next matches it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/timer/hpet.h"

#define NS_PER_TICK (HPET_PERIOD_FS / 1000000u)
#define TN_WRITABLE (HPET_TN_LEVEL | HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | HPET_TN_32BIT | \
		     HPET_TN_ROUTE_MASK)
#define TN_CAPS (HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP)

/* One comparator's part of the state. */
struct hpet_timer_state {
	uint64_t config; /* Tn_CONF_CAP: capability bits and Tn_INT_ROUTE_CAP included */
	uint64_t cmp; /* the comparator */
	uint64_t period; /* periodic mode: added to cmp at each match */
	int32_t level; /* this timer's output */
	int64_t deadline; /* its vtimer's (snapshots) */
};

/* What the guest sees and a snapshot keeps (hpet_fields). */
struct hpet_state {
	uint64_t config; /* GEN_CONF */
	uint64_t isr; /* GINTR_STA: level-triggered timers that fired */
	uint64_t offset; /* while enabled: counter = ticks(now) + offset */
	uint64_t halted_count; /* while disabled: the counter */
	struct hpet_timer_state t[HPET_TIMERS];
};

struct hpet_timer {
	struct hpet *hpet;
	unsigned index;
	struct hpet_timer_state *s; /* &hpet->s.t[index] */
	struct vtimer timer;
	int64_t last_fire_ns; /* when its timer last fired */
};

struct hpet {
	struct device dev;
	struct vclock *clock;
	int64_t min_interval_ns; /* between two firings of a periodic timer (hpet_set_min_interval) */
	struct hpet_wiring wiring;
	struct hpet_timer t[HPET_TIMERS];
	struct hpet_state s;
};

uint32_t hpet_block_id(void)
{
	/* REV_ID 1, NUM_TIM_CAP, COUNT_SIZE_CAP (64-bit), LEG_RT_CAP, vendor. */
	return 1u | (HPET_TIMERS - 1u) << 8 | 1u << 13 | 1u << 15 | HPET_VENDOR_ID << 16;
}

bool hpet_legacy_mode(const struct hpet *h)
{
	return h->s.config & HPET_CONF_LEGACY;
}

static bool enabled(const struct hpet *h)
{
	return h->s.config & HPET_CONF_ENABLE;
}

static uint64_t ticks_now(const struct hpet *h)
{
	int64_t ns = vclock_now(h->clock);
	return ns > 0 ? (uint64_t)ns / NS_PER_TICK : 0;
}

static uint64_t counter(const struct hpet *h)
{
	return enabled(h) ? ticks_now(h) + h->s.offset : h->s.halted_count;
}

/* ---- interrupts ---- */

static void set_output(struct hpet_timer *t, int level)
{
	struct hpet *h = t->hpet;
	t->s->level = level;
	if (hpet_legacy_mode(h) && t->index < 2) {
		irq_set_level(&h->wiring.legacy[t->index], level);
		return;
	}
	unsigned route = (unsigned)(t->s->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;
	if ((HPET_ROUTE_CAP >> route) & 1 && h->wiring.ioapic)
		h->wiring.ioapic(h->wiring.ioapic_opaque, route, level);
}

/* A comparator matched: an edge, or a level held until GINTR_STA is cleared. */
static void timer_interrupt(struct hpet_timer *t)
{
	if (!(t->s->config & HPET_TN_ENABLE))
		return;
	if (t->s->config & HPET_TN_LEVEL) {
		t->hpet->s.isr |= 1ull << t->index;
		if (!t->s->level)
			set_output(t, 1);
		return;
	}
	set_output(t, 1);
	set_output(t, 0);
}

/* ---- comparator timers ---- */

static bool is32(const struct hpet_timer *t)
{
	return t->s->config & HPET_TN_32BIT;
}

/* The counter value at which this timer next matches, from now (exclusive
 * of a match already taken at now). */
static uint64_t next_match(const struct hpet_timer *t, uint64_t now)
{
	if (is32(t)) {
		uint32_t d = (uint32_t)t->s->cmp - (uint32_t)now;
		return now + (d ? d : 1ull << 32);
	}
	return t->s->cmp > now ? t->s->cmp : UINT64_MAX; /* 64-bit: next only after a wrap */
}

/* Arms t for its next match; after a periodic firing (paced), no sooner
 * than min_interval_ns after it: the periods between coalesce into one
 * interrupt, as when the host runs late. */
static void arm_paced(struct hpet_timer *t, bool paced)
{
	struct hpet *h = t->hpet;
	if (!enabled(h) || !(t->s->config & HPET_TN_ENABLE)) {
		vtimer_cancel(&t->timer);
		return;
	}
	uint64_t ticks = ticks_now(h), now = ticks + h->s.offset, at = next_match(t, now);
	if (at == UINT64_MAX) {
		vtimer_cancel(&t->timer);
		return;
	}
	/* The virtual time at which the counter has moved from now to at:
	 * always later than now, even where counter values wrap around, so a
	 * timer never re-arms itself for the past. */
	unsigned __int128 ns = ((unsigned __int128)ticks + (at - now)) * NS_PER_TICK;
	int64_t deadline = ns > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)ns;
	if (paced && deadline - t->last_fire_ns < h->min_interval_ns)
		deadline = t->last_fire_ns + h->min_interval_ns;
	if (vtimer_arm(&t->timer, deadline) < 0)
		log_warn("hpet: cannot arm timer %u", t->index);
}

static void arm(struct hpet_timer *t)
{
	arm_paced(t, false);
}

static void timer_fire(void *opaque)
{
	struct hpet_timer *t = opaque;
	struct hpet *h = t->hpet;
	uint64_t now = counter(h);
	t->last_fire_ns = vclock_now(h->clock);
	if (t->s->config & HPET_TN_PERIODIC) {
		/* The comparator advances by the period; periods the guest was too
		 * slow to see are skipped, as one interrupt stands for them. The
		 * skip is computed, not looped: a small period far behind the
		 * counter would take up to 2^64 steps. */
		uint64_t period = t->s->period ? t->s->period : 1;
		if (is32(t)) {
			uint32_t p = (uint32_t)period ? (uint32_t)period : 1;
			uint32_t c = (uint32_t)t->s->cmp + p;
			/* Ahead of the counter again: within half the 32-bit range.
			 * A period of 2^31 or more moves the comparator once only. */
			if ((int32_t)(c - (uint32_t)now) <= 0 && p < 0x80000000u)
				c += ((uint32_t)now - c) / p * p + p;
			t->s->cmp = c;
		} else {
			uint64_t c = t->s->cmp + period;
			if (c <= now)
				c += (now - c) / period * period + period;
			t->s->cmp = c;
		}
	}
	timer_interrupt(t);
	arm_paced(t, t->s->config & HPET_TN_PERIODIC);
}

/* ---- registers ---- */

static void write_gen_conf(struct hpet *h, uint64_t v)
{
	uint64_t old = h->s.config, conf = v & (HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	bool legacy_flip = (old ^ conf) & HPET_CONF_LEGACY;
	int raised[2] = { h->t[0].s->level, h->t[1].s->level };
	/* Timers 0 and 1 move between the legacy and their routed inputs. */
	for (unsigned i = 0; legacy_flip && i < 2; i++)
		if (raised[i])
			set_output(&h->t[i], 0);
	if ((old ^ conf) & HPET_CONF_ENABLE) {
		if (conf & HPET_CONF_ENABLE)
			h->s.offset = h->s.halted_count - ticks_now(h);
		else
			h->s.halted_count = ticks_now(h) + h->s.offset;
	}
	h->s.config = conf;
	if (legacy_flip) {
		if (h->wiring.legacy_changed)
			h->wiring.legacy_changed(h->wiring.opaque, hpet_legacy_mode(h));
		for (unsigned i = 0; i < 2; i++)
			if (raised[i])
				set_output(&h->t[i], 1);
	}
	for (unsigned i = 0; i < HPET_TIMERS; i++)
		arm(&h->t[i]);
}

static void write_timer_conf(struct hpet_timer *t, uint64_t v)
{
	uint64_t conf = (t->s->config & ~(uint64_t)TN_WRITABLE) | (v & TN_WRITABLE);
	if (!(conf & HPET_TN_PERIODIC_CAP))
		conf &= ~(uint64_t)HPET_TN_PERIODIC;
	/* A level interrupt whose type, enable or route changes is dropped. */
	if (t->s->level && ((t->s->config ^ conf) & (HPET_TN_LEVEL | HPET_TN_ENABLE | HPET_TN_ROUTE_MASK))) {
		set_output(t, 0);
		t->hpet->s.isr &= ~(1ull << t->index);
	}
	t->s->config = conf;
	if (is32(t)) {
		t->s->cmp &= 0xffffffffull;
		t->s->period &= 0xffffffffull;
	}
	arm(t);
}

static void write_timer_cmp(struct hpet_timer *t, uint64_t v)
{
	if (is32(t))
		v &= 0xffffffffull;
	/* Periodic: the write sets the period, and the comparator itself only
	 * with Tn_VAL_SET_CNF, which clears (§2.3.9.2.2). */
	if (!(t->s->config & HPET_TN_PERIODIC) || (t->s->config & HPET_TN_SETVAL))
		t->s->cmp = v;
	if (t->s->config & HPET_TN_PERIODIC)
		t->s->period = v;
	t->s->config &= ~(uint64_t)HPET_TN_SETVAL;
	arm(t);
}

static void write_isr(struct hpet *h, uint64_t v)
{
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		if (!((v & h->s.isr) >> i & 1))
			continue;
		h->s.isr &= ~(1ull << i);
		if (h->t[i].s->level)
			set_output(&h->t[i], 0);
	}
}

static uint64_t read_reg(struct hpet *h, uint64_t reg)
{
	if (reg == HPET_GCAP_ID)
		return (uint64_t)HPET_PERIOD_FS << 32 | hpet_block_id();
	if (reg == HPET_GEN_CONF)
		return h->s.config;
	if (reg == HPET_GINTR_STA)
		return h->s.isr;
	if (reg == HPET_MAIN_CNT)
		return counter(h);
	if (reg >= HPET_TIMER_BASE(0) && reg < HPET_TIMER_BASE(HPET_TIMERS)) {
		struct hpet_timer *t = &h->t[(reg - HPET_TIMER_BASE(0)) / 0x20];
		switch ((reg - HPET_TIMER_BASE(0)) % 0x20) {
		case HPET_TN_CONF: return t->s->config;
		case HPET_TN_CMP: return t->s->cmp;
		default: return 0; /* FSB route: not supported */
		}
	}
	return 0;
}

static void write_reg(struct hpet *h, uint64_t reg, uint64_t v)
{
	if (reg == HPET_GEN_CONF) {
		write_gen_conf(h, v);
	} else if (reg == HPET_GINTR_STA) {
		write_isr(h, v);
	} else if (reg == HPET_MAIN_CNT) {
		/* Software halts the counter before writing it (§2.3.5). */
		if (enabled(h))
			log_guest("hpet: main counter written while running, ignored");
		else
			h->s.halted_count = v;
	} else if (reg >= HPET_TIMER_BASE(0) && reg < HPET_TIMER_BASE(HPET_TIMERS)) {
		struct hpet_timer *t = &h->t[(reg - HPET_TIMER_BASE(0)) / 0x20];
		unsigned r = (unsigned)((reg - HPET_TIMER_BASE(0)) % 0x20);
		if (r == HPET_TN_CONF)
			write_timer_conf(t, v);
		else if (r == HPET_TN_CMP)
			write_timer_cmp(t, v);
	}
}

/* 8-byte registers; a 4-byte access reads or writes one half. */
static uint64_t hpet_read(void *opaque, uint64_t offset, unsigned size)
{
	struct hpet *h = opaque;
	uint64_t v = read_reg(h, offset & ~7ull);
	if (size == 4)
		return (offset & 4) ? v >> 32 : v & 0xffffffffull;
	return v;
}

static void hpet_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct hpet *h = opaque;
	uint64_t reg = offset & ~7ull;
	if (size == 4) {
		uint64_t old = read_reg(h, reg);
		/* GINTR_STA is write-1-to-clear: the other half writes no ones. */
		if (reg == HPET_GINTR_STA)
			old = 0;
		value = (offset & 4) ? (old & 0xffffffffull) | value << 32 : (old & ~0xffffffffull) | (value & 0xffffffffull);
	}
	write_reg(h, reg, value);
}

const struct bus_ops hpet_bus_ops = {
	.read = hpet_read,
	.write = hpet_write,
	.min_size = 4,
	.max_size = 8,
};

/* ---- life cycle ---- */

void hpet_reset(struct hpet *h)
{
	bool legacy = hpet_legacy_mode(h);
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		struct hpet_timer *t = &h->t[i];
		vtimer_cancel(&t->timer);
		if (t->s->level)
			set_output(t, 0);
		t->s->config = (uint64_t)HPET_ROUTE_CAP << 32 | TN_CAPS;
		t->s->cmp = UINT64_MAX;
		t->s->period = 0;
	}
	h->s.config = 0;
	h->s.isr = 0;
	h->s.offset = 0;
	h->s.halted_count = 0;
	if (legacy && h->wiring.legacy_changed)
		h->wiring.legacy_changed(h->wiring.opaque, false);
}

#define HPET_TIMER_FIELDS(i)                              \
	DEVICE_FIELD(struct hpet_state, t[i].config),     \
	DEVICE_FIELD(struct hpet_state, t[i].cmp),        \
	DEVICE_FIELD(struct hpet_state, t[i].period),     \
	DEVICE_FIELD(struct hpet_state, t[i].level),      \
	DEVICE_FIELD(struct hpet_state, t[i].deadline)

static const struct device_field hpet_fields[] = {
	DEVICE_FIELD(struct hpet_state, config),
	DEVICE_FIELD(struct hpet_state, isr),
	DEVICE_FIELD(struct hpet_state, offset),
	DEVICE_FIELD(struct hpet_state, halted_count),
	HPET_TIMER_FIELDS(0),
	HPET_TIMER_FIELDS(1),
	HPET_TIMER_FIELDS(2),
};

static int hpet_pre_save(struct device *dev)
{
	struct hpet *h = container_of(dev, struct hpet, dev);
	for (unsigned i = 0; i < HPET_TIMERS; i++)
		h->s.t[i].deadline = vtimer_deadline(&h->t[i].timer);
	return 0;
}

/* What the registers can hold: only writable bits changed, the capability
 * bits as the reset left them, 32-bit comparators within 32 bits, a level
 * output only for a level-triggered enabled timer whose GINTR_STA bit holds
 * it, timers armed only while they can fire. */
static bool hpet_timer_ok(const struct hpet *h, unsigned i)
{
	const struct hpet_timer_state *t = &h->s.t[i];
	if ((t->config & ~(uint64_t)TN_WRITABLE) != ((uint64_t)HPET_ROUTE_CAP << 32 | TN_CAPS))
		return false;
	if ((t->config & HPET_TN_32BIT) && (t->cmp > 0xffffffffull || t->period > 0xffffffffull))
		return false;
	if (t->level != 0 && t->level != 1)
		return false;
	if (t->level != (int32_t)(h->s.isr >> i & 1))
		return false;
	if (t->level && !((t->config & HPET_TN_LEVEL) && (t->config & HPET_TN_ENABLE)))
		return false;
	if (t->deadline != VCLOCK_NEVER &&
	    (t->deadline < 0 || !(h->s.config & HPET_CONF_ENABLE) || !(t->config & HPET_TN_ENABLE)))
		return false;
	return true;
}

static int hpet_post_load(struct device *dev, char *why, size_t why_len)
{
	struct hpet *h = container_of(dev, struct hpet, dev);
	if ((h->s.config & ~(uint64_t)(HPET_CONF_ENABLE | HPET_CONF_LEGACY)) ||
	    (h->s.isr & ~((1ull << HPET_TIMERS) - 1))) {
		snprintf(why, why_len, "%s: GEN_CONF or GINTR_STA out of range", dev->name);
		return -EINVAL;
	}
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		if (!hpet_timer_ok(h, i)) {
			snprintf(why, why_len, "%s: timer %u state out of range", dev->name, i);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		if (vtimer_set_deadline(&h->t[i].timer, h->s.t[i].deadline) < 0) {
			snprintf(why, why_len, "%s: out of memory", dev->name);
			return -ENOMEM;
		}
	}
	/* Not an interrupt line but the board's switch of the PIT's and the
	 * RTC's outputs: the reset before the load turned it off. */
	if (hpet_legacy_mode(h) && h->wiring.legacy_changed)
		h->wiring.legacy_changed(h->wiring.opaque, true);
	return 0;
}

static void hpet_device_reset(struct device *dev)
{
	hpet_reset(container_of(dev, struct hpet, dev));
}

static void hpet_device_destroy(struct device *dev)
{
	hpet_destroy(container_of(dev, struct hpet, dev));
}

static const struct device_class hpet_class = {
	.type = "hpet",
	.version = 1,
	.fields = hpet_fields,
	.nfields = ARRAY_SIZE(hpet_fields),
	.reset = hpet_device_reset,
	.pre_save = hpet_pre_save,
	.post_load = hpet_post_load,
	.destroy = hpet_device_destroy,
};

struct device *hpet_device(struct hpet *h)
{
	return &h->dev;
}

void hpet_set_min_interval(struct hpet *h, int64_t ns)
{
	h->min_interval_ns = ns;
}

struct hpet *hpet_create(struct vclock *clock, const struct hpet_wiring *wiring)
{
	struct hpet *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->clock = clock;
	h->wiring = *wiring;
	h->min_interval_ns = HPET_MIN_INTERVAL_NS;
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		h->t[i].hpet = h;
		h->t[i].index = i;
		h->t[i].s = &h->s.t[i];
		vtimer_init(&h->t[i].timer, clock, timer_fire, &h->t[i]);
	}
	device_init(&h->dev, &hpet_class, "hpet", &h->s);
	hpet_reset(h);
	return h;
}

void hpet_destroy(struct hpet *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < HPET_TIMERS; i++)
		vtimer_cancel(&h->t[i].timer);
	free(h);
}
