/* SPDX-License-Identifier: MIT */
/*
 * Virtual clock and timer heap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vclock.h"

static int64_t host_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void vclock_init(struct vclock *clock)
{
	memset(clock, 0, sizeof(*clock));
	clock->host_origin = host_now();
	clock->paused_at = -1;
}

void vclock_destroy(struct vclock *clock)
{
	for (size_t i = 0; i < clock->count; i++)
		clock->heap[i]->heap_index = SIZE_MAX;
	free(clock->heap);
	clock->heap = NULL;
	clock->count = clock->capacity = 0;
}

int64_t vclock_now(const struct vclock *clock)
{
	int64_t paused = __atomic_load_n(&clock->paused_at, __ATOMIC_ACQUIRE);
	if (paused >= 0)
		return paused;
	return host_now() - __atomic_load_n(&clock->host_origin, __ATOMIC_RELAXED);
}

void vclock_pause(struct vclock *clock)
{
	if (clock->paused_at < 0)
		__atomic_store_n(&clock->paused_at, vclock_now(clock), __ATOMIC_RELEASE);
}

void vclock_resume(struct vclock *clock)
{
	if (clock->paused_at >= 0) {
		__atomic_store_n(&clock->host_origin, host_now() - clock->paused_at, __ATOMIC_RELAXED);
		__atomic_store_n(&clock->paused_at, -1, __ATOMIC_RELEASE);
	}
}

void vclock_set_now(struct vclock *clock, int64_t now)
{
	if (clock->paused_at >= 0)
		__atomic_store_n(&clock->paused_at, now, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&clock->host_origin, host_now() - now, __ATOMIC_RELAXED);
}

static void heap_set(struct vclock *c, size_t i, struct vtimer *t)
{
	c->heap[i] = t;
	t->heap_index = i;
}

static void heap_up(struct vclock *c, size_t i)
{
	struct vtimer *t = c->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (c->heap[parent]->deadline <= t->deadline)
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, t);
}

static void heap_down(struct vclock *c, size_t i)
{
	struct vtimer *t = c->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= c->count)
			break;
		if (child + 1 < c->count && c->heap[child + 1]->deadline < c->heap[child]->deadline)
			child++;
		if (t->deadline <= c->heap[child]->deadline)
			break;
		heap_set(c, i, c->heap[child]);
		i = child;
	}
	heap_set(c, i, t);
}

void vtimer_init(struct vtimer *t, struct vclock *clock, void (*fire)(void *opaque), void *opaque)
{
	t->clock = clock;
	t->deadline = VCLOCK_NEVER;
	t->fire = fire;
	t->opaque = opaque;
	t->heap_index = SIZE_MAX;
}

bool vtimer_armed(const struct vtimer *t)
{
	return t->heap_index != SIZE_MAX;
}

int64_t vtimer_deadline(const struct vtimer *t)
{
	return vtimer_armed(t) ? t->deadline : VCLOCK_NEVER;
}

int vtimer_set_deadline(struct vtimer *t, int64_t deadline)
{
	if (deadline == VCLOCK_NEVER) {
		vtimer_cancel(t);
		return 0;
	}
	return vtimer_arm(t, deadline);
}

void vtimer_cancel(struct vtimer *t)
{
	struct vclock *c = t->clock;
	if (!vtimer_armed(t))
		return;
	size_t i = t->heap_index;
	t->heap_index = SIZE_MAX;
	c->count--;
	if (i == c->count)
		return;
	struct vtimer *moved = c->heap[c->count];
	heap_set(c, i, moved);
	heap_up(c, i);
	heap_down(c, moved->heap_index);
}

int vtimer_arm(struct vtimer *t, int64_t deadline)
{
	struct vclock *c = t->clock;
	int64_t old_first = vclock_next_deadline(c);
	vtimer_cancel(t);
	if (c->count == c->capacity) {
		size_t cap = c->capacity ? c->capacity * 2 : 16;
		struct vtimer **h = realloc(c->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		c->heap = h;
		c->capacity = cap;
	}
	t->deadline = deadline;
	heap_set(c, c->count++, t);
	heap_up(c, t->heap_index);
	if (deadline < old_first && c->deadline_changed)
		c->deadline_changed(c->notify_opaque);
	return 0;
}

int64_t vclock_next_deadline(const struct vclock *clock)
{
	return clock->count ? clock->heap[0]->deadline : VCLOCK_NEVER;
}

void vclock_run_expired(struct vclock *clock, int64_t now)
{
	while (clock->count && clock->heap[0]->deadline <= now) {
		struct vtimer *t = clock->heap[0];
		vtimer_cancel(t);
		t->fire(t->opaque);
	}
}
