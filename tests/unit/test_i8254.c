/* SPDX-License-Identifier: MIT */
/*
 * 8254 register-level tests on a virtual clock the test moves by hand: every
 * mode's count sequence and OUT levels at exact CLK edges, IRQ 0 pulses at the
 * right virtual times (modes 0, 2, 3, 4), counts rewritten while counting, the
 * counter latch and read-back commands, BCD, the three access modes, NULL
 * COUNT, channel 2's GATE through port 0x61, the refresh toggle, a sweep
 * of guest garbage, and snapshots (faithful, and hostile ones refused).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/log.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "hw/device.h"
#include "hw/timer/i8254.h"

#define MAX_PULSES 64

struct rig {
	struct vclock clock;
	struct irq_line irq;
	struct i8254 *pit;
	int level;
	unsigned pulses;
	int64_t pulse_ns[MAX_PULSES];
};

static void fake_irq_set(void *opaque, unsigned line, int level)
{
	struct rig *r = opaque;
	CHECK_EQ(line, PIT_IRQ);
	if (level && !r->level) {
		if (r->pulses < MAX_PULSES)
			r->pulse_ns[r->pulses] = vclock_now(&r->clock);
		r->pulses++;
	}
	r->level = level;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	r->clock.paused_at = 0; /* frozen at virtual 0; at() moves it */
	r->irq = (struct irq_line){ fake_irq_set, r, PIT_IRQ };
	r->pit = pit_create(&r->clock, &r->irq);
	if (!r->pit)
		abort();
	pit_set_min_interval(r->pit, 0); /* every edge: the chip's exact timing */
}

static void rig_fini(struct rig *r)
{
	CHECK_EQ(r->level, 0); /* IRQ 0 is only ever pulsed */
	pit_destroy(r->pit);
	vclock_destroy(&r->clock);
}

/* Virtual time of CLK edge k: ceil(k * 1e9 / 1193182) ns. */
static int64_t edge_ns(int64_t k)
{
	return (k * 1000000000 + PIT_CLOCK_HZ - 1) / PIT_CLOCK_HZ;
}

/* Moves virtual time to ns and runs the timers that expired. */
static void at_ns(struct rig *r, int64_t ns)
{
	r->clock.paused_at = ns;
	vclock_run_expired(&r->clock, ns);
}

static void at(struct rig *r, int64_t edge)
{
	at_ns(r, edge_ns(edge));
}

static void ctrl(struct rig *r, uint8_t v)
{
	pit_ops.write(r->pit, PIT_CONTROL, v, 1);
}

static void wr(struct rig *r, unsigned ch, uint8_t v)
{
	pit_ops.write(r->pit, ch, v, 1);
}

static uint8_t rd(struct rig *r, unsigned ch)
{
	return (uint8_t)pit_ops.read(r->pit, ch, 1);
}

static void wr16(struct rig *r, unsigned ch, uint16_t v)
{
	wr(r, ch, (uint8_t)v);
	wr(r, ch, (uint8_t)(v >> 8));
}

/* Counter latch, then LSB and MSB (the access mode must be LSB_MSB). */
static uint16_t latched(struct rig *r, unsigned ch)
{
	ctrl(r, (uint8_t)(ch << PIT_CW_SC_SHIFT));
	uint16_t lo = rd(r, ch);
	return (uint16_t)(lo | rd(r, ch) << 8);
}

static uint8_t status(struct rig *r, unsigned ch)
{
	ctrl(r, (uint8_t)(0xc0 | PIT_RB_NCOUNT | (PIT_RB_CNT0 << ch)));
	return rd(r, ch);
}

static int out(struct rig *r, unsigned ch)
{
	return !!(status(r, ch) & PIT_STATUS_OUT);
}

static uint8_t p61(struct rig *r)
{
	return (uint8_t)pit_port61_ops.read(r->pit, 0, 1);
}

static void p61_w(struct rig *r, uint8_t v)
{
	pit_port61_ops.write(r->pit, 0, v, 1);
}

static void test_reset_state(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(pit_ops.min_size, 1);
	CHECK_EQ(pit_ops.max_size, 1);
	CHECK_EQ(pit_port61_ops.max_size, 1);
	for (unsigned ch = 0; ch < 3; ch++)
		CHECK_EQ(status(&r, ch), 0xf6); /* OUT, NULL COUNT, LSB_MSB, mode 3 */
	CHECK_EQ(pit_ops.read(r.pit, PIT_CONTROL, 1), 0xff);
	CHECK_EQ(p61(&r), PIT_P61_OUT2);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	at(&r, 1000000);
	CHECK_EQ(r.pulses, 0);
	/* Reset after programming: timer gone, state back. */
	ctrl(&r, 0x34);
	wr16(&r, 0, 100);
	CHECK(vclock_next_deadline(&r.clock) != VCLOCK_NEVER);
	p61_w(&r, 0x0f);
	pit_reset(r.pit);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(status(&r, 0), 0xf6);
	CHECK_EQ(p61(&r) & 0x0f, 0);
	pit_destroy(NULL);
	rig_fini(&r);
}

