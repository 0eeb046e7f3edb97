/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer (Intel SDM Vol. 3A §11.5.4): one-shot, periodic and
 * TSC-deadline modes, the divide configuration register, and current-count
 * readback. The count runs at LAPIC_BUS_HZ (1 GHz: one tick per virtual ns
 * before the divider), so an initial count n with divisor d expires n * d ns
 * after it was written. Nothing counts: the current count is computed from
 * the virtual time elapsed since the count was loaded, and one vtimer is
 * armed for the next expiry.
 *
 * Deviations, both as in KVM: a periodic period is at least
 * LAPIC_TIMER_MIN_PERIOD_NS (the count readback scales with it); periods
 * the host missed are coalesced into one interrupt, since IRR holds one
 * instance of a vector anyway.
 *
 * Snapshots keep the count's origin and period (what the current count is
 * computed from) and the vtimer's deadline; the TSC-deadline mode's vtimer
 * deadline was computed from the TSC when armed, so it is restored as saved,
 * never recomputed from a TSC that may not be restored yet.
 */

#include <errno.h>
#include <stdio.h>

#include "core/log.h"
#include "hw/intc/lapic_internal.h"

/* The longest count: the largest initial count at the largest divisor. */
#define TIMER_MAX_PERIOD ((int64_t)UINT32_MAX * 128)
/* Saved count origins lie within this of virtual time 0: far beyond any run
 * (146 years), and far enough from the int64_t limits that the count
 * arithmetic (now - start, start + period) cannot overflow. */
#define TIMER_TIME_LIMIT (INT64_C(1) << 62)

static uint32_t timer_mode(const struct lapic *l)
{
	return l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK;
}

static bool timer_tsc_deadline(const struct lapic *l)
{
	return timer_mode(l) == APIC_LVT_TIMER_TSC_DEADLINE;
}

static bool timer_periodic(const struct lapic *l)
{
	return timer_mode(l) == APIC_LVT_TIMER_PERIODIC;
}

/* Divide configuration (SDM Figure 11-10): bits 3,1:0; 0b111 divides by 1. */
static unsigned timer_divisor(uint32_t dcr)
{
	unsigned v = (dcr & 3) | ((dcr & 8) >> 1);
	return 1u << ((v + 1) & 7);
}

static int64_t timer_period_for(const struct lapic *l)
{
	int64_t ns = (int64_t)l->s.timer_initial * timer_divisor(l->s.timer_dcr) *
		     (int64_t)(1000000000ULL / LAPIC_BUS_HZ);
	if (timer_periodic(l) && ns < LAPIC_TIMER_MIN_PERIOD_NS)
		ns = LAPIC_TIMER_MIN_PERIOD_NS;
	return ns;
}

static void timer_arm(struct lapic *l, int64_t deadline)
{
	if (vtimer_arm(&l->timer, deadline) < 0)
		log_warn("lapic %u: cannot arm the timer (out of memory)", l->initial_id);
}

/* Loads the count as if `count` ticks were left now, and arms the expiry. */
static void timer_start_at(struct lapic *l, int64_t now, uint32_t count)
{
	l->s.timer_period = timer_period_for(l);
	int64_t left = (int64_t)((unsigned __int128)count * (uint64_t)l->s.timer_period /
				 l->s.timer_initial);
	l->s.timer_start = now - (l->s.timer_period - left);
	l->s.timer_running = true;
	timer_arm(l, now + left);
}

static void timer_stop(struct lapic *l)
{
	vtimer_cancel(&l->timer);
	l->s.timer_running = false;
}

uint32_t lapic_timer_current_count(const struct lapic *l)
{
	if (!l->s.timer_running || timer_tsc_deadline(l) || l->s.timer_period <= 0)
		return 0;
	int64_t elapsed = vclock_now(l->clock) - l->s.timer_start;
	if (elapsed < 0)
		elapsed = 0;
	if (elapsed >= l->s.timer_period) {
		/* One-shot: expired (the callback may not have run yet). */
		if (!timer_periodic(l))
			return 0;
		elapsed %= l->s.timer_period;
	}
	/* ticks done = elapsed / divisor, scaled when the period was clamped. */
	uint64_t done = (uint64_t)((unsigned __int128)elapsed * l->s.timer_initial /
				   (uint64_t)l->s.timer_period);
	return l->s.timer_initial - (uint32_t)done;
}

static void timer_fire(void *opaque)
{
	struct lapic *l = opaque;
	if (timer_tsc_deadline(l)) {
		/* SDM §11.5.4.1: the timer disarms itself and the MSR reads 0. */
		l->s.tsc_deadline = 0;
		lapic_local_deliver(l, LAPIC_LVT_TIMER);
		return;
	}
	if (!l->s.timer_running)
		return;
	if (timer_periodic(l)) {
		/* Reload at the expiry that fired; the next boundary lies strictly
		 * after now, so periods the host missed coalesce. The period is
		 * recomputed: the mode may have turned periodic since the count started. */
		int64_t base = l->s.timer_start + l->s.timer_period;
		int64_t now = vclock_now(l->clock);
		l->s.timer_period = timer_period_for(l);
		if (now > base)
			base += (now - base) / l->s.timer_period * l->s.timer_period;
		l->s.timer_start = base;
		timer_arm(l, base + l->s.timer_period);
	} else {
		l->s.timer_running = false;
	}
	lapic_local_deliver(l, LAPIC_LVT_TIMER);
}

