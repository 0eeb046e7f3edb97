/* SPDX-License-Identifier: MIT */
/*
 * The virtual clock and its timer queue. Guest time is nanoseconds since the
 * machine started, advancing with the host's CLOCK_MONOTONIC while the
 * machine runs and frozen while it is paused. Devices arm timers against it;
 * the event loop sleeps until the earliest deadline and runs expired timers
 * with the machine lock held.
 *
 * The queue is a binary min-heap, so arming, cancelling and finding the next
 * deadline cost O(log n) / O(1) whatever the number of timers.
 * Callers hold the machine lock for every function here except vclock_now.
 */
#ifndef X86V_CORE_VCLOCK_H
#define X86V_CORE_VCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"

#define VCLOCK_NEVER INT64_MAX

struct vclock;

struct vtimer {
	struct vclock *clock;
	int64_t deadline; /* ns of virtual time */
	void (*fire)(void *opaque);
	void *opaque;
	size_t heap_index; /* SIZE_MAX when not armed */
};

struct vclock {
	int64_t host_origin; /* host ns that maps to virtual 0 */
	int64_t paused_at; /* virtual ns frozen at, or -1 while running */
	struct vtimer **heap;
	size_t count, capacity;
	/* Called when the earliest deadline moves earlier, so the event loop re-arms. */
	void (*deadline_changed)(void *opaque);
	void *notify_opaque;
};

void vclock_init(struct vclock *clock);
void vclock_destroy(struct vclock *clock);
int64_t vclock_now(const struct vclock *clock);
void vclock_pause(struct vclock *clock);
void vclock_resume(struct vclock *clock);
/* Makes the clock read now from here on (snapshot restore), paused or not. */
void vclock_set_now(struct vclock *clock, int64_t now);

void vtimer_init(struct vtimer *t, struct vclock *clock, void (*fire)(void *opaque), void *opaque);
/* Arms (or re-arms) the timer for absolute virtual time deadline. 0 or -ENOMEM. */
int vtimer_arm(struct vtimer *t, int64_t deadline) MUST_CHECK;
void vtimer_cancel(struct vtimer *t);
bool vtimer_armed(const struct vtimer *t);
/* The deadline the timer is armed for, or VCLOCK_NEVER: what a device's
 * snapshot state keeps of a timer. */
int64_t vtimer_deadline(const struct vtimer *t);
/* Arms the timer for deadline, or cancels it for VCLOCK_NEVER (restoring
 * vtimer_deadline's value). 0 or -ENOMEM. */
int vtimer_set_deadline(struct vtimer *t, int64_t deadline) MUST_CHECK;

/* The earliest armed deadline, or VCLOCK_NEVER. */
int64_t vclock_next_deadline(const struct vclock *clock);
/* Fires every timer whose deadline is <= now, earliest first. A callback may re-arm. */
void vclock_run_expired(struct vclock *clock, int64_t now);

#endif