static void test_mode0(void)
{
	struct rig r;
	rig_init(&r);
	at(&r, 10);
	ctrl(&r, 0x30); /* counter 0, LSB_MSB, mode 0, binary */
	CHECK_EQ(status(&r, 0), 0x70); /* OUT low, NULL COUNT */
	wr(&r, 0, 100);
	wr(&r, 0, 0);
	CHECK_EQ(status(&r, 0), 0x70); /* loaded on the next edge */
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(111));
	at(&r, 11);
	CHECK_EQ(status(&r, 0), 0x30);
	CHECK_EQ(latched(&r, 0), 100);
	at(&r, 50);
	CHECK_EQ(latched(&r, 0), 61);
	at(&r, 110);
	CHECK_EQ(latched(&r, 0), 1);
	CHECK_EQ(out(&r, 0), 0);
	at_ns(&r, edge_ns(111) - 1);
	CHECK_EQ(r.pulses, 0);
	at(&r, 111);
	CHECK_EQ(r.pulses, 1);
	CHECK_EQ(r.pulse_ns[0], edge_ns(111));
	CHECK_EQ(latched(&r, 0), 0);
	CHECK_EQ(out(&r, 0), 1);
	/* The counter wraps and OUT stays high: one interrupt only. */
	at(&r, 112);
	CHECK_EQ(latched(&r, 0), 0xffff);
	CHECK_EQ(out(&r, 0), 1);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	at(&r, 300000);
	CHECK_EQ(r.pulses, 1);

	/* Rewriting: the first byte stops counting and drops OUT at once. */
	at(&r, 300000);
	uint16_t v = latched(&r, 0);
	wr(&r, 0, 10);
	CHECK_EQ(out(&r, 0), 0);
	at(&r, 300005);
	CHECK_EQ(latched(&r, 0), v);
	wr(&r, 0, 0); /* count 10 loads on edge 300006 */
	at(&r, 300006);
	CHECK_EQ(latched(&r, 0), 10);
	at(&r, 300016);
	CHECK_EQ(r.pulses, 2);
	CHECK_EQ(r.pulse_ns[1], edge_ns(300016));
	/* Count 0 means 65536. */
	ctrl(&r, 0x30);
	wr16(&r, 0, 0);
	at(&r, 300017);
	CHECK_EQ(latched(&r, 0), 0);
	at(&r, 300018);
	CHECK_EQ(latched(&r, 0), 0xffff);
	at(&r, 300016 + 65536);
	CHECK_EQ(r.pulses, 2);
	at(&r, 300017 + 65536);
	CHECK_EQ(r.pulses, 3);
	rig_fini(&r);
}

static void test_mode2_periodic(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x34); /* counter 0, LSB_MSB, mode 2 */
	CHECK_EQ(status(&r, 0), 0xf4);
	wr16(&r, 0, 1000); /* at edge 0: loads on edge 1 */
	at(&r, 1);
	CHECK_EQ(latched(&r, 0), 1000);
	at(&r, 999);
	CHECK_EQ(latched(&r, 0), 2);
	CHECK_EQ(out(&r, 0), 1);
	at(&r, 1000);
	CHECK_EQ(latched(&r, 0), 1);
	CHECK_EQ(out(&r, 0), 0); /* low for one clock */
	CHECK_EQ(r.pulses, 0);
	at(&r, 1001);
	CHECK_EQ(latched(&r, 0), 1000);
	CHECK_EQ(out(&r, 0), 1);
	CHECK_EQ(r.pulses, 1);
	CHECK_EQ(r.pulse_ns[0], edge_ns(1001));
	for (int64_t k = 2; k <= 5; k++)
		at(&r, 1 + 1000 * k);
	CHECK_EQ(r.pulses, 5);
	CHECK_EQ(r.pulse_ns[4], edge_ns(5001));
	/* A host that ran late sees one pulse, and the timer looks ahead. */
	at(&r, 9500);
	CHECK_EQ(r.pulses, 6);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(10001));
	/* A new count without a control word takes effect at the next reload. */
	wr16(&r, 0, 500);
	CHECK_EQ(status(&r, 0) & PIT_STATUS_NULL_COUNT, PIT_STATUS_NULL_COUNT);
	at(&r, 10000);
	CHECK_EQ(latched(&r, 0), 1);
	at(&r, 10001);
	CHECK_EQ(r.pulses, 7);
	CHECK_EQ(latched(&r, 0), 500);
	CHECK_EQ(status(&r, 0) & PIT_STATUS_NULL_COUNT, 0);
	at(&r, 10501);
	at(&r, 11001);
	CHECK_EQ(r.pulses, 9);
	CHECK_EQ(r.pulse_ns[8], edge_ns(11001));
	/* A control word restarts at once (OUT high, so no extra edge). */
	at(&r, 11200);
	ctrl(&r, 0x34);
	wr16(&r, 0, 100);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(11301));
	CHECK_EQ(r.pulses, 9);
	/* Mode 6 is mode 2; the status byte shows the bits as written. */
	ctrl(&r, 0x3c);
	CHECK_EQ(status(&r, 0), 0xfc);
	wr16(&r, 0, 3);
	at(&r, 11204);
	CHECK_EQ(r.pulses, 10);
	rig_fini(&r);
}

