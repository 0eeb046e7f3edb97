/* SPDX-License-Identifier: MIT */
/*
 * HPET (IA-PC HPET 1.0a §2.3 registers, §2.3.9 timer behaviour). See hpet.h
 * for what is modelled. The main counter is not stored while it runs: it is
 * the virtual clock in 10 ns ticks plus an offset, so it advances exactly
 * with every other guest clock. Each enabled comparator has a virtual-clock
 * timer armed for the tick at which the counter next matches it.
 */
#include <stdlib.h>

#include "core/log.h"
#include "hw/timer/hpet.h"

#define NS_PER_TICK (HPET_PERIOD_FS / 1000000u)
#define TN_WRITABLE (HPET_TN_LEVEL | HPET_TN_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL | HPET_TN_32BIT | \
		     HPET_TN_ROUTE_MASK)
#define TN_CAPS (HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP)

struct hpet_timer {
	struct hpet *hpet;
	unsigned index;
	uint64_t config; /* Tn_CONF_CAP: capability bits and Tn_INT_ROUTE_CAP included */
	uint64_t cmp; /* the comparator */
	uint64_t period; /* periodic mode: added to cmp at each match */
	struct vtimer timer;
	int level; /* this timer's output */
};

struct hpet {
	struct vclock *clock;
	struct hpet_wiring wiring;
	uint64_t config; /* GEN_CONF */
	uint64_t isr; /* GINTR_STA: level-triggered timers that fired */
	uint64_t offset; /* while enabled: counter = ticks(now) + offset */
	uint64_t halted_count; /* while disabled: the counter */
	struct hpet_timer t[HPET_TIMERS];
};

uint32_t hpet_block_id(void)
{
	/* REV_ID 1, NUM_TIM_CAP, COUNT_SIZE_CAP (64-bit), LEG_RT_CAP, vendor. */
	return 1u | (HPET_TIMERS - 1u) << 8 | 1u << 13 | 1u << 15 | HPET_VENDOR_ID << 16;
}

bool hpet_legacy_mode(const struct hpet *h)
{
	return h->config & HPET_CONF_LEGACY;
}

static bool enabled(const struct hpet *h)
{
	return h->config & HPET_CONF_ENABLE;
}

static uint64_t ticks_now(const struct hpet *h)
{
	int64_t ns = vclock_now(h->clock);
	return ns > 0 ? (uint64_t)ns / NS_PER_TICK : 0;
}

static uint64_t counter(const struct hpet *h)
{
	return enabled(h) ? ticks_now(h) + h->offset : h->halted_count;
}

/* ---- interrupts ---- */

static void set_output(struct hpet_timer *t, int level)
{
	struct hpet *h = t->hpet;
	t->level = level;
	if (hpet_legacy_mode(h) && t->index < 2) {
		irq_set_level(&h->wiring.legacy[t->index], level);
		return;
	}
	unsigned route = (unsigned)(t->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;
	if ((HPET_ROUTE_CAP >> route) & 1 && h->wiring.ioapic)
		h->wiring.ioapic(h->wiring.ioapic_opaque, route, level);
}

/* A comparator matched: an edge, or a level held until GINTR_STA is cleared. */
static void timer_interrupt(struct hpet_timer *t)
{
	if (!(t->config & HPET_TN_ENABLE))
		return;
	if (t->config & HPET_TN_LEVEL) {
		t->hpet->isr |= 1ull << t->index;
		if (!t->level)
			set_output(t, 1);
		return;
	}
	set_output(t, 1);
	set_output(t, 0);
}

/* ---- comparator timers ---- */

static bool is32(const struct hpet_timer *t)
{
	return t->config & HPET_TN_32BIT;
}

/* The counter value at which this timer next matches, from now (exclusive
 * of a match already taken at now). */
static uint64_t next_match(const struct hpet_timer *t, uint64_t now)
{
	if (is32(t)) {
		uint32_t d = (uint32_t)t->cmp - (uint32_t)now;
		return now + (d ? d : 1ull << 32);
	}
	return t->cmp > now ? t->cmp : UINT64_MAX; /* 64-bit: next only after a wrap */
}

static void arm(struct hpet_timer *t)
{
	struct hpet *h = t->hpet;
	if (!enabled(h) || !(t->config & HPET_TN_ENABLE)) {
		vtimer_cancel(&t->timer);
		return;
	}
	uint64_t now = counter(h), at = next_match(t, now);
	if (at == UINT64_MAX) {
		vtimer_cancel(&t->timer);
		return;
	}
	/* The virtual time at which ticks(now) + offset reaches at. */
	unsigned __int128 ns = (unsigned __int128)(at - h->offset) * NS_PER_TICK;
	int64_t deadline = ns > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)ns;
	if (vtimer_arm(&t->timer, deadline) < 0)
		log_warn("hpet: cannot arm timer %u", t->index);
}

