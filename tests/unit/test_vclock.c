/* SPDX-License-Identifier: MIT */
/*
 * The timer queue: ordering, re-arming, cancelling, pause/resume.
 */
#include "check.h"
#include "core/vclock.h"

struct fired {
	int order[64];
	int n;
};

struct tagged_timer {
	struct vtimer t;
	struct fired *log;
	int tag;
	int64_t rearm_to; /* re-arm once to this deadline when fired, if > 0 */
};

static void on_fire(void *opaque)
{
	struct tagged_timer *tt = opaque;
	if (tt->log->n < 64)
		tt->log->order[tt->log->n++] = tt->tag;
	if (tt->rearm_to > 0) {
		int64_t d = tt->rearm_to;
		tt->rearm_to = 0;
		CHECK_EQ(vtimer_arm(&tt->t, d), 0);
	}
}

static void test_fires_in_deadline_order(void)
{
	struct vclock c;
	struct fired log = { .n = 0 };
	struct tagged_timer t[8];
	static const int64_t deadlines[8] = { 50, 10, 70, 30, 20, 80, 60, 40 };
	vclock_init(&c);
	for (int i = 0; i < 8; i++) {
		t[i] = (struct tagged_timer){ .log = &log, .tag = (int)deadlines[i] };
		vtimer_init(&t[i].t, &c, on_fire, &t[i]);
		CHECK_EQ(vtimer_arm(&t[i].t, deadlines[i]), 0);
	}
	CHECK_EQ(vclock_next_deadline(&c), 10);
	vclock_run_expired(&c, 45);
	CHECK_EQ(log.n, 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(log.order[i], (i + 1) * 10);
	CHECK_EQ(vclock_next_deadline(&c), 50);
	vclock_run_expired(&c, 1000);
	CHECK_EQ(log.n, 8);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(log.order[i], (i + 1) * 10);
	CHECK_EQ(vclock_next_deadline(&c), VCLOCK_NEVER);
	vclock_destroy(&c);
}

static void test_cancel_and_rearm(void)
{
	struct vclock c;
	struct fired log = { .n = 0 };
	struct tagged_timer a = { .log = &log, .tag = 1 }, b = { .log = &log, .tag = 2 };
	vclock_init(&c);
	vtimer_init(&a.t, &c, on_fire, &a);
	vtimer_init(&b.t, &c, on_fire, &b);
	CHECK_EQ(vtimer_arm(&a.t, 100), 0);
	CHECK_EQ(vtimer_arm(&b.t, 200), 0);
	CHECK_EQ(vtimer_arm(&a.t, 300), 0); /* moves a after b */
	CHECK_EQ(vclock_next_deadline(&c), 200);
	vtimer_cancel(&b.t);
	CHECK(!vtimer_armed(&b.t));
	vtimer_cancel(&b.t); /* twice is harmless */
	CHECK_EQ(vclock_next_deadline(&c), 300);
	/* A callback that re-arms its own timer fires again later, not in the same pass at once. */
	a.rearm_to = 400;
	vclock_run_expired(&c, 350);
	CHECK_EQ(log.n, 1);
	CHECK(vtimer_armed(&a.t));
	vclock_run_expired(&c, 400);
	CHECK_EQ(log.n, 2);
	CHECK(!vtimer_armed(&a.t));
	vclock_destroy(&c);
}

static void test_heap_stress(void)
{
	struct vclock c;
	struct fired log = { .n = 0 };
	static struct tagged_timer t[500];
	vclock_init(&c);
	uint32_t seed = 12345;
	for (int i = 0; i < 500; i++) {
		t[i] = (struct tagged_timer){ .log = &log, .tag = i };
		vtimer_init(&t[i].t, &c, on_fire, &t[i]);
		seed = seed * 1103515245 + 12345;
		CHECK_EQ(vtimer_arm(&t[i].t, seed % 100000), 0);
	}
	for (int i = 0; i < 500; i += 3)
		vtimer_cancel(&t[i].t);
	int64_t last = -1;
	int count = 0;
	while (vclock_next_deadline(&c) != VCLOCK_NEVER) {
		int64_t d = vclock_next_deadline(&c);
		CHECK(d >= last);
		last = d;
		log.n = 0;
		vclock_run_expired(&c, d);
		count += log.n;
	}
	CHECK_EQ(count, 500 - 167);
	vclock_destroy(&c);
}

static void test_pause_freezes_time(void)
{
	struct vclock c;
	vclock_init(&c);
	vclock_pause(&c);
	int64_t a = vclock_now(&c);
	int64_t b = vclock_now(&c);
	CHECK_EQ(a, b);
	vclock_resume(&c);
	CHECK(vclock_now(&c) >= a);
	vclock_destroy(&c);
}

CHECK_MAIN(TEST_CASE(test_fires_in_deadline_order), TEST_CASE(test_cancel_and_rearm),
	   TEST_CASE(test_heap_stress), TEST_CASE(test_pause_freezes_time))