static void test_mode3_square_wave(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x36);
	wr16(&r, 0, 10);
	static const uint16_t even_vals[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	static const int even_out[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1 };
	for (int k = 0; k < 11; k++) {
		at(&r, 1 + k);
		CHECK_EQ(latched(&r, 0), even_vals[k]);
		CHECK_EQ(out(&r, 0), even_out[k]);
	}
	CHECK_EQ(r.pulses, 1);
	CHECK_EQ(r.pulse_ns[0], edge_ns(11));
	at(&r, 21);
	CHECK_EQ(r.pulses, 2);
	/* A host that ran late gets one pulse for the edges it missed. */
	at(&r, 100);
	CHECK_EQ(r.pulses, 3);
	CHECK_EQ(r.pulse_ns[2], edge_ns(100));
	CHECK_EQ(out(&r, 0), 0);
	/* Odd count 7: high for 4 clocks, low for 3; the CE shows N - 1 - 2j.
	 * The control word sets OUT high: an edge from low. */
	ctrl(&r, 0x36);
	CHECK_EQ(r.pulses, 4);
	wr16(&r, 0, 7);
	static const uint16_t odd_vals[] = { 6, 4, 2, 0, 6, 4, 2, 6 };
	static const int odd_out[] = { 1, 1, 1, 1, 0, 0, 0, 1 };
	for (int k = 0; k < 8; k++) {
		at(&r, 101 + k);
		CHECK_EQ(latched(&r, 0), odd_vals[k]);
		CHECK_EQ(out(&r, 0), odd_out[k]);
	}
	CHECK_EQ(r.pulses, 5);
	CHECK_EQ(r.pulse_ns[4], edge_ns(108));
	/* A new count waits for the end of the half-cycle: written in the
	 * high half of period 7 at edge 109, it starts at edge 112 with its
	 * low half (2 clocks of count 4), then rises at 114. */
	at(&r, 109);
	wr16(&r, 0, 4);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(114));
	at(&r, 111);
	CHECK_EQ(out(&r, 0), 1);
	at(&r, 112);
	CHECK_EQ(out(&r, 0), 0);
	CHECK_EQ(latched(&r, 0), 4);
	at(&r, 114);
	CHECK_EQ(r.pulses, 6);
	CHECK_EQ(r.pulse_ns[5], edge_ns(114));
	at(&r, 118);
	CHECK_EQ(r.pulses, 7);
	/* The PC default: count 0 = 65536 clocks, 18.2 Hz. */
	ctrl(&r, 0x36);
	wr16(&r, 0, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(119 + 65536));
	at(&r, 119 + 32768);
	CHECK_EQ(out(&r, 0), 0);
	CHECK_EQ(latched(&r, 0), 0);
	rig_fini(&r);
}

static void test_mode4_strobe(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x38);
	CHECK_EQ(out(&r, 0), 1);
	wr16(&r, 0, 5);
	at(&r, 5);
	CHECK_EQ(latched(&r, 0), 1);
	CHECK_EQ(out(&r, 0), 1);
	at(&r, 6);
	CHECK_EQ(latched(&r, 0), 0);
	CHECK_EQ(out(&r, 0), 0);
	CHECK_EQ(r.pulses, 0);
	at(&r, 7);
	CHECK_EQ(out(&r, 0), 1);
	CHECK_EQ(r.pulses, 1);
	CHECK_EQ(r.pulse_ns[0], edge_ns(7));
	CHECK_EQ(latched(&r, 0), 0xffff);
	at(&r, 7 + 65536 * 2);
	CHECK_EQ(r.pulses, 1); /* one strobe per count written */
	/* A new count during counting restarts from it on the next clock. */
	wr16(&r, 0, 100);
	at(&r, 7 + 65536 * 2 + 50);
	wr16(&r, 0, 3);
	at(&r, 7 + 65536 * 2 + 55);
	CHECK_EQ(r.pulses, 2);
	CHECK_EQ(r.pulse_ns[1], edge_ns(7 + 65536 * 2 + 55));
	rig_fini(&r);
}