static void timer_fire(void *opaque)
{
	struct hpet_timer *t = opaque;
	struct hpet *h = t->hpet;
	uint64_t now = counter(h);
	if (t->config & HPET_TN_PERIODIC) {
		/* The comparator advances by the period; periods the guest was too
		 * slow to see are skipped, as one interrupt stands for them. */
		uint64_t period = t->period ? t->period : 1;
		if (is32(t)) {
			uint32_t c = (uint32_t)t->cmp;
			do
				c += (uint32_t)period;
			while ((int32_t)(c - (uint32_t)now) <= 0);
			t->cmp = c;
		} else {
			do
				t->cmp += period;
			while (t->cmp <= now);
		}
	}
	timer_interrupt(t);
	arm(t);
}

/* ---- registers ---- */

static void write_gen_conf(struct hpet *h, uint64_t v)
{
	uint64_t old = h->config, conf = v & (HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	bool legacy_flip = (old ^ conf) & HPET_CONF_LEGACY;
	int raised[2] = { h->t[0].level, h->t[1].level };
	/* Timers 0 and 1 move between the legacy and their routed inputs. */
	for (unsigned i = 0; legacy_flip && i < 2; i++)
		if (raised[i])
			set_output(&h->t[i], 0);
	if ((old ^ conf) & HPET_CONF_ENABLE) {
		if (conf & HPET_CONF_ENABLE)
			h->offset = h->halted_count - ticks_now(h);
		else
			h->halted_count = ticks_now(h) + h->offset;
	}
	h->config = conf;
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
	uint64_t conf = (t->config & ~(uint64_t)TN_WRITABLE) | (v & TN_WRITABLE);
	if (!(conf & HPET_TN_PERIODIC_CAP))
		conf &= ~(uint64_t)HPET_TN_PERIODIC;
	/* A level interrupt whose type, enable or route changes is dropped. */
	if (t->level && ((t->config ^ conf) & (HPET_TN_LEVEL | HPET_TN_ENABLE | HPET_TN_ROUTE_MASK))) {
		set_output(t, 0);
		t->hpet->isr &= ~(1ull << t->index);
	}
	t->config = conf;
	if (is32(t)) {
		t->cmp &= 0xffffffffull;
		t->period &= 0xffffffffull;
	}
	arm(t);
}

static void write_timer_cmp(struct hpet_timer *t, uint64_t v)
{
	if (is32(t))
		v &= 0xffffffffull;
	/* Periodic: the write sets the period, and the comparator itself only
	 * with Tn_VAL_SET_CNF, which clears (§2.3.9.2.2). */
	if (!(t->config & HPET_TN_PERIODIC) || (t->config & HPET_TN_SETVAL))
		t->cmp = v;
	if (t->config & HPET_TN_PERIODIC)
		t->period = v;
	t->config &= ~(uint64_t)HPET_TN_SETVAL;
	arm(t);
}

static void write_isr(struct hpet *h, uint64_t v)
{
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		if (!((v & h->isr) >> i & 1))
			continue;
		h->isr &= ~(1ull << i);
		if (h->t[i].level)
			set_output(&h->t[i], 0);
	}
}

static uint64_t read_reg(struct hpet *h, uint64_t reg)
{
	if (reg == HPET_GCAP_ID)
		return (uint64_t)HPET_PERIOD_FS << 32 | hpet_block_id();
	if (reg == HPET_GEN_CONF)
		return h->config;
	if (reg == HPET_GINTR_STA)
		return h->isr;
	if (reg == HPET_MAIN_CNT)
		return counter(h);
	if (reg >= HPET_TIMER_BASE(0) && reg < HPET_TIMER_BASE(HPET_TIMERS)) {
		struct hpet_timer *t = &h->t[(reg - HPET_TIMER_BASE(0)) / 0x20];
		switch ((reg - HPET_TIMER_BASE(0)) % 0x20) {
		case HPET_TN_CONF: return t->config;
		case HPET_TN_CMP: return t->cmp;
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
			h->halted_count = v;
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
		if (t->level)
			set_output(t, 0);
		t->config = (uint64_t)HPET_ROUTE_CAP << 32 | TN_CAPS;
		t->cmp = UINT64_MAX;
		t->period = 0;
	}
	h->config = 0;
	h->isr = 0;
	h->offset = 0;
	h->halted_count = 0;
	if (legacy && h->wiring.legacy_changed)
		h->wiring.legacy_changed(h->wiring.opaque, false);
}

struct hpet *hpet_create(struct vclock *clock, const struct hpet_wiring *wiring)
{
	struct hpet *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->clock = clock;
	h->wiring = *wiring;
	for (unsigned i = 0; i < HPET_TIMERS; i++) {
		h->t[i].hpet = h;
		h->t[i].index = i;
		vtimer_init(&h->t[i].timer, clock, timer_fire, &h->t[i]);
	}
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