void lapic_timer_init(struct lapic *l)
{
	vtimer_init(&l->timer, l->clock, timer_fire, l);
}

void lapic_timer_reset(struct lapic *l)
{
	timer_stop(l);
	l->s.timer_initial = 0;
	l->s.timer_dcr = 0;
	l->s.timer_period = 0;
	l->s.timer_start = 0;
	l->s.tsc_deadline = 0;
	l->s.timer_deadline = VCLOCK_NEVER;
}

void lapic_timer_write_initial(struct lapic *l, uint32_t value)
{
	/* SDM §11.5.4.1: ignored in TSC-deadline mode. */
	if (timer_tsc_deadline(l))
		return;
	l->s.timer_initial = value;
	if (value == 0) {
		timer_stop(l);
		return;
	}
	timer_start_at(l, vclock_now(l->clock), value);
}

/* Keeps the current count and continues at the new rate or mode. */
static void timer_rebase(struct lapic *l)
{
	if (!l->s.timer_running || l->s.timer_initial == 0)
		return;
	uint32_t count = lapic_timer_current_count(l);
	if (count == 0) {
		/* Expired one-shot whose callback has not run: let it. */
		return;
	}
	timer_start_at(l, vclock_now(l->clock), count);
}

void lapic_timer_write_dcr(struct lapic *l, uint32_t value)
{
	uint32_t count = lapic_timer_current_count(l);
	l->s.timer_dcr = value;
	if (l->s.timer_running && count && !timer_tsc_deadline(l))
		timer_start_at(l, vclock_now(l->clock), count);
}

void lapic_timer_lvt_changed(struct lapic *l, uint32_t old)
{
	uint32_t old_mode = old & APIC_LVT_TIMER_MODE_MASK, mode = timer_mode(l);
	if (old_mode == mode)
		return;
	bool was_tscd = old_mode == APIC_LVT_TIMER_TSC_DEADLINE;
	if (was_tscd != timer_tsc_deadline(l)) {
		/* SDM §11.5.4.1: switching to or from TSC-deadline mode disarms the timer. */
		timer_stop(l);
		l->s.timer_initial = 0;
		l->s.tsc_deadline = 0;
		return;
	}
	/* One-shot <-> periodic: the running count goes on, only the clamp may change. */
	timer_rebase(l);
}

uint64_t lapic_timer_get_deadline(const struct lapic *l)
{
	return timer_tsc_deadline(l) ? l->s.tsc_deadline : 0;
}

void lapic_timer_set_deadline(struct lapic *l, uint64_t deadline)
{
	/* SDM §11.5.4.1: in other modes the MSR reads 0 and writes are ignored. */
	if (!timer_tsc_deadline(l))
		return;
	vtimer_cancel(&l->timer);
	l->s.tsc_deadline = deadline;
	if (deadline == 0)
		return;
	uint64_t tsc = l->ops.tsc_now(l->opaque);
	if (deadline <= tsc) {
		l->s.tsc_deadline = 0;
		lapic_local_deliver(l, LAPIC_LVT_TIMER);
		return;
	}
	/* Round up so the interrupt never arrives before the TSC reached the deadline. */
	unsigned __int128 ns = ((unsigned __int128)(deadline - tsc) * 1000000000ULL + l->tsc_hz - 1) /
			       l->tsc_hz;
	int64_t now = vclock_now(l->clock);
	if (ns > (unsigned __int128)(VCLOCK_NEVER - 1 - now))
		ns = (unsigned __int128)(VCLOCK_NEVER - 1 - now);
	timer_arm(l, now + (int64_t)ns);
}

int lapic_timer_post_load(struct lapic *l, char *why, size_t why_len)
{
	const struct lapic_state *s = &l->s;
	bool tscd = timer_tsc_deadline(l);
	int64_t dl = s->timer_deadline;
	const char *bad = NULL;
	/* The LVT's mode bits and the divide configuration were checked with the
	 * other registers (lapic_regs_post_load). These are the invariants the
	 * count arithmetic relies on: a running count is nonzero (timer_start_at
	 * divides by it), its period is positive (current count divides by it)
	 * and bounded, and it expires at start + period (or not at all, when the
	 * vtimer could not be armed). */
	if (tscd ? s->timer_running : s->tsc_deadline != 0)
		bad = "timer state does not match the timer mode";
	else if (dl != VCLOCK_NEVER && dl < 0)
		bad = "timer deadline before time 0";
	else if (s->timer_running &&
		 (s->timer_initial == 0 || s->timer_period <= 0 || s->timer_period > TIMER_MAX_PERIOD ||
		  s->timer_start < -TIMER_TIME_LIMIT || s->timer_start > TIMER_TIME_LIMIT ||
		  (dl != VCLOCK_NEVER && dl != s->timer_start + s->timer_period)))
		bad = "running timer count inconsistent";
	else if (!s->timer_running && dl != VCLOCK_NEVER && !(tscd && s->tsc_deadline))
		bad = "timer armed while stopped";
	if (bad) {
		snprintf(why, why_len, "%s: %s", l->dev.name, bad);
		return -EINVAL;
	}
	if (vtimer_set_deadline(&l->timer, dl) < 0) {
		snprintf(why, why_len, "%s: out of memory", l->dev.name);
		return -ENOMEM;
	}
	return 0;
}