static void test_modes1_5_gate_trigger(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0xb2); /* counter 2, LSB_MSB, mode 1 */
	wr16(&r, 2, 4);
	CHECK_EQ(status(&r, 2), 0xf2); /* OUT high, NULL COUNT until a trigger */
	at(&r, 10);
	p61_w(&r, PIT_P61_GATE2);
	CHECK_EQ(p61(&r) & PIT_P61_OUT2, PIT_P61_OUT2); /* low on the next clock */
	static const int outs[] = { 0, 0, 0, 0, 1, 1 };
	for (int k = 0; k < 6; k++) {
		at(&r, 11 + k);
		CHECK_EQ(!!(p61(&r) & PIT_P61_OUT2), outs[k]);
	}
	CHECK_EQ(status(&r, 2), 0xb2); /* OUT high again, count loaded */
	/* Retrigger during the pulse stretches it. */
	p61_w(&r, 0);
	at(&r, 20);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 22);
	p61_w(&r, 0);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 26);
	CHECK_EQ(out(&r, 2), 0);
	at(&r, 27);
	CHECK_EQ(out(&r, 2), 1);
	/* GATE falling does not stop mode 1. */
	p61_w(&r, 0);
	at(&r, 30);
	CHECK_EQ(latched(&r, 2), 0xfffd);

	/* Mode 5: the trigger starts a count; OUT strobes low for one clock. */
	ctrl(&r, 0xba);
	wr16(&r, 2, 3);
	at(&r, 40);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 43);
	CHECK_EQ(out(&r, 2), 1);
	at(&r, 44);
	CHECK_EQ(out(&r, 2), 0);
	at(&r, 45);
	CHECK_EQ(out(&r, 2), 1);
	/* Channels 0 and 1 have GATE tied high: mode 1 never triggers there. */
	ctrl(&r, 0x32);
	wr16(&r, 0, 10);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	at(&r, 100);
	CHECK_EQ(out(&r, 0), 1);
	CHECK_EQ(r.pulses, 0);
	rig_fini(&r);
}

static void test_gate_stops_counting(void)
{
	struct rig r;
	rig_init(&r);
	/* Mode 0: GATE low holds the count; OUT unaffected. */
	ctrl(&r, 0xb0);
	wr16(&r, 2, 10); /* GATE low: loaded, not counting */
	at(&r, 5);
	CHECK_EQ(latched(&r, 2), 10);
	CHECK_EQ(status(&r, 2) & PIT_STATUS_NULL_COUNT, 0);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 9);
	CHECK_EQ(latched(&r, 2), 7);
	p61_w(&r, 0);
	at(&r, 100);
	CHECK_EQ(latched(&r, 2), 7);
	CHECK_EQ(out(&r, 2), 0);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 107);
	CHECK_EQ(latched(&r, 2), 1);
	CHECK_EQ(p61(&r) & PIT_P61_OUT2, 0);
	at(&r, 108);
	CHECK_EQ(p61(&r) & PIT_P61_OUT2, PIT_P61_OUT2);
	/* Mode 2: GATE low forces OUT high and stops; rising reloads. */
	ctrl(&r, 0xb4);
	wr16(&r, 2, 5); /* loads on 109 */
	at(&r, 112);
	CHECK_EQ(latched(&r, 2), 2);
	at(&r, 113);
	CHECK_EQ(out(&r, 2), 0);
	p61_w(&r, 0);
	CHECK_EQ(out(&r, 2), 1);
	at(&r, 150);
	CHECK_EQ(latched(&r, 2), 1);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 151);
	CHECK_EQ(latched(&r, 2), 5);
	at(&r, 155);
	CHECK_EQ(out(&r, 2), 0);
	/* Mode 3 likewise. */
	ctrl(&r, 0xb6);
	wr16(&r, 2, 8);
	at(&r, 161);
	CHECK_EQ(out(&r, 2), 0);
	p61_w(&r, 0);
	CHECK_EQ(out(&r, 2), 1);
	at(&r, 170);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 171);
	CHECK_EQ(latched(&r, 2), 8);
	CHECK_EQ(out(&r, 2), 1);
	at(&r, 175);
	CHECK_EQ(out(&r, 2), 0);
	/* Mode 2/3 count written with GATE low loads when GATE rises. */
	p61_w(&r, 0);
	ctrl(&r, 0xb4);
	wr16(&r, 2, 3);
	at(&r, 180);
	CHECK_EQ(status(&r, 2) & PIT_STATUS_NULL_COUNT, PIT_STATUS_NULL_COUNT);
	p61_w(&r, PIT_P61_GATE2);
	at(&r, 181);
	CHECK_EQ(status(&r, 2) & PIT_STATUS_NULL_COUNT, 0);
	CHECK_EQ(latched(&r, 2), 3);
	CHECK_EQ(r.pulses, 0); /* channel 2 never touches IRQ 0 */
	rig_fini(&r);
}

static void test_latch_and_read_back(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x34);
	wr16(&r, 0, 0x1234);
	ctrl(&r, 0x74); /* counter 1, mode 2 */
	wr16(&r, 1, 0x0500);
	at(&r, 0x11);
	/* A latch holds the value until read, even as time moves. */
	ctrl(&r, 0x00);
	at(&r, 0x40);
	ctrl(&r, 0x00); /* ignored: the first latch is unread */
	CHECK_EQ(rd(&r, 0), 0x24);
	at(&r, 0x50);
	CHECK_EQ(rd(&r, 0), 0x12);
	/* Released: reads follow the counter again (LSB, then MSB). */
	CHECK_EQ(rd(&r, 0), 0xe5); /* 0x1234 - 0x4f */
	CHECK_EQ(rd(&r, 0), 0x11);
	/* Read-back: status and count of counters 0 and 1 at once. */
	ctrl(&r, 0xc0 | PIT_RB_CNT0 | PIT_RB_CNT1);
	at(&r, 0x60);
	CHECK_EQ(rd(&r, 0), 0xb4); /* status first: OUT high, LSB_MSB, mode 2 */
	CHECK_EQ(rd(&r, 0), 0xe5); /* the count at edge 0x50 */
	CHECK_EQ(rd(&r, 0), 0x11);
	CHECK_EQ(rd(&r, 1), 0xb4);
	CHECK_EQ(rd(&r, 1), 0xb1); /* 0x500 - 0x4f */
	CHECK_EQ(rd(&r, 1), 0x04);
	/* Count only (STATUS bit set), for counter 1; counter 0 is untouched. */
	ctrl(&r, 0xc0 | PIT_RB_NSTATUS | PIT_RB_CNT1);
	CHECK_EQ(rd(&r, 1), 0xa1); /* 0x500 - 0x5f */
	CHECK_EQ(rd(&r, 1), 0x04);
	/* A status latched twice keeps the first; a control word releases it. */
	ctrl(&r, 0xc0 | PIT_RB_NCOUNT | PIT_RB_CNT0);
	ctrl(&r, 0x30);
	CHECK_EQ(status(&r, 0), 0x70);
	ctrl(&r, 0xc0 | PIT_RB_NCOUNT | PIT_RB_CNT0); /* 0x70 held */
	ctrl(&r, 0xc0 | PIT_RB_NCOUNT | PIT_RB_CNT0);
	CHECK_EQ(rd(&r, 0), 0x70);
	CHECK_EQ(rd(&r, 0), 0xd5); /* then the held CE: 0x1234 - 0x5f */
	ctrl(&r, 0x34);
	ctrl(&r, 0xc0 | PIT_RB_NCOUNT | PIT_RB_CNT0);
	CHECK_EQ(rd(&r, 0), 0xf4); /* NULL COUNT after the control word */
	/* A latch in LSB-only mode is released by one read; MSB-only too. */
	ctrl(&r, 0x54); /* counter 1, LSB, mode 2 */
	wr(&r, 1, 100);
	at(&r, 0x61 + 10);
	ctrl(&r, 0x40);
	at(&r, 0x61 + 20);
	CHECK_EQ(rd(&r, 1), 90);
	CHECK_EQ(rd(&r, 1), 80);
	ctrl(&r, 0x64); /* counter 1, MSB, mode 2 */
	wr(&r, 1, 0x02); /* 0x200 */
	at(&r, 0x61 + 20 + 1 + 0x100);
	ctrl(&r, 0x40);
	CHECK_EQ(rd(&r, 1), 0x01);
	CHECK_EQ(rd(&r, 1), 0x01);
	/* A read-back latch of count and status on counter 2 in one command. */
	ctrl(&r, 0xb0);
	wr16(&r, 2, 0xbeef);
	ctrl(&r, 0xc0 | PIT_RB_CNT2);
	CHECK_EQ(rd(&r, 2), 0x70);
	CHECK_EQ(rd(&r, 2), 0xef);
	CHECK_EQ(rd(&r, 2), 0xbe);
	rig_fini(&r);
}

static void test_bcd(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x31); /* mode 0, BCD */
	CHECK_EQ(status(&r, 0), 0x71);
	wr16(&r, 0, 0x1000);
	at(&r, 1);
	CHECK_EQ(latched(&r, 0), 0x1000);
	at(&r, 11);
	CHECK_EQ(latched(&r, 0), 0x0990);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(1001));
	at(&r, 1001);
	CHECK_EQ(r.pulses, 1);
	at(&r, 1002);
	CHECK_EQ(latched(&r, 0), 0x9999);
	/* BCD 0 is 10000 clocks. */
	ctrl(&r, 0x35); /* mode 2, BCD */
	wr16(&r, 0, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(1003 + 10000));
	at(&r, 1003);
	CHECK_EQ(latched(&r, 0), 0);
	at(&r, 1004);
	CHECK_EQ(latched(&r, 0), 0x9999);
	/* Invalid BCD digits get defined (binary-weight) behaviour. */
	ctrl(&r, 0x31);
	wr16(&r, 0, 0x00ff);
	at(&r, 1005);
	CHECK_EQ(latched(&r, 0), 0x0165);
	rig_fini(&r);
}

static void test_access_modes(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x10); /* counter 0, LSB only, mode 0 */
	wr(&r, 0, 0x42);
	at(&r, 1);
	CHECK_EQ(rd(&r, 0), 0x42);
	CHECK_EQ(rd(&r, 0), 0x42); /* no MSB toggle */
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(1 + 0x42));
	ctrl(&r, 0x20); /* MSB only */
	wr(&r, 0, 0x42);
	at(&r, 2);
	CHECK_EQ(rd(&r, 0), 0x42);
	CHECK_EQ(vclock_next_deadline(&r.clock), edge_ns(2 + 0x4200));
	at(&r, 3);
	CHECK_EQ(rd(&r, 0), 0x41);
	/* LSB_MSB: reads and writes each alternate, independently. */
	ctrl(&r, 0x30);
	wr(&r, 0, 0x34);
	at(&r, 10);
	CHECK_EQ(rd(&r, 0), 0xff); /* LSB of 0x41ff, frozen by the control word */
	wr(&r, 0, 0x12);
	at(&r, 11);
	CHECK_EQ(rd(&r, 0), 0x12); /* the MSB read pointer was still pending */
	CHECK_EQ(rd(&r, 0), 0x34);
	CHECK_EQ(rd(&r, 0), 0x12);
	at(&r, 12);
	CHECK_EQ(rd(&r, 0), 0x33);
	/* A control word resets both pointers. */
	ctrl(&r, 0x30);
	wr(&r, 0, 0x10);
	ctrl(&r, 0x30);
	wr(&r, 0, 0x20);
	wr(&r, 0, 0x00);
	at(&r, 13);
	CHECK_EQ(latched(&r, 0), 0x20);
	rig_fini(&r);
}

static void test_irq_edges_from_writes(void)
{
	struct rig r;
	rig_init(&r);
	ctrl(&r, 0x30);
	wr16(&r, 0, 1000);
	at(&r, 100);
	CHECK_EQ(r.pulses, 0);
	/* OUT goes from low (mode 0 counting) to high (mode 2): an edge. */
	ctrl(&r, 0x34);
	CHECK_EQ(r.pulses, 1);
	CHECK_EQ(r.pulse_ns[0], edge_ns(100));
	/* An edge due whose timer has not run yet is not lost to a write. */
	wr16(&r, 0, 50); /* rises at 151 */
	r.clock.paused_at = edge_ns(160);
	ctrl(&r, 0x30);
	CHECK_EQ(r.pulses, 2);
	vclock_run_expired(&r.clock, edge_ns(160));
	CHECK_EQ(r.pulses, 2);
	/* An unconnected PIT works without an IRQ line. */
	struct i8254 *lone = pit_create(&r.clock, NULL);
	CHECK(lone != NULL);
	pit_ops.write(lone, PIT_CONTROL, 0x34, 1);
	pit_ops.write(lone, 0, 2, 1);
	pit_ops.write(lone, 0, 0, 1);
	at(&r, 200);
	pit_destroy(lone);
	CHECK_EQ(r.pulses, 2);
	rig_fini(&r);
}

static void test_port61(void)
{
	struct rig r;
	rig_init(&r);
	p61_w(&r, 0xff);
	CHECK_EQ(p61(&r) & 0xcf, 0x0f); /* 4..7 read-only; 6, 7 read 0 */
	p61_w(&r, 0x00);
	/* The refresh toggle flips every 18 clocks of virtual time. */
	for (int64_t k = 0; k < 100; k++) {
		at(&r, k);
		CHECK_EQ(!!(p61(&r) & PIT_P61_REFRESH), (k / 18) & 1);
	}
	/* Linux's PIT calibration: gate on, mode 0, count 0xffff, wait for OUT. */
	at(&r, 1000);
	p61_w(&r, (p61(&r) & ~PIT_P61_SPKR_DATA) | PIT_P61_GATE2);
	ctrl(&r, 0xb0);
	wr16(&r, 2, 0xffff);
	CHECK_EQ(p61(&r) & (PIT_P61_OUT2 | PIT_P61_GATE2), PIT_P61_GATE2);
	at(&r, 1001 + 0xfffe);
	CHECK_EQ(p61(&r) & PIT_P61_OUT2, 0);
	at(&r, 1001 + 0xffff);
	CHECK_EQ(p61(&r) & PIT_P61_OUT2, PIT_P61_OUT2);
	CHECK_EQ(r.pulses, 0);
	rig_fini(&r);
}

static uint32_t lcg_next(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 1;
}

/* The timer is never left behind virtual time and garbage never wedges it. */
static void check_recovers(struct rig *r, int64_t *edge)
{
	CHECK(vclock_next_deadline(&r->clock) > r->clock.paused_at);
	p61_w(r, 0);
	ctrl(r, 0x34);
	wr16(r, 0, 100);
	unsigned before = r->pulses;
	at(r, *edge + 101);
	CHECK_EQ(r->pulses, before + 1);
	at(r, *edge + 201);
	CHECK_EQ(r->pulses, before + 2);
	*edge += 250;
	at(r, *edge);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	int saved = check_failures;
	int64_t edge = 0;
	for (unsigned off = 0; off < PIT_REGION_SIZE; off++) {
		for (unsigned v = 0; v < 256; v++) {
			pit_ops.write(r.pit, off, v, 1);
			pit_port61_ops.write(r.pit, 0, v, 1);
			for (unsigned o2 = 0; o2 < PIT_REGION_SIZE; o2++)
				(void)pit_ops.read(r.pit, o2, 1);
			(void)p61(&r);
			edge += v & 7;
			at(&r, edge);
		}
	}
	check_recovers(&r, &edge);
	uint32_t seed = 777;
	for (unsigned i = 0; i < 300000 && check_failures == saved; i++) {
		uint32_t x = lcg_next(&seed);
		uint8_t v = (uint8_t)x;
		unsigned off = (x >> 8) & 3;
		switch ((x >> 10) % 6) {
		case 0:
		case 1:
			pit_ops.write(r.pit, off, v, 1);
			break;
		case 2:
			(void)pit_ops.read(r.pit, off, 1);
			break;
		case 3:
			if (x & 0x10000)
				p61_w(&r, v);
			else
				(void)p61(&r);
			break;
		default:
			edge += (x >> 13) % ((x & 0x20000) ? 70000 : 8);
			at(&r, edge);
			CHECK(vclock_next_deadline(&r.clock) > r.clock.paused_at);
			break;
		}
		if ((i & 65535) == 65535)
			check_recovers(&r, &edge);
	}
	check_recovers(&r, &edge);
	rig_fini(&r);
}

/* Every port read, on a and b alike: the reads' side effects match too. */
static void check_same_reads(struct rig *a, struct rig *b)
{
	for (unsigned ch = 0; ch < 3; ch++)
		CHECK_EQ(rd(a, ch), rd(b, ch));
	CHECK_EQ(p61(a), p61(b));
	for (unsigned ch = 0; ch < 3; ch++)
		CHECK_EQ(status(a, ch), status(b, ch));
	for (unsigned ch = 0; ch < 3; ch++)
		CHECK_EQ(latched(a, ch), latched(b, ch));
}

/* Channel 0 mid-count in mode 2 with a latched count half read, channel 2
 * in mode 0 gated through port 0x61, channel 1 with a rewritten count
 * pending in mode 3: a fresh PIT loaded from the snapshot reads the same
 * and pulses IRQ 0 at the same virtual times. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	at(&a, 1000);
	ctrl(&a, 0x34); /* channel 0: mode 2, LSB then MSB */
	wr16(&a, 0, 1000);
	ctrl(&a, 0x76); /* channel 1: mode 3 */
	wr16(&a, 1, 300);
	p61_w(&a, PIT_P61_GATE2 | PIT_P61_SPKR_DATA);
	ctrl(&a, 0xb0); /* channel 2: mode 0 */
	wr16(&a, 2, 5000);
	at(&a, 1000 + 1500); /* one pulse behind it, mid-count */
	CHECK_EQ(a.pulses, 1);
	wr16(&a, 1, 200); /* waits for the half-cycle boundary */
	ctrl(&a, 0x00); /* latch channel 0 */
	uint8_t lo = rd(&a, 0);
	CHECK_EQ(lo, (1000 - 499) & 0xff);

	struct statebuf sb;
	snap_save(pit_device(a.pit), &sb);
	char why[256];
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	CHECK_EQ(snap_load(pit_device(b.pit), &sb, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(rd(&b, 0), (1000 - 499) >> 8); /* the latch's MSB */
	CHECK_EQ(rd(&a, 0), (1000 - 499) >> 8);
	CHECK_EQ(vclock_next_deadline(&b.clock), vclock_next_deadline(&a.clock));
	check_same_reads(&a, &b);
	unsigned before = a.pulses;
	for (int64_t e = 2500; e < 9000; e += 97) {
		at(&a, e);
		at(&b, e);
		CHECK_EQ(a.pulses - before, b.pulses);
		check_same_reads(&a, &b);
	}
	CHECK_EQ(b.pulses, 6);
	for (unsigned i = 0; i < b.pulses; i++)
		CHECK_EQ(a.pulse_ns[before + i], b.pulse_ns[i]);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* Reset state: every channel reads status 0xf6 (OUT high, NULL COUNT, mode
 * 3, LSB then MSB) and no timer is armed. */
static void check_is_reset(struct rig *r)
{
	for (unsigned ch = 0; ch < 3; ch++)
		CHECK_EQ(status(r, ch), 0xf6);
	CHECK_EQ(p61(r) & PIT_P61_RW_MASK, 0);
	CHECK_EQ(vclock_next_deadline(&r->clock), VCLOCK_NEVER);
}

/* Fields out of range are refused and leave the PIT reset; records of
 * random fields either load or are refused, and a PIT that loaded runs a
 * sweep of port accesses and timers without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	at(&a, 500);
	ctrl(&a, 0x34);
	wr16(&a, 0, 700);
	ctrl(&a, 0x76);
	wr16(&a, 1, 33);
	at(&a, 900);
	wr16(&a, 1, 44);
	p61_w(&a, PIT_P61_GATE2);
	ctrl(&a, 0xb2);
	wr16(&a, 2, 9);
	struct statebuf sb;
	snap_save(pit_device(a.pit), &sb);
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	char why[256];
	CHECK_EQ(snap_load(pit_device(b.pit), &sb, why, sizeof(why)), 0);

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "ch[0].mode", 6 },
		{ "ch[0].mode", 2 + 1 }, /* mode_bits says 2 */
		{ "ch[1].mode_bits", 8 },
		{ "ch[2].access", 0 },
		{ "ch[0].access", 4 },
		{ "ch[0].phase_count", 0 }, /* running: a division by zero */
		{ "ch[0].phase_count", 65537 },
		{ "ch[1].phase_offset", 1000 },
		{ "ch[0].phase_edge", (uint64_t)-1 },
		{ "ch[0].phase_edge", 1ULL << 62 },
		{ "ch[1].pending_count", 0 },
		{ "ch[1].pending_edge", 0 }, /* before the phase it follows */
		{ "ch[0].pending", 1 }, /* nothing pending to start */
		{ "ch[0].hold_value", 0x10000 },
		{ "ch[0].load_edge", (uint64_t)-5 },
		{ "ch[0].gate", 0 },
		{ "ch[2].gate", 0 }, /* port 0x61 says high */
		{ "port61", 0x10 },
		{ "irq_edge", (uint64_t)INT64_MIN },
		{ "ch[0].bcd", 2 }, /* not a boolean */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(pit_device(b.pit), &sb, bad[i].field, bad[i].value);
		check_is_reset(&b);
	}

	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned loaded = 0;
	int64_t base = edge_ns(900);
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(pit_device(b.pit), &junk, &rng);
		b.clock.paused_at = base;
		int r = snap_load(pit_device(b.pit), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			int64_t ns = base;
			for (unsigned k = 0; k < 200; k++) {
				uint64_t x = snap_rand(&rng);
				switch (x % 5) {
				case 0:
					(void)pit_ops.read(b.pit, (x >> 8) % 4, 1);
					break;
				case 1:
					pit_ops.write(b.pit, (x >> 8) % 4, (uint8_t)(x >> 16), 1);
					break;
				case 2:
					(void)p61(&b);
					p61_w(&b, (uint8_t)(x >> 16));
					break;
				default:
					ns += (int64_t)((x >> 24) % ((x & 0x100) ? 100000000 : 5000));
					at_ns(&b, ns);
					break;
				}
			}
			CHECK(vclock_next_deadline(&b.clock) > b.clock.paused_at);
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

/* Mode 2 with a count of 2 (an edge every 1.7 us): the host timer fires at
 * most every PIT_MIN_INTERVAL_NS, the first edge after the write on time;
 * the counter still reads back exactly. With the pacing off, every edge. */
static void test_pacing(void)
{
	for (int paced = 1; paced >= 0; paced--) {
		struct rig r;
		rig_init(&r);
		pit_set_min_interval(r.pit, paced ? PIT_MIN_INTERVAL_NS : 0);
		ctrl(&r, 0x34);
		wr16(&r, 0, 2); /* loads on edge 1, rises on edge 3, 5, ... */
		at(&r, 3);
		CHECK_EQ(r.pulses, 1);
		unsigned fired = 0;
		for (int64_t ns = edge_ns(3); ns <= 2000000; ns += 1000) { /* 2 ms in 1 us steps */
			unsigned before = r.pulses;
			at_ns(&r, ns);
			fired += r.pulses - before;
		}
		if (paced)
			CHECK(fired >= 9 && fired <= 10); /* one per 200 us */
		else
			CHECK(fired >= 1000); /* one per host step at least */
		int64_t e = 2501; /* past the 2 ms; the counter exact at an edge: 2 - (e - 1) % 2 */
		at(&r, e);
		CHECK_EQ(latched(&r, 0), 2 - (uint16_t)((e - 1) % 2));
		rig_fini(&r);
	}
}

CHECK_MAIN(TEST_CASE(test_reset_state), TEST_CASE(test_pacing), TEST_CASE(test_mode0), TEST_CASE(test_mode2_periodic),
	   TEST_CASE(test_mode3_square_wave), TEST_CASE(test_mode4_strobe),
	   TEST_CASE(test_modes1_5_gate_trigger), TEST_CASE(test_gate_stops_counting),
	   TEST_CASE(test_latch_and_read_back), TEST_CASE(test_bcd), TEST_CASE(test_access_modes),
	   TEST_CASE(test_irq_edges_from_writes), TEST_CASE(test_port61), TEST_CASE(test_garbage),
	   TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
